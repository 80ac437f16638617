/* test_capture.c: tests of the capture input (collector/capture): cap_file walks pcap and
 * pcapng images, cap_udp turns frames into UDP datagrams and reassembles fragments.
 *
 * Every image and frame is built here, byte by byte, by small writers that know nothing of
 * the code under test, so a wrong offset in the reader cannot be mirrored by the writer. Frames
 * are fed from guard-page copies (the byte after the last is unreadable), so an over-read
 * crashes the test instead of passing unnoticed. The last tests read the team's real captures
 * and cross-check the datagram counts with tshark when both are present.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "task.h"

/* ---- byte writers ---- */

typedef struct tbuf {
    size_t n;
    uint8_t b[300000];
} tbuf_t;

/* Scratch buffers: an image, a frame, an IP packet, a transport payload, a block body. */
static tbuf_t img, fr, l3, l4, body;

static void tb_put(tbuf_t *t, const void *p, size_t n)
{
    ASSERT(t->n + n <= sizeof t->b);
    if (n)
        memcpy(t->b + t->n, p, n);
    t->n += n;
}

static void tb_u8(tbuf_t *t, unsigned v)
{
    uint8_t b = (uint8_t)v;
    tb_put(t, &b, 1);
}

static void tb_u16(tbuf_t *t, unsigned v, int be)
{
    uint8_t b[2] = {(uint8_t)(be ? v >> 8 : v), (uint8_t)(be ? v : v >> 8)};
    tb_put(t, b, 2);
}

static void tb_u32(tbuf_t *t, uint32_t v, int be)
{
    for (int i = 0; i < 4; i++)
        tb_u8(t, be ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void tb_zero(tbuf_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tb_u8(t, 0);
}

static int host_be(void)
{
    const uint16_t one = 1;
    uint8_t b[2];
    memcpy(b, &one, 2);
    return b[0] == 0;
}

/* ---- packet writers ---- */

static const uint8_t V4_SRC[4] = {192, 0, 2, 1};
static const uint8_t V4_DST[4] = {198, 51, 100, 7};
static const uint8_t V6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 0, 0,
                                   0,    0,    0,    0,    0,    0,    0, 2};

static uint8_t payload[70000];

/* A payload pattern that differs per datagram (seed) and per byte. */
static void fill_payload(size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i * 7 + seed * 31 + (i >> 8));
}

static void mk_udp(tbuf_t *t, uint16_t sport, uint16_t dport, const uint8_t *pl, size_t n)
{
    tb_u16(t, sport, 1);
    tb_u16(t, dport, 1);
    tb_u16(t, (unsigned)(8 + n), 1);
    tb_u16(t, 0xdead, 1); /* a wrong checksum: the decoder must not care */
    tb_put(t, pl, n);
}

/* IPv4 header (IHL 5 + opt_words of options) with the given fragment field (flags|offset/8). */
static void mk_ipv4_opts(tbuf_t *t, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                         uint16_t id, uint16_t frag, const uint8_t *pl, size_t n, int opt_words)
{
    size_t start = t->n, hl = 20 + 4 * (size_t)opt_words;
    tb_u8(t, 0x40 | (unsigned)(hl / 4));
    tb_u8(t, 0);
    tb_u16(t, (unsigned)(hl + n), 1);
    tb_u16(t, id, 1);
    tb_u16(t, frag, 1);
    tb_u8(t, 64);
    tb_u8(t, proto);
    tb_u16(t, 0, 1);
    tb_put(t, src, 4);
    tb_put(t, dst, 4);
    for (int i = 0; i < opt_words; i++)
        tb_u32(t, 0x01010101, 1); /* NOPs */
    uint32_t sum = 0;
    for (size_t i = 0; i < hl; i += 2)
        sum += (uint32_t)(t->b[start + i] << 8 | t->b[start + i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    t->b[start + 10] = (uint8_t)(~sum >> 8);
    t->b[start + 11] = (uint8_t)~sum;
    tb_put(t, pl, n);
}

static void mk_ipv4(tbuf_t *t, uint8_t proto, uint16_t id, uint16_t frag, const uint8_t *pl,
                    size_t n)
{
    mk_ipv4_opts(t, V4_SRC, V4_DST, proto, id, frag, pl, n, 0);
}

static void mk_ipv6(tbuf_t *t, uint8_t nh, const uint8_t *pl, size_t n)
{
    tb_u32(t, 0x60000000, 1);
    tb_u16(t, (unsigned)n, 1);
    tb_u8(t, nh);
    tb_u8(t, 64);
    tb_put(t, V6_SRC, 16);
    tb_put(t, V6_DST, 16);
    tb_put(t, pl, n);
}

static void mk_eth(tbuf_t *t, uint16_t type)
{
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
    tb_put(t, macs, 12);
    tb_u16(t, type, 1);
}

/* fr = Ethernet / IPv4 / UDP carrying payload[0..n). */
static void build_eth_v4_udp(uint16_t sport, uint16_t dport, size_t n)
{
    l4.n = l3.n = fr.n = 0;
    mk_udp(&l4, sport, dport, payload, n);
    mk_ipv4(&l3, 17, 0x1234, 0x4000 /* DF */, l4.b, l4.n);
    mk_eth(&fr, 0x0800);
    tb_put(&fr, l3.b, l3.n);
}

/* l3 = IPv4 / UDP or IPv6 / UDP carrying payload[0..n). */
static void build_ip_udp(int v6, uint16_t sport, uint16_t dport, size_t n)
{
    l4.n = l3.n = 0;
    mk_udp(&l4, sport, dport, payload, n);
    if (v6)
        mk_ipv6(&l3, 17, l4.b, l4.n);
    else
        mk_ipv4(&l3, 17, 7, 0, l4.b, l4.n);
}

/* ---- capture file writers ---- */

static void pcap_hdr(tbuf_t *t, int be, int ns, uint32_t linktype)
{
    tb_u32(t, ns ? 0xa1b23c4d : 0xa1b2c3d4, be);
    tb_u16(t, 2, be);
    tb_u16(t, 4, be);
    tb_u32(t, 0, be);
    tb_u32(t, 0, be);
    tb_u32(t, 65535, be);
    tb_u32(t, linktype, be);
}

static void pcap_rec(tbuf_t *t, int be, uint32_t sec, uint32_t frac, const uint8_t *d,
                     uint32_t caplen, uint32_t origlen)
{
    tb_u32(t, sec, be);
    tb_u32(t, frac, be);
    tb_u32(t, caplen, be);
    tb_u32(t, origlen, be);
    tb_put(t, d, caplen);
}

static void ng_block(tbuf_t *t, int be, uint32_t type, const uint8_t *b, size_t n)
{
    size_t pad = (4 - n % 4) % 4;
    uint32_t len = (uint32_t)(12 + n + pad);
    tb_u32(t, type, be);
    tb_u32(t, len, be);
    tb_put(t, b, n);
    tb_zero(t, pad);
    tb_u32(t, len, be);
}

static void ng_shb(tbuf_t *t, int be)
{
    body.n = 0;
    tb_u32(&body, 0x1a2b3c4d, be);
    tb_u16(&body, 1, be);
    tb_u16(&body, 0, be);
    tb_u32(&body, 0xffffffff, be); /* section length unknown */
    tb_u32(&body, 0xffffffff, be);
    ng_block(t, be, 0x0a0d0d0a, body.b, body.n);
}

/* tsresol < 0: no if_tsresol option (microseconds). */
static void ng_idb(tbuf_t *t, int be, uint16_t linktype, uint32_t snaplen, int tsresol)
{
    body.n = 0;
    tb_u16(&body, linktype, be);
    tb_u16(&body, 0, be);
    tb_u32(&body, snaplen, be);
    tb_u16(&body, 2, be); /* if_name "eth0", to be skipped */
    tb_u16(&body, 4, be);
    tb_put(&body, "eth0", 4);
    if (tsresol >= 0) {
        tb_u16(&body, 9, be);
        tb_u16(&body, 1, be);
        tb_u8(&body, (unsigned)tsresol);
        tb_zero(&body, 3);
    }
    tb_u16(&body, 0, be); /* opt_endofopt */
    tb_u16(&body, 0, be);
    ng_block(t, be, 1, body.b, body.n);
}

/* Enhanced Packet Block (type 6) or obsolete Packet Block (type 2), with an opt_comment after
 * the padded data so the reader must find the data by caplen, not by the block length. */
static void ng_pkt(tbuf_t *t, int be, uint32_t type, uint32_t ifid, uint64_t ts, const uint8_t *d,
                   uint32_t caplen, uint32_t origlen)
{
    body.n = 0;
    if (type == 6) {
        tb_u32(&body, ifid, be);
    } else {
        tb_u16(&body, ifid, be);
        tb_u16(&body, 0, be); /* drops */
    }
    tb_u32(&body, (uint32_t)(ts >> 32), be);
    tb_u32(&body, (uint32_t)ts, be);
    tb_u32(&body, caplen, be);
    tb_u32(&body, origlen, be);
    tb_put(&body, d, caplen);
    tb_zero(&body, (4 - caplen % 4) % 4);
    tb_u16(&body, 1, be);
    tb_u16(&body, 2, be);
    tb_put(&body, "hi\0\0", 4);
    tb_u16(&body, 0, be);
    tb_u16(&body, 0, be);
    ng_block(t, be, type, body.b, body.n);
}

static void ng_epb(tbuf_t *t, int be, uint32_t ifid, uint64_t ts, const uint8_t *d, uint32_t n)
{
    ng_pkt(t, be, 6, ifid, ts, d, n, n);
}

/* Simple Packet Block: the data written is min(origlen, snaplen) bytes (caller's choice). */
static void ng_spb(tbuf_t *t, int be, uint32_t origlen, const uint8_t *d, uint32_t n)
{
    body.n = 0;
    tb_u32(&body, origlen, be);
    tb_put(&body, d, n);
    ng_block(t, be, 3, body.b, body.n);
}

/* ---- what cap_udp delivers ---- */

#define GOT_MAX 128

typedef struct got {
    size_t n;               /* datagrams delivered (all, even past GOT_MAX) */
    cap_dgram_t d[GOT_MAX]; /* the first GOT_MAX, payload copied into the arena */
    uint64_t payload_sum;   /* of every byte delivered */
} got_t;

static uint8_t got_arena[1 << 20];
static size_t got_used;

static void got_fn(void *arg, const cap_dgram_t *d)
{
    got_t *g = arg;
    for (size_t i = 0; i < d->len; i++)
        g->payload_sum += d->payload[i];
    if (g->n < GOT_MAX) {
        g->d[g->n] = *d;
        if (got_used + d->len <= sizeof got_arena) {
            memcpy(got_arena + got_used, d->payload, d->len);
            g->d[g->n].payload = got_arena + got_used;
            got_used += d->len;
        } else {
            g->d[g->n].payload = NULL;
        }
    }
    g->n++;
}

static void got_reset(got_t *g)
{
    memset(g, 0, sizeof *g);
    got_used = 0;
}

/* Feeds one frame from a guard-page copy, with caplen bytes present of origlen. */
static void feed_cut(cap_udp_t *cu, got_t *g, uint32_t lt, uint64_t ts, const uint8_t *f,
                     size_t caplen, size_t origlen)
{
    uint8_t *copy = test_guard_copy(f, caplen);
    cap_pkt_t pkt = {ts, lt, (uint32_t)caplen, (uint32_t)origlen, copy};
    cap_udp_feed(cu, &pkt, got_fn, g);
    test_guard_free(copy);
}

static void feed(cap_udp_t *cu, got_t *g, uint32_t lt, uint64_t ts, const uint8_t *f, size_t n)
{
    feed_cut(cu, g, lt, ts, f, n, n);
}

static void expect_v4(const flow_addr_t *a, const uint8_t v4[4])
{
    uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(want + 12, v4, 4);
    ASSERT_MEM_EQ(a->b, want, 16);
}

/* The datagram matches payload[0..n) between the standard v4 or v6 test addresses. */
static void expect_dgram(const cap_dgram_t *d, int v6, uint16_t sport, uint16_t dport, size_t n,
                         uint64_t ts)
{
    if (v6) {
        ASSERT_MEM_EQ(d->src.b, V6_SRC, 16);
        ASSERT_MEM_EQ(d->dst.b, V6_DST, 16);
    } else {
        expect_v4(&d->src, V4_SRC);
        expect_v4(&d->dst, V4_DST);
    }
    ASSERT_EQ(d->sport, sport);
    ASSERT_EQ(d->dport, dport);
    ASSERT_UINT64_EQ(d->ts_ns, ts);
    ASSERT_EQ(d->len, n);
    ASSERT_NOT_NULL(d->payload);
    ASSERT_MEM_EQ(d->payload, payload, n);
}

/* Sum of every counter except frames and datagrams: what failed, by any reason. */
static uint64_t stats_problems(const cap_udp_stats_t *s)
{
    return s->unsupported_linktype + s->not_ip + s->not_udp + s->truncated + s->bad_ip_header +
           s->bad_udp_length + s->fragments + s->reassembled + s->frag_expired + s->frag_evicted +
           s->frag_bad;
}

/* ---- cap_file: pcap ---- */

TEST_IMPL(capture_pcap_ethernet_udp)
{
    tbuf_t *t = &img;
    t->n = 0;
    pcap_hdr(t, 0, 0, 1);
    fill_payload(100, 1);
    build_eth_v4_udp(50000, 2055, 100);
    size_t rec1 = t->n;
    pcap_rec(t, 0, 1700000000, 123456, fr.b, (uint32_t)fr.n, (uint32_t)fr.n);
    uint8_t frame1[200];
    size_t frame1_len = fr.n;
    memcpy(frame1, fr.b, fr.n);
    /* A 4-byte datagram in a frame padded to 60 bytes with non-zero bytes, which must not
     * become payload. */
    fill_payload(4, 2);
    build_eth_v4_udp(1, 65535, 4);
    while (fr.n < 60)
        tb_u8(&fr, 0xee);
    size_t rec2 = t->n;
    pcap_rec(t, 0, 1700000001, 999999, fr.b, (uint32_t)fr.n, (uint32_t)fr.n + 4 /* FCS */);

    uint8_t *g = test_guard_copy(t->b, t->n);
    cap_file_t cf;
    cap_pkt_t pkt;
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_open_mem(&cf, g, t->n), 0);
    ASSERT_EQ(cf.is_pcapng, 0);
    ASSERT_EQ(cf.linktype, 1);
    ASSERT_EQ(cf.ts_scale, 1000);
    ASSERT_EQ(cf.swapped, host_be());
    ASSERT_EQ(cap_udp_init(&cu), 0);

    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_UINT64_EQ(pkt.ts_ns, 1700000000123456000ull);
    ASSERT_EQ(pkt.linktype, 1);
    ASSERT_EQ(pkt.caplen, frame1_len);
    ASSERT_EQ(pkt.origlen, frame1_len);
    ASSERT(pkt.data == g + rec1 + 16);
    ASSERT_MEM_EQ(pkt.data, frame1, frame1_len);
    cap_udp_feed(&cu, &pkt, got_fn, &got);

    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_UINT64_EQ(pkt.ts_ns, 1700000001999999000ull);
    ASSERT_EQ(pkt.caplen, 60);
    ASSERT_EQ(pkt.origlen, 64);
    ASSERT(pkt.data == g + rec2 + 16);
    cap_udp_feed(&cu, &pkt, got_fn, &got);

    ASSERT_EQ(cap_next(&cf, &pkt), 0);
    ASSERT_EQ(cap_next(&cf, &pkt), 0);

    ASSERT_EQ(got.n, 2);
    fill_payload(100, 1);
    expect_dgram(&got.d[0], 0, 50000, 2055, 100, 1700000000123456000ull);
    fill_payload(4, 2);
    expect_dgram(&got.d[1], 0, 1, 65535, 4, 1700000001999999000ull);
    ASSERT_UINT64_EQ(cu.stats.frames, 2);
    ASSERT_UINT64_EQ(cu.stats.datagrams, 2);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 0);
    cap_udp_free(&cu);
    cap_close(&cf);
    test_guard_free(g);
    return 0;
}

TEST_IMPL(capture_pcap_byte_orders)
{
    for (int be = 0; be <= 1; be++) {
        for (int ns = 0; ns <= 1; ns++) {
            img.n = 0;
            /* FCS flag (bit 26) and FCS length 4 (bits 28-31 = 1) above LINKTYPE_RAW. */
            pcap_hdr(&img, be, ns, 0x14000000u | 101);
            fill_payload(33, (unsigned)(be * 2 + ns));
            build_ip_udp(be, 4739, 9995, 33);
            uint32_t frac = ns ? 987654321u : 987654u;
            pcap_rec(&img, be, 0xfffffffeu, frac, l3.b, (uint32_t)l3.n, (uint32_t)l3.n);
            pcap_rec(&img, be, 0, 1, l3.b, (uint32_t)l3.n, (uint32_t)l3.n);

            uint8_t *g = test_guard_copy(img.b, img.n);
            cap_file_t cf;
            cap_pkt_t pkt;
            cap_udp_t cu;
            static got_t got;
            got_reset(&got);
            ASSERT_EQ(cap_udp_init(&cu), 0);
            ASSERT_EQ(cap_open_mem(&cf, g, img.n), 0);
            ASSERT_EQ(cf.swapped, be != host_be());
            ASSERT_EQ(cf.ts_scale, ns ? 1 : 1000);
            ASSERT_EQ(cf.linktype, 101);
            uint64_t want = 0xfffffffeull * 1000000000ull + (ns ? 987654321ull : 987654000ull);
            ASSERT_EQ(cap_next(&cf, &pkt), 1);
            ASSERT_UINT64_EQ(pkt.ts_ns, want);
            ASSERT_EQ(pkt.linktype, 101);
            ASSERT_EQ(pkt.caplen, l3.n);
            ASSERT_MEM_EQ(pkt.data, l3.b, l3.n);
            cap_udp_feed(&cu, &pkt, got_fn, &got);
            ASSERT_EQ(cap_next(&cf, &pkt), 1);
            ASSERT_UINT64_EQ(pkt.ts_ns, ns ? 1 : 1000);
            ASSERT_EQ(cap_next(&cf, &pkt), 0);
            ASSERT_EQ(got.n, 1);
            expect_dgram(&got.d[0], be, 4739, 9995, 33, want);
            cap_udp_free(&cu);
            cap_close(&cf);
            test_guard_free(g);
        }
    }
    return 0;
}

static int open_img(cap_file_t *cf, uint8_t **g)
{
    *g = test_guard_copy(img.b, img.n);
    return cap_open_mem(cf, *g, img.n);
}

TEST_IMPL(capture_pcap_bad_files)
{
    cap_file_t cf;
    cap_pkt_t pkt;
    uint8_t *g;

    /* Too short to tell, and not a capture at all. */
    img.n = 0;
    tb_put(&img, "\xd4\xc3\xb2", 3);
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_FORMAT);
    test_guard_free(g);
    img.n = 0;
    tb_put(&img, "GIF89a..................................", 40);
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_FORMAT);
    test_guard_free(g);
    /* The magic of a pcap file but a header cut short. */
    img.n = 0;
    pcap_hdr(&img, 0, 0, 1);
    img.n = 23;
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_TRUNCATED);
    test_guard_free(g);
    /* A version this reader does not know. */
    img.n = 0;
    pcap_hdr(&img, 1, 0, 1);
    img.b[5] = 3;
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_FORMAT);
    test_guard_free(g);

    /* caplen > origlen is tolerated; a record that runs past the file ends the walk with the
     * frames before it intact. */
    img.n = 0;
    pcap_hdr(&img, 0, 1, 1);
    build_eth_v4_udp(1, 2, 10);
    pcap_rec(&img, 0, 5, 6, fr.b, (uint32_t)fr.n, 20);
    pcap_rec(&img, 0, 5, 7, fr.b, (uint32_t)fr.n, (uint32_t)fr.n);
    img.b[img.n - fr.n - 8] = 0xff; /* caplen of the second record: 0x...ff bytes */
    ASSERT_EQ(open_img(&cf, &g), 0);
    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_EQ(pkt.caplen, fr.n);
    ASSERT_EQ(pkt.origlen, 20);
    ASSERT_UINT64_EQ(pkt.ts_ns, 5000000006ull);
    ASSERT_EQ(cap_next(&cf, &pkt), -CAP_E_TRUNCATED);
    ASSERT_EQ(cap_next(&cf, &pkt), -CAP_E_TRUNCATED); /* and stays there */
    cap_close(&cf);
    test_guard_free(g);

    /* A header with nothing after it is an empty capture. */
    img.n = 0;
    pcap_hdr(&img, 0, 0, 1);
    ASSERT_EQ(open_img(&cf, &g), 0);
    ASSERT_EQ(cap_next(&cf, &pkt), 0);
    cap_close(&cf);
    test_guard_free(g);
    return 0;
}

TEST_IMPL(capture_strerror)
{
    ASSERT_STR_EQ(cap_strerror(0), "success");
    ASSERT_STR_EQ(cap_strerror(-CAP_E_OPEN), "cannot open or map the file");
    ASSERT_STR_EQ(cap_strerror(CAP_E_FORMAT), "neither a pcap nor a pcapng file");
    ASSERT_STR_EQ(cap_strerror(-CAP_E_TRUNCATED), "file ends inside a record header or record");
    ASSERT_STR_EQ(cap_strerror(-CAP_E_BAD_RECORD), "record length or block length is invalid");
    ASSERT_STR_EQ(cap_strerror(-CAP_E_NOMEM), "out of memory");
    ASSERT_STR_EQ(cap_strerror(-999), "unknown capture error");
    return 0;
}

TEST_IMPL(capture_open_path)
{
    char path[1024];
    cap_file_t cf;
    cap_pkt_t pkt;
    img.n = 0;
    pcap_hdr(&img, 0, 0, 1);
    build_eth_v4_udp(1, 2, 10);
    pcap_rec(&img, 0, 1, 2, fr.b, (uint32_t)fr.n, (uint32_t)fr.n);
    snprintf(path, sizeof path, "%s/one.pcap", test_tmpdir());
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(img.b, 1, img.n, f), img.n);
    ASSERT_EQ(fclose(f), 0);
    ASSERT_EQ(cap_open_path(&cf, path), 0);
    ASSERT_EQ(cf.mapped, 1);
    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_MEM_EQ(pkt.data, fr.b, fr.n);
    ASSERT_EQ(cap_next(&cf, &pkt), 0);
    cap_close(&cf);
    ASSERT_EQ(cf.mapped, 0);
    ASSERT_NULL(cf.buf);

    snprintf(path, sizeof path, "%s/empty.pcap", test_tmpdir());
    f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fclose(f), 0);
    ASSERT_EQ(cap_open_path(&cf, path), -CAP_E_FORMAT);

    snprintf(path, sizeof path, "%s/text.pcap", test_tmpdir());
    f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    fputs("this is not a capture\n", f);
    ASSERT_EQ(fclose(f), 0);
    ASSERT_EQ(cap_open_path(&cf, path), -CAP_E_FORMAT);
    ASSERT_EQ(cf.mapped, 0);

    snprintf(path, sizeof path, "%s/missing.pcap", test_tmpdir());
    ASSERT_EQ(cap_open_path(&cf, path), -CAP_E_OPEN);
    ASSERT_EQ(cap_open_path(&cf, test_tmpdir()), -CAP_E_OPEN); /* a directory */
    return 0;
}

/* Stops the read once two datagrams are in, as replay does on a send error. */
typedef struct read_stop {
    got_t *got;
    int stop;
} read_stop_t;

static void read_stop_fn(void *arg, const cap_dgram_t *d)
{
    read_stop_t *rs = arg;
    got_fn(rs->got, d);
    if (rs->got->n == 2)
        rs->stop = 1;
}

/* Writes the first n bytes of img to path. */
static void write_img(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(img.b, 1, n, f), n);
    ASSERT_EQ(fclose(f), 0);
}

TEST_IMPL(capture_read_dgrams)
{
    char path[1024];
    static got_t got;
    cap_udp_stats_t st;
    int opened;
    img.n = 0;
    pcap_hdr(&img, 0, 0, 1);
    for (unsigned i = 0; i < 3; i++) {
        fill_payload(20 + i, i);
        build_eth_v4_udp(1000, 2055, 20 + i);
        pcap_rec(&img, 0, 1, i, fr.b, (uint32_t)fr.n, (uint32_t)fr.n);
    }
    snprintf(path, sizeof path, "%s/three.pcap", test_tmpdir());
    write_img(path, img.n);

    got_reset(&got);
    ASSERT_EQ(cap_read_dgrams(path, got_fn, &got, NULL, &st, &opened), 0);
    ASSERT_EQ(opened, 1);
    ASSERT_EQ(got.n, 3);
    ASSERT_EQ(got.d[2].len, 22);
    ASSERT_UINT64_EQ(st.frames, 3);
    ASSERT_UINT64_EQ(st.datagrams, 3);

    /* A callback that sets *stop ends the read after its frame, and that is no error. */
    read_stop_t rs = {.got = &got};
    got_reset(&got);
    ASSERT_EQ(cap_read_dgrams(path, read_stop_fn, &rs, &rs.stop, &st, &opened), 0);
    ASSERT_EQ(opened, 1);
    ASSERT_EQ(got.n, 2);
    ASSERT_UINT64_EQ(st.frames, 2);

    /* A walk that ends at a bad record: the frames before it delivered, opened says so. */
    write_img(path, img.n - 5);
    got_reset(&got);
    ASSERT_EQ(cap_read_dgrams(path, got_fn, &got, NULL, &st, &opened), -CAP_E_TRUNCATED);
    ASSERT_EQ(opened, 1);
    ASSERT_EQ(got.n, 2);
    ASSERT_UINT64_EQ(st.frames, 2);
    ASSERT_EQ(cap_read_dgrams(path, got_fn, &got, NULL, NULL, NULL), -CAP_E_TRUNCATED);

    /* A file that cannot be opened: the same code from a short file header, but the callback
     * never ran and opened is 0. */
    write_img(path, 10);
    got_reset(&got);
    ASSERT_EQ(cap_read_dgrams(path, got_fn, &got, NULL, &st, &opened), -CAP_E_TRUNCATED);
    ASSERT_EQ(opened, 0);
    ASSERT_EQ(got.n, 0);
    ASSERT_UINT64_EQ(st.frames, 0);
    snprintf(path, sizeof path, "%s/missing.pcap", test_tmpdir());
    ASSERT_EQ(cap_read_dgrams(path, got_fn, &got, NULL, &st, &opened), -CAP_E_OPEN);
    ASSERT_EQ(opened, 0);
    ASSERT_EQ(got.n, 0);
    return 0;
}

/* ---- cap_file: pcapng ---- */

TEST_IMPL(capture_pcapng_sections)
{
    static uint8_t frames[8][300];
    static size_t frame_len[8];
    static got_t got;
    uint8_t unknown_body[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* Section 1, little-endian: four interfaces with different link types and clocks. */
    img.n = 0;
    ng_shb(&img, 0);
    ng_idb(&img, 0, 1, 62, -1);            /* 0: Ethernet, microseconds, snaplen 62 */
    ng_idb(&img, 0, 101, 0, 9);            /* 1: raw IP, nanoseconds */
    ng_idb(&img, 0, 228, 0, 0x80 | 10);    /* 2: IPv4, 2^-10 s */
    ng_idb(&img, 0, 229, 0, 0x80 | 40);    /* 3: IPv6, 2^-40 s (the slow path) */
    ng_block(&img, 0, 4, unknown_body, 8); /* Name Resolution Block: skipped */

    fill_payload(20, 0);
    build_eth_v4_udp(1000, 2000, 20);
    memcpy(frames[0], fr.b, fr.n);
    frame_len[0] = fr.n;
    ng_epb(&img, 0, 0, 1700000000123456ull, fr.b, (uint32_t)fr.n);

    fill_payload(21, 1);
    build_ip_udp(1, 1001, 2001, 21);
    memcpy(frames[1], l3.b, l3.n);
    frame_len[1] = l3.n;
    ng_epb(&img, 0, 1, 1700000000123456789ull, l3.b, (uint32_t)l3.n);

    fill_payload(22, 2);
    build_ip_udp(0, 1002, 2002, 22);
    memcpy(frames[2], l3.b, l3.n);
    frame_len[2] = l3.n;
    ng_epb(&img, 0, 2, 1700000000ull * 1024 + 512, l3.b, (uint32_t)l3.n);

    fill_payload(23, 3);
    build_ip_udp(1, 1003, 2003, 23);
    memcpy(frames[3], l3.b, l3.n);
    frame_len[3] = l3.n;
    ng_epb(&img, 0, 3, (1000ull << 40) | (1ull << 39), l3.b, (uint32_t)l3.n);

    ng_epb(&img, 0, 7, 1, l3.b, (uint32_t)l3.n);    /* no interface 7: skipped */
    ng_block(&img, 0, 0x40000bad, unknown_body, 5); /* a custom block: skipped */

    /* Simple Packet Block on interface 0: an 80-byte frame cut to the snaplen 62 (and padded
     * to 64, padding that must not count as data). */
    fill_payload(80 - 42, 4);
    build_eth_v4_udp(1004, 2004, 80 - 42);
    memcpy(frames[4], fr.b, fr.n);
    frame_len[4] = fr.n;
    ng_spb(&img, 0, (uint32_t)fr.n, fr.b, 62);

    /* Obsolete Packet Block on interface 1. */
    fill_payload(25, 5);
    build_ip_udp(0, 1005, 2005, 25);
    memcpy(frames[5], l3.b, l3.n);
    frame_len[5] = l3.n;
    ng_pkt(&img, 0, 2, 1, 42, l3.b, (uint32_t)l3.n, (uint32_t)l3.n + 10);

    /* Section 2, big-endian: interface 0 is now Linux cooked v1 in milliseconds. */
    ng_shb(&img, 1);
    ng_idb(&img, 1, 113, 0, 3);
    fill_payload(26, 6);
    build_ip_udp(0, 1006, 2006, 26);
    fr.n = 0;
    tb_u16(&fr, 0, 1); /* packet type: to us */
    tb_u16(&fr, 1, 1); /* ARPHRD_ETHER */
    tb_u16(&fr, 6, 1); /* address length */
    tb_zero(&fr, 8);   /* address */
    tb_u16(&fr, 0x0800, 1);
    tb_put(&fr, l3.b, l3.n);
    memcpy(frames[6], fr.b, fr.n);
    frame_len[6] = fr.n;
    ng_epb(&img, 1, 0, 1700000000123ull, fr.b, (uint32_t)fr.n);

    uint8_t *g;
    cap_file_t cf;
    cap_pkt_t pkt;
    cap_udp_t cu;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    ASSERT_EQ(open_img(&cf, &g), 0);
    ASSERT_EQ(cf.is_pcapng, 1);
    ASSERT_EQ(cf.swapped, host_be());

    static const struct {
        uint32_t linktype;
        uint64_t ts_ns;
        int frame;
        uint32_t caplen, origlen;
    } want[] = {
        {1, 1700000000123456000ull, 0, 0, 0},
        {101, 1700000000123456789ull, 1, 0, 0},
        {228, 1700000000500000000ull, 2, 0, 0},
        {229, 1000500000000ull, 3, 0, 0},
        {1, 0, 4, 62, 80},
        {101, 42, 5, 0, 10},
        {113, 1700000000123000000ull, 6, 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ASSERT_EQ(cap_next(&cf, &pkt), 1);
        size_t n = frame_len[want[i].frame];
        uint32_t caplen = want[i].caplen ? want[i].caplen : (uint32_t)n;
        uint32_t origlen = want[i].origlen == 10 ? (uint32_t)n + 10
                           : want[i].origlen     ? want[i].origlen
                                                 : (uint32_t)n;
        ASSERT_EQ(pkt.linktype, want[i].linktype);
        ASSERT_UINT64_EQ(pkt.ts_ns, want[i].ts_ns);
        ASSERT_EQ(pkt.caplen, caplen);
        ASSERT_EQ(pkt.origlen, origlen);
        ASSERT_MEM_EQ(pkt.data, frames[want[i].frame], caplen);
        cap_udp_feed(&cu, &pkt, got_fn, &got);
    }
    ASSERT_EQ(cap_next(&cf, &pkt), 0);
    ASSERT_EQ(cf.swapped, !host_be());
    ASSERT_UINT64_EQ(cf.n_skipped_blocks, 3);

    /* Every frame but the one cut by the snaplen decodes. */
    ASSERT_EQ(got.n, 6);
    ASSERT_UINT64_EQ(cu.stats.truncated, 1);
    fill_payload(20, 0);
    expect_dgram(&got.d[0], 0, 1000, 2000, 20, 1700000000123456000ull);
    fill_payload(21, 1);
    expect_dgram(&got.d[1], 1, 1001, 2001, 21, 1700000000123456789ull);
    fill_payload(22, 2);
    expect_dgram(&got.d[2], 0, 1002, 2002, 22, 1700000000500000000ull);
    fill_payload(23, 3);
    expect_dgram(&got.d[3], 1, 1003, 2003, 23, 1000500000000ull);
    fill_payload(25, 5);
    expect_dgram(&got.d[4], 0, 1005, 2005, 25, 42);
    fill_payload(26, 6);
    expect_dgram(&got.d[5], 0, 1006, 2006, 26, 1700000000123000000ull);
    cap_udp_free(&cu);
    cap_close(&cf);
    test_guard_free(g);
    return 0;
}

TEST_IMPL(capture_pcapng_tsresol_forms)
{
    /* Each if_tsresol value with a timestamp and the nanoseconds it must give. */
    static const struct {
        int tsresol;
        uint64_t ts, ns;
    } cases[] = {
        {-1, 1500000000000001ull, 1500000000000001000ull}, /* default: microseconds */
        {0, 1500000000ull, 1500000000000000000ull},        /* seconds */
        {3, 1500000000999ull, 1500000000999000000ull},     /* milliseconds */
        {6, 1500000000000001ull, 1500000000000001000ull},
        {9, 1500000000000000001ull, 1500000000000000001ull},
        {12, 1500000000000000ull * 1000 + 999, 1500000000000000ull}, /* picoseconds */
        {0x80 | 0, 77, 77000000000ull},                              /* 2^0: seconds */
        {0x80 | 20, (1500000000ull << 20) | (1u << 19), 1500000000500000000ull},
        {0x80 | 30, (1ull << 30) * 3 + (1ull << 28), 3250000000ull},
        {0x80 | 50, (5ull << 50) + (3ull << 48), 5750000000ull},
        {0x80 | 127, 1ull << 63, 1000000000ull}, /* clamped to 2^-63 */
        {127, 12345, 0},                         /* clamped to 10^-28 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        img.n = 0;
        ng_shb(&img, 1);
        ng_idb(&img, 1, 101, 0, cases[i].tsresol);
        build_ip_udp(0, 1, 2, 0);
        ng_epb(&img, 1, 0, cases[i].ts, l3.b, (uint32_t)l3.n);
        uint8_t *g;
        cap_file_t cf;
        cap_pkt_t pkt;
        ASSERT_EQ(open_img(&cf, &g), 0);
        ASSERT_EQ(cap_next(&cf, &pkt), 1);
        if (pkt.ts_ns != cases[i].ns)
            TEST_FAIL_AT("tsresol 0x%x ts %" PRIu64 ": got %" PRIu64 " ns, want %" PRIu64,
                         (unsigned)cases[i].tsresol, cases[i].ts, pkt.ts_ns, cases[i].ns);
        cap_close(&cf);
        test_guard_free(g);
    }
    return 0;
}

/* An image whose first frame is good, followed by one bad block built by `bad`. */
static void ng_good_prefix(void)
{
    img.n = 0;
    ng_shb(&img, 0);
    ng_idb(&img, 0, 1, 0, -1);
    build_eth_v4_udp(1, 2, 3);
    ng_epb(&img, 0, 0, 1, fr.b, (uint32_t)fr.n);
}

static void put_le32_at(size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        img.b[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

static void expect_second_fails(int err)
{
    uint8_t *g;
    cap_file_t cf;
    cap_pkt_t pkt;
    ASSERT_EQ(open_img(&cf, &g), 0);
    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_EQ(pkt.caplen, fr.n);
    ASSERT_EQ(cap_next(&cf, &pkt), -err);
    ASSERT_EQ(cap_next(&cf, &pkt), -err);
    cap_close(&cf);
    test_guard_free(g);
}

TEST_IMPL(capture_pcapng_bad_blocks)
{
    size_t at;
    uint8_t b8[8] = {0};

    /* Block length not a multiple of 4. */
    ng_good_prefix();
    at = img.n;
    ng_block(&img, 0, 0x0bad, b8, 8);
    put_le32_at(at + 4, 21);
    put_le32_at(img.n - 4, 21);
    expect_second_fails(CAP_E_BAD_RECORD);

    /* Trailing length differs from the leading one. */
    ng_good_prefix();
    ng_block(&img, 0, 0x0bad, b8, 8);
    put_le32_at(img.n - 4, 16);
    expect_second_fails(CAP_E_BAD_RECORD);

    /* Shorter than any block can be. */
    ng_good_prefix();
    at = img.n;
    ng_block(&img, 0, 0x0bad, b8, 0);
    put_le32_at(at + 4, 8);
    expect_second_fails(CAP_E_BAD_RECORD);

    /* An EPB too short for its fixed fields (and consistent lengths otherwise). */
    ng_good_prefix();
    ng_block(&img, 0, 6, b8, 8);
    expect_second_fails(CAP_E_BAD_RECORD);

    /* An EPB whose caplen runs one byte past its block (into the next one). */
    ng_good_prefix();
    at = img.n;
    ng_epb(&img, 0, 0, 2, fr.b, (uint32_t)fr.n);
    put_le32_at(at + 8 + 12, (uint32_t)(img.n - at - 32 + 1));
    ng_epb(&img, 0, 0, 2, fr.b, (uint32_t)fr.n);
    expect_second_fails(CAP_E_BAD_RECORD);

    /* An IDB too short, and one whose option runs past it. */
    ng_good_prefix();
    ng_block(&img, 0, 1, b8, 4);
    expect_second_fails(CAP_E_BAD_RECORD);
    ng_good_prefix();
    at = img.n;
    ng_idb(&img, 0, 1, 0, 6);
    img.b[at + 8 + 8 + 2] = 200; /* if_name length */
    expect_second_fails(CAP_E_BAD_RECORD);

    /* A block longer than the rest of the file. */
    ng_good_prefix();
    at = img.n;
    ng_block(&img, 0, 0x0bad, b8, 8);
    put_le32_at(at + 4, 1000);
    expect_second_fails(CAP_E_TRUNCATED);

    /* A second section whose byte-order magic is wrong, or whose version is unknown. */
    ng_good_prefix();
    at = img.n;
    ng_shb(&img, 0);
    img.b[at + 8] ^= 0xff;
    expect_second_fails(CAP_E_BAD_RECORD);
    ng_good_prefix();
    at = img.n;
    ng_shb(&img, 0);
    img.b[at + 12] = 2;
    expect_second_fails(CAP_E_BAD_RECORD);

    /* The same faults in the first section header make it no pcapng file. */
    uint8_t *g;
    cap_file_t cf;
    img.n = 0;
    ng_shb(&img, 1);
    img.b[8] = 0;
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_FORMAT);
    test_guard_free(g);
    img.n = 0;
    ng_shb(&img, 1);
    img.b[13] = 2;
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_FORMAT);
    test_guard_free(g);
    img.n = 0;
    ng_shb(&img, 0);
    put_le32_at(4, 24);
    put_le32_at(24, 24);
    ASSERT_EQ(open_img(&cf, &g), -CAP_E_BAD_RECORD);
    test_guard_free(g);

    /* Frames before any interface is described, and an SPB with no interface 0, are skipped. */
    img.n = 0;
    ng_shb(&img, 0);
    ng_epb(&img, 0, 0, 1, fr.b, (uint32_t)fr.n);
    ng_spb(&img, 0, (uint32_t)fr.n, fr.b, (uint32_t)fr.n);
    cap_pkt_t pkt;
    ASSERT_EQ(open_img(&cf, &g), 0);
    ASSERT_EQ(cap_next(&cf, &pkt), 0);
    ASSERT_UINT64_EQ(cf.n_skipped_blocks, 2);
    test_guard_free(g);

    /* An SPB holding fewer bytes than its original length (snaplen 0: no limit): the data is
     * what the block holds, then a second SPB right after it. */
    img.n = 0;
    ng_shb(&img, 1);
    ng_idb(&img, 1, 1, 0, -1);
    build_eth_v4_udp(1, 2, 10); /* 52 bytes: no padding */
    ng_spb(&img, 1, 1000, fr.b, (uint32_t)fr.n);
    ng_spb(&img, 1, (uint32_t)fr.n, fr.b, (uint32_t)fr.n);
    ASSERT_EQ(open_img(&cf, &g), 0);
    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_EQ(pkt.caplen, fr.n);
    ASSERT_EQ(pkt.origlen, 1000);
    ASSERT_MEM_EQ(pkt.data, fr.b, fr.n);
    ASSERT_EQ(cap_next(&cf, &pkt), 1);
    ASSERT_EQ(pkt.caplen, fr.n);
    ASSERT_EQ(pkt.origlen, fr.n);
    ASSERT_EQ(cap_next(&cf, &pkt), 0);
    test_guard_free(g);
    return 0;
}

/* ---- every truncation of valid images ---- */

typedef struct marks {
    size_t n;
    size_t end[64];
    int frame[64];
} marks_t;

static void mark(marks_t *m, int is_frame)
{
    m->end[m->n] = img.n;
    m->frame[m->n] = is_frame;
    m->n++;
}

/* Opens and walks every prefix of img from a guard-page copy. A prefix that ends on a record
 * boundary is a clean shorter file; any other is truncated; frames before the cut are all
 * delivered, and cap_udp is fed each one. */
static void walk_every_prefix(const marks_t *m)
{
    cap_udp_t cu;
    static got_t got;
    ASSERT_EQ(cap_udp_init(&cu), 0);
    for (size_t len = 0; len <= img.n; len++) {
        uint8_t *g = test_guard_copy(img.b, len);
        cap_file_t cf;
        cap_pkt_t pkt;
        int rc = cap_open_mem(&cf, g, len);
        if (len < 4) {
            ASSERT_EQ(rc, -CAP_E_FORMAT);
        } else if (len < m->end[0]) {
            ASSERT_EQ(rc, -CAP_E_TRUNCATED);
        } else {
            ASSERT_EQ(rc, 0);
            int want_frames = 0, boundary = 0;
            for (size_t i = 0; i < m->n; i++) {
                if (m->end[i] <= len)
                    want_frames += m->frame[i];
                if (m->end[i] == len)
                    boundary = 1;
            }
            int frames = 0;
            got_reset(&got);
            while ((rc = cap_next(&cf, &pkt)) == 1) {
                ASSERT(pkt.data >= g && pkt.data + pkt.caplen <= g + len);
                cap_udp_feed(&cu, &pkt, got_fn, &got);
                frames++;
            }
            if (frames != want_frames || rc != (boundary ? 0 : -CAP_E_TRUNCATED))
                TEST_FAIL_AT("prefix %zu of %zu: %d frames, rc %d; want %d frames, rc %d", len,
                             img.n, frames, rc, want_frames, boundary ? 0 : -CAP_E_TRUNCATED);
            ASSERT_EQ(got.n, frames);
        }
        cap_close(&cf);
        test_guard_free(g);
    }
    cap_udp_free(&cu);
}

TEST_IMPL(capture_pcap_every_truncation)
{
    for (int be = 0; be <= 1; be++) {
        marks_t m = {0};
        img.n = 0;
        pcap_hdr(&img, be, be, 1);
        mark(&m, 0);
        for (unsigned i = 0; i < 3; i++) {
            fill_payload(10 + i * 13, i);
            build_eth_v4_udp((uint16_t)i, 2055, 10 + i * 13);
            pcap_rec(&img, be, 100 + i, i, fr.b, (uint32_t)fr.n, (uint32_t)fr.n);
            mark(&m, 1);
        }
        walk_every_prefix(&m);
    }
    return 0;
}

TEST_IMPL(capture_pcapng_every_truncation)
{
    uint8_t b8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (int be = 0; be <= 1; be++) {
        marks_t m = {0};
        img.n = 0;
        ng_shb(&img, be);
        mark(&m, 0);
        ng_idb(&img, be, 1, 0, 9);
        mark(&m, 0);
        fill_payload(17, 1);
        build_eth_v4_udp(1, 2055, 17);
        ng_epb(&img, be, 0, 5, fr.b, (uint32_t)fr.n);
        mark(&m, 1);
        ng_block(&img, be, 0x0bad, b8, 7);
        mark(&m, 0);
        ng_spb(&img, be, (uint32_t)fr.n, fr.b, (uint32_t)fr.n);
        mark(&m, 1);
        ng_pkt(&img, be, 2, 0, 6, fr.b, (uint32_t)fr.n, (uint32_t)fr.n);
        mark(&m, 1);
        ng_shb(&img, !be);
        mark(&m, 0);
        ng_idb(&img, !be, 101, 0, -1);
        mark(&m, 0);
        build_ip_udp(1, 3, 4739, 17);
        ng_epb(&img, !be, 0, 7, l3.b, (uint32_t)l3.n);
        mark(&m, 1);
        walk_every_prefix(&m);
    }
    return 0;
}

/* ---- cap_udp: link layers ---- */

/* fr = Ethernet with the given tag protocol IDs (0-terminated) before an IPv4/UDP packet. */
static void build_eth_tags(const uint16_t *tpids, size_t payload_len)
{
    build_ip_udp(0, 7, 8, payload_len);
    fr.n = 0;
    mk_eth(&fr, tpids[0] ? tpids[0] : 0x0800);
    for (size_t i = 0; tpids[i]; i++) {
        tb_u16(&fr, (unsigned)(0x2000 | (i + 1)), 1); /* PCP 1, VLAN id i + 1 */
        tb_u16(&fr, tpids[i + 1] ? tpids[i + 1] : 0x0800, 1);
    }
    tb_put(&fr, l3.b, l3.n);
}

TEST_IMPL(capture_link_vlan)
{
    static const uint16_t tags1[] = {0x8100, 0};
    static const uint16_t tags2[] = {0x88a8, 0x8100, 0};
    static const uint16_t tags3[] = {0x9100, 0x9100, 0x8100, 0};
    static const uint16_t tags8[] = {0x88a8, 0x8100, 0x8100, 0x8100, 0x8100,
                                     0x8100, 0x8100, 0x8100, 0};
    static const uint16_t tags9[] = {0x88a8, 0x8100, 0x8100, 0x8100, 0x8100,
                                     0x8100, 0x8100, 0x8100, 0x8100, 0};
    const uint16_t *ok[] = {tags1, tags2, tags3, tags8};
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    fill_payload(30, 9);
    for (size_t i = 0; i < 4; i++) {
        build_eth_tags(ok[i], 30);
        feed(&cu, &got, 1, 10 + i, fr.b, fr.n);
        ASSERT_EQ(got.n, i + 1);
        expect_dgram(&got.d[i], 0, 7, 8, 30, 10 + i);
    }
    build_eth_tags(tags9, 30);
    feed(&cu, &got, 1, 1, fr.b, fr.n);
    ASSERT_UINT64_EQ(cu.stats.not_ip, 1);
    /* A frame that ends inside a tag. */
    build_eth_tags(tags2, 30);
    feed(&cu, &got, 1, 1, fr.b, 14 + 6);
    ASSERT_UINT64_EQ(cu.stats.truncated, 1);
    /* ARP, and an 802.3 length field instead of an EtherType. */
    fr.n = 0;
    mk_eth(&fr, 0x0806);
    tb_zero(&fr, 28);
    feed(&cu, &got, 1, 1, fr.b, fr.n);
    fr.b[12] = 0;
    fr.b[13] = 28;
    feed(&cu, &got, 1, 1, fr.b, fr.n);
    ASSERT_UINT64_EQ(cu.stats.not_ip, 3);
    ASSERT_EQ(got.n, 4);
    ASSERT_UINT64_EQ(cu.stats.frames, 8);
    ASSERT_UINT64_EQ(cu.stats.datagrams, 4);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 4);
    cap_udp_free(&cu);
    return 0;
}

TEST_IMPL(capture_link_cooked)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);

    /* Linux cooked v1 carrying IPv4, then IPv6 behind an 802.1Q tag. */
    fill_payload(40, 1);
    build_ip_udp(0, 53, 5353, 40);
    fr.n = 0;
    tb_u16(&fr, 4, 1);   /* sent by us */
    tb_u16(&fr, 772, 1); /* ARPHRD_LOOPBACK */
    tb_u16(&fr, 0, 1);
    tb_zero(&fr, 8);
    tb_u16(&fr, 0x0800, 1);
    tb_put(&fr, l3.b, l3.n);
    feed(&cu, &got, 113, 1, fr.b, fr.n);
    ASSERT_EQ(got.n, 1);
    expect_dgram(&got.d[0], 0, 53, 5353, 40, 1);
    feed(&cu, &got, 113, 1, fr.b, 15);
    ASSERT_UINT64_EQ(cu.stats.truncated, 1);

    build_ip_udp(1, 54, 5354, 40);
    fr.n = 0;
    tb_u16(&fr, 0, 1);
    tb_u16(&fr, 1, 1);
    tb_u16(&fr, 6, 1);
    tb_zero(&fr, 8);
    tb_u16(&fr, 0x8100, 1);
    tb_u16(&fr, 42, 1);
    tb_u16(&fr, 0x86dd, 1);
    tb_put(&fr, l3.b, l3.n);
    feed(&cu, &got, 113, 2, fr.b, fr.n);
    ASSERT_EQ(got.n, 2);
    expect_dgram(&got.d[1], 1, 54, 5354, 40, 2);

    /* Linux cooked v2 carrying IPv6 and IPv4. */
    for (int v6 = 1; v6 >= 0; v6--) {
        build_ip_udp(v6, 55, 5355, 40);
        fr.n = 0;
        tb_u16(&fr, v6 ? 0x86dd : 0x0800, 1);
        tb_u16(&fr, 0, 1);
        tb_u32(&fr, 3, 1); /* ifindex */
        tb_u16(&fr, 1, 1);
        tb_u8(&fr, 0);
        tb_u8(&fr, 6);
        tb_zero(&fr, 8);
        tb_put(&fr, l3.b, l3.n);
        feed(&cu, &got, 276, 3, fr.b, fr.n);
        ASSERT_EQ(got.n, 4 - (size_t)v6);
        expect_dgram(&got.d[got.n - 1], v6, 55, 5355, 40, 3);
    }
    feed(&cu, &got, 276, 3, fr.b, 19);
    ASSERT_UINT64_EQ(cu.stats.truncated, 2);
    fr.b[0] = 0x08;
    fr.b[1] = 0x06; /* ARP */
    feed(&cu, &got, 276, 3, fr.b, fr.n);
    ASSERT_UINT64_EQ(cu.stats.not_ip, 1);
    ASSERT_UINT64_EQ(cu.stats.frames, 7);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 3);
    cap_udp_free(&cu);
    return 0;
}

TEST_IMPL(capture_link_raw_and_loopback)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    fill_payload(12, 3);
    size_t want = 0;

    /* Raw IP under each of its link types, both families. */
    static const uint32_t raw[] = {101, 12, 14};
    for (size_t i = 0; i < 3; i++) {
        for (int v6 = 0; v6 <= 1; v6++) {
            build_ip_udp(v6, 100, 200, 12);
            feed(&cu, &got, raw[i], 5, l3.b, l3.n);
            ASSERT_EQ(got.n, ++want);
            expect_dgram(&got.d[want - 1], v6, 100, 200, 12, 5);
        }
    }
    build_ip_udp(0, 100, 200, 12);
    feed(&cu, &got, 228, 6, l3.b, l3.n);
    ASSERT_EQ(got.n, ++want);
    feed(&cu, &got, 229, 6, l3.b, l3.n); /* IPv4 bytes on an IPv6 link */
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 1);
    build_ip_udp(1, 100, 200, 12);
    feed(&cu, &got, 229, 6, l3.b, l3.n);
    ASSERT_EQ(got.n, ++want);
    expect_dgram(&got.d[want - 1], 1, 100, 200, 12, 6);
    l3.b[0] = 0x50; /* version 5 on a raw link */
    feed(&cu, &got, 101, 6, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.not_ip, 1);
    feed(&cu, &got, 101, 6, l3.b, 0);
    ASSERT_UINT64_EQ(cu.stats.truncated, 1);

    /* NULL in either byte order and LOOP, with every AF_INET6 value in use. */
    static const uint32_t fams[] = {2, 10, 24, 28, 30};
    for (size_t i = 0; i < 5; i++) {
        int v6 = fams[i] != 2;
        build_ip_udp(v6, 300, 400, 12);
        for (int order = 0; order <= 1; order++) {
            for (int lt = 0; lt <= 1; lt++) {
                fr.n = 0;
                tb_u32(&fr, fams[i], order);
                tb_put(&fr, l3.b, l3.n);
                feed(&cu, &got, lt ? 108 : 0, 7, fr.b, fr.n);
                ASSERT_EQ(got.n, ++want);
                expect_dgram(&got.d[want - 1], v6, 300, 400, 12, 7);
            }
        }
    }
    fr.n = 0;
    tb_u32(&fr, 7, 0); /* AF_IMPLINK: not IP */
    tb_put(&fr, l3.b, l3.n);
    feed(&cu, &got, 0, 7, fr.b, fr.n);
    ASSERT_UINT64_EQ(cu.stats.not_ip, 2);
    feed(&cu, &got, 0, 7, fr.b, 3);
    ASSERT_UINT64_EQ(cu.stats.truncated, 2);

    /* 802.11 is not decoded. */
    feed(&cu, &got, 105, 7, fr.b, fr.n);
    ASSERT_UINT64_EQ(cu.stats.unsupported_linktype, 1);
    ASSERT_UINT64_EQ(cu.stats.datagrams, want);
    ASSERT_UINT64_EQ(cu.stats.frames, want + 6);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 6);
    cap_udp_free(&cu);
    return 0;
}

/* ---- cap_udp: IPv4, IPv6, UDP ---- */

TEST_IMPL(capture_ipv4_checks)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    fill_payload(50, 4);

    /* Options in the header are skipped. */
    l4.n = l3.n = 0;
    mk_udp(&l4, 11, 22, payload, 50);
    mk_ipv4_opts(&l3, V4_SRC, V4_DST, 17, 1, 0, l4.b, l4.n, 3);
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    ASSERT_EQ(got.n, 1);
    expect_dgram(&got.d[0], 0, 11, 22, 50, 1);

    /* A UDP length shorter than the IP payload: the rest is not payload. */
    l3.b[32 + 5] = 8 + 20; /* UDP length, behind the 32-byte header */
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    ASSERT_EQ(got.n, 2);
    expect_dgram(&got.d[1], 0, 11, 22, 20, 1);
    /* An empty datagram. */
    l3.n = 0;
    mk_ipv4(&l3, 17, 1, 0, l4.b, 8);
    l3.b[20 + 5] = 8;
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    ASSERT_EQ(got.n, 3);
    ASSERT_EQ(got.d[2].len, 0);

    /* UDP length past the IP payload, and below the header size. */
    build_ip_udp(0, 11, 22, 50);
    l3.b[20 + 5] = 8 + 51;
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    l3.b[20 + 5] = 7;
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.bad_udp_length, 2);
    /* An IP payload too short for a UDP header. */
    l3.n = 0;
    mk_ipv4(&l3, 17, 1, 0, payload, 7);
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.truncated, 1);

    /* Header faults: IHL below 5, total length below the header, wrong version. */
    build_ip_udp(0, 11, 22, 50);
    l3.b[0] = 0x44;
    feed(&cu, &got, 228, 1, l3.b, l3.n);
    l3.b[0] = 0x46;
    l3.b[2] = 0;
    l3.b[3] = 20;
    feed(&cu, &got, 228, 1, l3.b, l3.n);
    l3.b[0] = 0x65;
    feed(&cu, &got, 228, 1, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 3);

    /* Cut by the snap length: shorter than the total length, shorter than the header, or
     * shorter than the options. */
    build_ip_udp(0, 11, 22, 50);
    feed_cut(&cu, &got, 101, 1, l3.b, l3.n - 1, l3.n);
    feed_cut(&cu, &got, 101, 1, l3.b, 19, l3.n);
    l3.n = 0;
    mk_ipv4_opts(&l3, V4_SRC, V4_DST, 17, 1, 0, l4.b, 8, 4);
    feed_cut(&cu, &got, 101, 1, l3.b, 30, l3.n);
    ASSERT_UINT64_EQ(cu.stats.truncated, 4);

    /* Not UDP. */
    l3.n = 0;
    mk_ipv4(&l3, 6, 1, 0, payload, 20);
    feed(&cu, &got, 101, 1, l3.b, l3.n);
    mk_ipv4(&l3, 1, 1, 0, payload, 8);
    feed(&cu, &got, 101, 1, l3.b + 40, l3.n - 40);
    ASSERT_UINT64_EQ(cu.stats.not_udp, 2);

    ASSERT_EQ(got.n, 3);
    ASSERT_UINT64_EQ(cu.stats.frames, 14);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 11);
    cap_udp_free(&cu);
    return 0;
}

/* Appends an IPv6 extension header (next header nh) of `len` bytes to l4 (len multiple of 8, or
 * of 4 for AH). */
static void mk_ext(tbuf_t *t, uint8_t nh, size_t len, int ah)
{
    tb_u8(t, nh);
    tb_u8(t, (unsigned)(ah ? len / 4 - 2 : len / 8 - 1));
    for (size_t i = 2; i < len; i++)
        tb_u8(t, i == 2 ? 1 : 0); /* a PadN option, then zeros */
}

TEST_IMPL(capture_ipv6_ext_headers)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    fill_payload(64, 5);

    /* Hop-by-hop, routing, fragment (atomic), AH, destination options, then UDP. */
    body.n = 0;
    mk_ext(&body, 43, 8, 0);
    mk_ext(&body, 44, 24, 0);
    tb_u8(&body, 51); /* atomic fragment header: offset 0, M 0 */
    tb_u8(&body, 0);
    tb_u16(&body, 0, 1);
    tb_u32(&body, 0x12345678, 1);
    mk_ext(&body, 60, 16, 1);
    mk_ext(&body, 17, 16, 0);
    mk_udp(&body, 2000, 4739, payload, 64);
    l3.n = 0;
    mk_ipv6(&l3, 0, body.b, body.n);
    fr.n = 0;
    mk_eth(&fr, 0x86dd);
    tb_put(&fr, l3.b, l3.n);
    feed(&cu, &got, 1, 9, fr.b, fr.n);
    ASSERT_EQ(got.n, 1);
    expect_dgram(&got.d[0], 1, 2000, 4739, 64, 9);
    ASSERT_UINT64_EQ(cu.stats.fragments, 0);

    /* Eight extension headers are walked; nine are too many. */
    for (int k = 8; k <= 9; k++) {
        body.n = 0;
        for (int i = 0; i < k; i++)
            mk_ext(&body, i == k - 1 ? 17 : 60, 8, 0);
        mk_udp(&body, 1, 2, payload, 4);
        l3.n = 0;
        mk_ipv6(&l3, 60, body.b, body.n);
        feed(&cu, &got, 229, 9, l3.b, l3.n);
    }
    ASSERT_EQ(got.n, 2);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 1);

    /* An extension header that claims more than the payload holds. */
    body.n = 0;
    mk_ext(&body, 17, 8, 0);
    mk_udp(&body, 1, 2, payload, 4);
    body.b[1] = 5;
    l3.n = 0;
    mk_ipv6(&l3, 0, body.b, body.n);
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 2);
    /* An extension header cut to one byte by the payload length. */
    l3.n = 0;
    mk_ipv6(&l3, 0, body.b, 1);
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 3);

    /* Jumbo payload length 0, and a payload length past the frame. */
    build_ip_udp(1, 1, 2, 4);
    l3.b[4] = l3.b[5] = 0;
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 4);
    build_ip_udp(1, 1, 2, 4);
    l3.b[5]++;
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    feed(&cu, &got, 229, 9, l3.b, 39);
    ASSERT_UINT64_EQ(cu.stats.truncated, 2);
    /* ICMPv6, and No Next Header. */
    l3.n = 0;
    mk_ipv6(&l3, 58, payload, 8);
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    l3.n = 0;
    mk_ipv6(&l3, 59, payload, 8);
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.not_udp, 2);
    /* Trailing bytes after the IPv6 payload (link padding) are ignored. */
    build_ip_udp(1, 1, 2, 4);
    tb_zero(&l3, 6);
    feed(&cu, &got, 229, 9, l3.b, l3.n);
    ASSERT_EQ(got.n, 3);
    ASSERT_EQ(got.d[2].len, 4);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 8);
    cap_udp_free(&cu);
    return 0;
}

/* Every proper prefix of a good frame is counted truncated (the frame says it was longer) and
 * never read past; the whole frame gives its datagram. */
TEST_IMPL(capture_udp_every_truncation)
{
    cap_udp_t cu;
    static got_t got;
    ASSERT_EQ(cap_udp_init(&cu), 0);
    fill_payload(25, 6);
    for (int kind = 0; kind < 5; kind++) {
        uint32_t lt = 1;
        static const uint16_t tags[] = {0x88a8, 0x8100, 0};
        switch (kind) {
        case 0:
            build_eth_v4_udp(1, 2, 25);
            break;
        case 1:
            build_eth_tags(tags, 25);
            break;
        case 2: /* SLL2, IPv6 with a destination options header */
            body.n = 0;
            mk_ext(&body, 17, 16, 0);
            mk_udp(&body, 1, 2, payload, 25);
            l3.n = 0;
            mk_ipv6(&l3, 60, body.b, body.n);
            fr.n = 0;
            tb_u16(&fr, 0x86dd, 1);
            tb_zero(&fr, 18);
            tb_put(&fr, l3.b, l3.n);
            lt = 276;
            break;
        case 3: /* NULL, IPv4 with options */
            l4.n = l3.n = fr.n = 0;
            mk_udp(&l4, 1, 2, payload, 25);
            mk_ipv4_opts(&l3, V4_SRC, V4_DST, 17, 1, 0, l4.b, l4.n, 2);
            tb_u32(&fr, 2, 0);
            tb_put(&fr, l3.b, l3.n);
            lt = 0;
            break;
        case 4: /* SLL */
            build_ip_udp(0, 1, 2, 25);
            fr.n = 0;
            tb_zero(&fr, 14);
            tb_u16(&fr, 0x0800, 1);
            tb_put(&fr, l3.b, l3.n);
            lt = 113;
            break;
        }
        memset(&cu.stats, 0, sizeof cu.stats);
        got_reset(&got);
        for (size_t len = 0; len < fr.n; len++)
            feed_cut(&cu, &got, lt, 1, fr.b, len, fr.n);
        if (got.n != 0 || cu.stats.truncated != fr.n)
            TEST_FAIL_AT("kind %d: %zu datagrams, %" PRIu64 " truncated of %zu prefixes", kind,
                         got.n, cu.stats.truncated, fr.n);
        ASSERT_UINT64_EQ(stats_problems(&cu.stats), fr.n);
        feed(&cu, &got, lt, 1, fr.b, fr.n);
        ASSERT_EQ(got.n, 1);
        ASSERT_EQ(got.d[0].len, 25);
    }
    cap_udp_free(&cu);
    return 0;
}

/* ---- cap_udp: fragments ---- */

/* The UDP datagram (header + payload[0..n)) whose fragments the tests send. */
static uint8_t dgram[70000];
static size_t dgram_len;

static void make_dgram(size_t n, unsigned seed, uint16_t sport, uint16_t dport)
{
    fill_payload(n, seed);
    l4.n = 0;
    mk_udp(&l4, sport, dport, payload, n);
    memcpy(dgram, l4.b, l4.n);
    dgram_len = l4.n;
}

/* Sends bytes [off, off + len) of dgram as an IPv4 fragment (Ethernet link); last = MF clear. */
static void send_frag4(cap_udp_t *cu, got_t *g, uint64_t ts, uint16_t id, size_t off, size_t len,
                       int last)
{
    l3.n = fr.n = 0;
    mk_ipv4(&l3, 17, id, (uint16_t)((last ? 0 : 0x2000) | off / 8), dgram + off, len);
    mk_eth(&fr, 0x0800);
    tb_put(&fr, l3.b, l3.n);
    feed(cu, g, 1, ts, fr.b, fr.n);
}

/* The same over IPv6 (raw link), with a fragment header whose Next Header is nh. */
static void send_frag6(cap_udp_t *cu, got_t *g, uint64_t ts, uint32_t id, uint8_t nh,
                       const uint8_t *data, size_t off, size_t len, int last)
{
    body.n = 0;
    tb_u8(&body, nh);
    tb_u8(&body, 0);
    tb_u16(&body, (unsigned)(off | (last ? 0 : 1)), 1);
    tb_u32(&body, id, 1);
    tb_put(&body, data + off, len);
    l3.n = 0;
    mk_ipv6(&l3, 44, body.b, body.n);
    feed(cu, g, 101, ts, l3.b, l3.n);
}

TEST_IMPL(capture_frag_ipv4)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    make_dgram(3000, 1, 4000, 2055); /* 3008 bytes: 1480 + 1480 + 48 */

    /* In order. */
    send_frag4(&cu, &got, 10, 1, 0, 1480, 0);
    send_frag4(&cu, &got, 11, 1, 1480, 1480, 0);
    ASSERT_EQ(got.n, 0);
    send_frag4(&cu, &got, 12, 1, 2960, 48, 1);
    ASSERT_EQ(got.n, 1);
    expect_dgram(&got.d[0], 0, 4000, 2055, 3000, 12);

    /* Out of order, with a duplicate and a consistent overlap on the way. */
    send_frag4(&cu, &got, 20, 2, 2960, 48, 1);
    send_frag4(&cu, &got, 21, 2, 1480, 1480, 0);
    send_frag4(&cu, &got, 22, 2, 1480, 1480, 0);
    send_frag4(&cu, &got, 23, 2, 1400, 1560, 0);
    ASSERT_EQ(got.n, 1);
    send_frag4(&cu, &got, 24, 2, 0, 1480, 0);
    ASSERT_EQ(got.n, 2);
    expect_dgram(&got.d[1], 0, 4000, 2055, 3000, 24);
    ASSERT_UINT64_EQ(cu.stats.reassembled, 2);
    ASSERT_UINT64_EQ(cu.stats.fragments, 8);
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 0);

    /* Two sets interleaved, told apart by id and by source address. */
    send_frag4(&cu, &got, 30, 3, 0, 1480, 0);
    send_frag4(&cu, &got, 30, 4, 0, 1480, 0);
    l3.n = fr.n = 0;
    static const uint8_t other_src[4] = {192, 0, 2, 99};
    dgram[1500] ^= 0xff; /* other bytes: were it taken into set 3, set 3 would be bad */
    mk_ipv4_opts(&l3, other_src, V4_DST, 17, 3, 0x2000 | 185, dgram + 1480, 1480, 0);
    dgram[1500] ^= 0xff;
    mk_eth(&fr, 0x0800);
    tb_put(&fr, l3.b, l3.n);
    feed(&cu, &got, 1, 30, fr.b, fr.n); /* same id 3, other source: a third set */
    send_frag4(&cu, &got, 31, 4, 1480, 1528, 1);
    ASSERT_EQ(got.n, 3);
    expect_dgram(&got.d[2], 0, 4000, 2055, 3000, 31);
    send_frag4(&cu, &got, 32, 3, 1480, 1528, 1);
    ASSERT_EQ(got.n, 4);

    /* Overlap that rewrites bytes: the set is dropped, and its later pieces do not complete. */
    send_frag4(&cu, &got, 40, 5, 0, 1480, 0);
    dgram[1475] ^= 1; /* inside the 8 bytes both fragments hold */
    send_frag4(&cu, &got, 41, 5, 1472, 1488, 0);
    dgram[1475] ^= 1;
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 1);
    send_frag4(&cu, &got, 42, 5, 1480, 1480, 0);
    send_frag4(&cu, &got, 43, 5, 2960, 48, 1);
    ASSERT_EQ(got.n, 4);

    /* A second last fragment with another end. */
    send_frag4(&cu, &got, 50, 6, 2960, 48, 1);
    send_frag4(&cu, &got, 51, 6, 2960, 40, 1);
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 2);
    /* A middle fragment past the known end, and one whose length is not a multiple of 8. */
    send_frag4(&cu, &got, 52, 7, 2960, 48, 1);
    send_frag4(&cu, &got, 53, 7, 2960, 56, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 3);
    send_frag4(&cu, &got, 54, 8, 0, 1479, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 4);
    /* A last fragment that ends before data already held. */
    send_frag4(&cu, &got, 55, 9, 1480, 1480, 0);
    send_frag4(&cu, &got, 56, 9, 1480, 800, 1);
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 5);
    /* Past 65535 bytes. */
    send_frag4(&cu, &got, 57, 10, 8189 * 8, 24, 1);
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 6);

    /* Fragments of another protocol are counted, never stored. */
    l3.n = 0;
    mk_ipv4(&l3, 6, 11, 0x2000, payload, 64);
    feed(&cu, &got, 101, 60, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.not_udp, 1);

    /* The largest datagram: 65515 bytes of IP payload in 45 fragments, in reverse order. */
    make_dgram(65507, 2, 9, 10);
    ASSERT_EQ(dgram_len, 65515);
    for (size_t off = 44 * 1480;; off -= 1480) {
        size_t len = off + 1480 <= dgram_len ? 1480 : dgram_len - off;
        send_frag4(&cu, &got, 70, 12, off, len, off + len == dgram_len);
        if (off == 0)
            break;
    }
    ASSERT_EQ(got.n, 5);
    expect_dgram(&got.d[4], 0, 9, 10, 65507, 70);
    ASSERT_UINT64_EQ(cu.stats.reassembled, 5);
    ASSERT_UINT64_EQ(cu.stats.datagrams, 5);

    /* A reassembled payload whose UDP length lies. */
    make_dgram(100, 3, 1, 2);
    dgram[5] = 200;
    send_frag4(&cu, &got, 80, 13, 0, 64, 0);
    send_frag4(&cu, &got, 80, 13, 64, 44, 1);
    ASSERT_UINT64_EQ(cu.stats.reassembled, 6);
    ASSERT_UINT64_EQ(cu.stats.bad_udp_length, 1);
    ASSERT_EQ(got.n, 5);
    ASSERT_UINT64_EQ(cu.stats.frag_expired, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_evicted, 0);
    cap_udp_free(&cu);
    return 0;
}

TEST_IMPL(capture_frag_expire_evict)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    make_dgram(2000, 4, 5, 6);
    const uint64_t s = 1000000000ull, t0 = 1700000000 * s;

    /* A frame that only moves the clock: TCP, so it delivers nothing itself. */
    static tbuf_t tick;
    tick.n = 0;
    mk_ipv4(&tick, 6, 1, 0, payload, 20);

    /* A set missing a piece: still there at exactly the timeout, gone just after it. */
    send_frag4(&cu, &got, t0, 1, 0, 1480, 0);
    feed(&cu, &got, 101, t0 + CAP_FRAG_TIMEOUT_NS, tick.b, tick.n);
    ASSERT_UINT64_EQ(cu.stats.frag_expired, 0);
    send_frag4(&cu, &got, t0 + 29 * s, 2, 0, 1480, 0); /* a younger set */
    feed(&cu, &got, 101, t0 + CAP_FRAG_TIMEOUT_NS + 1, tick.b, tick.n);
    ASSERT_UINT64_EQ(cu.stats.frag_expired, 1);
    ASSERT_EQ(cu.n_frag_used, 1);
    /* The piece that arrives too late starts a new set that stays incomplete. */
    send_frag4(&cu, &got, t0 + 31 * s, 1, 1480, 528, 1);
    ASSERT_EQ(got.n, 0);
    /* The younger set is still whole. */
    send_frag4(&cu, &got, t0 + 31 * s, 2, 1480, 528, 1);
    ASSERT_EQ(got.n, 1);
    expect_dgram(&got.d[0], 0, 5, 6, 2000, t0 + 31 * s);
    /* Time going backwards (merged captures) expires nothing. */
    feed(&cu, &got, 101, 5, tick.b, tick.n);
    ASSERT_UINT64_EQ(cu.stats.frag_expired, 1);
    feed(&cu, &got, 101, t0 + 62 * s, tick.b, tick.n);
    ASSERT_UINT64_EQ(cu.stats.frag_expired, 2);
    ASSERT_EQ(cu.n_frag_used, 0);

    /* A full table: the set that started first is evicted for the new one. */
    for (unsigned i = 0; i < CAP_FRAG_SLOTS; i++)
        send_frag4(&cu, &got, t0 + 100 * s + i, (uint16_t)(100 + i), 0, 1480, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_evicted, 0);
    send_frag4(&cu, &got, t0 + 101 * s, 999, 0, 1480, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_evicted, 1);
    send_frag4(&cu, &got, t0 + 101 * s, 100, 1480, 528, 1); /* evicted: evicts 101 in turn */
    ASSERT_UINT64_EQ(cu.stats.frag_evicted, 2);
    send_frag4(&cu, &got, t0 + 101 * s, 102, 1480, 528, 1);
    ASSERT_EQ(got.n, 2);
    send_frag4(&cu, &got, t0 + 101 * s, 999, 1480, 528, 1);
    ASSERT_EQ(got.n, 3);
    ASSERT_EQ(cu.n_frag_used, CAP_FRAG_SLOTS - 2);

    /* Many more sets than slots: memory stays put, every extra set costs one eviction. */
    uint64_t ev = cu.stats.frag_evicted;
    for (unsigned i = 0; i < 2000; i++)
        send_frag4(&cu, &got, t0 + 102 * s + i, (uint16_t)(5000 + i), 0, 8, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_evicted, ev + 2000 - 2);
    ASSERT_EQ(cu.n_frag_used, CAP_FRAG_SLOTS);
    feed(&cu, &got, 101, t0 + 200 * s, tick.b, tick.n);
    ASSERT_EQ(cu.n_frag_used, 0);
    ASSERT_UINT64_EQ(cu.stats.frag_expired, 2 + CAP_FRAG_SLOTS);
    cap_udp_free(&cu);
    return 0;
}

TEST_IMPL(capture_frag_ipv6)
{
    cap_udp_t cu;
    static got_t got;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    make_dgram(3000, 7, 4739, 4739);

    /* Out of order, 32-bit ids that agree in their low 16 bits kept apart. */
    send_frag6(&cu, &got, 1, 0x00010001, 17, dgram, 1448, 1448, 0);
    send_frag6(&cu, &got, 2, 0x00020001, 17, dgram, 0, 1448, 0);
    send_frag6(&cu, &got, 3, 0x00010001, 17, dgram, 2896, dgram_len - 2896, 1);
    ASSERT_EQ(got.n, 0);
    send_frag6(&cu, &got, 4, 0x00010001, 17, dgram, 0, 1448, 0);
    ASSERT_EQ(got.n, 1);
    expect_dgram(&got.d[0], 1, 4739, 4739, 3000, 4);
    ASSERT_UINT64_EQ(cu.stats.fragments, 4);
    ASSERT_UINT64_EQ(cu.stats.reassembled, 1);

    /* A destination options header at the start of the fragmentable part. */
    static uint8_t part[4000];
    body.n = 0;
    mk_ext(&body, 17, 16, 0);
    memcpy(part, body.b, 16);
    memcpy(part + 16, dgram, dgram_len);
    size_t part_len = 16 + dgram_len;
    send_frag6(&cu, &got, 5, 9, 60, part, 1448, part_len - 1448, 1);
    send_frag6(&cu, &got, 6, 9, 60, part, 0, 1448, 0);
    ASSERT_EQ(got.n, 2);
    expect_dgram(&got.d[1], 1, 4739, 4739, 3000, 6);

    /* A fragment header inside the reassembled payload is bogus. */
    part[0] = 44;
    send_frag6(&cu, &got, 7, 10, 60, part, 1448, part_len - 1448, 1);
    send_frag6(&cu, &got, 7, 10, 60, part, 0, 1448, 0);
    ASSERT_EQ(got.n, 2);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 1);

    /* Not UDP behind the fragment header; a fragment header cut short; an overlap. */
    send_frag6(&cu, &got, 8, 11, 58, dgram, 0, 64, 0);
    ASSERT_UINT64_EQ(cu.stats.not_udp, 1);
    l3.n = 0;
    mk_ipv6(&l3, 44, dgram, 6);
    feed(&cu, &got, 229, 8, l3.b, l3.n);
    ASSERT_UINT64_EQ(cu.stats.bad_ip_header, 2);
    send_frag6(&cu, &got, 9, 12, 17, dgram, 0, 1448, 0);
    dgram[100]++;
    send_frag6(&cu, &got, 9, 12, 17, dgram, 0, 1448, 0);
    dgram[100]--;
    ASSERT_UINT64_EQ(cu.stats.frag_bad, 1);
    ASSERT_EQ(got.n, 2);
    cap_udp_free(&cu);
    return 0;
}

/* ---- the team's real captures ---- */

/* Walks a capture file through cap_udp; returns the cap_next result at the end. */
static int read_capture(const char *path, cap_udp_t *cu, got_t *g, uint64_t *frames)
{
    cap_file_t cf;
    cap_pkt_t pkt;
    int rc = cap_open_path(&cf, path);
    if (rc < 0)
        TEST_FAIL_AT("%s: %s", path, cap_strerror(rc));
    *frames = 0;
    while ((rc = cap_next(&cf, &pkt)) == 1) {
        cap_udp_feed(cu, &pkt, got_fn, g);
        (*frames)++;
    }
    cap_close(&cf);
    return rc;
}

TEST_IMPL(capture_shared_nf5)
{
    const char *path = test_shared_file("netflow/logstash-codec-netflow/nf5_logstash_generic.pcap");
    cap_udp_t cu;
    static got_t got;
    uint64_t frames;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    ASSERT_EQ(read_capture(path, &cu, &got, &frames), 0);
    ASSERT_UINT64_EQ(frames, 12);
    ASSERT_EQ(got.n, 12);
    for (size_t i = 0; i < got.n; i++) {
        const cap_dgram_t *d = &got.d[i];
        static const uint8_t net[15] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2};
        ASSERT_MEM_EQ(d->src.b, net, 15);
        ASSERT_EQ(d->dport, 2055);
        ASSERT_GE(d->len, 24);
        ASSERT_EQ(d->payload[0], 0);
        ASSERT_EQ(d->payload[1], 5); /* NetFlow version 5 */
        /* v5 header count field: 24 + 48 bytes per record. */
        ASSERT_EQ(d->len, 24 + 48 * (size_t)(d->payload[2] << 8 | d->payload[3]));
        ASSERT_GT(d->ts_ns, 1000000000ull * 1000000000ull); /* after 2001 */
    }
    ASSERT_UINT64_EQ(cu.stats.frames, 12);
    ASSERT_UINT64_EQ(stats_problems(&cu.stats), 0);
    cap_udp_free(&cu);
    return 0;
}

TEST_IMPL(capture_shared_scan)
{
    const char *path = test_shared_file("packets/scan/hs-tcp_synPingSweepRand.pcapng");
    cap_udp_t cu;
    static got_t got;
    uint64_t frames;
    got_reset(&got);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    ASSERT_EQ(read_capture(path, &cu, &got, &frames), 0);
    ASSERT_UINT64_EQ(frames, 513);
    ASSERT_EQ(got.n, 0);
    ASSERT_UINT64_EQ(cu.stats.not_udp, 513); /* every frame is TCP (tshark agrees) */
    cap_udp_free(&cu);
    return 0;
}

static long tshark_count(const char *path, const char *filter)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "tshark -n -r '%s' %s%s%s -T fields -e frame.number 2>/dev/null",
             path, filter ? "-Y '" : "", filter ? filter : "", filter ? "'" : "");
    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    long n = 0;
    int c;
    while ((c = fgetc(p)) != EOF)
        n += c == '\n';
    ASSERT_EQ(pclose(p), 0);
    return n;
}

TEST_IMPL(capture_tshark_crosscheck)
{
    static const char *files[] = {
        "netflow/logstash-codec-netflow/nf5_logstash_generic.pcap",
        "netflow/akvorado/multiplesamplingrates.pcap", /* pcapng despite its name */
        "packets/mining/mining.pcapng",
        "packets/dns-tunnel/dns-tunnel-iodine.pcap",
        "packets/scan/masscan_udp_0_1000_20190821.pcap",
    };
    if (!test_have_tool("tshark"))
        SKIP("tshark not installed");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *path = test_shared_file(files[i]);
        cap_udp_t cu;
        static got_t got;
        uint64_t frames;
        got_reset(&got);
        ASSERT_EQ(cap_udp_init(&cu), 0);
        ASSERT_EQ(read_capture(path, &cu, &got, &frames), 0);
        /* UDP quoted inside ICMP errors is not a datagram. */
        long want_frames = tshark_count(path, NULL);
        long want_udp = tshark_count(path, "udp && !icmp && !icmpv6");
        printf("%s: %" PRIu64 " frames (tshark %ld), %zu datagrams (tshark %ld)\n", files[i],
               frames, want_frames, got.n, want_udp);
        ASSERT_EQ(frames, want_frames);
        ASSERT_EQ(got.n, want_udp);
        cap_udp_free(&cu);
    }
    return 0;
}
