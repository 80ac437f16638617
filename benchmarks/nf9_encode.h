/* nf9_encode.h: NetFlow v9 export datagrams (RFC 3954) from flow records, as a router sends them.
 *
 * Used by flowgen to make captures, by bench_decode to make load and by the tests to make valid
 * datagrams; the inverse of collector/decode/nf9.c. The encoder behaves like one exporter's
 * export process for one source ID: a fixed data template per address family (IPv4, IPv6),
 * the template FlowSet in the first datagram and then every `tpl_refresh` datagrams (section 5.2
 * asks for periodic resends over UDP), and, when a sampling interval is set, an options template
 * and an options data record announcing it, sent with the templates (section 6). Records are
 * packed in the order given until the next one would take the datagram past `mtu` bytes; a change
 * of family closes one data FlowSet and opens the next, so order is kept. Every FlowSet is padded
 * to 4 bytes (section 5.3, "SHOULD").
 *
 * Header fields (section 5.1): count is every record in the datagram, templates and options
 * records included; sequence counts datagrams of this source ID; sysUptime and FIRST_SWITCHED /
 * LAST_SWITCHED are milliseconds since `boot_ms`, wrapping at 2^32 as a router's do; unix_secs is
 * the export time in whole seconds (v9 has no finer field, so a decoder places flows to the
 * millisecond only when the export happens on a whole second).
 *
 * Pure functions: the caller owns the state struct and the output buffer.
 */
#ifndef FH_NF9_ENCODE_H
#define FH_NF9_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define NF9E_TPL_V4 256      /* data template of IPv4 flows */
#define NF9E_TPL_V6 257      /* data template of IPv6 flows */
#define NF9E_TPL_OPTIONS 258 /* options template announcing the sampling interval */
#define NF9E_MTU_DEFAULT 1400u
#define NF9E_MTU_MAX 65507u /* largest UDP payload over IPv4 */
#define NF9E_REFRESH_DEFAULT 20u

typedef struct nf9e_cfg {
    uint32_t source_id;   /* header Source ID: the observation domain */
    uint64_t boot_ms;     /* when the exporter booted, ms since the Unix epoch */
    uint32_t sampling;    /* 1-in-N packet sampling to announce; 0 or 1: unsampled, no options */
    uint32_t tpl_refresh; /* templates in datagram 0 and every this many after; 0: default */
    uint32_t mtu;         /* largest datagram in bytes; 0: default */
} nf9e_cfg_t;

typedef struct nf9e {
    nf9e_cfg_t cfg;
    uint32_t sequence;  /* datagrams sent so far */
    uint32_t since_tpl; /* datagrams since the last that carried templates; 0: due now */
} nf9e_t;

/* Sets up an encoder whose next datagram is its first. Returns 0, or -1 when the MTU is out
 * of range: too small for the header, the templates and one IPv6 record, or above
 * NF9E_MTU_MAX. */
int nf9e_init(nf9e_t *e, const nf9e_cfg_t *cfg);

/* How many of flows[0..n) the next datagram has room for (at least one when n >= 1). */
size_t nf9e_fit(const nf9e_t *e, const flow_rec_t *flows, size_t n);

/* Writes the next datagram, carrying the first nf9e_fit(e, flows, n) flows, exported at
 * `export_ms`, into out (cap bytes; e->cfg.mtu is always enough) and advances the state.
 * Flows use the IPv6 template when their source or destination is an IPv6 address, else the
 * IPv4 one; absent fields are sent as zero. Returns the datagram's length with *n_done set to
 * the flows it carries, or 0 (state unchanged) when n is 0 or cap is too small. */
size_t nf9e_encode(nf9e_t *e, uint8_t *out, size_t cap, uint64_t export_ms, const flow_rec_t *flows,
                   size_t n, size_t *n_done);

#endif
