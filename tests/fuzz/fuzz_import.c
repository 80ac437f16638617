/* fuzz_import.c: files for `flowhunt import` through imp_parse_line (cmd_import.c).
 *
 * Byte 0 picks the format (bit 0: nfdump CSV or a Zeek conn.log, TSV or JSON); the rest is the
 * file, cut into lines at each newline as getline does and parsed in order until the data ends
 * or the parser calls the file foreign, as imp_file reads one. Each line is handed over in a
 * block of its own size, so a read past its end is an over-read under the sanitizers. Besides
 * no crash, hang or leak, what import promises its writer and its user: every flow has a
 * start, an end not before it and both addresses, and a skipped line or a refused file says
 * why.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "fuzz/fuzz.h"

static void fuzz_import_check(const flow_rec_t *r)
{
    if (!FLOW_HAS(r, time_start) || !FLOW_HAS(r, time_end) || r->time_end < r->time_start ||
        !FLOW_HAS(r, src_addr) || !FLOW_HAS(r, dst_addr) || !FLOW_HAS(r, sampling))
        __builtin_trap();
}

int fuzz_import_one(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    imp_parser_t p;
    imp_parser_init(&p, (data[0] & 1) ? IMP_FMT_ZEEK_CONN : IMP_FMT_NFDUMP_CSV);
    const uint8_t *at = data + 1, *end = data + size;
    while (at < end) {
        const uint8_t *nl = memchr(at, '\n', (size_t)(end - at));
        size_t len = nl ? (size_t)(nl - at) + 1 : (size_t)(end - at);
        char *line = malloc(len + 1);
        if (!line)
            return 0;
        memcpy(line, at, len);
        line[len] = '\0';
        at += len;
        flow_rec_t r;
        char why[160];
        int rc = imp_parse_line(&p, line, &r, why, sizeof why);
        free(line);
        if (rc == IMP_FLOW)
            fuzz_import_check(&r);
        else if ((rc == IMP_BAD || rc == IMP_FATAL) && why[0] == '\0')
            __builtin_trap();
        if (rc == IMP_FATAL)
            break;
    }
    return 0;
}

FUZZ_ENTRY(import)
