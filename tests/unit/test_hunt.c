/* test_hunt.c: the hunts, from the pure preparation steps to the whole pipeline as a SOC runs it.
 *
 * Preparation is tested on hand-built records whose right answer is known: an active-timeout
 * train must become one conversation, a UDP timer reusing one 5-tuple must not, a flow two
 * routers exported must count once, one-way records must pair into answered conversations and
 * a lone SYN must stay unanswered. The hunts are tested end to end: flowgen writes captures
 * (several seeds, every export format, sampled and not), `flowhuntd --read F -w DIR` stores
 * them, `flowhunt hunt DIR --format json` hunts, and every planted case of the ground truth
 * must be found with the right host, peer and technique while no other finding is High or
 * Critical; precision and recall per hunt are printed. Then: a golden text and JSON report, IDs
 * that survive a second run, acknowledgement, exit statuses, a memory bound small enough to
 * force several passes giving the same findings, and the team's labelled Stratosphere logs.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hunt.h"
#include "hunt_phase.h"
#include "task.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* The hunts the recall figures are for: beacon, scan (horizontal and vertical), dns-exfil (and
 * the encrypted DNS it finds). */
static int th_recall_case(const test_truth_t *c)
{
    return strcmp(c->scenario, "beacon") == 0 || strncmp(c->scenario, "scan-", 5) == 0 ||
           strcmp(c->scenario, "dns-exfil") == 0 || strcmp(c->scenario, "encrypted-dns") == 0;
}

/* `addr` is `where`, or inside it when `where` is a prefix ("10.0.19.0/24", "0.0.0.0/0"): the
 * analyzer's own network matching (flow_net_parse, flow_net_has). */
static int th_addr_in(const char *addr, const char *where)
{
    flow_net_t net;
    flow_addr_t a;
    return flow_net_parse(&net, where) == 0 && flow_addr_parse(&a, addr) == 0 &&
           flow_net_has(&net, &a);
}

/* An allow-list naming as scanners the hosts of every truth line whose scenario starts with
 * one of `prefixes` (NULL-terminated), with a reason; returns its path (static buffer). */
static const char *th_allow_scanners(const char *truth_path, const char *const *prefixes)
{
    static char path[700];
    test_truth_t cases[64];
    int n = test_truth_read(truth_path, cases, 64);
    snprintf(path, sizeof path, "%s/allow-scanners.txt", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fprintf(f, "# authorised scanners\n");
    for (int i = 0; i < n; i++)
        for (const char *const *p = prefixes; *p; p++)
            if (strncmp(cases[i].scenario, *p, strlen(*p)) == 0) {
                fprintf(f, "host@scan = %s Nessus, ticket 7\n", cases[i].host);
                break;
            }
    fclose(f);
    return path;
}

/* A capture stored in a data directory; returns the directory (static buffer). */
static const char *th_store(const char *name, const char *fmt, int flows, int seed,
                            const char *hours, int sample, char *truth, size_t truth_cap)
{
    static char dir[600];
    char pcap[600];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    snprintf(pcap, sizeof pcap, "%s/%s.pcap", test_tmpdir(), name);
    snprintf(truth, truth_cap, "%s/%s.truth", test_tmpdir(), name);
    test_flowgen_store(dir, pcap, "",
                       "--format %s --flows %d --seed %d --start 2024-03-01T00:00:00Z --hours %s "
                       "--exporters 3 --sample %d --truth %s",
                       fmt, flows, seed, hours, sample, truth);
    return dir;
}

#define TH_HUNT_ARGS "--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53"

/* Per-hunt tallies across workloads. */
typedef struct th_score {
    int tp, fn, fp, fp_high;
} th_score_t;

/* The tallies: the three hunts recall is measured for, then every other hunt's findings
 * (their recall is their own tests'; here only what they report on nothing planted). */
#define TH_N_SCORES 4

static int th_hunt_index(const char *h)
{
    return strcmp(h, "beacon") == 0      ? 0
           : strcmp(h, "scan") == 0      ? 1
           : strcmp(h, "dns-exfil") == 0 ? 2
                                         : 3;
}

/* The tally a planted case's recall counts in. */
static int th_case_index(const test_truth_t *c)
{
    return strncmp(c->scenario, "scan", 4) == 0                                                 ? 1
           : strcmp(c->scenario, "dns-exfil") == 0 || strcmp(c->scenario, "encrypted-dns") == 0 ? 2
                                                                                                : 0;
}

/* Hunts `dir` with the authorised vulnerability scanner allow-listed; checks every detectable
 * beacon, scan and dns-exfil case of the truth is found (host, peer, technique). A finding on
 * another planted threat (miner, tunnel, ...) is neither a hit nor a false positive here; one
 * on a benign look-alike or on nothing planted is a false positive. */
static void th_check(const char *dir, const char *truth_path, th_score_t sc[TH_N_SCORES],
                     const char *label)
{
    char *out;
    static const char *const authorised[] = {"benign-vuln-scanner", NULL};
    const char *allow = th_allow_scanners(truth_path, authorised);
    int rc = test_runf(&out, "%s hunt %s " TH_HUNT_ARGS " --format json --now 2024-03-20 --allow %s",
                    test_bin("flowhunt"), dir, allow);
    ASSERT_EQ(rc, 1); /* findings reported */
    test_truth_t cases[64];
    int n = test_truth_read(truth_path, cases, 64), n_recall = 0;
    for (int i = 0; i < n; i++)
        n_recall += th_recall_case(&cases[i]) && cases[i].detectable;
    ASSERT_GE(n_recall, 1);
    int found[64] = {0};
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        char hunt[32], host[64], peer[64], risk[16], supp[8] = "";
        ASSERT(test_json_str(line, "hunt", hunt, sizeof hunt));
        ASSERT(test_json_str(line, "host", host, sizeof host));
        ASSERT(test_json_str(line, "peer", peer, sizeof peer));
        ASSERT(test_json_str(line, "risk_level", risk, sizeof risk));
        test_json_str(line, "suppressed", supp, sizeof supp);
        const char *techs = strstr(line, "\"techniques\":[");
        ASSERT_NOT_NULL(techs);
        int match = -1, other_threat = 0;
        for (int i = 0; i < n; i++) {
            char want[32];
            snprintf(want, sizeof want, "\"%s\"", cases[i].technique);
            const char *end = strchr(techs, ']');
            char *hit = strstr(techs, want);
            /* a look-alike's peer may be a prefix the finding's peer (or /24) lies in */
            char peer_addr[64];
            snprintf(peer_addr, sizeof peer_addr, "%.*s", (int)strcspn(peer, "/"), peer);
            int where = th_addr_in(host, cases[i].host) &&
                        (strcmp(peer, cases[i].peer) == 0 ||
                         (strchr(cases[i].peer, '/') && th_addr_in(peer_addr, cases[i].peer)));
            if (th_recall_case(&cases[i]) && where && hit && hit < end)
                match = i;
            else if (where && cases[i].technique[0])
                other_threat = 1;
        }
        int h = th_hunt_index(hunt);
        if (match >= 0) {
            if (!found[match]) /* the case's hunt: a beacon merged into another hunt's finding */
                sc[th_case_index(&cases[match])].tp++;
            found[match] = 1;
        } else if (!other_threat && strcmp(supp, "true") != 0) {
            sc[h].fp++;
            if (strcmp(risk, "High") == 0 || strcmp(risk, "Critical") == 0) {
                sc[h].fp_high++;
                const char *what = "not planted";
                for (int i = 0; i < n; i++) {
                    char pa[64];
                    snprintf(pa, sizeof pa, "%.*s", (int)strcspn(peer, "/"), peer);
                    if (!cases[i].technique[0] && th_addr_in(host, cases[i].host) &&
                        th_addr_in(pa, cases[i].peer))
                        what = cases[i].scenario;
                }
                fprintf(stderr, "%s: benign finding (%s) at %s: %s %s -> %s\n", label, what,
                        risk, hunt, host, peer);
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (th_recall_case(&cases[i]) && cases[i].detectable && !found[i]) {
            static const char *const hunts[3] = {"beacon", "scan", "dns-exfil"};
            int h = th_case_index(&cases[i]);
            sc[h].fn++;
            fprintf(stderr, "%s: missed %s %s -> %s (%s hunt)\n", label, cases[i].scenario,
                    cases[i].host, cases[i].peer, hunts[h]);
        }
    free(out);
}

static void th_print_scores(const th_score_t sc[TH_N_SCORES])
{
    static const char *const hunts[3] = {"beacon", "scan", "dns-exfil"};
    printf("# other hunts: %d findings on nothing planted, %d of them High/Critical\n", sc[3].fp,
           sc[3].fp_high);
    for (int h = 0; h < 3; h++) {
        double prec = sc[h].tp + sc[h].fp ? (double)sc[h].tp / (sc[h].tp + sc[h].fp) : 1;
        double rec = sc[h].tp + sc[h].fn ? (double)sc[h].tp / (sc[h].tp + sc[h].fn) : 1;
        double prec_hi =
            sc[h].tp + sc[h].fp_high ? (double)sc[h].tp / (sc[h].tp + sc[h].fp_high) : 1;
        printf("# %-9s recall %.3f (%d/%d)  precision %.3f over all levels, %.3f over High and "
               "Critical (%d benign findings, %d at High/Critical)\n",
               hunts[h], rec, sc[h].tp, sc[h].tp + sc[h].fn, prec, prec_hi, sc[h].fp,
               sc[h].fp_high);
    }
    fflush(stdout);
}

/* ---- preparation -------------------------------------------------------------------------- */

static void th_rec(hp_rec_t *r, const char *src, uint16_t sp, const char *dst, uint16_t dp,
                   uint8_t proto, uint64_t t0, uint64_t t1, uint64_t pkts, uint64_t bytes,
                   uint64_t exporter)
{
    memset(r, 0, sizeof *r);
    ASSERT_EQ(flow_addr_parse(&r->src, src), 0);
    ASSERT_EQ(flow_addr_parse(&r->dst, dst), 0);
    r->sport = sp;
    r->dport = dp;
    r->proto = proto;
    r->t0 = t0;
    r->t1 = t1;
    r->pkts = pkts;
    r->bytes = bytes;
    r->exporter = exporter;
    r->sampling = 1;
}

typedef struct th_convs {
    hunt_conv_t v[64];
    int n;
} th_convs_t;

static void th_emit(void *arg, const hunt_conv_t *c)
{
    th_convs_t *cv = arg;
    ASSERT_LT(cv->n, 64);
    cv->v[cv->n++] = *c;
}

static const hunt_conv_t *th_find(const th_convs_t *cv, const char *orig, uint16_t resp_port)
{
    flow_addr_t a;
    ASSERT_EQ(flow_addr_parse(&a, orig), 0);
    for (int i = 0; i < cv->n; i++)
        if (memcmp(cv->v[i].orig.b, a.b, 16) == 0 && cv->v[i].resp_port == resp_port)
            return &cv->v[i];
    return NULL;
}

TEST_IMPL(hunt_prep_stitch_dedup_pair)
{
    hunt_config_t cfg;
    hc_defaults(&cfg);
    char err[128];
    ASSERT_EQ(hc_set_nets(&cfg.internal, &cfg.n_internal, "10.0.0.0/8", 0, err, sizeof err), 0);
    hp_rec_t r[48];
    int n = 0;
    const uint64_t T = 1700000000000ull, AT = 30 * 60 * 1000;
    /* a 75-minute TCP session cut by a 30-minute active timeout, both directions, sent by two
     * routers: 3 fragments x 2 directions x 2 exporters = 12 records, one conversation */
    for (uint64_t ex = 1; ex <= 2; ex++)
        for (uint64_t j = 0; j < 3; j++) {
            uint64_t s = T + j * AT, e = j == 2 ? T + 75 * 60000 : s + AT - 1;
            th_rec(&r[n], "10.0.0.5", 40000, "203.0.113.7", 443, 6, s, e, 100, 10000, ex);
            r[n++].flags = j == 2 ? 0x19 : 0x18 | (j == 0 ? 0x02 : 0);
            th_rec(&r[n], "203.0.113.7", 443, "10.0.0.5", 40000, 6, s + 20, e + 20, 200, 200000,
                   ex);
            r[n++].flags = 0x18;
        }
    /* a UDP timer on one 5-tuple every 60 s: short records, never stitched */
    for (int j = 0; j < 5; j++) {
        th_rec(&r[n++], "10.0.0.6", 5000, "198.51.100.9", 9999, 17, T + j * 60000,
               T + j * 60000 + 10, 1, 80, 1);
    }
    /* an unanswered SYN, and a SYN answered by RST */
    th_rec(&r[n], "10.0.0.7", 50000, "10.0.0.8", 22, 6, T, T, 1, 44, 1);
    r[n++].flags = 0x02;
    th_rec(&r[n], "10.0.0.7", 50001, "10.0.0.9", 23, 6, T + 5, T + 5, 1, 44, 1);
    r[n++].flags = 0x02;
    th_rec(&r[n], "10.0.0.9", 23, "10.0.0.7", 50001, 6, T + 6, T + 6, 1, 40, 1);
    r[n++].flags = 0x14;
    /* ICMP echo whose reply record starts first (clocks of two routers differ): the type,
     * not the time, says who asked */
    th_rec(&r[n++], "10.0.0.10", 0, "192.0.2.1", 8 << 8, 1, T + 1001, T + 4001, 4, 336, 1);
    th_rec(&r[n++], "192.0.2.1", 0, "10.0.0.10", 0, 1, T + 1000, T + 4000, 4, 336, 1);
    /* a lone response record (its request was lost): the service side is not the originator */
    th_rec(&r[n], "203.0.113.50", 443, "10.0.0.11", 51000, 6, T, T + 10, 5, 5000, 1);
    r[n++].sampling = 100;
    /* one DNS flow from two routers, one sampling 1:100 (it kept one packet), one not: the
     * counters of the copy that saw most come with its own rate (the other's made 30000) */
    th_rec(&r[n], "10.0.0.12", 5353, "192.0.2.53", 53, 17, T + 100, T + 900, 1, 200, 3);
    r[n++].sampling = 100;
    th_rec(&r[n++], "10.0.0.12", 5353, "192.0.2.53", 53, 17, T + 100, T + 900, 300, 60000, 4);
    /* exported one way: a client's SYN, then ACKs: answered though no answer was exported */
    th_rec(&r[n], "10.0.0.13", 40001, "10.0.0.14", 443, 6, T + 200, T + 9000, 20, 6000, 1);
    r[n++].flags = 0x1b;
    /* a SYN from source port 53 answered by RST: the bare SYN, not the port, is the client */
    th_rec(&r[n], "10.0.0.15", 53, "10.0.0.16", 2000, 6, T + 300, T + 300, 1, 44, 1);
    r[n++].flags = 0x02;
    th_rec(&r[n], "10.0.0.16", 2000, "10.0.0.15", 53, 6, T + 301, T + 301, 1, 40, 1);
    r[n++].flags = 0x14;
    /* four DNS exchanges of one host with one resolver, from four source ports, over IPv4 and
     * IPv6: a conversation's two records must meet however the other conversations of the
     * same two addresses sort between them (a key that put the direction above the ports
     * left every one of them unanswered) */
    for (int j = 0; j < 4; j++) {
        th_rec(&r[n++], "10.0.0.20", (uint16_t)(40003 - j), "192.0.2.80", 53, 17, T + 400 + j,
               T + 400 + j, 1, 70, 1);
        th_rec(&r[n++], "192.0.2.80", 53, "10.0.0.20", (uint16_t)(40003 - j), 17, T + 401 + j,
               T + 401 + j, 1, 150, 1);
    }
    for (int j = 0; j < 2; j++) {
        th_rec(&r[n++], "2001:db8::20", (uint16_t)(40001 - j), "2001:db8:ffff::53", 53, 17,
               T + 500 + j, T + 500 + j, 1, 90, 1);
        th_rec(&r[n++], "2001:db8:ffff::53", 53, "2001:db8::20", (uint16_t)(40001 - j), 17,
               T + 501 + j, T + 501 + j, 1, 170, 1);
    }

    hp_stats_t st;
    memset(&st, 0, sizeof st);
    th_convs_t cv = {.n = 0};
    hp_prepare(&cfg, r, (size_t)n, th_emit, &cv, &st);

    const hunt_conv_t *c = th_find(&cv, "10.0.0.5", 443);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->answered, 1);
    ASSERT_EQ(c->n_records, 6);   /* 3 fragments each way */
    ASSERT_EQ(c->n_exporters, 2); /* the second router's copy counted once */
    ASSERT_UINT64_EQ(c->pkts_out, 300);
    ASSERT_UINT64_EQ(c->bytes_in, 600000);
    ASSERT_UINT64_EQ(c->t_end - c->t_start, 75 * 60000 + 20);
    ASSERT_UINT64_EQ(st.duplicates, 3); /* after stitching: one copy per direction, + DNS */
    ASSERT_UINT64_EQ(st.stitched, 8);
    int timers = 0;
    for (int i = 0; i < cv.n; i++)
        timers += cv.v[i].resp_port == 9999;
    ASSERT_EQ(timers, 5);
    c = th_find(&cv, "10.0.0.7", 22);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->answered, 0);
    c = th_find(&cv, "10.0.0.7", 23);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->answered, 1);
    ASSERT_EQ(c->rejected, 1);
    c = th_find(&cv, "10.0.0.10", 8 << 8);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->answered, 1);
    ASSERT_EQ(c->orig_internal, 1);
    c = th_find(&cv, "10.0.0.11", 443);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->sampling, 100);
    /* a lone answer turned round: its counters are the responder's, scaled by the sampling
     * rate; what the originator sent is unknown, not what the server sent */
    ASSERT_UINT64_EQ(c->bytes_in, 500000);
    ASSERT_UINT64_EQ(c->bytes_out, 0);
    ASSERT_EQ(c->answered, 1);
    c = th_find(&cv, "10.0.0.12", 53);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->sampling, 1);
    ASSERT_UINT64_EQ(c->pkts_out, 300);
    ASSERT_UINT64_EQ(c->bytes_out, 60000);
    c = th_find(&cv, "10.0.0.13", 443);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->answered, 1);
    ASSERT_UINT64_EQ(c->bytes_in, 0);
    c = th_find(&cv, "10.0.0.15", 2000);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ(c->rejected, 1);
    int dns_pairs = 0;
    for (int i = 0; i < cv.n; i++) {
        char o[FLOW_ADDR_STRLEN];
        flow_addr_format(&cv.v[i].orig, o);
        if (strcmp(o, "10.0.0.20") != 0 && strcmp(o, "2001:db8::20") != 0)
            continue;
        ASSERT_EQ(cv.v[i].resp_port, 53);
        ASSERT_EQ(cv.v[i].answered, 1);
        ASSERT_EQ(cv.v[i].n_records, 2);
        ASSERT_UINT64_EQ(cv.v[i].bytes_in, o[0] == '1' ? 150 : 170);
        dns_pairs++;
    }
    ASSERT_EQ(dns_pairs, 6);
    ASSERT_EQ(cv.n, 1 + 5 + 2 + 1 + 1 + 1 + 1 + 1 + 6);
    for (int i = 1; i < cv.n; i++) /* time order */
        ASSERT(cv.v[i - 1].t_start <= cv.v[i].t_start);
    hc_free(&cfg);
    return 0;
}

/* xorshift64: the tests' reproducible random numbers */
static uint64_t ts_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Every exchange of a request and its answer is one answered conversation of two records,
 * however many other exchanges share its two addresses, whichever address and port is the
 * lower, over IPv4 and IPv6, TCP, UDP and ICMP (whose key has no ports), in any input order:
 * the property that preparation's one sort must keep, as its key decides which records meet
 * (a key with the direction above the ports split every exchange here into two). */
typedef struct tp_count {
    int n, bad;
} tp_count_t;

static void tp_emit(void *arg, const hunt_conv_t *c)
{
    tp_count_t *k = arg;
    k->n++;
    k->bad += !c->answered || c->n_records != 2 || c->rejected;
}

TEST_IMPL(hunt_prep_pairs_every_exchange)
{
    hunt_config_t cfg;
    hc_defaults(&cfg);
    enum { N = 6000 };
    static const char *const v4[] = {"10.0.0.7",     "10.0.0.200",  "10.9.0.1",
                                     "198.51.100.4", "203.0.113.9", "192.0.2.200"};
    static const char *const v6[] = {"fd00::7", "fd00::1:0", "2001:db8::53", "2001:db8:ffff::1"};
    static const uint16_t svc[] = {53, 443, 1500, 20000, 65000};
    hp_rec_t *r = malloc(2 * N * sizeof *r);
    ASSERT_NOT_NULL(r);
    uint64_t seed = 0x2545f4914f6cdd1dull;
    const uint64_t T = 1700000000000ull;
    for (int i = 0; i < N; i++) {
        int six = i % 4 == 3, nh = six ? 4 : 6;
        const char *const *pool = six ? v6 : v4;
        int a = (int)(ts_rand(&seed) % (uint64_t)nh),
            b = (a + 1 + (int)(ts_rand(&seed) % (uint64_t)(nh - 1))) % nh;
        int kind = (int)(ts_rand(&seed) % 3);
        uint8_t proto = kind == 0 ? 6 : kind == 1 ? 17 : six ? 58 : 1;
        uint16_t cp = (uint16_t)(1024 + i), sp = svc[ts_rand(&seed) % 5];
        uint16_t req = six ? 128 << 8 : 8 << 8, rep = six ? 129 << 8 : 0;
        uint64_t t = T + (uint64_t)i * 1000; /* one exchange a second: no two of one ICMP pair
                                              * within the pairing tolerance of each other */
        if (proto == 6 || proto == 17) {
            th_rec(&r[2 * i], pool[a], cp, pool[b], sp, proto, t, t + 5, 3, 300, 1);
            th_rec(&r[2 * i + 1], pool[b], sp, pool[a], cp, proto, t + 2, t + 6, 3, 900, 1);
            r[2 * i].flags = r[2 * i + 1].flags = proto == 6 ? 0x1b : 0;
        } else {
            th_rec(&r[2 * i], pool[a], 0, pool[b], req, proto, t, t + 5, 1, 84, 1);
            th_rec(&r[2 * i + 1], pool[b], 0, pool[a], rep, proto, t + 2, t + 6, 1, 84, 1);
        }
    }
    for (int i = 2 * N - 1; i > 0; i--) { /* any input order */
        int j = (int)(ts_rand(&seed) % (uint64_t)(i + 1));
        hp_rec_t x = r[i];
        r[i] = r[j];
        r[j] = x;
    }
    hp_stats_t st;
    memset(&st, 0, sizeof st);
    tp_count_t k = {0, 0};
    hp_prepare(&cfg, r, 2 * N, tp_emit, &k, &st);
    ASSERT_EQ(k.n, N);
    ASSERT_EQ(k.bad, 0);
    ASSERT_UINT64_EQ(st.paired, N);
    ASSERT_UINT64_EQ(st.stitched, 0);
    ASSERT_UINT64_EQ(st.duplicates, 0);
    free(r);
    hc_free(&cfg);
    return 0;
}

/* ---- hp_sort_keys against a reference ---------------------------------------------------- */

typedef struct ts_item {
    uint32_t tie; /* what `cmp` orders by where the words are equal */
    uint32_t at;  /* input position: the reference's stability */
    uint64_t w[3];
} ts_item_t;

static int ts_cmp_tie(const void *a, const void *b)
{
    const ts_item_t *x = a, *y = b;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

static int ts_cmp_ref(const void *a, const void *b)
{
    const ts_item_t *x = *(ts_item_t *const *)a, *y = *(ts_item_t *const *)b;
    for (int w = 0; w < 3; w++)
        if (x->w[w] != y->w[w])
            return x->w[w] < y->w[w] ? -1 : 1;
    int c = ts_cmp_tie(x, y);
    return c ? c : (x->at < y->at ? -1 : x->at > y->at);
}

/* The radix sort packs the bytes keys differ in (one, two or three words' worth) and unpacks
 * them: every shape must give the order of a stable comparison sort, words intact. */
TEST_IMPL(hunt_sort_keys)
{
    enum { N = 70000 }; /* above the sort's cache-sized runs (16384): split by top digits */
    ts_item_t *items = malloc(N * sizeof *items);
    ts_item_t **ref = malloc(N * sizeof *ref);
    hp_skey_t *k = malloc(N * sizeof *k);
    ASSERT_NOT_NULL(items);
    ASSERT_NOT_NULL(ref);
    ASSERT_NOT_NULL(k);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    /* shape: 0 a time alone (1 packed word), 1 an IPv4 pair (1), 2 an IPv4 5-tuple (2),
     * 3 random words (3), 4 all equal (ties only), 5 few values (long runs of ties),
     * 6 bits varying inside otherwise constant bytes, 7 a top digit of four values (runs
     * still too long after the first split) */
    for (int shape = 0; shape < 8; shape++)
        for (int with_cmp = 0; with_cmp < 2; with_cmp++) {
            for (uint32_t i = 0; i < N; i++) {
                ts_item_t *t = &items[i];
                uint64_t r = ts_rand(&seed), q = ts_rand(&seed);
                t->at = i;
                t->tie = (uint32_t)(q >> 40) % 7;
                uint64_t v4a = 0xffff00000000ull | (r & 0xffffffffu),
                         v4b = 0xffff0a000000ull | (q & 0xffffu);
                switch (shape) {
                case 0: t->w[0] = 1795392000000ull + r % 86400000ull, t->w[1] = t->w[2] = 0; break;
                case 1: t->w[0] = v4a, t->w[1] = v4b, t->w[2] = 0; break;
                case 2: t->w[0] = v4a, t->w[1] = v4b, t->w[2] = (q >> 16) & 0xffffffffffull; break;
                case 3: t->w[0] = r, t->w[1] = q, t->w[2] = ts_rand(&seed); break;
                case 4: t->w[0] = 5, t->w[1] = 6, t->w[2] = 7; break;
                case 5: t->w[0] = r % 3, t->w[1] = 42, t->w[2] = q % 2; break;
                case 6: t->w[0] = 0x8000000000000001ull | (r & 0x0101010000ull),
                        t->w[1] = 0x00ff00ff00ff00ffull ^ (q & 0x10000000ull), t->w[2] = 3; break;
                default: t->w[0] = r % 4, t->w[1] = q, t->w[2] = 0;
                }
                k[i] = (hp_skey_t){{t->w[0], t->w[1], t->w[2]}, t};
                ref[i] = t;
            }
            hp_sort_keys(k, N, with_cmp ? ts_cmp_tie : NULL);
            if (!with_cmp) /* equal words keep their input order */
                for (uint32_t i = 0; i < N; i++)
                    items[i].tie = 0;
            qsort(ref, N, sizeof *ref, ts_cmp_ref);
            for (uint32_t i = 0; i < N; i++) {
                ASSERT_BASE(k[i].p, ==, (void *)ref[i], const void *, "%p");
                for (int w = 0; w < 3; w++)
                    ASSERT_UINT64_EQ(k[i].w[w], ref[i]->w[w]);
            }
        }
    free(items);
    free(ref);
    free(k);
    return 0;
}

/* hj_vec_at: elements come in zeroed however the room was made (a reused heap block is
 * dirty: the memory of the first vector, filled and freed, is what malloc hands the second
 * on glibc, and ASan fills fresh blocks), values survive every growth, the copy that grows
 * a block of 4 MiB and more (hj_xrealloc, advised for huge pages) included, and a jump ahead
 * zeroes every element it passes. */
typedef struct tv_elem {
    uint64_t a, b, c, d, e, f, g, h;
} tv_elem_t;

static uint64_t tv_mark(size_t i)
{
    return 0x9e3779b97f4a7c15ull * (i + 1);
}

static int tv_zero(const tv_elem_t *e)
{
    static const tv_elem_t z;
    return memcmp(e, &z, sizeof z) == 0;
}

TEST_IMPL(hunt_vec_zeroed)
{
    hj_vec_t a, b;
    hj_vec_init(&a, sizeof(tv_elem_t));
    for (size_t i = 0; i < 1000; i++) /* 64 KiB: glibc's heap, below its mmap threshold */
        memset(hj_vec_at(&a, i), 0xab, sizeof(tv_elem_t));
    hj_vec_free(&a);
    hj_vec_init(&b, sizeof(tv_elem_t));
    ASSERT(tv_zero(hj_vec_at(&b, 999))); /* one jump: 0 .. 999 exposed */
    ASSERT_EQ(b.n, 1000);
    for (size_t i = 0; i < 1000; i++)
        ASSERT(tv_zero((tv_elem_t *)b.v + i));
    /* appends and jumps through 6.4 MB, each element marked as it comes in */
    for (size_t i = 0; i < 1000; i++)
        ((tv_elem_t *)b.v)[i].a = tv_mark(i);
    size_t i = 1000;
    while (i < 100000) {
        size_t to = i % 7 == 0 ? i + 777 : i; /* now and then a jump ahead */
        tv_elem_t *e = hj_vec_at(&b, to);
        ASSERT(tv_zero(e));
        for (size_t k = i; k <= to; k++) {
            ASSERT(tv_zero((tv_elem_t *)b.v + k));
            ((tv_elem_t *)b.v)[k].a = tv_mark(k);
            ((tv_elem_t *)b.v)[k].h = ~tv_mark(k);
        }
        i = to + 1;
    }
    ASSERT_GE(b.cap * sizeof(tv_elem_t), (size_t)4 << 20);
    for (size_t k = 0; k < b.n; k++) {
        const tv_elem_t *e = (const tv_elem_t *)b.v + k;
        ASSERT(e->a == tv_mark(k));
        ASSERT(e->h == (k < 1000 ? 0 : ~tv_mark(k)));
        ASSERT(e->b == 0 && e->g == 0);
    }
    hj_vec_free(&b);
    return 0;
}

TEST_IMPL(hunt_intern_keys)
{
    /* ids in first-seen order, found again by lookup, for keys of one length and then of
     * mixed lengths (the table switches layout), through several growths; the empty key
     * first (an empty arena is where a null pointer could slip in) */
    hj_intern_t t = {0};
    int is_new;
    ASSERT_EQ(hj_intern(&t, "", 0, &is_new), 0);
    ASSERT_EQ(is_new, 1);
    char key[64];
    for (int i = 1; i < 5000; i++) {
        int len = i < 2500 ? 0 : 5 + i % 40; /* more than the digits: keys stay distinct */
        memset(key, 0, sizeof key);
        snprintf(key, sizeof key, "%d", i);
        uint64_t id = hj_intern(&t, key, (size_t)(len ? len : 8), &is_new);
        ASSERT_EQ(is_new, 1);
        ASSERT_UINT64_EQ(id, (uint64_t)i);
    }
    ASSERT_EQ(hj_intern(&t, "", 0, &is_new), 0);
    ASSERT_EQ(is_new, 0);
    for (int i = 1; i < 5000; i++) {
        int len = i < 2500 ? 0 : 5 + i % 40; /* more than the digits: keys stay distinct */
        memset(key, 0, sizeof key);
        snprintf(key, sizeof key, "%d", i);
        ASSERT_UINT64_EQ(hj_lookup(&t, key, (size_t)(len ? len : 8)), (uint64_t)i);
    }
    ASSERT_UINT64_EQ(hj_lookup(&t, "absent", 6), UINT64_MAX);
    ASSERT_UINT64_EQ(t.n, 5000);
    hj_intern_free(&t);
    return 0;
}

/* Every setting that counts something (hosts, packets, connections, bytes, peers, targets,
 * ports, hours seen, a sampling rate) takes a whole number: a fraction is refused, as the docs
 * promise, not taken as a threshold between two counts. Seven counts were declared `real`
 * ([intel] critical_connections, [nonapp] min_packets, [rare] max_hosts ...) and took 2.5. The
 * rule is by name, so a new count declared `real` fails here. */
TEST_IMPL(hunt_config_counts_whole)
{
    static const char *count_words[] = {"hosts",       "packets",  "connections",  "bytes",
                                        "peers",       "_n",       "destinations", "bins",
                                        "horizontal",  "vertical", "icmp_fast",    "icmp_slow",
                                        "sampled_min", "findings", "fold_min_low", "workers"};
#define TH_X_KIND(sec, key, field, def, lo, hi, kind, doc) {#sec, #key, #kind},
    static const struct {
        const char *sec, *key, *kind;
    } keys[] = {HC_NUMBERS(TH_X_KIND)};
#undef TH_X_KIND
    char ini[600];
    snprintf(ini, sizeof ini, "%s/counts.ini", test_tmpdir());
    int counts = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *k = keys[i].key, *w = NULL;
        for (size_t j = 0; j < sizeof count_words / sizeof count_words[0] && !w; j++) {
            size_t kl = strlen(k), wl = strlen(count_words[j]);
            if (kl >= wl && strcmp(k + kl - wl, count_words[j]) == 0)
                w = count_words[j];
        }
        if (!w || strstr(k, "_per_"))
            continue; /* a ratio such as bytes_per_packet is real */
        counts++;
        if (strcmp(keys[i].kind, "whole") != 0)
            fprintf(stderr, "# %s.%s counts %s but is declared %s\n", keys[i].sec, k, w,
                    keys[i].kind);
        ASSERT_STR_EQ(keys[i].kind, "whole");
        /* and a fraction of it is refused by name */
        char text[200], err[512];
        hunt_config_t c;
        hc_defaults(&c);
        snprintf(text, sizeof text, "[%s]\n%s = 2.5\n", keys[i].sec, k);
        ASSERT_EQ(test_write_file(ini, text), 0);
        ASSERT_EQ(hc_load(&c, ini, err, sizeof err), -1);
        ASSERT_NOT_NULL(strstr(err, "is not a whole number"));
        hc_free(&c);
    }
    ASSERT(counts >= 40);
    /* a fold threshold of 1 folded single findings into "blocks" of one: 0 (none) or 2+ */
    static const char *const folds[] = {"fold_min_hosts", "fold_min_findings", "fold_min_low"};
    for (int i = 0; i < 3; i++)
        for (int v = 0; v <= 2; v++) {
            char text[200], err[512];
            hunt_config_t c;
            hc_defaults(&c);
            snprintf(text, sizeof text, "[general]\n%s = %d\n", folds[i], v);
            ASSERT_EQ(test_write_file(ini, text), 0);
            ASSERT_EQ(hc_load(&c, ini, err, sizeof err), v == 1 ? -1 : 0);
            if (v == 1)
                ASSERT_NOT_NULL(strstr(err, "0 (none) or 2 or more"));
            hc_free(&c);
        }
    return 0;
}

/* The allow-list against findings as the report shows them (hunt_finding_allow): a dst entry
 * covers a finding whose peer is a network inside it (a horizontal scan's targets, a beacon's
 * /24), which it never did (only single peers were offered); a port entry without a protocol
 * does not cover a finding without a port (the rare hunt offered ICMP's type * 256 + code, so
 * 'port = 2048' hid an echo); a vpn_peers suppression names its key in the action. */
TEST_IMPL(hunt_allow_as_reported)
{
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/allow.ini", test_tmpdir());
    ASSERT_EQ(test_write_file(path, "[allow]\ndst@scan = 10.0.0.0/8 internal sweeps authorised\n"
                                    "dst = 203.0.113.0/24 backup provider\n"
                                    "port = 2048 licence server\n"
                                    "[general]\nvpn_peers = 198.51.100.1\n"),
              0);
    hunt_config_t c;
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), 0);
    static const struct {
        const char *hunt, *peer;
        int port;
        uint8_t proto;
        int suppressed;
    } v[] = {{"scan", "10.0.11.0/24", 445, 6, 1},     /* horizontal: the targets' network */
             {"scan", "10.0.0.0/16", 22, 6, 1},       /* inside 10/8 */
             {"scan", "0.0.0.0/0", 22, 6, 0},         /* wider than the entry */
             {"beacon", "10.0.11.0/24", 443, 6, 0},   /* the scan entry only */
             {"beacon", "203.0.113.0/24", 443, 6, 1}, /* a beacon's /24 */
             {"beacon", "203.0.113.9", 443, 6, 1},
             {"rare", "192.0.2.9", -1, 1, 0}, /* ICMP echo: no port, 2048 is not one */
             {"rare", "192.0.2.9", 2048, 6, 1}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hunt_findings_t l = {0};
        hunt_finding_t *f = hunt_finding_new(&l, v[i].hunt);
        ASSERT_EQ(flow_addr_parse(&f->host, "10.9.9.9"), 0);
        snprintf(f->peer, sizeof f->peer, "%s", v[i].peer);
        f->port = v[i].port;
        f->proto = v[i].proto;
        hunt_finding_allow(&c, f, 1);
        if (f->suppressed != v[i].suppressed)
            TEST_FAIL_AT("%s to %s port %d: suppressed %d, want %d", v[i].hunt, v[i].peer,
                         v[i].port, f->suppressed, v[i].suppressed);
        hunt_findings_free(&l);
    }
    hunt_findings_t l = {0};
    hunt_finding_t *f = hunt_finding_new(&l, "non-app");
    flow_addr_t vpn;
    ASSERT_EQ(flow_addr_parse(&vpn, "198.51.100.1"), 0);
    hunt_finding_vpn_peer(&c, f, &vpn);
    ASSERT_EQ(f->suppressed, 1);
    ASSERT_STR_EQ(f->allow_reason, "a known VPN endpoint, [general] vpn_peers");
    hunt_findings_free(&l);
    /* --allow FILE replaces the file's entries (it was added after them, and the file's entry
     * matched first); the file may keep its [allow] header */
    char file[700];
    snprintf(file, sizeof file, "%s/allow.txt", test_tmpdir());
    ASSERT_EQ(test_write_file(file, "[allow]\nhost@scan = 10.9.9.9 Nessus, ticket 42\n"), 0);
    ASSERT_EQ(hc_load_allow(&c, file, err, sizeof err), 0);
    ASSERT_EQ(c.n_allow, 1);
    ASSERT_STR_EQ(c.allow[0].reason, "Nessus, ticket 42");
    hc_free(&c);
    /* a reason too long to keep is refused, not cut (--print-config fed back a shorter one) */
    char longr[400];
    memset(longr, 'r', 300);
    longr[300] = '\0';
    char text[600];
    snprintf(text, sizeof text, "[allow]\nhost = 10.9.9.9 %s\n", longr);
    ASSERT_EQ(test_write_file(path, text), 0);
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), -1);
    ASSERT_NOT_NULL(strstr(err, "longer than"));
    hc_free(&c);
    /* an IPv6 network round the IPv4 block means IPv6 hosts (as in filters): ::/0 allow-listed
     * every IPv4 host too; an IPv4-mapped network is written with an IPv6 length */
    flow_net_t n;
    flow_addr_t a4, a6;
    ASSERT_EQ(flow_addr_parse(&a4, "10.0.11.66"), 0);
    ASSERT_EQ(flow_addr_parse(&a6, "2001:db8::1"), 0);
    ASSERT_EQ(flow_net_parse(&n, "::/0"), 0);
    ASSERT_EQ(flow_net_has(&n, &a4), 0);
    ASSERT_EQ(flow_net_has(&n, &a6), 1);
    ASSERT_EQ(flow_net_parse(&n, "::ffff:10.0.11.0/120"), 0);
    ASSERT_EQ(flow_net_has(&n, &a4), 1);
    ASSERT_EQ(flow_net_parse(&n, "::ffff:0:0/96"), 0); /* the IPv4 block itself */
    ASSERT_EQ(flow_net_has(&n, &a4), 1);
    ASSERT_EQ(flow_net_parse(&n, "10.0.0.0/33"), FLOW_NET_ELEN4);
    ASSERT_EQ(flow_net_parse(&n, "10.0.0.0/-1"), FLOW_NET_ELEN);
    ASSERT_EQ(flow_net_parse(&n, "10.0.0.0/ 8"), FLOW_NET_ELEN);
    ASSERT_EQ(flow_net_parse(&n, "2001:db8::/129"), FLOW_NET_ELEN);
    ASSERT_EQ(flow_net_parse(&n, "10.0.0.300/8"), FLOW_NET_EADDR);
    ASSERT_EQ(flow_net_parse(&n, ""), FLOW_NET_EADDR);
    ASSERT_EQ(flow_net_parse(&n, "10.1.2.3/16"), 0); /* host bits cleared, as nfdump */
    char nb[FLOW_ADDR_STRLEN];
    flow_addr_format(&n.addr, nb);
    ASSERT_STR_EQ(nb, "10.1.0.0");
    ASSERT_EQ(n.plen, 112);
    ASSERT_EQ(n.v6only, 0);
    /* nfdump's short form: the missing bytes are zero; only with a length */
    ASSERT_EQ(flow_net_parse(&n, "172.16/12"), 0);
    flow_addr_format(&n.addr, nb);
    ASSERT_STR_EQ(nb, "172.16.0.0");
    ASSERT_EQ(n.plen, 108);
    ASSERT_EQ(flow_net_parse(&n, "10/8"), 0);
    ASSERT_EQ(n.plen, 104);
    ASSERT_EQ(flow_net_has(&n, &a4), 1);
    ASSERT_EQ(flow_net_parse(&n, "10.0.11/24"), 0);
    ASSERT_EQ(flow_net_has(&n, &a4), 1);
    ASSERT_EQ(flow_net_parse(&n, "10.0"), FLOW_NET_EADDR);
    ASSERT_EQ(flow_net_parse(&n, "10./8"), FLOW_NET_EADDR);
    ASSERT_EQ(flow_net_parse(&n, "10..1/8"), FLOW_NET_EADDR);
    ASSERT_EQ(flow_net_parse(&n, "2001:db8::/32"), 0); /* not round the IPv4 block */
    ASSERT_EQ(n.v6only, 0);
    /* no internal network: refused, not a run that finds nothing and exits 0; a filter on the
     * command line is the configuration's, as --print-config shows */
    char *out;
    ASSERT_EQ(
        test_runf(&out, "{ %s hunt %s --internal '' 2>&1; }", test_bin("flowhunt"), test_tmpdir()),
        2);
    ASSERT_NOT_NULL(strstr(out, "no internal networks"));
    free(out);
    ASSERT_EQ(test_runf(&out, "%s hunt %s --print-config 'not net 10.0.12.0/24'",
                        test_bin("flowhunt"), test_tmpdir()),
              0);
    ASSERT_NOT_NULL(strstr(out, "\nfilter = not net 10.0.12.0/24\n"));
    /* every file-valued key is shown, set or not (pools was left out unset) */
    ASSERT_NOT_NULL(strstr(out, "\n# pools =\n"));
    free(out);
    return 0;
}

TEST_IMPL(hunt_config_ini)
{
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/hunt.ini", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    /* a UTF-8 byte order mark first, as Notepad writes (the first line was "want key = value") */
    fputs(
        "\xef\xbb\xbf[general]\n# test\ninternal = 192.168.0.0/16, fd00::/8\nresolvers = "
        "192.168.1.1\n"
        "[beacon]\nmin_connections = 12\n[scan]\nfast_horizontal = 40\n"
        "[allow]\nhost@scan = 192.168.5.5 Nessus\x1b[2J scanner, r\xe9seau\nport = tcp/8883 ESET\n",
        f);
    fclose(f);
    hunt_config_t c;
    hc_defaults(&c);
    ASSERT(c.b_min_conn == 6);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), 0);
    ASSERT(c.b_min_conn == 12);
    ASSERT(c.s_fast_h == 40);
    ASSERT_EQ(c.n_internal, 2);
    ASSERT_EQ(c.n_resolvers, 1);
    ASSERT_EQ(c.n_allow, 2);
    flow_addr_t a, b;
    ASSERT_EQ(flow_addr_parse(&a, "192.168.200.1"), 0);
    ASSERT_EQ(hc_is_internal(&c, &a), 1);
    ASSERT_EQ(flow_addr_parse(&a, "10.1.1.1"), 0);
    ASSERT_EQ(hc_is_internal(&c, &a), 0); /* the file replaced the RFC 1918 default */
    ASSERT_EQ(flow_addr_parse(&a, "192.168.5.5"), 0);
    const hc_allow_t *al = hc_allowed(&c, "scan", &a, NULL, -1, 6);
    ASSERT_NOT_NULL(al);
    /* the escape sequence reaches no terminal: control bytes are '?'; a Latin-1 byte is
     * U+FFFD for every writer (the text report and CSV printed it raw, JSON as U+FFFD) */
    ASSERT_STR_EQ(al->reason, "Nessus?[2J scanner, r\xef\xbf\xbdseau");
    ASSERT_STR_EQ(al->text, "host@scan = 192.168.5.5 Nessus?[2J scanner, r\xef\xbf\xbdseau");
    ASSERT_NULL(hc_allowed(&c, "beacon", &a, NULL, -1, 6));
    ASSERT_EQ(flow_addr_parse(&b, "8.8.8.8"), 0);
    ASSERT_NOT_NULL(hc_allowed(&c, "beacon", &b, NULL, 8883, 6));
    ASSERT_NULL(hc_allowed(&c, "beacon", &b, NULL, 8883, 17));
    ASSERT_EQ(hc_port_standard(&c, 6, 443), 1);
    ASSERT_EQ(hc_port_standard(&c, 6, 8375), 0);
    hc_free(&c);
    /* errors name the line */
    f = fopen(path, "w");
    fputs("[beacon]\nmin_connections = 12\nmin_conections = 3\n", f);
    fclose(f);
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), -1);
    ASSERT_NOT_NULL(strstr(err, ":3: unknown key 'min_conections'"));
    hc_free(&c);
    f = fopen(path, "w");
    fputs("[allow]\nhost = 10.0.0.1\n", f);
    fclose(f);
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), -1);
    ASSERT_NOT_NULL(strstr(err, "needs a reason"));
    hc_free(&c);
    /* [general] filter: checked as it is read, kept as written */
    f = fopen(path, "w");
    fputs("[general]\nfilter = not net 10.9.0.0/16\nfilter_file = /etc/flowhunt/x\n", f);
    fclose(f);
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), 0);
    ASSERT_STR_EQ(c.filter, "not net 10.9.0.0/16");
    ASSERT_STR_EQ(c.filter_file, "/etc/flowhunt/x");
    hc_free(&c);
    f = fopen(path, "w");
    fputs("[general]\nfilter = dst port 99999\n", f);
    fclose(f);
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), -1);
    ASSERT_NOT_NULL(strstr(err, ":2: filter: '99999' is out of range for 'port'"));
    hc_free(&c);
    /* values that are each in range but together turn a test round */
    f = fopen(path, "w");
    fputs("[scan]\ntrw_theta0 = 0.2\ntrw_theta1 = 0.8\n", f);
    fclose(f);
    hc_defaults(&c);
    ASSERT_EQ(hc_load(&c, path, err, sizeof err), -1);
    ASSERT_NOT_NULL(strstr(err, "want trw_theta1 < trw_theta0"));
    hc_free(&c);
    return 0;
}

TEST_IMPL(hunt_fingerprint_stable)
{
    flow_addr_t h;
    ASSERT_EQ(flow_addr_parse(&h, "10.0.44.43"), 0);
    char a[17], b[17], c[17];
    hr_fingerprint(&h, "164.177.207.140", 8375, 6, a);
    hr_fingerprint(&h, "164.177.207.140", 8375, 6, b);
    ASSERT_STR_EQ(a, b);
    ASSERT_EQ(strlen(a), 16);
    hr_fingerprint(&h, "", -1, 6, c); /* (host, *, *, tcp) differs */
    ASSERT(strcmp(a, c) != 0);
    hr_fingerprint(&h, "164.177.207.140", 8376, 6, c);
    ASSERT(strcmp(a, c) != 0);
    /* FNV-1a of the canonical text: a change of the hash or the text breaks stored IDs */
    hr_fingerprint(&h, "", -1, 17, c);
    uint64_t x = 0xcbf29ce484222325ull;
    for (const char *s = "10.0.44.43|*|*|udp"; *s; s++) {
        x ^= (uint8_t)*s;
        x *= 0x100000001b3ull;
    }
    char want[17];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)x);
    ASSERT_STR_EQ(c, want);
    return 0;
}

/* ---- end to end on flowgen ------------------------------------------------------------------ */

TEST_IMPL(hunt_flowgen_recall)
{
    static const struct {
        const char *fmt;
        int flows, seed;
        const char *hours;
    } w[] = {{"v5", 40000, 1, "24"},  {"v9", 40000, 2, "24"}, {"ipfix", 40000, 3, "24"},
             {"ipfix", 5000, 4, "6"}, {"v5", 1000, 5, "24"},  {"v9", 120000, 6, "48"}};
    th_score_t sc[TH_N_SCORES];
    memset(sc, 0, sizeof sc);
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        char name[64], truth[700], label[96];
        snprintf(name, sizeof name, "w%zu", i);
        snprintf(label, sizeof label, "%s %d flows seed %d %sh", w[i].fmt, w[i].flows, w[i].seed,
                 w[i].hours);
        const char *dir =
            th_store(name, w[i].fmt, w[i].flows, w[i].seed, w[i].hours, 1, truth, sizeof truth);
        th_check(dir, truth, sc, label);
    }
    th_print_scores(sc);
    for (int h = 0; h < TH_N_SCORES; h++) {
        ASSERT_EQ(sc[h].fn, 0);
        ASSERT_EQ(sc[h].fp_high, 0);
    }
    return 0;
}

TEST_IMPL(hunt_flowgen_sampled)
{
    /* 1:100 sampling: counters scaled, confidence lowered, the planted cases still found.
     * Seed 305 plants a 110 s beacon with 42 % jitter whose 56 surviving records lose their
     * phase: it is found by its size regularity alone, which the scaled counters must not
     * blur (a 10-byte size guard on sizes scaled by 100 missed it). */
    th_score_t sc[TH_N_SCORES];
    memset(sc, 0, sizeof sc);
    static const int seeds[] = {7, 8, 305};
    for (size_t si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
        int seed = seeds[si];
        char name[64], truth[700], label[64];
        snprintf(name, sizeof name, "s%d", seed);
        snprintf(label, sizeof label, "1:100 seed %d", seed);
        const char *dir =
            th_store(name, seed == 7 ? "v9" : "ipfix", 60000, seed, "24", 100, truth, sizeof truth);
        th_check(dir, truth, sc, label);
        char *out;
        ASSERT_EQ(test_runf(&out, "%s hunt %s " TH_HUNT_ARGS " --format json --hunts beacon",
                         test_bin("flowhunt"), dir),
                  1);
        ASSERT_NOT_NULL(strstr(out, "\"sampling\":100"));
        ASSERT_NULL(strstr(out, "\"confidence\":\"High\"")); /* sampling lowers confidence */
        free(out);
    }
    th_print_scores(sc);
    for (int h = 0; h < TH_N_SCORES; h++) {
        ASSERT_EQ(sc[h].fn, 0);
        ASSERT_EQ(sc[h].fp_high, 0);
    }
    return 0;
}

TEST_IMPL(hunt_flowgen_sampled_scans)
{
    /* 1:10 sampling leaves a tenth of a scan's one-packet probes: seed 204's slow sweep of 171
     * targets shows 21 of them, seed 205's vertical scan of 119 ports 28, both under the
     * unsampled thresholds of 50 in a day. Scaled thresholds find them (and every other
     * planted case), with nothing benign at High or Critical. */
    th_score_t sc[TH_N_SCORES];
    memset(sc, 0, sizeof sc);
    static const int seeds[] = {204, 205};
    for (size_t si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
        char name[64], truth[700], label[64];
        snprintf(name, sizeof name, "s%d", seeds[si]);
        snprintf(label, sizeof label, "1:10 seed %d", seeds[si]);
        const char *dir = th_store(name, "ipfix", 60000, seeds[si], "24", 10, truth, sizeof truth);
        th_check(dir, truth, sc, label);
        char *out;
        ASSERT_EQ(test_runf(&out,
                            "%s hunt %s " TH_HUNT_ARGS " --format json --hunts scan --no-state",
                            test_bin("flowhunt"), dir),
                  1);
        /* the evidence names the scaled threshold */
        ASSERT_NOT_NULL(strstr(out, "\"threshold\":20,\"threshold_unsampled\":50"));
        free(out);
    }
    th_print_scores(sc);
    ASSERT_GE(sc[1].tp, 2);
    for (int h = 0; h < TH_N_SCORES; h++) {
        ASSERT_EQ(sc[h].fn, 0);
        ASSERT_EQ(sc[h].fp_high, 0);
    }
    return 0;
}

/* The report with the directory's path replaced by DIR, so it can be compared; *rc is
 * flowhunt's exit status. */
static char *th_report(const char *dir, const char *args, int *rc)
{
    char *out, path[700];
    snprintf(path, sizeof path, "%s/report.out", test_tmpdir());
    *rc = test_runf(NULL, "%s hunt %s " TH_HUNT_ARGS " --now 2024-03-02T00:00:00Z %s -o %s",
                 test_bin("flowhunt"), dir, args, path);
    size_t len;
    char *text = (char *)test_read_file(path, &len);
    ASSERT_NOT_NULL(text);
    size_t dl = strlen(dir), k = 0;
    out = malloc(len + 1);
    ASSERT_NOT_NULL(out);
    for (size_t i = 0; i < len;) {
        if (i + dl <= len && memcmp(text + i, dir, dl) == 0) {
            memcpy(out + k, "DIR", 3);
            k += 3;
            i += dl;
        } else {
            out[k++] = text[i++];
        }
    }
    out[k] = '\0';
    free(text);
    return out;
}

TEST_IMPL(hunt_golden_report)
{
    char truth[700];
    const char *dir = th_store("g", "v5", 3000, 42, "6", 1, truth, sizeof truth);
    static const struct {
        const char *args, *golden;
    } g[] = {{"--format text --no-state", "tests/golden/hunt_small.txt"},
             {"--format json --no-state", "tests/golden/hunt_small.jsonl"}};
    for (size_t i = 0; i < 2; i++) {
        int rc;
        char got_path[700];
        snprintf(got_path, sizeof got_path, "%s/got%zu", test_tmpdir(), i);
        char *out = th_report(dir, g[i].args, &rc);
        FILE *f = fopen(got_path, "w");
        ASSERT_NOT_NULL(f);
        fputs(out, f);
        fclose(f);
        free(out);
        if (getenv("FH_UPDATE_GOLDEN"))
            ASSERT_EQ(test_runf(NULL, "cp %s %s", got_path, g[i].golden), 0);
        ASSERT_EQ(test_runf(NULL, "diff -u %s %s >&2", g[i].golden, got_path), 0);
    }
    /* the same data, state and --now: the same bytes */
    int rc1, rc2;
    char *a = th_report(dir, "--format json --no-state", &rc1);
    char *b = th_report(dir, "--format json --no-state", &rc2);
    ASSERT_STR_EQ(a, b);
    ASSERT_EQ(rc1, 1);
    free(a);
    free(b);
    /* csv: a header and one line per finding */
    char *csv;
    ASSERT_EQ(test_runf(&csv, "%s hunt %s " TH_HUNT_ARGS " --format csv --no-state",
                     test_bin("flowhunt"), dir),
              1);
    ASSERT_EQ(
        strncmp(csv, "hunt_id,hunt,technique,techniques,host,host_name,user,peer,port,proto,", 70),
        0);
    free(csv);
    /* flows ending after --now (an exporter's clock ahead) stretch a window without --to,
     * and its IDs' date: said on stderr; with --to, nothing to say */
    char *err;
    test_runf(&err, "{ %s hunt %s " TH_HUNT_ARGS " --no-state --now 2024-02-01 2>&1 >/dev/null; }",
              test_bin("flowhunt"), dir);
    ASSERT_NOT_NULL(strstr(err, "warning: the newest flow ends 2024-03-01T"));
    free(err);
    test_runf(&err,
              "{ %s hunt %s " TH_HUNT_ARGS
              " --no-state --now 2024-02-01 --to 2024-03-02 2>&1 >/dev/null; }",
              test_bin("flowhunt"), dir);
    ASSERT_NULL(strstr(err, "warning"));
    free(err);
    return 0;
}

/* The bytes column of `flowhunt cat --format csv` output, summed; -1 without one. */
static long long th_csv_bytes(const char *csv)
{
    int col = -1, i = 0;
    const char *p = csv;
    for (; *p && *p != '\n'; i++) {
        size_t n = strcspn(p, ",\n");
        if (n == 5 && strncmp(p, "bytes", 5) == 0)
            col = i;
        p += n + (p[n] == ',');
    }
    if (col < 0 || *p != '\n')
        return -1;
    long long sum = 0;
    for (const char *line = p + 1; *line;) {
        const char *f = line;
        for (int k = 0; k < col && f; k++)
            f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
        if (!f)
            return -1;
        sum += atoll(f);
        const char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : line + strlen(line);
    }
    return sum;
}

/* Each beacon finding's printed flows command shows every flow its evidence counts: the
 * bytes both ways add up to the evidence's. The window used to end at the last check-in's
 * start, so the last answer (which starts after it) was left out in most findings; and the
 * directory and filter file were pasted in unquoted, so the command did not run. */
TEST_IMPL(hunt_flows_command_shows_evidence)
{
    char truth[700], path[700], dir[700], flt[700], qdir[1500], qflt[1500];
    /* a directory and a filter file whose names a shell splits or ends: the printed commands
     * quote them */
    snprintf(dir, sizeof dir, "%s/fc data's", test_tmpdir());
    ASSERT_EQ(rename(th_store("fc", "v9", 4000, 7, "6", 1, truth, sizeof truth), dir), 0);
    snprintf(flt, sizeof flt, "%s/it's & more.flt", test_tmpdir());
    ASSERT_EQ(test_write_file(flt, "not port 9\n"), 0);
    hr_shell_word(dir, qdir, sizeof qdir);
    hr_shell_word(flt, qflt, sizeof qflt);
    snprintf(path, sizeof path, "%s/fc.jsonl", test_tmpdir());
    ASSERT_EQ(test_runf(NULL,
                        "%s hunt %s " TH_HUNT_ARGS " --hunts beacon --no-state --no-fold "
                        "--format json -f %s -o %s",
                        test_bin("flowhunt"), qdir, qflt, path),
              1);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    char line[65536];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        ASSERT_NOT_NULL(j);
        const char *peer = json_string_value(json_object_get(j, "peer"));
        json_t *ev = json_object_get(j, "evidence");
        const char *cmd = json_string_value(json_object_get(j, "flows_command"));
        ASSERT_NOT_NULL(cmd);
        if (peer && !strchr(peer, '/')) {
            long long want = json_integer_value(json_object_get(ev, "bytes_out")) +
                             json_integer_value(json_object_get(ev, "bytes_in"));
            char *csv;
            ASSERT_EQ(strncmp(cmd, "flowhunt ", 9), 0);
            ASSERT_EQ(test_runf(&csv, "%s %s --format csv", test_bin("flowhunt"), cmd + 9), 0);
            long long got = th_csv_bytes(csv);
            if (got != want)
                fprintf(stderr, "%s: evidence %lld bytes, the command shows %lld\n", cmd, want,
                        got);
            ASSERT_EQ(got, want);
            free(csv);
            checked++;
        }
        json_decref(j);
    }
    fclose(f);
    fprintf(stderr, "# %d beacon findings' flows commands checked\n", checked);
    ASSERT_GE(checked, 3);
    return 0;
}

static int th_count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Every finding whose evidence counts its conversations ("connections: N", "conversations: N")
 * prints a `counted:` command (flowhunt conv) that lists exactly those N: the command builds
 * them with the hunts' preparation, over the finding's span and key, either way. */
TEST_IMPL(hunt_counted_cmd_prints_what_was_counted)
{
    char truth[700];
    const char *dir = th_store("cc", "v5", 3000, 42, "6", 1, truth, sizeof truth);
    int rc;
    char *text = th_report(dir, "--format text --no-state --no-fold", &rc);
    ASSERT_EQ(rc, 1);
    int checked = 0, beacons = 0, dns = 0;
    for (const char *b = strstr(text, "Hunt ID: "); b; b = strstr(b + 1, "Hunt ID: ")) {
        const char *end = strstr(b + 1, "Hunt ID: ");
        size_t len = end ? (size_t)(end - b) : strlen(b);
        char block[16384];
        ASSERT_LT(len, sizeof block);
        memcpy(block, b, len);
        block[len] = '\0';
        const char *k = strstr(block, "\n  connections: ");
        if (!k)
            k = strstr(block, "\n  conversations: ");
        const char *cmd = strstr(block, "\n  counted: flowhunt conv DIR ");
        ASSERT_NOT_NULL(cmd);
        if (!k)
            continue;
        unsigned n = 0;
        ASSERT_EQ(sscanf(strchr(k + 3, ':') + 1, "%u", &n), 1);
        cmd += strlen("\n  counted: flowhunt conv DIR ");
        char args[4096], *out;
        size_t al = strcspn(cmd, "\n");
        ASSERT_LT(al, sizeof args);
        memcpy(args, cmd, al);
        args[al] = '\0';
        ASSERT_EQ(test_runf(&out, "%s conv %s %s --format csv", test_bin("flowhunt"), dir, args),
                  0);
        if ((unsigned)th_count(out, "\n") != n + 1)
            TEST_FAIL_AT("%.40s: %u counted, conv prints %d: %s", block, n, th_count(out, "\n") - 1,
                         args);
        free(out);
        checked++;
        beacons += strstr(block, "\n  hunt: beacon\n") != NULL;
        dns += strstr(block, "\n  hunt: dns-exfil\n") != NULL;
    }
    ASSERT_GE(checked, 5);
    ASSERT_GE(beacons, 2);
    ASSERT_GE(dns, 2);
    free(text);
    return 0;
}

/* Hunts at once on one directory (an hourly run that overran, an analyst's run beside it),
 * each a different hunt so each brings fingerprints of its own: ids.tsv is read and written
 * under the state lock, so no two fingerprints share a Hunt ID and none is lost. Without the
 * lock, six such runs gave 3 to 12 Hunt IDs to two fingerprints each and lost up to 9 of 120. */
TEST_IMPL(hunt_concurrent_runs_unique_ids)
{
    char truth[700], ids_path[700], *out;
    const char *dir = th_store("conc", "ipfix", 20000, 11, "2", 1, truth, sizeof truth);
    static const char *const hunts[] = {"scan", "beacon", "dns-exfil", "rare", "nonstd-port",
                                        "miner"};
    enum { N = sizeof hunts / sizeof hunts[0] };
    char cmd[8192];
    size_t k = 0;
    for (int i = 0; i < N; i++)
        k += (size_t)snprintf(cmd + k, sizeof cmd - k,
                              "%s hunt %s " TH_HUNT_ARGS " --hunts %s --format json -o %s/conc.%d"
                              " 2>/dev/null & ",
                              test_bin("flowhunt"), dir, hunts[i], test_tmpdir(), i);
    snprintf(cmd + k, sizeof cmd - k, "wait");
    ASSERT_EQ(test_runf(NULL, "%s", cmd), 0);
    /* every (hunt_id, fingerprint) the reports gave, against ids.tsv */
    snprintf(ids_path, sizeof ids_path, "%s/hunt/ids.tsv", dir);
    size_t len;
    char *ids = (char *)test_read_file(ids_path, &len);
    ASSERT_NOT_NULL(ids);
    int n_ids = th_count(ids, "\tTH-HUNTIN-"), n_found = 0;
    char seen[256][80];
    int n_seen = 0;
    for (int i = 0; i < N; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/conc.%d", test_tmpdir(), i);
        out = (char *)test_read_file(path, &len);
        ASSERT_NOT_NULL(out);
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            char id[40], fp[20], pair[80];
            ASSERT(test_json_str(line, "hunt_id", id, sizeof id));
            ASSERT(test_json_str(line, "fingerprint", fp, sizeof fp));
            snprintf(pair, sizeof pair, "%s\t%s\t", fp, id);
            ASSERT_NOT_NULL(strstr(ids, pair)); /* kept, under the ID the report gave */
            int dup = 0;                        /* one fingerprint may be in two reports */
            for (int j = 0; j < n_seen; j++)
                dup |= strcmp(seen[j], pair) == 0;
            if (!dup) {
                ASSERT_LT(n_seen, 256);
                snprintf(seen[n_seen++], sizeof seen[0], "%s", pair);
            }
            n_found++;
        }
        free(out);
    }
    /* ids.tsv holds one line per fingerprint: the reports' distinct pairs are all of it, so
     * no Hunt ID went to two fingerprints (its lines name each fingerprint once) */
    ASSERT_GE(n_found, 20);
    ASSERT_EQ(n_seen, n_ids);
    for (int a = 0; a < n_seen; a++)
        for (int b = a + 1; b < n_seen; b++)
            ASSERT(strcmp(strchr(seen[a], '\t'), strchr(seen[b], '\t')) != 0);
    free(ids);
    return 0;
}

TEST_IMPL(hunt_state_ids_and_ack)
{
    char truth[700];
    const char *dir = th_store("st", "ipfix", 20000, 9, "24", 1, truth, sizeof truth);
    int rc;
    /* a --no-state run says its new findings' IDs are not recorded: the next run gives the
     * same IDs out again, maybe to other findings */
    char *trial = th_report(dir, "--format json --no-state", &rc);
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(th_count(trial, "\"id_recorded\":false"), th_count(trial, "\"hunt_id\""));
    int n_trial = th_count(trial, "\"hunt_id\"");
    free(trial);
    trial = th_report(dir, "--no-state", &rc);
    ASSERT_NOT_NULL(strstr(trial, "# --no-state: the Hunt IDs of "));
    free(trial);
    /* so do the other formats: a SIEM fed ECS or OCSF took event.id as a lasting name */
    static const char *const fmts[] = {"--no-state --format ecs", "--no-state --format ocsf"};
    for (int i = 0; i < 2; i++) {
        trial = th_report(dir, fmts[i], &rc);
        ASSERT_EQ(th_count(trial, "\"id_recorded\":false"), n_trial);
        free(trial);
    }
    trial = th_report(dir, "--no-state --format csv", &rc);
    ASSERT_NOT_NULL(strstr(trial, ",flows_command,id_recorded,peer_country,"));
    /* then the peer's context (none), then the conv command */
    ASSERT_EQ(th_count(trial, ",false,,,,,,flowhunt conv "), n_trial);
    free(trial);
    trial = th_report(dir, "--no-state --format html", &rc);
    ASSERT_NOT_NULL(strstr(trial, "<tr><th>Hunt IDs</th><td>--no-state: the Hunt IDs of "));
    /* each finding shown in full says it too (folded members are rows of their block) */
    ASSERT_GE(th_count(trial, "; Hunt ID not recorded: --no-state)"), 1);
    free(trial);
    char *first = th_report(dir, "--format json", &rc);
    ASSERT_EQ(rc, 1);
    int n = th_count(first, "\"hunt_id\"");
    ASSERT_GE(n, 3);
    ASSERT_EQ(th_count(first, "\"new\":true"), n);
    ASSERT_EQ(th_count(first, "\"id_recorded\":true"), n);
    ASSERT_NOT_NULL(strstr(first, "\"hunt_id\":\"TH-HUNTIN-20240301-0001\""));
    /* a second run: same IDs, nothing new */
    char *second = th_report(dir, "--format json", &rc);
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(th_count(second, "\"new\":false"), n);
    for (char *sv = NULL, *line = strtok_r(first, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        char id[40], fp[20];
        ASSERT(test_json_str(line, "hunt_id", id, sizeof id));
        ASSERT(test_json_str(line, "fingerprint", fp, sizeof fp));
        char pair[80];
        snprintf(pair, sizeof pair, "\"hunt_id\":\"%s\"", id);
        ASSERT_NOT_NULL(strstr(second, pair));
    }
    free(second);
    /* --new-only after the first run: nothing to report, exit 0 */
    char *none = th_report(dir, "--format json --new-only", &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(th_count(none, "hunt_id"), 0);
    free(none);
    /* the text header says the old ones are still found ("0 findings" alone read as gone) */
    none = th_report(dir, "--new-only", &rc);
    ASSERT_EQ(rc, 0);
    char still[80];
    snprintf(still, sizeof still, ", only new ones shown (%d reported before, still found)\n", n);
    ASSERT_NOT_NULL(strstr(none, still));
    free(none);
    /* ack the scan finding: gone from later runs, listed by acks */
    char *json = th_report(dir, "--format json", &rc);
    char fp[20] = "", id[40] = "";
    for (char *sv = NULL, *line = strtok_r(json, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv))
        if (strstr(line, "\"hunt\":\"scan\"")) {
            ASSERT(test_json_str(line, "fingerprint", fp, sizeof fp));
            ASSERT(test_json_str(line, "hunt_id", id, sizeof id));
            break;
        }
    free(json);
    ASSERT_EQ(strlen(fp), 16);
    ASSERT_EQ(test_runf(NULL, "%s ack %s %s --reason 'authorised pen test, ticket 42'",
                     test_bin("flowhunt"), dir, fp),
              0);
    char *acks;
    ASSERT_EQ(test_runf(&acks, "%s acks %s", test_bin("flowhunt"), dir), 0);
    ASSERT_NOT_NULL(strstr(acks, fp));
    ASSERT_NOT_NULL(strstr(acks, id));
    ASSERT_NOT_NULL(strstr(acks, "authorised pen test, ticket 42"));
    free(acks);
    char *after = th_report(dir, "--format json", &rc);
    ASSERT_NULL(strstr(after, fp));
    ASSERT_EQ(th_count(after, "\"hunt_id\""), n - 1);
    free(after);
    char *text = th_report(dir, "--format text", &rc);
    ASSERT_NOT_NULL(strstr(text, "1 acknowledged not shown"));
    free(text);
    ASSERT_EQ(test_runf(NULL, "%s ack %s nothex --reason x 2>/dev/null", test_bin("flowhunt"), dir),
              2);
    /* an acknowledgement for a while: it hides the finding from hunts whose --now (the
     * reports' is 2024-03-02) is before its end, and after that the finding is back, saying so */
    ASSERT_EQ(test_runf(NULL, "%s ack %s %s --reason 'pen test week' --now 2024-03-01 --for 2d",
                     test_bin("flowhunt"), dir, fp),
              0);
    char *within = th_report(dir, "--format json", &rc);
    ASSERT_NULL(strstr(within, fp));
    free(within);
    ASSERT_EQ(test_runf(&acks, "%s acks %s", test_bin("flowhunt"), dir), 0);
    ASSERT_NOT_NULL(strstr(acks, "\tpen test week\t2024-03-03T00:00:00.000Z\n"));
    free(acks);
    ASSERT_EQ(test_runf(NULL, "%s ack %s %s --reason 'pen test day' --now 2024-03-01 --until "
                              "2024-03-01T18:00:00Z",
                     test_bin("flowhunt"), dir, fp),
              0);
    char *past = th_report(dir, "--format json", &rc);
    ASSERT_NOT_NULL(strstr(past, fp));
    ASSERT_NOT_NULL(strstr(past, "\"acknowledgement\":\"expired 2024-03-01T18:00:00.000Z "
                                 "(acknowledged 2024-03-01T00:00:00.000Z: pen test day)\""));
    ASSERT_EQ(th_count(past, "\"hunt_id\""), n);
    free(past);
    ASSERT_EQ(test_runf(NULL, "%s ack %s %s --reason x --for 1d --until 2025-01-01 2>/dev/null",
                     test_bin("flowhunt"), dir, fp),
              2);
    ASSERT_EQ(test_runf(NULL, "%s ack %s %s --reason x --for soon 2>/dev/null",
                     test_bin("flowhunt"), dir, fp),
              2);
    /* a reason with a terminal escape (acks.tsv written by hand): shown with '?' for it */
    char ackf[700];
    snprintf(ackf, sizeof ackf, "%s/hunt/acks.tsv", dir);
    FILE *af = fopen(ackf, "a");
    ASSERT_NOT_NULL(af);
    fprintf(af, "0123456789abcdef\t1709251200000\tred \033[31mtext\n");
    ASSERT_EQ(fclose(af), 0);
    ASSERT_EQ(test_runf(&acks, "%s acks %s", test_bin("flowhunt"), dir), 0);
    ASSERT_NOT_NULL(strstr(acks, "\tred ?[31mtext\t-\n"));
    ASSERT_NULL(strchr(acks, '\033'));
    free(acks);
    /* taken back: reported again; taking it back twice says it was not there */
    ASSERT_EQ(test_runf(NULL, "%s ack %s %s --reason 'for good'", test_bin("flowhunt"), dir, fp),
              0);
    ASSERT_EQ(test_runf(NULL, "%s unack %s %s", test_bin("flowhunt"), dir, fp), 0);
    char *back = th_report(dir, "--format json", &rc);
    ASSERT_NOT_NULL(strstr(back, fp));
    ASSERT_NULL(strstr(back, "acknowledgement"));
    free(back);
    ASSERT_EQ(test_runf(NULL, "%s unack %s %s 2>/dev/null", test_bin("flowhunt"), dir, fp), 1);
    ASSERT_EQ(test_runf(NULL, "%s unack %s XYZ 2>/dev/null", test_bin("flowhunt"), dir), 2);
    /* each acknowledgement given or taken back is in the audit trail; refused ones are not */
    char *audit;
    ASSERT_EQ(test_runf(&audit, "%s audit verify %s", test_bin("flowhunt"), dir), 0);
    ASSERT_NOT_NULL(strstr(audit, ", ack 4, unack 1)"));
    free(audit);
    ASSERT_EQ(test_runf(&audit, "%s audit list %s", test_bin("flowhunt"), dir), 0);
    ASSERT_EQ(th_count(audit, "\tack\t"), 4);
    ASSERT_EQ(th_count(audit, "\tunack\t"), 1);
    free(audit);
    free(first);
    return 0;
}

/* The (hunt, host, peer, port) keys of a JSON report's findings, one string each. */
static int th_keys(char *json, char keys[][160], int cap)
{
    int n = 0;
    for (char *sv = NULL, *line = strtok_r(json, "\n", &sv); line && n < cap;
         line = strtok_r(NULL, "\n", &sv)) {
        char hunt[32], host[48], peer[48] = "null", port[16] = "null";
        ASSERT(test_json_str(line, "hunt", hunt, sizeof hunt));
        ASSERT(test_json_str(line, "host", host, sizeof host));
        test_json_str(line, "peer", peer, sizeof peer);
        const char *pp = strstr(line, "\"port\":");
        if (pp)
            sscanf(pp + 7, "%15[^,}]", port);
        snprintf(keys[n++], 160, "%s %s %s %s", hunt, host, peer, port);
    }
    return n;
}

/* A filter (words or -f FILE) hunts only the flows it selects: a /24 left out (both
 * directions: `net`) takes its findings with it and leaves the others; the header says so;
 * no hour is cached and the rare hunt's baseline is not written from the partial view. */
TEST_IMPL(hunt_filter_leaves_flows_out)
{
    char truth[700], path[700];
    const char *dir = th_store("flt", "ipfix", 20000, 11, "2", 1, truth, sizeof truth);
    int rc;
    static char ka[512][160], kc[512][160];
    char *all = th_report(dir, "--format json --no-state", &rc);
    int na = th_keys(all, ka, 512);
    free(all);
    /* the /24 of the first scan finding's host is left out */
    char net[64] = "";
    for (int i = 0; i < na && !net[0]; i++) {
        unsigned a, b, c;
        if (strncmp(ka[i], "scan 10.", 8) == 0 && sscanf(ka[i] + 5, "%u.%u.%u.", &a, &b, &c) == 3)
            snprintf(net, sizeof net, "%u.%u.%u.", a, b, c);
    }
    ASSERT(net[0]);
    char at[80]; /* an address of the /24 where a key's host or peer begins */
    snprintf(at, sizeof at, " %s", net);
    snprintf(path, sizeof path, "%s/leave-out.filter", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fprintf(f, "# the scanner's subnet, left out of the hunt\nnot net %s0/24\n", net);
    fclose(f);
    char args[1000];
    snprintf(args, sizeof args, "--format json --no-state -f %s", path);
    char *cut = th_report(dir, args, &rc);
    /* each finding's flows and conversations commands select with the run's filter: the
     * file, by name (a plain path, so unquoted) */
    char fwant[800];
    snprintf(fwant, sizeof fwant, "-f %s '", path);
    ASSERT_EQ(th_count(cut, fwant), 2 * th_count(cut, "\"hunt_id\""));
    int nc = th_keys(cut, kc, 512);
    free(cut);
    int others = 0, kept = 0;
    for (int i = 0; i < na; i++)
        if (!strstr(ka[i], at)) {
            others++;
            for (int j = 0; j < nc; j++)
                kept += strcmp(ka[i], kc[j]) == 0;
        }
    for (int j = 0; j < nc; j++) {
        if (strstr(kc[j], at))
            TEST_FAIL_AT("left-out %s0/24 still in: %s", net, kc[j]);
        int in_all = 0;
        for (int i = 0; i < na; i++)
            in_all |= strcmp(ka[i], kc[j]) == 0;
        if (!in_all)
            TEST_FAIL_AT("a finding the full hunt did not make: %s", kc[j]);
    }
    printf("# %d findings, %d outside %s0/24; filtered: %d, %d of them the same\n", na, others, net,
           nc, kept);
    /* the configuration's [general] filter does the same; the command line's replaces it */
    static const char *const cfgs[] = {"not net %s0/24\n", "proto 99\n"};
    for (int i = 0; i < 2; i++) {
        char ini[700], line[200];
        snprintf(ini, sizeof ini, "%s/filter%d.ini", test_tmpdir(), i);
        snprintf(line, sizeof line, cfgs[i], net);
        f = fopen(ini, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "[general]\nfilter = %s", line);
        fclose(f);
        snprintf(args, sizeof args, "--format json --no-state --config %s %s%s%s", ini,
                 i ? "'not net " : "", i ? net : "", i ? "0/24'" : "");
        char *viacfg = th_report(dir, args, &rc);
        static char kf[512][160];
        int nf = th_keys(viacfg, kf, 512);
        free(viacfg);
        ASSERT_EQ(nf, nc);
        for (int j = 0; j < nc; j++)
            ASSERT_STR_EQ(kf[j], kc[j]);
    }
    ASSERT_LT(others, na); /* the /24 had findings of its own */
    ASSERT_GE(kept * 10, others * 9);
    /* with state: the header names the filter; IDs are kept, hours and the baseline not */
    snprintf(args, sizeof args, "--format text 'not net %s0/24'", net);
    char *text = th_report(dir, args, &rc);
    char want[200];
    snprintf(want, sizeof want,
             "# filter: 'not net %s0/24': only the flows it selects were hunted, and each "
             "finding's flows commands select with it\n",
             net);
    ASSERT_NOT_NULL(strstr(text, want));
    snprintf(want, sizeof want, ") and (not net %s0/24)'\n", net);
    ASSERT_NOT_NULL(strstr(text, want));
    free(text);
    struct stat st;
    snprintf(path, sizeof path, "%s/hunt/ids.tsv", dir);
    ASSERT_EQ(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/hunt/cache", dir);
    ASSERT_NE(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/hunt/baseline-dst.bin", dir);
    ASSERT_NE(stat(path, &st), 0);
    /* a filter that does not parse stops the run before anything is read */
    ASSERT_EQ(test_runf(NULL, "%s hunt %s " TH_HUNT_ARGS " 'dst port in [53' 2>/dev/null",
                        test_bin("flowhunt"), dir),
              2);
    return 0;
}

/* --min-risk (and [general] min_risk): only findings at or above the level are listed and
 * numbered, the rest counted in the header; the command line wins over the file. */
TEST_IMPL(hunt_min_risk)
{
    char truth[700];
    const char *dir = th_store("mr", "v9", 20000, 12, "24", 1, truth, sizeof truth);
    int rc;
    char *all = th_report(dir, "--format json --no-state", &rc);
    ASSERT_EQ(rc, 1);
    int n_all = th_count(all, "\"hunt_id\""),
        n_high = th_count(all, "\"risk_level\":\"High\"") +
                 th_count(all, "\"risk_level\":\"Critical\"");
    free(all);
    ASSERT_GE(n_high, 3);
    ASSERT(n_all > n_high); /* the workload has Low and Medium findings too */
    /* fresh state: the High and Critical ones take 0001..000n, nothing in between is skipped */
    char *hi = th_report(dir, "--format json --min-risk high", &rc);
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(th_count(hi, "\"hunt_id\""), n_high);
    ASSERT_EQ(th_count(hi, "\"risk_level\":\"Low\"") + th_count(hi, "\"risk_level\":\"Medium\""),
              0);
    char last[64];
    snprintf(last, sizeof last, "\"hunt_id\":\"TH-HUNTIN-20240301-%04d\"", n_high);
    ASSERT_NOT_NULL(strstr(hi, last));
    free(hi);
    char *text = th_report(dir, "--format text --no-state --min-risk High", &rc);
    char want[80];
    snprintf(want, sizeof want, ": %d findings, ", n_high);
    ASSERT_NOT_NULL(strstr(text, want));
    snprintf(want, sizeof want, ", %d below High not shown\n", n_all - n_high);
    ASSERT_NOT_NULL(strstr(text, want));
    free(text);
    /* the configuration file sets it; the command line overrides the file */
    char ini[700];
    snprintf(ini, sizeof ini, "%s/mr.ini", test_tmpdir());
    FILE *f = fopen(ini, "w");
    ASSERT_NOT_NULL(f);
    fputs("[general]\nmin_risk = 4\n", f);
    fclose(f);
    char args[800];
    snprintf(args, sizeof args, "--format json --no-state --config %s", ini);
    char *crit = th_report(dir, args, &rc);
    int n_crit = th_count(crit, "\"hunt_id\"");
    ASSERT_EQ(th_count(crit, "\"risk_level\":\"Critical\""), n_crit);
    ASSERT(n_crit < n_high);
    free(crit);
    snprintf(args, sizeof args, "--format json --no-state --config %s --min-risk low", ini);
    char *low = th_report(dir, args, &rc);
    ASSERT_EQ(th_count(low, "\"hunt_id\""), n_all);
    free(low);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --min-risk severe 2>/dev/null", test_bin("flowhunt"), dir),
              2);
    return 0;
}

/* The hunts run in parallel threads over the same conversations, and preparation in shards of
 * conversation keys (20,000 records: more than HP_SHARD_MIN, so 2 and 5 shards here): one
 * thread or several give the same report, byte for byte. */
TEST_IMPL(hunt_threads_same_report)
{
    char truth[700];
    const char *dir = th_store("thr", "ipfix", 20000, 13, "24", 1, truth, sizeof truth);
    char *rep[3];
    static const int workers[] = {1, 2, 5};
    for (int i = 0; i < 3; i++) {
        char ini[700], args[800];
        snprintf(ini, sizeof ini, "%s/thr-%d.ini", test_tmpdir(), workers[i]);
        FILE *f = fopen(ini, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "[general]\nworkers = %d\n", workers[i]);
        fclose(f);
        snprintf(args, sizeof args, "--format json --no-state --config %s", ini);
        int rc;
        rep[i] = th_report(dir, args, &rc);
        ASSERT_EQ(rc, 1);
    }
    ASSERT_GE(th_count(rep[0], "\"hunt_id\""), 3);
    ASSERT_STR_EQ(rep[0], rep[1]);
    ASSERT_STR_EQ(rep[0], rep[2]);
    for (int i = 0; i < 3; i++)
        free(rep[i]);
    return 0;
}

/* A new Zeek conn.log named NAME.log in the test's directory (its path in path). */
static FILE *th_zeek_log(const char *name, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s.log", test_tmpdir(), name);
    return test_zeek_conn_create(path);
}

/* Thirty HTTPS connections of internal host 10.1.0.<h+1> at random times of the day from t0,
 * to random addresses of net (three octets): the background of a Zeek log. */
static void th_zeek_browsing(FILE *f, double t0, int h, const char *net, unsigned *rng)
{
    for (int k = 0; k < 30; k++) {
        *rng = *rng * 1103515245u + 12345u;
        double ts = t0 + (double)((*rng >> 8) % 86000u);
        *rng = *rng * 1103515245u + 12345u;
        fprintf(f, "%.6f\tS%d_%d\t10.1.0.%d\t%d\t%s.%u\t443\ttcp\t3.5\t%u\t%u\tSF\t12\t2000\t"
                   "20\t30000\n",
                ts, h, k, h + 1, 50000 + k, net, 1 + (*rng >> 8) % 200, 500 + (*rng >> 4) % 900,
                9000 + (*rng >> 6) % 40000);
    }
}

/* A Zeek conn.log of `hosts` internal hosts over a day: the first `timed` of them call
 * 198.51.100.7:443 every 600 s (a little jitter, one size), and every host browses its own
 * few sites now and then. Returns the data directory, imported. */
static const char *th_timer_store(const char *name, int hosts, int timed)
{
    char path[700];
    FILE *f = th_zeek_log(name, path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    unsigned rng = 12345;
    for (int h = 0; h < hosts; h++) {
        for (int k = 0; h < timed && k < 144; k++) {
            rng = rng * 1103515245u + 12345u;
            double ts = t0 + h * 7.0 + k * 600.0 + (double)(rng >> 16 & 1023) / 1024.0;
            fprintf(f, "%.6f\tC%d_%d\t10.1.0.%d\t%d\t198.51.100.7\t443\ttcp\t0.8\t900\t4000\t"
                       "SF\t6\t1220\t6\t4320\n",
                    ts, h, k, h + 1, 40000 + k);
        }
        th_zeek_browsing(f, t0, h, "203.0.113", &rng);
    }
    fclose(f);
    static char dir[700];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    test_zeek_import(dir, path);
    return dir;
}

/* Risk levels of the beacon findings towards 198.51.100.7, and how many carry shared_timer. */
static void th_timer_risks(const char *dir, int *n, int *shared, int *above_low)
{
    char *out;
    test_runf(&out, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --format json --no-state",
              test_bin("flowhunt"), dir);
    *n = *shared = *above_low = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        if (!strstr(line, "\"peer\":\"198.51.100.7\""))
            continue;
        (*n)++;
        *shared += strstr(line, "\"shared_timer\"") != NULL;
        *above_low += strstr(line, "\"risk_level\":\"Low\"") == NULL;
    }
    free(out);
}

/* One timer that a third of the organisation keeps towards one destination is software they
 * all run: every such finding is Low with shared_timer in its evidence. The same timer on a
 * few hosts (an implant's) keeps its risk. */
TEST_IMPL(hunt_shared_timer_low)
{
    int n, shared, above;
    th_timer_risks(th_timer_store("timer-shared", 40, 14), &n, &shared, &above);
    ASSERT_EQ(n, 14);
    ASSERT_EQ(shared, 14);
    ASSERT_EQ(above, 0);
    th_timer_risks(th_timer_store("timer-few", 40, 4), &n, &shared, &above);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(shared, 0);
    ASSERT_EQ(above, 4);
    return 0;
}

/* The text report of one hunt of dir, every host's finding towards 198.51.100.7 (args added). */
static char *th_fold_text(const char *dir, const char *args)
{
    char *out;
    test_runf(&out, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --no-state %s",
              test_bin("flowhunt"), dir, args);
    return out;
}

/* The line of text that starts with prefix, copied (NUL-terminated), or "" when none. */
static void th_line(const char *text, const char *prefix, char *out, size_t cap)
{
    const char *p = strstr(text, prefix);
    size_t n = 0;
    if (p)
        while (p[n] && p[n] != '\n' && n + 1 < cap)
            n++;
    memcpy(out, p ? p : "", n);
    out[n] = '\0';
}

/* The text report folds the Low findings that many hosts share towards one peer and port
 * into one block led by the highest ranked (the shared timer: 14 hosts), names every host
 * and a cat filter of the peer's flows; --no-fold and [general] fold_min_hosts above the count
 * print each; the HTML page folds as the text does; JSON lists each; a timer of a few hosts
 * (above Low) is never folded that way. One host's many findings of one hunt and risk (a
 * poller's) fold into a block of the host from [general] fold_min_findings. */
TEST_IMPL(hunt_fold_shared_low)
{
    const char *dir = th_timer_store("fold", 40, 14);
    char *json;
    test_runf(&json, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --no-state --format json",
              test_bin("flowhunt"), dir);
    int n_json = th_count(json, "\"hunt_id\"");
    char lead_id[40] = "";
    for (char *sv = NULL, *line = strtok_r(json, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv))
        if (strstr(line, "\"peer\":\"198.51.100.7\"")) {
            ASSERT(test_json_str(line, "hunt_id", lead_id, sizeof lead_id)); /* the first */
            break;
        }
    free(json);
    ASSERT_GE(n_json, 14);
    ASSERT_EQ(strlen(lead_id), 23);

    char *text = th_fold_text(dir, ""), line[2048], want[128];
    memset(line, 0, sizeof line);
    ASSERT_EQ(th_count(text, "Hunt ID: "), n_json - 13);
    snprintf(want, sizeof want, "Hunt ID: %s (and 13 more, folded)\n", lead_id);
    ASSERT_NOT_NULL(strstr(text, want));
    ASSERT_NOT_NULL(strstr(text, "# 14 Low or Medium findings that 10 hosts or more share "
                                 "towards one peer are folded into 1 block (--no-fold prints "
                                 "each)\n"));
    ASSERT_NOT_NULL(strstr(text, "this block stands for 14 Low beacon findings towards "
                                 "198.51.100.7:443/tcp, one per host"));
    th_line(text, "  folded_hosts:", line, sizeof line);
    strcat(line, " "); /* each address is followed by a space */
    int named = 0;
    for (int h = 1; h <= 14; h++) {
        snprintf(want, sizeof want, " 10.1.0.%d ", h);
        named += strstr(line, want) != NULL;
    }
    ASSERT_EQ(named, 14);
    ASSERT_NULL(strstr(line, "more"));
    th_line(text, "  folded_confidence:", line, sizeof line);
    unsigned hi = 0, med = 0, lo = 0;
    ASSERT_EQ(sscanf(line, "  folded_confidence: %u High, %u Medium, %u Low", &hi, &med, &lo), 3);
    ASSERT_EQ(hi + med + lo, 14);
    th_line(text, "  folded_flows:", line, sizeof line);
    ASSERT_NOT_NULL(strstr(line, "'host 198.51.100.7 and port 443 and proto tcp'"));
    ASSERT_NOT_NULL(strstr(text, "(dst@beacon = 198.51.100.7 REASON)"));
    free(text);

    /* printed one by one: by the flag, or by a threshold the group does not reach */
    char ini[700], args[800];
    snprintf(ini, sizeof ini, "%s/fold.ini", test_tmpdir());
    static const struct {
        const char *flag;
        int min_hosts; /* 0: no file */
        int folded;
    } v[] = {{"--no-fold", 0, 0}, {"", 15, 0}, {"", 14, 1}, {"--no-fold", 14, 0}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(args, sizeof args, "%s", v[i].flag);
        if (v[i].min_hosts) {
            FILE *f = fopen(ini, "w");
            ASSERT_NOT_NULL(f);
            fprintf(f, "[general]\nfold_min_hosts = %d\n", v[i].min_hosts);
            fclose(f);
            snprintf(args, sizeof args, "%s --config %s", v[i].flag, ini);
        }
        text = th_fold_text(dir, args);
        ASSERT_EQ(th_count(text, "Hunt ID: "), (v[i].folded ? n_json - 13 : n_json));
        /* the header, the Hunt ID and the block's six folded* lines */
        ASSERT_EQ(th_count(text, "folded"), (v[i].folded ? 8 : 0));
        free(text);
    }

    /* the HTML page (a person's too) folds the same way; --no-fold shows each */
    text = th_fold_text(dir, "--format html");
    ASSERT_EQ(th_count(text, "<article "), n_json - 13);
    ASSERT_NOT_NULL(strstr(text, "14 Low or Medium findings that 10 hosts or more share towards "
                                 "one peer are folded into 1 block"));
    snprintf(want, sizeof want, "%s</a> (and 13 more, folded)", lead_id);
    ASSERT_EQ(th_count(text, want), 1); /* the article */
    snprintf(want, sizeof want, "%s</a><span class=\"fnote\">(and 13 more, folded)</span>",
             lead_id);
    ASSERT_EQ(th_count(text, want), 1); /* the index, on a line of its own */
    ASSERT_NOT_NULL(strstr(text, "<tr><th>folded_hosts</th>"));
    ASSERT_EQ(th_count(text, "<tr class=\"folded\" id=\"TH-HUNTIN-"), 13); /* #ID opens each */
    free(text);
    text = th_fold_text(dir, "--format html --no-fold");
    ASSERT_EQ(th_count(text, "<article "), n_json);
    ASSERT_EQ(th_count(text, "folded"), 0);
    free(text);

    /* four hosts keeping the timer are High: printed apart whatever the threshold */
    FILE *f = fopen(ini, "w");
    ASSERT_NOT_NULL(f);
    fputs("[general]\nfold_min_hosts = 2\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s", ini);
    text = th_fold_text(th_timer_store("fold-few", 40, 4), args);
    ASSERT_EQ(th_count(text, "Hunt ID: "), th_count(text, "Evidence: "));
    ASSERT_GE(th_count(text, "198.51.100.7:443/tcp every"), 4);
    ASSERT_EQ(th_count(text, "(and "), 0);
    free(text);

    /* one host polling twelve addresses on one schedule: twelve Low findings of one host (a
     * poller), towards twelve peers: one block of the host, from 12 a host, not from 13 */
    char path[700];
    f = th_zeek_log("fold-poller", path, sizeof path);
    unsigned rng = 99;
    for (int h = 0; h < 40; h++)
        th_zeek_browsing(f, 1709251200.0, h, "203.0.113", &rng);
    for (int k = 0; k < 144; k++)
        for (int d = 0; d < 12; d++)
            fprintf(f, "%.6f\tP%d_%d\t10.1.0.1\t%d\t10.2.0.%d\t9100\ttcp\t0.3\t200\t3000\t"
                       "SF\t4\t400\t4\t3200\n",
                    1709251200.0 + k * 600.0 + d * 2.0, k, d, 20000 + k * 12 + d, 10 + d);
    fclose(f);
    char pdir[800];
    snprintf(pdir, sizeof pdir, "%s/fold-poller", test_tmpdir());
    test_zeek_import(pdir, path);
    for (int min = 12; min <= 13; min++) {
        f = fopen(ini, "w");
        ASSERT_NOT_NULL(f);
        fprintf(f, "[general]\nfold_min_findings = %d\n", min);
        fclose(f);
        snprintf(args, sizeof args, "--config %s", ini);
        text = th_fold_text(pdir, args);
        int polls = th_count(text, "10.1.0.1 beacons to 10.2.0.");
        if (min == 12) {
            ASSERT_EQ(polls, 1);
            ASSERT_NOT_NULL(strstr(text, "(and 11 more, folded)"));
            ASSERT_NOT_NULL(strstr(text, "this block stands for 12 Low beacon findings of "
                                         "10.1.0.1, one per peer and port"));
            ASSERT_NOT_NULL(strstr(text, "12 findings of one host, hunt and risk (12 or more a "
                                         "host) are folded into 1 block"));
            th_line(text, "  folded_peers:", line, sizeof line);
            strcat(line, " ");
            for (int d = 0; d < 12; d++) {
                snprintf(want, sizeof want, " 10.2.0.%d:9100/tcp ", 10 + d);
                if (!strstr(line, want))
                    TEST_FAIL_AT("%s not in %s", want, line);
            }
            th_line(text, "  folded_flows:", line, sizeof line);
            ASSERT_NOT_NULL(strstr(line, " 'host 10.1.0.1'"));
        } else {
            ASSERT_EQ(polls, 12);
            ASSERT_EQ(th_count(text, "folded"), 0);
        }
        free(text);
    }
    return 0;
}

/* A finding for th_fold_plan: hunt, host 10.1.0.H, peer 203.0.113.P (0: none), risk. */
static hunt_finding_t *th_fold_finding(hunt_findings_t *l, const char *hunt, int h, int peer,
                                       int risk)
{
    hunt_finding_t *f = hunt_finding_new(l, hunt);
    char a[32];
    snprintf(a, sizeof a, "10.1.0.%d", h);
    if (flow_addr_parse(&f->host, a) != 0)
        return NULL;
    if (peer)
        snprintf(f->peer, sizeof f->peer, "203.0.113.%d", peer);
    f->port = 443;
    f->proto = 6;
    f->risk = risk;
    f->confidence = HUNT_CONF_LOW;
    f->first_seen = 1709251200000ull + (uint64_t)l->n * 1000;
    f->last_seen = f->first_seen + 500;
    snprintf(f->hunt_id, sizeof f->hunt_id, "TH-HUNTIN-20240301-%04zu", l->n);
    return f;
}

/* The third kind of block: the Low findings of one hunt that neither other kind holds (a
 * week's first contacts with new destinations: each its own host and peer), from [general]
 * fold_min_low. Findings are planned directly, so every count is known: 12 scattered Low rare
 * findings (two of one host, one towards the same peer as another), 10 Low beacon findings
 * towards one peer (HF_PEER takes them first) and 3 scattered Low beacon ones, Medium and
 * allow-listed rare ones (never in this kind). */
TEST_IMPL(hunt_fold_scattered_low)
{
    hunt_findings_t l = {0};
    for (int i = 0; i < 3; i++) /* report order: risk first */
        ASSERT_NOT_NULL(th_fold_finding(&l, "rare", 100 + i, 100 + i, HUNT_RISK_MEDIUM));
    for (int i = 0; i < 10; i++)
        ASSERT_NOT_NULL(th_fold_finding(&l, "beacon", 50 + i, 7, HUNT_RISK_LOW));
    for (int i = 0; i < 12; i++)
        ASSERT_NOT_NULL(th_fold_finding(&l, "rare", i < 2 ? 1 : i, i == 11 ? 20 : 20 + i,
                                        HUNT_RISK_LOW));
    for (int i = 0; i < 3; i++)
        ASSERT_NOT_NULL(th_fold_finding(&l, "beacon", 70 + i, 70 + i, HUNT_RISK_LOW));
    hunt_finding_t *sup = th_fold_finding(&l, "rare", 90, 90, HUNT_RISK_LOW);
    ASSERT_NOT_NULL(sup);
    sup->suppressed = 1;
    const size_t first_rare = 13;
    hr_opts_t o = {.dir = "/data", .format = HR_FMT_TEXT, .fold_min_hosts = 10,
                   .fold_min_findings = 10};
    static const struct {
        unsigned min_low;
        size_t rare_block, beacon_block; /* findings in the HF_HUNT block of each; 0: none */
    } v[] = {{0, 0, 0}, {13, 0, 0}, {12, 12, 0}, {3, 12, 3}, {4, 12, 0}};
    for (size_t c = 0; c < sizeof v / sizeof v[0]; c++) {
        o.fold_min_low = v[c].min_low;
        hf_plan_t p;
        hf_plan(&p, l.v, l.n, &o, 0);
        /* the shared peer's ten are HF_PEER whatever fold_min_low says */
        ASSERT_EQ(p.groups[HF_PEER], 1);
        ASSERT_EQ(p.in_kind[HF_PEER], 10);
        ASSERT_EQ(p.groups[HF_HOST], 0);
        ASSERT_EQ(p.in_kind[HF_HUNT], v[c].rare_block + v[c].beacon_block);
        ASSERT_EQ(p.groups[HF_HUNT], (size_t)(v[c].rare_block > 0) + (v[c].beacon_block > 0));
        for (size_t i = 0; i < 3; i++) /* Medium: never this kind */
            ASSERT_EQ(p.lead[i], HF_ALONE);
        ASSERT_EQ(p.lead[l.n - 1], HF_ALONE); /* allow-listed: printed apart */
        for (size_t i = first_rare; i < first_rare + 12; i++)
            ASSERT_EQ(p.lead[i], v[c].rare_block ? first_rare : HF_ALONE);
        for (size_t i = first_rare + 12; i < first_rare + 15; i++)
            ASSERT_EQ(p.lead[i], v[c].beacon_block ? first_rare + 12 : HF_ALONE);
        char sum[400];
        hf_summary(&p, &o, sum, sizeof sum);
        if (v[c].rare_block && !v[c].beacon_block) {
            char want[400];
            snprintf(want, sizeof want,
                     "10 Low or Medium findings that 10 hosts or more share towards one peer are "
                     "folded into 1 block; 12 Low findings of one hunt that no other block holds (%u or "
                     "more a hunt) are folded into 1 block (--no-fold prints each)",
                     v[c].min_low);
            ASSERT_STR_EQ(sum, want);
            char note[64], *ev;
            ASSERT_EQ(hf_describe(l.v, &p, first_rare, &o, note, &ev), 12);
            ASSERT_STR_EQ(note, " (and 11 more, folded)");
            /* eleven hosts (10.1.0.1 twice), eleven peers (203.0.113.20 twice) */
            ASSERT_NOT_NULL(strstr(ev, "  folded: this block stands for the 12 Low rare findings "
                                       "that no other block holds, of 11 hosts towards 11 peers;"));
            ASSERT_NOT_NULL(strstr(ev, "  folded_findings: 10.1.0.1->203.0.113.20:443/tcp "
                                       "10.1.0.1->203.0.113.21:443/tcp 10.1.0.2->"));
            ASSERT_NOT_NULL(strstr(ev, " 10.1.0.11->203.0.113.20:443/tcp\n"));
            ASSERT_NOT_NULL(strstr(ev, "  folded_ids: TH-HUNTIN-20240301-0014 to "
                                       "TH-HUNTIN-20240301-0025, in report order\n"));
            ASSERT_NOT_NULL(strstr(ev, "  folded_confidence: 0 High, 0 Medium, 12 Low\n"));
            ASSERT_NULL(strstr(ev, "folded_flows")); /* no one filter shows them all */
            ASSERT_NOT_NULL(strstr(ev, "  folded_action: each is Low on its own"));
            free(ev);
        }
        hf_free(&p);
    }
    hunt_findings_free(&l);

    /* one peer's Medium and Low findings are one block (one destination to look into); its
     * High ones are printed each */
    hunt_findings_t m = {0};
    for (int i = 0; i < 2; i++)
        ASSERT_NOT_NULL(th_fold_finding(&m, "beacon", 30 + i, 7, HUNT_RISK_HIGH));
    for (int i = 0; i < 10; i++) {
        hunt_finding_t *f =
            th_fold_finding(&m, "beacon", 40 + i, 7, i < 6 ? HUNT_RISK_MEDIUM : HUNT_RISK_LOW);
        ASSERT_NOT_NULL(f);
        /* three hosts with a user, one name with a space in it: commas part them */
        if (i < 3)
            snprintf(f->user, sizeof f->user, "%s",
                     i == 1 ? "CORP\\Jane Doe"
                     : i    ? "bob"
                            : "alice");
    }
    for (unsigned min = 10; min <= 11; min++) {
        o.fold_min_hosts = min;
        o.fold_min_low = 0;
        hf_plan_t p;
        hf_plan(&p, m.v, m.n, &o, 0);
        ASSERT_EQ(p.lead[0], HF_ALONE);
        ASSERT_EQ(p.lead[1], HF_ALONE);
        ASSERT_EQ(p.in_kind[HF_PEER], min == 10 ? 10 : 0);
        if (min == 10) {
            for (size_t i = 2; i < 12; i++)
                ASSERT_EQ(p.lead[i], 2);
            char note[64], *ev;
            ASSERT_EQ(hf_describe(m.v, &p, 2, &o, note, &ev), 10);
            ASSERT_NOT_NULL(strstr(ev, "  folded: this block stands for 10 beacon findings "
                                       "towards 203.0.113.7:443/tcp (6 Medium, 4 Low), one per "
                                       "host;"));
            ASSERT_NOT_NULL(strstr(ev, "  folded_users: 3 known: alice, CORP\\Jane Doe, bob\n"));
            free(ev);
        }
        hf_free(&p);
    }
    hunt_findings_free(&m);

    /* an authorised scanner's findings, suppressed by one entry, fold by host among
     * themselves: not with the host's others, nor with another entry's */
    hunt_findings_t a = {0};
    for (int i = 0; i < 12; i++) {
        hunt_finding_t *f = th_fold_finding(&a, "scan", 70, 100 + i, HUNT_RISK_HIGH);
        ASSERT_NOT_NULL(f);
        f->suppressed = 1;
        snprintf(f->suppressed_reason, sizeof f->suppressed_reason, "allow-listed (%s)",
                 i < 11 ? "host@scan = 10.1.0.70 Nessus" : "dst@scan = 203.0.113.111 lab");
    }
    ASSERT_NOT_NULL(th_fold_finding(&a, "scan", 70, 120, HUNT_RISK_HIGH)); /* not allow-listed */
    o.fold_min_hosts = 10;
    o.fold_min_findings = 11;
    hf_plan_t p;
    hf_plan(&p, a.v, a.n, &o, 0);
    ASSERT_EQ(p.groups[HF_HOST], 1);
    ASSERT_EQ(p.in_kind[HF_HOST], 11);
    for (size_t i = 0; i < 11; i++)
        ASSERT_EQ(p.lead[i], 0);
    ASSERT_EQ(p.lead[11], HF_ALONE);
    ASSERT_EQ(p.lead[12], HF_ALONE);
    char note[64], *ev;
    ASSERT_EQ(hf_describe(a.v, &p, 0, &o, note, &ev), 11);
    ASSERT_NOT_NULL(strstr(ev, "11 High scan findings of 10.1.0.70, one per peer and port, each "
                               "suppressed by the same allow-list entry;"));
    ASSERT_NOT_NULL(strstr(ev, "  folded_action: allow-listed, so reported for the record"));
    free(ev);
    hf_free(&p);
    hunt_findings_free(&a);
    return 0;
}

/* One host's block shows its leader's "User:"; when the host's lease changed within the
 * block (--users gives each finding the user of its own time), the block names each user with
 * how many of its findings are theirs, so alice's block does not hide bob's six. One user
 * throughout: no such line. */
TEST_IMPL(hunt_fold_host_users)
{
    hr_opts_t o = {.dir = "/data", .format = HR_FMT_TEXT, .fold_min_findings = 10};
    static const struct {
        const char *users; /* one letter a finding: a alice, b bob, - none */
        const char *want;  /* the folded_users line, or NULL: none */
    } v[] = {
        {"aaaaaabbbbbb",
         "  folded_users: the host's user changed within the block: alice (6), bob (6)\n"},
        {"aaaaaaaaaa--",
         "  folded_users: the host's user changed within the block: alice (10), unknown (2)\n"},
        {"--bbbbbbbbbb",
         "  folded_users: the host's user changed within the block: unknown (2), bob (10)\n"},
        {"aaaaaaaaaaaa", NULL},
        {"------------", NULL},
    };
    for (size_t c = 0; c < sizeof v / sizeof v[0]; c++) {
        hunt_findings_t l = {0};
        for (int i = 0; i < 12; i++) {
            hunt_finding_t *f = th_fold_finding(&l, "intel", 5, 100 + i, HUNT_RISK_HIGH);
            ASSERT_NOT_NULL(f);
            char u = v[c].users[i];
            snprintf(f->user, sizeof f->user, "%s", u == 'a' ? "alice" : u == 'b' ? "bob" : "");
        }
        hf_plan_t p;
        hf_plan(&p, l.v, l.n, &o, 0);
        ASSERT_EQ(p.groups[HF_HOST], 1);
        char note[64], *ev;
        ASSERT_EQ(hf_describe(l.v, &p, 0, &o, note, &ev), 12);
        if (v[c].want && !strstr(ev, v[c].want))
            TEST_FAIL_AT("case %zu: no \"%s\" in\n%s", c, v[c].want, ev);
        if (!v[c].want)
            ASSERT_NULL(strstr(ev, "folded_users"));
        free(ev);
        hf_free(&p);
        hunt_findings_free(&l);
    }
    return 0;
}

/* The JSON report of n findings of hunts[i] (risk risks[i], confidence confs[i]) on one
 * fingerprint (10.1.0.5 -> 203.0.113.77:8443/tcp), state in a directory named by `tag`. */
static char *th_merge_run(const char *const *hunts, const int *risks, const int *confs, int n,
                          const char *tag)
{
    hunt_findings_t l = {0};
    for (int i = 0; i < n; i++) {
        hunt_finding_t *f = hunt_finding_new(&l, hunts[i]);
        hunt_finding_tech(f, i == 0 ? "T1571" : "T1071");
        if (flow_addr_parse(&f->host, "10.1.0.5") != 0)
            return NULL;
        snprintf(f->peer, sizeof f->peer, "203.0.113.77");
        f->port = 8443;
        f->proto = 6;
        f->risk = risks[i];
        f->confidence = confs[i];
        f->first_seen = 1709251200000ull;
        f->last_seen = f->first_seen + 3600000;
        snprintf(f->summary, sizeof f->summary, "%s's summary", hunts[i]);
        snprintf(f->action, sizeof f->action, "%s's action.", hunts[i]);
    }
    char dir[700];
    snprintf(dir, sizeof dir, "%s/merge-%s", test_tmpdir(), tag);
    mkdir(dir, 0755);
    hr_opts_t o = {.dir = dir, .format = HR_FMT_JSON, .min_risk = HUNT_RISK_LOW,
                   .now_ms = 1709337600000ull, .from_ms = 1709251200000ull,
                   .to_ms = 1709337600000ull, .end_ms = 1709337600000ull};
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m || hr_report(&l, &o, m) < 0)
        return NULL;
    fclose(m);
    hunt_findings_free(&l);
    return buf;
}

/* The JSON report line of hr_report over a hunt's finding and, when other_risk >= 0, hunt
 * other's on the same host, peer and port (one fingerprint): merged into one. Both are of Low
 * confidence. */
static char *th_merge_report(const char *hunt, int risk, const char *other, int other_risk)
{
    const char *hunts[2] = {hunt, other};
    const int risks[2] = {risk, other_risk}, confs[2] = {HUNT_CONF_LOW, HUNT_CONF_LOW};
    char tag[128];
    snprintf(tag, sizeof tag, "%s-%d-%s-%d", hunt, risk, other, other_risk);
    return th_merge_run(hunts, risks, confs, 1 + (other_risk >= 0), tag);
}

/* A Medium C2 finding (beacon, odd port, raw protocol, pool, held channel) towards a destination the rare
 * hunt found first contacted in the window is High when the two merge; Low C2 findings, other
 * hunts, and findings already High are left at their risk. */
TEST_IMPL(hunt_first_seen_raises_c2)
{
    static const struct {
        const char *hunt;
        int risk, rare_risk; /* rare_risk -1: no rare finding */
        const char *want;    /* the merged risk */
        int raised;
    } v[] = {{"beacon", HUNT_RISK_MEDIUM, HUNT_RISK_LOW, "High", 1},
             {"nonstd-port", HUNT_RISK_MEDIUM, HUNT_RISK_LOW, "High", 1},
             {"non-app", HUNT_RISK_MEDIUM, HUNT_RISK_MEDIUM, "High", 1},
             {"miner", HUNT_RISK_MEDIUM, HUNT_RISK_LOW, "High", 1},
             {"long-conn", HUNT_RISK_MEDIUM, HUNT_RISK_LOW, "High", 1},
             {"beacon", HUNT_RISK_MEDIUM, -1, "Medium", 0},
             {"beacon", HUNT_RISK_LOW, HUNT_RISK_LOW, "Low", 0},
             {"beacon", HUNT_RISK_LOW, HUNT_RISK_MEDIUM, "Medium", 0},
             {"beacon", HUNT_RISK_HIGH, HUNT_RISK_LOW, "High", 0},
             {"scan", HUNT_RISK_MEDIUM, HUNT_RISK_LOW, "Medium", 0},
             {"dns-exfil", HUNT_RISK_MEDIUM, HUNT_RISK_LOW, "Medium", 0}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *out = th_merge_report(v[i].hunt, v[i].risk, "rare", v[i].rare_risk);
        ASSERT_NOT_NULL(out);
        char want[64];
        snprintf(want, sizeof want, "\"risk_level\":\"%s\"", v[i].want);
        if (th_count(out, "\"hunt_id\"") != 1 || !strstr(out, want) ||
            (strstr(out, "\"first_seen_raise\"") != NULL) != v[i].raised ||
            (strstr(out, "The destination is new to the organisation") != NULL) != v[i].raised)
            TEST_FAIL_AT("%s %d + rare %d: want one finding at %s (raised %d): %.600s",
                         v[i].hunt, v[i].risk, v[i].rare_risk, v[i].want, v[i].raised, out);
        free(out);
    }
    return 0;
}

/* Two findings on one fingerprint are merged, but only two hunts agreeing raise the confidence
 * a step: the scan hunt's vertical scan and its service probing of one target (both
 * host|target|*|tcp) stay at their own confidence, with the second in also_scan; a scan and a
 * rare finding are raised from Low to Medium, as before. */
TEST_IMPL(hunt_merge_one_hunt_no_raise)
{
    static const struct {
        const char *hunt, *other, *want;
    } v[] = {{"scan", "scan", "Low"}, {"beacon", "beacon", "Low"}, {"scan", "rare", "Medium"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *out = th_merge_report(v[i].hunt, HUNT_RISK_MEDIUM, v[i].other, HUNT_RISK_LOW);
        ASSERT_NOT_NULL(out);
        char want[64], also[40];
        snprintf(want, sizeof want, "\"confidence\":\"%s\"", v[i].want);
        snprintf(also, sizeof also, "\"also_%s\":{", v[i].other);
        if (th_count(out, "\"hunt_id\"") != 1 || !strstr(out, want) || !strstr(out, also))
            TEST_FAIL_AT("%s + %s: want one finding of confidence %s with %s: %.600s", v[i].hunt,
                         v[i].other, v[i].want, also, out);
        free(out);
    }
    return 0;
}

/* Three hunts on one fingerprint, in either order: confidence is the best finding's, a step
 * for each other hunt (High here), and each other hunt's evidence is its own member. It was a step
 * per merge, and a later finding that won on risk kept only its own: beacon (Medium conf.) + rare,
 * then nonstd-port winning, was Medium. */
TEST_IMPL(hunt_merge_confidence_any_order)
{
    for (int order = 0; order < 2; order++) {
        const char *hunts[3] = {"beacon", "rare", "nonstd-port"};
        int risks[3] = {HUNT_RISK_LOW, HUNT_RISK_LOW, HUNT_RISK_MEDIUM};
        int confs[3] = {HUNT_CONF_MEDIUM, HUNT_CONF_LOW, HUNT_CONF_LOW};
        if (order) { /* the winner first */
            const char *h = hunts[0];
            hunts[0] = hunts[2];
            hunts[2] = h;
            int t = risks[0];
            risks[0] = risks[2];
            risks[2] = t;
            t = confs[0];
            confs[0] = confs[2];
            confs[2] = t;
        }
        char *buf = th_merge_run(hunts, risks, confs, 3, order ? "conf-rev" : "conf");
        ASSERT_NOT_NULL(buf);
        ASSERT_EQ(th_count(buf, "\"hunt_id\""), 1);
        ASSERT_NOT_NULL(strstr(buf, "\"hunt\":\"nonstd-port\""));
        ASSERT_NOT_NULL(strstr(buf, "\"confidence\":\"High\""));
        /* each other hunt's part at the top of the evidence: merged into a finding that later
         * lost, rare's was nested in beacon's, and the text report left it out */
        ASSERT_NOT_NULL(strstr(buf, "\"also_beacon\":{}"));
        ASSERT_NOT_NULL(strstr(buf, "\"also_rare\":{}"));
        free(buf);
    }
    return 0;
}

/* With no resolvers configured, the server most hosts send DNS to is their resolver in
 * practice: its recursion (a timer towards a nameserver, as a resolver refreshing a record
 * has) is its job and no beacon, as a configured resolver's is; another internal host keeping
 * the same timer on port 53 is still one. [dns] resolver_min_hosts above the clients, or 0,
 * and the recursion is judged again. Through the whole pipeline: preparation counts the
 * clients (HP_PREV_DNS), the beacon hunt drops the recursion at finish. */
/* Writes `text` (a configuration file's lines) to ini and puts "--config INI" in arg; with
 * text NULL, no file and an empty arg: the defaults. */
static void th_config_arg(const char *ini, const char *text, char *arg, size_t cap)
{
    arg[0] = 0;
    if (!text)
        return;
    FILE *c = fopen(ini, "w");
    ASSERT_NOT_NULL(c);
    fprintf(c, "%s\n", text);
    fclose(c);
    snprintf(arg, cap, "--config %s", ini);
}

/* The dns-exfil hunt's JSON report of dir (internal 10.0.0.0/8) with args, and with ini_text
 * as its configuration file (ini) unless NULL. The caller frees it. */
static char *th_dns_hunt(const char *dir, const char *ini, const char *ini_text, const char *args)
{
    char cfg[900], *out;
    th_config_arg(ini, ini_text, cfg, sizeof cfg);
    test_runf(&out,
              "%s hunt %s --internal 10.0.0.0/8 --hunts dns-exfil --format json --no-state %s %s",
              test_bin("flowhunt"), dir, args, cfg);
    return out;
}

/* A day of everyday DNS through resolver 10.1.0.53 from t0 (Unix s) into a Zeek conn.log: 30
 * hosts' lookups (20 to 600 each, so the population's spread is wide) and the resolver's
 * recursion to five nameservers (70-byte queries, larger answers) at times of its own. */
static void th_everyday_dns(FILE *f, double t0)
{
    for (int h = 0; h < 30; h++)
        for (int k = 0; k < 20 + 20 * h; k++)
            fprintf(f,
                    "%.6f\tD%d_%d\t10.1.0.%d\t%d\t10.1.0.53\t53\tudp\t0.01\t40\t90\tSF\t1\t68\t1\t"
                    "118\n",
                    t0 + h * 7.0 + k * (86000.0 / (20 + 20 * h)), h, k, h + 1, 30000 + k);
    for (int k = 0; k < 600; k++)
        fprintf(f,
                "%.6f\tR%d\t10.1.0.53\t%d\t192.0.2.%d\t53\tudp\t0.02\t42\t170\tSF\t1\t70\t1\t"
                "198\n",
                t0 + k * 131.0, k, 20000 + k, 1 + k % 5);
}

/* A day of DNS through resolver 10.1.0.53: 30 hosts' everyday lookups (20 to 600 each, so
 * the population's spread is wide) and the resolver's recursion to five nameservers (70-byte
 * queries, larger answers); host 10.1.0.77 runs a tunnel through it: 12 sessions of 9 queries
 * of 230 bytes with 300-byte answers, one sign on its side alone (bytes per packet: too short
 * for a long 5-tuple, answers larger than queries, volume inside the population's). The
 * resolver relays each query, 11 bytes larger, to 198.51.100.66 from a fresh port,
 * `relay_shift_s` after the client sent it. Returns the data directory, imported. */
static const char *th_relay_store(const char *name, double relay_shift_s)
{
    char path[700];
    static char dir[800];
    FILE *f = th_zeek_log(name, path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    th_everyday_dns(f, t0);
    int q = 0;
    for (int s = 0; s < 12; s++) {
        double ts = t0 + 36000.0 + s * 600.0;
        fprintf(f,
                "%.6f\tT%d\t10.1.0.77\t%d\t10.1.0.53\t53\tudp\t8.0\t1818\t2448\tSF\t9\t2070\t"
                "9\t2700\n",
                ts, s, 40000 + s);
        for (int k = 0; k < 9; k++, q++)
            fprintf(f,
                    "%.6f\tQ%d\t10.1.0.53\t%d\t198.51.100.66\t53\tudp\t0.03\t213\t283\tSF\t1\t"
                    "241\t1\t311\n",
                    ts + k + 0.005 + relay_shift_s, q, 10000 + q);
    }
    fclose(f);
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    test_zeek_import(dir, path);
    return dir;
}

/* The relayed leg of a tunnel through the organisation's resolver: the resolver's queries to
 * one nameserver carry encoded data (241 bytes a packet where its recursion's are 70), which
 * names the nameserver to block; the client tunnelling in the same hours is named beside it,
 * and its own finding names the nameserver in turn and is High, where the client's side alone
 * is Low. The resolver's everyday recursion is not a finding. */
TEST_IMPL(hunt_dns_relay_names_nameserver)
{
    const char *dir = th_relay_store("relay", 0);
    char ini[800];
    snprintf(ini, sizeof ini, "%s/relay.ini", test_tmpdir());
    static const struct {
        const char *args; /* beside --internal and --hunts */
        const char *ini;  /* NULL: none */
        int relay, relay_high, client, client_high;
        const char *role;
    } v[] = {{"--resolvers 10.1.0.53", NULL, 1, 1, 1, 1, "an approved resolver"},
             /* none configured: 31 hosts resolve through it, so it is one in practice */
             {"", NULL, 1, 1, 1, 1, "a resolver in practice"},
             /* the relayed queries' 241 bytes a packet under the threshold: neither side has a
              * tunnel's shape, so neither is a finding (through a resolver only the shape is) */
             {"--resolvers 10.1.0.53", "[dns]\nbytes_per_packet = 242", 0, 0, 0, 0, NULL},
             /* at 231 the client's 230 bytes a packet are under it, the relayed 241 not: the
              * relay is a finding, with no shaped client to name (Medium), and the client's
              * side, shapeless, none */
             {"--resolvers 10.1.0.53", "[dns]\nbytes_per_packet = 231", 1, 0, 0, 0, NULL}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *out = th_dns_hunt(dir, ini, v[i].ini, v[i].args);
        int relay = 0, relay_high = 0, client = 0, client_high = 0, other = 0;
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            if (strstr(line, "\"host\":\"10.1.0.53\"") &&
                strstr(line, "\"peer\":\"198.51.100.66\"")) {
                relay++;
                relay_high += strstr(line, "\"risk_level\":\"High\"") &&
                              strstr(line, "\"technique\":\"T1048.003\"") &&
                              strstr(line, "\"clients\":{\"count\":1,\"hosts\":[{\"address\":"
                                           "\"10.1.0.77\"") &&
                              strstr(line, "block 198.51.100.66") &&
                              (!v[i].role || strstr(line, v[i].role));
            } else if (strstr(line, "\"host\":\"10.1.0.77\"")) {
                client++;
                client_high += (strstr(line, "\"risk_level\":\"High\"") ||
                                strstr(line, "\"risk_level\":\"Critical\"")) &&
                               strstr(line, "\"relayed_to\":\"10.1.0.53 relayed queries of a "
                                            "tunnel's size to 198.51.100.66") != NULL;
            } else
                other++;
        }
        free(out);
        if (relay != v[i].relay || relay_high != v[i].relay_high || client != v[i].client ||
            client_high != v[i].client_high || other != 0)
            TEST_FAIL_AT("%s %s: relay findings %d (want %d), High naming the client %d (want "
                         "%d); client %d (want %d), High naming the nameserver %d (want %d); "
                         "others %d (want 0)",
                         v[i].args, v[i].ini ? v[i].ini : "", relay, v[i].relay, relay_high,
                         v[i].relay_high, client, v[i].client, client_high, v[i].client_high,
                         other);
    }
    /* relayed hours after the client's tunnel stopped: the nameserver is still a tunnel's,
     * Medium (bytes per packet alone, no client to tie it to), and the client's side alone is
     * Low and does not name it */
    dir = th_relay_store("relay_late", 12 * 3600.0);
    char *out = th_dns_hunt(dir, ini, NULL, "--resolvers 10.1.0.53");
    int n = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv), n++)
        if (strstr(line, "\"host\":\"10.1.0.53\""))
            ASSERT(strstr(line, "\"risk_level\":\"Medium\"") &&
                   strstr(line, "\"clients\":{\"count\":0,\"hosts\":[]}"));
        else
            ASSERT(strstr(line, "\"host\":\"10.1.0.77\"") &&
                   strstr(line, "\"risk_level\":\"Low\"") && !strstr(line, "relayed_to"));
    ASSERT_EQ(n, 2);
    free(out);
    return 0;
}

/* A day through resolver 10.1.0.53 (30 hosts' everyday lookups, its own recursion to five
 * nameservers at times of its own, as th_relay_store), with a mail server, 10.1.0.25, whose
 * 2,000 lookups are relayed two in five to nameserver 192.0.2.10 within 3 ms, and host
 * 10.1.0.77 running a tunnel of small queries (100 bytes a packet, iodine's size, a fresh
 * source port each: no shape on either leg): 400 queries in an hour, each relayed
 * `shift_ms` later, 11 bytes larger, to 198.51.100.66; its 40 everyday lookups over the day
 * are answered from the cache. Returns the data directory, imported. */
static const char *th_track_store(const char *name, double shift_ms)
{
    char path[700];
    static char dir[800];
    FILE *f = th_zeek_log(name, path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    th_everyday_dns(f, t0);
    for (int k = 0; k < 2000; k++) {
        double ts = t0 + 3.0 + k * 43.0;
        fprintf(f,
                "%.6f\tM%d\t10.1.0.25\t%d\t10.1.0.53\t53\tudp\t0.01\t40\t90\tSF\t1\t68\t1\t"
                "118\n",
                ts, k, 10000 + k % 50000);
        if (k % 5 < 2)
            fprintf(f,
                    "%.6f\tN%d\t10.1.0.53\t%d\t192.0.2.10\t53\tudp\t0.02\t42\t170\tSF\t1\t70\t"
                    "1\t198\n",
                    ts + 0.003, k, 40000 + k);
    }
    for (int k = 0; k < 40; k++)
        fprintf(f,
                "%.6f\tE%d\t10.1.0.77\t%d\t10.1.0.53\t53\tudp\t0.01\t40\t90\tSF\t1\t68\t1\t"
                "118\n",
                t0 + 500.0 + k * 2100.0, k, 50000 + k);
    for (int k = 0; k < 400; k++) {
        double ts = t0 + 36000.0 + k * 9.0;
        fprintf(f,
                "%.6f\tT%d\t10.1.0.77\t%d\t10.1.0.53\t53\tudp\t0.02\t72\t150\tSF\t1\t100\t1"
                "\t178\n",
                ts, k, 20000 + k);
        fprintf(f,
                "%.6f\tQ%d\t10.1.0.53\t%d\t198.51.100.66\t53\tudp\t0.02\t83\t161\tSF\t1\t111"
                "\t1\t189\n",
                ts + shift_ms / 1000.0, k, 45000 + k);
    }
    fclose(f);
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    test_zeek_import(dir, path);
    return dir;
}

/* A tunnel through the resolver whose queries have no tunnel's size: neither leg has a shape,
 * but the resolver relays each of the client's queries to one nameserver as it comes, which
 * names both. The resolver's finding names the nameserver and the client; the client's own
 * finding (through a resolver, none without a sign before) is High and names the nameserver.
 * The mail server's lookups, two in five relayed to one nameserver, drive that nameserver
 * but are not mostly its: no finding, nor the everyday recursion. Relayed two seconds late,
 * past track_ms, the legs are not tied; nor below track_min_queries, nor with it 0 (off). */
TEST_IMPL(hunt_dns_relay_tracks_small_queries)
{
    char ini[800];
    snprintf(ini, sizeof ini, "%s/track.ini", test_tmpdir());
    static const struct {
        double shift_ms;
        const char *args; /* beside --internal and --hunts */
        const char *ini;  /* NULL: none */
        int found;
    } v[] = {{5, "--resolvers 10.1.0.53", NULL, 1},
             /* none configured: 32 hosts resolve through it, a resolver in practice */
             {5, "", NULL, 1},
             /* an exporter's clock 200 ms off the other's: still within track_ms */
             {-200, "--resolvers 10.1.0.53", NULL, 1},
             {2000, "--resolvers 10.1.0.53", NULL, 0},
             {5, "--resolvers 10.1.0.53", "[dns]\ntrack_min_queries = 401", 0},
             {5, "--resolvers 10.1.0.53", "[dns]\ntrack_min_queries = 400", 1},
             {5, "--resolvers 10.1.0.53", "[dns]\ntrack_min_queries = 0", 0},
             /* 400 of the client's 440 queries: 0.91 of its own */
             {5, "--resolvers 10.1.0.53", "[dns]\ntrack_host_share = 0.92", 0}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "track%zu", i);
        const char *dir = th_track_store(name, v[i].shift_ms);
        char *out = th_dns_hunt(dir, ini, v[i].ini, v[i].args);
        int relay = 0, client = 0, other = 0;
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            if (strstr(line, "\"host\":\"10.1.0.53\"") &&
                strstr(line, "\"peer\":\"198.51.100.66\"") &&
                strstr(line, "\"risk_level\":\"High\"") &&
                strstr(line, "\"relay_tracking\":{\"client\":\"10.1.0.77\",\"client_queries\":"
                             "440,\"nameserver_queries\":400,\"matched\":400") &&
                strstr(line, "block it and 198.51.100.66"))
                relay++;
            else if (strstr(line, "\"host\":\"10.1.0.77\"") &&
                     strstr(line, "\"peer\":\"10.1.0.53\"") &&
                     strstr(line, "\"risk_level\":\"High\"") &&
                     strstr(line, "\"relay_tracking\":{\"resolver\":\"10.1.0.53\","
                                  "\"nameserver\":\"198.51.100.66\",\"matched\":400") &&
                     strstr(line, "block 198.51.100.66"))
                client++;
            else
                other++;
        }
        if (relay != v[i].found || client != v[i].found || other != 0)
            TEST_FAIL_AT("shift %g ms, %s %s: resolver findings naming the client %d, client "
                         "findings naming the nameserver %d (want %d each); others %d (want "
                         "0): %s",
                         v[i].shift_ms, v[i].args, v[i].ini ? v[i].ini : "", relay, client,
                         v[i].found, other, out);
        free(out);
    }
    return 0;
}

/* Encrypted DNS past the resolvers: DNS over TLS on 853 and over HTTPS to a public resolver
 * (the [dns] doh_servers list) from a host is Medium (High with volume_bytes upstream), Low
 * where resolver_min_hosts hosts use the server alike (a rolled-out setting); the resolver's
 * own upstream, DoT to the organisation's resolver, HTTPS to any other server and a refused
 * connection are none. The list is the configuration's. */
TEST_IMPL(hunt_dns_encrypted_past_resolvers)
{
    char path[700], dir[800], ini[800];
    FILE *f = th_zeek_log("enc", path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    static const struct {
        const char *host, *server;
        int port, n;
        const char *state; /* Zeek's conn_state: SF answered, REJ refused */
        unsigned up;       /* bytes up a connection */
    } c[] = {{"10.1.0.40", "1.1.1.1", 443, 12, "SF", 3000},                /* DoH: Medium */
             {"10.1.0.41", "203.0.113.9", 853, 8, "SF", 2000},             /* DoT: Medium */
             {"10.1.0.43", "2606:4700:4700::1111", 443, 6, "SF", 1100000}, /* 6.6 MB: High */
             {"10.1.0.53", "9.9.9.9", 853, 40, "SF", 5000},      /* the resolver's upstream */
             {"10.1.0.44", "10.1.0.53", 853, 5, "SF", 2000},     /* DoT to the resolver */
             {"10.1.0.45", "198.51.100.20", 443, 9, "SF", 3000}, /* HTTPS elsewhere */
             {"10.1.0.46", "8.8.4.4", 443, 4, "REJ", 0},         /* refused */
             {"10.1.0.47", "192.0.2.77", 443, 5, "SF", 3000}};   /* listed only below */
    int k = 0;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        for (int j = 0; j < c[i].n; j++, k++) {
            int sf = strcmp(c[i].state, "SF") == 0;
            fprintf(f, "%.6f\tE%d\t%s\t%d\t%s\t%d\ttcp\t%s\t%u\t%u\t%s\t%d\t%u\t%d\t%u\n",
                    t0 + 600.0 * k, k, c[i].host, 40000 + k, c[i].server, c[i].port,
                    sf ? "30.0" : "0.001", c[i].up, sf ? 4000u : 0u, c[i].state, sf ? 20 : 1,
                    sf ? c[i].up + 800 : 60u, sf ? 20 : 1, sf ? 4800u : 40u);
        }
    for (int h = 0; h < 25; h++) /* 25 hosts' browsers on Google's DoH: a setting */
        fprintf(f,
                "%.6f\tG%d\t10.1.1.%d\t%d\t8.8.8.8\t443\ttcp\t60.0\t5000\t9000\tSF\t30\t6200\t"
                "30\t10200\n",
                t0 + 97.0 * h, h, h + 1, 41000 + h);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/enc", test_tmpdir());
    snprintf(ini, sizeof ini, "%s/enc.ini", test_tmpdir());
    test_zeek_import(dir, path);
    static const struct {
        const char *ini;
        const char *want; /* host|peer|port|risk of every finding but Google's, in the report's
                           * order (by risk), ';' after each */
    } v[] = {{NULL, "10.1.0.43|2606:4700:4700::1111|443|High;10.1.0.40|1.1.1.1|443|Medium;"
                    "10.1.0.41|203.0.113.9|853|Medium;"},
             /* the operator's list replaces the built-in one; a network in it counts too */
             {"[dns]\ndoh_servers = 192.0.2.64/26, 8.8.8.8",
              "10.1.0.41|203.0.113.9|853|Medium;10.1.0.47|192.0.2.77|443|Medium;"},
             /* under resolver_min_hosts 26 Google's 25 users are 25 hosts to judge */
             {"[dns]\nresolver_min_hosts = 26", NULL}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *out = th_dns_hunt(dir, ini, v[i].ini, "--resolvers 10.1.0.53");
        char got[2048] = "";
        int google = 0;
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            char host[64], peer[64], risk[16], port[8] = "";
            ASSERT(test_json_str(line, "host", host, sizeof host));
            ASSERT(test_json_str(line, "peer", peer, sizeof peer));
            ASSERT(test_json_str(line, "risk_level", risk, sizeof risk));
            const char *pp = strstr(line, "\"port\":");
            ASSERT_NOT_NULL(pp);
            snprintf(port, sizeof port, "%d", atoi(pp + 7));
            if (strcmp(peer, "8.8.8.8") == 0) {
                /* Low as a setting, each naming the 25 users; Medium one by one under 26 */
                google++;
                ASSERT_STR_EQ(risk, v[i].want ? "Low" : "Medium");
                ASSERT_NOT_NULL(strstr(line, "\"internal_hosts_using_server\":25"));
                continue;
            }
            ASSERT_NOT_NULL(strstr(line, "\"T1071.004\",\"T1572\""));
            size_t l = strlen(got);
            snprintf(got + l, sizeof got - l, "%s|%s|%s|%s;", host, peer, port, risk);
        }
        free(out);
        ASSERT_EQ(google, 25);
        if (v[i].want)
            ASSERT_STR_EQ(got, v[i].want);
    }
    return 0;
}

/* A zone transfer: one TCP/53 connection bringing a host that serves no DNS 100 kB or more is
 * Medium reconnaissance (T1590.002) naming the server; a secondary (a configured resolver)
 * fetching the zone, a large answer over TCP (4 kB) and the threshold at 0 are none. */
TEST_IMPL(hunt_dns_zone_transfer)
{
    char path[700], dir[800], ini[800];
    FILE *f = th_zeek_log("axfr", path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    for (int h = 0; h < 30; h++)    /* everyday lookups through the resolver */
        for (int k = 0; k < 10; k++)
            fprintf(f,
                    "%.6f\tD%d_%d\t10.1.0.%d\t%d\t10.1.0.53\t53\tudp\t0.01\t40\t90\tSF\t1\t68\t1\t"
                    "118\n",
                    t0 + h * 97.0 + k * 7001.0, h, k, h + 1, 30000 + k);
    static const struct {
        const char *host;
        unsigned in;                /* bytes back in the one TCP connection */
    } c[] = {{"10.1.0.60", 480000}, /* a workstation pulls the zone */
             {"10.1.0.54", 480000}, /* the secondary (a configured resolver) does too */
             {"10.1.0.61", 4000}};  /* a large answer over TCP */
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        fprintf(f, "%.6f\tZ%zu\t%s\t%zu\t10.1.0.53\t53\ttcp\t2.0\t60\t%u\tSF\t4\t260\t%u\t%u\n",
                t0 + 40000.0 + 600.0 * (double)i, i, c[i].host, 45000 + i, c[i].in - 2000,
                c[i].in / 1000 + 2, c[i].in);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/axfr", test_tmpdir());
    snprintf(ini, sizeof ini, "%s/axfr.ini", test_tmpdir());
    test_zeek_import(dir, path);
    static const struct {
        const char *ini;
        int want; /* zone transfer findings of 10.1.0.60 */
    } v[] = {{NULL, 1},
             {"[dns]\nzone_transfer_bytes = 480001", 0},
             {"[dns]\nzone_transfer_bytes = 480000", 1},
             {"[dns]\nzone_transfer_bytes = 0", 0}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char *out = th_dns_hunt(dir, ini, v[i].ini, "--resolvers 10.1.0.53,10.1.0.54");
        int axfr = 0;
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            if (!strstr(line, "T1590.002"))
                continue;
            ASSERT_NOT_NULL(strstr(line, "\"host\":\"10.1.0.60\""));
            ASSERT_NOT_NULL(strstr(line, "\"peer\":\"10.1.0.53\""));
            ASSERT_NOT_NULL(strstr(line, "\"risk_level\":\"Medium\""));
            ASSERT_NOT_NULL(strstr(line, "\"largest_tcp_answer_bytes\":480000"));
            axfr++;
        }
        free(out);
        if (axfr != v[i].want)
            TEST_FAIL_AT("%s: %d zone transfer findings, want %d", v[i].ini ? v[i].ini : "defaults",
                         axfr, v[i].want);
    }
    return 0;
}

TEST_IMPL(hunt_beacon_resolver_in_practice)
{
    char path[700];
    FILE *f = th_zeek_log("rip", path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    unsigned rng = 4242;
    for (int h = 0; h < 40; h++) {
        th_zeek_browsing(f, t0, h, "203.0.113", &rng);
        for (int k = 0; h < 25 && k < 8; k++) /* 25 clients of 10.1.0.53 */
            fprintf(f, "%.6f\tD%d_%d\t10.1.0.%d\t%d\t10.1.0.53\t53\tudp\t0.01\t40\t90\tSF\t1\t68\t1\t"
                       "118\n",
                    t0 + h * 97.0 + k * 9001.0, h, k, h + 1, 30000 + k);
    }
    for (int k = 0; k < 144; k++) { /* the resolver and another host, each on a timer */
        fprintf(f, "%.6f\tR%d\t10.1.0.53\t%d\t192.0.2.1\t53\tudp\t0.02\t45\t300\tSF\t1\t73\t1\t"
                   "328\n",
                t0 + k * 600.0 + 0.2, k, 20000 + k);
        fprintf(f, "%.6f\tX%d\t10.1.0.99\t%d\t198.51.100.9\t53\tudp\t0.02\t45\t300\tSF\t1\t73\t1\t"
                   "328\n",
                t0 + k * 600.0 + 5.4, k, 21000 + k);
    }
    fclose(f);
    char dir[800], ini[800];
    snprintf(dir, sizeof dir, "%s/rip", test_tmpdir());
    snprintf(ini, sizeof ini, "%s/rip.ini", test_tmpdir());
    test_zeek_import(dir, path);
    static const struct {
        const char *ini; /* NULL: the defaults (resolver_min_hosts 20) */
        int recursion_reported;
    } v[] = {{NULL, 0},
             {"[dns]\nresolver_min_hosts = 25", 0}, /* exactly its clients */
             {"[dns]\nresolver_min_hosts = 26", 1},
             {"[dns]\nresolver_min_hosts = 0", 1},
             /* configured resolvers are the policy: nothing is inferred beside them */
             {"[general]\nresolvers = 10.1.0.200", 1},
             {"[general]\nresolvers = 10.1.0.53", 0}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char cfg[900];
        th_config_arg(ini, v[i].ini, cfg, sizeof cfg);
        char *out;
        test_runf(&out, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --format json --no-state %s",
                  test_bin("flowhunt"), dir, cfg);
        int rec = 0, other = 0;
        for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
             line = strtok_r(NULL, "\n", &sv)) {
            rec += strstr(line, "\"host\":\"10.1.0.53\"") && strstr(line, "\"peer\":\"192.0.2.1\"");
            other += strstr(line, "\"host\":\"10.1.0.99\"") && strstr(line, "\"peer\":\"198.51.100.9\"");
        }
        free(out);
        if (rec != v[i].recursion_reported || other != 1)
            TEST_FAIL_AT("%s: recursion reported %d (want %d), the other timer %d (want 1)",
                         v[i].ini ? v[i].ini : "(defaults)", rec, v[i].recursion_reported, other);
    }
    return 0;
}

/* The final score of the beacon finding of 10.1.0.1 towards 198.51.100.20 in dir, and its
 * nonstandard_port evidence. */
static double th_port_score(const char *dir, char *ev, size_t cap)
{
    char *out;
    test_runf(&out, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --format json --no-state",
              test_bin("flowhunt"), dir);
    double score = -1;
    ev[0] = '\0';
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        if (!strstr(line, "\"host\":\"10.1.0.1\"") || !strstr(line, "\"peer\":\"198.51.100.20\""))
            continue;
        const char *r = strstr(line, "\"risk_score\":");
        ASSERT_NOT_NULL(r);
        score = strtod(r + 13, NULL);
        ASSERT(test_json_str(line, "nonstandard_port", ev, cap));
    }
    free(out);
    return score;
}

/* A beacon on a port off the standard list earns the non-standard-port bonus (T1571) when the
 * destination is the host's alone; when more than [beacon] nonstandard_port_max_hosts (4)
 * internal hosts use the destination, it is that service's port (STUN 3478 on the reference
 * day was 3 false Highs): named, no bonus, the score 0.15 lower. */
TEST_IMPL(hunt_beacon_port_bonus_rare_only)
{
    double score[2];
    char ev[2][400];
    for (int common = 0; common <= 1; common++) {
        char path[700], name[32];
        snprintf(name, sizeof name, "port-bonus-%d", common);
        FILE *f = th_zeek_log(name, path, sizeof path);
        unsigned rng = 31337;
        for (int h = 0; h < 40; h++)
            th_zeek_browsing(f, 1709251200.0, h, "203.0.113", &rng);
        for (int k = 0; k < 144; k++) {
            rng = rng * 1103515245u + 12345u;
            fprintf(f, "%.6f\tT%d\t10.1.0.1\t%d\t198.51.100.20\t3478\tudp\t0.1\t120\t140\tSF\t1\t148"
                       "\t1\t168\n",
                    1709251200.0 + k * 600.0 + (double)(rng >> 16 & 4095) / 256.0, k, 20000 + k);
        }
        for (int h = 2; common && h <= 6; h++) /* five more users of the destination, now and then */
            for (int k = 0; k < 5; k++)
                fprintf(f, "%.6f\tU%d_%d\t10.1.0.%d\t%d\t198.51.100.20\t3478\tudp\t2.0\t900\t1500\tSF"
                           "\t9\t1150\t9\t1750\n",
                        1709251200.0 + h * 1111.0 + k * 15013.0, h, k, h, 30000 + k);
        fclose(f);
        char dir[800];
        snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
        test_zeek_import(dir, path);
        score[common] = th_port_score(dir, ev[common], sizeof ev[common]);
    }
    ASSERT(score[0] > 0);
    ASSERT_NOT_NULL(strstr(ev[0], "3478/udp is not a standard port: +0.15 (T1571)"));
    ASSERT_NOT_NULL(strstr(ev[1], "but 6 internal hosts use this destination (more than 4): the "
                                  "service's own port, no bonus"));
    /* the same timer; the prevalence modifier moves a little with the users too */
    ASSERT(score[1] < score[0] - 0.14);
    return 0;
}

/* A /24 timeline is reported only where it says more than its addresses: a host calling one
 * address every ten minutes (and two others of its /24 now and then) is one finding, the
 * address, its /24 scoring no better; a host calling twenty addresses of one /24 in turn every
 * ten minutes has the /24 finding too. */
TEST_IMPL(hunt_beacon_net_covered)
{
    char path[700];
    FILE *f = th_zeek_log("net24", path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    unsigned rng = 777;
    for (int h = 0; h < 40; h++) /* background: web browsing of 40 hosts */
        th_zeek_browsing(f, t0, h, "192.0.2", &rng);
    for (int k = 0; k < 6; k++) /* the first host's other calls into that /24, now and then */
        fprintf(f, "%.6f\tC%d\t10.1.0.1\t%d\t198.51.100.%d\t443\ttcp\t2.0\t700\t9000\tSF\t8\t"
                   "1100\t9\t9500\n",
                t0 + 1000.0 + k * 13001.0, k, 42000 + k, 8 + k % 2);
    for (int k = 0; k < 144; k++) {
        fprintf(f, "%.6f\tA%d\t10.1.0.1\t%d\t198.51.100.7\t443\ttcp\t0.8\t900\t4000\tSF\t6\t1220\t"
                   "6\t4320\n",
                t0 + k * 600.0 + 0.3, k, 40000 + k);
        fprintf(f, "%.6f\tB%d\t10.1.0.2\t%d\t203.0.113.%d\t443\ttcp\t0.8\t900\t4000\tSF\t6\t"
                   "1220\t6\t4320\n",
                t0 + k * 600.0 + 3.3, k, 41000 + k, 10 + k % 20);
    }
    fclose(f);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/net24", test_tmpdir());
    test_zeek_import(dir, path);
    char *out;
    int rc = test_runf(&out, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --format json "
                             "--no-state",
                       test_bin("flowhunt"), dir);
    ASSERT_EQ(rc, 1);
    ASSERT_EQ(th_count(out, "\"host\":\"10.1.0.1\""), 1);
    ASSERT_EQ(th_count(out, "\"peer\":\"198.51.100.7\""), 1);
    ASSERT_EQ(th_count(out, "\"peer\":\"198.51.100.0/24\""), 0);
    ASSERT_EQ(th_count(out, "\"peer\":\"203.0.113.0/24\""), 1);
    free(out);
    return 0;
}

/* hph_resultant against the sums of libm's cos and sin: interval counts around its block
 * and chunk sizes (8, 256), periods and jitters of all sizes, every quarter turn; exact
 * multiples give 1; phases past its range and negative intervals take the libm path. */
static double th_resultant_libm(const double *d, size_t n, double t)
{
    double c = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        c += cos(2 * M_PI * (d[i] / t));
        s += sin(2 * M_PI * (d[i] / t));
    }
    return n ? sqrt(c * c + s * s) / (double)n : 0;
}

TEST_IMPL(hunt_phase_resultant)
{
    static double d[700];
    const size_t ns[] = {1, 2, 3, 7, 8, 9, 255, 256, 257, 513, 700};
    unsigned rng = 99;
    double worst = 0;
    for (int trial = 0; trial < 400; trial++) {
        size_t n = ns[trial % 11];
        rng = rng * 1103515245u + 12345u;
        double period = 0.001 * (1 + (rng >> 8) % 3600000); /* 1 ms .. 1 h */
        double jitter = (double)(trial % 5) / 8;             /* 0 .. 50 % */
        for (size_t i = 0; i < n; i++) {
            rng = rng * 1103515245u + 12345u;
            double u = (double)(rng >> 8 & 0xffff) / 65536.0;
            d[i] = period * (double)(1 + (rng >> 24) % 3) * (1 - jitter * u);
        }
        double t = period * (trial % 2 ? 1 : 0.77);
        double e = fabs(hph_resultant(d, n, t) - th_resultant_libm(d, n, t));
        if (e > worst)
            worst = e;
    }
    ASSERT(worst < 1e-14); /* measured: under 1e-15 */
    for (size_t i = 0; i < 300; i++) /* whole periods: every phase 0 */
        d[i] = 30.0 * (double)(i % 7);
    ASSERT(fabs(hph_resultant(d, 300, 30.0) - 1) < 1e-12);
    for (size_t i = 0; i < 4; i++) /* quarter turns: they cancel */
        d[i] = 2.5 * (double)i;
    ASSERT(hph_resultant(d, 4, 10.0) < 1e-12);
    d[0] = 1e300; /* past the reduction's range */
    d[1] = -7.5;  /* a negative interval */
    ASSERT(fabs(hph_resultant(d, 4, 10.0) - th_resultant_libm(d, 4, 10.0)) < 1e-12);
    ASSERT(hph_resultant(d, 0, 10.0) == 0);
    return 0;
}

/* More intervals than the periodicity test takes (period_max_intervals): it tests the most
 * recent ones, and must take its candidate periods from them too. A host's burst of 150 quick
 * calls (1.5-9 s apart), then 100 check-ins a minute apart (+-2 s): the recent intervals are
 * all the minute, where the shortest of all intervals are all the burst. */
/* A host connecting at random (exponential gaps, mean 60 s, a day: about 1,400 connections)
 * is no beacon, and a timer with 25 % jitter beside it still is. The candidate periods come from
 * the intervals' quantiles, against which random arrivals have phases about 0.11 concentrated:
 * Rayleigh's test against uniform phases called that periodic (p 1e-9 at 1,400 intervals) and
 * the random host was a High beacon among 60 browsing hosts. */
TEST_IMPL(hunt_beacon_random_arrivals)
{
    char path[700];
    FILE *f = th_zeek_log("poisson", path, sizeof path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    unsigned rng = 2;
    for (int h = 2; h < 62; h++)
        th_zeek_browsing(f, t0, h, "192.0.2", &rng);
    int k = 0;
    for (double t = t0; t < t0 + 86400; k++) {
        rng = rng * 1103515245u + 12345u;
        double u = (double)(rng >> 8 & 0xffffff) / 16777216.0;
        fprintf(f,
                "%.6f\tP%d\t10.1.0.1\t%d\t203.0.113.9\t443\ttcp\t0.4\t%u\t%u\tSF\t5\t900\t5\t"
                "1200\n",
                t, k, 20000 + k % 40000, 300 + (rng >> 4) % 400, 600 + (rng >> 6) % 400);
        t += -60.0 * log(1 - u);
    }
    for (int i = 0; i < 1440; i++) { /* the timer: 60 s +- 15 s */
        rng = rng * 1103515245u + 12345u;
        double u = (double)(rng >> 8 & 0xffffff) / 16777216.0;
        fprintf(f,
                "%.6f\tT%d\t10.1.0.70\t%d\t203.0.113.50\t443\ttcp\t0.4\t500\t800\tSF\t5\t900\t"
                "5\t1200\n",
                t0 + i * 60.0 + 30.0 * (u - 0.5), i, 30000 + i);
    }
    fclose(f);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/poisson", test_tmpdir());
    test_zeek_import(dir, path);
    char *out;
    test_runf(&out,
              "%s hunt %s --internal 10.1.0.0/16 --hunts beacon --format json --no-state "
              "--min-risk low",
              test_bin("flowhunt"), dir);
    if (strstr(out, "\"peer\":\"203.0.113.9\""))
        TEST_FAIL_AT("random arrivals reported as a beacon: %.900s", strstr(out, "203.0.113.9"));
    ASSERT_NOT_NULL(strstr(out, "\"peer\":\"203.0.113.50\""));
    free(out);
    return 0;
}

TEST_IMPL(hunt_beacon_period_recent)
{
    char path[700], ini[700];
    snprintf(path, sizeof path, "%s/recent.log", test_tmpdir());
    snprintf(ini, sizeof ini, "%s/recent.ini", test_tmpdir());
    FILE *f = fopen(ini, "w");
    ASSERT_NOT_NULL(f);
    fputs("[beacon]\nperiod_max_intervals = 64\n", f);
    fclose(f);
    f = test_zeek_conn_create(path);
    unsigned rng = 4242;
    double t = 1709251200.0; /* 2024-03-01 */
    for (int k = 0; k < 250; k++) {
        fprintf(f, "%.6f\tR%d\t10.1.0.1\t%d\t198.51.100.7\t443\ttcp\t0.8\t900\t4000\tSF\t6\t1220\t"
                   "6\t4320\n",
                t, k, 40000 + k);
        rng = rng * 1103515245u + 12345u;
        double u = (double)(rng >> 16 & 0x7fff) / 32768.0;
        t += k < 150 ? 1.5 + 7.5 * u : 58.0 + 4.0 * u;
    }
    fclose(f);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/recent", test_tmpdir());
    test_zeek_import(dir, path);
    char *out;
    test_runf(&out, "%s hunt %s --internal 10.0.0.0/8 --hunts beacon --format json --no-state "
                    "--min-risk low --config %s",
              test_bin("flowhunt"), dir, ini);
    const char *p = strstr(out, "\"period_s\":");
    ASSERT_NOT_NULL(p);
    double period = strtod(p + strlen("\"period_s\":"), NULL);
    ASSERT(period > 58.0 && period < 62.0);
    free(out);
    return 0;
}

/* Service probing is a half-open probe and probe_connections connections to its target
 * within the fast window from it, whatever came before: a stray half-open probe 280 s
 * earlier opened a tumbling window that cut the burst after the second probe in two, and
 * the probing went unreported. */
TEST_IMPL(hunt_scan_probe_window_from_any_probe)
{
    for (int stray = 0; stray < 2; stray++) {
        char path[700], name[32];
        snprintf(name, sizeof name, "probe%d", stray);
        snprintf(path, sizeof path, "%s/%s.log", test_tmpdir(), name);
        FILE *f = fopen(path, "w");
        ASSERT_NOT_NULL(f);
        fputs("#separator \\x09\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
              "proto\tduration\torig_bytes\tresp_bytes\tconn_state\thistory\torig_pkts\t"
              "orig_ip_bytes\tresp_pkts\tresp_ip_bytes\n",
              f);
        const double t0 = 1709251200.0; /* 2024-03-01 */
        const char *half = "%.6f\tH%d\t10.0.0.66\t%d\t10.1.2.3\t22\ttcp\t0.001\t0\t0\tRSTO\tShR\t2"
                           "\t100\t1\t60\n";
        if (stray)
            fprintf(f, half, t0, 0, 40000);
        fprintf(f, half, t0 + 280, 1, 40001);
        for (int i = 0; i < 20; i++)
            fprintf(f,
                    "%.6f\tC%d\t10.0.0.66\t%d\t10.1.2.3\t22\ttcp\t1.0\t260\t720\tSF\tShADadFf\t"
                    "6\t500\t5\t900\n",
                    t0 + 282 + 2 * i, i, 41000 + i);
        fclose(f);
        char dir[800];
        snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
        test_zeek_import(dir, path);
        char *out;
        test_runf(&out,
                  "%s hunt %s --internal 10.0.0.0/8 --hunts scan --format json "
                  "--no-state --min-risk low",
                  test_bin("flowhunt"), dir);
        if (!strstr(out, "\"half_open_probes\":1"))
            TEST_FAIL_AT("stray %d: no service probing of 10.1.2.3 reported: %.600s", stray, out);
        free(out);
    }
    return 0;
}

/* A scanning host's successful contacts on the scanned port are its own, even where another
 * host makes the same contacts just before (the scan hunt drops repeats of a host's contact
 * early; a repeat is the same host's, never another's). Host .2 sweeps 60 addresses on 445
 * unanswered and reaches ten servers on 445; host .1 reaches those ten just before it. */
TEST_IMPL(hunt_scan_successes_per_host)
{
    char path[700];
    snprintf(path, sizeof path, "%s/succ.log", test_tmpdir());
    FILE *f = test_zeek_conn_create(path);
    const double t0 = 1709251200.0; /* 2024-03-01 */
    int uid = 0;
    for (int i = 0; i < 10; i++)
        for (int h = 1; h <= 2; h++) {
            fprintf(f, "%.6f\tS%d\t10.1.0.%d\t%d\t10.2.0.%d\t445\ttcp\t1.0\t900\t4000\tSF\t8\t"
                       "1300\t8\t4400\n",
                    t0 + i * 2.0 + h * 0.25, uid, h, 50000 + uid, 100 + i);
            uid++;
        }
    for (int i = 0; i < 60; i++)
        fprintf(f, "%.6f\tF%d\t10.1.0.2\t%d\t10.2.0.%d\t445\ttcp\t3.0\t0\t0\tS0\t2\t88\t0\t0\n",
                t0 + 30.0 + i * 0.5, i, 40000 + i, 1 + i);
    fclose(f);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/succ", test_tmpdir());
    test_zeek_import(dir, path);
    char *out;
    test_runf(&out, "%s hunt %s --internal 10.1.0.0/16 --hunts scan --format json --no-state "
                    "--min-risk low",
              test_bin("flowhunt"), dir);
    const char *p = strstr(out, "\"host\":\"10.1.0.2\"");
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(strstr(p, "\"successful_targets\":10"));
    free(out);
    return 0;
}

/* One REJ log (with or without its history column, as some Zeek setups log) imported and
 * hunted: see hunt_zeek_rejected. */
static void th_rej_check(const char *name, int history)
{
    char feed[700], path[700];
    snprintf(feed, sizeof feed, "%s/%s.ioc", test_tmpdir(), name);
    ASSERT_EQ(test_write_file(feed, "203.0.113.66\n"), 0);
    snprintf(path, sizeof path, "%s/%s.log", test_tmpdir(), name);
    ASSERT_EQ(test_write_file(path, history ? "#separator \\x09\n#fields\tts\tuid\tid.orig_h\t"
                                              "id.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\t"
                                              "conn_state\thistory\torig_pkts\torig_ip_bytes\t"
                                              "resp_pkts\tresp_ip_bytes\n"
                                            : "#separator \\x09\n#fields\tts\tuid\tid.orig_h\t"
                                              "id.orig_p\tid.resp_h\tid.resp_p\tproto\tduration\t"
                                              "conn_state\torig_pkts\torig_ip_bytes\t"
                                              "resp_pkts\tresp_ip_bytes\n"),
              0);
    FILE *f = fopen(path, "a");
    ASSERT_NOT_NULL(f);
    const double t0 = 1709280000.0; /* 2024-03-01T08:00:00Z */
    const char *h = history ? "\tSr" : "";
    for (int i = 0; i < 200; i++)
        fprintf(f, "%.6f\tV%d\t10.1.1.5\t%d\t10.1.2.7\t%d\ttcp\t0.0001\tREJ%s\t1\t44\t1\t40\n",
                t0 + i * 0.05, i, 40000 + i, 1 + i, h);
    for (int i = 0; i < 3; i++)
        fprintf(f,
                "%.6f\tI%d\t10.1.1.7\t%d\t203.0.113.66\t443\ttcp\t0.0001\tREJ%s\t1\t44\t1\t"
                "40\n",
                t0 + i * 60.0, i, 41000 + i, h);
    ASSERT_EQ(fclose(f), 0);
    char dir[800];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    test_zeek_import(dir, path);
    const char *fh = test_bin("flowhunt");
    char *out;
    ASSERT_EQ(test_runf(&out, "%s cat %s --limit 1 --fields tcp_flags,rev_tcp_flags", fh, dir), 0);
    ASSERT_NOT_NULL(strstr(out, history ? "2,4\n" : "2,20\n")); /* Sr; REJ: RST|ACK */
    free(out);
    test_runf(&out,
              "%s hunt %s --internal 10.1.0.0/16 --hunts scan,intel --intel %s --format json "
              "--no-state --now 2024-03-02T00:00:00Z 2>/dev/null",
              fh, dir, feed);
    const char *p = strstr(out, "\"hunt\":\"scan\"");
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(strstr(p, "\"host\":\"10.1.1.5\""));
    p = strstr(out, "\"hunt\":\"intel\"");
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(strstr(p, "\"risk_level\":\"Medium\""));
    ASSERT_NOT_NULL(strstr(p, "\"answered\":0"));
    ASSERT_NOT_NULL(strstr(p, "\"rejected\":3"));
    free(out);
}

/* A Zeek REJ (history "Sr": a SYN answered by a RST) is a rejection, not an answer: the
 * responder's history letters are imported as rev_tcp_flags and preparation reads them as the
 * biflow's answer. 10.1.1.5 tries 200 closed ports of 10.1.2.7 in 10 s (a vertical scan, as the
 * same scan logged S0 is); 10.1.1.7 tries a listed address three times and is refused (Medium,
 * never answered, not High "answered 3"). A log without history says the same by conn_state. */
TEST_IMPL(hunt_zeek_rejected)
{
    th_rej_check("rej", 1);
    th_rej_check("rejnh", 0);
    return 0;
}

/* A day that already has 9,999 findings goes on with SEQ 10000, and a later run reads those
 * IDs back from the state: the run never fails for the count. */
TEST_IMPL(hunt_seq_past_9999)
{
    char truth[700], path[800];
    const char *dir = th_store("seq", "v9", 20000, 9, "24", 1, truth, sizeof truth);
    snprintf(path, sizeof path, "%s/hunt", dir);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/hunt/ids.tsv", dir);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("0123456789abcdef\tTH-HUNTIN-20240301-9999\t1709251200000\n", f);
    fclose(f);
    int rc;
    char *first = th_report(dir, "--format json", &rc);
    ASSERT_EQ(rc, 1);
    ASSERT_NOT_NULL(strstr(first, "\"hunt_id\":\"TH-HUNTIN-20240301-10000\""));
    ASSERT_NULL(strstr(first, "\"hunt_id\":\"TH-HUNTIN-20240301-0001\""));
    char *second = th_report(dir, "--format json", &rc);
    ASSERT_EQ(rc, 1);
    /* the same IDs, read back from the state, none new any more */
    ASSERT_EQ(th_count(second, "\"hunt_id\""), th_count(first, "\"hunt_id\""));
    ASSERT_NOT_NULL(strstr(second, "\"hunt_id\":\"TH-HUNTIN-20240301-10000\""));
    ASSERT_EQ(th_count(second, "\"new\":true"), 0);
    free(first);
    free(second);
    return 0;
}

TEST_IMPL(hunt_allow_list_suppresses)
{
    char truth[700], allow[700];
    const char *dir = th_store("al", "v9", 20000, 10, "24", 1, truth, sizeof truth);
    /* every scanner and sweeper of the truth, planted or authorised, is allow-listed */
    static const char *const scanners[] = {"scan-", "benign-vuln-scanner", "benign-ping-monitor",
                                           NULL};
    snprintf(allow, sizeof allow, "%s", th_allow_scanners(truth, scanners));
    char *out;
    int rc = test_runf(&out, "%s hunt %s " TH_HUNT_ARGS " --format json --no-state --allow %s",
                    test_bin("flowhunt"), dir, allow);
    ASSERT_EQ(rc, 1);
    int seen = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line;
         line = strtok_r(NULL, "\n", &sv)) {
        if (!strstr(line, "\"hunt\":\"scan\""))
            continue;
        seen = 1;
        ASSERT_NOT_NULL(strstr(line, "\"suppressed\":true"));
        ASSERT_NOT_NULL(strstr(line, "Nessus, ticket 7"));
        /* the entry once (it holds its reason), and no advice to allow-list what is */
        const char *why = strstr(line, "\"suppressed_reason\":\"allow-listed: host@scan = ");
        ASSERT_NOT_NULL(why);
        ASSERT_EQ(th_count(why, "Nessus, ticket 7"), 1);
        ASSERT_NOT_NULL(strstr(line, "\"recommended_action\":\"None while the allow-list entry "
                                     "stands (Nessus, ticket 7); if it no longer does: "));
    }
    ASSERT_EQ(seen, 1); /* reported as suppressed, not dropped */
    free(out);
    /* only the scan hunt, allow-listed: nothing counts, exit 0 */
    rc = test_runf(NULL, "%s hunt %s " TH_HUNT_ARGS " --hunts scan --no-state --allow %s",
                test_bin("flowhunt"), dir, allow);
    ASSERT_EQ(rc, 0);
    return 0;
}

/* A second router exporting copies of some records (flowgen --dup: the core router) changes
 * nothing a hunt reports. Copies were matched only by their start, so after stitching the
 * copies of a long connection's later active-timeout records stayed as conversations of
 * their own: a held HTTPS connection became a 1800 s beacon and a miner's 2 conversations 8. */
TEST_IMPL(hunt_duplicates_change_nothing)
{
    char dir[2][700], pcap[700];
    char *rep[2];
    for (int i = 0; i < 2; i++) {
        snprintf(dir[i], sizeof dir[i], "%s/dup%d", test_tmpdir(), i);
        snprintf(pcap, sizeof pcap, "%s/dup%d.pcap", test_tmpdir(), i);
        test_flowgen_store(dir[i], pcap, "",
                           "--format ipfix --flows 30000 --seed 7 --start 2024-03-01T00:00:00Z "
                           "--hours 48 --exporters 2 --dup %s",
                           i ? "0.3" : "0");
        int rc;
        rep[i] = th_report(dir[i], "--format json --no-state", &rc);
        ASSERT_EQ(rc, 1);
    }
    ASSERT_STR_EQ(rep[0], rep[1]);
    /* and the copies were there to drop */
    char *out;
    ASSERT_EQ(test_runf(&out, "%s hunt %s " TH_HUNT_ARGS " --no-state --now 2024-03-03 | head -2",
                        test_bin("flowhunt"), dir[1]),
              0);
    ASSERT_NULL(strstr(out, " 0 duplicate copies dropped"));
    ASSERT_NOT_NULL(strstr(out, " duplicate copies dropped"));
    free(out);
    free(rep[0]);
    free(rep[1]);
    return 0;
}

/* The lateral case's SYN sweep: the scanner resets what answers, so its attempts are the
 * unanswered and the half-open, each named ("40 failed" counted both, beside "unanswered:
 * 20, rejected: 0"); and a scan nothing answered is not told to look at "the targets that
 * answered". */
TEST_IMPL(hunt_scan_half_open_named)
{
    char truth[700];
    const char *dir = th_store("ho", "ipfix", 30000, 7, "48", 1, truth, sizeof truth);
    int rc;
    char *rep = th_report(dir, "--format json --no-state --hunts scan", &rc);
    ASSERT_EQ(rc, 1);
    const char *lat = strstr(rep, "\"techniques\":[\"T1046\",\"T1021\"]");
    ASSERT_NOT_NULL(lat);
    ASSERT_NOT_NULL(strstr(lat, "horizontal scan: "));
    ASSERT_NULL(strstr(lat, "in 300 s)")); /* the busiest window's span, not its length */
    const char *ho = strstr(lat, "\"half_open\":");
    ASSERT_NOT_NULL(ho);
    ASSERT_GT(atoi(ho + 12), 0);
    int quiet = 0;
    for (char *sv = NULL, *line = strtok_r(rep, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv))
        if (strstr(line, "\"half_open\":0,") &&
            (strstr(line, "\"successful_targets\":0,") ||
             strstr(line, "\"successful_ports\":0,")) &&
            strstr(line, "\"risk_level\":\"High\"")) {
            ASSERT_NULL(strstr(line, "targets that answered"));
            quiet++;
        }
    ASSERT_GT(quiet, 0);
    free(rep);
    return 0;
}

TEST_IMPL(hunt_memory_bound_passes)
{
    /* 16 MB holds a few tens of thousands of records: the window is hunted in several passes,
     * and the findings must be exactly those of one pass */
    char truth[700], ini[700];
    const char *dir = th_store("mem", "v9", 150000, 21, "48", 1, truth, sizeof truth);
    snprintf(ini, sizeof ini, "%s/small.ini", test_tmpdir());
    FILE *f = fopen(ini, "w");
    ASSERT_NOT_NULL(f);
    fputs("[general]\nmemory_mb = 16\n", f);
    fclose(f);
    char *one, *many, *text;
    ASSERT_EQ(test_runf(&one, "%s hunt %s " TH_HUNT_ARGS " --format json --no-state --now 2024-03-05",
                     test_bin("flowhunt"), dir),
              1);
    ASSERT_EQ(test_runf(&many,
                     "%s hunt %s " TH_HUNT_ARGS
                     " --format json --no-state --now 2024-03-05 --config %s",
                     test_bin("flowhunt"), dir, ini),
              1);
    ASSERT_EQ(test_runf(&text,
                     "%s hunt %s " TH_HUNT_ARGS
                     " --format text --no-state --now 2024-03-05 --config %s | head -2",
                     test_bin("flowhunt"), dir, ini),
              0);
    ASSERT_NULL(strstr(text, "; 1 pass;"));
    ASSERT_NOT_NULL(strstr(text, " passes;"));
    ASSERT_STR_EQ(one, many);
    free(one);
    free(many);
    free(text);
    /* without --resolvers (and with the default internal networks, IPv6's too), dns-exfil
     * names the resolvers in practice: the same ones, in the same order (they came in the
     * order of its units, which the passes change) */
    ASSERT_EQ(test_runf(&one,
                        "%s hunt %s --hunts dns-exfil --format json --no-state --now 2024-03-05",
                        test_bin("flowhunt"), dir),
              1);
    ASSERT_EQ(test_runf(&many,
                        "%s hunt %s --hunts dns-exfil --format json --no-state --now 2024-03-05 "
                        "--config %s",
                        test_bin("flowhunt"), dir, ini),
              1);
    ASSERT_NOT_NULL(strstr(one, "\"resolvers_in_practice\":{\"min_hosts\""));
    ASSERT_STR_EQ(one, many);
    free(one);
    free(many);
    return 0;
}

/* --config with `text` (written to `ini`) is refused: exit 2, the message holding `why`. */
static void th_config_refused(const char *dir, const char *ini, const char *text, const char *why)
{
    char *out;
    ASSERT_EQ(test_write_file(ini, text), 0);
    ASSERT_EQ(test_runf(&out, "{ %s hunt %s --config %s --print-config 2>&1; }",
                        test_bin("flowhunt"), dir, ini),
              2);
    ASSERT_NOT_NULL(strstr(out, why));
    free(out);
}

TEST_IMPL(hunt_exit_status_and_usage)
{
    char *out;
    ASSERT_EQ(test_runf(&out, "%s hunt --help", test_bin("flowhunt")), 0);
    ASSERT_NOT_NULL(strstr(out, "Exit status: 0 nothing found, 1 findings reported, 2 could not"));
    free(out);
    ASSERT_EQ(
        test_runf(NULL, "%s hunt %s/nonexistent 2>/dev/null", test_bin("flowhunt"), test_tmpdir()), 2);
    ASSERT_EQ(
        test_runf(NULL, "%s hunt %s --format yaml 2>/dev/null", test_bin("flowhunt"), test_tmpdir()),
        2);
    ASSERT_EQ(
        test_runf(NULL, "%s hunt %s --hunts beacons 2>/dev/null", test_bin("flowhunt"), test_tmpdir()),
        2);
    /* a time it cannot read is named with its option, and the forms it takes listed */
    ASSERT_EQ(
        test_runf(&out, "{ %s hunt %s --to yesterday 2>&1; }", test_bin("flowhunt"), test_tmpdir()),
        2);
    ASSERT_NOT_NULL(strstr(out, "--to 'yesterday' is not a time (2024-03-01T12:00:00Z"));
    ASSERT_NOT_NULL(strstr(out, "now, @UNIXSECONDS)"));
    free(out);
    /* a context path too long to keep is refused by name, not cut to another file's name */
    char longpath[1100];
    memset(longpath, 'a', 1020);
    memcpy(longpath, "/tmp/", 5);
    longpath[1020] = '\0';
    ASSERT_EQ(test_runf(&out, "{ %s hunt %s --geoip %s --print-config 2>&1; }",
                        test_bin("flowhunt"), test_tmpdir(), longpath),
              2);
    ASSERT_NOT_NULL(strstr(out, "flowhunt hunt: --geoip: longer than 999 characters"));
    free(out);
    /* no hunt named is not "ran and found nothing" */
    ASSERT_EQ(
        test_runf(NULL, "%s hunt %s --hunts '' 2>/dev/null", test_bin("flowhunt"), test_tmpdir()),
        2);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --internal 10.0.0.0/33 2>/dev/null", test_bin("flowhunt"),
                     test_tmpdir()),
              2);
    /* a negative length is no length: not one host (the organisation as one address) */
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --internal 10.0.0.0/-1 2>/dev/null", test_bin("flowhunt"),
                        test_tmpdir()),
              2);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --internal '10.0.0.0/ 8' 2>/dev/null",
                        test_bin("flowhunt"), test_tmpdir()),
              2);
    /* an empty directory: ran, found nothing */
    char empty[700];
    snprintf(empty, sizeof empty, "%s/empty", test_tmpdir());
    ASSERT_EQ(mkdir(empty, 0755), 0);
    ASSERT_EQ(test_runf(&out, "%s hunt %s", test_bin("flowhunt"), empty), 0);
    /* the header says so, rather than a window at the epoch */
    ASSERT_NOT_NULL(strstr(out, ": no flows stored: 0 findings"));
    free(out);
    ASSERT_EQ(test_runf(&out, "%s hunt %s --from 2026-01-01", test_bin("flowhunt"), empty), 0);
    ASSERT_NOT_NULL(strstr(out, ": from 2026-01-01T00:00:00.000Z, no flows: 0 findings"));
    free(out);
    /* a window with no flows in it */
    char truth[700];
    const char *dir = th_store("ex", "v5", 2000, 12, "2", 1, truth, sizeof truth);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --from 2020-01-01 --to 2020-01-02 >/dev/null",
                     test_bin("flowhunt"), dir),
              0);
    /* internal networks that none of the flows comes from: ran, but said so (a store of
     * public addresses hunted with the RFC 1918 default gave "0 findings" and nothing else) */
    test_runf(&out, "{ %s hunt %s --internal 192.0.2.0/24,2001:db8::/32 2>&1 >/dev/null; }",
              test_bin("flowhunt"), dir);
    ASSERT_NOT_NULL(strstr(out, "flowhunt hunt: warning: none of the "));
    ASSERT_NOT_NULL(strstr(out, "(internal = 192.0.2.0/24,2001:db8::/32), and the hunts judge "
                                "internal hosts only: set --internal"));
    free(out);
    test_runf(&out, "{ %s hunt %s 2>&1 >/dev/null; }", test_bin("flowhunt"), dir);
    ASSERT_NULL(strstr(out, "warning"));
    free(out);
    /* a state it cannot lock: the advice names what --no-state still writes (it said
     * "--no-state hunts a store it cannot write", which then failed on the audit log) */
    char lockdir[800];
    snprintf(lockdir, sizeof lockdir, "%s/hunt/state.lock", dir);
    unlink(lockdir);
    ASSERT_EQ(mkdir(lockdir, 0755), 0);
    ASSERT_EQ(test_runf(&out, "{ %s hunt %s 2>&1 >/dev/null; }", test_bin("flowhunt"), dir), 2);
    ASSERT_NOT_NULL(strstr(out, "but still appends to"));
    free(out);
    ASSERT_EQ(rmdir(lockdir), 0);
    ASSERT_EQ(test_runf(&out, "%s hunt %s --print-config", test_bin("flowhunt"), dir), 0);
    ASSERT_NOT_NULL(strstr(out, "[beacon]"));
    ASSERT_NOT_NULL(strstr(out, "min_connections = 6"));
    free(out);
    /* what --print-config prints loads as the values it was printed from (six digits of %g
     * printed 1234567 as 1.23457e+06) */
    char ini[700], ini2[700];
    snprintf(ini, sizeof ini, "%s/digits.ini", test_tmpdir());
    snprintf(ini2, sizeof ini2, "%s/digits2.ini", test_tmpdir());
    ASSERT_EQ(test_write_file(ini, "[general]\nfold_min_hosts = 1234567\n"
                                   "[beacon]\nscore_base = 0.1234567\n"),
              0);
    ASSERT_EQ(
        test_runf(&out, "%s hunt %s --config %s --print-config", test_bin("flowhunt"), dir, ini),
        0);
    ASSERT_EQ(test_write_file(ini2, out), 0);
    free(out);
    ASSERT_EQ(
        test_runf(&out, "%s hunt %s --config %s --print-config", test_bin("flowhunt"), dir, ini2),
        0);
    ASSERT_NOT_NULL(strstr(out, "\nfold_min_hosts = 1234567\n"));
    ASSERT_NOT_NULL(strstr(out, "\nscore_base = 0.1234567\n"));
    ASSERT_NOT_NULL(strstr(out, "\nscore_low = 0.7\n")); /* and the defaults as they were */
    free(out);
    /* a pools "file" without lines (a device) is refused, not read forever */
    th_config_refused(dir, ini, "[miner]\npools = /dev/zero\n",
                      "pools: /dev/zero:1: line too long");
    /* a count takes a whole number: 2.9 printed as 2.9 but hunted as 2 (Medium), 0.5 hosts
     * turned folding off; a real number keeps its fraction */
    th_config_refused(dir, ini, "[general]\nmin_risk = 2.9\n",
                      "general.min_risk: '2.9' is not a whole number from 1 to 4");
    /* the bounds as written: memory_mb's upper one read "1.04858e+06" */
    th_config_refused(dir, ini, "[general]\nmemory_mb = 8\n",
                      "general.memory_mb: '8' is not a whole number from 16 to 1048576");
    ASSERT_EQ(test_write_file(ini, "[general]\nfold_min_hosts = 1e1\n[prep]\nstitch_gap_s = 0.5\n"),
              0);
    ASSERT_EQ(
        test_runf(&out, "%s hunt %s --config %s --print-config", test_bin("flowhunt"), dir, ini),
        0);
    ASSERT_NOT_NULL(strstr(out, "\nfold_min_hosts = 10\n"));
    ASSERT_NOT_NULL(strstr(out, "\nstitch_gap_s = 0.5\n"));
    free(out);
    return 0;
}

/* -o FILE is replaced whole when the run succeeds: a run that fails (a damaged ids.tsv) keeps
 * the last report as it was and leaves no temporary file beside it. Opening FILE first
 * truncated it before the hunt ran, so such a run left an empty file where the SIEM or the
 * share expected the last findings. A replaced report keeps its permissions. */
TEST_IMPL(hunt_output_file_replaced_whole)
{
    char truth[700], rep[700], ids[700], *out;
    const char *dir = th_store("outf", "v5", 2000, 12, "2", 1, truth, sizeof truth);
    snprintf(rep, sizeof rep, "%s/outf-report.txt", test_tmpdir());
    snprintf(ids, sizeof ids, "%s/hunt/ids.tsv", dir);
    int rc = test_runf(NULL, "%s hunt %s --now 2024-03-02T00:00:00Z -o %s", test_bin("flowhunt"),
                       dir, rep);
    ASSERT(rc == 0 || rc == 1);
    size_t len;
    char *first = (char *)test_read_file(rep, &len);
    ASSERT_NOT_NULL(first);
    ASSERT_NOT_NULL(strstr(first, "# flowhunt hunt "));
    ASSERT_EQ(chmod(rep, 0640), 0);
    ASSERT_EQ(test_write_file(ids, "not an ids line\n"), 0);
    ASSERT_EQ(test_runf(NULL, "%s hunt %s --now 2024-03-03T00:00:00Z -o %s 2>/dev/null",
                        test_bin("flowhunt"), dir, rep),
              2);
    size_t len2;
    char *kept = (char *)test_read_file(rep, &len2);
    ASSERT_NOT_NULL(kept);
    ASSERT_EQ(len2, len);
    ASSERT_MEM_EQ(kept, first, len);
    free(kept);
    ASSERT_EQ(test_runf(&out, "ls -a %s | grep -c 'outf-report.txt.tmp' || true", test_tmpdir()),
              0);
    ASSERT_EQ(atoi(out), 0);
    free(out);
    /* the state mended: the next run replaces it, with the permissions it had */
    ASSERT_EQ(unlink(ids), 0);
    rc = test_runf(NULL, "%s hunt %s --now 2024-03-03T00:00:00Z -o %s", test_bin("flowhunt"), dir,
                   rep);
    ASSERT(rc == 0 || rc == 1);
    char *second = (char *)test_read_file(rep, &len2);
    ASSERT_NOT_NULL(second);
    ASSERT_NOT_NULL(strstr(second, "# flowhunt hunt "));
    struct stat st;
    ASSERT_EQ(stat(rep, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0640);
    free(first);
    free(second);
    return 0;
}

/* ---- the team's labelled data ---------------------------------------------------------------- */

TEST_IMPL(hunt_stratosphere_njrat)
{
    const char *dir = test_import_zeek("nj", "labeled-flows/stratosphere/001-njrat-labeled-conn.log");
    char *out;
    int rc = test_runf(&out,
                    "%s hunt %s --internal 192.168.0.0/16,fd2d:ab8c:225::/48 --format json "
                    "--no-state",
                    test_bin("flowhunt"), dir);
    ASSERT_EQ(rc, 1);
    int found = 0;
    for (char *sv = NULL, *line = strtok_r(out, "\n", &sv); line; line = strtok_r(NULL, "\n", &sv))
        if (strstr(line, "\"hunt\":\"beacon\"") && strstr(line, "\"host\":\"192.168.1.115\"") &&
            strstr(line, "\"peer\":\"41.108.179.197\"") && strstr(line, "\"port\":1177") &&
            strstr(line, "\"T1571\"") && strstr(line, "\"T1071\"")) {
            found = 1;
            printf("# NjRAT C2: %.300s...\n", line);
        }
    ASSERT_EQ(found, 1);
    free(out);
    return 0;
}

TEST_IMPL(hunt_stratosphere_ctu_normal)
{
    const char *dir =
        test_import_zeek("ctu", "labeled-flows/stratosphere/008-ctu-normal-40-day1-conn.log.labeled");
    char *out;
    int rc = test_runf(&out, "%s hunt %s --internal 147.32.0.0/16 --format json --no-state",
                    test_bin("flowhunt"), dir);
    ASSERT(rc == 0 || rc == 1);
    /* the host's traffic is labelled Benign (ESET, Microsoft, ...): nothing High or Critical */
    ASSERT_NULL(strstr(out, "\"risk_level\":\"High\""));
    ASSERT_NULL(strstr(out, "\"risk_level\":\"Critical\""));
    printf("# CTU normal day: %d findings, none High or Critical\n", th_count(out, "\"hunt_id\""));
    free(out);
    return 0;
}
