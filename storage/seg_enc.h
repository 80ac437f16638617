/* seg_enc.h: the byte-level vocabulary of segment files (storage/FORMAT.md), shared by the
 * writer (seg_write.c) and the reader (seg_read.c): little-endian fixed-width fields,
 * varints, zigzag, and the column encodings (RAW, VARINT, DELTA, DIFF_START, DICT_ADDR,
 * PLANES).
 *
 * Encoders trust their input (it comes from the writer's own buffers) and write into a
 * buffer the caller sized with seg_enc_bound(). Decoders trust nothing: every one takes the
 * exact byte length it may read and the exact count of values it must produce, and returns
 * -1 when the bytes do not hold exactly that many well-formed values (too few, too many,
 * an overlong varint, an index past the dictionary). The reader turns -1 into a named error
 * with the chunk's offset.
 */
#ifndef FH_SEG_ENC_H
#define FH_SEG_ENC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flow.h"

/* ---- the file layout (FORMAT.md) --------------------------------------------------------- */

#define SEG_VERSION 1
#define SEG_HDR_MAGIC "FHSEG\r\n\x1a"
#define SEG_TAIL_MAGIC "FHSEGEND"
#define SEG_BLK_MAGIC "FHRG"
#define SEG_FTR_MAGIC "FHFT"
#define SEG_HDR_LEN 16
#define SEG_TAIL_LEN 24
#define SEG_BLK_FIXED_LEN 32 /* magic .. time_max */
#define SEG_ZONE_HDR_LEN 4   /* column id u16, width u8, reserved u8 */
#define SEG_DIR_ENTRY_LEN 16
#define SEG_BLK_CRC_LEN 4
#define SEG_FTR_GROUP_LEN 32
#define SEG_FTR_EXP_LEN 54
#define SEG_MAX_ROWS 65536u
#define SEG_MAX_COL_ID 0xffffu

enum seg_encoding {
    SEG_ENC_RAW = 0,
    SEG_ENC_VARINT = 1,
    SEG_ENC_DELTA = 2,
    SEG_ENC_DIFF_START = 3,
    SEG_ENC_DICT_ADDR = 4,
    SEG_ENC_PLANES = 5,
    SEG_ENC_DIFF_END = 6, /* time_start: time_end of the same row minus the value */
    SEG_ENC_LINKED = 7,   /* values of linked rows come from the row they link to */
    SEG_ENC_N
};

/* Structural chunks: column ids from 0xFF00 up describe the group, not a flow field.
 * SEG_COL_LINKS holds one varint per row: 0, or d * 2 + kind, meaning the row is linked to
 * row i - d (d >= 1): kind 0 "reverse" (the other direction of that flow: source and
 * destination fields swapped), kind 1 "same" (the same key again). */
#define SEG_COL_LINKS 0xFF00u
#define SEG_LINK_REVERSE 0u
#define SEG_LINK_SAME 1u

/* Structural zones: port buckets (FORMAT.md "Port buckets"). Each is a zone of width 16 whose
 * min and max fields together are 256 bits, one per 128 ports of one half of the port space:
 * bit b (byte b / 8, least significant bit first) is set when some row of the group has a
 * value in [half * 32768 + 128 b, ... + 127] (seg.h: seg_port_bucket_set). Ids: 0xFF01 +
 * 2 * (dst_port) + half. */
#define SEG_ZONE_PORTS 0xFF01u
#define SEG_ZONE_PORTS_N 4u

/* The first of a port column's two bucket zones, as an offset from SEG_ZONE_PORTS: src_port's
 * pair, then dst_port's; -1 for other columns. */
static inline int seg_ports_zone(int col)
{
    return col == FLOW_COL_src_port ? 0 : col == FLOW_COL_dst_port ? 2 : -1;
}

enum seg_presence { SEG_PRES_ALL = 0, SEG_PRES_NONE = 1, SEG_PRES_BITMAP = 2 };

/* The most bytes a chunk may decompress to (FORMAT.md): checked before anything is
 * allocated, so a hostile raw_len cannot make the reader allocate gigabytes. */
static inline uint64_t seg_raw_limit(uint32_t n_rows)
{
    return (uint64_t)n_rows * 24 + n_rows / 8 + 64;
}

/* ---- little-endian fixed width ----------------------------------------------------------- */

static inline uint16_t seg_get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t seg_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t seg_get_u64(const uint8_t *p)
{
    return (uint64_t)seg_get_u32(p) | (uint64_t)seg_get_u32(p + 4) << 32;
}
static inline void seg_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void seg_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void seg_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* An unsigned little-endian integer of `width` bytes (1, 2, 4 or 8). */
static inline uint64_t seg_get_uw(const uint8_t *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static inline void seg_put_uw(uint8_t *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- varint and zigzag ------------------------------------------------------------------- */

#define SEG_VARINT_MAX 10

static inline uint8_t *seg_put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* seg_put_varint for the times' zigzag differences, which are one, two or three bytes in
 * no predictable order (a flow's duration, the gap to the next flow's end): up to three
 * bytes are built in a register and stored as one word, with no branch on the length, which
 * cut the time of DELTA and DIFF_* by 40%. Larger values take the loop. The word's fourth byte
 * (and the third, for shorter varints) lands past the varint: within seg_enc_bound(), which
 * counts ten bytes for every value, and overwritten by the next one. (Counters are mostly
 * one-byte varints, on which the loop's branch is predicted and this is slower.) */
static inline uint8_t *seg_put_varint3(uint8_t *p, uint64_t v)
{
    if (v >> 21)
        return seg_put_varint(p, v);
    uint32_t u = (uint32_t)v, two = u >= 0x80, three = u >= 0x4000;
    uint32_t x = (u & 0x7f) | (u << 1 & 0x7f00) | (u << 2 & 0x7f0000) | two << 7 | three << 15;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &x, 4);
#else
    seg_put_u32(p, x);
#endif
    return p + 1 + two + three;
}

/* Reads one varint from [*p, end); -1 when it runs past `end` or is longer than 64 bits
 * (ten bytes, the tenth holding at most the top bit), which no writer produces. */
static inline int seg_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (p >= end)
            return -1;
        uint8_t b = *p++;
        if (shift == 63 && b > 1)
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return -1;
}

static inline uint64_t seg_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t seg_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- encoders (writer side; output sized by the caller) ---------------------------------- */

/* Most bytes any encoding of n values of a column of `width` produces (before the bitmap). */
static inline size_t seg_enc_bound(size_t width, uint32_t n)
{
    if (width == 16)
        return (size_t)n * 20 + SEG_VARINT_MAX; /* DICT_ADDR: tag+16 per entry, index <= 3 */
    return (size_t)n * SEG_VARINT_MAX;
}

/* `vals` holds n native values of `width` bytes (uint8_t .. uint64_t, or flow_addr_t). */
/* How many of the values, from the first, equal the first (n: the column is one value). A
 * constant column is common (a sampling rate, the AS numbers of an exporter that sends none)
 * and is scanned whole, twice (is it linkable, is it one repeated varint), so the scan goes
 * 64 bytes a step with SSE2: a 65,536-row u32 column in 4.3 us instead of 28 a value at a
 * time (measured in cache). */
uint32_t seg_enc_run(const void *vals, size_t width, uint32_t n);
size_t seg_enc_raw(uint8_t *out, const void *vals, size_t width, uint32_t n);
size_t seg_enc_varint(uint8_t *out, const void *vals, size_t width, uint32_t n);
size_t seg_enc_planes(uint8_t *out, const void *vals, size_t width, uint32_t n);
size_t seg_enc_delta(uint8_t *out, const uint64_t *vals, uint32_t n);
/* time_end of each value against `start` of the same row (0 where the row has none). */
size_t seg_enc_diff(uint8_t *out, const uint64_t *vals, const uint64_t *start, uint32_t n);

/* Address dictionary: a hash table reused from group to group, so encoding allocates
 * nothing once it has seen its largest group. */
typedef struct seg_dict {
    uint32_t *slots; /* entry index + 1; 0 = empty (all empty between calls) */
    uint32_t n_slots;
    flow_addr_t *entries;
    uint64_t *sort_a, *sort_b; /* radix sort of IPv4 entries: value << 32 | entry */
    uint32_t *order, *rank;
    uint32_t *idx; /* per value: its entry */
    uint32_t *pos; /* per entry: its slot, to empty the table after use */
    uint32_t cap;  /* values the arrays above hold */
    uint32_t n_entries; /* distinct values of the last encoding: entries[0..n_entries) */
} seg_dict_t;

void seg_dict_free(seg_dict_t *d);
/* Encodes n addresses as DICT_ADDR; (size_t)-1 when memory runs out. */
size_t seg_enc_dict(seg_dict_t *d, uint8_t *out, const flow_addr_t *vals, uint32_t n);

/* ---- decoders (reader side; bytes untrusted) --------------------------------------------- */

/* Each decodes exactly n values from exactly `len` bytes into out[0..n), or returns -1. */
int seg_dec_raw(const uint8_t *p, size_t len, size_t width, uint32_t n, uint64_t *out);
int seg_dec_varint(const uint8_t *p, size_t len, uint32_t n, uint64_t *out);
int seg_dec_planes(const uint8_t *p, size_t len, size_t width, uint32_t n, uint64_t *out);
int seg_dec_delta(const uint8_t *p, size_t len, uint32_t n, uint64_t *out);
/* DIFF_START: the signed differences, as two's complement; the caller adds time_start. */
int seg_dec_zigzag(const uint8_t *p, size_t len, uint32_t n, uint64_t *out);
int seg_dec_raw_addr(const uint8_t *p, size_t len, uint32_t n, flow_addr_t *out);
/* `dict` has room for n entries (a dictionary never has more entries than values). */
int seg_dec_dict(const uint8_t *p, size_t len, uint32_t n, flow_addr_t *out, flow_addr_t *dict);
/* The same chunk as its dictionary (dict, *n_dict entries) and each value's index into it
 * (ix[0..n), each checked below *n_dict), for aggregating by code (seg_batch_codes). */
int seg_dec_dict_codes(const uint8_t *p, size_t len, uint32_t n, flow_addr_t *dict,
                       uint32_t *n_dict, uint64_t *ix);

#endif
