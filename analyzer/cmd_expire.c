/* cmd_expire.c: `flowhunt expire`, nfexpire for a data directory: delete the oldest segments
 * until none is older than --max-age and the segments take at most --max-size.
 *
 * Safe while collectors write, by construction rather than by locking: it lists only complete
 * segments (a writer's file in progress is a dot-name, which is never listed, let alone
 * deleted); a segment completed after the listing is simply not counted this time; a reader
 * with a segment open keeps reading it after the unlink (the inode lives until it is closed).
 * Age is the segment's interval start, taken from its name, so imported history expires by
 * when its traffic happened, not by when it was imported. Hour folders emptied here are
 * removed only once their hour is two hours past, so a daemon about to start the current
 * hour's segment never finds its folder gone.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cmd.h"
#include "hunt.h"
#include "timearg.h"

#define EXPIRE_RMDIR_AFTER_MS (2 * 3600 * 1000ull)

typedef struct expire_seg {
    char *path;
    uint64_t start_ms; /* interval start, from the name */
    uint64_t size;
} expire_seg_t;

/* Parses a size: a number with an optional K, M, G or T (powers of 1024, as nfexpire), and
 * an optional trailing "B" or "iB". 0 or -1. */
int expire_parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    int shift = 0;
    switch (*p) {
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    }
    if (shift) {
        p++;
        if (*p == 'i')
            p++;
    }
    if (*p == 'B' || *p == 'b')
        p++;
    if (*p != '\0' || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = v << shift;
    return 0;
}

static int expire_cmp(const void *a, const void *b)
{
    const expire_seg_t *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Removes the hour folder of `path` and its parents up to DIR/flows when they are empty. */
static void expire_prune_dirs(const char *dir, const char *path)
{
    char d[4096];
    char top[4096];
    snprintf(top, sizeof top, "%s/flows", dir);
    snprintf(d, sizeof d, "%s", path);
    for (int level = 0; level < 4; level++) {
        char *slash = strrchr(d, '/');
        if (!slash)
            return;
        *slash = '\0';
        if (strcmp(d, top) == 0 || strlen(d) <= strlen(top))
            return;
        if (rmdir(d) != 0)
            return; /* not empty (or gone): its parents are not empty either */
    }
}

static void expire_usage(FILE *f)
{
    fprintf(f, "usage: flowhunt expire DIR [--max-age D] [--max-size S] [--dry-run] [-v]\n"
               "\n"
               "Deletes the oldest segments of DIR until none is older than D and all of them\n"
               "take at most S bytes (nfexpire). A segment's age is the start of its interval\n"
               "(in its name), so imported history expires by when its traffic happened. Safe\n"
               "while collectors write: files in progress (dot-names) are never touched.\n"
               "The hunts' prepared hours (DIR/hunt/cache) more than a day older than the\n"
               "oldest segment kept go too.\n"
               "\n"
               "  --max-age D   N followed by s, m, h, d or w (30d, 12h)\n"
               "  --max-size S  N bytes, or N with K, M, G or T (powers of 1024: 500G, 2T)\n"
               "  --dry-run     print what would be deleted, delete nothing\n"
               "  -v            print each deleted segment\n"
               "\n"
               "Removals are recorded in DIR/hunt/audit.log (flowhunt audit verify DIR).\n"
               "\n"
               "Exit status: 0 success, 1 a segment could not be deleted, 2 usage, the\n"
               "directory could not be read or the audit log could not be written.\n");
}

int cmd_expire(int argc, char **argv)
{
    static const struct option opts[] = {
        {"max-age", required_argument, NULL, 'a'}, {"max-size", required_argument, NULL, 's'},
        {"dry-run", no_argument, NULL, 'n'},       {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    uint64_t max_age = 0, max_size = 0;
    int have_age = 0, have_size = 0, dry = 0, verbose = 0, opt;
    optind = 1;
    while ((opt = cmd_getopt("flowhunt expire", argc, argv, ":hv", opts)) != -1) {
        switch (opt) {
        case 'a':
            if (timearg_duration(optarg, &max_age) != 0) {
                fprintf(stderr,
                        "flowhunt expire: --max-age takes N followed by s, m, h, d or w, not "
                        "'%s'\n",
                        optarg);
                return CMD_USAGE;
            }
            have_age = 1;
            break;
        case 's':
            if (expire_parse_size(optarg, &max_size) != 0) {
                fprintf(stderr,
                        "flowhunt expire: --max-size takes N bytes or N with K, M, G or T, not "
                        "'%s'\n",
                        optarg);
                return CMD_USAGE;
            }
            have_size = 1;
            break;
        case 'n':
            dry = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            expire_usage(stdout);
            return CMD_OK;
        default:
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "flowhunt expire: give one data directory (see flowhunt expire --help)\n");
        return CMD_USAGE;
    }
    if (!have_age && !have_size) {
        fprintf(stderr, "flowhunt expire: give --max-age, --max-size or both\n");
        return CMD_USAGE;
    }
    const char *dir = argv[optind];
    if (cmd_data_dir("flowhunt expire", dir) != 0)
        return CMD_USAGE;
    char **paths;
    int n = seg_dir_list(dir, 0, UINT64_MAX, &paths);
    if (n < 0) {
        fprintf(stderr, "flowhunt expire: %s: cannot list the segments: %s (%s)\n", dir,
                seg_strerror(n), strerror(errno));
        return CMD_USAGE;
    }
    expire_seg_t *segs = calloc((size_t)n + 1, sizeof *segs);
    if (!segs) {
        fprintf(stderr, "flowhunt expire: out of memory\n");
        seg_dir_list_free(paths, n);
        return CMD_USAGE;
    }
    int m = 0;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        uint64_t t;
        struct stat st;
        /* a name we did not write is not ours to delete */
        if (seg_dir_name_time(paths[i], &t) != 0 || stat(paths[i], &st) != 0)
            continue;
        segs[m].path = paths[i];
        segs[m].start_ms = t;
        segs[m].size = (uint64_t)st.st_size;
        total += segs[m].size;
        m++;
    }
    if ((size_t)m > 1)
        qsort(segs, (size_t)m, sizeof *segs, expire_cmp);

    uint64_t now = cmd_now_ms();
    uint64_t cutoff = have_age && max_age < now ? now - max_age : 0;
    uint64_t del_n = 0, del_bytes = 0;
    int status = CMD_OK;
    au_expire_t audit = {0}; /* what was removed, hashed before the unlink (audit.h) */
    /* the audit log must take the entry before anything goes: held until it has it */
    int any = m > 0 && ((have_age && segs[0].start_ms < cutoff) || (have_size && total > max_size));
    if (!dry && any && au_expire_begin(&audit, dir) != 0) {
        fprintf(stderr, "flowhunt expire: nothing deleted\n");
        free(segs);
        seg_dir_list_free(paths, n);
        return CMD_USAGE;
    }
    uint64_t oldest_kept = UINT64_MAX;
    for (int i = 0; i < m; i++) {
        int old = have_age && segs[i].start_ms < cutoff;
        int big = have_size && total - del_bytes > max_size;
        if (!old && !big) {
            if (segs[i].start_ms < oldest_kept)
                oldest_kept = segs[i].start_ms;
            break; /* oldest first: everything after is younger and fits */
        }
        char sz[32];
        cmd_fmt_bytes(sz, sizeof sz, segs[i].size);
        int hashed = 0;
        if (dry) {
            printf("would delete %s (%s)\n", segs[i].path, sz);
        } else if ((hashed = au_expire_hash(&audit, dir, segs[i].path)) < 0) {
            fprintf(stderr, "flowhunt expire: %s: cannot hash it for the audit log, kept: %s\n",
                    segs[i].path, strerror(errno));
            status = CMD_PROBLEMS;
            if (segs[i].start_ms < oldest_kept)
                oldest_kept = segs[i].start_ms;
            continue;
        } else if (unlink(segs[i].path) != 0 && errno != ENOENT) {
            fprintf(stderr, "flowhunt expire: %s: %s\n", segs[i].path, strerror(errno));
            if (hashed == 0)
                au_expire_forget(&audit);
            status = CMD_PROBLEMS;
            if (segs[i].start_ms < oldest_kept)
                oldest_kept = segs[i].start_ms;
            continue;
        } else {
            if (verbose)
                printf("deleted %s (%s)\n", segs[i].path, sz);
            if (segs[i].start_ms + EXPIRE_RMDIR_AFTER_MS < now)
                expire_prune_dirs(dir, segs[i].path);
        }
        del_n++;
        del_bytes += segs[i].size;
    }
    /* The hunts' prepared hours (DIR/hunt/cache) of data now gone: a day before the oldest
     * segment kept, so the hours its long flows reach back into stay. Deleting one is always
     * safe (a hunt that needs it prepares it again); keeping them would grow without end. */
    if (!dry && del_n)
        hu_expire(dir, oldest_kept == UINT64_MAX ? UINT64_MAX
                       : oldest_kept > 86400000ull ? oldest_kept - 86400000ull
                                                   : 0);
    /* the lists of segments out of place, of days none of whose segments is left (a writer
     * may be noting one this minute: with nothing kept, only days before yesterday) */
    if (!dry && del_n) {
        uint64_t keep_from = now > 86400000ull ? now - 86400000ull : 0;
        if (oldest_kept < keep_from)
            keep_from = oldest_kept;
        if (seg_dir_misplaced_expire(dir, keep_from) != 0) {
            fprintf(stderr, "flowhunt expire: %s/flows/misplaced: %s\n", dir, strerror(errno));
            status = CMD_PROBLEMS;
        }
    }
    /* one audit entry for the segments removed (none on a dry run) */
    if (au_record_expire(&audit, dir, argc, argv, now, status) != 0)
        status = CMD_USAGE;
    char a[32], b[32];
    cmd_fmt_bytes(a, sizeof a, del_bytes);
    cmd_fmt_bytes(b, sizeof b, total - del_bytes);
    fprintf(stderr, "flowhunt expire: %s %llu segment%s (%s); %llu kept (%s)\n",
            dry ? "would delete" : "deleted", (unsigned long long)del_n, del_n == 1 ? "" : "s", a,
            (unsigned long long)((uint64_t)m - del_n), b);
    free(segs);
    seg_dir_list_free(paths, n);
    return status;
}
