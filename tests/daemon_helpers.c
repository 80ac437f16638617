/* daemon_helpers.c: starting, feeding, stopping flowhuntd and counting what it stored, for the
 * tests that run the real daemon (see daemon_helpers.h). */
#include "daemon_helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "seg.h"
#include "task.h"

void td_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts flowhuntd with extra arguments; waits (at most 10 s) for its ready file. */
void td_start(td_daemon_t *d, const char *extra)
{
    snprintf(d->ready, sizeof d->ready, "%s/ready", d->dir);
    snprintf(d->log, sizeof d->log, "%s/flowhuntd.log", d->dir);
    unlink(d->ready);
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "exec %s -l 127.0.0.1:0 -w %s --instance test --ready-file %s --stats-interval 1 "
             "%s 2>>%s",
             test_bin("flowhuntd"), d->dir, d->ready, extra, d->log);
    d->pid = fork();
    ASSERT_GE(d->pid, 0);
    if (d->pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(d->ready, "r");
        if (f) {
            char line[128];
            int ok = fgets(line, sizeof line, f) != NULL;
            fclose(f);
            char *colon = ok ? strrchr(line, ':') : NULL;
            ASSERT_NOT_NULL(colon);
            d->port = atoi(colon + 1);
            ASSERT_GT(d->port, 0);
            return;
        }
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid)
            TEST_FAIL_AT("flowhuntd exited before it was ready (see %s)", d->log);
        td_sleep_ms(10);
    }
    kill(d->pid, SIGKILL);
    TEST_FAIL_AT("flowhuntd not ready within 10 s");
}

/* SIGTERM, and the exit status (bounded wait). */
int td_stop(td_daemon_t *d)
{
    return td_stop_signals(d, 0);
}

int td_stop_signals(td_daemon_t *d, int again)
{
    kill(d->pid, SIGTERM);
    for (int i = 0; i < again; i++) {
        td_sleep_ms(4);
        kill(d->pid, i % 2 ? SIGHUP : SIGTERM);
    }
    for (int i = 0; i < 1500; i++) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        td_sleep_ms(10);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    TEST_FAIL_AT("flowhuntd did not stop within 15 s of SIGTERM");
}

typedef struct td_send {
    int fd;
    struct sockaddr_in to;
    int sent, max;
    int skip; /* datagrams to leave out at the start */
    int seen;
} td_send_t;

static void td_on_dgram(void *arg, const cap_dgram_t *dg)
{
    td_send_t *s = arg;
    if (s->seen++ < s->skip || (s->max && s->sent >= s->max))
        return;
    ssize_t n = sendto(s->fd, dg->payload, dg->len, 0, (struct sockaddr *)&s->to, sizeof s->to);
    ASSERT_EQ(n, (ssize_t)dg->len);
    s->sent++;
    /* pace a little so the loopback socket buffer never overflows in the test */
    if (s->sent % 64 == 0)
        td_sleep_ms(1);
}

/* Sends the UDP payloads of a capture to the daemon; returns how many. */
int td_send_capture(const td_daemon_t *d, const char *pcap, int skip, int max)
{
    td_send_t s = {.skip = skip, .max = max};
    s.fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(s.fd, 0);
    s.to.sin_family = AF_INET;
    s.to.sin_port = htons((uint16_t)d->port);
    s.to.sin_addr.s_addr = htonl(0x7f000001);
    ASSERT_EQ(cap_read_dgrams(pcap, td_on_dgram, &s, NULL, NULL, NULL), 0);
    close(s.fd);
    return s.sent;
}

/* Counts the flows stored under dir, and sums their bytes. */
uint64_t td_count(const char *dir, uint64_t *bytes_sum)
{
    return td_count_from(dir, NULL, bytes_sum);
}

uint64_t td_count_from(const char *dir, const flow_addr_t *exporter, uint64_t *bytes_sum)
{
    char **paths = NULL;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    ASSERT_GE(n, 0);
    uint64_t rows = 0, bytes = 0;
    for (int i = 0; i < n; i++) {
        seg_file_t *f;
        seg_where_t where;
        if (seg_open(paths[i], &f, &where) != 0)
            TEST_FAIL_AT("%s: %s at offset %llu", paths[i], seg_strerror(where.code),
                         (unsigned long long)where.offset);
        for (uint32_t g = 0; g < seg_n_groups(f); g++) {
            seg_batch_t b;
            seg_batch_init(&b);
            ASSERT_EQ(seg_batch_open(&b, f, g, &where), 0);
            ASSERT_EQ(seg_batch_load(&b, FLOW_COL_bytes, &where), 0);
            const uint64_t *v = b.vals[FLOW_COL_bytes];
            const flow_addr_t *from = NULL;
            if (exporter) {
                ASSERT_EQ(seg_batch_load(&b, FLOW_COL_exporter, &where), 0);
                from = b.vals[FLOW_COL_exporter];
            }
            for (uint32_t r = 0; r < b.n_rows; r++) {
                if (from && memcmp(from[r].b, exporter->b, 16) != 0)
                    continue;
                bytes += v[r];
                rows++;
            }
            seg_batch_free(&b);
        }
        seg_close(f);
    }
    seg_dir_list_free(paths, n);
    if (bytes_sum)
        *bytes_sum = bytes;
    return rows;
}

void td_init(td_daemon_t *d, const char *name)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "%s/%s", test_tmpdir(), name);
    ASSERT_EQ(mkdir(d->dir, 0755), 0);
}
