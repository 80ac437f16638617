/* cmd_verify.c: `flowhunt verify`, every checksum of every segment, each problem named.
 *
 * seg_verify checks one file completely (tail, footer, every block header, every chunk's CRC,
 * every chunk decoded); this command runs it over a directory's segments on all cores and
 * prints one line per damaged segment: the file, the byte offset and the error's name. Files
 * are verified in any order but reported in name order, so two runs print the same report.
 * Temporary files (dot-names, a writer's segment in progress) are not segments yet and are not
 * read; those that no live writer holds (a crash left them) are named, since no reader sees
 * their flows until the instance's next writer recovers them.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

typedef struct verify_result {
    int rc;
    seg_where_t where;
    uint64_t size;
} verify_result_t;

typedef struct verify_ctx {
    char **paths;
    int n;
    verify_result_t *res;
    int done; /* atomically */
    cmd_progress_t progress;
} verify_ctx_t;

static void verify_one(void *arg, size_t i)
{
    verify_ctx_t *c = arg;
    verify_result_t *r = &c->res[i];
    struct stat st;
    memset(&r->where, 0, sizeof r->where);
    r->size = stat(c->paths[i], &st) == 0 ? (uint64_t)st.st_size : 0;
    r->rc = seg_verify(c->paths[i], &r->where);
    if (r->rc != 0 && !r->where.path[0])
        snprintf(r->where.path, sizeof r->where.path, "%s", c->paths[i]);
    int done = __atomic_add_fetch(&c->done, 1, __ATOMIC_RELAXED);
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(&c->progress, "verify: %d of %d segments", done, c->n);
}

/* Whether a segment whose name carries its interval lies outside that hour's folder
 * (DIR/flows/YYYY/MM/DD/HH/NAME, where its writer put it): moved there by hand, a restore or
 * a script that named folders in local time. A read with --from/--to picks folders by their
 * hour, and the writer noted segments out of place by the name's hour, so its flows are read
 * without a window and missed by a window over them. 1 then, with the folder it belongs in
 * (under DIR) in `want`; 0 in place, or a name that is not ours (listed by its folder). */
static int verify_wrong_folder(const char *dir, const char *path, char *want, size_t cap)
{
    uint64_t ms;
    if (seg_dir_name_time(path, &ms) != 0)
        return 0;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return 0;
    char full[4200];
    int n = snprintf(full, sizeof full, "%s/flows/%04d/%02d/%02d/%02d/", dir, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
    if (n < 0 || (size_t)n >= sizeof full)
        return 0;
    snprintf(want, cap, "flows/%04d/%02d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour);
    return strncmp(path, full, (size_t)n) != 0 || strchr(path + n, '/') != NULL;
}

/* Temporary segments no live writer holds: a writer stopped without completing them (a
 * crash; or a daemon's worker that a later start with fewer --workers did not run, before
 * flowhuntd recovered those too). Their flows are on disk but no reader sees them until
 * the instance's next writer recovers them. One line each; returns how many (-1: cannot list). */
static int verify_leftovers(const char *dir, int *live_out)
{
    char **paths;
    int n = seg_dir_list_tmp(dir, &paths);
    if (n < 0) {
        fprintf(stderr, "flowhunt verify: %s: cannot list the temporary segments: %s\n", dir,
                seg_strerror(n));
        return -1;
    }
    int left = 0, live = 0;
    for (int i = 0; i < n; i++) {
        char inst[SEG_INSTANCE_MAX + 1];
        if (seg_dir_tmp_instance(paths[i], inst) != 0)
            continue;
        if (seg_instance_live(dir, inst) == 1) {
            live++; /* a writer's open segment */
            continue;
        }
        left++;
        printf("%s: not recovered: a temporary segment of instance %s, which no writer holds "
               "(its flows are not read); starting that instance recovers it",
               paths[i], inst);
        /* a daemon's worker, NAME-wN: the daemon of NAME recovers it, whatever --workers */
        char *w = strrchr(inst, '-');
        if (w && w > inst && w[1] == 'w' && w[2] && strspn(w + 2, "0123456789") == strlen(w + 2))
            printf(" (flowhuntd --instance %.*s)", (int)(w - inst), inst);
        putchar('\n');
    }
    seg_dir_list_free(paths, n);
    *live_out = live;
    return left;
}

static void verify_usage(FILE *f)
{
    fprintf(f,
            "usage: flowhunt verify DIR|FILE\n"
            "\n"
            "Checks every segment under DIR/flows (or one segment FILE) completely: magic and\n"
            "version at both ends, the footer, every row group's header, every chunk's CRC-32C,\n"
            "and that every chunk decodes. Each damaged segment is printed as\n"
            "  PATH: offset N: ERROR: description\n"
            "Temporary segments (.fh-...seg.tmp) that a live writer holds are skipped; one\n"
            "that none holds was left by a writer that stopped (a crash): its flows are not\n"
            "read until that instance starts again and recovers it (flowhuntd recovers its\n"
            "workers' at start, whatever --workers), printed as\n"
            "  PATH: not recovered: a temporary segment of instance NAME, ...\n"
            "A segment outside the hour folder its name gives (moved by hand) is read\n"
            "without a window but missed by --from/--to, printed as\n"
            "  PATH: wrong folder: its name's hour is flows/YYYY/MM/DD/HH, ...\n"
            "and a symbolic link whose segment is not there (readers skip it) as\n"
            "  PATH: dangling link: ...\n"
            "\n"
            "Exit status: 0 every segment is good, 1 problems found (a damaged segment, one\n"
            "in the wrong folder, a dangling link or a temporary segment not recovered), 2\n"
            "could not run.\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            verify_usage(stdout);
            return CMD_OK;
        }
        verify_usage(stderr);
        return CMD_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "flowhunt verify: give one data directory or segment file (see "
                        "flowhunt verify --help)\n");
        return CMD_USAGE;
    }
    const char *path = argv[optind];
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "flowhunt verify: %s: %s\n", path, strerror(errno));
        return CMD_USAGE;
    }
    verify_ctx_t c;
    memset(&c, 0, sizeof c);
    char *one[1];
    if (S_ISDIR(st.st_mode)) {
        if (cmd_data_dir("flowhunt verify", path) != 0)
            return CMD_USAGE;
        c.n = seg_dir_list(path, 0, UINT64_MAX, &c.paths);
        if (c.n < 0) {
            fprintf(stderr, "flowhunt verify: %s: cannot list the segments: %s (%s)\n", path,
                    seg_strerror(c.n), strerror(errno));
            return CMD_USAGE;
        }
    } else if (S_ISREG(st.st_mode)) {
        one[0] = (char *)path;
        c.paths = one;
        c.n = 1;
    } else {
        fprintf(stderr, "flowhunt verify: %s: neither a directory nor a file\n", path);
        return CMD_USAGE;
    }
    c.res = calloc((size_t)c.n + 1, sizeof *c.res);
    if (!c.res) {
        fprintf(stderr, "flowhunt verify: out of memory\n");
        if (c.paths != one)
            seg_dir_list_free(c.paths, c.n);
        return CMD_USAGE;
    }
    cmd_progress_init(&c.progress, 1);
    cmd_par_each(verify_one, &c, (size_t)c.n, cmd_workers());
    cmd_progress_done(&c.progress);

    int bad = 0, gone = 0;
    uint64_t total = 0;
    for (int i = 0; i < c.n; i++) {
        /* listed, then removed by `flowhunt expire` before it was opened: not damage. A name
         * still there whose file is not (a symbolic link to a segment moved to a disk that is
         * not mounted) was not removed: its flows are unreadable, and readers pass over it as
         * over an expired one, so saying so is verify's job. */
        struct stat lst;
        if (S_ISDIR(st.st_mode) && seg_open_gone(c.res[i].rc, &c.res[i].where)) {
            if (lstat(c.paths[i], &lst) == 0 && S_ISLNK(lst.st_mode)) {
                bad++;
                printf("%s: dangling link: the segment it points to is not there (a disk not "
                       "mounted?); readers skip its flows\n",
                       c.paths[i]);
            } else {
                gone++;
            }
            continue;
        }
        total += c.res[i].size;
        char want[64];
        if (c.res[i].rc == 0 && S_ISDIR(st.st_mode) &&
            verify_wrong_folder(path, c.paths[i], want, sizeof want)) {
            bad++;
            printf("%s: wrong folder: its name's hour is %s, where reads with --from/--to look "
                   "for it (move it there)\n",
                   c.paths[i], want);
            continue;
        }
        if (c.res[i].rc != 0) {
            bad++;
            int code = c.res[i].rc < 0 ? -c.res[i].rc : c.res[i].rc;
            printf("%s: offset %llu: %s: %s", c.res[i].where.path,
                   (unsigned long long)c.res[i].where.offset, seg_err_name(code),
                   seg_strerror(code));
            if (c.res[i].where.sys_errno)
                printf(" (%s)", strerror(c.res[i].where.sys_errno));
            putchar('\n');
        }
    }
    int left = 0, live = 0;
    if (S_ISDIR(st.st_mode) && (left = verify_leftovers(path, &live)) < 0)
        left = 1; /* could not look: not all good either */
    fflush(stdout);
    char sz[32];
    cmd_fmt_bytes(sz, sizeof sz, total);
    int n = c.n - gone; /* verified */
    if (n == 0)
        fprintf(stderr, "flowhunt verify: %s: no segments\n", path);
    else if (bad == 0)
        fprintf(stderr, "flowhunt verify: %d segment%s (%s): %s\n", n, n == 1 ? "" : "s", sz,
                left ? "good" : "all good");
    else
        fprintf(stderr, "flowhunt verify: %d of %d segments (%s) have problems\n", bad, n, sz);
    if (left > 0)
        fprintf(stderr,
                "flowhunt verify: %d temporary segment%s not recovered (their flows are not "
                "read): start the instances named above\n",
                left, left == 1 ? "" : "s");
    if (live > 0)
        fprintf(stderr, "flowhunt verify: %d temporary segment%s of live writers skipped\n", live,
                live == 1 ? "" : "s");
    if (gone > 0)
        fprintf(stderr, "flowhunt verify: %d segment%s removed since the listing (expire)\n", gone,
                gone == 1 ? "" : "s");
    free(c.res);
    if (c.paths != one)
        seg_dir_list_free(c.paths, c.n);
    return bad || left ? CMD_PROBLEMS : CMD_OK;
}
