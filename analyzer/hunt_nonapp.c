/* hunt_nonapp.c: command and control below the application layer (T1095): ICMP tunnels and
 * other IP protocols to the Internet.
 *
 * Unit and finding: (internal host, external peer, protocol), whichever side started -- an
 * ICMP tunnel server can sit inside as well as outside. Internal-to-internal traffic is never
 * counted: it cannot carry anything out. Ports mean nothing here, so the finding's port is
 * "none", the fingerprint the beacon hunt gives an ICMP beacon (the report merges the two).
 *
 * ICMP (hunting-methods.md 4: Splunk ESCU's large outbound ICMP, and the proposal there). A
 * ping's IP packet is 60-84 bytes (Windows: 32 B of payload, Linux: 56 B), its reply mirrors the
 * request, and every packet of one ping run has the same size. Error messages (unreachable,
 * time exceeded, ...) quote the packet that caused them and are not judged; neither is IPv6
 * neighbour discovery. Per unit the hunt measures:
 *   - large: IP bytes per packet above icmp_bytes_per_packet (128) one way, over min_packets;
 *   - varying: sizes that differ -- a direction whose bytes are not a whole multiple of its
 *     packets (one ping run always is), conversations of different sizes, or replies that do not
 *     mirror their requests: what a tunnel carrying a TCP stream looks like (ptunnel, icmpsh);
 *   - excess: the bytes beyond icmp_bytes_per_packet per packet, summed: a tunnel's payload;
 *   - long-lived: long_packets or more over long_s (100 echoes an hour to one peer);
 *   - total: more ICMP bytes to one peer than total_bytes, whatever their size.
 * Risk: High for a sustained large-payload tunnel (large, and varying or over total_bytes, over
 * tunnel_packets packets or a long life); Medium for a short or uniform anomaly (large but brief,
 * or uniform large echoes as a path-MTU probe sends them, the excess volume, varying sizes over a
 * long time, or the total volume); Low for many small uniform pings to one peer for hours. Ping
 * monitoring -- a host echoing small packets to monitor_peers or more peers -- is not reported
 * at all unless its payloads are large (then at most Medium); a peer many internal hosts ping is
 * capped at Medium.
 *
 * Other IP protocols (not 1, 6, 17, 58: GRE 47, IP-in-IP 4, IPv6-in-IPv4 41, ESP 50, AH 51,
 * SCTP 132, raw ...): High to an unknown external peer with volume (other_volume_bytes) or a
 * long life, Medium otherwise. A tunnel that was negotiated in the open -- ESP/AH to a peer some
 * internal host spoke IKE with (UDP 500/4500), GRE to a peer it spoke PPTP with (TCP 1723) -- is
 * Low; a peer common_hosts internal hosts use is a shared concentrator (at most Medium); a peer
 * in [general] vpn_peers, or allow-listed for the hunt, is reported suppressed.
 */
#include <stdlib.h>
#include <string.h>

#include "hunt.h"

enum { HO_CTL_IKE = 1, HO_CTL_PPTP = 2 };

typedef struct ho_unit {
    flow_addr_t host, peer;
    uint8_t proto;
    uint8_t echo;                 /* ICMP: an echo request was seen */
    uint64_t convs, by_host;      /* conversations, and how many the host started */
    uint64_t pkts_out, bytes_out; /* host -> peer */
    uint64_t pkts_in, bytes_in;   /* peer -> host */
    uint64_t first, last;
    double bpp_min, bpp_max; /* per conversation and direction with min_packets */
    uint64_t uneven;         /* directions whose bytes are not a multiple of their packets */
    uint64_t unmirrored;     /* echo conversations whose replies differ from the requests */
    uint32_t types;          /* bit per ICMP type class seen, for the evidence */
    uint32_t sampling;
} ho_unit_t;

typedef struct ho_key {
    flow_addr_t host, peer;
    uint8_t proto;
} __attribute__((packed)) ho_key_t;

typedef struct ho_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    hj_intern_t unit_keys;
    hj_vec_t units;
    hj_intern_t echo_pairs; /* (host, peer) with echo, any peer */
    hj_intern_t host_ids;   /* host -> id into echo_peers */
    hj_vec_t echo_peers;    /* uint64_t: distinct peers the host echoed */
    hj_intern_t ctl_ids;    /* external peer -> id into ctl */
    hj_vec_t ctl;           /* uint8_t: HO_CTL_* seen with the peer */
} ho_state_t;

static void *ho_create(const hunt_ctx_t *ctx)
{
    ho_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    hj_vec_init(&s->units, sizeof(ho_unit_t));
    hj_vec_init(&s->echo_peers, sizeof(uint64_t));
    hj_vec_init(&s->ctl, sizeof(uint8_t));
    return s;
}

static int ho_icmp(uint8_t proto)
{
    return proto == 1 || proto == 58;
}

/* ICMP messages that are not a channel of their own: errors quote the offending packet
 * (RFC 792, RFC 4443 section 2.1: ICMPv6 types below 128), and router/neighbour discovery and
 * MLD (ICMPv6 130-143, ICMPv4 9/10) are link-local control. */
static int ho_icmp_control(uint8_t proto, unsigned type)
{
    if (proto == 1)
        return type == 3 || type == 4 || type == 5 || type == 9 || type == 10 || type == 11 ||
               type == 12;
    return type < 128 || (type >= 130 && type <= 143);
}

static int ho_icmp_echo(uint8_t proto, unsigned type)
{
    return proto == 1 ? type == 8 || type == 0 : type == 128 || type == 129;
}

/* Remembers IKE and PPTP control traffic with an external peer. */
static void ho_note_ctl(ho_state_t *s, const hunt_conv_t *c)
{
    if (!c->answered || c->resp_internal || !c->orig_internal)
        return;
    uint8_t bit = 0;
    if (c->proto == 17 && (c->resp_port == 500 || c->resp_port == 4500))
        bit = HO_CTL_IKE;
    else if (c->proto == 6 && c->resp_port == 1723)
        bit = HO_CTL_PPTP;
    if (!bit)
        return;
    int is_new;
    uint64_t id = hj_intern(&s->ctl_ids, c->resp.b, 16, &is_new);
    *(uint8_t *)hj_vec_at(&s->ctl, id) |= bit;
}

static void ho_bpp(ho_unit_t *u, uint64_t pkts, uint64_t bytes, double min_pkts)
{
    if (!pkts || (double)pkts < min_pkts)
        return;
    double b = (double)bytes / (double)pkts;
    if (u->bpp_max == 0 || b < u->bpp_min)
        u->bpp_min = b;
    if (b > u->bpp_max)
        u->bpp_max = b;
    if (bytes % pkts != 0)
        u->uneven++;
}

static void ho_feed(void *st, const hunt_conv_t *c)
{
    ho_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    if (c->proto == 6 || c->proto == 17) {
        ho_note_ctl(s, c);
        return;
    }
    unsigned type = c->resp_port >> 8;
    int icmp = ho_icmp(c->proto);
    if (icmp && ho_icmp_control(c->proto, type))
        return;
    int echo = icmp && ho_icmp_echo(c->proto, type);
    int is_new;
    if (echo && c->orig_internal) { /* monitors ping inside and out */
        flow_addr_t pair[2] = {c->orig, c->resp};
        hj_intern(&s->echo_pairs, pair, sizeof pair, &is_new);
        if (is_new) {
            uint64_t hid = hj_intern(&s->host_ids, c->orig.b, 16, &is_new);
            (*(uint64_t *)hj_vec_at(&s->echo_peers, hid))++;
        }
    }
    if (c->orig_internal == c->resp_internal)
        return; /* both inside: nothing leaves; both outside: not ours */
    int host_is_orig = c->orig_internal;
    ho_key_t k;
    memset(&k, 0, sizeof k);
    k.host = host_is_orig ? c->orig : c->resp;
    k.peer = host_is_orig ? c->resp : c->orig;
    k.proto = c->proto;
    uint64_t id = hj_intern(&s->unit_keys, &k, sizeof k, &is_new);
    ho_unit_t *u = hj_vec_at(&s->units, id);
    if (is_new) {
        u->host = k.host;
        u->peer = k.peer;
        u->proto = c->proto;
        u->first = c->t_start;
    }
    uint64_t po = host_is_orig ? c->pkts_out : c->pkts_in;
    uint64_t bo = host_is_orig ? c->bytes_out : c->bytes_in;
    uint64_t pi = host_is_orig ? c->pkts_in : c->pkts_out;
    uint64_t bi = host_is_orig ? c->bytes_in : c->bytes_out;
    u->convs++;
    u->by_host += host_is_orig;
    u->pkts_out += po;
    u->bytes_out += bo;
    u->pkts_in += pi;
    u->bytes_in += bi;
    u->echo |= echo;
    if (icmp)
        u->types |= 1u << (type & 31);
    if (c->t_start < u->first)
        u->first = c->t_start;
    if (c->t_end > u->last)
        u->last = c->t_end;
    if (c->sampling > u->sampling)
        u->sampling = c->sampling;
    if (!icmp)
        return;
    ho_bpp(u, po, bo, cfg->o_min_pkts);
    ho_bpp(u, pi, bi, cfg->o_min_pkts);
    /* an echo reply carries its request's data back: same packets, same bytes */
    if (echo && c->answered && (double)c->pkts_out >= cfg->o_min_pkts &&
        (double)c->pkts_in >= cfg->o_min_pkts) {
        double a = (double)c->bytes_out / (double)c->pkts_out;
        double b = (double)c->bytes_in / (double)c->pkts_in;
        if (a - b > 2 || b - a > 2)
            u->unmirrored++;
    }
}

static void ho_part_end(void *st)
{
    (void)st; /* ICMP and other-protocol units are few; monitors need the whole window */
}

static const char *ho_proto_label(uint8_t proto)
{
    switch (proto) {
    case 1:
        return "ICMP";
    case 58:
        return "ICMPv6";
    case 4:
        return "IP-in-IP";
    case 41:
        return "IPv6-in-IPv4";
    case 47:
        return "GRE";
    case 50:
        return "ESP";
    case 51:
        return "AH";
    case 132:
        return "SCTP";
    default:
        return "IP protocol";
    }
}

/* Appends "name" to a JSON array body and a text list. */
static void ho_sign(char *j, size_t jcap, char *t, size_t tcap, int *n, const char *name)
{
    size_t l = strlen(j);
    snprintf(j + l, jcap - l, "%s\"%s\"", *n ? "," : "", name);
    l = strlen(t);
    snprintf(t + l, tcap - l, "%s%s", *n ? ", " : "", name);
    (*n)++;
}

static void ho_finding(ho_state_t *s, const ho_unit_t *u, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    const hunt_ctx_t *ctx = s->ctx;
    int icmp = ho_icmp(u->proto);
    uint64_t pkts = u->pkts_out + u->pkts_in, bytes = u->bytes_out + u->bytes_in;
    double span_s = (double)(u->last - u->first) / 1000.0;
    double bpp_out = u->pkts_out ? (double)u->bytes_out / (double)u->pkts_out : 0;
    double bpp_in = u->pkts_in ? (double)u->bytes_in / (double)u->pkts_in : 0;
    int longl = span_s >= cfg->o_long_s && (double)pkts >= cfg->o_long_pkts;
    uint64_t users = ctx->prevalence ? ctx->prevalence(ctx->prep_state, &u->peer, 0) : 0;
    int shared = users >= (uint64_t)cfg->o_common_hosts;
    uint64_t hid = hj_lookup(&s->host_ids, u->host.b, 16);
    uint64_t echoed = hid == UINT64_MAX ? 0 : ((uint64_t *)s->echo_peers.v)[hid];
    int monitor = echoed >= (uint64_t)cfg->o_mon_peers;
    uint64_t cid = hj_lookup(&s->ctl_ids, u->peer.b, 16);
    uint8_t ctl = cid == UINT64_MAX ? 0 : ((uint8_t *)s->ctl.v)[cid];
    char sj[256] = "", st[256] = "";
    int n_signs = 0, risk;
    double excess = 0;
    int large = 0, varying = 0, total = 0, negotiated = 0;
    if (icmp) {
        large = ((double)u->pkts_out >= cfg->o_min_pkts && bpp_out > cfg->o_bpp) ||
                ((double)u->pkts_in >= cfg->o_min_pkts && bpp_in > cfg->o_bpp);
        varying = u->uneven > 0 || u->unmirrored > 0 || u->bpp_max - u->bpp_min >= 8;
        double cap = cfg->o_bpp * (double)pkts;
        excess = (double)bytes > cap ? (double)bytes - cap : 0;
        int big = excess >= cfg->o_excess;
        total = (double)bytes >= cfg->o_total;
        int sustained = (double)pkts >= cfg->o_tunnel_pkts || longl;
        if (large && sustained && (varying || total))
            risk = HUNT_RISK_HIGH;
        else if (large || (varying && longl) || total || big)
            risk = HUNT_RISK_MEDIUM;
        else if (longl)
            risk = HUNT_RISK_LOW;
        else
            return; /* a few pings */
        if (monitor && !large && !big)
            return; /* ping monitoring: small echoes to many peers */
        if ((monitor || shared) && risk > HUNT_RISK_MEDIUM)
            risk = HUNT_RISK_MEDIUM;
        if (large)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "large_payload");
        if (varying)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "varying_sizes");
        if (big)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "excess_volume");
        if (sustained)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "sustained");
        if (total)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "total_volume");
    } else {
        int vol = (double)bytes >= cfg->o_other_vol;
        negotiated = ((u->proto == 50 || u->proto == 51) && (ctl & HO_CTL_IKE)) ||
                     (u->proto == 47 && (ctl & HO_CTL_PPTP));
        risk = vol || longl ? HUNT_RISK_HIGH : HUNT_RISK_MEDIUM;
        if (negotiated)
            risk = HUNT_RISK_LOW;
        else if (shared && risk > HUNT_RISK_MEDIUM)
            risk = HUNT_RISK_MEDIUM;
        if (vol)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "volume");
        if (longl)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "long_lived");
        if (negotiated)
            ho_sign(sj, sizeof sj, st, sizeof st, &n_signs,
                    u->proto == 47 ? "pptp_control_seen" : "ike_seen");
    }
    if (longl && icmp)
        ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "long_lived");
    if (shared)
        ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "shared_peer");
    if (monitor && icmp)
        ho_sign(sj, sizeof sj, st, sizeof st, &n_signs, "monitoring_host");

    hunt_finding_t *f = hunt_finding_new(out, "non-app");
    f->peer_originated = (uint8_t)(u->by_host * 2 < u->convs); /* the outside mostly started */
    hunt_finding_tech(f, "T1095");
    if (u->proto == 4 || u->proto == 41 || u->proto == 47)
        hunt_finding_tech(f, "T1572"); /* a tunnel of IP in IP */
    f->host = u->host;
    char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN], pb[8];
    flow_addr_format(&u->host, host);
    flow_addr_format(&u->peer, peer);
    snprintf(f->peer, sizeof f->peer, "%s", peer);
    f->port = -1;
    f->proto = u->proto;
    f->first_seen = u->first;
    f->last_seen = u->last;
    f->risk = risk;
    f->score = 0.2 * risk + n_signs * 0.05 + (double)bytes / 1e10;
    int conf = n_signs >= 3 ? HUNT_CONF_HIGH : n_signs >= 1 ? HUNT_CONF_MEDIUM : HUNT_CONF_LOW;
    if (negotiated || (risk == HUNT_RISK_LOW))
        conf = HUNT_CONF_LOW;
    if (u->sampling >= 100)
        conf = HUNT_CONF_LOW;
    else if (u->sampling > 1 && conf > HUNT_CONF_LOW)
        conf--;
    f->confidence = conf;
    const char *label = ho_proto_label(u->proto);
    const char *pn = hr_proto_name(u->proto, pb);
    /* two IPv6 addresses and every sign may not fit: the evidence keeps the whole story */
    if (snprintf(f->summary, sizeof f->summary,
                 "%s exchanged %llu packets (%llu B out at %.0f B/packet, %llu B in at %.0f "
                 "B/packet) of %s%s%s with external %s over %.1f h (%s)",
                 host, (unsigned long long)pkts, (unsigned long long)u->bytes_out, bpp_out,
                 (unsigned long long)u->bytes_in, bpp_in, label,
                 strcmp(label, "IP protocol") == 0 ? " " : "",
                 strcmp(label, "IP protocol") == 0 ? pn : "", peer, span_s / 3600.0,
                 n_signs ? st : "no other sign") >= (int)sizeof f->summary)
        memcpy(f->summary + sizeof f->summary - 4, "...", 4);
    snprintf(f->filter, sizeof f->filter, "host %s and host %s and proto %s", host, peer, pn);
    if (risk >= HUNT_RISK_HIGH)
        snprintf(f->action, sizeof f->action,
                 "Contain: block %s to %s at the egress firewall (%s has no business carrying "
                 "data out), isolate %s and find the process that sends it (raw sockets need "
                 "privileges: look for ptunnel, icmpsh or a kernel tunnel interface).",
                 label, peer, label, host);
    else if (risk == HUNT_RISK_MEDIUM)
        snprintf(f->action, sizeof f->action,
                 "Investigate: find what on %s sends %s to %s (troubleshooting, a VPN client, a "
                 "tunnel); if it is a sanctioned VPN endpoint add it to [general] vpn_peers, "
                 "otherwise block it.",
                 host, label, peer);
    else
        snprintf(f->action, sizeof f->action,
                 "Monitor: %s between %s and %s looks like %s; confirm the endpoint and add it to "
                 "[general] vpn_peers or the allow-list.",
                 label, host, peer, icmp ? "long-running ping monitoring" : "a negotiated VPN");
    hev_t *e = &f->ev;
    char t[256], j[320];
    hev_str(e, "protocol", label);
    hev_int(e, "conversations", (int64_t)u->convs);
    hev_int(e, "started_by_host", (int64_t)u->by_host);
    hev_int(e, "packets_out", (int64_t)u->pkts_out);
    hev_int(e, "bytes_out", (int64_t)u->bytes_out);
    hev_int(e, "packets_in", (int64_t)u->pkts_in);
    hev_int(e, "bytes_in", (int64_t)u->bytes_in);
    hev_num(e, "bytes_per_packet_out", bpp_out, 1);
    hev_num(e, "bytes_per_packet_in", bpp_in, 1);
    hev_num(e, "span_s", span_s, 1);
    if (icmp) {
        snprintf(j, sizeof j,
                 "{\"min\":%.1f,\"max\":%.1f,\"uneven_directions\":%llu,"
                 "\"unmirrored_echoes\":%llu}",
                 u->bpp_min, u->bpp_max, (unsigned long long)u->uneven,
                 (unsigned long long)u->unmirrored);
        snprintf(t, sizeof t,
                 "bytes/packet %.1f..%.1f per conversation; %llu direction(s) of uneven sizes, "
                 "%llu echo exchange(s) whose replies differ from the requests",
                 u->bpp_min, u->bpp_max, (unsigned long long)u->uneven,
                 (unsigned long long)u->unmirrored);
        hev_raw(e, "sizes", j, t);
        hev_num(e, "excess_bytes", excess, 0);
        hev_int(e, "icmp_peers_echoed_by_host", (int64_t)echoed);
    }
    hev_int(e, "internal_hosts_using_peer", (int64_t)users);
    char sjj[260];
    snprintf(sjj, sizeof sjj, "[%s]", sj);
    hev_raw(e, "signs", sjj, n_signs ? st : "none");
    if (icmp)
        snprintf(t, sizeof t,
                 "large > %g B/packet over >= %g packets; excess >= %g B; sustained >= %g "
                 "packets or long-lived (>= %g s and >= %g packets); total >= %g B",
                 cfg->o_bpp, cfg->o_min_pkts, cfg->o_excess, cfg->o_tunnel_pkts, cfg->o_long_s,
                 cfg->o_long_pkts, cfg->o_total);
    else
        snprintf(t, sizeof t, "volume >= %g B or long-lived (>= %g s and >= %g packets): High",
                 cfg->o_other_vol, cfg->o_long_s, cfg->o_long_pkts);
    hev_str(e, "thresholds", t);
    hev_int(e, "sampling", u->sampling ? u->sampling : 1);
    hunt_finding_vpn_peer(cfg, f, &u->peer);
    hunt_finding_allow(cfg, f, 1);
}

static void ho_finish(void *st, hunt_findings_t *out)
{
    ho_state_t *s = st;
    for (size_t i = 0; i < s->units.n; i++)
        ho_finding(s, (const ho_unit_t *)s->units.v + i, out);
}

static void ho_destroy(void *st)
{
    ho_state_t *s = st;
    if (!s)
        return;
    hj_intern_free(&s->unit_keys);
    hj_intern_free(&s->echo_pairs);
    hj_intern_free(&s->host_ids);
    hj_intern_free(&s->ctl_ids);
    hj_vec_free(&s->units);
    hj_vec_free(&s->echo_peers);
    hj_vec_free(&s->ctl);
    free(s);
}

const hunt_ops_t ho_ops = {"non-app", ho_create, ho_feed, ho_part_end, ho_finish, ho_destroy, 1};
