/* test_templates.c: NetFlow v9 and IPFIX decoding against hand-built datagrams.
 *
 * Each datagram is written field by field here (bb_*), from the RFCs, so the decoders are
 * checked against the formats rather than against our own encoders. Covered: template then
 * data, data held before its template and decoded when it arrives (RFC 3954 section 9),
 * held data expiring, options data teaching sampling (v9 fields 34/48, PSAMP 302/305/306),
 * template redefinition and withdrawal (RFC 7011 8.1), enterprise and variable-length fields,
 * reduced-size integers, every time encoding, biflow reverse counters (RFC 5103), delta
 * versus total counters, sequence accounting through ingest, every truncation against a
 * guard page, and malformed sets and templates counted by name.
 */
#include <string.h>

#include "ingest.h"
#include "ipfix.h"
#include "nf9.h"
#include "pcap_write.h"
#include "task.h"

/* ---- a byte builder ---------------------------------------------------------------------- */

typedef struct bb {
    uint8_t b[4096];
    size_t n;
    size_t set_at; /* where the open set's header is */
} bb_t;

static void bb_u8(bb_t *b, uint64_t v)
{
    ASSERT_LT(b->n, sizeof b->b);
    b->b[b->n++] = (uint8_t)v;
}
static void bb_u16(bb_t *b, uint64_t v)
{
    bb_u8(b, v >> 8);
    bb_u8(b, v);
}
static void bb_u32(bb_t *b, uint64_t v)
{
    bb_u16(b, v >> 16);
    bb_u16(b, v);
}
static void bb_u64(bb_t *b, uint64_t v)
{
    bb_u32(b, v >> 32);
    bb_u32(b, v);
}
static void bb_ip4(bb_t *b, const char *s)
{
    flow_addr_t a;
    ASSERT_EQ(flow_addr_parse(&a, s), 0);
    for (int i = 12; i < 16; i++)
        bb_u8(b, a.b[i]);
}
static void bb_ip6(bb_t *b, const char *s)
{
    flow_addr_t a;
    ASSERT_EQ(flow_addr_parse(&a, s), 0);
    for (int i = 0; i < 16; i++)
        bb_u8(b, a.b[i]);
}
static void bb_put16(bb_t *b, size_t at, uint64_t v)
{
    b->b[at] = (uint8_t)(v >> 8);
    b->b[at + 1] = (uint8_t)v;
}
static void bb_set_open(bb_t *b, uint16_t id)
{
    b->set_at = b->n;
    bb_u16(b, id);
    bb_u16(b, 0);
}
/* Closes the set with `pad` zero bytes of padding included in its length. */
static void bb_set_close(bb_t *b, int pad)
{
    for (int i = 0; i < pad; i++)
        bb_u8(b, 0);
    bb_put16(b, b->set_at + 2, b->n - b->set_at);
}

#define T0_SECS 1764000000u /* export time of the test datagrams */
#define T0_UPTIME 100000u   /* sysUptime at T0 (v9) */

static void nf9_hdr(bb_t *b, uint32_t secs, uint32_t uptime, uint32_t seq, uint32_t source_id)
{
    b->n = 0;
    bb_u16(b, 9);
    bb_u16(b, 0); /* count: not trusted, so left 0 on purpose */
    bb_u32(b, uptime);
    bb_u32(b, secs);
    bb_u32(b, seq);
    bb_u32(b, source_id);
}

static void ipfix_hdr(bb_t *b, uint32_t secs, uint32_t seq, uint32_t domain)
{
    b->n = 0;
    bb_u16(b, 10);
    bb_u16(b, 0); /* patched by ipfix_done */
    bb_u32(b, secs);
    bb_u32(b, seq);
    bb_u32(b, domain);
}

static void ipfix_done(bb_t *b)
{
    bb_put16(b, 2, b->n);
}

/* ---- decoding into a list -------------------------------------------------------------- */

typedef struct run {
    tpl_cache_t cache;
    dec_counts_t counts;
    flow_addr_t exporter;
    flow_rec_t f[64];
    int n;
} run_t;

static void run_sink(void *arg, const flow_rec_t *rec)
{
    run_t *r = arg;
    if (r->n < 64)
        r->f[r->n] = *rec;
    r->n++;
}

static void run_init(run_t *r)
{
    memset(r, 0, sizeof *r);
    tpl_cache_init(&r->cache);
    flow_addr_parse(&r->exporter, "192.0.2.10");
}

static int run_dgram(run_t *r, const uint8_t *p, size_t len, dec_out_t *out)
{
    dec_out_t o = {.sink = run_sink, .sink_arg = r, .counts = &r->counts};
    int rc = p[1] == 9 ? nf9_decode(p, len, &r->exporter, &r->cache, 0, &o)
                       : ipfix_decode(p, len, &r->exporter, &r->cache, 0, &o);
    if (out)
        *out = o;
    return rc;
}

static int run_bb(run_t *r, bb_t *b)
{
    return run_dgram(r, b->b, b->n, NULL);
}

static const tpl_scope_t *run_scope(run_t *r, uint16_t version, uint32_t domain)
{
    return tpl_scope_get(&r->cache, &r->exporter, version, domain);
}

static void expect_addr(const flow_addr_t *a, const char *want)
{
    char s[FLOW_ADDR_STRLEN];
    flow_addr_format(a, s);
    ASSERT_STR_EQ(s, want);
}

static void expect_no_errors(const run_t *r)
{
    for (int k = 1; k < DEC_N_ERRORS; k++)
        if (r->counts.n[k])
            TEST_FAIL_AT("unexpected malformation %s counted %llu times", dec_err_name(k),
                         (unsigned long long)r->counts.n[k]);
}

/* ---- NetFlow v9 ------------------------------------------------------------------------- */

/* Template 256: srcaddr, dstaddr, sport, dport, proto, flags, pkts (4 bytes), bytes (8),
 * FIRST_SWITCHED, LAST_SWITCHED, input (2), output (2), direction. 37 bytes a record. */
static void nf9_tpl256(bb_t *b)
{
    static const uint16_t f[][2] = {{8, 4}, {12, 4}, {7, 2},  {11, 2}, {4, 1},  {6, 1}, {2, 4},
                                    {1, 8}, {22, 4}, {21, 4}, {10, 2}, {14, 2}, {61, 1}};
    bb_set_open(b, 0);
    bb_u16(b, 256);
    bb_u16(b, sizeof f / sizeof f[0]);
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        bb_u16(b, f[i][0]);
        bb_u16(b, f[i][1]);
    }
    bb_set_close(b, 0);
}

static void nf9_rec256(bb_t *b, const char *src, const char *dst, uint16_t sport, uint32_t first,
                       uint32_t last)
{
    bb_ip4(b, src);
    bb_ip4(b, dst);
    bb_u16(b, sport);
    bb_u16(b, 443);
    bb_u8(b, 6);
    bb_u8(b, 0x1b);
    bb_u32(b, 12);
    bb_u64(b, 5000000000ull); /* more than 32 bits */
    bb_u32(b, first);
    bb_u32(b, last);
    bb_u16(b, 7);
    bb_u16(b, 9);
    bb_u8(b, 1);
}

static void nf9_data256(bb_t *b, int n, int pad)
{
    bb_set_open(b, 256);
    for (int i = 0; i < n; i++)
        nf9_rec256(b, "10.0.0.1", "192.0.2.99", (uint16_t)(40000 + i), T0_UPTIME - 5000,
                   T0_UPTIME - 1000);
    bb_set_close(b, pad);
}

TEST_IMPL(nf9_template_and_data)
{
    run_t r;
    bb_t b;
    run_init(&r);
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 7);
    nf9_tpl256(&b);
    nf9_data256(&b, 2, 2); /* 2 bytes of padding: ignored */
    dec_out_t out;
    ASSERT_EQ(run_dgram(&r, b.b, b.n, &out), 2);
    ASSERT_EQ(r.n, 2);
    expect_no_errors(&r);
    ASSERT_EQ(out.hdr.version, 9);
    ASSERT_EQ(out.hdr.obs_domain, 7);
    ASSERT_EQ(out.hdr.sequence, 1);
    ASSERT_EQ(out.hdr.seq_units, 1);
    const flow_rec_t *f = &r.f[1];
    expect_addr(&f->src_addr, "10.0.0.1");
    expect_addr(&f->dst_addr, "192.0.2.99");
    expect_addr(&f->exporter, "192.0.2.10");
    ASSERT_EQ(f->src_port, 40001);
    ASSERT_EQ(f->dst_port, 443);
    ASSERT_EQ(f->proto, 6);
    ASSERT_EQ(f->tcp_flags, 0x1b);
    ASSERT_UINT64_EQ(f->packets, 12);
    ASSERT_UINT64_EQ(f->bytes, 5000000000ull);
    ASSERT_UINT64_EQ(f->time_start, T0_SECS * 1000ull - 5000);
    ASSERT_UINT64_EQ(f->time_end, T0_SECS * 1000ull - 1000);
    ASSERT_EQ(f->in_if, 7);
    ASSERT_EQ(f->out_if, 9);
    ASSERT_EQ(f->direction, 1);
    ASSERT_EQ(f->obs_domain, 7);
    ASSERT_EQ(f->sampling, 1);
    ASSERT(!FLOW_HAS(f, src_as));
    ASSERT(!FLOW_HAS(f, vlan));
    ASSERT_EQ(run_scope(&r, 9, 7)->n_templates, 1);
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(nf9_held_until_template)
{
    run_t r;
    bb_t b;
    run_init(&r);
    /* data first: nothing comes out, the set is held */
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 7);
    nf9_data256(&b, 3, 0);
    ASSERT_EQ(run_bb(&r, &b), 0);
    ASSERT_EQ(r.n, 0);
    const tpl_scope_t *s = run_scope(&r, 9, 7);
    ASSERT_EQ(s->n_held, 1);
    ASSERT_UINT64_EQ(s->stats.sets_held, 1);
    /* the template, 30 s later: the held records come out, timed by their own datagram */
    nf9_hdr(&b, T0_SECS + 30, T0_UPTIME + 30000, 2, 7);
    nf9_tpl256(&b);
    ASSERT_EQ(run_bb(&r, &b), 3);
    ASSERT_EQ(r.n, 3);
    ASSERT_UINT64_EQ(r.f[0].time_end, T0_SECS * 1000ull - 1000);
    ASSERT_EQ(s->n_held, 0);
    ASSERT_UINT64_EQ(s->stats.held_decoded, 1);
    ASSERT_UINT64_EQ(s->stats.held_flows, 3);
    /* data and then its template in one datagram (nf9_data+templates_samepacket) */
    run_t r2;
    run_init(&r2);
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 7);
    nf9_data256(&b, 2, 0);
    nf9_tpl256(&b);
    ASSERT_EQ(run_bb(&r2, &b), 2);
    expect_no_errors(&r2);
    tpl_cache_free(&r.cache);
    tpl_cache_free(&r2.cache);
    return 0;
}

TEST_IMPL(nf9_held_expires)
{
    run_t r;
    bb_t b;
    run_init(&r);
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 7);
    nf9_data256(&b, 1, 0);
    run_bb(&r, &b);
    /* another datagram of the domain, past the holding time, without the template */
    nf9_hdr(&b, T0_SECS + TPL_HELD_MAX_AGE_MS / 1000 + 5, T0_UPTIME + TPL_HELD_MAX_AGE_MS + 5000, 2,
            7);
    bb_set_open(&b, 300); /* data of another unknown template */
    bb_u32(&b, 0);
    bb_set_close(&b, 0);
    run_bb(&r, &b);
    const tpl_scope_t *s = run_scope(&r, 9, 7);
    ASSERT_UINT64_EQ(s->stats.held_expired, 1);
    ASSERT_EQ(s->n_held, 1); /* the new set waits */
    /* the template arrives: the expired set is gone for good */
    nf9_hdr(&b, T0_SECS + 200, T0_UPTIME + 200000, 3, 7);
    nf9_tpl256(&b);
    ASSERT_EQ(run_bb(&r, &b), 0);
    ASSERT_EQ(r.n, 0);
    /* holding is bounded: sets beyond the bound are refused and counted */
    for (int i = 0; i < TPL_HELD_MAX_SETS + 10; i++) {
        nf9_hdr(&b, T0_SECS + 200, T0_UPTIME + 200000, 4 + (uint32_t)i, 7);
        bb_set_open(&b, 400);
        bb_u32(&b, (uint32_t)i);
        bb_set_close(&b, 0);
        run_bb(&r, &b);
    }
    ASSERT_EQ(s->n_held, TPL_HELD_MAX_SETS);
    ASSERT_UINT64_EQ(s->stats.held_refused, 11); /* 1 waiting before + 10 over */
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(nf9_options_sampling)
{
    run_t r;
    bb_t b;
    run_init(&r);
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 0);
    /* options template 257: scope System (4 bytes); FLOW_SAMPLER_ID (1), SAMPLING_INTERVAL
     * (4). Options template 258: scope System; SAMPLING_INTERVAL alone (the default). */
    bb_set_open(&b, 1);
    bb_u16(&b, 257);
    bb_u16(&b, 4);
    bb_u16(&b, 8);
    bb_u16(&b, 1);
    bb_u16(&b, 4);
    bb_u16(&b, 48);
    bb_u16(&b, 1);
    bb_u16(&b, 34);
    bb_u16(&b, 4);
    bb_u16(&b, 258);
    bb_u16(&b, 4);
    bb_u16(&b, 4);
    bb_u16(&b, 1);
    bb_u16(&b, 4);
    bb_u16(&b, 34);
    bb_u16(&b, 4);
    bb_set_close(&b, 2);
    /* data template 259: srcaddr, FLOW_SAMPLER_ID */
    bb_set_open(&b, 0);
    bb_u16(&b, 259);
    bb_u16(&b, 2);
    bb_u16(&b, 8);
    bb_u16(&b, 4);
    bb_u16(&b, 48);
    bb_u16(&b, 1);
    bb_set_close(&b, 0);
    /* options data: sampler 3 samples 1 in 100, sampler 4 1 in 1000; default 1 in 10 */
    bb_set_open(&b, 257);
    bb_u32(&b, 0);
    bb_u8(&b, 3);
    bb_u32(&b, 100);
    bb_u32(&b, 0);
    bb_u8(&b, 4);
    bb_u32(&b, 1000);
    bb_set_close(&b, 2);
    bb_set_open(&b, 258);
    bb_u32(&b, 0);
    bb_u32(&b, 10);
    bb_set_close(&b, 0);
    /* flows of sampler 3, 4 and 9 (unknown: the domain's default) */
    bb_set_open(&b, 259);
    bb_ip4(&b, "10.0.0.3");
    bb_u8(&b, 3);
    bb_ip4(&b, "10.0.0.4");
    bb_u8(&b, 4);
    bb_ip4(&b, "10.0.0.9");
    bb_u8(&b, 9);
    bb_set_close(&b, 1);
    ASSERT_EQ(run_bb(&r, &b), 3);
    expect_no_errors(&r);
    ASSERT_EQ(r.f[0].sampling, 100);
    ASSERT_EQ(r.f[1].sampling, 1000);
    ASSERT_EQ(r.f[2].sampling, 10);
    ASSERT_UINT64_EQ(run_scope(&r, 9, 0)->stats.options_records, 3);
    /* a scope field is never taken for the element of the same number: System (1) is not
     * octetDeltaCount, so no flow has bytes */
    ASSERT(!FLOW_HAS(&r.f[0], bytes));
    /* Options template 260 as akvorado's capture has it: FLOW_SAMPLER_RANDOM_INTERVAL (50)
     * 100, then SAMPLING_INTERVAL (34) 0: a zero is "not given", not "unsampled" (sampler 5
     * read as 1 in 1, however the fields were ordered) */
    r.n = 0;
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 2, 0);
    bb_set_open(&b, 1);
    bb_u16(&b, 260);
    bb_u16(&b, 4);
    bb_u16(&b, 12);
    bb_u16(&b, 1);
    bb_u16(&b, 4);
    bb_u16(&b, 48);
    bb_u16(&b, 1);
    bb_u16(&b, 50);
    bb_u16(&b, 4);
    bb_u16(&b, 34);
    bb_u16(&b, 4);
    bb_set_close(&b, 2);
    bb_set_open(&b, 260);
    bb_u32(&b, 0);
    bb_u8(&b, 5);
    bb_u32(&b, 100);
    bb_u32(&b, 0);
    bb_set_close(&b, 3);
    bb_set_open(&b, 259);
    bb_ip4(&b, "10.0.0.5");
    bb_u8(&b, 5);
    bb_set_close(&b, 3);
    ASSERT_EQ(run_bb(&r, &b), 1);
    expect_no_errors(&r);
    ASSERT_EQ(r.n, 1);
    expect_addr(&r.f[0].src_addr, "10.0.0.5");
    ASSERT_EQ(r.f[0].sampling, 100);
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(nf9_redefinition_and_restart)
{
    run_t r;
    bb_t b;
    run_init(&r);
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 10, 1);
    nf9_tpl256(&b);
    run_bb(&r, &b);
    /* 256 redefined as just a destination port: data after it uses the new layout */
    nf9_hdr(&b, T0_SECS + 1, T0_UPTIME + 1000, 11, 1);
    bb_set_open(&b, 0);
    bb_u16(&b, 256);
    bb_u16(&b, 1);
    bb_u16(&b, 11);
    bb_u16(&b, 2);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    bb_u16(&b, 53);
    bb_u16(&b, 123);
    bb_set_close(&b, 0);
    ASSERT_EQ(run_bb(&r, &b), 2);
    ASSERT_EQ(r.f[0].dst_port, 53);
    ASSERT_EQ(r.f[1].dst_port, 123);
    ASSERT(!FLOW_HAS(&r.f[0], src_addr));
    const tpl_scope_t *s = run_scope(&r, 9, 1);
    ASSERT_UINT64_EQ(s->stats.templates_replaced, 1);
    /* the same definition again is a refresh, not a replacement */
    run_bb(&r, &b);
    ASSERT_UINT64_EQ(s->stats.templates_replaced, 1);
    /* a late datagram (earlier export time and sysUptime, same boot) is not a restart */
    nf9_hdr(&b, T0_SECS - 100, T0_UPTIME - 100000 + 50, 9, 1);
    run_bb(&r, &b);
    ASSERT_UINT64_EQ(s->stats.restarts, 0);
    ASSERT_EQ(s->n_templates, 1);
    /* the exporter reboots: sysUptime small, export time later, sequence starts again */
    r.cache.saved_generation = r.cache.generation; /* as after a save of the templates */
    nf9_hdr(&b, T0_SECS + 600, 5000, 0, 1);
    bb_set_open(&b, 256);
    bb_u16(&b, 80);
    bb_set_close(&b, 2);
    ASSERT_EQ(run_bb(&r, &b), 0); /* held: the old templates are gone */
    ASSERT_UINT64_EQ(s->stats.restarts, 1);
    ASSERT_EQ(s->n_templates, 0);
    ASSERT_EQ(s->n_held, 1);
    /* what is saved changed: a daemon restarted now must not restore the templates of the
     * exporter's earlier boot */
    ASSERT(r.cache.generation != r.cache.saved_generation);
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(nf9_malformed_sets)
{
    run_t r;
    bb_t b;
    run_init(&r);
    /* a FlowSet length of 3: the rest of the datagram is dropped and counted */
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 0);
    nf9_tpl256(&b);
    bb_u16(&b, 256);
    bb_u16(&b, 3);
    bb_u32(&b, 0);
    ASSERT_EQ(run_bb(&r, &b), 0);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_SET_LENGTH], 1);
    /* a FlowSet longer than the datagram */
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 2, 0);
    bb_u16(&b, 256);
    bb_u16(&b, 400);
    bb_u32(&b, 0);
    run_bb(&r, &b);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_SET_LENGTH], 2);
    /* reserved FlowSet id, template id below 256, zero-length-only template, a template
     * whose fields run past the set */
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 3, 0);
    bb_set_open(&b, 7);
    bb_u32(&b, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 0);
    bb_u16(&b, 200);
    bb_u16(&b, 1);
    bb_u16(&b, 8);
    bb_u16(&b, 4);
    bb_u16(&b, 300);
    bb_u16(&b, 2);
    bb_u16(&b, 8);
    bb_u16(&b, 0);
    bb_u16(&b, 12);
    bb_u16(&b, 0);
    bb_u16(&b, 301);
    bb_u16(&b, 50);
    bb_u16(&b, 8);
    bb_u16(&b, 4);
    bb_set_close(&b, 0);
    run_bb(&r, &b);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_SET_RESERVED], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_TPL_BAD_ID], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_TPL_EMPTY], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_TPL_TRUNCATED], 1);
    ASSERT_EQ(run_scope(&r, 9, 0)->n_templates, 1); /* only 256 */
    /* an address field of the wrong length is skipped, not misread, and counted; fields of
     * length 0 (nf9_0length_fields) take no bytes */
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 4, 0);
    bb_set_open(&b, 0);
    bb_u16(&b, 260);
    bb_u16(&b, 3);
    bb_u16(&b, 8);
    bb_u16(&b, 6);
    bb_u16(&b, 15);
    bb_u16(&b, 0);
    bb_u16(&b, 7);
    bb_u16(&b, 2);
    bb_set_close(&b, 0);
    bb_set_open(&b, 260);
    bb_u32(&b, 0x0a000001);
    bb_u16(&b, 0x0203);
    bb_u16(&b, 5353);
    bb_set_close(&b, 0);
    r.n = 0;
    ASSERT_EQ(run_bb(&r, &b), 1);
    ASSERT(!FLOW_HAS(&r.f[0], src_addr));
    ASSERT_EQ(r.f[0].src_port, 5353);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_TPL_FIELD_LENGTH], 1);
    /* not a v9 header */
    ASSERT_EQ(run_dgram(&r, b.b, 19, NULL), -DEC_E_SHORT_HEADER);
    tpl_cache_free(&r.cache);
    return 0;
}

/* Every prefix of a valid datagram, in a fresh cache, against a guard page. */
static void every_truncation(const bb_t *full, int full_flows)
{
    for (size_t len = 0; len <= full->n; len++) {
        run_t r;
        run_init(&r);
        uint8_t *p = test_guard_copy(full->b, len);
        dec_out_t o = {.sink = run_sink, .sink_arg = &r, .counts = &r.counts};
        int rc = full->b[1] == 9 ? nf9_decode(p, len, &r.exporter, &r.cache, 0, &o)
                                 : ipfix_decode(p, len, &r.exporter, &r.cache, 0, &o);
        test_guard_free(p);
        ASSERT_LE(r.n, full_flows);
        if (len == full->n)
            ASSERT_EQ(rc, full_flows);
        else if (rc < 0)
            ASSERT_EQ(r.n, 0);
        tpl_cache_free(&r.cache);
    }
}

TEST_IMPL(nf9_every_truncation)
{
    bb_t b;
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 7);
    nf9_tpl256(&b);
    nf9_data256(&b, 3, 1);
    every_truncation(&b, 3);
    return 0;
}

/* ---- IPFIX ------------------------------------------------------------------------------ */

static void ipfix_field(bb_t *b, uint16_t id, uint16_t len, uint32_t pen)
{
    bb_u16(b, pen ? (id | 0x8000u) : id);
    bb_u16(b, len);
    if (pen)
        bb_u32(b, pen);
}

TEST_IMPL(ipfix_template_and_data)
{
    run_t r;
    bb_t b;
    run_init(&r);
    ipfix_hdr(&b, T0_SECS, 0, 5);
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, 11);
    ipfix_field(&b, 27, 16, 0);    /* sourceIPv6Address */
    ipfix_field(&b, 28, 16, 0);    /* destinationIPv6Address */
    ipfix_field(&b, 7, 2, 0);      /* sourceTransportPort */
    ipfix_field(&b, 11, 2, 0);     /* destinationTransportPort */
    ipfix_field(&b, 4, 1, 0);      /* protocolIdentifier */
    ipfix_field(&b, 1, 4, 0);      /* octetDeltaCount, reduced to 4 bytes */
    ipfix_field(&b, 2, 2, 0);      /* packetDeltaCount, reduced to 2 bytes */
    ipfix_field(&b, 12235, 4, 9);  /* a Cisco enterprise element we do not know */
    ipfix_field(&b, 82, 65535, 0); /* interfaceName, variable length */
    ipfix_field(&b, 152, 8, 0);    /* flowStartMilliseconds */
    ipfix_field(&b, 153, 8, 0);    /* flowEndMilliseconds */
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    for (int i = 0; i < 2; i++) {
        bb_ip6(&b, "2001:db8::1");
        bb_ip6(&b, "2001:db8:0:1::53");
        bb_u16(&b, 5353);
        bb_u16(&b, 53);
        bb_u8(&b, 17);
        bb_u32(&b, 3000000000u);
        bb_u16(&b, 700);
        bb_u32(&b, 0xdeadbeef);
        if (i == 0) { /* one-byte length form */
            bb_u8(&b, 4);
            bb_u32(&b, 0x65746830); /* "eth0" */
        } else {                    /* three-byte form, legal for short values too (RFC 7011 7) */
            bb_u8(&b, 255);
            bb_u16(&b, 3);
            bb_u8(&b, 'l');
            bb_u8(&b, 'o');
            bb_u8(&b, '0');
        }
        bb_u64(&b, T0_SECS * 1000ull - 2500);
        bb_u64(&b, T0_SECS * 1000ull - 10);
    }
    bb_set_close(&b, 3);
    ipfix_done(&b);
    dec_out_t out;
    ASSERT_EQ(run_dgram(&r, b.b, b.n, &out), 2);
    expect_no_errors(&r);
    ASSERT_EQ(out.hdr.version, 10);
    ASSERT_EQ(out.hdr.obs_domain, 5);
    ASSERT_EQ(out.hdr.seq_units, 2);
    for (int i = 0; i < 2; i++) {
        const flow_rec_t *f = &r.f[i];
        expect_addr(&f->src_addr, "2001:db8::1");
        expect_addr(&f->dst_addr, "2001:db8:0:1::53");
        ASSERT_EQ(f->src_port, 5353);
        ASSERT_EQ(f->dst_port, 53);
        ASSERT_EQ(f->proto, 17);
        ASSERT_UINT64_EQ(f->bytes, 3000000000u);
        ASSERT_UINT64_EQ(f->packets, 700);
        ASSERT_UINT64_EQ(f->time_start, T0_SECS * 1000ull - 2500);
        ASSERT_UINT64_EQ(f->time_end, T0_SECS * 1000ull - 10);
        ASSERT_EQ(f->obs_domain, 5);
    }
    tpl_cache_free(&r.cache);
    return 0;
}

/* One template carrying one start/end pair in the given elements; returns the flow. */
static flow_rec_t ipfix_time_case(uint16_t ie_start, uint16_t ie_end, uint16_t len,
                                  uint64_t v_start, uint64_t v_end, int with_sysinit,
                                  uint64_t sysinit)
{
    run_t r;
    bb_t b;
    run_init(&r);
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, with_sysinit ? 3 : 2);
    ipfix_field(&b, ie_start, len, 0);
    ipfix_field(&b, ie_end, len, 0);
    if (with_sysinit)
        ipfix_field(&b, 160, 8, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    if (len == 4) {
        bb_u32(&b, v_start);
        bb_u32(&b, v_end);
    } else {
        bb_u64(&b, v_start);
        bb_u64(&b, v_end);
    }
    if (with_sysinit)
        bb_u64(&b, sysinit);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    ASSERT_EQ(run_bb(&r, &b), 1);
    expect_no_errors(&r);
    flow_rec_t f = r.f[0];
    tpl_cache_free(&r.cache);
    return f;
}

TEST_IMPL(ipfix_time_encodings)
{
    const uint64_t t0 = T0_SECS * 1000ull;
    const uint64_t ntp = (uint64_t)(T0_SECS + 2208988800u) << 32;
    flow_rec_t f;
    /* 150/151 seconds */
    f = ipfix_time_case(150, 151, 4, T0_SECS - 9, T0_SECS - 1, 0, 0);
    ASSERT_UINT64_EQ(f.time_start, t0 - 9000);
    ASSERT_UINT64_EQ(f.time_end, t0 - 1000);
    /* 154/155 microseconds, NTP format: .5 s and .25 s */
    f = ipfix_time_case(154, 155, 8, ntp - (1ull << 31), ntp + (1ull << 30), 0, 0);
    ASSERT_UINT64_EQ(f.time_start, t0 - 500);
    ASSERT_UINT64_EQ(f.time_end, t0 + 250);
    /* 156/157 nanoseconds, NTP format too (RFC 7011 6.1.10) */
    f = ipfix_time_case(156, 157, 8, ntp + 0x80000000ull, ntp + 0xffffffffull, 0, 0);
    ASSERT_UINT64_EQ(f.time_start, t0 + 500);
    ASSERT_UINT64_EQ(f.time_end, t0 + 999);
    /* 158/159 microseconds before the export time; 1.5 ms before it rounds down, as the
     * other encodings do (t0 - 1.5 ms lies in the millisecond t0 - 2) */
    f = ipfix_time_case(158, 159, 4, 3000000, 1500, 0, 0);
    ASSERT_UINT64_EQ(f.time_start, t0 - 3000);
    ASSERT_UINT64_EQ(f.time_end, t0 - 2);
    /* 22/21 sysUpTime with 160 in the record */
    f = ipfix_time_case(22, 21, 4, 1000, 4000, 1, t0 - 60000);
    ASSERT_UINT64_EQ(f.time_start, t0 - 59000);
    ASSERT_UINT64_EQ(f.time_end, t0 - 56000);
    /* 22/21 with a systemInitTimeMilliseconds of 0 in the record and none from options data:
     * no origin either, not the epoch (nor a time placed by the export time's wrap) */
    f = ipfix_time_case(22, 21, 4, 1000, 4000, 1, 0);
    ASSERT(!FLOW_HAS(&f, time_start));
    ASSERT(!FLOW_HAS(&f, time_end));
    /* 22/21 without any systemInitTimeMilliseconds: the times cannot be placed: absent */
    f = ipfix_time_case(22, 21, 4, 1000, 4000, 0, 0);
    ASSERT(!FLOW_HAS(&f, time_start));
    ASSERT(!FLOW_HAS(&f, time_end));
    return 0;
}

/* Options template 300 (scope observationDomainId 149, systemInitTimeMilliseconds 160) and
 * one record of it announcing `sysinit`. */
static void ipfix_sysinit_options(bb_t *b, uint64_t sysinit)
{
    bb_set_open(b, 3);
    bb_u16(b, 300);
    bb_u16(b, 2);
    bb_u16(b, 1);
    ipfix_field(b, 149, 4, 0);
    ipfix_field(b, 160, 8, 0);
    bb_set_close(b, 2);
    bb_set_open(b, 300);
    bb_u32(b, 1);
    bb_u64(b, sysinit);
    bb_set_close(b, 0);
}

TEST_IMPL(ipfix_sysinit_from_options)
{
    run_t r;
    bb_t b;
    run_init(&r);
    const uint64_t t0 = T0_SECS * 1000ull;
    ipfix_hdr(&b, T0_SECS, 0, 1);
    ipfix_sysinit_options(&b, t0 - 3600000);
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, 2);
    ipfix_field(&b, 22, 4, 0);
    ipfix_field(&b, 21, 4, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    bb_u32(&b, 10);
    bb_u32(&b, 20);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    dec_out_t out;
    ASSERT_EQ(run_dgram(&r, b.b, b.n, &out), 1);
    expect_no_errors(&r);
    ASSERT_UINT64_EQ(r.f[0].time_start, t0 - 3600000 + 10);
    ASSERT_UINT64_EQ(r.f[0].time_end, t0 - 3600000 + 20);
    /* the sequence counts options records as well (RFC 7011 3.1) */
    ASSERT_EQ(out.hdr.seq_units, 2);
    tpl_cache_free(&r.cache);
    return 0;
}

/* flowStart/EndSysUpTime are 32-bit ms: on an exporter up longer than 49.7 days they have
 * wrapped, and the export time tells by how many 2^32 ms (here once: up 60 days). */
TEST_IMPL(ipfix_sysuptime_wraps)
{
    run_t r;
    bb_t b;
    run_init(&r);
    const uint64_t t0 = T0_SECS * 1000ull, up = 60ull * 86400000;
    ipfix_hdr(&b, T0_SECS, 0, 1);
    ipfix_sysinit_options(&b, t0 - up);
    bb_set_open(&b, 2);
    bb_u16(&b, 256); /* the origin from options data */
    bb_u16(&b, 2);
    ipfix_field(&b, 22, 4, 0);
    ipfix_field(&b, 21, 4, 0);
    bb_u16(&b, 257); /* the origin in the record itself */
    bb_u16(&b, 3);
    ipfix_field(&b, 22, 4, 0);
    ipfix_field(&b, 21, 4, 0);
    ipfix_field(&b, 160, 8, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    bb_u32(&b, (uint32_t)(up - 10000));
    bb_u32(&b, (uint32_t)(up - 1000));
    bb_set_close(&b, 0);
    bb_set_open(&b, 257);
    bb_u32(&b, (uint32_t)(up - 20000));
    bb_u32(&b, (uint32_t)(up + 500)); /* half a second past the whole-second export time */
    bb_u64(&b, t0 - up);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    dec_out_t out;
    ASSERT_EQ(run_dgram(&r, b.b, b.n, &out), 2);
    expect_no_errors(&r);
    ASSERT_UINT64_EQ(r.f[0].time_start, t0 - 10000);
    ASSERT_UINT64_EQ(r.f[0].time_end, t0 - 1000);
    ASSERT_UINT64_EQ(r.f[1].time_start, t0 - 20000);
    ASSERT_UINT64_EQ(r.f[1].time_end, t0 + 500);
    tpl_cache_free(&r.cache);
    return 0;
}

/* Options data scoped by an interface (RFC 3954 6.1, scope type 2) announce that interface's
 * rate: a flow takes the rate of its input interface, not the last one announced; a flow of
 * an interface never announced takes that last one, as before. The same in IPFIX with the
 * scope ingressInterface (10). */
TEST_IMPL(nf9_options_sampling_per_interface)
{
    for (int ipfix = 0; ipfix < 2; ipfix++) {
        run_t r;
        bb_t b;
        run_init(&r);
        if (ipfix) {
            ipfix_hdr(&b, T0_SECS, 0, 1);
            bb_set_open(&b, 3); /* 300: scope ingressInterface; samplingInterval */
            bb_u16(&b, 300);
            bb_u16(&b, 2);
            bb_u16(&b, 1);
            ipfix_field(&b, 10, 4, 0);
            ipfix_field(&b, 34, 4, 0);
            bb_set_close(&b, 2);
        } else {
            nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 0);
            bb_set_open(&b, 1); /* 300: scopes System and Interface; SAMPLING_INTERVAL */
            bb_u16(&b, 300);
            bb_u16(&b, 8);
            bb_u16(&b, 4);
            bb_u16(&b, 1);
            bb_u16(&b, 4);
            bb_u16(&b, 2);
            bb_u16(&b, 4);
            bb_u16(&b, 34);
            bb_u16(&b, 4);
            bb_set_close(&b, 2);
        }
        bb_set_open(&b, 300); /* interface 3 samples 1 in 100, interface 4 1 in 1000 */
        for (uint32_t i = 3; i <= 4; i++) {
            if (!ipfix)
                bb_u32(&b, 0);
            bb_u32(&b, i);
            bb_u32(&b, i == 3 ? 100 : 1000);
        }
        bb_set_close(&b, 0);
        bb_set_open(&b, ipfix ? 2 : 0); /* 259: srcaddr, INPUT_SNMP */
        bb_u16(&b, 259);
        bb_u16(&b, 2);
        bb_u16(&b, 8);
        bb_u16(&b, 4);
        bb_u16(&b, 10);
        bb_u16(&b, 2);
        bb_set_close(&b, 0);
        bb_set_open(&b, 259);
        for (uint16_t i = 3; i <= 5; i++) {
            bb_ip4(&b, "10.0.0.1");
            bb_u16(&b, i);
        }
        bb_set_close(&b, 2);
        if (ipfix)
            ipfix_done(&b);
        ASSERT_EQ(run_bb(&r, &b), 3);
        expect_no_errors(&r);
        ASSERT_EQ(r.f[0].sampling, 100);
        ASSERT_EQ(r.f[1].sampling, 1000);
        ASSERT_EQ(r.f[2].sampling, 1000); /* interface 5: the last rate announced */
        /* the scope field is not taken for a flow's column: interfaces stay the flows' own */
        ASSERT_EQ(r.f[0].in_if, 3);
        tpl_cache_free(&r.cache);
    }
    return 0;
}

TEST_IMPL(ipfix_withdrawal)
{
    run_t r;
    bb_t b;
    run_init(&r);
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 2);
    for (uint16_t id = 256; id < 259; id++) {
        bb_u16(&b, id);
        bb_u16(&b, 1);
        ipfix_field(&b, 7, 2, 0);
    }
    bb_set_close(&b, 0);
    bb_set_open(&b, 3);
    bb_u16(&b, 400);
    bb_u16(&b, 2);
    bb_u16(&b, 1);
    ipfix_field(&b, 302, 4, 0);
    ipfix_field(&b, 305, 4, 0);
    bb_set_close(&b, 2);
    ipfix_done(&b);
    run_bb(&r, &b);
    const tpl_scope_t *s = run_scope(&r, 10, 1);
    ASSERT_EQ(s->n_templates, 4);
    /* withdraw 257: its data is then held, not decoded with a stale template */
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 2);
    bb_u16(&b, 257);
    bb_u16(&b, 0);
    bb_u16(&b, 999); /* withdrawing an unknown template is counted */
    bb_u16(&b, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 257);
    bb_u16(&b, 1);
    bb_set_close(&b, 2);
    ipfix_done(&b);
    ASSERT_EQ(run_bb(&r, &b), 0);
    ASSERT_EQ(s->n_templates, 3);
    ASSERT_EQ(s->n_held, 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_WITHDRAW_UNKNOWN], 1);
    /* withdraw all templates (id 2): the options template stays */
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 2);
    bb_u16(&b, 2);
    bb_u16(&b, 0);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    run_bb(&r, &b);
    ASSERT_EQ(s->n_templates, 1);
    ASSERT_NOT_NULL(tpl_get(s, 400));
    /* with them the set held for 257: it came before this withdrawal, so under a definition
     * of 257 that it withdrew (a held set does not say which kind its template is) */
    ASSERT_EQ(s->n_held, 0);
    ASSERT_UINT64_EQ(s->stats.held_withdrawn, 1);
    /* withdraw all options templates (id 3 in set 3) */
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 3);
    bb_u16(&b, 3);
    bb_u16(&b, 0);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    run_bb(&r, &b);
    ASSERT_EQ(s->n_templates, 0);
    ASSERT_UINT64_EQ(s->stats.templates_withdrawn, 4);
    /* Data of 600 and 601 before any template: held. 600 is withdrawn, unknown as it is, then
     * defined anew: its held set was encoded with the withdrawn definition and must not be
     * decoded with the new one (here it would read as port 1); 601's waits for its own. */
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 600);
    bb_u16(&b, 1);
    bb_u16(&b, 2);
    bb_set_close(&b, 0);
    bb_set_open(&b, 601);
    bb_u16(&b, 443);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    run_bb(&r, &b);
    ASSERT_EQ(s->n_held, 2);
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 2);
    bb_u16(&b, 600);
    bb_u16(&b, 0);
    bb_u16(&b, 600);
    bb_u16(&b, 1);
    ipfix_field(&b, 7, 2, 0);
    bb_u16(&b, 601);
    bb_u16(&b, 1);
    ipfix_field(&b, 11, 2, 0);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    int flows_before = r.n;
    run_bb(&r, &b);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_WITHDRAW_UNKNOWN], 2);
    ASSERT_EQ(s->n_held, 0);
    ASSERT_UINT64_EQ(s->stats.held_withdrawn, 2);
    ASSERT_UINT64_EQ(s->stats.held_decoded, 1);
    ASSERT_EQ(r.n, flows_before + 1); /* 601's flow alone */
    ASSERT_EQ(r.f[r.n - 1].dst_port, 443);
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(ipfix_biflow_counters_sampling)
{
    run_t r;
    bb_t b;
    run_init(&r);
    ipfix_hdr(&b, T0_SECS, 0, 1);
    /* PSAMP: selector 7 takes 1 packet, skips 99: 1 in 100 */
    bb_set_open(&b, 3);
    bb_u16(&b, 400);
    bb_u16(&b, 3);
    bb_u16(&b, 1);
    ipfix_field(&b, 302, 4, 0);
    ipfix_field(&b, 305, 4, 0);
    ipfix_field(&b, 306, 4, 0);
    bb_set_close(&b, 2);
    bb_set_open(&b, 400);
    bb_u32(&b, 7);
    bb_u32(&b, 1);
    bb_u32(&b, 99);
    bb_set_close(&b, 0);
    /* 256: delta and total octets (delta wins), reverse counters, selector; 257: only a
     * total (it counts), and an IPv4 and an IPv6 source (zeros never overwrite) */
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, 7);
    ipfix_field(&b, 85, 8, 0);
    ipfix_field(&b, 1, 8, 0);
    ipfix_field(&b, 1, 8, TPL_PEN_REVERSE);
    ipfix_field(&b, 2, 4, TPL_PEN_REVERSE);
    ipfix_field(&b, 6, 2, TPL_PEN_REVERSE); /* reverseTcpControlBits: the answer's flags */
    ipfix_field(&b, 302, 4, 0);
    ipfix_field(&b, 233, 1, 0);
    bb_u16(&b, 257);
    bb_u16(&b, 3);
    ipfix_field(&b, 85, 8, 0);
    ipfix_field(&b, 8, 4, 0);
    ipfix_field(&b, 27, 16, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    bb_u64(&b, 999999);
    bb_u64(&b, 1234);
    bb_u64(&b, 4321);
    bb_u32(&b, 9);
    bb_u16(&b, 0x14); /* RST|ACK */
    bb_u32(&b, 7);
    bb_u8(&b, 2);
    bb_set_close(&b, 0);
    bb_set_open(&b, 257);
    bb_u64(&b, 555);
    bb_ip4(&b, "10.9.8.7");
    bb_ip6(&b, "::");
    bb_set_close(&b, 0);
    ipfix_done(&b);
    ASSERT_EQ(run_bb(&r, &b), 2);
    expect_no_errors(&r);
    ASSERT_UINT64_EQ(r.f[0].bytes, 1234);
    ASSERT_UINT64_EQ(r.f[0].rev_bytes, 4321);
    ASSERT_UINT64_EQ(r.f[0].rev_packets, 9);
    ASSERT(FLOW_HAS(&r.f[0], rev_tcp_flags));
    ASSERT_EQ(r.f[0].rev_tcp_flags, 0x14);
    ASSERT_EQ(r.f[0].sampling, 100);
    ASSERT_EQ(r.f[0].fw_event, 2);
    ASSERT(!FLOW_HAS(&r.f[0], packets));
    ASSERT_UINT64_EQ(r.f[1].bytes, 555);
    expect_addr(&r.f[1].src_addr, "10.9.8.7");
    ASSERT_EQ(r.f[1].sampling, 1);
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(ipfix_malformed)
{
    run_t r;
    bb_t b;
    run_init(&r);
    /* the length field says more than the datagram has: dropped */
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_u32(&b, 0);
    bb_put16(&b, 2, 100);
    ASSERT_EQ(run_bb(&r, &b), -DEC_E_MSG_LENGTH);
    /* set length 2; reserved set id 4; options template with scope count 0; variable
     * length running past the set; a field specifier cut by the set's end */
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 4);
    bb_u32(&b, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 3);
    bb_u16(&b, 300);
    bb_u16(&b, 1);
    bb_u16(&b, 0);
    ipfix_field(&b, 149, 4, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, 2);
    ipfix_field(&b, 7, 2, 0);
    ipfix_field(&b, 82, 65535, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    bb_u16(&b, 1);
    bb_u8(&b, 0); /* empty string: a complete record */
    bb_u16(&b, 2);
    bb_u8(&b, 200); /* 200 bytes announced, 3 present */
    bb_u8(&b, 1);
    bb_u16(&b, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 2);
    bb_u16(&b, 257);
    bb_u16(&b, 2);
    ipfix_field(&b, 7, 2, 0);
    bb_u16(&b, 0x8000 | 11); /* enterprise bit, PEN missing */
    bb_u16(&b, 2);
    bb_set_close(&b, 0);
    bb_u16(&b, 256);
    bb_u16(&b, 2);
    ipfix_done(&b);
    ASSERT_EQ(run_bb(&r, &b), 1);
    ASSERT_EQ(r.f[0].src_port, 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_SET_RESERVED], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_TPL_BAD_SCOPE], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_REC_OVERRUN], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_TPL_TRUNCATED], 1);
    ASSERT_UINT64_EQ(r.counts.n[DEC_E_SET_LENGTH], 1);
    ASSERT_NULL(tpl_get(run_scope(&r, 10, 1), 257));
    tpl_cache_free(&r.cache);
    return 0;
}

TEST_IMPL(ipfix_every_truncation)
{
    bb_t b;
    ipfix_hdr(&b, T0_SECS, 0, 5);
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, 3);
    ipfix_field(&b, 8, 4, 0);
    ipfix_field(&b, 82, 65535, 0);
    ipfix_field(&b, 12, 4, 6871);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    for (int i = 0; i < 3; i++) {
        bb_ip4(&b, "10.1.1.1");
        bb_u8(&b, 255);
        bb_u16(&b, 2);
        bb_u16(&b, 0x6869);
        bb_u32(&b, 42);
    }
    bb_set_close(&b, 1);
    ipfix_done(&b);
    /* Prefixes keep the full length field, so each is dropped whole... */
    every_truncation(&b, 3);
    /* ...and with the length field made to agree, decoding reaches into every cut. */
    for (size_t len = IPFIX_HDR_LEN; len < b.n; len++) {
        bb_t t = b;
        bb_put16(&t, 2, len);
        run_t r;
        run_init(&r);
        uint8_t *p = test_guard_copy(t.b, len);
        run_dgram(&r, p, len, NULL);
        test_guard_free(p);
        ASSERT_LE(r.n, 3);
        tpl_cache_free(&r.cache);
    }
    return 0;
}

/* Through ingest: IPFIX sequence numbers count data records, options records included. */
static void ing_sink(void *arg, const flow_rec_t *rec)
{
    (void)rec;
    (*(int *)arg)++;
}

/* One IPFIX message of domain 3 at T0_SECS + secs: `n` data records (template 256, sent
 * along when `init_ms` is set) and, with `init_ms`, an options record announcing the
 * exporter's system init time (IE 160, options template 257): as a (re)started exporter's
 * first message does. Returns the flows ingested. */
static int ipfix_seq_msg(ingest_t *in, const flow_addr_t *exp, uint32_t secs, uint32_t seq, int n,
                         uint64_t init_ms)
{
    bb_t b;
    ipfix_hdr(&b, T0_SECS + secs, seq, 3);
    if (init_ms) {
        bb_set_open(&b, 2);
        bb_u16(&b, 256);
        bb_u16(&b, 1);
        ipfix_field(&b, 7, 2, 0);
        bb_set_close(&b, 0);
        bb_set_open(&b, 3);
        bb_u16(&b, 257);
        bb_u16(&b, 2);
        bb_u16(&b, 1);
        ipfix_field(&b, 149, 4, 0); /* scope: observationDomainId */
        ipfix_field(&b, 160, 8, 0); /* systemInitTimeMilliseconds */
        bb_set_close(&b, 0);
        bb_set_open(&b, 257);
        bb_u32(&b, 3);
        bb_u64(&b, init_ms);
        bb_set_close(&b, 0);
    }
    bb_set_open(&b, 256);
    for (int i = 0; i < n; i++)
        bb_u16(&b, 80);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    return ingest_datagram(in, exp, b.b, b.n, 0);
}

/* An IPFIX exporter that restarts says so by announcing a later system init time in its first
 * message: its sequence starting again 16 records behind is a restart, and the loss after it
 * counts (it was taken for two late messages, and the 10 records lost after them showed as
 * 5). An init time announced again unchanged does not make a far jump back "late": a
 * router's exporting process can restart under the router's own init time. */
TEST_IMPL(ipfix_restart_by_init_time)
{
    ingest_t in;
    int flows = 0;
    flow_addr_t exp;
    flow_addr_parse(&exp, "192.0.2.7");
    ingest_init(&in, INGEST_CLOCK_EXPORT, ing_sink, &flows);
    const uint64_t init = (uint64_t)(T0_SECS - 3600) * 1000;
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 0, 0, 5, init), 5); /* 5 data + 1 options record */
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 1, 6, 5, 0), 5);
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 2, 11, 5, 0), 5);
    /* restarted ten minutes after its first start: again from 0 */
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 3, 0, 5, init + 600000), 5);
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 4, 6, 5, 0), 5);
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 5, 21, 5, 0), 5); /* 11..20 lost */
    exp_domain_t *d = in.exporters.list[0]->domains[0];
    exp_seq_settle(d);
    ASSERT_UINT64_EQ(d->seq_resets, 1);
    ASSERT_UINT64_EQ(d->seq_late, 0);
    ASSERT_UINT64_EQ(d->seq_lost, 10);
    /* the same init time again, the sequence 5,000 behind: a restart, not one late message */
    for (uint32_t k = 0; k < 2; k++)
        ASSERT_EQ(ipfix_seq_msg(&in, &exp, 6 + k, 26 + 5 * k, 5, 0), 5);
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 8, 5036, 5, 0), 5); /* a gap of 5000 */
    ASSERT_EQ(ipfix_seq_msg(&in, &exp, 9, 0, 5, init + 600000), 5);
    exp_seq_settle(d);
    ASSERT_UINT64_EQ(d->seq_resets, 2);
    ASSERT_UINT64_EQ(d->seq_late, 0);
    ASSERT_UINT64_EQ(d->seq_lost, 5010);
    ingest_free(&in);
    return 0;
}

TEST_IMPL(ipfix_sequence_through_ingest)
{
    ingest_t in;
    int flows = 0;
    flow_addr_t exp;
    flow_addr_parse(&exp, "2001:db8::7");
    ingest_init(&in, INGEST_CLOCK_EXPORT, ing_sink, &flows);
    /* the same messages in a capture, for flowhuntd --read below */
    char pcap[4096];
    snprintf(pcap, sizeof pcap, "%s/seq.pcap", test_tmpdir());
    pcapw_t pw;
    flow_addr_t to;
    flow_addr_parse(&to, "2001:db8::1");
    ASSERT_EQ(pcapw_open(&pw, pcap), 0);
    bb_t b;
    uint32_t seq = 1000;
    for (int m = 0; m < 4; m++) {
        ipfix_hdr(&b, T0_SECS + (uint32_t)m, seq, 3);
        if (m == 0) {
            bb_set_open(&b, 2);
            bb_u16(&b, 256);
            bb_u16(&b, 1);
            ipfix_field(&b, 7, 2, 0);
            bb_set_close(&b, 0);
            bb_set_open(&b, 3);
            bb_u16(&b, 257);
            bb_u16(&b, 2);
            bb_u16(&b, 1);
            ipfix_field(&b, 302, 4, 0);
            ipfix_field(&b, 305, 4, 0);
            bb_set_close(&b, 2);
            bb_set_open(&b, 257); /* one options record */
            bb_u32(&b, 1);
            bb_u32(&b, 1);
            bb_set_close(&b, 0);
        }
        bb_set_open(&b, 256); /* five data records; padding must be shorter than one */
        for (int i = 0; i < 5; i++)
            bb_u16(&b, 80);
        bb_set_close(&b, 1);
        ipfix_done(&b);
        ASSERT_EQ(ingest_datagram(&in, &exp, b.b, b.n, 0), 5);
        ASSERT_EQ(
            pcapw_udp(&pw, (T0_SECS + (uint64_t)m) * 1000000000, &exp, 4739, &to, 4739, b.b, b.n),
            0);
        if (m == 0) { /* and 4 bytes after its end in a capture of its own */
            uint8_t trail[sizeof b.b + 4] = {0};
            memcpy(trail, b.b, b.n);
            pcapw_t tw;
            char tp[4096];
            snprintf(tp, sizeof tp, "%s/trail.pcap", test_tmpdir());
            ASSERT_EQ(pcapw_open(&tw, tp), 0);
            ASSERT_EQ(
                pcapw_udp(&tw, T0_SECS * 1000000000ull, &exp, 4739, &to, 4739, trail, b.n + 4), 0);
            ASSERT_EQ(pcapw_close(&tw), 0);
        }
        seq += m == 0 ? 6 : 5;
        if (m == 2)
            seq += 17; /* 17 records lost before the last message */
    }
    ASSERT_EQ(flows, 20);
    exp_domain_t *d = in.exporters.list[0]->domains[0];
    ASSERT_EQ(d->version, 10);
    ASSERT_EQ(d->obs_domain, 3);
    ASSERT_UINT64_EQ(d->seq_lost, 0); /* pending: a late message could still fill it */
    exp_seq_settle(d);                /* the interval's end */
    ASSERT_UINT64_EQ(d->seq_gaps, 1);
    ASSERT_UINT64_EQ(d->seq_lost, 17);
    ASSERT_UINT64_EQ(d->flows, 20);
    ingest_free(&in);
    /* flowhuntd --read ends no segment when it only prints: the loss is counted at the end
     * of the capture (it said "lost 0") */
    ASSERT_EQ(pcapw_close(&pw), 0);
    char *out;
    ASSERT_EQ(test_runf(&out, "{ %s --read %s --print csv 2>&1 >/dev/null; }",
                        test_bin("flowhuntd"), pcap),
              0);
    ASSERT_NOT_NULL(strstr(out, "v10 domain 3: datagrams 4 flows 20 sequence: lost 17 in 1 gaps"));
    free(out);
    /* a malformation that drops nothing is named with what it does, not as "dropped" */
    ASSERT_EQ(test_runf(&out, "{ %s --read %s/trail.pcap --print csv 2>&1 >/dev/null; }",
                        test_bin("flowhuntd"), test_tmpdir()),
              0);
    ASSERT_NOT_NULL(strstr(out, "datagrams 1, flows 5, datagrams dropped 0\n"));
    ASSERT_NOT_NULL(strstr(out, "  malformed ipfix_length_mismatch: 1 (IPFIX message length is "
                                "not the datagram's)\n"));
    free(out);
    /* a router whose every datagram is dropped (a v5 header announcing no flows) stored no
     * flow, and `flowhunt exporters` said nothing of it: a segment of no group now carries
     * its counters, shown over the interval they belong to */
    char bad[4096], store[4096];
    snprintf(bad, sizeof bad, "%s/broken.pcap", test_tmpdir());
    snprintf(store, sizeof store, "%s/broken", test_tmpdir());
    uint8_t v5[24] = {0, 5};
    ASSERT_EQ(pcapw_open(&pw, bad), 0);
    ASSERT_EQ(pcapw_udp(&pw, T0_SECS * 1000000000ull, &exp, 2055, &to, 2055, v5, sizeof v5), 0);
    ASSERT_EQ(pcapw_close(&pw), 0);
    ASSERT_EQ(test_runf(NULL, "%s --read %s -w %s --quiet", test_bin("flowhuntd"), bad, store), 0);
    ASSERT_EQ(test_runf(&out, "%s exporters %s", test_bin("flowhunt"), store), 0);
    ASSERT_NOT_NULL(strstr(out, "2001:db8::7 "));
    ASSERT_NOT_NULL(strstr(out, "  2025-11-24T16:00:00Z  2025-11-24T16:")); /* T0_SECS's */
    free(out);
    return 0;
}

/* ---- both versions: ICMP from the port, integer widths, records of one set -------------- */

/* A v9 (version 9) or IPFIX (10) datagram header; sets then go in with set ids 0 or 2. */
static void any_hdr(bb_t *b, int version)
{
    if (version == 9)
        nf9_hdr(b, T0_SECS, T0_UPTIME, 1, 7);
    else
        ipfix_hdr(b, T0_SECS, 0, 7);
}

static void any_done(bb_t *b, int version)
{
    if (version == 10)
        ipfix_done(b);
}

/* A template of IANA fields: the template record is the same in both versions. */
static void any_tpl(bb_t *b, int version, uint16_t id, const uint16_t (*f)[2], int n)
{
    bb_set_open(b, version == 9 ? 0 : 2);
    bb_u16(b, id);
    bb_u16(b, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        bb_u16(b, f[i][0]);
        bb_u16(b, f[i][1]);
    }
    bb_set_close(b, 0);
}

/* Cisco and flowgen put an ICMP flow's type * 256 + code in its destination port; a record
 * without an ICMP type or code element takes them from there, as v5 records do. */
TEST_IMPL(templates_icmp_from_dst_port)
{
    static const uint16_t by_port[][2] = {{4, 1}, {11, 2}, {8, 4}};
    static const uint16_t by_elem[][2] = {{4, 1}, {11, 2}, {32, 2}};
    static const uint16_t by_type[][2] = {{4, 1}, {11, 2}, {176, 1}};
    static const uint16_t no_port[][2] = {{4, 1}, {7, 2}};
    for (int version = 9; version <= 10; version += 1) {
        run_t r;
        bb_t b;
        run_init(&r);
        any_hdr(&b, version);
        any_tpl(&b, version, 300, by_port, 3);
        any_tpl(&b, version, 301, by_elem, 3);
        any_tpl(&b, version, 302, by_type, 3);
        any_tpl(&b, version, 303, no_port, 2);
        bb_set_open(&b, 300);
        static const uint16_t recs[][2] = {
            {1, 0x0303}, {6, 443}, {58, 0x8001}, {17, 0x0800}, {1, 135}};
        for (int i = 0; i < 5; i++) {
            bb_u8(&b, recs[i][0]);
            bb_u16(&b, recs[i][1]);
            bb_ip4(&b, "10.0.0.1");
        }
        bb_set_close(&b, 0);
        bb_set_open(&b, 301); /* icmpTypeCodeIPv4 wins over the port */
        bb_u8(&b, 1);
        bb_u16(&b, 0x0303);
        bb_u16(&b, 0x0b00);
        bb_set_close(&b, 0);
        bb_set_open(&b, 302); /* so does icmpTypeIPv4 alone: no code is made up */
        bb_u8(&b, 1);
        bb_u16(&b, 0x0303);
        bb_u8(&b, 8);
        bb_set_close(&b, 0);
        bb_set_open(&b, 303); /* no destination port: nothing to take */
        bb_u8(&b, 1);
        bb_u16(&b, 0x0303);
        bb_set_close(&b, 1);
        any_done(&b, version);
        ASSERT_EQ(run_bb(&r, &b), 8);
        expect_no_errors(&r);
        const flow_rec_t *f = r.f;
        ASSERT(FLOW_HAS(&f[0], icmp_type) && FLOW_HAS(&f[0], icmp_code));
        ASSERT_EQ(f[0].icmp_type, 3);
        ASSERT_EQ(f[0].icmp_code, 3);
        ASSERT_EQ(f[0].dst_port, 0x0303); /* the port stays as sent */
        /* TCP after ICMP in the same set: absent, and nothing left over from the last */
        ASSERT(!FLOW_HAS(&f[1], icmp_type) && !FLOW_HAS(&f[1], icmp_code));
        ASSERT_EQ(f[1].icmp_type, 0);
        ASSERT_EQ(f[1].icmp_code, 0);
        ASSERT_EQ(f[2].icmp_type, 128); /* ICMPv6 echo request, code 1 */
        ASSERT_EQ(f[2].icmp_code, 1);
        ASSERT(!FLOW_HAS(&f[3], icmp_type)); /* UDP to port 2048 */
        /* a port below 256 is not type * 256 + code (Procera's bare type, others' 0) */
        ASSERT(!FLOW_HAS(&f[4], icmp_type) && !FLOW_HAS(&f[4], icmp_code));
        ASSERT_EQ(f[5].icmp_type, 11);
        ASSERT_EQ(f[5].icmp_code, 0);
        ASSERT(FLOW_HAS(&f[6], icmp_type) && !FLOW_HAS(&f[6], icmp_code));
        ASSERT_EQ(f[6].icmp_type, 8);
        ASSERT(!FLOW_HAS(&f[7], icmp_type) && !FLOW_HAS(&f[7], icmp_code));
        tpl_cache_free(&r.cache);
    }
    return 0;
}

/* A dual-stack exporter's one template with the IPv4 and the IPv6 field of each thing (address,
 * prefix length, next hop, ICMP type and code), the other family's left zero: the zeros never
 * overwrite, in either order of the fields, and a zero address of the flow's family (a DHCP
 * client's 0.0.0.0, a next hop of 0.0.0.0) is IPv4's, not ::, and an IPv6 flow's is ::. Before, the
 * later field's zero won: IPv4 flows lost their masks, and an echo request (type 8) read as an echo
 * reply. */
TEST_IMPL(templates_dual_stack_fields)
{
    static const uint16_t v4_first[][2] = {{8, 4},  {27, 16}, {12, 4}, {28, 16}, {9, 1},
                                           {29, 1}, {13, 1},  {30, 1}, {15, 4},  {62, 16},
                                           {4, 1},  {32, 2},  {139, 2}};
    static const uint16_t v6_first[][2] = {{27, 16}, {8, 4},   {28, 16}, {12, 4},  {29, 1},
                                           {9, 1},   {30, 1},  {13, 1},  {62, 16}, {15, 4},
                                           {4, 1},   {139, 2}, {32, 2}};
    for (int version = 9; version <= 10; version++)
        for (int order = 0; order < 2; order++) {
            const uint16_t(*tpl)[2] = order ? v6_first : v4_first;
            run_t r;
            bb_t b;
            run_init(&r);
            any_hdr(&b, version);
            any_tpl(&b, version, 310, tpl, 13);
            bb_set_open(&b, 310);
            for (int rec = 0; rec < 4; rec++) {
                /* 0: IPv4 ICMP echo request 10.0.0.1/24 -> 10.0.0.2/16 via 0.0.0.0;
                 * 1: IPv6 ICMPv6 echo request /64 -> /48 via 2001:db8::fe;
                 * 2: IPv4 UDP 0.0.0.0 -> 255.255.255.255 (DHCP) via 10.0.0.254;
                 * 3: IPv6 ICMPv6 :: -> ff02::1:ff00:1 (duplicate address probe), no hop */
                for (int i = 0; i < 13; i++) {
                    uint16_t id = tpl[i][0];
                    int v6 = rec == 1 || rec == 3;
                    switch (id) {
                    case 8:
                        bb_ip4(&b, v6 ? "0.0.0.0" : rec == 2 ? "0.0.0.0" : "10.0.0.1");
                        break;
                    case 12:
                        bb_ip4(&b, v6 ? "0.0.0.0" : rec == 2 ? "255.255.255.255" : "10.0.0.2");
                        break;
                    case 15:
                        bb_ip4(&b, v6 || rec == 0 ? "0.0.0.0" : "10.0.0.254");
                        break;
                    case 27:
                        bb_ip6(&b, rec == 1 ? "2001:db8::1" : "::");
                        break;
                    case 28:
                        bb_ip6(&b, rec == 1 ? "2001:db8::2" : rec == 3 ? "ff02::1:ff00:1" : "::");
                        break;
                    case 62:
                        bb_ip6(&b, rec == 1 ? "2001:db8::fe" : "::");
                        break;
                    case 9:
                        bb_u8(&b, v6 ? 0 : rec == 0 ? 24 : 0);
                        break;
                    case 29:
                        bb_u8(&b, v6 ? 64 : 0);
                        break;
                    case 13:
                        bb_u8(&b, v6 ? 0 : rec == 0 ? 16 : 0);
                        break;
                    case 30:
                        bb_u8(&b, v6 ? 48 : 0);
                        break;
                    case 4:
                        bb_u8(&b, rec == 0 ? 1 : v6 ? 58 : 17);
                        break;
                    case 32:
                        bb_u16(&b, rec == 0 ? 0x0800 : 0);
                        break;
                    case 139:
                        bb_u16(&b, rec == 1 ? 0x8000 : rec == 3 ? 0x8700 : 0);
                        break;
                    }
                }
            }
            bb_set_close(&b, 0);
            any_done(&b, version);
            ASSERT_EQ(run_bb(&r, &b), 4);
            expect_no_errors(&r);
            const flow_rec_t *f = r.f;
            expect_addr(&f[0].src_addr, "10.0.0.1");
            expect_addr(&f[0].next_hop, "0.0.0.0");
            ASSERT_EQ(f[0].src_mask, 24);
            ASSERT_EQ(f[0].dst_mask, 16);
            ASSERT_EQ(f[0].icmp_type, 8);
            ASSERT_EQ(f[0].icmp_code, 0);
            expect_addr(&f[1].src_addr, "2001:db8::1");
            expect_addr(&f[1].dst_addr, "2001:db8::2");
            expect_addr(&f[1].next_hop, "2001:db8::fe");
            ASSERT_EQ(f[1].src_mask, 64);
            ASSERT_EQ(f[1].dst_mask, 48);
            ASSERT_EQ(f[1].icmp_type, 128);
            expect_addr(&f[2].src_addr, "0.0.0.0");
            expect_addr(&f[2].dst_addr, "255.255.255.255");
            expect_addr(&f[2].next_hop, "10.0.0.254");
            ASSERT_EQ(f[2].src_mask, 0);
            /* IPv6's zero, whichever family's field came first (was 0.0.0.0 with IPv4 first) */
            expect_addr(&f[3].src_addr, "::");
            expect_addr(&f[3].dst_addr, "ff02::1:ff00:1");
            expect_addr(&f[3].next_hop, "::");
            ASSERT_EQ(f[3].icmp_type, 135);
            tpl_cache_free(&r.cache);
        }
    return 0;
}

/* An integer wider than its column keeps its low bytes whatever the column's width; narrower
 * ones (reduced-size encoding, RFC 7011 6.2) are zero-extended; odd widths take the same rule. */
TEST_IMPL(templates_integer_widths)
{
    static const uint16_t f[][2] = {
        {6, 2},  /* tcpControlBits in 2 bytes (RFC 7125) into an 8-bit column */
        {10, 8}, /* ingressInterface in 8 bytes into a 32-bit column */
        {14, 3}, /* egressInterface in 3 bytes */
        {16, 5}, /* bgpSourceAsNumber in 5 bytes into a 32-bit column */
        {7, 4},  /* sourceTransportPort in 4 bytes into a 16-bit column */
        {58, 8}, /* vlanId in 8 bytes into a 16-bit column */
        {2, 1},  /* packetDeltaCount in 1 byte */
        {1, 6},  /* octetDeltaCount in 6 bytes */
        {17, 2}, /* bgpDestinationAsNumber in 2 bytes into a 32-bit column */
    };
    for (int version = 9; version <= 10; version += 1) {
        run_t r;
        bb_t b;
        run_init(&r);
        any_hdr(&b, version);
        any_tpl(&b, version, 260, f, sizeof f / sizeof f[0]);
        bb_set_open(&b, 260);
        bb_u16(&b, 0x0112);
        bb_u64(&b, 0x0000000500000007ull);
        bb_u8(&b, 0x01);
        bb_u16(&b, 0x0203);
        bb_u8(&b, 0x01);
        bb_u32(&b, 0xfffffff9u);
        bb_u32(&b, 0x00010050u);
        bb_u64(&b, 0x0000000100000064ull);
        bb_u8(&b, 200);
        bb_u16(&b, 0x0100);
        bb_u32(&b, 0);
        bb_u16(&b, 0xfde8);
        bb_set_close(&b, 0);
        any_done(&b, version);
        ASSERT_EQ(run_bb(&r, &b), 1);
        expect_no_errors(&r);
        const flow_rec_t *x = &r.f[0];
        ASSERT_EQ(x->tcp_flags, 0x12);
        ASSERT_UINT64_EQ(x->in_if, 7);
        ASSERT_UINT64_EQ(x->out_if, 0x010203);
        ASSERT_UINT64_EQ(x->src_as, 0xfffffff9u);
        ASSERT_EQ(x->src_port, 80);
        ASSERT_EQ(x->vlan, 100);
        ASSERT_UINT64_EQ(x->packets, 200);
        ASSERT_UINT64_EQ(x->bytes, 1ull << 40);
        ASSERT_UINT64_EQ(x->dst_as, 65000);
        tpl_cache_free(&r.cache);
    }
    return 0;
}

/* The records of one set are decoded one after the other into the same place: nothing of
 * one may show in the next. A time that cannot be placed is absent and zero; of an IPv4 and
 * an IPv6 field for one address, the one that is not all zeros is kept, record by record. */
TEST_IMPL(templates_records_independent)
{
    const uint64_t ntp = (uint64_t)(T0_SECS + 2208988800u) << 32;
    run_t r;
    bb_t b;
    run_init(&r);
    ipfix_hdr(&b, T0_SECS, 0, 1);
    bb_set_open(&b, 2);
    bb_u16(&b, 256);
    bb_u16(&b, 4);
    ipfix_field(&b, 156, 8, 0); /* flowStartNanoseconds */
    ipfix_field(&b, 8, 4, 0);   /* sourceIPv4Address */
    ipfix_field(&b, 27, 16, 0); /* sourceIPv6Address */
    ipfix_field(&b, 4, 1, 0);
    bb_set_close(&b, 0);
    bb_set_open(&b, 256);
    bb_u64(&b, ntp); /* placed */
    bb_ip4(&b, "10.0.0.1");
    bb_ip6(&b, "::");
    bb_u8(&b, 6);
    bb_u64(&b, 0); /* before 1970: cannot be placed */
    bb_ip4(&b, "0.0.0.0");
    bb_ip6(&b, "2001:db8::9");
    bb_u8(&b, 17);
    bb_u64(&b, ntp + (1ull << 31));
    bb_ip4(&b, "0.0.0.0");
    bb_ip6(&b, "::");
    bb_u8(&b, 1);
    bb_set_close(&b, 0);
    ipfix_done(&b);
    ASSERT_EQ(run_bb(&r, &b), 3);
    expect_no_errors(&r);
    ASSERT_UINT64_EQ(r.f[0].time_start, T0_SECS * 1000ull);
    expect_addr(&r.f[0].src_addr, "10.0.0.1");
    ASSERT(!FLOW_HAS(&r.f[1], time_start));
    ASSERT_UINT64_EQ(r.f[1].time_start, 0);
    expect_addr(&r.f[1].src_addr, "2001:db8::9");
    ASSERT_UINT64_EQ(r.f[2].time_start, T0_SECS * 1000ull + 500);
    expect_addr(&r.f[2].src_addr, "0.0.0.0"); /* both zero: the first field's */
    for (int i = 0; i < 3; i++) {
        ASSERT(!FLOW_HAS(&r.f[i], time_end));
        ASSERT(!FLOW_HAS(&r.f[i], dst_addr));
        ASSERT(!FLOW_HAS(&r.f[i], icmp_type)); /* ICMP, but no destination port */
        ASSERT_UINT64_EQ(r.f[i].packets, 0);
        ASSERT_EQ(r.f[i].sampling, 1);
        expect_addr(&r.f[i].exporter, "192.0.2.10");
    }
    tpl_cache_free(&r.cache);
    return 0;
}

/* ---- bounds: eviction, never refusal ------------------------------------------------------ */

/* Defines template `id` of `n` fields (skipped elements, 4 bytes each) in a scope of `addr`. */
static const tpl_t *bound_define(tpl_cache_t *c, const flow_addr_t *addr, uint32_t domain,
                                 uint16_t id, uint16_t n, dec_counts_t *counts)
{
    tpl_field_t f[64];
    for (uint16_t i = 0; i < n; i++)
        f[i] = (tpl_field_t){.id = (uint16_t)(1000 + i), .len = 4, .pen = 0};
    tpl_scope_t *s = tpl_scope_get(c, addr, 10, domain);
    ASSERT_NOT_NULL(s);
    return tpl_define(s, 10, id, 0, f, n, 0, counts);
}

/* A million templates from one address, over a thousand domains and every id: memory stays
 * within the per-exporter bounds, evictions are counted, nothing is refused; another
 * exporter's template keeps decoding. */
TEST_IMPL(templates_flood_evicts)
{
    run_t r;
    run_init(&r);
    bb_t b;
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 1, 7);
    nf9_tpl256(&b);
    ASSERT_EQ(run_dgram(&r, b.b, b.n, NULL), 0);
    flow_addr_t flood;
    flow_addr_parse(&flood, "198.51.100.66");
    dec_counts_t counts;
    memset(&counts, 0, sizeof counts);
    size_t peak = 0;
    uint32_t peak_scopes = 0;
    for (uint32_t i = 0; i < 1000000; i++) {
        /* first few domains (the byte bounds bind), then a thousand (the scope bound) */
        uint32_t domain = i < 500000 ? i % 10 : 1000 + (i / 4) % 1000;
        if (i == 500000) {
            uint64_t ev = 0;
            for (uint32_t k = 0; k < r.cache.n_scopes; k++)
                ev += r.cache.scopes[k]->stats.templates_evicted;
            ASSERT_GT(ev, 100000);
            ASSERT_UINT64_EQ(r.cache.scopes_evicted, 0);
        }
        uint16_t id = (uint16_t)(256 + (i * 7919u) % 65000u);
        ASSERT_NOT_NULL(
            bound_define(&r.cache, &flood, domain, id, (uint16_t)(1 + i % 60), &counts));
        if (r.cache.tpl_bytes > peak)
            peak = r.cache.tpl_bytes;
        if (r.cache.n_scopes > peak_scopes)
            peak_scopes = r.cache.n_scopes;
    }
    ASSERT_LE(peak, TPL_MAX_BYTES_PER_EXPORTER + 4096); /* + the valid exporter's one */
    ASSERT_LE(peak_scopes, TPL_MAX_SCOPES_PER_EXPORTER + 1);
    ASSERT_UINT64_EQ(counts.n[DEC_E_TPL_LIMIT], 0);
    ASSERT_GT(r.cache.scopes_evicted, 0);
    uint64_t live = 0;
    for (uint32_t i = 0; i < r.cache.n_scopes; i++)
        live += r.cache.scopes[i]->n_templates;
    ASSERT_GT(live, 1000);
    /* every template is live or counted evicted: a million, plus the valid one */
    ASSERT_UINT64_EQ(live + r.cache.templates_evicted, 1000001);
    /* the valid exporter's scope and template were untouched: its data decodes */
    nf9_hdr(&b, T0_SECS, T0_UPTIME, 2, 7);
    nf9_data256(&b, 2, 0);
    ASSERT_EQ(run_dgram(&r, b.b, b.n, NULL), 2);
    ASSERT_EQ(r.n, 2);
    ASSERT_EQ(run_scope(&r, 9, 7)->stats.templates_evicted, 0);
    tpl_cache_free(&r.cache);
    return 0;
}

/* A budget below the defaults (flowhuntd --template-memory): the cache and each exporter stay
 * within it, evicting, never refusing; a budget below TPL_MIN_MEMORY is raised to it. */
TEST_IMPL(templates_memory_budget)
{
    tpl_cache_t c;
    tpl_cache_init(&c);
    ASSERT_UINT64_EQ(c.max_tpl_bytes, TPL_MAX_BYTES);
    ASSERT_UINT64_EQ(c.max_held_bytes, TPL_HELD_MAX_TOTAL);
    tpl_cache_set_memory(&c, 1000, 5u << 20);
    ASSERT_UINT64_EQ(c.max_tpl_bytes, TPL_MIN_MEMORY);
    ASSERT_UINT64_EQ(c.max_held_bytes, 5u << 20);
    dec_counts_t counts;
    memset(&counts, 0, sizeof counts);
    flow_addr_t a[3];
    flow_addr_parse(&a[0], "198.51.100.1");
    flow_addr_parse(&a[1], "198.51.100.2");
    flow_addr_parse(&a[2], "2001:db8::3");
    size_t peak = 0;
    for (uint32_t i = 0; i < 60000; i++) {
        ASSERT_NOT_NULL(bound_define(&c, &a[i % 3], i % 7, (uint16_t)(256 + (i * 7919u) % 65000u),
                                     (uint16_t)(1 + i % 60), &counts));
        peak = c.tpl_bytes > peak ? c.tpl_bytes : peak;
    }
    ASSERT_LE(peak, TPL_MIN_MEMORY);
    ASSERT_GT(peak, TPL_MIN_MEMORY / 2);
    ASSERT_GT(c.templates_evicted, 10000);
    ASSERT_UINT64_EQ(counts.n[DEC_E_TPL_LIMIT], 0);
    tpl_cache_free(&c);
    return 0;
}

/* Within one scope the least recently used template goes first: one used by data sets
 * survives a stream of new definitions; the oldest unused one does not. */
TEST_IMPL(templates_lru_keeps_used)
{
    tpl_cache_t c;
    tpl_cache_init(&c);
    dec_counts_t counts;
    memset(&counts, 0, sizeof counts);
    flow_addr_t a;
    flow_addr_parse(&a, "192.0.2.1");
    ASSERT_NOT_NULL(bound_define(&c, &a, 1, 300, 1, &counts)); /* used below */
    ASSERT_NOT_NULL(bound_define(&c, &a, 1, 301, 1, &counts)); /* never used */
    tpl_scope_t *s = tpl_scope_get(&c, &a, 10, 1);
    uint8_t rec[4] = {0};
    tpl_ctx_t ctx = {.version = 10};
    run_t sink;
    memset(&sink, 0, sizeof sink);
    dec_out_t out = {.sink = run_sink, .sink_arg = &sink, .counts = &counts};
    for (uint32_t i = 0; i < 3 * TPL_MAX_PER_SCOPE; i++) {
        ASSERT_NOT_NULL(bound_define(&c, &a, 1, (uint16_t)(1000 + i), 1, &counts));
        if (i % 100 == 0)
            ASSERT_EQ(tpl_data_set(s, 300, rec, sizeof rec, &ctx, &out), 1);
        ASSERT_LE(s->n_templates, TPL_MAX_PER_SCOPE);
    }
    ASSERT_NOT_NULL(tpl_get(s, 300));
    ASSERT_NULL(tpl_get(s, 301));
    ASSERT_EQ(s->n_templates, TPL_MAX_PER_SCOPE);
    ASSERT_UINT64_EQ(s->stats.templates_evicted, 3 * TPL_MAX_PER_SCOPE + 2 - TPL_MAX_PER_SCOPE);
    /* redefining with another layout replaces, never evicts */
    uint64_t ev = s->stats.templates_evicted;
    ASSERT_NOT_NULL(bound_define(&c, &a, 1, 300, 2, &counts));
    ASSERT_UINT64_EQ(s->stats.templates_evicted, ev);
    ASSERT_EQ(s->n_templates, TPL_MAX_PER_SCOPE);
    tpl_cache_free(&c);
    return 0;
}
