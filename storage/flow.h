/* flow.h: the canonical flow record, the one thing collector and analyzer agree on.
 *
 * Every decoder (NetFlow v5, v9, IPFIX) produces a flow_rec_t and every consumer (printers,
 * segment writer, hunts) reads one. The columns are listed once, in FLOW_COLUMNS below; the
 * struct, the column enum, the column directory (names, types, offsets) and the printers are
 * all derived from that list, so adding a column is one line here plus its description in
 * docs/FLOW_RECORD.md (a test checks the two agree).
 *
 * A field the exporter did not send is absent, not zero: `present` has bit FLOW_COL_<name> set
 * for each field that was sent. Always write fields through FLOW_SET() so the bit is kept.
 */
#ifndef FH_FLOW_H
#define FH_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* An IPv4 or IPv6 address. IPv4 is held IPv4-mapped (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2)
 * so that one 16-byte column holds both families and compares bytewise. */
typedef struct flow_addr {
    uint8_t b[16];
} flow_addr_t;

/* Value types of columns: the C type each one has in flow_rec_t. */
typedef uint8_t flow_ctype_U8;
typedef uint16_t flow_ctype_U16;
typedef uint32_t flow_ctype_U32;
typedef uint64_t flow_ctype_U64;
typedef uint64_t flow_ctype_TIME; /* milliseconds since the Unix epoch, UTC */
typedef flow_addr_t flow_ctype_ADDR;

typedef enum flow_type {
    FLOW_T_U8,
    FLOW_T_U16,
    FLOW_T_U32,
    FLOW_T_U64,
    FLOW_T_TIME,
    FLOW_T_ADDR
} flow_type_t;

/* X(name, TYPE, description). The first twelve are the stable interface of the CSV and JSON
 * output (docs/FLOW_RECORD.md); new columns go at the end. */
#define FLOW_COLUMNS(X)                                                                            \
    X(time_start, TIME, "first packet of the flow, ms since the Unix epoch (UTC)")                 \
    X(time_end, TIME, "last packet of the flow, ms since the Unix epoch (UTC)")                    \
    X(src_addr, ADDR, "source address")                                                            \
    X(dst_addr, ADDR, "destination address")                                                       \
    X(src_port, U16, "source transport port")                                                      \
    X(dst_port, U16, "destination transport port (ICMP: type*256+code as exporters send it)")      \
    X(proto, U8, "IP protocol number")                                                             \
    X(tcp_flags, U8, "OR of the TCP flags of all packets")                                         \
    X(packets, U64, "packets, as exported (before sampling correction)")                           \
    X(bytes, U64, "bytes of IP packets, as exported (before sampling correction)")                 \
    X(exporter, ADDR, "address the export datagram came from")                                     \
    X(sampling, U32, "sampling interval announced for the flow (1 in N); 1 when none announced")   \
    X(obs_domain, U32, "observation domain (IPFIX), source ID (v9), engine type<<8|id (v5)")       \
    X(in_if, U32, "input interface index (SNMP ifIndex)")                                          \
    X(out_if, U32, "output interface index (SNMP ifIndex)")                                        \
    X(src_as, U32, "source autonomous system")                                                     \
    X(dst_as, U32, "destination autonomous system")                                                \
    X(next_hop, ADDR, "IP next hop")                                                               \
    X(src_mask, U8, "source prefix length")                                                        \
    X(dst_mask, U8, "destination prefix length")                                                   \
    X(tos, U8, "IP type of service byte (DSCP and ECN)")                                           \
    X(direction, U8, "flow direction: 0 ingress, 1 egress")                                        \
    X(icmp_type, U8, "ICMP or ICMPv6 type")                                                        \
    X(icmp_code, U8, "ICMP or ICMPv6 code")                                                        \
    X(vlan, U16, "VLAN id")                                                                        \
    X(end_reason, U8,                                                                              \
      "flow end reason (IPFIX flowEndReason: 1 idle, 2 active, 3 end, 4 forced, 5 lack of "        \
      "resources)")                                                                                \
    X(rev_packets, U64, "reverse-direction packets of a biflow (RFC 5103)")                        \
    X(rev_bytes, U64, "reverse-direction bytes of a biflow (RFC 5103)")                            \
    X(fw_event, U8,                                                                                \
      "firewall event (NSEL/IPFIX firewallEvent: 1 create, 2 delete, 3 deny, 4 alert, 5 update)")  \
    X(nat_src_addr, ADDR, "source address after NAT (NSEL/NEL)")                                   \
    X(nat_dst_addr, ADDR, "destination address after NAT (NSEL/NEL)")                              \
    X(nat_src_port, U16, "source port after NAT (NSEL/NEL)")                                       \
    X(nat_dst_port, U16, "destination port after NAT (NSEL/NEL)")                                  \
    X(rev_tcp_flags, U8, "OR of the TCP flags of the reverse direction of a biflow (RFC 5103)")

typedef enum flow_col {
#define FLOW_X_ENUM(name, type, desc) FLOW_COL_##name,
    FLOW_COLUMNS(FLOW_X_ENUM)
#undef FLOW_X_ENUM
        FLOW_N_COLS
} flow_col_t;

_Static_assert(FLOW_N_COLS <= 64, "presence bits are one uint64_t");

typedef struct flow_rec {
    uint64_t present; /* bit (1 << FLOW_COL_name) set when the field was sent */
#define FLOW_X_FIELD(name, type, desc) flow_ctype_##type name;
    FLOW_COLUMNS(FLOW_X_FIELD)
#undef FLOW_X_FIELD
} flow_rec_t;

#define FLOW_BIT(name) ((uint64_t)1 << FLOW_COL_##name)
#define FLOW_HAS(rec, name) (((rec)->present & FLOW_BIT(name)) != 0)
#define FLOW_SET(rec, name, value)                                                                 \
    do {                                                                                           \
        (rec)->name = (value);                                                                     \
        (rec)->present |= FLOW_BIT(name);                                                          \
    } while (0)

/* The column directory: what a generic printer or writer needs to know of each column. */
typedef struct flow_col_info {
    const char *name;
    flow_type_t type;
    size_t offset; /* within flow_rec_t */
    size_t width;  /* bytes */
    const char *desc;
} flow_col_info_t;

extern const flow_col_info_t flow_cols[FLOW_N_COLS];

/* The column that holds the other direction's value of `col`: src_addr <-> dst_addr and the
 * other source/destination pairs; every other column is its own mirror. A reverse link of
 * the segment format swaps them (seg_write.c), and so does a filter taken either way
 * (flt_either_way). */
static inline int flow_col_mirror(int col)
{
    switch (col) {
    case FLOW_COL_src_addr:
        return FLOW_COL_dst_addr;
    case FLOW_COL_dst_addr:
        return FLOW_COL_src_addr;
    case FLOW_COL_src_port:
        return FLOW_COL_dst_port;
    case FLOW_COL_dst_port:
        return FLOW_COL_src_port;
    case FLOW_COL_in_if:
        return FLOW_COL_out_if;
    case FLOW_COL_out_if:
        return FLOW_COL_in_if;
    case FLOW_COL_src_as:
        return FLOW_COL_dst_as;
    case FLOW_COL_dst_as:
        return FLOW_COL_src_as;
    case FLOW_COL_src_mask:
        return FLOW_COL_dst_mask;
    case FLOW_COL_dst_mask:
        return FLOW_COL_src_mask;
    case FLOW_COL_nat_src_addr:
        return FLOW_COL_nat_dst_addr;
    case FLOW_COL_nat_dst_addr:
        return FLOW_COL_nat_src_addr;
    case FLOW_COL_nat_src_port:
        return FLOW_COL_nat_dst_port;
    case FLOW_COL_nat_dst_port:
        return FLOW_COL_nat_src_port;
    default:
        return col;
    }
}

/* Looks a column up by name; -1 when there is none. */
int flow_col_find(const char *name);

/* Writes v in decimal (no NUL); returns the number of characters (at most 20). */
size_t flow_fmt_u64(char *out, uint64_t v);

/* Sets `rec` to the empty record: every field absent. */
void flow_rec_clear(flow_rec_t *rec);

/* Addresses. */
#define FLOW_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN: longest text form plus NUL */

/* The first 12 bytes of an IPv4-mapped address (RFC 4291 section 2.5.5.2). */
static const uint8_t flow_v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Inline: decoders call these for every flow, and build the address in place. */
static inline void flow_addr_from_v4_bytes(flow_addr_t *a, const uint8_t v4[4])
{
    memcpy(a->b, flow_v4_mapped_prefix, 12);
    memcpy(a->b + 12, v4, 4);
}

static inline void flow_addr_from_v4(flow_addr_t *a, uint32_t v4_host_order)
{
    const uint8_t v4[4] = {(uint8_t)(v4_host_order >> 24), (uint8_t)(v4_host_order >> 16),
                           (uint8_t)(v4_host_order >> 8), (uint8_t)v4_host_order};
    flow_addr_from_v4_bytes(a, v4);
}

static inline void flow_addr_from_v6_bytes(flow_addr_t *a, const uint8_t v6[16])
{
    memcpy(a->b, v6, 16);
}

/* Equality of two addresses, as two 8-byte compares (hot in the segment writer). */
static inline int flow_addr_eq(const flow_addr_t *a, const flow_addr_t *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return a0 == b0 && a1 == b1;
}

int flow_addr_is_v4(const flow_addr_t *a);
/* The IPv4 address in host order; only meaningful when flow_addr_is_v4(). */
uint32_t flow_addr_v4(const flow_addr_t *a);
/* Text form: dotted quad for IPv4, RFC 5952 canonical form for IPv6. Returns its length. */
size_t flow_addr_format(const flow_addr_t *a, char out[FLOW_ADDR_STRLEN]);
/* Parses either text form; 0 on success, -1 when `s` is not an address. */
int flow_addr_parse(flow_addr_t *a, const char *s);
/* `a` with all but its first `plen` bits (of the 16-byte form) cleared, into `out`. */
void flow_addr_mask(flow_addr_t *out, const flow_addr_t *a, unsigned plen);

/* A network as every part of flowhunt writes it (filters, configuration, intel lists):
 * ADDR or ADDR/LEN, LEN in the notation's own bits (IPv4 text over 32; IPv6 text over 128,
 * an IPv4-mapped address among it: ::ffff:10.0.11.0/120). IPv4 is held IPv4-mapped, so plen
 * counts over all 128 bits (a /24 is 120). An IPv6 network written around the block that
 * holds IPv4 (::/0, ::/8) means IPv6 addresses only (v6only): `::/0` is every IPv6 host, not
 * every host, while one written inside the block (::ffff:0:0/96) means IPv4 ones. */
typedef struct flow_net {
    flow_addr_t addr; /* host bits cleared: 10.0.0.1/16 means 10.0.0.0/16, and 10.0/16 is
                         short for it, as in nfdump */
    uint8_t plen;
    uint8_t v6only;
} flow_net_t;

enum {
    FLOW_NET_EADDR = -1, /* ADDR is not an address */
    FLOW_NET_ELEN = -2,  /* LEN is not a number of 0 to 128 written in digits */
    FLOW_NET_ELEN4 = -3, /* IPv4 text with LEN over 32 */
};
/* 0, or the FLOW_NET_E* that says what is wrong with `s`. */
int flow_net_parse(flow_net_t *n, const char *s);
/* Whether the network holds address `a`. */
int flow_net_has(const flow_net_t *n, const flow_addr_t *a);

#endif
