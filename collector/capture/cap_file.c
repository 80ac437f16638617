/* cap_file.c: walks the records of a pcap or pcapng image and hands out frames.
 *
 * The image is a byte array in memory (borrowed, or mapped read-only by cap_open_path); frames
 * point into it, so nothing is copied or allocated per record. Both formats are read in either
 * byte order: classic pcap with microsecond (0xa1b2c3d4) or nanosecond (0xa1b23c4d) timestamps,
 * and pcapng (draft-ietf-opsawg-pcapng) with any number of sections, each with its own byte
 * order and interfaces. Every length field is checked against the bytes that are really there
 * before anything behind it is read; the first record that fails a check ends the walk with a
 * named error, and the frames before it stay good.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_CLOEXEC, MAP_PRIVATE when built outside the Makefile */
#endif
#include "capture.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Classic pcap (draft-ietf-opsawg-pcap section 4): the magic as read in little-endian order. */
#define CAP_PCAP_MAGIC_US 0xa1b2c3d4u
#define CAP_PCAP_MAGIC_NS 0xa1b23c4du
#define CAP_PCAP_HDR_LEN 24
#define CAP_PCAP_REC_LEN 16
/* Section 5: the upper bits of LinkType carry the FCS length and flag; libpcap's LT_LINKTYPE. */
#define CAP_PCAP_LINKTYPE_MASK 0x03ffffffu

/* pcapng block types and fixed sizes (draft-ietf-opsawg-pcapng sections 4 and 5). */
#define CAP_NG_SHB 0x0a0d0d0au
#define CAP_NG_IDB 0x00000001u
#define CAP_NG_PB 0x00000002u /* obsolete Packet Block, appendix A */
#define CAP_NG_SPB 0x00000003u
#define CAP_NG_EPB 0x00000006u
#define CAP_NG_BOM 0x1a2b3c4du
#define CAP_NG_MIN_BLOCK 12 /* type, length, trailing length */
#define CAP_NG_MIN_SHB 28
#define CAP_NG_MIN_IDB 20
#define CAP_NG_MIN_EPB 32
#define CAP_NG_MIN_PB 32
#define CAP_NG_MIN_SPB 16
#define CAP_NG_OPT_END 0
#define CAP_NG_OPT_TSRESOL 9

const char *cap_strerror(int err)
{
    if (err < 0)
        err = -err;
    switch (err) {
    case CAP_OK:
        return "success";
#define CAP_X_MSG(code, msg)                                                                       \
    case code:                                                                                     \
        return msg;
        CAP_FILE_ERRORS(CAP_X_MSG)
#undef CAP_X_MSG
    }
    return "unknown capture error";
}

static int cap_file_host_be(void)
{
    const uint16_t one = 1;
    uint8_t b[2];
    memcpy(b, &one, 2);
    return b[0] == 0;
}

/* True when the current file or section is big-endian. */
static int cap_file_be(const cap_file_t *cf)
{
    return cap_file_host_be() ^ (cf->swapped != 0);
}

static uint16_t cap_file_rd16(const uint8_t *p, int be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t cap_file_rd32(const uint8_t *p, int be)
{
    if (be)
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* a * num / den without losing the high bits of a * num. The fast path covers every
 * resolution real writers use; the slow path (a 128-bit product divided bit by bit) only runs
 * for units finer than about 2^-34 s. The product wraps only when the result itself does not
 * fit 64 bits (a timestamp past the year 2554). */
static uint64_t cap_file_muldiv(uint64_t a, uint64_t num, uint64_t den)
{
    uint64_t q = a / den, r = a % den;
    uint64_t out = q * num;
    if (r == 0)
        return out;
    if (r <= UINT64_MAX / num)
        return out + r * num / den;
    /* r * num as hi:lo from 32-bit halves. */
    uint64_t r_lo = r & 0xffffffffu, r_hi = r >> 32, n_lo = num & 0xffffffffu, n_hi = num >> 32;
    uint64_t ll = r_lo * n_lo, lh = r_lo * n_hi, hl = r_hi * n_lo, hh = r_hi * n_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    uint64_t lo = (ll & 0xffffffffu) | (mid << 32);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    /* r < den, so r * num / den < num fits 64 bits: a restoring division gives it. */
    uint64_t quot = 0, rem = 0;
    for (int i = 127; i >= 0; i--) {
        uint64_t bit = i >= 64 ? (hi >> (i - 64)) & 1 : (lo >> i) & 1;
        int carry = (rem >> 63) != 0;
        rem = rem << 1 | bit;
        quot <<= 1;
        if (carry || rem >= den) {
            rem -= den;
            quot |= 1;
        }
    }
    return out + quot;
}

/* Sets interface `i` to the default resolution, microseconds (pcapng section 4.2, if_tsresol). */
static void cap_file_iface_default(cap_file_t *cf, uint32_t i, uint32_t linktype)
{
    cf->if_linktype[i] = linktype;
    cf->if_tsres_num[i] = 1000;
    cf->if_tsres_den[i] = 1;
}

/* if_tsresol: bit 7 clear = 10^-v s, set = 2^-v s. Units finer than 10^-28 s or 2^-63 s are
 * clamped to those (no clock ticks that fast; it keeps num/den in 64 bits). */
static void cap_file_iface_tsresol(cap_file_t *cf, uint32_t i, uint8_t v)
{
    uint64_t num = 1, den = 1;
    if (v & 0x80) {
        unsigned e = v & 0x7f;
        if (e > 63)
            e = 63;
        num = 1000000000u;
        den = (uint64_t)1 << e;
    } else if (v <= 9) {
        for (unsigned k = v; k < 9; k++)
            num *= 10;
    } else {
        unsigned e = v - 9u;
        if (e > 19)
            e = 19;
        for (unsigned k = 0; k < e; k++)
            den *= 10;
    }
    cf->if_tsres_num[i] = num;
    cf->if_tsres_den[i] = den;
}

/* ---- classic pcap ---- */

static int cap_file_pcap_open(cap_file_t *cf, uint32_t magic_le)
{
    int file_be;
    if (magic_le == CAP_PCAP_MAGIC_US || magic_le == CAP_PCAP_MAGIC_NS)
        file_be = 0;
    else
        file_be = 1; /* the caller matched one of the two magics in either order */
    uint32_t magic = cap_file_rd32(cf->buf, file_be);
    cf->swapped = file_be != cap_file_host_be();
    cf->ts_scale = magic == CAP_PCAP_MAGIC_NS ? 1 : 1000;
    if (cf->len < CAP_PCAP_HDR_LEN)
        return -CAP_E_TRUNCATED;
    /* Version 2.x is all libpcap has ever written (2.2 and 2.3 differ from 2.4 only in
     * details we do not read). */
    if (cap_file_rd16(cf->buf + 4, file_be) != 2)
        return -CAP_E_FORMAT;
    cf->linktype = cap_file_rd32(cf->buf + 20, file_be) & CAP_PCAP_LINKTYPE_MASK;
    cf->off = CAP_PCAP_HDR_LEN;
    return 0;
}

static int cap_file_pcap_next(cap_file_t *cf, cap_pkt_t *out)
{
    size_t rem = cf->len - cf->off;
    const uint8_t *p = cf->buf + cf->off;
    int be = cap_file_be(cf);
    if (rem == 0)
        return 0;
    if (rem < CAP_PCAP_REC_LEN)
        return -CAP_E_TRUNCATED;
    uint32_t sec = cap_file_rd32(p, be);
    uint32_t frac = cap_file_rd32(p + 4, be);
    uint32_t caplen = cap_file_rd32(p + 8, be);
    uint32_t origlen = cap_file_rd32(p + 12, be);
    /* The record is exactly caplen bytes; caplen > origlen is tolerated (some writers do it). */
    if (caplen > rem - CAP_PCAP_REC_LEN)
        return -CAP_E_TRUNCATED;
    out->ts_ns = (uint64_t)sec * 1000000000u + (uint64_t)frac * cf->ts_scale;
    out->linktype = cf->linktype;
    out->caplen = caplen;
    out->origlen = origlen;
    out->data = p + CAP_PCAP_REC_LEN;
    cf->off += CAP_PCAP_REC_LEN + (size_t)caplen;
    return 1;
}

/* ---- pcapng ---- */

/* Reads the Section Header Block at cf->off: sets the section's byte order and forgets the
 * previous section's interfaces. On success *blen is the block length. */
static int cap_file_ng_shb(cap_file_t *cf, size_t *blen)
{
    size_t rem = cf->len - cf->off;
    const uint8_t *p = cf->buf + cf->off;
    int be;
    /* The length is in the section's byte order, which the magic after it tells. */
    if (rem < CAP_NG_MIN_BLOCK)
        return -CAP_E_TRUNCATED;
    if (cap_file_rd32(p + 8, 0) == CAP_NG_BOM)
        be = 0;
    else if (cap_file_rd32(p + 8, 1) == CAP_NG_BOM)
        be = 1;
    else
        return cf->off == 0 ? -CAP_E_FORMAT : -CAP_E_BAD_RECORD;
    uint32_t len = cap_file_rd32(p + 4, be);
    if (len < CAP_NG_MIN_SHB || len % 4 != 0)
        return -CAP_E_BAD_RECORD;
    if (len > rem)
        return -CAP_E_TRUNCATED;
    if (cap_file_rd32(p + len - 4, be) != len)
        return -CAP_E_BAD_RECORD;
    /* Major version 1 is the only one; a reader must not guess at another (section 4.1). */
    if (cap_file_rd16(p + 12, be) != 1)
        return cf->off == 0 ? -CAP_E_FORMAT : -CAP_E_BAD_RECORD;
    cf->swapped = be != cap_file_host_be();
    cf->n_ifaces = 0;
    cf->if0_snaplen = 0;
    *blen = len;
    return 0;
}

/* Interface Description Block: link type, snap length, and the if_tsresol option. Options
 * are walked inside the block's body; a malformed option list makes the block bad. */
static int cap_file_ng_idb(cap_file_t *cf, const uint8_t *body, size_t blen, int be)
{
    if (cf->n_ifaces >= CAP_MAX_IFACES) {
        /* Not remembered: frames on it are skipped like those of an unknown interface. */
        cf->n_skipped_blocks++;
        return 0;
    }
    uint32_t i = cf->n_ifaces;
    cap_file_iface_default(cf, i, cap_file_rd16(body, be));
    if (i == 0)
        cf->if0_snaplen = cap_file_rd32(body + 4, be);
    const uint8_t *o = body + 8;
    size_t orem = blen - CAP_NG_MIN_IDB;
    while (orem >= 4) {
        uint16_t code = cap_file_rd16(o, be);
        uint16_t olen = cap_file_rd16(o + 2, be);
        size_t padded = ((size_t)olen + 3) & ~(size_t)3;
        if (code == CAP_NG_OPT_END)
            break;
        if (padded > orem - 4)
            return -CAP_E_BAD_RECORD;
        if (code == CAP_NG_OPT_TSRESOL && olen >= 1)
            cap_file_iface_tsresol(cf, i, o[4]);
        o += 4 + padded;
        orem -= 4 + padded;
    }
    cf->n_ifaces++;
    return 0;
}

/* Fills *out from a packet block of interface `ifid` whose timestamp is ts_hi:ts_lo. Frames of
 * interfaces the section has not described are skipped (0). */
static int cap_file_ng_frame(cap_file_t *cf, cap_pkt_t *out, uint32_t ifid, uint32_t ts_hi,
                             uint32_t ts_lo, const uint8_t *data, uint32_t caplen, uint32_t origlen)
{
    if (ifid >= cf->n_ifaces) {
        cf->n_skipped_blocks++;
        return 0;
    }
    uint64_t ts = (uint64_t)ts_hi << 32 | ts_lo;
    out->ts_ns = cap_file_muldiv(ts, cf->if_tsres_num[ifid], cf->if_tsres_den[ifid]);
    out->linktype = cf->if_linktype[ifid];
    out->caplen = caplen;
    out->origlen = origlen;
    out->data = data;
    return 1;
}

static int cap_file_ng_next(cap_file_t *cf, cap_pkt_t *out)
{
    for (;;) {
        size_t rem = cf->len - cf->off;
        const uint8_t *p = cf->buf + cf->off;
        if (rem == 0)
            return 0;
        if (rem < 8)
            return -CAP_E_TRUNCATED;
        uint32_t type = cap_file_rd32(p, cap_file_be(cf));
        if (type == CAP_NG_SHB) {
            size_t shb_len;
            int rc = cap_file_ng_shb(cf, &shb_len);
            if (rc < 0)
                return rc;
            cf->off += shb_len;
            continue;
        }
        int be = cap_file_be(cf);
        uint32_t len = cap_file_rd32(p + 4, be);
        if (len < CAP_NG_MIN_BLOCK || len % 4 != 0)
            return -CAP_E_BAD_RECORD;
        if (len > rem)
            return -CAP_E_TRUNCATED;
        if (cap_file_rd32(p + len - 4, be) != len)
            return -CAP_E_BAD_RECORD;
        /* The block is whole from here on: body is [p + 8, p + len - 4). */
        const uint8_t *body = p + 8;
        size_t body_len = len - CAP_NG_MIN_BLOCK;
        int rc = 0;
        switch (type) {
        case CAP_NG_IDB:
            if (len < CAP_NG_MIN_IDB)
                return -CAP_E_BAD_RECORD;
            rc = cap_file_ng_idb(cf, body, len, be);
            break;
        case CAP_NG_EPB:
        case CAP_NG_PB: {
            if (len < CAP_NG_MIN_EPB)
                return -CAP_E_BAD_RECORD;
            /* EPB: interface 32 bits; obsolete PB: interface 16 bits, drops 16 bits. */
            uint32_t ifid = type == CAP_NG_EPB ? cap_file_rd32(body, be) : cap_file_rd16(body, be);
            uint32_t caplen = cap_file_rd32(body + 12, be);
            if (caplen > body_len - 20)
                return -CAP_E_BAD_RECORD;
            rc = cap_file_ng_frame(cf, out, ifid, cap_file_rd32(body + 4, be),
                                   cap_file_rd32(body + 8, be), body + 20, caplen,
                                   cap_file_rd32(body + 16, be));
            break;
        }
        case CAP_NG_SPB: {
            if (len < CAP_NG_MIN_SPB)
                return -CAP_E_BAD_RECORD;
            /* No caplen in the block: the data is min(original length, snap length), padded to
             * 4 bytes (section 4.4). No timestamp either. */
            uint32_t origlen = cap_file_rd32(body, be);
            uint32_t caplen = origlen;
            if (cf->if0_snaplen != 0 && caplen > cf->if0_snaplen)
                caplen = cf->if0_snaplen;
            if (caplen > body_len - 4)
                caplen = (uint32_t)(body_len - 4);
            rc = cap_file_ng_frame(cf, out, 0, 0, 0, body + 4, caplen, origlen);
            break;
        }
        default:
            cf->n_skipped_blocks++;
            break;
        }
        if (rc < 0)
            return rc;
        cf->off += len;
        if (rc == 1)
            return 1;
    }
}

/* ---- opening ---- */

int cap_open_mem(cap_file_t *cf, const uint8_t *buf, size_t len)
{
    memset(cf, 0, sizeof *cf);
    cf->buf = buf;
    cf->len = len;
    if (len < 4)
        return -CAP_E_FORMAT;
    uint32_t m_le = cap_file_rd32(buf, 0), m_be = cap_file_rd32(buf, 1);
    if (m_le == CAP_PCAP_MAGIC_US || m_le == CAP_PCAP_MAGIC_NS || m_be == CAP_PCAP_MAGIC_US ||
        m_be == CAP_PCAP_MAGIC_NS)
        return cap_file_pcap_open(cf, m_le);
    if (m_le == CAP_NG_SHB) {
        size_t shb_len;
        cf->is_pcapng = 1;
        int rc = cap_file_ng_shb(cf, &shb_len);
        if (rc < 0)
            return rc;
        cf->off = shb_len;
        return 0;
    }
    return -CAP_E_FORMAT;
}

int cap_open_path(cap_file_t *cf, const char *path)
{
    struct stat st;
    memset(cf, 0, sizeof *cf);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -CAP_E_OPEN;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return -CAP_E_OPEN;
    }
    if (st.st_size == 0) {
        close(fd); /* mmap of zero bytes fails, and an empty file is no capture anyway */
        return -CAP_E_FORMAT;
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return -CAP_E_OPEN;
    int rc = cap_open_mem(cf, map, len);
    if (rc < 0) {
        munmap(map, len);
        memset(cf, 0, sizeof *cf);
        return rc;
    }
    cf->mapped = 1;
    return 0;
}

void cap_close(cap_file_t *cf)
{
    if (cf->mapped)
        munmap((void *)cf->buf, cf->len);
    memset(cf, 0, sizeof *cf);
}

int cap_next(cap_file_t *cf, cap_pkt_t *out)
{
    if (!cf->buf || cf->off > cf->len)
        return 0;
    return cf->is_pcapng ? cap_file_ng_next(cf, out) : cap_file_pcap_next(cf, out);
}
