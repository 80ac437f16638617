/* seg_dir.c: the data directory's flow tree, DIR/flows/YYYY/MM/DD/HH/ (UTC), and the names of
 * the segments in it (storage/FORMAT.md, "Files and directories").
 *
 * Names do the coarse selection: a time window lists only the hour folders that can hold
 * overlapping flows, widened by margins because a segment named for one interval holds flows
 * that started before it (long flows, late arrivals). The footers' true time ranges then
 * decide, group by group. Names starting with a dot are a writer's unfinished segments and are
 * never listed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "seg_int.h"

/* A segment named for interval start S holds flows placed in [S - one interval, S + one
 * interval); the writer caps intervals at one hour, and active timeouts keep flows shorter
 * than another hour. So an hour folder [A, A + 1h) can hold flows with time_start down to
 * A - 2h and time_end up to A + 2h. */
#define SEG_DIR_MARGIN_BEFORE_MS (2 * 3600 * 1000ull)
#define SEG_DIR_MARGIN_AFTER_MS (3600 * 1000ull)

static void seg_dir_tm(uint64_t ms, struct tm *tm)
{
    time_t t = (time_t)(ms / 1000);
    gmtime_r(&t, tm);
}

void seg_dir_name(char *out, size_t cap, uint64_t start_ms, const char *instance, uint32_t seq)
{
    struct tm tm;
    seg_dir_tm(start_ms, &tm);
    snprintf(out, cap, "fh-%04d%02d%02dT%02d%02d%02dZ-%s-%06u.seg", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, instance, seq);
}

void seg_dir_hour(char *out, size_t cap, uint64_t start_ms)
{
    struct tm tm;
    seg_dir_tm(start_ms, &tm);
    snprintf(out, cap, "flows/%04d/%02d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour);
}

int seg_dir_mkdirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = saved;
    }
    return 0;
}

/* ---- walking ----------------------------------------------------------------------------- */

typedef struct seg_dir_walker {
    uint64_t from_ms, to_ms; /* window, or 0 and UINT64_MAX */
    int (*fn)(void *arg, const char *folder, const char *name);
    void *arg;
} seg_dir_walker_t;

/* A folder name of exactly `digits` decimal digits within [lo, hi]; -1 otherwise. */
static int seg_dir_num(const char *s, int digits, int lo, int hi)
{
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return s[digits] == '\0' && v >= lo && v <= hi ? v : -1;
}

static uint64_t seg_dir_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Could the folder covering segment starts [a_ms, b_ms) hold a flow overlapping the window? */
static int seg_dir_in_window(const seg_dir_walker_t *w, uint64_t a_ms, uint64_t b_ms)
{
    return a_ms < seg_dir_sat_add(w->to_ms, SEG_DIR_MARGIN_BEFORE_MS) &&
           seg_dir_sat_add(b_ms, SEG_DIR_MARGIN_AFTER_MS) > w->from_ms;
}

/* Start of a calendar unit in ms: level 0 year, 1 month, 2 day, 3 hour; `next` gives the
 * start of the following one. */
static uint64_t seg_dir_start(const int *ymdh, int level, int next)
{
    struct tm tm = {0};
    tm.tm_year = ymdh[0] - 1900;
    tm.tm_mon = level >= 1 ? ymdh[1] - 1 : 0;
    tm.tm_mday = level >= 2 ? ymdh[2] : 1;
    tm.tm_hour = level >= 3 ? ymdh[3] : 0;
    if (next) {
        if (level == 0)
            tm.tm_year++;
        else if (level == 1)
            tm.tm_mon++;
        else if (level == 2)
            tm.tm_mday++;
        else
            tm.tm_hour++;
    }
    time_t t = timegm(&tm); /* normalises month 13, day 32, hour 24 */
    return t < 0 ? 0 : (uint64_t)t * 1000;
}

static int seg_dir_walk_level(const seg_dir_walker_t *w, char *path, size_t path_len, int level,
                              int *ymdh)
{
    static const int digits[4] = {4, 2, 2, 2}, lo[4] = {1970, 1, 1, 0}, hi[4] = {9999, 12, 31, 23};
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT && level == 0 ? 0 : -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (level == 4) {
            rc = w->fn(w->arg, path, e->d_name);
            continue;
        }
        int v = seg_dir_num(e->d_name, digits[level], lo[level], hi[level]);
        if (v < 0)
            continue; /* not ours: a note someone left, lost+found, ... */
        ymdh[level] = v;
        if (!seg_dir_in_window(w, seg_dir_start(ymdh, level, 0), seg_dir_start(ymdh, level, 1)))
            continue;
        size_t n = strlen(e->d_name);
        if (path_len + 1 + n >= 4096)
            continue;
        path[path_len] = '/';
        memcpy(path + path_len + 1, e->d_name, n + 1);
        rc = seg_dir_walk_level(w, path, path_len + 1 + n, level + 1, ymdh);
        path[path_len] = '\0';
        /* A folder removed under us (expire) is not an error. */
        if (rc == -1 && errno == ENOENT)
            rc = 0;
    }
    if (rc == 0 && errno != 0 && e == NULL)
        rc = -1;
    closedir(d);
    return rc;
}

static int seg_dir_walk_window(const char *dir, uint64_t from_ms, uint64_t to_ms,
                               int (*fn)(void *arg, const char *folder, const char *name),
                               void *arg)
{
    seg_dir_walker_t w = {from_ms, to_ms, fn, arg};
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/flows", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int ymdh[4] = {0};
    return seg_dir_walk_level(&w, path, (size_t)n, 0, ymdh);
}

int seg_dir_walk(const char *dir, int (*fn)(void *arg, const char *folder, const char *name),
                 void *arg)
{
    return seg_dir_walk_window(dir, 0, UINT64_MAX, fn, arg);
}

/* ---- listing ----------------------------------------------------------------------------- */

typedef struct seg_dir_acc {
    char **paths;
    size_t n, cap;
    int nomem;
} seg_dir_acc_t;

static int seg_dir_collect(void *arg, const char *folder, const char *name)
{
    seg_dir_acc_t *a = arg;
    size_t n = strlen(name);
    if (name[0] == '.' || n < 5 || strcmp(name + n - 4, ".seg") != 0)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        char **p = realloc(a->paths, cap * sizeof *p);
        if (!p) {
            a->nomem = 1;
            return 1;
        }
        a->paths = p;
        a->cap = cap;
    }
    size_t len = strlen(folder) + 1 + n + 1;
    char *s = malloc(len);
    if (!s) {
        a->nomem = 1;
        return 1;
    }
    snprintf(s, len, "%s/%s", folder, name);
    a->paths[a->n++] = s;
    return 0;
}

static int seg_dir_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int seg_dir_list(const char *dir, uint64_t from_ms, uint64_t to_ms, char ***out)
{
    *out = NULL;
    if (!dir)
        return -SEG_E_USAGE;
    seg_dir_acc_t a = {0};
    int rc = seg_dir_walk_window(dir, from_ms, to_ms, seg_dir_collect, &a);
    if (rc != 0 || a.n > INT32_MAX) {
        seg_dir_list_free(a.paths, (int)a.n);
        return a.nomem ? -SEG_E_NOMEM : -SEG_E_IO;
    }
    /* Folders are zero-padded and names start with the interval, so name order is time
     * order (and, within an interval, the writers' sequence order). */
    if (a.n && a.n > 1)
        qsort(a.paths, a.n, sizeof *a.paths, seg_dir_cmp);
    *out = a.paths;
    return (int)a.n;
}

void seg_dir_list_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
