/* fg_send.c: sending flowgen's datagrams over UDP (sendmmsg, paced in flows per second) and
 * the bare recvmmsg receiver that measures the loopback ceiling. See fg_send.h. */
#include "fg_send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

static uint64_t fg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fg_sleep_until(uint64_t t_ns)
{
    uint64_t now = fg_now_ns();
    if (t_ns <= now)
        return;
    uint64_t d = t_ns - now;
    struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
    nanosleep(&ts, NULL);
}

int fg_send_open(fg_send_t *s, const char *to, double rate)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < FG_SEND_MAX_SOCKS; i++)
        s->socks[i] = -1;
    s->rate = rate;
    s->t0_ns = fg_now_ns();
    return replay_parse_addr(to, &s->to, &s->to_len);
}

static void fg_send_flush(fg_send_t *s)
{
    int off = 0;
    while (off < s->n_batch && !s->err) {
        int n = sendmmsg(s->socks[s->batch_sock], s->msgs + off, (unsigned)(s->n_batch - off), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS || errno == EAGAIN) { /* the socket is full: let it drain */
                fg_sleep_until(fg_now_ns() + 100000);
                continue;
            }
            s->err = errno;
            break;
        }
        off += n;
    }
    s->n_batch = 0;
}

/* The socket of exporter k, opened on first use. */
static int fg_send_sock(fg_send_t *s, uint32_t k)
{
    if (k >= FG_SEND_MAX_SOCKS) {
        s->err = EINVAL;
        return -1;
    }
    if (s->socks[k] >= 0)
        return s->socks[k];
    int fd = socket(s->to.ss_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        s->err = errno;
        return -1;
    }
    int buf = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    const struct sockaddr_in *to4 = (const struct sockaddr_in *)&s->to;
    if (s->to.ss_family == AF_INET && (ntohl(to4->sin_addr.s_addr) >> 24) == 127 && k < 254) {
        struct sockaddr_in me = {.sin_family = AF_INET};
        me.sin_addr.s_addr = htonl(0x7f000100u + k + 1);
        if (bind(fd, (struct sockaddr *)&me, sizeof me) != 0) {
            s->err = errno;
            close(fd);
            return -1;
        }
    }
    s->socks[k] = fd;
    s->n_socks++;
    return fd;
}

int fg_send_put(fg_send_t *s, uint32_t exporter, const uint8_t *buf, size_t len, uint32_t n_flows)
{
    if (s->err)
        return -1;
    if (len > FG_SEND_MAX_LEN) {
        s->err = EMSGSIZE;
        return -1;
    }
    if (fg_send_sock(s, exporter) < 0)
        return -1;
    if (s->n_batch && ((uint32_t)s->batch_sock != exporter || s->n_batch == FG_SEND_BATCH))
        fg_send_flush(s);
    if (s->rate > 0) { /* this datagram may leave once the flows before it have had their time */
        uint64_t due = s->t0_ns + (uint64_t)((double)s->flows * 1e9 / s->rate);
        if (due > fg_now_ns()) {
            fg_send_flush(s);
            fg_sleep_until(due);
        }
    }
    int i = s->n_batch++;
    s->batch_sock = (int)exporter;
    memcpy(s->bufs[i], buf, len);
    s->iov[i].iov_base = s->bufs[i];
    s->iov[i].iov_len = len;
    memset(&s->msgs[i], 0, sizeof s->msgs[i]);
    s->msgs[i].msg_hdr.msg_name = &s->to;
    s->msgs[i].msg_hdr.msg_namelen = s->to_len;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
    s->dgrams++;
    s->flows += n_flows;
    s->bytes += len;
    if (s->err) {
        errno = s->err;
        return -1;
    }
    return 0;
}

int fg_send_close(fg_send_t *s)
{
    if (s->n_batch && !s->err)
        fg_send_flush(s);
    for (int i = 0; i < FG_SEND_MAX_SOCKS; i++)
        if (s->socks[i] >= 0)
            close(s->socks[i]);
    if (s->err) {
        errno = s->err;
        return -1;
    }
    return 0;
}

double fg_send_seconds(const fg_send_t *s)
{
    return (double)(fg_now_ns() - s->t0_ns) / 1e9;
}

/* ---- the bare receiver ---- */

#define FG_SINK_BATCH 64
#define FG_SINK_SLAB 65536

static int fg_sink_usage(void)
{
    fprintf(stderr, "usage: flowgen --sink ADDR:PORT [--count N] [--idle MS]\n"
                    "  (PORT 0: any free port, printed on stderr once listening)\n");
    return 2;
}

int fg_sink_main(int argc, char **argv)
{
    static const struct option opts[] = {{"sink", required_argument, NULL, 's'},
                                         {"count", required_argument, NULL, 'c'},
                                         {"idle", required_argument, NULL, 'i'},
                                         {NULL, 0, NULL, 0}};
    const char *at = NULL;
    unsigned long long count = 0;
    long idle_ms = 2000;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end = NULL;
        if (c == 's')
            at = optarg;
        else if (c == 'c')
            count = strtoull(optarg, &end, 10);
        else if (c == 'i')
            idle_ms = strtol(optarg, &end, 10);
        else
            return fg_sink_usage();
        if (end && (*end || end == optarg))
            return fg_sink_usage();
    }
    struct sockaddr_storage me;
    socklen_t me_len;
    if (!at || optind < argc || idle_ms <= 0 || replay_parse_addr(at, &me, &me_len) != 0) {
        /* replay_parse_addr refuses port 0, which the sink allows: retry with it replaced */
        char tmp[160];
        size_t n = at ? strlen(at) : 0;
        if (!at || n < 2 || n >= sizeof tmp - 4 || strcmp(at + n - 2, ":0") != 0 || optind < argc ||
            idle_ms <= 0)
            return fg_sink_usage();
        snprintf(tmp, sizeof tmp, "%.*s:1", (int)(n - 2), at);
        if (replay_parse_addr(tmp, &me, &me_len) != 0)
            return fg_sink_usage();
        ((struct sockaddr_in *)&me)->sin_port = 0; /* same offset in sockaddr_in6 */
    }
    int fd = socket(me.ss_family, SOCK_DGRAM, 0);
    int rcv = 32 << 20;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv) != 0 ||
        bind(fd, (struct sockaddr *)&me, me_len) != 0 ||
        getsockname(fd, (struct sockaddr *)&me, &me_len) != 0) {
        fprintf(stderr, "flowgen: --sink %s: %s\n", at, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    struct timeval tv = {.tv_sec = idle_ms / 1000, .tv_usec = (idle_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    fprintf(stderr, "flowgen: sink listening on port %u\n",
            ntohs(((struct sockaddr_in *)&me)->sin_port));
    fflush(stderr);
    static uint8_t slab[FG_SINK_BATCH][FG_SINK_SLAB];
    struct mmsghdr msgs[FG_SINK_BATCH];
    struct iovec iov[FG_SINK_BATCH];
    uint64_t n = 0, bytes = 0, first = 0, last = 0;
    for (;;) {
        for (int i = 0; i < FG_SINK_BATCH; i++) {
            iov[i].iov_base = slab[i];
            iov[i].iov_len = FG_SINK_SLAB;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int got = recvmmsg(fd, msgs, FG_SINK_BATCH, MSG_WAITFORONE, NULL);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (n > 0)
                    break; /* idle after traffic: the sender is done */
                continue;  /* still waiting for the first datagram */
            }
            fprintf(stderr, "flowgen: recvmmsg: %s\n", strerror(errno));
            close(fd);
            return 1;
        }
        if (n == 0)
            first = fg_now_ns();
        last = fg_now_ns();
        for (int i = 0; i < got; i++)
            bytes += msgs[i].msg_len;
        n += (uint64_t)got;
        if (count && n >= count)
            break;
    }
    close(fd);
    double secs = (double)(last - first) / 1e9;
    printf("datagrams %llu bytes %llu seconds %.6f datagrams_per_s %.0f\n", (unsigned long long)n,
           (unsigned long long)bytes, secs, secs > 0 ? (double)n / secs : 0.0);
    return 0;
}
