/* flow_print.c: the CSV and JSON-lines printers, derived from the column directory.
 *
 * Formatting is done by hand into a stack buffer and written with one fwrite per line: a
 * decoder can produce millions of flows a second and printf per field would dominate.
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

/* Writes the value of column `col` of `rec`; `quote` wraps addresses in JSON quotes. */
static size_t flow_print_value(char *out, const flow_rec_t *rec, int col, int quote)
{
    const flow_col_info_t *c = &flow_cols[col];
    const uint8_t *p = (const uint8_t *)rec + c->offset;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    size_t len = 0;
    switch (c->type) {
    case FLOW_T_U8:
        memcpy(&u8, p, 1);
        return flow_fmt_u64(out, u8);
    case FLOW_T_U16:
        memcpy(&u16, p, 2);
        return flow_fmt_u64(out, u16);
    case FLOW_T_U32:
        memcpy(&u32, p, 4);
        return flow_fmt_u64(out, u32);
    case FLOW_T_U64:
    case FLOW_T_TIME:
        memcpy(&u64, p, 8);
        return flow_fmt_u64(out, u64);
    case FLOW_T_ADDR:
        if (quote)
            out[len++] = '"';
        len += flow_addr_format((const flow_addr_t *)p, out + len);
        if (quote)
            out[len++] = '"';
        return len;
    }
    return 0;
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
    size_t len = 0;
    for (int i = 0; i < FLOW_N_COLS; i++) {
        if (i)
            out[len++] = ',';
        if (rec->present & ((uint64_t)1 << i))
            len += flow_print_value(out + len, rec, i, 0);
    }
    out[len] = '\0';
    return len;
}

size_t flow_format_json(char *out, const flow_rec_t *rec)
{
    size_t len = 0;
    out[len++] = '{';
    for (int i = 0; i < FLOW_N_COLS; i++) {
        if (i)
            out[len++] = ',';
        out[len++] = '"';
        size_t n = strlen(flow_cols[i].name);
        memcpy(out + len, flow_cols[i].name, n);
        len += n;
        out[len++] = '"';
        out[len++] = ':';
        if (rec->present & ((uint64_t)1 << i)) {
            len += flow_print_value(out + len, rec, i, 1);
        } else {
            memcpy(out + len, "null", 4);
            len += 4;
        }
    }
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
