/* cmd_top.c: `flowhunt top`, the nfdump -s / -A of flowhunt: flows, packets and bytes summed
 * per key (source address, address pair, port, ...), the largest N printed.
 *
 * The scan is seg_scan's, by row group (SEG_SCAN_GROUPS: a daemon's store is a few large
 * segments, which whole-segment hand-out split unevenly, 58/42 on the bench's two): every
 * worker thread aggregates the row groups it is handed into its own hash table, with no
 * locks, and the tables are merged at the end (sums do not care which thread saw a group). Per
 * group, the filter selects rows first (decoding only its columns); then only the key columns and
 * the counters are decoded.
 *
 * The table is open addressing with linear probing over a power-of-two array of 8-byte slots
 * (entry number and 32 bits of the hash, which rejects other keys without touching them);
 * entries (key bytes then sums) are one dense array in insertion order, so growing moves
 * slots, merging walks an array, and a hit touches one slot and one entry. Keys and hashes of
 * a chunk of rows are computed first so the probe loop can prefetch slots ahead: with millions of
 * keys (-A srcip,dstip) the table is far larger than the caches. A Judy array (JudyHS) would
 * do the same job through a pointer chase per byte of key; keys here are fixed width and
 * short (at most 40 bytes), where one hash and one probe usually decide.
 *
 * Two keys skip the per-row probe. One address column (--by srcip) is read as the group's
 * dictionary codes (seg_batch_codes): rows are summed per code in a small array and each
 * address used is probed once per group, a fifth of the probes on the bench's 2M flows, and
 * no 16-byte address is made per row. One field of 1 or 2 bytes (--by dstport, proto) indexes
 * a per-worker array of sums directly, folded into the table once at the end.
 *
 * Ranking every key (-n 0, nfdump -A) is a radix sort over the sums, keys breaking ties; a few
 * of many (-n 10) a bounded heap. Both give top_cmp's order, so -n N is the head of -n 0.
 *
 * Counters are corrected by the sampling rate (1 in N: packets and bytes times N) unless --raw;
 * the flow count is the number of records either way, as an exporter cannot say how many flows
 * it did not sample.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "filter.h"
#include "flow_print.h"

#define TOP_MAX_FIELDS 8
#define TOP_MAX_KEY 64
#define TOP_AHEAD 16   /* rows ahead whose entry is prefetched; slots twice as far */
#define TOP_CHUNK 1024 /* rows whose keys and hashes are made before they are probed */
#define TOP_TIES_SPLIT 65536u /* keys from which a ranking orders its ties on two threads */

/* ---- keys ---------------------------------------------------------------------------------- */

typedef struct top_field_def {
    const char *name;
    int col;
} top_field_def_t;

static const top_field_def_t top_field_defs[] = {
    {"srcip", FLOW_COL_src_addr},   {"dstip", FLOW_COL_dst_addr},    {"srcport", FLOW_COL_src_port},
    {"dstport", FLOW_COL_dst_port}, {"proto", FLOW_COL_proto},       {"srcas", FLOW_COL_src_as},
    {"dstas", FLOW_COL_dst_as},     {"exporter", FLOW_COL_exporter}, {"tos", FLOW_COL_tos},
    {"inif", FLOW_COL_in_if},       {"outif", FLOW_COL_out_if},      {"vlan", FLOW_COL_vlan},
    {"nexthop", FLOW_COL_next_hop}, {"flags", FLOW_COL_tcp_flags},
};
#define TOP_N_FIELD_DEFS (sizeof top_field_defs / sizeof top_field_defs[0])

typedef struct top_key {
    int n;
    int col[TOP_MAX_FIELDS];
    const char *name[TOP_MAX_FIELDS];
    uint32_t off[TOP_MAX_FIELDS], width[TOP_MAX_FIELDS];
    uint32_t len; /* bytes used */
    uint32_t kw;  /* stored width: len rounded up to 8 */
} top_key_t;

/* Parses "srcip,dstip"; prints the problem and returns -1 when it is not a key. */
static int top_key_parse(const char *s, top_key_t *k)
{
    memset(k, 0, sizeof *k);
    char buf[256];
    if (strlen(s) >= sizeof buf) {
        fprintf(stderr, "flowhunt top: --by is too long\n");
        return -1;
    }
    strcpy(buf, s);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < TOP_N_FIELD_DEFS; i++)
            if (strcmp(tok, top_field_defs[i].name) == 0)
                break;
        if (i == TOP_N_FIELD_DEFS) {
            fprintf(stderr, "flowhunt top: --by: unknown field '%s' (use", tok);
            for (i = 0; i < TOP_N_FIELD_DEFS; i++)
                fprintf(stderr, " %s", top_field_defs[i].name);
            fprintf(stderr, ", comma separated)\n");
            return -1;
        }
        for (int j = 0; j < k->n; j++)
            if (k->col[j] == top_field_defs[i].col) {
                fprintf(stderr, "flowhunt top: --by names '%s' twice\n", tok);
                return -1;
            }
        if (k->n == TOP_MAX_FIELDS || k->len + flow_cols[top_field_defs[i].col].width > 40) {
            fprintf(stderr, "flowhunt top: --by: at most 40 bytes of key (two addresses and a "
                            "few small fields)\n");
            return -1;
        }
        int c = top_field_defs[i].col;
        k->col[k->n] = c;
        k->name[k->n] = top_field_defs[i].name;
        k->off[k->n] = k->len;
        k->width[k->n] = (uint32_t)flow_cols[c].width;
        k->len += (uint32_t)flow_cols[c].width;
        k->n++;
    }
    if (k->n == 0) {
        fprintf(stderr, "flowhunt top: --by needs at least one field\n");
        return -1;
    }
    k->kw = (k->len + 7) & ~7u;
    return 0;
}

/* ---- the hash table ------------------------------------------------------------------------ */

/* An entry: the key (kw bytes, zero padded) then its sums; entries are `stride` bytes apart. */
typedef struct top_sum {
    uint64_t flows, packets, bytes;
} top_sum_t;

/* A slot: entry number + 1 (0 empty) and the hash's high half, which rejects most other keys
 * without touching their entry. */
typedef struct top_slot {
    uint32_t e, tag;
} top_slot_t;

typedef struct top_tab {
    uint32_t kw, stride;
    uint32_t n, ecap; /* entries used and allocated */
    uint32_t mask;    /* slots - 1 */
    top_slot_t *slots;
    uint8_t *ents;
} top_tab_t;

#define TOP_ENT(t, e) ((t)->ents + (size_t)(e) * (t)->stride)
#define TOP_SUMS(t, e) ((top_sum_t *)(TOP_ENT(t, e) + (t)->kw))

/* A zeroed slot array. Not calloc: a large calloc is fresh mmap'd memory whose pages read as
 * the shared zero page until written, and the probe loop reads a slot before it writes one,
 * so each page would fault twice, the second time copying on write and flushing the TLB of
 * every CPU the process runs on (an interrupt to the other worker, page after page). Writing
 * the zeros maps each page once: explicit_bzero, as the compiler turns malloc + memset back
 * into calloc. */
static top_slot_t *top_slots_new(uint32_t n)
{
    top_slot_t *s = malloc((size_t)n * sizeof *s);
    if (s)
        explicit_bzero(s, (size_t)n * sizeof *s);
    return s;
}

static int top_tab_init(top_tab_t *t, uint32_t kw)
{
    memset(t, 0, sizeof *t);
    t->kw = kw;
    t->stride = kw + (uint32_t)sizeof(top_sum_t);
    t->mask = 1023;
    t->slots = top_slots_new(t->mask + 1);
    return t->slots ? 0 : -1;
}

static void top_tab_free(top_tab_t *t)
{
    free(t->slots);
    free(t->ents);
    memset(t, 0, sizeof *t);
}

/* A 64-bit multiply-xorshift hash over whole words of the zero-padded key. */
static inline uint64_t top_hash(const uint8_t *key, uint32_t kw)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ kw;
    for (uint32_t i = 0; i < kw; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

/* Keys are whole words: comparing them inline beats a call to memcmp for 8 to 40 bytes. */
static inline int top_key_eq(const uint8_t *a, const uint8_t *b, uint32_t kw)
{
    uint64_t diff = 0;
    for (uint32_t i = 0; i < kw; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    return diff == 0;
}

static int top_tab_grow(top_tab_t *t)
{
    uint32_t ns = (t->mask + 1) * 2;
    top_slot_t *slots = top_slots_new(ns);
    if (!slots)
        return -1;
    for (uint32_t e = 0; e < t->n; e++) {
        uint64_t h = top_hash(TOP_ENT(t, e), t->kw);
        uint32_t i = (uint32_t)h & (ns - 1);
        while (slots[i].e)
            i = (i + 1) & (ns - 1);
        slots[i].e = e + 1;
        slots[i].tag = (uint32_t)(h >> 32);
    }
    free(t->slots);
    t->slots = slots;
    t->mask = ns - 1;
    return 0;
}

/* The sums of `key` (a zero entry when new); NULL when out of memory. */
static top_sum_t *top_tab_get(top_tab_t *t, const uint8_t *key, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->mask, tag = (uint32_t)(h >> 32);
    for (;;) {
        top_slot_t sl = t->slots[i];
        if (!sl.e)
            break;
        if (sl.tag == tag && top_key_eq(TOP_ENT(t, sl.e - 1), key, t->kw))
            return TOP_SUMS(t, sl.e - 1);
        i = (i + 1) & t->mask;
    }
    if (t->n >= UINT32_MAX / 2)
        return NULL;
    if (t->n == t->ecap) {
        uint32_t cap = t->ecap ? t->ecap * 2 : 1024;
        uint8_t *ents = realloc(t->ents, (size_t)cap * t->stride);
        if (!ents)
            return NULL;
        t->ents = ents;
        t->ecap = cap;
    }
    uint32_t e = t->n++;
    memcpy(TOP_ENT(t, e), key, t->kw);
    memset(TOP_SUMS(t, e), 0, sizeof(top_sum_t));
    t->slots[i].e = e + 1;
    t->slots[i].tag = tag;
    /* keep the load under 1/2: probes stay short even for skewed keys */
    if ((uint64_t)t->n * 2 > (uint64_t)t->mask + 1 && top_tab_grow(t) != 0)
        return NULL;
    return TOP_SUMS(t, e);
}

/* Two stages, so that both misses of a probe overlap with other work: the slot of a key far
 * ahead, then the entry its (by now cached) slot names for a key nearer. */
static inline void top_tab_prefetch_slot(const top_tab_t *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[(uint32_t)h & t->mask]);
}

static inline void top_tab_prefetch_entry(const top_tab_t *t, uint64_t h)
{
    top_slot_t sl = t->slots[(uint32_t)h & t->mask];
    if (sl.e)
        __builtin_prefetch(TOP_ENT(t, sl.e - 1));
}

/* An entry whose key and sums are about to be read: entries are not line aligned, so both ends. */
static inline void top_tab_prefetch_whole(const top_tab_t *t, uint32_t e)
{
    __builtin_prefetch(TOP_ENT(t, e));
    __builtin_prefetch(TOP_ENT(t, e) + t->stride - 1);
}

/* ---- the scan ------------------------------------------------------------------------------ */

/* Adds every entry of `o` into `t` (same key width). 0, or -1 out of memory. */
static int top_tab_merge(top_tab_t *t, const top_tab_t *o)
{
    for (uint32_t e = 0; e < o->n; e++) {
        const uint8_t *kp = TOP_ENT(o, e);
        if (e + 2 * TOP_AHEAD < o->n)
            top_tab_prefetch_slot(t, top_hash(TOP_ENT(o, e + 2 * TOP_AHEAD), o->kw));
        if (e + TOP_AHEAD < o->n)
            top_tab_prefetch_entry(t, top_hash(TOP_ENT(o, e + TOP_AHEAD), o->kw));
        top_sum_t *s = top_tab_get(t, kp, top_hash(kp, o->kw));
        if (!s)
            return -1;
        const top_sum_t *os = TOP_SUMS(o, e);
        s->flows += os->flows;
        s->packets += os->packets;
        s->bytes += os->bytes;
    }
    return 0;
}

typedef enum top_order { TOP_FLOWS, TOP_PACKETS, TOP_BYTES } top_order_t;

typedef struct top_worker {
    top_tab_t tab;
    flt_scratch_t scratch;
    uint32_t *rows;
    uint32_t rows_cap;
    uint8_t *keys; /* a batch's keys, kw bytes each */
    uint64_t *hashes;
    top_sum_t *adds;  /* sums to add under keys[] (top_fold) */
    top_sum_t *csum;  /* a group's sums per dictionary code (top_batch_codes) */
    uint32_t csum_cap;
    top_sum_t *small; /* a one-field key of 1 or 2 bytes: the sums per value */
    seg_where_t where;
    int nomem;
} top_worker_t;

/* Adds the nonzero partial sums sums[0 .. n) to the table, entry i under its key: dict[i]
 * with a dictionary (i == n_dict: the zero address of rows without the column), else the
 * value i (a small key). Each key is probed once; TOP_CHUNK at a time, hashed first so that
 * the probes prefetch ahead as the row loop does. 0, or -1 out of memory. */
static int top_fold(top_worker_t *w, const top_sum_t *sums, uint32_t n, const flow_addr_t *dict,
                    uint32_t n_dict)
{
    top_tab_t *t = &w->tab;
    const uint32_t kw = t->kw;
    for (uint32_t i = 0; i < n;) {
        int m = 0;
        for (; i < n && m < TOP_CHUNK; i++) {
            if (!sums[i].flows)
                continue;
            uint8_t *kp = w->keys + (size_t)m * kw;
            if (!dict) {
                uint64_t v = i; /* little-endian host: the key's bytes, as top_batch copies them */
                memcpy(kp, &v, 8);
            } else if (i < n_dict) {
                memcpy(kp, &dict[i], 16);
            } else {
                memset(kp, 0, 16);
            }
            w->hashes[m] = top_hash(kp, kw);
            w->adds[m++] = sums[i];
        }
        for (int j = 0; j < m; j++) {
            if (j + 2 * TOP_AHEAD < m)
                top_tab_prefetch_slot(t, w->hashes[j + 2 * TOP_AHEAD]);
            if (j + TOP_AHEAD < m)
                top_tab_prefetch_entry(t, w->hashes[j + TOP_AHEAD]);
            top_sum_t *s = top_tab_get(t, w->keys + (size_t)j * kw, w->hashes[j]);
            if (!s)
                return -1;
            s->flows += w->adds[j].flows;
            s->packets += w->adds[j].packets;
            s->bytes += w->adds[j].bytes;
        }
    }
    return 0;
}

typedef struct top_ctx {
    const flt_t *flt;
    top_key_t key;
    int raw;
    top_worker_t *w;
    int n_workers;
    cmd_progress_t progress;
    uint64_t rows_scanned, rows_selected;
} top_ctx_t;

/* seg_scan hands its one `arg` to both callbacks: the context here, whose filter decides. */
static int top_want(void *arg, const seg_file_t *f, uint32_t g)
{
    const top_ctx_t *c = arg;
    return flt_want((void *)c->flt, f, g);
}

/* A group's selected rows keyed by one address column as dictionary codes: summed per code
 * into a small array, then each code's address probed once (top_fold), where the row loop
 * probes once per row. */
static int top_batch_codes(top_worker_t *w, const seg_codes_t *cd, const uint32_t *rows, int k,
                           uint32_t n_rows, const uint64_t *pk, const uint64_t *by,
                           const uint32_t *sa)
{
    const uint32_t nd = cd->n_dict + 1; /* the last: rows without the column */
    if (w->csum_cap < nd) {
        top_sum_t *cs = realloc(w->csum, (size_t)nd * sizeof *cs);
        if (!cs) {
            w->nomem = 1;
            return -SEG_E_NOMEM;
        }
        w->csum = cs;
        w->csum_cap = nd;
    }
    top_sum_t *cs = w->csum;
    memset(cs, 0, (size_t)nd * sizeof *cs);
    const uint32_t *code = cd->code;
    const uint8_t *pres = cd->present;
    if (!pres && !sa && (uint32_t)k == n_rows) {
        /* every row, every one with the column, unsampled (or --raw): the rows are 0 .. k-1 */
        for (int r = 0; r < k; r++) {
            top_sum_t *s = &cs[code[r]];
            s->flows++;
            s->packets += pk[r];
            s->bytes += by[r];
        }
    } else {
        for (int j = 0; j < k; j++) {
            uint32_t r = rows[j];
            top_sum_t *s = &cs[pres && !pres[r] ? nd - 1 : code[r]];
            uint64_t mult = sa && sa[r] > 1 ? sa[r] : 1;
            s->flows++;
            s->packets += pk[r] * mult;
            s->bytes += by[r] * mult;
        }
    }
    if (top_fold(w, cs, nd, cd->dict, cd->n_dict) != 0) {
        w->nomem = 1;
        return -SEG_E_NOMEM;
    }
    return 0;
}

/* Whether a selected row has a sampling interval above 1. A group with none (most: 1 is what an
 * unsampled exporter's flows carry, absent reads 0) needs no multiplication: with every row
 * selected this is one OR over the column, which vectorizes, where the row loops tested each
 * row. */
static int top_sampled(const uint32_t *sa, const uint32_t *rows, int k, uint32_t n_rows)
{
    uint32_t any = 0;
    if ((uint32_t)k == n_rows)
        for (uint32_t i = 0; i < n_rows; i++)
            any |= sa[i] > 1;
    else
        for (int j = 0; j < k; j++)
            any |= sa[rows[j]] > 1;
    return any != 0;
}

static int top_batch(void *arg, int worker, seg_batch_t *b)
{
    top_ctx_t *c = arg;
    top_worker_t *w = &c->w[worker];
    const top_key_t *key = &c->key;
    const uint32_t kw = key->kw;
    if (w->rows_cap < b->n_rows) {
        uint32_t *r = realloc(w->rows, (size_t)b->n_rows * sizeof *r);
        if (r)
            w->rows = r;
        if (!r) {
            w->nomem = 1;
            return -SEG_E_NOMEM;
        }
        w->rows_cap = b->n_rows;
    }
    int k = flt_select(c->flt, &w->scratch, b, w->rows, &w->where);
    __atomic_fetch_add(&c->rows_scanned, b->n_rows, __ATOMIC_RELAXED);
    if (cmd_progress_due(&c->progress))
        cmd_progress_show(&c->progress, "top: %llu rows scanned, %llu selected",
                          (unsigned long long)__atomic_load_n(&c->rows_scanned, __ATOMIC_RELAXED),
                          (unsigned long long)__atomic_load_n(&c->rows_selected, __ATOMIC_RELAXED));
    if (k <= 0)
        return k;
    __atomic_fetch_add(&c->rows_selected, (uint64_t)k, __ATOMIC_RELAXED);
    /* A key that is one address column the filter did not decode: its dictionary codes */
    seg_codes_t codes;
    int use_codes = 0;
    if (key->n == 1 && flow_cols[key->col[0]].type == FLOW_T_ADDR &&
        !((b->loaded >> key->col[0]) & 1)) {
        use_codes = seg_batch_codes(b, key->col[0], &codes, &w->where);
        if (use_codes < 0)
            return use_codes;
    }
    int need[TOP_MAX_FIELDS + 3], n_need = 0;
    for (int i = 0; i < key->n && !use_codes; i++)
        need[n_need++] = key->col[i];
    need[n_need++] = FLOW_COL_packets;
    need[n_need++] = FLOW_COL_bytes;
    /* counters are corrected by the sampling interval, unless the group's zone map says no
     * row has one above 1: then the column is not decoded at all (decoding it took 15-30 % of
     * top's CPU on 2 M unsampled flows, one thread) */
    int sampled = !c->raw && !seg_batch_unsampled(b);
    if (sampled)
        need[n_need++] = FLOW_COL_sampling;
    for (int i = 0; i < n_need; i++)
        if (!((b->loaded >> need[i]) & 1)) {
            int rc = seg_batch_load(b, need[i], &w->where);
            if (rc != 0)
                return rc;
        }
    const uint64_t *pk = b->vals[FLOW_COL_packets], *by = b->vals[FLOW_COL_bytes];
    const uint32_t *sa = sampled ? b->vals[FLOW_COL_sampling] : NULL;
    if (sa && !top_sampled(sa, w->rows, k, b->n_rows))
        sa = NULL;
    if (use_codes)
        return top_batch_codes(w, &codes, w->rows, k, b->n_rows, pk, by, sa);
    if (w->small) {
        /* a one-field key of at most 2 bytes indexes its sums directly (top_fold at the end) */
        const uint8_t *v8 = b->vals[key->col[0]];
        const uint16_t *v16 = b->vals[key->col[0]];
        for (int j = 0; j < k; j++) {
            uint32_t r = w->rows[j];
            top_sum_t *s = &w->small[key->width[0] == 1 ? v8[r] : v16[r]];
            uint64_t mult = sa && sa[r] > 1 ? sa[r] : 1;
            s->flows++;
            s->packets += pk[r] * mult;
            s->bytes += by[r] * mult;
        }
        return 0;
    }
    top_tab_t *t = &w->tab;
    /* A key that is one whole-word column (an address) is hashed and compared where it lies;
     * others are assembled in w->keys. */
    const uint8_t *col0 = b->vals[key->col[0]];
    const int in_place = key->n == 1 && key->width[0] == kw;
    /* TOP_CHUNK rows at a time: keys and hashes first, field by field (a tight copy loop per
     * column), so the probe loop can prefetch slots ahead; a chunk's keys and hashes stay in
     * L1, where a whole group's were a megabyte written and read back beside the table. */
    for (int base = 0; base < k; base += TOP_CHUNK) {
        const int m = k - base < TOP_CHUNK ? k - base : TOP_CHUNK;
        const uint32_t *rows = w->rows + base;
        if (in_place) {
            for (int j = 0; j < m; j++)
                w->hashes[j] = top_hash(col0 + (size_t)rows[j] * kw, kw);
        } else {
            memset(w->keys, 0, (size_t)m * kw);
            for (int i = 0; i < key->n; i++) {
                const uint32_t wid = key->width[i], off = key->off[i];
                const uint8_t *col = b->vals[key->col[i]];
                uint8_t *dst = w->keys + off;
                for (int j = 0; j < m; j++)
                    memcpy(dst + (size_t)j * kw, col + (size_t)rows[j] * wid, wid);
            }
            for (int j = 0; j < m; j++)
                w->hashes[j] = top_hash(w->keys + (size_t)j * kw, kw);
        }
        for (int j = 0; j < m; j++) {
            if (j + 2 * TOP_AHEAD < m)
                top_tab_prefetch_slot(t, w->hashes[j + 2 * TOP_AHEAD]);
            if (j + TOP_AHEAD < m)
                top_tab_prefetch_entry(t, w->hashes[j + TOP_AHEAD]);
            uint32_t r = rows[j];
            const uint8_t *kp = in_place ? col0 + (size_t)r * kw : w->keys + (size_t)j * kw;
            top_sum_t *s = top_tab_get(t, kp, w->hashes[j]);
            if (!s) {
                w->nomem = 1;
                return -SEG_E_NOMEM;
            }
            /* an absent or zero sampling interval means unsampled */
            uint64_t mult = sa && sa[r] > 1 ? sa[r] : 1;
            s->flows++;
            s->packets += pk[r] * mult;
            s->bytes += by[r] * mult;
        }
    }
    return 0;
}

/* ---- output -------------------------------------------------------------------------------- */

/* What a sort compares, gathered so that comparisons touch one array: the sums, and the key's
 * first 16 bytes as two big-endian words (so ties still sort by address) before the key
 * itself, which lives elsewhere and would cost a cache miss per comparison. */
typedef struct top_rank {
    uint64_t v, bytes, flows, packets;
    uint64_t k0, k1;
    const uint8_t *key;
} top_rank_t;

static uint32_t top_sort_kw; /* qsort has no context argument in C11 */

static uint64_t top_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Larger first; ties by bytes, then flows, then key bytes, so output is deterministic. */
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
    return top_sort_kw > 16 ? memcmp(x->key + 16, y->key + 16, top_sort_kw - 16) : 0;
}

/* One entry of t as what top_cmp compares. */
static void top_rank_of(const top_tab_t *t, top_order_t order, uint32_t e, top_rank_t *r)
{
    const top_sum_t *sm = TOP_SUMS(t, e);
    r->v = order == TOP_FLOWS ? sm->flows : order == TOP_PACKETS ? sm->packets : sm->bytes;
    r->bytes = sm->bytes;
    r->flows = sm->flows;
    r->packets = sm->packets;
    r->key = TOP_ENT(t, e);
    /* keys are zero padded to whole words, at least 8 bytes */
    r->k0 = top_be64(r->key);
    r->k1 = t->kw > 8 ? top_be64(r->key + 8) : 0;
}

/* The n best entries of t (n well below t->n: top_rank sorts everything otherwise) sorted into
 * r[0..n-1]: a bounded min-heap (by top_cmp's order) fed from the entries themselves, so
 * `-n 10` over tens of thousands of keys neither sorts them nor copies them into an array
 * (which cost 2 to 3 ms of page faults and copying after the scan, on one thread, with 56k). */
static void top_select(const top_tab_t *t, top_order_t order, top_rank_t *r, size_t n)
{
    if (n == 0)
        return;
    /* heap of the n best so far in r[0..n-1], the worst at the root */
    for (uint32_t e = 0; e < t->n; e++) {
        const top_sum_t *sm = TOP_SUMS(t, e);
        uint64_t v = order == TOP_FLOWS ? sm->flows : order == TOP_PACKETS ? sm->packets : sm->bytes;
        if (e >= n && v < r[0].v)
            continue; /* worse than the worst kept, whatever breaks the tie */
        top_rank_t x;
        top_rank_of(t, order, e, &x);
        size_t at;
        if (e < n) {
            at = e; /* sift up */
            while (at > 0 && top_cmp(&x, &r[(at - 1) / 2]) > 0) {
                r[at] = r[(at - 1) / 2];
                at = (at - 1) / 2;
            }
            r[at] = x;
        } else {
            if (top_cmp(&x, &r[0]) >= 0)
                continue; /* not better than the worst kept */
            at = 0; /* replace the root, sift down */
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
    if (n > 1)
        qsort(r, n, sizeof *r, top_cmp);
}

/* The full ranking (-n 0, or N near the number of keys) as a radix sort: qsort of millions of
 * 56-byte ranks was most of `top --by srcip,dstip -n 0`, a function call per comparison and a
 * merge buffer as large as the array. Items carry the sums that decide (each complemented, so
 * ascending radix order is descending rank) and the entry; an LSD pass per byte that varies,
 * every histogram from one read. Keys break the remaining ties, as in top_cmp: its k0, k1 and
 * tail comparison is memcmp of the zero-padded key. */
typedef struct top_item {
    uint64_t w[3]; /* ~primary, ~bytes, ~flows */
    uint32_t e;    /* entry */
} top_item_t;

/* A tie's key as big-endian words, gathered once: comparing them touches no entry. */
typedef struct top_tie {
    uint64_t k[5]; /* --by keys are at most 40 bytes */
    uint32_t e;
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
static void top_sort_ties(const top_tab_t *t, top_item_t *a, size_t len, size_t ahead,
                          top_tie_t *ties)
{
    uint32_t nk = t->kw / 8;
    for (size_t i = 0; i < len; i++) {
        if (i + TOP_AHEAD < ahead + len)
            __builtin_prefetch(TOP_ENT(t, a[i + TOP_AHEAD].e));
        const uint8_t *key = TOP_ENT(t, a[i].e);
        for (uint32_t w = 0; w < nk; w++)
            ties[i].k[w] = top_be64(key + 8 * w);
        ties[i].e = a[i].e;
    }
    qsort_r(ties, len, sizeof *ties, top_tie_cmp, &nk);
    for (size_t i = 0; i < len; i++)
        a[i].e = ties[i].e;
}

/* The tie groups of a[from .. to) (a[] sorted by its nw sum words, m items in all) ordered
 * by key, as a thread's job: 0, or -1 out of memory. */
typedef struct top_ties_job {
    const top_tab_t *t;
    top_item_t *a;
    size_t from, to, m;
    int nw, rc;
} top_ties_job_t;

static void *top_ties_run(void *arg)
{
    top_ties_job_t *j = arg;
    top_tie_t *ties = NULL;
    size_t ties_cap = 0;
    j->rc = 0;
    for (size_t i = j->from; i < j->to;) {
        size_t k = i + 1;
        while (k < j->to && memcmp(j->a[k].w, j->a[i].w, (size_t)j->nw * 8) == 0)
            k++;
        if (k - i > 1) {
            if (ties_cap < k - i) {
                free(ties);
                ties_cap = k - i < 1024 ? 1024 : k - i;
                if (!(ties = malloc(ties_cap * sizeof *ties))) {
                    j->rc = -1;
                    return NULL;
                }
            }
            top_sort_ties(j->t, j->a + i, k - i, j->m - k, ties);
        }
        i = k;
    }
    free(ties);
    return NULL;
}

/* Entry numbers of every key of t, best first, into out[0 .. t->n), ties ordered on
 * `threads` threads (at most two). 0, or -1 out of memory. */
static int top_sort_all(const top_tab_t *t, top_order_t order, int threads, uint32_t *out)
{
    size_t m = t->n;
    top_item_t *a = malloc((m ? m : 1) * sizeof *a), *tmp = malloc((m ? m : 1) * sizeof *tmp);
    size_t(*cnt)[256] = calloc(3 * 8, sizeof *cnt);
    if (!a || !tmp || !cnt) {
        free(a);
        free(tmp);
        free(cnt);
        return -1;
    }
    /* the words that can differ: flows twice when ranking by flows is once */
    int nw = order == TOP_PACKETS ? 3 : 2;
    for (size_t i = 0; i < m; i++) {
        const top_sum_t *sm = TOP_SUMS(t, i);
        uint64_t v = order == TOP_FLOWS ? sm->flows : order == TOP_PACKETS ? sm->packets : sm->bytes;
        uint64_t second = order == TOP_BYTES ? sm->flows : sm->bytes;
        a[i].w[0] = ~v;
        a[i].w[1] = ~second;
        a[i].w[2] = ~sm->flows;
        a[i].e = (uint32_t)i;
        for (int w = 0; w < nw; w++)
            for (int d = 0; d < 8; d++)
                cnt[w * 8 + d][(a[i].w[w] >> (8 * d)) & 0xff]++;
    }
    for (int w = nw - 1; w >= 0; w--)
        for (int d = 0; d < 8; d++) {
            size_t *c = cnt[w * 8 + d];
            if (m == 0 || c[(a[0].w[w] >> (8 * d)) & 0xff] == m)
                continue; /* every item has this byte: the pass would change nothing */
            size_t sum = 0;
            for (int k = 0; k < 256; k++) {
                size_t x = c[k];
                c[k] = sum;
                sum += x;
            }
            for (size_t i = 0; i < m; i++)
                tmp[c[(a[i].w[w] >> (8 * d)) & 0xff]++] = a[i];
            top_item_t *sw = a;
            a = tmp;
            tmp = sw;
        }
    /* Keys that tie on their sums are most of a large ranking (776k of 839k pairs in 50k
     * groups for -A srcip,dstip over 2 M flows) and each costs a fetch of its key from the
     * table, ~75 ms on one thread there: the groups are independent, so a second thread
     * takes those from a group boundary past the middle. */
    top_ties_job_t job[2] = {{t, a, 0, m, m, nw, 0}, {t, a, m, m, m, nw, 0}};
    pthread_t th;
    int two = 0;
    if (threads > 1 && m >= TOP_TIES_SPLIT) {
        size_t mid = m / 2;
        while (mid < m && memcmp(a[mid].w, a[mid - 1].w, (size_t)nw * 8) == 0)
            mid++;
        job[0].to = job[1].from = mid;
        two = pthread_create(&th, NULL, top_ties_run, &job[1]) == 0;
        if (!two)
            job[0].to = m;
    }
    top_ties_run(&job[0]);
    if (two)
        pthread_join(th, NULL);
    if (job[0].rc || job[1].rc) {
        free(a);
        free(tmp);
        free(cnt);
        return -1;
    }
    for (size_t i = 0; i < m; i++)
        out[i] = a[i].e;
    free(a);
    free(tmp);
    free(cnt);
    return 0;
}

/* Entry numbers of the n best keys of t, best first, into out[0 .. n), on up to `threads`
 * threads. 0, or -1. */
static int top_rank(const top_tab_t *t, top_order_t order, int threads, uint32_t n, uint32_t *out)
{
    if (n == 0)
        return 0;
    if (n >= t->n / 4) {
        if (n == t->n)
            return top_sort_all(t, order, threads, out);
        uint32_t *all = malloc((size_t)t->n * sizeof *all);
        if (!all || top_sort_all(t, order, threads, all) != 0) {
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
    top_sort_kw = t->kw;
    top_select(t, order, r, n);
    for (uint32_t j = 0; j < n; j++)
        out[j] = (uint32_t)((size_t)(r[j].key - t->ents) / t->stride);
    free(r);
    return 0;
}

typedef enum top_fmt { TOP_TEXT, TOP_CSV, TOP_JSON } top_fmt_t;

static size_t top_field_text(char *out, const top_key_t *key, int i, const uint8_t *kb)
{
    int col = key->col[i];
    if (flow_cols[col].type == FLOW_T_ADDR) {
        flow_addr_t a;
        memcpy(&a, kb + key->off[i], 16);
        return flow_print_addr(out, &a);
    }
    uint64_t v = 0;
    memcpy(&v, kb + key->off[i], key->width[i]); /* little-endian host: the value */
    return flow_print_u64(out, v);
}

/* Appends `s` (len bytes) padded to `width`, on the left (right-aligned) or the right. */
static char *top_pad(char *p, const char *s, size_t len, size_t width, int right)
{
    if (right)
        for (size_t i = len; i < width; i++)
            *p++ = ' ';
    memcpy(p, s, len);
    p += len;
    if (!right)
        for (size_t i = len; i < width; i++)
            *p++ = ' ';
    return p;
}

/* Formatted by hand into one buffer per line: -A output can be millions of lines, where
 * printf's parsing of the format per field dominated. */
static void top_print(const top_tab_t *t, const uint32_t *order, uint32_t n, const top_key_t *key,
                      top_fmt_t fmt)
{
    static const char *const sums[3] = {"flows", "packets", "bytes"};
    char line[1024], cell[FLOW_ADDR_STRLEN + 24];
    size_t wid[TOP_MAX_FIELDS + 3];
    const int nf = key->n;
    for (int i = 0; i < nf; i++)
        wid[i] = strlen(key->name[i]);
    for (int i = 0; i < 3; i++)
        wid[nf + i] = strlen(sums[i]);
    if (fmt == TOP_TEXT) {
        /* widths from what will be printed, so the table lines up */
        for (uint32_t j = 0; j < n; j++) {
            const top_sum_t *sm = TOP_SUMS(t, order[j]);
            uint64_t v[3] = {sm->flows, sm->packets, sm->bytes};
            if (j + 2 * TOP_AHEAD < n)
                top_tab_prefetch_whole(t, order[j + 2 * TOP_AHEAD]);
            for (int i = 0; i < nf; i++) {
                size_t l = top_field_text(cell, key, i, TOP_ENT(t, order[j]));
                if (l > wid[i])
                    wid[i] = l;
            }
            for (int i = 0; i < 3; i++) {
                size_t l = flow_print_u64(cell, v[i]);
                if (l > wid[nf + i])
                    wid[nf + i] = l;
            }
        }
        char *p = line;
        for (int i = 0; i < nf; i++) {
            p = top_pad(p, key->name[i], strlen(key->name[i]), wid[i], 0);
            *p++ = ' ';
            *p++ = ' ';
        }
        for (int i = 0; i < 3; i++) {
            p = top_pad(p, sums[i], strlen(sums[i]), wid[nf + i], 1);
            *p++ = i < 2 ? ' ' : '\n';
            if (i < 2)
                *p++ = ' ';
        }
        fwrite(line, 1, (size_t)(p - line), stdout);
    } else if (fmt == TOP_CSV) {
        char *p = line;
        for (int i = 0; i < nf; i++) {
            p = top_pad(p, key->name[i], strlen(key->name[i]), 0, 0);
            *p++ = ',';
        }
        p = top_pad(p, "flows,packets,bytes\n", 20, 0, 0);
        fwrite(line, 1, (size_t)(p - line), stdout);
    }
    for (uint32_t j = 0; j < n; j++) {
        const top_sum_t *sm = TOP_SUMS(t, order[j]);
        const uint8_t *kb = TOP_ENT(t, order[j]);
        uint64_t v[3] = {sm->flows, sm->packets, sm->bytes};
        char *p = line;
        /* keys are in insertion order, rows in rank order: fetch ahead of formatting */
        if (j + 2 * TOP_AHEAD < n)
            top_tab_prefetch_whole(t, order[j + 2 * TOP_AHEAD]);
        if (fmt == TOP_JSON)
            *p++ = '{';
        for (int i = 0; i < nf; i++) {
            size_t l = top_field_text(cell, key, i, kb);
            int is_addr = flow_cols[key->col[i]].type == FLOW_T_ADDR;
            if (fmt == TOP_TEXT) {
                p = top_pad(p, cell, l, wid[i], 0);
                *p++ = ' ';
                *p++ = ' ';
            } else if (fmt == TOP_CSV) {
                p = top_pad(p, cell, l, 0, 0);
                *p++ = ',';
            } else {
                /* the field's text is `l` bytes, not a string */
                p += sprintf(p, is_addr ? "\"%s\":\"%.*s\"," : "\"%s\":%.*s,", key->name[i], (int)l,
                             cell);
            }
        }
        for (int i = 0; i < 3; i++) {
            size_t l = flow_print_u64(cell, v[i]);
            if (fmt == TOP_TEXT) {
                p = top_pad(p, cell, l, wid[nf + i], 1);
                if (i < 2) {
                    *p++ = ' ';
                    *p++ = ' ';
                }
            } else if (fmt == TOP_CSV) {
                p = top_pad(p, cell, l, 0, 0);
                if (i < 2)
                    *p++ = ',';
            } else {
                p += sprintf(p, "\"%s\":", sums[i]);
                p = top_pad(p, cell, l, 0, 0);
                *p++ = i < 2 ? ',' : '}';
            }
        }
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), stdout);
    }
}

/* ---- the command --------------------------------------------------------------------------- */

static void top_usage(FILE *f)
{
    fprintf(f,
            "usage: flowhunt top DIR --by FIELDS [--order flows|bytes|packets] [-n N] [--raw]\n"
            "                    [--from T] [--to T] [--format text|csv|json] [FILTER]\n"
            "\n"
            "Sums flows, packets and bytes per key over the stored flows of DIR that overlap\n"
            "[--from, --to) and match FILTER, and prints the N largest (nfdump -s, or -A with\n"
            "-n 0).\n"
            "\n"
            "  --by FIELDS     the key, comma separated: srcip dstip srcport dstport proto\n"
            "                  srcas dstas exporter tos inif outif vlan nexthop flags\n"
            "                  (e.g. srcip or srcip,dstip,dstport)\n"
            "  --order X       rank by flows (default), bytes or packets\n"
            "  -n N            print the N largest (default 10; 0 prints every key)\n"
            "  --raw           counters as exported; by default packets and bytes are\n"
            "                  multiplied by each flow's sampling interval (1 in N)\n"
            "  --from, --to    the window, as for flowhunt cat\n"
            "  --format FMT    text (default, an aligned table), csv or json (one object a line)\n"
            "  -v, --verbose   the scan's summary on stderr (also shown on a terminal)\n"
            "  FILTER          as for flowhunt cat (see flowhunt cat --help)\n"
            "\n"
            "Exit status: 0 success, 2 usage or the directory could not be read.\n");
}

int cmd_top(int argc, char **argv)
{
    static const struct option opts[] = {{"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"by", required_argument, NULL, 'b'},
                                         {"order", required_argument, NULL, 'O'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"format", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *from_arg = NULL, *to_arg = NULL, *by = NULL;
    top_order_t order = TOP_FLOWS;
    top_fmt_t fmt = TOP_TEXT;
    uint64_t top_n = 10;
    top_ctx_t c;
    memset(&c, 0, sizeof c);
    int opt;
    optind = 1;
    int verbose = 0;
    while ((opt = getopt_long(argc, argv, "hn:v", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            from_arg = optarg;
            break;
        case 't':
            to_arg = optarg;
            break;
        case 'b':
            by = optarg;
            break;
        case 'O':
            if (strcmp(optarg, "flows") == 0)
                order = TOP_FLOWS;
            else if (strcmp(optarg, "packets") == 0)
                order = TOP_PACKETS;
            else if (strcmp(optarg, "bytes") == 0)
                order = TOP_BYTES;
            else {
                fprintf(stderr, "flowhunt top: --order takes flows, bytes or packets, not '%s'\n",
                        optarg);
                return CMD_USAGE;
            }
            break;
        case 'n': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] < '0' || optarg[0] > '9') {
                fprintf(stderr, "flowhunt top: -n takes a number, not '%s'\n", optarg);
                return CMD_USAGE;
            }
            top_n = v;
            break;
        }
        case 'r':
            c.raw = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'o':
            if (strcmp(optarg, "text") == 0)
                fmt = TOP_TEXT;
            else if (strcmp(optarg, "csv") == 0)
                fmt = TOP_CSV;
            else if (strcmp(optarg, "json") == 0)
                fmt = TOP_JSON;
            else {
                fprintf(stderr, "flowhunt top: --format takes text, csv or json, not '%s'\n",
                        optarg);
                return CMD_USAGE;
            }
            break;
        case 'h':
            top_usage(stdout);
            return CMD_OK;
        default:
            top_usage(stderr);
            return CMD_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "flowhunt top: give the data directory (see flowhunt top --help)\n");
        return CMD_USAGE;
    }
    const char *dir = argv[optind++];
    if (!by) {
        fprintf(stderr, "flowhunt top: give the key with --by (e.g. --by srcip)\n");
        return CMD_USAGE;
    }
    if (top_key_parse(by, &c.key) != 0)
        return CMD_USAGE;
    if (cmd_data_dir("flowhunt top", dir) != 0)
        return CMD_USAGE;
    uint64_t from, to;
    if (cmd_window("flowhunt top", from_arg, to_arg, &from, &to) != 0)
        return CMD_USAGE;
    char *text = flt_join(argc - optind, argv + optind);
    flt_error_t ferr;
    flt_t *flt = NULL;
    int rc = text ? flt_parse(text, &flt, &ferr) : -2;
    if (rc == -1)
        flt_print_error(stderr, "flowhunt top", text, &ferr);
    else if (rc == -2)
        fprintf(stderr, "flowhunt top: out of memory\n");
    free(text);
    if (rc != 0)
        return CMD_USAGE;
    flt_set_window(flt, from, to);
    c.flt = flt;

    c.n_workers = cmd_workers();
    c.w = calloc((size_t)c.n_workers, sizeof *c.w);
    int status = CMD_OK;
    if (!c.w) {
        fprintf(stderr, "flowhunt top: out of memory\n");
        flt_free(flt);
        return CMD_USAGE;
    }
    for (int i = 0; i < c.n_workers; i++) {
        flt_scratch_init(&c.w[i].scratch);
        c.w[i].keys = malloc((size_t)TOP_CHUNK * c.key.kw);
        c.w[i].hashes = malloc(TOP_CHUNK * sizeof *c.w[i].hashes);
        c.w[i].adds = malloc(TOP_CHUNK * sizeof *c.w[i].adds);
        if (c.key.n == 1 && c.key.width[0] <= 2 &&
            !(c.w[i].small = calloc((size_t)1 << (8 * c.key.width[0]), sizeof(top_sum_t))))
            c.w[i].nomem = 1;
        if (!c.w[i].keys || !c.w[i].hashes || !c.w[i].adds ||
            top_tab_init(&c.w[i].tab, c.key.kw) != 0)
            c.w[i].nomem = 1;
    }
    cmd_progress_init(&c.progress, 0);
    seg_scan_stats_t stats;
    seg_where_t where;
    memset(&stats, 0, sizeof stats);
    memset(&where, 0, sizeof where);
    rc = c.w[0].nomem ? -SEG_E_NOMEM
                      : seg_scan_flags(dir, from, to, c.n_workers, SEG_SCAN_GROUPS, top_want,
                                       top_batch, &c, &stats, &where);
    cmd_progress_done(&c.progress);
    if (rc < 0) {
        /* a callback's error carries its place in that worker's where */
        for (int i = 0; i < c.n_workers && !where.path[0]; i++)
            if (c.w[i].where.path[0])
                where = c.w[i].where;
        cmd_print_where(stderr, "flowhunt top", rc, &where);
        if (-rc != SEG_E_NOMEM)
            fprintf(stderr,
                    "flowhunt top: stopped; `flowhunt verify %s` lists every damaged segment\n",
                    dir);
        status = CMD_USAGE;
    }
    /* a small key's sums into each worker's table, then every worker's table into the first */
    for (int i = 0; i < c.n_workers && status == CMD_OK; i++)
        if (c.w[i].small && top_fold(&c.w[i], c.w[i].small, 1u << (8 * c.key.width[0]), NULL, 0)) {
            fprintf(stderr, "flowhunt top: out of memory\n");
            status = CMD_USAGE;
        }
    top_tab_t *t = &c.w[0].tab;
    for (int i = 1; i < c.n_workers && status == CMD_OK; i++) {
        if (top_tab_merge(t, &c.w[i].tab) != 0) {
            fprintf(stderr, "flowhunt top: out of memory\n");
            status = CMD_USAGE;
        }
        top_tab_free(&c.w[i].tab);
    }
    if (status == CMD_OK) {
        uint32_t n = top_n == 0 || top_n > t->n ? t->n : (uint32_t)top_n;
        uint32_t *ord = malloc(((size_t)n + 1) * sizeof *ord);
        if (!ord || top_rank(t, order, c.n_workers, n, ord) != 0) {
            fprintf(stderr, "flowhunt top: out of memory\n");
            status = CMD_USAGE;
        } else {
            top_print(t, ord, n, &c.key, fmt);
            if (fflush(stdout) != 0) {
                fprintf(stderr, "flowhunt top: writing the output: %s\n", strerror(errno));
                status = CMD_USAGE;
            }
        }
        free(ord);
        if (verbose || isatty(2))
            fprintf(stderr,
                    "flowhunt top: %llu flows selected of %llu scanned, %u keys; %llu of %llu "
                    "row groups skipped by zone maps, %llu segments\n",
                    (unsigned long long)c.rows_selected, (unsigned long long)c.rows_scanned, t->n,
                    (unsigned long long)stats.groups_skipped,
                    (unsigned long long)(stats.groups + stats.groups_skipped),
                    (unsigned long long)stats.segments);
    }
    for (int i = 0; i < c.n_workers; i++) {
        top_tab_free(&c.w[i].tab);
        flt_scratch_free(&c.w[i].scratch);
        free(c.w[i].rows);
        free(c.w[i].keys);
        free(c.w[i].hashes);
        free(c.w[i].adds);
        free(c.w[i].csum);
        free(c.w[i].small);
    }
    free(c.w);
    flt_free(flt);
    return status;
}
