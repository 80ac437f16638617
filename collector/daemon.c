/* daemon.c: the receive loop and the service around it (see daemon.h). */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "known_store.h"
#include "log.h"
#include "printq.h"
#include "seg.h"
#include "worker.h"

/* The loop reads up to DAEMON_BATCH datagrams per recvmmsg call, each into a slab that
 * holds the largest UDP payload. libuv's own recvmmsg reads at most 20 per call and at most
 * 32 per wake-up (an epoll_wait each); this reads until the socket is empty. Slab pages the
 * datagrams do not reach are never touched, so they cost address space, not memory. */
#define DAEMON_BATCH 64
#define DAEMON_SLAB (64 * 1024)
/* Reads (naps included) per readiness callback before the loop runs its timers and signals;
 * the socket is level-triggered, so what is left is read on the next turn. */
#define DAEMON_READS_PER_TURN 64
/* The nap when the socket runs empty: 0.25 ms with the default buffer (40 datagrams at
 * 160k/s, well inside 208 KiB), longer in proportion to a larger one, up to 1 ms: each nap
 * is a context switch, and a buffer of MiBs holds milliseconds of traffic. */
#define DAEMON_NAP_NS 250000L
#define DAEMON_NAP_MAX_NS 1000000L
#define DAEMON_NAP_BUF (208 * 1024)

typedef struct daemon_listener {
    uv_poll_t poll; /* readiness of fd; the reads are ours */
    int fd;         /* -1 when not open */
    int polling;    /* poll was initialised (must be closed) */
    char name[80];  /* ADDR:PORT as bound */
    uint8_t *buf;   /* DAEMON_BATCH slabs, reused for every read */
    struct mmsghdr msgs[DAEMON_BATCH];
    struct iovec iov[DAEMON_BATCH];
    struct sockaddr_storage from[DAEMON_BATCH];
    int busy;     /* read a datagram since the socket was last found empty */
    long nap_ns;  /* see DAEMON_NAP_NS */
    int rcvbuf;   /* the buffer the kernel granted, as it reports it (twice the data) */
    uint64_t datagrams, refused, queue_full, shed, recv_errors;
    uint64_t behind_logged_ns; /* when a worker's full queue was last logged */
    uint64_t kernel_drops;     /* sk_drops, with its wraps counted */
    uint32_t kernel_drops_raw; /* the kernel's 32-bit value at the last reading */
    struct daemon *d;
} daemon_listener_t;

typedef struct daemon {
    const daemon_opts_t *opts;
    uv_loop_t loop;
    daemon_listener_t listeners[DAEMON_MAX_LISTENERS];
    int n_listeners;
    flow_net_t allow[DAEMON_MAX_ALLOW];
    int n_allow;
    worker_t workers[DAEMON_MAX_WORKERS];
    int n_workers;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t stats_timer, write_timer; /* ask the workers to publish; then write */
    char state_dir[4096];
    uint64_t known_saved[DQ_KNOWN_WORDS]; /* the known-exporter map as last written */
    pq_t *print;                          /* --print: the flows' way to stdout, or NULL */
    int stopping;
    int ready_written; /* the ready file is ours to remove at stop */
} daemon_t;

/* ---- addresses and the allow-list -------------------------------------------------------- */

int daemon_parse_listen(const char *s, struct sockaddr_storage *ss)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strlen(s) >= sizeof host)
        return -1;
    size_t hl = (size_t)(colon - s);
    memcpy(host, s, hl);
    host[hl] = '\0';
    /* digits only: strtol reads "" (ADDR: with no port) as 0, a random port */
    size_t nd = strspn(colon + 1, "0123456789");
    long port = nd && nd <= 5 && !colon[1 + nd] ? strtol(colon + 1, NULL, 10) : -1;
    if (port < 0 || port > 65535)
        return -1;
    memset(ss, 0, sizeof *ss);
    if (host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss) == 0 ? 0 : -1;
    }
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ? 0 : -1;
}

static void daemon_sockaddr_name(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(s6, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        uv_ip4_name(s4, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
    }
}

static void daemon_sockaddr_to_addr(const struct sockaddr *sa, flow_addr_t *a)
{
    if (sa->sa_family == AF_INET6)
        flow_addr_from_v6_bytes(a, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
    else
        flow_addr_from_v4_bytes(a, (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr);
}

static int daemon_allowed(const daemon_t *d, const flow_addr_t *a)
{
    if (d->n_allow == 0)
        return 1;
    for (int i = 0; i < d->n_allow; i++)
        if (flow_net_has(&d->allow[i], a))
            return 1;
    return 0;
}

/* ---- receiving -------------------------------------------------------------------------- */

static uint64_t daemon_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define DAEMON_BEHIND_LOG_NS 60000000000ull

/* One datagram of a batch: counted, checked against the allow-list, copied to its worker. */
static void daemon_deliver(daemon_listener_t *l, const struct sockaddr *addr, const uint8_t *data,
                           size_t len, uint64_t batch_ns)
{
    daemon_t *d = l->d;
    flow_addr_t src;
    daemon_sockaddr_to_addr(addr, &src);
    l->datagrams++;
    if (!daemon_allowed(d, &src)) {
        l->refused++;
        return;
    }
    worker_t *w = &d->workers[worker_for(&src, d->n_workers)];
    int rc = dq_push(&w->q, &src, batch_ns, data, len);
    if (rc == DQ_OK)
        return;
    if (rc == DQ_FULL)
        l->queue_full++;
    else
        l->shed++;
    /* A worker behind is worth a line, once a minute at most, by the batch's clock reading
     * (a limiter's own clock and lock would cost every dropped datagram of a flood). */
    if (batch_ns - l->behind_logged_ns >= DAEMON_BEHIND_LOG_NS || !l->behind_logged_ns) {
        l->behind_logged_ns = batch_ns;
        char from[INET6_ADDRSTRLEN + 8];
        daemon_sockaddr_name(addr, from, sizeof from);
        log_msg(LOG_WARN,
                rc == DQ_FULL ? "worker %d is behind: its queue is full, datagrams are dropped "
                                "(%s, ...; counted: cause=queue_full)"
                              : "worker %d is behind: its queue is over half full, datagrams "
                                "from sources it has decoded no flows from are shed (%s, ...; "
                                "counted: cause=shed)",
                (int)(w - d->workers), from);
    }
}

/* The socket is readable: read it empty in batches. While datagrams are flowing, nap once
 * it is empty and look again before going back to epoll: waking on every datagram cost the
 * daemon a context switch each (an eighth of its CPU on two cores); the kernel buffer holds
 * the nap's traffic easily (see DAEMON_NAP_NS), and the next reads take it in few batches. */
static void daemon_on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    daemon_listener_t *l = p->data;
    static log_limit_t lim = LOG_LIMIT_INIT(5, 60);
    if (status < 0) {
        l->recv_errors++;
        log_limited(&lim, LOG_WARN, "receive error on %s: %s", l->name, uv_strerror(status));
        return;
    }
    for (int reads = 0; reads < DAEMON_READS_PER_TURN; reads++) {
        for (int i = 0; i < DAEMON_BATCH; i++)
            l->msgs[i].msg_hdr.msg_namelen = sizeof l->from[i]; /* the kernel shortens it */
        int n = recvmmsg(l->fd, l->msgs, DAEMON_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                l->recv_errors++;
                log_limited(&lim, LOG_WARN, "receive error on %s: %s", l->name,
                            strerror(errno));
                return;
            }
            if (!l->busy)
                return; /* empty, and was at the last look: back to epoll */
            l->busy = 0;
            struct timespec nap = {0, l->nap_ns};
            nanosleep(&nap, NULL);
            continue;
        }
        l->busy = 1;
        /* One clock reading per batch: its datagrams arrived together. */
        uint64_t batch_ns = daemon_now_ns();
        for (int i = 0; i < n; i++)
            daemon_deliver(l, (const struct sockaddr *)&l->from[i], l->iov[i].iov_base,
                           l->msgs[i].msg_len, batch_ns);
    }
}

/* At stop: what waits in the socket's buffer was received, and stopping promises to store
 * it; closing the socket discarded it, counted nowhere (4600 datagrams queued while the loop
 * was busy, 4096 stored: one turn's reads). Read until empty, but no more than the buffer
 * can hold (a datagram takes at least DAEMON_MIN_TRUESIZE of it), so a flood that goes on
 * cannot hold the stop off. */
#define DAEMON_MIN_TRUESIZE 256

static void daemon_drain(daemon_listener_t *l)
{
    long left = l->rcvbuf / DAEMON_MIN_TRUESIZE + DAEMON_BATCH;
    while (l->fd >= 0 && left > 0) {
        for (int i = 0; i < DAEMON_BATCH; i++)
            l->msgs[i].msg_hdr.msg_namelen = sizeof l->from[i];
        int n = recvmmsg(l->fd, l->msgs, DAEMON_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* empty (or an error, counted by the reads before) */
        uint64_t batch_ns = daemon_now_ns();
        for (int i = 0; i < n; i++)
            daemon_deliver(l, (const struct sockaddr *)&l->from[i], l->iov[i].iov_base,
                           l->msgs[i].msg_len, batch_ns);
        left -= n;
    }
}

/* Datagrams the kernel discarded on this socket because its buffer was full (sk_drops, the
 * last column of /proc/net/udp), read from the socket itself. Kept in the listener, because
 * the last reading must be taken before the socket is closed: the final report comes after. */
static void daemon_read_kernel_drops(daemon_listener_t *l)
{
    uint32_t mem[SK_MEMINFO_VARS];
    socklen_t len = sizeof mem;
    if (l->fd < 0 || getsockopt(l->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 ||
        len <= SK_MEMINFO_DROPS * sizeof mem[0])
        return;
    /* A 32-bit counter in the kernel: count its wraps so the total only grows. */
    uint32_t now = mem[SK_MEMINFO_DROPS];
    l->kernel_drops += (uint32_t)(now - l->kernel_drops_raw);
    l->kernel_drops_raw = now;
}

static int daemon_open_listener(daemon_t *d, daemon_listener_t *l, const char *spec)
{
    struct sockaddr_storage ss;
    if (daemon_parse_listen(spec, &ss) != 0) {
        log_msg(LOG_ERROR, "bad listen address '%s' (ADDR:PORT or [ADDR]:PORT)", spec);
        return -1;
    }
    l->d = d;
    l->buf = malloc((size_t)DAEMON_BATCH * DAEMON_SLAB);
    if (!l->buf)
        return -1;
    for (int i = 0; i < DAEMON_BATCH; i++) {
        l->iov[i] = (struct iovec){.iov_base = l->buf + (size_t)i * DAEMON_SLAB,
                                   .iov_len = DAEMON_SLAB};
        l->msgs[i].msg_hdr = (struct msghdr){.msg_name = &l->from[i],
                                             .msg_namelen = sizeof l->from[i],
                                             .msg_iov = &l->iov[i],
                                             .msg_iovlen = 1};
    }
    int on = 1;
    l->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd < 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) ||
        bind(l->fd, (const struct sockaddr *)&ss,
             ss.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                      : sizeof(struct sockaddr_in)) != 0) {
        log_msg(LOG_ERROR, "cannot listen on %s: %s", spec, strerror(errno));
        return -1;
    }
    int got = 0;
    socklen_t gl = sizeof got;
    if (d->opts->rcvbuf) {
        int want = d->opts->rcvbuf > INT32_MAX / 2 ? INT32_MAX / 2 : (int)d->opts->rcvbuf;
        setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
        /* Past net.core.rmem_max (4 MiB on Debian's defaults, 250 jumbo datagrams: what a
         * receive loop preempted for 14 ms at 2.5 M flows/s overflows), a daemon with
         * CAP_NET_ADMIN (root, before --user drops it) takes what the operator asked, as
         * SO_RCVBUFFORCE allows; without it the call fails and the warning below says so. */
        getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
        if ((uint64_t)got / 2 < d->opts->rcvbuf)
            (void)setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want);
    }
    gl = sizeof got;
    getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
    l->rcvbuf = got;
    /* Linux reports twice what it grants; less than asked means rmem_max capped it. */
    if (d->opts->rcvbuf && (uint64_t)got / 2 < d->opts->rcvbuf)
        log_msg(LOG_WARN,
                "%s: receive buffer %d bytes, %llu asked: the kernel caps it "
                "(raise net.core.rmem_max, or run flowhuntd with CAP_NET_ADMIN)",
                spec, got / 2, (unsigned long long)d->opts->rcvbuf);
    long scaled = (long)((double)DAEMON_NAP_NS * (got / 2) / DAEMON_NAP_BUF);
    l->nap_ns = scaled < DAEMON_NAP_NS       ? DAEMON_NAP_NS
                : scaled > DAEMON_NAP_MAX_NS ? DAEMON_NAP_MAX_NS
                                             : scaled;
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    getsockname(l->fd, (struct sockaddr *)&bound, &len);
    daemon_sockaddr_name((struct sockaddr *)&bound, l->name, sizeof l->name);
    int rc = uv_poll_init_socket(&d->loop, &l->poll, l->fd);
    if (rc == 0) {
        l->polling = 1;
        l->poll.data = l;
        rc = uv_poll_start(&l->poll, UV_READABLE, daemon_on_readable);
    }
    if (rc != 0) {
        log_msg(LOG_ERROR, "cannot receive on %s: %s", l->name, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- readiness, privileges, counters ------------------------------------------------------ */

static int daemon_write_atomic(const char *path, const char *text, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    int ok = fwrite(text, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int daemon_ready(daemon_t *d)
{
    char text[DAEMON_MAX_LISTENERS * 96];
    size_t len = 0;
    for (int i = 0; i < d->n_listeners; i++) {
        log_msg(LOG_INFO, "listening on %s", d->listeners[i].name);
        len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", d->listeners[i].name);
    }
    if (d->opts->ready_file && daemon_write_atomic(d->opts->ready_file, text, len) != 0) {
        log_msg(LOG_ERROR, "cannot write the ready file %s: %s", d->opts->ready_file,
                strerror(errno));
        return -1;
    }
    d->ready_written = d->opts->ready_file != NULL;
    return 0;
}

static int daemon_drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        log_msg(LOG_ERROR, "--user %s: no such user", user);
        return -1;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        log_msg(LOG_ERROR, "--user %s: cannot drop privileges: %s", user, strerror(errno));
        return -1;
    }
    log_msg(LOG_INFO, "running as %s (uid %u)", user, (unsigned)pw->pw_uid);
    return 0;
}

static void daemon_write_stats(daemon_t *d, int log_it)
{
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    if (!text)
        return;
#define DAEMON_APPEND(...)                                                                         \
    do {                                                                                           \
        for (;;) {                                                                                 \
            int n_ = snprintf(text + len, cap - len, __VA_ARGS__);                                 \
            if (n_ < 0)                                                                            \
                break;                                                                             \
            if ((size_t)n_ < cap - len) {                                                          \
                len += (size_t)n_;                                                                 \
                break;                                                                             \
            }                                                                                      \
            char *nt_ = realloc(text, cap * 2 + (size_t)n_);                                       \
            if (!nt_)                                                                              \
                break;                                                                             \
            text = nt_;                                                                            \
            cap = cap * 2 + (size_t)n_;                                                            \
        }                                                                                          \
    } while (0)
    DAEMON_APPEND("# flowhuntd counters (node_exporter textfile format)\n");
    for (int i = 0; i < d->n_listeners; i++) {
        daemon_listener_t *l = &d->listeners[i];
        if (!d->stopping)
            daemon_read_kernel_drops(l);
        uint64_t kdrops = l->kernel_drops;
        DAEMON_APPEND("flowhunt_listener_datagrams_total{listener=\"%s\"} %llu\n", l->name,
                      (unsigned long long)l->datagrams);
        DAEMON_APPEND("flowhunt_dropped_datagrams_total{listener=\"%s\",cause=\"kernel_buffer\"} "
                      "%llu\n",
                      l->name, (unsigned long long)kdrops);
        DAEMON_APPEND("flowhunt_dropped_datagrams_total{listener=\"%s\",cause=\"allow_list\"} "
                      "%llu\n",
                      l->name, (unsigned long long)l->refused);
        DAEMON_APPEND("flowhunt_dropped_datagrams_total{listener=\"%s\",cause=\"queue_full\"} "
                      "%llu\n",
                      l->name, (unsigned long long)l->queue_full);
        DAEMON_APPEND("flowhunt_dropped_datagrams_total{listener=\"%s\",cause=\"shed\"} "
                      "%llu\n",
                      l->name, (unsigned long long)l->shed);
        if (log_it)
            log_msg(LOG_INFO,
                    "%s: %llu datagrams; dropped: kernel buffer %llu, allow-list %llu, "
                    "queue full %llu, shed %llu",
                    l->name, (unsigned long long)l->datagrams, (unsigned long long)kdrops,
                    (unsigned long long)l->refused, (unsigned long long)l->queue_full,
                    (unsigned long long)l->shed);
    }
    /* the known-exporter map: written when it changed, so a restart keeps it */
    static uint64_t known[DQ_KNOWN_WORDS]; /* the loop thread's alone */
    memset(known, 0, sizeof known);
    for (int i = 0; i < d->n_workers; i++)
        dq_known_get(&d->workers[i].q, known);
    if (memcmp(known, d->known_saved, sizeof known) != 0) {
        if (known_store_save(d->state_dir, known) == 0) {
            memcpy(d->known_saved, known, sizeof known);
        } else {
            static log_limit_t lim = LOG_LIMIT_INIT(2, 600);
            log_limited(&lim, LOG_WARN, "cannot keep the known exporters in %s: %s", d->state_dir,
                        strerror(errno));
        }
    }
    DAEMON_APPEND("flowhunt_known_exporter_slots %u\n", known_store_count(known));
    if (d->print) {
        uint64_t printed, dropped;
        pq_counts(d->print, &printed, &dropped);
        DAEMON_APPEND("flowhunt_printed_flows_total %llu\n", (unsigned long long)printed);
        DAEMON_APPEND("flowhunt_print_dropped_flows_total %llu\n", (unsigned long long)dropped);
        if (log_it && (printed || dropped))
            log_msg(LOG_INFO,
                    "--print: %llu flows printed, %llu not (the output fell behind "
                    "or closed)",
                    (unsigned long long)printed, (unsigned long long)dropped);
    }
    for (int i = 0; i < d->n_workers; i++) {
        worker_t *w = &d->workers[i];
        pthread_mutex_lock(&w->pub_mu);
        if (w->prom)
            DAEMON_APPEND("%s", w->prom);
        if (log_it)
            log_msg(LOG_INFO, "%s", w->summary);
        pthread_mutex_unlock(&w->pub_mu);
    }
#undef DAEMON_APPEND
    char path[4300];
    snprintf(path, sizeof path, "%s/flowhuntd.prom", d->state_dir);
    if (daemon_write_atomic(path, text, len) != 0) {
        static log_limit_t lim = LOG_LIMIT_INIT(2, 600);
        log_limited(&lim, LOG_WARN, "cannot write %s: %s", path, strerror(errno));
    }
    free(text);
}

/* ---- signals and timers ------------------------------------------------------------------ */

static void daemon_on_close(uv_handle_t *h)
{
    (void)h;
}

/* Stops reading; the socket itself is closed after the loop has closed the handle. */
static void daemon_close_listener(daemon_listener_t *l)
{
    if (l->polling)
        uv_close((uv_handle_t *)&l->poll, daemon_on_close);
    l->polling = 0;
}

static void daemon_stop(daemon_t *d, const char *why)
{
    if (d->stopping)
        return;
    d->stopping = 1;
    log_msg(LOG_INFO, "%s: stopping", why);
    for (int i = 0; i < d->n_listeners; i++) {
        daemon_drain(&d->listeners[i]);
        daemon_read_kernel_drops(&d->listeners[i]);
    }
    for (int i = 0; i < d->n_listeners; i++)
        daemon_close_listener(&d->listeners[i]);
    /* The ports it names are closed: left behind, a script waiting for the file after a
     * restart read the stopped daemon's ports at once (port 0 gives new ones) and sent
     * there. */
    if (d->ready_written && unlink(d->opts->ready_file) != 0 && errno != ENOENT)
        log_msg(LOG_WARN, "cannot remove the ready file %s: %s", d->opts->ready_file,
                strerror(errno));
    uv_close((uv_handle_t *)&d->stats_timer, daemon_on_close);
    uv_close((uv_handle_t *)&d->write_timer, daemon_on_close);
    uv_close((uv_handle_t *)&d->sig_term, daemon_on_close);
    uv_close((uv_handle_t *)&d->sig_int, daemon_on_close);
    uv_close((uv_handle_t *)&d->sig_hup, daemon_on_close);
    /* Closing the handles gave the signals their default action back, and a second one
     * (timeout signals the child, then its group; Ctrl-C twice) killed the daemon while it
     * drained and flushed: the last row group and the templates lost. Stopping promises to
     * store everything: further ones are ignored (SIGKILL still ends it). */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
}

static void daemon_on_signal(uv_signal_t *h, int signum)
{
    daemon_t *d = h->data;
    if (signum == SIGHUP) {
        int rc = log_reopen();
        if (rc < 0)
            log_msg(LOG_ERROR, "SIGHUP: cannot reopen the log: %s", strerror(errno));
        else if (rc > 0) /* "log reopened" would have an operator look for a file */
            log_msg(LOG_INFO, "SIGHUP: no log file to reopen (logging to stderr; see --log)");
        else
            log_msg(LOG_INFO, "SIGHUP: log reopened");
        return;
    }
    daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void daemon_on_write_stats(uv_timer_t *t)
{
    daemon_write_stats(t->data, 1);
}

/* Workers publish their counters on their next tick when asked (WORKER_TICK_MS, 200 ms): the
 * file is written once they have, so its worker lines are as fresh as its listener lines.
 * Written at once with the last publication, they lagged a whole interval (3 s after the
 * traffic: 1010 datagrams received, 0 stored). */
#define DAEMON_PUBLISH_WAIT_MS 500

static void daemon_on_stats(uv_timer_t *t)
{
    daemon_t *d = t->data;
    for (int i = 0; i < d->n_workers; i++)
        worker_request_publish(&d->workers[i]);
    uv_timer_start(&d->write_timer, daemon_on_write_stats, DAEMON_PUBLISH_WAIT_MS, 0);
}

int daemon_run(const daemon_opts_t *opts)
{
    static daemon_t d; /* large; one per process */
    memset(&d, 0, sizeof d);
    d.opts = opts;
    if (opts->log_file && log_open(opts->log_file) != 0) {
        fprintf(stderr, "flowhuntd: cannot open log %s: %s\n", opts->log_file, strerror(errno));
        return 1;
    }
    for (int i = 0; i < opts->n_allow; i++) {
        if (flow_net_parse(&d.allow[d.n_allow], opts->allow[i]) != 0) {
            log_msg(LOG_ERROR, "bad --allow '%s' (ADDR or ADDR/BITS)", opts->allow[i]);
            return 1;
        }
        d.n_allow++;
    }
    snprintf(d.state_dir, sizeof d.state_dir, "%s/state/%s", opts->dir, opts->instance);
    if (uv_loop_init(&d.loop) != 0)
        return 1;
    int status = 1, ran = 0;
    for (int i = 0; i < opts->n_listen; i++)
        d.listeners[i].fd = -1;
    for (int i = 0; i < opts->n_listen; i++) {
        if (daemon_open_listener(&d, &d.listeners[i], opts->listen[i]) != 0)
            goto out;
        d.n_listeners++;
    }
    if (opts->user && daemon_drop_privileges(opts->user) != 0)
        goto out;
    /* Created as the user the daemon runs as: made by root before --user dropped it, DIR/state
     * was root's, and the workers could not create their own folders beside it. */
    if (seg_dir_mkdirs(d.state_dir) != 0) {
        log_msg(LOG_ERROR, "cannot create %s: %s", d.state_dir, strerror(errno));
        goto out;
    }
    if (opts->print && !(d.print = pq_start(STDOUT_FILENO, opts->print_fmt, opts->print_bytes))) {
        log_msg(LOG_ERROR, "--print: cannot start the printing thread");
        goto out;
    }
    d.n_workers = opts->n_workers;
    /* --template-memory: half templates, half held data, the same share for every worker */
    const size_t tpl_share = opts->template_memory / 2 / (uint64_t)opts->n_workers;
    worker_opts_t wo = {.n_workers = opts->n_workers,
                        .dir = opts->dir,
                        .instance = opts->instance,
                        .queue_bytes = opts->queue_bytes,
                        .flush_ms = opts->flush_ms,
                        .rotate_s = opts->rotate_s,
                        .tpl_bytes = tpl_share,
                        .held_bytes = tpl_share,
                        .print = d.print};
    for (int i = 0; i < d.n_workers; i++) {
        char err[512];
        if (worker_start(&d.workers[i], i, &wo, err, sizeof err) != 0) {
            log_msg(LOG_ERROR, "%s", err);
            d.n_workers = i;
            goto out;
        }
    }
    worker_recover_former(&wo);
    /* the routers the last run decoded keep their room in the rings from the first datagram */
    if (known_store_load(d.state_dir, d.known_saved) > 0) {
        for (int i = 0; i < d.n_workers; i++)
            dq_known_add(&d.workers[i].q, d.known_saved);
        log_msg(LOG_INFO, "%u known exporter slots from the last run",
                known_store_count(d.known_saved));
    }
    uv_signal_init(&d.loop, &d.sig_term);
    uv_signal_init(&d.loop, &d.sig_int);
    uv_signal_init(&d.loop, &d.sig_hup);
    d.sig_term.data = d.sig_int.data = d.sig_hup.data = &d;
    uv_signal_start(&d.sig_term, daemon_on_signal, SIGTERM);
    uv_signal_start(&d.sig_int, daemon_on_signal, SIGINT);
    uv_signal_start(&d.sig_hup, daemon_on_signal, SIGHUP);
    uv_timer_init(&d.loop, &d.stats_timer);
    uv_timer_init(&d.loop, &d.write_timer);
    d.stats_timer.data = d.write_timer.data = &d;
    uint64_t every = (uint64_t)(opts->stats_s ? opts->stats_s : 60) * 1000;
    uv_timer_start(&d.stats_timer, daemon_on_stats, every, every);
    if (daemon_ready(&d) != 0) {
        daemon_stop(&d, "startup");
        uv_run(&d.loop, UV_RUN_DEFAULT);
        goto out;
    }
    ran = 1;
    uv_run(&d.loop, UV_RUN_DEFAULT);
    status = 0;
out:
    if (!d.stopping) {
        for (int i = 0; i < opts->n_listen; i++)
            daemon_close_listener(&d.listeners[i]);
        uv_run(&d.loop, UV_RUN_DEFAULT);
    }
    uint64_t dropped = 0;
    for (int i = 0; i < d.n_workers; i++) {
        worker_stop(&d.workers[i]);
        dropped += d.workers[i].flows_dropped;
    }
    /* Flows lost to a full disk or a write error make the run a failure: a service manager
     * or a script sees it in the exit status, not only in the counters. */
    if (dropped) {
        log_msg(LOG_ERROR, "%llu flows were not stored (write errors, logged above): exit 1",
                (unsigned long long)dropped);
        status = 1;
    }
    /* the workers have handed over their last lines: written (or dropped, counted) before
     * the last counters */
    if (d.print)
        pq_stop(d.print);
    /* Only a daemon that ran has counters to report: one refused at start (another holds
     * the instance) would overwrite the live daemon's flowhuntd.prom with its zeros. */
    if (ran)
        daemon_write_stats(&d, 1);
    pq_free(d.print);
    d.print = NULL;
    for (int i = 0; i < d.n_workers; i++)
        worker_free(&d.workers[i]);
    for (int i = 0; i < opts->n_listen; i++) {
        if (d.listeners[i].fd >= 0)
            close(d.listeners[i].fd); /* uv_poll leaves its socket open */
        free(d.listeners[i].buf);
    }
    uv_loop_close(&d.loop);
    if (status == 0)
        log_msg(LOG_INFO, "stopped; data directory %s (read it with flowhunt cat %s)", opts->dir,
                opts->dir);
    return status;
}
