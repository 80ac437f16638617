/* ipfix_encode.h: IPFIX messages (RFC 7011) from flow records, as an exporter sends them over UDP.
 *
 * Used by flowgen to make captures, by bench_decode to make load and by the tests to make valid
 * messages; the inverse of collector/decode/ipfix.c. The encoder behaves like one exporting
 * process for one observation domain: a fixed data template per address family (IPv4, IPv6)
 * with absolute millisecond times (flowStartMilliseconds / flowEndMilliseconds), the template
 * set in the first message and then every `tpl_refresh` messages (over UDP templates must be
 * resent, section 8.4), and, when a sampling interval is set, a PSAMP announcement (RFC 5476,
 * RFC 5477) sent with the templates: an options template scoped by selectorId (302) carrying
 * selectorAlgorithm (304: 1, systematic count-based), samplingPacketInterval (305: 1 packet
 * taken) and samplingPacketSpace (306: N - 1 skipped), and one options record; data records
 * then carry the selectorId that names it. Records are packed in the order given until the
 * next would take the message past `mtu` bytes; a change of family closes one data set and
 * opens the next. Sets are not padded (section 3.3.1 makes padding optional).
 *
 * Header fields (section 3.1): length is the message's; export time is in seconds; the
 * sequence number counts the data records of this domain sent before the message, options
 * records included.
 *
 * Pure functions: the caller owns the state struct and the output buffer.
 */
#ifndef FH_IPFIX_ENCODE_H
#define FH_IPFIX_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define IPFIXE_TPL_V4 256      /* data template of IPv4 flows */
#define IPFIXE_TPL_V6 257      /* data template of IPv6 flows */
#define IPFIXE_TPL_OPTIONS 258 /* options template of the sampling announcement */
#define IPFIXE_SELECTOR_ID 1   /* the one selector (sampler) of the domain */
#define IPFIXE_MTU_DEFAULT 1400u
#define IPFIXE_MTU_MAX 65507u /* largest UDP payload over IPv4 (and below 65535, the length) */
#define IPFIXE_REFRESH_DEFAULT 20u

typedef struct ipfixe_cfg {
    uint32_t domain;      /* observation domain ID */
    uint32_t sampling;    /* 1-in-N packet sampling to announce; 0 or 1: unsampled, no options */
    uint32_t tpl_refresh; /* templates in message 0 and every this many after; 0: default */
    uint32_t mtu;         /* largest message in bytes; 0: default */
} ipfixe_cfg_t;

typedef struct ipfixe {
    ipfixe_cfg_t cfg;
    uint32_t sequence;  /* data records (options records included) sent so far, mod 2^32 */
    uint32_t since_tpl; /* messages since the last that carried templates; 0: due now */
} ipfixe_t;

/* Sets up an encoder whose next message is its first. Returns 0, or -1 when the MTU is out of
 * range: too small for the header, the templates and one IPv6 record, or above
 * IPFIXE_MTU_MAX. */
int ipfixe_init(ipfixe_t *e, const ipfixe_cfg_t *cfg);

/* How many of flows[0..n) the next message has room for (at least one when n >= 1). */
size_t ipfixe_fit(const ipfixe_t *e, const flow_rec_t *flows, size_t n);

/* Writes the next message, carrying the first ipfixe_fit(e, flows, n) flows, exported at
 * `export_ms`, into out (cap bytes; e->cfg.mtu is always enough) and advances the state.
 * Flows use the IPv6 template when their source or destination is an IPv6 address, else the
 * IPv4 one; absent fields are sent as zero. Returns the message's length with *n_done set to
 * the flows it carries, or 0 (state unchanged) when n is 0 or cap is too small. */
size_t ipfixe_encode(ipfixe_t *e, uint8_t *out, size_t cap, uint64_t export_ms,
                     const flow_rec_t *flows, size_t n, size_t *n_done);

#endif
