/* satmath.h: counter arithmetic that saturates at UINT64_MAX instead of wrapping.
 *
 * Sums of flows' packets and bytes (top's keys, count's bins) wrap silently in plain uint64_t
 * arithmetic: two flows of 2^63 bytes, or one of 2^40 sampled 1 in 2^24, summed to a small
 * number that was printed as if it were the total. A value at SAT_MAX is "at least that", and
 * the commands say so when they print one (cmd_warn_saturated).
 */
#ifndef FH_SATMATH_H
#define FH_SATMATH_H

#include <stdint.h>

#define SAT_MAX UINT64_MAX

static inline uint64_t sat_add(uint64_t a, uint64_t b)
{
    uint64_t s;
    return __builtin_add_overflow(a, b, &s) ? SAT_MAX : s;
}

/* A counter times its sampling interval, saturated. */
static inline uint64_t sat_mul(uint64_t v, uint64_t mult)
{
    uint64_t p;
    return __builtin_mul_overflow(v, mult, &p) ? SAT_MAX : p;
}

/* A 128-bit intermediate (a product not yet divided, a share of one) brought back to 64 bits,
 * saturated. */
static inline uint64_t sat_from128(unsigned __int128 v)
{
    return v > SAT_MAX ? SAT_MAX : (uint64_t)v;
}

#endif
