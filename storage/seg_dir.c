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
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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
    int tmp; /* collect the temporary segments (".fh-....seg.tmp") instead */
} seg_dir_acc_t;

static int seg_dir_collect(void *arg, const char *folder, const char *name)
{
    seg_dir_acc_t *a = arg;
    size_t n = strlen(name);
    if (a->tmp ? strncmp(name, ".fh-", 4) != 0 || n < 12 || strcmp(name + n - 8, ".seg.tmp") != 0
               : name[0] == '.' || n < 5 || strcmp(name + n - 4, ".seg") != 0)
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

/* ---- segments out of place ---------------------------------------------------------------- */

#define SEG_DIR_MISPLACED "flows/misplaced"
#define SEG_DIR_HOUR_MS (3600 * 1000ull)

/* The value of the n decimal digits at p, or -1 when one is not a digit. */
static int seg_dir_digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* f = {year, month, day, hour, minute, second} (UTC) in ms, when it is a real instant (every
 * field in range: timegm's result read back gives the same fields) at or after 1970. */
static int seg_dir_civil_ms(const int f[6], uint64_t *ms)
{
    struct tm tm = {0}, back;
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    time_t t = timegm(&tm);
    if (t < 0 || !gmtime_r(&t, &back) || back.tm_year != f[0] - 1900 || back.tm_mon != f[1] - 1 ||
        back.tm_mday != f[2] || back.tm_hour != f[3] || back.tm_min != f[4] || back.tm_sec != f[5])
        return -1;
    *ms = (uint64_t)t * 1000;
    return 0;
}

int seg_dir_name_time(const char *path, uint64_t *ms)
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    static const int at[6] = {3, 7, 9, 12, 14, 16}, len[6] = {4, 2, 2, 2, 2, 2};
    if (strncmp(name, "fh-", 3) != 0 || strnlen(name, 19) < 19 || name[11] != 'T' ||
        name[18] != 'Z')
        return -1;
    int f[6];
    for (int i = 0; i < 6; i++)
        if ((f[i] = seg_dir_digits(name + at[i], len[i])) < 0)
            return -1;
    return seg_dir_civil_ms(f, ms);
}

int seg_dir_in_place(uint64_t name_ms, uint64_t tmin, uint64_t tmax)
{
    /* the folder [a, a + 1h) is listed for every window that flows with time_start >=
     * a - BEFORE and time_end < a + 1h + AFTER can overlap (seg_dir_in_window) */
    uint64_t a = name_ms - name_ms % SEG_DIR_HOUR_MS;
    return tmin >= (a > SEG_DIR_MARGIN_BEFORE_MS ? a - SEG_DIR_MARGIN_BEFORE_MS : 0) &&
           tmax < seg_dir_sat_add(a + SEG_DIR_HOUR_MS, SEG_DIR_MARGIN_AFTER_MS);
}

int seg_dir_note_placement(const char *dir, const char *instance, const char *seg_path,
                           uint64_t tmin, uint64_t tmax)
{
    uint64_t name_ms;
    size_t dl = strlen(dir);
    if (seg_dir_name_time(seg_path, &name_ms) != 0 || strncmp(seg_path, dir, dl) != 0 ||
        seg_path[dl] != '/') {
        errno = EINVAL;
        return -1;
    }
    if (seg_dir_in_place(name_ms, tmin, tmax))
        return 0;
    char path[4096], line[4352];
    int n = snprintf(path, sizeof path, "%s/" SEG_DIR_MISPLACED, dir);
    int len = snprintf(line, sizeof line, "%" PRIu64 "\t%" PRIu64 "\t%s\n", tmin, tmax,
                       seg_path + dl + 1);
    if (n < 0 || (size_t)n >= sizeof path || len < 0 || (size_t)len >= sizeof line) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (seg_dir_mkdirs(path) != 0)
        return -1;
    /* a file per instance and day of the segments' names: `expire` deletes a day's once it
     * deleted every segment named that day, while writers append to later days' files */
    struct tm tm;
    seg_dir_tm(name_ms, &tm);
    n = snprintf(path, sizeof path, "%s/" SEG_DIR_MISPLACED "/%s-%04d%02d%02d.tsv", dir, instance,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* One instance's one writer appends here (its lock), a line in one write: readers see
     * whole lines or none of the last. Synced like the segment it names. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = write(fd, line, (size_t)len) == len && fdatasync(fd) == 0 ? 1 : -1;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* The day a misplaced list's name "<instance>-YYYYMMDD.tsv" carries, in ms; -1 if none. */
static int seg_dir_misplaced_day(const char *name, uint64_t *ms)
{
    size_t n = strlen(name);
    if (n < 14 || strcmp(name + n - 4, ".tsv") != 0 || name[n - 13] != '-')
        return -1;
    const char *p = name + n - 12;
    int f[6] = {seg_dir_digits(p, 4), seg_dir_digits(p + 4, 2), seg_dir_digits(p + 6, 2), 0, 0, 0};
    return f[0] < 0 || f[1] < 0 || f[2] < 0 ? -1 : seg_dir_civil_ms(f, ms);
}

/* Calls fn(arg, file, day) for every list "<instance>-YYYYMMDD.tsv" in DIR/flows/misplaced
 * (file: its path; day: its date in ms) until fn returns nonzero. 0 (also when there is no
 * such folder), fn's value, or -1 with errno. */
static int seg_dir_misplaced_each(const char *dir, int (*fn)(void *arg, const char *file,
                                                             uint64_t day), void *arg)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/" SEG_DIR_MISPLACED, dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        uint64_t day;
        if (e->d_name[0] == '.' || seg_dir_misplaced_day(e->d_name, &day) != 0)
            continue;
        char file[4400];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        rc = fn(arg, file, day);
    }
    closedir(d);
    return rc;
}

typedef struct seg_dir_expiry {
    uint64_t before_ms;
    int failed, e; /* an unlink failed (errno e): the others are still tried */
} seg_dir_expiry_t;

static int seg_dir_misplaced_unlink(void *arg, const char *file, uint64_t day)
{
    seg_dir_expiry_t *x = arg;
    if (day + 24 * SEG_DIR_HOUR_MS <= x->before_ms && unlink(file) != 0 && errno != ENOENT) {
        x->failed = 1;
        x->e = errno;
    }
    return 0;
}

int seg_dir_misplaced_expire(const char *dir, uint64_t before_ms)
{
    seg_dir_expiry_t x = {before_ms, 0, 0};
    if (seg_dir_misplaced_each(dir, seg_dir_misplaced_unlink, &x) != 0)
        return -1;
    errno = x.e;
    return x.failed ? -1 : 0;
}

/* One line of a misplaced list: "<tmin>\t<tmax>\t<path under DIR>"; 0 when it is one (a
 * segment's path under flows/, no "..", no dot file), else -1: the line is skipped. */
static int seg_dir_misplaced_line(char *line, uint64_t *tmin, uint64_t *tmax, const char **rel)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *end;
    if (!t2)
        return -1;
    errno = 0;
    *tmin = strtoull(line, &end, 10);
    if (errno || end != t1 || line[0] < '0' || line[0] > '9')
        return -1;
    *tmax = strtoull(t1 + 1, &end, 10);
    if (errno || end != t2 || t1[1] < '0' || t1[1] > '9')
        return -1;
    *rel = t2 + 1;
    const char *base = strrchr(*rel, '/');
    size_t n = strlen(*rel);
    if (strncmp(*rel, "flows/", 6) != 0 || strstr(*rel, "..") || !base || base[1] == '.' ||
        n < 5 || strcmp(*rel + n - 4, ".seg") != 0)
        return -1;
    return 0;
}

typedef struct seg_dir_window_acc {
    const char *dir;
    uint64_t from_ms, to_ms;
    seg_dir_acc_t *acc;
} seg_dir_window_acc_t;

/* Adds to the accumulator the segments of one list whose range meets the window and that
 * still exist (expire may have removed them). 0, or 1 out of memory. */
static int seg_dir_misplaced_read(void *arg, const char *file, uint64_t day)
{
    const seg_dir_window_acc_t *w = arg;
    (void)day; /* a list's day is its segments' names', not their flows' (a clock ahead) */
    FILE *f = fopen(file, "r");
    if (!f)
        return 0; /* gone, or not ours to read: its segments stay listed by folder only */
    int rc = 0;
    char line[4352];
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t ll = strlen(line);
        if (ll == 0 || line[ll - 1] != '\n')
            continue; /* cut short (a line too long, or the last one being written) */
        line[ll - 1] = '\0';
        uint64_t tmin, tmax;
        const char *rel;
        if (seg_dir_misplaced_line(line, &tmin, &tmax, &rel) != 0 || tmin >= w->to_ms ||
            tmax < w->from_ms)
            continue;
        char seg[4400], folder[4400];
        snprintf(seg, sizeof seg, "%s/%s", w->dir, rel);
        struct stat st;
        if (stat(seg, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        snprintf(folder, sizeof folder, "%s", seg);
        char *slash = strrchr(folder, '/');
        *slash = '\0';
        rc = seg_dir_collect(w->acc, folder, slash + 1);
    }
    fclose(f);
    return rc;
}

/* Adds to `a` the noted segments whose range meets [from, to). 0, or nonzero (a->nomem set
 * when out of memory). */
static int seg_dir_misplaced_list(const char *dir, uint64_t from_ms, uint64_t to_ms,
                                  seg_dir_acc_t *a)
{
    seg_dir_window_acc_t w = {dir, from_ms, to_ms, a};
    return seg_dir_misplaced_each(dir, seg_dir_misplaced_read, &w);
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
    /* a window lists the folders its flows can be in, plus the segments noted out of place
     * (all of them are in the folders of an unbounded listing) */
    if (rc == 0 && (from_ms > 0 || to_ms < UINT64_MAX))
        rc = seg_dir_misplaced_list(dir, from_ms, to_ms, &a);
    if (rc != 0 || a.n > INT32_MAX) {
        seg_dir_list_free(a.paths, (int)a.n);
        return a.nomem ? -SEG_E_NOMEM : -SEG_E_IO;
    }
    /* Folders are zero-padded and names start with the interval, so name order is time
     * order (and, within an interval, the writers' sequence order). */
    if (a.n > 1)
        qsort(a.paths, a.n, sizeof *a.paths, seg_dir_cmp);
    /* a noted segment may sit in a folder the window listed too: once */
    size_t m = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (m > 0 && strcmp(a.paths[m - 1], a.paths[i]) == 0)
            free(a.paths[i]);
        else
            a.paths[m++] = a.paths[i];
    }
    *out = a.paths;
    return (int)m;
}

int seg_dir_list_tmp(const char *dir, char ***out)
{
    *out = NULL;
    seg_dir_acc_t a = {.tmp = 1};
    int rc = seg_dir_walk(dir, seg_dir_collect, &a);
    if (rc != 0 || a.n > INT32_MAX) {
        seg_dir_list_free(a.paths, (int)a.n);
        return a.nomem ? -SEG_E_NOMEM : -SEG_E_IO;
    }
    if (a.n > 1)
        qsort(a.paths, a.n, sizeof *a.paths, seg_dir_cmp);
    *out = a.paths;
    return (int)a.n;
}

int seg_dir_tmp_instance(const char *path, char out[SEG_INSTANCE_MAX + 1])
{
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    size_t n = strlen(name);
    /* ".fh-" YYYYMMDDTHHMMSSZ "-" instance "-" digits ".seg.tmp" */
    if (strncmp(name, ".fh-", 4) != 0 || n < 4 + 16 + 1 + 1 + 2 + 8 || name[20] != '-' ||
        strcmp(name + n - 8, ".seg.tmp") != 0)
        return -1;
    const char *end = name + n - 8, *p = end;
    while (p > name + 21 && p[-1] >= '0' && p[-1] <= '9')
        p--;
    if (p == end || p[-1] != '-')
        return -1;
    size_t il = (size_t)(p - 1 - (name + 21));
    if (il == 0 || il > SEG_INSTANCE_MAX)
        return -1;
    memcpy(out, name + 21, il);
    out[il] = '\0';
    return seg_instance_ok(out) ? 0 : -1;
}

/* Whether a process holds the flock on the instance's writer.lock, read from /proc/locks
 * rather than by trying the lock: a probe, however short, would refuse a writer that starts
 * at that moment. Matched on the inode number alone: on an overlay file system stat() and
 * /proc/locks may name different devices for the same file. */
int seg_instance_live(const char *dir, const char *instance)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/state/%s/writer.lock", dir, instance);
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    FILE *f = fopen("/proc/locks", "r");
    if (!f)
        return -1;
    char line[256];
    int live = 0;
    while (!live && fgets(line, sizeof line, f)) {
        char kind[16];
        unsigned maj, min;
        unsigned long long ino;
        /* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10954505 0 EOF" ("1: -> FLOCK ..." waits) */
        if (sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%llu", kind, &maj, &min, &ino) == 4 &&
            strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)st.st_ino)
            live = 1;
    }
    fclose(f);
    return live;
}

void seg_dir_list_free(char **paths, int n)
{
    for (int i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
