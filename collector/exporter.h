/* exporter.h: what the collector knows of each exporter and each of its observation domains.
 *
 * One table for every protocol: counters per exporter (datagrams, each malformation by name)
 * and per (exporter, version, observation domain) the flows and the sequence-loss accounting.
 * Sequence numbers mean different things per protocol (v5 counts flows, v9 export packets,
 * IPFIX data records); the decoder says how far each datagram advances the sequence
 * (dec_hdr_t.seq_units) and exp_seq_update() does the same arithmetic for all of them.
 * Both levels are bounded, so a flood of spoofed sources cannot grow memory without limit.
 */
#ifndef FH_EXPORTER_H
#define FH_EXPORTER_H

#include <stdint.h>
#include <stdio.h>

#include "dec.h"
#include "flow.h"

#define EXP_MAX_EXPORTERS 65536
#define EXP_MAX_DOMAINS 1024 /* per exporter */

typedef struct exp_domain {
    uint16_t version;
    uint32_t obs_domain;
    uint64_t datagrams;
    uint64_t flows;
    uint64_t seq_lost;   /* sequence units missing (flows for v5, records for IPFIX, ...) */
    uint64_t seq_gaps;   /* times a gap was seen */
    uint64_t seq_late;   /* datagrams behind the expected sequence (reordered or duplicate) */
    uint64_t seq_resets; /* jumps too large to be loss: exporter restart */
    uint32_t next_seq;
    int have_seq;
} exp_domain_t;

typedef struct exp_exporter {
    flow_addr_t addr;
    uint64_t datagrams;
    dec_counts_t errs;
    void *domains_judy;     /* JudyL: version << 32 | obs_domain -> exp_domain_t * */
    exp_domain_t **domains; /* in order of first appearance, for reports */
    uint32_t n_domains, cap_domains;
} exp_exporter_t;

typedef struct exp_table {
    void *by_addr_judy;    /* JudyHS: 16 address bytes -> exp_exporter_t * */
    exp_exporter_t **list; /* in order of first appearance */
    uint32_t n_exporters, cap;
    uint64_t over_limit; /* datagrams refused because a table bound was reached */
} exp_table_t;

void exp_table_init(exp_table_t *t);
void exp_table_free(exp_table_t *t);
/* The exporter's entry, created on first sight; NULL (counted in over_limit) at the bound or
 * when memory runs out. */
exp_exporter_t *exp_table_get(exp_table_t *t, const flow_addr_t *addr);
exp_domain_t *exp_domain_get(exp_table_t *t, exp_exporter_t *e, uint16_t version,
                             uint32_t obs_domain);

/* Sequence accounting for one datagram that carries `seq` and advances it by `units`; when
 * `exact` is 0 the advance is unknown, so the next datagram is not checked against it. */
void exp_seq_update(exp_domain_t *d, uint32_t seq, uint32_t units, int exact);

/* The counters a segment records: what each (exporter, version, domain) did since the last
 * call (the previous segment's end). The snapshot is the caller's; free it with
 * exp_interval_free(). Returns a malloc'd array (count in *n) or NULL when nothing changed or
 * memory ran out; counters are advisory, so a failure only leaves the segment without them. */
typedef struct exp_interval {
    struct exp_interval_snap *snap;
    uint32_t n, cap;
} exp_interval_t;
struct seg_exporter_stat;
struct seg_exporter_stat *exp_interval_take(const exp_table_t *t, exp_interval_t *iv,
                                            uint32_t *n);
void exp_interval_free(exp_interval_t *iv);

/* Human-readable counters, one block per exporter, only non-zero malformations. */
void exp_table_report(const exp_table_t *t, FILE *f);

#endif
