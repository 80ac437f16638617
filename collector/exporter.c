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

void exp_table_init(exp_table_t *t)
{
    memset(t, 0, sizeof *t);
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

exp_exporter_t *exp_table_get(exp_table_t *t, const flow_addr_t *addr)
{
    JError_t je;
    PPvoid_t slot = JudyHSGet(t->by_addr_judy, (void *)addr->b, sizeof addr->b);
    if (slot)
        return *slot;
    if (t->n_exporters >= EXP_MAX_EXPORTERS)
        goto refuse;
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
    t->list[t->n_exporters++] = e;
    slot = JudyHSIns(&t->by_addr_judy, (void *)addr->b, sizeof addr->b, &je);
    if (slot == PPJERR) {
        t->n_exporters--;
        free(e);
        goto refuse;
    }
    *slot = e;
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
    if (slot && slot != PPJERR)
        return *slot;
    if (e->n_domains >= EXP_MAX_DOMAINS)
        goto refuse;
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
    e->domains[e->n_domains++] = d;
    slot = JudyLIns(&e->domains_judy, key, &je);
    if (slot == PPJERR) {
        e->n_domains--;
        free(d);
        goto refuse;
    }
    *slot = d;
    return d;
refuse:
    t->over_limit++;
    return NULL;
}

/* A jump forward of more than EXP_SEQ_MAX_GAP units is not loss but a restarted exporter, and
 * so is a jump backwards beyond the reorder window: the count resynchronises there. A datagram
 * a little behind (within the window, a few datagrams' worth) arrived late or twice; it leaves
 * the expectation alone. An exporter that restarts within the window's distance of its old
 * sequence looks late until it passes it: rare, and visible as a run of late datagrams. */
#define EXP_SEQ_MAX_GAP (1u << 24)
#define EXP_SEQ_REORDER_WINDOW 1024u

void exp_seq_update(exp_domain_t *d, uint32_t seq, uint32_t units, int exact)
{
    if (d->have_seq) {
        int64_t diff = (int32_t)(seq - d->next_seq);
        if (diff == 0) {
            /* in order */
        } else if (diff > 0 && diff < EXP_SEQ_MAX_GAP) {
            d->seq_gaps++;
            d->seq_lost += (uint64_t)diff;
        } else if (diff < 0 && -diff <= EXP_SEQ_REORDER_WINDOW) {
            d->seq_late++;
            return; /* keep expecting what we expected */
        } else {
            d->seq_resets++;
        }
    }
    d->have_seq = exact;
    d->next_seq = seq + units;
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
                fprintf(f, "  dropped %s: %llu\n", dec_err_name(k),
                        (unsigned long long)e->errs.n[k]);
        for (uint32_t j = 0; j < e->n_domains; j++) {
            const exp_domain_t *d = e->domains[j];
            fprintf(f,
                    "  v%u domain %u: datagrams %llu flows %llu sequence: lost %llu in %llu gaps, "
                    "late %llu, resets %llu\n",
                    d->version, d->obs_domain, (unsigned long long)d->datagrams,
                    (unsigned long long)d->flows, (unsigned long long)d->seq_lost,
                    (unsigned long long)d->seq_gaps, (unsigned long long)d->seq_late,
                    (unsigned long long)d->seq_resets);
        }
    }
    if (t->over_limit)
        fprintf(f, "datagrams not tracked (exporter or domain limit): %llu\n",
                (unsigned long long)t->over_limit);
}

struct exp_interval_snap {
    const exp_domain_t *d;
    uint64_t datagrams, flows, seq_lost;
};

seg_exporter_stat_t *exp_interval_take(const exp_table_t *t, exp_interval_t *iv, uint32_t *n)
{
    seg_exporter_stat_t *st = NULL;
    uint32_t cap = 0;
    *n = 0;
    for (uint32_t i = 0; i < t->n_exporters; i++) {
        const exp_exporter_t *e = t->list[i];
        for (uint32_t j = 0; j < e->n_domains; j++) {
            const exp_domain_t *d = e->domains[j];
            uint32_t k = 0;
            while (k < iv->n && iv->snap[k].d != d)
                k++;
            if (k == iv->n) {
                struct exp_interval_snap *ns = exp_vec_reserve(iv->snap, iv->n, &iv->cap,
                                                               sizeof *ns);
                if (!ns)
                    goto fail;
                iv->snap = ns;
                iv->snap[iv->n++] = (struct exp_interval_snap){d, 0, 0, 0};
            }
            struct exp_interval_snap *s = &iv->snap[k];
            if (d->datagrams == s->datagrams)
                continue;
            seg_exporter_stat_t *nst = exp_vec_reserve(st, *n, &cap, sizeof *nst);
            if (!nst)
                goto fail;
            st = nst;
            st[(*n)++] = (seg_exporter_stat_t){.addr = e->addr,
                                               .version = d->version,
                                               .domain = d->obs_domain,
                                               .datagrams = d->datagrams - s->datagrams,
                                               .flows = d->flows - s->flows,
                                               .seq_lost = d->seq_lost - s->seq_lost};
            *s = (struct exp_interval_snap){d, d->datagrams, d->flows, d->seq_lost};
        }
    }
    return st;
fail:
    free(st);
    *n = 0;
    return NULL;
}

void exp_interval_free(exp_interval_t *iv)
{
    free(iv->snap);
    memset(iv, 0, sizeof *iv);
}
