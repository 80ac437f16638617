/* seg_read.c: opening, validating and decoding segment files (storage/FORMAT.md).
 *
 * A segment is untrusted bytes, whatever wrote it: a disk can flip bits, a copy can be cut
 * short, a file can be something else renamed. So, as Redis does with lpValidateIntegrity,
 * seg_open() checks the whole structure before anything uses it: the header, the tail, the
 * footer's CRC, that the footer's groups tile the file exactly, and every block's header,
 * zone maps and chunk directory (with its own CRC) against the block's length and the format's
 * limits. After that, code that walks the structure reads without checks. Chunk data is
 * different: its CRC is checked when the chunk is loaded (seg_batch_load), so a scan pays
 * for the columns it reads and nothing else, and decoding still treats the decompressed bytes
 * as hostile (seg_enc.c). Every failure is a named code with the file and the byte offset,
 * in the SQLite manner: corruption is an ordinary error, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "crc32c.h"
#include "seg_int.h"

/* ---- errors ------------------------------------------------------------------------------ */

static const char *const seg_err_names[SEG_N_ERRORS] = {"ok",
#define SEG_X_NAME(code, name, msg) name,
                                                        SEG_ERRORS(SEG_X_NAME)
#undef SEG_X_NAME
};

static const char *const seg_err_msgs[SEG_N_ERRORS] = {"success",
#define SEG_X_MSG(code, name, msg) msg,
                                                       SEG_ERRORS(SEG_X_MSG)
#undef SEG_X_MSG
};

const char *seg_err_name(int code)
{
    if (code < 0)
        code = -code;
    return code < SEG_N_ERRORS ? seg_err_names[code] : "unknown";
}

const char *seg_strerror(int code)
{
    if (code < 0)
        code = -code;
    return code < SEG_N_ERRORS ? seg_err_msgs[code] : "unknown error";
}

int seg_where_set(seg_where_t *where, const char *path, int code, uint64_t offset, int sys_errno)
{
    if (where) {
        snprintf(where->path, sizeof where->path, "%s", path ? path : "");
        where->offset = offset;
        where->code = code;
        where->sys_errno = sys_errno;
    }
    return -code;
}

/* ---- blocks ------------------------------------------------------------------------------ */

#define SEGR_FAIL(code, at)                                                                        \
    do {                                                                                           \
        *bad_off = (at);                                                                           \
        return -(code);                                                                            \
    } while (0)

/* min <= max for a zone of `width` bytes: integers little-endian, addresses bytewise. */
static int segr_zone_ordered(const uint8_t *min, const uint8_t *max, unsigned width)
{
    if (width == 16)
        return memcmp(min, max, 16) <= 0;
    return seg_get_uw(min, width) <= seg_get_uw(max, width);
}

int segr_block_parse(const uint8_t *base, uint64_t limit, uint64_t off, segr_block_t *out,
                     uint64_t *bad_off)
{
    const uint64_t min_len = SEG_BLK_FIXED_LEN + 2 + SEG_BLK_CRC_LEN;
    if (off > limit || limit - off < min_len)
        SEGR_FAIL(SEG_E_TRUNCATED, off);
    const uint8_t *p = base + off;
    if (memcmp(p, SEG_BLK_MAGIC, 4) != 0)
        SEGR_FAIL(SEG_E_MAGIC, off);
    uint32_t len = seg_get_u32(p + 4);
    if (len < min_len)
        SEGR_FAIL(SEG_E_CORRUPT, off + 4);
    if (len > limit - off)
        SEGR_FAIL(SEG_E_TRUNCATED, off + 4);
    const uint8_t *end = p + len - SEG_BLK_CRC_LEN; /* the header CRC sits at the very end */

    /* Lengths first, so the CRC is computed over a range known to be inside the block. */
    const uint8_t *q = p + SEG_BLK_FIXED_LEN;
    uint16_t n_zones = seg_get_u16(q);
    q += 2;
    const uint8_t *zones = q;
    for (uint32_t z = 0; z < n_zones; z++) {
        if ((size_t)(end - q) < SEG_ZONE_HDR_LEN)
            SEGR_FAIL(SEG_E_OFFSET, off + (uint64_t)(q - p));
        /* any width: a zone of an id this reader does not know is stepped over by it (a
         * known id's width is checked below) */
        unsigned w = q[2];
        if ((size_t)(end - q) < SEG_ZONE_HDR_LEN + 2 * (size_t)w)
            SEGR_FAIL(SEG_E_OFFSET, off + (uint64_t)(q - p));
        q += SEG_ZONE_HDR_LEN + 2 * w;
    }
    uint16_t n_chunks = seg_get_u16(p + 12);
    if ((size_t)(end - q) < (size_t)n_chunks * SEG_DIR_ENTRY_LEN)
        SEGR_FAIL(SEG_E_OFFSET, off + 12);
    const uint8_t *dir = q;
    const uint8_t *data = dir + (size_t)n_chunks * SEG_DIR_ENTRY_LEN;
    uint32_t want_crc = seg_get_u32(end);
    if (crc32c(p, (size_t)(data - p)) != want_crc)
        SEGR_FAIL(SEG_E_CHECKSUM, off + len - SEG_BLK_CRC_LEN);

    /* The header is what the writer wrote; now its values must make sense. */
    uint32_t n_rows = seg_get_u32(p + 8);
    if (n_rows == 0 || n_rows > SEG_MAX_ROWS)
        SEGR_FAIL(SEG_E_CORRUPT, off + 8);
    if (seg_get_u16(p + 14) != 0)
        SEGR_FAIL(SEG_E_VERSION, off + 14);
    out->off = off;
    out->len = len;
    out->n_rows = n_rows;
    out->time_min = seg_get_u64(p + 16);
    out->time_max = seg_get_u64(p + 24);
    if (out->time_min > out->time_max)
        SEGR_FAIL(SEG_E_CORRUPT, off + 16);
    out->n_chunks = n_chunks;
    out->dir_off = off + (uint64_t)(dir - p);
    out->data_off = off + (uint64_t)(data - p);
    out->links_chunk = -1;
    out->links_data_off = 0;
    for (int c = 0; c < FLOW_N_COLS; c++) {
        out->chunk_of_col[c] = -1;
        out->chunk_data_off[c] = 0;
        out->zone_off[c] = -1;
    }
    for (unsigned k = 0; k < SEG_ZONE_PORTS_N; k++)
        out->ports_off[k] = -1;

    q = zones;
    for (uint32_t z = 0; z < n_zones; z++) {
        uint16_t col = seg_get_u16(q);
        unsigned w = q[2];
        uint64_t at = off + (uint64_t)(q - p);
        if (q[3] != 0)
            SEGR_FAIL(SEG_E_VERSION, at + 3);
        if (col < FLOW_N_COLS) {
            if (flow_cols[col].width != w)
                SEGR_FAIL(SEG_E_CORRUPT, at + 2);
            if (out->zone_off[col] >= 0)
                SEGR_FAIL(SEG_E_CORRUPT, at);
            if (!segr_zone_ordered(q + SEG_ZONE_HDR_LEN, q + SEG_ZONE_HDR_LEN + w, w))
                SEGR_FAIL(SEG_E_CORRUPT, at + SEG_ZONE_HDR_LEN);
            out->zone_off[col] = (int64_t)(at + SEG_ZONE_HDR_LEN);
        } else if (col >= SEG_ZONE_PORTS && col < SEG_ZONE_PORTS + SEG_ZONE_PORTS_N) {
            /* port buckets: any bit pattern is a set of buckets; verify checks it exactly */
            unsigned k = col - SEG_ZONE_PORTS;
            if (w != 16)
                SEGR_FAIL(SEG_E_CORRUPT, at + 2);
            if (out->ports_off[k] >= 0)
                SEGR_FAIL(SEG_E_CORRUPT, at);
            out->ports_off[k] = (int64_t)(at + SEG_ZONE_HDR_LEN);
        }
        q += SEG_ZONE_HDR_LEN + 2 * w;
    }

    uint64_t data_at = out->data_off;
    uint64_t data_room = (uint64_t)(end - data);
    uint64_t raw_limit = seg_raw_limit(n_rows);
    for (uint32_t k = 0; k < n_chunks; k++) {
        const uint8_t *e = dir + (size_t)k * SEG_DIR_ENTRY_LEN;
        uint64_t at = off + (uint64_t)(e - p);
        uint16_t col = seg_get_u16(e);
        uint8_t enc = e[2], presence = e[3];
        uint32_t stored = seg_get_u32(e + 4), raw = seg_get_u32(e + 8);
        if (presence > SEG_PRES_BITMAP)
            SEGR_FAIL(SEG_E_VERSION, at + 3);
        if (presence == SEG_PRES_NONE ? (stored != 0 || raw != 0) : stored == 0)
            SEGR_FAIL(SEG_E_CORRUPT, at + 4);
        if (raw > raw_limit)
            SEGR_FAIL(SEG_E_CORRUPT, at + 8);
        if (stored > data_room)
            SEGR_FAIL(SEG_E_OFFSET, at + 4);
        if (col < FLOW_N_COLS) {
            /* An encoding this reader does not know, on a column it knows: a newer writer. */
            if (enc >= SEG_ENC_N)
                SEGR_FAIL(SEG_E_VERSION, at + 2);
            if (out->chunk_of_col[col] >= 0)
                SEGR_FAIL(SEG_E_CORRUPT, at);
            out->chunk_of_col[col] = (int32_t)k;
            out->chunk_data_off[col] = data_at;
        } else if (col == SEG_COL_LINKS) {
            if (enc >= SEG_ENC_N)
                SEGR_FAIL(SEG_E_VERSION, at + 2);
            if (out->links_chunk >= 0)
                SEGR_FAIL(SEG_E_CORRUPT, at);
            out->links_chunk = (int32_t)k;
            out->links_data_off = data_at;
        }
        data_at += stored;
        data_room -= stored;
    }
    /* The chunks must fill the block exactly: no bytes a reader would never look at. */
    if (data_room != 0)
        SEGR_FAIL(SEG_E_OFFSET, off + 4);
    return 0;
}

void segr_chunk_get(const uint8_t *base, const segr_block_t *b, uint32_t k, segr_chunk_t *out)
{
    const uint8_t *e = base + b->dir_off + (size_t)k * SEG_DIR_ENTRY_LEN;
    out->col = seg_get_u16(e);
    out->enc = e[2];
    out->presence = e[3];
    out->stored_len = seg_get_u32(e + 4);
    out->raw_len = seg_get_u32(e + 8);
    out->crc = seg_get_u32(e + 12);
}

int segr_block_check_chunks(const uint8_t *base, const segr_block_t *b, uint64_t *bad_off)
{
    uint64_t at = b->data_off;
    for (uint32_t k = 0; k < b->n_chunks; k++) {
        segr_chunk_t ch;
        segr_chunk_get(base, b, k, &ch);
        if (crc32c(base + at, ch.stored_len) != ch.crc)
            SEGR_FAIL(SEG_E_CHECKSUM, at);
        at += ch.stored_len;
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

struct seg_file {
    char *path;
    const uint8_t *base;
    size_t len;
    int mapped; /* base is an mmap of len bytes; else, when owned, a malloc'd copy */
    int owned;
    uint32_t n_groups;
    segr_block_t *groups;
    uint32_t n_exporters;
    seg_exporter_stat_t *exporters;
    const char *meta;
    size_t meta_len;
};

#define SEGR_READ_MAX (64u << 10) /* segments up to this size are read, larger ones mapped */

static int segr_fail(const seg_file_t *f, seg_where_t *where, int code, uint64_t off)
{
    return seg_where_set(where, f->path, code, off, 0);
}

/* Everything outside the chunk data, checked once (see the paragraph at the top). */
static int segr_validate(seg_file_t *f, seg_where_t *where)
{
    const uint8_t *b = f->base;
    size_t len = f->len;
    if (len < SEG_HDR_LEN || memcmp(b, SEG_HDR_MAGIC, 8) != 0)
        return segr_fail(f, where, len < 8 ? SEG_E_TRUNCATED : SEG_E_MAGIC, 0);
    if (seg_get_u16(b + 8) != SEG_VERSION)
        return segr_fail(f, where, SEG_E_VERSION, 8);
    if (seg_get_u16(b + 10) != 0)
        return segr_fail(f, where, SEG_E_VERSION, 10);
    if (seg_get_u32(b + 12) != 0)
        return segr_fail(f, where, SEG_E_VERSION, 12);
    /* A valid header without a tail is a file cut short (or a writer's crash): truncated. */
    if (len < SEG_HDR_LEN + SEG_TAIL_LEN || memcmp(b + len - 8, SEG_TAIL_MAGIC, 8) != 0)
        return segr_fail(f, where, SEG_E_TRUNCATED, len);

    const uint8_t *tail = b + len - SEG_TAIL_LEN;
    uint64_t ftr_off = seg_get_u64(tail);
    uint32_t ftr_len = seg_get_u32(tail + 8);
    uint64_t ftr_end = len - SEG_TAIL_LEN;
    if (ftr_off < SEG_HDR_LEN || ftr_off > ftr_end || ftr_end - ftr_off != ftr_len)
        return segr_fail(f, where, SEG_E_OFFSET, len - SEG_TAIL_LEN);
    const uint8_t *p = b + ftr_off, *end = b + ftr_end;
    if (crc32c(p, ftr_len) != seg_get_u32(tail + 12))
        return segr_fail(f, where, SEG_E_CHECKSUM, ftr_off);

#define SEGR_AT(q) ((uint64_t)((q)-b))
    if (ftr_len < 8 || memcmp(p, SEG_FTR_MAGIC, 4) != 0)
        return segr_fail(f, where, SEG_E_MAGIC, ftr_off);
    uint32_t n_groups = seg_get_u32(p + 4);
    p += 8;
    /* Both the footer and the blocks must have room for that many groups, which bounds what
     * a hostile count can make us allocate by the file's own size. */
    const uint64_t min_block = SEG_BLK_FIXED_LEN + 2 + SEG_BLK_CRC_LEN;
    if ((uint64_t)(end - p) < (uint64_t)n_groups * SEG_FTR_GROUP_LEN ||
        (uint64_t)n_groups * min_block > ftr_off - SEG_HDR_LEN)
        return segr_fail(f, where, SEG_E_CORRUPT, ftr_off + 4);
    f->groups = calloc(n_groups ? n_groups : 1, sizeof *f->groups);
    if (!f->groups)
        return segr_fail(f, where, SEG_E_NOMEM, ftr_off + 4);
    f->n_groups = n_groups;
    uint64_t expect = SEG_HDR_LEN; /* blocks tile [header end, footer) in order */
    for (uint32_t g = 0; g < n_groups; g++, p += SEG_FTR_GROUP_LEN) {
        uint64_t off = seg_get_u64(p);
        uint32_t blen = seg_get_u32(p + 8);
        if (off != expect || blen > ftr_off - off)
            return segr_fail(f, where, SEG_E_OFFSET, SEGR_AT(p));
        segr_block_t *blk = &f->groups[g];
        uint64_t bad = 0;
        int rc = segr_block_parse(b, off + blen, off, blk, &bad);
        if (rc < 0)
            return segr_fail(f, where, -rc, bad);
        /* The block is authoritative; a footer that disagrees is corrupt. */
        if (blk->len != blen || blk->n_rows != seg_get_u32(p + 12) ||
            blk->time_min != seg_get_u64(p + 16) || blk->time_max != seg_get_u64(p + 24))
            return segr_fail(f, where, SEG_E_CORRUPT, SEGR_AT(p));
        expect = off + blen;
    }
    if (expect != ftr_off)
        return segr_fail(f, where, SEG_E_OFFSET, ftr_off);

    if (end - p < 4)
        return segr_fail(f, where, SEG_E_CORRUPT, SEGR_AT(p));
    uint32_t n_exp = seg_get_u32(p);
    p += 4;
    if ((uint64_t)(end - p) < (uint64_t)n_exp * SEG_FTR_EXP_LEN)
        return segr_fail(f, where, SEG_E_CORRUPT, SEGR_AT(p) - 4);
    f->exporters = calloc(n_exp ? n_exp : 1, sizeof *f->exporters);
    if (!f->exporters)
        return segr_fail(f, where, SEG_E_NOMEM, SEGR_AT(p));
    f->n_exporters = n_exp;
    for (uint32_t i = 0; i < n_exp; i++, p += SEG_FTR_EXP_LEN) {
        seg_exporter_stat_t *e = &f->exporters[i];
        memcpy(e->addr.b, p, 16);
        e->version = seg_get_u16(p + 16);
        e->domain = seg_get_u32(p + 18);
        e->datagrams = seg_get_u64(p + 22);
        e->flows = seg_get_u64(p + 30);
        e->seq_lost = seg_get_u64(p + 38);
        e->drops = seg_get_u64(p + 46);
    }
    uint64_t meta_len;
    const uint8_t *meta_at = p;
    if (seg_get_varint(&p, end, &meta_len) != 0 || meta_len != (uint64_t)(end - p))
        return segr_fail(f, where, SEG_E_CORRUPT, SEGR_AT(meta_at));
    f->meta = (const char *)p;
    f->meta_len = (size_t)meta_len;
#undef SEGR_AT
    return 0;
}

static int segr_new(const char *name, seg_file_t **out, seg_where_t *where)
{
    *out = NULL;
    seg_file_t *f = calloc(1, sizeof *f);
    char *path = strdup(name ? name : "(memory)");
    if (!f || !path) {
        free(f);
        free(path);
        return seg_where_set(where, name, SEG_E_NOMEM, 0, ENOMEM);
    }
    f->path = path;
    *out = f;
    return 0;
}

int seg_open_mem(const void *data, size_t len, const char *name, seg_file_t **out,
                 seg_where_t *where)
{
    seg_file_t *f;
    int rc = segr_new(name, &f, where);
    if (rc < 0)
        return rc;
    f->base = data;
    f->len = len;
    rc = segr_validate(f, where);
    if (rc < 0) {
        seg_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int seg_open(const char *path, seg_file_t **out, seg_where_t *where)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return seg_where_set(where, path, SEG_E_IO, 0, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return seg_where_set(where, path, SEG_E_IO, 0, e);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return seg_where_set(where, path, SEG_E_IO, 0, EINVAL);
    }
    size_t len = (size_t)st.st_size;
    if (len < SEG_HDR_LEN + SEG_TAIL_LEN) {
        close(fd);
        return seg_where_set(where, path, SEG_E_TRUNCATED, len, 0);
    }
    /* A small segment (a quiet minute: tens of kilobytes) is read into memory: mapping and
     * unmapping it cost more than copying it, and a day of them is 1440 files. A larger one
     * is mapped: a filtered scan touches only the chunks of its columns, where reading copied
     * (and faulted in) all of it; reading up to 1 MiB made `cat 'dst port 1337'` over the
     * bench's hourly segments of 0.4-1.9 MB take 15 % longer. */
    int small = len <= SEGR_READ_MAX;
    void *map = small ? malloc(len) : mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    if (small && map) {
        for (size_t got = 0; got < len;) {
            ssize_t k = pread(fd, (char *)map + got, len - got, (off_t)got);
            if (k <= 0) {
                e = k < 0 ? errno : EIO; /* shorter than fstat said: changed under us */
                free(map);
                map = NULL;
                break;
            }
            got += (size_t)k;
        }
    }
    close(fd);
    if (small ? !map : map == MAP_FAILED)
        return seg_where_set(where, path, SEG_E_IO, 0, small && e == 0 ? ENOMEM : e);
    seg_file_t *f;
    int rc = segr_new(path, &f, where);
    if (rc < 0) {
        if (small)
            free(map);
        else
            munmap(map, len);
        return rc;
    }
    f->base = map;
    f->len = len;
    f->mapped = !small;
    f->owned = small;
    rc = segr_validate(f, where);
    if (rc < 0) {
        seg_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void seg_close(seg_file_t *f)
{
    if (!f)
        return;
    if (f->mapped)
        munmap((void *)f->base, f->len);
    else if (f->owned)
        free((void *)f->base);
    free(f->groups);
    free(f->exporters);
    free(f->path);
    free(f);
}

const char *seg_file_path(const seg_file_t *f)
{
    return f->path;
}

uint32_t seg_n_groups(const seg_file_t *f)
{
    return f->n_groups;
}

void seg_group(const seg_file_t *f, uint32_t g, seg_group_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (g >= f->n_groups)
        return;
    out->n_rows = f->groups[g].n_rows;
    out->time_min = f->groups[g].time_min;
    out->time_max = f->groups[g].time_max;
}

/* Stores a little-endian column value as the column's C type. */
static void segr_put_native(void *dst, const uint8_t *src, size_t width)
{
    uint64_t v;
    switch (width) {
    case 1:
        *(uint8_t *)dst = src[0];
        break;
    case 2:
        v = seg_get_uw(src, 2);
        memcpy(dst, &(uint16_t){(uint16_t)v}, 2);
        break;
    case 4:
        v = seg_get_uw(src, 4);
        memcpy(dst, &(uint32_t){(uint32_t)v}, 4);
        break;
    case 8:
        v = seg_get_uw(src, 8);
        memcpy(dst, &v, 8);
        break;
    default:
        memcpy(dst, src, 16);
        break;
    }
}

int seg_zone(const seg_file_t *f, uint32_t g, int col, void *min, void *max)
{
    if (g >= f->n_groups || col < 0 || col >= FLOW_N_COLS || f->groups[g].zone_off[col] < 0)
        return 0;
    const uint8_t *z = f->base + f->groups[g].zone_off[col];
    size_t w = flow_cols[col].width;
    segr_put_native(min, z, w);
    segr_put_native(max, z + w, w);
    return 1;
}

int seg_zone_ports(const seg_file_t *f, uint32_t g, int col, uint8_t bits[SEG_PORT_BUCKET_BYTES])
{
    int k = seg_ports_zone(col);
    if (g >= f->n_groups || k < 0)
        return 0;
    const segr_block_t *blk = &f->groups[g];
    int any = 0;
    for (int half = 0; half < 2; half++) {
        int64_t at = blk->ports_off[k + half];
        if (at >= 0)
            memcpy(bits + half * 32, f->base + at, 32);
        else
            memset(bits + half * 32, 0xff, 32);
        any |= at >= 0;
    }
    return any;
}

int seg_batch_unsampled(const seg_batch_t *b)
{
    uint32_t mn, mx;
    return seg_zone(b->file, b->group, FLOW_COL_sampling, &mn, &mx) == 1 && mx <= 1;
}

uint32_t seg_n_exporters(const seg_file_t *f)
{
    return f->n_exporters;
}

const seg_exporter_stat_t *seg_exporters(const seg_file_t *f)
{
    return f->exporters;
}

const char *seg_meta(const seg_file_t *f, size_t *len)
{
    *len = f->meta_len;
    return f->meta;
}

/* ---- batches ----------------------------------------------------------------------------- */

/* A chunk decompressed and its values decoded, before they are placed in rows. */
typedef struct segr_dense {
    uint64_t *u64;     /* integer values */
    flow_addr_t *addr; /* or address values */
    size_t cap;        /* values both arrays hold */
} segr_dense_t;

typedef struct segr_unpacked {
    uint8_t enc;         /* the chunk's encoding (LINKED or its base) */
    const uint8_t *pres; /* one byte per row, or NULL: every row */
    uint32_t n_vals;     /* values decoded (for LINKED: the rows without a link) */
    segr_dense_t *dense; /* where they are */
    uint32_t n_dict;     /* entries of the dictionary, when decoded as codes */
} segr_unpacked_t;

typedef struct segr_scratch {
    ZSTD_DCtx *dctx;
    uint8_t *raw;
    size_t raw_cap;
    segr_dense_t dense[2]; /* a column and its mirror, decoded together when linked */
    flow_addr_t *dict;
    size_t dict_cap;
    uint32_t *links; /* SEG_COL_LINKS of the open group, valid when links_loaded */
    size_t links_cap;
    int links_loaded;
    uint32_t n_linked; /* rows with a link */
    /* Each row's link chain followed to its end, an unlinked row: that row's place among the
     * unlinked rows (where a LINKED column's literal for it is), and whether the chain
     * crosses an odd number of reverse links (the mirror column's literal then). */
    uint32_t *root; /* place * 2 + odd */
    size_t root_cap;
    int roots_ready;  /* root[] is for the open group */
    int linked_loads; /* linked loads in the open group so far */
    void *col[FLOW_N_COLS];
    uint8_t *pres[FLOW_N_COLS];
    size_t col_cap[FLOW_N_COLS]; /* rows col[c] and pres[c] hold */
    uint8_t *zeros;              /* zero bytes for columns a group lacks, read only */
    size_t zeros_cap;
    uint32_t *codes; /* seg_batch_codes: a row's index into cdict */
    size_t codes_cap;
    flow_addr_t *cdict; /* a column's dictionary, then its mirror's */
    size_t cdict_cap;
    uint32_t *cmap; /* the mirror's dictionary onto the whole (segr_codes_join) */
    size_t cmap_cap;
    /* The column whose codes[] and cdict[] are the open group's, plus one (0: none), so
     * seg_batch_load makes its addresses from them instead of decoding its chunk again (a
     * filter reads an address column as codes, cat then prints it); with codes_pres, the
     * codes' presence (pres[] of the column, NULL: every row). */
    int codes_for;
    const uint8_t *codes_pres;
    uint32_t codes_n_dict;
} segr_scratch_t;

void seg_batch_init(seg_batch_t *b)
{
    memset(b, 0, sizeof *b);
}

void seg_batch_free(seg_batch_t *b)
{
    segr_scratch_t *s = b->scratch;
    if (s) {
        ZSTD_freeDCtx(s->dctx);
        free(s->raw);
        for (int k = 0; k < 2; k++) {
            free(s->dense[k].u64);
            free(s->dense[k].addr);
        }
        free(s->dict);
        free(s->links);
        free(s->zeros);
        free(s->root);
        free(s->codes);
        free(s->cdict);
        free(s->cmap);
        for (int c = 0; c < FLOW_N_COLS; c++) {
            free(s->col[c]);
            free(s->pres[c]);
        }
        free(s);
    }
    memset(b, 0, sizeof *b);
}

int seg_batch_open(seg_batch_t *b, const seg_file_t *f, uint32_t g, seg_where_t *where)
{
    if (!f || g >= f->n_groups)
        return seg_where_set(where, f ? f->path : NULL, SEG_E_USAGE, 0, 0);
    if (!b->scratch) {
        segr_scratch_t *s = calloc(1, sizeof *s);
        if (!s || !(s->dctx = ZSTD_createDCtx())) {
            free(s);
            return seg_where_set(where, f->path, SEG_E_NOMEM, 0, ENOMEM);
        }
        b->scratch = s;
        b->scratch_cap = sizeof *s;
    }
    ((segr_scratch_t *)b->scratch)->links_loaded = 0;
    ((segr_scratch_t *)b->scratch)->codes_for = 0;
    b->file = f;
    b->group = g;
    b->n_rows = f->groups[g].n_rows;
    b->sel = NULL;
    b->n_sel = 0;
    b->loaded = 0;
    b->err_code = 0;
    b->err_offset = 0;
    memset(b->vals, 0, sizeof b->vals);
    memset(b->present, 0, sizeof b->present);
    return 0;
}

/* Keeps a failure's place in the batch (the caller's where may be its own, lost to a scan). */
static int segr_batch_failed(seg_batch_t *b, int rc, const seg_where_t *where)
{
    if (rc < 0 && where) {
        b->err_code = -rc;
        b->err_offset = where->offset;
    }
    return rc;
}

/* Scratch is sized for the largest group a file may hold (`full` elements, what a group of
 * SEG_MAX_ROWS rows needs) on first use, not for the group at hand. Groups vary (a segment
 * ends with a short one, a daemon's flushes cut groups of any size), and growing to each
 * larger one copied the old contents into fresh pages and faulted each page in again: on
 * `cat -f FEED` over 2 M flows, 5,600 page faults, a third of them such copies. Pages never
 * written cost nothing but address space. `want` past `full` (a corrupt length is refused
 * before this) still grows. */
static int segr_grow(void **p, size_t *cap, size_t want, size_t full, size_t elem)
{
    if (*cap >= want)
        return 0;
    size_t n = want > full ? want : full;
    void *v = realloc(*p, n * elem);
    if (!v)
        return -1;
    *p = v;
    *cap = n;
    return 0;
}

static int segr_dense_reserve(segr_dense_t *d, size_t n)
{
    if (d->cap >= n)
        return 0;
    if (n < (size_t)SEG_MAX_ROWS + 1)
        n = (size_t)SEG_MAX_ROWS + 1; /* segr_grow says why */
    uint64_t *u = realloc(d->u64, n * sizeof *u);
    if (u)
        d->u64 = u;
    flow_addr_t *a = u ? realloc(d->addr, n * sizeof *a) : NULL;
    if (!a)
        return -1;
    d->addr = a;
    d->cap = n;
    return 0;
}

/* The directory entry of a column (or structural chunk) in the batch's group; 0 when the
 * group has none. */
static int segr_find_chunk(const seg_batch_t *b, unsigned col, segr_chunk_t *ch, uint64_t *off)
{
    const seg_file_t *f = b->file;
    const segr_block_t *blk = &f->groups[b->group];
    int32_t k = col == SEG_COL_LINKS ? blk->links_chunk
                : col < FLOW_N_COLS  ? blk->chunk_of_col[col]
                                     : -1;
    if (k < 0)
        return 0;
    segr_chunk_get(f->base, blk, (uint32_t)k, ch);
    *off = col == SEG_COL_LINKS ? blk->links_data_off : blk->chunk_data_off[col];
    return ch->presence != SEG_PRES_NONE;
}

/* Checks, decompresses and decodes one chunk into `dense` (values of present rows, for LINKED
 * only those without a link); the presence bytes go to `pres_out` (n_rows bytes). With
 * `codes_dict`, an address chunk is decoded as its dictionary (into codes_dict, its size in
 * out->n_dict) and each value's index into the dictionary (dense->u64); 1 when the chunk is
 * not a dictionary. */
static int segr_unpack(seg_batch_t *b, unsigned col, const segr_chunk_t *ch, uint64_t data_off,
                       segr_dense_t *dense, uint8_t *pres_out, segr_unpacked_t *out,
                       seg_where_t *where, flow_addr_t *codes_dict)
{
    const seg_file_t *f = b->file;
    segr_scratch_t *s = b->scratch;
    uint32_t n = b->n_rows;
    size_t width = col < FLOW_N_COLS ? flow_cols[col].width : 4;
    const uint8_t *src = f->base + data_off;

    if (crc32c(src, ch->stored_len) != ch->crc)
        return segr_fail(f, where, SEG_E_CHECKSUM, data_off);
    if (segr_grow((void **)&s->raw, &s->raw_cap, ch->raw_len ? ch->raw_len : 1,
                  seg_raw_limit(SEG_MAX_ROWS), 1) != 0)
        return segr_fail(f, where, SEG_E_NOMEM, data_off);
    size_t got = ZSTD_decompressDCtx(s->dctx, s->raw, ch->raw_len, src, ch->stored_len);
    if (ZSTD_isError(got) || got != ch->raw_len)
        return segr_fail(f, where, SEG_E_DECOMPRESS, data_off);

    const uint8_t *vals = s->raw;
    size_t vals_len = ch->raw_len;
    uint32_t n_vals = n;
    const uint8_t *pres = NULL;
    if (ch->presence == SEG_PRES_BITMAP) {
        size_t bm_len = ((size_t)n + 7) / 8;
        if (vals_len < bm_len || !pres_out)
            return segr_fail(f, where, SEG_E_CORRUPT, data_off);
        /* Bits past the last row are reserved and must be zero. */
        if ((n & 7) && (s->raw[bm_len - 1] >> (n & 7)) != 0)
            return segr_fail(f, where, SEG_E_CORRUPT, data_off);
        n_vals = 0;
        uint32_t i = 0;
        /* eight rows from each byte: the byte copied to every lane, lane k keeps bit k, which
         * adding 0x7f carries to the lane's top bit (no lane overflows: at most 0x80 + 0x7f) */
        for (; i + 8 <= n; i += 8) {
            uint8_t by = s->raw[i >> 3];
            uint64_t x = (by * 0x0101010101010101ull) & 0x8040201008040201ull;
            x = ((x + 0x7f7f7f7f7f7f7f7full) >> 7) & 0x0101010101010101ull;
            memcpy(pres_out + i, &x, 8); /* little-endian host: lane k is row i + k */
            n_vals += (uint32_t)__builtin_popcount(by);
        }
        for (; i < n; i++) {
            pres_out[i] = (s->raw[i >> 3] >> (i & 7)) & 1;
            n_vals += pres_out[i];
        }
        if (n_vals < n)
            pres = pres_out;
        vals += bm_len;
        vals_len -= bm_len;
    }

    uint8_t enc = ch->enc;
    if (enc == SEG_ENC_LINKED) {
        /* Linked rows hold no value here; each must be present (its link gives the value). */
        if (!s->links_loaded || vals_len < 1)
            return segr_fail(f, where, SEG_E_CORRUPT, data_off);
        enc = vals[0];
        vals++;
        vals_len--;
        if (enc >= SEG_ENC_N) /* a newer writer's base encoding, as on any known column */
            return segr_fail(f, where, SEG_E_VERSION, data_off);
        if (enc == SEG_ENC_LINKED || enc == SEG_ENC_DIFF_START || enc == SEG_ENC_DIFF_END)
            return segr_fail(f, where, SEG_E_CORRUPT, data_off);
        if (!pres) {
            n_vals = n - s->n_linked;
        } else {
            n_vals = 0;
            for (uint32_t i = 0; i < n; i++) {
                if (s->links[i] && !pres[i])
                    return segr_fail(f, where, SEG_E_CORRUPT, data_off);
                n_vals += pres[i] && !s->links[i];
            }
        }
    }

    /* One spare value: the branch-free pair loop reads one past the last literal. */
    if (segr_dense_reserve(dense, (size_t)n_vals + 1) != 0)
        return segr_fail(f, where, SEG_E_NOMEM, data_off);
    int bad = 0;
    out->n_dict = 0;
    if (width == 16 && codes_dict) {
        if (enc != SEG_ENC_DICT_ADDR)
            return 1;
        uint32_t n_dict = 0;
        bad = seg_dec_dict_codes(vals, vals_len, n_vals, codes_dict, &n_dict, dense->u64);
        out->n_dict = n_dict;
    } else if (width == 16) {
        if (enc == SEG_ENC_RAW) {
            bad = seg_dec_raw_addr(vals, vals_len, n_vals, dense->addr);
        } else if (enc == SEG_ENC_DICT_ADDR) {
            if (segr_grow((void **)&s->dict, &s->dict_cap, n_vals ? n_vals : 1, SEG_MAX_ROWS,
                          sizeof *s->dict))
                return segr_fail(f, where, SEG_E_NOMEM, data_off);
            bad = seg_dec_dict(vals, vals_len, n_vals, dense->addr, s->dict);
        } else {
            bad = -1;
        }
    } else {
        uint64_t *u = dense->u64;
        switch (enc) {
        case SEG_ENC_RAW:
            bad = seg_dec_raw(vals, vals_len, width, n_vals, u);
            break;
        case SEG_ENC_VARINT:
            bad = seg_dec_varint(vals, vals_len, n_vals, u);
            break;
        case SEG_ENC_DELTA:
            bad = seg_dec_delta(vals, vals_len, n_vals, u);
            break;
        case SEG_ENC_PLANES:
            bad = seg_dec_planes(vals, vals_len, width, n_vals, u);
            break;
        case SEG_ENC_DIFF_START:
            bad = col == FLOW_COL_time_end ? seg_dec_zigzag(vals, vals_len, n_vals, u) : -1;
            break;
        case SEG_ENC_DIFF_END:
            bad = col == FLOW_COL_time_start ? seg_dec_zigzag(vals, vals_len, n_vals, u) : -1;
            break;
        default:
            bad = -1;
            break;
        }
        /* Differences become values only once the other time is added; check them then.
         * RAW and PLANES values are made of `width` bytes: they fit. A value is too wide when
         * it has a bit above the column's, so one OR over all of them decides (and
         * vectorizes, where a test per value did not). */
        if (!bad && width < 8 && (enc == SEG_ENC_VARINT || enc == SEG_ENC_DELTA)) {
            uint64_t any = 0;
            for (uint32_t j = 0; j < n_vals; j++)
                any |= u[j];
            bad = any >> (8 * width) != 0;
        }
    }
    if (bad)
        return segr_fail(f, where, SEG_E_CORRUPT, data_off);
    out->enc = ch->enc;
    out->pres = pres;
    out->n_vals = n_vals;
    out->dense = dense;
    return 0;
}

/* The group's links, once per batch: each a distance back to an earlier row and a kind. */
static int segr_load_links(seg_batch_t *b, seg_where_t *where)
{
    segr_scratch_t *s = b->scratch;
    if (s->links_loaded)
        return 0;
    segr_chunk_t ch;
    uint64_t off = 0;
    if (!segr_find_chunk(b, SEG_COL_LINKS, &ch, &off))
        return segr_fail(b->file, where, SEG_E_CORRUPT, b->file->groups[b->group].off);
    uint32_t n = b->n_rows;
    if (ch.presence != SEG_PRES_ALL ||
        segr_grow((void **)&s->links, &s->links_cap, n, SEG_MAX_ROWS, sizeof *s->links) != 0)
        return segr_fail(b->file, where, ch.presence != SEG_PRES_ALL ? SEG_E_CORRUPT : SEG_E_NOMEM,
                         off);
    segr_unpacked_t u;
    int rc = segr_unpack(b, SEG_COL_LINKS, &ch, off, &s->dense[0], NULL, &u, where, NULL);
    if (rc < 0)
        return rc;
    if (ch.enc == SEG_ENC_LINKED || ch.enc == SEG_ENC_DIFF_START || ch.enc == SEG_ENC_DIFF_END)
        return segr_fail(b->file, where, SEG_E_CORRUPT, off);
    /* A link points back into this group: 1 <= distance <= row index. Branch-free, as about
     * half the rows of real traffic are linked, in no predictable pattern. */
    uint64_t bad = 0;
    uint32_t n_linked = 0;
    const uint64_t *v = u.dense->u64;
    for (uint32_t i = 0; i < n; i++) {
        bad |= (uint64_t)(v[i] != 0) & (uint64_t)((v[i] >> 1) - 1 >= (uint64_t)i);
        n_linked += v[i] != 0;
        s->links[i] = (uint32_t)v[i];
    }
    if (bad)
        return segr_fail(b->file, where, SEG_E_CORRUPT, off);
    s->n_linked = n_linked;
    s->roots_ready = 0;
    s->linked_loads = 0;
    s->links_loaded = 1;
    return 0;
}

/* The group's link chains followed once, when a second linked column is loaded or an address
 * pair (whose 32 bytes a row would otherwise carry along the chain): from then on every linked
 * column is a gather with no row depending on another, where resolving links column by column
 * chains each row to an earlier one through memory, column after column.
 *
 * With `code`, the same pass also gathers each row's dictionary code (seg_batch_codes): the
 * column's literal d0[place], or the mirror's map[d1[place]] when the chain reverses an odd
 * number of times. The gather hangs off the chain without lengthening it, where a second pass
 * over root[] cost as much as the chain itself. */
static inline int segr_roots_pass(seg_batch_t *b, seg_where_t *where, const uint64_t *d0,
                                  const uint64_t *d1, const uint32_t *map, uint32_t *code)
{
    segr_scratch_t *s = b->scratch;
    uint32_t n = b->n_rows;
    if (segr_grow((void **)&s->root, &s->root_cap, n, SEG_MAX_ROWS, sizeof *s->root) != 0)
        return segr_fail(b->file, where, SEG_E_NOMEM, b->file->groups[b->group].off);
    const uint32_t *links = s->links;
    uint32_t *root = s->root;
    /* Branch-free (masks, not ?:, which compilers turn into a branch that mispredicts on
     * about half the rows): linked and unlinked rows alternate unpredictably. */
    if (!code) {
        for (uint32_t i = 0, k = 0; i < n; i++) {
            uint32_t l = links[i], lm = -(uint32_t)(l != 0);
            uint32_t via = root[i - (l >> 1)] ^ ((l & 1) == SEG_LINK_REVERSE);
            root[i] = (via & lm) | (2 * k & ~lm);
            k += !l;
        }
    } else {
        for (uint32_t i = 0, k = 0; i < n; i++) {
            uint32_t l = links[i], lm = -(uint32_t)(l != 0);
            uint32_t via = root[i - (l >> 1)] ^ ((l & 1) == SEG_LINK_REVERSE);
            uint32_t r = (via & lm) | (2 * k & ~lm);
            root[i] = r;
            k += !l;
            /* both literals exist: every row has both columns, so each place has both */
            uint32_t c0 = (uint32_t)d0[r >> 1], c1 = map[d1[r >> 1]], om = -(r & 1);
            code[i] = (c1 & om) | (c0 & ~om);
        }
    }
    s->roots_ready = 1;
    return 0;
}

static int segr_load_roots(seg_batch_t *b, seg_where_t *where)
{
    return segr_roots_pass(b, where, NULL, NULL, NULL, NULL);
}

static int segr_col_buffers(seg_batch_t *b, int col, seg_where_t *where)
{
    segr_scratch_t *s = b->scratch;
    uint32_t n = b->n_rows;
    if (s->col_cap[col] >= n)
        return 0;
    if (n < SEG_MAX_ROWS)
        n = SEG_MAX_ROWS; /* segr_grow says why */
    /* Both arrays follow one capacity, so a failure leaves them consistent. One value more
     * than the rows: an 8-byte column is decoded in place, and decoders want one spare. */
    void *v = realloc(s->col[col], ((size_t)n + 1) * flow_cols[col].width);
    if (v)
        s->col[col] = v;
    uint8_t *pr = v ? realloc(s->pres[col], n) : NULL;
    if (!v || !pr)
        return segr_fail(b->file, where, SEG_E_NOMEM, b->file->groups[b->group].off);
    s->pres[col] = pr;
    s->col_cap[col] = n;
    return 0;
}

/* Reads the value at a row of a column's row array, and writes one. */
static inline uint64_t segr_get(const void *a, size_t width, uint32_t i)
{
    switch (width) {
    case 1:
        return ((const uint8_t *)a)[i];
    case 2:
        return ((const uint16_t *)a)[i];
    case 4:
        return ((const uint32_t *)a)[i];
    default:
        return ((const uint64_t *)a)[i];
    }
}

static inline void segr_set(void *a, size_t width, uint32_t i, uint64_t v)
{
    switch (width) {
    case 1:
        ((uint8_t *)a)[i] = (uint8_t)v;
        break;
    case 2:
        ((uint16_t *)a)[i] = (uint16_t)v;
        break;
    case 4:
        ((uint32_t *)a)[i] = (uint32_t)v;
        break;
    default:
        ((uint64_t *)a)[i] = v;
        break;
    }
}

/* Places an unpacked column's values in their rows (zero where absent): all rows, or, when
 * every row has the column, those of seg_batch_restrict straight to their restricted places
 * (the rows with presence are compacted by segr_mark_loaded). An address column decoded as
 * codes (dict) is looked up here, so unselected rows never become addresses. */
static void segr_scatter(seg_batch_t *b, int col, const segr_unpacked_t *u, const flow_addr_t *dict)
{
    segr_scratch_t *s = b->scratch;
    uint32_t n = b->n_rows;
    size_t width = flow_cols[col].width;
    const uint8_t *pres = u->pres;
    const uint32_t *sel = pres ? NULL : b->sel;
    const uint32_t n_sel = b->n_sel;
    if (width == 16 && dict) {
        flow_addr_t *out = s->col[col];
        const uint64_t *ix = u->dense->u64;
        if (sel)
            for (uint32_t q = 0; q < n_sel; q++)
                out[q] = dict[ix[sel[q]]];
        else if (!pres)
            for (uint32_t i = 0; i < n; i++)
                out[i] = dict[ix[i]];
        else
            for (uint32_t i = 0, j = 0; i < n; i++)
                out[i] = pres[i] ? dict[ix[j++]] : (flow_addr_t){{0}};
        return;
    }
    if (width == 16) {
        flow_addr_t *out = s->col[col];
        if (sel)
            for (uint32_t q = 0; q < n_sel; q++)
                out[q] = u->dense->addr[sel[q]];
        else if (!pres)
            memcpy(out, u->dense->addr, (size_t)n * 16);
        else
            for (uint32_t i = 0, j = 0; i < n; i++)
                out[i] = pres[i] ? u->dense->addr[j++] : (flow_addr_t){{0}};
        return;
    }
    const uint64_t *d = u->dense->u64;
    void *out = s->col[col];
#define SEGR_SCATTER(type)                                                                         \
    do {                                                                                           \
        type *o = out;                                                                             \
        if (sel) {                                                                                 \
            for (uint32_t q = 0; q < n_sel; q++)                                                   \
                o[q] = (type)d[sel[q]];                                                            \
        } else if (!pres) {                                                                        \
            for (uint32_t i = 0; i < n; i++)                                                       \
                o[i] = (type)d[i];                                                                 \
        } else {                                                                                   \
            /* branch-free: present and absent rows alternate unpredictably (an absent row     \
             * reads the spare value past the last, and masks it) */                            \
            for (uint32_t i = 0, j = 0; i < n; i++) {                                              \
                o[i] = (type)((type)d[j] & (type)(0 - (int)pres[i]));                              \
                j += pres[i];                                                                      \
            }                                                                                      \
        }                                                                                          \
    } while (0)
    switch (width) {
    case 1:
        SEGR_SCATTER(uint8_t);
        break;
    case 2:
        SEGR_SCATTER(uint16_t);
        break;
    case 4:
        SEGR_SCATTER(uint32_t);
        break;
    default:
        SEGR_SCATTER(uint64_t);
        break;
    }
#undef SEGR_SCATTER
}

/* Moves the values of rows sel[0 .. k) of a row array to its first k places, in order. In
 * place: sel ascends, so sel[q] >= q and no value is overwritten before it is moved. */
static void segr_compact(void *a, size_t width, const uint32_t *sel, uint32_t k)
{
#define SEGR_COMPACT(type)                                                                         \
    do {                                                                                           \
        type *v = a;                                                                               \
        for (uint32_t q = 0; q < k; q++)                                                           \
            v[q] = v[sel[q]];                                                                      \
    } while (0)
    switch (width) {
    case 1:
        SEGR_COMPACT(uint8_t);
        break;
    case 2:
        SEGR_COMPACT(uint16_t);
        break;
    case 4:
        SEGR_COMPACT(uint32_t);
        break;
    case 8:
        SEGR_COMPACT(uint64_t);
        break;
    default:
        SEGR_COMPACT(flow_addr_t);
        break;
    }
#undef SEGR_COMPACT
}

/* `placed`: the values and presence are already where seg_batch_restrict wants them; else a
 * restricted batch's row arrays are compacted here. */
static void segr_mark_loaded(seg_batch_t *b, int col, const uint8_t *pres, int placed)
{
    segr_scratch_t *s = b->scratch;
    if (b->sel && !placed) {
        segr_compact(s->col[col], flow_cols[col].width, b->sel, b->n_sel);
        if (pres)
            segr_compact(s->pres[col], 1, b->sel, b->n_sel);
    }
    b->vals[col] = s->col[col];
    b->present[col] = pres ? s->pres[col] : NULL; /* pres is s->pres[col] or NULL: all rows */
    b->loaded |= (uint64_t)1 << col;
}

/* A column no row of the group has: zero values, every row absent. Every such column of the
 * batch points at one zeroed area (values and presence alike), so a group that lacks a dozen
 * columns costs no memset of each. */
static int segr_load_absent(seg_batch_t *b, int col, seg_where_t *where)
{
    segr_scratch_t *s = b->scratch;
    size_t need = (size_t)b->n_rows * sizeof(flow_addr_t);
    if (s->zeros_cap < need) {
        free(s->zeros);
        s->zeros_cap = 0;
        if (need < SEG_MAX_ROWS * sizeof(flow_addr_t))
            need = SEG_MAX_ROWS * sizeof(flow_addr_t); /* segr_grow says why */
        if (!(s->zeros = calloc(need, 1)))
            return segr_fail(b->file, where, SEG_E_NOMEM, b->file->groups[b->group].off);
        s->zeros_cap = need;
    }
    b->vals[col] = s->zeros;
    b->present[col] = s->zeros;
    b->loaded |= (uint64_t)1 << col;
    return 0;
}

/* A column and its mirror together (or a column that mirrors itself), when either is LINKED:
 * a linked row takes its value from the row it links to, from the mirror column when the
 * link is a reverse one. Rows are resolved in order, so the row a link names is final. */
static int segr_load_linked(seg_batch_t *b, int a, int m, seg_where_t *where)
{
    segr_scratch_t *s = b->scratch;
    const seg_file_t *f = b->file;
    int cols[2] = {a, m}, nc = a == m ? 1 : 2;
    segr_unpacked_t u[2];
    int rc = segr_load_links(b, where);
    for (int k = 0; k < nc && rc == 0; k++) {
        segr_chunk_t ch;
        uint64_t off = 0;
        rc = segr_col_buffers(b, cols[k], where);
        if (rc < 0)
            break;
        if (!segr_find_chunk(b, (unsigned)cols[k], &ch, &off)) {
            /* No values at all: a LINKED mirror would need some. */
            u[k] = (segr_unpacked_t){SEG_ENC_RAW, s->pres[cols[k]], 0, &s->dense[k], 0};
            memset(s->pres[cols[k]], 0, b->n_rows);
            continue;
        }
        rc = segr_unpack(b, (unsigned)cols[k], &ch, off, &s->dense[k], s->pres[cols[k]], &u[k],
                         where, NULL);
        if (rc == 0 && ch.enc == SEG_ENC_DIFF_START)
            rc = segr_fail(f, where, SEG_E_CORRUPT, off);
    }
    if (rc < 0)
        return rc;
    size_t width = flow_cols[a].width;
    int all_linked = !u[0].pres && u[0].enc == SEG_ENC_LINKED &&
                     (nc == 1 || (!u[1].pres && u[1].enc == SEG_ENC_LINKED));
    if (all_linked && !s->roots_ready && (++s->linked_loads >= 2 || width == 16 || b->sel) &&
        (rc = segr_load_roots(b, where)) != 0)
        return rc;
    if (nc == 2 && all_linked && s->roots_ready) {
        /* The usual case: a pair every row has, both LINKED. A row's values are the literals
         * of its chain's root, swapped when the chain reverses an odd number of times. */
        const uint32_t *root = s->root, *sel = b->sel;
        uint32_t n = sel ? b->n_sel : b->n_rows;
        if (width == 16) {
            const uint8_t *a0 = u[0].dense->addr[0].b, *a1 = u[1].dense->addr[0].b;
            uint8_t *o0 = s->col[cols[0]], *o1 = s->col[cols[1]];
            for (uint32_t q = 0; q < n; q++) {
                uint32_t i = sel ? sel[q] : q;
                uint64_t sw = -(uint64_t)(root[i] & 1), x[2], y[2], w0[2], w1[2];
                memcpy(x, a0 + (size_t)(root[i] >> 1) * 16, 16);
                memcpy(y, a1 + (size_t)(root[i] >> 1) * 16, 16);
                for (int h = 0; h < 2; h++) {
                    w0[h] = (y[h] & sw) | (x[h] & ~sw);
                    w1[h] = (x[h] & sw) | (y[h] & ~sw);
                }
                memcpy(o0 + (size_t)q * 16, w0, 16);
                memcpy(o1 + (size_t)q * 16, w1, 16);
            }
        } else {
#define SEGR_GATHER2(type)                                                                         \
    do {                                                                                           \
        type *o0 = s->col[cols[0]], *o1 = s->col[cols[1]];                                         \
        for (uint32_t q = 0; q < n; q++) {                                                         \
            uint32_t i = sel ? sel[q] : q;                                                         \
            type x = (type)d0[root[i] >> 1], y = (type)d1[root[i] >> 1];                           \
            o0[q] = root[i] & 1 ? y : x;                                                           \
            o1[q] = root[i] & 1 ? x : y;                                                           \
        }                                                                                          \
    } while (0)
            const uint64_t *d0 = u[0].dense->u64, *d1 = u[1].dense->u64;
            switch (width) {
            case 1:
                SEGR_GATHER2(uint8_t);
                break;
            case 2:
                SEGR_GATHER2(uint16_t);
                break;
            case 4:
                SEGR_GATHER2(uint32_t);
                break;
            default:
                SEGR_GATHER2(uint64_t);
                break;
            }
#undef SEGR_GATHER2
        }
        segr_mark_loaded(b, cols[0], NULL, 1);
        segr_mark_loaded(b, cols[1], NULL, 1);
        return 0;
    }
    if (nc == 1 && all_linked) {
        /* A column that is its own mirror (proto, ...), every row has it: a linked row repeats
         * the value of the row it links to, either kind: its chain root's literal (the chain
         * followed here when the roots are not known). Branch-free, as below. */
        const uint32_t *links = s->links, *root = s->roots_ready ? s->root : NULL, *sel = b->sel;
        uint32_t n = b->n_rows, n0 = 0;
#define SEGR_SELF(type, d, CONV)                                                                   \
    do {                                                                                           \
        type *o = s->col[a];                                                                       \
        if (root) {                                                                                \
            for (uint32_t q = 0; q < (sel ? b->n_sel : n); q++) {                                  \
                uint32_t i = sel ? sel[q] : q;                                                     \
                o[q] = CONV(d[root[i] >> 1]);                                                      \
            }                                                                                      \
            break;                                                                                 \
        }                                                                                          \
        for (uint32_t i = 0; i < n; i++) {                                                         \
            uint32_t l = links[i];                                                                 \
            type lit = CONV(d[n0]), r = o[i - (l >> 1)];                                           \
            o[i] = l ? r : lit;                                                                    \
            n0 += !l;                                                                              \
        }                                                                                          \
    } while (0)
#define SEGR_ID(v) (v)
        const uint64_t *d = u[0].dense->u64;
        switch (width) {
        case 1:
            SEGR_SELF(uint8_t, d, (uint8_t));
            break;
        case 2:
            SEGR_SELF(uint16_t, d, (uint16_t));
            break;
        case 4:
            SEGR_SELF(uint32_t, d, (uint32_t));
            break;
        case 8:
            SEGR_SELF(uint64_t, d, SEGR_ID);
            break;
        default: {
            const flow_addr_t *ad = u[0].dense->addr;
            SEGR_SELF(flow_addr_t, ad, SEGR_ID);
            break;
        }
        }
#undef SEGR_SELF
#undef SEGR_ID
        segr_mark_loaded(b, a, NULL, root != NULL);
        return 0;
    }
    if (nc == 2 && !u[0].pres && !u[1].pres) {
        /* The usual case, a pair every row has: one typed loop, no presence to consult. */
        int lk0 = u[0].enc == SEG_ENC_LINKED, lk1 = u[1].enc == SEG_ENC_LINKED;
        const uint32_t *links = s->links;
        uint32_t n = b->n_rows, n0 = 0, n1 = 0;
    /* Branch-free: linked and unlinked rows alternate unpredictably. For an unlinked row j is
     * i itself and the linked candidates are garbage that is not selected; the literals are
     * read one ahead of use, which the dense arrays have room for. */
#define SEGR_PAIR(type, d0, d1, CONV)                                                              \
    do {                                                                                           \
        type *o0 = s->col[cols[0]], *o1 = s->col[cols[1]];                                         \
        for (uint32_t i = 0; i < n; i++) {                                                         \
            uint32_t l = links[i];                                                                 \
            uint32_t j = i - (l >> 1);                                                             \
            int rev = (l & 1) == SEG_LINK_REVERSE;                                                 \
            int t0 = lk0 && l, t1 = lk1 && l;                                                      \
            type lit0 = CONV(d0[n0]), lit1 = CONV(d1[n1]);                                         \
            type r0 = rev ? o1[j] : o0[j], r1 = rev ? o0[j] : o1[j];                               \
            o0[i] = t0 ? r0 : lit0;                                                                \
            o1[i] = t1 ? r1 : lit1;                                                                \
            n0 += !t0;                                                                             \
            n1 += !t1;                                                                             \
        }                                                                                          \
    } while (0)
#define SEGR_ID(v) (v)
        const uint64_t *d0 = u[0].dense->u64, *d1 = u[1].dense->u64;
        switch (width) {
        case 1:
            SEGR_PAIR(uint8_t, d0, d1, (uint8_t));
            break;
        case 2:
            SEGR_PAIR(uint16_t, d0, d1, (uint16_t));
            break;
        case 4:
            SEGR_PAIR(uint32_t, d0, d1, (uint32_t));
            break;
        case 8:
            SEGR_PAIR(uint64_t, d0, d1, SEGR_ID);
            break;
        default: {
            /* addresses as two words each, selected with masks: a 16-byte struct under ?:
             * compiles to branches, which mispredict here half the time */
            const uint8_t *a0 = u[0].dense->addr[0].b, *a1 = u[1].dense->addr[0].b;
            uint8_t *o0 = s->col[cols[0]], *o1 = s->col[cols[1]];
            for (uint32_t i = 0; i < n; i++) {
                uint32_t l = links[i];
                uint32_t j = i - (l >> 1);
                uint64_t rev = -(uint64_t)((l & 1) == SEG_LINK_REVERSE);
                uint64_t t0 = -(uint64_t)(lk0 && l), t1 = -(uint64_t)(lk1 && l);
                uint64_t lit0[2], lit1[2], p0[2], p1[2], w0[2], w1[2];
                memcpy(lit0, a0 + (size_t)n0 * 16, 16);
                memcpy(lit1, a1 + (size_t)n1 * 16, 16);
                memcpy(p0, o0 + (size_t)j * 16, 16);
                memcpy(p1, o1 + (size_t)j * 16, 16);
                for (int h = 0; h < 2; h++) {
                    uint64_t r0 = (p1[h] & rev) | (p0[h] & ~rev);
                    uint64_t r1 = (p0[h] & rev) | (p1[h] & ~rev);
                    w0[h] = (r0 & t0) | (lit0[h] & ~t0);
                    w1[h] = (r1 & t1) | (lit1[h] & ~t1);
                }
                memcpy(o0 + (size_t)i * 16, w0, 16);
                memcpy(o1 + (size_t)i * 16, w1, 16);
                n0 += !t0;
                n1 += !t1;
            }
            break;
        }
        }
#undef SEGR_PAIR
#undef SEGR_ID
        segr_mark_loaded(b, cols[0], NULL, 0);
        segr_mark_loaded(b, cols[1], NULL, 0);
        return 0;
    }
    uint32_t next[2] = {0, 0};
    for (uint32_t i = 0; i < b->n_rows; i++) {
        uint32_t l = s->links[i];
        for (int k = 0; k < nc; k++) {
            const segr_unpacked_t *uk = &u[k];
            void *out = s->col[cols[k]];
            if (uk->pres && !uk->pres[i]) {
                if (width == 16)
                    memset((flow_addr_t *)out + i, 0, 16);
                else
                    segr_set(out, width, i, 0);
                continue;
            }
            if (uk->enc == SEG_ENC_LINKED && l) {
                uint32_t j = i - (l >> 1);
                int from = (l & 1) == SEG_LINK_REVERSE ? nc - 1 - k : k;
                const segr_unpacked_t *uf = &u[from];
                if (uf->pres && !uf->pres[j])
                    return segr_fail(f, where, SEG_E_CORRUPT, f->groups[b->group].off);
                const void *src = s->col[cols[from]];
                if (width == 16)
                    ((flow_addr_t *)out)[i] = ((const flow_addr_t *)src)[j];
                else
                    segr_set(out, width, i, segr_get(src, width, j));
                continue;
            }
            if (width == 16)
                ((flow_addr_t *)out)[i] = uk->dense->addr[next[k]++];
            else
                segr_set(out, width, i, uk->dense->u64[next[k]++]);
        }
    }
    for (int k = 0; k < nc; k++)
        segr_mark_loaded(b, cols[k], u[k].pres, 0);
    return 0;
}

/* An address column whose codes seg_batch_codes made for the open group: each row's address
 * from its entry, absent rows zero, for the selected rows only when restricted (place q from
 * row sel[q] >= q, so the presence moves in place). The chunk was checked and decoded then. */
static int segr_load_from_codes(seg_batch_t *b, int col)
{
    segr_scratch_t *s = b->scratch;
    const uint32_t *code = s->codes;
    const flow_addr_t *dict = s->cdict;
    const uint8_t *pres = s->codes_pres;
    flow_addr_t *o = s->col[col];
    uint8_t *po = s->pres[col];
    static const flow_addr_t zero;
    const uint32_t k = b->sel ? b->n_sel : b->n_rows;
    for (uint32_t q = 0; q < k; q++) {
        uint32_t i = b->sel ? b->sel[q] : q;
        int has = !pres || pres[i];
        o[q] = has ? dict[code[i]] : zero;
        if (pres)
            po[q] = (uint8_t)has;
    }
    segr_mark_loaded(b, col, pres, 1);
    return 0;
}

static int segr_batch_load(seg_batch_t *b, int col, seg_where_t *where);

int seg_batch_load(seg_batch_t *b, int col, seg_where_t *where)
{
    return segr_batch_failed(b, segr_batch_load(b, col, where), where);
}

static int segr_batch_load(seg_batch_t *b, int col, seg_where_t *where)
{
    const seg_file_t *f = b->file;
    if (!f || col < 0 || col >= FLOW_N_COLS)
        return seg_where_set(where, f ? f->path : NULL, SEG_E_USAGE, 0, 0);
    if ((b->loaded >> col) & 1)
        return 0;
    segr_scratch_t *s = b->scratch;
    int rc = segr_col_buffers(b, col, where);
    if (rc < 0)
        return rc;
    if (s->codes_for == col + 1)
        return segr_load_from_codes(b, col);
    segr_chunk_t ch, mch;
    uint64_t off = 0, moff = 0;
    if (!segr_find_chunk(b, (unsigned)col, &ch, &off))
        return segr_load_absent(b, col, where);
    int m = flow_col_mirror(col);
    if (ch.enc == SEG_ENC_LINKED ||
        (m != col && segr_find_chunk(b, (unsigned)m, &mch, &moff) && mch.enc == SEG_ENC_LINKED))
        return segr_load_linked(b, col, m, where);

    /* A time stored as a difference from the other time needs that one first; the other may
     * not in turn depend on this one. */
    int other = -1;
    if (ch.enc == SEG_ENC_DIFF_START && col == FLOW_COL_time_end)
        other = FLOW_COL_time_start;
    else if (ch.enc == SEG_ENC_DIFF_END && col == FLOW_COL_time_start)
        other = FLOW_COL_time_end;
    if (other >= 0) {
        if (segr_find_chunk(b, (unsigned)other, &mch, &moff) &&
            (mch.enc == SEG_ENC_DIFF_START || mch.enc == SEG_ENC_DIFF_END))
            return segr_fail(f, where, SEG_E_CORRUPT, off);
        rc = seg_batch_load(b, other, where);
        if (rc < 0)
            return rc;
    }
    /* An 8-byte column every row has decodes straight into its row array (which has the
     * spare value segr_unpack wants): no copy from the dense values into rows. */
    segr_dense_t direct = {s->col[col], NULL, s->col_cap[col] + 1};
    int in_place = flow_cols[col].width == 8 && ch.presence == SEG_PRES_ALL;
    /* Restricted to a few rows, a dictionary's addresses are looked up for those rows only. */
    flow_addr_t *dict = NULL;
    if (b->sel && ch.enc == SEG_ENC_DICT_ADDR) {
        s->codes_for = 0; /* cdict[] is this load's now */
        if (segr_grow((void **)&s->cdict, &s->cdict_cap, 2 * (size_t)b->n_rows,
                      2 * (size_t)SEG_MAX_ROWS, sizeof *s->cdict))
            return segr_fail(f, where, SEG_E_NOMEM, off);
        dict = s->cdict;
    }
    segr_unpacked_t u;
    rc = segr_unpack(b, (unsigned)col, &ch, off, in_place ? &direct : &s->dense[0], s->pres[col],
                     &u, where, dict);
    if (rc < 0)
        return rc;
    if (other >= 0 && b->sel) {
        /* Restricted: the other time is in place already (ot[q] is row sel[q]'s), this one's
         * differences are still one per row that has it (d[j]), so both go to the selected
         * rows' places here, presence too. In place (d may be the row array, the presence
         * is): a step reads at or past its row sel[q] >= q, and writes place q. */
        const uint64_t *ot = b->vals[other], *d = u.dense->u64;
        const uint8_t *pres = u.pres;
        const uint32_t *sel = b->sel;
        uint64_t *o = s->col[col];
        uint8_t *po = s->pres[col];
        for (uint32_t q = 0, i = 0, j = 0; q < b->n_sel; q++) {
            if (pres)
                for (; i < sel[q]; i++)
                    j += pres[i];
            else
                j = sel[q];
            int has = !pres || pres[sel[q]];
            o[q] = !has ? 0 : col == FLOW_COL_time_end ? ot[q] + d[j] : ot[q] - d[j];
            if (pres)
                po[q] = (uint8_t)has;
        }
        segr_mark_loaded(b, col, pres, 1);
        return 0;
    }
    if (other >= 0) {
        /* time_end = time_start + d (DIFF_START); time_start = time_end - d (DIFF_END); the
         * other time counts as 0 in a row that lacks it. */
        const uint64_t *ot = b->vals[other];
        uint64_t *d = u.dense->u64;
        for (uint32_t i = 0, j = 0; i < b->n_rows; i++)
            if (!u.pres || u.pres[i]) {
                d[j] = col == FLOW_COL_time_end ? ot[i] + d[j] : ot[i] - d[j];
                j++;
            }
    }
    if (!in_place)
        segr_scatter(b, col, &u, dict);
    segr_mark_loaded(b, col, u.pres, !in_place && !u.pres);
    return 0;
}

/* An address as the key of canonical dictionary order (FORMAT.md: IPv4 before IPv6, each
 * ascending bytewise): a flag word, then the bytes as two big-endian words. */
static inline void segr_dict_key(const flow_addr_t *a, uint64_t k[3])
{
    uint64_t w[2];
    memcpy(w, a->b, 16);
    k[1] = __builtin_bswap64(w[0]);
    k[2] = __builtin_bswap64(w[1]);
    k[0] = !(k[1] == 0 && k[2] >> 32 == 0xffff); /* 0 for ::ffff:a.b.c.d */
}

/* <0, 0, >0 as entry x sorts before, with or after y in canonical order. */
static inline int segr_dict_cmp(const flow_addr_t *x, const flow_addr_t *y)
{
    uint64_t a[3], b[3];
    segr_dict_key(x, a);
    segr_dict_key(y, b);
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

/* A column's dictionary dict[0 .. n0) and its mirror's dict[n0 .. n0 + n1), both canonical
 * (so sorted): map[j] is the code in the whole of the mirror's entry j, that of the same
 * address in the column's dictionary when it has it, so that every address has one code (a
 * host is often both source and destination). One merge pass, no hashing; map[] has room for
 * n1. */
static void segr_codes_join(const flow_addr_t *dict, uint32_t n0, uint32_t n1, uint32_t *map)
{
    for (uint32_t a = 0, j = 0; j < n1; j++) {
        const flow_addr_t *e = &dict[n0 + j];
        int c = 1;
        while (a < n0 && (c = segr_dict_cmp(&dict[a], e)) < 0)
            a++;
        map[j] = a < n0 && c == 0 ? a : n0 + j;
    }
}

int seg_batch_codes(seg_batch_t *b, int col, seg_codes_t *out, seg_where_t *where)
{
    return seg_batch_codes_of(b, col, NULL, 0, out, where);
}

static int segr_batch_codes_of(seg_batch_t *b, int col, const uint32_t *rows, uint32_t n_rows,
                               seg_codes_t *out, seg_where_t *where);

int seg_batch_codes_of(seg_batch_t *b, int col, const uint32_t *rows, uint32_t n_rows,
                       seg_codes_t *out, seg_where_t *where)
{
    return segr_batch_failed(b, segr_batch_codes_of(b, col, rows, n_rows, out, where), where);
}

static int segr_batch_codes_of(seg_batch_t *b, int col, const uint32_t *rows, uint32_t n_rows,
                               seg_codes_t *out, seg_where_t *where)
{
    const seg_file_t *f = b->file;
    if (!f || col < 0 || col >= FLOW_N_COLS || flow_cols[col].type != FLOW_T_ADDR)
        return seg_where_set(where, f ? f->path : NULL, SEG_E_USAGE, 0, 0);
    segr_scratch_t *s = b->scratch;
    if (s->codes_for == col + 1) {
        /* made already (a filter's address term, then the same column as top's key) */
        out->code = s->codes;
        out->present = s->codes_pres;
        out->dict = s->cdict;
        out->n_dict = s->codes_n_dict;
        return 1;
    }
    uint32_t n = b->n_rows;
    segr_chunk_t ch[2];
    uint64_t off[2] = {0, 0};
    int m = flow_col_mirror(col), cols[2] = {col, m};
    if (!segr_find_chunk(b, (unsigned)col, &ch[0], &off[0]))
        return 0;
    int has_m = m != col && segr_find_chunk(b, (unsigned)m, &ch[1], &off[1]);
    int linked = ch[0].enc == SEG_ENC_LINKED || (has_m && ch[1].enc == SEG_ENC_LINKED);
    /* Linked: only the usual shape, a pair every row has, both LINKED (as in
     * segr_load_linked's first case); the rest is rare enough for seg_batch_load. */
    if (linked && (!has_m || ch[0].enc != SEG_ENC_LINKED || ch[1].enc != SEG_ENC_LINKED ||
                   ch[0].presence != SEG_PRES_ALL || ch[1].presence != SEG_PRES_ALL))
        return 0;
    int rc = segr_col_buffers(b, col, where);
    if (rc == 0 && linked)
        rc = segr_col_buffers(b, m, where);
    if (rc < 0)
        return rc;
    s->codes_for = 0; /* codes[] and cdict[] are rewritten from here on */
    /* A dictionary has at most as many entries as values: 2n covers a column and its mirror. */
    if (segr_grow((void **)&s->codes, &s->codes_cap, n, SEG_MAX_ROWS, sizeof *s->codes) != 0 ||
        segr_grow((void **)&s->cdict, &s->cdict_cap, 2 * (size_t)n, 2 * (size_t)SEG_MAX_ROWS,
                  sizeof *s->cdict) != 0 ||
        segr_grow((void **)&s->cmap, &s->cmap_cap, n, SEG_MAX_ROWS, sizeof *s->cmap) != 0)
        return segr_fail(f, where, SEG_E_NOMEM, f->groups[b->group].off);
    if (linked && (rc = segr_load_links(b, where)) != 0)
        return rc;
    segr_unpacked_t u[2];
    uint32_t n_dict = 0;
    for (int k = 0; k < 1 + linked; k++) {
        rc = segr_unpack(b, (unsigned)cols[k], &ch[k], off[k], &s->dense[k], s->pres[cols[k]],
                         &u[k], where, s->cdict + n_dict);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        n_dict += u[k].n_dict;
    }
    uint32_t *code = s->codes;
    const uint64_t *d0 = u[0].dense->u64;
    int partial = 0; /* codes at the rows asked for only: not kept for seg_batch_load */
    out->present = NULL;
    if (linked) {
        /* A row's value is its chain root's literal, the mirror's when the chain reverses an
         * odd number of times (segr_load_linked); the mirror's codes follow the column's. */
        const uint64_t *d1 = u[1].dense->u64;
        const uint32_t *map = s->cmap;
        segr_codes_join(s->cdict, u[0].n_dict, u[1].n_dict, s->cmap);
        if (!s->roots_ready && !rows) {
            if ((rc = segr_roots_pass(b, where, d0, d1, map, code)) != 0)
                return rc;
        } else {
            if (!s->roots_ready && (rc = segr_load_roots(b, where)) != 0)
                return rc;
            /* each row's code from its root's literal: a lookup of two tables a row, which a
             * caller that wants a few rows (top after a filter) has only for those */
            const uint32_t *root = s->root;
            for (uint32_t j = 0, e = rows ? n_rows : n; j < e; j++) {
                uint32_t i = rows ? rows[j] : j;
                uint32_t c0 = (uint32_t)d0[root[i] >> 1], c1 = map[d1[root[i] >> 1]];
                code[i] = root[i] & 1 ? c1 : c0;
            }
            partial = rows != NULL;
        }
    } else if (!u[0].pres) {
        for (uint32_t i = 0; i < n; i++)
            code[i] = (uint32_t)d0[i];
    } else {
        const uint8_t *pres = u[0].pres;
        for (uint32_t i = 0, j = 0; i < n; i++) {
            code[i] = pres[i] ? (uint32_t)d0[j] : 0;
            j += pres[i];
        }
        out->present = pres;
    }
    out->code = code;
    out->dict = s->cdict;
    out->n_dict = n_dict;
    s->codes_for = partial ? 0 : col + 1;
    s->codes_pres = out->present;
    s->codes_n_dict = n_dict;
    return 1;
}

void seg_batch_restrict(seg_batch_t *b, const uint32_t *rows, uint32_t k)
{
    segr_scratch_t *s = b->scratch;
    /* Every row (rows ascend strictly): the places are the rows, and a restricted load
     * would only copy each value onto itself (cat with no filter: 1.7% more CPU). */
    if (k == b->n_rows)
        return;
    b->sel = rows;
    b->n_sel = k;
    /* the columns loaded so far (a filter's) move to the same places as those loaded next;
     * a column the group lacks is zeros either way */
    for (int c = 0; c < FLOW_N_COLS && s; c++) {
        if (!((b->loaded >> c) & 1) || b->vals[c] != s->col[c])
            continue;
        segr_compact(s->col[c], flow_cols[c].width, rows, k);
        if (b->present[c])
            segr_compact(s->pres[c], 1, rows, k);
    }
}

void seg_batch_row(const seg_batch_t *b, uint32_t i, flow_rec_t *out)
{
    flow_rec_clear(out);
    if (i >= (b->sel ? b->n_sel : b->n_rows))
        return;
    for (int c = 0; c < FLOW_N_COLS; c++) {
        if (!((b->loaded >> c) & 1))
            continue;
        if (b->present[c] && !b->present[c][i])
            continue;
        size_t w = flow_cols[c].width;
        memcpy((char *)out + flow_cols[c].offset, (const char *)b->vals[c] + (size_t)i * w, w);
        out->present |= (uint64_t)1 << c;
    }
}

/* ---- verification ------------------------------------------------------------------------ */

/* The zone map of a loaded column must be exactly the min and max of its present values. */
static int segr_check_zone(const seg_batch_t *b, int col, seg_where_t *where)
{
    const seg_file_t *f = b->file;
    const segr_block_t *blk = &f->groups[b->group];
    if (blk->zone_off[col] < 0)
        return 0;
    size_t w = flow_cols[col].width;
    const uint8_t *z = f->base + blk->zone_off[col];
    const uint8_t *pres = b->present[col];
    int any = 0;
    if (w == 16) {
        const flow_addr_t *v = b->vals[col];
        flow_addr_t mn = {{0}}, mx = {{0}};
        for (uint32_t i = 0; i < b->n_rows; i++) {
            if (pres && !pres[i])
                continue;
            if (!any || memcmp(&v[i], &mn, 16) < 0)
                mn = v[i];
            if (!any || memcmp(&v[i], &mx, 16) > 0)
                mx = v[i];
            any = 1;
        }
        if (!any || memcmp(z, &mn, 16) != 0 || memcmp(z + 16, &mx, 16) != 0)
            return segr_fail(f, where, SEG_E_CORRUPT, (uint64_t)blk->zone_off[col]);
        return 0;
    }
    uint64_t mn = 0, mx = 0;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        if (pres && !pres[i])
            continue;
        uint64_t v;
        switch (w) {
        case 1:
            v = ((const uint8_t *)b->vals[col])[i];
            break;
        case 2:
            v = ((const uint16_t *)b->vals[col])[i];
            break;
        case 4:
            v = ((const uint32_t *)b->vals[col])[i];
            break;
        default:
            v = ((const uint64_t *)b->vals[col])[i];
            break;
        }
        if (!any || v < mn)
            mn = v;
        if (!any || v > mx)
            mx = v;
        any = 1;
    }
    if (!any || seg_get_uw(z, w) != mn || seg_get_uw(z + w, w) != mx)
        return segr_fail(f, where, SEG_E_CORRUPT, (uint64_t)blk->zone_off[col]);
    return 0;
}

/* A port column's buckets must be exactly those of its present values. */
static int segr_check_ports(const seg_batch_t *b, int col, seg_where_t *where)
{
    const seg_file_t *f = b->file;
    const segr_block_t *blk = &f->groups[b->group];
    int k = seg_ports_zone(col);
    uint8_t want[SEG_PORT_BUCKET_BYTES] = {0};
    const uint16_t *v = b->vals[col];
    const uint8_t *pres = b->present[col];
    for (uint32_t i = 0; i < b->n_rows; i++)
        if (!pres || pres[i])
            seg_port_bucket_set(want, v[i]);
    for (int half = 0; half < 2; half++) {
        int64_t at = blk->ports_off[k + half];
        if (at >= 0 && memcmp(f->base + at, want + half * 32, 32) != 0)
            return segr_fail(f, where, SEG_E_CORRUPT, (uint64_t)at);
    }
    return 0;
}

int seg_verify_file(const seg_file_t *f, seg_where_t *where)
{
    seg_batch_t b;
    seg_batch_init(&b);
    int rc = 0;
    for (uint32_t g = 0; g < f->n_groups && rc == 0; g++) {
        const segr_block_t *blk = &f->groups[g];
        uint64_t bad = 0;
        rc = segr_block_check_chunks(f->base, blk, &bad);
        if (rc < 0) {
            rc = segr_fail(f, where, -rc, bad);
            break;
        }
        rc = seg_batch_open(&b, f, g, where);
        for (int c = 0; c < FLOW_N_COLS && rc == 0; c++)
            rc = seg_batch_load(&b, c, where);
        for (int c = 0; c < FLOW_N_COLS && rc == 0; c++)
            rc = segr_check_zone(&b, c, where);
        if (rc == 0)
            rc = segr_check_ports(&b, FLOW_COL_src_port, where);
        if (rc == 0)
            rc = segr_check_ports(&b, FLOW_COL_dst_port, where);
        if (rc < 0)
            break;
        /* The group's time range: earliest and latest time of its rows (FORMAT.md). */
        const uint64_t *ts = b.vals[FLOW_COL_time_start], *te = b.vals[FLOW_COL_time_end];
        const uint8_t *ps = b.present[FLOW_COL_time_start], *pe = b.present[FLOW_COL_time_end];
        uint64_t tmin = UINT64_MAX, tmax = 0;
        for (uint32_t i = 0; i < b.n_rows; i++) {
            int hs = !ps || ps[i], he = !pe || pe[i];
            uint64_t lo = hs ? ts[i] : he ? te[i] : 0;
            uint64_t hi = he ? te[i] : lo;
            if (hs && he && ts[i] > te[i]) { /* an exporter's clock ran backwards */
                lo = te[i];
                hi = ts[i];
            }
            if (lo < tmin)
                tmin = lo;
            if (hi > tmax)
                tmax = hi;
        }
        if (tmin != blk->time_min || tmax != blk->time_max)
            rc = segr_fail(f, where, SEG_E_CORRUPT, blk->off + 16);
    }
    seg_batch_free(&b);
    return rc;
}

int seg_open_gone(int rc, const seg_where_t *where)
{
    return rc == -SEG_E_IO && where && where->offset == 0 && where->sys_errno == ENOENT;
}

int seg_path_dangling(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

int seg_verify(const char *path, seg_where_t *where)
{
    seg_file_t *f;
    int rc = seg_open(path, &f, where);
    if (rc < 0)
        return rc;
    rc = seg_verify_file(f, where);
    seg_close(f);
    return rc;
}
