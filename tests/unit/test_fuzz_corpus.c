/* test_fuzz_corpus.c: replays each fuzz target's corpus in the normal test run, and runs each
 * libFuzzer binary briefly (when clang built it) as a regression check. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task.h"

#define FUZZ_TARGET(name) int fuzz_##name##_one(const uint8_t *data, size_t size);
#include "fuzz/fuzz_list.h"
#undef FUZZ_TARGET

static int replay_dir(const char *name, int (*one)(const uint8_t *, size_t))
{
    char dir[512];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", name);
    DIR *d = opendir(dir);
    if (!d)
        TEST_FAIL_AT("corpus %s is missing: every fuzz target keeps a corpus", dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        uint8_t *buf = test_read_file(path, &len);
        ASSERT_NOT_NULL(buf);
        /* Replay from a guard-page copy so an over-read faults here as it would under ASan. */
        uint8_t *g = test_guard_copy(buf, len);
        one(g, len);
        test_guard_free(g);
        free(buf);
        n++;
    }
    closedir(d);
    printf("%s: replayed %d inputs\n", name, n);
    ASSERT_GT(n, 0);
    return 0;
}

/* Runs the libFuzzer binary for a few seconds on a scratch copy of the corpus. */
static int smoke(const char *name)
{
    const char *build = getenv("FH_BUILD");
    char bin[512], cmd[2048];
    snprintf(bin, sizeof bin, "%s/fuzz/fuzz_%s", build ? build : "build", name);
    if (access(bin, X_OK) != 0)
        SKIP("%s not built (make fuzzers needs clang with libFuzzer)", bin);
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s/corpus && cp tests/fuzz/corpus/%s/* %s/corpus/ && "
             "%s -max_total_time=5 -timeout=10 -rss_limit_mb=1024 -artifact_prefix=%s/ "
             "%s/corpus >%s/fuzz.log 2>&1",
             test_tmpdir(), name, test_tmpdir(), bin, test_tmpdir(), test_tmpdir(), test_tmpdir());
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "tail -n 40 %s/fuzz.log >&2", test_tmpdir());
        if (system(cmd) != 0)
            fprintf(stderr, "(no fuzz log)\n");
    }
    ASSERT_EQ(rc, 0);
    return 0;
}

#define FUZZ_TARGET(name)                                                                          \
    TEST_IMPL(fuzz_corpus_##name)                                                                  \
    {                                                                                              \
        return replay_dir(#name, fuzz_##name##_one);                                               \
    }                                                                                              \
    TEST_IMPL(fuzz_smoke_##name)                                                                   \
    {                                                                                              \
        return smoke(#name);                                                                       \
    }
#include "fuzz/fuzz_list.h"
#undef FUZZ_TARGET
