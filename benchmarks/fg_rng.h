/* fg_rng.h: flowgen's deterministic randomness (fg_rng.c).
 *
 * xoshiro256** seeded through splitmix64, one independent stream per part of the generator
 * (the organisation, each planted case, the benign traffic, sampling, export), so that one part
 * drawing one more number does not change the others. No clock, no rand(): the same seed gives
 * the same numbers on every machine. */
#ifndef FH_FG_RNG_H
#define FH_FG_RNG_H

#include <stdint.h>

typedef struct fg_rng {
    uint64_t s[4];
} fg_rng_t;

void fg_rng_seed(fg_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t fg_next(fg_rng_t *r);
/* Uniform in [0, 1). */
double fg_unit(fg_rng_t *r);
/* Uniform in [lo, hi], rejection-sampled so that no value is favoured. */
uint64_t fg_range(fg_rng_t *r, uint64_t lo, uint64_t hi);
/* Log-normal with the given median; sigma is that of the underlying normal. */
double fg_lognormal(fg_rng_t *r, double median, double sigma);
/* Log-uniform in [lo, hi]: as many 30-60 s periods as 1-2 h ones. */
double fg_loguniform(fg_rng_t *r, double lo, double hi);
/* Exponential with the given mean (gaps of a Poisson process). */
double fg_exponential(fg_rng_t *r, double mean);
/* Index in [0, n) with P(k) close to 1/(k+1): the popularity of web destinations. */
uint32_t fg_zipf(fg_rng_t *r, uint32_t n);
/* Packets of n kept by 1:every packet sampling, each with probability 1/every. */
uint64_t fg_binomial(fg_rng_t *r, uint64_t n, uint32_t every);
/* A client port from Linux's default ip_local_port_range. */
uint16_t fg_ephemeral(fg_rng_t *r);
double fg_clamp(double x, double lo, double hi);
/* A 64-bit hash of (salt, x): stable per-endpoint choices (dual stack, IPv6 twins). */
uint64_t fg_hash(uint64_t salt, uint64_t x);

#endif
