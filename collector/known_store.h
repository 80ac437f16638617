/* known_store.h: the exporters a collector has decoded flows from, kept across restarts.
 *
 * Each worker's ring gives the upper half of its room only to sources it has decoded flows
 * from (dq.h, dq_mark_known), so that a flood of templates or garbage is shed while the
 * routers already exporting lose nothing. That map lived only in memory: a daemon restarted
 * while a flood went on treated every router as new, and shed its datagrams with the flood's
 * until the ring drained below half. The daemon now writes the union of its rings' maps to
 * DIR/state/<instance>/known-exporters.bin at each counters interval when it changed, and at
 * stop, and a starting daemon gives every ring what it holds (a bit of an exporter another
 * worker owns is harmless: it only counts in the ring the exporter's datagrams go to).
 *
 * File: "FHKNOWN1", u32 words (DQ_KNOWN_WORDS), u32 CRC-32C of the words, then the words as
 * little-endian u64; written to a temporary name, fsynced and renamed. Anything else (a short
 * file, another size, a bad CRC) is ignored with a log line, never trusted.
 */
#ifndef FH_KNOWN_STORE_H
#define FH_KNOWN_STORE_H

#include <stdint.h>

#include "dq.h"

/* Writes bits[DQ_KNOWN_WORDS] to state_dir. 0, or -1 with errno (the caller logs). */
int known_store_save(const char *state_dir, const uint64_t *bits);

/* Reads state_dir's map into bits[DQ_KNOWN_WORDS] (zeroed first): 1 read, 0 no file, -1 the
 * file is damaged (logged; bits left zero). */
int known_store_load(const char *state_dir, uint64_t *bits);

/* The number of bits set in bits[DQ_KNOWN_WORDS]. */
unsigned known_store_count(const uint64_t *bits);

#endif
