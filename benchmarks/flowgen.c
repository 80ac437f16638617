/* flowgen.c: synthetic flow exports with planted threats and their ground truth.
 *
 * flowhunt is judged on replayed captures: how fast it ingests and whether its hunts find what
 * is there. flowgen makes such captures: an organisation's traffic as its routers would export
 * it, with known threats and known benign look-alikes planted in it, a ground-truth file that
 * says where they are and a threat-intel feed. The same arguments always give the same bytes
 * (own PRNG seeded from --seed, no clock, no rand()), so a capture can be named by its command
 * line; another seed gives other hosts, peers, periods and ports.
 *
 * The parts: fg_rng (randomness), fg_org (the organisation and its everyday traffic), fg_gen
 * (records as a sampling router exports them, conversations, active-timeout cuts), fg_threats
 * and fg_lookalike (the planted cases), fg_truth (the truth and the feed), fg_export (the
 * routers: v5, v9, IPFIX), fg_send (UDP output and the bare receiver of `make bench`), replay
 * (sending any capture). This file is the command line.
 *
 * Order: the threats are planted first, then the look-alikes, each within its share of --flows
 * (counted before sampling); the everyday traffic fills what is left, so --flows N means
 * exactly N exported records (plus, with --dup, the core router's copies). Memory: O(N), one
 * 40-byte fg_flow_t per record (800 MB for 20 million): every record is generated first, then
 * sorted by end time and exported.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_cases.h"
#include "fg_export.h"
#include "fg_send.h"
#include "replay.h"
#include "version.h"

#define FG_MIN_FLOWS 1000u
#define FG_MAX_FLOWS 20000000u   /* 800 MB of records */
#define FG_MAX_EXPORTERS 253u    /* 192.0.2.1 .. 192.0.2.253; .254 is the collector */
#define FG_MAX_SAMPLE_V5 0x3fffu /* v5's interval field has 14 bits */
#define FG_MAX_SAMPLE 1000000u

#define FG_EXIT_OK 0
#define FG_EXIT_IO 1
#define FG_EXIT_USAGE 2

static void fg_usage(FILE *f)
{
    fprintf(
        f,
        "usage: flowgen --format v5|v9|ipfix --flows N --seed S --start TIME --hours H\n"
        "               [--exporters K] [--sample N] [--dup P] [--truth FILE] [--intel FILE]\n"
        "               (--out FILE.pcap | --to ADDR:PORT [--rate FLOWS_PER_S])\n"
        "       flowgen --replay FILE.pcap --to ADDR:PORT [--speed X | --rate N]\n"
        "       flowgen --sink ADDR:PORT [--count N] [--idle MS]\n"
        "\n"
        "Writes NetFlow export datagrams of a synthetic organisation (internal IPv4 hosts in\n"
        "10.0.0.0/16, about a third dual-stack in a fd00::/8 ULA /48, resolvers 10.0.0.53 and\n"
        "10.0.1.53, Zipf-popular external destinations, request and response records, long\n"
        "connections cut every 30 minutes) with planted threats and benign look-alikes, to a\n"
        "pcap or over UDP. The same arguments always give the same bytes.\n"
        "\n"
        "Threats (several instances where --flows allows; parameters drawn from the seed):\n"
        "  beacon T1071 on 443 and T1571 on an odd port: period 30 s..min(4 h, span/24),\n"
        "    jitter 0-50 %%; scan-horizontal and scan-vertical T1046, fast and slow;\n"
        "    scan-quiet T1046 (8-16 dark addresses of a subnet over 1-3 h); scan-lateral\n"
        "    T1021 (a sweep on 445/3389/22, then sessions to hosts that answered);\n"
        "  dns-exfil T1048.003 over UDP and TCP 53 to an external nameserver, and over\n"
        "    UDP through the host's own resolver (two cases: the host's queries, and the\n"
        "    resolver relaying them to the attacker's nameserver); encrypted-dns\n"
        "    T1071.004 (DNS over HTTPS to a public resolver); icmp-tunnel\n"
        "    T1095 (500-1400-byte echoes); ip-tunnel T1095 (GRE); miner T1496 (pool port\n"
        "    3333/4444/14444/45700, hours); ioc T1071 (a peer listed in --intel); first-seen\n"
        "    (a destination first contacted on the last day); reverse-shell T1571; long-c2\n"
        "    T1071 (one HTTPS connection held 9-20 h, in 1-2 connections).\n"
        "Look-alikes (benign-*): ntp, cdn-updates, monitoring, vuln-scanner (10.0.0.70),\n"
        "  resolver-recursion, saas (MQTT 8883, XMPP 5222, STUN 3478, OpenVPN 1194),\n"
        "  ping-monitor, rare-site.\n"
        "\n"
        "  --format FMT      v5 (NetFlow v5, IPv4 only: dual-stack hosts use IPv4), v9\n"
        "                    (RFC 3954) or ipfix (RFC 7011); v9 and ipfix send IPv4 and IPv6\n"
        "                    templates in each exporter's first datagram and every %u\n"
        "                    after, and fill datagrams up to %u bytes (--mtu)\n"
        "  --flows N         exactly N exported flow records (%u..%u)\n"
        "  --seed S          seed of every random choice (unsigned 64-bit)\n"
        "  --start TIME      first flow: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
        "  --hours H         span of the traffic in hours (1..8784, decimals allowed)\n"
        "  --exporters K     edge routers exporting, 192.0.2.1..K from port 50000+i (default\n"
        "                    1, at most %u; %u with --dup), to 192.0.2.254:%u; a record\n"
        "                    goes to the router of its internal /24 (the /24 mod K), and\n"
        "                    the organisation has 4-40 /24s (by --flows): more routers\n"
        "                    than that leave some silent, which the summary says\n"
        "  --sample N        1:N packet sampling (v5: up to %u; v9, ipfix: up to %u): each\n"
        "                    packet kept with probability 1/N, a record with none kept not\n"
        "                    exported, counters those of the kept packets; announced (v5 in\n"
        "                    the header, v9 in options data with fields 34/35, ipfix in PSAMP\n"
        "                    options data 302/304/305/306)\n"
        "  --dup P           a share P (0..1) of records exported again, the same flow, by a\n"
        "                    core router on the path (the exporter after the edge ones); the\n"
        "                    copies come on top of the N records\n"
        "  --out FILE        the capture (classic pcap, nanosecond timestamps, Ethernet)\n"
        "  --to ADDR:PORT    send the datagrams over UDP (sendmmsg; IPv6 as [ADDR]:PORT)\n"
        "                    instead, reporting packets and flows per second on stderr\n"
        "  --mtu BYTES       v9 and IPFIX datagrams up to BYTES (%u..%u; jumbo-frame links\n"
        "                    carry 9000)\n"
        "  --rate F          with --to: at most F flows per second (default: as fast as the\n"
        "                    socket takes them)\n"
        "  --truth FILE      the planted cases as JSON lines: scenario, technique, host,\n"
        "                    peer, port, proto, start, end, params, detectable\n"
        "  --intel FILE      the threat-intel feed: one address per line, '#' comments\n"
        "  -V, --version     print the version and exit\n"
        "  -h, --help        print this help and exit\n"
        "\n"
        "--replay sends the UDP payloads of any export capture (pcap or pcapng) to a\n"
        "collector: as fast as sendmmsg goes, with the capture's timing sped up X times, or\n"
        "at N datagrams per second; each exporter of the capture from its own socket.\n"
        "--sink receives with recvmmsg and nothing else, until N datagrams or MS quiet\n"
        "milliseconds, and prints datagrams per second: the loopback ceiling.\n"
        "\n"
        "Exit status: 0 success, 1 I/O error, 2 usage.\n",
        NF9E_REFRESH_DEFAULT, FG_MTU, FG_MIN_FLOWS, FG_MAX_FLOWS, FG_MAX_EXPORTERS,
        FG_MAX_EXPORTERS - 1, FG_COLLECTOR_PORT, FG_MAX_SAMPLE_V5, FG_MAX_SAMPLE, FG_MTU_MIN,
        FG_MTU_MAX);
}

static int fg_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil), so no time zone or libc state is involved. */
static int64_t fg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int fg_digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* TIME: Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, all UTC. */
static int fg_parse_time(const char *s, uint64_t *out_s)
{
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    size_t len = strlen(s);
    if (len > 0 && strspn(s, "0123456789") == len)
        return fg_parse_u64(s, 0, UINT32_MAX, out_s);
    if (len != 10 && len != 20)
        return -1;
    if (fg_digits(s, 4, &y) || s[4] != '-' || fg_digits(s + 5, 2, &mo) || s[7] != '-' ||
        fg_digits(s + 8, 2, &d))
        return -1;
    if (len == 20 &&
        (s[10] != 'T' || fg_digits(s + 11, 2, &h) || s[13] != ':' || fg_digits(s + 14, 2, &mi) ||
         s[16] != ':' || fg_digits(s + 17, 2, &sec) || s[19] != 'Z'))
        return -1;
    static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t t = fg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    if (t < 0 || t > (int64_t)UINT32_MAX)
        return -1;
    *out_s = (uint64_t)t;
    return 0;
}

typedef struct fg_args {
    fg_format_t fmt;
    uint64_t flows, seed, start_s, exporters, sample, mtu;
    double hours, dup, rate;
    const char *out, *truth, *intel, *to;
    const char *sample_arg; /* as given, for the message when it is too large for v5 */
} fg_args_t;

static int fg_bad(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "flowgen: --%s '%s': %s\n", opt, val, want);
    return FG_EXIT_USAGE;
}

/* A decimal number in [lo, hi]; 0 or -1. */
static int fg_parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

/* Returns -1 to go on, else the exit status. */
static int fg_parse_args(int argc, char **argv, fg_args_t *a)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"flows", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},   {"start", required_argument, NULL, 't'},
        {"hours", required_argument, NULL, 'H'},  {"exporters", required_argument, NULL, 'k'},
        {"sample", required_argument, NULL, 'S'}, {"out", required_argument, NULL, 'o'},
        {"truth", required_argument, NULL, 'T'},  {"intel", required_argument, NULL, 'I'},
        {"dup", required_argument, NULL, 'D'},    {"to", required_argument, NULL, 'O'},
        {"rate", required_argument, NULL, 'R'},   {"mtu", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    int have_format = 0, have_flows = 0, have_seed = 0, have_start = 0, have_hours = 0;
    memset(a, 0, sizeof *a);
    a->exporters = 1;
    a->sample = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "v5") == 0)
                a->fmt = FG_FMT_V5;
            else if (strcmp(optarg, "v9") == 0)
                a->fmt = FG_FMT_V9;
            else if (strcmp(optarg, "ipfix") == 0)
                a->fmt = FG_FMT_IPFIX;
            else
                return fg_bad("format", optarg, "want v5, v9 or ipfix");
            have_format = 1;
            break;
        case 'n':
            if (fg_parse_u64(optarg, FG_MIN_FLOWS, FG_MAX_FLOWS, &a->flows) != 0)
                return fg_bad("flows", optarg, "want a whole number from 1000 to 20000000");
            have_flows = 1;
            break;
        case 's':
            if (fg_parse_u64(optarg, 0, UINT64_MAX, &a->seed) != 0)
                return fg_bad("seed", optarg, "want an unsigned 64-bit number");
            have_seed = 1;
            break;
        case 't':
            if (fg_parse_time(optarg, &a->start_s) != 0)
                return fg_bad("start", optarg,
                              "want Unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
            have_start = 1;
            break;
        case 'H':
            if (fg_parse_double(optarg, 1.0, 8784.0, &a->hours) != 0)
                return fg_bad("hours", optarg, "want a number of hours from 1 to 8784");
            have_hours = 1;
            break;
        case 'k':
            if (fg_parse_u64(optarg, 1, FG_MAX_EXPORTERS, &a->exporters) != 0)
                return fg_bad("exporters", optarg, "want 1 to 253");
            break;
        case 'S':
            if (fg_parse_u64(optarg, 1, FG_MAX_SAMPLE, &a->sample) != 0)
                return fg_bad("sample", optarg, "want 1 to 1000000 (v5: to 16383)");
            a->sample_arg = optarg;
            break;
        case 'D':
            if (fg_parse_double(optarg, 0.0, 1.0, &a->dup) != 0)
                return fg_bad("dup", optarg, "want a share from 0 to 1");
            break;
        case 'R':
            if (fg_parse_double(optarg, 1.0, 1e9, &a->rate) != 0)
                return fg_bad("rate", optarg, "want flows per second, 1 or more");
            break;
        case 'M':
            if (fg_parse_u64(optarg, FG_MTU_MIN, FG_MTU_MAX, &a->mtu) != 0)
                return fg_bad("mtu", optarg, "want 576 to 9000 bytes");
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'O':
            a->to = optarg;
            break;
        case 'T':
            a->truth = optarg;
            break;
        case 'I':
            a->intel = optarg;
            break;
        case 'h':
            fg_usage(stdout);
            return FG_EXIT_OK;
        case 'V':
            printf("flowgen %s\n", FH_VERSION);
            return FG_EXIT_OK;
        case ':':
            fprintf(stderr, "flowgen: %s needs a value (see --help)\n", argv[optind - 1]);
            return FG_EXIT_USAGE;
        default:
            fprintf(stderr, "flowgen: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return FG_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "flowgen: unexpected argument '%s' (see --help)\n", argv[optind]);
        return FG_EXIT_USAGE;
    }
    const char *missing = !have_format        ? "--format"
                          : !have_flows       ? "--flows"
                          : !have_seed        ? "--seed"
                          : !have_start       ? "--start"
                          : !have_hours       ? "--hours"
                          : !a->out && !a->to ? "--out (or --to)"
                                              : NULL;
    if (missing) {
        fprintf(stderr, "flowgen: %s is required (see --help)\n", missing);
        return FG_EXIT_USAGE;
    }
    if (a->out && a->to) {
        fprintf(stderr, "flowgen: --out and --to exclude each other (see --help)\n");
        return FG_EXIT_USAGE;
    }
    if (a->rate > 0 && !a->to) {
        fprintf(stderr, "flowgen: --rate paces --to; without --to there is nothing to pace\n");
        return FG_EXIT_USAGE;
    }
    if (a->to) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (replay_parse_addr(a->to, &ss, &len) != 0)
            return fg_bad("to", a->to, "want ADDR:PORT or [IPV6]:PORT");
    }
    if (a->dup > 0 && a->exporters >= FG_MAX_EXPORTERS)
        return fg_bad("exporters", "253", "with --dup at most 252: the core router is one more");
    if (a->fmt == FG_FMT_V5 && a->sample > FG_MAX_SAMPLE_V5)
        return fg_bad("sample", a->sample_arg, "want 1 to 16383 (the v5 field has 14 bits)");
    if (a->start_s + (uint64_t)(a->hours * 3600.0) + 3600 > UINT32_MAX) {
        fprintf(stderr, "flowgen: --start plus --hours goes past 2106, beyond the 32-bit export "
                        "clock of NetFlow and IPFIX\n");
        return FG_EXIT_USAGE;
    }
    return -1;
}

/* Exports g through x into the capture or the socket of `a`; the exit status. */
static int fg_output(const fg_args_t *a, fg_export_t *x, fg_gen_t *g)
{
    const char *dest = a->out ? a->out : a->to;
    if (a->to) {
        static fg_send_t s; /* large: the batch buffers */
        if (fg_send_open(&s, a->to, a->rate) != 0)
            return FG_EXIT_USAGE; /* checked by fg_parse_args already */
        x->send = &s;
        int rc = fg_export_run(x, g);
        int rc2 = fg_send_close(&s);
        if (rc != 0 || rc2 != 0) {
            fprintf(stderr, "flowgen: sending to %s: %s\n", dest, strerror(errno));
            return FG_EXIT_IO;
        }
        double secs = fg_send_seconds(&s);
        fprintf(stderr,
                "flowgen: sent %" PRIu64 " packets (%" PRIu64 " flows, %" PRIu64
                " bytes) from %" PRIu32 " exporter%s to %s in %.3f s: %.0f packets/s, "
                "%.0f flows/s\n",
                s.dgrams, s.flows, s.bytes, s.n_socks, s.n_socks == 1 ? "" : "s", dest, secs,
                secs > 0 ? (double)s.dgrams / secs : 0.0, secs > 0 ? (double)s.flows / secs : 0.0);
        return FG_EXIT_OK;
    }
    pcapw_t w;
    if (pcapw_open(&w, a->out) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", dest, strerror(errno));
        return FG_EXIT_IO;
    }
    x->w = &w;
    if (fg_export_run(x, g) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", dest, strerror(errno));
        pcapw_abort(&w);
        return FG_EXIT_IO;
    }
    if (pcapw_close(&w) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", dest, strerror(errno));
        return FG_EXIT_IO;
    }
    return FG_EXIT_OK;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--replay") == 0)
            return replay_main(argc, argv);
        if (strcmp(argv[i], "--sink") == 0)
            return fg_sink_main(argc, argv);
    }
    fg_args_t a;
    int rc = fg_parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;

    fg_gen_t g = {.cap = (uint32_t)a.flows,
                  .sample = (uint32_t)a.sample,
                  .v4_only = a.fmt == FG_FMT_V5,
                  .start_ms = a.start_s * 1000,
                  .end_ms = a.start_s * 1000 + (uint64_t)llround(a.hours * 3600000.0)};
    fg_org_t org;
    fg_rng_t r_org, r_benign;
    fg_rng_seed(&r_org, a.seed, 1);
    fg_rng_seed(&r_benign, a.seed, 3);
    fg_rng_seed(&g.r_sample, a.seed, 6);
    static fg_cases_t cases;
    fg_export_t x;
    g.flows = malloc((size_t)g.cap * sizeof *g.flows);
    if (!g.flows || fg_org_init(&org, a.flows, a.seed, &r_org) != 0 ||
        fg_export_init(&x, a.fmt, (uint32_t)a.exporters, a.dup, (uint32_t)a.sample,
                       (uint32_t)a.mtu, g.start_ms, a.seed, &org) != 0) {
        fprintf(stderr, "flowgen: out of memory for %" PRIu64 " flows\n", a.flows);
        return FG_EXIT_IO;
    }
    fg_plant_threats(&g, &org, a.seed, &cases);
    uint32_t n_threat = g.n;
    fg_plant_lookalikes(&g, &org, a.seed, &cases);
    uint32_t n_lookalike = g.n - n_threat;
    fg_org_background(&g, &org, &r_benign);

    int status = fg_output(&a, &x, &g);
    if (status == FG_EXIT_OK && a.truth && fg_truth_save(a.truth, &org, &cases, g.sample) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", a.truth, strerror(errno));
        status = FG_EXIT_IO;
    }
    if (status == FG_EXIT_OK && a.intel && fg_intel_save(a.intel, &org, &cases) != 0) {
        fprintf(stderr, "flowgen: %s: %s\n", a.intel, strerror(errno));
        status = FG_EXIT_IO;
    }
    if (status == FG_EXIT_OK)
        fprintf(stderr,
                "flowgen: %" PRIu64 " flows (%" PRIu32 " records, threats %" PRIu32
                ", look-alikes %" PRIu32 ", everyday %" PRIu32 "; %" PRIu64
                " copies by the core router) in %" PRIu64 " datagrams from %" PRIu32
                " exporter%s%s, %" PRIu32 " planted cases -> %s\n",
                x.n_flows, g.n, n_threat, n_lookalike, g.n - n_threat - n_lookalike, x.n_dups,
                x.n_dgrams, fg_export_active(&x), fg_export_active(&x) == 1 ? "" : "s",
                fg_export_active(&x) < x.n_ex ? " (the others had no traffic: a record goes to "
                                                "the router of its internal /24)"
                                              : "",
                cases.n, a.out ? a.out : a.to);
    fg_export_free(&x);
    fg_org_free(&org);
    free(g.flows);
    return status;
}
