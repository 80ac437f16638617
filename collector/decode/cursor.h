/* cursor.h: bounds-checked reading of untrusted big-endian bytes.
 *
 * The rule every decoder follows: carve a sub-cursor for a structure whose length has been
 * checked against what is left (cur_carve), then read its fields in order. Reads never go past
 * `rem`; a read from a cursor that is too short is a programmer error caught by assert in
 * debug builds and, in release builds, yields zero without reading, never out-of-bounds memory.
 */
#ifndef FH_CURSOR_H
#define FH_CURSOR_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cur {
    const uint8_t *p;
    size_t rem;
} cur_t;

static inline cur_t cur_make(const uint8_t *p, size_t len)
{
    cur_t c = {p, len};
    return c;
}

static inline int cur_has(const cur_t *c, size_t n)
{
    return c->rem >= n;
}

/* Takes the next n bytes as their own cursor; -1 (and nothing consumed) when fewer remain. */
static inline int cur_carve(cur_t *c, size_t n, cur_t *sub)
{
    if (c->rem < n)
        return -1;
    sub->p = c->p;
    sub->rem = n;
    c->p += n;
    c->rem -= n;
    return 0;
}

static inline int cur_skip(cur_t *c, size_t n)
{
    if (c->rem < n)
        return -1;
    c->p += n;
    c->rem -= n;
    return 0;
}

static inline uint64_t cur_be(cur_t *c, size_t n)
{
    uint64_t v = 0;
    assert(n <= 8 && c->rem >= n);
    if (c->rem < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | c->p[i];
    c->p += n;
    c->rem -= n;
    return v;
}

static inline uint8_t cur_u8(cur_t *c)
{
    return (uint8_t)cur_be(c, 1);
}

static inline uint16_t cur_be16(cur_t *c)
{
    return (uint16_t)cur_be(c, 2);
}

static inline uint32_t cur_be32(cur_t *c)
{
    return (uint32_t)cur_be(c, 4);
}

/* Copies n raw bytes (addresses); zero-fills and consumes nothing when fewer remain. */
static inline void cur_bytes(cur_t *c, uint8_t *out, size_t n)
{
    assert(c->rem >= n);
    if (c->rem < n) {
        for (size_t i = 0; i < n; i++)
            out[i] = 0;
        return;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = c->p[i];
    c->p += n;
    c->rem -= n;
}

#endif
