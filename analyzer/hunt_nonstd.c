/* hunt_nonstd.c: established outbound traffic on non-standard ports (T1571), by stacking.
 *
 * MITRE T1571 is a protocol on a port it does not belong to, chosen to slip past filtering.
 * Without payload a flow cannot say which protocol it carries, so this hunt does what
 * hunting-methods.md 5.2 proposes ("stacking", least frequency of occurrence): it looks at
 * established outbound conversations -- an internal originator, an external responder, answered
 * with bytes both ways -- whose responder port is not on the egress allow-list ([ports]
 * egress_tcp / egress_udp, plus the ports the configuration already calls standard), and counts
 * over the window, per (protocol, port), how many internal hosts use it and how many external
 * peers serve it (Judy, through the hj_ wrapper). A port almost nobody uses is the signal.
 *
 * Unit and finding: (internal host, external peer, port, protocol) -- the beacon hunt's
 * fingerprint, so when both fire the report merges them. Risk:
 *   - Medium by default: an unlisted port, used by a few hosts;
 *   - High when the port is rare (<= rare_hosts hosts, or <= rare_share of them) AND it is a
 *     known remote-admin/C2 default ([ports] remote_admin), or the host stayed connected for
 *     long_s in all, or the connections start at regular intervals (periodic-looking);
 *   - Low when answered but tiny (fewer than tiny_bytes both ways).
 * The false positives of hunting-methods 5.2 are handled by what they look like in flows:
 *   - SaaS and VPN on odd ports (MQTT 8883, XMPP 5222, STUN 3478/19302, OpenVPN 1194, ...) are
 *     used by many hosts or served by many peers: a port used by common_hosts hosts is the
 *     organisation's baseline and not reported (Low when it is a remote-admin default), one
 *     served by common_peers peers is at most Low (never High for a port many hosts use), and
 *     the documented list [ports] benign caps a single host's use at benign_max_risk (Medium);
 *   - VoIP RTP and P2P negotiate a new high port per session: a peer seen serving peer_ports
 *     different unlisted ports is capped at Medium;
 *   - one short UDP exchange to an ephemeral high port (a reply to a stray packet, a NAT probe)
 *     is not judged at all; unanswered attempts never are (that is the scan hunt's business);
 *   - a response seen without its request (the service side on a port below ephemeral_min,
 *     the other on an ephemeral one; or a TCP record with flags but no SYN from a port lower
 *     than the other's) is not an outbound connection to the other port;
 *   - the allow-list ([allow] port@nonstd-port = tcp/8883 ESET) suppresses a finding.
 * Memory: one small record per unit on an unlisted port, for the whole run (units are rare by
 * construction; the prevalence counters are two Judy arrays keyed by protocol and port).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"

typedef struct hn_unit {
    flow_addr_t host, peer;
    uint16_t port;
    uint8_t proto;
    hunt_span_t sp;      /* counts, volumes, connected time (hunt_span.c) */
    uint64_t last_start; /* start-interval statistics (Welford) */
    uint64_t n_int;
    double int_mean, int_m2;
} hn_unit_t;

typedef struct hn_key {
    flow_addr_t host, peer;
    uint16_t port;
    uint8_t proto;
} __attribute__((packed)) hn_key_t;

static void hn_key_set(hn_key_t *k, const flow_addr_t *host, const flow_addr_t *peer, uint16_t port,
                       uint8_t proto)
{
    memset(k, 0, sizeof *k); /* packed, but zeroed all the same: it is hashed as bytes */
    k->host = *host;
    k->peer = *peer;
    k->port = port;
    k->proto = proto;
}

/* (proto, port, address): the key that makes a host or peer count once per port */
typedef struct hn_pkey {
    uint16_t port;
    uint8_t proto;
    flow_addr_t a;
} __attribute__((packed)) hn_pkey_t;

typedef struct hn_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    hj_intern_t unit_keys;
    hj_vec_t units;
    hj_intern_t host_port, peer_port; /* seen (proto, port, host) / (proto, port, peer) */
    hj_map_t port_hosts, port_peers;  /* proto<<16|port -> distinct hosts / peers */
    hj_intern_t peer_ids;             /* peer -> id into peer_ports */
    hj_vec_t peer_ports;              /* uint64_t: distinct unlisted ports the peer serves */
    hj_intern_t other_keys;           /* units' keys of conversations not established */
    hj_vec_t other_n;                 /* uint64_t: how many, per other_keys id */
} hn_state_t;

static void *hn_create(const hunt_ctx_t *ctx)
{
    hn_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    hj_vec_init(&s->units, sizeof(hn_unit_t));
    hj_vec_init(&s->peer_ports, sizeof(uint64_t));
    hj_vec_init(&s->other_n, sizeof(uint64_t));
    return s;
}

/* On the egress allow-list: listed there, or standard for the protocol and not a remote-admin
 * default (RDP and VNC are standard inside the network, not on the way out). */
static int hn_allowed_port(const hunt_config_t *cfg, uint8_t proto, uint16_t port)
{
    const uint8_t *egress = proto == 6 ? cfg->egress_tcp : cfg->egress_udp;
    if (hc_port_listed(egress, port))
        return 1;
    return hc_port_standard(cfg, proto, port) && !hc_port_listed(cfg->remote_admin, port);
}

static uint64_t hn_pkey(uint8_t proto, uint16_t port)
{
    return (uint64_t)proto << 16 | port;
}

/* Counts addr once per (proto, port) in `cnt`. Returns 1 when it was new. */
static int hn_count_once(hj_intern_t *seen, hj_map_t *cnt, uint8_t proto, uint16_t port,
                         const flow_addr_t *a)
{
    hn_pkey_t k;
    memset(&k, 0, sizeof k);
    k.port = port;
    k.proto = proto;
    k.a = *a;
    int is_new;
    hj_intern(seen, &k, sizeof k, &is_new);
    if (is_new)
        (*hj_map_ins(cnt, hn_pkey(proto, port)))++;
    return is_new;
}

static void hn_feed(void *st, const hunt_conv_t *c)
{
    hn_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    if ((c->proto != 6 && c->proto != 17) || !c->orig_internal || c->resp_internal)
        return;
    /* established: answered, not refused, bytes both ways */
    int established = c->answered && !c->rejected && c->bytes_out && c->bytes_in && c->pkts_in;
    if (hn_allowed_port(cfg, c->proto, c->resp_port))
        return;
    /* a response seen without its request, or a direction the exporter got wrong: the
     * "originator" sits on a service-range port, the "responder" on an ephemeral one (client
     * stacks pick source ports from 32768 up: Linux, and Windows and macOS from 49152) */
    if (c->orig_port < (uint16_t)cfg->n_eph_min && c->resp_port >= (uint16_t)cfg->n_eph_min)
        return;
    /* No SYN from the "originator" though its flags were exported: a record picked up
     * mid-stream, whose direction is the first packet's. With its port the lower one, that
     * packet was most likely the service's answer: an inbound session (CTU-Normal-40: the
     * host's port 8008 answering an attacker's 22936 was a Medium "egress on 22936/tcp"). */
    if (c->proto == 6 && c->flags_out && !(c->flags_out & 0x02) && c->orig_port < c->resp_port)
        return;
    hn_key_t k;
    hn_key_set(&k, &c->orig, &c->resp, c->resp_port, c->proto);
    int is_new;
    if (!established) {
        /* not judged, but counted: the finding's flows command shows these too, and its
         * counts must say why they are fewer */
        uint64_t fid = hj_intern(&s->other_keys, &k, sizeof k, &is_new);
        (*(uint64_t *)hj_vec_at(&s->other_n, fid))++;
        return;
    }
    hn_count_once(&s->host_port, &s->port_hosts, c->proto, c->resp_port, &c->orig);
    if (hn_count_once(&s->peer_port, &s->port_peers, c->proto, c->resp_port, &c->resp)) {
        uint64_t pid = hj_intern(&s->peer_ids, c->resp.b, 16, &is_new);
        (*(uint64_t *)hj_vec_at(&s->peer_ports, pid))++;
    }
    uint64_t id = hj_intern(&s->unit_keys, &k, sizeof k, &is_new);
    hn_unit_t *u = hj_vec_at(&s->units, id);
    if (is_new) {
        u->host = c->orig;
        u->peer = c->resp;
        u->port = c->resp_port;
        u->proto = c->proto;
    }
    hunt_span_add(&u->sp, c);
    if (u->sp.conns > 1) {
        double x = c->t_start >= u->last_start ? (double)(c->t_start - u->last_start)
                                               : (double)(u->last_start - c->t_start);
        u->n_int++;
        double d = x - u->int_mean;
        u->int_mean += d / (double)u->n_int;
        u->int_m2 += d * (x - u->int_mean);
    }
    u->last_start = c->t_start;
}

static void hn_part_end(void *st)
{
    (void)st; /* units are few (unlisted ports only) and prevalence needs the whole window */
}

/* The modifiers applied to a unit, each with its reason, for the evidence. */
typedef struct hn_mods {
    char json[1536], text[1536];
    size_t jl, tl;
    int n;
} hn_mods_t;

static void hn_mod(hn_mods_t *m, const char *name, double effect, const char *reason)
{
    if (m->jl < sizeof m->json)
        m->jl += (size_t)snprintf(m->json + m->jl, sizeof m->json - m->jl,
                                  "%s{\"name\":\"%s\",\"effect\":%.2f,\"reason\":\"%s\"}",
                                  m->n ? "," : "", name, effect, reason);
    if (m->tl < sizeof m->text)
        m->tl += (size_t)snprintf(m->text + m->tl, sizeof m->text - m->tl, "%s%s %+.2f (%s)",
                                  m->n ? "; " : "", name, effect, reason);
    m->n++;
}

static void hn_finding(hn_state_t *s, const hn_unit_t *u, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    const hunt_ctx_t *ctx = s->ctx;
    uint64_t pop = ctx->prevalence ? ctx->prevalence(ctx->prep_state, NULL, 0) : 0;
    uint64_t *ph = hj_map_get(&s->port_hosts, hn_pkey(u->proto, u->port));
    uint64_t *pp = hj_map_get(&s->port_peers, hn_pkey(u->proto, u->port));
    uint64_t hosts = ph ? *ph : 1, peers = pp ? *pp : 1;
    uint64_t pid = hj_lookup(&s->peer_ids, u->peer.b, 16);
    uint64_t peer_ports = pid == UINT64_MAX ? 1 : ((uint64_t *)s->peer_ports.v)[pid];
    double share = pop ? (double)hosts / (double)pop : 1;
    uint64_t total = u->sp.bytes_out + u->sp.bytes_in;
    int eph_oneoff = u->proto == 17 && u->port >= (uint16_t)cfg->n_eph_min && u->sp.conns == 1 &&
                     u->sp.longest_ms < (uint64_t)(cfg->n_short_s * 1000);
    int rare = hosts <= (uint64_t)cfg->n_rare_hosts || (pop && share <= cfg->n_rare_share);
    int common = hosts >= (uint64_t)cfg->n_common_hosts || peers >= (uint64_t)cfg->n_common_peers;
    int admin = hc_port_listed(cfg->remote_admin, u->port);
    int benign = hc_port_listed(cfg->benign_svc, u->port);
    int spread = peer_ports >= (uint64_t)cfg->n_peer_ports;
    int longl = u->sp.covered_ms >= (uint64_t)(cfg->n_long_s * 1000);
    double cv = u->n_int >= 2 && u->int_mean > 0
                    ? sqrt(u->int_m2 / (double)(u->n_int - 1)) / u->int_mean
                    : -1;
    int periodic = u->sp.conns >= (uint64_t)cfg->n_per_min && cv >= 0 && cv <= cfg->n_per_cv;
    int tiny = total < (uint64_t)cfg->n_tiny;
    int volume = u->sp.bytes_out >= (uint64_t)cfg->n_volume;
    /* the baseline of stacking: what many hosts do is not reported (unless the port is a
     * remote-admin default), nor is a one-off reply on an ephemeral port */
    if (eph_oneoff || (hosts >= (uint64_t)cfg->n_common_hosts && !admin))
        return;

    char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN], pb[8], why[256];
    flow_addr_format(&u->host, host);
    flow_addr_format(&u->peer, peer);
    const char *pn = hr_proto_name(u->proto, pb);
    hn_mods_t m;
    memset(&m, 0, sizeof m);
    double score = 0.5;
    snprintf(why, sizeof why, "%u/%s is not on the egress allow-list", u->port, pn);
    hn_mod(&m, "unlisted_port", 0.5, why);
    if (rare) {
        snprintf(why, sizeof why, "%llu of %llu internal hosts use %u/%s (rare: <= %g or <= %g %%)",
                 (unsigned long long)hosts, (unsigned long long)pop, u->port, pn, cfg->n_rare_hosts,
                 100 * cfg->n_rare_share);
        hn_mod(&m, "rare_port", 0.15, why);
        score += 0.15;
    }
    if (admin) {
        snprintf(why, sizeof why, "%u is a known remote-admin or C2 default", u->port);
        hn_mod(&m, "remote_admin_port", 0.15, why);
        score += 0.15;
    }
    if (longl) {
        snprintf(why, sizeof why, "connected %.1f h in all (>= %g s)",
                 (double)u->sp.covered_ms / 3600000.0, cfg->n_long_s);
        hn_mod(&m, "long_lived", 0.1, why);
        score += 0.1;
    }
    if (periodic) {
        snprintf(why, sizeof why, "%llu starts every ~%.0f s, interval CV %.2f <= %g",
                 (unsigned long long)u->sp.conns, u->int_mean / 1000.0, cv, cfg->n_per_cv);
        hn_mod(&m, "periodic", 0.1, why);
        score += 0.1;
    }
    if (volume) {
        snprintf(why, sizeof why, "%llu bytes out >= %g", (unsigned long long)u->sp.bytes_out,
                 cfg->n_volume);
        hn_mod(&m, "volume", 0.05, why);
        score += 0.05;
    }
    if (tiny) {
        snprintf(why, sizeof why, "answered but only %llu bytes both ways (< %g): risk Low",
                 (unsigned long long)total, cfg->n_tiny);
        hn_mod(&m, "tiny", -0.3, why);
        score -= 0.3;
    }
    if (common) {
        snprintf(why, sizeof why,
                 "%llu internal hosts use it, %llu external peers serve it (>= %g or >= %g): a "
                 "shared service, risk at most Low",
                 (unsigned long long)hosts, (unsigned long long)peers, cfg->n_common_hosts,
                 cfg->n_common_peers);
        hn_mod(&m, "common_port", -0.3, why);
        score -= 0.3;
    }
    if (benign) {
        snprintf(why, sizeof why,
                 "%u is a known SaaS/VPN/VoIP/game service port ([ports] benign): risk at most "
                 "%s",
                 u->port, hr_risk_name(rare ? (int)cfg->n_benign_risk : HUNT_RISK_LOW));
        hn_mod(&m, "benign_service_port", -0.2, why);
        score -= 0.2;
    }
    if (spread) {
        snprintf(why, sizeof why,
                 "the peer serves %llu unlisted ports (>= %g): negotiated media or P2P ports, "
                 "risk at most Medium",
                 (unsigned long long)peer_ports, cfg->n_peer_ports);
        hn_mod(&m, "peer_port_spread", -0.1, why);
        score -= 0.1;
    }

    int risk = HUNT_RISK_MEDIUM;
    if (tiny)
        risk = HUNT_RISK_LOW;
    else if (rare && (admin || longl || periodic))
        risk = HUNT_RISK_HIGH;
    if (spread && risk > HUNT_RISK_MEDIUM)
        risk = HUNT_RISK_MEDIUM;
    if (benign) {
        int cap = rare ? (int)cfg->n_benign_risk : HUNT_RISK_LOW;
        if (risk > cap)
            risk = cap;
    }
    if (common)
        risk = HUNT_RISK_LOW;

    hunt_finding_t *f = hunt_finding_new(out, "nonstd-port");
    hunt_finding_tech(f, "T1571");
    f->host = u->host;
    snprintf(f->peer, sizeof f->peer, "%s", peer);
    f->port = u->port;
    f->proto = u->proto;
    f->first_seen = u->sp.first;
    f->last_seen = u->sp.last;
    f->risk = risk;
    f->score = score;
    int strong = rare + admin + longl + periodic;
    int conf = tiny || common                 ? HUNT_CONF_LOW
               : strong >= 2 && u->sp.conns >= 3 ? HUNT_CONF_HIGH
                                              : HUNT_CONF_MEDIUM;
    if (u->sp.sampling >= 100)
        conf = HUNT_CONF_LOW;
    else if (u->sp.sampling > 1 && conf > HUNT_CONF_LOW)
        conf--;
    f->confidence = conf;
    double hours = (double)(u->sp.last - u->sp.first) / 3600000.0;
    snprintf(f->summary, sizeof f->summary,
             "%s talked to %s on %u/%s, a port not on the egress allow-list that %llu internal "
             "%s: %llu connection%s, %llu B out, %llu B in over %.1f h",
             host, peer, u->port, pn, (unsigned long long)hosts,
             hosts == 1 ? "host uses" : "hosts use", (unsigned long long)u->sp.conns,
             u->sp.conns == 1 ? "" : "s", (unsigned long long)u->sp.bytes_out,
             (unsigned long long)u->sp.bytes_in, hours);
    snprintf(f->filter, sizeof f->filter, "host %s and host %s and port %u and proto %s", host,
             peer, u->port, pn);
    if (risk >= HUNT_RISK_HIGH)
        snprintf(f->action, sizeof f->action,
                 "Contain: block %s port %u/%s at the egress firewall and isolate %s; find the "
                 "process holding the connection (ss -tnp / netstat -anob, EDR), collect its "
                 "binary and memory, and look for the same port elsewhere.",
                 peer, u->port, pn, host);
    else if (risk == HUNT_RISK_MEDIUM)
        snprintf(f->action, sizeof f->action,
                 "Investigate: identify the application on %s that uses %u/%s to %s; if it is "
                 "sanctioned, add the port to [ports] egress_%s or allow-list it "
                 "(port@nonstd-port = %s/%u REASON), otherwise block it.",
                 host, u->port, pn, peer, pn, pn, u->port);
    else
        snprintf(f->action, sizeof f->action,
                 "Monitor: %u/%s to %s looks like a shared or tiny service exchange; allow-list "
                 "it if sanctioned, escalate if volume or duration grows.",
                 u->port, pn, peer);
    hev_t *e = &f->ev;
    char j[256], t[256];
    snprintf(j, sizeof j,
             "{\"internal_hosts_using_port\":%llu,\"external_peers_serving_port\":%llu,"
             "\"internal_hosts\":%llu,\"share\":%.4f,\"peer_unlisted_ports\":%llu}",
             (unsigned long long)hosts, (unsigned long long)peers, (unsigned long long)pop, share,
             (unsigned long long)peer_ports);
    snprintf(t, sizeof t,
             "%llu of %llu internal hosts use %u/%s, served by %llu external peers; this peer "
             "serves %llu unlisted ports",
             (unsigned long long)hosts, (unsigned long long)pop, u->port, pn,
             (unsigned long long)peers, (unsigned long long)peer_ports);
    hev_raw(e, "port_prevalence", j, t);
    hev_int(e, "connections", (int64_t)u->sp.conns);
    hn_key_t k;
    hn_key_set(&k, &u->host, &u->peer, u->port, u->proto);
    uint64_t oid = hj_lookup(&s->other_keys, &k, sizeof k);
    uint64_t others = oid == UINT64_MAX ? 0 : ((uint64_t *)s->other_n.v)[oid];
    if (others) {
        snprintf(t, sizeof t,
                 "%llu conversation%s unanswered, refused or one-way, in the flows command's "
                 "output but not in these counts",
                 (unsigned long long)others, others == 1 ? "" : "s");
        snprintf(j, sizeof j, "%llu", (unsigned long long)others);
        hev_raw(e, "not_established", j, t);
    }
    hev_int(e, "bytes_out", (int64_t)u->sp.bytes_out);
    hev_int(e, "bytes_in", (int64_t)u->sp.bytes_in);
    hev_int(e, "packets_out", (int64_t)u->sp.pkts_out);
    hev_int(e, "packets_in", (int64_t)u->sp.pkts_in);
    hev_num(e, "connected_s", (double)u->sp.covered_ms / 1000.0, 1);
    hev_num(e, "longest_connection_s", (double)u->sp.longest_ms / 1000.0, 1);
    hev_num(e, "span_h", hours, 2);
    if (cv >= 0) {
        hev_num(e, "mean_interval_s", u->int_mean / 1000.0, 1);
        hev_num(e, "interval_cv", cv, 3);
    }
    char *mj = hj_xmalloc(m.jl + 3);
    snprintf(mj, m.jl + 3, "[%s]", m.json);
    hev_raw(e, "modifiers", mj, m.text);
    free(mj);
    snprintf(t, sizeof t,
             "High: rare (<= %g hosts or <= %g %%) and remote-admin port, or >= %g s connected, "
             "or interval CV <= %g; Low: < %g bytes, or >= %g hosts / %g peers",
             cfg->n_rare_hosts, 100 * cfg->n_rare_share, cfg->n_long_s, cfg->n_per_cv, cfg->n_tiny,
             cfg->n_common_hosts, cfg->n_common_peers);
    hev_str(e, "thresholds", t);
    hev_int(e, "sampling", u->sp.sampling ? u->sp.sampling : 1);
    hunt_finding_allow(cfg, f, 1);
}

static void hn_finish(void *st, hunt_findings_t *out)
{
    hn_state_t *s = st;
    for (size_t i = 0; i < s->units.n; i++)
        hn_finding(s, (const hn_unit_t *)s->units.v + i, out);
}

static void hn_destroy(void *st)
{
    hn_state_t *s = st;
    if (!s)
        return;
    hj_intern_free(&s->unit_keys);
    hj_intern_free(&s->host_port);
    hj_intern_free(&s->peer_port);
    hj_intern_free(&s->peer_ids);
    hj_intern_free(&s->other_keys);
    hj_map_free(&s->port_hosts);
    hj_map_free(&s->port_peers);
    hj_vec_free(&s->units);
    hj_vec_free(&s->peer_ports);
    hj_vec_free(&s->other_n);
    free(s);
}

const hunt_ops_t hn_ops = {"nonstd-port", hn_create,  hn_feed, hn_part_end,
                           hn_finish,     hn_destroy, 2};
