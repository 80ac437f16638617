/* enrich.c: context for findings: the peer's country, city and ASN from MaxMind DB files, and
 * the internal host's name and user from a lease export.
 *
 * An analyst triaging a finding first asks "where is that peer and who owns it" and "whose
 * machine is this"; both answers are joined here, after the hunts, onto the finding.
 *
 * MaxMind DB files come from outside, so they are checked before a flow is read: libmaxminddb
 * checks the metadata, then every search-tree record is read and must point at a node, at "no
 * data" or inside the data section, a bounded number of distinct data records are decoded in
 * full, and the database type must fit the option (--geoip: City or Country; --asn: ASN or
 * ISP). What slips past (a corrupt record beyond the bound) makes a lookup fail: the lookup is
 * a miss, counted, the first one reported with its address and the total at the end. Lookups
 * go by binary address through MMDB_lookup_sockaddr; an IPv4-mapped address is looked up as
 * IPv4 (the database's IPv4 subtree), never as ::ffff:a.b.c.d. Results are cached per address
 * (interned in JudyHS, records in an hj_vec), up to EN_CACHE_MAX addresses.
 *
 * The users file is CSV `start,end,address,user,hostname` (a DHCP lease export), with an
 * optional header, RFC 4180 quotes, ISO 8601 times (timearg.c) and an empty end for a lease
 * still held. Leases are kept per address sorted by start; the lease covering a time is the
 * one that started last among those with start <= t <= end. A malformed line is reported as
 * "PATH:LINE: reason" and skipped.
 */
#include "enrich.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "timearg.h"
#include "utf8.h"

enum { EN_KIND_GEO, EN_KIND_ASN };

typedef struct en_db {
    MMDB_s mmdb;
    int is_open;
    char *path;
    uint64_t lookups, misses, errors;
} en_db_t;

typedef struct en_lease {
    uint64_t start, end; /* ms, inclusive; end UINT64_MAX: still held */
    uint32_t user, host; /* ids into the string pool */
    uint32_t seq;        /* file order: of two leases with one start, the later line wins */
} en_lease_t;

typedef struct en_leases {
    en_lease_t *v;
    uint32_t n, cap;
    int dirty; /* added to since the last sort */
} en_leases_t;

struct en_ctx {
    en_db_t geo, asn;
    FILE *warn;
    const hunt_config_t *cfg;
    hj_intern_t cache_keys; /* 16-byte address -> index into cache */
    hj_vec_t cache;         /* hunt_geo_t */
    hj_intern_t lease_keys; /* 16-byte address -> index into leases */
    hj_vec_t leases;        /* en_leases_t */
    hj_intern_t str_keys;   /* user and host names, interned */
    hj_vec_t strs;          /* char * */
    en_stats_t st;
};

/* ---- text from files: bounded, printable ---------------------------------------------------- */

/* Copies len bytes of s into out (cap > 0), cut at a character boundary, control bytes
 * replaced by '?' so a database or a lease file cannot write escape sequences to a terminal,
 * and bytes that start no UTF-8 sequence by U+FFFD (utf8_clean_copy). */
static void en_copy_text(char *out, size_t cap, const char *s, size_t len)
{
    utf8_clean_copy(out, cap, s, len, '?');
}

/* ---- MaxMind DB: open and check ---------------------------------------------------------------
 */

static int en_db_depth(en_db_t *db, char *err, size_t err_cap);

/* Walks every search-tree node: each record must be a node, "no data" (== node_count) or a
 * pointer into the data section (>= node_count + 16, the separator); the first
 * EN_CHECK_DATA_MAX distinct data records are decoded in full. libmaxminddb 1.7 checks only
 * the metadata at open, and a record pointing outside the file would otherwise surface at
 * some lookup in the middle of a run. */
static int en_db_check(en_db_t *db, char *err, size_t err_cap)
{
    const MMDB_s *m = &db->mmdb;
    const uint64_t nodes = m->metadata.node_count, data = m->data_section_size;
    hj_map_t seen = {0};
    int rc = 0;
    for (uint32_t i = 0; i < nodes && rc == 0; i++) {
        MMDB_search_node_s node;
        int s = MMDB_read_node(m, i, &node);
        if (s != MMDB_SUCCESS) {
            snprintf(err, err_cap, "%s: corrupt MaxMind DB: search tree node %" PRIu32 ": %s",
                     db->path, i, MMDB_strerror(s));
            rc = -1;
            break;
        }
        const uint64_t rec[2] = {node.left_record, node.right_record};
        for (int k = 0; k < 2 && rc == 0; k++) {
            if (rec[k] <= nodes)
                continue;
            if (rec[k] < nodes + 16 || rec[k] - nodes - 16 >= data) {
                snprintf(err, err_cap,
                         "%s: corrupt MaxMind DB: search tree node %" PRIu32
                         " points to record %" PRIu64 ", outside the data section",
                         db->path, i, rec[k]);
                rc = -1;
                break;
            }
            uint64_t off = rec[k] - nodes - 16;
            if (seen.n >= EN_CHECK_DATA_MAX || hj_map_get(&seen, off))
                continue;
            hj_map_ins(&seen, off);
            MMDB_entry_s e = {.mmdb = m, .offset = (uint32_t)off};
            MMDB_entry_data_list_s *list = NULL;
            s = MMDB_get_entry_data_list(&e, &list);
            MMDB_free_entry_data_list(list);
            if (s != MMDB_SUCCESS) {
                snprintf(err, err_cap,
                         "%s: corrupt MaxMind DB: data record at offset %" PRIu64 ": %s", db->path,
                         off, MMDB_strerror(s));
                rc = -1;
            }
        }
    }
    hj_map_free(&seen);
    return rc == 0 ? en_db_depth(db, err, err_cap) : rc;
}

/* A lookup reads one bit per node, so no chain of nodes may be longer than the address has
 * bits (128, or 32 from the IPv4 start), and a cycle is an endless chain: both make a lookup
 * fail half-way. One depth-first pass from the root with each node's height (the longest chain
 * of nodes it starts, 1..128) memoised in h, on a stack of at most `bits` frames. */
static int en_db_height(const MMDB_s *m, uint32_t root, int bits, uint8_t *h)
{
    const uint32_t nodes = m->metadata.node_count;
    struct {
        uint32_t node;
        uint8_t next, best;
        uint64_t rec[2];
    } st[128];
    int sp = -1;
    uint64_t child = root;
    for (;;) {
        if (child < nodes) { /* descend into child, or use its height */
            if (h[child]) {
                if (sp + 1 + h[child] > bits)
                    return -1;
                if (sp >= 0 && h[child] > st[sp].best)
                    st[sp].best = h[child];
            } else {
                MMDB_search_node_s n;
                if (sp + 2 > bits || MMDB_read_node(m, (uint32_t)child, &n) != MMDB_SUCCESS)
                    return -1;
                sp++;
                st[sp].node = (uint32_t)child;
                st[sp].next = st[sp].best = 0;
                st[sp].rec[0] = n.left_record;
                st[sp].rec[1] = n.right_record;
            }
        }
        while (sp >= 0 && st[sp].next == 2) { /* both children done */
            uint8_t height = (uint8_t)(st[sp].best + 1);
            h[st[sp].node] = height;
            if (--sp >= 0 && height > st[sp].best)
                st[sp].best = height;
        }
        if (sp < 0)
            return 0;
        child = st[sp].rec[st[sp].next++];
    }
}

static int en_db_depth(en_db_t *db, char *err, size_t err_cap)
{
    const MMDB_s *m = &db->mmdb;
    const uint32_t nodes = m->metadata.node_count, v4 = m->ipv4_start_node.node_value;
    const int bits = m->metadata.ip_version == 6 ? 128 : 32;
    uint8_t *h = hj_xcalloc(nodes ? nodes : 1, 1);
    int rc = en_db_height(m, 0, bits, h);
    if (rc == 0 && bits == 128 && v4 < nodes)
        rc = en_db_height(m, v4, 32, h);
    free(h);
    if (rc != 0)
        snprintf(err, err_cap,
                 "%s: corrupt MaxMind DB: the search tree has a cycle or is deeper than the "
                 "address has bits",
                 db->path);
    return rc;
}

/* --geoip takes a City or Country database (GeoIP2, GeoLite2, DB-IP), --asn an ASN or ISP one
 * (ISP databases carry the same autonomous_system_* keys). */
static int en_db_type(const en_db_t *db, int kind, char *err, size_t err_cap)
{
    static const char *const want[2][2] = {{"City", "Country"}, {"ASN", "ISP"}};
    const char *t = db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "";
    if (strstr(t, want[kind][0]) || strstr(t, want[kind][1]))
        return 0;
    char shown[80];
    en_copy_text(shown, sizeof shown, t, strlen(t));
    snprintf(err, err_cap, "%s: database type \"%s\" is not %s database (%s)", db->path, shown,
             kind == EN_KIND_GEO ? "a City or Country" : "an ASN or ISP",
             kind == EN_KIND_GEO ? "--geoip" : "--asn");
    return -1;
}

static int en_db_open(en_db_t *db, const char *path, int kind, int checks, char *err,
                      size_t err_cap)
{
    db->path = hj_xstrdup(path);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, err_cap, "%s: not a regular file", path);
        return -1;
    }
    errno = 0;
    int s = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (s != MMDB_SUCCESS) {
        snprintf(err, err_cap, "%s: not a usable MaxMind DB: %s", path,
                 s == MMDB_IO_ERROR && errno ? strerror(errno) : MMDB_strerror(s));
        return -1;
    }
    db->is_open = 1;
    if (!checks)
        return 0;
    return en_db_check(db, err, err_cap) != 0 || en_db_type(db, kind, err, err_cap) != 0 ? -1 : 0;
}

/* ---- MaxMind DB: lookups ------------------------------------------------------------------- */

/* A failed lookup is a miss: counted, the first one of each database reported. */
static int en_db_fail(en_ctx_t *en, en_db_t *db, const flow_addr_t *a, const char *why)
{
    if (db->errors++ == 0 && en->warn) {
        char as[FLOW_ADDR_STRLEN];
        flow_addr_format(a, as);
        fprintf(en->warn,
                "flowhunt: %s: lookup of %s failed: %s (counted as a miss; later failures are "
                "only counted)\n",
                db->path, as, why);
    }
    return -1;
}

/* 1 and *out when the database has a record for a, 0 when it has none, -1 on corruption. */
static int en_db_find(en_ctx_t *en, en_db_t *db, const flow_addr_t *a, MMDB_entry_s *out)
{
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    const struct sockaddr *sa;
    if (flow_addr_is_v4(a)) {
        memset(&s4, 0, sizeof s4);
        s4.sin_family = AF_INET;
        memcpy(&s4.sin_addr, a->b + 12, 4);
        sa = (const struct sockaddr *)&s4;
    } else {
        memset(&s6, 0, sizeof s6);
        s6.sin6_family = AF_INET6;
        memcpy(&s6.sin6_addr, a->b, 16);
        sa = (const struct sockaddr *)&s6;
    }
    db->lookups++;
    int merr = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db->mmdb, sa, &merr);
    if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR ||
        (merr == MMDB_SUCCESS && !r.found_entry)) {
        db->misses++;
        return 0;
    }
    if (merr != MMDB_SUCCESS)
        return en_db_fail(en, db, a, MMDB_strerror(merr));
    *out = r.entry;
    return 1;
}

/* A string at `path`: 1 copied, 0 absent, -1 corrupt or not a string (*why set). */
static int en_get_str(MMDB_entry_s *e, const char *const *path, char *out, size_t cap,
                      const char **why)
{
    MMDB_entry_data_s d;
    int s = MMDB_aget_value(e, &d, path);
    if (s == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (s == MMDB_SUCCESS && !d.has_data))
        return 0;
    if (s != MMDB_SUCCESS) {
        *why = MMDB_strerror(s);
        return -1;
    }
    if (d.type != MMDB_DATA_TYPE_UTF8_STRING) {
        *why = "a name that is not a string";
        return -1;
    }
    en_copy_text(out, cap, d.utf8_string, d.data_size);
    return 1;
}

static void en_geo_fill(en_ctx_t *en, const flow_addr_t *a, hunt_geo_t *out)
{
    static const char *const p_cc[] = {"country", "iso_code", NULL};
    static const char *const p_cn[] = {"country", "names", "en", NULL};
    static const char *const p_city[] = {"city", "names", "en", NULL};
    MMDB_entry_s e;
    if (en_db_find(en, &en->geo, a, &e) != 1)
        return;
    hunt_geo_t g;
    memset(&g, 0, sizeof g);
    const char *why = NULL;
    char cc_buf[8];
    int cc = en_get_str(&e, p_cc, cc_buf, sizeof cc_buf, &why);
    int cn = cc < 0 ? -1 : en_get_str(&e, p_cn, g.country_name, sizeof g.country_name, &why);
    int ci = cn < 0 ? -1 : en_get_str(&e, p_city, g.city, sizeof g.city, &why);
    if (cc < 0 || cn < 0 || ci < 0) {
        en_db_fail(en, &en->geo, a, why);
        return;
    }
    if (cc == 1 && (strlen(cc_buf) != 2 || !isupper((unsigned char)cc_buf[0]) ||
                    !isupper((unsigned char)cc_buf[1]))) {
        en_db_fail(en, &en->geo, a, "a country code that is not ISO 3166-1 alpha-2");
        return;
    }
    if (cc == 1)
        memcpy(g.country, cc_buf, sizeof g.country);
    if (cc == 0 && ci == 0) { /* a record without country or city (a registered country only) */
        en->geo.misses++;
        return;
    }
    out->has_geo = 1;
    memcpy(out->country, g.country, sizeof out->country);
    memcpy(out->country_name, g.country_name, sizeof out->country_name);
    memcpy(out->city, g.city, sizeof out->city);
}

static void en_asn_fill(en_ctx_t *en, const flow_addr_t *a, hunt_geo_t *out)
{
    static const char *const p_num[] = {"autonomous_system_number", NULL};
    static const char *const p_org[] = {"autonomous_system_organization", NULL};
    MMDB_entry_s e;
    if (en_db_find(en, &en->asn, a, &e) != 1)
        return;
    MMDB_entry_data_s d;
    int s = MMDB_aget_value(&e, &d, p_num);
    if (s == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (s == MMDB_SUCCESS && !d.has_data)) {
        en->asn.misses++; /* an ISP record without an ASN */
        return;
    }
    if (s != MMDB_SUCCESS) {
        en_db_fail(en, &en->asn, a, MMDB_strerror(s));
        return;
    }
    uint64_t asn;
    switch (d.type) {
    case MMDB_DATA_TYPE_UINT16:
        asn = d.uint16;
        break;
    case MMDB_DATA_TYPE_UINT32:
        asn = d.uint32;
        break;
    case MMDB_DATA_TYPE_UINT64:
        asn = d.uint64;
        break;
    case MMDB_DATA_TYPE_INT32:
        asn = d.int32 < 0 ? UINT64_MAX : (uint64_t)d.int32;
        break;
    default:
        asn = UINT64_MAX;
    }
    if (asn > UINT32_MAX) {
        en_db_fail(en, &en->asn, a, "an autonomous_system_number that is not a 32-bit number");
        return;
    }
    char org[sizeof out->as_org] = "";
    const char *why = NULL;
    if (en_get_str(&e, p_org, org, sizeof org, &why) < 0) {
        en_db_fail(en, &en->asn, a, why);
        return;
    }
    out->has_asn = 1;
    out->asn = (uint32_t)asn;
    memcpy(out->as_org, org, sizeof out->as_org);
}

const char *const en_cell_names[EN_N_CELLS] = {"country", "asn", "as_org"};

int en_cell(char *out, const hunt_geo_t *g, int cell, int out_fmt)
{
    if (cell == EN_CELL_COUNTRY) {
        if (!g->has_geo || !g->country[0])
            return -1;
        return snprintf(out, EN_CELL_MAX, "%s", g->country);
    }
    if (!g->has_asn)
        return -1;
    if (cell == EN_CELL_ASN)
        return snprintf(out, EN_CELL_MAX, "%" PRIu32, g->asn);
    if (!g->as_org[0])
        return -1;
    return en_escape(out, g->as_org, out_fmt);
}

int en_escape(char *out, const char *text, int out_fmt)
{
    /* a CSV cell starting with = + - @, a tab or CR is a formula to a spreadsheet (an
     * organisation or a feed's description is anyone's text): quoted and led by ', as the hunt
     * report's CSV does */
    int formula = out_fmt == EN_OUT_CSV && text[0] && strchr("=+-@\t\r", text[0]) != NULL;
    int len = 0, quote = formula || (out_fmt == EN_OUT_CSV && strpbrk(text, ",\"\r\n") != NULL);
    if (quote)
        out[len++] = '"';
    if (formula)
        out[len++] = '\'';
    for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
        if ((out_fmt == EN_OUT_JSON && (*s == '"' || *s == '\\')) ||
            (out_fmt == EN_OUT_CSV && *s == '"'))
            out[len++] = out_fmt == EN_OUT_JSON ? '\\' : '"';
        size_t k = *s < 0x80 ? 1 : utf8_seq_len(s);
        if (k == 0) { /* not UTF-8 (a Latin-1 feed): U+FFFD, in at most the 6 bytes of \u */
            len +=
                snprintf(out + len, 7, "%s", out_fmt == EN_OUT_JSON ? "\\ufffd" : UTF8_REPLACEMENT);
        } else if (k > 1) {
            memcpy(out + len, s, k);
            len += (int)k;
            s += k - 1;
        } else if (*s < 0x20 && out_fmt == EN_OUT_JSON) {
            len += snprintf(out + len, 7, "\\u%04x", *s);
        } else {
            out[len++] = *s < 0x20 && out_fmt != EN_OUT_CSV ? '?' : (char)*s;
        }
    }
    if (quote)
        out[len++] = '"';
    out[len] = '\0';
    return len;
}

int en_lookup(en_ctx_t *en, const flow_addr_t *a, hunt_geo_t *out)
{
    memset(out, 0, sizeof *out);
    if (!en || !a || !(en->geo.is_open || en->asn.is_open))
        return 0;
    en->st.lookups++;
    uint64_t id = hj_lookup(&en->cache_keys, a->b, sizeof a->b);
    if (id != UINT64_MAX) {
        en->st.cache_hits++;
        *out = *(const hunt_geo_t *)hj_vec_at(&en->cache, (size_t)id);
        return out->has_geo || out->has_asn;
    }
    if (en->geo.is_open)
        en_geo_fill(en, a, out);
    if (en->asn.is_open)
        en_asn_fill(en, a, out);
    if (en->cache_keys.n < EN_CACHE_MAX) {
        int is_new;
        id = hj_intern(&en->cache_keys, a->b, sizeof a->b, &is_new);
        *(hunt_geo_t *)hj_vec_at(&en->cache, (size_t)id) = *out;
    }
    return out->has_geo || out->has_asn;
}

/* ---- the users file ----------------------------------------------------------------------- */

/* Splits a CSV line in place into at most `max` fields (RFC 4180 quotes, "" for a quote;
 * blanks around unquoted fields trimmed). The count, or -1 with *why set. */
static int en_csv_split(char *line, char **fields, int max, const char **why)
{
    char *p = line;
    int n = 0;
    for (;;) {
        if (n == max) {
            *why = "more than 5 fields (start,end,address,user,hostname)";
            return -1;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        char *start = p, c;
        if (*p == '"') {
            char *o = p++;
            for (;;) {
                if (!*p) {
                    *why = "unterminated quote";
                    return -1;
                }
                if (*p == '"' && p[1] != '"')
                    break;
                if (*p == '"')
                    p++;
                *o++ = *p++;
            }
            *o = '\0'; /* o < p: the closing quote is still ahead */
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p && *p != ',') {
                *why = "text after a closing quote";
                return -1;
            }
            c = *p;
        } else {
            while (*p && *p != ',') {
                if (*p == '"') {
                    *why = "a quote inside an unquoted field";
                    return -1;
                }
                p++;
            }
            c = *p;
            char *e = p;
            while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *e = '\0';
        }
        fields[n++] = start;
        if (c != ',')
            return n;
        p++;
    }
}

/* An ISO 8601 time (never a relative one: "-24h" in a lease file is a mistake). */
static int en_time(const char *s, uint64_t *ms)
{
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return -1;
    return s[4] == '-' && timearg_parse(s, 0, ms) == 0 ? 0 : -1;
}

/* A user or host name fits the finding (EN_USERS_FIELD_MAX) and prints safely. */
static int en_name_ok(const char *s, const char *too_long, const char *control, const char **why)
{
    if (strlen(s) > EN_USERS_FIELD_MAX) {
        *why = too_long;
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            *why = control;
            return 0;
        }
    return 1;
}

static uint32_t en_str_id(en_ctx_t *en, const char *s)
{
    int is_new;
    uint64_t id = hj_intern(&en->str_keys, s, strlen(s), &is_new);
    if (is_new)
        *(char **)hj_vec_at(&en->strs, (size_t)id) = hj_xstrdup(s);
    return (uint32_t)id;
}

static void en_lease_add(en_ctx_t *en, const flow_addr_t *a, const en_lease_t *l)
{
    int is_new;
    uint64_t id = hj_intern(&en->lease_keys, a->b, sizeof a->b, &is_new);
    en_leases_t *L = hj_vec_at(&en->leases, (size_t)id);
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 2;
        L->v = hj_xrealloc(L->v, (size_t)L->cap * sizeof *L->v);
    }
    L->v[L->n++] = *l;
    L->dirty = 1;
}

typedef struct en_users_run {
    const char *name;
    unsigned long line;
    uint64_t bad, added;
    int seen_data; /* a non-empty line was read: a header can only come first */
} en_users_run_t;

static void en_users_bad(en_ctx_t *en, en_users_run_t *r, const char *why)
{
    en->st.users_bad++;
    if (++r->bad <= EN_USERS_REPORT_MAX && en->warn)
        fprintf(en->warn, "%s:%lu: %s\n", r->name, r->line, why);
}

static int en_header(char **f)
{
    static const char *const names[5] = {"start", "end", "address", "user", "hostname"};
    for (int i = 0; i < 5; i++)
        if (strcasecmp(f[i], names[i]) != 0)
            return 0;
    return 1;
}

/* One line (NUL-terminated, no newline). */
static void en_users_line(en_ctx_t *en, en_users_run_t *r, char *line)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r')
        line[--len] = '\0';
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return;
    int first = !r->seen_data;
    r->seen_data = 1;
    char *f[5];
    const char *why = NULL;
    int n = en_csv_split(p, f, 5, &why);
    if (n < 0) {
        en_users_bad(en, r, why);
        return;
    }
    if (n != 5) {
        en_users_bad(en, r, "expected 5 fields: start,end,address,user,hostname");
        return;
    }
    if (first && strcasecmp(f[0], "start") == 0) {
        if (!en_header(f))
            en_users_bad(en, r, "a header must be start,end,address,user,hostname");
        return;
    }
    en_lease_t l = {0};
    flow_addr_t a;
    if (en_time(f[0], &l.start) != 0) {
        en_users_bad(en, r, "start is not an ISO 8601 time");
        return;
    }
    if (!f[1][0])
        l.end = UINT64_MAX;
    else if (en_time(f[1], &l.end) != 0) {
        en_users_bad(en, r, "end is not an ISO 8601 time");
        return;
    } else if (l.end < l.start) {
        en_users_bad(en, r, "end is before start");
        return;
    }
    if (flow_addr_parse(&a, f[2]) != 0) {
        en_users_bad(en, r, "address is not an IPv4 or IPv6 address");
        return;
    }
    if (!en_name_ok(f[3], "user longer than 127 bytes", "control character in user", &why) ||
        !en_name_ok(f[4], "hostname longer than 127 bytes", "control character in hostname",
                    &why)) {
        en_users_bad(en, r, why);
        return;
    }
    if (!f[3][0] && !f[4][0]) {
        en_users_bad(en, r, "neither user nor hostname");
        return;
    }
    if (en->st.leases >= EN_USERS_MAX_LEASES) {
        if (en->st.users_over++ == 0 && en->warn)
            fprintf(en->warn, "%s:%lu: more than %u leases: the rest are not loaded\n", r->name,
                    r->line, EN_USERS_MAX_LEASES);
        return;
    }
    l.user = en_str_id(en, f[3]);
    l.host = en_str_id(en, f[4]);
    l.seq = (uint32_t)en->st.leases;
    en_lease_add(en, &a, &l);
    en->st.leases++;
    r->added++;
}

static int en_lease_cmp(const void *pa, const void *pb)
{
    const en_lease_t *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Bytes from a FILE or from memory, one line at a time, each at most EN_USERS_LINE_MAX. */
typedef struct en_src {
    FILE *f;
    const char *p;
    size_t rem;
} en_src_t;

static int en_src_getc(en_src_t *s)
{
    if (s->f)
        return getc(s->f);
    if (!s->rem)
        return EOF;
    s->rem--;
    return (unsigned char)*s->p++;
}

static long en_users_read(en_ctx_t *en, const char *name, en_src_t *s)
{
    char line[EN_USERS_LINE_MAX + 1];
    size_t len = 0;
    int too_long = 0, nul = 0, any = 0;
    en_users_run_t r = {.name = name};
    for (;;) {
        int c = en_src_getc(s);
        if (c != EOF && c != '\n') {
            any = 1;
            if (c == 0)
                nul = 1;
            else if (len < EN_USERS_LINE_MAX)
                line[len++] = (char)c;
            else
                too_long = 1;
            continue;
        }
        if (c == EOF && !any)
            break;
        r.line++;
        line[len] = '\0';
        if (too_long) {
            r.seen_data = 1;
            en_users_bad(en, &r, "line longer than 4096 bytes");
        } else if (nul) {
            r.seen_data = 1;
            en_users_bad(en, &r, "NUL byte in line");
        } else {
            en_users_line(en, &r, r.line == 1 ? utf8_skip_bom(line) : line);
        }
        len = 0;
        too_long = nul = any = 0;
        if (c == EOF)
            break;
    }
    if (r.bad > EN_USERS_REPORT_MAX && en->warn)
        fprintf(en->warn, "%s: %" PRIu64 " malformed lines skipped (the first %d shown)\n", name,
                r.bad, EN_USERS_REPORT_MAX);
    for (size_t i = 0; i < en->leases.n; i++) {
        en_leases_t *L = hj_vec_at(&en->leases, i);
        if (L->dirty)
            qsort(L->v, L->n, sizeof *L->v, en_lease_cmp);
        L->dirty = 0;
    }
    return (long)r.added;
}

long en_users_parse(en_ctx_t *en, const char *name, const char *text, size_t len)
{
    en_src_t s = {.p = text, .rem = len};
    return en_users_read(en, name, &s);
}

static int en_users_load(en_ctx_t *en, const char *path, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    en_src_t s = {.f = f};
    en_users_read(en, path, &s);
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        snprintf(err, err_cap, "%s: read error: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

int en_user_at(const en_ctx_t *en, const flow_addr_t *host, uint64_t t_ms, char *user,
               size_t user_cap, char *hostname, size_t hostname_cap)
{
    if (!en || !host)
        return 0;
    uint64_t id = hj_lookup(&en->lease_keys, host->b, sizeof host->b);
    if (id == UINT64_MAX || id >= en->leases.n)
        return 0;
    const en_leases_t *L = (const en_leases_t *)en->leases.v + id;
    /* leases with start <= t are v[0..lo) */
    uint32_t lo = 0, hi = L->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (L->v[mid].start <= t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t i = lo; i-- > 0;) {
        const en_lease_t *l = &L->v[i];
        if (l->end < t_ms)
            continue;
        const char *const *strs = en->strs.v;
        en_copy_text(user, user_cap, strs[l->user], strlen(strs[l->user]));
        en_copy_text(hostname, hostname_cap, strs[l->host], strlen(strs[l->host]));
        return 1;
    }
    return 0;
}

/* ---- the context ----------------------------------------------------------------------------- */

static void en_free(en_ctx_t *en)
{
    en_db_t *dbs[2] = {&en->geo, &en->asn};
    for (int i = 0; i < 2; i++) {
        if (dbs[i]->is_open)
            MMDB_close(&dbs[i]->mmdb);
        free(dbs[i]->path);
    }
    hj_intern_free(&en->cache_keys);
    hj_vec_free(&en->cache);
    for (size_t i = 0; i < en->leases.n; i++)
        free(((en_leases_t *)en->leases.v)[i].v);
    hj_intern_free(&en->lease_keys);
    hj_vec_free(&en->leases);
    for (size_t i = 0; i < en->strs.n; i++)
        free(((char **)en->strs.v)[i]);
    hj_intern_free(&en->str_keys);
    hj_vec_free(&en->strs);
    free(en);
}

en_ctx_t *en_open_opts(const en_opts_t *o, char *err, size_t err_cap)
{
    en_ctx_t *en = hj_xcalloc(1, sizeof *en);
    en->warn = o->warn;
    hj_vec_init(&en->cache, sizeof(hunt_geo_t));
    hj_vec_init(&en->leases, sizeof(en_leases_t));
    hj_vec_init(&en->strs, sizeof(char *));
    if ((o->geoip && en_db_open(&en->geo, o->geoip, EN_KIND_GEO, !o->no_checks, err, err_cap)) ||
        (o->asn && en_db_open(&en->asn, o->asn, EN_KIND_ASN, !o->no_checks, err, err_cap)) ||
        (o->users && en_users_load(en, o->users, err, err_cap))) {
        en_free(en);
        return NULL;
    }
    return en;
}

en_ctx_t *en_open(const char *geoip_path, const char *asn_path, const char *users_path, char *err,
                  size_t err_cap)
{
    en_opts_t o = {.geoip = geoip_path, .asn = asn_path, .users = users_path, .warn = stderr};
    return en_open_opts(&o, err, err_cap);
}

void en_set_internal(en_ctx_t *en, const hunt_config_t *cfg)
{
    if (en)
        en->cfg = cfg;
}

void en_finding(en_ctx_t *en, hunt_finding_t *f)
{
    if (!en || !f)
        return;
    if (en->st.leases) {
        char user[sizeof f->user], host[sizeof f->host_name];
        if (en_user_at(en, &f->host, f->last_seen, user, sizeof user, host, sizeof host) ||
            en_user_at(en, &f->host, f->first_seen, user, sizeof user, host, sizeof host)) {
            if (user[0])
                memcpy(f->user, user, sizeof f->user);
            if (host[0])
                memcpy(f->host_name, host, sizeof f->host_name);
        }
    }
    /* a single address only: a network ("10.1.2.0/24") or "" has no one location */
    flow_addr_t peer;
    if (!memchr(f->peer, '\0', sizeof f->peer) || !f->peer[0] ||
        flow_addr_parse(&peer, f->peer) != 0 || (en->cfg && hc_is_internal(en->cfg, &peer)))
        return;
    en_lookup(en, &peer, &f->peer_geo);
}

void en_get_stats(const en_ctx_t *en, en_stats_t *out)
{
    *out = en->st;
    out->geo_miss = en->geo.misses;
    out->asn_miss = en->asn.misses;
    out->geo_errors = en->geo.errors;
    out->asn_errors = en->asn.errors;
}

void en_close(en_ctx_t *en)
{
    if (!en)
        return;
    const en_db_t *dbs[2] = {&en->geo, &en->asn};
    for (int i = 0; i < 2; i++)
        if (dbs[i]->errors && en->warn)
            fprintf(en->warn,
                    "flowhunt: %s: %" PRIu64 " of %" PRIu64
                    " lookups failed on corrupt data (counted as misses)\n",
                    dbs[i]->path, dbs[i]->errors, dbs[i]->lookups);
    en_free(en);
}
