/* capture.h: export datagrams out of packet captures (pcap and pcapng files).
 *
 * Two small pure layers, so each can be fuzzed alone:
 *   cap_file: walks the records of a pcap or pcapng image in memory and hands out frames
 *             (timestamp, link type, bytes). It never trusts a length field.
 *   cap_udp:  turns a frame into a UDP datagram: link layer (Ethernet with VLAN tags, Linux
 *             cooked v1 and v2, raw IP, BSD loopback), IPv4 and IPv6 (extension headers), IP
 *             fragments reassembled within fixed bounds; anything else is counted and skipped.
 * cap_read_dgrams() strings the two together for a file on disk; `flowhuntd --read` feeds the
 * datagrams to the same ingest function the live daemon uses.
 */
#ifndef FH_CAPTURE_H
#define FH_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* Errors that end the walk of a capture file (CAP_E_NOMEM only from cap_read_dgrams). */
#define CAP_FILE_ERRORS(X)                                                                         \
    X(CAP_E_OPEN, "cannot open or map the file")                                                   \
    X(CAP_E_FORMAT, "neither a pcap nor a pcapng file")                                            \
    X(CAP_E_TRUNCATED, "file ends inside a record header or record")                               \
    X(CAP_E_BAD_RECORD, "record length or block length is invalid")                                \
    X(CAP_E_NOMEM, "out of memory")

typedef enum cap_err {
    CAP_OK = 0,
#define CAP_X_ENUM(code, msg) code,
    CAP_FILE_ERRORS(CAP_X_ENUM)
#undef CAP_X_ENUM
} cap_err_t;

/* Message for a CAP_E_* code (given as a positive or negative value). */
const char *cap_strerror(int err);

/* One captured frame. `data` points into the capture image and lives as long as it does. */
typedef struct cap_pkt {
    uint64_t ts_ns;    /* capture timestamp, ns since the Unix epoch */
    uint32_t linktype; /* LINKTYPE_* value (tcpdump.org link-layer header types) */
    uint32_t caplen;   /* bytes present in data */
    uint32_t origlen;  /* bytes the frame had on the wire */
    const uint8_t *data;
} cap_pkt_t;

#define CAP_MAX_IFACES 64 /* pcapng interfaces remembered; frames on others are skipped */

typedef struct cap_file {
    const uint8_t *buf; /* the whole image; borrowed for cap_open_mem, mapped by cap_open_path */
    size_t len;
    size_t off;         /* next record */
    int mapped;         /* 1 when buf is our mmap */
    int is_pcapng;
    int swapped;        /* file byte order differs from ours */
    uint32_t linktype;  /* pcap: the file's link type */
    uint32_t ts_scale;  /* pcap: 1000 for microsecond files, 1 for nanosecond files */
    /* pcapng: per interface of the current section */
    uint32_t n_ifaces;
    uint32_t if_linktype[CAP_MAX_IFACES];
    uint64_t if_tsres_num[CAP_MAX_IFACES]; /* ts_ns = ts * num / den */
    uint64_t if_tsres_den[CAP_MAX_IFACES];
    uint32_t if0_snaplen;      /* pcapng: SnapLen of interface 0, for Simple Packet Blocks */
    uint64_t n_skipped_blocks; /* pcapng blocks of kinds we do not read */
} cap_file_t;

/* Opens an image held in memory (borrowed: it must outlive the cap_file_t). 0 or -CAP_E_*. */
int cap_open_mem(cap_file_t *cf, const uint8_t *buf, size_t len);
/* Maps a file read-only and opens it. 0 or -CAP_E_*. */
int cap_open_path(cap_file_t *cf, const char *path);
void cap_close(cap_file_t *cf);
/* Next frame: 1 and *out filled, 0 at the clean end of the file, or -CAP_E_* when the rest of
 * the file cannot be read (the frames before it were good). */
int cap_next(cap_file_t *cf, cap_pkt_t *out);

/* Counters of cap_udp, each a reason a frame gave no datagram, or what reassembly did. */
#define CAP_UDP_COUNTERS(X)                                                                        \
    X(frames, "frames seen")                                                                       \
    X(datagrams, "UDP datagrams delivered")                                                        \
    X(unsupported_linktype, "frames of a link type we do not decode")                             \
    X(not_ip, "frames that carry neither IPv4 nor IPv6")                                           \
    X(not_udp, "IP packets that carry no UDP")                                                     \
    X(truncated, "frames cut short by the capture snap length or malformed lengths")               \
    X(bad_ip_header, "IP headers with a bad version, header length or total length")              \
    X(bad_udp_length, "UDP length field shorter than its header or past the IP payload")         \
    X(fragments, "IP fragments seen")                                                              \
    X(reassembled, "datagrams reassembled from fragments")                                         \
    X(frag_expired, "incomplete fragment sets dropped after the timeout")                          \
    X(frag_evicted, "incomplete fragment sets dropped because the table was full")                 \
    X(frag_bad, "fragments dropped as overlapping, oversized or inconsistent")

typedef struct cap_udp_stats {
#define CAP_X_FIELD(name, desc) uint64_t name;
    CAP_UDP_COUNTERS(CAP_X_FIELD)
#undef CAP_X_FIELD
} cap_udp_stats_t;

/* One UDP datagram. `payload` points into the frame or into reassembly storage and is valid
 * only during the callback. */
typedef struct cap_dgram {
    uint64_t ts_ns;
    flow_addr_t src, dst;
    uint16_t sport, dport;
    const uint8_t *payload;
    size_t len;
} cap_dgram_t;

typedef void (*cap_dgram_fn)(void *arg, const cap_dgram_t *d);

#define CAP_FRAG_SLOTS 64         /* fragment sets reassembled at once */
#define CAP_FRAG_TIMEOUT_NS 30000000000ull /* in capture time */

struct cap_frag; /* reassembly slot, private to cap_udp.c */

typedef struct cap_udp {
    cap_udp_stats_t stats;
    struct cap_frag *frags; /* CAP_FRAG_SLOTS slots, allocated once by cap_udp_init */
    uint32_t n_frag_used;   /* private: slots holding an incomplete set */
    uint64_t frag_oldest_ns; /* private: earliest first-fragment time among them */
} cap_udp_t;

int cap_udp_init(cap_udp_t *cu); /* 0, or -1 when out of memory */
void cap_udp_free(cap_udp_t *cu);
/* Decodes one frame; calls fn once for each datagram it completes (0 or 1 times). */
void cap_udp_feed(cap_udp_t *cu, const cap_pkt_t *pkt, cap_dgram_fn fn, void *arg);

/* Reads the capture at `path` to its end and calls fn for each UDP datagram: open, cap_udp,
 * the frame loop and both frees in one place, so every reader of a capture file (flowhuntd
 * --read, flowgen --replay, bench_store) walks it the same way and none leaks on an early exit.
 * `stop`, when not NULL, is looked at before each frame: a callback ends the read by setting it
 * (replay does on a send error). *stats (when not NULL) gets cap_udp's counters.
 * Returns 0 at the clean end of the file or when stopped, else a negative CAP_E_* code; the
 * two kinds of failure need different reports, so *out_opened (when not NULL) tells them apart:
 *   0: the file could not be opened (CAP_E_OPEN, CAP_E_FORMAT, CAP_E_TRUNCATED for a short
 *      file header) or CAP_E_NOMEM; fn was never called;
 *   1: the file was walked; a negative return is then the bad record that ended the walk
 *      after stats->frames good frames, whose datagrams were all delivered. */
int cap_read_dgrams(const char *path, cap_dgram_fn fn, void *arg, const int *stop,
                    cap_udp_stats_t *stats, int *out_opened);

#endif
