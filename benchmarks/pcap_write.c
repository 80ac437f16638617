/* pcap_write.c: the pcap writer (see pcap_write.h).
 *
 * Formats: pcap file and record headers as in draft-ietf-opsawg-pcap (section 4: file header,
 * section 5: packet record); Ethernet II; IPv4 (RFC 791 section 3.1, header checksum RFC 1071);
 * IPv6 (RFC 8200 section 3); UDP (RFC 768, checksum over the pseudo-header; for IPv6 RFC 8200
 * section 8.1, where a zero checksum is not allowed).
 *
 * Headers are built in a small stack buffer and written with the payload as it is: no copy of
 * the payload is made, the checksum is summed over the caller's bytes in place.
 */
#include "pcap_write.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCAPW_MAGIC_NS 0xa1b23c4du
#define PCAPW_LINKTYPE_ETHERNET 1u
#define PCAPW_SNAPLEN 262144u /* what tcpdump uses; larger than any frame we write */
#define PCAPW_ETH_LEN 14
#define PCAPW_IP4_LEN 20
#define PCAPW_IP6_LEN 40
#define PCAPW_UDP_LEN 8

/* Locally administered unicast MACs (bit 1 of the first octet set, bit 0 clear): they can never
 * collide with a real vendor's address. */
static const uint8_t pcapw_mac_src[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
static const uint8_t pcapw_mac_dst[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02};

static uint8_t *pcapw_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
    return p + 4;
}

static uint8_t *pcapw_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

/* RFC 1071 sum of 16-bit big-endian words, not yet folded or complemented. An odd length is
 * padded with a zero byte, which is right only for the last piece summed: every piece before
 * the payload (pseudo-header, headers) has an even length. */
static uint64_t pcapw_sum(uint64_t acc, const uint8_t *p, size_t len)
{
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (i < len)
        acc += (uint32_t)p[i] << 8;
    return acc;
}

static uint16_t pcapw_fold(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* Records the first failure; every later call reports it again. */
static int pcapw_fail(pcapw_t *w, int err)
{
    if (!w->err)
        w->err = err;
    errno = w->err;
    return -1;
}

static int pcapw_write(pcapw_t *w, const void *p, size_t len)
{
    errno = 0; /* fwrite need not set errno on every failure */
    if (len && fwrite(p, 1, len, w->f) != len)
        return pcapw_fail(w, errno ? errno : EIO);
    w->n_bytes += len;
    return 0;
}

static void pcapw_release(pcapw_t *w)
{
    free(w->path);
    free(w->tmp_path);
    w->path = NULL;
    w->tmp_path = NULL;
    w->f = NULL;
}

int pcapw_open(pcapw_t *w, const char *path)
{
    memset(w, 0, sizeof *w);
    if (!path || !*path) {
        errno = EINVAL;
        return -1;
    }
    /* The temporary file must be in the target's directory: rename() is atomic only within one
     * file system. A leading dot keeps it out of shell globs like *.pcap meanwhile. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    size_t tmp_cap = strlen(path) + sizeof ".tmp-XXXXXX" + 1;
    w->path = strdup(path);
    w->tmp_path = malloc(tmp_cap);
    if (!w->path || !w->tmp_path) {
        pcapw_release(w);
        errno = ENOMEM;
        return -1;
    }
    snprintf(w->tmp_path, tmp_cap, "%.*s.%s.tmp-XXXXXX", (int)dir_len, path, path + dir_len);
    int fd = mkstemp(w->tmp_path);
    if (fd < 0) {
        int e = errno;
        pcapw_release(w);
        errno = e;
        return -1;
    }
    /* mkstemp creates the file 0600; a capture is not a secret and others read it. */
    if (fchmod(fd, 0644) != 0 || !(w->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        unlink(w->tmp_path);
        pcapw_release(w);
        errno = e;
        return -1;
    }

    uint8_t hdr[24], *p = hdr;
    p = pcapw_le32(p, PCAPW_MAGIC_NS);
    p = pcapw_le16(p, 2); /* version 2.4 */
    p = pcapw_le16(p, 4);
    p = pcapw_le32(p, 0); /* reserved (thiszone) */
    p = pcapw_le32(p, 0); /* reserved (sigfigs) */
    p = pcapw_le32(p, PCAPW_SNAPLEN);
    pcapw_le32(p, PCAPW_LINKTYPE_ETHERNET);
    if (pcapw_write(w, hdr, sizeof hdr) != 0) {
        int e = errno;
        pcapw_abort(w);
        errno = e;
        return -1;
    }
    return 0;
}

int pcapw_udp(pcapw_t *w, uint64_t ts_ns, const flow_addr_t *src, uint16_t sport,
              const flow_addr_t *dst, uint16_t dport, const uint8_t *payload, size_t len)
{
    if (!w->f) {
        errno = EINVAL;
        return -1;
    }
    if (w->err)
        return pcapw_fail(w, w->err);
    int v4 = flow_addr_is_v4(src);
    /* An IPv4-mapped address inside an IPv6 header is not what any exporter sends; refuse a
     * mix rather than invent one. */
    if (v4 != flow_addr_is_v4(dst) || (len && !payload) || ts_ns / 1000000000u > UINT32_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (len > (v4 ? PCAPW_MAX_PAYLOAD_V4 : PCAPW_MAX_PAYLOAD_V6)) {
        errno = EMSGSIZE;
        return -1;
    }

    uint8_t hdr[16 + PCAPW_ETH_LEN + PCAPW_IP6_LEN + PCAPW_UDP_LEN];
    size_t ip_len = v4 ? PCAPW_IP4_LEN : PCAPW_IP6_LEN;
    uint16_t udp_len = (uint16_t)(PCAPW_UDP_LEN + len);
    uint32_t frame_len = (uint32_t)(PCAPW_ETH_LEN + ip_len + udp_len);
    uint8_t *p = hdr;

    /* Packet record header: seconds, nanoseconds, captured length, original length. */
    p = pcapw_le32(p, (uint32_t)(ts_ns / 1000000000u));
    p = pcapw_le32(p, (uint32_t)(ts_ns % 1000000000u));
    p = pcapw_le32(p, frame_len);
    p = pcapw_le32(p, frame_len);

    memcpy(p, pcapw_mac_dst, 6);
    memcpy(p + 6, pcapw_mac_src, 6);
    p = wire_be16(p + 12, v4 ? 0x0800 : 0x86dd);

    /* The UDP checksum's pseudo-header: addresses, protocol, UDP length. */
    uint64_t acc = 0;
    uint8_t *ip = p;
    if (v4) {
        ip[0] = 0x45; /* version 4, IHL 5 words */
        ip[1] = 0;    /* DSCP/ECN */
        wire_be16(ip + 2, (uint16_t)(PCAPW_IP4_LEN + udp_len));
        wire_be16(ip + 4, w->ip_id);
        wire_be16(ip + 6, 0x4000); /* DF, fragment offset 0 */
        ip[8] = 64;                /* TTL */
        ip[9] = 17;                /* UDP */
        wire_be16(ip + 10, 0);
        memcpy(ip + 12, src->b + 12, 4);
        memcpy(ip + 16, dst->b + 12, 4);
        wire_be16(ip + 10, pcapw_fold(pcapw_sum(0, ip, PCAPW_IP4_LEN)));
        acc = pcapw_sum(acc, ip + 12, 8);
    } else {
        ip[0] = 0x60; /* version 6, traffic class 0, flow label 0 */
        ip[1] = ip[2] = ip[3] = 0;
        wire_be16(ip + 4, udp_len);
        ip[6] = 17; /* next header: UDP */
        ip[7] = 64; /* hop limit */
        memcpy(ip + 8, src->b, 16);
        memcpy(ip + 24, dst->b, 16);
        acc = pcapw_sum(acc, ip + 8, 32);
    }
    acc += 17u + udp_len;
    p = ip + ip_len;

    uint8_t *udp = p;
    wire_be16(udp, sport);
    wire_be16(udp + 2, dport);
    wire_be16(udp + 4, udp_len);
    wire_be16(udp + 6, 0);
    acc = pcapw_sum(acc, udp, PCAPW_UDP_LEN);
    acc = pcapw_sum(acc, payload, len);
    uint16_t ck = pcapw_fold(acc);
    /* RFC 768: a computed zero is sent as all ones, zero meaning "no checksum". */
    wire_be16(udp + 6, ck ? ck : 0xffff);
    p = udp + PCAPW_UDP_LEN;

    if (pcapw_write(w, hdr, (size_t)(p - hdr)) != 0 || pcapw_write(w, payload, len) != 0)
        return -1;
    if (v4)
        w->ip_id++;
    w->n_packets++;
    return 0;
}

int pcapw_close(pcapw_t *w)
{
    if (!w->f) {
        errno = EINVAL;
        return -1;
    }
    if (!w->err && fflush(w->f) != 0)
        pcapw_fail(w, errno);
    if (!w->err && fsync(fileno(w->f)) != 0)
        pcapw_fail(w, errno);
    if (fclose(w->f) != 0)
        pcapw_fail(w, errno);
    w->f = NULL;
    if (!w->err && rename(w->tmp_path, w->path) != 0)
        pcapw_fail(w, errno);
    if (w->err) {
        int e = w->err;
        unlink(w->tmp_path);
        pcapw_release(w);
        errno = e;
        return -1;
    }
    /* Make the rename itself durable. Best effort: the file is already in place, and some file
     * systems refuse fsync on a directory. */
    char *slash = strrchr(w->path, '/');
    if (slash)
        *slash = '\0';
    int dfd = open(slash ? (slash == w->path ? "/" : w->path) : ".", O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    pcapw_release(w);
    return 0;
}

void pcapw_abort(pcapw_t *w)
{
    if (w->f)
        fclose(w->f);
    if (w->tmp_path)
        unlink(w->tmp_path);
    pcapw_release(w);
}
