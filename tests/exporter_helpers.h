/* exporter_helpers.h: a real exporter (softflowd, or pmacctd's nfprobe plugin) run on one of
 * the team's packet captures, exporting to a UDP socket the test binds on 127.0.0.1 (the kernel
 * picks the port); every datagram is recorded with its arrival time into a pcap that
 * `flowhuntd --read` (and tshark) then decode. The exporter runs in its own process group with
 * a deadline and is killed on every way out (tex_on_abort as the SIGABRT handler). Used by the
 * exporter conformance tests and by the hunts over the behaviour captures. */
#ifndef FH_EXPORTER_HELPERS_H
#define FH_EXPORTER_HELPERS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "pcap_write.h"

#define TEX_DEADLINE_MS 20000   /* exporter start to last datagram */
#define TEX_MAX_DATAGRAMS 20000 /* more means the exporter misbehaves */
#define TEX_MAX_FLOWS 200000
#define TEX_RCVBUF (4 << 20)

typedef enum tex_tool { TEX_SOFTFLOWD, TEX_PMACCTD } tex_tool_t;

typedef struct tex_case {
    tex_tool_t tool;
    int version;         /* 5, 9 or 10 (IPFIX) */
    const char *capture; /* under ../shared/data */
    const char *opt;     /* an extra softflowd option (-A absolute times, -b biflow) or NULL */
    const char *opt_arg; /* its argument or NULL */
} tex_case_t;

extern volatile sig_atomic_t tex_pgid; /* exporter's process group while it may live */

/* SIGABRT handler: kills the exporter's group (a failed assertion aborts). */
void tex_on_abort(int sig);
uint64_t tex_now_ns(clockid_t clk);
/* NAME under the test's temporary directory (four rotating buffers). */
const char *tex_path(const char *name);
/* Full path of an executable on PATH or in the sbin directories; NULL when absent. */
const char *tex_find_tool(const char *tool);
pid_t tex_spawn(char *const argv[]);
void tex_dump_file(const char *label, const char *path);
size_t tex_collect(int sock, uint16_t port, pid_t child, pcapw_t *w, pcapw_t *w_ts, int *status);
/* Runs the exporter of `c` on `capture` to a fresh loopback port; the datagrams end up in
 * `pcap_path` (and a copy for tshark in `tshark_pcap_path`). Returns the port. */
uint16_t tex_export(const tex_case_t *c, const char *tool, const char *capture,
                    const char *pcap_path, const char *tshark_pcap_path, size_t *n_dgrams);
/* softflowd's own count of records and datagrams exported. */
void tex_softflowd_stats(uint64_t *records, uint64_t *packets);

#endif
