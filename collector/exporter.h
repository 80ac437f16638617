/* exporter.h: what the collector knows of each exporter and each of its observation domains.
 *
 * One table for every protocol: counters per exporter (datagrams, each malformation by name)
 * and per (exporter, version, observation domain) the flows and the sequence-loss accounting.
 * Sequence numbers mean different things per protocol (v5 counts flows, v9 export packets,
 * IPFIX data records); the decoder says how far each datagram advances the sequence
 * (dec_hdr_t.seq_units) and exp_seq_update() does the same arithmetic for all of them.
 * Both levels are bounded, so a flood of spoofed sources cannot grow memory without limit, and
 * neither refuses at its bound: the exporter (or, within an exporter, the domain) seen least
 * recently is evicted, so a router that appears after a flood is still tracked. The domains of
 * all exporters together are bounded too (EXP_MAX_DOMAINS_TOTAL): the two bounds alone allow
 * 65536 x 1024 domains, and a spoofed flood whose every datagram names a fresh domain grew a
 * worker by ~1.7 MB/s towards that (the stress test's flood: 112 -> 180 MB in 40 s); past the
 * total, the exporter seen least recently goes, with its domains. An evicted
 * entry's counters are added to the table's `evicted` aggregate, which every report shows, and
 * what it did since the last segment goes into the next segment as the aggregate row (version
 * 0, address ::, see storage/FORMAT.md): nothing is lost from the totals.
 */
#ifndef FH_EXPORTER_H
#define FH_EXPORTER_H

#include <stdint.h>
#include <stdio.h>

#include "dec.h"
#include "flow.h"

#define EXP_MAX_EXPORTERS 65536 /* beyond, the exporter seen least recently is evicted */
#define EXP_MAX_DOMAINS 1024    /* per exporter; beyond, its domain seen least recently */
#define EXP_SEQ_PENDING 4       /* gaps per domain that a late datagram may still fill */
#define EXP_SEQ_AFTER 1         /* a datagram's sequence counts its own units too */
#define EXP_SEQ_NO_OPTS 2       /* IPFIX: options data records are not counted */
/* all exporters' domains together (~10 MB); beyond, the exporter seen least recently */
#define EXP_MAX_DOMAINS_TOTAL 65536

typedef struct exp_domain {
    struct exp_domain *lru_prev, *lru_next; /* the exporter's domains, most recently seen first */
    uint32_t idx;                           /* its place in exp_exporter_t.domains */
    uint16_t version;
    uint32_t obs_domain;
    uint64_t datagrams;
    uint64_t flows;
    uint64_t seq_lost;   /* sequence units missing (flows for v5, records for IPFIX, ...) */
    uint64_t seq_gaps;   /* gaps counted in seq_lost */
    uint64_t seq_late;   /* datagrams behind the expected sequence (reordered or duplicate) */
    uint64_t seq_resets; /* jumps too large to be loss, or a new boot time: exporter restart */
    uint64_t drops;      /* of its datagrams, those dropped whole (a DEC_E_* at the header) */
    uint32_t next_seq;   /* the next datagram's sequence, numbered as seq_mode says */
    int have_seq;
    /* How the exporter numbers its datagrams (EXP_SEQ_AFTER, EXP_SEQ_NO_OPTS; 0 as the RFCs
     * say), learnt from the sequence itself: see exp_seq_numbering in exporter.c. */
    int seq_mode;
    /* The datagram that set next_seq: its sequence as sent, its units and options records. */
    uint32_t last_seq, last_units, last_opts;
    /* Gaps not yet counted lost: a datagram that arrives late fills its part. They are
     * counted when the interval's counters are taken (exp_interval_take), on a reset, or
     * when a newer gap needs the slot: counters only grow, so a late datagram cannot take
     * back loss a segment or the Prometheus file has already shown. */
    uint32_t pend_lo[EXP_SEQ_PENDING], pend_n[EXP_SEQ_PENDING];
    uint32_t n_pend;
    int64_t boot_ms; /* v5, v9: the exporter's boot time, when have_boot */
    int have_boot;
    /* What earlier segments already recorded (exp_interval_take). */
    uint64_t rep_datagrams, rep_flows, rep_seq_lost, rep_drops;
} exp_domain_t;

typedef struct exp_exporter {
    struct exp_exporter *lru_prev, *lru_next; /* the table's exporters, most recently seen first */
    uint32_t idx;                             /* its place in exp_table_t.list */
    flow_addr_t addr;
    uint64_t datagrams;
    dec_counts_t errs;
    void *domains_judy;     /* JudyL: version << 32 | obs_domain -> exp_domain_t * */
    exp_domain_t **domains; /* for reports: in order of first appearance until an eviction,
                             * which moves the last domain into the evicted one's place */
    uint32_t n_domains, cap_domains;
    exp_domain_t *dom_head, *dom_tail; /* most recently seen first */
} exp_exporter_t;

/* Everything evicted entries counted, summed: their share of every total. */
typedef struct exp_evicted {
    uint64_t exporters; /* exporters evicted at max_exporters */
    uint64_t domains;   /* domains evicted: at max_domains, or with their exporter */
    uint64_t datagrams; /* of the evicted exporters */
    dec_counts_t errs;  /* of the evicted exporters */
    /* of the evicted domains */
    uint64_t dom_datagrams, flows, seq_lost, seq_gaps, seq_late, seq_resets, drops;
    /* of those, what no segment had recorded when they were evicted: the next segment's
     * aggregate row, then zero again */
    uint64_t unrep_datagrams, unrep_flows, unrep_seq_lost, unrep_drops;
} exp_evicted_t;

typedef struct exp_table {
    void *by_addr_judy;    /* JudyHS: 16 address bytes -> exp_exporter_t * */
    exp_exporter_t **list; /* for reports: in order of first appearance until an eviction */
    uint32_t n_exporters, cap;
    uint32_t max_exporters, max_domains; /* EXP_MAX_*, or less (exp_table_init_limits) */
    uint32_t max_domains_total;          /* at least max_domains */
    uint64_t n_domains_total;            /* every exporter's n_domains, summed */
    exp_exporter_t *lru_head, *lru_tail; /* most recently seen first */
    exp_evicted_t evicted;
    uint64_t over_limit; /* datagrams not tracked: out of memory (the bounds evict) */
} exp_table_t;

void exp_table_init(exp_table_t *t);
/* The same with smaller bounds (each at least 1, at most EXP_MAX_*): tests reach them fast. */
void exp_table_init_limits(exp_table_t *t, uint32_t max_exporters, uint32_t max_domains);
/* ... and a smaller total of domains (at least max_domains). */
void exp_table_init_bounds(exp_table_t *t, uint32_t max_exporters, uint32_t max_domains,
                           uint32_t max_domains_total);
void exp_table_free(exp_table_t *t);
/* The exporter's entry, created on first sight, now the most recently seen. At max_exporters
 * the least recently seen exporter is evicted first: any other exporter pointer may dangle
 * after this call. NULL (counted in over_limit) only when memory runs out. */
exp_exporter_t *exp_table_get(exp_table_t *t, const flow_addr_t *addr);
/* The same for a domain of `e`: at max_domains, e's least recently seen domain is evicted;
 * at max_domains_total, the least recently seen exporter other than e (any other exporter
 * pointer may dangle after this call), or e's own oldest domain when e is that one. */
exp_domain_t *exp_domain_get(exp_table_t *t, exp_exporter_t *e, uint16_t version,
                             uint32_t obs_domain);

/* Sequence accounting for one datagram (its decoded header): it carries `sequence` and
 * advances it by `seq_units`; when `seq_exact` is 0 the advance is unknown, so the next
 * datagram is not checked against it. */
void exp_seq_update(exp_domain_t *d, const dec_hdr_t *h);
/* A seq_mode as the report and Prometheus name it: "rfc", "after" (each datagram numbered
 * after its own units), "no-options" (options records not numbered), "after,no-options". */
const char *exp_seq_mode_label(int mode);
/* Counts d's pending gaps as lost: no late datagram is waited for any longer. */
void exp_seq_settle(exp_domain_t *d);
/* Every domain's pending gaps counted lost: the input has ended, nothing late can come. */
void exp_table_settle(exp_table_t *t);

/* The counters a segment records: what each (exporter, version, domain) did since the last
 * call (the previous segment's end), and one row (version 0, address ::) for what entries
 * evicted since did before their eviction. Each domain keeps what was reported of it, so a
 * table has one reporter, whose state for the evicted row `iv` is; free it with
 * exp_interval_free(). Returns a malloc'd array (count in *n) or NULL when nothing changed or
 * memory ran out; counters are advisory, so a failure only leaves the segment without them.
 * O(exporters + domains). */
typedef struct exp_interval {
    uint64_t rows; /* rows handed out so far, over every call */
} exp_interval_t;
struct seg_exporter_stat;
struct seg_exporter_stat *exp_interval_take(exp_table_t *t, exp_interval_t *iv, uint32_t *n);
void exp_interval_free(exp_interval_t *iv);
/* The segment row version that marks the evicted aggregate. */
#define EXP_EVICTED_VERSION 0

/* Human-readable counters, one block per exporter, only non-zero malformations. */
void exp_table_report(const exp_table_t *t, FILE *f);

#endif
