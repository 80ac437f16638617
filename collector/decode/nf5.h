/* nf5.h: the NetFlow v5 decoder (Cisco's fixed format; there is no RFC). */
#ifndef FH_NF5_H
#define FH_NF5_H

#include "dec.h"

#define NF5_HDR_LEN 24
#define NF5_REC_LEN 48

/* Decodes one v5 datagram from `exporter`. Returns the number of flows emitted through
 * out->sink, or -DEC_E_* (counted in out->counts) when the datagram is dropped whole. */
int nf5_decode(const uint8_t *buf, size_t len, const flow_addr_t *exporter, dec_out_t *out);

#endif
