/* test_enrich.c: context for findings (analyzer/enrich.c).
 *
 * The oracle for GeoIP and ASN lookups is the JSON MaxMind generated its test databases from
 * (the .source.json files in ../shared/data/mmdb/, read with jansson): the first and last
 * address of every network must come back with that network's country, city, ASN and
 * organisation, for IPv4 (looked up as IPv4, though the file writes them as ::a.b.c.d) and
 * IPv6 alike. Every broken database MaxMind and libmaxminddb ship must be refused at open with a
 * message naming the file, byte-flipped and truncated copies of a good one must never crash (run
 * under ASan), and lookups on broken files opened without the checks must be counted misses. The
 * users CSV is tested on leases whose right answer is known at each boundary, and on lines with one
 * defect each. End to end: `flowhunt hunt` on flowgen traffic names the user of a finding's host.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "enrich.h"
#include "task.h"
#include "timearg.h"
#include "utf8.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* What a test prints survives an abort (the runner shows it when the test fails). */
static void et_unbuffered(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
}

static const char *et_mmdb(const char *name)
{
    static char path[4][512];
    static int k;
    char rel[256];
    snprintf(rel, sizeof rel, "mmdb/%s", name);
    const char *p = test_shared_file(rel); /* SKIPs when ../shared/data is absent */
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s", p);
    return path[k];
}

static en_ctx_t *et_open(const char *geoip, const char *asn, const char *users, FILE *warn,
                         int no_checks, char *err, size_t cap)
{
    en_opts_t o = {
        .geoip = geoip, .asn = asn, .users = users, .warn = warn, .no_checks = no_checks};
    err[0] = '\0';
    return en_open_opts(&o, err, cap);
}

static flow_addr_t et_addr(const char *s)
{
    flow_addr_t a;
    if (flow_addr_parse(&a, s) != 0)
        TEST_FAIL_AT("bad address in the test: %s", s);
    return a;
}

static uint64_t et_time(const char *s)
{
    uint64_t ms;
    if (timearg_parse(s, 0, &ms) != 0)
        TEST_FAIL_AT("bad time in the test: %s", s);
    return ms;
}

static void et_write(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(text, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
}

/* Everything written to a tmpfile, NUL-terminated (malloc'd). */
static char *et_slurp(FILE *f)
{
    long n = ftell(f);
    ASSERT_GE(n, 0);
    char *s = malloc((size_t)n + 1);
    ASSERT_NOT_NULL(s);
    rewind(f);
    ASSERT_EQ(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    return s;
}

/* ---- the source JSON as an oracle ------------------------------------------------------------ */

typedef struct et_net {
    flow_net_t net; /* IPv4 held mapped, plen over 128 bits */
    int v4;
    json_t *data;
} et_net_t;

/* "1.2.3.0/24", "::1.2.3.0/120" (IPv4 in the database's ::/96 subtree) or an IPv6 network. */
static int et_parse_net(const char *key, et_net_t *out)
{
    char buf[80];
    snprintf(buf, sizeof buf, "%s", key);
    char *slash = strchr(buf, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    int plen = atoi(slash + 1);
    const char *text = buf;
    out->v4 = strchr(buf, '.') != NULL;
    if (out->v4 && strncmp(buf, "::", 2) == 0) {
        if (plen < 96)
            return -1;
        text = buf + 2;
        plen -= 96;
    }
    char cidr[96];
    snprintf(cidr, sizeof cidr, "%s/%d", text, plen);
    return flow_net_parse(&out->net, cidr);
}

static void et_last(const flow_net_t *n, flow_addr_t *out)
{
    *out = n->addr;
    for (int i = 0; i < 128; i++)
        if (i >= n->plen)
            out->b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

static const char *et_jstr(json_t *o, const char *a, const char *b, const char *c)
{
    json_t *v = json_object_get(o, a);
    if (v && b)
        v = json_object_get(v, b);
    if (v && c)
        v = json_object_get(v, c);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Looks up the first and last address of every network of `src` not shadowed by a more
 * specific one, compares with the JSON, and returns the networks checked per family. */
static void et_against_source(const char *src, const char *db, int asn, int *n_v4, int *n_v6)
{
    json_error_t je;
    json_t *root = json_load_file(src, 0, &je);
    if (!root)
        TEST_FAIL_AT("%s: %s (line %d)", src, je.text, je.line);
    ASSERT(json_is_array(root));
    size_t n = json_array_size(root);
    et_net_t *nets = calloc(n, sizeof *nets);
    ASSERT_NOT_NULL(nets);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        json_t *val;
        json_object_foreach(json_array_get(root, i), key, val)
        {
            if (et_parse_net(key, &nets[k]) != 0)
                TEST_FAIL_AT("%s: network %s not understood", src, key);
            nets[k++].data = val;
        }
    }
    char err[512];
    en_ctx_t *en = et_open(asn ? NULL : db, asn ? db : NULL, NULL, stderr, 0, err, sizeof err);
    if (!en)
        TEST_FAIL_AT("en_open: %s", err);
    int mismatches = 0, compared = 0;
    *n_v4 = *n_v6 = 0;
    for (size_t i = 0; i < k; i++) {
        flow_addr_t ends[2];
        ends[0] = nets[i].net.addr;
        et_last(&nets[i].net, &ends[1]);
        int used = 0;
        for (int e = 0; e < 2; e++) {
            int shadowed = 0;
            for (size_t j = 0; j < k && !shadowed; j++)
                shadowed = j != i && nets[j].net.plen > nets[i].net.plen &&
                           flow_net_has(&nets[j].net, &ends[e]);
            if (shadowed)
                continue;
            hunt_geo_t g;
            en_lookup(en, &ends[e], &g);
            char as[FLOW_ADDR_STRLEN];
            flow_addr_format(&ends[e], as);
            json_t *d = nets[i].data;
            compared++;
            used = 1;
            if (asn) {
                json_t *num = json_object_get(d, "autonomous_system_number");
                const char *org = et_jstr(d, "autonomous_system_organization", NULL, NULL);
                if (!g.has_asn || !json_is_integer(num) ||
                    (json_int_t)g.asn != json_integer_value(num) || strcmp(g.as_org, org) != 0) {
                    fprintf(stderr, "%s: got AS%u \"%s\", source AS%lld \"%s\"\n", as, g.asn,
                            g.as_org, (long long)json_integer_value(num), org);
                    mismatches++;
                }
            } else {
                const char *cc = et_jstr(d, "country", "iso_code", NULL);
                const char *cn = et_jstr(d, "country", "names", "en");
                const char *city = et_jstr(d, "city", "names", "en");
                int want = cc[0] || city[0];
                if (g.has_geo != want || strcmp(g.country, cc) != 0 ||
                    strcmp(g.country_name, cn) != 0 || strcmp(g.city, city) != 0) {
                    fprintf(stderr, "%s: got %s/%s/%s, source %s/%s/%s\n", as, g.country,
                            g.country_name, g.city, cc, cn, city);
                    mismatches++;
                }
            }
        }
        if (used)
            (*(nets[i].v4 ? n_v4 : n_v6))++;
    }
    en_stats_t st;
    en_get_stats(en, &st);
    printf("# %s: %zu networks, %d IPv4 and %d IPv6 checked, %d addresses, %d mismatches, "
           "%" PRIu64 " lookup errors\n",
           src, k, *n_v4, *n_v6, compared, mismatches, st.geo_errors + st.asn_errors);
    ASSERT_EQ(mismatches, 0);
    ASSERT_UINT64_EQ(st.geo_errors + st.asn_errors, 0);
    en_close(en);
    json_decref(root);
    free(nets);
}

/* ---- MaxMind DB --------------------------------------------------------------------------- */

/* The GeoIP2 City and GeoLite2 ASN test databases, opened with every check. */
static en_ctx_t *et_open_city_asn(void)
{
    char err[512];
    en_ctx_t *en = et_open(et_mmdb("GeoIP2-City-Test.mmdb"), et_mmdb("GeoLite2-ASN-Test.mmdb"),
                           NULL, stderr, 0, err, sizeof err);
    if (!en)
        TEST_FAIL_AT("en_open: %s", err);
    return en;
}

TEST_IMPL(enrich_known_answers)
{
    et_unbuffered();
    en_ctx_t *en = et_open_city_asn();
    hunt_geo_t g;
    flow_addr_t a = et_addr("81.2.69.160");
    ASSERT_EQ(en_lookup(en, &a, &g), 1);
    ASSERT_EQ(g.has_geo, 1);
    ASSERT_STR_EQ(g.country, "GB");
    ASSERT_STR_EQ(g.country_name, "United Kingdom");
    ASSERT_STR_EQ(g.city, "London");
    ASSERT_EQ(g.has_asn, 0); /* not in the ASN test database */
    a = et_addr("1.128.0.0");
    ASSERT_EQ(en_lookup(en, &a, &g), 1);
    ASSERT_EQ(g.has_asn, 1);
    ASSERT_EQ(g.asn, 1221);
    ASSERT_STR_EQ(g.as_org, "Telstra Pty Ltd");
    a = et_addr("2001:218::1");
    ASSERT_EQ(en_lookup(en, &a, &g), 1);
    ASSERT_STR_EQ(g.country, "JP");
    ASSERT_STR_EQ(g.city, "");
    /* ::ffff:81.2.69.160 is 81.2.69.160 (held mapped): looked up as IPv4, from the cache */
    a = et_addr("::ffff:81.2.69.160");
    ASSERT_EQ(en_lookup(en, &a, &g), 1);
    ASSERT_STR_EQ(g.city, "London");
    a = et_addr("192.0.2.1");
    ASSERT_EQ(en_lookup(en, &a, &g), 0);
    ASSERT_EQ(g.has_geo + g.has_asn, 0);
    en_stats_t st;
    en_get_stats(en, &st);
    ASSERT_UINT64_EQ(st.lookups, 5);
    ASSERT_UINT64_EQ(st.cache_hits, 1); /* ::ffff:81.2.69.160 is the address looked up first */
    ASSERT_UINT64_EQ(st.geo_errors + st.asn_errors, 0);
    en_close(en);
    return 0;
}

TEST_IMPL(enrich_geoip_matches_source)
{
    et_unbuffered();
    int v4, v6;
    et_against_source(et_mmdb("GeoIP2-City-Test.source.json"), et_mmdb("GeoIP2-City-Test.mmdb"), 0,
                      &v4, &v6);
    ASSERT_GE(v4, 20);
    ASSERT_GE(v6, 20);
    return 0;
}

TEST_IMPL(enrich_asn_matches_source)
{
    et_unbuffered();
    int v4, v6;
    et_against_source(et_mmdb("GeoLite2-ASN-Test.source.json"), et_mmdb("GeoLite2-ASN-Test.mmdb"),
                      1, &v4, &v6);
    ASSERT_GE(v4, 20);
    ASSERT_GE(v6, 20);
    return 0;
}

/* Addresses every test database has something for, and some it has not. */
static const char *const et_probe[] = {"1.1.1.1",
                                       "1.1.1.3",
                                       "1.1.1.32",
                                       "81.2.69.160",
                                       "1.128.0.0",
                                       "2.125.160.216",
                                       "216.160.83.56",
                                       "::1:ffff:ffff",
                                       "2001:218::1",
                                       "2001:480:10::1",
                                       "::",
                                       "255.255.255.255",
                                       "ffff::1",
                                       "2c0f:ff80::1",
                                       "89.160.20.112"};

static void et_probe_all(en_ctx_t *en)
{
    for (size_t i = 0; i < sizeof et_probe / sizeof et_probe[0]; i++) {
        flow_addr_t a = et_addr(et_probe[i]);
        hunt_geo_t g;
        en_lookup(en, &a, &g);
    }
}

TEST_IMPL(enrich_bad_databases_rejected)
{
    et_unbuffered();
    static const char *const broken[] = {
        "GeoIP2-City-Test-Broken-Double-Format.mmdb", "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
        "MaxMind-DB-test-broken-pointers-24.mmdb", "MaxMind-DB-test-broken-search-tree-24.mmdb"};
    /* what is wrong with each, found before the type is looked at */
    static const char *const broken_why[] = {
        "corrupt MaxMind DB: data record at offset", "not a usable MaxMind DB",
        "corrupt MaxMind DB: data record at offset", "corrupt MaxMind DB: the search tree"};
    char paths[32][800];
    int n = 0;
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++)
        snprintf(paths[n++], sizeof paths[0], "%s", et_mmdb(broken[i]));
    char bad_dir[512];
    snprintf(bad_dir, sizeof bad_dir, "%s", et_mmdb("bad/libmaxminddb-corrupt-search-tree.mmdb"));
    *strrchr(bad_dir, '/') = '\0';
    DIR *d = opendir(bad_dir);
    ASSERT_NOT_NULL(d);
    struct dirent *e;
    int n_bad = 0;
    while ((e = readdir(d)) != NULL && n < 28)
        if (e->d_name[0] != '.') {
            snprintf(paths[n++], sizeof paths[0], "%s/%s", bad_dir, e->d_name);
            n_bad++;
        }
    closedir(d);
    ASSERT_GE(n_bad, 5);
    /* and files that are not databases at all */
    const char *tmp = test_tmpdir();
    snprintf(paths[n++], sizeof paths[0], "%s/missing.mmdb", tmp);
    snprintf(paths[n], sizeof paths[0], "%s/empty.mmdb", tmp);
    et_write(paths[n++], "", 0);
    snprintf(paths[n], sizeof paths[0], "%s/text.mmdb", tmp);
    et_write(paths[n++], "hello\n", 6);
    snprintf(paths[n++], sizeof paths[0], "%s", tmp); /* a directory */
    for (int i = 0; i < n; i++)
        for (int as_asn = 0; as_asn < 2; as_asn++) {
            char err[1024];
            en_ctx_t *en = et_open(as_asn ? NULL : paths[i], as_asn ? paths[i] : NULL, NULL, stderr,
                                   0, err, sizeof err);
            printf("%s %s: %s\n", as_asn ? "--asn" : "--geoip", paths[i], en ? "opened" : err);
            if (en) {
                et_probe_all(en);
                en_close(en);
            }
            ASSERT_NULL(en);
            ASSERT_NOT_NULL(strstr(err, paths[i]));
            if (i < 4)
                ASSERT_NOT_NULL(strstr(err, broken_why[i]));
        }
    /* Truncated and byte-flipped copies of a good database: an error or a working database,
     * never a crash (ASan watches the reads). */
    size_t len;
    uint8_t *good = test_read_file(et_mmdb("GeoIP2-City-Test.mmdb"), &len);
    ASSERT_NOT_NULL(good);
    char copy[600];
    snprintf(copy, sizeof copy, "%s/mutant.mmdb", tmp);
    int refused = 0, opened = 0;
    uint32_t seed = 12345;
    for (int round = 0; round < 300; round++) {
        uint8_t *m = malloc(len);
        ASSERT_NOT_NULL(m);
        memcpy(m, good, len);
        size_t mlen = len;
        if (round < 40) {
            mlen = len * (size_t)round / 40;
        } else {
            for (int f = 0; f < 1 + round % 8; f++) {
                seed = seed * 1103515245u + 12345u;
                m[(seed >> 8) % len] ^= (uint8_t)(1u << (seed % 8));
            }
        }
        et_write(copy, (const char *)m, mlen);
        free(m);
        char err[1024];
        en_ctx_t *en = et_open(copy, NULL, NULL, NULL, 0, err, sizeof err);
        if (en) {
            opened++;
            et_probe_all(en);
            en_close(en);
        } else {
            refused++;
            ASSERT_NOT_NULL(strstr(err, copy));
        }
    }
    free(good);
    printf("# mutants: %d refused at open, %d opened and looked up\n", refused, opened);
    ASSERT_GE(refused, 40); /* every truncation at least */
    return 0;
}

TEST_IMPL(enrich_broken_lookups_are_misses)
{
    et_unbuffered();
    static const char *const broken[] = {
        "GeoIP2-City-Test-Broken-Double-Format.mmdb", "MaxMind-DB-test-broken-pointers-24.mmdb",
        "MaxMind-DB-test-broken-search-tree-24.mmdb", "bad/libmaxminddb-corrupt-search-tree.mmdb",
        "bad/libmaxminddb-deep-nesting.mmdb",         "bad/libmaxminddb-oversized-array.mmdb"};
    uint64_t errors_double = 0;
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        const char *path = et_mmdb(broken[i]);
        FILE *warn = tmpfile();
        ASSERT_NOT_NULL(warn);
        char err[1024];
        /* without the open-time checks, as if the corruption were past EN_CHECK_DATA_MAX */
        en_ctx_t *en = et_open(path, path, NULL, warn, 1, err, sizeof err);
        if (!en)
            TEST_FAIL_AT("libmaxminddb refused %s: %s", path, err);
        uint64_t hits = 0;
        for (int r = 0; r < 2; r++) /* the second round comes from the cache */
            for (size_t k = 0; k < sizeof et_probe / sizeof et_probe[0]; k++) {
                flow_addr_t a = et_addr(et_probe[k]);
                hunt_geo_t g;
                hits += (uint64_t)en_lookup(en, &a, &g);
            }
        for (unsigned x = 0; x < 256; x++) { /* the test databases' 1.1.1.0/24 */
            flow_addr_t a;
            flow_addr_from_v4(&a, 0x01010100u | x);
            hunt_geo_t g;
            hits += (uint64_t)en_lookup(en, &a, &g);
        }
        en_stats_t st;
        en_get_stats(en, &st);
        en_close(en);
        char *w = et_slurp(warn);
        fclose(warn);
        printf("# %s: %" PRIu64 " lookups, %" PRIu64 " cached, %" PRIu64 " answered, geo %" PRIu64
               " misses %" PRIu64 " errors, asn %" PRIu64 " misses %" PRIu64 " errors\n",
               broken[i], st.lookups, st.cache_hits, hits, st.geo_miss, st.geo_errors, st.asn_miss,
               st.asn_errors);
        /* the second round, and 1.1.1.1, 1.1.1.3, 1.1.1.32 again in the /24 */
        ASSERT_UINT64_EQ(st.cache_hits, sizeof et_probe / sizeof et_probe[0] + 3);
        if (st.geo_errors) { /* reported once with the address, then the total at close */
            ASSERT_NOT_NULL(strstr(w, "failed"));
            ASSERT_NOT_NULL(strstr(w, "counted as a miss"));
            ASSERT_NOT_NULL(strstr(w, "lookups failed on corrupt data"));
        }
        if (i == 0)
            errors_double = st.geo_errors;
        free(w);
    }
    /* the double of Broken-Double-Format sits in the records; a lookup that walks over it
     * fails and is counted */
    ASSERT_GT(errors_double, 0);
    return 0;
}

TEST_IMPL(enrich_wrong_type_rejected)
{
    et_unbuffered();
    static const struct {
        const char *file;
        int geo_ok, asn_ok;
    } c[] = {{"GeoIP2-City-Test.mmdb", 1, 0},         {"GeoLite2-City-Test.mmdb", 1, 0},
             {"GeoIP2-Country-Test.mmdb", 1, 0},      {"GeoLite2-Country-Test.mmdb", 1, 0},
             {"GeoLite2-ASN-Test.mmdb", 0, 1},        {"GeoIP2-ISP-Test.mmdb", 0, 1},
             {"GeoIP2-Anonymous-IP-Test.mmdb", 0, 0}, {"GeoIP2-Connection-Type-Test.mmdb", 0, 0},
             {"MaxMind-DB-test-decoder.mmdb", 0, 0}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        const char *path = et_mmdb(c[i].file);
        for (int as_asn = 0; as_asn < 2; as_asn++) {
            char err[1024];
            en_ctx_t *en = et_open(as_asn ? NULL : path, as_asn ? path : NULL, NULL, stderr, 0, err,
                                   sizeof err);
            printf("%s as %s: %s\n", c[i].file, as_asn ? "--asn" : "--geoip", en ? "ok" : err);
            int want = as_asn ? c[i].asn_ok : c[i].geo_ok;
            ASSERT_EQ(en != NULL, want);
            if (!en) {
                ASSERT_NOT_NULL(strstr(err, path));
                ASSERT_NOT_NULL(strstr(err, "database type"));
                ASSERT_NOT_NULL(strstr(err, as_asn ? "--asn" : "--geoip"));
            }
            en_close(en);
        }
    }
    /* the ISP database answers ASN lookups with the same keys */
    char err[512];
    en_ctx_t *en = et_open(NULL, et_mmdb("GeoIP2-ISP-Test.mmdb"), NULL, stderr, 0, err, sizeof err);
    ASSERT_NOT_NULL(en);
    flow_addr_t a = et_addr("1.128.0.0");
    hunt_geo_t g;
    ASSERT_EQ(en_lookup(en, &a, &g), 1);
    ASSERT_EQ(g.asn, 1221);
    ASSERT_STR_EQ(g.as_org, "Telstra Pty Ltd");
    en_close(en);
    return 0;
}

/* ---- users ----------------------------------------------------------------------------------- */

static const char et_leases[] =
    "start,end,address,user,hostname\n"
    "2024-03-01T08:00:00Z,2024-03-01T12:00:00Z,10.0.0.5,alice,ws-alice\n"
    "2024-03-01T12:00:00.500Z,2024-03-01T18:00:00+01:00,10.0.0.5,bob,ws-bob\r\n"
    "2024-03-01T10:00:00Z,2024-03-01T11:00:00Z,10.0.0.5,carol,ws-carol\n"
    "\n"
    "# an open lease: no end yet\n"
    "2024-03-02T00:00:00Z,,10.0.0.5,dave,\n"
    "2024-03-01T00:00:00Z,2024-03-01T23:59:59.999Z,2001:db8::10,\"smith, j\",\"laptop-6\"\n";

static const char *et_user(en_ctx_t *en, const char *addr, const char *when)
{
    static char user[128], host[128];
    flow_addr_t a = et_addr(addr);
    if (!en_user_at(en, &a, et_time(when), user, sizeof user, host, sizeof host))
        return "-";
    static char both[260];
    snprintf(both, sizeof both, "%s@%s", user, host);
    return both;
}

/* "user@hostname" en_finding gives a finding of 10.0.0.5 seen from `first` to `last`. */
static const char *et_finding_user(en_ctx_t *en, const char *first, const char *last)
{
    static hunt_finding_t f;
    memset(&f, 0, sizeof f);
    f.host = et_addr("10.0.0.5");
    f.first_seen = et_time(first);
    f.last_seen = et_time(last);
    en_finding(en, &f);
    static char both[260];
    snprintf(both, sizeof both, "%s@%s", f.user, f.host_name);
    return both;
}

TEST_IMPL(enrich_users_lease_by_time)
{
    et_unbuffered();
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/users.csv", test_tmpdir());
    et_write(path, et_leases, strlen(et_leases));
    FILE *warn = tmpfile();
    ASSERT_NOT_NULL(warn);
    en_ctx_t *en = et_open(NULL, NULL, path, warn, 0, err, sizeof err);
    if (!en)
        TEST_FAIL_AT("en_open: %s", err);
    char *w = et_slurp(warn);
    ASSERT_STR_EQ(w, ""); /* nothing malformed */
    free(w);
    fclose(warn);
    en_stats_t st;
    en_get_stats(en, &st);
    ASSERT_UINT64_EQ(st.leases, 5);
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T07:59:59.999Z"), "-");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T08:00:00Z"), "alice@ws-alice");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T10:30:00Z"), "carol@ws-carol");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T11:00:00.001Z"), "alice@ws-alice");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T12:00:00Z"), "alice@ws-alice");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T12:00:00.200Z"), "-");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T12:00:00.500Z"), "bob@ws-bob");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T17:00:00Z"), "bob@ws-bob");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T17:00:00.001Z"), "-");
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2030-01-01T00:00:00Z"), "dave@");
    ASSERT_STR_EQ(et_user(en, "2001:db8::10", "2024-03-01T12:00:00Z"), "smith, j@laptop-6");
    ASSERT_STR_EQ(et_user(en, "2001:db8::10", "2024-03-02T00:00:00Z"), "-");
    ASSERT_STR_EQ(et_user(en, "10.0.0.6", "2024-03-01T09:00:00Z"), "-");
    ASSERT_STR_EQ(et_user(en, "::ffff:10.0.0.5", "2024-03-01T09:00:00Z"), "alice@ws-alice");

    /* a finding: the lease of its last_seen, else of its first_seen, else nothing */
    ASSERT_STR_EQ(et_finding_user(en, "2024-03-01T09:00:00Z", "2024-03-01T10:30:00Z"),
                  "carol@ws-carol");
    ASSERT_STR_EQ(et_finding_user(en, "2024-03-01T09:00:00Z", "2024-03-01T17:30:00Z"),
                  "alice@ws-alice");
    ASSERT_STR_EQ(et_finding_user(en, "2024-03-01T06:00:00Z", "2024-03-01T07:00:00Z"), "@");
    en_close(en);

    /* the same leases from memory, without the header */
    char noerr[8];
    en = et_open(NULL, NULL, NULL, NULL, 0, noerr, sizeof noerr);
    ASSERT_NOT_NULL(en);
    const char *body = strchr(et_leases, '\n') + 1;
    ASSERT_EQ(en_users_parse(en, "mem", body, strlen(body)), 5);
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T10:30:00Z"), "carol@ws-carol");

    /* a Latin-1 name: each byte that starts no UTF-8 sequence is U+FFFD, the last one too (it
     * was cut there, and "Ren\xe9" became another user, "Ren") */
    static const char latin1[] = "2024-03-01T00:00:00Z,,10.0.0.7,Ren\xe9,pc-Zo\xeb\xeb\n"
                                 "2024-03-01T00:00:00Z,,10.0.0.8,Fran\xe7ois,x\n";
    ASSERT_EQ(en_users_parse(en, "mem", latin1, strlen(latin1)), 2);
    ASSERT_STR_EQ(et_user(en, "10.0.0.7", "2024-03-01T10:30:00Z"),
                  "Ren" UTF8_REPLACEMENT "@pc-Zo" UTF8_REPLACEMENT UTF8_REPLACEMENT);
    ASSERT_STR_EQ(et_user(en, "10.0.0.8", "2024-03-01T10:30:00Z"), "Fran" UTF8_REPLACEMENT "ois@x");
    /* a right-to-left override would show "admin<RLO>exe.pdf" as "adminfdp.exe" in a browser,
     * and a C1 CSI (U+009B) starts a terminal's escape: U+FFFD and the control mark; a
     * character next to them (U+202F, U+00A0) is kept */
    static const char tricky[] = "2024-03-01T00:00:00Z,,10.0.0.9,admin\xe2\x80\xae"
                                 "exe.pdf,pc\xc2\x9b"
                                 "31m\xe2\x81\xa6x\xe2\x80\xaf\xc2\xa0y\n";
    ASSERT_EQ(en_users_parse(en, "mem", tricky, strlen(tricky)), 1);
    const char *u = et_user(en, "10.0.0.9", "2024-03-01T10:30:00Z");
    printf("# %s\n", u);
    ASSERT_NULL(strstr(u, "\xe2\x80\xae"));
    ASSERT_NULL(strstr(u, "\xc2\x9b"));
    ASSERT_EQ(strncmp(u, "admin" UTF8_REPLACEMENT "exe.pdf@pc", 18), 0);
    ASSERT_NOT_NULL(strstr(u, "31m" UTF8_REPLACEMENT "x\xe2\x80\xaf\xc2\xa0y"));
    en_close(en);
    return 0;
}

TEST_IMPL(enrich_users_malformed_lines_named)
{
    et_unbuffered();
    char path[600], err[1024];
    snprintf(path, sizeof path, "%s/leases.csv", test_tmpdir());
    char long_line[5200];
    memset(long_line, 'a', sizeof long_line - 2);
    long_line[sizeof long_line - 2] = '\n';
    long_line[sizeof long_line - 1] = '\0';
    char text[16384];
    int len =
        snprintf(text, sizeof text,
                 "start,stop,ip,user,host\n"                                           /* 1 */
                 "2024-03-01T08:00:00Z,2024-03-01T12:00:00Z,10.0.0.5,alice,ws-alice\n" /* 2: good */
                 "2024-03-01T08:00:00Z,2024-03-01T12:00:00Z,10.0.0.5,alice\n"          /* 3 */
                 "yesterday,2024-03-01T12:00:00Z,10.0.0.7,eve,ws-eve\n"                /* 4 */
                 "2024-03-01T08:00:00Z,-1h,10.0.0.7,eve,ws-eve\n"                      /* 5 */
                 "2024-03-01T12:00:00Z,2024-03-01T08:00:00Z,10.0.0.7,eve,ws-eve\n"     /* 6 */
                 "2024-03-01T08:00:00Z,,10.0.0.256,eve,ws-eve\n"                       /* 7 */
                 "2024-03-01T08:00:00Z,,10.0.0.7,\"eve,ws-eve\n"                       /* 8 */
                 "2024-03-01T08:00:00Z,,10.0.0.7,eve,ws-eve,extra\n"                   /* 9 */
                 "2024-02-30T08:00:00Z,,10.0.0.7,eve,ws-eve\n"                         /* 10 */
                 "%s"                                                                  /* 11 */
                 "2024-03-01T08:00:00Z,,10.0.0.7,,\n"                                  /* 12 */
                 "2024-03-01T08:00:00Z,,10.0.0.7,e\tve,ws-eve\n"                       /* 13 */
                 "2024-03-01T08:00:00Z,,10.0.0.7,ev\"e,ws-eve\n"                       /* 14 */
                 "2024-03-01T08:00:00+01:00,,fd00::7,mallory,ws-m", /* 15: good */
                 long_line);
    ASSERT(len > 0 && (size_t)len < sizeof text);
    text[len] = '\0';
    /* line 16: a NUL byte */
    memcpy(text + len, "\n2024-03-01T08:00:00Z,,10.0.0.9,x\0y,h\n", 38);
    et_write(path, text, (size_t)len + 38);
    FILE *warn = tmpfile();
    ASSERT_NOT_NULL(warn);
    en_ctx_t *en = et_open(NULL, NULL, path, warn, 0, err, sizeof err);
    if (!en)
        TEST_FAIL_AT("en_open: %s", err);
    char *w = et_slurp(warn);
    fclose(warn);
    printf("%s", w);
    static const struct {
        int line;
        const char *why;
    } want[] = {{1, "a header must be start,end,address,user,hostname"},
                {3, "expected 5 fields: start,end,address,user,hostname"},
                {4, "start is not an ISO 8601 time"},
                {5, "end is not an ISO 8601 time"},
                {6, "end is before start"},
                {7, "address is not an IPv4 or IPv6 address"},
                {8, "unterminated quote"},
                {9, "more than 5 fields (start,end,address,user,hostname)"},
                {10, "start is not an ISO 8601 time"},
                {11, "line longer than 4096 bytes"},
                {12, "neither user nor hostname"},
                {13, "control character in user"},
                {14, "a quote inside an unquoted field"},
                {16, "NUL byte in line"}};
    char expect[4096] = "";
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t n = strlen(expect);
        snprintf(expect + n, sizeof expect - n, "%s:%d: %s\n", path, want[i].line, want[i].why);
    }
    ASSERT_STR_EQ(w, expect);
    free(w);
    en_stats_t st;
    en_get_stats(en, &st);
    ASSERT_UINT64_EQ(st.leases, 2);
    ASSERT_UINT64_EQ(st.users_bad, sizeof want / sizeof want[0]);
    ASSERT_STR_EQ(et_user(en, "10.0.0.5", "2024-03-01T09:00:00Z"), "alice@ws-alice");
    ASSERT_STR_EQ(et_user(en, "fd00::7", "2024-03-01T07:00:00Z"), "mallory@ws-m");
    ASSERT_STR_EQ(et_user(en, "10.0.0.7", "2024-03-01T09:00:00Z"), "-");
    en_close(en);

    /* a missing users file is an error naming it */
    snprintf(path, sizeof path, "%s/no-such-users.csv", test_tmpdir());
    ASSERT_NULL(et_open(NULL, NULL, path, NULL, 0, err, sizeof err));
    ASSERT_NOT_NULL(strstr(err, path));
    ASSERT_NOT_NULL(strstr(err, "No such file"));
    return 0;
}

TEST_IMPL(enrich_finding_external_peers_only)
{
    et_unbuffered();
    char err[512];
    en_ctx_t *en = et_open_city_asn();
    hunt_config_t cfg;
    hc_defaults(&cfg);
    ASSERT_EQ(hc_set_nets(&cfg.internal, &cfg.n_internal, "81.2.69.0/24", 0, err, sizeof err), 0);
    static const struct {
        const char *peer;
        int internal_set, has_geo;
    } c[] = {
        {"81.2.69.160", 0, 1}, {"81.2.69.160", 1, 0},    {"81.2.69.0/24", 0, 0},      {"", 0, 0},
        {"2001:218::1", 1, 1}, {"not-an-address", 0, 0}, {"::ffff:81.2.69.160", 0, 1}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        hunt_finding_t f;
        memset(&f, 0, sizeof f);
        snprintf(f.peer, sizeof f.peer, "%s", c[i].peer);
        en_set_internal(en, c[i].internal_set ? &cfg : NULL);
        en_finding(en, &f);
        printf("peer \"%s\"%s: %s %s\n", c[i].peer, c[i].internal_set ? " (internal set)" : "",
               f.peer_geo.country, f.peer_geo.city);
        ASSERT_EQ(f.peer_geo.has_geo, c[i].has_geo);
        ASSERT_STR_EQ(f.user, "");
    }
    en_close(en);
    hc_free(&cfg);
    return 0;
}

/* ---- end to end ------------------------------------------------------------------------------ */

#define ET_HUNT_ARGS "--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --no-state"

TEST_IMPL(enrich_hunt_end_to_end)
{
    et_unbuffered();
    const char *city = et_mmdb("GeoIP2-City-Test.mmdb"), *asn = et_mmdb("GeoLite2-ASN-Test.mmdb");
    const char *bad_data = et_mmdb("GeoIP2-City-Test-Broken-Double-Format.mmdb");
    const char *bad_tree = et_mmdb("MaxMind-DB-test-broken-search-tree-24.mmdb");
    const char *tmp = test_tmpdir();
    char dir[600], pcap[600], users[600], errf[600];
    snprintf(dir, sizeof dir, "%s/data", tmp);
    snprintf(pcap, sizeof pcap, "%s/e.pcap", tmp);
    snprintf(users, sizeof users, "%s/users.csv", tmp);
    snprintf(errf, sizeof errf, "%s/stderr.txt", tmp);
    test_flowgen_store(dir, pcap, "",
                       "--format v5 --flows 3000 --seed 42 --start 2024-03-01T00:00:00Z "
                       "--hours 6 --exporters 3 --sample 1");

    /* a finding to name: the first one of a plain run */
    char *out = NULL;
    int rc = test_runf(&out, "%s hunt %s " ET_HUNT_ARGS " --format json", test_bin("flowhunt"), dir);
    ASSERT_EQ(rc, 1);
    json_error_t je;
    json_t *first = json_loadb(out, strcspn(out, "\n"), 0, &je);
    ASSERT_NOT_NULL(first);
    char host[64], fp[32];
    snprintf(host, sizeof host, "%s", json_string_value(json_object_get(first, "host")));
    snprintf(fp, sizeof fp, "%s", json_string_value(json_object_get(first, "fingerprint")));
    uint64_t t0 = et_time(json_string_value(json_object_get(first, "first_seen")));
    uint64_t t1 = et_time(json_string_value(json_object_get(first, "last_seen")));
    json_decref(first);
    free(out);
    ASSERT(t0 > 7200000 && t1 >= t0);

    /* the host's lease over the finding, an earlier one of someone else, a malformed line */
    char a0[32], a1[32], b0[32], b1[32];
    test_iso(t0 - 3600000, a0);
    test_iso(t1 + 3600000, a1);
    test_iso(t0 - 7200000, b0);
    test_iso(t0 - 3600001, b1);
    char csv[1024];
    int len = snprintf(csv, sizeof csv,
                       "start,end,address,user,hostname\n%s,%s,%s,bob,ws-bob\n"
                       "%s,%s,%s,alice,ws-alice\nnot,a,lease\n",
                       b0, b1, host, a0, a1, host);
    et_write(users, csv, (size_t)len);
    rc = test_runf(&out,
                "%s hunt %s " ET_HUNT_ARGS " --geoip %s --asn %s --users %s --format json "
                "2>%s",
                test_bin("flowhunt"), dir, city, asn, users, errf);
    ASSERT_EQ(rc, 1);
    int found = 0, named = 0;
    char *sv = NULL;
    for (char *line = strtok_r(out, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv)) {
        json_t *f = json_loads(line, 0, &je);
        ASSERT_NOT_NULL(f);
        const char *h = json_string_value(json_object_get(f, "host"));
        const char *hn = json_string_value(json_object_get(f, "host_name"));
        const char *u = json_string_value(json_object_get(f, "user"));
        ASSERT_NOT_NULL(u);
        if (strcmp(json_string_value(json_object_get(f, "fingerprint")), fp) == 0) {
            found = 1;
            ASSERT_STR_EQ(hn, "ws-alice");
            ASSERT_STR_EQ(u, "alice");
        }
        if (strcmp(h, host) == 0 && hn)
            named++;
        else
            ASSERT_STR_EQ(u, "unknown");
        json_decref(f);
    }
    free(out);
    ASSERT_EQ(found, 1);
    printf("# host %s named in %d findings\n", host, named);

    size_t elen;
    char *err_text = (char *)test_read_file(errf, &elen);
    ASSERT_NOT_NULL(err_text);
    char want[700];
    snprintf(want, sizeof want, "%s:4: expected 5 fields", users);
    ASSERT_NOT_NULL(strstr(err_text, want));
    free(err_text);

    /* the same files from the configuration ([general] geoip, asn, users, intel), for a
     * scheduled run: the same report; an option replaces its key; a bad file is named */
    char missing[700], ini[700], feed[700], feed2[700], *flags_out, *cfg_out;
    snprintf(missing, sizeof missing, "%s/no-such-file.csv", tmp);
    snprintf(ini, sizeof ini, "%s/ctx.ini", tmp);
    snprintf(feed, sizeof feed, "%s/feed.txt", tmp);
    snprintf(feed2, sizeof feed2, "%s/feed2.txt", tmp);
    et_write(feed2, "# nothing listed yet\n", 21);
    ASSERT_EQ(test_runf(&out, "%s hunt %s " ET_HUNT_ARGS " --format json --hunts beacon | head -1",
                        test_bin("flowhunt"), dir),
              0);
    char peer[64] = "";
    ASSERT(test_json_str(out, "peer", peer, sizeof peer) && peer[0]);
    free(out);
    len = snprintf(csv, sizeof csv, "%s # the first beacon's peer\n", peer);
    et_write(feed, csv, (size_t)len);
    char body[4096];
    len = snprintf(body, sizeof body,
                   "[general]\ngeoip = %s\nasn = %s\nusers = %s\nintel = %s , %s\n", city, asn,
                   users, feed, feed2);
    et_write(ini, body, (size_t)len);
    rc = test_runf(&flags_out,
                   "%s hunt %s " ET_HUNT_ARGS " --now 2024-03-02T00:00:00Z --geoip %s --asn %s "
                   "--users %s --intel %s --intel %s --format json 2>/dev/null",
                   test_bin("flowhunt"), dir, city, asn, users, feed, feed2);
    ASSERT_EQ(rc, 1);
    rc = test_runf(&cfg_out,
                   "%s hunt %s " ET_HUNT_ARGS " --now 2024-03-02T00:00:00Z --config %s --format "
                   "json 2>/dev/null",
                   test_bin("flowhunt"), dir, ini);
    ASSERT_EQ(rc, 1);
    ASSERT_STR_EQ(cfg_out, flags_out);
    ASSERT_NOT_NULL(strstr(cfg_out, "\"hunt\":\"intel\"")); /* the file's feed was read */
    ASSERT_NOT_NULL(strstr(cfg_out, "\"user\":\"alice\"")); /* and its users */
    free(cfg_out);
    free(flags_out);
    /* --users replaces the file's (here a missing one), which would otherwise stop the run */
    len = snprintf(body, sizeof body, "[general]\nusers = %s\n", missing);
    et_write(ini, body, (size_t)len);
    ASSERT_EQ(test_runf(NULL,
                        "%s hunt %s " ET_HUNT_ARGS " --config %s --users %s --format json "
                        ">/dev/null 2>&1",
                        test_bin("flowhunt"), dir, ini, users),
              1);
    rc = test_runf(&out, "%s hunt %s " ET_HUNT_ARGS " --config %s 2>%s", test_bin("flowhunt"), dir,
                   ini, errf);
    ASSERT_EQ(rc, 2);
    free(out);
    err_text = (char *)test_read_file(errf, &elen);
    ASSERT_NOT_NULL(err_text);
    ASSERT_NOT_NULL(strstr(err_text, missing));
    free(err_text);

    /* a bad database or users file stops the run before any flow is read: exit 2, the file
     * and the reason named */
    static const char *const opt[] = {"--geoip", "--asn", "--geoip", "--users"};
    const char *const db[] = {bad_data, bad_tree, asn, missing};
    static const char *const why[] = {"corrupt MaxMind DB: data record",
                                      "corrupt MaxMind DB: the search tree",
                                      "is not a City or Country database", "No such file"};
    for (int i = 0; i < 4; i++) {
        rc = test_runf(&out, "%s hunt %s " ET_HUNT_ARGS " %s %s 2>%s", test_bin("flowhunt"), dir,
                    opt[i], db[i], errf);
        ASSERT_STR_EQ(out, ""); /* no report */
        free(out);
        err_text = (char *)test_read_file(errf, &elen);
        ASSERT_NOT_NULL(err_text);
        printf("# %s %s: exit %d: %s", opt[i], db[i], rc, err_text);
        ASSERT_EQ(rc, 2);
        ASSERT(strncmp(err_text, "flowhunt hunt: ", 15) == 0);
        ASSERT_NOT_NULL(strstr(err_text, db[i]));
        ASSERT_NOT_NULL(strstr(err_text, why[i]));
        free(err_text);
    }
    return 0;
}

/* One nfdump 1.7 CSV line (flowhunt import --format nfdump-csv) from src to dst. */
static int et_nfdump_line(char *out, size_t cap, const char *src, const char *dst, int pkts,
                          int bytes)
{
    return snprintf(out, cap,
                    "2024-03-01 00:00:03,2024-03-01 00:00:04,0.746,%s,%s,5228,443,TCP,...AP.SF,0,"
                    "0,%d,%d,0,0,1,12,0,0,0,24,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,"
                    "00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,"
                    "0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,"
                    "127.0.0.1,0/0,1,2026-11-29 04:46:54.573\n",
                    src, dst, pkts, bytes);
}

/* Imports n flows (10 packets each, src[i] -> dst[i] of bytes[i]) into the store dir, through
 * an nfdump CSV file at csv. 0, or the test's failure. */
static int et_import_flows(const char *dir, const char *csv, const char *const *src,
                           const char *const *dst, const int *bytes, size_t n)
{
    char text[8192];
    size_t len = (size_t)snprintf(
        text, sizeof text, "%s",
        "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,"
        "dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,"
        "mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)et_nfdump_line(text + len, sizeof text - len, src[i], dst[i], 10, bytes[i]);
    ASSERT_LT(len, sizeof text);
    et_write(csv, text, len);
    char *out = NULL;
    ASSERT_EQ(
        test_runf(&out, "%s import %s --format nfdump-csv %s 2>&1", test_bin("flowhunt"), dir, csv),
        0);
    free(out);
    return 0;
}

/* Every context key of one JSON line (PREFIX_country, _asn, _as_org for each of `fields`)
 * against en_lookup of the line's address in that field. */
static void et_check_ctx_json(en_ctx_t *en, const char *line, const char *const *fields, int n,
                              const char *const *prefix)
{
    json_error_t je;
    json_t *o = json_loads(line, 0, &je);
    ASSERT_NOT_NULL(o);
    for (int f = 0; f < n; f++) {
        char k[64];
        flow_addr_t a = et_addr(json_string_value(json_object_get(o, fields[f])));
        hunt_geo_t g;
        int known = en_lookup(en, &a, &g);
        snprintf(k, sizeof k, "%s_country", prefix[f]);
        json_t *c = json_object_get(o, k);
        ASSERT_NOT_NULL(c); /* present, null or not */
        if (known && g.has_geo && g.country[0])
            ASSERT_STR_EQ(json_string_value(c), g.country);
        else
            ASSERT(json_is_null(c));
        snprintf(k, sizeof k, "%s_asn", prefix[f]);
        c = json_object_get(o, k);
        ASSERT_NOT_NULL(c);
        if (known && g.has_asn)
            ASSERT_EQ(json_integer_value(c), (json_int_t)g.asn);
        else
            ASSERT(json_is_null(c));
        snprintf(k, sizeof k, "%s_as_org", prefix[f]);
        c = json_object_get(o, k);
        ASSERT_NOT_NULL(c);
        if (known && g.has_asn && g.as_org[0])
            ASSERT_STR_EQ(json_string_value(c), g.as_org);
        else
            ASSERT(json_is_null(c));
    }
    json_decref(o);
}

/* The CSV report carries the peer's context as JSON's peer_detail does (it had none: a
 * spreadsheet of --geoip --asn findings showed neither country nor AS): five columns after
 * id_recorded, empty when the databases do not know the peer. Intel findings towards an
 * address with city, country and AS (81.2.69.160: London, GB, no AS in the ASN test
 * database), one with an AS only (1.128.0.0: AS1221), one in neither (192.0.2.9). */
TEST_IMPL(enrich_hunt_csv_peer_context)
{
    et_unbuffered();
    const char *tmp = test_tmpdir();
    char log[600], dir[600], feed[600];
    snprintf(log, sizeof log, "%s/ctx-conn.log", tmp);
    snprintf(dir, sizeof dir, "%s/ctx-store", tmp);
    snprintf(feed, sizeof feed, "%s/ctx-feed.txt", tmp);
    static const char *const peers[3] = {"81.2.69.160", "1.128.0.0", "192.0.2.9"};
    FILE *f = test_zeek_conn_create(log);
    ASSERT_NOT_NULL(f);
    for (int i = 0; i < 3; i++)
        fprintf(f, "%.6f\tC%d\t10.0.0.5\t%d\t%s\t443\ttcp\t1.0\t300\t600\tSF\t3\t456\t3\t756\n",
                1709283600.0 + i * 60, i, 40000 + i, peers[i]);
    fclose(f);
    test_zeek_import(dir, log);
    static const char feed1[] = "81.2.69.160\n1.128.0.0\n192.0.2.9\n";
    et_write(feed, feed1, strlen(feed1));
    char *out = NULL;
    int rc = test_runf(&out,
                       "%s hunt %s " ET_HUNT_ARGS " --hunts intel --intel %s --geoip %s --asn %s "
                       "--now 2024-03-02T00:00:00Z --format csv 2>/dev/null",
                       test_bin("flowhunt"), dir, feed, et_mmdb("GeoIP2-City-Test.mmdb"),
                       et_mmdb("GeoLite2-ASN-Test.mmdb"));
    ASSERT_EQ(rc, 1);
    ASSERT_NOT_NULL(strstr(out, ",id_recorded,peer_country,peer_country_name,peer_city,peer_asn,"
                                "peer_as_org,conversations_command\n"));
    static const char *const want[3] = {",false,GB,United Kingdom,London,,\n",
                                        ",false,,,,1221,Telstra Pty Ltd\n", ",false,,,,,\n"};
    int rows = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        if (strncmp(line, "TH-", 3) != 0)
            continue;
        rows++;
        int k = strstr(line, ",81.2.69.160,") ? 0 : strstr(line, ",1.128.0.0,") ? 1 : 2;
        /* the peer's context, then the last column: the finding's conv command */
        char ctx[240];
        snprintf(ctx, sizeof ctx, "%.*s,flowhunt conv ", (int)strlen(want[k]) - 1, want[k]);
        if (!strstr(line, ctx))
            TEST_FAIL_AT("%s: the line has no %s:\n%s", peers[k], ctx, line);
    }
    ASSERT_EQ(rows, 3);
    free(out);

    /* text and HTML say the same; an AS without an organisation (12.81.96.0/19 is AS7018 with
     * none) ends at its number, with no blank after it */
    static const char feed2[] = "81.2.69.160\n1.128.0.0\n12.81.96.0\n";
    et_write(feed, feed2, strlen(feed2));
    f = test_zeek_conn_create(log);
    ASSERT_NOT_NULL(f);
    fprintf(f, "1709283600.0\tD0\t10.0.0.5\t40000\t12.81.96.0\t443\ttcp\t1."
               "0\t300\t600\tSF\t3\t456\t3\t756\n");
    fclose(f);
    test_zeek_import(dir, log);
    static const char *const fmt[2] = {"text", "html"};
    static const char *const want_ctx[2][3] = {
        {"  peer_context: 81.2.69.160, London, United Kingdom (GB)\n",
         "  peer_context: 1.128.0.0, AS1221 Telstra Pty Ltd\n",
         "  peer_context: 12.81.96.0, AS7018\n"},
        {"<th>Peer context</th><td>London, United Kingdom (GB)</td>",
         "<th>Peer context</th><td>AS1221 Telstra Pty Ltd</td>",
         "<th>Peer context</th><td>AS7018</td>"}};
    for (int k = 0; k < 2; k++) {
        rc = test_runf(&out,
                       "%s hunt %s " ET_HUNT_ARGS " --hunts intel --intel %s --geoip %s --asn %s "
                       "--now 2024-03-02T00:00:00Z --format %s 2>/dev/null",
                       test_bin("flowhunt"), dir, feed, et_mmdb("GeoIP2-City-Test.mmdb"),
                       et_mmdb("GeoLite2-ASN-Test.mmdb"), fmt[k]);
        ASSERT_EQ(rc, 1);
        for (int i = 0; i < 3; i++)
            if (!strstr(out, want_ctx[k][i]))
                TEST_FAIL_AT("%s: no \"%s\" in\n%s", fmt[k], want_ctx[k][i], out);
        free(out);
    }
    return 0;
}

/* flowhunt top and cat --geoip/--asn: after each address field (top) or as src_/dst_ columns
 * (cat) the country, ASN and organisation, the databases' answers (known ones checked by
 * value, every cell against en_lookup), absent ones as -, an empty cell or null; the sums and
 * the other columns are those without the context. */
TEST_IMPL(enrich_context_columns_top_cat)
{
    et_unbuffered();
    const char *city = et_mmdb("GeoIP2-City-Test.mmdb"), *asn = et_mmdb("GeoLite2-ASN-Test.mmdb");
    const char *tmp = test_tmpdir();
    char dir[600], csv[600];
    snprintf(dir, sizeof dir, "%s/ctx", tmp);
    snprintf(csv, sizeof csv, "%s/flows.csv", tmp);
    /* 81.2.69.160: London (no AS in the ASN test database); 1.128.0.1: AS1221; 2001:218::1:
     * Japan; 192.0.2.1: in neither. Bytes set their order. */
    static const char *const src[] = {"10.0.0.5", "10.0.0.5", "10.0.0.6",
                                      "fd00::6",  "10.0.0.7", "1.128.0.1"};
    static const char *const dst[] = {"81.2.69.160", "81.2.69.160", "1.128.0.1",
                                      "2001:218::1", "192.0.2.1",   "10.0.0.6"};
    static const int bytes[] = {5000, 4000, 7000, 3000, 500, 900};
    if (et_import_flows(dir, csv, src, dst, bytes, 6) != 0)
        return -1;
    char *out = NULL;
    ASSERT_EQ(test_runf(&out,
                        "%s top %s --by dstip --order bytes -n 0 --format csv --geoip %s --asn %s",
                        test_bin("flowhunt"), dir, city, asn),
              0);
    ASSERT_STR_EQ(out, "dstip,dstip_country,dstip_asn,dstip_as_org,flows,packets,bytes\n"
                       "81.2.69.160,GB,,,2,20,9000\n"
                       "1.128.0.1,,1221,Telstra Pty Ltd,1,10,7000\n"
                       "2001:218::1,JP,,,1,10,3000\n"
                       "10.0.0.6,,,,1,10,900\n"
                       "192.0.2.1,,,,1,10,500\n");
    free(out);
    /* every cell against the library's own answer, for both address fields, as JSON */
    ASSERT_EQ(test_runf(&out, "%s top %s --by srcip,dstip -n 0 --format json --geoip %s --asn %s",
                        test_bin("flowhunt"), dir, city, asn),
              0);
    en_ctx_t *en = et_open_city_asn();
    static const char *const fields[] = {"srcip", "dstip"};
    int lines = 0;
    char *sv = NULL;
    for (char *line = strtok_r(out, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv), lines++)
        et_check_ctx_json(en, line, fields, 2, fields);
    ASSERT_EQ(lines, 5); /* (10.0.0.5, 81.2.69.160) once, with both of its flows */
    free(out);
    /* cat: the same cells per flow, where --fields puts them, or after every column */
    ASSERT_EQ(test_runf(&out,
                        "%s cat %s --fields src_addr,dst_addr,dst_country,dst_asn,dst_as_org,"
                        "src_as_org,bytes --geoip %s --asn %s | LC_ALL=C sort",
                        test_bin("flowhunt"), dir, city, asn),
              0);
    ASSERT_STR_EQ(out, "1.128.0.1,10.0.0.6,,,,Telstra Pty Ltd,900\n"
                       "10.0.0.5,81.2.69.160,GB,,,,4000\n"
                       "10.0.0.5,81.2.69.160,GB,,,,5000\n"
                       "10.0.0.6,1.128.0.1,,1221,Telstra Pty Ltd,,7000\n"
                       "10.0.0.7,192.0.2.1,,,,,500\n"
                       "fd00::6,2001:218::1,JP,,,,3000\n"
                       "src_addr,dst_addr,dst_country,dst_asn,dst_as_org,src_as_org,bytes\n");
    free(out);
    ASSERT_EQ(test_runf(&out, "%s cat %s --format json --geoip %s --asn %s", test_bin("flowhunt"),
                        dir, city, asn),
              0);
    static const char *const cat_fields[] = {"src_addr", "dst_addr"}, *const sides[] = {"src",
                                                                                        "dst"};
    lines = 0;
    for (char *line = strtok_r(out, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv), lines++)
        et_check_ctx_json(en, line, cat_fields, 2, sides);
    ASSERT_EQ(lines, 6);
    free(out);
    en_close(en);
    /* the flow columns are those of a plain cat; context needs its database; not as text */
    char *plain_cat, *ctx_cat;
    ASSERT_EQ(test_runf(&plain_cat, "%s cat %s", test_bin("flowhunt"), dir), 0);
    ASSERT_EQ(test_runf(&ctx_cat, "%s cat %s --geoip %s | cut -d, -f1-%d", test_bin("flowhunt"),
                        dir, city, FLOW_N_COLS),
              0);
    ASSERT_STR_EQ(ctx_cat, plain_cat);
    free(plain_cat);
    free(ctx_cat);
    ASSERT_EQ(test_runf(&out, "{ %s cat %s --fields dst_country --asn %s 2>&1; }",
                        test_bin("flowhunt"), dir, asn),
              2);
    ASSERT_NOT_NULL(strstr(out, "--fields dst_country needs --geoip\n")); /* the option's name */
    free(out);
    ASSERT_EQ(test_runf(NULL, "%s cat %s --fields src_addr,bytes --asn %s 2>/dev/null",
                        test_bin("flowhunt"), dir, asn),
              2); /* a database no column reads: a forgotten name, not silence */
    ASSERT_EQ(test_runf(&out, "{ %s cat %s --format text --asn %s 2>&1; }", test_bin("flowhunt"),
                        dir, asn),
              2);
    ASSERT_NOT_NULL(strstr(out, "--fields, --geoip and --asn are for --format csv and json"));
    free(out);
    ASSERT_EQ(test_runf(NULL, "%s cat %s --asn %s 2>/dev/null", test_bin("flowhunt"), dir, csv), 2);
    /* the text table: the columns named, unknowns as -; with --geoip alone no AS columns */
    ASSERT_EQ(test_runf(&out, "%s top %s --by dstip --order bytes -n 2 --geoip %s",
                        test_bin("flowhunt"), dir, city),
              0);
    char *nl = strchr(out, '\n');
    ASSERT_NOT_NULL(nl);
    *nl = '\0';
    ASSERT_NOT_NULL(strstr(out, "dstip_country"));
    ASSERT_NULL(strstr(out, "_asn"));
    ASSERT_NOT_NULL(strstr(nl + 1, " GB "));
    free(out);
    /* the sums and the order are those of the plain table */
    char *plain, *ctx;
    ASSERT_EQ(test_runf(&plain, "%s top %s --by srcip,dstip -n 0 --format csv",
                        test_bin("flowhunt"), dir),
              0);
    ASSERT_EQ(test_runf(&ctx,
                        "%s top %s --by srcip,dstip -n 0 --format csv --asn %s | cut -d, -f1,4,7-",
                        test_bin("flowhunt"), dir, asn),
              0);
    ASSERT_STR_EQ(ctx, plain);
    free(plain);
    free(ctx);
    /* refused before reading a flow: no address in the key, a database that is not one */
    ASSERT_EQ(test_runf(&out, "{ %s top %s --by dstport --geoip %s 2>&1; }", test_bin("flowhunt"),
                        dir, city),
              2);
    ASSERT_NOT_NULL(strstr(out, "--geoip and --asn describe addresses; --by dstport has none"));
    free(out);
    ASSERT_EQ(test_runf(NULL, "%s top %s --by dstip --asn %s 2>/dev/null", test_bin("flowhunt"),
                        dir, csv),
              2);
    return 0;
}

/* flowhunt top as a text table pads by characters, not bytes: MaxMind's ISP test database
 * names 23.32.32.1's AS "INTERNEXA Brasil Operadora de Telecomunicações S.A" (two letters of
 * two bytes each), and every line of the table, that organisation's and its neighbours',
 * is as many characters wide, the sums right-aligned under their headers. Padded by bytes,
 * that row was two columns narrower than the others. */
TEST_IMPL(enrich_top_text_pads_utf8)
{
    et_unbuffered();
    const char *isp = et_mmdb("GeoIP2-ISP-Test.mmdb");
    const char *tmp = test_tmpdir();
    char dir[600], csv[600];
    snprintf(dir, sizeof dir, "%s/u8", tmp);
    snprintf(csv, sizeof csv, "%s/flows.csv", tmp);
    static const char *const src[] = {"10.0.0.5", "10.0.0.5", "10.0.0.5"};
    static const char *const dst[] = {"1.128.0.1", "23.32.32.1", "24.38.243.1"};
    static const int bytes[] = {1000, 2000, 3000};
    if (et_import_flows(dir, csv, src, dst, bytes, 3) != 0)
        return -1;
    char *out = NULL;
    ASSERT_EQ(test_runf(&out, "%s top %s --by dstip --order bytes -n 0 --asn %s",
                        test_bin("flowhunt"), dir, isp),
              0);
    ASSERT_NOT_NULL(strstr(out, " INTERNEXA Brasil Operadora de Telecomunica\xc3\xa7\xc3\xb5"
                                "es S.A "));
    ASSERT_NOT_NULL(strstr(out, " Telstra Pty Ltd "));
    size_t width = 0;
    int lines = 0;
    char *sv = NULL;
    for (char *line = strtok_r(out, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv), lines++) {
        size_t w = utf8_chars(line, strlen(line));
        if (lines == 0)
            width = w;
        else if (w != width)
            TEST_FAIL_AT("line %d is %zu characters wide, the header %zu:\n%s", lines, w, width,
                         line);
    }
    ASSERT_EQ(lines, 4); /* the header and three addresses */
    free(out);
    return 0;
}

/* en_cell on an organisation the test databases do not have: a comma, quotes, a control byte
 * and a backslash, as CSV (RFC 4180 quoting), JSON (escapes) and text ('?'); and what is not
 * known is -1. */
TEST_IMPL(enrich_cell_escaping)
{
    hunt_geo_t g;
    memset(&g, 0, sizeof g);
    g.has_asn = 1;
    g.asn = 4200000000u;
    snprintf(g.as_org, sizeof g.as_org, "Foo, \"Bar\"\x01\\ Ltd");
    char out[EN_CELL_MAX];
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_CSV), 20);
    ASSERT_STR_EQ(out, "\"Foo, \"\"Bar\"\"\x01\\ Ltd\"");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_JSON), 24);
    ASSERT_STR_EQ(out, "Foo, \\\"Bar\\\"\\u0001\\\\ Ltd");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_TEXT), 16);
    ASSERT_STR_EQ(out, "Foo, \"Bar\"?\\ Ltd");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ASN, EN_OUT_JSON), 10);
    ASSERT_STR_EQ(out, "4200000000");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_COUNTRY, EN_OUT_CSV), -1); /* no GeoIP answer */
    /* a plain organisation is not quoted; a country is its code */
    snprintf(g.as_org, sizeof g.as_org, "Telstra Pty Ltd");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_CSV), 15);
    ASSERT_STR_EQ(out, "Telstra Pty Ltd");
    g.has_geo = 1;
    snprintf(g.country, sizeof g.country, "GB");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_COUNTRY, EN_OUT_JSON), 2);
    ASSERT_STR_EQ(out, "GB");
    g.has_asn = 0;
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ASN, EN_OUT_CSV), -1);
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_CSV), -1);
    /* one that starts like a spreadsheet formula is quoted and led by ' (a database or a
     * feed is anyone's text) */
    g.has_asn = 1;
    snprintf(g.as_org, sizeof g.as_org, "=HYPERLINK(\"x\")");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_CSV), 20);
    ASSERT_STR_EQ(out, "\"'=HYPERLINK(\"\"x\"\")\"");
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_TEXT), 15);
    /* the longest organisation, every byte escaped, fits */
    g.has_asn = 1;
    memset(g.as_org, 0x1f, sizeof g.as_org - 1);
    g.as_org[sizeof g.as_org - 1] = '\0';
    ASSERT_EQ(en_cell(out, &g, EN_CELL_ORG, EN_OUT_JSON), (int)(6 * (sizeof g.as_org - 1)));
    ASSERT((size_t)(6 * (sizeof g.as_org - 1)) < EN_CELL_MAX);
    return 0;
}
