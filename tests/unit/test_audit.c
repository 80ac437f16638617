/* test_audit.c: the audit trail must notice any change to the log or to the data it vouches for.
 *
 * In process, a log of two hunts and an expiry over hand-made files is checked byte by byte:
 * flipping any one bit of any byte (two different bits each) must fail the chain at the line
 * holding that byte, and every truncation must fail as an incomplete line unless it falls on a
 * line boundary, which only --head can tell from an honest log (the limit the docs state). The
 * report hash is a known answer. End to end, flowgen's traffic is stored by flowhuntd, hunted
 * three ways, expired by size and hunted again: verify passes and calls the removed segments
 * expired, the recorded hashes equal sha256sum of the report and of --print-config. Then on
 * fresh copies: a field of an early entry, the prev of the second, a byte of the last line, a
 * cut last line, a byte of a listed segment and a segment deleted without expiry each make
 * verify exit 1 naming the entry and segment. Runs that could not run, --print-config and dry
 * expiries append nothing; a damaged log is not appended to; concurrent hunts chain in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "seg.h"
#include "task.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static char *at_read(const char *path, size_t *len)
{
    char *s = (char *)test_read_file(path, len);
    ASSERT_NOT_NULL(s);
    return s;
}

static void at_write(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
}

/* Number of lines of s[0..off) plus one: the line holding byte off. */
static long at_line_of(const char *s, size_t off)
{
    long line = 1;
    for (size_t i = 0; i < off; i++)
        line += s[i] == '\n';
    return line;
}

/* Offset of the start of line k (1-based). */
static size_t at_line_start(const char *s, size_t len, long k)
{
    size_t off = 0;
    for (long i = 1; i < k; i++) {
        const char *nl = memchr(s + off, '\n', len - off);
        ASSERT_NOT_NULL(nl);
        off = (size_t)(nl - s) + 1;
    }
    return off;
}

/* ---- in process: every byte, every truncation ------------------------------------------ */

static void at_hunt_in_process(const char *dir, const hunt_config_t *cfg, const char *report,
                               uint64_t now)
{
    char path[600];
    snprintf(path, sizeof path, "%s/report.out", test_tmpdir());
    FILE *sink = fopen(path, "w");
    ASSERT_NOT_NULL(sink);
    au_tee_t tee;
    FILE *rep = au_tee_open(&tee, sink);
    ASSERT_NOT_NULL(rep);
    ASSERT(fputs(report, rep) >= 0);
    char *argv[] = {"hunt", (char *)dir, "--now", "2024-03-05"};
    au_hunt_t h = {.dir = dir,
                   .argc = 4,
                   .argv = argv,
                   .cfg = cfg,
                   .now_ms = now,
                   .from_ms = 0,
                   .to_ms = UINT64_MAX,
                   .reported = 1,
                   .status = 1};
    ASSERT_EQ(au_record_hunt(&h, &tee), 0);
    au_tee_close(&tee);
    ASSERT_EQ(fclose(sink), 0);
}

TEST_IMPL(audit_every_byte_and_truncation)
{
    char dir[600], hour[700], seg[3][800], log[700];
    snprintf(dir, sizeof dir, "%s/inproc", test_tmpdir());
    snprintf(hour, sizeof hour, "%s/flows/2024/03/01/00", dir);
    ASSERT_EQ(seg_dir_mkdirs(hour), 0);
    for (int i = 0; i < 3; i++) {
        char body[64];
        snprintf(seg[i], sizeof seg[i], "%s/fh-20240301T00%02d00Z-t-000000.seg", hour, i);
        int n = snprintf(body, sizeof body, "segment %d bytes\n", i);
        at_write(seg[i], body, (size_t)n);
    }
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    hunt_config_t cfg;
    hc_defaults(&cfg);
    at_hunt_in_process(dir, &cfg, "report one\n", 1709596800000ull);
    /* the expiry hashes the oldest segment before it goes */
    au_expire_t x = {0};
    ASSERT_EQ(au_expire_hash(&x, dir, seg[0]), 0);
    ASSERT_EQ(unlink(seg[0]), 0);
    char *eargv[] = {"expire", dir, "--max-size", "40"};
    ASSERT_EQ(au_record_expire(&x, dir, 4, eargv, 1709600000000ull, 0), 0);
    at_hunt_in_process(dir, &cfg, "report two\n", 1709683200000ull);
    hc_free(&cfg);
    /* an acknowledgement given for a week, then taken back */
    /* its reason mixes UTF-8 with Latin-1 bytes: only the latter become \xHH */
    char *aargv[] = {
        "ack", "--reason",        "pen test \"week\" \xe9t\xe9 \xe2\x9c\x93", "--for", "7d",
        dir,   "0123456789abcdef"};
    ASSERT_EQ(au_record_ack(dir, 7, aargv, 1709700000000ull, "0123456789abcdef",
                            "pen test \"week\" \xe9t\xe9 \xe2\x9c\x93", 1710304800000ull, 0),
              0);
    char *uargv[] = {"unack", dir, "0123456789abcdef"};
    ASSERT_EQ(au_record_ack(dir, 3, uargv, 1709800000000ull, "0123456789abcdef", NULL, 0, 0), 0);

    size_t len;
    char *buf = at_read(log, &len);
    au_chain_t c;
    au_fail_t fail;
    ASSERT_EQ(au_chain_check(buf, len, &c, &fail), 0);
    ASSERT_EQ(c.n, 5);
    ASSERT_EQ(c.e[1].expire, 1);
    ASSERT_EQ(c.e[3].ack, 1);
    ASSERT_EQ(c.e[4].ack, 2);
    ASSERT_STR_EQ(c.e[3].fp, "0123456789abcdef");
    ASSERT_EQ(c.e[3].n_segs, 0);
    ASSERT_NOT_NULL(strstr(buf, "\"kind\":\"ack\",\"time\":\"2024-03-06T04:40:00.000Z\""));
    ASSERT_NOT_NULL(strstr(buf, "\"fingerprint\":\"0123456789abcdef\",\"reason\":\"pen test "
                                "\\\"week\\\" \\\\xe9t\\\\xe9 \xe2\x9c\x93\",\"until\":"
                                "1710304800000,\"exit\":0"));
    ASSERT_EQ(c.e[0].n_segs, 3);
    ASSERT_EQ(c.e[1].n_segs, 1);
    ASSERT_EQ(c.e[2].n_segs, 2);
    ASSERT_STR_EQ(c.s[c.e[1].first_seg].path,
                  "flows/2024/03/01/00/fh-20240301T000000Z-t-000000.seg");
    /* known answer: printf 'report one\n' | sha256sum */
    ASSERT_STR_EQ(c.e[0].report,
                  "8af1d4bee0cbd9dae843aa5433e58cd6defb79a297fb238344094aa153b9c780");
    char head[AU_HEX_LEN + 1];
    memcpy(head, c.e[4].hash, sizeof head);
    au_chain_free(&c);

    au_verify_stats_t st;
    ASSERT_EQ(au_verify(dir, head, 1, stdout, &fail, &st), 0);
    ASSERT_EQ(st.entries, 5);
    ASSERT_EQ(st.acks, 1); /* the ack, then the unack */
    ASSERT_EQ(st.unacks, 1);
    ASSERT_EQ(st.seg_ok, 4);      /* hunt 1: segments 1 and 2; hunt 2: the same */
    ASSERT_EQ(st.seg_expired, 1); /* hunt 1's segment 0 */
    ASSERT_EQ(st.files_hashed, 2);

    /* every byte, two different bits: the chain fails at that byte's line */
    char *m = malloc(len);
    ASSERT_NOT_NULL(m);
    size_t caught = 0;
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 2; b++) {
            memcpy(m, buf, len);
            m[i] = (char)(m[i] ^ (b ? 0x80 : 0x01));
            int rc = au_chain_check(m, len, &c, &fail);
            au_chain_free(&c);
            if (rc != 1 || fail.line != at_line_of(buf, i))
                TEST_FAIL_AT("byte %zu ^ %#x: rc %d, line %ld (want 1, line %ld): %s", i,
                             b ? 0x80 : 0x01, rc, fail.line, at_line_of(buf, i), fail.what);
            caught++;
        }
    }
    /* every truncation: incomplete, unless it falls on a line boundary */
    size_t boundaries = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = au_chain_check(buf, cut, &c, &fail);
        size_t entries = c.n;
        au_chain_free(&c);
        if (cut == 0 || buf[cut - 1] == '\n') {
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(entries, (size_t)at_line_of(buf, cut) - 1);
            boundaries++;
        } else {
            ASSERT_EQ(rc, 1);
            ASSERT_NOT_NULL(strstr(fail.what, "incomplete"));
        }
    }
    ASSERT_EQ(boundaries, 5);
    printf("# %zu-byte log: %zu single-byte changes all caught at their line; %zu truncations "
           "caught, %zu on line boundaries pass the chain\n",
           len, caught, len - boundaries, boundaries);

    /* a log cut back to a boundary passes on its own; only the head noted earlier tells */
    size_t last = at_line_start(buf, len, 5);
    at_write(log, buf, last);
    ASSERT_EQ(au_verify(dir, NULL, 1, stdout, &fail, &st), 0);
    ASSERT_EQ(au_verify(dir, head, 1, stdout, &fail, &st), 1);
    ASSERT_NOT_NULL(strstr(fail.what, "rewritten or cut back"));
    at_write(log, buf, len);

    /* the data: a changed segment is named at the first entry that lists it */
    at_write(seg[1], "segment 1 bytez\n", 16);
    ASSERT_EQ(au_verify(dir, NULL, 1, stdout, &fail, &st), 1);
    ASSERT_EQ(fail.seq, 1);
    ASSERT_EQ(fail.line, 1);
    ASSERT_STR_EQ(fail.segment, "flows/2024/03/01/00/fh-20240301T000100Z-t-000000.seg");
    ASSERT_NOT_NULL(strstr(fail.what, "content changed"));
    at_write(seg[1], "segment 1 bytes\n", 16);
    ASSERT_EQ(unlink(seg[2]), 0);
    ASSERT_EQ(au_verify(dir, NULL, 1, stdout, &fail, &st), 1);
    ASSERT_STR_EQ(fail.segment, "flows/2024/03/01/00/fh-20240301T000200Z-t-000000.seg");
    ASSERT_NOT_NULL(strstr(fail.what, "no later expiry"));
    free(m);
    free(buf);
    return 0;
}

/* ---- end to end ---------------------------------------------------------------------------- */

#define AT_ARGS "--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53"

/* flowgen's traffic stored in a fresh data directory (static buffer). */
static const char *at_store(const char *name)
{
    static char dir[600];
    char pcap[600];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    snprintf(pcap, sizeof pcap, "%s/%s.pcap", test_tmpdir(), name);
    ASSERT_EQ(test_runf(NULL,
                    "%s --format ipfix --flows 20000 --seed 11 --start 2024-03-01T00:00:00Z "
                    "--hours 2 --exporters 2 --out %s 2>/dev/null",
                    test_bin("flowgen"), pcap),
              0);
    /* 60 s segments: the log lists many, and tampering with one is named among them */
    ASSERT_EQ(
        test_runf(NULL, "%s --read %s -w %s --rotate 60 --quiet", test_bin("flowhuntd"), pcap, dir),
        0);
    return dir;
}

/* The data directory with three hunts, an expiry and a fourth hunt recorded. */
static const char *at_history(const char *name)
{
    const char *dir = at_store(name);
    const char *fh = test_bin("flowhunt");
    char rep[700];
    snprintf(rep, sizeof rep, "%s/%s.report.json", test_tmpdir(), name);
    int rc =
        test_runf(NULL, "%s hunt %s " AT_ARGS " --now 2024-03-05 --format json -o %s", fh, dir, rep);
    ASSERT(rc == 0 || rc == 1);
    rc = test_runf(NULL, "%s hunt %s " AT_ARGS " --hunts scan --no-state", fh, dir);
    ASSERT(rc == 0 || rc == 1);
    rc = test_runf(NULL, "%s hunt %s " AT_ARGS " --from 2024-03-01T01:00:00Z --format csv", fh, dir);
    ASSERT(rc == 0 || rc == 1);
    ASSERT_EQ(test_runf(NULL, "%s expire %s --max-size 250K 2>/dev/null", fh, dir), 0);
    rc = test_runf(NULL, "%s hunt %s " AT_ARGS " --now 2024-03-06", fh, dir);
    ASSERT(rc == 0 || rc == 1);
    return dir;
}

/* The value of "key":"..." in the first line of s that has it. */
static void at_field(const char *s, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(s, pat);
    ASSERT_NOT_NULL(p);
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    ASSERT(n < cap);
    memcpy(out, p, n);
    out[n] = '\0';
}

TEST_IMPL(audit_hunts_and_expiry_verify)
{
    const char *dir = at_history("hist");
    const char *fh = test_bin("flowhunt");
    char log[700], rep[700];
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    snprintf(rep, sizeof rep, "%s/hist.report.json", test_tmpdir());
    size_t len;
    char *text = at_read(log, &len);
    ASSERT_EQ(at_line_of(text, len), 6); /* five lines, each ending in a newline */
    ASSERT_NOT_NULL(strstr(text, "\"seq\":4,\"kind\":\"expire\""));
    ASSERT_NOT_NULL(
        strstr(text, "\"seq\":5,\"kind\":\"hunt\",\"time\":\"2024-03-06T00:00:00.000Z\""));

    /* the recorded hashes are those of the bytes written and of --print-config */
    char want[AU_HEX_LEN + 1], *out;
    at_field(text, "report_sha256", want, sizeof want);
    ASSERT_EQ(test_runf(&out, "sha256sum < %s", rep), 0);
    ASSERT_MEM_EQ(out, want, AU_HEX_LEN);
    free(out);
    at_field(text, "config_sha256", want, sizeof want);
    ASSERT_EQ(test_runf(&out, "%s hunt " AT_ARGS " --print-config | sha256sum", fh), 0);
    ASSERT_MEM_EQ(out, want, AU_HEX_LEN);
    free(out);

    ASSERT_EQ(test_runf(&out, "%s audit verify %s", fh, dir), 0);
    printf("# %s", strstr(out, "audit.log: ") ? strstr(out, "audit.log: ") : out);
    ASSERT_NOT_NULL(strstr(out, "chain intact: 5 entries (hunt 4, expire 1, ack 0, unack 0)"));
    ASSERT_NOT_NULL(strstr(out, "seq 4 line 4 expire"));
    ASSERT_NOT_NULL(strstr(out, " expired;")); /* the earlier hunts' removed segments */
    ASSERT_NULL(strstr(out, "0 expired ("));   /* the total */
    free(out);
    ASSERT_EQ(test_runf(&out, "%s audit verify -q %s", fh, dir), 0);
    ASSERT_STR_EQ(out, "");
    free(out);
    ASSERT_EQ(test_runf(&out, "%s audit list %s", fh, dir), 0);
    ASSERT_EQ(at_line_of(out, strlen(out)), 7); /* a header and five entries */
    free(out);
    free(text);
    return 0;
}

/* A fresh copy of the directory (static buffer), and the path of its log in log_out. */
static const char *at_copy(const char *dir, const char *name, char *log_out, size_t cap)
{
    static char copy[700];
    snprintf(copy, sizeof copy, "%s/%s", test_tmpdir(), name);
    ASSERT_EQ(test_runf(NULL, "rm -rf %s && cp -a %s %s", copy, dir, copy), 0);
    snprintf(log_out, cap, "%s/hunt/audit.log", copy);
    return copy;
}

/* verify -q on a directory: the exit status; what it printed (stdout, then stderr) in *msg. */
static int at_verify(const char *dir, char **msg)
{
    char err[600], *out;
    snprintf(err, sizeof err, "%s/verify.err", test_tmpdir());
    int rc = test_runf(&out, "%s audit verify -q %s 2>%s", test_bin("flowhunt"), dir, err);
    size_t n;
    char *e = at_read(err, &n);
    size_t o = strlen(out);
    *msg = malloc(o + n + 1);
    ASSERT_NOT_NULL(*msg);
    memcpy(*msg, out, o);
    memcpy(*msg + o, e, n + 1);
    free(out);
    free(e);
    return rc;
}

/* Flips bit 0 of byte `off` of a file. */
static void at_flip(const char *path, size_t off)
{
    size_t len;
    char *s = at_read(path, &len);
    ASSERT(off < len);
    s[off] ^= 1;
    at_write(path, s, len);
    free(s);
}

/* A fresh copy with bit 0 of byte `off` of its log flipped: verify must exit 1; its message
 * (printed as "# what: ...") is returned. */
static char *at_flip_log(const char *dir, const char *name, size_t off, const char *what)
{
    char log[800], *msg;
    const char *copy = at_copy(dir, name, log, sizeof log);
    at_flip(log, off);
    ASSERT_EQ(at_verify(copy, &msg), 1);
    printf("# %s: %s", what, msg);
    return msg;
}

TEST_IMPL(audit_tampering_named)
{
    const char *dir = at_history("orig");
    const char *fh = test_bin("flowhunt");
    char log[700], copy_log[800], *msg;
    const char *copy;
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    size_t len;
    char *text = at_read(log, &len);
    long lines = at_line_of(text, len) - 1;
    ASSERT_EQ(lines, 5);

    /* 1. a field of the first entry: a digit of its first segment's size */
    msg =
        at_flip_log(dir, "t1", (size_t)(strstr(text, "\"size\":") - text) + 7, "field of entry 1");
    ASSERT_NOT_NULL(strstr(msg, "at seq 1 (line 1)"));
    ASSERT_NOT_NULL(strstr(msg, "does not match its hash"));
    free(msg);

    /* 2. the prev of the second entry */
    size_t l2 = at_line_start(text, len, 2);
    msg = at_flip_log(dir, "t2", (size_t)(strstr(text + l2, "\"prev\":\"") - text) + 8 + 5,
                      "prev of entry 2");
    ASSERT_NOT_NULL(strstr(msg, "at seq 2 (line 2)"));
    ASSERT_NOT_NULL(strstr(msg, "prev does not match the hash of the entry before: expected "));
    free(msg);

    /* 3. a byte in the middle of the final line, and 4. the final line cut short */
    size_t l5 = at_line_start(text, len, 5);
    msg = at_flip_log(dir, "t3", l5 + (len - l5) / 2, "middle of the final line");
    ASSERT_NOT_NULL(strstr(msg, "at seq 5 (line 5)"));
    free(msg);
    copy = at_copy(dir, "t4", copy_log, sizeof copy_log);
    at_write(copy_log, text, len - 20);
    ASSERT_EQ(at_verify(copy, &msg), 1);
    printf("# final line cut short: %s", msg);
    ASSERT_NOT_NULL(strstr(msg, "at seq 5 (line 5)"));
    ASSERT_NOT_NULL(strstr(msg, "incomplete"));
    free(msg);
    /* a damaged log is not appended to: the hunt's report went out, the run fails */
    ASSERT_EQ(test_runf(&msg, "%s hunt %s " AT_ARGS " --no-state >/dev/null 2>&1; echo $?", fh, copy),
              0);
    ASSERT_STR_EQ(msg, "2\n");
    free(msg);
    size_t len4;
    char *after = at_read(copy_log, &len4);
    ASSERT_EQ(len4, len - 20);
    free(after);

    /* 5. a byte of a listed segment still present: the last segment of entry 1 (the expiry
     * removed the oldest), named at the first entry that lists it */
    size_t l1_end = l2 - 1, p = 0;
    for (const char *q = text; (q = strstr(q, "\"path\":\"")) && (size_t)(q - text) < l1_end; q++)
        p = (size_t)(q - text) + 8;
    char rel[300];
    size_t rn = strcspn(text + p, "\"");
    ASSERT(rn < sizeof rel);
    memcpy(rel, text + p, rn);
    rel[rn] = '\0';
    char seg[1100];
    copy = at_copy(dir, "t5", copy_log, sizeof copy_log);
    snprintf(seg, sizeof seg, "%s/%s", copy, rel);
    at_flip(seg, 100);
    ASSERT_EQ(at_verify(copy, &msg), 1);
    printf("# byte of a segment: %s", msg);
    ASSERT_NOT_NULL(strstr(msg, "at seq 1 (line 1)"));
    ASSERT_NOT_NULL(strstr(msg, rel));
    ASSERT_NOT_NULL(strstr(msg, "content changed: expected sha256 "));
    free(msg);

    /* 6. the same segment deleted with no expiry recorded */
    ASSERT_EQ(unlink(seg), 0);
    ASSERT_EQ(at_verify(copy, &msg), 1);
    ASSERT_NOT_NULL(strstr(msg, "missing, and no later expiry recorded its removal"));
    free(msg);

    /* the original still verifies */
    ASSERT_EQ(at_verify(dir, &msg), 0);
    ASSERT_STR_EQ(msg, "");
    free(msg);
    free(text);
    return 0;
}

TEST_IMPL(audit_no_entry_without_a_run)
{
    const char *dir = at_store("quiet");
    const char *fh = test_bin("flowhunt");
    char log[700];
    struct stat st;
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    /* could not run (2), printed the configuration, or did not remove anything */
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --format nope 2>/dev/null", fh, dir), 2);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --intel /nonexistent 2>/dev/null", fh, dir), 2);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --print-config", fh, dir), 0);
    ASSERT_EQ(test_runf(NULL, "%s expire %s --max-size 1K --dry-run 2>/dev/null", fh, dir), 0);
    ASSERT_EQ(test_runf(NULL, "%s expire %s --max-size 1T 2>/dev/null", fh, dir), 0);
    ASSERT_NE(stat(log, &st), 0);
    ASSERT_EQ(test_runf(NULL, "%s audit verify %s 2>/dev/null", fh, dir), 2); /* no log to read */
    ASSERT_EQ(test_runf(NULL, "%s audit frobnicate %s 2>/dev/null", fh, dir), 2);
    ASSERT_EQ(test_runf(NULL, "%s audit verify %s --head xyz 2>/dev/null", fh, dir), 2);
    /* --no-state still records: the report went out */
    int rc = test_runf(NULL, "%s hunt %s " AT_ARGS " --no-state --hunts beacon", fh, dir);
    ASSERT(rc == 0 || rc == 1);
    ASSERT_EQ(stat(log, &st), 0);
    char *out;
    ASSERT_EQ(test_runf(&out, "%s audit verify %s", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, "chain intact: 1 entries (hunt 1, expire 0, ack 0, unack 0)"));
    free(out);
    return 0;
}

/* The entry lists every file the run read, named as the run was told of it: a scheduled run's
 * [general] feed and users file (cron names only --config), and --us, which getopt takes for
 * --users. Taken from argv, the entry listed only --config for the first and nothing for the
 * second, though both runs used the files. */
TEST_IMPL(audit_inputs_as_used)
{
    const char *dir = at_store("inputs");
    const char *fh = test_bin("flowhunt");
    char feed[700], users[700], ini[700], log[700];
    snprintf(feed, sizeof feed, "%s/feed.txt", test_tmpdir());
    snprintf(users, sizeof users, "%s/users.csv", test_tmpdir());
    snprintf(ini, sizeof ini, "%s/inputs.ini", test_tmpdir());
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    ASSERT_EQ(test_write_file(feed, "198.51.100.1\n"), 0);
    ASSERT_EQ(test_write_file(users, "start,end,address,user\n2024-03-01T00:00:00Z,,10.0.0.5,al\n"),
              0);
    char text[2200];
    snprintf(text, sizeof text, "[general]\nintel = %s\nusers = %s\n", feed, users);
    ASSERT_EQ(test_write_file(ini, text), 0);
    int rc =
        test_runf(NULL, "%s hunt %s " AT_ARGS " --hunts scan --no-state --config %s", fh, dir, ini);
    ASSERT(rc == 0 || rc == 1);
    rc = test_runf(NULL, "%s hunt %s " AT_ARGS " --hunts scan --no-state --us %s", fh, dir, users);
    ASSERT(rc == 0 || rc == 1);
    size_t len;
    char *body = at_read(log, &len);
    char *second = strchr(body, '\n');
    ASSERT_NOT_NULL(second);
    *second++ = '\0';
    /* the feed as read: its size and the SHA-256 of "198.51.100.1\n" */
    char want[1600];
    snprintf(want, sizeof want,
             "{\"option\":\"[general] intel\",\"path\":\"%s\",\"size\":13,\"sha256\":"
             "\"bba546d8db73943cebb8ee10b72c78bd38f2528f37049ae7768af9084922ce0a\"}",
             feed);
    ASSERT_NOT_NULL(strstr(body, want));
    ASSERT_NOT_NULL(strstr(body, "{\"option\":\"--config\""));
    ASSERT_NOT_NULL(strstr(body, "{\"option\":\"[general] users\""));
    ASSERT_NOT_NULL(strstr(second, "\"inputs\":[{\"option\":\"--users\""));
    free(body);
    return 0;
}

TEST_IMPL(audit_concurrent_hunts_chain)
{
    const char *dir = at_store("conc");
    const char *fh = test_bin("flowhunt");
    /* four hunts at once: the lock serialises them into one chain, seq 1..4 */
    ASSERT_EQ(test_runf(NULL,
                    "for i in 1 2 3 4; do %s hunt %s " AT_ARGS
                    " --hunts scan --no-state >/dev/null 2>&1 & done; wait",
                    fh, dir),
              0);
    char *out;
    ASSERT_EQ(test_runf(&out, "%s audit verify %s", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, "chain intact: 4 entries (hunt 4, expire 0, ack 0, unack 0)"));
    for (int s = 1; s <= 4; s++) {
        char want[64];
        snprintf(want, sizeof want, "seq %d line %d hunt", s, s);
        ASSERT_NOT_NULL(strstr(out, want));
    }
    free(out);
    return 0;
}

/* An expiry that cannot record its removals removes nothing: the log is checked (and held)
 * before the first segment goes. It deleted them, then found the log's last line torn, so the
 * removals were recorded nowhere and verify later failed at the first hunt. */
TEST_IMPL(audit_expire_needs_its_entry)
{
    const char *dir = at_store("exptorn");
    const char *fh = test_bin("flowhunt");
    int rc = test_runf(NULL, "%s hunt %s " AT_ARGS " --no-state >/dev/null", fh, dir);
    ASSERT(rc == 0 || rc == 1);
    char log[700], *out, **segs;
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    int before = seg_dir_list(dir, 0, UINT64_MAX, &segs);
    seg_dir_list_free(segs, before);
    ASSERT_GT(before, 0);
    FILE *f = fopen(log, "a");
    ASSERT_NOT_NULL(f);
    fputs("{\"seq\":2,\"ti", f); /* a crash in the middle of an append */
    ASSERT_EQ(fclose(f), 0);
    ASSERT_EQ(test_runf(&out, "{ %s expire %s --max-age 1h 2>&1; }", fh, dir), 2);
    ASSERT_NOT_NULL(strstr(out, "not appending to a damaged log"));
    ASSERT_NOT_NULL(strstr(out, "nothing deleted"));
    free(out);
    int after = seg_dir_list(dir, 0, UINT64_MAX, &segs);
    seg_dir_list_free(segs, after);
    ASSERT_EQ(after, before);
    return 0;
}

/* A hunt lists and hashes its window's segments with the log held, so no expiry removes one
 * between the hashing and the entry (recording the removal under an earlier seq: verify then
 * read the hunt's segment as gone with no later expiry). Here the test holds the log while the
 * hunt waits to record, and removes a segment meanwhile, as such an expiry would: the hunt's
 * entry must not list it, and the chain verifies. */
TEST_IMPL(audit_hunt_lists_under_the_lock)
{
    const char *dir = at_store("huntlock");
    const char *fh = test_bin("flowhunt");
    char log[800], rep[700], hunt_dir[700];
    snprintf(hunt_dir, sizeof hunt_dir, "%s/hunt", dir);
    snprintf(log, sizeof log, "%s/audit.log", hunt_dir);
    snprintf(rep, sizeof rep, "%s/huntlock.json", test_tmpdir());
    ASSERT_EQ(mkdir(hunt_dir, 0755), 0);
    int fd = open(log, O_RDWR | O_CREAT | O_APPEND, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(flock(fd, LOCK_EX), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(fd);
        char cmd[2400];
        snprintf(cmd, sizeof cmd, "%s hunt %s " AT_ARGS " --no-state --format json -o %s", fh, dir,
                 rep);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* the report is written before the hunt records it: wait for it, then a little */
    struct stat st;
    for (int i = 0; i < 3000 && (stat(rep, &st) != 0 || st.st_size == 0); i++)
        usleep(10000);
    usleep(300000);
    char **segs;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &segs);
    ASSERT_GT(n, 2);
    char gone[4300];
    snprintf(gone, sizeof gone, "%s", segs[1]);
    ASSERT_EQ(unlink(gone), 0);
    seg_dir_list_free(segs, n);
    ASSERT_EQ(flock(fd, LOCK_UN), 0);
    close(fd);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
    char *out;
    ASSERT_EQ(test_runf(&out, "%s audit verify %s", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, "chain intact: 1 entries (hunt 1,"));
    free(out);
    return 0;
}

/* An ack or unack the audit log cannot record is taken back: acks.tsv never holds a change the
 * log does not (the log made unwritable by a directory in its place: the tests run as root, so
 * permissions would not stop it). */
TEST_IMPL(audit_ack_needs_its_entry)
{
    const char *dir = at_store("ackaudit");
    const char *fh = test_bin("flowhunt");
    char log[700], kept[720], acks_path[700], *out;
    snprintf(log, sizeof log, "%s/hunt/audit.log", dir);
    snprintf(kept, sizeof kept, "%s.kept", log);
    snprintf(acks_path, sizeof acks_path, "%s/hunt/acks.tsv", dir);
    struct stat st;
    /* no acks.tsv yet and no log that can take the entry: none afterwards either */
    ASSERT_EQ(mkdir(dir, 0755) == 0 || errno == EEXIST, 1);
    char hunt_dir[700];
    snprintf(hunt_dir, sizeof hunt_dir, "%s/hunt", dir);
    ASSERT_EQ(mkdir(hunt_dir, 0755) == 0 || errno == EEXIST, 1);
    ASSERT_EQ(mkdir(log, 0755), 0);
    ASSERT_EQ(test_runf(&out, "(%s ack %s 00000000000000a1 --reason 'first' 2>&1)", fh, dir), 2);
    ASSERT_NOT_NULL(strstr(out, "not done: the audit log could not record it"));
    free(out);
    ASSERT_NE(stat(acks_path, &st), 0);
    ASSERT_EQ(rmdir(log), 0);
    /* one ack recorded; then the log is out of reach */
    ASSERT_EQ(test_runf(NULL, "%s ack %s 00000000000000b2 --reason 'kept'", fh, dir), 0);
    ASSERT_EQ(rename(log, kept), 0);
    ASSERT_EQ(mkdir(log, 0755), 0);
    ASSERT_EQ(test_runf(NULL, "%s ack %s 00000000000000c3 --reason 'lost' 2>/dev/null", fh, dir), 2);
    ASSERT_EQ(test_runf(NULL, "%s unack %s 00000000000000b2 2>/dev/null", fh, dir), 2);
    ASSERT_EQ(test_runf(&out, "%s acks %s", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, "00000000000000b2"));
    ASSERT_NULL(strstr(out, "00000000000000c3"));
    free(out);
    /* the log back: it holds exactly the one ack that stands */
    ASSERT_EQ(rmdir(log), 0);
    ASSERT_EQ(rename(kept, log), 0);
    ASSERT_EQ(test_runf(&out, "%s audit verify %s", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, "chain intact: 1 entries (hunt 0, expire 0, ack 1, unack 0)"));
    free(out);
    return 0;
}

/* flowhunt acks lists fingerprints 1..16 (as 16 hex digits), the odd ones taken back when
 * odd_gone. */
static void at_acks_expect(const char *fh, const char *dir, int odd_gone)
{
    char *out;
    ASSERT_EQ(test_runf(&out, "%s acks %s", fh, dir), 0);
    for (int i = 1; i <= 16; i++) {
        char want[64];
        snprintf(want, sizeof want, "%016x", i);
        ASSERT_EQ(strstr(out, want) != NULL, !(odd_gone && i % 2));
    }
    free(out);
}

/* Acks at once (a bulk ack through xargs -P) each keep theirs: acks.tsv is rewritten under the
 * state lock, so no ack writes back a file that misses another's. Without it 16 parallel acks
 * kept 3 here, while the audit log recorded all 16. */
TEST_IMPL(audit_concurrent_acks_all_kept)
{
    char dir[600], *out;
    snprintf(dir, sizeof dir, "%s/bulkack", test_tmpdir());
    ASSERT_EQ(mkdir(dir, 0755), 0);
    const char *fh = test_bin("flowhunt");
    ASSERT_EQ(test_runf(NULL,
                        "for i in $(seq 1 16); do printf '%%016x\\n' $i; done | "
                        "xargs -P 16 -I{} %s ack %s {} --reason 'bulk {}'",
                        fh, dir),
              0);
    at_acks_expect(fh, dir, 0);
    /* half taken back at once: the other half stands */
    ASSERT_EQ(test_runf(NULL,
                        "for i in $(seq 1 2 16); do printf '%%016x\\n' $i; done | "
                        "xargs -P 8 -I{} %s unack %s {}",
                        fh, dir),
              0);
    at_acks_expect(fh, dir, 1);
    ASSERT_EQ(test_runf(&out, "%s audit verify %s", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, "chain intact: 24 entries (hunt 0, expire 0, ack 16, unack 8)"));
    free(out);
    return 0;
}
