/* test_seg.c: segment files (storage/FORMAT.md): the writer, the reader, the directory, the
 * scan.
 *
 * Round trips compare every field of every record written with what comes back; the golden
 * segments of format version 1 (tests/golden/seg_v1_*.seg, with their expected rows in
 * seg_v1_*.txt) must read forever; every byte of a small segment flipped and every truncation
 * must give a named error, read from guard-page copies so an over-read faults; a writer killed
 * with SIGKILL must lose no flow it reported durable; a full disk is simulated through the
 * writer's write seam. FH_REGEN_GOLDEN=1 rewrites the golden segments and the fuzz corpus
 * (test seg_golden_v1), which should only ever happen for a new format version.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "flow_print.h"
#include "seg.h"
#include "seg_enc.h"
#include "seg_int.h"
#include "task.h"

#define T_BASE_MS 1709251200000ull /* 2024-03-01T00:00:00Z */

/* ---- helpers ----------------------------------------------------------------------------- */

static uint64_t t_rng(uint64_t *s)
{
    /* splitmix64: deterministic on every platform */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void t_addr(flow_addr_t *a, uint64_t *rng, int v6)
{
    uint64_t r = t_rng(rng);
    if (v6) {
        uint64_t r2 = t_rng(rng);
        memcpy(a->b, &r, 8);
        memcpy(a->b + 8, &r2, 8);
        a->b[0] = 0x20;
        a->b[1] = 0x01;
    } else {
        flow_addr_from_v4(a, (uint32_t)(0x0a000000u | (r & 0xffff)));
    }
}

/* Flow i of a stream: conversations of a request and a swapped response a few rows later,
 * IPv4 and IPv6 mixed, optional fields present at random, and every 37th flow an edge case
 * (zero and maximum counters, extreme times and ports). The packets field is the flow's id
 * (unique, so a reader can tell which flows came back) unless `edges` replaces it. */
typedef struct t_gen {
    uint64_t rng;
    uint64_t t;
    flow_rec_t pending[8]; /* responses waiting their turn */
    int n_pending;
    uint64_t next_id;
    int edges;
} t_gen_t;

static void t_gen_init(t_gen_t *g, uint64_t seed, int edges)
{
    memset(g, 0, sizeof *g);
    g->rng = seed;
    g->t = T_BASE_MS;
    g->edges = edges;
}

static void t_gen_next(t_gen_t *g, flow_rec_t *r)
{
    uint64_t x = t_rng(&g->rng);
    g->t += x % 5;
    uint64_t id = g->next_id++;
    if (g->n_pending && (x >> 8) % 3 == 0) {
        /* a response: the request swapped, its own counters */
        *r = g->pending[0];
        memmove(&g->pending[0], &g->pending[1], (size_t)--g->n_pending * sizeof *r);
        FLOW_SET(r, time_end, g->t);
        FLOW_SET(r, packets, id);
        FLOW_SET(r, bytes, (x >> 20) % 100000);
        return;
    }
    flow_rec_clear(r);
    uint64_t dur = (x >> 12) % 4 == 0 ? 0 : (x >> 16) % 60000;
    FLOW_SET(r, time_start, g->t - (dur < g->t ? dur : 0));
    FLOW_SET(r, time_end, g->t);
    int v6 = (x >> 24) % 10 == 0;
    flow_addr_t a;
    t_addr(&a, &g->rng, v6);
    FLOW_SET(r, src_addr, a);
    t_addr(&a, &g->rng, v6);
    FLOW_SET(r, dst_addr, a);
    FLOW_SET(r, src_port, (uint16_t)(32768 + (x >> 28) % 28000));
    static const uint16_t wk[] = {53, 443, 80, 123, 22, 1337};
    FLOW_SET(r, dst_port, wk[(x >> 40) % 6]);
    FLOW_SET(r, proto, (uint8_t)((x >> 44) % 2 ? 6 : 17));
    FLOW_SET(r, tcp_flags, (uint8_t)((x >> 46) & 0x1b));
    FLOW_SET(r, packets, id);
    FLOW_SET(r, bytes, (x >> 30) % 1000000);
    flow_addr_t ex;
    flow_addr_from_v4(&ex, 0xc0000201u + (uint32_t)((x >> 50) % 2));
    FLOW_SET(r, exporter, ex);
    FLOW_SET(r, sampling, 1);
    if ((x >> 52) % 4) {
        FLOW_SET(r, in_if, (uint32_t)((x >> 54) % 8));
        FLOW_SET(r, out_if, (uint32_t)((x >> 57) % 8));
        FLOW_SET(r, src_mask, 24);
        FLOW_SET(r, dst_mask, 16);
    }
    if ((x >> 60) % 4 == 0)
        FLOW_SET(r, src_as, (uint32_t)(x % 70000));
    if ((x >> 61) % 4 == 0) {
        t_addr(&a, &g->rng, 0);
        FLOW_SET(r, nat_src_addr, a);
        FLOW_SET(r, nat_src_port, (uint16_t)x);
    }
    if (g->n_pending < 8 && (x >> 62)) {
        /* its response comes later */
        flow_rec_t *q = &g->pending[g->n_pending++];
        *q = *r;
        q->src_addr = r->dst_addr;
        q->dst_addr = r->src_addr;
        q->src_port = r->dst_port;
        q->dst_port = r->src_port;
        q->in_if = r->out_if;
        q->out_if = r->in_if;
        q->src_mask = r->dst_mask;
        q->dst_mask = r->src_mask;
    }
    if (g->edges && id % 37 == 5) {
        /* edge values: all in the same flow so links and zones see them too */
        switch ((id / 37) % 4) {
        case 0:
            FLOW_SET(r, bytes, UINT64_MAX);
            FLOW_SET(r, packets, UINT64_MAX);
            FLOW_SET(r, rev_bytes, 0);
            FLOW_SET(r, sampling, UINT32_MAX);
            FLOW_SET(r, src_port, 65535);
            FLOW_SET(r, proto, 255);
            break;
        case 1:
            FLOW_SET(r, bytes, 0);
            FLOW_SET(r, packets, 0);
            FLOW_SET(r, src_port, 0);
            FLOW_SET(r, dst_port, 0);
            memset(&a, 0, sizeof a);
            FLOW_SET(r, src_addr, a);
            memset(&a, 0xff, sizeof a);
            FLOW_SET(r, dst_addr, a);
            break;
        case 2:
            /* an exporter whose clock ran backwards, and times at the ends of the range */
            FLOW_SET(r, time_start, UINT64_MAX);
            FLOW_SET(r, time_end, 1);
            break;
        default:
            /* no times, no addresses: a record the decoders would never make, still stored */
            r->present &= ~(FLOW_BIT(time_start) | FLOW_BIT(time_end) | FLOW_BIT(src_addr));
            r->time_start = r->time_end = 0;
            memset(&r->src_addr, 0, sizeof r->src_addr);
            FLOW_SET(r, vlan, 4095);
            FLOW_SET(r, rev_packets, UINT64_MAX - 1);
            break;
        }
    }
}

static void t_rec_eq(const flow_rec_t *a, const flow_rec_t *b, size_t row)
{
    if (a->present != b->present)
        TEST_FAIL_AT("row %zu: presence 0x%llx != 0x%llx", row, (unsigned long long)a->present,
                     (unsigned long long)b->present);
    for (int c = 0; c < FLOW_N_COLS; c++) {
        if (!((a->present >> c) & 1))
            continue;
        if (memcmp((const char *)a + flow_cols[c].offset, (const char *)b + flow_cols[c].offset,
                   flow_cols[c].width) != 0)
            TEST_FAIL_AT("row %zu: column %s differs", row, flow_cols[c].name);
    }
}

static const char *t_dir(const char *name)
{
    static char path[2][1024];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", test_tmpdir(), name);
    return path[k];
}

static seg_writer_t *t_writer(const char *dir, const char *instance, uint32_t group_rows,
                              uint32_t rotate_s)
{
    seg_writer_opts_t o = {.dir = dir,
                           .instance = instance,
                           .group_rows = group_rows,
                           .rotate_s = rotate_s,
                           .flush_ms = 60000};
    int err = 0;
    seg_writer_t *w = seg_writer_open(&o, &err);
    if (!w)
        TEST_FAIL_AT("seg_writer_open(%s): %s", dir, seg_err_name(err));
    return w;
}

/* Every row of every segment of a directory, in name order, each file verified. */
static flow_rec_t *t_read_dir(const char *dir, size_t *n_out, int *n_files)
{
    char **paths;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_GE(n, 0);
    size_t cap = 1024, len = 0;
    flow_rec_t *rows = malloc(cap * sizeof *rows);
    ASSERT_NOT_NULL(rows);
    seg_batch_t b;
    seg_batch_init(&b);
    for (int i = 0; i < n; i++) {
        seg_where_t wh;
        seg_file_t *f;
        int rc = seg_verify(paths[i], &wh);
        if (rc < 0)
            TEST_FAIL_AT("verify %s: %s at %llu", paths[i], seg_err_name(rc),
                         (unsigned long long)wh.offset);
        ASSERT_EQ(seg_open(paths[i], &f, &wh), 0);
        for (uint32_t g = 0; g < seg_n_groups(f); g++) {
            ASSERT_EQ(seg_batch_open(&b, f, g, &wh), 0);
            for (int c = 0; c < FLOW_N_COLS; c++)
                ASSERT_EQ(seg_batch_load(&b, c, &wh), 0);
            for (uint32_t r = 0; r < b.n_rows; r++) {
                if (len == cap) {
                    cap *= 2;
                    rows = realloc(rows, cap * sizeof *rows);
                    ASSERT_NOT_NULL(rows);
                }
                seg_batch_row(&b, r, &rows[len++]);
            }
        }
        seg_close(f);
    }
    seg_batch_free(&b);
    seg_dir_list_free(paths, n);
    *n_out = len;
    if (n_files)
        *n_files = n;
    return rows;
}

/* Writes n generated flows into dir (one interval), returns them. */
static flow_rec_t *t_write(const char *dir, uint64_t seed, size_t n, uint32_t group_rows, int edges)
{
    flow_rec_t *recs = malloc((n ? n : 1) * sizeof *recs);
    ASSERT_NOT_NULL(recs);
    t_gen_t g;
    t_gen_init(&g, seed, edges);
    seg_writer_t *w = t_writer(dir, "t", group_rows, 60);
    for (size_t i = 0; i < n; i++) {
        t_gen_next(&g, &recs[i]);
        ASSERT_EQ(seg_writer_add(w, &recs[i], T_BASE_MS), 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);
    return recs;
}

static void t_roundtrip(const char *name, uint64_t seed, size_t n, uint32_t group_rows)
{
    const char *dir = t_dir(name);
    flow_rec_t *recs = t_write(dir, seed, n, group_rows, 1);
    size_t got = 0;
    int files = 0;
    flow_rec_t *rows = t_read_dir(dir, &got, &files);
    ASSERT_EQ(got, n);
    ASSERT_EQ(files, n ? 1 : 0);
    for (size_t i = 0; i < n; i++)
        t_rec_eq(&recs[i], &rows[i], i);
    free(recs);
    free(rows);
}

/* The whole of a file. */
static uint8_t *t_slurp(const char *path, size_t *len)
{
    uint8_t *b = test_read_file(path, len);
    if (!b)
        TEST_FAIL_AT("cannot read %s", path);
    return b;
}

static void t_spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
}

/* The one segment of a directory written by t_write: its path. */
static const char *t_only_segment(const char *dir)
{
    static char path[4096];
    char **paths;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_EQ(n, 1);
    snprintf(path, sizeof path, "%s", paths[0]);
    seg_dir_list_free(paths, n);
    return path;
}

/* Opens a segment image from a guard-page copy and verifies it; returns the first error. */
static int t_check_image(const uint8_t *img, size_t len, seg_where_t *wh)
{
    uint8_t *g = test_guard_copy(img, len);
    seg_file_t *f;
    int rc = seg_open_mem(g, len, "image", &f, wh);
    if (rc == 0) {
        rc = seg_verify_file(f, wh);
        if (rc == 0) {
            /* Readers that load only some columns must be as safe as verify. */
            seg_batch_t b;
            seg_batch_init(&b);
            for (uint32_t gi = 0; gi < seg_n_groups(f) && rc == 0; gi++) {
                rc = seg_batch_open(&b, f, gi, wh);
                for (int c = FLOW_N_COLS - 1; c >= 0 && rc == 0; c--)
                    rc = seg_batch_load(&b, c, wh);
            }
            seg_batch_free(&b);
        }
        seg_close(f);
    }
    test_guard_free(g);
    return rc;
}

/* ---- primitives -------------------------------------------------------------------------- */

TEST_IMPL(seg_crc32c)
{
    ASSERT_UINT64_EQ(crc32c("123456789", 9), 0xE3069283u);
    ASSERT_UINT64_EQ(crc32c_update_sw(0, "123456789", 9), 0xE3069283u);
    ASSERT_UINT64_EQ(crc32c("", 0), 0);
    uint8_t buf[300];
    uint64_t rng = 7;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)t_rng(&rng);
    /* Both paths agree at every length and alignment, and chaining equals one call. */
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; off + len <= sizeof buf; len += 7) {
            uint32_t a = crc32c(buf + off, len);
            ASSERT_UINT64_EQ(a, crc32c_update_sw(0, buf + off, len));
            uint32_t half = crc32c(buf + off, len / 2);
            ASSERT_UINT64_EQ(crc32c_update(half, buf + off + len / 2, len - len / 2), a);
        }
    /* lengths around the hardware path's blocks (3 x 256 and 3 x 4096 bytes), where its three
     * chains are joined */
    size_t big_len = 3 * 4096 * 2 + 3 * 256 * 2 + 64;
    uint8_t *big = malloc(big_len);
    ASSERT_NOT_NULL(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)t_rng(&rng);
    static const size_t lens[] = {767,   768,   769,   775,         1536,
                                  1543,  12287, 12288, 12289,       12296,
                                  13056, 13063, 24576, 24576 + 768, 24576 + 1536 + 63};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        for (size_t off = 0; off < 2 && off + lens[i] <= big_len; off++) {
            uint32_t a = crc32c(big + off, lens[i]);
            ASSERT_UINT64_EQ(a, crc32c_update_sw(0, big + off, lens[i]));
        }
    free(big);
    return 0;
}

TEST_IMPL(seg_enc_run_lengths)
{
    /* the run of values equal to the first, whatever the width, wherever the first other
     * value falls: inside a 64-byte step, on its edge, in the tail, or nowhere */
    static const size_t widths[] = {1, 2, 4, 8, 16};
    static const uint32_t counts[] = {1, 3, 16, 63, 64, 65, 200, 1000};
    uint8_t buf[1000 * 16];
    for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
        for (size_t ci = 0; ci < sizeof counts / sizeof counts[0]; ci++) {
            size_t w = widths[wi];
            uint32_t n = counts[ci];
            for (uint32_t d = 1; d <= n; d++) { /* d == n: no other value */
                for (uint32_t i = 0; i < n; i++)
                    for (size_t b = 0; b < w; b++)
                        buf[i * w + b] = (uint8_t)(0xA5 ^ b);
                if (d < n)
                    buf[d * w + (d % w)] ^= 0x10; /* one byte of value d differs */
                uint32_t got = seg_enc_run(buf, w, n);
                if (got != d)
                    TEST_FAIL_AT("width %zu, %u values, first other at %u: run %u", w, n, d, got);
            }
        }
    ASSERT_EQ(seg_enc_run(buf, 4, 0), 0);
    return 0;
}

TEST_IMPL(seg_varint_and_encodings)
{
    static const uint64_t vals[] = {0,     1,          127,        128,        16383,
                                    16384, UINT32_MAX, UINT64_MAX, 1ull << 63, 300};
    size_t n = sizeof vals / sizeof vals[0];
    uint8_t buf[256];
    uint64_t out[16];
    size_t len = seg_enc_varint(buf, vals, 8, (uint32_t)n);
    ASSERT_EQ(seg_dec_varint(buf, len, (uint32_t)n, out), 0);
    ASSERT_MEM_EQ(out, vals, sizeof vals);
    /* exactly n values in exactly len bytes: one byte more or less is an error */
    ASSERT_EQ(seg_dec_varint(buf, len - 1, (uint32_t)n, out), -1);
    ASSERT_EQ(seg_dec_varint(buf, len, (uint32_t)n - 1, out), -1);
    /* an eleven-byte varint, and a ten-byte one past 64 bits */
    uint8_t over[11];
    memset(over, 0x80, sizeof over);
    over[10] = 0;
    ASSERT_EQ(seg_dec_varint(over, 11, 1, out), -1);
    memset(over, 0xff, 9);
    over[9] = 0x02;
    ASSERT_EQ(seg_dec_varint(over, 10, 1, out), -1);
    over[9] = 0x01;
    ASSERT_EQ(seg_dec_varint(over, 10, 1, out), 0);
    ASSERT_UINT64_EQ(out[0], UINT64_MAX);
    /* zigzag and deltas wrap around the whole range */
    for (size_t i = 0; i < n; i++)
        ASSERT_UINT64_EQ((uint64_t)seg_unzigzag(seg_zigzag((int64_t)vals[i])), vals[i]);
    len = seg_enc_delta(buf, vals, (uint32_t)n);
    ASSERT_EQ(seg_dec_delta(buf, len, (uint32_t)n, out), 0);
    ASSERT_MEM_EQ(out, vals, sizeof vals);
    len = seg_enc_planes(buf, vals, 8, (uint32_t)n);
    ASSERT_EQ(len, 8 * n);
    ASSERT_EQ(seg_dec_planes(buf, len, 8, (uint32_t)n, out), 0);
    ASSERT_MEM_EQ(out, vals, sizeof vals);
    ASSERT_EQ(seg_dec_planes(buf, len - 1, 8, (uint32_t)n, out), -1);
    /* dictionary: IPv4 and IPv6, repeats; an index past the entries is an error */
    flow_addr_t a[6], back[6], dict[6];
    flow_addr_from_v4(&a[0], 0x0a000001);
    ASSERT_EQ(flow_addr_parse(&a[1], "2001:db8::1"), 0);
    a[2] = a[0];
    flow_addr_from_v4(&a[3], 0);
    a[4] = a[1];
    memset(&a[5], 0, sizeof a[5]);
    seg_dict_t d = {0};
    len = seg_enc_dict(&d, buf, a, 6);
    seg_dict_free(&d);
    ASSERT_EQ(seg_dec_dict(buf, len, 6, back, dict), 0);
    ASSERT_MEM_EQ(back, a, sizeof a);
    buf[len - 1] = 9;
    ASSERT_EQ(seg_dec_dict(buf, len, 6, back, dict), -1);
    ASSERT_EQ(seg_dec_dict(buf, len - 1, 6, back, dict), -1);
    return 0;
}

/* seg_dec_varint reads eight bytes at a time where it can; every input, malformed ones too,
 * must decode exactly as the one-varint-at-a-time reading of the format does. */
static int t_dec_varint_ref(const uint8_t *p, size_t len, uint32_t n, uint64_t *out)
{
    const uint8_t *end = p + len;
    for (uint32_t i = 0; i < n; i++)
        if (seg_get_varint(&p, end, &out[i]) != 0)
            return -1;
    return p == end ? 0 : -1;
}

/* seg_dec_varint and the reference agree on p[0..len) as n values: both reject it (0), or
 * both accept it with the same values (1); otherwise the test fails. */
static int t_varint_agrees(int trial, const uint8_t *p, size_t len, uint32_t n, uint64_t *got,
                           uint64_t *want)
{
    int rc_want = t_dec_varint_ref(p, len, n, want);
    int rc_got = seg_dec_varint(p, len, n, got);
    if (rc_got != rc_want)
        TEST_FAIL_AT("trial %d (%zu bytes, %u values): %d, the reference %d", trial, len, n,
                     rc_got, rc_want);
    if (rc_want == 0)
        ASSERT_MEM_EQ(got, want, n * sizeof *got);
    return rc_want == 0;
}

TEST_IMPL(seg_varint_fast_path)
{
    uint64_t rng = 77;
    uint8_t buf[160];
    uint64_t got[160], want[160];
    int ok = 0, bad = 0;
    for (int trial = 0; trial < 20000; trial++) {
        size_t len = 0;
        uint32_t n = 0;
        if (trial & 1) {
            /* well formed: values of every bit length, runs of one-byte values among them */
            while (len + SEG_VARINT_MAX <= 100) {
                unsigned bits = (unsigned)(t_rng(&rng) % 65);
                if (t_rng(&rng) % 3 == 0)
                    bits = (unsigned)(t_rng(&rng) % 8);
                uint64_t v = bits == 64 ? t_rng(&rng) : t_rng(&rng) & (((uint64_t)1 << bits) - 1);
                len = (size_t)(seg_put_varint(buf + len, v) - buf);
                n++;
            }
            /* sometimes a count or a length that does not fit the bytes */
            if (t_rng(&rng) % 4 == 0)
                n += (uint32_t)(t_rng(&rng) % 3) - 1;
            if (t_rng(&rng) % 4 == 0 && len > 0)
                len -= 1 + t_rng(&rng) % (len < 4 ? len : 4);
        } else {
            /* arbitrary bytes, continuation bits set with a chosen probability */
            len = (size_t)(t_rng(&rng) % 120);
            unsigned pct = (unsigned)(t_rng(&rng) % 101);
            for (size_t i = 0; i < len; i++) {
                uint8_t b = (uint8_t)(t_rng(&rng) & 0x7f);
                buf[i] = (unsigned)(t_rng(&rng) % 100) < pct ? (uint8_t)(b | 0x80) : b;
            }
            n = (uint32_t)(t_rng(&rng) % (len + 2));
        }
        t_varint_agrees(trial, buf, len, n, got, want) ? ok++ : bad++;
    }
    /* both kinds were exercised */
    ASSERT_GT(ok, 5000);
    ASSERT_GT(bad, 5000);
    return 0;
}

/* Long streams as the writer makes them (mostly one- to three-byte varints, runs of one-byte
 * ones, now and then a long one), whole and damaged (cut short, a continuation bit flipped, a
 * count off by one): the decoder's fast paths (eight and sixteen bytes a step) give the
 * reference's result and values, for every offset of the stream in its buffer. */
TEST_IMPL(seg_varint_long_streams)
{
    enum { N = 3000 };
    uint64_t rng = 4242;
    uint8_t *buf = malloc(N * SEG_VARINT_MAX + 16);
    uint64_t *got = malloc((N + 1) * sizeof *got), *want = malloc((N + 1) * sizeof *want);
    ASSERT_NOT_NULL(buf);
    ASSERT_NOT_NULL(got);
    ASSERT_NOT_NULL(want);
    int ok = 0, bad = 0;
    for (int trial = 0; trial < 240; trial++) {
        size_t off = (size_t)trial % 16, len = 0;
        uint32_t n = 0;
        unsigned mix = (unsigned)trial % 4; /* 0 one-byte runs, 1 mixed short, 2-3 with long */
        while (n < N) {
            unsigned r = (unsigned)(t_rng(&rng) % 100), bits;
            if (mix == 0 || r < 40)
                bits = 7;
            else if (r < 75)
                bits = 14;
            else if (r < 97 || mix == 1)
                bits = 21;
            else
                bits = 22 + (unsigned)(t_rng(&rng) % 43);
            uint64_t v = bits >= 64 ? t_rng(&rng) : t_rng(&rng) & (((uint64_t)1 << bits) - 1);
            len = (size_t)(seg_put_varint(buf + off + len, v) - (buf + off));
            n++;
        }
        switch (trial / 4 % 5) {
        case 1: /* cut short */
            len -= 1 + t_rng(&rng) % 5;
            break;
        case 2: { /* a continuation bit set or cleared somewhere */
            size_t at = t_rng(&rng) % len;
            buf[off + at] ^= 0x80;
            break;
        }
        case 3: /* one value more than the bytes hold, or one fewer */
            n += trial & 1 ? 1 : (uint32_t)-1;
            break;
        case 4: { /* a run of continuation bits: an overlong varint */
            size_t at = t_rng(&rng) % (len > 12 ? len - 12 : 1);
            for (int k = 0; k < 11; k++)
                buf[off + at + (size_t)k] |= 0x80;
            break;
        }
        default:
            break;
        }
        t_varint_agrees(trial, buf + off, len, n, got, want) ? ok++ : bad++;
    }
    ASSERT_GT(ok, 40);
    ASSERT_GT(bad, 40);
    free(buf);
    free(got);
    free(want);
    return 0;
}

TEST_IMPL(seg_error_names)
{
    ASSERT_STR_EQ(seg_err_name(-SEG_E_CHECKSUM), "bad_checksum");
    ASSERT_STR_EQ(seg_err_name(SEG_E_TRUNCATED), "truncated");
    ASSERT_STR_EQ(seg_err_name(0), "ok");
    ASSERT_STR_EQ(seg_err_name(1000), "unknown");
    ASSERT_STR_EQ(seg_strerror(-SEG_E_NOSPACE), "the disk is full");
    for (int c = 1; c < SEG_N_ERRORS; c++) {
        ASSERT(strlen(seg_err_name(c)) > 1);
        ASSERT(strlen(seg_strerror(c)) > 5);
    }
    return 0;
}

/* ---- round trips ------------------------------------------------------------------------- */

TEST_IMPL(seg_roundtrip_edges)
{
    t_roundtrip("multi", 1, 5000, 512); /* many groups, every edge case, links */
    t_roundtrip("one", 2, 1, 0);        /* a single row */
    t_roundtrip("two", 3, 2, 1);        /* groups of one row each */
    t_roundtrip("odd", 4, 1001, 333);   /* bitmaps whose last byte is partial */
    /* Flows sorted by start (a collector that orders them so): time_start becomes the DELTA
     * column and time_end its DIFF_START partner. */
    const char *sdir = t_dir("by-start");
    seg_writer_t *sw = t_writer(sdir, "t", 0, 60);
    uint64_t rng = 3;
    flow_rec_t sorted[1000];
    for (int i = 0; i < 1000; i++) {
        flow_rec_clear(&sorted[i]);
        FLOW_SET(&sorted[i], time_start, T_BASE_MS + (uint64_t)i * 3);
        FLOW_SET(&sorted[i], time_end, T_BASE_MS + (uint64_t)i * 3 + t_rng(&rng) % 3000000);
        if (i % 10 == 0) /* and a few rows without an end */
            sorted[i].present &= ~FLOW_BIT(time_end);
        FLOW_SET(&sorted[i], packets, (uint64_t)i);
        ASSERT_EQ(seg_writer_add(sw, &sorted[i], T_BASE_MS), 0);
    }
    ASSERT_EQ(seg_writer_close(sw), 0);
    size_t got;
    flow_rec_t *back = t_read_dir(sdir, &got, NULL);
    ASSERT_EQ(got, 1000);
    for (size_t i = 0; i < got; i++) {
        sorted[i].time_end = FLOW_HAS(&sorted[i], time_end) ? sorted[i].time_end : 0;
        t_rec_eq(&sorted[i], &back[i], i);
    }
    free(back);
    size_t len;
    uint8_t *img = t_slurp(t_only_segment(sdir), &len);
    segr_block_t blk;
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(img, len, SEG_HDR_LEN, &blk, &bad), 0);
    segr_chunk_t ch;
    segr_chunk_get(img, &blk, (uint32_t)blk.chunk_of_col[FLOW_COL_time_start], &ch);
    ASSERT_EQ(ch.enc, SEG_ENC_DELTA);
    segr_chunk_get(img, &blk, (uint32_t)blk.chunk_of_col[FLOW_COL_time_end], &ch);
    ASSERT_EQ(ch.enc, SEG_ENC_DIFF_START);
    ASSERT_EQ(ch.presence, SEG_PRES_BITMAP);
    free(img);
    /* No flow, no file: an empty writer leaves nothing for readers to skip. */
    const char *dir = t_dir("none");
    seg_writer_t *w = t_writer(dir, "t", 0, 60);
    ASSERT_EQ(seg_writer_close(w), 0);
    char **paths;
    ASSERT_EQ(seg_dir_list(dir, 0, UINT64_MAX, &paths), 0);
    seg_dir_list_free(paths, 0);
    return 0;
}

TEST_IMPL(seg_roundtrip_large)
{
    /* A few hundred thousand rows: full 65536-row groups and a partial last one. */
    t_roundtrip("large", 5, 300000, 0);
    /* And the same stream without the edge cases, as collectors see it: most rows linked. */
    const char *dir = t_dir("plain");
    flow_rec_t *recs = t_write(dir, 6, 100000, 0, 0);
    size_t got;
    flow_rec_t *rows = t_read_dir(dir, &got, NULL);
    ASSERT_EQ(got, 100000);
    for (size_t i = 0; i < got; i++)
        t_rec_eq(&recs[i], &rows[i], i);
    free(recs);
    free(rows);
    /* the links are there: dst_addr is LINKED in the first group */
    seg_file_t *f;
    seg_where_t wh;
    ASSERT_EQ(seg_open(t_only_segment(dir), &f, &wh), 0);
    const uint8_t *base;
    size_t len;
    base = test_read_file(t_only_segment(dir), &len);
    ASSERT_NOT_NULL(base);
    segr_block_t blk;
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(base, len, SEG_HDR_LEN, &blk, &bad), 0);
    ASSERT(blk.links_chunk >= 0);
    segr_chunk_t ch;
    segr_chunk_get(base, &blk, (uint32_t)blk.chunk_of_col[FLOW_COL_dst_addr], &ch);
    ASSERT_EQ(ch.enc, SEG_ENC_LINKED);
    segr_chunk_get(base, &blk, (uint32_t)blk.chunk_of_col[FLOW_COL_time_end], &ch);
    ASSERT_EQ(ch.enc, SEG_ENC_DELTA);
    free((void *)base);
    seg_close(f);
    return 0;
}

TEST_IMPL(seg_empty_segment)
{
    /* Header, a footer with no group and no exporter, the tail: a valid empty segment. */
    uint8_t img[SEG_HDR_LEN + 16 + SEG_TAIL_LEN] = {0};
    memcpy(img, SEG_HDR_MAGIC, 8);
    seg_put_u16(img + 8, 1);
    uint8_t *ftr = img + SEG_HDR_LEN;
    memcpy(ftr, SEG_FTR_MAGIC, 4);
    size_t ftr_len = 4 + 4 + 4 + 1; /* magic, n_groups, n_exporters, meta length 0 */
    uint8_t *tail = ftr + ftr_len;
    seg_put_u64(tail, SEG_HDR_LEN);
    seg_put_u32(tail + 8, (uint32_t)ftr_len);
    seg_put_u32(tail + 12, crc32c(ftr, ftr_len));
    memcpy(tail + 16, SEG_TAIL_MAGIC, 8);
    size_t len = SEG_HDR_LEN + ftr_len + SEG_TAIL_LEN;
    seg_where_t wh;
    ASSERT_EQ(t_check_image(img, len, &wh), 0);
    seg_file_t *f;
    ASSERT_EQ(seg_open_mem(img, len, "empty", &f, &wh), 0);
    ASSERT_EQ(seg_n_groups(f), 0);
    ASSERT_EQ(seg_n_exporters(f), 0);
    seg_batch_t b;
    seg_batch_init(&b);
    ASSERT_EQ(seg_batch_open(&b, f, 0, &wh), -SEG_E_USAGE);
    seg_batch_free(&b);
    seg_close(f);
    /* a newer writer's flags, and a version this reader does not know */
    img[10] = 1;
    ASSERT_EQ(t_check_image(img, len, &wh), -SEG_E_VERSION);
    ASSERT_EQ(wh.offset, 10);
    img[10] = 0;
    img[8] = 2;
    ASSERT_EQ(t_check_image(img, len, &wh), -SEG_E_VERSION);
    ASSERT_STR_EQ(wh.path, "image");
    return 0;
}

TEST_IMPL(seg_batch_lazy_and_zones)
{
    const char *dir = t_dir("lazy");
    flow_rec_t *recs = t_write(dir, 9, 3000, 1000, 0);
    seg_file_t *f;
    seg_where_t wh;
    ASSERT_EQ(seg_open(t_only_segment(dir), &f, &wh), 0);
    ASSERT_EQ(seg_n_groups(f), 3);
    seg_batch_t b;
    seg_batch_init(&b);
    for (uint32_t g = 0; g < 3; g++) {
        seg_group_info_t gi;
        seg_group(f, g, &gi);
        ASSERT_EQ(gi.n_rows, 1000);
        ASSERT_EQ(seg_batch_open(&b, f, g, &wh), 0);
        ASSERT_UINT64_EQ(b.loaded, 0);
        /* one column decoded, nothing else */
        ASSERT_EQ(seg_batch_load(&b, FLOW_COL_bytes, &wh), 0);
        ASSERT_UINT64_EQ(b.loaded, FLOW_BIT(bytes));
        ASSERT_NULL(b.present[FLOW_COL_bytes]);
        /* zones and the time range are the min and max of the group's values */
        uint64_t tmin = UINT64_MAX, tmax = 0, bmin = UINT64_MAX, bmax = 0;
        uint16_t pmin = UINT16_MAX, pmax = 0;
        uint8_t want_ports[SEG_PORT_BUCKET_BYTES] = {0}, got_ports[SEG_PORT_BUCKET_BYTES];
        for (uint32_t i = 0; i < 1000; i++) {
            const flow_rec_t *r = &recs[g * 1000 + i];
            ASSERT_UINT64_EQ(((const uint64_t *)b.vals[FLOW_COL_bytes])[i], r->bytes);
            tmin = r->time_start < tmin ? r->time_start : tmin;
            tmax = r->time_end > tmax ? r->time_end : tmax;
            bmin = r->bytes < bmin ? r->bytes : bmin;
            bmax = r->bytes > bmax ? r->bytes : bmax;
            pmin = r->dst_port < pmin ? r->dst_port : pmin;
            pmax = r->dst_port > pmax ? r->dst_port : pmax;
            seg_port_bucket_set(want_ports, r->dst_port);
        }
        ASSERT_UINT64_EQ(gi.time_min, tmin);
        ASSERT_UINT64_EQ(gi.time_max, tmax);
        uint64_t zmin, zmax;
        ASSERT_EQ(seg_zone(f, g, FLOW_COL_bytes, &zmin, &zmax), 1);
        ASSERT_UINT64_EQ(zmin, bmin);
        ASSERT_UINT64_EQ(zmax, bmax);
        uint16_t qmin, qmax;
        ASSERT_EQ(seg_zone(f, g, FLOW_COL_dst_port, &qmin, &qmax), 1);
        ASSERT_EQ(qmin, pmin);
        ASSERT_EQ(qmax, pmax);
        /* port buckets: exactly the 128-port ranges the group's values fall in */
        ASSERT_EQ(seg_zone_ports(f, g, FLOW_COL_dst_port, got_ports), 1);
        ASSERT_EQ(memcmp(got_ports, want_ports, sizeof want_ports), 0);
        ASSERT_EQ(seg_zone_ports(f, g, FLOW_COL_src_port, got_ports), 1);
        ASSERT_EQ(seg_zone_ports(f, g, FLOW_COL_proto, got_ports), 0);
        flow_addr_t amin, amax;
        ASSERT_EQ(seg_zone(f, g, FLOW_COL_src_addr, &amin, &amax), 1);
        ASSERT(memcmp(&amin, &amax, 16) <= 0);
        /* the sampling interval's, which lets top leave an unsampled group's column alone */
        uint32_t smin, smax;
        ASSERT_EQ(seg_zone(f, g, FLOW_COL_sampling, &smin, &smax), 1);
        ASSERT_EQ(smax, 1);
        /* no zone for a column hunts do not filter on, nor for one no row has */
        ASSERT_EQ(seg_zone(f, g, FLOW_COL_tos, &zmin, &zmax), 0);
        ASSERT_EQ(seg_zone(f, g, FLOW_COL_vlan, &qmin, &qmax), 0);
        /* a column no row has: zeros, every row absent */
        ASSERT_EQ(seg_batch_load(&b, FLOW_COL_vlan, &wh), 0);
        ASSERT_NOT_NULL(b.present[FLOW_COL_vlan]);
        ASSERT_EQ(b.present[FLOW_COL_vlan][999], 0);
        /* a row built from the loaded columns only */
        flow_rec_t row;
        seg_batch_row(&b, 7, &row);
        ASSERT_UINT64_EQ(row.present, FLOW_BIT(bytes));
        ASSERT_EQ(seg_batch_load(&b, FLOW_N_COLS, &wh), -SEG_E_USAGE);
    }
    seg_batch_free(&b);
    seg_close(f);
    free(recs);
    return 0;
}

/* Every group of a segment read three ways must agree: all columns loaded; each address
 * column as dictionary codes (seg_batch_codes: dict[code] is the row's address, one code per
 * address); restricted by seg_batch_restrict to every third row, with every other group's
 * filter-like columns loaded before it (place q holds row sel[q]'s values and presence).
 * Returns how many address columns came as codes. */
static int t_check_codes(const char *path)
{
    seg_file_t *f;
    seg_where_t wh;
    ASSERT_EQ(seg_open(path, &f, &wh), 0);
    seg_batch_t full, b;
    seg_batch_init(&full);
    seg_batch_init(&b);
    int n_codes = 0;
    uint32_t *sel = malloc(SEG_MAX_ROWS * sizeof *sel);
    ASSERT_NOT_NULL(sel);
    for (uint32_t g = 0; g < seg_n_groups(f); g++) {
        ASSERT_EQ(seg_batch_open(&full, f, g, &wh), 0);
        for (int c = 0; c < FLOW_N_COLS; c++)
            ASSERT_EQ(seg_batch_load(&full, c, &wh), 0);
        uint32_t n = full.n_rows;
        for (int c = 0; c < FLOW_N_COLS; c++) {
            if (flow_cols[c].type != FLOW_T_ADDR)
                continue;
            ASSERT_EQ(seg_batch_open(&b, f, g, &wh), 0);
            seg_codes_t cd;
            int rc = seg_batch_codes(&b, c, &cd, &wh);
            ASSERT_GE(rc, 0);
            ASSERT_UINT64_EQ(b.loaded, 0);
            if (rc == 0)
                continue;
            n_codes++;
            /* asked again: the same codes, not decoded anew */
            seg_codes_t again;
            ASSERT_EQ(seg_batch_codes(&b, c, &again, &wh), 1);
            ASSERT(again.code == cd.code && again.dict == cd.dict && again.present == cd.present &&
                   again.n_dict == cd.n_dict);
            const flow_addr_t *v = full.vals[c];
            const uint8_t *pf = full.present[c];
            uint8_t *used = calloc(cd.n_dict + 1, 1);
            ASSERT_NOT_NULL(used);
            for (uint32_t i = 0; i < n; i++) {
                int has = !pf || pf[i];
                ASSERT_EQ(!cd.present || cd.present[i], has);
                if (!has)
                    continue;
                ASSERT_LT(cd.code[i], cd.n_dict);
                ASSERT_EQ(memcmp(&cd.dict[cd.code[i]], &v[i], 16), 0);
                used[cd.code[i]] = 1;
            }
            /* one code per address: no two used entries hold the same one */
            for (uint32_t x = 0; x < cd.n_dict; x++)
                for (uint32_t y = x + 1; y < cd.n_dict && used[x]; y++)
                    ASSERT(!used[y] || memcmp(&cd.dict[x], &cd.dict[y], 16) != 0);
            free(used);
            /* the codes of every third row only (top after a filter; in odd groups with the
             * links' roots made by a column loaded first): right at those rows, and not kept,
             * so a load of the column afterwards still has every row */
            seg_batch_t part;
            seg_batch_init(&part);
            ASSERT_EQ(seg_batch_open(&part, f, g, &wh), 0);
            if (g % 2)
                ASSERT_EQ(seg_batch_load(&part, FLOW_COL_src_port, &wh), 0);
            /* another column's codes first, so that the places left unset hold wrong ones */
            seg_codes_t other;
            ASSERT_GE(seg_batch_codes(
                          &part, c == FLOW_COL_src_addr ? FLOW_COL_dst_addr : FLOW_COL_src_addr,
                          &other, &wh),
                      0);
            uint32_t k3 = 0;
            for (uint32_t i = g % 3; i < n; i += 3)
                sel[k3++] = i;
            seg_codes_t cp;
            ASSERT_EQ(seg_batch_codes_of(&part, c, sel, k3, &cp, &wh), 1);
            for (uint32_t q = 0; q < k3; q++) {
                uint32_t i = sel[q];
                int has = !pf || pf[i];
                ASSERT_EQ(!cp.present || cp.present[i], has);
                if (has)
                    ASSERT_EQ(memcmp(&cp.dict[cp.code[i]], &v[i], 16), 0);
            }
            ASSERT_EQ(seg_batch_load(&part, c, &wh), 0);
            for (uint32_t i = 0; i < n; i++)
                ASSERT_EQ(memcmp((const flow_addr_t *)part.vals[c] + i, &v[i], 16), 0);
            seg_batch_free(&part);
            /* loaded after its codes (made from them): the same values and presence */
            ASSERT_EQ(seg_batch_load(&b, c, &wh), 0);
            for (uint32_t i = 0; i < n; i++) {
                int has = !pf || pf[i];
                ASSERT_EQ(!b.present[c] || b.present[c][i], has);
                ASSERT_EQ(memcmp((const flow_addr_t *)b.vals[c] + i, &v[i], 16), 0);
            }
        }
        ASSERT_EQ(seg_batch_open(&b, f, g, &wh), 0);
        /* as a filter would, some columns before the restriction (which moves them) */
        static const int before[] = {FLOW_COL_dst_port, FLOW_COL_time_start, FLOW_COL_packets,
                                     FLOW_COL_tcp_flags, FLOW_COL_dst_addr};
        for (size_t x = 0; x < sizeof before / sizeof before[0] && g % 2; x++)
            ASSERT_EQ(seg_batch_load(&b, before[x], &wh), 0);
        /* and, as a filter's address term does, a column read as codes (every other group:
         * the source, loaded after the restriction from its codes; else the destination,
         * already loaded in odd groups) */
        seg_codes_t cd;
        ASSERT_GE(seg_batch_codes(&b, g % 4 < 2 ? FLOW_COL_src_addr : FLOW_COL_dst_addr, &cd, &wh),
                  0);
        uint32_t k = 0;
        for (uint32_t i = g % 3; i < n; i += 3)
            sel[k++] = i;
        seg_batch_restrict(&b, sel, k);
        for (int c = 0; c < FLOW_N_COLS; c++)
            ASSERT_EQ(seg_batch_load(&b, c, &wh), 0);
        for (uint32_t q = 0; q < k; q++) {
            flow_rec_t want, got;
            seg_batch_row(&full, sel[q], &want);
            seg_batch_row(&b, q, &got);
            t_rec_eq(&want, &got, sel[q]);
        }
    }
    free(sel);
    seg_batch_free(&full);
    seg_batch_free(&b);
    seg_close(f);
    return n_codes;
}

TEST_IMPL(seg_batch_codes_and_restrict)
{
    /* bitmaps and edge values; links and LINKED address pairs; larger groups with both */
    ASSERT_GT(t_check_codes("tests/golden/seg_v1_small.seg"), 0);
    ASSERT_GT(t_check_codes("tests/golden/seg_v1_linked.seg"), 0);
    const char *dir = t_dir("codes");
    free(t_write(dir, 31, 5000, 2000, 1));
    ASSERT_GT(t_check_codes(t_only_segment(dir)), 0);
    /* a column that is not an address has no codes */
    seg_file_t *f;
    seg_where_t wh;
    ASSERT_EQ(seg_open("tests/golden/seg_v1_linked.seg", &f, &wh), 0);
    seg_batch_t b;
    seg_batch_init(&b);
    ASSERT_EQ(seg_batch_open(&b, f, 0, &wh), 0);
    seg_codes_t cd;
    ASSERT_EQ(seg_batch_codes(&b, FLOW_COL_dst_port, &cd, &wh), -SEG_E_USAGE);
    seg_batch_free(&b);
    seg_close(f);
    return 0;
}

/* ---- golden segments --------------------------------------------------------------------- */

/* A row as text, every present column as name=value, for the golden .txt files. */
static void t_row_text(FILE *out, const flow_rec_t *r)
{
    for (int c = 0; c < FLOW_N_COLS; c++) {
        if (!((r->present >> c) & 1))
            continue;
        const char *p = (const char *)r + flow_cols[c].offset;
        fprintf(out, "%s%s=", c ? " " : "", flow_cols[c].name);
        if (flow_cols[c].type == FLOW_T_ADDR) {
            char s[FLOW_ADDR_STRLEN];
            flow_addr_format((const flow_addr_t *)p, s);
            fputs(s, out);
            continue;
        }
        uint64_t v = 0;
        switch (flow_cols[c].width) {
        case 1:
            v = *(const uint8_t *)p;
            break;
        case 2:
            v = *(const uint16_t *)p;
            break;
        case 4:
            v = *(const uint32_t *)p;
            break;
        default:
            v = *(const uint64_t *)p;
            break;
        }
        fprintf(out, "%llu", (unsigned long long)v);
    }
    fputc('\n', out);
}

static char *t_rows_text(const flow_rec_t *rows, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ASSERT_NOT_NULL(f);
    for (size_t i = 0; i < n; i++)
        t_row_text(f, &rows[i]);
    fclose(f);
    return buf;
}

/* Writes one golden segment (and its .txt) from a generator stream into tests/golden/. */
static void t_regen_golden(const char *name, uint64_t seed, size_t n, uint32_t group_rows,
                           int edges)
{
    const char *dir = t_dir(name);
    flow_rec_t *recs = t_write(dir, seed, n, group_rows, edges);
    size_t len;
    uint8_t *img = t_slurp(t_only_segment(dir), &len);
    char path[256];
    snprintf(path, sizeof path, "tests/golden/%s.seg", name);
    t_spit(path, img, len);
    char *txt = t_rows_text(recs, n);
    snprintf(path, sizeof path, "tests/golden/%s.txt", name);
    t_spit(path, txt, strlen(txt));
    printf("wrote tests/golden/%s.seg (%zu bytes, %zu rows)\n", name, len, n);
    free(txt);
    free(img);
    free(recs);
}

/* Small segments for the reader's fuzz corpus, each under 8 KB. */
static void t_regen_corpus(void)
{
    static const struct {
        const char *name;
        uint64_t seed;
        size_t n;
        uint32_t group_rows;
        int edges;
    } c[] = {
        {"one-row", 11, 1, 0, 1}, {"two-groups", 12, 40, 20, 1}, {"linked", 13, 120, 0, 0},
        {"edges", 14, 80, 0, 1},  {"bitmaps", 15, 37, 0, 1},
    };
    mkdir("tests/fuzz/corpus/seg", 0755);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const char *dir = t_dir(c[i].name);
        free(t_write(dir, c[i].seed, c[i].n, c[i].group_rows, c[i].edges));
        size_t len;
        uint8_t *img = t_slurp(t_only_segment(dir), &len);
        ASSERT_LT(len, 8192);
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/seg/%s", c[i].name);
        t_spit(path, img, len);
        free(img);
    }
    /* flows sorted by start: time_end as DIFF_START */
    const char *dir = t_dir("by-start-corpus");
    seg_writer_t *w = t_writer(dir, "t", 0, 60);
    for (int i = 0; i < 40; i++) {
        flow_rec_t r;
        flow_rec_clear(&r);
        FLOW_SET(&r, time_start, T_BASE_MS + (uint64_t)i * 7);
        FLOW_SET(&r, time_end, T_BASE_MS + (uint64_t)i * 7 + (uint64_t)(i * i * 977) % 5000);
        FLOW_SET(&r, bytes, (uint64_t)i * 100);
        ASSERT_EQ(seg_writer_add(w, &r, T_BASE_MS), 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);
    size_t len;
    uint8_t *img = t_slurp(t_only_segment(dir), &len);
    t_spit("tests/fuzz/corpus/seg/by-start", img, len);
    free(img);
}

static void t_check_golden(const char *name, uint32_t want_groups)
{
    char seg_path[256], txt_path[256];
    snprintf(seg_path, sizeof seg_path, "tests/golden/%s.seg", name);
    snprintf(txt_path, sizeof txt_path, "tests/golden/%s.txt", name);
    seg_where_t wh;
    int rc = seg_verify(seg_path, &wh);
    if (rc < 0)
        TEST_FAIL_AT("%s: %s at %llu: a version-1 segment no longer reads", seg_path,
                     seg_err_name(rc), (unsigned long long)wh.offset);
    seg_file_t *f;
    ASSERT_EQ(seg_open(seg_path, &f, &wh), 0);
    ASSERT_EQ(seg_n_groups(f), want_groups);
    size_t meta_len;
    const char *meta = seg_meta(f, &meta_len);
    ASSERT(meta_len > 0 && memmem(meta, meta_len, "instance=t\n", 11) != NULL);
    size_t cap = 4096, n = 0;
    flow_rec_t *rows = malloc(cap * sizeof *rows);
    seg_batch_t b;
    seg_batch_init(&b);
    for (uint32_t g = 0; g < seg_n_groups(f); g++) {
        ASSERT_EQ(seg_batch_open(&b, f, g, &wh), 0);
        for (int c = 0; c < FLOW_N_COLS; c++)
            ASSERT_EQ(seg_batch_load(&b, c, &wh), 0);
        for (uint32_t r = 0; r < b.n_rows; r++) {
            ASSERT_LT(n, cap);
            seg_batch_row(&b, r, &rows[n++]);
        }
    }
    seg_batch_free(&b);
    seg_close(f);
    char *got = t_rows_text(rows, n);
    size_t want_len;
    char *want = (char *)t_slurp(txt_path, &want_len);
    if (strlen(got) != want_len || memcmp(got, want, want_len) != 0) {
        char out[512];
        snprintf(out, sizeof out, "%s/got.txt", test_tmpdir());
        t_spit(out, got, strlen(got));
        snprintf(out, sizeof out, "diff -u %s %s/got.txt | head -20 >&2", txt_path, test_tmpdir());
        if (system(out) != 0)
            fprintf(stderr, "(diff failed)\n");
        TEST_FAIL_AT("%s reads back different rows from %s", seg_path, txt_path);
    }
    free(want);
    free(got);
    free(rows);
}

TEST_IMPL(seg_golden_v1)
{
    const char *regen = getenv("FH_REGEN_GOLDEN");
    if (regen && strcmp(regen, "1") == 0) {
        t_regen_golden("seg_v1_small", 21, 100, 40, 1); /* edge values, bitmaps, 3 groups */
        t_regen_golden("seg_v1_linked", 22, 250, 0, 0); /* conversations: links */
        t_regen_corpus();
    }
    t_check_golden("seg_v1_small", 3);
    t_check_golden("seg_v1_linked", 1);
    /* The golden files cover what version 1 writes: links, LINKED and the time encodings. */
    size_t len;
    uint8_t *img = t_slurp("tests/golden/seg_v1_linked.seg", &len);
    segr_block_t b;
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(img, len, SEG_HDR_LEN, &b, &bad), 0);
    ASSERT(b.links_chunk >= 0);
    int seen[SEG_ENC_N] = {0};
    for (uint32_t k = 0; k < b.n_chunks; k++) {
        segr_chunk_t ch;
        segr_chunk_get(img, &b, k, &ch);
        seen[ch.enc]++;
    }
    for (int e = 0; e < SEG_ENC_N; e++)
        if (e != SEG_ENC_DIFF_START && !seen[e])
            TEST_FAIL_AT("seg_v1_linked.seg has no chunk of encoding %d", e);
    free(img);
    return 0;
}

/* ---- corruption -------------------------------------------------------------------------- */

/* A small segment with two groups, links, bitmaps, zones and an exporter. */
static uint8_t *t_small_image(size_t *len)
{
    const char *dir = t_dir("small");
    t_gen_t g;
    t_gen_init(&g, 31, 1);
    seg_writer_t *w = t_writer(dir, "t", 24, 60);
    seg_exporter_stat_t ex = {.version = 9, .domain = 7, .datagrams = 3, .flows = 40};
    flow_addr_from_v4(&ex.addr, 0xc0000201u);
    seg_writer_set_exporters(w, &ex, 1);
    for (int i = 0; i < 40; i++) {
        flow_rec_t r;
        t_gen_next(&g, &r);
        ASSERT_EQ(seg_writer_add(w, &r, T_BASE_MS), 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);
    uint8_t *img = t_slurp(t_only_segment(dir), len);
    seg_file_t *f;
    seg_where_t wh;
    ASSERT_EQ(seg_open_mem(img, *len, "small", &f, &wh), 0);
    ASSERT_EQ(seg_n_groups(f), 2);
    ASSERT_EQ(seg_n_exporters(f), 1);
    ASSERT_UINT64_EQ(seg_exporters(f)[0].flows, 40);
    ASSERT_EQ(seg_exporters(f)[0].domain, 7);
    seg_close(f);
    return img;
}

TEST_IMPL(seg_corrupt_every_byte)
{
    size_t len;
    uint8_t *img = t_small_image(&len);
    seg_where_t wh;
    ASSERT_EQ(t_check_image(img, len, &wh), 0);
    int counts[SEG_N_ERRORS] = {0};
    /* Every byte is covered by a magic, a version field or a CRC, so no single flipped byte
     * can pass: each must be a named error (and none may crash or hang). */
    for (size_t i = 0; i < len; i++) {
        for (int k = 0; k < 2; k++) {
            uint8_t saved = img[i];
            img[i] ^= k ? 0xff : 0x01;
            int rc = t_check_image(img, len, &wh);
            img[i] = saved;
            if (rc == 0)
                TEST_FAIL_AT("byte %zu of %zu flipped (^0x%02x) reads as valid", i, len,
                             k ? 0xff : 0x01);
            ASSERT(rc < 0 && -rc < SEG_N_ERRORS);
            ASSERT_EQ(wh.code, -rc);
            ASSERT_LE(wh.offset, len);
            counts[-rc]++;
        }
    }
    for (int c = 1; c < SEG_N_ERRORS; c++)
        if (counts[c])
            printf("%-14s %d\n", seg_err_name(c), counts[c]);
    ASSERT_GT(counts[SEG_E_CHECKSUM], 0);
    ASSERT_GT(counts[SEG_E_MAGIC], 0);
    ASSERT_GT(counts[SEG_E_VERSION], 0);
    free(img);
    return 0;
}

TEST_IMPL(seg_truncate_every_length)
{
    size_t len;
    uint8_t *img = t_small_image(&len);
    seg_where_t wh;
    for (size_t n = 0; n < len; n++) {
        int rc = t_check_image(img, n, &wh);
        if (rc == 0)
            TEST_FAIL_AT("the first %zu of %zu bytes read as a valid segment", n, len);
        /* a cut file is "truncated" (no tail) or, when the cut lands so that the last bytes
         * happen to spell the tail magic, some other named error */
        ASSERT(rc < 0 && -rc < SEG_N_ERRORS);
    }
    /* and a file with bytes appended is not valid either */
    uint8_t *more = malloc(len + 3);
    memcpy(more, img, len);
    memcpy(more + len, "abc", 3);
    ASSERT_LT(t_check_image(more, len + 3, &wh), 0);
    free(more);
    free(img);
    return 0;
}

/* Rewrites a block's header CRC after a test edits its header. */
static void t_fix_header_crc(uint8_t *img, const segr_block_t *b)
{
    seg_put_u32(img + b->off + b->len - 4, crc32c(img + b->off, b->data_off - b->off));
}

/* t_small_image with its first block parsed into *b, for tests that edit the block. */
static uint8_t *t_small_block(size_t *len, segr_block_t *b)
{
    uint8_t *img = t_small_image(len);
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(img, *len, SEG_HDR_LEN, b, &bad), 0);
    return img;
}

TEST_IMPL(seg_reader_forward_compat)
{
    size_t len;
    segr_block_t b;
    uint8_t *img = t_small_block(&len, &b);
    /* A column this reader does not know (a newer writer's) is skipped: renumber the chunk of
     * tcp_flags to an unknown id; the rest still reads, tcp_flags is absent. */
    int32_t k = b.chunk_of_col[FLOW_COL_tcp_flags];
    ASSERT_GE(k, 0);
    uint8_t *e = img + b.dir_off + (size_t)k * SEG_DIR_ENTRY_LEN;
    seg_put_u16(e, 0x0100);
    t_fix_header_crc(img, &b);
    seg_where_t wh;
    ASSERT_EQ(t_check_image(img, len, &wh), 0);
    seg_file_t *f;
    ASSERT_EQ(seg_open_mem(img, len, "compat", &f, &wh), 0);
    seg_batch_t bt;
    seg_batch_init(&bt);
    ASSERT_EQ(seg_batch_open(&bt, f, 0, &wh), 0);
    ASSERT_EQ(seg_batch_load(&bt, FLOW_COL_tcp_flags, &wh), 0);
    ASSERT_EQ(bt.present[FLOW_COL_tcp_flags][0], 0);
    seg_batch_free(&bt);
    seg_close(f);
    /* An encoding this reader does not know, on a column it knows: a newer file. */
    e[2] = 0x40;
    seg_put_u16(e, FLOW_COL_tcp_flags);
    t_fix_header_crc(img, &b);
    ASSERT_EQ(t_check_image(img, len, &wh), -SEG_E_VERSION);
    ASSERT_UINT64_EQ(wh.offset, (uint64_t)(e + 2 - img));
    /* Reserved block flags set: a newer file too. */
    e[2] = SEG_ENC_RAW;
    seg_put_u16(img + b.off + 14, 1);
    t_fix_header_crc(img, &b);
    ASSERT_EQ(t_check_image(img, len, &wh), -SEG_E_VERSION);
    free(img);
    return 0;
}

TEST_IMPL(seg_port_buckets)
{
    size_t len;
    segr_block_t b;
    uint8_t *img = t_small_block(&len, &b);
    for (unsigned k = 0; k < SEG_ZONE_PORTS_N; k++)
        ASSERT_GE(b.ports_off[k], 0);
    seg_where_t wh;
    ASSERT_EQ(t_check_image(img, len, &wh), 0);
    /* A bucket set that no row falls in: the header CRC is right, verify finds the lie. */
    uint8_t *lo = img + b.ports_off[2]; /* dst_port, ports 0 .. 32767 */
    int bit = 0;
    while (lo[bit / 8] >> (bit % 8) & 1)
        bit++;
    ASSERT_LT(bit, 256);
    lo[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    t_fix_header_crc(img, &b);
    ASSERT_EQ(t_check_image(img, len, &wh), -SEG_E_CORRUPT);
    ASSERT_UINT64_EQ(wh.offset, (uint64_t)b.ports_off[2]);
    lo[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    /* A structural zone this reader does not know (a newer writer's) is stepped over; the
     * buckets of that half then read as all set. */
    uint8_t *hdr = img + b.ports_off[3] - SEG_ZONE_HDR_LEN; /* dst_port, 32768 .. 65535 */
    seg_put_u16(hdr, 0xFF7F);
    t_fix_header_crc(img, &b);
    ASSERT_EQ(t_check_image(img, len, &wh), 0);
    seg_file_t *f;
    ASSERT_EQ(seg_open_mem(img, len, "buckets", &f, &wh), 0);
    uint8_t bits[SEG_PORT_BUCKET_BYTES];
    ASSERT_EQ(seg_zone_ports(f, 0, FLOW_COL_dst_port, bits), 1);
    ASSERT_EQ(memcmp(bits, lo, 32), 0);
    for (int i = 32; i < SEG_PORT_BUCKET_BYTES; i++)
        ASSERT_EQ(bits[i], 0xff);
    seg_close(f);
    /* Buckets twice for one half: corrupt. */
    seg_put_u16(hdr, SEG_ZONE_PORTS + 2);
    t_fix_header_crc(img, &b);
    ASSERT_EQ(t_check_image(img, len, &wh), -SEG_E_CORRUPT);
    ASSERT_UINT64_EQ(wh.offset, (uint64_t)(hdr - img));
    /* Unknown zones of any width are stepped over by their width field: the 36 bytes of that
     * half's buckets become two zones of a newer writer, 3 and 11 bytes wide (a width outside
     * 1, 2, 4, 8 and 16 was 'corrupt', so a newer writer's zone would have failed every
     * file). */
    seg_put_u16(hdr, 0xFF7F);
    hdr[2] = 3;
    seg_put_u16(hdr + SEG_ZONE_HDR_LEN + 6, 0xFF7E);
    hdr[SEG_ZONE_HDR_LEN + 6 + 2] = 11;
    hdr[SEG_ZONE_HDR_LEN + 6 + 3] = 0;
    uint8_t *n_zones = img + b.off + SEG_BLK_FIXED_LEN;
    seg_put_u16(n_zones, (uint16_t)(seg_get_u16(n_zones) + 1));
    t_fix_header_crc(img, &b);
    ASSERT_EQ(t_check_image(img, len, &wh), 0);
    ASSERT_EQ(seg_open_mem(img, len, "widths", &f, &wh), 0);
    ASSERT_EQ(seg_zone_ports(f, 0, FLOW_COL_dst_port, bits), 1);
    for (int i = 32; i < SEG_PORT_BUCKET_BYTES; i++)
        ASSERT_EQ(bits[i], 0xff);
    seg_close(f);
    free(img);
    return 0;
}

/* ---- crash and recovery ------------------------------------------------------------------ */

/* The child: streams flows (id = packets) into a writer that flushes every 20 ms (or every 700
 * flows) and rotates every second of place time (8000 flows), and after every flush reports
 * the durable count on `fd`. */
static void t_crash_child(const char *dir, int fd)
{
    seg_writer_opts_t o = {
        .dir = dir, .instance = "crash", .group_rows = 700, .rotate_s = 1, .flush_ms = 20};
    int err;
    seg_writer_t *w = seg_writer_open(&o, &err);
    if (!w)
        _exit(3);
    t_gen_t g;
    t_gen_init(&g, 41, 0);
    uint64_t reported = 0;
    for (uint64_t i = 0;; i++) {
        flow_rec_t r;
        t_gen_next(&g, &r);
        uint64_t place = T_BASE_MS + i / 8; /* 8000 flows a second of place time */
        if (seg_writer_add(w, &r, place) < 0)
            _exit(4);
        if (i % 64 == 0) {
            if (seg_writer_tick(w, place) < 0)
                _exit(5);
            struct timespec nap = {0, 200 * 1000};
            nanosleep(&nap, NULL);
        }
        uint64_t durable = seg_writer_stats(w)->flows_written;
        if (durable != reported) {
            reported = durable;
            if (write(fd, &durable, sizeof durable) != sizeof durable)
                _exit(6);
        }
    }
}

TEST_IMPL(seg_crash_kill9)
{
    const char *dir = t_dir("crash");
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        t_crash_child(dir, fds[1]);
        _exit(0);
    }
    close(fds[1]);
    uint64_t durable = 0, v;
    /* Kill it once a good number of flows are durable, in the middle of an interval, so that
     * its open segment is a temporary file with blocks in it. */
    while (durable < 30000 || durable % 8000 < 1000 || durable % 8000 > 6000) {
        ssize_t n = read(fds[0], &v, sizeof v);
        if (n != sizeof v)
            TEST_FAIL_AT("the writer child died early (read %zd)", n);
        durable = v;
    }
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    /* whatever it reported before dying counts too */
    while (read(fds[0], &v, sizeof v) == sizeof v)
        durable = v;
    close(fds[0]);

    /* Recovery: the next writer of the instance completes every temporary segment. */
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "find %s/flows -name '.*.tmp' | wc -l", dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    printf("durable %llu flows, %d temporary segment(s) left by the crash\n",
           (unsigned long long)durable, atoi(out));
    ASSERT_GE(atoi(out), 1);
    free(out);
    seg_writer_t *w = t_writer(dir, "crash", 0, 60);
    ASSERT_EQ(seg_writer_close(w), 0);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_EQ(atoi(out), 0);
    free(out);

    /* Every reported flow is there exactly once, every segment verifies (t_read_dir). */
    size_t n;
    int files;
    flow_rec_t *rows = t_read_dir(dir, &n, &files);
    ASSERT_GE(n, durable);
    uint8_t *seen = calloc(n + 1, 1);
    uint64_t max_id = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t id = rows[i].packets;
        ASSERT_LT(id, n + 1);
        ASSERT_EQ(seen[id], 0);
        seen[id] = 1;
        max_id = id > max_id ? id : max_id;
    }
    /* The ids are a prefix: nothing lost in the middle, only (possibly) the unflushed tail. */
    ASSERT_UINT64_EQ(max_id + 1, n);
    printf("%zu flows in %d segments after recovery\n", n, files);
    ASSERT_GE(files, 4);
    free(seen);
    free(rows);
    return 0;
}

TEST_IMPL(seg_recover_complete_tmp)
{
    /* A temporary file that is already a complete segment (a crash between the final sync and
     * the rename) is renamed as it is, its footer (and exporter counters) kept. */
    const char *dir = t_dir("rc");
    size_t len;
    uint8_t *img = t_small_image(&len);
    char folder[1200], path[1400];
    snprintf(folder, sizeof folder, "%s/flows/2024/03/01/00", dir);
    ASSERT_EQ(seg_dir_mkdirs(folder), 0);
    snprintf(path, sizeof path, "%s/.fh-20240301T000000Z-rc-000000.seg.tmp", folder);
    t_spit(path, img, len);
    /* another instance's temporary file is not ours to touch */
    snprintf(path, sizeof path, "%s/.fh-20240301T000000Z-rc-x-000000.seg.tmp", folder);
    t_spit(path, img, 10);
    /* garbage with no whole block is removed */
    snprintf(path, sizeof path, "%s/.fh-20240301T000100Z-rc-000003.seg.tmp", folder);
    t_spit(path, img, SEG_HDR_LEN + 5);
    seg_writer_t *w = t_writer(dir, "rc", 0, 60);
    ASSERT_EQ(seg_writer_close(w), 0);
    snprintf(path, sizeof path, "%s/fh-20240301T000000Z-rc-000000.seg", folder);
    seg_file_t *f;
    seg_where_t wh;
    ASSERT_EQ(seg_open(path, &f, &wh), 0);
    ASSERT_EQ(seg_n_exporters(f), 1);
    seg_close(f);
    snprintf(path, sizeof path, "%s/.fh-20240301T000000Z-rc-x-000000.seg.tmp", folder);
    ASSERT_EQ(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/.fh-20240301T000100Z-rc-000003.seg.tmp", folder);
    ASSERT_EQ(access(path, F_OK), -1);
    /* A crash mid-block: the blocks before the cut survive, under the next free name when
     * the original is taken. */
    snprintf(path, sizeof path, "%s/.fh-20240301T000000Z-rc-000000.seg.tmp", folder);
    segr_block_t b;
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(img, len, SEG_HDR_LEN, &b, &bad), 0);
    t_spit(path, img, b.off + b.len + 10);
    w = t_writer(dir, "rc", 0, 60);
    ASSERT_EQ(seg_writer_close(w), 0);
    snprintf(path, sizeof path, "%s/fh-20240301T000000Z-rc-000001.seg", folder);
    ASSERT_EQ(seg_verify(path, &wh), 0);
    ASSERT_EQ(seg_open(path, &f, &wh), 0);
    ASSERT_EQ(seg_n_groups(f), 1);
    size_t meta_len;
    const char *meta = seg_meta(f, &meta_len);
    ASSERT_NOT_NULL(memmem(meta, meta_len, "recovered=1", 11));
    seg_close(f);
    free(img);
    return 0;
}

TEST_IMPL(seg_writer_lock)
{
    const char *dir = t_dir("lock");
    seg_writer_t *w = t_writer(dir, "one", 0, 60);
    seg_writer_opts_t o = {.dir = dir, .instance = "one"};
    int err = 0;
    ASSERT_NULL(seg_writer_open(&o, &err));
    ASSERT_EQ(err, -SEG_E_BUSY);
    /* another instance in the same tree is fine */
    seg_writer_t *w2 = t_writer(dir, "two", 0, 60);
    ASSERT_EQ(seg_writer_close(w2), 0);
    ASSERT_EQ(seg_writer_close(w), 0);
    w = t_writer(dir, "one", 0, 60);
    ASSERT_EQ(seg_writer_close(w), 0);
    /* bad options */
    static const char *bad[] = {"", "a/b", "a b", "..", "123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.instance = bad[i];
        ASSERT_NULL(seg_writer_open(&o, &err));
        ASSERT_EQ(err, -SEG_E_USAGE);
    }
    o.instance = "ok";
    o.group_rows = SEG_MAX_ROWS + 1;
    ASSERT_NULL(seg_writer_open(&o, &err));
    ASSERT_EQ(err, -SEG_E_USAGE);
    return 0;
}

/* ---- a full disk ------------------------------------------------------------------------- */

typedef struct t_disk {
    int full;   /* 1: every write fails with ENOSPC; 2: half of each write lands first */
    int n_fail; /* writes refused */
} t_disk_t;

static long t_disk_write(void *arg, int fd, const void *buf, size_t len, uint64_t off)
{
    t_disk_t *d = arg;
    if (d->full == 2 && len > 1) {
        d->full = 1; /* the rest of this write, and everything after, fails */
        return (long)pwrite(fd, buf, len / 2, (off_t)off);
    }
    if (d->full) {
        d->n_fail++;
        errno = ENOSPC;
        return -1;
    }
    return (long)pwrite(fd, buf, len, (off_t)off);
}

static int t_add_ids(seg_writer_t *w, t_gen_t *g, uint64_t from, uint64_t to, uint64_t place)
{
    int first = 0;
    for (uint64_t i = from; i < to; i++) {
        flow_rec_t r;
        t_gen_next(g, &r);
        ASSERT_UINT64_EQ(r.packets, i);
        int rc = seg_writer_add(w, &r, place);
        if (rc < 0 && !first)
            first = rc;
    }
    return first;
}

TEST_IMPL(seg_full_disk)
{
    const char *dir = t_dir("full");
    t_disk_t disk = {0};
    seg_writer_opts_t o = {.dir = dir,
                           .instance = "fd",
                           .group_rows = 100,
                           .flush_ms = 60000,
                           .write_fn = t_disk_write,
                           .write_arg = &disk};
    int err;
    seg_writer_t *w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    t_gen_t g;
    t_gen_init(&g, 51, 0);
    ASSERT_EQ(t_add_ids(w, &g, 0, 250, T_BASE_MS), 0);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->flows_written, 200);
    /* The disk fills: each group that cannot be written is dropped, counted, and reported
     * as a full disk with the file it was for. */
    disk.full = 1;
    ASSERT_EQ(t_add_ids(w, &g, 250, 450, T_BASE_MS), -SEG_E_NOSPACE);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->flows_dropped, 200);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->write_errors, 2);
    const seg_where_t *e = seg_writer_error(w);
    ASSERT_EQ(e->code, SEG_E_NOSPACE);
    ASSERT_EQ(e->sys_errno, ENOSPC);
    ASSERT_NOT_NULL(strstr(e->path, "/flows/2024/03/01/00/.fh-"));
    /* a write that lands half before failing leaves nothing behind */
    disk.full = 2;
    ASSERT_EQ(t_add_ids(w, &g, 450, 500, T_BASE_MS), -SEG_E_NOSPACE);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->flows_dropped, 300);
    /* Space returns: writing resumes by itself (a few rows only, so that nothing of the
     * half-written block would be overwritten by chance). */
    disk.full = 0;
    ASSERT_EQ(t_add_ids(w, &g, 500, 505, T_BASE_MS), 0);
    ASSERT_EQ(seg_writer_flush(w), 0);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->flows_written, 205);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->segments, 1);
    ASSERT_EQ(seg_writer_close(w), 0);
    size_t n;
    flow_rec_t *rows = t_read_dir(dir, &n, NULL);
    ASSERT_EQ(n, 205);
    for (size_t i = 0; i < n; i++)
        ASSERT_UINT64_EQ(rows[i].packets, i < 200 ? i : i + 300);
    free(rows);

    /* The disk fills as a segment is completed: it stays a temporary file, is retried on
     * every tick, and completes once space returns. */
    const char *dir2 = t_dir("full2");
    o.dir = dir2;
    o.group_rows = 10;
    w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    t_gen_init(&g, 52, 0);
    ASSERT_EQ(t_add_ids(w, &g, 0, 10, T_BASE_MS), 0);
    seg_exporter_stat_t ex = {.version = 9, .domain = 7, .datagrams = 3, .flows = 10};
    flow_addr_from_v4(&ex.addr, 0xc0000201u);
    seg_writer_set_exporters(w, &ex, 1);
    disk.full = 1;
    ASSERT_EQ(seg_writer_tick(w, T_BASE_MS + 60000), -SEG_E_NOSPACE); /* interval over */
    ASSERT_EQ(seg_writer_tick(w, T_BASE_MS + 61000), -SEG_E_NOSPACE); /* retried, still full */
    ASSERT_UINT64_EQ(seg_writer_stats(w)->segments, 0);
    disk.full = 0;
    ASSERT_EQ(seg_writer_tick(w, T_BASE_MS + 62000), 0);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->segments, 1);
    /* the segment the writer meant: its interval's counters, not a crash's empty footer */
    {
        seg_file_t *f;
        ASSERT_EQ(seg_open(t_only_segment(dir2), &f, NULL), 0);
        ASSERT_EQ(seg_n_exporters(f), 1);
        ASSERT_UINT64_EQ(seg_exporters(f)[0].flows, 10);
        size_t ml;
        const char *meta = seg_meta(f, &ml);
        ASSERT_NULL(memmem(meta, ml, "recovered", 9));
        seg_close(f);
    }
    /* ... and if it never returns before close, the next writer recovers the file. */
    ASSERT_EQ(t_add_ids(w, &g, 10, 20, T_BASE_MS + 120000), 0);
    disk.full = 1;
    ASSERT_EQ(seg_writer_close(w), -SEG_E_NOSPACE);
    disk.full = 0;
    w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->segments, 1);
    ASSERT_EQ(seg_writer_close(w), 0);
    int files;
    rows = t_read_dir(dir2, &n, &files);
    ASSERT_EQ(n, 20);
    ASSERT_EQ(files, 2);
    free(rows);
    return 0;
}

/* The collector's hand-over of an interval's counters, as the daemon's worker does it. */
static void t_counters_end(void *arg, seg_writer_t *w, uint64_t interval_start_ms)
{
    (void)interval_start_ms;
    int *calls = arg;
    seg_exporter_stat_t ex = {.version = 5, .datagrams = 2, .drops = 2};
    flow_addr_from_v4(&ex.addr, 0xc6336463u);
    seg_writer_set_exporters(w, &ex, ++*calls == 1 ? 1 : 0);
}

/* An interval that heard an exporter but stored no flow (its every datagram dropped) still
 * gets a segment, of no group, for the counters: `flowhunt exporters` missed just the broken
 * router. An interval with nothing to count gets none. */
TEST_IMPL(seg_counters_only_interval)
{
    const char *dir = t_dir("counters");
    int calls = 0;
    seg_writer_opts_t o = {.dir = dir,
                           .instance = "c",
                           .rotate_s = 60,
                           .flush_ms = 60000,
                           .on_segment_end = t_counters_end,
                           .on_segment_end_arg = &calls};
    int err = 0;
    seg_writer_t *w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    ASSERT_EQ(seg_writer_mark(w, T_BASE_MS + 5000), 0);
    ASSERT_EQ(seg_writer_tick(w, T_BASE_MS + 60000), 0);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->segments, 1);
    ASSERT_EQ(seg_writer_mark(w, T_BASE_MS + 65000), 0); /* nothing to count this time */
    ASSERT_EQ(seg_writer_close(w), 0);
    ASSERT_EQ(calls, 2);
    seg_file_t *f;
    ASSERT_EQ(seg_open(t_only_segment(dir), &f, NULL), 0);
    ASSERT_EQ(seg_n_groups(f), 0);
    ASSERT_EQ(seg_n_exporters(f), 1);
    ASSERT_UINT64_EQ(seg_exporters(f)[0].drops, 2);
    seg_close(f);
    return 0;
}

TEST_IMPL(seg_full_disk_tmpfs)
{
    /* The same on a real full file system: a 512 KiB tmpfs in a private mount namespace
     * (skipped where this process may not mount). A filler file takes part of it, the writer
     * fills the rest, then the filler is removed and writing must resume by itself. */
    if (unshare(CLONE_NEWNS) != 0)
        SKIP("cannot make a mount namespace here (%s)", strerror(errno));
    /* the type is ignored for a propagation change; "" rather than NULL because valgrind
     * checks the argument whatever the flags */
    if (mount("none", "/", "", MS_REC | MS_PRIVATE, NULL) != 0)
        SKIP("cannot make mounts private (%s)", strerror(errno));
    const char *mnt = t_dir("mnt");
    ASSERT_EQ(mkdir(mnt, 0755), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=512k") != 0)
        SKIP("cannot mount a tmpfs (%s)", strerror(errno));
    char filler[1200], dir[1200];
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    snprintf(dir, sizeof dir, "%s/data", mnt);
    uint8_t *junk = calloc(1, 128 * 1024);
    t_spit(filler, junk, 128 * 1024);
    free(junk);
    seg_writer_t *w = t_writer(dir, "tf", 200, 60);
    t_gen_t g;
    t_gen_init(&g, 81, 0);
    uint64_t id = 0;
    int rc = 0;
    while (rc == 0 && id < 1000000)
        rc = t_add_ids(w, &g, id, id + 200, T_BASE_MS), id += 200;
    ASSERT_EQ(rc, -SEG_E_NOSPACE);
    ASSERT_EQ(seg_writer_error(w)->sys_errno, ENOSPC);
    uint64_t written = seg_writer_stats(w)->flows_written;
    ASSERT_GT(written, 0);
    ASSERT_GT(seg_writer_stats(w)->flows_dropped, 0);
    /* still full: more drops */
    ASSERT_EQ(t_add_ids(w, &g, id, id + 200, T_BASE_MS), -SEG_E_NOSPACE);
    id += 200;
    uint64_t dropped = seg_writer_stats(w)->flows_dropped;
    printf("tmpfs full after %llu flows written, %llu dropped\n", (unsigned long long)written,
           (unsigned long long)dropped);
    /* space returns */
    ASSERT_EQ(unlink(filler), 0);
    ASSERT_EQ(t_add_ids(w, &g, id, id + 400, T_BASE_MS), 0);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->flows_written, written + 400);
    ASSERT_UINT64_EQ(seg_writer_stats(w)->flows_dropped, dropped);
    ASSERT_EQ(seg_writer_close(w), 0);
    size_t n;
    flow_rec_t *rows = t_read_dir(dir, &n, NULL);
    ASSERT_EQ(n, written + 400);
    for (size_t i = 0; i < n; i++)
        ASSERT_UINT64_EQ(rows[i].packets, i < written ? i : id + (i - written));
    free(rows);
    umount(mnt);
    return 0;
}

/* ---- rotation, names, the directory ------------------------------------------------------ */

TEST_IMPL(seg_writer_rotation)
{
    const char *dir = t_dir("rot");
    seg_writer_opts_t o = {.dir = dir,
                           .instance = "r",
                           .rotate_s = 60,
                           .rotate_bytes = 3000,
                           .group_rows = 50,
                           .flush_ms = 60000};
    int err;
    seg_writer_t *w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    t_gen_t g;
    t_gen_init(&g, 61, 0);
    /* 00:00:10 .. : size rotation within the first interval gives sequence numbers */
    ASSERT_EQ(t_add_ids(w, &g, 0, 400, T_BASE_MS + 10000), 0);
    /* late by less than an interval once the next has started: joins the open one */
    ASSERT_EQ(t_add_ids(w, &g, 400, 410, T_BASE_MS + 61000), 0);
    ASSERT_EQ(t_add_ids(w, &g, 410, 420, T_BASE_MS + 59000), 0);
    /* a flow from hours ago gets its own interval and folder */
    ASSERT_EQ(t_add_ids(w, &g, 420, 430, T_BASE_MS - 3 * 3600000 + 5000), 0);
    ASSERT_EQ(seg_writer_close(w), 0);
    char cmd[1200], *out;
    snprintf(cmd, sizeof cmd, "cd %s && find flows -type f | sort", dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    printf("%s", out);
    ASSERT_NOT_NULL(strstr(out, "flows/2024/03/01/00/fh-20240301T000000Z-r-000000.seg\n"
                                "flows/2024/03/01/00/fh-20240301T000000Z-r-000001.seg\n"));
    ASSERT_NOT_NULL(strstr(out, "flows/2024/03/01/00/fh-20240301T000100Z-r-000000.seg\n"));
    ASSERT_NOT_NULL(strstr(out, "flows/2024/02/29/21/fh-20240229T210000Z-r-000000.seg\n"));
    ASSERT_NULL(strstr(out, "T000100Z-r-000001"));
    free(out);
    size_t n;
    flow_rec_t *rows = t_read_dir(dir, &n, NULL);
    ASSERT_EQ(n, 430);
    free(rows);
    return 0;
}

static void t_seg_at(const char *dir, const char *instance, uint64_t place, uint64_t id)
{
    seg_writer_t *w = t_writer(dir, instance, 0, 60);
    flow_rec_t r;
    flow_rec_clear(&r);
    FLOW_SET(&r, time_start, place);
    FLOW_SET(&r, time_end, place + 10);
    FLOW_SET(&r, packets, id);
    ASSERT_EQ(seg_writer_add(w, &r, place), 0);
    ASSERT_EQ(seg_writer_close(w), 0);
}

TEST_IMPL(seg_dir_list_window)
{
    const char *dir = t_dir("list");
    const uint64_t h = 3600000;
    t_seg_at(dir, "a", T_BASE_MS + h / 2, 0);      /* 00:30 */
    t_seg_at(dir, "a", T_BASE_MS + h + 600000, 1); /* 01:10 */
    t_seg_at(dir, "b", T_BASE_MS + 5 * h + 1, 2);  /* 05:00 */
    t_seg_at(dir, "a", T_BASE_MS + 24 * h, 3);     /* next day 00:00 */
    t_seg_at(dir, "a", T_BASE_MS + 40 * 24 * h, 4);
    /* things a listing must skip */
    char path[1400];
    snprintf(path, sizeof path, "%s/flows/2024/03/01/05/.fh-20240301T050000Z-c-000000.seg.tmp",
             dir);
    t_spit(path, "x", 1);
    snprintf(path, sizeof path, "%s/flows/2024/03/01/05/notes.txt", dir);
    t_spit(path, "x", 1);
    snprintf(path, sizeof path, "%s/flows/lost+found", dir);
    ASSERT_EQ(mkdir(path, 0755), 0);

    char **paths;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_EQ(n, 5);
    for (int i = 1; i < n; i++)
        ASSERT(strcmp(paths[i - 1], paths[i]) < 0);
    ASSERT_NOT_NULL(strstr(paths[0], "/flows/2024/03/01/00/fh-20240301T003000Z-a-000000.seg"));
    ASSERT_NOT_NULL(strstr(paths[4], "/flows/2024/04/10/00/"));
    seg_dir_list_free(paths, n);
    /* 03:00-04:00: folders whose segments could hold overlapping flows: started up to 2 h
     * after the window's end is not possible, but up to 2 h before its start is (long
     * flows), and flows may end up to an hour past a folder's end. 05:00 qualifies (flows
     * started before 04:00 may be stored there), 01:00 does not (its flows end by 03:00). */
    n = seg_dir_list(dir, T_BASE_MS + 3 * h, T_BASE_MS + 4 * h, &paths);
    ASSERT_EQ(n, 1);
    ASSERT_NOT_NULL(strstr(paths[0], "T050000Z-b-"));
    seg_dir_list_free(paths, n);
    n = seg_dir_list(dir, T_BASE_MS + 2 * h + 1, T_BASE_MS + 3 * h, &paths);
    ASSERT_EQ(n, 1); /* 01:00 only: its flows may end until 03:00; 05:00's start after 03:00 */
    ASSERT_NOT_NULL(strstr(paths[0], "T011000Z-a-"));
    seg_dir_list_free(paths, n);
    n = seg_dir_list(dir, T_BASE_MS + 10 * 24 * h, T_BASE_MS + 20 * 24 * h, &paths);
    ASSERT_EQ(n, 0);
    seg_dir_list_free(paths, n);
    n = seg_dir_list(t_dir("nothing-here"), 0, UINT64_MAX, &paths);
    ASSERT_EQ(n, 0);
    seg_dir_list_free(paths, n);
    return 0;
}

/* The rename seam of seg_dir_misplaced_noted_before_rename: the segment made visible, then the
 * process dies, as a kill -9 at that instant. */
static int t_rename_then_die(void *arg, const char *from, const char *to)
{
    (void)arg;
    if (rename(from, to) != 0)
        return -1;
    _exit(0);
}

/* A misplaced segment is noted before it is renamed into place: noted after, a crash between
 * the two left it where windows never look, and nothing noted it again (recovery walks only
 * temporary files): a replay of last week's traffic vanished from every windowed read while
 * an unwindowed cat and verify saw nothing wrong. A writer dies right after the rename here. */
TEST_IMPL(seg_dir_misplaced_noted_before_rename)
{
    const char *dir = t_dir("notefirst");
    const uint64_t h = 3600000, arrival = T_BASE_MS + 10 * 24 * h;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        seg_writer_opts_t o = {
            .dir = dir, .instance = "late", .rotate_s = 60, .rename_fn = t_rename_then_die};
        int err;
        seg_writer_t *w = seg_writer_open(&o, &err);
        if (!w)
            _exit(3);
        flow_rec_t r;
        flow_rec_clear(&r);
        FLOW_SET(&r, time_start, T_BASE_MS + 5 * h);
        FLOW_SET(&r, time_end, T_BASE_MS + 5 * h + 10);
        FLOW_SET(&r, packets, 1);
        if (seg_writer_add(w, &r, arrival) != 0)
            _exit(4);
        seg_writer_close(w); /* the rename ends the process */
        _exit(5);
    }
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char **paths;
    int n = seg_dir_list(dir, T_BASE_MS + 4 * h, T_BASE_MS + 6 * h, &paths);
    ASSERT_EQ(n, 1); /* the window over its flows finds it */
    seg_dir_list_free(paths, n);
    return 0;
}

/* A daemon places flows by arrival: flows days older than their segment's hour folder are
 * listed for a window over their own time through the writer's note in DIR/flows/misplaced,
 * once even when the folder is listed too; a garbled or stale note is skipped; expire removes
 * a day's notes. */
TEST_IMPL(seg_dir_misplaced_listed)
{
    const char *dir = t_dir("misplaced");
    const uint64_t h = 3600000, arrival = T_BASE_MS + 10 * 24 * h; /* 2024-03-11 00:00 */
    seg_writer_t *w = t_writer(dir, "late", 0, 60);
    for (uint64_t i = 0; i < 3; i++) { /* three flows of 2024-03-01, around 05:00 */
        flow_rec_t r;
        flow_rec_clear(&r);
        FLOW_SET(&r, time_start, T_BASE_MS + 5 * h + i * 1000);
        FLOW_SET(&r, time_end, T_BASE_MS + 5 * h + i * 1000 + 10);
        FLOW_SET(&r, packets, i + 1);
        ASSERT_EQ(seg_writer_add(w, &r, arrival + i), 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);
    t_seg_at(dir, "late", arrival + 1000, 9); /* in place: never noted */
    char note[1400];
    snprintf(note, sizeof note, "%s/flows/misplaced/late-20240311.tsv", dir);
    size_t len;
    char *text = (char *)t_slurp(note, &len); /* one line: the segment out of place */
    ASSERT_NOT_NULL(text);
    text = realloc(text, len + 1);
    ASSERT_NOT_NULL(text);
    text[len] = '\0';
    ASSERT_NOT_NULL(strchr(text, '\n'));
    ASSERT_EQ(strchr(text, '\n') - text + 1, (long)len);
    ASSERT_NOT_NULL(strstr(text, "\tflows/2024/03/11/00/fh-20240311T000000Z-late-000000.seg\n"));
    free(text);

    char **paths;
    int n = seg_dir_list(dir, T_BASE_MS + 4 * h, T_BASE_MS + 6 * h, &paths);
    ASSERT_EQ(n, 1);
    ASSERT_NOT_NULL(strstr(paths[0], "/flows/2024/03/11/00/fh-20240311T000000Z-late-000000.seg"));
    seg_dir_list_free(paths, n);
    n = seg_dir_list(dir, T_BASE_MS + 6 * h, T_BASE_MS + 7 * h, &paths); /* misses its range */
    ASSERT_EQ(n, 0);
    seg_dir_list_free(paths, n);
    /* a window that lists the arrival folder too: each segment once */
    n = seg_dir_list(dir, T_BASE_MS, arrival + h, &paths);
    ASSERT_EQ(n, 2);
    ASSERT(strcmp(paths[0], paths[1]) < 0);
    seg_dir_list_free(paths, n);

    /* garbage around a good line, and a note whose segment is gone */
    FILE *f = fopen(note, "a");
    ASSERT_NOT_NULL(f);
    fputs("x\ty\tflows/a.seg\n1\t2\t../../etc/passwd.seg\n3\t4\tflows/2024/03/01/05/.x.seg\n", f);
    fputs("0\t99999999999999\tflows/2024/03/01/05/fh-20240301T050000Z-gone-000000.seg\n", f);
    fputs("0\t99999999999999\tflows/2024/03/11/00/fh-20240311T000000Z-late-0", f); /* cut */
    fclose(f);
    n = seg_dir_list(dir, T_BASE_MS + 4 * h, T_BASE_MS + 6 * h, &paths);
    ASSERT_EQ(n, 1);
    seg_dir_list_free(paths, n);

    /* expire: the notes of days that end by the bound go */
    ASSERT_EQ(seg_dir_misplaced_expire(dir, arrival + 23 * h), 0);
    ASSERT_EQ(access(note, F_OK), 0);
    ASSERT_EQ(seg_dir_misplaced_expire(dir, arrival + 24 * h), 0);
    ASSERT_NE(access(note, F_OK), 0);
    n = seg_dir_list(dir, T_BASE_MS + 4 * h, T_BASE_MS + 6 * h, &paths);
    ASSERT_EQ(n, 0); /* without its note, the name hides it again */
    seg_dir_list_free(paths, n);
    return 0;
}

/* Flows placed past year 9999 (an exporter's garbage clock read by flowhuntd --read, an
 * imported ts + duration): their segment goes to the last hour folder readers walk,
 * 9999-12-31T23, noted out of place, so every listing finds it; in a folder "flows/10000/..."
 * no listing, verify or expire looked at them, and `flowhunt cat` lost them without a word. */
TEST_IMPL(seg_dir_far_future_listed)
{
    const char *dir = t_dir("far");
    const uint64_t y10000 = 253402300800000ull, far[2] = {y10000 + 3600000, 1ull << 50};
    seg_writer_t *w = t_writer(dir, "far", 0, 3600);
    for (int i = 0; i < 2; i++) {
        flow_rec_t r;
        flow_rec_clear(&r);
        FLOW_SET(&r, time_start, far[i] - 1000);
        FLOW_SET(&r, time_end, far[i]);
        FLOW_SET(&r, packets, (uint64_t)i + 1);
        ASSERT_EQ(seg_writer_add(w, &r, far[i]), 0);
        /* flowhuntd --read ticks on the clock that placed the flows: clamped as the places
         * are, or every tick closed the hour's segment, a segment per datagram */
        ASSERT_EQ(seg_writer_tick(w, far[i]), 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);
    char **paths;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_EQ(n, 1); /* both flows, in one segment */
    ASSERT_NOT_NULL(strstr(paths[0], "/flows/9999/12/31/23/fh-99991231T230000Z-far-000000.seg"));
    seg_dir_list_free(paths, n);
    /* a window over the flows' own times finds it through the note */
    n = seg_dir_list(dir, far[1] - 10, far[1] + 10, &paths);
    ASSERT_EQ(n, 1);
    seg_dir_list_free(paths, n);
    return 0;
}

/* ---- scanning ---------------------------------------------------------------------------- */

typedef struct t_scan {
    uint8_t *seen[2]; /* per worker: how often each id came back */
    uint64_t n_ids;
    uint64_t from, to; /* row filter the callback applies */
    uint64_t in_window[2];
    int fail_load;
} t_scan_t;

static int t_scan_batch(void *arg, int worker, seg_batch_t *b)
{
    t_scan_t *s = arg;
    seg_where_t wh;
    int rc = seg_batch_load(b, FLOW_COL_packets, &wh);
    if (rc == 0)
        rc = seg_batch_load(b, FLOW_COL_time_start, &wh);
    if (rc == 0)
        rc = seg_batch_load(b, FLOW_COL_time_end, &wh);
    if (rc < 0)
        return rc;
    const uint64_t *id = b->vals[FLOW_COL_packets];
    const uint64_t *ts = b->vals[FLOW_COL_time_start], *te = b->vals[FLOW_COL_time_end];
    for (uint32_t i = 0; i < b->n_rows; i++) {
        if (id[i] < s->n_ids)
            s->seen[worker][id[i]]++;
        s->in_window[worker] += ts[i] < s->to && te[i] >= s->from;
    }
    return 0;
}

static int t_want_none_above(void *arg, const seg_file_t *f, uint32_t g)
{
    (void)arg;
    uint16_t mn, mx;
    /* skip groups whose dst ports are all above 1000 (none in this stream) */
    return !seg_zone(f, g, FLOW_COL_dst_port, &mn, &mx) || mn <= 1000;
}

TEST_IMPL(seg_scan_two_workers)
{
    const char *dir = t_dir("scan");
    seg_writer_opts_t o = {
        .dir = dir, .instance = "s", .rotate_s = 1, .group_rows = 1000, .flush_ms = 60000};
    int err;
    seg_writer_t *w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    t_gen_t g;
    t_gen_init(&g, 71, 0);
    const uint64_t n = 200000;
    flow_rec_t *recs = malloc(n * sizeof *recs);
    for (uint64_t i = 0; i < n; i++) {
        t_gen_next(&g, &recs[i]);
        ASSERT_EQ(seg_writer_add(w, &recs[i], recs[i].time_end), 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);

    t_scan_t s = {.n_ids = n, .from = 0, .to = UINT64_MAX};
    s.seen[0] = calloc(n, 1);
    s.seen[1] = calloc(n, 1);
    seg_scan_stats_t st;
    seg_where_t wh;
    ASSERT_EQ(seg_scan(dir, 0, UINT64_MAX, 2, NULL, t_scan_batch, &s, &st, &wh), 0);
    ASSERT_UINT64_EQ(st.rows, n);
    ASSERT_GT(st.segments, 50);
    for (uint64_t i = 0; i < n; i++)
        if (s.seen[0][i] + s.seen[1][i] != 1)
            TEST_FAIL_AT("flow %llu came back %d times", (unsigned long long)i,
                         s.seen[0][i] + s.seen[1][i]);
    /* both workers did some of it */
    uint64_t by0 = 0;
    for (uint64_t i = 0; i < n; i++)
        by0 += s.seen[0][i];
    printf("worker 0 read %llu of %llu rows\n", (unsigned long long)by0, (unsigned long long)n);
    ASSERT_GT(by0, 0);
    ASSERT_LT(by0, n);

    /* A time window: groups outside it are skipped from the footers; the rows the callback
     * keeps are exactly the flows that overlap the window. */
    uint64_t from = recs[n / 3].time_end, to = recs[n / 2].time_end;
    uint64_t want = 0;
    for (uint64_t i = 0; i < n; i++)
        want += recs[i].time_start < to && recs[i].time_end >= from;
    memset(&s.in_window, 0, sizeof s.in_window);
    s.from = from;
    s.to = to;
    ASSERT_EQ(seg_scan(dir, from, to, 2, NULL, t_scan_batch, &s, &st, &wh), 0);
    ASSERT_UINT64_EQ(s.in_window[0] + s.in_window[1], want);
    ASSERT_LT(st.rows, n / 2);
    printf("window: %llu segments, %llu groups read, %llu skipped\n",
           (unsigned long long)st.segments, (unsigned long long)st.groups,
           (unsigned long long)st.groups_skipped);
    /* want() skips by zone maps */
    ASSERT_EQ(seg_scan(dir, 0, UINT64_MAX, 2, t_want_none_above, t_scan_batch, &s, &st, &wh), 0);
    ASSERT_UINT64_EQ(st.rows, n); /* every group has port 53 */

    /* A corrupt chunk stops the scan with its name and the file. */
    char **paths;
    int np = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_GT(np, 3);
    size_t len;
    uint8_t *img = t_slurp(paths[3], &len);
    segr_block_t b;
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(img, len, SEG_HDR_LEN, &b, &bad), 0);
    img[b.chunk_data_off[FLOW_COL_packets] + 2] ^= 0x10;
    t_spit(paths[3], img, len);
    ASSERT_EQ(seg_scan(dir, 0, UINT64_MAX, 2, NULL, t_scan_batch, &s, &st, &wh), -SEG_E_CHECKSUM);
    ASSERT_STR_EQ(wh.path, paths[3]);
    /* and a file that is not a segment at all */
    t_spit(paths[3], "not a segment, not at all, no", 29);
    ASSERT_EQ(seg_scan(dir, 0, UINT64_MAX, 1, NULL, t_scan_batch, &s, &st, &wh), -SEG_E_TRUNCATED);
    ASSERT_STR_EQ(wh.path, paths[3]);
    seg_dir_list_free(paths, np);
    free(img);
    free(s.seen[0]);
    free(s.seen[1]);
    free(recs);
    return 0;
}

/* Group mode's callback: t_scan_batch, but worker 0's first group waits (bounded) until
 * worker 1 has finished a group of the same segment, which whole-segment hand-out never
 * allows: so the test cannot pass by luck of thread timing. */
typedef struct t_gscan {
    t_scan_t s;
    const char *first; /* the path of the first segment: index 0, any other 1 */
    int w1_done[2];    /* worker 1 finished a group of segment i (atomic) */
    int w0_waited;     /* worker 0 saw that while holding a group of the same segment */
    int w0_started;    /* worker 0 has had its first group */
} t_gscan_t;

static int t_gscan_batch(void *arg, int worker, seg_batch_t *b)
{
    t_gscan_t *g = arg;
    int seg = strcmp(seg_file_path(b->file), g->first) != 0;
    if (worker == 0 && !g->w0_started) {
        g->w0_started = 1;
        for (int i = 0; i < 5000 && !__atomic_load_n(&g->w1_done[seg], __ATOMIC_ACQUIRE); i++)
            usleep(1000);
        g->w0_waited = __atomic_load_n(&g->w1_done[seg], __ATOMIC_ACQUIRE);
    }
    int rc = t_scan_batch(&g->s, worker, b);
    if (worker == 1)
        __atomic_store_n(&g->w1_done[seg], 1, __ATOMIC_RELEASE);
    return rc;
}

TEST_IMPL(seg_scan_by_groups)
{
    /* One segment of 60 row groups (every flow placed at one time), then a second: with
     * SEG_SCAN_GROUPS both workers read groups of the first segment, every flow comes back
     * once, and windows, want() and errors behave as in segment mode. */
    const char *dir = t_dir("scang");
    seg_writer_opts_t o = {
        .dir = dir, .instance = "g", .rotate_s = 3600, .group_rows = 1000, .flush_ms = 60000};
    int err;
    seg_writer_t *w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    t_gen_t gen;
    t_gen_init(&gen, 73, 0);
    const uint64_t n = 70000, n_first = 60000;
    flow_rec_t *recs = malloc(n * sizeof *recs);
    ASSERT_NOT_NULL(recs);
    for (uint64_t i = 0; i < n; i++)
        t_gen_next(&gen, &recs[i]);
    for (uint64_t i = 0; i < n_first; i++)
        ASSERT_EQ(seg_writer_add(w, &recs[i], recs[0].time_end), 0);
    ASSERT_EQ(seg_writer_flush(w), 0);
    for (uint64_t i = n_first; i < n; i++)
        ASSERT_EQ(seg_writer_add(w, &recs[i], recs[0].time_end), 0);
    ASSERT_EQ(seg_writer_close(w), 0);

    char **paths;
    int np = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_EQ(np, 2);
    t_gscan_t g;
    memset(&g, 0, sizeof g);
    g.first = paths[0];
    g.s = (t_scan_t){.n_ids = n, .from = 0, .to = UINT64_MAX};
    g.s.seen[0] = calloc(n, 1);
    g.s.seen[1] = calloc(n, 1);
    ASSERT_NOT_NULL(g.s.seen[0]);
    ASSERT_NOT_NULL(g.s.seen[1]);
    seg_scan_stats_t st;
    seg_where_t wh;
    ASSERT_EQ(
        seg_scan_flags(dir, 0, UINT64_MAX, 2, SEG_SCAN_GROUPS, NULL, t_gscan_batch, &g, &st, &wh),
        0);
    ASSERT_UINT64_EQ(st.segments, 2);
    ASSERT_UINT64_EQ(st.groups, 70);
    ASSERT_UINT64_EQ(st.rows, n);
    for (uint64_t i = 0; i < n; i++)
        if (g.s.seen[0][i] + g.s.seen[1][i] != 1)
            TEST_FAIL_AT("flow %llu came back %d times", (unsigned long long)i,
                         g.s.seen[0][i] + g.s.seen[1][i]);
    uint64_t by0 = 0;
    for (uint64_t i = 0; i < n; i++)
        by0 += g.s.seen[0][i];
    printf("group mode: worker 0 read %llu of %llu rows, waited for worker 1: %d\n",
           (unsigned long long)by0, (unsigned long long)n, g.w0_waited);
    /* worker 1 finished a group of the segment worker 0 was in the middle of */
    ASSERT_EQ(g.w0_waited, 1);
    ASSERT_GT(by0, 0);
    ASSERT_LT(by0, n);

    /* a window and want() skip groups as in segment mode */
    uint64_t from = recs[n / 3].time_end, to = recs[n / 2].time_end, want = 0;
    for (uint64_t i = 0; i < n; i++)
        want += recs[i].time_start < to && recs[i].time_end >= from;
    g.s.from = from;
    g.s.to = to;
    memset(&g.s.in_window, 0, sizeof g.s.in_window);
    ASSERT_EQ(seg_scan_flags(dir, from, to, 2, SEG_SCAN_GROUPS, NULL, t_scan_batch, &g.s, &st, &wh),
              0);
    ASSERT_UINT64_EQ(g.s.in_window[0] + g.s.in_window[1], want);
    ASSERT_GT(st.groups_skipped, 0);
    ASSERT_UINT64_EQ(st.groups + st.groups_skipped, 70);
    ASSERT_EQ(seg_scan_flags(dir, 0, UINT64_MAX, 2, SEG_SCAN_GROUPS, t_want_none_above,
                             t_scan_batch, &g.s, &st, &wh),
              0);
    ASSERT_UINT64_EQ(st.rows, n);

    /* a corrupt chunk in the first group of the first segment stops the scan with its name
     * (that segment's groups not handed out yet: it is closed all the same, ASan's leak check
     * sees to it) */
    size_t len;
    uint8_t *img = t_slurp(paths[0], &len);
    segr_block_t blk;
    uint64_t bad;
    ASSERT_EQ(segr_block_parse(img, len, SEG_HDR_LEN, &blk, &bad), 0);
    img[blk.chunk_data_off[FLOW_COL_packets] + 2] ^= 0x10;
    t_spit(paths[0], img, len);
    for (int workers = 1; workers <= 2; workers++) {
        ASSERT_EQ(seg_scan_flags(dir, 0, UINT64_MAX, workers, SEG_SCAN_GROUPS, NULL, t_scan_batch,
                                 &g.s, &st, &wh),
                  -SEG_E_CHECKSUM);
        ASSERT_STR_EQ(wh.path, paths[0]);
    }
    /* a segment removed since the listing is not an error: seg_open's ENOENT is skipped */
    ASSERT_EQ(unlink(paths[0]), 0);
    ASSERT_EQ(
        seg_scan_flags(dir, 0, UINT64_MAX, 2, SEG_SCAN_GROUPS, NULL, t_scan_batch, &g.s, &st, &wh),
        0);
    ASSERT_UINT64_EQ(st.rows, n - n_first);
    seg_dir_list_free(paths, np);
    free(img);
    free(g.s.seen[0]);
    free(g.s.seen[1]);
    free(recs);
    return 0;
}

/* ---- flowhunt cat and top over segments of many row groups ------------------------------- */

/* `flowhunt ARGS` with FH_WORKERS=workers, its stdout; exit status 0 asserted. */
static char *t_flowhunt(int workers, const char *args)
{
    char *out;
    int rc = test_runf(&out, "FH_WORKERS=%d %s %s", workers, test_bin("flowhunt"), args);
    if (rc != 0)
        TEST_FAIL_AT("flowhunt %s (%d workers) exited %d", args, workers, rc);
    return out;
}

TEST_IMPL(seg_cli_cat_workers)
{
    /* One segment of many small row groups: cat hands out groups, not segments, to its
     * workers, and must still print in row order, whatever the number of workers. */
    const char *dir = t_dir("catw");
    size_t n = 30000;
    flow_rec_t *recs = t_write(dir, 91, n, 700, 1);
    char args[1400];
    /* every row, CSV from the columns: the lines of the records, in order */
    snprintf(args, sizeof args, "cat %s", dir);
    char *all = t_flowhunt(2, args);
    size_t cap = (n + 1) * FLOW_PRINT_LINE_MAX / 8, len = 0;
    char *want = malloc(cap);
    ASSERT_NOT_NULL(want);
    len += flow_format_csv_header(want);
    want[len++] = '\n';
    for (size_t i = 0; i < n; i++) {
        ASSERT_LT(len + FLOW_PRINT_LINE_MAX, cap);
        len += flow_format_csv(want + len, &recs[i]);
        want[len++] = '\n';
    }
    want[len] = '\0';
    ASSERT_EQ(strlen(all), len);
    ASSERT_STR_EQ(all, want);
    free(all);
    /* JSON and the table, a selective filter, a limit: 1, 2 and 3 workers agree */
    static const char *const forms[] = {"--format json 'proto 6 and bytes > 1000 or src port 53'",
                                        "--format text 'not dst port 80'", "--limit 777",
                                        "--format json --limit 1500 'src net 10.0.0.0/8'"};
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        snprintf(args, sizeof args, "cat %s %s", dir, forms[k]);
        char *one = t_flowhunt(1, args);
        ASSERT_GT(strlen(one), 100);
        for (int w = 2; w <= 3; w++) {
            char *many = t_flowhunt(w, args);
            if (strcmp(one, many) != 0)
                TEST_FAIL_AT("cat %s: %d workers print otherwise than one", forms[k], w);
            free(many);
        }
        free(one);
    }
    free(want);
    free(recs);
    return 0;
}

TEST_IMPL(seg_cli_top_ranking)
{
    /* top ranks every key with a radix sort (-n 0, or N near the number of keys) and a few
     * of many with a bounded heap: two implementations of one order, ties included. */
    const char *dir = t_dir("topr");
    free(t_write(dir, 92, 20000, 1000, 1));
    static const char *const forms[] = {"--by srcip", "--by dstport --order bytes --raw",
                                        "--by srcip,dstport --order packets",
                                        "--by proto,dstport --order bytes"};
    int heap_checked = 0;
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        char args[1400];
        snprintf(args, sizeof args, "top %s %s -n 0 --format csv", dir, forms[k]);
        char *all = t_flowhunt(2, args);
        size_t lines = 0;
        for (const char *p = all; *p; p++)
            lines += *p == '\n';
        ASSERT_GT(lines, 12);
        /* the best eleven: fewer than a quarter of the keys takes the heap */
        snprintf(args, sizeof args, "top %s %s -n 11 --format csv", dir, forms[k]);
        char *few = t_flowhunt(1, args);
        if (lines - 1 > 4 * 11) {
            ASSERT_EQ(strncmp(all, few, strlen(few)), 0);
            heap_checked++;
        }
        free(few);
        /* one worker or two, the same table */
        snprintf(args, sizeof args, "top %s %s -n 0 --format csv", dir, forms[k]);
        char *one = t_flowhunt(1, args);
        ASSERT_STR_EQ(one, all);
        free(one);
        free(all);
    }
    ASSERT_GE(heap_checked, 3);
    return 0;
}

/* ---- the daemon's --read -w -------------------------------------------------------------- */

TEST_IMPL(seg_cli_read_write)
{
    /* flowhuntd --read CAPTURE -w DIR stores exactly the flows --print shows. */
    const char *dir = t_dir("cli");
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd,
             "sh -c '%s --read tests/golden/v5_small.pcap -w %s --instance cli 2>&1'",
             test_bin("flowhuntd"), dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_NOT_NULL(strstr(out, "segments: written 1000 flows dropped 0"));
    free(out);
    size_t n;
    int files;
    flow_rec_t *rows = t_read_dir(dir, &n, &files);
    ASSERT_EQ(n, 1000);
    ASSERT_GE(files, 1);
    /* the same flows, in the same order, as the golden CSV of that capture */
    char path[1200];
    snprintf(path, sizeof path, "%s/stored.csv", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    for (size_t i = 0; i < n; i++) {
        char a[FLOW_ADDR_STRLEN], b[FLOW_ADDR_STRLEN];
        flow_addr_format(&rows[i].src_addr, a);
        flow_addr_format(&rows[i].dst_addr, b);
        fprintf(f, "%llu,%llu,%s,%s,%u,%u\n", (unsigned long long)rows[i].time_start,
                (unsigned long long)rows[i].time_end, a, b, rows[i].src_port, rows[i].dst_port);
    }
    fclose(f);
    snprintf(cmd, sizeof cmd, "tail -n +2 tests/golden/v5_small.csv | cut -d, -f1-6 | diff - %s",
             path);
    ASSERT_EQ(test_run(cmd, &out), 0);
    free(out);
    free(rows);
    /* the segment records the exporter's counters of its interval */
    char **paths;
    int np = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    uint64_t flows = 0;
    for (int i = 0; i < np; i++) {
        seg_file_t *sf;
        seg_where_t wh;
        ASSERT_EQ(seg_open(paths[i], &sf, &wh), 0);
        for (uint32_t e = 0; e < seg_n_exporters(sf); e++)
            flows += seg_exporters(sf)[e].flows;
        seg_close(sf);
    }
    seg_dir_list_free(paths, np);
    ASSERT_UINT64_EQ(flows, 1000);
    /* a bad instance name is a usage error */
    snprintf(cmd, sizeof cmd, "%s --read tests/golden/v5_small.pcap -w %s -i 'a/b' 2>/dev/null",
             test_bin("flowhuntd"), dir);
    ASSERT_EQ(test_run(cmd, &out), 2);
    free(out);
    return 0;
}
