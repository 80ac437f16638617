/* seg_write.c: the segment writer, the only way flows reach disk (storage/FORMAT.md).
 *
 * Flows are scattered by column into fixed buffers of one row group (generated from the
 * FLOW_COLUMNS list, so adding a column adds its line here too). When the group fills, or when
 * its oldest row has waited flush_ms of real time, the group is encoded, each column chunk
 * compressed with zstd, and the block appended to the segment's temporary file
 * (`.<name>.tmp`, which readers never list) and fdatasync'ed: from then on its flows are
 * durable and counted in flows_written. Memory is one group's worth whatever the interval.
 *
 * A segment is completed when its interval ends or it passes rotate_bytes: the footer and
 * tail are appended, the file synced and renamed into place (never over an existing name), and
 * the folder synced. Because every block is complete and checksummed on its own, a crash at
 * any moment leaves a temporary file whose whole blocks are all the flushed flows; the next
 * seg_writer_open() of the same instance walks them, writes the footer they imply and renames
 * the file into place (segw_recover). A lock file keeps two writers of one instance apart, so
 * recovery never touches a live writer's file.
 *
 * A failed write (a full disk) drops that block's flows, counts them, truncates the file back
 * to its last good block and reports -SEG_E_NOSPACE; the next flush tries again, so writing
 * resumes by itself when space returns. A segment that cannot be completed stays a temporary
 * file and is retried on every tick, and by the next writer to open the instance.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* for ZSTD_c_literalCompressionMode (segw_zstd_accel); checked at run time, see there */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "crc32c.h"
#include "seg_int.h"
#include "version.h"

#define SEGW_DEFAULT_ROTATE_S 60
#define SEGW_DEFAULT_ROTATE_BYTES (256ull << 20)
#define SEGW_DEFAULT_FLUSH_MS 2000
#define SEGW_MAX_UNFINISHED 64
#define SEGW_LINK_SLOTS 16384u /* 128 KiB: stays in the L2 cache */
#define SEGW_LINK_AHEAD 8u     /* rows whose slots are prefetched ahead of their lookup */
#define SEGW_ZSTD_ACCEL 65536u /* zstd's acceleration (segw_zstd_accel) */
#define SEGW_ZSTD_SLACK 32u    /* accelerated frames may be 1/SLACK larger than plain ones */
#define SEGW_ZSTD_GAP0 16u     /* chunks of a kind between its first two trials of both */
#define SEGW_ZSTD_GAP_MAX 256u /* ... and at most between two that agree */
#define SEGW_ZSTD_KINDS (FLOW_N_COLS + 1) /* a column's chunks, or the links chunk */
#define SEGW_PORTS_ZONE_LEN (SEG_ZONE_HDR_LEN + 32)

/* Columns that get a zone map (min/max) in every group: those hunts and filters select on,
 * and the sampling interval, whose maximum tells a reader that corrects counters that no row
 * of the group needs it (top skips decoding the column). */
static const int segw_zone_cols[] = {
    FLOW_COL_time_start, FLOW_COL_time_end, FLOW_COL_src_addr, FLOW_COL_dst_addr,
    FLOW_COL_src_port,   FLOW_COL_dst_port, FLOW_COL_proto,    FLOW_COL_packets,
    FLOW_COL_bytes,      FLOW_COL_exporter, FLOW_COL_src_as,   FLOW_COL_dst_as,
    FLOW_COL_sampling,
};

typedef struct segw_col {
    /* As the column's C type: while the group fills, one value per row (whatever an absent
     * field holds); from segw_compact on, the present values densely. */
    void *vals;
    uint32_t n; /* present values, once compacted */
} segw_col_t;

typedef struct segw_group {
    uint64_t off;
    uint32_t len, n_rows;
    uint64_t time_min, time_max;
} segw_group_t;

/* The open segment file. */
typedef struct segw_file {
    int fd; /* -1: no file yet (it is created with its first block) */
    char folder[4096];
    char tmp_path[4096];
    uint64_t off;   /* end of the last good block; 0 until the first is written */
    int dir_synced; /* the folder was synced since the file was created */
    segw_group_t *groups;
    uint32_t n_groups, cap_groups;
} segw_file_t;

/* A completed interval's file that a full disk (or another error) kept from its footer or
 * its rename: retried on every tick. It keeps what its footer would have held, so a retry
 * that succeeds writes the segment the writer meant, counters and all, not a crash's. */
typedef struct segw_unfinished {
    char *path;
    seg_exporter_stat_t *exporters;
    uint32_t n_exporters;
    uint64_t start_ms;
} segw_unfinished_t;

struct seg_writer {
    seg_writer_opts_t o;
    char *dir, *instance;
    uint64_t rotate_ms;
    int lock_fd;
    ZSTD_CCtx *cctx;
    int accel_ok; /* the library takes segw_zstd_accel's parameters */
    int accel;    /* they are set now */
    /* Per kind of chunk (column, or links at FLOW_N_COLS): whether it is accelerated, and the
     * chunks until it is next compressed both ways (segw_put_chunk). */
    uint8_t zaccel[SEGW_ZSTD_KINDS];
    uint16_t zwait[SEGW_ZSTD_KINDS], zgap[SEGW_ZSTD_KINDS];
    uint8_t *ztry; /* the other way's frame, during a trial */
    size_t ztry_cap;
    seg_dict_t dict;

    segw_col_t cols[FLOW_N_COLS];
    uint32_t n_rows;         /* rows in the open group */
    uint64_t pres_and;       /* AND and OR of the open group's row presence masks */
    uint64_t pres_or;
    uint64_t *row_present;   /* each row's presence mask (flow_rec_t.present) */
    uint64_t first_row_mono; /* when its oldest row arrived (ms, CLOCK_MONOTONIC) */
    uint8_t *raw;            /* one chunk before compression */
    size_t raw_cap;
    uint64_t *starts;  /* the other time aligned with a time column, for DIFF_* */
    uint8_t *tenc[3];  /* the time chunks of a group where every row has both (segw_times) */
    uint32_t *links;   /* per row of the open group: SEG_COL_LINKS values */
    uint32_t *lk_row;  /* the rows with a link, in order */
    uint32_t n_linked;
    uint64_t *lslots; /* SEGW_LINK_SLOTS recent flow keys, for finding links */
    uint8_t *gather;  /* the unlinked values of a LINKED column */
    uint8_t *blk;     /* the block being built */
    size_t blk_cap;

    int have_interval;
    uint64_t start_ms;
    uint64_t closed_end_ms; /* end of the last interval completed, 0 before the first */
    uint32_t seq;           /* next sequence number to try in this interval */
    segw_file_t f;
    char made_folder[4096]; /* the last hour folder made, so mkdir -p runs once an hour */

    seg_exporter_stat_t *exporters;
    uint32_t n_exporters;
    segw_unfinished_t unfinished[SEGW_MAX_UNFINISHED];
    uint32_t n_unfinished;

    seg_writer_stats_t stats;
    seg_where_t err;
};

static uint64_t segw_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int segw_errno_code(int e)
{
    return e == ENOSPC || e == EDQUOT ? SEG_E_NOSPACE : e == ENOMEM ? SEG_E_NOMEM : SEG_E_IO;
}

/* Records a failure in the writer's last error and returns -code. */
static int segw_fail(seg_writer_t *w, const char *path, int code, uint64_t off, int e)
{
    return seg_where_set(&w->err, path, code, off, e);
}

/* ---- raw I/O ----------------------------------------------------------------------------- */

static long segw_pwrite(void *arg, int fd, const void *buf, size_t len, uint64_t off)
{
    (void)arg;
    return (long)pwrite(fd, buf, len, (off_t)off);
}

/* All of buf at off, through the test seam; 0 or -1 with errno. */
static int segw_write_all(seg_writer_t *w, int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        long n = w->o.write_fn(w->o.write_arg, fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC; /* a write that makes no progress: treat as a full disk */
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int segw_fsync_dir(const char *folder)
{
    int fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Renames without ever replacing: a name that exists belongs to another segment. */
static int segw_rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    /* A file system without RENAME_NOREPLACE: link() fails on an existing name too. */
    if (link(from, to) != 0)
        return -1;
    return unlink(from);
}

/* ---- footer ------------------------------------------------------------------------------ */

/* Builds footer + tail for the groups at file offset `ftr_off`; malloc'd, length in *len. */
static uint8_t *segw_footer(const segw_group_t *groups, uint32_t n_groups,
                            const seg_exporter_stat_t *ex, uint32_t n_ex, const char *meta,
                            uint64_t ftr_off, size_t *len)
{
    size_t meta_len = strlen(meta);
    size_t ftr_len = 8 + (size_t)n_groups * SEG_FTR_GROUP_LEN + 4 + (size_t)n_ex * SEG_FTR_EXP_LEN +
                     SEG_VARINT_MAX + meta_len;
    uint8_t *buf = malloc(ftr_len + SEG_TAIL_LEN);
    if (!buf)
        return NULL;
    uint8_t *p = buf;
    memcpy(p, SEG_FTR_MAGIC, 4);
    seg_put_u32(p + 4, n_groups);
    p += 8;
    for (uint32_t g = 0; g < n_groups; g++, p += SEG_FTR_GROUP_LEN) {
        seg_put_u64(p, groups[g].off);
        seg_put_u32(p + 8, groups[g].len);
        seg_put_u32(p + 12, groups[g].n_rows);
        seg_put_u64(p + 16, groups[g].time_min);
        seg_put_u64(p + 24, groups[g].time_max);
    }
    seg_put_u32(p, n_ex);
    p += 4;
    for (uint32_t i = 0; i < n_ex; i++, p += SEG_FTR_EXP_LEN) {
        memcpy(p, ex[i].addr.b, 16);
        seg_put_u16(p + 16, ex[i].version);
        seg_put_u32(p + 18, ex[i].domain);
        seg_put_u64(p + 22, ex[i].datagrams);
        seg_put_u64(p + 30, ex[i].flows);
        seg_put_u64(p + 38, ex[i].seq_lost);
        seg_put_u64(p + 46, ex[i].drops);
    }
    p = seg_put_varint(p, meta_len);
    memcpy(p, meta, meta_len);
    p += meta_len;
    size_t flen = (size_t)(p - buf);
    seg_put_u64(p, ftr_off);
    seg_put_u32(p + 8, (uint32_t)flen);
    seg_put_u32(p + 12, crc32c(buf, flen));
    memcpy(p + 16, SEG_TAIL_MAGIC, 8);
    *len = flen + SEG_TAIL_LEN;
    return buf;
}

static void segw_iso(char *out, size_t cap, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void segw_meta(char *out, size_t cap, const char *instance, uint64_t start_ms,
                      uint32_t rotate_s, int recovered)
{
    char created[32], start[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    segw_iso(created, sizeof created, (uint64_t)now.tv_sec * 1000);
    segw_iso(start, sizeof start, start_ms);
    if (recovered) /* the interval is in the file's name */
        snprintf(out, cap, "instance=%s\ncreated=%s\nwriter=flowhunt %s\nrecovered=1\n", instance,
                 created, FH_VERSION);
    else
        snprintf(out, cap,
                 "instance=%s\ninterval_start=%s\ninterval_s=%u\ncreated=%s\n"
                 "writer=flowhunt %s\n",
                 instance, start, rotate_s, created, FH_VERSION);
}

/* "folder/.fh-....seg.tmp" -> "folder/fh-....seg", its sequence number raised by `bump`. */
static int segw_final_path(const char *tmp_path, uint32_t bump, char *out, size_t cap)
{
    const char *slash = strrchr(tmp_path, '/');
    const char *name = slash ? slash + 1 : tmp_path;
    size_t folder_len = (size_t)(name - tmp_path);
    size_t n = strlen(name);
    if (name[0] != '.' || n < 10 || strcmp(name + n - 8, ".seg.tmp") != 0)
        return -1;
    const char *seq_end = name + n - 8, *dash = seq_end;
    while (dash > name && dash[-1] != '-')
        dash--;
    if (dash == name || dash == seq_end)
        return -1;
    unsigned long seq = strtoul(dash, NULL, 10) + bump;
    int len = snprintf(out, cap, "%.*s%.*s%06lu.seg", (int)folder_len, tmp_path,
                       (int)(dash - name - 1), name + 1, seq);
    return len < 0 || (size_t)len >= cap ? -1 : 0;
}

static int segw_rename_into_place(seg_writer_t *w, const char *tmp_path);

/* Appends footer and tail at `off` to the temporary file `fd`, syncs, renames into place and
 * syncs the folder. Closes fd. 0 or -SEG_E_* (the temporary file then stays). */
static int segw_complete(seg_writer_t *w, int fd, const char *tmp_path, uint64_t off,
                         const segw_group_t *groups, uint32_t n_groups, const char *meta)
{
    size_t len;
    uint8_t *ftr = segw_footer(groups, n_groups, w->exporters, w->n_exporters, meta, off, &len);
    if (!ftr) {
        close(fd);
        return segw_fail(w, tmp_path, SEG_E_NOMEM, off, ENOMEM);
    }
    int rc = segw_write_all(w, fd, ftr, len, off);
    free(ftr);
    /* The exact length: a failed block write may have left bytes past the last good block. */
    if (rc == 0)
        rc = ftruncate(fd, (off_t)(off + len));
    if (rc == 0)
        rc = fdatasync(fd);
    int e = errno;
    close(fd);
    if (rc != 0)
        return segw_fail(w, tmp_path, segw_errno_code(e), off, e);
    return segw_rename_into_place(w, tmp_path);
}

/* A segment whose flows lie outside its hour folder's margins (arrivals placed by the wall
 * clock carrying old times) is noted for windowed listings (seg_dir.c). The note is made before
 * the rename that makes the segment visible: noted after it, a crash between the two left the
 * segment where windows never look, and nothing noted it again (a replay of last week's
 * traffic was then invisible to every windowed read). A note of a segment that a crash left
 * unrenamed, or one whose name was taken, only makes a window open one file more: readers
 * decide by footers. The range is read back from the footer just written (in the page cache).
 * A failure to note is counted and reported, and the segment still counts as written. */
static void segw_note_placement(seg_writer_t *w, const char *final_path, uint64_t lo, uint64_t hi)
{
    if (lo > hi)
        return; /* no flows */
    int rc = seg_dir_note_placement(w->dir, w->instance, final_path, lo, hi);
    if (rc < 0) {
        w->stats.write_errors++;
        segw_fail(w, final_path, SEG_E_IO, 0, errno);
    } else if (rc > 0) {
        w->stats.segments_misplaced++;
    }
}

/* The range of flow times in a complete segment's footer; lo > hi when it has none (or
 * could not be read: then counted and reported). */
static void segw_range(seg_writer_t *w, const char *path, uint64_t *lo, uint64_t *hi)
{
    seg_file_t *f;
    seg_where_t where;
    *lo = UINT64_MAX;
    *hi = 0;
    if (seg_open(path, &f, &where) != 0) {
        w->stats.write_errors++;
        segw_fail(w, path, SEG_E_IO, 0, EIO);
        return;
    }
    for (uint32_t g = 0; g < seg_n_groups(f); g++) {
        seg_group_info_t gi;
        seg_group(f, g, &gi);
        if (gi.time_min < *lo)
            *lo = gi.time_min;
        if (gi.time_max > *hi)
            *hi = gi.time_max;
    }
    seg_close(f);
}

/* Renames a synced, complete temporary segment to its final name (the next free sequence
 * number if its own is taken), noting its placement first, and syncs the folder. */
static int segw_rename_into_place(seg_writer_t *w, const char *tmp_path)
{
    char final_path[4096];
    uint64_t lo, hi;
    segw_range(w, tmp_path, &lo, &hi);
    for (uint32_t bump = 0;; bump++) {
        if (segw_final_path(tmp_path, bump, final_path, sizeof final_path) != 0)
            return segw_fail(w, tmp_path, SEG_E_USAGE, 0, EINVAL);
        segw_note_placement(w, final_path, lo, hi);
        if ((w->o.rename_fn ? w->o.rename_fn(w->o.write_arg, tmp_path, final_path)
                            : segw_rename_noreplace(tmp_path, final_path)) == 0)
            break;
        if (errno != EEXIST || bump > 100000)
            return segw_fail(w, tmp_path, segw_errno_code(errno), 0, errno);
    }
    char folder[4096];
    snprintf(folder, sizeof folder, "%s", final_path);
    char *slash = strrchr(folder, '/');
    if (slash)
        *slash = '\0';
    if (segw_fsync_dir(slash ? folder : ".") != 0)
        return segw_fail(w, folder, SEG_E_IO, 0, errno);
    w->stats.segments++;
    return 0;
}

/* ---- recovery ---------------------------------------------------------------------------- */

/* Turns a temporary segment into a normal one: a complete file (crash between its last sync
 * and its rename) is renamed as it is; otherwise its blocks are walked, the first one that is
 * incomplete or fails a checksum ends the walk, and the footer those blocks imply is written.
 * A file with no whole block holds no flow and is removed. */
static int segw_recover(seg_writer_t *w, const char *tmp_path, const segw_unfinished_t *u)
{
    int fd = open(tmp_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : segw_fail(w, tmp_path, SEG_E_IO, 0, errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return segw_fail(w, tmp_path, SEG_E_IO, 0, e);
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *base = NULL;
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return segw_fail(w, tmp_path, SEG_E_IO, 0, e);
        }
        base = m;
    }
    seg_file_t *whole = NULL;
    if (len > 0 && seg_open_mem(base, len, tmp_path, &whole, NULL) == 0) {
        seg_close(whole);
        munmap((void *)base, len);
        /* Already complete, footer and all (a crash between the last sync and the rename):
         * only the rename is missing. */
        int rc = fdatasync(fd);
        close(fd);
        if (rc != 0)
            return segw_fail(w, tmp_path, segw_errno_code(errno), 0, errno);
        return segw_rename_into_place(w, tmp_path);
    }

    segw_group_t *groups = NULL;
    uint32_t n_groups = 0, cap = 0;
    uint64_t off = SEG_HDR_LEN;
    int header_ok = len >= SEG_HDR_LEN && memcmp(base, SEG_HDR_MAGIC, 8) == 0 &&
                    seg_get_u16(base + 8) == SEG_VERSION;
    while (header_ok) {
        segr_block_t b;
        uint64_t bad;
        if (segr_block_parse(base, len, off, &b, &bad) != 0 ||
            segr_block_check_chunks(base, &b, &bad) != 0)
            break;
        if (n_groups == cap) {
            cap = cap ? 2 * cap : 64;
            segw_group_t *g = realloc(groups, cap * sizeof *g);
            if (!g) {
                free(groups);
                munmap((void *)base, len);
                close(fd);
                return segw_fail(w, tmp_path, SEG_E_NOMEM, off, ENOMEM);
            }
            groups = g;
        }
        groups[n_groups++] = (segw_group_t){off, b.len, b.n_rows, b.time_min, b.time_max};
        off += b.len;
    }
    if (base)
        munmap((void *)base, len);
    if (n_groups == 0) {
        free(groups);
        close(fd);
        if (unlink(tmp_path) != 0 && errno != ENOENT)
            return segw_fail(w, tmp_path, SEG_E_IO, 0, errno);
        return 0;
    }
    char meta[512];
    /* The counters went down with a crashed writer: a recovered footer records none. A live
     * writer's retry (u) has them, and the interval: its segment is an ordinary one. */
    segw_meta(meta, sizeof meta, w->instance, u ? u->start_ms : 0, u ? w->o.rotate_s : 0, !u);
    seg_exporter_stat_t *ex = w->exporters;
    uint32_t n_ex = w->n_exporters;
    w->exporters = u ? u->exporters : NULL;
    w->n_exporters = u ? u->n_exporters : 0;
    int rc = segw_complete(w, fd, tmp_path, off, groups, n_groups, meta);
    w->exporters = ex;
    w->n_exporters = n_ex;
    free(groups);
    return rc;
}

/* Puts the open file's path on the retry list, with the interval's counters (taken from
 * the writer, which is done with them). */
static void segw_unfinished_add(seg_writer_t *w, const char *tmp_path)
{
    for (uint32_t i = 0; i < w->n_unfinished; i++)
        if (strcmp(w->unfinished[i].path, tmp_path) == 0)
            return;
    /* Past the bound the file stays on disk for the next writer's recovery. */
    if (w->n_unfinished < SEGW_MAX_UNFINISHED) {
        char *s = strdup(tmp_path);
        if (s) {
            w->unfinished[w->n_unfinished++] =
                (segw_unfinished_t){s, w->exporters, w->n_exporters, w->start_ms};
            w->exporters = NULL;
            w->n_exporters = 0;
        }
    }
}

static void segw_unfinished_free(segw_unfinished_t *u)
{
    free(u->path);
    free(u->exporters);
}

static int segw_retry_unfinished(seg_writer_t *w)
{
    int first = 0;
    for (uint32_t i = 0; i < w->n_unfinished;) {
        int rc = segw_recover(w, w->unfinished[i].path, &w->unfinished[i]);
        if (rc == 0) {
            segw_unfinished_free(&w->unfinished[i]);
            w->unfinished[i] = w->unfinished[--w->n_unfinished];
            continue;
        }
        if (!first)
            first = rc;
        i++;
    }
    return first;
}

typedef struct segw_scan {
    const char *instance;
    char **paths;
    size_t n, cap;
} segw_scan_t;

/* ".fh-YYYYMMDDTHHMMSSZ-<instance>-<digits>.seg.tmp", exactly. */
static int segw_is_own_tmp(const char *name, const char *instance)
{
    size_t il = strlen(instance);
    if (strncmp(name, ".fh-", 4) != 0 || strlen(name) < 4 + 16 + 1 + il + 2 + 8)
        return 0;
    const char *p = name + 4 + 16;
    if (*p++ != '-' || strncmp(p, instance, il) != 0 || p[il] != '-')
        return 0;
    p += il + 1;
    const char *digits = p;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > digits && strcmp(p, ".seg.tmp") == 0;
}

static int segw_scan_fn(void *arg, const char *folder, const char *name)
{
    segw_scan_t *s = arg;
    if (!segw_is_own_tmp(name, s->instance))
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        char **p = realloc(s->paths, cap * sizeof *p);
        if (!p)
            return 1;
        s->paths = p;
        s->cap = cap;
    }
    size_t len = strlen(folder) + strlen(name) + 2;
    char *path = malloc(len);
    if (!path)
        return 1;
    snprintf(path, len, "%s/%s", folder, name);
    s->paths[s->n++] = path;
    return 0;
}

/* Recovers every temporary segment this instance left (collected first: renaming while a
 * folder is being read could show an entry twice). */
static int segw_recover_all(seg_writer_t *w)
{
    segw_scan_t s = {w->instance, NULL, 0, 0};
    int rc = seg_dir_walk(w->dir, segw_scan_fn, &s);
    if (rc != 0)
        rc = rc > 0 ? segw_fail(w, w->dir, SEG_E_NOMEM, 0, ENOMEM)
                    : segw_fail(w, w->dir, SEG_E_IO, 0, errno);
    for (size_t i = 0; i < s.n; i++) {
        if (rc == 0)
            rc = segw_recover(w, s.paths[i], NULL);
        free(s.paths[i]);
    }
    free(s.paths);
    return rc;
}

/* ---- blocks ------------------------------------------------------------------------------ */

/* Runs M(type) with the C type of a column of `width` bytes (flow_addr_t for 16). */
#define SEGW_BY_WIDTH(width, M)                                                                    \
    switch (width) {                                                                               \
    case 1:                                                                                        \
        M(uint8_t);                                                                                \
        break;                                                                                     \
    case 2:                                                                                        \
        M(uint16_t);                                                                               \
        break;                                                                                     \
    case 4:                                                                                        \
        M(uint32_t);                                                                               \
        break;                                                                                     \
    case 8:                                                                                        \
        M(uint64_t);                                                                               \
        break;                                                                                     \
    default:                                                                                       \
        M(flow_addr_t);                                                                            \
        break;                                                                                     \
    }

/* The hot path: every field of the columns the group has seen is stored at index n_rows,
 * whether this row has it or not, so the row costs independent stores and no per-column
 * counter (a read-modify-write per field that was the writer's largest single cost); the
 * columns no row of the group has had are skipped by one well-predicted branch each, so
 * their buffers are never touched. The row's presence mask is kept whole, and so are the AND
 * and OR of the group's masks: at flush time a column every row has is already dense, a
 * column no row has is empty, and only the few columns some rows lack are compacted
 * (segw_compact). */
static void segw_append(seg_writer_t *w, const flow_rec_t *rec)
{
    uint32_t i = w->n_rows;
    uint64_t seen = w->pres_or | rec->present;
#define SEGW_X_PUT(name, type, desc)                                                               \
    if (seen & FLOW_BIT(name))                                                                     \
        ((flow_ctype_##type *)w->cols[FLOW_COL_##name].vals)[i] = rec->name;
    FLOW_COLUMNS(SEGW_X_PUT)
#undef SEGW_X_PUT
    w->row_present[i] = rec->present;
    w->pres_and &= rec->present;
    w->pres_or = seen;
    w->n_rows = i + 1;
}

static void segw_reset_group(seg_writer_t *w)
{
    for (int c = 0; c < FLOW_N_COLS; c++)
        w->cols[c].n = 0;
    w->n_rows = 0;
    w->pres_and = ~(uint64_t)0;
    w->pres_or = 0;
}

/* Turns the row-indexed column arrays of the open group into the dense arrays of present
 * values that the encoders take (segw_col_t.vals, .n). */
static void segw_compact(seg_writer_t *w)
{
    uint32_t n = w->n_rows;
    const uint64_t *rp = w->row_present;
    for (int c = 0; c < FLOW_N_COLS; c++) {
        segw_col_t *col = &w->cols[c];
        uint64_t bit = (uint64_t)1 << c;
        if (w->pres_and & bit) {
            col->n = n;
            continue;
        }
        if (!(w->pres_or & bit)) {
            col->n = 0;
            continue;
        }
        uint32_t j = 0;
#define SEGW_COMPACT(type)                                                                         \
    do {                                                                                           \
        type *v = col->vals;                                                                       \
        for (uint32_t r = 0; r < n; r++) {                                                         \
            v[j] = v[r];                                                                           \
            j += (uint32_t)((rp[r] >> c) & 1);                                                     \
        }                                                                                          \
    } while (0)
        SEGW_BY_WIDTH(flow_cols[c].width, SEGW_COMPACT);
#undef SEGW_COMPACT
        col->n = j;
    }
}

static inline int segw_has(const seg_writer_t *w, uint32_t row, int col)
{
    return (int)((w->row_present[row] >> col) & 1);
}

/* The group's time range: over rows, the earliest and latest of the times each row has
 * (FORMAT.md); a row with neither time counts as 0. */
static void segw_time_range(const seg_writer_t *w, uint64_t *tmin, uint64_t *tmax)
{
    const segw_col_t *cs = &w->cols[FLOW_COL_time_start], *ce = &w->cols[FLOW_COL_time_end];
    const uint64_t *ts = cs->vals, *te = ce->vals;
    uint64_t mn = UINT64_MAX, mx = 0;
    uint32_t n = w->n_rows;
    if (cs->n == n && ce->n == n) {
        for (uint32_t i = 0; i < n; i++) {
            uint64_t lo = ts[i] < te[i] ? ts[i] : te[i];
            uint64_t hi = ts[i] < te[i] ? te[i] : ts[i];
            mn = lo < mn ? lo : mn;
            mx = hi > mx ? hi : mx;
        }
    } else {
        for (uint32_t i = 0, js = 0, je = 0; i < n; i++) {
            int hs = segw_has(w, i, FLOW_COL_time_start), he = segw_has(w, i, FLOW_COL_time_end);
            uint64_t s = hs ? ts[js++] : 0, e = he ? te[je++] : 0;
            uint64_t lo = hs ? s : he ? e : 0;
            uint64_t hi = he ? e : lo;
            if (hs && he && s > e) {
                lo = e;
                hi = s;
            }
            mn = lo < mn ? lo : mn;
            mx = hi > mx ? hi : mx;
        }
    }
    *tmin = mn;
    *tmax = mx;
}

/* A running minimum and maximum of addresses, bytewise: the order of the two big-endian
 * halves. */
typedef struct segw_addr_mm {
    unsigned __int128 lo, hi;
    uint32_t ilo, ihi; /* the values' rows */
} segw_addr_mm_t;

static inline void segw_addr_mm(segw_addr_mm_t *m, const flow_addr_t *a, uint32_t i)
{
    uint64_t x, y;
    memcpy(&x, a->b, 8);
    memcpy(&y, a->b + 8, 8);
    unsigned __int128 k = (unsigned __int128)__builtin_bswap64(x) << 64 | __builtin_bswap64(y);
    if (k < m->lo) {
        m->lo = k;
        m->ilo = i;
    }
    if (k > m->hi) {
        m->hi = k;
        m->ihi = i;
    }
}

/* Writes a zone's header at p; returns where its min goes (its max follows, same width). */
static uint8_t *segw_zone_head(int col, uint8_t *p)
{
    seg_put_u16(p, (uint16_t)col);
    p[2] = (uint8_t)flow_cols[col].width;
    p[3] = 0;
    return p + SEG_ZONE_HDR_LEN;
}

/* Writes the zone of address column `col` at p: the least and greatest of v[0..n). */
static void segw_zone_addr(const flow_addr_t *v, uint32_t n, int col, uint8_t *p)
{
    uint8_t *mn = segw_zone_head(col, p);
    /* Bytewise order is the order of the two big-endian halves. */
    segw_addr_mm_t m = {~(unsigned __int128)0, 0, 0, 0};
    for (uint32_t i = 0; i < n; i++)
        segw_addr_mm(&m, &v[i], i);
    memcpy(mn, &v[m.ilo], 16);
    memcpy(mn + 16, &v[m.ihi], 16);
}

/* Writes the zone (min, max) of a column's present values at p; returns bytes written. */
static size_t segw_zone(const segw_col_t *c, int col, uint8_t *p)
{
    size_t w = flow_cols[col].width;
    uint8_t *mn = segw_zone_head(col, p), *mx = mn + w;
    if (w == 16) {
        segw_zone_addr(c->vals, c->n, col, p);
    } else {
        uint64_t lo = UINT64_MAX, hi = 0;
#define SEGW_MINMAX(type)                                                                          \
    for (uint32_t i = 0; i < c->n; i++) {                                                          \
        uint64_t v = ((const type *)c->vals)[i];                                                   \
        lo = v < lo ? v : lo;                                                                      \
        hi = v > hi ? v : hi;                                                                      \
    }
        switch (w) {
        case 1:
            SEGW_MINMAX(uint8_t);
            break;
        case 2:
            SEGW_MINMAX(uint16_t);
            break;
        case 4:
            SEGW_MINMAX(uint32_t);
            break;
        default:
            SEGW_MINMAX(uint64_t);
            break;
        }
#undef SEGW_MINMAX
        seg_put_uw(mn, lo, w);
        seg_put_uw(mx, hi, w);
    }
    return SEG_ZONE_HDR_LEN + 2 * w;
}

/* Writes the two port-bucket zones (FORMAT.md "Port buckets") of port column `col` at p from
 * its n present values; returns bytes written. */
static size_t segw_zone_ports(const uint16_t *v, uint32_t n, int col, uint8_t *p)
{
    uint8_t bits[SEG_PORT_BUCKET_BYTES] = {0};
    for (uint32_t i = 0; i < n; i++)
        seg_port_bucket_set(bits, v[i]);
    uint16_t id = (uint16_t)(SEG_ZONE_PORTS + seg_ports_zone(col));
    for (int half = 0; half < 2; half++, p += SEGW_PORTS_ZONE_LEN) {
        seg_put_u16(p, (uint16_t)(id + half));
        p[2] = 16;
        p[3] = 0;
        memcpy(p + SEG_ZONE_HDR_LEN, bits + half * 32, 32);
    }
    return 2 * SEGW_PORTS_ZONE_LEN;
}

static int segw_blk_reserve(seg_writer_t *w, size_t need)
{
    if (need <= w->blk_cap)
        return 0;
    size_t cap = w->blk_cap ? w->blk_cap : 1 << 20;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(w->blk, cap);
    if (!p)
        return -1;
    w->blk = p;
    w->blk_cap = cap;
    return 0;
}

/* ---- links: the two directions of a conversation ------------------------------------------ */

/* Exporters send each direction of a conversation as its own record, close together in time:
 * the second has the first's addresses and ports swapped. Linking it to the first (a varint
 * distance in the group's SEG_COL_LINKS chunk) replaces four of its fields, and whichever
 * others agree, by nothing: the largest single saving on real traffic (FORMAT.md). */

/* An address folded to 64 bits (an IPv4-mapped one varies only in its last four bytes, the
 * top of the second half) and multiplied, so that every bit of it reaches the upper bits. */
static inline uint64_t segw_addr_hash(const flow_addr_t *a)
{
    uint64_t lo, hi;
    memcpy(&lo, a->b, 8);
    memcpy(&hi, a->b + 8, 8);
    return (lo ^ (hi >> 32) ^ (hi << 32)) * 0x9E3779B97F4A7C15ull;
}

/* The conversation's hash, the same for both directions: each end (address, port) hashed,
 * the two summed (so the order does not matter), and the sum multiplied and folded: the slot
 * index is taken from the low bits and the tag from the high ones, and both then depend on
 * the whole key. One key and one slot per row serve both kinds of link, where a hash per
 * orientation took two of each. (A full 64-bit finalizer per address and per key was half
 * of finding the links; the table is lossy anyway, and a rare extra collision only loses a
 * link.) */
static inline uint64_t segw_conv_hash(const flow_addr_t *sa, const flow_addr_t *da, uint16_t sp,
                                      uint16_t dp)
{
    uint64_t a = segw_addr_hash(sa) + (uint64_t)sp * 0x165667B19E3779F9ull;
    uint64_t b = segw_addr_hash(da) + (uint64_t)dp * 0x165667B19E3779F9ull;
    uint64_t x = (((a + b) << 29) | ((a + b) >> 35)) * 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 32);
}

/* Fills w->links for the open group; returns the number of linked rows. Only a group in
 * which every row has both addresses and both ports is linked. */
static uint32_t segw_find_links(seg_writer_t *w)
{
    uint32_t n = w->n_rows;
    const segw_col_t *csa = &w->cols[FLOW_COL_src_addr], *cda = &w->cols[FLOW_COL_dst_addr];
    const segw_col_t *csp = &w->cols[FLOW_COL_src_port], *cdp = &w->cols[FLOW_COL_dst_port];
    if (n < 2 || csa->n != n || cda->n != n || csp->n != n || cdp->n != n)
        return 0;
    const flow_addr_t *sa = csa->vals, *da = cda->vals;
    const uint16_t *sp = csp->vals, *dp = cdp->vals;
    /* A lossy, direct-mapped table (as LZ4 finds matches) of conversations: a slot holds the
     * upper half of a conversation's hash and its latest row + 1, and a new one simply takes
     * the slot. The two records of a conversation are usually a few rows apart, so few links
     * are lost to collisions, and the table stays in cache: a full hash table of a whole
     * group costs twice the time in cache misses alone. */
    uint32_t mask = SEGW_LINK_SLOTS - 1;
    uint64_t *slots = w->lslots;
    memset(slots, 0, SEGW_LINK_SLOTS * sizeof *slots);
    uint32_t n_linked = 0;
    /* The keys are hashed SEGW_LINK_AHEAD rows ahead and their slots prefetched: the table
     * is in L2 at best, and a load that waits for it per row was a third of this loop. */
    uint64_t ring[SEGW_LINK_AHEAD];
    for (uint32_t i = 0; i < n && i < SEGW_LINK_AHEAD; i++) {
        ring[i] = segw_conv_hash(&sa[i], &da[i], sp[i], dp[i]);
        __builtin_prefetch(&slots[ring[i] & mask]);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t h = ring[i % SEGW_LINK_AHEAD];
        if (i + SEGW_LINK_AHEAD < n) {
            uint32_t k = i + SEGW_LINK_AHEAD;
            uint64_t hk = segw_conv_hash(&sa[k], &da[k], sp[k], dp[k]);
            ring[i % SEGW_LINK_AHEAD] = hk;
            __builtin_prefetch(&slots[hk & mask]);
        }
        /* The conversation's latest row: the other direction (a "reverse" link), or the
         * same key again (a "same" link). */
        uint32_t link = 0;
        uint64_t *sl = &slots[h & mask];
        if (*sl && (*sl >> 32) == (h >> 32)) {
            uint32_t j = (uint32_t)*sl - 1;
            if (flow_addr_eq(&sa[j], &da[i]) && flow_addr_eq(&da[j], &sa[i]) && sp[j] == dp[i] &&
                dp[j] == sp[i])
                link = (i - j) * 2 + SEG_LINK_REVERSE;
            else if (flow_addr_eq(&sa[j], &sa[i]) && flow_addr_eq(&da[j], &da[i]) &&
                     sp[j] == sp[i] && dp[j] == dp[i])
                link = (i - j) * 2 + SEG_LINK_SAME;
        }
        *sl = (h >> 32) << 32 | (i + 1);
        w->links[i] = link;
        /* The linked rows' list, branch-free. */
        w->lk_row[n_linked] = i;
        n_linked += link != 0;
    }
    w->n_linked = n_linked;
    return n_linked;
}

/* Whether column c can be LINKED: every linked row has the value its link implies. Both the
 * column and its mirror must be in every row (so that rows index the value arrays). */
static int segw_linkable(const seg_writer_t *w, int c)
{
    int m = flow_col_mirror(c);
    uint32_t n = w->n_rows;
    if (w->cols[c].n != n || w->cols[m].n != n)
        return 0;
    /* The four fields the links were found on agree by construction. */
    if (c == FLOW_COL_src_addr || c == FLOW_COL_dst_addr || c == FLOW_COL_src_port ||
        c == FLOW_COL_dst_port)
        return 1;
    const void *v = w->cols[c].vals, *mv = w->cols[m].vals;
    const uint32_t *links = w->links, *lk = w->lk_row;
    uint32_t n_lk = w->n_linked;
    /* One typed loop per width over the linked rows only: this runs for every column of
     * every group. A constant column gains nothing from links (it compresses to nothing). */
    if (seg_enc_run(v, flow_cols[c].width, n) == n)
        return 0;
#define SEGW_LINK_CHECK(type, EQ)                                                                  \
    do {                                                                                           \
        const type *tv = v, *tm = mv;                                                              \
        for (uint32_t k = 0; k < n_lk; k++) {                                                      \
            uint32_t i = lk[k], l = links[i];                                                      \
            const type *src = (l & 1) == SEG_LINK_REVERSE ? tm : tv;                               \
            if (!EQ(tv[i], src[i - (l >> 1)]))                                                     \
                return 0;                                                                          \
        }                                                                                          \
    } while (0)
#define SEGW_EQ_INT(a, b) ((a) == (b))
#define SEGW_EQ_ADDR(a, b) flow_addr_eq(&(a), &(b))
    switch (flow_cols[c].width) {
    case 1:
        SEGW_LINK_CHECK(uint8_t, SEGW_EQ_INT);
        break;
    case 2:
        SEGW_LINK_CHECK(uint16_t, SEGW_EQ_INT);
        break;
    case 4:
        SEGW_LINK_CHECK(uint32_t, SEGW_EQ_INT);
        break;
    case 8:
        SEGW_LINK_CHECK(uint64_t, SEGW_EQ_INT);
        break;
    default:
        SEGW_LINK_CHECK(flow_addr_t, SEGW_EQ_ADDR);
        break;
    }
#undef SEGW_LINK_CHECK
#undef SEGW_EQ_INT
#undef SEGW_EQ_ADDR
    return 1;
}

/* ---- encoding a group -------------------------------------------------------------------- */

/* The version-1 writer's base encoding of each column (FORMAT.md's table). */
static uint8_t segw_base_encoding(int col)
{
    switch (flow_cols[col].type) {
    case FLOW_T_ADDR:
        return SEG_ENC_DICT_ADDR;
    case FLOW_T_U8:
        return SEG_ENC_RAW;
    case FLOW_T_U16:
        return SEG_ENC_PLANES;
    default:
        return SEG_ENC_VARINT;
    }
}

static size_t segw_varint_len(uint64_t v)
{
    return (size_t)(64 - __builtin_clzll(v | 1) + 6) / 7; /* no branch: lengths vary */
}

/* Which of the two times is stored as deltas along the group and which as the flow's
 * duration from the other: exporters emit flows as they end, so time_end is usually the
 * sorted one, but a collector that sorts by start would turn it round. 1: time_end DELTA,
 * time_start DIFF_END. */
static int segw_end_first(const seg_writer_t *w)
{
    const segw_col_t *cs = &w->cols[FLOW_COL_time_start], *ce = &w->cols[FLOW_COL_time_end];
    if (ce->n == 0)
        return 0;
    if (cs->n == 0)
        return 1;
    const uint64_t *ts = cs->vals, *te = ce->vals;
    size_t ls = 0, le = 0;
    for (uint32_t i = 1; i < cs->n; i++)
        ls += segw_varint_len(seg_zigzag((int64_t)(ts[i] - ts[i - 1])));
    for (uint32_t i = 1; i < ce->n; i++)
        le += segw_varint_len(seg_zigzag((int64_t)(te[i] - te[i - 1])));
    return le <= ls;
}

/* What the group's two times decide, in one pass over both columns when every row has both
 * (nearly always): the group's time range, the zones of both, and the chunks of both already
 * encoded: each time's DELTA and their common difference (DIFF_START and DIFF_END store the
 * same bytes, time_end - time_start), into w->tenc, of which the smaller DELTA and the
 * difference are kept. Separately they were six passes (range, delta sizes, two zones, two
 * encodings) over columns of 512 KiB each; in perf samples of bench_store on 2 M flowgen
 * flows, the one pass that writes all three takes a fifth less time than the three it
 * replaces (the sizes' pass and the two encodings: 110 samples against 141). A group with
 * rows lacking a time takes the general functions above. */
typedef struct segw_times {
    uint64_t tmin, tmax;
    int end_first;
    int zones; /* 1: the zones of time_start and time_end are below, and the chunks */
    uint64_t smin, smax, emin, emax;
    size_t len[3]; /* of w->tenc[0..3): DELTA of time_start, DELTA of time_end, the DIFF */
} segw_times_t;

static void segw_times(const seg_writer_t *w, segw_times_t *t)
{
    const segw_col_t *cs = &w->cols[FLOW_COL_time_start], *ce = &w->cols[FLOW_COL_time_end];
    uint32_t n = w->n_rows;
    *t = (segw_times_t){0};
    t->zones = n > 0 && cs->n == n && ce->n == n;
    if (!t->zones) {
        segw_time_range(w, &t->tmin, &t->tmax);
        t->end_first = segw_end_first(w);
        return;
    }
    const uint64_t *ts = cs->vals, *te = ce->vals;
    uint64_t smin = ts[0], smax = ts[0], emin = te[0], emax = te[0];
    uint8_t *ds = w->tenc[0], *de = w->tenc[1], *df = w->tenc[2];
    /* the first deltas are from 0: they do not take part in choosing (segw_end_first) */
    ds = seg_put_varint(ds, seg_zigzag((int64_t)ts[0]));
    de = seg_put_varint(de, seg_zigzag((int64_t)te[0]));
    df = seg_put_varint3(df, seg_zigzag((int64_t)(te[0] - ts[0])));
    size_t ls0 = (size_t)(ds - w->tenc[0]), le0 = (size_t)(de - w->tenc[1]);
    for (uint32_t i = 1; i < n; i++) {
        uint64_t s = ts[i], e = te[i];
        smin = s < smin ? s : smin;
        smax = s > smax ? s : smax;
        emin = e < emin ? e : emin;
        emax = e > emax ? e : emax;
        ds = seg_put_varint3(ds, seg_zigzag((int64_t)(s - ts[i - 1])));
        de = seg_put_varint3(de, seg_zigzag((int64_t)(e - te[i - 1])));
        df = seg_put_varint3(df, seg_zigzag((int64_t)(e - s)));
    }
    t->len[0] = (size_t)(ds - w->tenc[0]);
    t->len[1] = (size_t)(de - w->tenc[1]);
    t->len[2] = (size_t)(df - w->tenc[2]);
    /* Every row has both: the earliest of the rows' earlier times is the smaller minimum. */
    t->tmin = smin < emin ? smin : emin;
    t->tmax = smax > emax ? smax : emax;
    t->end_first = t->len[1] - le0 <= t->len[0] - ls0;
    t->smin = smin;
    t->smax = smax;
    t->emin = emin;
    t->emax = emax;
}

/* Values of column c aligned with the rows of column `other`'s present values: for each row
 * where c is present, the value of `other` in that row (0 where it has none). */
static const uint64_t *segw_partner(seg_writer_t *w, int c, int other)
{
    const segw_col_t *cc = &w->cols[c], *co = &w->cols[other];
    if (cc->n == w->n_rows && co->n == w->n_rows)
        return co->vals;
    uint64_t *al = w->starts;
    const uint64_t *ov = co->vals;
    for (uint32_t i = 0, jo = 0, jc = 0; i < w->n_rows; i++) {
        uint64_t v = segw_has(w, i, other) ? ov[jo++] : 0;
        if (segw_has(w, i, c))
            al[jc++] = v;
    }
    return al;
}

/* Encodes n values `vals` of column c with a base encoding at p; (size_t)-1 out of memory. */
static size_t segw_encode_base(seg_writer_t *w, int c, uint8_t enc, const void *vals, uint32_t n,
                               uint8_t *p)
{
    size_t width = flow_cols[c].width;
    switch (enc) {
    case SEG_ENC_DELTA:
        return seg_enc_delta(p, vals, n);
    case SEG_ENC_DIFF_START:
        return seg_enc_diff(p, vals, segw_partner(w, c, FLOW_COL_time_start), n);
    case SEG_ENC_DIFF_END: {
        /* time_end - time_start, as DIFF_START stores it: the same small numbers. */
        const uint64_t *te = segw_partner(w, c, FLOW_COL_time_end);
        return seg_enc_diff(p, te, vals, n);
    }
    case SEG_ENC_DICT_ADDR:
        return seg_enc_dict(&w->dict, p, vals, n);
    case SEG_ENC_PLANES:
        return seg_enc_planes(p, vals, width, n);
    case SEG_ENC_VARINT:
        return seg_enc_varint(p, vals, width, n);
    default:
        return seg_enc_raw(p, vals, width, n);
    }
}

/* Gathers the values of the rows without a link (a LINKED column's own values) into
 * w->gather and returns their count, in one sequential pass over all the rows that also
 * writes the column's zone at `zone` when that is not NULL: one pass over the column where
 * the zone and the gather took one each (a 65,536-row address column is 1 MiB, more than
 * the L2 cache). */
static uint32_t segw_gather(seg_writer_t *w, int c, uint8_t *zone)
{
    const uint32_t *links = w->links;
    uint32_t n = w->n_rows, k = 0;
    size_t width = flow_cols[c].width;
    if (width == 16) {
        flow_addr_t *g = (flow_addr_t *)w->gather;
        const flow_addr_t *v = w->cols[c].vals;
        segw_addr_mm_t m = {~(unsigned __int128)0, 0, 0, 0};
        for (uint32_t i = 0; i < n; i++) {
            if (zone)
                segw_addr_mm(&m, &v[i], i);
            g[k] = v[i];
            k += links[i] == 0;
        }
        if (zone) {
            uint8_t *mn = segw_zone_head(c, zone);
            memcpy(mn, &v[m.ilo], 16);
            memcpy(mn + 16, &v[m.ihi], 16);
        }
        return k;
    }
    uint64_t lo = UINT64_MAX, hi = 0;
#define SEGW_GATHER(type)                                                                          \
    do {                                                                                           \
        type *g = (type *)w->gather;                                                               \
        const type *v = w->cols[c].vals;                                                           \
        if (zone)                                                                                  \
            for (uint32_t i = 0; i < n; i++) {                                                     \
                uint64_t x = v[i];                                                                 \
                lo = x < lo ? x : lo;                                                              \
                hi = x > hi ? x : hi;                                                              \
                g[k] = v[i];                                                                       \
                k += links[i] == 0;                                                                \
            }                                                                                      \
        else                                                                                       \
            for (uint32_t i = 0; i < n; i++) {                                                     \
                g[k] = v[i];                                                                       \
                k += links[i] == 0;                                                                \
            }                                                                                      \
    } while (0)
    switch (width) {
    case 1:
        SEGW_GATHER(uint8_t);
        break;
    case 2:
        SEGW_GATHER(uint16_t);
        break;
    case 4:
        SEGW_GATHER(uint32_t);
        break;
    default:
        SEGW_GATHER(uint64_t);
        break;
    }
#undef SEGW_GATHER
    if (zone) {
        uint8_t *mn = segw_zone_head(c, zone);
        seg_put_uw(mn, lo, width);
        seg_put_uw(mn + width, hi, width);
    }
    return k;
}

/* Encodes column c of the open group into w->raw; returns the length or (size_t)-1. Writes
 * the column's zone at `zone` unless that is NULL. */
static size_t segw_encode_col(seg_writer_t *w, int c, uint8_t enc, uint8_t base, int partial,
                              uint8_t *zone)
{
    const segw_col_t *col = &w->cols[c];
    uint8_t *p = w->raw;
    if (partial) {
        /* Each byte built in a register from its eight rows: or-ing bits into memory one row
         * at a time chains every row through a store and a reload of the same byte. */
        uint32_t n = w->n_rows;
        size_t bm = ((size_t)n + 7) / 8;
        for (size_t b = 0; b < bm; b++) {
            uint32_t x = 0, r0 = (uint32_t)b * 8;
            for (uint32_t k = 0; k < 8 && r0 + k < n; k++)
                x |= (uint32_t)segw_has(w, r0 + k, c) << k;
            p[b] = (uint8_t)x;
        }
        p += bm;
    }
    const void *vals = col->vals;
    uint32_t n = col->n;
    if (enc == SEG_ENC_LINKED) {
        /* The base encoding, then the values of the rows without a link. */
        n = segw_gather(w, c, zone);
        *p++ = base;
        vals = w->gather;
    } else if (zone && base != SEG_ENC_DICT_ADDR) {
        segw_zone(col, c, zone);
    }
    size_t len = segw_encode_base(w, c, base, vals, n, p);
    if (len == (size_t)-1)
        return len;
    /* An address column's extremes are among its dictionary's entries, which are usually
     * far fewer than its values (an exporter column has a handful). */
    if (zone && enc == SEG_ENC_DICT_ADDR)
        segw_zone_addr(w->dict.entries, w->dict.n_entries, c, zone);
    return (size_t)(p - w->raw) + len;
}

/* zstd's fast strategy has two ways that suit different chunks. With a large acceleration
 * (its targetLength: the match finder skips ahead ever faster while it finds nothing) and
 * literals still Huffman-coded (acceleration alone would turn that off), chunks whose bytes
 * are small alphabets with few real repeats (protocols, flags, the links, ports' low bytes,
 * interface numbers, durations) take half the time or less and come out about as small or
 * smaller; on chunks made of long repeats (a column of few distinct values: an exporter's
 * dictionary indices, observation domains) or of matches worth finding (a dictionary's
 * sorted entries) the same setting costs 20% to 170% more bytes. Which chunks are which
 * depends on the traffic, not on the column, so the writer measures it (segw_put_chunk).
 * Measured on the chunks of 2 M flowgen flows, per column, accelerated against plain:
 * dst_port 3.5 ms against 8.4 (1.3% more bytes), time_start 4.1 against 8.0 (1.5% more),
 * packets 3.3 against 5.5 (0.6% fewer), next_hop 2.7 against 5.4 (15% fewer), in_if 1.0
 * against 4.6 (14% more), src_addr 3.2 against 4.2 (20% more), exporter 3.3 against 3.9
 * (166% more), all with an acceleration of 1024. Long runs are still matched: the skip
 * resets at each match. An acceleration of 65536 (the match finder then skips a block's
 * worth after a miss: these chunks are all but literals) took 4% less time than 1024 on the
 * accelerated chunks of those flows (29.2 ms against 30.5), at 0.07% fewer bytes. */
static void segw_zstd_accel(seg_writer_t *w, int on)
{
    if (!w->accel_ok || w->accel == on)
        return;
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_targetLength, on ? (int)SEGW_ZSTD_ACCEL : 0);
    w->accel = on;
}

/* Compresses raw[0..raw_len) into out[0..cap) with acceleration on or off; the frame's
 * length, or 0 on a zstd error. */
static size_t segw_zstd(seg_writer_t *w, int accel, uint8_t *out, size_t cap, const uint8_t *raw,
                        size_t raw_len)
{
    segw_zstd_accel(w, accel);
    size_t stored = ZSTD_compress2(w->cctx, out, cap, raw, raw_len);
    return ZSTD_isError(stored) ? 0 : stored;
}

/* The trial of segw_put_chunk: the chunk raw[0..raw_len), whose frame (`stored` bytes) is
 * at `frame`, compressed the other way too; the smaller by the rule below is left at
 * `frame`, its length returned, and the choice for `kind` updated. Without memory for the
 * other frame the chunk keeps its own and the next chunk of its kind is tried. */
static size_t segw_zstd_try(seg_writer_t *w, unsigned kind, uint8_t *frame, size_t stored,
                            size_t bound, const uint8_t *raw, size_t raw_len)
{
    if (w->ztry_cap < bound) {
        free(w->ztry);
        w->ztry = malloc(bound);
        w->ztry_cap = w->ztry ? bound : 0;
        if (!w->ztry) {
            w->zwait[kind] = 0;
            return stored;
        }
    }
    int accel = w->zaccel[kind];
    size_t other = segw_zstd(w, !accel, w->ztry, bound, raw, raw_len);
    size_t plain = accel ? other : stored, fast = accel ? stored : other;
    int best = other && fast <= plain + plain / SEGW_ZSTD_SLACK;
    if (best != accel) {
        memcpy(frame, w->ztry, other);
        stored = other;
        w->zaccel[kind] = (uint8_t)best;
        w->zgap[kind] = SEGW_ZSTD_GAP0;
    }
    w->zwait[kind] = w->zgap[kind];
    if (best == accel && w->zgap[kind] < SEGW_ZSTD_GAP_MAX)
        w->zgap[kind] *= 2;
    return stored;
}

/* Compresses raw[0..raw_len) as chunk `col` at *pos, with its directory entry at *dir;
 * `kind` indexes the writer's choice of acceleration for this kind of chunk. That choice is
 * tried: the first chunk of a kind, and then one every zgap chunks of it, is compressed both
 * ways, and the accelerated frame is kept when it is at most 1/SEGW_ZSTD_SLACK larger than
 * the plain one. On the chunks of 2 M flowgen flows (the reference capture), against
 * accelerating the RAW columns and the links only: zstd's time 60 ms instead of 78, 0.14%
 * fewer bytes. A slack of 1/6 took 56 ms there for 0.13% more bytes, but in the daemon's
 * layout (two segments of a million rows) it cost 1.6% more bytes (11.37 against 11.20 per
 * flow) for no CPU difference bench_store could show (four alternating pairs). A trial that
 * confirms the choice doubles the wait for the next (up to SEGW_ZSTD_GAP_MAX chunks), one
 * that changes it starts again at SEGW_ZSTD_GAP0: a stable stream of traffic is compressed
 * twice seldom. The choice depends only on the bytes, so a writer fed the same flows writes
 * the same files. */
static int segw_put_chunk(seg_writer_t *w, uint16_t col, uint8_t enc, uint8_t presence,
                          unsigned kind, const uint8_t *raw, size_t raw_len, size_t *pos,
                          size_t *dir)
{
    size_t bound = ZSTD_compressBound(raw_len);
    if (segw_blk_reserve(w, *pos + bound + SEG_BLK_CRC_LEN) != 0)
        return segw_fail(w, w->f.tmp_path, SEG_E_NOMEM, w->f.off, ENOMEM);
    size_t stored = segw_zstd(w, w->zaccel[kind], w->blk + *pos, bound, raw, raw_len);
    if (stored && w->accel_ok && w->zwait[kind]-- == 0)
        stored = segw_zstd_try(w, kind, w->blk + *pos, stored, bound, raw, raw_len);
    if (!stored)
        return segw_fail(w, w->f.tmp_path, SEG_E_NOMEM, w->f.off, 0);
    uint8_t *e = w->blk + *dir;
    seg_put_u16(e, col);
    e[2] = enc;
    e[3] = presence;
    seg_put_u32(e + 4, (uint32_t)stored);
    seg_put_u32(e + 8, (uint32_t)raw_len);
    seg_put_u32(e + 12, crc32c(w->blk + *pos, stored));
    *dir += SEG_DIR_ENTRY_LEN;
    *pos += stored;
    return 0;
}

/* Encodes and compresses the open group into w->blk; returns the block length, 0 on failure
 * (out of memory or a zstd error, which are both recorded). */
static size_t segw_build_block(seg_writer_t *w, uint64_t *tmin, uint64_t *tmax)
{
    uint32_t n_chunks = 0, n_zones = 0;
    size_t zones_len = 0;
    /* Where each zone goes in the header (0: the column has none). A zone is written just
     * before its column is encoded, which then finds the values in cache, rather than in a
     * pass of its own over all the zone columns, which do not fit there together; the header
     * CRC comes last. */
    size_t zone_at[FLOW_N_COLS] = {0}, ports_at[2] = {0};
    segw_compact(w);
    for (int c = 0; c < FLOW_N_COLS; c++)
        n_chunks += w->cols[c].n > 0;
    uint32_t n_linked = segw_find_links(w);
    n_chunks += n_linked > 0;
    for (size_t z = 0; z < sizeof segw_zone_cols / sizeof segw_zone_cols[0]; z++) {
        int c = segw_zone_cols[z];
        if (w->cols[c].n) {
            n_zones++;
            zone_at[c] = SEG_BLK_FIXED_LEN + 2 + zones_len;
            zones_len += SEG_ZONE_HDR_LEN + 2 * flow_cols[c].width;
        }
    }
    /* Port buckets after the min/max zones: a rare port inside a group's range (1337 between
     * 22 and 60999) skips the group only by them. */
    for (int k = 0; k < 2; k++) {
        int c = k ? FLOW_COL_dst_port : FLOW_COL_src_port;
        if (w->cols[c].n) {
            n_zones += 2;
            ports_at[k] = SEG_BLK_FIXED_LEN + 2 + zones_len;
            zones_len += 2 * SEGW_PORTS_ZONE_LEN;
        }
    }
    size_t dir_at = SEG_BLK_FIXED_LEN + 2 + zones_len;
    size_t data_at = dir_at + (size_t)n_chunks * SEG_DIR_ENTRY_LEN;
    if (segw_blk_reserve(w, data_at + SEG_BLK_CRC_LEN) != 0) {
        segw_fail(w, w->f.tmp_path, SEG_E_NOMEM, w->f.off, ENOMEM);
        return 0;
    }

    uint8_t *h = w->blk;
    segw_times_t tm;
    segw_times(w, &tm);
    *tmin = tm.tmin;
    *tmax = tm.tmax;
    memcpy(h, SEG_BLK_MAGIC, 4);
    seg_put_u32(h + 8, w->n_rows);
    seg_put_u16(h + 12, (uint16_t)n_chunks);
    seg_put_u16(h + 14, 0);
    seg_put_u64(h + 16, *tmin);
    seg_put_u64(h + 24, *tmax);
    seg_put_u16(h + SEG_BLK_FIXED_LEN, (uint16_t)n_zones);

    int end_first = tm.end_first;
    size_t pos = data_at, dir = dir_at;
    if (n_linked) {
        size_t len = seg_enc_varint(w->raw, w->links, 4, w->n_rows);
        if (segw_put_chunk(w, SEG_COL_LINKS, SEG_ENC_VARINT, SEG_PRES_ALL, FLOW_N_COLS, w->raw,
                           len, &pos, &dir) < 0)
            return 0;
    }
    for (int c = 0; c < FLOW_N_COLS; c++) {
        const segw_col_t *col = &w->cols[c];
        if (!col->n)
            continue;
        int partial = col->n != w->n_rows;
        uint8_t base = segw_base_encoding(c), enc;
        if (c == FLOW_COL_time_start)
            base = end_first ? SEG_ENC_DIFF_END : SEG_ENC_DELTA;
        else if (c == FLOW_COL_time_end)
            base = end_first ? SEG_ENC_DELTA : SEG_ENC_DIFF_START;
        enc = base;
        if (n_linked && c != FLOW_COL_time_start && c != FLOW_COL_time_end && segw_linkable(w, c))
            enc = SEG_ENC_LINKED;
        /* w->blk moves as it grows: an offset, not a pointer */
        uint8_t *zone = zone_at[c] ? w->blk + zone_at[c] : NULL;
        if (zone && tm.zones && (c == FLOW_COL_time_start || c == FLOW_COL_time_end)) {
            int st = c == FLOW_COL_time_start;
            uint8_t *mn = segw_zone_head(c, zone);
            seg_put_u64(mn, st ? tm.smin : tm.emin);
            seg_put_u64(mn + 8, st ? tm.smax : tm.emax);
            zone = NULL;
        }
        const uint8_t *raw = w->raw;
        size_t raw_len;
        if (tm.zones && (c == FLOW_COL_time_start || c == FLOW_COL_time_end)) {
            /* encoded by segw_times: the DELTA, or the difference */
            int k = base == SEG_ENC_DELTA ? c == FLOW_COL_time_end : 2;
            raw = w->tenc[k];
            raw_len = tm.len[k];
        } else {
            raw_len = segw_encode_col(w, c, enc, base, partial, zone);
        }
        if (c == FLOW_COL_src_port || c == FLOW_COL_dst_port)
            segw_zone_ports(col->vals, col->n, c, w->blk + ports_at[c == FLOW_COL_dst_port]);
        if (raw_len == (size_t)-1) {
            segw_fail(w, w->f.tmp_path, SEG_E_NOMEM, w->f.off, ENOMEM);
            return 0;
        }
        if (segw_put_chunk(w, (uint16_t)c, enc, partial ? SEG_PRES_BITMAP : SEG_PRES_ALL,
                           (unsigned)c, raw, raw_len, &pos, &dir) < 0)
            return 0;
    }
    size_t len = pos + SEG_BLK_CRC_LEN;
    seg_put_u32(w->blk + 4, (uint32_t)len);
    seg_put_u32(w->blk + pos, crc32c(w->blk, data_at));
    return len;
}

/* Opens the temporary file of the open interval, under the first sequence number whose final
 * and temporary names are both free. Nothing is written yet: the header goes out with the
 * first block, so that both cost one sync. */
static int segw_create(seg_writer_t *w)
{
    segw_file_t *f = &w->f;
    char hour[64], name[256];
    seg_dir_hour(hour, sizeof hour, w->start_ms);
    int n = snprintf(f->folder, sizeof f->folder, "%s/%s", w->dir, hour);
    if (n < 0 || (size_t)n >= sizeof f->folder)
        return segw_fail(w, w->dir, SEG_E_USAGE, 0, ENAMETOOLONG);
    /* One mkdir -p per hour folder, not per segment. */
    if (strcmp(f->folder, w->made_folder) != 0) {
        if (seg_dir_mkdirs(f->folder) != 0)
            return segw_fail(w, f->folder, segw_errno_code(errno), 0, errno);
        memcpy(w->made_folder, f->folder, (size_t)n + 1);
    }
    for (;; w->seq++) {
        char final_path[4096 + 256];
        seg_dir_name(name, sizeof name, w->start_ms, w->instance, w->seq);
        snprintf(final_path, sizeof final_path, "%s/%s", f->folder, name);
        n = snprintf(f->tmp_path, sizeof f->tmp_path, "%s/.%s.tmp", f->folder, name);
        if (n < 0 || (size_t)n >= sizeof f->tmp_path)
            return segw_fail(w, f->folder, SEG_E_USAGE, 0, ENAMETOOLONG);
        if (access(final_path, F_OK) == 0)
            continue;
        f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f->fd >= 0)
            break;
        if (errno == ENOENT)
            w->made_folder[0] = '\0'; /* removed under us (expire): make it again next time */
        if (errno != EEXIST)
            return segw_fail(w, f->tmp_path, segw_errno_code(errno), 0, errno);
    }
    f->off = 0;
    f->n_groups = 0;
    f->dir_synced = 0;
    return 0;
}

/* Forgets the open file (completed, or left for a retry) and readies the next one. */
static void segw_file_done(seg_writer_t *w)
{
    w->f.fd = -1;
    w->f.n_groups = 0;
    w->seq++;
    /* Counters belong to the interval they were recorded for. */
    free(w->exporters);
    w->exporters = NULL;
    w->n_exporters = 0;
}

static int segw_finish_file(seg_writer_t *w);
static int segw_counters_only(seg_writer_t *w);

/* Writes the open group as one block and makes it durable: with the file's header when it is
 * the first block, and with the footer and tail when `final`, so that a segment written in
 * one go (the common case when replaying a capture) costs one data sync and one folder sync
 * rather than three and two. Flows count as written once the sync returns. On failure the
 * group's flows are dropped and counted, and the file is cut back to its last good block. */
static int segw_flush(seg_writer_t *w, int final)
{
    segw_file_t *f = &w->f;
    if (w->n_rows == 0)
        return final ? segw_finish_file(w) : 0;
    uint32_t rows = w->n_rows;
    int rc = 0;
    if (f->fd < 0)
        rc = segw_create(w);
    uint64_t tmin = 0, tmax = 0;
    size_t len = 0;
    if (rc == 0) {
        len = segw_build_block(w, &tmin, &tmax);
        if (len == 0)
            rc = -w->err.code;
    }
    if (rc == 0 && f->n_groups == f->cap_groups) {
        uint32_t cap = f->cap_groups ? 2 * f->cap_groups : 64;
        segw_group_t *g = realloc(f->groups, cap * sizeof *g);
        if (!g)
            rc = segw_fail(w, f->tmp_path, SEG_E_NOMEM, f->off, ENOMEM);
        else {
            f->groups = g;
            f->cap_groups = cap;
        }
    }
    uint64_t good = f->off; /* the end of the last good block (0: nothing written yet) */
    uint64_t at = good ? good : SEG_HDR_LEN;
    if (rc == 0) {
        f->groups[f->n_groups] = (segw_group_t){at, (uint32_t)len, rows, tmin, tmax};
        int wr = 0;
        if (good == 0) {
            uint8_t hdr[SEG_HDR_LEN] = {0};
            memcpy(hdr, SEG_HDR_MAGIC, 8);
            seg_put_u16(hdr + 8, SEG_VERSION);
            wr = segw_write_all(w, f->fd, hdr, sizeof hdr, 0);
        }
        if (wr == 0)
            wr = segw_write_all(w, f->fd, w->blk, len, at);
        uint64_t end = at + len;
        if (wr == 0 && final) {
            if (w->o.on_segment_end)
                w->o.on_segment_end(w->o.on_segment_end_arg, w, w->start_ms);
            char meta[512];
            segw_meta(meta, sizeof meta, w->instance, w->start_ms, w->o.rotate_s, 0);
            size_t flen;
            uint8_t *ftr = segw_footer(f->groups, f->n_groups + 1, w->exporters, w->n_exporters,
                                       meta, end, &flen);
            if (!ftr) {
                errno = ENOMEM;
                wr = -1;
            } else {
                wr = segw_write_all(w, f->fd, ftr, flen, end);
                free(ftr);
                end += flen;
                /* the exact length: an earlier failed write may have left bytes past it */
                if (wr == 0)
                    wr = ftruncate(f->fd, (off_t)end);
            }
        }
        if (wr == 0)
            wr = fdatasync(f->fd);
        /* The temporary name itself must survive a power cut once flows count on it. */
        if (wr == 0 && !final && !f->dir_synced) {
            wr = segw_fsync_dir(f->folder);
            f->dir_synced = wr == 0;
        }
        if (wr != 0) {
            int e = errno;
            /* Best effort: if this fails too, the next block overwrites the debris and
             * completing the file truncates it to its exact length. */
            if (ftruncate(f->fd, (off_t)good) != 0)
                (void)0;
            rc = segw_fail(w, f->tmp_path, segw_errno_code(e), at, e);
        }
    }
    segw_reset_group(w);
    if (rc < 0) {
        w->stats.flows_dropped += rows;
        w->stats.write_errors++;
        if (final)
            segw_finish_file(w); /* the blocks already there, if any */
        return rc;
    }
    f->n_groups++;
    f->off = at + len;
    w->stats.flows_written += rows;
    if (final) {
        close(f->fd);
        rc = segw_rename_into_place(w, f->tmp_path);
        if (rc < 0)
            segw_unfinished_add(w, f->tmp_path); /* complete on disk: only the rename waits */
        segw_file_done(w);
        return rc;
    }
    if (f->off >= w->o.rotate_bytes)
        return segw_finish_file(w);
    return 0;
}

/* An interval that stored no flow but heard exporters (every datagram of a broken router
 * dropped, templates only): a segment of no group carries their counters, or `flowhunt
 * exporters` would miss just the router that most needs looking at. */
static int segw_counters_only(seg_writer_t *w)
{
    if (!w->have_interval || !w->o.on_segment_end)
        return 0;
    w->o.on_segment_end(w->o.on_segment_end_arg, w, w->start_ms);
    if (w->n_exporters == 0)
        return 0;
    segw_file_t *f = &w->f;
    int rc = segw_create(w);
    if (rc < 0)
        return rc;
    uint8_t hdr[SEG_HDR_LEN] = {0};
    memcpy(hdr, SEG_HDR_MAGIC, 8);
    seg_put_u16(hdr + 8, SEG_VERSION);
    rc = segw_write_all(w, f->fd, hdr, sizeof hdr, 0);
    if (rc != 0) {
        int e = errno;
        close(f->fd);
        unlink(f->tmp_path);
        segw_file_done(w);
        return segw_fail(w, f->tmp_path, segw_errno_code(e), 0, e);
    }
    char meta[512];
    segw_meta(meta, sizeof meta, w->instance, w->start_ms, w->o.rotate_s, 0);
    rc = segw_complete(w, f->fd, f->tmp_path, SEG_HDR_LEN, NULL, 0, meta);
    if (rc < 0)
        segw_unfinished_add(w, f->tmp_path);
    segw_file_done(w);
    return rc;
}

/* Completes the open file (if there is one) when no rows are pending: footer, sync, rename. A
 * file none of whose blocks could be written holds nothing and is removed. */
static int segw_finish_file(seg_writer_t *w)
{
    segw_file_t *f = &w->f;
    if (f->fd < 0)
        return segw_counters_only(w);
    int rc = 0;
    if (f->n_groups == 0) {
        close(f->fd);
        unlink(f->tmp_path);
    } else {
        if (w->o.on_segment_end)
            w->o.on_segment_end(w->o.on_segment_end_arg, w, w->start_ms);
        char meta[512];
        segw_meta(meta, sizeof meta, w->instance, w->start_ms, w->o.rotate_s, 0);
        rc = segw_complete(w, f->fd, f->tmp_path, f->off, f->groups, f->n_groups, meta);
        if (rc < 0)
            segw_unfinished_add(w, f->tmp_path);
    }
    segw_file_done(w);
    return rc;
}

/* Ends the open interval: its last rows and its file, together. */
static int segw_finish_interval(seg_writer_t *w)
{
    int rc = segw_flush(w, 1);
    if (w->have_interval)
        w->closed_end_ms = w->start_ms + w->rotate_ms;
    w->have_interval = 0;
    return rc;
}

/* ---- the API ----------------------------------------------------------------------------- */

int seg_instance_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SEG_INSTANCE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void segw_free(seg_writer_t *w)
{
    if (w->f.fd >= 0)
        close(w->f.fd);
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    ZSTD_freeCCtx(w->cctx);
    seg_dict_free(&w->dict);
    for (int c = 0; c < FLOW_N_COLS; c++) {
        free(w->cols[c].vals);
    }
    for (uint32_t i = 0; i < w->n_unfinished; i++)
        segw_unfinished_free(&w->unfinished[i]);
    free(w->raw);
    free(w->starts);
    for (int k = 0; k < 3; k++)
        free(w->tenc[k]);
    free(w->links);
    free(w->row_present);
    free(w->lk_row);
    free(w->lslots);
    free(w->gather);
    free(w->blk);
    free(w->ztry);
    free(w->f.groups);
    free(w->exporters);
    free(w->dir);
    free(w->instance);
    free(w);
}

/* A failed open: what went wrong where goes to the caller's open_where, then the writer. */
static seg_writer_t *segw_open_fail(seg_writer_t *w, int rc, int *err)
{
    if (w->o.open_where)
        *w->o.open_where = w->err;
    segw_free(w);
    *err = rc;
    return NULL;
}

seg_writer_t *seg_writer_open(const seg_writer_opts_t *opts, int *err)
{
    *err = 0;
    if (!opts || !opts->dir || !seg_instance_ok(opts->instance) ||
        opts->group_rows > SEG_MAX_ROWS || opts->rotate_s > SEG_MAX_ROTATE_S ||
        opts->zstd_level > ZSTD_maxCLevel()) {
        *err = -SEG_E_USAGE;
        return NULL;
    }
    seg_writer_t *w = calloc(1, sizeof *w);
    if (!w) {
        *err = -SEG_E_NOMEM;
        return NULL;
    }
    w->o = *opts;
    w->f.fd = -1;
    w->lock_fd = -1;
    w->pres_and = ~(uint64_t)0;
    if (!w->o.rotate_s)
        w->o.rotate_s = SEGW_DEFAULT_ROTATE_S;
    if (!w->o.rotate_bytes)
        w->o.rotate_bytes = SEGW_DEFAULT_ROTATE_BYTES;
    if (!w->o.flush_ms)
        w->o.flush_ms = SEGW_DEFAULT_FLUSH_MS;
    if (!w->o.group_rows)
        w->o.group_rows = SEG_MAX_ROWS;
    if (!w->o.zstd_level)
        w->o.zstd_level = 1;
    if (!w->o.write_fn)
        w->o.write_fn = segw_pwrite;
    w->rotate_ms = (uint64_t)w->o.rotate_s * 1000;
    w->dir = strdup(opts->dir);
    w->instance = strdup(opts->instance);
    w->o.dir = w->dir;
    w->o.instance = w->instance;

    uint32_t rows = w->o.group_rows;
    size_t bm = ((size_t)rows + 7) / 8;
    w->raw_cap = bm + seg_enc_bound(16, rows) + 64;
    w->raw = malloc(w->raw_cap);
    w->starts = malloc((size_t)rows * sizeof *w->starts);
    for (int k = 0; k < 3; k++)
        w->tenc[k] = malloc((size_t)rows * SEG_VARINT_MAX + 4); /* varint3's word past the last */
    w->links = malloc((size_t)rows * sizeof *w->links);
    w->row_present = malloc((size_t)rows * sizeof *w->row_present);
    w->lk_row = malloc((size_t)rows * sizeof *w->lk_row);
    w->lslots = malloc(SEGW_LINK_SLOTS * sizeof *w->lslots);
    w->gather = malloc((size_t)rows * sizeof(flow_addr_t));
    w->cctx = ZSTD_createCCtx();
    int ok = w->dir && w->instance && w->raw && w->starts && w->tenc[0] && w->tenc[1] &&
             w->tenc[2] && w->links && w->row_present &&
             w->lk_row && w->lslots && w->gather && w->cctx;
    for (int c = 0; ok && c < FLOW_N_COLS; c++) {
        w->cols[c].vals = malloc((size_t)rows * flow_cols[c].width);
        ok = w->cols[c].vals != NULL;
    }
    if (!ok) {
        segw_free(w);
        *err = -SEG_E_NOMEM;
        return NULL;
    }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->o.zstd_level);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 0); /* our CRC covers the chunk */
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_dictIDFlag, 0);
    /* At the default level, matches of at least 7 bytes (level 1 looks for 5 or 6, by chunk
     * size): encoded columns are already dense, shorter matches seldom pay for themselves,
     * and looking for them was a tenth of zstd's time. Measured on the chunks of 2 M flowgen
     * flows: 7% less zstd CPU and 0.15% fewer bytes. And a match-finder table of 2^11
     * entries (8 KiB; level 1 takes 2^13 to 2^15 by chunk size): in the dense encoded
     * bytes it finds nearly the same matches. Measured on the same chunks: 10% less zstd
     * CPU, 0.1% more bytes. Any frame decodes the same. */
    if (w->o.zstd_level == 1) {
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_minMatch, 7);
        ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_hashLog, 11);
        /* An experimental parameter: a library that does not know it says so, and every
         * chunk then keeps the plain settings. At level 1 without acceleration literals are
         * Huffman-coded anyway, so forcing it changes nothing for the other chunks. */
        w->accel_ok = !ZSTD_isError(
            ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_literalCompressionMode, ZSTD_ps_enable));
    }
    /* Until a kind of chunk is tried (its first chunk is), byte symbols are guessed fast. */
    for (unsigned k = 0; k < SEGW_ZSTD_KINDS; k++) {
        w->zaccel[k] = k == FLOW_N_COLS || flow_cols[k].type == FLOW_T_U8;
        w->zgap[k] = SEGW_ZSTD_GAP0;
    }

    /* The lock: DIR/state/<instance>/writer.lock, held (flock) while the writer lives. */
    char path[4096];
    snprintf(path, sizeof path, "%s/state/%s", w->dir, w->instance);
    if (seg_dir_mkdirs(path) != 0)
        return segw_open_fail(w, segw_fail(w, path, segw_errno_code(errno), 0, errno), err);
    snprintf(path, sizeof path, "%s/state/%s/writer.lock", w->dir, w->instance);
    w->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->lock_fd < 0 || flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = w->lock_fd >= 0 && errno == EWOULDBLOCK;
        return segw_open_fail(w, segw_fail(w, path, busy ? SEG_E_BUSY : SEG_E_IO, 0, errno), err);
    }
    int rc = segw_recover_all(w);
    if (rc < 0)
        return segw_open_fail(w, rc, err);
    return w;
}

int seg_writer_mark(seg_writer_t *w, uint64_t place_ms)
{
    int rc = 0;
    /* an exporter's garbage clock (--read and import place by the data's time) */
    if (place_ms > SEG_DIR_LAST_HOUR_MS)
        place_ms = SEG_DIR_LAST_HOUR_MS;
    if (w->have_interval && (place_ms >= w->start_ms + w->rotate_ms ||
                             (place_ms < w->start_ms && w->start_ms - place_ms > w->rotate_ms)))
        rc = segw_finish_interval(w);
    if (!w->have_interval) {
        w->have_interval = 1;
        w->start_ms = place_ms - place_ms % w->rotate_ms;
        /* Late by less than an interval for one already completed (tick closed it on the
         * clock while flows were still in flight): the next interval takes it, as an open
         * segment would, rather than a second small segment of the old interval. */
        if (w->start_ms < w->closed_end_ms && w->closed_end_ms - place_ms <= w->rotate_ms)
            w->start_ms = w->closed_end_ms;
        w->seq = 0;
    }
    return rc;
}

int seg_writer_add(seg_writer_t *w, const flow_rec_t *rec, uint64_t place_ms)
{
    int rc = seg_writer_mark(w, place_ms);
    if (w->n_rows == 0)
        w->first_row_mono = segw_mono_ms();
    segw_append(w, rec);
    if (w->n_rows >= w->o.group_rows) {
        int rc2 = segw_flush(w, 0);
        if (rc == 0)
            rc = rc2;
    }
    return rc;
}

int seg_writer_tick(seg_writer_t *w, uint64_t now_ms)
{
    int rc = 0, rc2;
    /* the clock that placed the flows, clamped as their places were (seg_writer_mark): past
     * it, every tick closed the last hour's segment, one segment per datagram */
    if (now_ms > SEG_DIR_LAST_HOUR_MS)
        now_ms = SEG_DIR_LAST_HOUR_MS;
    if (w->n_rows && segw_mono_ms() - w->first_row_mono >= w->o.flush_ms)
        rc = segw_flush(w, 0);
    if (w->have_interval && now_ms >= w->start_ms + w->rotate_ms) {
        rc2 = segw_finish_interval(w);
        rc = rc < 0 ? rc : rc2;
    }
    if (w->n_unfinished) {
        rc2 = segw_retry_unfinished(w);
        rc = rc < 0 ? rc : rc2;
    }
    return rc;
}

void seg_writer_set_exporters(seg_writer_t *w, const seg_exporter_stat_t *st, uint32_t n)
{
    seg_exporter_stat_t *copy = NULL;
    if (n) {
        copy = malloc((size_t)n * sizeof *copy);
        if (!copy)
            return; /* the counters are advisory; the flows are what must not be lost */
        memcpy(copy, st, (size_t)n * sizeof *copy);
    }
    free(w->exporters);
    w->exporters = copy;
    w->n_exporters = n;
}

const seg_writer_stats_t *seg_writer_stats(const seg_writer_t *w)
{
    return &w->stats;
}

const seg_where_t *seg_writer_error(const seg_writer_t *w)
{
    return &w->err;
}

int seg_writer_flush(seg_writer_t *w)
{
    int rc = segw_finish_interval(w);
    int rc2 = segw_retry_unfinished(w);
    return rc < 0 ? rc : rc2;
}

int seg_writer_close(seg_writer_t *w)
{
    if (!w)
        return 0;
    int rc = seg_writer_flush(w);
    segw_free(w);
    return rc;
}
