/* pcap_write.h: writes UDP datagrams into a classic pcap file, as a capture on the wire.
 *
 * flowgen uses it to turn export datagrams into a capture that flowhuntd --read, tshark,
 * nfcapd's replayers and tcpreplay all accept. Each payload is wrapped in Ethernet (fixed
 * locally administered MACs), IPv4 (when both addresses are IPv4: DF set, TTL 64, an IP id
 * that counts up, a correct header checksum) or IPv6 (hop limit 64), and UDP with a correct
 * checksum, so tshark with checksum validation on finds nothing to complain about.
 *
 * The file is the classic pcap format with the nanosecond magic (0xa1b23c4d) and
 * LINKTYPE_ETHERNET, written little-endian whatever the host, so the same input gives the same
 * bytes everywhere. It is written under a temporary name in the target's directory and only
 * fsync'ed and renamed into place by pcapw_close(): a reader never sees half a capture.
 *
 * Functions return 0 or -1 with errno set (EINVAL: bad arguments or mixed address families,
 * EMSGSIZE: payload too large for one IP packet, or the errno of the failed system call).
 * After a failed write every later call fails too and pcapw_close() removes the temporary file.
 */
#ifndef FH_PCAP_WRITE_H
#define FH_PCAP_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"

/* Largest UDP payload one IPv4 packet can carry (65535 - 20 - 8); IPv6 allows 65527. */
#define PCAPW_MAX_PAYLOAD_V4 65507u
#define PCAPW_MAX_PAYLOAD_V6 65527u

typedef struct pcapw {
    FILE *f;
    char *path;         /* final name */
    char *tmp_path;     /* where the bytes go until pcapw_close() */
    uint16_t ip_id;     /* IPv4 identification of the next packet */
    int err;            /* errno of the first failure, 0 while all is well */
    uint64_t n_packets; /* records written */
    uint64_t n_bytes;   /* file size so far */
} pcapw_t;

/* Creates the temporary file next to `path` and writes the pcap file header. */
int pcapw_open(pcapw_t *w, const char *path);

/* Appends one frame carrying `len` bytes of `payload` from src:sport to dst:dport, stamped
 * ts_ns nanoseconds after the Unix epoch (up to the year 2106). Both addresses must be of the
 * same family. */
int pcapw_udp(pcapw_t *w, uint64_t ts_ns, const flow_addr_t *src, uint16_t sport,
              const flow_addr_t *dst, uint16_t dport, const uint8_t *payload, size_t len);

/* Flushes, fsyncs and renames the file into place, then releases `w`. When an earlier call
 * failed, or this one does, the temporary file is removed instead and -1 returned. */
int pcapw_close(pcapw_t *w);

/* Removes the temporary file without publishing anything and releases `w` (for a caller that
 * gives up half way). */
void pcapw_abort(pcapw_t *w);

#endif
