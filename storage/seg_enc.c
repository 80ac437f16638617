/* seg_enc.c: the column encodings of storage/FORMAT.md, both directions.
 *
 * Encoders are the writer's hot path (every flow passes through one per column), so each loops
 * over a typed array with the width switch outside the loop. Decoders are the reader's first
 * line against hostile bytes: each checks every varint against the end of its buffer, checks
 * that exactly `len` bytes were consumed, and for dictionaries that every index names an entry
 * that exists.
 */
#include "seg_enc.h"

#include <pthread.h>
#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SEG_DICT_AHEAD 8u  /* values whose slots are prefetched ahead of their lookup */
#define SEG_DICT_PROBE 64u /* values whose repeats choose seg_enc_dict's loop */

/* flow_addr_is_v4, inline: the dictionary asks it of every entry twice, and the call and its
 * 12-byte memcmp were a sixth of a large column's encoding. */
static inline int seg_addr_is_v4(const flow_addr_t *a)
{
    uint64_t lo;
    memcpy(&lo, a->b, 8);
    return lo == 0 && a->b[8] == 0 && a->b[9] == 0 && a->b[10] == 0xff && a->b[11] == 0xff;
}

/* flow_addr_v4, inline (a call per dictionary entry, twice). */
static inline uint32_t seg_addr_v4(const flow_addr_t *a)
{
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

/* ---- encoders ---------------------------------------------------------------------------- */

size_t seg_enc_raw(uint8_t *out, const void *vals, size_t width, uint32_t n)
{
    if (width == 16) {
        memcpy(out, vals, (size_t)n * 16);
        return (size_t)n * 16;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(out, vals, (size_t)n * width);
#else
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v = 0;
        switch (width) {
        case 1:
            v = ((const uint8_t *)vals)[i];
            break;
        case 2:
            v = ((const uint16_t *)vals)[i];
            break;
        case 4:
            v = ((const uint32_t *)vals)[i];
            break;
        default:
            v = ((const uint64_t *)vals)[i];
            break;
        }
        seg_put_uw(out + (size_t)i * width, v, width);
    }
#endif
    return (size_t)n * width;
}

uint32_t seg_enc_run(const void *vals, size_t width, uint32_t n)
{
    const uint8_t *p = vals;
    size_t len = (size_t)n * width, i = 0;
    if (n == 0)
        return 0;
#if defined(__SSE2__)
    /* sixty-four bytes a step against the first value repeated over sixteen */
    uint8_t pat[16];
    for (size_t k = 0; k < 16; k += width)
        memcpy(pat + k, p, width);
    const __m128i x = _mm_loadu_si128((const __m128i *)(const void *)pat);
    for (; len - i >= 64; i += 64) {
        __m128i d = _mm_or_si128(
            _mm_or_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + i)), x),
                         _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 16)), x)),
            _mm_or_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 32)), x),
                         _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)(p + i + 48)), x)));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(d, _mm_setzero_si128())) != 0xffff)
            break;
    }
#endif
    /* the rest, or the step that differs, a value at a time */
    uint32_t k = (uint32_t)(i / width);
    while (k < n && memcmp(p + (size_t)k * width, p, width) == 0)
        k++;
    return k;
}

/* n copies of the varint of v: one encoded, then copied in doubling runs. A column with one
 * value in every row (a sampling rate, the AS numbers of an exporter that sends none) is
 * common, and is written in a third to two thirds of the time this way (measured on 2 M
 * flowgen flows, scan for the single value included). */
static size_t seg_enc_repeat(uint8_t *out, uint64_t v, uint32_t n)
{
    size_t len = (size_t)(seg_put_varint(out, v) - out), have = len, total = len * n;
    while (have < total) {
        size_t k = have < total - have ? have : total - have;
        memcpy(out + have, out, k);
        have += k;
    }
    return total;
}

/* Counters of one byte each (packets, most interface numbers) are fastest through
 * seg_put_varint, whose loop branch is then always predicted; counters whose lengths mix
 * (bytes: one, two and three bytes in no order) through seg_put_varint3. Which kind a column
 * is shows in its first values: more than one in eight of the first SEG_ENC_PROBE being
 * longer than a byte picks the branch-free writer. The bytes are the same either way. A column
 * of a single value goes to seg_enc_repeat (seg_enc_run's scan stops at the first other
 * value). */
#define SEG_ENC_PROBE 64u
#define SEG_ENC_VARINT_LOOP(type)                                                                  \
    do {                                                                                           \
        const type *v = vals;                                                                      \
        if (n > 0 && seg_enc_run(vals, sizeof(type), n) == n)                                      \
            return seg_enc_repeat(out, v[0], n);                                                   \
        uint32_t longer = 0;                                                                       \
        for (uint32_t i = 0; i < n && i < SEG_ENC_PROBE; i++)                                      \
            longer += v[i] >= 0x80;                                                                \
        if (sizeof(type) > 1 && longer * 8 > SEG_ENC_PROBE)                                        \
            for (uint32_t i = 0; i < n; i++)                                                       \
                p = seg_put_varint3(p, v[i]);                                                      \
        else                                                                                       \
            for (uint32_t i = 0; i < n; i++)                                                       \
                p = seg_put_varint(p, v[i]);                                                       \
    } while (0)

size_t seg_enc_varint(uint8_t *out, const void *vals, size_t width, uint32_t n)
{
    uint8_t *p = out;
    switch (width) {
    case 1:
        SEG_ENC_VARINT_LOOP(uint8_t);
        break;
    case 2:
        SEG_ENC_VARINT_LOOP(uint16_t);
        break;
    case 4:
        SEG_ENC_VARINT_LOOP(uint32_t);
        break;
    default:
        SEG_ENC_VARINT_LOOP(uint64_t);
        break;
    }
    return (size_t)(p - out);
}

size_t seg_enc_planes(uint8_t *out, const void *vals, size_t width, uint32_t n)
{
    /* Plane k holds byte k (little-endian) of every value: the high bytes of ports and small
     * counters are nearly constant, and zstd sees them as long runs. */
    for (size_t k = 0; k < width; k++) {
        uint8_t *o = out + k * n;
        unsigned shift = (unsigned)(8 * k);
        switch (width) {
        case 1:
            memcpy(o, vals, n);
            break;
        case 2:
            for (uint32_t i = 0; i < n; i++)
                o[i] = (uint8_t)(((const uint16_t *)vals)[i] >> shift);
            break;
        case 4:
            for (uint32_t i = 0; i < n; i++)
                o[i] = (uint8_t)(((const uint32_t *)vals)[i] >> shift);
            break;
        default:
            for (uint32_t i = 0; i < n; i++)
                o[i] = (uint8_t)(((const uint64_t *)vals)[i] >> shift);
            break;
        }
    }
    return width * n;
}

size_t seg_enc_delta(uint8_t *out, const uint64_t *vals, uint32_t n)
{
    uint8_t *p = out;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* Unsigned subtraction wraps, and the decoder's addition wraps back: any u64 works. */
        p = seg_put_varint3(p, seg_zigzag((int64_t)(vals[i] - prev)));
        prev = vals[i];
    }
    return (size_t)(p - out);
}

size_t seg_enc_diff(uint8_t *out, const uint64_t *vals, const uint64_t *start, uint32_t n)
{
    uint8_t *p = out;
    for (uint32_t i = 0; i < n; i++)
        p = seg_put_varint3(p, seg_zigzag((int64_t)(vals[i] - start[i])));
    return (size_t)(p - out);
}

void seg_dict_free(seg_dict_t *d)
{
    free(d->slots);
    free(d->entries);
    free(d->sort_a);
    free(d->sort_b);
    free(d->order);
    free(d->rank);
    free(d->idx);
    free(d->pos);
    memset(d, 0, sizeof *d);
}

static int seg_dict_reserve(seg_dict_t *d, uint32_t n)
{
    if (n <= d->cap && d->n_slots >= 2 * (uint64_t)n)
        return 0;
    uint32_t cap = n < 1024 ? 1024 : n;
    uint32_t n_slots = 1;
    while (n_slots < 2 * (uint64_t)cap)
        n_slots <<= 1;
    seg_dict_t nd = {0};
    nd.slots = calloc(n_slots, sizeof *nd.slots); /* all empty between calls */
    nd.pos = malloc((size_t)cap * sizeof *nd.pos);
    nd.entries = malloc((size_t)cap * sizeof *nd.entries);
    nd.sort_a = malloc((size_t)cap * sizeof *nd.sort_a);
    nd.sort_b = malloc((size_t)cap * sizeof *nd.sort_b);
    nd.order = malloc((size_t)cap * sizeof *nd.order);
    nd.rank = malloc((size_t)cap * sizeof *nd.rank);
    nd.idx = malloc((size_t)cap * sizeof *nd.idx);
    nd.n_slots = n_slots;
    nd.cap = cap;
    if (!nd.slots || !nd.entries || !nd.sort_a || !nd.sort_b || !nd.order || !nd.rank || !nd.idx ||
        !nd.pos) {
        seg_dict_free(&nd);
        return -1;
    }
    seg_dict_free(d);
    *d = nd;
    return 0;
}

static inline uint32_t seg_dict_hash(const flow_addr_t *a, unsigned shift)
{
    uint64_t lo, hi;
    memcpy(&lo, a->b, 8);
    memcpy(&hi, a->b + 8, 8);
    /* An IPv4-mapped address varies only in its last bytes (the top of `hi`): fold them down,
     * then one multiplication, keeping the product's top bits (Fibonacci hashing), which
     * depend on every bit of the folded key, so the hosts of one subnet spread over the
     * table. The table is private to one call: its order never reaches the output. */
    uint64_t x = lo ^ (hi >> 32) ^ (hi << 32);
    return (uint32_t)((x * 0x9E3779B97F4A7C15ull) >> shift);
}

/* Sorts the entries (IPv4 first by value, then IPv6 bytewise) and gives each entry its
 * position in d->rank (seg_dict_sort). IPv4 keys go through a byte-wise LSD radix sort:
 * linear, and a group's dictionary can hold tens of thousands of addresses. */
/* An IPv6 entry as its two big-endian halves: bytewise order is the order of (hi, lo), two
 * integer compares instead of a memcmp call per comparison. */
typedef struct seg_dict_v6 {
    uint64_t hi, lo;
    uint32_t e;
} seg_dict_v6_t;

static inline int seg_dict_v6_less(const seg_dict_v6_t *a, const seg_dict_v6_t *b)
{
    return a->hi < b->hi || (a->hi == b->hi && a->lo < b->lo);
}

#define SEG_DICT_V6_RUN 16u

/* Sorts v[0..n) (distinct keys) using tmp[0..n): runs of SEG_DICT_V6_RUN by insertion, then
 * merged bottom-up. qsort() was a tenth of a dictionary's time: glibc's allocates, and calls
 * the comparison through a pointer for each of the n log n comparisons. */
static void seg_dict_v6_sort(seg_dict_v6_t *v, seg_dict_v6_t *tmp, uint32_t n)
{
    for (uint32_t s = 0; s < n; s += SEG_DICT_V6_RUN) {
        uint32_t e = n - s < SEG_DICT_V6_RUN ? n : s + SEG_DICT_V6_RUN;
        for (uint32_t i = s + 1; i < e; i++) {
            seg_dict_v6_t x = v[i];
            uint32_t j = i;
            for (; j > s && seg_dict_v6_less(&x, &v[j - 1]); j--)
                v[j] = v[j - 1];
            v[j] = x;
        }
    }
    seg_dict_v6_t *a = v, *b = tmp;
    for (uint32_t w = SEG_DICT_V6_RUN; w < n; w *= 2) {
        for (uint32_t s = 0; s < n; s += 2 * w) {
            uint32_t m = n - s < w ? n : s + w, e = n - s < 2 * w ? n : s + 2 * w;
            uint32_t i = s, j = m, k = s;
            while (i < m && j < e)
                b[k++] = seg_dict_v6_less(&a[j], &a[i]) ? a[j++] : a[i++];
            while (i < m)
                b[k++] = a[i++];
            while (j < e)
                b[k++] = a[j++];
        }
        seg_dict_v6_t *t = a;
        a = b;
        b = t;
    }
    if (a != v)
        memcpy(v, a, (size_t)n * sizeof *v);
}

static seg_dict_v6_t seg_dict_v6_key(const flow_addr_t *a, uint32_t e)
{
    uint64_t hi, lo;
    memcpy(&hi, a->b, 8);
    memcpy(&lo, a->b + 8, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
#endif
    return (seg_dict_v6_t){hi, lo, e};
}

/* Leaves the IPv4 entries' sorted keys (value << 32 | entry) in *sorted4[0..*n4); the IPv6
 * entries follow them in d->order[*n4..n_entries). */
static int seg_dict_sort(seg_dict_t *d, uint32_t n_entries, const uint64_t **sorted4, uint32_t *n4_out)
{
    uint64_t *a = d->sort_a, *b = d->sort_b;
    uint32_t n4 = 0, n6 = 0;
    /* The four digits' counts in one pass; a digit all keys share (the first byte or two of
     * a network's addresses) needs no pass of its own. */
    uint32_t cnt[4][256];
    memset(cnt, 0, sizeof cnt);
    for (uint32_t e = 0; e < n_entries; e++)
        if (seg_addr_is_v4(&d->entries[e])) {
            uint32_t v = seg_addr_v4(&d->entries[e]);
            a[n4++] = (uint64_t)v << 32 | e;
            cnt[0][v & 0xff]++;
            cnt[1][v >> 8 & 0xff]++;
            cnt[2][v >> 16 & 0xff]++;
            cnt[3][v >> 24]++;
        } else {
            n6++;
        }
    for (unsigned k = 0; k < 4 && n4; k++) {
        unsigned shift = 32 + 8 * k;
        if (cnt[k][(a[0] >> shift) & 0xff] == n4)
            continue;
        uint32_t at = 0;
        for (int x = 0; x < 256; x++) {
            uint32_t c = cnt[k][x];
            cnt[k][x] = at;
            at += c;
        }
        for (uint32_t i = 0; i < n4; i++)
            b[cnt[k][(a[i] >> shift) & 0xff]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (uint32_t i = 0; i < n4; i++)
        d->rank[(uint32_t)a[i]] = i;
    *sorted4 = a;
    *n4_out = n4;
    if (n6) {
        seg_dict_v6_t *v6 = malloc(2 * (size_t)n6 * sizeof *v6);
        if (!v6)
            return -1;
        for (uint32_t e = 0, k = 0; e < n_entries; e++)
            if (!seg_addr_is_v4(&d->entries[e]))
                v6[k++] = seg_dict_v6_key(&d->entries[e], e);
        seg_dict_v6_sort(v6, v6 + n6, n6);
        for (uint32_t k = 0; k < n6; k++) {
            d->order[n4 + k] = v6[k].e;
            d->rank[v6[k].e] = n4 + k;
        }
        free(v6);
    }
    return 0;
}

/* The entry of address v, whose slot is h, in the table of mask + 1 slots: an existing one,
 * or entries[*n_entries] added. */
static inline uint32_t seg_dict_find(seg_dict_t *d, uint32_t h, uint32_t mask,
                                     const flow_addr_t *v, uint32_t *n_entries)
{
    for (;;) {
        uint32_t s = d->slots[h];
        if (s == 0) {
            uint32_t e = (*n_entries)++;
            d->entries[e] = *v;
            d->pos[e] = h;
            d->slots[h] = e + 1;
            return e;
        }
        if (flow_addr_eq(&d->entries[s - 1], v))
            return s - 1;
        h = (h + 1) & mask;
    }
}

size_t seg_enc_dict(seg_dict_t *d, uint8_t *out, const flow_addr_t *vals, uint32_t n)
{
    if (seg_dict_reserve(d, n) != 0)
        return (size_t)-1;
    uint32_t n_slots = 1;
    while (n_slots < 2 * (uint64_t)n)
        n_slots <<= 1;
    if (n_slots < 64)
        n_slots = 64;
    uint32_t mask = n_slots - 1;
    unsigned shift = (unsigned)__builtin_clzll(n_slots) + 1; /* 64 - log2(n_slots) */
    uint32_t n_entries = 0;
    uint32_t *idx = d->idx;
    /* A column whose values come in runs (the exporter's address through the flows of each
     * datagram: 92% of an exporter column's values repeat the one before on flowgen traffic,
     * 2% of a source or destination address column's) looks up only the first of each run.
     * Which kind a column is shows in its first values, as in seg_enc_varint. */
    uint32_t same = 0;
    for (uint32_t i = 1; i < n && i <= SEG_DICT_PROBE; i++)
        same += flow_addr_eq(&vals[i], &vals[i - 1]);
    if (same * 4 >= SEG_DICT_PROBE * 3) {
        uint64_t plo = 0, phi = 0;
        uint32_t pe = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t lo, hi;
            memcpy(&lo, vals[i].b, 8);
            memcpy(&hi, vals[i].b + 8, 8);
            if (i == 0 || lo != plo || hi != phi) {
                pe = seg_dict_find(d, seg_dict_hash(&vals[i], shift), mask, &vals[i], &n_entries);
                plo = lo;
                phi = hi;
            }
            idx[i] = pe;
        }
    } else {
        /* Hashes are computed SEG_DICT_AHEAD values ahead and their slots prefetched: a large
         * group's table is bigger than L1, and a lookup that waits for its slot stalls the
         * loop (it was a quarter of the time of a 65,536-address column). */
        uint32_t ring[SEG_DICT_AHEAD];
        for (uint32_t i = 0; i < n && i < SEG_DICT_AHEAD; i++) {
            ring[i] = seg_dict_hash(&vals[i], shift);
            __builtin_prefetch(&d->slots[ring[i]]);
        }
        for (uint32_t i = 0; i < n; i++) {
            uint32_t h = ring[i % SEG_DICT_AHEAD];
            if (i + SEG_DICT_AHEAD < n) {
                uint32_t ha = seg_dict_hash(&vals[i + SEG_DICT_AHEAD], shift);
                ring[i % SEG_DICT_AHEAD] = ha;
                __builtin_prefetch(&d->slots[ha]);
            }
            idx[i] = seg_dict_find(d, h, mask, &vals[i], &n_entries);
        }
    }
    /* Back to all empty for the next column, touching only the slots used: a dictionary
     * usually has far fewer entries than the table has slots. */
    for (uint32_t e = 0; e < n_entries; e++)
        d->slots[d->pos[e]] = 0;
    d->n_entries = n_entries;
    const uint64_t *sorted4;
    uint32_t n4;
    if (seg_dict_sort(d, n_entries, &sorted4, &n4) != 0)
        return (size_t)-1;
    /* Sorted entries cost a varint of the gap to the previous one: a subnet's hosts are a
     * byte or two each, where raw addresses would be four. The IPv4 ones are read from their
     * sort keys, not from the entries in sorted order (a load from anywhere in them each). */
    uint8_t *p = seg_put_varint(out, n_entries);
    uint32_t prev4 = 0;
    for (uint32_t r = 0; r < n4; r++) {
        uint32_t v = (uint32_t)(sorted4[r] >> 32);
        *p++ = 4;
        p = seg_put_varint3(p, v - prev4);
        prev4 = v;
    }
    for (uint32_t r = n4; r < n_entries; r++) {
        *p++ = 6;
        memcpy(p, d->entries[d->order[r]].b, 16);
        p += 16;
    }
    /* Indices below 128 are one byte each; past that their lengths mix one, two and three
     * bytes in no order, which the branch-free writer handles without mispredictions (a
     * group has at most 65,536 values, so an index never needs more than three bytes). */
    if (n_entries <= 0x80)
        for (uint32_t i = 0; i < n; i++)
            *p++ = (uint8_t)d->rank[d->idx[i]];
    else
        for (uint32_t i = 0; i < n; i++)
            p = seg_put_varint3(p, d->rank[d->idx[i]]);
    return (size_t)(p - out);
}

/* ---- decoders ---------------------------------------------------------------------------- */

#if defined(__SSE2__)

/* out[0..8) = the eight 16-bit lanes of lo, with the lanes of hi as bits 16 and up (SSE2,
 * which every x86-64 has). */
static inline void seg_store8(uint64_t *out, __m128i lo, __m128i hi)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i v03 = _mm_unpacklo_epi16(lo, hi), v47 = _mm_unpackhi_epi16(lo, hi);
    _mm_storeu_si128((__m128i *)(void *)out, _mm_unpacklo_epi32(v03, zero));
    _mm_storeu_si128((__m128i *)(void *)(out + 2), _mm_unpackhi_epi32(v03, zero));
    _mm_storeu_si128((__m128i *)(void *)(out + 4), _mm_unpacklo_epi32(v47, zero));
    _mm_storeu_si128((__m128i *)(void *)(out + 6), _mm_unpackhi_epi32(v47, zero));
}

/* out[0..16) = the sixteen bytes of w. */
static inline void seg_store16_u8(uint64_t *out, __m128i w)
{
    const __m128i zero = _mm_setzero_si128();
    seg_store8(out, _mm_unpacklo_epi8(w, zero), zero);
    seg_store8(out + 8, _mm_unpackhi_epi8(w, zero), zero);
}
#endif

/* out[i] = lo[i] | hi[i] << 8 (hi NULL: 0), sixteen at a time where SSE2 is there: u8
 * columns (RAW and one-plane PLANES) and two-plane PLANES (ports). On 65,536 values, RAW u8
 * and two-plane PLANES decode four times as fast as a value (or a plane) at a time, one-plane
 * PLANES twice. */
static void seg_widen_bytes(const uint8_t *lo, const uint8_t *hi, uint32_t n, uint64_t *out)
{
    uint32_t i = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; n - i >= 16; i += 16) {
        __m128i l = _mm_loadu_si128((const __m128i *)(const void *)(lo + i));
        __m128i h = hi ? _mm_loadu_si128((const __m128i *)(const void *)(hi + i)) : zero;
        seg_store8(out + i, _mm_unpacklo_epi8(l, h), zero);
        seg_store8(out + i + 8, _mm_unpackhi_epi8(l, h), zero);
    }
#endif
    for (; i < n; i++)
        out[i] = (uint64_t)lo[i] | (uint64_t)(hi ? hi[i] : 0) << 8;
}

/* RAW: the common widths without seg_get_uw's byte loop per value. */
int seg_dec_raw(const uint8_t *p, size_t len, size_t width, uint32_t n, uint64_t *out)
{
    if (len != (size_t)n * width)
        return -1;
    if (width == 1) {
        seg_widen_bytes(p, NULL, n, out);
        return 0;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (width == 8) {
        memcpy(out, p, len);
        return 0;
    }
#endif
    for (uint32_t i = 0; i < n; i++)
        out[i] = seg_get_uw(p + (size_t)i * width, width);
    return 0;
}

/* The 7-bit groups of a varint of at most eight bytes, loaded little-endian into w with its
 * continuation bits cleared, packed into one value: pairs, then quads, then the two halves. */
static inline uint64_t seg_varint_pack(uint64_t w)
{
    w = ((w & 0x7f007f007f007f00ull) >> 1) | (w & 0x007f007f007f007full);
    w = ((w & 0x3fff00003fff0000ull) >> 2) | (w & 0x00003fff00003fffull);
    return ((w & 0x0fffffff00000000ull) >> 4) | (w & 0x000000000fffffffull);
}

/* One varint at p (end - p >= 8) through the 8-byte load: the first clear continuation bit
 * gives its length, with no branch per byte; nine or ten bytes (values of 2^56 and up, or
 * malformed) take seg_get_varint. Returns the length, or 0 when malformed (seg_get_varint's
 * rules). */
static inline unsigned seg_varint_word(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t stop = ~w & 0x8080808080808080ull;
    if (!stop) {
        if (seg_get_varint(pp, end, out) != 0)
            return 0;
        return (unsigned)(*pp - p);
    }
    unsigned bits = (unsigned)__builtin_ctzll(stop) + 1; /* 8 * length */
    uint64_t keep = bits == 64 ? ~0ull : ((uint64_t)1 << bits) - 1;
    *out = seg_varint_pack(w & keep & 0x7f7f7f7f7f7f7f7full);
    *pp = p + bits / 8;
    return bits / 8;
}

#if defined(__x86_64__) && defined(__SSE2__)
#include <tmmintrin.h>

/* Varints of one to three bytes, eight input bytes at a time, with SSSE3. The writer's
 * counters and dictionary indices are nearly all such (on the 2 M flow reference store, cat
 * decodes 77% one-byte, 19% two-byte, 3% three-byte ones, 0.3% longer), in no order, so the
 * one-at-a-time reader's next position waited on its previous varint's length: a load and a
 * count of trailing zeros per value. Here the input advances eight bytes a step whatever
 * they hold. Every byte k of the step that ends a varint (clear continuation bit) yields its
 * value in a 16-bit lane, with the bits above 16 in a second lane: the byte alone, or joined
 * with byte k-1, or with k-1 and k-2, as many of them as have their continuation bit. Those
 * lanes are gathered to the front by one shuffle chosen by the step's 8-bit mask of ending
 * bytes, widened to 64 bits and stored, eight at a time, of which the mask's popcount are
 * kept (POPCNT: without it the count is a library call, a tenth of the loop's time). After a
 * step of eight one-byte varints, sixteen bytes at a time are tried as one-byte varints,
 * with no shuffle: columns of packets or small interface numbers are long runs of them.
 * Replaying the varints of `cat` and `top` on the reference store: 2.7 to 3 times as fast
 * as the one-at-a-time reader where lengths mix, 3.5 times on one-byte runs. */
static uint8_t seg_varint_shuf[256][16];
static int seg_varint_simd;
static pthread_once_t seg_varint_once = PTHREAD_ONCE_INIT;

static void seg_varint_init(void)
{
    for (unsigned t = 0; t < 256; t++) {
        unsigned j = 0;
        for (unsigned k = 0; k < 8; k++)
            if (t >> k & 1) {
                seg_varint_shuf[t][2 * j] = (uint8_t)(2 * k);
                seg_varint_shuf[t][2 * j + 1] = (uint8_t)(2 * k + 1);
                j++;
            }
        for (; j < 8; j++)
            seg_varint_shuf[t][2 * j] = seg_varint_shuf[t][2 * j + 1] = 0x80; /* zero */
    }
    __builtin_cpu_init();
    seg_varint_simd = __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("popcnt");
}

/* Decodes into out while at least eight values may be written and eight bytes read, and no
 * varint is longer than three bytes (three continuation bits in a row, counting the previous
 * step's last two bytes, stop it). Leaves *pp at the start of the first varint not decoded
 * (one or two bytes back when a step ended inside a varint) and returns how many were. */
__attribute__((target("ssse3,popcnt"))) static uint32_t
seg_varint_short(const uint8_t **pp, const uint8_t *end, uint32_t n, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint32_t i = 0;
    unsigned carry = 0; /* continuation bits of the previous step's bytes 6 (bit 0) and 7 */
    unsigned cont = 0;  /* the previous step's continuation bits: 0 tries a one-byte run */
    const __m128i zero = _mm_setzero_si128(), low7 = _mm_set1_epi16(0x7f);
    __m128i last = zero; /* the previous step's bytes, as 16-bit lanes */
    while (n - i >= 8 && end - p >= 8) {
        while (!cont && n - i >= 16 && end - p >= 16) {
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)p);
            if (_mm_movemask_epi8(w))
                break;
            seg_store16_u8(out + i, w);
            last = _mm_unpackhi_epi8(w, zero);
            i += 16;
            p += 16;
        }
        if (n - i < 8 || end - p < 8)
            break;
        __m128i b = _mm_loadl_epi64((const __m128i *)(const void *)p);
        cont = (unsigned)_mm_movemask_epi8(b); /* bits 8..15 are the zeroed half */
        if (cont & (cont << 1 | carry >> 1) & (cont << 2 | carry))
            break;
        unsigned term = ~cont & 0xff;
        /* byte k, and bytes k-1 and k-2 (from the previous step for the first lanes) */
        __m128i x = _mm_unpacklo_epi8(b, zero);
        __m128i x1 = _mm_alignr_epi8(x, last, 14), x2 = _mm_alignr_epi8(x, last, 12);
        __m128i a1 = _mm_and_si128(x1, low7), a2 = _mm_and_si128(x2, low7);
        __m128i m2 = _mm_cmpgt_epi16(x1, low7); /* byte k-1 continues into k: two bytes */
        __m128i m3 = _mm_and_si128(m2, _mm_cmpgt_epi16(x2, low7)); /* and k-2: three */
        m2 = _mm_andnot_si128(m3, m2);
        /* A varint ending at byte k (< 0x80) as its low 16 bits and the bits above: x << 7
         * | a1 for two bytes (< 2^14); x << 14 | a1 << 7 | a2 for three, whose top five bits
         * (x >> 2) go to the high half. */
        __m128i v2 = _mm_or_si128(_mm_slli_epi16(x, 7), a1);
        __m128i v3 = _mm_or_si128(_mm_or_si128(_mm_slli_epi16(x, 14), _mm_slli_epi16(a1, 7)), a2);
        __m128i lo = _mm_or_si128(_mm_andnot_si128(_mm_or_si128(m2, m3), x),
                                  _mm_or_si128(_mm_and_si128(m2, v2), _mm_and_si128(m3, v3)));
        __m128i hi = _mm_and_si128(m3, _mm_srli_epi16(x, 2));
        __m128i ctl = _mm_loadu_si128((const __m128i *)(const void *)seg_varint_shuf[term]);
        seg_store8(out + i, _mm_shuffle_epi8(lo, ctl), _mm_shuffle_epi8(hi, ctl));
        i += (uint32_t)__builtin_popcount(term);
        carry = cont >> 6;
        last = x;
        p += 8;
    }
    /* back to the start of a varint the last step left open */
    *pp = p - (carry >> 1 ? 1 + (carry & 1) : 0);
    return i;
}
#endif

/* Reads n varints from [*pp, end) into out, leaving *pp after the last; -1 when they run past
 * end or one is malformed (seg_get_varint's rules). Runs of short varints go through
 * seg_varint_short, each longer one it stops at through seg_varint_word (with the short ones
 * before it in the same eight bytes); without SSSE3, while eight bytes can be loaded at once,
 * eight one-byte varints are copied together, others read by seg_varint_word; the last few
 * bytes by the checked loop. Same result as that loop for every input, malformed ones
 * included: seg_varint_short only decodes varints of one to three bytes, which are always
 * well-formed, and stops in front of anything else; the others read at most eight bytes at
 * once with eight there, and leave longer ones to seg_get_varint. */
static int seg_varint_run(const uint8_t **pp, const uint8_t *end, uint32_t n, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint32_t i = 0;
#if defined(__x86_64__) && defined(__SSE2__)
    pthread_once(&seg_varint_once, seg_varint_init);
    if (seg_varint_simd)
        while (n - i >= 8 && end - p >= 8) {
            i += seg_varint_short(&p, end, n - i, out + i);
            /* stopped at a longer varint (or at the bounds): read up to and past it */
            unsigned len = 0;
            while (len < 4 && i < n && end - p >= 8)
                if ((len = seg_varint_word(&p, end, &out[i++])) == 0)
                    return -1;
        }
#endif
    while (i < n && end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (!(w & 0x8080808080808080ull) && n - i >= 8) {
            for (int k = 0; k < 8; k++)
                out[i + k] = (w >> (8 * k)) & 0xff;
            p += 8;
            i += 8;
            continue;
        }
        if (seg_varint_word(&p, end, &out[i++]) == 0)
            return -1;
    }
    for (; i < n; i++) {
        /* a one-byte varint needs no bounds loop beyond p < end */
        if (p < end && *p < 0x80) {
            out[i] = *p++;
            continue;
        }
        if (seg_get_varint(&p, end, &out[i]) != 0)
            return -1;
    }
    *pp = p;
    return 0;
}

int seg_dec_varint(const uint8_t *p, size_t len, uint32_t n, uint64_t *out)
{
    const uint8_t *end = p + len;
    if (seg_varint_run(&p, end, n, out) != 0)
        return -1;
    return p == end ? 0 : -1;
}

int seg_dec_planes(const uint8_t *p, size_t len, size_t width, uint32_t n, uint64_t *out)
{
    if (len != (size_t)n * width)
        return -1;
    if (width <= 2) {
        seg_widen_bytes(p, width == 2 ? p + n : NULL, n, out);
        return 0;
    }
    memset(out, 0, (size_t)n * sizeof *out);
    for (size_t k = 0; k < width; k++) {
        const uint8_t *plane = p + k * n;
        unsigned shift = (unsigned)(8 * k);
        for (uint32_t i = 0; i < n; i++)
            out[i] |= (uint64_t)plane[i] << shift;
    }
    return 0;
}

int seg_dec_delta(const uint8_t *p, size_t len, uint32_t n, uint64_t *out)
{
    if (seg_dec_varint(p, len, n, out) != 0)
        return -1;
    uint64_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        prev += (uint64_t)seg_unzigzag(out[i]);
        out[i] = prev;
    }
    return 0;
}

int seg_dec_zigzag(const uint8_t *p, size_t len, uint32_t n, uint64_t *out)
{
    if (seg_dec_varint(p, len, n, out) != 0)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        out[i] = (uint64_t)seg_unzigzag(out[i]);
    return 0;
}

int seg_dec_raw_addr(const uint8_t *p, size_t len, uint32_t n, flow_addr_t *out)
{
    if (len != (size_t)n * 16)
        return -1;
    memcpy(out, p, len);
    return 0;
}

/* A dictionary's entries at *pp (at most n), checked canonical: IPv4 first, strictly
 * ascending, as gaps from the previous one; then IPv6 (never IPv4-mapped), strictly ascending
 * bytewise. 0 with *pp past them and their count in *n_entries, or -1. */
static int seg_dec_dict_entries(const uint8_t **pp, const uint8_t *end, uint32_t n,
                                flow_addr_t *dict, uint64_t *n_entries)
{
    const uint8_t *p = *pp;
    if (seg_get_varint(&p, end, n_entries) != 0 || *n_entries > n)
        return -1;
    uint64_t v4 = 0;
    int any4 = 0, any6 = 0;
    for (uint64_t e = 0; e < *n_entries; e++) {
        if (p >= end)
            return -1;
        uint8_t tag = *p++;
        if (tag == 4) {
            uint64_t gap;
            if (any6 || seg_get_varint(&p, end, &gap) != 0 || (any4 && gap == 0) ||
                gap > 0xffffffffull - v4)
                return -1;
            v4 += gap;
            any4 = 1;
            flow_addr_from_v4(&dict[e], (uint32_t)v4);
        } else if (tag == 6) {
            if ((size_t)(end - p) < 16)
                return -1;
            memcpy(dict[e].b, p, 16);
            p += 16;
            if (flow_addr_is_v4(&dict[e]) || (any6 && memcmp(&dict[e - 1], &dict[e], 16) >= 0))
                return -1;
            any6 = 1;
        } else {
            return -1;
        }
    }
    *pp = p;
    return 0;
}

int seg_dec_dict_codes(const uint8_t *p, size_t len, uint32_t n, flow_addr_t *dict,
                       uint32_t *n_dict, uint64_t *ix)
{
    const uint8_t *end = p + len;
    uint64_t n_entries;
    if (seg_dec_dict_entries(&p, end, n, dict, &n_entries) != 0 ||
        seg_varint_run(&p, end, n, ix) != 0 || p != end)
        return -1;
    uint64_t bad = 0; /* one test for all: it vectorizes */
    for (uint32_t j = 0; j < n; j++)
        bad |= ix[j] >= n_entries;
    *n_dict = (uint32_t)n_entries;
    return bad ? -1 : 0;
}

int seg_dec_dict(const uint8_t *p, size_t len, uint32_t n, flow_addr_t *out, flow_addr_t *dict)
{
    const uint8_t *end = p + len;
    uint64_t n_entries;
    if (seg_dec_dict_entries(&p, end, n, dict, &n_entries) != 0)
        return -1;
    /* the indices a run at a time through the fast varint reader, then looked up */
    uint64_t ix[256];
    for (uint32_t i = 0; i < n;) {
        uint32_t k = n - i < 256 ? n - i : 256;
        if (seg_varint_run(&p, end, k, ix) != 0)
            return -1;
        uint64_t bad = 0;
        for (uint32_t j = 0; j < k; j++)
            bad |= ix[j] >= n_entries;
        if (bad)
            return -1;
        for (uint32_t j = 0; j < k; j++)
            out[i + j] = dict[ix[j]];
        i += k;
    }
    return p == end ? 0 : -1;
}
