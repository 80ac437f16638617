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

#include <endian.h>
#include <string.h>

#include "cursor.h"

/* Big-endian loads from a record whose 48 bytes were carved (checked) as a whole. */
static inline uint16_t nf5_ld16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return be16toh(v);
}

static inline uint32_t nf5_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return be32toh(v);
}

/* First and Last are sysUptime milliseconds, made absolute through the header's sysUptime and
 * export time (dec_uptime_behind: right across the 49.7-day wrap and for a First slightly
 * after the export). */
static uint64_t nf5_abs_ms(uint64_t export_ms, uint32_t uptime, uint32_t t)
{
    int64_t ms = (int64_t)export_ms - dec_uptime_behind(uptime, t);
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
    out->hdr.boot_ms = (int64_t)out->hdr.export_ms - uptime;
    out->hdr.have_boot = 1;

    /* One record for the datagram: every record fills the same columns, except the ICMP
     * ones, which are zeroed when a record is not ICMP. What the datagram shares is written
     * once. */
    flow_rec_t f;
    flow_rec_clear(&f);
    f.exporter = *exporter;
    f.obs_domain = out->hdr.obs_domain;
    f.sampling = interval;
    const uint64_t present =
        FLOW_BIT(src_addr) | FLOW_BIT(dst_addr) | FLOW_BIT(next_hop) | FLOW_BIT(in_if) |
        FLOW_BIT(out_if) | FLOW_BIT(packets) | FLOW_BIT(bytes) | FLOW_BIT(time_start) |
        FLOW_BIT(time_end) | FLOW_BIT(src_port) | FLOW_BIT(dst_port) | FLOW_BIT(tcp_flags) |
        FLOW_BIT(proto) | FLOW_BIT(tos) | FLOW_BIT(src_as) | FLOW_BIT(dst_as) | FLOW_BIT(src_mask) |
        FLOW_BIT(dst_mask) | FLOW_BIT(exporter) | FLOW_BIT(obs_domain) | FLOW_BIT(sampling);
    for (uint16_t i = 0; i < count; i++) {
        cur_t rc;
        if (cur_carve(&c, NF5_REC_LEN, &rc) != 0)
            break;               /* unreachable: the length check above covers every record */
        const uint8_t *r = rc.p; /* NF5_REC_LEN bytes, read at the format's offsets */
        f.present = present;
        flow_addr_from_v4_bytes(&f.src_addr, r + 0);
        flow_addr_from_v4_bytes(&f.dst_addr, r + 4);
        flow_addr_from_v4_bytes(&f.next_hop, r + 8);
        f.in_if = nf5_ld16(r + 12);
        f.out_if = nf5_ld16(r + 14);
        f.packets = nf5_ld32(r + 16);
        f.bytes = nf5_ld32(r + 20);
        f.time_start = nf5_abs_ms(out->hdr.export_ms, uptime, nf5_ld32(r + 24));
        f.time_end = nf5_abs_ms(out->hdr.export_ms, uptime, nf5_ld32(r + 28));
        f.src_port = nf5_ld16(r + 32);
        f.dst_port = nf5_ld16(r + 34);
        /* r[36]: pad1 */
        f.tcp_flags = r[37];
        f.proto = r[38];
        f.tos = r[39];
        f.src_as = nf5_ld16(r + 40);
        f.dst_as = nf5_ld16(r + 42);
        f.src_mask = r[44];
        f.dst_mask = r[45];
        /* r[46..47]: pad2 */
        /* ICMP type and code travel in the destination port (type * 256 + code). */
        if (f.proto == 1) {
            FLOW_SET(&f, icmp_type, (uint8_t)(f.dst_port >> 8));
            FLOW_SET(&f, icmp_code, (uint8_t)f.dst_port);
        } else {
            f.icmp_type = 0;
            f.icmp_code = 0;
        }
        out->sink(out->sink_arg, &f);
        out->n_flows++;
    }
    return (int)out->n_flows;
}
