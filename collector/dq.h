/* dq.h: the datagram queue between the receive loop and one worker.
 *
 * Single producer (the libuv thread), single consumer (the worker): a byte ring of
 * variable-length entries, so a 100-byte v5 datagram takes 100 bytes and not a 64 KiB slot.
 * The ring's size bounds the memory the daemon spends on a burst; when it is full the
 * datagram is dropped and counted (cause: queue full), never blocked on, so the socket keeps
 * draining and the kernel buffer does not overflow instead.
 *
 * The upper half of the ring is kept for the exporters the worker knows: sources whose
 * datagrams have given it flows (dq_mark_known). A source that never has (a template or
 * garbage flood, spoofed addresses, a router not yet decoded) gets only the lower half: when
 * a flood outruns the worker, the flood is what is dropped (cause: shed) and the routers
 * already exporting keep being decoded. A router that appears during such a flood still gets
 * in whenever the ring drains below half, so it is slowed, never locked out.
 */
#ifndef FH_DQ_H
#define FH_DQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

typedef struct dq_entry {
    flow_addr_t src;
    uint64_t recv_ns;
    uint32_t len;
    const uint8_t *data; /* points into the ring; valid until dq_release() */
} dq_entry_t;

/* The known sources: a bitmap of 2^16 bits by a hash of the address, written by the consumer
 * and read by the producer. A flooding source that shares a bit with an exporter shares its
 * priority (with a thousand exporters, one spoofed address in 65); bits are never cleared, so
 * an exporter keeps its priority for the daemon's life, and across restarts (known_store.c
 * keeps the map in DIR/state/<instance>/). */
#define DQ_KNOWN_WORDS 1024

/* dq_push's results */
#define DQ_OK 0
#define DQ_FULL (-1) /* no room */
#define DQ_SHED (-2) /* from an unknown source, and the ring is more than half full */

typedef struct dq {
    uint8_t *ring;
    size_t cap;                 /* bytes, a power of two */
    _Atomic size_t head;        /* consumer position (bytes consumed, ever) */
    _Atomic size_t tail;        /* producer position (bytes produced, ever) */
    _Atomic int sleeping;       /* consumer waits on cond */
    _Atomic int closed;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    _Atomic uint64_t known[DQ_KNOWN_WORDS];
    int busy;                   /* consumer side only: got an entry since it last slept */
} dq_t;

int dq_init(dq_t *q, size_t cap_bytes); /* 0 or -1 */
void dq_free(dq_t *q);
/* Producer: copies the datagram in; DQ_OK, DQ_FULL or DQ_SHED (the caller counts them). */
int dq_push(dq_t *q, const flow_addr_t *src, uint64_t recv_ns, const uint8_t *data, size_t len);
/* Consumer: the next entry, waiting up to timeout_ms; 1 got one, 0 timed out or closed and
 * empty. The entry stays valid until dq_release(). */
int dq_pop(dq_t *q, dq_entry_t *out, int timeout_ms);
void dq_release(dq_t *q, const dq_entry_t *e);
/* Consumer: `src` exports flows; from now on its datagrams may take the whole ring. */
void dq_mark_known(dq_t *q, const flow_addr_t *src);
/* The known map ORed into out[DQ_KNOWN_WORDS] (any thread; after dq_free too: the map is the
 * struct's, not the ring's), and in[] ORed into the map (any thread; a restarted daemon gives
 * its rings what the last run knew). */
void dq_known_get(dq_t *q, uint64_t *out);
void dq_known_add(dq_t *q, const uint64_t *in);
/* Producer: no more pushes; the consumer drains what is left and then sees 0. */
void dq_close(dq_t *q);
int dq_is_closed_and_empty(dq_t *q);

#endif
