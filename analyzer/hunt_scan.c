/* hunt_scan.c: scan fan-out from internal hosts (T1046), fast and slow, internal targets first.
 *
 * Only failed attempts count, as in Zeek's scan policy and SiLK's TRW: a TCP attempt that got no
 * answer, was answered with a RST (closed port) or denied by a firewall, or that the originator
 * itself reset after at most three packets (a SYN scan touching an open port); a UDP attempt
 * with no answer. Successes are kept per host only as distinct contacts, for the failure ratio
 * a slow scan must also show. ICMP echo requests are counted by type, answered or not, since
 * a ping sweep is answered by every live host; a sweep's failures, for its slow window, are
 * the targets that never answered.
 *
 * Per internal host, over the sorted attempts: horizontal = distinct failed targets on one
 * (port, protocol), vertical = distinct failed ports on one target, ICMP sweep = distinct
 * echo-requested targets, each as the maximum over a sliding window -- fast (Zeek: 25 hosts or
 * 15 ports in 5 minutes) and slow (a day, higher thresholds, plus the failure ratio, which is
 * what separates a patient scanner from a busy client). Targets inside the internal networks
 * make the risk High (the lateral-movement precursor), Critical for a fast sweep of a
 * lateral-movement port at critical_factor times the threshold; scans of the outside are
 * Medium (High at that factor). The peer is the targets' network, cut to an octet boundary,
 * for a horizontal scan (a /24 sweep reads as the /24), the target for a vertical one.
 * Allow-listed scanners are reported as suppressed, with the entry that matched.
 *
 * Service probing (nmap -sV/-A, vulnerability scanners) touches one target on few ports, so it
 * shows no fan-out; what gives it away is a half-open probe (the originator answers a SYN|ACK
 * with RST and never ACKs: raw-socket tooling, hunting-methods.md 2.7) followed by a burst of
 * connections to the same target: probe_connections of them within the fast window.
 *
 * Below the thresholds, a sequential test (Threshold Random Walk, Jung et al. 2004, as SiLK's
 * rwscan runs it, hunting-methods.md 2.3-2.4) walks each host's first contacts with internal
 * addresses in time order: a contact with an address that is alive (it answered someone, or
 * originated anything, in the window) is a success, one with a dark address (nobody saw it
 * alive) a failure; the likelihood ratio of "scanner" against "benign" decides. A host that
 * tries a handful of addresses where nothing lives, slowly, never fills a window, but four or
 * five dark targets in a row are what a worm or an implant mapping the network looks like and
 * what a user's software rarely does. Only when no threshold finding names the host already,
 * and never under sampling (a live address whose records were not sampled would look dark).
 *
 * An internal scan's finding also says what it led to (follow_up): the host's first successful
 * contacts with targets that answered, once its reported scans were over; a remote-service
 * session among them is lateral movement (T1021) and makes the finding Critical.
 *
 * Memory: attempts are kept per host up to max_events_per_host; more are counted and named as
 * evicted in the finding; the same bound holds the successful first contacts with internal
 * addresses that the test and the follow-ups read.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"
#include "timearg.h"

#define HS_SYN 0x02
#define HS_RST 0x04
#define HS_ACK 0x10

enum { HS_FAIL_TCP_UDP, HS_ECHO };

typedef struct hs_ev {
    uint64_t t;
    flow_addr_t dst;
    uint16_t port;
    uint8_t proto, kind, answered, rejected;
} hs_ev_t;

/* Connections to a target that got a half-open probe, in tumbling fast windows. */
/* A target a half-open probe reached. A window opens at a half-open probe and lasts the fast
 * window: `q` holds the connections (start << 1 | half-open) from the earliest half-open
 * probe still within the fast window of the newest connection, so its length is the best
 * count of any window that opened at a probe (at a window's last connection, the earliest
 * open probe's window holds at least as many). Tumbling windows from the first probe lost a
 * burst that a stray earlier probe's window cut in two. */
#define HS_PROBE_Q_MAX 4096 /* connections kept per target: beyond, the oldest go */
typedef struct hs_probe {
    flow_addr_t dst;
    uint64_t *q;
    uint32_t q_start, q_end, q_cap;
    uint64_t best_t0, best_t1; /* the window with the most connections and a half-open probe */
    uint32_t best_conns, best_half;
} hs_probe_t;

typedef struct hs_host {
    flow_addr_t host;
    hs_ev_t *ev;
    size_t n, cap;
    uint64_t evicted;
    uint32_t sampling;
    hj_map_t succ_by_port; /* (proto << 16 | port) -> distinct successful targets */
    hj_map_t succ_by_dst;  /* dst hash -> distinct successful ports */
    hj_map_t probed;       /* dst hash -> index + 1 in pr */
    hs_probe_t *pr;
    size_t n_pr;
    /* first successful contacts with internal addresses, per (target, port, proto): the
     * sequential test's successes, and what a scan led to */
    struct hs_fc *fc;
    size_t n_fc, cap_fc;
    uint64_t fc_evicted;
    int fc_sorted;     /* fc in (a, t) order (hs_follow_ups sorts it once) */
    uint64_t scan_done; /* the last attempt of its scans that were reported */
} hs_host_t;

/* A first successful contact with an internal address: when, the address's hs_addr_key, and
 * the port and protocol. */
typedef struct hs_fc {
    uint64_t t, a;
    uint16_t port;
    uint8_t proto;
} hs_fc_t;

#define HS_SEEN 65536 /* slots of hs_state_t.seen: 1 MiB */

/* A successful contact of this pass, counted once per (host, k) when the pass ends. */
typedef struct hs_succ {
    uint64_t k;        /* hash(dst, port, proto) */
    uint64_t dst_key;  /* hs_addr_key(dst) ^ proto */
    uint64_t t;        /* its start: the pass feeds in time order, so the first is the earliest */
    uint32_t host;     /* index into hosts */
    uint32_t port_key; /* proto << 16 | port */
    uint8_t internal;  /* dst inside the internal networks */
} hs_succ_t;

/* A reported internal scan whose follow-ups are looked for once the host's scans are all known
 * (hs_follow_apply): the finding and its answering targets, tg[first .. first + n). */
typedef struct hs_pend {
    hunt_finding_t *f;
    size_t first, n;
} hs_pend_t;

typedef struct hs_state {
    const hunt_ctx_t *ctx;
    const hunt_config_t *cfg;
    hj_intern_t keys;
    hj_vec_t hosts; /* hs_host_t */
    hs_pend_t *pend; /* the host being finished: its reported internal scans */
    size_t n_pend, cap_pend;
    flow_addr_t *tg; /* their answering targets */
    size_t n_tg, cap_tg;
    hs_succ_t *succ; /* this pass's successful contacts, a repeat now and then */
    size_t n_succ, cap_succ;
    /* The contacts last kept, by a hash of (host, k): a contact that is there already is a
     * repeat, not kept again. Most successful contacts repeat one made shortly before (a host
     * keeps calling the same servers), and sorting every one of them at the end of a pass was
     * that pass's dearest step of the scan hunt over 100 M flows; those the table misses are
     * still counted once by the sort. */
    struct {
        uint64_t k, host; /* host + 1; 0: empty */
    } seen[HS_SEEN];
} hs_state_t;

static uint64_t hs_hash(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t hs_addr_key(const flow_addr_t *a)
{
    return hs_hash(a->b, 16, 0xcbf29ce484222325ull);
}

static void *hs_create(const hunt_ctx_t *ctx)
{
    hs_state_t *s = hj_xcalloc(1, sizeof *s);
    s->ctx = ctx;
    s->cfg = ctx->cfg;
    hj_vec_init(&s->hosts, sizeof(hs_host_t));
    return s;
}

static hs_host_t *hs_host(hs_state_t *s, const flow_addr_t *a, uint32_t *id_out)
{
    int is_new;
    uint64_t id = hj_intern(&s->keys, a->b, 16, &is_new);
    hs_host_t *h = hj_vec_at(&s->hosts, id);
    if (is_new)
        h->host = *a;
    *id_out = (uint32_t)id; /* hj_intern ends the run before 2^32 keys */
    return h;
}

/* Counts TCP connections to targets this host sent a half-open probe to; targets that never
 * got one cost nothing. */
static void hs_probe_note(const hunt_config_t *cfg, hs_host_t *h, const hunt_conv_t *c)
{
    int half = (c->flags_out & (HS_SYN | HS_RST | HS_ACK)) == (HS_SYN | HS_RST) &&
               (c->flags_in & (HS_SYN | HS_ACK)) == (HS_SYN | HS_ACK);
    /* A connection is one the target accepted: a SYN scan's unanswered and refused probes
     * of the other ports are its scan's attempts (nmap -sS whose kernel resets the SYN|ACKs
     * had "3 half-open SYN probes and 979 TCP connections"). */
    if (!half && (!c->answered || c->rejected))
        return;
    uint64_t key = hs_addr_key(&c->resp);
    uint64_t *slot = half ? hj_map_ins(&h->probed, key) : hj_map_get(&h->probed, key);
    if (!slot)
        return;
    if (*slot == 0) {
        h->pr = hj_xrealloc(h->pr, (h->n_pr + 1) * sizeof *h->pr);
        memset(&h->pr[h->n_pr], 0, sizeof *h->pr);
        h->pr[h->n_pr].dst = c->resp;
        *slot = ++h->n_pr;
    }
    hs_probe_t *p = &h->pr[*slot - 1];
    const uint64_t win = (uint64_t)(cfg->s_fast_win * 1000), t = c->t_start;
    if (p->q_end == p->q_cap) { /* room: move the kept ones down, or grow */
        uint32_t kept = p->q_end - p->q_start;
        if (p->q_start > 0 && p->q_start >= kept / 4) {
            memmove(p->q, p->q + p->q_start, kept * sizeof *p->q);
        } else if (p->q_cap < HS_PROBE_Q_MAX) {
            p->q_cap = p->q_cap ? p->q_cap * 2 : 16;
            p->q = hj_xrealloc(p->q, p->q_cap * sizeof *p->q);
            memmove(p->q, p->q + p->q_start, kept * sizeof *p->q);
        } else if (p->q_start > 0) {
            memmove(p->q, p->q + p->q_start, kept * sizeof *p->q);
        } else { /* full: the oldest goes */
            memmove(p->q, p->q + p->q_start + 1, (kept - 1) * sizeof *p->q);
            kept--;
        }
        p->q_start = 0;
        p->q_end = kept;
    }
    p->q[p->q_end++] = t << 1 | (uint64_t)half;
    /* the window opens at the earliest half-open probe within the fast window of t */
    while (p->q_start < p->q_end && (!(p->q[p->q_start] & 1) || t - (p->q[p->q_start] >> 1) > win))
        p->q_start++;
    uint32_t conns = p->q_end - p->q_start;
    if (conns > p->best_conns) {
        uint32_t halves = 0;
        for (uint32_t i = p->q_start; i < p->q_end; i++)
            halves += (uint32_t)(p->q[i] & 1);
        p->best_conns = conns;
        p->best_half = halves;
        p->best_t0 = p->q[p->q_start] >> 1;
        p->best_t1 = t;
    }
}

static void hs_feed(void *st, const hunt_conv_t *c)
{
    hs_state_t *s = st;
    if (!c->orig_internal)
        return;
    int icmp_echo = (c->proto == 1 && (c->resp_port >> 8) == 8) ||
                    (c->proto == 58 && (c->resp_port >> 8) == 128);
    int failed = 0;
    /* Under sampling an answer is mostly not kept: a sampled session's request alone reads as
     * unanswered. But the originator's own ACK (no RST) says the handshake was answered; only a
     * record without one (a bare SYN) is an attempt that may have failed. A monitor polling 54
     * hosts on 9100 was a High slow scan at 1:100, its lost answers counted as failures. */
    int acked = c->sampling > 1 && (c->flags_out & (HS_ACK | HS_RST)) == HS_ACK;
    if (c->proto == 6)
        failed = (!c->answered && !acked) || c->rejected ||
                 ((c->flags_out & HS_RST) && c->pkts_out <= 3);
    else if (c->proto == 17)
        failed = !c->answered || c->rejected;
    else if (!icmp_echo)
        return;
    /* An approved resolver's recursion is its job (the DNS and beacon hunts say the same):
     * of 600 nameservers a few are always lame, which made a fast sweep of port 53. */
    if (c->resp_port == 53 && !icmp_echo && hc_is_resolver(s->cfg, &c->orig))
        return;
    uint32_t id;
    hs_host_t *h = hs_host(s, &c->orig, &id);
    if (c->sampling > h->sampling)
        h->sampling = c->sampling;
    if (c->proto == 6)
        hs_probe_note(s->cfg, h, c);
    if (!failed && !icmp_echo) {
        /* distinct successes are counted when the pass ends (hs_part_end) */
        uint64_t a = hs_addr_key(&c->resp);
        uint64_t k = hs_hash(&c->proto, 1, hs_hash(&c->resp_port, 2, a));
        size_t slot = (size_t)((k ^ (uint64_t)id * 0x9e3779b97f4a7c15ull) >> 48) % HS_SEEN;
        if (s->seen[slot].k == k && s->seen[slot].host == (uint64_t)id + 1)
            return;
        s->seen[slot].k = k;
        s->seen[slot].host = (uint64_t)id + 1;
        if (s->n_succ == s->cap_succ) {
            s->cap_succ = s->cap_succ ? 2 * s->cap_succ : 4096;
            s->succ = hj_xrealloc(s->succ, s->cap_succ * sizeof *s->succ);
        }
        s->succ[s->n_succ++] = (hs_succ_t){k,        a ^ c->proto, c->t_start,
                                           id,       (uint32_t)c->proto << 16 | c->resp_port,
                                           c->resp_internal};
        return;
    }
    if (h->n >= (size_t)s->cfg->s_max_ev) {
        h->evicted++;
        return;
    }
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->ev = hj_xrealloc(h->ev, h->cap * sizeof *h->ev);
    }
    hs_ev_t *e = &h->ev[h->n++];
    e->t = c->t_start;
    e->dst = c->resp;
    e->port = icmp_echo ? 0 : c->resp_port;
    e->proto = c->proto;
    e->kind = icmp_echo ? HS_ECHO : HS_FAIL_TCP_UDP;
    e->answered = c->answered;
    e->rejected = c->rejected;
}

/* ---- sliding windows --------------------------------------------------------------------------
 */

/* Group order: kind, proto, then port (horizontal) or target (vertical), then time. */
static int hs_cmp_ev(const void *pa, const void *pb, void *arg)
{
    const hs_ev_t *a = pa, *b = pb;
    int vertical = *(const int *)arg;
    if (a->kind != b->kind)
        return a->kind - b->kind;
    if (a->proto != b->proto)
        return a->proto - b->proto;
    if (vertical) {
        int c = memcmp(a->dst.b, b->dst.b, 16);
        if (c)
            return c;
    } else if (a->kind != HS_ECHO && a->port != b->port) {
        return a->port - b->port;
    }
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    int c = memcmp(a->dst.b, b->dst.b, 16);
    if (c)
        return c;
    return a->port - b->port;
}

typedef struct hs_win {
    uint64_t max;              /* most distinct items in one window */
    uint64_t at_start, at_end; /* that window */
} hs_win_t;

static uint64_t hs_item(const hs_ev_t *e, int vertical)
{
    return vertical ? e->port : hs_addr_key(&e->dst);
}

/* Most distinct items in any window of `w_ms` over ev[0..n) (sorted by time). */
static void hs_window(const hs_ev_t *ev, size_t n, uint64_t w_ms, int vertical, hs_win_t *out)
{
    hj_map_t cnt = {0};
    uint64_t distinct = 0;
    memset(out, 0, sizeof *out);
    size_t i = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t *v = hj_map_ins(&cnt, hs_item(&ev[j], vertical));
        if ((*v)++ == 0)
            distinct++;
        while (ev[j].t - ev[i].t > w_ms) {
            uint64_t *u = hj_map_get(&cnt, hs_item(&ev[i], vertical));
            if (--(*u) == 0)
                distinct--;
            i++;
        }
        if (distinct > out->max) {
            out->max = distinct;
            out->at_start = ev[i].t;
            out->at_end = ev[j].t;
        }
    }
    hj_map_free(&cnt);
}

/* How long the busiest window's items took, from its first to its last attempt: "10.0 s",
 * "42.5 min", "5.3 h". The window's length is the threshold's, not the scan's: "1001 probes in
 * 300 s" read as 3 a second for masscan's 100 a second. */
static void hs_span_text(uint64_t ms, char *buf, size_t n)
{
    double s = (double)ms / 1000.0;
    if (s < 120)
        snprintf(buf, n, "%.1f s", s);
    else if (s < 7200)
        snprintf(buf, n, "%.1f min", s / 60);
    else
        snprintf(buf, n, "%.1f h", s / 3600);
}

static uint64_t hs_distinct(const hs_ev_t *ev, size_t n, int vertical)
{
    hj_map_t set = {0};
    for (size_t i = 0; i < n; i++)
        hj_map_ins(&set, hs_item(&ev[i], vertical));
    uint64_t d = set.n;
    hj_map_free(&set);
    return d;
}

/* The targets' common prefix, cut to an octet boundary (IPv4 at least /16, IPv6 /48); 0 and
 * an empty peer when they are spread wider. */
static void hs_peer_net(const hs_ev_t *ev, size_t n, char *peer, size_t cap)
{
    flow_addr_t lo = ev[0].dst, hi = ev[0].dst;
    for (size_t i = 1; i < n; i++) {
        if (memcmp(ev[i].dst.b, lo.b, 16) < 0)
            lo = ev[i].dst;
        if (memcmp(ev[i].dst.b, hi.b, 16) > 0)
            hi = ev[i].dst;
    }
    int bits = 0;
    while (bits < 128 && ((lo.b[bits / 8] ^ hi.b[bits / 8]) & (0x80 >> (bits % 8))) == 0)
        bits++;
    int v4 = flow_addr_is_v4(&lo);
    int plen = v4 ? bits - 96 : bits;
    peer[0] = '\0';
    if (n == 1) {
        flow_addr_format(&lo, peer);
        return;
    }
    plen = v4 ? plen / 8 * 8 : plen / 16 * 16;
    if ((v4 && plen < 16) || (!v4 && plen < 48))
        return;
    if ((v4 && plen >= 32) || (!v4 && plen >= 128)) {
        flow_addr_format(&lo, peer);
        return;
    }
    int total = v4 ? 96 + plen : plen;
    for (int b = total; b < 128; b++)
        lo.b[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
    char a[FLOW_ADDR_STRLEN];
    flow_addr_format(&lo, a);
    snprintf(peer, cap, "%s/%d", a, plen);
}

static void hs_list_targets(hev_t *e, const hs_ev_t *ev, size_t n, int vertical)
{
    /* up to 16 distinct items, sorted, as evidence */
    uint64_t *seen = hj_xcalloc(16, sizeof *seen);
    size_t k = 0;
    char json[16 * 48 + 4], text[16 * 48 + 4];
    size_t jl = 0, tl = 0;
    json[jl++] = '[';
    for (size_t i = 0; i < n && k < 16; i++) {
        uint64_t it = hs_item(&ev[i], vertical);
        int dup = 0;
        for (size_t j = 0; j < k; j++)
            dup |= seen[j] == it;
        if (dup)
            continue;
        seen[k++] = it;
        char a[FLOW_ADDR_STRLEN];
        if (vertical)
            snprintf(a, sizeof a, "%u", ev[i].port);
        else
            flow_addr_format(&ev[i].dst, a);
        jl += (size_t)snprintf(json + jl, sizeof json - jl, vertical ? "%s%s" : "%s\"%s\"",
                               k > 1 ? "," : "", a);
        tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s%s", k > 1 ? " " : "", a);
    }
    json[jl++] = ']';
    json[jl] = '\0';
    free(seen);
    hev_raw(e, vertical ? "sample_ports" : "sample_targets", json, text);
}

static int hs_internal_targets(const hunt_config_t *cfg, const hs_ev_t *ev, size_t n)
{
    size_t in = 0;
    for (size_t i = 0; i < n; i++)
        in += hc_is_internal(cfg, &ev[i].dst) != 0;
    return in * 2 > n;
}

/* Fan-out over time for the HTML report: the running total of distinct targets (ports for a
 * vertical scan) over ev[0..n) (one group), at the end of each of at most HS_PIC_BINS time
 * bins of whole seconds, whatever the attempts. One picture, so that a finding merged with a
 * beacon's (two pictures) still shows all three. */
#define HS_PIC_BINS 150

static void hs_pics(hunt_finding_t *f, const hs_ev_t *ev, size_t n, int vertical)
{
    uint64_t t0 = ev[0].t, t1 = ev[0].t;
    for (size_t i = 1; i < n; i++) {
        t0 = ev[i].t < t0 ? ev[i].t : t0;
        t1 = ev[i].t > t1 ? ev[i].t : t1;
    }
    uint64_t span = t1 - t0;
    uint64_t w = (span / HS_PIC_BINS / 1000 + 1) * 1000;
    size_t nb = (size_t)(span / w) + 1;
    double x[HS_PIC_BINS], total[HS_PIC_BINS] = {0};
    hj_map_t seen = {0};
    for (size_t i = 0; i < n; i++) {
        uint64_t *v = hj_map_ins(&seen, hs_item(&ev[i], vertical));
        if (*v == 0) {
            *v = 1;
            total[(ev[i].t - t0) / w]++;
        }
    }
    hj_map_free(&seen);
    for (size_t b = 0; b < nb; b++) {
        x[b] = (double)(t0 + b * w);
        total[b] += b ? total[b - 1] : 0;
    }
    const char *what = vertical ? "ports" : "targets";
    char title[96];
    snprintf(title, sizeof title, "Distinct %s over time (total, %llu s bins)", what,
             (unsigned long long)(w / 1000));
    hunt_finding_series(f, HUNT_SERIES_POINTS, title, "ms since epoch", what, x, total, nb);
}

/* ---- what a scan led to ------------------------------------------------------------------
 * The question after an internal scan is whether it went anywhere: the host's first successful
 * contacts with targets that answered the scan, made once its scanning was over (after the
 * last attempt of any of its reported scans, known once all its groups are: a vulnerability
 * scanner completes connections to open ports as it goes, and a server the host used before
 * is no discovery). A session on a
 * lateral-movement port (lateral_tcp: SMB, RDP, SSH, WinRM ...) to such a target is T1021
 * and makes the finding Critical. A worm that exploits each host as it finds it, between its
 * probes, is not seen this way; its scan is. */
typedef struct hs_follow {
    size_t answered, contacted; /* targets that answered; those contacted after the scans */
    size_t lateral;             /* of those, the ones reached on a lateral_tcp port */
    uint64_t last;              /* the latest contact's start */
    char text[512], json[1024];
} hs_follow_t;

#define HS_FOLLOW_LIST 8 /* contacts named in the evidence */

static int hs_cmp_fc(const void *pa, const void *pb)
{
    const hs_fc_t *x = pa, *y = pb;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->proto != y->proto)
        return x->proto - y->proto;
    return x->port - y->port;
}

static void hs_follow_ups(const hunt_config_t *cfg, hs_host_t *h, const flow_addr_t *tg, size_t n,
                          hs_follow_t *fu)
{
    memset(fu, 0, sizeof *fu);
    if (!h->fc_sorted) {
        if (h->n_fc > 1) /* fc is NULL while empty, and qsort's base must not be */
            qsort(h->fc, h->n_fc, sizeof *h->fc, hs_cmp_fc);
        h->fc_sorted = 1;
    }
    fu->answered = n;
    size_t tl = 0, jl = 0, listed = 0;
    jl += (size_t)snprintf(fu->json, sizeof fu->json, "[");
    for (size_t i = 0; i < n; i++) {
        uint64_t key = hs_addr_key(&tg[i]);
        /* the fc entries of this address: a binary search for the first */
        size_t lo = 0, hi = h->n_fc;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (h->fc[mid].a < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        int counted = 0, lateral = 0;
        for (size_t k = lo; k < h->n_fc && h->fc[k].a == key; k++) {
            const hs_fc_t *c = &h->fc[k];
            if (c->t <= h->scan_done)
                continue;
            counted = 1;
            fu->last = c->t > fu->last ? c->t : fu->last;
            int lat = c->proto == 6 && hc_port_listed(cfg->lateral_tcp, c->port);
            lateral |= lat;
            if (listed++ >= HS_FOLLOW_LIST)
                continue;
            char a[FLOW_ADDR_STRLEN], pb[8], at[32], where[FLOW_ADDR_STRLEN + 24];
            flow_addr_format(&tg[i], a);
            const char *pn = hr_proto_name(c->proto, pb);
            timearg_format_iso(c->t, at);
            hr_peer_port(where, sizeof where, a, c->port, c->proto);
            if (tl < sizeof fu->text)
                tl += (size_t)snprintf(fu->text + tl, sizeof fu->text - tl, "%s%s at %s",
                                       listed > 1 ? ", " : "", where, at);
            if (jl < sizeof fu->json)
                jl += (size_t)snprintf(fu->json + jl, sizeof fu->json - jl,
                                       "%s{\"target\":\"%s\",\"port\":%u,\"proto\":\"%s\","
                                       "\"at\":\"%s\",\"lateral\":%s}",
                                       listed > 1 ? "," : "", a, c->port, pn, at,
                                       lat ? "true" : "false");
        }
        fu->contacted += (size_t)counted;
        fu->lateral += (size_t)lateral;
    }
    if (jl < sizeof fu->json)
        snprintf(fu->json + jl, sizeof fu->json - jl, "]");
    /* a list cut by the buffer (IPv6 targets) is not JSON: say so rather than print half */
    if (jl + 1 >= sizeof fu->json)
        snprintf(fu->json, sizeof fu->json, "[]");
}

/* Remembers a reported internal scan's answering targets (each once, in the group's order)
 * for hs_follow_apply. */
static void hs_follow_defer(hs_state_t *s, hunt_finding_t *f, const hs_ev_t *ev, size_t n)
{
    if (s->n_pend == s->cap_pend) {
        s->cap_pend = s->cap_pend ? 2 * s->cap_pend : 16;
        s->pend = hj_xrealloc(s->pend, s->cap_pend * sizeof *s->pend);
    }
    hs_pend_t *p = &s->pend[s->n_pend++];
    *p = (hs_pend_t){f, s->n_tg, 0};
    hj_map_t seen = {0};
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].answered || !hc_is_internal(s->cfg, &ev[i].dst))
            continue;
        uint64_t *v = hj_map_ins(&seen, hs_addr_key(&ev[i].dst));
        if ((*v)++)
            continue;
        if (s->n_tg == s->cap_tg) {
            s->cap_tg = s->cap_tg ? 2 * s->cap_tg : 64;
            s->tg = hj_xrealloc(s->tg, s->cap_tg * sizeof *s->tg);
        }
        s->tg[s->n_tg++] = ev[i].dst;
        p->n++;
    }
    hj_map_free(&seen);
}

/* The host's reported internal scans, once all of them are known: their follow-ups as
 * evidence, and a remote-service session makes the finding Critical and T1021. */
static void hs_follow_apply(hs_state_t *s, hs_host_t *h)
{
    for (size_t i = 0; i < s->n_pend; i++) {
        const hs_pend_t *p = &s->pend[i];
        if (!p->n)
            continue;
        hunt_finding_t *f = p->f;
        hs_follow_t fu;
        hs_follow_ups(s->cfg, h, s->tg + p->first, p->n, &fu);
        char t[700], j[1200];
        snprintf(t, sizeof t,
                 "%zu of the %zu internal targets that answered were contacted afterwards%s%s",
                 fu.contacted, fu.answered, fu.contacted ? ": " : "", fu.text);
        snprintf(j, sizeof j,
                 "{\"answered_targets\":%zu,\"contacted_after\":%zu,\"lateral\":%s,"
                 "\"contacts\":%s}",
                 fu.answered, fu.contacted, fu.lateral ? "true" : "false", fu.json);
        hev_raw(&f->ev, "follow_up", j, t);
        /* the finding's span, and so its cat filter's window, takes the contacts in */
        if (fu.last > f->last_seen)
            f->last_seen = fu.last;
        if (!fu.lateral)
            continue;
        f->risk = HUNT_RISK_CRITICAL;
        hunt_finding_tech(f, "T1021");
        /* the headline says what made it Critical */
        size_t sl = strlen(f->summary);
        if (snprintf(f->summary + sl, sizeof f->summary - sl,
                     "; then remote-service sessions to %zu of the targets that answered",
                     fu.lateral) >= (int)(sizeof f->summary - sl))
            memcpy(f->summary + sizeof f->summary - 4, "...", 4);
        char host[FLOW_ADDR_STRLEN];
        flow_addr_format(&h->host, host);
        snprintf(f->action, sizeof f->action,
                 "Contain now: isolate %s unless it is an authorised scanner (then add it to "
                 "[allow] with the reason): after its scans it opened remote-service sessions to "
                 "targets that answered them (follow_up); treat those targets as compromised too "
                 "and look for what %s ran on them.",
                 host, host);
    }
    s->n_pend = s->n_tg = 0;
}

enum { HS_HORIZONTAL, HS_VERTICAL, HS_SWEEP };

/* A threshold as it applies to what 1:N sampling left of a host's attempts. A probe is one
 * packet, kept with probability 1/N, so a sweep of 171 targets leaves about 17 and a slow scan
 * under the unsampled threshold's 50 in a day was lost at 1:10 whatever its size. Divided by N
 * (the distinct items seen, scaled, against the threshold), but never below sampled_floor: a
 * handful of failures is no evidence at any rate, and a benign host's multi-packet failures
 * survive more often than one in N, so the floor is what keeps them out. TCP only: there a
 * sampled attempt is still known for one (a bare SYN, or a RST back), while a UDP or ICMP
 * record's failure is its missing answer, which sampling takes away from sessions too (a QUIC
 * client's 20 servers at 1:100 and a ping monitor's 22 hosts at 1:10 read as scans). */
static double hs_threshold(const hunt_config_t *cfg, double th, uint32_t sampling)
{
    if (sampling <= 1)
        return th;
    double floor = cfg->s_sampled_floor < th ? cfg->s_sampled_floor : th;
    double scaled = th / sampling;
    return scaled > floor ? scaled : floor;
}

static void hs_report(hs_state_t *s, hs_host_t *h, const hs_ev_t *ev, size_t n, int type,
                      hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    int vertical = type == HS_VERTICAL;
    hs_win_t fast, slow;
    hs_window(ev, n, (uint64_t)(cfg->s_fast_win * 1000), vertical, &fast);
    hs_window(ev, n, (uint64_t)(cfg->s_slow_win * 1000), vertical, &slow);
    uint64_t distinct = hs_distinct(ev, n, vertical);
    double th_fast0 = type == HS_HORIZONTAL ? cfg->s_fast_h
                      : vertical            ? cfg->s_fast_v
                                            : cfg->s_icmp_fast;
    double th_slow0 = type == HS_HORIZONTAL ? cfg->s_slow_h
                      : vertical            ? cfg->s_slow_v
                                            : cfg->s_icmp_slow;
    uint32_t scale = ev[0].proto == 6 && h->sampling > 1 ? h->sampling : 1;
    double th_fast = hs_threshold(cfg, th_fast0, scale);
    double th_slow = hs_threshold(cfg, th_slow0, scale);
    if (fast.max < th_fast && slow.max < th_slow)
        return; /* too few in any window: no ratio can make it a scan */
    /* the resolver in practice of the hosts (known only now that every pass is counted) */
    if (type == HS_HORIZONTAL && ev[0].port == 53 && hunt_resolver_in_practice(s->ctx, &h->host))
        return;
    /* successes on the same port (horizontal) or target (vertical) */
    uint64_t succ = 0;
    if (type == HS_HORIZONTAL) {
        uint64_t *v = hj_map_get(&h->succ_by_port, (uint64_t)ev[0].proto << 16 | ev[0].port);
        succ = v ? *v : 0;
    } else if (vertical) {
        uint64_t *v = hj_map_get(&h->succ_by_dst, hs_addr_key(&ev[0].dst) ^ ev[0].proto);
        succ = v ? *v : 0;
    }
    double ratio = (double)distinct / (double)(distinct + succ);
    /* A sweep's failures are its silent targets: every live host answers an echo request, so
     * a sweep of unknown addresses is mostly unanswered ("many dsts with few replies",
     * hunting-methods.md 2.7), while a host that pings the same 185 servers all day, each
     * answering, is measuring them. Its slow window takes the failure ratio as a scan's. */
    uint64_t silent = 0;
    if (type == HS_SWEEP) {
        hj_map_t heard = {0};
        for (size_t i = 0; i < n; i++)
            if (ev[i].answered)
                hj_map_ins(&heard, hs_item(&ev[i], 0));
        silent = distinct - (heard.n < distinct ? heard.n : distinct);
        hj_map_free(&heard);
        ratio = distinct ? (double)silent / (double)distinct : 0;
    }
    /* Fast too: a host asking mostly answering targets again and again (a ping monitor, 40
     * servers every minute) is measuring them; a sweep asks each once or twice. */
    int monitor = type == HS_SWEEP && ratio < cfg->s_fail_ratio && n >= 3 * distinct;
    int is_fast = fast.max >= th_fast && !monitor;
    int is_slow = slow.max >= th_slow && ratio >= cfg->s_fail_ratio;
    if (!is_fast && !is_slow)
        return;
    int internal = hs_internal_targets(cfg, ev, n);
    int huge = fast.max >= th_fast * cfg->s_crit;
    int risk;
    if (type == HS_SWEEP)
        risk = huge ? HUNT_RISK_HIGH : HUNT_RISK_MEDIUM;
    else if (internal)
        risk = huge && type == HS_HORIZONTAL && ev[0].proto == 6 &&
                       ((cfg->lateral_tcp[ev[0].port >> 3] >> (ev[0].port & 7)) & 1)
                   ? HUNT_RISK_CRITICAL
                   : HUNT_RISK_HIGH;
    else
        risk = huge ? HUNT_RISK_HIGH : HUNT_RISK_MEDIUM;

    hunt_finding_t *f = hunt_finding_new(out, "scan");
    hunt_finding_tech(f, "T1046");
    f->host = h->host;
    f->proto = ev[0].proto;
    f->risk = risk;
    uint64_t peak = is_fast ? fast.max : slow.max;
    double th = is_fast ? th_fast : th_slow;
    f->score = (double)peak / th;
    uint64_t first = ev[0].t, last = ev[0].t;
    /* half-open: answered (SYN|ACK) and reset by the scanner, a SYN scan's open port */
    uint64_t unanswered = 0, rejected = 0, answered = 0, half_open = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].t < first)
            first = ev[i].t;
        if (ev[i].t > last)
            last = ev[i].t;
        unanswered += !ev[i].answered;
        rejected += ev[i].rejected;
        answered += ev[i].answered;
        half_open += ev[i].answered && !ev[i].rejected && ev[i].proto == 6;
    }
    f->first_seen = first;
    /* what it led to is judged after the host's last reported scan (hs_follow_apply) */
    if (last > h->scan_done)
        h->scan_done = last;
    if (internal)
        hs_follow_defer(s, f, ev, n);
    f->last_seen = last;
    int conf = (is_fast && peak >= 2 * th_fast) || ratio >= 0.8 ? HUNT_CONF_HIGH : HUNT_CONF_MEDIUM;
    if (!is_fast)
        conf = ratio >= 0.9 && peak >= 2 * th_slow ? HUNT_CONF_MEDIUM : HUNT_CONF_LOW;
    if (h->sampling >= 100)
        conf = HUNT_CONF_LOW;
    else if (h->sampling > 1 && conf > HUNT_CONF_LOW)
        conf--;
    f->confidence = conf;
    char host[FLOW_ADDR_STRLEN], pb[8], tgt[FLOW_ADDR_STRLEN];
    flow_addr_format(&h->host, host);
    const char *proto = hr_proto_name(ev[0].proto, pb);
    const char *speed = is_fast ? "fast" : "slow";
    const hs_win_t *pw = is_fast ? &fast : &slow;
    char span[32];
    hs_span_text(pw->at_end - pw->at_start, span, sizeof span);
    if (type == HS_HORIZONTAL) {
        f->port = ev[0].port;
        hs_peer_net(ev, n, f->peer, sizeof f->peer);
        snprintf(f->summary, sizeof f->summary,
                 "%s swept %llu %s targets%s%s on %u/%s (%s horizontal scan: %llu targets in "
                 "%s)",
                 host, (unsigned long long)distinct, internal ? "internal" : "external",
                 f->peer[0] ? " in " : "", f->peer, ev[0].port, proto, speed,
                 (unsigned long long)peak, span);
        if (f->peer[0] && strchr(f->peer, '/'))
            snprintf(f->filter, sizeof f->filter,
                     "src host %s and dst net %s and dst port %u and proto %s", host, f->peer,
                     ev[0].port, proto);
        else
            snprintf(f->filter, sizeof f->filter, "src host %s and dst port %u and proto %s", host,
                     ev[0].port, proto);
    } else if (vertical) {
        flow_addr_format(&ev[0].dst, tgt);
        snprintf(f->peer, sizeof f->peer, "%s", tgt);
        snprintf(f->summary, sizeof f->summary,
                 "%s probed %llu %s ports on %s %s (%s vertical scan: %llu ports in %s)", host,
                 (unsigned long long)distinct, proto, internal ? "internal" : "external", tgt,
                 speed, (unsigned long long)peak, span);
        snprintf(f->filter, sizeof f->filter, "src host %s and dst host %s and proto %s", host, tgt,
                 proto);
    } else {
        hs_peer_net(ev, n, f->peer, sizeof f->peer);
        snprintf(f->summary, sizeof f->summary,
                 "%s sent ICMP echo requests to %llu %s targets%s%s (%s sweep: %llu targets in "
                 "%s, %llu answered)",
                 host, (unsigned long long)distinct, internal ? "internal" : "external",
                 f->peer[0] ? " in " : "", f->peer, speed, (unsigned long long)peak, span,
                 (unsigned long long)answered);
        snprintf(f->filter, sizeof f->filter, "src host %s and proto %s", host, proto);
    }
    const char *what = type == HS_HORIZONTAL ? "horizontal" : vertical ? "vertical" : "icmp-sweep";
    /* what answered: half-open probes and connections that succeeded on the port/target */
    uint64_t open = half_open + (type == HS_SWEEP ? 0 : succ);
    if (risk >= HUNT_RISK_HIGH && open && !internal)
        /* Lateral movement is between internal hosts: what answered outside is an external
         * service the host may attack or use next, a matter for the host, the egress and the
         * target's owner (abuse reports), not the internal targets' compromise. */
        snprintf(f->action, sizeof f->action,
                 "Contain: isolate %s unless it is an authorised scanner (then add it to [allow] "
                 "with the reason); identify the scanning process and check what %s did next "
                 "with the external services that answered (%llu half-open or connected on %s): "
                 "block them at the egress while it is investigated.",
                 host, host, (unsigned long long)open, f->peer);
    else if (risk >= HUNT_RISK_HIGH && open)
        snprintf(f->action, sizeof f->action,
                 "Contain: isolate %s unless it is an authorised scanner (then add it to [allow] "
                 "with the reason); identify the scanning process and look for lateral movement "
                 "from %s to the targets that answered (%llu half-open or connected).",
                 host, host, (unsigned long long)open);
    else if (risk >= HUNT_RISK_HIGH)
        snprintf(f->action, sizeof f->action,
                 "Contain: isolate %s unless it is an authorised scanner (then add it to [allow] "
                 "with the reason); identify the scanning process: none of its probes reached an "
                 "open service, so look for other hosts that scan the same way.",
                 host);
    else
        snprintf(f->action, sizeof f->action,
                 "Investigate: confirm with the owner of %s whether this %s scan is authorised "
                 "(inventory, vulnerability management); if not, treat %s as compromised.",
                 host, what, host);
    hev_t *e = &f->ev;
    hev_str(e, "scan_type", what);
    hev_int(e, vertical ? "distinct_failed_ports" : "distinct_targets", (int64_t)distinct);
    hev_int(e, "attempts", (int64_t)n);
    hev_int(e, "unanswered", (int64_t)unanswered);
    hev_int(e, "rejected", (int64_t)rejected);
    if (ev[0].proto == 6)
        hev_int(e, "half_open", (int64_t)half_open); /* answered, reset by the scanner */
    if (type == HS_SWEEP) {
        hev_int(e, "answered", (int64_t)answered);
        hev_int(e, "silent_targets", (int64_t)silent);
    } else {
        hev_int(e, vertical ? "successful_ports" : "successful_targets", (int64_t)succ);
    }
    hev_num(e, "failure_ratio", ratio, 3);
    char t[256], j[256], a1[32], a2[32];
    timearg_format_iso(fast.at_start, a1);
    timearg_format_iso(fast.at_end, a2);
    /* a threshold scaled for sampling says so: "threshold 20 at 1:10 sampling, 50 unsampled" */
    char scaled[64] = "", jscaled[48] = "";
    if (scale > 1) {
        snprintf(scaled, sizeof scaled, " at 1:%u sampling, %g unsampled", scale, th_fast0);
        snprintf(jscaled, sizeof jscaled, ",\"threshold_unsampled\":%g", th_fast0);
    }
    snprintf(t, sizeof t, "%llu (threshold %g%s) from %s to %s", (unsigned long long)fast.max,
             th_fast, scaled, a1, a2);
    snprintf(j, sizeof j,
             "{\"max\":%llu,\"threshold\":%g%s,\"window_s\":%g,\"from\":\"%s\",\"to\":\"%s\"}",
             (unsigned long long)fast.max, th_fast, jscaled, cfg->s_fast_win, a1, a2);
    hev_raw(e, "fast_window", j, t);
    timearg_format_iso(slow.at_start, a1);
    timearg_format_iso(slow.at_end, a2);
    if (scale > 1) {
        snprintf(scaled, sizeof scaled, " at 1:%u sampling, %g unsampled", scale, th_slow0);
        snprintf(jscaled, sizeof jscaled, ",\"threshold_unsampled\":%g", th_slow0);
    }
    snprintf(t, sizeof t, "%llu (threshold %g%s, failure ratio >= %g) from %s to %s",
             (unsigned long long)slow.max, th_slow, scaled, cfg->s_fail_ratio, a1, a2);
    snprintf(j, sizeof j,
             "{\"max\":%llu,\"threshold\":%g%s,\"window_s\":%g,\"from\":\"%s\",\"to\":\"%s\"}",
             (unsigned long long)slow.max, th_slow, jscaled, cfg->s_slow_win, a1, a2);
    hev_raw(e, "slow_window", j, t);
    hev_bool(e, "internal_targets", internal);
    hs_list_targets(e, ev, n, vertical);
    hev_int(e, "sampling", h->sampling ? h->sampling : 1);
    if (h->evicted) {
        snprintf(t, sizeof t, "%llu attempts beyond max_events_per_host=%g were counted, not kept",
                 (unsigned long long)h->evicted, cfg->s_max_ev);
        hev_str(e, "evicted", t);
    }
    hs_pics(f, ev, n, vertical);
    hunt_finding_allow(cfg, f, 1);
}

/* The pass's distinct successful contacts per host, by port and by target. A pass holds every
 * conversation of a (host, target) pair, so each contact is counted once over all passes; a
 * sort of the pass's contacts does it, where a per-host table of every contact ever seen grew
 * over the whole window and cost a lookup per conversation. The rest of the per-host state
 * spans passes: a scanner's targets fall in many. */
static void hs_part_end(void *st)
{
    hs_state_t *s = st;
    size_t n = s->n_succ;
    hp_skey_t *k = hj_xmalloc((n ? n : 1) * sizeof *k);
    for (size_t i = 0; i < n; i++)
        k[i] = (hp_skey_t){{s->succ[i].host, s->succ[i].k, 0}, &s->succ[i]};
    hp_sort_keys(k, n, NULL);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && k[i].w[0] == k[i - 1].w[0] && k[i].w[1] == k[i - 1].w[1])
            continue;
        const hs_succ_t *c = k[i].p;
        hs_host_t *h = hj_vec_at(&s->hosts, c->host);
        (*hj_map_ins(&h->succ_by_port, c->port_key))++;
        (*hj_map_ins(&h->succ_by_dst, c->dst_key))++;
        if (c->internal) {
            if (h->n_fc >= (size_t)s->cfg->s_max_ev) {
                h->fc_evicted++;
                continue;
            }
            if (h->n_fc == h->cap_fc) {
                h->cap_fc = h->cap_fc ? 2 * h->cap_fc : 16;
                h->fc = hj_xrealloc(h->fc, h->cap_fc * sizeof *h->fc);
            }
            h->fc[h->n_fc++] = (hs_fc_t){c->t, c->dst_key ^ (c->port_key >> 16),
                                         (uint16_t)c->port_key, (uint8_t)(c->port_key >> 16)};
        }
    }
    free(k);
    free(s->succ);
    s->succ = NULL;
    s->n_succ = s->cap_succ = 0;
    memset(s->seen, 0, sizeof s->seen);
}

static void hs_groups(hs_state_t *s, hs_host_t *h, int vertical, hunt_findings_t *out)
{
    qsort_r(h->ev, h->n, sizeof *h->ev, hs_cmp_ev, &vertical);
    for (size_t i = 0; i < h->n;) {
        size_t j = i + 1;
        while (j < h->n && h->ev[j].kind == h->ev[i].kind && h->ev[j].proto == h->ev[i].proto &&
               (h->ev[i].kind == HS_ECHO ? 1
                : vertical               ? memcmp(h->ev[j].dst.b, h->ev[i].dst.b, 16) == 0
                                         : h->ev[j].port == h->ev[i].port))
            j++;
        int echo = h->ev[i].kind == HS_ECHO;
        if (echo && !vertical)
            hs_report(s, h, h->ev + i, j - i, HS_SWEEP, out);
        else if (!echo)
            hs_report(s, h, h->ev + i, j - i, vertical ? HS_VERTICAL : HS_HORIZONTAL, out);
        i = j;
    }
}

static void hs_probe_report(hs_state_t *s, hs_host_t *h, const hs_probe_t *p,
                            hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    int internal = hc_is_internal(cfg, &p->dst) != 0;
    hunt_finding_t *f = hunt_finding_new(out, "scan");
    hunt_finding_tech(f, "T1046");
    f->host = h->host;
    f->proto = 6;
    f->risk = internal ? HUNT_RISK_HIGH : HUNT_RISK_MEDIUM;
    f->confidence = h->sampling > 1 ? HUNT_CONF_LOW : HUNT_CONF_MEDIUM;
    f->score = p->best_conns / cfg->s_probe;
    f->first_seen = p->best_t0;
    f->last_seen = p->best_t1;
    char host[FLOW_ADDR_STRLEN];
    flow_addr_format(&h->host, host);
    flow_addr_format(&p->dst, f->peer);
    snprintf(f->summary, sizeof f->summary,
             "%s probed services of %s %s: %u half-open SYN probe%s and %u TCP connections within "
             "%g s (service probing, nmap -sV/-A style)",
             host, internal ? "internal" : "external", f->peer, p->best_half,
             p->best_half == 1 ? "" : "s", p->best_conns - p->best_half, cfg->s_fast_win);
    snprintf(f->filter, sizeof f->filter, "src host %s and dst host %s and proto tcp", host,
             f->peer);
    snprintf(f->action, sizeof f->action,
             "Investigate: confirm with the owner of %s whether probing %s is authorised "
             "(vulnerability management); if not, identify the process that opened the "
             "connections and treat %s as compromised.",
             host, f->peer, host);
    hev_str(&f->ev, "scan_type", "service-probe");
    hev_int(&f->ev, "half_open_probes", p->best_half);
    hev_int(&f->ev, "connections_in_window", p->best_conns); /* the half-open probes too */
    hev_num(&f->ev, "threshold", cfg->s_probe, 0);
    hev_bool(&f->ev, "internal_targets", internal);
    hunt_finding_allow(cfg, f, 1);
}

/* ---- the sequential test (TRW) -----------------------------------------------------------
 * The addresses seen alive in the window: every internal address that answered an internal
 * host's attempt or contact. (Those that originated anything are preparation's to say, asked
 * through the prevalence callback: HP_PREV_HOST.) */
static void hs_trw_live(hs_state_t *s, hj_map_t *live)
{
    for (size_t i = 0; i < s->hosts.n; i++) {
        const hs_host_t *h = (const hs_host_t *)s->hosts.v + i;
        for (size_t k = 0; k < h->n_fc; k++)
            hj_map_ins(live, h->fc[k].a);
        for (size_t k = 0; k < h->n; k++)
            if (h->ev[k].answered)
                hj_map_ins(live, hs_addr_key(&h->ev[k].dst));
    }
}

/* An IPv4 address ending in .0 or .255 is a network's or a broadcast address on the usual
 * subnets: dark by nature (NetBIOS and SSDP announce to them), so it is no one's target. */
static int hs_trw_skip(const flow_addr_t *a)
{
    return flow_addr_is_v4(a) && (a->b[15] == 0 || a->b[15] == 255);
}

typedef struct hs_fct {
    uint64_t t, a;
    const hs_ev_t *ev; /* the attempt; NULL for a successful contact */
    int live;
} hs_fct_t;

static int hs_cmp_fct_addr(const void *pa, const void *pb)
{
    const hs_fct_t *x = pa, *y = pb;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->ev != NULL) - (y->ev != NULL);
}

static int hs_cmp_fct_time(const void *pa, const void *pb)
{
    const hs_fct_t *x = pa, *y = pb;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->a < y->a ? -1 : x->a > y->a;
}

/* The host's first contact with each internal address, in time order, each marked alive or
 * dark; malloc'd in *out (NULL when there are none). Returns how many. */
static size_t hs_trw_firsts(hs_state_t *s, const hs_host_t *h, const hj_map_t *live,
                            hs_fct_t **out)
{
    const hunt_ctx_t *ctx = s->ctx;
    size_t n = 0;
    hs_fct_t *v = hj_xmalloc((h->n_fc + h->n + 1) * sizeof *v);
    for (size_t k = 0; k < h->n_fc; k++)
        v[n++] = (hs_fct_t){h->fc[k].t, h->fc[k].a, NULL, 1};
    for (size_t k = 0; k < h->n; k++) {
        const hs_ev_t *e = &h->ev[k];
        if (!hc_is_internal(s->cfg, &e->dst) || hs_trw_skip(&e->dst) ||
            memcmp(e->dst.b, h->host.b, 16) == 0)
            continue;
        v[n++] = (hs_fct_t){e->t, hs_addr_key(&e->dst), e, e->answered};
    }
    qsort(v, n, sizeof *v, hs_cmp_fct_addr);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].a == v[i].a)
            j++;
        /* the live set holds every address answered, so also any of this one's */
        int alive = v[i].live || hj_map_get(live, v[i].a) != NULL;
        /* a dark candidate is an attempt (successful contacts are alive), so it has the address */
        if (!alive && ctx->prevalence && ctx->prevalence(ctx->prep_state, &v[i].ev->dst,
                                                         HP_PREV_HOST))
            alive = 1;
        v[m] = v[i];
        v[m++].live = alive;
        i = j;
    }
    qsort(v, m, sizeof *v, hs_cmp_fct_time);
    *out = v;
    return m;
}

typedef struct hs_trw {
    size_t at;           /* index of the first contact that decided */
    size_t walk0;        /* where the deciding walk began (after the last benign decision) */
    size_t dark, alive;  /* in the deciding walk */
    double lr;           /* its likelihood ratio */
} hs_trw_t;

/* Walks the first contacts v[0..n): Jung et al.'s test, restarted after each benign decision
 * (a host is watched all window, not judged once). 1 and *d when it decides "scanner" with
 * at least trw_min_dark dark targets in the walk, else 0. */
static int hs_trw_walk(const hunt_config_t *cfg, const hs_fct_t *v, size_t n, hs_trw_t *d)
{
    double t0 = cfg->s_trw_theta0, t1 = cfg->s_trw_theta1;
    double up = log((1 - t1) / (1 - t0)), down = log(t1 / t0);
    double hi = log(cfg->s_trw_beta / cfg->s_trw_alpha);
    double lo = log((1 - cfg->s_trw_beta) / (1 - cfg->s_trw_alpha));
    double l = 0;
    size_t dark = 0, alive = 0, walk0 = 0;
    for (size_t i = 0; i < n; i++) {
        l += v[i].live ? down : up;
        dark += !v[i].live;
        alive += v[i].live != 0;
        if (l <= lo) {
            l = 0;
            dark = alive = 0;
            walk0 = i + 1;
        } else if (l >= hi && dark >= (size_t)cfg->s_trw_min_dark) {
            *d = (hs_trw_t){i, walk0, dark, alive, exp(l)};
            return 1;
        }
    }
    return 0;
}

static void hs_trw_report(hs_state_t *s, hs_host_t *h, const hs_fct_t *v, size_t n,
                          const hs_trw_t *d, hunt_findings_t *out)
{
    const hunt_config_t *cfg = s->cfg;
    /* every dark target of the window, as attempts, for the peer, the sample and the picture */
    hs_ev_t *dk = hj_xmalloc(n * sizeof *dk);
    size_t nd = 0;
    for (size_t i = 0; i < n; i++)
        if (!v[i].live)
            dk[nd++] = *v[i].ev;
    int one_port = 1, one_proto = 1;
    for (size_t i = 1; i < nd; i++) {
        one_proto &= dk[i].proto == dk[0].proto;
        one_port &= dk[i].proto == dk[0].proto && dk[i].port == dk[0].port;
    }
    hunt_finding_t *f = hunt_finding_new(out, "scan");
    hunt_finding_tech(f, "T1046");
    f->host = h->host;
    f->proto = one_proto ? dk[0].proto : 0;
    f->port = one_port && hunt_has_ports(dk[0].proto) ? dk[0].port : -1;
    f->risk = HUNT_RISK_MEDIUM;
    f->confidence = nd >= 2 * (size_t)cfg->s_trw_min_dark ? HUNT_CONF_MEDIUM : HUNT_CONF_LOW;
    double eta1 = cfg->s_trw_beta / cfg->s_trw_alpha;
    f->score = log(d->lr) / log(eta1);
    /* the dark targets' span (the walk that decided may begin with live contacts hours before) */
    f->first_seen = f->last_seen = dk[0].t;
    for (size_t i = 1; i < nd; i++)
        f->last_seen = dk[i].t > f->last_seen ? dk[i].t : f->last_seen;
    hs_peer_net(dk, nd, f->peer, sizeof f->peer);
    char host[FLOW_ADDR_STRLEN], pb[8], on[48] = "", at[32];
    flow_addr_format(&h->host, host);
    const char *proto = hr_proto_name(dk[0].proto, pb);
    if (f->port >= 0)
        snprintf(on, sizeof on, " on %d/%s", f->port, proto);
    else if (one_proto)
        snprintf(on, sizeof on, " over %s", proto);
    timearg_format_iso(v[d->at].t, at);
    /* an IPv6 host and network may not fit: the evidence keeps the whole story */
    if (snprintf(f->summary, sizeof f->summary,
                 "%s tried %zu internal addresses that nobody saw alive%s%s%s: the sequential "
                 "test (TRW) called it a scanner after %zu first contacts, %zu of them dark "
                 "(likelihood ratio %.3g >= %g)",
                 host, nd, f->peer[0] ? " in " : "", f->peer, on, d->at - d->walk0 + 1, d->dark,
                 d->lr, eta1) >= (int)sizeof f->summary)
        memcpy(f->summary + sizeof f->summary - 4, "...", 4);
    size_t fl = (size_t)snprintf(f->filter, sizeof f->filter, "src host %s", host);
    if (f->peer[0])
        fl += (size_t)snprintf(f->filter + fl, sizeof f->filter - fl, " and dst %s %s",
                               strchr(f->peer, '/') ? "net" : "host", f->peer);
    if (f->port >= 0)
        fl += (size_t)snprintf(f->filter + fl, sizeof f->filter - fl, " and dst port %d",
                               f->port);
    if (one_proto && fl < sizeof f->filter)
        snprintf(f->filter + fl, sizeof f->filter - fl, " and proto %s", proto);
    snprintf(f->action, sizeof f->action,
             "Investigate: find the process on %s that tried addresses where nothing answers (a "
             "worm or an implant mapping the network stays under the scan thresholds this way; a "
             "configuration that lists retired servers does it too: compare the sample with the "
             "inventory); if it is neither, treat %s as compromised.",
             host, host);
    hev_t *e = &f->ev;
    hev_str(e, "scan_type", "trw");
    hev_int(e, "first_contacts", (int64_t)n);
    hev_int(e, "dark_targets", (int64_t)nd);
    hev_int(e, "live_targets", (int64_t)(n - nd));
    char t[256], j[320];
    snprintf(t, sizeof t,
             "after %zu first contacts (%zu dark, %zu alive) at %s: likelihood ratio %.4g >= %g",
             d->at - d->walk0 + 1, d->dark, d->alive, at, d->lr, eta1);
    snprintf(j, sizeof j,
             "{\"first_contacts\":%zu,\"dark\":%zu,\"alive\":%zu,\"at\":\"%s\","
             "\"likelihood_ratio\":%.4g,\"threshold\":%g}",
             d->at - d->walk0 + 1, d->dark, d->alive, at, d->lr, eta1);
    hev_raw(e, "decision", j, t);
    snprintf(t, sizeof t, "theta0 %g, theta1 %g, alpha %g, beta %g, at least %g dark",
             cfg->s_trw_theta0, cfg->s_trw_theta1, cfg->s_trw_alpha, cfg->s_trw_beta,
             cfg->s_trw_min_dark);
    snprintf(j, sizeof j,
             "{\"theta0\":%g,\"theta1\":%g,\"alpha\":%g,\"beta\":%g,\"min_dark\":%g}",
             cfg->s_trw_theta0, cfg->s_trw_theta1, cfg->s_trw_alpha, cfg->s_trw_beta,
             cfg->s_trw_min_dark);
    hev_raw(e, "trw_model", j, t);
    hev_bool(e, "internal_targets", 1);
    hs_list_targets(e, dk, nd, 0);
    hev_int(e, "sampling", h->sampling ? h->sampling : 1);
    if (h->evicted || h->fc_evicted) {
        snprintf(t, sizeof t,
                 "%llu attempts and %llu successful contacts beyond max_events_per_host=%g were "
                 "counted, not kept",
                 (unsigned long long)h->evicted, (unsigned long long)h->fc_evicted, cfg->s_max_ev);
        hev_str(e, "evicted", t);
    }
    hs_pics(f, dk, nd, 0);
    hunt_finding_allow(cfg, f, 1);
    free(dk);
}

static void hs_trw(hs_state_t *s, hs_host_t *h, const hj_map_t *live, hunt_findings_t *out)
{
    if (h->sampling > 1 || h->n == 0)
        return; /* no attempt, no dark target */
    hs_fct_t *v = NULL;
    size_t n = hs_trw_firsts(s, h, live, &v);
    hs_trw_t d;
    if (hs_trw_walk(s->cfg, v, n, &d))
        hs_trw_report(s, h, v, n, &d, out);
    free(v);
}

static void hs_finish(void *st, hunt_findings_t *out)
{
    hs_state_t *s = st;
    hj_map_t live = {0};
    if (s->cfg->s_trw_min_dark > 0)
        hs_trw_live(s, &live);
    for (size_t i = 0; i < s->hosts.n; i++) {
        hs_host_t *h = (hs_host_t *)s->hosts.v + i;
        size_t had = out->n;
        for (size_t k = 0; k < h->n_pr; k++)
            if (h->pr[k].best_half && h->pr[k].best_conns >= s->cfg->s_probe)
                hs_probe_report(s, h, &h->pr[k], out);
        if (h->n == 0)
            continue;
        hs_groups(s, h, 0, out);
        hs_groups(s, h, 1, out);
        hs_follow_apply(s, h);
        /* a host the thresholds name already is a scanner: the test would only repeat it */
        if (out->n == had && s->cfg->s_trw_min_dark > 0)
            hs_trw(s, h, &live, out);
    }
    hj_map_free(&live);
}

static void hs_destroy(void *st)
{
    hs_state_t *s = st;
    if (!s)
        return;
    for (size_t i = 0; i < s->hosts.n; i++) {
        hs_host_t *h = (hs_host_t *)s->hosts.v + i;
        free(h->ev);
        hj_map_free(&h->succ_by_port);
        hj_map_free(&h->succ_by_dst);
        hj_map_free(&h->probed);
        for (size_t k = 0; k < h->n_pr; k++)
            free(h->pr[k].q);
        free(h->pr);
        free(h->fc);
    }
    hj_vec_free(&s->hosts);
    hj_intern_free(&s->keys);
    free(s->succ);
    free(s->pend);
    free(s->tg);
    free(s);
}

const hunt_ops_t hs_ops = {"scan", hs_create, hs_feed, hs_part_end, hs_finish, hs_destroy, 8};
