/* test_intel.c: threat-intel feeds and the intel hunt.
 *
 * Each test writes its feeds into its own temporary directory, loads them with ti_load (the
 * warnings captured), and asks ti_match about addresses whose answer is known: listed ones,
 * ones inside listed networks (IPv4 and IPv6), neighbours that are not, the longest prefix over
 * a shorter one, an expired indicator falling back to the network around it, an ip|port
 * indicator only on its port. Broken lines must be named with their numbers while the good
 * ones load; feeds nobody can use must fail with a reason. The hunt is tested on hand-made
 * conversations (direction and answer set the risk) and end to end: flowgen traffic stored by
 * flowhuntd and hunted by `flowhunt hunt --intel`.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hunt.h"
#include "intel.h"
#include "task.h"
#include "timearg.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* Writes `len` bytes of content to TMP/name; the path (static buffer). */
static const char *it_write(const char *name, const char *content, size_t len)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(content, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
    return path;
}

/* Loads content as feed `name`; its warnings into *warn (malloc'd) when warn is not NULL. */
static long it_load(ti_db_t *db, const char *name, const char *content, char **warn)
{
    const char *path = it_write(name, content, strlen(content));
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    ASSERT_NOT_NULL(w);
    char err[512] = "";
    long n = ti_load(db, path, w, err, sizeof err);
    ASSERT_EQ(fclose(w), 0);
    printf("%s%s%s", buf, n < 0 ? err : "", n < 0 ? "\n" : "");
    if (warn)
        *warn = buf;
    else
        free(buf);
    return n;
}

#define IT_MAR1 "2024-03-01T12:00:00Z"

static const ti_ioc_t *it_match(const ti_db_t *db, const char *addr, int port, const char *when)
{
    flow_addr_t a;
    uint64_t t;
    ASSERT_EQ(flow_addr_parse(&a, addr), 0);
    ASSERT_EQ(timearg_parse(when, 0, &t), 0);
    return ti_match(db, &a, port, t, t, 0);
}

/* The indicator matched for addr is `text` (NULL: none matches). */
#define IT_EXPECT(db, addr, port, when, expect)                                                    \
    do {                                                                                           \
        const ti_ioc_t *m_ = it_match(db, addr, port, when);                                       \
        const char *want_ = (expect);                                                              \
        if (!want_ && m_)                                                                          \
            TEST_FAIL_AT("%s port %d at %s matched %s (%s), expected no match", addr, port, when,  \
                         m_->text, m_->feed);                                                      \
        if (want_ && !m_)                                                                          \
            TEST_FAIL_AT("%s port %d at %s matched nothing, expected %s", addr, port, when,        \
                         want_);                                                                   \
        if (want_)                                                                                 \
            ASSERT_STR_EQ(m_->text, want_);                                                        \
    } while (0)

static const ti_feed_t *it_last_feed(const ti_db_t *db)
{
    ASSERT_GT(ti_n_feeds(db), 0);
    return ti_feed(db, ti_n_feeds(db) - 1);
}

static void it_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        TEST_FAIL_AT("expected \"%s\" in:\n%s", needle, hay);
}

/* ---- the five formats ---------------------------------------------------------------------- */

static const char it_plain[] = "# RITA style\n"
                               "// comment\n"
                               "<!-- html comment -->\n"
                               "; Spamhaus DROP List 2024/03/01\n"
                               "198.51.100.7\n"
                               "203.0.113.0/24 ; SBL123\n"
                               "2001:db8:bad::/48 # v6 net\n"
                               "evil.example.com\n"
                               "not_an_ip!!\n"
                               "10.0.0.0/2\n";

TEST_IMPL(intel_plain_list)
{
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(it_load(db, "drop.txt", it_plain, &warn), 3);
    const ti_feed_t *f = it_last_feed(db);
    ASSERT_STR_EQ(f->format, "plain");
    ASSERT_STR_EQ(f->name, "drop.txt");
    ASSERT_EQ(f->malformed, 2);
    ASSERT_EQ(f->unsupported, 1); /* the domain: counted, not an error */
    it_has(warn, "drop.txt:9: not an IP address or network: 'not_an_ip!!'");
    it_has(warn, "drop.txt:10: network broader than /8");
    IT_EXPECT(db, "198.51.100.7", 443, IT_MAR1, "198.51.100.7");
    IT_EXPECT(db, "198.51.100.8", 443, IT_MAR1, NULL);
    IT_EXPECT(db, "203.0.113.77", -1, IT_MAR1, "203.0.113.0/24");
    IT_EXPECT(db, "203.0.114.1", -1, IT_MAR1, NULL);
    IT_EXPECT(db, "2001:db8:bad:1::5", 80, IT_MAR1, "2001:db8:bad::/48");
    IT_EXPECT(db, "2001:db8:bae::1", 80, IT_MAR1, NULL);
    const ti_ioc_t *m = it_match(db, "203.0.113.1", 80, IT_MAR1);
    ASSERT_STR_EQ(m->desc, "SBL123");
    ASSERT_STR_EQ(m->feed, "drop.txt");
    ASSERT_EQ(m->confidence, -1);
    ASSERT_STR_EQ(it_match(db, "2001:db8:bad::1", 1, IT_MAR1)->desc, "v6 net");
    free(warn);
    ti_free(db);
    return 0;
}

/* A line repeated (the same network and port; a comment may differ) is one indicator: the
 * summary counts it loaded once and the repeat as a duplicate. A different port is another. */
TEST_IMPL(intel_plain_duplicates)
{
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(it_load(db, "dup.txt",
                      "198.51.100.7\n198.51.100.7\n203.0.113.0/24\n203.0.113.0/24 # again\n"
                      "198.51.100.7:443\n",
                      &warn),
              3);
    it_has(warn, "dup.txt: 3 indicators loaded (plain); 2 duplicates skipped\n");
    ASSERT_EQ(it_last_feed(db)->duplicate, 2);
    ASSERT_EQ(ti_count(db), 3);
    ASSERT_STR_EQ(it_match(db, "203.0.113.1", 80, IT_MAR1)->desc, "");
    free(warn);
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_csv_columns)
{
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(it_load(db, "iocs.csv",
                      "Indicator,Type,Confidence,Description,Valid_From,Valid_Until,Port\n"
                      "192.0.2.10,ip,80,c2,2024-01-01,2024-02-01,\n"
                      "192.0.2.11|8443,ip-dst|port,high,\"quoted, \"\"desc\"\"\",,,\n"
                      "192.0.2.12,ip,,,,,443\n"
                      "evil.com,domain,50,x,,,\n"
                      "\"2001:db8:c2::/64\",cidr,30,v6,,2024-12-31T23:59:59Z,\n",
                      &warn),
              4);
    const ti_feed_t *f = it_last_feed(db);
    ASSERT_STR_EQ(f->format, "csv");
    ASSERT_EQ(f->malformed, 0);
    ASSERT_EQ(f->unsupported, 1);
    /* valid_from/valid_until */
    IT_EXPECT(db, "192.0.2.10", 443, "2024-01-15", "192.0.2.10");
    IT_EXPECT(db, "192.0.2.10", 443, IT_MAR1, NULL);
    IT_EXPECT(db, "192.0.2.10", 443, "2023-12-31", NULL);
    ASSERT_EQ(it_match(db, "192.0.2.10", 1, "2024-01-15")->confidence, 80);
    /* a port in the indicator or in the port column: only that port */
    IT_EXPECT(db, "192.0.2.11", 8443, IT_MAR1, "192.0.2.11|8443");
    IT_EXPECT(db, "192.0.2.11", 443, IT_MAR1, NULL);
    IT_EXPECT(db, "192.0.2.11", -1, IT_MAR1, NULL);
    const ti_ioc_t *m = it_match(db, "192.0.2.11", 8443, IT_MAR1);
    ASSERT_EQ(m->confidence, 85);
    ASSERT_STR_EQ(m->desc, "quoted, \"desc\"");
    ASSERT_STR_EQ(m->type, "ip-dst|port");
    IT_EXPECT(db, "192.0.2.12", 443, IT_MAR1, "192.0.2.12");
    IT_EXPECT(db, "192.0.2.12", 80, IT_MAR1, NULL);
    IT_EXPECT(db, "2001:db8:c2::99", 80, IT_MAR1, "2001:db8:c2::/64");
    IT_EXPECT(db, "2001:db8:c2::99", 80, "2025-01-01", NULL);
    free(warn);

    /* abuse.ch writes its header as the last comment; dst_port is information, not a filter */
    ASSERT_EQ(
        it_load(db, "feodo.csv",
                "#####\n# abuse.ch Feodo Tracker\n#\n"
                "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\","
                "\"malware\"\n"
                "\"2024-01-01 00:00:00\",\"198.51.100.55\",\"443\",\"online\",\"2024-03-01\","
                "\"Dridex\"\n"
                "\"2024-01-01 00:00:00\",\"198.51.100.56\",\"447\",\"offline\",\"2024-03-01\","
                "\"Emotet\"\n",
                NULL),
        2);
    ASSERT_STR_EQ(it_last_feed(db)->format, "csv");
    m = it_match(db, "198.51.100.56", 8080, IT_MAR1);
    ASSERT_NOT_NULL(m);
    ASSERT_STR_EQ(m->desc, "Emotet");
    ASSERT_STR_EQ(m->feed, "feodo.csv");
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_zeek_file)
{
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(it_load(db, "intel.dat",
                      "#separator \\x09\n"
                      "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n"
                      "198.51.100.99\tIntel::ADDR\tsrc1\tbad host\n"
                      "198.51.100.128/25\tIntel::SUBNET\tsrc1\t-\n"
                      "evil.com\tIntel::DOMAIN\tsrc1\t-\n"
                      "2001:db8:77::7\tIntel::ADDR\tsrc2\t(empty)\n"
                      "short\tline\n"
                      "d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tsrc1\t-\n"
                      "192.0.2.77\tIntel::ADDR\tsrc3\t\n", /* an empty last field */
                      &warn),
              4);
    const ti_feed_t *f = it_last_feed(db);
    ASSERT_STR_EQ(f->format, "zeek");
    ASSERT_EQ(f->unsupported, 2);
    ASSERT_EQ(f->malformed, 1);
    it_has(warn, "intel.dat:7: 2 fields, #fields names 4");
    it_has(warn, "Intel::DOMAIN"); /* the note names a type it skipped */
    const ti_ioc_t *m = it_match(db, "198.51.100.99", 53, IT_MAR1);
    ASSERT_NOT_NULL(m);
    ASSERT_STR_EQ(m->type, "Intel::ADDR");
    ASSERT_STR_EQ(m->desc, "bad host; source: src1");
    IT_EXPECT(db, "198.51.100.200", 53, IT_MAR1, "198.51.100.128/25");
    ASSERT_STR_EQ(it_match(db, "198.51.100.200", 1, IT_MAR1)->desc, "source: src1");
    IT_EXPECT(db, "198.51.100.1", 53, IT_MAR1, NULL);
    IT_EXPECT(db, "2001:db8:77::7", 443, IT_MAR1, "2001:db8:77::7");
    IT_EXPECT(db, "2001:db8:77::8", 443, IT_MAR1, NULL);
    ASSERT_STR_EQ(it_match(db, "192.0.2.77", 1, IT_MAR1)->desc, "source: src3");
    free(warn);
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_misp_event)
{
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(
        it_load(
            db, "event.json",
            "{\"Event\":{\"info\":\"APT test\",\"threat_level_id\":\"1\",\"Attribute\":["
            "{\"type\":\"ip-dst\",\"value\":\"203.0.113.50\",\"to_ids\":true,\"comment\":\"c2\"},"
            "{\"type\":\"ip-dst|port\",\"value\":\"203.0.113.51|8080\",\"to_ids\":true},"
            "{\"type\":\"ip-src\",\"value\":\"203.0.113.52\",\"to_ids\":false},"
            "{\"type\":\"domain\",\"value\":\"x.com\",\"to_ids\":true},"
            "{\"type\":\"ip-dst\",\"value\":\"garbage\",\"to_ids\":true},"
            "{\"type\":\"ip-src|port\",\"value\":\"2001:db8:5::5|4433\",\"to_ids\":true}],"
            "\"Object\":[{\"name\":\"ip-port\",\"Attribute\":["
            "{\"type\":\"ip-dst\",\"object_relation\":\"ip\",\"value\":\"203.0.113.60\","
            "\"to_ids\":true},"
            "{\"type\":\"port\",\"object_relation\":\"dst-port\",\"value\":\"4444\","
            "\"to_ids\":false}]}]}}",
            &warn),
        4);
    const ti_feed_t *f = it_last_feed(db);
    ASSERT_STR_EQ(f->format, "misp");
    ASSERT_EQ(f->not_ids, 1);
    ASSERT_EQ(f->unsupported, 1);
    ASSERT_EQ(f->malformed, 1);
    it_has(warn, "event.json:Event.Attribute[4]: not an IP address or network: 'garbage'");
    const ti_ioc_t *m = it_match(db, "203.0.113.50", 443, IT_MAR1);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(m->confidence, 90); /* threat level 1, High */
    ASSERT_STR_EQ(m->desc, "APT test (c2)");
    ASSERT_STR_EQ(m->type, "ip-dst");
    IT_EXPECT(db, "203.0.113.51", 8080, IT_MAR1, "203.0.113.51|8080");
    IT_EXPECT(db, "203.0.113.51", 80, IT_MAR1, NULL);
    IT_EXPECT(db, "203.0.113.52", 80, IT_MAR1, NULL);             /* not for IDS */
    IT_EXPECT(db, "203.0.113.60", 4444, IT_MAR1, "203.0.113.60"); /* the object's port */
    IT_EXPECT(db, "203.0.113.60", 443, IT_MAR1, NULL);
    IT_EXPECT(db, "2001:db8:5::5", 4433, IT_MAR1, "2001:db8:5::5|4433");
    free(warn);

    /* a restSearch answer with two events; their places are numbered */
    ASSERT_EQ(
        it_load(db, "search.json",
                "{\"response\":[{\"Event\":{\"info\":\"one\",\"threat_level_id\":3,"
                "\"Attribute\":[{\"type\":\"ip-src\",\"value\":\"198.51.100.1\",\"to_ids\":1}]}},"
                "{\"Event\":{\"info\":\"two\",\"Attribute\":["
                "{\"type\":\"domain|ip\",\"value\":\"x.example|198.51.100.2\",\"to_ids\":\"1\"},"
                "{\"type\":\"ip-dst\",\"to_ids\":true}]}}]}",
                &warn),
        2);
    it_has(warn, "search.json:Event[1].Attribute[1]: attribute without a type or value");
    ASSERT_EQ(it_match(db, "198.51.100.1", 1, IT_MAR1)->confidence, 30);
    IT_EXPECT(db, "198.51.100.2", 1, IT_MAR1, "198.51.100.2");
    free(warn);
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_stix_bundle)
{
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(
        it_load(
            db, "bundle.json",
            "{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":["
            "{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"pattern_type\":\"stix\","
            "\"pattern\":\"[ipv4-addr:value = '198.18.0.5'] OR [ipv6-addr:value ISSUBSET "
            "'2001:db8:1::/64']\",\"valid_from\":\"2024-01-01T00:00:00Z\",\"confidence\":90,"
            "\"name\":\"two\"},"
            "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
            "\"[network-traffic:dst_ref.value = '198.18.0.6' AND network-traffic:dst_port = "
            "443]\",\"valid_from\":\"2024-01-01T00:00:00Z\",\"valid_until\":"
            "\"2024-02-01T00:00:00.000Z\"},"
            "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":\"[ipv4-addr:value "
            "= '198.18.0.7'] FOLLOWEDBY [ipv4-addr:value = '198.18.0.8']\","
            "\"valid_from\":\"2024-01-01T00:00:00Z\"},"
            "{\"type\":\"indicator\",\"pattern_type\":\"stix\",\"pattern\":"
            "\"[domain-name:value = 'x.com' OR (ipv4-addr:value = '198.18.0.9' OR "
            "ipv4-addr:value ISSUBSET '198.18.2.0/24')]\",\"valid_from\":\"2024-01-01T00:00:00Z\"},"
            "{\"type\":\"indicator\",\"pattern_type\":\"sigma\",\"pattern\":\"title: x\"},"
            "{\"type\":\"indicator\",\"pattern\":\"[ipv4-addr:value = '198.18.0.10'] WITHIN 60 "
            "SECONDS\"},"
            "{\"type\":\"indicator\",\"revoked\":true,\"pattern\":\"[ipv4-addr:value = "
            "'198.18.0.11']\"},"
            "{\"type\":\"malware\",\"id\":\"malware--1\"}]}",
            &warn),
        5);
    const ti_feed_t *f = it_last_feed(db);
    ASSERT_STR_EQ(f->format, "stix");
    ASSERT_EQ(f->not_ids, 1);
    ASSERT_EQ(f->unsupported, 4);
    it_has(warn, "bundle.json:objects[2]: unsupported pattern (AND/FOLLOWEDBY");
    it_has(warn, "bundle.json:objects[3]: 1 of 3 pattern alternatives not matched");
    it_has(warn, "bundle.json:objects[4]: pattern_type 'sigma'");
    it_has(warn, "bundle.json:objects[5]: unsupported pattern (observation qualifiers");
    const ti_ioc_t *m = it_match(db, "198.18.0.5", 80, IT_MAR1);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(m->confidence, 90);
    ASSERT_STR_EQ(m->desc, "two");
    ASSERT_STR_EQ(m->type, "ipv4-addr");
    IT_EXPECT(db, "198.18.0.5", 80, "2023-12-31", NULL); /* before valid_from */
    IT_EXPECT(db, "2001:db8:1::abcd", 80, IT_MAR1, "2001:db8:1::/64");
    IT_EXPECT(db, "2001:db8:1:1::abcd", 80, IT_MAR1, NULL);
    IT_EXPECT(db, "198.18.0.6", 443, "2024-01-15", "198.18.0.6");
    IT_EXPECT(db, "198.18.0.6", 80, "2024-01-15", NULL);
    IT_EXPECT(db, "198.18.0.6", 443, IT_MAR1, NULL); /* after valid_until */
    IT_EXPECT(db, "198.18.0.7", 443, IT_MAR1, NULL);
    IT_EXPECT(db, "198.18.0.9", 443, IT_MAR1, "198.18.0.9");
    IT_EXPECT(db, "198.18.2.200", 443, IT_MAR1, "198.18.2.0/24");
    IT_EXPECT(db, "198.18.0.10", 443, IT_MAR1, NULL);
    IT_EXPECT(db, "198.18.0.11", 443, IT_MAR1, NULL);
    free(warn);

    /* one indicator on its own, observations in parentheses */
    ASSERT_EQ(it_load(db, "one.json",
                      "{\"type\":\"indicator\",\"pattern\":\"([ipv4-addr:value = '198.18.1.1'] OR "
                      "[ipv6-addr:value = '2001:db8:2::1'])\",\"valid_from\":"
                      "\"2024-01-01T00:00:00Z\"}",
                      NULL),
              2);
    IT_EXPECT(db, "2001:db8:2::1", 1, IT_MAR1, "2001:db8:2::1");
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_longest_prefix)
{
    ti_db_t *db = ti_new();
    ASSERT_EQ(it_load(db, "wide.txt", "198.51.0.0/16\n2001:db8::/32\n192.0.2.1\n", NULL), 3);
    ASSERT_EQ(it_load(db, "mid.csv",
                      "indicator,valid_until,confidence\n"
                      "198.51.100.0/24,2024-02-01,\n"
                      "2001:db8:5::/48,,\n"
                      "192.0.2.1,,90\n"
                      "192.0.2.1|443,,10\n",
                      NULL),
              4);
    ASSERT_EQ(it_load(db, "narrow.dat",
                      "#fields\tindicator\tindicator_type\tmeta.source\n"
                      "198.51.100.7\tIntel::ADDR\tx\n",
                      NULL),
              1);
    ASSERT_EQ(ti_count(db), 8);
    ASSERT_EQ(ti_n_feeds(db), 3);
    IT_EXPECT(db, "198.51.100.7", 80, "2024-01-15", "198.51.100.7");
    IT_EXPECT(db, "198.51.100.8", 80, "2024-01-15", "198.51.100.0/24");
    IT_EXPECT(db, "198.51.100.8", 80, IT_MAR1, "198.51.0.0/16"); /* the /24 expired */
    IT_EXPECT(db, "198.51.7.7", 80, IT_MAR1, "198.51.0.0/16");
    IT_EXPECT(db, "198.52.0.1", 80, IT_MAR1, NULL);
    IT_EXPECT(db, "2001:db8:5::1", 80, IT_MAR1, "2001:db8:5::/48");
    IT_EXPECT(db, "2001:db8:6::1", 80, IT_MAR1, "2001:db8::/32");
    IT_EXPECT(db, "2001:db9::1", 80, IT_MAR1, NULL);
    /* IPv4-mapped IPv6 is the IPv4 address; other IPv6 never matches IPv4 networks */
    IT_EXPECT(db, "::ffff:198.51.3.3", 80, IT_MAR1, "198.51.0.0/16");
    IT_EXPECT(db, "::c633:303", 80, IT_MAR1, NULL);
    /* networks in the one notation of filters and the configuration: IPv6 text round the
     * IPv4 block means IPv6 hosts (::/16 had matched every IPv4 address), and an IPv4-mapped
     * network takes an IPv6 length */
    ASSERT_EQ(it_load(db, "v6.txt", "::/16\n::ffff:203.0.113.0/120\n", NULL), 2);
    IT_EXPECT(db, "198.52.0.1", 80, IT_MAR1, NULL);
    IT_EXPECT(db, "::1:2", 80, IT_MAR1, "::/16");
    IT_EXPECT(db, "203.0.113.9", 80, IT_MAR1, "::ffff:203.0.113.0/120");
    /* one prefix, several indicators: the one naming the port, then the higher confidence */
    IT_EXPECT(db, "192.0.2.1", 443, IT_MAR1, "192.0.2.1|443");
    const ti_ioc_t *m = it_match(db, "192.0.2.1", 80, IT_MAR1);
    ASSERT_NOT_NULL(m);
    ASSERT_EQ(m->confidence, 90);
    ASSERT_STR_EQ(m->feed, "mid.csv");
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_broken_lines_named)
{
    char big[9100];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *feed = malloc(12000);
    ASSERT_NOT_NULL(feed);
    snprintf(feed, 12000,
             "note,indicator,confidence,valid_until\n" /* 1 */
             "good,192.0.2.1,50,\n"                    /* 2 */
             "bad ip,300.1.2.3,50,\n"                  /* 3 */
             "bad confidence,192.0.2.4,abc,\n"         /* 4 */
             "bad time,192.0.2.5,50,next tuesday\n"    /* 5 */
             "good,192.0.2.6/31,,\n"                   /* 6 */
             "\"unbalanced,192.0.2.7,50,\n"            /* 7 */
             "%s,192.0.2.8\n"                          /* 8 */
             "only\n"                                  /* 9 */
             "bad port,192.0.2.10|99999,,\n"           /* 10 */
             "bad prefix,192.0.2.0/33,,\n"             /* 11 */
             "\n"                                      /* 12 */
             "good,[2001:db8::1]:443,,\n",             /* 13 */
             big);
    ti_db_t *db = ti_new();
    char *warn;
    ASSERT_EQ(it_load(db, "broken.csv", feed, &warn), 3);
    const ti_feed_t *f = it_last_feed(db);
    ASSERT_EQ(f->malformed, 8);
    it_has(warn, "broken.csv:3: not an IP address or network: '300.1.2.3'");
    it_has(warn, "broken.csv:4: confidence 'abc' is not 0-100");
    it_has(warn, "broken.csv:5: valid_from/valid_until is not a time");
    it_has(warn, "broken.csv:7: unbalanced quote");
    it_has(warn, "broken.csv:8: line longer than 8191 bytes");
    it_has(warn, "broken.csv:9: 1 columns, the indicator is column 2");
    it_has(warn, "broken.csv:10: port is not 1-65535");
    it_has(warn, "broken.csv:11: prefix length too long");
    it_has(warn, "broken.csv: 3 indicators loaded (csv); 8 malformed skipped");
    IT_EXPECT(db, "192.0.2.7", -1, IT_MAR1, "192.0.2.6/31");
    IT_EXPECT(db, "2001:db8::1", 443, IT_MAR1, "[2001:db8::1]:443");
    free(warn);

    /* past 20 warnings the rest are counted, not printed */
    char plain[4096] = "";
    for (int i = 0; i < 30; i++)
        strcat(plain, "1.2.3.4.5\n");
    strcat(plain, "192.0.2.99\n");
    ASSERT_EQ(it_load(db, "many.txt", plain, &warn), 1);
    it_has(warn, "many.txt:20:");
    ASSERT_NULL(strstr(warn, "many.txt:21:"));
    it_has(warn, "30 malformed skipped; 10 more warnings not shown");
    free(warn);
    free(feed);
    ti_free(db);
    return 0;
}

TEST_IMPL(intel_unusable_feeds)
{
    ti_db_t *db = ti_new();
    char err[512];
    char path[600];
    snprintf(path, sizeof path, "%s/absent.txt", test_tmpdir());
    ASSERT_EQ(ti_load(db, path, NULL, err, sizeof err), -1);
    it_has(err, "absent.txt: cannot read the feed: No such file");
    ASSERT_EQ(ti_load(db, test_tmpdir(), NULL, err, sizeof err), -1);
    it_has(err, "a directory");
    struct {
        const char *name, *content, *why;
    } bad[] = {
        {"cut.json", "{\"Event\": [", "cut.json:1:11: not valid JSON"},
        {"other.json", "{\"foo\": 1}", "neither a MISP event nor a STIX 2.1"},
        {"list.json", "[1, 2]", "neither a MISP event nor a STIX 2.1"},
        {"prose.txt", "hello world\nfoo bar\n", "not a known feed format"},
        {"nofield.dat", "#fields\tfoo\tbar\n1.2.3.4\tx\n", "without an indicator field"},
        {"blob.bin", "\x01\x02\x00\x03", "binary data"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strcmp(bad[i].name, "blob.bin") == 0 ? 4 : strlen(bad[i].content);
        const char *p = it_write(bad[i].name, bad[i].content, len);
        err[0] = '\0';
        ASSERT_EQ(ti_load(db, p, NULL, err, sizeof err), -1);
        printf("%s\n", err);
        it_has(err, bad[i].why);
    }
    ASSERT_EQ(ti_n_feeds(db), 0);
    ASSERT_EQ(ti_count(db), 0);
    /* empty today is not broken: an empty file, comments only, or only domains */
    ASSERT_EQ(it_load(db, "empty.txt", "", NULL), 0);
    ASSERT_EQ(it_load(db, "comments.txt", "# nothing listed today\n", NULL), 0);
    ASSERT_EQ(it_load(db, "domains.txt", "evil.example\nbad.example.org\n", NULL), 0);
    ASSERT_EQ(it_last_feed(db)->unsupported, 2);
    ASSERT_EQ(it_load(db, "empty.json", "{\"type\":\"bundle\",\"objects\":[]}", NULL), 0);
    ASSERT_EQ(ti_n_feeds(db), 4);
    ti_free(db);
    return 0;
}

/* Every prefix of each format's feed, flush against a guard page: never a crash or an
 * over-read, and the whole feed gives what it should. */
TEST_IMPL(intel_every_truncation)
{
    static const char *const feeds[] = {
        it_plain,
        "indicator,confidence,description\n\"192.0.2.1\",50,\"a \"\"b\"\"\"\n192.0.2.0/28,,x\n",
        "#separator \\x09\n#fields\tindicator\tindicator_type\tmeta.source\n"
        "192.0.2.1\tIntel::ADDR\ts\n",
        "{\"Event\":{\"threat_level_id\":\"2\",\"Attribute\":[{\"type\":\"ip-dst|port\",\"value\":"
        "\"192.0.2.1|443\",\"to_ids\":true}],\"Object\":[{\"Attribute\":[{\"type\":\"ip-dst\","
        "\"value\":\"192.0.2.2\",\"to_ids\":true}]}]}}",
        "{\"type\":\"bundle\",\"objects\":[{\"type\":\"indicator\",\"pattern\":\"[(ipv4-addr:value "
        "= "
        "'192.0.2.1' OR ipv6-addr:value = '2001:db8::1')] OR [network-traffic:dst_ref.value = "
        "'192.0.2.3' AND network-traffic:dst_port = 8080]\",\"confidence\":20}]}",
    };
    static const long want[] = {3, 2, 1, 2, 3};
    long cuts = 0;
    for (size_t k = 0; k < sizeof feeds / sizeof feeds[0]; k++) {
        size_t len = strlen(feeds[k]);
        for (size_t n = 0; n <= len; n++) {
            uint8_t *g = test_guard_copy(feeds[k], n);
            ti_db_t *db = ti_new();
            char err[512];
            long got = ti_load_mem(db, "cut", g, n, NULL, err, sizeof err);
            if (n == len && got != want[k])
                TEST_FAIL_AT("feed %zu whole: %ld indicators, expected %ld (%s)", k, got, want[k],
                             got < 0 ? err : "");
            ti_free(db);
            test_guard_free(g);
            cuts++;
        }
    }
    printf("%ld truncations loaded\n", cuts);
    return 0;
}

/* ---- the hunt on hand-made conversations ---------------------------------------------------- */

static hunt_conv_t it_conv(const char *orig, int orig_port, const char *resp, int resp_port,
                           uint8_t proto, int answered, uint64_t t_ms)
{
    hunt_conv_t c;
    memset(&c, 0, sizeof c);
    ASSERT_EQ(flow_addr_parse(&c.orig, orig), 0);
    ASSERT_EQ(flow_addr_parse(&c.resp, resp), 0);
    c.orig_port = (uint16_t)orig_port;
    c.resp_port = (uint16_t)resp_port;
    c.proto = proto;
    c.t_start = t_ms;
    c.t_end = t_ms + 2000;
    c.pkts_out = 10;
    c.bytes_out = 1000;
    if (answered) {
        c.pkts_in = 8;
        c.bytes_in = 4000;
        c.answered = 1;
    }
    c.sampling = 1;
    c.orig_internal = strncmp(orig, "10.", 3) == 0 || strncmp(orig, "fd00:", 5) == 0;
    c.resp_internal = strncmp(resp, "10.", 3) == 0 || strncmp(resp, "fd00:", 5) == 0;
    return c;
}

static void it_feed(void *st, hunt_conv_t c)
{
    hi_ops.feed(st, &c);
}

/* Ends the hunt's only partition and takes its findings. */
static void it_finish(void *st, hunt_findings_t *out)
{
    hi_ops.part_end(st);
    hi_ops.finish(st, out);
    hi_ops.destroy(st);
}

static const hunt_finding_t *it_finding(const hunt_findings_t *l, const char *host)
{
    char h[FLOW_ADDR_STRLEN];
    for (size_t i = 0; i < l->n; i++) {
        flow_addr_format(&l->v[i]->host, h);
        if (strcmp(h, host) == 0)
            return l->v[i];
    }
    TEST_FAIL_AT("no finding for host %s", host);
    return NULL;
}

static int it_has_tech(const hunt_finding_t *f, const char *t)
{
    for (int i = 0; i < f->n_tech; i++)
        if (strcmp(f->tech[i], t) == 0)
            return 1;
    return 0;
}

TEST_IMPL(intel_hunt_risk)
{
    ti_db_t *db = ti_new();
    ASSERT_EQ(
        it_load(db, "feed.txt", "203.0.113.0/24\n198.51.100.9|443\n2001:db8:bad::/48\n", NULL), 3);
    ASSERT_EQ(it_load(db, "old.csv", "ip,valid_until\n192.0.2.99,2024-01-01\n", NULL), 1);
    hunt_config_t cfg;
    hc_defaults(&cfg);
    hunt_ctx_t ctx = {.cfg = &cfg, .intel = db};
    void *st = hi_ops.create(&ctx);
    uint64_t t0;
    ASSERT_EQ(timearg_parse("2024-03-01T08:00:00Z", 0, &t0), 0);
    hunt_conv_t c;
    /* out, answered, small: High */
    it_feed(st, it_conv("10.0.0.1", 50000, "203.0.113.5", 443, 6, 1, t0));
    /* out, answered, 30 MB: Critical (volume) */
    c = it_conv("10.0.0.2", 50000, "203.0.113.6", 443, 6, 1, t0);
    c.bytes_in = 30000000;
    hi_ops.feed(st, &c);
    /* out, answered, 25 connections over 6 hours to 4444: Critical (persistence), T1571 */
    for (int i = 0; i < 25; i++) {
        it_feed(st, it_conv("10.0.0.3", 50000 + i, "203.0.113.7", 4444, 6, 1,
                            t0 + (uint64_t)i * 900000));
    }
    /* out, never answered: Medium */
    for (int i = 0; i < 3; i++) {
        it_feed(st,
                it_conv("10.0.0.4", 50000 + i, "203.0.113.8", 443, 6, 0, t0 + (uint64_t)i * 1000));
    }
    /* in, unanswered or rejected, three ports: one Low finding */
    const int ports[] = {22, 23, 3389};
    for (int i = 0; i < 3; i++) {
        c = it_conv("203.0.113.9", 40000, "10.0.0.5", ports[i], 6, i == 2, t0);
        c.rejected = i == 2;
        hi_ops.feed(st, &c);
    }
    /* in, answered: High */
    it_feed(st, it_conv("203.0.113.10", 40000, "10.0.0.6", 22, 6, 1, t0));
    /* ICMP out, answered: T1095 */
    it_feed(st, it_conv("10.0.0.7", 0, "203.0.113.11", 0x0800, 1, 1, t0));
    /* an ip|port indicator: port 80 does not match, 443 does */
    it_feed(st, it_conv("10.0.0.8", 50000, "198.51.100.9", 80, 6, 1, t0));
    it_feed(st, it_conv("10.0.0.8", 50001, "198.51.100.9", 443, 6, 1, t0));
    /* expired indicator; two external ends; IPv6 */
    it_feed(st, it_conv("10.0.0.9", 50000, "192.0.2.99", 443, 6, 1, t0));
    it_feed(st, it_conv("198.18.0.1", 50000, "203.0.113.12", 443, 6, 1, t0));
    it_feed(st, it_conv("fd00::1", 50000, "2001:db8:bad::1", 443, 6, 1, t0));
    hunt_findings_t out = {0};
    it_finish(st, &out);
    ASSERT_EQ(out.n, 9);

    const hunt_finding_t *f = it_finding(&out, "10.0.0.1");
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_STR_EQ(f->tech[0], "T1071");
    ASSERT_EQ(f->n_tech, 1);
    ASSERT_STR_EQ(f->peer, "203.0.113.5");
    ASSERT_EQ(f->port, 443);
    ASSERT_STR_EQ(f->hunt, "intel");
    it_has(f->ev.json, "\"feed\":\"feed.txt\"");
    it_has(f->ev.json, "\"indicator\":\"203.0.113.0/24\"");
    it_has(f->ev.json, "\"bytes_received\":4000");
    it_has(f->ev.json, "\"answered\":1");
    it_has(f->action, "isolate 10.0.0.1");
    ASSERT_STR_EQ(f->filter, "host 10.0.0.1 and host 203.0.113.5 and port 443 and proto tcp");

    f = it_finding(&out, "10.0.0.2");
    ASSERT_EQ(f->risk, HUNT_RISK_CRITICAL);
    it_has(f->ev.json, "\"critical_because\":\"volume");

    f = it_finding(&out, "10.0.0.3");
    ASSERT_EQ(f->risk, HUNT_RISK_CRITICAL);
    it_has(f->ev.json, "\"critical_because\":\"persistence: 25 answered connections");
    ASSERT(it_has_tech(f, "T1571"));
    ASSERT_STR_EQ(f->tech[0], "T1071");

    f = it_finding(&out, "10.0.0.4");
    ASSERT_EQ(f->risk, HUNT_RISK_MEDIUM);
    it_has(f->ev.json, "\"connections\":3");
    /* never answered: the summary does not say it connected */
    it_has(f->summary, "10.0.0.4 tried to reach 203.0.113.8 port 443, listed by feed.txt as "
                       "203.0.113.0/24: 3 attempts, 0 answered");
    f = it_finding(&out, "10.0.0.1");
    it_has(f->summary, "10.0.0.1 connected to 203.0.113.5 port 443");

    f = it_finding(&out, "10.0.0.5");
    ASSERT_EQ(f->risk, HUNT_RISK_LOW);
    ASSERT_EQ(f->port, -1);
    ASSERT_STR_EQ(f->peer, "203.0.113.9");
    it_has(f->ev.json, "\"service_ports\":3");
    it_has(f->ev.json, "\"rejected\":1");
    it_has(f->ev.json, "\"direction\":\"indicator to internal host\"");
    it_has(f->summary, "203.0.113.9, listed by feed.txt as 203.0.113.0/24, probed 10.0.0.5: 3 "
                       "attempts, 0 answered");

    f = it_finding(&out, "10.0.0.6");
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_EQ(f->port, 22);

    f = it_finding(&out, "10.0.0.7");
    ASSERT_STR_EQ(f->tech[0], "T1095");
    ASSERT_EQ(f->port, -1);
    /* a finding is one protocol: its flows command leaves the host's other flows to the
     * indicator out (it listed the TCP ones too) */
    ASSERT_STR_EQ(f->filter, "host 10.0.0.7 and host 203.0.113.11 and proto icmp");

    f = it_finding(&out, "10.0.0.8");
    ASSERT_EQ(f->port, 443);
    it_has(f->ev.json, "\"connections\":1");
    it_has(f->ev.json, "\"indicator_port\":443");

    f = it_finding(&out, "fd00::1");
    ASSERT_STR_EQ(f->peer, "2001:db8:bad::1");
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);

    hunt_findings_free(&out);
    hc_free(&cfg);
    ti_free(db);
    return 0;
}

/* [intel] min_confidence passes over a weak indicator before the longest prefix is chosen: an
 * address a weak /32 lists is still reported through the confident /24 around it (it was
 * dropped with the /32); one only weak indicators cover is not reported, one of unstated
 * confidence is. */
TEST_IMPL(intel_hunt_min_confidence)
{
    ti_db_t *db = ti_new();
    ASSERT_EQ(it_load(db, "conf.csv",
                      "indicator,confidence,description\n"
                      "75.122.83.87,10,weak single-address report\n"
                      "75.122.83.0/24,90,known C2 hosting range\n"
                      "198.51.100.7,30,weak only\n"
                      "192.0.2.5,,no confidence stated\n",
                      NULL),
              4);
    hunt_config_t cfg;
    hc_defaults(&cfg);
    cfg.i_min_conf = 50;
    hunt_ctx_t ctx = {.cfg = &cfg, .intel = db};
    void *st = hi_ops.create(&ctx);
    uint64_t t0;
    ASSERT_EQ(timearg_parse("2024-03-01T08:00:00Z", 0, &t0), 0);
    /* host 10.0.0.N talks to peers[N - 1], answered */
    const char *peers[] = {"75.122.83.87", "198.51.100.7", "192.0.2.5"};
    for (int i = 0; i < 3; i++) {
        char host[FLOW_ADDR_STRLEN];
        snprintf(host, sizeof host, "10.0.0.%d", i + 1);
        it_feed(st, it_conv(host, 50000, peers[i], 443, 6, 1, t0));
    }
    hunt_findings_t out = {0};
    it_finish(st, &out);
    ASSERT_EQ(out.n, 2);
    const hunt_finding_t *f = it_finding(&out, "10.0.0.1");
    ASSERT_STR_EQ(f->peer, "75.122.83.87");
    ASSERT_EQ(f->confidence, HUNT_CONF_HIGH);
    it_has(f->ev.json, "\"indicator\":\"75.122.83.0/24\"");
    it_has(f->ev.json, "\"indicator_confidence\":90");
    f = it_finding(&out, "10.0.0.3");
    ASSERT_EQ(f->confidence, HUNT_CONF_MEDIUM);
    hunt_findings_free(&out);

    /* the matcher itself: the floor per indicator; 0 (cat --intel) keeps the longest prefix */
    flow_addr_t a;
    ASSERT_EQ(flow_addr_parse(&a, "75.122.83.87"), 0);
    ASSERT_STR_EQ(ti_match(db, &a, 443, t0, t0, 0)->text, "75.122.83.87");
    ASSERT_STR_EQ(ti_match(db, &a, 443, t0, t0, 50)->text, "75.122.83.0/24");
    ASSERT_NULL(ti_match(db, &a, 443, t0, t0, 95));
    hc_free(&cfg);
    ti_free(db);
    return 0;
}

/* ---- end to end ----------------------------------------------------------------------------- */

static int it_sh(char **out, const char *cmd)
{
    char *tmp = NULL;
    int rc = test_run(cmd, out ? out : &tmp);
    free(tmp);
    return rc;
}

typedef struct it_case {
    char host[64], peer[64];
} it_case_t;

TEST_IMPL(intel_hunt_end_to_end)
{
    const char *tmp = test_tmpdir();
    char cmd[4096], feed[600], truth[600], pcap[600], dir[600];
    snprintf(feed, sizeof feed, "%s/flowgen-intel.txt", tmp);
    snprintf(truth, sizeof truth, "%s/g.truth", tmp);
    snprintf(pcap, sizeof pcap, "%s/g.pcap", tmp);
    snprintf(dir, sizeof dir, "%s/data", tmp);
    char *help = NULL;
    snprintf(cmd, sizeof cmd, "%s --help 2>&1", test_bin("flowgen"));
    it_sh(&help, cmd);
    int gen_feed = help && strstr(help, "--intel") != NULL;
    free(help);
    snprintf(cmd, sizeof cmd,
             "%s --format ipfix --flows 30000 --seed 11 --start 2024-03-01T00:00:00Z --hours 24 "
             "--out %s --truth %s%s%s 2>/dev/null",
             test_bin("flowgen"), pcap, truth, gen_feed ? " --intel " : "", gen_feed ? feed : "");
    ASSERT_EQ(it_sh(NULL, cmd), 0);
    snprintf(cmd, sizeof cmd, "%s --read %s -w %s --quiet", test_bin("flowhuntd"), pcap, dir);
    ASSERT_EQ(it_sh(NULL, cmd), 0);

    /* the cases: flowgen's planted "ioc" contacts (at this size one over IPv4, one over IPv6),
     * or (a flowgen without --intel) the planted beacon's peer, listed here as a /24 */
    it_case_t cases[8];
    int n = 0;
    size_t len;
    char *text = (char *)test_read_file(truth, &len);
    ASSERT_NOT_NULL(text);
    for (char *sv = NULL, *line = strtok_r(text, "\n", &sv); line && n < 8;
         line = strtok_r(NULL, "\n", &sv)) {
        json_t *o = json_loads(line, 0, NULL);
        ASSERT_NOT_NULL(o);
        const char *sc = json_string_value(json_object_get(o, "scenario"));
        /* flowgen's truth names the ends host/peer (src/dst before --intel existed) */
        const char *src = json_string_value(json_object_get(o, gen_feed ? "host" : "src"));
        const char *dst = json_string_value(json_object_get(o, gen_feed ? "peer" : "dst"));
        json_t *det = json_object_get(o, "detectable");
        if (sc && src && dst && strcmp(sc, gen_feed ? "ioc" : "beacon") == 0 &&
            !json_is_false(det)) {
            snprintf(cases[n].host, sizeof cases[n].host, "%s", src);
            snprintf(cases[n].peer, sizeof cases[n].peer, "%s", dst);
            n++;
        }
        json_decref(o);
    }
    free(text);
    ASSERT_GT(n, 0);
    if (!gen_feed) {
        char *dot = strrchr(cases[0].peer, '.');
        ASSERT_NOT_NULL(dot);
        FILE *f = fopen(feed, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "# written by intel_hunt_end_to_end\n%.*s.0/24 ; planted beacon peer\n",
                (int)(dot - cases[0].peer), cases[0].peer);
        ASSERT_EQ(fclose(f), 0);
    }
    printf("flowgen %s the feed; %d case%s\n", gen_feed ? "wrote" : "did not write", n,
           n == 1 ? "" : "s");

    char *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s hunt %s --internal 10.0.0.0/16,fd00::/8 --intel %s --hunts intel --format json "
             "--now 2024-03-20",
             test_bin("flowhunt"), dir, feed);
    ASSERT_EQ(it_sh(&out, cmd), 1); /* findings reported */
    int found = 0, lines = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        json_t *o = json_loads(line, 0, NULL);
        ASSERT_NOT_NULL(o);
        lines++;
        ASSERT_STR_EQ(json_string_value(json_object_get(o, "hunt")), "intel");
        const char *host = json_string_value(json_object_get(o, "host"));
        const char *peer = json_string_value(json_object_get(o, "peer"));
        const char *tech = json_string_value(json_object_get(o, "technique"));
        const char *risk = json_string_value(json_object_get(o, "risk_level"));
        json_t *ev = json_object_get(o, "evidence");
        for (int i = 0; i < n; i++) {
            if (strcmp(host, cases[i].host) != 0 || strcmp(peer, cases[i].peer) != 0)
                continue;
            printf("found %s -> %s: %s %s\n", host, peer, tech, risk);
            ASSERT_STR_EQ(tech, "T1071");
            ASSERT(strcmp(risk, "High") == 0 || strcmp(risk, "Critical") == 0);
            ASSERT_STR_EQ(json_string_value(json_object_get(ev, "feed")), "flowgen-intel.txt");
            ASSERT_STR_EQ(json_string_value(json_object_get(ev, "direction")),
                          "internal host to indicator");
            ASSERT_GT(json_integer_value(json_object_get(ev, "answered")), 0);
            ASSERT_GT(json_integer_value(json_object_get(ev, "bytes_received")), 0);
            found++;
        }
        json_decref(o);
    }
    printf("%d of %d cases found among %d findings\n", found, n, lines);
    ASSERT_EQ(found, n);
    free(out);

    /* a feed in Latin-1: JSON must be UTF-8 (jansson refuses a line that is not), so a byte
     * that starts no UTF-8 sequence is U+FFFD; valid UTF-8 passes as it is */
    char latin[600];
    snprintf(latin, sizeof latin, "%s/latin1.txt", tmp);
    FILE *lf = fopen(latin, "w");
    ASSERT_NOT_NULL(lf);
    fprintf(lf, "%s C2 caf\xe9 \xd0\x9c\xd0\xbe\xd1\x81 \xed\xa0\x80\n", cases[0].peer);
    ASSERT_EQ(fclose(lf), 0);
    static const char want[] = "C2 caf\xef\xbf\xbd \xd0\x9c\xd0\xbe\xd1\x81 "
                               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd";
    snprintf(cmd, sizeof cmd,
             "%s hunt %s --internal 10.0.0.0/16,fd00::/8 --intel %s --hunts intel --format json "
             "--now 2024-03-20 --no-state",
             test_bin("flowhunt"), dir, latin);
    ASSERT_EQ(it_sh(&out, cmd), 1);
    lines = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv), lines++) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        if (!o)
            fprintf(stderr, "not JSON: %s\n", err.text);
        ASSERT_NOT_NULL(o);
        json_t *ev = json_object_get(o, "evidence");
        ASSERT_STR_EQ(json_string_value(json_object_get(ev, "description")), want);
        json_decref(o);
    }
    ASSERT_GT(lines, 0);
    free(out);
    snprintf(cmd, sizeof cmd,
             "%s cat %s --intel %s --fields src_intel,dst_intel --format json --limit 1",
             test_bin("flowhunt"), dir, latin);
    ASSERT_EQ(it_sh(&out, cmd), 0);
    json_t *o = json_loads(out, 0, NULL);
    ASSERT_NOT_NULL(o);
    const char *cell = json_string_value(json_object_get(o, "dst_intel"));
    if (!cell)
        cell = json_string_value(json_object_get(o, "src_intel"));
    ASSERT_NOT_NULL(cell);
    ASSERT_NOT_NULL(strstr(cell, want));
    json_decref(o);
    free(out);
    return 0;
}

TEST_IMPL(intel_hunt_bad_feed_exit)
{
    const char *tmp = test_tmpdir();
    char cmd[2048], dir[600];
    snprintf(dir, sizeof dir, "%s/data", tmp);
    ASSERT_EQ(mkdir(dir, 0755), 0);
    char *out = NULL;
    /* (... 2>&1): test_run adds >FILE after the command, which must take stderr with it */
    snprintf(cmd, sizeof cmd, "(%s hunt %s --intel %s/absent.txt 2>&1)", test_bin("flowhunt"), dir,
             tmp);
    ASSERT_EQ(it_sh(&out, cmd), 2);
    it_has(out, "flowhunt hunt: ");
    it_has(out, "absent.txt: cannot read the feed: No such file or directory");
    free(out);
    const char *p = it_write("prose.txt", "this is not a feed\n", 19);
    snprintf(cmd, sizeof cmd, "(%s hunt %s --intel %s 2>&1)", test_bin("flowhunt"), dir, p);
    ASSERT_EQ(it_sh(&out, cmd), 2);
    it_has(out, "prose.txt: not a known feed format");
    free(out);
    return 0;
}
