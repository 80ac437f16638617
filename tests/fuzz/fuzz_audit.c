/* fuzz_audit.c: the audit log's checker (analyzer/audit.c, au_chain_check) on arbitrary bytes.
 *
 * `flowhunt audit verify` reads a file whose threat model is tampering, so its parser must take
 * anything. The input goes through twice. First as it is: a whole log, exercising the framing
 * (complete lines, the hash suffix, seq and prev). Then sealed: each input line is taken as an
 * entry's members and wrapped as the writer wraps them ({"seq":N, members ,"prev":"<the line
 * before's hash>" then ,"hash":"<its SHA-256>"}), so the chain holds and the fuzzer reaches what
 * a forger who recomputes the hashes reaches: the JSON, the kinds, the segment lists and their
 * digest, an acknowledgement's fields. Any result is fine except a crash, a hang, a leak or an
 * over-read. The corpus holds members of real entries (a hunt, an expiry, an ack, an unack).
 */
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "fuzz.h"
#include "sha256.h"

#define FA_MAX_LINES 64 /* more lines add nothing the first ones do not */

static int fa_sha256(const char *p, size_t n, char hex[AU_HEX_LEN + 1])
{
    unsigned char d[SHA256_LEN];
    if (sha256_once(p, n, d) != 0)
        return -1;
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
    }
    hex[AU_HEX_LEN] = '\0';
    return 0;
}

static void fa_check(const char *buf, size_t len)
{
    au_chain_t c;
    au_fail_t fail;
    au_chain_check(buf, len, &c, &fail);
    au_chain_free(&c);
}

int fuzz_audit_one(const uint8_t *data, size_t size);
int fuzz_audit_one(const uint8_t *data, size_t size)
{
    fa_check((const char *)data, size);
    /* sealed: every line's members with the writer's framing and a chain that holds */
    size_t cap = 2 * size + FA_MAX_LINES * (AU_HEX_LEN * 2 + 64) + 1;
    char *log = malloc(cap);
    if (!log)
        return 0;
    char prev[AU_HEX_LEN + 1], hex[AU_HEX_LEN + 1];
    memset(prev, '0', AU_HEX_LEN);
    prev[AU_HEX_LEN] = '\0';
    size_t k = 0;
    const char *p = (const char *)data, *end = p + size;
    for (long seq = 1; p < end && seq <= FA_MAX_LINES; seq++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t start = k;
        k += (size_t)snprintf(log + k, cap - k, "{\"seq\":%ld,", seq);
        memcpy(log + k, p, n);
        k += n;
        k += (size_t)snprintf(log + k, cap - k, ",\"prev\":\"%s\"", prev);
        if (fa_sha256(log + start, k - start, hex) != 0)
            break;
        k += (size_t)snprintf(log + k, cap - k, ",\"hash\":\"%s\"}\n", hex);
        memcpy(prev, hex, sizeof prev);
        p += n + (nl != NULL);
    }
    fa_check(log, k);
    free(log);
    return 0;
}

FUZZ_ENTRY(audit)
