/* test_cli.c: the programs as a user runs them: --version, --help, and flowhuntd --read on a
 * capture the project made itself, compared with golden output (diff -u on failure). */
#include <limits.h>
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
    /* usage errors the daemon used to find only when starting (exit 1): a listen address
     * without a port; an instance whose workers' names (NAME-wN) would pass 32 characters */
    ASSERT_EQ(
        test_runf(&out, "{ %s -l 127.0.0.1 -w %s/d 2>&1; }", test_bin("flowhuntd"), test_tmpdir()),
        2);
    ASSERT_NOT_NULL(strstr(out, "-l '127.0.0.1': not ADDR:PORT"));
    free(out);
    /* an empty port or prefix length is no number: "127.0.0.1:" listened on a random port,
     * and "--allow 192.0.2.1/" allowed every IPv4 exporter (/0), found only at start */
    ASSERT_EQ(
        test_runf(&out, "{ %s -l 127.0.0.1: -w %s/d 2>&1; }", test_bin("flowhuntd"), test_tmpdir()),
        2);
    ASSERT_NOT_NULL(strstr(out, "-l '127.0.0.1:': not ADDR:PORT"));
    free(out);
    ASSERT_EQ(test_runf(&out, "{ %s -l 127.0.0.1:0 --allow 192.0.2.1/ -w %s/d 2>&1; }",
                        test_bin("flowhuntd"), test_tmpdir()),
              2);
    ASSERT_NOT_NULL(strstr(out, "--allow '192.0.2.1/': not ADDR or ADDR/BITS"));
    free(out);
    /* the daemon's options do nothing with --read: refused, not silently ignored (an --allow
     * that filtered no exporter out of the capture) */
    ASSERT_EQ(test_runf(&out, "{ %s --read tests/golden/v5_small.pcap --allow 10.0.0.0/8 2>&1; }",
                        test_bin("flowhuntd")),
              2);
    ASSERT_NOT_NULL(strstr(out, "--allow is the daemon's (with -l), not --read's"));
    free(out);
    /* and the other way round: --quiet with -l was accepted and did nothing (the daemon logs
     * its counters anyway); a --print format is checked for the daemon too */
    ASSERT_EQ(test_runf(&out, "{ timeout 10 %s -l 127.0.0.1:0 -w %s/d --print xml 2>&1; }",
                        test_bin("flowhuntd"), test_tmpdir()),
              2);
    ASSERT_NOT_NULL(strstr(out, "--print takes csv or json, not 'xml'"));
    free(out);
    ASSERT_EQ(test_runf(&out, "{ timeout 10 %s -q -l 127.0.0.1:0 -w %s/d 2>&1; }",
                        test_bin("flowhuntd"), test_tmpdir()),
              2);
    ASSERT_NOT_NULL(strstr(out, "--quiet is --read's, not the daemon's"));
    free(out);
    ASSERT_EQ(test_runf(&out, "{ %s -l 127.0.0.1:0 -w %s/d --instance %s 2>&1; }",
                        test_bin("flowhuntd"), test_tmpdir(), "abcdefghijabcdefghijabcdefghi"),
              2);
    ASSERT_NOT_NULL(strstr(out, "at most 28 characters for the daemon"));
    free(out);
    /* a daemon named as a worker of another (edge's worker 12) would write beside it */
    ASSERT_EQ(test_runf(&out, "{ %s -l 127.0.0.1:0 -w %s/d --instance edge-w12 2>&1; }",
                        test_bin("flowhuntd"), test_tmpdir()),
              2);
    ASSERT_NOT_NULL(strstr(out, "--instance 'edge-w12': ends as a worker's name (-wN)"));
    free(out);
    return 0;
}

/* Every long option a --help lists (at the start of an option line, or [--OPT] in the usage)
 * is one the command accepts: `flowhunt cat --help` listed "-v, --verbose" while cat
 * refused --verbose as an unrecognised option. Each is given alone, without a directory, so
 * that nothing runs: a usage error other than "unrecognized option" (getopt's, flowhuntd) or
 * "unknown option" (flowhunt's, cmd_getopt) is what is expected. */
TEST_IMPL(cli_help_options_accepted)
{
    static const char *const cmds[] = {
        "flowhunt cat",    "flowhunt top",    "flowhunt count",     "flowhunt verify",
        "flowhunt expire", "flowhunt import", "flowhunt exporters", "flowhunt audit",
        "flowhunt hunt",   "flowhunt ack",    "flowhunt acks",      "flowhunt unack",
        "flowhuntd",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char prog[32];
        const char *sub = strchr(cmds[i], ' ');
        snprintf(prog, sizeof prog, "%.*s", sub ? (int)(sub - cmds[i]) : (int)strlen(cmds[i]),
                 cmds[i]);
        sub = sub ? sub + 1 : "";
        char *out;
        int rc = test_runf(
            &out,
            "{ %s %s --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+|\\[--[a-z-]+' | "
            "grep -oE -- '--[a-z-]+' | sort -u | while read o; do "
            "timeout 10 %s %s $o </dev/null 2>&1 | grep -qE 'unrecognized option|unknown option' "
            "&& echo \"$o\"; done; true; }",
            test_bin(prog), sub, test_bin(prog), sub);
        ASSERT_EQ(rc, 0);
        if (out[0])
            TEST_FAIL_AT("%s --help lists options it refuses: %s", cmds[i], out);
        free(out);
    }
    return 0;
}

/* contrib/flowhuntd.service names the instance after the host: systemd expands %H to the full
 * host name (web1.example.com on most servers), which flowhuntd refuses as an instance (dots),
 * so the unit did not start; %l is the name up to the first dot. The unit's --instance argument,
 * expanded as systemd does on such a host, must get the daemon past its options (it stops at
 * its ready file, a folder it cannot replace, exit 1; a refused instance is exit 2). */
TEST_IMPL(cli_systemd_unit_instance)
{
    char *inst, *out;
    ASSERT_EQ(test_runf(&inst,
                        "sed -n 's/.*--instance \\([^ ]*\\).*/\\1/p' contrib/flowhuntd.service | "
                        "sed 's/%%H/web1.example.com/g; s/%%l/web1/g' | tr -d '\\n'"),
              0);
    ASSERT(inst[0] != '\0');
    ASSERT_EQ(test_runf(&out, "mkdir -p %s/ready.d/x", test_tmpdir()), 0);
    free(out);
    int rc = test_runf(&out,
                       "{ timeout 10 %s -l 127.0.0.1:0 -w %s/d --instance '%s' --ready-file "
                       "%s/ready.d 2>&1; }",
                       test_bin("flowhuntd"), test_tmpdir(), inst, test_tmpdir());
    if (rc != 1 || !strstr(out, "cannot write the ready file"))
        TEST_FAIL_AT("the unit's --instance '%s' on host web1.example.com: exit %d, '%s'", inst, rc,
                     out);
    free(out);
    free(inst);
    return 0;
}

/* The paths of contrib's units, as their install comments lay them out, mapped into `root`
 * (the flowhunt binary to `bin`): "in" with each replaced, into out. */
static void tu_map(const char *in, const char *bin, const char *root, char *out, size_t cap)
{
    static const char *const from[] = {"/usr/local/bin/flowhunt", "/var/lib/flowhunt",
                                       "/etc/flowhunt"};
    char to[3][PATH_MAX];
    snprintf(to[0], sizeof to[0], "%s", bin);
    snprintf(to[1], sizeof to[1], "%s/var", root);
    snprintf(to[2], sizeof to[2], "%s/etc", root);
    size_t n = 0;
    while (*in && n + 1 < cap) {
        int hit = -1;
        for (int k = 0; k < 3 && hit < 0; k++)
            if (strncmp(in, from[k], strlen(from[k])) == 0)
                hit = k;
        if (hit < 0) {
            out[n++] = *in++;
            continue;
        }
        size_t l = strlen(to[hit]);
        ASSERT_LT(n + l, cap);
        memcpy(out + n, to[hit], l);
        n += l;
        in += strlen(from[hit]);
    }
    out[n] = '\0';
}

/* The value of each line `key`= of a unit file, mapped (tu_map); the number found. */
static int tu_values(const char *unit_text, const char *key, const char *bin, const char *root,
                     char vals[][2048], int max)
{
    int n = 0;
    size_t kl = strlen(key);
    for (const char *l = unit_text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) != 0 || l[kl] != '=')
            continue;
        const char *e = strchr(l, '\n');
        char line[2048];
        size_t len = e ? (size_t)(e - l - kl - 1) : strlen(l + kl + 1);
        ASSERT_LT(len, sizeof line);
        memcpy(line, l + kl + 1, len);
        line[len] = '\0';
        ASSERT_LT(n, max);
        tu_map(line, bin, root, vals[n++], sizeof vals[0]);
    }
    return n;
}

/* contrib's timers start the scheduled hunt and the expiry. Each service's commands, its
 * paths mapped into a scratch folder as its install comment lays them out (the configuration
 * made by --print-config, as it says), must run on a store as written, ending with a status
 * the unit counts as success: an option renamed or a default changed would otherwise fail
 * only on a server, once an hour. Where systemd-analyze is installed it checks the four
 * files (syntax, each timer's service). */
TEST_IMPL(cli_systemd_timer_units)
{
    char bin[PATH_MAX], root[512], dir[600], pcap[600], *out;
    ASSERT_NOT_NULL(realpath(test_bin("flowhunt"), bin)); /* systemd takes absolute paths */
    snprintf(root, sizeof root, "%s", test_tmpdir());
    snprintf(dir, sizeof dir, "%s/var", root);
    snprintf(pcap, sizeof pcap, "%s/w.pcap", root);
    test_flowgen_store(dir, pcap, "",
                       "--format v9 --flows 6000 --seed 11 --start 2026-11-23 --hours 4 "
                       "--exporters 2");
    ASSERT_EQ(test_runf(NULL, "mkdir -p %s/etc && %s hunt --print-config > %s/etc/hunt.ini", root,
                        bin, root),
              0);
    static const struct {
        const char *unit, *suffix; /* the hunt's clock set to the store's end */
        int want_rc;
        const char *out_file, *out_has;
    } units[] = {
        {"flowhunt-hunt.service", " --now 2026-11-23T04:00:00Z", 1, "var/reports/findings.jsonl",
         "\"hunt_id\":\"TH-HUNTIN-20261123-0001\""},
        {"flowhunt-expire.service", "", 0, NULL, NULL},
    };
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        char path[256], vals[4][2048];
        snprintf(path, sizeof path, "contrib/%s", units[u].unit);
        size_t len;
        char *text = (char *)test_read_file(path, &len);
        ASSERT_NOT_NULL(text);
        int n_pre = tu_values(text, "ExecStartPre", bin, root, vals, 4);
        for (int i = 0; i < n_pre; i++) {
            int rc = test_runf(&out, "{ %s; } 2>&1", vals[i]);
            if (rc != 0)
                TEST_FAIL_AT("%s: ExecStartPre=%s: exit %d, %s", units[u].unit, vals[i], rc, out);
            free(out);
        }
        ASSERT_EQ(tu_values(text, "ExecStart", bin, root, vals, 4), 1);
        int rc = test_runf(&out, "{ %s%s; } 2>&1", vals[0], units[u].suffix);
        if (rc != units[u].want_rc)
            TEST_FAIL_AT("%s: ExecStart=%s%s: exit %d (want %d), %s", units[u].unit, vals[0],
                         units[u].suffix, rc, units[u].want_rc, out);
        free(out);
        /* a status other than 0 must be one the unit names as success */
        int n_ok = tu_values(text, "SuccessExitStatus", bin, root, vals, 4), ok = rc == 0;
        for (int i = 0; i < n_ok && !ok; i++)
            ok = atoi(vals[i]) == rc;
        if (!ok)
            TEST_FAIL_AT("%s exits %d, which it does not count as success", units[u].unit, rc);
        if (units[u].out_file) {
            char f[700];
            snprintf(f, sizeof f, "%s/%s", root, units[u].out_file);
            size_t rlen;
            char *rep = (char *)test_read_file(f, &rlen);
            ASSERT_NOT_NULL(rep);
            if (!strstr(rep, units[u].out_has))
                TEST_FAIL_AT("%s wrote no %s into %s", units[u].unit, units[u].out_has, f);
            free(rep);
        }
        free(text);
    }
    /* expiry at 90 days kept the store (its flows are from 2026-11-23) */
    ASSERT_EQ(test_runf(&out, "find %s/flows -name '*.seg' | wc -l", dir), 0);
    ASSERT_EQ(atoi(out), 4);
    free(out);
    if (!test_have_tool("systemd-analyze"))
        return 0;
    static const char *const files[] = {"flowhunt-hunt.service", "flowhunt-hunt.timer",
                                        "flowhunt-expire.service", "flowhunt-expire.timer"};
    ASSERT_EQ(test_runf(NULL, "mkdir -p %s/units", root), 0);
    for (size_t i = 0; i < 4; i++) {
        char path[256], dst[700], mapped[8192];
        snprintf(path, sizeof path, "contrib/%s", files[i]);
        size_t len;
        char *text = (char *)test_read_file(path, &len);
        ASSERT_NOT_NULL(text);
        tu_map(text, bin, root, mapped, sizeof mapped);
        snprintf(dst, sizeof dst, "%s/units/%s", root, files[i]);
        ASSERT_EQ(test_write_file(dst, mapped), 0);
        free(text);
    }
    int rc =
        test_runf(&out, "cd %s/units && systemd-analyze verify ./*.service ./*.timer 2>&1", root);
    if (rc != 0 || strstr(out, "flowhunt-"))
        TEST_FAIL_AT("systemd-analyze verify: exit %d, %s", rc, out);
    free(out);
    return 0;
}

/* Numeric options out of range are usage errors while the options are read, with the range:
 * --rotate 3601 used to fail at start (exit 1, "invalid argument" from the writer), and
 * values past 32 bits wrapped (--rotate 4294967297 made 1 s segments). A value in range
 * still starts the daemon (it stops at once: its ready file is a folder it cannot replace). */
TEST_IMPL(cli_daemon_option_ranges)
{
    static const struct {
        const char *arg, *range;
    } bad[] = {
        {"--rotate 3601", "(1 to 3600 seconds)"},
        {"--rotate 4294967297", "(1 to 3600 seconds)"},
        {"--rotate 0", "(1 to 3600 seconds)"},
        {"--rotate -1", "(1 to 3600 seconds)"},
        {"--flush-ms 4294967297", "(1 to 3600000 ms)"},
        {"--flush-ms 3600001", "(1 to 3600000 ms)"},
        {"--stats-interval 4294967297", "(1 to 86400 seconds)"},
        {"--workers 17", "(1 to 16)"},
        {"--rcvbuf 99999999999999999999", "bytes)"},
        {"--template-memory 1048577", "MiB)"},
    };
    char *out;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = test_runf(&out, "{ timeout 10 %s -l 127.0.0.1:0 -w %s/d %s 2>&1; }",
                           test_bin("flowhuntd"), test_tmpdir(), bad[i].arg);
        if (rc != 2 || !strstr(out, bad[i].range))
            TEST_FAIL_AT("%s: exit %d, '%s'", bad[i].arg, rc, out);
        free(out);
    }
    /* the limits themselves are accepted: the daemon gets as far as its ready file */
    ASSERT_EQ(test_runf(&out, "mkdir -p %s/ready.d/x", test_tmpdir()), 0);
    free(out);
    int rc = test_runf(&out,
                       "{ timeout 10 %s -l 127.0.0.1:0 -w %s/d --rotate 3600 --flush-ms 3600000 "
                       "--stats-interval 86400 --workers 16 --ready-file %s/ready.d 2>&1; }",
                       test_bin("flowhuntd"), test_tmpdir(), test_tmpdir());
    ASSERT_EQ(rc, 1);
    ASSERT_NOT_NULL(strstr(out, "cannot write the ready file"));
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
    ASSERT_NULL(strstr(out, "  malformed ")); /* no malformation of any name */
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

/* flowhuntd --read -w places flows in hour-long segments of their end time unless --rotate
 * says otherwise; both stores hold the same flows. */
TEST_IMPL(cli_read_segment_interval)
{
    char pcap[600], d1[600], d2[600], *out;
    snprintf(pcap, sizeof pcap, "%s/two-hours.pcap", test_tmpdir());
    snprintf(d1, sizeof d1, "%s/hourly", test_tmpdir());
    snprintf(d2, sizeof d2, "%s/minutely", test_tmpdir());
    ASSERT_EQ(test_runf(NULL,
                        "%s --format v9 --flows 3000 --seed 5 --start 2024-03-01T00:00:00Z "
                        "--hours 2 --out %s 2>/dev/null",
                        test_bin("flowgen"), pcap),
              0);
    ASSERT_EQ(test_runf(NULL, "%s --read %s -w %s --quiet", test_bin("flowhuntd"), pcap, d1), 0);
    ASSERT_EQ(test_runf(NULL, "%s --read %s -w %s --rotate 60 --quiet", test_bin("flowhuntd"),
                        pcap, d2),
              0);
    const char *dirs[] = {d1, d2};
    unsigned long segs[2], flows[2];
    char *sums[2];
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ(test_runf(&out, "find %s/flows -name '*.seg' | wc -l", dirs[i]), 0);
        segs[i] = strtoul(out, NULL, 10);
        free(out);
        ASSERT_EQ(test_runf(&out, "%s cat %s --format csv | tail -n +2 | wc -l",
                            test_bin("flowhunt"), dirs[i]),
                  0);
        flows[i] = strtoul(out, NULL, 10);
        free(out);
        ASSERT_EQ(test_runf(&sums[i], "%s cat %s --format csv | tail -n +2 | sort | md5sum",
                            test_bin("flowhunt"), dirs[i]),
                  0);
    }
    ASSERT_STR_EQ(sums[0], sums[1]); /* the same flows */
    free(sums[0]);
    free(sums[1]);
    ASSERT_EQ(flows[0], 3000);
    ASSERT_EQ(flows[1], 3000);
    ASSERT(segs[0] >= 2 && segs[0] <= 3); /* two hours of flow end times (and a last straggler) */
    ASSERT(segs[1] >= 100);
    printf("# 3000 flows over 2 h: %lu segments by default, %lu with --rotate 60\n", segs[0],
           segs[1]);
    /* A capture made long after the traffic (an exporter replaying old packets, softflowd -r):
     * the data's clock closes intervals, as it places flows. The capture's clock closed each
     * datagram's interval at once: a segment per datagram. */
    if (access("/usr/bin/editcap", X_OK) != 0) {
        printf("# editcap (wireshark-common) missing: the late capture is not checked\n");
        return 0;
    }
    char late[700], d3[600];
    snprintf(late, sizeof late, "%s/two-hours-late.pcap", test_tmpdir());
    snprintf(d3, sizeof d3, "%s/late", test_tmpdir());
    ASSERT_EQ(test_runf(NULL, "editcap -t 63072000 %s %s", pcap, late), 0); /* two years on */
    ASSERT_EQ(test_runf(NULL, "%s --read %s -w %s --quiet", test_bin("flowhuntd"), late, d3), 0);
    ASSERT_EQ(test_runf(&out, "find %s/flows -name '*.seg' | wc -l", d3), 0);
    ASSERT_EQ(strtoul(out, NULL, 10), segs[0]);
    free(out);
    return 0;
}
