/* seg_scan.c: a scan of a data directory's segments over a time window, on several threads.
 *
 * The unit of work is a segment: each worker takes the next unread path from a shared counter,
 * opens (maps and validates) it, and hands its row groups to the caller's callbacks, so
 * segments never move between threads and the callbacks need only per-worker state. Groups
 * whose time range misses the window are skipped from the footer alone, and the caller's
 * want() can skip more from the zone maps; the batch callback loads only the columns it needs.
 * The first error (a corrupt segment, a callback's refusal) stops every worker at its next
 * group and is what the scan returns.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

#define SEG_SCAN_MAX_WORKERS 64

typedef struct seg_scan_ctx {
    char **paths;
    int n_paths;
    uint64_t from_ms, to_ms;
    seg_want_fn want;
    seg_batch_fn batch;
    void *arg;
    atomic_int next; /* index of the next path to take */
    atomic_int stop;
    pthread_mutex_t mu; /* guards rc and where */
    int rc;
    seg_where_t where;
    seg_scan_stats_t stats[SEG_SCAN_MAX_WORKERS];
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

static void *seg_scan_run(void *arg)
{
    seg_scan_worker_t *wk = arg;
    seg_scan_ctx_t *c = wk->ctx;
    seg_scan_stats_t *st = &c->stats[wk->id];
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
            if (rc == -SEG_E_IO && where.sys_errno == ENOENT)
                continue;
            seg_scan_error(c, rc, &where);
            break;
        }
        st->segments++;
        uint32_t n_groups = seg_n_groups(f);
        for (uint32_t g = 0; g < n_groups && !atomic_load(&c->stop); g++) {
            seg_group_info_t gi;
            seg_group(f, g, &gi);
            if (!(gi.time_min < c->to_ms && gi.time_max >= c->from_ms) ||
                (c->want && !c->want(c->arg, f, g))) {
                st->groups_skipped++;
                continue;
            }
            rc = seg_batch_open(&b, f, g, &where);
            if (rc == 0) {
                rc = c->batch(c->arg, wk->id, &b);
                /* A callback's error: name at least the file (a seg_batch_load error passed
                 * on as is keeps its name). */
                if (rc < 0)
                    seg_where_set(&where, seg_file_path(f), -rc < SEG_N_ERRORS ? -rc : 0, 0, 0);
            }
            if (rc < 0) {
                seg_scan_error(c, rc, &where);
                break;
            }
            st->groups++;
            st->rows += gi.n_rows;
        }
        seg_close(f);
    }
    seg_batch_free(&b);
    return NULL;
}

int seg_scan(const char *dir, uint64_t from_ms, uint64_t to_ms, int n_workers, seg_want_fn want,
             seg_batch_fn batch, void *arg, seg_scan_stats_t *stats, seg_where_t *where)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!dir || !batch || from_ms > to_ms)
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
    c->from_ms = from_ms;
    c->to_ms = to_ms;
    c->want = want;
    c->batch = batch;
    c->arg = arg;
    atomic_init(&c->next, 0);
    atomic_init(&c->stop, 0);
    pthread_mutex_init(&c->mu, NULL);

    /* No more threads than segments; the caller's thread is worker 0. */
    if (n_workers > n)
        n_workers = n > 0 ? n : 1;
    seg_scan_worker_t wk[SEG_SCAN_MAX_WORKERS];
    pthread_t th[SEG_SCAN_MAX_WORKERS];
    int started = 1;
    for (int i = 0; i < n_workers; i++)
        wk[i] = (seg_scan_worker_t){c, i};
    for (; started < n_workers; started++)
        if (pthread_create(&th[started], NULL, seg_scan_run, &wk[started]) != 0)
            break; /* fewer threads is slower, not wrong */
    seg_scan_run(&wk[0]);
    for (int i = 1; i < started; i++)
        pthread_join(th[i], NULL);

    if (stats) {
        for (int i = 0; i < n_workers; i++) {
            stats->segments += c->stats[i].segments;
            stats->groups += c->stats[i].groups;
            stats->groups_skipped += c->stats[i].groups_skipped;
            stats->rows += c->stats[i].rows;
        }
    }
    int rc = c->rc;
    if (rc < 0 && where)
        *where = c->where;
    pthread_mutex_destroy(&c->mu);
    seg_dir_list_free(c->paths, n);
    free(c);
    return rc;
}
