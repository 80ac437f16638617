/* test_html.c: the HTML report, from hand-built findings to a real run seen by a browser.
 *
 * A page an analyst opens must show what the data says and nothing the data could smuggle in:
 * findings whose every string carries <, >, &, " and ' must come out escaped (no element, no
 * attribute break-out), the page must reference nothing on the network, and the same findings
 * must give the same bytes. End to end, flowgen's traffic is stored by flowhuntd and hunted
 * twice with the same --now and --no-state, once as JSON and once as HTML: every Hunt ID of the
 * JSON run must be an element of the page, each beacon, scan and DNS finding must carry its
 * pictures, and headless Chromium (Debian's, from the install step) must render the page: its
 * DOM holds every Hunt ID and its screenshot is a real PNG of the requested size.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hunt.h"
#include "task.h"
#include "utf8.h"

static int ht_count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The whole page for findings v[0..n), as a NUL-terminated string. */
static char *ht_page(hunt_finding_t *const *v, size_t n, const hr_opts_t *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ASSERT_NOT_NULL(m);
    hh_print(m, v, n, o, 3, o->min_risk > HUNT_RISK_LOW ? 101 : 0);
    ASSERT_EQ(fclose(m), 0);
    return buf;
}

TEST_IMPL(html_escape_and_self_contained)
{
    static const char evil[] = "<script>alert(\"x\")</script> & 'q'";
    hunt_findings_t l = {0};
    hunt_finding_t *f = hunt_finding_new(&l, "beacon");
    hunt_finding_tech(f, "T1571");
    hunt_finding_tech(f, "T1071");
    ASSERT_EQ(flow_addr_parse(&f->host, "10.0.0.5"), 0);
    snprintf(f->peer, sizeof f->peer, "<img src=x onerror=1>");
    f->port = 4444;
    f->proto = 6;
    f->risk = HUNT_RISK_HIGH;
    f->confidence = HUNT_CONF_MEDIUM;
    f->first_seen = 1709251200000ull; /* 2024-03-01T00:00:00Z */
    f->last_seen = f->first_seen + 3600000;
    snprintf(f->summary, sizeof f->summary, "%s\x01", evil);
    snprintf(f->action, sizeof f->action, "block \"it\" & <tell>");
    snprintf(f->filter, sizeof f->filter, "host 10.0.0.5 and port 4444");
    snprintf(f->host_name, sizeof f->host_name, "<pc-1>");
    snprintf(f->user, sizeof f->user, "o'brien");
    snprintf(f->hunt_id, sizeof f->hunt_id, "TH-HUNTIN-20240301-0001");
    snprintf(f->fingerprint, sizeof f->fingerprint, "0123456789abcdef");
    f->peer_geo.has_asn = 1;
    f->peer_geo.asn = 64500;
    snprintf(f->peer_geo.as_org, sizeof f->peer_geo.as_org, "Evil & <Co>");
    hev_str(&f->ev, "note", "a<b>&\"c\"");
    hev_int(&f->ev, "connections", 42);
    hev_str(&f->ev, "multi", "line1\nline2");
    /* Latin-1 from a feed, UTF-8 kept, a sequence cut short at the end */
    hev_str(&f->ev, "latin1", "caf\xe9 na\xc3\xafve \xf0\x9f\x90");
    /* characters HTML forbids in text although they are UTF-8: a C1 control (U+0085) and a
     * noncharacter (U+FDD0), which parsers report as errors */
    hev_str(&f->ev, "c1",
            "a\xc2\x85"
            "b\xef\xb7\x90"
            "c");
    /* a histogram with this host's bar marked, and a timeline */
    double x[4] = {0, 10, 20, 30}, y[4] = {1, 5, 2, 0};
    hunt_finding_series(f, HUNT_SERIES_BARS, "Intervals <between>", "s", "intervals", x, y, 4);
    f->series[0].mark = 2;
    double tx[3] = {1709251200000.0, 1709253000000.0, 1709254800000.0}, ty[3] = {100, 300, 200};
    hunt_finding_series(f, HUNT_SERIES_POINTS, "Timeline", "ms since epoch", "bytes", tx, ty, 3);

    hunt_finding_t *g = hunt_finding_new(&l, "scan");
    hunt_finding_tech(g, "T1046");
    ASSERT_EQ(flow_addr_parse(&g->host, "2001:db8::9"), 0);
    g->risk = HUNT_RISK_MEDIUM;
    g->confidence = HUNT_CONF_LOW;
    g->suppressed = 1;
    snprintf(g->suppressed_reason, sizeof g->suppressed_reason, "allow-listed (<scanner>)");
    snprintf(g->summary, sizeof g->summary, "authorised scan");
    snprintf(g->hunt_id, sizeof g->hunt_id, "TH-HUNTIN-20240301-0002");
    /* one bar of an hour: its axis ends where the bar does (it read 00:00:00 to 00:00:00,
     * the width of a lone bar unknown) */
    double hx[1] = {1709251200000.0}, hy[1] = {5};
    hunt_finding_series(g, HUNT_SERIES_BARS, "Connected minutes per hour", "ms since epoch",
                        "minutes connected", hx, hy, 1);
    g->series[0].x_end = 1709254800000.0;

    hp_stats_t prep = {.rows = 1000, .convs = 600, .internal_hosts = 12, .partitions = 1};
    hr_opts_t o = {.dir = "/data/<dir>&",
                   .format = HR_FMT_HTML,
                   .now_ms = 1709337600000ull,
                   .from_ms = 1709251200000ull,
                   .to_ms = 1709337600000ull,
                   .prep = &prep,
                   .config_source = "defaults"};
    char *page = ht_page(l.v, l.n, &o);

    /* nothing from the data becomes markup */
    ASSERT_EQ(ht_count(page, "<script"), 0);
    ASSERT_EQ(ht_count(page, "<img"), 0);
    ASSERT_EQ(ht_count(page, "<pc-1>"), 0);
    ASSERT_EQ(ht_count(page, "<tell>"), 0);
    ASSERT_EQ(ht_count(page, "<Co>"), 0);
    ASSERT_EQ(ht_count(page, "<between>"), 0);
    ASSERT_EQ(ht_count(page, "<scanner>"), 0);
    ASSERT_EQ(ht_count(page, "<dir>"), 0);
    ASSERT_EQ(ht_count(page, "\x01"), 0);
    /* the page says charset utf-8 and is: other bytes are U+FFFD, one each */
    for (const unsigned char *p = (const unsigned char *)page; *p;) {
        size_t n = utf8_seq_len(p);
        if (n == 0)
            TEST_FAIL_AT("byte 0x%02x at %zu is not UTF-8", *p,
                         (size_t)(p - (unsigned char *)page));
        p += n;
    }
    ASSERT_NOT_NULL(strstr(page, "caf&#xfffd; na\xc3\xafve &#xfffd;&#xfffd;&#xfffd;"));
    ASSERT_NOT_NULL(strstr(page, "a&#xfffd;b&#xfffd;c"));
    /* what the page leaves out is said (acknowledged ones here; --min-risk below) */
    ASSERT_NOT_NULL(strstr(page, "Not shown: 3 acknowledged (flowhunt acks).</p>"));
    {
        /* a page read alone said "No findings at this level" under the levels it hid */
        hr_opts_t hi = o;
        hi.min_risk = HUNT_RISK_HIGH;
        char *p2 = ht_page(l.v, l.n, &hi);
        ASSERT_NOT_NULL(strstr(p2, "Not shown: 3 acknowledged (flowhunt acks); 101 below High "
                                   "(--min-risk).</p>"));
        ASSERT_EQ(ht_count(p2, "<p>Not shown: below the --min-risk level.</p>"), 2);
        free(p2);
    }
    ASSERT_NOT_NULL(strstr(page, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; "
                                 "&#39;q&#39;&#xfffd;"));
    ASSERT_NOT_NULL(strstr(page, "&lt;img src=x onerror=1&gt;"));
    ASSERT_NOT_NULL(strstr(page, "block &quot;it&quot; &amp; &lt;tell&gt;"));
    ASSERT_NOT_NULL(strstr(page, "10.0.0.5 (&lt;pc-1&gt;)"));
    ASSERT_NOT_NULL(strstr(page, "o&#39;brien"));
    ASSERT_NOT_NULL(strstr(page, "AS64500 Evil &amp; &lt;Co&gt;"));
    ASSERT_NOT_NULL(strstr(page, "/data/&lt;dir&gt;&amp;"));
    /* the index: an IPv6 address may wrap at its colons only, an IPv4 one never */
    ASSERT_NOT_NULL(strstr(page, "<td class=\"addr\">10.0.0.5</td><td class=\"addr\">&lt;img "
                                 "src=x onerror=1&gt;</td>"));
    ASSERT_NOT_NULL(strstr(page, "<td class=\"addr\">2001:<wbr>db8:<wbr>:<wbr>9</td>"));
    /* the evidence as a two-column table, continuation lines kept in their row */
    ASSERT_NOT_NULL(strstr(page, "<tr><th>note</th><td>a&lt;b&gt;&amp;&quot;c&quot;</td></tr>"));
    ASSERT_NOT_NULL(strstr(page, "<tr><th>connections</th><td>42</td></tr>"));
    ASSERT_NOT_NULL(strstr(page, "<tr><th>multi</th><td>line1<br>line2</td></tr>"));
    /* the facts */
    ASSERT_NOT_NULL(strstr(page, "id=\"TH-HUNTIN-20240301-0001\""));
    ASSERT_NOT_NULL(strstr(page, "T1571 Non-Standard Port"));
    ASSERT_NOT_NULL(strstr(page, "also T1071 Application Layer Protocol"));
    ASSERT_NOT_NULL(strstr(page, "&lt;img src=x onerror=1&gt; port 4444/tcp"));
    /* the directory quoted for a shell (< and & are special to it), then escaped for HTML */
    ASSERT_NOT_NULL(strstr(page, "flowhunt cat &#39;/data/&lt;dir&gt;&amp;&#39; --from "
                                 "2024-03-01T00:00:00.000Z --to 2024-03-01T01:00:00.001Z "
                                 "--sort start &#39;host 10.0.0.5 and port 4444&#39;"));
    /* and the timeline of them: an hour's span in 1-minute bins from its first minute */
    ASSERT_NOT_NULL(strstr(page,
                           "<tr><th>Timeline</th><td><code>flowhunt count "
                           "&#39;/data/&lt;dir&gt;&amp;&#39; --from 2024-03-01T00:00:00.000Z --to "
                           "2024-03-01T01:00:00.001Z --bin 1m &#39;host 10.0.0.5 and port "
                           "4444&#39;</code>"));
    ASSERT_NOT_NULL(strstr(page, "1000 flow records"));
    {
        const char *c = strstr(page, "Connected minutes per hour");
        ASSERT_NOT_NULL(c);
        char *svg = strndup(c, (size_t)(strstr(c, "</svg>") - c));
        ASSERT_NOT_NULL(strstr(svg, ">00:00</text>"));
        ASSERT_NOT_NULL(strstr(svg, ">01:00</text>"));
        free(svg);
    }
    /* the pictures: three charts (the lone bar's too), the marked bar, the time axis */
    ASSERT_EQ(ht_count(page, "<svg"), 3);
    ASSERT_EQ(ht_count(page, "class=\"bar mark\""), 1);
    ASSERT_EQ(ht_count(page, "class=\"bar\""), 4);
    ASSERT_EQ(ht_count(page, "<circle"), 3);
    ASSERT_NOT_NULL(strstr(page, "this host"));
    ASSERT_NOT_NULL(strstr(page, "time (UTC) from 2024-03-01 00:00"));
    /* grouped by risk; the suppressed finding after the others, marked */
    const char *high = strstr(page, "id=\"risk-high\""), *supp = strstr(page, "id=\"suppressed\"");
    const char *f1 =
        strstr(page, "<article class=\"finding risk-high\" id=\"TH-HUNTIN-20240301-0001\"");
    const char *f2 = strstr(page, "<article class=\"finding risk-medium suppressed\" "
                                  "id=\"TH-HUNTIN-20240301-0002\"");
    ASSERT(high && supp && f1 && f2);
    ASSERT(high < f1 && f1 < supp && supp < f2);
    ASSERT_NOT_NULL(strstr(f2, "SUPPRESSED"));
    ASSERT_NOT_NULL(strstr(f2, "allow-listed (&lt;scanner&gt;)"));
    ASSERT_NOT_NULL(strstr(page, "High 1</span>"));
    ASSERT_NOT_NULL(strstr(page, "Medium 0</span>")); /* the suppressed one is not counted */
    ASSERT_NOT_NULL(strstr(page, "Suppressed 1</span>"));
    /* self-contained, and the same findings give the same bytes */
    ASSERT_EQ(ht_count(page, "http://"), 0);
    ASSERT_EQ(ht_count(page, "https://"), 0);
    ASSERT_EQ(ht_count(page, "src=\""), 0);
    char *again = ht_page(l.v, l.n, &o);
    ASSERT_STR_EQ(page, again);
    printf("# page of 2 findings: %zu bytes, escaped and self-contained\n", strlen(page));
    free(again);
    free(page);
    hunt_findings_free(&l);
    return 0;
}

/* ---- a real run ------------------------------------------------------------------------------ */

#define HT_ARGS                                                                                    \
    "--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --now 2024-03-02T00:00:00Z --no-state"

/* flowgen's traffic stored and hunted as JSON (json) and as HTML (html); returns the JSON. */
static char *ht_hunt(int flows, int seed, const char *hours, char *html, size_t cap)
{
    const char *t = test_tmpdir();
    char dir[600], pcap[600], json[600];
    snprintf(dir, sizeof dir, "%s/data", t);
    snprintf(pcap, sizeof pcap, "%s/gen.pcap", t);
    snprintf(json, sizeof json, "%s/report.jsonl", t);
    snprintf(html, cap, "%s/report.html", t);
    test_flowgen_store(dir, pcap, "",
                       "--format ipfix --flows %d --seed %d --start 2024-03-01T00:00:00Z "
                       "--hours %s --exporters 2 --truth %s/truth",
                       flows, seed, hours, t);
    /* exit 1: findings reported, in both formats */
    ASSERT_EQ(
        test_runf(NULL, "%s hunt %s " HT_ARGS " --format json -o %s", test_bin("flowhunt"), dir, json),
        1);
    ASSERT_EQ(
        test_runf(NULL, "%s hunt %s " HT_ARGS " --format html -o %s", test_bin("flowhunt"), dir, html),
        1);
    size_t len;
    char *text = (char *)test_read_file(json, &len);
    ASSERT_NOT_NULL(text);
    return text;
}

/* The next "key":"value" of the JSON line at *p; 0 at the end of the lines. */
static int ht_next(const char **p, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *s = strstr(*p, pat);
    if (!s)
        return 0;
    s += strlen(pat);
    size_t n = strcspn(s, "\"");
    ASSERT(n < cap);
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + n;
    return 1;
}

TEST_IMPL(html_pipeline_report)
{
    char html[700];
    char *json = ht_hunt(20000, 9, "24", html, sizeof html);
    size_t len;
    char *page = (char *)test_read_file(html, &len);
    ASSERT_NOT_NULL(page);
    ASSERT_EQ(strncmp(page, "<!DOCTYPE html>", 15), 0);
    ASSERT_EQ(ht_count(page, "http://"), 0);
    ASSERT_EQ(ht_count(page, "https://"), 0);
    ASSERT_EQ(ht_count(page, "<script"), 0);
    int n = 0, per_hunt[3] = {0}, folded = 0, encrypted = 0;
    char id[64], hunt[32], want[128];
    for (const char *p = json; ht_next(&p, "hunt_id", id, sizeof id); n++) {
        ASSERT(ht_next(&p, "hunt", hunt, sizeof hunt));
        snprintf(want, sizeof want, "id=\"%s\"", id);
        if (!strstr(page, want))
            TEST_FAIL_AT("%s of the JSON run is not in the page", id);
        /* a folded finding (hunt_fold.c) is a row of its block, its pictures those of the
         * block's first */
        snprintf(want, sizeof want, "<tr class=\"folded\" id=\"%s\"", id);
        const char *row = strstr(page, want);
        if (row) {
            /* with its own risk and peer, as the JSON has them (a Low member of a Medium
             * block sat under Medium with neither) */
            char risk[16], peer[64] = "", cell[128];
            const char *q = strstr(json, id);
            ASSERT_NOT_NULL(q);
            char *line = strndup(q, strcspn(q, "\n"));
            const char *lp = line;
            if (!strstr(line, "\"peer\":null"))
                ASSERT(ht_next(&lp, "peer", peer, sizeof peer));
            lp = line;
            ASSERT(ht_next(&lp, "risk_level", risk, sizeof risk));
            free(line);
            char *r = strndup(row, (size_t)(strstr(row, "</tr>") - row));
            snprintf(cell, sizeof cell, "\">%s</span>", risk);
            ASSERT_NOT_NULL(strstr(r, cell));
            if (!strchr(peer, ':')) /* IPv6 peers are written with <wbr> */
                ASSERT_NOT_NULL(strstr(r, peer));
            free(r);
            folded++;
            continue;
        }
        snprintf(want, sizeof want, "id=\"%s\"", id);
        /* this finding's article, up to the next one: its pictures */
        const char *a = strstr(page, want), *end = strstr(a + 1, "<article");
        size_t alen = end ? (size_t)(end - a) : strlen(a);
        char *art = strndup(a, alen);
        if (strcmp(hunt, "beacon") == 0) {
            per_hunt[0]++;
            ASSERT_NOT_NULL(strstr(art, "Intervals between connections"));
            ASSERT_NOT_NULL(strstr(art, "Connections over time"));
        } else if (strcmp(hunt, "scan") == 0) {
            per_hunt[1]++;
            ASSERT(strstr(art, "Distinct targets over time") ||
                   strstr(art, "Distinct ports over time"));
        } else if (strcmp(hunt, "dns-exfil") == 0) {
            per_hunt[2]++;
            /* a host's finding: the hosts' volumes; a resolver's relay: its servers' query
             * sizes (a bar marked in both); encrypted DNS: its bytes up over time */
            if (strstr(art, "Bytes up per ")) {
                encrypted++;
                ASSERT_EQ(ht_count(art, "class=\"bar mark\""), 0);
            } else {
                ASSERT(strstr(art, "Upstream DNS bytes of the") ||
                       (strstr(art, "Bytes per query to each of the resolver") &&
                        strstr(art, ">this nameserver</text>")));
                ASSERT_EQ(ht_count(art, "class=\"bar mark\""), 1);
            }
        }
        free(art);
    }
    ASSERT_GE(n, 3);
    ASSERT_GE(per_hunt[0], 1);
    ASSERT_GE(per_hunt[1], 1);
    ASSERT_GE(per_hunt[2], 1);
    ASSERT_EQ(encrypted, 1); /* flowgen's encrypted-dns case */
    ASSERT_EQ(ht_count(page, "<article"), n - folded);
    /* same data, state and --now: the same bytes */
    char *again;
    ASSERT_EQ(test_runf(&again, "%s hunt %s/data " HT_ARGS " --format html", test_bin("flowhunt"),
                     test_tmpdir()),
              1);
    ASSERT_STR_EQ(page, again);
    printf("# %d findings (%d beacon, %d scan, %d dns-exfil; %d folded), %d charts, page %zu "
           "bytes\n",
           n, per_hunt[0], per_hunt[1], per_hunt[2], folded, ht_count(page, "<svg"), len);
    free(again);
    free(page);
    free(json);
    return 0;
}

TEST_IMPL(html_chromium_dom_and_screenshot)
{
    if (!test_have_tool("chromium"))
        SKIP("chromium is not installed (scripts/install-deps.sh installs Debian's): the HTML "
             "report cannot be opened in a browser here");
    char html[700];
    char *json = ht_hunt(3000, 42, "6", html, sizeof html); /* small: a browser is slow */
    const char *t = test_tmpdir();
    /* a private profile and HOME; bounded: killed after 60 s */
    char chr[700];
    snprintf(chr, sizeof chr,
             "HOME=%s timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu "
             "--no-first-run --user-data-dir=%s/chromium",
             t, t);
    char *dom;
    ASSERT_EQ(test_runf(&dom, "%s --dump-dom file://%s 2> %s/chromium.log", chr, html, t), 0);
    size_t dom_len = strlen(dom);
    ASSERT_EQ(test_runf(NULL,
                     "%s --screenshot=%s/shot.png --window-size=1280,2000 file://%s "
                     ">> %s/chromium.log 2>&1",
                     chr, t, html, t),
              0);
    char path[700];
    int n = 0;
    char id[64], want[128];
    for (const char *p = json; ht_next(&p, "hunt_id", id, sizeof id); n++) {
        snprintf(want, sizeof want, "id=\"%s\"", id);
        if (!strstr(dom, want))
            TEST_FAIL_AT("%s of the JSON run is not in Chromium's DOM (%zu bytes: %.300s)", id,
                         dom_len, dom);
    }
    ASSERT_GE(n, 3);
    /* the browser parsed the charts as SVG elements */
    size_t page_len;
    char *page = (char *)test_read_file(html, &page_len);
    ASSERT_NOT_NULL(page);
    ASSERT_GE(ht_count(dom, "<svg"), 1);
    ASSERT_EQ(ht_count(dom, "<svg"), ht_count(page, "<svg"));
    /* the screenshot: a PNG of the window's size, and more than a blank page */
    snprintf(path, sizeof path, "%s/shot.png", t);
    size_t png_len;
    uint8_t *png = test_read_file(path, &png_len);
    ASSERT_NOT_NULL(png);
    ASSERT_GE(png_len, 30000);
    ASSERT_MEM_EQ(png, "\x89PNG\r\n\x1a\n", 8);
    ASSERT_MEM_EQ(png + 12, "IHDR", 4);
    uint32_t w = (uint32_t)png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19];
    uint32_t h = (uint32_t)png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23];
    ASSERT_EQ(w, 1280);
    ASSERT_EQ(h, 2000);
    printf("# Chromium's DOM holds all %d hunt IDs and %d charts; screenshot %ux%u, %zu bytes\n", n,
           ht_count(dom, "<svg"), w, h, png_len);
    free(png);
    free(page);
    free(dom);
    free(json);
    return 0;
}
