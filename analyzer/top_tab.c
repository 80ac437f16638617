/* top_tab.c: the parts of flowhunt top's hash table (top_tab.h) that are not per row. */
#include "top_tab.h"

/* A zeroed slot array. Not calloc: a large calloc is fresh mmap'd memory whose pages read as
 * the shared zero page until written, and the probe loop reads a slot before it writes one,
 * so each page would fault twice, the second time copying on write and flushing the TLB of
 * every CPU the process runs on (an interrupt to the other worker, page after page). Writing
 * the zeros maps each page once: explicit_bzero, as the compiler turns malloc + memset back
 * into calloc. */
static top_slot_t *top_slots_new(uint32_t n)
{
    top_slot_t *s = malloc((size_t)n * sizeof *s);
    if (s)
        explicit_bzero(s, (size_t)n * sizeof *s);
    return s;
}

/* A table of keys of kw bytes; after each entry's sums, a count (`distinct`) and the first and
 * last times (`times`), all zero when the entry is made. */
int top_tab_init(top_tab_t *t, uint32_t kw, int distinct, int times)
{
    memset(t, 0, sizeof *t);
    t->kw = kw;
    t->stride = kw + (uint32_t)sizeof(top_sum_t) + (distinct ? 8 : 0);
    if (times) {
        t->times_off = t->stride;
        t->stride += 16;
    }
    t->mask = 1023;
    t->slots = top_slots_new(t->mask + 1);
    return t->slots ? 0 : -1;
}

void top_tab_free(top_tab_t *t)
{
    free(t->slots);
    for (uint32_t b = 0; b < t->n_blocks; b++)
        free(t->blocks[b]);
    free(t->blocks);
    memset(t, 0, sizeof *t);
}

int top_tab_add_block(top_tab_t *t)
{
    if (t->n_blocks == t->blocks_cap) {
        uint32_t cap = t->blocks_cap ? t->blocks_cap * 2 : 16;
        uint8_t **b = realloc(t->blocks, (size_t)cap * sizeof *b);
        if (!b)
            return -1;
        t->blocks = b;
        t->blocks_cap = cap;
    }
    /* pages it does not reach are never touched: a table of a few keys costs a few pages */
    uint8_t *blk = malloc((size_t)TOP_BLOCK * t->stride);
    if (!blk)
        return -1;
    t->blocks[t->n_blocks++] = blk;
    return 0;
}

int top_tab_grow(top_tab_t *t)
{
    uint32_t ns = (t->mask + 1) * 2;
    top_slot_t *slots = top_slots_new(ns);
    if (!slots)
        return -1;
    for (uint32_t e = 0; e < t->n; e++) {
        uint64_t h = top_hash(TOP_ENT(t, e), t->kw);
        uint32_t i = (uint32_t)h & (ns - 1);
        while (slots[i].e)
            i = (i + 1) & (ns - 1);
        slots[i].e = e + 1;
        slots[i].tag = (uint32_t)(h >> 32);
    }
    free(t->slots);
    t->slots = slots;
    t->mask = ns - 1;
    return 0;
}

/* Adds every entry of `o` into `t` (same key width). 0, or -1 out of memory. */
int top_tab_merge(top_tab_t *t, const top_tab_t *o)
{
    for (uint32_t e = 0; e < o->n; e++) {
        const uint8_t *kp = TOP_ENT(o, e);
        if (e + 2 * TOP_AHEAD < o->n)
            top_tab_prefetch_slot(t, top_hash(TOP_ENT(o, e + 2 * TOP_AHEAD), o->kw));
        if (e + TOP_AHEAD < o->n)
            top_tab_prefetch_entry(t, top_hash(TOP_ENT(o, e + TOP_AHEAD), o->kw));
        top_sum_t *s = top_tab_get(t, kp, top_hash(kp, o->kw));
        if (!s)
            return -1;
        top_sum_add(s, TOP_SUMS(o, e));
        if (t->times_off) {
            const uint64_t *ot = top_times_of(o, TOP_SUMS(o, e));
            top_times_add(top_times_of(t, s), ot[0], ot[1]);
        }
    }
    return 0;
}
