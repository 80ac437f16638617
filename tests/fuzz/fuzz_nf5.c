/* fuzz_nf5.c: NetFlow v5 bytes through the whole ingest path.
 *
 * The input is one datagram, fed twice: straight to nf5_decode(), and through
 * ingest_datagram() (version dispatch, exporter table, sequence accounting), from an exporter
 * address taken from the input so the table sees several sources. Every emitted record is read
 * in full so an uninitialised or out-of-range field shows up under the sanitizers.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "ingest.h"
#include "nf5.h"

static void fuzz_nf5_sink(void *arg, const flow_rec_t *rec)
{
    uint64_t *acc = arg;
    const uint8_t *p = (const uint8_t *)rec;
    for (size_t i = 0; i < sizeof *rec; i++)
        *acc += p[i];
}

int fuzz_nf5_one(const uint8_t *data, size_t size)
{
    uint64_t acc = 0;
    dec_counts_t counts = {{0}};
    dec_out_t out = {.sink = fuzz_nf5_sink, .sink_arg = &acc, .counts = &counts};
    flow_addr_t exporter;
    flow_addr_from_v4(&exporter, 0xc0000201u);
    int rc = nf5_decode(data, size, &exporter, &out);
    if (rc >= 0 && (size_t)rc != out.n_flows)
        __builtin_trap();

    ingest_t in;
    ingest_init(&in, INGEST_CLOCK_EXPORT, fuzz_nf5_sink, &acc);
    flow_addr_from_v4(&exporter, size >= 4 ? (uint32_t)data[size - 1] : 1u);
    ingest_datagram(&in, &exporter, data, size, 0);
    /* the same datagram again: exercises the sequence accounting's duplicate path */
    ingest_datagram(&in, &exporter, data, size, 0);
    ingest_free(&in);
    return 0;
}

FUZZ_ENTRY(nf5)
