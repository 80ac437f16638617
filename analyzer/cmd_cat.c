/* cmd_cat.c: `flowhunt cat`, stored flows back out as CSV, JSON lines or a table (nfdump -r).
 *
 * Output is in segment order (the names sort by time, then collector instance) and, within a
 * segment, in row order (as exported: flows end in about that order), whatever the
 * number of threads, so `cat --limit 10` is the same ten flows every time and two runs diff
 * clean. That is why cat walks the segments itself instead of using seg_scan (which hands out
 * row groups in whatever order the workers reach them). The unit of work is a row group, not
 * a segment: a daemon's store is a few large segments, and with a segment per worker the
 * worker on the second one could only format one group and then wait for the whole first
 * segment. Workers claim (segment, group) items in order, each numbered; a worker filters and
 * formats its group into its own buffer and writes it once no other worker still holds a
 * lower-numbered item. A group that prints nothing never waits.
 *
 * A row group is read only when its time range meets the window and its zone maps say the
 * filter may match; then only the filter's columns are decoded, and the rest of the columns
 * only when some row was selected, put in place for the selected rows only
 * (seg_batch_restrict: a dictionary's addresses, linked values), one after the other, so
 * the lines are formatted from consecutive places of each column.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "enrich.h"
#include "filter.h"
#include "flow_print.h"
#include "intel.h"
#include "protoname.h"
#include "timearg.h"

typedef enum cat_fmt { CAT_CSV, CAT_JSON, CAT_TEXT } cat_fmt_t;

#define CAT_TEXT_LINE_MAX 512

#define CAT_MAX_WORKERS 16
_Static_assert(CAT_MAX_WORKERS <= CMD_PAR_MAX, "cmd_par would run the rest one by one");

/* An open segment shared by the workers holding one of its groups; closed by the last. */
typedef struct cat_seg {
    seg_file_t *f;
    int refs; /* under mu */
} cat_seg_t;

/* One claimed row group. */
typedef struct cat_item {
    cat_seg_t *seg;
    uint32_t group;
    uint64_t seq;
} cat_item_t;

/* --sort: the selected lines kept in stored order, each with its time, then sorted by time
 * (ties in stored order) and written at the end. Bounded (CAT_SORT_MAX_BYTES of lines; the
 * environment's FH_SORT_MAX_BYTES lowers it, for tests): a sort holds its whole output, so a
 * window or filter too wide is refused, not swapped. */
#define CAT_SORT_MAX_BYTES ((size_t)1 << 30)

typedef struct cat_line {
    uint64_t t;   /* the sort key */
    uint64_t seq; /* stored order: ties keep it */
    size_t off, len;
} cat_line_t;

typedef struct cat_sorted {
    char *buf;
    size_t len, cap, max;
    cat_line_t *lines;
    size_t n, lines_cap;
    int full; /* past CAT_SORT_MAX_BYTES, or out of memory */
} cat_sorted_t;

typedef struct cat_ctx {
    /* set up before the workers start */
    char **paths;
    int n_paths;
    flt_t *flt;
    uint64_t from, to;
    cat_fmt_t fmt;
    uint64_t limit; /* 0: no limit */
    uint64_t cols;  /* columns printed */
    const flow_print_sel_t *sel;   /* --fields: those columns, in that order; NULL: all */
    int sort_col;                  /* --sort: FLOW_COL_time_start or _end; -1 stored order */
    en_ctx_t *en[CAT_MAX_WORKERS]; /* --geoip, --asn: each worker's lookups (not thread-safe) */
    ti_db_t *intel; /* --intel with src_intel or dst_intel in --fields: the feeds (read-only) */
    cmd_progress_t progress;
    int n_workers;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next_seg;     /* next segment to open */
    uint64_t n_dangling; /* paths skipped as dangling links (seg_path_dangling) */
    int first_dangling;  /* the first of them, when there is one */
    cat_seg_t *cur;   /* the segment whose groups are being handed out, or NULL */
    uint32_t cur_group, cur_groups;
    uint64_t next_seq;                  /* number of the next item claimed */
    uint64_t inflight[CAT_MAX_WORKERS]; /* each worker's item, UINT64_MAX when none */
    uint64_t printed;
    int stop;
    int err; /* first error (-SEG_E_*), with where */
    seg_where_t where;
    int write_failed;
    cat_sorted_t sorted; /* --sort: every line, in stored order, until the scan ends */
    /* statistics, atomically */
    uint64_t rows_scanned, groups, groups_skipped, segs_done;
} cat_ctx_t;

typedef struct cat_worker {
    cat_ctx_t *c;
    int id;
} cat_worker_t;

/* ---- formatting ---------------------------------------------------------------------------- */

/* Context columns, extra columns of --fields (flow_print_sel_t's FLOW_N_COLS + k): from
 * --geoip / --asn, what the databases say of each flow's addresses (column k < CAT_X_INTEL is
 * en_cell k / 2 of the source, k even, or the destination); from --intel, the indicator each
 * address matched. */
#define CAT_X_INTEL (2 * EN_N_CELLS)
#define CAT_N_X (CAT_X_INTEL + 2)
static const char *const cat_ctx_names[CAT_N_X] = {"src_country", "dst_country", "src_asn",
                                                   "dst_asn",     "src_as_org",  "dst_as_org",
                                                   "src_intel",   "dst_intel"};

/* What a worker's context columns read (the flow_print_extra_fn's arg). */
typedef struct cat_xarg {
    en_ctx_t *en;         /* the worker's own: its lookups cache */
    const ti_db_t *intel; /* shared: matching only reads it */
} cat_xarg_t;

#define CAT_INTEL_RAW 384                       /* "FEED:INDICATOR DESCRIPTION", cut there */
#define CAT_INTEL_CELL (6 * CAT_INTEL_RAW + 32) /* escaped (en_escape), named, quoted */

/* --intel: the indicator end `src` (else the destination) matched, as the intel hunt would
 * pick it, for the flow's port on that side and its time, else any of the address's (cat
 * selects by address alone): "FEED:INDICATOR DESCRIPTION", an empty cell or null for an
 * address no indicator covers (the other end's matched). Every indicator counts: cat reads no
 * [intel] min_confidence, and shows what the feeds say. */
static size_t cat_format_intel(char *out, int src, const flow_rec_t *rec, flow_print_fmt_t fmt,
                               const ti_db_t *db)
{
    const int json = fmt == FLOW_PRINT_JSON;
    size_t len = json ? (size_t)sprintf(out, "\"%s\":", cat_ctx_names[CAT_X_INTEL + !src]) : 0;
    const ti_ioc_t *m = NULL;
    if (src ? FLOW_HAS(rec, src_addr) : FLOW_HAS(rec, dst_addr)) {
        const flow_addr_t *a = src ? &rec->src_addr : &rec->dst_addr;
        int port = hunt_port_of(rec->proto, src ? rec->src_port : rec->dst_port);
        uint64_t t0 = FLOW_HAS(rec, time_start) ? rec->time_start : rec->time_end;
        uint64_t t1 = FLOW_HAS(rec, time_end) ? rec->time_end : rec->time_start;
        m = ti_match(db, a, port, t0 < t1 ? t0 : t1, t0 < t1 ? t1 : t0, 0);
        if (!m)
            m = ti_match(db, a, TI_ANY_PORT, 0, UINT64_MAX, 0);
    }
    if (!m)
        return len + (json ? (size_t)sprintf(out + len, "null") : 0);
    char raw[CAT_INTEL_RAW + 1];
    snprintf(raw, sizeof raw, "%s:%s%s%s", m->feed, m->text, m->desc[0] ? " " : "", m->desc);
    if (json)
        out[len++] = '"';
    len += (size_t)en_escape(out + len, raw, json ? EN_OUT_JSON : EN_OUT_CSV);
    if (json)
        out[len++] = '"';
    return len;
}

/* Context column k of a row (flow_print_extra_fn; arg: the worker's cat_xarg_t). */
static size_t cat_format_ctx(char *out, int k, const flow_rec_t *rec, flow_print_fmt_t fmt,
                             void *arg)
{
    const cat_xarg_t *x = arg;
    if (k >= CAT_X_INTEL)
        return cat_format_intel(out, k == CAT_X_INTEL, rec, fmt, x->intel);
    const int json = fmt == FLOW_PRINT_JSON, src = k % 2 == 0, what = k / 2;
    char cell[EN_CELL_MAX];
    hunt_geo_t g;
    int l = -1;
    if ((src ? FLOW_HAS(rec, src_addr) : FLOW_HAS(rec, dst_addr)) &&
        en_lookup(x->en, src ? &rec->src_addr : &rec->dst_addr, &g))
        l = en_cell(cell, &g, what, json ? EN_OUT_JSON : EN_OUT_CSV);
    size_t len = json ? (size_t)sprintf(out, "\"%s\":", cat_ctx_names[k]) : 0;
    if (l < 0)
        return len + (json ? (size_t)sprintf(out + len, "null") : 0);
    int quote = json && what != EN_CELL_ASN;
    return len + (size_t)sprintf(out + len, quote ? "\"%s\"" : "%s", cell);
}

/* "addr:port" (IPv6 as "[addr]:port"), or the address alone when the port is absent. */
static size_t cat_endpoint(char *out, const flow_rec_t *r, int src)
{
    const flow_addr_t *a = src ? &r->src_addr : &r->dst_addr;
    int has_a = src ? FLOW_HAS(r, src_addr) : FLOW_HAS(r, dst_addr);
    int has_p = src ? FLOW_HAS(r, src_port) : FLOW_HAS(r, dst_port);
    char txt[FLOW_ADDR_STRLEN];
    if (!has_a)
        return (size_t)sprintf(out, "-");
    flow_addr_format(a, txt);
    if (!has_p)
        return (size_t)sprintf(out, "%s", txt);
    unsigned port = src ? r->src_port : r->dst_port;
    if (flow_addr_is_v4(a))
        return (size_t)sprintf(out, "%s:%u", txt, port);
    return (size_t)sprintf(out, "[%s]:%u", txt, port);
}

static void cat_u64_or_dash(char *out, size_t cap, int has, uint64_t v)
{
    if (has)
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else
        snprintf(out, cap, "-");
}

static const char cat_text_header[] =
    "Date first seen (UTC)    Duration Proto      Src IP Addr:Port             Dst IP Addr:Port "
    "   Flags      Packets        Bytes Sampling";

/* One table row; the widths fit IPv4 endpoints, IPv6 ones push the rest of the line right. */
static size_t cat_format_text(char *out, const flow_rec_t *r)
{
    char start[TIMEARG_STRLEN] = "-", dur[24] = "-", proto[8] = "-", src[64], dst[64];
    char flags[9] = "-", pk[24], by[24], sa[16];
    if (FLOW_HAS(r, time_start))
        timearg_format(r->time_start, start);
    if (FLOW_HAS(r, time_start) && FLOW_HAS(r, time_end)) {
        uint64_t d = r->time_end > r->time_start ? r->time_end - r->time_start : 0;
        snprintf(dur, sizeof dur, "%llu.%03u", (unsigned long long)(d / 1000),
                 (unsigned)(d % 1000));
    }
    if (FLOW_HAS(r, proto)) {
        const char *name = protoname_of(r->proto);
        if (name)
            snprintf(proto, sizeof proto, "%s", name);
        else
            snprintf(proto, sizeof proto, "%u", r->proto);
    }
    cat_endpoint(src, r, 1);
    cat_endpoint(dst, r, 0);
    if (FLOW_HAS(r, tcp_flags))
        flow_print_tcp_flags(flags, r->tcp_flags);
    cat_u64_or_dash(pk, sizeof pk, FLOW_HAS(r, packets), r->packets);
    cat_u64_or_dash(by, sizeof by, FLOW_HAS(r, bytes), r->bytes);
    cat_u64_or_dash(sa, sizeof sa, FLOW_HAS(r, sampling), r->sampling);
    int n = snprintf(out, CAT_TEXT_LINE_MAX, "%-23s %10s %-5s %28s -> %-28s %8s %12s %12s %8s",
                     start, dur, proto, src, dst, flags, pk, by, sa);
    return n > 0 && n < CAT_TEXT_LINE_MAX ? (size_t)n : CAT_TEXT_LINE_MAX - 1;
}

/* ---- the scan ------------------------------------------------------------------------------ */

typedef struct cat_out {
    char *buf;
    size_t len, cap;
    size_t *ends;   /* end offset of each line */
    uint64_t *keys; /* --sort: each line's time */
    uint32_t n_lines, lines_cap;
} cat_out_t;

/* Grows *p (elements of `elem` bytes, *cap of them) by doubling from `first` to hold `need`.
 * 0, or -1 out of memory (*p unchanged). */
static int cat_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    void *n = realloc(*p, c * elem);
    if (!n)
        return -1;
    *p = n;
    *cap = c;
    return 0;
}

static int cat_out_reserve(cat_out_t *o, size_t more)
{
    return cat_grow((void **)&o->buf, &o->cap, o->len + more, 1, 1 << 20);
}

static void cat_en_close(cat_ctx_t *c)
{
    for (int w = 0; w < CAT_MAX_WORKERS; w++) {
        en_close(c->en[w]);
        c->en[w] = NULL;
    }
}

static int cat_format_group(cat_ctx_t *c, en_ctx_t *en, seg_batch_t *b, uint32_t k, cat_out_t *o)
{
    cat_xarg_t x = {en, c->intel};
    o->len = 0;
    o->n_lines = 0;
    if (o->lines_cap < k) {
        size_t *e = realloc(o->ends, (size_t)k * sizeof *e);
        if (e)
            o->ends = e;
        uint64_t *t = e ? realloc(o->keys, (size_t)k * sizeof *t) : NULL;
        if (!t)
            return -SEG_E_NOMEM;
        o->keys = t;
        o->lines_cap = k;
    }
    if (c->sort_col >= 0) {
        /* an absent time sorts first, as 0 (the column is loaded: cmd_cat adds it) */
        const uint64_t *tv = b->vals[c->sort_col];
        const uint8_t *tp = b->present[c->sort_col];
        for (uint32_t j = 0; j < k; j++)
            o->keys[j] = tp && !tp[j] ? 0 : tv[j];
    }
    /* CSV and JSON straight from the columns; the table from a record. The batch is
     * restricted to the selected rows: rows[j] is at place j of every column. */
    const void *const *vals = (const void *const *)b->vals;
    const uint8_t *const *pres = (const uint8_t *const *)b->present;
    for (uint32_t j = 0; j < k; j++) {
        if (cat_out_reserve(o, FLOW_PRINT_LINE_MAX + 4 * EN_CELL_MAX + 2 * CAT_INTEL_CELL + 1) != 0)
            return -SEG_E_NOMEM;
        char *p = o->buf + o->len;
        size_t n;
        if (c->sel) {
            n = flow_format_cols_sel(p, c->fmt == CAT_JSON ? FLOW_PRINT_JSON : FLOW_PRINT_CSV,
                                     c->sel, vals, pres, j, cat_format_ctx, &x);
        } else if (c->fmt == CAT_CSV) {
            n = flow_format_csv_cols(p, vals, pres, j);
        } else if (c->fmt == CAT_JSON) {
            n = flow_format_json_cols(p, vals, pres, j);
        } else {
            flow_rec_t rec;
            seg_batch_row(b, j, &rec);
            n = cat_format_text(p, &rec);
        }
        p[n] = '\n';
        o->len += n + 1;
        o->ends[o->n_lines++] = o->len;
    }
    return 0;
}

/* 1 when item `seq` may write: no other worker still holds a lower-numbered item (items are
 * claimed in increasing order, so none can come later). Called with mu held. */
static int cat_turn(const cat_ctx_t *c, int me, uint64_t seq)
{
    for (int w = 0; w < c->n_workers; w++)
        if (w != me && c->inflight[w] < seq)
            return 0;
    return 1;
}

static void cat_fail_locked(cat_ctx_t *c, int rc, const seg_where_t *where)
{
    if (!c->err) {
        c->err = rc;
        c->where = *where;
    }
    c->stop = 1;
    pthread_cond_broadcast(&c->cv);
}

static void cat_fail(cat_ctx_t *c, int rc, const seg_where_t *where)
{
    pthread_mutex_lock(&c->mu);
    cat_fail_locked(c, rc, where);
    pthread_mutex_unlock(&c->mu);
}

/* --sort: keeps a group's lines and their times (in stored order, as the turns come). 0, or -1
 * when the output would pass so->max or memory ran out. */
static int cat_keep(cat_sorted_t *so, const cat_out_t *o)
{
    size_t len = o->n_lines ? o->ends[o->n_lines - 1] : 0;
    if (so->len + len > so->max ||
        cat_grow((void **)&so->buf, &so->cap, so->len + len, 1, 1 << 20) != 0 ||
        cat_grow((void **)&so->lines, &so->lines_cap, so->n + o->n_lines, sizeof *so->lines,
                 4096) != 0)
        return -1;
    memcpy(so->buf + so->len, o->buf, len);
    for (uint32_t j = 0; j < o->n_lines; j++) {
        size_t start = j ? o->ends[j - 1] : 0;
        so->lines[so->n] = (cat_line_t){o->keys[j], so->n, so->len + start, o->ends[j] - start};
        so->n++;
    }
    so->len += len;
    return 0;
}

static int cat_line_cmp(const void *pa, const void *pb)
{
    const cat_line_t *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The CSV or text header line (JSON has none). */
static void cat_header(const cat_ctx_t *c)
{
    if (c->fmt == CAT_CSV && c->sel) {
        char line[FLOW_PRINT_LINE_MAX];
        flow_format_csv_header_sel(line, c->sel, cat_ctx_names);
        printf("%s\n", line);
    } else if (c->fmt == CAT_CSV)
        flow_print_header(stdout, FLOW_PRINT_CSV);
    else if (c->fmt == CAT_TEXT)
        printf("%s\n", cat_text_header);
}

/* --sort, once the scan is over: the header, then the kept lines by time, up to the limit. */
static void cat_write_sorted(cat_ctx_t *c)
{
    cat_header(c);
    cat_sorted_t *so = &c->sorted;
    qsort(so->lines, so->n, sizeof *so->lines, cat_line_cmp);
    size_t n = c->limit && c->limit < so->n ? (size_t)c->limit : so->n;
    for (size_t i = 0; i < n && !c->write_failed; i++) {
        const cat_line_t *l = &so->lines[i];
        if (fwrite(so->buf + l->off, 1, l->len, stdout) != l->len)
            c->write_failed = errno ? errno : EIO;
    }
    c->printed = n;
}

/* Writes a group's lines, up to the limit (with --sort, keeps them for cat_write_sorted).
 * Called with mu held and the turn ours. */
static void cat_emit(cat_ctx_t *c, const cat_out_t *o)
{
    if (c->sort_col >= 0) {
        if (cat_keep(&c->sorted, o) != 0) {
            c->sorted.full = 1;
            c->stop = 1;
            pthread_cond_broadcast(&c->cv);
        }
        return;
    }
    uint32_t n = o->n_lines;
    if (c->limit && c->printed + n > c->limit)
        n = (uint32_t)(c->limit - c->printed);
    if (n == 0)
        return;
    size_t len = o->ends[n - 1];
    if (fwrite(o->buf, 1, len, stdout) != len) {
        c->write_failed = errno ? errno : EIO;
        c->stop = 1;
    }
    c->printed += n;
    if (c->limit && c->printed >= c->limit)
        c->stop = 1;
    if (c->stop)
        pthread_cond_broadcast(&c->cv);
}

/* Out of memory while handling `path`: where the error report points. */
static void cat_where_nomem(seg_where_t *where, const char *path)
{
    memset(where, 0, sizeof *where);
    snprintf(where->path, sizeof where->path, "%s", path);
    where->code = SEG_E_NOMEM;
    where->sys_errno = ENOMEM;
}

/* Drops a reference; returns the file to close (outside the lock) when it was the last. */
static seg_file_t *cat_seg_unref(cat_ctx_t *c, cat_seg_t *s)
{
    if (--s->refs > 0)
        return NULL;
    seg_file_t *f = s->f;
    free(s);
    __atomic_fetch_add(&c->segs_done, 1, __ATOMIC_RELAXED);
    return f;
}

/* Claims the next (segment, group) in order, opening segments as the cursor reaches them
 * (under the lock: opening validates headers only, and the order must not depend on which
 * worker opens faster). 0 with *it, or -1 when there is nothing left or the run stopped.
 * Called with mu held (released while closing a segment nobody holds any more). */
static int cat_claim(cat_ctx_t *c, int me, cat_item_t *it)
{
    for (;;) {
        if (c->stop)
            break;
        if (c->cur && c->cur_group < c->cur_groups) {
            it->seg = c->cur;
            it->seg->refs++;
            it->group = c->cur_group++;
            it->seq = c->next_seq++;
            c->inflight[me] = it->seq;
            pthread_cond_broadcast(&c->cv); /* our old item is done: a waiter may write */
            return 0;
        }
        if (c->cur) {
            seg_file_t *f = cat_seg_unref(c, c->cur);
            c->cur = NULL;
            if (f) {
                /* a whole segment of skipped groups: close it before opening the next */
                pthread_mutex_unlock(&c->mu);
                seg_close(f);
                pthread_mutex_lock(&c->mu);
                continue;
            }
        }
        if (c->next_seg >= c->n_paths)
            break;
        seg_where_t where;
        memset(&where, 0, sizeof where);
        seg_file_t *f;
        int rc = seg_open(c->paths[c->next_seg++], &f, &where);
        if (seg_open_gone(rc, &where)) {
            /* removed since the listing (expire runs beside readers), or a dangling link:
             * said at the end */
            if (seg_path_dangling(c->paths[c->next_seg - 1]) && !c->n_dangling++)
                c->first_dangling = c->next_seg - 1;
            continue;
        }
        cat_seg_t *s = rc == 0 ? calloc(1, sizeof *s) : NULL;
        if (!s) {
            if (rc == 0) {
                seg_close(f);
                cat_where_nomem(&where, c->paths[c->next_seg - 1]);
                rc = -SEG_E_NOMEM;
            }
            cat_fail_locked(c, rc, &where);
            break;
        }
        s->f = f;
        s->refs = 1; /* the cursor's */
        c->cur = s;
        c->cur_group = 0;
        c->cur_groups = seg_n_groups(f);
    }
    c->inflight[me] = UINT64_MAX;
    pthread_cond_broadcast(&c->cv);
    return -1;
}

/* Filters and formats one row group, and writes it when its turn comes. */
static void cat_group(cat_ctx_t *c, int me, const cat_item_t *it, seg_batch_t *b,
                      flt_scratch_t *s, uint32_t **rows, uint32_t *rows_cap, cat_out_t *o)
{
    seg_file_t *f = it->seg->f;
    uint32_t g = it->group;
    seg_where_t where;
    memset(&where, 0, sizeof where);
    seg_group_info_t gi;
    seg_group(f, g, &gi);
    __atomic_fetch_add(&c->groups, 1, __ATOMIC_RELAXED);
    if (gi.n_rows == 0 || gi.time_min >= c->to || gi.time_max < c->from ||
        !flt_want(c->flt, f, g)) {
        __atomic_fetch_add(&c->groups_skipped, 1, __ATOMIC_RELAXED);
        return;
    }
    if (*rows_cap < gi.n_rows) {
        uint32_t *r = realloc(*rows, (size_t)gi.n_rows * sizeof *r);
        if (!r) {
            cat_where_nomem(&where, seg_file_path(f));
            cat_fail(c, -SEG_E_NOMEM, &where);
            return;
        }
        *rows = r;
        *rows_cap = gi.n_rows;
    }
    int rc;
    if ((rc = seg_batch_open(b, f, g, &where)) != 0) {
        cat_fail(c, rc, &where);
        return;
    }
    int k = flt_select(c->flt, s, b, *rows, &where);
    __atomic_fetch_add(&c->rows_scanned, gi.n_rows, __ATOMIC_RELAXED);
    if (k < 0) {
        cat_fail(c, k, &where);
        return;
    }
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(
            &c->progress, "cat: %llu of %d segments, %llu rows scanned",
            (unsigned long long)__atomic_load_n(&c->segs_done, __ATOMIC_RELAXED), c->n_paths,
            (unsigned long long)__atomic_load_n(&c->rows_scanned, __ATOMIC_RELAXED));
    if (k == 0)
        return;
    /* only the selected rows are printed: the other columns need only them in place */
    seg_batch_restrict(b, *rows, (uint32_t)k);
    for (int col = 0; col < FLOW_N_COLS; col++)
        if (((c->cols >> col) & 1) && !((b->loaded >> col) & 1) &&
            (rc = seg_batch_load(b, col, &where)) != 0)
            break;
    if (rc != 0) {
        cat_fail(c, rc, &where);
        return;
    }
    if ((rc = cat_format_group(c, c->en[me], b, (uint32_t)k, o)) != 0) {
        cat_where_nomem(&where, seg_file_path(f));
        cat_fail(c, rc, &where);
        return;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->stop && !cat_turn(c, me, it->seq))
        pthread_cond_wait(&c->cv, &c->mu);
    if (!c->stop)
        cat_emit(c, o);
    pthread_mutex_unlock(&c->mu);
}

static void *cat_worker(void *arg)
{
    cat_worker_t *wk = arg;
    cat_ctx_t *c = wk->c;
    seg_batch_t b;
    flt_scratch_t s;
    uint32_t *rows = NULL, rows_cap = 0;
    cat_out_t o;
    memset(&o, 0, sizeof o);
    seg_batch_init(&b);
    flt_scratch_init(&s);
    cat_item_t it = {NULL, 0, 0};
    for (;;) {
        seg_file_t *done = NULL;
        pthread_mutex_lock(&c->mu);
        if (it.seg)
            done = cat_seg_unref(c, it.seg);
        it.seg = NULL;
        int rc = cat_claim(c, wk->id, &it);
        pthread_mutex_unlock(&c->mu);
        seg_close(done);
        if (rc != 0)
            break;
        cat_group(c, wk->id, &it, &b, &s, &rows, &rows_cap, &o);
    }
    seg_batch_free(&b);
    flt_scratch_free(&s);
    free(rows);
    free(o.buf);
    free(o.ends);
    free(o.keys);
    return NULL;
}

/* ---- the command --------------------------------------------------------------------------- */

static void cat_usage(FILE *f)
{
    fprintf(f, "usage: flowhunt cat DIR [--from T] [--to T] [--format csv|json|text] [--limit N]\n"
               "                    [--sort start|end] [--fields COLS] [-f FILE] [--intel FEED]\n"
               "                    [--geoip FILE] [--asn FILE] [-v] [FILTER]\n"
               "\n"
               "Prints the stored flows of data directory DIR that overlap the window [--from,\n"
               "--to) and match FILTER, in the order stored: segment by segment (by time, then\n"
               "collector), within one as exported (flows end in about that order), or by time\n"
               "with --sort. Counters are as exported; the sampling column gives the rate to\n"
               "correct them by.\n"
               "\n"
               "  --from T, --to T   ISO 8601, UTC unless it gives an offset (2024-03-01T12:00Z,\n"
               "                     2024-03-01T14:00+02:00, 2024-03-01), or relative to now\n"
               "                     (-24h, -7d, -30m); default: everything\n"
               "  --format FMT       csv (default: the columns and header of flowhuntd --print\n"
               "                     csv), json (one object a line), text (an aligned table)\n"
               "  --limit N          stop after N flows (with --sort: the first N in that order)\n"
               "  --sort start|end   print in order of the flows' start (or end) time, ties in\n"
               "                     stored order (nfdump -O tstart); the whole output is held\n"
               "                     to sort it, up to 1 GiB of lines (beyond: refused, exit 2)\n"
               "  --fields COLS      csv and json: only these columns, in this order, named as\n"
               "                     the CSV header names them (src_addr,dst_port,bytes); only\n"
               "                     they are read (SiLK's rwcut --fields, nfdump's -o fmt:)\n"
               "  --geoip FILE       a MaxMind City or Country database: src_country and\n"
               "                     dst_country (ISO 3166 codes) after every column, or where\n"
               "                     --fields names them\n"
               "  --asn FILE         a MaxMind ASN database: src_asn, dst_asn, src_as_org,\n"
               "                     dst_as_org the same way (nfdump -G); unknown: an empty\n"
               "                     CSV cell, JSON null\n"
               "  -f, --filter-file FILE  the filter in a file (nfdump -f): '#' starts a\n"
               "                     comment, lines join; with a FILTER too, a flow must match\n"
               "                     both (a feed of indicators: dst ip in [ ... ])\n"
               "  --intel FEED       only flows from or to an address or network of a\n"
               "                     threat-intel feed (plain list, CSV, Zeek Intel, MISP JSON,\n"
               "                     STIX 2.1, as flowhunt hunt --intel reads them; repeat for\n"
               "                     several); indicators' ports and validity are not applied\n"
               "                     (the hunt's intel findings apply them); --fields\n"
               "                     src_intel,dst_intel: the indicator each end matched, as\n"
               "                     FEED:INDICATOR DESCRIPTION (empty, JSON null: none)\n"
               "  -v, --verbose      the scan's summary on stderr\n"
               "\n"
               "FILTER (nfdump's language): src|dst|host ADDR, [src|dst] net CIDR\n"
               "(10.0/16: 10.0.0.0/16), [src|dst] port [CMP] N, proto NAME|N (tcp, udp, icmp,\n"
               "icmp6, gre, esp, ... every name nfdump knows), flags FSRPAU (all flags set),\n"
               "packets|bytes|duration CMP N (duration in ms; k, M, G = 10^3, 10^6, 10^9),\n"
               "[src|dst] as [CMP] N, exporter ADDR, ipv4|inet, ipv6|inet6, and, or, not, ( );\n"
               "CMP is =, <, >, <=, >=.\n"
               "Lists: [src|dst] ip|host|net in [ADDR CIDR ...], [src|dst] port|as in [N ...]\n"
               "(spaces or commas between items; thousands are as fast as one). Absent fields\n"
               "compare as 0; a flow without both times lasts 0. An IPv6 net around\n"
               "::ffff:0:0/96 (::/0, ::/1) holds IPv6\n"
               "addresses only; one inside it (::ffff:10.0.0.0/104) is IPv4.\n"
               "Example: flowhunt cat /data dst port 53 and not net 10.0.0.0/8\n"
               "\n"
               "Exit status: 0 success, 2 usage or the directory could not be read.\n");
}

int cmd_cat(int argc, char **argv)
{
    static const struct option opts[] = {CMD_READ_LONGOPTS,
                                         CMD_INTEL_LONGOPT,
                                         {"format", required_argument, NULL, 'o'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {"fields", required_argument, NULL, 'F'},
                                         {"sort", required_argument, NULL, 'S'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         CMD_CTX_LONGOPTS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    cmd_read_args_t ra = {0};
    flow_print_sel_t sel;
    const char *fields = NULL;
    cmd_ctx_args_t xa = {0};
    cat_ctx_t c;
    memset(&c, 0, sizeof c);
    c.fmt = CAT_CSV;
    c.sort_col = -1;
    int opt, verbose = 0;
    optind = 1;
    while ((opt = cmd_getopt("flowhunt cat", argc, argv, ":hvf:", opts)) != -1) {
        switch (opt) {
        case 'v':
            verbose = 1;
            break;
        case 'o': {
            static const char *const fmts[] = {"csv", "json", "text"}; /* cat_fmt_t */
            int f = cmd_choice("flowhunt cat", "--format", optarg, fmts, 3);
            if (f < 0)
                return CMD_USAGE;
            c.fmt = (cat_fmt_t)f;
            break;
        }
        case 'l': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v == 0) {
                fprintf(stderr, "flowhunt cat: --limit takes a positive number, not '%s'\n",
                        optarg);
                return CMD_USAGE;
            }
            c.limit = v;
            break;
        }
        case 'F':
            fields = optarg;
            break;
        case 'S': {
            static const char *const keys[] = {"start", "end"};
            int k = cmd_choice("flowhunt cat", "--sort", optarg, keys, 2);
            if (k < 0)
                return CMD_USAGE;
            c.sort_col = k == 0 ? FLOW_COL_time_start : FLOW_COL_time_end;
            break;
        }
        case 'h':
            cat_usage(stdout);
            return CMD_OK;
        default:
            if (cmd_read_opt(opt, optarg, &ra) || cmd_ctx_opt(opt, optarg, &xa))
                break;
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    const char *dir;
    ti_db_t *intel = NULL; /* the --intel feeds, kept while a column reads them */
    if (cmd_dir_filter("flowhunt cat", argc, argv, optind, &ra, &dir, &c.flt, &c.from, &c.to,
                       &intel) != 0)
        return CMD_USAGE;
    c.intel = intel;

    int has_ctx = 0;   /* sel holds --geoip / --asn columns (cat_ctx_names) */
    int has_intel = 0; /* and --intel's */
    if (fields || xa.geoip || xa.asn) {
        char err[1024];
        if (c.fmt == CAT_TEXT) {
            fprintf(stderr, "flowhunt cat: --fields, --geoip and --asn are for --format csv and "
                            "json (text has its own columns)\n");
            flt_free(c.flt);
            ti_free(c.intel);
            return CMD_USAGE;
        }
        if (fields &&
            flow_print_sel_parse(fields, cat_ctx_names, CAT_N_X, &sel, err, sizeof err) != 0) {
            fprintf(stderr, "flowhunt cat: --fields: %s\n", err);
            flt_free(c.flt);
            ti_free(c.intel);
            return CMD_USAGE;
        }
        if (!fields) {
            /* every column, then the context the databases given can say */
            sel.n = 0;
            for (int i = 0; i < FLOW_N_COLS; i++)
                sel.col[sel.n++] = (uint8_t)i;
            for (int k = 0; k < 2 * EN_N_CELLS; k++)
                if (k / 2 == EN_CELL_COUNTRY ? xa.geoip != NULL : xa.asn != NULL)
                    sel.col[sel.n++] = (uint8_t)(FLOW_N_COLS + k);
        }
        c.sel = &sel;
        for (int i = 0; i < sel.n; i++) {
            int col = sel.col[i];
            if (col < FLOW_N_COLS) {
                c.cols |= (uint64_t)1 << col;
                continue;
            }
            if (col - FLOW_N_COLS >= CAT_X_INTEL) {
                if (!c.intel) {
                    fprintf(stderr, "flowhunt cat: --fields %s needs --intel FEED\n",
                            cat_ctx_names[col - FLOW_N_COLS]);
                    flt_free(c.flt);
                    return CMD_USAGE;
                }
                /* what cat_format_intel matches with */
                has_intel = 1;
                c.cols |= FLOW_BIT(src_addr) | FLOW_BIT(dst_addr) | FLOW_BIT(src_port) |
                          FLOW_BIT(dst_port) | FLOW_BIT(proto) | FLOW_BIT(time_start) |
                          FLOW_BIT(time_end);
                continue;
            }
            int what = (col - FLOW_N_COLS) / 2;
            if (what == EN_CELL_COUNTRY ? !xa.geoip : !xa.asn) {
                fprintf(stderr, "flowhunt cat: --fields %s needs %s\n",
                        cat_ctx_names[col - FLOW_N_COLS],
                        what == EN_CELL_COUNTRY ? "--geoip" : "--asn");
                flt_free(c.flt);
                ti_free(c.intel);
                return CMD_USAGE;
            }
            has_ctx = 1;
            c.cols |= FLOW_BIT(src_addr) | FLOW_BIT(dst_addr);
        }
        if ((xa.geoip || xa.asn) && !has_ctx) {
            /* a database no column reads would go unchecked and unused: a forgotten name */
            fprintf(stderr,
                    "flowhunt cat: --geoip and --asn give the columns %s, %s, ...; "
                    "--fields names none of them\n",
                    cat_ctx_names[0], cat_ctx_names[1]);
            flt_free(c.flt);
            ti_free(c.intel);
            return CMD_USAGE;
        }
    } else if (c.fmt == CAT_TEXT)
        c.cols = FLOW_BIT(time_start) | FLOW_BIT(time_end) | FLOW_BIT(proto) | FLOW_BIT(src_addr) |
                 FLOW_BIT(dst_addr) | FLOW_BIT(src_port) | FLOW_BIT(dst_port) |
                 FLOW_BIT(tcp_flags) | FLOW_BIT(packets) | FLOW_BIT(bytes) | FLOW_BIT(sampling);
    else
        c.cols = FLOW_N_COLS == 64 ? UINT64_MAX : ((uint64_t)1 << FLOW_N_COLS) - 1;
    if (!has_intel) { /* the feeds selected the flows; no column names them */
        ti_free(c.intel);
        c.intel = NULL;
    }

    if (c.sort_col >= 0) {
        c.cols |= (uint64_t)1 << c.sort_col; /* the key, printed or not */
        const char *m = getenv("FH_SORT_MAX_BYTES");
        unsigned long long v = m ? strtoull(m, NULL, 10) : 0;
        c.sorted.max = v && v < CAT_SORT_MAX_BYTES ? (size_t)v : CAT_SORT_MAX_BYTES;
    }
    int n_workers = cmd_workers();
    if (n_workers > CAT_MAX_WORKERS)
        n_workers = CAT_MAX_WORKERS;
    /* the databases, one context a worker (lookups cache per context): the first opening
     * checks the files (a bad one is exit 2 before any flow is read), the others trust it */
    for (int w = 0; has_ctx && w < n_workers; w++) {
        char err[512];
        en_opts_t eo = {
            .geoip = xa.geoip, .asn = xa.asn, .warn = w ? NULL : stderr, .no_checks = w > 0};
        if (!(c.en[w] = en_open_opts(&eo, err, sizeof err))) {
            fprintf(stderr, "flowhunt cat: %s\n", err);
            cat_en_close(&c);
            flt_free(c.flt);
            ti_free(c.intel);
            return CMD_USAGE;
        }
    }

    c.n_paths = seg_dir_list(dir, c.from, c.to, &c.paths);
    if (c.n_paths < 0) {
        fprintf(stderr, "flowhunt cat: %s: cannot list the segments: %s\n", dir,
                seg_strerror(c.n_paths));
        cat_en_close(&c);
        flt_free(c.flt);
        ti_free(c.intel);
        return CMD_USAGE;
    }
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    cmd_progress_init(&c.progress, 1);

    /* the header now, or with --sort once the sort holds (a refused sort prints nothing) */
    if (c.sort_col < 0)
        cat_header(&c);

    c.n_workers = n_workers;
    for (int w = 0; w < CAT_MAX_WORKERS; w++)
        c.inflight[w] = UINT64_MAX;
    cat_worker_t wk[CAT_MAX_WORKERS];
    for (int w = 0; w < n_workers; w++)
        wk[w] = (cat_worker_t){&c, w};
    /* a worker whose thread did not start runs after the others: it claims nothing, and
     * holding no item it never delays another's turn */
    cmd_par(cat_worker, wk, sizeof wk[0], n_workers);
    if (c.cur) /* a stop leaves the cursor's reference */
        seg_close(cat_seg_unref(&c, c.cur));
    cmd_progress_done(&c.progress);

    int status = CMD_OK;
    if (c.sort_col >= 0 && c.sorted.full) {
        fprintf(stderr,
                "flowhunt cat: --sort keeps the whole output to sort it, and it passed %zu "
                "bytes (or memory ran out): narrow the window or the filter\n",
                c.sorted.max);
        status = CMD_USAGE;
    } else if (c.sort_col >= 0 && !c.err) {
        cat_write_sorted(&c);
    }
    if (fflush(stdout) != 0 || c.write_failed) {
        /* a closed pipe (| head) is how a reader says it has enough: not an error */
        if (c.write_failed != EPIPE && errno != EPIPE) {
            fprintf(stderr, "flowhunt cat: writing the output: %s\n",
                    strerror(c.write_failed ? c.write_failed : errno));
            status = CMD_USAGE;
        }
    }
    if (verbose)
        fprintf(stderr,
                "flowhunt cat: %llu flows printed; %llu rows scanned; %llu of %llu row groups "
                "skipped by time or zone maps; %d segments\n",
                (unsigned long long)c.printed, (unsigned long long)c.rows_scanned,
                (unsigned long long)c.groups_skipped, (unsigned long long)c.groups, c.n_paths);
    if (c.n_dangling)
        cmd_warn_dangling("flowhunt cat", dir, c.paths[c.first_dangling], c.n_dangling);
    if (c.err) {
        cmd_print_where(stderr, "flowhunt cat", c.err, &c.where);
        fprintf(stderr,
                "flowhunt cat: stopped; `flowhunt verify %s` lists every damaged "
                "segment\n",
                dir);
        status = CMD_USAGE;
    }
    free(c.sorted.buf);
    free(c.sorted.lines);
    pthread_mutex_destroy(&c.mu);
    pthread_cond_destroy(&c.cv);
    seg_dir_list_free(c.paths, c.n_paths);
    cat_en_close(&c);
    flt_free(c.flt);
    ti_free(c.intel);
    return status;
}
