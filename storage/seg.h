/* seg.h: flow segments on disk (storage/FORMAT.md): the writer, the reader, the directory.
 *
 * The writer is the only way flows reach disk; the reader the only way they come back. The
 * reader hands out row groups as batches of columns decoded on demand, so a filter on one
 * column decodes that column only and the rest only for the rows it keeps. Nothing here
 * links libuv: the analyzer uses the reader, the collector the writer.
 */
#ifndef FH_SEG_H
#define FH_SEG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"

/* Every way a segment or a directory can fail, numbered once: X(code, name, message). */
#define SEG_ERRORS(X)                                                                              \
    X(SEG_E_IO, "io", "read, write, sync or rename failed (errno is kept)")                        \
    X(SEG_E_NOSPACE, "no_space", "the disk is full")                                               \
    X(SEG_E_NOMEM, "no_memory", "out of memory")                                                   \
    X(SEG_E_MAGIC, "bad_magic", "not a flowhunt segment (header or tail magic)")                   \
    X(SEG_E_VERSION, "bad_version", "a format version or flags this reader does not know")         \
    X(SEG_E_TRUNCATED, "truncated", "the file ends inside a structure")                            \
    X(SEG_E_OFFSET, "bad_offset", "an offset or length points outside its container")              \
    X(SEG_E_CHECKSUM, "bad_checksum", "a CRC-32C does not match")                                  \
    X(SEG_E_CORRUPT, "corrupt", "a field holds an impossible value")                               \
    X(SEG_E_DECOMPRESS, "decompress", "a chunk does not decompress to its stated length")          \
    X(SEG_E_USAGE, "usage", "invalid argument")                                                    \
    X(SEG_E_BUSY, "busy", "another writer holds this instance (DIR/state/<instance>/writer.lock)")

typedef enum seg_err {
    SEG_OK = 0,
#define SEG_X_ENUM(code, name, msg) code,
    SEG_ERRORS(SEG_X_ENUM)
#undef SEG_X_ENUM
        SEG_N_ERRORS
} seg_err_t;

const char *seg_err_name(int code); /* "bad_checksum" (code positive or negative) */
const char *seg_strerror(int code);

/* Where an error was found: the file and the byte offset, for messages and `verify`. */
typedef struct seg_where {
    char path[4096];
    uint64_t offset;
    int code; /* SEG_E_* */
    int sys_errno;
} seg_where_t;

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct seg_writer seg_writer_t;

/* The longest segment interval: seg_dir.c's margins assume intervals of at most an hour. */
#define SEG_MAX_ROTATE_S 3600

typedef struct seg_writer_opts {
    const char *dir;       /* the data directory (DIR, not DIR/flows) */
    const char *instance;  /* collector instance name, [A-Za-z0-9_-]{1,32} */
    uint32_t rotate_s;     /* segment interval, default 60, at most SEG_MAX_ROTATE_S */
    uint64_t rotate_bytes; /* rotate early past this size, default 256 MiB */
    uint32_t flush_ms;     /* a partial row group reaches disk within this, default 2000;
                            * timed by CLOCK_MONOTONIC, not the place_ms clock */
    uint32_t group_rows;   /* rows per row group, default 65536 */
    int zstd_level;        /* default 1 */
    /* Called just before a segment is completed, so the caller can hand it the exporter
     * counters of its interval with seg_writer_set_exporters(). May be NULL. */
    void (*on_segment_end)(void *arg, seg_writer_t *w, uint64_t interval_start_ms);
    void *on_segment_end_arg;
    /* Fault-injection seam for tests: every write of segment bytes goes through it (pwrite
     * semantics: bytes written, or -1 with errno). NULL means pwrite(2). */
    long (*write_fn)(void *arg, int fd, const void *buf, size_t len, uint64_t offset);
    void *write_arg;
    /* Seam for tests: the rename that makes a completed segment visible (0, or -1 with errno;
     * EEXIST: the name is taken). Called with write_arg. NULL: renameat2 RENAME_NOREPLACE. */
    int (*rename_fn)(void *arg, const char *from, const char *to);
    /* When not NULL and seg_writer_open fails: the file or folder and the system's errno
     * (the writer that would keep them is gone). */
    seg_where_t *open_where;
} seg_writer_opts_t;

/* Exporter counters recorded in a segment's footer. */
typedef struct seg_exporter_stat {
    flow_addr_t addr;
    uint16_t version;
    uint32_t domain;
    uint64_t datagrams, flows, seq_lost, drops;
} seg_exporter_stat_t;

typedef struct seg_writer_stats {
    uint64_t flows_written; /* durable: in a block that was fsynced */
    uint64_t flows_dropped; /* lost to write errors such as a full disk */
    uint64_t segments;      /* segments completed */
    uint64_t write_errors;
    uint64_t segments_misplaced; /* noted in DIR/flows/misplaced: flows outside their folder */
} seg_writer_stats_t;

/* Whether `name` can name a writer's instance (segment names, DIR/state/<name>): 1 to
 * SEG_INSTANCE_MAX letters, digits, '_' or '-'. seg_writer_open refuses any other. */
#define SEG_INSTANCE_MAX 32
int seg_instance_ok(const char *name);
#define SEG_INSTANCE_RULE "1 to 32 letters, digits, '_' or '-'"

/* Opens a writer; first recovers any temporary segment this instance left behind (a crash):
 * its complete blocks become a normal segment. NULL with *err = -SEG_E_* on failure. */
seg_writer_t *seg_writer_open(const seg_writer_opts_t *opts, int *err);
/* Adds one flow. `place_ms` decides its segment interval: the arrival wall clock in the
 * daemon, the time the data carries for --read and import. A flow more than one interval
 * before the open segment's start gets a segment of its own interval; one less late joins
 * the open segment (its footer records the true times). Returns 0 or -SEG_E_* when writing
 * a row group failed: the group's flows (this one among them) are counted as dropped. */
int seg_writer_add(seg_writer_t *w, const flow_rec_t *rec, uint64_t place_ms);
/* Periodic duty, called at least every flush_ms: writes a partial row group that has waited
 * flush_ms (real time, CLOCK_MONOTONIC: a replayed capture's data clock runs far faster than
 * real time, and durability is a promise in real time), closes a segment whose interval
 * ended (`now_ms` is on the place_ms clock), and retries completing segments that a full
 * disk left unfinished. */
int seg_writer_tick(seg_writer_t *w, uint64_t now_ms);
/* Something arrived at place_ms that stored no flow (a datagram dropped whole, templates):
 * opens its interval as a flow would, so that the interval's end completes a segment (of no
 * group, if no flow came) for the counters on_segment_end hands over. */
int seg_writer_mark(seg_writer_t *w, uint64_t place_ms);
/* Replaces the exporter counters the next completed segment records. */
void seg_writer_set_exporters(seg_writer_t *w, const seg_exporter_stat_t *st, uint32_t n);
const seg_writer_stats_t *seg_writer_stats(const seg_writer_t *w);
/* The last write error (file, offset, code, errno); code 0 when there was none. */
const seg_where_t *seg_writer_error(const seg_writer_t *w);
/* Writes the open group and completes the open segment now (the next flow starts a new
 * one), so that stats count everything. 0 or -SEG_E_*. */
int seg_writer_flush(seg_writer_t *w);
/* Writes everything, completes the open segment, frees. 0 or -SEG_E_*. */
int seg_writer_close(seg_writer_t *w);

/* ---- reading ------------------------------------------------------------------------------ */

typedef struct seg_file seg_file_t; /* one open (mapped, validated) segment */

typedef struct seg_group_info {
    uint32_t n_rows;
    uint64_t time_min, time_max;
} seg_group_info_t;

/* Opens and validates header, tail, footer and every block header's offsets and lengths
 * (not the chunk checksums: seg_verify does those). 0 or -SEG_E_* with *where filled. */
int seg_open(const char *path, seg_file_t **out, seg_where_t *where);
/* Whether seg_open's error says the file was not there (ENOENT at its open): a segment that a
 * listing named and `flowhunt expire` removed before it was opened. Readers skip it as if it
 * had not been listed. Nothing vanishes mid-read: an open segment is mapped or read whole, and
 * its inode outlives a removal until it is closed. */
int seg_open_gone(int rc, const seg_where_t *where);
/* Whether a listed path seg_open_gone skipped is a name still there: a symbolic link to no
 * file (a segment moved to a disk that is not mounted), not a segment removed since the
 * listing. Its flows are unreadable, so readers skip it with a warning and verify reports it. */
int seg_path_dangling(const char *path);
/* The same from memory (a fuzzer's input, a test's guard-page copy): `data` is borrowed and
 * must outlive the file; `name` is used in *where. */
int seg_open_mem(const void *data, size_t len, const char *name, seg_file_t **out,
                 seg_where_t *where);
void seg_close(seg_file_t *f);
const char *seg_file_path(const seg_file_t *f);
/* The footer's key=value lines (instance, created, writer, interval); not NUL-terminated. */
const char *seg_meta(const seg_file_t *f, size_t *len);
uint32_t seg_n_groups(const seg_file_t *f);
void seg_group(const seg_file_t *f, uint32_t g, seg_group_info_t *out);
/* Zone map of a column in a group: 1 and min/max (raw column bytes, width of the column) when
 * the group has one, else 0. */
int seg_zone(const seg_file_t *f, uint32_t g, int col, void *min, void *max);
/* Port buckets of src_port or dst_port in group g: 1 when the group has them, with bits[]
 * one bit per 128 ports: bucket i = v >> 7 is bit i % 8 of byte i / 8, set when some row of
 * the group may have a value v in it (a half of the port space the group carries no buckets
 * for reads as all set), else 0. */
#define SEG_PORT_BUCKET_BYTES 64
int seg_zone_ports(const seg_file_t *f, uint32_t g, int col, uint8_t bits[SEG_PORT_BUCKET_BYTES]);
static inline void seg_port_bucket_set(uint8_t bits[SEG_PORT_BUCKET_BYTES], uint16_t port)
{
    bits[port >> 10] |= (uint8_t)(1u << ((port >> 7) & 7));
}
static inline int seg_port_bucket_has(const uint8_t bits[SEG_PORT_BUCKET_BYTES], uint16_t port)
{
    return bits[port >> 10] >> ((port >> 7) & 7) & 1;
}
uint32_t seg_n_exporters(const seg_file_t *f);
const seg_exporter_stat_t *seg_exporters(const seg_file_t *f);

/* A row group as columns, decoded on demand. vals[c] is an array of n_rows values of the
 * column's C type (flow_ctype_*), zero where absent; present[c] is NULL when every row has
 * the column, else one byte per row (1 present). Column c is loaded when
 * (loaded >> c) & 1. Owned by the batch; valid until the next seg_batch_* call on it. */
typedef struct seg_batch {
    uint32_t n_rows;
    uint64_t loaded;
    void *vals[FLOW_N_COLS];
    uint8_t *present[FLOW_N_COLS];
    /* private */
    const uint32_t *sel; /* seg_batch_restrict */
    uint32_t n_sel;
    const seg_file_t *file;
    uint32_t group;
    void *scratch;
    size_t scratch_cap;
    int err_code;        /* the last failed load or codes since the open (SEG_E_*), ... */
    uint64_t err_offset; /* ... and where: a scan names it for a callback that failed on it */
} seg_batch_t;

void seg_batch_init(seg_batch_t *b);
void seg_batch_free(seg_batch_t *b);
/* Points the batch at group g of f (nothing decoded yet). */
int seg_batch_open(seg_batch_t *b, const seg_file_t *f, uint32_t g, seg_where_t *where);
/* Decodes column c of the batch's group (checking its chunk's CRC). 0 or -SEG_E_*. */
int seg_batch_load(seg_batch_t *b, int col, seg_where_t *where);
/* 1 when the group's zone map on `sampling` says no row has an interval above 1, so a reader
 * that corrects counters need not decode the column (absent or 0 and 1 both mean unsampled);
 * 0 when it may have one, or the group has no such zone (an older writer's). */
int seg_batch_unsampled(const seg_batch_t *b);
/* From now until the next seg_batch_open, the batch holds rows[0 .. k) of its group only
 * (strictly ascending, borrowed; once per open): place q of vals[c] and present[c] is row
 * rows[q], for the columns loaded before this call (moved there by it) and after; places
 * from k on are unspecified, and seg_batch_row takes places. Decompressing and decoding still
 * read a whole chunk, but rows that a filter did not select are not put in place (cat prints
 * a few rows of many), and the selected ones are consecutive: cat's formatting of a column
 * array larger than the cache no longer waits on a miss per field. */
void seg_batch_restrict(seg_batch_t *b, const uint32_t *rows, uint32_t k);

/* Row i as a record, with the loaded columns only (the others absent). */
void seg_batch_row(const seg_batch_t *b, uint32_t i, flow_rec_t *out);

/* An address column as its group's dictionary: row i's value is dict[code[i]] where
 * present[i] (present NULL: every row). Each address has one code (two rows with the same
 * address have the same code); some entries may be used by no row (a linked column's
 * dictionary is its own followed by its mirror's, whose duplicates are not used). For an
 * aggregation by address: sum per code, then look each used entry up once, instead of a
 * probe per row. */
typedef struct seg_codes {
    const uint32_t *code;
    const uint8_t *present;
    const flow_addr_t *dict;
    uint32_t n_dict;
} seg_codes_t;

/* Decodes address column c of the batch's group as codes, without making its addresses (nor
 * marking it loaded); a seg_batch_load of c before the next seg_batch_codes makes them from
 * these codes, without decoding the chunk again, and asking for c's codes again returns them. 1
 * with *out (valid until the next seg_batch_* call), 0 when the group does not store it as a
 * dictionary (no chunk, raw addresses, links of an unusual shape: use seg_batch_load), or -SEG_E_*.
 */
int seg_batch_codes(seg_batch_t *b, int col, seg_codes_t *out, seg_where_t *where);

/* As seg_batch_codes, for a caller that reads code[] at rows[0 .. k) only (ascending, of an
 * unrestricted batch): the other places may be left unset, and codes left partial are not
 * kept (a seg_batch_load of c decodes the chunk). rows NULL: every row. */
int seg_batch_codes_of(seg_batch_t *b, int col, const uint32_t *rows, uint32_t k, seg_codes_t *out,
                       seg_where_t *where);

/* Checks every checksum and decodes every chunk of a file, and that each group's time range
 * and zone maps are exactly those of its rows; 0 or the first -SEG_E_* found. */
int seg_verify(const char *path, seg_where_t *where);
int seg_verify_file(const seg_file_t *f, seg_where_t *where);

/* ---- the data directory ----------------------------------------------------------------- */

/* Segment paths under DIR/flows whose hour folders may hold flows overlapping [from, to)
 * (ms; 0 and UINT64_MAX for everything), sorted by name. Hours are widened by a margin for
 * long flows; the footers decide. Returns the count (paths malloc'd in *out) or -SEG_E_*. */
int seg_dir_list(const char *dir, uint64_t from_ms, uint64_t to_ms, char ***out);
void seg_dir_list_free(char **paths, int n);
/* The temporary segments under DIR/flows (".fh-...-<instance>-<seq>.seg.tmp"): the open
 * segments of live writers, and those a writer that stopped without completing them (a
 * crash, a full disk) left for the instance's next writer to recover. Sorted by name; the
 * count (paths malloc'd in *out, freed by seg_dir_list_free) or -SEG_E_*. */
int seg_dir_list_tmp(const char *dir, char ***out);
/* The instance that a temporary segment's name carries; 0, or -1 when it is not one. */
int seg_dir_tmp_instance(const char *path, char out[SEG_INSTANCE_MAX + 1]);
/* 1 when a writer of `instance` lives now (it holds DIR/state/<instance>/writer.lock), 0
 * when none does, -1 when it cannot be told (no /proc/locks). Takes no lock itself. */
int seg_instance_live(const char *dir, const char *instance);
/* The interval start a segment's name carries ("fh-YYYYMMDDTHHMMSSZ-...", any folder before
 * it), in ms: 0, or -1 when the name is not one of ours or not a real instant. */
int seg_dir_name_time(const char *path, uint64_t *ms);
/* Removes the lists of segments out of place (DIR/flows/misplaced, seg_dir.c) of days that
 * end by before_ms: `expire`, once no segment named on those days is left. 0 or -1. */
int seg_dir_misplaced_expire(const char *dir, uint64_t before_ms);

/* mkdir -p: every missing folder of path, 0755. 0, or -1 with errno. */
int seg_dir_mkdirs(const char *path);

/* ---- scanning ------------------------------------------------------------------------------ */

/* A scan of a directory's segments over a time window, spread over `n_workers` threads (one
 * segment at a time each). For every row group that overlaps the window, `want(arg, f, g)`
 * decides from its zone maps whether to read it (return 0 to skip; NULL reads all); then
 * `batch(arg, worker, b)` gets the group as a batch with nothing loaded (it loads the columns
 * it needs with seg_batch_load); with `batch` NULL (and a `want`) nothing is decoded: a scan of the groups'
 * headers through want() alone. Callbacks run on the worker threads: `worker` (0 ..
 * n_workers-1) indexes the caller's per-worker state. A callback returning < 0 stops the
 * scan with that value. Returns 0, a callback's negative value, or -SEG_E_* with *where
 * (a corrupt segment stops the scan: its name and offset are in *where). */
typedef int (*seg_want_fn)(void *arg, const seg_file_t *f, uint32_t g);
typedef int (*seg_batch_fn)(void *arg, int worker, seg_batch_t *b);
typedef struct seg_scan_stats {
    uint64_t segments, groups, groups_skipped, rows;
    /* listed names that were dangling links (seg_path_dangling), skipped; the first of them in
     * the listing's order ("" when none), for the caller to warn of */
    uint64_t dangling;
    char dangling_path[4096];
} seg_scan_stats_t;
int seg_scan(const char *dir, uint64_t from_ms, uint64_t to_ms, int n_workers, seg_want_fn want,
             seg_batch_fn batch, void *arg, seg_scan_stats_t *stats, seg_where_t *where);
/* seg_scan with options. SEG_SCAN_GROUPS hands out row groups instead of segments, so a few
 * large segments split evenly over the workers; a segment's groups then go to several
 * threads in turn, so a callback may keep no per-segment state in its per-worker state, and
 * groups reach the callbacks in no fixed order. seg_scan is seg_scan_flags with 0. */
#define SEG_SCAN_GROUPS 1u
/* SEG_SCAN_ANY_TIME: the window chooses the segments (by name, as always) but not their row
 * groups: every group goes to want(), which decides on its own time range. The hunts' hour
 * cache reads the margins of its hours from exactly the segments a run over its window reads,
 * whatever window it was built in. */
#define SEG_SCAN_ANY_TIME 2u
int seg_scan_flags(const char *dir, uint64_t from_ms, uint64_t to_ms, int n_workers, unsigned flags,
                   seg_want_fn want, seg_batch_fn batch, void *arg, seg_scan_stats_t *stats,
                   seg_where_t *where);

#endif
