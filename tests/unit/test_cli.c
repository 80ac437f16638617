/* test_cli.c: the programs as a user runs them: --version, --help, and flowhuntd --read on a
 * capture the project made itself, compared with golden output (diff -u on failure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "task.h"
#include "version.h"

TEST_IMPL(cli_versions_and_help)
{
    char cmd[1024], *out;
    const char *progs[] = {"flowhuntd", "flowhunt"};
    for (int i = 0; i < 2; i++) {
        char want[64];
        snprintf(cmd, sizeof cmd, "%s --version", test_bin(progs[i]));
        ASSERT_EQ(test_run(cmd, &out), 0);
        snprintf(want, sizeof want, "%s %s\n", progs[i], FH_VERSION);
        ASSERT_STR_EQ(out, want);
        free(out);
        snprintf(cmd, sizeof cmd, "%s --help", test_bin(progs[i]));
        ASSERT_EQ(test_run(cmd, &out), 0);
        ASSERT_NOT_NULL(strstr(out, "usage:"));
        free(out);
        /* a wrong option is a usage error, exit 2, nothing on stdout */
        snprintf(cmd, sizeof cmd, "%s --no-such-option 2>/dev/null", test_bin(progs[i]));
        ASSERT_EQ(test_run(cmd, &out), 2);
        ASSERT_STR_EQ(out, "");
        free(out);
    }
    snprintf(cmd, sizeof cmd, "%s --read /nonexistent.pcap 2>/dev/null", test_bin("flowhuntd"));
    ASSERT_EQ(test_run(cmd, &out), 1);
    free(out);
    snprintf(cmd, sizeof cmd, "%s --read x --print xml 2>/dev/null", test_bin("flowhuntd"));
    ASSERT_EQ(test_run(cmd, &out), 2);
    free(out);
    return 0;
}

/* flowhuntd --read GOLDEN.pcap --print FMT must print exactly GOLDEN.EXT (after `filter`,
 * which keeps the JSON golden file small). */
static int golden(const char *fmt, const char *ext, const char *filter)
{
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd,
             "%s --read tests/golden/v5_small.pcap --print %s 2>%s/stderr >%s/got && "
             "%s <%s/got | diff -u tests/golden/v5_small.%s - >&2",
             test_bin("flowhuntd"), fmt, test_tmpdir(), test_tmpdir(), filter, test_tmpdir(), ext);
    int rc = test_run(cmd, &out);
    free(out);
    if (rc != 0)
        TEST_FAIL_AT("output differs from tests/golden/v5_small.%s (diff above); if the change "
                     "is intended, regenerate with scripts/golden.sh",
                     ext);
    /* the counters on stderr name the exporters and show no loss and no drops */
    snprintf(cmd, sizeof cmd, "cat %s/stderr", test_tmpdir());
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_NOT_NULL(strstr(out, "datagrams 446, flows 1000, datagrams dropped 0"));
    ASSERT_NOT_NULL(strstr(out, "exporter 192.0.2.1: datagrams"));
    ASSERT_NOT_NULL(strstr(out, "exporter 192.0.2.2: datagrams"));
    ASSERT_NOT_NULL(strstr(out, "lost 0 in 0 gaps"));
    ASSERT_NULL(strstr(out, "  dropped ")); /* no malformation of any name */
    free(out);
    return 0;
}

TEST_IMPL(cli_read_golden_csv)
{
    return golden("csv", "csv", "cat");
}

TEST_IMPL(cli_read_json)
{
    return golden("json", "jsonl", "head -n 40");
}
