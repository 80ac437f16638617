/* main.c: flowhuntd's command line.
 *
 * This release reads captures: `flowhuntd --read FILE` takes every UDP datagram out of a pcap
 * or pcapng file and feeds it to ingest_datagram(), the same function the live listener will
 * call, so what a capture shows is what the daemon decodes. With `-w DIR` the flows go to
 * segments under DIR through the segment writer (storage/seg.h), placed by the flow's own end
 * time so a replayed capture lands where its traffic happened.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "capture.h"
#include "daemon.h"
#include "flow_print.h"
#include "ingest.h"
#include "seg.h"
#include "version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: flowhuntd -l ADDR:PORT [-l ...] -w DIR [--instance NAME] [options]\n"
            "       flowhuntd --read FILE [--print csv|json] [-w DIR [--instance NAME]] [--quiet]\n"
            "       flowhuntd --version | --help\n"
            "\n"
            "Collects NetFlow v5, v9 and IPFIX from routers (or reads them from a capture),\n"
            "decodes them into flow records and stores them as segments.\n"
            "\n"
            "As a daemon:\n"
            "  -l, --listen ADDR:PORT  UDP listener, IPv4 (0.0.0.0:2055) or IPv6 ([::]:4739);\n"
            "                      repeatable; port 0 takes a free port (logged, and written\n"
            "                      to the ready file)\n"
            "  -w, --write DIR     data directory: segments in DIR/flows, templates, sampling\n"
            "                      rates and counters (flowhuntd.prom) in DIR/state/NAME\n"
            "  -i, --instance NAME collector instance (default \"flowhuntd\"; [A-Za-z0-9_-], at\n"
            "                      most 28, not ending in -wN: each worker writes as NAME-wN)\n"
            "      --ready-file F  written atomically once every listener is bound, one\n"
            "                      ADDR:PORT line each; removed when it stops\n"
            "      --allow CIDR    accept datagrams only from these exporters (repeatable);\n"
            "                      the rest are dropped and counted\n"
            "      --user NAME     drop root for NAME after binding\n"
            "      --rcvbuf BYTES  socket receive buffer (default 33554432; past\n"
            "                      net.core.rmem_max only with CAP_NET_ADMIN, as root: a\n"
            "                      warning says when the kernel grants less)\n"
            "      --workers N     decoding threads, an exporter always on the same (default 2,\n"
            "                      at most 16)\n"
            "      --flush-ms MS   flows reach disk within this (default 2000, at most 3600000)\n"
            "      --rotate S      segment interval in seconds (default 60; with --read 3600;\n"
            "                      at most 3600)\n"
            "      --template-memory MB  templates and data held for templates not yet\n"
            "                      seen, all workers together (default 128 a worker; at\n"
            "                      least 2 a worker): beyond, the least recently used go,\n"
            "                      counted\n"
            "      --stats-interval S  counters logged and written every S seconds (default 60,\n"
            "                      at most 86400)\n"
            "      --log FILE      log to FILE instead of stderr (SIGHUP reopens it)\n"
            "  -p, --print FORMAT  every flow stored also on stdout, as csv or json (one object\n"
            "                      a line), for a pipeline (| kafkacat, vector): never at the\n"
            "                      segments' expense: when the reader falls behind past\n"
            "                      --print-memory, or goes away, flows are not printed,\n"
            "                      counted in flowhunt_print_dropped_flows_total\n"
            "      --print-memory MB  printed flows held for a reader behind (default 64)\n"
            "  SIGTERM or SIGINT: store everything received and exit 0 (1 when flows could\n"
            "  not be stored during the run: a full disk or a write error, logged and counted\n"
            "  in flowhunt_store_dropped_flows_total).\n"
            "\n"
            "Reading a capture:\n"
            "  -r, --read FILE     read export datagrams from a pcap or pcapng capture (Ethernet,\n"
            "                      Linux cooked, raw IP or loopback; IPv4 and IPv6; fragments\n"
            "                      reassembled; UDP on any port)\n"
            "  -p, --print FORMAT  print the flows on stdout as csv (default, with a header line)\n"
            "                      or json (one object per line); the default without -w\n"
            "  -w, --write DIR     store the flows as segments under DIR/flows/YYYY/MM/DD/HH/\n"
            "                      (storage/FORMAT.md), each placed in the interval of its end\n"
            "                      time (an hour, or --rotate S); with --print too, flows are\n"
            "                      also printed\n"
            "  -i, --instance NAME collector instance named in segment names and DIR/state/NAME\n"
            "                      ([A-Za-z0-9_-], at most 32; default \"read\")\n"
            "  -q, --quiet         no counters on stderr at the end\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Columns are described in docs/FLOW_RECORD.md. At the end, counters per exporter\n"
            "(datagrams, flows, sequence loss, each malformation by name) go to stderr.\n"
            "Exit status: 0 success; 1 the daemon could not start, the capture could not be\n"
            "read completely, or flows could not be stored (daemon or capture); 2 usage.\n");
}

typedef struct main_read {
    ingest_t ingest;
    flow_print_fmt_t fmt;
    int print;
    seg_writer_t *writer;
    uint64_t dgram_ms; /* capture time of the datagram being decoded */
    uint64_t place_ms; /* the place of the flow stored last: the data's clock */
    int header_done;   /* the CSV header goes out with the first flow, or after the read */
    int write_err;     /* the last write error code reported, so each is reported once */
    exp_interval_t interval; /* exporter counters at the previous segment's end */
} main_read_t;

static void main_write_error(main_read_t *r, int rc)
{
    if (-rc == r->write_err)
        return;
    r->write_err = -rc;
    const seg_where_t *e = seg_writer_error(r->writer);
    fprintf(stderr, "flowhuntd: %s: %s%s%s (flows dropped and counted)\n", e->path,
            seg_strerror(rc), e->sys_errno ? ": " : "", e->sys_errno ? strerror(e->sys_errno) : "");
}

/* Printed once the capture is open, so a file that cannot be read prints nothing on stdout. */
static void main_header(main_read_t *r)
{
    if (r->print && !r->header_done)
        flow_print_header(stdout, r->fmt);
    r->header_done = 1;
}

static void main_flow(void *arg, const flow_rec_t *rec)
{
    main_read_t *r = arg;
    if (r->print) {
        main_header(r);
        flow_print(stdout, r->fmt, rec);
    }
    if (r->writer) {
        /* The flow's own end time places it (then its start, then the capture time). */
        uint64_t place = FLOW_HAS(rec, time_end)     ? rec->time_end
                         : FLOW_HAS(rec, time_start) ? rec->time_start
                                                     : r->dgram_ms;
        r->place_ms = place;
        int rc = seg_writer_add(r->writer, rec, place);
        if (rc < 0)
            main_write_error(r, rc);
    }
}

/* Hands the ending segment the exporter counters of its interval. */
static void main_segment_end(void *arg, seg_writer_t *w, uint64_t interval_start_ms)
{
    main_read_t *r = arg;
    uint32_t n;
    (void)interval_start_ms;
    seg_exporter_stat_t *st = exp_interval_take(&r->ingest.exporters, &r->interval, &n);
    seg_writer_set_exporters(w, st, n);
    free(st);
}

static void main_on_dgram(void *arg, const cap_dgram_t *d)
{
    main_read_t *r = arg;
    r->dgram_ms = d->ts_ns / 1000000;
    ingest_datagram(&r->ingest, &d->src, d->payload, d->len, d->ts_ns);
    if (r->writer) {
        /* The data's clock closes intervals, the clock that placed the flows (the capture's
         * clock closed each datagram's interval when an exporter replayed old traffic: a
         * segment per datagram); real time paces the flushes. The last flow's place, not
         * the newest: one flow from a wrong clock would close every interval after it. */
        int rc = seg_writer_tick(r->writer, r->place_ms ? r->place_ms : r->dgram_ms);
        if (rc < 0)
            main_write_error(r, rc);
    }
}

static void main_report_capture(const cap_udp_stats_t *s, FILE *f)
{
    fprintf(f, "capture:");
#define MAIN_X_PRINT(name, desc)                                                                   \
    if (s->name)                                                                                   \
        fprintf(f, " %s %llu", #name, (unsigned long long)s->name);
    CAP_UDP_COUNTERS(MAIN_X_PRINT)
#undef MAIN_X_PRINT
    fprintf(f, "\n");
}

static int main_read(const char *path, flow_print_fmt_t fmt, int print, const char *write_dir,
                     const char *instance, uint32_t rotate_s, int quiet)
{
    static char outbuf[1 << 16];
    main_read_t r = {.fmt = fmt, .print = print};
    if (write_dir) {
        seg_where_t where;
        memset(&where, 0, sizeof where);
        seg_writer_opts_t wo = {.dir = write_dir,
                                .instance = instance,
                                .rotate_s = rotate_s,
                                .on_segment_end = main_segment_end,
                                .on_segment_end_arg = &r,
                                .open_where = &where};
        int err;
        r.writer = seg_writer_open(&wo, &err);
        if (!r.writer) {
            fprintf(stderr, "flowhuntd: %s: cannot write segments: %s", write_dir,
                    seg_strerror(err));
            if (where.path[0] || where.sys_errno) /* the file and the system's reason */
                fprintf(stderr, " (%s%s%s)", where.path, where.path[0] ? ": " : "",
                        where.sys_errno ? strerror(where.sys_errno) : "?");
            fputc('\n', stderr);
            return err == -SEG_E_USAGE ? 2 : 1;
        }
    }
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    ingest_init(&r.ingest, INGEST_CLOCK_EXPORT, main_flow, &r);
    cap_udp_stats_t cs;
    int opened;
    int rc = cap_read_dgrams(path, main_on_dgram, &r, NULL, &cs, &opened);
    if (!opened) {
        if (rc == -CAP_E_NOMEM)
            fprintf(stderr, "flowhuntd: out of memory\n");
        else
            fprintf(stderr, "flowhuntd: %s: %s\n", path, cap_strerror(rc));
        ingest_free(&r.ingest);
        seg_writer_close(r.writer);
        return 1;
    }
    main_header(&r);
    fflush(stdout);
    int status = 0;
    if (rc < 0) {
        fprintf(stderr, "flowhuntd: %s: %s after %llu frames\n", path, cap_strerror(rc),
                (unsigned long long)cs.frames);
        status = 1;
    }
    if (r.writer) {
        /* A capture that stored no flow at all (every datagram dropped) still gets a segment
         * for its exporters' counters, in the interval of its last datagram. Not per datagram:
         * templates that arrive before the data of an old capture would open an interval at
         * the capture's clock, and a segment there, before the data's own. */
        if (!r.place_ms && r.dgram_ms) {
            int mrc = seg_writer_mark(r.writer, r.dgram_ms);
            if (mrc < 0)
                main_write_error(&r, mrc);
        }
        /* The last group and the last segment, completed before the counts are read. */
        int wrc = seg_writer_flush(r.writer);
        seg_writer_stats_t ws = *seg_writer_stats(r.writer);
        int crc = seg_writer_close(r.writer);
        wrc = wrc < 0 ? wrc : crc;
        if (wrc < 0) {
            fprintf(stderr, "flowhuntd: %s: completing the last segment: %s\n", write_dir,
                    seg_strerror(wrc));
            status = 1;
        }
        if (ws.flows_dropped)
            status = 1;
        if (!quiet)
            fprintf(stderr, "segments: written %llu flows dropped %llu write_errors %llu\n",
                    (unsigned long long)(ws.flows_written), (unsigned long long)ws.flows_dropped,
                    (unsigned long long)ws.write_errors);
    }
    exp_table_settle(&r.ingest.exporters);
    if (!quiet) {
        main_report_capture(&cs, stderr);
        ingest_report(&r.ingest, stderr);
    }
    exp_interval_free(&r.interval);
    ingest_free(&r.ingest);
    return status;
}

enum {
    OPT_READY = 256,
    OPT_ALLOW,
    OPT_USER,
    OPT_RCVBUF,
    OPT_LOG,
    OPT_STATS,
    OPT_WORKERS,
    OPT_FLUSH,
    OPT_ROTATE,
    OPT_TPLMEM,
    OPT_PRINTMEM,
};

/* What each numeric option accepts. Checked while parsing, so a value out of range is a
 * usage error naming the range, not a value cast to 32 bits (--rotate 4294967297 was 1 s)
 * nor one the writer refuses only once the daemon starts (--rotate 3601, exit 1). */
typedef struct main_range {
    int opt;
    unsigned long long min, max;
    const char *unit;
} main_range_t;

static const main_range_t main_ranges[] = {
    {OPT_RCVBUF, 1, ULLONG_MAX, " bytes"},
    {OPT_STATS, 1, 86400, " seconds"},
    {OPT_WORKERS, 1, DAEMON_MAX_WORKERS, ""},
    /* a flush interval past the longest segment interval would never be reached */
    {OPT_FLUSH, 1, SEG_MAX_ROTATE_S * 1000ull, " ms"},
    {OPT_ROTATE, 1, SEG_MAX_ROTATE_S, " seconds"},
    {OPT_TPLMEM, 1, 1u << 20, " MiB"},
    {OPT_PRINTMEM, 1, 1u << 20, " MiB"},
};

/* Every numeric option has its row. */
static const main_range_t *main_range_of(int opt)
{
    size_t i = 0;
    while (main_ranges[i].opt != opt)
        i++;
    return &main_ranges[i];
}

/* Whether an instance name ends as a worker's does: "-w" and digits. */
static int main_worker_like(const char *name)
{
    size_t n = strlen(name), d = n;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9')
        d--;
    return d < n && d >= 2 && name[d - 2] == '-' && name[d - 1] == 'w';
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'},
        {"print", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"write", required_argument, NULL, 'w'},
        {"instance", required_argument, NULL, 'i'},
        {"listen", required_argument, NULL, 'l'},
        {"ready-file", required_argument, NULL, OPT_READY},
        {"allow", required_argument, NULL, OPT_ALLOW},
        {"user", required_argument, NULL, OPT_USER},
        {"rcvbuf", required_argument, NULL, OPT_RCVBUF},
        {"log", required_argument, NULL, OPT_LOG},
        {"stats-interval", required_argument, NULL, OPT_STATS},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"flush-ms", required_argument, NULL, OPT_FLUSH},
        {"rotate", required_argument, NULL, OPT_ROTATE},
        {"template-memory", required_argument, NULL, OPT_TPLMEM},
        {"print-memory", required_argument, NULL, OPT_PRINTMEM},
        {NULL, 0, NULL, 0},
    };
    const char *read_path = NULL, *write_dir = NULL, *instance = NULL;
    flow_print_fmt_t fmt = FLOW_PRINT_CSV;
    int quiet = 0, print = 0, rotate_set = 0, c;
    daemon_opts_t dopts = {.stats_s = 60,
                           .n_workers = 2,
                           .queue_bytes = 16u << 20,
                           .flush_ms = 2000,
                           .rotate_s = 60,
                           .rcvbuf = 32u << 20};
    /* the daemon's own options: with --read they would do nothing, silently (an --allow
     * that filtered nothing) */
    const char *daemon_only = NULL;
    /* and --read's own: the daemon logs its counters regardless, so with -l --quiet would do
     * nothing, silently */
    const char *read_only = NULL;
    while ((c = getopt_long(argc, argv, "r:p:w:i:l:qVh", opts, NULL)) != -1) {
        if (!read_only && c == 'q')
            read_only = "quiet";
        if (c == OPT_ALLOW || c == OPT_READY || c == OPT_USER || c == OPT_LOG || c == OPT_RCVBUF ||
            c == OPT_STATS || c == OPT_WORKERS || c == OPT_FLUSH || c == OPT_TPLMEM ||
            c == OPT_PRINTMEM)
            for (const struct option *o = opts; o->name && !daemon_only; o++)
                daemon_only = o->val == c ? o->name : NULL;
        switch (c) {
        case 'l': {
            if (dopts.n_listen == DAEMON_MAX_LISTENERS) {
                fprintf(stderr, "flowhuntd: at most %d listeners\n", DAEMON_MAX_LISTENERS);
                return 2;
            }
            struct sockaddr_storage ss;
            if (daemon_parse_listen(optarg, &ss) != 0) {
                fprintf(stderr, "flowhuntd: -l '%s': not ADDR:PORT or [ADDR]:PORT\n", optarg);
                return 2;
            }
            dopts.listen[dopts.n_listen++] = optarg;
            break;
        }
        case OPT_ALLOW:
            if (dopts.n_allow == DAEMON_MAX_ALLOW) {
                fprintf(stderr, "flowhuntd: at most %d --allow\n", DAEMON_MAX_ALLOW);
                return 2;
            }
            flow_net_t net;
            if (flow_net_parse(&net, optarg) != 0) {
                fprintf(stderr, "flowhuntd: --allow '%s': not ADDR or ADDR/BITS\n", optarg);
                return 2;
            }
            dopts.allow[dopts.n_allow++] = optarg;
            break;
        case OPT_READY:
            dopts.ready_file = optarg;
            break;
        case OPT_USER:
            dopts.user = optarg;
            break;
        case OPT_LOG:
            dopts.log_file = optarg;
            break;
        case OPT_RCVBUF:
        case OPT_STATS:
        case OPT_WORKERS:
        case OPT_FLUSH:
        case OPT_TPLMEM:
        case OPT_PRINTMEM:
        case OPT_ROTATE: {
            const main_range_t *r = main_range_of(c);
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (*end || end == optarg || errno || optarg[0] == '-' || v < r->min || v > r->max) {
                const char *name = "?";
                for (const struct option *o = opts; o->name; o++)
                    if (o->val == c)
                        name = o->name;
                fprintf(stderr, "flowhuntd: bad value '%s' for --%s (%llu to %llu%s)\n", optarg,
                        name, r->min, r->max, r->unit);
                return 2;
            }
            if (c == OPT_RCVBUF)
                dopts.rcvbuf = v;
            else if (c == OPT_STATS)
                dopts.stats_s = (uint32_t)v;
            else if (c == OPT_WORKERS)
                dopts.n_workers = (int)v;
            else if (c == OPT_FLUSH)
                dopts.flush_ms = (uint32_t)v;
            else if (c == OPT_TPLMEM)
                dopts.template_memory = (uint64_t)v << 20;
            else if (c == OPT_PRINTMEM)
                dopts.print_bytes = (size_t)v << 20;
            else {
                dopts.rotate_s = (uint32_t)v;
                rotate_set = 1;
            }
            break;
        }
        case 'r':
            read_path = optarg;
            break;
        case 'p':
            if (flow_print_fmt_parse(optarg, &fmt) != 0) {
                fprintf(stderr, "flowhuntd: --print takes csv or json, not '%s'\n", optarg);
                return 2;
            }
            print = 1;
            break;
        case 'w':
            write_dir = optarg;
            break;
        case 'i':
            instance = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'V':
            printf("flowhuntd %s\n", FH_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "flowhuntd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (instance && !seg_instance_ok(instance)) {
        fprintf(stderr, "flowhuntd: --instance '%s': " SEG_INSTANCE_RULE "\n", instance);
        return 2;
    }
    if (dopts.n_listen) {
        if (read_path || !write_dir) {
            fprintf(stderr, "flowhuntd: -l needs -w DIR and goes without --read (see --help)\n");
            return 2;
        }
        if (read_only) {
            fprintf(stderr,
                    "flowhuntd: --%s is --read's, not the daemon's (with -l) (see --help)\n",
                    read_only);
            return 2;
        }
        /* each worker's caches take at least TPL_MIN_MEMORY each, so a smaller share would
         * be raised to it, and the whole past the budget the operator set */
        uint64_t tpl_min = 2ull * TPL_MIN_MEMORY * (uint64_t)dopts.n_workers;
        if (dopts.template_memory && dopts.template_memory < tpl_min) {
            fprintf(stderr,
                    "flowhuntd: --template-memory %llu with %d workers: at least %llu (%u MiB "
                    "of templates and %u of held data a worker)\n",
                    (unsigned long long)(dopts.template_memory >> 20), dopts.n_workers,
                    (unsigned long long)(tpl_min >> 20), TPL_MIN_MEMORY >> 20,
                    TPL_MIN_MEMORY >> 20);
            return 2;
        }
        if (dopts.print_bytes && !print) {
            fprintf(stderr, "flowhuntd: --print-memory goes with --print (see --help)\n");
            return 2;
        }
        dopts.dir = write_dir;
        dopts.instance = instance ? instance : "flowhuntd";
        dopts.print = print;
        dopts.print_fmt = fmt;
        /* each worker writes as NAME-wN, an instance name of its own */
        if (strlen(dopts.instance) > SEG_INSTANCE_MAX - 4) {
            fprintf(stderr,
                    "flowhuntd: --instance '%s': at most %d characters for the daemon (each "
                    "worker writes as NAME-wN)\n",
                    dopts.instance, SEG_INSTANCE_MAX - 4);
            return 2;
        }
        /* ... so a daemon named like a worker (X-w0) would share DIR/state/X-w0 with worker 0
         * of the daemon X, and the segment names would not say which wrote what */
        if (main_worker_like(dopts.instance)) {
            fprintf(stderr,
                    "flowhuntd: --instance '%s': ends as a worker's name (-wN); each worker of "
                    "the daemon writes as NAME-wN, so choose a name that does not\n",
                    dopts.instance);
            return 2;
        }
        return daemon_run(&dopts);
    }
    if (!read_path) {
        fprintf(stderr, "flowhuntd: nothing to do: give -l ADDR:PORT -w DIR, or --read FILE "
                        "(see --help)\n");
        return 2;
    }
    if (daemon_only) {
        fprintf(stderr, "flowhuntd: --%s is the daemon's (with -l), not --read's (see --help)\n",
                daemon_only);
        return 2;
    }
    /* Without -w the flows are printed; with it, only when --print asks as well. */
    /* A capture is read in one go, so nothing favours short segments: an hour each, as
     * flowhunt import writes (a day in 60 s segments was 1,441 files, and creating them was
     * most of the import's cost). */
    return main_read(read_path, fmt, print || !write_dir, write_dir, instance ? instance : "read",
                     rotate_set ? dopts.rotate_s : 3600, quiet);
}
