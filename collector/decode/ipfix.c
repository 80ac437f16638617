/* ipfix.c: IPFIX messages (RFC 7011), bytes in, flows out, templates into the cache.
 *
 * Header (3.1), 16 bytes: version 10, length of the whole message, export time (s), sequence
 * number (data records sent before this message, options records included, mod 2^32),
 * observation domain ID. Then sets until `length`, each: set ID, set length (header and
 * padding included). A set length below 4 or past the message ends the message (counted).
 *   ID 2  template set (3.4.1): template ID, field count, field specifiers; field count 0 is
 *         a withdrawal (8.1), and template ID 2 with count 0 withdraws all templates
 *   ID 3  options template set (3.4.2): template ID, field count, scope field count (>= 1),
 *         specifiers, scope first; field count 0 withdraws (template ID 3: all of them)
 *   0, 1, 4-255 reserved: skipped, counted
 *   >=256 data set of the template with that ID
 * A field specifier (3.2) is an element ID and a length; with the enterprise bit set the ID is
 * 15 bits and a 4-byte Private Enterprise Number follows. Length 65535 means variable (7).
 */
#include "ipfix.h"

#include "cursor.h"

/* Reads field specifiers; -1 when they run past the set. */
static int ipfix_fields(cur_t *set, tpl_field_t *fields, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        if (!cur_has(set, 4))
            return -1;
        uint16_t raw = cur_be16(set);
        fields[i].len = cur_be16(set);
        fields[i].id = raw & 0x7fff;
        fields[i].pen = 0;
        if (raw & 0x8000) {
            if (!cur_has(set, 4))
                return -1;
            fields[i].pen = cur_be32(set);
        }
    }
    return 0;
}

static void ipfix_templates(tpl_scope_t *s, cur_t set, int is_options, dec_out_t *out)
{
    tpl_field_t fields[TPL_MAX_FIELDS];
    /* Padding (3.3.1) is shorter than a template record's 4-byte header. */
    while (set.rem >= 4) {
        uint16_t id = cur_be16(&set);
        uint16_t n = cur_be16(&set);
        if (n == 0) {
            /* Withdrawal; the set's own ID as template ID withdraws every template of the
             * kind (8.1). Zero bytes here can also be padding: nothing to withdraw then. */
            if (id == (is_options ? 3 : 2)) {
                tpl_withdraw(s, id, 1, is_options);
            } else if (id >= 256) {
                /* unknown, it may still have data held for it, to be dropped */
                if (!tpl_get(s, id))
                    out->counts->n[DEC_E_WITHDRAW_UNKNOWN]++;
                tpl_withdraw(s, id, 0, is_options);
            } else if (id != 0)
                out->counts->n[DEC_E_TPL_BAD_ID]++;
            continue;
        }
        uint16_t n_scope = 0;
        if (is_options) {
            if (!cur_has(&set, 2)) {
                out->counts->n[DEC_E_TPL_TRUNCATED]++;
                return;
            }
            n_scope = cur_be16(&set);
        }
        if (n > TPL_MAX_FIELDS) {
            /* Too many to keep; its length is unknown without reading it, so the rest of
             * the set is lost with it. */
            out->counts->n[DEC_E_TPL_TOO_MANY_FIELDS]++;
            return;
        }
        if (ipfix_fields(&set, fields, n) != 0) {
            out->counts->n[DEC_E_TPL_TRUNCATED]++;
            return;
        }
        if (id < 256) {
            out->counts->n[DEC_E_TPL_BAD_ID]++;
            continue;
        }
        if (tpl_define(s, 10, id, is_options, fields, n, n_scope, out->counts))
            tpl_release_held(s, id, out);
    }
}

int ipfix_decode(const uint8_t *buf, size_t len, const flow_addr_t *exporter, tpl_cache_t *cache,
                 uint64_t now_ms, dec_out_t *out)
{
    cur_t c = cur_make(buf, len), h;
    out->n_flows = 0;
    if (cur_carve(&c, IPFIX_HDR_LEN, &h) != 0)
        return dec_fail(out, DEC_E_SHORT_HEADER);
    if (cur_be16(&h) != 10)
        return dec_fail(out, DEC_E_VERSION);
    uint16_t msg_len = cur_be16(&h);
    if (msg_len < IPFIX_HDR_LEN || msg_len > len)
        return dec_fail(out, DEC_E_MSG_LENGTH);
    if (msg_len < len) {
        /* Bytes after the message: counted, and only the message is read. */
        out->counts->n[DEC_E_MSG_LENGTH]++;
        c.rem = msg_len - IPFIX_HDR_LEN;
    }
    tpl_ctx_t ctx = {.version = 10};
    ctx.export_ms = (uint64_t)cur_be32(&h) * 1000;
    uint32_t sequence = cur_be32(&h);
    uint32_t domain = cur_be32(&h);

    tpl_scope_t *s = tpl_scope_get(cache, exporter, 10, domain);
    if (!s)
        return dec_fail(out, DEC_E_SCOPE_LIMIT);
    tpl_advance_clock(s, now_ms ? now_ms : ctx.export_ms);

    out->hdr.version = 10;
    out->hdr.obs_domain = domain;
    out->hdr.sequence = sequence;
    out->hdr.export_ms = ctx.export_ms;
    out->hdr.seq_exact = 1;
    uint32_t records = 0, heard = s->sysinit_heard;

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
        if (id == 2 || id == 3) {
            ipfix_templates(s, set, id == 3, out);
        } else if (id < 256) {
            out->counts->n[DEC_E_SET_RESERVED]++;
        } else {
            uint64_t opts = s->stats.options_records;
            int n = tpl_data_set(s, id, set.p, set.rem, &ctx, out);
            if (n < 0)
                out->hdr.seq_exact = 0; /* held: its record count is not known yet */
            else
                records += (uint32_t)n;
            out->hdr.seq_opts += (uint32_t)(s->stats.options_records - opts);
        }
    }
    /* Held sets released by a template in this message were counted in their own message. */
    out->hdr.seq_units = records;
    /* A message that announces the system init time (IE 160) carries a boot time as v5 and
     * v9 headers do, so a restart whose sequence starts again a little behind the old one is
     * a restart (exp_seq_update), not a run of late messages that hides the loss after it;
     * softflowd announces it in its first message */
    if (s->sysinit_heard != heard && s->sysinit_ms) {
        out->hdr.have_boot = out->hdr.boot_announced = 1;
        out->hdr.boot_ms = (int64_t)s->sysinit_ms;
    }
    return (int)out->n_flows;
}
