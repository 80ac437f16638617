/* test_bounds.c: the collector's tables at their bounds (issue 6, "Security and bounds").
 *
 * A flood of spoofed sources fills the template cache and the exporter table; neither may
 * refuse a router that appears afterwards. These tests fill them past their bounds through the
 * real decoding path (ingest_datagram) and check that the least recently used scope or exporter
 * is what goes, that every eviction is counted exactly, that the evicted entries' counters are
 * folded into the aggregate and reach the segment rows, and that the templates saved for a
 * restart are those of the surviving scopes, in their order.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ingest.h"
#include "seg.h"
#include "task.h"
#include "tpl_store.h"

/* ---- a NetFlow v9 datagram (RFC 3954) ------------------------------------------------------ */

static size_t bt_put16(uint8_t *p, size_t o, uint32_t v)
{
    p[o] = (uint8_t)(v >> 8);
    p[o + 1] = (uint8_t)v;
    return o + 2;
}

static size_t bt_put32(uint8_t *p, size_t o, uint32_t v)
{
    o = bt_put16(p, o, v >> 16);
    return bt_put16(p, o, v & 0xffff);
}

#define BT_TPL 256     /* the template every test exporter defines */
#define BT_UNKNOWN 300 /* a template never defined: its data is held */
#define BT_SECS 1764000000u

/* Header (section 5.1), then optionally template BT_TPL (src, dst, bytes, packets; 4 bytes
 * each), then `n_rec` records of template `data_tpl` (none when 0). */
static size_t bt_v9(uint8_t *p, uint32_t seq, uint32_t source_id, int with_tpl, uint16_t data_tpl,
                    int n_rec)
{
    size_t o = bt_put16(p, 0, 9);
    o = bt_put16(p, o, (uint32_t)(with_tpl + n_rec));
    o = bt_put32(p, o, 100000 + seq);
    o = bt_put32(p, o, BT_SECS);
    o = bt_put32(p, o, seq);
    o = bt_put32(p, o, source_id);
    if (with_tpl) {
        static const uint16_t f[4] = {8, 12, 1, 2};
        o = bt_put16(p, o, 0);
        o = bt_put16(p, o, 4 + 4 + 4 * 4);
        o = bt_put16(p, o, BT_TPL);
        o = bt_put16(p, o, 4);
        for (int i = 0; i < 4; i++) {
            o = bt_put16(p, o, f[i]);
            o = bt_put16(p, o, 4);
        }
    }
    if (n_rec) {
        o = bt_put16(p, o, data_tpl);
        o = bt_put16(p, o, 4 + (uint32_t)n_rec * 16);
        for (int r = 0; r < n_rec; r++) {
            o = bt_put32(p, o, 0x0a000001u);
            o = bt_put32(p, o, 0xc0000200u + (uint32_t)r);
            o = bt_put32(p, o, 1000);
            o = bt_put32(p, o, 2);
        }
    }
    return o;
}

static void bt_sink(void *arg, const flow_rec_t *rec)
{
    (void)rec;
    (*(uint64_t *)arg)++;
}

/* 10.x.y.z for flood source i: all distinct. */
static flow_addr_t bt_flood_addr(uint32_t i)
{
    char s[32];
    snprintf(s, sizeof s, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    flow_addr_t a;
    ASSERT_EQ(flow_addr_parse(&a, s), 0);
    return a;
}

static int bt_dgram(ingest_t *in, const flow_addr_t *src, const uint8_t *p, size_t n)
{
    return ingest_datagram(in, src, p, n, (uint64_t)BT_SECS * 1000000000ull);
}

/* Whether the cache holds a scope, without creating it. */
static const tpl_scope_t *bt_find_scope(const tpl_cache_t *c, const flow_addr_t *a, uint32_t dom)
{
    for (uint32_t i = 0; i < c->n_scopes; i++)
        if (memcmp(c->scopes[i]->exporter.b, a->b, 16) == 0 && c->scopes[i]->domain == dom)
            return c->scopes[i];
    return NULL;
}

/* ---- the template cache at TPL_MAX_SCOPES ---------------------------------------------------- */

/* More scopes than the whole cache holds, from distinct synthetic exporters, while one router
 * exports steadily: the oldest flood scopes go (counted exactly, with what they held), the
 * steady router keeps its template, and a router appearing after the flood is decoded. */
TEST_IMPL(bounds_tpl_cache_full_evicts_lru)
{
    uint64_t flows = 0;
    ingest_t in;
    ingest_init(&in, INGEST_CLOCK_EXPORT, bt_sink, &flows);
    tpl_cache_t *c = &in.templates;
    uint8_t buf[1500];
    flow_addr_t steady, late;
    flow_addr_parse(&steady, "192.0.2.1");
    flow_addr_parse(&late, "198.51.100.9");
    ASSERT_EQ(bt_dgram(&in, &steady, buf, bt_v9(buf, 0, 1, 1, BT_TPL, 2)), 2);

    const uint32_t n_flood = TPL_MAX_SCOPES + 5000;
    uint64_t steady_flows = 2;
    for (uint32_t i = 0; i < n_flood; i++) {
        flow_addr_t a = bt_flood_addr(i);
        /* every tenth also sends data for a template it never defines: held, then dropped */
        size_t n = bt_v9(buf, 0, 7, 1, BT_UNKNOWN, i % 10 == 0);
        ASSERT_EQ(bt_dgram(&in, &a, buf, n), 0);
        ASSERT_LE(c->n_scopes, TPL_MAX_SCOPES);
        if (i % 100 == 99) {
            ASSERT_EQ(bt_dgram(&in, &steady, buf, bt_v9(buf, i, 1, 0, BT_TPL, 2)), 2);
            steady_flows += 2;
        }
    }
    /* every scope but the steady one's was used once; the first ones went */
    uint64_t n_ev = (uint64_t)n_flood + 1 - TPL_MAX_SCOPES;
    uint64_t n_ev_held = (n_ev + 9) / 10;
    ASSERT_EQ(c->n_scopes, TPL_MAX_SCOPES);
    ASSERT_UINT64_EQ(c->scopes_evicted_global, n_ev);
    ASSERT_UINT64_EQ(c->scopes_evicted, 0);
    ASSERT_UINT64_EQ(c->scopes_refused, 0);
    ASSERT_UINT64_EQ(c->evicted_scope_templates, n_ev);
    ASSERT_UINT64_EQ(c->templates_evicted, n_ev);
    ASSERT_UINT64_EQ(c->evicted_scope_held, n_ev_held);
    ASSERT_UINT64_EQ(c->evicted_stats.templates_learned, n_ev);
    ASSERT_UINT64_EQ(c->evicted_stats.sets_held, n_ev_held);
    /* the template records of spoofed sources do not outlive their scopes */
    ASSERT_EQ(c->n_exps, TPL_MAX_SCOPES);
    flow_addr_t gone = bt_flood_addr((uint32_t)n_ev - 1), kept = bt_flood_addr((uint32_t)n_ev);
    ASSERT_NULL(bt_find_scope(c, &gone, 7));
    ASSERT_NOT_NULL(bt_find_scope(c, &kept, 7));
    const tpl_scope_t *s = bt_find_scope(c, &steady, 1);
    ASSERT_NOT_NULL(s);
    ASSERT_NOT_NULL(tpl_get(s, BT_TPL));
    ASSERT_UINT64_EQ(flows, steady_flows);

    /* a router that appears after the flood: template and data in one datagram, then data */
    ASSERT_EQ(bt_dgram(&in, &late, buf, bt_v9(buf, 0, 3, 1, BT_TPL, 3)), 3);
    ASSERT_EQ(bt_dgram(&in, &late, buf, bt_v9(buf, 1, 3, 0, BT_TPL, 3)), 3);
    ASSERT_UINT64_EQ(c->scopes_evicted_global, n_ev + 1);
    ASSERT_UINT64_EQ(flows, steady_flows + 6);
    ASSERT_EQ(c->n_scopes, TPL_MAX_SCOPES);
    ingest_free(&in);
    return 0;
}

/* A segment ends: adds up the rows it gets. */
static void bt_take(exp_table_t *t, exp_interval_t *iv, uint64_t *dgrams, uint64_t *flows,
                    uint64_t *evicted_rows)
{
    uint32_t n;
    seg_exporter_stat_t *st = exp_interval_take(t, iv, &n);
    for (uint32_t k = 0; k < n; k++) {
        *dgrams += st[k].datagrams;
        *flows += st[k].flows;
        *evicted_rows += st[k].version == EXP_EVICTED_VERSION;
    }
    free(st);
}

/* Both tables small, a flood of single-datagram sources with data: the exporters' counters
 * that were evicted are in the aggregate, so the table still accounts for every datagram and
 * flow, and the segment rows add up to everything received. */
TEST_IMPL(bounds_ingest_counters_add_up)
{
    uint64_t flows = 0;
    ingest_t in;
    ingest_init(&in, INGEST_CLOCK_EXPORT, bt_sink, &flows);
    exp_table_init_limits(&in.exporters, 64, 4);
    tpl_cache_init_limit(&in.templates, 32);
    uint8_t buf[1500];
    flow_addr_t steady, late;
    flow_addr_parse(&steady, "192.0.2.1");
    flow_addr_parse(&late, "198.51.100.9");
    exp_interval_t iv = {0};
    uint64_t row_dgrams = 0, row_flows = 0, evicted_rows = 0;
    const uint32_t n_flood = 1000;
    for (uint32_t i = 0; i < n_flood; i++) {
        flow_addr_t a = bt_flood_addr(i);
        ASSERT_EQ(bt_dgram(&in, &a, buf, bt_v9(buf, 0, i % 3, 1, BT_TPL, 1 + i % 4)),
                  1 + (int)(i % 4));
        if (i % 20 == 0) /* more often than the cache's 32 new scopes */
            ASSERT_EQ(bt_dgram(&in, &steady, buf, bt_v9(buf, i, 1, 1, BT_TPL, 2)), 2);
        if (i % 300 == 299) /* a segment ends */
            bt_take(&in.exporters, &iv, &row_dgrams, &row_flows, &evicted_rows);
    }
    ASSERT_EQ(bt_dgram(&in, &late, buf, bt_v9(buf, 0, 3, 1, BT_TPL, 3)), 3);
    const exp_table_t *t = &in.exporters;
    ASSERT_EQ(t->n_exporters, 64);
    /* 1002 exporters seen, 64 kept; the steady one always among them */
    ASSERT_UINT64_EQ(t->evicted.exporters, n_flood + 2 - 64);
    ASSERT_UINT64_EQ(t->over_limit, 0);
    uint64_t dgrams = t->evicted.datagrams, dom_flows = t->evicted.flows;
    for (uint32_t i = 0; i < t->n_exporters; i++) {
        dgrams += t->list[i]->datagrams;
        for (uint32_t j = 0; j < t->list[i]->n_domains; j++)
            dom_flows += t->list[i]->domains[j]->flows;
    }
    ASSERT_UINT64_EQ(dgrams, in.datagrams);
    ASSERT_UINT64_EQ(dom_flows, flows);
    ASSERT_UINT64_EQ(flows, in.flows);
    /* the segment rows: every datagram and flow exactly once */
    bt_take(&in.exporters, &iv, &row_dgrams, &row_flows, &evicted_rows);
    uint32_t n;
    ASSERT_UINT64_EQ(row_dgrams, in.datagrams);
    ASSERT_UINT64_EQ(row_flows, flows);
    ASSERT_EQ(evicted_rows, 4); /* one per segment */
    ASSERT_NULL(exp_interval_take(&in.exporters, &iv, &n));
    ASSERT_EQ(n, 0);
    /* the template cache stayed at its bound and kept the steady and the late router */
    ASSERT_EQ(in.templates.n_scopes, 32);
    ASSERT_NOT_NULL(bt_find_scope(&in.templates, &steady, 1));
    ASSERT_NOT_NULL(bt_find_scope(&in.templates, &late, 3));
    exp_interval_free(&iv);
    ingest_free(&in);
    return 0;
}

/* Asserts that rows have a row for (exporter, version, domain) with these counters. */
static void bt_row_is(const seg_exporter_stat_t *st, uint32_t n, const flow_addr_t *a,
                      uint16_t version, uint32_t dom, uint64_t dgrams, uint64_t flows,
                      uint64_t drops)
{
    uint32_t k = 0;
    while (k < n && !(memcmp(st[k].addr.b, a->b, 16) == 0 && st[k].version == version &&
                      st[k].domain == dom))
        k++;
    ASSERT_LT(k, n);
    ASSERT_UINT64_EQ(st[k].datagrams, dgrams);
    ASSERT_UINT64_EQ(st[k].flows, flows);
    ASSERT_UINT64_EQ(st[k].drops, drops);
}

/* Sums the rows' datagrams and drops. */
static void bt_row_sums(const seg_exporter_stat_t *st, uint32_t n, uint64_t *dgrams,
                        uint64_t *drops)
{
    *dgrams = *drops = 0;
    for (uint32_t k = 0; k < n; k++) {
        *dgrams += st[k].datagrams;
        *drops += st[k].drops;
    }
}

/* Malformed headers: an IPFIX message longer than its datagram (of 24 bytes), of domain `dom`;
 * a version 7 datagram (40 bytes). */
static size_t bt_bad_ipfix(uint8_t *p, uint8_t dom)
{
    memset(p, 0, 24);
    p[1] = 10;
    p[3] = 100;
    p[15] = dom;
    return 24;
}

static size_t bt_bad_v7(uint8_t *p)
{
    memset(p, 0, 40);
    p[1] = 7;
    return 40;
}

/* Datagrams dropped whole reach the segment rows, in their datagrams and drops, under the
 * (version, domain) their header names: `flowhunt exporters` showed malformed 0 for every
 * exporter and left them out of its datagram counts (the malformed.sh repro: 11 datagrams,
 * 7 dropped whole; the rows said 4 datagrams, 0 malformed). One that names no version is in no
 * row (version 0 is the evicted aggregate's). A domain evicted with drops not yet in a segment
 * brings them to the aggregate row. */
TEST_IMPL(bounds_ingest_drops_in_rows)
{
    uint64_t flows = 0;
    ingest_t in;
    ingest_init(&in, INGEST_CLOCK_EXPORT, bt_sink, &flows);
    exp_table_init_limits(&in.exporters, 8, 5);
    uint8_t buf[1500];
    flow_addr_t a;
    flow_addr_parse(&a, "192.0.2.7");
    /* a good v9 datagram of source id 7, then a header cut short of the id (so domain 0) */
    ASSERT_EQ(bt_dgram(&in, &a, buf, bt_v9(buf, 0, 7, 1, BT_TPL, 2)), 2);
    ASSERT_LT(bt_dgram(&in, &a, buf, 12), 0);
    /* v5: zero count (engine 1/2: domain 0x0102), then a count of 2 with one record's bytes */
    memset(buf, 0, 24);
    buf[1] = 5;
    buf[20] = 1;
    buf[21] = 2;
    ASSERT_LT(bt_dgram(&in, &a, buf, 24), 0);
    buf[3] = 2;
    ASSERT_LT(bt_dgram(&in, &a, buf, 24 + 48), 0);
    ASSERT_LT(bt_dgram(&in, &a, buf, bt_bad_ipfix(buf, 9)), 0);
    ASSERT_LT(bt_dgram(&in, &a, buf, bt_bad_v7(buf)), 0);
    /* empty and one byte: no version */
    ASSERT_LT(bt_dgram(&in, &a, buf, 0), 0);
    ASSERT_LT(bt_dgram(&in, &a, buf, 1), 0);
    ASSERT_UINT64_EQ(in.dropped, 7);

    exp_interval_t iv = {0};
    uint32_t n;
    uint64_t dgrams, drops;
    seg_exporter_stat_t *st = exp_interval_take(&in.exporters, &iv, &n);
    ASSERT_EQ(n, 5);
    bt_row_is(st, n, &a, 9, 7, 1, 2, 0);
    bt_row_is(st, n, &a, 9, 0, 1, 0, 1);
    bt_row_is(st, n, &a, 5, 0x0102, 2, 0, 2);
    bt_row_is(st, n, &a, 10, 9, 1, 0, 1);
    bt_row_is(st, n, &a, 7, 0, 1, 0, 1);
    bt_row_sums(st, n, &dgrams, &drops);
    ASSERT_UINT64_EQ(dgrams, in.datagrams - 2); /* all but the two that name no version */
    ASSERT_UINT64_EQ(drops, 5);
    free(st);

    /* two more drops, then five new domains: the exporter holds five, so both dropping
     * domains are evicted before a segment records them, and the aggregate row has them */
    ASSERT_LT(bt_dgram(&in, &a, buf, bt_bad_v7(buf)), 0);
    ASSERT_LT(bt_dgram(&in, &a, buf, bt_bad_ipfix(buf, 22)), 0);
    for (uint32_t dom = 31; dom <= 35; dom++)
        ASSERT_EQ(bt_dgram(&in, &a, buf, bt_v9(buf, 3, dom, 1, BT_TPL, 1)), 1);
    ASSERT_EQ(in.exporters.list[0]->n_domains, 5);
    st = exp_interval_take(&in.exporters, &iv, &n);
    ASSERT_EQ(n, 6);
    flow_addr_t zero;
    memset(&zero, 0, sizeof zero);
    bt_row_is(st, n, &zero, EXP_EVICTED_VERSION, 0, 2, 0, 2);
    bt_row_sums(st, n, &dgrams, &drops);
    ASSERT_UINT64_EQ(dgrams, 7);
    ASSERT_UINT64_EQ(drops, 2);
    free(st);
    exp_interval_free(&iv);
    ingest_free(&in);
    return 0;
}

/* ---- the exporter table ------------------------------------------------------------------------
 */

static exp_domain_t *bt_count(exp_table_t *t, const char *addr, uint32_t dom, uint64_t dgrams,
                              uint64_t flows, uint64_t lost)
{
    flow_addr_t a;
    ASSERT_EQ(flow_addr_parse(&a, addr), 0);
    exp_exporter_t *e = exp_table_get(t, &a);
    ASSERT_NOT_NULL(e);
    exp_domain_t *d = exp_domain_get(t, e, 9, dom);
    ASSERT_NOT_NULL(d);
    e->datagrams += dgrams;
    d->datagrams += dgrams;
    d->flows += flows;
    d->seq_lost += lost;
    return d;
}

static int bt_has(const exp_table_t *t, const char *addr)
{
    for (uint32_t i = 0; i < t->n_exporters; i++) {
        char s[FLOW_ADDR_STRLEN];
        flow_addr_format(&t->list[i]->addr, s);
        if (strcmp(s, addr) == 0)
            return 1;
    }
    return 0;
}

/* The least recently seen exporter goes, not the busiest; what it did since the last segment
 * is the next segment's evicted row; the same for domains within an exporter. */
TEST_IMPL(bounds_exporter_lru_order)
{
    exp_table_t t;
    exp_table_init_limits(&t, 3, 2);
    exp_interval_t iv = {0};
    bt_count(&t, "192.0.2.1", 1, 1, 10, 0);
    bt_count(&t, "192.0.2.2", 1, 100, 1000, 5); /* the busiest */
    bt_count(&t, "192.0.2.3", 1, 2, 20, 0);
    uint32_t n;
    seg_exporter_stat_t *st = exp_interval_take(&t, &iv, &n);
    ASSERT_EQ(n, 3);
    free(st);
    bt_count(&t, "192.0.2.2", 1, 7, 70, 1); /* not yet in a segment */
    bt_count(&t, "192.0.2.1", 1, 0, 0, 0);  /* seen: .3, then .2, are now the oldest */
    bt_count(&t, "192.0.2.3", 1, 0, 0, 0);  /* seen: .2 is the oldest, though the busiest */
    bt_count(&t, "192.0.2.4", 1, 1, 1, 0);
    ASSERT_EQ(t.n_exporters, 3);
    ASSERT(!bt_has(&t, "192.0.2.2"));
    ASSERT(bt_has(&t, "192.0.2.1") && bt_has(&t, "192.0.2.3") && bt_has(&t, "192.0.2.4"));
    const exp_evicted_t *ev = &t.evicted;
    ASSERT_UINT64_EQ(ev->exporters, 1);
    ASSERT_UINT64_EQ(ev->domains, 1);
    ASSERT_UINT64_EQ(ev->datagrams, 107);
    ASSERT_UINT64_EQ(ev->dom_datagrams, 107);
    ASSERT_UINT64_EQ(ev->flows, 1070);
    ASSERT_UINT64_EQ(ev->seq_lost, 6);
    /* the next segment: .4's row, and the evicted row with what .2 did since the last one */
    st = exp_interval_take(&t, &iv, &n);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(st[1].version, EXP_EVICTED_VERSION);
    ASSERT_UINT64_EQ(st[1].datagrams, 7);
    ASSERT_UINT64_EQ(st[1].flows, 70);
    ASSERT_UINT64_EQ(st[1].seq_lost, 1);
    flow_addr_t zero;
    memset(&zero, 0, sizeof zero);
    ASSERT_MEM_EQ(st[1].addr.b, zero.b, 16);
    free(st);

    /* domains: .1 has two; touching the first makes the second the one to go */
    bt_count(&t, "192.0.2.1", 2, 3, 30, 0);
    bt_count(&t, "192.0.2.1", 1, 0, 0, 0);
    bt_count(&t, "192.0.2.1", 3, 1, 1, 0);
    flow_addr_t a1;
    flow_addr_parse(&a1, "192.0.2.1");
    exp_exporter_t *e1 = exp_table_get(&t, &a1);
    ASSERT_EQ(e1->n_domains, 2);
    for (uint32_t j = 0; j < e1->n_domains; j++)
        ASSERT_NE(e1->domains[j]->obs_domain, 2);
    ASSERT_UINT64_EQ(ev->exporters, 1);
    ASSERT_UINT64_EQ(ev->domains, 2);
    ASSERT_UINT64_EQ(ev->flows, 1100);
    st = exp_interval_take(&t, &iv, &n);
    uint64_t evicted_dgrams = 0;
    for (uint32_t k = 0; k < n; k++)
        if (st[k].version == EXP_EVICTED_VERSION)
            evicted_dgrams += st[k].datagrams;
    ASSERT_UINT64_EQ(evicted_dgrams, 3);
    free(st);

    /* the report says it */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    exp_table_report(&t, f);
    fclose(f);
    ASSERT_NOT_NULL(strstr(text, "1 exporters, 2 domains"));
    ASSERT_NOT_NULL(strstr(text, "evicted domains: datagrams 110 flows 1100"));
    free(text);
    exp_interval_free(&iv);
    exp_table_free(&t);
    return 0;
}

/* All exporters' domains together stay under max_domains_total whatever a spoofed flood does
 * (each datagram a new source and a fresh domain): the oldest exporters go whole, the one
 * being counted is never the one evicted, a steady router keeps its entry, and every datagram
 * is either in a live domain or in the evicted aggregate. */
TEST_IMPL(bounds_exporter_domains_total)
{
    exp_table_t t;
    exp_table_init_bounds(&t, 1000, 50, 120);
    ASSERT_EQ(t.max_domains_total, 120);
    uint64_t sent = 0;
    char addr[64];
    for (uint32_t i = 0; i < 5000; i++) {
        /* a steady router every tenth datagram, its one domain */
        if (i % 10 == 0) {
            bt_count(&t, "192.0.2.1", 7, 1, 1, 0);
            sent++;
        }
        snprintf(addr, sizeof addr, "10.9.%u.%u", (i / 7) / 250 % 250, (i / 7) % 250 + 1);
        exp_domain_t *d = bt_count(&t, addr, 1000 + i, 1, 1, 0); /* 7 domains per source */
        sent++;
        ASSERT_EQ(d->obs_domain, 1000 + i); /* the domain just made survives its own call */
        ASSERT(t.n_domains_total <= t.max_domains_total);
        uint64_t sum = 0;
        for (uint32_t k = 0; k < t.n_exporters; k++)
            sum += t.list[k]->n_domains;
        ASSERT_UINT64_EQ(sum, t.n_domains_total);
    }
    ASSERT(bt_has(&t, "192.0.2.1"));
    ASSERT_GT(t.evicted.exporters, 500);
    uint64_t live = 0;
    for (uint32_t k = 0; k < t.n_exporters; k++)
        for (uint32_t j = 0; j < t.list[k]->n_domains; j++)
            live += t.list[k]->domains[j]->datagrams;
    ASSERT_UINT64_EQ(live + t.evicted.dom_datagrams, sent);
    /* one exporter alone past the total: its own oldest domains go (the per-exporter bound is
     * below the total, so only a table whose total equals it gets here) */
    exp_table_free(&t);
    exp_table_init_bounds(&t, 10, 5, 1);
    ASSERT_EQ(t.max_domains_total, 5); /* never below max_domains */
    for (uint32_t i = 0; i < 20; i++)
        bt_count(&t, "192.0.2.9", i, 1, 1, 0);
    ASSERT_EQ(t.n_exporters, 1);
    ASSERT_UINT64_EQ(t.n_domains_total, 5);
    ASSERT_UINT64_EQ(t.evicted.domains, 15);
    exp_table_free(&t);
    return 0;
}

/* ---- persistence -------------------------------------------------------------------------------
 */

static void bt_define(tpl_cache_t *c, uint32_t i)
{
    flow_addr_t a = bt_flood_addr(i);
    tpl_scope_t *s = tpl_scope_get(c, &a, 9, 1);
    ASSERT_NOT_NULL(s);
    tpl_field_t f[2] = {{.id = 8, .len = 4}, {.id = 12, .len = 4}};
    dec_counts_t counts;
    memset(&counts, 0, sizeof counts);
    ASSERT_NOT_NULL(tpl_define(s, 9, BT_TPL, 0, f, 2, 0, &counts));
}

/* The exporter number of a scope (bt_flood_addr's inverse). */
static uint32_t bt_index(const tpl_scope_t *s)
{
    return (uint32_t)s->exporter.b[13] << 16 | (uint32_t)s->exporter.b[14] << 8 | s->exporter.b[15];
}

/* Evicted scopes are not in the file; the file keeps the survivors' order, so a smaller cache
 * loading it keeps the most recently used. */
TEST_IMPL(bounds_tpl_store_keeps_survivors)
{
    tpl_cache_t c;
    tpl_cache_init_limit(&c, 8);
    for (uint32_t i = 0; i < 20; i++)
        bt_define(&c, i);
    /* use 13: the order from the oldest is now 12, 14..19, 13 */
    flow_addr_t a13 = bt_flood_addr(13);
    ASSERT_NOT_NULL(tpl_scope_get(&c, &a13, 9, 1));
    ASSERT_UINT64_EQ(c.scopes_evicted_global, 12);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/state", test_tmpdir());
    ASSERT_EQ(tpl_store_save(&c, dir, 0), 0);

    tpl_cache_t same, small;
    tpl_cache_init(&same);
    ASSERT_EQ(tpl_store_load(&same, dir, -1, NULL, NULL), 8);
    ASSERT_EQ(same.n_scopes, 8);
    ASSERT_UINT64_EQ(same.scopes_evicted_global, 0);
    static const uint32_t order[8] = {13, 19, 18, 17, 16, 15, 14, 12};
    uint32_t k = 0;
    for (const tpl_scope_t *s = same.all_head; s; s = s->all_next, k++) {
        ASSERT_LT(k, 8);
        ASSERT_EQ(bt_index(s), order[k]);
        ASSERT_NOT_NULL(tpl_get(s, BT_TPL));
    }
    ASSERT_EQ(k, 8);

    tpl_cache_init_limit(&small, 3);
    tpl_store_load(&small, dir, -1, NULL, NULL);
    ASSERT_EQ(small.n_scopes, 3);
    ASSERT_EQ(bt_index(small.all_head), 13);
    ASSERT_EQ(bt_index(small.all_head->all_next), 19);
    ASSERT_EQ(bt_index(small.all_tail), 18);

    /* an eviction is a change: the next save leaves the evicted scope out */
    bt_define(&c, 100);
    ASSERT_EQ(tpl_store_save(&c, dir, 0), 0);
    tpl_cache_t after;
    tpl_cache_init(&after);
    ASSERT_EQ(tpl_store_load(&after, dir, -1, NULL, NULL), 8);
    for (uint32_t i = 0; i < after.n_scopes; i++)
        ASSERT_NE(bt_index(after.scopes[i]), 12);
    tpl_cache_free(&after);
    tpl_cache_free(&small);
    tpl_cache_free(&same);
    tpl_cache_free(&c);
    return 0;
}

/* One exporter's template BT_TPL of n_fields fields, alone in a cache saved as worker w's
 * file with modification time mtime (seconds). */
static void bt_save_one(const char *dir, int w, uint16_t n_fields, time_t mtime)
{
    tpl_cache_t c;
    tpl_cache_init(&c);
    flow_addr_t a = bt_flood_addr(1);
    tpl_scope_t *s = tpl_scope_get(&c, &a, 9, 1);
    ASSERT_NOT_NULL(s);
    tpl_field_t f[3] = {{.id = 8, .len = 4}, {.id = 12, .len = 4}, {.id = 7, .len = 2}};
    dec_counts_t counts;
    memset(&counts, 0, sizeof counts);
    ASSERT_NOT_NULL(tpl_define(s, 9, BT_TPL, 0, f, n_fields, 0, &counts));
    ASSERT_EQ(tpl_store_save(&c, dir, w), 0);
    tpl_cache_free(&c);
    char path[1300];
    snprintf(path, sizeof path, "%s/templates-w%d.bin", dir, w);
    struct timespec ts[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
    ASSERT_EQ(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The newest definition wins, whichever file readdir gives first: the file of a worker that a
 * smaller --workers no longer starts is never rewritten, and read after the exporter's new
 * owner's file it brought back a template the exporter had since redefined (its flows stored
 * with the old layout, silently). What came from another worker's file is saved again. */
TEST_IMPL(bounds_tpl_store_newest_wins)
{
    for (int newer = 0; newer <= 1; newer++) {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/state%d", test_tmpdir(), newer);
        const time_t t = 1700000000;
        bt_save_one(dir, 0, newer == 0 ? 3 : 2, newer == 0 ? t + 60 : t);
        bt_save_one(dir, 1, newer == 1 ? 3 : 2, newer == 1 ? t + 60 : t);
        tpl_cache_t c;
        tpl_cache_init(&c);
        ASSERT_EQ(tpl_store_load(&c, dir, 0, NULL, NULL), 2);
        flow_addr_t a = bt_flood_addr(1);
        const tpl_t *tp = tpl_get(tpl_scope_get(&c, &a, 9, 1), BT_TPL);
        ASSERT_NOT_NULL(tp);
        ASSERT_EQ(tp->n_fields, 3);
        ASSERT_EQ(tp->min_len, 10);
        ASSERT(c.generation != c.saved_generation); /* worker 1's file was read: save again */
        tpl_cache_free(&c);
    }
    return 0;
}

/* Options data naming ever new samplers: the scope keeps TPL_MAX_SAMPLERS_PER_SCOPE, counts
 * the rest, and still updates the ones it has. */
TEST_IMPL(bounds_samplers_per_scope)
{
    tpl_cache_t c;
    tpl_cache_init(&c);
    flow_addr_t a;
    flow_addr_parse(&a, "192.0.2.1");
    tpl_scope_t *s = tpl_scope_get(&c, &a, 9, 1);
    for (uint64_t i = 0; i < 10 * TPL_MAX_SAMPLERS_PER_SCOPE; i++)
        tpl_set_sampler(s, i, 100);
    ASSERT_EQ(tpl_n_samplers(s), TPL_MAX_SAMPLERS_PER_SCOPE);
    ASSERT_UINT64_EQ(s->stats.samplers_refused, 9 * TPL_MAX_SAMPLERS_PER_SCOPE);
    tpl_set_sampler(s, 0, 7);
    ASSERT_EQ(tpl_n_samplers(s), TPL_MAX_SAMPLERS_PER_SCOPE);
    ASSERT_UINT64_EQ(s->stats.samplers_refused, 9 * TPL_MAX_SAMPLERS_PER_SCOPE);
    tpl_cache_free(&c);
    return 0;
}
