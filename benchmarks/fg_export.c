/* fg_export.c: flowgen's routers. See fg_export.h. */
#include "fg_export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(FG_BATCH_MAX >= NF5_ENC_MAX_FLOWS, "a batch holds a full v5 datagram");

int fg_export_init(fg_export_t *x, fg_format_t fmt, uint32_t n_edge, double dup, uint32_t sample,
                   uint32_t mtu, uint64_t start_ms, uint64_t seed, const fg_org_t *org)
{
    memset(x, 0, sizeof *x);
    x->n_edge = n_edge;
    x->n_ex = n_edge + (dup > 0 ? 1 : 0);
    x->fmt = fmt;
    x->mtu = mtu ? mtu : FG_MTU;
    x->batch_max = fmt == FG_FMT_V5 ? NF5_ENC_MAX_FLOWS : FG_BATCH_MAX;
    x->sampling_field = sample > 1 ? (uint16_t)(1u << 14 | sample) : 0;
    x->sample = sample;
    x->dup = dup;
    x->org = org;
    fg_rng_seed(&x->r, seed, 4);
    fg_rng_seed(&x->r_dup, seed, 5);
    flow_addr_from_v4(&x->collector, FG_V4(192, 0, 2, 254));
    x->ex = calloc(x->n_ex, sizeof *x->ex);
    if (!x->ex)
        return -1;
    for (uint32_t i = 0; i < x->n_ex; i++) {
        fg_exporter_t *e = &x->ex[i];
        flow_addr_from_v4(&e->addr, FG_V4(192, 0, 2, i + 1));
        e->port = (uint16_t)(50000 + i);
        /* Up 1 hour to 40 days before the span: some exporters' uptime wraps within it. */
        uint64_t up = fg_range(&x->r, 3600000u, 40ull * 86400000u);
        e->boot_ms = start_ms - (up < start_ms ? up : start_ms);
        nf9e_cfg_t c9 = {.source_id = i, .boot_ms = e->boot_ms, .sampling = sample, .mtu = x->mtu};
        ipfixe_cfg_t cx = {.domain = i, .sampling = sample, .mtu = x->mtu};
        if (nf9e_init(&e->nf9, &c9) != 0 || ipfixe_init(&e->ipfix, &cx) != 0)
            return -1;
    }
    return 0;
}

void fg_export_free(fg_export_t *x)
{
    free(x->ex);
    x->ex = NULL;
}

/* Router-side view of an address: the interface it routes through. */
static uint16_t fg_ifindex(uint32_t a)
{
    return fg_is_internal(a) ? (uint16_t)(10 + ((a >> 8) & 0xff) % 8) : 1;
}

static void fg_to_rec(const fg_export_t *x, const fg_flow_t *f, flow_rec_t *rec)
{
    flow_addr_t a;
    flow_rec_clear(rec);
    FLOW_SET(rec, time_start, f->end_ms - f->dur_ms);
    FLOW_SET(rec, time_end, f->end_ms);
    fg_org_addr(x->org, f->src, f->v6, &a);
    FLOW_SET(rec, src_addr, a);
    fg_org_addr(x->org, f->dst, f->v6, &a);
    FLOW_SET(rec, dst_addr, a);
    if (f->v6) { /* the upstream router's link-local address (RFC 4291 section 2.5.6) */
        static const uint8_t gw6[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const uint8_t none6[16] = {0};
        flow_addr_from_v6_bytes(&a, fg_is_internal(f->dst) ? none6 : gw6);
    } else {
        flow_addr_from_v4(&a, fg_is_internal(f->dst) ? 0 : FG_UPSTREAM_GW);
    }
    FLOW_SET(rec, next_hop, a);
    FLOW_SET(rec, src_port, f->sport);
    FLOW_SET(rec, dst_port, f->dport);
    FLOW_SET(rec, proto, f->proto);
    FLOW_SET(rec, tcp_flags, f->flags);
    FLOW_SET(rec, packets, f->packets);
    FLOW_SET(rec, bytes, f->bytes);
    FLOW_SET(rec, in_if, fg_ifindex(f->src));
    FLOW_SET(rec, out_if, fg_ifindex(f->dst));
    uint8_t plen = f->v6 ? 64 : 24;
    FLOW_SET(rec, src_mask, fg_is_internal(f->src) ? plen : 0);
    FLOW_SET(rec, dst_mask, fg_is_internal(f->dst) ? plen : 0);
    FLOW_SET(rec, tos, 0);
    FLOW_SET(rec, src_as, 0);
    FLOW_SET(rec, dst_as, 0);
    FLOW_SET(rec, sampling, x->sample);
}

/* How many of the first n flows of an exporter's batch one datagram holds. */
static size_t fg_fit(const fg_export_t *x, const fg_exporter_t *e, size_t n)
{
    switch (x->fmt) {
    case FG_FMT_V9:
        return nf9e_fit(&e->nf9, e->batch, n);
    case FG_FMT_IPFIX:
        return ipfixe_fit(&e->ipfix, e->batch, n);
    default:
        return n < NF5_ENC_MAX_FLOWS ? n : NF5_ENC_MAX_FLOWS;
    }
}

static int fg_flush(fg_export_t *x, uint32_t i)
{
    fg_exporter_t *e = &x->ex[i];
    if (e->n == 0)
        return 0;
    uint64_t export_ms = e->batch[e->n - 1].time_end + fg_range(&x->r, 5, 150);
    /* v9 headers carry the export time in whole seconds beside a millisecond sysUptime, so a
     * decoder places flows to the millisecond only when the export falls on a second; these
     * exporters run their export timer on whole seconds, so decoded times match the truth. */
    if (x->fmt == FG_FMT_V9)
        export_ms = (export_ms + 999) / 1000 * 1000;
    /* One clock for all exporters, so the capture's timestamps never go backwards. */
    if (export_ms < x->last_export_ms)
        export_ms = x->last_export_ms;
    x->last_export_ms = export_ms;
    uint64_t ts_ns = export_ms * 1000000u + fg_range(&x->r, 0, 999999);
    if (ts_ns <= x->last_ts_ns)
        ts_ns = x->last_ts_ns + 1000;
    x->last_ts_ns = ts_ns;

    uint8_t buf[NF5_ENC_MAX_LEN > FG_MTU_MAX ? NF5_ENC_MAX_LEN : FG_MTU_MAX];
    size_t len = 0, done = 0;
    if (x->fmt == FG_FMT_V9) {
        len = nf9e_encode(&e->nf9, buf, sizeof buf, export_ms, e->batch, e->n, &done);
    } else if (x->fmt == FG_FMT_IPFIX) {
        len = ipfixe_encode(&e->ipfix, buf, sizeof buf, export_ms, e->batch, e->n, &done);
    } else {
        nf5_enc_hdr_t h = {.export_ms = export_ms,
                           .boot_ms = e->boot_ms,
                           .sequence = e->sequence,
                           .engine_type = 0,
                           .engine_id = (uint8_t)i,
                           .sampling = x->sampling_field};
        len = nf5_encode(buf, sizeof buf, &h, e->batch, e->n);
        done = e->n;
    }
    /* fg_export_run never lets a batch grow past one datagram, so all of it must have gone. */
    if (len == 0 || done != e->n) {
        errno = EINVAL;
        return -1;
    }
    int rc = x->send ? fg_send_put(x->send, i, buf, len, e->n)
                     : pcapw_udp(x->w, ts_ns, &e->addr, e->port, &x->collector, FG_COLLECTOR_PORT,
                                 buf, len);
    if (rc != 0)
        return -1;
    e->sequence += e->n;
    x->n_flows += e->n;
    e->n = 0;
    e->dgrams++;
    x->n_dgrams++;
    return 0;
}

uint32_t fg_export_active(const fg_export_t *x)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < x->n_ex; i++)
        n += x->ex[i].dgrams > 0;
    return n;
}

/* Sends every batch whose oldest flow has waited long enough by `now_ms`, oldest first. */
static int fg_flush_stale(fg_export_t *x, uint64_t now_ms, uint64_t *next_deadline)
{
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (uint32_t i = 0; i < x->n_ex; i++)
            if (x->ex[i].n &&
                (best == UINT32_MAX || x->ex[i].first_end_ms < x->ex[best].first_end_ms))
                best = i;
        if (best == UINT32_MAX) {
            *next_deadline = UINT64_MAX;
            return 0;
        }
        uint64_t deadline = x->ex[best].first_end_ms + FG_BATCH_WAIT_MS;
        if (deadline >= now_ms) {
            *next_deadline = deadline;
            return 0;
        }
        if (fg_flush(x, best) != 0)
            return -1;
    }
}

static int fg_cmp_end(const void *pa, const void *pb)
{
    const fg_flow_t *a = pa, *b = pb;
    if (a->end_ms != b->end_ms)
        return a->end_ms < b->end_ms ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The exporter that sees a flow first: the router of its internal side's /24. */
static uint32_t fg_exporter_of(const fg_flow_t *f, uint32_t n_edge)
{
    uint32_t a = fg_is_internal(f->src) ? f->src : f->dst;
    return ((a >> 8) & 0xff) % n_edge;
}

/* Adds the flow to exporter i's batch, sending first what it would not fit beside. */
static int fg_export_add(fg_export_t *x, uint32_t i, const fg_flow_t *f, uint64_t *next_deadline)
{
    fg_exporter_t *e = &x->ex[i];
    fg_to_rec(x, f, &e->batch[e->n]);
    /* v9 and IPFIX fill datagrams by bytes: when this flow does not fit beside those
     * waiting, they go out first and it starts the next datagram. */
    if (e->n > 0 && fg_fit(x, e, e->n + 1) <= e->n) {
        flow_rec_t rec = e->batch[e->n];
        if (fg_flush(x, i) != 0)
            return -1;
        e->batch[0] = rec;
    }
    if (e->n == 0) {
        e->first_end_ms = f->end_ms;
        if (e->first_end_ms + FG_BATCH_WAIT_MS < *next_deadline)
            *next_deadline = e->first_end_ms + FG_BATCH_WAIT_MS;
    }
    e->n++;
    if (e->n == x->batch_max && fg_flush(x, i) != 0)
        return -1;
    return 0;
}

int fg_export_run(fg_export_t *x, fg_gen_t *g)
{
    if (g->n > 1)
        qsort(g->flows, g->n, sizeof *g->flows, fg_cmp_end);
    uint64_t next_deadline = UINT64_MAX;
    for (uint32_t k = 0; k < g->n; k++) {
        const fg_flow_t *f = &g->flows[k];
        if (f->end_ms > next_deadline && fg_flush_stale(x, f->end_ms, &next_deadline) != 0)
            return -1;
        if (fg_export_add(x, fg_exporter_of(f, x->n_edge), f, &next_deadline) != 0)
            return -1;
        /* the core router on the path exports the same flow again */
        if (x->dup > 0 && fg_unit(&x->r_dup) < x->dup) {
            if (fg_export_add(x, x->n_edge, f, &next_deadline) != 0)
                return -1;
            x->n_dups++;
        }
    }
    return fg_flush_stale(x, UINT64_MAX, &next_deadline);
}
