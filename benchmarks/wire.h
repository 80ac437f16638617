/* wire.h: big-endian writers the export encoders (nf5, nf9, IPFIX) and the pcap writer share.
 *
 * Each writes at p and returns the position after what it wrote; the caller has checked the
 * room. The put_* forms take a field length so the X-macro tables of the v9 and IPFIX
 * encoders can call them alike for integers (U), IPv4 (A4) and IPv6 (A6) fields.
 */
#ifndef FH_WIRE_H
#define FH_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flow.h"

static inline uint8_t *wire_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *wire_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* A template field specifier without enterprise number: element id and length. */
static inline uint8_t *wire_spec(uint8_t *p, uint16_t id, uint16_t len)
{
    p = wire_be16(p, id);
    return wire_be16(p, len);
}

static inline uint8_t *wire_put_U(uint8_t *p, size_t len, uint64_t v)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    return p + len;
}

static inline uint8_t *wire_put_A4(uint8_t *p, size_t len, const flow_addr_t *a)
{
    (void)len;
    return wire_be32(p, flow_addr_is_v4(a) ? flow_addr_v4(a) : 0);
}

static inline uint8_t *wire_put_A6(uint8_t *p, size_t len, const flow_addr_t *a)
{
    memcpy(p, a->b, len);
    return p + len;
}

#endif
