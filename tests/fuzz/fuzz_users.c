/* fuzz_users.c: the users (lease) CSV parser of analyzer/enrich.c on arbitrary bytes.
 *
 * The input is a whole users file, parsed from memory as `flowhunt hunt --users` parses the
 * file: line splitting with its length bound, RFC 4180 quotes, ISO 8601 times, addresses,
 * name checks, then the per-address sort. Leases are then looked up for a few addresses the
 * corpus uses at a few times (before, inside and after its leases, and the extremes), through
 * en_finding as the report calls it. Any result is fine except a crash, a hang, a leak or an
 * over-read.
 */
#include <string.h>

#include "enrich.h"
#include "fuzz.h"

int fuzz_users_one(const uint8_t *data, size_t size);
int fuzz_users_one(const uint8_t *data, size_t size)
{
    static const char *const hosts[] = {"10.0.0.5", "10.0.0.7", "2001:db8::10", "fd00::7", "::"};
    static const uint64_t times[] = {0, 1709280000000ull, 1709294400000ull, 1709337600000ull,
                                     UINT64_MAX};
    char err[128];
    en_opts_t o = {0};
    en_ctx_t *en = en_open_opts(&o, err, sizeof err);
    if (!en)
        return 0;
    en_users_parse(en, "fuzz", (const char *)data, size);
    for (size_t h = 0; h < sizeof hosts / sizeof hosts[0]; h++)
        for (size_t t = 0; t + 1 < sizeof times / sizeof times[0]; t++) {
            hunt_finding_t f;
            memset(&f, 0, sizeof f);
            if (flow_addr_parse(&f.host, hosts[h]) != 0)
                continue;
            f.first_seen = times[t];
            f.last_seen = times[t + 1];
            en_finding(en, &f);
        }
    en_close(en);
    return 0;
}

FUZZ_ENTRY(users)
