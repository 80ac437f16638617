/* hunt_beacon.c: C2 beaconing (T1071; T1571 on a non-standard port), RITA's scoring made
 * flow-aware and robust to missed check-ins.
 *
 * Unit: (internal host, destination, port, protocol), and (host, destination /24, port, proto)
 * so that a C2 rotating over addresses of one network is still one timeline. Each unit's
 * conversation start times and originator bytes are scored as RITA v5 does
 * (../shared/reference/hunting-methods.md 1.1): timing TS = mean(1 - |Bowley skew|, (median -
 * MAD) / median) of the intervals, data size DS the same over bytes, duration DUR (coverage of
 * the window or the longest run of active bins), histogram HIST (1 - CV of the bin counts, or
 * the bimodal fit); score = weighted sum. RITA's timing score falls apart when check-ins are
 * missed (sampling, sleep-on-idle): intervals become k*T. So a periodicity test runs beside it:
 * candidate periods from the interval quantiles divided by 1..4, each refined by least squares
 * over the intervals that are near multiples of it, and tested with the Rayleigh test on the
 * phases 2*pi*interval/T -- a multiple of T has phase 0, so misses do not hurt, and jitter only
 * widens the phases. Timing is max(TS, period concentration when significant). Intervals under
 * min_interval_ms are retries (RITA's Delta=0 problem) and are dropped; unanswered attempts
 * count (an implant whose C2 is down keeps its schedule) and are named in the evidence.
 *
 * The score is bucketed as RITA does (base..1 -> 0.2..0.8) and adjusted by modifiers:
 * prevalence (the share of internal hosts talking to the destination: +bonus when rare, down to
 * -penalty when common, interpolated on a log scale -- benign timers are shared by many hosts,
 * so they are recognised by prevalence, not by a list), a non-standard port, and an internal
 * destination (a penalty: RITA scores only internal to external traffic). Severity:
 * > 0.8 Critical, >= 0.6 High, >= 0.4 Medium, >= 0.2 Low. When there are too few internal
 * hosts for prevalence to mean anything (a single-host capture), a benign timer cannot be told
 * from C2 by flows alone, so the risk is capped (Medium by default) and the evidence says why.
 * The same timer (port, protocol, period within 10 %) on fleet_hosts internal hosts, towards
 * at least three different destinations, is installed software's schedule (NTP against a pool,
 * update checks against mirrors): an implant's C2 is one place, a fleet's timer is many, so
 * it is capped at Low too. So is one timer of fleet_hosts hosts towards a destination that at
 * least shared_timer_share (a quarter) of the internal hosts call: an update service every
 * machine runs; an implant already on a quarter of the machines is not found by its beacon.
 * A host whose timer reaches poller_destinations destinations on one port is a poller
 * (monitoring, backup, printer management): an implant calls one home, a poller calls them all
 * on one schedule, so its risk is capped at Low and the evidence names the fan-out.
 * Confidence comes from how many check-ins, how many hours, and whether the data was sampled.
 *
 * Memory: per-pair timelines live only for one preparation pass (pairs never span passes);
 * at the end of a pass every pair is scored (on every core) and freed, and only candidates
 * above score_base are kept. Timelines are capped at max_connections (RITA's strobe limit);
 * what is dropped is counted and named in the finding.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "hunt.h"
#include "hunt_phase.h"

typedef struct hb_pt {
    uint64_t t, bytes; /* bytes: HB_BYTES_UNKNOWN when only the answer was seen */
} hb_pt_t;

/* Under sampling a check-in may survive by its answer alone: its request size is then
 * unknown, not 0, and stays out of the size statistics. */
#define HB_BYTES_UNKNOWN UINT64_MAX

static double hb_pt_bytes(const hb_pt_t *p)
{
    return p->bytes == HB_BYTES_UNKNOWN ? 0 : (double)p->bytes;
}

typedef struct hb_unit {
    flow_addr_t host, dst; /* dst: the address, or the /24 for net units */
    flow_addr_t first_dst; /* net units: to know whether more than one address was seen */
    uint16_t port;
    uint8_t proto;
    uint8_t multi_dst;
    uint8_t net;     /* a (host, /24, port, proto) unit */
    uint32_t net_id; /* single-address units: the id of the host's /24 unit of this dst */
    hb_pt_t *pts;
    uint32_t n;
    uint64_t dropped; /* over max_connections */
    uint64_t bytes_out, bytes_in, stitched, unanswered;
    uint64_t last_end; /* the latest end of its connections: the answer comes after the start */
    uint32_t sampling;
} hb_unit_t;

typedef struct hb_scores {
    uint32_t n_conn, n_int;
    double med_int, mad_int, skew_int, ts;
    double med_size, mad_size, skew_size, ds;
    double coverage, consistency, dur;
    double cv, bimodal, hist;
    double period, per_r, per_p, per;
    double timing, score;
    uint32_t nz_bins;
    int hist_span; /* the histogram score came from the active span */
    uint32_t *bins;
    uint32_t n_bins;
} hb_scores_t;

/* A candidate's pictures for the HTML report, taken before its timeline is freed and binned
 * so that a pair of any size keeps about 2 KB: the intervals between connections as a
 * histogram, and the connections' bytes over time (means per time bin past HB_PIC_TL). */
#define HB_PIC_IVL 40
#define HB_PIC_TL 200

typedef struct hb_pics {
    uint32_t ivl[HB_PIC_IVL];
    uint32_t n_ivl;      /* bars used */
    uint32_t n_ivl_over; /* intervals longer than the histogram shows */
    float ivl_w;         /* bar width, s (1, 2 or 5 times a power of ten); 0: no histogram */
    float tl_t[HB_PIC_TL], tl_b[HB_PIC_TL]; /* s after the first connection, bytes */
    uint32_t n_tl;
    int tl_binned;
} hb_pics_t;

typedef struct hb_cand {
    hb_unit_t u; /* pts freed; counters kept */
    hb_scores_t s;
    hb_pics_t pics;
    uint64_t first, last;
    int net;
    uint32_t fanout; /* destinations of this host's beacon-like timelines on the same port */
    uint32_t fleet;  /* hosts with this timer (port, proto, period) towards 3+ destinations */
    uint32_t timer_hosts; /* hosts with this timer, whatever their destinations */
    int untimed;     /* sampled: let in by size regularity and persistence, not timing */
} hb_cand_t;

/* The timer of a candidate: its period when significant, else its median interval (s). */
static double hb_cand_period(const hb_cand_t *c)
{
    return c->s.per > 0 ? c->s.period : c->s.med_int;
}

/* A connection of a unit, as fed: the units' timelines are made contiguous only when the
 * partition ends (hb_part_end), so feeding is an append, not a growing array per unit (a
 * malloc and reallocs for each of a day's million units, most of them one connection). */
typedef struct hb_ptrec {
    uint32_t unit;
    hb_pt_t pt;
} hb_ptrec_t;

/* ---- the units' index --------------------------------------------------------------------
 * Unit ids by key, given in insertion order (0, 1, 2, ...) as hj_intern gives them, so the
 * units, and every output, keep the feeding order. It is an open-addressing table (linear
 * probing, at most half full) of (upper 32 bits of the hash) << 32 | (id + 1), 0 when empty,
 * that keeps no copy of the keys: a probe compares with the unit itself, which the feed updates
 * anyway, so a lookup costs the slot and the unit where hj_intern's key arena cost a third
 * cache miss (interning was most of the feed's time). */
typedef struct hb_index {
    uint64_t *slots;
    size_t mask; /* slots - 1, a power of two; 0 before the first key */
    size_t n;
} hb_index_t;

#define HB_INDEX_MAX 0xffffffffu /* ids fit the uint32_t of hb_ptrec_t */

static uint64_t hb_key_hash(const flow_addr_t *host, const flow_addr_t *dst, uint16_t port,
                            uint8_t proto, uint8_t net)
{
    uint64_t w[4], h = (uint64_t)port << 16 | (uint64_t)proto << 8 | net;
    memcpy(w, host->b, 16);
    memcpy(w + 2, dst->b, 16);
    for (int i = 0; i < 4; i++) {
        h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static uint64_t hb_unit_hash(const hb_unit_t *u)
{
    return hb_key_hash(&u->host, &u->dst, u->port, u->proto, u->net);
}

static void hb_index_place(hb_index_t *x, uint64_t h, uint64_t id)
{
    size_t i = (size_t)h & x->mask;
    while (x->slots[i])
        i = (i + 1) & x->mask;
    x->slots[i] = (h >> 32) << 32 | (id + 1);
}

/* Doubles the table, placing units[0..n) again. */
static void hb_index_grow(hb_index_t *x, const hb_unit_t *units)
{
    size_t cap = x->mask ? (x->mask + 1) * 2 : 1024;
    free(x->slots);
    x->slots = hj_xcalloc(cap, sizeof *x->slots);
    x->mask = cap - 1;
    for (size_t id = 0; id < x->n; id++)
        hb_index_place(x, hb_unit_hash(&units[id]), id);
}

static void hb_index_free(hb_index_t *x)
{
    free(x->slots);
    memset(x, 0, sizeof *x);
}

#define HB_LAG 16 /* conversations fed ahead of the one counted */

typedef struct hb_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    hb_index_t index;
    hj_vec_t units; /* hb_unit_t, by id; pts set in hb_part_end */
    hunt_conv_t lag[HB_LAG]; /* conversations fed and not yet counted (hb_lag_push) */
    uint64_t lag_h[HB_LAG];  /* their units' hashes */
    size_t lag_n;            /* fed since the last drain */
    /* Every unit's connections in feeding order, then by unit (hb_part_end). Neither is kept
     * from pass to pass: memory_mb bounds a pass's records and conversations, and what the
     * hunts keep between passes comes on top (keeping these cost ~200 MB of peak on 20 M
     * flows in four passes). */
    hb_ptrec_t *pv;
    size_t pn, pcap;
    hj_vec_t cands; /* hb_cand_t */
    uint64_t scored, dropped_total;
    int workers; /* threads that score the units at the end of a partition */
} hb_state_t;

#define HB_MAX_WORKERS 16
_Static_assert(HB_MAX_WORKERS <= CMD_PAR_MAX, "cmd_par_each would start fewer");

static void *hb_create(const hunt_ctx_t *ctx)
{
    hb_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    s->workers = ctx->cfg->workers > 0 ? (int)ctx->cfg->workers : cmd_workers();
    if (s->workers > HB_MAX_WORKERS)
        s->workers = HB_MAX_WORKERS;
    hj_vec_init(&s->units, sizeof(hb_unit_t));
    hj_vec_init(&s->cands, sizeof(hb_cand_t));
    return s;
}

static flow_addr_t hb_net24(const flow_addr_t *a)
{
    flow_addr_t n = *a;
    if (flow_addr_is_v4(a))
        n.b[15] = 0;
    else
        memset(n.b + 8, 0, 8);
    return n;
}

static uint64_t hb_conv_hash(const hunt_conv_t *c, int net)
{
    flow_addr_t dst = net ? hb_net24(&c->resp) : c->resp;
    return hb_key_hash(&c->orig, &dst, c->resp_port, c->proto, (uint8_t)net);
}

/* The id of c's unit (its /24 unit when net; h: hb_conv_hash), created when new (*is_new
 * set). */
static uint32_t hb_unit_id(hb_state_t *s, const hunt_conv_t *c, int net, uint64_t h, int *is_new)
{
    *is_new = 0;
    flow_addr_t dst = net ? hb_net24(&c->resp) : c->resp;
    hb_index_t *x = &s->index;
    hb_unit_t *units = s->units.v;
    for (size_t i = (size_t)h & x->mask; x->mask && x->slots[i]; i = (i + 1) & x->mask) {
        uint64_t sl = x->slots[i];
        const hb_unit_t *u = &units[(sl & 0xffffffffu) - 1];
        if (sl >> 32 == h >> 32 && u->port == c->resp_port && u->proto == c->proto &&
            u->net == net && memcmp(u->host.b, c->orig.b, 16) == 0 &&
            memcmp(u->dst.b, dst.b, 16) == 0)
            return (uint32_t)((sl & 0xffffffffu) - 1);
    }
    if (x->n >= HB_INDEX_MAX) {
        fprintf(stderr, "flowhunt: beacon: more than %u units in one pass\n", HB_INDEX_MAX);
        exit(2);
    }
    *is_new = 1;
    uint32_t id = (uint32_t)x->n++;
    hb_unit_t *u = hj_vec_at(&s->units, id);
    u->host = c->orig;
    u->dst = dst;
    u->first_dst = c->resp;
    u->port = c->resp_port;
    u->proto = c->proto;
    u->net = (uint8_t)net;
    if (x->n * 2 > x->mask + 1)
        hb_index_grow(x, s->units.v); /* places the new unit too */
    else
        hb_index_place(x, h, id);
    return id;
}

/* Counts conversation c in unit `id`. */
static void hb_count(hb_state_t *s, uint32_t id, const hunt_conv_t *c)
{
    hb_unit_t *u = (hb_unit_t *)s->units.v + id;
    if (memcmp(u->first_dst.b, c->resp.b, 16) != 0)
        u->multi_dst = 1;
    if (u->n >= (uint32_t)s->cfg->b_max_conn) {
        u->dropped++;
        return;
    }
    if (s->pn == s->pcap) {
        s->pcap = s->pcap ? s->pcap * 2 : 65536;
        s->pv = hj_xrealloc(s->pv, s->pcap * sizeof *s->pv);
    }
    s->pv[s->pn++] = (hb_ptrec_t){
        id, {c->t_start, c->pkts_out || !c->pkts_in ? c->bytes_out : HB_BYTES_UNKNOWN}};
    u->n++;
    u->bytes_out += c->bytes_out;
    u->bytes_in += c->bytes_in;
    u->stitched += c->n_records > 2;
    u->unanswered += !c->answered;
    if (c->t_end > u->last_end)
        u->last_end = c->t_end;
    if (c->sampling > u->sampling)
        u->sampling = c->sampling;
}

/* Counts conversation c (h: hb_conv_hash(c, 0)) in its units. */
static void hb_take(hb_state_t *s, const hunt_conv_t *c, uint64_t h)
{
    /* A single-address unit and its /24 unit are created together, so a known address unit
     * names its /24 unit and one lookup serves both (ids are given in the same order). */
    int is_new, net_new;
    uint32_t id = hb_unit_id(s, c, 0, h, &is_new), net_id;
    if (is_new) {
        net_id = hb_unit_id(s, c, 1, hb_conv_hash(c, 1), &net_new);
        ((hb_unit_t *)s->units.v + id)->net_id = net_id;
    } else {
        net_id = ((hb_unit_t *)s->units.v + id)->net_id;
    }
    hb_count(s, id, c);
    hb_count(s, net_id, c);
}

/* Brings the unit of hash h, when it is the first in its probe sequence, into the cache. */
static void hb_prefetch_unit(const hb_state_t *s, uint64_t h)
{
    if (!s->index.mask)
        return;
    uint64_t sl = s->index.slots[h & s->index.mask];
    if (sl && sl >> 32 == h >> 32)
        __builtin_prefetch((const hb_unit_t *)s->units.v + (sl & 0xffffffffu) - 1);
}

/* Feeding waits on memory: the index slot of a conversation's unit, then the unit, both
 * anywhere in tables of tens of megabytes. So a conversation is counted HB_LAG feeds after it
 * arrives: its slot is fetched when it arrives, its unit half-way, and both are in cache when
 * it is counted. Conversations are counted in arrival order, so ids and timelines are those
 * of counting at once; hb_part_end counts the last ones (hb_lag_drain). */
static void hb_lag_push(hb_state_t *s, const hunt_conv_t *c)
{
    uint64_t h = hb_conv_hash(c, 0);
    if (s->index.mask)
        __builtin_prefetch(&s->index.slots[h & s->index.mask]);
    size_t k = s->lag_n % HB_LAG; /* the oldest waiting, when the lag is full */
    if (s->lag_n >= HB_LAG)
        hb_take(s, &s->lag[k], s->lag_h[k]);
    s->lag[k] = *c;
    s->lag_h[k] = h;
    s->lag_n++;
    if (s->lag_n > HB_LAG / 2)
        hb_prefetch_unit(s, s->lag_h[(s->lag_n - 1 - HB_LAG / 2) % HB_LAG]);
}

static void hb_lag_drain(hb_state_t *s)
{
    for (size_t i = s->lag_n > HB_LAG ? s->lag_n - HB_LAG : 0; i < s->lag_n; i++)
        hb_take(s, &s->lag[i % HB_LAG], s->lag_h[i % HB_LAG]);
    s->lag_n = 0;
}

static void hb_feed(void *st, const hunt_conv_t *c)
{
    hb_state_t *s = st;
    if (!c->orig_internal)
        return;
    /* Failed attempts stay: an implant calling a dead C2 still calls on schedule (the NjRAT
     * capture's C2 never answered). Retransmissions are one record, so they are one attempt;
     * a scanner's attempts spread over many units, each too short to score. */
    /* An approved resolver's recursion is its job, and its clients' DNS to it is theirs (the
     * DNS hunt says the same: a workstation's lookups every 23 s were a Medium beacon with
     * "block it" for the network's own resolver); the resolvers in practice are known only at
     * finish (hb_finish). */
    if (c->resp_port == 53 &&
        (hc_is_resolver(s->cfg, &c->orig) || hc_is_resolver(s->cfg, &c->resp)))
        return;
    hb_lag_push(s, c);
}

/* ---- statistics ------------------------------------------------------------------------------ */

#define HB_SORT_SMALL 32 /* shorter arrays: insertion sort */

/* Sorts v[0..n) ascending. The values are intervals and byte counts, never negative nor NaN,
 * so their bit patterns order as the numbers do and a radix sort by bytes applies: linear
 * whatever the timeline (a timeline crafted against a comparison sort cannot make it
 * quadratic), and without qsort's call per comparison (a fifth of the scoring's time went
 * to sorting). Any sort gives the same array, value for value. */
static void hb_sort_d(double *v, size_t n)
{
    if (n <= HB_SORT_SMALL) {
        for (size_t i = 1; i < n; i++) {
            double x = v[i];
            size_t j = i;
            for (; j > 0 && v[j - 1] > x; j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
        return;
    }
    uint64_t *buf = hj_xmalloc(2 * n * sizeof *buf), *a = buf, *b = buf + n;
    for (size_t i = 0; i < n; i++)
        memcpy(&a[i], &v[i], 8);
    for (int shift = 0; shift < 64; shift += 8) {
        size_t at[256] = {0};
        for (size_t i = 0; i < n; i++)
            at[a[i] >> shift & 255]++;
        if (at[a[0] >> shift & 255] == n) /* one digit everywhere: nothing to move */
            continue;
        for (size_t d = 0, sum = 0; d < 256; d++) {
            size_t c = at[d];
            at[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[at[a[i] >> shift & 255]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(&v[i], &a[i], 8);
    free(buf);
}

/* Quantile of sorted v[0..n) with linear interpolation. */
static double hb_q(const double *v, size_t n, double p)
{
    double pos = p * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (v[i + 1] - v[i]) * (pos - (double)i);
}

/* The median absolute deviation from q2 of sorted v[0..n) (hb_q's median of the sorted
 * deviations), without sorting them: the deviations of the values below q2 grow leftwards and
 * those of the others rightwards (rounding is monotone), so the two runs are merged up to the
 * median's two ranks. */
static double hb_mad(const double *v, size_t n, double q2)
{
    size_t hi = 0;
    while (hi < n && v[hi] < q2)
        hi++;
    size_t lo = hi; /* next below: v[lo - 1]; next above: v[hi] */
    double pos = 0.5 * (double)(n - 1), at[2] = {0, 0};
    size_t i = (size_t)pos;
    for (size_t r = 0; r < n && r <= i + 1; r++) {
        double x;
        if (lo > 0 && (hi >= n || fabs(v[lo - 1] - q2) <= fabs(v[hi] - q2)))
            x = fabs(v[--lo] - q2);
        else
            x = fabs(v[hi++] - q2);
        if (r >= i)
            at[r - i] = x;
    }
    if (i + 1 >= n)
        return at[0];
    return at[0] + (at[1] - at[0]) * (pos - (double)i);
}

/* RITA's pair of dispersion scores over sorted v: (1 - |Bowley skew|, (median - MAD)/median). */
static void hb_rita(const double *v, size_t n, double iqr_guard, double small_default,
                    double *skew_out, double *med_out, double *mad_out, double *score)
{
    double q1 = hb_q(v, n, 0.25), q2 = hb_q(v, n, 0.5), q3 = hb_q(v, n, 0.75);
    double skew = 0;
    if (q3 - q1 >= iqr_guard && q2 != q1 && q2 != q3)
        skew = (q1 + q3 - 2 * q2) / (q3 - q1);
    double mad = hb_mad(v, n, q2);
    double mad_score = q2 >= 1 ? (q2 - mad) / q2 : small_default;
    if (!(mad_score > 0))
        mad_score = 0;
    *skew_out = skew;
    *med_out = q2;
    *mad_out = mad;
    *score = ((1 - fabs(skew)) + mad_score) / 2;
}

/* The least-squares period over the intervals near a multiple of T (T when none is). */
static double hb_refine(const double *d, size_t n, double T)
{
    double sum_d = 0, sum_k = 0;
    for (size_t i = 0; i < n; i++) {
        double k = floor(d[i] / T + 0.5);
        if (k < 1)
            k = 1;
        if (fabs(d[i] / T - k) < 0.25) {
            sum_d += d[i];
            sum_k += k;
        }
    }
    return sum_k > 0 ? sum_d / sum_k : T;
}

/* Rayleigh test p-value (Zar's approximation, good for small n). */
static double hb_rayleigh_p(double rbar, size_t n)
{
    double nn = (double)n, rn = rbar * nn;
    double p = exp(sqrt(1 + 4 * nn + 4 * (nn * nn - rn * rn)) - (1 + 2 * nn));
    return p > 1 ? 1 : p;
}

/* How far the phases of d[0..n) against period T are from those of a memoryless timer, as the
 * mean resultant length Rayleigh's test would need for the same evidence.
 *
 * Rayleigh's test asks whether phases are uniform, but the candidate periods come from the
 * intervals' own quantiles, and against such a period random (Poisson) arrivals are not
 * uniform: intervals of an exponential law with mean mu have the mean phase vector of its
 * characteristic function at w = 2 pi / T, (1, w mu) / (1 + (w mu)^2), about 0.11 long at a
 * median-interval period. With a thousand intervals that alone passed the test (p 1e-9 for a
 * host connecting at random, a beacon then High). So the test is Rayleigh's around that
 * vector: Q = n d' S^-1 d, d the mean vector less the memoryless one, S the memoryless law's
 * covariance of (cos, sin) (from its characteristic function at w and 2 w); chi-square with 2
 * degrees of freedom, as Rayleigh's 2 n R^2 is. Returned as R = sqrt(Q / 2 n), so that
 * hb_rayleigh_p keeps its small-sample form; for periods far shorter than the mean interval
 * (w mu large) the memoryless vector vanishes, S is I / 2, and this is R itself: a real
 * timer's phases, concentrated near 0, lose almost nothing. (mc, ms): the mean phase vector
 * at T, as the candidates' search summed it. */
static double hb_beyond_memoryless(const double *d, size_t n, double T, double mc, double ms)
{
    double mu = 0;
    for (size_t i = 0; i < n; i++)
        mu += d[i];
    double a = 2 * M_PI / T * (mu / (double)n), a2 = a * a;
    double c1 = 1 / (1 + a2), s1 = a / (1 + a2);             /* E cos, E sin */
    double c2 = 1 / (1 + 4 * a2), s2 = 2 * a / (1 + 4 * a2); /* E cos 2, E sin 2 */
    double vc = (1 + c2) / 2 - c1 * c1, vs = (1 - c2) / 2 - s1 * s1, cv = s2 / 2 - c1 * s1;
    double det = vc * vs - cv * cv, dc = mc - c1, ds = ms - s1;
    if (!(det > 1e-12))
        return sqrt(mc * mc + ms * ms);
    double q = (double)n * (vs * dc * dc - 2 * cv * dc * ds + vc * ds * ds) / det;
    double r = sqrt(q / (2 * (double)n));
    return r < 1 ? r : 1; /* hb_rayleigh_p's range */
}

/* The periodicity test over the intervals d[0..n) in time order (sorted: the same, sorted). */
static void hb_periodicity(const hunt_config_t *cfg, const double *sorted, const double *d,
                           size_t n, hb_scores_t *sc)
{
    sc->period = sc->per_r = sc->per = 0;
    sc->per_p = 1;
    if (n < 3)
        return;
    size_t max = (size_t)cfg->b_per_max;
    double *recent = NULL;
    if (n > max) {
        /* only the most recent intervals, and the candidate periods from their quantiles:
         * the first `max` of all sorted are the shortest, whose quantiles miss a period that
         * earlier bursts of short intervals outnumber */
        d += n - max;
        n = max;
        recent = hj_xmalloc(n * sizeof *recent);
        memcpy(recent, d, n * sizeof *recent);
        hb_sort_d(recent, n);
        sorted = recent;
    }
    const double qs[3] = {hb_q(sorted, n, 0.1), hb_q(sorted, n, 0.25), hb_q(sorted, n, 0.5)};
    free(recent);
    double best_r = 0;
    double cand_t[12], cand_r[12], cand_c[12], cand_s[12]; /* period, |mean|, mean vector */
    int nc = 0;
    for (int i = 0; i < 3; i++)
        for (int k = 1; k <= 4; k++) {
            double T = qs[i] / k;
            if (T * 1000.0 < cfg->b_min_interval_ms || T <= 0)
                continue;
            double t = hb_refine(d, n, T);
            /* candidates repeat (a steady timer's quantiles are equal, close periods refine
             * to one): the phases of a period already tried are not summed again */
            int j = 0;
            while (j < nc && cand_t[j] != t)
                j++;
            if (j < nc) {
                cand_c[nc] = cand_c[j];
                cand_s[nc] = cand_s[j];
            } else {
                hph_mean_vector(d, n, t, &cand_c[nc], &cand_s[nc]);
            }
            cand_t[nc] = t;
            /* concentration at phase 0, where a multiple of T puts every interval: the mean
             * vector's length alone took phases bunched at half a turn (intervals of 1.5 T
             * and 2.5 T, NjRAT's retries) for a period of 5.7 s that no interval is a
             * multiple of, with 246 "missed" check-ins */
            cand_r[nc] = cand_c[nc] > 0 ? cand_c[nc] : 0;
            if (cand_r[nc] > best_r)
                best_r = cand_r[nc];
            nc++;
        }
    /* The fundamental is the longest period whose phases are about as concentrated as the
     * best: its divisors concentrate the phases just as well, its multiples do not. */
    double T = 0, R = 0;
    int at = -1;
    for (int i = 0; i < nc; i++)
        if (cand_r[i] >= 0.9 * best_r && cand_t[i] > T) {
            T = cand_t[i];
            R = cand_r[i];
            at = i;
        }
    sc->period = T;
    sc->per_r = R;
    /* Bonferroni over the candidates tried: the best of twelve looks is not one look */
    sc->per_p =
        (at >= 0 ? hb_rayleigh_p(hb_beyond_memoryless(d, n, T, cand_c[at], cand_s[at]), n) : 1) *
        nc;
    if (sc->per_p > 1)
        sc->per_p = 1;
    sc->per = sc->per_p < cfg->b_alpha ? R : 0;
}

/* RITA's histogram score of u's timeline over [from, to) in cfg->b_hist_bins bins:
 * max(1 - CV of the counts, the bimodal fit). bins[] receives the counts. */
static double hb_hist(const hunt_config_t *cfg, const hb_unit_t *u, uint64_t from, uint64_t to,
                      uint32_t *bins, uint32_t *nz_out, double *cv_out, double *bimodal_out)
{
    uint32_t nb = (uint32_t)cfg->b_hist_bins, n = u->n, nz = 0, maxbar = 0;
    uint64_t span = to > from ? to - from : 1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t = u->pts[i].t < from ? from : u->pts[i].t;
        uint64_t b = (uint64_t)((double)(t - from) / (double)span * nb);
        bins[b >= nb ? nb - 1 : b]++;
    }
    double mean = (double)n / nb, var = 0, bimodal = 0;
    for (uint32_t i = 0; i < nb; i++) {
        var += ((double)bins[i] - mean) * ((double)bins[i] - mean);
        nz += bins[i] > 0;
        if (bins[i] > maxbar)
            maxbar = bins[i];
    }
    double cv = mean > 0 ? sqrt(var / nb) / mean : 1;
    double cv_score = cv > 1 ? 0 : 1 - cv;
    if (nz >= (uint32_t)cfg->b_bimodal_min && maxbar > 0) {
        uint32_t width = (uint32_t)ceil(maxbar * cfg->b_bimodal_sens);
        if (width < 1)
            width = 1;
        uint32_t nbk = maxbar / width + 2, top1 = 0, top2 = 0;
        uint32_t *cnt = hj_xcalloc(nbk, sizeof *cnt);
        for (uint32_t i = 0; i < nb; i++)
            if (bins[i])
                cnt[bins[i] / width]++;
        for (uint32_t i = 0; i < nbk; i++) {
            if (cnt[i] > top1) {
                top2 = top1;
                top1 = cnt[i];
            } else if (cnt[i] > top2) {
                top2 = cnt[i];
            }
        }
        free(cnt);
        double denom = (double)nz - cfg->b_bimodal_outl;
        bimodal = (top1 + top2) / (denom < 1 ? 1 : denom);
        if (bimodal > 1)
            bimodal = 1;
    }
    *nz_out = nz;
    *cv_out = cv;
    *bimodal_out = bimodal;
    return cv_score > bimodal ? cv_score : bimodal;
}

/* u's timeline in time order: conversations arrive in time order within a pass, but sort to be
 * sure (insertion sort: nearly sorted input). */
static void hb_sort_timeline(hb_unit_t *u)
{
    for (uint32_t i = 1; i < u->n; i++)
        if (u->pts[i].t < u->pts[i - 1].t) {
            for (uint32_t j = i; j > 0 && u->pts[j].t < u->pts[j - 1].t; j--) {
                hb_pt_t t = u->pts[j];
                u->pts[j] = u->pts[j - 1];
                u->pts[j - 1] = t;
            }
        }
}

/* The histogram over the window (RITA), and over the unit's own active span: a beacon active
 * two hours of a day is as regular while it runs; duration still rewards persistence. */
static void hb_hist_dur(const hunt_config_t *cfg, uint64_t from, uint64_t to, const hb_unit_t *u,
                        hb_scores_t *sc)
{
    uint32_t nb = (uint32_t)cfg->b_hist_bins, n = u->n;
    sc->n_bins = nb;
    sc->bins = hj_xcalloc(nb, sizeof *sc->bins);
    uint64_t span = to > from ? to - from : 1;
    double cv, bimodal;
    sc->hist = hb_hist(cfg, u, from, to, sc->bins, &sc->nz_bins, &sc->cv, &sc->bimodal);
    uint32_t *tmp = hj_xcalloc(nb, sizeof *tmp), nz_span;
    double span_hist =
        hb_hist(cfg, u, u->pts[0].t, u->pts[n - 1].t + 1, tmp, &nz_span, &cv, &bimodal);
    free(tmp);
    if (span_hist > sc->hist) {
        sc->hist = span_hist;
        sc->hist_span = 1;
    }
    if (sc->nz_bins < (uint32_t)cfg->b_dur_min)
        return;
    double cov = (double)(u->pts[n - 1].t - u->pts[0].t) / (double)span;
    sc->coverage = cov > 1 ? 1 : cov;
    uint32_t best = 0, run = 0;
    for (uint32_t i = 0; i < 2 * nb; i++) { /* twice round: runs wrap */
        if (sc->bins[i % nb]) {
            run++;
            if (run > best)
                best = run;
        } else {
            run = 0;
        }
    }
    if (best > nb)
        best = nb;
    sc->consistency = best / cfg->b_dur_ideal;
    if (sc->consistency > 1)
        sc->consistency = 1;
    sc->dur = sc->coverage > sc->consistency ? sc->coverage : sc->consistency;
}

/* The beacon score for a timing score of `timing` and the other subscores of sc. */
static double hb_weighted(const hunt_config_t *cfg, const hb_scores_t *sc, double timing)
{
    return cfg->b_w_ts * timing + cfg->b_w_ds * sc->ds + cfg->b_w_dur * sc->dur +
           cfg->b_w_hist * sc->hist;
}

/* The periodicity only raises timing, to at most 1 (a mean resultant length; the margin covers
 * rounding). A unit that stays under score_base even so cannot be a candidate whatever its
 * period (hb_unit_end), and the test is most of the scoring's cost: most units are not
 * tested. The weights are not negative and rounding is monotone, so the bound holds. */
static int hb_period_matters(const hunt_config_t *cfg, const hb_scores_t *sc)
{
    double most = sc->ts > 1 ? sc->ts : 1 + 1e-6;
    return hb_weighted(cfg, sc, most) >= cfg->b_base;
}

static void hb_score(const hunt_config_t *cfg, uint64_t from, uint64_t to, hb_unit_t *u,
                     hb_scores_t *sc)
{
    memset(sc, 0, sizeof *sc);
    uint32_t n = u->n;
    sc->n_conn = n;
    hb_sort_timeline(u);
    double *d = hj_xmalloc(n * sizeof *d), *ds = hj_xmalloc(n * sizeof *ds);
    size_t nk = 0;
    for (uint32_t i = 0; i < n; i++)
        if (u->pts[i].bytes != HB_BYTES_UNKNOWN)
            ds[nk++] = (double)u->pts[i].bytes;
    hb_sort_d(ds, nk);
    /* The guard is in bytes on the wire; sampled counters are scaled by 1:N, so a check-in
     * varying by a few bytes varies by N times that here, and the guard scales with them: at
     * 1:100 a 209-215-byte request spread over 300 "bytes", past a 10-byte guard, and the
     * noise of its Bowley skew took the size score of a 35 s beacon from 1 to 0.83. */
    if (nk >= 3)
        hb_rita(ds, nk, cfg->b_size_iqr_guard * (u->sampling > 1 ? u->sampling : 1), 0.0,
                &sc->skew_size, &sc->med_size, &sc->mad_size, &sc->ds);
    size_t nd = 0;
    for (uint32_t i = 1; i < n; i++) {
        uint64_t dt = u->pts[i].t - u->pts[i - 1].t;
        if ((double)dt >= cfg->b_min_interval_ms && dt > 0)
            d[nd++] = (double)dt / 1000.0;
    }
    sc->n_int = (uint32_t)nd;
    if (nd >= 3) {
        memcpy(ds, d, nd * sizeof *d);
        hb_sort_d(ds, nd);
        hb_rita(ds, nd, cfg->b_iqr_guard_s, 1.0, &sc->skew_int, &sc->med_int, &sc->mad_int,
                &sc->ts);
    }
    hb_hist_dur(cfg, from, to, u, sc);
    if (nd >= 3 && hb_period_matters(cfg, sc))
        hb_periodicity(cfg, ds, d, nd, sc);
    free(d);
    free(ds);
    sc->timing = sc->ts > sc->per ? sc->ts : sc->per;
    sc->score = hb_weighted(cfg, sc, sc->timing);
}

/* The pictures of u (its timeline sorted by hb_score): the histogram spans 0 to four median
 * intervals, so the period and up to three missed check-ins show and one long pause does not
 * flatten the rest, in at most HB_PIC_IVL bars of a round width so the axis reads well;
 * intervals are those the score used (at least min_interval_ms). */
static void hb_pics_take(const hunt_config_t *cfg, const hb_unit_t *u, const hb_scores_t *sc,
                         hb_pics_t *p)
{
    memset(p, 0, sizeof *p);
    double hi = 0;
    for (uint32_t i = 1; i < u->n; i++) {
        double dt = (double)(u->pts[i].t - u->pts[i - 1].t) / 1000.0;
        if (dt > hi)
            hi = dt;
    }
    if (sc->med_int > 0 && hi > 4 * sc->med_int)
        hi = 4 * sc->med_int;
    if (hi > 0) {
        double raw = hi / HB_PIC_IVL, e = pow(10, floor(log10(raw))), m = raw / e;
        double w = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
        p->ivl_w = (float)w;
        p->n_ivl = (uint32_t)ceil(hi / w);
        if (p->n_ivl > HB_PIC_IVL)
            p->n_ivl = HB_PIC_IVL;
    }
    for (uint32_t i = 1; i < u->n && p->n_ivl > 0; i++) {
        uint64_t dt = u->pts[i].t - u->pts[i - 1].t;
        if ((double)dt < cfg->b_min_interval_ms || dt == 0)
            continue;
        double s = (double)dt / 1000.0, b = s / p->ivl_w;
        if (s > hi)
            p->n_ivl_over++;
        else
            p->ivl[b >= p->n_ivl ? p->n_ivl - 1 : (uint32_t)b]++;
    }
    uint64_t t0 = u->pts[0].t, span = u->pts[u->n - 1].t - t0;
    if (u->n <= HB_PIC_TL) {
        for (uint32_t i = 0; i < u->n; i++) {
            p->tl_t[i] = (float)((double)(u->pts[i].t - t0) / 1000.0);
            p->tl_b[i] = (float)hb_pt_bytes(&u->pts[i]);
        }
        p->n_tl = u->n;
        return;
    }
    /* binned: the mean time and mean bytes of the connections of each bin that has any */
    double st[HB_PIC_TL] = {0}, sb[HB_PIC_TL] = {0};
    uint32_t cnt[HB_PIC_TL] = {0};
    for (uint32_t i = 0; i < u->n; i++) {
        uint64_t b = (u->pts[i].t - t0) * HB_PIC_TL / (span + 1);
        st[b] += (double)(u->pts[i].t - t0) / 1000.0;
        sb[b] += hb_pt_bytes(&u->pts[i]);
        cnt[b]++;
    }
    for (uint32_t b = 0; b < HB_PIC_TL; b++)
        if (cnt[b]) {
            p->tl_t[p->n_tl] = (float)(st[b] / cnt[b]);
            p->tl_b[p->n_tl] = (float)(sb[b] / cnt[b]);
            p->n_tl++;
        }
    p->tl_binned = 1;
}

_Static_assert(HB_PIC_IVL <= HB_PIC_TL, "hb_pics_attach's buffers hold either picture");

/* Attaches the pictures to f; t0 is the first connection (ms). */
static void hb_pics_attach(hunt_finding_t *f, const hb_pics_t *p, uint64_t t0)
{
    double x[HB_PIC_TL], y[HB_PIC_TL];
    char title[64];
    if (p->n_ivl > 0) {
        for (uint32_t i = 0; i < p->n_ivl; i++) {
            x[i] = (double)p->ivl_w * i;
            y[i] = p->ivl[i];
        }
        if (p->n_ivl_over)
            snprintf(title, sizeof title, "Intervals between connections (%u longer not shown)",
                     p->n_ivl_over);
        else
            snprintf(title, sizeof title, "Intervals between connections");
        hunt_finding_series(f, HUNT_SERIES_BARS, title, "s", "intervals", x, y, p->n_ivl);
    }
    for (uint32_t i = 0; i < p->n_tl; i++) {
        x[i] = (double)t0 + (double)p->tl_t[i] * 1000.0;
        y[i] = p->tl_b[i];
    }
    hunt_finding_series(f, HUNT_SERIES_POINTS,
                        p->tl_binned ? "Connections over time (mean bytes per time bin)"
                                     : "Connections over time (bytes out of each)",
                        "ms since epoch", "bytes", x, y, p->n_tl);
}

/* ---- end of a partition: every unit scored, on every core ------------------------------------
 * Units are independent once their timelines are contiguous (each timeline is a disjoint slice
 * of one array, sorted in place), so they are scored in chunks of consecutive units taken by
 * the workers from a shared counter; each chunk keeps its own candidates and counts, and the
 * chunks are joined in unit order. Every unit is scored by the same code on the same data
 * whichever thread takes it, so the candidates, their order and every number are those of one
 * thread. The beacon hunt's end of a partition otherwise ran alone while the other hunts,
 * cheaper, had long finished theirs. */

#define HB_UNIT_WEIGHT 16       /* a unit's fixed cost in connections, for sizing the chunks */
#define HB_CHUNKS_PER_WORKER 32 /* chunks are taken dynamically: uneven units still balance */
#define HB_PAR_MIN 65536        /* less weight than this: one thread (a thread is not worth it) */

typedef struct hb_chunk {
    size_t lo, hi;  /* units [lo, hi) */
    hj_vec_t cands; /* hb_cand_t, in unit order */
    uint64_t scored, dropped;
} hb_chunk_t;

typedef struct hb_pool {
    const hb_state_t *s;
    hb_unit_t *units;
    hb_chunk_t *ch;
    size_t n_ch;
} hb_pool_t;

/* Scores unit u (its timeline contiguous) and keeps it in ch when it is a candidate. */
static void hb_unit_end(const hb_state_t *s, hb_unit_t *u, hb_chunk_t *ch)
{
    const hunt_config_t *cfg = s->cfg;
    ch->dropped += u->dropped;
    /* a /24 unit only matters when the network held several of the host's destinations */
    if (u->net && !u->multi_dst)
        return;
    if (u->n < (uint32_t)cfg->b_min_conn)
        return;
    hb_scores_t sc;
    hb_score(cfg, s->ctx->from_ms, s->ctx->to_ms, u, &sc);
    ch->scored++;
    /* No beacon without timing evidence: a significant period, or RITA's timing score above
     * what random (Poisson) arrivals reach. Size regularity, coverage and an even histogram
     * alone describe any busy, steady pair. */
    int timed = sc.per > 0 || sc.ts >= cfg->b_ts_min;
    /* Under heavy sampling a jittered timer's surviving check-ins lose their phase (k*T
     * apart, the jitter summed over k sleeps): what survives is the regular size and the
     * persistence, which then stand in for timing, capped (hb_finding). */
    int untimed = !timed && u->sampling >= cfg->b_sampled_min && sc.ds >= cfg->b_sampled_ds &&
                  sc.dur >= cfg->b_sampled_dur;
    if (!(timed || untimed) || sc.score < cfg->b_base) {
        free(sc.bins);
        return;
    }
    hb_cand_t *c = hj_vec_at(&ch->cands, ch->cands.n);
    c->u = *u;
    c->u.pts = NULL;
    c->s = sc;
    c->untimed = untimed;
    c->first = u->pts[0].t;
    c->last = u->pts[u->n - 1].t;
    c->net = u->net;
    hb_pics_take(cfg, u, &sc, &c->pics);
}

static void hb_score_chunk(void *arg, size_t k)
{
    hb_pool_t *p = arg;
    hb_chunk_t *ch = &p->ch[k];
    for (size_t i = ch->lo; i < ch->hi; i++)
        hb_unit_end(p->s, &p->units[i], ch);
}

/* Cuts units[0..nu) into chunks of about equal weight (connections plus a fixed cost per
 * unit), enough of them per worker that the last ones taken even out; returns how many. */
static size_t hb_chunks(const hb_unit_t *units, size_t nu, int workers, hb_chunk_t **out)
{
    uint64_t total = 0;
    for (size_t i = 0; i < nu; i++)
        total += units[i].n + HB_UNIT_WEIGHT;
    size_t want = total < HB_PAR_MIN ? 1 : (size_t)workers * HB_CHUNKS_PER_WORKER;
    uint64_t per = total / want + 1;
    hb_chunk_t *ch = hj_xcalloc(want + 1, sizeof *ch);
    size_t n = 0;
    uint64_t w = 0;
    for (size_t i = 0; i < nu; i++) {
        if (w == 0)
            ch[n].lo = i;
        w += units[i].n + HB_UNIT_WEIGHT;
        if (w >= per || i + 1 == nu) {
            ch[n++].hi = i + 1;
            w = 0;
        }
    }
    for (size_t i = 0; i < n; i++)
        hj_vec_init(&ch[i].cands, sizeof(hb_cand_t));
    *out = ch;
    return n;
}

/* Scores units[0..nu) on s->workers threads (this one included) into s->cands. */
static void hb_score_units(hb_state_t *s, hb_unit_t *units, size_t nu)
{
    hb_pool_t p = {.s = s, .units = units};
    p.n_ch = hb_chunks(units, nu, s->workers, &p.ch);
    cmd_par_each(hb_score_chunk, &p, p.n_ch, s->workers);
    for (size_t k = 0; k < p.n_ch; k++) { /* joined in unit order */
        hb_chunk_t *ch = &p.ch[k];
        s->scored += ch->scored;
        s->dropped_total += ch->dropped;
        if (ch->cands.n) {
            size_t at = s->cands.n;
            hj_vec_at(&s->cands, at + ch->cands.n - 1);
            memcpy((hb_cand_t *)s->cands.v + at, ch->cands.v, ch->cands.n * sizeof(hb_cand_t));
        }
        hj_vec_free(&ch->cands);
    }
    free(p.ch);
}

static void hb_part_end(void *st)
{
    hb_state_t *s = st;
    hb_lag_drain(s);
    /* every unit's timeline made contiguous: a counting sort of the connections by unit,
     * stable, so each timeline stays in feeding (time) order */
    size_t nu = s->units.n;
    hb_unit_t *units = s->units.v;
    hb_pt_t *all = hj_xmalloc((s->pn ? s->pn : 1) * sizeof *all);
    size_t *at = hj_xmalloc((nu ? nu : 1) * sizeof *at);
    for (size_t i = 0, sum = 0; i < nu; i++) {
        at[i] = sum;
        units[i].pts = all + sum;
        sum += units[i].n;
    }
    for (size_t i = 0; i < s->pn; i++)
        all[at[s->pv[i].unit]++] = s->pv[i].pt;
    free(at);
    free(s->pv); /* before scoring: its peak is the timelines alone */
    s->pv = NULL;
    s->pn = s->pcap = 0;
    hb_score_units(s, units, nu);
    free(all); /* the candidates keep no timeline (hb_unit_end) */
    hj_vec_free(&s->units);
    hj_vec_init(&s->units, sizeof(hb_unit_t));
    hb_index_free(&s->index);
}

static double hb_bucket(const hunt_config_t *cfg, double x)
{
    if (x < cfg->b_base)
        return 0;
    if (x < cfg->b_low)
        return 0.2 + 0.2 * (x - cfg->b_base) / (cfg->b_low - cfg->b_base);
    if (x < cfg->b_medium)
        return 0.4 + 0.2 * (x - cfg->b_low) / (cfg->b_medium - cfg->b_low);
    double v = 0.6 + 0.2 * (x - cfg->b_medium) / (1 - cfg->b_medium);
    return v > 0.8 ? 0.8 : v;
}

static int hb_risk(double final)
{
    return final > 0.8    ? HUNT_RISK_CRITICAL
           : final >= 0.6 ? HUNT_RISK_HIGH
           : final >= 0.4 ? HUNT_RISK_MEDIUM
           : final >= 0.2 ? HUNT_RISK_LOW
                          : HUNT_RISK_NONE;
}

static void hb_fmt_g(char *b, size_t cap, double v)
{
    snprintf(b, cap, "%.3g", v);
}

static void hb_finding(hb_state_t *s, hb_cand_t *c, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    const hunt_ctx_t *ctx = s->ctx;
    hb_unit_t *u = &c->u;
    hb_scores_t *sc = &c->s;
    double bucket = hb_bucket(cfg, sc->score);
    /* modifiers */
    uint64_t pop = ctx->prevalence(ctx->prep_state, NULL, 0);
    uint64_t users = ctx->prevalence(ctx->prep_state, &u->dst, c->net);
    double prev_mod = 0, frac = pop ? (double)users / (double)pop : 0;
    int prev_used = pop >= (uint64_t)cfg->b_prev_min_hosts;
    if (prev_used) {
        if (frac <= cfg->b_prev_rare)
            prev_mod = cfg->b_prev_bonus;
        else if (frac >= cfg->b_prev_common)
            prev_mod = -cfg->b_prev_penalty;
        else {
            double x = (log(frac) - log(cfg->b_prev_rare)) /
                       (log(cfg->b_prev_common) - log(cfg->b_prev_rare));
            prev_mod = cfg->b_prev_bonus - x * (cfg->b_prev_bonus + cfg->b_prev_penalty);
        }
    }
    int nonstd = !hc_port_standard(cfg, u->proto, u->port) && (u->proto == 6 || u->proto == 17);
    /* T1571 is a port chosen to slip past filtering; one that many hosts use to this
     * destination is the service's own (STUN 3478, MQTT 8883): still named, not a bonus */
    int port_common = users > (uint64_t)cfg->b_port_max_hosts;
    double port_mod = nonstd && !port_common ? cfg->b_port_bonus : 0;
    int internal_dst = hc_is_internal(cfg, &u->dst) != 0;
    double int_mod = internal_dst ? -cfg->b_int_penalty : 0;
    double final = bucket + prev_mod + port_mod + int_mod;
    int risk = hb_risk(final), capped = 0;
    if (!prev_used && risk > (int)cfg->b_unk_prev_risk) {
        risk = (int)cfg->b_unk_prev_risk;
        capped = 1;
    }
    int poller = c->fanout >= cfg->b_poller_dsts;
    int fleet = c->fleet >= cfg->b_fleet_hosts;
    /* One destination that most of the organisation calls on this same timer: software every
     * machine runs (an update service), not an implant; a prevalence penalty alone left
     * such a timer at Medium on every one of its hosts. */
    int shared = !fleet && prev_used && frac >= cfg->b_shared_share && cfg->b_shared_share < 1 &&
                 c->timer_hosts >= cfg->b_fleet_hosts;
    if ((poller || fleet || shared) && risk > HUNT_RISK_LOW)
        risk = HUNT_RISK_LOW;
    if (c->untimed && risk > HUNT_RISK_MEDIUM)
        risk = HUNT_RISK_MEDIUM;
    if (risk == HUNT_RISK_NONE) {
        free(sc->bins);
        return;
    }
    hunt_finding_t *f = hunt_finding_new(out, "beacon");
    hunt_finding_tech(f, nonstd ? "T1571" : "T1071");
    hunt_finding_tech(f, "T1071");
    f->host = u->host;
    char host[FLOW_ADDR_STRLEN], dst[FLOW_ADDR_STRLEN], pb[8];
    flow_addr_format(&u->host, host);
    flow_addr_format(&u->dst, dst);
    if (c->net)
        snprintf(f->peer, sizeof f->peer, "%s/%d", dst, flow_addr_is_v4(&u->dst) ? 24 : 64);
    else
        snprintf(f->peer, sizeof f->peer, "%s", dst);
    f->port = hunt_port_of(u->proto, u->port);
    int portless = f->port < 0; /* ICMP, GRE, ... */
    f->proto = u->proto;
    f->first_seen = c->first;
    /* seen until the end of the last check-in, so that the finding's window (and the flows
     * command printed from it) takes in its answer too */
    f->last_seen = u->last_end > c->last ? u->last_end : c->last;
    f->risk = risk;
    f->score = final;
    double hours = (double)(c->last - c->first) / 3600000.0;
    int conf = sc->n_conn >= cfg->b_conf_n_high && hours >= cfg->b_conf_h_high ? HUNT_CONF_HIGH
               : sc->n_conn >= cfg->b_conf_n_med                               ? HUNT_CONF_MEDIUM
                                                                               : HUNT_CONF_LOW;
    if (u->sampling >= 100)
        conf = HUNT_CONF_LOW;
    else if (u->sampling > 1 && conf > HUNT_CONF_LOW)
        conf--;
    if (capped && conf > HUNT_CONF_MEDIUM)
        conf = HUNT_CONF_MEDIUM;
    if (c->untimed)
        conf = HUNT_CONF_LOW;
    f->confidence = conf;
    double shown_period = sc->per > 0 ? sc->period : sc->med_int;
    char where[FLOW_ADDR_STRLEN + 24];
    hr_peer_port(where, sizeof where, f->peer, u->port, u->proto);
    snprintf(f->summary, sizeof f->summary,
             "%s beacons to %s every ~%.0f s: %u connections over %.1f h, beacon score %.3f", host,
             where, shown_period, sc->n_conn, hours, sc->score);
    if (portless)
        snprintf(f->summary, sizeof f->summary,
                 "%s beacons to %s over %s every ~%.0f s: %u conversations over %.1f h, beacon "
                 "score %.3f",
                 host, f->peer, hr_proto_name(u->proto, pb), shown_period, sc->n_conn, hours,
                 sc->score);
    if (c->net && !portless)
        snprintf(f->filter, sizeof f->filter,
                 "src host %s and dst net %s and dst port %u and proto %s", host, f->peer, u->port,
                 hr_proto_name(u->proto, pb));
    else if (c->net)
        snprintf(f->filter, sizeof f->filter, "src host %s and dst net %s and proto %s", host,
                 f->peer, hr_proto_name(u->proto, pb));
    else if (portless)
        snprintf(f->filter, sizeof f->filter, "host %s and host %s and proto %s", host, dst,
                 hr_proto_name(u->proto, pb));
    else
        snprintf(f->filter, sizeof f->filter, "host %s and host %s and port %u and proto %s", host,
                 dst, u->port, hr_proto_name(u->proto, pb));
    char svc[48] = "";
    if (!portless)
        snprintf(svc, sizeof svc, " port %u/%s", u->port, hr_proto_name(u->proto, pb));
    if (risk >= HUNT_RISK_HIGH)
        snprintf(f->action, sizeof f->action,
                 "Contain: isolate %s and block %s%s at the egress firewall; then find the "
                 "process on %s that calls out every ~%.0f s (EDR, netstat -b) and collect its "
                 "binary and memory.",
                 host, f->peer, svc, host, shown_period);
    else if (risk == HUNT_RISK_MEDIUM)
        snprintf(f->action, sizeof f->action,
                 "Investigate: identify the process on %s that contacts %s%s every ~%.0f s and "
                 "whether the destination is a known service; block it if it is not.",
                 host, f->peer, svc, shown_period);
    else
        snprintf(f->action, sizeof f->action,
                 "Monitor: add %s to the watch list and re-hunt; escalate if the check-ins "
                 "become more regular or the destination turns out to be new to the "
                 "organisation.",
                 f->peer);
    hev_t *e = &f->ev;
    char b[64], t[256];
    hev_int(e, "connections", sc->n_conn);
    hev_int(e, "intervals_used", sc->n_int);
    hev_num(e, "median_interval_s", sc->med_int, 1);
    hev_num(e, "interval_mad_s", sc->mad_int, 1);
    hev_num(e, "period_s", sc->period, 1);
    hev_num(e, "period_concentration", sc->per_r, 3);
    hb_fmt_g(b, sizeof b, sc->per_p);
    hev_raw(e, "period_p_value", b, b);
    if (sc->period > 0) {
        double expected = (double)(c->last - c->first) / 1000.0 / sc->period + 1;
        hev_num(e, "expected_checkins", expected, 0);
        hev_num(e, "missed_checkins", expected > sc->n_conn ? expected - sc->n_conn : 0, 0);
    }
    hev_num(e, "median_bytes_out", sc->med_size, 0);
    hev_int(e, "bytes_out", (int64_t)u->bytes_out);
    hev_int(e, "bytes_in", (int64_t)u->bytes_in);
    snprintf(t, sizeof t,
             "timing %.3f (RITA %.3f, periodicity %.3f), size %.3f, duration %.3f, histogram "
             "%.3f",
             sc->timing, sc->ts, sc->per, sc->ds, sc->dur, sc->hist);
    char big[512];
    snprintf(big, sizeof big,
             "{\"timing\":%.3f,\"rita_timing\":%.3f,\"periodicity\":%.3f,"
             "\"size\":%.3f,\"duration\":%.3f,\"histogram\":%.3f}",
             sc->timing, sc->ts, sc->per, sc->ds, sc->dur, sc->hist);
    hev_raw(e, "subscores", big, t);
    hev_num(e, "beacon_score", sc->score, 3);
    hev_num(e, "bucketed_score", bucket, 3);
    /* histogram as an array */
    char *hj = hj_xmalloc(sc->n_bins * 12 + 3), *ht = hj_xmalloc(sc->n_bins * 12 + 3);
    size_t hl = 0, tl = 0;
    hj[hl++] = '[';
    for (uint32_t i = 0; i < sc->n_bins; i++) {
        hl += (size_t)sprintf(hj + hl, "%s%u", i ? "," : "", sc->bins[i]);
        tl += (size_t)sprintf(ht + tl, "%s%u", i ? " " : "", sc->bins[i]);
    }
    hj[hl++] = ']';
    hj[hl] = '\0';
    ht[tl] = '\0';
    hev_raw(e, "histogram", hj, ht);
    hev_str(e, "histogram_scored_over",
            sc->hist_span ? "the pair's active span (steadier than over the window)"
                          : "the window");
    free(hj);
    free(ht);
    free(sc->bins);
    sc->bins = NULL;
    if (c->untimed) {
        snprintf(t, sizeof t,
                 "not testable at 1:%u sampling (timing %.3f, no significant period); taken on "
                 "size regularity %.3f and persistence %.3f, so at most Medium, Low confidence",
                 u->sampling, sc->timing, sc->ds, sc->dur);
        char pj[160];
        snprintf(pj, sizeof pj,
                 "{\"testable\":false,\"sampling\":%u,\"size\":%.3f,\"duration\":%.3f}",
                 u->sampling, sc->ds, sc->dur);
        hev_raw(e, "timing_under_sampling", pj, t);
    }
    if (internal_dst) {
        snprintf(t, sizeof t, "%s is internal: %+.2f", f->peer, int_mod);
        char pj[64];
        snprintf(pj, sizeof pj, "{\"modifier\":%.2f}", int_mod);
        hev_raw(e, "internal_destination", pj, t);
    }
    if (fleet) {
        snprintf(t, sizeof t,
                 "%u internal hosts keep this timer (%u/%s every ~%.0f s) towards several "
                 "destinations: installed software's schedule, not one implant's (risk capped "
                 "at Low)",
                 c->fleet, u->port, hr_proto_name(u->proto, pb), hb_cand_period(c));
        char pj[96];
        snprintf(pj, sizeof pj, "{\"hosts\":%u,\"threshold\":%g}", c->fleet,
                 cfg->b_fleet_hosts);
        hev_raw(e, "fleet_timer", pj, t);
    }
    if (shared) {
        snprintf(t, sizeof t,
                 "%u internal hosts keep this timer (%u/%s every ~%.0f s) and %.1f %% of them "
                 "call %s: software the whole organisation runs, not one implant's (risk capped "
                 "at Low)",
                 c->timer_hosts, u->port, hr_proto_name(u->proto, pb), hb_cand_period(c),
                 100 * frac, f->peer);
        char pj[128];
        snprintf(pj, sizeof pj, "{\"hosts\":%u,\"share\":%.4f,\"threshold\":%g}",
                 c->timer_hosts, frac, cfg->b_shared_share);
        hev_raw(e, "shared_timer", pj, t);
    }
    if (poller) {
        snprintf(t, sizeof t,
                 "timelines like this one to %u destinations on %u/%s: a poller's schedule, "
                 "not one implant's (risk capped at Low)",
                 c->fanout, u->port, hr_proto_name(u->proto, pb));
        char pj[96];
        snprintf(pj, sizeof pj, "{\"destinations\":%u,\"threshold\":%g}", c->fanout,
                 cfg->b_poller_dsts);
        hev_raw(e, "poller", pj, t);
    }
    if (prev_used) {
        snprintf(b, sizeof b, "%llu", (unsigned long long)users);
        snprintf(t, sizeof t, "%llu of %llu internal hosts (%.1f %%): %+.2f",
                 (unsigned long long)users, (unsigned long long)pop, 100 * frac, prev_mod);
        char pj[160];
        snprintf(pj, sizeof pj,
                 "{\"hosts\":%llu,\"internal_hosts\":%llu,\"share\":%.4f,"
                 "\"modifier\":%.2f}",
                 (unsigned long long)users, (unsigned long long)pop, frac, prev_mod);
        hev_raw(e, "prevalence", pj, t);
    } else {
        snprintf(t, sizeof t,
                 "not used: %llu internal hosts, fewer than %g; a benign timer cannot be told "
                 "from C2 without a population%s",
                 (unsigned long long)pop, cfg->b_prev_min_hosts,
                 capped ? ", so the risk is capped" : "");
        char pj[160];
        snprintf(pj, sizeof pj, "{\"hosts\":%llu,\"internal_hosts\":%llu,\"modifier\":0}",
                 (unsigned long long)users, (unsigned long long)pop);
        hev_raw(e, "prevalence", pj, t);
    }
    if (nonstd && !port_common) {
        snprintf(t, sizeof t, "%u/%s is not a standard port: %+.2f (T1571)", u->port,
                 hr_proto_name(u->proto, pb), port_mod);
        hev_str(e, "nonstandard_port", t);
    } else if (nonstd) {
        snprintf(t, sizeof t,
                 "%u/%s is not a standard port, but %llu internal hosts use this destination "
                 "(more than %.0f): the service's own port, no bonus",
                 u->port, hr_proto_name(u->proto, pb), (unsigned long long)users,
                 cfg->b_port_max_hosts);
        hev_str(e, "nonstandard_port", t);
    }
    hev_num(e, "final_score", final, 3);
    snprintf(t, sizeof t,
             "beacon score %.3f >= base %.2f; severity >0.8 Critical, >=0.6 High, "
             ">=0.4 Medium, >=0.2 Low",
             sc->score, cfg->b_base);
    hev_str(e, "thresholds", t);
    hev_int(e, "sampling", u->sampling ? u->sampling : 1);
    hev_int(e, "stitched_conversations", (int64_t)u->stitched);
    if (u->unanswered) {
        hev_int(e, "unanswered_conversations", (int64_t)u->unanswered);
        if (u->unanswered == sc->n_conn)
            hev_str(e, "note",
                    "no attempt was answered: the destination may be a C2 that is "
                    "down or blocked, and the implant keeps its schedule");
    }
    if (u->dropped) {
        snprintf(t, sizeof t,
                 "%llu connections beyond max_connections=%g were counted but not timed",
                 (unsigned long long)u->dropped, cfg->b_max_conn);
        hev_str(e, "evicted", t);
    }
    hb_pics_attach(f, &c->pics, c->first);
    hunt_finding_allow(cfg, f, 1);
}

/* Candidates by port, protocol and period, for the fleet count. */
static int hb_cmp_timer(const void *pa, const void *pb)
{
    const hb_cand_t *a = *(hb_cand_t *const *)pa, *b = *(hb_cand_t *const *)pb;
    if (a->u.port != b->u.port)
        return a->u.port - b->u.port;
    if (a->u.proto != b->u.proto)
        return a->u.proto - b->u.proto;
    double x = hb_cand_period(a), y = hb_cand_period(b);
    return x < y ? -1 : x > y;
}

/* Distinct addresses in a sliding window of candidates: a count per address, and how many
 * counts are above zero. */
typedef struct hb_win {
    hj_intern_t ids;
    hj_vec_t cnt; /* uint32_t per id */
    uint32_t distinct;
} hb_win_t;

static void hb_win_add(hb_win_t *w, const flow_addr_t *a, int add)
{
    int is_new;
    uint64_t id = hj_intern(&w->ids, a->b, 16, &is_new);
    uint32_t *c = hj_vec_at(&w->cnt, id);
    if (add && (*c)++ == 0)
        w->distinct++;
    else if (!add && --(*c) == 0)
        w->distinct--;
}

static int hb_same_timer_group(const hb_cand_t *a, const hb_cand_t *b)
{
    return a->u.port == b->u.port && a->u.proto == b->u.proto;
}

/* For every single-address candidate: how many internal hosts share its timer (same port and
 * protocol, period within 10 %), counted only when they call at least three destinations.
 * Sorted by (port, protocol, period), each candidate's peers are a window [lo, hi) whose ends
 * only move forward (a period that grows moves both bounds up), so the window is slid and its
 * distinct hosts and destinations counted as candidates enter and leave it: linear, where
 * sorting every window was quadratic in a fleet's size. A negative or NaN period would break
 * the monotony; then every window is counted afresh. */
static void hb_fleet(hb_cand_t *v, size_t n)
{
    hb_cand_t **idx = hj_xmalloc((n ? n : 1) * sizeof *idx);
    size_t m = 0;
    int monotone = 1;
    for (size_t i = 0; i < n; i++)
        if (!v[i].net) {
            idx[m++] = &v[i];
            monotone &= hb_cand_period(&v[i]) >= 0;
        }
    if (m > 1)
        qsort(idx, m, sizeof *idx, hb_cmp_timer);
    hb_win_t wh, wd;
    memset(&wh, 0, sizeof wh);
    memset(&wd, 0, sizeof wd);
    hj_vec_init(&wh.cnt, sizeof(uint32_t));
    hj_vec_init(&wd.cnt, sizeof(uint32_t));
    size_t lo = 0, a = 0, b = 0; /* [a, b): the candidates counted in wh and wd */
    for (size_t i = 0; i < m; i++) {
        double p = hb_cand_period(idx[i]);
        while (lo < i &&
               (!hb_same_timer_group(idx[lo], idx[i]) || hb_cand_period(idx[lo]) < p * 0.9))
            lo++;
        /* what left the window; all of it when the window is counted afresh */
        size_t keep = !monotone || b < lo ? b : lo;
        for (; a < keep; a++) {
            hb_win_add(&wh, &idx[a]->u.host, 0);
            hb_win_add(&wd, &idx[a]->u.dst, 0);
        }
        if (a == b)
            a = b = lo;
        for (; b < m && hb_same_timer_group(idx[b], idx[i]) && hb_cand_period(idx[b]) <= p * 1.1;
             b++) {
            hb_win_add(&wh, &idx[b]->u.host, 1);
            hb_win_add(&wd, &idx[b]->u.dst, 1);
        }
        idx[i]->fleet = wd.distinct >= 3 ? wh.distinct : 0;
        idx[i]->timer_hosts = (uint32_t)wh.distinct;
    }
    hj_intern_free(&wh.ids);
    hj_intern_free(&wd.ids);
    hj_vec_free(&wh.cnt);
    hj_vec_free(&wd.cnt);
    free(idx);
}

static int hb_cmp_cand(const void *pa, const void *pb)
{
    const hb_cand_t *a = pa, *b = pb;
    int c = memcmp(a->u.host.b, b->u.host.b, 16);
    if (c)
        return c;
    if (a->u.port != b->u.port)
        return a->u.port - b->u.port;
    if (a->u.proto != b->u.proto)
        return a->u.proto - b->u.proto;
    if (a->net != b->net)
        return a->net - b->net;
    return memcmp(a->u.dst.b, b->u.dst.b, 16);
}

/* Findings of candidates c[0..n), into a list of their own: a share of hb_finish's. */
typedef struct hb_fjob {
    hb_state_t *s;
    hb_cand_t **c;
    size_t n;
    hunt_findings_t out;
} hb_fjob_t;

static void *hb_fjob_run(void *arg)
{
    hb_fjob_t *j = arg;
    for (size_t i = 0; i < j->n; i++)
        hb_finding(j->s, j->c[i], &j->out);
    return NULL;
}

#define HB_FIND_PAR_MIN 4096 /* candidates from which their findings are built on threads */

/* The findings of candidates c[0..n), in that order, built on s->workers threads: each takes
 * a contiguous share into its own list and the lists are joined in order, so the report is
 * the same with any number of threads. hb_finding reads only the configuration, the
 * prevalence counts (finished: no thread writes them now) and its own candidate; composing
 * the evidence of 400,000 findings took 3 of the 4.2 s of this hunt's end over 100 M flows,
 * on one thread while the other core idled. */
static void hb_findings(hb_state_t *s, hb_cand_t **c, size_t n, hunt_findings_t *out)
{
    int nt = n < HB_FIND_PAR_MIN ? 1 : s->workers;
    hb_fjob_t job[HB_MAX_WORKERS];
    for (int k = 0; k < nt; k++) {
        size_t lo = n * (size_t)k / (size_t)nt, hi = n * (size_t)(k + 1) / (size_t)nt;
        job[k] = (hb_fjob_t){.s = s, .c = c + lo, .n = hi - lo};
    }
    cmd_par(hb_fjob_run, job, sizeof *job, nt);
    for (int k = 0; k < nt; k++)
        hunt_findings_take(out, &job[k].out);
}

static void hb_finish(void *st, hunt_findings_t *out)
{
    hb_state_t *s = st;
    hb_cand_t *v = s->cands.v;
    size_t n = s->cands.n;
    /* A resolver's recursion is its job, and its clients' DNS to it theirs, whether it is
     * configured (left out as it was fed) or the resolver in practice of the hosts (known only
     * now, once every pass is counted). */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].u.port == 53 && (v[i].u.proto == 6 || v[i].u.proto == 17) &&
            (hunt_resolver_in_practice(s->ctx, &v[i].u.host) ||
             (!v[i].u.net && hunt_resolver_in_practice(s->ctx, &v[i].u.dst))))
            free(v[i].s.bins);
        else
            v[kept++] = v[i];
    }
    n = s->cands.n = kept;
    if (n > 1)
        qsort(v, n, sizeof *v, hb_cmp_cand);
    hb_fleet(v, n);
    hb_cand_t **rep = hj_xmalloc((n ? n : 1) * sizeof *rep);
    size_t n_rep = 0;
    /* One host's timer on one port and protocol at a time: sorted by host, port and protocol,
     * its candidates are a run, addresses first, then /24s. Its fan-out is the run's
     * addresses, and a /24 is compared with those alone (with every candidate, this loop was
     * a quarter of a cold run over 100 M flows). */
    for (size_t i = 0, j; i < n; i = j) {
        uint32_t dsts = 0;
        size_t n_addr = 0;
        for (j = i; j < n && v[j].u.port == v[i].u.port && v[j].u.proto == v[i].u.proto &&
                    memcmp(v[j].u.host.b, v[i].u.host.b, 16) == 0;
             j++)
            n_addr += v[j].net ? 0 : 1;
        /* Its fan-out: the destinations its beacon-like timelines reach, an address's own or
         * a /24's where none of the /24's addresses has one. Sampled 1:100, a poller's
         * per-address timelines keep a few check-ins each and most fall under the gate while
         * the /24s' still pass: flowgen's monitoring poller of 31 hosts on 9100/tcp (seed
         * 305) kept timelines to 4 or 5 of its addresses, by which records the sampling kept,
         * beside those to 5 /24s; counted by address alone it was High at 4. */
        dsts = (uint32_t)n_addr;
        for (size_t k = i + n_addr; k < j; k++) {
            int has_addr = 0;
            for (size_t x = i; x < i + n_addr && !has_addr; x++)
                has_addr = memcmp(hb_net24(&v[x].u.dst).b, v[k].u.dst.b, 16) == 0;
            dsts += !has_addr;
        }
        for (size_t k = i; k < j; k++)
            v[k].fanout = dsts;
        for (size_t k = i; k < j; k++) {
            hb_cand_t *c = &v[k];
            if (c->net) {
                /* a /24 timeline adds nothing when one of its addresses scores as well alone */
                int covered = 0;
                for (size_t x = i; x < j && !v[x].net; x++)
                    if (memcmp(hb_net24(&v[x].u.dst).b, c->u.dst.b, 16) == 0 &&
                        v[x].s.score + 0.05 >= c->s.score)
                        covered = 1;
                if (covered) {
                    free(c->s.bins);
                    continue;
                }
            }
            rep[n_rep++] = c;
        }
    }
    hb_findings(s, rep, n_rep, out);
    free(rep);
    hj_vec_free(&s->cands);
}

static void hb_destroy(void *st)
{
    hb_state_t *s = st;
    if (!s)
        return;
    free(s->pv);
    hj_vec_free(&s->units);
    for (size_t i = 0; i < s->cands.n; i++)
        free(((hb_cand_t *)s->cands.v)[i].s.bins);
    hj_vec_free(&s->cands);
    hb_index_free(&s->index);
    free(s);
}

const hunt_ops_t hb_ops = {"beacon", hb_create, hb_feed, hb_part_end, hb_finish, hb_destroy, 13};
