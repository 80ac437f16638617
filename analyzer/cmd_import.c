/* cmd_import.c: `flowhunt import`, flow history from other tools into a data directory:
 * nfdump's CSV output (`nfdump -o csv`, nfdump 1.7) and Zeek conn.log files (TSV).
 *
 * Each format is a line parser (imp_parse_line) that turns one line into a flow_rec_t, so the
 * parsers are tested without files; the command feeds them lines, reports a malformed line with
 * its number and goes on, and writes the flows through the segment writer with place_ms = the
 * flow's end time, so imported history lands in the hour folders of when it happened. Flows are
 * sorted by end time in chunks before writing: logs are ordered by start, and a writer handed
 * end times that jump back and forth would close and reopen intervals.
 *
 * A Zeek conn.log line becomes ONE biflow record (RFC 5103): packets/bytes are the
 * originator's (orig_pkts, orig_ip_bytes), rev_packets/rev_bytes the responder's. One line is
 * one connection: two uniflows would double every flow count and make each responder look like
 * an initiator, and which side initiated is what scan, beacon and exfiltration hunts ask. It is
 * also how the collector stores an IPFIX biflow, so both sources answer the same queries. Bytes
 * are IP bytes (orig_ip_bytes), as NetFlow counts them, not Zeek's payload bytes. TCP flags
 * come from the originator's letters of `history` (S, H, A, F, R), so `flags S and not flags A`
 * finds half-open scans in Zeek data too; rev_tcp_flags from the responder's (s, h, a, f, r),
 * so a connection refused by a RST (REJ, "Sr") is a rejection to the hunts, not an answer.
 * A line with no handshake in its history was picked up mid-stream, its originator only the
 * side Zeek saw first: it is turned round when the ports say which side is the service.
 *
 * nfdump's CSV has whole-second times and the duration in ms: the start is the earliest
 * millisecond consistent with ts, te and td, and the end is start + td. Fields nfdump prints as
 * 0 when an exporter did not send them (AS numbers, interfaces, masks, next hop, VLAN, reverse
 * counters, ToS, direction) are stored as absent when 0. nfcapd has already multiplied its
 * counters by any sampling rate it knew, so the sampling column is 1.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "protoname.h"
#include "timearg.h"

#define IMP_CHUNK (1u << 18) /* flows sorted by end time before writing */
#define IMP_REPORT_MAX 100   /* malformed lines shown per file */

/* Fields either parser knows: the index into imp_parser_t.idx. */
enum {
    IMP_F_TS,
    IMP_F_TE,
    IMP_F_TD,
    IMP_F_SA,
    IMP_F_DA,
    IMP_F_SP,
    IMP_F_DP,
    IMP_F_PR,
    IMP_F_FLG,
    IMP_F_STOS,
    IMP_F_IPKT,
    IMP_F_IBYT,
    IMP_F_OPKT,
    IMP_F_OBYT,
    IMP_F_IN,
    IMP_F_OUT,
    IMP_F_SAS,
    IMP_F_DAS,
    IMP_F_SMK,
    IMP_F_DMK,
    IMP_F_DIR,
    IMP_F_NH,
    IMP_F_SVLN,
    IMP_F_RA,
    /* zeek only */
    IMP_F_DURATION,
    IMP_F_HISTORY,
    IMP_F_ORIG_BYTES,
    IMP_F_RESP_BYTES,
    IMP_F_CONN_STATE,
    IMP_N_F
};

_Static_assert(IMP_N_F <= 32, "imp_parser_t.idx holds every field");

/* Column names per format: nfdump's CSV header, Zeek's #fields. NULL: not in that format. */
static const char *const imp_names[IMP_N_F][2] = {
    [IMP_F_TS] = {"ts", "ts"},
    [IMP_F_TE] = {"te", NULL},
    [IMP_F_TD] = {"td", NULL},
    [IMP_F_SA] = {"sa", "id.orig_h"},
    [IMP_F_DA] = {"da", "id.resp_h"},
    [IMP_F_SP] = {"sp", "id.orig_p"},
    [IMP_F_DP] = {"dp", "id.resp_p"},
    [IMP_F_PR] = {"pr", "proto"},
    [IMP_F_FLG] = {"flg", NULL},
    [IMP_F_STOS] = {"stos", NULL},
    [IMP_F_IPKT] = {"ipkt", "orig_pkts"},
    [IMP_F_IBYT] = {"ibyt", "orig_ip_bytes"},
    [IMP_F_OPKT] = {"opkt", "resp_pkts"},
    [IMP_F_OBYT] = {"obyt", "resp_ip_bytes"},
    [IMP_F_IN] = {"in", NULL},
    [IMP_F_OUT] = {"out", NULL},
    [IMP_F_SAS] = {"sas", NULL},
    [IMP_F_DAS] = {"das", NULL},
    [IMP_F_SMK] = {"smk", NULL},
    [IMP_F_DMK] = {"dmk", NULL},
    [IMP_F_DIR] = {"dir", NULL},
    [IMP_F_NH] = {"nh", NULL},
    [IMP_F_SVLN] = {"svln", NULL},
    [IMP_F_RA] = {"ra", NULL},
    [IMP_F_DURATION] = {NULL, "duration"},
    [IMP_F_HISTORY] = {NULL, "history"},
    [IMP_F_ORIG_BYTES] = {NULL, "orig_bytes"},
    [IMP_F_RESP_BYTES] = {NULL, "resp_bytes"},
    [IMP_F_CONN_STATE] = {NULL, "conn_state"},
};

/* Fields a line cannot do without. */
static const int imp_required[2][10] = {
    {IMP_F_TS, IMP_F_TE, IMP_F_TD, IMP_F_SA, IMP_F_DA, IMP_F_SP, IMP_F_DP, IMP_F_PR, IMP_F_IPKT,
     IMP_F_IBYT},
    {IMP_F_TS, IMP_F_SA, IMP_F_DA, IMP_F_SP, IMP_F_DP, IMP_F_PR, -1, -1, -1, -1},
};

void imp_parser_init(imp_parser_t *p, int format)
{
    memset(p, 0, sizeof *p);
    p->format = format;
    p->sep = format == IMP_FMT_NFDUMP_CSV ? ',' : '\t';
    snprintf(p->unset, sizeof p->unset, "-");
    snprintf(p->empty, sizeof p->empty, "(empty)");
    for (int i = 0; i < 32; i++)
        p->idx[i] = -1;
}

/* Splits `line` at `sep` in place into f (room for max + 1); returns the number of fields, at
 * most max + 1, so too many is detectable. */
static int imp_split(char *line, char sep, char **f, int max)
{
    int n = 0;
    f[n++] = line;
    for (char *c = line; *c; c++)
        if (*c == sep) {
            *c = '\0';
            if (n > max)
                return n;
            f[n++] = c + 1;
        }
    return n;
}

/* "N fields" for a line split by imp_split with max IMP_MAX_FIELDS. */
static void imp_count_fields(char *buf, size_t cap, int n)
{
    if (n > IMP_MAX_FIELDS)
        snprintf(buf, cap, "more than %d fields", IMP_MAX_FIELDS);
    else
        snprintf(buf, cap, "%d fields", n);
}

static int imp_header(imp_parser_t *p, char **f, int n, int first, char *why, size_t cap)
{
    if (n - first > IMP_MAX_FIELDS) {
        snprintf(why, cap, "more than %d columns in the header", IMP_MAX_FIELDS);
        return IMP_FATAL;
    }
    for (int k = 0; k < IMP_N_F; k++)
        p->idx[k] = -1;
    for (int i = first; i < n; i++)
        for (int k = 0; k < IMP_N_F; k++) {
            const char *name = imp_names[k][p->format];
            if (name && strcmp(f[i], name) == 0 && p->idx[k] < 0)
                p->idx[k] = i - first;
        }
    for (int r = 0; r < 10; r++) {
        int k = imp_required[p->format][r];
        if (k >= 0 && p->idx[k] < 0) {
            snprintf(why, cap, "the header has no '%s' column", imp_names[k][p->format]);
            return IMP_FATAL;
        }
    }
    p->n_fields = n - first;
    return IMP_SKIP;
}

static int imp_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    while (*s == ' ')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    while (*s == ' ')
        s++;
    if (*s)
        return -1;
    *out = v;
    return 0;
}

/* Seconds with an optional fraction ("1596790164.509987", "0.746") as microseconds, cut to
 * the microsecond (Zeek's precision). */
static int imp_seconds_us(const char *s, uint64_t *out)
{
    uint64_t sec = 0, us = 0;
    int digits = 0;
    while (*s == ' ')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        sec = sec * 10 + (uint64_t)(*s - '0');
        if (sec > 253402300800ull) /* past year 9999 */
            return -1;
    }
    if (*s == '.') {
        s++;
        for (; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 6)
                us = us * 10 + (uint64_t)(*s - '0');
        for (int d = digits; d < 6; d++)
            us *= 10;
    }
    while (*s == ' ')
        s++;
    if (*s)
        return -1;
    *out = sec * 1000000 + us;
    return 0;
}

/* The same as ms, cut to the ms. */
static int imp_seconds_ms(const char *s, uint64_t *out)
{
    uint64_t us;
    if (imp_seconds_us(s, &us) != 0)
        return -1;
    *out = us / 1000;
    return 0;
}

static int imp_proto(const char *s, int v6, uint8_t *out)
{
    uint64_t v;
    while (*s == ' ')
        s++;
    if (imp_u64(s, &v) == 0) {
        if (v > 255)
            return -1;
        *out = (uint8_t)v;
        return 0;
    }
    if (protoname_parse(s, out) != 0)
        return -1;
    if (*out == 1 && v6) /* Zeek says "icmp" for ICMPv6 too */
        *out = 58;
    return 0;
}

/* nfdump's flag string ("...AP.SF", CWR ECE URG ACK PSH RST SYN FIN; any order tolerated). */
static int imp_nf_flags(const char *s, uint8_t *out)
{
    static const char letters[] = "CEUAPRSF";
    uint8_t v = 0;
    while (*s == ' ')
        s++;
    for (; *s && *s != ' '; s++) {
        if (*s == '.')
            continue;
        const char *at = strchr(letters, *s);
        if (!at)
            return -1;
        v |= (uint8_t)(0x80 >> (at - letters));
    }
    *out = v;
    return 0;
}

/* A port, or nfdump's ICMP "type.code". */
static int imp_port(const char *s, uint16_t *out)
{
    uint64_t v, t, c;
    if (imp_u64(s, &v) == 0) {
        if (v > 65535)
            return -1;
        *out = (uint16_t)v;
        return 0;
    }
    char buf[16];
    snprintf(buf, sizeof buf, "%s", s);
    char *dot = strchr(buf, '.');
    if (!dot)
        return -1;
    *dot = '\0';
    if (imp_u64(buf, &t) != 0 || imp_u64(dot + 1, &c) != 0 || t > 255 || c > 255)
        return -1;
    *out = (uint16_t)(t * 256 + c);
    return 0;
}

static const char *imp_field(const imp_parser_t *p, const char *const *f, int k)
{
    return p->idx[k] >= 0 ? f[p->idx[k]] : NULL;
}

static int imp_bad(char *why, size_t cap, const char *field, const char *value)
{
    snprintf(why, cap, "bad %s '%.40s'", field, value);
    return IMP_BAD;
}

/* Sets an optional nfdump counter when the column exists and is not 0. */
#define IMP_OPT_U(p, f, k, col, type, max, why, cap)                                               \
    do {                                                                                           \
        const char *s_ = imp_field(p, f, k);                                                       \
        uint64_t v_;                                                                               \
        if (s_) {                                                                                  \
            if (imp_u64(s_, &v_) != 0 || v_ > (max))                                               \
                return imp_bad(why, cap, imp_names[k][0], s_);                                     \
            if (v_)                                                                                \
                FLOW_SET(out, col, (type)v_);                                                      \
        }                                                                                          \
    } while (0)

static int imp_nfdump_line(imp_parser_t *p, char *line, flow_rec_t *out, char *why, size_t cap)
{
    char *fs[IMP_MAX_FIELDS + 1];
    const char *const *f = (const char *const *)fs;
    if (line[0] == '\0')
        return IMP_SKIP;
    /* A header starts the file and each further output joined to it (`for f in nfcapd.*; do
     * nfdump -r $f -o csv; done | flowhunt import ... -`), each after its summary. */
    if (p->n_fields == 0 || strncmp(line, "ts,", 3) == 0) {
        int n = imp_split(line, ',', fs, IMP_MAX_FIELDS);
        if (strcmp(f[0], "ts") != 0) {
            snprintf(why, cap,
                     "not nfdump CSV: the first line is not the 'ts,te,td,...' "
                     "header of `nfdump -o csv`");
            return IMP_FATAL;
        }
        p->nf_summary = 0;
        return imp_header(p, fs, n, 0, why, cap);
    }
    /* `nfdump -o csv` ends with a summary block (-q leaves it out), which runs to the next
     * header; a filter that matched nothing prints this line instead of flows */
    if (strncmp(line, "Summary", 7) == 0)
        p->nf_summary = 1;
    if (p->nf_summary || strcmp(line, "No matching flows") == 0)
        return IMP_SKIP;
    int n = imp_split(line, ',', fs, IMP_MAX_FIELDS);
    if (n != p->n_fields) {
        char nf[32];
        imp_count_fields(nf, sizeof nf, n);
        snprintf(why, cap, "%s, the header has %d", nf, p->n_fields);
        return IMP_BAD;
    }
    flow_rec_clear(out);
    uint64_t ts, te, td;
    const char *s = imp_field(p, f, IMP_F_TS);
    if (timearg_parse(s, 0, &ts) != 0)
        return imp_bad(why, cap, "ts", s);
    s = imp_field(p, f, IMP_F_TE);
    if (timearg_parse(s, 0, &te) != 0)
        return imp_bad(why, cap, "te", s);
    s = imp_field(p, f, IMP_F_TD);
    if (imp_seconds_ms(s, &td) != 0)
        return imp_bad(why, cap, "td", s);
    /* whole seconds: the real start lies in [ts, ts + 1 s) and the end in [te, te + 1 s) */
    uint64_t start = ts;
    if (ts % 1000 == 0 && te >= td && te - td > start)
        start = te - td;
    FLOW_SET(out, time_start, start);
    FLOW_SET(out, time_end, start + td);
    flow_addr_t a;
    s = imp_field(p, f, IMP_F_SA);
    if (flow_addr_parse(&a, s) != 0)
        return imp_bad(why, cap, "sa", s);
    FLOW_SET(out, src_addr, a);
    s = imp_field(p, f, IMP_F_DA);
    if (flow_addr_parse(&a, s) != 0)
        return imp_bad(why, cap, "da", s);
    FLOW_SET(out, dst_addr, a);
    uint16_t port;
    s = imp_field(p, f, IMP_F_SP);
    if (imp_port(s, &port) != 0)
        return imp_bad(why, cap, "sp", s);
    FLOW_SET(out, src_port, port);
    s = imp_field(p, f, IMP_F_DP);
    if (imp_port(s, &port) != 0)
        return imp_bad(why, cap, "dp", s);
    FLOW_SET(out, dst_port, port);
    uint8_t u8;
    s = imp_field(p, f, IMP_F_PR);
    if (imp_proto(s, !flow_addr_is_v4(&out->src_addr), &u8) != 0)
        return imp_bad(why, cap, "pr", s);
    FLOW_SET(out, proto, u8);
    if (u8 == 1 || u8 == 58) { /* as the collector stores it: type and code from dp */
        FLOW_SET(out, icmp_type, (uint8_t)(out->dst_port >> 8));
        FLOW_SET(out, icmp_code, (uint8_t)(out->dst_port & 0xff));
    }
    if ((s = imp_field(p, f, IMP_F_FLG)) != NULL) {
        if (imp_nf_flags(s, &u8) != 0)
            return imp_bad(why, cap, "flg", s);
        FLOW_SET(out, tcp_flags, u8);
    }
    uint64_t v;
    s = imp_field(p, f, IMP_F_IPKT);
    if (imp_u64(s, &v) != 0)
        return imp_bad(why, cap, "ipkt", s);
    FLOW_SET(out, packets, v);
    s = imp_field(p, f, IMP_F_IBYT);
    if (imp_u64(s, &v) != 0)
        return imp_bad(why, cap, "ibyt", s);
    FLOW_SET(out, bytes, v);
    IMP_OPT_U(p, f, IMP_F_STOS, tos, uint8_t, 255, why, cap);
    IMP_OPT_U(p, f, IMP_F_OPKT, rev_packets, uint64_t, UINT64_MAX, why, cap);
    IMP_OPT_U(p, f, IMP_F_OBYT, rev_bytes, uint64_t, UINT64_MAX, why, cap);
    IMP_OPT_U(p, f, IMP_F_IN, in_if, uint32_t, UINT32_MAX, why, cap);
    IMP_OPT_U(p, f, IMP_F_OUT, out_if, uint32_t, UINT32_MAX, why, cap);
    IMP_OPT_U(p, f, IMP_F_SAS, src_as, uint32_t, UINT32_MAX, why, cap);
    IMP_OPT_U(p, f, IMP_F_DAS, dst_as, uint32_t, UINT32_MAX, why, cap);
    IMP_OPT_U(p, f, IMP_F_SMK, src_mask, uint8_t, 128, why, cap);
    IMP_OPT_U(p, f, IMP_F_DMK, dst_mask, uint8_t, 128, why, cap);
    IMP_OPT_U(p, f, IMP_F_DIR, direction, uint8_t, 255, why, cap);
    IMP_OPT_U(p, f, IMP_F_SVLN, vlan, uint16_t, 65535, why, cap);
    static const flow_addr_t zero4 = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}};
    static const flow_addr_t zero6 = {{0}};
    if ((s = imp_field(p, f, IMP_F_NH)) != NULL) {
        if (flow_addr_parse(&a, s) != 0)
            return imp_bad(why, cap, "nh", s);
        if (memcmp(&a, &zero4, 16) != 0 && memcmp(&a, &zero6, 16) != 0)
            FLOW_SET(out, next_hop, a);
    }
    if ((s = imp_field(p, f, IMP_F_RA)) != NULL) {
        if (flow_addr_parse(&a, s) != 0)
            return imp_bad(why, cap, "ra", s);
        if (memcmp(&a, &zero4, 16) != 0 && memcmp(&a, &zero6, 16) != 0)
            FLOW_SET(out, exporter, a);
    }
    FLOW_SET(out, sampling, 1);
    return IMP_FLOW;
}

/* "\x09" -> a tab: how Zeek writes its separator in the #separator line. */
static char imp_unescape_sep(const char *s)
{
    if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
        char hex[3] = {s[2], s[3], 0};
        return (char)strtol(hex, NULL, 16);
    }
    return s[0];
}

/* ICMP types Zeek pairs with a counterpart (its ICMP4_counterpart / ICMP6_counterpart):
 * echo, router, timestamp, information, address mask; ICMPv6 echo, MLD, router, neighbour,
 * node information. */
static int imp_icmp_two_way(uint8_t proto, uint8_t type)
{
    static const uint8_t v4[] = {0, 8, 9, 10, 13, 14, 15, 16, 17, 18};
    static const uint8_t v6[] = {128, 129, 130, 131, 133, 134, 135, 136, 139, 140};
    const uint8_t *t = proto == 1 ? v4 : v6;
    for (int i = 0; i < 10; i++)
        if (t[i] == type)
            return 1;
    return 0;
}

/* A Zeek count: absent (0) for the unset marker, -1 when not a number. */
static int imp_zeek_u64(const imp_parser_t *p, const char *s, uint64_t *out)
{
    if (!s || strcmp(s, p->unset) == 0 || strcmp(s, p->empty) == 0)
        return 0;
    return imp_u64(s, out) == 0 ? 1 : -1;
}

static int imp_zeek_fields(const imp_parser_t *p, const char *const *f, flow_rec_t *out, char *why,
                           size_t cap);

/* The microseconds below the millisecond of an ISO 8601 time that timearg_parse read (it
 * keeps ms): the fraction's 4th to 6th digits, so that the time adds to the duration as the
 * numeric form's does. Only the fraction has a '.' or ',' in that form. */
static unsigned imp_iso_sub_ms(const char *s)
{
    const char *fr = strpbrk(s, ".,");
    unsigned us = 0;
    int i = 0;
    if (!fr)
        return 0;
    fr++;
    for (; i < 6 && fr[i] >= '0' && fr[i] <= '9'; i++)
        if (i >= 3)
            us = us * 10 + (unsigned)(fr[i] - '0');
    for (; i < 6; i++) /* fewer digits: the rest are zeros */
        if (i >= 3)
            us *= 10;
    return us;
}

/* A Zeek log written as JSON (LogAscii::use_json=T): an object a line, its keys the TSV
 * form's #fields names, a field the connection lacks left out. Each value becomes the text
 * the TSV form would have (a time or interval in seconds to the microsecond, which is what
 * Zeek keeps; an ISO 8601 time, JSON::TS_ISO8601, as such; a count in digits; an absent
 * field unset), and the line is read as a TSV line is. */
static int imp_zeek_json(imp_parser_t *p, const char *line, flow_rec_t *out, char *why, size_t cap)
{
    json_error_t err;
    json_t *o = json_loads(line, 0, &err);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(why, cap, "not a JSON object: %.80s", o ? "another JSON value" : err.text);
        return IMP_BAD;
    }
    int rc = IMP_FATAL;
    if (!p->json && p->n_fields) {
        snprintf(why, cap, "a JSON line in a TSV log");
        rc = IMP_BAD;
    } else if (!p->json && !json_object_get(o, "conn_state")) {
        /* every conn.log record has it; dns.log and the others have id.* and proto too */
        snprintf(why, cap, "a Zeek JSON log without conn_state: not a conn log");
    } else {
        if (!p->json) {
            p->json = 1;
            p->n_fields = IMP_N_F;
            for (int k = 0; k < IMP_N_F; k++)
                p->idx[k] = imp_names[k][1] ? k : -1;
        }
        const char *f[IMP_N_F];
        char num[IMP_N_F][32];
        for (int k = 0; k < IMP_N_F; k++) {
            json_t *v = imp_names[k][1] ? json_object_get(o, imp_names[k][1]) : NULL;
            uint64_t ms;
            f[k] = p->unset;
            if (json_is_string(v) && k == IMP_F_TS &&
                timearg_parse(json_string_value(v), 0, &ms) == 0) {
                snprintf(num[k], sizeof num[k], "%llu.%03u%03u", (unsigned long long)(ms / 1000),
                         (unsigned)(ms % 1000), imp_iso_sub_ms(json_string_value(v)));
                f[k] = num[k];
            } else if (json_is_string(v)) {
                f[k] = json_string_value(v);
            } else if (json_is_integer(v)) {
                snprintf(num[k], sizeof num[k], "%lld", (long long)json_integer_value(v));
                f[k] = num[k];
            } else if (json_is_real(v)) {
                /* Zeek's microseconds: a double of a time near 2^31 s is within 2.4e-7 s */
                snprintf(num[k], sizeof num[k], "%.6f", json_real_value(v));
                f[k] = num[k];
            } else if (v && !json_is_null(v)) {
                f[k] = "(not a string or a number)";
            }
        }
        rc = imp_zeek_fields(p, f, out, why, cap);
    }
    json_decref(o);
    return rc;
}

static int imp_zeek_line(imp_parser_t *p, char *line, flow_rec_t *out, char *why, size_t cap)
{
    char *f[IMP_MAX_FIELDS + 2]; /* #fields and its columns */
    if (line[0] == '\0')
        return IMP_SKIP;
    if (line[0] == '{')
        return imp_zeek_json(p, line, out, why, cap);
    if (line[0] == '#') {
        if (strncmp(line, "#separator ", 11) == 0) {
            p->sep = imp_unescape_sep(line + 11);
            return IMP_SKIP;
        }
        int n = imp_split(line, p->sep, f, IMP_MAX_FIELDS + 1);
        if (strcmp(f[0], "#unset_field") == 0 && n > 1)
            snprintf(p->unset, sizeof p->unset, "%s", f[1]);
        else if (strcmp(f[0], "#empty_field") == 0 && n > 1)
            snprintf(p->empty, sizeof p->empty, "%s", f[1]);
        else if (strcmp(f[0], "#path") == 0 && n > 1 && strcmp(f[1], "conn") != 0) {
            snprintf(why, cap, "a Zeek '%.20s' log, not a conn log", f[1]);
            return IMP_FATAL;
        } else if (strcmp(f[0], "#fields") == 0)
            return imp_header(p, f, n, 1, why, cap);
        return IMP_SKIP;
    }
    if (p->n_fields == 0) {
        snprintf(why, cap, "not a Zeek conn.log: data before the #fields header");
        return IMP_FATAL;
    }
    if (p->json) {
        snprintf(why, cap, "a TSV line in a JSON log");
        return IMP_BAD;
    }
    int n = imp_split(line, p->sep, f, IMP_MAX_FIELDS);
    if (n != p->n_fields) {
        char nf[32];
        imp_count_fields(nf, sizeof nf, n);
        snprintf(why, cap, "%s, #fields names %d", nf, p->n_fields);
        return IMP_BAD;
    }
    return imp_zeek_fields(p, (const char *const *)f, out, why, cap);
}

/* The first port is a service's and the second a client's: below 1024 against 1024 or above,
 * or below 32768 against an ephemeral one (Linux 32768+, Windows 49152+). The rule of the
 * hunts' preparation for a lone record (hunt_prep.c, hp_service_side). */
static int imp_service_first(uint16_t p1, uint16_t p2)
{
    return (p1 < 1024 && p2 >= 1024) || (p1 < 32768 && p2 >= 32768);
}

#define IMP_SWAP(rec, a, b)                                                                        \
    do {                                                                                           \
        __typeof__((rec)->a) t_ = (rec)->a;                                                        \
        (rec)->a = (rec)->b;                                                                       \
        (rec)->b = t_;                                                                             \
        uint64_t ha_ = (rec)->present & FLOW_BIT(a), hb_ = (rec)->present & FLOW_BIT(b);           \
        (rec)->present &= ~(FLOW_BIT(a) | FLOW_BIT(b));                                            \
        (rec)->present |= (ha_ ? FLOW_BIT(b) : 0) | (hb_ ? FLOW_BIT(a) : 0);                       \
    } while (0)

/* The responder becomes the originator: addresses, ports, counters and flags change sides. */
static void imp_turn_round(flow_rec_t *r)
{
    IMP_SWAP(r, src_addr, dst_addr);
    IMP_SWAP(r, src_port, dst_port);
    IMP_SWAP(r, packets, rev_packets);
    IMP_SWAP(r, bytes, rev_bytes);
    IMP_SWAP(r, tcp_flags, rev_tcp_flags);
}

/* A conn.log line's fields (f, placed as p->idx says) into a flow: the TSV and the JSON form
 * alike. */
static int imp_zeek_fields(const imp_parser_t *p, const char *const *f, flow_rec_t *out, char *why,
                           size_t cap)
{
    flow_rec_clear(out);
    uint64_t ts, dur = 0, v;
    const char *s = imp_field(p, f, IMP_F_TS);
    if (imp_seconds_us(s, &ts) != 0)
        return imp_bad(why, cap, "ts", s);
    s = imp_field(p, f, IMP_F_DURATION);
    if (s && strcmp(s, p->unset) != 0 && imp_seconds_us(s, &dur) != 0)
        return imp_bad(why, cap, "duration", s);
    /* Added in Zeek's microseconds, then cut: ts and duration each cut to the ms first could
     * end a connection a millisecond before it did (.999600 + .000500 at .999, not at 1.000),
     * outside a window it reaches into. */
    FLOW_SET(out, time_start, ts / 1000);
    FLOW_SET(out, time_end, (ts + dur) / 1000);
    flow_addr_t a;
    s = imp_field(p, f, IMP_F_SA);
    if (flow_addr_parse(&a, s) != 0)
        return imp_bad(why, cap, "id.orig_h", s);
    FLOW_SET(out, src_addr, a);
    s = imp_field(p, f, IMP_F_DA);
    if (flow_addr_parse(&a, s) != 0)
        return imp_bad(why, cap, "id.resp_h", s);
    FLOW_SET(out, dst_addr, a);
    uint64_t sp, dp;
    s = imp_field(p, f, IMP_F_SP);
    if (imp_u64(s, &sp) != 0 || sp > 65535)
        return imp_bad(why, cap, "id.orig_p", s);
    s = imp_field(p, f, IMP_F_DP);
    if (imp_u64(s, &dp) != 0 || dp > 65535)
        return imp_bad(why, cap, "id.resp_p", s);
    s = imp_field(p, f, IMP_F_PR);
    uint8_t proto;
    int v6 = !flow_addr_is_v4(&out->src_addr);
    if (strcmp(s, "unknown_transport") == 0) {
        /* an IP protocol Zeek does not analyse: the hosts are known, the number is not */
    } else if (imp_proto(s, v6, &proto) != 0) {
        return imp_bad(why, cap, "proto", s);
    } else {
        FLOW_SET(out, proto, proto);
    }
    if (FLOW_HAS(out, proto) && (proto == 1 || proto == 58)) {
        /* Zeek puts the ICMP type in orig_p; resp_p is the code for one-way types, but for
         * request/reply types it is the counterpart type (echo 8 -> 0), and their code is 0
         * (RFC 792). Exporters send type*256+code as the destination port. */
        if (sp > 255 || dp > 255) {
            char tc[48];
            snprintf(tc, sizeof tc, "%llu/%llu", (unsigned long long)sp, (unsigned long long)dp);
            return imp_bad(why, cap, "ICMP type/code", tc);
        }
        uint8_t code = imp_icmp_two_way(proto, (uint8_t)sp) ? 0 : (uint8_t)dp;
        FLOW_SET(out, icmp_type, (uint8_t)sp);
        FLOW_SET(out, icmp_code, code);
        FLOW_SET(out, src_port, 0);
        FLOW_SET(out, dst_port, (uint16_t)(sp * 256 + code));
    } else {
        FLOW_SET(out, src_port, (uint16_t)sp);
        FLOW_SET(out, dst_port, (uint16_t)dp);
    }
    static const struct {
        int k;
        int col;
        const char *name;
    } counts[] = {{IMP_F_IPKT, FLOW_COL_packets, "orig_pkts"},
                  {IMP_F_IBYT, FLOW_COL_bytes, "orig_ip_bytes"},
                  {IMP_F_OPKT, FLOW_COL_rev_packets, "resp_pkts"},
                  {IMP_F_OBYT, FLOW_COL_rev_bytes, "resp_ip_bytes"}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        s = imp_field(p, f, counts[i].k);
        int rc = imp_zeek_u64(p, s, &v);
        if (rc < 0)
            return imp_bad(why, cap, counts[i].name, s);
        if (rc > 0) {
            memcpy((uint8_t *)out + flow_cols[counts[i].col].offset, &v, 8);
            out->present |= (uint64_t)1 << counts[i].col;
        }
    }
    s = imp_field(p, f, IMP_F_HISTORY);
    if (FLOW_HAS(out, proto) && proto == 6 && s && strcmp(s, p->unset) != 0) {
        /* the originator's letters (upper case) and the responder's (lower case): SYN,
         * SYN+ACK, ACK, FIN, RST. A REJ's "Sr" is a SYN answered by a RST. */
        uint8_t fl[2] = {0, 0};
        for (; *s; s++) {
            int resp = *s >= 'a' && *s <= 'z', l = resp ? *s - 'a' + 'A' : *s;
            fl[resp] |= l == 'S'   ? 0x02
                        : l == 'H' ? 0x12
                        : l == 'A' ? 0x10
                        : l == 'F' ? 0x01
                        : l == 'R' ? 0x04
                                   : 0;
        }
        FLOW_SET(out, tcp_flags, fl[0]);
        FLOW_SET(out, rev_tcp_flags, fl[1]);
        /* No SYN nor SYN|ACK either way: Zeek joined the connection mid-stream (a long-lived
         * one, or after a restart), and its originator is whichever side it saw first, often
         * the server pushing data (CTU-Normal-40's ESET 8883 check-ins: "Dd" from
         * 91.228.167.171:8883 to :55768). With the ports as clear as the hunts' preparation
         * asks of a lone record, the line is turned round, so the client is the originator. */
        if (!((fl[0] | fl[1]) & 0x02) && imp_service_first(out->src_port, out->dst_port))
            imp_turn_round(out);
    } else if (FLOW_HAS(out, proto) && proto == 6 &&
               (s = imp_field(p, f, IMP_F_CONN_STATE)) != NULL) {
        /* No history (logs that leave it out): the states a scan leaves say enough. S0, a SYN
         * nobody answered; REJ, a SYN answered by a RST. */
        if (strcmp(s, "S0") == 0 || strcmp(s, "REJ") == 0)
            FLOW_SET(out, tcp_flags, 0x02);
        if (strcmp(s, "REJ") == 0)
            FLOW_SET(out, rev_tcp_flags, 0x14);
    }
    FLOW_SET(out, sampling, 1);
    return IMP_FLOW;
}

int imp_parse_line(imp_parser_t *p, char *line, flow_rec_t *out, char *why, size_t why_cap)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    why[0] = '\0';
    return p->format == IMP_FMT_NFDUMP_CSV ? imp_nfdump_line(p, line, out, why, why_cap)
                                           : imp_zeek_line(p, line, out, why, why_cap);
}

/* ---- the command --------------------------------------------------------------------------- */

typedef struct imp_ctx {
    seg_writer_t *w;
    flow_rec_t *chunk;
    uint32_t n_chunk;
    uint64_t flows, malformed;
    cmd_progress_t progress;
    int write_err;
} imp_ctx_t;

static int imp_cmp_end(const void *a, const void *b)
{
    const flow_rec_t *x = a, *y = b;
    return x->time_end < y->time_end ? -1 : x->time_end > y->time_end;
}

static int imp_flush(imp_ctx_t *c)
{
    if (c->n_chunk > 1)
        qsort(c->chunk, c->n_chunk, sizeof *c->chunk, imp_cmp_end);
    for (uint32_t i = 0; i < c->n_chunk; i++) {
        int rc = seg_writer_add(c->w, &c->chunk[i], c->chunk[i].time_end);
        if (rc < 0 && !c->write_err)
            c->write_err = rc;
    }
    c->n_chunk = 0;
    return c->write_err;
}

/* Imports one file; CMD_OK, CMD_PROBLEMS (lines skipped) or CMD_USAGE (could not read it). */
static int imp_file(imp_ctx_t *c, int format, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        fprintf(stderr, "flowhunt import: %s: %s\n", path, strerror(errno));
        return CMD_USAGE;
    }
    imp_parser_t p;
    imp_parser_init(&p, format);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lineno = 0, flows = 0, bad = 0;
    int status = CMD_OK;
    char why[160];
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        flow_rec_t *rec = &c->chunk[c->n_chunk];
        int rc = imp_parse_line(&p, line, rec, why, sizeof why);
        if (rc == IMP_FLOW) {
            flows++;
            if (++c->n_chunk == IMP_CHUNK && imp_flush(c) != 0)
                break;
        } else if (rc == IMP_BAD) {
            if (++bad <= IMP_REPORT_MAX)
                fprintf(stderr, "flowhunt import: %s:%llu: %s (line skipped)\n", path,
                        (unsigned long long)lineno, why);
        } else if (rc == IMP_FATAL) {
            fprintf(stderr, "flowhunt import: %s:%llu: %s\n", path, (unsigned long long)lineno,
                    why);
            status = CMD_USAGE;
            break;
        }
        if ((lineno & 0xffff) == 0 && cmd_progress_due(&c->progress))
            cmd_progress_show(&c->progress, "import: %s: %llu lines, %llu flows", path,
                              (unsigned long long)lineno, (unsigned long long)(c->flows + flows));
    }
    if (ferror(in)) {
        fprintf(stderr, "flowhunt import: %s: %s\n", path, strerror(errno));
        status = CMD_USAGE;
    }
    if (status == CMD_OK && p.n_fields == 0) {
        fprintf(stderr, "flowhunt import: %s: no header line: not %s\n", path,
                format == IMP_FMT_NFDUMP_CSV ? "nfdump CSV (nfdump -o csv)" : "a Zeek conn.log");
        status = CMD_USAGE;
    }
    free(line);
    if (in != stdin)
        fclose(in);
    cmd_progress_done(&c->progress);
    if (bad > IMP_REPORT_MAX)
        fprintf(stderr, "flowhunt import: %s: %llu more malformed lines not shown\n", path,
                (unsigned long long)(bad - IMP_REPORT_MAX));
    fprintf(stderr, "flowhunt import: %s: %llu flows, %llu malformed lines skipped\n", path,
            (unsigned long long)flows, (unsigned long long)bad);
    c->flows += flows;
    c->malformed += bad;
    if (status == CMD_OK && bad)
        status = CMD_PROBLEMS;
    return status;
}

static void imp_usage(FILE *f)
{
    fprintf(f,
            "usage: flowhunt import DIR --format nfdump-csv|zeek-conn [--instance NAME] FILE...\n"
            "\n"
            "Stores flows from other tools in data directory DIR, each in the hour of its end\n"
            "time (one that comes after more than 262,144 later flows, from an earlier file or\n"
            "a log out of order, may join the next hour's segment: storage/FORMAT.md,\n"
            "Placement). FILE - reads standard input (Zeek's rotated logs are gzipped: zcat\n"
            "conn.*.log.gz | flowhunt import DIR --format zeek-conn -). A malformed line is\n"
            "reported with its number and skipped.\n"
            "\n"
            "  --format nfdump-csv  the output of `nfdump -r FILE -o csv` (nfdump 1.7), run\n"
            "                       with TZ=UTC: its times carry no zone and are read as UTC.\n"
            "                       Its times are whole seconds: the start is the earliest ms\n"
            "                       that agrees with ts, te and td; the end is start + td.\n"
            "                       Fields printed as 0 (AS, interfaces, masks, next hop, VLAN,\n"
            "                       out counters, ToS) are stored as absent.\n"
            "  --format zeek-conn   a Zeek conn.log: TSV with a #fields header, or JSON (an\n"
            "                       object a line, LogAscii::use_json=T; times in seconds or\n"
            "                       ISO 8601, JSON::TS_ISO8601). Each line is\n"
            "                       ONE biflow record: packets and bytes are the originator's\n"
            "                       (orig_pkts, orig_ip_bytes: IP bytes, as NetFlow counts),\n"
            "                       rev_packets and rev_bytes the responder's. Why not two\n"
            "                       uniflows: a line is one connection, and hunts count\n"
            "                       connections and ask who initiated; two records would\n"
            "                       double the counts and make every responder an initiator.\n"
            "                       TCP flags come from the originator's history letters\n"
            "                       (S H A F R), rev_tcp_flags from the responder's\n"
            "                       (s h a f r), or without history from conn_state S0\n"
            "                       (a SYN) and REJ (a SYN answered by RST). A TCP line\n"
            "                       whose history has no SYN nor SYN|ACK (Zeek joined\n"
            "                       mid-stream: its originator is the side it saw first) is\n"
            "                       turned round when the originator's port is a service's\n"
            "                       (below 1024, or 32768, against a port from there up).\n"
            "                       The ICMP type comes from orig_p, the code from resp_p\n"
            "                       (0 for request/reply types, where Zeek puts the\n"
            "                       counterpart type).\n"
            "  --instance NAME      the writer's name in segment names (default 'import'); two\n"
            "                       imports running at once need different names\n"
            "\n"
            "Exit status: 0 every line imported, 1 some lines were malformed and skipped,\n"
            "2 usage, a file could not be read or flows could not be written.\n");
}

int cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'o'},
                                         {"instance", required_argument, NULL, 'i'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int format = -1, opt;
    const char *instance = "import";
    optind = 1;
    while ((opt = cmd_getopt("flowhunt import", argc, argv, ":h", opts)) != -1) {
        switch (opt) {
        case 'o': {
            static const char *const fmts[] = {"nfdump-csv", "zeek-conn"}; /* IMP_FMT_* */
            int f = cmd_choice("flowhunt import", "--format", optarg, fmts, 2);
            if (f < 0)
                return CMD_USAGE;
            format = f;
            break;
        }
        case 'i':
            instance = optarg;
            break;
        case 'h':
            imp_usage(stdout);
            return CMD_OK;
        default:
            return CMD_USAGE; /* cmd_getopt said why */
        }
    }
    if (format < 0) {
        fprintf(stderr, "flowhunt import: give --format nfdump-csv or --format zeek-conn\n");
        return CMD_USAGE;
    }
    if (argc - optind < 2) {
        fprintf(stderr, "flowhunt import: give the data directory and at least one file (see "
                        "flowhunt import --help)\n");
        return CMD_USAGE;
    }
    const char *dir = argv[optind++];
    if (!seg_instance_ok(instance)) {
        fprintf(stderr, "flowhunt import: --instance '%s': " SEG_INSTANCE_RULE "\n", instance);
        return CMD_USAGE;
    }
    /* every input must be readable before anything is written */
    for (int i = optind; i < argc; i++)
        if (strcmp(argv[i], "-") != 0 && access(argv[i], R_OK) != 0) {
            fprintf(stderr, "flowhunt import: %s: %s\n", argv[i], strerror(errno));
            return CMD_USAGE;
        }
    imp_ctx_t c;
    memset(&c, 0, sizeof c);
    c.chunk = malloc((size_t)IMP_CHUNK * sizeof *c.chunk);
    if (!c.chunk) {
        fprintf(stderr, "flowhunt import: out of memory\n");
        return CMD_USAGE;
    }
    /* hour-long segments: the data directory's folder unit, and imported history is usually
     * sparse, so shorter intervals would make many small files */
    seg_where_t where;
    memset(&where, 0, sizeof where);
    seg_writer_opts_t wo = {
        .dir = dir, .instance = instance, .rotate_s = 3600, .open_where = &where};
    int err = 0;
    c.w = seg_writer_open(&wo, &err);
    if (!c.w) {
        fprintf(stderr, "flowhunt import: %s: cannot write segments: %s", dir, seg_strerror(err));
        if (where.path[0] || where.sys_errno) /* the file and the system's reason */
            fprintf(stderr, " (%s%s%s)", where.path, where.path[0] ? ": " : "",
                    where.sys_errno ? strerror(where.sys_errno) : "?");
        if (err == -SEG_E_BUSY)
            fprintf(stderr, "; is another import with instance '%s' running? (--instance)",
                    instance);
        fputc('\n', stderr);
        free(c.chunk);
        return CMD_USAGE;
    }
    cmd_progress_init(&c.progress, 0);
    int status = CMD_OK;
    for (int i = optind; i < argc && !c.write_err; i++) {
        int rc = imp_file(&c, format, argv[i]);
        if (rc > status)
            status = rc;
    }
    if (!c.write_err)
        imp_flush(&c);
    int rc = seg_writer_close(c.w);
    if (c.write_err || rc < 0) {
        fprintf(stderr, "flowhunt import: %s: writing segments failed: %s\n", dir,
                seg_strerror(c.write_err ? c.write_err : rc));
        status = CMD_USAGE;
    } else {
        fprintf(stderr, "flowhunt import: %llu flows into %s\n", (unsigned long long)c.flows, dir);
    }
    free(c.chunk);
    return status;
}
