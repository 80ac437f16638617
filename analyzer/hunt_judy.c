/* hunt_judy.c: the hunts' per-host and per-pair state, in Judy arrays behind checked calls.
 *
 * Judy gives ordered, memory-tight maps with no hash table to size or tune, which is what a
 * batch hunt over millions of hosts and pairs needs. Its error reporting is a JError_t that is
 * easy to forget, so every call goes through here: a failure (out of memory, a corrupt array)
 * ends the run with exit status 2 and Judy's error number, since a hunt that lost part of its
 * state would quietly report wrong findings. Byte-string keys are interned to dense ids (a
 * hash table of our own, below: JudyHS was the hot spot of every hunt) and their records kept
 * in an hj_vec_t in insertion order; insertion order is deterministic because preparation
 * feeds conversations in a total order.
 */
#include <Judy.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hunt.h"

static void hj_die(const char *what, const JError_t *je)
{
    fprintf(stderr, "flowhunt: %s failed: Judy error %d (%s)\n", what, JU_ERRNO(je),
            JU_ERRNO(je) == JU_ERRNO_NOMEM ? "out of memory" : "corrupt array");
    exit(2);
}

uint64_t *hj_map_ins(hj_map_t *m, uint64_t key)
{
    JError_t je;
    PWord_t slot = (PWord_t)JudyLGet(m->judy, (Word_t)key, &je);
    if (slot == PJERR)
        hj_die("JudyLGet", &je);
    if (slot)
        return (uint64_t *)slot;
    slot = (PWord_t)JudyLIns((PPvoid_t)&m->judy, (Word_t)key, &je);
    if (slot == PJERR)
        hj_die("JudyLIns", &je);
    m->n++;
    return (uint64_t *)slot;
}

uint64_t *hj_map_get(const hj_map_t *m, uint64_t key)
{
    JError_t je;
    PWord_t slot = (PWord_t)JudyLGet(m->judy, (Word_t)key, &je);
    if (slot == PJERR)
        hj_die("JudyLGet", &je);
    return (uint64_t *)slot;
}

int hj_map_next(const hj_map_t *m, uint64_t *key, uint64_t **val, int first)
{
    JError_t je;
    Word_t k = (Word_t)*key;
    PWord_t slot =
        first ? (PWord_t)JudyLFirst(m->judy, &k, &je) : (PWord_t)JudyLNext(m->judy, &k, &je);
    if (slot == PJERR)
        hj_die("JudyLNext", &je);
    if (!slot)
        return 0;
    *key = k;
    *val = (uint64_t *)slot;
    return 1;
}

void hj_map_free(hj_map_t *m)
{
    JError_t je;
    if (JudyLFreeArray((PPvoid_t)&m->judy, &je) == (Word_t)JERR)
        hj_die("JudyLFreeArray", &je);
    m->judy = NULL;
    m->n = 0;
}

/* ---- interning: an open-addressing table over an arena of the keys --------------------------
 * JudyHS walks one JudyL level per 8 bytes of key, so a 33-byte (host, peer, port, proto) key
 * cost five dependent lookups and the interning of every conversation dominated the hunts' CPU.
 * A flat table with linear probing costs one hash and, nearly always, one probe. Ids stay the
 * insertion order (0, 1, 2, ...) that JudyHS gave, so every hunt's iteration order, and so its
 * output, is unchanged. A slot is (upper 32 bits of the hash) << 32 | (id + 1), 0 when empty;
 * the keys live once, end to end, in the arena. While every key has one length (the hunts'
 * keys are fixed-size structs) key `id` is at id * length, so a lookup touches the slot and
 * the key only; the first key of another length switches the table to per-id offsets. */

typedef struct hj_itab {
    uint64_t *slots;
    size_t mask;    /* slots - 1; a power of two, at most half full */
    uint8_t *arena; /* the keys, in id order */
    size_t arena_n, arena_cap;
    size_t fixed;  /* the one length of every key so far, or HJ_MIXED */
    uint64_t *off; /* HJ_MIXED: per id, offset of its key in the arena */
    uint32_t *len; /* HJ_MIXED: per id, its length */
    size_t ids_cap;
} hj_itab_t;

#define HJ_MIXED SIZE_MAX

#define HJ_K1 0x9e3779b97f4a7c15ull
#define HJ_K2 0xbf58476d1ce4e5b9ull

static uint64_t hj_hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = HJ_K1 ^ ((uint64_t)len * HJ_K2);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * HJ_K1;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = (h ^ w ^ 0xff) * HJ_K1;
        h ^= h >> 29;
    }
    h *= HJ_K2;
    return h ^ (h >> 32);
}

static const uint8_t *hj_key(const hj_itab_t *x, uint64_t id, size_t *len)
{
    if (x->fixed != HJ_MIXED) {
        *len = x->fixed;
        return x->arena + id * x->fixed;
    }
    *len = x->len[id];
    return x->arena + x->off[id];
}

/* Whether two keys of `len` bytes are equal: inline, word by word, since the keys are short
 * (16 to 40 bytes) and a call to memcmp cost more than the comparison. */
static int hj_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint64_t d = 0;
    for (; len >= 8; a += 8, b += 8, len -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        d |= x ^ y;
    }
    for (; len; len--)
        d |= (uint64_t)(*a++ ^ *b++);
    return d == 0;
}

static int hj_same(const hj_itab_t *x, uint64_t id, const void *key, size_t len)
{
    if (x->fixed != HJ_MIXED)
        return len == x->fixed && hj_eq(x->arena + id * len, key, len);
    return x->len[id] == len && hj_eq(x->arena + x->off[id], key, len);
}

/* Records where key `id` (just appended to the arena) starts and how long it is. */
static void hj_note(hj_itab_t *x, uint64_t id, size_t len)
{
    if (id == 0)
        x->fixed = len;
    if (x->fixed == len)
        return;
    if (x->fixed != HJ_MIXED) { /* the first key of another length: offsets from now on */
        x->ids_cap = (size_t)id + 64;
        x->off = hj_xmalloc(x->ids_cap * sizeof *x->off);
        x->len = hj_xmalloc(x->ids_cap * sizeof *x->len);
        for (uint64_t i = 0; i < id; i++) {
            x->off[i] = i * x->fixed;
            x->len[i] = (uint32_t)x->fixed;
        }
        x->fixed = HJ_MIXED;
    }
    if (id >= x->ids_cap) {
        x->ids_cap *= 2;
        x->off = hj_xrealloc(x->off, x->ids_cap * sizeof *x->off);
        x->len = hj_xrealloc(x->len, x->ids_cap * sizeof *x->len);
    }
    x->off[id] = x->arena_n - len;
    x->len[id] = (uint32_t)len;
}

static void hj_place(hj_itab_t *x, uint64_t h, uint64_t id)
{
    size_t i = (size_t)h & x->mask;
    while (x->slots[i])
        i = (i + 1) & x->mask;
    x->slots[i] = (h >> 32) << 32 | (id + 1);
}

static void hj_grow(hj_itab_t *x, uint64_t n)
{
    size_t cap = x->mask ? (x->mask + 1) * 2 : 64;
    free(x->slots);
    x->slots = hj_xcalloc(cap, sizeof *x->slots);
    x->mask = cap - 1;
    for (uint64_t id = 0; id < n; id++) {
        size_t len;
        const uint8_t *k = hj_key(x, id, &len);
        hj_place(x, hj_hash(k, len), id);
    }
}

uint64_t hj_intern(hj_intern_t *t, const void *key, size_t len, int *is_new)
{
    hj_itab_t *x = t->tab;
    if (!x)
        x = t->tab = hj_xcalloc(1, sizeof *x);
    *is_new = 0;
    uint64_t h = hj_hash(key, len);
    if (x->slots) {
        for (size_t i = (size_t)h & x->mask; x->slots[i]; i = (i + 1) & x->mask) {
            uint64_t sl = x->slots[i];
            if (sl >> 32 == h >> 32 && hj_same(x, (sl & 0xffffffffu) - 1, key, len))
                return (sl & 0xffffffffu) - 1;
        }
    }
    if (t->n >= 0xffffffffu || len > 0xffffffffu) {
        fprintf(stderr, "flowhunt: interning failed: too many or too long keys\n");
        exit(2);
    }
    uint64_t id = t->n++;
    if (!x->arena || x->arena_n + len > x->arena_cap) { /* allocated even for an empty key */
        size_t cap = x->arena_cap ? x->arena_cap : 1024;
        while (cap < x->arena_n + len)
            cap *= 2;
        x->arena = hj_xrealloc(x->arena, cap);
        x->arena_cap = cap;
    }
    if (len)
        memcpy(x->arena + x->arena_n, key, len);
    x->arena_n += len;
    hj_note(x, id, len);
    if (!x->slots || t->n * 2 > x->mask + 1)
        hj_grow(x, t->n); /* places every key, the new one too */
    else
        hj_place(x, h, id);
    *is_new = 1;
    return id;
}

uint64_t hj_lookup(const hj_intern_t *t, const void *key, size_t len)
{
    const hj_itab_t *x = t->tab;
    if (!x || !x->slots)
        return UINT64_MAX;
    uint64_t h = hj_hash(key, len);
    for (size_t i = (size_t)h & x->mask; x->slots[i]; i = (i + 1) & x->mask) {
        uint64_t sl = x->slots[i];
        if (sl >> 32 == h >> 32 && hj_same(x, (sl & 0xffffffffu) - 1, key, len))
            return (sl & 0xffffffffu) - 1;
    }
    return UINT64_MAX;
}

void hj_intern_free(hj_intern_t *t)
{
    hj_itab_t *x = t->tab;
    if (x) {
        free(x->slots);
        free(x->arena);
        free(x->off);
        free(x->len);
        free(x);
    }
    t->tab = NULL;
    t->n = 0;
}

/* Large arrays ask for transparent huge pages (where the kernel's setting is `madvise`, as
 * on Debian). A hunt fills arrays of hundreds of megabytes once per pass: with 4 KiB pages
 * the kernel took a fault for each page, and system time was a third of a 100 M-flow run's
 * CPU. The advice covers only whole huge pages inside the block, so it never touches a
 * neighbour's memory; it changes no byte of data, and a kernel without THP ignores it (its
 * error is of no interest). Measured, alternating runs: 100 M flows slid by an hour
 * 31.7-37.2 -> 27.1-30.6 s wall, system 15.6-19.6 -> 9.1-12.7 s; cold 87.8 -> 79.6 s; peak
 * RSS +1-3 %. Over 20 M flows slid by an hour the advice was 5 % slower (mean of five) while
 * hj_vec_at still zeroed the unused half of every doubling, and is within the noise since
 * (6.51 against 6.42 s, mean of three, system time now and then 1.5 s more): this virtual
 * machine hands free blocks of 8 MiB back to its host (free page reporting), and a huge
 * page taken from one is faulted in on the host 4 KiB at a time (a process's first 512 MiB
 * of huge pages fill at 0.7 GB/s, the next at 10.5 GB/s; 4 KiB pages at 2.6 GB/s), which a
 * longer run amortises by reusing its own. */
#define HJ_HUGE ((size_t)2 << 20)

static void *hj_huge(void *p, size_t n)
{
    if (n >= 2 * HJ_HUGE) {
        uintptr_t a = ((uintptr_t)p + HJ_HUGE - 1) & ~(uintptr_t)(HJ_HUGE - 1);
        uintptr_t b = ((uintptr_t)p + n) & ~(uintptr_t)(HJ_HUGE - 1);
        if (b > a)
            (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
    }
    return p;
}

void *hj_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "flowhunt: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return hj_huge(p, n);
}

void *hj_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "flowhunt: out of memory (%zu x %zu bytes)\n", n, size);
        exit(2);
    }
    return hj_huge(p, n * size);
}

void *hj_xrealloc(void *p, size_t n)
{
    size_t had = p && n >= 2 * HJ_HUGE ? malloc_usable_size(p) : 0;
    if (had && had < n) {
        /* growing, realloc would copy into pages it touched before the advice (a fault per
         * 4 KiB, most of those left): the new block is advised first */
        void *q = hj_xmalloc(n);
        memcpy(q, p, had);
        free(p);
        return q;
    }
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "flowhunt: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return hj_huge(q, n);
}

char *hj_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = hj_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void hj_vec_init(hj_vec_t *v, size_t elem_size)
{
    memset(v, 0, sizeof *v);
    v->size = elem_size;
}

/* Elements are zeroed as they come into use (n grows past them), not when the room grows:
 * zeroing the new half of every doubling wrote pages that a vector's last pass might never
 * use, each a fresh page for the kernel to clear first. */
void *hj_vec_at(hj_vec_t *v, size_t i)
{
    if (i >= v->cap) {
        size_t cap = v->cap ? v->cap : 64;
        while (cap <= i)
            cap *= 2;
        v->v = hj_xrealloc(v->v, cap * v->size);
        v->cap = cap;
    }
    if (i >= v->n) {
        memset((char *)v->v + v->n * v->size, 0, (i + 1 - v->n) * v->size);
        v->n = i + 1;
    }
    return (char *)v->v + i * v->size;
}

void hj_vec_free(hj_vec_t *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}
