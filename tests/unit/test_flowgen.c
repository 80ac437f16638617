/* test_flowgen.c: the capture writer, the export writers and the flow generator, checked from
 * the outside.
 *
 * pcap_write is checked twice: by reading the bytes back here (layout, lengths, checksums that
 * must sum to all ones, the temporary-name-then-rename contract) and by tshark with checksum
 * validation on. The v9 and IPFIX writers encode records of both families with wide values,
 * sampling and frequent template refreshes into small datagrams; the collector's own decoders
 * must give back every field of every record with nothing counted as wrong, and tshark must
 * find every record and nothing malformed. flowgen is run as a user runs it (the built binary,
 * FH_BUILD or build/), in each format: same arguments give the same bytes and another seed
 * other bytes; tshark finds exactly --flows records, good checksums, the header rules of the
 * protocol (counts, sequence numbers, template refresh, the sampling announcement) and nothing
 * malformed; and every planted case in the ground truth is in the capture, as flowhuntd decodes
 * it, with exactly the record count the truth states, and flowhuntd reports no drop and no
 * sequence loss.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flow.h"
#include "hunt.h"
#include "ingest.h"
#include "ipfix_encode.h"
#include "nf9_encode.h"
#include "pcap_write.h"
#include "task.h"
#include "version.h"

static const char *tfg_path(const char *name)
{
    static char path[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", test_tmpdir(), name);
    return path[k];
}

static int tfg_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- pcap_write ---- */

static uint32_t tfg_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t tfg_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* One's-complement sum, folded: a region that carries its own correct checksum sums to 0xffff
 * (RFC 1071 section 2). Deliberately a separate implementation from the writer's. */
static uint32_t tfg_sum(uint32_t acc, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        acc += i % 2 ? p[i] : (uint32_t)p[i] << 8;
    while (acc > 0xffff)
        acc = (acc >> 16) + (acc & 0xffff);
    return acc;
}

/* Odd lengths with a non-zero last byte, so a checksum that drops the odd byte shows. */
static const uint8_t tfg_payload[35] = "NetFlow-ish payload of odd length!!";

/* Three frames: IPv4 odd payload, IPv4 empty payload, IPv6. */
static void tfg_write_sample(const char *path, size_t *out_expect_size)
{
    pcapw_t w;
    flow_addr_t a4, b4, a6, b6;
    ASSERT_EQ(flow_addr_parse(&a4, "192.0.2.1"), 0);
    ASSERT_EQ(flow_addr_parse(&b4, "192.0.2.254"), 0);
    ASSERT_EQ(flow_addr_parse(&a6, "2001:db8::1"), 0);
    ASSERT_EQ(flow_addr_parse(&b6, "2001:db8::fe"), 0);
    ASSERT_EQ(pcapw_open(&w, path), 0);
    /* A reader must never see a half file: nothing at the final name before close. */
    ASSERT(!tfg_exists(path));
    ASSERT_EQ(pcapw_udp(&w, 1795392000123456789ull, &a4, 50000, &b4, 2055, tfg_payload,
                        sizeof tfg_payload),
              0);
    ASSERT_EQ(pcapw_udp(&w, 1795392001000000000ull, &a4, 50000, &b4, 2055, NULL, 0), 0);
    ASSERT_EQ(pcapw_udp(&w, 1795392002000000001ull, &a6, 50001, &b6, 4739, tfg_payload, 33), 0);
    /* Refused without harm to the file: mixed families, a payload larger than IPv4 allows. */
    errno = 0;
    ASSERT_EQ(pcapw_udp(&w, 1, &a4, 1, &b6, 2, tfg_payload, 1), -1);
    ASSERT_EQ(errno, EINVAL);
    static uint8_t big[PCAPW_MAX_PAYLOAD_V4 + 1];
    errno = 0;
    ASSERT_EQ(pcapw_udp(&w, 1, &a4, 1, &b4, 2, big, sizeof big), -1);
    ASSERT_EQ(errno, EMSGSIZE);
    ASSERT(!tfg_exists(path));
    ASSERT_EQ(pcapw_close(&w), 0);
    ASSERT(tfg_exists(path));
    *out_expect_size =
        24 + (16 + 14 + 20 + 8 + sizeof tfg_payload) + (16 + 14 + 20 + 8) + (16 + 14 + 40 + 8 + 33);
}

TEST_IMPL(pcapw_layout_and_checksums)
{
    const char *path = tfg_path("sample.pcap");
    size_t want = 0, len = 0;
    tfg_write_sample(path, &want);
    uint8_t *b = test_read_file(path, &len);
    ASSERT_NOT_NULL(b);
    ASSERT_EQ(len, want);
    ASSERT_EQ(tfg_le32(b), 0xa1b23c4d); /* nanosecond magic, little-endian on any host */
    ASSERT_EQ(tfg_le32(b + 20), 1);     /* LINKTYPE_ETHERNET */

    size_t off = 24;
    int n = 0;
    while (off < len) {
        ASSERT_LE(off + 16, len);
        uint32_t caplen = tfg_le32(b + off + 8);
        ASSERT_EQ(caplen, tfg_le32(b + off + 12));
        ASSERT_LE(off + 16 + caplen, len);
        const uint8_t *eth = b + off + 16;
        const uint8_t *udp;
        uint32_t pseudo;
        if (n == 0)
            ASSERT_EQ(tfg_le32(b + off + 4), 123456789); /* nanoseconds kept */
        if (tfg_be16(eth + 12) == 0x0800) {
            const uint8_t *ip = eth + 14;
            ASSERT_EQ(ip[0], 0x45);
            ASSERT_EQ(tfg_be16(ip + 2), caplen - 14);
            ASSERT_EQ(tfg_be16(ip + 4), n); /* IP id counts up */
            ASSERT_EQ(tfg_be16(ip + 6), 0x4000);
            ASSERT_EQ(ip[8], 64);
            ASSERT_EQ(ip[9], 17);
            ASSERT_EQ(tfg_sum(0, ip, 20), 0xffff);
            udp = ip + 20;
            pseudo = tfg_sum(0, ip + 12, 8);
        } else {
            ASSERT_EQ(tfg_be16(eth + 12), 0x86dd);
            const uint8_t *ip = eth + 14;
            ASSERT_EQ(ip[0] >> 4, 6);
            ASSERT_EQ(tfg_be16(ip + 4), caplen - 14 - 40);
            ASSERT_EQ(ip[6], 17);
            ASSERT_EQ(ip[7], 64);
            udp = ip + 40;
            pseudo = tfg_sum(0, ip + 8, 32);
        }
        uint16_t ulen = tfg_be16(udp + 4);
        ASSERT_EQ(udp + ulen, eth + caplen);
        ASSERT_NE(tfg_be16(udp + 6), 0); /* zero would mean "no checksum" */
        uint32_t s = tfg_sum(pseudo + 17 + ulen, udp, ulen);
        ASSERT_EQ(s, 0xffff);
        off += 16 + caplen;
        n++;
    }
    ASSERT_EQ(n, 3);
    free(b);

    /* No temporary file is left behind, and an aborted writer publishes nothing. */
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "ls -A %s | grep -c tmp", test_tmpdir());
    test_run(cmd, &out);
    ASSERT_STR_EQ(out, "0\n");
    free(out);
    pcapw_t w;
    const char *gone = tfg_path("aborted.pcap");
    ASSERT_EQ(pcapw_open(&w, gone), 0);
    pcapw_abort(&w);
    ASSERT(!tfg_exists(gone));
    test_run(cmd, &out);
    ASSERT_STR_EQ(out, "0\n");
    free(out);
    errno = 0;
    ASSERT_EQ(pcapw_open(&w, "/nonexistent-dir/x.pcap"), -1);
    ASSERT_EQ(errno, ENOENT);
    return 0;
}

TEST_IMPL(pcapw_tshark_agrees)
{
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed");
    const char *path = tfg_path("sample.pcap");
    size_t want = 0;
    tfg_write_sample(path, &want);
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields "
             "-e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport -e udp.dstport "
             "-e udp.length -e udp.checksum.status -e ip.checksum.status -E separator=, "
             "2>/dev/null",
             path);
    ASSERT_EQ(test_run(cmd, &out), 0);
    /* checksum status 1 is "Good" (2 would be "Unverified", 0 "Bad") */
    ASSERT_STR_EQ(out, "1795392000.123456789,192.0.2.1,,50000,2055,43,1,1\n"
                       "1795392001.000000000,192.0.2.1,,50000,2055,8,1,1\n"
                       "1795392002.000000001,,2001:db8::1,50001,4739,41,1,\n");
    free(out);
    /* and nothing tshark considers malformed or worth a warning */
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE "
             "-Y '_ws.malformed || _ws.expert.severity >= \"warning\"' 2>/dev/null | wc -l",
             path);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_EQ(atoi(out), 0);
    free(out);
    return 0;
}

/* ---- the v9 and IPFIX writers ---- */

/* The export formats flowgen writes; the writers' tests cover the two with templates. */
typedef enum tfg_fmt { TFG_V5, TFG_V9, TFG_IPFIX, TFG_N_FMTS } tfg_fmt_t;

static const char *const tfg_fmt_name[TFG_N_FMTS] = {"v5", "v9", "ipfix"};

#define TFG_RT_FLOWS 600
#define TFG_RT_MTU 576 /* small, so that packing, family changes and refreshes all happen often */
#define TFG_RT_REFRESH 3
#define TFG_RT_SAMPLING 100
#define TFG_RT_DOMAIN 7
#define TFG_RT_START_MS 1795413600000ull /* 2026-11-23T06:00:00Z */

typedef union tfg_enc {
    nf9e_t v9;
    ipfixe_t ipfix;
} tfg_enc_t;

/* Records in runs of each family and a few lone ones, with values wider than v5 can carry:
 * 64-bit counters, 32-bit interfaces and AS numbers. */
static void tfg_rt_flows(flow_rec_t *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        flow_rec_t *r = &f[i];
        flow_addr_t a;
        int v6 = (i / 7) % 3 == 2 || i % 11 == 5;
        flow_rec_clear(r);
        uint64_t start = TFG_RT_START_MS + i * 1000 + i * 37 % 1000;
        FLOW_SET(r, time_start, start);
        FLOW_SET(r, time_end, start + i * 7919 % 200000);
        char text[FLOW_ADDR_STRLEN];
        if (v6)
            snprintf(text, sizeof text, "2001:db8:%zx::%zx", i % 200, i);
        else
            snprintf(text, sizeof text, "10.0.%zu.%zu", i / 250, i % 250 + 1);
        ASSERT_EQ(flow_addr_parse(&a, text), 0);
        FLOW_SET(r, src_addr, a);
        ASSERT_EQ(flow_addr_parse(&a, v6 ? "2606:4700::6810:85e5" : "198.51.100.7"), 0);
        FLOW_SET(r, dst_addr, a);
        ASSERT_EQ(flow_addr_parse(&a, v6 ? "fe80::1" : "192.0.2.1"), 0);
        FLOW_SET(r, next_hop, a);
        FLOW_SET(r, src_port, (uint16_t)(1024 + i * 131));
        FLOW_SET(r, dst_port, (uint16_t)(i % 3 == 2 ? 8 << 8 : 443));
        FLOW_SET(r, proto, (uint8_t)(i % 3 == 2 ? 1 : i % 3 == 1 ? 17 : 6));
        FLOW_SET(r, tcp_flags, (uint8_t)(i % 3 == 0 ? 0x1b : 0));
        FLOW_SET(r, packets, (uint64_t)1 + ((uint64_t)i << 33));
        FLOW_SET(r, bytes, (uint64_t)40 + ((uint64_t)i << 35) + i);
        FLOW_SET(r, in_if, (uint32_t)(i * 65537));
        FLOW_SET(r, out_if, (uint32_t)(4000000000u - i));
        FLOW_SET(r, tos, (uint8_t)(i * 4));
        FLOW_SET(r, src_as, (uint32_t)(4200000000u + i));
        FLOW_SET(r, dst_as, (uint32_t)(64496 + i));
        FLOW_SET(r, src_mask, (uint8_t)(v6 ? 48 : 24));
        FLOW_SET(r, dst_mask, (uint8_t)(v6 ? 32 : 16));
    }
}

static void tfg_rt_init(tfg_fmt_t fmt, tfg_enc_t *e)
{
    /* The exporter booted so long before the first export that its 32-bit uptime wraps a
     * few datagrams into the run. */
    uint64_t boot = TFG_RT_START_MS - 0xffffffffull + 60000;
    if (fmt == TFG_V9) {
        nf9e_cfg_t c = {.source_id = TFG_RT_DOMAIN,
                        .boot_ms = boot,
                        .mtu = TFG_RT_MTU,
                        .sampling = TFG_RT_SAMPLING,
                        .tpl_refresh = TFG_RT_REFRESH};
        nf9e_cfg_t tiny = c, huge = c;
        tiny.mtu = 300;
        huge.mtu = NF9E_MTU_MAX + 1;
        ASSERT_EQ(nf9e_init(&e->v9, &tiny), -1);
        ASSERT_EQ(nf9e_init(&e->v9, &huge), -1);
        ASSERT_EQ(nf9e_init(&e->v9, &c), 0);
    } else {
        ipfixe_cfg_t c = {.domain = TFG_RT_DOMAIN,
                          .mtu = TFG_RT_MTU,
                          .sampling = TFG_RT_SAMPLING,
                          .tpl_refresh = TFG_RT_REFRESH};
        ipfixe_cfg_t tiny = c, huge = c;
        tiny.mtu = 300;
        huge.mtu = IPFIXE_MTU_MAX + 1;
        ASSERT_EQ(ipfixe_init(&e->ipfix, &tiny), -1);
        ASSERT_EQ(ipfixe_init(&e->ipfix, &huge), -1);
        ASSERT_EQ(ipfixe_init(&e->ipfix, &c), 0);
    }
}

/* One datagram of flows[0..n): its length, *done the flows in it, *export_ms its time (the
 * second after its last flow ended: v9 places flows exactly only on whole seconds). Checks the
 * header against the protocol's rules: templates every TFG_RT_REFRESH datagrams, v9 count and
 * sequence (datagrams), IPFIX length and sequence (data records, options records included). */
static size_t tfg_rt_next(tfg_fmt_t fmt, tfg_enc_t *e, uint32_t k, uint8_t *out,
                          const flow_rec_t *flows, size_t n, size_t *done, uint64_t *export_ms,
                          uint32_t *ipfix_seq)
{
    size_t fit = fmt == TFG_V9 ? nf9e_fit(&e->v9, flows, n) : ipfixe_fit(&e->ipfix, flows, n);
    ASSERT_GE(fit, 1);
    uint64_t last = 0;
    for (size_t i = 0; i < fit; i++)
        last = flows[i].time_end > last ? flows[i].time_end : last;
    *export_ms = (last / 1000 + 1) * 1000;
    size_t len = fmt == TFG_V9
                     ? nf9e_encode(&e->v9, out, TFG_RT_MTU, *export_ms, flows, n, done)
                     : ipfixe_encode(&e->ipfix, out, TFG_RT_MTU, *export_ms, flows, n, done);
    ASSERT_EQ(*done, fit);
    ASSERT(len > 0 && len <= TFG_RT_MTU);
    int due = k % TFG_RT_REFRESH == 0;
    if (fmt == TFG_V9) {
        ASSERT_EQ(tfg_be16(out), 9);
        /* records: the data records, plus two templates, the options template and its record */
        ASSERT_EQ(tfg_be16(out + 2), fit + (due ? 4 : 0));
        ASSERT_EQ(tfg_be16(out + 12) << 16 | tfg_be16(out + 14), k);
        ASSERT_EQ(tfg_be16(out + 20) == 0, due); /* FlowSet 0 (templates) comes first */
        ASSERT_EQ(len % 4, 0);                   /* every FlowSet padded */
    } else {
        ASSERT_EQ(tfg_be16(out), 10);
        ASSERT_EQ(tfg_be16(out + 2), len);
        ASSERT_EQ((uint32_t)(tfg_be16(out + 8) << 16 | tfg_be16(out + 10)), *ipfix_seq);
        ASSERT_EQ(tfg_be16(out + 16) == 2, due); /* set 2 (templates) comes first */
        *ipfix_seq += (uint32_t)fit + (due ? 1 : 0);
    }
    /* A writer fills its datagram: the next record, with a new set header and padding at
     * most, would have taken it past the MTU. Record sizes: the templates' field lengths
     * (IPFIX with the 4-byte selectorId of sampling). */
    if (fit < n) {
        int v6 = !flow_addr_is_v4(&flows[fit].src_addr);
        size_t rec = fmt == TFG_V9 ? (v6 ? 97 : 61) : (v6 ? 110 : 74);
        ASSERT_GT(len + rec + 4 + 3, TFG_RT_MTU);
    }
    return len;
}

typedef struct tfg_sink {
    flow_rec_t *recs;
    size_t n, cap;
} tfg_sink_t;

static void tfg_sink(void *arg, const flow_rec_t *rec)
{
    tfg_sink_t *s = arg;
    if (s->n < s->cap)
        s->recs[s->n] = *rec;
    s->n++;
}

/* The columns the v9 and IPFIX templates carry. */
static const flow_col_t tfg_rt_cols[] = {
    FLOW_COL_time_start, FLOW_COL_time_end, FLOW_COL_src_addr, FLOW_COL_dst_addr,
    FLOW_COL_src_port,   FLOW_COL_dst_port, FLOW_COL_proto,    FLOW_COL_tcp_flags,
    FLOW_COL_packets,    FLOW_COL_bytes,    FLOW_COL_in_if,    FLOW_COL_out_if,
    FLOW_COL_tos,        FLOW_COL_src_as,   FLOW_COL_dst_as,   FLOW_COL_src_mask,
    FLOW_COL_dst_mask,   FLOW_COL_next_hop,
};

static void tfg_roundtrip(tfg_fmt_t fmt)
{
    static flow_rec_t flows[TFG_RT_FLOWS], got[TFG_RT_FLOWS + 1];
    tfg_rt_flows(flows, TFG_RT_FLOWS);
    tfg_enc_t e;
    tfg_rt_init(fmt, &e);
    tfg_sink_t sink = {got, 0, TFG_RT_FLOWS + 1};
    ingest_t in;
    ingest_init(&in, INGEST_CLOCK_EXPORT, tfg_sink, &sink);
    flow_addr_t exporter;
    ASSERT_EQ(flow_addr_parse(&exporter, "192.0.2.9"), 0);
    uint8_t buf[TFG_RT_MTU];
    size_t at = 0;
    uint32_t k = 0, ipfix_seq = 0;
    while (at < TFG_RT_FLOWS) {
        size_t done;
        uint64_t export_ms;
        size_t len = tfg_rt_next(fmt, &e, k++, buf, flows + at, TFG_RT_FLOWS - at, &done,
                                 &export_ms, &ipfix_seq);
        ASSERT_EQ(ingest_datagram(&in, &exporter, buf, len, export_ms * 1000000), done);
        at += done;
    }
    ASSERT_GT(k, 3 * TFG_RT_REFRESH);
    ASSERT_EQ(sink.n, TFG_RT_FLOWS);
    for (size_t i = 0; i < TFG_RT_FLOWS; i++) {
        for (size_t c = 0; c < sizeof tfg_rt_cols / sizeof *tfg_rt_cols; c++) {
            const flow_col_info_t *ci = &flow_cols[tfg_rt_cols[c]];
            if (!(got[i].present & (uint64_t)1 << tfg_rt_cols[c]) ||
                memcmp((const uint8_t *)&got[i] + ci->offset,
                       (const uint8_t *)&flows[i] + ci->offset, ci->width) != 0)
                TEST_FAIL_AT("%s flow %zu: %s differs after decoding", tfg_fmt_name[fmt], i,
                             ci->name);
        }
        ASSERT_EQ(got[i].sampling, TFG_RT_SAMPLING);
        ASSERT_EQ(got[i].obs_domain, TFG_RT_DOMAIN);
    }
    /* Nothing counted as wrong, no sequence loss, every template learned once. */
    ASSERT_EQ(in.dropped, 0);
    ASSERT_EQ(in.exporters.n_exporters, 1);
    const exp_exporter_t *x = in.exporters.list[0];
    for (int c = 1; c < DEC_N_ERRORS; c++)
        if (x->errs.n[c])
            TEST_FAIL_AT("%s: %s counted %llu times", tfg_fmt_name[fmt], dec_err_name(c),
                         (unsigned long long)x->errs.n[c]);
    ASSERT_EQ(x->n_domains, 1);
    const exp_domain_t *d = x->domains[0];
    ASSERT_EQ(d->obs_domain, TFG_RT_DOMAIN);
    ASSERT_EQ(d->seq_lost + d->seq_gaps + d->seq_late + d->seq_resets, 0);
    ASSERT_EQ(in.templates.n_scopes, 1);
    const tpl_scope_t *s = in.templates.scopes[0];
    ASSERT_EQ(s->n_templates, 3);
    ASSERT_EQ(s->stats.templates_learned, 3);
    ASSERT_EQ(s->stats.templates_replaced + s->stats.restarts + s->stats.sets_held, 0);
    ASSERT_EQ(s->stats.options_records, (k + TFG_RT_REFRESH - 1) / TFG_RT_REFRESH);
    ingest_free(&in);
}

TEST_IMPL(nf9e_roundtrip)
{
    tfg_roundtrip(TFG_V9);
    return 0;
}

TEST_IMPL(ipfixe_roundtrip)
{
    tfg_roundtrip(TFG_IPFIX);
    return 0;
}

/* The same datagrams through tshark: every record found, both templates understood, nothing
 * malformed or worth a warning. */
static void tfg_writer_tshark(tfg_fmt_t fmt)
{
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed");
    static flow_rec_t flows[TFG_RT_FLOWS];
    tfg_rt_flows(flows, TFG_RT_FLOWS);
    tfg_enc_t e;
    tfg_rt_init(fmt, &e);
    flow_addr_t src, dst;
    ASSERT_EQ(flow_addr_parse(&src, "192.0.2.9"), 0);
    ASSERT_EQ(flow_addr_parse(&dst, "192.0.2.254"), 0);
    const char *path = tfg_path("writer.pcap");
    pcapw_t w;
    ASSERT_EQ(pcapw_open(&w, path), 0);
    uint8_t buf[TFG_RT_MTU];
    size_t at = 0;
    uint32_t k = 0, ipfix_seq = 0;
    while (at < TFG_RT_FLOWS) {
        size_t done;
        uint64_t export_ms;
        size_t len = tfg_rt_next(fmt, &e, k++, buf, flows + at, TFG_RT_FLOWS - at, &done,
                                 &export_ms, &ipfix_seq);
        ASSERT_EQ(pcapw_udp(&w, export_ms * 1000000, &src, 50000, &dst, 2055, buf, len), 0);
        at += done;
    }
    ASSERT_EQ(pcapw_close(&w), 0);
    char cmd[2048], *out;
    snprintf(
        cmd, sizeof cmd,
        "tshark -r %s -d udp.port==2055,cflow -T fields -e cflow.packets -e cflow.srcaddr "
        "-e cflow.srcaddrv6 -E 'separator=;' 2>/dev/null | awk -F';' '{n += split($1, a, \",\"); "
        "v4 += split($2, b, \",\"); v6 += split($3, c, \",\")} END {print n, v4, v6}'",
        path);
    ASSERT_EQ(test_run(cmd, &out), 0);
    unsigned long n = 0, v4 = 0, v6 = 0, want_v6 = 0;
    ASSERT_EQ(sscanf(out, "%lu %lu %lu", &n, &v4, &v6), 3);
    free(out);
    for (size_t i = 0; i < TFG_RT_FLOWS; i++)
        want_v6 += !flow_addr_is_v4(&flows[i].src_addr);
    ASSERT_EQ(n, TFG_RT_FLOWS);
    ASSERT_EQ(v6, want_v6);
    ASSERT_EQ(v4, TFG_RT_FLOWS - want_v6);
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -d udp.port==2055,cflow -Y '_ws.malformed || "
             "_ws.expert.severity >= \"warning\"' 2>/dev/null | wc -l",
             path);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_EQ(atoi(out), 0);
    free(out);
}

TEST_IMPL(nf9e_tshark)
{
    tfg_writer_tshark(TFG_V9);
    return 0;
}

TEST_IMPL(ipfixe_tshark)
{
    tfg_writer_tshark(TFG_IPFIX);
    return 0;
}

/* ---- flowgen ---- */

/* Runs flowgen in format `fmt` with the common arguments plus `extra`, writing NAME.pcap,
 * NAME.jsonl and its report NAME.log. */
static int tfg_flowgen(tfg_fmt_t fmt, const char *name, const char *extra)
{
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd,
             "%s --format %s --start 2026-11-23T06:00:00Z --out %s/%s.pcap --truth %s/%s.jsonl "
             "%s 2>%s/%s.log",
             test_bin("flowgen"), tfg_fmt_name[fmt], test_tmpdir(), name, test_tmpdir(), name,
             extra, test_tmpdir(), name);
    int rc = test_run(cmd, &out);
    free(out);
    return rc;
}

static uint8_t *tfg_slurp(const char *name, size_t *len)
{
    uint8_t *b = test_read_file(tfg_path(name), len);
    if (!b)
        TEST_FAIL_AT("cannot read %s", tfg_path(name));
    return b;
}

TEST_IMPL(flowgen_cli)
{
    char cmd[2048], *out;
    const char *fg = test_bin("flowgen");
    snprintf(cmd, sizeof cmd, "%s --version", fg);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_STR_EQ(out, "flowgen " FH_VERSION "\n");
    free(out);
    snprintf(cmd, sizeof cmd, "%s --help", fg);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_NOT_NULL(strstr(out, "usage: flowgen"));
    ASSERT_NOT_NULL(strstr(out, "ipfix"));
    free(out);
    /* usage errors: exit 2, nothing written */
    static const char *bad[] = {
        "--format v10 --flows 2000 --seed 1 --start 0 --hours 1",
        "--format IPFIX --flows 2000 --seed 1 --start 0 --hours 1",
        "--format v5 --flows 10 --seed 1 --start 0 --hours 1",
        "--format v5 --flows 2000 --seed -1 --start 0 --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 2026-02-30 --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 2026-11-23T25:00:00Z --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 0",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --exporters 0",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --sample 16384",
        "--sample 16384 --format v5 --flows 2000 --seed 1 --start 0 --hours 1",
        "--format v9 --flows 2000 --seed 1 --start 0 --hours 1 --sample 1000001",
        "--format ipfix --flows 2000 --seed 1 --start 0 --hours 1 --sample 0",
        "--format v5 --flows 2000 --seed 1 --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 extra",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --bogus",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --dup 1.5",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --dup -0.1",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --rate 100",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --to 127.0.0.1:2055",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --exporters 253 --dup 0.5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(cmd, sizeof cmd, "%s %s --out %s", fg, bad[i], tfg_path("bad.pcap"));
        int rc = test_run(cmd, &out);
        if (rc != 2)
            TEST_FAIL_AT("'%s' exited %d, want 2 (usage)", bad[i], rc);
        free(out);
        ASSERT(!tfg_exists(tfg_path("bad.pcap")));
    }
    /* --out without --truth; an unwritable place is an I/O error, exit 1 */
    snprintf(cmd, sizeof cmd, "%s --format v5 --flows 1000 --seed 1 --start 0 --hours 1 --out %s",
             fg, "/nonexistent-dir/x.pcap");
    ASSERT_EQ(test_run(cmd, &out), 1);
    free(out);
    /* more routers than the organisation has /24s: the summary counts those that sent, as
     * the collector sees them (it said 'from 20 exporters' when 6 sent anything) */
    snprintf(cmd, sizeof cmd,
             "{ %s --format v9 --flows 1000 --seed 1 --start 0 --hours 1 --exporters 20 --out %s "
             "2>&1 >/dev/null | grep -o 'from [0-9]* exporters (the others had no traffic'; "
             "%s --read %s --print csv 2>/dev/null | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) "
             "if ($i == \"exporter\") c = i; next } { print $c }' | sort -u | wc -l; }",
             fg, tfg_path("ex20.pcap"), test_bin("flowhuntd"), tfg_path("ex20.pcap"));
    ASSERT_EQ(test_run(cmd, &out), 0);
    unsigned said = 0, seen = 0;
    ASSERT_EQ(sscanf(out, "from %u exporters (the others had no traffic\n%u", &said, &seen), 2);
    ASSERT(said > 0 && said < 20);
    ASSERT_EQ(said, seen);
    free(out);
    /* every case of the truth has records, inside the window: with fewer NTP clients than
     * servers (1000 flows), the servers without one were cases of 0 records dated 1970 */
    for (int seed = 1; seed <= 3; seed++) {
        snprintf(cmd, sizeof cmd,
                 "%s --format v5 --flows 1000 --seed %d --start 2024-03-01 --hours 1 --out %s "
                 "--truth %s 2>/dev/null && grep -c -e '\"records\":0,' -e 1970-01-01 %s",
                 fg, seed, tfg_path("t1k.pcap"), tfg_path("t1k.truth"), tfg_path("t1k.truth"));
        test_run(cmd, &out);
        ASSERT_STR_EQ(out, "0\n");
        free(out);
    }
    /* the same instant in both spellings gives the same capture */
    ASSERT_EQ(tfg_flowgen(TFG_V5, "iso", "--flows 1000 --seed 5 --hours 1"), 0);
    snprintf(cmd, sizeof cmd,
             "%s --format v5 --flows 1000 --seed 5 --hours 1 --start 1795413600 --out %s && "
             "cmp %s %s",
             fg, tfg_path("unix.pcap"), tfg_path("unix.pcap"), tfg_path("iso.pcap"));
    ASSERT_EQ(test_run(cmd, &out), 0);
    free(out);
    return 0;
}

/* Splits s in place at each `sep` into at most max fields (empty ones kept); returns the count. */
static int tfg_split(char *s, char sep, char **field, int max)
{
    int n = 0;
    while (n < max) {
        field[n++] = s;
        s = strchr(s, sep);
        if (!s)
            break;
        *s++ = '\0';
    }
    return n;
}

#define TFG_TPL_REFRESH 20 /* the writers' default, which flowgen keeps */

typedef struct tfg_seen {
    char src[48];
    unsigned long dgrams;
    uint32_t next_seq;
} tfg_seen_t;

/* What tshark decodes of each datagram, checked against the rules of the format's header:
 * exactly --flows records in all, good IP and UDP checksums, sequence numbers that run on
 * without a gap per exporter (v5 counts flows, v9 datagrams, IPFIX data records with options
 * records), v9's count of every record, templates in each exporter's first datagram and every
 * 20th after (v9, IPFIX), and the sampling interval announced (v5 in every header; v9 and
 * IPFIX in options data sent with the templates). */
static void tfg_tshark_counts(tfg_fmt_t fmt)
{
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed");
    char name[32], cmd[2048], *out;
    snprintf(name, sizeof name, "t-%s", tfg_fmt_name[fmt]);
    /* IPFIX with a core router exporting a fifth of the records again */
    int dup = fmt == TFG_IPFIX;
    ASSERT_EQ(tfg_flowgen(fmt, name,
                          dup ? "--flows 4321 --seed 3 --hours 30 --exporters 3 --sample 10 --dup 0.2"
                              : "--flows 4321 --seed 3 --hours 30 --exporters 3 --sample 10"),
              0);
    char log[64];
    size_t log_len;
    unsigned long reported = 0;
    snprintf(log, sizeof log, "%s.log", name);
    char *report = (char *)tfg_slurp(log, &log_len);
    ASSERT_EQ(sscanf(report, "flowgen: %lu flows (", &reported), 1);
    free(report);
    if (!dup)
        ASSERT_EQ(reported, 4321); /* --flows N means exactly N records */
    else
        ASSERT(reported > 4321 * 1.15 && reported < 4321 * 1.25);
    char pcap[1024];
    snprintf(pcap, sizeof pcap, "%s/%s.pcap", test_tmpdir(), name);
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -d udp.port==2055,cflow -o udp.check_checksum:TRUE "
             "-o ip.check_checksum:TRUE -T fields -E 'separator=;' -e ip.src -e cflow.sequence "
             "-e cflow.count -e cflow.flowset_id -e cflow.packets -e udp.checksum.status "
             "-e ip.checksum.status -e cflow.samplerate -e cflow.sampling_interval "
             "-e cflow.sampling_packet_interval -e cflow.sampling_packet_space 2>/dev/null",
             pcap);
    ASSERT_EQ(test_run(cmd, &out), 0);
    tfg_seen_t seen[4];
    int n_seen = 0;
    unsigned long flows = 0, dgrams = 0;
    for (char *save = NULL, *line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[11], *recs[64];
        ASSERT_EQ(tfg_split(line, ';', f, 11), 11);
        uint32_t seq = (uint32_t)strtoul(f[1], NULL, 10);
        unsigned long count = strtoul(f[2], NULL, 10);
        uint32_t n = *f[4] ? (uint32_t)tfg_split(f[4], ',', recs, 64) : 0;
        ASSERT_STR_EQ(f[5], "1"); /* checksum status 1: good */
        ASSERT_STR_EQ(f[6], "1");
        tfg_seen_t *x = NULL;
        for (int i = 0; i < n_seen && !x; i++)
            x = strcmp(seen[i].src, f[0]) == 0 ? &seen[i] : NULL;
        if (!x) {
            ASSERT_LT(n_seen, 4);
            x = &seen[n_seen++];
            snprintf(x->src, sizeof x->src, "%s", f[0]);
            x->dgrams = 0;
            x->next_seq = seq;
        }
        int due = fmt != TFG_V5 && x->dgrams % TFG_TPL_REFRESH == 0;
        int has_tpl = strncmp(f[3], fmt == TFG_V9 ? "0," : "2,", 2) == 0;
        ASSERT_EQ(has_tpl, due);
        ASSERT_EQ(seq, x->next_seq);
        switch (fmt) {
        case TFG_V5:
            ASSERT_EQ(count, n);
            ASSERT_STR_EQ(f[7], "10");
            x->next_seq = seq + n;
            break;
        case TFG_V9:
            /* two templates, the options template and its record */
            ASSERT_EQ(count, n + (due ? 4 : 0));
            ASSERT_STR_EQ(f[8], due ? "10" : "");
            x->next_seq = seq + 1;
            break;
        default:
            ASSERT_STR_EQ(f[9], due ? "1" : ""); /* 1 packet taken, 9 skipped */
            ASSERT_STR_EQ(f[10], due ? "9" : "");
            x->next_seq = seq + n + (due ? 1 : 0);
            break;
        }
        x->dgrams++;
        flows += n;
        dgrams++;
    }
    free(out);
    ASSERT_EQ(flows, reported); /* tshark finds what flowgen says it wrote */
    ASSERT_EQ(n_seen, dup ? 4 : 3);
    ASSERT_GE(dgrams, (4321 + 29) / 30);
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -d udp.port==2055,cflow -Y '_ws.malformed || "
             "_ws.expert.severity >= \"warning\"' 2>/dev/null | wc -l",
             pcap);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_EQ(atoi(out), 0);
    free(out);
}

TEST_IMPL(flowgen_tshark_counts_flows)
{
    tfg_tshark_counts(TFG_V5);
    return 0;
}

TEST_IMPL(flowgen_tshark_counts_flows_v9)
{
    tfg_tshark_counts(TFG_V9);
    return 0;
}

TEST_IMPL(flowgen_tshark_counts_flows_ipfix)
{
    tfg_tshark_counts(TFG_IPFIX);
    return 0;
}

/* ---- the ground truth ---- */

/* One planted case of the truth, and what the capture holds of it. */
typedef struct tfg_case {
    char scenario[40], technique[16], host[64], peer[64];
    int port; /* -1: null */
    int proto;
    double start_s, end_s, first_ms, last_ms;
    double records, exported;
    int detectable;
    int via; /* dns-exfil through the host's resolver: its everyday DNS shares
              * the case's 5-tuples, so its records are told by size */
    unsigned long found;
    unsigned long found_big; /* via: queries of 150 bytes a packet or more, the tunnel's */
} tfg_case_t;

#define TFG_MAX_CASES 64

static int tfg_proto_num(json_t *v)
{
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    const char *s = json_string_value(v);
    if (!s)
        return -1;
    return strcmp(s, "tcp") == 0    ? 6
           : strcmp(s, "udp") == 0  ? 17
           : strcmp(s, "icmp") == 0 ? 1
           : strcmp(s, "gre") == 0  ? 47
                                    : -1;
}

/* "YYYY-MM-DDTHH:MM:SSZ" to Unix seconds (timegm: UTC, no local time zone). */
static double tfg_iso(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    ASSERT_NOT_NULL(s);
    ASSERT_EQ(strlen(s), 20);
    ASSERT_EQ(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
              6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (double)timegm(&tm);
}

static const char *tfg_str(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v)
        TEST_FAIL_AT("truth line lacks the string '%s'", key);
    return v;
}

/* Reads NAME.jsonl: every line an object with exactly the keys of the truth format. */
static int tfg_truth_read(const char *name, tfg_case_t *cases, int cap)
{
    size_t len;
    char file[64];
    snprintf(file, sizeof file, "%s.jsonl", name);
    char *text = (char *)tfg_slurp(file, &len);
    int n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ASSERT_LT(n, cap);
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (!o)
            TEST_FAIL_AT("truth line is not JSON (%s): %s", jerr.text, line);
        static const char *const keys[] = {"scenario", "technique", "host",   "peer",
                                           "port",     "proto",     "start",  "end",
                                           "params",   "detectable"};
        ASSERT_EQ(json_object_size(o), sizeof keys / sizeof *keys);
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            if (!json_object_get(o, keys[k]))
                TEST_FAIL_AT("truth line lacks '%s': %s", keys[k], line);
        tfg_case_t *c = &cases[n++];
        memset(c, 0, sizeof *c);
        snprintf(c->scenario, sizeof c->scenario, "%s", tfg_str(o, "scenario"));
        snprintf(c->technique, sizeof c->technique, "%s", tfg_str(o, "technique"));
        snprintf(c->host, sizeof c->host, "%s", tfg_str(o, "host"));
        snprintf(c->peer, sizeof c->peer, "%s", tfg_str(o, "peer"));
        json_t *port = json_object_get(o, "port");
        ASSERT(json_is_null(port) || json_is_integer(port));
        c->port = json_is_null(port) ? -1 : (int)json_integer_value(port);
        c->proto = tfg_proto_num(json_object_get(o, "proto"));
        ASSERT_GE(c->proto, 0);
        c->start_s = tfg_iso(tfg_str(o, "start"));
        c->end_s = tfg_iso(tfg_str(o, "end"));
        json_t *params = json_object_get(o, "params");
        ASSERT(json_is_object(params));
        c->records = json_number_value(json_object_get(params, "records"));
        c->exported = json_number_value(json_object_get(params, "records_exported"));
        c->first_ms = json_number_value(json_object_get(params, "first_ms"));
        c->last_ms = json_number_value(json_object_get(params, "last_ms"));
        c->via = json_object_get(params, "via") != NULL;
        ASSERT(json_is_boolean(json_object_get(o, "detectable")));
        c->detectable = json_is_true(json_object_get(o, "detectable"));
        json_decref(o);
    }
    free(text);
    return n;
}

/* `addr` is `where`, or inside it when `where` is a prefix ("10.0.19.0/24", "0.0.0.0/0"): the
 * analyzer's own network matching (flow_net_parse, flow_net_has). */
static int tfg_addr_in(const char *addr, const char *where)
{
    flow_net_t net;
    flow_addr_t a;
    return flow_net_parse(&net, where) == 0 && flow_addr_parse(&a, addr) == 0 &&
           flow_net_has(&net, &a);
}

/* Field `idx` (0-based) of a CSV line, copied into out. */
static void tfg_csv_field(const char *line, int idx, char *out, size_t cap)
{
    for (int i = 0; i < idx && line; i++) {
        line = strchr(line, ',');
        if (line)
            line++;
    }
    size_t n = line ? strcspn(line, ",\n") : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, line ? line : "", n);
    out[n] = '\0';
}

/* flowhuntd's report (its stderr) of a clean capture: every datagram decoded, no
 * malformation counted, no sequence gap, late datagram or reset, no data waiting for or
 * dropped for lack of a template, and `flows` flows. */
static void tfg_report_clean(const char *report, unsigned long flows)
{
    char want[64];
    snprintf(want, sizeof want, ", flows %lu, datagrams dropped 0\n", flows);
    if (!strstr(report, want))
        TEST_FAIL_AT("report lacks '%s':\n%s", want, report);
    static const char *const bad[] = {"  malformed ", "not tracked", "held_",  "sets_held",
                                      "waiting",      "restarts",    "refused"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (strstr(report, bad[i]))
            TEST_FAIL_AT("report has '%s':\n%s", bad[i], report);
    const char *ok = " sequence: lost 0 in 0 gaps, late 0, resets 0\n";
    int domains = 0;
    for (const char *p = strstr(report, " sequence: "); p; p = strstr(p + 1, " sequence: ")) {
        if (strncmp(p, ok, strlen(ok)) != 0)
            TEST_FAIL_AT("sequence trouble:\n%s", report);
        domains++;
    }
    ASSERT_GT(domains, 0);
}

/* The decoded flows of NAME.pcap as flowhuntd --read prints them (CSV), its report checked
 * clean with `flows` flows. */
static char *tfg_decode(const char *name, unsigned long flows)
{
    char cmd[2048], *csv, pcap[64], err[64];
    snprintf(pcap, sizeof pcap, "%s.pcap", name);
    snprintf(err, sizeof err, "%s.err", name);
    snprintf(cmd, sizeof cmd, "%s --read %s --print csv 2>%s", test_bin("flowhuntd"),
             tfg_path(pcap), tfg_path(err));
    ASSERT_EQ(test_run(cmd, &csv), 0);
    size_t err_len;
    char *report = (char *)tfg_slurp(err, &err_len);
    tfg_report_clean(report, flows);
    free(report);
    return csv;
}

/* Counts, per case, the decoded records that are the case's: host to peer on its port (any
 * port when null) or the answers back, of its protocol, each inside the case's time range
 * (the truth's start and end, and the exact first_ms / last_ms). Returns the rows seen. */
static unsigned long tfg_match(char *csv, tfg_case_t *cases, int n)
{
    unsigned long rows = 0;
    for (char *save = NULL, *line = strtok_r(csv, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "time_start", 10) == 0)
            continue;
        rows++;
        char ts[24], te[24], src[64], dst[64], sp[8], dp[8], proto[8];
        tfg_csv_field(line, 0, ts, sizeof ts);
        tfg_csv_field(line, 1, te, sizeof te);
        tfg_csv_field(line, 2, src, sizeof src);
        tfg_csv_field(line, 3, dst, sizeof dst);
        tfg_csv_field(line, 4, sp, sizeof sp);
        tfg_csv_field(line, 5, dp, sizeof dp);
        tfg_csv_field(line, 6, proto, sizeof proto);
        /* a case whose peer is one address claims its records before one whose peer is a
         * prefix: the relayed leg of a tunnel is the resolver's, and so is its recursion */
        int dir[TFG_MAX_CASES], exact = 0;
        for (int i = 0; i < n; i++) {
            tfg_case_t *c = &cases[i];
            int fwd = atoi(proto) == c->proto && tfg_addr_in(src, c->host) &&
                      tfg_addr_in(dst, c->peer) && (c->port < 0 || atoi(dp) == c->port);
            int rev = atoi(proto) == c->proto && tfg_addr_in(src, c->peer) &&
                      tfg_addr_in(dst, c->host) && (c->port < 0 || atoi(sp) == c->port);
            dir[i] = fwd ? 1 : rev ? 2 : 0;
            exact |= dir[i] && !strchr(c->peer, '/');
        }
        for (int i = 0; i < n; i++) {
            tfg_case_t *c = &cases[i];
            if (!dir[i] || (exact && strchr(c->peer, '/')))
                continue;
            int fwd = dir[i] == 1;
            double t0 = strtod(ts, NULL), t1 = strtod(te, NULL);
            int outside = t0 < c->first_ms || t1 > c->last_ms || t0 < c->start_s * 1000 ||
                          t1 > c->end_s * 1000;
            if (c->via) {
                if (outside)
                    continue; /* the host's everyday DNS */
                char pk[24], by[24];
                tfg_csv_field(line, 8, pk, sizeof pk);
                tfg_csv_field(line, 9, by, sizeof by);
                c->found_big += fwd && atof(by) >= 150 * atof(pk);
            } else if (outside)
                TEST_FAIL_AT("%s %s -> %s: record %s outside the truth's time range", c->scenario,
                             c->host, c->peer, line);
            c->found++;
        }
    }
    return rows;
}

static int tfg_count(const tfg_case_t *cases, int n, const char *scenario)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += strcmp(cases[i].scenario, scenario) == 0;
    return k;
}

/* Every planted case of the truth is in the capture with exactly the records the truth
 * states, where it says (host, peer, port, protocol, time range), as flowhuntd decodes it;
 * every scenario the generator promises is there, with its technique. */
static void tfg_truth_matches(tfg_fmt_t fmt)
{
    const double start_ms = 1795413600000.0; /* 2026-11-23T06:00:00Z */
    char name[32];
    snprintf(name, sizeof name, "g-%s", tfg_fmt_name[fmt]);
    ASSERT_EQ(tfg_flowgen(fmt, name, "--flows 30000 --seed 21 --hours 50 --exporters 2"), 0);
    static tfg_case_t cases[TFG_MAX_CASES];
    int n = tfg_truth_read(name, cases, TFG_MAX_CASES);
    static const struct {
        const char *scenario, *technique;
        int min;
    } want[] = {{"beacon", NULL, 2},
                {"scan-horizontal", "T1046", 2},
                {"scan-vertical", "T1046", 2},
                {"scan-quiet", "T1046", 1},
                {"scan-lateral", "T1021", 1},
                {"dns-exfil", "T1048.003", 2},
                {"encrypted-dns", "T1071.004", 1},
                {"icmp-tunnel", "T1095", 1},
                {"ip-tunnel", "T1095", 1},
                {"miner", "T1496", 1},
                {"ioc", "T1071", 1},
                {"first-seen", "T1071", 1},
                {"reverse-shell", "T1571", 1},
                {"long-c2", "T1071", 1},
                {"benign-ntp", "", 1},
                {"benign-cdn-updates", "", 1},
                {"benign-monitoring", "", 1},
                {"benign-vuln-scanner", "", 1},
                {"benign-resolver-recursion", "", 1},
                {"benign-saas", "", 4},
                {"benign-ping-monitor", "", 1},
                {"benign-rare-site", "", 3}};
    int known = 0;
    for (size_t w = 0; w < sizeof want / sizeof *want; w++) {
        int k = tfg_count(cases, n, want[w].scenario);
        if (k < want[w].min)
            TEST_FAIL_AT("%d %s cases, want at least %d", k, want[w].scenario, want[w].min);
        known += k;
        for (int i = 0; i < n; i++)
            if (want[w].technique && strcmp(cases[i].scenario, want[w].scenario) == 0)
                ASSERT_STR_EQ(cases[i].technique, want[w].technique);
    }
    ASSERT_EQ(known, n); /* no scenario outside the documented list */
    int beacon_443 = 0, beacon_odd = 0, v6 = 0, slow = 0, tcp53 = 0, via_resolver = 0;
    for (int i = 0; i < n; i++) {
        tfg_case_t *c = &cases[i];
        ASSERT_GE(c->first_ms, start_ms);
        ASSERT_LE(c->last_ms, start_ms + 50 * 3600000.0);
        ASSERT_LE(c->first_ms, c->last_ms);
        ASSERT_EQ(c->records, c->exported); /* unsampled: nothing lost */
        ASSERT_EQ(c->detectable, 1);
        v6 += strchr(c->host, ':') != NULL;
        if (strcmp(c->scenario, "beacon") == 0) {
            ASSERT_EQ(c->proto, 6);
            beacon_443 += c->port == 443 && strcmp(c->technique, "T1071") == 0;
            beacon_odd += c->port != 443 && strcmp(c->technique, "T1571") == 0;
        }
        if (strncmp(c->scenario, "scan-", 5) == 0)
            slow += c->last_ms - c->first_ms > 3600000.0;
        if (strcmp(c->scenario, "dns-exfil") == 0) {
            ASSERT_EQ(c->port, 53);
            /* to an external nameserver, or over UDP through the host's own resolver */
            int via = strcmp(c->peer, "10.0.0.53") == 0 || strcmp(c->peer, "10.0.1.53") == 0;
            ASSERT(via || !tfg_addr_in(c->peer, "10.0.0.0/8"));
            if (via) { /* the resolver of the host's subnet, as its everyday DNS */
                int net = -1;
                ASSERT_EQ(sscanf(c->host, "10.0.%d.", &net), 1);
                ASSERT_EQ(c->proto, 17);
                ASSERT_STR_EQ(c->peer, net & 1 ? "10.0.1.53" : "10.0.0.53");
            }
            via_resolver += via;
            tcp53 += c->proto == 6;
        }
        if (strcmp(c->scenario, "ip-tunnel") == 0)
            ASSERT_EQ(c->proto, 47);
        if (strcmp(c->scenario, "icmp-tunnel") == 0)
            ASSERT_EQ(c->proto, 1);
        if (strcmp(c->scenario, "miner") == 0)
            ASSERT(c->port == 3333 || c->port == 4444 || c->port == 14444 || c->port == 45700);
        if (c->technique[0]) /* threats come from internal hosts, one address each */
            ASSERT(tfg_addr_in(c->host, "10.0.0.0/16") || tfg_addr_in(c->host, "fd00::/8"));
    }
    ASSERT_GE(beacon_443, 1);
    ASSERT_GE(beacon_odd, 1);
    ASSERT_EQ(tcp53, 1);
    ASSERT_EQ(via_resolver, 1);
    ASSERT_GE(slow, 2); /* a slow horizontal and a slow vertical scan */
    ASSERT_EQ(v6, fmt == TFG_V5 ? 0 : 1); /* the second ioc runs over IPv6, except in v5 */

    char *csv = tfg_decode(name, 30000);
    unsigned long rows = tfg_match(csv, cases, n), v6_rows = 0;
    free(csv);
    ASSERT_EQ(rows, 30000);
    for (int i = 0; i < n; i++) {
        /* through the resolver: a query record and an answer record a session, beside the
         * host's everyday DNS in the same hours */
        if (cases[i].via && (cases[i].found_big * 2 != (unsigned long)cases[i].exported ||
                             cases[i].found < (unsigned long)cases[i].exported))
            TEST_FAIL_AT("%s %s -> %s: %lu tunnel queries and %lu records in its hours in the "
                         "capture, truth says %.0f records",
                         cases[i].scenario, cases[i].host, cases[i].peer, cases[i].found_big,
                         cases[i].found, cases[i].exported);
        if (!cases[i].via && cases[i].found != (unsigned long)cases[i].exported)
            TEST_FAIL_AT("%s %s -> %s: %lu records in the capture, truth says %.0f",
                         cases[i].scenario, cases[i].host, cases[i].peer, cases[i].found,
                         cases[i].exported);
    }
    /* dual-stack hosts' everyday traffic over IPv6, except in v5 */
    char cmd[1024], *out;
    snprintf(cmd, sizeof cmd, "%s --read %s/%s.pcap --print csv 2>/dev/null | grep -c ',fd'",
             test_bin("flowhuntd"), test_tmpdir(), name);
    test_run(cmd, &out);
    v6_rows = strtoul(out, NULL, 10);
    free(out);
    if (fmt == TFG_V5)
        ASSERT_EQ(v6_rows, 0);
    else
        ASSERT_GT(v6_rows, 1000);
    printf("# %s: %d planted cases, all found with their record counts; %lu IPv6 records\n",
           tfg_fmt_name[fmt], n, v6_rows);
}

TEST_IMPL(flowgen_truth_matches_capture)
{
    tfg_truth_matches(TFG_V5);
    return 0;
}

TEST_IMPL(flowgen_truth_matches_capture_v9)
{
    tfg_truth_matches(TFG_V9);
    return 0;
}

TEST_IMPL(flowgen_truth_matches_capture_ipfix)
{
    tfg_truth_matches(TFG_IPFIX);
    return 0;
}

/* 1:100 sampling: every case still holds exactly the records the truth says were exported,
 * a case marked detectable:false really has fewer than 20, and the cheapest cases (one-packet
 * scan probes) are the ones that fall below. */
TEST_IMPL(flowgen_truth_sampled)
{
    ASSERT_EQ(tfg_flowgen(TFG_IPFIX, "smp", "--flows 20000 --seed 8 --hours 24 --sample 100"), 0);
    static tfg_case_t cases[TFG_MAX_CASES];
    int n = tfg_truth_read("smp", cases, TFG_MAX_CASES), hidden = 0, shown = 0;
    char *csv = tfg_decode("smp", 20000);
    ASSERT_EQ(tfg_match(csv, cases, n), 20000);
    free(csv);
    for (int i = 0; i < n; i++) {
        tfg_case_t *c = &cases[i];
        ASSERT_EQ(c->found, (unsigned long)c->exported);
        ASSERT_LE(c->exported, c->records);
        if (!c->detectable) {
            ASSERT_LT(c->exported, 20);
            ASSERT_LT(c->exported, c->records);
            hidden++;
        } else {
            ASSERT(c->exported >= 20 || c->exported == c->records);
            shown++;
        }
        if (strcmp(c->scenario, "scan-horizontal") == 0)
            ASSERT_EQ(c->detectable, 0); /* 1-packet probes: about 1 in 100 survives */
    }
    ASSERT_GT(hidden, 0);
    ASSERT_GT(shown, 0);
    printf("# 1:100: %d cases detectable, %d not (fewer than 20 records left)\n", shown, hidden);
    return 0;
}

/* --dup P: about a share P of the records comes a second time from the core router (the
 * exporter after the edge ones), each copy the same flow as an edge router's record. */
TEST_IMPL(flowgen_dup_share)
{
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd,
             "%s --format v9 --flows 10000 --seed 4 --start 2026-11-23 --hours 12 --exporters 3 "
             "--dup 0.3 --out %s 2>%s",
             test_bin("flowgen"), tfg_path("dup.pcap"), tfg_path("dup.log"));
    ASSERT_EQ(test_run(cmd, NULL), 0);
    size_t log_len;
    out = (char *)tfg_slurp("dup.log", &log_len);
    unsigned long total = 0, dups = 0;
    ASSERT_EQ(sscanf(out, "flowgen: %lu flows (", &total), 1);
    const char *p = strstr(out, "; ");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(sscanf(p, "; %lu copies", &dups), 1);
    free(out);
    ASSERT_EQ(total, 10000 + dups);
    char *csv = tfg_decode("dup", total);
    /* rows sorted by 5-tuple and times: a copy sits next to its original */
    char *sorted, path[600];
    snprintf(path, sizeof path, "%s/dup.csv", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(csv, f);
    fclose(f);
    free(csv);
    snprintf(cmd, sizeof cmd,
             "grep -v '^time_start' %s | awk -F, '{ k = $1 \",\" $2 \",\" $3 \",\" $4 \",\" $5 "
             "\",\" $6 \",\" $7 \",\" $9 \",\" $10; n[k]++; if ($11 == \"192.0.2.4\") core[k]++ } "
             "END { for (k in n) { if (core[k]) { c++; if (n[k] != 2) bad++ } } "
             "print c + 0, bad + 0 }'",
             path);
    ASSERT_EQ(test_run(cmd, &sorted), 0);
    unsigned long copies = 0, bad = 1;
    ASSERT_EQ(sscanf(sorted, "%lu %lu", &copies, &bad), 2);
    free(sorted);
    ASSERT_EQ(copies, dups);
    ASSERT_EQ(bad, 0); /* every core-router record has its edge-router twin */
    double share = (double)dups / 10000;
    ASSERT(share > 0.27 && share < 0.33); /* 0.3 within 6 standard deviations */
    printf("# --dup 0.3: %lu copies of 10000 records (%.3f)\n", dups, share);
    return 0;
}

/* --intel: the feed lists every ioc case's peer (the address, then what it is) and a few
 * decoys that nothing in the capture ever contacts. */
TEST_IMPL(flowgen_intel_lists_ioc)
{
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd,
             "%s --format ipfix --flows 30000 --seed 5 --start 2026-11-23 --hours 24 --out %s "
             "--truth %s --intel %s",
             test_bin("flowgen"), tfg_path("intel.pcap"), tfg_path("intel.jsonl"),
             tfg_path("intel.txt"));
    ASSERT_EQ(test_run(cmd, &out), 0);
    free(out);
    static tfg_case_t cases[TFG_MAX_CASES];
    int n = tfg_truth_read("intel", cases, TFG_MAX_CASES), iocs = 0;
    size_t len;
    char *feed = (char *)tfg_slurp("intel.txt", &len);
    char *csv = tfg_decode("intel", 30000);
    int listed = 0, comments = 0, decoys = 0;
    char addrs[32][FLOW_ADDR_STRLEN];
    for (char *save = NULL, *line = strtok_r(feed, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            comments++;
            continue;
        }
        flow_addr_t a;
        char *sp = strchr(line, ' '); /* the address, then its description */
        ASSERT_NOT_NULL(sp);
        *sp = '\0';
        ASSERT_EQ(flow_addr_parse(&a, line), 0);
        ASSERT_NOT_NULL(strstr(sp + 1, "flowgen-"));
        ASSERT_LT(listed, 32);
        snprintf(addrs[listed++], sizeof addrs[0], "%s", line);
        int is_ioc = 0;
        for (int i = 0; i < n; i++)
            is_ioc |= strcmp(cases[i].scenario, "ioc") == 0 && strcmp(cases[i].peer, line) == 0;
        if (!is_ioc) { /* a decoy: never in the capture */
            char needle[80];
            snprintf(needle, sizeof needle, ",%s,", line);
            ASSERT_NULL(strstr(csv, needle));
            decoys++;
        }
    }
    for (int i = 0; i < n; i++)
        if (strcmp(cases[i].scenario, "ioc") == 0) {
            int in_feed = 0;
            for (int k = 0; k < listed; k++)
                in_feed |= strcmp(addrs[k], cases[i].peer) == 0;
            ASSERT(in_feed);
            ASSERT_STR_EQ(cases[i].technique, "T1071");
            iocs++;
        }
    free(csv);
    free(feed);
    ASSERT_EQ(iocs, 2);
    ASSERT_EQ(listed, iocs + decoys);
    ASSERT_GE(decoys, 3);
    ASSERT_EQ(comments, 1); /* the header */
    return 0;
}

/* --to: the datagrams go over loopback UDP to a receiver this test opens on a free port; it
 * gets every datagram flowgen reports having sent, and the v5 headers count the --flows
 * records; --rate holds the pace. Bounded: 30 s at most. */
TEST_IMPL(flowgen_send_loopback)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&me, sizeof me), 0);
    socklen_t me_len = sizeof me;
    ASSERT_EQ(getsockname(fd, (struct sockaddr *)&me, &me_len), 0);
    int rcv = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "exec %s --format v5 --flows 3000 --seed 9 --start 2026-11-23 --hours 2 "
             "--exporters 2 --to 127.0.0.1:%u --rate 20000 2>%s",
             test_bin("flowgen"), ntohs(me.sin_port), tfg_path("send.err"));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    unsigned long dgrams = 0, flows = 0;
    int status = -1, done = 0;
    for (int waited_ms = 0; waited_ms < 30000;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, 100);
        if (ready > 0) {
            uint8_t buf[2048];
            ssize_t got = recv(fd, buf, sizeof buf, 0);
            ASSERT_GE(got, 24);
            ASSERT_EQ(tfg_be16(buf), 5);
            flows += tfg_be16(buf + 2);
            dgrams++;
            continue;
        }
        waited_ms += 100;
        if (done)
            break; /* the sender has exited and nothing more came for 100 ms */
        if (waitpid(pid, &status, WNOHANG) == pid)
            done = 1;
    }
    close(fd);
    if (!done)
        waitpid(pid, &status, 0);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    size_t len;
    char *err = (char *)tfg_slurp("send.err", &len);
    unsigned long sent = 0, sent_flows = 0;
    double secs = 0, pps = 0, fps = 0;
    const char *p = strstr(err, "flowgen: sent ");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(sscanf(p, "flowgen: sent %lu packets (%lu flows", &sent, &sent_flows), 2);
    p = strstr(p, " in ");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(sscanf(p, " in %lf s: %lf packets/s, %lf flows/s", &secs, &pps, &fps), 3);
    free(err);
    ASSERT_EQ(sent_flows, 3000);
    ASSERT_EQ(flows, 3000);
    ASSERT_EQ(dgrams, sent);
    ASSERT_GE(secs, 3000 / 20000.0 * 0.9); /* --rate 20000 flows/s */
    ASSERT_LE(fps, 20000 * 1.1);
    printf("# --to loopback: %lu datagrams, %lu flows in %.3f s (%.0f flows/s at --rate 20000)\n",
           dgrams, flows, secs, fps);
    return 0;
}

/* --sink: the bare receiver counts what flowgen --to sends it (the loopback ceiling of make
 * bench), announcing its port first. Jumbo datagrams (--mtu 9000) go over --to as into a
 * capture: --to refused them (its buffers were 1500 bytes). */
TEST_IMPL(flowgen_sink_counts)
{
    char cmd[2048], *out;
    snprintf(
        cmd, sizeof cmd,
        "(%s --sink 127.0.0.1:0 --idle 1000 >%s 2>%s & sink=$!; "
        "for i in $(seq 100); do grep -q 'listening on port' %s && break; sleep 0.05; done; "
        "port=$(sed -n 's/.*listening on port //p' %s); "
        "%s --format v9 --mtu 9000 --flows 2000 --seed 3 --start 2026-11-23 --hours 1 "
        "--to 127.0.0.1:$port --rate 50000 2>&1 | sed -n 's/.*sent \\([0-9]*\\) packets.*/\\1/p'; "
        "wait $sink; cat %s)",
        test_bin("flowgen"), tfg_path("sink.out"), tfg_path("sink.err"), tfg_path("sink.err"),
        tfg_path("sink.err"), test_bin("flowgen"), tfg_path("sink.out"));
    ASSERT_EQ(test_run(cmd, &out), 0);
    unsigned long sent = 0, got = 0;
    double rate = 0;
    ASSERT_EQ(sscanf(out, "%lu\ndatagrams %lu", &sent, &got), 2);
    const char *p = strstr(out, "datagrams_per_s ");
    ASSERT_NOT_NULL(p);
    rate = strtod(p + 16, NULL);
    free(out);
    ASSERT_GT(sent, 0);
    ASSERT_EQ(got, sent);
    ASSERT_GT(rate, 0);
    return 0;
}

/* Same arguments, same bytes (capture, truth and feed); another seed, other hosts, peers,
 * periods and ports. The formats are different bytes of the same traffic: v9 and IPFIX carry
 * the same truth; v5 (IPv4 only) the same cases, its IPv6 one on IPv4. */
TEST_IMPL(flowgen_deterministic)
{
    const char *args = "--flows 3000 --seed 11 --hours 6 --exporters 2 --dup 0.1";
    uint8_t *prev = NULL, *truths[TFG_N_FMTS] = {NULL};
    size_t prev_len = 0, truth_len[TFG_N_FMTS] = {0};
    char extra[256];
    for (int f = 0; f < TFG_N_FMTS; f++) {
        snprintf(extra, sizeof extra, "%s --intel %s", args, tfg_path("a.intel"));
        ASSERT_EQ(tfg_flowgen((tfg_fmt_t)f, "a", extra), 0);
        snprintf(extra, sizeof extra, "%s --intel %s", args, tfg_path("b.intel"));
        ASSERT_EQ(tfg_flowgen((tfg_fmt_t)f, "b", extra), 0);
        snprintf(extra, sizeof extra,
                 "--flows 3000 --seed 12 --hours 6 --exporters 2 --dup 0.1 --intel %s",
                 tfg_path("c.intel"));
        ASSERT_EQ(tfg_flowgen((tfg_fmt_t)f, "c", extra), 0);
        size_t la, lb, lc, ta, tb, tc, ia, ib, ic;
        uint8_t *a = tfg_slurp("a.pcap", &la), *b = tfg_slurp("b.pcap", &lb);
        uint8_t *c = tfg_slurp("c.pcap", &lc);
        ASSERT_GT(la, 3000 / 30 * 1000);
        ASSERT_EQ(la, lb);
        ASSERT_MEM_EQ(a, b, la);
        ASSERT(la != lc || memcmp(a, c, la) != 0);
        ASSERT(!prev || la != prev_len || memcmp(a, prev, la) != 0);
        uint8_t *xa = tfg_slurp("a.jsonl", &ta), *xb = tfg_slurp("b.jsonl", &tb);
        uint8_t *xc = tfg_slurp("c.jsonl", &tc);
        ASSERT_EQ(ta, tb);
        ASSERT_MEM_EQ(xa, xb, ta);
        ASSERT(ta != tc || memcmp(xa, xc, ta) != 0);
        uint8_t *fa = tfg_slurp("a.intel", &ia), *fb = tfg_slurp("b.intel", &ib);
        uint8_t *fc = tfg_slurp("c.intel", &ic);
        ASSERT_EQ(ia, ib);
        ASSERT_MEM_EQ(fa, fb, ia);
        ASSERT(ia != ic || memcmp(fa, fc, ia) != 0);
        free(fa);
        free(fb);
        free(fc);
        /* another seed: no planted host-peer pair in common */
        static tfg_case_t ca[TFG_MAX_CASES], cc[TFG_MAX_CASES];
        int na = tfg_truth_read("a", ca, TFG_MAX_CASES), nc = tfg_truth_read("c", cc, TFG_MAX_CASES);
        int same = 0, periods_differ = 0;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nc; j++)
                if (ca[i].technique[0] && strcmp(ca[i].host, cc[j].host) == 0 &&
                    strcmp(ca[i].peer, cc[j].peer) == 0)
                    same++;
        for (int i = 0; i < na && i < nc; i++)
            periods_differ += strcmp(ca[i].scenario, cc[i].scenario) == 0 &&
                              (ca[i].port != cc[i].port || ca[i].first_ms != cc[i].first_ms);
        ASSERT_EQ(same, 0);
        ASSERT_GT(periods_differ, na / 2);
        truths[f] = xa;
        truth_len[f] = ta;
        free(prev);
        prev = a;
        prev_len = la;
        free(b);
        free(c);
        free(xb);
        free(xc);
    }
    ASSERT_EQ(truth_len[TFG_V9], truth_len[TFG_IPFIX]);
    ASSERT_MEM_EQ(truths[TFG_V9], truths[TFG_IPFIX], truth_len[TFG_V9]);
    ASSERT_NULL(strstr((char *)truths[TFG_V5], "\"host\":\"fd")); /* v5 is IPv4 only */
    for (int f = 0; f < TFG_N_FMTS; f++)
        free(truths[f]);
    free(prev);
    return 0;
}

/* --mtu: jumbo datagrams carry the same flows in fewer datagrams, none larger than asked, and
 * the default stays 1400 bytes (v9 and IPFIX). */
TEST_IMPL(flowgen_mtu_jumbo)
{
    static const char *const fmts[] = {"v9", "ipfix"};
    for (int k = 0; k < 2; k++) {
        unsigned long dgrams[2] = {0, 0}, maxlen[2] = {0, 0};
        char *csv[2];
        for (int j = 0; j < 2; j++) {
            char name[32], pcap[48], log[48], cmd[2048], *out;
            snprintf(name, sizeof name, "mtu-%s-%d", fmts[k], j);
            snprintf(pcap, sizeof pcap, "%s.pcap", name);
            snprintf(log, sizeof log, "%s.log", name);
            snprintf(cmd, sizeof cmd,
                     "%s --format %s --flows 200000 --seed 9 --start 2026-11-23 --hours 1 "
                     "--exporters 1 %s --out %s 2>%s",
                     test_bin("flowgen"), fmts[k], j ? "--mtu 9000" : "", tfg_path(pcap),
                     tfg_path(log));
            ASSERT_EQ(test_run(cmd, NULL), 0);
            size_t len;
            out = (char *)tfg_slurp(log, &len);
            const char *p = strstr(out, " in ");
            ASSERT_NOT_NULL(p);
            ASSERT_EQ(sscanf(p, " in %lu datagrams", &dgrams[j]), 1);
            free(out);
            /* the largest UDP payload in the capture: pcap records are Ethernet + IPv4 + UDP */
            snprintf(cmd, sizeof cmd,
                     "python3 -c 'import struct,sys\n"
                     "d=open(sys.argv[1],\"rb\").read(); o=24; m=0\n"
                     "while o + 16 <= len(d):\n"
                     "    n = struct.unpack_from(\"<I\", d, o + 8)[0]; m = max(m, n - 42); o += 16 + n\n"
                     "print(m)' %s",
                     tfg_path(pcap));
            ASSERT_EQ(test_run(cmd, &out), 0);
            maxlen[j] = strtoul(out, NULL, 10);
            free(out);
            csv[j] = tfg_decode(name, 200000);
        }
        ASSERT(maxlen[0] <= 1400 && maxlen[0] > 1000);
        ASSERT(maxlen[1] <= 9000 && maxlen[1] > 1400);
        ASSERT(dgrams[1] * 2 < dgrams[0]);
        /* the same records (export times differ: compare the flows, not the order) */
        for (int j = 0; j < 2; j++) {
            char path[600], cmd[1400], *sorted;
            snprintf(path, sizeof path, "%s/mtu-%d.csv", test_tmpdir(), j);
            FILE *f = fopen(path, "w");
            ASSERT_NOT_NULL(f);
            fputs(csv[j], f);
            fclose(f);
            free(csv[j]);
            snprintf(cmd, sizeof cmd, "cut -d, -f1-10 %s | sort | md5sum", path);
            ASSERT_EQ(test_run(cmd, &sorted), 0);
            csv[j] = sorted;
        }
        ASSERT_STR_EQ(csv[0], csv[1]);
        free(csv[0]);
        free(csv[1]);
        printf("# %s: %lu datagrams (largest %lu bytes) at the default, %lu at --mtu 9000 "
               "(largest %lu)\n",
               fmts[k], dgrams[0], maxlen[0], dgrams[1], maxlen[1]);
    }
    return 0;
}
