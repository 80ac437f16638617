/* ipfix.h: the IPFIX decoder (RFC 7011, with RFC 7012, 5103, 6313 and 5477 elements). */
#ifndef FH_IPFIX_H
#define FH_IPFIX_H

#include "dec.h"
#include "tpl.h"

#define IPFIX_HDR_LEN 16

/* Decodes one IPFIX message from `exporter` against the template cache (which it updates).
 * `now_ms` ages held data: the wall clock when live, 0 to use the message's export time.
 * Returns the flows emitted, or -DEC_E_* when the message was dropped whole. */
int ipfix_decode(const uint8_t *buf, size_t len, const flow_addr_t *exporter, tpl_cache_t *cache,
                 uint64_t now_ms, dec_out_t *out);

#endif
