/* hunt_intel.c: traffic with addresses on threat-intel feeds (--intel; intel.c loads them).
 *
 * Both ends of every conversation between an internal host and an external peer are matched,
 * longest prefix first, against the feeds; an indicator with a port matches only that port on
 * the indicator's side, and only while it is valid (valid_from/valid_until). What a match
 * means depends on direction and answer (hunting-methods.md section 6.2):
 *   - internal -> IOC, answered: High: the host talked to a known-bad server and got replies.
 *     Critical when >= critical_bytes moved both ways (RITA adds to the impact at 25 MB), or
 *     >= critical_connections answered connections spread over >= critical_hours (a host that
 *     keeps coming back is checking in, not mis-clicking). The evidence says which.
 *   - internal -> IOC, never answered: Medium: blocked, sinkholed or down, but something on
 *     the host still tries.
 *   - IOC -> internal, answered: High: a service of ours talked to a known-bad address.
 *   - IOC -> internal, unanswered or rejected: Low: scanning noise the perimeter stopped; all
 *     ports of one (IOC, host) pair are one finding.
 * Technique: T1071 (application layer protocol) for TCP and UDP; T1095 for ICMP and other IP
 * protocols; T1571 added when the service port is not standard for the protocol. Conversations
 * between two internal or two external addresses are not judged: there is no internal host to
 * name, or no outside to reach.
 */
#include <stdlib.h>
#include <string.h>

#include "hunt.h"
#include "intel.h"
#include "timearg.h"

typedef struct hi_unit {
    flow_addr_t host, peer;
    const ti_ioc_t *ioc; /* the best-confidence indicator matched */
    int outbound;        /* the internal host originated */
    int port;            /* service port, -1 for none */
    uint8_t proto;
    uint64_t conns, answered, rejected;
    uint64_t sent_bytes, sent_pkts, recv_bytes, recv_pkts; /* from the internal host's side */
    uint64_t first, last;                                  /* any matched conversation */
    uint64_t ans_first, ans_last;                          /* answered ones */
    uint32_t sampling;
    uint32_t n_ports; /* distinct service ports seen */
} hi_unit_t;

typedef struct hi_state {
    const hunt_ctx_t *ctx;
    const ti_db_t *db;
    hj_intern_t keys;      /* unit key -> unit id */
    hj_intern_t port_keys; /* (unit id, service port): distinct ports per unit */
    hj_vec_t units;
} hi_state_t;

static void *hi_create(const hunt_ctx_t *ctx)
{
    hi_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->db = ctx->intel;
    hj_vec_init(&s->units, sizeof(hi_unit_t));
    return s;
}

static void hi_feed(void *st, const hunt_conv_t *c)
{
    hi_state_t *s = st;
    if (!s->db || c->orig_internal == c->resp_internal)
        return;
    int outbound = c->orig_internal;
    const flow_addr_t *host = outbound ? &c->orig : &c->resp;
    const flow_addr_t *peer = outbound ? &c->resp : &c->orig;
    int ports = hunt_has_ports(c->proto);
    /* an indicator's port is the port on its own side of the conversation */
    int ioc_port = !ports ? -1 : outbound ? c->resp_port : c->orig_port;
    /* min_confidence passes over weak indicators here, so a broader confident one still
     * matches an address a weak one lists more precisely */
    const ti_ioc_t *ioc =
        ti_match(s->db, peer, ioc_port, c->t_start, c->t_end, s->ctx->cfg->i_min_conf);
    if (!ioc)
        return;
    int answered = c->answered && !c->rejected;
    int port = ports ? c->resp_port : -1;
    if (!outbound && !answered)
        port = -1;   /* scanning noise: one finding per pair, whatever the ports */
    uint8_t key[38]; /* host, peer, port (big-endian, 0xffff for none), direction, proto */
    memcpy(key, host->b, 16);
    memcpy(key + 16, peer->b, 16);
    key[32] = (uint8_t)((uint16_t)port >> 8);
    key[33] = (uint8_t)port;
    key[34] = port < 0;
    key[35] = (uint8_t)outbound;
    key[36] = c->proto;
    key[37] = 0;
    int is_new;
    uint64_t id = hj_intern(&s->keys, key, sizeof key, &is_new);
    hi_unit_t *u = hj_vec_at(&s->units, id);
    if (is_new) {
        u->host = *host;
        u->peer = *peer;
        u->outbound = outbound;
        u->port = port;
        u->proto = c->proto;
        u->first = c->t_start;
    }
    if (!u->ioc || ioc->confidence > u->ioc->confidence)
        u->ioc = ioc;
    u->conns++;
    u->rejected += c->rejected;
    if (answered) {
        if (!u->answered++ || c->t_start < u->ans_first)
            u->ans_first = c->t_start;
        if (c->t_end > u->ans_last)
            u->ans_last = c->t_end;
    }
    u->sent_bytes += outbound ? c->bytes_out : c->bytes_in;
    u->sent_pkts += outbound ? c->pkts_out : c->pkts_in;
    u->recv_bytes += outbound ? c->bytes_in : c->bytes_out;
    u->recv_pkts += outbound ? c->pkts_in : c->pkts_out;
    if (c->t_start < u->first)
        u->first = c->t_start;
    if (c->t_end > u->last)
        u->last = c->t_end;
    if (c->sampling > u->sampling)
        u->sampling = c->sampling;
    if (ports) {
        uint8_t pk[10];
        memcpy(pk, &id, 8);
        pk[8] = (uint8_t)(c->resp_port >> 8);
        pk[9] = (uint8_t)c->resp_port;
        hj_intern(&s->port_keys, pk, sizeof pk, &is_new);
        u->n_ports += (uint32_t)is_new;
    }
}

static void hi_part_end(void *st)
{
    (void)st; /* units exist only for matches, which are few: they live for the whole run */
}

/* Risk of a unit, and why it is Critical ("" otherwise). */
static int hi_risk(const hunt_config_t *cfg, const hi_unit_t *u, char *why, size_t cap)
{
    why[0] = '\0';
    if (!u->answered)
        return u->outbound ? HUNT_RISK_MEDIUM : HUNT_RISK_LOW;
    if (!u->outbound)
        return HUNT_RISK_HIGH;
    uint64_t bytes = u->sent_bytes + u->recv_bytes;
    double hours = (double)(u->ans_last - u->ans_first) / 3600000.0;
    if ((double)bytes >= cfg->i_crit_bytes) {
        snprintf(why, cap, "volume: %llu bytes both ways >= %.0f", (unsigned long long)bytes,
                 cfg->i_crit_bytes);
        return HUNT_RISK_CRITICAL;
    }
    if ((double)u->answered >= cfg->i_crit_conns && hours >= cfg->i_crit_hours) {
        snprintf(why, cap,
                 "persistence: %llu answered connections over %.1f hours (>= %.0f over "
                 ">= %.1f h)",
                 (unsigned long long)u->answered, hours, cfg->i_crit_conns, cfg->i_crit_hours);
        return HUNT_RISK_CRITICAL;
    }
    return HUNT_RISK_HIGH;
}

static void hi_evidence(hunt_finding_t *f, const hi_unit_t *u, const char *crit)
{
    const ti_ioc_t *i = u->ioc;
    hev_t *e = &f->ev;
    char a[32], b[32];
    hev_str(e, "feed", i->feed);
    hev_str(e, "indicator", i->text);
    hev_str(e, "indicator_type", i->type);
    if (i->confidence >= 0)
        hev_int(e, "indicator_confidence", i->confidence);
    else
        hev_raw(e, "indicator_confidence", "null", "not stated by the feed");
    hev_str(e, "description", i->desc);
    if (i->port >= 0)
        hev_int(e, "indicator_port", i->port);
    if (i->valid_from || i->valid_until) {
        if (i->valid_from)
            timearg_format_iso(i->valid_from, a);
        if (i->valid_until)
            timearg_format_iso(i->valid_until, b);
        char t[96];
        snprintf(t, sizeof t, "%s .. %s", i->valid_from ? a : "open", i->valid_until ? b : "open");
        hev_str(e, "indicator_valid", t);
    }
    hev_str(e, "direction",
            u->outbound ? "internal host to indicator" : "indicator to internal host");
    timearg_format_iso(u->first, a);
    timearg_format_iso(u->last, b);
    hev_str(e, "first_match", a);
    hev_str(e, "last_match", b);
    hev_int(e, "connections", (int64_t)u->conns);
    hev_int(e, "answered", (int64_t)u->answered);
    hev_int(e, "rejected", (int64_t)u->rejected);
    hev_int(e, "bytes_sent", (int64_t)u->sent_bytes);
    hev_int(e, "bytes_received", (int64_t)u->recv_bytes);
    hev_int(e, "packets_sent", (int64_t)u->sent_pkts);
    hev_int(e, "packets_received", (int64_t)u->recv_pkts);
    if (u->port < 0 && hunt_has_ports(u->proto))
        hev_int(e, "service_ports", u->n_ports);
    if (*crit)
        hev_str(e, "critical_because", crit);
    hev_int(e, "sampling", u->sampling ? u->sampling : 1);
}

static void hi_text(hunt_finding_t *f, const hi_unit_t *u, const char *host, const char *peer,
                    const char *svc)
{
    const ti_ioc_t *i = u->ioc;
    char addr[FLOW_ADDR_STRLEN], net[FLOW_ADDR_STRLEN + 8];
    int v4 = flow_addr_is_v4(&i->net.addr);
    flow_addr_format(&i->net.addr, addr);
    snprintf(net, sizeof net, "%s/%d", addr, i->net.plen - (v4 ? 96 : 0));
    unsigned long long bytes = (unsigned long long)(u->sent_bytes + u->recv_bytes);
    /* nothing answered: attempts, not connections (a blocked host, a probe that bounced) */
    const char *verb = u->answered ? "connected to" : u->outbound ? "tried to reach" : "probed";
    const char *noun = u->answered ? "connection" : "attempt";
    if (u->outbound)
        snprintf(f->summary, sizeof f->summary,
                 "%s %s %s%s, listed by %s as %s: %llu %s%s, %llu answered, %llu bytes", host, verb,
                 peer, svc, i->feed, i->text, (unsigned long long)u->conns, noun,
                 u->conns == 1 ? "" : "s", (unsigned long long)u->answered, bytes);
    else
        snprintf(f->summary, sizeof f->summary,
                 "%s, listed by %s as %s, %s %s%s: %llu %s%s, %llu answered", peer, i->feed,
                 i->text, verb, host, svc, (unsigned long long)u->conns, noun,
                 u->conns == 1 ? "" : "s", (unsigned long long)u->answered);
    if (u->outbound && u->answered)
        snprintf(f->action, sizeof f->action,
                 "Contain: isolate %s and block %s at the egress; find the process that talks "
                 "to it (EDR, proxy logs), review what the %llu bytes carried, and check every "
                 "other host for traffic to %s (flowhunt cat filter 'net %s').",
                 host, peer, bytes, i->text, net);
    else if (u->outbound)
        snprintf(f->action, sizeof f->action,
                 "Investigate: something on %s keeps trying %s (listed by %s) and gets no "
                 "answer (blocked, sinkholed or down); find the process making the attempts and "
                 "keep %s blocked at the egress.",
                 host, peer, i->feed, peer);
    else if (u->answered)
        snprintf(f->action, sizeof f->action,
                 "Investigate: %s answered %s (listed by %s); check the exposed service%s on "
                 "%s for compromise (logins, new processes) and block %s inbound.",
                 host, peer, i->feed, svc, host, peer);
    else
        snprintf(f->action, sizeof f->action,
                 "Review: %s (listed by %s) probed %s and got no answer; confirm the perimeter "
                 "keeps blocking it. No action on the host is needed.",
                 peer, i->feed, host);
}

static void hi_finish(void *st, hunt_findings_t *out)
{
    hi_state_t *s = st;
    const hunt_config_t *cfg = s->ctx->cfg;
    for (size_t k = 0; k < s->units.n; k++) {
        const hi_unit_t *u = (const hi_unit_t *)s->units.v + k;
        const ti_ioc_t *i = u->ioc;
        char crit[160];
        int risk = hi_risk(cfg, u, crit, sizeof crit);
        hunt_finding_t *f = hunt_finding_new(out, "intel");
        f->peer_originated = (uint8_t)!u->outbound; /* an indicator that connected in */
        hunt_finding_tech(f, hunt_has_ports(u->proto) ? "T1071" : "T1095");
        if (u->port >= 0 && !hc_port_standard(cfg, u->proto, (uint16_t)u->port))
            hunt_finding_tech(f, "T1571");
        char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN], svc[24] = "";
        flow_addr_format(&u->host, host);
        flow_addr_format(&u->peer, peer);
        if (u->port >= 0)
            snprintf(svc, sizeof svc, " port %d", u->port);
        f->host = u->host;
        snprintf(f->peer, sizeof f->peer, "%s", peer);
        f->port = u->port;
        f->proto = u->proto;
        f->first_seen = u->first;
        f->last_seen = u->last;
        f->risk = risk;
        /* the feed's confidence in the indicator; unstated counts as Medium */
        f->confidence = i->confidence >= 75   ? HUNT_CONF_HIGH
                        : i->confidence >= 40 ? HUNT_CONF_MEDIUM
                        : i->confidence >= 0  ? HUNT_CONF_LOW
                                              : HUNT_CONF_MEDIUM;
        f->score = (double)u->answered / 1e3 + (double)(u->sent_bytes + u->recv_bytes) / 1e10 +
                   (i->confidence > 0 ? i->confidence : 50) / 1e4;
        hi_text(f, u, host, peer, svc);
        /* a unit is one protocol: the command shows only its flows */
        char pb[8];
        const char *pn = hr_proto_name(u->proto, pb);
        if (u->port >= 0)
            snprintf(f->filter, sizeof f->filter, "host %s and host %s and port %d and proto %s",
                     host, peer, u->port, pn);
        else
            snprintf(f->filter, sizeof f->filter, "host %s and host %s and proto %s", host, peer,
                     pn);
        hi_evidence(f, u, crit);
        hunt_finding_allow(cfg, f, 1);
    }
}

static void hi_destroy(void *st)
{
    hi_state_t *s = st;
    if (!s)
        return;
    hj_vec_free(&s->units);
    hj_intern_free(&s->keys);
    hj_intern_free(&s->port_keys);
    free(s);
}

const hunt_ops_t hi_ops = {"intel", hi_create, hi_feed, hi_part_end, hi_finish, hi_destroy, 3};
