/* bench_store.c: what storing a flow costs: encoding and compressing it into segments.
 *
 * Issue 5 sets the goal: at most 0.15 us of CPU per flow (a third of nfcapd's whole per-flow
 * cost with LZ4) for encoding and compressing, at no more than 0.7 of nfcapd's bz2 bytes. The
 * benchmark decodes a capture of export datagrams once (the same capture make bench replays to
 * both collectors) into memory, then writes those flows --runs times through seg_writer, the
 * one path flows take to disk, each time into a fresh directory, placed by their end times as
 * flowhuntd --read places them, and times only the writer (seg_writer_add for every flow, then
 * the final flush and close: row groups encoded, compressed, checksummed, written, fsynced and
 * renamed) with CLOCK_PROCESS_CPUTIME_ID. It prints the best and median CPU per flow and the
 * bytes per flow of the segments written; the rows read back must be as many as were written.
 *
 * Two ways, alternating run by run: as the daemon hands the writer a flow, just decoded and
 * still in the cache (the decoded flows are read, untimed, BS_SLICE at a time before the
 * writer takes them: the figure the goal is judged by), and straight from the array of all of
 * them (416 MB for 2 M flows, read from memory as the writer goes: us_per_flow_median_cold,
 * the figure printed before, which counted that reading as the writer's, about 0.013 us a
 * flow here).
 *
 * usage: bench_store CAPTURE [--runs N] [--rotate S] [--tmp DIR]
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "flow.h"
#include "ingest.h"
#include "seg.h"

#define BS_DEFAULT_RUNS 5u

typedef struct bs_flows {
    flow_rec_t *v;
    uint64_t *place; /* ms: end time, else start, else the datagram's time */
    size_t n, cap;
    uint64_t dgram_ms;
    ingest_t ingest;
} bs_flows_t;

static void bs_flow(void *arg, const flow_rec_t *rec)
{
    bs_flows_t *f = arg;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 65536;
        f->v = realloc(f->v, f->cap * sizeof *f->v);
        f->place = realloc(f->place, f->cap * sizeof *f->place);
        if (!f->v || !f->place) {
            fprintf(stderr, "bench_store: out of memory\n");
            exit(1);
        }
    }
    f->v[f->n] = *rec;
    f->place[f->n] = FLOW_HAS(rec, time_end)     ? rec->time_end
                     : FLOW_HAS(rec, time_start) ? rec->time_start
                                                 : f->dgram_ms;
    f->n++;
}

static void bs_dgram(void *arg, const cap_dgram_t *d)
{
    bs_flows_t *f = arg;
    f->dgram_ms = d->ts_ns / 1000000;
    ingest_datagram(&f->ingest, &d->src, d->payload, d->len, d->ts_ns);
}

static double bs_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Flows handed to the writer between two clock readings; their records (1024 * 208 bytes)
 * fit in L2 with room for the writer's own. */
#define BS_SLICE 1024u

static volatile uint64_t bs_sink;

/* Reads every cache line of flows [i, end) and their places, as the decoder leaves a flow it
 * just wrote. */
static void bs_touch(const bs_flows_t *f, size_t i, size_t end)
{
    uint64_t acc = 0;
    for (size_t k = i; k < end; k++) {
        const uint8_t *p = (const uint8_t *)&f->v[k];
        for (size_t o = 0; o < sizeof f->v[k]; o += 64)
            acc += p[o];
        acc += f->place[k];
    }
    bs_sink = acc;
}

static uint64_t bs_bytes;

static int bs_sum(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    size_t n = strlen(path);
    if (type == FTW_F && n > 4 && strcmp(path + n - 4, ".seg") == 0)
        bs_bytes += (uint64_t)st->st_size;
    return 0;
}

static int bs_rm(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

typedef struct bs_count {
    uint64_t rows;
} bs_count_t;

static int bs_batch(void *arg, int worker, seg_batch_t *b)
{
    (void)worker;
    bs_count_t *c = arg;
    __atomic_add_fetch(&c->rows, b->n_rows, __ATOMIC_RELAXED);
    return 0;
}

static int bs_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *capture = NULL, *tmp = "/tmp";
    unsigned runs = BS_DEFAULT_RUNS, rotate = 3600;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rotate") == 0 && i + 1 < argc)
            rotate = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc)
            tmp = argv[++i];
        else if (argv[i][0] != '-' && !capture)
            capture = argv[i];
        else {
            fprintf(stderr, "usage: bench_store CAPTURE [--runs N] [--rotate S] [--tmp DIR]\n");
            return 2;
        }
    }
    if (!capture || runs == 0 || runs > 100 || rotate == 0 || rotate > 3600) {
        fprintf(stderr, "usage: bench_store CAPTURE [--runs N (1-100)] [--rotate S (1-3600)] "
                        "[--tmp DIR]\n");
        return 2;
    }

    /* the flows, decoded once */
    static bs_flows_t f;
    ingest_init(&f.ingest, INGEST_CLOCK_EXPORT, bs_flow, &f);
    int rc = cap_read_dgrams(capture, bs_dgram, &f, NULL, NULL, NULL);
    if (rc == -CAP_E_NOMEM) {
        fprintf(stderr, "bench_store: out of memory\n");
        return 1;
    }
    if (rc < 0 || f.n == 0) {
        fprintf(stderr, "bench_store: %s: %s\n", capture, rc < 0 ? cap_strerror(rc) : "no flows");
        return 1;
    }

    double *cpu = calloc(2 * (size_t)runs, sizeof *cpu), *cold = cpu + runs;
    if (!cpu)
        return 1;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench_store.XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_store: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    uint64_t bytes = 0, rows = 0;
    int status = 0;
    for (unsigned r = 0; r < 2 * runs && status == 0; r++) {
        int hot = r % 2 == 0; /* alternating, so that the machine's drift touches both */
        seg_writer_opts_t wo = {.dir = dir, .instance = "bench", .rotate_s = rotate};
        int err = 0;
        double t0 = bs_cpu_s();
        seg_writer_t *w = seg_writer_open(&wo, &err);
        if (!w) {
            fprintf(stderr, "bench_store: %s: %s\n", dir, seg_strerror(err));
            status = 1;
            break;
        }
        double took = bs_cpu_s() - t0;
        for (size_t i = 0; i < f.n; i += BS_SLICE) {
            size_t end = f.n - i < BS_SLICE ? f.n : i + BS_SLICE;
            if (hot)
                bs_touch(&f, i, end);
            double a = bs_cpu_s();
            for (size_t k = i; k < end; k++)
                if (seg_writer_add(w, &f.v[k], f.place[k]) < 0)
                    status = 1;
            took += bs_cpu_s() - a;
        }
        t0 = bs_cpu_s();
        if (seg_writer_close(w) < 0)
            status = 1;
        took += bs_cpu_s() - t0;
        if (hot)
            cpu[r / 2] = took;
        else
            cold[r / 2] = took;
        /* what was written: its size, and every row back */
        bs_bytes = 0;
        char flows_dir[4200];
        snprintf(flows_dir, sizeof flows_dir, "%s/flows", dir);
        nftw(flows_dir, bs_sum, 16, FTW_PHYS);
        bytes = bs_bytes;
        bs_count_t c = {0};
        seg_scan_stats_t ss;
        seg_where_t where;
        memset(&ss, 0, sizeof ss);
        memset(&where, 0, sizeof where);
        if (seg_scan(dir, 0, UINT64_MAX, 1, NULL, bs_batch, &c, &ss, &where) < 0)
            status = 1;
        rows = c.rows;
        nftw(dir, bs_rm, 16, FTW_DEPTH | FTW_PHYS);
        mkdir(dir, 0700);
    }
    rmdir(dir);
    if (status == 0 && rows != f.n) {
        fprintf(stderr, "bench_store: %" PRIu64 " rows read back of %zu written\n", rows, f.n);
        status = 1;
    }
    if (status != 0)
        return 1;
    qsort(cpu, runs, sizeof *cpu, bs_cmp_double);
    qsort(cold, runs, sizeof *cold, bs_cmp_double);
    double med = cpu[runs / 2], best = cpu[0], med_cold = cold[runs / 2];
    printf("bench-store: %zu flows from %s, %u runs, %u s segments\n", f.n, capture, runs,
           rotate);
    printf("us_per_flow_median %.4f us_per_flow_best %.4f bytes_per_flow %.2f flows_per_cpu_s_M "
           "%.2f us_per_flow_median_cold %.4f\n",
           1e6 * med / (double)f.n, 1e6 * best / (double)f.n, (double)bytes / (double)f.n,
           (double)f.n / med / 1e6, 1e6 * med_cold / (double)f.n);
    free(cpu);
    free(f.v);
    free(f.place);
    ingest_free(&f.ingest);
    return 0;
}
