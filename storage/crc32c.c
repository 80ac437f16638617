/* crc32c.c: CRC-32C in hardware where the CPU has it, slicing-by-8 tables elsewhere.
 *
 * The choice is made once (pthread_once), so every later call is a plain indirect call. The
 * software path exists for other architectures and for x86-64 CPUs without SSE4.2; both paths
 * give the same values, and the unit test checks them against the standard check value.
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 bit-reversed */

static uint32_t crc32c_table[8][256];
static uint32_t (*crc32c_impl)(uint32_t crc, const uint8_t *p, size_t len);
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    /* Byte at a time until 8-byte alignment is irrelevant: memcpy loads keep it portable. */
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
              crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
              crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
              crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

/* Shifting a CRC register over n zero bytes is linear over GF(2): a 32x32 bit matrix, kept as
 * 32 columns (column k is the image of bit k). The hardware path needs it for two block sizes
 * (below), applied through four byte tables like the slicing tables. */
static uint32_t crc32c_mat_apply(const uint32_t mat[32], uint32_t v)
{
    uint32_t r = 0;
    for (int k = 0; v != 0; k++, v >>= 1)
        if (v & 1)
            r ^= mat[k];
    return r;
}

/* out = a * b (apply b, then a) */
static void crc32c_mat_mul(uint32_t out[32], const uint32_t a[32], const uint32_t b[32])
{
    for (int k = 0; k < 32; k++)
        out[k] = crc32c_mat_apply(a, b[k]);
}

/* tab[j][x] is the register (x << 8j) carried over `bytes` zero bytes */
static void crc32c_shift_table(uint32_t tab[4][256], size_t bytes)
{
    /* one zero bit: shift right, folding the polynomial back in where bit 0 falls out */
    uint32_t step[32], acc[32], tmp[32];
    step[0] = CRC32C_POLY;
    for (int k = 1; k < 32; k++)
        step[k] = 1u << (k - 1);
    for (int k = 0; k < 32; k++)
        acc[k] = 1u << k;
    /* acc = step^(8 * bytes) by square and multiply */
    for (size_t bits = bytes * 8; bits != 0; bits >>= 1) {
        if (bits & 1) {
            crc32c_mat_mul(tmp, step, acc);
            memcpy(acc, tmp, sizeof acc);
        }
        crc32c_mat_mul(tmp, step, step);
        memcpy(step, tmp, sizeof step);
    }
    for (uint32_t x = 0; x < 256; x++)
        for (int j = 0; j < 4; j++)
            tab[j][x] = crc32c_mat_apply(acc, x << (8 * j));
}

static inline uint32_t crc32c_shift(const uint32_t tab[4][256], uint32_t c)
{
    return tab[0][c & 0xff] ^ tab[1][(c >> 8) & 0xff] ^ tab[2][(c >> 16) & 0xff] ^ tab[3][c >> 24];
}

/* The crc32 instruction takes 3 cycles and can start one a cycle, so one chain of it runs at a
 * third of the unit's speed. Long buffers run three chains over three adjacent blocks at once
 * and join them by shifting the earlier blocks' registers over the later blocks' lengths (the
 * register is linear in its input: reg(c, A||B) = shift(reg(c, A), |B|) ^ reg(0, B)). */
#define CRC32C_LONG 4096
#define CRC32C_SHORT 256
static uint32_t crc32c_long_tab[4][256];
static uint32_t crc32c_short_tab[4][256];

__attribute__((target("sse4.2"))) static uint64_t crc32c_hw_blocks(uint64_t c, const uint8_t **pp,
                                                                   size_t *lenp, size_t blk,
                                                                   const uint32_t tab[4][256])
{
    const uint8_t *p = *pp;
    size_t len = *lenp;
    while (len >= 3 * blk) {
        uint64_t c1 = 0, c2 = 0;
        for (const uint8_t *end = p + blk; p < end; p += 8) {
            uint64_t v0, v1, v2;
            memcpy(&v0, p, 8);
            memcpy(&v1, p + blk, 8);
            memcpy(&v2, p + 2 * blk, 8);
            c = _mm_crc32_u64(c, v0);
            c1 = _mm_crc32_u64(c1, v1);
            c2 = _mm_crc32_u64(c2, v2);
        }
        c = crc32c_shift(tab, (uint32_t)c) ^ (uint32_t)c1;
        c = crc32c_shift(tab, (uint32_t)c) ^ (uint32_t)c2;
        p += 2 * blk;
        len -= 3 * blk;
    }
    *pp = p;
    *lenp = len;
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t len)
{
    uint64_t c = crc;
    c = crc32c_hw_blocks(c, &p, &len, CRC32C_LONG, crc32c_long_tab);
    c = crc32c_hw_blocks(c, &p, &len, CRC32C_SHORT, crc32c_short_tab);
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
        crc32c_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc32c_table[t][i] =
                (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
    crc32c_impl = crc32c_sw;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc32c_shift_table(crc32c_long_tab, CRC32C_LONG);
        crc32c_shift_table(crc32c_short_tab, CRC32C_SHORT);
        crc32c_impl = crc32c_hw;
    }
#endif
}

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_impl(~crc, (const uint8_t *)data, len);
}

uint32_t crc32c_update_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc32c_once, crc32c_init);
    return ~crc32c_sw(~crc, (const uint8_t *)data, len);
}
