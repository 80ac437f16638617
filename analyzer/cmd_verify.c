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
#include <ftw.h>
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

/* ---- segments where no listing looks --------------------------------------------------- */

/* Exactly `digits` decimal digits in [lo, hi] from p, ending at a '/'; the position after it,
 * or NULL. */
static const char *verify_num_dir(const char *p, int digits, int lo, int hi)
{
    int v = 0;
    for (int i = 0; i < digits; i++, p++) {
        if (*p < '0' || *p > '9')
            return NULL;
        v = v * 10 + (*p - '0');
    }
    return *p == '/' && v >= lo && v <= hi ? p + 1 : NULL;
}

/* nftw has no argument for its callback: one walk at a time */
static struct {
    size_t flows_len; /* of "DIR/flows" */
    char **paths;
    size_t n, cap;
    int nomem;
} verify_stray;

/* A segment name (not a dot file: a writer's) anywhere under DIR/flows but in an hour folder
 * YYYY/MM/DD/HH/ (the misplaced notes are .tsv files): no listing walks there, so no command
 * reads its flows, and verify, which checks what the listing gives, said all good. A segment
 * copied to flows/ itself, to a folder 2024/3/1/5, or one level too deep. */
static int verify_stray_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    const char *name = path + ftw->base;
    size_t n = strlen(name);
    if ((type != FTW_F && type != FTW_SL && type != FTW_SLN) || name[0] == '.' || n < 5 ||
        strcmp(name + n - 4, ".seg") != 0)
        return 0;
    const char *p = path + verify_stray.flows_len + 1; /* after "DIR/flows/" */
    if ((p = verify_num_dir(p, 4, 1970, 9999)) && (p = verify_num_dir(p, 2, 1, 12)) &&
        (p = verify_num_dir(p, 2, 1, 31)) && (p = verify_num_dir(p, 2, 0, 23)) && p == name)
        return 0;
    if (verify_stray.n == verify_stray.cap) {
        size_t cap = verify_stray.cap ? 2 * verify_stray.cap : 16;
        char **np = realloc(verify_stray.paths, cap * sizeof *np);
        if (!np) {
            verify_stray.nomem = 1;
            return 1;
        }
        verify_stray.paths = np;
        verify_stray.cap = cap;
    }
    if (!(verify_stray.paths[verify_stray.n] = strdup(path))) {
        verify_stray.nomem = 1;
        return 1;
    }
    verify_stray.n++;
    return 0;
}

static int verify_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names every stray segment under DIR/flows, in name order; how many (0 when there is no
 * flows/), or -1 out of memory. */
static int verify_strays(const char *dir)
{
    char flows[4200];
    int n = snprintf(flows, sizeof flows, "%s/flows", dir);
    if (n < 0 || (size_t)n >= sizeof flows)
        return 0;
    memset(&verify_stray, 0, sizeof verify_stray);
    verify_stray.flows_len = (size_t)n;
    /* a folder that cannot be read or vanishes under expire is the listing's to report */
    nftw(flows, verify_stray_one, 16, FTW_PHYS);
    if (verify_stray.n > 1)
        qsort(verify_stray.paths, verify_stray.n, sizeof *verify_stray.paths, verify_cmp_str);
    for (size_t i = 0; i < verify_stray.n; i++) {
        printf("%s: not in an hour folder (flows/YYYY/MM/DD/HH/): no command reads its flows\n",
               verify_stray.paths[i]);
        free(verify_stray.paths[i]);
    }
    free(verify_stray.paths);
    if (verify_stray.nomem) {
        fprintf(stderr, "flowhunt verify: out of memory\n");
        return -1;
    }
    return (int)verify_stray.n;
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
            "a symbolic link whose segment is not there (readers skip it) as\n"
            "  PATH: dangling link: ...\n"
            "and a segment under DIR/flows outside every hour folder (flows/ itself, a\n"
            "folder 2024/3/1/5, one level deeper), which no command reads, as\n"
            "  PATH: not in an hour folder (flows/YYYY/MM/DD/HH/): ...\n"
            "\n"
            "Exit status: 0 every segment is good, 1 problems found (a damaged segment, one\n"
            "in the wrong folder or in none, a dangling link or a temporary segment not\n"
            "recovered), 2 could not run.\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = cmd_getopt("flowhunt verify", argc, argv, ":h", opts)) != -1) {
        if (opt == 'h') {
            verify_usage(stdout);
            return CMD_OK;
        }
        return CMD_USAGE; /* cmd_getopt said why */
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
         * not mounted) was not removed: its flows are unreadable, readers leave them out with
         * a warning, and to verify it is a problem. */
        if (S_ISDIR(st.st_mode) && seg_open_gone(c.res[i].rc, &c.res[i].where)) {
            if (seg_path_dangling(c.paths[i])) {
                bad++;
                printf("%s: dangling link: the segment it points to is not there (a disk not "
                       "mounted?); readers leave its flows out, with a warning\n",
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
    int left = 0, live = 0, strays = 0;
    if (S_ISDIR(st.st_mode) && (strays = verify_strays(path)) < 0) {
        free(c.res);
        seg_dir_list_free(c.paths, c.n);
        return CMD_USAGE;
    }
    bad += strays;
    if (S_ISDIR(st.st_mode) && (left = verify_leftovers(path, &live)) < 0)
        left = 1; /* could not look: not all good either */
    fflush(stdout);
    char sz[32];
    cmd_fmt_bytes(sz, sizeof sz, total);
    int n = c.n - gone + strays; /* verified, and found where none is read */
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
