/* fuzz_tpl.h: the stateful driver the v9 and IPFIX fuzz targets share.
 *
 * The input is a series of datagrams, each as a 2-byte big-endian length and that many bytes
 * (a short last chunk takes what is left). All go through one template cache, from two
 * exporters chosen by a bit of the length, so templates, held data, withdrawals, options
 * and redefinitions from one datagram meet the data of the next. The clock is the export
 * time of each datagram (capture mode), so held data also expires. Every emitted record is
 * read in full so the sanitizers see any uninitialised or out-of-range field. Each decoded
 * header goes through the sequence accounting as ingest.c does it (exp_seq_update: the
 * numbering each domain learns, pending gaps), so its arithmetic meets hostile sequences too.
 */
#ifndef FH_FUZZ_TPL_H
#define FH_FUZZ_TPL_H

#include <string.h>

#include "exporter.h"
#include "tpl.h"

typedef int (*fuzz_tpl_decode_fn)(const uint8_t *buf, size_t len, const flow_addr_t *exporter,
                                  tpl_cache_t *cache, uint64_t now_ms, dec_out_t *out);

static void fuzz_tpl_sink(void *arg, const flow_rec_t *rec)
{
    uint64_t *acc = arg;
    const uint8_t *p = (const uint8_t *)rec;
    for (size_t i = 0; i < sizeof *rec; i++)
        *acc += p[i];
}

static inline int fuzz_tpl_run(const uint8_t *data, size_t size, fuzz_tpl_decode_fn decode)
{
    tpl_cache_t cache;
    exp_table_t table;
    dec_counts_t counts;
    flow_addr_t exporters[2];
    uint64_t acc = 0;
    tpl_cache_init(&cache);
    exp_table_init(&table);
    memset(&counts, 0, sizeof counts);
    flow_addr_from_v4(&exporters[0], 0xc0000201u);
    flow_addr_from_v4(&exporters[1], 0xc0000202u);
    while (size >= 2) {
        size_t len = (size_t)data[0] << 8 | data[1];
        int which = (len >> 15) & 1;
        len &= 0x7fff;
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        dec_out_t out = {.sink = fuzz_tpl_sink, .sink_arg = &acc, .counts = &counts};
        int rc = decode(data, len, &exporters[which], &cache, 0, &out);
        if (rc >= 0 && (uint32_t)rc != out.n_flows)
            __builtin_trap();
        exp_exporter_t *e = rc >= 0 ? exp_table_get(&table, &exporters[which]) : NULL;
        exp_domain_t *d = e ? exp_domain_get(&table, e, out.hdr.version, out.hdr.obs_domain) : NULL;
        if (d) {
            if (out.hdr.seq_opts > out.hdr.seq_units)
                __builtin_trap(); /* options records are among the records */
            exp_seq_update(d, &out.hdr);
            if (d->n_pend > EXP_SEQ_PENDING)
                __builtin_trap();
        }
        data += len;
        size -= len;
    }
    exp_table_settle(&table);
    exp_table_free(&table);
    tpl_cache_free(&cache);
    return 0;
}

#endif
