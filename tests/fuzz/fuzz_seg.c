/* fuzz_seg.c: the segment reader on arbitrary bytes (storage/seg_read.c, storage/seg_enc.c).
 *
 * The input is a whole segment file image, opened from memory as `flowhunt verify` and every
 * scan would open a file: validation, then every row group opened, every column loaded (in
 * reverse order too, so linked and dependent columns are reached from either side), every row
 * assembled, every zone map read, and the full verification; then every address column as
 * dictionary codes (seg_batch_codes, each code checked against its dictionary) and every
 * column restricted to every other row (seg_batch_restrict, as cat loads after its filter,
 * one column loaded before it).
 * Any result is fine except a
 * crash, a hang, a leak or an over-read.
 *
 * CRCs stop almost every mutation at the door, which is their job but leaves the code behind
 * them unexercised. So each input is read twice: as it is, and with every CRC the structure
 * lets us find recomputed (as PNG fuzzers do), so mutated lengths, directories, zone maps and
 * compressed chunks reach the decoders. The bytes are also fed to each column decoder
 * directly, which is where a decompressed chunk's hostile contents end up.
 */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "fuzz.h"
#include "seg.h"
#include "seg_enc.h"

static void fuzz_seg_read(const uint8_t *data, size_t size)
{
    seg_file_t *f;
    seg_where_t where;
    if (seg_open_mem(data, size, "fuzz", &f, &where) != 0)
        return;
    seg_batch_t b;
    seg_batch_init(&b);
    uint32_t *sel = NULL;
    for (uint32_t g = 0; g < seg_n_groups(f); g++) {
        seg_group_info_t gi;
        seg_group(f, g, &gi);
        for (int c = 0; c < FLOW_N_COLS; c++) {
            uint8_t mn[16], mx[16];
            seg_zone(f, g, c, mn, mx);
            uint8_t bits[SEG_PORT_BUCKET_BYTES];
            seg_zone_ports(f, g, c, bits);
        }
        for (int pass = 0; pass < 2; pass++) {
            if (seg_batch_open(&b, f, g, &where) != 0)
                break;
            for (int k = 0; k < FLOW_N_COLS; k++)
                seg_batch_load(&b, pass ? FLOW_N_COLS - 1 - k : k, &where);
            for (uint32_t i = 0; i < b.n_rows; i++) {
                flow_rec_t r;
                seg_batch_row(&b, i, &r);
            }
        }
        if (seg_batch_open(&b, f, g, &where) != 0)
            continue;
        for (int c = 0; c < FLOW_N_COLS; c++) {
            seg_codes_t cd;
            if (flow_cols[c].type != FLOW_T_ADDR || seg_batch_codes(&b, c, &cd, &where) != 1)
                continue;
            for (uint32_t i = 0; i < b.n_rows; i++)
                if ((!cd.present || cd.present[i]) && cd.code[i] >= cd.n_dict)
                    abort(); /* a code outside its dictionary: the reader's check failed */
        }
        uint32_t *s = realloc(sel, ((size_t)b.n_rows / 2 + 1) * sizeof *s);
        if (!s)
            continue;
        sel = s;
        uint32_t k = 0;
        for (uint32_t i = 0; i < b.n_rows; i += 2)
            sel[k++] = i;
        seg_batch_load(&b, (int)(g % FLOW_N_COLS), &where); /* a filter's, moved by restrict */
        seg_batch_restrict(&b, sel, k);
        for (int c = 0; c < FLOW_N_COLS; c++)
            seg_batch_load(&b, c, &where);
        for (uint32_t q = 0; q < k; q++) {
            flow_rec_t r;
            seg_batch_row(&b, q, &r);
        }
    }
    free(sel);
    seg_batch_free(&b);
    seg_verify_file(f, &where);
    seg_close(f);
}

/* Recomputes the CRCs of every block found by walking from the header, then the footer's. */
static void fuzz_seg_fix_crcs(uint8_t *p, size_t len)
{
    if (len < SEG_HDR_LEN + SEG_TAIL_LEN)
        return;
    uint64_t end = len - SEG_TAIL_LEN;
    uint64_t ftr_off = seg_get_u64(p + end);
    uint32_t ftr_len = seg_get_u32(p + end + 8);
    uint64_t blocks_end = ftr_off >= SEG_HDR_LEN && ftr_off <= end ? ftr_off : end;
    uint64_t off = SEG_HDR_LEN;
    while (blocks_end - off >= SEG_BLK_FIXED_LEN + 2 + 4 && memcmp(p + off, "FHRG", 4) == 0) {
        uint32_t blen = seg_get_u32(p + off + 4);
        if (blen < SEG_BLK_FIXED_LEN + 2 + 4 || blen > blocks_end - off)
            break;
        uint64_t crc_at = off + blen - 4, q = off + SEG_BLK_FIXED_LEN;
        uint16_t n_zones = seg_get_u16(p + q);
        q += 2;
        for (uint32_t z = 0; z < n_zones && q <= crc_at; z++)
            q += q + 4 <= crc_at ? 4 + 2 * (uint64_t)p[q + 2] : crc_at + 1;
        uint64_t dir = q, data = dir + (uint64_t)seg_get_u16(p + off + 12) * SEG_DIR_ENTRY_LEN;
        if (q > crc_at || data > crc_at)
            break;
        for (uint64_t e = dir, d = data; e < data; e += SEG_DIR_ENTRY_LEN) {
            uint32_t stored = seg_get_u32(p + e + 4);
            if (stored > crc_at - d)
                break;
            seg_put_u32(p + e + 12, crc32c(p + d, stored));
            d += stored;
        }
        seg_put_u32(p + crc_at, crc32c(p + off, data - off));
        off += blen;
    }
    if (ftr_off >= SEG_HDR_LEN && ftr_off <= end && end - ftr_off == ftr_len)
        seg_put_u32(p + end + 12, crc32c(p + ftr_off, ftr_len));
}

/* Each decoder on the raw bytes: the first byte picks the width, the next two the count. */
static void fuzz_seg_decoders(const uint8_t *data, size_t size)
{
    if (size < 3)
        return;
    static const size_t widths[4] = {1, 2, 4, 8};
    size_t width = widths[data[0] & 3];
    uint32_t n = seg_get_u16(data + 1) % 512;
    const uint8_t *p = data + 3;
    size_t len = size - 3;
    uint64_t out[512];
    flow_addr_t addr[512], dict[512];
    seg_dec_raw(p, len, width, n, out);
    seg_dec_varint(p, len, n, out);
    seg_dec_planes(p, len, width, n, out);
    seg_dec_delta(p, len, n, out);
    seg_dec_zigzag(p, len, n, out);
    seg_dec_raw_addr(p, len, n, addr);
    seg_dec_dict(p, len, n, addr, dict);
    uint32_t n_dict;
    if (seg_dec_dict_codes(p, len, n, dict, &n_dict, out) == 0)
        for (uint32_t i = 0; i < n; i++)
            if (out[i] >= n_dict)
                abort(); /* accepted a code outside its dictionary */
}

int fuzz_seg_one(const uint8_t *data, size_t size);
int fuzz_seg_one(const uint8_t *data, size_t size)
{
    fuzz_seg_read(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (copy) {
        memcpy(copy, data, size);
        fuzz_seg_fix_crcs(copy, size);
        fuzz_seg_read(copy, size);
        free(copy);
    }
    fuzz_seg_decoders(data, size);
    return 0;
}

FUZZ_ENTRY(seg)
