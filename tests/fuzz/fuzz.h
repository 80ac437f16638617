/* fuzz.h: how a fuzz target is declared.
 *
 * tests/fuzz/fuzz_NAME.c defines `int fuzz_NAME_one(const uint8_t *data, size_t size)` and ends
 * with FUZZ_ENTRY(NAME). Built by clang with -DFH_LIBFUZZER it is a libFuzzer binary
 * (build/fuzz/fuzz_NAME); built into the test runner it is a plain function, and the test
 * fuzz_corpus_NAME replays every file of tests/fuzz/corpus/NAME/ through it, so each past
 * finding stays a regression test in `make test` and `make asan`. List new targets in
 * fuzz_list.h.
 */
#ifndef FH_FUZZ_H
#define FH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes p[0..n) as the whole file at path (for targets whose reader takes a file); 0 or -1. */
static inline int fuzz_put_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) != 0 || w != n ? -1 : 0;
}

#ifdef FH_LIBFUZZER
#define FUZZ_ENTRY(name)                                                                           \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        return fuzz_##name##_one(data, size);                                                      \
    }
#else
#define FUZZ_ENTRY(name)
#endif

#endif
