/* exporter.c: the exporter table; all Judy calls of the collector's accounting live here.
 *
 * Judy arrays give ordered, memory-tight maps without a hash to tune. JudyHS looks exporters
 * up by their 16 address bytes; JudyL looks domains up by (version, domain). Judy reports
 * out-of-memory through its error struct; every call below checks it and degrades to
 * "not tracked" (counted) rather than aborting the collector.
 */
#include "exporter.h"

#include <Judy.h>

#include "seg.h"
#include <stdlib.h>
#include <string.h>

void exp_table_init_bounds(exp_table_t *t, uint32_t max_exporters, uint32_t max_domains,
                           uint32_t max_domains_total)
{
    memset(t, 0, sizeof *t);
    t->max_exporters = max_exporters < 1                   ? 1
                       : max_exporters > EXP_MAX_EXPORTERS ? EXP_MAX_EXPORTERS
                                                           : max_exporters;
    t->max_domains = max_domains < 1                 ? 1
                     : max_domains > EXP_MAX_DOMAINS ? EXP_MAX_DOMAINS
                                                     : max_domains;
    t->max_domains_total = max_domains_total < t->max_domains          ? t->max_domains
                           : max_domains_total > EXP_MAX_DOMAINS_TOTAL ? EXP_MAX_DOMAINS_TOTAL
                                                                       : max_domains_total;
}

void exp_table_init_limits(exp_table_t *t, uint32_t max_exporters, uint32_t max_domains)
{
    exp_table_init_bounds(t, max_exporters, max_domains, EXP_MAX_DOMAINS_TOTAL);
}

void exp_table_init(exp_table_t *t)
{
    exp_table_init_limits(t, EXP_MAX_EXPORTERS, EXP_MAX_DOMAINS);
}

static void exp_exporter_free(exp_exporter_t *e)
{
    JError_t je;
    for (uint32_t i = 0; i < e->n_domains; i++)
        free(e->domains[i]);
    free(e->domains);
    JudyLFreeArray((PPvoid_t)&e->domains_judy, &je);
    free(e);
}

void exp_table_free(exp_table_t *t)
{
    JError_t je;
    for (uint32_t i = 0; i < t->n_exporters; i++)
        exp_exporter_free(t->list[i]);
    free(t->list);
    JudyHSFreeArray((PPvoid_t)&t->by_addr_judy, &je);
    memset(t, 0, sizeof *t);
}

/* Makes room for one more element in a vector of n; returns the (possibly moved) vector, or
 * NULL when out of memory (the old one is then untouched). */
static void *exp_vec_reserve(void *vec, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return vec;
    uint32_t ncap = *cap ? *cap * 2 : 8;
    void *nv = realloc(vec, ncap * elem);
    if (nv)
        *cap = ncap;
    return nv;
}

/* ---- least recently seen ------------------------------------------------------------------
 * The table threads its exporters on a list, and each exporter its domains, most recently
 * seen first: every lookup moves its entry to the head, eviction takes the tail. O(1) per
 * datagram. One pair of macros for both lists, since only the types differ. */

#define EXP_LRU_UNLINK(owner, head, tail, x)                                                       \
    do {                                                                                           \
        if ((x)->lru_prev)                                                                         \
            (x)->lru_prev->lru_next = (x)->lru_next;                                               \
        else                                                                                       \
            (owner)->head = (x)->lru_next;                                                         \
        if ((x)->lru_next)                                                                         \
            (x)->lru_next->lru_prev = (x)->lru_prev;                                               \
        else                                                                                       \
            (owner)->tail = (x)->lru_prev;                                                         \
        (x)->lru_prev = (x)->lru_next = NULL;                                                      \
    } while (0)

#define EXP_LRU_PUSH(owner, head, tail, x)                                                         \
    do {                                                                                           \
        (x)->lru_prev = NULL;                                                                      \
        (x)->lru_next = (owner)->head;                                                             \
        if ((owner)->head)                                                                         \
            (owner)->head->lru_prev = (x);                                                         \
        else                                                                                       \
            (owner)->tail = (x);                                                                   \
        (owner)->head = (x);                                                                       \
    } while (0)

#define EXP_LRU_TOUCH(owner, head, tail, x)                                                        \
    do {                                                                                           \
        if ((owner)->head != (x)) {                                                                \
            EXP_LRU_UNLINK(owner, head, tail, x);                                                  \
            EXP_LRU_PUSH(owner, head, tail, x);                                                    \
        }                                                                                          \
    } while (0)

/* ---- eviction: counters folded into the aggregate ----------------------------------------- */

static void exp_fold_domain(exp_evicted_t *ev, const exp_domain_t *d)
{
    uint64_t pend = 0; /* its pending gaps: no late datagram will fill them now */
    for (uint32_t i = 0; i < d->n_pend; i++)
        pend += d->pend_n[i];
    ev->domains++;
    ev->dom_datagrams += d->datagrams;
    ev->flows += d->flows;
    ev->seq_lost += d->seq_lost + pend;
    ev->seq_gaps += d->seq_gaps + d->n_pend;
    ev->seq_late += d->seq_late;
    ev->seq_resets += d->seq_resets;
    ev->drops += d->drops;
    ev->unrep_datagrams += d->datagrams - d->rep_datagrams;
    ev->unrep_flows += d->flows - d->rep_flows;
    ev->unrep_seq_lost += d->seq_lost - d->rep_seq_lost + pend;
    ev->unrep_drops += d->drops - d->rep_drops;
}

/* Evicts the least recently seen domain of e. */
static void exp_domain_evict(exp_table_t *t, exp_exporter_t *e)
{
    JError_t je;
    exp_domain_t *d = e->dom_tail;
    EXP_LRU_UNLINK(e, dom_head, dom_tail, d);
    JudyLDel(&e->domains_judy, (Word_t)d->version << 32 | d->obs_domain, &je);
    e->domains[d->idx] = e->domains[--e->n_domains];
    e->domains[d->idx]->idx = d->idx;
    t->n_domains_total--;
    exp_fold_domain(&t->evicted, d);
    free(d);
}

/* Evicts the least recently seen exporter of the table, with all its domains. */
static void exp_exporter_evict(exp_table_t *t)
{
    JError_t je;
    exp_exporter_t *e = t->lru_tail;
    EXP_LRU_UNLINK(t, lru_head, lru_tail, e);
    JudyHSDel(&t->by_addr_judy, e->addr.b, sizeof e->addr.b, &je);
    t->list[e->idx] = t->list[--t->n_exporters];
    t->list[e->idx]->idx = e->idx;
    exp_evicted_t *ev = &t->evicted;
    ev->exporters++;
    ev->datagrams += e->datagrams;
    for (int k = 0; k < DEC_N_ERRORS; k++)
        ev->errs.n[k] += e->errs.n[k];
    for (uint32_t j = 0; j < e->n_domains; j++)
        exp_fold_domain(ev, e->domains[j]);
    t->n_domains_total -= e->n_domains;
    exp_exporter_free(e);
}

exp_exporter_t *exp_table_get(exp_table_t *t, const flow_addr_t *addr)
{
    JError_t je;
    PPvoid_t slot = JudyHSGet(t->by_addr_judy, (void *)addr->b, sizeof addr->b);
    if (slot) {
        exp_exporter_t *hit = *slot;
        EXP_LRU_TOUCH(t, lru_head, lru_tail, hit);
        return hit;
    }
    /* A flood of spoofed sources recycles the entries seen least recently: an exporter that
     * sends steadily keeps its own, one that appears later gets a place. */
    if (t->n_exporters >= t->max_exporters && t->lru_tail)
        exp_exporter_evict(t);
    exp_exporter_t *e = calloc(1, sizeof *e);
    if (!e)
        goto refuse;
    e->addr = *addr;
    exp_exporter_t **list = exp_vec_reserve(t->list, t->n_exporters, &t->cap, sizeof *list);
    if (!list) {
        free(e);
        goto refuse;
    }
    t->list = list;
    slot = JudyHSIns(&t->by_addr_judy, (void *)addr->b, sizeof addr->b, &je);
    if (slot == PPJERR) {
        free(e);
        goto refuse;
    }
    *slot = e;
    e->idx = t->n_exporters;
    t->list[t->n_exporters++] = e;
    EXP_LRU_PUSH(t, lru_head, lru_tail, e);
    return e;
refuse:
    t->over_limit++;
    return NULL;
}

exp_domain_t *exp_domain_get(exp_table_t *t, exp_exporter_t *e, uint16_t version,
                             uint32_t obs_domain)
{
    JError_t je;
    Word_t key = (Word_t)version << 32 | obs_domain;
    PPvoid_t slot = JudyLGet(e->domains_judy, key, &je);
    if (slot && slot != PPJERR) {
        exp_domain_t *hit = *slot;
        EXP_LRU_TOUCH(e, dom_head, dom_tail, hit);
        return hit;
    }
    if (e->n_domains >= t->max_domains && e->dom_tail)
        exp_domain_evict(t, e);
    /* all domains together: other exporters go, oldest first; e's own oldest domain when e
     * is the only one left (max_domains_total >= max_domains, so that ends) */
    while (t->n_domains_total >= t->max_domains_total) {
        if (t->lru_tail && t->lru_tail != e)
            exp_exporter_evict(t);
        else if (e->dom_tail)
            exp_domain_evict(t, e);
        else
            break;
    }
    exp_domain_t *d = calloc(1, sizeof *d);
    if (!d)
        goto refuse;
    d->version = version;
    d->obs_domain = obs_domain;
    exp_domain_t **doms = exp_vec_reserve(e->domains, e->n_domains, &e->cap_domains, sizeof *doms);
    if (!doms) {
        free(d);
        goto refuse;
    }
    e->domains = doms;
    slot = JudyLIns(&e->domains_judy, key, &je);
    if (slot == PPJERR) {
        free(d);
        goto refuse;
    }
    *slot = d;
    d->idx = e->n_domains;
    e->domains[e->n_domains++] = d;
    t->n_domains_total++;
    EXP_LRU_PUSH(e, dom_head, dom_tail, d);
    return d;
refuse:
    t->over_limit++;
    return NULL;
}

/* A jump forward of more than EXP_SEQ_MAX_GAP units is not loss but a restarted exporter, and
 * so is a jump backwards with a boot time DEC_RESTART_MS later (v5, v9, and an IPFIX message
 * that announces its system init time: a restart whose new sequence starts just behind the
 * old one, which looked late until it passed it) or, where the header carries no boot time
 * (other IPFIX messages), beyond the reorder window: the count resynchronises there. A
 * datagram behind with the same boot time in its header (however far: a stale copy), or a
 * little behind otherwise (within the window, a few datagrams' worth), arrived late or twice;
 * it leaves the expectation alone, and fills the part of a pending gap it covers (a duplicate
 * covers none). So does one from before the last restart. An IPFIX init time announced again
 * unchanged does not widen the window: a router's exporting process can restart with the
 * router's own init time. */
#define EXP_SEQ_MAX_GAP (1u << 24)
#define EXP_SEQ_REORDER_WINDOW 1024u

/* RFC 7011 3.1 numbers an IPFIX message by the data records, options data records included,
 * sent before it. softflowd numbers it by the flow records sent up to and including it (its
 * first message, 24 flows and one options record, says 24), and a v5 exporter may count its
 * flows that way too. Each domain follows the numbering its own sequence shows: while every
 * datagram carries as many units as the one before, and no options records, the numberings
 * agree; when they differ, at most one continues the sequence exactly (unless loss hides
 * them), and the domain takes that one, the nearest first. A gap of exactly the difference
 * between two numberings passes for the other numbering: that loss goes uncounted, and the
 * next datagram that tells them apart switches back. Without this, a softflowd IPFIX export
 * of 1,001 flows showed 31 lost where none were. */
static uint32_t exp_seq_units_as(int mode, uint32_t units, uint32_t opts)
{
    return (mode & EXP_SEQ_NO_OPTS) ? units - opts : units;
}

/* A datagram's sequence as the RFC counts it (the units before it), numbered as `mode` says. */
static uint32_t exp_seq_at(int mode, uint32_t seq, uint32_t units, uint32_t opts)
{
    return (mode & EXP_SEQ_AFTER) ? seq - exp_seq_units_as(mode, units, opts) : seq;
}

/* The next datagram's expected exp_seq_at, were the domain numbered as `mode`. */
static uint32_t exp_seq_expected(const exp_domain_t *d, int mode)
{
    return exp_seq_at(mode, d->last_seq, d->last_units, d->last_opts) +
           exp_seq_units_as(mode, d->last_units, d->last_opts);
}

/* The datagram's exp_seq_at, after switching the domain to the numbering that continues its
 * sequence where the present one does not. */
static uint32_t exp_seq_numbering(exp_domain_t *d, uint32_t seq, uint32_t units, uint32_t opts)
{
    uint32_t at = exp_seq_at(d->seq_mode, seq, units, opts);
    if (at == d->next_seq)
        return at;
    /* a datagram that fills a gap arrived late: the one after it, sent first, made the gap
     * (under another numbering it could seem to continue that one) */
    for (uint32_t i = 0; i < d->n_pend; i++)
        if (at - d->pend_lo[i] < d->pend_n[i])
            return at;
    for (int flip = 1; flip <= (EXP_SEQ_AFTER | EXP_SEQ_NO_OPTS); flip++) {
        int mode = d->seq_mode ^ flip;
        uint32_t at2 = exp_seq_at(mode, seq, units, opts), next2 = exp_seq_expected(d, mode);
        if (at2 != next2)
            continue;
        for (uint32_t i = 0; i < d->n_pend; i++)
            d->pend_lo[i] += next2 - d->next_seq;
        d->seq_mode = mode;
        d->next_seq = next2;
        return at2;
    }
    return at;
}

/* Removes pending gap i (the later ones move down). */
static void exp_seq_drop(exp_domain_t *d, uint32_t i)
{
    for (uint32_t j = i + 1; j < d->n_pend; j++) {
        d->pend_lo[j - 1] = d->pend_lo[j];
        d->pend_n[j - 1] = d->pend_n[j];
    }
    d->n_pend--;
}

/* Counts pending gap i as lost and removes it. */
static void exp_seq_commit(exp_domain_t *d, uint32_t i)
{
    d->seq_lost += d->pend_n[i];
    d->seq_gaps++;
    exp_seq_drop(d, i);
}

void exp_seq_settle(exp_domain_t *d)
{
    while (d->n_pend)
        exp_seq_commit(d, 0);
}

/* A late datagram [seq, seq + units): the pending gap that holds it shrinks, or splits in two
 * (the tail counted lost at once when no slot is free); filled, it was no gap. */
static void exp_seq_fill(exp_domain_t *d, uint32_t seq, uint32_t units)
{
    for (uint32_t i = 0; i < d->n_pend; i++) {
        uint32_t off = seq - d->pend_lo[i], n = d->pend_n[i];
        if (off >= n || units > n - off)
            continue;
        uint32_t tail = n - off - units;
        if (off == 0 && tail == 0) {
            exp_seq_drop(d, i);
        } else if (off == 0) {
            d->pend_lo[i] = seq + units;
            d->pend_n[i] = tail;
        } else {
            d->pend_n[i] = off;
            if (tail && d->n_pend == EXP_SEQ_PENDING) {
                d->seq_lost += tail;
                d->seq_gaps++;
            } else if (tail) {
                d->pend_lo[d->n_pend] = seq + units;
                d->pend_n[d->n_pend++] = tail;
            }
        }
        return;
    }
}

void exp_seq_update(exp_domain_t *d, const dec_hdr_t *h)
{
    uint32_t seq = h->sequence, units = h->seq_units, opts = h->seq_opts;
    int boots = h->have_boot && d->have_boot;
    int reboot = boots && h->boot_ms > d->boot_ms + DEC_RESTART_MS;
    if (boots && h->boot_ms + DEC_RESTART_MS < d->boot_ms) {
        d->seq_late++; /* sent before the exporter's last restart, arriving now */
        return;
    }
    if (h->have_boot && (!d->have_boot || h->boot_ms > d->boot_ms)) {
        d->boot_ms = h->boot_ms;
        d->have_boot = 1;
    }
    uint32_t raw = seq;
    if (!d->have_seq) {
        seq = exp_seq_at(d->seq_mode, seq, units, opts); /* the numbering learnt stays */
    } else {
        seq = exp_seq_numbering(d, seq, units, opts);
        int64_t diff = (int32_t)(seq - d->next_seq);
        if (diff == 0) {
            /* in order */
        } else if (diff > 0 && diff < EXP_SEQ_MAX_GAP) {
            if (d->n_pend == EXP_SEQ_PENDING)
                exp_seq_commit(d, 0);
            d->pend_lo[d->n_pend] = d->next_seq;
            d->pend_n[d->n_pend++] = (uint32_t)diff;
        } else if (diff < 0 && !reboot &&
                   ((boots && !h->boot_announced) || -diff <= EXP_SEQ_REORDER_WINDOW)) {
            d->seq_late++;
            exp_seq_fill(d, seq, exp_seq_units_as(d->seq_mode, units, opts));
            return; /* keep expecting what we expected */
        } else {
            exp_seq_settle(d);
            d->seq_resets++;
        }
    }
    d->have_seq = h->seq_exact;
    d->next_seq = seq + exp_seq_units_as(d->seq_mode, units, opts);
    d->last_seq = raw;
    d->last_units = units;
    d->last_opts = opts;
}

void exp_table_settle(exp_table_t *t)
{
    for (uint32_t i = 0; i < t->n_exporters; i++)
        for (uint32_t j = 0; j < t->list[i]->n_domains; j++)
            exp_seq_settle(t->list[i]->domains[j]);
}

const char *exp_seq_mode_label(int mode)
{
    static const char *const names[4] = {"rfc", "after", "no-options", "after,no-options"};
    return names[mode & 3];
}

void exp_table_report(const exp_table_t *t, FILE *f)
{
    char a[FLOW_ADDR_STRLEN];
    for (uint32_t i = 0; i < t->n_exporters; i++) {
        const exp_exporter_t *e = t->list[i];
        flow_addr_format(&e->addr, a);
        fprintf(f, "exporter %s: datagrams %llu\n", a, (unsigned long long)e->datagrams);
        for (int k = 1; k < DEC_N_ERRORS; k++)
            if (e->errs.n[k])
                fprintf(f, "  malformed %s: %llu (%s)\n", dec_err_name(k),
                        (unsigned long long)e->errs.n[k], dec_err_desc(k));
        for (uint32_t j = 0; j < e->n_domains; j++) {
            const exp_domain_t *d = e->domains[j];
            fprintf(f,
                    "  v%u domain %u: datagrams %llu flows %llu sequence: lost %llu in %llu gaps, "
                    "late %llu, resets %llu%s%s%s\n",
                    d->version, d->obs_domain, (unsigned long long)d->datagrams,
                    (unsigned long long)d->flows, (unsigned long long)d->seq_lost,
                    (unsigned long long)d->seq_gaps, (unsigned long long)d->seq_late,
                    (unsigned long long)d->seq_resets, d->seq_mode ? " (numbering: " : "",
                    d->seq_mode ? exp_seq_mode_label(d->seq_mode) : "", d->seq_mode ? ")" : "");
        }
    }
    const exp_evicted_t *ev = &t->evicted;
    if (ev->exporters || ev->domains) {
        fprintf(f,
                "evicted (least recently seen, at %u exporters or %u domains each): %llu "
                "exporters, %llu domains\n",
                t->max_exporters, t->max_domains, (unsigned long long)ev->exporters,
                (unsigned long long)ev->domains);
        fprintf(f, "  evicted exporters: datagrams %llu\n", (unsigned long long)ev->datagrams);
        for (int k = 1; k < DEC_N_ERRORS; k++)
            if (ev->errs.n[k])
                fprintf(f, "  malformed %s: %llu (%s)\n", dec_err_name(k),
                        (unsigned long long)ev->errs.n[k], dec_err_desc(k));
        fprintf(f,
                "  evicted domains: datagrams %llu flows %llu sequence: lost %llu in %llu gaps, "
                "late %llu, resets %llu\n",
                (unsigned long long)ev->dom_datagrams, (unsigned long long)ev->flows,
                (unsigned long long)ev->seq_lost, (unsigned long long)ev->seq_gaps,
                (unsigned long long)ev->seq_late, (unsigned long long)ev->seq_resets);
    }
    if (t->over_limit)
        fprintf(f, "datagrams not tracked (out of memory for the exporter table): %llu\n",
                (unsigned long long)t->over_limit);
}

/* Appends one row; -1 when out of memory. */
static int exp_row_add(seg_exporter_stat_t **st, uint32_t *n, uint32_t *cap,
                       const seg_exporter_stat_t *row)
{
    seg_exporter_stat_t *nst = exp_vec_reserve(*st, *n, cap, sizeof *nst);
    if (!nst)
        return -1;
    *st = nst;
    nst[(*n)++] = *row;
    return 0;
}

seg_exporter_stat_t *exp_interval_take(exp_table_t *t, exp_interval_t *iv, uint32_t *n)
{
    seg_exporter_stat_t *st = NULL;
    uint32_t cap = 0;
    *n = 0;
    for (uint32_t i = 0; i < t->n_exporters; i++) {
        const exp_exporter_t *e = t->list[i];
        for (uint32_t j = 0; j < e->n_domains; j++) {
            exp_domain_t *d = e->domains[j];
            exp_seq_settle(d); /* what no late datagram filled by now is lost */
            if (d->datagrams == d->rep_datagrams && d->seq_lost == d->rep_seq_lost)
                continue;
            seg_exporter_stat_t row = {.addr = e->addr,
                                       .version = d->version,
                                       .domain = d->obs_domain,
                                       .datagrams = d->datagrams - d->rep_datagrams,
                                       .flows = d->flows - d->rep_flows,
                                       .seq_lost = d->seq_lost - d->rep_seq_lost,
                                       .drops = d->drops - d->rep_drops};
            if (exp_row_add(&st, n, &cap, &row) != 0)
                goto fail;
        }
    }
    exp_evicted_t *ev = &t->evicted;
    if (ev->unrep_datagrams) {
        seg_exporter_stat_t row = {.version = EXP_EVICTED_VERSION,
                                   .datagrams = ev->unrep_datagrams,
                                   .flows = ev->unrep_flows,
                                   .seq_lost = ev->unrep_seq_lost,
                                   .drops = ev->unrep_drops};
        if (exp_row_add(&st, n, &cap, &row) != 0)
            goto fail;
    }
    /* All rows made: only now is what they carry marked reported. */
    for (uint32_t i = 0; i < t->n_exporters; i++) {
        const exp_exporter_t *e = t->list[i];
        for (uint32_t j = 0; j < e->n_domains; j++) {
            exp_domain_t *d = e->domains[j];
            d->rep_datagrams = d->datagrams;
            d->rep_flows = d->flows;
            d->rep_seq_lost = d->seq_lost;
            d->rep_drops = d->drops;
        }
    }
    ev->unrep_datagrams = ev->unrep_flows = ev->unrep_seq_lost = ev->unrep_drops = 0;
    iv->rows += *n;
    return st;
fail:
    free(st);
    *n = 0;
    return NULL;
}

void exp_interval_free(exp_interval_t *iv)
{
    memset(iv, 0, sizeof *iv);
}
