/* test_flow.c: the flow record, its column directory, addresses and printers. */
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "flow_print.h"
#include "task.h"

TEST_IMPL(flow_schema_names)
{
    /* The stable interface: these columns lead, in this order, by these names. */
    static const char *const lead[] = {"time_start", "time_end", "src_addr", "dst_addr",
                                       "src_port",   "dst_port", "proto",    "tcp_flags",
                                       "packets",    "bytes",    "exporter", "sampling"};
    for (size_t i = 0; i < sizeof lead / sizeof lead[0]; i++)
        ASSERT_STR_EQ(flow_cols[i].name, lead[i]);
    for (int i = 0; i < FLOW_N_COLS; i++) {
        ASSERT_EQ(flow_col_find(flow_cols[i].name), i);
        ASSERT(strlen(flow_cols[i].desc) > 5);
        for (int j = 0; j < i; j++)
            ASSERT(strcmp(flow_cols[i].name, flow_cols[j].name) != 0);
    }
    ASSERT_EQ(flow_col_find("no_such_column"), -1);
    ASSERT_EQ(flow_cols[FLOW_COL_bytes].offset, offsetof(flow_rec_t, bytes));
    ASSERT_EQ(flow_cols[FLOW_COL_bytes].width, 8);
    ASSERT_EQ(flow_cols[FLOW_COL_src_addr].width, 16);
    return 0;
}

/* Every column has a row in docs/FLOW_RECORD.md, so the document cannot fall behind. */
TEST_IMPL(flow_schema_documented)
{
    size_t len = 0;
    char *doc = (char *)test_read_file("docs/FLOW_RECORD.md", &len);
    ASSERT_NOT_NULL(doc);
    char *z = realloc(doc, len + 1);
    ASSERT_NOT_NULL(z);
    doc = z;
    doc[len] = '\0';
    for (int i = 0; i < FLOW_N_COLS; i++) {
        char row[64];
        snprintf(row, sizeof row, "| `%s` |", flow_cols[i].name);
        if (!strstr(doc, row))
            TEST_FAIL_AT("docs/FLOW_RECORD.md has no row for column %s", flow_cols[i].name);
    }
    free(doc);
    return 0;
}

static void check_fmt(const char *in, const char *want)
{
    flow_addr_t a;
    char out[FLOW_ADDR_STRLEN];
    ASSERT_EQ(flow_addr_parse(&a, in), 0);
    ASSERT_EQ(flow_addr_format(&a, out), strlen(want));
    ASSERT_STR_EQ(out, want);
}

TEST_IMPL(flow_addr_format_rfc5952)
{
    check_fmt("192.0.2.1", "192.0.2.1");
    check_fmt("0.0.0.0", "0.0.0.0");
    check_fmt("255.255.255.255", "255.255.255.255");
    check_fmt("::", "::");
    check_fmt("::1", "::1");
    check_fmt("1::", "1::");
    check_fmt("2001:DB8:0:0:0:0:0:1", "2001:db8::1"); /* 4.3 lower case, 4.2.1 longest run */
    check_fmt("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* 4.2.2 one zero field stays */
    check_fmt("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");          /* 4.2.3 the longer run */
    check_fmt("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");    /* 4.2.3 first of equal runs */
    check_fmt("2001:0db8:00aa::0001", "2001:db8:aa::1");       /* 4.1 no leading zeros */
    check_fmt("fe80::1:2:3:4:5", "fe80::1:2:3:4:5");
    check_fmt("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
    /* IPv4 lives IPv4-mapped and prints as IPv4. */
    flow_addr_t a;
    flow_addr_from_v4(&a, 0xc0000201u);
    ASSERT(flow_addr_is_v4(&a));
    ASSERT_UINT64_EQ(flow_addr_v4(&a), 0xc0000201u);
    ASSERT_EQ(flow_addr_parse(&a, "2001:db8::1"), 0);
    ASSERT(!flow_addr_is_v4(&a));
    ASSERT_EQ(flow_addr_parse(&a, "not-an-address"), -1);
    ASSERT_EQ(flow_addr_parse(&a, "1.2.3"), -1);
    return 0;
}

TEST_IMPL(flow_addr_parse_roundtrip)
{
    /* Every format of a pseudo-random address parses back to the same bytes. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; i++) {
        flow_addr_t a, b;
        char s[FLOW_ADDR_STRLEN];
        for (int k = 0; k < 16; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* mostly zero bytes, so that runs of zero fields are common */
            a.b[k] = (x & 3) ? 0 : (uint8_t)(x >> 8);
        }
        flow_addr_format(&a, s);
        ASSERT_EQ(flow_addr_parse(&b, s), 0);
        ASSERT_MEM_EQ(a.b, b.b, 16);
    }
    return 0;
}

static void sample_flow(flow_rec_t *f)
{
    flow_addr_t a;
    flow_rec_clear(f);
    FLOW_SET(f, time_start, 1764000000123ull);
    FLOW_SET(f, time_end, 1764000001456ull);
    flow_addr_parse(&a, "10.1.2.3");
    FLOW_SET(f, src_addr, a);
    flow_addr_parse(&a, "2001:db8::53");
    FLOW_SET(f, dst_addr, a);
    FLOW_SET(f, src_port, 40000);
    FLOW_SET(f, dst_port, 0); /* present and zero is not absent */
    FLOW_SET(f, proto, 17);
    FLOW_SET(f, packets, 18446744073709551615ull);
    FLOW_SET(f, bytes, 1);
    FLOW_SET(f, sampling, 1);
}

TEST_IMPL(flow_print_csv_absent)
{
    char line[FLOW_PRINT_LINE_MAX], hdr[FLOW_PRINT_LINE_MAX];
    flow_rec_t f;
    sample_flow(&f);
    flow_format_csv_header(hdr);
    const char *lead = "time_start,time_end,src_addr,dst_addr,src_port,dst_port,proto,"
                       "tcp_flags,packets,bytes,exporter,sampling,";
    hdr[strlen(lead)] = '\0';
    ASSERT_STR_EQ(hdr, lead);
    flow_format_csv(line, &f);
    /* tcp_flags and exporter absent: empty cells; dst_port present as 0. */
    const char *want = "1764000000123,1764000001456,10.1.2.3,2001:db8::53,40000,0,17,,"
                       "18446744073709551615,1,,1,";
    line[strlen(want)] = '\0';
    ASSERT_STR_EQ(line, want);
    flow_format_csv(line, &f);
    /* one cell per column */
    int commas = 0;
    for (char *p = line; *p; p++)
        commas += *p == ',';
    ASSERT_EQ(commas, FLOW_N_COLS - 1);
    /* the empty record is all empty cells */
    flow_rec_clear(&f);
    ASSERT_EQ(flow_format_csv(line, &f), FLOW_N_COLS - 1);
    return 0;
}

TEST_IMPL(flow_print_json_absent)
{
    char line[FLOW_PRINT_LINE_MAX];
    flow_rec_t f;
    sample_flow(&f);
    flow_format_json(line, &f);
    ASSERT_NOT_NULL(strstr(line, "{\"time_start\":1764000000123,\"time_end\":1764000001456,"
                                 "\"src_addr\":\"10.1.2.3\",\"dst_addr\":\"2001:db8::53\","
                                 "\"src_port\":40000,\"dst_port\":0,\"proto\":17,"
                                 "\"tcp_flags\":null,\"packets\":18446744073709551615,"
                                 "\"bytes\":1,\"exporter\":null,\"sampling\":1,"));
    ASSERT_NOT_NULL(strstr(line, "\"nat_dst_port\":null,\"rev_tcp_flags\":null}"));
    ASSERT_EQ(line[strlen(line) - 1], '}');
    /* the longest possible record fits the line buffer */
    memset(&f, 0xff, sizeof f);
    ASSERT_LT(flow_format_json(line, &f), FLOW_PRINT_LINE_MAX);
    ASSERT_LT(flow_format_csv(line, &f), FLOW_PRINT_LINE_MAX);
    return 0;
}
