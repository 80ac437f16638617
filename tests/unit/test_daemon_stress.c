/* test_daemon_stress.c: flowhuntd under hostile and broken conditions, on loopback.
 *
 * Flood: one source sends IPFIX messages defining fresh random templates in random domains,
 * mixed with garbage, as fast as the loopback takes them for 3 s, and as many again come from
 * spoofed sources (a new 127.1.x.y for each message, through IP_PKTINFO), enough to fill
 * each worker's whole template cache. A second source (127.0.0.2) sends valid v9 throughout,
 * and a third (127.0.0.3) appears only in the last second, when the caches are full. The
 * daemon's RSS must stay under a bound and stop growing, the counters must show the evictions
 * (per exporter and cache-wide) and malformed datagrams, and every flow of the first router
 * is stored (the late one may lose what its worker shed while it was not yet known).
 *
 * Shed: one worker, a router it has decoded, and a flood of costly templates at full speed
 * that outruns the worker: the flood is shed at half the ring, the router loses nothing.
 *
 * Crash: flowgen streams a capture at a steady rate, the daemon is killed with SIGKILL
 * mid-stream and restarted on the same directory; every segment must verify and what was
 * stored must cover what arrived up to about a flush interval before the kill.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon_helpers.h"
#include "exporter.h"
#include "task.h"
#include "tpl.h"

static double ds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmRSS of a process in KiB; 0 when it cannot be read. */
static long ds_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long kib = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    fclose(f);
    return kib;
}

static uint64_t ds_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t ds_put16(uint8_t *p, size_t o, uint32_t v)
{
    p[o] = (uint8_t)(v >> 8);
    p[o + 1] = (uint8_t)v;
    return o + 2;
}

static size_t ds_put32(uint8_t *p, size_t o, uint32_t v)
{
    o = ds_put16(p, o, v >> 16);
    return ds_put16(p, o, v & 0xffff);
}

/* An IPFIX message of 10 templates with random ids in observation domain `domain`, each of
 * `n_fields` elements of 4 bytes with ids id_base .. id_base + 399 (1: assigned ones, many of
 * another length, so malformed; 1000: unassigned, kept and skipped when decoding). */
static size_t ds_tpl_msg(uint8_t *p, uint64_t *rng, uint32_t seq, uint32_t domain, int n_fields,
                         uint32_t id_base)
{
    size_t o = ds_put16(p, 0, 10);
    o = ds_put16(p, o, 0); /* length, below */
    o = ds_put32(p, o, (uint32_t)time(NULL));
    o = ds_put32(p, o, seq);
    o = ds_put32(p, o, domain);
    size_t set = o;
    o = ds_put16(p, o, 2);
    o = ds_put16(p, o, 0);
    for (int t = 0; t < 10; t++) {
        o = ds_put16(p, o, 256 + (uint32_t)(ds_rng(rng) % 65280));
        o = ds_put16(p, o, (uint32_t)n_fields);
        for (int f = 0; f < n_fields; f++) {
            o = ds_put16(p, o, id_base + (uint32_t)(ds_rng(rng) % 400));
            o = ds_put16(p, o, 4);
        }
    }
    ds_put16(p, set + 2, (uint32_t)(o - set));
    ds_put16(p, 2, (uint32_t)o);
    return o;
}

/* The flood's message: 10 templates of 5 assigned elements in a random domain. */
static size_t ds_flood_msg(uint8_t *p, uint64_t *rng, uint32_t seq)
{
    return ds_tpl_msg(p, rng, seq, (uint32_t)ds_rng(rng), 5, 1);
}

/* A v9 datagram with template 256 (src, dst, bytes, packets) and 10 records. */
#define DS_V9_FLOWS 10
static size_t ds_v9_msg(uint8_t *p, uint32_t seq)
{
    size_t o = ds_put16(p, 0, 9);
    o = ds_put16(p, o, 2);
    o = ds_put32(p, o, 100000 + seq);
    o = ds_put32(p, o, (uint32_t)time(NULL));
    o = ds_put32(p, o, seq);
    o = ds_put32(p, o, 1);
    o = ds_put16(p, o, 0);
    o = ds_put16(p, o, 4 + 4 + 4 * 4);
    o = ds_put16(p, o, 256);
    o = ds_put16(p, o, 4);
    static const uint16_t f[4] = {8, 12, 1, 2};
    for (int i = 0; i < 4; i++) {
        o = ds_put16(p, o, f[i]);
        o = ds_put16(p, o, 4);
    }
    o = ds_put16(p, o, 256);
    o = ds_put16(p, o, 4 + DS_V9_FLOWS * 16);
    for (int r = 0; r < DS_V9_FLOWS; r++) {
        o = ds_put32(p, o, 0x0a000000u + seq);
        o = ds_put32(p, o, 0xc0000200u + (uint32_t)r);
        o = ds_put32(p, o, 1000);
        o = ds_put32(p, o, 2);
    }
    return o;
}

/* Where the daemon under test listens. */
static struct sockaddr_in ds_daemon_addr(const td_daemon_t *d)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    to.sin_addr.s_addr = htonl(0x7f000001);
    return to;
}

static int ds_socket(const char *bind_ip)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, bind_ip, &a.sin_addr);
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Sends from any 127/8 address (all local on lo): IP_PKTINFO sets the source per datagram. */
static void ds_send_from(int fd, uint32_t src_host, const uint8_t *p, size_t n,
                         const struct sockaddr_in *to)
{
    struct iovec io = {.iov_base = (void *)p, .iov_len = n};
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_name = (void *)to,
                       .msg_namelen = sizeof *to,
                       .msg_iov = &io,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = {.ipi_ifindex = 0};
    pi.ipi_spec_dst.s_addr = htonl(src_host);
    memcpy(CMSG_DATA(cm), &pi, sizeof pi);
    /* a full socket buffer is the flood's problem, not the test's */
    (void)sendmsg(fd, &m, MSG_DONTWAIT);
}

/* A sum over the Prometheus file's lines that start with `prefix` and contain `part` (NULL:
 * any). */
static uint64_t ds_prom_sum_with(const td_daemon_t *d, const char *prefix, const char *part)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "awk 'index($0, \"%s\") == 1 && index($0, \"%s\") { s += $NF } "
             "END { printf \"%%d\\n\", s }' %s/state/test/flowhuntd.prom",
             prefix, part ? part : prefix, d->dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    uint64_t v = strtoull(out, NULL, 10);
    free(out);
    return v;
}

static uint64_t ds_prom_sum(const td_daemon_t *d, const char *prefix)
{
    return ds_prom_sum_with(d, prefix, NULL);
}

/* The bound: two workers each hold at most TPL_MAX_BYTES_PER_EXPORTER (16 MiB) of the
 * flooder's templates plus the Judy and malloc overhead of as many again, 256 scopes, held
 * data (none here: the flood sends no data sets) and the segment writers' buffers; 256 MiB
 * leaves room for all of it while an unbounded cache (a million templates, ~200 MiB of
 * definitions alone) would cross it. */
#define DS_RSS_BOUND_KIB (256L * 1024)

/* Spoofed messages (one new scope each) that take each of the two workers' caches well past
 * TPL_MAX_SCOPES, however the sources split between them. */
#define DS_SPOOF_FILL (4u * TPL_MAX_SCOPES)

TEST_IMPL(daemon_stress_flood)
{
    td_daemon_t d;
    td_init(&d, "flood");
    td_start(&d, "");
    struct sockaddr_in to = ds_daemon_addr(&d);
    int bad = ds_socket("127.0.0.1"), good = ds_socket("127.0.0.2");
    int late = ds_socket("127.0.0.3"), spoof = ds_socket("0.0.0.0");
    uint64_t rng = 0x9e3779b97f4a7c15u;
    uint8_t buf[1500];
    /* The caches fill for 1.5 s, and at least until DS_SPOOF_FILL spoofed messages are out
     * (a slow sender, the runner under valgrind, sends too few in 1.5 s to take both workers'
     * caches past their bound); t_fill marks the end of that, the rest runs from it. */
    double t0 = ds_now(), t_fill = 0, next_sample = t0, next_valid = t0;
    long rss_max = 0, rss_settled = 0;
    uint64_t flood_sent = 0, garbage_sent = 0, spoofed_sent = 0;
    uint32_t valid_sent = 0, late_sent = 0;
    for (;;) {
        double now = ds_now();
        if (!t_fill && now - t0 >= 1.5 && spoofed_sent >= DS_SPOOF_FILL)
            t_fill = now;
        if (t_fill && now - t_fill >= 1.5)
            break;
        if (now >= next_sample) {
            long rss = ds_rss_kib(d.pid);
            if (rss > rss_max)
                rss_max = rss;
            if (!rss_settled && t_fill && now - t_fill >= 0.5)
                rss_settled = rss;
            next_sample = now + 0.05;
        }
        /* valid v9 at a steady 1000 datagrams/s, from its own address */
        if (now >= next_valid) {
            size_t n = ds_v9_msg(buf, valid_sent);
            ASSERT_EQ(sendto(good, buf, n, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)n);
            valid_sent++;
            /* a router that starts exporting after the flood filled the caches */
            if (t_fill && now - t_fill >= 0.5) {
                n = ds_v9_msg(buf, late_sent);
                ASSERT_EQ(sendto(late, buf, n, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)n);
                late_sent++;
            }
            next_valid += 0.001;
        }
        /* spoofed sources, one message each, fresh domains: fill the caches from everywhere,
         * most of it early, so they are full well before the late router and the last second
         * (whose growth must be flat) */
        int n_spoof = !t_fill ? 48 : 8;
        for (int i = 0; i < n_spoof; i++) {
            size_t n = ds_flood_msg(buf, &rng, 0);
            ds_send_from(spoof, 0x7f010000u + (uint32_t)(spoofed_sent % 65000u), buf, n, &to);
            spoofed_sent++;
        }
        for (int i = 0; i < 32; i++) {
            size_t n;
            if (ds_rng(&rng) % 4 == 0) { /* garbage: never a valid version (first byte 0xff) */
                n = 20 + ds_rng(&rng) % 1000;
                for (size_t k = 0; k < n; k++)
                    buf[k] = (uint8_t)ds_rng(&rng);
                buf[0] = 0xff;
                garbage_sent++;
            } else {
                n = ds_flood_msg(buf, &rng, (uint32_t)flood_sent);
                flood_sent++;
            }
            /* a full socket buffer is the flood's problem, not the test's */
            (void)sendto(bad, buf, n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof to);
        }
        /* leave the receive buffer room for the valid exporter: the flood is as fast as the
         * daemon drains, the valid datagrams must not be lost in the kernel */
        td_sleep_ms(1);
    }
    td_sleep_ms(1500); /* the workers catch up; the counters file is rewritten each second */
    long rss_end = ds_rss_kib(d.pid);
    if (rss_end > rss_max)
        rss_max = rss_end;
    uint64_t evicted = ds_prom_sum(&d, "flowhunt_templates_evicted_all_total");
    uint64_t scopes_evicted = ds_prom_sum(&d, "flowhunt_template_scopes_evicted_total");
    uint64_t cache_ev[2];
    for (int w = 0; w < 2; w++) {
        char prefix[128];
        snprintf(prefix, sizeof prefix,
                 "flowhunt_template_scopes_evicted_total{worker=\\\"%d\\\",bound=\\\"cache\\\"}",
                 w);
        cache_ev[w] = ds_prom_sum(&d, prefix);
    }
    uint64_t evicted_tpls = ds_prom_sum(&d, "flowhunt_evicted_scope_templates_total");
    /* every spoofed datagram names a fresh domain: the exporters' domains all together stay
     * within their bound (two workers) */
    uint64_t domains = ds_prom_sum(&d, "flowhunt_exporter_domains{");
    uint64_t malformed = ds_prom_sum(&d, "flowhunt_malformed_total{exporter=\\\"127.0.0.1\\\"");
    uint64_t kernel_drops =
        ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"kernel_buffer\\\"");
    uint64_t queue_drops =
        ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"queue_full\\\"");
    uint64_t shed = ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"shed\\\"");
    printf("# flood: %llu template messages (10 templates each) from one source, %llu from "
           "spoofed sources, %llu garbage, %u valid, %u from a late router; RSS max %ld KiB, 0.5 s "
           "after the fill %ld, end %ld; evicted %llu templates, %llu scopes (cache bound: %llu + "
           "%llu, "
           "holding %llu templates); malformed %llu; dropped: kernel buffer %llu, queue full %llu, "
           "shed %llu\n",
           (unsigned long long)flood_sent, (unsigned long long)spoofed_sent,
           (unsigned long long)garbage_sent, valid_sent, late_sent, rss_max, rss_settled, rss_end,
           (unsigned long long)evicted, (unsigned long long)scopes_evicted,
           (unsigned long long)cache_ev[0], (unsigned long long)cache_ev[1],
           (unsigned long long)evicted_tpls, (unsigned long long)malformed,
           (unsigned long long)kernel_drops, (unsigned long long)queue_drops,
           (unsigned long long)shed);
    fflush(stdout);
    ASSERT_EQ(td_stop(&d), 0);
    close(bad);
    close(good);
    close(late);
    close(spoof);
#ifndef __SANITIZE_ADDRESS__
    /* The bound is the normal build's (issue 6): under ASan the quarantine keeps freed memory
     * on purpose (up to 256 MiB), so memory neither stays flat nor means what it says. */
    ASSERT_LT(rss_max, DS_RSS_BOUND_KIB);
    /* About flat in the last second: a cache that kept what the flood sends would grow by tens
     * of MiB a second; what does grow (11-15 MiB on a quiet machine, 25 once with a second
     * test suite running beside it: the daemon draining the fill's backlog) is allowed for.
     * Slow growth no second shows is the bounds tests' (bounds_exporter_domains_total). */
    ASSERT_LT(rss_end - rss_settled, 32 * 1024);
#endif
    ASSERT_GT(evicted, 0);
    ASSERT_GT(scopes_evicted, 0);
    ASSERT_GT(malformed, 0);
    /* both workers' caches reached their bound and evicted rather than refused */
    ASSERT_GT(cache_ev[0], 0);
    ASSERT_GT(cache_ev[1], 0);
    ASSERT_GT(evicted_tpls, 0);
    ASSERT_GT(domains, 10000);
    ASSERT_LE(domains, 2 * (uint64_t)EXP_MAX_DOMAINS_TOTAL);
    ASSERT_GT(late_sent, 0);
    /* The router exporting since the start is known to its worker: all of its flows are
     * stored. The late router is not yet known when it appears, so while a worker's ring is
     * over half full its datagrams are shed with the flood's (dq.h): all stored when nothing
     * was shed, else it lost at most what was shed and still got in. */
    flow_addr_t router, late_router;
    flow_addr_from_v4(&router, 0x7f000002u);
    flow_addr_from_v4(&late_router, 0x7f000003u);
    ASSERT_UINT64_EQ(td_count_from(d.dir, &router, NULL), (uint64_t)valid_sent * DS_V9_FLOWS);
    uint64_t late_stored = td_count_from(d.dir, &late_router, NULL);
    printf("# the late router: %llu of %u datagrams' flows stored\n",
           (unsigned long long)(late_stored / DS_V9_FLOWS), late_sent);
    if (shed == 0)
        ASSERT_UINT64_EQ(late_stored, (uint64_t)late_sent * DS_V9_FLOWS);
    ASSERT_GT(late_stored, 0);
    ASSERT_LE((uint64_t)late_sent * DS_V9_FLOWS - late_stored, shed * DS_V9_FLOWS);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), (uint64_t)valid_sent * DS_V9_FLOWS + late_stored);
    return 0;
}

/* Two seconds of a template flood from `bad` (sixteen datagrams a turn, never waiting),
 * with the router `good` sending a valid v9 datagram every millisecond from `router_after` s
 * on (*valid_sent numbers them); returns the flood's datagrams. */
static uint64_t ds_flood(int good, int bad, const struct sockaddr_in *to, uint64_t rng,
                         double router_after, uint32_t *valid_sent)
{
    uint8_t buf[4096];
    uint64_t flood_sent = 0;
    double t0 = ds_now(), next_valid = t0 + router_after;
    while (ds_now() - t0 < 2.0) {
        if (ds_now() >= next_valid) {
            size_t n = ds_v9_msg(buf, (*valid_sent)++);
            ASSERT_EQ(sendto(good, buf, n, 0, (const struct sockaddr *)to, sizeof *to), (ssize_t)n);
            next_valid += 0.001;
        }
        for (int i = 0; i < 16; i++) {
            size_t n =
                ds_tpl_msg(buf, &rng, (uint32_t)flood_sent, (uint32_t)ds_rng(&rng), 60, 1000);
            (void)sendto(bad, buf, n, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof *to);
            flood_sent++;
        }
    }
    return flood_sent;
}

/* The router `good` sends valid v9 datagrams until the worker has decoded its flows (the
 * counters file is rewritten each second; at most 10 s). */
static void ds_learn_router(const td_daemon_t *d, int good, const struct sockaddr_in *to,
                            uint32_t *valid_sent)
{
    uint8_t buf[4096];
    char prom[1200];
    snprintf(prom, sizeof prom, "%s/state/test/flowhuntd.prom", d->dir);
    for (int i = 0; i < 1000 && (access(prom, R_OK) != 0 ||
                                 ds_prom_sum(d, "flowhunt_decoded_flows_total") == 0);
         i++) {
        size_t n = ds_v9_msg(buf, (*valid_sent)++);
        ASSERT_EQ(sendto(good, buf, n, 0, (const struct sockaddr *)to, sizeof *to), (ssize_t)n);
        td_sleep_ms(10);
    }
    ASSERT_GT(ds_prom_sum(d, "flowhunt_decoded_flows_total"), 0);
}

/* A flood that outruns the worker. One worker; a router (127.0.0.2) exports valid v9 at 1000
 * datagrams/s and has been decoded before the flood starts; then for 2 s one source sends
 * IPFIX messages of 10 templates of 60 fields (600 definitions to compile and store for a few
 * microseconds of the receive loop's copying) as fast as the loopback takes them. The worker
 * falls behind and its ring fills; the upper half is the router's (dq.h), so the flood is
 * shed and every one of the router's flows is stored. Before the shedding, the ring filled
 * with the flood and the router's datagrams were dropped as queue full. */
TEST_IMPL(daemon_flood_shed_keeps_exporters)
{
    td_daemon_t d;
    td_init(&d, "shed");
    td_start(&d, "--workers 1");
    struct sockaddr_in to = ds_daemon_addr(&d);
    int bad = ds_socket("127.0.0.1"), good = ds_socket("127.0.0.2");
    uint32_t valid_sent = 0;
    ds_learn_router(&d, good, &to, &valid_sent); /* the router first */
    uint64_t flood_sent = ds_flood(good, bad, &to, 0x853c49e6748fea9bu, 0, &valid_sent);
    td_sleep_ms(1500); /* the worker works through the ring's lower half */
    uint64_t shed = ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"shed\\\"");
    uint64_t full =
        ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"queue_full\\\"");
    uint64_t kernel =
        ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"kernel_buffer\\\"");
    printf("# %llu flood datagrams in 2 s, %u from the router; dropped: shed %llu, queue full "
           "%llu, kernel buffer %llu\n",
           (unsigned long long)flood_sent, valid_sent, (unsigned long long)shed,
           (unsigned long long)full, (unsigned long long)kernel);
    fflush(stdout);
    ASSERT_EQ(td_stop(&d), 0);
    close(bad);
    close(good);
    /* the flood did outrun the worker (else this test shows nothing), and only it paid */
    ASSERT_GT(shed, 0);
    ASSERT_UINT64_EQ(full, 0);
    /* the log says so, once (a minute apart at most), naming a source it shed */
    size_t len;
    char *log = (char *)test_read_file(d.log, &len);
    ASSERT_NOT_NULL(log);
    const char *behind = strstr(log, "worker 0 is behind: its queue is over half full");
    ASSERT_NOT_NULL(behind);
    ASSERT_NULL(strstr(behind + 20, "is behind"));
    ASSERT_NOT_NULL(strstr(behind, "(127.0.0.1:"));
    free(log);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), (uint64_t)valid_sent * DS_V9_FLOWS);
    return 0;
}

/* A restart while a flood goes on: the router the last run decoded keeps its room in the
 * ring from its first datagram (known_store.c), so none of its datagrams is shed with the
 * flood's; before, a restarted daemon treated it as new until the ring drained below half. */
TEST_IMPL(daemon_known_exporters_survive_restart)
{
    td_daemon_t d;
    td_init(&d, "known");
    td_start(&d, "--workers 1");
    struct sockaddr_in to = ds_daemon_addr(&d);
    int good = ds_socket("127.0.0.2");
    uint32_t valid_sent = 0;
    char known[1200];
    snprintf(known, sizeof known, "%s/state/test/known-exporters.bin", d.dir);
    ds_learn_router(&d, good, &to, &valid_sent);
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_EQ(access(known, R_OK), 0);
    /* the flood starts with the restarted daemon, the router joins it */
    td_start(&d, "--workers 1");
    size_t len;
    char *log = (char *)test_read_file(d.log, &len);
    ASSERT_NOT_NULL(log);
    ASSERT_NOT_NULL(strstr(log, "1 known exporter slots from the last run"));
    free(log);
    to = ds_daemon_addr(&d);
    int bad = ds_socket("127.0.0.1");
    /* the router's first datagram after half a second of flood: the ring is over half full by
     * then, where a router the worker has not decoded yet has no room */
    uint64_t flood_sent = ds_flood(good, bad, &to, 0x9e3779b97f4a7c15u, 0.5, &valid_sent);
    td_sleep_ms(1500);
    uint64_t shed = ds_prom_sum_with(&d, "flowhunt_dropped_datagrams_total{", "cause=\\\"shed\\\"");
    printf("# restarted under a flood: %llu flood datagrams in 2 s, %u from the router; shed "
           "%llu\n",
           (unsigned long long)flood_sent, valid_sent, (unsigned long long)shed);
    fflush(stdout);
    ASSERT_EQ(td_stop(&d), 0);
    close(bad);
    close(good);
    ASSERT_GT(shed, 0); /* the flood did outrun the worker */
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), (uint64_t)valid_sent * DS_V9_FLOWS);
    ASSERT_UINT64_EQ(ds_prom_sum(&d, "flowhunt_known_exporter_slots"), 1);
    return 0;
}

/* Sends n valid v9 datagrams from `good`, a millisecond apart every 32 (the kernel buffer
 * keeps up), numbered from *seq on. */
static void ds_send_valid(int good, const struct sockaddr_in *to, uint32_t *seq, int n)
{
    uint8_t buf[4096];
    for (int i = 0; i < n; i++) {
        size_t len = ds_v9_msg(buf, (*seq)++);
        ASSERT_EQ(sendto(good, buf, len, 0, (const struct sockaddr *)to, sizeof *to), (ssize_t)len);
        if (i % 32 == 31)
            td_sleep_ms(1);
    }
}

/* The lines of a file, and whether each has `commas` commas (csv) or is one JSON object. */
static uint64_t ds_lines(const char *path, int commas, int *all_ok)
{
    size_t len;
    char *t = (char *)test_read_file(path, &len);
    ASSERT_NOT_NULL(t);
    uint64_t n = 0;
    *all_ok = 1;
    for (char *line = t; *line;) {
        char *nl = strchr(line, '\n');
        ASSERT_NOT_NULL(nl);
        *nl = '\0';
        int c = 0;
        for (char *p = line; *p; p++)
            c += *p == ',';
        if (commas >= 0 ? c != commas : (line[0] != '{' || nl[-1] != '}'))
            *all_ok = 0;
        n++;
        line = nl + 1;
    }
    free(t);
    return n;
}

/* flowhuntd -l ... --print: every flow stored is also printed on stdout, CSV with its header
 * once or a JSON object a line, however the workers interleave; the counters agree. */
TEST_IMPL(daemon_print_streams_every_flow)
{
    static const char *const fmts[] = {"csv", "json"};
    for (int f = 0; f < 2; f++) {
        td_daemon_t d;
        char name[32], out[1100], extra[1200];
        snprintf(name, sizeof name, "print_%s", fmts[f]);
        td_init(&d, name);
        snprintf(out, sizeof out, "%s/out.%s", d.dir, fmts[f]);
        snprintf(extra, sizeof extra, "--print %s >%s", fmts[f], out);
        td_start(&d, extra);
        struct sockaddr_in to = ds_daemon_addr(&d);
        int good = ds_socket("127.0.0.2"), other = ds_socket("127.0.0.3");
        uint32_t seq = 0, seq2 = 0;
        ds_send_valid(good, &to, &seq, 300);
        ds_send_valid(other, &to, &seq2, 300);
        td_sleep_ms(500);
        ASSERT_EQ(td_stop(&d), 0);
        close(good);
        close(other);
        uint64_t flows = (uint64_t)(seq + seq2) * DS_V9_FLOWS;
        ASSERT_UINT64_EQ(td_count(d.dir, NULL), flows);
        int ok;
        if (f == 0) {
            size_t len;
            char *t = (char *)test_read_file(out, &len);
            ASSERT_NOT_NULL(t);
            int commas = 0;
            for (char *p = t; *p && *p != '\n'; p++)
                commas += *p == ',';
            ASSERT_EQ(strncmp(t, "time_start,time_end,src_addr,", 29), 0);
            free(t);
            ASSERT_UINT64_EQ(ds_lines(out, commas, &ok), flows + 1);
        } else {
            ASSERT_UINT64_EQ(ds_lines(out, -1, &ok), flows);
        }
        ASSERT_EQ(ok, 1);
        ASSERT_UINT64_EQ(ds_prom_sum(&d, "flowhunt_printed_flows_total"), flows);
        ASSERT_UINT64_EQ(ds_prom_sum(&d, "flowhunt_print_dropped_flows_total"), 0);
    }
    return 0;
}

/* A reader that falls behind costs the segments nothing: one that reads nothing (a FIFO
 * nobody drains) fills --print-memory, past which flows are dropped from the output and
 * counted, every one still stored; at stop the writer gives up after PQ_STOP_MS. A reader
 * that goes away (EPIPE) ends printing, said once; the daemon goes on storing. */
TEST_IMPL(daemon_print_reader_behind)
{
    for (int gone = 0; gone < 2; gone++) {
        td_daemon_t d;
        td_init(&d, gone ? "print_gone" : "print_stuck");
        char fifo[1100], extra[1200];
        snprintf(fifo, sizeof fifo, "%s/fifo", d.dir);
        ASSERT_EQ(mkfifo(fifo, 0600), 0);
        int rd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* not the daemon's */
        ASSERT_GE(rd, 0);
        snprintf(extra, sizeof extra, "--print json --print-memory 1 >%s", fifo);
        td_start(&d, extra);
        if (gone)
            close(rd); /* the next write finds no reader */
        struct sockaddr_in to = ds_daemon_addr(&d);
        int good = ds_socket("127.0.0.2");
        uint32_t seq = 0;
        /* ~700 bytes a JSON line: 6,000 flows are 4 MB, past the pipe and the 1 MiB */
        ds_send_valid(good, &to, &seq, 600);
        td_sleep_ms(500);
        double t0 = ds_now();
        ASSERT_EQ(td_stop(&d), 0);
        double took = ds_now() - t0;
        close(good);
        if (!gone)
            close(rd);
        uint64_t flows = (uint64_t)seq * DS_V9_FLOWS;
        ASSERT_UINT64_EQ(td_count(d.dir, NULL), flows);
        uint64_t printed = ds_prom_sum(&d, "flowhunt_printed_flows_total");
        uint64_t dropped = ds_prom_sum(&d, "flowhunt_print_dropped_flows_total");
        printf("# %s: %llu flows stored, %llu printed, %llu dropped; stop took %.1f s\n",
               gone ? "reader gone" : "reader stuck", (unsigned long long)flows,
               (unsigned long long)printed, (unsigned long long)dropped, took);
        fflush(stdout);
        ASSERT_UINT64_EQ(printed + dropped, flows);
        ASSERT_GT(dropped, flows / 2);
        if (!gone) /* the pipe took what it holds, in whole lines */
            ASSERT_GT(printed, 0);
        size_t len;
        char *log = (char *)test_read_file(d.log, &len);
        ASSERT_NOT_NULL(log);
        ASSERT_NOT_NULL(
            strstr(log, gone ? "the output is gone" : "took nothing for 2000 ms at stop"));
        free(log);
        ASSERT(took < 10); /* a stuck reader holds the stop PQ_STOP_MS at most */
    }
    return 0;
}

/* --template-memory: the operator's budget for templates and held data. 8 MB for two workers
 * is 2 MiB of templates and 2 MiB of held data a worker (the default is 64 + 64). A template
 * flood from eight sources and data sets for templates never sent, both far past that: each
 * worker's gauges show the budget, its caches stay within it and evict (templates) or refuse
 * (held sets), counted, and a valid router's flows are all stored. */
TEST_IMPL(daemon_template_memory)
{
    td_daemon_t d;
    td_init(&d, "tplmem");
    td_start(&d, "--template-memory 8");
    struct sockaddr_in to = ds_daemon_addr(&d);
    int good = ds_socket("127.0.0.2"), spoof = ds_socket("0.0.0.0");
    uint64_t rng = 0x2545f4914f6cdd1du;
    uint8_t buf[1500];
    uint32_t valid_sent = 0;
    /* 20,000 messages of 10 templates (far more definitions than the budget holds), and as
     * many data sets of 1 KB for templates never defined (~10 MB a worker) */
    for (uint32_t i = 0; i < 20000; i++) {
        size_t n = ds_tpl_msg(buf, &rng, i, i % 16, 8, 1000);
        ds_send_from(spoof, 0x7f020000u + i % 8, buf, n, &to);
        /* IPFIX: a data set (id 300..) no template announced: held */
        size_t o = ds_put16(buf, 0, 10);
        o = ds_put16(buf, o, 16 + 4 + 1024);
        o = ds_put32(buf, o, (uint32_t)time(NULL));
        o = ds_put32(buf, o, i);
        o = ds_put32(buf, o, i % 64);
        o = ds_put16(buf, o, 300 + i % 1000);
        o = ds_put16(buf, o, 4 + 1024);
        memset(buf + o, 0x5a, 1024);
        ds_send_from(spoof, 0x7f030000u + i % 8, buf, o + 1024, &to);
        if (i % 20 == 0) {
            n = ds_v9_msg(buf, valid_sent++);
            ASSERT_EQ(sendto(good, buf, n, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)n);
        }
        if (i % 64 == 0)
            td_sleep_ms(1); /* the flood no faster than the daemon drains: the valid router's
                               datagrams must not be lost in the kernel */
    }
    td_sleep_ms(2500); /* the workers catch up; the counters file is rewritten each second */
    for (int w = 0; w < 2; w++) {
        char p[160];
        snprintf(p, sizeof p, "flowhunt_template_bytes_max{worker=\\\"%d\\\"}", w);
        ASSERT_UINT64_EQ(ds_prom_sum(&d, p), 2u << 20);
        snprintf(p, sizeof p, "flowhunt_held_bytes_max{worker=\\\"%d\\\"}", w);
        ASSERT_UINT64_EQ(ds_prom_sum(&d, p), 2u << 20);
        snprintf(p, sizeof p, "flowhunt_template_bytes{worker=\\\"%d\\\"}", w);
        uint64_t tb = ds_prom_sum(&d, p);
        ASSERT_GT(tb, 1u << 20); /* filled ... */
        ASSERT_LE(tb, 2u << 20); /* ... to the budget, not past it */
        snprintf(p, sizeof p, "flowhunt_held_bytes{worker=\\\"%d\\\"}", w);
        uint64_t hb = ds_prom_sum(&d, p);
        printf("# worker %d: templates %llu bytes, held %llu bytes (budget 2 MiB each)\n", w,
               (unsigned long long)tb, (unsigned long long)hb);
        ASSERT_GT(hb, 1u << 20);
        ASSERT_LE(hb, 2u << 20);
    }
    ASSERT_GT(ds_prom_sum(&d, "flowhunt_templates_evicted_all_total"), 0);
    ASSERT_GT(ds_prom_sum(&d, "flowhunt_templates_held_refused_total"), 0);
    ASSERT_EQ(td_stop(&d), 0);
    close(good);
    close(spoof);
    ASSERT_GT(valid_sent, 100);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), (uint64_t)valid_sent * DS_V9_FLOWS);
    /* a budget below a worker's smallest caches is refused, not raised past what was set */
    char *out;
    ASSERT_EQ(test_runf(&out, "{ %s -l 127.0.0.1:0 -w %s --workers 16 --template-memory 8 2>&1; }",
                        test_bin("flowhuntd"), d.dir),
              2);
    ASSERT_NOT_NULL(strstr(out, "--template-memory 8 with 16 workers: at least 32"));
    free(out);
    return 0;
}

/* flowgen's v5 capture of 20000 flows, replayed at DS_RATE datagrams/s. */
#define DS_RATE 200

/* kill -9 while flowgen replays a v5 capture of 20000 flows at `rate` datagrams/s, `kill_ms`
 * after it starts; after a restart the segments verify and what was lost is at most what
 * arrived in the last `slack_s` seconds (the flush interval, flowgen's start, latency).
 * Datagrams carry 12.7 flows on average, up to 30 (v5) at the capture's start: the upper
 * bound counts full ones when `full_dgrams`. */
static int ds_crash(const char *name, int rate, int kill_ms, double slack_s, int full_dgrams)
{
    td_daemon_t d;
    td_init(&d, name);
    char pcap[1200], cmd[4096], *out = NULL;
    snprintf(pcap, sizeof pcap, "%s/v5.pcap", d.dir);
    snprintf(cmd, sizeof cmd,
             "(%s --format v5 --flows 20000 --seed 7 --start 2024-01-01 --hours 1 --out %s) 2>&1",
             test_bin("flowgen"), pcap);
    ASSERT_EQ(test_run(cmd, &out), 0);
    /* flowgen's output is deterministic: these arguments give 20000 flows in 1575 datagrams */
    double per_dgram = 20000.0 / 1575;
    free(out);
    td_start(&d, "--flush-ms 200");
    char to[64];
    snprintf(to, sizeof to, "127.0.0.1:%d", d.port);
    pid_t gen = fork();
    ASSERT_GE(gen, 0);
    if (gen == 0) {
        char r[16];
        snprintf(r, sizeof r, "%d", rate);
        execl(test_bin("flowgen"), "flowgen", "--replay", pcap, "--to", to, "--rate", r,
              (char *)NULL);
        _exit(127);
    }
    double t0 = ds_now();
    td_sleep_ms(kill_ms);
    kill(d.pid, SIGKILL);
    double t_kill = ds_now() - t0;
    int status;
    waitpid(d.pid, &status, 0);
    ASSERT(WIFSIGNALED(status));
    kill(gen, SIGKILL); /* the rest would go to a dead port */
    waitpid(gen, NULL, 0);
    td_start(&d, "--flush-ms 200"); /* recovers the killed daemon's .tmp segments */
    ASSERT_EQ(td_stop(&d), 0);
    snprintf(cmd, sizeof cmd, "%s verify %s", test_bin("flowhunt"), d.dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    free(out);
    uint64_t stored = td_count(d.dir, NULL);
    /* At most what was sent by the kill (flowgen starts after t0, so this is an upper bound);
     * at least what arrived more than slack_s before it. */
    double most = full_dgrams ? 30 : per_dgram;
    double sent_max = t_kill * rate * most + most;
    double need = (t_kill - slack_s) * rate * per_dgram;
    fprintf(stderr, "%s: killed at %.3f s, stored %llu flows, at least %.0f, at most %.0f\n",
            name, t_kill, (unsigned long long)stored, need, sent_max);
    ASSERT_GE((double)stored, need);
    ASSERT_LE((double)stored, sent_max);
    return 0;
}

TEST_IMPL(daemon_stress_crash)
{
    return ds_crash("crash", DS_RATE, 1500, 1.0, 0);
}

/* The same at 8 datagrams/s: each arrives before a worker's 200 ms wait times out, so the
 * flush clock must come from the datagrams themselves (it once ran only every 64). */
TEST_IMPL(daemon_stress_crash_slow)
{
    return ds_crash("crash-slow", 8, 3000, 1.0, 1);
}
