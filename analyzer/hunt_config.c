/* hunt_config.c: the hunts' one configuration file (INI), with a default for every value.
 *
 * A hunt must run usefully with no file at all, so every setting has a default taken from the
 * anchor it imitates (RITA's beacon thresholds, Zeek's scan thresholds, the Sigma and Elastic DNS
 * rules), and the internal networks default to RFC 1918 and RFC 4193 space. A file overrides
 * what it names; --internal, --resolvers and --allow override the file. Unknown sections, keys
 * and bad values are errors that name the file and line, because a typo that silently left a
 * threshold at its default is how a hunt misses what it was tuned for.
 *
 *   [general]  internal = 10.0.0.0/8, ...   resolvers = 10.0.0.53, ...   memory_mb = 2048
 *   [prep] [beacon] [scan] [dns] [nonstd] [nonapp] [rare] [miner] [intel] [long]
 *              numeric keys of HC_NUMBERS (hunt.h)
 *   [ports]    standard_tcp = 22,80,443,...  standard_udp = ...   lateral_tcp = 22,445,...
 *              egress_tcp = ...  egress_udp = ...  remote_admin = ...  benign = ... (nonstd-port)
 *   [general]  vpn_peers = 198.51.100.7, ...  (non-app, long-conn: reported suppressed)
 *   [allow]    host = 10.0.5.5 Nessus scanner       (every hunt)
 *              host@scan = 10.0.5.0/28 asset discovery
 *              dst = 203.0.113.0/24 backup provider
 *              port = tcp/8883 ESET telemetry
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "hunt.h"
#include "utf8.h"

static const char *const hc_default_internal = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";
/* Egress ports that are standard for their protocol (a beacon elsewhere is T1571); internal
 * service ports count as standard too, so internal traffic to them is judged on behaviour. */
static const char *const hc_default_std_tcp =
    "20,21,22,25,53,80,88,110,135,139,143,389,443,445,465,587,636,853,993,995,3268,3389,5985,"
    "5986,8080,8443";
static const char *const hc_default_std_udp = "53,67,68,123,137,138,443,500,514,1812,4500";
/* miner (hunting-methods.md 5.3): Falco's miner_ports without 25 (mail, not mining: every mail
 * server would be a candidate), the community stratum lists (3032, NiceHash), Monero p2p and
 * RPC. A port alone proves nothing (8080 and 8000 are web ports): the hunt wants the shape. */
static const char *const hc_default_miner_ports =
    "3032,3333-3336,3357,4444,5555,5556,5588,5730,6099,6666,7777,7778,8000,8001,8008,8080,8118,"
    "8333,8888,8899,9332,9999,14433,14444,18080,18081,45560,45700";
static const char *const hc_default_p2p_ports = "18080,18081";
/* dns: the public resolvers that answer DNS over HTTPS on 443 (hunting-methods.md 3.3), their
 * documented anycast addresses: Cloudflare (also its malware and family filters), Google,
 * Quad9 (also unfiltered and ECS), OpenDNS, AdGuard. Nothing else is served there, so HTTPS to
 * them is DNS; a longer list (the curl and AdGuard wikis') goes in [dns] doh_servers. */
static const char *const hc_default_doh =
    "1.1.1.1,1.0.0.1,1.1.1.2,1.0.0.2,1.1.1.3,1.0.0.3,2606:4700:4700::1111,2606:4700:4700::1001,"
    "8.8.8.8,8.8.4.4,2001:4860:4860::8888,2001:4860:4860::8844,"
    "9.9.9.9,149.112.112.112,9.9.9.10,149.112.112.10,9.9.9.11,149.112.112.11,2620:fe::fe,"
    "2620:fe::9,208.67.222.222,208.67.220.220,2620:119:35::35,2620:119:53::53,"
    "94.140.14.14,94.140.15.15,2a10:50c0::ad1:ff,2a10:50c0::ad2:ff";
static const char *const hc_default_web_ports = "8000,8001,8008,8080,8081,8888";
static const char *const hc_default_lateral = "22,23,135,139,445,3389,5900,5985,5986";
/* nonstd-port (hunting-methods.md 5.2): the proposal's egress allow-list; remote-admin and C2
 * defaults (Metasploit 4444, Cobalt Strike 50050, 1337/31337, adb 5555, IRC 6666-6669, Tor
 * 9001/9030, Quasar 4782, njRAT 1177, VNC 5900, RDP 3389 going out, 8888); and service ports of
 * SaaS, VPN, VoIP and games that look odd but are benign (MQTT 8883/1883, XMPP 5222/5223, FCM
 * 5228, STUN/TURN 3478-3481/5349/19302-19309, OpenVPN 1194, IPsec 500/4500, WireGuard 51820,
 * SIP 5060/5061, Zoom 8801-8810, Xbox 3074, Steam 27015-27030). */
static const char *const hc_default_egress_tcp = "22,25,80,443,465,587,993,995,8080,8443";
static const char *const hc_default_egress_udp = "53,123,443";
static const char *const hc_default_remote_admin =
    "1177,1337,3389,4444,4782,5555,5900,6666-6669,8888,9001,9030,31337,50050";
static const char *const hc_default_benign_svc =
    "500,1194,1883,3074,3478-3481,4500,5060,5061,5222,5223,5228,5349,8801-8810,8883,"
    "19302-19309,27015-27030,51820";

static void hc_bit_set(uint8_t *bits, unsigned p)
{
    bits[p >> 3] |= (uint8_t)(1u << (p & 7));
}

static int hc_bit(const uint8_t *bits, unsigned p)
{
    return (bits[p >> 3] >> (p & 7)) & 1;
}

static int hc_set_ports(uint8_t *bits, const char *list)
{
    memset(bits, 0, 8192);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (end == p)
            return -1;
        if (*end == '-') {
            const char *q = end + 1;
            hi = strtoul(q, &end, 10);
            if (end == q)
                return -1;
        }
        if (lo > 65535 || hi > 65535 || hi < lo)
            return -1;
        for (unsigned long x = lo; x <= hi; x++)
            hc_bit_set(bits, (unsigned)x);
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p && *p != ',')
            return -1;
    }
    return 0;
}

void hc_defaults(hunt_config_t *c)
{
    memset(c, 0, sizeof *c);
#define HC_X_DEF(sec, key, field, def, lo, hi, kind, doc) c->field = (def);
    HC_NUMBERS(HC_X_DEF)
#undef HC_X_DEF
    char err[128];
    hc_set_nets(&c->internal, &c->n_internal, hc_default_internal, 0, err, sizeof err);
    hc_set_nets(&c->doh, &c->n_doh, hc_default_doh, 0, err, sizeof err);
    hc_set_ports(c->std_tcp, hc_default_std_tcp);
    hc_set_ports(c->std_udp, hc_default_std_udp);
    hc_set_ports(c->lateral_tcp, hc_default_lateral);
    hc_set_ports(c->m_ports, hc_default_miner_ports);
    hc_set_ports(c->m_p2p_ports, hc_default_p2p_ports);
    hc_set_ports(c->m_web_ports, hc_default_web_ports);
    hc_set_ports(c->egress_tcp, hc_default_egress_tcp);
    hc_set_ports(c->egress_udp, hc_default_egress_udp);
    hc_set_ports(c->remote_admin, hc_default_remote_admin);
    hc_set_ports(c->benign_svc, hc_default_benign_svc);
    snprintf(c->source, sizeof c->source, "defaults");
}

int hc_prep_changed(const hunt_config_t *c)
{
    hunt_config_t d;
    hc_defaults(&d);
    int changed = 0;
#define HC_X_PREP(sec, key, field, def, lo, hi, kind, doc)                                         \
    changed |= strcmp(#sec, "prep") == 0 && c->field != d.field;
    HC_NUMBERS(HC_X_PREP)
#undef HC_X_PREP
    hc_free(&d);
    return changed;
}

void hc_free(hunt_config_t *c)
{
    free(c->internal);
    free(c->resolvers);
    free(c->doh);
    free(c->allow);
    free(c->m_pools);
    free(c->m_servers);
    c->m_pools = c->m_servers = NULL;
    c->n_m_pools = c->n_m_servers = 0;
    free(c->vpn_peers);
    c->vpn_peers = NULL;
    c->n_vpn_peers = 0;
    c->internal = c->resolvers = c->doh = NULL;
    c->allow = NULL;
    c->n_internal = c->n_resolvers = c->n_doh = c->n_allow = 0;
}

int hc_set_nets(flow_net_t **nets, int *n, const char *list, int hosts_only, char *err,
                size_t err_cap)
{
    flow_net_t *v = NULL;
    int k = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ", \t");
        char item[80];
        if (len >= sizeof item) {
            snprintf(err, err_cap, "'%.*s' is too long for an address", (int)len, p);
            free(v);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        flow_net_t net;
        if (flow_net_parse(&net, item) != 0 || (hosts_only && net.plen != 128)) {
            snprintf(err, err_cap, "'%s' is not %s", item,
                     hosts_only ? "an address" : "an address or CIDR network");
            free(v);
            return -1;
        }
        v = hj_xrealloc(v, (size_t)(k + 1) * sizeof *v);
        v[k++] = net;
        p += len;
    }
    free(*nets);
    *nets = v;
    *n = k;
    return 0;
}

int hc_is_internal(const hunt_config_t *c, const flow_addr_t *a)
{
    for (int i = 0; i < c->n_internal; i++)
        if (flow_net_has(&c->internal[i], a))
            return 1;
    return 0;
}

int hc_is_resolver(const hunt_config_t *c, const flow_addr_t *a)
{
    for (int i = 0; i < c->n_resolvers; i++)
        if (flow_net_has(&c->resolvers[i], a))
            return 1;
    return 0;
}

int hc_port_standard(const hunt_config_t *c, uint8_t proto, uint16_t port)
{
    if (proto == 6)
        return hc_bit(c->std_tcp, port);
    if (proto == 17)
        return hc_bit(c->std_udp, port);
    return 1; /* ports mean nothing to other protocols */
}

int hc_port_listed(const uint8_t *bits, uint16_t port)
{
    return hc_bit(bits, port);
}

const hc_allow_t *hc_allowed(const hunt_config_t *c, const char *hunt, const flow_addr_t *host,
                             const flow_net_t *peer, int port, uint8_t proto)
{
    for (int i = 0; i < c->n_allow; i++) {
        const hc_allow_t *a = &c->allow[i];
        if (a->hunt[0] && strcmp(a->hunt, hunt) != 0)
            continue;
        if (a->kind == HC_ALLOW_HOST && host && flow_net_has(&a->net, host))
            return a;
        /* a peer network (a scan's targets, a beacon's /24) inside the entry's */
        if (a->kind == HC_ALLOW_DST && peer && a->net.plen <= peer->plen &&
            flow_net_has(&a->net, &peer->addr))
            return a;
        if (a->kind == HC_ALLOW_PORT && port >= 0 && a->port == port &&
            (a->proto == 0 || a->proto == proto))
            return a;
    }
    return NULL;
}

static char *hc_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* src safe for every writer into dst (a tab a space, other control bytes '?', a byte that
 * starts no UTF-8 sequence U+FFFD: utf8_clean_copy), without trailing blanks; -1 when it does
 * not fit whole. */
static int hc_clean_text(char *dst, size_t cap, const char *src)
{
    char *t = strdup(src);
    if (!t)
        return -1;
    for (char *p = t; *p; p++)
        if (*p == '\t')
            *p = ' ';
    int rc = utf8_clean_copy(dst, cap, t, strlen(t), '?');
    free(t);
    char *end = dst;
    for (char *p = dst; *p; p++)
        if (*p != ' ')
            end = p + 1;
    /* no trailing blanks: cut short to its field, a text could end in one, which reading the
     * printed configuration back would trim (and then print another text) */
    *end = '\0';
    return rc;
}

/* "host[@hunt]" = "VALUE REASON..." */

static int hc_allow_add(hunt_config_t *c, const char *key, const char *val, char *why,
                        size_t why_cap)
{
    hc_allow_t a;
    memset(&a, 0, sizeof a);
    char k[48];
    snprintf(k, sizeof k, "%s", key);
    char *at = strchr(k, '@');
    if (at) {
        *at = '\0';
        snprintf(a.hunt, sizeof a.hunt, "%s", at + 1);
        int known = 0;
        for (int i = 0; i < hunt_n_all; i++)
            known |= strcmp(a.hunt, hunt_all[i]->name) == 0;
        if (!known) {
            snprintf(why, why_cap, "unknown hunt '%s' (see flowhunt hunt --help)", a.hunt);
            return -1;
        }
    }
    size_t vlen = strcspn(val, " \t");
    char item[80];
    if (vlen == 0 || vlen >= sizeof item) {
        snprintf(why, why_cap, "'%s' needs a value", key);
        return -1;
    }
    memcpy(item, val, vlen);
    item[vlen] = '\0';
    const char *reason = val + vlen;
    while (*reason == ' ' || *reason == '\t')
        reason++;
    if (!*reason) {
        snprintf(why, why_cap, "allow entry '%s' needs a reason after the value", item);
        return -1;
    }
    /* Both reach terminals (the text report's evidence, the HTML page's title) and SIEM
     * fields: no control bytes, whoever wrote the file (acks.tsv's reasons are read alike).
     * Kept whole or refused: a cut reason printed (and fed back by --print-config) shorter. */
    char *text = hj_xmalloc(strlen(key) + strlen(val) + 4);
    sprintf(text, "%s = %s", key, val);
    int whole = hc_clean_text(a.reason, sizeof a.reason, reason) == 0 &&
                hc_clean_text(a.text, sizeof a.text, text) == 0;
    free(text);
    if (!whole) {
        snprintf(why, why_cap,
                 "allow entry '%s': longer than %zu characters (its reason at most %zu)", item,
                 sizeof a.text - 1, sizeof a.reason - 1);
        return -1;
    }
    if (strcmp(k, "host") == 0 || strcmp(k, "dst") == 0) {
        a.kind = k[0] == 'h' ? HC_ALLOW_HOST : HC_ALLOW_DST;
        if (flow_net_parse(&a.net, item) != 0) {
            snprintf(why, why_cap, "'%s' is not an address or CIDR network", item);
            return -1;
        }
    } else if (strcmp(k, "port") == 0) {
        a.kind = HC_ALLOW_PORT;
        const char *num = item;
        if (strncmp(item, "tcp/", 4) == 0) {
            a.proto = 6;
            num += 4;
        } else if (strncmp(item, "udp/", 4) == 0) {
            a.proto = 17;
            num += 4;
        }
        char *end;
        unsigned long p = strtoul(num, &end, 10);
        if (end == num || *end || p > 65535) {
            snprintf(why, why_cap, "'%s' is not a port ([tcp/|udp/]N)", item);
            return -1;
        }
        a.port = (uint16_t)p;
    } else {
        snprintf(why, why_cap, "unknown allow key '%s' (host, dst, port)", key);
        return -1;
    }
    c->allow = hj_xrealloc(c->allow, (size_t)(c->n_allow + 1) * sizeof *c->allow);
    c->allow[c->n_allow++] = a;
    return 0;
}

/* What a range cannot say: a fold threshold of 1 printed "blocks" of one finding each. */
static int hc_number_rule(const char *sec, const char *key, double v, char *why, size_t why_cap)
{
    if (strncmp(key, "fold_min_", 9) == 0 && v == 1) {
        snprintf(why, why_cap, "%s.%s: 1 would fold single findings: 0 (none) or 2 or more", sec,
                 key);
        return -1;
    }
    return 0;
}

static int hc_number(hunt_config_t *c, const char *sec, const char *key, const char *val, char *why,
                     size_t why_cap)
{
#define HC_WHOLE_whole 1
#define HC_WHOLE_real 0
#define HC_X_SET(s, k, field, def, lo, hi, kind, doc)                                              \
    if (strcmp(sec, #s) == 0 && strcmp(key, #k) == 0) {                                            \
        char *end;                                                                                 \
        errno = 0;                                                                                 \
        double v = strtod(val, &end);                                                              \
        if (errno || end == val || *hc_trim(end) || !(v >= (lo) && v <= (hi)) ||                   \
            (HC_WHOLE_##kind && v != floor(v))) {                                                  \
            /* %.15g: bounds print as written, not 1.04858e+06 for memory_mb's 1048576 */          \
            snprintf(why, why_cap, "%s.%s: '%s' is not a %s from %.15g to %.15g", sec, key, val,   \
                     HC_WHOLE_##kind ? "whole number" : "number", (double)(lo), (double)(hi));     \
            return -1;                                                                             \
        }                                                                                          \
        if (hc_number_rule(sec, key, v, why, why_cap) != 0)                                        \
            return -1;                                                                             \
        c->field = v;                                                                              \
        return 0;                                                                                  \
    }
    HC_NUMBERS(HC_X_SET)
#undef HC_X_SET
    snprintf(why, why_cap, "unknown key '%s' in [%s]", key, sec);
    return -1;
}

/* [miner] pools = FILE: one address or CIDR network a line, '#' comments. */
static int hc_load_pools(hunt_config_t *c, const char *path, char *why, size_t why_cap)
{
    if (strlen(path) >= sizeof c->m_pool_file) { /* kept for --print-config and the audit */
        snprintf(why, why_cap, "pools: longer than %zu characters", sizeof c->m_pool_file - 1);
        return -1;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(why, why_cap, "pools: %s: %s", path, strerror(errno));
        return -1;
    }
    free(c->m_pools);
    c->m_pools = NULL;
    c->n_m_pools = 0;
    char line[256];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        /* longer than any address or network; and a device such as /dev/zero, which has no
         * newline, would read as blank pieces for ever */
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, why_cap, "pools: %s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        line[strcspn(line, "#")] = '\0';
        char *t = hc_trim(lineno == 1 ? utf8_skip_bom(line) : line);
        flow_net_t n;
        if (!*t)
            continue;
        if (flow_net_parse(&n, t) != 0) {
            snprintf(why, why_cap, "pools: %s:%d: '%.80s' is not an address or network", path,
                     lineno, t);
            rc = -1;
            break;
        }
        c->m_pools = hj_xrealloc(c->m_pools, (size_t)(c->n_m_pools + 1) * sizeof *c->m_pools);
        c->m_pools[c->n_m_pools++] = n;
    }
    fclose(f);
    snprintf(c->m_pool_file, sizeof c->m_pool_file, "%s", path);
    return rc;
}

/* The non-numeric keys of [miner]; 1 when `key` is not one of them. */
static int hc_miner_line(hunt_config_t *c, const char *key, const char *val, char *why,
                         size_t why_cap)
{
    if (strcmp(key, "servers") == 0)
        return hc_set_nets(&c->m_servers, &c->n_m_servers, val, 0, why, why_cap);
    if (strcmp(key, "pools") == 0)
        return hc_load_pools(c, val, why, why_cap);
    uint8_t *bits = strcmp(key, "ports") == 0       ? c->m_ports
                    : strcmp(key, "p2p_ports") == 0 ? c->m_p2p_ports
                    : strcmp(key, "web_ports") == 0 ? c->m_web_ports
                                                    : NULL;
    if (!bits)
        return 1;
    if (hc_set_ports(bits, val) != 0) {
        snprintf(why, why_cap, "%s: '%s' is not a list of ports and ranges", key, val);
        return -1;
    }
    return 0;
}

/* One "key = value" line of section `sec`. */
static int hc_line(hunt_config_t *c, const char *sec, char *key, char *val, char *why,
                   size_t why_cap)
{
    if (strcmp(sec, "allow") == 0)
        return hc_allow_add(c, key, val, why, why_cap);
    if (strcmp(sec, "general") == 0 && strcmp(key, "internal") == 0)
        return hc_set_nets(&c->internal, &c->n_internal, val, 0, why, why_cap);
    if (strcmp(sec, "general") == 0 && strcmp(key, "resolvers") == 0)
        return hc_set_nets(&c->resolvers, &c->n_resolvers, val, 0, why, why_cap);
    if (strcmp(sec, "dns") == 0 && strcmp(key, "doh_servers") == 0)
        return hc_set_nets(&c->doh, &c->n_doh, val, 0, why, why_cap);
    if (strcmp(sec, "general") == 0 && strcmp(key, "vpn_peers") == 0)
        return hc_set_nets(&c->vpn_peers, &c->n_vpn_peers, val, 0, why, why_cap);
    if (strcmp(sec, "general") == 0 &&
        (strcmp(key, "filter") == 0 || strcmp(key, "filter_file") == 0)) {
        int is_file = strcmp(key, "filter_file") == 0;
        char *dst = is_file ? c->filter_file : c->filter;
        if (strlen(val) >= sizeof c->filter) {
            snprintf(why, why_cap, "%s: longer than %zu characters (a list goes in a file)", key,
                     sizeof c->filter - 1);
            return -1;
        }
        flt_t *f = NULL;
        flt_error_t fe;
        if (!is_file && flt_parse(val, &f, &fe) != 0) {
            snprintf(why, why_cap, "filter: %s at character %zu", fe.msg, fe.pos + 1);
            return -1;
        }
        flt_free(f);
        snprintf(dst, sizeof c->filter, "%s", val);
        return 0;
    }
    char *ctx = strcmp(sec, "general") != 0 ? NULL
                : strcmp(key, "geoip") == 0 ? c->ctx_geoip
                : strcmp(key, "asn") == 0   ? c->ctx_asn
                : strcmp(key, "users") == 0 ? c->ctx_users
                : strcmp(key, "intel") == 0 ? c->ctx_intel
                                            : NULL;
    if (ctx) {
        /* the files are opened and checked where the run opens them (an error names them) */
        if (strlen(val) >= sizeof c->ctx_geoip) {
            snprintf(why, why_cap, "%s: longer than %zu characters", key, sizeof c->ctx_geoip - 1);
            return -1;
        }
        snprintf(ctx, sizeof c->ctx_geoip, "%s", val);
        return 0;
    }
    if (strcmp(sec, "ports") == 0) {
        uint8_t *bits = strcmp(key, "standard_tcp") == 0   ? c->std_tcp
                        : strcmp(key, "standard_udp") == 0 ? c->std_udp
                        : strcmp(key, "lateral_tcp") == 0  ? c->lateral_tcp
                        : strcmp(key, "egress_tcp") == 0   ? c->egress_tcp
                        : strcmp(key, "egress_udp") == 0   ? c->egress_udp
                        : strcmp(key, "remote_admin") == 0 ? c->remote_admin
                        : strcmp(key, "benign") == 0       ? c->benign_svc
                                                           : NULL;
        if (!bits) {
            snprintf(why, why_cap, "unknown key '%s' in [ports]", key);
            return -1;
        }
        if (hc_set_ports(bits, val) != 0) {
            snprintf(why, why_cap, "%s: '%s' is not a list of ports and ranges", key, val);
            return -1;
        }
        return 0;
    }
    if (strcmp(sec, "miner") == 0) {
        int rc = hc_miner_line(c, key, val, why, why_cap);
        if (rc <= 0)
            return rc;
    }
    return hc_number(c, sec, key, val, why, why_cap);
}

static int hc_read(hunt_config_t *c, const char *path, const char *fixed_sec, char *err,
                   size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024], sec[32] = "";
    if (fixed_sec)
        snprintf(sec, sizeof sec, "%s", fixed_sec);
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, err_cap, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *s = hc_trim(lineno == 1 ? utf8_skip_bom(line) : line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        char why[200] = "";
        if (*s == '[') {
            char *close = strchr(s, ']');
            static const char *const known[] = {"general", "prep",  "beacon", "scan",   "dns",
                                                "ports",   "allow", "nonstd", "nonapp", "rare",
                                                "miner",   "intel", "long"};
            int ok = 0;
            if (close) {
                *close = '\0';
                /* an allow file may keep the header it was cut from (--print-config's) */
                for (size_t i = 0; i < sizeof known / sizeof *known; i++)
                    ok |= strcmp(s + 1, known[i]) == 0 &&
                          (!fixed_sec || strcmp(s + 1, fixed_sec) == 0);
            }
            if (!ok) {
                snprintf(err, err_cap, "%s:%d: unknown section '%s'", path, lineno, s);
                rc = -1;
                break;
            }
            snprintf(sec, sizeof sec, "%s", s + 1);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || !sec[0]) {
            snprintf(err, err_cap, "%s:%d: want 'key = value'%s", path, lineno,
                     sec[0] ? "" : " inside a [section]");
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = hc_trim(s), *val = hc_trim(eq + 1);
        if (hc_line(c, sec, key, val, why, sizeof why) != 0) {
            snprintf(err, err_cap, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static int hc_check(const hunt_config_t *c, const char *path, char *err, size_t err_cap)
{
    double w = c->b_w_ts + c->b_w_ds + c->b_w_dur + c->b_w_hist;
    if (w < 0.999 || w > 1.001) {
        snprintf(err, err_cap, "%s: [beacon] weights must sum to 1 (they sum to %g)", path, w);
        return -1;
    }
    if (!(c->b_base < c->b_low && c->b_low < c->b_medium)) {
        snprintf(err, err_cap, "%s: [beacon] want score_base < score_low < score_medium", path);
        return -1;
    }
    if (c->b_prev_rare >= c->b_prev_common) {
        snprintf(err, err_cap, "%s: [beacon] want prevalence_rare < prevalence_common", path);
        return -1;
    }
    /* the sequential test moves towards "scanner" on a dark target only when a scanner's
     * contacts fail more often than a benign host's */
    if (!(c->s_trw_theta1 < c->s_trw_theta0 && c->s_trw_alpha < c->s_trw_beta)) {
        snprintf(err, err_cap, "%s: [scan] want trw_theta1 < trw_theta0 and trw_alpha < trw_beta",
                 path);
        return -1;
    }
    if (!(c->l_min_s <= c->l_medium_s)) {
        snprintf(err, err_cap, "%s: [long] want min_s <= medium_s", path);
        return -1;
    }
    return 0;
}

int hc_load(hunt_config_t *c, const char *path, char *err, size_t err_cap)
{
    if (hc_read(c, path, NULL, err, err_cap) != 0 || hc_check(c, path, err, err_cap) != 0)
        return -1;
    snprintf(c->source, sizeof c->source, "%s", path);
    return 0;
}

int hc_load_allow(hunt_config_t *c, const char *path, char *err, size_t err_cap)
{
    /* the command line's list replaces the file's, as every command-line value does: added to
     * it, the file's entry matched first and an analyst could not replace a scheduled one */
    free(c->allow);
    c->allow = NULL;
    c->n_allow = 0;
    return hc_read(c, path, "allow", err, err_cap);
}

void hc_print_net_list(FILE *out, const flow_net_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        char a[FLOW_ADDR_STRLEN];
        flow_addr_format(&v[i].addr, a);
        int v4 = flow_addr_is_v4(&v[i].addr);
        int plen = v4 ? v[i].plen - 96 : v[i].plen;
        fprintf(out, "%s%s", i ? "," : "", a);
        if (plen != (v4 ? 32 : 128))
            fprintf(out, "/%d", plen);
    }
}

static void hc_print_nets(FILE *out, const char *key, const flow_net_t *v, int n)
{
    fprintf(out, "%s = ", key);
    hc_print_net_list(out, v, n);
    fputc('\n', out);
}

static void hc_print_ports(FILE *out, const char *key, const uint8_t *bits)
{
    fprintf(out, "%s = ", key);
    int first = 1;
    for (unsigned p = 0; p < 65536; p++) {
        if (!hc_bit(bits, p))
            continue;
        unsigned q = p;
        while (q + 1 < 65536 && hc_bit(bits, q + 1))
            q++;
        fprintf(out, first ? "%u" : ",%u", p);
        if (q > p)
            fprintf(out, "-%u", q);
        first = 0;
        p = q;
    }
    fputc('\n', out);
}

/* [general] filter and filter_file: set ones as keys, unset ones as comments. */
static void hc_print_filter(FILE *out, const hunt_config_t *c)
{
    fprintf(out, "# only the flows this selects are hunted, as flowhunt cat's FILTER (default: "
                 "every flow); FILTER or -f on the command line replace both\n");
    if (c->filter[0])
        fprintf(out, "filter = %s\n", c->filter);
    else
        fprintf(out, "# filter =\n");
    fprintf(out, "# the same from a file, as flowhunt cat -f (both set: both must hold)\n");
    if (c->filter_file[0])
        fprintf(out, "filter_file = %s\n", c->filter_file);
    else
        fprintf(out, "# filter_file =\n");
}

/* [general] geoip, asn, users, intel: set ones as keys, unset ones as comments. */
static void hc_print_context(FILE *out, const hunt_config_t *c)
{
    static const char *const keys[] = {"geoip", "asn", "users", "intel"};
    const char *const vals[] = {c->ctx_geoip, c->ctx_asn, c->ctx_users, c->ctx_intel};
    fprintf(out, "# context files, as --geoip, --asn, --users and --intel (intel: paths separated "
                 "by commas); an option on the command line replaces its key\n");
    for (int i = 0; i < 4; i++)
        fprintf(out, vals[i][0] ? "%s = %s\n" : "# %s =%s\n", keys[i], vals[i]);
}

/* The fewest significant digits that read back as v: printed with %g's six, 1234567 read back
 * as 1234570 and 0.1234567 as 0.123457, so a printed configuration hunted with other values
 * than the one it was printed from (and two close thresholds could become equal). */
static const char *hc_fmt_num(double v, char buf[32])
{
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

void hc_print(const hunt_config_t *c, FILE *out)
{
    char d_buf[32], v_buf[32];
    fprintf(out, "# flowhunt hunt configuration (from %s)\n", c->source);
    const char *sec = "";
#define HC_X_PRINT(s, k, field, def, lo, hi, kind, doc)                                            \
    if (strcmp(sec, #s) != 0) {                                                                    \
        sec = #s;                                                                                  \
        fprintf(out, "\n[%s]\n", sec);                                                             \
        if (strcmp(sec, "general") == 0) {                                                         \
            hc_print_nets(out, "internal", c->internal, c->n_internal);                            \
            hc_print_nets(out, "resolvers", c->resolvers, c->n_resolvers);                         \
            hc_print_nets(out, "vpn_peers", c->vpn_peers, c->n_vpn_peers);                         \
            hc_print_filter(out, c);                                                               \
            hc_print_context(out, c);                                                              \
        }                                                                                          \
        if (strcmp(sec, "dns") == 0) {                                                             \
            fprintf(out, "# public resolvers whose 443 is DNS over HTTPS (a list replaces "      \
                         "these)\n");                                                              \
            hc_print_nets(out, "doh_servers", c->doh, c->n_doh);                                   \
        }                                                                                          \
    }                                                                                              \
    fprintf(out, "# %s (default %s)\n%s = %s\n", doc, hc_fmt_num((double)(def), d_buf), #k,        \
            hc_fmt_num(c->field, v_buf));
    HC_NUMBERS(HC_X_PRINT)
#undef HC_X_PRINT
    fprintf(out, "\n[ports]\n");
    hc_print_ports(out, "standard_tcp", c->std_tcp);
    hc_print_ports(out, "standard_udp", c->std_udp);
    hc_print_ports(out, "lateral_tcp", c->lateral_tcp);
    hc_print_ports(out, "egress_tcp", c->egress_tcp);
    hc_print_ports(out, "egress_udp", c->egress_udp);
    hc_print_ports(out, "remote_admin", c->remote_admin);
    hc_print_ports(out, "benign", c->benign_svc);
    fprintf(out, "\n[miner]\n# pool ports; p2p node ports (judged on peers, not shape)\n");
    hc_print_ports(out, "ports", c->m_ports);
    hc_print_ports(out, "p2p_ports", c->m_p2p_ports);
    hc_print_ports(out, "web_ports", c->m_web_ports);
    hc_print_nets(out, "servers", c->m_servers, c->n_m_servers);
    /* a file of pool addresses: shown as a comment when unset, as the context files are */
    fprintf(out, c->m_pool_file[0] ? "pools = %s\n" : "# pools =%s\n", c->m_pool_file);
    fprintf(out, "\n[allow]\n");
    for (int i = 0; i < c->n_allow; i++)
        fprintf(out, "%s\n", c->allow[i].text);
}
