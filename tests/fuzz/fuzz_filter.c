/* fuzz_filter.c: the filter language (analyzer/filter.c) on arbitrary text.
 *
 * The input is a filter as a command line or a filter file (-f) gives it, cut at 64 KiB. When
 * it parses, its tree is described; it is evaluated column-wise on a fixed batch of flows
 * (IPv4 and IPv6, absent fields, edge values) and compared row by row with the one-record
 * reference; and it is judged on the batch's zone maps, which may skip the batch only when no
 * row matches. Then the same on the row groups of the repository's golden segments, read with
 * nothing decoded, so that address terms take the dictionary path (flt_eval_addr_codes) over
 * LINKED pairs and presence bitmaps (skipped where the fuzzer does not run from the
 * repository's root). Any result is fine except a crash, a hang, a leak, an over-read, or
 * those disagreeing.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "fuzz/fuzz.h"

#define FF_ROWS 8

typedef struct ff_batch {
    flow_rec_t recs[FF_ROWS];
    seg_batch_t b;
    uint8_t vals[FLOW_N_COLS][FF_ROWS * 16];
    uint8_t pres[FLOW_N_COLS][FF_ROWS];
    int known[FLOW_N_COLS];
    uint8_t min[FLOW_N_COLS][16], max[FLOW_N_COLS][16];
    uint8_t ports[2][SEG_PORT_BUCKET_BYTES];
} ff_batch_t;

static int ff_cmp(int c, const uint8_t *a, const uint8_t *b)
{
    if (flow_cols[c].type == FLOW_T_ADDR)
        return memcmp(a, b, 16);
    uint64_t x = 0, y = 0;
    memcpy(&x, a, flow_cols[c].width); /* little-endian host */
    memcpy(&y, b, flow_cols[c].width);
    return x < y ? -1 : x > y;
}

/* Flows whose fields sit on the edges the language compares against. */
static void ff_build(ff_batch_t *t)
{
    static const char *const addrs[FF_ROWS] = {"10.0.0.1",    "0.0.0.0",     "255.255.255.255",
                                               "::",          "2001:db8::1", "fe80::1",
                                               "192.168.1.1", "10.0.0.255"};
    static const uint16_t ports[FF_ROWS] = {0, 22, 53, 443, 1337, 32768, 60999, 65535};
    static const uint64_t counts[FF_ROWS] = {0, 1, 999, 1000, 1001, 1000000, UINT64_MAX, 10};
    memset(t, 0, sizeof *t);
    for (int i = 0; i < FF_ROWS; i++) {
        flow_rec_t *r = &t->recs[i];
        flow_addr_t a;
        flow_rec_clear(r);
        FLOW_SET(r, time_start, 1700000000000ull + 1000ull * (uint64_t)i);
        FLOW_SET(r, time_end, 1700000000000ull + 7000ull * (uint64_t)i * (uint64_t)i);
        flow_addr_parse(&a, addrs[i]);
        FLOW_SET(r, src_addr, a);
        flow_addr_parse(&a, addrs[(i + 3) % FF_ROWS]);
        if (i != 5)
            FLOW_SET(r, dst_addr, a);
        FLOW_SET(r, src_port, ports[i]);
        if (i % 3)
            FLOW_SET(r, dst_port, ports[(i * 5) % FF_ROWS]);
        FLOW_SET(r, proto, (uint8_t)(i % 2 ? 6 : 17));
        FLOW_SET(r, tcp_flags, (uint8_t)(i * 9));
        FLOW_SET(r, packets, counts[i]);
        if (i != 2)
            FLOW_SET(r, bytes, counts[(i + 1) % FF_ROWS]);
        if (i % 4)
            FLOW_SET(r, src_as, (uint32_t)(i * 16128));
        flow_addr_parse(&a, i % 2 ? "192.0.2.1" : "192.0.2.2");
        FLOW_SET(r, exporter, a);
    }
    t->b.n_rows = FF_ROWS;
    for (int c = 0; c < FLOW_N_COLS; c++) {
        size_t w = flow_cols[c].width;
        int all = 1;
        for (int i = 0; i < FF_ROWS; i++) {
            const uint8_t *v = (const uint8_t *)&t->recs[i] + flow_cols[c].offset;
            t->pres[c][i] = (t->recs[i].present >> c) & 1;
            all &= t->pres[c][i];
            if (!t->pres[c][i])
                continue;
            memcpy(t->vals[c] + (size_t)i * w, v, w);
            if (!t->known[c] || ff_cmp(c, v, t->min[c]) < 0)
                memcpy(t->min[c], v, w);
            if (!t->known[c] || ff_cmp(c, v, t->max[c]) > 0)
                memcpy(t->max[c], v, w);
            t->known[c] = 1;
            if (c == FLOW_COL_src_port || c == FLOW_COL_dst_port) {
                uint16_t port;
                memcpy(&port, v, 2);
                seg_port_bucket_set(t->ports[c == FLOW_COL_dst_port], port);
            }
        }
        t->b.vals[c] = t->vals[c];
        t->b.present[c] = all ? NULL : t->pres[c];
        t->b.loaded |= (uint64_t)1 << c;
    }
}

static int ff_zone(void *arg, int col, void *min, void *max)
{
    const ff_batch_t *t = arg;
    if (!t->known[col])
        return 0;
    memcpy(min, t->min[col], flow_cols[col].width);
    memcpy(max, t->max[col], flow_cols[col].width);
    return t->b.present[col] == NULL ? 2 : 1;
}

static int ff_ports(void *arg, int col, uint8_t bits[SEG_PORT_BUCKET_BYTES])
{
    const ff_batch_t *t = arg;
    if (!t->known[col])
        return 0;
    memcpy(bits, t->ports[col == FLOW_COL_dst_port], SEG_PORT_BUCKET_BYTES);
    return 1;
}

/* The golden segments' row groups, each with its rows as records (a full load's). */
#define FF_SEGS 2
typedef struct ff_stored {
    seg_file_t *file[FF_SEGS];
    flow_rec_t *recs[FF_SEGS][64]; /* per group */
    uint32_t n_rows[FF_SEGS][64];
    uint32_t n_groups[FF_SEGS];
    uint32_t *rows; /* room for the largest group */
    seg_batch_t b;
} ff_stored_t;

static void ff_stored_open(ff_stored_t *st)
{
    static const char *const paths[FF_SEGS] = {"tests/golden/seg_v1_small.seg",
                                               "tests/golden/seg_v1_linked.seg"};
    memset(st, 0, sizeof *st);
    seg_batch_init(&st->b);
    uint32_t max_rows = 0;
    for (int p = 0; p < FF_SEGS; p++) {
        seg_where_t where;
        if (seg_open(paths[p], &st->file[p], &where) != 0) {
            st->file[p] = NULL;
            continue;
        }
        uint32_t ng = seg_n_groups(st->file[p]);
        st->n_groups[p] = ng < 64 ? ng : 64;
        for (uint32_t g = 0; g < st->n_groups[p]; g++) {
            if (seg_batch_open(&st->b, st->file[p], g, &where) != 0)
                __builtin_trap();
            for (int c = 0; c < FLOW_N_COLS; c++)
                if (seg_batch_load(&st->b, c, &where) != 0)
                    __builtin_trap();
            st->n_rows[p][g] = st->b.n_rows;
            if (st->b.n_rows > max_rows)
                max_rows = st->b.n_rows;
            st->recs[p][g] = malloc(((size_t)st->b.n_rows + 1) * sizeof(flow_rec_t));
            if (!st->recs[p][g])
                __builtin_trap();
            for (uint32_t i = 0; i < st->b.n_rows; i++)
                seg_batch_row(&st->b, i, &st->recs[p][g][i]);
        }
    }
    if (!(st->rows = malloc(((size_t)max_rows + 1) * sizeof *st->rows)))
        __builtin_trap();
}

/* f on every stored group, read afresh, against the reference row by row. */
static void ff_stored_check(ff_stored_t *st, const flt_t *f, flt_scratch_t *s)
{
    uint32_t *rows = st->rows;
    for (int p = 0; p < FF_SEGS; p++)
        for (uint32_t g = 0; st->file[p] && g < st->n_groups[p]; g++) {
            seg_where_t where;
            if (seg_batch_open(&st->b, st->file[p], g, &where) != 0)
                __builtin_trap();
            int k = flt_select(f, s, &st->b, rows, &where);
            if (k < 0)
                __builtin_trap();
            uint32_t j = 0;
            for (uint32_t i = 0; i < st->n_rows[p][g]; i++) {
                int got = j < (uint32_t)k && rows[j] == i;
                if (flt_match_rec(f, &st->recs[p][g][i]) != got)
                    __builtin_trap();
                j += (uint32_t)got;
            }
        }
}

int fuzz_filter_one(const uint8_t *data, size_t size);
int fuzz_filter_one(const uint8_t *data, size_t size)
{
    static ff_batch_t *t;
    static ff_stored_t *st;
    if (!t) {
        t = malloc(sizeof *t);
        st = malloc(sizeof *st);
        if (!t || !st)
            __builtin_trap();
        ff_build(t);
        ff_stored_open(st);
    }
    if (size > 65536)
        size = 65536;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0'; /* a NUL inside ends the filter, as it would a command line's */
    flt_t *f;
    flt_error_t err;
    int rc = flt_parse(text, &f, &err);
    free(text);
    if (rc != 0) {
        if (rc == -1 && (err.msg[0] == '\0' || err.pos > size))
            __builtin_trap(); /* a syntax error always says what and where */
        return 0;
    }
    char desc[512];
    flt_describe(f, desc, sizeof desc);
    flt_scratch_t s;
    flt_scratch_init(&s);
    uint32_t rows[FF_ROWS];
    seg_where_t where;
    int k = flt_select(f, &s, &t->b, rows, &where);
    if (k < 0 || k > FF_ROWS)
        __builtin_trap();
    int j = 0, any = 0;
    for (uint32_t i = 0; i < FF_ROWS; i++) {
        int want = flt_match_rec(f, &t->recs[i]);
        int got = j < k && rows[j] == i;
        if (want != got)
            __builtin_trap();
        j += got;
        any |= want;
    }
    flt_zone_src_t zs = {ff_zone, ff_ports, t};
    if (any && !flt_want_zones(f, &zs))
        __builtin_trap();
    ff_stored_check(st, f, &s);
    flt_scratch_free(&s);
    flt_free(f);
    return 0;
}

FUZZ_ENTRY(filter)
