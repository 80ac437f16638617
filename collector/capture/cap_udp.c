/* cap_udp.c: turns captured frames into the UDP datagrams they carry.
 *
 * A frame goes down three layers, each of which checks its own length before reading a field
 * and then checks the length its header claims against what is really there (the Suricata
 * decoder pattern): the link layer (Ethernet with up to CAP_UDP_MAX_TAGS VLAN tags, Linux
 * cooked v1 and v2, raw IP, BSD loopback), IP (IPv4 with options, IPv6 with its extension
 * headers) and UDP. Whatever is not a UDP datagram is counted under the first reason it failed
 * and dropped; nothing is logged.
 *
 * IP fragments are reassembled in CAP_FRAG_SLOTS slots allocated once by cap_udp_init, so the
 * memory is bounded whatever the capture holds. Each slot keeps a bitmap of the 8-byte blocks it
 * has (every fragment but the last starts and ends on an 8-byte boundary, so blocks are enough).
 * Overlaps are accepted only when the bytes agree: an overlap that rewrites data is how
 * fragmentation attacks hide payloads from monitors (RFC 5722 for IPv6), so the whole set is
 * dropped instead of choosing one version. UDP checksums are not verified: captures taken on the
 * sending host carry the not-yet-computed checksums of offloading NICs.
 */
#include "capture.h"

#include <stdlib.h>
#include <string.h>

/* Link-layer header types (https://www.tcpdump.org/linktypes.html). */
#define CAP_LT_NULL 0
#define CAP_LT_ETHERNET 1
#define CAP_LT_RAW_LEGACY_A 12 /* DLT_RAW on most systems */
#define CAP_LT_RAW_LEGACY_B 14 /* DLT_RAW on BSD/OS */
#define CAP_LT_RAW 101
#define CAP_LT_LOOP 108
#define CAP_LT_LINUX_SLL 113
#define CAP_LT_IPV4 228
#define CAP_LT_IPV6 229
#define CAP_LT_LINUX_SLL2 276

#define CAP_ETH_HDR_LEN 14
#define CAP_SLL_HDR_LEN 16
#define CAP_SLL2_HDR_LEN 20
#define CAP_NULL_HDR_LEN 4
#define CAP_ETHERTYPE_IPV4 0x0800
#define CAP_ETHERTYPE_IPV6 0x86dd
#define CAP_ETHERTYPE_VLAN 0x8100  /* IEEE 802.1Q */
#define CAP_ETHERTYPE_QINQ 0x88a8  /* IEEE 802.1ad service tag */
#define CAP_ETHERTYPE_QINQ1 0x9100 /* pre-standard QinQ */
#define CAP_UDP_MAX_TAGS 8

#define CAP_IPV4_MIN_HDR 20
#define CAP_IPV6_HDR_LEN 40
#define CAP_UDP_HDR_LEN 8
#define CAP_IPPROTO_HOPOPTS 0
#define CAP_IPPROTO_UDP 17
#define CAP_IPPROTO_ROUTING 43
#define CAP_IPPROTO_FRAGMENT 44
#define CAP_IPPROTO_AH 51
#define CAP_IPPROTO_DSTOPTS 60
#define CAP_UDP_MAX_EXT 8 /* IPv6 extension headers walked before giving up */

#define CAP_FRAG_MAX 65535u /* largest reassembled IP payload */
#define CAP_FRAG_BLOCKS ((CAP_FRAG_MAX + 7) / 8)

struct cap_frag {
    int used;
    uint8_t family; /* 4 or 6 */
    uint8_t proto;  /* IPv4 protocol, or the Next Header of the IPv6 fragment header */
    uint8_t have_last;
    uint32_t id;
    uint8_t src[16], dst[16];
    uint64_t first_ns;  /* capture time of the first fragment: the timeout runs from it */
    uint32_t end;       /* payload length, once the last fragment (MF=0) is in */
    uint32_t max_end;   /* furthest byte any fragment reached */
    uint32_t n_covered; /* blocks of `map` that are set */
    uint8_t map[CAP_FRAG_BLOCKS / 8 + 1];
    uint8_t data[CAP_FRAG_MAX];
};

/* What the layers below the link need to know of the frame they came from. */
typedef struct cap_udp_ctx {
    cap_udp_t *cu;
    uint64_t ts_ns;
    int family;
    const uint8_t *src, *dst; /* 4 or 16 bytes inside the frame */
    cap_dgram_fn fn;
    void *arg;
} cap_udp_ctx_t;

static uint16_t cap_udp_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t cap_udp_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int cap_udp_init(cap_udp_t *cu)
{
    memset(cu, 0, sizeof *cu);
    cu->frags = calloc(CAP_FRAG_SLOTS, sizeof *cu->frags);
    return cu->frags ? 0 : -1;
}

void cap_udp_free(cap_udp_t *cu)
{
    free(cu->frags);
    cu->frags = NULL;
    cu->n_frag_used = 0;
}

/* ---- UDP (RFC 768) ---- */

static void cap_udp_udp(cap_udp_ctx_t *c, const uint8_t *p, size_t len)
{
    cap_udp_t *cu = c->cu;
    if (len < CAP_UDP_HDR_LEN) {
        cu->stats.truncated++;
        return;
    }
    /* The UDP length may be shorter than the IP payload (the rest is padding) but never
     * longer, and never shorter than its own header. */
    uint16_t ulen = cap_udp_be16(p + 4);
    if (ulen < CAP_UDP_HDR_LEN || ulen > len) {
        cu->stats.bad_udp_length++;
        return;
    }
    cap_dgram_t d;
    d.ts_ns = c->ts_ns;
    if (c->family == 4) {
        flow_addr_from_v4_bytes(&d.src, c->src);
        flow_addr_from_v4_bytes(&d.dst, c->dst);
    } else {
        flow_addr_from_v6_bytes(&d.src, c->src);
        flow_addr_from_v6_bytes(&d.dst, c->dst);
    }
    d.sport = cap_udp_be16(p);
    d.dport = cap_udp_be16(p + 2);
    d.payload = p + CAP_UDP_HDR_LEN;
    d.len = (size_t)ulen - CAP_UDP_HDR_LEN;
    cu->stats.datagrams++;
    c->fn(c->arg, &d);
}

/* ---- fragment reassembly (RFC 791 section 3.2, RFC 8200 section 4.5) ---- */

static void cap_udp_frag_drop(cap_udp_t *cu, struct cap_frag *f)
{
    f->used = 0;
    cu->n_frag_used--;
}

/* Drops every set whose first fragment is more than CAP_FRAG_TIMEOUT_NS older than `now`.
 * Runs only when the oldest set may have expired; the scan also refreshes frag_oldest_ns,
 * which may be stale (too old) after sets completed, never too new. Capture time can go
 * backwards in merged files: a set "from the future" simply waits. */
static void cap_udp_frag_expire(cap_udp_t *cu, uint64_t now)
{
    if (cu->n_frag_used == 0 || now <= cu->frag_oldest_ns ||
        now - cu->frag_oldest_ns <= CAP_FRAG_TIMEOUT_NS)
        return;
    uint64_t oldest = UINT64_MAX;
    for (unsigned i = 0; i < CAP_FRAG_SLOTS; i++) {
        struct cap_frag *f = &cu->frags[i];
        if (!f->used)
            continue;
        if (now > f->first_ns && now - f->first_ns > CAP_FRAG_TIMEOUT_NS) {
            cap_udp_frag_drop(cu, f);
            cu->stats.frag_expired++;
        } else if (f->first_ns < oldest) {
            oldest = f->first_ns;
        }
    }
    cu->frag_oldest_ns = oldest;
}

static struct cap_frag *cap_udp_frag_find(cap_udp_ctx_t *c, uint32_t id, uint8_t proto)
{
    size_t alen = c->family == 4 ? 4 : 16;
    for (unsigned i = 0; i < CAP_FRAG_SLOTS; i++) {
        struct cap_frag *f = &c->cu->frags[i];
        if (f->used && f->id == id && f->proto == proto && f->family == c->family &&
            memcmp(f->src, c->src, alen) == 0 && memcmp(f->dst, c->dst, alen) == 0)
            return f;
    }
    return NULL;
}

/* A free slot for a new set; when all are busy the set that started first is evicted, as it
 * is the likeliest to have lost a fragment. */
static struct cap_frag *cap_udp_frag_new(cap_udp_ctx_t *c, uint32_t id, uint8_t proto)
{
    cap_udp_t *cu = c->cu;
    struct cap_frag *f = NULL;
    for (unsigned i = 0; i < CAP_FRAG_SLOTS && !f; i++)
        if (!cu->frags[i].used)
            f = &cu->frags[i];
    if (!f) {
        f = &cu->frags[0];
        for (unsigned i = 1; i < CAP_FRAG_SLOTS; i++)
            if (cu->frags[i].first_ns < f->first_ns)
                f = &cu->frags[i];
        cap_udp_frag_drop(cu, f);
        cu->stats.frag_evicted++;
    }
    size_t alen = c->family == 4 ? 4 : 16;
    f->used = 1;
    f->family = (uint8_t)c->family;
    f->proto = proto;
    f->id = id;
    memset(f->src, 0, sizeof f->src);
    memset(f->dst, 0, sizeof f->dst);
    memcpy(f->src, c->src, alen);
    memcpy(f->dst, c->dst, alen);
    f->first_ns = c->ts_ns;
    f->have_last = 0;
    f->end = 0;
    f->max_end = 0;
    f->n_covered = 0;
    memset(f->map, 0, sizeof f->map);
    if (cu->n_frag_used == 0 || c->ts_ns < cu->frag_oldest_ns)
        cu->frag_oldest_ns = c->ts_ns;
    cu->n_frag_used++;
    return f;
}

static void cap_udp_v6_walk(cap_udp_ctx_t *c, uint8_t nh, const uint8_t *p, size_t len,
                            int allow_frag);

/* Adds one fragment (payload bytes [off, off + len) of the set) and, when that completes the
 * set, decodes the reassembled payload. */
static void cap_udp_frag_add(cap_udp_ctx_t *c, uint32_t id, uint8_t proto, uint32_t off, int mf,
                             const uint8_t *p, size_t len)
{
    cap_udp_t *cu = c->cu;
    struct cap_frag *f = cap_udp_frag_find(c, id, proto);
    size_t end = (size_t)off + len;
    /* Every fragment but the last carries a multiple of 8 bytes (RFC 8200 4.5; implied by the
     * 8-byte offset unit of RFC 791), and no set outgrows the largest IP packet. */
    int bad = end > CAP_FRAG_MAX || (mf && len % 8 != 0);
    if (!bad && f) {
        if (!mf)
            bad = (f->have_last && end != f->end) || (!f->have_last && f->max_end > end);
        else
            bad = f->have_last && end > f->end;
    }
    if (bad) {
        if (f)
            cap_udp_frag_drop(cu, f);
        cu->stats.frag_bad++;
        return;
    }
    if (!f)
        f = cap_udp_frag_new(c, id, proto);
    if (!mf) {
        f->have_last = 1;
        f->end = (uint32_t)end;
    }
    /* Blocks already held must hold the same bytes; the others are copied in. A partial block
     * can only be the set's last, and only a last fragment (same end) can cover it again. */
    for (size_t b = off / 8; b * 8 < end; b++) {
        size_t bstart = b * 8;
        size_t n = end - bstart < 8 ? end - bstart : 8;
        const uint8_t *src = p + (bstart - off);
        uint8_t bit = (uint8_t)(1u << (b % 8));
        if (f->map[b / 8] & bit) {
            if (memcmp(f->data + bstart, src, n) != 0) {
                cap_udp_frag_drop(cu, f);
                cu->stats.frag_bad++;
                return;
            }
        } else {
            memcpy(f->data + bstart, src, n);
            f->map[b / 8] |= bit;
            f->n_covered++;
        }
    }
    if (end > f->max_end)
        f->max_end = (uint32_t)end;
    if (!f->have_last || f->n_covered != (f->end + 7) / 8)
        return;
    cu->stats.reassembled++;
    /* The slot is released after decoding, as the datagram's payload points into it. */
    if (f->family == 4)
        cap_udp_udp(c, f->data, f->end);
    else
        cap_udp_v6_walk(c, f->proto, f->data, f->end, 0);
    cap_udp_frag_drop(cu, f);
}

/* ---- IPv4 (RFC 791) ---- */

static void cap_udp_ipv4(cap_udp_ctx_t *c, const uint8_t *p, size_t len)
{
    cap_udp_t *cu = c->cu;
    if (len < 1) {
        cu->stats.truncated++;
        return;
    }
    if (p[0] >> 4 != 4) {
        cu->stats.bad_ip_header++;
        return;
    }
    if (len < CAP_IPV4_MIN_HDR) {
        cu->stats.truncated++;
        return;
    }
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = cap_udp_be16(p + 2);
    if (ihl < CAP_IPV4_MIN_HDR || total < ihl) {
        cu->stats.bad_ip_header++;
        return;
    }
    /* Bytes past the total length are link padding (Ethernet pads to 60 bytes). */
    if (total > len) {
        cu->stats.truncated++;
        return;
    }
    uint16_t frag = cap_udp_be16(p + 6);
    uint8_t proto = p[9];
    c->family = 4;
    c->src = p + 12;
    c->dst = p + 16;
    const uint8_t *pl = p + ihl;
    size_t plen = total - ihl;
    if ((frag & 0x2000) || (frag & 0x1fff)) {
        cu->stats.fragments++;
        if (proto != CAP_IPPROTO_UDP) {
            cu->stats.not_udp++;
            return;
        }
        cap_udp_frag_add(c, cap_udp_be16(p + 4), proto, (uint32_t)(frag & 0x1fff) * 8,
                         (frag & 0x2000) != 0, pl, plen);
        return;
    }
    if (proto != CAP_IPPROTO_UDP) {
        cu->stats.not_udp++;
        return;
    }
    cap_udp_udp(c, pl, plen);
}

/* ---- IPv6 (RFC 8200) ---- */

static int cap_udp_v6_reassemblable(uint8_t nh)
{
    return nh == CAP_IPPROTO_UDP || nh == CAP_IPPROTO_HOPOPTS || nh == CAP_IPPROTO_ROUTING ||
           nh == CAP_IPPROTO_DSTOPTS || nh == CAP_IPPROTO_AH;
}

/* Follows the Next Header chain of [p, p + len) to UDP. `allow_frag` is 0 inside a payload
 * that is itself the product of reassembly: a second fragment header there is bogus. */
static void cap_udp_v6_walk(cap_udp_ctx_t *c, uint8_t nh, const uint8_t *p, size_t len,
                            int allow_frag)
{
    cap_udp_t *cu = c->cu;
    for (unsigned n = 0;; n++) {
        size_t hlen;
        switch (nh) {
        case CAP_IPPROTO_UDP:
            cap_udp_udp(c, p, len);
            return;
        case CAP_IPPROTO_HOPOPTS:
        case CAP_IPPROTO_ROUTING:
        case CAP_IPPROTO_DSTOPTS:
        case CAP_IPPROTO_AH:
            if (n >= CAP_UDP_MAX_EXT || len < 2) {
                cu->stats.bad_ip_header++;
                return;
            }
            /* Hdr Ext Len counts 8-byte units after the first; AH counts 4-byte units after
             * the first two (RFC 4302 section 2.2). */
            if (nh == CAP_IPPROTO_AH)
                hlen = ((size_t)p[1] + 2) * 4;
            else
                hlen = ((size_t)p[1] + 1) * 8;
            if (hlen > len) {
                cu->stats.bad_ip_header++;
                return;
            }
            nh = p[0];
            p += hlen;
            len -= hlen;
            break;
        case CAP_IPPROTO_FRAGMENT: {
            if (n >= CAP_UDP_MAX_EXT || len < 8 || !allow_frag) {
                cu->stats.bad_ip_header++;
                return;
            }
            uint8_t next = p[0];
            uint16_t offm = cap_udp_be16(p + 2);
            uint32_t id = cap_udp_be32(p + 4);
            p += 8;
            len -= 8;
            if ((offm & 0xfff8) == 0 && (offm & 1) == 0) {
                /* Atomic fragment (RFC 6946): a whole packet, decoded in place. */
                nh = next;
                break;
            }
            cu->stats.fragments++;
            if (!cap_udp_v6_reassemblable(next)) {
                cu->stats.not_udp++;
                return;
            }
            cap_udp_frag_add(c, id, next, offm & 0xfff8, offm & 1, p, len);
            return;
        }
        default:
            cu->stats.not_udp++;
            return;
        }
    }
}

static void cap_udp_ipv6(cap_udp_ctx_t *c, const uint8_t *p, size_t len)
{
    cap_udp_t *cu = c->cu;
    if (len < 1) {
        cu->stats.truncated++;
        return;
    }
    if (p[0] >> 4 != 6) {
        cu->stats.bad_ip_header++;
        return;
    }
    if (len < CAP_IPV6_HDR_LEN) {
        cu->stats.truncated++;
        return;
    }
    /* Payload Length 0 announces a jumbogram (RFC 2675), which no export datagram is. */
    size_t plen = cap_udp_be16(p + 4);
    if (plen == 0) {
        cu->stats.bad_ip_header++;
        return;
    }
    if (plen > len - CAP_IPV6_HDR_LEN) {
        cu->stats.truncated++;
        return;
    }
    c->family = 6;
    c->src = p + 8;
    c->dst = p + 24;
    cap_udp_v6_walk(c, p[6], p + CAP_IPV6_HDR_LEN, plen, 1);
}

/* ---- link layers ---- */

/* An EtherType and what follows it, after any number (up to CAP_UDP_MAX_TAGS) of VLAN tags. */
static void cap_udp_ethertype(cap_udp_ctx_t *c, uint16_t type, const uint8_t *p, size_t len)
{
    cap_udp_t *cu = c->cu;
    for (unsigned n = 0;
         type == CAP_ETHERTYPE_VLAN || type == CAP_ETHERTYPE_QINQ || type == CAP_ETHERTYPE_QINQ1;
         n++) {
        if (n >= CAP_UDP_MAX_TAGS) {
            cu->stats.not_ip++;
            return;
        }
        /* Tag: TCI (2 bytes), then the EtherType of what follows. */
        if (len < 4) {
            cu->stats.truncated++;
            return;
        }
        type = cap_udp_be16(p + 2);
        p += 4;
        len -= 4;
    }
    if (type == CAP_ETHERTYPE_IPV4)
        cap_udp_ipv4(c, p, len);
    else if (type == CAP_ETHERTYPE_IPV6)
        cap_udp_ipv6(c, p, len);
    else
        cu->stats.not_ip++;
}

/* Raw IP: the version nibble tells the family. */
static void cap_udp_raw(cap_udp_ctx_t *c, const uint8_t *p, size_t len)
{
    if (len < 1) {
        c->cu->stats.truncated++;
        return;
    }
    if (p[0] >> 4 == 4)
        cap_udp_ipv4(c, p, len);
    else if (p[0] >> 4 == 6)
        cap_udp_ipv6(c, p, len);
    else
        c->cu->stats.not_ip++;
}

/* BSD loopback: a 4-byte address family, in the capturing host's byte order for NULL and
 * network order for LOOP. Families are small, so a value with high bits set is the other
 * order. AF_INET6 differs per OS: 10 Linux, 24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS. */
static void cap_udp_null(cap_udp_ctx_t *c, const uint8_t *p, size_t len)
{
    if (len < CAP_NULL_HDR_LEN) {
        c->cu->stats.truncated++;
        return;
    }
    uint32_t fam = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
    if (fam > 0xffff)
        fam = cap_udp_be32(p);
    p += CAP_NULL_HDR_LEN;
    len -= CAP_NULL_HDR_LEN;
    switch (fam) {
    case 2:
        cap_udp_ipv4(c, p, len);
        break;
    case 10:
    case 24:
    case 28:
    case 30:
        cap_udp_ipv6(c, p, len);
        break;
    default:
        c->cu->stats.not_ip++;
        break;
    }
}

void cap_udp_feed(cap_udp_t *cu, const cap_pkt_t *pkt, cap_dgram_fn fn, void *arg)
{
    cap_udp_ctx_t c = {cu, pkt->ts_ns, 0, NULL, NULL, fn, arg};
    const uint8_t *p = pkt->data;
    size_t len = pkt->caplen;
    cu->stats.frames++;
    cap_udp_frag_expire(cu, pkt->ts_ns);
    switch (pkt->linktype) {
    case CAP_LT_ETHERNET:
        if (len < CAP_ETH_HDR_LEN) {
            cu->stats.truncated++;
            return;
        }
        cap_udp_ethertype(&c, cap_udp_be16(p + 12), p + CAP_ETH_HDR_LEN, len - CAP_ETH_HDR_LEN);
        break;
    case CAP_LT_LINUX_SLL:
        /* Packet type, ARPHRD type, address length, 8 address bytes, protocol. */
        if (len < CAP_SLL_HDR_LEN) {
            cu->stats.truncated++;
            return;
        }
        cap_udp_ethertype(&c, cap_udp_be16(p + 14), p + CAP_SLL_HDR_LEN, len - CAP_SLL_HDR_LEN);
        break;
    case CAP_LT_LINUX_SLL2:
        /* Protocol, reserved, ifindex, ARPHRD type, packet type, address length, address. */
        if (len < CAP_SLL2_HDR_LEN) {
            cu->stats.truncated++;
            return;
        }
        cap_udp_ethertype(&c, cap_udp_be16(p), p + CAP_SLL2_HDR_LEN, len - CAP_SLL2_HDR_LEN);
        break;
    case CAP_LT_RAW:
    case CAP_LT_RAW_LEGACY_A:
    case CAP_LT_RAW_LEGACY_B:
        cap_udp_raw(&c, p, len);
        break;
    case CAP_LT_IPV4:
        cap_udp_ipv4(&c, p, len);
        break;
    case CAP_LT_IPV6:
        cap_udp_ipv6(&c, p, len);
        break;
    case CAP_LT_NULL:
    case CAP_LT_LOOP:
        cap_udp_null(&c, p, len);
        break;
    default:
        cu->stats.unsupported_linktype++;
        break;
    }
}
