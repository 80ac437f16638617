/* hunt_phase.c: the mean resultant length of the phases 2*pi*d/t, without a libm call per
 * interval.
 *
 * The beacon hunt tests up to twelve candidate periods against up to period_max_intervals
 * intervals of every pair it scores; cos and sin of each phase (glibc's sincos) were 8.5 % of
 * the CPU of a warm beacon/scan/dns-exfil run over 10 M flows. Here the phase is reduced in
 * turns: x = d/t less its nearest integer (exact), less its nearest quarter turn (exact:
 * Sterbenz), leaves an angle within pi/4, whose sine and cosine are their Taylor series to
 * the 15th and 16th power (the first term left out is under 5e-17 there); the quarter turns
 * are put back by swapping and negating. No branch and a fixed trip count, so the compiler
 * vectorises the loop; no fused multiply-add (ISO C mode, baseline x86-64), so every build
 * gives the same bits. The sums differ from the libm ones in their last bits: libm's
 * reduction of 2*pi*d/t starts from a product that has already rounded, ours from d/t.
 */
#include "hunt_phase.h"

#include <math.h>
#include <string.h>

#define HPH_CHUNK 256 /* intervals per pass of the guard and of the sums */
#define HPH_BLOCK 8    /* intervals per call of hph_block: a fixed count the compiler vectorises */
/* Adding and subtracting 1.5 * 2^52 rounds a double below 2^51 in magnitude to the nearest
 * integer (ties to even) in the default rounding mode. */
#define HPH_ROUND 0x1.8p52
/* Phases further out than this many turns go through libm (never, for intervals of a window
 * and periods of at least a millisecond; a NaN does too). */
#define HPH_MAX_TURNS 0x1p49

static const double hph_2pi = 6.283185307179586476925286766559;

/* Taylor coefficients: sin a = a (1 + z (S1 + z (S2 ...))), cos a = 1 + z (C1 + z (C2 ...)),
 * z = a^2 */
static const double hph_s[7] = {-1.0 / 6,           1.0 / 120,           -1.0 / 5040,
                                1.0 / 362880,       -1.0 / 39916800,     1.0 / 6227020800.0,
                                -1.0 / 1307674368000.0};
static const double hph_c[8] = {-1.0 / 2,
                                1.0 / 24,
                                -1.0 / 720,
                                1.0 / 40320,
                                -1.0 / 3628800,
                                1.0 / 479001600,
                                -1.0 / 87178291200.0,
                                1.0 / 20922789888000.0};

/* cos and sin of 2*pi*d[i]/t for i < HPH_BLOCK, every d[i]/t in [0, HPH_MAX_TURNS). */
static inline void hph_block(const double *d, double t, double *co, double *si)
{
    for (int i = 0; i < HPH_BLOCK; i++) {
        double x = d[i] / t;
        double r = x - ((x + HPH_ROUND) - HPH_ROUND);     /* turns, [-1/2, 1/2] */
        double q = (4 * r + HPH_ROUND) - HPH_ROUND;       /* nearest quarter turn, -2 .. 2 */
        double a = (r - 0.25 * q) * hph_2pi, z = a * a;   /* [-pi/4, pi/4] */
        double ps = hph_s[0] +
                    z * (hph_s[1] +
                         z * (hph_s[2] + z * (hph_s[3] + z * (hph_s[4] + z * (hph_s[5] +
                                                                               z * hph_s[6])))));
        double pc = hph_c[0] +
                    z * (hph_c[1] +
                         z * (hph_c[2] +
                              z * (hph_c[3] +
                                   z * (hph_c[4] + z * (hph_c[5] + z * (hph_c[6] + z * hph_c[7]))))));
        double sa = a + a * z * ps, ca = 1 + z * pc;
        /* angle q quarter turns + a: q = +-1 swaps cos and sin, then the signs by quadrant */
        double aq = fabs(q);
        double cc = aq == 1 ? sa : ca, ss = aq == 1 ? ca : sa;
        co[i] = aq == 2 || q == 1 ? -cc : cc;
        si[i] = aq == 2 || q == -1 ? -ss : ss;
    }
}

double hph_resultant(const double *d, size_t n, double t)
{
    double c, s;
    hph_mean_vector(d, n, t, &c, &s);
    return sqrt(c * c + s * s);
}

void hph_mean_vector(const double *d, size_t n, double t, double *mc, double *ms)
{
    *mc = *ms = 0;
    if (n == 0)
        return;
    double co[HPH_CHUNK + HPH_BLOCK], si[HPH_CHUNK + HPH_BLOCK];
    double c = 0, s = 0;
    const double lim = t * HPH_MAX_TURNS;
    for (size_t at = 0; at < n; at += HPH_CHUNK) {
        size_t m = n - at < HPH_CHUNK ? n - at : HPH_CHUNK;
        const double *src = d + at;
        int ok = 1;
        for (size_t i = 0; i < m; i++)
            ok &= src[i] >= 0 && src[i] < lim;
        if (ok) {
            size_t i = 0;
            for (; i + HPH_BLOCK <= m; i += HPH_BLOCK)
                hph_block(src + i, t, co + i, si + i);
            if (i < m) { /* the last few, padded to a block */
                double in[HPH_BLOCK] = {0};
                memcpy(in, src + i, (m - i) * sizeof *in);
                hph_block(in, t, co + i, si + i);
            }
        } else {
            for (size_t i = 0; i < m; i++) {
                double th = hph_2pi * (src[i] / t);
                co[i] = cos(th);
                si[i] = sin(th);
            }
        }
        /* summed in order, so the result does not depend on the vector width */
        for (size_t i = 0; i < m; i++) {
            c += co[i];
            s += si[i];
        }
    }
    *mc = c / (double)n;
    *ms = s / (double)n;
}
