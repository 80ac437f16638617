/* test_flowgen.c: the capture writer and the flow generator, checked from the outside.
 *
 * pcap_write is checked twice: by reading the bytes back here (layout, lengths, checksums that
 * must sum to all ones, the temporary-name-then-rename contract) and by tshark with checksum
 * validation on. flowgen is run as a user runs it (the built binary, FH_BUILD or build/):
 * same arguments give the same bytes and another seed other bytes; tshark finds exactly
 * --flows v5 records and nothing malformed; and every planted case in the ground truth is in
 * the capture, as flowhuntd decodes it, with exactly the record count the truth states.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flow.h"
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

/* ---- flowgen ---- */

/* Runs flowgen with the common arguments plus `extra`, writing NAME.pcap and NAME.jsonl. */
static int tfg_flowgen(const char *name, const char *extra)
{
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd,
             "%s --format v5 --start 2026-11-23T06:00:00Z --out %s/%s.pcap --truth %s/%s.jsonl "
             "%s",
             test_bin("flowgen"), test_tmpdir(), name, test_tmpdir(), name, extra);
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

TEST_IMPL(flowgen_deterministic)
{
    const char *args = "--flows 3000 --seed 11 --hours 6 --exporters 2";
    ASSERT_EQ(tfg_flowgen("a", args), 0);
    ASSERT_EQ(tfg_flowgen("b", args), 0);
    ASSERT_EQ(tfg_flowgen("c", "--flows 3000 --seed 12 --hours 6 --exporters 2"), 0);
    size_t la, lb, lc, ta, tb, tc;
    uint8_t *a = tfg_slurp("a.pcap", &la), *b = tfg_slurp("b.pcap", &lb);
    uint8_t *c = tfg_slurp("c.pcap", &lc);
    ASSERT_GT(la, 3000 / 30 * 1000);
    ASSERT_EQ(la, lb);
    ASSERT_MEM_EQ(a, b, la);
    ASSERT(la != lc || memcmp(a, c, la) != 0);
    uint8_t *xa = tfg_slurp("a.jsonl", &ta), *xb = tfg_slurp("b.jsonl", &tb);
    uint8_t *xc = tfg_slurp("c.jsonl", &tc);
    ASSERT_EQ(ta, tb);
    ASSERT_MEM_EQ(xa, xb, ta);
    ASSERT(ta != tc || memcmp(xa, xc, ta) != 0);
    free(a);
    free(b);
    free(c);
    free(xa);
    free(xb);
    free(xc);
    return 0;
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
        "--format v9 --flows 2000 --seed 1 --start 0 --hours 1",
        "--format ipfix --flows 2000 --seed 1 --start 0 --hours 1",
        "--format v5 --flows 10 --seed 1 --start 0 --hours 1",
        "--format v5 --flows 2000 --seed -1 --start 0 --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 2026-02-30 --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 2026-11-23T25:00:00Z --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 0",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --exporters 0",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --sample 16384",
        "--format v5 --flows 2000 --seed 1 --hours 1",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 extra",
        "--format v5 --flows 2000 --seed 1 --start 0 --hours 1 --bogus",
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
    /* the same instant in both spellings gives the same capture */
    ASSERT_EQ(tfg_flowgen("iso", "--flows 1000 --seed 5 --hours 1"), 0);
    snprintf(cmd, sizeof cmd,
             "%s --format v5 --flows 1000 --seed 5 --hours 1 --start 1795413600 --out %s && "
             "cmp %s %s",
             fg, tfg_path("unix.pcap"), tfg_path("unix.pcap"), tfg_path("iso.pcap"));
    ASSERT_EQ(test_run(cmd, &out), 0);
    free(out);
    return 0;
}

/* Sum of cflow.count over the capture and the number of datagrams, as tshark decodes them. */
TEST_IMPL(flowgen_tshark_counts_flows)
{
    if (!test_have_tool("tshark"))
        SKIP("tshark is not installed");
    ASSERT_EQ(tfg_flowgen("t", "--flows 4321 --seed 3 --hours 30 --exporters 3 --sample 10"), 0);
    const char *pcap = tfg_path("t.pcap");
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -d udp.port==2055,cflow -o udp.check_checksum:TRUE "
             "-o ip.check_checksum:TRUE -T fields -e cflow.count -e udp.checksum.status "
             "-e ip.checksum.status -e cflow.samplerate -E separator=, 2>/dev/null | "
             "awk -F, '{n+=$1; if ($2==1 && $3==1) good++; if ($4==10) samp++} "
             "END {print n + 0, NR, good + 0, samp + 0}'",
             pcap);
    ASSERT_EQ(test_run(cmd, &out), 0);
    unsigned long flows = 0, dgrams = 0, good = 0, sampled = 0;
    ASSERT_EQ(sscanf(out, "%lu %lu %lu %lu", &flows, &dgrams, &good, &sampled), 4);
    free(out);
    ASSERT_EQ(flows, 4321);              /* --flows N means exactly N records */
    ASSERT_GE(dgrams, (4321 + 29) / 30); /* at most 30 per datagram */
    ASSERT_EQ(good, dgrams);             /* every IP and UDP checksum good */
    ASSERT_EQ(sampled, dgrams);          /* the sampling interval announced in each */
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -d udp.port==2055,cflow -Y '_ws.malformed || "
             "_ws.expert.severity >= \"warning\"' 2>/dev/null | wc -l",
             pcap);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_EQ(atoi(out), 0);
    free(out);
    /* flow_sequence counts flows per exporter: each datagram's sequence is the previous one's
     * plus its count, so an exporter's flows add up to its last sequence plus last count. */
    snprintf(cmd, sizeof cmd,
             "tshark -r %s -d udp.port==2055,cflow -T fields -e ip.src -e cflow.sequence "
             "-e cflow.count -E separator=, 2>/dev/null | "
             "awk -F, '{if (($1 in next_) && next_[$1] != $2) bad++; next_[$1] = $2 + $3} "
             "END {print bad + 0, length(next_)}'",
             pcap);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_STR_EQ(out, "0 3\n");
    free(out);
    return 0;
}

/* ---- the ground truth ---- */

/* The value of "key" in a one-line JSON object: a number, or a string copied into str. */
static int tfg_json(const char *line, const char *key, double *num, char *str, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    if (*p == '"') {
        size_t n = strcspn(p + 1, "\"");
        if (!str || n >= cap)
            return -1;
        memcpy(str, p + 1, n);
        str[n] = '\0';
        return 0;
    }
    char *end;
    double v = strtod(p, &end);
    if (end == p || (*end != ',' && *end != '}'))
        return -1;
    if (num)
        *num = v;
    return 0;
}

typedef struct tfg_case {
    char scenario[32], technique[16], src[48], dst[48];
    double dst_port, proto, flows, first_ms, last_ms;
} tfg_case_t;

static void tfg_case_parse(const char *line, tfg_case_t *c)
{
    if (tfg_json(line, "scenario", NULL, c->scenario, sizeof c->scenario) ||
        tfg_json(line, "technique", NULL, c->technique, sizeof c->technique) ||
        tfg_json(line, "src", NULL, c->src, sizeof c->src) ||
        tfg_json(line, "dst", NULL, c->dst, sizeof c->dst) ||
        tfg_json(line, "dst_port", &c->dst_port, NULL, 0) ||
        tfg_json(line, "proto", &c->proto, NULL, 0) ||
        tfg_json(line, "flows", &c->flows, NULL, 0) ||
        tfg_json(line, "first_ms", &c->first_ms, NULL, 0) ||
        tfg_json(line, "last_ms", &c->last_ms, NULL, 0))
        TEST_FAIL_AT("truth line lacks a key: %s", line);
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

/* An address matches a case's peer: equal, or inside it when the peer is "a.b.c.0/24". */
static int tfg_peer_match(const char *addr, const char *peer)
{
    const char *slash = strstr(peer, ".0/24");
    if (!slash)
        return strcmp(addr, peer) == 0;
    size_t n = (size_t)(slash - peer) + 1;
    return strncmp(addr, peer, n) == 0;
}

TEST_IMPL(flowgen_truth_matches_capture)
{
    const uint64_t start_ms = 1795413600000ull; /* 2026-11-23T06:00:00Z */
    ASSERT_EQ(tfg_flowgen("g", "--flows 6000 --seed 21 --hours 20 --exporters 2"), 0);
    size_t len;
    char *truth = (char *)tfg_slurp("g.jsonl", &len);
    char *tmp = realloc(truth, len + 1);
    ASSERT_NOT_NULL(tmp);
    truth = tmp;
    truth[len] = '\0';

    tfg_case_t cases[8];
    int n = 0;
    for (char *save = NULL, *line = strtok_r(truth, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ASSERT_LT(n, 8);
        tfg_case_parse(line, &cases[n]);
        tfg_case_t *c = &cases[n++];
        ASSERT_EQ(strncmp(c->src, "10.0.", 5), 0);
        ASSERT_GE(c->first_ms, (double)start_ms);
        ASSERT_LE(c->last_ms, (double)(start_ms + 20 * 3600000ull));
        ASSERT_LT(c->first_ms, c->last_ms);
        ASSERT_GE(c->flows, 100);
        double v = 0;
        if (strcmp(c->scenario, "beacon") == 0) {
            ASSERT_STR_EQ(c->technique, "T1571");
            ASSERT_EQ(c->proto, 6);
            ASSERT(c->dst_port >= 4444 && c->dst_port <= 9999);
            ASSERT_NE(strncmp(c->dst, "10.", 3), 0);
            ASSERT_EQ(tfg_json(line, "period_s", &v, NULL, 0), 0);
            ASSERT(v >= 30 && v <= 600);
            ASSERT_EQ(tfg_json(line, "jitter", &v, NULL, 0), 0);
            ASSERT(v >= 0 && v <= 0.30);
        } else if (strcmp(c->scenario, "scan-horizontal") == 0) {
            ASSERT_STR_EQ(c->technique, "T1046");
            ASSERT_EQ(c->proto, 6);
            ASSERT_NOT_NULL(strstr(c->dst, ".0/24"));
            ASSERT_EQ(tfg_json(line, "targets", &v, NULL, 0), 0);
            ASSERT_EQ(v, c->flows); /* one probe per target, no answers */
        } else if (strcmp(c->scenario, "dns-exfil") == 0) {
            ASSERT_STR_EQ(c->technique, "T1048.003");
            ASSERT_EQ(c->proto, 17);
            ASSERT_EQ(c->dst_port, 53);
            ASSERT_NE(strncmp(c->dst, "10.", 3), 0); /* not the internal resolvers */
            ASSERT_EQ(tfg_json(line, "request_bytes", &v, NULL, 0), 0);
            ASSERT_GT(v / (c->flows / 2), 1000); /* large queries: over 1 kB per flow */
        } else {
            TEST_FAIL_AT("unknown scenario '%s'", c->scenario);
        }
    }
    ASSERT_EQ(n, 3);
    ASSERT(strcmp(cases[0].scenario, cases[1].scenario) != 0 &&
           strcmp(cases[1].scenario, cases[2].scenario) != 0 &&
           strcmp(cases[0].scenario, cases[2].scenario) != 0);

    /* Every case is in the capture with exactly the records the truth states, both directions,
     * on its port and protocol, inside its time range, as the collector decodes them. */
    char cmd[2048], *csv;
    snprintf(cmd, sizeof cmd, "%s --read %s --print csv --quiet", test_bin("flowhuntd"),
             tfg_path("g.pcap"));
    ASSERT_EQ(test_run(cmd, &csv), 0);
    unsigned long found[8] = {0}, rows = 0;
    for (char *save = NULL, *line = strtok_r(csv, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "time_start", 10) == 0)
            continue;
        rows++;
        char ts[24], te[24], src[48], dst[48], sp[8], dp[8], proto[8];
        tfg_csv_field(line, 0, ts, sizeof ts);
        tfg_csv_field(line, 1, te, sizeof te);
        tfg_csv_field(line, 2, src, sizeof src);
        tfg_csv_field(line, 3, dst, sizeof dst);
        tfg_csv_field(line, 4, sp, sizeof sp);
        tfg_csv_field(line, 5, dp, sizeof dp);
        tfg_csv_field(line, 6, proto, sizeof proto);
        for (int i = 0; i < n; i++) {
            const tfg_case_t *c = &cases[i];
            int fwd = strcmp(src, c->src) == 0 && tfg_peer_match(dst, c->dst) &&
                      atoi(dp) == (int)c->dst_port;
            int rev = tfg_peer_match(src, c->dst) && strcmp(dst, c->src) == 0 &&
                      atoi(sp) == (int)c->dst_port;
            if (!fwd && !rev)
                continue;
            ASSERT_EQ(atoi(proto), (int)c->proto);
            ASSERT_GE(strtod(ts, NULL), c->first_ms);
            ASSERT_LE(strtod(te, NULL), c->last_ms);
            found[i]++;
        }
    }
    free(csv);
    ASSERT_EQ(rows, 6000);
    for (int i = 0; i < n; i++)
        if (found[i] != (unsigned long)cases[i].flows)
            TEST_FAIL_AT("%s %s -> %s: %lu records in the capture, truth says %.0f",
                         cases[i].scenario, cases[i].src, cases[i].dst, found[i], cases[i].flows);
    free(truth);
    return 0;
}
