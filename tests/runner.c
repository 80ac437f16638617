/* runner.c: runs every test of test_list.h, each in its own process with a timeout.
 *
 * A test's stdout and stderr go to a file that the runner prints only when the test fails, so a
 * passing run stays readable. Each test gets a private temporary directory (FH_TEST_TMPDIR)
 * that the runner removes afterwards: tests write nowhere else. The last line is always
 * "N passed, N failed, N skipped", which CI reads.
 *
 * Usage: runner [--list] [NAME_SUBSTRING...]
 * Environment: FH_TEST_TIMEOUT (seconds per test, default 120).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "task.h"

#define TEST_ENTRY(name) TEST_DECLARE(name)
#include "test_list.h"
#undef TEST_ENTRY

typedef struct {
    const char *name;
    int (*fn)(void);
} runner_test_t;

static const runner_test_t runner_tests[] = {
#define TEST_ENTRY(name) {#name, run_test_##name},
#include "test_list.h"
#undef TEST_ENTRY
};

enum { RUNNER_PASS, RUNNER_FAIL, RUNNER_SKIP };

static void runner_rmtree(const char *dir)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--", dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void runner_dump(int fd, const char *prefix)
{
    char buf[4096];
    ssize_t n;
    int at_line_start = 1;
    lseek(fd, 0, SEEK_SET);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (at_line_start)
                fputs(prefix, stdout);
            putchar(buf[i]);
            at_line_start = buf[i] == '\n';
        }
    }
    if (!at_line_start)
        putchar('\n');
}

/* A passing test's own figures: the lines of its output that start with "# " (precision and
 * recall of the hunts, bytes per flow, ...), shown above its "ok" line; the rest of a passing
 * test's output stays hidden. */
static void runner_figures(int fd)
{
    char buf[8192];
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof buf - 1);
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (line[0] == '#' && line[1] == ' ')
            printf("    %s\n", line);
        line = nl ? nl + 1 : NULL;
    }
}

/* First line of a skipped test's output, which holds its "SKIP: reason". */
static void runner_skip_reason(int fd, char *out, size_t cap)
{
    char buf[4096];
    ssize_t n;
    lseek(fd, 0, SEEK_SET);
    n = read(fd, buf, sizeof buf - 1);
    out[0] = '\0';
    if (n <= 0)
        return;
    buf[n] = '\0';
    char *s = strstr(buf, "SKIP: ");
    if (!s)
        return;
    s += 6;
    size_t len = strcspn(s, "\n");
    if (len >= cap)
        len = cap - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

static int runner_run_one(const runner_test_t *t, int timeout_s, char *why, size_t why_cap)
{
    char tmpl[] = "/tmp/flowhunt-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    char outpath[sizeof tmpl + 16];
    if (!dir) {
        snprintf(why, why_cap, "mkdtemp: %s", strerror(errno));
        return RUNNER_FAIL;
    }
    snprintf(outpath, sizeof outpath, "%s/.output", dir);
    int fd = open(outpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        snprintf(why, why_cap, "open output: %s", strerror(errno));
        runner_rmtree(dir);
        return RUNNER_FAIL;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        setenv("FH_TEST_TMPDIR", dir, 1);
        setpgid(0, 0); /* so a timeout also kills what the test started */
        int rc = t->fn();
        fflush(stdout);
        fflush(stderr);
        _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0) {
        snprintf(why, why_cap, "fork: %s", strerror(errno));
        close(fd);
        runner_rmtree(dir);
        return RUNNER_FAIL;
    }
    setpgid(pid, pid);

    int status = 0, timed_out = 0;
    struct timespec start, now, nap = {0, 2 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= timeout_s) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timed_out = 1;
            break;
        }
        nanosleep(&nap, NULL);
        if (nap.tv_nsec < 50 * 1000 * 1000)
            nap.tv_nsec *= 2;
    }
    /* Reap anything the test left running in its process group. */
    kill(-pid, SIGKILL);

    int result;
    why[0] = '\0';
    if (timed_out) {
        snprintf(why, why_cap, "timed out after %d s", timeout_s);
        result = RUNNER_FAIL;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        result = RUNNER_PASS;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP_CODE) {
        runner_skip_reason(fd, why, why_cap);
        result = RUNNER_SKIP;
    } else if (WIFSIGNALED(status)) {
        snprintf(why, why_cap, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
        result = RUNNER_FAIL;
    } else {
        snprintf(why, why_cap, "exit status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        result = RUNNER_FAIL;
    }
    if (result == RUNNER_FAIL)
        runner_dump(fd, "#   ");
    else if (result == RUNNER_PASS)
        runner_figures(fd);
    close(fd);
    runner_rmtree(dir);
    return result;
}

static int runner_selected(const char *name, int argc, char **argv)
{
    int any = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        any = 1;
        if (strstr(name, argv[i]))
            return 1;
    }
    return !any;
}

int main(int argc, char **argv)
{
    size_t n_tests = sizeof runner_tests / sizeof runner_tests[0];
    int timeout_s = 120;
    const char *env = getenv("FH_TEST_TIMEOUT");
    if (env && atoi(env) > 0)
        timeout_s = atoi(env);

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            for (size_t k = 0; k < n_tests; k++)
                printf("%s\n", runner_tests[k].name);
            return 0;
        }
    }

    /* Tests that exec build products find them relative to the repository root. */
    int n_pass = 0, n_fail = 0, n_skip = 0, idx = 0;
    char why[512];
    for (size_t k = 0; k < n_tests; k++) {
        const runner_test_t *t = &runner_tests[k];
        if (!runner_selected(t->name, argc, argv))
            continue;
        idx++;
        switch (runner_run_one(t, timeout_s, why, sizeof why)) {
        case RUNNER_PASS:
            n_pass++;
            printf("ok %d - %s\n", idx, t->name);
            break;
        case RUNNER_SKIP:
            n_skip++;
            printf("ok %d - %s # SKIP %s\n", idx, t->name, why);
            break;
        default:
            n_fail++;
            printf("not ok %d - %s # %s\n", idx, t->name, why);
            break;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
    return n_fail ? 1 : 0;
}
