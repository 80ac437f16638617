/* flow_print.h: flows as text, one line each: CSV with a header line, or JSON lines.
 *
 * Both walk the column directory (flow_cols), so every column of FLOW_COLUMNS is printed, in
 * list order, by its name. An absent field is an empty CSV cell and a JSON null; times are
 * integer milliseconds since the Unix epoch; counters are JSON integers.
 */
#ifndef FH_FLOW_PRINT_H
#define FH_FLOW_PRINT_H

#include <stdio.h>

#include "flow.h"

#define FLOW_PRINT_LINE_MAX 4096 /* longer than any line the columns can make */

typedef enum flow_print_fmt { FLOW_PRINT_CSV, FLOW_PRINT_JSON } flow_print_fmt_t;

/* Parses "csv" or "json"; -1 for anything else. */
int flow_print_fmt_parse(const char *s, flow_print_fmt_t *out);

/* Formats into `out` (FLOW_PRINT_LINE_MAX bytes) without the newline; returns the length. */
size_t flow_format_csv_header(char *out);
size_t flow_format_csv(char *out, const flow_rec_t *rec);
size_t flow_format_json(char *out, const flow_rec_t *rec);
/* The same line for row i of a set of columns (a seg_batch_t's vals and present): vals[c]
 * holds the column's C type per row, NULL for a column not there at all; present[c] is NULL
 * when every row has it, else one byte per row (1 present). No flow_rec_t is filled, which is
 * what `flowhunt cat` of millions of rows saves. */
size_t flow_format_csv_cols(char *out, const void *const vals[FLOW_N_COLS],
                            const uint8_t *const present[FLOW_N_COLS], uint32_t i);
size_t flow_format_json_cols(char *out, const void *const vals[FLOW_N_COLS],
                             const uint8_t *const present[FLOW_N_COLS], uint32_t i);

/* A chosen list of columns, in print order (flowhunt cat --fields; SiLK's rwcut --fields,
 * nfdump's -o fmt:). Numbers below FLOW_N_COLS are FLOW_COL_*; FLOW_N_COLS + k is the
 * caller's extra column k (cat's GeoIP/ASN context), which the caller formats. */
#define FLOW_PRINT_EXTRA_MAX 16
typedef struct flow_print_sel {
    uint8_t col[FLOW_N_COLS + FLOW_PRINT_EXTRA_MAX]; /* each at most once */
    int n;
} flow_print_sel_t;

/* Parses a comma-separated list of column names as the CSV header prints them
 * ("src_addr,dst_port,bytes"), or of `extra[0 .. n_extra)` (at most FLOW_PRINT_EXTRA_MAX),
 * each at most once (so a line is never longer than one with every column). 0, or -1 with
 * the problem in err (the unknown name and the valid ones). */
int flow_print_sel_parse(const char *list, const char *const *extra, int n_extra,
                         flow_print_sel_t *sel, char *err, size_t errlen);
/* The header of the chosen columns (extra: the names of the extra columns, or NULL). */
size_t flow_format_csv_header_sel(char *out, const flow_print_sel_t *sel, const char *const *extra);
/* Formats extra column k of a row whose flow columns are `rec`: CSV its value (nothing when
 * unknown), JSON "name":value; returns the length. */
typedef size_t (*flow_print_extra_fn)(char *out, int k, const flow_rec_t *rec, flow_print_fmt_t fmt,
                                      void *arg);
/* Row i of a set of columns (as flow_format_csv_cols) as CSV or JSON with only the chosen
 * columns, in their order, the extra ones through `extra` (called with `arg`); no newline. */
size_t flow_format_cols_sel(char *out, flow_print_fmt_t fmt, const flow_print_sel_t *sel,
                            const void *const vals[FLOW_N_COLS],
                            const uint8_t *const present[FLOW_N_COLS], uint32_t i,
                            flow_print_extra_fn extra, void *arg);

/* flow_fmt_u64 and flow_addr_format (the same text, NUL-terminated for addresses as there),
 * faster: two digits per division, and IPv4 addresses without the general loop. For
 * printers of millions of values (cat, top -n 0). */
size_t flow_print_u64(char *out, uint64_t v);
/* TCP flags as nfdump's text shows them: CWR ECE URG ACK PSH RST SYN FIN, a dot for each flag
 * not set ("...AP.SF"), NUL-terminated (out holds 9 bytes). */
void flow_print_tcp_flags(char out[9], uint8_t flags);
size_t flow_print_addr(char *out, const flow_addr_t *a);

/* Writes the header (CSV only) or one record with its newline. */
void flow_print_header(FILE *f, flow_print_fmt_t fmt);
void flow_print(FILE *f, flow_print_fmt_t fmt, const flow_rec_t *rec);

#endif
