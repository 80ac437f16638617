/* flowgen.c: synthetic flow exports with planted threats and their ground truth.
 *
 * flowhunt is judged on replayed captures: how fast it ingests and whether its hunts find what
 * is there. flowgen makes such captures: a small organisation's traffic as its routers would
 * export it, with known threats planted in it and a ground-truth file that says where they are.
 * The same arguments always give the same bytes (own PRNG seeded from --seed, no clock, no
 * rand()), so a capture can be named by its command line.
 *
 * This is the first form of issue 4: NetFlow v5, v9 or IPFIX into a pcap, three planted threats
 * (a C2 beacon on a non-standard port, a horizontal SYN scan, DNS exfiltration to an external
 * nameserver). IPv6 traffic, sending over UDP, replay and the other scenarios come later.
 *
 * The organisation: internal hosts in 10.0.0.0/16 (200 to 4000, growing with --flows, spread
 * over 4 to 40 /24s from 10.0.10.0/24; servers in 10.0.0.0/24), two resolvers
 * (10.0.0.53, 10.0.1.53) that every host uses and that recurse to external nameservers, a few
 * internal servers, external destinations with Zipf-like popularity, busier hours in the working
 * day. Each conversation is a request record and a response record; a long one is cut by a
 * 30-minute active timeout into several, as routers do. --flows N means exactly N records in the
 * capture: the threats take a bounded share (at most 35 %), benign conversations fill the rest and
 * the last one is cut to fit.
 *
 * Memory: O(N), one 40-byte fg_flow_t per record (200 MB for 5 million). Every record is
 * generated first, then sorted by end time and exported; generating per time slice would save
 * that memory but would need conversations that cross slices carried over, and a few million
 * flows is the scale this tool is for.
 *
 * Export: each flow goes to the exporter of its internal side's /24 (192.0.2.(i+1), source port
 * 50000+i, to 192.0.2.254:2055). An exporter sends a datagram when it is full (v5: 30 flows;
 * v9 and IPFIX: the next flow would not fit in FG_MTU bytes) or the oldest waiting flow has
 * waited FG_BATCH_WAIT_MS, stamped with its last flow's end plus a small delay; each exporter
 * has its own boot time. The writers (nf5_encode, nf9_encode, ipfix_encode) keep each
 * protocol's header rules: v5 sequence counts flows, v9 datagrams, IPFIX data records; v9 and
 * IPFIX templates go in an exporter's first datagram and every NF9E_REFRESH_DEFAULT after, with
 * the sampling interval announced in options data when --sample is given. Observation domain
 * (v5 engine_id, v9 source ID, IPFIX domain) is the exporter's index.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "ipfix_encode.h"
#include "nf5_encode.h"
#include "nf9_encode.h"
#include "pcap_write.h"
#include "replay.h"
#include "version.h"

#define FG_MIN_FLOWS 1000u
#define FG_MAX_FLOWS 20000000u /* 800 MB of records */
#define FG_MAX_EXPORTERS 253u  /* 192.0.2.1 .. 192.0.2.253; .254 is the collector */
#define FG_ACTIVE_TIMEOUT_MS (30u * 60u * 1000u)
#define FG_BATCH_WAIT_MS 2000u
#define FG_COLLECTOR_PORT 2055u
#define FG_FIRST_HOST_NET 10u
#define FG_MTU 1400u     /* v9 and IPFIX datagrams: within an Ethernet MTU after IP and UDP */
#define FG_BATCH_MAX 64u /* flows an exporter holds; FG_MTU fills well before this */
#define FG_MAX_SAMPLE_V5 0x3fffu /* v5's interval field has 14 bits */
#define FG_MAX_SAMPLE 1000000u

/* Shares of --flows the threats may take at most; the rest is benign traffic. */
#define FG_BEACON_SHARE 0.15
#define FG_SCAN_SHARE 0.10
#define FG_EXFIL_SHARE 0.10

#define FG_EXIT_OK 0
#define FG_EXIT_IO 1
#define FG_EXIT_USAGE 2

/* TCP flags (RFC 9293 section 3.1). */
#define FG_FIN 0x01
#define FG_SYN 0x02
#define FG_PSH 0x08
#define FG_ACK 0x10

#define FG_V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* ---- deterministic randomness: xoshiro256** seeded through splitmix64 ---- */

typedef struct fg_rng {
    uint64_t s[4];
} fg_rng_t;

static uint64_t fg_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* One independent stream per part of the generator, so that the organisation does not change
 * when, say, the threat code draws one more number. */
static void fg_rng_seed(fg_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03u);
    for (int i = 0; i < 4; i++)
        r->s[i] = fg_splitmix(&x);
}

static uint64_t fg_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t fg_next(fg_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = fg_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = fg_rotl(s[3], 45);
    return out;
}

/* Uniform in [0, 1). */
static double fg_unit(fg_rng_t *r)
{
    return (double)(fg_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi], rejection-sampled so that no value is favoured. */
static uint64_t fg_range(fg_rng_t *r, uint64_t lo, uint64_t hi)
{
    uint64_t n = hi - lo + 1;
    if (n == 0)
        return fg_next(r);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = fg_next(r);
    while (x >= limit);
    return lo + x % n;
}

static double fg_normal(fg_rng_t *r)
{
    double u = 1.0 - fg_unit(r); /* (0, 1]: log(0) never happens */
    double v = fg_unit(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Log-normal with the given median; sigma is that of the underlying normal. */
static double fg_lognormal(fg_rng_t *r, double median, double sigma)
{
    return median * exp(sigma * fg_normal(r));
}

static double fg_clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Index in [0, n) with P(k) close to 1/(k+1): the popularity of web destinations. */
static uint32_t fg_zipf(fg_rng_t *r, uint32_t n)
{
    uint32_t k = (uint32_t)(exp(fg_unit(r) * log((double)n + 1.0)) - 1.0);
    return k < n ? k : n - 1;
}

static uint16_t fg_ephemeral(fg_rng_t *r)
{
    return (uint16_t)fg_range(r, 32768, 60999); /* Linux's default ip_local_port_range */
}

/* ---- the organisation ---- */

typedef struct fg_server {
    uint32_t addr;
    uint16_t port;
} fg_server_t;

static const fg_server_t fg_internal_servers[] = {
    {FG_V4(10, 0, 0, 10), 445},  {FG_V4(10, 0, 0, 11), 445},  {FG_V4(10, 0, 0, 20), 22},
    {FG_V4(10, 0, 0, 30), 3389}, {FG_V4(10, 0, 0, 40), 8080}, {FG_V4(10, 0, 0, 25), 25},
};

#define FG_RESOLVER_A FG_V4(10, 0, 0, 53)
#define FG_RESOLVER_B FG_V4(10, 0, 1, 53)
#define FG_UPSTREAM_GW FG_V4(198, 51, 100, 1)
#define FG_N_NS 40
#define FG_N_NTP 4

typedef struct fg_org {
    uint32_t n_nets; /* host subnets 10.0.FG_FIRST_HOST_NET.0/24 onwards */
    uint32_t n_hosts;
    uint32_t *hosts; /* in order of activity: hosts[0] is the busiest */
    uint32_t n_ext;
    uint32_t *ext; /* external destinations, most popular first */
    uint16_t *ext_port;
    uint32_t ns[FG_N_NS]; /* external nameservers the resolvers recurse to */
    uint32_t ntp[FG_N_NTP];
} fg_org_t;

static int fg_is_internal(uint32_t a)
{
    return (a >> 24) == 10;
}

/* Public unicast only: no private, shared, loopback, link-local, documentation, benchmark,
 * multicast or reserved space (RFC 6890), so no external address looks internal. */
static int fg_is_public(uint32_t a)
{
    uint32_t o1 = a >> 24, o2 = (a >> 16) & 0xff, o3 = (a >> 8) & 0xff;
    if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224)
        return 0;
    if ((o1 == 100 && (o2 & 0xc0) == 64) || (o1 == 169 && o2 == 254) ||
        (o1 == 172 && (o2 & 0xf0) == 16) || (o1 == 192 && o2 == 168) ||
        (o1 == 198 && (o2 & 0xfe) == 18))
        return 0;
    if ((o1 == 192 && o2 == 0 && (o3 == 0 || o3 == 2)) || (o1 == 198 && o2 == 51 && o3 == 100) ||
        (o1 == 203 && o2 == 0 && o3 == 113))
        return 0;
    return (a & 0xff) != 0 && (a & 0xff) != 255;
}

static uint32_t fg_public_addr(fg_rng_t *r)
{
    uint32_t a;
    do
        a = (uint32_t)fg_next(r);
    while (!fg_is_public(a));
    return a;
}

static int fg_org_init(fg_org_t *o, uint64_t n_flows, fg_rng_t *r)
{
    memset(o, 0, sizeof *o);
    o->n_hosts = (uint32_t)fg_clamp((double)(n_flows / 25), 200, 4000);
    o->n_ext = (uint32_t)fg_clamp((double)(n_flows / 4), 500, 50000);
    o->hosts = malloc(o->n_hosts * sizeof *o->hosts);
    o->ext = malloc(o->n_ext * sizeof *o->ext);
    o->ext_port = malloc(o->n_ext * sizeof *o->ext_port);
    if (!o->hosts || !o->ext || !o->ext_port)
        return -1;
    /* At least four subnets, so that several exporters (one per subnet's router) all see
     * traffic; at most 100 hosts each (from .10 up). */
    o->n_nets = (uint32_t)fg_clamp(o->n_hosts / 100.0, 4, 40);
    for (uint32_t i = 0; i < o->n_hosts; i++)
        o->hosts[i] = FG_V4(10, 0, FG_FIRST_HOST_NET + i % o->n_nets, 10 + i / o->n_nets);
    /* Shuffled so the busiest hosts are spread over the subnets (Fisher-Yates). */
    for (uint32_t i = o->n_hosts - 1; i > 0; i--) {
        uint32_t j = (uint32_t)fg_range(r, 0, i), t = o->hosts[i];
        o->hosts[i] = o->hosts[j];
        o->hosts[j] = t;
    }
    static const uint16_t other_ports[] = {8443, 993, 22, 587, 5228, 8080, 995, 465};
    for (uint32_t i = 0; i < o->n_ext; i++) {
        o->ext[i] = fg_public_addr(r);
        double u = fg_unit(r);
        o->ext_port[i] =
            u < 0.80   ? 443
            : u < 0.94 ? 80
                       : other_ports[fg_range(r, 0, sizeof other_ports / sizeof *other_ports - 1)];
    }
    for (int i = 0; i < FG_N_NS; i++)
        o->ns[i] = fg_public_addr(r);
    for (int i = 0; i < FG_N_NTP; i++)
        o->ntp[i] = fg_public_addr(r);
    return 0;
}

static void fg_org_free(fg_org_t *o)
{
    free(o->hosts);
    free(o->ext);
    free(o->ext_port);
}

/* An external address no benign traffic uses, for a threat's peer. */
static uint32_t fg_fresh_external(const fg_org_t *o, fg_rng_t *r)
{
    for (;;) {
        uint32_t a = fg_public_addr(r);
        int used = 0;
        for (uint32_t i = 0; i < o->n_ext && !used; i++)
            used = o->ext[i] == a;
        for (int i = 0; i < FG_N_NS && !used; i++)
            used = o->ns[i] == a || (i < FG_N_NTP && o->ntp[i] == a);
        if (!used)
            return a;
    }
}

/* ---- flow records as generated: compact, since there are N of them ---- */

typedef struct fg_flow {
    uint64_t end_ms;
    uint32_t dur_ms;
    uint32_t src, dst;
    uint32_t packets, bytes; /* as the (possibly sampling) exporter reports them */
    uint32_t seq;            /* creation order: the tie-break that makes the sort a total order */
    uint16_t sport, dport;
    uint8_t proto, flags;
} fg_flow_t;

_Static_assert(sizeof(fg_flow_t) == 40, "the memory figure in the file header is 40 bytes/flow");

typedef struct fg_gen {
    fg_flow_t *flows;
    uint32_t n, cap;
    uint32_t sample; /* 1 when unsampled */
    uint64_t start_ms, end_ms;
} fg_gen_t;

/* Appends one record, scaling its counters as a 1:N packet-sampling exporter reports them. */
static void fg_push(fg_gen_t *g, uint64_t start_ms, uint64_t end_ms, uint32_t src, uint16_t sport,
                    uint32_t dst, uint16_t dport, uint8_t proto, uint8_t flags, uint64_t packets,
                    uint64_t bytes)
{
    if (g->n >= g->cap)
        return; /* callers check the budget first; this only keeps a bug from writing past it */
    if (packets == 0)
        packets = 1;
    if (g->sample > 1) {
        uint64_t p = (packets + g->sample / 2) / g->sample;
        if (p == 0)
            p = 1;
        bytes = bytes * p / packets;
        packets = p;
    }
    fg_flow_t *f = &g->flows[g->n];
    f->end_ms = end_ms;
    f->dur_ms = (uint32_t)(end_ms - start_ms);
    f->src = src;
    f->dst = dst;
    f->sport = sport;
    f->dport = dport;
    f->proto = proto;
    f->flags = flags;
    f->packets = packets > UINT32_MAX ? UINT32_MAX : (uint32_t)packets; /* v5 counters: 32 bits */
    f->bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    f->seq = g->n;
    g->n++;
}

/* One conversation: the client's request flow and the server's response flow. */
typedef struct fg_conv {
    uint64_t t_ms;   /* first packet of the request */
    uint64_t dur_ms; /* first to last packet of the request */
    uint32_t rtt_ms; /* the response starts this much later */
    uint32_t client, server;
    uint16_t cport, sport;
    uint8_t proto;
    int one_way; /* no response (a scan probe) */
    uint64_t req_pkts, req_bytes, resp_pkts, resp_bytes;
} fg_conv_t;

/* TCP flags of segment j of k: SYN in the first, FIN in the last, as an exporter ORs them. */
static uint8_t fg_tcp_flags(uint64_t j, uint64_t k)
{
    uint8_t f = FG_ACK | FG_PSH;
    if (j == 0)
        f |= FG_SYN;
    if (j + 1 == k)
        f |= FG_FIN;
    return f;
}

/* Share j of k of `total`, the shares summing to total exactly. */
static uint64_t fg_share(uint64_t total, uint64_t j, uint64_t k)
{
    return total * (j + 1) / k - total * j / k;
}

/* Emits the conversation's records: one pair per active-timeout segment. When the budget
 * cannot hold them all the conversation is shortened, and when a single record is left only
 * the request goes out (an unanswered packet). Returns the records written. */
static uint32_t fg_conv_emit(fg_gen_t *g, fg_conv_t *c)
{
    uint32_t left = g->cap - g->n;
    if (left == 0)
        return 0;
    /* Every flow ends inside the span. */
    uint64_t room = g->end_ms - 1 - c->t_ms;
    if (c->dur_ms + c->rtt_ms > room)
        c->dur_ms = room > c->rtt_ms ? room - c->rtt_ms : 0;
    uint64_t per = c->one_way ? 1 : 2;
    uint64_t k = c->dur_ms ? (c->dur_ms + FG_ACTIVE_TIMEOUT_MS - 1) / FG_ACTIVE_TIMEOUT_MS : 1;
    if (per > left) {
        c->one_way = 1;
        per = 1;
    }
    if (k * per > left) {
        k = left / per;
        c->dur_ms = k * FG_ACTIVE_TIMEOUT_MS - 1;
    }
    if (c->req_pkts < k)
        c->req_pkts = k;
    if (c->resp_pkts < k)
        c->resp_pkts = k;
    uint64_t end = c->t_ms + c->dur_ms;
    for (uint64_t j = 0; j < k; j++) {
        uint64_t s = c->t_ms + j * FG_ACTIVE_TIMEOUT_MS;
        /* A record cut by the active timeout ends at its last packet before the cut. */
        uint64_t e = j + 1 == k ? end : s + FG_ACTIVE_TIMEOUT_MS - 1;
        uint8_t flags = c->proto == 6 ? fg_tcp_flags(j, k) : 0;
        fg_push(g, s, e, c->client, c->cport, c->server, c->sport, c->proto, flags,
                fg_share(c->req_pkts, j, k), fg_share(c->req_bytes, j, k));
        if (c->one_way)
            continue;
        uint64_t rs = j == 0 ? s + c->rtt_ms : s;
        uint64_t re = j + 1 == k ? end + c->rtt_ms : e;
        uint16_t rport = c->proto == 1 ? 0 : c->cport; /* ICMP: echo reply is type 0 code 0 */
        fg_push(g, rs, re, c->server, c->proto == 1 ? 0 : c->sport, c->client, rport, c->proto,
                flags, fg_share(c->resp_pkts, j, k), fg_share(c->resp_bytes, j, k));
    }
    return (uint32_t)(k * per);
}

/* ---- planted threats and their ground truth ---- */

typedef enum fg_scenario { FG_BEACON, FG_SCAN, FG_EXFIL, FG_N_SCENARIOS } fg_scenario_t;

typedef struct fg_truth {
    uint32_t src, dst;
    uint16_t dst_port;
    uint8_t proto;
    uint32_t period_s;   /* beacon */
    uint32_t jitter_pct; /* beacon */
    uint32_t n_items;    /* beacon: connections; scan: targets; exfil: queries */
    uint64_t bytes;      /* exfil: request bytes sent */
    uint32_t n_flows;    /* records in the capture, both directions */
    uint64_t first_ms, last_ms;
} fg_truth_t;

static const char *const fg_scenario_name[FG_N_SCENARIOS] = {"beacon", "scan-horizontal",
                                                             "dns-exfil"};
static const char *const fg_scenario_technique[FG_N_SCENARIOS] = {"T1571", "T1046", "T1048.003"};

/* Records the time range of what fg_conv_emit / fg_push just wrote, from index `from`. */
static void fg_truth_track(fg_truth_t *t, const fg_gen_t *g, uint32_t from)
{
    for (uint32_t i = from; i < g->n; i++) {
        const fg_flow_t *f = &g->flows[i];
        uint64_t s = f->end_ms - f->dur_ms;
        if (t->n_flows == 0 || s < t->first_ms)
            t->first_ms = s;
        if (f->end_ms > t->last_ms)
            t->last_ms = f->end_ms;
        t->n_flows++;
    }
}

/* Ports a C2 could pick in 4444-9999 that a real service owns; skipped so the port really is
 * non-standard. */
static int fg_port_is_service(uint16_t p)
{
    static const uint16_t known[] = {5060, 5061, 5222, 5228, 5353, 5432, 5900, 6379, 6443,
                                     8000, 8008, 8080, 8443, 8883, 8888, 9000, 9090, 9443};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (known[i] == p)
            return 1;
    return 0;
}

/* (a) T1571: one host calls a C2 on a non-standard TCP port every period_s, +-jitter. The
 * period is log-uniform in 30-600 s, raised when needed so the beacon fits its share of the
 * records over the whole span; when even 600 s is too often (small --flows, long span), it
 * keeps a period in 30-600 s and beacons over a window of the span instead. */
static void fg_plant_beacon(fg_gen_t *g, const fg_org_t *o, fg_rng_t *r, uint32_t host,
                            fg_truth_t *t)
{
    uint64_t span = g->end_ms - g->start_ms;
    uint32_t budget = (uint32_t)(g->cap * FG_BEACON_SHARE) & ~1u;
    double pmin = fmax(30.0, 2.0 * (double)span / 1000.0 / budget);
    uint64_t win_start = g->start_ms, win_len = span;
    if (pmin > 600.0)
        pmin = 30.0;
    t->period_s = (uint32_t)exp(log(pmin) + fg_unit(r) * (log(600.0) - log(pmin)));
    if (t->period_s < pmin)
        t->period_s = (uint32_t)ceil(pmin);
    if ((double)span / 1000.0 / t->period_s * 2.0 > budget) {
        win_len = (uint64_t)t->period_s * 1000u * (budget / 2 - 1);
        win_start = g->start_ms + fg_range(r, 0, span - win_len);
    }
    t->jitter_pct = (uint32_t)fg_range(r, 0, 30);
    t->src = host;
    t->dst = fg_fresh_external(o, r);
    t->proto = 6;
    do
        t->dst_port = (uint16_t)fg_range(r, 4444, 9999);
    while (fg_port_is_service(t->dst_port));
    /* An implant sends the same check-in every time and gets the same "nothing to do". */
    uint64_t req_pkts = fg_range(r, 4, 7), resp_pkts = fg_range(r, 3, 6);
    uint64_t req_bytes = fg_range(r, 250, 900), resp_bytes = fg_range(r, 180, 1500);
    uint16_t cport = fg_ephemeral(r);
    double p_ms = t->period_s * 1000.0;
    uint64_t at = win_start + (uint64_t)(fg_unit(r) * p_ms);
    uint32_t from = g->n;
    while (at + 10000 < win_start + win_len && g->n + 2 <= from + budget) {
        fg_conv_t c = {.t_ms = at,
                       .dur_ms = (uint64_t)fg_clamp(fg_lognormal(r, 350, 0.4), 60, 5000),
                       .rtt_ms = (uint32_t)fg_range(r, 20, 120),
                       .client = host,
                       .server = t->dst,
                       .cport = cport,
                       .sport = t->dst_port,
                       .proto = 6,
                       .req_pkts = req_pkts,
                       .req_bytes = req_bytes + fg_range(r, 0, 40),
                       .resp_pkts = resp_pkts,
                       .resp_bytes = resp_bytes + fg_range(r, 0, 40)};
        fg_conv_emit(g, &c);
        t->n_items++;
        cport = cport >= 60999 ? 32768 : cport + 1; /* the stack hands out ports in turn */
        double jit = t->jitter_pct / 100.0 * (2.0 * fg_unit(r) - 1.0);
        at += (uint64_t)(p_ms * (1.0 + jit));
    }
    fg_truth_track(t, g, from);
}

/* (b) T1046: one host SYN-probes most of another /24 on one port, fast, once: one packet per
 * target, no answer exported. */
static void fg_plant_scan(fg_gen_t *g, const fg_org_t *o, fg_rng_t *r, uint32_t host, fg_truth_t *t)
{
    static const uint16_t ports[] = {22, 445, 3389, 23, 80, 5900};
    uint32_t own = (host >> 8) & 0xff, net;
    do
        net = FG_FIRST_HOST_NET + (uint32_t)fg_range(r, 0, o->n_nets - 1);
    while (net == own);
    uint32_t budget = (uint32_t)(g->cap * FG_SCAN_SHARE);
    uint32_t n = (uint32_t)fg_range(r, 150, 254);
    if (n > budget)
        n = budget;
    t->src = host;
    t->dst = FG_V4(10, 0, net, 0);
    t->dst_port = ports[fg_range(r, 0, sizeof ports / sizeof *ports - 1)];
    t->proto = 6;
    t->n_items = n;
    uint8_t order[254];
    for (uint32_t i = 0; i < 254; i++)
        order[i] = (uint8_t)(i + 1);
    for (uint32_t i = 253; i > 0; i--) { /* scanners randomise the target order */
        uint32_t j = (uint32_t)fg_range(r, 0, i);
        uint8_t x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    double gap_ms = fg_lognormal(r, 150, 0.8);  /* mean time between probes, fixed per scan */
    uint64_t probe_bytes = fg_range(r, 44, 60); /* IP + TCP header + the scanner's options */
    uint16_t cport = fg_ephemeral(r);           /* a SYN scanner keeps one source port */
    uint64_t dur = (uint64_t)(gap_ms * n * 3.0) + 10000;
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t at = g->start_ms + fg_range(r, 0, span > dur ? span - dur : 0);
    uint32_t from = g->n;
    for (uint32_t i = 0; i < n; i++) {
        fg_push(g, at, at, host, cport, FG_V4(10, 0, net, order[i]), t->dst_port, 6, FG_SYN, 1,
                probe_bytes);
        at += 1 + (uint64_t)(-gap_ms * log(1.0 - fg_unit(r)));
        if (at >= g->end_ms)
            at = g->end_ms - 1; /* a slow tail: the last probes bunch up at the span's end */
    }
    fg_truth_track(t, g, from);
}

/* (c) T1048.003: one host tunnels data in DNS queries straight to an external nameserver
 * (not through the resolvers), a new source port per session, large queries and small
 * answers, for one to six hours. */
static void fg_plant_exfil(fg_gen_t *g, const fg_org_t *o, fg_rng_t *r, uint32_t host,
                           fg_truth_t *t)
{
    uint32_t budget = (uint32_t)(g->cap * FG_EXFIL_SHARE) / 2;
    uint32_t n = (uint32_t)fg_range(r, 100, 300);
    if (n > budget)
        n = budget;
    uint64_t span = g->end_ms - g->start_ms;
    uint64_t win = fg_range(r, 3600000u, 6 * 3600000u);
    if (win > span - 60000)
        win = span - 60000;
    uint64_t at = g->start_ms + fg_range(r, 0, span - win - 60000);
    double gap_ms = (double)win / n;
    t->src = host;
    t->dst = fg_fresh_external(o, r);
    t->dst_port = 53;
    t->proto = 17;
    t->n_items = n;
    uint32_t from = g->n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t pkts = fg_range(r, 5, 60);
        uint64_t req_bytes = 0, resp_bytes = 0;
        for (uint64_t k = 0; k < pkts; k++) {
            req_bytes += fg_range(r, 180, 255); /* long labels of encoded data */
            resp_bytes += fg_range(r, 90, 160);
        }
        fg_conv_t c = {.t_ms = at,
                       .dur_ms = pkts * fg_range(r, 100, 1500),
                       .rtt_ms = (uint32_t)fg_range(r, 20, 150),
                       .client = host,
                       .server = t->dst,
                       .cport = fg_ephemeral(r),
                       .sport = 53,
                       .proto = 17,
                       .req_pkts = pkts,
                       .req_bytes = req_bytes,
                       .resp_pkts = pkts,
                       .resp_bytes = resp_bytes};
        fg_conv_emit(g, &c);
        t->bytes += req_bytes;
        at += 1000 + (uint64_t)(-gap_ms * log(1.0 - fg_unit(r)));
        if (at + 60000 >= g->end_ms)
            at = g->end_ms - 60000;
    }
    fg_truth_track(t, g, from);
}

/* ---- benign traffic ---- */

/* A conversation start: uniform over the span, thinned outside working hours and at weekends
 * (UTC; the organisation is taken to live there). */
static uint64_t fg_conv_time(const fg_gen_t *g, fg_rng_t *r)
{
    uint64_t span = g->end_ms - g->start_ms - 2000;
    for (;;) {
        uint64_t t = g->start_ms + (uint64_t)(fg_unit(r) * (double)span);
        double hour = (double)(t / 1000 % 86400) / 3600.0;
        uint64_t dow = (t / 86400000 + 4) % 7; /* 1970-01-01 was a Thursday; 0 is Sunday */
        double w = hour >= 7 && hour < 19 ? sin(3.141592653589793 * (hour - 7) / 12) : 0;
        w = 0.2 + 0.8 * w;
        if (dow == 0 || dow == 6)
            w *= 0.4;
        if (fg_unit(r) < w)
            return t;
    }
}

static uint64_t fg_round(double x)
{
    return x < 0.5 ? 0 : (uint64_t)(x + 0.5);
}

/* Sizes of a TCP or QUIC session: durations log-normal around `median_ms`, packets growing
 * with duration, small requests and full-size responses. */
static void fg_session(fg_conv_t *c, fg_rng_t *r, double median_ms, double sigma)
{
    c->dur_ms = (uint64_t)fg_clamp(fg_lognormal(r, median_ms, sigma), 5, 12 * 3600000.0);
    double secs = (double)c->dur_ms / 1000.0;
    c->rtt_ms = (uint32_t)fg_range(r, 1, 120);
    c->req_pkts = fg_round(fg_lognormal(r, 8, 1.0) * (1.0 + sqrt(secs) / 4.0));
    if (c->req_pkts < 3)
        c->req_pkts = 3;
    c->resp_pkts = fg_round((double)c->req_pkts * (0.6 + 1.2 * fg_unit(r)));
    if (c->resp_pkts < 2)
        c->resp_pkts = 2;
    c->req_bytes = c->req_pkts * (uint64_t)fg_clamp(fg_lognormal(r, 110, 0.5), 52, 1500);
    c->resp_bytes = c->resp_pkts * (uint64_t)fg_clamp(fg_lognormal(r, 900, 0.5), 52, 1500);
}

/* One-packet request and answer (DNS, NTP). */
static void fg_datagram_pair(fg_conv_t *c, fg_rng_t *r, uint64_t req_lo, uint64_t req_hi,
                             uint64_t resp_lo, uint64_t resp_hi, uint32_t rtt_hi)
{
    c->proto = 17;
    c->dur_ms = 0;
    c->rtt_ms = (uint32_t)fg_range(r, 1, rtt_hi);
    c->req_pkts = c->resp_pkts = 1;
    c->req_bytes = fg_range(r, req_lo, req_hi);
    c->resp_bytes = fg_range(r, resp_lo, resp_hi);
}

static void fg_benign(fg_gen_t *g, const fg_org_t *o, fg_rng_t *r)
{
    while (g->n < g->cap) {
        fg_conv_t c;
        memset(&c, 0, sizeof c);
        c.t_ms = fg_conv_time(g, r);
        /* Busy hosts are busier: u^2 gives the top 1 % of hosts about 10 % of the traffic. */
        double u = fg_unit(r);
        uint32_t host = o->hosts[(uint32_t)(u * u * o->n_hosts)];
        uint32_t net = (host >> 8) & 0xff;
        c.client = host;
        c.cport = fg_ephemeral(r);
        double kind = fg_unit(r);
        if (kind < 0.60) { /* web and other external TCP; a fifth of HTTPS is QUIC */
            uint32_t i = fg_zipf(r, o->n_ext);
            c.server = o->ext[i];
            c.sport = o->ext_port[i];
            c.proto = c.sport == 443 && fg_unit(r) < 0.2 ? 17 : 6;
            fg_session(&c, r, 3000, 2.0);
        } else if (kind < 0.82) { /* DNS to the host's resolver, sometimes the other one */
            int primary_a = (net & 1) == 0;
            int use_a = fg_unit(r) < 0.85 ? primary_a : !primary_a;
            c.server = use_a ? FG_RESOLVER_A : FG_RESOLVER_B;
            c.sport = 53;
            fg_datagram_pair(&c, r, 55, 110, 80, 450, 40);
        } else if (kind < 0.87) { /* the resolvers' recursion to external nameservers */
            c.client = fg_unit(r) < 0.5 ? FG_RESOLVER_A : FG_RESOLVER_B;
            c.server = o->ns[fg_zipf(r, FG_N_NS)];
            c.sport = 53;
            fg_datagram_pair(&c, r, 60, 120, 100, 800, 150);
        } else if (kind < 0.90) { /* NTP to the public pool */
            c.server = o->ntp[fg_range(r, 0, FG_N_NTP - 1)];
            c.sport = 123;
            fg_datagram_pair(&c, r, 76, 76, 76, 76, 60);
        } else if (kind < 0.93) { /* ping: ICMP echo, type 8 code 0 in the destination port */
            c.server = fg_unit(r) < 0.5 ? o->ext[fg_zipf(r, o->n_ext)]
                                        : fg_internal_servers[fg_range(r, 0, 5)].addr;
            c.proto = 1;
            c.cport = 0;
            c.sport = 8 << 8;
            c.req_pkts = c.resp_pkts = fg_unit(r) < 0.7 ? 4 : fg_range(r, 1, 10);
            c.req_bytes = c.resp_bytes = 84 * c.req_pkts;
            c.dur_ms = (c.req_pkts - 1) * 1000;
            c.rtt_ms = (uint32_t)fg_range(r, 1, 80);
        } else { /* internal services: file shares, SSH, RDP, intranet, mail */
            const fg_server_t *s = &fg_internal_servers[fg_range(r, 0, 5)];
            c.server = s->addr;
            c.sport = s->port;
            c.proto = 6;
            fg_session(&c, r, 20000, 2.2);
        }
        fg_conv_emit(g, &c);
    }
}

/* ---- export ---- */

typedef enum fg_format { FG_FMT_V5, FG_FMT_V9, FG_FMT_IPFIX } fg_format_t;

_Static_assert(FG_BATCH_MAX >= NF5_ENC_MAX_FLOWS, "a batch holds a full v5 datagram");

typedef struct fg_exporter {
    flow_addr_t addr;
    uint16_t port;
    uint64_t boot_ms;
    uint32_t sequence; /* v5: flows this exporter has sent (v9 and IPFIX: in their encoder) */
    nf9e_t nf9;
    ipfixe_t ipfix;
    flow_rec_t batch[FG_BATCH_MAX];
    uint32_t n;
    uint64_t first_end_ms; /* of the oldest waiting flow */
} fg_exporter_t;

typedef struct fg_export {
    fg_exporter_t *ex;
    uint32_t n_ex;
    fg_format_t fmt;
    uint32_t batch_max;      /* flows that make a batch full whatever their size */
    uint16_t sampling_field; /* v5 */
    pcapw_t *w;
    fg_rng_t *r;
    flow_addr_t collector;
    uint64_t last_export_ms;
    uint64_t last_ts_ns;
    uint64_t n_dgrams;
} fg_export_t;

/* Router-side view of an address: the interface and prefix length it routes through. */
static uint16_t fg_ifindex(uint32_t a)
{
    return fg_is_internal(a) ? (uint16_t)(10 + ((a >> 8) & 0xff) % 8) : 1;
}

static void fg_to_rec(const fg_flow_t *f, const fg_gen_t *g, flow_rec_t *rec)
{
    flow_addr_t a;
    flow_rec_clear(rec);
    FLOW_SET(rec, time_start, f->end_ms - f->dur_ms);
    FLOW_SET(rec, time_end, f->end_ms);
    flow_addr_from_v4(&a, f->src);
    FLOW_SET(rec, src_addr, a);
    flow_addr_from_v4(&a, f->dst);
    FLOW_SET(rec, dst_addr, a);
    flow_addr_from_v4(&a, fg_is_internal(f->dst) ? 0 : FG_UPSTREAM_GW);
    FLOW_SET(rec, next_hop, a);
    FLOW_SET(rec, src_port, f->sport);
    FLOW_SET(rec, dst_port, f->dport);
    FLOW_SET(rec, proto, f->proto);
    FLOW_SET(rec, tcp_flags, f->flags);
    FLOW_SET(rec, packets, f->packets);
    FLOW_SET(rec, bytes, f->bytes);
    FLOW_SET(rec, in_if, fg_ifindex(f->src));
    FLOW_SET(rec, out_if, fg_ifindex(f->dst));
    FLOW_SET(rec, src_mask, fg_is_internal(f->src) ? 24 : 0);
    FLOW_SET(rec, dst_mask, fg_is_internal(f->dst) ? 24 : 0);
    FLOW_SET(rec, tos, 0);
    FLOW_SET(rec, src_as, 0);
    FLOW_SET(rec, dst_as, 0);
    FLOW_SET(rec, sampling, g->sample);
}

/* How many of the first n flows of an exporter's batch one datagram holds. */
static size_t fg_fit(const fg_export_t *x, const fg_exporter_t *e, size_t n)
{
    switch (x->fmt) {
    case FG_FMT_V9:
        return nf9e_fit(&e->nf9, e->batch, n);
    case FG_FMT_IPFIX:
        return ipfixe_fit(&e->ipfix, e->batch, n);
    default:
        return n < NF5_ENC_MAX_FLOWS ? n : NF5_ENC_MAX_FLOWS;
    }
}

static int fg_flush(fg_export_t *x, uint32_t i)
{
    fg_exporter_t *e = &x->ex[i];
    if (e->n == 0)
        return 0;
    uint64_t export_ms = e->batch[e->n - 1].time_end + fg_range(x->r, 5, 150);
    /* v9 headers carry the export time in whole seconds beside a millisecond sysUptime, so a
     * decoder places flows to the millisecond only when the export falls on a second; these
     * exporters run their export timer on whole seconds, so decoded times match the truth. */
    if (x->fmt == FG_FMT_V9)
        export_ms = (export_ms + 999) / 1000 * 1000;
    /* One clock for all exporters, so the capture's timestamps never go backwards. */
    if (export_ms < x->last_export_ms)
        export_ms = x->last_export_ms;
    x->last_export_ms = export_ms;
    uint64_t ts_ns = export_ms * 1000000u + fg_range(x->r, 0, 999999);
    if (ts_ns <= x->last_ts_ns)
        ts_ns = x->last_ts_ns + 1000;
    x->last_ts_ns = ts_ns;

    uint8_t buf[NF5_ENC_MAX_LEN > FG_MTU ? NF5_ENC_MAX_LEN : FG_MTU];
    size_t len = 0, done = 0;
    if (x->fmt == FG_FMT_V9) {
        len = nf9e_encode(&e->nf9, buf, sizeof buf, export_ms, e->batch, e->n, &done);
    } else if (x->fmt == FG_FMT_IPFIX) {
        len = ipfixe_encode(&e->ipfix, buf, sizeof buf, export_ms, e->batch, e->n, &done);
    } else {
        nf5_enc_hdr_t h = {.export_ms = export_ms,
                           .boot_ms = e->boot_ms,
                           .sequence = e->sequence,
                           .engine_type = 0,
                           .engine_id = (uint8_t)i,
                           .sampling = x->sampling_field};
        len = nf5_encode(buf, sizeof buf, &h, e->batch, e->n);
        done = e->n;
    }
    /* fg_export never lets a batch grow past one datagram, so all of it must have gone. */
    if (len == 0 || done != e->n) {
        errno = EINVAL;
        return -1;
    }
    if (pcapw_udp(x->w, ts_ns, &e->addr, e->port, &x->collector, FG_COLLECTOR_PORT, buf, len) != 0)
        return -1;
    e->sequence += e->n;
    e->n = 0;
    x->n_dgrams++;
    return 0;
}

/* Sends every batch whose oldest flow has waited long enough by `now_ms`, oldest first. */
static int fg_flush_stale(fg_export_t *x, uint64_t now_ms, uint64_t *next_deadline)
{
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < x->n_ex; i++)
            if (x->ex[i].n &&
                (best == UINT32_MAX || x->ex[i].first_end_ms < x->ex[best].first_end_ms))
                best = i;
        if (best == UINT32_MAX) {
            *next_deadline = UINT64_MAX;
            return 0;
        }
        uint64_t deadline = x->ex[best].first_end_ms + FG_BATCH_WAIT_MS;
        if (deadline >= now_ms) {
            *next_deadline = deadline;
            return 0;
        }
        if (fg_flush(x, best) != 0)
            return -1;
    }
}

static int fg_cmp_end(const void *pa, const void *pb)
{
    const fg_flow_t *a = pa, *b = pb;
    if (a->end_ms != b->end_ms)
        return a->end_ms < b->end_ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The exporter that sees a flow: the router of its internal side's /24. */
static uint32_t fg_exporter_of(const fg_flow_t *f, uint32_t n_ex)
{
    uint32_t a = fg_is_internal(f->src) ? f->src : f->dst;
    return ((a >> 8) & 0xff) % n_ex;
}

static int fg_export(fg_gen_t *g, fg_export_t *x)
{
    if (g->n > 1)
        qsort(g->flows, g->n, sizeof *g->flows, fg_cmp_end);
    uint64_t next_deadline = UINT64_MAX;
    for (uint32_t k = 0; k < g->n; k++) {
        const fg_flow_t *f = &g->flows[k];
        if (f->end_ms > next_deadline && fg_flush_stale(x, f->end_ms, &next_deadline) != 0)
            return -1;
        uint32_t i = fg_exporter_of(f, x->n_ex);
        fg_exporter_t *e = &x->ex[i];
        fg_to_rec(f, g, &e->batch[e->n]);
        /* v9 and IPFIX fill datagrams by bytes: when this flow does not fit beside those
         * waiting, they go out first and it starts the next datagram. */
        if (e->n > 0 && fg_fit(x, e, e->n + 1) <= e->n) {
            flow_rec_t rec = e->batch[e->n];
            if (fg_flush(x, i) != 0)
                return -1;
            e->batch[0] = rec;
        }
        if (e->n == 0) {
            e->first_end_ms = f->end_ms;
            if (e->first_end_ms + FG_BATCH_WAIT_MS < next_deadline)
                next_deadline = e->first_end_ms + FG_BATCH_WAIT_MS;
        }
        e->n++;
        if (e->n == x->batch_max && fg_flush(x, i) != 0)
            return -1;
    }
    return fg_flush_stale(x, UINT64_MAX, &next_deadline);
}

/* ---- ground truth ---- */

static void fg_truth_write(FILE *f, fg_scenario_t s, const fg_truth_t *t)
{
    char src[FLOW_ADDR_STRLEN], dst[FLOW_ADDR_STRLEN];
    flow_addr_t a;
    flow_addr_from_v4(&a, t->src);
    flow_addr_format(&a, src);
    flow_addr_from_v4(&a, t->dst);
    flow_addr_format(&a, dst);
    fprintf(f, "{\"scenario\":\"%s\",\"technique\":\"%s\",\"src\":\"%s\",\"dst\":\"%s%s\"",
            fg_scenario_name[s], fg_scenario_technique[s], src, dst, s == FG_SCAN ? "/24" : "");
    fprintf(f, ",\"dst_port\":%u,\"proto\":%u", t->dst_port, t->proto);
    switch (s) {
    case FG_BEACON:
        fprintf(f, ",\"period_s\":%" PRIu32 ",\"jitter\":%.2f,\"connections\":%" PRIu32,
                t->period_s, t->jitter_pct / 100.0, t->n_items);
        break;
    case FG_SCAN:
        fprintf(f, ",\"targets\":%" PRIu32 ",\"tcp_flags\":%u", t->n_items, FG_SYN);
        break;
    case FG_EXFIL:
        fprintf(f, ",\"queries\":%" PRIu32 ",\"request_bytes\":%" PRIu64, t->n_items, t->bytes);
        break;
    default:
        break;
    }
    fprintf(f, ",\"flows\":%" PRIu32 ",\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64 "}\n",
            t->n_flows, t->first_ms, t->last_ms);
}

static int fg_truth_save(const char *path, const fg_truth_t *truth)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int s = 0; s < FG_N_SCENARIOS; s++)
        fg_truth_write(f, (fg_scenario_t)s, &truth[s]);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

/* ---- command line ---- */

static void fg_usage(FILE *f)
{
    fprintf(
        f,
        "usage: flowgen --format v5|v9|ipfix --flows N --seed S --start TIME --hours H\n"
        "               [--exporters K] [--sample N] --out FILE.pcap [--truth FILE]\n"
        "       flowgen --replay FILE.pcap --to ADDR:PORT [--speed X | --rate N]\n"
        "\n"
        "--replay sends the UDP payloads of any export capture (pcap or pcapng) to a\n"
        "collector: as fast as sendmmsg goes, with the capture's timing sped up X times, or\n"
        "at N datagrams per second; each exporter of the capture from its own socket.\n"
        "\n"
        "Writes a pcap of NetFlow export datagrams: a synthetic organisation's traffic with\n"
        "planted threats (a C2 beacon on a non-standard port, T1571; a horizontal SYN scan\n"
        "of an internal /24, T1046; DNS exfiltration to an external nameserver, T1048.003).\n"
        "The same arguments always give the same bytes.\n"
        "\n"
        "  --format FMT      export protocol: v5 (NetFlow v5, 30 flows a datagram), v9\n"
        "                    (NetFlow v9, RFC 3954) or ipfix (RFC 7011); v9 and ipfix send\n"
        "                    IPv4 and IPv6 templates in each exporter's first datagram and\n"
        "                    every %u after, and fill datagrams up to %u bytes\n"
        "  --flows N         exactly N flow records (%u..%u)\n"
        "  --seed S          seed of every random choice (unsigned 64-bit)\n"
        "  --start TIME      first flow: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
        "  --hours H         span of the traffic in hours (1..8784, decimals allowed)\n"
        "  --exporters K     routers exporting, 192.0.2.1..K from port 50000+i (default 1,\n"
        "                    at most %u), to 192.0.2.254:%u\n"
        "  --sample N        1:N packet sampling (v5: up to %u; v9, ipfix: up to %u):\n"
        "                    announced (v5 in the header, v9 in options data with fields\n"
        "                    34/35, ipfix in PSAMP options data 302/304/305/306), counters as\n"
        "                    a sampled router reports them (divided by N, at least 1)\n"
        "  --out FILE        the capture (classic pcap, nanosecond timestamps, Ethernet)\n"
        "  --truth FILE      the planted cases as JSON lines\n"
        "  -V, --version     print the version and exit\n"
        "  -h, --help        print this help and exit\n"
        "\n"
        "Exit status: 0 success, 1 I/O error, 2 usage.\n",
        NF9E_REFRESH_DEFAULT, FG_MTU, FG_MIN_FLOWS, FG_MAX_FLOWS, FG_MAX_EXPORTERS,
        FG_COLLECTOR_PORT, FG_MAX_SAMPLE_V5, FG_MAX_SAMPLE);
}

static int fg_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil), so no time zone or libc state is involved. */
static int64_t fg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int fg_digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* TIME: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, all UTC. */
static int fg_parse_time(const char *s, uint64_t *out_s)
{
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    size_t len = strlen(s);
    if (len > 0 && strspn(s, "0123456789") == len)
        return fg_parse_u64(s, 0, UINT32_MAX, out_s);
    if (len != 10 && len != 20)
        return -1;
    if (fg_digits(s, 4, &y) || s[4] != '-' || fg_digits(s + 5, 2, &mo) || s[7] != '-' ||
        fg_digits(s + 8, 2, &d))
        return -1;
    if (len == 20 &&
        (s[10] != 'T' || fg_digits(s + 11, 2, &h) || s[13] != ':' || fg_digits(s + 14, 2, &mi) ||
         s[16] != ':' || fg_digits(s + 17, 2, &sec) || s[19] != 'Z'))
        return -1;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t t = fg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    if (t < 0 || t > (int64_t)UINT32_MAX)
        return -1;
    *out_s = (uint64_t)t;
    return 0;
}

typedef struct fg_args {
    fg_format_t fmt;
    uint64_t flows, seed, start_s, exporters, sample;
    double hours;
    const char *out, *truth;
    const char *sample_arg; /* as given, for the message when it is too large for v5 */
} fg_args_t;

static int fg_bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "flowgen: --%s '%s': %s\n", opt, val, want);
    return FG_EXIT_USAGE;
}

/* Returns -1 to go on, else the exit status. */
static int fg_parse_args(int argc, char **argv, fg_args_t *a)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"flows", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},   {"start", required_argument, NULL, 't'},
        {"hours", required_argument, NULL, 'H'},  {"exporters", required_argument, NULL, 'k'},
        {"sample", required_argument, NULL, 'S'}, {"out", required_argument, NULL, 'o'},
        {"truth", required_argument, NULL, 'T'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    int have_format = 0, have_flows = 0, have_seed = 0, have_start = 0, have_hours = 0;
    memset(a, 0, sizeof *a);
    a->exporters = 1;
    a->sample = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "v5") == 0)
                a->fmt = FG_FMT_V5;
            else if (strcmp(optarg, "v9") == 0)
                a->fmt = FG_FMT_V9;
            else if (strcmp(optarg, "ipfix") == 0)
                a->fmt = FG_FMT_IPFIX;
            else
                return fg_bad("format", optarg, "want v5, v9 or ipfix");
            have_format = 1;
            break;
        case 'n':
            if (fg_parse_u64(optarg, FG_MIN_FLOWS, FG_MAX_FLOWS, &a->flows) != 0)
                return fg_bad("flows", optarg, "want a whole number from 1000 to 20000000");
            have_flows = 1;
            break;
        case 's':
            if (fg_parse_u64(optarg, 0, UINT64_MAX, &a->seed) != 0)
                return fg_bad("seed", optarg, "want an unsigned 64-bit number");
            have_seed = 1;
            break;
        case 't':
            if (fg_parse_time(optarg, &a->start_s) != 0)
                return fg_bad("start", optarg,
                              "want Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
            have_start = 1;
            break;
        case 'H': {
            char *end;
            errno = 0;
            a->hours = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(a->hours >= 1.0 && a->hours <= 8784.0))
                return fg_bad("hours", optarg, "want a number of hours from 1 to 8784");
            have_hours = 1;
            break;
        }
        case 'k':
            if (fg_parse_u64(optarg, 1, FG_MAX_EXPORTERS, &a->exporters) != 0)
                return fg_bad("exporters", optarg, "want 1 to 253");
            break;
        case 'S':
            if (fg_parse_u64(optarg, 1, FG_MAX_SAMPLE, &a->sample) != 0)
                return fg_bad("sample", optarg, "want 1 to 1000000 (v5: to 16383)");
            a->sample_arg = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'T':
            a->truth = optarg;
            break;
        case 'h':
            fg_usage(stdout);
            return FG_EXIT_OK;
        case 'V':
            printf("flowgen %s\n", FH_VERSION);
            return FG_EXIT_OK;
        case ':':
            fprintf(stderr, "flowgen: %s needs a value (see --help)\n", argv[optind - 1]);
            return FG_EXIT_USAGE;
        default:
            fprintf(stderr, "flowgen: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return FG_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "flowgen: unexpected argument '%s' (see --help)\n", argv[optind]);
        return FG_EXIT_USAGE;
    }
    const char *missing = !have_format  ? "--format"
                          : !have_flows ? "--flows"
                          : !have_seed  ? "--seed"
                          : !have_start ? "--start"
                          : !have_hours ? "--hours"
                          : !a->out     ? "--out"
                                        : NULL;
    if (missing) {
        fprintf(stderr, "flowgen: %s is required (see --help)\n", missing);
        return FG_EXIT_USAGE;
    }
    if (a->fmt == FG_FMT_V5 && a->sample > FG_MAX_SAMPLE_V5)
        return fg_bad("sample", a->sample_arg, "want 1 to 16383 (the v5 field has 14 bits)");
    if (a->start_s + (uint64_t)(a->hours * 3600.0) + 3600 > UINT32_MAX) {
        fprintf(stderr, "flowgen: --start plus --hours goes past 2106, beyond the 32-bit export "
                        "clock of NetFlow and IPFIX\n");
        return FG_EXIT_USAGE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--replay") == 0)
            return replay_main(argc, argv);
    fg_args_t a;
    int rc = fg_parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;

    fg_gen_t g = {.cap = (uint32_t)a.flows,
                  .sample = (uint32_t)a.sample,
                  .start_ms = a.start_s * 1000,
                  .end_ms = a.start_s * 1000 + (uint64_t)llround(a.hours * 3600000.0)};
    fg_org_t org;
    fg_rng_t r_org, r_threat, r_benign, r_export;
    fg_rng_seed(&r_org, a.seed, 1);
    fg_rng_seed(&r_threat, a.seed, 2);
    fg_rng_seed(&r_benign, a.seed, 3);
    fg_rng_seed(&r_export, a.seed, 4);

    g.flows = malloc((size_t)g.cap * sizeof *g.flows);
    fg_exporter_t *ex = calloc(a.exporters, sizeof *ex);
    if (!g.flows || !ex || fg_org_init(&org, a.flows, &r_org) != 0) {
        fprintf(stderr, "flowgen: out of memory for %" PRIu64 " flows\n", a.flows);
        return FG_EXIT_IO;
    }

    /* Three distinct hosts for the three threats. */
    uint32_t who[FG_N_SCENARIOS];
    for (int s = 0; s < FG_N_SCENARIOS; s++) {
        int dup;
        do {
            who[s] = org.hosts[fg_range(&r_threat, 0, org.n_hosts - 1)];
            dup = 0;
            for (int j = 0; j < s; j++)
                dup |= who[j] == who[s];
        } while (dup);
    }
    fg_truth_t truth[FG_N_SCENARIOS];
    memset(truth, 0, sizeof truth);
    fg_plant_beacon(&g, &org, &r_threat, who[FG_BEACON], &truth[FG_BEACON]);
    fg_plant_scan(&g, &org, &r_threat, who[FG_SCAN], &truth[FG_SCAN]);
    fg_plant_exfil(&g, &org, &r_threat, who[FG_EXFIL], &truth[FG_EXFIL]);
    uint32_t n_threat = g.n;
    fg_benign(&g, &org, &r_benign);

    pcapw_t w;
    fg_export_t x = {.ex = ex,
                     .n_ex = (uint32_t)a.exporters,
                     .fmt = a.fmt,
                     .batch_max = a.fmt == FG_FMT_V5 ? NF5_ENC_MAX_FLOWS : FG_BATCH_MAX,
                     .sampling_field = a.sample > 1 ? (uint16_t)(1u << 14 | a.sample) : 0,
                     .w = &w,
                     .r = &r_export};
    flow_addr_from_v4(&x.collector, FG_V4(192, 0, 2, 254));
    for (uint32_t i = 0; i < x.n_ex; i++) {
        flow_addr_from_v4(&ex[i].addr, FG_V4(192, 0, 2, i + 1));
        ex[i].port = (uint16_t)(50000 + i);
        /* Up 1 hour to 40 days before the span: some exporters' uptime wraps within it. */
        uint64_t up = fg_range(&r_export, 3600000u, 40ull * 86400000u);
        ex[i].boot_ms = g.start_ms - (up < g.start_ms ? up : g.start_ms);
        nf9e_cfg_t c9 = {.source_id = i,
                         .boot_ms = ex[i].boot_ms,
                         .sampling = (uint32_t)a.sample,
                         .mtu = FG_MTU};
        ipfixe_cfg_t cx = {.domain = i, .sampling = (uint32_t)a.sample, .mtu = FG_MTU};
        if (nf9e_init(&ex[i].nf9, &c9) != 0 || ipfixe_init(&ex[i].ipfix, &cx) != 0) {
            fprintf(stderr, "flowgen: FG_MTU is too small for the templates\n");
            return FG_EXIT_IO;
        }
    }
    int status = FG_EXIT_OK;
    if (pcapw_open(&w, a.out) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", a.out, strerror(errno));
        status = FG_EXIT_IO;
    } else if (fg_export(&g, &x) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", a.out, strerror(errno));
        pcapw_abort(&w);
        status = FG_EXIT_IO;
    } else if (pcapw_close(&w) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", a.out, strerror(errno));
        status = FG_EXIT_IO;
    } else if (a.truth && fg_truth_save(a.truth, truth) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", a.truth, strerror(errno));
        status = FG_EXIT_IO;
    }
    if (status == FG_EXIT_OK)
        fprintf(stderr,
                "flowgen: %" PRIu32 " flows (beacon %" PRIu32 ", scan %" PRIu32
                ", dns-exfil %" PRIu32 ", benign %" PRIu32 ") in %" PRIu64
                " datagrams from %" PRIu32 " exporter%s -> %s\n",
                g.n, truth[FG_BEACON].n_flows, truth[FG_SCAN].n_flows, truth[FG_EXFIL].n_flows,
                g.n - n_threat, x.n_dgrams, x.n_ex, x.n_ex == 1 ? "" : "s", a.out);
    fg_org_free(&org);
    free(ex);
    free(g.flows);
    return status;
}
