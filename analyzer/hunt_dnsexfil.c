/* hunt_dnsexfil.c: DNS exfiltration and DNS tunnels (T1048.003, T1071.004) from flows alone.
 *
 * Without query names the flow still shows a tunnel's shape (hunting-methods.md section 3.3):
 * an internal host sending port-53 traffic (UDP or TCP) straight to a server that is not one
 * of the approved resolvers -- inside the network or out -- is a policy violation on its own
 * (Elastic's "DNS Activity to the Internet"); what makes it exfiltration is
 *   - upstream bytes per packet: queries are 60-100 B, encoded data fills the 253-byte name;
 *   - the upstream/downstream ratio: answers are normally larger than queries;
 *   - long-lived 5-tuples: resolvers see one query per source port, tunnels reuse a socket;
 *   - volume: the upstream bytes in the window (Sigma's "High DNS Bytes Out" in spirit);
 *   - the population: the host's port-53 upstream bytes as a robust z-score (median and MAD)
 *     against every internal host's, so "large" is relative to this organisation;
 *   - the host's own history: its busiest hour toward the resolver against the host's median
 *     hour of port-53 traffic in the window (the hours in which it sent any), so a burst shows
 *     on a host whose everyday DNS is quiet, and a host that always talks this much does not.
 *     Hours are buckets of the window (longer windows: up to 168 buckets of several hours);
 *     the window holds the history, so a scheduled run over the last days needs no state and
 *     an incremental run reports what a full one does.
 * Risk: a policy violation alone is Medium (Low when no resolvers are configured or seen: then
 * nothing is approved, and a policy cannot be violated; Low too towards, or from, an internal
 * server that resolver_min_hosts hosts resolve through although the configured list lacks
 * it: one list to correct, or one rogue server to find); High when volume or ratio is crossed,
 * or two tunnel signs agree; Critical when four do. The resolvers' own recursion is judged by
 * the tunnel's query size alone (hd_relays): they are the servers that are supposed to talk to
 * nameservers, but not in queries of encoded data.
 *
 * Their clients are, by a tunnel's shape alone: iodine and dnscat2 use the host's resolver by
 * default, and the resolver relays every query to the attacker's nameserver, so approving it
 * (or its being a resolver in practice) hid the commonest tunnel. Volume, the population and
 * the history say only that a host uses DNS much, as mail servers and proxies do, so through a
 * resolver a finding needs a shape sign (bytes per packet, or one long 5-tuple: stub resolvers
 * take a fresh source port per query): one sign alone is Low, two signs High, four Critical,
 * confidence at most Medium, as the flows show the client's side only, unless the resolver
 * relayed a tunnel's queries to a nameserver meanwhile (both legs seen: High, the nameserver
 * named), or relayed the client's own queries one for one to a nameserver (hd_track: a
 * tunnel of small queries, whose names no cache holds, has no shape on either leg).
 *
 * With no resolvers configured, the servers that resolver_min_hosts internal hosts or more send
 * DNS to are the resolvers in practice, approved as configured ones are: judging everything
 * made every host's everyday DNS a finding (over 10,000 on the reference day, 2 M flows, among
 * them every nameserver the resolvers themselves asked). Findings name the servers so taken.
 *
 * The finish judges, in this order: the resolvers' relayed leg (hd_relays: it leaves the
 * relays of a tunnel's shape for the clients' findings to name, and ties the others to the
 * one client that drives them, hd_track), encrypted DNS past the
 * resolvers (hd_encrypted: 853, and HTTPS to public DoH resolvers), then the (host, server)
 * units above, with zone transfers among them (hd_zone_transfer).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"
#include "timearg.h"

typedef struct hd_unit {
    flow_addr_t host, peer;
    uint64_t flows, pkts_out, bytes_out, pkts_in, bytes_in;
    uint64_t bytes_udp, bytes_tcp;
    uint64_t long_lived, max_dur_ms, max_pkts, unanswered;
    uint64_t max_tcp_in, max_tcp_in_at; /* the most one TCP conversation brought back; when */
    uint64_t bytes_out_both; /* of the conversations seen both ways: the ratio's numerator */
    uint64_t first, last;
    uint32_t sampling;
    int via; /* the peer is an approved resolver (configured; resolvers in practice are
              * known at the finish) */
    int relay; /* the host is a configured resolver: its recursion (hd_relays) */
    /* its busiest bucket: a unit's conversations are fed in time order (one pass holds them
     * all), so the bucket being summed is the only open one */
    uint64_t cur_bytes, peak_bytes;
    uint32_t cur_b, peak_b;
    /* a client: 1 + the index of the relay whose queries follow its own (hd_track), else 0 */
    uint64_t tracked_by;
    uint64_t track_matched; /* how many of its queries the relay's followed */
} hd_unit_t;

/* An unsampled DNS conversation's start (ms after hd_state_t.qt_base) and unit, for hd_track:
 * eight bytes a conversation, kept to the finish (the two legs fall in different passes). */
typedef struct hd_qt {
    uint32_t t, unit;
} hd_qt_t;

/* Each unit's starts, sorted: unit i's are t[off[i] .. off[i + 1]); and the units that have
 * any, by server (peer) then index, so a resolver's clients are found without a scan of all. */
typedef struct hd_times {
    uint32_t *t;
    size_t *off;
    size_t *by_peer, n_by_peer;
    const hd_unit_t *units; /* for the sort's comparator */
} hd_times_t;

typedef struct hd_host {
    flow_addr_t host;
    uint64_t bytes_out, bytes_approved;
    uint32_t *hist; /* port-53 upstream bytes per bucket of the window (saturating) */
    double hist_med; /* hd_history's answer, once asked (hist_n + 1; 0: not yet) */
    uint32_t hist_n1;
} hd_host_t;

/* Encrypted DNS past the resolvers (hd_enc_kind): DNS over TLS or QUIC on 853, or over
 * HTTPS to a public resolver ([dns] doh_servers), per (host, server, kind, protocol). */
enum { HD_DOT = 1, HD_DOH = 2 };

typedef struct hd_enc {
    flow_addr_t host, peer;
    hunt_span_t sp; /* its conversations summed (hunt_span.c) */
    uint32_t *hist; /* bytes up per bucket of the window (saturating), for the picture */
    uint8_t kind, proto;
} hd_enc_t;

typedef struct hd_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    hj_intern_t unit_keys, host_keys, enc_keys;
    hj_vec_t units, hosts, encs;
    hj_vec_t qts;                /* hd_qt_t: the starts hd_track matches (track_min_queries > 0) */
    uint64_t qt_base;            /* an hour before the window: starts up to 49 days after it fit */
    uint64_t from_ms, bucket_ms; /* the history's buckets: [from + i * bucket_ms, ...) */
    uint32_t n_buckets;
    /* [dns] doh_servers, asked about every HTTPS conversation (most of the traffic): its
     * addresses sorted, with a bit per last byte that most addresses miss, and its networks */
    flow_addr_t *doh_hosts;
    size_t n_doh_hosts;
    uint8_t doh_last[32];
    const flow_net_t **doh_nets;
    size_t n_doh_nets;
} hd_state_t;

#define HD_HOUR_MS 3600000ull
#define HD_MAX_BUCKETS 168 /* a week of hours; longer windows take buckets of several hours */

static int hd_cmp_addr(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(flow_addr_t));
}

/* The DoH list in the shape hd_is_doh asks it (looping over the configured networks cost 9 %
 * of a dns-exfil run over 2 M flows). */
static void hd_doh_index(hd_state_t *s)
{
    const hunt_config_t *cfg = s->cfg;
    size_t n = cfg->n_doh > 0 ? (size_t)cfg->n_doh : 1;
    s->doh_hosts = hj_xmalloc(n * sizeof *s->doh_hosts);
    s->doh_nets = hj_xmalloc(n * sizeof *s->doh_nets);
    for (int i = 0; i < cfg->n_doh; i++) {
        const flow_net_t *net = &cfg->doh[i];
        if (net->plen == 128) {
            s->doh_hosts[s->n_doh_hosts++] = net->addr;
            s->doh_last[net->addr.b[15] >> 3] |= (uint8_t)(1u << (net->addr.b[15] & 7));
        } else {
            s->doh_nets[s->n_doh_nets++] = net;
        }
    }
    if (s->n_doh_hosts > 1)
        qsort(s->doh_hosts, s->n_doh_hosts, sizeof *s->doh_hosts, hd_cmp_addr);
}

static int hd_is_doh(const hd_state_t *s, const flow_addr_t *a)
{
    if ((s->doh_last[a->b[15] >> 3] >> (a->b[15] & 7)) & 1 &&
        bsearch(a, s->doh_hosts, s->n_doh_hosts, sizeof *s->doh_hosts, hd_cmp_addr))
        return 1;
    for (size_t i = 0; i < s->n_doh_nets; i++)
        if (flow_net_has(s->doh_nets[i], a))
            return 1;
    return 0;
}

static void *hd_create(const hunt_ctx_t *ctx)
{
    hd_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    hj_vec_init(&s->units, sizeof(hd_unit_t));
    hj_vec_init(&s->hosts, sizeof(hd_host_t));
    hj_vec_init(&s->encs, sizeof(hd_enc_t));
    hj_vec_init(&s->qts, sizeof(hd_qt_t));
    hd_doh_index(s);
    /* buckets start on UTC hours, so an analyst reads "the hour from 14:00" */
    s->from_ms = ctx->from_ms - ctx->from_ms % HD_HOUR_MS;
    uint64_t span = ctx->to_ms > s->from_ms ? ctx->to_ms - s->from_ms : 1;
    uint64_t hours = (span + HD_HOUR_MS - 1) / HD_HOUR_MS;
    s->bucket_ms = HD_HOUR_MS * ((hours + HD_MAX_BUCKETS - 1) / HD_MAX_BUCKETS);
    if (s->bucket_ms == 0)
        s->bucket_ms = HD_HOUR_MS;
    s->n_buckets = (uint32_t)((span + s->bucket_ms - 1) / s->bucket_ms);
    s->qt_base = s->from_ms > HD_HOUR_MS ? s->from_ms - HD_HOUR_MS : 0;
    if (s->n_buckets == 0)
        s->n_buckets = 1;
    return s;
}

/* The bucket of a conversation's start (records that began before the window count in the
 * first, any past its end in the last). */
static uint32_t hd_bucket(const hd_state_t *s, uint64_t t)
{
    uint64_t b = t > s->from_ms ? (t - s->from_ms) / s->bucket_ms : 0;
    return b < s->n_buckets ? (uint32_t)b : s->n_buckets - 1;
}

static void hd_unit_close(hd_unit_t *u)
{
    if (u->cur_bytes > u->peak_bytes) {
        u->peak_bytes = u->cur_bytes;
        u->peak_b = u->cur_b;
    }
}

/* Adds conversation c (starting in bucket b) to its (host, server) unit. */
static void hd_unit_feed(hd_state_t *s, const hunt_conv_t *c, uint32_t b, int approved, int relay)
{
    int is_new;
    flow_addr_t key[2] = {c->orig, c->resp};
    uint64_t id = hj_intern(&s->unit_keys, key, sizeof key, &is_new);
    hd_unit_t *u = hj_vec_at(&s->units, id);
    if (is_new) {
        u->host = c->orig;
        u->peer = c->resp;
        u->first = c->t_start;
        u->cur_b = b;
        u->via = approved;
        u->relay = relay;
    }
    if (b != u->cur_b) {
        hd_unit_close(u);
        u->cur_b = b;
        u->cur_bytes = 0;
    }
    u->cur_bytes += c->bytes_out;
    u->flows++;
    /* a resolver's recursion and its clients' DNS, each query's start (sampled flows miss
     * most queries of either leg, so they are not matched) */
    if (s->cfg->d_track_min > 0 && c->sampling <= 1 &&
        (s->cfg->n_resolvers == 0 || relay || approved) && c->t_start >= s->qt_base &&
        c->t_start - s->qt_base <= UINT32_MAX && id <= UINT32_MAX)
        *(hd_qt_t *)hj_vec_at(&s->qts, s->qts.n) =
            (hd_qt_t){(uint32_t)(c->t_start - s->qt_base), (uint32_t)id};
    u->pkts_out += c->pkts_out;
    u->bytes_out += c->bytes_out;
    u->pkts_in += c->pkts_in;
    u->bytes_in += c->bytes_in;
    if (c->bytes_in)
        u->bytes_out_both += c->bytes_out;
    if (c->proto == 6)
        u->bytes_tcp += c->bytes_out;
    else
        u->bytes_udp += c->bytes_out;
    /* packets as seen, not scaled: at 1:100 one sampled query made a "long" 5-tuple */
    uint64_t dur = c->t_end - c->t_start, pk = c->pkts_out + c->pkts_in,
             seen = pk / (c->sampling ? c->sampling : 1);
    if (dur >= (uint64_t)(s->cfg->d_long_s * 1000) || seen >= (uint64_t)s->cfg->d_long_pkts)
        u->long_lived++;
    if (dur > u->max_dur_ms)
        u->max_dur_ms = dur;
    if (pk > u->max_pkts)
        u->max_pkts = pk;
    if (c->proto == 6 && c->bytes_in > u->max_tcp_in) {
        u->max_tcp_in = c->bytes_in;
        u->max_tcp_in_at = c->t_start;
    }
    u->unanswered += !c->answered;
    if (c->t_start < u->first)
        u->first = c->t_start;
    if (c->t_end > u->last)
        u->last = c->t_end;
    if (c->sampling > u->sampling)
        u->sampling = c->sampling;
}

/* Whether c is encrypted DNS from an internal host (HD_DOT, HD_DOH) or not (0): answered (for
 * TCP exported one way, its flags show the handshake completed; refused is not), to port 853 (DNS
 * over TLS, RFC 7858, and over QUIC, RFC 9250: the port is DNS's alone) or to 443 of a public DoH
 * resolver. The organisation's own resolvers are approved servers and may use it upstream (checked
 * at the finish, where the resolvers in practice are known; the configured ones here). */
static int hd_enc_kind(const hd_state_t *s, const hunt_conv_t *c)
{
    const hunt_config_t *cfg = s->cfg;
    if (!c->orig_internal || c->rejected || !c->answered || (c->proto != 6 && c->proto != 17))
        return 0;
    int kind = c->resp_port == 853                             ? HD_DOT
               : c->resp_port == 443 && hd_is_doh(s, &c->resp) ? HD_DOH
                                                               : 0;
    if (!kind || hc_is_resolver(cfg, &c->orig) || hc_is_resolver(cfg, &c->resp))
        return 0;
    return kind;
}

static void hd_enc_feed(hd_state_t *s, const hunt_conv_t *c, int kind)
{
    struct {
        flow_addr_t a[2];
        uint8_t kind, proto; /* DoT and DoQ to one server are two channels */
    } key;
    memset(&key, 0, sizeof key);
    key.a[0] = c->orig;
    key.a[1] = c->resp;
    key.kind = (uint8_t)kind;
    key.proto = c->proto;
    int is_new;
    uint64_t id = hj_intern(&s->enc_keys, &key, sizeof key, &is_new);
    hd_enc_t *e = hj_vec_at(&s->encs, id);
    if (is_new) {
        e->host = c->orig;
        e->peer = c->resp;
        e->kind = (uint8_t)kind;
        e->proto = c->proto;
        e->hist = hj_xcalloc(s->n_buckets, sizeof *e->hist);
    }
    uint32_t b = hd_bucket(s, c->t_start);
    e->hist[b] =
        c->bytes_out >= UINT32_MAX - e->hist[b] ? UINT32_MAX : e->hist[b] + (uint32_t)c->bytes_out;
    hunt_span_add(&e->sp, c);
}

static void hd_feed(void *st, const hunt_conv_t *c)
{
    hd_state_t *s = st;
    int enc = hd_enc_kind(s, c);
    if (enc) {
        hd_enc_feed(s, c, enc);
        return;
    }
    /* A probe of port 53 is not DNS traffic: a scanner's SYN answered by RST (or an ICMP
     * unreachable), or a TCP attempt that never completed its handshake, carried no query. */
    if (!hp_conv_is_dns(c))
        return;
    uint32_t b = hd_bucket(s, c->t_start);
    if (hc_is_resolver(s->cfg, &c->orig)) {
        /* a resolver's recursion is its job, not a host's DNS: no population, no history;
         * only what it relays to each server is judged (hd_relays) */
        hd_unit_feed(s, c, b, 0, 1);
        return;
    }
    int is_new;
    uint64_t hid = hj_intern(&s->host_keys, c->orig.b, 16, &is_new);
    hd_host_t *h = hj_vec_at(&s->hosts, hid);
    h->host = c->orig;
    h->bytes_out += c->bytes_out;
    if (!h->hist)
        h->hist = hj_xcalloc(s->n_buckets, sizeof *h->hist);
    h->hist[b] =
        c->bytes_out >= UINT32_MAX - h->hist[b] ? UINT32_MAX : h->hist[b] + (uint32_t)c->bytes_out;
    int approved = hc_is_resolver(s->cfg, &c->resp);
    if (approved)
        h->bytes_approved += c->bytes_out;
    hd_unit_feed(s, c, b, approved, 0);
}

static void hd_part_end(void *st)
{
    (void)st; /* (host, resolver) units are small; they live for the whole run */
}

static int hd_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A picture for the HTML report: a population's values, sorted (pop[0..nh)), as bars with this
 * finding's own (host_bytes) marked; past HD_PIC_BARS a bar stands for a rank range and shows
 * its largest value, the marked one the finding's own. The hosts' port-53 upstream bytes for a
 * host's finding; the bytes per query of a resolver's nameservers for a relay's. */
#define HD_PIC_BARS 200

static void hd_pic(hunt_finding_t *f, const uint64_t *pop, size_t nh, uint64_t host_bytes,
                   const char *title, const char *xlabel, const char *ylabel, const char *marked)
{
    size_t nb = nh < HD_PIC_BARS ? nh : HD_PIC_BARS, rank = 0;
    if (nb == 0)
        return;
    for (size_t lo = 0, hi = nh; lo < hi;) { /* the last rank with the host's volume or less */
        size_t mid = lo + (hi - lo) / 2;
        if (pop[mid] <= host_bytes)
            rank = mid, lo = mid + 1;
        else
            hi = mid;
    }
    double x[HD_PIC_BARS], y[HD_PIC_BARS];
    size_t mark = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t first = b * nh / nb, last = (b + 1) * nh / nb - 1;
        x[b] = (double)first;
        y[b] = (double)pop[last];
        if (rank >= first && rank <= last) {
            y[b] = (double)host_bytes;
            mark = b + 1;
        }
    }
    int slot = f->n_series;
    hunt_finding_series(f, HUNT_SERIES_BARS, title, xlabel, ylabel, x, y, nb);
    if (f->n_series > slot) {
        f->series[slot].mark = mark;
        snprintf(f->series[slot].mark_label, sizeof f->series[slot].mark_label, "%s", marked);
    }
}

/* The host's median bucket of port-53 upstream bytes, over the buckets in which it sent any;
 * *n_out how many those are. Worked out once a host, however many units it has. */
static double hd_history(const hd_state_t *s, hd_host_t *h, uint32_t *n_out)
{
    if (h->hist_n1) {
        *n_out = h->hist_n1 - 1;
        return h->hist_med;
    }
    uint64_t v[HD_MAX_BUCKETS];
    uint32_t n = 0;
    for (uint32_t b = 0; h->hist && b < s->n_buckets && n < HD_MAX_BUCKETS; b++)
        if (h->hist[b])
            v[n++] = h->hist[b];
    qsort(v, n, sizeof *v, hd_cmp_u64); /* as the population's median is taken */
    h->hist_med = n ? (double)v[n / 2] : 0;
    h->hist_n1 = n + 1;
    *n_out = n;
    return h->hist_med;
}

/* The resolvers in practice (hunt_resolver_in_practice) among the units' servers, named in
 * the evidence. */
typedef struct hd_inferred {
    hj_intern_t keys; /* the servers taken */
    size_t n;
    char json[1024], text[1024]; /* eight servers fit either */
} hd_inferred_t;

/* How many internal hosts send DNS to a, when that is [dns] resolver_min_hosts (> 0) or more:
 * a server the organisation uses as a resolver; 0 for any other address. */
static uint64_t hd_serves_many(const hunt_ctx_t *ctx, const flow_addr_t *a)
{
    const hunt_config_t *cfg = ctx->cfg;
    if (cfg->d_res_min_hosts <= 0 || !ctx->prevalence)
        return 0;
    uint64_t clients = ctx->prevalence(ctx->prep_state, a, HP_PREV_DNS);
    return clients >= (uint64_t)cfg->d_res_min_hosts ? clients : 0;
}

uint64_t hunt_resolver_in_practice(const hunt_ctx_t *ctx, const flow_addr_t *a)
{
    return ctx->cfg->n_resolvers > 0 ? 0 : hd_serves_many(ctx, a);
}

static int hd_is_inferred(const hd_inferred_t *inf, const flow_addr_t *a)
{
    return inf->n > 0 && hj_lookup(&inf->keys, a->b, 16) != UINT64_MAX;
}

typedef struct hd_server {
    flow_addr_t a;
    uint64_t hosts;
} hd_server_t;

/* Busiest first, then by address: an order that does not depend on the units' (which
 * follows how the window was cut into passes). */
static int hd_cmp_server(const void *pa, const void *pb)
{
    const hd_server_t *a = pa, *b = pb;
    if (a->hosts != b->hosts)
        return a->hosts > b->hosts ? -1 : 1;
    return memcmp(a->a.b, b->a.b, 16);
}

static void hd_infer(const hd_state_t *s, hd_inferred_t *inf)
{
    memset(inf, 0, sizeof *inf);
    if (s->cfg->n_resolvers > 0 || s->cfg->d_res_min_hosts <= 0)
        return;
    hj_vec_t servers;
    hj_vec_init(&servers, sizeof(hd_server_t));
    for (size_t i = 0; i < s->units.n; i++) {
        const hd_unit_t *u = (const hd_unit_t *)s->units.v + i;
        uint64_t n = hunt_resolver_in_practice(s->ctx, &u->peer);
        if (!n)
            continue;
        int is_new;
        hj_intern(&inf->keys, u->peer.b, 16, &is_new);
        if (is_new)
            *(hd_server_t *)hj_vec_at(&servers, servers.n) = (hd_server_t){u->peer, n};
    }
    inf->n = servers.n;
    hd_server_t *v = servers.v;
    if (inf->n > 1)
        qsort(v, inf->n, sizeof *v, hd_cmp_server);
    size_t lj = 0, lt = 0;
    lj += (size_t)snprintf(inf->json, sizeof inf->json, "{\"min_hosts\":%.0f,\"servers\":[",
                           s->cfg->d_res_min_hosts);
    for (size_t i = 0; i < inf->n && i < 8; i++) { /* the evidence names the busiest eight */
        char a[FLOW_ADDR_STRLEN];
        flow_addr_format(&v[i].a, a);
        unsigned long long n = (unsigned long long)v[i].hosts;
        if (lj < sizeof inf->json)
            lj += (size_t)snprintf(inf->json + lj, sizeof inf->json - lj,
                                   "%s{\"address\":\"%s\",\"hosts\":%llu}", i ? "," : "", a, n);
        if (lt < sizeof inf->text)
            lt += (size_t)snprintf(inf->text + lt, sizeof inf->text - lt, "%s%s (%llu hosts)",
                                   i ? ", " : "", a, n);
    }
    hj_vec_free(&servers);
    if (lj < sizeof inf->json)
        snprintf(inf->json + lj, sizeof inf->json - lj, "],\"count\":%zu}", inf->n);
    if (lt < sizeof inf->text)
        snprintf(inf->text + lt, sizeof inf->text - lt,
                 "%s: none configured, so these (%zu in all) are taken as the approved ones",
                 inf->n > 8 ? ", ..." : "", inf->n);
}

/* A unit's traffic as evidence: counts each way, bytes per packet and the ratio. */
static void hd_ev_traffic(hev_t *e, const hd_unit_t *u)
{
    hev_int(e, "conversations", (int64_t)u->flows);
    hev_int(e, "bytes_out", (int64_t)u->bytes_out);
    hev_int(e, "bytes_in", (int64_t)u->bytes_in);
    hev_int(e, "packets_out", (int64_t)u->pkts_out);
    hev_int(e, "packets_in", (int64_t)u->pkts_in);
    hev_int(e, "bytes_udp", (int64_t)u->bytes_udp);
    hev_int(e, "bytes_tcp", (int64_t)u->bytes_tcp);
    hev_num(e, "bytes_per_packet_out", u->pkts_out ? (double)u->bytes_out / (double)u->pkts_out : 0,
            1);
    if (u->bytes_in) /* as hd_ratio_high measures it */
        hev_num(e, "up_down_ratio", (double)u->bytes_out_both / (double)u->bytes_in, 2);
    else
        hev_raw(e, "up_down_ratio", "null", "not measured (no answer seen)");
}

/* A relay's evidence: whose recursion it is, and its traffic. */
static void hd_ev_relay(hev_t *e, const hd_unit_t *u)
{
    hev_str(e, "role",
            u->relay ? "an approved resolver's recursion (in [dns] resolvers): it relays "
                       "its clients' queries to this nameserver"
                     : "a resolver in practice's recursion: it relays its clients' queries "
                       "to this nameserver");
    hd_ev_traffic(e, u);
}

/* A new dns-exfil finding of host towards peer on port, its techniques the primary and a
 * second; the two addresses as text into host_txt and peer_txt for its sentences. */
static hunt_finding_t *hd_finding(hunt_findings_t *out, const flow_addr_t *host,
                                  const flow_addr_t *peer, const char *tech, const char *tech2,
                                  int port, uint8_t proto, char host_txt[FLOW_ADDR_STRLEN],
                                  char peer_txt[FLOW_ADDR_STRLEN])
{
    hunt_finding_t *f = hunt_finding_new(out, "dns-exfil");
    hunt_finding_tech(f, tech);
    hunt_finding_tech(f, tech2);
    f->host = *host;
    flow_addr_format(host, host_txt);
    flow_addr_format(peer, peer_txt);
    snprintf(f->peer, sizeof f->peer, "%s", peer_txt);
    f->port = port;
    f->proto = proto;
    return f;
}

/* The shape of a tunnel in a unit's upstream: queries large enough to carry encoded data, over
 * enough packets to judge. */
static int hd_bpp_high(const hunt_config_t *cfg, const hd_unit_t *u)
{
    return u->pkts_out >= (uint64_t)cfg->d_bpp_min &&
           (double)u->bytes_out >= cfg->d_bpp * (double)u->pkts_out;
}

/* The ratio over the conversations seen both ways: with no answer seen (exported one way)
 * there is nothing to divide by, and 1 made every query stream "exfiltration". */
static int hd_ratio_high(const hunt_config_t *cfg, const hd_unit_t *u)
{
    return u->bytes_in && u->bytes_out_both >= (uint64_t)cfg->d_ratio_min &&
           (double)u->bytes_out_both >= cfg->d_ratio * (double)u->bytes_in;
}

/* Whether a unit is a resolver's recursion: a configured one's (marked as fed) or a resolver
 * in practice's. */
static int hd_is_relay(const hd_unit_t *u, const hd_inferred_t *inf)
{
    return u->relay || hd_is_inferred(inf, &u->host);
}

static int hd_overlap(const hd_unit_t *a, const hd_unit_t *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* The relay's picture: the bytes per query the resolver sent each server it recursed to, with
 * this nameserver's marked: a tunnel's stands above everyday recursion. */
static void hd_relay_pic(const hd_state_t *s, const hd_inferred_t *inf, const hd_unit_t *u,
                         hunt_finding_t *f)
{
    const hd_unit_t *units = s->units.v;
    uint64_t *v = hj_xmalloc((s->units.n ? s->units.n : 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->units.n; i++)
        if (hd_is_relay(&units[i], inf) && units[i].pkts_out &&
            memcmp(&units[i].host, &u->host, sizeof u->host) == 0)
            v[n++] = units[i].bytes_out / units[i].pkts_out;
    if (n > 1)
        qsort(v, n, sizeof *v, hd_cmp_u64);
    char title[64]; /* hunt_series_t's; the resolver is the finding's host */
    snprintf(title, sizeof title, "Bytes per query to each of the resolver's %zu servers", n);
    hd_pic(f, v, n, u->bytes_out / u->pkts_out, title, "servers, by size", "bytes per packet",
           "this nameserver");
    free(v);
}

static int hd_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int hd_cmp_by_peer(const void *a, const void *b, void *arg)
{
    const hd_unit_t *units = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = memcmp(units[i].peer.b, units[j].peer.b, 16);
    return c ? c : (i > j) - (i < j);
}

/* Every unit's query starts, sorted (a unit's come in time order within a pass; sorted here
 * all the same, cheaply). */
static void hd_times_build(hd_state_t *s, hd_times_t *x)
{
    size_t nu = s->units.n, nq = s->qts.n;
    const hd_qt_t *q = s->qts.v;
    x->off = hj_xcalloc(nu + 1, sizeof *x->off);
    x->t = hj_xmalloc((nq ? nq : 1) * sizeof *x->t);
    for (size_t i = 0; i < nq; i++)
        x->off[q[i].unit + 1]++;
    for (size_t i = 0; i < nu; i++)
        x->off[i + 1] += x->off[i];
    size_t *at = hj_xmalloc((nu ? nu : 1) * sizeof *at);
    memcpy(at, x->off, nu * sizeof *at);
    for (size_t i = 0; i < nq; i++)
        x->t[at[q[i].unit]++] = q[i].t;
    free(at);
    hj_vec_free(&s->qts); /* in x->t now: the finish's peak holds one copy */
    for (size_t i = 0; i < nu; i++)
        if (x->off[i + 1] - x->off[i] > 1)
            qsort(x->t + x->off[i], x->off[i + 1] - x->off[i], sizeof *x->t, hd_cmp_u32);
    x->units = s->units.v;
    x->by_peer = hj_xmalloc((nu ? nu : 1) * sizeof *x->by_peer);
    x->n_by_peer = 0;
    for (size_t i = 0; i < nu; i++)
        if (x->off[i + 1] > x->off[i])
            x->by_peer[x->n_by_peer++] = i;
    if (x->n_by_peer > 1)
        qsort_r(x->by_peer, x->n_by_peer, sizeof *x->by_peer, hd_cmp_by_peer, (void *)x->units);
}

/* The first of tm->by_peer whose unit's server is `peer` (or n_by_peer). */
static size_t hd_first_of_peer(const hd_times_t *tm, const flow_addr_t *peer)
{
    size_t lo = 0, hi = tm->n_by_peer;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(tm->units[tm->by_peer[mid]].peer.b, peer->b, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* How many of the relayed starts r[0..nr) follow a distinct client start c[0..nc) within
 * `win` ms either way (clocks of two exporters), each start matched once: taken in order, each
 * relayed query takes the earliest client query still free within reach, which matches as
 * many as any pairing can. */
static uint64_t hd_track_match(const uint32_t *r, size_t nr, const uint32_t *c, size_t nc,
                               uint64_t win)
{
    uint64_t m = 0;
    size_t j = 0;
    for (size_t i = 0; i < nr; i++) {
        while (j < nc && (uint64_t)c[j] + win < r[i])
            j++;
        if (j < nc && c[j] <= (uint64_t)r[i] + win) {
            m++;
            j++;
        }
    }
    return m;
}

/* A tunnel through the resolver whose queries are small (iodine's NULL queries are 104 bytes a
 * packet, an everyday query's size): neither leg has a tunnel's shape, but every query carries
 * a name never asked before, so the resolver relays each one to the tunnel's nameserver as the
 * client sends it, where everyday names are mostly answered from its cache and spread over
 * many nameservers. Relay unit `ri`'s queries are matched against each client's of that
 * resolver: one client whose queries, one for one and within track_ms, account for
 * track_nameserver_share of the nameserver's and track_host_share of its own, and at least
 * track_min_queries, drives that nameserver. Needs every query of both legs (unsampled flows).
 * The client found is marked (tracked_by) for its own finding; the resolver's finding names the
 * nameserver. 1 when found. */
static int hd_track(hd_state_t *s, const hd_inferred_t *inf, const hd_times_t *tm, size_t ri,
                    hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    hd_unit_t *units = s->units.v;
    const hd_unit_t *u = &units[ri];
    const uint32_t *r = tm->t + tm->off[ri];
    size_t nr = tm->off[ri + 1] - tm->off[ri];
    if (cfg->d_track_min <= 0 || nr < (size_t)cfg->d_track_min || u->sampling > 1)
        return 0;
    uint64_t best = 0;
    size_t bj = 0;
    for (size_t k = hd_first_of_peer(tm, &u->host);
         k < tm->n_by_peer && !memcmp(units[tm->by_peer[k]].peer.b, u->host.b, 16); k++) {
        size_t j = tm->by_peer[k];
        const hd_unit_t *c = &units[j];
        size_t nc = tm->off[j + 1] - tm->off[j];
        /* too few queries to explain the nameserver's share, or so many that the share of its
         * own it would need is more than the nameserver got */
        if (hd_is_relay(c, inf) || c->sampling > 1 || (double)nc < cfg->d_track_ns * (double)nr ||
            cfg->d_track_host * (double)nc > (double)nr || !hd_overlap(c, u))
            continue;
        uint64_t m = hd_track_match(r, nr, tm->t + tm->off[j], nc, (uint64_t)cfg->d_track_ms);
        if (m > best) {
            best = m;
            bj = j;
        }
    }
    size_t nb = best ? tm->off[bj + 1] - tm->off[bj] : 0;
    if (!best || best < (uint64_t)cfg->d_track_min || (double)best < cfg->d_track_ns * (double)nr ||
        (double)best < cfg->d_track_host * (double)nb)
        return 0;
    hd_unit_t *c = &units[bj];
    c->tracked_by = ri + 1;
    c->track_matched = best;
    char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN], client[FLOW_ADDR_STRLEN];
    flow_addr_format(&c->host, client);
    hunt_finding_t *f = hd_finding(out, &u->host, &u->peer, "T1071.004", "T1572", 53,
                                   u->bytes_tcp > u->bytes_udp ? 6 : 17, host, peer);
    f->first_seen = u->first;
    f->last_seen = u->last;
    f->risk = HUNT_RISK_HIGH;
    f->score = 1 + (double)best / (double)nr;
    /* cache-busting names can be a product's too (DNS-based reputation lookups): the flows
     * cannot tell which, the resolver's query log can */
    f->confidence = HUNT_CONF_MEDIUM;
    snprintf(f->summary, sizeof f->summary,
             "%s's queries drive nameserver %s through resolver %s: %llu of its queries "
             "follow the host's one for one",
             client, peer, host, (unsigned long long)best);
    snprintf(f->filter, sizeof f->filter, "host %s and host %s and port 53", host, peer);
    snprintf(f->action, sizeof f->action,
             "Contain: in %s's query log, find the domain %s serves (long or random labels "
             "under it, asked by %s); block it and %s at the resolvers and the egress, and "
             "isolate %s to find the process. %s itself is not the compromised host.",
             host, peer, client, peer, client, host);
    hev_t *e = &f->ev;
    hd_ev_relay(e, u);
    char j[400], t[400];
    snprintf(j, sizeof j,
             "{\"client\":\"%s\",\"client_queries\":%zu,\"nameserver_queries\":%zu,"
             "\"matched\":%llu,\"within_ms\":%.0f,\"nameserver_share\":%.3f,"
             "\"client_share\":%.3f}",
             client, nb, nr, (unsigned long long)best, cfg->d_track_ms, (double)best / (double)nr,
             (double)best / (double)nb);
    snprintf(t, sizeof t,
             "%llu of the %zu queries to %s each began within %.0f ms of one of %s's %zu to "
             "%s (%.0f %% of the nameserver's, %.0f %% of the client's)",
             (unsigned long long)best, nr, peer, cfg->d_track_ms, client, nb, host,
             100.0 * (double)best / (double)nr, 100.0 * (double)best / (double)nb);
    hev_raw(e, "relay_tracking", j, t);
    snprintf(t, sizeof t,
             "at least %g matched queries, %g of the nameserver's and %g of the client's, each "
             "within %g ms",
             cfg->d_track_min, cfg->d_track_ns, cfg->d_track_host, cfg->d_track_ms);
    hev_str(e, "thresholds", t);
    hev_int(e, "sampling", u->sampling ? u->sampling : 1);
    hd_relay_pic(s, inf, u, f);
    hunt_finding_allow(cfg, f, 1);
    return 1;
}

/* The relayed leg of tunnels through the organisation's resolvers (hunting-methods.md 3.3,
 * the resolver's side). A resolver's recursion is its job, so its volume, its ratio to one
 * server or its share say nothing alone: an everyday nameserver gets queries of 60-120 bytes
 * and answers them with more. One that gets queries the size of encoded data (bytes per
 * packet, the client side's sign) is a tunnel's nameserver, whoever the client is; its answers
 * smaller than the queries (the ratio) or a large volume make it High. The finding names the
 * nameserver, the one address to block, and the clients whose DNS to that resolver has a
 * tunnel's shape in the same hours (the resolver's query log ties them); a client's own
 * finding names the nameserver in turn (hd_relayed_to). The relays kept are appended to
 * `shaped` (unit indices). */
static void hd_relays(hd_state_t *s, const hd_inferred_t *inf, const hd_times_t *tm,
                      hj_vec_t *shaped, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    const hd_unit_t *units = s->units.v;
    for (size_t i = 0; i < s->units.n; i++) {
        const hd_unit_t *u = &units[i];
        /* forwarding between the organisation's own resolvers is the same recursion */
        if (!hd_is_relay(u, inf) || hc_is_resolver(cfg, &u->peer) || hd_is_inferred(inf, &u->peer))
            continue;
        if (u->flows < (uint64_t)cfg->d_min_flows)
            continue;
        if (!hd_bpp_high(cfg, u)) {
            hd_track(s, inf, tm, i, out); /* small queries: does one client drive it? */
            continue;
        }
        *(uint64_t *)hj_vec_at(shaped, shaped->n) = i;
        int ratio_high = hd_ratio_high(cfg, u),
            volume_high = u->bytes_out >= (uint64_t)cfg->d_volume;
        /* the clients shaped like a tunnel towards this resolver while it relayed */
        char cj[640] = "[", ct[512] = "";
        size_t lj = 1, lt = 0, n_clients = 0;
        for (size_t j = 0; j < s->units.n; j++) {
            const hd_unit_t *c = &units[j];
            if (hd_is_relay(c, inf) || memcmp(&c->peer, &u->host, sizeof c->peer) != 0 ||
                !hd_overlap(c, u) || !(hd_bpp_high(cfg, c) || c->long_lived > 0))
                continue;
            if (n_clients++ >= 8) /* the evidence names eight; the count says how many */
                continue;
            char a[FLOW_ADDR_STRLEN];
            flow_addr_format(&c->host, a);
            if (lj < sizeof cj)
                lj += (size_t)snprintf(
                    cj + lj, sizeof cj - lj, "%s{\"address\":\"%s\",\"bytes_out\":%llu}",
                    n_clients > 1 ? "," : "", a, (unsigned long long)c->bytes_out);
            if (lt < sizeof ct)
                lt += (size_t)snprintf(ct + lt, sizeof ct - lt, "%s%s (%llu bytes)",
                                       n_clients > 1 ? ", " : "", a,
                                       (unsigned long long)c->bytes_out);
        }
        if (lj < sizeof cj)
            snprintf(cj + lj, sizeof cj - lj, "]");
        double bpp = (double)u->bytes_out / (double)u->pkts_out;
        char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN];
        hunt_finding_t *f = hd_finding(out, &u->host, &u->peer, "T1048.003", "T1071.004", 53,
                                       u->bytes_tcp > u->bytes_udp ? 6 : 17, host, peer);
        f->first_seen = u->first;
        f->last_seen = u->last;
        f->risk = ratio_high || volume_high || n_clients ? HUNT_RISK_HIGH : HUNT_RISK_MEDIUM;
        int k = 1 + ratio_high + volume_high;
        f->score = k + (double)u->bytes_out / 1e9;
        int conf = ratio_high || n_clients ? HUNT_CONF_HIGH : HUNT_CONF_MEDIUM;
        if (u->sampling >= 100)
            conf = HUNT_CONF_LOW;
        else if (u->sampling > 1 && conf > HUNT_CONF_LOW)
            conf--;
        f->confidence = conf;
        snprintf(f->summary, sizeof f->summary,
                 "resolver %s relayed %llu bytes in %llu DNS conversations to nameserver %s, "
                 "in queries of %.0f bytes a packet: a tunnel's nameserver",
                 host, (unsigned long long)u->bytes_out, (unsigned long long)u->flows, peer, bpp);
        snprintf(f->filter, sizeof f->filter, "host %s and host %s and port 53", host, peer);
        int len = snprintf(f->action, sizeof f->action,
                           "Contain: block %s, and the domain it serves (%s's query log names "
                           "it), at the resolvers and the egress; then find the client: %s%s. "
                           "%s itself is not the compromised host.",
                           peer, host,
                           n_clients ? "the hosts shaped like a tunnel through it in these "
                                       "hours are "
                                     : "no host's DNS to the resolver has a tunnel's shape in "
                                       "these hours, so its query log for that domain tells",
                           n_clients ? ct : "", host);
        if (len >= (int)sizeof f->action)
            memcpy(f->action + sizeof f->action - 4, "...", 4);
        hev_t *e = &f->ev;
        hd_ev_relay(e, u);
        char tj[96], tt[96];
        snprintf(tj, sizeof tj, "[\"bytes_per_packet\"%s%s]",
                 ratio_high ? ",\"up_down_ratio\"" : "", volume_high ? ",\"volume\"" : "");
        snprintf(tt, sizeof tt, "bytes_per_packet%s%s", ratio_high ? ", up_down_ratio" : "",
                 volume_high ? ", volume" : "");
        hev_raw(e, "thresholds_crossed", tj, tt);
        char t[768];
        snprintf(t, sizeof t,
                 "bytes/packet >= %g over >= %g packets; ratio >= %g over >= %g bytes; volume "
                 ">= %g bytes",
                 cfg->d_bpp, cfg->d_bpp_min, cfg->d_ratio, cfg->d_ratio_min, cfg->d_volume);
        hev_str(e, "thresholds", t);
        char cl[720];
        snprintf(cl, sizeof cl, "{\"count\":%zu,\"hosts\":%s}", n_clients, cj);
        snprintf(t, sizeof t, "%zu host%s shaped like a tunnel towards %s in these hours%s%s",
                 n_clients, n_clients == 1 ? "" : "s", host, n_clients ? ": " : "",
                 n_clients ? ct : "");
        hev_raw(e, "clients", cl, t);
        hev_int(e, "sampling", u->sampling ? u->sampling : 1);
        hd_relay_pic(s, inf, u, f);
        hunt_finding_allow(cfg, f, 1);
    }
}

/* The nameservers a client's resolver relayed a tunnel to while the client's DNS to it had a
 * tunnel's shape (hd_relays' `shaped`), into text (comma-separated); how many. */
static size_t hd_relayed_to(const hd_state_t *s, const hj_vec_t *shaped, const hd_unit_t *c,
                            char *text, size_t cap)
{
    size_t n = 0, l = 0;
    text[0] = 0;
    for (size_t i = 0; i < shaped->n; i++) {
        const hd_unit_t *r = (const hd_unit_t *)s->units.v + ((const uint64_t *)shaped->v)[i];
        if (memcmp(&r->host, &c->peer, sizeof r->host) != 0 || !hd_overlap(c, r))
            continue;
        char a[FLOW_ADDR_STRLEN];
        flow_addr_format(&r->peer, a);
        if (l < cap)
            l += (size_t)snprintf(text + l, cap - l, "%s%s", n ? ", " : "", a);
        n++;
    }
    return n;
}

/* An encrypted channel's picture: its bytes up per bucket of the window (hours, or several
 * hours in a long window), so the analyst sees when it was used. */
static void hd_enc_pic(const hd_state_t *s, const hd_enc_t *u, hunt_finding_t *f)
{
    double *x = hj_xmalloc(s->n_buckets * sizeof *x), *y = hj_xmalloc(s->n_buckets * sizeof *y);
    for (uint32_t b = 0; b < s->n_buckets; b++) {
        x[b] = (double)(s->from_ms + (uint64_t)b * s->bucket_ms);
        y[b] = u->hist[b];
    }
    char title[64];
    unsigned bh = (unsigned)(s->bucket_ms / HD_HOUR_MS);
    if (bh == 1)
        snprintf(title, sizeof title, "Bytes up per hour");
    else
        snprintf(title, sizeof title, "Bytes up per %u hours", bh);
    hunt_finding_series(f, HUNT_SERIES_BARS, title, "ms since epoch", "bytes up", x, y,
                        s->n_buckets);
    /* one bar has no neighbour to take its width from (hunt_long.c's note) */
    if (f->n_series > 0)
        f->series[f->n_series - 1].x_end =
            (double)(s->from_ms + (uint64_t)s->n_buckets * s->bucket_ms);
    free(x);
    free(y);
}

/* Encrypted DNS past the resolvers (hunting-methods.md 3.3, resolver policy): a host that
 * resolves over TLS on 853 or over HTTPS to a public resolver bypasses the organisation's
 * resolvers, their logs and their blocking, which is what malware hiding its lookups (and C2
 * over DoH) wants, and what a browser's or VPN client's setting does. The flows show the
 * channel, not the names: Medium as any DNS egress past the approved resolvers (Low with none
 * configured or seen), High with `volume_bytes` upstream; Low where resolver_min_hosts hosts or
 * more use the server the same way (a setting the organisation rolled out: one thing to
 * check, and the text report folds it). */
static void hd_encrypted(const hd_state_t *s, const hd_inferred_t *inf, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    const hd_enc_t *encs = s->encs.v;
    /* how many internal hosts use each server the same way (kind and protocol) */
    hj_intern_t srv_keys;
    hj_vec_t users;
    memset(&srv_keys, 0, sizeof srv_keys);
    hj_vec_init(&users, sizeof(uint64_t));
    uint64_t *srv_of = hj_xmalloc((s->encs.n ? s->encs.n : 1) * sizeof *srv_of);
    for (size_t i = 0; i < s->encs.n; i++) {
        struct {
            flow_addr_t a;
            uint8_t kind, proto;
        } key;
        memset(&key, 0, sizeof key);
        key.a = encs[i].peer;
        key.kind = encs[i].kind;
        key.proto = encs[i].proto;
        int is_new;
        srv_of[i] = hj_intern(&srv_keys, &key, sizeof key, &is_new);
        (*(uint64_t *)hj_vec_at(&users, srv_of[i]))++;
    }
    for (size_t i = 0; i < s->encs.n; i++) {
        const hd_enc_t *u = &encs[i];
        /* the resolvers in practice: the organisation's servers, as configured ones are */
        if (hd_is_inferred(inf, &u->host) || hd_is_inferred(inf, &u->peer))
            continue;
        uint64_t n_users = ((const uint64_t *)users.v)[srv_of[i]];
        int org_wide = cfg->d_res_min_hosts > 0 && n_users >= (uint64_t)cfg->d_res_min_hosts;
        int volume_high = u->sp.bytes_out >= (uint64_t)cfg->d_volume;
        int policy = cfg->n_resolvers > 0 || inf->n > 0;
        const int port = u->kind == HD_DOT ? 853 : 443;
        char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN];
        hunt_finding_t *f =
            hd_finding(out, &u->host, &u->peer, "T1071.004", "T1572", port, u->proto, host, peer);
        f->first_seen = u->sp.first;
        f->last_seen = u->sp.last;
        f->risk = org_wide      ? HUNT_RISK_LOW
                  : volume_high ? HUNT_RISK_HIGH
                  : policy      ? HUNT_RISK_MEDIUM
                                : HUNT_RISK_LOW;
        f->score = volume_high + (double)u->sp.bytes_out / 1e9;
        /* 853 is DNS's alone, and the listed servers serve nothing but DNS on 443 */
        int conf = HUNT_CONF_HIGH;
        if (u->sp.sampling >= 100)
            conf = HUNT_CONF_LOW;
        else if (u->sp.sampling > 1)
            conf = HUNT_CONF_MEDIUM;
        f->confidence = conf;
        const char *what = u->kind == HD_DOT ? (u->proto == 17 ? "DNS over QUIC (853/udp)"
                                                               : "DNS over TLS (853/tcp)")
                                             : "DNS over HTTPS (443)";
        snprintf(f->summary, sizeof f->summary,
                 "%s resolved through %s by %s, past the %s resolvers: %llu conversation%s, "
                 "%llu bytes up",
                 host, peer, what, cfg->n_resolvers ? "approved" : "organisation's",
                 (unsigned long long)u->sp.conns, u->sp.conns == 1 ? "" : "s",
                 (unsigned long long)u->sp.bytes_out);
        snprintf(f->filter, sizeof f->filter, "host %s and host %s and port %d", host, peer, port);
        if (org_wide)
            snprintf(f->action, sizeof f->action,
                     "Check the setting: %llu internal hosts use %s by %s, which looks like a "
                     "browser or OS policy; point it at the organisation's resolvers (or "
                     "allow-list the server), so that DNS stays logged and filtered.",
                     (unsigned long long)n_users, peer, what);
        else
            snprintf(f->action, sizeof f->action,
                     "%s: find the process on %s that resolves through %s (a browser's or VPN "
                     "client's setting, or malware hiding its lookups); block 853 and the "
                     "public DoH resolvers on 443 for hosts that are not resolvers%s.",
                     volume_high ? "Contain" : "Investigate", host, peer,
                     volume_high ? ", and estimate what left from the upstream bytes" : "");
        hev_t *e = &f->ev;
        hev_str(e, "channel", what);
        hev_int(e, "conversations", (int64_t)u->sp.conns);
        hev_int(e, "bytes_out", (int64_t)u->sp.bytes_out);
        hev_int(e, "bytes_in", (int64_t)u->sp.bytes_in);
        hev_int(e, "packets_out", (int64_t)u->sp.pkts_out);
        hev_int(e, "packets_in", (int64_t)u->sp.pkts_in);
        hev_int(e, "internal_hosts_using_server", (int64_t)n_users);
        if (volume_high)
            hev_raw(e, "thresholds_crossed", "[\"volume\"]", "volume");
        char t[160];
        snprintf(t, sizeof t, "volume >= %g bytes; %g hosts or more on one server: a setting",
                 cfg->d_volume, cfg->d_res_min_hosts);
        hev_str(e, "thresholds", t);
        hev_int(e, "approved_resolvers_configured", cfg->n_resolvers);
        if (inf->n > 0)
            hev_raw(e, "resolvers_in_practice", inf->json, inf->text);
        hev_int(e, "sampling", u->sp.sampling ? u->sp.sampling : 1);
        hd_enc_pic(s, u, f);
        hunt_finding_allow(cfg, f, 1);
    }
    free(srv_of);
    hj_vec_free(&users);
    hj_intern_free(&srv_keys);
}

/* A zone transfer (hunting-methods.md 3.3: TCP/53 with non-trivial bytes from a client that is
 * not a resolver; MITRE T1590.002 names zone transfers): one TCP/53 connection that brought a
 * host serving no DNS itself `zone_transfer_bytes` or more. Answers that large are a zone
 * (AXFR, or IXFR), which secondaries fetch, not workstations: an attacker mapping the network
 * from a foothold (`dig axfr`, a scanner's DNS script) does. Medium, as reconnaissance; the
 * server's own log names the zone and says whether it refused. A unit of a DNS exfil finding
 * too is reported twice, each for what it is. */
static void hd_zone_transfer(const hd_state_t *s, const hd_unit_t *u, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN], at[32];
    hunt_finding_t *f =
        hd_finding(out, &u->host, &u->peer, "T1590.002", "T1018", 53, 6, host, peer);
    f->first_seen = u->first;
    f->last_seen = u->last;
    f->risk = HUNT_RISK_MEDIUM;
    f->score = (double)u->max_tcp_in / 1e9;
    f->confidence = u->sampling > 1 ? HUNT_CONF_LOW : HUNT_CONF_MEDIUM;
    timearg_format_iso(u->max_tcp_in_at, at);
    snprintf(f->summary, sizeof f->summary,
             "%s received %llu bytes in one TCP/53 connection from %s at %s: a zone transfer "
             "to a host that serves no DNS",
             host, (unsigned long long)u->max_tcp_in, peer, at);
    snprintf(f->filter, sizeof f->filter, "host %s and host %s and port 53 and proto tcp", host,
             peer);
    snprintf(f->action, sizeof f->action,
             "Investigate: check in %s's log which zone %s transferred; if %s is not one of its "
             "secondaries, find what on it asked (dig/nslookup AXFR, a scanner) and allow zone "
             "transfers on %s to its secondaries only.",
             peer, host, host, peer);
    hev_t *e = &f->ev;
    hev_int(e, "largest_tcp_answer_bytes", (int64_t)u->max_tcp_in);
    hev_str(e, "largest_at", at);
    hd_ev_traffic(e, u);
    char t[96];
    snprintf(t, sizeof t, "one TCP/53 connection bringing >= %g bytes", cfg->d_axfr);
    hev_str(e, "thresholds", t);
    hev_int(e, "sampling", u->sampling ? u->sampling : 1);
    hunt_finding_allow(cfg, f, 1);
}

static void hd_finish(void *st, hunt_findings_t *out)
{
    hd_state_t *s = st;
    const hunt_config_t *cfg = s->cfg;
    /* the population: every internal host's port-53 upstream bytes */
    size_t nh = s->hosts.n;
    double med = 0, mad = 0;
    if (nh > 0) {
        uint64_t *v = hj_xmalloc(nh * sizeof *v);
        for (size_t i = 0; i < nh; i++)
            v[i] = ((hd_host_t *)s->hosts.v)[i].bytes_out;
        if (nh > 1)
            qsort(v, nh, sizeof *v, hd_cmp_u64);
        med = (double)v[nh / 2];
        for (size_t i = 0; i < nh; i++)
            v[i] = (uint64_t)fabs((double)v[i] - med);
        if (nh > 1)
            qsort(v, nh, sizeof *v, hd_cmp_u64);
        mad = (double)v[nh / 2];
        free(v);
    }
    /* a floor, so a population of near-identical hosts does not make every byte an outlier */
    /* the population sorted once more, for the findings' pictures */
    uint64_t *pop = hj_xmalloc((nh ? nh : 1) * sizeof *pop);
    for (size_t i = 0; i < nh; i++)
        pop[i] = ((hd_host_t *)s->hosts.v)[i].bytes_out;
    if (nh > 1)
        qsort(pop, nh, sizeof *pop, hd_cmp_u64);
    double scale = 1.4826 * mad;
    if (scale < 0.05 * med)
        scale = 0.05 * med;
    if (scale < 1000)
        scale = 1000;

    hd_inferred_t inf;
    hd_infer(s, &inf);
    hj_vec_t shaped; /* the relays of a tunnel's shape (hd_relays) */
    hj_vec_init(&shaped, sizeof(uint64_t));
    hd_times_t tm;
    hd_times_build(s, &tm);
    hd_relays(s, &inf, &tm, &shaped, out);
    free(tm.t);
    free(tm.off);
    free(tm.by_peer);
    hd_encrypted(s, &inf, out);
    for (size_t i = 0; i < s->units.n; i++) {
        hd_unit_t *u = (hd_unit_t *)s->units.v + i;
        if (u->flows < (uint64_t)cfg->d_min_flows)
            continue;
        /* a resolver's recursion (hd_relays); a resolver in practice's clients are judged as
         * an approved resolver's are */
        if (hd_is_relay(u, &inf))
            continue;
        const int via = u->via || hd_is_inferred(&inf, &u->peer);
        uint64_t hid = hj_lookup(&s->host_keys, u->host.b, 16);
        hd_host_t *h = (hd_host_t *)s->hosts.v + hid;
        double z = nh >= 2 ? ((double)h->bytes_out - med) / scale : 0;
        int bpp_high = hd_bpp_high(cfg, u), ratio_high = hd_ratio_high(cfg, u);
        int long_lived = u->long_lived > 0;
        int volume_high = u->bytes_out >= (uint64_t)cfg->d_volume;
        int pop_high = nh >= 10 && z >= cfg->d_pop_z;
        hd_unit_close(u);
        uint32_t hours;
        double hmed = hd_history(s, h, &hours);
        double hfactor = hmed > 0 ? (double)u->peak_bytes / hmed : 0;
        int hist_high = hours >= (uint32_t)cfg->d_hist_min_hours &&
                        u->peak_bytes >= (uint64_t)cfg->d_hist_min_bytes &&
                        hfactor >= cfg->d_hist_factor;
        /* A server many hosts resolve through, when resolvers are configured (none: it is
         * inferred as one and not hunted): its own DNS is their recursion, so its volume,
         * alone or against the population, counts its clients, not a tunnel. Only the
         * shape of what it sends can be a sign. */
        uint64_t serves = cfg->n_resolvers > 0 ? hd_serves_many(s->ctx, &u->host) : 0;
        if (serves)
            volume_high = pop_high = hist_high = 0;
        else if (cfg->d_axfr > 0 && u->max_tcp_in >= (uint64_t)cfg->d_axfr)
            hd_zone_transfer(s, u, out);
        int k = bpp_high + ratio_high + long_lived + volume_high + pop_high + hist_high;
        /* Through a resolver the organisation uses (the header says why): only a tunnel's
         * shape makes a finding, as much DNS through it is what busy hosts do. */
        if (via && !(bpp_high || long_lived || u->tracked_by))
            continue;
        /* A resolver the configuration lacks: an internal server that many hosts resolve
         * through although it is not among the configured ones (its clients' DNS, and its own
         * recursion). Each host's use of it breaks the policy as written, but hundreds of
         * hosts doing so say the list is incomplete (IPv6 resolvers, a branch office's) or a
         * rogue server answers the network: one thing to check, not hundreds of Medium
         * findings. The policy part alone is Low then (a block of its own in the text
         * report); tunnel signs raise the risk as anywhere. */
        uint64_t unlisted_peer = 0, unlisted_host = 0;
        if (cfg->n_resolvers > 0 && k == 0 && !via) {
            if (hc_is_internal(cfg, &u->peer))
                unlisted_peer = hd_serves_many(s->ctx, &u->peer);
            unlisted_host = serves;
        }
        /* through a resolver that relayed a tunnel's queries meanwhile: both legs are seen */
        char relayed[192]; /* four IPv6 nameservers fit */
        size_t n_relayed = via ? hd_relayed_to(s, &shaped, u, relayed, sizeof relayed) : 0;
        int risk;
        if (k >= 4)
            risk = HUNT_RISK_CRITICAL;
        else if (via)
            risk = k >= 2 || n_relayed || u->tracked_by ? HUNT_RISK_HIGH : HUNT_RISK_LOW;
        else if (volume_high || ratio_high || k >= 2)
            risk = HUNT_RISK_HIGH;
        else if (k == 1 || ((cfg->n_resolvers > 0 || inf.n > 0) && !unlisted_peer &&
                            !unlisted_host))
            risk = HUNT_RISK_MEDIUM;
        else
            risk = HUNT_RISK_LOW;
        int exfil = bpp_high || ratio_high || volume_high;
        char host[FLOW_ADDR_STRLEN], peer[FLOW_ADDR_STRLEN];
        hunt_finding_t *f =
            hd_finding(out, &u->host, &u->peer, exfil ? "T1048.003" : "T1071.004", "T1071.004", 53,
                       u->bytes_tcp > u->bytes_udp ? 6 : 17, host, peer);
        f->first_seen = u->first;
        f->last_seen = u->last;
        f->risk = risk;
        f->score = k + (double)u->bytes_out / 1e9;
        int conf = k >= 2 && u->pkts_out >= (uint64_t)cfg->d_bpp_min ? HUNT_CONF_HIGH
                   : k >= 1                                          ? HUNT_CONF_MEDIUM
                                                                     : HUNT_CONF_LOW;
        /* through a resolver the flows show the client's side only: its log tells */
        if (via && conf > HUNT_CONF_MEDIUM && !n_relayed)
            conf = HUNT_CONF_MEDIUM;
        /* both legs seen, one for one; cache-busting names can be a product's too */
        if (u->tracked_by && conf < HUNT_CONF_MEDIUM)
            conf = HUNT_CONF_MEDIUM;
        if (u->sampling >= 100)
            conf = HUNT_CONF_LOW;
        else if (u->sampling > 1 && conf > HUNT_CONF_LOW)
            conf--;
        f->confidence = conf;
        int internal_peer = hc_is_internal(cfg, &u->peer);
        char tracked[FLOW_ADDR_STRLEN] = "";
        if (u->tracked_by)
            flow_addr_format(&((const hd_unit_t *)s->units.v)[u->tracked_by - 1].peer, tracked);
        if (u->tracked_by && !(bpp_high || long_lived))
            snprintf(f->summary, sizeof f->summary,
                     "%s's DNS through resolver %s drives nameserver %s: %llu of its %llu "
                     "queries were relayed to it one for one",
                     host, peer, tracked, (unsigned long long)u->track_matched,
                     (unsigned long long)u->flows);
        else if (via)
            snprintf(f->summary, sizeof f->summary,
                     "%s sent %llu bytes in %llu DNS conversations through %s resolver %s, "
                     "shaped like a tunnel (%d tunnel sign%s)",
                     host, (unsigned long long)u->bytes_out, (unsigned long long)u->flows,
                     u->via ? "approved" : "the organisation's", peer, k, k == 1 ? "" : "s");
        else
            snprintf(f->summary, sizeof f->summary,
                     "%s sent %llu bytes in %llu DNS conversations to %s resolver %s, not an "
                     "approved one (%d tunnel sign%s)",
                     host, (unsigned long long)u->bytes_out, (unsigned long long)u->flows,
                     internal_peer ? "internal" : "external", peer, k, k == 1 ? "" : "s");
        snprintf(f->filter, sizeof f->filter, "host %s and host %s and port 53", host, peer);
        /* which thresholds were crossed */
        char tj[256] = "[", tt[256] = "";
        struct {
            int on;
            const char *name;
        } signs[] = {{bpp_high, "bytes_per_packet"},        {ratio_high, "up_down_ratio"},
                     {long_lived, "long_lived_5tuple"},     {volume_high, "volume"},
                     {pop_high, "population_outlier"},      {hist_high, "own_history"},
                     {u->tracked_by != 0, "relay_tracking"}};
        int first = 1;
        for (size_t x = 0; x < sizeof signs / sizeof signs[0]; x++) {
            if (!signs[x].on)
                continue;
            size_t l = strlen(tj);
            snprintf(tj + l, sizeof tj - l, "%s\"%s\"", first ? "" : ",", signs[x].name);
            l = strlen(tt);
            snprintf(tt + l, sizeof tt - l, "%s%s", first ? "" : ", ", signs[x].name);
            first = 0;
        }
        strcat(tj, "]");
        if (first)
            snprintf(tt, sizeof tt, "none (policy: DNS to a resolver that is not approved)");
        if (u->tracked_by)
            snprintf(f->action, sizeof f->action,
                     "Contain: block %s (the nameserver %s relays this host's queries to, one "
                     "for one: a tunnel's names, never cached) and its domain at the resolvers; "
                     "isolate %s and find the process that sends the queries.",
                     tracked, peer, host);
        else if (n_relayed)
            snprintf(f->action, sizeof f->action,
                     "Contain: block %s (the nameserver %s relayed a tunnel's queries to while "
                     "this host's DNS had a tunnel's shape) and its domain at the resolvers; "
                     "isolate %s and find the process that sends the queries.",
                     relayed, peer, host);
        else if (via)
            /* The resolver relays the tunnel to the attacker's nameserver: it is where the
             * domain shows, and where it is blocked, without cutting the host's DNS. */
            snprintf(f->action, sizeof f->action,
                     "%s: in %s's query log, find the domain %s's queries go to (long or "
                     "random labels under one domain, TXT/NULL/CNAME answers, one source port "
                     "for many queries); block it at the resolver, and find the process on %s "
                     "that sends them%s.",
                     risk >= HUNT_RISK_HIGH ? "Contain" : "Investigate", peer, host, host,
                     risk >= HUNT_RISK_HIGH ? " (isolate the host when confirmed)" : "");
        else if (risk >= HUNT_RISK_HIGH)
            /* With no approved set the advice names the policy to adopt, not a list that is
             * not there. */
            snprintf(f->action, sizeof f->action,
                     "Contain: block port 53 from %s to %s (%s), isolate %s, and find the "
                     "process using the tunnel; estimate what left from the %llu upstream bytes.",
                     host, peer,
                     cfg->n_resolvers ? "allow DNS only to the approved resolvers"
                                      : "allow DNS only to the organisation's resolvers, and "
                                        "list them in [dns] resolvers",
                     host, (unsigned long long)u->bytes_out);
        else if (unlisted_peer || unlisted_host)
            snprintf(f->action, sizeof f->action,
                     "Check %s: when it is one of the organisation's resolvers, add it to "
                     "[dns] resolvers (its %s is then normal DNS); when it is not, find who "
                     "runs it and why %llu internal hosts resolve through it.",
                     unlisted_peer ? peer : host, unlisted_peer ? "clients' DNS" : "recursion",
                     (unsigned long long)(unlisted_peer ? unlisted_peer : unlisted_host));
        else if (k >= 1) {
            /* A tunnel sign: the question is what the queries carry, not which resolvers to
             * approve (an approved resolver's clients are not judged, so listing this one
             * would silence the very channel the sign points at: iodine's one 5-tuple). */
            int len = snprintf(f->action, sizeof f->action,
                               "Investigate: the DNS from %s to %s shows %d tunnel sign%s (%s): "
                               "review the queries (resolver logs or a capture: long or random "
                               "labels, TXT/NULL answers, one source port for many queries) and "
                               "find the process sending them before approving %s as a "
                               "resolver (through an approved one only a tunnel's shape is "
                               "hunted: bytes per packet, one long 5-tuple).",
                               host, peer, k, k == 1 ? "" : "s", tt, peer);
            if (len >= (int)sizeof f->action) /* only with every sign and long IPv6 addresses */
                memcpy(f->action + sizeof f->action - 4, "...", 4);
        } else if (cfg->n_resolvers == 0) /* no approved set to hold it against */
            snprintf(f->action, sizeof f->action,
                     "Check %s: when it is one of the organisation's resolvers, list the "
                     "resolvers in [dns] resolvers (none are, and too few hosts use this one "
                     "to take it for one); when it is not, find why %s resolves through it "
                     "(VPN client, hard-coded resolver, malware).",
                     peer, host);
        else
            snprintf(f->action, sizeof f->action,
                     "Investigate: find why %s resolves through %s instead of the approved "
                     "resolvers (VPN client, hard-coded resolver, malware) and enforce DNS "
                     "egress to the approved resolvers.",
                     host, peer);
        hev_t *e = &f->ev;
        char t[512], j[320];
        hd_ev_traffic(e, u);
        hev_int(e, "long_lived_5tuples", (int64_t)u->long_lived);
        hev_num(e, "longest_5tuple_s", (double)u->max_dur_ms / 1000.0, 1);
        hev_int(e, "most_packets_in_5tuple", (int64_t)u->max_pkts);
        hev_int(e, "unanswered", (int64_t)u->unanswered);
        snprintf(t, sizeof t,
                 "host sends %llu bytes to port 53 in all (%llu to approved resolvers); "
                 "population median %.0f, robust z %.1f over %zu hosts",
                 (unsigned long long)h->bytes_out, (unsigned long long)h->bytes_approved, med, z,
                 nh);
        snprintf(j, sizeof j,
                 "{\"host_bytes_out\":%llu,\"host_bytes_to_approved\":%llu,\"median\":%.0f,"
                 "\"robust_z\":%.2f,\"hosts\":%zu}",
                 (unsigned long long)h->bytes_out, (unsigned long long)h->bytes_approved, med, z,
                 nh);
        hev_raw(e, "population", j, t);
        char at[32];
        timearg_format_iso(s->from_ms + (uint64_t)u->peak_b * s->bucket_ms, at);
        unsigned bh = (unsigned)(s->bucket_ms / HD_HOUR_MS);
        snprintf(t, sizeof t,
                 "busiest %u-hour bucket from %s: %llu bytes to this resolver, %.1fx the host's "
                 "median bucket of port-53 traffic (%.0f bytes over %u buckets with DNS)",
                 bh, at, (unsigned long long)u->peak_bytes, hfactor, hmed, hours);
        snprintf(j, sizeof j,
                 "{\"bucket_hours\":%u,\"peak_at\":\"%s\",\"peak_bytes\":%llu,"
                 "\"host_median_bytes\":%.0f,\"factor\":%.2f,\"buckets_with_dns\":%u}",
                 bh, at, (unsigned long long)u->peak_bytes, hmed, hfactor, hours);
        hev_raw(e, "history", j, t);
        hev_raw(e, "thresholds_crossed", tj, tt);
        snprintf(t, sizeof t,
                 "bytes/packet >= %g over >= %g packets; ratio >= %g over >= %g bytes; 5-tuple "
                 ">= %g s or %g packets; volume >= %g bytes; z >= %g; busiest bucket >= %gx "
                 "the host's median over >= %g buckets and >= %g bytes",
                 cfg->d_bpp, cfg->d_bpp_min, cfg->d_ratio, cfg->d_ratio_min, cfg->d_long_s,
                 cfg->d_long_pkts, cfg->d_volume, cfg->d_pop_z, cfg->d_hist_factor,
                 cfg->d_hist_min_hours, cfg->d_hist_min_bytes);
        hev_str(e, "thresholds", t);
        hev_int(e, "approved_resolvers_configured", cfg->n_resolvers);
        if (via)
            hev_str(e, "via_resolver",
                    u->via ? "approved (in [dns] resolvers): judged by a tunnel's shape alone"
                           : "a resolver in practice: judged by a tunnel's shape alone");
        if (n_relayed) {
            snprintf(t, sizeof t,
                     "%s relayed queries of a tunnel's size to %s in these hours (see that "
                     "finding)",
                     peer, relayed);
            hev_str(e, "relayed_to", t);
        }
        if (u->tracked_by) {
            snprintf(t, sizeof t,
                     "%s relayed %llu of this host's %llu queries to nameserver %s, each within "
                     "%.0f ms (see that finding)",
                     peer, (unsigned long long)u->track_matched, (unsigned long long)u->flows,
                     tracked, cfg->d_track_ms);
            snprintf(j, sizeof j,
                     "{\"resolver\":\"%s\",\"nameserver\":\"%s\",\"matched\":%llu,"
                     "\"within_ms\":%.0f}",
                     peer, tracked, (unsigned long long)u->track_matched, cfg->d_track_ms);
            hev_raw(e, "relay_tracking", j, t);
        }
        if (inf.n > 0)
            hev_raw(e, "resolvers_in_practice", inf.json, inf.text);
        if (unlisted_peer || unlisted_host) {
            const char *srv = unlisted_peer ? peer : host;
            uint64_t clients = unlisted_peer ? unlisted_peer : unlisted_host;
            snprintf(t, sizeof t,
                     "%s answers DNS for %llu internal hosts (>= %.0f, [dns] resolver_min_hosts) "
                     "but is not among the configured resolvers: one the configuration lacks, "
                     "or a rogue one; %s, so the policy alone is Low",
                     srv, (unsigned long long)clients, cfg->d_res_min_hosts,
                     unlisted_peer ? "this is one of its clients" : "this is its recursion");
            snprintf(j, sizeof j,
                     "{\"server\":\"%s\",\"internal_clients\":%llu,\"min_hosts\":%.0f,"
                     "\"role\":\"%s\"}",
                     srv, (unsigned long long)clients, cfg->d_res_min_hosts,
                     unlisted_peer ? "client" : "recursion");
            hev_raw(e, "unlisted_resolver", j, t);
        }
        hev_int(e, "sampling", u->sampling ? u->sampling : 1);
        char title[64];
        snprintf(title, sizeof title, "Upstream DNS bytes of the %zu internal hosts", nh);
        hd_pic(f, pop, nh, h->bytes_out, title, "hosts, by volume", "bytes to port 53", "");
        hunt_finding_allow(cfg, f, 1);
    }
    free(pop);
    hj_vec_free(&shaped);
    hj_intern_free(&inf.keys);
}

static void hd_destroy(void *st)
{
    hd_state_t *s = st;
    if (!s)
        return;
    for (size_t i = 0; i < s->hosts.n; i++)
        free(((hd_host_t *)s->hosts.v)[i].hist);
    hj_vec_free(&s->units);
    hj_vec_free(&s->hosts);
    for (size_t i = 0; i < s->encs.n; i++)
        free(((hd_enc_t *)s->encs.v)[i].hist);
    hj_vec_free(&s->encs);
    hj_vec_free(&s->qts);
    free(s->doh_hosts);
    free(s->doh_nets);
    hj_intern_free(&s->unit_keys);
    hj_intern_free(&s->host_keys);
    hj_intern_free(&s->enc_keys);
    free(s);
}

const hunt_ops_t hd_ops = {"dns-exfil", hd_create, hd_feed, hd_part_end, hd_finish, hd_destroy, 1};
