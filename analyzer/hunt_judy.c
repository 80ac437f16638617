/* hunt_judy.c: the hunts' per-host and per-pair state, in Judy arrays behind checked calls.
 *
 * Judy gives ordered, memory-tight maps with no hash table to size or tune, which is what a
 * batch hunt over millions of hosts and pairs needs. Its error reporting is a JError_t that is
 * easy to forget, so every call goes through here: a failure (out of memory, a corrupt array)
 * ends the run with exit status 2 and Judy's error number, since a hunt that lost part of its
 * state would quietly report wrong findings. JudyHS cannot be iterated, so byte-string keys are
 * interned to dense ids and their records kept in an hj_vec_t in insertion order; insertion
 * order is deterministic because preparation feeds conversations in a total order.
 */
#include <Judy.h>
#include <stdlib.h>
#include <string.h>

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

uint64_t hj_intern(hj_intern_t *t, const void *key, size_t len, int *is_new)
{
    JError_t je;
    PWord_t slot = (PWord_t)JudyHSGet(t->judy, (void *)key, len);
    *is_new = 0;
    if (slot)
        return *slot - 1;
    slot = (PWord_t)JudyHSIns((PPvoid_t)&t->judy, (void *)key, len, &je);
    if (slot == PJERR)
        hj_die("JudyHSIns", &je);
    *slot = (Word_t)(++t->n); /* ids + 1, so 0 marks an empty slot */
    *is_new = 1;
    return t->n - 1;
}

uint64_t hj_lookup(const hj_intern_t *t, const void *key, size_t len)
{
    PWord_t slot = (PWord_t)JudyHSGet(t->judy, (void *)key, len);
    return slot ? *slot - 1 : UINT64_MAX;
}

void hj_intern_free(hj_intern_t *t)
{
    JError_t je;
    if (JudyHSFreeArray((PPvoid_t)&t->judy, &je) == (Word_t)JERR)
        hj_die("JudyHSFreeArray", &je);
    t->judy = NULL;
    t->n = 0;
}

void *hj_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "flowhunt: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return p;
}

void *hj_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "flowhunt: out of memory (%zu x %zu bytes)\n", n, size);
        exit(2);
    }
    return p;
}

void *hj_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "flowhunt: out of memory (%zu bytes)\n", n);
        exit(2);
    }
    return q;
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

void *hj_vec_at(hj_vec_t *v, size_t i)
{
    if (i >= v->cap) {
        size_t cap = v->cap ? v->cap : 64;
        while (cap <= i)
            cap *= 2;
        v->v = hj_xrealloc(v->v, cap * v->size);
        memset((char *)v->v + v->cap * v->size, 0, (cap - v->cap) * v->size);
        v->cap = cap;
    }
    if (i >= v->n)
        v->n = i + 1;
    return (char *)v->v + i * v->size;
}

void hj_vec_free(hj_vec_t *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}
