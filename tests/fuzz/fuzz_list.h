/* fuzz_list.h: every fuzz target, FUZZ_TARGET(name) for tests/fuzz/fuzz_name.c. */
FUZZ_TARGET(nf5)
FUZZ_TARGET(capture)
FUZZ_TARGET(nf9)
FUZZ_TARGET(ipfix)
FUZZ_TARGET(seg)
FUZZ_TARGET(users)
FUZZ_TARGET(intel)
FUZZ_TARGET(unit)
