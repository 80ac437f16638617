/* printq.c: the collector's printed flows, a bounded queue to one writer thread (printq.h). */
#include "printq.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define PQ_BUF_CAP (PQ_CHUNK + FLOW_PRINT_LINE_MAX + 1)
#define PQ_WRITE_MAX 4096 /* one write after POLLOUT: a pipe with room takes it at once */
#define PQ_POLL_MS 200

typedef struct pq_node {
    struct pq_node *next;
    char *p;
    size_t len;
    uint32_t flows;
} pq_node_t;

struct pq {
    int fd;
    flow_print_fmt_t fmt;
    size_t max_bytes;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pq_node_t *head, *tail; /* under mu */
    size_t bytes;           /* under mu: bytes queued */
    int stopping;           /* under mu */
    _Atomic int closed;     /* the output failed: nothing more is written */
    _Atomic uint64_t printed, dropped;
};

static uint64_t pq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int pq_stopping(pq_t *q)
{
    pthread_mutex_lock(&q->mu);
    int s = q->stopping;
    pthread_mutex_unlock(&q->mu);
    return s;
}

/* The output failed (`why`): closed for good, said once; returns `lines`, the lines not written. */
static uint32_t pq_give_up(pq_t *q, uint32_t lines, const char *why)
{
    log_msg(LOG_WARN, "--print: %s: flows are no longer printed (they are still stored)", why);
    atomic_store(&q->closed, 1);
    return lines;
}

/* Writes p[0..len) (whole lines) to the output, whole lines at a time, each write at most
 * PQ_WRITE_MAX bytes that poll said the output has room for, so that a stop is noticed: once
 * stopping, PQ_STOP_MS without progress gives up. Counts the lines written in q->printed and
 * returns how many were not (all written: 0); on a failure the output is closed for good. */
static uint32_t pq_write_lines(pq_t *q, const char *p, size_t len, uint32_t lines)
{
    size_t off = 0;
    uint64_t progress = pq_now_ms();
    while (off < len) {
        struct pollfd pfd = {.fd = q->fd, .events = POLLOUT};
        int r = poll(&pfd, 1, PQ_POLL_MS);
        char why[160];
        if (r < 0 && errno != EINTR) {
            snprintf(why, sizeof why, "the output cannot be polled (%s)", strerror(errno));
            return pq_give_up(q, lines, why);
        }
        if (r <= 0 || !(pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (pq_stopping(q) && pq_now_ms() - progress >= PQ_STOP_MS) {
                snprintf(why, sizeof why, "the output took nothing for %d ms at stop", PQ_STOP_MS);
                return pq_give_up(q, lines, why);
            }
            continue;
        }
        /* whole lines, up to PQ_WRITE_MAX bytes (a line is shorter than that) */
        size_t n = len - off;
        if (n > PQ_WRITE_MAX) {
            n = PQ_WRITE_MAX;
            while (n > 1 && p[off + n - 1] != '\n')
                n--;
        }
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(q->fd, p + off + done, n - done);
            if (w > 0) {
                done += (size_t)w;
            } else if (w < 0 && errno != EINTR && errno != EAGAIN) {
                snprintf(why, sizeof why, "the output is gone (%s)", strerror(errno));
                return pq_give_up(q, lines, why);
            }
        }
        uint32_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += p[off + i] == '\n';
        atomic_fetch_add(&q->printed, k);
        lines -= k;
        off += n;
        progress = pq_now_ms();
    }
    return 0;
}

static void *pq_main(void *arg)
{
    pq_t *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (!q->head && !q->stopping)
            pthread_cond_wait(&q->cond, &q->mu);
        pq_node_t *n = q->head;
        if (!n)
            break; /* stopping, and nothing left */
        q->head = n->next;
        if (!q->head)
            q->tail = NULL;
        q->bytes -= n->len;
        pthread_mutex_unlock(&q->mu);
        uint32_t left =
            atomic_load(&q->closed) ? n->flows : pq_write_lines(q, n->p, n->len, n->flows);
        atomic_fetch_add(&q->dropped, left);
        free(n->p);
        free(n);
        pthread_mutex_lock(&q->mu);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

pq_t *pq_start(int fd, flow_print_fmt_t fmt, size_t max_bytes)
{
    pq_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->fd = fd;
    q->fmt = fmt;
    q->max_bytes = max_bytes ? max_bytes : PQ_MAX_BYTES;
    atomic_init(&q->closed, 0);
    atomic_init(&q->printed, 0);
    atomic_init(&q->dropped, 0);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cond, NULL);
    /* a reader that goes away is an error to log (EPIPE), not the end of the daemon */
    signal(SIGPIPE, SIG_IGN);
    if (fmt == FLOW_PRINT_CSV) {
        char head[FLOW_PRINT_LINE_MAX + 1];
        size_t len = flow_format_csv_header(head);
        head[len++] = '\n';
        pq_write_lines(q, head, len, 1);
        atomic_store(&q->printed, 0); /* the header is no flow */
    }
    if (pthread_create(&q->thread, NULL, pq_main, q) != 0) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->cond);
        free(q);
        return NULL;
    }
    return q;
}

void pq_flush(pq_t *q, pq_buf_t *b)
{
    if (!b->len)
        return;
    pq_node_t *n = NULL;
    pthread_mutex_lock(&q->mu);
    if (!atomic_load(&q->closed) && q->bytes + b->len <= q->max_bytes &&
        (n = malloc(sizeof *n)) != NULL) {
        *n = (pq_node_t){NULL, b->p, b->len, b->flows};
        if (q->tail)
            q->tail->next = n;
        else
            q->head = n;
        q->tail = n;
        q->bytes += b->len;
        pthread_cond_signal(&q->cond);
        b->p = NULL; /* the queue's now: the next flow starts a new buffer */
    } else {
        atomic_fetch_add(&q->dropped, b->flows); /* the buffer is kept for the next lines */
    }
    pthread_mutex_unlock(&q->mu);
    b->len = 0;
    b->flows = 0;
}

void pq_add(pq_t *q, pq_buf_t *b, const flow_rec_t *rec)
{
    if (!b->p && !(b->p = malloc(PQ_BUF_CAP))) {
        atomic_fetch_add(&q->dropped, 1);
        return;
    }
    b->len += q->fmt == FLOW_PRINT_JSON ? flow_format_json(b->p + b->len, rec)
                                        : flow_format_csv(b->p + b->len, rec);
    b->p[b->len++] = '\n';
    b->flows++;
    if (b->len >= PQ_CHUNK)
        pq_flush(q, b);
}

void pq_buf_free(pq_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void pq_counts(pq_t *q, uint64_t *printed, uint64_t *dropped)
{
    *printed = atomic_load(&q->printed);
    *dropped = atomic_load(&q->dropped);
}

void pq_stop(pq_t *q)
{
    pthread_mutex_lock(&q->mu);
    int joined = q->stopping;
    q->stopping = 1;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->mu);
    if (!joined)
        pthread_join(q->thread, NULL);
}

void pq_free(pq_t *q)
{
    if (!q)
        return;
    pq_stop(q);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cond);
    free(q);
}
