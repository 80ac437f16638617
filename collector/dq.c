/* dq.c: the single-producer, single-consumer datagram ring (see dq.h).
 *
 * Entries are 8-byte aligned: a 32-byte header (entry size, datagram length, source,
 * receive time) and the datagram. An entry never wraps: when it does not fit before the end
 * of the ring, or the ring is empty, the producer writes a wrap marker and starts again at
 * offset 0. head and tail count bytes ever consumed and produced, so tail - head is the fill
 * and no slot is wasted.
 */
#include "dq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DQ_HDR 32u
#define DQ_WRAP 0xffffffffu
#define DQ_NAP_NS 2000000L /* 2 ms: at 200k datagrams/s, 400 KB of a 16 MiB ring */

static size_t dq_align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

int dq_init(dq_t *q, size_t cap_bytes)
{
    size_t cap = 4096;
    while (cap < cap_bytes)
        cap <<= 1;
    memset(q, 0, sizeof *q);
    q->ring = malloc(cap);
    if (!q->ring)
        return -1;
    q->cap = cap;
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->sleeping, 0);
    atomic_init(&q->closed, 0);
    for (int i = 0; i < DQ_KNOWN_WORDS; i++)
        atomic_init(&q->known[i], 0);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cond, NULL);
    return 0;
}

void dq_free(dq_t *q)
{
    free(q->ring);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cond);
    q->ring = NULL;
}

/* The known-source bit of an address: 16 bits of its FNV-1a hash, mixed first (the last
 * bytes of an address reach only the low bits of FNV-1a's: 192.0.2.1, .2 and .3 share their
 * top 16). */
static uint32_t dq_known_bit(const flow_addr_t *src)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ src->b[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t)(h >> 48);
}

static int dq_is_known(dq_t *q, uint32_t bit)
{
    uint64_t w = atomic_load_explicit(&q->known[bit / 64], memory_order_relaxed);
    return (int)((w >> (bit % 64)) & 1);
}

void dq_known_get(dq_t *q, uint64_t *out)
{
    for (int i = 0; i < DQ_KNOWN_WORDS; i++)
        out[i] |= atomic_load_explicit(&q->known[i], memory_order_relaxed);
}

void dq_known_add(dq_t *q, const uint64_t *in)
{
    for (int i = 0; i < DQ_KNOWN_WORDS; i++)
        if (in[i])
            atomic_fetch_or_explicit(&q->known[i], in[i], memory_order_relaxed);
}

void dq_mark_known(dq_t *q, const flow_addr_t *src)
{
    uint32_t bit = dq_known_bit(src);
    if (!dq_is_known(q, bit))
        atomic_fetch_or_explicit(&q->known[bit / 64], 1ull << (bit % 64), memory_order_relaxed);
}

static void dq_wake(dq_t *q)
{
    if (atomic_load(&q->sleeping)) {
        pthread_mutex_lock(&q->mu);
        pthread_cond_signal(&q->cond);
        pthread_mutex_unlock(&q->mu);
    }
}

int dq_push(dq_t *q, const flow_addr_t *src, uint64_t recv_ns, const uint8_t *data, size_t len)
{
    size_t need = DQ_HDR + dq_align8(len);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    size_t pos = tail & (q->cap - 1);
    size_t to_end = q->cap - pos;
    /* An empty ring past its first quarter starts again at offset 0 (a wrap marker, as at
     * the end): while the consumer keeps up, the first part of the ring carries all the
     * traffic instead of cycling through all of it (cold lines, page faults, resident
     * memory). Not earlier: until the consumer passes the marker, the room is what lies
     * before it, and a consumer napping for milliseconds needs that much. */
    size_t skip = to_end < need || (head == tail && pos >= q->cap / 4) ? to_end : 0;
    if (len > UINT32_MAX || need > q->cap / 2 || q->cap - (tail - head) < skip + need)
        return DQ_FULL;
    /* The upper half is the known exporters' (the hash only once the ring is that full). The
     * fill leaves out the skip: at an empty ring it is no fill at all. */
    if (tail - head + need > q->cap / 2 && !dq_is_known(q, dq_known_bit(src)))
        return DQ_SHED;
    if (skip) {
        uint32_t wrap = DQ_WRAP;
        memcpy(q->ring + pos, &wrap, 4);
        tail += skip;
        pos = 0;
    }
    uint32_t size = (uint32_t)need, dlen = (uint32_t)len;
    uint8_t *p = q->ring + pos;
    memcpy(p, &size, 4);
    memcpy(p + 4, &dlen, 4);
    memcpy(p + 8, src->b, 16);
    memcpy(p + 24, &recv_ns, 8);
    memcpy(p + DQ_HDR, data, len);
    atomic_store(&q->tail, tail + need);
    dq_wake(q);
    return DQ_OK;
}

int dq_pop(dq_t *q, dq_entry_t *out, int timeout_ms)
{
    for (;;) {
        size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
        size_t tail = atomic_load(&q->tail);
        if (head != tail) {
            size_t pos = head & (q->cap - 1);
            uint32_t size;
            memcpy(&size, q->ring + pos, 4);
            if (size == DQ_WRAP) {
                atomic_store_explicit(&q->head, head + (q->cap - pos), memory_order_release);
                continue;
            }
            const uint8_t *p = q->ring + pos;
            memcpy(&out->len, p + 4, 4);
            memcpy(out->src.b, p + 8, 16);
            memcpy(&out->recv_ns, p + 24, 8);
            out->data = p + DQ_HDR;
            q->busy = 1;
            return 1;
        }
        if (atomic_load(&q->closed) || timeout_ms <= 0)
            return 0;
        if (q->busy) {
            /* Traffic is flowing: nap instead of waiting to be woken. A wake-up per datagram
             * costs the producer a futex call and both threads a context switch (on two cores
             * that was a fifth of the daemon's CPU); a nap lets the ring collect a few
             * milliseconds of datagrams, which it holds easily, and the consumer takes them in
             * one go; the fewer naps, the fewer context switches. */
            q->busy = 0;
            struct timespec nap = {0, DQ_NAP_NS};
            nanosleep(&nap, NULL);
            continue;
        }
        /* Idle: sleep until a push, a close or the timeout; the flag is set before the last
         * look at tail, and the producer looks at the flag after moving tail, so no wake-up
         * is lost; the timeout bounds the wait regardless. */
        pthread_mutex_lock(&q->mu);
        atomic_store(&q->sleeping, 1);
        if (atomic_load(&q->tail) == head && !atomic_load(&q->closed)) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += timeout_ms / 1000;
            ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&q->cond, &q->mu, &ts);
        }
        atomic_store(&q->sleeping, 0);
        pthread_mutex_unlock(&q->mu);
        timeout_ms = 0; /* one wait per call: the caller has periodic work to do */
    }
}

void dq_release(dq_t *q, const dq_entry_t *e)
{
    (void)e;
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    uint32_t size;
    memcpy(&size, q->ring + (head & (q->cap - 1)), 4);
    atomic_store_explicit(&q->head, head + size, memory_order_release);
}

void dq_close(dq_t *q)
{
    atomic_store(&q->closed, 1);
    pthread_mutex_lock(&q->mu);
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
}

int dq_is_closed_and_empty(dq_t *q)
{
    return atomic_load(&q->closed) && atomic_load(&q->head) == atomic_load(&q->tail);
}
