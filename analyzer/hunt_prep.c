/* hunt_prep.c: from stored flow records to conversations, the one input every hunt reads.
 *
 * Flow records are not connections, and every hunt falls into the same traps if it reads them
 * raw (../shared/reference/hunting-methods.md section 0):
 *   - an exporter cuts a long flow every active timeout, which looks exactly like a beacon:
 *     records of one 5-tuple and exporter are stitched when the next starts within stitch_gap_s
 *     of the previous end and the previous was cut (end reason 2, or, without an end reason,
 *     it lasted at least active_timeout_min_s and carried no FIN or RST), across segment
 *     boundaries too, because the whole partition is sorted before it is stitched;
 *   - several routers export the same flow: records of one 5-tuple from different exporters
 *     that start within dedup_tolerance_ms count once (the copies are counted);
 *   - NetFlow is one-way: a record and the reverse 5-tuple's record that starts within
 *     pair_tolerance_ms of it become one conversation, so "was it answered" is known; the
 *     originator is the side sending the ICMP request, else the one not on a service port,
 *     else the one that started first; RFC 5103 biflows (and imported Zeek records) are
 *     conversations already;
 *   - sampling: counters are multiplied by the record's 1:N and the rate travels with the
 *     conversation so the hunts lower confidence.
 *
 * Memory is bounded by [general] memory_mb: a first pass reads only the row-group headers to
 * count rows; when the records would not fit, the window is hunted in P passes, each keeping
 * the records whose address pair (both sides cut to /24, IPv6 /64) hashes to that pass. Every
 * conversation of a pair, and every pair of an internal host with one remote /24, falls in one
 * pass, so stitching, pairing, per-pair beacon scoring and prevalence counts are exact; hunts
 * keep only per-host aggregates across passes. The number of passes is in the evidence.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "filter.h"
#include "hunt.h"
#include "hunt_unit.h"
#include "seg.h"

#define HP_FIN 0x01
#define HP_SYN 0x02
#define HP_RST 0x04
#define HP_ACK 0x10
#define HP_PAIR_LOOKAHEAD 64 /* reverse records examined per record: keeps pairing linear */

/* ---- keys ------------------------------------------------------------------------------------ */

uint64_t hp_fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* A 64-bit key for an address: the IPv4 value itself, or a hash of the IPv6 address with the
 * top bit set (collisions only merge two counts of prevalence, never two hosts' findings). */
static uint64_t hp_addr_key(const flow_addr_t *a)
{
    if (flow_addr_is_v4(a))
        return flow_addr_v4(a);
    return hp_fnv(a->b, 16, HP_FNV0) | (1ull << 63);
}

/* The address cut to its /24 (IPv6: /64). */
static flow_addr_t hp_net24(const flow_addr_t *a)
{
    flow_addr_t n = *a;
    if (flow_addr_is_v4(a))
        n.b[15] = 0;
    else
        memset(n.b + 8, 0, 8);
    return n;
}

static inline uint64_t hp_be64(const uint8_t *p);

static inline uint64_t hp_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The address cut to its /24 (IPv6: /64) as two big-endian words. */
static inline void hp_net24_words(const flow_addr_t *a, uint64_t *hi, uint64_t *lo)
{
    *hi = hp_be64(a->b);
    *lo = hp_be64(a->b + 8);
    if (*hi == 0 && *lo >> 32 == 0xffffu)
        *lo &= ~(uint64_t)0xff;
    else
        *lo = 0;
}

/* The pass of a pair of /24s, whichever way round. Every row of every pass is hashed here, so
 * it works on words: four multiply-mixes, where a byte-wise FNV of 32 bytes was the largest
 * cost of reading a window hunted in many passes. */
static uint64_t hp_partition_of(const flow_addr_t *s, const flow_addr_t *d)
{
    uint64_t ah, al, bh, bl;
    hp_net24_words(s, &ah, &al);
    hp_net24_words(d, &bh, &bl);
    if (ah > bh || (ah == bh && al > bl)) {
        uint64_t t = ah;
        ah = bh;
        bh = t;
        t = al;
        al = bl;
        bl = t;
    }
    return hp_mix(ah ^ hp_mix(al ^ hp_mix(bh ^ hp_mix(bl))));
}

uint64_t hp_rec_key(const hp_rec_t *r)
{
    return hp_partition_of(&r->src, &r->dst);
}

uint64_t hp_conv_key(const hunt_conv_t *c)
{
    return hp_partition_of(&c->orig, &c->resp);
}

uint64_t hp_pass_of(uint64_t key, uint64_t parts)
{
    return parts > 1 ? ((key >> 32) * parts) >> 32 : 0;
}

uint64_t hp_rec_pass(const hp_rec_t *r, uint64_t parts)
{
    return hp_pass_of(hp_rec_key(r), parts);
}

uint64_t hp_conv_pass(const hunt_conv_t *c, uint64_t parts)
{
    return hp_pass_of(hp_conv_key(c), parts);
}

/* ---- the pure steps ---------------------------------------------------------------------- */

/* Eight bytes as a big-endian number: comparing two of them is comparing the bytes in order. */
static inline uint64_t hp_be64(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | (uint64_t)p[7];
}

/* The sign of memcmp(a, b, 16), inline: the sorts below spend most of their time here. */
static inline int hp_cmp_addr(const flow_addr_t *a, const flow_addr_t *b)
{
    uint64_t x = hp_be64(a->b), y = hp_be64(b->b);
    if (x == y) {
        x = hp_be64(a->b + 8);
        y = hp_be64(b->b + 8);
    }
    return x < y ? -1 : x > y;
}

#define HP_CMP(x, y)                                                                               \
    do {                                                                                           \
        if ((x) != (y))                                                                            \
            return (x) < (y) ? -1 : 1;                                                             \
    } while (0)

/* 5-tuple, exporter, start: the order of stitching. */
static int hp_cmp_stitch(const void *pa, const void *pb)
{
    const hp_rec_t *a = pa, *b = pb;
    int c;
    if ((c = hp_cmp_addr(&a->src, &b->src)) || (c = hp_cmp_addr(&a->dst, &b->dst)))
        return c;
    HP_CMP(a->sport, b->sport);
    HP_CMP(a->dport, b->dport);
    HP_CMP(a->proto, b->proto);
    HP_CMP(a->exporter, b->exporter);
    HP_CMP(a->t0, b->t0);
    HP_CMP(a->t1, b->t1);
    HP_CMP(a->pkts, b->pkts);
    HP_CMP(a->bytes, b->bytes);
    return 0;
}

/* The sorts, cheaply. Sorting the records themselves compares two 100-odd-byte records far
 * apart in memory at every step; instead 32-byte keys are sorted that carry the leading part of
 * the order in three words, and the items (records, conversations) decide only where the words
 * are equal. An address is coded as a number that never decreases as the address grows, exact
 * below 2^63 (an address whose first 8 bytes are zero, as every IPv4-mapped one is) and a
 * coarse, bucketed value above, so unequal codes order two addresses as memcmp does and equal
 * exact codes mean equal addresses; after an inexact code the later words are 0, so the items
 * decide (hp_skey_t, hunt_unit.h). */
#define HP_INEXACT (1ull << 63)

static uint64_t hp_addr_code(const flow_addr_t *a)
{
    uint64_t hi = hp_be64(a->b), lo = hp_be64(a->b + 8);
    if (hi == 0 && lo < HP_INEXACT)
        return lo;
    return HP_INEXACT | (hi >> 1);
}

/* The key of two addresses and a word of ports and protocol, in that order. */
static hp_skey_t hp_key(const flow_addr_t *a, const flow_addr_t *b, uint64_t ports, void *p)
{
    hp_skey_t k = {{hp_addr_code(a), 0, 0}, p};
    if (k.w[0] < HP_INEXACT) {
        k.w[1] = hp_addr_code(b);
        if (k.w[1] < HP_INEXACT)
            k.w[2] = ports;
    }
    return k;
}

#define HP_RADIX_BITS 8
#define HP_RADIX_BUCKETS (1u << HP_RADIX_BITS)
#define HP_RADIX_DIGITS 8 /* of a 64-bit word */
#define HP_RADIX_MAX (3 * HP_RADIX_DIGITS)

/* The digits (bytes) a sort moves keys by, least significant first: word and shift. */
typedef struct hp_digits {
    int n;
    uint8_t word[HP_RADIX_MAX], shift[HP_RADIX_MAX];
} hp_digits_t;

/* A key packed into the bytes that differ between keys (hp_sort_keys): one word for a time or
 * an IPv4 pair's host and destination, two for an IPv4 5-tuple, so that every pass moves 16
 * or 24 bytes, not 32. */
typedef struct hp_key1 {
    uint64_t w[1];
    void *p;
} hp_key1_t;
typedef struct hp_key2 {
    uint64_t w[2];
    void *p;
} hp_key2_t;

/* hp_radix_<T>: a[0..n) sorted (stably) by the digits dg->word/shift[0 .. top], the last the
 * most significant, with tmp[0..n) as scratch; returns the buffer that holds the result (a or
 * tmp). A run that fits in the cache (HP_RADIX_CACHED items, with its scratch) is sorted
 * least significant digit first, each pass in cache; a larger one is first split by its most
 * significant digit into 256 runs, each sorted the same way, so that no pass over the whole
 * array scatters its writes across all of memory: least significant first from the start
 * took twice as long on 5 M 24-byte keys of 13 digits. One body for the three item sizes. */
#define HP_RADIX_CACHED 16384

#define HP_RADIX_FN(NAME, LSD, T)                                                                  \
    static T *LSD(T *a, T *tmp, size_t n, const hp_digits_t *dg, int top)                        \
    {                                                                                              \
        size_t c[HP_RADIX_MAX][HP_RADIX_BUCKETS];                                                  \
        memset(c, 0, (size_t)(top + 1) * sizeof c[0]);                                             \
        for (size_t i = 0; i < n; i++)                                                             \
            for (int d = 0; d <= top; d++)                                                         \
                c[d][(a[i].w[dg->word[d]] >> dg->shift[d]) & (HP_RADIX_BUCKETS - 1)]++;            \
        T *from = a, *to = tmp;                                                                    \
        for (int d = 0; d <= top; d++) {                                                           \
            size_t sum = 0;                                                                        \
            int one = 0;                                                                           \
            for (size_t b = 0; b < HP_RADIX_BUCKETS && !one; b++)                                  \
                one = c[d][b] == n;                                                                \
            if (one)                                                                               \
                continue;                                                                          \
            for (size_t b = 0; b < HP_RADIX_BUCKETS; b++) {                                        \
                size_t t = c[d][b];                                                                \
                c[d][b] = sum;                                                                     \
                sum += t;                                                                          \
            }                                                                                      \
            const int w = dg->word[d], sh = dg->shift[d];                                          \
            for (size_t i = 0; i < n; i++)                                                         \
                to[c[d][(from[i].w[w] >> sh) & (HP_RADIX_BUCKETS - 1)]++] = from[i];               \
            T *t = from;                                                                           \
            from = to;                                                                             \
            to = t;                                                                                \
        }                                                                                          \
        return from;                                                                               \
    }                                                                                              \
    static T *NAME(T *a, T *tmp, size_t n, const hp_digits_t *dg, int top)                       \
    {                                                                                              \
        if (top < 0 || n < 2)                                                                      \
            return a;                                                                              \
        if (n <= HP_RADIX_CACHED)                                                                  \
            return LSD(a, tmp, n, dg, top);                                                        \
        const int w = dg->word[top], sh = dg->shift[top]; /* split by the top digit */            \
        size_t at[HP_RADIX_BUCKETS + 1] = {0}, pos[HP_RADIX_BUCKETS], sum = 0;                     \
        for (size_t i = 0; i < n; i++)                                                             \
            at[(a[i].w[w] >> sh) & (HP_RADIX_BUCKETS - 1)]++;                                      \
        for (size_t b = 0; b < HP_RADIX_BUCKETS; b++) {                                            \
            if (at[b] == n) /* one value: the digit orders nothing here */                         \
                return NAME(a, tmp, n, dg, top - 1);                                               \
            size_t t = at[b];                                                                      \
            at[b] = pos[b] = sum;                                                                  \
            sum += t;                                                                              \
        }                                                                                          \
        at[HP_RADIX_BUCKETS] = n;                                                                  \
        for (size_t i = 0; i < n; i++)                                                             \
            tmp[pos[(a[i].w[w] >> sh) & (HP_RADIX_BUCKETS - 1)]++] = a[i];                         \
        for (size_t b = 0; b < HP_RADIX_BUCKETS; b++) {                                            \
            size_t m = at[b + 1] - at[b];                                                          \
            T *r = NAME(tmp + at[b], a + at[b], m, dg, top - 1);                                   \
            if (r != tmp + at[b])                                                                  \
                memcpy(tmp + at[b], r, m * sizeof *r);                                             \
        }                                                                                          \
        return tmp;                                                                                \
    }
HP_RADIX_FN(hp_radix_1, hp_radix_lsd_1, hp_key1_t)
HP_RADIX_FN(hp_radix_2, hp_radix_lsd_2, hp_key2_t)
HP_RADIX_FN(hp_radix_3, hp_radix_lsd_3, hp_skey_t)
#undef HP_RADIX_FN

/* The varying digits `src` (least significant first) of the three words w packed into
 * out[0..nw): the last digit of src in the top byte of out[0], and so on down, so that
 * comparing packed words compares the keys. */
static inline void hp_radix_pack(const hp_digits_t *src, int nw, const uint64_t *w, uint64_t *out)
{
    for (int j = 0; j < nw; j++)
        out[j] = 0;
    for (int d = src->n - 1, at = 0; d >= 0; d--, at++)
        out[at / 8] |= ((w[src->word[d]] >> src->shift[d]) & 0xff) << (8 * (7 - at % 8));
}

/* The inverse: w gets its constant bits `base` (varying digits cleared) and the digits. */
static inline void hp_radix_unpack(const hp_digits_t *src, const uint64_t *base, const uint64_t *in,
                                   uint64_t *w)
{
    w[0] = base[0];
    w[1] = base[1];
    w[2] = base[2];
    for (int d = src->n - 1, at = 0; d >= 0; d--, at++)
        w[src->word[d]] |= ((in[at / 8] >> (8 * (7 - at % 8))) & 0xff) << src->shift[d];
}

/* The digits of a packed key (8 per word, the last word's digits at the top), least
 * significant first. */
static void hp_radix_packed_digits(int n_digits, hp_digits_t *dg)
{
    dg->n = 0;
    for (int at = n_digits - 1; at >= 0; at--) {
        dg->word[dg->n] = (uint8_t)(at / 8);
        dg->shift[dg->n++] = (uint8_t)(8 * (7 - at % 8));
    }
}

/* hp_sort_packed_<NW>: k[0..n) sorted as packed keys of NW words (dg: the keys' varying
 * digits, pd: the packed ones, base: the constant bits). */
#define HP_PACKED_FN(NAME, T, RADIX, NW)                                                           \
    static void NAME(hp_skey_t *k, size_t n, const hp_digits_t *dg, const hp_digits_t *pd,       \
                     const uint64_t *base)                                                         \
    {                                                                                              \
        T *a = hj_xmalloc(2 * n * sizeof *a);                                                      \
        for (size_t i = 0; i < n; i++) {                                                           \
            hp_radix_pack(dg, NW, k[i].w, a[i].w);                                                 \
            a[i].p = k[i].p;                                                                       \
        }                                                                                          \
        const T *res = RADIX(a, a + n, n, pd, pd->n - 1);                                          \
        for (size_t i = 0; i < n; i++) {                                                           \
            hp_radix_unpack(dg, base, res[i].w, k[i].w);                                           \
            k[i].p = res[i].p;                                                                     \
        }                                                                                          \
        free(a);                                                                                   \
    }
HP_PACKED_FN(hp_sort_packed_1, hp_key1_t, hp_radix_1, 1)
HP_PACKED_FN(hp_sort_packed_2, hp_key2_t, hp_radix_2, 2)
#undef HP_PACKED_FN

static int hp_cmp_item(const void *pa, const void *pb, void *cmp)
{
    const hp_skey_t *a = pa, *b = pb;
    return ((int (*)(const void *, const void *))cmp)(a->p, b->p);
}

/* Sorts k[0..n) by its words and, where all three are equal, by `cmp` on the items: the order
 * a stable sort by that combined comparison gives (as glibc's qsort, a stable merge sort, gave
 * before). A least-significant-digit radix sort is stable and linear. A first pass finds the
 * bytes in which keys differ: only those are counted and sorted on (not the constant upper
 * bytes of IPv4-mapped codes and of times, nor the words a sort leaves 0), and when they fit
 * in one or two words the keys are packed into them (16- or 24-byte items, hp_key1_t and
 * hp_key2_t) and unpacked at the end; each run of equal words is then sorted by `cmp`, stably
 * (left in input order when `cmp` is NULL). Replaced qsort with a comparator, which was 40 %
 * of preparation; counting every digit of all three words and moving 32 bytes a pass took 3.7
 * times as long as packed keys on 5 M times (hp_conv_order's sort). */
void hp_sort_keys(hp_skey_t *k, size_t n, int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return;
    uint64_t base[3];
    hp_digits_t dg = {0}; /* the varying digits of the words, least significant first */
    for (int w = 2; w >= 0; w--) {
        uint64_t all = ~0ull, any = 0;
        for (size_t i = 0; i < n; i++) {
            all &= k[i].w[w];
            any |= k[i].w[w];
        }
        uint64_t vary = all ^ any; /* the bits that are not the same in every key */
        base[w] = all;
        for (int d = 0; d < HP_RADIX_DIGITS; d++)
            if ((vary >> (d * HP_RADIX_BITS)) & (HP_RADIX_BUCKETS - 1)) {
                base[w] &= ~((uint64_t)(HP_RADIX_BUCKETS - 1) << (d * HP_RADIX_BITS));
                dg.word[dg.n] = (uint8_t)w;
                dg.shift[dg.n++] = (uint8_t)(d * HP_RADIX_BITS);
            }
    }
    const int nw = (dg.n + 7) / 8; /* words of a packed key */
    hp_digits_t pd;
    hp_radix_packed_digits(dg.n, &pd);
    if (nw == 3) { /* as they are: packing would save nothing */
        hp_skey_t *tmp = hj_xmalloc(n * sizeof *tmp), *res = hp_radix_3(k, tmp, n, &dg, dg.n - 1);
        if (res != k)
            memcpy(k, res, n * sizeof *k);
        free(tmp);
    } else if (nw == 2) {
        hp_sort_packed_2(k, n, &dg, &pd, base);
    } else if (nw == 1) {
        hp_sort_packed_1(k, n, &dg, &pd, base);
    }
    for (size_t i = 0; cmp && i < n;) {
        size_t j = i + 1;
        while (j < n && k[j].w[0] == k[i].w[0] && k[j].w[1] == k[i].w[1] && k[j].w[2] == k[i].w[2])
            j++;
        if (j - i > 1)
            qsort_r(k + i, j - i, sizeof *k, hp_cmp_item, (void *)cmp);
        i = j;
    }
}

#define HP_AHEAD 16 /* records ahead whose lines are fetched while reading through pointers */

static inline void hp_prefetch_rec(hp_rec_t *const *ord, size_t i, size_t n)
{
    if (i + HP_AHEAD < n) {
        __builtin_prefetch(ord[i + HP_AHEAD]);
        __builtin_prefetch((const char *)(ord[i + HP_AHEAD] + 1) - 1);
    }
}

/* 5-tuple, start, exporter: the order of deduplication. */
static int hp_cmp_dedup(const void *pa, const void *pb)
{
    const hp_rec_t *a = pa, *b = pb;
    int c;
    HP_CMP(a->dead, b->dead);
    if ((c = hp_cmp_addr(&a->src, &b->src)) || (c = hp_cmp_addr(&a->dst, &b->dst)))
        return c;
    HP_CMP(a->sport, b->sport);
    HP_CMP(a->dport, b->dport);
    HP_CMP(a->proto, b->proto);
    HP_CMP(a->t0, b->t0);
    HP_CMP(a->exporter, b->exporter);
    HP_CMP(a->t1, b->t1);
    HP_CMP(a->pkts, b->pkts);
    return 0;
}

static int hp_cmp_dedup_ptr(const void *pa, const void *pb)
{
    return hp_cmp_dedup(*(const hp_rec_t *const *)pa, *(const hp_rec_t *const *)pb);
}

static int hp_is_icmp(uint8_t proto)
{
    return proto == 1 || proto == 58;
}

/* The unordered conversation key: lower (address, port) first; ICMP ignores ports, since a
 * request and its reply carry different types. */
typedef struct hp_ckey {
    const flow_addr_t *lo, *hi;
    uint16_t lo_port, hi_port;
} hp_ckey_t;

static hp_ckey_t hp_ckey(const hp_rec_t *r)
{
    hp_ckey_t k;
    uint16_t sp = hp_is_icmp(r->proto) ? 0 : r->sport, dp = hp_is_icmp(r->proto) ? 0 : r->dport;
    int c = hp_cmp_addr(&r->src, &r->dst);
    if (c < 0 || (c == 0 && sp <= dp)) {
        k = (hp_ckey_t){&r->src, &r->dst, sp, dp};
    } else {
        k = (hp_ckey_t){&r->dst, &r->src, dp, sp};
    }
    return k;
}

uint64_t hp_ckey_hash(const hp_rec_t *r)
{
    hp_ckey_t k = hp_ckey(r);
    uint64_t lh = hp_be64(k.lo->b), ll = hp_be64(k.lo->b + 8);
    uint64_t hh = hp_be64(k.hi->b), hl = hp_be64(k.hi->b + 8);
    uint64_t ports = (uint64_t)k.lo_port << 24 | (uint64_t)k.hi_port << 8 | r->proto;
    return hp_mix(lh ^ hp_mix(ll ^ hp_mix(hh ^ hp_mix(hl ^ hp_mix(ports)))));
}

/* The conversation key first (lower end, higher end, their ports, protocol), then the
 * stitching order: a conversation's records lie together, and within them each direction's
 * 5-tuple is a run of its own in the order stitching and deduplication take it. */
static int hp_cmp_conv_stitch(const void *pa, const void *pb)
{
    const hp_rec_t *a = pa, *b = pb;
    hp_ckey_t ka = hp_ckey(a), kb = hp_ckey(b);
    int c;
    if ((c = hp_cmp_addr(ka.lo, kb.lo)) || (c = hp_cmp_addr(ka.hi, kb.hi)))
        return c;
    HP_CMP(ka.lo_port, kb.lo_port);
    HP_CMP(ka.hi_port, kb.hi_port);
    HP_CMP(a->proto, b->proto);
    return hp_cmp_stitch(a, b);
}

/* Puts the records refs[0..n) point at in that order (the pointers move, not the records):
 * moving the records by following the permutation's cycles chained every cache miss on the
 * one before (60 % of hp_conv_build on a cold run), and a sorted copy needs a second array of
 * records; the steps after read them through the pointers instead, prefetching ahead. One
 * sort serves all three steps: sorted by 5-tuple for stitching, the records had to be sorted
 * again by conversation key for pairing, a second radix sort of every record and a pass
 * reading them in an order of its own. Without it, alternating runs without the cache: the
 * 2 M-flow day, every hunt, 3.48-3.81 -> 3.05-3.42 s of user CPU; 20 M flows, three hunts,
 * 32.2-32.5 -> 26.1-30.0 s; flowhunt conv of the 2 M flows 1.45-1.68 -> 1.04-1.22 s. */
static void hp_sort_conv(hp_rec_t **refs, size_t n)
{
    hp_skey_t *k = hj_xmalloc((n ? n : 1) * sizeof *k);
    for (size_t i = 0; i < n; i++) {
        hp_rec_t *r = refs[i];
        hp_ckey_t ck = hp_ckey(r);
        /* Below the key, which direction the record is (its source the higher end): the
         * stitching order puts the lower end's records first, so the bit agrees with it, and
         * the words of a conversation's two directions differ. Only the records of one
         * 5-tuple then tie, and are ordered by the comparator, which reads them. */
        uint64_t dir = ck.lo != &r->src;
        k[i] = hp_key(ck.lo, ck.hi,
                      (uint64_t)ck.lo_port << 25 | (uint64_t)ck.hi_port << 9 |
                          (uint64_t)r->proto << 1 | dir,
                      r);
    }
    hp_sort_keys(k, n, hp_cmp_conv_stitch);
    for (size_t i = 0; i < n; i++)
        refs[i] = k[i].p;
    free(k);
}

/* The pairing order within one conversation key: start, source address, exporter, end and
 * packets, gathered once per record so that the sort reads no record. */
typedef struct hp_pair_tie {
    uint64_t t0, src_hi, src_lo, exporter, t1, pkts;
    hp_rec_t *r;
} hp_pair_tie_t;

static int hp_cmp_pair_tie(const void *pa, const void *pb)
{
    const hp_pair_tie_t *a = pa, *b = pb;
    HP_CMP(a->t0, b->t0);
    HP_CMP(a->src_hi, b->src_hi);
    HP_CMP(a->src_lo, b->src_lo);
    HP_CMP(a->exporter, b->exporter);
    HP_CMP(a->t1, b->t1);
    HP_CMP(a->pkts, b->pkts);
    return 0;
}

/* Puts g[0..m), the live records of one conversation key, in the pairing order; t is scratch
 * of *cap entries, grown as needed. */
static void hp_pair_order(hp_rec_t **g, size_t m, hp_pair_tie_t **t, size_t *cap)
{
    if (m < 2)
        return;
    if (*cap < m) {
        *cap = 2 * m;
        *t = hj_xrealloc(*t, *cap * sizeof **t);
    }
    hp_pair_tie_t *v = *t;
    for (size_t x = 0; x < m; x++) {
        const hp_rec_t *r = g[x];
        v[x] = (hp_pair_tie_t){
            r->t0, hp_be64(r->src.b), hp_be64(r->src.b + 8), r->exporter, r->t1, r->pkts, g[x]};
    }
    qsort(v, m, sizeof *v, hp_cmp_pair_tie);
    for (size_t x = 0; x < m; x++)
        g[x] = v[x].r;
}

static int hp_same_ckey(const hp_rec_t *a, const hp_rec_t *b)
{
    if (a->proto != b->proto)
        return 0;
    hp_ckey_t ka = hp_ckey(a), kb = hp_ckey(b);
    return !hp_cmp_addr(ka.lo, kb.lo) && !hp_cmp_addr(ka.hi, kb.hi) && ka.lo_port == kb.lo_port &&
           ka.hi_port == kb.hi_port;
}

static int hp_same_5tuple(const hp_rec_t *a, const hp_rec_t *b)
{
    return !hp_cmp_addr(&a->src, &b->src) && !hp_cmp_addr(&a->dst, &b->dst) &&
           a->sport == b->sport && a->dport == b->dport && a->proto == b->proto;
}

/* 1 when `a` could have been cut by an active timeout and `b` is its continuation. */
static int hp_stitchable(const hunt_config_t *cfg, const hp_rec_t *a, const hp_rec_t *b)
{
    if (b->t0 < a->t0)
        return 0;
    uint64_t gap = b->t0 > a->t1 ? b->t0 - a->t1 : 0;
    if (gap > (uint64_t)(cfg->stitch_gap_s * 1000.0))
        return 0;
    if (a->end_reason == 2)
        return 1;
    if (a->end_reason != 0) /* idle, end of flow, forced: it really ended */
        return 0;
    if (a->proto == 6 && (a->flags & (HP_FIN | HP_RST)))
        return 0;
    return a->t1 - a->t0 >= (uint64_t)(cfg->active_min_s * 1000.0);
}

static void hp_absorb(hp_rec_t *into, hp_rec_t *from)
{
    if (from->t1 > into->t1)
        into->t1 = from->t1;
    into->pkts += from->pkts;
    into->bytes += from->bytes;
    into->rpkts += from->rpkts;
    into->rbytes += from->rbytes;
    into->flags |= from->flags;
    into->end_reason = from->end_reason;
    into->has_rev |= from->has_rev;
    into->rflags |= from->rflags;
    if (from->sampling > into->sampling)
        into->sampling = from->sampling;
    if (from->fw_event == 3)
        into->fw_event = 3;
    into->n_records = (uint16_t)(into->n_records + from->n_records);
    from->dead = 1;
}

/* Which port looks like the service: 1 the first, 2 the second, 0 cannot tell. */
static int hp_service_side(uint16_t p1, uint16_t p2)
{
    if (p1 < 1024 && p2 >= 1024)
        return 1;
    if (p2 < 1024 && p1 >= 1024)
        return 2;
    if (p1 < 32768 && p2 >= 32768) /* ephemeral ranges (Linux 32768+, Windows 49152+) */
        return 1;
    if (p2 < 32768 && p1 >= 32768)
        return 2;
    return 0;
}

static int hp_icmp_is_reply(uint8_t proto, uint16_t dport)
{
    uint8_t type = (uint8_t)(dport >> 8);
    if (proto == 1)
        return type == 0 || type == 14 || type == 16 || type == 18;
    return type == 129; /* ICMPv6 echo reply */
}

static uint64_t hp_scale(uint64_t v, uint32_t sampling)
{
    if (sampling <= 1)
        return v;
    if (v > UINT64_MAX / sampling)
        return UINT64_MAX;
    return v * sampling;
}

static int hp_cmp_conv(const void *pa, const void *pb)
{
    const hunt_conv_t *a = pa, *b = pb;
    int c;
    HP_CMP(a->t_start, b->t_start);
    if ((c = hp_cmp_addr(&a->orig, &b->orig)) || (c = hp_cmp_addr(&a->resp, &b->resp)))
        return c;
    HP_CMP(a->orig_port, b->orig_port);
    HP_CMP(a->resp_port, b->resp_port);
    HP_CMP(a->proto, b->proto);
    HP_CMP(a->t_end, b->t_end);
    HP_CMP(a->bytes_out, b->bytes_out);
    HP_CMP(a->bytes_in, b->bytes_in);
    /* the rest too: a total order, so conversations that come from the hour cache
     * (hunt_unit.c) and those prepared now are fed in one order, wherever they came from */
    HP_CMP(a->pkts_out, b->pkts_out);
    HP_CMP(a->pkts_in, b->pkts_in);
    HP_CMP(a->sampling, b->sampling);
    HP_CMP(a->flags_out, b->flags_out);
    HP_CMP(a->flags_in, b->flags_in);
    HP_CMP(a->answered, b->answered);
    HP_CMP(a->rejected, b->rejected);
    HP_CMP(a->n_records, b->n_records);
    HP_CMP(a->n_exporters, b->n_exporters);
    return 0;
}

/* One conversation from record f (the originator's) and r (the answer, or NULL). */
static void hp_conv(const hunt_config_t *cfg, const hp_rec_t *f, const hp_rec_t *r, hunt_conv_t *c)
{
    memset(c, 0, sizeof *c);
    c->orig = f->src;
    c->resp = f->dst;
    c->orig_port = f->sport;
    c->resp_port = f->dport;
    c->proto = f->proto;
    c->t_start = f->t0;
    c->t_end = f->t1;
    uint32_t sf = f->sampling ? f->sampling : 1;
    c->sampling = sf;
    if (f->reversed) { /* only the answer was seen: the originator's side is unknown */
        c->pkts_in = hp_scale(f->pkts, sf);
        c->bytes_in = hp_scale(f->bytes, sf);
        c->flags_in = f->flags;
        c->answered = 1;
    } else {
        c->pkts_out = hp_scale(f->pkts, sf);
        c->bytes_out = hp_scale(f->bytes, sf);
        c->flags_out = f->flags;
    }
    c->n_records = f->n_records;
    c->n_exporters = f->n_exporters;
    if (f->has_rev) { /* a biflow: the reverse counters and flags are the answer */
        c->pkts_in = hp_scale(f->rpkts, sf);
        c->bytes_in = hp_scale(f->rbytes, sf);
        c->flags_in = f->rflags;
        c->answered = f->rpkts > 0;
    }
    if (r) {
        uint32_t sr = r->sampling ? r->sampling : 1;
        if (sr > c->sampling)
            c->sampling = sr;
        c->pkts_in += hp_scale(r->pkts, sr);
        c->bytes_in += hp_scale(r->bytes, sr);
        c->flags_in = r->flags;
        c->answered = 1;
        if (r->t0 < c->t_start)
            c->t_start = r->t0;
        if (r->t1 > c->t_end)
            c->t_end = r->t1;
        c->n_records = (uint16_t)(c->n_records + r->n_records);
        if (r->n_exporters > c->n_exporters)
            c->n_exporters = r->n_exporters;
    }
    /* A closed TCP port answers with RST (RST|ACK) and never a SYN; a firewall's deny event
     * is a rejection whatever else was seen. */
    if (c->proto == 6 && c->answered && (c->flags_in & HP_RST) && !(c->flags_in & HP_SYN))
        c->rejected = 1;
    /* Exported one way only: a client whose own record has SYN and, in a later packet, ACK
     * acknowledged a SYN|ACK nobody exported. It was answered (what came back is unknown);
     * else every session behind such a router read as a failed attempt: a scan. */
    if (c->proto == 6 && !c->answered && !f->reversed && f->pkts >= 2 &&
        (c->flags_out & (HP_SYN | HP_ACK)) == (HP_SYN | HP_ACK))
        c->answered = 1;
    if (f->fw_event == 3 || (r && r->fw_event == 3)) {
        c->rejected = 1;
        c->answered = 0;
    }
    c->orig_internal = (uint8_t)hc_is_internal(cfg, &c->orig);
    c->resp_internal = (uint8_t)hc_is_internal(cfg, &c->resp);
}

/* Which of two records of one conversation is the originator's: 1 for a, 0 for b. */
static int hp_a_originates(const hp_rec_t *a, const hp_rec_t *b)
{
    if (hp_is_icmp(a->proto)) {
        int ar = hp_icmp_is_reply(a->proto, a->dport), br = hp_icmp_is_reply(b->proto, b->dport);
        if (ar != br)
            return br;
    } else {
        /* A bare SYN (no ACK all flow long) is always the client's, whatever its ports: a
         * scan from source port 53 answered by RST had the target "resolving" at the scanner */
        int as = a->proto == 6 && (a->flags & (HP_SYN | HP_ACK)) == HP_SYN,
            bs = b->proto == 6 && (b->flags & (HP_SYN | HP_ACK)) == HP_SYN;
        if (as != bs)
            return as;
        int s = hp_service_side(a->sport, a->dport);
        if (s)
            return s == 2; /* a's destination is the service: a is the client's record */
    }
    return a->t0 <= b->t0;
}

/* Swaps a lone record so that src is the originator, when its ports or ICMP type say so. */
static void hp_orient_lone(hp_rec_t *r)
{
    int swap = 0;
    if (r->has_rev)
        return; /* RFC 5103: the biflow's source is the initiator */
    if (hp_is_icmp(r->proto))
        swap = hp_icmp_is_reply(r->proto, r->dport);
    else if (r->proto == 6 && (r->flags & (HP_SYN | HP_ACK)) == HP_SYN)
        swap = 0; /* a bare SYN is always the client's */
    else
        swap = hp_service_side(r->sport, r->dport) == 1;
    if (!swap)
        return;
    flow_addr_t t = r->src;
    r->src = r->dst;
    r->dst = t;
    uint16_t p = r->sport;
    r->sport = hp_is_icmp(r->proto) ? 0 : r->dport;
    r->dport = hp_is_icmp(r->proto) ? 0 : p;
    r->reversed = 1; /* what it counted went from the responder to the originator */
}

size_t hp_conv_build(const hunt_config_t *cfg, hp_rec_t *recs, size_t n, hp_stats_t *st,
                     hunt_conv_t **convs_out)
{
    hp_rec_t **refs = hj_xmalloc((n ? n : 1) * sizeof *refs);
    for (size_t i = 0; i < n; i++)
        refs[i] = &recs[i];
    return hp_conv_build_refs(cfg, refs, n, st, convs_out);
}

size_t hp_conv_build_refs(const hunt_config_t *cfg, hp_rec_t **refs, size_t n, hp_stats_t *st,
                          hunt_conv_t **convs_out)
{
    *convs_out = NULL;
    if (n == 0) {
        free(refs);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        hp_rec_t *r = refs[i];
        r->dead = 0;
        if (r->n_records == 0)
            r->n_records = 1;
        if (r->n_exporters == 0)
            r->n_exporters = 1;
        if (r->sampling == 0)
            r->sampling = 1;
    }
    /* 1. stitch active-timeout fragments of one 5-tuple and exporter */
    hp_rec_t **o = refs;
    hp_sort_conv(o, n);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        hp_rec_t *head = o[i];
        while (j < n && hp_same_5tuple(head, o[j]) && head->exporter == o[j]->exporter) {
            hp_prefetch_rec(o, j, n);
            if (hp_stitchable(cfg, head, o[j])) {
                hp_absorb(head, o[j]);
                st->stitched++;
            } else {
                head = o[j];
            }
            j++;
        }
        hp_prefetch_rec(o, j, n);
        i = j;
    }
    /* 2. one flow exported by several routers counts once. Each 5-tuple's records are a run
     * in stitching order, which the order of deduplication (live first, then 5-tuple, start,
     * exporter) shares: taking the live records, in order, and sorting each 5-tuple's run
     * gives each run the order a stable sort of all of them gave (the dead ones were never
     * read again), without sorting the whole window a second time. */
    size_t live = 0;
    for (size_t i = 0; i < n; i++)
        if (!o[i]->dead)
            o[live++] = o[i];
    for (size_t i = 0; i < live;) {
        size_t j = i + 1;
        while (j < live && hp_same_5tuple(o[i], o[j]))
            j++;
        if (j - i > 1)
            qsort(o + i, j - i, sizeof *o, hp_cmp_dedup_ptr);
        i = j;
    }
    for (size_t i = 0; i < live;) {
        size_t j = i + 1;
        hp_rec_t *a = o[i];
        /* the router whose record reaches a->t1, and the last other one counted */
        uint64_t span_exp = a->exporter, counted = a->exporter;
        hp_prefetch_rec(o, i, live);
        /* A copy is a record of the 5-tuple that starts before the flow so far ends (within
         * the tolerance), from another router than the one whose record reaches that far: not
         * only one that starts with it. After stitching, one router's record of a long
         * connection starts at its first fragment, while another router that exported only
         * some of the fragments has records starting at later ones: those survived as extra
         * conversations, one per active timeout, which is a perfect beacon (a held HTTPS
         * connection became a 1800 s beacon, Medium). A record of the same router that
         * reaches there is another flow (it stitched what it could). */
        while (j < live && hp_same_5tuple(a, o[j]) &&
               o[j]->t0 <= (a->t1 > a->t0 ? a->t1 : a->t0) + (uint64_t)cfg->dedup_tol_ms) {
            hp_rec_t *b = o[j];
            if (b->exporter != span_exp) {
                /* keep the copy that saw most (a sampled router may report fewer packets),
                 * with its sampling rate (the counters are scaled by it: another copy's rate
                 * would multiply an unsampled count) and the records stitched into it */
                if (b->pkts > a->pkts) {
                    a->pkts = b->pkts;
                    a->bytes = b->bytes;
                    a->sampling = b->sampling;
                    a->n_records = b->n_records;
                    if (b->has_rev) {
                        a->has_rev = 1;
                        a->rpkts = b->rpkts;
                        a->rbytes = b->rbytes;
                        a->rflags = b->rflags;
                    }
                }
                if (b->t1 > a->t1) {
                    a->t1 = b->t1;
                    span_exp = b->exporter;
                }
                a->flags |= b->flags;
                if (b->exporter != counted) {
                    a->n_exporters++;
                    counted = b->exporter;
                }
                b->dead = 1;
                st->duplicates++;
            }
            j++;
        }
        /* the next cluster starts at the first record not merged into this one */
        size_t k = i + 1;
        while (k < j && o[k]->dead)
            k++;
        i = k;
    }
    /* 3. pair one-way records into conversations: each conversation key's records lie
     * together, its live ones are put in the pairing order and paired among themselves */
    hunt_conv_t *convs = hj_xmalloc((live ? live : 1) * sizeof *convs);
    size_t nc = 0;
    uint64_t tol = (uint64_t)cfg->pair_tol_ms;
    hp_pair_tie_t *ties = NULL;
    size_t ties_cap = 0;
    for (size_t i = 0; i < live;) {
        /* the key's live records, gathered at the front of its run (o is not read again) */
        size_t j = i, m = 0;
        for (; j < live && (j == i || hp_same_ckey(o[i], o[j])); j++) {
            hp_prefetch_rec(o, j, live);
            if (!o[j]->dead)
                o[i + m++] = o[j];
        }
        hp_rec_t **g = o + i;
        hp_pair_order(g, m, &ties, &ties_cap);
        for (size_t x = 0; x < m; x++) {
            hp_rec_t *a = g[x];
            if (a->dead)
                continue;
            a->dead = 1;
            hp_rec_t *b = NULL;
            if (!a->has_rev) {
                for (size_t y = x + 1; y < m && y < x + 1 + HP_PAIR_LOOKAHEAD; y++) {
                    hp_rec_t *q = g[y];
                    if (q->t0 > a->t1 + tol)
                        break;
                    if (q->dead || q->has_rev || !hp_cmp_addr(&q->src, &a->src))
                        continue;
                    b = q;
                    break;
                }
            }
            if (b) {
                b->dead = 1;
                st->paired++;
                if (hp_a_originates(a, b))
                    hp_conv(cfg, a, b, &convs[nc++]);
                else
                    hp_conv(cfg, b, a, &convs[nc++]);
            } else {
                if (a->has_rev)
                    st->biflows++;
                hp_orient_lone(a);
                hp_conv(cfg, a, NULL, &convs[nc++]);
            }
        }
        i = j;
    }
    free(ties);
    free(o);
    *convs_out = convs;
    return nc;
}

/* ---- preparing on every core --------------------------------------------------------------
 * Stitching, deduplication and pairing join records of one conversation key only, so records
 * split by that key into shards prepare independently, one thread each; the conversations are
 * then put in one total order (hp_conv_order), so the shards change the wall time and nothing
 * else. On the 20M-flow bench store (three hunts, four passes, no cache) this and counting
 * prevalence by sorting (hp_count) took the run from 36-39 s to 29-30 s. */

#define HP_SHARD_MIN 8192 /* fewer records: one thread (a shard of fewer is not worth a thread) */
#define HP_SHARD_MAX 16

typedef struct hp_shard {
    const hunt_config_t *cfg;
    hp_rec_t **refs; /* the shard's records, where the scan left them (taken by the build) */
    size_t n, nc;
    hp_stats_t st;
    hunt_conv_t *convs;
} hp_shard_t;

static void *hp_shard_thread(void *arg)
{
    hp_shard_t *s = arg;
    s->nc = hp_conv_build_refs(s->cfg, s->refs, s->n, &s->st, &s->convs);
    s->refs = NULL;
    return NULL;
}

/* The records of the arrays src[0..n_src) split into `k` shards by conversation key: each
 * shard an array of pointers to its records (malloc'd in sh[]), in input order. The records
 * stay where they are (the caller frees them once the shards are built). They used to be
 * copied into one sharded array on one thread, beside the arrays being copied: without that,
 * the beacon hunt over 20 M flows without the cache (four passes) peaks 2 % lower (1131 ->
 * 1108 MiB), its CPU time the same within the noise. Returns how many records there are. */
static size_t hp_shards_split(hp_recs_t *const *src, int n_src, int k, hp_shard_t *sh)
{
    size_t n = 0;
    for (int i = 0; i < n_src; i++)
        n += src[i]->n;
    uint8_t *of = k > 1 ? hj_xmalloc(n ? n : 1) : NULL;
    size_t j = 0;
    for (int i = 0; i < n_src; i++)
        for (size_t r = 0; r < src[i]->n; r++, j++) {
            if (of)
                of[j] = (uint8_t)(((uint64_t)(uint32_t)hp_ckey_hash(&src[i]->v[r]) *
                                   (uint64_t)k) >> 32);
            sh[of ? of[j] : 0].n++;
        }
    for (int s = 0; s < k; s++) {
        sh[s].refs = hj_xmalloc((sh[s].n ? sh[s].n : 1) * sizeof *sh[s].refs);
        sh[s].n = 0;
    }
    j = 0;
    for (int i = 0; i < n_src; i++)
        for (size_t r = 0; r < src[i]->n; r++, j++) {
            hp_shard_t *t = &sh[of ? of[j] : 0];
            t->refs[t->n++] = &src[i]->v[r];
        }
    free(of);
    return n;
}

/* Steps 1-3 of preparation on the shards sh[0..k), one thread each: their conversations in
 * one array (malloc'd in *convs_out), their counts added to st. Returns how many. */
static size_t hp_shards_build(const hunt_config_t *cfg, hp_shard_t *sh, int k, hp_stats_t *st,
                              hunt_conv_t **convs_out)
{
    for (int s = 0; s < k; s++)
        sh[s].cfg = cfg;
    cmd_par(hp_shard_thread, sh, sizeof *sh, k);
    size_t total = 0;
    for (int s = 0; s < k; s++) {
        total += sh[s].nc;
        st->stitched += sh[s].st.stitched;
        st->duplicates += sh[s].st.duplicates;
        st->paired += sh[s].st.paired;
        st->biflows += sh[s].st.biflows;
    }
    hunt_conv_t *convs = hj_xrealloc(sh[0].convs, (total ? total : 1) * sizeof *convs);
    size_t at = sh[0].nc;
    for (int s = 1; s < k; s++) {
        if (sh[s].nc)
            memcpy(convs + at, sh[s].convs, sh[s].nc * sizeof *convs);
        at += sh[s].nc;
        free(sh[s].convs);
    }
    *convs_out = convs;
    return total;
}

/* Preparation's counts of the conversations order[0..n) (sums and extremes: any order). */
static void hp_order_count(const hunt_conv_t *const *order, size_t n, hp_stats_t *st)
{
    for (size_t i = 0; i < n; i++) {
        const hunt_conv_t *c = order[i];
        st->convs++;
        st->one_way += !c->answered;
        if (c->sampling > 1)
            st->sampled++;
        if (c->sampling > st->max_sampling)
            st->max_sampling = c->sampling;
        if (st->first_ms == 0 || c->t_start < st->first_ms)
            st->first_ms = c->t_start;
        if (c->t_end > st->last_ms)
            st->last_ms = c->t_end;
    }
}

const hunt_conv_t **hp_conv_order(const hunt_conv_t *convs, size_t nc, hp_stats_t *st)
{
    /* 4. in time order, a total order so that every run feeds the hunts identically (sorted
     * by pointer: each conversation is read once, in this order, so none is moved) */
    hp_skey_t *cx = hj_xmalloc((nc ? nc : 1) * sizeof *cx);
    for (size_t i = 0; i < nc; i++)
        cx[i] = (hp_skey_t){{convs[i].t_start, 0, 0}, (void *)&convs[i]};
    hp_sort_keys(cx, nc, hp_cmp_conv);
    const hunt_conv_t **order = hj_xmalloc((nc ? nc : 1) * sizeof *order);
    for (size_t i = 0; i < nc; i++)
        order[i] = cx[i].p;
    free(cx);
    hp_order_count(order, nc, st);
    return order;
}

/* Step 4 over a pass: the conversations prepared now (fresh[0..n_fresh): the new hours and
 * the records near hour edges, at any time) and the cached hours' (ld[]: each hour's a run of
 * its own, and an hour's conversations all start in it). Sorting all of them at once was a
 * radix sort of every conversation of the pass on one thread (4.3 s of a 34 s slid run over
 * 100 M flows); the hours are sorted one by one instead, small sorts that fit the cache, on
 * `threads` threads beside the fresh ones', then laid end to end in hour order, which is time
 * order, and merged with the fresh. The same total order as one sort of [fresh, hours]: a
 * tie between the two goes to the fresh, as it went in the one sort, and hours never tie
 * (checked: if two ever overlapped, their runs are sorted together). */
typedef struct hp_hour_run {
    const hunt_conv_t *v;
    size_t n;
    int64_t k;
} hp_hour_run_t;

static int hp_cmp_hour_run(const void *pa, const void *pb)
{
    const hp_hour_run_t *a = pa, *b = pb;
    return a->k < b->k ? -1 : a->k > b->k;
}

typedef struct hp_order_job {
    hp_skey_t *cx;
    const size_t *at; /* job i sorts cx[at[i] .. at[i + 1]) */
} hp_order_job_t;

static void hp_order_one(void *arg, size_t i)
{
    hp_order_job_t *j = arg;
    hp_sort_keys(j->cx + j->at[i], j->at[i + 1] - j->at[i], hp_cmp_conv);
}

static const hunt_conv_t **hp_conv_order_runs(const hunt_conv_t *fresh, size_t n_fresh,
                                              const hu_loaded_t *ld, int n_ld, size_t total,
                                              int threads, hp_stats_t *st)
{
    size_t n_runs = 0;
    for (int i = 0; i < n_ld; i++)
        n_runs += ld[i].n_runs;
    hp_hour_run_t *run = hj_xmalloc((n_runs ? n_runs : 1) * sizeof *run);
    n_runs = 0;
    for (int i = 0; i < n_ld; i++)
        for (size_t r = 0; r < ld[i].n_runs; r++)
            run[n_runs++] = (hp_hour_run_t){ld[i].convs + ld[i].runs[r].lo,
                                            ld[i].runs[r].hi - ld[i].runs[r].lo,
                                            ld[i].runs[r].k};
    qsort(run, n_runs, sizeof *run, hp_cmp_hour_run);
    /* the keys: the fresh first, then hour after hour; job 0 sorts the fresh, job 1 + r run r */
    hp_skey_t *cx = hj_xmalloc((total ? total : 1) * sizeof *cx);
    size_t *at = hj_xmalloc((n_runs + 2) * sizeof *at), pos = 0;
    at[0] = 0;
    for (size_t i = 0; i < n_fresh; i++, pos++)
        cx[pos] = (hp_skey_t){{fresh[i].t_start, 0, 0}, (void *)&fresh[i]};
    at[1] = pos;
    for (size_t r = 0; r < n_runs; r++) {
        for (size_t i = 0; i < run[r].n; i++, pos++)
            cx[pos] = (hp_skey_t){{run[r].v[i].t_start, 0, 0}, (void *)&run[r].v[i]};
        at[2 + r] = pos;
    }
    free(run);
    hp_order_job_t job = {.cx = cx, .at = at};
    cmd_par_each(hp_order_one, &job, n_runs + 1, threads);
    for (size_t r = 1; r < n_runs; r++)
        if (at[1 + r] > at[r] && at[2 + r] > at[1 + r] &&
            cx[at[1 + r] - 1].w[0] >= cx[at[1 + r]].w[0]) {
            hp_sort_keys(cx + n_fresh, pos - n_fresh, hp_cmp_conv); /* never, by the cache */
            break;
        }
    free(at);
    /* the fresh and the hours merged, a tie to the fresh */
    const hunt_conv_t **order = hj_xmalloc((total ? total : 1) * sizeof *order);
    size_t a = 0, b = n_fresh, o = 0;
    while (a < n_fresh && b < pos) {
        int fresh_first = cx[a].w[0] != cx[b].w[0] ? cx[a].w[0] < cx[b].w[0]
                                                   : hp_cmp_conv(cx[a].p, cx[b].p) <= 0;
        order[o++] = cx[fresh_first ? a++ : b++].p;
    }
    while (a < n_fresh)
        order[o++] = cx[a++].p;
    while (b < pos)
        order[o++] = cx[b++].p;
    free(cx);
    hp_order_count(order, o, st);
    return order;
}

/* The conversations of recs[0..n): *convs holds them, *order points at them in time order
 * (both malloc'd, the caller's; the records may be freed once this returns). Returns how many. */
static size_t hp_conversations(const hunt_config_t *cfg, hp_rec_t *recs, size_t n, hp_stats_t *st,
                               hunt_conv_t **convs_out, const hunt_conv_t ***order_out)
{
    size_t nc = hp_conv_build(cfg, recs, n, st, convs_out);
    *order_out = hp_conv_order(*convs_out, nc, st);
    return nc;
}

void hp_prepare(const hunt_config_t *cfg, hp_rec_t *recs, size_t n,
                void (*emit)(void *arg, const hunt_conv_t *c), void *arg, hp_stats_t *st)
{
    hunt_conv_t *convs;
    const hunt_conv_t **order;
    size_t nc = hp_conversations(cfg, recs, n, st, &convs, &order);
    for (size_t i = 0; i < nc; i++)
        emit(arg, order[i]);
    free(order);
    free(convs);
}

/* The conversations cv[0..n) points at copied in that order into a new array (returned; the
 * caller frees where they were), cv[i] then pointing at its i-th element: one pass of scattered reads here,
 * where every hunt's thread (and the prevalence count) would otherwise miss the cache on each
 * conversation it reads in time order. A copy, not a permutation in place: following the
 * permutation's cycles chains each read on the one before, so misses never overlap, and that
 * took a fifth of a run over cached hours; the reads of a copy are known ahead and
 * prefetched, on two threads when there are many (each half of the places). The copy's room
 * is the records', freed before this. */
typedef struct hp_lay_out_job {
    hunt_conv_t *out;
    const hunt_conv_t **cv;
    size_t lo, hi;
} hp_lay_out_job_t;

static void *hp_lay_out_run(void *arg)
{
    hp_lay_out_job_t *j = arg;
    for (size_t i = j->lo; i < j->hi; i++) {
        if (i + HP_AHEAD < j->hi) {
            __builtin_prefetch(j->cv[i + HP_AHEAD]);
            __builtin_prefetch((const char *)(j->cv[i + HP_AHEAD] + 1) - 1);
        }
        j->out[i] = *j->cv[i];
        j->cv[i] = &j->out[i];
    }
    return NULL;
}

#define HP_LAY_OUT_SPLIT 65536 /* conversations from which a second thread pays */

static hunt_conv_t *hp_conv_lay_out(const hunt_conv_t **cv, size_t n, int threads)
{
    hunt_conv_t *out = hj_xmalloc((n ? n : 1) * sizeof *out);
    hp_lay_out_job_t job[2] = {{out, cv, 0, n / 2}, {out, cv, n / 2, n}};
    if (threads > 1 && n >= HP_LAY_OUT_SPLIT) {
        cmd_par(hp_lay_out_run, job, sizeof *job, 2);
    } else {
        job[0].hi = n;
        hp_lay_out_run(&job[0]);
    }
    return out;
}

/* ---- reading the window ------------------------------------------------------------------ */

#define HP_MAX_JOBS 17 /* feeding jobs: the hunts (hunt_all: 8) and the count */

struct hp_state {
    const hunt_config_t *cfg;
    hj_map_t hosts;       /* internal originator keys (a set: the values are not used) */
    hj_map_t prev_dst;    /* address key -> distinct internal originators */
    hj_map_t prev_net;    /* /24 key -> distinct internal originators */
    hj_map_t dns_clients; /* address key -> distinct internal hosts sending it DNS */
    /* the scan */
    hp_recs_t w[16];
    flt_rows_t sel[16]; /* the run's filter, when it has one: per worker (zeroed: initialised) */
    hu_set_t *units; /* hours whose conversations are cached, or NULL */
    uint64_t from_ms, to_ms;
    uint64_t parts, part;
    cmd_progress_t prog;
    uint64_t rows_total, rows_seen; /* progress */
    hp_run_t *run;
    hp_stats_t *stats;
    /* CPU seconds each feeding job (a hunt's index, then the count) took in the last pass: the
     * next pass's order, dearest first */
    double job_cpu[HP_MAX_JOBS];
    int job_measured;
};

hp_state_t *hp_create(const hunt_config_t *cfg)
{
    hp_state_t *p = hj_xcalloc(1, sizeof *p);
    p->cfg = cfg;
    return p;
}

void hp_destroy(hp_state_t *p)
{
    if (!p)
        return;
    hj_map_free(&p->hosts);
    hj_map_free(&p->prev_dst);
    hj_map_free(&p->prev_net);
    hj_map_free(&p->dns_clients);
    hu_close(p->units);
    for (int i = 0; i < 16; i++) {
        free(p->w[i].v);
        flt_rows_free(&p->sel[i]);
    }
    free(p);
}

uint64_t hp_prevalence(const void *prep_state, const flow_addr_t *dst, int kind)
{
    const hp_state_t *p = prep_state;
    if (!dst)
        return p->hosts.n;
    if (kind == HP_PREV_HOST)
        return hj_map_get(&p->hosts, hp_addr_key(dst)) != NULL;
    flow_addr_t a = kind == HP_PREV_NET ? hp_net24(dst) : *dst;
    const hj_map_t *m = kind == HP_PREV_NET   ? &p->prev_net
                        : kind == HP_PREV_DNS ? &p->dns_clients
                                              : &p->prev_dst;
    const uint64_t *v = hj_map_get(m, hp_addr_key(&a));
    return v ? *v : 0;
}

int hp_conv_is_dns(const hunt_conv_t *c)
{
    /* TCP: the originator's ACK shows the handshake completed; records without TCP flags (a
     * Zeek conn.log, an exporter that leaves them out) show it by an answer */
    int done = c->proto != 6 || (c->flags_out & 0x10) || (c->flags_out == 0 && c->answered);
    return c->orig_internal && c->resp_port == 53 && (c->proto == 6 || c->proto == 17) &&
           !c->rejected && done;
}

#define HP_COLS                                                                                    \
    (FLOW_BIT(time_start) | FLOW_BIT(time_end) | FLOW_BIT(src_addr) | FLOW_BIT(dst_addr) |         \
     FLOW_BIT(src_port) | FLOW_BIT(dst_port) | FLOW_BIT(proto) | FLOW_BIT(tcp_flags) |             \
     FLOW_BIT(packets) | FLOW_BIT(bytes) | FLOW_BIT(exporter) | FLOW_BIT(sampling) |               \
     FLOW_BIT(obs_domain) | FLOW_BIT(end_reason) | FLOW_BIT(rev_packets) | FLOW_BIT(rev_bytes) |   \
     FLOW_BIT(fw_event) | FLOW_BIT(icmp_type) | FLOW_BIT(icmp_code) | FLOW_BIT(rev_tcp_flags))

static int hp_has(const seg_batch_t *b, int col, uint32_t i)
{
    return b->present[col] == NULL || b->present[col][i];
}

hp_rec_t *hp_recs_push(hp_recs_t *v)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4096;
        v->v = hj_xrealloc(v->v, v->cap * sizeof *v->v);
    }
    return &v->v[v->n++];
}

int hp_batch_recs(seg_batch_t *b, const uint32_t *rows, uint32_t n, uint64_t from_ms,
                  uint64_t to_ms, int (*keep)(void *arg, const hp_rec_t *r), void *arg,
                  hp_recs_t *out)
{
    seg_where_t where;
    /* a group whose sampling zone map says no interval is above 1 is read as unsampled
     * without decoding the column (as top does) */
    int sampled = !seg_batch_unsampled(b);
    for (int c = 0; c < FLOW_N_COLS; c++) {
        if (!((HP_COLS >> c) & 1) || (c == FLOW_COL_sampling && !sampled))
            continue;
        int rc = seg_batch_load(b, c, &where);
        if (rc < 0)
            return rc;
    }
    const uint64_t *t0 = b->vals[FLOW_COL_time_start], *t1 = b->vals[FLOW_COL_time_end];
    const flow_addr_t *src = b->vals[FLOW_COL_src_addr], *dst = b->vals[FLOW_COL_dst_addr];
    const flow_addr_t *exp = b->vals[FLOW_COL_exporter];
    const uint16_t *sp = b->vals[FLOW_COL_src_port], *dp = b->vals[FLOW_COL_dst_port];
    const uint8_t *proto = b->vals[FLOW_COL_proto], *flags = b->vals[FLOW_COL_tcp_flags];
    const uint64_t *pk = b->vals[FLOW_COL_packets], *by = b->vals[FLOW_COL_bytes];
    const uint64_t *rpk = b->vals[FLOW_COL_rev_packets], *rby = b->vals[FLOW_COL_rev_bytes];
    const uint32_t *samp = sampled ? b->vals[FLOW_COL_sampling] : NULL;
    const uint32_t *dom = b->vals[FLOW_COL_obs_domain];
    const uint8_t *er = b->vals[FLOW_COL_end_reason], *fw = b->vals[FLOW_COL_fw_event];
    const uint8_t *it = b->vals[FLOW_COL_icmp_type], *ic = b->vals[FLOW_COL_icmp_code];
    const uint8_t *rfl = b->vals[FLOW_COL_rev_tcp_flags];
    for (uint32_t k = 0; k < n; k++) {
        const uint32_t i = rows ? rows[k] : k;
        /* an end before the start (a clock that ran backwards) counts as the start, here as
         * everywhere in preparation */
        uint64_t end = t1[i] >= t0[i] ? t1[i] : t0[i];
        if (!(end >= from_ms && t0[i] < to_ms))
            continue;
        hp_rec_t *r = hp_recs_push(out);
        r->t0 = t0[i];
        r->t1 = end;
        r->src = src[i];
        r->dst = dst[i];
        /* most rows of a window hunted in many passes are not this pass's: decided before
         * the rest of the record is written */
        if (keep && !keep(arg, r)) {
            out->n--;
            continue;
        }
        memset(r, 0, sizeof *r); /* padding too: records are written to the hour cache */
        r->t0 = t0[i];
        r->t1 = end;
        r->src = src[i];
        r->dst = dst[i];
        r->sport = sp[i];
        r->dport = dp[i];
        r->proto = proto[i];
        r->flags = flags[i];
        r->pkts = pk[i];
        r->bytes = by[i];
        /* a record that carries reverse counters (RFC 5103, Zeek) is a whole conversation */
        r->has_rev = (uint8_t)hp_has(b, FLOW_COL_rev_packets, i);
        r->rpkts = rpk[i];
        r->rbytes = rby[i];
        r->rflags = rfl[i];
        r->sampling = samp && samp[i] ? samp[i] : 1;
        r->end_reason = er[i];
        r->fw_event = fw[i];
        uint64_t h = hp_fnv(exp[i].b, 16, HP_FNV0);
        r->exporter = hp_fnv(&dom[i], sizeof dom[i], h);
        if (hp_is_icmp(r->proto) && hp_has(b, FLOW_COL_icmp_type, i)) {
            r->sport = 0;
            r->dport = (uint16_t)(it[i] << 8 | ic[i]);
        }
    }
    return 0;
}

/* A pass's rows: those of its pairs of /24s whose start no cached hour holds. */
static int hp_keep(void *arg, const hp_rec_t *r)
{
    const hp_state_t *p = arg;
    if (p->parts > 1 && hp_rec_pass(r, p->parts) != p->part)
        return 0;
    return !p->units || !hu_holds(p->units, r->t0);
}

/* Row groups every row of which a cached hour holds are not read at all. */
static int hp_want(void *arg, const seg_file_t *f, uint32_t g)
{
    const hp_state_t *p = arg;
    if (p->run->flt && !flt_want((void *)p->run->flt, f, g))
        return 0; /* the run's filter: no row of the group is hunted */
    if (!p->units)
        return 1;
    seg_group_info_t gi;
    seg_group(f, g, &gi);
    return !hu_holds_range(p->units, gi.time_min, gi.time_max);
}

static int hp_batch(void *arg, int worker, seg_batch_t *b)
{
    hp_state_t *p = arg;
    const uint32_t *rows = NULL;
    uint32_t n = b->n_rows;
    if (p->run->flt) { /* only the rows the run's filter selects */
        seg_where_t where;
        int k = flt_select_rows(p->run->flt, &p->sel[worker], b, &where);
        if (k < 0)
            return k;
        rows = p->sel[worker].v;
        n = (uint32_t)k;
    }
    int rc = hp_batch_recs(b, rows, n, p->from_ms, p->to_ms, hp_keep, p, &p->w[worker]);
    if (rc < 0)
        return rc;
    __atomic_add_fetch(&p->rows_seen, b->n_rows, __ATOMIC_RELAXED);
    if (cmd_progress_due(&p->prog))
        cmd_progress_show(&p->prog, "hunt: pass %llu/%llu: %llu of %llu flows read",
                          (unsigned long long)p->part + 1, (unsigned long long)p->parts,
                          (unsigned long long)__atomic_load_n(&p->rows_seen, __ATOMIC_RELAXED),
                          (unsigned long long)p->rows_total);
    return 0;
}

/* Adds to m[k] the number of distinct second words among the keys k[0..n) whose first word is
 * k (k sorted). */
static void hp_add_distinct(const hp_skey_t *k, size_t n, hj_map_t *m)
{
    for (size_t i = 0; i < n;) {
        uint64_t distinct = 0;
        size_t j = i;
        for (; j < n && k[j].w[0] == k[i].w[0]; j++)
            distinct += j == i || k[j].w[1] != k[j - 1].w[1];
        *hj_map_ins(m, k[i].w[0]) += distinct;
        i = j;
    }
}

/* Preparation's own counts over a pass's conversations: internal hosts and the prevalence of
 * each destination and /24 (read by the hunts when they score, hp_prevalence). A pass holds
 * every conversation of a (host, destination /24) pair, so the distinct pairs it counts are
 * complete. Sorted, not interned: two 32-byte keys interned per conversation, in tables that
 * outgrow the cache, cost as much as a hunt's whole feed (about 1 s a pass on 20 M flows);
 * radix sorts stream through memory instead. Only the first sorts every conversation: it
 * leaves one item per (destination, /24, host) with its number of conversations, and the
 * /24s' and the hosts' sorts take those items (the count was the dearest job of a pass over
 * 100 M flows, three sorts of every conversation). The DNS clients of each address
 * (HP_PREV_DNS: the resolvers in practice) are counted over the first sort's items. */
_Static_assert(_Alignof(hunt_conv_t) >= 2, "hp_count flags DNS in a conversation pointer's bit 0");

static void hp_count(hp_state_t *p, const hunt_conv_t *const *cv, size_t n)
{
    hp_skey_t *k = hj_xmalloc((n ? n : 1) * sizeof *k);
    size_t m = 0;
    /* p: the conversation, its lowest bit set when it carried DNS (conversations are aligned,
     * and the flag is read here, in order, not after the sort, at random) */
    for (size_t i = 0; i < n; i++)
        if (cv[i]->orig_internal)
            k[m++] = (hp_skey_t){{hp_addr_key(&cv[i]->resp), hp_addr_key(&cv[i]->orig), 0},
                                 (void *)((uintptr_t)cv[i] | (uintptr_t)hp_conv_is_dns(cv[i]))};
    hp_sort_keys(k, m, NULL);
    /* one item per (destination, host, /24): the /24's key in w[2], in p whether any of its
     * conversations was DNS (a flag from here on, never dereferenced). An IPv4 key is the
     * address, so its /24 is the key's; an IPv6 key is a hash, and two addresses that share
     * one keep their own /64s, read from the conversation as before. */
    size_t d = 0;
    for (size_t i = 0; i < m; i++) {
        uintptr_t dns = (uintptr_t)k[i].p & 1;
        uint64_t net = k[i].w[0] & ~0xffull;
        if (k[i].w[0] >> 63) {
            flow_addr_t a = hp_net24(&((const hunt_conv_t *)((uintptr_t)k[i].p - dns))->resp);
            net = hp_addr_key(&a);
        }
        if (d && k[d - 1].w[0] == k[i].w[0] && k[d - 1].w[1] == k[i].w[1] &&
            k[d - 1].w[2] == net) {
            k[d - 1].p = (void *)((uintptr_t)k[d - 1].p | dns);
            continue;
        }
        k[d++] = (hp_skey_t){{k[i].w[0], k[i].w[1], net}, (void *)dns};
    }
    hp_add_distinct(k, d, &p->prev_dst);
    /* the items are distinct (destination, host) pairs: each DNS one is a client */
    for (size_t i = 0; i < d; i++)
        if (k[i].p)
            (*hj_map_ins(&p->dns_clients, k[i].w[0]))++;
    for (size_t i = 0; i < d; i++) {
        k[i].w[0] = k[i].w[2];
        k[i].w[2] = 0;
    }
    hp_sort_keys(k, d, NULL);
    hp_add_distinct(k, d, &p->prev_net);
    /* the hosts: only how many there are is read (the population of hp_prevalence) */
    for (size_t i = 0; i < d; i++) {
        k[i].w[0] = k[i].w[1];
        k[i].w[1] = 0;
    }
    hp_sort_keys(k, d, NULL);
    for (size_t i = 0; i < d; i++)
        if (i == 0 || k[i].w[0] != k[i - 1].w[0])
            hj_map_ins(&p->hosts, k[i].w[0]);
    free(k);
}

/* ---- feeding the hunts -------------------------------------------------------------------
 * The hunts share nothing but read-only input (the conversations, the configuration, the
 * prevalence counts), so each runs in a thread of its own over every conversation in time
 * order; preparation's own counting is one more such job. Once all have run (the counts are
 * then complete, and a hunt reads them only when it scores), each hunt ends its partition, in
 * parallel again. Its state, and so its findings, are what a sequential run gives. Threads take
 * the jobs dearest first (hunt_ops_t.cost), so on two cores the beacon hunt runs beside all
 * the others. */

#define HP_COUNT_JOB (-1) /* the prevalence counts (hp_count) */
#define HP_COUNT_COST 2   /* three radix sorts of the pass's internal conversations */
#define HP_JOB_SLOT(j) ((j) == HP_COUNT_JOB ? HP_MAX_JOBS - 1 : (j)) /* in job_cpu[] */

typedef struct hp_feed_job {
    hp_state_t *p;
    const hunt_conv_t *const *cv;
    size_t n;
    int *order; /* a hunt's index, or HP_COUNT_JOB; dearest first */
    int n_jobs;
    int stage; /* 0: feed and count; 1: end of the partition */
} hp_feed_job_t;

/* Runs the k-th job of the order in the current stage. */
static void hp_feed_one(void *arg, size_t k)
{
    hp_feed_job_t *j = arg;
    hp_run_t *r = j->p->run;
    int h = j->order[k];
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    if (h == HP_COUNT_JOB) {
        if (j->stage == 0)
            hp_count(j->p, j->cv, j->n);
    } else if (j->stage == 0) {
        for (size_t i = 0; i < j->n; i++)
            r->ops[h]->feed(r->st[h], j->cv[i]);
    } else if (r->ops[h]->part_end) {
        r->ops[h]->part_end(r->st[h]);
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    if (j->stage == 0) /* each job's own slot: no two threads write one */
        j->p->job_cpu[HP_JOB_SLOT(h)] =
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void hp_feed_stage(hp_feed_job_t *j, int stage, int threads)
{
    j->stage = stage;
    cmd_par_each(hp_feed_one, j, (size_t)j->n_jobs, threads);
}

/* A job's weight in the order of feeding: what it took in the last pass, once there was one
 * (static weights misjudge: over 100 M flows in 16 passes the count took 9.0 s, the beacon
 * hunt 5.9 s, where their weights say 2 and 13, so the count ran after the scan hunt on one
 * thread while the other had the beacon hunt and idled: 11.9 s of feeding where 9.4 s do),
 * else hunt_ops_t.cost. The order changes only which thread runs a job, never a result. */
static double hp_job_cost(const hp_state_t *p, const hp_run_t *r, int job)
{
    if (p->job_measured)
        return p->job_cpu[HP_JOB_SLOT(job)];
    return job == HP_COUNT_JOB ? HP_COUNT_COST : r->ops[job]->cost;
}

static void hp_feed(hp_state_t *p, const hunt_conv_t *const *cv, size_t n, int threads)
{
    hp_run_t *r = p->run;
    hp_feed_job_t j = {.p = p, .cv = cv, .n = n};
    j.order = hj_xmalloc(((size_t)r->n + 1) * sizeof *j.order);
    j.order[j.n_jobs++] = HP_COUNT_JOB;
    for (int i = 0; i < r->n; i++)
        j.order[j.n_jobs++] = i;
    for (int i = 1; i < j.n_jobs; i++) /* insertion sort by cost, stable */
        for (int k = i; k > 0 && hp_job_cost(p, r, j.order[k]) > hp_job_cost(p, r, j.order[k - 1]);
             k--) {
            int t = j.order[k];
            j.order[k] = j.order[k - 1];
            j.order[k - 1] = t;
        }
    if (threads > j.n_jobs)
        threads = j.n_jobs;
    hp_feed_stage(&j, 0, threads);
    p->job_measured = 1;
    hp_feed_stage(&j, 1, threads);
    free(j.order);
}

typedef struct hp_extent_arg {
    uint64_t rows, first, last;
    int any;
    uint64_t from_ms, to_ms;
} hp_extent_arg_t;

static int hp_extent_want(void *arg, const seg_file_t *f, uint32_t g)
{
    hp_extent_arg_t *e = arg;
    seg_group_info_t gi;
    seg_group(f, g, &gi);
    __atomic_add_fetch(&e->rows, gi.n_rows, __ATOMIC_RELAXED);
    uint64_t lo = gi.time_min < e->from_ms ? e->from_ms : gi.time_min;
    uint64_t hi = gi.time_max >= e->to_ms ? e->to_ms - 1 : gi.time_max;
    /* min/max without a lock: compare-and-swap loops */
    uint64_t cur = __atomic_load_n(&e->first, __ATOMIC_RELAXED);
    while ((cur == 0 || lo < cur) &&
           !__atomic_compare_exchange_n(&e->first, &cur, lo, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    cur = __atomic_load_n(&e->last, __ATOMIC_RELAXED);
    while (hi > cur &&
           !__atomic_compare_exchange_n(&e->last, &cur, hi, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return 0; /* nothing is decoded: the group headers say all we need */
}

static int hp_extent_rows(const char *dir, uint64_t from_ms, uint64_t to_ms, int workers,
                          hp_extent_arg_t *e, seg_scan_stats_t *stats, seg_where_t *where)
{
    memset(e, 0, sizeof *e);
    e->from_ms = from_ms;
    e->to_ms = to_ms;
    return seg_scan(dir, from_ms, to_ms, workers, hp_extent_want, NULL, e, stats, where);
}

int hp_extent(const char *dir, uint64_t from_ms, uint64_t to_ms, int workers, uint64_t *first,
              uint64_t *last)
{
    hp_extent_arg_t e;
    seg_where_t where;
    memset(&where, 0, sizeof where);
    /* the run's first look at every segment of the window: where it warns of dangling links,
     * once (the passes after it skip them as seg_scan does) */
    seg_scan_stats_t ss;
    memset(&ss, 0, sizeof ss); /* seg_scan adds its counts to what is there */
    int rc = hp_extent_rows(dir, from_ms, to_ms, workers, &e, &ss, &where);
    if (rc < 0) {
        cmd_print_where(stderr, "flowhunt hunt", rc, &where);
        return -1;
    }
    cmd_warn_dangling("flowhunt hunt", dir, ss.dangling_path, ss.dangling);
    *first = e.rows ? e.first : 0;
    *last = e.rows ? e.last : 0;
    return 0;
}

int hp_run(hp_state_t *p, hp_run_t *r, hp_stats_t *st)
{
    const hunt_config_t *cfg = p->cfg;
    int workers = cfg->workers > 0 ? (int)cfg->workers : cmd_workers();
    if (workers > 16)
        workers = 16;
    if (r->n > HP_MAX_JOBS - 1) {
        fprintf(stderr, "%s: more than %d hunts at once\n", r->prog, HP_MAX_JOBS - 1);
        return -1;
    }
    seg_where_t where;
    memset(&where, 0, sizeof where);
    hp_extent_arg_t e;
    int rc = hp_extent_rows(r->dir, r->from_ms, r->to_ms, workers, &e, NULL, &where);
    if (rc < 0) {
        cmd_print_where(stderr, r->prog, rc, &where);
        return -1;
    }
    /* Records of a pass plus their conversations must fit in memory_mb (a margin for the
     * hunts' own state). */
    double per_row = (double)(sizeof(hp_rec_t) + sizeof(hunt_conv_t)) * 1.5;
    double budget = cfg->memory_mb * 1048576.0;
    uint64_t parts = (uint64_t)((double)e.rows * per_row / budget) + 1;
    p->parts = parts;
    p->from_ms = r->from_ms;
    p->to_ms = r->to_ms;
    p->run = r;
    p->stats = st;
    p->rows_total = e.rows * parts;
    st->partitions = (uint32_t)parts;
    if (r->cache && e.rows) {
        int failed;
        p->units = hu_open(r->dir, r->prog, r->from_ms, r->to_ms, e.first, e.last, cfg, workers,
                           r->progress, &failed);
        if (failed)
            return -1;
        hu_tally(p->units, &st->hours_cached, &st->hours_built);
    }
    cmd_progress_init(&p->prog, 0);
    p->prog.on = p->prog.on && r->progress;
    for (p->part = 0; p->part < parts; p->part++) {
        seg_scan_stats_t ss;
        memset(&ss, 0, sizeof ss);
        /* Without the cache a pass keeps about rows / parts records (the split is by hash,
         * even): each worker's array is sized once for twice an even share of them (at most
         * all: segments split unevenly), so that it seldom grows, each doubling a copy of
         * every record so far; room never written is never touched. */
        if (!p->units) {
            uint64_t est = e.rows / parts + 4096;
            uint64_t share = est * 2 / (uint64_t)workers + 4096;
            for (int i = 0; i < workers; i++) {
                p->w[i].cap = share < est ? share : est;
                p->w[i].v = hj_xmalloc(p->w[i].cap * sizeof *p->w[i].v);
            }
        }
        rc = seg_scan(r->dir, r->from_ms, r->to_ms, workers, hp_want, hp_batch, p, &ss, &where);
        if (rc < 0) {
            cmd_progress_done(&p->prog);
            cmd_print_where(stderr, r->prog, rc, &where);
            return -1;
        }
        if (p->part == 0) {
            st->segments = ss.segments;
            st->groups = ss.groups;
        }
        /* the cached hours, read on `workers` threads: their raw records join this pass's,
         * their conversations those prepared now */
        hu_loaded_t ld[HU_LOAD_MAX];
        memset(ld, 0, sizeof ld);
        int n_ld = workers < HU_LOAD_MAX ? workers : HU_LOAD_MAX;
        if (p->units) {
            hu_counts_t c = {0};
            /* an hour's counts are for all its passes: added once */
            if (hu_load(p->units, parts, p->part, ld, n_ld, p->part == 0 ? &c : NULL) != 0) {
                for (int i = 0; i < n_ld; i++) {
                    free(ld[i].recs.v);
                    free(ld[i].convs);
                    free(ld[i].runs);
                }
                cmd_progress_done(&p->prog);
                return -1;
            }
            st->rows += c.rows;
            st->stitched += c.stitched;
            st->duplicates += c.duplicates;
            st->paired += c.paired;
            st->biflows += c.biflows;
        }
        /* the scan workers' records and the cache's raw ones, gathered in shards */
        hp_recs_t *src[16 + HU_LOAD_MAX];
        int n_src = 0;
        size_t total = 0;
        for (int i = 0; i < 16; i++)
            src[n_src++] = &p->w[i];
        for (int i = 0; i < n_ld; i++)
            src[n_src++] = &ld[i].recs;
        for (int i = 0; i < n_src; i++)
            total += src[i]->n;
        int k = total < HP_SHARD_MIN ? 1 : workers < HP_SHARD_MAX ? workers : HP_SHARD_MAX;
        hp_shard_t sh[HP_SHARD_MAX];
        memset(sh, 0, sizeof sh);
        size_t n = hp_shards_split(src, n_src, k, sh);
        st->rows += n;
        if (p->prog.on)
            cmd_progress_show(&p->prog, "hunt: pass %llu/%llu: preparing %zu flows",
                              (unsigned long long)p->part + 1, (unsigned long long)parts, n);
        hunt_conv_t *convs;
        size_t nc = hp_shards_build(cfg, sh, k, st, &convs);
        /* the conversations are copies: the hunts' state can take the records' room */
        for (int i = 0; i < n_src; i++) {
            free(src[i]->v);
            *src[i] = (hp_recs_t){0};
        }
        /* those prepared now and the cache's, put in time order where they lie: the copy into
         * one array that took a tenth of a slid run over 100 M flows is the layout's */
        size_t all_n = nc;
        for (int i = 0; i < n_ld; i++)
            all_n += ld[i].n_convs;
        const hunt_conv_t **cv = hp_conv_order_runs(convs, nc, ld, n_ld, all_n, workers, st);
        hunt_conv_t *laid = hp_conv_lay_out(cv, all_n, workers);
        free(convs);
        for (int i = 0; i < n_ld; i++) {
            free(ld[i].convs);
            free(ld[i].runs);
        }
        hp_feed(p, cv, all_n, workers);
        free(cv);
        free(laid);
    }
    st->internal_hosts = p->hosts.n;
    cmd_progress_done(&p->prog);
    hu_close(p->units);
    p->units = NULL;
    return 0;
}
