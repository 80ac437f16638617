/* fuzz_ipfix.c: IPFIX messages in series through one template cache (fuzz_tpl.h). */
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_tpl.h"
#include "ipfix.h"

int fuzz_ipfix_one(const uint8_t *data, size_t size)
{
    return fuzz_tpl_run(data, size, ipfix_decode);
}

FUZZ_ENTRY(ipfix)
