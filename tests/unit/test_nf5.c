/* test_nf5.c: the NetFlow v5 decoder and the sequence accounting it feeds. */
#include <string.h>

#include "exporter.h"
#include "nf5.h"
#include "nf5_encode.h"
#include "task.h"

typedef struct got {
    flow_rec_t f[64];
    int n;
} got_t;

static void got_sink(void *arg, const flow_rec_t *rec)
{
    got_t *g = arg;
    if (g->n < 64)
        g->f[g->n] = *rec;
    g->n++;
}

static int decode(const uint8_t *buf, size_t len, got_t *g, dec_counts_t *cnt, dec_out_t *out)
{
    flow_addr_t exp;
    flow_addr_parse(&exp, "192.0.2.7");
    memset(g, 0, sizeof *g);
    memset(out, 0, sizeof *out);
    out->sink = got_sink;
    out->sink_arg = g;
    out->counts = cnt;
    return nf5_decode(buf, len, &exp, out);
}

/* A datagram written out by hand, so the decoder is checked against the format itself and not
 * against our own encoder. */
static const uint8_t v5_two[24 + 2 * 48] = {
    /* header: version 5, count 2, sysUptime 65536, secs 1764000000, nsecs 500000000,
     * flow_sequence 1000, engine 1/2, sampling mode 1 interval 100 */
    0x00, 0x05, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x69, 0x24, 0x81, 0x00, 0x1d, 0xcd, 0x65, 0x00,
    0x00, 0x00, 0x03, 0xe8, 0x01, 0x02, 0x40, 0x64,
    /* record 1: 10.0.0.1 -> 192.0.2.9 via 10.0.0.254, if 3 -> 4, 10 pkts, 1500 bytes,
     * First 60000 Last 65000, 51000 -> 443, flags 0x1b, TCP, tos 0x10, AS 64512 -> 15169,
     * masks 24/16 */
    10, 0, 0, 1, 192, 0, 2, 9, 10, 0, 0, 254, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x0a, 0x00,
    0x00, 0x05, 0xdc, 0x00, 0x00, 0xea, 0x60, 0x00, 0x00, 0xfd, 0xe8, 0xc7, 0x38, 0x01, 0xbb, 0x00,
    0x1b, 0x06, 0x10, 0xfc, 0x00, 0x3b, 0x41, 24, 16, 0x00, 0x00,
    /* record 2: 10.0.0.2 -> 198.51.100.1, ICMP type 3 code 3 in dstport, First 0xfffff000
     * (before the uptime wrapped), Last 100, 1 pkt, 56 bytes */
    10, 0, 0, 2, 198, 51, 100, 1, 0, 0, 0, 0, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x00, 0x00, 0x38, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x03, 0x03, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0, 0, 0x00, 0x00};

static void expect_addr(const flow_addr_t *a, const char *want)
{
    char s[FLOW_ADDR_STRLEN];
    flow_addr_format(a, s);
    ASSERT_STR_EQ(s, want);
}

TEST_IMPL(nf5_decode_fields)
{
    got_t g;
    dec_counts_t cnt = {{0}};
    dec_out_t out;
    ASSERT_EQ(decode(v5_two, sizeof v5_two, &g, &cnt, &out), 2);
    ASSERT_EQ(g.n, 2);
    ASSERT_EQ(out.n_flows, 2);
    ASSERT_EQ(out.hdr.version, 5);
    ASSERT_EQ(out.hdr.obs_domain, 0x0102);
    ASSERT_EQ(out.hdr.sequence, 1000);
    ASSERT_EQ(out.hdr.seq_units, 2);
    ASSERT_UINT64_EQ(out.hdr.export_ms, 1764000000500ull);

    const flow_rec_t *f = &g.f[0];
    expect_addr(&f->src_addr, "10.0.0.1");
    expect_addr(&f->dst_addr, "192.0.2.9");
    expect_addr(&f->next_hop, "10.0.0.254");
    expect_addr(&f->exporter, "192.0.2.7");
    ASSERT_EQ(f->in_if, 3);
    ASSERT_EQ(f->out_if, 4);
    ASSERT_UINT64_EQ(f->packets, 10);
    ASSERT_UINT64_EQ(f->bytes, 1500);
    ASSERT_UINT64_EQ(f->time_start, 1764000000500ull - (65536 - 60000));
    ASSERT_UINT64_EQ(f->time_end, 1764000000500ull - (65536 - 65000));
    ASSERT_EQ(f->src_port, 51000);
    ASSERT_EQ(f->dst_port, 443);
    ASSERT_EQ(f->tcp_flags, 0x1b);
    ASSERT_EQ(f->proto, 6);
    ASSERT_EQ(f->tos, 0x10);
    ASSERT_EQ(f->src_as, 64512);
    ASSERT_EQ(f->dst_as, 15169);
    ASSERT_EQ(f->src_mask, 24);
    ASSERT_EQ(f->dst_mask, 16);
    ASSERT_EQ(f->sampling, 100);
    ASSERT_EQ(f->obs_domain, 0x0102);
    /* v5 has no such fields: they are absent, not zero */
    ASSERT(!FLOW_HAS(f, icmp_type));
    ASSERT(!FLOW_HAS(f, vlan));
    ASSERT(!FLOW_HAS(f, direction));
    ASSERT(!FLOW_HAS(f, rev_bytes));
    ASSERT(!FLOW_HAS(f, nat_src_addr));
    ASSERT(FLOW_HAS(f, tcp_flags) && FLOW_HAS(f, src_as) && FLOW_HAS(f, sampling));

    f = &g.f[1];
    expect_addr(&f->src_addr, "10.0.0.2");
    ASSERT_EQ(f->proto, 1);
    ASSERT(FLOW_HAS(f, icmp_type) && FLOW_HAS(f, icmp_code));
    ASSERT_EQ(f->icmp_type, 3);
    ASSERT_EQ(f->icmp_code, 3);
    ASSERT_EQ(f->dst_port, 0x0303);
    for (int k = 1; k < DEC_N_ERRORS; k++)
        ASSERT_UINT64_EQ(cnt.n[k], 0);
    return 0;
}

TEST_IMPL(nf5_decode_time_wrap)
{
    got_t g;
    dec_counts_t cnt = {{0}};
    dec_out_t out;
    ASSERT_EQ(decode(v5_two, sizeof v5_two, &g, &cnt, &out), 2);
    /* First = 0xfffff000 was taken before sysUptime (65536) wrapped: 69632 ms earlier. */
    ASSERT_UINT64_EQ(g.f[1].time_start, 1764000000500ull - 69632);
    ASSERT_UINT64_EQ(g.f[1].time_end, 1764000000500ull - (65536 - 100));

    /* Through the encoder, across every position of the wrap: an exporter that booted 49.7
     * days and a little before the export, flows that straddle the wrap, and a First a few
     * ms after sysUptime (clock skew) that must stay after the export time. */
    uint64_t export_ms = 1764000000000ull;
    for (uint64_t up = 0; up < 20000; up += 997) {
        uint64_t boot = export_ms - ((1ull << 32) + up);
        flow_rec_t fl[3];
        for (int i = 0; i < 3; i++) {
            flow_rec_clear(&fl[i]);
            FLOW_SET(&fl[i], packets, 1);
        }
        fl[0].time_start = export_ms - 30000; /* before the wrap when up < 30000 */
        fl[0].time_end = export_ms - 5;
        fl[1].time_start = export_ms - 3600000; /* an hour-long flow */
        fl[1].time_end = export_ms;
        fl[2].time_start = export_ms + 7; /* skew */
        fl[2].time_end = export_ms + 9;
        nf5_enc_hdr_t h = {.export_ms = export_ms, .boot_ms = boot, .sequence = 1};
        uint8_t buf[NF5_ENC_MAX_LEN];
        size_t len = nf5_encode(buf, sizeof buf, &h, fl, 3);
        ASSERT_EQ(len, 24 + 3 * 48);
        ASSERT_EQ(decode(buf, len, &g, &cnt, &out), 3);
        for (int i = 0; i < 3; i++) {
            ASSERT_UINT64_EQ(g.f[i].time_start, fl[i].time_start);
            ASSERT_UINT64_EQ(g.f[i].time_end, fl[i].time_end);
        }
    }
    return 0;
}

TEST_IMPL(nf5_decode_sampling)
{
    uint8_t buf[sizeof v5_two];
    got_t g;
    dec_counts_t cnt = {{0}};
    dec_out_t out;
    static const struct {
        uint16_t field;
        uint32_t want;
    } cases[] = {
        {0x0000, 1},    /* unsampled */
        {0x4000, 1},    /* mode 1 without an interval: nothing announced */
        {0x4064, 100},  /* deterministic 1 in 100 */
        {0x83e8, 1000}, /* random 1 in 1000 */
        {0x0200, 512},  /* interval with mode 0, as some exporters send */
        {0xffff, 16383},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(buf, v5_two, sizeof buf);
        buf[22] = (uint8_t)(cases[i].field >> 8);
        buf[23] = (uint8_t)cases[i].field;
        ASSERT_EQ(decode(buf, sizeof buf, &g, &cnt, &out), 2);
        ASSERT_EQ(g.f[0].sampling, cases[i].want);
        ASSERT_EQ(g.f[1].sampling, cases[i].want);
        /* counters stay as exported: correction is the analyzer's job */
        ASSERT_UINT64_EQ(g.f[0].packets, 10);
    }
    return 0;
}

TEST_IMPL(nf5_decode_every_truncation)
{
    /* Every prefix of a valid datagram, ending right at an unreadable page: no read past the
     * end, no flow out, and the drop counted under its name. */
    for (size_t len = 0; len < sizeof v5_two; len++) {
        got_t g;
        dec_counts_t cnt = {{0}};
        dec_out_t out;
        uint8_t *p = test_guard_copy(v5_two, len);
        int rc = decode(p, len, &g, &cnt, &out);
        test_guard_free(p);
        ASSERT_LT(rc, 0);
        ASSERT_EQ(g.n, 0);
        int want = len < NF5_HDR_LEN ? DEC_E_SHORT_HEADER : DEC_E_V5_LENGTH;
        ASSERT_EQ(rc, -want);
        ASSERT_UINT64_EQ(cnt.n[want], 1);
    }
    /* and the whole datagram from the same kind of buffer decodes */
    got_t g;
    dec_counts_t cnt = {{0}};
    dec_out_t out;
    uint8_t *p = test_guard_copy(v5_two, sizeof v5_two);
    ASSERT_EQ(decode(p, sizeof v5_two, &g, &cnt, &out), 2);
    test_guard_free(p);
    return 0;
}

TEST_IMPL(nf5_decode_bad_length)
{
    uint8_t buf[sizeof v5_two + 48];
    got_t g;
    dec_counts_t cnt = {{0}};
    dec_out_t out;
    /* one byte of trailing garbage */
    memcpy(buf, v5_two, sizeof v5_two);
    buf[sizeof v5_two] = 0;
    ASSERT_EQ(decode(buf, sizeof v5_two + 1, &g, &cnt, &out), -DEC_E_V5_LENGTH);
    /* count says 3, two records present; then count says 1, two present */
    buf[3] = 3;
    ASSERT_EQ(decode(buf, sizeof v5_two, &g, &cnt, &out), -DEC_E_V5_LENGTH);
    buf[3] = 1;
    ASSERT_EQ(decode(buf, sizeof v5_two, &g, &cnt, &out), -DEC_E_V5_LENGTH);
    /* count 0 */
    buf[3] = 0;
    ASSERT_EQ(decode(buf, 24, &g, &cnt, &out), -DEC_E_V5_ZERO_COUNT);
    /* bogus huge count, as in the team's nf5_invalid captures */
    buf[2] = 0xd9;
    buf[3] = 0x1e;
    ASSERT_EQ(decode(buf, sizeof v5_two, &g, &cnt, &out), -DEC_E_V5_LENGTH);
    /* not version 5 */
    memcpy(buf, v5_two, sizeof v5_two);
    buf[1] = 9;
    ASSERT_EQ(decode(buf, sizeof v5_two, &g, &cnt, &out), -DEC_E_VERSION);
    ASSERT_EQ(g.n, 0);
    ASSERT_UINT64_EQ(cnt.n[DEC_E_V5_LENGTH], 4);
    ASSERT_UINT64_EQ(cnt.n[DEC_E_V5_ZERO_COUNT], 1);
    ASSERT_UINT64_EQ(cnt.n[DEC_E_VERSION], 1);
    ASSERT_STR_EQ(dec_err_name(DEC_E_V5_LENGTH), "v5_length_mismatch");
    ASSERT_STR_EQ(dec_err_name(-DEC_E_SHORT_HEADER), "short_header");
    return 0;
}

/* One datagram's header for exp_seq_update, `opts` of its units options data records (IPFIX):
 * boot 0 is a header without a boot time (IPFIX). */
static void ts_seq_opts(exp_domain_t *d, uint32_t seq, uint32_t units, uint32_t opts, int64_t boot)
{
    dec_hdr_t h = {.sequence = seq,
                   .seq_units = units,
                   .seq_opts = opts,
                   .seq_exact = 1,
                   .have_boot = boot != 0,
                   .boot_ms = boot};
    exp_seq_update(d, &h);
}

/* The same without options records (v5, v9, most IPFIX). */
static void ts_seq(exp_domain_t *d, uint32_t seq, uint32_t units, int64_t boot)
{
    ts_seq_opts(d, seq, units, 0, boot);
}

/* A stream numbered after each datagram's own units (softflowd's IPFIX: its first message of
 * 24 records says 24) counts no loss where none was, and counts a real gap by its size; an
 * RFC 7011 stream with the same counts stays numbered as the RFC says. */
TEST_IMPL(exp_sequence_numbered_after)
{
    static const uint32_t counts[] = {24, 32, 32, 32, 17, 32, 32, 25};
    exp_domain_t d, r;
    memset(&d, 0, sizeof d);
    memset(&r, 0, sizeof r);
    uint32_t after = 0, before = 1000;
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        after += counts[i];
        ts_seq(&d, after, counts[i], 0);
        ts_seq(&r, before, counts[i], 0);
        before += counts[i];
    }
    exp_seq_settle(&d);
    exp_seq_settle(&r);
    ASSERT_UINT64_EQ(d.seq_lost, 0);
    ASSERT_UINT64_EQ(d.seq_late, 0);
    ASSERT_UINT64_EQ(d.seq_resets, 0);
    ASSERT_EQ(d.seq_mode, EXP_SEQ_AFTER);
    ASSERT_UINT64_EQ(r.seq_lost, 0);
    ASSERT_UINT64_EQ(r.seq_late, 0);
    ASSERT_EQ(r.seq_mode, 0);
    /* numbered after: a message of 30 lost is 30 lost; one swapped with the next is late */
    /* (after + 30, 30 records: lost) */
    ts_seq(&d, after + 30 + 20 + 12, 12, 0); /* 20 not yet here */
    ts_seq(&d, after + 30 + 20, 20, 0);      /* late, fills them */
    ts_seq(&d, after + 30 + 20 + 12 + 7, 7, 0);
    exp_seq_settle(&d);
    ASSERT_UINT64_EQ(d.seq_lost, 30);
    ASSERT_UINT64_EQ(d.seq_gaps, 1);
    ASSERT_UINT64_EQ(d.seq_late, 1);
    ASSERT_EQ(d.seq_mode, EXP_SEQ_AFTER);
    /* numbered as the RFC says: the same loss and reordering count the same */
    /* (before, 30 records: lost) */
    ts_seq(&r, before + 30 + 20, 12, 0);
    ts_seq(&r, before + 30, 20, 0);
    ts_seq(&r, before + 30 + 20 + 12, 7, 0);
    exp_seq_settle(&r);
    ASSERT_UINT64_EQ(r.seq_lost, 30);
    ASSERT_UINT64_EQ(r.seq_gaps, 1);
    ASSERT_UINT64_EQ(r.seq_late, 1);
    ASSERT_EQ(r.seq_mode, 0);
    /* the limit: an RFC stream that loses exactly the difference of two counts (5 after 20,
     * then 25) reads as the other numbering, and that loss goes uncounted; the next count
     * that differs switches back, and later loss counts again */
    exp_domain_t c;
    memset(&c, 0, sizeof c);
    ts_seq(&c, 0, 10, 0);
    ts_seq(&c, 10, 20, 0);
    ts_seq(&c, 35, 25, 0); /* 30..34 lost */
    ASSERT_EQ(c.seq_mode, EXP_SEQ_AFTER);
    ts_seq(&c, 60, 10, 0);
    ASSERT_EQ(c.seq_mode, 0);
    ts_seq(&c, 80, 10, 0); /* 70..79 lost */
    exp_seq_settle(&c);
    ASSERT_UINT64_EQ(c.seq_lost, 10);
    ASSERT_UINT64_EQ(c.seq_late, 0);
    /* softflowd's IPFIX: its own flows counted, its options record (one with each template
     * refresh) not: 24 + 1 says 24, then 32 says 56, ...; a refresh mid-stream, then a loss */
    exp_domain_t o;
    memset(&o, 0, sizeof o);
    ts_seq_opts(&o, 24, 25, 1, 0);
    ts_seq_opts(&o, 56, 32, 0, 0);
    ts_seq_opts(&o, 88, 32, 0, 0);
    ts_seq_opts(&o, 112, 25, 1, 0);
    ts_seq_opts(&o, 144, 32, 0, 0);
    ts_seq_opts(&o, 176, 32, 0, 0);
    exp_seq_settle(&o);
    ASSERT_UINT64_EQ(o.seq_lost, 0);
    ASSERT_UINT64_EQ(o.seq_late, 0);
    ASSERT_EQ(o.seq_mode, EXP_SEQ_AFTER | EXP_SEQ_NO_OPTS);
    /* (208: 32 flows, lost) */
    ts_seq_opts(&o, 232, 25, 1, 0);
    exp_seq_settle(&o);
    ASSERT_UINT64_EQ(o.seq_lost, 32);
    ASSERT_EQ(o.seq_mode, EXP_SEQ_AFTER | EXP_SEQ_NO_OPTS);
    /* the RFC's numbering with options records counts them and stays as it is */
    exp_domain_t q;
    memset(&q, 0, sizeof q);
    ts_seq_opts(&q, 0, 25, 1, 0);
    ts_seq_opts(&q, 25, 32, 0, 0);
    ts_seq_opts(&q, 57, 25, 1, 0);
    ts_seq_opts(&q, 82, 32, 0, 0);
    exp_seq_settle(&q);
    ASSERT_UINT64_EQ(q.seq_lost, 0);
    ASSERT_EQ(q.seq_mode, 0);
    return 0;
}

TEST_IMPL(nf5_sequence_accounting)
{
    exp_domain_t d;
    memset(&d, 0, sizeof d);
    ts_seq(&d, 1000, 30, 0); /* first: nothing to compare */
    ts_seq(&d, 1030, 30, 0);
    /* two datagrams swapped: everything arrived, so nothing is lost (it was 30, for good) */
    ts_seq(&d, 1090, 30, 0); /* 1060..1089 not yet here */
    ts_seq(&d, 1060, 30, 0); /* late, and fills it */
    exp_seq_settle(&d);
    ASSERT_UINT64_EQ(d.seq_lost, 0);
    ASSERT_UINT64_EQ(d.seq_gaps, 0);
    ASSERT_UINT64_EQ(d.seq_late, 1);
    /* a late datagram fills only what it covers: the head of a gap, the middle of another */
    ts_seq(&d, 1150, 30, 0); /* 1120..1149 missing */
    ts_seq(&d, 1120, 10, 0); /* 1120..1129 late: 20 stay missing */
    ts_seq(&d, 1240, 10, 0); /* 1180..1239 missing */
    ts_seq(&d, 1200, 10, 0); /* 1200..1209 late: 1180..1199 and 1210..1239 stay missing */
    ts_seq(&d, 1200, 10, 0); /* the same again: a duplicate fills nothing */
    exp_seq_settle(&d);
    ASSERT_UINT64_EQ(d.seq_lost, 20 + 20 + 30);
    ASSERT_UINT64_EQ(d.seq_gaps, 3);
    ASSERT_UINT64_EQ(d.seq_late, 4);
    /* once counted, loss stays counted (segments and the Prometheus file have shown it) */
    ts_seq(&d, 1180, 10, 0);
    exp_seq_settle(&d);
    ASSERT_UINT64_EQ(d.seq_lost, 70);
    /* the sequence wraps at 2^32 without a gap */
    ts_seq(&d, 4294967290u, 1, 0); /* huge jump: a restart, not loss */
    ASSERT_UINT64_EQ(d.seq_resets, 1);
    ts_seq(&d, 4294967291u, 10, 0);
    ts_seq(&d, 5, 1, 0); /* 4294967301 mod 2^32 */
    /* a duplicate a few flows behind is late, not loss */
    ts_seq(&d, 0, 30, 0); /* 6 behind the expected 6 (mod 2^32) */
    ts_seq(&d, 6, 1, 0);
    exp_seq_settle(&d);
    ASSERT_UINT64_EQ(d.seq_lost, 70);
    ASSERT_UINT64_EQ(d.seq_late, 6);
    /* a restart back to 0 from far away resynchronises instead of counting 2^32 - x lost */
    ts_seq(&d, 500000000u, 30, 0); /* jump beyond the largest believable gap */
    ASSERT_UINT64_EQ(d.seq_resets, 2);
    ts_seq(&d, 0, 30, 0);
    ASSERT_UINT64_EQ(d.seq_resets, 3);
    ts_seq(&d, 30, 30, 0);
    exp_seq_settle(&d);
    ASSERT_UINT64_EQ(d.seq_lost, 70);

    /* A restart whose new sequence starts a little behind the old one (softflowd started
     * again: 0 after 34 datagrams) is a restart by its boot time, not a run of late
     * datagrams that hid the loss after it. A boot time that moves while the sequence runs on
     * (a wandering sysUptime) is no restart. */
    exp_domain_t r;
    memset(&r, 0, sizeof r);
    const int64_t boot = 1709251200000;
    ts_seq(&r, 0, 30, boot);
    ts_seq(&r, 30, 30, boot);
    ts_seq(&r, 0, 30, boot + 600000); /* booted ten minutes later */
    ASSERT_UINT64_EQ(r.seq_resets, 1);
    ASSERT_UINT64_EQ(r.seq_late, 0);
    ts_seq(&r, 60, 30, boot + 600000); /* 30..59 of the new run lost */
    ts_seq(&r, 90, 30, boot + 720000); /* in order, sysUptime wandered */
    ts_seq(&r, 60, 30, boot + 600000); /* a duplicate of the new run: late */
    exp_seq_settle(&r);
    ASSERT_UINT64_EQ(r.seq_lost, 30);
    ASSERT_UINT64_EQ(r.seq_resets, 1);
    ASSERT_UINT64_EQ(r.seq_late, 1);
    /* A stale copy far behind (beyond the reorder window) with the same boot time is late,
     * not a restart that made the next in-order datagram a gap of everything between; one
     * sent before the last restart is late too. */
    ts_seq(&r, 120, 30000, boot + 720000);
    ts_seq(&r, 90, 30, boot + 720000);
    ts_seq(&r, 30, 30, boot); /* from the first run */
    ts_seq(&r, 30120, 30, boot + 720000);
    exp_seq_settle(&r);
    ASSERT_UINT64_EQ(r.seq_lost, 30);
    ASSERT_UINT64_EQ(r.seq_resets, 1);
    ASSERT_UINT64_EQ(r.seq_late, 3);
    return 0;
}
