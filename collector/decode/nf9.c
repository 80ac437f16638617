/* nf9.c: NetFlow v9 (RFC 3954), bytes in, flows out, templates into the cache.
 *
 * Header (5.1), 20 bytes: version 9, count, sysUptime (ms), unix_secs, sequence (counts export
 * packets), source ID. Then FlowSets until the datagram ends, each: FlowSet ID, length
 * (header included, padding included). The header's count is not trusted (exporters get it
 * wrong); parsing is bounded by lengths only. A FlowSet length below 4 or past the datagram
 * ends the datagram (counted), which also rules out a zero-length loop.
 *   ID 0  templates (5.2): template ID, field count, then (type, length) pairs
 *   ID 1  options templates (6.1): template ID, scope length and option length in BYTES,
 *         then the scope (type, length) pairs and the option pairs
 *   2-255 reserved: skipped, counted
 *   >=256 data (5.3): records of the template with that ID, then padding
 */
#include "nf9.h"

#include "cursor.h"

/* The exporter restarted (section 7): DEC_RESTART_MS. Its templates go. */
#define NF9_RESTART_SEQ_WINDOW (1u << 20)

static void nf9_templates(tpl_scope_t *s, cur_t set, dec_out_t *out)
{
    tpl_field_t fields[TPL_MAX_FIELDS];
    while (set.rem >= 4) {
        uint16_t id = cur_be16(&set);
        uint16_t n = cur_be16(&set);
        if (id == 0 && n == 0)
            return; /* zero padding to the FlowSet's end */
        if ((size_t)n * 4 > set.rem) {
            out->counts->n[DEC_E_TPL_TRUNCATED]++;
            return;
        }
        if (n > TPL_MAX_FIELDS) {
            out->counts->n[DEC_E_TPL_TOO_MANY_FIELDS]++;
            cur_skip(&set, (size_t)n * 4);
            continue;
        }
        for (uint16_t i = 0; i < n; i++) {
            fields[i].id = cur_be16(&set);
            fields[i].len = cur_be16(&set);
            fields[i].pen = 0;
        }
        if (id < 256) {
            out->counts->n[DEC_E_TPL_BAD_ID]++;
            continue;
        }
        if (n == 0) {
            out->counts->n[DEC_E_TPL_EMPTY]++;
            continue;
        }
        if (tpl_define(s, 9, id, 0, fields, n, 0, out->counts))
            tpl_release_held(s, id, out);
    }
}

static void nf9_options_templates(tpl_scope_t *s, cur_t set, dec_out_t *out)
{
    tpl_field_t fields[TPL_MAX_FIELDS];
    while (set.rem >= 6) {
        uint16_t id = cur_be16(&set);
        uint16_t scope_len = cur_be16(&set);
        uint16_t opt_len = cur_be16(&set);
        size_t total = (size_t)scope_len + opt_len;
        if (total > set.rem) {
            out->counts->n[DEC_E_TPL_TRUNCATED]++;
            return;
        }
        if (scope_len % 4 || opt_len % 4 || total / 4 > TPL_MAX_FIELDS) {
            out->counts
                ->n[total / 4 > TPL_MAX_FIELDS ? DEC_E_TPL_TOO_MANY_FIELDS : DEC_E_TPL_BAD_SCOPE]++;
            cur_skip(&set, total);
            continue;
        }
        uint16_t n = (uint16_t)(total / 4), n_scope = scope_len / 4;
        for (uint16_t i = 0; i < n; i++) {
            fields[i].id = cur_be16(&set);
            fields[i].len = cur_be16(&set);
            /* scope field types are their own namespace (1 System, 2 Interface, ...) */
            fields[i].pen = i < n_scope ? TPL_PEN_V9_SCOPE : 0;
        }
        if (id < 256) {
            out->counts->n[DEC_E_TPL_BAD_ID]++;
            continue;
        }
        if (tpl_define(s, 9, id, 1, fields, n, n_scope, out->counts))
            tpl_release_held(s, id, out);
        /* What follows in the set is padding when fewer than 6 bytes remain. */
    }
}

int nf9_decode(const uint8_t *buf, size_t len, const flow_addr_t *exporter, tpl_cache_t *cache,
               uint64_t now_ms, dec_out_t *out)
{
    cur_t c = cur_make(buf, len), h;
    out->n_flows = 0;
    if (cur_carve(&c, NF9_HDR_LEN, &h) != 0)
        return dec_fail(out, DEC_E_SHORT_HEADER);
    if (cur_be16(&h) != 9)
        return dec_fail(out, DEC_E_VERSION);
    cur_be16(&h); /* count: not trusted */
    tpl_ctx_t ctx = {.version = 9};
    ctx.uptime_ms = cur_be32(&h);
    ctx.export_ms = (uint64_t)cur_be32(&h) * 1000;
    uint32_t sequence = cur_be32(&h);
    uint32_t source_id = cur_be32(&h);

    tpl_scope_t *s = tpl_scope_get(cache, exporter, 9, source_id);
    if (!s)
        return dec_fail(out, DEC_E_SCOPE_LIMIT);
    int64_t boot_ms = (int64_t)ctx.export_ms - ctx.uptime_ms;
    uint32_t seq_step = sequence - s->last_seq;
    if (s->have_boot && boot_ms > s->boot_ms + DEC_RESTART_MS &&
        (seq_step == 0 || seq_step > NF9_RESTART_SEQ_WINDOW)) {
        s->stats.restarts++;
        tpl_clear(s);
    }
    if (!s->have_boot || boot_ms > s->boot_ms)
        s->boot_ms = boot_ms;
    s->have_boot = 1;
    s->last_seq = sequence;
    tpl_advance_clock(s, now_ms ? now_ms : ctx.export_ms);

    out->hdr.version = 9;
    out->hdr.obs_domain = source_id;
    out->hdr.sequence = sequence;
    out->hdr.seq_units = 1; /* v9 sequence numbers count export packets */
    out->hdr.seq_exact = 1;
    out->hdr.export_ms = ctx.export_ms;
    out->hdr.boot_ms = boot_ms;
    out->hdr.have_boot = 1;

    while (c.rem >= 4) {
        cur_t peek = c, set;
        uint16_t id = cur_be16(&peek);
        uint16_t set_len = cur_be16(&peek);
        if (set_len < 4 || set_len > c.rem) {
            out->counts->n[DEC_E_SET_LENGTH]++;
            break;
        }
        cur_carve(&c, set_len, &set);
        cur_skip(&set, 4);
        if (id == 0)
            nf9_templates(s, set, out);
        else if (id == 1)
            nf9_options_templates(s, set, out);
        else if (id < 256)
            out->counts->n[DEC_E_SET_RESERVED]++;
        else
            tpl_data_set(s, id, set.p, set.rem, &ctx, out);
    }
    return (int)out->n_flows;
}
