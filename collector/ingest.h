/* ingest.h: one export datagram in, flows out: the single path every datagram takes.
 *
 * The live daemon's socket loop and `flowhuntd --read` (captures) both call ingest_datagram();
 * nothing else decodes. It finds the exporter, dispatches on the version field to the pure
 * decoder for that protocol, counts malformations per exporter and does sequence accounting
 * per (exporter, version, domain), then hands each flow to the caller's sink.
 */
#ifndef FH_INGEST_H
#define FH_INGEST_H

#include <stdint.h>
#include <stdio.h>

#include "dec.h"
#include "exporter.h"
#include "tpl.h"

typedef enum ingest_clock {
    INGEST_CLOCK_WALL,   /* live: held data ages by the arrival time */
    INGEST_CLOCK_EXPORT, /* captures: by the export times the datagrams carry */
} ingest_clock_t;

typedef struct ingest {
    exp_table_t exporters;
    tpl_cache_t templates;
    ingest_clock_t clock;
    flow_sink_fn sink;
    void *sink_arg;
    uint64_t datagrams;
    uint64_t flows;
    uint64_t dropped; /* datagrams dropped whole (malformed, unsupported, untracked) */
} ingest_t;

void ingest_init(ingest_t *in, ingest_clock_t clock, flow_sink_fn sink, void *sink_arg);
void ingest_free(ingest_t *in);

/* Decodes one datagram that arrived from `src` at `recv_ns` (ns since the Unix epoch: the
 * wall clock when live, the capture timestamp when reading a file). Returns the number of
 * flows it produced, or -DEC_E_* when it was dropped whole. */
int ingest_datagram(ingest_t *in, const flow_addr_t *src, const uint8_t *buf, size_t len,
                    uint64_t recv_ns);

/* Totals and per-exporter counters, human-readable. */
void ingest_report(const ingest_t *in, FILE *f);

#endif
