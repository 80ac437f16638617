/* cmd_conv.c: `flowhunt conv`, the stored flows as the hunts see them: conversations (nfdump's
 * -B, bidirectional flows, but by the hunts' own rules).
 *
 * An exporter sends one record per direction, and cuts a long flow every active timeout; two
 * routers on the path send two copies. The hunts never read records: hunt_prep.c stitches the
 * cut ones, drops the copies, pairs the directions and corrects counters by the sampling rate
 * (hunt.h). When a finding says "83 connections every ~564 s, 2 unanswered", what it counted
 * are those conversations, and this command prints them, built by the same code with the same
 * [prep] settings (--config), so an analyst sees what a hunt scored rather than the records
 * `flowhunt cat` shows.
 *
 * FILTER selects records either way (flt_either_way): a record matches when it, or the other
 * direction's record of its conversation, would match as written. `dst port 443` then finds
 * both halves of every exchange with a server on port 443, where a filter of records alone
 * would find only the requests, and print each as unanswered. Conversations are built from
 * the selected records of the window and printed in the hunts' order (start time, then
 * addresses). Every selected record is held until the end, so the command refuses, before it
 * runs out of memory, a window with more than [general] memory_mb of them.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "filter.h"
#include "flow_print.h"
#include "hunt.h"
#include "hunt_unit.h"
#include "protoname.h"
#include "timearg.h"

/* What one selected record costs until it is printed: the record, and what preparation
 * builds beside it (pointers, a sort key, its conversation). */
#define CV_BYTES_PER_REC (sizeof(hp_rec_t) + sizeof(hunt_conv_t) + sizeof(hp_skey_t) + 16)
#define CV_FULL (-1000) /* the batch callback's "more records than memory_mb allows" */

typedef enum cv_fmt { CV_TEXT, CV_CSV, CV_JSON } cv_fmt_t;

typedef struct cv_worker {
    flt_rows_t sel;
    hp_recs_t recs;
    seg_where_t where;
} cv_worker_t;

typedef struct cv_ctx {
    const flt_t *flt;
    uint64_t from, to;
    uint64_t max_recs;
    uint64_t n_recs; /* atomic: records kept by every worker */
    uint64_t rows_scanned;
    cv_worker_t w[CMD_PAR_MAX];
    cmd_progress_t progress;
} cv_ctx_t;

typedef struct cv_out {
    cv_fmt_t fmt;
    uint64_t limit, printed;
} cv_out_t;

static int cv_want(void *arg, const seg_file_t *f, uint32_t g)
{
    const cv_ctx_t *c = arg;
    return flt_want((void *)c->flt, f, g);
}

static int cv_batch(void *arg, int worker, seg_batch_t *b)
{
    cv_ctx_t *c = arg;
    cv_worker_t *w = &c->w[worker];
    int k = flt_select_rows(c->flt, &w->sel, b, &w->where);
    __atomic_fetch_add(&c->rows_scanned, b->n_rows, __ATOMIC_RELAXED);
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(&c->progress, "conv: %llu rows scanned",
                          (unsigned long long)__atomic_load_n(&c->rows_scanned, __ATOMIC_RELAXED));
    if (k <= 0)
        return k;
    size_t before = w->recs.n;
    int rc = hp_batch_recs(b, w->sel.v, (uint32_t)k, c->from, c->to, NULL, NULL, &w->recs);
    if (rc < 0)
        return rc;
    uint64_t n = __atomic_add_fetch(&c->n_recs, w->recs.n - before, __ATOMIC_RELAXED);
    return n > c->max_recs ? CV_FULL : 0;
}

static const char cv_csv_header[] =
    "time_start,time_end,proto,orig_addr,orig_port,resp_addr,resp_port,packets_out,bytes_out,"
    "packets_in,bytes_in,flags_out,flags_in,state,records,exporters,sampling\n";

/* The text table: one format for the header and the rows, so they line up (IPv4 endpoints;
 * IPv6 ones push the rest of a row right, as in cat). */
#define CV_TEXT_ROW(num)                                                                           \
    "%-23s %10s %-5s %28s %2s %-28s %8" num " %12" num " %8" num " %12" num                        \
    " %8s %-8s %10s %4" num " %8" num "\n"

static const char *cv_state(const hunt_conv_t *c)
{
    return c->rejected ? "rejected" : c->answered ? "answered" : "unanswered";
}

/* "addr:port" (IPv6 "[addr]:port"); the address alone for a protocol without ports. */
static void cv_endpoint(char *out, size_t cap, const flow_addr_t *a, uint16_t port, int ports)
{
    char txt[FLOW_ADDR_STRLEN];
    flow_addr_format(a, txt);
    if (!ports)
        snprintf(out, cap, "%s", txt);
    else if (flow_addr_is_v4(a))
        snprintf(out, cap, "%s:%u", txt, port);
    else
        snprintf(out, cap, "[%s]:%u", txt, port);
}

static void cv_print(void *arg, const hunt_conv_t *c)
{
    cv_out_t *o = arg;
    if (o->limit && o->printed >= o->limit)
        return;
    o->printed++;
    char orig[FLOW_ADDR_STRLEN], resp[FLOW_ADDR_STRLEN];
    unsigned long long t0 = c->t_start, t1 = c->t_end;
    unsigned long long po = c->pkts_out, bo = c->bytes_out, pi = c->pkts_in, bi = c->bytes_in;
    if (o->fmt != CV_TEXT) {
        flow_addr_format(&c->orig, orig);
        flow_addr_format(&c->resp, resp);
    }
    if (o->fmt == CV_CSV) {
        printf("%llu,%llu,%u,%s,%u,%s,%u,%llu,%llu,%llu,%llu,%u,%u,%s,%u,%u,%u\n", t0, t1, c->proto,
               orig, c->orig_port, resp, c->resp_port, po, bo, pi, bi, c->flags_out, c->flags_in,
               cv_state(c), c->n_records, c->n_exporters, c->sampling);
        return;
    }
    if (o->fmt == CV_JSON) {
        printf("{\"time_start\":%llu,\"time_end\":%llu,\"proto\":%u,\"orig_addr\":\"%s\","
               "\"orig_port\":%u,\"resp_addr\":\"%s\",\"resp_port\":%u,\"packets_out\":%llu,"
               "\"bytes_out\":%llu,\"packets_in\":%llu,\"bytes_in\":%llu,\"flags_out\":%u,"
               "\"flags_in\":%u,\"state\":\"%s\",\"records\":%u,\"exporters\":%u,"
               "\"sampling\":%u}\n",
               t0, t1, c->proto, orig, c->orig_port, resp, c->resp_port, po, bo, pi, bi,
               c->flags_out, c->flags_in, cv_state(c), c->n_records, c->n_exporters, c->sampling);
        return;
    }
    char start[TIMEARG_STRLEN], proto[8], src[64], dst[64], fo[9], fi[9];
    timearg_format(c->t_start, start);
    uint64_t d = c->t_end > c->t_start ? c->t_end - c->t_start : 0;
    const char *name = protoname_of(c->proto);
    if (name)
        snprintf(proto, sizeof proto, "%s", name);
    else
        snprintf(proto, sizeof proto, "%u", c->proto);
    /* ICMP: the request's type and code are resp_port (type << 8 | code), as for hunts */
    int ports = c->proto == 6 || c->proto == 17 || c->proto == 132;
    cv_endpoint(src, sizeof src, &c->orig, c->orig_port, ports);
    cv_endpoint(dst, sizeof dst, &c->resp, c->resp_port, ports);
    if (c->proto == 1 || c->proto == 58)
        snprintf(dst + strlen(dst), sizeof dst - strlen(dst), " %u.%u", c->resp_port >> 8,
                 c->resp_port & 0xff);
    if (c->proto == 6) {
        flow_print_tcp_flags(fo, c->flags_out);
        flow_print_tcp_flags(fi, c->flags_in);
    } else {
        strcpy(fo, "-");
        strcpy(fi, "-");
    }
    char dur[24];
    snprintf(dur, sizeof dur, "%llu.%03u", (unsigned long long)(d / 1000), (unsigned)(d % 1000));
    printf(CV_TEXT_ROW("llu"), start, dur, proto, src, "->", dst, po, bo, pi, bi, fo, fi,
           cv_state(c), (unsigned long long)c->n_records, (unsigned long long)c->sampling);
}

static void cv_usage(FILE *f)
{
    fprintf(f, "usage: flowhunt conv DIR [--from T] [--to T] [--format text|csv|json]\n"
               "                     [--limit N] [--config FILE] [-f FILE] [--intel FEED]\n"
               "                     [-v] [FILTER]\n"
               "\n"
               "Prints the conversations of the stored flows of DIR that overlap [--from, --to)\n"
               "as the hunts see them (nfdump -B): records an exporter cut by its active timeout\n"
               "joined, copies from several routers dropped, the two directions paired, counters\n"
               "multiplied by the sampling interval. One line per conversation, from originator\n"
               "to responder, in order of start time: what a hunt's finding counted.\n"
               "\n"
               "  --from T, --to T   the window, as for flowhunt cat\n"
               "  --format FMT       text (default, an aligned table), csv or json (one object a\n"
               "                     line); times in ms since the epoch in csv and json\n"
               "  --limit N          print the first N conversations\n"
               "  --config FILE      the hunts' configuration: its [prep] settings (stitch_gap_s,\n"
               "                     pair_tolerance_ms, ...) build the conversations, and\n"
               "                     [general] memory_mb bounds the records held\n"
               "  -f FILE, --intel FEED, FILTER  as for flowhunt cat, but taken either way: a\n"
               "                     record is selected when it, or the other direction's record\n"
               "                     of its conversation, matches ('dst port 443' selects the\n"
               "                     answers from port 443 too)\n"
               "  -v, --verbose      what preparation did, on stderr\n"
               "\n"
               "state is answered (the responder sent something back), unanswered, or rejected\n"
               "(answered only with a reset, or denied by a firewall); records counts the\n"
               "records joined into the conversation, exporters the routers that sent it.\n"
               "\n"
               "Exit status: 0 success, 2 usage, the directory could not be read, or more\n"
               "records than [general] memory_mb holds (narrow the window or the filter).\n");
}

/* The workers' records moved into one array (the first worker's, grown); NULL when none. */
static hp_rec_t *cv_gather(cv_ctx_t *c, int n_workers, size_t *n_out)
{
    size_t n = 0;
    for (int i = 0; i < n_workers; i++)
        n += c->w[i].recs.n;
    *n_out = n;
    hp_rec_t *all = hj_xrealloc(c->w[0].recs.v, (n ? n : 1) * sizeof *all);
    size_t at = c->w[0].recs.n;
    c->w[0].recs = (hp_recs_t){0};
    for (int i = 1; i < n_workers; i++) {
        if (c->w[i].recs.n) /* a worker that kept nothing may have no array */
            memcpy(all + at, c->w[i].recs.v, c->w[i].recs.n * sizeof *all);
        at += c->w[i].recs.n;
        free(c->w[i].recs.v);
        c->w[i].recs = (hp_recs_t){0};
    }
    return all;
}

int cmd_conv(int argc, char **argv)
{
    static const struct option opts[] = {CMD_READ_LONGOPTS,
                                         CMD_INTEL_LONGOPT,
                                         {"format", required_argument, NULL, 'o'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *prog = "flowhunt conv", *config = NULL;
    cmd_read_args_t ra = {0};
    cv_out_t out = {CV_TEXT, 0, 0};
    int verbose = 0, opt;
    optind = 1;
    while ((opt = cmd_getopt(prog, argc, argv, ":hvf:", opts)) != -1) {
        switch (opt) {
        case 'o': {
            static const char *const fmts[] = {"text", "csv", "json"}; /* cv_fmt_t */
            int f = cmd_choice(prog, "--format", optarg, fmts, 3);
            if (f < 0)
                return CMD_USAGE;
            out.fmt = (cv_fmt_t)f;
            break;
        }
        case 'n': {
            char *end;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end || v == 0) {
                fprintf(stderr, "%s: --limit takes a positive number, not '%s'\n", prog, optarg);
                return CMD_USAGE;
            }
            out.limit = v;
            break;
        }
        case 'c':
            config = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            cv_usage(stdout);
            return CMD_OK;
        default:
            if (cmd_read_opt(opt, optarg, &ra))
                break;
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    hunt_config_t cfg;
    hc_defaults(&cfg);
    char err[512];
    if (config && hc_load(&cfg, config, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        hc_free(&cfg);
        return CMD_USAGE;
    }
    static cv_ctx_t c; /* CMD_PAR_MAX workers' scratch: off the stack */
    memset(&c, 0, sizeof c);
    const char *dir;
    flt_t *flt;
    if (cmd_dir_filter(prog, argc, argv, optind, &ra, &dir, &flt, &c.from, &c.to, NULL) != 0) {
        hc_free(&cfg);
        return CMD_USAGE;
    }
    /* the window, which has no direction, is in both halves alike */
    if (flt_either_way(flt) != 0) {
        fprintf(stderr, "%s: the filter is too large to take either way\n", prog);
        flt_free(flt);
        hc_free(&cfg);
        return CMD_USAGE;
    }
    c.flt = flt;
    c.max_recs = (uint64_t)cfg.memory_mb * 1048576 / CV_BYTES_PER_REC;
    int n_workers = cmd_workers();
    if (n_workers > CMD_PAR_MAX)
        n_workers = CMD_PAR_MAX;
    for (int i = 0; i < n_workers; i++)
        flt_rows_init(&c.w[i].sel);
    cmd_progress_init(&c.progress, 1);
    seg_scan_stats_t stats;
    seg_where_t where;
    memset(&stats, 0, sizeof stats);
    memset(&where, 0, sizeof where);
    int rc = seg_scan_flags(dir, c.from, c.to, n_workers, SEG_SCAN_GROUPS, cv_want, cv_batch, &c,
                            &stats, &where);
    cmd_progress_done(&c.progress);
    cmd_warn_dangling(prog, dir, stats.dangling_path, stats.dangling);
    int status = CMD_OK;
    if (rc == CV_FULL) {
        fprintf(stderr,
                "%s: more than %llu records in the window match: narrow the window or the "
                "filter (or raise [general] memory_mb, now %llu)\n",
                prog, (unsigned long long)c.max_recs, (unsigned long long)cfg.memory_mb);
        status = CMD_USAGE;
    } else if (rc < 0) {
        for (int i = 0; i < n_workers && !where.path[0]; i++)
            if (c.w[i].where.path[0])
                where = c.w[i].where;
        cmd_print_where(stderr, prog, rc, &where);
        status = CMD_USAGE;
    } else {
        size_t n;
        hp_rec_t *recs = cv_gather(&c, n_workers, &n);
        hp_stats_t st;
        memset(&st, 0, sizeof st);
        st.rows = n;
        if (out.fmt == CV_CSV)
            fputs(cv_csv_header, stdout);
        else if (out.fmt == CV_TEXT)
            printf(CV_TEXT_ROW("s"), "Date first seen (UTC)", "Duration", "Proto",
                   "Originator:Port", "", "Responder:Port", "Pkts out", "Bytes out", "Pkts in",
                   "Bytes in", "FlagsOut", "FlagsIn", "State", "Recs", "Sampling");
        hp_prepare(&cfg, recs, n, cv_print, &out, &st);
        free(recs);
        if (verbose)
            fprintf(stderr,
                    "%s: %llu records -> %llu conversations (%llu stitched, %llu duplicate "
                    "copies dropped, %llu paired, %llu biflows, %llu unanswered)\n",
                    prog, (unsigned long long)st.rows, (unsigned long long)st.convs,
                    (unsigned long long)st.stitched, (unsigned long long)st.duplicates,
                    (unsigned long long)st.paired, (unsigned long long)st.biflows,
                    (unsigned long long)st.one_way);
    }
    for (int i = 0; i < n_workers; i++) {
        flt_rows_free(&c.w[i].sel);
        free(c.w[i].recs.v);
    }
    flt_free(flt);
    hc_free(&cfg);
    return status;
}
