/* test_conformance.c: our v5 decoding of the team's real captures against tshark's.
 *
 * Each capture is decoded through exactly the path flowhuntd --read takes (cap_file, cap_udp,
 * ingest_datagram) and compared, flow by flow and field by field, with what tshark's cflow
 * dissector extracts from the same file. The two captures with bogus headers must be dropped
 * whole, with the drop counted under its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "ingest.h"
#include "task.h"

typedef struct flows {
    flow_rec_t *v;
    size_t n, cap;
} flows_t;

static void flows_sink(void *arg, const flow_rec_t *rec)
{
    flows_t *fl = arg;
    if (fl->n == fl->cap) {
        fl->cap = fl->cap ? fl->cap * 2 : 64;
        fl->v = realloc(fl->v, fl->cap * sizeof *fl->v);
        ASSERT_NOT_NULL(fl->v);
    }
    fl->v[fl->n++] = *rec;
}

static void on_dgram(void *arg, const cap_dgram_t *d)
{
    ingest_datagram(arg, &d->src, d->payload, d->len, d->ts_ns);
}

/* Decodes a capture the way flowhuntd --read does; the ingest state is left for inspection. */
static void decode_capture(const char *path, ingest_t *in, flows_t *fl)
{
    cap_file_t cf;
    cap_udp_t cu;
    cap_pkt_t pkt;
    memset(fl, 0, sizeof *fl);
    ASSERT_EQ(cap_open_path(&cf, path), 0);
    ASSERT_EQ(cap_udp_init(&cu), 0);
    ingest_init(in, INGEST_CLOCK_EXPORT, flows_sink, fl);
    int rc;
    while ((rc = cap_next(&cf, &pkt)) > 0)
        cap_udp_feed(&cu, &pkt, on_dgram, in);
    ASSERT_EQ(rc, 0);
    cap_udp_free(&cu);
    cap_close(&cf);
}

/* tshark prints times as seconds with nine decimals; v5 times are whole milliseconds. */
static uint64_t secs_to_ms(const char *s)
{
    char *end;
    uint64_t ms = strtoull(s, &end, 10) * 1000;
    if (*end == '.') {
        int mult = 100;
        for (const char *p = end + 1; *p >= '0' && *p <= '9' && mult; p++, mult /= 10)
            ms += (uint64_t)(*p - '0') * (uint64_t)mult;
    }
    return ms;
}

/* Splits s at `sep` in place into at most max pieces. */
static int split(char *s, char sep, char **out, int max)
{
    int n = 0;
    out[n++] = s;
    for (char *p = s; *p && n < max; p++) {
        if (*p == sep) {
            *p = '\0';
            out[n++] = p + 1;
        }
    }
    return n;
}

enum {
    T_UPTIME,
    T_SECS,
    T_NSECS,
    T_RATE,
    T_SRC,
    T_DST,
    T_NH,
    T_IN,
    T_OUT,
    T_PKTS,
    T_OCTETS,
    T_START,
    T_END,
    T_SPORT,
    T_DPORT,
    T_FLAGS,
    T_PROTO,
    T_TOS,
    T_SRCAS,
    T_DSTAS,
    T_SMASK,
    T_DMASK,
    T_NFIELDS
};

static const char *const tshark_fields[T_NFIELDS] = {
    "cflow.sysuptime", "cflow.unix_secs", "cflow.unix_nsecs", "cflow.samplerate", "cflow.srcaddr",
    "cflow.dstaddr",   "cflow.nexthop",   "cflow.inputint",   "cflow.outputint",  "cflow.packets",
    "cflow.octets",    "cflow.timestart", "cflow.timeend",    "cflow.srcport",    "cflow.dstport",
    "cflow.tcpflags",  "cflow.protocol",  "cflow.tos",        "cflow.srcas",      "cflow.dstas",
    "cflow.srcmask",   "cflow.dstmask"};

static void expect_addr(const flow_addr_t *a, const char *want, size_t flow)
{
    char s[FLOW_ADDR_STRLEN];
    flow_addr_format(a, s);
    if (strcmp(s, want) != 0)
        TEST_FAIL_AT("flow %zu: address %s, tshark says %s", flow, s, want);
}

#define EXPECT_NUM(got, str, flow)                                                                 \
    do {                                                                                           \
        uint64_t want_ = strtoull((str), NULL, 0);                                                 \
        if ((uint64_t)(got) != want_)                                                              \
            TEST_FAIL_AT("flow %zu: %s = %llu, tshark says %llu", (flow), #got,                    \
                         (unsigned long long)(got), (unsigned long long)want_);                    \
    } while (0)

/* Compares every flow of `path` with tshark; returns the number compared. */
static size_t compare_with_tshark(const char *path, int port)
{
    char cmd[4096];
    int len = snprintf(cmd, sizeof cmd,
                       "tshark -r '%s' -d udp.port==%d,cflow -T fields -E separator=/t "
                       "-E aggregator=, -Y cflow",
                       path, port);
    for (int i = 0; i < T_NFIELDS; i++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " -e %s", tshark_fields[i]);
    snprintf(cmd + len, sizeof cmd - (size_t)len, " 2>/dev/null");

    ingest_t in;
    flows_t fl;
    decode_capture(path, &in, &fl);

    FILE *p = popen(cmd, "r");
    ASSERT_NOT_NULL(p);
    static char line[1 << 20];
    size_t k = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        char *col[T_NFIELDS];
        ASSERT_EQ(split(line, '\t', col, T_NFIELDS), T_NFIELDS);
        uint64_t uptime = secs_to_ms(col[T_UPTIME]);
        uint64_t export_ms =
            strtoull(col[T_SECS], NULL, 10) * 1000 + strtoull(col[T_NSECS], NULL, 10) / 1000000;
        uint64_t rate = strtoull(col[T_RATE], NULL, 10);
        char *v[T_NFIELDS][64];
        int n = -1;
        for (int f = T_SRC; f < T_NFIELDS; f++) {
            int m = split(col[f], ',', v[f], 64);
            if (n >= 0)
                ASSERT_EQ(m, n);
            n = m;
        }
        for (int r = 0; r < n; r++, k++) {
            ASSERT_LT(k, fl.n);
            const flow_rec_t *f = &fl.v[k];
            expect_addr(&f->src_addr, v[T_SRC][r], k);
            expect_addr(&f->dst_addr, v[T_DST][r], k);
            expect_addr(&f->next_hop, v[T_NH][r], k);
            EXPECT_NUM(f->in_if, v[T_IN][r], k);
            EXPECT_NUM(f->out_if, v[T_OUT][r], k);
            EXPECT_NUM(f->packets, v[T_PKTS][r], k);
            EXPECT_NUM(f->bytes, v[T_OCTETS][r], k);
            EXPECT_NUM(f->src_port, v[T_SPORT][r], k);
            EXPECT_NUM(f->dst_port, v[T_DPORT][r], k);
            EXPECT_NUM(f->tcp_flags, v[T_FLAGS][r], k);
            EXPECT_NUM(f->proto, v[T_PROTO][r], k);
            EXPECT_NUM(f->tos, v[T_TOS][r], k);
            EXPECT_NUM(f->src_as, v[T_SRCAS][r], k);
            EXPECT_NUM(f->dst_as, v[T_DSTAS][r], k);
            EXPECT_NUM(f->src_mask, v[T_SMASK][r], k);
            EXPECT_NUM(f->dst_mask, v[T_DMASK][r], k);
            ASSERT_EQ(f->sampling, rate ? rate : 1);
            /* tshark shows First/Last as sysUptime offsets; the absolute time is the export
             * time minus their (wrapping) distance from sysUptime. */
            int64_t d_start = test_uptime_behind(uptime, (uint32_t)secs_to_ms(v[T_START][r]));
            int64_t d_end = test_uptime_behind(uptime, (uint32_t)secs_to_ms(v[T_END][r]));
            ASSERT_UINT64_EQ(f->time_start, (uint64_t)((int64_t)export_ms - d_start));
            ASSERT_UINT64_EQ(f->time_end, (uint64_t)((int64_t)export_ms - d_end));
        }
    }
    ASSERT_EQ(pclose(p), 0);
    ASSERT_UINT64_EQ(k, fl.n);
    ASSERT_UINT64_EQ(in.dropped, 0);
    free(fl.v);
    ingest_free(&in);
    return k;
}

TEST_IMPL(nf5_tshark_conformance)
{
    static const struct {
        const char *file;
        int port;
        size_t flows;
    } caps[] = {
        {"netflow/logstash-codec-netflow/nf5_juniper_mx80.pcap", 2055, 29},
        {"netflow/logstash-codec-netflow/nf5_logstash_generic.pcap", 2055, 30},
        {"netflow/logstash-codec-netflow/nf5_mikrotik.pcap", 2055, 30},
        {"netflow/akvorado/nfv5.pcap", 9990, 29},
    };
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed (make deps installs it)");
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        const char *path = test_shared_file(caps[i].file);
        size_t n = compare_with_tshark(path, caps[i].port);
        printf("%s: %zu flows agree with tshark\n", caps[i].file, n);
        ASSERT_UINT64_EQ(n, caps[i].flows);
    }
    return 0;
}

TEST_IMPL(nf5_invalid_captures_dropped)
{
    static const char *const files[] = {"netflow/logstash-codec-netflow/nf5_invalid01.pcap",
                                        "netflow/logstash-codec-netflow/nf5_invalid02.pcap"};
    for (size_t i = 0; i < 2; i++) {
        ingest_t in;
        flows_t fl;
        decode_capture(test_shared_file(files[i]), &in, &fl);
        ASSERT_UINT64_EQ(fl.n, 0);
        ASSERT_UINT64_EQ(in.datagrams, 1);
        ASSERT_UINT64_EQ(in.dropped, 1);
        ASSERT_EQ(in.exporters.n_exporters, 1);
        const exp_exporter_t *e = in.exporters.list[0];
        ASSERT_UINT64_EQ(e->errs.n[DEC_E_V5_LENGTH], 1);
        /* counted under the domain its header names (segment rows count drops), but nothing
         * else from a dropped datagram is believed: no flows, no sequence */
        ASSERT_EQ(e->n_domains, 1);
        ASSERT_UINT64_EQ(e->domains[0]->datagrams, 1);
        ASSERT_UINT64_EQ(e->domains[0]->drops, 1);
        ASSERT_UINT64_EQ(e->domains[0]->flows, 0);
        ASSERT_EQ(e->domains[0]->have_seq, 0);
        free(fl.v);
        ingest_free(&in);
    }
    return 0;
}
