/* fuzz_nf9.c: NetFlow v9 datagrams in series through one template cache (fuzz_tpl.h). */
#include "fuzz/fuzz.h"
#include "fuzz/fuzz_tpl.h"
#include "nf9.h"

int fuzz_nf9_one(const uint8_t *data, size_t size)
{
    return fuzz_tpl_run(data, size, nf9_decode);
}

FUZZ_ENTRY(nf9)
