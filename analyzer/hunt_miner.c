/* hunt_miner.c: cryptominers (T1496 Resource Hijacking) from flows (hunting-methods.md 5.3).
 *
 * A miner keeps one TCP connection to its pool for as long as it runs: the pool pushes a new job
 * every half minute or so, the miner submits shares and acknowledges jobs, so the connection
 * carries many small packets in both directions at a low, steady rate (hundreds of bytes a
 * minute) for hours. A pool port alone proves nothing: Falco's miner_ports list holds 8080,
 * 8000 and 25 and only fires together with a pool domain name, which flows do not have. So:
 *   - candidates are outbound conversations to a pool port ([miner] ports) over TCP, or to a
 *     pool address (`[miner] pools = FILE`, any port: stratum over TLS on 443 is only caught
 *     this way);
 *   - per (host, pool, port) the hunt measures the time covered by its answered conversations
 *     (unanswered attempts are only counted: a blocked miner retries all day): the minutes a
 *     conversation spans whole, plus what it covers of the minutes it only touches, capped at a
 *     minute each (kept per minute, so the order of partitions does not matter, and parallel
 *     connections count once); a 0.5 s check-in every minute covers seconds, not every minute
 *     it touches (that made a beacon on 4444 a miner "busy for 0.7 h" of 21 s connected);
 *     also the distinct active hours, the bytes and packets each way;
 *   - a port match must have the shape: established, at least `min_packets` each way, small
 *     mean packets each way (`max_out_bpp`, `max_in_bpp`), a low rate (`max_rate` bytes per
 *     covered minute), steady submits and jobs (`min_out_ppm`, `min_in_ppm` packets per covered
 *     minute). On a web port ([miner] web_ports, or standard for TCP in [ports]) the rate
 *     limit is cut by `web_rate_factor`, and `persist_s`, `web_min_hours` active hours and one
 *     conversation of `web_min_conv_s` are required: a web poller has small packets too;
 *   - Monero's p2p ports ([miner] p2p_ports, 18080/18081) belong to a node that talks to several
 *     peers and relays blocks, so there the unit is (host, port) over all peers and the test
 *     is `p2p_min_peers` peers plus persistence, not packet size;
 * Risk: High when the covered time reaches `persist_s` (1 h), Medium for shorter contacts (from
 * `min_covered_s`); Critical only for a host in `[miner] servers` (a server or DC segment, when
 * configured). Confidence: High with the full shape (or a pool address) for persist_s unsampled.
 */
#include <stdlib.h>
#include <string.h>

#include "hunt.h"

#define HM_MIN 60000ull
#define HM_WBITS 26 /* low key bits: word index of the minute bitmap */
#define HM_PBITS (HM_WBITS + 6) /* low key bits of `part`: the minute */

typedef struct hm_unit {
    flow_addr_t host, peer; /* p2p units: the peer with the most bytes */
    uint64_t established, pkts_out, bytes_out, pkts_in, bytes_in, max_dur;
    uint64_t first, last, peers, top_bytes;
    uint64_t unanswered; /* attempts no pool answered: neither covered time nor shape */
    uint32_t sampling;
    uint16_t port;
    uint8_t proto, pool, p2p;
} hm_unit_t;

typedef struct hm_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    /* minute numbers count from the clock hour the window starts in, so that minute m lies in
     * clock hour m / 60 and "active hours" are UTC hours (as the non-standard-port hunt counts
     * them), whatever minute the window starts at; times before the window's first minute
     * (start_ms) count from that minute, as before */
    uint64_t base_min, start_ms;
    hj_intern_t unit_keys, peer_keys, pool_exact;
    hj_vec_t units;
    hj_map_t minutes; /* (unit id << HM_WBITS | word) -> 64 minutes touched (active hours) */
    hj_map_t full;    /* the same keys -> 64 minutes spanned whole by a conversation */
    hj_map_t part;    /* (unit id << HM_PBITS | minute) -> ms covered of a minute touched */
    int pool_nets;    /* pool entries that are networks (checked one by one) */
} hm_state_t;

static int hm_bit(const uint8_t *bits, uint16_t p)
{
    return (bits[p >> 3] >> (p & 7)) & 1;
}

static void *hm_create(const hunt_ctx_t *ctx)
{
    hm_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    s->base_min = ctx->from_ms / (60 * HM_MIN) * 60;
    s->start_ms = ctx->from_ms / HM_MIN * HM_MIN;
    hj_vec_init(&s->units, sizeof(hm_unit_t));
    /* single pool addresses are looked up exactly; only networks need a scan */
    for (int i = 0; i < s->cfg->n_m_pools; i++) {
        int is_new;
        if (s->cfg->m_pools[i].plen == 128)
            hj_intern(&s->pool_exact, s->cfg->m_pools[i].addr.b, 16, &is_new);
        else
            s->pool_nets++;
    }
    return s;
}

static int hm_is_pool(const hm_state_t *s, const flow_addr_t *a)
{
    if (s->pool_exact.n && hj_lookup(&s->pool_exact, a->b, 16) != UINT64_MAX)
        return 1;
    for (int i = 0; s->pool_nets && i < s->cfg->n_m_pools; i++)
        if (s->cfg->m_pools[i].plen < 128 && flow_net_has(&s->cfg->m_pools[i], a))
            return 1;
    return 0;
}

/* Minutes m0..m1 (relative) set in bitmap map for unit id. */
static void hm_bits(hj_map_t *map, uint64_t id, uint64_t m0, uint64_t m1)
{
    for (uint64_t w = m0 >> 6; w <= m1 >> 6; w++) {
        uint64_t lo = w == m0 >> 6 ? m0 & 63 : 0, hi = w == m1 >> 6 ? m1 & 63 : 63;
        uint64_t bits = (hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
        *hj_map_ins(map, id << HM_WBITS | w) |= bits;
    }
}

static void hm_mark(hm_state_t *s, uint64_t id, const hunt_conv_t *c)
{
    uint64_t base = s->base_min * HM_MIN;
    uint64_t a = (c->t_start > s->start_ms ? c->t_start : s->start_ms) - base;
    uint64_t b = (c->t_end > s->start_ms ? c->t_end : s->start_ms) - base;
    if (b < a)
        b = a;
    uint64_t m0 = a / HM_MIN, m1 = b / HM_MIN;
    if (m1 >> 6 >= (1ull << HM_WBITS))
        return; /* beyond 8000 years of window */
    hm_bits(&s->minutes, id, m0, m1);
    if (m0 == m1) {
        *hj_map_ins(&s->part, id << HM_PBITS | m0) += b - a;
        return;
    }
    *hj_map_ins(&s->part, id << HM_PBITS | m0) += (m0 + 1) * HM_MIN - a;
    if (b > m1 * HM_MIN)
        *hj_map_ins(&s->part, id << HM_PBITS | m1) += b - m1 * HM_MIN;
    if (m1 > m0 + 1)
        hm_bits(&s->full, id, m0 + 1, m1 - 1);
}

static void hm_add(hm_state_t *s, uint64_t id, const hunt_conv_t *c)
{
    hm_unit_t *u = (hm_unit_t *)s->units.v + id;
    if (!u->established || c->t_start < u->first)
        u->first = c->t_start;
    if (c->t_end > u->last)
        u->last = c->t_end;
    u->established++;
    u->pkts_out += c->pkts_out;
    u->bytes_out += c->bytes_out;
    u->pkts_in += c->pkts_in;
    u->bytes_in += c->bytes_in;
    if (c->t_end - c->t_start > u->max_dur)
        u->max_dur = c->t_end - c->t_start;
    if (c->sampling > u->sampling)
        u->sampling = c->sampling;
    hm_mark(s, id, c);
}

static void hm_feed(void *st, const hunt_conv_t *c)
{
    hm_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    if (!c->orig_internal || c->resp_internal)
        return;
    /* mining is a session with ports (stratum over TCP): an echo or a GRE tunnel to a pool address
     * is the non-app hunt's, and had no port to name (icmp/2048, a finding apart from it) */
    int pool =
        hunt_has_ports(c->proto) && (s->pool_exact.n || s->pool_nets) && hm_is_pool(s, &c->resp);
    int p2p = c->proto == 6 && hm_bit(cfg->m_p2p_ports, c->resp_port);
    if (!pool && !(c->proto == 6 && hm_bit(cfg->m_ports, c->resp_port)) && !p2p)
        return;
    int est = c->answered && !c->rejected && c->bytes_out && c->bytes_in;
    /* p2p: one unit per (host, port) over every peer */
    struct {
        flow_addr_t host, peer;
        uint16_t port;
        uint8_t proto, p2p;
    } key;
    memset(&key, 0, sizeof key);
    key.host = c->orig;
    key.port = c->resp_port;
    key.proto = c->proto;
    key.p2p = (uint8_t)(p2p && !pool);
    if (!key.p2p)
        key.peer = c->resp;
    int is_new;
    uint64_t id = hj_intern(&s->unit_keys, &key, sizeof key, &is_new);
    hm_unit_t *u = hj_vec_at(&s->units, id);
    if (is_new) {
        u->host = c->orig;
        u->peer = c->resp;
        u->port = c->resp_port;
        u->proto = c->proto;
        u->pool = (uint8_t)pool;
        u->p2p = key.p2p;
    }
    if (key.p2p) {
        /* distinct peers that answered, and the busiest one names the finding */
        if (est) {
            uint8_t pk[24];
            memcpy(pk, &id, 8);
            memcpy(pk + 8, c->resp.b, 16);
            hj_intern(&s->peer_keys, pk, sizeof pk, &is_new);
            u->peers += (uint64_t)is_new;
            /* a tie goes to the lower address, not to the first fed: a run in passes feeds
             * the peers (/24 pairs apart) in another order than one pass, and the peer
             * names the finding (its fingerprint and Hunt ID) */
            uint64_t b = c->bytes_out + c->bytes_in;
            if (b > u->top_bytes || (b == u->top_bytes && memcmp(c->resp.b, u->peer.b, 16) < 0)) {
                u->top_bytes = b;
                u->peer = c->resp;
            }
        }
    }
    /* A blocked miner retries all day; only what the pool answered is mining. */
    if (est)
        hm_add(s, id, c);
    else
        u->unanswered++;
}

static void hm_part_end(void *st)
{
    (void)st; /* p2p units span partitions (one host, many peers): judged at finish */
}

/* Covered ms and distinct active hours of every unit, from the bitmaps (keys ascend by
 * unit, then minute): minutes spanned whole count 60 s, the others what their conversations
 * covered of them, at most 60 s (parallel short connections in one minute count once). */
static void hm_coverage(hm_state_t *s, uint64_t *cov_ms, uint64_t *hours)
{
    uint64_t key = 0, *val, last_unit = UINT64_MAX, last_hour = UINT64_MAX;
    for (int first = 1; hj_map_next(&s->minutes, &key, &val, first); first = 0) {
        uint64_t id = key >> HM_WBITS, w = key & ((1ull << HM_WBITS) - 1), bits = *val;
        if (id != last_unit) {
            last_unit = id;
            last_hour = UINT64_MAX;
        }
        while (bits) {
            uint64_t m = w * 64 + (uint64_t)__builtin_ctzll(bits);
            bits &= bits - 1;
            if (m / 60 != last_hour) {
                last_hour = m / 60;
                hours[id]++;
            }
        }
    }
    key = 0; /* a first lookup starts at the key given */
    for (int first = 1; hj_map_next(&s->full, &key, &val, first); first = 0)
        cov_ms[key >> HM_WBITS] += (uint64_t)__builtin_popcountll(*val) * HM_MIN;
    key = 0;
    for (int first = 1; hj_map_next(&s->part, &key, &val, first); first = 0) {
        uint64_t id = key >> HM_PBITS, m = key & ((1ull << HM_PBITS) - 1);
        const uint64_t *fw = hj_map_get(&s->full, id << HM_WBITS | m >> 6);
        if (fw && (*fw >> (m & 63) & 1))
            continue; /* spanned whole by another conversation */
        cov_ms[id] += *val < HM_MIN ? *val : HM_MIN;
    }
}

typedef struct hm_shape {
    double cov_min, out_bpp, in_bpp, rate, out_ppm, in_ppm;
    int pkts_ok, out_small, in_small, rate_low, submits, jobs;
} hm_shape_t;

static void hm_shape(const hunt_config_t *cfg, const hm_unit_t *u, uint64_t cov_ms, int web,
                     hm_shape_t *sh)
{
    /* rates per covered minute; under a second covered counts as one (0 s records) */
    sh->cov_min = (double)(cov_ms > 1000 ? cov_ms : 1000) / 60000.0;
    sh->out_bpp = u->pkts_out ? (double)u->bytes_out / (double)u->pkts_out : 0;
    sh->in_bpp = u->pkts_in ? (double)u->bytes_in / (double)u->pkts_in : 0;
    sh->rate = (double)(u->bytes_out + u->bytes_in) / sh->cov_min;
    sh->out_ppm = (double)u->pkts_out / sh->cov_min;
    sh->in_ppm = (double)u->pkts_in / sh->cov_min;
    sh->pkts_ok =
        u->pkts_out >= (uint64_t)cfg->m_min_pkts && u->pkts_in >= (uint64_t)cfg->m_min_pkts;
    sh->out_small = sh->out_bpp <= cfg->m_out_bpp;
    sh->in_small = sh->in_bpp <= cfg->m_in_bpp;
    sh->rate_low = sh->rate <= cfg->m_max_rate * (web ? cfg->m_web_factor : 1);
    sh->submits = sh->out_ppm >= cfg->m_min_out_ppm;
    sh->jobs = sh->in_ppm >= cfg->m_min_in_ppm;
}

static void hm_finish(void *st, hunt_findings_t *out)
{
    hm_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    size_t n = s->units.n;
    uint64_t *cov = hj_xcalloc(n + 1, sizeof *cov), *hours = hj_xcalloc(n + 1, sizeof *hours);
    hm_coverage(s, cov, hours);
    for (size_t i = 0; i < n; i++) {
        const hm_unit_t *u = (const hm_unit_t *)s->units.v + i;
        if (!u->established)
            continue;
        int web = !u->pool && !u->p2p &&
                  (hc_port_standard(cfg, u->proto, u->port) || hm_bit(cfg->m_web_ports, u->port));
        hm_shape_t sh;
        hm_shape(cfg, u, cov[i], web, &sh);
        double cov_s = (double)cov[i] / 1000.0;
        int persistent = cov_s >= cfg->m_persist_s;
        int shape =
            sh.pkts_ok && sh.out_small && sh.in_small && sh.rate_low && sh.submits && sh.jobs;
        int ok;
        if (u->pool)
            ok = sh.pkts_ok; /* a known pool: the address says enough */
        else if (u->p2p)
            ok = sh.pkts_ok && u->peers >= (uint64_t)cfg->m_p2p_peers;
        else if (web)
            ok = shape && persistent && hours[i] >= (uint64_t)cfg->m_web_hours &&
                 u->max_dur >= (uint64_t)(cfg->m_web_conv_s * 1000);
        else
            ok = shape;
        /* a p2p node shows itself by its peers, however short each contact */
        if (!ok || (cov_s < cfg->m_min_s && !u->p2p))
            continue;
        int risk = persistent ? HUNT_RISK_HIGH : HUNT_RISK_MEDIUM;
        int server = 0;
        for (int j = 0; j < cfg->n_m_servers; j++)
            server |= flow_net_has(&cfg->m_servers[j], &u->host);
        if (risk == HUNT_RISK_HIGH && server)
            risk = HUNT_RISK_CRITICAL;
        hunt_finding_t *f = hunt_finding_new(out, "miner");
        hunt_finding_tech(f, "T1496");
        f->host = u->host;
        char hs[FLOW_ADDR_STRLEN], ps[FLOW_ADDR_STRLEN], pb[8];
        flow_addr_format(&u->host, hs);
        flow_addr_format(&u->peer, ps);
        snprintf(f->peer, sizeof f->peer, "%s", ps);
        f->port = u->port;
        f->proto = u->proto;
        f->first_seen = u->first;
        f->last_seen = u->last;
        f->risk = risk;
        f->score = cov_s / 3600.0 + (u->pool ? 1 : 0) + shape;
        int conf = persistent && (shape || u->pool) ? HUNT_CONF_HIGH
                   : persistent || shape            ? HUNT_CONF_MEDIUM
                                                    : HUNT_CONF_LOW;
        if (u->sampling >= 100)
            conf = HUNT_CONF_LOW;
        else if (u->sampling > 1 && conf > HUNT_CONF_LOW)
            conf--;
        f->confidence = conf;
        const char *why = u->pool  ? "a listed pool address"
                          : u->p2p ? "a cryptocurrency p2p port"
                                   : "a mining pool port";
        int sl = snprintf(f->summary, sizeof f->summary,
                          "%s kept %s/%u to %s (%s) busy for %.1f h at %.0f bytes/min ", hs,
                          hr_proto_name(u->proto, pb), u->port, ps, why, cov_s / 3600.0, sh.rate);
        size_t so = sl > 0 && (size_t)sl < sizeof f->summary ? (size_t)sl : sizeof f->summary - 1;
        /* the shape is claimed only when measured: a listed pool or a p2p node passes without
         * it (stratum over TLS, relayed blocks have large packets) */
        if (shape)
            snprintf(f->summary + so, sizeof f->summary - so,
                     "with small packets both ways: a miner's shape");
        else if (u->p2p)
            snprintf(f->summary + so, sizeof f->summary - so,
                     "with %llu answering peers: a node's shape", (unsigned long long)u->peers);
        else
            snprintf(f->summary + so, sizeof f->summary - so,
                     "but not a miner's packet shape: the listed address makes it");
        /* the unit's protocol too, as the other hunts' commands: a UDP unit's command listed
         * the host's TCP flows on the same port */
        if (u->p2p)
            snprintf(f->filter, sizeof f->filter, "host %s and port %u and proto %s", hs, u->port,
                     hr_proto_name(u->proto, pb));
        else
            snprintf(f->filter, sizeof f->filter, "host %s and host %s and port %u and proto %s",
                     hs, ps, u->port, hr_proto_name(u->proto, pb));
        snprintf(f->action, sizeof f->action,
                 "%s: find and stop the mining process on %s (xmrig, a container, a scheduled "
                 "task), block %s/%u to %s at the egress, and find how it got there (exposed "
                 "service, stolen credentials).",
                 risk >= HUNT_RISK_HIGH ? "Contain" : "Investigate", hs,
                 hr_proto_name(u->proto, pb), u->port, u->p2p ? "any peer" : ps);
        hev_t *e = &f->ev;
        hev_str(e, "matched", why);
        hev_num(e, "covered_hours", cov_s / 3600.0, 2);
        hev_int(e, "active_hours", (int64_t)hours[i]);
        hev_int(e, "conversations", (int64_t)u->established);
        hev_int(e, "unanswered_attempts", (int64_t)u->unanswered);
        hev_num(e, "longest_conversation_s", (double)u->max_dur / 1000.0, 1);
        hev_int(e, "bytes_out", (int64_t)u->bytes_out);
        hev_int(e, "bytes_in", (int64_t)u->bytes_in);
        hev_int(e, "packets_out", (int64_t)u->pkts_out);
        hev_int(e, "packets_in", (int64_t)u->pkts_in);
        hev_num(e, "bytes_per_minute", sh.rate, 0);
        hev_num(e, "bytes_per_packet_out", sh.out_bpp, 1);
        hev_num(e, "bytes_per_packet_in", sh.in_bpp, 1);
        hev_num(e, "packets_per_minute_out", sh.out_ppm, 2);
        hev_num(e, "packets_per_minute_in", sh.in_ppm, 2);
        hev_bool(e, "miner_shape", shape);
        hev_bool(e, "standard_port", web);
        if (u->p2p)
            hev_int(e, "peers", (int64_t)u->peers);
        hev_bool(e, "server_segment", server);
        hev_int(e, "sampling", u->sampling ? u->sampling : 1);
        hunt_finding_allow(cfg, f, !u->p2p); /* a p2p node's peer is its busiest, one of many */
    }
    free(cov);
    free(hours);
}

static void hm_destroy(void *st)
{
    hm_state_t *s = st;
    if (!s)
        return;
    hj_intern_free(&s->unit_keys);
    hj_intern_free(&s->peer_keys);
    hj_intern_free(&s->pool_exact);
    hj_vec_free(&s->units);
    hj_map_free(&s->minutes);
    hj_map_free(&s->full);
    hj_map_free(&s->part);
    free(s);
}

const hunt_ops_t hm_ops = {"miner", hm_create, hm_feed, hm_part_end, hm_finish, hm_destroy, 1};
