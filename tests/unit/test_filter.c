/* test_filter.c: the filter language (analyzer/filter.c) and the time arguments (timearg.c).
 *
 * The parser is checked through flt_describe, which prints the tree fully parenthesised, so a
 * precedence or keyword mistake shows as a different string. Column-wise evaluation is checked
 * against the one-record reference (flt_match_rec) on hand-made batches of random flows with
 * absent fields and edge values; pruning is checked for soundness (a group it skips has no
 * match) and for effect (it does skip where it can), on groups whose zone maps are computed
 * here from the rows.
 */
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "flow_print.h"
#include "hunt.h"
#include "task.h"
#include "timearg.h"

#define FLT_TEST_MAX_NEST 64 /* FLT_MAX_NEST: the 65th '(' is refused */

/* ---- helpers ------------------------------------------------------------------------------- */

static void tf_expect_tree(const char *text, const char *want)
{
    flt_t *f;
    flt_error_t err;
    char got[2048];
    int rc = flt_parse(text, &f, &err);
    if (rc != 0)
        TEST_FAIL_AT("'%s' did not parse: %s at %zu", text, err.msg, err.pos);
    flt_describe(f, got, sizeof got);
    if (strcmp(got, want) != 0)
        TEST_FAIL_AT("'%s'\n  parsed as %s\n  expected  %s", text, got, want);
    flt_free(f);
}

static void tf_expect_error(const char *text, size_t pos, const char *msg_part)
{
    flt_t *f = NULL;
    flt_error_t err;
    int rc = flt_parse(text, &f, &err);
    if (rc != -1)
        TEST_FAIL_AT("'%s' parsed (rc %d) but should fail at %zu", text, rc, pos);
    if (err.pos != pos || strstr(err.msg, msg_part) == NULL)
        TEST_FAIL_AT("'%s': error \"%s\" at %zu, expected \"...%s...\" at %zu", text, err.msg,
                     err.pos, msg_part, pos);
    ASSERT_NULL(f);
}

static uint64_t tf_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t tf_pick(uint64_t *s, const uint64_t *vals, size_t n)
{
    return vals[tf_rng(s) % n];
}

/* A random flow from small pools, so that filters match some rows and not others; optional
 * fields are absent one time in eight. */
static void tf_random_flow(uint64_t *s, flow_rec_t *r)
{
    static const char *addrs[] = {
        "10.0.0.1",        "10.0.1.7",    "10.1.0.1",     "192.168.1.1", "8.8.8.8", "0.0.0.0",
        "255.255.255.255", "2001:db8::1", "2001:db8::ff", "fe80::1",     "::"};
    static const uint64_t ports[] = {0, 22, 53, 80, 443, 1337, 1024, 1025, 65535};
    static const uint64_t protos[] = {1, 6, 17, 58, 47};
    static const uint64_t counts[] = {0, 1, 2, 9, 10, 11, 999, 1000, 1001, 1000000, UINT64_MAX};
    static const uint64_t ases[] = {0, 1, 64512, 65000, UINT32_MAX};
    static const uint64_t durs[] = {0, 1, 999, 1000, 1001, 60000, 3600000};
    flow_addr_t a;
    flow_rec_clear(r);
    uint64_t start = 1700000000000ull + tf_rng(s) % 7200000ull;
    FLOW_SET(r, time_start, start);
    /* now and then a broken record whose end precedes its start */
    FLOW_SET(r, time_end, tf_rng(s) % 50 == 0 ? start - 5 : start + tf_pick(s, durs, 7));
    flow_addr_parse(&a, addrs[tf_rng(s) % 11]);
    FLOW_SET(r, src_addr, a);
    flow_addr_parse(&a, addrs[tf_rng(s) % 11]);
    FLOW_SET(r, dst_addr, a);
    FLOW_SET(r, proto, (uint8_t)tf_pick(s, protos, 5));
    flow_addr_parse(&a, tf_rng(s) % 2 ? "192.0.2.1" : "192.0.2.2");
    FLOW_SET(r, exporter, a);
    FLOW_SET(r, sampling, 1);
#define TF_MAYBE(col, expr)                                                                        \
    if (tf_rng(s) % 8 != 0)                                                                        \
    FLOW_SET(r, col, expr)
    TF_MAYBE(src_port, (uint16_t)tf_pick(s, ports, 9));
    TF_MAYBE(dst_port, (uint16_t)tf_pick(s, ports, 9));
    TF_MAYBE(tcp_flags, (uint8_t)(tf_rng(s) % 64));
    TF_MAYBE(packets, tf_pick(s, counts, 11));
    TF_MAYBE(bytes, tf_pick(s, counts, 11));
    TF_MAYBE(src_as, (uint32_t)tf_pick(s, ases, 5));
    TF_MAYBE(dst_as, (uint32_t)tf_pick(s, ases, 5));
#undef TF_MAYBE
}

/* A hand-made batch holding recs[0..n-1] column by column: every column loaded, absent values
 * zero with a presence vector, as seg_batch_t promises. */
typedef struct tf_batch {
    seg_batch_t b;
    void *cols[FLOW_N_COLS];
    uint8_t *pres[FLOW_N_COLS];
} tf_batch_t;

static void tf_batch_build(tf_batch_t *tb, const flow_rec_t *recs, uint32_t n)
{
    memset(tb, 0, sizeof *tb);
    tb->b.n_rows = n;
    for (int c = 0; c < FLOW_N_COLS; c++) {
        size_t w = flow_cols[c].width;
        uint8_t *v = calloc(n ? n : 1, w);
        uint8_t *p = calloc(n ? n : 1, 1);
        int all = 1;
        ASSERT(v && p);
        for (uint32_t i = 0; i < n; i++) {
            p[i] = (recs[i].present >> c) & 1;
            all &= p[i];
            if (p[i])
                memcpy(v + i * w, (const uint8_t *)&recs[i] + flow_cols[c].offset, w);
        }
        tb->cols[c] = v;
        tb->pres[c] = p;
        tb->b.vals[c] = v;
        tb->b.present[c] = all ? NULL : p;
        tb->b.loaded |= (uint64_t)1 << c;
    }
}

static void tf_batch_free(tf_batch_t *tb)
{
    for (int c = 0; c < FLOW_N_COLS; c++) {
        free(tb->cols[c]);
        free(tb->pres[c]);
    }
}

/* The filters every evaluation and pruning test runs: each keyword, each comparator, nesting. */
static const char *const tf_filters[] = {
    "any",
    "",
    "src 10.0.0.1",
    "dst 10.0.0.1",
    "host 10.0.0.1",
    "ip 2001:db8::1",
    "src ip 8.8.8.8",
    "dst host ::",
    "host 0.0.0.0",
    "net 10.0.0.0/8",
    "src net 10.0.0.0/16",
    "dst net 10.1.0.0/16",
    "net 2001:db8::/32",
    "net 0.0.0.0/0",
    "net ::/0",
    "not net ::/0",
    "ipv4",
    "inet6 and port 53",
    "src net ::/1",
    "net ::ffff:10.0.0.0/104",
    "ip in [::/0, 10.0.0.0/8]",
    "src net 192.168.1.1/32",
    "port 53",
    "src port 443",
    "dst port 1337",
    "dst port > 1024",
    "dst port >= 1024",
    "src port < 1024",
    "src port <= 1024",
    "dst port 1300",
    "dst port > 1337",
    "src port < 1025",
    "dst port <= 1023",
    "port 0",
    "proto tcp",
    "proto udp",
    "proto icmp",
    "proto icmp6",
    "proto 47",
    "flags S",
    "flags SA",
    "flags FSRPAU",
    "flags X",
    "packets > 10",
    "packets < 10",
    "packets = 1000",
    "packets >= 1k",
    "packets <= 1M",
    "bytes > 1000",
    "bytes < 1k",
    "bytes == 18446744073709551615",
    "duration > 1000",
    "duration < 1000",
    "duration = 0",
    "duration >= 1k",
    "as 65000",
    "src as 0",
    "dst as > 64512",
    "src as = 4294967295",
    "exporter 192.0.2.1",
    "router ip 192.0.2.2",
    "not port 53",
    "not not port 53",
    "port 53 or port 80 and proto tcp",
    "(port 53 or port 80) and proto tcp",
    "not (proto tcp or proto udp)",
    "proto tcp and not flags A and flags S",
    "src net 10.0.0.0/8 and not dst net 10.0.0.0/8 and bytes > 1M",
    "(host 8.8.8.8 or host 2001:db8::1) and (dst port 53 or src port 53) and not proto icmp",
    "dst port 1337 and src net 10.0.0.0/8",
    "packets gt 9 and bytes lt 1001 or duration ge 60000",
    "ip in [10.0.0.1 8.8.8.8]",
    "src ip in [10.0.0.0/16, 2001:db8::/32]",
    "dst ip in [::, 255.255.255.255]",
    "host in [0.0.0.0/0]",
    "dst net in [10.0.0.0/8 10.1.0.0/16 192.168.0.0/16 fe80::/10]",
    "src ip in [10.0.1.7 10.0.0.0/24 2001:db8::ff]",
    "dst port in [53 443 1337]",
    "src port in [0, 65535]",
    "port in [1024 1025]",
    "dst port in [1300 1336 1338]",
    "as in [0 65000]",
    "dst as in [64512, 4294967295]",
    "not dst port in [53 80]",
    "not src ip in [10.0.0.0/8 ::/0]",
    "dst port in [1337 22] and src ip in [10.0.0.1 2001:db8::1]",
};
#define TF_N_FILTERS (sizeof tf_filters / sizeof tf_filters[0])

/* ---- the parser ---------------------------------------------------------------------------- */

TEST_IMPL(filter_parse_keywords)
{
    tf_expect_tree("", "any");
    tf_expect_tree("  any ", "any");
    tf_expect_tree("src 10.0.0.1", "(src_addr = 10.0.0.1)");
    tf_expect_tree("dst 2001:db8::1", "(dst_addr = 2001:db8::1)");
    tf_expect_tree("host 10.0.0.1", "(or (src_addr = 10.0.0.1) (dst_addr = 10.0.0.1))");
    tf_expect_tree("ip 10.0.0.1", "(or (src_addr = 10.0.0.1) (dst_addr = 10.0.0.1))");
    tf_expect_tree("src ip 10.0.0.1", "(src_addr = 10.0.0.1)");
    tf_expect_tree("dst host 10.0.0.1", "(dst_addr = 10.0.0.1)");
    tf_expect_tree("net 10.0.0.0/8", "(or (src_addr in 10.0.0.0/8) (dst_addr in 10.0.0.0/8))");
    tf_expect_tree("src net 10.1.2.3/16", "(src_addr in 10.1.0.0/16)"); /* host bits masked */
    tf_expect_tree("dst net 2001:db8::/32", "(dst_addr in 2001:db8::/32)");
    tf_expect_tree("dst net 10.0.0.7/32", "(dst_addr = 10.0.0.7)");
    tf_expect_tree("port 53", "(or (src_port = 53) (dst_port = 53))");
    tf_expect_tree("src port 53", "(src_port = 53)");
    tf_expect_tree("dst port > 1023", "(dst_port > 1023)");
    tf_expect_tree("dst port>=1024", "(dst_port >= 1024)");
    tf_expect_tree("dst port lt 10", "(dst_port < 10)");
    tf_expect_tree("proto tcp", "(proto = 6)");
    tf_expect_tree("proto UDP", "(proto = 17)");
    tf_expect_tree("proto icmp", "(proto = 1)");
    tf_expect_tree("proto icmp6", "(proto = 58)");
    tf_expect_tree("proto 132", "(proto = 132)");
    /* the names nfdump's filter takes beyond the common ones (nfdump's own table) */
    tf_expect_tree("proto vrrp", "(proto = 112)");
    tf_expect_tree("proto L2TP", "(proto = 115)");
    tf_expect_tree("proto egp", "(proto = 8)");
    tf_expect_tree("proto gre", "(proto = 47)");
    tf_expect_tree("flags S", "(tcp_flags has 0x02)");
    tf_expect_tree("flags FSRPAU", "(tcp_flags has 0x3f)");
    tf_expect_tree("flags as", "(tcp_flags has 0x12)");
    tf_expect_tree("packets > 10", "(packets > 10)");
    tf_expect_tree("packets 10", "(packets = 10)");
    tf_expect_tree("bytes < 5k", "(bytes < 5000)");
    tf_expect_tree("bytes = 2M", "(bytes = 2000000)");
    tf_expect_tree("bytes >= 3G", "(bytes >= 3000000000)");
    tf_expect_tree("duration > 1500", "(duration > 1500)");
    tf_expect_tree("duration <= 2k", "(duration <= 2000)");
    tf_expect_tree("as 65000", "(or (src_as = 65000) (dst_as = 65000))");
    tf_expect_tree("src as 64512", "(src_as = 64512)");
    tf_expect_tree("dst as > 4200000000", "(dst_as > 4200000000)");
    tf_expect_tree("exporter 192.0.2.1", "(exporter = 192.0.2.1)");
    tf_expect_tree("router ip 192.0.2.1", "(exporter = 192.0.2.1)");
    /* nfdump's address families: IPv4 either end in the IPv4 block, IPv6 every other flow */
    tf_expect_tree("ipv4", "(or (src_addr in 0.0.0.0/0) (dst_addr in 0.0.0.0/0))");
    tf_expect_tree("inet", "(or (src_addr in 0.0.0.0/0) (dst_addr in 0.0.0.0/0))");
    tf_expect_tree("IPv6", "(not (or (src_addr in 0.0.0.0/0) (dst_addr in 0.0.0.0/0)))");
    tf_expect_tree("inet6 and proto udp",
                   "(and (not (or (src_addr in 0.0.0.0/0) (dst_addr in 0.0.0.0/0))) (proto = 17))");
    /* lists: sorted, repeats dropped, touching networks joined, shown as CIDR when one */
    tf_expect_tree("dst port in [443, 53 53 80]", "(dst_port in [53 80 443])");
    tf_expect_tree("src as in [65000]", "(src_as in [65000])");
    tf_expect_tree("ip in [8.8.8.8,8.8.4.4]",
                   "(or (src_addr in [8.8.4.4 8.8.8.8]) (dst_addr in [8.8.4.4 8.8.8.8]))");
    tf_expect_tree("dst ip in [10.0.0.2 10.0.0.0/24 10.0.1.0/24]", "(dst_addr in [10.0.0.0/23])");
    tf_expect_tree("src ip in [10.0.0.5 10.0.0.6]", "(src_addr in [10.0.0.5-10.0.0.6])");
    tf_expect_tree("dst host in [2001:db8::/33 2001:db8:8000::/33]",
                   "(dst_addr in [2001:db8::/32])");
    /* ::/0 is the IPv6 addresses: the ranges around the IPv4 block, which 10.0.0.1 is in */
    tf_expect_tree("dst ip in [10.0.0.1 ::/0]",
                   "(dst_addr in [::-::fffe:ffff:ffff 10.0.0.1 "
                   "::1:0:0:0-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff])");
    tf_expect_tree("dst ip in [::1 255.255.255.255 0.0.0.0/1 128.0.0.0/1]",
                   "(dst_addr in [::1 0.0.0.0/0])");
    tf_expect_tree("src net in [10.0.0.0/8] and dst port in [22]",
                   "(and (src_addr in [10.0.0.0/8]) (dst_port in [22]))");
    tf_expect_tree("NOT PORT 53 AND Proto TCP", "(and (not (or (src_port = 53) (dst_port = 53))) "
                                                "(proto = 6))");
    return 0;
}

TEST_IMPL(filter_parse_precedence)
{
    /* not > and > or */
    tf_expect_tree("proto tcp or proto udp and port 53",
                   "(or (proto = 6) (and (proto = 17) (or (src_port = 53) (dst_port = 53))))");
    tf_expect_tree("proto tcp and proto udp or port 53",
                   "(or (and (proto = 6) (proto = 17)) (or (src_port = 53) (dst_port = 53)))");
    tf_expect_tree("not proto tcp and proto udp", "(and (not (proto = 6)) (proto = 17))");
    tf_expect_tree("not proto tcp or proto udp", "(or (not (proto = 6)) (proto = 17))");
    tf_expect_tree("not not proto tcp", "(not (not (proto = 6)))");
    /* parentheses override */
    tf_expect_tree("(proto tcp or proto udp) and src port 53",
                   "(and (or (proto = 6) (proto = 17)) (src_port = 53))");
    tf_expect_tree("not (proto tcp and src port 1)", "(not (and (proto = 6) (src_port = 1)))");
    tf_expect_tree("((proto tcp))", "(proto = 6)");
    tf_expect_tree("(proto 1)and(proto 2)", "(and (proto = 1) (proto = 2))");
    /* left associative */
    tf_expect_tree("proto 1 or proto 2 or proto 3",
                   "(or (or (proto = 1) (proto = 2)) (proto = 3))");
    tf_expect_tree("proto 1 and proto 2 and proto 3",
                   "(and (and (proto = 1) (proto = 2)) (proto = 3))");
    tf_expect_tree("proto 1 && proto 2 || proto 3",
                   "(or (and (proto = 1) (proto = 2)) (proto = 3))");
    /* the time window goes on top, over the whole filter */
    flt_t *f;
    flt_error_t err;
    char got[512];
    ASSERT_EQ(flt_parse("proto 1 or proto 2", &f, &err), 0);
    flt_set_window(f, 1000, 2000);
    flt_describe(f, got, sizeof got);
    ASSERT_STR_EQ(got, "(and (window 1000 2000) (or (proto = 1) (proto = 2)))");
    ASSERT_UINT64_EQ(flt_columns(f), FLOW_BIT(proto) | FLOW_BIT(time_start) | FLOW_BIT(time_end));
    flt_free(f);
    return 0;
}

TEST_IMPL(filter_parse_errors)
{
    /* each error points at the offending token; at the end of the text, at its length */
    tf_expect_error("port", 4, "expected a number after 'port', not the end of the filter");
    tf_expect_error("dst port http", 9, "expected a number after 'port', not 'http'");
    tf_expect_error("dst port 65536", 9, "out of range");
    tf_expect_error("src port 80 and", 15, "expected a primitive");
    tf_expect_error("src port 80 or or port 1", 15, "expected a primitive before 'or'");
    tf_expect_error("src port 80 port 81", 12, "expected 'and', 'or' or the end");
    tf_expect_error("(port 80", 8, "expected ')'");
    tf_expect_error("port 80)", 7, "unexpected ')'");
    tf_expect_error(")", 0, "unexpected ')'");
    tf_expect_error("proto tcp and (proto udp or", 27, "expected a primitive");
    tf_expect_error("foo 1", 0, "unknown filter keyword 'foo'");
    tf_expect_error("proto tcp and bar", 14, "unknown filter keyword 'bar'");
    tf_expect_error("src", 3, "after the direction");
    tf_expect_error("dst proto tcp", 4, "after the direction");
    tf_expect_error("src 10.0.0.300", 4, "after the direction");
    tf_expect_error("host 10.0.0.300", 5, "expected an IPv4 or IPv6 address after 'host'");
    tf_expect_error("src host x", 9, "expected an IPv4 or IPv6 address after 'src'");
    tf_expect_error("net 10.0.0.0", 4, "expected a network such as 10.0.0.0/8");
    tf_expect_error("net 10.0.0.0/33", 13, "IPv4 prefix length");
    tf_expect_error("net 10.0.0.0/x", 13, "prefix length after '/'");
    tf_expect_error("net 2001:db8::/129", 15, "prefix length after '/'");
    tf_expect_error("proto tcpx", 6, "expected a protocol");
    tf_expect_error("proto 256", 6, "expected a protocol");
    tf_expect_error("flags SQ", 7, "unknown TCP flag 'Q'");
    tf_expect_error("flags", 5, "expected TCP flags");
    /* a character of several bytes is quoted whole, not cut after its first byte */
    tf_expect_error("flags S\xc3\xa9"
                    "A",
                    7, "unknown TCP flag '\xc3\xa9' (use");
    tf_expect_error("host aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9",
                    5, "not 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
    tf_expect_error("packets > ten", 10, "expected a number after 'packets'");
    tf_expect_error("packets > 1m", 10, "expected a number"); /* m is not a multiplier */
    tf_expect_error("bytes > 1Mx", 8, "expected a number");
    tf_expect_error("bytes > 99999999999999999999", 8, "expected a number");
    tf_expect_error("bytes > 18446744073709552G", 8, "expected a number"); /* overflow */
    tf_expect_error("duration >", 10, "expected a number after 'duration'");
    tf_expect_error("as 4294967296", 3, "out of range");
    tf_expect_error("exporter", 8, "expected an IPv4 or IPv6 address after 'exporter'");
    tf_expect_error("router 192.0.2.1", 7, "expected 'ip' after 'router'");
    tf_expect_error("not", 3, "expected a primitive");
    tf_expect_error("and port 1", 0, "expected a primitive before 'and'");
    tf_expect_error("src any", 4, "after the direction");
    tf_expect_error("= 5", 0, "expected a filter primitive");
    tf_expect_error("port in 53", 8, "expected '[' after 'port in'");
    tf_expect_error("dst ip in [10.0.0.1", 10, "not closed with ']'");
    tf_expect_error("dst ip in []", 10, "is empty");
    tf_expect_error("dst ip in [,]", 10, "is empty");
    tf_expect_error("src ip in [10.0.0.1 x]", 20, "address after 'ip in ['");
    tf_expect_error("ip in [10.0.0.0/33]", 16, "IPv4 prefix length");
    tf_expect_error("dst port in [53 65536]", 16, "expected a number (0 to 65535)");
    tf_expect_error("as in [1 -2]", 9, "expected a number (0 to 4294967295)");
    tf_expect_error("port in [53] ]", 13, "expected 'and', 'or' or the end");
    tf_expect_error("proto in [6]", 6, "expected a protocol");
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "(");
    tf_expect_error(deep, FLT_TEST_MAX_NEST, "nested too deeply");

    /* the message as a user sees it: the text and a caret under the position */
    flt_t *f;
    flt_error_t err;
    ASSERT_EQ(flt_parse("dst port http", &f, &err), -1);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ASSERT_NOT_NULL(m);
    flt_print_error(m, "flowhunt", "dst port http", &err);
    fclose(m);
    ASSERT_STR_EQ(buf, "flowhunt: filter: expected a number after 'port', not 'http'\n"
                       "  dst port http\n"
                       "           ^\n");
    free(buf);

    /* a filter of several lines ("$(cat iocs.filter)"): the line holding the error, the caret
     * under the word in it; at the end, after the last line, not after its line end */
    static const struct {
        const char *text, *want;
    } lines[] = {
        {"host 10.0.0.1\n or host 10.0.0.2\n or hots 10.0.0.3",
         "flowhunt: filter: unknown filter keyword 'hots'\n"
         "   or hots 10.0.0.3\n"
         "      ^\n"},
        {"host 10.0.0.1 or\r\n", "flowhunt: filter: expected a primitive (host, port, proto, "
                                 "...), not the end of the filter\n"
                                 "  host 10.0.0.1 or\n"
                                 "                  ^\n"},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        ASSERT_EQ(flt_parse(lines[i].text, &f, &err), -1);
        m = open_memstream(&buf, &len);
        ASSERT_NOT_NULL(m);
        flt_print_error(m, "flowhunt", lines[i].text, &err);
        fclose(m);
        ASSERT_STR_EQ(buf, lines[i].want);
        free(buf);
    }
    /* a long filter (a list of hundreds): the 150 bytes before the error and what follows,
     * the caret 150 columns in, not the whole text with a caret rows below the error */
    {
        char text[600] = "dst port in [", want[1000];
        for (int i = 0; i < 200; i++)
            strcat(text, "1 ");
        strcat(text, "x ]");
        ASSERT_EQ(flt_parse(text, &f, &err), -1);
        ASSERT_EQ(err.pos, 413u);
        int w = snprintf(want, sizeof want, "flowhunt: filter: %s\n  ", err.msg);
        for (int i = 0; i < 75; i++)
            w += snprintf(want + w, sizeof want - (size_t)w, "1 ");
        w += snprintf(want + w, sizeof want - (size_t)w, "x ]\n  %150s^\n", "");
        m = open_memstream(&buf, &len);
        ASSERT_NOT_NULL(m);
        flt_print_error(m, "flowhunt", text, &err);
        fclose(m);
        ASSERT_STR_EQ(buf, want);
        free(buf);
    }

    /* a filter given as separate words is joined with single spaces */
    char *argv[] = {"dst", "port", "53", "and", "(proto", "udp)"};
    char *joined = flt_join(6, argv);
    ASSERT_STR_EQ(joined, "dst port 53 and (proto udp)");
    free(joined);
    return 0;
}

/* ---- evaluation ---------------------------------------------------------------------------- */

/* Selects with flt_select and compares with flt_match_rec row by row. */
/* rows[0 .. k) (flt_select's answer, k < 0 an error) are exactly the records the reference
 * evaluator selects; `what` names the case in a failure. */
static void tf_expect_rows(const flt_t *f, const flow_rec_t *recs, uint32_t n, const uint32_t *rows,
                           int k, const char *what)
{
    ASSERT_GE(k, 0);
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
        int want = flt_match_rec(f, &recs[i]);
        int got = j < (uint32_t)k && rows[j] == i;
        if (want != got)
            TEST_FAIL_AT("%s: row %u: reference %d, column-wise %d", what, i, want, got);
        j += (uint32_t)got;
    }
    ASSERT_EQ(j, k);
}

static uint32_t tf_check_batch(const char *text, const flow_rec_t *recs, uint32_t n, tf_batch_t *tb,
                               uint64_t from, uint64_t to)
{
    flt_t *f;
    flt_error_t err;
    flt_scratch_t s;
    seg_where_t where;
    uint32_t *rows = malloc((n + 1) * sizeof *rows);
    ASSERT_NOT_NULL(rows);
    if (flt_parse(text, &f, &err) != 0)
        TEST_FAIL_AT("'%s' did not parse: %s", text, err.msg);
    flt_set_window(f, from, to);
    flt_scratch_init(&s);
    int k = flt_select(f, &s, &tb->b, rows, &where);
    tf_expect_rows(f, recs, n, rows, k, text);
    flt_scratch_free(&s);
    flt_free(f);
    free(rows);
    return (uint32_t)k;
}

TEST_IMPL(filter_eval_hand_batch)
{
    /* five flows whose answers are known by reading them */
    static const struct {
        const char *src, *dst;
        uint16_t sport, dport;
        uint8_t proto, flags;
        uint64_t pkts, bytes, start, dur;
        uint32_t sas;
    } rows[] = {
        {"10.0.0.1", "8.8.8.8", 40000, 53, 17, 0, 1, 70, 1000, 0, 0},
        {"8.8.8.8", "10.0.0.1", 53, 40000, 17, 0, 1, 120, 1001, 1, 15169},
        {"10.0.0.2", "192.0.2.80", 50000, 80, 6, 0x1b, 12, 4000, 2000, 1500, 0},
        {"10.0.0.2", "10.0.9.9", 50001, 1337, 6, 0x02, 1, 60, 3000, 0, 0},
        {"2001:db8::5", "2001:db8::53", 5353, 53, 17, 0, 3, 300, 4000, 20000, 64512},
    };
    flow_rec_t recs[5];
    for (int i = 0; i < 5; i++) {
        flow_addr_t a;
        flow_rec_clear(&recs[i]);
        flow_addr_parse(&a, rows[i].src);
        FLOW_SET(&recs[i], src_addr, a);
        flow_addr_parse(&a, rows[i].dst);
        FLOW_SET(&recs[i], dst_addr, a);
        FLOW_SET(&recs[i], src_port, rows[i].sport);
        FLOW_SET(&recs[i], dst_port, rows[i].dport);
        FLOW_SET(&recs[i], proto, rows[i].proto);
        if (rows[i].proto == 6)
            FLOW_SET(&recs[i], tcp_flags, rows[i].flags);
        FLOW_SET(&recs[i], packets, rows[i].pkts);
        FLOW_SET(&recs[i], bytes, rows[i].bytes);
        FLOW_SET(&recs[i], time_start, rows[i].start);
        FLOW_SET(&recs[i], time_end, rows[i].start + rows[i].dur);
        if (rows[i].sas)
            FLOW_SET(&recs[i], src_as, rows[i].sas);
    }
    tf_batch_t tb;
    tf_batch_build(&tb, recs, 5);
    ASSERT_EQ(tf_check_batch("port 53", recs, 5, &tb, 0, UINT64_MAX), 3);
    ASSERT_EQ(tf_check_batch("dst port 53", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("host 10.0.0.1", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("src net 10.0.0.0/24", recs, 5, &tb, 0, UINT64_MAX), 3);
    ASSERT_EQ(tf_check_batch("net 2001:db8::/64", recs, 5, &tb, 0, UINT64_MAX), 1);
    /* an IPv6 network around the block IPv4 is held in means IPv6 addresses; one written in
     * that block means IPv4 ones */
    ASSERT_EQ(tf_check_batch("net ::/0", recs, 5, &tb, 0, UINT64_MAX), 1);
    ASSERT_EQ(tf_check_batch("not net ::/0", recs, 5, &tb, 0, UINT64_MAX), 4);
    ASSERT_EQ(tf_check_batch("src net ::/1", recs, 5, &tb, 0, UINT64_MAX), 1);
    ASSERT_EQ(tf_check_batch("net ::ffff:0:0/96", recs, 5, &tb, 0, UINT64_MAX), 4);
    ASSERT_EQ(tf_check_batch("src net ::ffff:10.0.0.0/104", recs, 5, &tb, 0, UINT64_MAX), 3);
    ASSERT_EQ(tf_check_batch("ip in [::/0]", recs, 5, &tb, 0, UINT64_MAX), 1);
    ASSERT_EQ(tf_check_batch("src ip in [::/0, 8.8.8.8]", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("flags S", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("flags SA", recs, 5, &tb, 0, UINT64_MAX), 1);
    ASSERT_EQ(tf_check_batch("proto tcp and not flags A", recs, 5, &tb, 0, UINT64_MAX), 1);
    ASSERT_EQ(tf_check_batch("bytes > 100", recs, 5, &tb, 0, UINT64_MAX), 3);
    ASSERT_EQ(tf_check_batch("packets > 1", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("duration > 1k", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("duration = 0", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("src as 0", recs, 5, &tb, 0, UINT64_MAX), 3); /* absent AS is 0 */
    ASSERT_EQ(tf_check_batch("as 0", recs, 5, &tb, 0, UINT64_MAX), 5);     /* no dst_as at all */
    ASSERT_EQ(tf_check_batch("src as 15169 or src as 64512", recs, 5, &tb, 0, UINT64_MAX), 2);
    ASSERT_EQ(tf_check_batch("not port 53 and proto udp", recs, 5, &tb, 0, UINT64_MAX), 0);
    ASSERT_EQ(tf_check_batch("dst port 1337 and src net 10.0.0.0/8", recs, 5, &tb, 0, UINT64_MAX),
              1);
    /* windows: [start, end] overlaps [from, to) */
    ASSERT_EQ(tf_check_batch("any", recs, 5, &tb, 1001, 2000), 1); /* row 1 only: ends at 1002 */
    ASSERT_EQ(tf_check_batch("any", recs, 5, &tb, 1002, 2001), 2); /* row 1 (end 1002), row 2 */
    ASSERT_EQ(tf_check_batch("any", recs, 5, &tb, 3500, 3600), 1); /* inside row 2 */
    ASSERT_EQ(tf_check_batch("any", recs, 5, &tb, 0, 1000), 0);    /* to is exclusive */
    ASSERT_EQ(tf_check_batch("port 53", recs, 5, &tb, 4000, 4001), 1);
    tf_batch_free(&tb);
    return 0;
}

TEST_IMPL(filter_eval_random_batches)
{
    uint64_t seed = 42;
    enum { N = 3000 };
    flow_rec_t *recs = malloc(N * sizeof *recs);
    ASSERT_NOT_NULL(recs);
    for (int round = 0; round < 3; round++) {
        uint32_t n = round == 0 ? N : round == 1 ? 1 : 63;
        for (uint32_t i = 0; i < n; i++)
            tf_random_flow(&seed, &recs[i]);
        tf_batch_t tb;
        tf_batch_build(&tb, recs, n);
        uint32_t matched_some = 0;
        for (size_t k = 0; k < TF_N_FILTERS; k++) {
            uint32_t m = tf_check_batch(tf_filters[k], recs, n, &tb, 0, UINT64_MAX);
            matched_some += m > 0 && m < n;
            tf_check_batch(tf_filters[k], recs, n, &tb, 1700000100000ull, 1700003600000ull);
        }
        /* the pools make most filters split the big batch: a filter that matched everything or
         * nothing would not test much */
        if (round == 0)
            ASSERT_GE(matched_some, TF_N_FILTERS * 3 / 4);
        tf_batch_free(&tb);
    }
    free(recs);
    return 0;
}

/* N random flows as a hand-made batch, for tests that compare two filters' selections. */
typedef struct tf_pair_fx {
    flow_rec_t *recs;
    uint32_t n, *ra, *rb;
    tf_batch_t tb;
    flt_scratch_t s;
} tf_pair_fx_t;

static void tf_pair_fx_init(tf_pair_fx_t *x, uint64_t seed, uint32_t n)
{
    x->n = n;
    x->recs = malloc(n * sizeof *x->recs);
    x->ra = malloc(n * sizeof *x->ra);
    x->rb = malloc(n * sizeof *x->rb);
    ASSERT(x->recs && x->ra && x->rb);
    for (uint32_t i = 0; i < n; i++)
        tf_random_flow(&seed, &x->recs[i]);
    tf_batch_build(&x->tb, x->recs, n);
    flt_scratch_init(&x->s);
}

static void tf_pair_fx_free(tf_pair_fx_t *x)
{
    flt_scratch_free(&x->s);
    tf_batch_free(&x->tb);
    free(x->recs);
    free(x->ra);
    free(x->rb);
}

/* The rows fa selects, which must be exactly those fb selects (`a` and `b` name them in a
 * failure); returns their count. */
static int tf_pair_same(tf_pair_fx_t *x, const flt_t *fa, const flt_t *fb, const char *a,
                        const char *b)
{
    seg_where_t where;
    int na = flt_select(fa, &x->s, &x->tb.b, x->ra, &where);
    int nb = flt_select(fb, &x->s, &x->tb.b, x->rb, &where);
    if (na != nb || memcmp(x->ra, x->rb, (size_t)(na > 0 ? na : 0) * sizeof *x->ra) != 0)
        TEST_FAIL_AT("'%s' selects %d rows, '%s' %d", a, na, b, nb);
    return na;
}

/* A list selects exactly what the `or` chain of its items selects (the reference evaluator
 * shares the list's search with the column-wise one, so this is the independent check). */
TEST_IMPL(filter_list_equals_or_chain)
{
    static const struct {
        const char *list, *chain;
    } pairs[] = {
        {"dst port in [53, 443 1337 1337]", "dst port 53 or dst port 443 or dst port 1337"},
        {"port in [0 65535]", "port 0 or port 65535"},
        {"src as in [1 65000 4294967295]", "src as 1 or src as 65000 or src as 4294967295"},
        {"ip in [10.0.0.1 8.8.8.8 2001:db8::ff]", "ip 10.0.0.1 or ip 8.8.8.8 or ip 2001:db8::ff"},
        {"dst ip in [10.0.0.0/16 10.1.0.0/16 192.168.0.0/16]",
         "dst net 10.0.0.0/16 or dst net 10.1.0.0/16 or dst net 192.168.0.0/16"},
        {"src ip in [10.0.0.0/24 10.0.1.0/24 10.0.0.1]",
         "src net 10.0.0.0/24 or src net 10.0.1.0/24"},
        {"src ip in [:: 0.0.0.0 255.255.255.255]", "src :: or src 0.0.0.0 or src 255.255.255.255"},
        {"host in [2001:db8::/32 fe80::/10]", "net 2001:db8::/32 or net fe80::/10"},
        {"dst ip in [::/1]", "dst net ::/1"},
        {"not dst port in [53 80]", "not (dst port 53 or dst port 80)"},
    };
    tf_pair_fx_t x;
    tf_pair_fx_init(&x, 99, 3000);
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        flt_t *fa, *fb;
        flt_error_t err;
        ASSERT_EQ(flt_parse(pairs[k].list, &fa, &err), 0);
        ASSERT_EQ(flt_parse(pairs[k].chain, &fb, &err), 0);
        int na = tf_pair_same(&x, fa, fb, pairs[k].list, pairs[k].chain);
        ASSERT_GT(na, 0);
        ASSERT_LT(na, (int)x.n);
        flt_free(fa);
        flt_free(fb);
    }
    tf_pair_fx_free(&x);
    return 0;
}

/* Address terms over stored groups, whose address columns the filter may read as dictionary
 * codes (one decision per entry, flt_eval_addr_codes) where a hand-made batch has every column
 * loaded: each group's selection against the reference, record by record, with lists made of the
 * group's own addresses (a few of its rows', `::` for the rows without one, a network), before
 * and after other terms have decoded columns. The golden segments have presence bitmaps and
 * absent addresses (small) and LINKED address pairs (linked). */
/* r seen from the other end: addresses and ports swapped, with their presence. */
static void tf_reverse(const flow_rec_t *r, flow_rec_t *out)
{
    *out = *r;
    out->src_addr = r->dst_addr;
    out->dst_addr = r->src_addr;
    out->src_port = r->dst_port;
    out->dst_port = r->src_port;
    static const uint64_t pairs[2][2] = {{FLOW_BIT(src_addr), FLOW_BIT(dst_addr)},
                                         {FLOW_BIT(src_port), FLOW_BIT(dst_port)}};
    for (int k = 0; k < 2; k++) {
        out->present &= ~(pairs[k][0] | pairs[k][1]);
        out->present |= (r->present & pairs[k][0] ? pairs[k][1] : 0) |
                        (r->present & pairs[k][1] ? pairs[k][0] : 0);
    }
}

/* Writes groups of 500 tf_random_flow flows into dir: in the first every flow followed by its
 * reverse, with both ports (so the writer links the address pair: LINKED columns), in the
 * second every 4th flow without a source address (a presence bitmap), in the third both
 * (unlinked, as a group with an address missing is). Returns the segment's path. */
static char *tf_write_groups(const char *dir)
{
    seg_writer_opts_t o = {.dir = dir, .instance = "t", .group_rows = 500, .rotate_s = 3600};
    int err = 0;
    seg_writer_t *w = seg_writer_open(&o, &err);
    if (!w)
        TEST_FAIL_AT("seg_writer_open(%s): %s", dir, seg_err_name(err));
    uint64_t seed = 5;
    for (int g = 0; g < 3; g++)
        for (int i = 0; i < 500; i += g == 1 ? 1 : 2) {
            flow_rec_t r, rev;
            tf_random_flow(&seed, &r);
            if (g == 0) {
                FLOW_SET(&r, src_port, (uint16_t)(r.src_port | 1024));
                FLOW_SET(&r, dst_port, r.dst_port);
            }
            if (g >= 1 && i % 4 == 0) {
                r.present &= ~FLOW_BIT(src_addr);
                memset(&r.src_addr, 0, sizeof r.src_addr);
            }
            ASSERT_EQ(seg_writer_add(w, &r, 1700000000000ull), 0);
            if (g == 1)
                continue;
            tf_reverse(&r, &rev);
            ASSERT_EQ(seg_writer_add(w, &rev, 1700000000000ull), 0);
        }
    ASSERT_EQ(seg_writer_close(w), 0);
    char **paths;
    ASSERT_EQ(seg_dir_list(dir, 0, UINT64_MAX, &paths), 1);
    char *path = strdup(paths[0]);
    ASSERT_NOT_NULL(path);
    seg_dir_list_free(paths, 1);
    return path;
}

TEST_IMPL(filter_eval_segment_lists)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/flt_lists", test_tmpdir());
    char *written = tf_write_groups(dir);
    const char *const paths[] = {"tests/golden/seg_v1_small.seg", "tests/golden/seg_v1_linked.seg",
                                 written};
    /* %s: the group's list */
    static const char *const shapes[] = {
        "dst ip in [%s]",
        "src ip in [%s]",
        "ip in [%s]",
        "not dst ip in [%s]",
        "dst port 53 and src ip in [%s]",
        "src ip in [%s] and dst ip in [%s]",
        "dst net 0.0.0.0/1 or dst ip in [%s]",
        "src ip in [%s] or proto udp",
        "host 10.0.0.1 or not src net 10.0.0.0/8", /* nets are read as codes too */
        "dst net 2001:db8::/32 and src ip in [%s]",
    };
    /* filler: 4080 IPv4 and 256 IPv6 addresses spread over their spaces */
    size_t wide_len = 0;
    char *wide = malloc(4336 * 24);
    ASSERT_NOT_NULL(wide);
    for (unsigned a = 1; a < 256; a++)
        for (unsigned b = 0; b < 256; b += 16)
            wide_len += (size_t)sprintf(wide + wide_len, "%s%u.%u.7.9", wide_len ? " " : "", a, b);
    for (unsigned j = 0; j < 256; j++)
        wide_len += (size_t)sprintf(wide + wide_len, " 2001:db8::%x:7", j * 255);
    uint64_t matched = 0, rows_seen = 0, groups = 0;
    flt_scratch_t s;
    flt_scratch_init(&s);
    seg_batch_t full, b;
    seg_batch_init(&full);
    seg_batch_init(&b);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        seg_file_t *f;
        seg_where_t wh;
        ASSERT_EQ(seg_open(paths[p], &f, &wh), 0);
        for (uint32_t g = 0; g < seg_n_groups(f); g++) {
            ASSERT_EQ(seg_batch_open(&full, f, g, &wh), 0);
            for (int c = 0; c < FLOW_N_COLS; c++)
                ASSERT_EQ(seg_batch_load(&full, c, &wh), 0);
            uint32_t n = full.n_rows;
            flow_rec_t *recs = malloc((n + 1) * sizeof *recs);
            uint32_t *rows = malloc((n + 1) * sizeof *rows);
            ASSERT(recs && rows);
            for (uint32_t i = 0; i < n; i++)
                seg_batch_row(&full, i, &recs[i]);
            /* every 5th row's destination and every 7th row's source, `::`, 0.0.0.0 (the first
             * entry of a dictionary that has it, where a row lacking the column may point), a
             * network */
            size_t cap = 64 + (size_t)n * 2 * 48, len = 0;
            char *list = malloc(cap);
            ASSERT_NOT_NULL(list);
            len += (size_t)sprintf(list + len, ":: 0.0.0.0 10.0.0.0/9");
            for (uint32_t i = 0; i < n; i++) {
                const flow_addr_t *a =
                    i % 5 == 0 && (recs[i].present & FLOW_BIT(dst_addr))   ? &recs[i].dst_addr
                    : i % 7 == 3 && (recs[i].present & FLOW_BIT(src_addr)) ? &recs[i].src_addr
                                                                           : NULL;
                static const flow_addr_t zero;
                if (!a || memcmp(a, &zero, sizeof zero) == 0) /* `::` only where said */
                    continue;
                list[len++] = ' ';
                len += flow_print_addr(list + len, a);
            }
            list[len] = 0;
            /* each shape with the list; without its `::` (rows lacking the column must then
             * not match, whatever their code reads as); with the filler around it (between two
             * of a group's addresses lie many of the list's ranges) */
            for (size_t k = 0; k < 3 * (sizeof shapes / sizeof shapes[0]); k++) {
                char *items = malloc(len + wide_len + 2);
                ASSERT_NOT_NULL(items);
                sprintf(items, "%s%s%s", k % 3 == 2 ? wide : "", k % 3 == 2 ? " " : "",
                        k % 3 == 1 ? list + 3 : list);
                char *text = malloc(strlen(shapes[k / 3]) + 2 * strlen(items) + 1);
                ASSERT_NOT_NULL(text);
                sprintf(text, shapes[k / 3], items, items);
                free(items);
                flt_t *flt;
                flt_error_t err;
                if (flt_parse(text, &flt, &err) != 0)
                    TEST_FAIL_AT("'%.80s...' did not parse: %s", text, err.msg);
                ASSERT_EQ(seg_batch_open(&b, f, g, &wh), 0);
                int got = flt_select(flt, &s, &b, rows, &wh);
                char what[1200];
                snprintf(what, sizeof what, "%s group %u, '%.*s'", paths[p], g,
                         (int)strcspn(shapes[k / 3], "["), shapes[k / 3]);
                tf_expect_rows(flt, recs, n, rows, got, what);
                matched += (uint64_t)got;
                rows_seen += n;
                flt_free(flt);
                free(text);
            }
            groups++;
            free(list);
            free(rows);
            free(recs);
        }
        seg_close(f);
    }
    seg_batch_free(&full);
    seg_batch_free(&b);
    flt_scratch_free(&s);
    free(written);
    free(wide);
    /* the lists split the rows: neither all nor none selected */
    ASSERT_GT(groups, 1);
    ASSERT_GT(matched, rows_seen / 10);
    ASSERT_LT(matched, rows_seen * 9 / 10);
    return 0;
}

/* flt_and(f, g) selects exactly what "(g) and (f)" parsed as one filter selects: g's nodes and
 * lists are copied with their indices moved past f's (both sides with lists, `not`, nesting),
 * and the columns and levels it needs are f's and g's. */
TEST_IMPL(filter_and_joins_trees)
{
    static const char *const fs[] = {
        "dst port in [53 443]",
        "not (src net 10.0.0.0/8 or proto udp)",
        "bytes > 1000 and (flags S or src as in [0 65000])",
        "any",
    };
    static const char *const gs[] = {
        "ip in [10.0.0.1 8.8.8.8 2001:db8::/32]",
        "not dst ip in [10.0.0.0/16] and port in [0 1337]",
        "(packets = 1 or dst port in [22 80]) and not host 192.168.1.1",
    };
    tf_pair_fx_t x;
    tf_pair_fx_init(&x, 17, 3000);
    int split = 0;
    for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
        for (size_t j = 0; j < sizeof gs / sizeof gs[0]; j++) {
            flt_t *f, *g, *both;
            flt_error_t err;
            char text[512];
            snprintf(text, sizeof text, "(%s) and (%s)", gs[j], fs[i]);
            ASSERT_EQ(flt_parse(fs[i], &f, &err), 0);
            ASSERT_EQ(flt_parse(gs[j], &g, &err), 0);
            ASSERT_EQ(flt_parse(text, &both, &err), 0);
            ASSERT_EQ(flt_and(f, g), 0);
            flt_free(g); /* f holds its own copy */
            ASSERT_UINT64_EQ(flt_columns(f), flt_columns(both));
            int na = tf_pair_same(&x, f, both, "flt_and(f, g)", text);
            for (uint32_t r = 0; r < x.n; r++)
                ASSERT_EQ(flt_match_rec(f, &x.recs[r]), flt_match_rec(both, &x.recs[r]));
            split += na > 0 && na < (int)x.n;
            flt_free(f);
            flt_free(both);
        }
    ASSERT_GE(split, 8); /* most pairs select some rows, not all */
    tf_pair_fx_free(&x);
    return 0;
}

/* flt_either_way selects exactly what the filter or-ed with its hand-mirrored text selects,
 * column-wise and record by record, reading the mirrored columns too; a filter that names no
 * direction selects what it did. */
TEST_IMPL(filter_either_way_mirrors)
{
    static const struct {
        const char *f, *mirror;
    } cases[] = {
        {"src net 10.0.0.0/8 and dst port 443", "dst net 10.0.0.0/8 and src port 443"},
        {"dst ip in [10.0.0.1 8.8.8.8 2001:db8::/32] and not src port in [0 1337]",
         "src ip in [10.0.0.1 8.8.8.8 2001:db8::/32] and not dst port in [0 1337]"},
        {"src as 65000 or (flags S and packets = 1)", "dst as 65000 or (flags S and packets = 1)"},
        {"exporter 192.0.2.1 and dst port > 1023", "exporter 192.0.2.1 and src port > 1023"},
        {"host 192.168.1.1 and port 53", "host 192.168.1.1 and port 53"},
        {"proto udp and bytes > 1000", "proto udp and bytes > 1000"},
    };
    tf_pair_fx_t x;
    tf_pair_fx_init(&x, 23, 3000);
    int split = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        flt_t *f, *plain, *both;
        flt_error_t err;
        char text[512];
        snprintf(text, sizeof text, "(%s) or (%s)", cases[i].f, cases[i].mirror);
        ASSERT_EQ(flt_parse(cases[i].f, &f, &err), 0);
        ASSERT_EQ(flt_parse(cases[i].f, &plain, &err), 0);
        ASSERT_EQ(flt_parse(text, &both, &err), 0);
        ASSERT_EQ(flt_either_way(f), 0);
        ASSERT_UINT64_EQ(flt_columns(f), flt_columns(both));
        int na = tf_pair_same(&x, f, both, "flt_either_way(f)", text);
        int np = tf_pair_same(&x, plain, plain, cases[i].f, cases[i].f);
        if (strcmp(cases[i].f, cases[i].mirror) == 0)
            ASSERT_EQ(na, np);
        else
            ASSERT_GT(na, np); /* the other direction's records are selected too */
        for (uint32_t r = 0; r < x.n; r++)
            ASSERT_EQ(flt_match_rec(f, &x.recs[r]), flt_match_rec(both, &x.recs[r]));
        split += na > 0 && na < (int)x.n;
        flt_free(f);
        flt_free(plain);
        flt_free(both);
    }
    ASSERT_GE(split, 5);
    tf_pair_fx_free(&x);
    return 0;
}

/* ---- pruning ------------------------------------------------------------------------------- */

/* Zone maps computed from a group's rows: min and max over present values. */
typedef struct tf_zone {
    int known[FLOW_N_COLS];
    int all_present[FLOW_N_COLS];
    int say_all;   /* answer 2 for columns every row has */
    int say_ports; /* answer port buckets (a group of an older writer has none) */
    uint8_t min[FLOW_N_COLS][16], max[FLOW_N_COLS][16];
    uint8_t ports[2][SEG_PORT_BUCKET_BYTES]; /* src_port, dst_port */
} tf_zone_t;

static int tf_cmp_col(int c, const uint8_t *a, const uint8_t *b)
{
    if (flow_cols[c].type == FLOW_T_ADDR)
        return memcmp(a, b, 16);
    uint64_t x = 0, y = 0;
    memcpy(&x, a, flow_cols[c].width); /* little-endian host */
    memcpy(&y, b, flow_cols[c].width);
    return x < y ? -1 : x > y;
}

static void tf_zone_build(tf_zone_t *z, const flow_rec_t *recs, uint32_t n, int say_all)
{
    memset(z, 0, sizeof *z);
    z->say_all = say_all;
    for (int c = 0; c < FLOW_N_COLS; c++) {
        z->all_present[c] = 1;
        for (uint32_t i = 0; i < n; i++)
            z->all_present[c] &= (int)((recs[i].present >> c) & 1);
    }
    for (uint32_t i = 0; i < n; i++)
        for (int c = 0; c < FLOW_N_COLS; c++) {
            if (!((recs[i].present >> c) & 1))
                continue;
            const uint8_t *v = (const uint8_t *)&recs[i] + flow_cols[c].offset;
            if (!z->known[c] || tf_cmp_col(c, v, z->min[c]) < 0)
                memcpy(z->min[c], v, flow_cols[c].width);
            if (!z->known[c] || tf_cmp_col(c, v, z->max[c]) > 0)
                memcpy(z->max[c], v, flow_cols[c].width);
            z->known[c] = 1;
            if (c == FLOW_COL_src_port || c == FLOW_COL_dst_port) {
                uint16_t port;
                memcpy(&port, v, 2);
                seg_port_bucket_set(z->ports[c == FLOW_COL_dst_port], port);
            }
        }
}

static int tf_zone_fn(void *arg, int col, void *min, void *max)
{
    tf_zone_t *z = arg;
    if (!z->known[col])
        return 0;
    memcpy(min, z->min[col], flow_cols[col].width);
    memcpy(max, z->max[col], flow_cols[col].width);
    return z->say_all && z->all_present[col] ? 2 : 1;
}

static int tf_ports_fn(void *arg, int col, uint8_t bits[SEG_PORT_BUCKET_BYTES])
{
    tf_zone_t *z = arg;
    if (!z->say_ports || !z->known[col])
        return 0;
    memcpy(bits, z->ports[col == FLOW_COL_dst_port], SEG_PORT_BUCKET_BYTES);
    return 1;
}

static int tf_want_f(const flt_t *f, tf_zone_t *z)
{
    flt_zone_src_t src = {tf_zone_fn, tf_ports_fn, z};
    return flt_want_zones(f, &src);
}

static int tf_want(const char *text, tf_zone_t *z)
{
    flt_t *f;
    flt_error_t err;
    ASSERT_EQ(flt_parse(text, &f, &err), 0);
    int w = tf_want_f(f, z);
    flt_free(f);
    return w;
}

TEST_IMPL(filter_zone_pruning)
{
    uint64_t seed = 7;
    enum { GROUPS = 400 };
    flow_rec_t recs[64];
    uint32_t skipped = 0, checked = 0, by_ports = 0;
    for (int g = 0; g < GROUPS; g++) {
        /* small groups, so that many of them lack some value and can be skipped */
        uint32_t n = 1 + (uint32_t)(tf_rng(&seed) % 12);
        for (uint32_t i = 0; i < n; i++)
            tf_random_flow(&seed, &recs[i]);
        tf_zone_t z;
        tf_zone_build(&z, recs, n, g % 2);
        z.say_ports = g % 3 != 0;
        for (size_t k = 0; k < TF_N_FILTERS; k++) {
            flt_t *f;
            flt_error_t err;
            ASSERT_EQ(flt_parse(tf_filters[k], &f, &err), 0);
            if (k % 2)
                flt_set_window(f, 1700000000000ull + tf_rng(&seed) % 7200000ull,
                               1700003600000ull + tf_rng(&seed) % 7200000ull);
            int want = tf_want_f(f, &z);
            if (!want && z.say_ports) {
                z.say_ports = 0;
                by_ports += tf_want_f(f, &z);
                z.say_ports = 1;
            }
            checked++;
            if (!want) {
                skipped++;
                /* soundness: a skipped group holds no match */
                for (uint32_t i = 0; i < n; i++)
                    if (flt_match_rec(f, &recs[i]))
                        TEST_FAIL_AT("'%s' skipped a group whose row %u matches", tf_filters[k], i);
            }
            flt_free(f);
        }
    }
    /* effect: a pruner that never skips passes the loop above; it must skip often, and the
     * port buckets must skip groups the min/max zones keep */
    ASSERT_GE(skipped, checked / 10);
    ASSERT_GE(by_ports, 50);

    /* cases decided by hand */
    tf_zone_t z;
    flow_rec_t r[2];
    flow_addr_t a;
    for (int i = 0; i < 2; i++) {
        flow_rec_clear(&r[i]);
        FLOW_SET(&r[i], dst_port, (uint16_t)53);
        FLOW_SET(&r[i], proto, (uint8_t)17);
        FLOW_SET(&r[i], packets, (uint64_t)(10 + i));
        flow_addr_parse(&a, i ? "10.0.0.200" : "10.0.0.100");
        FLOW_SET(&r[i], src_addr, a);
        FLOW_SET(&r[i], time_start, (uint64_t)1000);
        FLOW_SET(&r[i], time_end, (uint64_t)(2000 + 1000 * i));
    }
    tf_zone_build(&z, r, 2, 0);
    /* a row without a start lasts 0 ms, row by row as the zone maps take it: row by row it
     * lasted time_end (54 years), and groups the zone maps skipped dropped such rows that a
     * group holding them whole kept */
    {
        flow_rec_t nostart = r[1];
        nostart.present &= ~(1ull << FLOW_COL_time_start);
        nostart.time_start = 0;
        FLOW_SET(&nostart, time_end, (uint64_t)50000);
        static const struct {
            const char *text;
            int match;
        } d[] = {{"duration > 20000", 0}, {"duration = 0", 1}, {"duration < 1", 1}};
        tf_zone_t zn;
        tf_zone_build(&zn, &nostart, 1, 0);
        for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
            flt_t *f;
            flt_error_t err;
            ASSERT_EQ(flt_parse(d[i].text, &f, &err), 0);
            ASSERT_EQ(flt_match_rec(f, &nostart), d[i].match);
            if (d[i].match) /* a group holding a match is never skipped */
                ASSERT_EQ(tf_want_f(f, &zn), 1);
            flt_free(f);
        }
    }
    /* the window (--from, --to) meets a row's [min, max] of the times it has, as FORMAT.md
     * and count take it: an end before the start (a clock run backwards) or a start alone
     * still lies in a window inside it; row by row, column-wise and by the zone maps */
    {
        flow_rec_t w[3];
        for (int i = 0; i < 3; i++) {
            flow_rec_clear(&w[i]);
            FLOW_SET(&w[i], packets, (uint64_t)1);
        }
        FLOW_SET(&w[0], time_start, (uint64_t)5000); /* [1000, 5000], backwards */
        FLOW_SET(&w[0], time_end, (uint64_t)1000);
        FLOW_SET(&w[1], time_start, (uint64_t)3000); /* [3000, 3000], no end */
        FLOW_SET(&w[2], time_end, (uint64_t)9000);   /* [9000, 9000], no start */
        static const struct {
            uint64_t from, to;
            int match[3];
        } win[] = {{2000, 2500, {1, 0, 0}}, {2500, 3500, {1, 1, 0}}, {4999, 5000, {1, 0, 0}},
                   {5001, 9000, {0, 0, 0}}, {8000, 9001, {0, 0, 1}}, {0, 1000, {0, 0, 0}}};
        flt_scratch_t sc;
        seg_where_t wh;
        flt_scratch_init(&sc);
        for (size_t i = 0; i < sizeof win / sizeof win[0]; i++) {
            flt_t *f;
            flt_error_t err;
            ASSERT_EQ(flt_parse("", &f, &err), 0);
            flt_set_window(f, win[i].from, win[i].to);
            tf_batch_t tb;
            uint32_t rows[3];
            for (int k = 0; k < 3; k++) {
                if (flt_match_rec(f, &w[k]) != win[i].match[k])
                    TEST_FAIL_AT("window [%llu, %llu): row %d: %d", (unsigned long long)win[i].from,
                                 (unsigned long long)win[i].to, k, !win[i].match[k]);
                tf_zone_t zw;
                tf_zone_build(&zw, &w[k], 1, 0);
                if (win[i].match[k])
                    ASSERT_EQ(tf_want_f(f, &zw), 1);
                tf_batch_build(&tb, &w[k], 1);
                int got = flt_select(f, &sc, &tb.b, rows, &wh);
                tf_batch_free(&tb);
                ASSERT_EQ(got, win[i].match[k]);
            }
            tf_batch_build(&tb, w, 3);
            tf_expect_rows(f, w, 3, rows, flt_select(f, &sc, &tb.b, rows, &wh), "window");
            tf_batch_free(&tb);
            flt_free(f);
        }
        flt_scratch_free(&sc);
    }
    /* zone maps over present values only: `not` cannot prune, since a row may lack the
     * column (and so be 0, not 53) */
    ASSERT_EQ(tf_want("not dst port 53", &z), 1);
    ASSERT_EQ(tf_want("dst port 1337", &z), 0);
    ASSERT_EQ(tf_want("packets < 5", &z), 1);
    tf_zone_build(&z, r, 2, 1);
    ASSERT_EQ(tf_want("dst port 1337", &z), 0);
    ASSERT_EQ(tf_want("dst port 53", &z), 1);
    ASSERT_EQ(tf_want("not dst port 53", &z), 0); /* every row is 53 */
    ASSERT_EQ(tf_want("not proto udp", &z), 0);
    ASSERT_EQ(tf_want("proto tcp", &z), 0);
    ASSERT_EQ(tf_want("proto tcp or dst port 53", &z), 1);
    ASSERT_EQ(tf_want("proto udp and dst port 80", &z), 0);
    ASSERT_EQ(tf_want("packets > 11", &z), 0);
    ASSERT_EQ(tf_want("packets > 10", &z), 1);
    ASSERT_EQ(tf_want("packets < 5", &z), 0);
    ASSERT_EQ(tf_want("src net 10.0.0.0/24", &z), 1);
    ASSERT_EQ(tf_want("not src net 10.0.0.0/24", &z), 0);
    ASSERT_EQ(tf_want("src net 10.0.1.0/24", &z), 0);
    ASSERT_EQ(tf_want("src 10.0.0.150", &z), 1); /* inside the range: cannot tell */
    ASSERT_EQ(tf_want("src 10.0.0.250", &z), 0);
    ASSERT_EQ(tf_want("duration > 2000", &z), 0);
    ASSERT_EQ(tf_want("duration >= 2000", &z), 1);
    /* absent fields compare as 0: a group without AS numbers may match `as 0`, and one
     * without a flags column may match `not flags S` */
    ASSERT_EQ(tf_want("as 0", &z), 1);
    ASSERT_EQ(tf_want("not flags S", &z), 1);
    ASSERT_EQ(tf_want("src port 0", &z), 1);
    /* a column whose zone map is unknown never prunes */
    z.known[FLOW_COL_dst_port] = 0;
    ASSERT_EQ(tf_want("dst port 1337", &z), 1);
    ASSERT_EQ(tf_want("dst port 1337 and proto tcp", &z), 0);

    /* port buckets: 128 ports each; a rare port between a group's service port and its
     * ephemeral ones is skipped by them alone */
    FLOW_SET(&r[0], dst_port, (uint16_t)22);
    FLOW_SET(&r[1], dst_port, (uint16_t)60999);
    tf_zone_build(&z, r, 2, 1);
    ASSERT_EQ(tf_want("dst port 1337", &z), 1); /* no buckets: min/max cannot tell */
    z.say_ports = 1;
    ASSERT_EQ(tf_want("dst port 1337", &z), 0);
    ASSERT_EQ(tf_want("not dst port 1337", &z), 1);
    ASSERT_EQ(tf_want("dst port 22", &z), 1);
    ASSERT_EQ(tf_want("dst port 127", &z), 1);    /* 22's bucket: 0 .. 127 */
    ASSERT_EQ(tf_want("dst port 128", &z), 0);    /* the next one */
    ASSERT_EQ(tf_want("dst port 60928", &z), 1);  /* 60999's bucket starts at 60928 */
    ASSERT_EQ(tf_want("dst port 60927", &z), 0);
    ASSERT_EQ(tf_want("dst port > 127", &z), 1);  /* 60999 */
    ASSERT_EQ(tf_want("dst port > 61055", &z), 0); /* past 60999's bucket */
    ASSERT_EQ(tf_want("dst port < 60928", &z), 1); /* 22 */
    ASSERT_EQ(tf_want("dst port > 200 and dst port < 60000", &z), 1); /* each alone: maybe */
    ASSERT_EQ(tf_want("src port 1337", &z), 1); /* no src_port: absent compares as 0 */
    ASSERT_EQ(tf_want("src port 0", &z), 1);
    /* lists: by the zones and the buckets alike */
    ASSERT_EQ(tf_want("dst port in [1337 31337]", &z), 0);
    ASSERT_EQ(tf_want("dst port in [1337 60990]", &z), 1);
    ASSERT_EQ(tf_want("dst port in [1 21]", &z), 0);        /* under the zone */
    ASSERT_EQ(tf_want("dst port in [1 100]", &z), 1);       /* 22's bucket */
    ASSERT_EQ(tf_want("dst port in [61056 65535]", &z), 0); /* above the zone */
    ASSERT_EQ(tf_want("src port in [1337 31337]", &z), 1);  /* no zone: as src port 1337 */
    ASSERT_EQ(tf_want("src ip in [10.0.0.0/24]", &z), 1);
    ASSERT_EQ(tf_want("not src ip in [10.0.0.0/25 10.0.0.128/25]", &z), 0); /* one range */
    ASSERT_EQ(tf_want("not src ip in [10.0.0.100 10.0.0.200]", &z), 1);
    ASSERT_EQ(tf_want("src ip in [10.0.0.150 10.0.1.0/24]", &z), 1); /* within: cannot tell */
    ASSERT_EQ(tf_want("src ip in [10.0.0.201 10.0.1.0/24 9.0.0.0/8]", &z), 0);
    ASSERT_EQ(tf_want("src ip in [2001:db8::/32]", &z), 0);
    return 0;
}

/* ---- time arguments ------------------------------------------------------------------------ */

static void tf_time(const char *s, uint64_t now, uint64_t want)
{
    uint64_t got = 0;
    if (timearg_parse(s, now, &got) != 0)
        TEST_FAIL_AT("'%s' did not parse", s);
    if (got != want)
        TEST_FAIL_AT("'%s' -> %llu, expected %llu", s, (unsigned long long)got,
                     (unsigned long long)want);
}

static void tf_time_bad(const char *s)
{
    uint64_t got;
    if (timearg_parse(s, 1700000000000ull, &got) == 0)
        TEST_FAIL_AT("'%s' parsed as %llu but is invalid", s, (unsigned long long)got);
}

TEST_IMPL(timearg_parse_forms)
{
    const uint64_t now = 1700000000123ull; /* 2023-11-14 22:13:20.123 UTC */
    tf_time("1970-01-01", now, 0);
    tf_time("2024-03-01", now, 1709251200000ull);
    tf_time("2024-02-29T12:00", now, 1709208000000ull);
    tf_time("2024-02-29T12:00:30", now, 1709208030000ull);
    tf_time("2024-02-29 12:00:30", now, 1709208030000ull);
    tf_time("2024-02-29T12:00:30Z", now, 1709208030000ull);
    tf_time("2024-02-29T12:00:30.5Z", now, 1709208030500ull);
    tf_time("2024-02-29T12:00:30.123456789", now, 1709208030123ull);
    tf_time("2024-02-29T12:00:30,250", now, 1709208030250ull);
    tf_time("2024-02-29T14:00:30+02:00", now, 1709208030000ull);
    tf_time("2024-02-29T07:00:30-0500", now, 1709208030000ull);
    tf_time("2024-02-29T13:00:30+01", now, 1709208030000ull);
    tf_time("2024-02-29T17:30:30+05:30", now, 1709208030000ull);
    tf_time("2024-02-29T17:30:30+0530", now, 1709208030000ull);
    tf_time("2024-02-29T06:30:30-05:30", now, 1709208030000ull);
    tf_time("2024-02-29T12:00:30-00:00", now, 1709208030000ull);
    tf_time("2000-02-29", now, 951782400000ull);
    tf_time("2016-12-31T23:59:60Z", now, 1483228800000ull); /* leap second: next minute */
    /* RFC 3339 5.6 (NOTE) allows 't' and 'z' in lowercase; both were refused */
    tf_time("2024-02-29t12:00:30z", now, 1709208030000ull);
    tf_time("2024-02-29t12:00:30.5+00:00", now, 1709208030500ull);
    tf_time("2024-02-29T12:00:30z", now, 1709208030000ull);
    /* ISO 8601's 24:00 is the end of the day, 00:00 of the next (--to 2024-03-01T24:00) */
    tf_time("2024-03-01T24:00", now, 1709337600000ull);
    tf_time("2024-03-01T24:00:00Z", now, 1709337600000ull);
    tf_time("2024-02-29T24:00:00.000", now, 1709251200000ull);
    tf_time("2024-12-31T24:00+01:00", now, 1735686000000ull);
    /* a local date before 1970 is fine when the instant, its offset applied, is not */
    tf_time("1969-12-31T23:00:00-02:00", now, 3600000ull);
    tf_time("1969-12-31T22:00-0200", now, 0);
    tf_time("1969-12-31T24:00Z", now, 0);
    tf_time("now", now, now);
    tf_time("-30m", now, now - 1800000ull);
    tf_time("-24h", now, now - 86400000ull);
    tf_time("-7d", now, now - 604800000ull);
    tf_time("-90s", now, now - 90000ull);
    tf_time("-2w", now, now - 1209600000ull);
    tf_time("@1700000000", now, 1700000000000ull);
    /* a window's bound: a fraction finer than the ms rounds up, since flow times are whole
     * ms (cut down, --to .9995 left out a flow at .999 and --from .9995 took it in) */
    static const struct {
        const char *s;
        uint64_t want;
    } bound[] = {{"2024-02-29T12:00:30.123456789", 1709208030124ull},
                 {"2024-02-29T12:00:30.1230000", 1709208030123ull},
                 {"2024-02-29T12:00:30.9999Z", 1709208031000ull},
                 {"2024-02-29T12:00:30.5", 1709208030500ull},
                 {"2024-02-29T12:00:30", 1709208030000ull},
                 {"-30m", now - 1800000ull}};
    for (size_t i = 0; i < sizeof bound / sizeof bound[0]; i++) {
        uint64_t b = 0;
        ASSERT_EQ(timearg_parse_bound(bound[i].s, now, &b), 0);
        if (b != bound[i].want)
            TEST_FAIL_AT("bound '%s' -> %llu, expected %llu", bound[i].s, (unsigned long long)b,
                         (unsigned long long)bound[i].want);
    }
    uint64_t b;
    ASSERT_EQ(timearg_parse_bound("2024-01-01T24:00:00.0000001", now, &b), -1);
    tf_time_bad("");
    tf_time_bad("2024");
    tf_time_bad("2024-3-1");
    tf_time_bad("2023-02-29"); /* not a leap year */
    tf_time_bad("1900-02-29");
    tf_time_bad("2024-13-01");
    tf_time_bad("2024-04-31");
    tf_time_bad("2024-01-01T24:00:01"); /* 24 only with nothing after it */
    tf_time_bad("2024-01-01T24:01");
    tf_time_bad("2024-01-01T24:00:00.5");
    tf_time_bad("2024-01-01T24:00:00.0001");
    tf_time_bad("2024-01-01T24:00:60");
    tf_time_bad("2024-01-01T25:00");
    tf_time_bad("9999-12-31T24:00"); /* past the last ms */
    tf_time_bad("2024-01-01T12:60");
    tf_time_bad("2024-01-01T12");
    tf_time_bad("2024-01-01T12:00:00.");
    tf_time_bad("2024-01-01T12:00:00Zjunk");
    tf_time_bad("2024-01-01x12:00:00Z");
    tf_time_bad("2024-01-01t12:00:00zz");
    tf_time_bad("2024-01-01T12:00:00+25:00");
    tf_time_bad("2024-01-01T12:00:00+24:00");
    tf_time_bad("2024-01-01T12:00:00+05:60");
    tf_time_bad("2024-01-01T12:00:00+05:"); /* a colon promises minutes */
    tf_time_bad("2024-01-01T12:00:00-05:");
    tf_time_bad("2024-01-01T12:00:00+5");
    tf_time_bad("2024-01-01T12:00:00+05:3");
    tf_time_bad("2024-01-01T12:00:00+053");
    tf_time_bad("2024-01-01T12:00:00+0530x");
    tf_time_bad("2024-01-01T12:00:00+05:30:00");
    tf_time_bad("2024-01-01T12:00:00+");
    tf_time_bad("1969-12-31");
    tf_time_bad("1969-12-31T23:59:59.999Z");
    tf_time_bad("1969-12-31T23:00:00-00:30");
    tf_time_bad("1970-01-01T01:00+02:00");
    tf_time_bad("0000-01-01");
    tf_time_bad("-24");
    tf_time_bad("-24x");
    tf_time_bad("-h");
    tf_time_bad("-99999999999w");
    tf_time_bad("@");
    tf_time_bad("@12a");
    tf_time_bad("yesterday");

    uint64_t d;
    ASSERT_EQ(timearg_duration("30d", &d), 0);
    ASSERT_UINT64_EQ(d, 30ull * 86400000ull);
    ASSERT_EQ(timearg_duration("12h", &d), 0);
    ASSERT_UINT64_EQ(d, 12ull * 3600000ull);
    ASSERT_EQ(timearg_duration("0s", &d), 0);
    ASSERT_UINT64_EQ(d, 0);
    ASSERT_EQ(timearg_duration("30", &d), -1);
    ASSERT_EQ(timearg_duration("d", &d), -1);
    ASSERT_EQ(timearg_duration("3dd", &d), -1);

    char buf[TIMEARG_STRLEN];
    ASSERT_EQ(timearg_format(1709208030123ull, buf), 23);
    ASSERT_STR_EQ(buf, "2024-02-29 12:00:30.123");
    timearg_format(0, buf);
    ASSERT_STR_EQ(buf, "1970-01-01 00:00:00.000");
    /* the ISO form is gmtime's to the millisecond, leap days and year ends too */
    char iso[TIMEARG_ISOLEN], want[32];
    for (uint64_t ms = 0; ms < 4102444800000ull; ms += 7777777777ull + 1) {
        ASSERT_EQ(timearg_format_iso(ms, iso), 24);
        test_iso(ms, want);
        ASSERT_STR_EQ(iso, want);
    }
    /* a garbage clock past the year 9999 prints its own date, up to 2^64 ms (a clamped year
     * printed 9999 with another date's month and day) */
    static const uint64_t far[] = {253402300800000ull, 253402300799999ull + 86400000ull * 400,
                                   4000000000000000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        test_iso(far[i], want);
        ASSERT_EQ(timearg_format_iso(far[i], iso), (int)strlen(want));
        ASSERT_STR_EQ(iso, want);
    }
    ASSERT_EQ(timearg_format(UINT64_MAX, buf), (int)strlen(want) - 1);
    ASSERT_EQ(timearg_format_iso(1709208030123ull, iso), 24);
    ASSERT_STR_EQ(iso, "2024-02-29T12:00:30.123Z");
    /* days <-> dates over four centuries, both ways */
    for (int64_t day = -1000; day < 146097 + 1000; day += 7) {
        int64_t y;
        unsigned m, dd;
        timearg_civil_from_days(day, &y, &m, &dd);
        ASSERT_EQ(timearg_days_from_civil(y, m, dd), day);
    }
    return 0;
}
