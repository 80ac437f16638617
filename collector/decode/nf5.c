/* nf5.c: NetFlow v5, bytes in, flows out.
 *
 * Layout (Cisco NetFlow Export Datagram Format, version 5):
 *   header, 24 bytes: version, count, sysUptime (ms), unix_secs, unix_nsecs, flow_sequence,
 *                     engine_type, engine_id, sampling_interval (2 bits mode, 14 bits interval)
 *   count records, 48 bytes each: srcaddr, dstaddr, nexthop, input, output (16-bit ifIndex),
 *                     dPkts, dOctets, First, Last (sysUptime ms), srcport, dstport, pad1,
 *                     tcp_flags, prot, tos, src_as, dst_as (16-bit), src_mask, dst_mask, pad2
 *
 * The datagram is dropped whole unless its length is exactly 24 + 48 * count: a v5 exporter
 * never pads, so any other length means the count or the datagram is damaged and no record
 * in it can be trusted. Counts above Cisco's 30 are accepted when the length agrees (jumbo
 * frames carry them). flow_sequence counts flows, so the datagram advances it by `count`.
 */
#include "nf5.h"

#include "cursor.h"

/* First and Last are sysUptime milliseconds. The signed 32-bit difference from the header's
 * sysUptime is right across the 49.7-day wrap and for a First slightly after the export
 * (clock skew), as long as flows are shorter than 24.8 days. */
static uint64_t nf5_abs_ms(uint64_t export_ms, uint32_t uptime, uint32_t t)
{
    int64_t ms = (int64_t)export_ms - (int32_t)(uptime - t);
    return ms < 0 ? 0 : (uint64_t)ms;
}

int nf5_decode(const uint8_t *buf, size_t len, const flow_addr_t *exporter, dec_out_t *out)
{
    cur_t c = cur_make(buf, len), h;
    out->n_flows = 0;
    if (cur_carve(&c, NF5_HDR_LEN, &h) != 0)
        return dec_fail(out, DEC_E_SHORT_HEADER);
    uint16_t version = cur_be16(&h);
    uint16_t count = cur_be16(&h);
    if (version != 5)
        return dec_fail(out, DEC_E_VERSION);
    if (count == 0)
        return dec_fail(out, DEC_E_V5_ZERO_COUNT);
    if (len != NF5_HDR_LEN + (size_t)count * NF5_REC_LEN)
        return dec_fail(out, DEC_E_V5_LENGTH);

    uint32_t uptime = cur_be32(&h);
    uint32_t secs = cur_be32(&h);
    uint32_t nsecs = cur_be32(&h);
    uint32_t sequence = cur_be32(&h);
    uint8_t engine_type = cur_u8(&h);
    uint8_t engine_id = cur_u8(&h);
    uint16_t sampling = cur_be16(&h);
    /* The top two bits are the mode (0 none, 1 deterministic, 2 random); some exporters set
     * the interval with mode 0, so the interval alone decides. 0 means unsampled. */
    uint32_t interval = sampling & 0x3fff;
    if (interval == 0)
        interval = 1;

    out->hdr.version = 5;
    out->hdr.obs_domain = (uint32_t)engine_type << 8 | engine_id;
    out->hdr.sequence = sequence;
    out->hdr.seq_units = count;
    out->hdr.seq_exact = 1;
    out->hdr.export_ms = (uint64_t)secs * 1000 + nsecs / 1000000;

    for (uint16_t i = 0; i < count; i++) {
        cur_t r;
        uint8_t a[4];
        flow_addr_t addr;
        flow_rec_t f;
        if (cur_carve(&c, NF5_REC_LEN, &r) != 0)
            break; /* unreachable: the length check above covers every record */
        flow_rec_clear(&f);
        cur_bytes(&r, a, 4);
        flow_addr_from_v4_bytes(&addr, a);
        FLOW_SET(&f, src_addr, addr);
        cur_bytes(&r, a, 4);
        flow_addr_from_v4_bytes(&addr, a);
        FLOW_SET(&f, dst_addr, addr);
        cur_bytes(&r, a, 4);
        flow_addr_from_v4_bytes(&addr, a);
        FLOW_SET(&f, next_hop, addr);
        FLOW_SET(&f, in_if, cur_be16(&r));
        FLOW_SET(&f, out_if, cur_be16(&r));
        FLOW_SET(&f, packets, cur_be32(&r));
        FLOW_SET(&f, bytes, cur_be32(&r));
        uint32_t first = cur_be32(&r);
        uint32_t last = cur_be32(&r);
        FLOW_SET(&f, time_start, nf5_abs_ms(out->hdr.export_ms, uptime, first));
        FLOW_SET(&f, time_end, nf5_abs_ms(out->hdr.export_ms, uptime, last));
        FLOW_SET(&f, src_port, cur_be16(&r));
        FLOW_SET(&f, dst_port, cur_be16(&r));
        cur_skip(&r, 1); /* pad1 */
        FLOW_SET(&f, tcp_flags, cur_u8(&r));
        FLOW_SET(&f, proto, cur_u8(&r));
        FLOW_SET(&f, tos, cur_u8(&r));
        FLOW_SET(&f, src_as, cur_be16(&r));
        FLOW_SET(&f, dst_as, cur_be16(&r));
        FLOW_SET(&f, src_mask, cur_u8(&r));
        FLOW_SET(&f, dst_mask, cur_u8(&r));
        /* ICMP type and code travel in the destination port (type * 256 + code). */
        if (f.proto == 1) {
            FLOW_SET(&f, icmp_type, (uint8_t)(f.dst_port >> 8));
            FLOW_SET(&f, icmp_code, (uint8_t)f.dst_port);
        }
        FLOW_SET(&f, exporter, *exporter);
        FLOW_SET(&f, obs_domain, out->hdr.obs_domain);
        FLOW_SET(&f, sampling, interval);
        out->sink(out->sink_arg, &f);
        out->n_flows++;
    }
    return (int)out->n_flows;
}
