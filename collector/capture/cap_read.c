/* cap_read.c: every UDP datagram of a capture file, in one call.
 *
 * flowhuntd --read, flowgen --replay and bench_store each want the same thing from a capture:
 * map it, walk its frames through cap_udp, hand each datagram to a callback, then free the
 * reassembly slots and unmap the file. Written out by hand in each, the copies drifted (one
 * never freed the slots on its early exits); here the sequence is written once. The two ways
 * it can fail stay apart for the callers: the file could not be opened (the callback never
 * ran), or its walk ended at a bad record (the datagrams before it were delivered).
 */
#include "capture.h"

#include <string.h>

int cap_read_dgrams(const char *path, cap_dgram_fn fn, void *arg, const int *stop,
                    cap_udp_stats_t *stats, int *out_opened)
{
    cap_file_t cf;
    cap_udp_t cu;
    cap_pkt_t pkt;
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (out_opened)
        *out_opened = 0;
    int rc = cap_open_path(&cf, path);
    if (rc < 0)
        return rc;
    if (cap_udp_init(&cu) != 0) {
        cap_close(&cf);
        return -CAP_E_NOMEM;
    }
    if (out_opened)
        *out_opened = 1;
    while (!(stop && *stop) && (rc = cap_next(&cf, &pkt)) > 0)
        cap_udp_feed(&cu, &pkt, fn, arg);
    if (rc > 0)
        rc = 0; /* stopped by the caller */
    if (stats)
        *stats = cu.stats;
    cap_udp_free(&cu);
    cap_close(&cf);
    return rc;
}
