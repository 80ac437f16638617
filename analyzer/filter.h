/* filter.h: the flow filter language an nfdump user already writes, parsed once and evaluated
 * column by column.
 *
 *   expr     := term { "or" term }
 *   term     := factor { "and" factor }
 *   factor   := "not" factor | "(" expr ")" | primitive
 *   primitive:= [src|dst] ADDR | host ADDR | [src|dst] ip|host ADDR | [src|dst] net CIDR
 *             | [src|dst] port [CMP] N | [src|dst] as [CMP] N | proto tcp|udp|icmp|...|N
 *             | flags FSRPAU... | packets|bytes|duration CMP N[k|M|G] | exporter ADDR
 *             | router ip ADDR | any
 *   CMP      := = | == | < | > | <= | >= | eq | lt | gt | le | ge
 *
 * so `not` binds tighter than `and`, which binds tighter than `or`. Keywords are case
 * insensitive. Without src or dst, an address, net, port or AS primitive matches either side.
 * `flags SA` holds when every listed flag is set. `duration` is time_end - time_start in ms.
 * k, M and G multiply by 1000, 10^6 and 10^9. Counters compare as exported (no sampling
 * correction), and an absent field compares as 0, as in nfdump. IPv4 addresses are held in
 * ::ffff:0:0/96, so an IPv6 network written around that block (::/0, ::/8) would hold every
 * IPv4 address too: it means the IPv6 addresses only, while one written inside the block
 * (::ffff:10.0.0.0/104) means IPv4 ones.
 *
 * Evaluation works on a seg_batch_t (one row group) and loads only the columns a primitive
 * needs, when it needs them: `a and b` does not decode b's column when no row passed a. The
 * result is a list of selected row numbers. flt_want decides from a group's zone maps whether
 * any row can match, for seg_scan's `want` callback: it never skips a group that holds a match.
 */
#ifndef FH_FILTER_H
#define FH_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"
#include "seg.h"

typedef struct flt flt_t;

/* Where and why a filter text is wrong: `pos` is the byte offset of the offending token
 * (the text's length when the text ended too early). */
typedef struct flt_error {
    size_t pos;
    char msg[160];
} flt_error_t;

/* Parses `text`; an empty or blank text is "any". 0 and *out, -1 with *err for a syntax
 * error, -2 when out of memory. */
int flt_parse(const char *text, flt_t **out, flt_error_t *err);
void flt_free(flt_t *f);

/* Joins argv[0 .. argc-1] with single spaces (how a filter arrives as separate words) into a
 * malloc'd string; NULL when out of memory. */
char *flt_join(int argc, char **argv);

/* Prints the error as "PROG: filter: MSG", then the text and a caret under `pos`. */
void flt_print_error(FILE *out, const char *prog, const char *text, const flt_error_t *err);

/* Adds the time window to the filter: a row matches only when its [time_start, time_end]
 * overlaps [from_ms, to_ms). seg_scan chooses row groups by window; rows are chosen here. */
void flt_set_window(flt_t *f, uint64_t from_ms, uint64_t to_ms);
/* f becomes (g) and (f), g evaluated first (g is copied; the caller still frees it). 0, -1 when
 * the filter would grow past its node limit, -2 out of memory (f is then unchanged in what it
 * selects, and still freed with flt_free). */
int flt_and(flt_t *f, const flt_t *g);

/* f becomes (f) or (f mirrored): f with source and destination swapped in every term
 * (flow_col_mirror: addresses, ports, AS numbers, interfaces, NAT), so that a record matches
 * when it or the other direction's record of its conversation would match f. A time window
 * (flt_set_window) has no direction: set before or after, it selects the same. 0, -1 past
 * the node limit, -2 out of memory (f is then still freed with flt_free). */
int flt_either_way(flt_t *f);
/* Bit (1 << FLOW_COL_x) for each column the filter reads. */
uint64_t flt_columns(const flt_t *f);

/* The parsed tree as text, fully parenthesised ("(or (and (dst_port = 53) ...) ...)"), for
 * tests and --explain. Returns the length it needed (it writes at most cap - 1 bytes). */
size_t flt_describe(const flt_t *f, char *out, size_t cap);

/* ---- evaluation ---------------------------------------------------------------------------- */

/* Per-thread scratch for flt_select: selection vectors for each tree level, and an answer per
 * dictionary entry for an address term (flt_eval_addr_codes). */
typedef struct flt_scratch {
    uint8_t *buf;
    size_t cap;
    uint8_t *entry;
    size_t entry_cap;
} flt_scratch_t;

void flt_scratch_init(flt_scratch_t *s);
void flt_scratch_free(flt_scratch_t *s);

/* Evaluates the filter on batch `b`, loading the columns it needs (those already loaded are
 * used as they are). Writes the selected row numbers, ascending, to rows[] (room for
 * b->n_rows) and returns their count, or -SEG_E_* (*where filled) when a column could not be
 * loaded. */
int flt_select(const flt_t *f, flt_scratch_t *s, seg_batch_t *b, uint32_t *rows,
               seg_where_t *where);

/* What a scan worker selects with: its scratch and the room for a group's row numbers. */
typedef struct flt_rows {
    flt_scratch_t scratch;
    uint32_t *v; /* the rows the last flt_select_rows selected */
    uint32_t cap;
} flt_rows_t;

void flt_rows_init(flt_rows_t *r);
void flt_rows_free(flt_rows_t *r);
/* flt_select into r->v, grown to the group's rows first: the count, or -SEG_E_* (-SEG_E_NOMEM
 * when the room could not grow; *where filled when a column could not be loaded). */
int flt_select_rows(const flt_t *f, flt_rows_t *r, seg_batch_t *b, seg_where_t *where);
/* Evaluates the filter on one record (absent fields as 0); 1 or 0. The reference semantics
 * the column-wise evaluation is tested against. */
int flt_match_rec(const flt_t *f, const flow_rec_t *rec);

/* ---- row-group pruning --------------------------------------------------------------------- */

/* Zone map of column `col`: min/max in the column's C type (flow_ctype_*) and 1 when known
 * over the present values (some rows may lack the column, and compare as 0), 2 when known and
 * every row of the group has the column, 0 when the group has no zone map for it. */
typedef int (*flt_zone_fn)(void *arg, int col, void *min, void *max);

/* Port buckets of src_port or dst_port (seg_zone_ports): 1 and bits when the group has them,
 * else 0. */
typedef int (*flt_ports_fn)(void *arg, int col, uint8_t bits[SEG_PORT_BUCKET_BYTES]);

/* What a group's zones say: `range` its zone maps; `ports`, or NULL, its port buckets. */
typedef struct flt_zone_src {
    flt_zone_fn range;
    flt_ports_fn ports;
    void *arg;
} flt_zone_src_t;

/* 0 when no row of a group whose zones `src` describes can match; 1 when one may.
 * Conservative: an unknown zone, and absent fields (which compare as 0), keep a group. */
int flt_want_zones(const flt_t *f, const flt_zone_src_t *src);

/* seg_want_fn for seg_scan with arg = the flt_t: flt_want_zones over seg_zone and
 * seg_zone_ports of group g. */
int flt_want(void *arg, const seg_file_t *file, uint32_t g);

#endif
