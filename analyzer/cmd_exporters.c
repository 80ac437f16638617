/* cmd_exporters.c: `flowhunt exporters DIR [--from T] [--to T]`: what each exporter sent,
 * lost and broke, from the counters every segment records in its footer for its interval.
 *
 * One line per (exporter, version, observation domain): datagrams, flows, flows lost to
 * sequence gaps (in the protocol's own unit: flows for v5, export packets for v9, records for
 * IPFIX), malformed datagrams dropped whole (counted in its datagrams too; one too short to name
 * a version is in no row), and the first and last interval it appeared in. Summing
 * per-interval counters over the chosen window makes it a report of any period.
 *
 * A segment's counters are what happened in its interval (storage/FORMAT.md), so the window
 * picks segments by the interval their footer records, not by their name's folder (which only
 * narrows the search) nor by their flows' times (a flow placed in one interval started in an
 * earlier one: two adjacent windows would both count its segment). Counters cannot be split,
 * so an interval the window's edge cuts counts whole; windows split at interval starts add up.
 *
 * A collector whose exporter table reached its bound evicts the exporters (or domains) seen
 * least recently and records what they did in the interval as one row of version 0 (address
 * ::, storage/FORMAT.md); it is listed last, as "(evicted)", so the columns still add up.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "timearg.h"

#define EXPS_EVICTED_VERSION 0 /* the collector's row for evicted exporters (exporter.h) */

typedef struct exps_row {
    seg_exporter_stat_t st;
    uint64_t first_ms, last_ms;
} exps_row_t;

static int exps_cmp(const void *a, const void *b)
{
    const exps_row_t *x = a, *y = b;
    int ex = x->st.version == EXPS_EVICTED_VERSION, ey = y->st.version == EXPS_EVICTED_VERSION;
    if (ex != ey)
        return ex - ey;
    int c = memcmp(x->st.addr.b, y->st.addr.b, 16);
    if (c)
        return c;
    if (x->st.version != y->st.version)
        return x->st.version < y->st.version ? -1 : 1;
    return x->st.domain < y->st.domain ? -1 : x->st.domain > y->st.domain;
}

static void exps_time(uint64_t ms, char *out, size_t cap)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The value of the footer's meta line `key=` into out (NUL-terminated); 0, or -1 when there is
 * none or it does not fit. */
static int exps_meta(const seg_file_t *f, const char *key, char *out, size_t cap)
{
    size_t len, klen = strlen(key);
    const char *p = seg_meta(f, &len), *end = p + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if ((size_t)(eol - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = (size_t)(eol - p) - klen - 1;
            if (n >= cap)
                return -1;
            memcpy(out, p + klen + 1, n);
            out[n] = '\0';
            return 0;
        }
        p = eol + 1;
    }
    return -1;
}

/* The time the segment's counters belong to, [*lo, *hi): its interval [interval_start,
 * + interval_s) from the footer; a footer without them (a recovered segment; it has no
 * counters either) its rows' range. 0, or -1 when it has neither (no interval, no rows). */
static int exps_span(const seg_file_t *f, uint64_t t_min, uint64_t t_max, uint64_t *lo,
                     uint64_t *hi)
{
    char start[40], secs[16], *end;
    if (exps_meta(f, "interval_start", start, sizeof start) == 0 &&
        timearg_parse(start, 0, lo) == 0 && exps_meta(f, "interval_s", secs, sizeof secs) == 0) {
        unsigned long long s = strtoull(secs, &end, 10);
        if (end != secs && *end == '\0' && s <= UINT32_MAX) {
            *hi = *lo + s * 1000;
            return 0;
        }
    }
    if (t_min == UINT64_MAX)
        return -1;
    *lo = t_min;
    *hi = t_max + 1;
    return 0;
}

int cmd_exporters(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *from_arg = NULL, *to_arg = NULL;
    int c;
    optind = 1;
    while ((c = cmd_getopt("flowhunt exporters", argc, argv, ":h", opts)) != -1) {
        switch (c) {
        case 'f':
            from_arg = optarg;
            break;
        case 't':
            to_arg = optarg;
            break;
        case 'h':
            printf("usage: flowhunt exporters DIR [--from T] [--to T]\n\n"
                   "What each exporter (address, version, observation domain) sent, lost and\n"
                   "broke over the window, from the counters the collector records in every\n"
                   "segment: datagrams, flows, sequence loss (v5: flows, v9: export packets,\n"
                   "IPFIX: records), malformed datagrams dropped whole (counted in datagrams\n"
                   "too; one too short to name a version is only in the daemon's counters), and\n"
                   "the intervals of the segments it appears in. A last row \"(evicted)\" sums\n"
                   "what exporters evicted from a full collector table did before their\n"
                   "eviction.\n\n"
                   "The window takes the segments whose interval (the counters' time) meets it,\n"
                   "whole: windows split at interval starts add up.\n\n"
                   "Exit status: 0 success, 2 usage or the directory could not be read.\n");
            return CMD_OK;
        default:
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: flowhunt exporters DIR [--from T] [--to T]\n");
        return CMD_USAGE;
    }
    const char *dir = argv[optind];
    uint64_t from, to;
    if (cmd_data_dir("flowhunt exporters", dir) != 0 ||
        cmd_window("flowhunt exporters", from_arg, to_arg, &from, &to) != 0)
        return CMD_USAGE;
    char **paths = NULL;
    int n = seg_dir_list(dir, from, to, &paths);
    if (n < 0) {
        fprintf(stderr, "flowhunt exporters: %s: %s\n", dir, seg_strerror(n));
        return CMD_USAGE;
    }
    exps_row_t *rows = NULL;
    size_t n_rows = 0, cap = 0;
    int status = CMD_OK;
    int n_read = 0, n_rebuilt = 0; /* segments of the window; of them, rebuilt by recovery */
    int n_dangling = 0, first_dangling = -1; /* skipped as dangling links (seg_path_dangling) */
    for (int i = 0; i < n; i++) {
        seg_file_t *f;
        seg_where_t where;
        int rc = seg_open(paths[i], &f, &where);
        if (seg_open_gone(rc, &where)) {
            /* removed since the listing (expire runs beside readers), or a dangling link */
            if (seg_path_dangling(paths[i]) && !n_dangling++)
                first_dangling = i;
            continue;
        }
        if (rc != 0) {
            cmd_print_where(stderr, "flowhunt exporters", rc, &where);
            status = CMD_PROBLEMS;
            continue;
        }
        uint64_t t_min = UINT64_MAX, t_max = 0;
        for (uint32_t g = 0; g < seg_n_groups(f); g++) {
            seg_group_info_t gi;
            seg_group(f, g, &gi);
            t_min = gi.time_min < t_min ? gi.time_min : t_min;
            t_max = gi.time_max > t_max ? gi.time_max : t_max;
        }
        /* a segment with neither interval nor rows is kept, its time unknown */
        uint64_t lo = 0, hi = 0;
        int spans = exps_span(f, t_min, t_max, &lo, &hi) == 0;
        if (spans && !(lo < to && hi > from)) {
            seg_close(f);
            continue;
        }
        char rec[4];
        n_read++;
        n_rebuilt += exps_meta(f, "recovered", rec, sizeof rec) == 0 && strcmp(rec, "1") == 0;
        const seg_exporter_stat_t *st = seg_exporters(f);
        for (uint32_t k = 0; k < seg_n_exporters(f); k++) {
            size_t j = 0;
            while (j < n_rows &&
                   !(memcmp(rows[j].st.addr.b, st[k].addr.b, 16) == 0 &&
                     rows[j].st.version == st[k].version && rows[j].st.domain == st[k].domain))
                j++;
            if (j == n_rows) {
                if (n_rows == cap) {
                    cap = cap ? cap * 2 : 16;
                    exps_row_t *nr = realloc(rows, cap * sizeof *nr);
                    if (!nr) {
                        fprintf(stderr, "flowhunt exporters: out of memory\n");
                        seg_close(f);
                        free(rows);
                        seg_dir_list_free(paths, n);
                        return CMD_USAGE;
                    }
                    rows = nr;
                }
                memset(&rows[n_rows], 0, sizeof rows[n_rows]);
                rows[n_rows].st.addr = st[k].addr;
                rows[n_rows].st.version = st[k].version;
                rows[n_rows].st.domain = st[k].domain;
                rows[n_rows].first_ms = UINT64_MAX;
                n_rows++;
            }
            exps_row_t *r = &rows[j];
            r->st.datagrams += st[k].datagrams;
            r->st.flows += st[k].flows;
            r->st.seq_lost += st[k].seq_lost;
            r->st.drops += st[k].drops;
            /* the columns show the segments' time as the window chooses them: an arrival
             * interval, not the (replayed, or skewed) flows' own times */
            if (spans && lo < r->first_ms)
                r->first_ms = lo;
            if (spans && hi - 1 > r->last_ms)
                r->last_ms = hi - 1;
        }
        seg_close(f);
    }
    if (n_dangling)
        cmd_warn_dangling("flowhunt exporters", dir, paths[first_dangling], (uint64_t)n_dangling);
    seg_dir_list_free(paths, n);
    if (n_rows > 1)
        qsort(rows, n_rows, sizeof *rows, exps_cmp);
    printf("%-39s %3s %10s %12s %14s %10s %10s  %-20s  %s\n", "exporter", "ver", "domain",
           "datagrams", "flows", "seq_lost", "malformed", "in segments from", "to");
    for (size_t j = 0; j < n_rows; j++) {
        char a[FLOW_ADDR_STRLEN], t0[32] = "-", t1[32] = "-";
        if (rows[j].st.version == EXPS_EVICTED_VERSION)
            snprintf(a, sizeof a, "(evicted)");
        else
            flow_addr_format(&rows[j].st.addr, a);
        if (rows[j].first_ms != UINT64_MAX)
            exps_time(rows[j].first_ms, t0, sizeof t0);
        if (rows[j].last_ms)
            exps_time(rows[j].last_ms, t1, sizeof t1);
        printf("%-39s %3u %10u %12llu %14llu %10llu %10llu  %-20s  %s\n", a, rows[j].st.version,
               rows[j].st.domain, (unsigned long long)rows[j].st.datagrams,
               (unsigned long long)rows[j].st.flows, (unsigned long long)rows[j].st.seq_lost,
               (unsigned long long)rows[j].st.drops, t0, t1);
    }
    /* Imports record no counters, and a writer's crash takes its segment's with it. */
    if (n_rows == 0 && n_read == 0)
        printf("(no segments in %s%s)\n", dir, from > 0 || to < UINT64_MAX ? " in the window" : "");
    else if (n_rows == 0 && n_rebuilt == n_read)
        printf("(no exporter counters in %s: its segments were rebuilt after a collector's crash, "
               "and rebuilt segments carry none)\n",
               dir);
    else if (n_rows == 0 && n_rebuilt > 0)
        printf("(no exporter counters in %s: segments written by import carry none, nor do those "
               "rebuilt after a collector's crash)\n",
               dir);
    else if (n_rows == 0)
        printf("(no exporter counters in %s: segments written by import carry none)\n", dir);
    free(rows);
    return status;
}
