/* fuzz_unit.c: a file of the hunts' hour cache (analyzer/hunt_unit.c) on arbitrary bytes.
 *
 * The input is a whole unit file, read as a run reads one: header, frame index (its CRC, the
 * frames tiling the file), every frame's CRC and zstd decompression into records and
 * conversations. What comes out is then prepared as a run prepares a cached hour's raw
 * records (stitch, deduplicate, pair, order), so records with any field values go through
 * preparation too. Any result is fine except a crash, a hang, a leak or an over-read. The
 * corpus holds real unit files (a few hundred records each) and broken variants.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "hunt_unit.h"

int fuzz_unit_one(const uint8_t *data, size_t size);
int fuzz_unit_one(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "rb"); /* read only: the bytes are not written */
    if (!f)
        return 0;
    hp_recs_t recs = {0};
    hunt_conv_t *convs = NULL;
    size_t n = 0, cap = 0;
    if (hu_file_read(f, &recs, &convs, &n, &cap) == 0) {
        static hunt_config_t cfg;
        static int init;
        if (!init) {
            hc_defaults(&cfg);
            init = 1;
        }
        hp_stats_t st = {0};
        hunt_conv_t *built;
        size_t nb = hp_conv_build(&cfg, recs.v, recs.n, &st, &built);
        free(hp_conv_order(built, nb, &st));
        free(built);
        free(hp_conv_order(convs, n, &st));
    }
    free(recs.v);
    free(convs);
    return 0;
}

FUZZ_ENTRY(unit)
