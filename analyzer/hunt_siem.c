/* hunt_siem.c: findings in the schemas SIEMs ingest, and the compliance controls they support.
 *
 * Two formats, one JSON object a line, mapped as ../shared/reference/hunting-methods.md section 7
 * lays out: an Elastic Common Schema alert document (checked against ECS 9.4 field definitions)
 * and an OCSF Detection Finding (class 2004, schema 1.9.0-dev). Every value goes into the field
 * the schema defines for it, with the schema's type; what a schema has no field for (confidence,
 * the recommended action, the fingerprint, the structured evidence, the compliance controls)
 * goes under `flowhunt.` in ECS, as ECS asks of custom fields, and under `unmapped` in OCSF.
 * Both are written from one view of the finding (hx_view_t) so the two formats cannot disagree
 * on a technique's tactic, the direction or the risk. Nothing here reads the clock: the same
 * findings and --now give the same bytes.
 *
 * Compliance: each finding names the controls its detection evidences (hx_controls_*). Every
 * finding is the output of continuous monitoring that was analysed (SOC 2 CC7.2, ISO 27001
 * A.12.4, NIST 800-53 SI-4, NIST CSF DE.CM and DE.AE). A finding that calls for incident
 * handling also supports the incident controls (SOC 2 CC7.3, ISO 27001 A.16.1, NIST 800-53
 * IR-4): a post-compromise technique family (Command and Control, Lateral Movement,
 * Exfiltration, Impact) at High
 * or Critical risk, or Discovery at Critical (an internal sweep of lateral-movement ports). A
 * lower-risk or Discovery finding is a detection to review, not yet an incident; an allow-listed
 * (suppressed) one is neither.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"
#include "timearg.h"
#include "version.h"

#define HX_ECS_VERSION "9.4.0"      /* ../shared/reference/ecs-fields.json */
#define HX_OCSF_VERSION "1.9.0-dev" /* ../shared/reference/ocsf-schema/version.json */
#define HX_OCSF_CLASS 2004          /* Detection Finding: category 2 (Findings) * 1000 + 4 */

/* ---- a small JSON writer: commas and nesting kept in one place ----------------------------- */

#define HX_DEPTH 12

typedef struct hx_w {
    FILE *out;
    int depth;
    int first[HX_DEPTH]; /* nothing written yet at this depth */
} hx_w_t;

static void hx_key(hx_w_t *w, const char *key)
{
    if (!w->first[w->depth])
        fputc(',', w->out);
    w->first[w->depth] = 0;
    if (key)
        fprintf(w->out, "\"%s\":", key);
}

static void hx_open(hx_w_t *w, const char *key, char ch)
{
    if (key || w->depth > 0)
        hx_key(w, key);
    fputc(ch, w->out);
    assert(w->depth + 1 < HX_DEPTH); /* the documents' nesting is fixed, and shallower */
    w->first[++w->depth] = 1;
}

static void hx_close(hx_w_t *w, char ch)
{
    fputc(ch, w->out);
    if (w->depth > 0)
        w->depth--;
}

static void hx_str(hx_w_t *w, const char *key, const char *val)
{
    hx_key(w, key);
    char *e = hr_json_esc(val);
    fprintf(w->out, "\"%s\"", e);
    free(e);
}

/* Only when known: ECS and OCSF both mean "absent" by leaving a field out, never by "". */
static void hx_str_if(hx_w_t *w, const char *key, const char *val)
{
    if (val && val[0])
        hx_str(w, key, val);
}

static void hx_int(hx_w_t *w, const char *key, int64_t val)
{
    hx_key(w, key);
    fprintf(w->out, "%" PRId64, val);
}

static void hx_raw(hx_w_t *w, const char *key, const char *json)
{
    hx_key(w, key);
    fputs(json, w->out);
}

static void hx_bool(hx_w_t *w, const char *key, int val)
{
    hx_raw(w, key, val ? "true" : "false");
}

/* ---- the finding as both schemas see it ---------------------------------------------------- */

/* ATT&CK tactic of each technique the hunts report (by the parent technique's ID). */
static const struct {
    const char *tech, *tactic, *tactic_name;
} hx_tactics[] = {
    {"T1071", "TA0011", "Command and Control"}, {"T1571", "TA0011", "Command and Control"},
    {"T1095", "TA0011", "Command and Control"}, {"T1572", "TA0011", "Command and Control"},
    {"T1046", "TA0007", "Discovery"},           {"T1048", "TA0010", "Exfiltration"},
    {"T1041", "TA0010", "Exfiltration"},        {"T1496", "TA0040", "Impact"},
    {"T1021", "TA0008", "Lateral Movement"},
};

typedef struct hx_tech {
    const char *id;          /* as reported: "T1048.003" */
    char parent[12];         /* "T1048" */
    const char *parent_name; /* "Exfiltration Over Alternative Protocol" */
    const char *sub_name;    /* "Exfiltration Over Unencrypted Non-C2 Protocol"; NULL: no dot */
    const char *tactic, *tactic_name; /* NULL when the technique is not in hx_tactics */
} hx_tech_t;

enum { HX_DIR_UNKNOWN, HX_DIR_INBOUND, HX_DIR_OUTBOUND, HX_DIR_LATERAL, HX_DIR_EXTERNAL };

typedef struct hx_view {
    char host[FLOW_ADDR_STRLEN];
    char peer_ip[FLOW_ADDR_STRLEN]; /* "" when the peer is a network or absent */
    int port;                       /* -1: none, or ICMP (whose "port" is no port) */
    const char *transport;          /* IANA keyword ("tcp", "ipv6-icmp"), or NULL */
    int direction;                  /* HX_DIR_* */
    char first[32], last[32], now[32], reported[32];
    hx_tech_t tech[HUNT_TECH_MAX];
    int n_tech;
    int risk; /* clamped to HUNT_RISK_NONE..CRITICAL */
} hx_view_t;

static void hx_tech_view(hx_tech_t *t, const char *id)
{
    memset(t, 0, sizeof *t);
    t->id = id;
    size_t n = strcspn(id, ".");
    if (n >= sizeof t->parent)
        n = sizeof t->parent - 1;
    memcpy(t->parent, id, n);
    t->parent[n] = '\0';
    t->parent_name = hr_tech_name(t->parent);
    if (!t->parent_name[0])
        t->parent_name = t->parent; /* a name the ATT&CK table lacks: the ID says it */
    if (id[n] == '.') {
        /* hr_tech_name gives "Parent: Sub" or the sub-technique's own name */
        const char *full = hr_tech_name(id), *colon = strstr(full, ": ");
        t->sub_name = colon ? colon + 2 : full[0] ? full : id;
    }
    for (size_t i = 0; i < sizeof hx_tactics / sizeof hx_tactics[0]; i++)
        if (strcmp(hx_tactics[i].tech, t->parent) == 0) {
            t->tactic = hx_tactics[i].tactic;
            t->tactic_name = hx_tactics[i].tactic_name;
        }
}

/* IANA protocol keywords (the "Keyword" column of the protocol-numbers registry, lower case as
 * ECS's network.transport examples write them). */
static const char *hx_transport(uint8_t proto)
{
    switch (proto) {
    case 1:
        return "icmp";
    case 2:
        return "igmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 41:
        return "ipv6";
    case 47:
        return "gre";
    case 50:
        return "esp";
    case 51:
        return "ah";
    case 58:
        return "ipv6-icmp";
    case 132:
        return "sctp";
    default:
        return NULL;
    }
}

/* The direction of the conversations by the configured internal networks: the host opened
 * them unless the hunt says the peer did (peer_originated: an indicator that connected in). */
static int hx_direction(const hunt_finding_t *f, const hr_opts_t *o)
{
    if (!o->cfg || !f->peer[0])
        return HX_DIR_UNKNOWN;
    flow_net_t peer;
    if (flow_net_parse(&peer, f->peer) != 0)
        return HX_DIR_UNKNOWN;
    int h = hc_is_internal(o->cfg, &f->host), p = hc_is_internal(o->cfg, &peer.addr);
    int from = f->peer_originated ? p : h, to = f->peer_originated ? h : p;
    return from && to ? HX_DIR_LATERAL
           : from     ? HX_DIR_OUTBOUND
           : to       ? HX_DIR_INBOUND
                      : HX_DIR_EXTERNAL;
}

static void hx_view(hx_view_t *v, const hunt_finding_t *f, const hr_opts_t *o)
{
    memset(v, 0, sizeof *v);
    flow_addr_format(&f->host, v->host);
    flow_addr_t a;
    if (f->peer[0] && flow_addr_parse(&a, f->peer) == 0)
        flow_addr_format(&a, v->peer_ip);
    int icmp = f->proto == 1 || f->proto == 58;
    v->port = icmp || f->port < 0 || f->port > 65535 ? -1 : f->port;
    v->transport = hx_transport(f->proto);
    v->direction = hx_direction(f, o);
    timearg_format_iso(f->first_seen, v->first);
    timearg_format_iso(f->last_seen, v->last);
    timearg_format_iso(o->now_ms, v->now);
    timearg_format_iso(f->first_reported, v->reported);
    for (int i = 0; i < f->n_tech && i < HUNT_TECH_MAX; i++)
        hx_tech_view(&v->tech[v->n_tech++], f->tech[i]);
    v->risk = f->risk < HUNT_RISK_NONE       ? HUNT_RISK_NONE
              : f->risk > HUNT_RISK_CRITICAL ? HUNT_RISK_CRITICAL
                                             : f->risk;
}

/* The name to show for the primary technique: "Application Layer Protocol: DNS". */
static const char *hx_title_name(const hx_view_t *v)
{
    if (!v->n_tech)
        return "";
    const hx_tech_t *t = &v->tech[0];
    const char *full = t->sub_name ? hr_tech_name(t->id) : "";
    return full[0] ? full : t->sub_name ? t->sub_name : t->parent_name;
}

/* Whether technique i's parent technique / tactic already appeared before it. */
static int hx_seen_parent(const hx_view_t *v, int i)
{
    for (int j = 0; j < i; j++)
        if (strcmp(v->tech[j].parent, v->tech[i].parent) == 0)
            return 1;
    return 0;
}

static int hx_seen_tactic(const hx_view_t *v, int i)
{
    for (int j = 0; j < i; j++)
        if (v->tech[j].tactic && strcmp(v->tech[j].tactic, v->tech[i].tactic) == 0)
            return 1;
    return 0;
}

/* The ATT&CK page of a technique: T1048.003 -> .../techniques/T1048/003/ */
static void hx_tech_url(const char *id, char *out, size_t cap)
{
    char buf[16];
    snprintf(buf, sizeof buf, "%s", id);
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = '/';
    snprintf(out, cap, "https://attack.mitre.org/techniques/%s/", buf);
}

/* ---- compliance controls -------------------------------------------------------------------- */

typedef struct hx_control {
    const char *framework, *control;
    int incident; /* 0: every finding (detection); 1: findings that call for incident handling */
} hx_control_t;

static const hx_control_t hx_controls[] = {
    {"SOC 2", "CC7.2", 0},      {"SOC 2", "CC7.3", 1},      {"ISO 27001", "A.12.4", 0},
    {"ISO 27001", "A.16.1", 1}, {"NIST 800-53", "SI-4", 0}, {"NIST 800-53", "IR-4", 1},
    {"NIST CSF", "DE.CM", 0},   {"NIST CSF", "DE.AE", 0},
};

/* Whether the finding calls for incident handling (see the comment at the top). */
static int hx_incident(const hunt_finding_t *f)
{
    if (f->suppressed)
        return 0;
    for (int i = 0; i < f->n_tech && i < HUNT_TECH_MAX; i++) {
        hx_tech_t t;
        hx_tech_view(&t, f->tech[i]);
        if (!t.tactic)
            continue;
        int discovery = strcmp(t.tactic, "TA0007") == 0;
        if (f->risk >= (discovery ? HUNT_RISK_CRITICAL : HUNT_RISK_HIGH))
            return 1;
    }
    return 0;
}

/* Appends to out, never past cap (a long list is cut, still terminated). */
static void hx_catf(char *out, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void hx_catf(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

/* The controls of f as a JSON array or as one line of text. */
static void hx_controls_list(const hunt_finding_t *f, char *out, size_t cap, int json)
{
    if (!cap)
        return;
    int inc = hx_incident(f), k = 0;
    size_t len = 0;
    out[0] = '\0';
    if (json)
        hx_catf(out, cap, &len, "[");
    for (size_t i = 0; i < sizeof hx_controls / sizeof hx_controls[0]; i++) {
        const hx_control_t *c = &hx_controls[i];
        if (c->incident && !inc)
            continue;
        if (json)
            hx_catf(out, cap, &len, "%s{\"framework\":\"%s\",\"control\":\"%s\"}", k ? "," : "",
                    c->framework, c->control);
        else
            hx_catf(out, cap, &len, "%s%s %s", k ? ", " : "", c->framework, c->control);
        k++;
    }
    if (json)
        hx_catf(out, cap, &len, "]");
}

void hx_controls_json(const hunt_finding_t *f, char *out, size_t cap)
{
    hx_controls_list(f, out, cap, 1);
}

void hx_controls_text(const hunt_finding_t *f, char *out, size_t cap)
{
    hx_controls_list(f, out, cap, 0);
}

/* The fields neither schema has, the same in both (ECS `flowhunt`, OCSF `unmapped`). */
static void hx_custom(hx_w_t *w, const char *key, const hunt_finding_t *f, const hr_opts_t *o,
                      const hx_view_t *v, int ecs)
{
    char cat[1200], conv[1200], controls[1024], score[32];
    hr_cat_cmd(f, o, cat, sizeof cat);
    hr_conv_cmd(f, o, conv, sizeof conv);
    hx_controls_json(f, controls, sizeof controls);
    double s = f->score == f->score && f->score < 1e300 && f->score > -1e300 ? f->score : 0;
    snprintf(score, sizeof score, "%.3f", s);
    hx_open(w, key, '{');
    if (ecs) { /* OCSF has these: finding_info.uid, confidence, risk_level, remediation */
        hx_str(w, "hunt_id", f->hunt_id);
        hx_str(w, "confidence", hr_conf_name(f->confidence));
        hx_str(w, "risk_level", hr_risk_name(v->risk));
        hx_str(w, "recommended_action", f->action);
    }
    hx_str(w, "hunt", f->hunt);
    hx_str(w, "technique", f->tech[0]);
    hx_open(w, "techniques", '[');
    for (int i = 0; i < f->n_tech && i < HUNT_TECH_MAX; i++)
        hx_str(w, NULL, f->tech[i]);
    hx_close(w, ']');
    hx_raw(w, "score", score);
    hx_str_if(w, "peer", f->peer);
    if (f->port >= 0)
        hx_int(w, "port", f->port); /* as the hunt reported it (ICMP: type<<8|code) */
    hx_str(w, "fingerprint", f->fingerprint);
    hx_str(w, "first_reported", v->reported);
    hx_bool(w, "new", f->is_new);
    /* false: a --no-state run; a later run may give this Hunt ID to another finding, so a
     * SIEM must not take event.id / finding_info.uid as the finding's lasting name */
    hx_bool(w, "id_recorded", !f->id_unrecorded);
    hx_bool(w, "suppressed", f->suppressed);
    if (f->suppressed)
        hx_str(w, "suppressed_reason", f->suppressed_reason);
    hx_raw(w, "compliance", controls);
    hx_str(w, "flows_command", cat);
    hx_str(w, "conversations_command", conv);
    if (ecs) { /* OCSF has it in evidences[].data */
        hx_key(w, "evidence");
        fprintf(w->out, "{%s}", f->ev.json ? f->ev.json : "");
    }
    hx_close(w, '}');
}

/* ---- Elastic Common Schema ------------------------------------------------------------------- */

static const char *const hx_ecs_direction[] = {"unknown", "inbound", "outbound", "internal",
                                               "external"};

/* Elastic's detection-rule convention for risk_score by severity (hunting-methods.md 7.1). */
static int hx_ecs_risk_score(int risk)
{
    static const int s[] = {0, 21, 47, 73, 99};
    return s[risk];
}

static void hx_ecs_threat(hx_w_t *w, const hx_view_t *v)
{
    char url[80];
    hx_open(w, "threat", '{');
    hx_str(w, "framework", "MITRE ATT&CK");
    hx_open(w, "technique", '{');
    /* ECS keeps parallel arrays: the (parent) techniques, then their sub-techniques */
    static const char *const keys[] = {"id", "name", "reference"};
    for (int k = 0; k < 3; k++) {
        hx_open(w, keys[k], '[');
        for (int i = 0; i < v->n_tech; i++) {
            if (hx_seen_parent(v, i))
                continue;
            hx_tech_url(v->tech[i].parent, url, sizeof url);
            hx_str(w, NULL, k == 0 ? v->tech[i].parent : k == 1 ? v->tech[i].parent_name : url);
        }
        hx_close(w, ']');
    }
    int n_sub = 0;
    for (int i = 0; i < v->n_tech; i++)
        n_sub += v->tech[i].sub_name != NULL;
    if (n_sub) {
        hx_open(w, "subtechnique", '{');
        for (int k = 0; k < 3; k++) {
            hx_open(w, keys[k], '[');
            for (int i = 0; i < v->n_tech; i++) {
                if (!v->tech[i].sub_name)
                    continue;
                hx_tech_url(v->tech[i].id, url, sizeof url);
                hx_str(w, NULL, k == 0 ? v->tech[i].id : k == 1 ? v->tech[i].sub_name : url);
            }
            hx_close(w, ']');
        }
        hx_close(w, '}');
    }
    hx_close(w, '}');
    int n_tac = 0;
    for (int i = 0; i < v->n_tech; i++)
        n_tac += v->tech[i].tactic != NULL;
    if (n_tac) {
        hx_open(w, "tactic", '{');
        for (int k = 0; k < 3; k++) {
            hx_open(w, keys[k], '[');
            for (int i = 0; i < v->n_tech; i++) {
                if (!v->tech[i].tactic || hx_seen_tactic(v, i))
                    continue;
                snprintf(url, sizeof url, "https://attack.mitre.org/tactics/%s/",
                         v->tech[i].tactic);
                hx_str(w, NULL, k == 0 ? v->tech[i].tactic : k == 1 ? v->tech[i].tactic_name : url);
            }
            hx_close(w, ']');
        }
        hx_close(w, '}');
    }
    hx_close(w, '}');
}

/* source or destination: an address (a network peer stays in flowhunt.peer), its port, and
 * the peer's GeoIP/ASN context (g, NULL for the host's side); nothing when all are unknown. */
static void hx_ecs_endpoint(hx_w_t *w, const char *key, const char *ip, int port,
                            const hunt_geo_t *g)
{
    int geo = g && g->has_geo && (g->country[0] || g->country_name[0] || g->city[0]);
    int as = g && g->has_asn;
    if (!ip[0] && port < 0 && !geo && !as)
        return;
    hx_open(w, key, '{');
    hx_str_if(w, "ip", ip);
    if (port >= 0)
        hx_int(w, "port", port);
    if (geo) {
        hx_open(w, "geo", '{');
        hx_str_if(w, "country_iso_code", g->country);
        hx_str_if(w, "country_name", g->country_name);
        hx_str_if(w, "city_name", g->city);
        hx_close(w, '}');
    }
    if (as) {
        hx_open(w, "as", '{');
        hx_int(w, "number", g->asn);
        if (g->as_org[0]) {
            hx_open(w, "organization", '{');
            hx_str(w, "name", g->as_org);
            hx_close(w, '}');
        }
        hx_close(w, '}');
    }
    hx_close(w, '}');
}

void hx_print_ecs(FILE *out, const hunt_finding_t *f, const hr_opts_t *o)
{
    hx_view_t v;
    hx_view(&v, f, o);
    const hunt_geo_t *g = &f->peer_geo;
    hx_w_t w = {.out = out};
    char msg[512], iana[8];
    snprintf(msg, sizeof msg, "%s %s %s: %s", hr_risk_name(v.risk), f->tech[0], hx_title_name(&v),
             f->summary);
    /* proto 0: the finding's flows share no protocol (a sequential scan over several); IANA's
     * 0 is HOPOPT, which no flow is: the field is left out, as the port is */
    if (f->proto)
        snprintf(iana, sizeof iana, "%u", f->proto);
    else
        iana[0] = '\0';

    hx_open(&w, NULL, '{');
    hx_str(&w, "@timestamp", v.reported); /* when the finding was first reported */
    hx_str(&w, "message", msg);
    hx_open(&w, "ecs", '{');
    hx_str(&w, "version", HX_ECS_VERSION);
    hx_close(&w, '}');
    hx_open(&w, "tags", '[');
    hx_str(&w, NULL, "flowhunt");
    hx_str(&w, NULL, f->hunt);
    hx_close(&w, ']');

    hx_open(&w, "event", '{');
    hx_str(&w, "kind", "alert");
    /* "info" is the one event.type ECS allows with both categories: a flow record cannot say
     * whether a control allowed or denied the traffic */
    hx_raw(&w, "category", "[\"network\",\"intrusion_detection\"]");
    hx_raw(&w, "type", "[\"info\"]");
    hx_str(&w, "id", f->hunt_id);
    hx_str(&w, "code", f->tech[0]);
    hx_str(&w, "action", f->hunt);
    hx_str(&w, "module", "flowhunt");
    hx_str(&w, "dataset", "flowhunt.hunt");
    hx_str(&w, "provider", "flowhunt");
    hx_str(&w, "created", v.now);
    hx_str(&w, "start", v.first);
    hx_str(&w, "end", v.last);
    if (f->last_seen >= f->first_seen)
        hx_int(&w, "duration", (int64_t)((f->last_seen - f->first_seen) * 1000000)); /* ns */
    hx_int(&w, "severity", v.risk); /* 1 Low .. 4 Critical */
    hx_int(&w, "risk_score", hx_ecs_risk_score(v.risk));
    hx_str(&w, "reason", f->summary);
    hx_close(&w, '}');

    hx_ecs_threat(&w, &v);

    hx_open(&w, "rule", '{');
    hx_str(&w, "id", f->hunt);
    hx_str(&w, "name", f->hunt);
    hx_str(&w, "ruleset", "flowhunt");
    hx_str(&w, "category", v.n_tech && v.tech[0].tactic_name ? v.tech[0].tactic_name : f->hunt);
    hx_str(&w, "version", FH_VERSION);
    hx_close(&w, '}');
    hx_open(&w, "observer", '{');
    hx_str(&w, "product", "flowhunt");
    hx_str(&w, "vendor", "flowhunt");
    hx_str(&w, "version", FH_VERSION);
    hx_close(&w, '}');

    /* source is the side that opened the conversations, destination the side that answered */
    int swap = f->peer_originated && v.peer_ip[0];
    hx_ecs_endpoint(&w, "source", swap ? v.peer_ip : v.host, -1, swap ? g : NULL);
    hx_ecs_endpoint(&w, "destination", swap ? v.host : v.peer_ip, v.port, swap ? NULL : g);
    hx_open(&w, "host", '{');
    hx_open(&w, "ip", '[');
    hx_str(&w, NULL, v.host);
    hx_close(&w, ']');
    hx_str_if(&w, "name", f->host_name);
    hx_close(&w, '}');
    if (f->user[0]) {
        hx_open(&w, "user", '{');
        hx_str(&w, "name", f->user);
        hx_close(&w, '}');
    }
    hx_open(&w, "network", '{');
    hx_str_if(&w, "transport", v.transport);
    hx_str_if(&w, "iana_number", iana);
    hx_str(&w, "type", flow_addr_is_v4(&f->host) ? "ipv4" : "ipv6");
    hx_str(&w, "direction", hx_ecs_direction[v.direction]);
    hx_close(&w, '}');
    hx_open(&w, "related", '{');
    hx_open(&w, "ip", '[');
    hx_str(&w, NULL, v.host);
    if (v.peer_ip[0] && strcmp(v.peer_ip, v.host) != 0)
        hx_str(&w, NULL, v.peer_ip);
    hx_close(&w, ']');
    if (f->host_name[0]) {
        hx_open(&w, "hosts", '[');
        hx_str(&w, NULL, f->host_name);
        hx_close(&w, ']');
    }
    if (f->user[0]) {
        hx_open(&w, "user", '[');
        hx_str(&w, NULL, f->user);
        hx_close(&w, ']');
    }
    hx_close(&w, '}');
    hx_custom(&w, "flowhunt", f, o, &v, 1);
    hx_close(&w, '}');
    fputc('\n', out);
}

/* ---- OCSF Detection Finding ------------------------------------------------------------------ */

/* Captions of the OCSF enums used here, from dictionary.json and the finding classes. */
static const char *const hx_ocsf_severity[] = {"Informational", "Low", "Medium", "High",
                                               "Critical"}; /* severity_id risk+1 */
static const char *const hx_ocsf_risk[] = {"Info", "Low", "Medium", "High", "Critical"};
static const char *const hx_ocsf_direction[] = {"Unknown", "Inbound", "Outbound", "Lateral",
                                                "Unknown"}; /* both ends external: 0 */

/* analytic.type_id: how each hunt decides (objects/analytic.json). */
static int hx_ocsf_analytic(const char *hunt, const char **caption)
{
    static const struct {
        const char *hunt;
        int id;
        const char *caption;
    } a[] = {
        {"beacon", 3, "Statistical"},     {"dns-exfil", 3, "Statistical"},
        {"rare", 3, "Statistical"},       {"scan", 2, "Behavioral"},
        {"nonstd-port", 2, "Behavioral"}, {"non-app", 2, "Behavioral"},
        {"miner", 2, "Behavioral"},       {"intel", 9, "Exact Data Match"},
        {"long-conn", 2, "Behavioral"},
    };
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++)
        if (strcmp(a[i].hunt, hunt) == 0) {
            *caption = a[i].caption;
            return a[i].id;
        }
    *caption = "Other";
    return 99;
}

/* An evidence endpoint: it needs an address (a network peer is in unmapped.peer); the host
 * side carries its name, the peer side its GeoIP/ASN context (g). */
static void hx_ocsf_endpoint(hx_w_t *w, const char *key, const char *ip, const char *hostname,
                             int port, const hunt_geo_t *g)
{
    if (!ip[0])
        return;
    hx_open(w, key, '{');
    hx_str(w, "ip", ip);
    hx_str_if(w, "hostname", hostname);
    if (port >= 0)
        hx_int(w, "port", port);
    if (g && g->has_geo && (g->country[0] || g->city[0])) {
        hx_open(w, "location", '{');
        hx_str_if(w, "country", g->country);
        hx_str_if(w, "city", g->city);
        hx_close(w, '}');
    }
    if (g && g->has_asn) {
        hx_open(w, "autonomous_system", '{');
        hx_int(w, "number", g->asn);
        hx_str_if(w, "name", g->as_org);
        hx_close(w, '}');
    }
    hx_close(w, '}');
}

void hx_print_ocsf(FILE *out, const hunt_finding_t *f, const hr_opts_t *o)
{
    hx_view_t v;
    hx_view(&v, f, o);
    hx_w_t w = {.out = out};
    /* a finding reported on an earlier run is an Update of the one created then */
    int activity = f->is_new ? 1 : 2;
    int conf = f->confidence < HUNT_CONF_LOW    ? HUNT_CONF_LOW
               : f->confidence > HUNT_CONF_HIGH ? HUNT_CONF_HIGH
                                                : f->confidence;
    char title[200];
    snprintf(title, sizeof title, "%s %s (%s)", f->tech[0], hx_title_name(&v), f->hunt);

    hx_open(&w, NULL, '{');
    hx_int(&w, "activity_id", activity);
    hx_str(&w, "activity_name", activity == 1 ? "Create" : "Update");
    hx_int(&w, "category_uid", 2);
    hx_str(&w, "category_name", "Findings");
    hx_int(&w, "class_uid", HX_OCSF_CLASS);
    hx_str(&w, "class_name", "Detection Finding");
    hx_int(&w, "type_uid", (int64_t)HX_OCSF_CLASS * 100 + activity);
    hx_str(&w, "type_name",
           activity == 1 ? "Detection Finding: Create" : "Detection Finding: Update");
    hx_int(&w, "time", (int64_t)f->first_reported); /* the finding's creation */
    hx_int(&w, "start_time", (int64_t)f->first_seen);
    hx_int(&w, "end_time", (int64_t)f->last_seen);
    hx_int(&w, "timezone_offset", 0);
    hx_int(&w, "severity_id", v.risk + 1);
    hx_str(&w, "severity", hx_ocsf_severity[v.risk]);
    hx_int(&w, "risk_level_id", v.risk);
    hx_str(&w, "risk_level", hx_ocsf_risk[v.risk]);
    hx_int(&w, "confidence_id", conf);
    hx_str(&w, "confidence", hr_conf_name(conf));
    hx_int(&w, "status_id", f->suppressed ? 3 : 1);
    hx_str(&w, "status", f->suppressed ? "Suppressed" : "New");
    hx_bool(&w, "is_alert", !f->suppressed);
    hx_str(&w, "message", f->summary);

    hx_open(&w, "metadata", '{');
    hx_open(&w, "product", '{');
    hx_str(&w, "name", "flowhunt");
    hx_str(&w, "vendor_name", "flowhunt");
    hx_str(&w, "version", FH_VERSION);
    hx_close(&w, '}');
    hx_str(&w, "version", HX_OCSF_VERSION);
    hx_str(&w, "correlation_uid", f->fingerprint);
    hx_raw(&w, "profiles", "[\"host\"]");
    hx_close(&w, '}');

    hx_open(&w, "finding_info", '{');
    hx_str(&w, "uid", f->hunt_id);
    hx_str(&w, "title", title);
    hx_str(&w, "desc", f->summary);
    hx_open(&w, "types", '[');
    hx_str(&w, NULL, f->hunt);
    hx_close(&w, ']');
    const char *atype;
    int atid = hx_ocsf_analytic(f->hunt, &atype);
    hx_open(&w, "analytic", '{');
    hx_str(&w, "name", f->hunt);
    hx_str(&w, "uid", f->hunt);
    hx_int(&w, "type_id", atid);
    hx_str(&w, "type", atype);
    hx_str(&w, "version", FH_VERSION);
    hx_close(&w, '}');
    hx_open(&w, "attacks", '[');
    for (int i = 0; i < v.n_tech; i++) {
        const hx_tech_t *t = &v.tech[i];
        hx_open(&w, NULL, '{');
        hx_open(&w, "technique", '{');
        hx_str(&w, "uid", t->parent);
        hx_str(&w, "name", t->parent_name);
        hx_close(&w, '}');
        if (t->sub_name) {
            hx_open(&w, "sub_technique", '{');
            hx_str(&w, "uid", t->id);
            hx_str(&w, "name", t->sub_name);
            hx_close(&w, '}');
        }
        if (t->tactic) {
            hx_open(&w, "tactic", '{');
            hx_str(&w, "uid", t->tactic);
            hx_str(&w, "name", t->tactic_name);
            hx_close(&w, '}');
        }
        hx_close(&w, '}');
    }
    hx_close(&w, ']');
    hx_int(&w, "created_time", (int64_t)f->first_reported);
    hx_int(&w, "first_seen_time", (int64_t)f->first_seen);
    hx_int(&w, "last_seen_time", (int64_t)f->last_seen);
    hx_close(&w, '}');

    hx_open(&w, "remediation", '{');
    hx_str(&w, "desc", f->action);
    hx_close(&w, '}');

    hx_open(&w, "device", '{');
    hx_str(&w, "ip", v.host);
    hx_str_if(&w, "hostname", f->host_name);
    hx_int(&w, "type_id", 0); /* flows do not say what kind of device it is */
    hx_str(&w, "type", "Unknown");
    hx_close(&w, '}');
    if (f->user[0]) {
        hx_open(&w, "actor", '{');
        hx_open(&w, "user", '{');
        hx_str(&w, "name", f->user);
        hx_close(&w, '}');
        hx_close(&w, '}');
    }

    hx_open(&w, "evidences", '[');
    hx_open(&w, NULL, '{');
    int swap = f->peer_originated && v.peer_ip[0]; /* src opened the conversations */
    const hunt_geo_t *g = &f->peer_geo;
    hx_ocsf_endpoint(&w, "src_endpoint", swap ? v.peer_ip : v.host, swap ? "" : f->host_name, -1,
                     swap ? g : NULL);
    hx_ocsf_endpoint(&w, "dst_endpoint", swap ? v.host : v.peer_ip, swap ? f->host_name : "",
                     v.port, swap ? NULL : g);
    hx_open(&w, "connection_info", '{');
    if (f->proto)
        hx_int(&w, "protocol_num", f->proto);
    hx_str_if(&w, "protocol_name", v.transport);
    hx_int(&w, "direction_id", v.direction == HX_DIR_EXTERNAL ? 0 : v.direction);
    hx_str(&w, "direction", hx_ocsf_direction[v.direction]);
    hx_close(&w, '}');
    hx_key(&w, "data");
    fprintf(out, "{%s}", f->ev.json ? f->ev.json : "");
    hx_close(&w, '}');
    hx_close(&w, ']');

    hx_custom(&w, "unmapped", f, o, &v, 0);
    hx_close(&w, '}');
    fputc('\n', out);
}
