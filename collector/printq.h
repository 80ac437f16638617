/* printq.h: the flows a running collector prints (flowhuntd -l ... --print json|csv), for a
 * pipeline that wants every flow as it arrives (`| kafkacat`, vector, a SIEM's agent), as
 * GoFlow2 and pmacct's print plugin give it, while the segments are written as always.
 *
 * Printing must never cost the segments a flow. Each worker formats its flows into a buffer
 * of its own (no lock per flow) and hands it over whole when it is full and on every tick;
 * one thread writes the handed buffers to the output, so lines of two workers never mix
 * within a line. A consumer that falls behind or stops reading makes the queue of handed
 * buffers grow to its bound (--print-memory, default PQ_MAX_BYTES); past it a worker's buffer
 * is dropped, its flows counted (flowhunt_print_dropped_flows_total), and the worker goes on
 * at once. When the output closes (EPIPE) printing stops for good, said once in the log. At
 * stop the writer gives a reader that makes no progress at most PQ_STOP_MS before it drops
 * the rest. Lines are written whole, so a reader never gets half a line.
 */
#ifndef FH_PRINTQ_H
#define FH_PRINTQ_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "flow_print.h"

#define PQ_MAX_BYTES ((size_t)64 << 20) /* formatted flows waiting for the output: the default */
#define PQ_CHUNK 65536                  /* a worker's buffer is handed over at this size */
#define PQ_STOP_MS 2000

typedef struct pq pq_t;

/* A worker's buffer: whole lines, and how many flows they are. */
typedef struct pq_buf {
    char *p;
    size_t len;
    uint32_t flows;
} pq_buf_t;

/* Starts the writer thread on fd (the CSV header is written first); NULL when out of memory
 * or no thread. max_bytes bounds the queue (0: PQ_MAX_BYTES). */
pq_t *pq_start(int fd, flow_print_fmt_t fmt, size_t max_bytes);
/* A worker: rec formatted into b, which is handed over once it holds PQ_CHUNK bytes. */
void pq_add(pq_t *q, pq_buf_t *b, const flow_rec_t *rec);
/* A worker: b's lines handed over now (its tick, its stop). */
void pq_flush(pq_t *q, pq_buf_t *b);
void pq_buf_free(pq_buf_t *b);
/* Flows written to the output, and flows dropped (queue full, output closed or stuck at
 * stop); any thread. */
void pq_counts(pq_t *q, uint64_t *printed, uint64_t *dropped);
/* Writes what is queued (bounded by PQ_STOP_MS without progress) and ends the thread; the
 * counts stay readable. Call once no worker adds any more. */
void pq_stop(pq_t *q);
/* pq_stop if not done, then frees; NULL is nothing. */
void pq_free(pq_t *q);

#endif
