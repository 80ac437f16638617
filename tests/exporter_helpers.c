/* exporter_helpers.c: a real exporter over loopback, its datagrams into a pcap (see
 * exporter_helpers.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exporter_helpers.h"
#include "flow.h"
#include "task.h"

/* ---- the exporter, its process group, and the datagrams it sends ---- */

volatile sig_atomic_t tex_pgid; /* exporter's process group while it may live */

void tex_on_abort(int sig)
{
    (void)sig;
    if (tex_pgid > 0)
        kill(-tex_pgid, SIGKILL); /* async-signal-safe; abort() then proceeds */
}

uint64_t tex_now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *tex_path(const char *name)
{
    static char path[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", test_tmpdir(), name);
    return path[k];
}

/* Full path of an executable on PATH or in the sbin directories (where Debian installs both
 * exporters, often not on a user's PATH); NULL when absent. */
const char *tex_find_tool(const char *tool)
{
    static char buf[1024];
    const char *env = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/local/sbin:/usr/sbin:/sbin", env ? env : "");
    char *save = NULL;
    for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(buf, sizeof buf, "%s/%s", d, tool);
        if (access(buf, X_OK) == 0)
            return buf;
    }
    return NULL;
}

/* Starts argv[0] (a full path) in a new process group, stdin from /dev/null, stdout and stderr
 * into files of the test's directory. */
pid_t tex_spawn(char *const argv[])
{
    pid_t parent = getpid();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the runner's SIGKILL on timeout reaches us */
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open(tex_path("exporter.out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(tex_path("exporter.err"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0)
            _exit(127);
        dup2(in, STDIN_FILENO);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    tex_pgid = pid;
    return pid;
}

void tex_dump_file(const char *label, const char *path)
{
    size_t len = 0;
    uint8_t *buf = test_read_file(path, &len);
    if (!buf)
        return;
    fprintf(stderr, "---- %s (last %zu bytes) ----\n%.*s\n", label, len > 4000 ? 4000 : len,
            (int)(len > 4000 ? 4000 : len), (const char *)buf + (len > 4000 ? len - 4000 : 0));
    free(buf);
}

/* Receives until every process the exporter started has exited and the socket is drained, each
 * datagram written to the pcap with its arrival time. Returns the datagram count; the direct
 * child's wait status goes to *status. */
size_t tex_collect(int sock, uint16_t port, pid_t child, pcapw_t *w, pcapw_t *w_ts,
                          int *status)
{
    static uint8_t buf[65536];
    flow_addr_t lo;
    flow_addr_from_v4(&lo, INADDR_LOOPBACK);
    uint64_t deadline = tex_now_ns(CLOCK_MONOTONIC) + (uint64_t)TEX_DEADLINE_MS * 1000000u;
    size_t n = 0;
    int gone = 0;
    *status = -1;
    for (;;) {
        if (!gone) {
            int st;
            pid_t r;
            while ((r = waitpid(-1, &st, WNOHANG)) > 0)
                if (r == child)
                    *status = st;
            /* Loopback delivery happens inside sendto(): once no sender is left, whatever
             * they sent is already queued on our socket. */
            if (r < 0 && errno == ECHILD) {
                gone = 1;
                tex_pgid = 0;
            }
        }
        struct pollfd pfd = {.fd = sock, .events = POLLIN};
        int pr = poll(&pfd, 1, gone ? 0 : 20);
        ASSERT(pr >= 0 || errno == EINTR);
        if (pr == 0 && gone)
            return n;
        for (;;) {
            struct sockaddr_in from;
            socklen_t flen = sizeof from;
            ssize_t len =
                recvfrom(sock, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
            if (len < 0) {
                ASSERT(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
                break;
            }
            if (++n > TEX_MAX_DATAGRAMS)
                TEST_FAIL_AT("more than %d datagrams: exporter runaway", TEX_MAX_DATAGRAMS);
            ASSERT_EQ(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
            uint64_t now = tex_now_ns(CLOCK_REALTIME);
            uint16_t sport = ntohs(from.sin_port);
            ASSERT_EQ(pcapw_udp(w, now, &lo, sport, &lo, port, buf, (size_t)len), 0);
            /* tshark stops a v9 packet once it has dissected the header's Count records
             * (RFC 3954 section 5.1: templates, options and data records together); softflowd
             * counts only its flow records there, so tshark's copy says 65535 and tshark reads
             * every FlowSet the datagram holds, as flowhuntd does. */
            if (len >= 20 && buf[0] == 0 && buf[1] == 9)
                buf[2] = buf[3] = 0xff;
            ASSERT_EQ(pcapw_udp(w_ts, now, &lo, sport, &lo, port, buf, (size_t)len), 0);
        }
        if (!gone && tex_now_ns(CLOCK_MONOTONIC) > deadline) {
            kill(-child, SIGKILL);
            while (waitpid(-1, NULL, 0) > 0)
                ;
            tex_pgid = 0;
            tex_dump_file("exporter stderr", tex_path("exporter.err"));
            TEST_FAIL_AT("exporter still running after %d ms (%zu datagrams): killed",
                         TEX_DEADLINE_MS, n);
        }
    }
}

/* pmacctd 1.7.7 exits 1 when its nfprobe plugin, having exported every flow and shut down as
 * asked at the end of the savefile, is gone before the core notices ("connection lost ...; no
 * more plugins active"): a race of its own shutdown, seen under ASan's load. The flows the
 * test compares are all sent by then, so that exit is accepted and said. */
static int tex_pmacctd_race(const tex_case_t *c, int status)
{
    if (c->tool != TEX_PMACCTD || WEXITSTATUS(status) != 1)
        return 0;
    size_t len;
    char *err = (char *)test_read_file(tex_path("exporter.err"), &len);
    int race = err && strstr(err, "Shutting down on user request") &&
               strstr(err, "no more plugins active");
    free(err);
    if (race)
        printf("# pmacctd exited 1 after its plugin's normal shutdown (its own race): accepted\n");
    return race;
}

/* Runs the exporter of `c` on `capture`, exporting to a fresh loopback port; the datagrams end
 * up in `pcap_path`. Returns the port and the datagram count. */
uint16_t tex_export(const tex_case_t *c, const char *tool, const char *capture,
                           const char *pcap_path, const char *tshark_pcap_path, size_t *n_dgrams)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock, 0);
    int rcvbuf = TEX_RCVBUF;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ(bind(sock, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t salen = sizeof sa;
    ASSERT_EQ(getsockname(sock, (struct sockaddr *)&sa, &salen), 0);
    uint16_t port = ntohs(sa.sin_port);
    ASSERT_NE(port, 0);

    char dest[64], ver[8];
    snprintf(dest, sizeof dest, "127.0.0.1:%u", port);
    snprintf(ver, sizeof ver, "%d", c->version);
    char pidfile[1024], conf[1024];
    snprintf(pidfile, sizeof pidfile, "%s", tex_path("softflowd.pid"));
    snprintf(conf, sizeof conf, "%s", tex_path("pmacctd.conf"));
    char *sf_argv[] = {(char *)tool, "-a", "-r", (char *)capture, "-n", dest, "-v",
                       ver,          "-d", "-p", pidfile,         NULL, NULL, NULL};
    if (c->opt) {
        sf_argv[11] = (char *)c->opt;
        sf_argv[12] = (char *)c->opt_arg;
    }
    char *pm_argv[] = {(char *)tool, "-f", conf, NULL};
    if (c->tool == TEX_PMACCTD) {
        /* The plugin expires every flow when the core tells it the savefile has ended. */
        FILE *f = fopen(conf, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f,
                "daemonize: false\n"
                "pcap_savefile: %s\n"
                "pcap_savefile_wait: false\n"
                "plugins: nfprobe\n"
                "nfprobe_receiver: %s\n"
                "nfprobe_version: %d\n",
                capture, dest, c->version);
        ASSERT_EQ(fclose(f), 0);
    }
    char *const *argv = c->tool == TEX_PMACCTD ? pm_argv : sf_argv;
    printf("exporter:");
    for (int i = 0; argv[i]; i++)
        printf(" %s", argv[i]);
    printf("\n");
    if (c->tool == TEX_PMACCTD)
        tex_dump_file("pmacctd.conf", conf);
    fflush(stdout);

    /* The files are opened after the fork so the exporter holds no descriptor of them; what
     * it sends meanwhile waits on the socket. */
    pid_t child = tex_spawn(argv);
    pcapw_t w, w_ts;
    ASSERT_EQ(pcapw_open(&w, pcap_path), 0);
    ASSERT_EQ(pcapw_open(&w_ts, tshark_pcap_path), 0);
    int status;
    *n_dgrams = tex_collect(sock, port, child, &w, &w_ts, &status);
    close(sock);
    ASSERT_EQ(pcapw_close(&w), 0);
    ASSERT_EQ(pcapw_close(&w_ts), 0);
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && !tex_pmacctd_race(c, status))) {
        tex_dump_file("exporter stderr", tex_path("exporter.err"));
        TEST_FAIL_AT("exporter wait status %d", status);
    }
    return port;
}

/* softflowd -r prints "Flows exported: F (R records) in P packets (0 failures)". */
void tex_softflowd_stats(uint64_t *records, uint64_t *packets)
{
    size_t len = 0;
    char *out = (char *)test_read_file(tex_path("exporter.out"), &len);
    ASSERT_NOT_NULL(out);
    char *s = memmem(out, len, "Flows exported: ", 16);
    unsigned long long f, r, p, fail;
    if (!s || sscanf(s, "Flows exported: %llu (%llu records) in %llu packets (%llu failures)", &f,
                     &r, &p, &fail) != 4)
        TEST_FAIL_AT("softflowd printed no export statistics");
    ASSERT_EQ(fail, 0);
    *records = r;
    *packets = p;
    free(out);
}
