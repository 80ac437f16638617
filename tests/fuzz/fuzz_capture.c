/* fuzz_capture.c: libFuzzer target for the capture input: the bytes are a capture image.
 *
 * Opens the input with cap_open_mem, walks every frame and feeds each to cap_udp, so one input
 * exercises the file walk, the link layers, IP, UDP and reassembly together. The callback reads
 * every payload byte so an out-of-bounds payload shows up under ASan here, not later in a
 * decoder. The reassembly table is allocated once and reused, as in the daemon; its state is
 * dropped between inputs by freeing it when it holds anything, so each input runs alone.
 */
#include <stdint.h>
#include <stdlib.h>

#include "capture.h"
#include "fuzz/fuzz.h"

static void fuzz_capture_sum(void *arg, const cap_dgram_t *d)
{
    uint64_t *sum = arg;
    for (size_t i = 0; i < d->len; i++)
        *sum += d->payload[i];
    *sum += d->sport + d->dport + d->src.b[15] + d->dst.b[15];
}

int fuzz_capture_one(const uint8_t *data, size_t size);
int fuzz_capture_one(const uint8_t *data, size_t size)
{
    static cap_udp_t cu;
    static int ready;
    cap_file_t cf;
    cap_pkt_t pkt;
    uint64_t sum = 0;
    if (!ready || cu.n_frag_used != 0) {
        if (ready)
            cap_udp_free(&cu);
        if (cap_udp_init(&cu) != 0)
            abort();
        ready = 1;
    }
    if (cap_open_mem(&cf, data, size) == 0) {
        int rc;
        while ((rc = cap_next(&cf, &pkt)) == 1) {
            if (pkt.caplen && (pkt.data < data || pkt.data + pkt.caplen > data + size))
                abort(); /* a frame outside the image */
            cap_udp_feed(&cu, &pkt, fuzz_capture_sum, &sum);
        }
        if (rc != 0 && cap_strerror(rc)[0] == '\0')
            abort();
        cap_close(&cf);
    }
    /* Keep the sum alive so the reads are not optimised away. */
    volatile uint64_t sink = sum;
    (void)sink;
    return 0;
}

FUZZ_ENTRY(capture)
