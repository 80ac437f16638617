/* hunt_long.c: long connections (T1071; T1571 on a non-standard port), RITA's second module.
 *
 * An implant that keeps its channel open does not beacon: a reverse shell, an SSH or HTTPS
 * tunnel (chisel, ngrok, `ssh -R`), a C2 framework at sleep 0 holds one connection for hours,
 * and the beacon hunt sees one conversation, not a timeline. RITA v5 scores the total time a
 * pair was connected (hunting-methods.md 1.3: 1 h / 4 h / 8 h / 12 h); its users asked for the
 * cumulative figure because many 30-minute sessions add up (rita-legacy PR #629). Flows cut a
 * long connection into active-timeout records; preparation stitches them back, so here a
 * conversation is the connection, and its length is real (1.3: "only valid after stitching").
 *
 * Unit: (internal host, external peer, port, protocol) over established outbound TCP and UDP
 * conversations (answered, not refused, bytes both ways) of at least `min_conversation_s`:
 * shorter ones are a timeline, the beacon hunt's, and skipping them keeps this hunt's state to
 * the few conversations that last. DNS is the dns-exfil hunt's. Measured: the connected time
 * (the union of the conversations, so parallel connections count once), the longest single
 * conversation and how many records it was stitched from, the active hours, bytes each way.
 *
 * What is long is not suspicious by itself: push services, messaging, VPNs, collaboration
 * WebSockets hold connections all day on every machine. Those are the organisation's services,
 * and prevalence says so: a destination /24 (IPv6 /64, as the other hunts aggregate cloud
 * ranges) that more than `max_hosts` internal hosts (or `max_share` of them) talk to is not
 * reported. What is left is a channel almost nobody else has. Risk: Low from `min_s` (1 h)
 * connected; Medium from `medium_s` (4 h) when one connection of them was itself held `min_s`
 * (a sync client's many short sessions add up to hours too: the Stratosphere CTU normal day's
 * Dropbox client, 46 connections of at most 15 minutes over 11.4 h, stays Low) and the port is
 * not a known service's ([ports] benign: VPN, MQTT, XMPP are held open by design: Low). Never
 * High alone: in flows a 12-hour HTTPS session to a site nobody else visits is what a user's
 * forgotten tab and an implant at sleep 0 both look like (flowgen's everyday traffic has such
 * sessions); a beacon, an IOC, an odd port or a first-seen destination on the same fingerprint
 * says more, and the report merges them (a Medium long connection to a destination first
 * contacted in the window is High there). Confidence: High when one connection lasted
 * `medium_s` unsampled (the length is no artefact of adding sessions up), Medium otherwise,
 * Low when fewer than `prevalence_min_hosts` internal hosts were seen (then "nobody else uses
 * it" means nothing) or under 1:100 sampling; lowered a step by lighter sampling (a record
 * missed shortens what is seen). A known VPN endpoint ([general] vpn_peers) or an allow-list
 * entry reports the finding suppressed.
 *
 * The finding's picture (HTML report): connected minutes per hour, from the stretches of
 * connected time kept per unit.
 *
 * Memory: one record per unit with a conversation of min_conversation_s, and one per stretch
 * of connected time, for the whole run (a unit lies in one pass's partition of address pairs,
 * so its conversations arrive in time order and the union grows at its end).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"

typedef struct hl_unit {
    flow_addr_t host, peer;
    hunt_span_t sp;
    uint64_t ivl_first, ivl_last; /* the unit's connected intervals in ivls: index + 1, 0 none */
    uint16_t port;
    uint8_t proto;
} hl_unit_t;

/* A stretch of connected time of one unit (the union's parts), for the finding's picture. */
typedef struct hl_ivl {
    uint64_t a, b; /* ms */
    uint64_t next; /* the unit's next: index + 1, 0 none */
} hl_ivl_t;

#define HL_HOUR_MS 3600000ull
#define HL_PIC_BARS 168 /* a week of hours; longer spans take bars of several hours */

typedef struct hl_key {
    flow_addr_t host, peer;
    uint16_t port;
    uint8_t proto;
} __attribute__((packed)) hl_key_t;

typedef struct hl_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    hj_intern_t unit_keys;
    hj_vec_t units;
    hj_vec_t ivls; /* hl_ivl_t, chained per unit */
} hl_state_t;

static void *hl_create(const hunt_ctx_t *ctx)
{
    hl_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    hj_vec_init(&s->units, sizeof(hl_unit_t));
    hj_vec_init(&s->ivls, sizeof(hl_ivl_t));
    return s;
}

/* [a, b] into unit id's intervals: the last one grows when they meet (conversations come in
 * time order per unit), else a new one follows it. */
static void hl_ivl_add(hl_state_t *s, uint64_t id, uint64_t a, uint64_t b)
{
    hl_unit_t *u = (hl_unit_t *)s->units.v + id;
    if (u->ivl_last) {
        hl_ivl_t *last = (hl_ivl_t *)s->ivls.v + u->ivl_last - 1;
        if (a <= last->b) {
            if (b > last->b)
                last->b = b;
            return;
        }
    }
    uint64_t k = s->ivls.n;
    hl_ivl_t *iv = hj_vec_at(&s->ivls, k); /* may move ivls: the last one is found again */
    iv->a = a;
    iv->b = b;
    if (u->ivl_last)
        ((hl_ivl_t *)s->ivls.v + u->ivl_last - 1)->next = k + 1;
    else
        u->ivl_first = k + 1;
    u->ivl_last = k + 1;
}

/* The finding's picture: connected minutes per hour (per several hours past a week) from the
 * first hour of the unit to its last. */
static void hl_picture(const hl_state_t *s, const hl_unit_t *u, hunt_finding_t *f)
{
    uint64_t t0 = u->sp.first / HL_HOUR_MS * HL_HOUR_MS;
    uint64_t hours = (u->sp.last - t0) / HL_HOUR_MS + 1;
    uint64_t per = (hours + HL_PIC_BARS - 1) / HL_PIC_BARS, w = per * HL_HOUR_MS;
    size_t nb = (size_t)((hours + per - 1) / per);
    double x[HL_PIC_BARS], y[HL_PIC_BARS] = {0};
    for (size_t i = 0; i < nb; i++)
        x[i] = (double)(t0 + i * w);
    for (uint64_t k = u->ivl_first; k; k = ((const hl_ivl_t *)s->ivls.v)[k - 1].next) {
        const hl_ivl_t *iv = (const hl_ivl_t *)s->ivls.v + k - 1;
        for (uint64_t t = iv->a; t < iv->b;) {
            size_t i = (size_t)((t - t0) / w);
            uint64_t end = t0 + (i + 1) * w;
            if (end > iv->b)
                end = iv->b;
            if (i < nb)
                y[i] += (double)(end - t) / 60000.0;
            t = end;
        }
    }
    char title[64];
    if (per == 1)
        snprintf(title, sizeof title, "Connected minutes per hour");
    else
        snprintf(title, sizeof title, "Connected minutes per %llu hours", (unsigned long long)per);
    hunt_finding_series(f, HUNT_SERIES_BARS, title, "ms since epoch", "minutes connected", x, y,
                        nb);
    /* one bar has no neighbour to take its width from: its axis read 12:00:00 to 12:00:00 */
    if (f->n_series > 0)
        f->series[f->n_series - 1].x_end = (double)(t0 + nb * w);
}

static void hl_feed(void *st, const hunt_conv_t *c)
{
    hl_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    if ((c->proto != 6 && c->proto != 17) || !c->orig_internal || c->resp_internal)
        return;
    if (!c->answered || c->rejected || !c->bytes_out || !c->bytes_in || !c->pkts_in)
        return;
    uint64_t dur = c->t_end > c->t_start ? c->t_end - c->t_start : 0;
    if ((double)dur < cfg->l_min_conv_s * 1000.0 || hp_conv_is_dns(c))
        return;
    /* a response seen without its request: the "originator" on a service port, the
     * "responder" on an ephemeral one (as the nonstd-port hunt judges it) */
    if (c->orig_port < (uint16_t)cfg->n_eph_min && c->resp_port >= (uint16_t)cfg->n_eph_min)
        return;
    hl_key_t k;
    memset(&k, 0, sizeof k);
    k.host = c->orig;
    k.peer = c->resp;
    k.port = c->resp_port;
    k.proto = c->proto;
    int is_new;
    uint64_t id = hj_intern(&s->unit_keys, &k, sizeof k, &is_new);
    hl_unit_t *u = hj_vec_at(&s->units, id);
    if (is_new) {
        u->host = c->orig;
        u->peer = c->resp;
        u->port = c->resp_port;
        u->proto = c->proto;
    }
    hunt_span_add(&u->sp, c);
    hl_ivl_add(s, id, c->t_start, c->t_end);
}

static void hl_part_end(void *st)
{
    (void)st; /* prevalence is complete only at finish */
}

static void hl_finding(hl_state_t *s, const hl_unit_t *u, uint64_t pop, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    double conn_s = (double)u->sp.covered_ms / 1000.0;
    if (conn_s < cfg->l_min_s)
        return;
    /* who else talks to the destination: its /24 (/64), as cloud services rotate addresses */
    uint64_t net_hosts = s->ctx->prevalence(s->ctx->prep_state, &u->peer, HP_PREV_NET);
    uint64_t addr_hosts = s->ctx->prevalence(s->ctx->prep_state, &u->peer, HP_PREV_ADDR);
    double limit = fmax(cfg->l_max_hosts, cfg->l_max_share * (double)pop);
    if ((double)net_hosts > limit)
        return; /* the organisation's service */
    int benign = hc_port_listed(cfg->benign_svc, u->port);
    int alone = net_hosts <= 1;
    int held = (double)u->sp.longest_ms >= cfg->l_min_s * 1000.0;
    int risk = conn_s >= cfg->l_medium_s && held && !benign ? HUNT_RISK_MEDIUM : HUNT_RISK_LOW;
    int standard = hc_port_standard(cfg, u->proto, u->port);
    hunt_finding_t *f = hunt_finding_new(out, "long-conn");
    hunt_finding_tech(f, standard ? "T1071" : "T1571");
    f->host = u->host;
    char hs[FLOW_ADDR_STRLEN], ps[FLOW_ADDR_STRLEN], pb[8];
    flow_addr_format(&u->host, hs);
    flow_addr_format(&u->peer, ps);
    snprintf(f->peer, sizeof f->peer, "%s", ps);
    f->port = u->port;
    f->proto = u->proto;
    f->first_seen = u->sp.first;
    f->last_seen = u->sp.last;
    f->risk = risk;
    f->score = fmin(conn_s / 86400.0, 1.0) + (alone ? 0.1 : 0);
    int conf =
        (double)u->sp.longest_ms >= cfg->l_medium_s * 1000.0 ? HUNT_CONF_HIGH : HUNT_CONF_MEDIUM;
    if (u->sp.sampling >= 100 || (double)pop < cfg->l_prev_min_hosts)
        conf = HUNT_CONF_LOW;
    else if (u->sp.sampling > 1 && conf > HUNT_CONF_LOW)
        conf--;
    f->confidence = conf;
    const char *proto = hr_proto_name(u->proto, pb);
    snprintf(f->summary, sizeof f->summary,
             "%s held %s/%u to %s for %.1f h over %llu connection%s (longest %.1f h), a "
             "destination %s: a long-lived channel",
             hs, proto, u->port, ps, conn_s / 3600.0, (unsigned long long)u->sp.conns,
             u->sp.conns == 1 ? "" : "s", (double)u->sp.longest_ms / 3.6e6,
             alone ? "no other internal host uses" : "almost no other internal host uses");
    snprintf(f->filter, sizeof f->filter, "host %s and host %s and port %u and proto %s", hs, ps,
             u->port, proto);
    snprintf(f->action, sizeof f->action,
             "Investigate: find the process on %s that holds %s/%u to %s (ss -tnp, netstat -b, "
             "the EDR) and who runs %s (whois, passive DNS); a personal VPN or remote-support "
             "tool is a policy matter, an unknown one a possible C2 channel: then isolate the "
             "host, block the peer at the egress and look for persistence.",
             hs, proto, u->port, ps, ps);
    hev_t *e = &f->ev;
    hev_num(e, "connected_hours", conn_s / 3600.0, 2);
    hev_int(e, "connections", (int64_t)u->sp.conns);
    hev_num(e, "longest_connection_hours", (double)u->sp.longest_ms / 3.6e6, 2);
    hev_int(e, "longest_connection_records", (int64_t)u->sp.longest_records);
    hev_int(e, "active_hours", (int64_t)u->sp.hours);
    hev_int(e, "bytes_out", (int64_t)u->sp.bytes_out);
    hev_int(e, "bytes_in", (int64_t)u->sp.bytes_in);
    hev_int(e, "packets_out", (int64_t)u->sp.pkts_out);
    hev_int(e, "packets_in", (int64_t)u->sp.pkts_in);
    hev_num(e, "bytes_per_hour_out", (double)u->sp.bytes_out / fmax(conn_s / 3600.0, 1e-9), 0);
    hev_num(e, "bytes_per_hour_in", (double)u->sp.bytes_in / fmax(conn_s / 3600.0, 1e-9), 0);
    hev_int(e, "internal_hosts_to_destination_net", (int64_t)net_hosts);
    hev_int(e, "internal_hosts_to_destination", (int64_t)addr_hosts);
    hev_int(e, "internal_hosts", (int64_t)pop);
    hev_bool(e, "standard_port", standard);
    hev_bool(e, "known_service_port", benign);
    hev_bool(e, "held_connection", held);
    char share[48] = "";
    if (cfg->l_max_share > 0)
        snprintf(share, sizeof share, " or <= %g %% of them", cfg->l_max_share * 100);
    char t[320];
    snprintf(t, sizeof t,
             "connected >= %g s Low, >= %g s Medium (one connection held >= %g s, not a known "
             "service port); destination /24 used by <= %g hosts%s; conversations >= %g s count",
             cfg->l_min_s, cfg->l_medium_s, cfg->l_min_s, cfg->l_max_hosts, share,
             cfg->l_min_conv_s);
    hev_str(e, "thresholds", t);
    hev_int(e, "sampling", u->sp.sampling ? u->sp.sampling : 1);
    hl_picture(s, u, f);
    hunt_finding_vpn_peer(cfg, f, &u->peer);
    hunt_finding_allow(cfg, f, 1);
}

static void hl_finish(void *st, hunt_findings_t *out)
{
    hl_state_t *s = st;
    uint64_t pop = s->ctx->prevalence(s->ctx->prep_state, NULL, HP_PREV_ADDR);
    for (size_t i = 0; i < s->units.n; i++)
        hl_finding(s, (const hl_unit_t *)s->units.v + i, pop, out);
}

static void hl_destroy(void *st)
{
    hl_state_t *s = st;
    if (!s)
        return;
    hj_intern_free(&s->unit_keys);
    hj_vec_free(&s->units);
    hj_vec_free(&s->ivls);
    free(s);
}

const hunt_ops_t hl_ops = {"long-conn", hl_create, hl_feed, hl_part_end, hl_finish, hl_destroy, 1};
