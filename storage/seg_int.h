/* seg_int.h: what the segment files (seg_read.c, seg_write.c, seg_dir.c, seg_scan.c) share
 * and nobody else may use: the parsed form of a row-group block, the one block validator the
 * reader and the writer's crash recovery both trust, and error bookkeeping.
 */
#ifndef FH_SEG_INT_H
#define FH_SEG_INT_H

#include <stdint.h>

#include "seg.h"
#include "seg_enc.h"

/* A row-group block whose header, zone maps and directory were validated (segr_block_parse):
 * every offset here lies inside the block, so later code reads them without checks. */
typedef struct segr_block {
    uint64_t off; /* of the block in the file */
    uint32_t len, n_rows;
    uint64_t time_min, time_max;
    uint32_t n_chunks;
    uint64_t dir_off;  /* of the chunk directory */
    uint64_t data_off; /* of the first chunk's data */
    /* Known columns only: -1, or the chunk's index in the directory / the zone's offset. */
    int32_t chunk_of_col[FLOW_N_COLS];
    uint64_t chunk_data_off[FLOW_N_COLS];
    int64_t zone_off[FLOW_N_COLS]; /* of the zone's min value */
    int64_t ports_off[SEG_ZONE_PORTS_N]; /* of each port-bucket zone's bits, or -1 */
    int32_t links_chunk;           /* SEG_COL_LINKS: directory index, or -1 */
    uint64_t links_data_off;
} segr_block_t;

/* One chunk directory entry, decoded. */
typedef struct segr_chunk {
    uint16_t col;
    uint8_t enc, presence;
    uint32_t stored_len, raw_len, crc;
} segr_chunk_t;

/* Validates the block at `off` within [0, limit) of `base`: lengths, magic, reserved fields,
 * the header CRC, every directory entry (chunk lengths against the block and the raw-length
 * limit), zone maps. Not the chunk CRCs. 0 or -SEG_E_* with *bad_off where it failed. */
int segr_block_parse(const uint8_t *base, uint64_t limit, uint64_t off, segr_block_t *out,
                     uint64_t *bad_off);
void segr_chunk_get(const uint8_t *base, const segr_block_t *b, uint32_t k, segr_chunk_t *out);
/* Checks the CRC of every chunk of a parsed block (unknown columns too). */
int segr_block_check_chunks(const uint8_t *base, const segr_block_t *b, uint64_t *bad_off);

/* Fills *where (when non-NULL) and returns -code. */
int seg_where_set(seg_where_t *where, const char *path, int code, uint64_t offset, int sys_errno);

/* The segment file name for an interval: "fh-YYYYMMDDTHHMMSSZ-<instance>-<seq>.seg", and its
 * hour folder relative to DIR: "flows/YYYY/MM/DD/HH". */
void seg_dir_name(char *out, size_t cap, uint64_t start_ms, const char *instance, uint32_t seq);
void seg_dir_hour(char *out, size_t cap, uint64_t start_ms);
/* The last hour whose folder readers list: 9999-12-31T23:00:00Z (folders have four-digit
 * years). The writer places later flows there, noted out of place, not in a folder of year
 * 10000 or more that no listing, verify or expire would ever walk. */
#define SEG_DIR_LAST_HOUR_MS 253402297200000ull
/* Whether a segment named for interval start name_ms, holding flows whose times span
 * [tmin, tmax], is found by every window that meets its flows through its hour folder alone
 * (seg_dir_list's margins). */
int seg_dir_in_place(uint64_t name_ms, uint64_t tmin, uint64_t tmax);
/* The writer of `instance`, once segment seg_path (under DIR) is in place: when it is not in
 * place by its name, appends it with its range to DIR/flows/misplaced/<instance>.tsv, which
 * windowed listings read. 0 in place, 1 noted, or -1 with errno. */
int seg_dir_note_placement(const char *dir, const char *instance, const char *seg_path,
                           uint64_t tmin, uint64_t tmax);
/* Calls fn(arg, folder, name) for every entry of every hour folder under DIR/flows (names
 * starting with a dot included); 0, or fn's first nonzero return, or -1 with errno. */
int seg_dir_walk(const char *dir, int (*fn)(void *arg, const char *folder, const char *name),
                 void *arg);

#endif
