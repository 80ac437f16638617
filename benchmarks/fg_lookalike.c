/* fg_lookalike.c: benign traffic that looks like a threat to a naive hunter (scenario
 * benign-<name>, no technique): periodic, on odd ports, scanning, rare, or DNS to the
 * Internet, but explained by what the organisation is. A good hunter must not raise these to
 * High. Shares of --flows (before sampling) and ranges are stated per look-alike; streams
 * 300 + 8 * kind + instance. "Every host" and "every minute" hold when the share allows; with
 * a small --flows the number of hosts or the rate is lowered so each keeps at least 6
 * contacts (what makes a timer look like a beacon). */
#include <math.h>
#include <string.h>

#include "fg_cases.h"

#define FG_SHARE_NTP 0.03
#define FG_SHARE_CDN 0.03
#define FG_SHARE_MONITOR 0.03
#define FG_SHARE_VULN 0.02
#define FG_SHARE_RECURSION 0.05
#define FG_SHARE_SAAS 0.04
#define FG_SHARE_PING 0.01
#define FG_MIN_CONTACTS 6

enum {
    FG_L_NTP,
    FG_L_CDN,
    FG_L_MONITOR,
    FG_L_VULN,
    FG_L_RECURSION,
    FG_L_SAAS,
    FG_L_PING,
    FG_L_RARE
};

static void fg_lstream(fg_rng_t *r, uint64_t seed, int kind, int instance)
{
    fg_rng_seed(r, seed, 300 + 8 * (uint64_t)kind + (uint64_t)instance);
}

/* How many clients and how often: as many clients as asked (up to the hosts there are), each
 * contacting every `want_period_s`, lowered to fit `records` (2 per contact). */
static void fg_fit_timer(const fg_gen_t *g, uint32_t records, uint32_t want_clients,
                         double want_period_s, uint32_t *out_clients, double *out_period_s)
{
    double span_s = (double)(g->end_ms - g->start_ms) / 1000.0;
    double contacts = records / 2.0;
    uint32_t clients = want_clients;
    double per_client = span_s / want_period_s;
    if (clients * per_client > contacts) {
        /* fewer contacts each, down to FG_MIN_CONTACTS; then fewer clients */
        per_client = fmax(FG_MIN_CONTACTS, contacts / clients);
        if (clients * per_client > contacts)
            clients = (uint32_t)fmax(1, contacts / per_client);
    }
    *out_clients = clients;
    *out_period_s = fmax(want_period_s, span_s / per_client);
}

/* A timer: `client` contacts `server` every period (+- jitter share), from a random phase. */
static void fg_timer(fg_gen_t *g, fg_rng_t *r, const fg_conv_t *proto_conv, double period_s,
                     double jitter, uint32_t max_records, uint64_t *used)
{
    double p_ms = period_s * 1000.0;
    uint64_t at = g->start_ms + (uint64_t)(fg_unit(r) * p_ms);
    while (at + 5000 < g->end_ms && *used + 2 <= max_records) {
        fg_conv_t v = *proto_conv;
        v.t_ms = at;
        v.cport = proto_conv->proto == FG_ICMP ? 0 : fg_ephemeral(r);
        v.rtt_ms = (uint32_t)fg_range(r, 1, 60);
        *used += fg_conv_emit(g, &v);
        at += (uint64_t)(p_ms * (1.0 + jitter * (2.0 * fg_unit(r) - 1.0)));
    }
}

/* NTP (UDP 123) to the public pool from every host (each host one of the pool's servers), every
 * 1024 s, the poll interval chrony and ntpd settle at; one case per pool server. */
static void fg_ntp(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    uint32_t records = (uint32_t)(g->cap * FG_SHARE_NTP), clients;
    double period;
    fg_fit_timer(g, records, o->n_hosts, 1024, &clients, &period);
    /* server k has the clients k, k + FG_N_NTP, ...: with fewer clients than servers the
     * last servers have none, and a case without records (dated 1970 in the truth) is no case */
    for (int k = 0; k < FG_N_NTP && (uint32_t)k < clients; k++) {
        fg_rng_t r;
        fg_lstream(&r, seed, FG_L_NTP, k);
        fg_case_t *c = fg_cases_new(cs, g, "benign-ntp", "");
        if (!c)
            return;
        c->host = FG_V4(10, 0, 0, 0);
        c->host_plen = 16;
        c->peer = o->ntp[k];
        c->port = 123;
        c->proto = FG_UDP;
        uint64_t used = 0;
        uint32_t n = 0;
        for (uint32_t i = (uint32_t)k; i < clients; i += FG_N_NTP, n++) {
            fg_conv_t v = {.client = o->hosts[i], .server = o->ntp[k], .sport = 123};
            fg_org_datagram_pair(&v, &r, 76, 76, 76, 76, 60);
            fg_timer(g, &r, &v, period, 0.02, records / FG_N_NTP, &used);
        }
        fg_case_end(g);
        fg_case_param(c, "\"clients\":%u", n);
        fg_case_param(c, "\"poll_s\":%.0f", period);
    }
}

/* Hourly update checks (HTTPS, small answer) to a popular CDN from many hosts (up to half of
 * them), +-2 % jitter. */
static void fg_cdn(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    fg_rng_t r;
    fg_lstream(&r, seed, FG_L_CDN, 0);
    uint32_t records = (uint32_t)(g->cap * FG_SHARE_CDN), clients;
    double period;
    fg_fit_timer(g, records, o->n_hosts / 2, 3600, &clients, &period);
    fg_case_t *c = fg_cases_new(cs, g, "benign-cdn-updates", "");
    if (!c)
        return;
    c->host = FG_V4(10, 0, 0, 0);
    c->host_plen = 16;
    c->peer = fg_org_fresh(o, &r);
    c->port = 443;
    c->proto = FG_TCP;
    uint64_t used = 0;
    for (uint32_t i = 0; i < clients; i++) {
        fg_conv_t v = {.client = o->hosts[o->n_hosts - 1 - i],
                       .server = c->peer,
                       .sport = 443,
                       .proto = FG_TCP,
                       .dur_ms = fg_range(&r, 200, 900),
                       .req_pkts = 8,
                       .req_bytes = fg_range(&r, 1200, 1500),
                       .resp_pkts = 7,
                       .resp_bytes = fg_range(&r, 4500, 6000)};
        fg_timer(g, &r, &v, period, 0.02, records, &used);
    }
    fg_case_end(g);
    fg_case_param(c, "\"clients\":%u", clients);
    fg_case_param(c, "\"period_s\":%.0f", period);
}

/* An internal poller: `poller` contacts each of 10..max_targets hosts every minute (every
 * `v` a copy of `tmpl` with the target as server); one case, peer the organisation. */
static void fg_poller(fg_gen_t *g, fg_org_t *o, fg_rng_t *r, fg_cases_t *cs, const char *scenario,
                      double share, uint32_t max_targets, const fg_conv_t *tmpl)
{
    uint32_t records = (uint32_t)(g->cap * share), targets;
    double period;
    fg_fit_timer(g, records, (uint32_t)fg_range(r, 10, max_targets), 60, &targets, &period);
    fg_case_t *c = fg_cases_new(cs, g, scenario, "");
    if (!c)
        return;
    c->host = tmpl->client;
    c->peer = FG_V4(10, 0, 0, 0);
    c->peer_plen = 16;
    c->port = tmpl->proto == FG_ICMP ? -1 : tmpl->sport;
    c->proto = tmpl->proto;
    uint64_t used = 0;
    uint32_t first = (uint32_t)fg_range(r, 0, o->n_hosts - 1);
    for (uint32_t i = 0; i < targets; i++) {
        fg_conv_t v = *tmpl;
        v.server = o->hosts[(first + i) % o->n_hosts];
        if (v.proto == FG_TCP) { /* scrape sizes vary with what the host reports */
            v.req_bytes = fg_range(r, 500, 700);
            v.resp_bytes = fg_range(r, 15000, 40000);
            v.dur_ms = fg_range(r, 20, 200);
        }
        fg_timer(g, r, &v, period, 0.001, records, &used);
    }
    fg_case_end(g);
    fg_case_param(c, "\"targets\":%u", targets);
    fg_case_param(c, "\"period_s\":%.0f", period);
}

/* The monitoring server (10.0.0.60) scrapes a metrics agent (TCP 9100) on 10-60 hosts every
 * minute. */
static void fg_monitor(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    fg_rng_t r;
    fg_lstream(&r, seed, FG_L_MONITOR, 0);
    fg_conv_t tmpl = {
        .client = FG_MONITOR, .sport = 9100, .proto = FG_TCP, .req_pkts = 6, .resp_pkts = 12};
    fg_poller(g, o, &r, cs, "benign-monitoring", FG_SHARE_MONITOR, 60, &tmpl);
}

/* The authorised vulnerability scanner (10.0.0.70) sweeps 20-60 hosts on 10-30 common ports
 * once, at night: closed ports answer RST, open ones SYN-ACK. The hunt configuration of the
 * tests allow-lists it. */
static void fg_vuln(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    static const uint16_t ports[30] = {21,   22,   23,   25,   53,   80,   110,  111,  135,  139,
                                       143,  443,  445,  993,  995,  1433, 1521, 1723, 2049, 3306,
                                       3389, 5432, 5900, 5985, 6379, 8000, 8080, 8443, 9000, 9200};
    fg_rng_t r;
    fg_lstream(&r, seed, FG_L_VULN, 0);
    uint32_t records = (uint32_t)(g->cap * FG_SHARE_VULN);
    uint32_t targets = (uint32_t)fg_range(&r, 20, 60), n_ports = (uint32_t)fg_range(&r, 10, 30);
    while (targets * n_ports * 2 > records && n_ports > 5)
        n_ports--;
    while (targets * n_ports * 2 > records && targets > 1)
        targets--;
    fg_case_t *c = fg_cases_new(cs, g, "benign-vuln-scanner", "");
    if (!c)
        return;
    c->host = FG_VULN_SCANNER;
    c->peer = FG_V4(10, 0, 0, 0);
    c->peer_plen = 16;
    c->proto = FG_TCP;
    /* 01:00 UTC of a night inside the span, or the span's start */
    uint64_t night = (g->start_ms / FG_DAY_MS) * FG_DAY_MS + FG_HOUR_MS;
    while (night < g->start_ms)
        night += FG_DAY_MS;
    uint64_t at = night + 30 * 60000 * n_ports < g->end_ms ? night : g->start_ms;
    uint32_t first = (uint32_t)fg_range(&r, 0, o->n_hosts - 1);
    for (uint32_t t = 0; t < targets; t++) {
        uint32_t target = o->hosts[(first + t) % o->n_hosts];
        for (uint32_t p = 0; p < n_ports; p++) {
            int open = ports[p] == 22 || ports[p] == 445 || ports[p] == 135;
            fg_conv_t v = {.t_ms = at,
                           .rtt_ms = 1,
                           .client = FG_VULN_SCANNER,
                           .server = target,
                           .cport = fg_ephemeral(&r),
                           .sport = ports[p],
                           .proto = FG_TCP,
                           .req_flags = open ? FG_SYN | FG_ACK | FG_FIN : FG_SYN,
                           .resp_flags = open ? FG_SYN | FG_ACK | FG_FIN : FG_RST | FG_ACK,
                           .req_pkts = open ? 4 : 1,
                           .req_bytes = open ? 240 : 44,
                           .resp_pkts = open ? 3 : 1,
                           .resp_bytes = open ? 400 : 40};
            fg_conv_emit(g, &v);
            at += fg_range(&r, 20, 400);
        }
    }
    fg_case_end(g);
    fg_case_param(c, "\"targets\":%u", targets);
    fg_case_param(c, "\"ports\":%u", n_ports);
}

/* The resolvers' recursion to the Internet's nameservers on UDP 53 (one case per resolver):
 * most of the organisation's DNS ends there, and it is DNS to external servers. */
static void fg_recursion(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    static const uint32_t resolvers[2] = {FG_RESOLVER_A, FG_RESOLVER_B};
    uint32_t records = (uint32_t)(g->cap * FG_SHARE_RECURSION / 2);
    for (int k = 0; k < 2; k++) {
        fg_rng_t r;
        fg_lstream(&r, seed, FG_L_RECURSION, k);
        fg_case_t *c = fg_cases_new(cs, g, "benign-resolver-recursion", "");
        if (!c)
            return;
        c->host = resolvers[k];
        c->peer = 0;
        c->peer_plen = 0;
        c->port = 53;
        c->proto = FG_UDP;
        uint32_t queries = 0;
        while (c->n_records + 2 <= records && g->n < g->cap) {
            fg_conv_t v = {.t_ms = fg_org_when(&r, g->start_ms, g->end_ms - 2000),
                           .client = resolvers[k],
                           .server = o->ns[fg_zipf(&r, FG_N_NS)],
                           .cport = fg_ephemeral(&r),
                           .sport = 53};
            fg_org_datagram_pair(&v, &r, 60, 120, 100, 800, 150);
            fg_conv_emit(g, &v);
            queries++;
        }
        fg_case_end(g);
        fg_case_param(c, "\"queries\":%u", queries);
        fg_case_param(c, "\"nameservers\":%d", FG_N_NS);
    }
}

/* SaaS on odd ports, each used by 5-15 % of the hosts (as many as the share holds sessions
 * for): MQTT over TLS (TCP 8883) and XMPP (TCP 5222) keep connections of 20 min-4 h with
 * keep-alives; STUN (UDP 3478) short binding exchanges; OpenVPN (UDP 1194) sessions of
 * 20 min-4 h with real volume. */
static void fg_saas(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    static const struct {
        const char *name;
        uint16_t port;
        uint8_t proto;
        int persistent;
    } svc[4] = {{"mqtt", 8883, FG_TCP, 1},
                {"xmpp", 5222, FG_TCP, 1},
                {"stun", 3478, FG_UDP, 0},
                {"openvpn", 1194, FG_UDP, 1}};
    uint32_t records = (uint32_t)(g->cap * FG_SHARE_SAAS / 4);
    for (int k = 0; k < 4; k++) {
        fg_rng_t r;
        fg_lstream(&r, seed, FG_L_SAAS, k);
        fg_case_t *c = fg_cases_new(cs, g, "benign-saas", "");
        if (!c)
            return;
        c->host = FG_V4(10, 0, 0, 0);
        c->host_plen = 16;
        c->peer = fg_org_fresh(o, &r);
        c->port = svc[k].port;
        c->proto = svc[k].proto;
        /* 5-15 % of the hosts (at least 10): common enough that prevalence explains it */
        uint32_t clients = (uint32_t)fg_clamp(o->n_hosts * (0.05 + 0.10 * fg_unit(&r)), 10, 1e6);
        uint32_t first = (uint32_t)fg_range(&r, 0, o->n_hosts - 1);
        uint32_t sessions = 0;
        while (c->n_records + 2 <= records && g->n < g->cap) {
            uint32_t host = o->hosts[(first + sessions % clients) % o->n_hosts];
            fg_conv_t v = {.t_ms = fg_org_when(&r, g->start_ms, g->end_ms - 2000),
                           .client = host,
                           .server = c->peer,
                           .cport = fg_ephemeral(&r),
                           .sport = svc[k].port,
                           .proto = svc[k].proto};
            if (svc[k].persistent) {
                v.dur_ms = (uint64_t)fg_loguniform(&r, 20 * 60000.0, 4 * FG_HOUR_MS);
                uint64_t left = records - c->n_records;
                uint64_t max = (left / 2) * FG_ACTIVE_TIMEOUT_MS;
                if (v.dur_ms > max)
                    v.dur_ms = max > 1000 ? max - 1000 : 0;
                double secs = (double)v.dur_ms / 1000.0, rate = k == 3 ? 20.0 : 1.0 / 60.0;
                v.rtt_ms = (uint32_t)fg_range(&r, 10, 80);
                v.req_pkts = (uint64_t)(secs * rate) + 4;
                v.req_bytes = v.req_pkts * (k == 3 ? fg_range(&r, 200, 1200) : 90);
                v.resp_pkts = (uint64_t)(secs * rate * (k == 3 ? 1.5 : 1.0)) + 4;
                v.resp_bytes = v.resp_pkts * (k == 3 ? fg_range(&r, 300, 1400) : 120);
            } else {
                fg_org_datagram_pair(&v, &r, 48, 120, 60, 140, 80);
            }
            fg_conv_emit(g, &v);
            sessions++;
        }
        fg_case_end(g);
        fg_case_param(c, "\"service\":\"%s\"", svc[k].name);
        fg_case_param(c, "\"clients\":%u", sessions < clients ? sessions : clients);
        fg_case_param(c, "\"sessions\":%u", sessions);
    }
}

/* Ping monitoring: 10.0.0.61 sends one small echo (84 bytes) to each of 10-50 internal hosts
 * every minute. */
static void fg_ping(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    fg_rng_t r;
    fg_lstream(&r, seed, FG_L_PING, 0);
    fg_conv_t tmpl = {.client = FG_PINGER,
                      .sport = FG_ICMP_ECHO,
                      .proto = FG_ICMP,
                      .req_pkts = 1,
                      .req_bytes = 84,
                      .resp_pkts = 1,
                      .resp_bytes = 84};
    fg_poller(g, o, &r, cs, "benign-ping-monitor", FG_SHARE_PING, 50, &tmpl);
}

/* 3-8 one-off short HTTPS visits by random hosts to destinations nobody else visits, at any
 * time of the span (the last day included): rare, new, harmless. One case per visit. */
static void fg_rare(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    fg_rng_t r;
    fg_lstream(&r, seed, FG_L_RARE, 0);
    uint32_t n = (uint32_t)fg_range(&r, 3, 8);
    for (uint32_t i = 0; i < n; i++) {
        fg_case_t *c = fg_cases_new(cs, g, "benign-rare-site", "");
        if (!c)
            return;
        c->host = fg_org_any_host(o, &r);
        c->peer = fg_org_fresh(o, &r);
        c->port = 443;
        c->proto = FG_TCP;
        fg_conv_t v = {.t_ms = fg_org_when(&r, g->start_ms, g->end_ms - 120000),
                       .client = c->host,
                       .server = c->peer,
                       .cport = fg_ephemeral(&r),
                       .sport = 443,
                       .proto = FG_TCP};
        fg_org_session(&v, &r, 5000, 0.8);
        if (v.dur_ms > 60000)
            v.dur_ms = 60000;
        fg_conv_emit(g, &v);
        fg_case_end(g);
        fg_case_param(c, "\"visits\":1");
    }
}

void fg_plant_lookalikes(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs)
{
    fg_ntp(g, o, seed, cs);
    fg_cdn(g, o, seed, cs);
    fg_monitor(g, o, seed, cs);
    fg_vuln(g, o, seed, cs);
    fg_recursion(g, o, seed, cs);
    fg_saas(g, o, seed, cs);
    fg_ping(g, o, seed, cs);
    fg_rare(g, o, seed, cs);
}
