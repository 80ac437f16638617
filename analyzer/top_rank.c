/* top_rank.c: flowhunt top's ranking (top_rank.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "top_rank.h"

#define TOP_TIE_SEGS 32 /* runs of tie groups that the two threads share out */

/* What a sort compares, gathered so that comparisons touch one array: the sums, and the key's
 * first 16 bytes as two big-endian words (so ties still sort by address) before the key
 * itself, which lives elsewhere and would cost a cache miss per comparison. */
typedef struct top_rank {
    uint64_t v, bytes, flows, packets;
    uint64_t k0, k1;
    const uint8_t *key;
} top_rank_t;

static uint32_t top_sort_kw; /* qsort has no context argument in C11 */
static uint8_t top_sort_cmp[64]; /* top_set_t.cmp, or the identity */

static void top_set_cmp(const top_set_t *set)
{
    for (uint32_t i = 0; i < sizeof top_sort_cmp; i++)
        top_sort_cmp[i] = set->cmp && i < set->kw ? set->cmp[i] : (uint8_t)i;
}

/* Bytes at..at+7 of the key in comparison order, as a big-endian word. */
static uint64_t top_be64(const uint8_t *key, uint32_t at)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < 8; i++)
        v = v << 8 | key[top_sort_cmp[at + i]];
    return v;
}

/* Larger first; ties by bytes, then flows, then the key in comparison order (numbers by value,
 * addresses bytewise), so output is deterministic. */
static int top_cmp(const void *a, const void *b)
{
    const top_rank_t *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    if (x->k0 != y->k0)
        return x->k0 < y->k0 ? -1 : 1;
    if (x->k1 != y->k1)
        return x->k1 < y->k1 ? -1 : 1;
    for (uint32_t at = 16; at < top_sort_kw; at += 8) {
        uint64_t a8 = top_be64(x->key, at), b8 = top_be64(y->key, at);
        if (a8 != b8)
            return a8 < b8 ? -1 : 1;
    }
    return 0;
}

/* One entry (key of kw bytes, then its sums) as what top_cmp compares. */
static void top_rank_of(const top_tab_t *t, const uint8_t *ent, uint32_t kw, top_order_t order,
                        top_rank_t *r)
{
    const top_sum_t *sm = (const top_sum_t *)(ent + kw);
    r->v = top_order_value(t, sm, order);
    r->bytes = sm->bytes;
    r->flows = sm->flows;
    r->packets = sm->packets;
    r->key = ent;
    /* keys are zero padded to whole words, at least 8 bytes */
    r->k0 = top_be64(r->key, 0);
    r->k1 = kw > 8 ? top_be64(r->key, 8) : 0;
}

static void top_select(const top_set_t *set, top_order_t order, top_rank_t *r, size_t n)
{
    if (n == 0)
        return;
    /* heap of the n best so far in r[0..n-1], the worst at the root */
    size_t seen = 0;
    for (int p = 0; p < set->n_tab; p++) {
        const top_tab_t *t = &set->tab[p];
        for (uint32_t e = 0; e < t->n; e++, seen++) {
            const top_sum_t *sm = TOP_SUMS(t, e);
            uint64_t v = top_order_value(t, sm, order);
            if (seen >= n && v < r[0].v)
                continue; /* worse than the worst kept, whatever breaks the tie */
            top_rank_t x;
            top_rank_of(t, TOP_ENT(t, e), set->kw, order, &x);
            size_t at;
            if (seen < n) {
                at = seen; /* sift up */
                while (at > 0 && top_cmp(&x, &r[(at - 1) / 2]) > 0) {
                    r[at] = r[(at - 1) / 2];
                    at = (at - 1) / 2;
                }
                r[at] = x;
            } else {
                if (top_cmp(&x, &r[0]) >= 0)
                    continue; /* not better than the worst kept */
                at = 0;       /* replace the root, sift down */
                for (;;) {
                    size_t c = 2 * at + 1;
                    if (c >= n)
                        break;
                    if (c + 1 < n && top_cmp(&r[c + 1], &r[c]) > 0)
                        c++;
                    if (top_cmp(&r[c], &x) <= 0)
                        break;
                    r[at] = r[c];
                    at = c;
                }
                r[at] = x;
            }
        }
    }
    if (n > 1)
        qsort(r, n, sizeof *r, top_cmp);
}

/* The full ranking (-n 0, or N near the number of keys) as a radix sort: qsort of millions of
 * 56-byte ranks was most of `top --by srcip,dstip -n 0`, a function call per comparison and a
 * merge buffer as large as the array. Items carry the sums that decide (each complemented, so
 * ascending radix order is descending rank) and the entry; an LSD pass per byte that varies,
 * every histogram from one read. Keys break the remaining ties, as in top_cmp: the key's words
 * in comparison order (top_set_t.cmp). */
typedef struct top_item {
    uint64_t w[3];      /* ~primary, ~bytes, ~flows */
    const uint8_t *ent; /* the entry: key, then sums */
} top_item_t;

/* A tie's key as big-endian words, gathered once: comparing them touches no entry. */
typedef struct top_tie {
    uint64_t k[6]; /* --by keys are at most 40 bytes, and their absent byte (cmd_top.c) */
    const uint8_t *ent;
} top_tie_t;

static int top_tie_cmp(const void *a, const void *b, void *arg)
{
    const uint32_t nk = *(const uint32_t *)arg;
    const top_tie_t *x = a, *y = b;
    for (uint32_t i = 0; i < nk; i++)
        if (x->k[i] != y->k[i])
            return x->k[i] < y->k[i] ? -1 : 1;
    return 0;
}

/* Orders a[0 .. len) (equal sums) by key bytes; `ties` has room for len. Entries are in
 * insertion order and a[] in rank order, so each key is a cache miss: fetched `ahead` items
 * early (a[] has that many more). */
static void top_sort_ties(uint32_t kw, top_item_t *a, size_t len, size_t ahead, top_tie_t *ties)
{
    uint32_t nk = kw / 8;
    for (size_t i = 0; i < len; i++) {
        if (i + TOP_AHEAD < ahead + len)
            __builtin_prefetch(a[i + TOP_AHEAD].ent);
        const uint8_t *key = a[i].ent;
        for (uint32_t w = 0; w < nk; w++)
            ties[i].k[w] = top_be64(key, 8 * w);
        ties[i].ent = a[i].ent;
    }
    qsort_r(ties, len, sizeof *ties, top_tie_cmp, &nk);
    for (size_t i = 0; i < len; i++)
        a[i].ent = ties[i].ent;
}

/* The tie groups of a[from .. to) (a[] sorted by its nw sum words; from and to at groups'
 * edges) ordered by key; *ties has room for *ties_cap and grows as needed. 0, or -1 out of
 * memory. */
static int top_ties(uint32_t kw, top_item_t *a, size_t from, size_t to, int nw, top_tie_t **tp,
                    size_t *ties_cap)
{
    top_tie_t *ties = *tp;
    for (size_t i = from; i < to;) {
        size_t k = i + 1;
        while (k < to && memcmp(a[k].w, a[i].w, (size_t)nw * 8) == 0)
            k++;
        if (k - i > 1) {
            if (*ties_cap < k - i) {
                free(ties);
                *ties_cap = k - i < 1024 ? 1024 : k - i;
                *tp = ties = malloc(*ties_cap * sizeof *ties);
                if (!ties)
                    return -1;
            }
            top_sort_ties(kw, a + i, k - i, to - k, ties);
        }
        i = k;
    }
    return 0;
}

/* A full ranking on one or two threads. Thread j owns the items a[lo_j .. hi_j) of every pass
 * (the halves split at `mid`): it builds those, counts their digits, and scatters them; a
 * digit's bucket takes thread 0's items before thread 1's, so each pass stays stable. A
 * pass's counts per half come from the pass before, counted as its scatter writes each item
 * (double buffered by pass parity, so that one barrier a pass suffices). Then both order
 * the tie groups, in runs taken in turn, and write those runs' part of out. */
typedef struct top_sort {
    const top_set_t *set;
    top_order_t order;
    int nw, threads;
    size_t m, mid;
    top_item_t *a, *tmp;
    size_t cnt[2][24][256];    /* per thread: every digit of the items it built */
    size_t next[2][2][2][256]; /* [pass parity][thread][destination half]: the next digit */
    pthread_barrier_t bar;
    const uint8_t **out;
    int next_seg; /* the next run of tie groups to order */
    int rc[2];
} top_sort_t;

typedef struct top_sort_job {
    top_sort_t *s;
    int j;
} top_sort_job_t;

static void top_sort_wait(top_sort_t *s)
{
    if (s->threads > 1)
        pthread_barrier_wait(&s->bar);
}

static void *top_sort_run(void *arg)
{
    const top_sort_job_t *job = arg;
    top_sort_t *s = job->s;
    const int j = job->j, nw = s->nw;
    const size_t m = s->m, mid = s->mid, lo = j ? mid : 0, hi = j ? m : mid;
    const top_order_t order = s->order;
    size_t(*cnt)[256] = s->cnt[j];
    /* build a[lo .. hi) from the tables, entries in order */
    size_t base = 0;
    for (int p = 0; p < s->set->n_tab && base < hi; base += s->set->tab[p++].n) {
        const top_tab_t *t = &s->set->tab[p];
        for (uint32_t e = lo > base ? (uint32_t)(lo - base) : 0; e < t->n && base + e < hi; e++) {
            size_t i = base + e;
            const top_sum_t *sm = TOP_SUMS(t, e);
            uint64_t v = top_order_value(t, sm, order);
            uint64_t second = order == TOP_BYTES ? sm->flows : sm->bytes;
            top_item_t *it = &s->a[i];
            it->w[0] = ~v;
            it->w[1] = ~second;
            it->w[2] = ~sm->flows;
            it->ent = TOP_ENT(t, e);
            for (int w = 0; w < nw; w++)
                for (int d = 0; d < 8; d++)
                    cnt[w * 8 + d][(it->w[w] >> (8 * d)) & 0xff]++;
        }
    }
    top_sort_wait(s);
    /* the passes that change something: a byte that every item shares changes nothing */
    int pass[24], n_pass = 0;
    for (int w = nw - 1; w >= 0; w--)
        for (int d = 0; d < 8 && m > 0; d++) {
            int b = (int)((s->a[0].w[w] >> (8 * d)) & 0xff);
            if (s->cnt[0][w * 8 + d][b] + (s->threads > 1 ? s->cnt[1][w * 8 + d][b] : 0) < m)
                pass[n_pass++] = w * 8 + d;
        }
    top_item_t *a = s->a, *tmp = s->tmp;
    for (int q = 0; q < n_pass; q++) {
        const int w = pass[q] / 8, sh = 8 * (pass[q] % 8);
        /* this thread's start in each bucket: every item of smaller buckets, then thread 0's
         * of its own when this is thread 1 */
        size_t c[256], h[2][256]; /* h: the digit's counts in each half of a[] */
        for (int k = 0; k < 256; k++)
            for (int x = 0; x < 2; x++)
                if (s->threads == 1) /* one half, whose counts no pass changes */
                    h[x][k] = x ? 0 : cnt[pass[q]][k];
                else if (q == 0) /* the halves as built */
                    h[x][k] = s->cnt[x][pass[q]][k];
                else /* the halves as the pass before wrote them */
                    h[x][k] = s->next[(q - 1) & 1][0][x][k] + s->next[(q - 1) & 1][1][x][k];
        size_t sum = 0;
        for (int k = 0; k < 256; k++) {
            c[k] = sum + (j ? h[0][k] : 0);
            sum += h[0][k] + h[1][k];
        }
        if (s->threads == 1 || q + 1 == n_pass) {
            for (size_t i = lo; i < hi; i++)
                tmp[c[(a[i].w[w] >> sh) & 0xff]++] = a[i];
        } else {
            const int w2 = pass[q + 1] / 8, sh2 = 8 * (pass[q + 1] % 8);
            size_t(*nx)[256] = s->next[q & 1][j];
            memset(nx, 0, sizeof s->next[0][0]);
            for (size_t i = lo; i < hi; i++) {
                size_t at = c[(a[i].w[w] >> sh) & 0xff]++;
                tmp[at] = a[i];
                nx[at >= mid][(a[i].w[w2] >> sh2) & 0xff]++;
            }
        }
        top_item_t *sw = a;
        a = tmp;
        tmp = sw;
        top_sort_wait(s);
    }
    /* Keys that tie on their sums are most of a large ranking (776k of 839k pairs in 50k
     * groups for -A srcip,dstip over 2 M flows) and each costs a fetch of its key from the
     * table. The groups are independent: cut into TOP_TIE_SEGS runs at groups' edges (the
     * same cuts on both threads), taken in turn by whichever thread is free, as the ties
     * cluster (cut at half the items, the second half took 44 ms to the first's 29). */
    size_t cut[TOP_TIE_SEGS + 1];
    const int n_seg = s->threads > 1 ? TOP_TIE_SEGS : 1;
    cut[0] = 0;
    for (int k = 1; k < n_seg; k++) {
        size_t b = m / n_seg * k > cut[k - 1] ? m / n_seg * k : cut[k - 1];
        while (b > 0 && b < m && memcmp(a[b].w, a[b - 1].w, (size_t)nw * 8) == 0)
            b++;
        cut[k] = b;
    }
    cut[n_seg] = m;
    top_tie_t *ties = NULL;
    size_t ties_cap = 0;
    for (int k; (k = __atomic_fetch_add(&s->next_seg, 1, __ATOMIC_RELAXED)) < n_seg;) {
        if (top_ties(s->set->kw, a, cut[k], cut[k + 1], nw, &ties, &ties_cap) != 0) {
            s->rc[j] = -1;
            break;
        }
        for (size_t i = cut[k]; i < cut[k + 1]; i++)
            s->out[i] = a[i].ent;
    }
    free(ties);
    return NULL;
}

/* Entries of every key of the set, best first, into out[0 .. set->n), on two threads when
 * `threads` > 1 and the set is large. 0, or -1 out of memory. */
static int top_sort_all(const top_set_t *set, top_order_t order, int threads, const uint8_t **out)
{
    size_t m = set->n;
    top_sort_t *s = calloc(1, sizeof *s);
    top_item_t *a = malloc((m ? m : 1) * sizeof *a), *tmp = malloc((m ? m : 1) * sizeof *tmp);
    int rc = -1;
    if (!s || !a || !tmp)
        goto out;
    s->set = set;
    s->order = order;
    /* the words that can differ: flows twice when ranking by flows is once */
    s->nw = order == TOP_FLOWS || order == TOP_BYTES ? 2 : 3;
    s->m = m;
    s->a = a;
    s->tmp = tmp;
    s->out = out;
    s->threads = threads > 1 && m >= TOP_SPLIT ? 2 : 1;
    s->mid = s->threads > 1 ? m / 2 : m;
    if (s->threads > 1 && pthread_barrier_init(&s->bar, NULL, 2) != 0) {
        s->threads = 1;
        s->mid = m;
    }
    top_sort_job_t job[2] = {{s, 0}, {s, 1}};
    if (s->threads > 1) {
        /* both threads or neither: each waits for the other at every pass */
        pthread_t th;
        if (pthread_create(&th, NULL, top_sort_run, &job[1]) == 0) {
            top_sort_run(&job[0]);
            pthread_join(th, NULL);
        } else {
            s->threads = 1;
            s->mid = m;
            top_sort_run(&job[0]);
        }
        pthread_barrier_destroy(&s->bar);
    } else {
        top_sort_run(&job[0]);
    }
    rc = s->rc[0] || s->rc[1] ? -1 : 0;
out:
    free(a);
    free(tmp);
    free(s);
    return rc;
}

int top_rank(const top_set_t *set, top_order_t order, int threads, uint32_t n, const uint8_t **out)
{
    if (n == 0)
        return 0;
    top_set_cmp(set);
    if (n >= set->n / 4) {
        if (n == set->n)
            return top_sort_all(set, order, threads, out);
        const uint8_t **all = malloc(set->n * sizeof *all);
        if (!all || top_sort_all(set, order, threads, all) != 0) {
            free(all);
            return -1;
        }
        memcpy(out, all, (size_t)n * sizeof *out);
        free(all);
        return 0;
    }
    /* a few of many: the bounded heap of top_select */
    top_rank_t *r = malloc(((size_t)n + 1) * sizeof *r);
    if (!r)
        return -1;
    top_sort_kw = set->kw;
    top_select(set, order, r, n);
    for (uint32_t j = 0; j < n; j++)
        out[j] = r[j].key;
    free(r);
    return 0;
}
