/* bench_decode.c: how fast the collector decodes NetFlow v5, v9 and IPFIX, beside tshark.
 *
 * Issue 3 sets the goal: at least 20 million flows per CPU-second for each protocol, decoded
 * from memory through ingest_datagram(), the one path every datagram takes in flowhuntd (version
 * dispatch, decoder, template cache, per-exporter and sequence accounting). The benchmark makes
 * N synthetic flow records (deterministic: own PRNG, fixed seed), encodes them as a router would
 * (nf5_encode, nf9_encode, ipfix_encode: 4 exporters, IPv4, v9 and IPFIX filling 1400-byte
 * datagrams with templates every 20), keeps the datagrams in memory, and decodes them --runs
 * times with a fresh ingest state each time, timing only the decode loop with
 * CLOCK_PROCESS_CPUTIME_ID. The sink only counts flows and sums their packets, which are checked
 * against what was encoded, so a decoder that drops or garbles records cannot look fast.
 *
 * The anchor: no nfdump tool decodes NetFlow from a pcap (nfcapd reads only its socket,
 * nfpcapd builds flows from raw packets, nfreplay sends nfcapd files), so the anchor is tshark's
 * cflow dissector on the same datagrams written as a pcap (pcap_write), `tshark -r F -d
 * udp.port==2055,cflow -T fields -e cflow.packets`, its CPU time (user + system) taken from
 * getrusage(RUSAGE_CHILDREN), minus that of the same command on a one-datagram capture (its
 * start-up, which would otherwise dominate small runs). The values tshark prints are counted
 * and must be N. The machine is shared and noisy, so the figure to quote is the ratio measured
 * in the same run, not the absolute rate.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow.h"
#include "ingest.h"
#include "ipfix_encode.h"
#include "nf5_encode.h"
#include "nf9_encode.h"
#include "pcap_write.h"

#define BD_DEFAULT_FLOWS 1000000u
#define BD_DEFAULT_RUNS 5u
#define BD_EXPORTERS 4u
#define BD_MTU 1400u
#define BD_GOAL 20e6 /* flows per CPU-second, issue 3 */
#define BD_SEED 0x5eed5eedu
#define BD_START_MS 1795413600000ull /* 2026-11-23T06:00:00Z */
#define BD_PORT 2055u

typedef enum bd_proto { BD_V5, BD_V9, BD_IPFIX, BD_N_PROTOS } bd_proto_t;

static const char *const bd_proto_name[BD_N_PROTOS] = {"v5", "v9", "ipfix"};

/* ---- synthetic flows ---- */

typedef struct bd_rng {
    uint64_t s;
} bd_rng_t;

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t bd_next(bd_rng_t *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Flow i of the run: an internal host talking to an external one, mostly TCP 443, sizes spread
 * over orders of magnitude so counters take their various byte lengths. Times advance by 3 ms a
 * flow, so each exporter's datagrams move forward in time as a router's do. */
static void bd_flow(bd_rng_t *r, uint64_t i, flow_rec_t *f)
{
    uint64_t x = bd_next(r), y = bd_next(r);
    flow_addr_t a;
    flow_rec_clear(f);
    uint64_t end = BD_START_MS + i * 3;
    FLOW_SET(f, time_start, end - (x % 60000));
    FLOW_SET(f, time_end, end);
    int inbound = (x >> 20) & 1;
    uint32_t host = 0x0a000000u | (uint32_t)(y & 0xffff);
    uint32_t peer = 0x20000000u + (uint32_t)((y >> 16) % 0xb0000000u);
    flow_addr_from_v4(&a, inbound ? peer : host);
    FLOW_SET(f, src_addr, a);
    flow_addr_from_v4(&a, inbound ? host : peer);
    FLOW_SET(f, dst_addr, a);
    flow_addr_from_v4(&a, inbound ? 0 : 0xc6336401u);
    FLOW_SET(f, next_hop, a);
    uint16_t eph = (uint16_t)(32768 + (x >> 24) % 28232);
    uint16_t svc = (x >> 40) % 10 < 7 ? 443 : (x >> 40) % 10 < 9 ? 53 : 80;
    FLOW_SET(f, src_port, inbound ? svc : eph);
    FLOW_SET(f, dst_port, inbound ? eph : svc);
    FLOW_SET(f, proto, (uint8_t)(svc == 53 ? 17 : 6));
    FLOW_SET(f, tcp_flags, (uint8_t)(svc == 53 ? 0 : 0x1b));
    uint64_t pkts = 1 + ((y >> 48) & 0xff) * (1 + ((x >> 48) & 0xf));
    FLOW_SET(f, packets, pkts);
    FLOW_SET(f, bytes, pkts * (40 + (y >> 56) * 5));
    FLOW_SET(f, in_if, inbound ? 1u : 10u + (uint32_t)(host >> 8 & 7));
    FLOW_SET(f, out_if, inbound ? 10u + (uint32_t)(host >> 8 & 7) : 1u);
    FLOW_SET(f, src_mask, (uint8_t)(inbound ? 0 : 24));
    FLOW_SET(f, dst_mask, (uint8_t)(inbound ? 24 : 0));
    FLOW_SET(f, tos, 0);
    FLOW_SET(f, src_as, 0);
    FLOW_SET(f, dst_as, 0);
}

/* ---- datagrams in memory ---- */

typedef struct bd_dgram {
    size_t off;
    uint16_t len;
    uint8_t exporter;
    uint64_t ts_ns;
} bd_dgram_t;

typedef struct bd_set {
    uint8_t *bytes;
    size_t len, cap;
    bd_dgram_t *d;
    size_t n, cap_d;
    uint64_t flows, packets; /* what was encoded */
} bd_set_t;

static void *bd_grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(p, ncap * elem);
    if (!np) {
        fprintf(stderr, "bench_decode: out of memory\n");
        exit(1);
    }
    *cap = ncap;
    return np;
}

static void bd_set_add(bd_set_t *s, const uint8_t *buf, size_t len, uint32_t ex, uint64_t ts_ns)
{
    s->bytes = bd_grow(s->bytes, &s->cap, s->len + len, 1);
    s->d = bd_grow(s->d, &s->cap_d, s->n + 1, sizeof *s->d);
    memcpy(s->bytes + s->len, buf, len);
    s->d[s->n++] =
        (bd_dgram_t){.off = s->len, .len = (uint16_t)len, .exporter = (uint8_t)ex, .ts_ns = ts_ns};
    s->len += len;
}

typedef struct bd_exporter {
    nf9e_t nf9;
    ipfixe_t ipfix;
    uint64_t boot_ms;
    uint32_t v5_sequence;
} bd_exporter_t;

/* Encodes the n flows as protocol p: consecutive flows go to one exporter until its datagram
 * is full, then the next exporter takes over, so every exporter sends full datagrams. */
static void bd_encode(bd_proto_t p, uint64_t n, bd_set_t *s)
{
    bd_exporter_t ex[BD_EXPORTERS];
    for (uint32_t i = 0; i < BD_EXPORTERS; i++) {
        ex[i].boot_ms = BD_START_MS - 86400000ull * (i + 1);
        ex[i].v5_sequence = 0;
        nf9e_cfg_t c9 = {.source_id = i, .boot_ms = ex[i].boot_ms, .mtu = BD_MTU};
        ipfixe_cfg_t cx = {.domain = i, .mtu = BD_MTU};
        if (nf9e_init(&ex[i].nf9, &c9) != 0 || ipfixe_init(&ex[i].ipfix, &cx) != 0)
            exit(1); /* BD_MTU holds the templates: a programmer error */
    }
    memset(s, 0, sizeof *s);
    bd_rng_t r = {BD_SEED};
    flow_rec_t pend[64];
    size_t n_pend = 0;
    uint64_t made = 0;
    uint32_t cur = 0;
    uint8_t buf[BD_MTU > NF5_ENC_MAX_LEN ? BD_MTU : NF5_ENC_MAX_LEN];
    while (made < n || n_pend > 0) {
        while (n_pend < sizeof pend / sizeof *pend && made < n) {
            bd_flow(&r, made++, &pend[n_pend++]);
            s->packets += pend[n_pend - 1].packets;
        }
        bd_exporter_t *e = &ex[cur];
        uint64_t last = 0;
        size_t fit = p == BD_V5   ? (n_pend < NF5_ENC_MAX_FLOWS ? n_pend : NF5_ENC_MAX_FLOWS)
                     : p == BD_V9 ? nf9e_fit(&e->nf9, pend, n_pend)
                                  : ipfixe_fit(&e->ipfix, pend, n_pend);
        for (size_t i = 0; i < fit; i++)
            last = pend[i].time_end > last ? pend[i].time_end : last;
        uint64_t export_ms = last + 50;
        size_t len, done = fit;
        if (p == BD_V5) {
            nf5_enc_hdr_t h = {.export_ms = export_ms,
                               .boot_ms = e->boot_ms,
                               .sequence = e->v5_sequence,
                               .engine_id = (uint8_t)cur};
            len = nf5_encode(buf, sizeof buf, &h, pend, fit);
            e->v5_sequence += (uint32_t)fit;
        } else if (p == BD_V9) {
            len = nf9e_encode(&e->nf9, buf, sizeof buf, export_ms, pend, n_pend, &done);
        } else {
            len = ipfixe_encode(&e->ipfix, buf, sizeof buf, export_ms, pend, n_pend, &done);
        }
        if (len == 0 || done != fit)
            exit(1); /* the writers' contract broken: a programmer error */
        bd_set_add(s, buf, len, cur, export_ms * 1000000u);
        s->flows += done;
        memmove(pend, pend + done, (n_pend - done) * sizeof *pend);
        n_pend -= done;
        cur = (cur + 1) % BD_EXPORTERS;
    }
}

/* ---- decoding, timed ---- */

typedef struct bd_count {
    uint64_t flows, packets;
} bd_count_t;

static void bd_sink(void *arg, const flow_rec_t *rec)
{
    bd_count_t *c = arg;
    c->flows++;
    c->packets += rec->packets;
}

static double bd_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One decode of the whole set through ingest_datagram(); returns its CPU seconds, or -1 when
 * anything was dropped or a flow is missing. */
static double bd_decode(const bd_set_t *s, const flow_addr_t *addrs)
{
    bd_count_t c = {0, 0};
    ingest_t in;
    ingest_init(&in, INGEST_CLOCK_EXPORT, bd_sink, &c);
    double t0 = bd_cpu_s();
    for (size_t i = 0; i < s->n; i++) {
        const bd_dgram_t *d = &s->d[i];
        ingest_datagram(&in, &addrs[d->exporter], s->bytes + d->off, d->len, d->ts_ns);
    }
    double t = bd_cpu_s() - t0;
    int bad = in.dropped != 0 || c.flows != s->flows || c.packets != s->packets;
    ingest_free(&in);
    if (bad) {
        fprintf(stderr,
                "bench_decode: decoded %" PRIu64 " flows (%" PRIu64 " packets), want %" PRIu64
                " (%" PRIu64 ")\n",
                c.flows, c.packets, s->flows, s->packets);
        return -1;
    }
    return t;
}

static int bd_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* ---- the anchor: tshark ---- */

static int bd_write_pcap(const char *path, const bd_set_t *s, size_t n_dgrams,
                         const flow_addr_t *addrs)
{
    pcapw_t w;
    flow_addr_t collector;
    flow_addr_from_v4(&collector, 0xc00002feu); /* 192.0.2.254 */
    if (pcapw_open(&w, path) != 0)
        return -1;
    for (size_t i = 0; i < n_dgrams; i++) {
        const bd_dgram_t *d = &s->d[i];
        if (pcapw_udp(&w, d->ts_ns + i, &addrs[d->exporter], (uint16_t)(50000 + d->exporter),
                      &collector, BD_PORT, s->bytes + d->off, d->len) != 0) {
            pcapw_abort(&w);
            return -1;
        }
    }
    return pcapw_close(&w);
}

static double bd_tv(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Runs tshark over the capture; returns the CPU seconds it used (children's rusage) and, in
 * *values, how many cflow.packets values it printed; -1 when it could not run. */
static double bd_tshark(const char *path, uint64_t *values)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (!freopen("/dev/null", "w", stderr))
            _exit(127);
        execlp("tshark", "tshark", "-r", path, "-d", "udp.port==2055,cflow", "-T", "fields", "-e",
               "cflow.packets", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    /* Values are separated by commas within a datagram's line, lines by newlines. */
    char buf[65536];
    ssize_t k;
    uint64_t n = 0;
    int in_value = 0;
    while ((k = read(fd[0], buf, sizeof buf)) > 0 || (k < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < k; i++) {
            int digit = buf[i] >= '0' && buf[i] <= '9';
            if (digit && !in_value)
                n++;
            in_value = digit;
        }
    }
    close(fd[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    getrusage(RUSAGE_CHILDREN, &after);
    *values = n;
    return bd_tv(after.ru_utime) - bd_tv(before.ru_utime) + bd_tv(after.ru_stime) -
           bd_tv(before.ru_stime);
}

/* tshark's flows per CPU-second on the whole set, its start-up (a one-datagram capture)
 * subtracted; 0 when tshark is missing or failed. */
static double bd_anchor(const bd_set_t *s, const flow_addr_t *addrs, const char *dir, bd_proto_t p,
                        double *out_startup)
{
    char full[1024], one[1024];
    snprintf(full, sizeof full, "%s/bench-%s.pcap", dir, bd_proto_name[p]);
    snprintf(one, sizeof one, "%s/bench-%s-1.pcap", dir, bd_proto_name[p]);
    uint64_t n_full = 0, n_one = 0;
    double t_full = -1, t_one = -1;
    if (bd_write_pcap(full, s, s->n, addrs) == 0 && bd_write_pcap(one, s, 1, addrs) == 0) {
        t_one = bd_tshark(one, &n_one);
        t_full = bd_tshark(full, &n_full);
    }
    unlink(full);
    unlink(one);
    if (t_full < 0 || t_one < 0)
        return 0;
    if (n_full != s->flows) {
        fprintf(stderr, "bench_decode: tshark printed %" PRIu64 " values, want %" PRIu64 "\n",
                n_full, s->flows);
        return 0;
    }
    *out_startup = t_one;
    double t = t_full - t_one;
    return t > 0 ? (double)s->flows / t : 0;
}

/* ---- main ---- */

static void bd_usage(FILE *f)
{
    fprintf(f,
            "usage: bench_decode [--flows N] [--runs R] [--no-anchor] [--tmp DIR]\n"
            "\n"
            "Decodes N flows (default %u) as NetFlow v5, v9 and IPFIX datagrams from memory\n"
            "through ingest_datagram(), R times each (default %u), and prints flows per\n"
            "CPU-second (median and best run) beside tshark's on the same datagrams.\n",
            BD_DEFAULT_FLOWS, BD_DEFAULT_RUNS);
}

int main(int argc, char **argv)
{
    uint64_t n_flows = BD_DEFAULT_FLOWS;
    unsigned runs = BD_DEFAULT_RUNS;
    int anchor = 1;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--flows") == 0 && i + 1 < argc) {
            n_flows = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--no-anchor") == 0) {
            anchor = 0;
        } else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            bd_usage(strcmp(argv[i], "--help") == 0 ? stdout : stderr);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (n_flows == 0 || n_flows > 100000000u || runs == 0 || runs > 1000) {
        bd_usage(stderr);
        return 2;
    }
    flow_addr_t addrs[BD_EXPORTERS];
    for (uint32_t i = 0; i < BD_EXPORTERS; i++)
        flow_addr_from_v4(&addrs[i], 0xc0000201u + i); /* 192.0.2.1 .. */

    printf("bench-decode: %" PRIu64 " flows from %u exporters (IPv4; v9 and IPFIX: %u-byte "
           "datagrams, templates every %u), %u runs each, CPU time of the decode loop\n",
           n_flows, BD_EXPORTERS, BD_MTU, NF9E_REFRESH_DEFAULT, runs);
    printf("anchor: %s\n\n",
           anchor ? "tshark 'cflow' dissector, -T fields -e cflow.packets, start-up subtracted"
                  : "none (--no-anchor)");
    printf("%-6s %9s %10s %14s %14s %14s %9s %s\n", "proto", "datagrams", "bytes/flow",
           "Mflows/CPU-s", "best", "tshark", "ratio", "goal 20M");
    double *t = malloc(runs * sizeof *t);
    if (!t)
        return 1;
    for (int p = 0; p < BD_N_PROTOS; p++) {
        bd_set_t s;
        bd_encode((bd_proto_t)p, n_flows, &s);
        for (unsigned r = 0; r < runs; r++) {
            t[r] = bd_decode(&s, addrs);
            if (t[r] < 0)
                return 1;
        }
        if (runs > 1)
            qsort(t, runs, sizeof *t, bd_cmp_double);
        double median = runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2;
        double rate = (double)s.flows / median, best = (double)s.flows / t[0];
        double startup = 0, ts = anchor ? bd_anchor(&s, addrs, dir, (bd_proto_t)p, &startup) : 0;
        char tsh[32] = "-", ratio[32] = "-";
        if (ts > 0) {
            snprintf(tsh, sizeof tsh, "%.3f", ts / 1e6);
            snprintf(ratio, sizeof ratio, "%.0fx", rate / ts);
        }
        printf("%-6s %9zu %10.1f %14.2f %14.2f %14s %9s %s\n", bd_proto_name[p], s.n,
               (double)s.len / (double)s.flows, rate / 1e6, best / 1e6, tsh, ratio,
               rate >= BD_GOAL ? "met" : "BELOW");
        if (anchor && ts <= 0)
            fprintf(stderr, "bench_decode: no tshark figure for %s (not installed, or it failed)\n",
                    bd_proto_name[p]);
        free(s.bytes);
        free(s.d);
    }
    free(t);
    printf("\n(Mflows/CPU-s: median run; ratio: flowhunt median / tshark. The machine is shared: "
           "quote ratios.)\n");
    return 0;
}
