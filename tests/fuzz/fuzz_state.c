/* fuzz_state.c: a data directory's hunt state, DIR/hunt/acks.tsv and DIR/hunt/ids.tsv, as
 * `flowhunt acks` reads them (hr_acks_print in analyzer/hunt_report.c; a hunt reads both the
 * same way before it reports).
 *
 * The input is acks.tsv, then after the first NUL byte ids.tsv (absent without one), written
 * into a scratch directory of its own for each run (removed after it). Besides no crash, hang
 * or leak: a malformed ids.tsv is refused (-1), else every acknowledgement is listed as one
 * line of five tab-separated fields with no control bytes (they reach terminals).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz/fuzz.h"
#include "hunt.h"

/* One run in the scratch directory `dir`, whose hunt/ folder is empty. */
static void fuzz_state_check(const uint8_t *data, size_t size, const char *dir, const char *acks,
                             const char *ids)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t acks_len = nul ? (size_t)(nul - data) : size;
    if (fuzz_put_file(acks, data, acks_len) != 0 ||
        (nul && fuzz_put_file(ids, nul + 1, size - acks_len - 1) != 0))
        return;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return;
    /* a malformed ids.tsv is named on stderr: not for every run */
    int saved = dup(2), quiet = open("/dev/null", O_WRONLY);
    if (saved >= 0 && quiet >= 0)
        dup2(quiet, 2);
    int n = hr_acks_print(dir, out);
    if (saved >= 0 && quiet >= 0)
        dup2(saved, 2);
    if (saved >= 0)
        close(saved);
    if (quiet >= 0)
        close(quiet);
    fclose(out);
    int lines = 0, tabs = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            if (tabs != 4)
                __builtin_trap();
            lines++;
            tabs = 0;
        } else if (ch == '\t') {
            tabs++;
        } else if (ch < 0x20 || ch == 0x7f) {
            __builtin_trap();
        }
    }
    if (n < -1 || (n >= 0 && lines != n) || (n < 0 && len) || tabs)
        __builtin_trap();
    free(text);
}

int fuzz_state_one(const uint8_t *data, size_t size)
{
    char dir[64], hunt[80], acks[96], ids[96];
    snprintf(dir, sizeof dir, "/tmp/fuzz_state.XXXXXX");
    if (!mkdtemp(dir))
        return 0;
    snprintf(hunt, sizeof hunt, "%s/hunt", dir);
    snprintf(acks, sizeof acks, "%s/acks.tsv", hunt);
    snprintf(ids, sizeof ids, "%s/ids.tsv", hunt);
    if (mkdir(hunt, 0700) == 0)
        fuzz_state_check(data, size, dir, acks, ids);
    unlink(acks);
    unlink(ids);
    rmdir(hunt);
    rmdir(dir);
    return 0;
}

FUZZ_ENTRY(state)
