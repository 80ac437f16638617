/* flow.c: the column directory derived from FLOW_COLUMNS, and flow addresses.
 *
 * Addresses are printed by our own formatter rather than inet_ntop(): the CSV and JSON
 * interface promises RFC 5952 text (section 4.2.2: a single zero field is never shortened to
 * "::"), and that must not depend on the C library.
 */
#include "flow.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

const flow_col_info_t flow_cols[FLOW_N_COLS] = {
#define FLOW_X_INFO(name, type, desc)                                                              \
    {#name, FLOW_T_##type, offsetof(flow_rec_t, name), sizeof(flow_ctype_##type), desc},
    FLOW_COLUMNS(FLOW_X_INFO)
#undef FLOW_X_INFO
};

int flow_col_find(const char *name)
{
    for (int i = 0; i < FLOW_N_COLS; i++)
        if (strcmp(flow_cols[i].name, name) == 0)
            return i;
    return -1;
}

void flow_rec_clear(flow_rec_t *rec)
{
    memset(rec, 0, sizeof *rec);
}

int flow_addr_is_v4(const flow_addr_t *a)
{
    return memcmp(a->b, flow_v4_mapped_prefix, 12) == 0;
}

uint32_t flow_addr_v4(const flow_addr_t *a)
{
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

size_t flow_fmt_u64(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0, len = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        out[len++] = tmp[--n];
    return len;
}

size_t flow_addr_format(const flow_addr_t *a, char out[FLOW_ADDR_STRLEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t len = 0;
    if (flow_addr_is_v4(a)) {
        for (int i = 12; i < 16; i++) {
            len += flow_fmt_u64(out + len, a->b[i]);
            if (i < 15)
                out[len++] = '.';
        }
        out[len] = '\0';
        return len;
    }
    uint16_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (uint16_t)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
    /* RFC 5952 4.2: compress the longest run of two or more zero fields, the first on a tie. */
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            out[len++] = ':';
            if (i == 0)
                out[len++] = ':';
            i += best_len - 1;
            continue;
        }
        /* RFC 5952 4.1: no leading zeros; 4.3: lower case. */
        int started = 0;
        for (int s = 12; s >= 0; s -= 4) {
            unsigned nib = (w[i] >> s) & 0xf;
            if (nib || started || s == 0) {
                out[len++] = hex[nib];
                started = 1;
            }
        }
        if (i < 7)
            out[len++] = ':';
    }
    out[len] = '\0';
    return len;
}

int flow_addr_parse(flow_addr_t *a, const char *s)
{
    uint8_t buf[16];
    if (inet_pton(AF_INET, s, buf) == 1) {
        flow_addr_from_v4_bytes(a, buf);
        return 0;
    }
    if (inet_pton(AF_INET6, s, buf) == 1) {
        flow_addr_from_v6_bytes(a, buf);
        return 0;
    }
    return -1;
}

void flow_addr_mask(flow_addr_t *out, const flow_addr_t *a, unsigned plen)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = plen > i * 8 ? plen - i * 8 : 0;
        out->b[i] = keep >= 8 ? a->b[i] : (uint8_t)(a->b[i] & (0xff00 >> keep));
    }
}

int flow_net_parse(flow_net_t *n, const char *s)
{
    char buf[FLOW_ADDR_STRLEN + 8];
    size_t len = strlen(s);
    if (len >= sizeof buf)
        return FLOW_NET_EADDR;
    memcpy(buf, s, len + 1);
    char *slash = strchr(buf, '/');
    int plen = -1;
    if (slash) {
        /* digits only: strtol would take "-1", " 8" and "+8" */
        size_t nd = strspn(slash + 1, "0123456789");
        if (nd == 0 || nd > 3 || slash[1 + nd] != '\0' || (plen = atoi(slash + 1)) > 128)
            return FLOW_NET_ELEN;
        *slash = '\0';
        /* nfdump's short IPv4 network: 10.0/16, 172.16/12 (missing bytes are zero); only with
         * a length, so a lone "10.0" is still no address */
        size_t dots = 0, n_digits = strspn(buf, "0123456789.");
        for (const char *c = buf; *c; c++)
            dots += *c == '.';
        if (n_digits == (size_t)(slash - buf) && n_digits && buf[n_digits - 1] != '.' && dots < 3 &&
            (size_t)(slash - buf) + 2 * (3 - dots) < sizeof buf)
            for (; dots < 3; dots++)
                strcat(buf, ".0");
    }
    flow_addr_t a;
    if (flow_addr_parse(&a, buf) != 0)
        return FLOW_NET_EADDR;
    int v4_text = strchr(buf, ':') == NULL; /* ::ffff:10.0.0.0/104 is written as IPv6 */
    if (v4_text && plen > 32)
        return FLOW_NET_ELEN4;
    if (plen < 0)
        plen = v4_text ? 32 : 128;
    n->plen = (uint8_t)(v4_text ? 96 + plen : plen);
    flow_addr_mask(&n->addr, &a, n->plen);
    flow_addr_t block;
    flow_addr_mask(&block, &(flow_addr_t){.b = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}},
                   n->plen);
    n->v6only = !v4_text && n->plen < 96 && flow_addr_eq(&block, &n->addr);
    return 0;
}

int flow_net_has(const flow_net_t *n, const flow_addr_t *a)
{
    if (n->v6only && flow_addr_is_v4(a))
        return 0;
    flow_addr_t m;
    flow_addr_mask(&m, a, n->plen);
    return flow_addr_eq(&m, &n->addr);
}
