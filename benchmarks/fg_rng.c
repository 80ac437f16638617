/* fg_rng.c: flowgen's deterministic randomness: xoshiro256** (Blackman and Vigna) seeded
 * through splitmix64, and the distributions the generator draws from. */
#include "fg_rng.h"

#include <math.h>

static uint64_t fg_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint64_t fg_hash(uint64_t salt, uint64_t x)
{
    uint64_t s = salt ^ (x * 0x9fb21c651e98df25u);
    return fg_splitmix(&s);
}

void fg_rng_seed(fg_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03u);
    for (int i = 0; i < 4; i++)
        r->s[i] = fg_splitmix(&x);
}

static uint64_t fg_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t fg_next(fg_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = fg_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = fg_rotl(s[3], 45);
    return out;
}

double fg_unit(fg_rng_t *r)
{
    return (double)(fg_next(r) >> 11) * 0x1.0p-53;
}

uint64_t fg_range(fg_rng_t *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t n = hi - lo + 1;
    if (n == 0)
        return fg_next(r);
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = fg_next(r);
    while (x >= limit);
    return lo + x % n;
}

static double fg_normal(fg_rng_t *r)
{
    double u = 1.0 - fg_unit(r); /* (0, 1]: log(0) never happens */
    double v = fg_unit(r);
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

double fg_lognormal(fg_rng_t *r, double median, double sigma)
{
    return median * exp(sigma * fg_normal(r));
}

double fg_loguniform(fg_rng_t *r, double lo, double hi)
{
    if (hi <= lo)
        return lo;
    return exp(log(lo) + fg_unit(r) * (log(hi) - log(lo)));
}

double fg_exponential(fg_rng_t *r, double mean)
{
    return -mean * log(1.0 - fg_unit(r));
}

double fg_clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

uint32_t fg_zipf(fg_rng_t *r, uint32_t n)
{
    uint32_t k = (uint32_t)(exp(fg_unit(r) * log((double)n + 1.0)) - 1.0);
    return k < n ? k : n - 1;
}

/* Few expected survivors: walk the kept packets by geometric gaps (exact). Many: the normal
 * approximation, which is within a packet or two of exact there and costs one draw. */
uint64_t fg_binomial(fg_rng_t *r, uint64_t n, uint32_t every)
{
    if (every <= 1)
        return n;
    double p = 1.0 / every, mean = (double)n * p;
    if (mean > 40.0) {
        double k = floor(mean + sqrt(mean * (1.0 - p)) * fg_normal(r) + 0.5);
        return (uint64_t)fg_clamp(k, 0, (double)n);
    }
    double l1p = log1p(-p);
    uint64_t kept = 0;
    double at = 0;
    for (;;) {
        at += floor(log(1.0 - fg_unit(r)) / l1p) + 1.0; /* index (1-based) of the next kept */
        if (at > (double)n)
            return kept;
        kept++;
    }
}

uint16_t fg_ephemeral(fg_rng_t *r)
{
    return (uint16_t)fg_range(r, 32768, 60999);
}
