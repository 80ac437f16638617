/* replay.c: `flowgen --replay FILE.pcap --to ADDR:PORT [--speed X | --rate N]`.
 *
 * Sends the UDP payloads of any export capture (pcap or pcapng, read by the collector's own
 * capture reader, so whatever `flowhuntd --read` accepts can be replayed) to a collector.
 * Without --speed or --rate it sends as fast as sendmmsg allows; --speed X keeps the
 * capture's timing compressed X times; --rate N sends N datagrams per second. Each exporter
 * address of the capture gets a socket of its own (up to REPLAY_MAX_SOCKS); towards an IPv4
 * loopback target the k-th is bound to 127.0.1.k, so the collector sees as many exporters as
 * the capture had and keeps their templates and sequence numbers apart (Linux answers for
 * all of 127/8).
 */
#include "replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"

#define REPLAY_BATCH 64
#define REPLAY_MAX_SOCKS 64

typedef struct replay {
    struct sockaddr_storage to;
    socklen_t to_len;
    double speed, rate;
    int socks[REPLAY_MAX_SOCKS];
    flow_addr_t sock_src[REPLAY_MAX_SOCKS];
    int n_socks;
    /* pacing */
    uint64_t first_cap_ns, first_wall_ns, sent;
    int have_first;
    /* one sendmmsg batch per socket at a time */
    struct mmsghdr msgs[REPLAY_BATCH];
    struct iovec iov[REPLAY_BATCH];
    uint8_t bufs[REPLAY_BATCH][65536];
    int n_batch, batch_sock;
    uint64_t bytes;
    int err;
} replay_t;

static uint64_t replay_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void replay_sleep_until(uint64_t t_ns)
{
    uint64_t now = replay_now_ns();
    if (t_ns <= now)
        return;
    uint64_t d = t_ns - now;
    struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
    nanosleep(&ts, NULL);
}

static void replay_flush(replay_t *r)
{
    int off = 0;
    while (off < r->n_batch) {
        int n = sendmmsg(r->socks[r->batch_sock], r->msgs + off, (unsigned)(r->n_batch - off), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS || errno == EAGAIN) {
                replay_sleep_until(replay_now_ns() + 100000);
                continue;
            }
            r->err = errno;
            break;
        }
        off += n;
    }
    r->n_batch = 0;
}

static int replay_sock_for(replay_t *r, const flow_addr_t *src)
{
    for (int i = 0; i < r->n_socks; i++)
        if (memcmp(r->sock_src[i].b, src->b, 16) == 0)
            return i;
    if (r->n_socks == REPLAY_MAX_SOCKS)
        return (int)(src->b[15] % REPLAY_MAX_SOCKS); /* share: rare, and only mixes scopes */
    int fd = socket(r->to.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        r->err = errno;
        return -1;
    }
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    const struct sockaddr_in *to4 = (const struct sockaddr_in *)&r->to;
    if (r->to.ss_family == AF_INET && (ntohl(to4->sin_addr.s_addr) >> 24) == 127) {
        struct sockaddr_in me = {.sin_family = AF_INET};
        me.sin_addr.s_addr = htonl(0x7f000100u + (uint32_t)r->n_socks + 1);
        if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) {
            r->err = errno;
            close(fd);
            return -1;
        }
    }
    r->socks[r->n_socks] = fd;
    r->sock_src[r->n_socks] = *src;
    return r->n_socks++;
}

static void replay_on_dgram(void *arg, const cap_dgram_t *d)
{
    replay_t *r = arg;
    if (r->err || d->len > sizeof r->bufs[0])
        return;
    int k = replay_sock_for(r, &d->src);
    if (k < 0)
        return;
    if (r->n_batch && (k != r->batch_sock || r->n_batch == REPLAY_BATCH))
        replay_flush(r);
    /* Pacing decides when this datagram may leave; a batch never holds back a due one. */
    if (r->speed > 0 || r->rate > 0) {
        if (!r->have_first) {
            r->have_first = 1;
            r->first_cap_ns = d->ts_ns;
            r->first_wall_ns = replay_now_ns();
        }
        uint64_t due = r->first_wall_ns;
        if (r->rate > 0)
            due += (uint64_t)((double)r->sent * 1e9 / r->rate);
        else if (d->ts_ns > r->first_cap_ns)
            due += (uint64_t)((double)(d->ts_ns - r->first_cap_ns) / r->speed);
        if (due > replay_now_ns()) {
            replay_flush(r);
            replay_sleep_until(due);
        }
    }
    int i = r->n_batch++;
    r->batch_sock = k;
    memcpy(r->bufs[i], d->payload, d->len);
    r->iov[i].iov_base = r->bufs[i];
    r->iov[i].iov_len = d->len;
    memset(&r->msgs[i], 0, sizeof r->msgs[i]);
    r->msgs[i].msg_hdr.msg_name = &r->to;
    r->msgs[i].msg_hdr.msg_namelen = r->to_len;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->sent++;
    r->bytes += d->len;
}

int replay_parse_addr(const char *s, struct sockaddr_storage *to, socklen_t *to_len)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    memset(to, 0, sizeof *to);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)to;
        host[hl - 1] = '\0';
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        *to_len = sizeof *a;
        return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)to;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *to_len = sizeof *a;
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static int replay_parse_to(const char *s, replay_t *r)
{
    return replay_parse_addr(s, &r->to, &r->to_len);
}

int replay_main(int argc, char **argv)
{
    static const struct option opts[] = {{"replay", required_argument, NULL, 'r'},
                                         {"to", required_argument, NULL, 't'},
                                         {"speed", required_argument, NULL, 's'},
                                         {"rate", required_argument, NULL, 'R'},
                                         {NULL, 0, NULL, 0}};
    static replay_t r; /* large: the batch buffers */
    const char *file = NULL, *to = NULL;
    int c;
    memset(&r, 0, sizeof r);
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            file = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 's':
            r.speed = strtod(optarg, NULL);
            break;
        case 'R':
            r.rate = strtod(optarg, NULL);
            break;
        default:
            fprintf(stderr, "usage: flowgen --replay FILE.pcap --to ADDR:PORT "
                            "[--speed X | --rate DATAGRAMS_PER_S]\n");
            return 2;
        }
    }
    if (!file || !to || optind < argc || (r.speed > 0 && r.rate > 0) || r.speed < 0 ||
        r.rate < 0 || replay_parse_to(to, &r) != 0) {
        fprintf(stderr, "usage: flowgen --replay FILE.pcap --to ADDR:PORT "
                        "[--speed X | --rate DATAGRAMS_PER_S] (ADDR:PORT or [V6]:PORT)\n");
        return 2;
    }
    int opened;
    uint64_t t0 = replay_now_ns();
    int rc = cap_read_dgrams(file, replay_on_dgram, &r, &r.err, NULL, &opened);
    if (!opened) {
        if (rc != -CAP_E_NOMEM)
            fprintf(stderr, "flowgen: %s: %s\n", file, cap_strerror(rc));
        return 1;
    }
    if (r.n_batch && !r.err)
        replay_flush(&r);
    double secs = (double)(replay_now_ns() - t0) / 1e9;
    for (int i = 0; i < r.n_socks; i++)
        close(r.socks[i]);
    if (r.err) {
        fprintf(stderr, "flowgen: sending to %s: %s\n", to, strerror(r.err));
        return 1;
    }
    fprintf(stderr, "flowgen: replayed %llu datagrams (%llu bytes) from %d exporters to %s in "
                    "%.3f s (%.0f datagrams/s)\n",
            (unsigned long long)r.sent, (unsigned long long)r.bytes, r.n_socks, to, secs,
            secs > 0 ? (double)r.sent / secs : 0.0);
    return rc < 0 ? 1 : 0;
}
