/* fg_gen.c: pushing records as a (sampling) router exports them, conversations cut by the
 * active timeout, and the bookkeeping of planted cases. */
#include "fg_gen.h"

#include <stdarg.h>
#include <string.h>

int fg_push(fg_gen_t *g, uint64_t start_ms, uint64_t end_ms, uint32_t src, uint16_t sport,
            uint32_t dst, uint16_t dport, uint8_t proto, uint8_t flags, uint64_t packets,
            uint64_t bytes, int v6)
{
    if (g->n >= g->cap)
        return 0;
    if (packets == 0)
        packets = 1;
    fg_case_t *c = g->cur;
    if (c) {
        if (c->n_records == 0 || start_ms < c->first_ms)
            c->first_ms = start_ms;
        if (end_ms > c->last_ms)
            c->last_ms = end_ms;
        c->n_records++;
    }
    if (g->sample > 1) {
        /* 1:N packet sampling: each packet kept with probability 1/N; the router reports the
         * kept packets and their bytes, and nothing at all for a flow with none kept. */
        uint64_t kept = fg_binomial(&g->r_sample, packets, g->sample);
        if (kept == 0)
            return 0;
        bytes = bytes * kept / packets;
        packets = kept;
    }
    if (c)
        c->n_exported++;
    fg_flow_t *f = &g->flows[g->n];
    f->end_ms = end_ms;
    f->dur_ms = (uint32_t)(end_ms - start_ms);
    f->src = src;
    f->dst = dst;
    f->sport = sport;
    f->dport = dport;
    f->proto = proto;
    f->flags = flags;
    f->v6 = v6 && !g->v4_only;
    f->packets = packets > UINT32_MAX ? UINT32_MAX : (uint32_t)packets; /* v5 counters: 32 bits */
    f->bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    f->seq = g->n;
    g->n++;
    return 1;
}

/* TCP flags of segment j of k: SYN in the first, FIN in the last, as an exporter ORs them. */
static uint8_t fg_tcp_flags(uint64_t j, uint64_t k)
{
    uint8_t f = FG_ACK | FG_PSH;
    if (j == 0)
        f |= FG_SYN;
    if (j + 1 == k)
        f |= FG_FIN;
    return f;
}

/* Share j of k of `total`, the shares summing to total exactly. */
static uint64_t fg_share(uint64_t total, uint64_t j, uint64_t k)
{
    return total * (j + 1) / k - total * j / k;
}

uint32_t fg_conv_emit(fg_gen_t *g, fg_conv_t *c)
{
    if (g->n >= g->cap || c->t_ms + 2 >= g->end_ms)
        return 0;
    /* Every record ends inside the span. */
    uint64_t room = g->end_ms - 1 - c->t_ms;
    if (c->dur_ms + c->rtt_ms > room)
        c->dur_ms = room > c->rtt_ms ? room - c->rtt_ms : 0;
    uint64_t k = c->dur_ms ? (c->dur_ms + FG_ACTIVE_TIMEOUT_MS - 1) / FG_ACTIVE_TIMEOUT_MS : 1;
    if (c->req_pkts < k)
        c->req_pkts = k;
    if (c->resp_pkts < k)
        c->resp_pkts = k;
    uint64_t end = c->t_ms + c->dur_ms;
    uint32_t made = 0;
    for (uint64_t j = 0; j < k && g->n < g->cap; j++) {
        uint64_t s = c->t_ms + j * FG_ACTIVE_TIMEOUT_MS;
        /* A record cut by the active timeout ends at its last packet before the cut. */
        uint64_t e = j + 1 == k ? end : s + FG_ACTIVE_TIMEOUT_MS - 1;
        int tcp = c->proto == FG_TCP;
        uint8_t flags = !tcp ? 0 : c->req_flags ? c->req_flags : fg_tcp_flags(j, k);
        fg_push(g, s, e, c->client, c->cport, c->server, c->sport, c->proto, flags,
                fg_share(c->req_pkts, j, k), fg_share(c->req_bytes, j, k), c->v6);
        made++;
        if (c->one_way || g->n >= g->cap)
            continue;
        uint64_t rs = j == 0 ? s + c->rtt_ms : s;
        uint64_t re = j + 1 == k ? end + c->rtt_ms : e;
        /* ICMP: the echo reply is type 0 code 0, and its source "port" is 0 too */
        uint16_t rsport = c->proto == FG_ICMP ? 0 : c->sport;
        uint16_t rdport = c->proto == FG_ICMP ? 0 : c->cport;
        flags = !tcp ? 0 : c->resp_flags ? c->resp_flags : fg_tcp_flags(j, k);
        fg_push(g, rs, re, c->server, rsport, c->client, rdport, c->proto, flags,
                fg_share(c->resp_pkts, j, k), fg_share(c->resp_bytes, j, k), c->v6);
        made++;
    }
    return made;
}

void fg_case_begin(fg_gen_t *g, fg_case_t *c, const char *scenario, const char *technique)
{
    memset(c, 0, sizeof *c);
    c->scenario = scenario;
    c->technique = technique;
    c->host_plen = c->peer_plen = 32;
    c->port = -1;
    g->cur = c;
}

void fg_case_end(fg_gen_t *g)
{
    g->cur = NULL;
}

void fg_case_param(fg_case_t *c, const char *fmt, ...)
{
    if (c->params_len + 2 >= sizeof c->params)
        return;
    if (c->params_len > 0)
        c->params[c->params_len++] = ',';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->params + c->params_len, sizeof c->params - c->params_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->params_len += (size_t)n;
    if (c->params_len >= sizeof c->params) /* truncated: keep it a string that ends */
        c->params_len = sizeof c->params - 1;
}

int fg_case_detectable(const fg_case_t *c)
{
    if (c->n_exported == 0)
        return 0;
    return c->n_exported >= FG_DETECTABLE_MIN || c->n_exported == c->n_records;
}

uint64_t fg_place(const fg_gen_t *g, fg_rng_t *r, uint64_t from, uint64_t to, uint64_t len_ms)
{
    if (from < g->start_ms)
        from = g->start_ms;
    if (to > g->end_ms)
        to = g->end_ms;
    if (to <= from + len_ms)
        return from;
    return fg_range(r, from, to - len_ms);
}
