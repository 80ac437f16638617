/* worker.h: one decoding thread of the daemon.
 *
 * Each worker owns a datagram queue, an ingest (exporter table and template cache) and a
 * segment writer. The receive loop gives every datagram of one exporter to the same worker
 * (by a hash of its address), so an exporter's templates, sequence numbers and held data
 * live in one place and its datagrams are decoded in order, while different exporters use
 * both cores. Nothing is shared between workers except what they publish for the stats.
 */
#ifndef FH_WORKER_H
#define FH_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include "dq.h"
#include "ingest.h"
#include "printq.h"
#include "seg.h"

typedef struct worker_opts {
    int n_workers;
    const char *dir;      /* data directory */
    const char *instance; /* collector instance; the worker's writer adds "-w<id>" */
    size_t queue_bytes;
    uint32_t flush_ms;
    uint32_t rotate_s;
    size_t tpl_bytes, held_bytes; /* the template cache's bounds; 0: its defaults */
    pq_t *print;                  /* --print: every flow stored is printed there too; or NULL */
} worker_opts_t;

typedef struct worker {
    int id, n_workers;
    dq_t q;
    ingest_t ingest;
    seg_writer_t *writer;
    pq_t *print;        /* --print, or NULL */
    pq_buf_t print_buf; /* this worker's formatted flows not yet handed to `print` */
    pthread_t thread;
    int started;
    uint64_t place_ms; /* arrival time of the datagram being decoded */
    uint64_t store_errors;
    uint64_t flows_dropped;  /* the writer's count of flows lost to write errors, at the stop */
    exp_interval_t interval; /* exporter counters at the previous segment's end */
    uint64_t logged_exp_evicted, logged_scopes_evicted; /* evictions the log has told of */
    uint64_t evict_logged_ms;                           /* when it last did */
    char state_dir[4096];                               /* DIR/state/<instance> */
    seg_where_t open_where;                             /* why the writer could not be opened */
    /* What the stats timer reads, rendered by the worker under pub_mu. */
    pthread_mutex_t pub_mu;
    char *prom;
    size_t prom_len, prom_cap;
    char summary[512];
    _Atomic int publish_requested;
} worker_t;

/* The worker that owns an exporter: all its datagrams go there (FNV-1a of the address). */
static inline int worker_for(const flow_addr_t *a, int n_workers)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ a->b[i]) * 1099511628211ull;
    return (int)(h % (uint64_t)n_workers);
}

int worker_start(worker_t *w, int id, const worker_opts_t *opts, char *err, size_t err_cap);
/* Closes the queue, lets the worker drain it, saves templates, completes its segments.
 * Its last published counters and flows_dropped stay readable until worker_free(). */
void worker_stop(worker_t *w);
/* Recovers the temporary segments of this instance's workers beyond opts->n_workers (a crash
 * while --workers was higher): no writer of theirs opens otherwise, and readers skip
 * temporary files. Call once the workers have started: holding <instance>-w0's lock, no
 * other daemon of the instance runs. Failures are logged; the files stay for a later try. */
void worker_recover_former(const worker_opts_t *opts);
void worker_free(worker_t *w);
/* Asks the worker to render its counters (picked up within its next wake-up). */
void worker_request_publish(worker_t *w);

#endif
