/* hunt_phase.h: how concentrated the phases of intervals are against a candidate period, the
 * statistic of the beacon hunt's periodicity (Rayleigh) test. */
#ifndef FLOWHUNT_HUNT_PHASE_H
#define FLOWHUNT_HUNT_PHASE_H

#include <stddef.h>

/* The mean resultant length |sum of e^(i 2 pi d[k] / t)| / n over k < n: 1 when every
 * interval is a whole number of periods t, near 0 when the phases spread evenly. t > 0,
 * d[k] >= 0; 0 when n is 0. */
double hph_resultant(const double *d, size_t n, double t);
/* The mean of e^(i 2 pi d[k] / t) over k < n: *mc its real (cosine), *ms its imaginary (sine)
 * part, whose length hph_resultant is; 0, 0 when n is 0. */
void hph_mean_vector(const double *d, size_t n, double t, double *mc, double *ms);

#endif
