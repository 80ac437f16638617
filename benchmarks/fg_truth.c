/* fg_truth.c: the ground truth (JSON lines, one object per planted case) and the threat-intel
 * feed flowgen writes beside a capture.
 *
 * Truth keys, in this order: scenario, technique ("" for benign look-alikes), host (internal
 * address, or a prefix when the case is many hosts), peer (address or prefix), port (number or
 * null: many ports, ICMP, GRE), proto ("tcp", "udp", "icmp", "gre" or the number), start and
 * end (ISO 8601 UTC, whole seconds, outward: every record of the case lies inside), params (an
 * object: the drawn parameters, records generated, records_exported after sampling, first_ms
 * and last_ms), detectable (false when sampling took records away and fewer than 20 are left). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fg_cases.h"

/* H. Hinnant's civil_from_days: no time zone or libc state involved. */
void fg_iso8601(uint64_t ms, int round_up, char out[32])
{
    uint64_t s = ms / 1000 + (round_up && ms % 1000 ? 1 : 0);
    int64_t z = (int64_t)(s / 86400) + 719468;
    uint64_t sod = s % 86400;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, 32, "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)y % 10000, m % 13, d % 32,
             (unsigned)(sod / 3600 % 24), (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
}

static void fg_where(const fg_org_t *o, uint32_t a, uint8_t plen, int v6, char *out, size_t cap)
{
    char text[FLOW_ADDR_STRLEN];
    flow_addr_t x;
    fg_org_addr(o, a, v6, &x);
    flow_addr_format(&x, text);
    if (plen == (v6 ? 128 : 32))
        snprintf(out, cap, "%s", text);
    else
        snprintf(out, cap, "%s/%u", text, plen);
}

static void fg_proto_json(uint8_t proto, char *out, size_t cap)
{
    const char *name = proto == FG_TCP    ? "tcp"
                       : proto == FG_UDP  ? "udp"
                       : proto == FG_ICMP ? "icmp"
                       : proto == FG_GRE  ? "gre"
                                          : NULL;
    if (name)
        snprintf(out, cap, "\"%s\"", name);
    else
        snprintf(out, cap, "%u", proto);
}

static int fg_close(FILE *f)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        if (!errno)
            errno = EIO;
        return -1;
    }
    return 0;
}

int fg_truth_save(const char *path, const fg_org_t *o, const fg_cases_t *cs, uint32_t sample)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (uint32_t i = 0; i < cs->n; i++) {
        const fg_case_t *c = &cs->v[i];
        char host[64], peer[64], proto[16], port[16], start[32], end[32];
        fg_where(o, c->host, c->host_plen, c->v6, host, sizeof host);
        fg_where(o, c->peer, c->peer_plen, c->v6, peer, sizeof peer);
        fg_proto_json(c->proto, proto, sizeof proto);
        if (c->port < 0)
            snprintf(port, sizeof port, "null");
        else
            snprintf(port, sizeof port, "%d", c->port);
        fg_iso8601(c->first_ms, 0, start);
        fg_iso8601(c->last_ms, 1, end);
        fprintf(f,
                "{\"scenario\":\"%s\",\"technique\":\"%s\",\"host\":\"%s\",\"peer\":\"%s\","
                "\"port\":%s,\"proto\":%s,\"start\":\"%s\",\"end\":\"%s\",\"params\":{%s%s"
                "\"records\":%" PRIu64 ",\"records_exported\":%" PRIu64 ",\"sampling\":%u,"
                "\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64 "},\"detectable\":%s}\n",
                c->scenario, c->technique, host, peer, port, proto, start, end, c->params,
                c->params_len ? "," : "", c->n_records, c->n_exported, sample, c->first_ms,
                c->last_ms, fg_case_detectable(c) ? "true" : "false");
    }
    return fg_close(f);
}

int fg_intel_save(const char *path, const fg_org_t *o, const fg_cases_t *cs)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* the description after the address, where a plain feed reader takes it (a comment line
     * above is lost: the intel findings showed an empty description) */
    fprintf(f,
            "# flowgen threat-intel feed: one indicator per line, the address then what it is\n");
    char text[FLOW_ADDR_STRLEN];
    flow_addr_t a;
    uint32_t k = 0;
    for (uint32_t i = 0; i < cs->n; i++) {
        const fg_case_t *c = &cs->v[i];
        if (strcmp(c->scenario, "ioc") != 0)
            continue;
        fg_org_addr(o, c->peer, c->v6, &a);
        flow_addr_format(&a, text);
        fprintf(f, "%s flowgen-ioc-%u: command-and-control server (%s)\n", text, ++k, c->technique);
    }
    for (uint32_t i = 0; i < cs->n_decoys; i++) {
        fg_org_addr(o, cs->decoys[i], 0, &a);
        flow_addr_format(&a, text);
        fprintf(f, "%s flowgen-indicator-%u: phishing infrastructure\n", text, i + 1);
    }
    return fg_close(f);
}
