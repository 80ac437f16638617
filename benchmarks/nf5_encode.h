/* nf5_encode.h: NetFlow v5 export datagrams from flow records, as a router would send them.
 *
 * Used by flowgen to make captures and by the tests to make valid datagrams; the inverse of
 * collector/decode/nf5.c.
 */
#ifndef FH_NF5_ENCODE_H
#define FH_NF5_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define NF5_ENC_MAX_FLOWS 30
#define NF5_ENC_MAX_LEN (24 + 48 * NF5_ENC_MAX_FLOWS)

typedef struct nf5_enc_hdr {
    uint64_t export_ms; /* the export time the header carries */
    uint64_t boot_ms;   /* when the exporter booted: sysUptime = export_ms - boot_ms */
    uint32_t sequence;  /* flow_sequence of the first flow */
    uint8_t engine_type;
    uint8_t engine_id;
    uint16_t sampling; /* raw field: mode << 14 | interval */
} nf5_enc_hdr_t;

/* Writes one datagram of n flows (1..30) into out (cap bytes). IPv4 only: flows whose
 * addresses are not IPv4 are written as 0.0.0.0. Times are converted to sysUptime-relative
 * milliseconds with 32-bit wrap, as a router does. Returns the length, or 0 when n is out of
 * range or cap is too small. */
size_t nf5_encode(uint8_t *out, size_t cap, const nf5_enc_hdr_t *h, const flow_rec_t *flows,
                  size_t n);

#endif
