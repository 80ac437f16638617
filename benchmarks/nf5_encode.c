/* nf5_encode.c: the v5 writer (see nf5_encode.h). */
#include "nf5_encode.h"
#include "wire.h"

#include <string.h>

static uint8_t *nf5e_addr(uint8_t *p, const flow_rec_t *f, const flow_addr_t *a, uint64_t bit)
{
    uint32_t v = (f->present & bit) && flow_addr_is_v4(a) ? flow_addr_v4(a) : 0;
    return wire_be32(p, v);
}

size_t nf5_encode(uint8_t *out, size_t cap, const nf5_enc_hdr_t *h, const flow_rec_t *flows,
                  size_t n)
{
    size_t len = 24 + 48 * n;
    if (n == 0 || n > NF5_ENC_MAX_FLOWS || cap < len)
        return 0;
    uint32_t uptime = (uint32_t)(h->export_ms - h->boot_ms);
    uint8_t *p = out;
    p = wire_be16(p, 5);
    p = wire_be16(p, (uint16_t)n);
    p = wire_be32(p, uptime);
    p = wire_be32(p, (uint32_t)(h->export_ms / 1000));
    p = wire_be32(p, (uint32_t)(h->export_ms % 1000) * 1000000u);
    p = wire_be32(p, h->sequence);
    *p++ = h->engine_type;
    *p++ = h->engine_id;
    p = wire_be16(p, h->sampling);
    for (size_t i = 0; i < n; i++) {
        const flow_rec_t *f = &flows[i];
        p = nf5e_addr(p, f, &f->src_addr, FLOW_BIT(src_addr));
        p = nf5e_addr(p, f, &f->dst_addr, FLOW_BIT(dst_addr));
        p = nf5e_addr(p, f, &f->next_hop, FLOW_BIT(next_hop));
        p = wire_be16(p, (uint16_t)f->in_if);
        p = wire_be16(p, (uint16_t)f->out_if);
        p = wire_be32(p, (uint32_t)f->packets);
        p = wire_be32(p, (uint32_t)f->bytes);
        p = wire_be32(p, (uint32_t)(f->time_start - h->boot_ms));
        p = wire_be32(p, (uint32_t)(f->time_end - h->boot_ms));
        p = wire_be16(p, f->src_port);
        p = wire_be16(p, f->dst_port);
        *p++ = 0;
        *p++ = f->tcp_flags;
        *p++ = f->proto;
        *p++ = f->tos;
        p = wire_be16(p, (uint16_t)f->src_as);
        p = wire_be16(p, (uint16_t)f->dst_as);
        *p++ = f->src_mask;
        *p++ = f->dst_mask;
        p = wire_be16(p, 0);
    }
    return (size_t)(p - out);
}
