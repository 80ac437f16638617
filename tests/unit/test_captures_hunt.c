/* test_captures_hunt.c: the hunts over data flowgen did not make.
 *
 * Each of the team's behaviour captures (../shared/data/packets: scans, DNS and ICMP tunnels,
 * miners, C2 over HTTP) is turned into flows the way a site would: softflowd reads the packets and exports
 * IPFIX over loopback (tests/exporter_helpers.c), `flowhuntd --read` stores the datagrams it
 * received, and `flowhunt hunt` runs with the settings ../shared/data/MANIFEST.md gives for the
 * file (its internal network; no approved resolver). Passing means the hunt the manifest names
 * reports the expected host with the expected technique at the expected peer, at least at the
 * stated risk, and nothing else reaches High or Critical: a capture of one attack must not
 * produce alarms about bystanders.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "exporter_helpers.h"
#include "task.h"

typedef struct tch_expect {
    const char *host;      /* internal address the finding is about */
    const char *peer;      /* its peer (address or CIDR), or NULL for any */
    const char *technique; /* one of the finding's techniques */
    int min_risk;          /* 1 Low .. 4 Critical */
} tch_expect_t;

typedef struct tch_case {
    const char *capture;  /* under ../shared/data */
    const char *internal; /* --internal, from MANIFEST.md */
    const char *hunts;    /* --hunts */
    tch_expect_t want[3];
} tch_case_t;

static int tch_risk(const char *s)
{
    static const char *const names[] = {"None", "Low", "Medium", "High", "Critical"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static const char *tch_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Exports the capture with softflowd (IPFIX), stores it, hunts it (with more options `args`,
 * or none: NULL); returns the JSON report. */
static char *tch_hunt(const tch_case_t *c, const char *args)
{
    const char *tool = tex_find_tool("softflowd");
    if (!tool)
        SKIP("softflowd is not installed (make deps installs it)");
    char tool_path[1024], capture[PATH_MAX];
    snprintf(tool_path, sizeof tool_path, "%s", tool);
    if (!realpath(test_shared_file(c->capture), capture))
        TEST_FAIL_AT("realpath %s: %s", c->capture, strerror(errno));

    struct sigaction sa = {.sa_handler = tex_on_abort};
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGABRT, &sa, NULL), 0);
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);

    tex_case_t ex = {.tool = TEX_SOFTFLOWD, .version = 10, .capture = c->capture};
    char pcap[1024], tshark_pcap[1024], dir[1024], cmd[8192];
    snprintf(pcap, sizeof pcap, "%s", tex_path("export.pcap"));
    snprintf(tshark_pcap, sizeof tshark_pcap, "%s", tex_path("export-for-tshark.pcap"));
    snprintf(dir, sizeof dir, "%s", tex_path("data"));
    size_t n_dgrams = 0;
    tex_export(&ex, tool_path, capture, pcap, tshark_pcap, &n_dgrams);
    ASSERT_GT(n_dgrams, 0);

    snprintf(cmd, sizeof cmd, "'%s' --read '%s' -w '%s' --quiet", test_bin("flowhuntd"), pcap,
             dir);
    ASSERT_EQ(test_run(cmd, NULL), 0);
    char *out = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' hunt '%s' --internal %s --hunts %s --no-state --now 2100-01-01T00:00:00Z "
             "--format json %s",
             test_bin("flowhunt"), dir, c->internal, c->hunts, args ? args : "");
    int rc = test_run(cmd, &out);
    printf("# %s: %zu datagrams; flowhunt hunt exit %d\n", c->capture, n_dgrams, rc);
    ASSERT(rc == 0 || rc == 1);
    return out;
}

static void tch_run_with(const tch_case_t *c, const char *args)
{
    char *report = tch_hunt(c, args);
    int found[3] = {0, 0, 0}, n_want = 0, alarms = 0;
    while (n_want < 3 && c->want[n_want].host)
        n_want++;
    for (char *line = report, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        json_error_t jerr;
        json_t *f = json_loads(line, 0, &jerr);
        if (!f)
            TEST_FAIL_AT("report line is not JSON (%s): %.200s", jerr.text, line);
        const char *host = tch_str(f, "host"), *peer = tch_str(f, "peer");
        int risk = tch_risk(tch_str(f, "risk_level"));
        json_t *port = json_object_get(f, "port");
        printf("# %s %s %s %s -> %s:%lld %s: %.120s\n", tch_str(f, "risk_level"),
               tch_str(f, "hunt"), tch_str(f, "technique"), host, peer,
               json_is_integer(port) ? (long long)json_integer_value(port) : -1LL,
               tch_str(f, "proto"), tch_str(f, "summary"));
        int expected = 0;
        for (int i = 0; i < n_want; i++) {
            const tch_expect_t *w = &c->want[i];
            if (strcmp(host, w->host) != 0 || (w->peer && strcmp(peer, w->peer) != 0))
                continue;
            expected = 1;
            json_t *techs = json_object_get(f, "techniques");
            size_t k;
            json_t *t;
            json_array_foreach(techs, k, t)
            {
                if (json_is_string(t) && strcmp(json_string_value(t), w->technique) == 0 &&
                    risk >= w->min_risk)
                    found[i] = 1;
            }
        }
        if (!expected && risk >= 3)
            alarms++;
        json_decref(f);
    }
    free(report);
    for (int i = 0; i < n_want; i++)
        if (!found[i])
            TEST_FAIL_AT("%s: no %s finding for %s -> %s at risk >= %d", c->capture,
                         c->want[i].technique, c->want[i].host,
                         c->want[i].peer ? c->want[i].peer : "*", c->want[i].min_risk);
    ASSERT_EQ(alarms, 0);
}

static void tch_run(const tch_case_t *c)
{
    tch_run_with(c, NULL);
}

/* ---- scans (T1046), from MANIFEST.md ---- */

TEST_IMPL(captures_hunt_icmp_sweep)
{
    static const tch_case_t c = {"packets/scan/hs-icmpScan.pcap",
                                 "10.0.0.0/8",
                                 "scan",
                                 {{"10.0.0.128", "10.0.0.0/24", "T1046", 3}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_syn_sweep)
{
    static const tch_case_t c = {"packets/scan/hs-tcp_synPingSweepRand.pcapng",
                                 "10.0.0.0/8",
                                 "scan",
                                 {{"10.0.0.128", "10.0.0.0/24", "T1046", 3}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_masscan_tcp)
{
    static const tch_case_t c = {"packets/scan/masscan_tcp_0_1000_20190821.pcap",
                                 "172.16.0.0/12",
                                 "scan,dns-exfil",
                                 {{"172.31.15.102", "198.124.152.15", "T1046", 3}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_masscan_udp)
{
    static const tch_case_t c = {"packets/scan/masscan_udp_0_1000_20190821.pcap",
                                 "172.16.0.0/12",
                                 "scan,dns-exfil",
                                 {{"172.31.15.102", "198.124.152.15", "T1046", 3}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_nmap_synscan)
{
    static const tch_case_t c = {"packets/scan/nmap_synscan_scanme.pcap",
                                 "172.16.0.0/12",
                                 "scan,dns-exfil",
                                 {{"172.16.0.8", "64.13.134.52", "T1046", 3}}};
    tch_run(&c);
    return 0;
}

/* nmap -A against one web server: host discovery, then version and script probes of port 80,
 * half-open SYN probes among them. Not a fan-out: found as service probing. */
TEST_IMPL(captures_hunt_nmap_service_probe)
{
    static const tch_case_t c = {"packets/scan/nmap_80_all.pcap",
                                 "10.0.0.0/8",
                                 "scan",
                                 {{"10.87.1.10", "130.211.223.103", "T1046", 2}}};
    tch_run(&c);
    return 0;
}

/* ---- DNS tunnels (T1071.004 / T1048.003) ---- */

TEST_IMPL(captures_hunt_iodine)
{
    static const tch_case_t c = {"packets/dns-tunnel/dns-tunnel-iodine.pcap",
                                 "10.0.0.0/8",
                                 "dns-exfil",
                                 {{"10.0.2.30", "10.0.2.20", "T1071.004", 2}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_dnscat2)
{
    static const tch_case_t c = {"packets/dns-tunnel/dns_exfiltration.pcap",
                                 "192.168.0.0/16",
                                 "dns-exfil",
                                 {{"192.168.220.56", "192.168.203.167", "T1048.003", 3}}};
    tch_run(&c);
    return 0;
}

/* The same tunnels with their server approved as a resolver, as when the tunnel goes through
 * the organisation's resolver, the way iodine and dnscat2 work by default: the flows are the
 * host's DNS to its own resolver, and only the tunnel's shape tells them from lookups.
 * dnscat2's bytes per packet and one long 5-tuple are High; iodine's one long 5-tuple alone
 * (its NULL queries average 104 bytes a packet) is Low. Before, neither was reported. */
TEST_IMPL(captures_hunt_iodine_via_resolver)
{
    static const tch_case_t c = {"packets/dns-tunnel/dns-tunnel-iodine.pcap",
                                 "10.0.0.0/8",
                                 "dns-exfil",
                                 {{"10.0.2.30", "10.0.2.20", "T1071.004", 1}}};
    tch_run_with(&c, "--resolvers 10.0.2.20");
    return 0;
}

TEST_IMPL(captures_hunt_dnscat2_via_resolver)
{
    static const tch_case_t c = {"packets/dns-tunnel/dns_exfiltration.pcap",
                                 "192.168.0.0/16",
                                 "dns-exfil",
                                 {{"192.168.220.56", "192.168.203.167", "T1048.003", 3}}};
    tch_run_with(&c, "--resolvers 192.168.203.167");
    return 0;
}

/* ---- ICMP tunnel (T1095) and miners (T1496) ---- */

TEST_IMPL(captures_hunt_icmp_tunnel)
{
    static const tch_case_t c = {"packets/dns-tunnel/icmp-tunnel.pcap",
                                 "192.168.154.131/32",
                                 "non-app",
                                 {{"192.168.154.131", "192.168.154.132", "T1095", 3}}};
    tch_run(&c);
    return 0;
}

/* 192.168.2.148 speaks stratum to two pools on 3333 (one of them Zcash, whose 1.4 kB shares
 * make large client packets); 192.168.2.92 runs xmr-stak against a pool on 9050, a port no
 * pool list names: from flows it is a long, quiet session on a non-standard port, which is
 * what it is found as. */
TEST_IMPL(captures_hunt_stratum)
{
    static const tch_case_t c = {"packets/mining/mining.pcapng",
                                 "192.168.0.0/16",
                                 "miner,nonstd-port",
                                 {{"192.168.2.148", "116.211.167.195", "T1496", 2},
                                  {"192.168.2.148", "94.23.199.191", "T1496", 2},
                                  {"192.168.2.92", "178.32.196.217", "T1571", 2}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_monero)
{
    static const tch_case_t c = {"packets/mining/monero.pcap",
                                 "192.168.0.0/16",
                                 "miner",
                                 {{"192.168.2.100", NULL, "T1496", 2}}};
    tch_run(&c);
    return 0;
}

/* ---- C2 over HTTP and WebSocket: one keep-alive connection each ----
 * Each capture is a single TCP connection with the check-ins inside it (MANIFEST.md), so its
 * flows are one record each way: no timing to test, nothing for the beacon hunt. What they do
 * show is an internal host holding a connection to a port no egress list allows, one host
 * alone using it: the nonstd-port hunt's T1571, High for Caldera's 8888 (a known C2 default,
 * 27 minutes, 300 kB up), Medium for the 19-second WebSocket on 5000. */

TEST_IMPL(captures_hunt_caldera_http_c2)
{
    static const tch_case_t c = {"packets/c2/caldera-C2-over-http-sample-packets.pcap",
                                 "10.11.54.223/32",
                                 "beacon,nonstd-port,non-app,rare",
                                 {{"10.11.54.223", "10.11.54.37", "T1571", 3}}};
    tch_run(&c);
    return 0;
}

TEST_IMPL(captures_hunt_websocket_c2)
{
    static const tch_case_t c = {"packets/c2/deepred-websocket-sample.pcap",
                                 "10.11.54.186/32",
                                 "beacon,nonstd-port,non-app,rare",
                                 {{"10.11.54.186", "10.11.54.137", "T1571", 2}}};
    tch_run(&c);
    return 0;
}
