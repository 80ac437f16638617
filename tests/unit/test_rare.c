/* test_rare.c: the rare/first-seen destination hunt and the miner hunt (hunt_rare.c,
 * hunt_miner.c).
 *
 * Both are fed hand-built conversations whose right answer is known. rare: a baseline learnt
 * by one run and used by the next (only destinations new to the organisation are flagged, never
 * popular ones), the same window hunted twice giving the same findings, --no-state leaving the
 * file alone, the learning period, and a corrupt or truncated baseline detected, set aside and
 * rebuilt. miner: a stratum-shaped connection to a pool port (High after an hour, Medium when
 * short), web-port look-alikes and bulk transfers that must not be flagged, a Monero p2p node,
 * a pool address list and Critical on a configured server segment. End to end, flowgen's
 * planted first-seen and miner cases, once flowgen plants them.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hunt.h"
#include "task.h"

#define RT_H 3600000ull
#define RT_D (24 * RT_H)
static const uint64_t rt_t0 = 1709251200000ull; /* 2024-03-01T00:00:00Z */

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct rt_run {
    hunt_config_t cfg;
    hunt_ctx_t ctx;
    hp_stats_t stats;
    const hunt_ops_t *ops;
    void *st;
    hunt_findings_t out;
} rt_run_t;

static void rt_cfg(hunt_config_t *cfg)
{
    char err[128];
    hc_defaults(cfg);
    ASSERT_EQ(hc_set_nets(&cfg->internal, &cfg->n_internal, "10.0.0.0/8", 0, err, sizeof err), 0);
}

static void rt_start(rt_run_t *r, const hunt_ops_t *ops, const char *dir, uint64_t from,
                     uint64_t to, int write_state)
{
    memset(&r->ctx, 0, sizeof r->ctx);
    memset(&r->stats, 0, sizeof r->stats);
    memset(&r->out, 0, sizeof r->out);
    r->ctx.cfg = &r->cfg;
    r->ctx.from_ms = from;
    r->ctx.to_ms = to;
    r->ctx.prep = &r->stats;
    r->ctx.dir = dir;
    r->ctx.now_ms = to;
    r->ctx.write_state = write_state;
    r->ops = ops;
    r->st = ops->create(&r->ctx);
    ASSERT_NOT_NULL(r->st);
}

static void rt_conv(rt_run_t *r, const char *orig, const char *resp, uint16_t port, uint8_t proto,
                    uint64_t t0, uint64_t t1, uint64_t pkts_out, uint64_t bytes_out,
                    uint64_t pkts_in, uint64_t bytes_in)
{
    hunt_conv_t c;
    memset(&c, 0, sizeof c);
    ASSERT_EQ(flow_addr_parse(&c.orig, orig), 0);
    ASSERT_EQ(flow_addr_parse(&c.resp, resp), 0);
    c.t_start = t0;
    c.t_end = t1;
    c.pkts_out = pkts_out;
    c.bytes_out = bytes_out;
    c.pkts_in = pkts_in;
    c.bytes_in = bytes_in;
    c.sampling = 1;
    c.orig_port = 50000;
    c.resp_port = port;
    c.proto = proto;
    c.answered = pkts_in > 0;
    c.orig_internal = (uint8_t)hc_is_internal(&r->cfg, &c.orig);
    c.resp_internal = (uint8_t)hc_is_internal(&r->cfg, &c.resp);
    c.n_records = 2;
    c.n_exporters = 1;
    r->ops->feed(r->st, &c);
}

static void rt_finish(rt_run_t *r)
{
    r->ops->part_end(r->st);
    r->ops->finish(r->st, &r->out);
    r->ops->destroy(r->st);
    r->st = NULL;
}

static void rt_end(rt_run_t *r)
{
    hunt_findings_free(&r->out);
}

/* The finding for (host, peer), or NULL. */
static const hunt_finding_t *rt_find(const rt_run_t *r, const char *host, const char *peer)
{
    flow_addr_t h;
    ASSERT_EQ(flow_addr_parse(&h, host), 0);
    for (size_t i = 0; i < r->out.n; i++) {
        const hunt_finding_t *f = r->out.v[i];
        if (memcmp(f->host.b, h.b, 16) == 0 && strcmp(f->peer, peer) == 0)
            return f;
    }
    return NULL;
}

static const char *rt_dir(const char *name)
{
    static char dir[600];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    return dir;
}

/* An organisation's ordinary day: 20 hosts use one popular service; a few hosts reach their
 * own long-known destinations. */
static void rt_ordinary_day(rt_run_t *r, uint64_t day)
{
    for (int h = 1; h <= 20; h++) {
        char host[32];
        snprintf(host, sizeof host, "10.0.0.%d", h);
        for (uint64_t hr = 8; hr < 18; hr += 3)
            rt_conv(r, host, "203.0.113.10", 443, 6, day + hr * RT_H, day + hr * RT_H + 5000, 20,
                    3000, 30, 40000);
    }
    rt_conv(r, "10.0.0.3", "192.0.2.40", 443, 6, day + 9 * RT_H, day + 9 * RT_H + 2000, 8, 900, 9,
            8000);
}

/* Run 1: days 0-3 of one store, the last day hunted. */
static void rt_run1(rt_run_t *r, const char *dir, int write_state)
{
    rt_start(r, &hq_ops, dir, rt_t0, rt_t0 + 4 * RT_D, write_state);
    for (uint64_t d = 0; d < 4; d++)
        rt_ordinary_day(r, rt_t0 + d * RT_D);
    uint64_t d3 = rt_t0 + 3 * RT_D;
    /* first contact on day 3 by one host: the case */
    rt_conv(r, "10.0.0.5", "198.51.100.7", 443, 6, d3 + 10 * RT_H, d3 + 10 * RT_H + 4000, 10, 1500,
            12, 9000);
    /* new on day 3 but used by five hosts: popular, not rare */
    for (int h = 10; h < 15; h++) {
        char host[32];
        snprintf(host, sizeof host, "10.0.0.%d", h);
        rt_conv(r, host, "100.24.7.9", 443, 6, d3 + 11 * RT_H, d3 + 11 * RT_H + 3000, 10, 1200, 10,
                5000);
    }
    /* seen on day 1 and again on day 3: not new (another address of the same /24 too) */
    rt_conv(r, "10.0.0.6", "185.199.108.5", 443, 6, rt_t0 + RT_D + 3 * RT_H,
            rt_t0 + RT_D + 3 * RT_H + 1000, 5, 500, 5, 5000);
    rt_conv(r, "10.0.0.6", "185.199.108.9", 443, 6, d3 + 3 * RT_H, d3 + 3 * RT_H + 1000, 5, 500, 5,
            5000);
    /* probed unanswered on day 1, answered on day 3: an unanswered probe is no relationship */
    rt_conv(r, "10.0.0.7", "45.77.1.2", 9443, 6, rt_t0 + RT_D, rt_t0 + RT_D + 3000, 3, 180, 0, 0);
    rt_conv(r, "10.0.0.7", "45.77.1.2", 9443, 6, d3 + 5 * RT_H, d3 + 5 * RT_H + 3000, 8, 800, 8,
            4000);
    /* new on day 3 but never answered: not established */
    rt_conv(r, "10.0.0.8", "93.184.216.34", 443, 6, d3 + 6 * RT_H, d3 + 6 * RT_H + 3000, 3, 180, 0,
            0);
    rt_finish(r);
}

static void rt_read(const char *path, uint8_t **buf, size_t *len)
{
    *buf = test_read_file(path, len);
    ASSERT_NOT_NULL(*buf);
}

/* ---- rare ------------------------------------------------------------------------------------ */

TEST_IMPL(rare_baseline_two_runs)
{
    const char *dir = rt_dir("rare2");
    rt_run_t r;
    rt_cfg(&r.cfg);
    rt_run1(&r, dir, 1);
    /* run 1 flags the one-host first contact and the answered-after-probe one, nothing else */
    const hunt_finding_t *f = rt_find(&r, "10.0.0.5", "198.51.100.7");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_LOW); /* rarity alone */
    ASSERT_STR_EQ(f->tech[0], "T1071");
    ASSERT_EQ(f->port, 443);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"baseline_coverage_days\":2.7"));
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"first_seen\":\"2024-03-04T10:00:00.000Z\""));
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"network_hosts\":1"));
    const hunt_finding_t *g = rt_find(&r, "10.0.0.7", "45.77.1.2");
    ASSERT_NOT_NULL(g);
    ASSERT_STR_EQ(g->tech[0], "T1571"); /* 9443 is not a standard port */
    ASSERT_EQ(g->risk, HUNT_RISK_MEDIUM);
    ASSERT_EQ(r.out.n, 2);
    rt_end(&r);
    char path[700];
    snprintf(path, sizeof path, "%s/hunt/baseline-dst.bin", dir);
    struct stat sb;
    ASSERT_EQ(stat(path, &sb), 0);

    /* run 2 over days 4-5 only, learning from the file: 198.51.100.7 is known now; a new
     * destination with a 2-hour 20 MB upload on 4444 is High; the popular one stays quiet */
    rt_start(&r, &hq_ops, dir, rt_t0 + 4 * RT_D, rt_t0 + 6 * RT_D, 1);
    for (uint64_t d = 4; d < 6; d++)
        rt_ordinary_day(&r, rt_t0 + d * RT_D);
    uint64_t d5 = rt_t0 + 5 * RT_D;
    rt_conv(&r, "10.0.0.5", "198.51.100.7", 443, 6, d5 + RT_H, d5 + RT_H + 4000, 10, 1500, 12,
            9000);
    rt_conv(&r, "10.0.0.9", "45.33.32.156", 4444, 6, d5 + 2 * RT_H, d5 + 4 * RT_H, 20000, 20000000,
            15000, 900000);
    rt_finish(&r);
    ASSERT_EQ(r.out.n, 1);
    f = rt_find(&r, "10.0.0.9", "45.33.32.156");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_STR_EQ(f->tech[0], "T1571");
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"baseline_from_earlier_runs\":true"));
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"non_standard_port\",\"large_upload\",\"long_lived\""));
    ASSERT_NULL(rt_find(&r, "10.0.0.5", "198.51.100.7"));
    rt_end(&r);
    hc_free(&r.cfg);
    return 0;
}

/* Two runs at once (an hourly run that overran, an analyst's beside it) each read the baseline,
 * then save: the later save merges what the earlier wrote meanwhile, so the next run knows
 * both runs' destinations. Without the merge the later rename dropped the other's. */
TEST_IMPL(rare_concurrent_runs_merge)
{
    const char *dir = rt_dir("rare_conc");
    rt_run_t a, b;
    rt_cfg(&a.cfg);
    rt_cfg(&b.cfg);
    rt_start(&a, &hq_ops, dir, rt_t0, rt_t0 + 4 * RT_D, 1); /* the learning days */
    for (uint64_t d = 0; d < 4; d++)
        rt_ordinary_day(&a, rt_t0 + d * RT_D);
    rt_finish(&a);
    rt_end(&a);
    /* both read the same baseline; each meets a destination of its own for the first time */
    uint64_t d4 = rt_t0 + 4 * RT_D, d5 = rt_t0 + 5 * RT_D;
    rt_start(&a, &hq_ops, dir, d4, d4 + RT_D, 1);
    rt_start(&b, &hq_ops, dir, d4, d4 + RT_D, 1);
    rt_ordinary_day(&a, d4);
    rt_ordinary_day(&b, d4);
    rt_conv(&a, "10.0.0.5", "198.51.100.7", 443, 6, d4 + RT_H, d4 + RT_H + 4000, 10, 1500, 12,
            9000);
    rt_conv(&b, "10.0.0.9", "45.33.32.156", 443, 6, d4 + 2 * RT_H, d4 + 2 * RT_H + 4000, 10, 1500,
            12, 9000);
    rt_finish(&b); /* b saves first, a after it */
    rt_finish(&a);
    ASSERT_NOT_NULL(rt_find(&a, "10.0.0.5", "198.51.100.7"));
    ASSERT_NOT_NULL(rt_find(&b, "10.0.0.9", "45.33.32.156"));
    rt_end(&a);
    rt_end(&b);
    /* the next day both are known: neither is first seen again */
    rt_start(&a, &hq_ops, dir, d5, d5 + RT_D, 1);
    rt_ordinary_day(&a, d5);
    rt_conv(&a, "10.0.0.5", "198.51.100.7", 443, 6, d5 + RT_H, d5 + RT_H + 4000, 10, 1500, 12,
            9000);
    rt_conv(&a, "10.0.0.9", "45.33.32.156", 443, 6, d5 + 2 * RT_H, d5 + 2 * RT_H + 4000, 10, 1500,
            12, 9000);
    rt_conv(&a, "10.0.0.4", "198.18.5.5", 443, 6, d5 + 3 * RT_H, d5 + 3 * RT_H + 4000, 10, 1500, 12,
            9000);
    rt_finish(&a);
    ASSERT_NULL(rt_find(&a, "10.0.0.5", "198.51.100.7"));
    ASSERT_NULL(rt_find(&a, "10.0.0.9", "45.33.32.156"));
    ASSERT_NOT_NULL(rt_find(&a, "10.0.0.4", "198.18.5.5")); /* the hunt still finds new ones */
    rt_end(&a);
    hc_free(&a.cfg);
    hc_free(&b.cfg);
    return 0;
}

TEST_IMPL(rare_rerun_same_window)
{
    const char *dir = rt_dir("rare_rerun");
    rt_run_t r;
    rt_cfg(&r.cfg);
    char path[700];
    snprintf(path, sizeof path, "%s/hunt/baseline-dst.bin", dir);
    /* --no-state first: findings, and no file */
    rt_run1(&r, dir, 0);
    ASSERT_EQ(r.out.n, 2);
    rt_end(&r);
    struct stat sb;
    ASSERT_NE(stat(path, &sb), 0);
    /* three runs over the same window: identical findings, the file stable after the first */
    char first[2][4096];
    uint8_t *b1 = NULL;
    size_t l1 = 0;
    for (int run = 0; run < 3; run++) {
        rt_run1(&r, dir, 1);
        ASSERT_EQ(r.out.n, 2);
        for (size_t i = 0; i < 2; i++) {
            char line[4096];
            snprintf(line, sizeof line, "%s|%d|%d|%s", r.out.v[i]->summary, r.out.v[i]->risk,
                     r.out.v[i]->confidence, r.out.v[i]->ev.json);
            /* the first run had no earlier file; later ones say they had one */
            char *p = strstr(line, "\"baseline_from_earlier_runs\":");
            ASSERT_NOT_NULL(p);
            memset(p, '_', strlen("\"baseline_from_earlier_runs\":false"));
            if (run == 0)
                snprintf(first[i], sizeof first[i], "%.*s", (int)(p - line), line);
            else
                ASSERT_EQ(strncmp(first[i], line, strlen(first[i])), 0);
        }
        rt_end(&r);
        uint8_t *b;
        size_t l;
        rt_read(path, &b, &l);
        if (run == 1) {
            b1 = b;
            l1 = l;
        } else if (run == 2) {
            ASSERT_EQ(l, l1);
            ASSERT_MEM_EQ(b, b1, l);
            free(b);
        } else {
            free(b);
        }
    }
    /* --no-state after that: the file is read, not touched */
    rt_run1(&r, dir, 0);
    ASSERT_EQ(r.out.n, 2);
    rt_end(&r);
    uint8_t *b;
    size_t l;
    rt_read(path, &b, &l);
    ASSERT_EQ(l, l1);
    ASSERT_MEM_EQ(b, b1, l);
    free(b);
    free(b1);
    hc_free(&r.cfg);
    return 0;
}

TEST_IMPL(rare_corrupt_baseline_rebuilt)
{
    const char *dir = rt_dir("rare_corrupt");
    rt_run_t r;
    rt_cfg(&r.cfg);
    char path[700], aside[720];
    snprintf(path, sizeof path, "%s/hunt/baseline-dst.bin", dir);
    snprintf(aside, sizeof aside, "%s.corrupt", path);
    rt_run1(&r, dir, 1);
    rt_end(&r);
    uint8_t *good;
    size_t len;
    rt_read(path, &good, &len);
    ASSERT_GT(len, 200);
    /* the checks the fuzz target drives, on what a run wrote: trusted as written, a byte
     * flipped under the checksum and a cut-off file each named */
    ASSERT_NULL(hq_baseline_check(good, len));
    good[len / 2] ^= 0x40;
    ASSERT_STR_EQ(hq_baseline_check(good, len), "checksum mismatch");
    good[len / 2] ^= 0x40;
    ASSERT_STR_EQ(hq_baseline_check(good, len - 50), "bad magic at the end (truncated?)");
    /* one flipped byte in an entry, a truncation, a bad version, garbage: each is detected
     * (the run says the baseline was rebuilt), set aside, and a valid file written again */
    for (int k = 0; k < 4; k++) {
        uint8_t *bad = malloc(len);
        ASSERT_NOT_NULL(bad);
        memcpy(bad, good, len);
        size_t blen = len;
        if (k == 0)
            bad[len / 2] ^= 0x40;
        else if (k == 1)
            blen = len - 50;
        else if (k == 2)
            bad[8] = 2;
        else
            memset(bad, 0x5a, blen = 100);
        FILE *fp = fopen(path, "wb");
        ASSERT_NOT_NULL(fp);
        ASSERT_EQ(fwrite(bad, 1, blen, fp), blen);
        ASSERT_EQ(fclose(fp), 0);
        free(bad);
        unlink(aside);
        rt_run1(&r, dir, 1);
        ASSERT_EQ(r.out.n, 2); /* the run's own earlier days still make the baseline */
        ASSERT_NOT_NULL(strstr(r.out.v[0]->ev.json, "\"baseline_rebuilt\":\""));
        ASSERT_NOT_NULL(strstr(r.out.v[0]->ev.json, "\"baseline_from_earlier_runs\":false"));
        rt_end(&r);
        struct stat sb;
        ASSERT_EQ(stat(aside, &sb), 0);
        ASSERT_EQ((int64_t)sb.st_size, (int64_t)blen);
        /* and the rebuilt file is trusted by the next run */
        rt_run1(&r, dir, 1);
        ASSERT_NULL(strstr(r.out.v[0]->ev.json, "baseline_rebuilt"));
        ASSERT_NOT_NULL(strstr(r.out.v[0]->ev.json, "\"baseline_from_earlier_runs\":true"));
        rt_end(&r);
    }
    free(good);
    hc_free(&r.cfg);
    return 0;
}

TEST_IMPL(rare_learning_period_and_popular)
{
    const char *dir = rt_dir("rare_learn");
    rt_run_t r;
    rt_cfg(&r.cfg);
    /* one day of baseline, two required: no first-seen claim at all */
    rt_start(&r, &hq_ops, dir, rt_t0 + 2 * RT_D, rt_t0 + 4 * RT_D, 0);
    for (uint64_t d = 2; d < 4; d++)
        rt_ordinary_day(&r, rt_t0 + d * RT_D);
    uint64_t d3 = rt_t0 + 3 * RT_D;
    rt_conv(&r, "10.0.0.5", "198.51.100.7", 443, 6, d3 + RT_H, d3 + RT_H + 4000, 10, 1500, 12,
            9000);
    rt_finish(&r);
    ASSERT_EQ(r.out.n, 0);
    rt_end(&r);
    /* the baseline covers day 2 from 08:00 (16 h): with learning_days 0.5 it is claimed */
    r.cfg.r_learn_days = 0.5;
    rt_start(&r, &hq_ops, dir, rt_t0 + 2 * RT_D, rt_t0 + 4 * RT_D, 0);
    for (uint64_t d = 2; d < 4; d++)
        rt_ordinary_day(&r, rt_t0 + d * RT_D);
    rt_conv(&r, "10.0.0.5", "198.51.100.7", 443, 6, d3 + RT_H, d3 + RT_H + 4000, 10, 1500, 12,
            9000);
    /* 3 of 20 hosts on a new /24 (two addresses): over max_hosts 2 and 2 %: popular */
    rt_conv(&r, "10.0.0.1", "151.101.1.1", 443, 6, d3 + RT_H, d3 + RT_H + 1000, 5, 500, 5, 900);
    rt_conv(&r, "10.0.0.2", "151.101.1.2", 443, 6, d3 + RT_H, d3 + RT_H + 1000, 5, 500, 5, 900);
    rt_conv(&r, "10.0.0.3", "151.101.1.2", 443, 6, d3 + RT_H, d3 + RT_H + 1000, 5, 500, 5, 900);
    rt_finish(&r);
    ASSERT_EQ(r.out.n, 1);
    ASSERT_NOT_NULL(rt_find(&r, "10.0.0.5", "198.51.100.7"));
    rt_end(&r);
    hc_free(&r.cfg);
    return 0;
}

/* Two hosts reach one new /24: each finding lists both, by address. The list was kept in the
 * order the passes fed the pairs (reports differed with the number of passes), and a host whose
 * address is a prefix of one listed before (10.0.0.1 after 10.0.0.12) was left out. */
TEST_IMPL(rare_hosts_listed_by_address)
{
    const char *dir = rt_dir("rare_hosts");
    rt_run_t r;
    rt_cfg(&r.cfg);
    rt_start(&r, &hq_ops, dir, rt_t0, rt_t0 + 4 * RT_D, 0);
    for (uint64_t d = 0; d < 4; d++)
        rt_ordinary_day(&r, rt_t0 + d * RT_D);
    uint64_t d3 = rt_t0 + 3 * RT_D;
    rt_conv(&r, "10.0.0.12", "198.51.100.9", 443, 6, d3 + RT_H, d3 + RT_H + 4000, 10, 1500, 12,
            9000);
    rt_conv(&r, "10.0.0.1", "198.51.100.10", 443, 6, d3 + 2 * RT_H, d3 + 2 * RT_H + 4000, 10, 1500,
            12, 9000);
    rt_finish(&r);
    ASSERT_EQ(r.out.n, 2);
    for (size_t i = 0; i < r.out.n; i++) {
        ASSERT_NOT_NULL(strstr(r.out.v[i]->ev.json, "\"network_hosts\":2"));
        ASSERT_NOT_NULL(strstr(r.out.v[i]->ev.json, "\"hosts\":[\"10.0.0.1\",\"10.0.0.12\"]"));
    }
    rt_end(&r);
    hc_free(&r.cfg);
    return 0;
}

/* ---- miner ----------------------------------------------------------------------------------- */

/* A stratum session: a job every 30 s (about 300 B), a share or ACK every 20 s (about 150 B). */
static void rt_stratum(rt_run_t *r, const char *host, const char *pool, uint16_t port, uint64_t t0,
                       uint64_t minutes)
{
    rt_conv(r, host, pool, port, 6, t0, t0 + minutes * 60000, minutes * 3, minutes * 3 * 150,
            minutes * 2, minutes * 2 * 300);
}

TEST_IMPL(rare_miner_pool_port)
{
    rt_run_t r;
    rt_cfg(&r.cfg);
    uint64_t t = rt_t0 + 9 * RT_H;
    rt_start(&r, &hm_ops, NULL, rt_t0, rt_t0 + RT_D, 0);
    rt_stratum(&r, "10.0.0.9", "203.0.113.50", 3333, t, 180);  /* 3 h: High */
    rt_stratum(&r, "10.0.0.10", "203.0.113.51", 14444, t, 10); /* 10 min: Medium */
    rt_stratum(&r, "10.0.0.11", "203.0.113.52", 3333, t, 1);   /* 1 min: too short */
    rt_conv(&r, "10.0.0.12", "203.0.113.53", 4444, 6, t, t + 2 * RT_H, 90000, 130000000, 45000,
            2000000); /* bulk upload on 4444 for 2 h: rate and packets are not a miner's */
    rt_conv(&r, "10.0.0.13", "203.0.113.54", 3333, 6, t, t + 2 * RT_H, 40, 2400, 0,
            0); /* no answer */
    /* a web app polling 8080 once a minute for 5 h with small packets: many short
     * conversations, no long-lived one, so no miner on a standard web port */
    for (uint64_t m = 0; m < 300; m++)
        rt_conv(&r, "10.0.0.14", "203.0.113.55", 8080, 6, t + m * 60000, t + m * 60000 + 800, 5,
                600, 4, 900);
    /* stratum on 8080 itself, one 3-hour connection: the stronger shape holds */
    rt_stratum(&r, "10.0.0.15", "203.0.113.56", 8080, t, 180);
    /* a miner whose pool is blocked: a SYN a minute for 2 h, then one 3-minute exchange
     * got through: Medium, the attempts add no covered time (its 4 minutes touched) */
    for (uint64_t m = 0; m < 120; m++)
        rt_conv(&r, "10.0.0.16", "203.0.113.57", 3333, 6, t + m * 60000, t + m * 60000, 1, 60, 0,
                0);
    rt_stratum(&r, "10.0.0.16", "203.0.113.57", 3333, t + 2 * RT_H, 3);
    /* a check-in of 0.5 s every minute on 4444 for 2 h (Metasploit's port, also a pool's):
     * 60 s connected, not two hours of mining, though it touches 120 minutes */
    for (uint64_t m = 0; m < 120; m++)
        rt_conv(&r, "10.0.0.17", "203.0.113.58", 4444, 6, t + m * 60000 + 30000,
                t + m * 60000 + 30500, 6, 400, 5, 600);
    /* a miner reconnecting every 20 minutes, its connections straddling minutes, two of them
     * overlapping for 5 minutes: 3 h connected, the parallel time once */
    rt_stratum(&r, "10.0.0.18", "203.0.113.59", 3333, t + 10000, 60);
    rt_stratum(&r, "10.0.0.18", "203.0.113.59", 3333, t + 10000 + 55 * 60000, 65);
    rt_stratum(&r, "10.0.0.18", "203.0.113.59", 3333, t + 10000 + 2 * RT_H, 60);
    rt_finish(&r);
    const hunt_finding_t *f = rt_find(&r, "10.0.0.9", "203.0.113.50");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_STR_EQ(f->tech[0], "T1496");
    ASSERT_EQ(f->port, 3333);
    ASSERT_EQ(f->confidence, HUNT_CONF_HIGH);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"covered_hours\":3.0"));
    /* its flows command names the unit's protocol, as the other hunts' do */
    ASSERT_STR_EQ(f->filter, "host 10.0.0.9 and host 203.0.113.50 and port 3333 and proto tcp");
    f = rt_find(&r, "10.0.0.10", "203.0.113.51");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_MEDIUM);
    f = rt_find(&r, "10.0.0.15", "203.0.113.56");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"standard_port\":true"));
    f = rt_find(&r, "10.0.0.16", "203.0.113.57");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_MEDIUM);
    ASSERT_EQ(f->first_seen, t + 2 * RT_H);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"covered_hours\":0.05")); /* 3 minutes */
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"conversations\":1,\"unanswered_attempts\":120"));
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"packets_out\":9,"));
    ASSERT_NULL(rt_find(&r, "10.0.0.17", "203.0.113.58"));
    f = rt_find(&r, "10.0.0.18", "203.0.113.59");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"covered_hours\":3.00,\"active_hours\":4,"));
    ASSERT_EQ(r.out.n, 5);
    rt_end(&r);
    hc_free(&r.cfg);
    return 0;
}

TEST_IMPL(rare_miner_p2p_pools_servers)
{
    rt_run_t r;
    rt_cfg(&r.cfg);
    char err[256], pools[700], ini[700];
    snprintf(pools, sizeof pools, "%s/pools.txt", test_tmpdir());
    snprintf(ini, sizeof ini, "%s/miner.ini", test_tmpdir());
    FILE *fp = fopen(pools, "w");
    ASSERT_NOT_NULL(fp);
    fprintf(fp, "# pool addresses\n198.51.100.99\n2001:db8:77::/48  # a pool's v6 range\n");
    ASSERT_EQ(fclose(fp), 0);
    fp = fopen(ini, "w");
    ASSERT_NOT_NULL(fp);
    fprintf(fp, "[miner]\npools = %s\nservers = 10.9.0.0/16\npersist_s = 3600\n", pools);
    ASSERT_EQ(fclose(fp), 0);
    ASSERT_EQ(hc_load(&r.cfg, ini, err, sizeof err), 0);
    ASSERT_EQ(r.cfg.n_m_pools, 2);
    uint64_t t = rt_t0 + 2 * RT_H;
    rt_start(&r, &hm_ops, NULL, rt_t0, rt_t0 + RT_D, 0);
    /* stratum over TLS on 443 to a listed pool: only the list catches it */
    rt_conv(&r, "10.0.0.20", "198.51.100.99", 443, 6, t, t + 2 * RT_H, 400, 90000, 300, 120000);
    rt_conv(&r, "10.0.0.21", "2001:db8:77::5", 443, 6, t, t + 20 * 60000, 60, 9000, 40, 12000);
    /* a listed pool on 443 moving 1400-byte packets: the address says enough, the summary
     * must not claim the small packets it did not see */
    rt_conv(&r, "10.0.0.24", "198.51.100.99", 443, 6, t, t + 2 * RT_H, 20000, 28000000, 30000,
            42000000);
    /* echoes to the listed pool for an hour: no stratum session (no port: it would have been
     * "icmp/2048", a finding apart from the non-app hunt's on the same host and peer) */
    rt_conv(&r, "10.0.0.25", "198.51.100.99", 0x0800, 1, t, t + RT_H, 600, 600 * 84, 600, 600 * 84);
    /* a Monero node: 18080 to three peers for hours, blocks relayed (large packets) */
    const char *peers[3] = {"203.0.113.70", "198.18.5.5", "192.0.2.80"};
    for (int i = 0; i < 3; i++)
        rt_conv(&r, "10.0.0.22", peers[i], 18080, 6, t + (uint64_t)i * 600000, t + 3 * RT_H, 3000,
                400000 * (uint64_t)(i + 1), 5000, 6000000);
    /* one short contact to one peer on 18080: not a node */
    rt_conv(&r, "10.0.0.23", "203.0.113.71", 18080, 6, t, t + 5 * 60000, 20, 2000, 20, 9000);
    /* a miner on a server segment */
    rt_stratum(&r, "10.9.1.1", "203.0.113.80", 5555, t, 120);
    rt_finish(&r);
    const hunt_finding_t *f = rt_find(&r, "10.0.0.20", "198.51.100.99");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_NOT_NULL(strstr(f->ev.json, "listed pool"));
    ASSERT_NOT_NULL(strstr(f->summary, "with small packets both ways: a miner's shape"));
    f = rt_find(&r, "10.0.0.21", "2001:db8:77::5");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_MEDIUM);
    f = rt_find(&r, "10.0.0.22", "192.0.2.80"); /* the busiest peer names it */
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_HIGH);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"peers\":3"));
    /* blocks relayed in 1200-byte packets: no small packets claimed */
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"miner_shape\":false"));
    ASSERT_NULL(strstr(f->summary, "small packets"));
    ASSERT_NOT_NULL(strstr(f->summary, "with 3 answering peers: a node's shape"));
    f = rt_find(&r, "10.9.1.1", "203.0.113.80");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(f->risk, HUNT_RISK_CRITICAL);
    f = rt_find(&r, "10.0.0.24", "198.51.100.99");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(strstr(f->ev.json, "\"miner_shape\":false"));
    ASSERT_NULL(strstr(f->summary, "small packets"));
    ASSERT_NOT_NULL(
        strstr(f->summary, "but not a miner's packet shape: the listed address makes it"));
    ASSERT_NULL(rt_find(&r, "10.0.0.25", "198.51.100.99"));
    ASSERT_EQ(r.out.n, 5);
    rt_end(&r);
    /* without the server segment it is High; a bad pools line names file and line */
    hc_free(&r.cfg);
    rt_cfg(&r.cfg);
    fp = fopen(pools, "w");
    ASSERT_NOT_NULL(fp);
    fprintf(fp, "198.51.100.99\nnot-an-address\n");
    ASSERT_EQ(fclose(fp), 0);
    ASSERT_EQ(hc_load(&r.cfg, ini, err, sizeof err), -1);
    ASSERT_NOT_NULL(strstr(err, "pools.txt:2"));
    hc_free(&r.cfg);
    return 0;
}

/* "active hours" are clock hours whatever minute the window starts at: a session from 09:45 to
 * 10:15 touches two, hunted from 00:00 or from 09:30 (the hours used to count from the
 * window's start, so the second saw one 60-minute bucket, 09:30-10:30). */
TEST_IMPL(rare_miner_clock_hours)
{
    const uint64_t from[2] = {rt_t0, rt_t0 + 9 * RT_H + 30 * 60000};
    for (int i = 0; i < 2; i++) {
        rt_run_t r;
        rt_cfg(&r.cfg);
        rt_start(&r, &hm_ops, NULL, from[i], rt_t0 + RT_D, 0);
        rt_stratum(&r, "10.0.0.9", "203.0.113.50", 3333, rt_t0 + 9 * RT_H + 45 * 60000, 30);
        rt_finish(&r);
        const hunt_finding_t *f = rt_find(&r, "10.0.0.9", "203.0.113.50");
        ASSERT_NOT_NULL(f);
        ASSERT_NOT_NULL(strstr(f->ev.json, "\"covered_hours\":0.50,\"active_hours\":2,"));
        rt_end(&r);
        hc_free(&r.cfg);
    }
    return 0;
}

/* A p2p node's peers tie on bytes (sampled counters are multiples of 1:N): the finding names
 * the same peer whatever order they come in, as a run in passes feeds the peers' /24 pairs
 * apart, in another order than one pass (its fingerprint and Hunt ID followed the order). */
TEST_IMPL(rare_miner_p2p_peer_any_order)
{
    const char *peers[4] = {"203.0.113.70", "198.18.5.5", "192.0.2.80", "100.64.7.9"};
    char fp[2][64];
    for (int order = 0; order < 2; order++) {
        rt_run_t r;
        rt_cfg(&r.cfg);
        uint64_t t = rt_t0 + 2 * RT_H;
        rt_start(&r, &hm_ops, NULL, rt_t0, rt_t0 + RT_D, 0);
        for (int k = 0; k < 4; k++) {
            int i = order ? 3 - k : k;
            rt_conv(&r, "10.0.0.22", peers[i], 18080, 6, t + (uint64_t)i * 600000, t + 3 * RT_H,
                    3000, 400000, 5000, 6000000);
        }
        rt_finish(&r);
        ASSERT_EQ(r.out.n, 1);
        const hunt_finding_t *f = rt_find(&r, "10.0.0.22", "100.64.7.9"); /* the lowest */
        ASSERT_NOT_NULL(f);
        ASSERT_NOT_NULL(strstr(f->ev.json, "\"peers\":4"));
        snprintf(fp[order], sizeof fp[order], "%s", f->fingerprint);
        rt_end(&r);
        hc_free(&r.cfg);
    }
    ASSERT_STR_EQ(fp[0], fp[1]);
    return 0;
}

/* ---- end to end on flowgen ------------------------------------------------------------------ */

TEST_IMPL(rare_flowgen_first_seen_and_miner)
{
    static const struct {
        const char *fmt;
        int flows, seed;
    } w[] = {{"ipfix", 30000, 11}, {"v5", 20000, 13}};
    /* tallies: [0] rare (first-seen), [1] miner */
    int tp[2] = {0}, fn[2] = {0}, fp[2] = {0}, fp_high[2] = {0}, planted = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        char dir[600], pcap[600], truth[600];
        snprintf(dir, sizeof dir, "%s/rfg%zu", test_tmpdir(), i);
        snprintf(pcap, sizeof pcap, "%s/rfg%zu.pcap", test_tmpdir(), i);
        snprintf(truth, sizeof truth, "%s/rfg%zu.truth", test_tmpdir(), i);
        /* four days: three of baseline before the hunted last day */
        ASSERT_EQ(test_runf(NULL,
                             "%s --format %s --flows %d --seed %d --start 2024-03-01T00:00:00Z "
                             "--hours 96 --out %s --truth %s 2>/dev/null",
                             test_bin("flowgen"), w[i].fmt, w[i].flows, w[i].seed, pcap, truth),
                  0);
        test_truth_t cases[64];
        int n = test_truth_read(truth, cases, 64), found[64] = {0};
        int mine = 0;
        for (int k = 0; k < n; k++)
            mine += strcmp(cases[k].scenario, "first-seen") == 0 ||
                    strcmp(cases[k].scenario, "miner") == 0;
        if (!mine)
            SKIP("flowgen plants no first-seen or miner case yet");
        planted += mine;
        ASSERT_EQ(test_runf(NULL, "%s --read %s -w %s --quiet", test_bin("flowhuntd"), pcap, dir),
                  0);
        char *out;
        int rc = test_runf(&out,
                            "%s hunt %s --internal 10.0.0.0/16 --hunts rare,miner --format json "
                            "--now 2024-03-20",
                            test_bin("flowhunt"), dir);
        ASSERT_EQ(rc, 1);
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            char hunt[32], host[64], peer[64], risk[16];
            ASSERT(test_json_str(line, "hunt", hunt, sizeof hunt));
            ASSERT(test_json_str(line, "host", host, sizeof host));
            ASSERT(test_json_str(line, "peer", peer, sizeof peer));
            ASSERT(test_json_str(line, "risk_level", risk, sizeof risk));
            const char *techs = strstr(line, "\"techniques\":[");
            ASSERT_NOT_NULL(techs);
            const char *tend = strchr(techs, ']');
            int h = strstr(hunt, "miner") ? 1 : 0, match = -1, benign = 0;
            for (int k = 0; k < n; k++) {
                if (strcmp(host, cases[k].host) != 0 || strcmp(peer, cases[k].peer) != 0)
                    continue;
                if (strncmp(cases[k].scenario, "benign-", 7) == 0) {
                    benign = 1;
                    continue;
                }
                char want[32];
                snprintf(want, sizeof want, "\"%s\"", cases[k].technique);
                const char *hit = strstr(techs, want);
                if (hit && hit < tend)
                    match = k;
            }
            int high = strcmp(risk, "High") == 0 || strcmp(risk, "Critical") == 0;
            if (match >= 0) {
                found[match] = 1;
                tp[h]++;
            } else {
                fp[h]++;
                if (high) {
                    fp_high[h]++;
                    fprintf(stderr, "%s seed %d: %s finding at %s: %.300s\n", w[i].fmt, w[i].seed,
                            benign ? "benign look-alike" : "unplanted", risk, line);
                }
            }
        }
        free(out);
        for (int k = 0; k < n; k++) {
            int h = strcmp(cases[k].scenario, "miner") == 0        ? 1
                    : strcmp(cases[k].scenario, "first-seen") == 0 ? 0
                                                                   : -1;
            if (h >= 0 && !found[k]) {
                fn[h]++;
                fprintf(stderr, "%s seed %d: missed %s %s -> %s\n", w[i].fmt, w[i].seed,
                        cases[k].scenario, cases[k].host, cases[k].peer);
            }
        }
    }
    static const char *const names[2] = {"rare", "miner"};
    for (int h = 0; h < 2; h++) {
        int want = tp[h] + fn[h];
        printf("# %-5s recall %.3f (%d/%d planted found)  precision %.3f over all levels, %.3f "
               "over High and Critical (%d other findings, %d at High/Critical)\n",
               names[h], want ? (double)(want - fn[h]) / want : 1.0, want - fn[h], want,
               tp[h] + fp[h] ? (double)tp[h] / (tp[h] + fp[h]) : 1.0,
               tp[h] + fp_high[h] ? (double)tp[h] / (tp[h] + fp_high[h]) : 1.0, fp[h], fp_high[h]);
    }
    fflush(stdout);
    ASSERT_GT(planted, 0);
    ASSERT_EQ(fn[0], 0);
    ASSERT_EQ(fn[1], 0);
    ASSERT_EQ(fp_high[0] + fp_high[1], 0);
    return 0;
}
