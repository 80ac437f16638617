/* fg_org.c: the synthetic organisation (hosts, servers, external destinations, IPv6 twins)
 * and its everyday traffic. See fg_org.h. */
#include "fg_org.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const fg_server_t fg_internal_servers[6] = {
    {FG_V4(10, 0, 0, 10), 445},  {FG_V4(10, 0, 0, 11), 445},  {FG_V4(10, 0, 0, 20), 22},
    {FG_V4(10, 0, 0, 30), 3389}, {FG_V4(10, 0, 0, 40), 8080}, {FG_V4(10, 0, 0, 25), 25},
};

#define FG_DUAL_STACK_SHARE 0.35 /* of hosts */
#define FG_EXT_V6_SHARE 0.45     /* of external destinations (about what AAAA adoption is) */

int fg_is_internal(uint32_t a)
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

int fg_org_init(fg_org_t *o, uint64_t n_flows, uint64_t seed, fg_rng_t *r)
{
    memset(o, 0, sizeof *o);
    o->salt = fg_hash(seed, 0x6f7267u);
    o->ula_id = fg_hash(seed, 0x756c61u) & 0xffffffffffu; /* RFC 4193 section 3.2: random */
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

void fg_org_free(fg_org_t *o)
{
    free(o->hosts);
    free(o->ext);
    free(o->ext_port);
}

void fg_org_addr(const fg_org_t *o, uint32_t a, int v6, flow_addr_t *out)
{
    if (!v6) {
        flow_addr_from_v4(out, a);
        return;
    }
    uint8_t b[16];
    uint64_t h = fg_hash(o->salt, a);
    if (fg_is_internal(a)) {
        /* fdXX:XXXX:XXXX:SSSS:IIII:IIII:IIII:IIII: the ULA /48, the /24's third octet as the
         * subnet ID; servers keep their last octet as the interface ID (::53 is a resolver),
         * hosts have a random-looking one as SLAAC with privacy gives. */
        b[0] = 0xfd;
        for (int i = 0; i < 5; i++)
            b[1 + i] = (uint8_t)(o->ula_id >> (32 - 8 * i));
        b[6] = 0;
        b[7] = (uint8_t)(a >> 8);
        if (((a >> 8) & 0xff) < FG_FIRST_HOST_NET) {
            memset(b + 8, 0, 7);
            b[15] = (uint8_t)a;
        } else {
            for (int i = 0; i < 8; i++)
                b[8 + i] = (uint8_t)(h >> (56 - 8 * i));
        }
    } else {
        /* a global unicast address in a block the RIRs hand out (2400::/12 APNIC,
         * 2600::/12 ARIN, 2800::/12 LACNIC, 2a00::/12 RIPE): never documentation or 6to4 */
        static const uint16_t rir[4] = {0x2400, 0x2600, 0x2800, 0x2a00};
        uint16_t top = (uint16_t)(rir[h & 3] | ((h >> 2) & 0x0f));
        uint64_t h2 = fg_hash(o->salt ^ 0x7636u, a);
        b[0] = (uint8_t)(top >> 8);
        b[1] = (uint8_t)top;
        for (int i = 0; i < 6; i++)
            b[2 + i] = (uint8_t)(h >> (56 - 8 * i));
        for (int i = 0; i < 8; i++)
            b[8 + i] = (uint8_t)(h2 >> (56 - 8 * i));
    }
    flow_addr_from_v6_bytes(out, b);
}

int fg_org_dual_stack(const fg_org_t *o, uint32_t host)
{
    return (double)(fg_hash(o->salt ^ 0x6473u, host) >> 11) * 0x1.0p-53 < FG_DUAL_STACK_SHARE;
}

int fg_org_has_v6(const fg_org_t *o, uint32_t ext)
{
    return (double)(fg_hash(o->salt ^ 0x6536u, ext) >> 11) * 0x1.0p-53 < FG_EXT_V6_SHARE;
}

static int fg_in(const uint32_t *v, uint32_t n, uint32_t a)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i] == a)
            return 1;
    return 0;
}

uint32_t fg_org_fresh(fg_org_t *o, fg_rng_t *r)
{
    for (;;) {
        uint32_t a = fg_public_addr(r);
        if (fg_in(o->ext, o->n_ext, a) || fg_in(o->ns, FG_N_NS, a) || fg_in(o->ntp, FG_N_NTP, a) ||
            fg_in(o->fresh, o->n_fresh, a))
            continue;
        if (o->n_fresh < FG_MAX_FRESH)
            o->fresh[o->n_fresh++] = a;
        return a;
    }
}

int fg_org_is_host(const fg_org_t *o, uint32_t a)
{
    /* the layout of fg_org_init: host i is 10.0.(FIRST + i % n_nets).(10 + i / n_nets) */
    uint32_t net = (a >> 8) & 0xff, oct = a & 0xff;
    if ((a >> 16) != ((10u << 8) | 0) || net < FG_FIRST_HOST_NET ||
        net - FG_FIRST_HOST_NET >= o->n_nets || oct < 10)
        return 0;
    return (uint64_t)(oct - 10) * o->n_nets + (net - FG_FIRST_HOST_NET) < o->n_hosts;
}

uint32_t fg_org_pick_host(fg_org_t *o, fg_rng_t *r, int want_v6)
{
    uint32_t a = 0;
    for (int tries = 0; tries < 10000; tries++) {
        a = o->hosts[fg_range(r, 0, o->n_hosts - 1)];
        if (fg_in(o->taken, o->n_taken, a) || (want_v6 && !fg_org_dual_stack(o, a) && tries < 5000))
            continue;
        break;
    }
    if (o->n_taken < FG_MAX_FRESH)
        o->taken[o->n_taken++] = a;
    return a;
}

uint32_t fg_org_any_host(const fg_org_t *o, fg_rng_t *r)
{
    double u = fg_unit(r);
    return o->hosts[(uint32_t)(u * u * o->n_hosts)];
}

uint64_t fg_org_when(fg_rng_t *r, uint64_t from, uint64_t to)
{
    if (to <= from + 1)
        return from;
    uint64_t span = to - from;
    for (;;) {
        uint64_t t = from + (uint64_t)(fg_unit(r) * (double)span);
        double hour = (double)(t / 1000 % 86400) / 3600.0;
        uint64_t dow = (t / FG_DAY_MS + 4) % 7; /* 1970-01-01 was a Thursday; 0 is Sunday */
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

void fg_org_session(fg_conv_t *c, fg_rng_t *r, double median_ms, double sigma)
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

void fg_org_datagram_pair(fg_conv_t *c, fg_rng_t *r, uint64_t req_lo, uint64_t req_hi,
                          uint64_t resp_lo, uint64_t resp_hi, uint32_t rtt_hi)
{
    c->proto = FG_UDP;
    c->dur_ms = 0;
    c->rtt_ms = (uint32_t)fg_range(r, 1, rtt_hi);
    c->req_pkts = c->resp_pkts = 1;
    c->req_bytes = fg_range(r, req_lo, req_hi);
    c->resp_bytes = fg_range(r, resp_lo, resp_hi);
}

void fg_org_background(fg_gen_t *g, const fg_org_t *o, fg_rng_t *r)
{
    while (g->n < g->cap) {
        fg_conv_t c;
        memset(&c, 0, sizeof c);
        c.t_ms = fg_org_when(r, g->start_ms, g->end_ms - 2000);
        uint32_t host = fg_org_any_host(o, r);
        uint32_t net = (host >> 8) & 0xff;
        int dual = fg_org_dual_stack(o, host);
        c.client = host;
        c.cport = fg_ephemeral(r);
        double kind = fg_unit(r);
        if (kind < 0.62) { /* web and other external TCP; a fifth of HTTPS is QUIC */
            uint32_t i = fg_zipf(r, o->n_ext);
            c.server = o->ext[i];
            c.sport = o->ext_port[i];
            c.proto = c.sport == 443 && fg_unit(r) < 0.2 ? FG_UDP : FG_TCP;
            /* Happy Eyeballs (RFC 8305): a dual-stack host mostly wins over IPv6 */
            c.v6 = dual && fg_org_has_v6(o, c.server) && fg_unit(r) < 0.8;
            fg_org_session(&c, r, 3000, 2.0);
        } else if (kind < 0.86) { /* DNS to the host's resolver, sometimes the other one */
            int primary_a = (net & 1) == 0;
            int use_a = fg_unit(r) < 0.85 ? primary_a : !primary_a;
            c.server = use_a ? FG_RESOLVER_A : FG_RESOLVER_B;
            c.sport = 53;
            c.v6 = dual && fg_unit(r) < 0.3;
            fg_org_datagram_pair(&c, r, 55, 110, 80, 450, 40);
        } else if (kind < 0.90) { /* ping: ICMP echo, type 8 code 0 in the destination port */
            c.server = fg_unit(r) < 0.5 ? o->ext[fg_zipf(r, o->n_ext)]
                                        : fg_internal_servers[fg_range(r, 0, 5)].addr;
            c.proto = FG_ICMP;
            c.cport = 0;
            c.sport = FG_ICMP_ECHO;
            c.req_pkts = c.resp_pkts = fg_unit(r) < 0.7 ? 4 : fg_range(r, 1, 10);
            c.req_bytes = c.resp_bytes = 84 * c.req_pkts;
            c.dur_ms = (c.req_pkts - 1) * 1000;
            c.rtt_ms = (uint32_t)fg_range(r, 1, 80);
        } else { /* internal services: file shares, SSH, RDP, intranet, mail */
            const fg_server_t *s = &fg_internal_servers[fg_range(r, 0, 5)];
            c.server = s->addr;
            c.sport = s->port;
            c.proto = FG_TCP;
            fg_org_session(&c, r, 20000, 2.2);
        }
        fg_conv_emit(g, &c);
    }
}
