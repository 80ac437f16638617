/* task.h: the test vocabulary every flowhunt test uses.
 *
 * In the libuv style: a test is `TEST_IMPL(name)` returning 0 on success; the runner
 * (tests/runner.c) runs each one in its own process with a timeout, so a crash or a hang fails
 * one test, not the suite. Asserts are typed so a failure prints both operands and where it
 * happened. A test that cannot run here (a reference tool or ../shared/data missing) calls
 * SKIP("why") and is counted as skipped, never as passed.
 */
#ifndef FH_TASK_H
#define FH_TASK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_IMPL(name) int run_test_##name(void)
#define TEST_DECLARE(name) int run_test_##name(void);

/* Exit status a test process uses to say "skipped" (the automake convention). */
#define TEST_SKIP_CODE 77

#define SKIP(...)                                                                                  \
    do {                                                                                           \
        fprintf(stdout, "SKIP: ");                                                                 \
        fprintf(stdout, __VA_ARGS__);                                                              \
        fprintf(stdout, "\n");                                                                     \
        fflush(stdout);                                                                            \
        exit(TEST_SKIP_CODE);                                                                      \
    } while (0)

#define TEST_FAIL_AT(...)                                                                          \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        fflush(stderr);                                                                            \
        abort();                                                                                   \
    } while (0)

#define ASSERT(expr)                                                                               \
    do {                                                                                           \
        if (!(expr))                                                                               \
            TEST_FAIL_AT("assertion failed: %s", #expr);                                           \
    } while (0)

#define ASSERT_BASE(a, op, b, type, fmt)                                                           \
    do {                                                                                           \
        type eval_a_ = (type)(a);                                                                  \
        type eval_b_ = (type)(b);                                                                  \
        if (!(eval_a_ op eval_b_))                                                                 \
            TEST_FAIL_AT("assertion failed: %s %s %s (" fmt " %s " fmt ")", #a, #op, #b, eval_a_,  \
                         #op, eval_b_);                                                            \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_BASE(a, ==, b, int64_t, "%" PRId64)
#define ASSERT_NE(a, b) ASSERT_BASE(a, !=, b, int64_t, "%" PRId64)
#define ASSERT_GE(a, b) ASSERT_BASE(a, >=, b, int64_t, "%" PRId64)
#define ASSERT_GT(a, b) ASSERT_BASE(a, >, b, int64_t, "%" PRId64)
#define ASSERT_LE(a, b) ASSERT_BASE(a, <=, b, int64_t, "%" PRId64)
#define ASSERT_LT(a, b) ASSERT_BASE(a, <, b, int64_t, "%" PRId64)
#define ASSERT_UINT64_EQ(a, b) ASSERT_BASE(a, ==, b, uint64_t, "%" PRIu64)
#define ASSERT_UINT64_NE(a, b) ASSERT_BASE(a, !=, b, uint64_t, "%" PRIu64)
#define ASSERT_NULL(a) ASSERT_BASE(a, ==, NULL, const void *, "%p")
#define ASSERT_NOT_NULL(a) ASSERT_BASE(a, !=, NULL, const void *, "%p")

#define ASSERT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *sa_ = (a), *sb_ = (b);                                                         \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0)                                   \
            TEST_FAIL_AT("assertion failed: %s == %s (\"%s\" == \"%s\")", #a, #b,                  \
                         sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                              \
    } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                                                     \
    do {                                                                                           \
        const unsigned char *ma_ = (const unsigned char *)(a);                                     \
        const unsigned char *mb_ = (const unsigned char *)(b);                                     \
        size_t mn_ = (n);                                                                          \
        for (size_t mi_ = 0; mi_ < mn_; mi_++)                                                     \
            if (ma_[mi_] != mb_[mi_])                                                              \
                TEST_FAIL_AT("memory differs at byte %zu of %zu: %s[%zu]=0x%02x %s[%zu]=0x%02x",   \
                             mi_, mn_, #a, mi_, ma_[mi_], #b, mi_, mb_[mi_]);                      \
    } while (0)

/* Helpers shared by tests (tests/helpers.c). */

/* Directory of the team's shared test data, or NULL when ../shared/data is absent.
 * FH_SHARED_DATA in the environment overrides the default location. */
const char *test_shared_data(void);

/* Path "<shared>/<rel>" in a static buffer; SKIPs the test with a clear message when the shared
 * folder or the file is missing. */
const char *test_shared_file(const char *rel);

/* A fresh private temporary directory for this test process (removed by the runner). */
const char *test_tmpdir(void);

/* Guard-page buffer: copies `len` bytes so that the last byte sits right before a PROT_NONE
 * page; any read past the end faults. Free with test_guard_free(). */
uint8_t *test_guard_copy(const void *data, size_t len);
void test_guard_free(uint8_t *p);

/* True when an executable named `tool` is on PATH. */
int test_have_tool(const char *tool);

/* Runs a shell command with its stdout captured into *out (malloc'd, NUL-terminated; out may
 * be NULL to drop it); stderr
 * goes to the test's output, shown when the test fails. Returns the exit status (-1 when it
 * did not exit normally). */
int test_run(const char *cmd, char **out);

/* test_run() of a printf-formatted command (at most 16 KiB); out may be NULL. */
int test_runf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* flowgen's traffic in a data directory: runs `flowgen ARGS --out PCAP` (ARGS a printf
 * format; flowgen's stderr dropped), then `flowhuntd --read PCAP -w DIR READ_OPTS --quiet`;
 * fails the test when either fails. */
void test_flowgen_store(const char *dir, const char *pcap, const char *read_opts,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The value of "key" in a one-line JSON object, unquoted ("" for null); 0 when absent. */
int test_json_str(const char *line, const char *key, char *out, size_t cap);

/* One line of flowgen's ground truth (--truth): host and peer are an address or a prefix
 * ("10.0.0.0/16" for a look-alike of many hosts, "10.0.19.0/24" for a swept /24); technique is
 * "" for the benign look-alikes (scenario benign-*); detectable is 0 when sampling left the
 * case fewer than 20 records. */
typedef struct test_truth {
    char scenario[40], technique[16], host[64], peer[64], port[8]; /* port "" for none */
    int detectable;
} test_truth_t;

/* Reads at most cap truth lines; their count. */
int test_truth_read(const char *path, test_truth_t *c, int cap);

/* A Zeek conn.log of ../shared/data (rel) imported with `flowhunt import` into a fresh data
 * directory `name` under the test's temporary directory (skips when the file is absent);
 * returns the directory (static buffer). */
const char *test_import_zeek(const char *name, const char *rel);

/* `flowhunt import DIR --format zeek-conn LOG`, which must succeed. */
void test_zeek_import(const char *dir, const char *log);

/* A Zeek conn.log created at path with the header of the columns the hunts' tests write
 * (ts, uid, the 5-tuple, proto, duration, bytes, conn_state, packets and IP bytes each way);
 * the open file (the test writes the rows and closes it). */
FILE *test_zeek_conn_create(const char *path);

/* Path of a built program: $FH_BUILD/name, or build/name; fails the test when it is not
 * built. Two calls' results may be held at once. */
const char *test_bin(const char *name);

/* How many ms a sysUpTime time `t` lies before the export instant with sysUpTime `uptime`: the
 * record is in the past (up to the 49.7-day wrap) or ahead of its export by at most an hour of
 * clock jitter (negative). The tests' own statement of the rule, apart from the decoder's. */
int64_t test_uptime_behind(uint32_t uptime, uint32_t t);

/* Reads a whole file into malloc'd memory, followed by a NUL byte not counted in *out_len;
 * NULL on error. */
uint8_t *test_read_file(const char *path, size_t *out_len);

/* ms since the epoch as ISO 8601 UTC to the millisecond ("2024-03-01T12:00:00.000Z"), by
 * gmtime_r: the tests' reference, apart from the analyzer's own formatter. */
void test_iso(uint64_t ms, char out[32]);

/* Writes `text` as the whole of file `path`: 0, or -1 on error. */
int test_write_file(const char *path, const char *text);

#endif
