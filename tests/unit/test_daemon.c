/* test_daemon.c: flowhuntd as a service, end to end on loopback.
 *
 * Each test starts the real binary on 127.0.0.1 port 0 (the kernel picks a free port; 2055
 * and 4739 may be taken by a packaged nfcapd), waits for its ready file (never a fixed
 * sleep), sends datagrams taken from a capture over UDP, stops it with SIGTERM and reads
 * back what it stored through the segment reader. Covered: everything sent is stored and
 * decodes as `flowhuntd --read` decodes the same capture; templates survive a restart (data
 * sent to a restarted daemon without a new template is decoded); the allow-list refuses and
 * counts; the Prometheus text file names the counters; SIGTERM exits 0; what the kernel
 * drops on a full socket buffer is counted, so nothing is lost silently; what waits in the
 * socket at SIGTERM is stored; a second daemon of
 * a live instance is refused and leaves the live one's counters alone; --user works on a
 * fresh data directory owned by that user; flows lost to a full disk are logged and make
 * the exit status 1; a restart with fewer workers recovers what the others left.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include "daemon_helpers.h"
#include "seg.h"
#include "task.h"

TEST_IMPL(daemon_stores_what_it_receives)
{
    td_daemon_t d;
    td_init(&d, "store");
    td_start(&d, "");
    int sent = td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 0);
    ASSERT_EQ(sent, 446);
    /* the counters file shows every datagram arrived before we stop */
    char prom[1200], *out = NULL;
    snprintf(prom, sizeof prom, "%s/state/test/flowhuntd.prom", d.dir);
    int arrived = 0;
    uint64_t at_workers = 0;
    for (int i = 0; i < 500 && !arrived; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "cat %s 2>/dev/null", prom);
        test_run(cmd, &out);
        arrived = strstr(out, "flowhunt_listener_datagrams_total{listener=\"127.0.0.1:") &&
                  strstr(out, "} 446\n");
        /* the workers' lines of the same file: asked to publish before it is written, so
         * they are not an interval behind the listener's (they were: 0 of 446) */
        for (const char *p = out; arrived && (p = strstr(p, "\nflowhunt_datagrams_total{"));)
            at_workers += strtoull(strchr(p, '}') + 1, (char **)&p, 10);
        free(out);
        if (!arrived)
            td_sleep_ms(20);
    }
    ASSERT(arrived);
    ASSERT_UINT64_EQ(at_workers, 446);
    /* signals while it stops (timeout signals the child, then its group) are ignored: they
     * killed it with the last row group unstored */
    ASSERT_EQ(td_stop_signals(&d, 4), 0);
    /* the ready file names ports now closed: gone, or a script waiting for it after a
     * restart would read the stopped daemon's ports */
    ASSERT_NE(access(d.ready, F_OK), 0);
    uint64_t bytes = 0;
    ASSERT_UINT64_EQ(td_count(d.dir, &bytes), 1000);
    /* the same flows as flowhuntd --read decodes from the capture: compare the byte sums */
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s --read tests/golden/v5_small.pcap --print csv --quiet | "
             "awk -F, 'NR>1{s+=$10} END{print s}'",
             test_bin("flowhuntd"));
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_UINT64_EQ(bytes, strtoull(out, NULL, 10));
    free(out);
    /* the segments carry the exporter counters: flowhunt exporters adds them up */
    snprintf(cmd, sizeof cmd,
             "%s exporters %s | awk '$1 == \"127.0.0.1\" { d += $4; f += $5; l += $6 } "
             "END { print d, f, l }'",
             test_bin("flowhunt"), d.dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_STR_EQ(out, "446 1000 0\n");
    free(out);
    /* the log says where it listened and that it stopped cleanly */
    snprintf(cmd, sizeof cmd, "cat %s", d.log);
    test_run(cmd, &out);
    ASSERT_NOT_NULL(strstr(out, "listening on 127.0.0.1:"));
    ASSERT_NOT_NULL(strstr(out, "SIGTERM: stopping"));
    free(out);
    return 0;
}

/* Templates survive a restart: the first daemon sees only the template datagrams of a v9
 * capture, the second only its data. */
TEST_IMPL(daemon_templates_survive_restart)
{
    const char *pcap = test_shared_file("netflow/logstash-codec-netflow/nf9_cisco_asa_1.pcap");
    td_daemon_t d;
    td_init(&d, "restart");
    td_start(&d, "");
    ASSERT_EQ(td_send_capture(&d, pcap, 0, 1), 1); /* the template datagram */
    td_sleep_ms(300); /* let the worker take it before the stop (the stop drains anyway) */
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 0);
    td_start(&d, "");
    ASSERT_EQ(td_send_capture(&d, pcap, 1, 0), 1); /* the data datagram, no template */
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 14);
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "cat %s", d.log);
    test_run(cmd, &out);
    ASSERT_NOT_NULL(strstr(out, "templates restored"));
    free(out);
    return 0;
}

/* Data still waiting for its template when the daemon stops cannot be stored (the saved
 * state keeps templates only): the log says so, where only the last gauge did. */
TEST_IMPL(daemon_held_data_at_stop_logged)
{
    const char *pcap = test_shared_file("netflow/logstash-codec-netflow/nf9_cisco_asa_1.pcap");
    td_daemon_t d;
    td_init(&d, "heldstop");
    td_start(&d, "");
    ASSERT_EQ(td_send_capture(&d, pcap, 1, 0), 1); /* the data datagram, its template never */
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 0);
    size_t len;
    char *out = (char *)test_read_file(d.log, &len); /* NUL-terminated */
    ASSERT_NOT_NULL(out);
    ASSERT_NOT_NULL(strstr(out, "still waited for their templates: not stored"));
    free(out);
    return 0;
}

TEST_IMPL(daemon_allow_list)
{
    td_daemon_t d;
    td_init(&d, "allow");
    td_start(&d, "--allow 10.0.0.0/8 --allow 2001:db8::/32");
    ASSERT_EQ(td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 20), 20);
    td_sleep_ms(200);
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 0);
    char cmd[2048], *out;
    snprintf(cmd, sizeof cmd, "cat %s/state/test/flowhuntd.prom", d.dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_NOT_NULL(strstr(out, "cause=\"allow_list\"} 20\n"));
    free(out);
    return 0;
}

/* Datagrams the kernel drops because the socket buffer is full are counted as kernel-buffer
 * drops: with the daemon stopped (SIGSTOP) and the smallest buffer, a burst overflows it for
 * certain; every datagram sent is then either received or counted, including in the report
 * written after the socket is closed (the last reading is taken before). */
/* The listener's last log line: datagrams received, and dropped by the kernel. */
static void td_log_received(const td_daemon_t *d, unsigned long *got, unsigned long *dropped)
{
    char cmd[2048], *out;
    snprintf(
        cmd, sizeof cmd,
        "sed -n 's/.*: \\([0-9]*\\) datagrams; dropped: kernel buffer \\([0-9]*\\),.*/\\1 \\2/p' "
        "%s | tail -1",
        d->log);
    ASSERT_EQ(test_run(cmd, &out), 0);
    ASSERT_EQ(sscanf(out, "%lu %lu", got, dropped), 2);
    free(out);
}

/* --rcvbuf past net.core.rmem_max: as root (CAP_NET_ADMIN) the daemon forces the buffer it
 * was asked for (SO_RCVBUFFORCE) instead of warning that the kernel capped it. At 2.5 M
 * flows/s in 9000-byte datagrams, Debian's 4 MiB cap let 120-2,800 of 14,565 datagrams
 * overflow whenever the receive loop was preempted; forced, none did. */
TEST_IMPL(daemon_rcvbuf_past_rmem_max)
{
    if (geteuid() != 0)
        SKIP("not root: the buffer cannot be forced past net.core.rmem_max");
    char *out = NULL;
    ASSERT_EQ(test_run("cat /proc/sys/net/core/rmem_max", &out), 0);
    long long max = atoll(out);
    free(out);
    ASSERT_GT(max, 0);
    if (max > (1ll << 28))
        SKIP("net.core.rmem_max is already over 256 MiB: nothing to force past it");
    long long want = max * 4;
    td_daemon_t d;
    td_init(&d, "rcvbuf");
    char extra[64];
    snprintf(extra, sizeof extra, "--rcvbuf %lld", want);
    td_start(&d, extra);
    ASSERT_EQ(td_stop(&d), 0);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cat %s", d.log);
    ASSERT_EQ(test_run(cmd, &out), 0);
    printf("# rmem_max %lld, asked %lld\n", max, want);
    ASSERT_NULL(strstr(out, "the kernel caps it"));
    ASSERT_NOT_NULL(strstr(out, "listening on 127.0.0.1:"));
    free(out);
    return 0;
}

TEST_IMPL(daemon_kernel_drops_counted)
{
    td_daemon_t d;
    td_init(&d, "kdrops");
    td_start(&d, "--rcvbuf 4096");
    ASSERT_EQ(kill(d.pid, SIGSTOP), 0);
    int sent = td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 0);
    ASSERT_EQ(sent, 446);
    ASSERT_EQ(kill(d.pid, SIGCONT), 0);
    td_sleep_ms(300);
    ASSERT_EQ(td_stop(&d), 0);
    char cmd[2048], *out;
    unsigned long got = 0, dropped = 0;
    td_log_received(&d, &got, &dropped);
    ASSERT(dropped > 0);
    ASSERT_EQ(got + dropped, 446);
    /* v5_small carries 1000 flows in 446 datagrams: what was received was stored */
    ASSERT(td_count(d.dir, NULL) > 0);
    snprintf(cmd, sizeof cmd, "cat %s/state/test/flowhuntd.prom", d.dir);
    ASSERT_EQ(test_run(cmd, &out), 0);
    char want[128];
    snprintf(want, sizeof want, "cause=\"kernel_buffer\"} %lu\n", dropped);
    ASSERT_NOT_NULL(strstr(out, want));
    free(out);
    return 0;
}

/* A second daemon of a live instance is refused (its writers find the lock held), and leaves
 * the live one's files alone: it used to write its own empty counters over the live daemon's
 * flowhuntd.prom on its way out. The live daemon here writes its counters only when it stops,
 * so the file must not exist before then. */
/* Datagrams waiting in the socket's buffer at SIGTERM were received: stored, not discarded
 * with the socket. While the daemon is stopped, 4300 one-flow v5 datagrams queue up (more
 * than the loop reads in one turn, 64 x 64: it stored those and dropped the rest, counted
 * nowhere); then SIGTERM. Whatever the kernel's buffer took is stored; what it refused (a
 * host whose rmem_max is small) is counted as kernel drops: together, all that was sent. */
TEST_IMPL(daemon_stop_drains_socket)
{
    td_daemon_t d;
    td_init(&d, "drain");
    td_start(&d, "");
    ASSERT_EQ(kill(d.pid, SIGSTOP), 0);
    /* stopped indeed before the first datagram goes, or it reads some of them early */
    char stat_path[64], st[512];
    snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", (int)d.pid);
    for (int i = 0; i < 500; i++, td_sleep_ms(2)) {
        FILE *f = fopen(stat_path, "r");
        ASSERT_NOT_NULL(f);
        int ok = fgets(st, sizeof st, f) != NULL;
        fclose(f);
        const char *rp = ok ? strrchr(st, ')') : NULL;
        if (rp && rp[1] == ' ' && rp[2] == 'T')
            break;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    int sndbuf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
    to.sin_addr.s_addr = htonl(0x7f000001);
    enum { N = 4300 };
    for (uint32_t i = 0; i < N; i++) {
        uint8_t dg[24 + 48] = {0, 5, 0, 1}; /* v5 header, count 1; one record */
        dg[16] = (uint8_t)(i >> 24), dg[17] = (uint8_t)(i >> 16), dg[18] = (uint8_t)(i >> 8),
        dg[19] = (uint8_t)i;                                    /* flow sequence */
        memcpy(dg + 24, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8); /* 10.0.0.1 -> 10.0.0.2 */
        dg[24 + 19] = 1;                                        /* dPkts 1 */
        dg[24 + 23] = 100;                                      /* dOctets 100 */
        dg[24 + 38] = 6;                                        /* TCP */
        ASSERT_EQ(sendto(fd, dg, sizeof dg, 0, (struct sockaddr *)&to, sizeof to),
                  (ssize_t)sizeof dg);
    }
    close(fd);
    ASSERT_EQ(kill(d.pid, SIGTERM), 0);
    ASSERT_EQ(kill(d.pid, SIGCONT), 0);
    ASSERT_EQ(td_stop(&d), 0);
    unsigned long got = 0, dropped = 0;
    td_log_received(&d, &got, &dropped);
    ASSERT_EQ(got + dropped, N);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), got);
    return 0;
}

TEST_IMPL(daemon_refused_leaves_state)
{
    td_daemon_t d;
    td_init(&d, "refused");
    td_start(&d, "--stats-interval 3600");
    ASSERT_EQ(td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 0), 446);
    char prom[1200], *out;
    snprintf(prom, sizeof prom, "%s/state/test/flowhuntd.prom", d.dir);
    int rc = test_runf(&out, "{ timeout 10 %s -l 127.0.0.1:0 -w %s --instance test 2>&1; }",
                       test_bin("flowhuntd"), d.dir);
    ASSERT_EQ(rc, 1);
    ASSERT_NOT_NULL(strstr(out, "another writer holds this instance"));
    free(out);
    ASSERT_EQ(access(prom, F_OK), -1);
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_EQ(test_runf(&out, "cat %s", prom), 0);
    ASSERT_NOT_NULL(strstr(out, "flowhunt_listener_datagrams_total{listener=\"127.0.0.1:"));
    ASSERT_NOT_NULL(strstr(out, "} 446\n"));
    free(out);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 1000);
    return 0;
}

/* --user on a fresh data directory owned by that user, as contrib/flowhuntd.service runs it:
 * the daemon used to create DIR/state and DIR/state/NAME as root before dropping privileges,
 * so the workers could not create their own DIR/state/NAME-wN and it exited 1 with "read,
 * write, sync or rename failed (errno is kept)" and no errno. Now everything is created as
 * the user; and when a writer cannot open, the message names the folder and the errno. */
/* Waits (at most 5 s) until the file at path holds `want`; its text, malloc'd. */
static char *td_wait_for(const char *path, const char *want)
{
    for (int i = 0; i < 500; i++) {
        size_t len;
        char *text = (char *)test_read_file(path, &len);
        if (text && strstr(text, want))
            return text;
        free(text);
        td_sleep_ms(10);
    }
    TEST_FAIL_AT("%s: no \"%s\" within 5 s", path, want);
}

TEST_IMPL(daemon_log_reopened)
{
    /* logrotate's way: the log is moved away, SIGHUP, and the daemon writes a new one */
    td_daemon_t d;
    td_init(&d, "logrot");
    char logf[1200], moved[1300];
    snprintf(logf, sizeof logf, "%s/d.log", d.dir);
    snprintf(moved, sizeof moved, "%s.1", logf);
    char extra[1300];
    snprintf(extra, sizeof extra, "--log %s", logf);
    td_start(&d, extra);
    free(td_wait_for(logf, "listening"));
    ASSERT_EQ(rename(logf, moved), 0);
    ASSERT_EQ(kill(d.pid, SIGHUP), 0);
    free(td_wait_for(logf, "SIGHUP: log reopened"));
    ASSERT_EQ(td_stop(&d), 0);
    char *old = td_wait_for(moved, "listening");
    ASSERT_NULL(strstr(old, "SIGHUP")); /* the moved file got nothing after the signal */
    free(old);

    /* without --log there is no file: SIGHUP says so, not "log reopened" */
    td_daemon_t e;
    td_init(&e, "logstderr");
    td_start(&e, "");
    ASSERT_EQ(kill(e.pid, SIGHUP), 0);
    char *err = td_wait_for(e.log, "SIGHUP: ");
    ASSERT_NOT_NULL(strstr(err, "SIGHUP: no log file to reopen (logging to stderr; see --log)"));
    ASSERT_NULL(strstr(err, "log reopened"));
    free(err);
    ASSERT_EQ(td_stop(&e), 0);
    return 0;
}

TEST_IMPL(daemon_user_fresh_dir)
{
    if (geteuid() != 0)
        SKIP("needs root to drop privileges");
    struct passwd *pw = getpwnam("nobody");
    if (!pw)
        SKIP("no user 'nobody'");
    ASSERT_EQ(chmod(test_tmpdir(), 0755), 0); /* nobody must reach the data directory */
    td_daemon_t d;
    td_init(&d, "user");
    ASSERT_EQ(chown(d.dir, pw->pw_uid, pw->pw_gid), 0);
    td_start(&d, "--user nobody");
    ASSERT_EQ(td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 0), 446);
    td_sleep_ms(300); /* let the workers take the datagrams before the stop */
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 1000);
    char path[1200];
    struct stat st;
    snprintf(path, sizeof path, "%s/state/test/flowhuntd.prom", d.dir);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_uid, pw->pw_uid);

    /* DIR/state left to root (as the old daemon made it): the workers' folders cannot be
     * made, and the error says which and why */
    td_daemon_t e;
    td_init(&e, "user_state_root");
    ASSERT_EQ(chown(e.dir, pw->pw_uid, pw->pw_gid), 0);
    snprintf(path, sizeof path, "%s/state/test", e.dir);
    ASSERT_EQ(seg_dir_mkdirs(path), 0);
    ASSERT_EQ(chown(path, pw->pw_uid, pw->pw_gid), 0);
    char *out;
    int rc = test_runf(&out,
                       "{ timeout 10 %s -l 127.0.0.1:0 -w %s --instance test --user nobody "
                       "2>&1; }",
                       test_bin("flowhuntd"), e.dir);
    ASSERT_EQ(rc, 1);
    char want[1400];
    snprintf(want, sizeof want,
             "%s/state/test-w0: read, write, sync or rename failed (errno is "
             "kept): Permission denied",
             e.dir);
    if (!strstr(out, want))
        TEST_FAIL_AT("no '%s' in '%s'", want, out);
    free(out);
    return 0;
}

/* A full disk: DIR/flows is a tmpfs filled to the last byte (in a mount namespace of the
 * test's own; skipped where it may not mount). Every flow the daemon receives is dropped and
 * counted; the log must say so, with the file and the system's error, and the exit status
 * after SIGTERM must be 1. It used to log nothing (only a failed add was logged, and flows
 * are written by the worker's tick) and exit 0 after dropping every flow. */
TEST_IMPL(daemon_disk_full_exit_status)
{
    if (unshare(CLONE_NEWNS) != 0)
        SKIP("cannot make a mount namespace here (%s)", strerror(errno));
    if (mount("none", "/", "", MS_REC | MS_PRIVATE, NULL) != 0)
        SKIP("cannot make mounts private (%s)", strerror(errno));
    td_daemon_t d;
    td_init(&d, "full");
    char flows[1200], filler[1300];
    snprintf(flows, sizeof flows, "%s/flows", d.dir);
    ASSERT_EQ(mkdir(flows, 0755), 0);
    if (mount("tmpfs", flows, "tmpfs", 0, "size=64k") != 0)
        SKIP("cannot mount a tmpfs (%s)", strerror(errno));
    snprintf(filler, sizeof filler, "%s/filler", flows);
    int fd = open(filler, O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    static const char zeros[4096];
    while (write(fd, zeros, sizeof zeros) > 0)
        ;
    ASSERT_EQ(errno, ENOSPC);
    close(fd);
    td_start(&d, "--flush-ms 200");
    ASSERT_EQ(td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 0), 446);
    td_sleep_ms(300); /* let the workers take the datagrams before the stop */
    ASSERT_EQ(td_stop(&d), 1);
    char *out;
    ASSERT_EQ(test_runf(&out, "cat %s", d.log), 0);
    char want[1400];
    snprintf(want, sizeof want, ": %s/", flows);
    ASSERT_NOT_NULL(strstr(out, want)); /* the file */
    ASSERT_NOT_NULL(strstr(out, ": the disk is full: No space left on device\n"));
    ASSERT_NOT_NULL(strstr(out, "1000 flows were not stored (write errors, logged above): exit 1"));
    free(out);
    /* the counters agree: every flow dropped, none stored */
    ASSERT_EQ(test_runf(&out,
                        "awk '/^flowhunt_store_dropped_flows_total/ { d += $2 } "
                        "/^flowhunt_stored_flows_total/ { s += $2 } END { print d, s }' "
                        "%s/state/test/flowhuntd.prom",
                        d.dir),
              0);
    ASSERT_STR_EQ(out, "1000 0\n");
    free(out);
    umount(flows);
    return 0;
}

/* Sums the values of a counter over its series in the daemon's counters file. */
static uint64_t td_prom_sum(const td_daemon_t *d, const char *name)
{
    char *out;
    test_runf(&out,
              "awk '$1 ~ /^%s[{]/ { s += $2 } END { print s + 0 }' %s/state/test/flowhuntd.prom "
              "2>/dev/null",
              name, d->dir);
    uint64_t v = strtoull(out, NULL, 10);
    free(out);
    return v;
}

/* kill -9 with --workers 16, restart with --workers 1: the workers beyond the first left
 * temporary segments (their flows flushed, so durable) that no writer of theirs would ever
 * open again, and `flowhunt verify` said "all good" over a store missing those flows. Now
 * verify names them (exit 1) and the daemon's start recovers them. */
TEST_IMPL(daemon_workers_shrink_recovers)
{
    td_daemon_t d;
    td_init(&d, "shrink");
    /* --rotate 3600: a segment's interval ends on the wall clock's minute with the default 60,
     * and one ending between the flush and the kill renamed the segments this test needs
     * temporary (CI under ASan: 1000 finished segments' flows where 0 were expected) */
    td_start(&d, "--workers 16 --flush-ms 200 --rotate 3600");
    ASSERT_EQ(td_send_capture(&d, "tests/golden/v5_small.pcap", 0, 0), 446);
    /* every flow durable (flushed and counted), then the crash */
    for (int i = 0; i < 500 && td_prom_sum(&d, "flowhunt_stored_flows_total") < 1000; i++)
        td_sleep_ms(20);
    ASSERT_UINT64_EQ(td_prom_sum(&d, "flowhunt_stored_flows_total"), 1000);
    ASSERT_EQ(kill(d.pid, SIGKILL), 0);
    ASSERT_EQ(waitpid(d.pid, NULL, 0), d.pid);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 0); /* all of it in temporary segments */
    char *out;
    /* a worker beyond the first had flows (v5_small's two exporters, of 16 workers) */
    ASSERT_EQ(test_runf(&out, "find %s/flows -name '.fh-*-test-w[1-9]*-*.seg.tmp' | wc -l", d.dir),
              0);
    ASSERT_GT(atoi(out), 0);
    free(out);
    int rc = test_runf(&out, "{ %s verify %s 2>&1; }", test_bin("flowhunt"), d.dir);
    ASSERT_EQ(rc, 1);
    ASSERT_NOT_NULL(strstr(out, ": not recovered: a temporary segment of instance test-w"));
    ASSERT_NOT_NULL(strstr(out, "(flowhuntd --instance test)"));
    free(out);
    td_start(&d, "--workers 1");
    ASSERT_EQ(td_stop(&d), 0);
    ASSERT_UINT64_EQ(td_count(d.dir, NULL), 1000);
    ASSERT_EQ(test_runf(&out, "{ %s verify %s 2>&1; }", test_bin("flowhunt"), d.dir), 0);
    ASSERT_NOT_NULL(strstr(out, "all good"));
    free(out);
    ASSERT_EQ(test_runf(&out, "cat %s", d.log), 0);
    ASSERT_NOT_NULL(strstr(out, "of former worker test-w"));
    free(out);
    return 0;
}
