/* test_e2e_nfcapd.c: flowhuntd beside nfcapd, end to end, with real exporters.
 *
 * softflowd (or pmacctd's nfprobe) exports NetFlow v5, v9 or IPFIX from one of the team's
 * packet captures; the datagrams are recorded once (tests/exporter_helpers.c) and the same
 * datagrams are replayed by `flowgen --replay` over loopback to a running flowhuntd and to a
 * running nfcapd, each on a free port. Then `flowhunt cat` of our segments must equal nfdump's
 * view of nfcapd's file flow by flow: the same multiset of (start, end, addresses, ports or ICMP
 * type.code, protocol, packets, bytes), times to the millisecond. Replaying one recording keeps
 * the exporter's clock identical for both collectors, which running the exporter twice would
 * not. Skips with a message when an exporter, nfcapd/nfdump or ../shared/data is missing.
 *
 * nfdump 1.7.1 itself gets some times wrong, where tshark (tests/unit/test_exporters.c) agrees
 * with flowhuntd: it prints 0 for softflowd's IPFIX ICMP flows and for the first v9 record of an
 * export, and swaps start and end of some softflowd IPFIX records. A row of nfdump's whose time
 * is 0 or ends before it starts is matched on everything but the times, counted and printed as
 * an nfdump time defect; ours must then be a real time (non-zero, start <= end).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon_helpers.h"
#include "exporter_helpers.h"
#include "task.h"

/* One flow as both sides print it, normalised to one line. */
static char *te_line(uint64_t ts, uint64_t te, const char *sa, const char *da, const char *sp,
                     const char *dp, unsigned proto, unsigned long long pkts,
                     unsigned long long bytes)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%llu %llu %s %s %s %s %u %llu %llu", (unsigned long long)ts,
             (unsigned long long)te, sa, da, sp, dp, proto, pkts, bytes);
    return strdup(buf);
}

static int te_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The line without its two times. */
static const char *te_rest(const char *line)
{
    const char *p = strchr(line, ' ');
    return p ? strchr(p + 1, ' ') : NULL;
}

static int te_time_defect(const char *line)
{
    unsigned long long ts, te;
    return sscanf(line, "%llu %llu", &ts, &te) == 2 && (ts == 0 || te < ts);
}

/* "2026-12-22 19:01:39.090" (UTC) to ms. */
static int te_parse_time(const char *d, const char *t, uint64_t *ms)
{
    struct tm tm = {0};
    unsigned msec = 0;
    if (sscanf(d, "%d-%d-%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3 ||
        sscanf(t, "%d:%d:%d.%u", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &msec) != 4)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ms = (uint64_t)timegm(&tm) * 1000 + msec;
    return 0;
}

/* nfdump -o 'fmt:%ts %te %sa %da %sp %dp %pr %pkt %byt' -N, TZ=UTC. ICMP shows dp "T.C". */
static size_t te_nfdump_rows(char *out, char ***rows)
{
    size_t n = 0, cap = 0;
    *rows = NULL;
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char d1[16], t1[16], d2[16], t2[16], sa[64], da[64], sp[16], dp[16];
        unsigned proto;
        unsigned long long pkts, bytes;
        if (sscanf(line, "%15s %15s %15s %15s %63s %63s %15s %15s %u %llu %llu", d1, t1, d2, t2,
                   sa, da, sp, dp, &proto, &pkts, &bytes) != 11)
            TEST_FAIL_AT("nfdump line not understood: %s", line);
        uint64_t ts, te;
        ASSERT_EQ(te_parse_time(d1, t1, &ts), 0);
        ASSERT_EQ(te_parse_time(d2, t2, &te), 0);
        if (proto == 1 || proto == 58)
            strcpy(sp, "-");
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            *rows = realloc(*rows, cap * sizeof **rows);
            ASSERT_NOT_NULL(*rows);
        }
        (*rows)[n++] = te_line(ts, te, sa, da, sp, dp, proto, pkts, bytes);
    }
    return n;
}

/* flowhunt cat --format csv: time_start,time_end,src_addr,dst_addr,src_port,dst_port,proto,
 * tcp_flags,packets,bytes,... icmp_type (column 23), icmp_code (24). */
static size_t te_flowhunt_rows(char *out, char ***rows)
{
    size_t n = 0, cap = 0;
    *rows = NULL;
    int header = 1;
    for (char *line = out, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (header) {
            header = 0;
            continue;
        }
        char *col[40];
        int k = 0;
        for (char *p = line; k < 40;) {
            col[k++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = '\0';
            p = c + 1;
        }
        ASSERT_GE(k, 24);
        unsigned proto = (unsigned)strtoul(col[6], NULL, 10);
        char sp[16], dp[16];
        if (proto == 1 || proto == 58) {
            strcpy(sp, "-");
            snprintf(dp, sizeof dp, "%s.%s", col[22], col[23]);
        } else {
            snprintf(sp, sizeof sp, "%s", col[4]);
            snprintf(dp, sizeof dp, "%s", col[5]);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            *rows = realloc(*rows, cap * sizeof **rows);
            ASSERT_NOT_NULL(*rows);
        }
        (*rows)[n++] = te_line(strtoull(col[0], NULL, 10), strtoull(col[1], NULL, 10), col[2],
                               col[3], sp, dp, proto, strtoull(col[8], NULL, 10),
                               strtoull(col[9], NULL, 10));
    }
    return n;
}

/* A free UDP port on 127.0.0.1 (the kernel's choice; released for nfcapd to take). */
static int te_free_port(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    ASSERT_EQ(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    close(s);
    return ntohs(sa.sin_port);
}

/* True once something is bound to 127.0.0.1:port (our bind fails). */
static int te_port_taken(int port)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)port)};
    int taken = bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 && errno == EADDRINUSE;
    close(s);
    return taken;
}

static void te_run(const tex_case_t *c)
{
    const char *name = c->tool == TEX_PMACCTD ? "pmacctd" : "softflowd";
    const char *tool = tex_find_tool(name);
    if (!tool)
        SKIP("%s is not installed (make deps installs it)", name);
    if (!test_have_tool("nfcapd") || !test_have_tool("nfdump"))
        SKIP("nfcapd/nfdump are not installed (make deps installs nfdump)");
    char tool_path[1024], capture[PATH_MAX];
    snprintf(tool_path, sizeof tool_path, "%s", tool);
    if (!realpath(test_shared_file(c->capture), capture))
        TEST_FAIL_AT("realpath %s: %s", c->capture, strerror(errno));

    struct sigaction sa = {.sa_handler = tex_on_abort};
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGABRT, &sa, NULL), 0);
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);

    /* 1. the exporter's datagrams, recorded once */
    char pcap[1024], tshark_pcap[1024];
    snprintf(pcap, sizeof pcap, "%s", tex_path("export.pcap"));
    snprintf(tshark_pcap, sizeof tshark_pcap, "%s", tex_path("export-for-tshark.pcap"));
    size_t n_dgrams = 0;
    tex_export(c, tool_path, capture, pcap, tshark_pcap, &n_dgrams);
    ASSERT_GT(n_dgrams, 0);

    /* 2. both collectors */
    td_daemon_t d;
    td_init(&d, "fh");
    td_start(&d, "");
    char nfdir[1024], cmd[8192];
    snprintf(nfdir, sizeof nfdir, "%s", tex_path("nf"));
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", nfdir);
    ASSERT_EQ(system(cmd), 0);
    int nf_port = te_free_port();
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", nf_port);
    char nfcapd[1024];
    snprintf(nfcapd, sizeof nfcapd, "%s", tex_find_tool("nfcapd"));
    char *nf_argv[] = {nfcapd, "-b", "127.0.0.1", "-p", port_s, "-w", nfdir, "-t", "3600", NULL};
    pid_t nf = tex_spawn(nf_argv);
    for (int i = 0; i < 100 && !te_port_taken(nf_port); i++)
        td_sleep_ms(50);
    ASSERT(te_port_taken(nf_port));

    /* 3. the same datagrams to each */
    snprintf(cmd, sizeof cmd,
             "'%s' --replay '%s' --to 127.0.0.1:%d >/dev/null && '%s' --replay '%s' --to "
             "127.0.0.1:%d >/dev/null",
             test_bin("flowgen"), pcap, d.port, test_bin("flowgen"), pcap, nf_port);
    ASSERT_EQ(system(cmd), 0);
    td_sleep_ms(300); /* loopback delivery is synchronous; let both read their sockets */
    ASSERT_EQ(td_stop(&d), 0);
    kill(nf, SIGTERM);
    int st;
    ASSERT_EQ(waitpid(nf, &st, 0), nf);
    tex_pgid = 0;

    /* 4. flow by flow */
    char *fh_out = NULL, *nf_out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' cat '%s'", test_bin("flowhunt"), d.dir);
    ASSERT_EQ(test_run(cmd, &fh_out), 0);
    snprintf(cmd, sizeof cmd,
             "TZ=UTC nfdump -R '%s' -q -N -o 'fmt:%%ts %%te %%sa %%da %%sp %%dp %%pr %%pkt %%byt'",
             nfdir);
    ASSERT_EQ(test_run(cmd, &nf_out), 0);
    char **a, **b;
    size_t na = te_flowhunt_rows(fh_out, &a), nb = te_nfdump_rows(nf_out, &b);
    printf("# %s v%d (%s): %zu datagrams; flowhunt cat %zu flows, nfdump %zu flows\n",
           c->capture, c->version, name, n_dgrams, na, nb);
    qsort(a, na, sizeof *a, te_cmp);
    qsort(b, nb, sizeof *b, te_cmp);
    /* exact matches, then nfdump's time defects on the other fields */
    size_t i = 0, j = 0, n_a = 0, n_b = 0;
    char **left_a = calloc(na + 1, sizeof *left_a), **left_b = calloc(nb + 1, sizeof *left_b);
    ASSERT(left_a && left_b);
    while (i < na || j < nb) {
        int cmpv = i == na ? 1 : j == nb ? -1 : strcmp(a[i], b[j]);
        if (cmpv == 0) {
            i++;
            j++;
        } else if (cmpv < 0) {
            left_a[n_a++] = a[i++];
        } else {
            left_b[n_b++] = b[j++];
        }
    }
    size_t defects = 0, diffs = 0;
    for (size_t y = 0; y < n_b; y++) {
        int matched = 0;
        if (te_time_defect(left_b[y]))
            for (size_t x = 0; x < n_a && !matched; x++)
                if (left_a[x] && strcmp(te_rest(left_a[x]), te_rest(left_b[y])) == 0 &&
                    !te_time_defect(left_a[x])) {
                    if (defects++ < 3)
                        printf("# nfdump time defect: nfdump '%s', flowhunt '%s'\n", left_b[y],
                               left_a[x]);
                    left_a[x] = NULL;
                    matched = 1;
                }
        if (!matched && diffs++ < 10)
            fprintf(stderr, "only nfdump:   %s\n", left_b[y]);
    }
    for (size_t x = 0; x < n_a; x++)
        if (left_a[x] && diffs++ < 20)
            fprintf(stderr, "only flowhunt: %s\n", left_a[x]);
    printf("# %zu flows equal, %zu more equal but for an nfdump time defect, %zu differ\n",
           na - n_a, defects, diffs);
    free(left_a);
    free(left_b);
    ASSERT_GT(na, 0);
    ASSERT_EQ(diffs, 0);
    ASSERT_EQ(na, nb);
    for (size_t k = 0; k < na; k++)
        free(a[k]);
    for (size_t k = 0; k < nb; k++)
        free(b[k]);
    free(a);
    free(b);
    free(fh_out);
    free(nf_out);
}

#define TE_CASE(name, tool, ver, cap)                                                              \
    TEST_IMPL(name)                                                                                \
    {                                                                                              \
        static const tex_case_t c = {tool, ver, cap, NULL, NULL};                                 \
        te_run(&c);                                                                                \
        return 0;                                                                                  \
    }

TE_CASE(e2e_nfcapd_softflowd_v5_scan, TEX_SOFTFLOWD, 5, "packets/scan/nmap_synscan_scanme.pcap")
TE_CASE(e2e_nfcapd_softflowd_v9_scan, TEX_SOFTFLOWD, 9, "packets/scan/nmap_synscan_scanme.pcap")
TE_CASE(e2e_nfcapd_softflowd_ipfix_scan, TEX_SOFTFLOWD, 10,
        "packets/scan/nmap_synscan_scanme.pcap")
TE_CASE(e2e_nfcapd_softflowd_ipfix_icmp, TEX_SOFTFLOWD, 10, "packets/scan/hs-icmpScan.pcap")
TE_CASE(e2e_nfcapd_softflowd_v9_mining, TEX_SOFTFLOWD, 9, "packets/mining/mining.pcapng")
TE_CASE(e2e_nfcapd_pmacctd_v9_dns, TEX_PMACCTD, 9, "packets/dns-tunnel/dns_exfiltration.pcap")
TE_CASE(e2e_nfcapd_pmacctd_ipfix_scan, TEX_PMACCTD, 10, "packets/scan/masscan_udp_0_1000_20190821.pcap")
