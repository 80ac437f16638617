/* helpers.c: the shared test helpers declared in task.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "task.h"

const char *test_shared_data(void)
{
    static char path[4096];
    const char *env = getenv("FH_SHARED_DATA");
    struct stat st;
    if (env && *env)
        snprintf(path, sizeof path, "%s", env);
    else
        snprintf(path, sizeof path, "../shared/data");
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return path;
}

const char *test_shared_file(const char *rel)
{
    static char path[4096];
    const char *dir = test_shared_data();
    struct stat st;
    if (!dir)
        SKIP("../shared/data is absent (set FH_SHARED_DATA to its location)");
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    if (stat(path, &st) != 0)
        SKIP("shared data file %s is missing", path);
    return path;
}

const char *test_tmpdir(void)
{
    const char *dir = getenv("FH_TEST_TMPDIR");
    if (!dir || !*dir)
        TEST_FAIL_AT("FH_TEST_TMPDIR unset: tests run only under tests/runner");
    return dir;
}

/* Live guard mappings, so test_guard_free() can unmap exactly what was mapped (and valgrind
 * sees no leak). A handful at a time is all a test needs. */
static struct {
    uint8_t *p, *base;
    size_t total;
} guard_maps[64];

uint8_t *test_guard_copy(const void *data, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data_pages = (len + page - 1) / page;
    if (data_pages == 0)
        data_pages = 1;
    size_t total = (data_pages + 1) * page;
    uint8_t *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        TEST_FAIL_AT("mmap: %s", strerror(errno));
    uint8_t *guard = base + data_pages * page;
    if (mprotect(guard, page, PROT_NONE) != 0)
        TEST_FAIL_AT("mprotect: %s", strerror(errno));
    uint8_t *p = guard - len;
    if (len)
        memcpy(p, data, len);
    for (size_t i = 0; i < sizeof guard_maps / sizeof guard_maps[0]; i++) {
        if (!guard_maps[i].base) {
            guard_maps[i].p = p;
            guard_maps[i].base = base;
            guard_maps[i].total = total;
            return p;
        }
    }
    TEST_FAIL_AT("more than 64 live guard buffers: free some with test_guard_free()");
}

void test_guard_free(uint8_t *p)
{
    for (size_t i = 0; i < sizeof guard_maps / sizeof guard_maps[0]; i++) {
        if (guard_maps[i].base && guard_maps[i].p == p) {
            munmap(guard_maps[i].base, guard_maps[i].total);
            guard_maps[i].base = NULL;
            return;
        }
    }
    TEST_FAIL_AT("test_guard_free: %p is not a guard buffer", (void *)p);
}

int test_have_tool(const char *tool)
{
    const char *path = getenv("PATH");
    if (!path)
        return 0;
    char buf[4096];
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, tool);
        if (access(buf, X_OK) == 0)
            return 1;
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

void test_iso(uint64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char tmp[128];
    snprintf(tmp, sizeof tmp, "%04lld-%02d-%02dT%02d:%02d:%02d.%03uZ", (long long)tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
    size_t n = strlen(tmp) < 31 ? strlen(tmp) : 31;
    memcpy(out, tmp, n);
    out[n] = '\0';
}

int test_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) < 0 ? -1 : 0;
    return fclose(f) != 0 ? -1 : rc;
}

uint8_t *test_read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[len] = 0; /* the loop always leaves room: callers may treat it as a string */
        *out_len = len;
    }
    return buf;
}

int test_run(const char *cmd, char **out)
{
    char path[4096], full[8192];
    snprintf(path, sizeof path, "%s/run.out", test_tmpdir());
    snprintf(full, sizeof full, "%s >%s", cmd, path);
    int rc = system(full);
    size_t len = 0;
    uint8_t *buf = test_read_file(path, &len);
    if (!buf)
        TEST_FAIL_AT("cannot read the output of: %s", cmd);
    char *s = realloc(buf, len + 1);
    if (!s)
        TEST_FAIL_AT("out of memory");
    s[len] = '\0';
    if (out)
        *out = s;
    else
        free(s);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const char *test_bin(const char *name)
{
    static char path[2][512];
    static int k;
    const char *build = getenv("FH_BUILD");
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", build && *build ? build : "build", name);
    if (access(path[k], X_OK) != 0)
        TEST_FAIL_AT("%s is not built (make %s)", path[k], path[k]);
    return path[k];
}

int64_t test_uptime_behind(uint32_t uptime, uint32_t t)
{
    uint32_t back = uptime - t, ahead = t - uptime;
    return ahead <= 3600000u ? -(int64_t)ahead : (int64_t)back;
}

/* fmt with ap into out[cap]: the test fails when it is empty or does not fit. */
static void test_vformat(char *out, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(out, cap, fmt, ap);
    if (n <= 0 || (size_t)n >= cap)
        TEST_FAIL_AT("command or arguments too long or empty (%d bytes)", n);
}

int test_runf(char **out, const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    test_vformat(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return test_run(cmd, out);
}

void test_flowgen_store(const char *dir, const char *pcap, const char *read_opts,
                        const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    test_vformat(args, sizeof args, fmt, ap);
    va_end(ap);
    if (test_runf(NULL, "%s %s --out %s 2>/dev/null", test_bin("flowgen"), args, pcap) != 0)
        TEST_FAIL_AT("flowgen %s --out %s failed", args, pcap);
    if (test_runf(NULL, "%s --read %s -w %s %s --quiet", test_bin("flowhuntd"), pcap, dir,
                  read_opts) != 0)
        TEST_FAIL_AT("flowhuntd --read %s -w %s %s failed", pcap, dir, read_opts);
}

int test_json_str(const char *line, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        return 0;
    p += strlen(pat);
    if (strncmp(p, "null", 4) == 0) {
        out[0] = '\0';
        return 1;
    }
    if (*p == '"') {
        p++;
        size_t n = strcspn(p, "\"");
        if (n >= cap)
            n = cap - 1;
        memcpy(out, p, n);
        out[n] = '\0';
        return 1;
    }
    size_t n = strcspn(p, ",}");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

int test_truth_read(const char *path, test_truth_t *c, int cap)
{
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    if (!text)
        TEST_FAIL_AT("cannot read the truth file %s", path);
    int n = 0;
    char *sv = NULL;
    for (char *line = strtok_r(text, "\n", &sv); line && n < cap;
         line = strtok_r(NULL, "\n", &sv)) {
        char det[8];
        ASSERT(test_json_str(line, "scenario", c[n].scenario, sizeof c[n].scenario));
        ASSERT(test_json_str(line, "technique", c[n].technique, sizeof c[n].technique));
        ASSERT(test_json_str(line, "host", c[n].host, sizeof c[n].host));
        ASSERT(test_json_str(line, "peer", c[n].peer, sizeof c[n].peer));
        ASSERT(test_json_str(line, "port", c[n].port, sizeof c[n].port));
        ASSERT(test_json_str(line, "detectable", det, sizeof det));
        c[n].detectable = strcmp(det, "true") == 0;
        n++;
    }
    free(text);
    return n;
}

void test_zeek_import(const char *dir, const char *log)
{
    ASSERT_EQ(test_runf(NULL, "%s import %s --format zeek-conn %s 2>/dev/null",
                        test_bin("flowhunt"), dir, log),
              0);
}

FILE *test_zeek_conn_create(const char *path)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
          "proto\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\torig_ip_bytes\t"
          "resp_pkts\tresp_ip_bytes\n",
          f);
    return f;
}

const char *test_import_zeek(const char *name, const char *rel)
{
    static char dir[700];
    const char *log = test_shared_file(rel);
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    test_zeek_import(dir, log);
    return dir;
}
