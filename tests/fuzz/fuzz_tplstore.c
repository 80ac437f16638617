/* fuzz_tplstore.c: the payload of a collector's saved templates (templates-w<N>.bin, read
 * back at start) through tpl_store_decode (collector/tpl_store.c).
 *
 * The input is a payload whose checksum has been checked: a damaged file's checksum rejects
 * it before this parser, so only what a checksum cannot rule out (a file written by a newer or
 * broken collector) reaches it, and the fuzzer need not forge checksums. Every definition goes
 * through tpl_define's checks into a cache of at most 16 scopes, so eviction runs too, with
 * exporters whose address ends in 0xff left to another worker. Then the cache is saved and
 * the image loaded into a fresh cache: it must parse to its end, and saving that cache must
 * give the same bytes (what a restart keeps is what was saved).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "tpl_store.h"

static int fuzz_tplstore_keep(const flow_addr_t *exporter, void *arg)
{
    (void)arg;
    return exporter->b[15] != 0xff;
}

int fuzz_tplstore_one(const uint8_t *data, size_t size)
{
    tpl_cache_t a, b;
    int damaged;
    tpl_cache_init_limit(&a, 16);
    tpl_store_decode(&a, data, size, fuzz_tplstore_keep, NULL, &damaged);
    size_t la, lb;
    uint8_t *ia = tpl_store_encode(&a, &la);
    if (!ia || la < 16)
        __builtin_trap();
    tpl_cache_init_limit(&b, 16);
    tpl_store_decode(&b, ia + 16, la - 16, NULL, NULL, &damaged);
    uint8_t *ib = tpl_store_encode(&b, &lb);
    if (damaged || !ib || la != lb || memcmp(ia, ib, la) != 0)
        __builtin_trap();
    free(ia);
    free(ib);
    tpl_cache_free(&a);
    tpl_cache_free(&b);
    return 0;
}

FUZZ_ENTRY(tplstore)
