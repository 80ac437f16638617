/* flow_print.c: the CSV and JSON-lines printers, derived from the column directory.
 *
 * Formatting is done by hand into a stack buffer and written with one fwrite per line: a
 * decoder can produce millions of flows a second and printf per field would dominate. The
 * same line is made from a record (the collector's --print) or straight from a row of column
 * arrays (`flowhunt cat`, which would otherwise copy every field of every row into a record
 * first); both go through one inlined line writer, so they cannot disagree.
 */
#include "flow_print.h"

#include <string.h>

int flow_print_fmt_parse(const char *s, flow_print_fmt_t *out)
{
    if (strcmp(s, "csv") == 0)
        *out = FLOW_PRINT_CSV;
    else if (strcmp(s, "json") == 0)
        *out = FLOW_PRINT_JSON;
    else
        return -1;
    return 0;
}

/* Two decimal digits per table entry: numbers are written two digits per division, which
 * halves the divisions of flow_fmt_u64's digit-at-a-time loop (the same text). */
static const char flow_print_d2[201] = "00010203040506070809101112131415161718192021222324252627282930"
                                       "31323334353637383940414243444546474849505152535455565758596061"
                                       "62636465666768697071727374757677787980818283848586878889909192"
                                       "93949596979899";

size_t flow_print_u64(char *out, uint64_t v)
{
    if (v < 10) {
        out[0] = (char)('0' + v);
        return 1;
    }
    if (v < 100) {
        memcpy(out, flow_print_d2 + 2 * v, 2);
        return 2;
    }
    char tmp[20];
    char *end = tmp + sizeof tmp, *p = end;
    while (v >= 100) {
        uint64_t r = v % 100;
        v /= 100;
        p -= 2;
        memcpy(p, flow_print_d2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, flow_print_d2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t len = (size_t)(end - p);
    memcpy(out, p, len);
    return len;
}

size_t flow_print_addr(char *out, const flow_addr_t *a)
{
    if (memcmp(a->b, flow_v4_mapped_prefix, 12) != 0)
        return flow_addr_format(a, out);
    char *p = out;
    for (int i = 12; i < 16; i++) {
        unsigned o = a->b[i];
        if (o >= 100) {
            *p++ = (char)('0' + o / 100);
            o %= 100;
            memcpy(p, flow_print_d2 + 2 * o, 2);
            p += 2;
        } else if (o >= 10) {
            memcpy(p, flow_print_d2 + 2 * o, 2);
            p += 2;
        } else {
            *p++ = (char)('0' + o);
        }
        *p++ = '.';
    }
    p[-1] = '\0';
    return (size_t)(p - 1 - out);
}

/* The value at `p` (the column's C type), one printer per column type; `quote` wraps
 * addresses in JSON quotes. */
static inline size_t flow_print_v_U8(char *out, const void *p, int quote)
{
    (void)quote;
    return flow_print_u64(out, *(const uint8_t *)p);
}
static inline size_t flow_print_v_U16(char *out, const void *p, int quote)
{
    uint16_t v;
    (void)quote;
    memcpy(&v, p, 2);
    return flow_print_u64(out, v);
}
static inline size_t flow_print_v_U32(char *out, const void *p, int quote)
{
    uint32_t v;
    (void)quote;
    memcpy(&v, p, 4);
    return flow_print_u64(out, v);
}
static inline size_t flow_print_v_U64(char *out, const void *p, int quote)
{
    uint64_t v;
    (void)quote;
    memcpy(&v, p, 8);
    return flow_print_u64(out, v);
}
#define flow_print_v_TIME flow_print_v_U64
static inline size_t flow_print_v_ADDR(char *out, const void *p, int quote)
{
    size_t len = 0;
    if (quote)
        out[len++] = '"';
    len += flow_print_addr(out + len, p);
    if (quote)
        out[len++] = '"';
    return len;
}

/* Where column `name` of row `i` is, or NULL when the row lacks it: a record's field (vals
 * NULL) or the row's place in a column array. */
#define FLOW_PRINT_AT(rec, vals, present, name, type, i)                                          \
    ((rec) ? ((rec)->present & FLOW_BIT(name) ? (const void *)&(rec)->name : NULL)              \
     : (!(vals)[FLOW_COL_##name] ||                                                             \
        ((present)[FLOW_COL_##name] && !(present)[FLOW_COL_##name][i]))                         \
         ? NULL                                                                                 \
         : (const void *)((const flow_ctype_##type *)(vals)[FLOW_COL_##name] + (i)))

/* The two layouts, from a record or from row i of columns. Unrolled over the column list, so
 * each column's type, offset and width are constants: no per-field table lookups or type
 * switch on lines that can number millions. */
static inline size_t flow_print_csv_line(char *out, const flow_rec_t *rec, const void *const *vals,
                                         const uint8_t *const *present, uint32_t i)
{
    size_t len = 0;
#define FLOW_PRINT_X_CSV(name, type, desc)                                                        \
    {                                                                                             \
        if (FLOW_COL_##name != 0)                                                                 \
            out[len++] = ',';                                                                     \
        const void *v = FLOW_PRINT_AT(rec, vals, present, name, type, i);                        \
        if (v)                                                                                    \
            len += flow_print_v_##type(out + len, v, 0);                                          \
    }
    FLOW_COLUMNS(FLOW_PRINT_X_CSV)
#undef FLOW_PRINT_X_CSV
    out[len] = '\0';
    return len;
}

static inline size_t flow_print_json_line(char *out, const flow_rec_t *rec, const void *const *vals,
                                          const uint8_t *const *present, uint32_t i)
{
    size_t len = 0;
    out[len++] = '{';
#define FLOW_PRINT_X_JSON(name, type, desc)                                                       \
    {                                                                                             \
        static const char key[] = "\"" #name "\":";                                               \
        if (FLOW_COL_##name != 0)                                                                 \
            out[len++] = ',';                                                                     \
        memcpy(out + len, key, sizeof key - 1);                                                   \
        len += sizeof key - 1;                                                                    \
        const void *v = FLOW_PRINT_AT(rec, vals, present, name, type, i);                        \
        if (v) {                                                                                  \
            len += flow_print_v_##type(out + len, v, 1);                                          \
        } else {                                                                                  \
            memcpy(out + len, "null", 4);                                                         \
            len += 4;                                                                             \
        }                                                                                         \
    }
    FLOW_COLUMNS(FLOW_PRINT_X_JSON)
#undef FLOW_PRINT_X_JSON
    out[len++] = '}';
    out[len] = '\0';
    return len;
}

size_t flow_format_csv_header(char *out)
{
    size_t len = 0;
    for (int i = 0; i < FLOW_N_COLS; i++) {
        if (i)
            out[len++] = ',';
        size_t n = strlen(flow_cols[i].name);
        memcpy(out + len, flow_cols[i].name, n);
        len += n;
    }
    out[len] = '\0';
    return len;
}

size_t flow_format_csv(char *out, const flow_rec_t *rec)
{
    return flow_print_csv_line(out, rec, NULL, NULL, 0);
}

size_t flow_format_json(char *out, const flow_rec_t *rec)
{
    return flow_print_json_line(out, rec, NULL, NULL, 0);
}

size_t flow_format_csv_cols(char *out, const void *const vals[FLOW_N_COLS],
                            const uint8_t *const present[FLOW_N_COLS], uint32_t i)
{
    return flow_print_csv_line(out, NULL, vals, present, i);
}

size_t flow_format_json_cols(char *out, const void *const vals[FLOW_N_COLS],
                             const uint8_t *const present[FLOW_N_COLS], uint32_t i)
{
    return flow_print_json_line(out, NULL, vals, present, i);
}

void flow_print_header(FILE *f, flow_print_fmt_t fmt)
{
    char line[FLOW_PRINT_LINE_MAX];
    if (fmt != FLOW_PRINT_CSV)
        return;
    size_t len = flow_format_csv_header(line);
    line[len++] = '\n';
    fwrite(line, 1, len, f);
}

void flow_print(FILE *f, flow_print_fmt_t fmt, const flow_rec_t *rec)
{
    char line[FLOW_PRINT_LINE_MAX];
    size_t len = fmt == FLOW_PRINT_CSV ? flow_format_csv(line, rec) : flow_format_json(line, rec);
    line[len++] = '\n';
    fwrite(line, 1, len, f);
}
