/* fuzz_intel.c: threat-intel feed bytes through ti_load_mem() (intel.c).
 *
 * The input is one feed, in whatever format its content suggests (plain list, CSV, Zeek Intel,
 * MISP or STIX JSON), loaded twice into one database (two feeds sharing keys exercise the
 * chains), then every indicator's own address and a few addresses taken from the input are
 * looked up, so a broken chain or a bad mask shows up under the sanitizers.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "intel.h"

int fuzz_intel_one(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    char err[512];
    ti_db_t *db = ti_new();
    long a = ti_load_mem(db, "fuzz/a.feed", data, size, sink, err, sizeof err);
    long b = ti_load_mem(db, "fuzz/b.feed", data, size, sink, err, sizeof err);
    if (a != b || (a >= 0 && ti_count(db) != (size_t)(2 * a)))
        __builtin_trap();
    flow_addr_t addr;
    for (size_t off = 0; off + 16 <= size && off < 256; off += 16) {
        memcpy(addr.b, data + off, 16);
        ti_match(db, &addr, -1, 0, UINT64_MAX, 0);
        memcpy(addr.b, flow_v4_mapped_prefix, 12); /* the same bytes as IPv4 */
        ti_match(db, &addr, data[off], 1, 2, 0);
    }
    ti_free(db);
    return 0;
}

FUZZ_ENTRY(intel)
