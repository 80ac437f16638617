/* flow_print.c: the CSV and JSON-lines printers, derived from the column directory.
 *
 * Formatting is done by hand into a stack buffer and written with one fwrite per line: a
 * decoder can produce millions of flows a second and printf per field would dominate. The
 * same line is made from a record (the collector's --print) or from a row of column arrays
 * (`flowhunt cat`, whose printed rows alone are gathered into a record on the stack); both
 * go through one inlined line writer, so they cannot disagree. Numbers and addresses are
 * written without scratch buffers or variable-length copies, a byte's text by table.
 */
#include "flow_print.h"

#include <arpa/inet.h>
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
static const char flow_print_d2[201] =
    "00010203040506070809101112131415161718192021222324252627282930"
    "31323334353637383940414243444546474849505152535455565758596061"
    "62636465666768697071727374757677787980818283848586878889909192"
    "93949596979899";

/* The text of every byte value, padded to four bytes, the fourth its length: an address
 * octet or a u8 field is one 4-byte copy and an add, with no branch on its digit count
 * (the octets of addresses are 1, 2 and 3 digits in no order). The copy writes up to three
 * bytes past the text: callers leave that room, and the next write covers them. */
#define FLOW_PRINT_LEN(v) ((v) >= 100 ? 3 : (v) >= 10 ? 2 : 1)
#define FLOW_PRINT_C0(v) (char)('0' + (v) / ((v) >= 100 ? 100 : (v) >= 10 ? 10 : 1))
#define FLOW_PRINT_C1(v) (char)((v) >= 10 ? '0' + (v) / ((v) >= 100 ? 10 : 1) % 10 : 0)
#define FLOW_PRINT_C2(v) (char)((v) >= 100 ? '0' + (v) % 10 : 0)
#define FLOW_PRINT_B(v)                                                                            \
    {                                                                                              \
        FLOW_PRINT_C0(v), FLOW_PRINT_C1(v), FLOW_PRINT_C2(v), FLOW_PRINT_LEN(v)                    \
    }
#define FLOW_PRINT_B4(v)                                                                           \
    FLOW_PRINT_B(v), FLOW_PRINT_B(v + 1), FLOW_PRINT_B(v + 2), FLOW_PRINT_B(v + 3)
#define FLOW_PRINT_B16(v)                                                                          \
    FLOW_PRINT_B4(v), FLOW_PRINT_B4(v + 4), FLOW_PRINT_B4(v + 8), FLOW_PRINT_B4(v + 12)
#define FLOW_PRINT_B64(v)                                                                          \
    FLOW_PRINT_B16(v), FLOW_PRINT_B16(v + 16), FLOW_PRINT_B16(v + 32), FLOW_PRINT_B16(v + 48)
static const char flow_print_b[256][4] = {FLOW_PRINT_B64(0), FLOW_PRINT_B64(64),
                                          FLOW_PRINT_B64(128), FLOW_PRINT_B64(192)};

static inline size_t flow_print_byte(char *out, unsigned v)
{
    memcpy(out, flow_print_b[v], 4);
    return (size_t)flow_print_b[v][3];
}

/* Digits of v (1 to 10): the compares are predicted within a column, whose values are
 * mostly of one size. */
static inline size_t flow_print_n32(uint32_t v)
{
    if (v < 100000)
        return v < 100 ? (v < 10 ? 1 : 2) : v < 1000 ? 3 : v < 10000 ? 4 : 5;
    return v < 10000000 ? (v < 1000000 ? 6 : 7) : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/* v's decimal digits written from the end of their place backwards, two at a time, straight
 * into out: no scratch buffer and no copy of a variable length (a library call). */
static inline size_t flow_print_u32(char *out, uint32_t v)
{
    size_t n = flow_print_n32(v);
    char *p = out + n;
    while (v >= 100) {
        uint32_t q = v / 100;
        p -= 2;
        memcpy(p, flow_print_d2 + 2 * (v - q * 100), 2);
        v = q;
    }
    if (v >= 10)
        memcpy(p - 2, flow_print_d2 + 2 * v, 2);
    else
        p[-1] = (char)('0' + v);
    return n;
}

/* Exactly eight digits, leading zeros included (the low part of a wider number): two
 * independent halves, so the divisions do not wait on each other. */
static inline void flow_print_8(char *out, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v - hi * 10000;
    uint32_t h1 = hi / 100, l1 = lo / 100;
    memcpy(out, flow_print_d2 + 2 * h1, 2);
    memcpy(out + 2, flow_print_d2 + 2 * (hi - h1 * 100), 2);
    memcpy(out + 4, flow_print_d2 + 2 * l1, 2);
    memcpy(out + 6, flow_print_d2 + 2 * (lo - l1 * 100), 2);
}

/* Values past 32 bits (times in milliseconds: thirteen digits) as up to three 32-bit parts
 * of eight digits, instead of a chain of 64-bit divisions by 100. */
static inline size_t flow_print_u64_inline(char *out, uint64_t v)
{
    if (v <= UINT32_MAX)
        return flow_print_u32(out, (uint32_t)v);
    uint64_t hi = v / 100000000;
    uint32_t lo = (uint32_t)(v - hi * 100000000);
    size_t n;
    if (hi <= UINT32_MAX) {
        n = flow_print_u32(out, (uint32_t)hi);
    } else {
        uint64_t top = hi / 100000000; /* at most 1844 */
        n = flow_print_u32(out, (uint32_t)top);
        flow_print_8(out + n, (uint32_t)(hi - top * 100000000));
        n += 8;
    }
    flow_print_8(out + n, lo);
    return n + 8;
}

size_t flow_print_u64(char *out, uint64_t v)
{
    return flow_print_u64_inline(out, v);
}

void flow_print_tcp_flags(char out[9], uint8_t flags)
{
    static const char letters[] = "CEUAPRSF";
    for (int i = 0; i < 8; i++)
        out[i] = (flags >> (7 - i)) & 1 ? letters[i] : '.';
    out[8] = '\0';
}

/* The dotted quad of a v4-mapped address at out, without the NUL; up to three bytes past it
 * are written (flow_print_byte). */
static inline size_t flow_print_v4(char *out, const flow_addr_t *a)
{
    size_t len = flow_print_byte(out, a->b[12]);
    out[len++] = '.';
    len += flow_print_byte(out + len, a->b[13]);
    out[len++] = '.';
    len += flow_print_byte(out + len, a->b[14]);
    out[len++] = '.';
    return len + flow_print_byte(out + len, a->b[15]);
}

/* flow_addr_is_v4's prefix test as two integer compares, inline. */
static inline int flow_print_is_v4(const flow_addr_t *a)
{
    uint64_t lo;
    uint32_t mid;
    memcpy(&lo, a->b, 8);
    memcpy(&mid, a->b + 8, 4);
    return lo == 0 && mid == htonl(0xffff);
}

size_t flow_print_addr(char *out, const flow_addr_t *a)
{
    if (!flow_print_is_v4(a))
        return flow_addr_format(a, out);
    size_t len = flow_print_v4(out, a); /* at most 15 characters, written within 16 bytes */
    out[len] = '\0';
    return len;
}

/* The value at `p` (the column's C type), one printer per column type; `quote` wraps
 * addresses in JSON quotes. They may write up to three bytes past the value (the line
 * buffer has room, and the next field covers them). */
static inline size_t flow_print_v_U8(char *out, const void *p, int quote)
{
    (void)quote;
    return flow_print_byte(out, *(const uint8_t *)p);
}
static inline size_t flow_print_v_U16(char *out, const void *p, int quote)
{
    uint16_t v;
    (void)quote;
    memcpy(&v, p, 2);
    return flow_print_u32(out, v);
}
static inline size_t flow_print_v_U32(char *out, const void *p, int quote)
{
    uint32_t v;
    (void)quote;
    memcpy(&v, p, 4);
    return flow_print_u32(out, v);
}
static inline size_t flow_print_v_U64(char *out, const void *p, int quote)
{
    uint64_t v;
    (void)quote;
    memcpy(&v, p, 8);
    return flow_print_u64_inline(out, v);
}
#define flow_print_v_TIME flow_print_v_U64
static inline size_t flow_print_v_ADDR(char *out, const void *p, int quote)
{
    flow_addr_t a;
    size_t len = 0;
    memcpy(&a, p, sizeof a);
    if (quote)
        out[len++] = '"';
    len += flow_print_is_v4(&a) ? flow_print_v4(out + len, &a) : flow_addr_format(&a, out + len);
    if (quote)
        out[len++] = '"';
    return len;
}

/* Row i of a set of columns as a record. Every field is loaded before any is formatted, so
 * the loads' cache misses overlap: cat prints scattered rows (those its filter kept) of
 * column arrays larger than the cache (a group's addresses are 1 MB a column), and
 * formatting straight from the arrays waited on each field's miss in turn, behind the
 * formatting of the fields before it (JSON of the reference store's DNS flows: 10% less
 * CPU this way). */
static inline void flow_print_gather(flow_rec_t *r, const void *const *vals,
                                     const uint8_t *const *present, uint32_t i)
{
    uint64_t bits = 0;
#define FLOW_PRINT_X_GATHER(name, type, desc)                                                      \
    if (vals[FLOW_COL_##name] && (!present[FLOW_COL_##name] || present[FLOW_COL_##name][i])) {     \
        r->name = ((const flow_ctype_##type *)vals[FLOW_COL_##name])[i];                           \
        bits |= FLOW_BIT(name);                                                                    \
    }
    FLOW_COLUMNS(FLOW_PRINT_X_GATHER)
#undef FLOW_PRINT_X_GATHER
    r->present = bits;
}

/* The two layouts of a record. Unrolled over the column list, so each column's type, offset
 * and width are constants: no per-field table lookups or type switch on lines that can
 * number millions. */
static inline size_t flow_print_csv_line(char *out, const flow_rec_t *rec)
{
    size_t len = 0;
#define FLOW_PRINT_X_CSV(name, type, desc)                                                         \
    {                                                                                              \
        if (FLOW_COL_##name != 0)                                                                  \
            out[len++] = ',';                                                                      \
        if (rec->present & FLOW_BIT(name))                                                         \
            len += flow_print_v_##type(out + len, &rec->name, 0);                                  \
    }
    FLOW_COLUMNS(FLOW_PRINT_X_CSV)
#undef FLOW_PRINT_X_CSV
    out[len] = '\0';
    return len;
}

static inline size_t flow_print_json_line(char *out, const flow_rec_t *rec)
{
    size_t len = 0;
    out[len++] = '{';
#define FLOW_PRINT_X_JSON(name, type, desc)                                                        \
    {                                                                                              \
        static const char key[] = "\"" #name "\":";                                                \
        if (FLOW_COL_##name != 0)                                                                  \
            out[len++] = ',';                                                                      \
        memcpy(out + len, key, sizeof key - 1);                                                    \
        len += sizeof key - 1;                                                                     \
        if (rec->present & FLOW_BIT(name)) {                                                       \
            len += flow_print_v_##type(out + len, &rec->name, 1);                                  \
        } else {                                                                                   \
            memcpy(out + len, "null", 4);                                                          \
            len += 4;                                                                              \
        }                                                                                          \
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
    return flow_print_csv_line(out, rec);
}

size_t flow_format_json(char *out, const flow_rec_t *rec)
{
    return flow_print_json_line(out, rec);
}

size_t flow_format_csv_cols(char *out, const void *const vals[FLOW_N_COLS],
                            const uint8_t *const present[FLOW_N_COLS], uint32_t i)
{
    flow_rec_t rec;
    flow_print_gather(&rec, vals, present, i);
    return flow_print_csv_line(out, &rec);
}

size_t flow_format_json_cols(char *out, const void *const vals[FLOW_N_COLS],
                             const uint8_t *const present[FLOW_N_COLS], uint32_t i)
{
    flow_rec_t rec;
    flow_print_gather(&rec, vals, present, i);
    return flow_print_json_line(out, &rec);
}

int flow_print_sel_parse(const char *list, const char *const *extra, int n_extra,
                         flow_print_sel_t *sel, char *err, size_t errlen)
{
    uint8_t seen[FLOW_N_COLS + FLOW_PRINT_EXTRA_MAX] = {0};
    if (n_extra > FLOW_PRINT_EXTRA_MAX)
        n_extra = FLOW_PRINT_EXTRA_MAX;
    sel->n = 0;
    for (const char *p = list;; p++) {
        size_t len = strcspn(p, ",");
        char name[32];
        int c = -1;
        if (len > 0 && len < sizeof name) {
            memcpy(name, p, len);
            name[len] = '\0';
            c = flow_col_find(name);
            for (int k = 0; c < 0 && k < n_extra; k++)
                if (strcmp(name, extra[k]) == 0)
                    c = FLOW_N_COLS + k;
        }
        if (c < 0) {
            size_t at = (size_t)snprintf(err, errlen, "'%.*s' is not a column; the columns are",
                                         (int)(len < 64 ? len : 64), p);
            for (int i = 0; i < FLOW_N_COLS + n_extra && at < errlen; i++)
                at +=
                    (size_t)snprintf(err + at, errlen - at, "%s%s", i ? "," : " ",
                                     i < FLOW_N_COLS ? flow_cols[i].name : extra[i - FLOW_N_COLS]);
            return -1;
        }
        if (seen[c]) {
            snprintf(err, errlen, "%s is given twice", name);
            return -1;
        }
        seen[c] = 1;
        sel->col[sel->n++] = (uint8_t)c;
        p += len;
        if (!*p)
            return 0;
    }
}

size_t flow_format_csv_header_sel(char *out, const flow_print_sel_t *sel, const char *const *extra)
{
    size_t len = 0;
    for (int i = 0; i < sel->n; i++) {
        if (i)
            out[len++] = ',';
        int c = sel->col[i];
        const char *name = c < FLOW_N_COLS ? flow_cols[c].name
                           : extra         ? extra[c - FLOW_N_COLS]
                                           : "";
        size_t n = strlen(name);
        memcpy(out + len, name, n);
        len += n;
    }
    out[len] = '\0';
    return len;
}

/* One field of a record by the column directory: the generic form of the unrolled lines
 * above, for a list chosen at run time. */
static size_t flow_print_field(char *out, const flow_rec_t *rec, int c, int json)
{
    size_t len = 0;
    if (json) {
        out[len++] = '"';
        size_t n = strlen(flow_cols[c].name);
        memcpy(out + len, flow_cols[c].name, n);
        len += n;
        out[len++] = '"';
        out[len++] = ':';
    }
    if (!((rec->present >> c) & 1)) {
        if (json) {
            memcpy(out + len, "null", 4);
            len += 4;
        }
        return len;
    }
    const void *v = (const char *)rec + flow_cols[c].offset;
    switch (flow_cols[c].type) {
    case FLOW_T_U8:
        return len + flow_print_v_U8(out + len, v, json);
    case FLOW_T_U16:
        return len + flow_print_v_U16(out + len, v, json);
    case FLOW_T_U32:
        return len + flow_print_v_U32(out + len, v, json);
    case FLOW_T_U64:
    case FLOW_T_TIME:
        return len + flow_print_v_U64(out + len, v, json);
    case FLOW_T_ADDR:
        return len + flow_print_v_ADDR(out + len, v, json);
    }
    return len;
}

size_t flow_format_cols_sel(char *out, flow_print_fmt_t fmt, const flow_print_sel_t *sel,
                            const void *const vals[FLOW_N_COLS],
                            const uint8_t *const present[FLOW_N_COLS], uint32_t i,
                            flow_print_extra_fn extra, void *arg)
{
    flow_rec_t rec;
    flow_print_gather(&rec, vals, present, i);
    int json = fmt == FLOW_PRINT_JSON;
    size_t len = 0;
    if (json)
        out[len++] = '{';
    for (int k = 0; k < sel->n; k++) {
        int c = sel->col[k];
        if (k)
            out[len++] = ',';
        if (c < FLOW_N_COLS)
            len += flow_print_field(out + len, &rec, c, json);
        else if (extra)
            len += extra(out + len, c - FLOW_N_COLS, &rec, fmt, arg);
    }
    if (json)
        out[len++] = '}';
    out[len] = '\0';
    return len;
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
