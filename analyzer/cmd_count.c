/* cmd_count.c: `flowhunt count`, SiLK's rwcount: flows, packets and bytes per time bin of the
 * stored flows that match a filter, the timeline an analyst draws of a finding (a beacon's
 * rhythm, when a channel was open, the hour an exfiltration ran).
 *
 * A flow counts once, in the bin of its start; its packets and bytes are spread over the bins
 * its [start, end] covers in proportion to the time it spent in each (rwcount's
 * time-proportional load scheme), in whole units: each bin takes the floor of its share and
 * the bin the flow ends in takes what the floors left, so a flow's bins add up to its counters
 * exactly. With --from/--to the bins cover the window and what lies outside it is not counted
 * (a flow that started before --from counts in the first bin); without them they run from the
 * first flow's start to the last one's end. Counters are corrected by the sampling interval
 * unless --raw, as top's are. A flow's corrected counters are kept in 128 bits until they are
 * split (a 2^40-byte flow sampled 1 in 2^24 over four bins gives each 2^62, not a quarter of a
 * wrapped or saturated product); the bins' sums saturate at 2^64-1 (satmath.h) and a warning
 * says when a printed one is there.
 *
 * Bins are kept per worker in a JudyL array (bin number -> index of its sums), so the span
 * need not be known before the scan; the rows of a group are nearly in time order, and the
 * last bin used is looked at first. The workers' sums are added up at the end.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "filter.h"
#include "flow_print.h"
#include "hunt.h"
#include "satmath.h"
#include "timearg.h"

#define CNT_MAX_BINS 10000000ull /* a window this many bins wide is refused */

typedef struct cnt_sum {
    uint64_t flows, packets, bytes;
} cnt_sum_t;

typedef struct cnt_worker {
    flt_rows_t sel;
    hj_map_t idx;                /* bin number -> index + 1 into sums */
    hj_vec_t sums;               /* cnt_sum_t */
    uint64_t last_bin, last_idx; /* the bin looked at last, and its index + 1 (0: none) */
    int too_wide;                /* a flow spanned more than CNT_MAX_BINS bins */
    seg_where_t where;
} cnt_worker_t;

typedef struct cnt_ctx {
    const flt_t *flt;
    uint64_t bin_ms;
    uint64_t from, to; /* the clip: [from, to) */
    int has_from, has_to;
    int raw;
    cnt_worker_t *w;
    int n_workers;
    cmd_progress_t progress;
    uint64_t rows_scanned;
} cnt_ctx_t;

/* The sums of bin `b` in worker w (zero when new). */
static cnt_sum_t *cnt_bin(cnt_worker_t *w, uint64_t b)
{
    if (w->last_idx && w->last_bin == b)
        return (cnt_sum_t *)w->sums.v + w->last_idx - 1;
    uint64_t *slot = hj_map_ins(&w->idx, b);
    if (!*slot) {
        *slot = w->sums.n + 1;
        hj_vec_at(&w->sums, w->sums.n); /* zeroed */
    }
    w->last_bin = b;
    w->last_idx = *slot;
    return (cnt_sum_t *)w->sums.v + *slot - 1;
}

/* How much of n the first x ms of a flow of dur ms carry (0 <= x <= dur, dur > 0, n < 2^96:
 * a 64-bit counter times a 32-bit sampling interval), rounded to the nearest (halves up),
 * exactly. A bin takes the difference of the marks at its ends, so every bin is within one of
 * its share and the bins of a whole flow add up to n; flooring each share instead left the
 * last bin every remainder (4 packets over 5 equal hours gave 0, 0, 0, 0, 4). n * x may not
 * fit in 128 bits; with n = q * dur + r it is q * x * dur + r * x, where q * x <= n and
 * r * x < dur^2 < 2^128. */
static unsigned __int128 cnt_upto(unsigned __int128 n, uint64_t x, uint64_t dur)
{
    /* the usual counter: n * x + dur / 2 < 2^128, one division, as before the wider n */
    if (n <= UINT64_MAX)
        return (n * x + dur / 2) / dur;
    unsigned __int128 q = n / dur, r = n % dur;
    return q * x + (r * x + dur / 2) / dur;
}

/* Adds one flow's share (a 128-bit difference of marks) into a bin's sum, saturated. */
static void cnt_add(uint64_t *sum, unsigned __int128 share)
{
    *sum = sat_add(*sum, sat_from128(share));
}

/* One flow: [t0, t1] (ms, t0 <= t1), its counters already corrected (below 2^96). Only its
 * part inside the clip is counted; a flow wholly inside gives its bins exactly its counters,
 * or 2^64-1 where that is more. */
static void cnt_flow(const cnt_ctx_t *c, cnt_worker_t *w, uint64_t t0, uint64_t t1,
                     unsigned __int128 packets, unsigned __int128 bytes)
{
    const uint64_t bw = c->bin_ms;
    uint64_t a = t0 > c->from ? t0 : c->from, e = t1 < c->to ? t1 : c->to;
    if (a > e || a >= c->to)
        return; /* outside the clip (the filter's window only said it overlaps) */
    if (e > a && (e - 1) / bw - a / bw >= CNT_MAX_BINS) {
        w->too_wide = 1; /* a flow over a decade of seconds: not spread, the command fails */
        return;
    }
    /* in the bin it starts in, and only in the window it starts in: the bin of the clipped
     * start counted a flow over the window's start in both of two adjacent windows */
    if (t0 >= c->from)
        cnt_bin(w, t0 / bw)->flows++;
    if (t1 == t0) {
        cnt_sum_t *s = cnt_bin(w, a / bw);
        cnt_add(&s->packets, packets);
        cnt_add(&s->bytes, bytes);
        return;
    }
    /* time-proportional, by the marks at the bins' ends within the clip [a, e) */
    const uint64_t dur = t1 - t0;
    unsigned __int128 mark_p = cnt_upto(packets, a - t0, dur);
    unsigned __int128 mark_b = cnt_upto(bytes, a - t0, dur);
    for (uint64_t b = a / bw; e > a && b <= (e - 1) / bw; b++) {
        uint64_t hi = (b + 1) * bw < e ? (b + 1) * bw : e;
        unsigned __int128 to_p = cnt_upto(packets, hi - t0, dur);
        unsigned __int128 to_b = cnt_upto(bytes, hi - t0, dur);
        cnt_sum_t *s = cnt_bin(w, b);
        cnt_add(&s->packets, to_p - mark_p);
        cnt_add(&s->bytes, to_b - mark_b);
        mark_p = to_p;
        mark_b = to_b;
    }
}

static int cnt_want(void *arg, const seg_file_t *f, uint32_t g)
{
    const cnt_ctx_t *c = arg;
    return flt_want((void *)c->flt, f, g);
}

static int cnt_batch(void *arg, int worker, seg_batch_t *b)
{
    cnt_ctx_t *c = arg;
    cnt_worker_t *w = &c->w[worker];
    int k = flt_select_rows(c->flt, &w->sel, b, &w->where);
    __atomic_fetch_add(&c->rows_scanned, b->n_rows, __ATOMIC_RELAXED);
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(&c->progress, "count: %llu rows scanned",
                          (unsigned long long)__atomic_load_n(&c->rows_scanned, __ATOMIC_RELAXED));
    if (k <= 0)
        return k;
    int sampled = !c->raw && !seg_batch_unsampled(b);
    const int need[] = {FLOW_COL_time_start, FLOW_COL_time_end, FLOW_COL_packets, FLOW_COL_bytes,
                        FLOW_COL_sampling};
    for (int i = 0; i < 4 + sampled; i++)
        if (!((b->loaded >> need[i]) & 1)) {
            int rc = seg_batch_load(b, need[i], &w->where);
            if (rc != 0)
                return rc;
        }
    const uint64_t *ts = b->vals[FLOW_COL_time_start], *te = b->vals[FLOW_COL_time_end];
    const uint8_t *has_s = b->present[FLOW_COL_time_start], *has_e = b->present[FLOW_COL_time_end];
    const uint64_t *pk = b->vals[FLOW_COL_packets], *by = b->vals[FLOW_COL_bytes];
    const uint32_t *sa = sampled ? b->vals[FLOW_COL_sampling] : NULL;
    for (int j = 0; j < k; j++) {
        uint32_t r = w->sel.v[j];
        /* a row's time range is [min, max] of the times it has (FORMAT.md), 0 for none */
        int hs = !has_s || has_s[r], he = !has_e || has_e[r];
        uint64_t t0 = hs ? ts[r] : he ? te[r] : 0, t1 = he ? te[r] : t0;
        if (t1 < t0) {
            uint64_t x = t0;
            t0 = t1;
            t1 = x;
        }
        uint64_t m = sa && sa[r] > 1 ? sa[r] : 1; /* absent or 0: unsampled */
        /* in 128 bits: the product of a 64-bit counter and a 32-bit interval fits */
        cnt_flow(c, w, t0, t1, (unsigned __int128)pk[r] * m, (unsigned __int128)by[r] * m);
    }
    return 0;
}

typedef enum cnt_fmt { CNT_TEXT, CNT_CSV, CNT_JSON } cnt_fmt_t;

static void cnt_usage(FILE *f)
{
    fprintf(f,
            "usage: flowhunt count DIR [--bin DURATION] [--from T] [--to T] [--raw]\n"
            "                      [--skip-zeroes] [--format text|csv|json] [-f FILE]\n"
            "                      [--intel FEED] [FILTER]\n"
            "\n"
            "Flows, packets and bytes per time bin of the stored flows of DIR that overlap\n"
            "[--from, --to) and match FILTER (SiLK's rwcount): a flow counts in the bin it\n"
            "starts in (not at all when it starts before --from, so adjacent windows add up),\n"
            "its packets and bytes are shared over the bins it spans in proportion to its\n"
            "time in each.\n"
            "\n"
            "  --bin D         the bins' width: 30s, 5m, 1h, 1d (default 1h)\n"
            "  --from, --to    the window, as for flowhunt cat: the bins cover it, and what\n"
            "                  lies outside is not counted; without them, from the first\n"
            "                  flow's start to the last one's end\n"
            "  --raw           counters as exported; by default packets and bytes are\n"
            "                  multiplied by each flow's sampling interval (1 in N)\n"
            "  --skip-zeroes   leave out bins with no traffic\n"
            "  --format FMT    text (default, an aligned table), csv or json (one object a line)\n"
            "  -f FILE, --intel FEED, FILTER  as for flowhunt cat (see flowhunt cat --help)\n"
            "\n"
            "Sums stop at 18446744073709551615 (2^64-1) rather than wrap, and a warning on\n"
            "stderr says when a printed one is there: such a total is at least that.\n"
            "\n"
            "Exit status: 0 success, 2 usage or the directory could not be read.\n");
}

/* Every worker's bins added into one array over [first, last] (bin numbers). */
static int cnt_gather(const cnt_ctx_t *c, uint64_t *first, uint64_t *last, cnt_sum_t **out)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < c->n_workers; i++) {
        uint64_t key = 0, *val;
        for (int f = 1; hj_map_next(&c->w[i].idx, &key, &val, f); f = 0) {
            lo = key < lo ? key : lo;
            hi = key > hi ? key : hi;
        }
    }
    /* the window decides where it was given, the flows elsewhere */
    if (c->has_from)
        lo = c->from / c->bin_ms;
    if (c->has_to)
        hi = (c->to - 1) / c->bin_ms;
    *out = NULL;
    if (lo > hi || (lo == UINT64_MAX && !c->has_from))
        return 0; /* nothing */
    if (hi - lo >= CNT_MAX_BINS)
        return -2;
    *first = lo;
    *last = hi;
    cnt_sum_t *v = calloc((size_t)(hi - lo + 1), sizeof *v);
    if (!v)
        return -1;
    for (int i = 0; i < c->n_workers; i++) {
        uint64_t key = 0, *val;
        for (int f = 1; hj_map_next(&c->w[i].idx, &key, &val, f); f = 0) {
            if (key < lo || key > hi)
                continue;
            const cnt_sum_t *s = (const cnt_sum_t *)c->w[i].sums.v + *val - 1;
            v[key - lo].flows = sat_add(v[key - lo].flows, s->flows);
            v[key - lo].packets = sat_add(v[key - lo].packets, s->packets);
            v[key - lo].bytes = sat_add(v[key - lo].bytes, s->bytes);
        }
    }
    *out = v;
    return 1;
}

static void cnt_print(const cnt_sum_t *v, uint64_t first, uint64_t last, uint64_t bin_ms,
                      cnt_fmt_t fmt, int skip_zeroes)
{
    /* the text table's widths, from what will be printed */
    size_t wid[3] = {5, 7, 5};
    char cell[32];
    for (uint64_t b = first; fmt == CNT_TEXT && b <= last; b++) {
        const uint64_t x[3] = {v[b - first].flows, v[b - first].packets, v[b - first].bytes};
        for (int i = 0; i < 3; i++) {
            size_t l = flow_print_u64(cell, x[i]);
            wid[i] = l > wid[i] ? l : wid[i];
        }
    }
    if (fmt == CNT_TEXT)
        printf("%-24s  %*s  %*s  %*s\n", "bin", (int)wid[0], "flows", (int)wid[1], "packets",
               (int)wid[2], "bytes");
    else if (fmt == CNT_CSV)
        printf("bin,flows,packets,bytes\n");
    int saturated = 0;
    for (uint64_t b = first; b <= last; b++) {
        const cnt_sum_t *s = &v[b - first];
        if (skip_zeroes && !s->flows && !s->packets && !s->bytes)
            continue;
        saturated |= s->flows == SAT_MAX || s->packets == SAT_MAX || s->bytes == SAT_MAX;
        char t[32];
        timearg_format_iso(b * bin_ms, t);
        unsigned long long f = s->flows, p = s->packets, y = s->bytes;
        if (fmt == CNT_TEXT)
            printf("%-24s  %*llu  %*llu  %*llu\n", t, (int)wid[0], f, (int)wid[1], p, (int)wid[2],
                   y);
        else if (fmt == CNT_CSV)
            printf("%s,%llu,%llu,%llu\n", t, f, p, y);
        else
            printf("{\"bin\":\"%s\",\"flows\":%llu,\"packets\":%llu,\"bytes\":%llu}\n", t, f, p, y);
    }
    /* a sum printed at the limit may be one that went past it: read it as "at least" */
    if (saturated)
        cmd_warn_saturated("flowhunt count");
}

int cmd_count(int argc, char **argv)
{
    static const struct option opts[] = {CMD_READ_LONGOPTS,
                                         CMD_INTEL_LONGOPT,
                                         {"bin", required_argument, NULL, 'b'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"skip-zeroes", no_argument, NULL, 'z'},
                                         {"format", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cmd_read_args_t ra = {0};
    cnt_fmt_t fmt = CNT_TEXT;
    int skip_zeroes = 0, opt;
    cnt_ctx_t c;
    memset(&c, 0, sizeof c);
    c.bin_ms = 3600000;
    optind = 1;
    while ((opt = cmd_getopt("flowhunt count", argc, argv, ":hf:", opts)) != -1) {
        switch (opt) {
        case 'b':
            if (timearg_duration(optarg, &c.bin_ms) != 0 || c.bin_ms < 1000) {
                fprintf(stderr,
                        "flowhunt count: --bin '%s' is not a duration of a second or "
                        "more (30s, 5m, 1h, 1d)\n",
                        optarg);
                return CMD_USAGE;
            }
            break;
        case 'r':
            c.raw = 1;
            break;
        case 'z':
            skip_zeroes = 1;
            break;
        case 'o': {
            static const char *const fmts[] = {"text", "csv", "json"}; /* cnt_fmt_t */
            int f = cmd_choice("flowhunt count", "--format", optarg, fmts, 3);
            if (f < 0)
                return CMD_USAGE;
            fmt = (cnt_fmt_t)f;
            break;
        }
        case 'h':
            cnt_usage(stdout);
            return CMD_OK;
        default:
            if (cmd_read_opt(opt, optarg, &ra))
                break;
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    const char *dir;
    flt_t *flt;
    if (cmd_dir_filter("flowhunt count", argc, argv, optind, &ra, &dir, &flt, &c.from, &c.to,
                       NULL) != 0)
        return CMD_USAGE;
    c.has_from = ra.from != NULL;
    c.has_to = ra.to != NULL;
    c.flt = flt;
    c.n_workers = cmd_workers();
    c.w = calloc((size_t)c.n_workers, sizeof *c.w);
    if (!c.w) {
        fprintf(stderr, "flowhunt count: out of memory\n");
        flt_free(flt);
        return CMD_USAGE;
    }
    for (int i = 0; i < c.n_workers; i++) {
        flt_rows_init(&c.w[i].sel);
        hj_vec_init(&c.w[i].sums, sizeof(cnt_sum_t));
    }
    cmd_progress_init(&c.progress, 1);
    seg_scan_stats_t stats;
    seg_where_t where;
    memset(&stats, 0, sizeof stats);
    memset(&where, 0, sizeof where);
    int rc = seg_scan_flags(dir, c.from, c.to, c.n_workers, SEG_SCAN_GROUPS, cnt_want, cnt_batch,
                            &c, &stats, &where);
    cmd_progress_done(&c.progress);
    cmd_warn_dangling("flowhunt count", dir, stats.dangling_path, stats.dangling);
    int status = CMD_OK;
    if (rc < 0) {
        for (int i = 0; i < c.n_workers && !where.path[0]; i++)
            if (c.w[i].where.path[0])
                where = c.w[i].where;
        cmd_print_where(stderr, "flowhunt count", rc, &where);
        status = CMD_USAGE;
    } else {
        uint64_t first = 0, last = 0;
        cnt_sum_t *v = NULL;
        int g = 0;
        for (int i = 0; i < c.n_workers; i++)
            g = c.w[i].too_wide ? -2 : g;
        if (g == 0)
            g = cnt_gather(&c, &first, &last, &v);
        if (g == -2) {
            if (ra.from && ra.to)
                fprintf(stderr,
                        "flowhunt count: the window spans more than %llu bins: widen --bin or "
                        "narrow --from and --to\n",
                        CNT_MAX_BINS);
            else
                fprintf(stderr,
                        "flowhunt count: the flows span more than %llu bins: widen --bin or "
                        "give --from and --to (a narrower window)\n",
                        CNT_MAX_BINS);
            status = CMD_USAGE;
        } else if (g < 0) {
            fprintf(stderr, "flowhunt count: out of memory\n");
            status = CMD_USAGE;
        } else {
            /* no bins: the header alone, as top prints it over no keys (a table that
             * came out empty read as a failed run) */
            if (g == 0 && fmt == CNT_CSV)
                printf("bin,flows,packets,bytes\n");
            else if (g == 0 && fmt == CNT_TEXT)
                printf("%-24s  %5s  %7s  %5s\n", "bin", "flows", "packets", "bytes");
            else if (g > 0)
                cnt_print(v, first, last, c.bin_ms, fmt, skip_zeroes);
            free(v);
            if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "flowhunt count: writing the output: %s\n", strerror(errno));
                status = CMD_USAGE;
            }
        }
    }
    for (int i = 0; i < c.n_workers; i++) {
        flt_rows_free(&c.w[i].sel);
        hj_map_free(&c.w[i].idx);
        hj_vec_free(&c.w[i].sums);
    }
    free(c.w);
    flt_free(flt);
    return status;
}
