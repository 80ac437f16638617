/* ingest.c: dispatch by version, per-exporter accounting. */
#include "ingest.h"

#include "ipfix.h"
#include "nf5.h"
#include "nf9.h"

/* The (version, observation domain) a datagram dropped whole names, as far as its header can
 * be read: the domain field where the datagram is long enough to hold it (v5 engine type and
 * id at bytes 20-21; v9 Source ID at 16, RFC 3954 section 5.1; IPFIX Observation Domain ID at
 * 12, RFC 7011 section 3.1), else 0. Version 0 when the datagram is too short to name one. */
static void ingest_drop_key(const uint8_t *buf, size_t len, uint16_t *version, uint32_t *domain)
{
    *version = len >= 2 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;
    *domain = 0;
    if (*version == 5 && len >= 22) {
        *domain = (uint32_t)buf[20] << 8 | buf[21];
    } else if ((*version == 9 && len >= 20) || (*version == 10 && len >= 16)) {
        const uint8_t *p = buf + (*version == 9 ? 16 : 12);
        *domain = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
}

void ingest_init(ingest_t *in, ingest_clock_t clock, flow_sink_fn sink, void *sink_arg)
{
    exp_table_init(&in->exporters);
    tpl_cache_init(&in->templates);
    in->clock = clock;
    in->sink = sink;
    in->sink_arg = sink_arg;
    in->datagrams = in->flows = in->dropped = 0;
}

void ingest_free(ingest_t *in)
{
    exp_table_free(&in->exporters);
    tpl_cache_free(&in->templates);
}

int ingest_datagram(ingest_t *in, const flow_addr_t *src, const uint8_t *buf, size_t len,
                    uint64_t recv_ns)
{
    uint64_t now_ms = in->clock == INGEST_CLOCK_WALL ? recv_ns / 1000000 : 0;
    in->datagrams++;
    /* Past the table's bounds the datagram is still decoded; only its accounting is lost,
     * and that is counted in the table's over_limit. */
    dec_counts_t untracked = {{0}};
    exp_exporter_t *e = exp_table_get(&in->exporters, src);
    if (e)
        e->datagrams++;

    dec_out_t out = {
        .sink = in->sink, .sink_arg = in->sink_arg, .counts = e ? &e->errs : &untracked};
    int rc;
    uint16_t version = len >= 2 ? (uint16_t)(buf[0] << 8 | buf[1]) : 0;
    switch (version) {
    case 5:
        rc = nf5_decode(buf, len, src, &out);
        break;
    case 9:
        rc = nf9_decode(buf, len, src, &in->templates, now_ms, &out);
        break;
    case 10:
        rc = ipfix_decode(buf, len, src, &in->templates, now_ms, &out);
        break;
    default:
        rc = dec_fail(&out, len < 2 ? DEC_E_SHORT_HEADER : DEC_E_VERSION);
        break;
    }
    if (rc < 0) {
        in->dropped++;
        /* Booked under the domain its header names, so that segment rows count it (datagrams
         * and drops). Version 0 marks the evicted aggregate in a segment's rows and an exporter
         * has no row of its own, so a datagram that names no version is in the exporter's
         * counters only. */
        uint16_t dv;
        uint32_t dd;
        ingest_drop_key(buf, len, &dv, &dd);
        exp_domain_t *d = e && dv != 0 ? exp_domain_get(&in->exporters, e, dv, dd) : NULL;
        if (d) {
            d->datagrams++;
            d->drops++;
        }
        return rc;
    }
    in->flows += out.n_flows;
    exp_domain_t *d =
        e ? exp_domain_get(&in->exporters, e, out.hdr.version, out.hdr.obs_domain) : NULL;
    if (d) {
        d->datagrams++;
        d->flows += out.n_flows;
        exp_seq_update(d, &out.hdr);
    }
    return rc;
}

void ingest_report(const ingest_t *in, FILE *f)
{
    fprintf(f, "datagrams %llu, flows %llu, datagrams dropped %llu\n",
            (unsigned long long)in->datagrams, (unsigned long long)in->flows,
            (unsigned long long)in->dropped);
    exp_table_report(&in->exporters, f);
    tpl_cache_report(&in->templates, f);
}
