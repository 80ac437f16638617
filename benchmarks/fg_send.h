/* fg_send.h: flowgen's live output and the bare receiver it is measured against (fg_send.c).
 *
 * `--to ADDR:PORT [--rate FLOWS_PER_S]` sends the export datagrams over UDP with sendmmsg
 * instead of writing a capture: each exporter from its own socket (towards an IPv4 loopback
 * target bound to 127.0.1.(k+1), so the collector sees distinct exporters), paced to the rate
 * in flows per second or as fast as the socket takes them.
 *
 * `flowgen --sink ADDR:PORT [--count N] [--idle MS]` is the loopback ceiling of `make bench`:
 * a receiver that does nothing but recvmmsg, counting datagrams until N have arrived or none
 * for MS milliseconds after the first, then prints datagrams and bytes per second. */
#ifndef FH_FG_SEND_H
#define FH_FG_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FG_SEND_BATCH 64
#define FG_SEND_MAX_SOCKS 256
#define FG_SEND_MAX_LEN 9000 /* FG_MTU_MAX: --mtu up to a jumbo frame, over --to too */

typedef struct fg_send {
    struct sockaddr_storage to;
    socklen_t to_len;
    double rate; /* flows per second; 0: as fast as possible */
    int socks[FG_SEND_MAX_SOCKS];
    uint32_t n_socks;
    struct mmsghdr msgs[FG_SEND_BATCH];
    struct iovec iov[FG_SEND_BATCH];
    uint8_t bufs[FG_SEND_BATCH][FG_SEND_MAX_LEN];
    int n_batch, batch_sock;
    uint64_t t0_ns, dgrams, flows, bytes;
    int err; /* errno of the first failure */
} fg_send_t;

/* 0, or -1 when `to` is not ADDR:PORT / [V6]:PORT. */
int fg_send_open(fg_send_t *s, const char *to, double rate);
/* Queues one datagram of exporter `exporter` carrying n_flows records; 0 or -1 (errno). */
int fg_send_put(fg_send_t *s, uint32_t exporter, const uint8_t *buf, size_t len, uint32_t n_flows);
/* Sends what is queued and closes the sockets; 0 or -1 (errno of the first failure). */
int fg_send_close(fg_send_t *s);
double fg_send_seconds(const fg_send_t *s);

/* `flowgen --sink ...`; returns the exit status. */
int fg_sink_main(int argc, char **argv);

#endif
