/* hunt_unit.h: hours of prepared conversations kept under DIR/hunt/cache (hunt_unit.c), and the
 * steps of preparation (hunt_prep.c) the two share. Nothing else includes this header.
 *
 * A scheduled hunt runs over the same days again and again; only the last hour is new. So a
 * window's whole hours ("units") are prepared once and kept: each unit's file holds the
 * conversations whose records could not have been joined to a record outside the hour, and,
 * raw, the few records that could (near the hour's edges, or sharing a conversation key with a
 * record there). A run prepares those raw records together with the rows of the hours it could
 * not take from the cache, and feeds the hunts every conversation in the one time order: the
 * report is the one a run without the cache gives (hunt_unit.c says why).
 */
#ifndef FH_HUNT_UNIT_H
#define FH_HUNT_UNIT_H

#include <stdio.h>

#include "hunt.h"
#include "seg.h"

/* ---- preparation's steps (hunt_prep.c) ------------------------------------------------------ */

/* FNV-1a of n bytes, continuing from h (HP_FNV0 to start). */
#define HP_FNV0 0xcbf29ce484222325ull
uint64_t hp_fnv(const void *p, size_t n, uint64_t h);

typedef struct hp_recs {
    hp_rec_t *v;
    size_t n, cap;
} hp_recs_t;

/* A new record at the end of v (not initialised). */
hp_rec_t *hp_recs_push(hp_recs_t *v);
/* Appends the rows of b (rows[0..n), ascending, or with rows NULL the first n) whose time
 * range overlaps [from, to) as records (an end before the start counts as the start); keep
 * (NULL: all) sees t0, t1, src and dst of each and returns 0 to leave it out. 0, or -SEG_E_*
 * when a column does not decode. */
int hp_batch_recs(seg_batch_t *b, const uint32_t *rows, uint32_t n, uint64_t from_ms,
                  uint64_t to_ms, int (*keep)(void *arg, const hp_rec_t *r), void *arg,
                  hp_recs_t *out);
/* Steps 1-3 of preparation (stitch, deduplicate, pair): the conversations of recs[0..n) in no
 * particular order, malloc'd in *convs (NULL when none); the records are changed. */
size_t hp_conv_build(const hunt_config_t *cfg, hp_rec_t *recs, size_t n, hp_stats_t *st,
                     hunt_conv_t **convs);
/* The same over the records refs[0..n) point at, wherever they lie (each once): refs is
 * malloc'd and taken (reordered, then freed). Records stay where the scan left them, so no
 * step copies them into one array first. */
size_t hp_conv_build_refs(const hunt_config_t *cfg, hp_rec_t **refs, size_t n, hp_stats_t *st,
                          hunt_conv_t **convs);
/* Step 4: pointers to convs[0..n) in the total time order the hunts are fed in (malloc'd);
 * counts them into st. */
const hunt_conv_t **hp_conv_order(const hunt_conv_t *convs, size_t n, hp_stats_t *st);
/* A hash of the record's conversation key (unordered addresses and ports, protocol; ICMP
 * without ports): every record preparation could join to r has the same. */
uint64_t hp_ckey_hash(const hp_rec_t *r);
/* The pass key of a record's or a conversation's pair of /24s (a 64-bit hash, whichever way
 * round), and the pass (of `parts`) a key falls in: passes are ranges of keys, so a file
 * sorted by key gives each pass a contiguous run (hunt_unit.c). */
uint64_t hp_rec_key(const hp_rec_t *r);
uint64_t hp_conv_key(const hunt_conv_t *c);
uint64_t hp_pass_of(uint64_t key, uint64_t parts);
uint64_t hp_rec_pass(const hp_rec_t *r, uint64_t parts);
uint64_t hp_conv_pass(const hunt_conv_t *c, uint64_t parts);

/* ---- the hour cache (hunt_unit.c) ----------------------------------------------------------- */

typedef struct hu_set hu_set_t;

/* What a unit's interior preparation counted (added to the run's hp_stats_t once). */
typedef struct hu_counts {
    uint64_t rows, stitched, duplicates, paired, biflows;
} hu_counts_t;

/* The whole hours of [from, to) that hold data ([first, last] from hp_extent), each checked
 * against its file (configuration, and the segments that could hold its rows: name, size and
 * modification time), those missing or stale prepared and written. NULL when no hour can be
 * kept (too short a window, DIR/hunt/cache not writable: said once on stderr); on an error
 * reading segments, NULL with *failed set (message printed, prefix prog). */
hu_set_t *hu_open(const char *dir, const char *prog, uint64_t from_ms, uint64_t to_ms,
                  uint64_t first_ms, uint64_t last_ms, const hunt_config_t *cfg, int workers,
                  int progress, int *failed);
/* 1 when t (a record's start) falls in an hour whose rows come from the cache. */
int hu_holds(const hu_set_t *s, uint64_t t);
/* 1 when every time in [lo, hi] does (a row group the run need not read). */
int hu_holds_range(const hu_set_t *s, uint64_t lo, uint64_t hi);
/* What one thread of hu_load read: raw records, and conversations (malloc'd, the caller's). */
typedef struct hu_loaded {
    hp_recs_t recs;
    hunt_conv_t *convs;
    size_t n_convs, cap_convs;
    /* each hour's conversations: convs[lo .. hi) all start in hour k (their records do),
     * so hours never interleave in time (hp_conv_order_runs) */
    struct hu_run {
        int64_t k;
        size_t lo, hi;
    } *runs;
    size_t n_runs, cap_runs;
} hu_loaded_t;

#define HU_LOAD_MAX 16 /* threads that read the cached hours */

/* Reads every cached hour's raw records and conversations of pass `part` (of `parts`) on up
 * to n_out threads, each hour's into one out[] (zeroed by the caller; in no particular order:
 * preparation and hp_conv_order give the order), and adds the hours' counts to *counts. 0,
 * or -1 with a message (a file changed or broke since hu_open). */
int hu_load(hu_set_t *s, uint64_t parts, uint64_t part, hu_loaded_t *out, int n_out,
            hu_counts_t *counts);
/* Reads a unit file from f as a run reads one (header, frame index, every frame's CRC and
 * decompression), whatever hour, settings and segments it names, appending all its records
 * and conversations; closes f. 0, or -1 when a run would not use it. For tests and the
 * fuzzer (tests/fuzz/fuzz_unit.c): the cache's files are bytes on disk like any other. */
int hu_file_read(FILE *f, hp_recs_t *recs, hunt_conv_t **convs, size_t *n_convs,
                 size_t *cap_convs);
/* Hours taken from the cache and hours prepared by this run. */
void hu_tally(const hu_set_t *s, uint64_t *reused, uint64_t *built);
void hu_close(hu_set_t *s);

#endif
