/* test_hunt_cache.c: the hour cache (analyzer/hunt_unit.c). Every check is one comparison: the
 * JSON report of a run that takes whole hours from DIR/hunt/cache against the report of a run
 * that prepares everything from the segments (--no-cache), each from the same fresh ID state,
 * so they must be equal byte for byte. The text header says how many hours came from the cache,
 * which shows the cache was really used (or really rebuilt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "hunt_unit.h"
#include "seg.h"
#include "task.h"

#define HK_ARGS "--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --now 2024-03-20"

/* Six hours of flowgen traffic (starting 20 minutes into an hour, long connections cut by
 * the active timeout, a fifth of the records exported twice) stored in DIR; returns DIR. */
static const char *hk_store(const char *name)
{
    static char dir[600];
    char pcap[700];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    snprintf(pcap, sizeof pcap, "%s/%s.pcap", test_tmpdir(), name);
    test_flowgen_store(dir, pcap, "",
                       "--format v9 --flows 60000 --seed 21 --start 2024-03-01T00:20:00Z "
                       "--hours 6 --exporters 3 --dup 0.2");
    return dir;
}

/* Segments are placed by this much after each flow's end (0: by the flow's own time). */
static uint64_t hk_place_delay_ms;

static void hk_flow(seg_writer_t *w, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                    uint8_t proto, uint64_t t0, uint64_t t1, uint64_t pkts, const char *exporter,
                    uint8_t flags)
{
    flow_rec_t r;
    flow_addr_t a;
    flow_rec_clear(&r);
    ASSERT_EQ(flow_addr_parse(&a, src), 0);
    FLOW_SET(&r, src_addr, a);
    ASSERT_EQ(flow_addr_parse(&a, dst), 0);
    FLOW_SET(&r, dst_addr, a);
    ASSERT_EQ(flow_addr_parse(&a, exporter), 0);
    FLOW_SET(&r, exporter, a);
    FLOW_SET(&r, src_port, sp);
    FLOW_SET(&r, dst_port, dp);
    FLOW_SET(&r, proto, proto);
    FLOW_SET(&r, time_start, t0);
    FLOW_SET(&r, time_end, t1);
    FLOW_SET(&r, packets, pkts);
    FLOW_SET(&r, bytes, pkts * 100);
    FLOW_SET(&r, tcp_flags, flags);
    FLOW_SET(&r, sampling, 1);
    ASSERT_EQ(seg_writer_add(w, &r, t1 + hk_place_delay_ms), 0);
}

/* At each hour boundary from 01:00 to 06:00, records that preparation joins across it: an
 * active-timeout chain cut 10 s before the hour and continued 20 s after, a DNS query answered
 * across the hour, one flow exported by two routers either side of it, a ping and its echo. A
 * cache that cut conversations at the hour would count them differently. */
static void hk_plant_edges(const char *dir)
{
    seg_writer_opts_t o = {.dir = dir, .instance = "edges", .rotate_s = 3600, .flush_ms = 60000};
    int err = 0;
    seg_writer_t *w = seg_writer_open(&o, &err);
    ASSERT_NOT_NULL(w);
    for (int k = 1; k <= 6; k++) {
        uint64_t h = 1709251200000ull + (uint64_t)k * 3600000ull; /* 2024-03-01 + k h */
        char src[32];
        snprintf(src, sizeof src, "10.0.9.%d", k);
        hk_flow(w, src, 40000, "198.51.100.20", 9001, 6, h - 70000, h - 10000, 50, "192.0.2.9",
                0x18);
        hk_flow(w, src, 40000, "198.51.100.20", 9001, 6, h + 20000, h + 80000, 50, "192.0.2.9",
                0x18);
        hk_flow(w, src, 5353, "198.51.100.53", 53, 17, h - 1500, h - 1500, 1, "192.0.2.9", 0);
        hk_flow(w, "198.51.100.53", 53, src, 5353, 17, h + 800, h + 800, 1, "192.0.2.9", 0);
        hk_flow(w, src, 40001, "198.51.100.21", 443, 6, h - 400, h - 300, 3, "192.0.2.9", 0x02);
        hk_flow(w, src, 40001, "198.51.100.21", 443, 6, h + 400, h + 500, 3, "192.0.2.10", 0x02);
        hk_flow(w, src, 0, "198.51.100.22", 0x0800, 1, h - 3000, h - 3000, 1, "192.0.2.9", 0);
        hk_flow(w, "198.51.100.22", 0, src, 0, 1, h + 1000, h + 1000, 1, "192.0.2.9", 0);
    }
    ASSERT_EQ(seg_writer_close(w), 0);
}

/* Forgets every run (IDs, baselines, the audit log) but keeps the cached hours. */
static void hk_fresh(const char *dir)
{
    ASSERT_EQ(test_runf(NULL,
                        "mkdir -p %s/hunt && find %s/hunt -mindepth 1 -maxdepth 1 ! -name cache "
                        "-exec rm -rf {} +",
                        dir, dir),
              0);
}

/* The JSON report of a run from fresh state (malloc'd). */
static char *hk_report(const char *dir, const char *args)
{
    char path[700];
    hk_fresh(dir);
    snprintf(path, sizeof path, "%s/report.json", test_tmpdir());
    int rc = test_runf(NULL, "%s hunt %s " HK_ARGS " --format json %s -o %s 2>/dev/null",
                       test_bin("flowhunt"), dir, args, path);
    ASSERT_EQ(rc, 1); /* findings */
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    ASSERT_NOT_NULL(text);
    ASSERT_GT(len, 1000);
    return text;
}

/* The text report's header of a run from fresh state, the cache's own line taken out: the
 * counts of stitched, duplicate and paired records (malloc'd). */
static char *hk_header(const char *dir, const char *args)
{
    char *out;
    hk_fresh(dir);
    test_runf(&out, "%s hunt %s " HK_ARGS " --hunts intel %s 2>/dev/null | head -4 | "
                    "grep -v '^# whole hours'",
              test_bin("flowhunt"), dir, args);
    ASSERT_NOT_NULL(strstr(out, " stitched, "));
    return out;
}

/* The hours a (cheap) run took from the cache and prepared, from its text header. */
static void hk_hours(const char *dir, const char *args, int *taken, int *built)
{
    char *out;
    test_runf(&out, "%s hunt %s " HK_ARGS " --no-state --hunts intel %s 2>&1 | head -4",
              test_bin("flowhunt"), dir, args);
    /* --no-state leaves the cache alone: the header must then not mention it */
    ASSERT_NULL(strstr(out, "whole hours"));
    free(out);
    test_runf(&out, "%s hunt %s " HK_ARGS " --hunts intel %s 2>&1 | head -4",
              test_bin("flowhunt"), dir, args);
    const char *p = strstr(out, "# whole hours: ");
    ASSERT_NOT_NULL(p);
    ASSERT_EQ(sscanf(p, "# whole hours: %d taken from DIR/hunt/cache, %d prepared", taken, built),
              2);
    free(out);
}

/* The report with the cache equals the one without, for the run that builds the hours, the
 * run that takes them all, a window cut mid-hour at both ends, and a memory bound that needs
 * several passes. */
TEST_IMPL(hunt_cache_same_report)
{
    const char *dir = hk_store("hk-same");
    hk_plant_edges(dir);
    char *ref = hk_report(dir, "--no-cache");
    char *cold = hk_report(dir, "");
    ASSERT_STR_EQ(ref, cold);
    char *h_ref = hk_header(dir, "--no-cache"), *h_inc = hk_header(dir, "");
    ASSERT_STR_EQ(h_ref, h_inc);
    free(h_ref);
    free(h_inc);
    int taken, built;
    hk_hours(dir, "", &taken, &built);
    ASSERT_EQ(taken, 7); /* 00:00 .. 06:00, every one kept by the run before */
    ASSERT_EQ(built, 0);
    /* the store spelled another way is the same store: its segments' names under it, not
     * DIR as typed, identify the hours' inputs (each spelling rebuilt every hour) */
    char spelled[800];
    snprintf(spelled, sizeof spelled, "%s/", dir);
    hk_hours(spelled, "", &taken, &built);
    ASSERT_EQ(taken, 7);
    ASSERT_EQ(built, 0);
    char *warm = hk_report(dir, "");
    ASSERT_STR_EQ(ref, warm);

    const char *win = "--from 2024-03-01T01:10:00Z --to 2024-03-01T05:50:00Z";
    char args[1000];
    snprintf(args, sizeof args, "%s --no-cache", win);
    char *ref_w = hk_report(dir, args);
    char *inc_w = hk_report(dir, win);
    ASSERT_STR_EQ(ref_w, inc_w);
    hk_hours(dir, win, &taken, &built);
    ASSERT_EQ(taken, 3); /* 01:10 .. 05:50 holds three whole hours: 02, 03 and 04 */

    char ini[700];
    snprintf(ini, sizeof ini, "%s/hk-small.ini", test_tmpdir());
    FILE *f = fopen(ini, "w");
    ASSERT_NOT_NULL(f);
    fputs("[general]\nmemory_mb = 16\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s --no-cache", ini);
    char *ref_p = hk_report(dir, args);
    snprintf(args, sizeof args, "--config %s", ini);
    char *inc_p = hk_report(dir, args);
    ASSERT_STR_EQ(ref_p, inc_p);
    char *out;
    test_runf(&out, "%s hunt %s " HK_ARGS " --hunts intel --config %s 2>&1 | head -3",
              test_bin("flowhunt"), dir, ini);
    ASSERT_NOT_NULL(strstr(out, " passes;"));
    free(out);
    free(ref);
    free(cold);
    free(warm);
    free(ref_w);
    free(inc_w);
    free(ref_p);
    free(inc_p);
    return 0;
}

/* New flows in the middle of the kept hours (an import: a beacon every 5 minutes and
 * connections of two hours that cross several hours), a broken file and a changed setting:
 * each rebuilds what it touches, and the report still equals the one without the cache. */
TEST_IMPL(hunt_cache_rebuilds_changed_hours)
{
    const char *dir = hk_store("hk-change");
    char *first = hk_report(dir, "");
    free(first);
    char log[700];
    snprintf(log, sizeof log, "%s/hk-late.log", test_tmpdir());
    FILE *f = test_zeek_conn_create(log);
    const double t0 = 1709254800.0; /* 2024-03-01T01:00:00Z */
    for (int k = 0; k < 48; k++) /* 01:00 .. 05:00 every 300 s */
        fprintf(f, "%.6f\tB%d\t10.0.7.7\t%d\t198.51.100.9\t8443\ttcp\t0.5\t300\t900\tSF\t5\t560\t"
                   "5\t1160\n",
                t0 + k * 300.0 + (k % 3), k, 41000 + k);
    for (int k = 0; k < 5; k++) /* two hours long, from 01:30 on */
        fprintf(f, "%.6f\tL%d\t10.0.8.%d\t%d\t203.0.113.50\t22\ttcp\t7200.0\t90000\t400000\tSF\t"
                   "900\t126000\t1200\t448000\n",
                t0 + 1800.0 + k * 600.0, k, k + 1, 52000 + k);
    fclose(f);
    test_zeek_import(dir, log);
    int taken, built;
    hk_hours(dir, "", &taken, &built);
    ASSERT_GE(built, 4); /* 01:00 .. 05:00 (and their neighbours' margins) */
    ASSERT_GE(taken, 1); /* the hours the import did not touch */
    ASSERT_EQ(taken + built, 7);
    char *ref = hk_report(dir, "--no-cache");
    char *inc = hk_report(dir, "");
    ASSERT_STR_EQ(ref, inc);
    ASSERT_NOT_NULL(strstr(inc, "198.51.100.9")); /* the imported beacon is in both */

    /* a byte of one kept hour flipped: that hour is prepared again */
    char unit[700];
    snprintf(unit, sizeof unit, "%s/hunt/cache/20240301T03.unit", dir);
    size_t len;
    uint8_t *bytes = test_read_file(unit, &len);
    ASSERT_NOT_NULL(bytes);
    ASSERT_GT(len, 300);
    bytes[len - 100] ^= 0x40;
    f = fopen(unit, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    hk_hours(dir, "", &taken, &built);
    ASSERT_EQ(built, 1);
    ASSERT_EQ(taken, 6);
    char *inc2 = hk_report(dir, "");
    ASSERT_STR_EQ(ref, inc2);

    /* no room for the cache (a file where its folder goes): said once, and the run goes on
     * from the segments, with the same report */
    ASSERT_EQ(test_runf(NULL, "rm -rf %s/hunt/cache && touch %s/hunt/cache", dir, dir), 0);
    char *warn;
    test_runf(&warn, "(%s hunt %s " HK_ARGS " --hunts intel 2>&1 >/dev/null)",
              test_bin("flowhunt"), dir);
    ASSERT_NOT_NULL(strstr(warn, "hunt/cache"));
    ASSERT_NOT_NULL(strstr(warn, "hours are not kept"));
    free(warn);
    char *nocache = hk_report(dir, "");
    ASSERT_STR_EQ(ref, nocache);
    free(nocache);
    ASSERT_EQ(test_runf(NULL, "rm -f %s/hunt/cache", dir), 0);

    /* a setting preparation reads: every hour again */
    char ini[700], args[800];
    snprintf(ini, sizeof ini, "%s/hk-gap.ini", test_tmpdir());
    f = fopen(ini, "w");
    ASSERT_NOT_NULL(f);
    fputs("[prep]\nstitch_gap_s = 20\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s", ini);
    hk_hours(dir, args, &taken, &built);
    ASSERT_EQ(taken, 0);
    ASSERT_EQ(built, 7);

    /* expire: the prepared hours of data gone go with it (these flows are from 2024) */
    char *out;
    ASSERT_EQ(test_runf(&out, "ls %s/hunt/cache | grep -c 'T..\\.unit$'", dir), 0);
    ASSERT_EQ(atoi(out), 7);
    free(out);
    ASSERT_EQ(test_runf(NULL, "%s expire %s --max-age 1d 2>/dev/null", test_bin("flowhunt"), dir),
              0);
    ASSERT_EQ(test_runf(&out, "ls %s/hunt/cache | grep -c 'T..\\.unit$'", dir), 1);
    ASSERT_EQ(atoi(out), 0);
    free(out);
    free(ref);
    free(inc);
    free(inc2);
    return 0;
}

/* A capture replayed into the daemon days after its traffic: segments are named by arrival,
 * far from the flows' times, so only a run over every segment (no window) sees them. The
 * hours must come from exactly those segments too: all 48 records, the same header as
 * without the cache. */
TEST_IMPL(hunt_cache_daemon_placement)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/hk-placed", test_tmpdir());
    hk_place_delay_ms = 6 * 86400000ull;
    hk_plant_edges(dir);
    hk_place_delay_ms = 0;
    char *ref = hk_header(dir, "--no-cache"), *inc = hk_header(dir, "");
    ASSERT_NOT_NULL(strstr(ref, "# 48 flows -> "));
    ASSERT_STR_EQ(ref, inc);
    int taken, built;
    hk_hours(dir, "", &taken, &built);
    ASSERT_EQ(taken, 7); /* 00:00 .. 06:00, each with records either side of an hour */
    ASSERT_EQ(built, 0);
    free(ref);
    free(inc);
    return 0;
}

/* The fuzz corpus's real unit files read whole (hu_file_read, as the fuzzer reads its inputs):
 * so the fuzzer starts from files that get past every check, and a change of the file format
 * that leaves them stale fails here (regenerate them: any hour of DIR/hunt/cache). Broken
 * variants of one are refused. */
TEST_IMPL(hunt_cache_file_read)
{
    static const char *const good[] = {"hour-first", "hour-last"};
    /* header-flipped: a bit of the header's row count (no CRC covered the header's counters,
     * which the report's preparation line prints) */
    static const char *const bad[] = {"truncated", "index-flipped", "frame-flipped", "header-only",
                                      "header-flipped"};
    for (size_t i = 0; i < sizeof good / sizeof good[0] + sizeof bad / sizeof bad[0]; i++) {
        int is_good = i < sizeof good / sizeof good[0];
        char path[300];
        snprintf(path, sizeof path, "tests/fuzz/corpus/unit/%s",
                 is_good ? good[i] : bad[i - sizeof good / sizeof good[0]]);
        FILE *f = fopen(path, "rb");
        ASSERT_NOT_NULL(f);
        hp_recs_t recs = {0};
        hunt_conv_t *convs = NULL;
        size_t n = 0, cap = 0;
        int rc = hu_file_read(f, &recs, &convs, &n, &cap);
        if (is_good) {
            ASSERT_EQ(rc, 0);
            ASSERT_GT(n, 100); /* an hour of a small organisation's conversations */
            ASSERT_GT(recs.n, 0);
            for (size_t j = 0; j < n; j++)
                ASSERT(convs[j].t_end >= convs[j].t_start);
        } else {
            ASSERT_EQ(rc, -1);
        }
        free(recs.v);
        free(convs);
    }
    return 0;
}
