/* top_tab.h: flowhunt top's hash table, keys of a fixed width to their sums.
 *
 * Open addressing with linear probing over a power-of-two array of 8-byte slots (entry number
 * and 32 bits of the hash, which rejects other keys without touching them); entries (key bytes
 * then sums) are dense, in insertion order, in blocks of TOP_BLOCK entries that never move, so
 * growing moves slots only, merging walks the entries, and a hit touches one slot and one
 * entry. (One array regrown by doubling copied every entry at each step: `top --by
 * srcip,dstip -n 0` over 2 M flows, 884,000 keys, took 14 % more CPU.) The probe
 * (top_tab_get), the hash and the prefetches are inline: cmd_top.c calls them for every row it
 * sums. A Judy array (JudyHS) would do the same job through a pointer chase per byte of key; keys
 * here are fixed width and short (at most 48 bytes: 40 of fields and a byte of absent ones), where
 * one hash and one probe usually decide.
 */
#ifndef FH_TOP_TAB_H
#define FH_TOP_TAB_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "satmath.h"

#define TOP_AHEAD 16 /* rows or entries ahead whose entry is prefetched; slots twice as far */

/* An entry: the key (kw bytes, zero padded) then its sums; entries are `stride` bytes apart.
 * After the sums, the table of --distinct has the count of distinct values (cmd_top.c's
 * top_distinct),
 * and with --times every table has the earliest and latest time of the key's flows (0: none
 * yet), at times_off. */
typedef struct top_sum {
    uint64_t flows, packets, bytes;
} top_sum_t;

/* A slot: entry number + 1 (0 empty) and the hash's high half, which rejects most other keys
 * without touching their entry. */
typedef struct top_slot {
    uint32_t e, tag;
} top_slot_t;

#define TOP_BLOCK_SHIFT 12u /* 4096 entries a block: 128 KiB to 384 KiB by entry stride */
#define TOP_BLOCK (1u << TOP_BLOCK_SHIFT)

typedef struct top_tab {
    uint32_t kw, stride;
    uint32_t times_off; /* --times: where in an entry first and last are; 0 without */
    uint32_t n;         /* entries used */
    uint32_t n_blocks, blocks_cap;
    uint32_t mask; /* slots - 1 */
    top_slot_t *slots;
    uint8_t **blocks; /* entry e is entry e % TOP_BLOCK of blocks[e / TOP_BLOCK] */
} top_tab_t;

#define TOP_ENT(t, e)                                                                              \
    ((t)->blocks[(uint32_t)(e) >> TOP_BLOCK_SHIFT] +                                               \
     (size_t)((uint32_t)(e) & (TOP_BLOCK - 1)) * (t)->stride)
#define TOP_SUMS(t, e) ((top_sum_t *)(TOP_ENT(t, e) + (t)->kw))

/* Sums saturate (satmath.h): a sum at SAT_MAX is "at least that", and top says so. */
static inline void top_sum_add(top_sum_t *s, const top_sum_t *add)
{
    s->flows = sat_add(s->flows, add->flows);
    s->packets = sat_add(s->packets, add->packets);
    s->bytes = sat_add(s->bytes, add->bytes);
}

/* One flow of packets `pk` and bytes `by`, sampled 1 in `mult` (1: as exported), into s. */
static inline void top_sum_row(top_sum_t *s, uint64_t pk, uint64_t by, uint64_t mult)
{
    s->flows++;
    s->packets = sat_add(s->packets, mult > 1 ? sat_mul(pk, mult) : pk);
    s->bytes = sat_add(s->bytes, mult > 1 ? sat_mul(by, mult) : by);
}

/* The first and last time of the entry whose sums are at s (--times tables only). */
static inline uint64_t *top_times_of(const top_tab_t *t, top_sum_t *s)
{
    return (uint64_t *)(void *)((uint8_t *)s - t->kw + t->times_off);
}

/* Widens [tm[0], tm[1]] to take in [first, last]; tm[0] == 0 is none yet, and so is a flow
 * without times. */
static inline void top_times_add(uint64_t *tm, uint64_t first, uint64_t last)
{
    if (!first && !last)
        return;
    if (!tm[0] || first < tm[0])
        tm[0] = first;
    if (last > tm[1])
        tm[1] = last;
}

/* A table of keys of kw bytes; after each entry's sums, a count (`distinct`) and the first and
 * last times (`times`), all zero when the entry is made. */
int top_tab_init(top_tab_t *t, uint32_t kw, int distinct, int times);

void top_tab_free(top_tab_t *t);

/* Doubles the slots (the load stays under 1/2). 0, or -1 out of memory. */
int top_tab_grow(top_tab_t *t);

/* Room for TOP_BLOCK more entries. 0, or -1 out of memory. */
int top_tab_add_block(top_tab_t *t);

/* A 64-bit multiply-xorshift hash over whole words of the zero-padded key. */
static inline uint64_t top_hash(const uint8_t *key, uint32_t kw)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ kw;
    for (uint32_t i = 0; i < kw; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* Keys are whole words: comparing them inline beats a call to memcmp for 8 to 48 bytes. */
static inline int top_key_eq(const uint8_t *a, const uint8_t *b, uint32_t kw)
{
    uint64_t diff = 0;
    for (uint32_t i = 0; i < kw; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    return diff == 0;
}

/* The sums of `key` (a zero entry when new); NULL when out of memory. */
static inline top_sum_t *top_tab_get(top_tab_t *t, const uint8_t *key, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->mask, tag = (uint32_t)(h >> 32);
    for (;;) {
        top_slot_t sl = t->slots[i];
        if (!sl.e)
            break;
        if (sl.tag == tag && top_key_eq(TOP_ENT(t, sl.e - 1), key, t->kw))
            return TOP_SUMS(t, sl.e - 1);
        i = (i + 1) & t->mask;
    }
    if (t->n >= UINT32_MAX / 2)
        return NULL;
    if (t->n == t->n_blocks * TOP_BLOCK && top_tab_add_block(t) != 0)
        return NULL;
    uint32_t e = t->n++;
    memcpy(TOP_ENT(t, e), key, t->kw);
    memset(TOP_SUMS(t, e), 0, t->stride - t->kw);
    t->slots[i].e = e + 1;
    t->slots[i].tag = tag;
    /* keep the load under 1/2: probes stay short even for skewed keys */
    if ((uint64_t)t->n * 2 > (uint64_t)t->mask + 1 && top_tab_grow(t) != 0)
        return NULL;
    return TOP_SUMS(t, e);
}

/* Two stages, so that both misses of a probe overlap with other work: the slot of a key far
 * ahead, then the entry its (by now cached) slot names for a key nearer. */
static inline void top_tab_prefetch_slot(const top_tab_t *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[(uint32_t)h & t->mask]);
}

static inline void top_tab_prefetch_entry(const top_tab_t *t, uint64_t h)
{
    top_slot_t sl = t->slots[(uint32_t)h & t->mask];
    if (sl.e)
        __builtin_prefetch(TOP_ENT(t, sl.e - 1));
}

/* Adds every entry of `o` into `t` (same key width). 0, or -1 out of memory. */
int top_tab_merge(top_tab_t *t, const top_tab_t *o);

typedef enum top_order {
    TOP_FLOWS,
    TOP_PACKETS,
    TOP_BYTES,
    TOP_DISTINCT, /* --distinct's count */
    TOP_FIRST,    /* --times: the latest first seen first (the keys that appeared last) */
    TOP_LAST      /* the latest last seen first (the keys still active) */
} top_order_t;

/* The value entry `sm` of table t is ranked by (larger first); TOP_DISTINCT only in the table
 * of --distinct, whose entries have the count after their sums, TOP_FIRST and TOP_LAST only
 * in tables with times. */
static inline uint64_t top_order_value(const top_tab_t *t, const top_sum_t *sm, top_order_t order)
{
    if (order == TOP_DISTINCT) {
        uint64_t d;
        memcpy(&d, sm + 1, 8);
        return d;
    }
    if (order == TOP_FIRST || order == TOP_LAST)
        return top_times_of(t, (top_sum_t *)sm)[order == TOP_LAST];
    return order == TOP_FLOWS ? sm->flows : order == TOP_PACKETS ? sm->packets : sm->bytes;
}

#endif
