/* hunt_report.c: findings as an analyst reads them, and the state that keeps their IDs.
 *
 * Every finding is printed in the format the users asked for (Hunt ID, Technique, Host, User,
 * Evidence, Risk Level, Confidence, Recommended Action) as text, as JSON lines for a SIEM, or as
 * CSV. A finding is named by its fingerprint, a stable hash of (host, peer or *, port or *,
 * protocol) -- never of the hunt or technique, so two hunts that agree on one host and peer
 * produce one finding (the highest risk wins, the techniques are joined, agreement raises
 * confidence). Hunt IDs are TH-HUNTIN-<YYYYMMDD>-<SEQ>: the date is the end of the hunted
 * window, SEQ the next number unused for that date (four digits, more after 9999); a
 * fingerprint keeps the ID it was first given, remembered in DIR/hunt/ids.tsv. Acknowledged
 * fingerprints (DIR/hunt/acks.tsv) are left out. Nothing here reads the clock: with the same findings, state and --now the output is the
 * same byte for byte. State files are written to a temporary name and renamed, so a crash
 * leaves the old state or the new, never half of one.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "afile.h"
#include "enrich.h"
#include "hunt.h"
#include "timearg.h"
#include "utf8.h"

/* ---- evidence ------------------------------------------------------------------------------ */

static void hev_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void hev_cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (*len + (size_t)n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (*len + (size_t)n + 1 > c)
            c *= 2;
        *buf = hj_xrealloc(*buf, c);
        *cap = c;
    }
    va_start(ap, fmt);
    vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

/* JSON string body (no quotes) of s, into a malloc'd buffer. */
char *hr_json_esc(const char *s)
{
    size_t n = strlen(s);
    char *out = hj_xmalloc(n * 6 + 1), *o = out;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            *o++ = '\\';
            *o++ = (char)ch;
        } else if (ch == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else if (ch == '\t') {
            *o++ = '\\';
            *o++ = 't';
        } else if (ch < 0x20) {
            o += sprintf(o, "\\u%04x", ch);
        } else {
            size_t k = utf8_seq_len((const unsigned char *)s);
            if (k == 0) {
                o += sprintf(o, "\\ufffd"); /* not UTF-8: JSON must be */
            } else {
                memcpy(o, s, k);
                o += k;
                s += k - 1;
            }
        }
    }
    *o = '\0';
    return out;
}

void hev_init(hev_t *e)
{
    memset(e, 0, sizeof *e);
}

void hev_free(hev_t *e)
{
    free(e->json);
    free(e->text);
    memset(e, 0, sizeof *e);
}

void hev_raw(hev_t *e, const char *name, const char *json, const char *text)
{
    hev_cat(&e->json, &e->json_len, &e->json_cap, "%s\"%s\":%s", e->json_len ? "," : "", name,
            json);
    hev_cat(&e->text, &e->text_len, &e->text_cap, "  %s: %s\n", name, text);
}

void hev_str(hev_t *e, const char *name, const char *val)
{
    char *esc = hr_json_esc(val);
    hev_cat(&e->json, &e->json_len, &e->json_cap, "%s\"%s\":\"%s\"", e->json_len ? "," : "", name,
            esc);
    free(esc);
    hev_cat(&e->text, &e->text_len, &e->text_cap, "  %s: %s\n", name, val);
}

void hev_int(hev_t *e, const char *name, int64_t val)
{
    char b[32];
    snprintf(b, sizeof b, "%" PRId64, val);
    hev_raw(e, name, b, b);
}

void hev_num(hev_t *e, const char *name, double val, int decimals)
{
    char b[64];
    if (!(val == val) || val > 1e300 || val < -1e300)
        val = 0; /* JSON has no NaN or infinity */
    snprintf(b, sizeof b, "%.*f", decimals, val);
    hev_raw(e, name, b, b);
}

void hev_bool(hev_t *e, const char *name, int val)
{
    hev_raw(e, name, val ? "true" : "false", val ? "yes" : "no");
}

/* ---- findings ------------------------------------------------------------------------------ */

hunt_finding_t *hunt_finding_new(hunt_findings_t *l, const char *hunt)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = hj_xrealloc(l->v, l->cap * sizeof *l->v);
    }
    hunt_finding_t *f = hj_xcalloc(1, sizeof *f);
    snprintf(f->hunt, sizeof f->hunt, "%s", hunt);
    f->port = -1;
    hev_init(&f->ev);
    l->v[l->n++] = f;
    return f;
}

static void hunt_finding_free(hunt_finding_t *f)
{
    hev_free(&f->ev);
    for (int i = 0; i < f->n_series; i++) {
        free(f->series[i].x);
        free(f->series[i].y);
    }
    free(f);
}

void hunt_findings_take(hunt_findings_t *to, hunt_findings_t *from)
{
    if (to->n + from->n > to->cap) {
        to->cap = to->n + from->n;
        to->v = hj_xrealloc(to->v, to->cap * sizeof *to->v);
    }
    if (from->n)
        memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    free(from->v);
    memset(from, 0, sizeof *from);
}

void hunt_findings_free(hunt_findings_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i])
            hunt_finding_free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void hunt_finding_series(hunt_finding_t *f, int kind, const char *title, const char *x_unit,
                         const char *y_unit, const double *x, const double *y, size_t n)
{
    if (f->n_series >= HUNT_SERIES_MAX)
        return;
    hunt_series_t *s = &f->series[f->n_series++];
    s->kind = kind;
    snprintf(s->title, sizeof s->title, "%s", title);
    snprintf(s->x_unit, sizeof s->x_unit, "%s", x_unit);
    snprintf(s->y_unit, sizeof s->y_unit, "%s", y_unit);
    s->n = n;
    s->x = hj_xmalloc((n ? n : 1) * sizeof *s->x);
    s->y = hj_xmalloc((n ? n : 1) * sizeof *s->y);
    if (n) {
        memcpy(s->x, x, n * sizeof *x);
        memcpy(s->y, y, n * sizeof *y);
    }
}

int hunt_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

int hunt_port_of(uint8_t proto, uint16_t resp_port)
{
    return hunt_has_ports(proto) ? resp_port : -1;
}

void hunt_finding_tech(hunt_finding_t *f, const char *tech)
{
    for (int i = 0; i < f->n_tech; i++)
        if (strcmp(f->tech[i], tech) == 0)
            return;
    if (f->n_tech < HUNT_TECH_MAX)
        snprintf(f->tech[f->n_tech++], sizeof f->tech[0], "%s", tech);
}

void hunt_finding_suppress(hunt_finding_t *f, const hc_allow_t *al)
{
    f->suppressed = 1;
    /* the entry as written holds its reason: once */
    snprintf(f->suppressed_reason, sizeof f->suppressed_reason, "allow-listed: %s", al->text);
    snprintf(f->allow_reason, sizeof f->allow_reason, "%s", al->reason);
}

void hunt_finding_allow(const hunt_config_t *cfg, hunt_finding_t *f, int peer_is_key)
{
    flow_net_t peer;
    int has_peer = peer_is_key && f->peer[0] && flow_net_parse(&peer, f->peer) == 0;
    const hc_allow_t *al =
        hc_allowed(cfg, f->hunt, &f->host, has_peer ? &peer : NULL, f->port, f->proto);
    if (al)
        hunt_finding_suppress(f, al);
}

void hunt_finding_vpn_peer(const hunt_config_t *cfg, hunt_finding_t *f, const flow_addr_t *peer)
{
    for (int i = 0; i < cfg->n_vpn_peers; i++)
        if (flow_net_has(&cfg->vpn_peers[i], peer)) {
            f->suppressed = 1;
            /* the action quotes allow_reason: "None while the allow-list entry stands ()" */
            snprintf(f->suppressed_reason, sizeof f->suppressed_reason,
                     "known VPN endpoint ([general] vpn_peers)");
            snprintf(f->allow_reason, sizeof f->allow_reason,
                     "a known VPN endpoint, [general] vpn_peers");
            return;
        }
}

/* A suppressed finding's action, once the hunts are done with it (some rewrite it after they
 * suppress): "isolate it unless it is an authorised scanner (then allow-list it)" read oddly
 * on the allow-listed scanner itself. */
static void hr_action_suppressed(hunt_finding_t *f)
{
    char action[sizeof f->action];
    int n = snprintf(
        action, sizeof action,
        "None while the allow-list entry stands (%s); if it no longer does: ", f->allow_reason);
    if (n <= 0 || (size_t)n >= sizeof action)
        return;
    size_t len = strnlen(f->action, sizeof action - (size_t)n - 1);
    memcpy(action + n, f->action, len);
    action[(size_t)n + len] = '\0';
    memcpy(f->action, action, sizeof f->action);
}

const char *hr_risk_name(int risk)
{
    static const char *const n[] = {"None", "Low", "Medium", "High", "Critical"};
    return risk >= 0 && risk <= 4 ? n[risk] : "None";
}

const char *hr_conf_name(int conf)
{
    return conf >= HUNT_CONF_HIGH ? "High" : conf == HUNT_CONF_MEDIUM ? "Medium" : "Low";
}

const char *hr_proto_name(uint8_t proto, char buf[8])
{
    switch (proto) {
    case 1:
        return "icmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 58:
        return "icmp6";
    default:
        snprintf(buf, 8, "%u", proto);
        return buf;
    }
}

void hr_peer_port(char *out, size_t cap, const char *peer, unsigned port, uint8_t proto)
{
    char pb[8];
    int v6 = strchr(peer, ':') != NULL;
    snprintf(out, cap, "%s%s%s:%u/%s", v6 ? "[" : "", peer, v6 ? "]" : "", port,
             hr_proto_name(proto, pb));
}

void hr_fingerprint(const flow_addr_t *host, const char *peer, int port, uint8_t proto,
                    char out[17])
{
    char h[FLOW_ADDR_STRLEN], buf[200], pb[8];
    flow_addr_format(host, h);
    char ports[16] = "*";
    if (port >= 0)
        snprintf(ports, sizeof ports, "%d", port);
    snprintf(buf, sizeof buf, "%s|%s|%s|%s", h, peer && *peer ? peer : "*", ports,
             hr_proto_name(proto, pb));
    /* FNV-1a 64: stable across builds and machines, which is all a name needs */
    uint64_t x = 0xcbf29ce484222325ull;
    for (const char *s = buf; *s; s++) {
        x ^= (uint8_t)*s;
        x *= 0x100000001b3ull;
    }
    snprintf(out, 17, "%016" PRIx64, x);
}

/* ---- state under DIR/hunt/ ----------------------------------------------------------------- */

typedef struct hr_id {
    char fp[17];
    char id[32];
    uint64_t first_ms;
} hr_id_t;

typedef struct hr_state {
    hr_id_t *ids;
    size_t n, cap;
    hj_intern_t by_fp;
} hr_state_t;

static void hr_state_add(hr_state_t *s, const char *fp, const char *id, uint64_t first_ms)
{
    int is_new;
    uint64_t k = hj_intern(&s->by_fp, fp, 16, &is_new);
    if (!is_new)
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->ids = hj_xrealloc(s->ids, s->cap * sizeof *s->ids);
    }
    (void)k;
    hr_id_t *r = &s->ids[s->n++];
    snprintf(r->fp, sizeof r->fp, "%s", fp);
    snprintf(r->id, sizeof r->id, "%s", id);
    r->first_ms = first_ms;
}

static int hr_state_path(const char *dir, const char *name, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/hunt/%s", dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int hr_is_fingerprint(const char *s)
{
    if (strlen(s) != 16)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static int hr_state_load(hr_state_t *s, const char *dir)
{
    char path[4200], line[512];
    memset(s, 0, sizeof *s);
    if (hr_state_path(dir, "ids.tsv", path, sizeof path) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char fp[64], id[64];
        unsigned long long first;
        if (sscanf(line, "%63s\t%63s\t%llu", fp, id, &first) != 3 || !hr_is_fingerprint(fp) ||
            strncmp(id, "TH-HUNTIN-", 10) != 0 || strlen(id) < 23 || strlen(id) > 28 ||
            strspn(id + 10, "0123456789") != 8 || id[18] != '-' ||
            strspn(id + 19, "0123456789") != strlen(id + 19)) {
            fprintf(stderr, "flowhunt hunt: %s:%d: not 'FINGERPRINT<TAB>HUNT-ID<TAB>MS'\n", path,
                    lineno);
            fclose(f);
            return -1;
        }
        hr_state_add(s, fp, id, first);
    }
    fclose(f);
    return 0;
}

static int hr_mkdir_hunt(const char *dir)
{
    char path[4200];
    if (hr_state_path(dir, "", path, sizeof path) != 0)
        return -1;
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Writes `text` as DIR/hunt/NAME, whole (afile.h), synced: later runs rely on it. */
static int hr_write_atomic(const char *dir, const char *name, const char *text, size_t len)
{
    char path[4200];
    if (hr_mkdir_hunt(dir) != 0 || hr_state_path(dir, name, path, sizeof path) != 0)
        return -1;
    return af_write(path, text, len, AF_SYNC);
}

int hr_state_lock(const char *dir)
{
    char path[4200];
    if (hr_mkdir_hunt(dir) != 0 || hr_state_path(dir, "state.lock", path, sizeof path) != 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    return fd;
}

void hr_state_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the lock */
}

static int hr_state_save(const hr_state_t *s, const char *dir)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    hev_cat(&buf, &len, &cap, "# flowhunt hunt IDs: fingerprint, hunt ID, first reported (ms)\n");
    for (size_t i = 0; i < s->n; i++)
        hev_cat(&buf, &len, &cap, "%s\t%s\t%" PRIu64 "\n", s->ids[i].fp, s->ids[i].id,
                s->ids[i].first_ms);
    int rc = hr_write_atomic(dir, "ids.tsv", buf, len);
    free(buf);
    return rc;
}

static void hr_state_free(hr_state_t *s)
{
    free(s->ids);
    hj_intern_free(&s->by_fp);
}

/* Acknowledged fingerprints: lines "FP<TAB>MS<TAB>REASON", then "<TAB>UNTIL" (ms) when the
 * acknowledgement expires (files written before expiry existed have three fields). */
typedef struct hr_ack {
    char fp[17];
    uint64_t ms, until; /* until 0: never expires */
    char reason[HR_ACK_REASON_MAX + 1];
} hr_ack_t;

static int hr_acks_load(const char *dir, hr_ack_t **out, size_t *n_out)
{
    char path[4200], line[1024];
    *out = NULL;
    *n_out = 0;
    if (hr_state_path(dir, "acks.tsv", path, sizeof path) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    size_t n = 0;
    hr_ack_t *v = NULL;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2)
            continue;
        *t1 = *t2 = '\0';
        char *t3 = strchr(t2 + 1, '\t'); /* reasons are written without tabs */
        if (t3)
            *t3 = '\0';
        if (!hr_is_fingerprint(line))
            continue;
        v = hj_xrealloc(v, (n + 1) * sizeof *v);
        memcpy(v[n].fp, line, 16); /* hr_is_fingerprint checked it is exactly 16 digits */
        v[n].fp[16] = '\0';
        v[n].ms = strtoull(t1 + 1, NULL, 10);
        v[n].until = t3 ? strtoull(t3 + 1, NULL, 10) : 0;
        /* the reason reaches terminals (acks, the text report's evidence): no control bytes
         * and UTF-8, whoever wrote the file */
        utf8_clean_copy(v[n].reason, sizeof v[n].reason, t2 + 1, strlen(t2 + 1), '?');
        n++;
    }
    fclose(f);
    *out = v;
    *n_out = n;
    return 0;
}

static int hr_cmp_ack(const void *pa, const void *pb)
{
    return strcmp(((const hr_ack_t *)pa)->fp, ((const hr_ack_t *)pb)->fp);
}

/* fp's acknowledgement, or NULL: a[0..n) sorted by fingerprint (an organisation that acks its
 * fleet's timers has thousands; each finding looked up linearly made the report quadratic). */
static const hr_ack_t *hr_acked(const hr_ack_t *a, size_t n, const char *fp)
{
    hr_ack_t key;
    snprintf(key.fp, sizeof key.fp, "%s", fp);
    return n ? bsearch(&key, a, n, sizeof *a, hr_cmp_ack) : NULL;
}

/* ---- ordering, merging ---------------------------------------------------------------------- */

static int hr_hunt_rank(const char *hunt)
{
    /* the fixed order that breaks ties when hunts agree on one fingerprint (hunt_all[]) */
    for (int i = 0; i < hunt_n_all; i++)
        if (strcmp(hunt, hunt_all[i]->name) == 0)
            return i;
    return hunt_n_all;
}

/* A hunt as one bit of a set (names past the 31st, and unknown ones, share the last). */
static uint32_t hr_hunt_bit(const char *hunt)
{
    int k = hr_hunt_rank(hunt);
    return (uint32_t)1 << (k < 31 ? k : 31);
}

static int hr_cmp(const void *pa, const void *pb)
{
    const hunt_finding_t *a = *(hunt_finding_t *const *)pa, *b = *(hunt_finding_t *const *)pb;
    if (a->suppressed != b->suppressed)
        return a->suppressed - b->suppressed;
    if (a->risk != b->risk)
        return b->risk - a->risk;
    /* by the score as every format prints it (three decimals): findings that print alike
     * go by host, rather than by digits nobody sees */
    long long sa = llround(a->score * 1000), sb = llround(b->score * 1000);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    int c = memcmp(a->host.b, b->host.b, 16);
    if (c)
        return c;
    if ((c = strcmp(a->peer, b->peer)))
        return c;
    if (a->port != b->port)
        return a->port - b->port;
    if (a->proto != b->proto)
        return a->proto - b->proto;
    return hr_hunt_rank(a->hunt) - hr_hunt_rank(b->hunt);
}

/* Folds b's own part into a, the winner (hr_merge_all decides the winner and the confidence:
 * one step per other hunt, not per finding, so the scan hunt's vertical scan and its service
 * probing of one target are merged without counting as two hunts agreeing). */
static void hr_merge(hunt_finding_t *a, hunt_finding_t *b)
{
    for (int i = 0; i < b->n_tech; i++)
        hunt_finding_tech(a, b->tech[i]);
    if (b->first_seen < a->first_seen)
        a->first_seen = b->first_seen;
    if (b->last_seen > a->last_seen)
        a->last_seen = b->last_seen;
    char name[40];
    snprintf(name, sizeof name, "also_%s", b->hunt);
    char *json = hj_xmalloc(b->ev.json_len + 3);
    sprintf(json, "{%s}", b->ev.json ? b->ev.json : "");
    char text[300];
    snprintf(text, sizeof text, "%s (risk %s, score %.3f)", b->summary, hr_risk_name(b->risk),
             b->score);
    hev_raw(&a->ev, name, json, text);
    free(json);
    if (!b->suppressed)
        a->suppressed = 0;
    /* the pictures of both hunts, as far as they fit; b keeps (and frees) the rest */
    int k = 0;
    for (int i = 0; i < b->n_series; i++) {
        if (a->n_series < HUNT_SERIES_MAX)
            a->series[a->n_series++] = b->series[i];
        else
            b->series[k++] = b->series[i];
    }
    b->n_series = k;
}

/* Findings in fingerprint order, each fingerprint's in their list order (the index breaks
 * ties), so each run of one fingerprint is merged in the order the list gives. */
static int hr_cmp_fp(const void *pa, const void *pb, void *arg)
{
    const size_t *a = pa, *b = pb;
    hunt_finding_t *const *v = arg;
    int c = strcmp(v[*a]->fingerprint, v[*b]->fingerprint);
    return c ? c : (*a > *b) - (*a < *b);
}

/* Whether a hunt's finding is a contact that can be C2 (a timer, an odd port, a raw protocol, a
 * pool, a channel held open): what a destination new to the organisation makes more suspicious. */
static int hr_c2_hunt(const char *hunt)
{
    return strcmp(hunt, "beacon") == 0 || strcmp(hunt, "nonstd-port") == 0 ||
           strcmp(hunt, "non-app") == 0 || strcmp(hunt, "miner") == 0 ||
           strcmp(hunt, "long-conn") == 0;
}

/* A Medium C2 finding towards a destination the rare hunt found first contacted in the window
 * is High (hunting-methods.md 5.2: a rare destination with a beacon or an odd port is High;
 * RITA adds to a beacon's score for a first-seen destination). The rare hunt alone calls a new
 * destination context; a C2 hunt alone cannot tell yesterday's implant from a years-old
 * service; the two on one host, peer and port are a new channel. Only from Medium: a Low timer
 * to a new site is still a guess, and High or above needs no help. */
static void hr_first_seen_raise(hunt_finding_t *a, int c2_risk, const char *c2_hunt)
{
    if (c2_risk != HUNT_RISK_MEDIUM || a->risk >= HUNT_RISK_HIGH)
        return;
    a->risk = HUNT_RISK_HIGH;
    char t[256], j[200];
    snprintf(t, sizeof t,
             "Medium -> High: a %s finding towards a destination first contacted by the "
             "organisation in this window (the rare hunt's) is a new channel",
             c2_hunt);
    snprintf(j, sizeof j, "{\"from\":\"Medium\",\"to\":\"High\",\"by\":[\"%s\",\"rare\"]}",
             c2_hunt);
    hev_raw(&a->ev, "first_seen_raise", j, t);
    /* the hunt wrote its action for Medium */
    size_t n = strlen(a->action);
    snprintf(a->action + n, sizeof a->action - n,
             "%sThe destination is new to the organisation: block it until the host is "
             "cleared.",
             n ? " " : "");
}

/* Merges findings that share a fingerprint: each, in list order, into the one that wins (the
 * highest risk, on equal risk the earliest hunt in hunt_all[]), which takes the place of the
 * first. Sorted by fingerprint, not compared pairwise: a run over days of a large network
 * has tens of thousands of findings. */
static void hr_merge_all(hunt_findings_t *l)
{
    if (l->n < 2)
        return;
    size_t *ix = hj_xmalloc(l->n * sizeof *ix);
    for (size_t i = 0; i < l->n; i++)
        ix[i] = i;
    qsort_r(ix, l->n, sizeof *ix, hr_cmp_fp, l->v);
    for (size_t r = 0; r < l->n;) {
        size_t e = r + 1;
        while (e < l->n && strcmp(l->v[ix[r]]->fingerprint, l->v[ix[e]]->fingerprint) == 0)
            e++;
        /* what the run holds, before merging hides it: a first-seen destination, and the
         * highest C2 finding */
        int rare = 0, c2_risk = -1;
        const char *c2_hunt = NULL;
        for (size_t j = r; j < e && e - r > 1; j++) {
            const hunt_finding_t *f = l->v[ix[j]];
            rare |= strcmp(f->hunt, "rare") == 0;
            if (hr_c2_hunt(f->hunt) && f->risk > c2_risk) {
                c2_risk = f->risk;
                c2_hunt = f->hunt;
            }
        }
        /* The winner first, then every other finding merged into it in list order: merged
         * into a finding that later lost, a finding's part was nested in the loser's
         * ("also_a": {"also_b": ...}) and left out of the text report. */
        size_t w = r;
        for (size_t j = r + 1; j < e; j++) {
            const hunt_finding_t *b = l->v[ix[j]], *c = l->v[ix[w]];
            if (b->risk > c->risk ||
                (b->risk == c->risk && hr_hunt_rank(b->hunt) < hr_hunt_rank(c->hunt)))
                w = j;
        }
        hunt_finding_t *a = l->v[ix[w]];
        l->v[ix[w]] = NULL;
        uint32_t hunts = hr_hunt_bit(a->hunt); /* the hunts merged */
        /* Confidence: the best of the findings, one step more for each other hunt that
         * agrees (at most High), whichever finding wins and in whatever order they come. */
        int conf = a->confidence;
        for (size_t j = r; j < e; j++) {
            hunt_finding_t *b = l->v[ix[j]];
            if (j == w)
                continue;
            hunts |= hr_hunt_bit(b->hunt);
            if (b->confidence > conf)
                conf = b->confidence;
            hr_merge(a, b);
            hunt_finding_free(b);
            l->v[ix[j]] = NULL;
        }
        conf += __builtin_popcount(hunts) - 1; /* two hunts agreeing is corroboration */
        a->confidence = conf < HUNT_CONF_HIGH ? conf : HUNT_CONF_HIGH;
        if (rare && c2_hunt)
            hr_first_seen_raise(a, c2_risk, c2_hunt);
        l->v[ix[r]] = a;
        r = e;
    }
    free(ix);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i])
            l->v[k++] = l->v[i];
    l->n = k;
}

/* ---- printing ------------------------------------------------------------------------------- */

/* "s" as a JSON string, or null when empty. */
static void hr_str_or_null(FILE *out, const char *s)
{
    if (!s[0]) {
        fputs("null", out);
        return;
    }
    char *e = hr_json_esc(s);
    fprintf(out, "\"%s\"", e);
    free(e);
}

static void hr_peer_json(FILE *out, const hunt_finding_t *f)
{
    if (f->peer[0])
        fprintf(out, "\"%s\"", f->peer);
    else
        fputs("null", out);
}

#define HR_FILTER_IN_CMDS_MAX 400 /* a run's filter words that each finding's commands repeat */

/* Whether the run's filter fits each finding's flows commands (a file always does). */
static int hr_filter_in_cmds(const hr_opts_t *o)
{
    return !o->filter_words || strlen(o->filter_words) <= HR_FILTER_IN_CMDS_MAX;
}

void hr_shell_word(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    int plain = s[0] != '\0';
    for (const char *p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("_-./:@%+=,", *p);
    if (plain) {
        snprintf(out, cap, "%s", s);
        return;
    }
    if (cap < 3) {
        if (cap)
            out[0] = '\0';
        return;
    }
    out[n++] = '\'';
    for (const char *p = s; *p && n + 5 < cap; p++) {
        if (*p == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            out[n++] = *p;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
}

/* What a finding's flows commands select: its key's filter, and the run's when it had one
 * (the flows it hunted), as shell words. */
static void hr_cmd_select(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap)
{
    char word[1024], expr[1024];
    int n = 0;
    if (o->filter_file) {
        hr_shell_word(o->filter_file, word, sizeof word);
        n = snprintf(out, cap, "-f %s ", word);
    }
    if (n < 0 || (size_t)n >= cap)
        n = 0;
    if (o->filter_words && o->filter_words[0] && hr_filter_in_cmds(o))
        snprintf(expr, sizeof expr, "(%s) and (%s)", f->filter, o->filter_words);
    else
        snprintf(expr, sizeof expr, "%s", f->filter);
    hr_shell_word(expr, word, sizeof word);
    snprintf(out + n, cap - (size_t)n, "%s", word);
}

/* "flowhunt VERB DIR --from FIRST --to LAST+1ms[OPTS] SELECT": a command over the finding's
 * span and key (cat, conv). */
static void hr_span_cmd(const hunt_finding_t *f, const hr_opts_t *o, const char *verb,
                        const char *opts, char *out, size_t cap)
{
    char a[32], b[32], sel[2048], dir[1024];
    timearg_format_iso(f->first_seen, a);
    timearg_format_iso(f->last_seen + 1, b);
    hr_cmd_select(f, o, sel, sizeof sel);
    hr_shell_word(o->dir, dir, sizeof dir);
    snprintf(out, cap, "flowhunt %s %s --from %s --to %s%s %s", verb, dir, a, b, opts, sel);
}

void hr_cat_cmd(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap)
{
    hr_span_cmd(f, o, "cat", " --sort start", out, cap);
}

void hr_count_cmd(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap)
{
    /* bins that draw the finding's span in at most a few hundred rows */
    static const struct {
        uint64_t ms;
        const char *text;
    } bins[] = {{60000, "1m"},     {300000, "5m"},    {900000, "15m"},
                {3600000, "1h"},   {21600000, "6h"},  {86400000, "1d"}};
    uint64_t span = f->last_seen + 1 - f->first_seen;
    size_t i = 0;
    while (i + 1 < sizeof bins / sizeof bins[0] && span / bins[i].ms > 300)
        i++;
    char a[32], b[32], sel[2048], dir[1024];
    timearg_format_iso(f->first_seen / bins[i].ms * bins[i].ms, a);
    timearg_format_iso(f->last_seen + 1, b);
    hr_cmd_select(f, o, sel, sizeof sel);
    hr_shell_word(o->dir, dir, sizeof dir);
    snprintf(out, cap, "flowhunt count %s --from %s --to %s --bin %s %s", dir, a, b, bins[i].text,
             sel);
}

void hr_conv_cmd(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap)
{
    char cfg[1040] = "";
    if (o->config_file) {
        char word[1024];
        hr_shell_word(o->config_file, word, sizeof word);
        snprintf(cfg, sizeof cfg, " --config %s", word);
    }
    hr_span_cmd(f, o, "conv", cfg, out, cap);
}

static void hr_techs(const hunt_finding_t *f, char *out, size_t cap, const char *sep)
{
    out[0] = '\0';
    size_t len = 0;
    for (int i = 0; i < f->n_tech; i++) {
        int n = snprintf(out + len, cap - len, "%s%s", i ? sep : "", f->tech[i]);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
}

const char *hr_tech_name(const char *t)
{
    static const struct {
        const char *id, *name;
    } names[] = {{"T1071", "Application Layer Protocol"},
                 {"T1071.004", "Application Layer Protocol: DNS"},
                 {"T1571", "Non-Standard Port"},
                 {"T1046", "Network Service Discovery"},
                 {"T1021", "Remote Services"},
                 {"T1048", "Exfiltration Over Alternative Protocol"},
                 {"T1048.003", "Exfiltration Over Unencrypted Non-C2 Protocol"},
                 {"T1095", "Non-Application Layer Protocol"},
                 {"T1496", "Resource Hijacking"},
                 {"T1572", "Protocol Tunneling"},
                 {"T1041", "Exfiltration Over C2 Channel"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].id, t) == 0)
            return names[i].name;
    return "";
}

static void hr_print_text(FILE *out, const hunt_finding_t *f, const hr_opts_t *o,
                          const char *id_note, const char *evidence)
{
    char host[FLOW_ADDR_STRLEN], cat[1200], first[32], last[32], rep[32];
    flow_addr_format(&f->host, host);
    hr_cat_cmd(f, o, cat, sizeof cat);
    timearg_format_iso(f->first_seen, first);
    timearg_format_iso(f->last_seen, last);
    timearg_format_iso(f->first_reported, rep);
    fprintf(out, "Hunt ID: %s%s\n", f->hunt_id, id_note ? id_note : "");
    fprintf(out, "Technique: %s %s", f->tech[0], hr_tech_name(f->tech[0]));
    if (f->n_tech > 1) {
        fputs(" (also", out);
        for (int i = 1; i < f->n_tech; i++)
            fprintf(out, " %s %s%s", f->tech[i], hr_tech_name(f->tech[i]),
                    i + 1 < f->n_tech ? ";" : "");
        fputc(')', out);
    }
    fputc('\n', out);
    if (f->host_name[0])
        fprintf(out, "Host: %s (%s)\n", host, f->host_name);
    else
        fprintf(out, "Host: %s\n", host);
    fprintf(out, "User: %s\n", f->user[0] ? f->user : "unknown");
    fprintf(out, "Evidence: %s\n", f->summary);
    if (evidence)
        fputs(evidence, out);
    if (f->suppressed)
        fprintf(out, "  suppressed: %s\n", f->suppressed_reason);
    fprintf(out, "  hunt: %s\n  seen: %s to %s\n", f->hunt, first, last);
    if (f->peer_geo.has_geo || f->peer_geo.has_asn) {
        fprintf(out, "  peer_context: %s", f->peer);
        if (f->peer_geo.has_geo)
            fprintf(out, ", %s%s%s (%s)", f->peer_geo.city, f->peer_geo.city[0] ? ", " : "",
                    f->peer_geo.country_name, f->peer_geo.country);
        if (f->peer_geo.has_asn) /* an ASN record need not name its organisation */
            fprintf(out, ", AS%" PRIu32 "%s%s", f->peer_geo.asn, f->peer_geo.as_org[0] ? " " : "",
                    f->peer_geo.as_org);
        fputc('\n', out);
    }
    fputs(f->ev.text ? f->ev.text : "", out);
    char controls[512];
    hx_controls_text(f, controls, sizeof controls);
    fprintf(out, "  compliance: %s\n", controls);
    fprintf(out, "  fingerprint: %s (%s, first reported %s)\n", f->fingerprint,
            f->is_new ? "new" : "seen before", rep);
    fprintf(out, "  flows: %s\n", cat);
    char timeline[1200];
    hr_count_cmd(f, o, timeline, sizeof timeline);
    fprintf(out, "  timeline: %s\n", timeline);
    hr_conv_cmd(f, o, timeline, sizeof timeline);
    fprintf(out, "  counted: %s\n", timeline);
    fprintf(out, "Risk Level: %s\n", hr_risk_name(f->risk));
    fprintf(out, "Confidence: %s\n", hr_conf_name(f->confidence));
    fprintf(out, "Recommended Action: %s\n\n", f->action);
}

static void hr_print_json(FILE *out, const hunt_finding_t *f, const hr_opts_t *o)
{
    char host[FLOW_ADDR_STRLEN], cat[1200], conv[1200], first[32], last[32], rep[32], pb[8];
    flow_addr_format(&f->host, host);
    hr_cat_cmd(f, o, cat, sizeof cat);
    hr_conv_cmd(f, o, conv, sizeof conv);
    timearg_format_iso(f->first_seen, first);
    timearg_format_iso(f->last_seen, last);
    timearg_format_iso(f->first_reported, rep);
    char *sum = hr_json_esc(f->summary), *act = hr_json_esc(f->action), *c = hr_json_esc(cat);
    char *cv = hr_json_esc(conv);
    char *sup = hr_json_esc(f->suppressed_reason);
    fprintf(out, "{\"hunt_id\":\"%s\",\"hunt\":\"%s\",\"technique\":\"%s\",\"techniques\":[",
            f->hunt_id, f->hunt, f->tech[0]);
    for (int i = 0; i < f->n_tech; i++)
        fprintf(out, "%s\"%s\"", i ? "," : "", f->tech[i]);
    fprintf(out, "],\"host\":\"%s\",\"host_name\":", host);
    hr_str_or_null(out, f->host_name);
    fputs(",\"user\":", out);
    hr_str_or_null(out, f->user[0] ? f->user : "unknown");
    fputs(",\"peer\":", out);
    hr_peer_json(out, f);
    if (f->port >= 0)
        fprintf(out, ",\"port\":%d", f->port);
    else
        fputs(",\"port\":null", out);
    if (f->proto) /* 0: the flows share no protocol (a sequential scan over several) */
        fprintf(out, ",\"proto\":\"%s\"", hr_proto_name(f->proto, pb));
    else
        fputs(",\"proto\":null", out);
    fprintf(out,
            ",\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"risk_level\":\"%s\","
            "\"risk_score\":%.3f,\"confidence\":\"%s\",\"recommended_action\":\"%s\","
            "\"summary\":\"%s\",\"evidence\":{%s},\"flows_command\":\"%s\","
            "\"conversations_command\":\"%s\",\"fingerprint\":\"%s\","
            "\"first_reported\":\"%s\",\"new\":%s,\"id_recorded\":%s,\"suppressed\":%s",
            first, last, hr_risk_name(f->risk), f->score, hr_conf_name(f->confidence), act, sum,
            f->ev.json ? f->ev.json : "", c, cv, f->fingerprint, rep, f->is_new ? "true" : "false",
            f->id_unrecorded ? "false" : "true", f->suppressed ? "true" : "false");
    if (f->peer_geo.has_geo || f->peer_geo.has_asn) {
        fputs(",\"peer_detail\":{", out);
        if (f->peer_geo.has_geo) {
            fprintf(out, "\"country\":\"%s\",\"country_name\":", f->peer_geo.country);
            hr_str_or_null(out, f->peer_geo.country_name);
            fputs(",\"city\":", out);
            hr_str_or_null(out, f->peer_geo.city);
        }
        if (f->peer_geo.has_asn) {
            fprintf(out, "%s\"asn\":%" PRIu32 ",\"as_org\":", f->peer_geo.has_geo ? "," : "",
                    f->peer_geo.asn);
            hr_str_or_null(out, f->peer_geo.as_org);
        }
        fputc('}', out);
    }
    char controls[1024];
    hx_controls_json(f, controls, sizeof controls);
    fprintf(out, ",\"compliance\":%s", controls);
    if (f->suppressed)
        fprintf(out, ",\"suppressed_reason\":\"%s\"", sup);
    fputs("}\n", out);
    free(sum);
    free(act);
    free(c);
    free(cv);
    free(sup);
}

/* One CSV cell (RFC 4180), UTF-8 as the JSON is: a byte that starts no UTF-8 sequence (a
 * Latin-1 user name) is U+FFFD. A cell that starts with = + - @, a tab or CR is a formula to
 * a spreadsheet (a user name from the users file, say): it is quoted and starts with '. */
static void hr_csv_field(FILE *out, const char *s, int last)
{
    int formula = s[0] && strchr("=+-@\t\r", s[0]);
    int quote = formula || strpbrk(s, ",\"\n\r");
    if (quote)
        fputc('"', out);
    if (formula)
        fputc('\'', out);
    while (*s) {
        size_t k = utf8_seq_len((const unsigned char *)s);
        if (k == 0) {
            fputs(UTF8_REPLACEMENT, out);
            s++;
            continue;
        }
        if (*s == '"')
            fputc('"', out);
        fwrite(s, 1, k, out);
        s += k;
    }
    if (quote)
        fputc('"', out);
    fputc(last ? '\n' : ',', out);
}

static void hr_print_csv(FILE *out, const hunt_finding_t *f, const hr_opts_t *o)
{
    char host[FLOW_ADDR_STRLEN], cat[1200], conv[1200], first[32], last[32], rep[32], pb[8],
        port[16] = "", techs[64], score[32];
    flow_addr_format(&f->host, host);
    hr_cat_cmd(f, o, cat, sizeof cat);
    hr_conv_cmd(f, o, conv, sizeof conv);
    timearg_format_iso(f->first_seen, first);
    timearg_format_iso(f->last_seen, last);
    timearg_format_iso(f->first_reported, rep);
    if (f->port >= 0)
        snprintf(port, sizeof port, "%d", f->port);
    hr_techs(f, techs, sizeof techs, ";");
    snprintf(score, sizeof score, "%.3f", f->score);
    /* the peer's context (--geoip, --asn) as JSON's peer_detail has it, empty when unknown */
    const hunt_geo_t *g = &f->peer_geo;
    char asn[16] = "";
    if (g->has_asn)
        snprintf(asn, sizeof asn, "%" PRIu32, g->asn);
    /* columns are only added at the end, so the ones before keep their places */
    const char *v[] = {f->hunt_id,
                       f->hunt,
                       f->tech[0],
                       techs,
                       host,
                       f->host_name,
                       f->user[0] ? f->user : "unknown",
                       f->peer,
                       port,
                       f->proto ? hr_proto_name(f->proto, pb) : "",
                       first,
                       last,
                       hr_risk_name(f->risk),
                       hr_conf_name(f->confidence),
                       score,
                       f->fingerprint,
                       rep,
                       f->is_new ? "true" : "false",
                       f->suppressed ? "true" : "false",
                       f->summary,
                       f->action,
                       cat,
                       f->id_unrecorded ? "false" : "true",
                       g->has_geo ? g->country : "",
                       g->has_geo ? g->country_name : "",
                       g->has_geo ? g->city : "",
                       asn,
                       g->has_asn ? g->as_org : "",
                       conv};
    size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i < n; i++)
        hr_csv_field(out, v[i], i + 1 == n);
}

int hr_report(hunt_findings_t *l, const hr_opts_t *o, FILE *out)
{
    for (size_t i = 0; i < l->n; i++) {
        hunt_finding_t *f = l->v[i];
        hr_fingerprint(&f->host, f->peer, f->port, f->proto, f->fingerprint);
    }
    hr_merge_all(l);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i]->suppressed)
            hr_action_suppressed(l->v[i]);
    hr_ack_t *acks;
    size_t n_acks;
    if (hr_acks_load(o->dir, &acks, &n_acks) != 0) {
        fprintf(stderr, "flowhunt hunt: %s/hunt/acks.tsv: %s\n", o->dir, strerror(errno));
        return -1;
    }
    if (n_acks > 1)
        qsort(acks, n_acks, sizeof *acks, hr_cmp_ack);
    size_t k = 0, n_acked = 0;
    for (size_t i = 0; i < l->n; i++) {
        const hr_ack_t *a = hr_acked(acks, n_acks, l->v[i]->fingerprint);
        /* an acknowledgement past its time (against --now, so a rerun agrees) hides nothing,
         * and the finding says it was acknowledged: the reason is where the analyst starts */
        if (a && a->until && o->now_ms >= a->until) {
            char t[600], when[32], until[32];
            timearg_format_iso(a->ms, when);
            timearg_format_iso(a->until, until);
            snprintf(t, sizeof t, "expired %s (acknowledged %s: %s)", until, when, a->reason);
            hev_str(&l->v[i]->ev, "acknowledgement", t);
            a = NULL;
        }
        if (a) {
            hunt_finding_free(l->v[i]);
            n_acked++;
        } else {
            l->v[k++] = l->v[i];
        }
    }
    l->n = k;
    free(acks);
    /* Below --min-risk: counted in the header, never numbered, so raising the bar later does
     * not leave holes in the day's sequence. */
    size_t n_below = 0;
    k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i]->risk < o->min_risk) {
            hunt_finding_free(l->v[i]);
            n_below++;
        } else {
            l->v[k++] = l->v[i];
        }
    }
    l->n = k;
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, hr_cmp);

    /* ids.tsv is read, extended and written under the state lock: two runs at once (an
     * hourly run that overran, a second analyst) would otherwise both take the date's next
     * SEQ from the same file and the later rename would drop the other's fingerprints. */
    int lock = -1;
    if (o->write_state && (lock = hr_state_lock(o->dir)) < 0) {
        /* --no-state takes no lock and keeps no IDs, but every run still appends its line
         * to DIR/hunt/audit.log (HUNTING.md, "Audit"): say both, so the advice is not one that
         * fails the same way */
        fprintf(stderr,
                "flowhunt hunt: %s/hunt/state.lock: %s (--no-state keeps no Hunt IDs and takes "
                "no lock, but still appends to %s/hunt/audit.log, which must be writable)\n",
                o->dir, strerror(errno), o->dir);
        return -1;
    }
    hr_state_t st;
    if (hr_state_load(&st, o->dir) != 0) {
        if (errno)
            fprintf(stderr, "flowhunt hunt: %s/hunt/ids.tsv: %s\n", o->dir, strerror(errno));
        hr_state_free(&st);
        hr_state_unlock(lock);
        return -1;
    }
    char date[16];
    {
        char iso[32];
        timearg_format_iso(o->end_ms, iso);
        snprintf(date, sizeof date, "%.4s%.2s%.2s", iso, iso + 5, iso + 8);
    }
    unsigned next_seq = 0;
    for (size_t i = 0; i < st.n; i++)
        if (strncmp(st.ids[i].id + 10, date, 8) == 0) {
            unsigned s = (unsigned)strtoul(st.ids[i].id + 19, NULL, 10);
            if (s > next_seq)
                next_seq = s;
        }
    int changed = 0;
    for (size_t i = 0; i < l->n; i++) {
        hunt_finding_t *f = l->v[i];
        uint64_t id = hj_lookup(&st.by_fp, f->fingerprint, 16);
        if (id != UINT64_MAX) {
            snprintf(f->hunt_id, sizeof f->hunt_id, "%s", st.ids[id].id);
            f->first_reported = st.ids[id].first_ms;
            f->is_new = 0;
        } else {
            /* Four digits, more past 9999: a day of a large network can have more findings
             * (mostly Low), and failing the whole run for it would hide the rest. */
            snprintf(f->hunt_id, sizeof f->hunt_id, "TH-HUNTIN-%s-%04u", date, ++next_seq);
            f->first_reported = o->now_ms;
            f->is_new = 1;
            f->id_unrecorded = !o->write_state;
            hr_state_add(&st, f->fingerprint, f->hunt_id, o->now_ms);
            changed = 1;
        }
    }
    if (changed && o->write_state && hr_state_save(&st, o->dir) != 0) {
        fprintf(stderr, "flowhunt hunt: cannot write %s/hunt/ids.tsv: %s\n", o->dir,
                strerror(errno));
        hr_state_free(&st);
        hr_state_unlock(lock);
        return -1;
    }
    hr_state_free(&st);
    hr_state_unlock(lock);
    if (o->enrich)
        for (size_t i = 0; i < l->n; i++)
            en_finding(o->enrich, l->v[i]);

    for (size_t i = 0; i < l->n; i++) {
        utf8_cut_partial(l->v[i]->summary);
        utf8_cut_partial(l->v[i]->action);
    }
    int reported = 0, suppressed = 0, shown = 0;
    if (o->format == HR_FMT_CSV)
        fputs("hunt_id,hunt,technique,techniques,host,host_name,user,peer,port,proto,first_seen,"
              "last_seen,"
              "risk_level,confidence,score,fingerprint,first_reported,new,suppressed,summary,"
              "recommended_action,flows_command,id_recorded,peer_country,peer_country_name,"
              "peer_city,peer_asn,peer_as_org,conversations_command\n",
              out);
    size_t by_risk[HUNT_RISK_CRITICAL + 1] = {0};
    size_t n_old = 0; /* --new-only: reported by an earlier run, found again, not shown */
    for (size_t i = 0; i < l->n; i++) {
        hunt_finding_t *f = l->v[i];
        if (o->new_only && !f->is_new) {
            n_old++;
            continue;
        }
        shown++;
        if (f->suppressed) {
            suppressed++;
        } else {
            reported++;
            if (f->risk >= HUNT_RISK_NONE && f->risk <= HUNT_RISK_CRITICAL)
                by_risk[f->risk]++;
        }
    }
    /* A person's report folds what many hosts share (hunt_fold.c); machines get each. */
    hf_plan_t fold;
    int text = o->format == HR_FMT_TEXT;
    hf_plan(&fold, l->v, l->n, text ? o : NULL, o->new_only);
    if (o->format == HR_FMT_TEXT) {
        char a[32], b[32], window[80];
        timearg_format_iso(o->from_ms, a);
        timearg_format_iso(o->to_ms, b);
        /* an end no option gave is the flows': with none, say so rather than print the
         * epoch's first millisecond */
        int none = o->prep && o->prep->rows == 0;
        if (none && !o->given_from && !o->given_to)
            snprintf(window, sizeof window, "no flows stored");
        else if (none && !o->given_to)
            snprintf(window, sizeof window, "from %s, no flows", a);
        else if (none && !o->given_from)
            snprintf(window, sizeof window, "until %s, no flows", b);
        else
            snprintf(window, sizeof window, "%s to %s", a, b);
        fprintf(out,
                "# flowhunt hunt %s: %s: %d finding%s, %d suppressed by the allow-list, "
                "%zu acknowledged not shown",
                o->dir, window, reported, reported == 1 ? "" : "s", suppressed, n_acked);
        /* how many are still there: "0 findings" alone read as a threat gone */
        if (o->new_only)
            fprintf(out, ", only new ones shown (%zu reported before, still found)", n_old);
        if (o->min_risk > HUNT_RISK_LOW)
            fprintf(out, ", %zu below %s not shown", n_below, hr_risk_name(o->min_risk));
        fputc('\n', out);
        if (o->prep)
            fprintf(out,
                    "# %" PRIu64 " flows -> %" PRIu64 " conversations (%" PRIu64
                    " stitched, %" PRIu64 " duplicate copies dropped, %" PRIu64 " paired, %" PRIu64
                    " unanswered); sampling up to 1:%u; %u pass%s; "
                    "%" PRIu64 " internal hosts\n",
                    o->prep->rows, o->prep->convs, o->prep->stitched, o->prep->duplicates,
                    o->prep->paired, o->prep->one_way,
                    o->prep->max_sampling ? o->prep->max_sampling : 1, o->prep->partitions,
                    o->prep->partitions == 1 ? "" : "es", o->prep->internal_hosts);
        if (o->filter)
            fprintf(out, "# filter: %s: only the flows it selects were hunted%s\n", o->filter,
                    hr_filter_in_cmds(o) ? ", and each finding's flows commands select with it"
                                         : " (too long to repeat in each finding's flows "
                                           "commands, which show every flow of its key)");
        if (o->prep && (o->prep->hours_cached || o->prep->hours_built))
            fprintf(out,
                    "# whole hours: %" PRIu64 " taken from DIR/hunt/cache, %" PRIu64
                    " prepared and kept\n",
                    o->prep->hours_cached, o->prep->hours_built);
        size_t unrecorded = 0;
        for (size_t i = 0; i < l->n; i++)
            unrecorded += (size_t)l->v[i]->id_unrecorded;
        if (unrecorded)
            fprintf(out,
                    "# --no-state: the Hunt IDs of %zu new finding%s are not recorded; a later "
                    "run may give them to other findings\n",
                    unrecorded, unrecorded == 1 ? "" : "s");
        if (reported)
            fprintf(out, "# by risk: %zu Critical, %zu High, %zu Medium, %zu Low\n",
                    by_risk[HUNT_RISK_CRITICAL], by_risk[HUNT_RISK_HIGH],
                    by_risk[HUNT_RISK_MEDIUM], by_risk[HUNT_RISK_LOW]);
        char folds[400];
        hf_summary(&fold, o, folds, sizeof folds);
        if (folds[0])
            fprintf(out, "# %s\n", folds);
        fputc('\n', out);
    }
    if (o->format == HR_FMT_HTML) {
        /* the HTML report is one document over every finding shown */
        hunt_finding_t **shown_v = hj_xmalloc((l->n ? l->n : 1) * sizeof *shown_v);
        size_t k2 = 0;
        for (size_t i = 0; i < l->n; i++)
            if (!o->new_only || l->v[i]->is_new)
                shown_v[k2++] = l->v[i];
        hh_print(out, shown_v, k2, o, n_acked, n_below);
        free(shown_v);
        hf_free(&fold);
        return reported;
    }
    for (size_t i = 0; i < l->n; i++) {
        hunt_finding_t *f = l->v[i];
        if (o->new_only && !f->is_new)
            continue;
        if (o->format == HR_FMT_JSON)
            hr_print_json(out, f, o);
        else if (o->format == HR_FMT_CSV)
            hr_print_csv(out, f, o);
        else if (o->format == HR_FMT_ECS)
            hx_print_ecs(out, f, o);
        else if (o->format == HR_FMT_OCSF)
            hx_print_ocsf(out, f, o);
        else if (fold.lead[i] == HF_ALONE)
            hr_print_text(out, f, o, NULL, NULL);
        else if (fold.lead[i] == i) {
            char note[64], *ev;
            hf_describe(l->v, &fold, i, o, note, &ev);
            hr_print_text(out, f, o, note, ev);
            free(ev);
        }
    }
    hf_free(&fold);
    return reported;
}

/* ---- ack, acks --------------------------------------------------------------------------- */

static void hr_ack_line(char **buf, size_t *len, size_t *cap, const hr_ack_t *a)
{
    hev_cat(buf, len, cap, "%s\t%" PRIu64 "\t%s", a->fp, a->ms, a->reason);
    if (a->until)
        hev_cat(buf, len, cap, "\t%" PRIu64, a->until);
    hev_cat(buf, len, cap, "\n");
}

/* Rewrites acks.tsv with every acknowledgement but fp's, then `add` when not NULL; *had set
 * to whether fp had one. 0 or -1. */
static int hr_acks_rewrite(const char *dir, const char *fp, const hr_ack_t *add, int *had)
{
    hr_ack_t *acks;
    size_t n;
    if (hr_acks_load(dir, &acks, &n) != 0)
        return -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    hev_cat(&buf, &len, &cap,
            "# flowhunt acknowledged findings: fingerprint, when (ms), reason[, until (ms)]\n");
    *had = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(acks[i].fp, fp) == 0)
            *had = 1;
        else
            hr_ack_line(&buf, &len, &cap, &acks[i]);
    }
    if (add)
        hr_ack_line(&buf, &len, &cap, add);
    free(acks);
    int rc = hr_write_atomic(dir, "acks.tsv", buf, len);
    free(buf);
    return rc;
}

int hr_ack_add(const char *dir, const char *fp, uint64_t now_ms, uint64_t until_ms,
               const char *reason)
{
    hr_ack_t a = {.ms = now_ms, .until = until_ms};
    snprintf(a.fp, sizeof a.fp, "%s", fp);
    size_t j = 0;
    for (const char *s = reason; *s && j + 1 < sizeof a.reason; s++)
        a.reason[j++] = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
    a.reason[j] = '\0';
    int had;
    return hr_acks_rewrite(dir, fp, &a, &had);
}

int hr_ack_remove(const char *dir, const char *fp)
{
    int had;
    if (hr_acks_rewrite(dir, fp, NULL, &had) != 0)
        return -1;
    return had;
}

int hr_acks_snapshot(const char *dir, hr_acks_snap_t *s)
{
    memset(s, 0, sizeof *s);
    char path[4200];
    if (hr_state_path(dir, "acks.tsv", path, sizeof path) != 0)
        return -1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    size_t cap = 0;
    for (;;) {
        if (s->len == cap) {
            cap = cap ? cap * 2 : 4096;
            s->text = hj_xrealloc(s->text, cap);
        }
        size_t k = fread(s->text + s->len, 1, cap - s->len, f);
        s->len += k;
        if (k == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        hr_acks_snap_free(s);
        errno = EIO;
        return -1;
    }
    s->exists = 1;
    return 0;
}

int hr_acks_restore(const char *dir, hr_acks_snap_t *s)
{
    char path[4200];
    int rc = -1;
    if (s->exists)
        rc = hr_write_atomic(dir, "acks.tsv", s->text ? s->text : "", s->len);
    else if (hr_state_path(dir, "acks.tsv", path, sizeof path) == 0)
        rc = unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    hr_acks_snap_free(s);
    return rc;
}

void hr_acks_snap_free(hr_acks_snap_t *s)
{
    free(s->text);
    memset(s, 0, sizeof *s);
}

int hr_acks_print(const char *dir, FILE *out)
{
    hr_ack_t *acks;
    size_t n;
    if (hr_acks_load(dir, &acks, &n) != 0)
        return -1;
    hr_state_t st;
    if (hr_state_load(&st, dir) != 0) {
        free(acks);
        hr_state_free(&st);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char when[32], until[32] = "-";
        timearg_format_iso(acks[i].ms, when);
        if (acks[i].until)
            timearg_format_iso(acks[i].until, until);
        uint64_t id = hj_lookup(&st.by_fp, acks[i].fp, 16);
        fprintf(out, "%s\t%s\t%s\t%s\t%s\n", acks[i].fp, id == UINT64_MAX ? "-" : st.ids[id].id,
                when, acks[i].reason, until);
    }
    free(acks);
    hr_state_free(&st);
    return (int)n;
}
