/* nf9_encode.c: the v9 writer (see nf9_encode.h).
 *
 * Each data template is one X-macro list from which the template record, the record length
 * and the record writer are all derived, so what a template announces and what a record holds
 * cannot drift apart. Field types are RFC 3954 section 8's.
 */
#include "nf9_encode.h"
#include "wire.h"

#include <string.h>

#define NF9E_HDR_LEN 20
#define NF9E_SET_HDR_LEN 4

/* X(type, length, kind, value). `kind` picks the writer: U an unsigned integer of `length`
 * bytes, A4 an IPv4 address, A6 an IPv6 address. `value` reads the flow `f` and encoder `e`.
 * Interfaces and AS numbers take 4 bytes and counters 8, as current routers send them. */
#define NF9E_V4_FIELDS(X)                                                                          \
    X(22, 4, U, nf9e_uptime(e, f->time_start)) /* FIRST_SWITCHED */                                \
    X(21, 4, U, nf9e_uptime(e, f->time_end))   /* LAST_SWITCHED */                                 \
    X(8, 4, A4, &f->src_addr)                  /* IPV4_SRC_ADDR */                                 \
    X(12, 4, A4, &f->dst_addr)                 /* IPV4_DST_ADDR */                                 \
    X(7, 2, U, f->src_port)                    /* L4_SRC_PORT */                                   \
    X(11, 2, U, f->dst_port)                   /* L4_DST_PORT (ICMP: type * 256 + code) */         \
    X(4, 1, U, f->proto)                       /* PROTOCOL */                                      \
    X(6, 1, U, f->tcp_flags)                   /* TCP_FLAGS */                                     \
    X(2, 8, U, f->packets)                     /* IN_PKTS */                                       \
    X(1, 8, U, f->bytes)                       /* IN_BYTES */                                      \
    X(10, 4, U, f->in_if)                      /* INPUT_SNMP */                                    \
    X(14, 4, U, f->out_if)                     /* OUTPUT_SNMP */                                   \
    X(5, 1, U, f->tos)                         /* SRC_TOS */                                       \
    X(16, 4, U, f->src_as)                     /* SRC_AS */                                        \
    X(17, 4, U, f->dst_as)                     /* DST_AS */                                        \
    X(9, 1, U, f->src_mask)                    /* SRC_MASK */                                      \
    X(13, 1, U, f->dst_mask)                   /* DST_MASK */                                      \
    X(15, 4, A4, &f->next_hop)                 /* IPV4_NEXT_HOP */

#define NF9E_V6_FIELDS(X)                                                                          \
    X(22, 4, U, nf9e_uptime(e, f->time_start)) /* FIRST_SWITCHED */                                \
    X(21, 4, U, nf9e_uptime(e, f->time_end))   /* LAST_SWITCHED */                                 \
    X(27, 16, A6, &f->src_addr)                /* IPV6_SRC_ADDR */                                 \
    X(28, 16, A6, &f->dst_addr)                /* IPV6_DST_ADDR */                                 \
    X(7, 2, U, f->src_port)                    /* L4_SRC_PORT */                                   \
    X(11, 2, U, f->dst_port)                   /* L4_DST_PORT */                                   \
    X(4, 1, U, f->proto)                       /* PROTOCOL */                                      \
    X(6, 1, U, f->tcp_flags)                   /* TCP_FLAGS */                                     \
    X(2, 8, U, f->packets)                     /* IN_PKTS */                                       \
    X(1, 8, U, f->bytes)                       /* IN_BYTES */                                      \
    X(10, 4, U, f->in_if)                      /* INPUT_SNMP */                                    \
    X(14, 4, U, f->out_if)                     /* OUTPUT_SNMP */                                   \
    X(5, 1, U, f->tos)                         /* SRC_TOS */                                       \
    X(16, 4, U, f->src_as)                     /* SRC_AS */                                        \
    X(17, 4, U, f->dst_as)                     /* DST_AS */                                        \
    X(29, 1, U, f->src_mask)                   /* IPV6_SRC_MASK */                                 \
    X(30, 1, U, f->dst_mask)                   /* IPV6_DST_MASK */                                 \
    X(62, 16, A6, &f->next_hop)                /* IPV6_NEXT_HOP */

#define NF9E_X_LEN(type, len, kind, value) +(len)
#define NF9E_X_COUNT(type, len, kind, value) +1
enum {
    NF9E_V4_LEN = 0 NF9E_V4_FIELDS(NF9E_X_LEN),
    NF9E_V6_LEN = 0 NF9E_V6_FIELDS(NF9E_X_LEN),
    NF9E_V4_N = 0 NF9E_V4_FIELDS(NF9E_X_COUNT),
    NF9E_V6_N = 0 NF9E_V6_FIELDS(NF9E_X_COUNT),
};

/* The template FlowSet: its header, then per template its ID, field count and (type, length)
 * pairs (section 5.2). A multiple of 4 bytes, so never padded. */
#define NF9E_TPL_SET_LEN (NF9E_SET_HDR_LEN + 4 + 4 * NF9E_V4_N + 4 + 4 * NF9E_V6_N)

/* The options template (section 6.1): scope System (type 1, 4 bytes: the source ID), options
 * SAMPLING_INTERVAL (34, 4 bytes) and SAMPLING_ALGORITHM (35, 1 byte: 1 deterministic), the
 * global sampling of the exporter that every v9 decoder applies to the whole source ID. */
#define NF9E_OPT_SCOPE_LEN 4 /* bytes of scope (type, length) pairs */
#define NF9E_OPT_FIELDS_LEN 8
#define NF9E_OPT_REC_LEN (4 + 4 + 1)
#define NF9E_OPT_TPL_SET_LEN (NF9E_SET_HDR_LEN + 6 + NF9E_OPT_SCOPE_LEN + NF9E_OPT_FIELDS_LEN)
#define NF9E_SAMPLING_DETERMINISTIC 1

static size_t nf9e_pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* sysUptime of an absolute time: a 32-bit millisecond counter from boot that wraps. */
static uint32_t nf9e_uptime(const nf9e_t *e, uint64_t ms)
{
    return (uint32_t)(ms - e->cfg.boot_ms);
}

/* The IPv6 template is for flows whose addresses are IPv6; an absent address (all zero in a
 * cleared record) is not IPv4-mapped, so presence is checked first. */
static int nf9e_is_v6(const flow_rec_t *f)
{
    return (FLOW_HAS(f, src_addr) && !flow_addr_is_v4(&f->src_addr)) ||
           (FLOW_HAS(f, dst_addr) && !flow_addr_is_v4(&f->dst_addr));
}

static int nf9e_sampled(const nf9e_t *e)
{
    return e->cfg.sampling > 1;
}

/* Bytes before the first data FlowSet: the header and, when due, templates and options. */
static size_t nf9e_fixed_len(const nf9e_t *e)
{
    size_t len = NF9E_HDR_LEN;
    if (e->since_tpl == 0) {
        len += NF9E_TPL_SET_LEN;
        if (nf9e_sampled(e))
            len += nf9e_pad4(NF9E_OPT_TPL_SET_LEN) + nf9e_pad4(NF9E_SET_HDR_LEN + NF9E_OPT_REC_LEN);
    }
    return len;
}

/* Lays out the next datagram: how many flows fit and (in *out_len) its length. */
static size_t nf9e_plan(const nf9e_t *e, const flow_rec_t *flows, size_t n, size_t *out_len)
{
    size_t closed = nf9e_fixed_len(e), open = 0; /* open: the current data FlowSet, unpadded */
    int fam = -1;
    size_t k;
    for (k = 0; k < n; k++) {
        int v6 = nf9e_is_v6(&flows[k]);
        size_t c = closed, o = open;
        if (v6 != fam) {
            c += nf9e_pad4(o);
            o = NF9E_SET_HDR_LEN;
        }
        o += v6 ? NF9E_V6_LEN : NF9E_V4_LEN;
        if (c + nf9e_pad4(o) > e->cfg.mtu)
            break;
        closed = c;
        open = o;
        fam = v6;
    }
    *out_len = closed + nf9e_pad4(open);
    return k;
}

int nf9e_init(nf9e_t *e, const nf9e_cfg_t *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    if (e->cfg.tpl_refresh == 0)
        e->cfg.tpl_refresh = NF9E_REFRESH_DEFAULT;
    if (e->cfg.mtu == 0)
        e->cfg.mtu = NF9E_MTU_DEFAULT;
    size_t worst = nf9e_fixed_len(e) + nf9e_pad4(NF9E_SET_HDR_LEN + NF9E_V6_LEN);
    return e->cfg.mtu >= worst && e->cfg.mtu <= NF9E_MTU_MAX ? 0 : -1;
}

size_t nf9e_fit(const nf9e_t *e, const flow_rec_t *flows, size_t n)
{
    size_t len;
    return nf9e_plan(e, flows, n, &len);
}

/* Ends the FlowSet that starts at `set`: zero padding to 4 bytes, then its length. */
static uint8_t *nf9e_close_set(uint8_t *set, uint8_t *p)
{
    while ((p - set) % 4)
        *p++ = 0;
    wire_be16(set + 2, (uint16_t)(p - set));
    return p;
}

static uint8_t *nf9e_templates(const nf9e_t *e, uint8_t *p, uint16_t *count)
{
#define NF9E_X_TPL(type, len, kind, value) p = wire_spec(p, type, len);
    p = wire_be16(p, 0); /* FlowSet ID 0: templates */
    p = wire_be16(p, NF9E_TPL_SET_LEN);
    p = wire_be16(p, NF9E_TPL_V4);
    p = wire_be16(p, NF9E_V4_N);
    NF9E_V4_FIELDS(NF9E_X_TPL)
    p = wire_be16(p, NF9E_TPL_V6);
    p = wire_be16(p, NF9E_V6_N);
    NF9E_V6_FIELDS(NF9E_X_TPL)
#undef NF9E_X_TPL
    *count += 2;
    if (!nf9e_sampled(e))
        return p;

    uint8_t *set = p;
    p = wire_be16(p, 1); /* FlowSet ID 1: options templates */
    p += 2;
    p = wire_be16(p, NF9E_TPL_OPTIONS);
    p = wire_be16(p, NF9E_OPT_SCOPE_LEN);
    p = wire_be16(p, NF9E_OPT_FIELDS_LEN);
    p = wire_spec(p, 1, 4);  /* scope System */
    p = wire_spec(p, 34, 4); /* SAMPLING_INTERVAL */
    p = wire_spec(p, 35, 1); /* SAMPLING_ALGORITHM */
    p = nf9e_close_set(set, p);

    set = p;
    p = wire_be16(p, NF9E_TPL_OPTIONS);
    p += 2;
    p = wire_be32(p, e->cfg.source_id);
    p = wire_be32(p, e->cfg.sampling);
    *p++ = NF9E_SAMPLING_DETERMINISTIC;
    p = nf9e_close_set(set, p);
    *count += 2; /* the options template and its one record */
    return p;
}

size_t nf9e_encode(nf9e_t *e, uint8_t *out, size_t cap, uint64_t export_ms, const flow_rec_t *flows,
                   size_t n, size_t *n_done)
{
    size_t len, k = nf9e_plan(e, flows, n, &len);
    *n_done = 0;
    if (k == 0 || cap < len)
        return 0;
    uint16_t count = 0;
    uint8_t *p = out + NF9E_HDR_LEN;
    if (e->since_tpl == 0)
        p = nf9e_templates(e, p, &count);

#define NF9E_X_PUT(type, len, kind, value) p = wire_put_##kind(p, len, value);
    uint8_t *set = NULL;
    int fam = -1;
    for (size_t i = 0; i < k; i++) {
        const flow_rec_t *f = &flows[i];
        int v6 = nf9e_is_v6(f);
        if (v6 != fam) {
            if (set)
                p = nf9e_close_set(set, p);
            set = p;
            p = wire_be16(p, v6 ? NF9E_TPL_V6 : NF9E_TPL_V4);
            p += 2;
            fam = v6;
        }
        if (v6) {
            NF9E_V6_FIELDS(NF9E_X_PUT)
        } else {
            NF9E_V4_FIELDS(NF9E_X_PUT)
        }
    }
#undef NF9E_X_PUT
    p = nf9e_close_set(set, p);
    count = (uint16_t)(count + k);

    uint8_t *h = out;
    h = wire_be16(h, 9);
    h = wire_be16(h, count);
    h = wire_be32(h, nf9e_uptime(e, export_ms));
    h = wire_be32(h, (uint32_t)(export_ms / 1000));
    h = wire_be32(h, e->sequence);
    wire_be32(h, e->cfg.source_id);

    e->sequence++;
    e->since_tpl = (e->since_tpl + 1) % e->cfg.tpl_refresh;
    *n_done = k;
    return (size_t)(p - out);
}
