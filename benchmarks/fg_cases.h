/* fg_cases.h: the planted cases of a run: threats (fg_threats.c) and benign look-alikes
 * (fg_lookalike.c), their ground truth and the threat-intel feed (fg_truth.c).
 *
 * Each case type draws from its own random stream (one per instance), so adding a case or an
 * instance does not move the others; each takes at most a stated share of --flows (counted
 * before sampling) and the everyday traffic fills the rest. */
#ifndef FH_FG_CASES_H
#define FH_FG_CASES_H

#include <stdint.h>

#include "fg_gen.h"
#include "fg_org.h"

#define FG_MAX_CASES 64
#define FG_MAX_DECOYS 8

typedef struct fg_cases {
    fg_case_t v[FG_MAX_CASES];
    uint32_t n;
    uint32_t decoys[FG_MAX_DECOYS]; /* intel indicators nobody contacts */
    uint32_t n_decoys;
} fg_cases_t;

/* A new case, current for g until fg_case_end; NULL when the table is full. */
fg_case_t *fg_cases_new(fg_cases_t *cs, fg_gen_t *g, const char *scenario, const char *technique);

void fg_plant_threats(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs);
void fg_plant_lookalikes(fg_gen_t *g, fg_org_t *o, uint64_t seed, fg_cases_t *cs);

/* The truth as JSON lines, one per case; the intel feed (the ioc peers and the decoys). */
int fg_truth_save(const char *path, const fg_org_t *o, const fg_cases_t *cs, uint32_t sample);
int fg_intel_save(const char *path, const fg_org_t *o, const fg_cases_t *cs);
/* "YYYY-MM-DDTHH:MM:SSZ" of ms since the epoch, rounded down or up to the second. */
void fg_iso8601(uint64_t ms, int round_up, char out[32]);

#endif
