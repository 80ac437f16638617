/* intel.c: threat-intel feeds: loading five formats, and longest-prefix match over them.
 *
 * Formats (hunting-methods.md section 6.1), recognised from the content:
 *   - JSON (first byte '{' or '['): a MISP event (Event.Attribute[], Event.Object[].Attribute[],
 *     also a restSearch "response" or an array of events) or STIX 2.1 (a bundle or one
 *     indicator). Parsed with jansson from the buffer, whose size ti_load bounds.
 *   - Zeek Intel (a "#fields" line): TAB separated, Intel::ADDR and Intel::SUBNET kept.
 *   - CSV: the first data line, or the last comment before it (abuse.ch writes its header as a
 *     comment), names an indicator column (indicator, ip, dst_ip, value, cidr, ...).
 *   - anything else is a plain list, one IP or CIDR a line (RITA style; "#", "//", "<!--" and
 *     ";" start comments; "CIDR ; SBL123" as Spamhaus DROP writes it).
 * Text is read line by line into a bounded buffer; every field is copied before it is parsed.
 * A bad line or entry is reported with its place and skipped; a whole feed fails only when it
 * cannot be read, is not valid JSON, has no indicator column, or no line of a plain list is an
 * address (then it is no known format). Domains, URLs and hashes are counted, not matched:
 * flows carry no names.
 *
 * Matching (section 6.2): each (prefix length, masked address) is one key of a JudyHS map whose
 * value is a chain of the indicators with that key; a lookup masks the address to each prefix
 * length present, longest first, and returns the first chain with an indicator valid for the
 * traffic's time and port.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "intel.h"
#include "timearg.h"
#include "utf8.h"

#define TI_MAX_FEED_BYTES ((size_t)512 << 20) /* a feed is read whole */
#define TI_MAX_LINE 8192
#define TI_MAX_COLS 64
#define TI_MAX_WARN 20   /* lines printed per feed; the rest are counted */
#define TI_MIN_PLEN_V4 8 /* broader networks would flag a good part of the Internet */
#define TI_MIN_PLEN_V6 16
#define TI_ARENA_CHUNK 65536

/* ---- the database ---------------------------------------------------------------------------- */

typedef struct ti_ent {
    ti_ioc_t ioc;
    uint64_t next; /* index + 1 of the next indicator of the same key; 0 ends the chain */
} ti_ent_t;

typedef struct ti_chain {
    uint64_t head, tail; /* index + 1 */
} ti_chain_t;

/* Strings live in chunks freed together with the database. */
typedef struct ti_chunk {
    struct ti_chunk *prev;
    size_t used, cap;
    char data[];
} ti_chunk_t;

struct ti_db {
    hj_vec_t ents;     /* ti_ent_t, in load order */
    hj_intern_t keys;  /* (prefix length, masked address): 17 bytes -> chain id */
    hj_vec_t chains;   /* ti_chain_t by chain id */
    uint8_t have[129]; /* prefix lengths present */
    hj_vec_t feeds;    /* ti_feed_t */
    ti_chunk_t *arena;
};

ti_db_t *ti_new(void)
{
    ti_db_t *db = hj_xcalloc(1, sizeof *db);
    hj_vec_init(&db->ents, sizeof(ti_ent_t));
    hj_vec_init(&db->chains, sizeof(ti_chain_t));
    hj_vec_init(&db->feeds, sizeof(ti_feed_t));
    return db;
}

void ti_free(ti_db_t *db)
{
    if (!db)
        return;
    hj_vec_free(&db->ents);
    hj_vec_free(&db->chains);
    hj_vec_free(&db->feeds);
    hj_intern_free(&db->keys);
    while (db->arena) {
        ti_chunk_t *c = db->arena;
        db->arena = c->prev;
        free(c);
    }
    free(db);
}

size_t ti_count(const ti_db_t *db)
{
    return db ? db->ents.n : 0;
}

const ti_ioc_t *ti_ioc_at(const ti_db_t *db, size_t i)
{
    return &((const ti_ent_t *)db->ents.v)[i].ioc;
}

size_t ti_n_feeds(const ti_db_t *db)
{
    return db ? db->feeds.n : 0;
}

const ti_feed_t *ti_feed(const ti_db_t *db, size_t i)
{
    return db && i < db->feeds.n ? (const ti_feed_t *)db->feeds.v + i : NULL;
}

/* A copy of s[0..n) in the arena, control characters made spaces so evidence stays one line,
 * bytes that start no UTF-8 sequence U+FFFD (utf8_clean_copy: three bytes for one). */
static const char *ti_str(ti_db_t *db, const char *s, size_t n)
{
    size_t need = 3 * n + 1;
    if (!db->arena || db->arena->cap - db->arena->used < need) {
        size_t cap = need > TI_ARENA_CHUNK ? need : TI_ARENA_CHUNK;
        ti_chunk_t *c = hj_xmalloc(sizeof *c + cap);
        c->prev = db->arena;
        c->used = 0;
        c->cap = cap;
        db->arena = c;
    }
    char *d = db->arena->data + db->arena->used;
    utf8_clean_copy(d, need, s, n, ' ');
    db->arena->used += strlen(d) + 1;
    return d;
}

/* The key an indicator's network is filed under: its length, then its masked address. */
static void ti_key(const flow_addr_t *a, unsigned plen, uint8_t key[17])
{
    flow_addr_t m;
    flow_addr_mask(&m, a, plen);
    key[0] = (uint8_t)plen;
    memcpy(key + 1, m.b, 16);
}

/* Is an indicator of this feed already loaded that matches exactly what `ioc` matches (network,
 * port, confidence, validity)? A repeated line would otherwise count twice as loaded and
 * change nothing else: ti_match picks one of them anyway. The first one's text stays. */
static int ti_is_dup(const ti_db_t *db, const ti_ioc_t *ioc)
{
    uint8_t key[17];
    ti_key(&ioc->net.addr, ioc->net.plen, key);
    uint64_t cid = hj_lookup(&db->keys, key, sizeof key);
    if (cid == UINT64_MAX)
        return 0;
    const ti_ent_t *ents = db->ents.v;
    for (uint64_t k = ((const ti_chain_t *)db->chains.v)[cid].head; k; k = ents[k - 1].next) {
        const ti_ioc_t *i = &ents[k - 1].ioc;
        if (i->feed == ioc->feed && i->net.v6only == ioc->net.v6only && i->port == ioc->port &&
            i->confidence == ioc->confidence && i->valid_from == ioc->valid_from &&
            i->valid_until == ioc->valid_until)
            return 1;
    }
    return 0;
}

static void ti_add(ti_db_t *db, const ti_ioc_t *ioc)
{
    uint8_t key[17];
    ti_key(&ioc->net.addr, ioc->net.plen, key);
    int is_new;
    uint64_t cid = hj_intern(&db->keys, key, sizeof key, &is_new);
    uint64_t idx = db->ents.n;
    ti_ent_t *e = hj_vec_at(&db->ents, idx);
    e->ioc = *ioc;
    e->next = 0;
    ti_chain_t *ch = hj_vec_at(&db->chains, cid);
    if (ch->tail)
        ((ti_ent_t *)db->ents.v)[ch->tail - 1].next = idx + 1;
    else
        ch->head = idx + 1;
    ch->tail = idx + 1;
    db->have[ioc->net.plen] = 1;
}

static int ti_valid(const ti_ioc_t *i, uint64_t t0, uint64_t t1)
{
    return (!i->valid_from || i->valid_from <= t1) && (!i->valid_until || i->valid_until >= t0);
}

/* Is a better than b (b may be NULL) among indicators of one prefix? */
static int ti_better(const ti_ioc_t *a, const ti_ioc_t *b)
{
    if (!b)
        return 1;
    if ((a->port >= 0) != (b->port >= 0))
        return a->port >= 0;
    return a->confidence > b->confidence;
}

const ti_ioc_t *ti_match(const ti_db_t *db, const flow_addr_t *a, int port, uint64_t t0_ms,
                         uint64_t t1_ms, double min_conf)
{
    if (!db || db->ents.n == 0)
        return NULL;
    const ti_ent_t *ents = db->ents.v;
    const ti_chain_t *chains = db->chains.v;
    for (int plen = 128; plen >= 0; plen--) {
        if (!db->have[plen])
            continue;
        uint8_t key[17];
        ti_key(a, (unsigned)plen, key);
        uint64_t cid = hj_lookup(&db->keys, key, sizeof key);
        if (cid == UINT64_MAX)
            continue;
        const ti_ioc_t *best = NULL;
        for (uint64_t k = chains[cid].head; k; k = ents[k - 1].next) {
            const ti_ioc_t *i = &ents[k - 1].ioc;
            if (!(i->net.v6only && flow_addr_is_v4(a)) &&
                (i->port < 0 || i->port == port || port == TI_ANY_PORT) &&
                (i->confidence < 0 || i->confidence >= min_conf) && ti_valid(i, t0_ms, t1_ms) &&
                ti_better(i, best))
                best = i;
        }
        if (best)
            return best;
    }
    return NULL;
}

/* ---- parsing single values ------------------------------------------------------------------- */

static char *ti_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static int ti_parse_port(const char *s, int *port)
{
    long v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9' && n < 6; n++)
        v = v * 10 + (s[n] - '0');
    if (n == 0 || s[n] != '\0' || v < 1 || v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

int ti_parse_ioc(const char *s, flow_net_t *net, int *port, const char **why)
{
    char buf[96];
    size_t len = strlen(s);
    *port = -1;
    if (len == 0) {
        *why = "empty indicator";
        return -1;
    }
    if (len >= sizeof buf) {
        *why = "too long for an address or network";
        return -1;
    }
    memcpy(buf, s, len + 1);
    char *addr = buf, *ps = NULL;
    char *bar = strchr(buf, '|');
    if (bar) {
        *bar = '\0';
        ps = bar + 1;
    }
    if (addr[0] == '[') { /* [IPv6]:PORT */
        char *rb = strchr(addr, ']');
        if (!rb || (rb[1] && (rb[1] != ':' || ps))) {
            *why = "not an address: bad [IPv6]:PORT form";
            return -1;
        }
        *rb = '\0';
        if (rb[1] == ':')
            ps = rb + 2;
        addr++;
    } else {
        char *colon = strchr(addr, ':');
        if (colon && !strchr(colon + 1, ':') && strchr(addr, '.')) { /* IPv4:PORT */
            if (ps) {
                *why = "two ports";
                return -1;
            }
            *colon = '\0';
            ps = colon + 1;
        }
    }
    if (ps && ti_parse_port(ps, port) != 0) {
        *why = "port is not 1-65535";
        return -1;
    }
    int rc = flow_net_parse(net, addr);
    if (rc != 0) {
        *why = rc == FLOW_NET_ELEN    ? "prefix length is not a number of 0 to 128"
               : rc == FLOW_NET_ELEN4 ? "prefix length too long for the address family"
                                      : "not an IP address or network";
        return -1;
    }
    int v4 = net->plen >= 96 && flow_addr_is_v4(&net->addr);
    if (net->plen < (v4 ? 96 + TI_MIN_PLEN_V4 : TI_MIN_PLEN_V6)) {
        *why = v4 ? "network broader than /8" : "network broader than /16";
        return -1;
    }
    return 0;
}

/* A confidence: 0..100 (decimals rounded), or high/medium/low; "" is "not stated" (-1). */
static int ti_parse_conf(const char *s, int *out)
{
    if (!*s || strcmp(s, "-") == 0) {
        *out = -1;
        return 0;
    }
    if (strcasecmp(s, "high") == 0 || strcasecmp(s, "medium") == 0 || strcasecmp(s, "low") == 0) {
        *out = s[0] == 'h' || s[0] == 'H' ? 85 : s[0] == 'm' || s[0] == 'M' ? 50 : 15;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= 100) || !isdigit((unsigned char)s[0]))
        return -1;
    *out = (int)(v + 0.5);
    return 0;
}

/* A validity bound: ISO 8601 / RFC 3339, or Unix seconds (13 digits or more: milliseconds);
 * "" and "-" are open (0). */
static int ti_parse_time(const char *s, uint64_t *ms)
{
    *ms = 0;
    if (!*s || strcmp(s, "-") == 0 || strcmp(s, "null") == 0)
        return 0;
    size_t nd = strspn(s, "0123456789");
    if (nd == strlen(s)) {
        if (nd > 16)
            return -1;
        uint64_t v = strtoull(s, NULL, 10);
        *ms = nd >= 13 ? v : v * 1000;
        return 0;
    }
    if (nd != 4 || s[4] != '-') /* only absolute dates: timearg also knows "now" and "-24h" */
        return -1;
    return timearg_parse(s, 0, ms);
}

/* Not an address, but an indicator of a kind flows cannot show: a URL, a hash, a domain. */
static int ti_looks_other(const char *s)
{
    if (strstr(s, "://") || strchr(s, '@'))
        return 1;
    size_t n = strlen(s), hex = strspn(s, "0123456789abcdefABCDEF");
    if (hex == n && (n == 32 || n == 40 || n == 64))
        return 1;
    int alpha = 0, dot = 0;
    for (const char *p = s; *p; p++) {
        if (isalpha((unsigned char)*p))
            alpha = 1;
        else if (*p == '.')
            dot = 1;
        else if (!isdigit((unsigned char)*p) && *p != '-' && *p != '_' && *p != '*')
            return 0;
    }
    return alpha && dot;
}

/* Does a feed's type name an address kind? */
static int ti_type_is_addr(const char *t)
{
    char low[64];
    size_t n = strlen(t);
    if (n >= sizeof low)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)t[i]);
    return strstr(low, "ip") || strstr(low, "addr") || strstr(low, "cidr") ||
           strstr(low, "subnet") || strstr(low, "net");
}

/* ---- the loader: counting, warnings, keeping ------------------------------------------------- */

typedef struct ti_ld {
    ti_db_t *db;
    const char *path;
    FILE *warn;
    ti_feed_t st;
    long printed, unprinted;
    char other_type[48]; /* one example of a type skipped, for the note */
} ti_ld_t;

/* What every indicator of an entry shares. */
typedef struct ti_meta {
    const char *type, *desc;
    int conf;
    uint64_t valid_from, valid_until;
} ti_meta_t;

static void ti_say(ti_ld_t *ld, const char *where, const char *fmt, va_list ap)
{
    if (!ld->warn)
        return;
    if (ld->printed >= TI_MAX_WARN) {
        ld->unprinted++;
        return;
    }
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (char *p = msg; *p; p++) /* feed bytes quoted in a message stay printable */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(ld->warn, "%s:%s: %s\n", ld->path, where, msg);
    ld->printed++;
}

/* A malformed line or entry: reported and skipped. */
static void ti_bad(ti_ld_t *ld, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void ti_bad(ti_ld_t *ld, const char *where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ti_say(ld, where, fmt, ap);
    va_end(ap);
    ld->st.malformed++;
}

/* An entry of a kind flows cannot match: counted, and reported when `fmt` says why (STIX
 * patterns, which an analyst may expect to match). */
static void ti_other(ti_ld_t *ld, const char *type, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ti_other(ti_ld_t *ld, const char *type, const char *where, const char *fmt, ...)
{
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        ti_say(ld, where, fmt, ap);
        va_end(ap);
    }
    if (!ld->other_type[0] && type && *type)
        snprintf(ld->other_type, sizeof ld->other_type, "%s", type);
    ld->st.unsupported++;
}

/* Parses `text` and keeps it; `port` >= 0 is the port a format gives apart from the text. */
static int ti_keep(ti_ld_t *ld, const char *where, const char *text, int port, const ti_meta_t *m)
{
    ti_ioc_t ioc;
    const char *why = NULL;
    int text_port;
    if (ti_parse_ioc(text, &ioc.net, &text_port, &why) != 0) {
        ti_bad(ld, where, "%s: '%.80s'", why, text);
        return -1;
    }
    if (port >= 0 && text_port >= 0 && port != text_port) {
        ti_bad(ld, where, "two different ports for '%.80s'", text);
        return -1;
    }
    if (m->valid_from && m->valid_until && m->valid_until < m->valid_from) {
        ti_bad(ld, where, "valid_until is before valid_from");
        return -1;
    }
    ioc.port = port >= 0 ? port : text_port;
    ioc.confidence = m->conf;
    ioc.valid_from = m->valid_from;
    ioc.valid_until = m->valid_until;
    ioc.feed = ld->st.name;
    if (ti_is_dup(ld->db, &ioc)) {
        ld->st.duplicate++;
        return 0;
    }
    ioc.text = ti_str(ld->db, text, strlen(text));
    ioc.type = ti_str(ld->db, m->type ? m->type : "", m->type ? strlen(m->type) : 0);
    ioc.desc = ti_str(ld->db, m->desc ? m->desc : "", m->desc ? strlen(m->desc) : 0);
    ti_add(ld->db, &ioc);
    ld->st.loaded++;
    return 0;
}

/* For formats whose type column may be absent or free text (plain, CSV): an entry that is not
 * an address but a domain, URL or hash, or whose type says so, is counted, not reported. */
static void ti_keep_guess(ti_ld_t *ld, const char *where, const char *text, int port,
                          const ti_meta_t *m)
{
    flow_net_t net;
    int text_port;
    const char *why;
    if (ti_parse_ioc(text, &net, &text_port, &why) != 0 &&
        ((m->type && *m->type && !ti_type_is_addr(m->type)) || ti_looks_other(text))) {
        int typed = m->type && *m->type && !ti_type_is_addr(m->type);
        ti_other(ld, typed ? m->type : "domain, URL or hash", where, NULL);
        return;
    }
    ti_keep(ld, where, text, port, m);
}

/* ---- text: lines ---------------------------------------------------------------------------- */

typedef struct ti_lines {
    const char *p, *end;
    long no;
} ti_lines_t;

enum { TI_LINE_END, TI_LINE_OK, TI_LINE_BAD };

/* The next line into buf (NUL-terminated, CR stripped). TI_LINE_BAD: too long or holds a NUL
 * byte (the line is consumed, its number counted). */
static int ti_line_next(ti_lines_t *it, char *buf, size_t cap)
{
    if (it->p >= it->end)
        return TI_LINE_END;
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *e = nl ? nl : it->end;
    size_t n = (size_t)(e - it->p);
    const char *s = it->p;
    it->p = nl ? nl + 1 : it->end;
    it->no++;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (n >= cap || memchr(s, '\0', n))
        return TI_LINE_BAD;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return TI_LINE_OK;
}

static int ti_is_comment(const char *s)
{
    return s[0] == '#' || s[0] == ';' || strncmp(s, "//", 2) == 0 || strncmp(s, "<!--", 4) == 0;
}

/* The next line of a text feed into buf, its number into where[32]; a line too long or
 * holding a NUL byte is reported and passed over. 0 at the end. */
static int ti_next_line(ti_ld_t *ld, ti_lines_t *it, char *buf, size_t cap, char *where)
{
    int rc;
    while ((rc = ti_line_next(it, buf, cap)) != TI_LINE_END) {
        snprintf(where, 32, "%ld", it->no);
        if (rc == TI_LINE_OK)
            return 1;
        ti_bad(ld, where, "line longer than %zu bytes or holding a NUL byte", cap - 1);
    }
    return 0;
}

/* Splits s in place at `sep` into at most cap fields (RFC 4180 quotes when `quotes`), each
 * trimmed. The count, or -1 when a quote is unbalanced or there are more than cap fields. */
static int ti_split(char *s, char sep, int quotes, char **f, int cap)
{
    int n = 0;
    char *p = s;
    for (;;) {
        if (n == cap)
            return -1;
        while (*p == ' ' || (*p == '\t' && sep != '\t'))
            p++;
        char *out = p;
        f[n++] = out;
        if (quotes && *p == '"') { /* copied onto itself without the quotes: out stays behind p */
            p++;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"') {
                    if (p[1] != '"') {
                        p++;
                        break;
                    }
                    p++;
                }
                *out++ = *p++;
            }
            while (*p == ' ' || (*p == '\t' && sep != '\t'))
                p++;
            if (*p && *p != sep)
                return -1;
        } else {
            while (*p && *p != sep)
                p++;
            out = p;
        }
        char c = *p;
        *out = '\0';
        if (c != sep)
            break;
        p++;
    }
    for (int i = 0; i < n; i++)
        f[i] = ti_trim(f[i]);
    return n;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

enum {
    TI_COL_IOC,
    TI_COL_TYPE,
    TI_COL_CONF,
    TI_COL_DESC,
    TI_COL_FROM,
    TI_COL_UNTIL,
    TI_COL_PORT,
    TI_N_COLS
};

/* Accepted header names per column, the preferred first. */
static const char *const ti_col_names[TI_N_COLS][24] = {
    [TI_COL_IOC] =
        {"indicator", "ioc",     "ip",     "ip_address", "ipaddress", "ip_addr", "ipv4",
         "ipv6",      "address", "addr",   "dst_ip",     "dstip",     "dest_ip", "destination_ip",
         "src_ip",    "ip_dst",  "ip_src", "value",      "network",   "cidr",    "subnet",
         "net",       "prefix",  NULL},
    [TI_COL_TYPE] = {"type", "indicator_type", "ioc_type", NULL},
    [TI_COL_CONF] = {"confidence", "confidence_level", "score", NULL},
    [TI_COL_DESC] = {"description", "desc", "comment", "malware", "threat", "reason", "tags",
                     "sblid", NULL},
    [TI_COL_FROM] = {"valid_from", "valid_since", NULL},
    [TI_COL_UNTIL] = {"valid_until", "valid_to", "expires", "expiry", "expiration", NULL},
    [TI_COL_PORT] = {"port", NULL},
};

static char ti_csv_sep(const char *line)
{
    return strchr(line, ',') ? ',' : strchr(line, '\t') ? '\t' : strchr(line, ';') ? ';' : ',';
}

/* Maps a header line to column indices (-1 absent); the number of columns, or -1 when no
 * column names an indicator. */
static int ti_csv_header(const char *line, int cols[TI_N_COLS])
{
    char buf[TI_MAX_LINE];
    char *f[TI_MAX_COLS];
    snprintf(buf, sizeof buf, "%s", line);
    int n = ti_split(buf, ti_csv_sep(line), 1, f, TI_MAX_COLS);
    if (n <= 0)
        return -1;
    for (int i = 0; i < n; i++) /* "Dst IP" and "dst-ip" name dst_ip */
        for (char *p = f[i]; *p; p++)
            *p = *p == ' ' || *p == '-' ? '_' : (char)tolower((unsigned char)*p);
    for (int c = 0; c < TI_N_COLS; c++) {
        cols[c] = -1;
        for (int k = 0; ti_col_names[c][k] && cols[c] < 0; k++)
            for (int i = 0; i < n; i++)
                if (strcmp(f[i], ti_col_names[c][k]) == 0) {
                    cols[c] = i;
                    break;
                }
    }
    return cols[TI_COL_IOC] >= 0 ? n : -1;
}

static void ti_csv(ti_ld_t *ld, const char *data, size_t len, const int cols[TI_N_COLS], char sep,
                   long header_line)
{
    ti_lines_t it = {data, data + len, 0};
    char buf[TI_MAX_LINE], where[32];
    char *f[TI_MAX_COLS];
    while (ti_next_line(ld, &it, buf, sizeof buf, where)) {
        char *s = ti_trim(buf);
        if (!*s || ti_is_comment(s) || it.no == header_line)
            continue;
        int n = ti_split(s, sep, 1, f, TI_MAX_COLS);
        if (n < 0) {
            ti_bad(ld, where, "unbalanced quote or more than %d columns", TI_MAX_COLS);
            continue;
        }
        const char *v[TI_N_COLS];
        for (int c = 0; c < TI_N_COLS; c++)
            v[c] = cols[c] >= 0 && cols[c] < n ? f[cols[c]] : "";
        if (cols[TI_COL_IOC] >= n) {
            ti_bad(ld, where, "%d columns, the indicator is column %d", n, cols[TI_COL_IOC] + 1);
            continue;
        }
        ti_meta_t m = {.type = v[TI_COL_TYPE], .desc = v[TI_COL_DESC]};
        int port = -1;
        if (ti_parse_conf(v[TI_COL_CONF], &m.conf) != 0) {
            ti_bad(ld, where, "confidence '%.40s' is not 0-100", v[TI_COL_CONF]);
            continue;
        }
        if (ti_parse_time(v[TI_COL_FROM], &m.valid_from) != 0 ||
            ti_parse_time(v[TI_COL_UNTIL], &m.valid_until) != 0) {
            ti_bad(ld, where, "valid_from/valid_until is not a time");
            continue;
        }
        if (*v[TI_COL_PORT] && ti_parse_port(v[TI_COL_PORT], &port) != 0) {
            ti_bad(ld, where, "port '%.20s' is not 1-65535", v[TI_COL_PORT]);
            continue;
        }
        ti_keep_guess(ld, where, v[TI_COL_IOC], port, &m);
    }
}

/* ---- plain lists ---------------------------------------------------------------------------- */

static void ti_plain(ti_ld_t *ld, const char *data, size_t len)
{
    ti_lines_t it = {data, data + len, 0};
    char buf[TI_MAX_LINE], where[32];
    while (ti_next_line(ld, &it, buf, sizeof buf, where)) {
        char *s = ti_trim(buf);
        if (!*s || ti_is_comment(s))
            continue;
        /* the indicator, then an optional description: "CIDR ; SBL123", "IP # c2", "IP name" */
        size_t tok = strcspn(s, " \t,;#");
        char *rest = s + tok;
        char sepc = *rest;
        *rest = '\0';
        char *desc = sepc ? ti_trim(rest + 1) : rest;
        while (*desc == ';' || *desc == '#' || *desc == ',')
            desc = ti_trim(desc + 1);
        ti_meta_t m = {.type = strchr(s, '/') ? "cidr" : "ip", .desc = desc, .conf = -1};
        ti_keep_guess(ld, where, s, -1, &m);
    }
}

/* ---- Zeek Intel ----------------------------------------------------------------------------- */

/* "#separator \x09": the byte it names, or -1. */
static int ti_zeek_sep(const char *s)
{
    s += strlen("#separator");
    while (*s == ' ')
        s++;
    if (s[0] == '\\' && s[1] == 'x' && isxdigit((unsigned char)s[2]) &&
        isxdigit((unsigned char)s[3]) && !s[4]) {
        char hex[3] = {s[2], s[3], 0};
        int c = (int)strtol(hex, NULL, 16);
        return c ? c : -1;
    }
    return s[0] && !s[1] ? (unsigned char)s[0] : -1;
}

static int ti_zeek(ti_ld_t *ld, const char *data, size_t len, char *err, size_t err_cap)
{
    ti_lines_t it = {data, data + len, 0};
    char buf[TI_MAX_LINE], where[32], desc[TI_MAX_LINE];
    char *f[TI_MAX_COLS];
    char sep = '\t';
    int n_fields = 0, c_ioc = -1, c_type = -1, c_src = -1, c_desc = -1, c_url = -1, c_conf = -1;
    while (ti_next_line(ld, &it, buf, sizeof buf, where)) {
        if (strncmp(buf, "#separator", 10) == 0) {
            int c = ti_zeek_sep(buf);
            if (c < 0) {
                snprintf(err, err_cap, "%s:%ld: #separator names no single byte", ld->path, it.no);
                return -1;
            }
            sep = (char)c;
            continue;
        }
        if (strncmp(buf, "#fields", 7) == 0) {
            n_fields = ti_split(buf, sep, 0, f, TI_MAX_COLS);
            c_ioc = c_type = c_src = c_desc = c_url = c_conf = -1;
            for (int i = 1; i < n_fields; i++) {
                int *c = strcmp(f[i], "indicator") == 0             ? &c_ioc
                         : strcmp(f[i], "indicator_type") == 0      ? &c_type
                         : strcmp(f[i], "meta.source") == 0         ? &c_src
                         : strcmp(f[i], "meta.desc") == 0           ? &c_desc
                         : strcmp(f[i], "meta.url") == 0            ? &c_url
                         : strcmp(f[i], "meta.confidence") == 0     ? &c_conf
                         : strcmp(f[i], "meta.cif_confidence") == 0 ? &c_conf
                                                                    : NULL;
                if (c && *c < 0)
                    *c = i - 1; /* data lines have no "#fields" column */
            }
            if (c_ioc < 0) {
                snprintf(err, err_cap, "%s:%ld: Zeek Intel #fields without an indicator field",
                         ld->path, it.no);
                return -1;
            }
            n_fields--;
            continue;
        }
        if (buf[strspn(buf, " \t")] == '\0' || buf[0] == '#')
            continue; /* (not trimmed: a trailing TAB ends an empty last field) */
        if (n_fields <= 0) {
            ti_bad(ld, where, "data before the #fields line");
            continue;
        }
        int n = ti_split(buf, sep, 0, f, TI_MAX_COLS);
        if (n != n_fields) {
            ti_bad(ld, where, "%d fields, #fields names %d", n < 0 ? TI_MAX_COLS : n, n_fields);
            continue;
        }
        for (int i = 0; i < n; i++) /* Zeek's unset and empty markers */
            if (strcmp(f[i], "-") == 0 || strcmp(f[i], "(empty)") == 0)
                f[i][0] = '\0';
        const char *type = c_type >= 0 ? f[c_type] : "";
        if (*type && strcmp(type, "Intel::ADDR") != 0 && strcmp(type, "Intel::SUBNET") != 0) {
            ti_other(ld, type, where, NULL);
            continue;
        }
        /* description: meta.desc, then the source and URL it came from */
        desc[0] = '\0';
        const int dc[3] = {c_desc, c_src, c_url};
        const char *dl[3] = {"", "source: ", "url: "};
        for (int k = 0; k < 3; k++)
            if (dc[k] >= 0 && f[dc[k]][0]) {
                size_t l = strlen(desc);
                snprintf(desc + l, sizeof desc - l, "%s%s%s", l ? "; " : "", dl[k], f[dc[k]]);
            }
        ti_meta_t m = {.type =
                           *type ? type : (strchr(f[c_ioc], '/') ? "Intel::SUBNET" : "Intel::ADDR"),
                       .desc = desc};
        if (ti_parse_conf(c_conf >= 0 ? f[c_conf] : "", &m.conf) != 0) {
            ti_bad(ld, where, "meta.confidence '%.40s' is not 0-100", f[c_conf]);
            continue;
        }
        ti_keep(ld, where, f[c_ioc], -1, &m);
    }
    return 0;
}

/* ---- JSON helpers ------------------------------------------------------------------------- */

static const char *ti_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* ---- MISP ----------------------------------------------------------------------------------- */

/* The event object in an element of a MISP export: {"Event": {...}} or the event itself. */
static json_t *ti_misp_event(json_t *o)
{
    json_t *e = json_object_get(o, "Event");
    if (json_is_object(e))
        return e;
    if (json_is_array(json_object_get(o, "Attribute")) ||
        json_is_array(json_object_get(o, "Object")))
        return o;
    return NULL;
}

static int ti_misp_flag(const json_t *v)
{
    if (json_is_true(v))
        return 1;
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    const char *s = json_string_value(v);
    return s && (strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0);
}

/* One attribute; `port` >= 0 when an ip-port object gave the port of its side. */
static void ti_misp_attr(ti_ld_t *ld, const json_t *a, const char *where, const ti_meta_t *ev,
                         const char *side_port[2])
{
    if (!json_is_object(a)) {
        ti_bad(ld, where, "not an object");
        return;
    }
    const char *type = json_string_value(json_object_get(a, "type"));
    const char *value = json_string_value(json_object_get(a, "value"));
    if (!type || !value) {
        ti_bad(ld, where, "attribute without a type or value string");
        return;
    }
    int dst = strncmp(type, "ip-dst", 6) == 0, src = strncmp(type, "ip-src", 6) == 0;
    int with_port = strcmp(type, "ip-dst|port") == 0 || strcmp(type, "ip-src|port") == 0;
    int domain_ip = strcmp(type, "domain|ip") == 0;
    if (!(((dst || src) && (!type[6] || with_port)) || domain_ip)) {
        ti_other(ld, type, where, NULL);
        return;
    }
    if (!ti_misp_flag(json_object_get(a, "to_ids")) ||
        ti_misp_flag(json_object_get(a, "deleted"))) {
        ld->st.not_ids++;
        return;
    }
    const char *text = value;
    if (domain_ip) {
        const char *bar = strchr(value, '|');
        if (!bar) {
            ti_bad(ld, where, "domain|ip value without '|': '%.80s'", value);
            return;
        }
        text = bar + 1;
    }
    char desc[1024];
    const char *comment = ti_jstr(a, "comment");
    snprintf(desc, sizeof desc, "%s%s%s%s", ev->desc, *ev->desc && *comment ? " (" : "", comment,
             *ev->desc && *comment ? ")" : "");
    ti_meta_t m = *ev;
    m.type = type;
    m.desc = desc;
    int port = -1;
    const char *ps = side_port ? side_port[dst ? 0 : 1] : NULL;
    if (!with_port && !domain_ip && ps && ti_parse_port(ps, &port) != 0) {
        ti_bad(ld, where, "the object's port '%.20s' is not 1-65535", ps);
        return;
    }
    ti_keep(ld, where, text, port, &m);
}

static void ti_misp_attrs(ti_ld_t *ld, const json_t *arr, const char *prefix, const ti_meta_t *ev,
                          const char *side_port[2])
{
    char where[128];
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        const char *rel = ti_jstr(a, "object_relation");
        if (side_port && (strcmp(rel, "dst-port") == 0 || strcmp(rel, "src-port") == 0))
            continue; /* an ip-port object's port: applied to its address */
        snprintf(where, sizeof where, "%s.Attribute[%zu]", prefix, i);
        ti_misp_attr(ld, a, where, ev, side_port);
    }
}

static void ti_misp_one(ti_ld_t *ld, const json_t *e, const char *prefix)
{
    ti_meta_t ev = {.desc = ti_jstr(e, "info"), .conf = -1};
    /* threat_level_id: 1 High, 2 Medium, 3 Low, 4 Undefined */
    const json_t *tl = json_object_get(e, "threat_level_id");
    long level = json_is_integer(tl)  ? (long)json_integer_value(tl)
                 : json_is_string(tl) ? strtol(json_string_value(tl), NULL, 10)
                                      : 4;
    ev.conf = level == 1 ? 90 : level == 2 ? 60 : level == 3 ? 30 : -1;
    const json_t *attrs = json_object_get(e, "Attribute");
    if (attrs && !json_is_array(attrs))
        ti_bad(ld, prefix, "Attribute is not an array");
    else if (attrs)
        ti_misp_attrs(ld, attrs, prefix, &ev, NULL);
    const json_t *objs = json_object_get(e, "Object");
    if (objs && !json_is_array(objs)) {
        ti_bad(ld, prefix, "Object is not an array");
        return;
    }
    size_t j;
    json_t *o;
    char where[128];
    json_array_foreach(objs, j, o)
    {
        snprintf(where, sizeof where, "%s.Object[%zu]", prefix, j);
        const json_t *oa = json_object_get(o, "Attribute");
        if (!json_is_array(oa)) {
            ti_bad(ld, where, "object without an Attribute array");
            continue;
        }
        /* an ip-port object: the address and its port are separate attributes */
        const char *side_port[2] = {NULL, NULL};
        size_t k;
        json_t *a;
        json_array_foreach(oa, k, a)
        {
            const char *rel = ti_jstr(a, "object_relation");
            if (strcmp(rel, "dst-port") == 0 || strcmp(rel, "src-port") == 0)
                side_port[rel[0] == 'd' ? 0 : 1] = ti_jstr(a, "value");
        }
        ti_misp_attrs(ld, oa, where, &ev, side_port);
    }
}

/* Every event of a MISP export; 0 when `root` is no MISP export. */
static int ti_misp(ti_ld_t *ld, json_t *root)
{
    json_t *list = root;
    json_t *one = json_is_object(root) ? ti_misp_event(root) : NULL;
    if (json_is_object(root) && !one) {
        json_t *resp = json_object_get(root, "response");
        if (json_is_object(resp))
            one = ti_misp_event(resp);
        list = json_is_array(resp) ? resp : NULL;
    }
    if (one) {
        ti_misp_one(ld, one, "Event");
        return 1;
    }
    if (!json_is_array(list) || json_array_size(list) == 0)
        return 0;
    size_t i;
    json_t *el;
    json_array_foreach(list, i, el)
    {
        if (!ti_misp_event(el))
            return 0; /* not a list of events: some other JSON */
    }
    char prefix[48];
    json_array_foreach(list, i, el)
    {
        snprintf(prefix, sizeof prefix, "Event[%zu]", i);
        ti_misp_one(ld, ti_misp_event(el), prefix);
    }
    return 1;
}

/* ---- STIX 2.1 patterns ---------------------------------------------------------------------- */

/* The supported subset: observations [ ... ] joined by OR, each an OR/AND (with parentheses) of
 * comparisons; what flows can match is an address (ipv4-addr:value, ipv6-addr:value,
 * network-traffic:dst_ref.value or src_ref.value; '=' or ISSUBSET), alone or ANDed with the
 * port of its side (network-traffic:dst_port / src_port). The expression is brought to
 * disjunctive normal form; each conjunction is one indicator or is skipped whole. */

enum {
    SP_END,
    SP_LBRACK,
    SP_RBRACK,
    SP_LPAREN,
    SP_RPAREN,
    SP_COMMA,
    SP_STR,
    SP_NUM,
    SP_WORD,
    SP_OP,
    SP_BAD
};
enum { SC_OTHER, SC_ADDR, SC_DST_ADDR, SC_SRC_ADDR, SC_DST_PORT, SC_SRC_PORT, SC_NOOP };

#define SP_MAX_TERMS 32
#define SP_MAX_CMPS 6
#define SP_MAX_DEPTH 32

typedef struct sp_cmp {
    int kind;
    int port;
    char obj[24];  /* the object type: ipv4-addr, ipv6-addr, network-traffic, ... */
    char val[128]; /* as long as a token: never cut */
} sp_cmp_t;

typedef struct sp_conj {
    int n;
    sp_cmp_t c[SP_MAX_CMPS];
} sp_conj_t;

typedef struct sp_dnf {
    int n;
    sp_conj_t t[SP_MAX_TERMS];
} sp_dnf_t;

typedef struct sp {
    const char *p;
    int kind;
    char text[128];
    int depth;
    const char *fail;
} sp_t;

static int sp_wordc(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':' || c == '.' || c == '-';
}

static void sp_next(sp_t *t)
{
    while (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r')
        t->p++;
    char c = *t->p;
    size_t n = 0;
    t->text[0] = '\0';
    if (!c) {
        t->kind = SP_END;
        return;
    }
    const char *single = strchr("[](),", c);
    if (single) {
        static const int kinds[] = {SP_LBRACK, SP_RBRACK, SP_LPAREN, SP_RPAREN, SP_COMMA};
        t->kind = kinds[single - "[](),"];
        t->p++;
        return;
    }
    t->kind = SP_BAD;
    if (c == '\'') {
        const char *p = t->p + 1;
        for (; *p && *p != '\''; p++) {
            if (*p == '\\' && (p[1] == '\'' || p[1] == '\\'))
                p++;
            if (n + 1 >= sizeof t->text)
                return; /* longer than any address */
            t->text[n++] = *p;
        }
        if (*p != '\'')
            return;
        t->text[n] = '\0';
        t->p = p + 1;
        t->kind = SP_STR;
        return;
    }
    if (strchr("=!<>", c)) {
        while (n < 2 && *t->p && strchr("=!<>", *t->p))
            t->text[n++] = *t->p++;
        t->text[n] = '\0';
        t->kind = SP_OP;
        return;
    }
    int num = isdigit((unsigned char)c);
    while (num ? isdigit((unsigned char)*t->p) : sp_wordc(*t->p)) {
        if (n + 1 >= sizeof t->text)
            return;
        t->text[n++] = *t->p++;
        /* a list index inside a path: protocols[*], values[0] */
        if (!num && *t->p == '[' && (t->p[1] == '*' || isdigit((unsigned char)t->p[1]))) {
            const char *rb = strchr(t->p, ']');
            if (!rb || n + (size_t)(rb - t->p) + 2 >= sizeof t->text)
                return;
            while (t->p <= rb)
                t->text[n++] = *t->p++;
        }
    }
    if (n == 0)
        return;
    t->text[n] = '\0';
    t->kind = num ? SP_NUM : SP_WORD;
}

static int sp_is(const sp_t *t, const char *word)
{
    return t->kind == SP_WORD && strcasecmp(t->text, word) == 0;
}

static sp_dnf_t *sp_fail(sp_t *t, sp_dnf_t *d, const char *why)
{
    if (!t->fail)
        t->fail = why;
    free(d);
    return NULL;
}

/* a := a OR b (b freed) */
static sp_dnf_t *sp_union(sp_t *t, sp_dnf_t *a, sp_dnf_t *b)
{
    if (a->n + b->n > SP_MAX_TERMS) {
        free(b);
        return sp_fail(t, a, "too many alternatives");
    }
    memcpy(&a->t[a->n], b->t, (size_t)b->n * sizeof b->t[0]);
    a->n += b->n;
    free(b);
    return a;
}

/* a AND b, distributed (both freed) */
static sp_dnf_t *sp_product(sp_t *t, sp_dnf_t *a, sp_dnf_t *b)
{
    if (a->n * b->n > SP_MAX_TERMS) {
        free(b);
        return sp_fail(t, a, "too many alternatives");
    }
    sp_dnf_t *r = hj_xcalloc(1, sizeof *r);
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            if (a->t[i].n + b->t[j].n > SP_MAX_CMPS) {
                free(a);
                free(b);
                return sp_fail(t, r, "too many comparisons joined by AND");
            }
            sp_conj_t *c = &r->t[r->n++];
            memcpy(c->c, a->t[i].c, (size_t)a->t[i].n * sizeof c->c[0]);
            memcpy(c->c + a->t[i].n, b->t[j].c, (size_t)b->t[j].n * sizeof c->c[0]);
            c->n = a->t[i].n + b->t[j].n;
        }
    free(a);
    free(b);
    return r;
}

static sp_dnf_t *sp_or(sp_t *t);

/* One comparison: PATH [NOT] OP VALUE, classified. */
static sp_dnf_t *sp_cmp(sp_t *t)
{
    if (t->kind != SP_WORD || !strchr(t->text, ':'))
        return sp_fail(t, NULL, "expected an object path");
    sp_dnf_t *d = hj_xcalloc(1, sizeof *d);
    d->n = 1;
    d->t[0].n = 1;
    sp_cmp_t *c = &d->t[0].c[0];
    char path[128];
    snprintf(path, sizeof path, "%s", t->text);
    size_t on = strcspn(path, ":");
    snprintf(c->obj, sizeof c->obj, "%.*s", (int)on, path);
    sp_next(t);
    int negated = sp_is(t, "NOT");
    if (negated)
        sp_next(t);
    char op[128];
    if (t->kind != SP_OP && t->kind != SP_WORD)
        return sp_fail(t, d, "expected an operator");
    snprintf(op, sizeof op, "%s", t->text);
    sp_next(t);
    int vkind = t->kind;
    if (vkind == SP_LPAREN) { /* IN ('a', 'b'): a set; not matched, but skipped cleanly */
        do
            sp_next(t);
        while (t->kind == SP_STR || t->kind == SP_NUM || t->kind == SP_COMMA);
        if (t->kind != SP_RPAREN)
            return sp_fail(t, d, "unbalanced ( in a value list");
    } else if (vkind != SP_STR && vkind != SP_NUM && vkind != SP_WORD) {
        return sp_fail(t, d, "expected a value");
    }
    snprintf(c->val, sizeof c->val, "%s", t->text);
    sp_next(t);
    int eq = !negated && strcmp(op, "=") == 0;
    int subset = !negated && strcasecmp(op, "ISSUBSET") == 0;
    const char *prop = path + on + 1;
    if ((eq || subset) && vkind == SP_STR) {
        if ((strcmp(path, "ipv4-addr:value") == 0 || strcmp(path, "ipv6-addr:value") == 0))
            c->kind = SC_ADDR;
        else if (strcmp(path, "network-traffic:dst_ref.value") == 0)
            c->kind = SC_DST_ADDR;
        else if (strcmp(path, "network-traffic:src_ref.value") == 0)
            c->kind = SC_SRC_ADDR;
        else if (eq && strcmp(c->obj, "network-traffic") == 0 &&
                 (strcmp(prop, "dst_ref.type") == 0 || strcmp(prop, "src_ref.type") == 0) &&
                 (strcmp(c->val, "ipv4-addr") == 0 || strcmp(c->val, "ipv6-addr") == 0))
            c->kind = SC_NOOP;
    } else if (eq && vkind == SP_NUM && strcmp(c->obj, "network-traffic") == 0 &&
               (strcmp(prop, "dst_port") == 0 || strcmp(prop, "src_port") == 0) &&
               ti_parse_port(c->val, &c->port) == 0) {
        c->kind = prop[0] == 'd' ? SC_DST_PORT : SC_SRC_PORT;
    }
    if (c->kind == SC_OTHER) /* keep the path for the message */
        snprintf(c->val, sizeof c->val, "%s", path);
    return d;
}

static sp_dnf_t *sp_atom(sp_t *t)
{
    if (t->kind != SP_LPAREN)
        return sp_cmp(t);
    if (++t->depth > SP_MAX_DEPTH)
        return sp_fail(t, NULL, "nested too deep");
    sp_next(t);
    sp_dnf_t *d = sp_or(t);
    if (!d)
        return NULL;
    if (t->kind != SP_RPAREN)
        return sp_fail(t, d, "unbalanced (");
    t->depth--;
    sp_next(t);
    return d;
}

/* operand (OP operand)*, each pair joined by `join` (sp_product for AND, sp_union for OR). */
static sp_dnf_t *sp_chain(sp_t *t, sp_dnf_t *(*operand)(sp_t *), const char *op,
                          sp_dnf_t *(*join)(sp_t *, sp_dnf_t *, sp_dnf_t *))
{
    sp_dnf_t *d = operand(t);
    while (d && sp_is(t, op)) {
        sp_next(t);
        sp_dnf_t *b = operand(t);
        if (!b)
            return sp_fail(t, d, "bad operand of AND or OR");
        d = join(t, d, b);
    }
    return d;
}

static sp_dnf_t *sp_and(sp_t *t)
{
    return sp_chain(t, sp_atom, "AND", sp_product);
}

static sp_dnf_t *sp_or(sp_t *t)
{
    return sp_chain(t, sp_and, "OR", sp_union);
}

static sp_dnf_t *sp_obs_expr(sp_t *t);

static sp_dnf_t *sp_obs(sp_t *t)
{
    sp_dnf_t *d;
    if (++t->depth > SP_MAX_DEPTH)
        return sp_fail(t, NULL, "nested too deep");
    if (t->kind == SP_LBRACK) {
        sp_next(t);
        d = sp_or(t);
        if (d && t->kind != SP_RBRACK)
            return sp_fail(t, d, "unbalanced [");
    } else if (t->kind == SP_LPAREN) {
        sp_next(t);
        d = sp_obs_expr(t);
        if (d && t->kind != SP_RPAREN)
            return sp_fail(t, d, "unbalanced (");
    } else {
        return sp_fail(t, NULL, "expected [");
    }
    if (!d)
        return NULL;
    t->depth--;
    sp_next(t);
    if (sp_is(t, "WITHIN") || sp_is(t, "REPEATS") || sp_is(t, "START"))
        return sp_fail(t, d,
                       "observation qualifiers (WITHIN, REPEATS, START/STOP) are not "
                       "matched on single flows");
    return d;
}

static sp_dnf_t *sp_obs_expr(sp_t *t)
{
    sp_dnf_t *d = sp_chain(t, sp_obs, "OR", sp_union);
    if (d && (sp_is(t, "AND") || sp_is(t, "FOLLOWEDBY")))
        return sp_fail(t, d,
                       "AND/FOLLOWEDBY between observations needs several flows seen "
                       "together; not matched");
    return d;
}

/* The pattern in disjunctive normal form, or NULL with *why. */
static sp_dnf_t *sp_parse(const char *pattern, const char **why)
{
    sp_t t = {.p = pattern};
    sp_next(&t);
    sp_dnf_t *d = sp_obs_expr(&t);
    if (d && t.kind != SP_END)
        d = sp_fail(&t, d, "text after the pattern");
    if (!d)
        *why = t.fail ? t.fail : "not a pattern";
    return d;
}

/* One conjunction as an indicator; 0 kept, else *why says what flows cannot match. */
static int sp_conj_keep(ti_ld_t *ld, const char *where, const sp_conj_t *cj, const ti_meta_t *m,
                        const char **why)
{
    const sp_cmp_t *addr = NULL, *port = NULL;
    for (int i = 0; i < cj->n; i++) {
        const sp_cmp_t *c = &cj->c[i];
        if (c->kind == SC_OTHER) {
            *why = c->val; /* the path */
            return -1;
        }
        if (c->kind == SC_NOOP)
            continue;
        const sp_cmp_t **slot = c->kind == SC_DST_PORT || c->kind == SC_SRC_PORT ? &port : &addr;
        if (*slot) {
            *why = "two addresses or ports ANDed";
            return -1;
        }
        *slot = c;
    }
    if (!addr) {
        *why = "no address";
        return -1;
    }
    if (port && !((addr->kind == SC_DST_ADDR && port->kind == SC_DST_PORT) ||
                  (addr->kind == SC_SRC_ADDR && port->kind == SC_SRC_PORT))) {
        *why = "a port not of the address's side";
        return -1;
    }
    ti_meta_t mm = *m;
    mm.type = addr->obj;
    ti_keep(ld, where, addr->val, port ? port->port : -1, &mm);
    return 0;
}

static void ti_stix_indicator(ti_ld_t *ld, const json_t *o, const char *where)
{
    if (ti_misp_flag(json_object_get(o, "revoked"))) {
        ld->st.not_ids++;
        return;
    }
    const char *ptype = json_string_value(json_object_get(o, "pattern_type"));
    const char *pattern = json_string_value(json_object_get(o, "pattern"));
    if (ptype && strcmp(ptype, "stix") != 0) {
        ti_other(ld, ptype, where, "pattern_type '%.40s' is not matched (only stix)", ptype);
        return;
    }
    if (!pattern) {
        ti_bad(ld, where, "indicator without a pattern string");
        return;
    }
    ti_meta_t m = {.conf = -1};
    if (ti_parse_time(ti_jstr(o, "valid_from"), &m.valid_from) != 0 ||
        ti_parse_time(ti_jstr(o, "valid_until"), &m.valid_until) != 0) {
        ti_bad(ld, where, "valid_from/valid_until is not a timestamp");
        return;
    }
    const json_t *conf = json_object_get(o, "confidence");
    if (conf) {
        if (!json_is_integer(conf) || json_integer_value(conf) < 0 ||
            json_integer_value(conf) > 100) {
            ti_bad(ld, where, "confidence is not an integer 0-100");
            return;
        }
        m.conf = (int)json_integer_value(conf);
    }
    const char *desc = ti_jstr(o, "description");
    m.desc = *desc ? desc : ti_jstr(o, "name");
    const char *why = NULL;
    sp_dnf_t *d = sp_parse(pattern, &why);
    if (!d) {
        ti_other(ld, "stix pattern", where, "unsupported pattern (%s): %.100s", why, pattern);
        return;
    }
    int kept = 0, skipped = 0;
    char first_why[128] = ""; /* a copy: why may point into d */
    for (int i = 0; i < d->n; i++) {
        long before = ld->st.malformed;
        if (sp_conj_keep(ld, where, &d->t[i], &m, &why) == 0)
            kept += ld->st.malformed == before;
        else if (!skipped++)
            snprintf(first_why, sizeof first_why, "%s", why);
    }
    free(d);
    if (skipped)
        ti_other(ld, "stix pattern", where,
                 "%d of %d pattern alternative%s not matched on flows (%s)%s: %.100s", skipped,
                 skipped + kept, skipped + kept == 1 ? "" : "s", first_why,
                 kept ? ", the rest loaded" : "", pattern);
}

/* A bundle or a single indicator; 0 when `root` is not STIX. */
static int ti_stix(ti_ld_t *ld, json_t *root)
{
    const char *type = ti_jstr(root, "type");
    if (strcmp(type, "indicator") == 0) {
        ti_stix_indicator(ld, root, "indicator");
        return 1;
    }
    if (strcmp(type, "bundle") != 0)
        return 0;
    const json_t *objs = json_object_get(root, "objects");
    if (objs && !json_is_array(objs)) {
        ti_bad(ld, "bundle", "objects is not an array");
        return 1;
    }
    size_t i;
    json_t *o;
    char where[48];
    json_array_foreach(objs, i, o)
    {
        snprintf(where, sizeof where, "objects[%zu]", i);
        if (!json_is_object(o)) {
            ti_bad(ld, where, "not an object");
            continue;
        }
        if (strcmp(ti_jstr(o, "type"), "indicator") == 0)
            ti_stix_indicator(ld, o, where);
    }
    return 1;
}

/* ---- loading -------------------------------------------------------------------------------- */

static int ti_json(ti_ld_t *ld, const char *data, size_t len, char *err, size_t err_cap)
{
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!root) {
        snprintf(err, err_cap, "%s:%d:%d: not valid JSON: %s", ld->path, je.line, je.column,
                 je.text);
        return -1;
    }
    int ok;
    if ((ok = ti_misp(ld, root)) != 0)
        ld->st.format = "misp";
    else if ((ok = json_is_object(root) && ti_stix(ld, root)) != 0)
        ld->st.format = "stix";
    json_decref(root);
    if (!ok) {
        snprintf(err, err_cap,
                 "%s: JSON that is neither a MISP event nor a STIX 2.1 bundle or "
                 "indicator",
                 ld->path);
        return -1;
    }
    return 0;
}

/* Which text format: TI_FMT_*; for CSV the header's columns, separator and line. */
enum { TI_FMT_PLAIN, TI_FMT_CSV, TI_FMT_ZEEK };

static int ti_sniff(const char *data, size_t len, int cols[TI_N_COLS], char *sep, long *hdr_line)
{
    ti_lines_t it = {data, data + len, 0};
    char buf[TI_MAX_LINE], comment[TI_MAX_LINE] = "";
    int rc;
    while ((rc = ti_line_next(&it, buf, sizeof buf)) != TI_LINE_END) {
        if (rc == TI_LINE_BAD)
            continue;
        char *s = ti_trim(buf);
        if (!*s)
            continue;
        if (strncmp(s, "#fields", 7) == 0 || strncmp(s, "#separator", 10) == 0)
            return TI_FMT_ZEEK;
        if (ti_is_comment(s)) {
            s += strspn(s, "#;/<!- \t");
            snprintf(comment, sizeof comment, "%s", s);
            continue;
        }
        /* the first data line: a header, or data under a header written as a comment */
        *hdr_line = it.no;
        *sep = ti_csv_sep(s);
        if (ti_csv_header(s, cols) > 0)
            return TI_FMT_CSV;
        char tmp[TI_MAX_LINE];
        char *f[TI_MAX_COLS];
        snprintf(tmp, sizeof tmp, "%s", s);
        int n = ti_split(tmp, *sep, 1, f, TI_MAX_COLS);
        if (comment[0] && n > 1 && ti_csv_sep(comment) == *sep &&
            ti_csv_header(comment, cols) == n) {
            *hdr_line = 0;
            return TI_FMT_CSV;
        }
        return TI_FMT_PLAIN;
    }
    return TI_FMT_PLAIN;
}

long ti_load_mem(ti_db_t *db, const char *path, const void *data, size_t len, FILE *warn, char *err,
                 size_t err_cap)
{
    const char *base = strrchr(path, '/');
    base = base && base[1] ? base + 1 : path;
    ti_ld_t ld = {.db = db, .path = path, .warn = warn};
    ld.st.name = ti_str(db, base, strlen(base));
    const char *p = data;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) { /* a UTF-8 byte order mark */
        p += 3;
        len -= 3;
    }
    size_t lead = 0;
    while (lead < len && strchr(" \t\r\n", p[lead]) && p[lead])
        lead++;
    if (lead < len && (p[lead] == '{' || p[lead] == '[')) {
        if (ti_json(&ld, p, len, err, err_cap) != 0)
            return -1;
    } else {
        int cols[TI_N_COLS];
        char sep = ',';
        long hdr_line = 0;
        if (memchr(p, '\0', len < 4096 ? len : 4096)) {
            snprintf(err, err_cap, "%s: binary data, not a threat-intel feed", path);
            return -1;
        }
        int fmt = ti_sniff(p, len, cols, &sep, &hdr_line);
        if (fmt == TI_FMT_ZEEK) {
            ld.st.format = "zeek";
            if (ti_zeek(&ld, p, len, err, err_cap) != 0)
                return -1;
        } else if (fmt == TI_FMT_CSV) {
            ld.st.format = "csv";
            ti_csv(&ld, p, len, cols, sep, hdr_line);
        } else {
            ld.st.format = "plain";
            ti_plain(&ld, p, len);
            if (ld.st.loaded == 0 && ld.st.unsupported == 0 && ld.st.malformed > 0) {
                snprintf(err, err_cap,
                         "%s: not a known feed format: no line is an IP address or network, no "
                         "header names an indicator column, and it is not JSON or Zeek Intel",
                         path);
                return -1;
            }
        }
    }
    if (warn) {
        fprintf(warn, "%s: %ld indicator%s loaded (%s)", path, ld.st.loaded,
                ld.st.loaded == 1 ? "" : "s", ld.st.format);
        if (ld.st.duplicate)
            fprintf(warn, "; %ld duplicate%s skipped", ld.st.duplicate,
                    ld.st.duplicate == 1 ? "" : "s");
        if (ld.st.malformed)
            fprintf(warn, "; %ld malformed skipped", ld.st.malformed);
        if (ld.st.unsupported)
            fprintf(warn, "; %ld of kinds flows cannot match skipped (e.g. %s)", ld.st.unsupported,
                    ld.other_type);
        if (ld.st.not_ids)
            fprintf(warn, "; %ld not for detection (to_ids false, deleted or revoked)",
                    ld.st.not_ids);
        if (ld.unprinted)
            fprintf(warn, "; %ld more warnings not shown", ld.unprinted);
        fputc('\n', warn);
    }
    *(ti_feed_t *)hj_vec_at(&db->feeds, db->feeds.n) = ld.st;
    return ld.st.loaded;
}

long ti_load(ti_db_t *db, const char *path, FILE *warn, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        snprintf(err, err_cap, "%s: cannot read the feed: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(err, err_cap, "%s: cannot read the feed: a directory", path);
        fclose(f);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = hj_xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap >= TI_MAX_FEED_BYTES) {
                snprintf(err, err_cap, "%s: larger than %zu MiB", path, TI_MAX_FEED_BYTES >> 20);
                free(buf);
                fclose(f);
                return -1;
            }
            cap *= 2;
            buf = hj_xrealloc(buf, cap);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(err, err_cap, "%s: cannot read the feed: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    long n = ti_load_mem(db, path, buf, len, warn, err, err_cap);
    free(buf);
    return n;
}
