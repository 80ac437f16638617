/* fuzz_baseline.c: the rare hunt's baseline, DIR/hunt/baseline-dst.bin, through the checks a
 * hunt makes before it trusts one (hq_baseline_check in analyzer/hunt_rare.c).
 *
 * The file ends in a SHA-256 of what precedes it, which random bytes never match: each input
 * is checked twice, as it is and with its trailer recomputed, so the fuzzer reaches the checks
 * after the checksum (hours in order, entry kinds, host counts, times) and the merge of
 * whatever passes. Any result is fine except a crash, a hang, a leak or an over-read; a
 * refusal says why.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "hunt.h"
#include "sha256.h"

#define FUZZ_BASELINE_TRAILER 40 /* SHA-256, then the magic again */

int fuzz_baseline_one(const uint8_t *data, size_t size)
{
    const char *why = hq_baseline_check(data, size);
    if (why && !why[0])
        __builtin_trap();
    if (size < FUZZ_BASELINE_TRAILER)
        return 0;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    if (sha256_once(fixed, size - FUZZ_BASELINE_TRAILER, fixed + size - FUZZ_BASELINE_TRAILER) == 0)
        why = hq_baseline_check(fixed, size);
    if (why && !why[0])
        __builtin_trap();
    free(fixed);
    return 0;
}

FUZZ_ENTRY(baseline)
