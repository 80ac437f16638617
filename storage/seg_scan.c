/* seg_scan.c: a scan of a data directory's segments over a time window, on several threads.
 *
 * The unit of work is a segment: each worker takes the next unread path from a shared counter,
 * opens (maps and validates) it, and hands its row groups to the caller's callbacks, so
 * segments never move between threads and the callbacks need only per-worker state. Groups
 * whose time range misses the window are skipped from the footer alone, and the caller's
 * want() can skip more from the zone maps; the batch callback loads only the columns it needs.
 * The first error (a corrupt segment, a callback's refusal) stops every worker at its next
 * group and is what the scan returns.
 *
 * With SEG_SCAN_GROUPS the unit is a row group instead: a shared cursor (segment, group) hands
 * out the next group, the segment opened by whichever worker reaches it first and closed by
 * whichever finishes its last group (a count of groups not yet done). A store of a few large
 * segments (a daemon's hour) then splits evenly over the workers, where whole segments split
 * as unevenly as their sizes. Not the default: callbacks that keep per-segment state in
 * per-worker state (the hunts' preparation) need a segment's groups on one thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

#define SEG_SCAN_MAX_WORKERS 64

/* A segment in group mode: open while some of its groups are handed out and not done. */
typedef struct seg_scan_file {
    seg_file_t *f;
    atomic_uint pending; /* groups handed out or still to hand out, not yet done */
} seg_scan_file_t;

/* A worker's part of seg_scan_stats_t: its counters, not the dangling link's path. */
typedef struct seg_scan_counts {
    uint64_t segments, groups, groups_skipped, rows;
} seg_scan_counts_t;

typedef struct seg_scan_ctx {
    char **paths;
    int n_paths;
    /* group mode: the cursor, guarded by `take` */
    pthread_mutex_t take;
    int cur_path;
    uint32_t cur_group;
    seg_scan_file_t *files;
    uint64_t from_ms, to_ms;
    unsigned flags;
    seg_want_fn want;
    seg_batch_fn batch;
    void *arg;
    atomic_int next; /* index of the next path to take */
    atomic_int stop;
    pthread_mutex_t mu; /* guards rc, where and the dangling links' */
    int rc;
    seg_where_t where;
    uint64_t n_dangling;
    int first_dangling; /* the lowest index of a dangling link's path; -1 none */
    seg_scan_counts_t stats[SEG_SCAN_MAX_WORKERS];
} seg_scan_ctx_t;

typedef struct seg_scan_worker {
    seg_scan_ctx_t *ctx;
    int id;
} seg_scan_worker_t;

/* Keeps the first error only: later ones are usually consequences of the stop. */
static void seg_scan_error(seg_scan_ctx_t *c, int rc, const seg_where_t *where)
{
    pthread_mutex_lock(&c->mu);
    if (c->rc == 0) {
        c->rc = rc;
        c->where = *where;
    }
    pthread_mutex_unlock(&c->mu);
    atomic_store(&c->stop, 1);
}

/* Path i, listed and then not found at its open: skipped, and noted when it is a dangling
 * link (seg_path_dangling), not a segment removed since the listing. */
static void seg_scan_gone(seg_scan_ctx_t *c, int i)
{
    if (!seg_path_dangling(c->paths[i]))
        return;
    pthread_mutex_lock(&c->mu);
    c->n_dangling++;
    if (c->first_dangling < 0 || i < c->first_dangling)
        c->first_dangling = i;
    pthread_mutex_unlock(&c->mu);
}

/* One row group of an open segment: skipped by its time range or want(), else handed to the
 * batch callback. 0, or < 0 with the error recorded (the scan stops). */
static int seg_scan_group(seg_scan_ctx_t *c, int worker, seg_batch_t *b, seg_file_t *f, uint32_t g)
{
    seg_scan_counts_t *st = &c->stats[worker];
    seg_group_info_t gi;
    seg_where_t where;
    seg_group(f, g, &gi);
    int in_time = gi.time_min < c->to_ms && gi.time_max >= c->from_ms;
    if ((!in_time && !(c->flags & SEG_SCAN_ANY_TIME)) || (c->want && !c->want(c->arg, f, g))) {
        st->groups_skipped++;
        return 0;
    }
    if (!c->batch) /* a scan of the groups' headers: want() saw all it needs */
        return 0;
    int rc = seg_batch_open(b, f, g, &where);
    if (rc == 0) {
        rc = c->batch(c->arg, worker, b);
        /* A callback's error: name at least the file, and the place when it passed on a
         * failed load's code (the load's own where was the callback's) */
        if (rc < 0)
            seg_where_set(&where, seg_file_path(f), -rc < SEG_N_ERRORS ? -rc : 0,
                          b->err_code == -rc ? b->err_offset : 0, 0);
    }
    if (rc < 0) {
        seg_scan_error(c, rc, &where);
        return rc;
    }
    st->groups++;
    st->rows += gi.n_rows;
    return 0;
}

static void *seg_scan_run(void *arg)
{
    seg_scan_worker_t *wk = arg;
    seg_scan_ctx_t *c = wk->ctx;
    seg_scan_counts_t *st = &c->stats[wk->id];
    seg_batch_t b;
    seg_batch_init(&b);
    while (!atomic_load(&c->stop)) {
        int i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n_paths)
            break;
        seg_file_t *f;
        seg_where_t where;
        int rc = seg_open(c->paths[i], &f, &where);
        if (rc < 0) {
            /* Removed since the listing (expire runs beside hunts): not an error. */
            if (seg_open_gone(rc, &where)) {
                seg_scan_gone(c, i);
                continue;
            }
            seg_scan_error(c, rc, &where);
            break;
        }
        st->segments++;
        uint32_t n_groups = seg_n_groups(f);
        for (uint32_t g = 0; g < n_groups && !atomic_load(&c->stop); g++)
            if (seg_scan_group(c, wk->id, &b, f, g) < 0)
                break;
        seg_close(f);
    }
    seg_batch_free(&b);
    return NULL;
}

/* Group mode's cursor: the next (segment, group) to read, opening segments as it reaches
 * them. 1 with *fi and *g set, 0 when everything is handed out, < 0 on an error (recorded). */
static int seg_scan_take(seg_scan_ctx_t *c, int worker, int *fi, uint32_t *g)
{
    int rc = 0;
    pthread_mutex_lock(&c->take);
    while (c->cur_path < c->n_paths && !atomic_load(&c->stop)) {
        seg_scan_file_t *sf = &c->files[c->cur_path];
        if (!sf->f) {
            seg_where_t where;
            rc = seg_open(c->paths[c->cur_path], &sf->f, &where);
            if (rc < 0) {
                sf->f = NULL;
                /* Removed since the listing (expire runs beside hunts): not an error. */
                if (seg_open_gone(rc, &where)) {
                    seg_scan_gone(c, c->cur_path);
                    rc = 0;
                    c->cur_path++;
                    continue;
                }
                seg_scan_error(c, rc, &where);
                break;
            }
            c->stats[worker].segments++;
            uint32_t n = seg_n_groups(sf->f);
            if (n == 0) {
                seg_close(sf->f);
                sf->f = NULL;
                c->cur_path++;
                continue;
            }
            atomic_init(&sf->pending, n);
            c->cur_group = 0;
        }
        /* Past its last group the cursor leaves the segment at once: whoever finishes that
         * group closes it, and nothing here may look at it again. */
        *fi = c->cur_path;
        *g = c->cur_group++;
        if (c->cur_group == seg_n_groups(sf->f))
            c->cur_path++;
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&c->take);
    return rc;
}

static void *seg_scan_run_groups(void *arg)
{
    seg_scan_worker_t *wk = arg;
    seg_scan_ctx_t *c = wk->ctx;
    seg_batch_t b;
    seg_batch_init(&b);
    int fi = 0;
    uint32_t g = 0;
    while (seg_scan_take(c, wk->id, &fi, &g) > 0) {
        seg_scan_file_t *sf = &c->files[fi];
        int rc = atomic_load(&c->stop) ? 0 : seg_scan_group(c, wk->id, &b, sf->f, g);
        /* b keeps a stale pointer to a closed file, never used: seg_batch_open replaces it */
        if (atomic_fetch_sub(&sf->pending, 1) == 1) {
            seg_close(sf->f);
            sf->f = NULL;
        }
        if (rc < 0)
            break;
    }
    seg_batch_free(&b);
    return NULL;
}

int seg_scan(const char *dir, uint64_t from_ms, uint64_t to_ms, int n_workers, seg_want_fn want,
             seg_batch_fn batch, void *arg, seg_scan_stats_t *stats, seg_where_t *where)
{
    return seg_scan_flags(dir, from_ms, to_ms, n_workers, 0, want, batch, arg, stats, where);
}

int seg_scan_flags(const char *dir, uint64_t from_ms, uint64_t to_ms, int n_workers, unsigned flags,
                   seg_want_fn want, seg_batch_fn batch, void *arg, seg_scan_stats_t *stats,
                   seg_where_t *where)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!dir || (!batch && !want) || from_ms > to_ms)
        return seg_where_set(where, dir, SEG_E_USAGE, 0, 0);
    if (n_workers < 1)
        n_workers = 1;
    if (n_workers > SEG_SCAN_MAX_WORKERS)
        n_workers = SEG_SCAN_MAX_WORKERS;

    seg_scan_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return seg_where_set(where, dir, SEG_E_NOMEM, 0, ENOMEM);
    int n = seg_dir_list(dir, from_ms, to_ms, &c->paths);
    if (n < 0) {
        free(c);
        return seg_where_set(where, dir, -n, 0, errno);
    }
    c->n_paths = n;
    if ((flags & SEG_SCAN_GROUPS) && n > 0 && !(c->files = calloc((size_t)n, sizeof *c->files))) {
        seg_dir_list_free(c->paths, n);
        free(c);
        return seg_where_set(where, dir, SEG_E_NOMEM, 0, ENOMEM);
    }
    c->from_ms = from_ms;
    c->to_ms = to_ms;
    c->flags = flags;
    c->want = want;
    c->batch = batch;
    c->arg = arg;
    atomic_init(&c->next, 0);
    atomic_init(&c->stop, 0);
    c->first_dangling = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->take, NULL);
    void *(*run)(void *) = (flags & SEG_SCAN_GROUPS) ? seg_scan_run_groups : seg_scan_run;

    /* No more threads than segments (in group mode, than segments' groups, not known before
     * their footers: at least one segment); the caller's thread is worker 0. */
    if (n_workers > n && !((flags & SEG_SCAN_GROUPS) && n > 0))
        n_workers = n > 0 ? n : 1;
    seg_scan_worker_t wk[SEG_SCAN_MAX_WORKERS];
    pthread_t th[SEG_SCAN_MAX_WORKERS];
    int started = 1;
    for (int i = 0; i < n_workers; i++)
        wk[i] = (seg_scan_worker_t){c, i};
    for (; started < n_workers; started++)
        if (pthread_create(&th[started], NULL, run, &wk[started]) != 0)
            break; /* fewer threads is slower, not wrong */
    run(&wk[0]);
    for (int i = 1; i < started; i++)
        pthread_join(th[i], NULL);

    if (stats) {
        for (int i = 0; i < n_workers; i++) {
            stats->segments += c->stats[i].segments;
            stats->groups += c->stats[i].groups;
            stats->groups_skipped += c->stats[i].groups_skipped;
            stats->rows += c->stats[i].rows;
        }
        stats->dangling = c->n_dangling;
        if (c->first_dangling >= 0)
            snprintf(stats->dangling_path, sizeof stats->dangling_path, "%s",
                     c->paths[c->first_dangling]);
    }
    int rc = c->rc;
    if (rc < 0 && where)
        *where = c->where;
    /* group mode, stopped early: segments whose groups were not all handed out */
    for (int i = 0; c->files && i < n; i++)
        if (c->files[i].f)
            seg_close(c->files[i].f);
    free(c->files);
    pthread_mutex_destroy(&c->take);
    pthread_mutex_destroy(&c->mu);
    seg_dir_list_free(c->paths, n);
    free(c);
    return rc;
}
