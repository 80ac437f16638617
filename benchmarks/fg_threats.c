/* fg_threats.c: the planted threats. Each takes at most a share of --flows (records before
 * sampling); several instances where that share allows. Parameter ranges are stated on each
 * planter and repeated in `flowgen --help`; the values drawn go into the truth's params.
 * Streams: 100 + 8 * kind + instance, so cases do not move each other. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fg_cases.h"

/* Shares of --flows (before sampling) each kind may take. */
#define FG_SHARE_BEACON 0.12
#define FG_SHARE_SCAN 0.08
#define FG_SHARE_EXFIL 0.05
#define FG_SHARE_ICMP 0.02
#define FG_SHARE_GRE 0.01
#define FG_SHARE_MINER 0.02
#define FG_SHARE_IOC 0.01
#define FG_SHARE_FIRST 0.004
#define FG_SHARE_SHELL 0.01
#define FG_SHARE_LONG 0.005
#define FG_SHARE_EXFIL_VIA 0.02
/* the resolver's relayed leg of that tunnel: a record a query */
#define FG_SHARE_EXFIL_RELAY 0.05
#define FG_SHARE_DOH 0.002

enum {
    FG_K_BEACON_443,
    FG_K_BEACON_ODD,
    FG_K_SCAN,
    FG_K_EXFIL,
    FG_K_ICMP,
    FG_K_GRE,
    FG_K_MINER,
    FG_K_IOC,
    FG_K_FIRST,
    FG_K_SHELL,
    FG_K_DECOY,
    FG_K_LONG, /* after the decoys: a kind added later takes a stream no earlier one used */
    FG_K_EXFIL_VIA,
    FG_K_DOH,
};

static void fg_stream(fg_rng_t *r, uint64_t seed, int kind, int instance)
{
    fg_rng_seed(r, seed, 100 + 8 * (uint64_t)kind + (uint64_t)instance);
}

fg_case_t *fg_cases_new(fg_cases_t *cs, fg_gen_t *g, const char *scenario, const char *technique)
{
    if (cs->n >= FG_MAX_CASES)
        return NULL;
    fg_case_t *c = &cs->v[cs->n++];
    fg_case_begin(g, c, scenario, technique);
    return c;
}

static uint32_t fg_budget(const fg_gen_t *g, double share)
{
    return (uint32_t)(g->cap * share);
}

/* Ports a C2 or shell could pick that a real service (or a mining pool) owns: skipped, so the
 * port really is non-standard. */
static int fg_port_is_service(uint16_t p)
{
    static const uint16_t known[] = {
        1080, 1194, 1433, 1521, 1723, 1883, 2049, 2082, 2083, 2375, 2376, 3128,  3306, 3333,
        3389, 3478, 4444, 5060, 5061, 5222, 5228, 5353, 5432, 5555, 5900, 6379,  6443, 7777,
        8000, 8008, 8080, 8081, 8443, 8883, 8888, 9000, 9090, 9100, 9443, 14444, 45700};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i] == p)
            return 1;
    return 0;
}

static uint16_t fg_odd_port(fg_rng_t *r)
{
    uint16_t p;
    do
        p = (uint16_t)fg_range(r, 1025, 32767);
    while (fg_port_is_service(p));
    return p;
}

/* ---- beacons: T1071 on 443, T1571 on a non-standard port ---- */

/* One host checks in with a C2 every period T, Cobalt Strike style jitter j: each sleep is
 * T * (1 - j * U), U uniform in [0, 1). T log-uniform in [30 s, min(4 h, span / 24)] (so at
 * least 24 check-ins fit), raised when the share would not hold one every T over the span; when
 * even the longest is too often, the beacon runs over a window of the span. j in 0-50 %. */
static void fg_beacon(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, int on_443,
                      uint32_t budget)
{
    uint64_t span = g->end_ms - g->start_ms;
    double span_s = (double)span / 1000.0;
    double pmax = fmin(4 * 3600.0, span_s / 24.0), pmin = 30.0;
    if (pmax < pmin)
        pmax = pmin;
    double need = 2.0 * span_s / (budget > 2 ? budget : 2); /* period that fits the share */
    double period = fg_loguniform(r, need > pmin && need <= pmax ? need : pmin, pmax);
    uint64_t win_start = g->start_ms, win_len = span;
    if (span_s / period * 2.0 > budget) {
        win_len = (uint64_t)(period * 1000.0) * (budget / 2 > 1 ? budget / 2 - 1 : 1);
        win_start = fg_place(g, r, g->start_ms, g->end_ms, win_len);
    }
    uint32_t jitter_pct = (uint32_t)fg_range(r, 0, 50);
    uint32_t host = fg_org_pick_host(o, r, 0);
    fg_case_t *c = fg_cases_new(cs, g, "beacon", on_443 ? "T1071" : "T1571");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->port = on_443 ? 443 : fg_odd_port(r);
    c->proto = FG_TCP;
    /* An implant sends the same check-in every time and gets the same "nothing to do". */
    uint64_t req_pkts = fg_range(r, 4, 7), resp_pkts = fg_range(r, 3, 6);
    uint64_t req_bytes = fg_range(r, 250, 900), resp_bytes = fg_range(r, 180, 1500);
    if (on_443) { /* TLS: a handshake's worth more each way */
        req_bytes += fg_range(r, 500, 700);
        resp_bytes += fg_range(r, 3000, 4500);
    }
    uint16_t cport = fg_ephemeral(r);
    double p_ms = period * 1000.0;
    uint64_t at = win_start + (uint64_t)(fg_unit(r) * p_ms);
    uint32_t n = 0;
    while (at + 10000 < win_start + win_len && c->n_records + 2 <= budget) {
        fg_conv_t v = {.t_ms = at,
                       .dur_ms = (uint64_t)fg_clamp(fg_lognormal(r, 350, 0.4), 60, 5000),
                       .rtt_ms = (uint32_t)fg_range(r, 20, 120),
                       .client = host,
                       .server = c->peer,
                       .cport = cport,
                       .sport = (uint16_t)c->port,
                       .proto = FG_TCP,
                       .req_pkts = req_pkts,
                       .req_bytes = req_bytes + fg_range(r, 0, 40),
                       .resp_pkts = resp_pkts,
                       .resp_bytes = resp_bytes + fg_range(r, 0, 40)};
        fg_conv_emit(g, &v);
        n++;
        cport = cport >= 60999 ? 32768 : cport + 1; /* the stack hands out ports in turn */
        at += (uint64_t)(p_ms * (1.0 - jitter_pct / 100.0 * fg_unit(r)));
    }
    fg_case_end(g);
    fg_case_param(c, "\"period_s\":%.0f", period);
    fg_case_param(c, "\"jitter\":%.2f", jitter_pct / 100.0);
    fg_case_param(c, "\"connections\":%u", n);
}

/* ---- scans: T1046, horizontal and vertical, fast and slow ---- */

static const uint16_t fg_scan_ports[] = {22, 445, 3389, 23, 80, 5900, 139, 135};

/* v[i] = 1..n in an order scanners use: random (Fisher-Yates). */
static void fg_shuffled(fg_rng_t *r, uint16_t *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        v[i] = (uint16_t)(i + 1);
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = (uint32_t)fg_range(r, 0, i);
        uint16_t x = v[i];
        v[i] = v[j];
        v[j] = x;
    }
}

/* When a scan of n probes starts and their mean gap: slow ones spread over 4-20 h (at most 90 %
 * of the span), fast ones a log-normal gap around fast_ms. */
static uint64_t fg_scan_plan(const fg_gen_t *g, fg_rng_t *r, int slow, uint32_t n, double fast_ms,
                             double *gap_ms)
{
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t win =
        slow ? (uint64_t)fmin(fg_range(r, 4 * FG_HOUR_MS, 20 * FG_HOUR_MS), span * 0.9) : 0;
    *gap_ms = slow ? (double)win / n : fg_lognormal(r, fast_ms, 0.7);
    uint64_t dur = slow ? win : (uint64_t)(*gap_ms * n * 3.0) + 10000;
    return fg_place(g, r, g->start_ms, g->end_ms - 1000, dur);
}

/* A host subnet other than the host's own. */
static uint32_t fg_other_net(const fg_org_t *o, fg_rng_t *r, uint32_t host)
{
    uint32_t own = (host >> 8) & 0xff, net;
    do
        net = FG_FIRST_HOST_NET + (uint32_t)fg_range(r, 0, o->n_nets - 1);
    while (net == own);
    return net;
}

/* A case of `host` against the /24 `net` on one scanners' TCP port (drawn here). */
static void fg_scan_subnet(fg_case_t *c, fg_rng_t *r, uint32_t host, uint32_t net)
{
    c->host = host;
    c->peer = FG_V4(10, 0, net, 0);
    c->peer_plen = 24;
    c->port = fg_scan_ports[fg_range(r, 0, sizeof fg_scan_ports / sizeof *fg_scan_ports - 1)];
    c->proto = FG_TCP;
}

/* Horizontal: one port over most of another /24, SYNs that nobody answers (one record each).
 * Fast: 30-254 targets at a median 150 ms apart (all within minutes). Slow: 60-200 targets
 * spread over 4-20 h (clipped to 90 % of the span). */
static void fg_scan_h(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, int slow,
                      uint32_t budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0), net = fg_other_net(o, r, host);
    uint32_t n = (uint32_t)(slow ? fg_range(r, 60, 200) : fg_range(r, 30, 254));
    if (n > budget)
        n = budget;
    fg_case_t *c = fg_cases_new(cs, g, "scan-horizontal", "T1046");
    if (!c)
        return;
    fg_scan_subnet(c, r, host, net);
    uint16_t order[254];
    fg_shuffled(r, order, 254);
    double gap_ms;
    uint64_t at = fg_scan_plan(g, r, slow, n, 150, &gap_ms);
    uint64_t probe_bytes = fg_range(r, 44, 60); /* IP + TCP header + the scanner's options */
    uint16_t cport = fg_ephemeral(r);           /* a SYN scanner keeps one source port */
    for (uint32_t i = 0; i < n; i++) {
        fg_push(g, at, at, host, cport, FG_V4(10, 0, net, order[i]), (uint16_t)c->port, FG_TCP,
                FG_SYN, 1, probe_bytes, 0);
        at += 1 + (uint64_t)fg_exponential(r, gap_ms);
        if (at >= g->end_ms)
            at = g->end_ms - 1; /* a slow tail: the last probes bunch up at the span's end */
    }
    fg_case_end(g);
    fg_case_param(c, "\"speed\":\"%s\"", slow ? "slow" : "fast");
    fg_case_param(c, "\"targets\":%u", n);
    fg_case_param(c, "\"mean_gap_ms\":%.0f", gap_ms);
    fg_case_param(c, "\"tcp_flags\":%u", FG_SYN);
}

/* Quiet: 8-16 internal addresses where nothing lives (past the last host of another subnet),
 * one connect() each (a SYN and its retransmission a second later, never answered), at random
 * over about 1-3 h: under every threshold window, the sequential test's (TRW) case. A worm or an
 * implant mapping the network one port at a time leaves only this. */
static void fg_scan_quiet(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs)
{
    uint32_t host = fg_org_pick_host(o, r, 0), net = fg_other_net(o, r, host);
    /* hosts take octets 10 .. 10 + per_net - 1 of each subnet (fg_org_init) */
    uint32_t per_net = (o->n_hosts + o->n_nets - 1) / o->n_nets, first_dark = 10 + per_net;
    uint32_t n = (uint32_t)fg_range(r, 8, 16);
    fg_case_t *c = fg_cases_new(cs, g, "scan-quiet", "T1046");
    if (!c)
        return;
    fg_scan_subnet(c, r, host, net);
    uint16_t order[254];
    fg_shuffled(r, order, 255 - first_dark);
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t win = (uint64_t)fmin(fg_range(r, FG_HOUR_MS, 3 * FG_HOUR_MS), span * 0.9);
    double gap_ms = (double)win / n;
    uint64_t at = fg_place(g, r, g->start_ms, g->end_ms - 1000, win + 2000);
    for (uint32_t i = 0; i < n; i++) {
        fg_push(g, at, at + 1000, host, fg_ephemeral(r),
                FG_V4(10, 0, net, first_dark - 1 + order[i]), (uint16_t)c->port, FG_TCP, FG_SYN,
                2, 120, 0);
        at += 1 + (uint64_t)fg_exponential(r, gap_ms);
        if (at >= g->end_ms - 1000)
            at = g->end_ms - 1001;
    }
    fg_case_end(g);
    fg_case_param(c, "\"targets\":%u", n);
    fg_case_param(c, "\"mean_gap_ms\":%.0f", gap_ms);
    fg_case_param(c, "\"dark\":true");
}

/* Lateral: a SYN sweep of 30-60 addresses of another subnet on one remote-service port (445,
 * 3389 or 22) in seconds: its hosts answer SYN|ACK, which the scanner resets, the rest stay
 * silent; then, 5-60 min after the sweep, sessions on that port to 2-3 of the hosts that
 * answered (an exploit's, or stolen credentials'): the scan hunt's follow_up, T1021. */
static void fg_scan_lateral(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs)
{
    static const uint16_t ports[] = {445, 3389, 22};
    uint32_t host = fg_org_pick_host(o, r, 0), net = fg_other_net(o, r, host);
    uint32_t n = (uint32_t)fg_range(r, 30, 60);
    fg_case_t *c = fg_cases_new(cs, g, "scan-lateral", "T1021");
    if (!c)
        return;
    c->host = host;
    c->peer = FG_V4(10, 0, net, 0);
    c->peer_plen = 24;
    c->port = ports[fg_range(r, 0, 2)];
    c->proto = FG_TCP;
    uint16_t order[254];
    fg_shuffled(r, order, 254);
    /* the net's hosts answer; two of them are probed first, so some always do */
    uint32_t live[256], n_live = 0, probes[64], k = 0;
    for (uint32_t i = 0; i < 254 && k < n; i++) {
        uint32_t a = FG_V4(10, 0, net, order[i]);
        int alive = fg_org_is_host(o, a);
        if (k < 2 && !alive)
            continue; /* dark ones before the first two live ones are not probed */
        probes[k++] = a;
    }
    n = k; /* all of them unless the subnet were almost empty (fg_org_init gives 50 or more) */
    double gap_ms = fg_lognormal(r, 150, 0.7);
    uint64_t sweep = (uint64_t)(gap_ms * n * 3.0) + 10000;
    uint64_t at = fg_place(g, r, g->start_ms, g->end_ms - 1000, sweep + 2 * FG_HOUR_MS);
    uint16_t cport = fg_ephemeral(r);
    for (uint32_t i = 0; i < n; i++) {
        if (fg_org_is_host(o, probes[i])) {
            fg_conv_t v = {.t_ms = at,
                           .rtt_ms = (uint32_t)fg_range(r, 0, 2),
                           .client = host,
                           .server = probes[i],
                           .cport = cport,
                           .sport = (uint16_t)c->port,
                           .proto = FG_TCP,
                           .req_flags = FG_SYN | FG_RST,
                           .resp_flags = FG_SYN | FG_ACK,
                           .req_pkts = 2,
                           .req_bytes = 84,
                           .resp_pkts = 1,
                           .resp_bytes = 44};
            fg_conv_emit(g, &v);
            live[n_live++] = probes[i];
        } else {
            fg_push(g, at, at, host, cport, probes[i], (uint16_t)c->port, FG_TCP, FG_SYN, 1, 44,
                    0);
        }
        at += 1 + (uint64_t)fg_exponential(r, gap_ms);
    }
    k = n_live < 2 ? n_live : (uint32_t)fg_range(r, 2, n_live < 3 ? 2 : 3);
    for (uint32_t i = 0; i < k; i++) {
        uint64_t up = fg_range(r, 20000, 2000000);
        fg_conv_t v = {.t_ms = at + fg_range(r, 5 * 60000, 60 * 60000),
                       .dur_ms = fg_range(r, 30000, 20 * 60000),
                       .rtt_ms = (uint32_t)fg_range(r, 0, 2),
                       .client = host,
                       .server = live[i],
                       .cport = fg_ephemeral(r),
                       .sport = (uint16_t)c->port,
                       .proto = FG_TCP,
                       .req_pkts = up / 800 + 10,
                       .req_bytes = up,
                       .resp_pkts = up / 1000 + 10,
                       .resp_bytes = up / 2 + 5000};
        fg_conv_emit(g, &v);
    }
    fg_case_end(g);
    fg_case_param(c, "\"targets\":%u", n);
    fg_case_param(c, "\"answered\":%u", n_live);
    fg_case_param(c, "\"sessions\":%u", k);
}

/* Vertical: many ports of one internal host. The target's stack answers a SYN to a closed
 * port with RST (a second record) unless its firewall drops it. Fast: 100-1000 ports at a
 * median 20 ms apart; slow: 60-300 ports over 4-20 h. */
static void fg_scan_v(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, int slow,
                      uint32_t budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0), target;
    do
        target = o->hosts[fg_range(r, 0, o->n_hosts - 1)];
    while (target == host);
    int rst = fg_unit(r) < 0.6;
    uint32_t n = (uint32_t)(slow ? fg_range(r, 60, 300) : fg_range(r, 100, 1000));
    if (n > budget / (rst ? 2 : 1))
        n = budget / (rst ? 2 : 1);
    fg_case_t *c = fg_cases_new(cs, g, "scan-vertical", "T1046");
    if (!c)
        return;
    c->host = host;
    c->peer = target;
    c->proto = FG_TCP;
    /* ports 1-1024 in a shuffled order (n is at most 1000) */
    uint16_t ports[1024];
    fg_shuffled(r, ports, 1024);
    double gap_ms;
    uint64_t at = fg_scan_plan(g, r, slow, n, 20, &gap_ms);
    uint16_t cport = fg_ephemeral(r);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t port = ports[i];
        fg_conv_t v = {.t_ms = at,
                       .rtt_ms = (uint32_t)fg_range(r, 0, 2),
                       .client = host,
                       .server = target,
                       .cport = cport,
                       .sport = port,
                       .proto = FG_TCP,
                       .one_way = !rst,
                       .req_flags = FG_SYN,
                       .resp_flags = FG_RST | FG_ACK,
                       .req_pkts = 1,
                       .req_bytes = 44,
                       .resp_pkts = 1,
                       .resp_bytes = 40};
        fg_conv_emit(g, &v);
        at += 1 + (uint64_t)fg_exponential(r, gap_ms);
        if (at >= g->end_ms - 10)
            at = g->end_ms - 10;
    }
    fg_case_end(g);
    fg_case_param(c, "\"speed\":\"%s\"", slow ? "slow" : "fast");
    fg_case_param(c, "\"ports\":%u", n);
    fg_case_param(c, "\"answers\":\"%s\"", rst ? "rst" : "none");
    fg_case_param(c, "\"mean_gap_ms\":%.0f", gap_ms);
}

/* ---- DNS exfiltration: T1048.003, straight to an external nameserver or through the
 * organisation's resolver ---- */

/* UDP: 100-300 sessions of 5-60 large queries (180-255 bytes: long labels of encoded data)
 * with small answers, over 1-6 h, a new source port per session. TCP: 3-12 connections of
 * 100-2000 packets of 300-500 bytes up, small answers, each 2-25 min, over 1-8 h. `via`: UDP
 * to the host's own resolver, which relays each query to the attacker's nameserver (iodine's
 * and dnscat2's default). Both legs are planted (from --flows 5,360), each its own case:
 * the client's (host -> resolver, the only one that names the host) and the relayed one
 * (resolver -> the attacker's nameserver, a fresh external address: one query and its answer
 * per record, from a fresh source port each, as resolvers randomise them; 11 bytes more each
 * way, the EDNS record the resolver adds), which names the nameserver to block. */
typedef struct fg_query {
    uint64_t t_ms;
    uint16_t req, resp; /* bytes of the query and of its answer, as the host sent them */
} fg_query_t;

/* The relayed leg of a tunnel through `resolver`: each of the host's queries, as the resolver
 * forwards it to the attacker's nameserver (a case of its own: the resolver is not the
 * compromised host, but its traffic is the only one that shows the nameserver). */
static void fg_exfil_relay(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t resolver,
                           const fg_query_t *q, size_t nq)
{
    fg_case_t *c = fg_cases_new(cs, g, "dns-exfil", "T1048.003");
    if (!c)
        return;
    c->host = resolver;
    c->peer = fg_org_fresh(o, r);
    c->port = 53;
    c->proto = FG_UDP;
    uint64_t up = 0;
    for (size_t i = 0; i < nq; i++) {
        fg_conv_t v = {.t_ms = q[i].t_ms + fg_range(r, 1, 5),
                       .client = resolver,
                       .server = c->peer,
                       .cport = fg_ephemeral(r),
                       .sport = 53,
                       .proto = FG_UDP,
                       .rtt_ms = (uint32_t)fg_range(r, 20, 150),
                       .req_pkts = 1,
                       .resp_pkts = 1,
                       .req_bytes = q[i].req + 11u,
                       .resp_bytes = q[i].resp + 11u};
        if (fg_conv_emit(g, &v))
            up += v.req_bytes;
    }
    fg_case_end(g);
    fg_case_param(c, "\"leg\":\"relayed\"");
    fg_case_param(c, "\"queries\":%zu", nq);
    fg_case_param(c, "\"request_bytes\":%llu", (unsigned long long)up);
}

static void fg_exfil(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, int tcp, int via,
                     uint32_t budget, uint32_t relay_budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint32_t n = (uint32_t)(tcp ? fg_range(r, 3, 12) : fg_range(r, 100, 300));
    uint32_t per = 2; /* records of one session (TCP sessions stay under 30 min) */
    if (n > budget / per)
        n = budget / per;
    /* Through a resolver, each query is relayed too: 65 records a session on average, from
     * their own budget, which then bounds the sessions. Where it holds fewer than 4 sessions
     * (--flows under 5,360) the client's side is planted alone: fewer would leave it too few
     * queries to judge. */
    const uint32_t relay_per = 65;
    int relay = via && relay_budget >= 4 * relay_per;
    if (relay && n > relay_budget / relay_per)
        n = relay_budget / relay_per;
    if (n == 0)
        n = 1;
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t win = fg_range(r, FG_HOUR_MS, (tcp ? 8 : 6) * FG_HOUR_MS);
    if (win > span - 60000)
        win = span - 60000;
    uint64_t at = fg_place(g, r, g->start_ms, g->end_ms - 60000, win);
    double gap_ms = (double)win / n;
    fg_case_t *c = fg_cases_new(cs, g, "dns-exfil", "T1048.003");
    if (!c)
        return;
    c->host = host;
    /* the host's resolver as everyday DNS picks it (fg_org_background) */
    c->peer = !via ? fg_org_fresh(o, r) : ((host >> 8) & 1) == 0 ? FG_RESOLVER_A : FG_RESOLVER_B;
    c->port = 53;
    c->proto = tcp ? FG_TCP : FG_UDP;
    uint64_t up = 0;
    /* via: each query's time and sizes, for the relayed leg */
    fg_query_t *q = relay ? calloc((size_t)n * 60, sizeof *q) : NULL;
    size_t nq = 0;
    for (uint32_t i = 0; i < n; i++) {
        fg_conv_t v = {.t_ms = at,
                       .rtt_ms = (uint32_t)fg_range(r, 20, 150),
                       .client = host,
                       .server = c->peer,
                       .cport = fg_ephemeral(r),
                       .sport = 53,
                       .proto = c->proto};
        if (tcp) {
            v.req_pkts = fg_range(r, 100, 2000);
            v.req_bytes = v.req_pkts * fg_range(r, 300, 500);
            v.resp_pkts = v.req_pkts / 2 + 1;
            v.resp_bytes = v.resp_pkts * fg_range(r, 60, 120);
            v.dur_ms = fg_range(r, 2 * 60000, 25 * 60000);
        } else {
            uint64_t pkts = fg_range(r, 5, 60);
            size_t q0 = nq;
            for (uint64_t k = 0; k < pkts; k++) {
                uint64_t qb = fg_range(r, 180, 255), ab = fg_range(r, 90, 160);
                v.req_bytes += qb;
                v.resp_bytes += ab;
                if (q)
                    q[nq++] = (fg_query_t){0, (uint16_t)qb, (uint16_t)ab};
            }
            v.req_pkts = v.resp_pkts = pkts;
            uint64_t step = fg_range(r, 100, 1500); /* drawn last, as before the relayed leg */
            v.dur_ms = pkts * step;
            for (size_t k = q0; k < nq; k++)
                q[k].t_ms = at + (k - q0) * step;
        }
        fg_conv_emit(g, &v);
        up += v.req_bytes;
        at += 1000 + (uint64_t)fg_exponential(r, gap_ms);
        if (at + 30 * 60000 >= g->end_ms)
            at = g->end_ms > 30 * 60000 + g->start_ms ? g->end_ms - 30 * 60000 : g->start_ms;
    }
    fg_case_end(g);
    fg_case_param(c, "\"transport\":\"%s\"", tcp ? "tcp" : "udp");
    if (via)
        fg_case_param(c, "\"via\":\"resolver\"");
    fg_case_param(c, "\"%s\":%u", tcp ? "connections" : "queries", n);
    fg_case_param(c, "\"request_bytes\":%llu", (unsigned long long)up);
    if (q)
        fg_exfil_relay(g, o, r, cs, c->peer, q, nq);
    free(q);
}

/* ---- Encrypted DNS past the resolvers: T1071.004 ---- */

/* A host that resolves over HTTPS to a public resolver (Cloudflare, Google or Quad9) instead of
 * the organisation's: 6-20 connections of 1-10 min over 1-8 h, each 20-200 queries of 100-300
 * bytes up (HTTP/2 frames of a DoH request) and answers of 150-500 bytes. Planted from
 * --flows 4,000 (8 records). */
static void fg_doh(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    static const uint32_t servers[3] = {0x01010101u, 0x08080808u, 0x09090909u};
    if (budget < 8)
        return;
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint32_t n = (uint32_t)fg_range(r, 6, 20);
    if (n > budget / 2)
        n = budget / 2;
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t win = fg_range(r, FG_HOUR_MS, 8 * FG_HOUR_MS);
    if (win > span - 60000)
        win = span - 60000;
    uint64_t at = fg_place(g, r, g->start_ms, g->end_ms - 60000, win);
    fg_case_t *c = fg_cases_new(cs, g, "encrypted-dns", "T1071.004");
    if (!c)
        return;
    c->host = host;
    c->peer = servers[fg_range(r, 0, 2)];
    c->port = 443;
    c->proto = FG_TCP;
    for (uint32_t i = 0; i < n; i++) {
        /* on demand, as lookups come: at random times, not on a timer */
        fg_conv_t v = {.t_ms = at + fg_range(r, 0, win),
                       .rtt_ms = (uint32_t)fg_range(r, 5, 40),
                       .client = host,
                       .server = c->peer,
                       .cport = fg_ephemeral(r),
                       .sport = 443,
                       .proto = FG_TCP,
                       .dur_ms = fg_range(r, 60000, 600000)};
        v.req_pkts = fg_range(r, 20, 200);
        v.req_bytes = v.req_pkts * fg_range(r, 100, 300);
        v.resp_pkts = v.req_pkts;
        v.resp_bytes = v.resp_pkts * fg_range(r, 150, 500);
        fg_conv_emit(g, &v);
    }
    fg_case_end(g);
    fg_case_param(c, "\"transport\":\"https\"");
    fg_case_param(c, "\"connections\":%u", n);
}

/* ---- ICMP tunnel: T1095 ---- */

/* 20-150 sessions of 10-400 echo requests and replies carrying 500-1400 bytes each way (per
 * case; +-10 % per session), 50-500 ms apart, over 1-10 h, to one external peer. */
static void fg_icmp_tunnel(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint32_t n = (uint32_t)fg_range(r, 20, 150);
    if (n > budget / 2)
        n = budget / 2 ? budget / 2 : 1;
    uint64_t payload = fg_range(r, 500, 1400);
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t win = (uint64_t)fmin(fg_range(r, FG_HOUR_MS, 10 * FG_HOUR_MS), span * 0.9);
    uint64_t at = fg_place(g, r, g->start_ms, g->end_ms - 60000, win);
    fg_case_t *c = fg_cases_new(cs, g, "icmp-tunnel", "T1095");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->proto = FG_ICMP;
    uint64_t pkts_all = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pkts = fg_range(r, 10, 400);
        uint64_t size = 28 + (uint64_t)(payload * (0.9 + 0.2 * fg_unit(r)));
        fg_conv_t v = {.t_ms = at,
                       .dur_ms = pkts * fg_range(r, 50, 500),
                       .rtt_ms = (uint32_t)fg_range(r, 20, 150),
                       .client = host,
                       .server = c->peer,
                       .sport = FG_ICMP_ECHO,
                       .proto = FG_ICMP,
                       .req_pkts = pkts,
                       .req_bytes = pkts * size,
                       .resp_pkts = pkts,
                       .resp_bytes = pkts * (28 + fg_range(r, 100, payload))};
        fg_conv_emit(g, &v);
        pkts_all += pkts;
        at += v.dur_ms + 1000 + (uint64_t)fg_exponential(r, (double)win / n);
        if (at + 60000 >= g->end_ms)
            at = g->end_ms - 60000;
    }
    fg_case_end(g);
    fg_case_param(c, "\"sessions\":%u", n);
    fg_case_param(c, "\"payload_bytes\":%llu", (unsigned long long)payload);
    fg_case_param(c, "\"echo_requests\":%llu", (unsigned long long)pkts_all);
}

/* ---- IP tunnel: T1095, GRE (IP protocol 47) to an external peer ---- */

/* One tunnel of 2-24 h (clipped to the share and 90 % of the span), 2-40 packets a second
 * each way of 100-1400 bytes: one record per direction per 30-minute active timeout. */
static void fg_ip_tunnel(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t dur = fg_range(r, 2 * FG_HOUR_MS, 24 * FG_HOUR_MS);
    dur = (uint64_t)fmin((double)dur, span * 0.9);
    uint64_t max_dur = (uint64_t)(budget / 2 > 1 ? budget / 2 : 1) * FG_ACTIVE_TIMEOUT_MS - 1000;
    if (dur > max_dur)
        dur = max_dur;
    double pps = fg_range(r, 2, 40), size = fg_range(r, 100, 1400);
    fg_case_t *c = fg_cases_new(cs, g, "ip-tunnel", "T1095");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->proto = FG_GRE;
    uint64_t pkts = (uint64_t)(pps * (double)dur / 1000.0) + 1;
    fg_conv_t v = {.t_ms = fg_place(g, r, g->start_ms, g->end_ms - 60000, dur),
                   .dur_ms = dur,
                   .rtt_ms = (uint32_t)fg_range(r, 10, 80),
                   .client = host,
                   .server = c->peer,
                   .proto = FG_GRE,
                   .req_pkts = pkts,
                   .req_bytes = (uint64_t)(pkts * size),
                   .resp_pkts = pkts,
                   .resp_bytes = (uint64_t)(pkts * size * (0.5 + fg_unit(r)))};
    fg_conv_emit(g, &v);
    fg_case_end(g);
    fg_case_param(c, "\"hours\":%.2f", (double)dur / FG_HOUR_MS);
    fg_case_param(c, "\"packets_per_s\":%.0f", pps);
    fg_case_param(c, "\"packet_bytes\":%.0f", size);
}

/* ---- cryptominer: T1496 ---- */

/* Stratum to a pool on 3333, 4444, 14444 or 45700: 1-3 connections that stay up for 4 h to the
 * whole span (clipped to the share) with a share submitted every 10-60 s and jobs pushed
 * every 20-90 s: low, steady, small packets; each cut every 30 minutes by the exporter. */
static void fg_miner(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    static const uint16_t pool_ports[] = {3333, 4444, 14444, 45700};
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t total = fg_range(r, 4 * FG_HOUR_MS, span > 4 * FG_HOUR_MS ? span : 4 * FG_HOUR_MS);
    total = (uint64_t)fmin((double)total, span * 0.95);
    uint64_t max_dur = (uint64_t)(budget / 2 > 1 ? budget / 2 : 1) * FG_ACTIVE_TIMEOUT_MS;
    if (total > max_dur)
        total = max_dur;
    uint32_t sessions = (uint32_t)fg_range(r, 1, 3);
    if (total / sessions < FG_HOUR_MS)
        sessions = 1;
    double share_s = fg_range(r, 10, 60), job_s = fg_range(r, 20, 90);
    fg_case_t *c = fg_cases_new(cs, g, "miner", "T1496");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->port = pool_ports[fg_range(r, 0, 3)];
    c->proto = FG_TCP;
    uint64_t at = fg_place(g, r, g->start_ms, g->end_ms - 60000, total + sessions * 60000);
    for (uint32_t i = 0; i < sessions; i++) {
        uint64_t dur = total / sessions - 1000;
        double secs = (double)dur / 1000.0;
        fg_conv_t v = {.t_ms = at,
                       .dur_ms = dur,
                       .rtt_ms = (uint32_t)fg_range(r, 20, 200),
                       .client = host,
                       .server = c->peer,
                       .cport = fg_ephemeral(r),
                       .sport = (uint16_t)c->port,
                       .proto = FG_TCP};
        v.req_pkts = (uint64_t)(secs / share_s) + 3;
        v.req_bytes = v.req_pkts * fg_range(r, 120, 220);
        v.resp_pkts = (uint64_t)(secs / job_s) + v.req_pkts / 2 + 3;
        v.resp_bytes = v.resp_pkts * fg_range(r, 150, 400);
        fg_conv_emit(g, &v);
        at += total / sessions + fg_range(r, 5000, 60000); /* reconnects after a drop */
    }
    fg_case_end(g);
    fg_case_param(c, "\"hours\":%.2f", (double)total / FG_HOUR_MS);
    fg_case_param(c, "\"connections\":%u", sessions);
    fg_case_param(c, "\"share_interval_s\":%.0f", share_s);
}

/* ---- contact with a threat-intel indicator: T1071 ---- */

/* 3-15 short answered HTTPS or HTTP conversations at working-hour times, to an address the
 * --intel feed lists. The second instance, where there is one, runs over IPv6 (not in v5). */
static void fg_ioc(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, int instance,
                   uint32_t budget)
{
    int v6 = instance == 1 && !g->v4_only;
    uint32_t host = fg_org_pick_host(o, r, v6);
    v6 = v6 && fg_org_dual_stack(o, host);
    uint32_t n = (uint32_t)fg_range(r, 3, 15);
    if (n > budget / 2)
        n = budget / 2 ? budget / 2 : 1;
    fg_case_t *c = fg_cases_new(cs, g, "ioc", "T1071");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->v6 = (uint8_t)v6;
    c->port = fg_unit(r) < 0.7 ? 443 : 80;
    c->proto = FG_TCP;
    if (v6) {
        c->host_plen = c->peer_plen = 128;
    }
    for (uint32_t i = 0; i < n; i++) {
        fg_conv_t v = {.t_ms = fg_org_when(r, g->start_ms, g->end_ms - 60000),
                       .client = host,
                       .server = c->peer,
                       .cport = fg_ephemeral(r),
                       .sport = (uint16_t)c->port,
                       .proto = FG_TCP,
                       .v6 = (uint8_t)v6};
        fg_org_session(&v, r, 1500, 1.0);
        if (v.dur_ms > 20 * 60000)
            v.dur_ms = 20 * 60000;
        fg_conv_emit(g, &v);
    }
    fg_case_end(g);
    fg_case_param(c, "\"conversations\":%u", n);
    fg_case_param(c, "\"family\":\"%s\"", v6 ? "ipv6" : "ipv4");
}

/* ---- a destination first contacted on the last day ---- */

/* 1-4 answered HTTPS conversations by one host, inside the last day of the span (the last
 * quarter when the span is under four days), to an address nobody else ever contacts. */
static void fg_first_seen(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t last = span >= 4 * FG_DAY_MS ? FG_DAY_MS : span / 4;
    uint64_t from = g->end_ms - last;
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint32_t n = (uint32_t)fg_range(r, 1, 4);
    if (n > budget / 2)
        n = budget / 2 ? budget / 2 : 1;
    fg_case_t *c = fg_cases_new(cs, g, "first-seen", "T1071");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->port = 443;
    c->proto = FG_TCP;
    for (uint32_t i = 0; i < n; i++) {
        fg_conv_t v = {.t_ms = fg_range(r, from, g->end_ms - 120000),
                       .client = host,
                       .server = c->peer,
                       .cport = fg_ephemeral(r),
                       .sport = 443,
                       .proto = FG_TCP};
        fg_org_session(&v, r, 4000, 1.0);
        if (v.dur_ms > 60000)
            v.dur_ms = 60000;
        fg_conv_emit(g, &v);
    }
    fg_case_end(g);
    fg_case_param(c, "\"conversations\":%u", n);
    fg_case_param(c, "\"last_day_from_ms\":%llu", (unsigned long long)from);
}

/* The traffic of a held TCP connection, per 30-minute record: packets up `base` + a log-normal
 * (median up_med), down that + another (median down_med), both clamped to `cap`; bytes per
 * packet drawn from [up_lo, up_hi] and [down_lo, down_hi]. */
typedef struct fg_held {
    uint64_t base;
    double up_med, down_med, sigma, cap;
    uint64_t up_lo, up_hi, down_lo, down_hi;
} fg_held_t;

/* One TCP connection from host to peer:port held over [t, t + dur], cut into records by the
 * active timeout (SYN in the first, FIN in the last), each answered a little later. */
static void fg_held_conn(fg_gen_t *g, fg_rng_t *r, uint32_t host, uint32_t peer, uint16_t port,
                         uint64_t t, uint64_t dur, const fg_held_t *h)
{
    uint64_t segs = (dur + FG_ACTIVE_TIMEOUT_MS - 1) / FG_ACTIVE_TIMEOUT_MS;
    uint16_t cport = fg_ephemeral(r);
    for (uint64_t j = 0; j < segs; j++) {
        uint64_t s0 = t + j * FG_ACTIVE_TIMEOUT_MS;
        uint64_t e0 = j + 1 == segs ? t + dur : s0 + FG_ACTIVE_TIMEOUT_MS - 1;
        uint8_t fl = FG_ACK | FG_PSH | (j == 0 ? FG_SYN : 0) | (j + 1 == segs ? FG_FIN : 0);
        uint64_t up = h->base + (uint64_t)fg_clamp(fg_lognormal(r, h->up_med, h->sigma), 0, h->cap);
        uint64_t down = up + (uint64_t)fg_clamp(fg_lognormal(r, h->down_med, h->sigma), 0, h->cap);
        uint32_t rtt = (uint32_t)fg_range(r, 20, 150);
        fg_push(g, s0, e0, host, cport, peer, port, FG_TCP, fl, up,
                up * fg_range(r, h->up_lo, h->up_hi), 0);
        fg_push(g, s0 + rtt, e0 + rtt, peer, port, host, cport, FG_TCP, fl, down,
                down * fg_range(r, h->down_lo, h->down_hi), 0);
    }
}

/* ---- interactive reverse shell: T1571 ---- */

/* The victim connects out to the attacker's listener on a non-standard port and keeps it for
 * 40 min to 6 h (clipped to the share): 1-3 sessions at random times, never periodic; typing
 * and output come in bursts, so a 30-minute record holds from a few keep-alive packets to
 * hundreds, all small (60-160 bytes on average). */
static void fg_reverse_shell(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint32_t sessions = (uint32_t)fg_range(r, 1, 3);
    fg_case_t *c = fg_cases_new(cs, g, "reverse-shell", "T1571");
    if (!c)
        return;
    c->host = host;
    c->peer = fg_org_fresh(o, r);
    c->port = fg_odd_port(r);
    c->proto = FG_TCP;
    uint64_t span = g->end_ms - g->start_ms, minutes = 0;
    for (uint32_t s = 0; s < sessions && c->n_records + 4 <= budget; s++) {
        uint64_t dur = fg_range(r, 40 * 60000, 6 * FG_HOUR_MS);
        uint64_t left = budget - c->n_records;
        if (dur > (left / 2) * FG_ACTIVE_TIMEOUT_MS - 1000)
            dur = (left / 2) * FG_ACTIVE_TIMEOUT_MS - 1000;
        dur = (uint64_t)fmin((double)dur, span * 0.5);
        uint64_t t = fg_org_when(r, g->start_ms, g->end_ms - dur - 60000);
        /* bursts: log-normal activity per 30 minutes, heavy-tailed */
        static const fg_held_t shell = {4, 40, 30, 1.5, 5000, 55, 90, 70, 160};
        fg_held_conn(g, r, host, c->peer, (uint16_t)c->port, t, dur, &shell);
        minutes += dur / 60000;
    }
    fg_case_end(g);
    fg_case_param(c, "\"sessions\":%u", sessions);
    fg_case_param(c, "\"minutes\":%llu", (unsigned long long)minutes);
}

/* ---- a channel held open over HTTPS: T1071 ---- */

/* A C2 framework at sleep 0, or a tunnel (chisel, an SSH or HTTPS tunnel), to the attacker's
 * server on 443: one connection held for 9-20 h (clipped to the share and to 90 % of the span),
 * in 1-2 connections (a reconnect after a drop, 1-10 min later), keep-alives and small bursts
 * both ways, cut by the exporter's active timeout into 30-minute records. One connection is
 * no timeline and 443 is no odd port: the beacon and nonstd-port hunts have nothing to see;
 * the long-conn hunt has. */
static void fg_long_c2(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, uint32_t budget)
{
    uint32_t host = fg_org_pick_host(o, r, 0);
    uint32_t conns = (uint32_t)fg_range(r, 1, 2);
    uint32_t peer = fg_org_fresh(o, r);
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t total = fg_range(r, 9 * FG_HOUR_MS, 20 * FG_HOUR_MS);
    uint64_t gap = conns > 1 ? fg_range(r, 60000, 600000) : 0;
    uint64_t segs_max = budget / 2;
    if (total > segs_max * FG_ACTIVE_TIMEOUT_MS)
        total = segs_max * FG_ACTIVE_TIMEOUT_MS;
    total = (uint64_t)fmin((double)total, span * 0.9);
    if (total < 10 * 60000 || total + 60000 >= span)
        return; /* no room for a connection worth the name: not planted */
    if (total < 2 * FG_ACTIVE_TIMEOUT_MS || total + gap + 60000 >= span)
        conns = 1, gap = 0; /* too little room to split */
    fg_case_t *c = fg_cases_new(cs, g, "long-c2", "T1071");
    if (!c)
        return;
    c->host = host;
    c->peer = peer;
    c->port = 443;
    c->proto = FG_TCP;
    uint64_t t = fg_org_when(r, g->start_ms, g->end_ms - total - gap - 60000), held = 0;
    for (uint32_t k = 0; k < conns; k++) {
        uint64_t dur = conns == 1 ? total : k == 0 ? total / 2 : total - total / 2;
        uint64_t segs = (dur + FG_ACTIVE_TIMEOUT_MS - 1) / FG_ACTIVE_TIMEOUT_MS;
        if (c->n_records + 2 * segs > budget)
            break;
        /* keep-alives every minute or so, and now and then a burst of tasking */
        static const fg_held_t c2 = {30, 20, 15, 1.2, 3000, 80, 200, 90, 400};
        fg_held_conn(g, r, host, c->peer, 443, t, dur, &c2);
        held += dur;
        t += dur + gap;
    }
    fg_case_end(g);
    fg_case_param(c, "\"connections\":%u", conns);
    fg_case_param(c, "\"held_ms\":%llu", (unsigned long long)held);
}

void fg_plant_threats(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    fg_rng_t r;
    /* beacons: 1 to 3 of each kind, one more per 40 000 records */
    int nb = (int)fg_clamp(1 + g->cap / 40000, 1, 3);
    uint32_t b = fg_budget(g, FG_SHARE_BEACON) / (2 * (uint32_t)nb);
    for (int i = 0; i < nb; i++) {
        fg_stream(&r, seed, FG_K_BEACON_443, i);
        fg_beacon(g, o, &r, cs, 1, b);
        fg_stream(&r, seed, FG_K_BEACON_ODD, i);
        fg_beacon(g, o, &r, cs, 0, b);
    }
    /* scans: fast ones always; slow ones when their share holds 60 probes */
    uint32_t sb = fg_budget(g, FG_SHARE_SCAN);
    fg_stream(&r, seed, FG_K_SCAN, 0);
    /* at least 30 targets / 20 ports (40 records with answers): a fast scan is one only above
     * the fast thresholds (25 targets, 15 ports in 5 minutes: Zeek scan.zeek, hunting-methods.md
     * section 2.2) */
    fg_scan_h(g, o, &r, cs, 0, sb * 3 / 10 > 30 ? sb * 3 / 10 : 30);
    fg_stream(&r, seed, FG_K_SCAN, 1);
    fg_scan_v(g, o, &r, cs, 0, sb * 4 / 10 > 40 ? sb * 4 / 10 : 40);
    if (sb * 15 / 100 >= 60) {
        fg_stream(&r, seed, FG_K_SCAN, 2);
        fg_scan_h(g, o, &r, cs, 1, sb * 15 / 100);
    }
    if (sb * 15 / 100 >= 120) {
        fg_stream(&r, seed, FG_K_SCAN, 3);
        fg_scan_v(g, o, &r, cs, 1, sb * 15 / 100);
    }
    if (sb >= 100) {
        fg_stream(&r, seed, FG_K_SCAN, 4);
        fg_scan_quiet(g, o, &r, cs);
    }
    if (sb >= 300) {
        fg_stream(&r, seed, FG_K_SCAN, 5);
        fg_scan_lateral(g, o, &r, cs);
    }
    uint32_t eb = fg_budget(g, FG_SHARE_EXFIL);
    fg_stream(&r, seed, FG_K_EXFIL, 0);
    fg_exfil(g, o, &r, cs, 0, 0, eb * 3 / 4, 0);
    fg_stream(&r, seed, FG_K_EXFIL, 1);
    fg_exfil(g, o, &r, cs, 1, 0, eb / 4, 0);
    int ni = g->cap >= 100000 ? 2 : 1;
    for (int i = 0; i < ni; i++) {
        fg_stream(&r, seed, FG_K_ICMP, i);
        fg_icmp_tunnel(g, o, &r, cs, fg_budget(g, FG_SHARE_ICMP) / (uint32_t)ni);
    }
    fg_stream(&r, seed, FG_K_GRE, 0);
    fg_ip_tunnel(g, o, &r, cs, fg_budget(g, FG_SHARE_GRE));
    fg_stream(&r, seed, FG_K_MINER, 0);
    fg_miner(g, o, &r, cs, fg_budget(g, FG_SHARE_MINER));
    int nioc = g->cap >= 20000 ? 2 : 1;
    for (int i = 0; i < nioc; i++) {
        fg_stream(&r, seed, FG_K_IOC, i);
        fg_ioc(g, o, &r, cs, i, fg_budget(g, FG_SHARE_IOC) / (uint32_t)nioc);
    }
    fg_stream(&r, seed, FG_K_FIRST, 0);
    fg_first_seen(g, o, &r, cs, fg_budget(g, FG_SHARE_FIRST));
    fg_stream(&r, seed, FG_K_SHELL, 0);
    fg_reverse_shell(g, o, &r, cs, fg_budget(g, FG_SHARE_SHELL));
    /* indicators of the feed that nobody contacts: a hunt must not report a listed address
     * just for being listed */
    fg_stream(&r, seed, FG_K_DECOY, 0);
    cs->n_decoys = (uint32_t)fg_range(&r, 3, FG_MAX_DECOYS);
    for (uint32_t i = 0; i < cs->n_decoys; i++)
        cs->decoys[i] = fg_org_fresh(o, &r);
    fg_stream(&r, seed, FG_K_LONG, 0);
    fg_long_c2(g, o, &r, cs, fg_budget(g, FG_SHARE_LONG));
    fg_stream(&r, seed, FG_K_EXFIL_VIA, 0);
    fg_exfil(g, o, &r, cs, 0, 1, fg_budget(g, FG_SHARE_EXFIL_VIA),
             fg_budget(g, FG_SHARE_EXFIL_RELAY));
    fg_stream(&r, seed, FG_K_DOH, 0);
    fg_doh(g, o, &r, cs, fg_budget(g, FG_SHARE_DOH));
}
