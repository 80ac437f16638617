/* ipfix_encode.c: the IPFIX writer (see ipfix_encode.h).
 *
 * Each data template is one X-macro list from which the template record, the record length
 * and the record writer are all derived, so what a template announces and what a record holds
 * cannot drift apart. Element names and numbers are IANA's (RFC 7012, RFC 5477).
 */
#include "ipfix_encode.h"
#include "wire.h"

#include <string.h>

#define IPFIXE_HDR_LEN 16
#define IPFIXE_SET_HDR_LEN 4

/* X(element id, length, kind, value). `kind` picks the writer: U an unsigned integer of
 * `length` bytes, A4 an IPv4 address, A6 an IPv6 address. `value` reads the flow `f`.
 * tcpControlBits takes the 2 bytes of RFC 7125; interfaces and AS numbers 4, counters 8. */
#define IPFIXE_V4_FIELDS(X)                                                                        \
    X(152, 8, U, f->time_start) /* flowStartMilliseconds */                                        \
    X(153, 8, U, f->time_end)   /* flowEndMilliseconds */                                          \
    X(8, 4, A4, &f->src_addr)   /* sourceIPv4Address */                                            \
    X(12, 4, A4, &f->dst_addr)  /* destinationIPv4Address */                                       \
    X(7, 2, U, f->src_port)     /* sourceTransportPort */                                          \
    X(11, 2, U, f->dst_port)    /* destinationTransportPort (ICMP: type * 256 + code) */           \
    X(4, 1, U, f->proto)        /* protocolIdentifier */                                           \
    X(6, 2, U, f->tcp_flags)    /* tcpControlBits */                                               \
    X(2, 8, U, f->packets)      /* packetDeltaCount */                                             \
    X(1, 8, U, f->bytes)        /* octetDeltaCount */                                              \
    X(10, 4, U, f->in_if)       /* ingressInterface */                                             \
    X(14, 4, U, f->out_if)      /* egressInterface */                                              \
    X(5, 1, U, f->tos)          /* ipClassOfService */                                             \
    X(16, 4, U, f->src_as)      /* bgpSourceAsNumber */                                            \
    X(17, 4, U, f->dst_as)      /* bgpDestinationAsNumber */                                       \
    X(9, 1, U, f->src_mask)     /* sourceIPv4PrefixLength */                                       \
    X(13, 1, U, f->dst_mask)    /* destinationIPv4PrefixLength */                                  \
    X(15, 4, A4, &f->next_hop)  /* ipNextHopIPv4Address */

#define IPFIXE_V6_FIELDS(X)                                                                        \
    X(152, 8, U, f->time_start) /* flowStartMilliseconds */                                        \
    X(153, 8, U, f->time_end)   /* flowEndMilliseconds */                                          \
    X(27, 16, A6, &f->src_addr) /* sourceIPv6Address */                                            \
    X(28, 16, A6, &f->dst_addr) /* destinationIPv6Address */                                       \
    X(7, 2, U, f->src_port)     /* sourceTransportPort */                                          \
    X(11, 2, U, f->dst_port)    /* destinationTransportPort */                                     \
    X(4, 1, U, f->proto)        /* protocolIdentifier */                                           \
    X(6, 2, U, f->tcp_flags)    /* tcpControlBits */                                               \
    X(2, 8, U, f->packets)      /* packetDeltaCount */                                             \
    X(1, 8, U, f->bytes)        /* octetDeltaCount */                                              \
    X(10, 4, U, f->in_if)       /* ingressInterface */                                             \
    X(14, 4, U, f->out_if)      /* egressInterface */                                              \
    X(5, 1, U, f->tos)          /* ipClassOfService */                                             \
    X(16, 4, U, f->src_as)      /* bgpSourceAsNumber */                                            \
    X(17, 4, U, f->dst_as)      /* bgpDestinationAsNumber */                                       \
    X(29, 1, U, f->src_mask)    /* sourceIPv6PrefixLength */                                       \
    X(30, 1, U, f->dst_mask)    /* destinationIPv6PrefixLength */                                  \
    X(62, 16, A6, &f->next_hop) /* ipNextHopIPv6Address */

/* With sampling on, each data record ends with the selectorId (302) that its options record
 * describes, in 4 bytes (reduced-size encoding of an unsigned64, RFC 7011 section 6.2). */
#define IPFIXE_SELECTOR_LEN 4

#define IPFIXE_X_LEN(id, len, kind, value) +(len)
#define IPFIXE_X_COUNT(id, len, kind, value) +1
enum {
    IPFIXE_V4_LEN = 0 IPFIXE_V4_FIELDS(IPFIXE_X_LEN),
    IPFIXE_V6_LEN = 0 IPFIXE_V6_FIELDS(IPFIXE_X_LEN),
    IPFIXE_V4_N = 0 IPFIXE_V4_FIELDS(IPFIXE_X_COUNT),
    IPFIXE_V6_N = 0 IPFIXE_V6_FIELDS(IPFIXE_X_COUNT),
};

/* The options template (section 3.4.2.2): ID, field count, scope field count, then
 * selectorId (scope), selectorAlgorithm, samplingPacketInterval, samplingPacketSpace. */
#define IPFIXE_OPT_TPL_SET_LEN (IPFIXE_SET_HDR_LEN + 6 + 4 * 4)
#define IPFIXE_OPT_REC_LEN (IPFIXE_SELECTOR_LEN + 2 + 4 + 4)
#define IPFIXE_OPT_SET_LEN (IPFIXE_SET_HDR_LEN + IPFIXE_OPT_REC_LEN)
#define IPFIXE_ALGO_SYSTEMATIC_COUNT 1 /* RFC 5477 section 8.2.1 */

/* The IPv6 template is for flows whose addresses are IPv6; an absent address (all zero in a
 * cleared record) is not IPv4-mapped, so presence is checked first. */
static int ipfixe_is_v6(const flow_rec_t *f)
{
    return (FLOW_HAS(f, src_addr) && !flow_addr_is_v4(&f->src_addr)) ||
           (FLOW_HAS(f, dst_addr) && !flow_addr_is_v4(&f->dst_addr));
}

static int ipfixe_sampled(const ipfixe_t *e)
{
    return e->cfg.sampling > 1;
}

static size_t ipfixe_rec_len(const ipfixe_t *e, int v6)
{
    return (size_t)(v6 ? IPFIXE_V6_LEN : IPFIXE_V4_LEN) +
           (ipfixe_sampled(e) ? IPFIXE_SELECTOR_LEN : 0);
}

static size_t ipfixe_tpl_set_len(const ipfixe_t *e)
{
    size_t extra = ipfixe_sampled(e) ? 4 : 0; /* the selectorId specifier */
    return IPFIXE_SET_HDR_LEN + 4 + 4 * IPFIXE_V4_N + extra + 4 + 4 * IPFIXE_V6_N + extra;
}

/* Bytes before the first data set: the header and, when due, templates and options. */
static size_t ipfixe_fixed_len(const ipfixe_t *e)
{
    size_t len = IPFIXE_HDR_LEN;
    if (e->since_tpl == 0) {
        len += ipfixe_tpl_set_len(e);
        if (ipfixe_sampled(e))
            len += IPFIXE_OPT_TPL_SET_LEN + IPFIXE_OPT_SET_LEN;
    }
    return len;
}

/* Lays out the next message: how many flows fit and (in *out_len) its length. */
static size_t ipfixe_plan(const ipfixe_t *e, const flow_rec_t *flows, size_t n, size_t *out_len)
{
    size_t len = ipfixe_fixed_len(e);
    int fam = -1;
    size_t k;
    for (k = 0; k < n; k++) {
        int v6 = ipfixe_is_v6(&flows[k]);
        size_t add = ipfixe_rec_len(e, v6) + (v6 != fam ? IPFIXE_SET_HDR_LEN : 0);
        if (len + add > e->cfg.mtu)
            break;
        len += add;
        fam = v6;
    }
    *out_len = len;
    return k;
}

int ipfixe_init(ipfixe_t *e, const ipfixe_cfg_t *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    if (e->cfg.tpl_refresh == 0)
        e->cfg.tpl_refresh = IPFIXE_REFRESH_DEFAULT;
    if (e->cfg.mtu == 0)
        e->cfg.mtu = IPFIXE_MTU_DEFAULT;
    size_t worst = ipfixe_fixed_len(e) + IPFIXE_SET_HDR_LEN + ipfixe_rec_len(e, 1);
    return e->cfg.mtu >= worst && e->cfg.mtu <= IPFIXE_MTU_MAX ? 0 : -1;
}

size_t ipfixe_fit(const ipfixe_t *e, const flow_rec_t *flows, size_t n)
{
    size_t len;
    return ipfixe_plan(e, flows, n, &len);
}

static uint8_t *ipfixe_close_set(uint8_t *set, uint8_t *p)
{
    wire_be16(set + 2, (uint16_t)(p - set));
    return p;
}

static uint8_t *ipfixe_templates(const ipfixe_t *e, uint8_t *p, uint32_t *n_opt_records)
{
    int sampled = ipfixe_sampled(e);
#define IPFIXE_X_TPL(id, len, kind, value) p = wire_spec(p, id, len);
    uint8_t *set = p;
    p = wire_be16(p, 2); /* set ID 2: templates */
    p += 2;
    p = wire_be16(p, IPFIXE_TPL_V4);
    p = wire_be16(p, (uint16_t)(IPFIXE_V4_N + sampled));
    IPFIXE_V4_FIELDS(IPFIXE_X_TPL)
    if (sampled)
        p = wire_spec(p, 302, IPFIXE_SELECTOR_LEN);
    p = wire_be16(p, IPFIXE_TPL_V6);
    p = wire_be16(p, (uint16_t)(IPFIXE_V6_N + sampled));
    IPFIXE_V6_FIELDS(IPFIXE_X_TPL)
#undef IPFIXE_X_TPL
    if (sampled)
        p = wire_spec(p, 302, IPFIXE_SELECTOR_LEN);
    p = ipfixe_close_set(set, p);
    if (!sampled)
        return p;

    set = p;
    p = wire_be16(p, 3); /* set ID 3: options templates */
    p += 2;
    p = wire_be16(p, IPFIXE_TPL_OPTIONS);
    p = wire_be16(p, 4);                        /* field count */
    p = wire_be16(p, 1);                        /* scope field count */
    p = wire_spec(p, 302, IPFIXE_SELECTOR_LEN); /* selectorId */
    p = wire_spec(p, 304, 2);                   /* selectorAlgorithm */
    p = wire_spec(p, 305, 4);                   /* samplingPacketInterval */
    p = wire_spec(p, 306, 4);                   /* samplingPacketSpace */
    p = ipfixe_close_set(set, p);

    set = p;
    p = wire_be16(p, IPFIXE_TPL_OPTIONS);
    p += 2;
    p = wire_put_U(p, IPFIXE_SELECTOR_LEN, IPFIXE_SELECTOR_ID);
    p = wire_be16(p, IPFIXE_ALGO_SYSTEMATIC_COUNT);
    p = wire_be32(p, 1);                   /* one packet taken ... */
    p = wire_be32(p, e->cfg.sampling - 1); /* ... then N - 1 skipped: 1 in N */
    *n_opt_records = 1;
    return ipfixe_close_set(set, p);
}

size_t ipfixe_encode(ipfixe_t *e, uint8_t *out, size_t cap, uint64_t export_ms,
                     const flow_rec_t *flows, size_t n, size_t *n_done)
{
    size_t len, k = ipfixe_plan(e, flows, n, &len);
    *n_done = 0;
    if (k == 0 || cap < len)
        return 0;
    uint32_t n_opt = 0;
    uint8_t *p = out + IPFIXE_HDR_LEN;
    if (e->since_tpl == 0)
        p = ipfixe_templates(e, p, &n_opt);

    int sampled = ipfixe_sampled(e);
#define IPFIXE_X_PUT(id, len, kind, value) p = wire_put_##kind(p, len, value);
    uint8_t *set = NULL;
    int fam = -1;
    for (size_t i = 0; i < k; i++) {
        const flow_rec_t *f = &flows[i];
        int v6 = ipfixe_is_v6(f);
        if (v6 != fam) {
            if (set)
                p = ipfixe_close_set(set, p);
            set = p;
            p = wire_be16(p, v6 ? IPFIXE_TPL_V6 : IPFIXE_TPL_V4);
            p += 2;
            fam = v6;
        }
        if (v6) {
            IPFIXE_V6_FIELDS(IPFIXE_X_PUT)
        } else {
            IPFIXE_V4_FIELDS(IPFIXE_X_PUT)
        }
        if (sampled)
            p = wire_put_U(p, IPFIXE_SELECTOR_LEN, IPFIXE_SELECTOR_ID);
    }
#undef IPFIXE_X_PUT
    p = ipfixe_close_set(set, p);

    uint8_t *h = out;
    h = wire_be16(h, 10);
    h = wire_be16(h, (uint16_t)(p - out));
    h = wire_be32(h, (uint32_t)(export_ms / 1000));
    h = wire_be32(h, e->sequence);
    wire_be32(h, e->cfg.domain);

    e->sequence += (uint32_t)k + n_opt;
    e->since_tpl = (e->since_tpl + 1) % e->cfg.tpl_refresh;
    *n_done = k;
    return (size_t)(p - out);
}
