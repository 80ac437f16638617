/* nf9.h: the NetFlow v9 decoder (RFC 3954). */
#ifndef FH_NF9_H
#define FH_NF9_H

#include "dec.h"
#include "tpl.h"

#define NF9_HDR_LEN 20

/* Decodes one v9 datagram from `exporter` against the template cache (which it updates).
 * `now_ms` is the clock that ages held data: the wall clock when live, 0 to use the
 * datagram's own export time (captures). Returns the flows emitted, or -DEC_E_* when the
 * datagram was dropped whole. */
int nf9_decode(const uint8_t *buf, size_t len, const flow_addr_t *exporter, tpl_cache_t *cache,
               uint64_t now_ms, dec_out_t *out);

#endif
