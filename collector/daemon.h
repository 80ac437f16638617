/* daemon.h: flowhuntd as a service: listeners, workers, signals, readiness, counters.
 *
 * The libuv loop runs on the main thread and does nothing but receive (libuv says when a
 * socket is readable; our recvmmsg calls read it empty, 64 datagrams a call), check the
 * allow-list and hand each datagram to the worker that
 * owns its exporter. Workers decode and store. Timers publish counters (log lines and a
 * Prometheus text file); signals stop (SIGTERM, SIGINT: everything flushed, exit 0, or 1
 * when flows could not be stored) and
 * reopen the log (SIGHUP).
 */
#ifndef FH_DAEMON_H
#define FH_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "flow_print.h"

#define DAEMON_MAX_LISTENERS 16
#define DAEMON_MAX_ALLOW 256
#define DAEMON_MAX_WORKERS 16

typedef struct daemon_opts {
    const char *listen[DAEMON_MAX_LISTENERS]; /* "ADDR:PORT", "[V6]:PORT" */
    int n_listen;
    const char *allow[DAEMON_MAX_ALLOW]; /* CIDRs; none means every source */
    int n_allow;
    const char *dir;
    const char *instance;
    const char *ready_file;
    const char *user;
    const char *log_file;
    uint64_t rcvbuf;        /* socket receive buffer asked for, bytes */
    uint32_t stats_s;       /* counters logged and written every stats_s */
    int n_workers;
    size_t queue_bytes;     /* per worker */
    uint32_t flush_ms;
    uint32_t rotate_s;
    /* --template-memory: bytes for every worker's templates and held data together, half
     * each, split evenly among the workers; 0: TPL_MAX_BYTES + TPL_HELD_MAX_TOTAL a worker */
    uint64_t template_memory;
    int print;                  /* --print: every flow also on stdout, as print_fmt */
    flow_print_fmt_t print_fmt; /* (printq.h: never at the segments' expense) */
    size_t print_bytes;         /* --print-memory; 0: PQ_MAX_BYTES */
} daemon_opts_t;

/* Runs until SIGTERM or SIGINT. Returns the exit status: 0 after a clean stop, 1 when it
 * could not start or when flows were dropped because they could not be written (a full
 * disk; the reasons are logged). */
int daemon_run(const daemon_opts_t *opts);

struct sockaddr_storage;
/* A listen address "ADDR:PORT" or "[ADDR]:PORT" (port 0: the kernel picks); 0 or -1. */
int daemon_parse_listen(const char *s, struct sockaddr_storage *ss);

#endif
