/* utf8.h: whether text from outside is UTF-8, for the writers of JSON (and CSV) that pass
 * it on.
 *
 * Feed descriptions, user names, allow-list and acknowledgement reasons come from files and
 * command lines in any encoding (a Latin-1 "café"); JSON must be UTF-8 (RFC 8259 8.1), and a
 * SIEM drops a line that is not. Such text is cleaned as it is read (utf8_clean_copy: each
 * byte that starts no UTF-8 sequence U+FFFD, control bytes replaced), so the text report, CSV,
 * JSON and HTML show the same characters; the JSON writer still checks what it writes.
 */
#ifndef FH_UTF8_H
#define FH_UTF8_H

#include <stddef.h>
#include <string.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD, as UTF-8 */

/* The length (1-4) of the well-formed UTF-8 sequence at s (NUL-terminated), or 0 when s[0]
 * does not start one: RFC 3629's table, so no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
static inline size_t utf8_seq_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* The characters (code points) of n bytes of UTF-8: the bytes that do not continue a
 * sequence. A text table pads by it, so a row naming "Telecomunicações" lines up with its
 * neighbours (by bytes it was two columns short). A terminal gives a character one column,
 * except East Asian wide ones (two) and combining marks (none), which this does not know. */
static inline size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* Past the UTF-8 byte order mark that starts s, if any: Windows editors (Notepad) write
 * one at the start of a text file, and the configuration's first line read as garbage. */
static inline char *utf8_skip_bom(char *s)
{
    return (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb && (unsigned char)s[2] == 0xbf
               ? s + 3
               : s;
}

/* Cuts off a UTF-8 sequence left incomplete at the end of s, as snprintf leaves one when it
 * truncates in the middle of a character (a summary naming a non-ASCII feed): the writers
 * would print U+FFFD for it, a character no input held. */
static inline void utf8_cut_partial(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
        i--; /* back over continuation bytes */
    if (i == 0 || (unsigned char)s[i - 1] < 0xc0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (n - (i - 1) < want)
        s[i - 1] = '\0';
}

/* Copies n bytes of src (text from a file or a command line) into dst (cap > 0) safe for
 * every writer: each control character, C0 or C1 (a terminal escape), becomes `ctrl`, each byte
 * that starts no UTF-8 sequence (a Latin-1 name) and each bidi override or isolate U+FFFD, so
 * text, CSV, JSON and HTML show the same characters in the same order. Stops before a character
 * that does not fit; returns 0 when all of src went in, -1 when it was cut. */
static inline int utf8_clean_copy(char *dst, size_t cap, const char *src, size_t n, char ctrl)
{
    size_t o = 0;
    for (size_t i = 0; i < n && src[i];) {
        unsigned char c = (unsigned char)src[i];
        /* a lead whose sequence n cuts starts no sequence of src, which ends at n (a MaxMind
         * string need not go on past it): U+FFFD, as for any other stray byte. Cutting the
         * copy there turned a Latin-1 "Ren\xe9" into another name, "Ren". */
        size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        int cut = c >= 0xc2 && c <= 0xf4 && need > n - i;
        size_t k = c < 0x20 || c == 0x7f || cut ? 0 : utf8_seq_len((const unsigned char *)src + i);
        const unsigned char *u = (const unsigned char *)src + i;
        /* C1 controls (U+0080-U+009F: U+009B is a terminal's CSI) are controls too; the bidi
         * embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) would reorder what
         * a browser shows after them (a user "admin\u202Egpj.exe"): U+FFFD */
        int c1 = k == 2 && c == 0xc2 && u[1] <= 0x9f;
        int bidi = k == 3 && c == 0xe2 &&
                   ((u[1] == 0x80 && u[2] >= 0xaa && u[2] <= 0xae) ||
                    (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9));
        int is_ctrl = c < 0x20 || c == 0x7f || c1;
        const char *put = is_ctrl ? &ctrl : k && !bidi ? src + i : UTF8_REPLACEMENT;
        size_t len = is_ctrl ? 1 : k && !bidi ? k : 3;
        if (o + len >= cap) {
            dst[o] = '\0';
            return -1; /* no room */
        }
        memcpy(dst + o, put, len);
        o += len;
        i += k ? k : 1;
    }
    dst[o] = '\0';
    return 0;
}

#endif
