/* worker.c: the decoding thread (see worker.h). */
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tpl_store.h"

#define WORKER_TICK_MS 200

static uint64_t worker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A write that failed (a full disk, an I/O error): the writer has counted the flows it
 * dropped; the log says which file and why. Most writes happen on the worker's tick, not
 * when a flow is added, and a full disk fails every flush interval: a few lines a minute
 * for all workers together, then how many were held back. */
static log_limit_t worker_store_lim = LOG_LIMIT_INIT(5, 60);

/* "FILE: what failed: the system's error", as much of it as is known. */
static const char *worker_where(const seg_where_t *e, int rc, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s", e->path, e->path[0] ? ": " : "", seg_strerror(rc),
             e->sys_errno ? ": " : "", e->sys_errno ? strerror(e->sys_errno) : "");
    return out;
}

static void worker_store_error(worker_t *w, int rc, const char *what)
{
    char where[4400];
    w->store_errors++;
    log_limited(&worker_store_lim, LOG_ERROR, "worker %d: %s: %s", w->id, what,
                worker_where(seg_writer_error(w->writer), rc, where, sizeof where));
}

static void worker_sink(void *arg, const flow_rec_t *rec)
{
    worker_t *w = arg;
    int rc = seg_writer_add(w->writer, rec, w->place_ms);
    if (rc < 0)
        worker_store_error(w, rc, "flows not stored");
    if (w->print)
        pq_add(w->print, &w->print_buf, rec);
}

/* ---- publishing counters ------------------------------------------------------------------ */

static void worker_prom(worker_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void worker_prom(worker_t *w, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(w->prom + w->prom_len, w->prom_cap - w->prom_len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < w->prom_cap - w->prom_len) {
            w->prom_len += (size_t)n;
            return;
        }
        size_t ncap = w->prom_cap * 2 + (size_t)n + 1;
        char *np = realloc(w->prom, ncap);
        if (!np)
            return;
        w->prom = np;
        w->prom_cap = ncap;
    }
}

/* One line of a per-worker counter or gauge: NAME{worker="N"} VALUE. */
static void worker_gauge(worker_t *w, const char *name, uint64_t v)
{
    worker_prom(w, "%s{worker=\"%d\"} %llu\n", name, w->id, (unsigned long long)v);
}

/* Series per exporter and per template scope: at most this many of each, the most recently
 * seen. A flood of spoofed sources fills the tables with tens of thousands of entries; their
 * series would make a file of tens of MiB rewritten every second. The per-worker totals below
 * count everything, shown or not. */
#define WORKER_PROM_MAX_ENTRIES 1000

/* Renders this worker's counters in the Prometheus text format (no HELP/TYPE lines: the
 * daemon writes those once for all workers). */
static void worker_publish(worker_t *w)
{
    char a[FLOW_ADDR_STRLEN];
    const exp_table_t *t = &w->ingest.exporters;
    pthread_mutex_lock(&w->pub_mu);
    w->prom_len = 0;
    if (w->prom)
        w->prom[0] = '\0';
    uint32_t shown = 0;
    for (const exp_exporter_t *e = t->lru_head; e && shown < WORKER_PROM_MAX_ENTRIES;
         e = e->lru_next, shown++) {
        flow_addr_format(&e->addr, a);
        worker_prom(w, "flowhunt_exporter_datagrams_total{exporter=\"%s\"} %llu\n", a,
                    (unsigned long long)e->datagrams);
        for (int k = 1; k < DEC_N_ERRORS; k++)
            if (e->errs.n[k])
                worker_prom(w, "flowhunt_malformed_total{exporter=\"%s\",kind=\"%s\"} %llu\n", a,
                            dec_err_name(k), (unsigned long long)e->errs.n[k]);
        for (uint32_t j = 0; j < e->n_domains; j++) {
            const exp_domain_t *d = e->domains[j];
            const char *lbl = "exporter=\"%s\",version=\"%u\",domain=\"%u\"";
            char labels[160];
            snprintf(labels, sizeof labels, lbl, a, d->version, d->obs_domain);
            worker_prom(w, "flowhunt_flows_total{%s} %llu\n", labels, (unsigned long long)d->flows);
            worker_prom(w, "flowhunt_sequence_lost_total{%s} %llu\n", labels,
                        (unsigned long long)d->seq_lost);
            worker_prom(w, "flowhunt_sequence_gaps_total{%s} %llu\n", labels,
                        (unsigned long long)d->seq_gaps);
            /* only where the exporter numbers otherwise than the RFCs (exp_seq_numbering) */
            if (d->seq_mode)
                worker_prom(w, "flowhunt_sequence_numbering{%s,numbering=\"%s\"} 1\n", labels,
                            exp_seq_mode_label(d->seq_mode));
        }
    }
    const tpl_cache_t *c = &w->ingest.templates;
    shown = 0;
    for (const tpl_scope_t *s = c->all_head; s && shown < WORKER_PROM_MAX_ENTRIES;
         s = s->all_next, shown++) {
        char labels[160];
        flow_addr_format(&s->exporter, a);
        snprintf(labels, sizeof labels, "exporter=\"%s\",version=\"%u\",domain=\"%u\"", a,
                 s->version, s->domain);
        worker_prom(w, "flowhunt_templates{%s} %u\n", labels, s->n_templates);
        worker_prom(w, "flowhunt_held_sets{%s} %u\n", labels, s->n_held);
#define WORKER_X_PROM(name, desc)                                                                  \
    worker_prom(w, "flowhunt_templates_" #name "_total{%s} %llu\n", labels,                        \
                (unsigned long long)s->stats.name);
        TPL_SCOPE_COUNTERS(WORKER_X_PROM)
#undef WORKER_X_PROM
    }
    /* Evicted exporters and domains: one more exporter, "evicted", per worker, so that sums
     * over the exporter label still give every datagram, flow and malformation. */
    const exp_evicted_t *ev = &t->evicted;
    char elabels[64];
    snprintf(elabels, sizeof elabels, "exporter=\"evicted\",worker=\"%d\"", w->id);
    worker_gauge(w, "flowhunt_datagrams_total", w->ingest.datagrams);
    worker_gauge(w, "flowhunt_decoded_flows_total", w->ingest.flows);
    worker_gauge(w, "flowhunt_exporters", t->n_exporters);
    worker_gauge(w, "flowhunt_exporter_domains", t->n_domains_total);
    worker_gauge(w, "flowhunt_exporters_evicted_total", ev->exporters);
    worker_gauge(w, "flowhunt_exporter_domains_evicted_total", ev->domains);
    worker_prom(w, "flowhunt_exporter_datagrams_total{%s} %llu\n", elabels,
                (unsigned long long)ev->datagrams);
    for (int k = 1; k < DEC_N_ERRORS; k++)
        if (ev->errs.n[k])
            worker_prom(w, "flowhunt_malformed_total{%s,kind=\"%s\"} %llu\n", elabels,
                        dec_err_name(k), (unsigned long long)ev->errs.n[k]);
    worker_prom(w, "flowhunt_flows_total{%s} %llu\n", elabels, (unsigned long long)ev->flows);
    worker_prom(w, "flowhunt_sequence_lost_total{%s} %llu\n", elabels,
                (unsigned long long)ev->seq_lost);
    worker_prom(w, "flowhunt_sequence_gaps_total{%s} %llu\n", elabels,
                (unsigned long long)ev->seq_gaps);
    /* The same for evicted template scopes: their counters summed under exporter "evicted". */
#define WORKER_X_PROM(name, desc)                                                                  \
    worker_prom(w, "flowhunt_templates_" #name "_total{%s} %llu\n", elabels,                       \
                (unsigned long long)c->evicted_stats.name);
    TPL_SCOPE_COUNTERS(WORKER_X_PROM)
#undef WORKER_X_PROM
    /* Whole scopes have no scope left to carry their counter: counted per worker. */
    worker_prom(w,
                "flowhunt_template_scopes_evicted_total{worker=\"%d\",bound=\"exporter\"} %llu\n",
                w->id, (unsigned long long)c->scopes_evicted);
    worker_prom(w, "flowhunt_template_scopes_evicted_total{worker=\"%d\",bound=\"cache\"} %llu\n",
                w->id, (unsigned long long)c->scopes_evicted_global);
    worker_gauge(w, "flowhunt_template_scopes", c->n_scopes);
    /* the cache's memory against its budget (--template-memory) */
    worker_gauge(w, "flowhunt_template_bytes", c->tpl_bytes);
    worker_gauge(w, "flowhunt_template_bytes_max", c->max_tpl_bytes);
    worker_gauge(w, "flowhunt_held_bytes", c->held_bytes);
    worker_gauge(w, "flowhunt_held_bytes_max", c->max_held_bytes);
    worker_gauge(w, "flowhunt_evicted_scope_templates_total", c->evicted_scope_templates);
    worker_gauge(w, "flowhunt_evicted_scope_held_sets_total", c->evicted_scope_held);
    worker_gauge(w, "flowhunt_templates_evicted_all_total", c->templates_evicted);
    worker_gauge(w, "flowhunt_template_scopes_refused_total", c->scopes_refused);
    const seg_writer_stats_t *ws = seg_writer_stats(w->writer);
    worker_gauge(w, "flowhunt_stored_flows_total", ws->flows_written);
    worker_gauge(w, "flowhunt_store_dropped_flows_total", ws->flows_dropped);
    worker_gauge(w, "flowhunt_segments_total", ws->segments);
    /* segments holding flows far from their arrival hour (replays, held exports, a wrong
     * exporter clock): listed for windows from DIR/flows/misplaced */
    worker_gauge(w, "flowhunt_segments_misplaced_total", ws->segments_misplaced);
    worker_gauge(w, "flowhunt_store_write_errors_total", ws->write_errors);
    snprintf(w->summary, sizeof w->summary,
             "worker %d: %llu datagrams, %llu flows, %llu dropped whole, %llu stored, %llu not "
             "stored, %u exporters (%llu evicted), %u template scopes (%llu evicted)",
             w->id, (unsigned long long)w->ingest.datagrams, (unsigned long long)w->ingest.flows,
             (unsigned long long)w->ingest.dropped, (unsigned long long)ws->flows_written,
             (unsigned long long)ws->flows_dropped, t->n_exporters,
             (unsigned long long)ev->exporters, c->n_scopes,
             (unsigned long long)(c->scopes_evicted + c->scopes_evicted_global));
    pthread_mutex_unlock(&w->pub_mu);
}

/* A table at its bound evicts at the rate a flood creates: one log line per worker per
 * WORKER_EVICT_LOG_MS at most, saying how many went since the last (the counters have all). */
#define WORKER_EVICT_LOG_MS 60000

static void worker_log_evictions(worker_t *w, uint64_t now)
{
    uint64_t exps = w->ingest.exporters.evicted.exporters;
    uint64_t scopes = w->ingest.templates.scopes_evicted_global;
    if ((exps == w->logged_exp_evicted && scopes == w->logged_scopes_evicted) ||
        (w->evict_logged_ms && now - w->evict_logged_ms < WORKER_EVICT_LOG_MS))
        return;
    w->evict_logged_ms = now;
    log_msg(LOG_WARN,
            "worker %d: tables full (a flood of sources?): evicted %llu exporters and %llu "
            "template scopes seen least recently",
            w->id, (unsigned long long)(exps - w->logged_exp_evicted),
            (unsigned long long)(scopes - w->logged_scopes_evicted));
    w->logged_exp_evicted = exps;
    w->logged_scopes_evicted = scopes;
}

/* The exporter counters each segment records in its footer: those of its interval. */
static void worker_segment_end(void *arg, seg_writer_t *wr, uint64_t interval_start_ms)
{
    worker_t *w = arg;
    uint32_t n;
    (void)interval_start_ms;
    seg_exporter_stat_t *st = exp_interval_take(&w->ingest.exporters, &w->interval, &n);
    seg_writer_set_exporters(wr, st, n);
    free(st);
}

/* ---- the thread ------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    uint64_t last_tick = worker_now_ms(), last_save = last_tick;
    for (;;) {
        dq_entry_t e;
        int got = dq_pop(&w->q, &e, WORKER_TICK_MS);
        if (got) {
            w->place_ms = e.recv_ns / 1000000;
            /* the source exports flows: the ring's upper half is open to it (dq.h) */
            if (ingest_datagram(&w->ingest, &e.src, e.data, e.len, e.recv_ns) > 0)
                dq_mark_known(&w->q, &e.src);
            dq_release(&w->q, &e);
            /* its interval gets a segment for the counters even if no flow came */
            int rc = seg_writer_mark(w->writer, w->place_ms);
            if (rc < 0)
                worker_store_error(w, rc, "writing segments");
        }
        /* A datagram carries its receive time (one clock reading per receive batch), so the
         * clock itself is read only when there was none. */
        uint64_t now = got ? w->place_ms : worker_now_ms();
        if ((now > last_tick && now - last_tick >= WORKER_TICK_MS) || !got) {
            last_tick = now;
            int rc = seg_writer_tick(w->writer, now);
            if (rc < 0)
                worker_store_error(w, rc, "writing segments");
            if (w->print) /* printed flows wait at most a tick for the buffer to fill */
                pq_flush(w->print, &w->print_buf);
            if (atomic_exchange(&w->publish_requested, 0))
                worker_publish(w);
            worker_log_evictions(w, now);
            /* Templates reach disk within a few seconds of arriving, so a restart (even a
             * crash) finds them: cheap, since only changed scopes are rewritten. */
            if (now - last_save >= 5000) {
                last_save = now;
                tpl_store_save(&w->ingest.templates, w->state_dir, w->id);
            }
        }
        if (!got && dq_is_closed_and_empty(&w->q))
            break;
    }
    return NULL;
}

static int worker_owns(const flow_addr_t *exporter, void *arg)
{
    const worker_t *w = arg;
    return worker_for(exporter, w->n_workers) == w->id;
}

int worker_start(worker_t *w, int id, const worker_opts_t *opts, char *err, size_t err_cap)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->n_workers = opts->n_workers;
    w->print = opts->print;
    pthread_mutex_init(&w->pub_mu, NULL);
    atomic_init(&w->publish_requested, 0);
    snprintf(w->state_dir, sizeof w->state_dir, "%s/state/%s", opts->dir, opts->instance);
    if (dq_init(&w->q, opts->queue_bytes) != 0) {
        snprintf(err, err_cap, "out of memory for the datagram queue");
        return -1;
    }
    char instance[96];
    snprintf(instance, sizeof instance, "%s-w%d", opts->instance, id);
    seg_writer_opts_t wo = {.dir = opts->dir,
                            .instance = instance,
                            .rotate_s = opts->rotate_s,
                            .flush_ms = opts->flush_ms,
                            .on_segment_end = worker_segment_end,
                            .on_segment_end_arg = w,
                            .open_where = &w->open_where};
    int rc = 0;
    w->writer = seg_writer_open(&wo, &rc);
    if (!w->writer) {
        char where[4400];
        snprintf(err, err_cap, "cannot open the segment writer in %s: %s", opts->dir,
                 worker_where(&w->open_where, rc, where, sizeof where));
        dq_free(&w->q);
        return -1;
    }
    ingest_init(&w->ingest, INGEST_CLOCK_WALL, worker_sink, w);
    if (opts->tpl_bytes) /* before the restore, which the bounds apply to */
        tpl_cache_set_memory(&w->ingest.templates, opts->tpl_bytes, opts->held_bytes);
    int n = tpl_store_load(&w->ingest.templates, w->state_dir, id, worker_owns, w);
    if (n > 0)
        log_msg(LOG_INFO, "worker %d: %d templates restored from %s", id, n, w->state_dir);
    worker_publish(w);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        snprintf(err, err_cap, "cannot start a worker thread: %s", strerror(errno));
        seg_writer_close(w->writer);
        ingest_free(&w->ingest);
        dq_free(&w->q);
        return -1;
    }
    w->started = 1;
    return 0;
}

/* 1 when `name` is "<instance>-w<N>" with N >= n_workers: a worker this run does not start. */
static int worker_is_former(const char *name, const char *instance, int n_workers)
{
    size_t il = strlen(instance);
    if (strncmp(name, instance, il) != 0 || strncmp(name + il, "-w", 2) != 0)
        return 0;
    const char *p = name + il + 2;
    if (*p < '0' || *p > '9')
        return 0;
    char *end;
    long id = strtol(p, &end, 10);
    return *end == '\0' && id >= n_workers;
}

void worker_recover_former(const worker_opts_t *opts)
{
    char **paths;
    int n = seg_dir_list_tmp(opts->dir, &paths);
    if (n < 0) {
        log_msg(LOG_WARN, "cannot look for former workers' temporary segments in %s: %s", opts->dir,
                seg_strerror(n));
        return;
    }
    for (int i = 0; i < n; i++) {
        char name[SEG_INSTANCE_MAX + 1], other[SEG_INSTANCE_MAX + 1];
        if (!paths[i] || seg_dir_tmp_instance(paths[i], name) != 0 ||
            !worker_is_former(name, opts->instance, opts->n_workers))
            continue;
        /* This former worker's files, counted and struck off: its writer takes them all. */
        int files = 0;
        for (int j = i; j < n; j++)
            if (paths[j] && seg_dir_tmp_instance(paths[j], other) == 0 &&
                strcmp(other, name) == 0) {
                free(paths[j]);
                paths[j] = NULL;
                files++;
            }
        seg_where_t where;
        memset(&where, 0, sizeof where);
        seg_writer_opts_t wo = {.dir = opts->dir, .instance = name, .open_where = &where};
        int rc = 0;
        /* the open recovers them (a failure there fills `where`); the close writes nothing */
        seg_writer_t *wr = seg_writer_open(&wo, &rc);
        if (wr)
            rc = seg_writer_close(wr);
        char msg[4400];
        if (rc < 0)
            log_msg(LOG_ERROR, "recovering former worker %s's temporary segments: %s", name,
                    worker_where(&where, rc, msg, sizeof msg));
        else
            log_msg(LOG_INFO,
                    "recovered %d temporary segment%s of former worker %s (--workers was "
                    "higher before the last stop)",
                    files, files == 1 ? "" : "s", name);
    }
    seg_dir_list_free(paths, n);
}

void worker_stop(worker_t *w)
{
    if (!w->started)
        return;
    dq_close(&w->q);
    pthread_join(w->thread, NULL);
    if (w->print)
        pq_flush(w->print, &w->print_buf);
    pq_buf_free(&w->print_buf);
    tpl_store_save(&w->ingest.templates, w->state_dir, w->id);
    /* Data still waiting for its template cannot be decoded, and the saved state keeps
     * templates only: say what goes, rather than leave it to the last gauge. */
    uint64_t held = 0;
    for (const tpl_scope_t *s = w->ingest.templates.all_head; s; s = s->all_next)
        held += s->n_held;
    if (held)
        log_msg(LOG_WARN,
                "worker %d: %llu data sets (%zu bytes) still waited for their templates: not "
                "stored",
                w->id, (unsigned long long)held, w->ingest.templates.held_bytes);
    /* End the open interval now, so the counters published below include the last flows;
     * closing the writer afterwards only completes what is left (nothing). */
    int rc = seg_writer_tick(w->writer, worker_now_ms() + 86400000ull);
    if (rc < 0)
        worker_store_error(w, rc, "writing the last segment");
    worker_publish(w);
    w->flows_dropped = seg_writer_stats(w->writer)->flows_dropped;
    /* A segment whose footer cannot be written stays a temporary file, its flows safe in
     * it: the next start completes it. Said once, whatever the limit has held back. */
    rc = seg_writer_flush(w->writer);
    if (rc < 0) {
        char where[4400];
        log_msg(LOG_ERROR, "worker %d: completing segments: %s (the next start does)", w->id,
                worker_where(seg_writer_error(w->writer), rc, where, sizeof where));
    }
    seg_writer_close(w->writer);
    ingest_free(&w->ingest);
    exp_interval_free(&w->interval);
    dq_free(&w->q);
    w->started = 0;
}

void worker_free(worker_t *w)
{
    pthread_mutex_destroy(&w->pub_mu);
    free(w->prom);
    w->prom = NULL;
}

void worker_request_publish(worker_t *w)
{
    atomic_store(&w->publish_requested, 1);
}
