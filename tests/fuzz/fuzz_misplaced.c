/* fuzz_misplaced.c: a collector's list of segments stored out of place,
 * DIR/flows/misplaced/<instance>-YYYYMMDD.tsv, as every windowed reader lists segments through
 * it (seg_dir_list in storage/seg_dir.c: one "<tmin>\t<tmax>\t<path under DIR>" line each).
 *
 * The input is the list, written into a scratch data directory of its own for each run
 * (removed after it) beside two segments and a hidden file in their hour's folder, and a folder
 * named like a segment. Besides no crash, hang or leak: every listing is in strictly ascending
 * order, names only regular files under DIR/flows/ that end in ".seg" and are not hidden, and
 * a window that meets the folder's hour still lists both of its segments, whatever the list
 * says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "seg.h"

#define FUZZ_MP_HOUR "/flows/2026/11/23/05"
#define FUZZ_MP_T0 1795410000000ull /* 2026-11-23T05:00:00Z */

/* The scratch tree under the run's directory, parents first; a trailing '/' marks a folder. */
static const char *const fuzz_mp_tree[] = {
    "/flows/",
    "/flows/2026/",
    "/flows/2026/11/",
    "/flows/2026/11/23/",
    FUZZ_MP_HOUR "/",
    FUZZ_MP_HOUR "/fh-20261123T050000Z-a-000001.seg",
    FUZZ_MP_HOUR "/fh-20261123T051000Z-a-000002.seg",
    FUZZ_MP_HOUR "/.fh-20261123T052000Z-a-000003.seg",
    "/flows/misplaced/",
    "/flows/misplaced/dir.seg/", /* named like a segment, where the walk does not look */
};
#define FUZZ_MP_N (sizeof fuzz_mp_tree / sizeof *fuzz_mp_tree)
#define FUZZ_MP_LIST "/flows/misplaced/a-20261123.tsv"

static int fuzz_mp_build(const char *dir)
{
    char path[256];
    for (size_t i = 0; i < FUZZ_MP_N; i++) {
        const char *rel = fuzz_mp_tree[i];
        size_t n = strlen(rel);
        snprintf(path, sizeof path, "%s%.*s", dir, (int)(rel[n - 1] == '/' ? n - 1 : n), rel);
        if (rel[n - 1] == '/' ? mkdir(path, 0700) != 0 : fuzz_put_file(path, NULL, 0) != 0)
            return -1;
    }
    return 0;
}

static void fuzz_mp_remove(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s" FUZZ_MP_LIST, dir);
    unlink(path);
    for (size_t i = FUZZ_MP_N; i-- > 0;) {
        const char *rel = fuzz_mp_tree[i];
        size_t n = strlen(rel);
        snprintf(path, sizeof path, "%s%.*s", dir, (int)(rel[n - 1] == '/' ? n - 1 : n), rel);
        if (rel[n - 1] == '/')
            rmdir(path);
        else
            unlink(path);
    }
    rmdir(dir);
}

/* Lists [from, to) and checks the promises; `in_hour`: the window meets the folder's hour. */
static void fuzz_mp_check(const char *dir, uint64_t from, uint64_t to, int in_hour)
{
    char **paths = NULL;
    int n = seg_dir_list(dir, from, to, &paths);
    if (n < 0)
        __builtin_trap(); /* the list's content is never an error: bad lines are skipped */
    char prefix[128];
    int pl = snprintf(prefix, sizeof prefix, "%s/flows/", dir);
    int found = 0;
    for (int i = 0; i < n; i++) {
        const char *p = paths[i], *base = strrchr(p, '/');
        size_t len = strlen(p);
        struct stat st;
        if (strncmp(p, prefix, (size_t)pl) != 0 || strstr(p, "/../") || !base || base[1] == '.' ||
            len < 4 || strcmp(p + len - 4, ".seg") != 0 || stat(p, &st) != 0 ||
            !S_ISREG(st.st_mode))
            __builtin_trap();
        if (i > 0 && strcmp(paths[i - 1], p) >= 0)
            __builtin_trap(); /* sorted, each once */
        if (strstr(p, FUZZ_MP_HOUR "/fh-20261123T05"))
            found++;
    }
    if (in_hour && found < 2)
        __builtin_trap();
    seg_dir_list_free(paths, n);
}

int fuzz_misplaced_one(const uint8_t *data, size_t size)
{
    char dir[64], list[160];
    snprintf(dir, sizeof dir, "/tmp/fuzz_misplaced.XXXXXX");
    if (!mkdtemp(dir))
        return 0;
    snprintf(list, sizeof list, "%s" FUZZ_MP_LIST, dir);
    if (fuzz_mp_build(dir) == 0 && fuzz_put_file(list, data, size) == 0) {
        fuzz_mp_check(dir, 1, UINT64_MAX, 1); /* bounded below: the lists are read */
        fuzz_mp_check(dir, FUZZ_MP_T0, FUZZ_MP_T0 + 1, 1);
        /* a later day: the folder is not listed, only what the list notes */
        fuzz_mp_check(dir, FUZZ_MP_T0 + 48 * 3600000ull, FUZZ_MP_T0 + 72 * 3600000ull, 0);
    }
    fuzz_mp_remove(dir);
    return 0;
}

FUZZ_ENTRY(misplaced)
