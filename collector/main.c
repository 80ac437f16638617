/* main.c: flowhuntd's command line.
 *
 * This release reads captures: `flowhuntd --read FILE` takes every UDP datagram out of a pcap
 * or pcapng file and feeds it to ingest_datagram(), the same function the live listener will
 * call, so what a capture shows is what the daemon decodes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "flow_print.h"
#include "ingest.h"
#include "version.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: flowhuntd --read FILE [--print csv|json] [--quiet]\n"
            "       flowhuntd --version | --help\n"
            "\n"
            "Decodes NetFlow v5, v9 and IPFIX export datagrams into flow records.\n"
            "\n"
            "  -r, --read FILE     read export datagrams from a pcap or pcapng capture (Ethernet,\n"
            "                      Linux cooked, raw IP or loopback; IPv4 and IPv6; fragments\n"
            "                      reassembled; UDP on any port)\n"
            "  -p, --print FORMAT  print the flows on stdout as csv (default, with a header line)\n"
            "                      or json (one object per line)\n"
            "  -q, --quiet         no counters on stderr at the end\n"
            "  -V, --version       print the version and exit\n"
            "  -h, --help          print this help and exit\n"
            "\n"
            "Columns are described in docs/FLOW_RECORD.md. At the end, counters per exporter\n"
            "(datagrams, flows, sequence loss, each malformation by name) go to stderr.\n"
            "Exit status: 0 success, 1 the capture could not be read completely, 2 usage.\n");
}

typedef struct main_read {
    ingest_t ingest;
    flow_print_fmt_t fmt;
} main_read_t;

static void main_print_flow(void *arg, const flow_rec_t *rec)
{
    const main_read_t *r = arg;
    flow_print(stdout, r->fmt, rec);
}

static void main_on_dgram(void *arg, const cap_dgram_t *d)
{
    main_read_t *r = arg;
    ingest_datagram(&r->ingest, &d->src, d->payload, d->len, d->ts_ns);
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

static int main_read(const char *path, flow_print_fmt_t fmt, int quiet)
{
    static char outbuf[1 << 16];
    cap_file_t cf;
    cap_udp_t cu;
    main_read_t r = {.fmt = fmt};
    int rc = cap_open_path(&cf, path);
    if (rc < 0) {
        fprintf(stderr, "flowhuntd: %s: %s\n", path, cap_strerror(rc));
        return 1;
    }
    if (cap_udp_init(&cu) != 0) {
        fprintf(stderr, "flowhuntd: out of memory\n");
        cap_close(&cf);
        return 1;
    }
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    ingest_init(&r.ingest, INGEST_CLOCK_EXPORT, main_print_flow, &r);
    flow_print_header(stdout, fmt);

    cap_pkt_t pkt;
    while ((rc = cap_next(&cf, &pkt)) > 0)
        cap_udp_feed(&cu, &pkt, main_on_dgram, &r);
    fflush(stdout);
    int status = 0;
    if (rc < 0) {
        fprintf(stderr, "flowhuntd: %s: %s after %llu frames\n", path, cap_strerror(rc),
                (unsigned long long)cu.stats.frames);
        status = 1;
    }
    if (!quiet) {
        main_report_capture(&cu.stats, stderr);
        ingest_report(&r.ingest, stderr);
    }
    ingest_free(&r.ingest);
    cap_udp_free(&cu);
    cap_close(&cf);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"read", required_argument, NULL, 'r'}, {"print", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    const char *read_path = NULL;
    flow_print_fmt_t fmt = FLOW_PRINT_CSV;
    int quiet = 0, c;
    while ((c = getopt_long(argc, argv, "r:p:qVh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            read_path = optarg;
            break;
        case 'p':
            if (flow_print_fmt_parse(optarg, &fmt) != 0) {
                fprintf(stderr, "flowhuntd: --print takes csv or json, not '%s'\n", optarg);
                return 2;
            }
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
    if (!read_path) {
        fprintf(stderr, "flowhuntd: nothing to do: give --read FILE (see --help)\n");
        return 2;
    }
    return main_read(read_path, fmt, quiet);
}
