/* cmd.h: flowhunt's read commands (cat, top, count, conv, verify, expire, import) and what they
 * share.
 *
 * Each command is `int cmd_NAME(int argc, char **argv)` with argv[0] the command's name, and
 * returns the process exit status: 0 ok, 1 problems found (verify's damaged segments, import's
 * skipped lines), 2 usage or could not run. main.c only dispatches. The shared part is the
 * time window options, the worker count, and progress on a terminal.
 */
#ifndef FH_CMD_H
#define FH_CMD_H

#include <stdint.h>
#include <stdio.h>

#include "seg.h"

enum { CMD_OK = 0, CMD_PROBLEMS = 1, CMD_USAGE = 2 };

int cmd_cat(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_count(int argc, char **argv); /* cmd_count.c: rwcount's timeline */
int cmd_conv(int argc, char **argv);  /* cmd_conv.c: the conversations the hunts see */
int cmd_verify(int argc, char **argv);
int cmd_expire(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_exporters(int argc, char **argv);
int cmd_audit(int argc, char **argv); /* cmd_audit.c: the audit trail */

/* Wall clock in ms since the epoch. */
uint64_t cmd_now_ms(void);

/* Parses --from/--to values (NULL when not given) against one clock reading into [from, to);
 * prints the problem and returns -1 for a bad time or an empty window. */
int cmd_window(const char *prog, const char *from_arg, const char *to_arg, uint64_t *from,
               uint64_t *to);

/* The index of arg among names[0 .. n) (an option's keywords, in the order of the values they
 * stand for); else prints "PROG: OPT takes A, B or C, not 'ARG'" and returns -1. */
int cmd_choice(const char *prog, const char *opt, const char *arg, const char *const *names,
               int n);

/* getopt_long for a command's options, with getopt's own messages replaced: those name argv[0],
 * the subcommand alone ("count: invalid option -- 'x'"), where every other message of a
 * command says "flowhunt count: ...". shortopts must begin with ':' (so that a missing
 * argument is told from an unknown option). An unknown or ambiguous option, a missing
 * argument, or an argument given to an option that takes none is printed as "PROG: ... (see
 * PROG --help)" and returned as '?'. */
struct option;
int cmd_getopt(const char *prog, int argc, char **argv, const char *shortopts,
               const struct option *longopts);

/* 0 when dir is a directory; else prints "PROG: DIR: why" and returns -1. */
int cmd_data_dir(const char *prog, const char *dir);

struct flt;
/* A filter: argv[first ..] joined, and with filter_file (-f, nfdump's filter file) the
 * file's filter too, both to hold. 0 with *flt (flt_free it), or the problem printed (as
 * "PROG: ...", a file's with its line) and -1. */
int cmd_filter(const char *prog, int argc, char **argv, int first, const char *filter_file,
               struct flt **flt);

#define CMD_MAX_INTEL 32 /* --intel feeds of one command (hunt's too) */

/* The options the read commands (cat, top, count, hunt) share, as given (NULL when not):
 * --from, --to and -f/--filter-file; and for cat, top and count the threat-intel feeds whose
 * flows they select (--intel, CMD_INTEL_LONGOPT: hunt's own --intel feeds its intel hunt). */
typedef struct cmd_read_args {
    const char *from, *to, *filter_file;
    const char *intel[CMD_MAX_INTEL];
    int n_intel; /* may exceed CMD_MAX_INTEL: refused by cmd_dir_filter */
} cmd_read_args_t;

/* Their getopt values (-f is --filter-file's, so "f:" goes in the short options), and their
 * entries for a getopt_long table. */
enum { CMD_OPT_FROM = 0x100, CMD_OPT_TO, CMD_OPT_GEOIP, CMD_OPT_ASN, CMD_OPT_INTEL };
/* clang-format off */
#define CMD_READ_LONGOPTS                                                                          \
    {"from", required_argument, NULL, CMD_OPT_FROM},                                               \
    {"to", required_argument, NULL, CMD_OPT_TO},                                                   \
    {"filter-file", required_argument, NULL, 'f'}
#define CMD_INTEL_LONGOPT {"intel", required_argument, NULL, CMD_OPT_INTEL}
/* clang-format on */

/* Keeps getopt's value `opt` and its argument in *r when it is one of those options: 1, else
 * 0 (the command's own, or an unknown one). */
int cmd_read_opt(int opt, const char *arg, cmd_read_args_t *r);

/* The MaxMind databases of cat, top and hunt (--geoip, --asn; enrich.h), the same way. */
typedef struct cmd_ctx_args {
    const char *geoip, *asn;
} cmd_ctx_args_t;
/* clang-format off */
#define CMD_CTX_LONGOPTS                                                                           \
    {"geoip", required_argument, NULL, CMD_OPT_GEOIP},                                             \
    {"asn", required_argument, NULL, CMD_OPT_ASN}
/* clang-format on */
int cmd_ctx_opt(int opt, const char *arg, cmd_ctx_args_t *x);

/* What follows a read command's options, argv[first ..]: the data directory, then a filter
 * (its words joined), and with r->filter_file (-f, nfdump's filter file) the file's filter
 * too, both to hold; with r->intel feeds (intel.h: plain, CSV, Zeek, MISP, STIX), flows from
 * or to any of their address indicators as well (their ports and validity are the intel
 * hunt's, not applied here); narrowed to the --from/--to window. 0 with *dir, *flt (flt_free it),
 * *from and *to set, and with `intel` (may be NULL) *intel the feeds loaded (ti_free it; NULL
 * without feeds), so that a caller can say which indicator a flow matched; else the problem
 * printed (as "PROG: ..."), -1. */
struct ti_db;
int cmd_dir_filter(const char *prog, int argc, char **argv, int first, const cmd_read_args_t *r,
                   const char **dir, struct flt **flt, uint64_t *from, uint64_t *to,
                   struct ti_db **intel);

/* Scan threads: the online CPUs, at most 16; FH_WORKERS overrides (1 for a serial run). */
int cmd_workers(void);

/* Runs fn over jobs[0 .. n) (each `size` bytes): jobs 1 .. on threads of their own (at most
 * CMD_PAR_MAX - 1 of them), job 0 and any whose thread could not start (or had none) on the
 * caller's thread, after it. For jobs that do not wait on each other: never for jobs that
 * must all run at once (a barrier, turns passed between threads), as one may run after the
 * others have returned. Size 0 is one job that every thread shares (cmd_par_each's queue). */
#define CMD_PAR_MAX 16
void cmd_par(void *(*fn)(void *), void *jobs, size_t size, int n);

/* Calls fn(ctx, i) once for every i < n, on up to `threads` threads (at most CMD_PAR_MAX, the
 * caller's among them), each taking the next i from an atomic counter until none is left. A
 * thread that could not start is not made up for (its share is simply taken by the others):
 * it only means fewer workers, and the caller always takes part, so with no other thread it
 * does all the work. */
void cmd_par_each(void (*fn)(void *ctx, size_t i), void *ctx, size_t n, int threads);

/* Prints a reader error as "PROG: PATH: offset N: name: message". */
void cmd_print_where(FILE *out, const char *prog, int code, const seg_where_t *where);

/* A reader's warning on stderr that it left out `n` dangling links (seg_path_dangling), the
 * first `path`, of data directory `dir`: its answer lacks their flows, which it would otherwise
 * not say. Nothing when n is 0. The exit status stays what it is: the rest was read. */
void cmd_warn_dangling(const char *prog, const char *dir, const char *path, uint64_t n);

/* A reader's warning on stderr that some value it printed is at SAT_MAX (satmath.h): a sum
 * that would have gone past it stopped there, so the number reads as "at least". The caller
 * says it once per output, after looking at what it printed. */
void cmd_warn_saturated(const char *prog);

/* Progress on stderr, only when stderr is a terminal (and, for commands whose results go to
 * stdout, stdout is not: the two would mix on one screen). Updates are rate limited, so any
 * thread may call cmd_progress_tick cheaply and often. */
typedef struct cmd_progress {
    int on;
    uint64_t next_ms; /* next update, accessed atomically */
    uint64_t start_ms;
} cmd_progress_t;

void cmd_progress_init(cmd_progress_t *p, int results_on_stdout);
/* 1 when an update is due (and claims it for this caller). */
int cmd_progress_due(cmd_progress_t *p);
void cmd_progress_show(cmd_progress_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Erases the progress line. */
void cmd_progress_done(cmd_progress_t *p);

/* Human sizes: "12.3 MiB". */
void cmd_fmt_bytes(char *out, size_t cap, uint64_t n);

/* ---- pure parts of the commands, exposed for the unit tests ------------------------------- */

/* expire: a size with K, M, G or T (powers of 1024). (The interval start in a segment's name:
 * seg_dir_name_time, storage.) */
int expire_parse_size(const char *s, uint64_t *out);

/* import: one parser per input format. A parser sees every line (without its newline) and
 * returns IMP_FLOW with *out filled, IMP_SKIP for a header, comment, blank line or nfdump's
 * summary, IMP_BAD for a malformed line (why says what), or IMP_FATAL when the file cannot be
 * this format at all (why says what). */
enum { IMP_FLOW = 1, IMP_SKIP = 0, IMP_BAD = -1, IMP_FATAL = -2 };

#define IMP_MAX_FIELDS 96

typedef struct imp_parser {
    int format;   /* IMP_FMT_* */
    int n_fields; /* columns of the header; 0 before it */
    int idx[32];  /* column of each known field, -1 when absent */
    char sep;
    int nf_summary;            /* nfdump: in a summary block, until the next header */
    char unset[16], empty[16]; /* zeek: the unset and empty markers */
    int json;                  /* zeek: the log is JSON, an object a line */
} imp_parser_t;

enum { IMP_FMT_NFDUMP_CSV, IMP_FMT_ZEEK_CONN };

void imp_parser_init(imp_parser_t *p, int format);
/* `line` is modified (split in place). */
int imp_parse_line(imp_parser_t *p, char *line, flow_rec_t *out, char *why, size_t why_cap);

#endif
