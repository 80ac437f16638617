/* tpl.h: the template cache NetFlow v9 and IPFIX share, and the programs templates compile to.
 *
 * A template arrives, is validated once and compiled into a short program of field operations
 * (tpl_op_t): which bytes go to which column of the flow record, which are skipped, which are
 * times to convert. Data records then run the program; nothing is looked up per field. When
 * two fields of a template feed the same column (octetDeltaCount and octetTotalCount, or
 * flowStartMilliseconds and flowStartSysUpTime) the compiler keeps the better one and turns
 * the other into a skip, so the choice is made once per template, not per record.
 *
 * Templates live in scopes: one per (exporter address, version, observation domain / source
 * ID), never keyed by UDP port (exporters change ports; RFC 3954 section 5.1). A scope also
 * keeps what options data taught it (sampling rates per sampler or input interface,
 * systemInitTimeMilliseconds) and the data sets that arrived before their template (RFC 3954
 * section 9: "SHOULD store"), bounded in count, bytes and age, decoded when the template
 * arrives.
 *
 * Ownership: the cache owns scopes, templates and held data. A template is replaced, never
 * modified, so a program being run is never changed under it.
 */
#ifndef FH_TPL_H
#define FH_TPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dec.h"
#include "flow.h"

#define TPL_MAX_FIELDS 512 /* fields per template; more is a malformed template */
/* Template bounds evict, never refuse: a flood of new templates pushes out the least recently
 * used ones of the flooding exporter, so memory stays flat and the exporter's live templates
 * (used by data sets, so recently used) survive. A flood of spoofed sources fills the cache
 * with scopes; beyond TPL_MAX_SCOPES the least recently used scope of the whole cache goes, so
 * a router that appears later is still decoded. Each eviction is counted (templates_evicted;
 * scopes_evicted and scopes_evicted_global for whole scopes). */
#define TPL_MAX_PER_SCOPE 4096 /* templates per (exporter, version, domain) */
#define TPL_MAX_SCOPES 16384   /* scopes in the whole cache: beyond, the least recently used */
#define TPL_MAX_SCOPES_PER_EXPORTER                                                                \
    256                                        /* scopes per exporter address: beyond, its least   \
                                                * recently used scope is evicted (random domains) */
#define TPL_MAX_BYTES_PER_EXPORTER (16u << 20) /* compiled templates of one exporter address */
#define TPL_HELD_MAX_SETS 256                  /* data sets held per scope */
#define TPL_HELD_MAX_BYTES (1u << 20)          /* bytes held per scope */
#define TPL_HELD_MAX_AGE_MS 120000 /* a held set older than this (on the scope's clock) expires */
#define TPL_MAX_BYTES (64u << 20)  /* compiled templates in the whole cache */
#define TPL_HELD_MAX_TOTAL (64u << 20) /* held data in the whole cache */
#define TPL_MAX_SAMPLERS_PER_SCOPE 64  /* sampling rates per scope: beyond, refused, counted */
#define TPL_VARLEN 65535               /* IPFIX field length meaning "variable" (RFC 7011 7) */
#define TPL_PEN_REVERSE 29305u         /* RFC 5103 reverse information elements */

/* X(W, C): an integer field of W bytes into a destination of C bytes, read with one load and
 * a byte swap. Wider values keep their low C bytes; narrower ones are zero-extended. */
/* clang-format off */
#define TPL_FIXED_UINTS(X)                                                                         \
    X(1, 1) X(1, 2) X(1, 4) X(1, 8)                                                                \
    X(2, 1) X(2, 2) X(2, 4) X(2, 8)                                                                \
    X(4, 1) X(4, 2) X(4, 4) X(4, 8)                                                                \
    X(8, 1) X(8, 2) X(8, 4) X(8, 8)
/* clang-format on */

typedef enum tpl_op_kind {
    /* The kinds of the element table (tpl_ie.c). The compiler turns TIME, SYSINIT, SAMPLING,
     * SPACE and SAMPLER fields, and every integer of 1, 2, 4 or 8 bytes, into the fixed-width
     * kinds below; only integers of 3, 5, 6 or 7 bytes stay TPL_OP_UINT in a program. */
    TPL_OP_SKIP,     /* fixed length, not kept */
    TPL_OP_SKIP_VAR, /* variable length: 1-byte prefix, or 255 then a 2-byte length */
    TPL_OP_UINT,     /* unsigned integer, 1..8 bytes (reduced size allowed), into column */
    TPL_OP_ADDR4,    /* 4-byte IPv4 address into column */
    TPL_OP_ADDR6,    /* 16-byte IPv6 address into column */
    TPL_OP_ICMP,     /* type * 256 + code into icmp_type and icmp_code */
    TPL_OP_TIME,     /* a time in one of the encodings of tpl_time_t into column */
    TPL_OP_SYSINIT,  /* systemInitTimeMilliseconds (IE 160): origin of sysUpTime fields */
    TPL_OP_SAMPLING, /* a sampling interval (1 in N): v9 34, 50; PSAMP 305 */
    TPL_OP_SPACE,    /* PSAMP samplingPacketSpace (306): interval = (305 + 306) / 305 */
    TPL_OP_SAMPLER,  /* sampler / selector id (v9 48, IPFIX 48, 302) */
    /* Compiled only. A column fed by a second field of the template (an IPv4 and an IPv6
     * source, source mask, ICMP type): written only when not all zeros, so the unused one
     * (dual-stack exporters fill the other family's fields with zeros) never overwrites. */
    TPL_OP_ADDR4_NZ,
    TPL_OP_ADDR6_NZ,
    TPL_OP_UINT_NZ,
    TPL_OP_ICMP_NZ,
/* Compiled only: TPL_OP_U<W>_C<C>, see TPL_FIXED_UINTS. */
#define TPL_X_KIND(w, c) TPL_OP_U##w##_C##c,
    TPL_FIXED_UINTS(TPL_X_KIND)
#undef TPL_X_KIND
} tpl_op_kind_t;

typedef enum tpl_time {
    TPL_T_UPTIME,   /* ms of sysUpTime: v9 header sysUptime, IPFIX systemInitTimeMilliseconds */
    TPL_T_SEC,      /* dateTimeSeconds */
    TPL_T_MS,       /* dateTimeMilliseconds */
    TPL_T_NTP,      /* dateTimeMicro/Nanoseconds: NTP seconds since 1900 and 2^-32 fractions */
    TPL_T_DELTA_US, /* microseconds before the export time (IEs 158, 159) */
} tpl_time_t;

typedef struct tpl_op {
    uint16_t len; /* field length in the record, TPL_VARLEN for variable */
    uint16_t off; /* where the value goes in the runner's record: the column's offset in
                   * flow_rec_t, or (times, sampling fields) a slot of the runner's own */
    uint8_t kind; /* tpl_op_kind_t */
    uint8_t col;  /* flow_col_t the value goes to */
    uint8_t aux;  /* TPL_OP_UINT: destination width in bytes; a time: its tpl_time_t */
} tpl_op_t;

/* What the compiler knows of an information element it decodes (tpl_ie.c). Elements not in
 * its table are skipped by length, whatever their enterprise: never a reason to reject. */
typedef struct tpl_ie {
    uint32_t pen;
    uint16_t id;
    uint8_t kind; /* tpl_op_kind_t */
    uint8_t col;  /* flow_col_t */
    uint8_t aux;  /* tpl_time_t for times */
    uint8_t prio; /* of several fields for one column, the highest is kept */
} tpl_ie_t;

const tpl_ie_t *tpl_ie_find(uint32_t pen, uint16_t id);

struct tpl_field;

/* What every record of a template carries (tpl_t.have), known when it is compiled. */
#define TPL_HAVE_START 0x01u     /* a start time */
#define TPL_HAVE_END 0x02u       /* an end time */
#define TPL_HAVE_SYSINIT 0x04u   /* systemInitTimeMilliseconds */
#define TPL_HAVE_INTERVAL 0x08u  /* a sampling interval */
#define TPL_HAVE_SPACE 0x10u     /* a PSAMP sampling space */
#define TPL_HAVE_SAMPLER 0x20u   /* a sampler or selector id */
#define TPL_HAVE_ICMP_PORT 0x40u /* proto and dst_port but no ICMP type or code element */
#define TPL_HAVE_IF_SCOPE 0x80u  /* an options template scoped by an input interface */

/* The key in a scope's sampler table of the rate options data announced for one input
 * interface (scope Interface, RFC 3954 6.1; IPFIX scope ingressInterface): | its ifIndex. */
#define TPL_SAMPLER_IF (1ull << 63)

typedef struct tpl {
    uint16_t id;
    uint8_t is_options;
    uint8_t has_varlen;
    uint16_t n_fields;    /* as defined */
    uint16_t scope_count; /* leading scope fields of an options template */
    uint16_t n_ops;       /* after adjacent skips were merged */
    uint8_t have;         /* TPL_HAVE_* */
    uint8_t t_enc[2];     /* tpl_time_t of the start [0] and end [1] times */
    /* A record's length with every variable field empty: without variable fields, the length
     * of every record. */
    uint32_t min_len;
    uint64_t present; /* FLOW_BIT of every column the program fills in every record */
    uint64_t dual;    /* FLOW_BIT of the address columns fed by an IPv4 and an IPv6 field */
    /* The definition as received (for persistence), in the same allocation, after ops. */
    const struct tpl_field *fields;
    /* The scope's templates, most recently used first: the tail is evicted (tpl.c). */
    struct tpl *lru_prev, *lru_next;
    tpl_op_t ops[];
} tpl_t;

/* A field as the template record defines it. */
typedef struct tpl_field {
    uint16_t id; /* without the enterprise bit */
    uint16_t len;
    uint32_t pen; /* 0 for IANA (and every v9 field) */
} tpl_field_t;

/* A data set waiting for its template. */
typedef struct tpl_held {
    struct tpl_held *next;
    uint16_t tpl_id;
    uint64_t held_ms;   /* scope clock when it arrived */
    uint64_t export_ms; /* its datagram's export time */
    uint32_t uptime_ms; /* its datagram's sysUptime (v9) */
    uint32_t len;
    uint8_t data[];
} tpl_held_t;

/* What a scope has seen: templates and held data. Malformations are counted per exporter in
 * dec_counts_t by the decoders. */
#define TPL_SCOPE_COUNTERS(X)                                                                      \
    X(templates_learned, "templates and options templates defined")                                \
    X(templates_replaced, "templates redefined with a different layout")                           \
    X(templates_withdrawn, "templates withdrawn (IPFIX)")                                          \
    X(templates_evicted, "templates evicted (least recently used) at a template bound")            \
    X(restarts, "exporter restarts seen (v9 sysUptime went back): templates cleared")              \
    X(sets_held, "data sets held because their template had not arrived")                          \
    X(held_decoded, "held data sets decoded once their template arrived")                          \
    X(held_expired, "held data sets dropped: no template within the holding time")                 \
    X(held_withdrawn, "held data sets dropped: their template was withdrawn before it arrived")    \
    X(held_refused, "data sets not held: the holding limits were reached")                         \
    X(held_flows, "flows decoded from held data sets")                                             \
    X(options_records, "options data records read")                                                \
    X(samplers_refused, "sampling rates not kept: TPL_MAX_SAMPLERS_PER_SCOPE reached")

typedef struct tpl_scope_stats {
#define TPL_X_FIELD(name, desc) uint64_t name;
    TPL_SCOPE_COUNTERS(TPL_X_FIELD)
#undef TPL_X_FIELD
} tpl_scope_stats_t;

struct tpl_cache;
struct tpl_exp;

typedef struct tpl_scope {
    struct tpl_cache *cache; /* for the cache-wide bounds */
    flow_addr_t exporter;
    uint16_t version;
    uint32_t domain;
    void *tpl_judy; /* JudyL: template id -> tpl_t * */
    uint32_t n_templates;
    void *sampler_judy;        /* JudyL: sampler id -> interval */
    uint32_t n_samplers;       /* bounded by TPL_MAX_SAMPLERS_PER_SCOPE */
    uint32_t n_if_rates;       /* of them, rates per input interface (TPL_SAMPLER_IF) */
    uint32_t default_interval; /* from options data that name no sampler; 0 = none */
    uint64_t sysinit_ms;       /* from options data (IE 160); 0 = unknown */
    uint32_t sysinit_heard;    /* options records that announced it, the same value or not */
    int64_t boot_ms;           /* v9: export time - sysUptime, to see an exporter restart */
    uint32_t last_seq;         /* v9: sequence of the last datagram, for the same */
    int have_boot;
    uint64_t clock_ms; /* latest time seen: ages held data */
    tpl_held_t *held_head, *held_tail;
    uint32_t n_held;
    size_t held_bytes;
    tpl_scope_stats_t stats;
    const struct tpl *last_tpl;      /* the template of the last data set: most sets use the same
                                      * one; reset whenever a template of the scope is freed */
    struct tpl *lru_head, *lru_tail; /* templates, most recently used first */
    struct tpl_exp *exp;             /* the exporter address it belongs to */
    struct tpl_scope *exp_prev, *exp_next; /* the exporter's scopes, most recently used first */
    struct tpl_scope *all_prev, *all_next; /* every scope, most recently used first */
    uint32_t idx;                          /* its place in tpl_cache_t.scopes */
} tpl_scope_t;

/* What one exporter address holds across its scopes, for the per-exporter bounds. */
typedef struct tpl_exp {
    flow_addr_t addr;
    uint32_t n_scopes;
    size_t tpl_bytes;
    tpl_scope_t *head, *tail; /* its scopes, most recently used first */
    uint32_t idx;             /* its place in tpl_cache_t.exps; freed with its last scope */
} tpl_exp_t;

#define TPL_RECENT_SCOPES 64 /* direct-mapped cache of scopes in front of the JudyHS */

typedef struct tpl_cache {
    void *scope_judy;                       /* JudyHS: exporter, version, domain -> tpl_scope_t * */
    tpl_scope_t *recent[TPL_RECENT_SCOPES]; /* by a hash of the key; evicting a scope clears
                                             * its entry, so an entry never dangles */
    tpl_scope_t **scopes; /* for reports: in order of creation until an eviction, which moves
                           * the last scope into the evicted one's place */
    uint32_t n_scopes, cap_scopes;
    uint32_t max_scopes;              /* TPL_MAX_SCOPES, or less (tpl_cache_init_limit) */
    tpl_scope_t *all_head, *all_tail; /* every scope, most recently used first */
    uint64_t scopes_refused;          /* out of memory only: the bounds evict */
    uint64_t scopes_evicted; /* an exporter's least recently used scope, at its domain bound */
    uint64_t scopes_evicted_global; /* the whole cache's least recently used scope, at max_scopes */
    uint64_t templates_evicted;     /* all of them, including those of scopes evicted since */
    uint64_t evicted_scope_templates; /* templates that went with an evicted scope */
    uint64_t evicted_scope_held;      /* held data sets dropped with an evicted scope */
    tpl_scope_stats_t evicted_stats;  /* the counters of every evicted scope, summed */
    void *exp_judy;                   /* JudyHS: exporter address bytes -> tpl_exp_t * */
    tpl_exp_t **exps;                 /* every exporter address, for the cache-wide bound */
    uint32_t n_exps, cap_exps;
    size_t tpl_bytes;      /* all compiled templates, bounded by max_tpl_bytes: beyond, the
                            * exporter holding the most loses its least recently used templates */
    size_t max_tpl_bytes;  /* TPL_MAX_BYTES unless tpl_cache_set_memory */
    size_t max_held_bytes; /* TPL_HELD_MAX_TOTAL unless tpl_cache_set_memory */
    uint64_t generation; /* bumped by every change worth persisting (tpl_store.c) */
    uint64_t saved_generation;
    size_t held_bytes; /* all held data, bounded by max_held_bytes */
} tpl_cache_t;

void tpl_cache_init(tpl_cache_t *c);
/* The same with fewer scopes than TPL_MAX_SCOPES (at least 1): tests reach the bound quickly. */
void tpl_cache_init_limit(tpl_cache_t *c, uint32_t max_scopes);
void tpl_cache_free(tpl_cache_t *c);
/* Bounds the cache's compiled templates and its held data at these bytes instead of
 * TPL_MAX_BYTES and TPL_HELD_MAX_TOTAL (flowhuntd --template-memory), each at least
 * TPL_MIN_MEMORY: past them templates are evicted and held sets refused, counted, as at the
 * defaults (below an exporter's own bound, the cache's evicts from the exporter holding the
 * most). */
#define TPL_MIN_MEMORY (1u << 20)
void tpl_cache_set_memory(tpl_cache_t *c, size_t tpl_bytes, size_t held_bytes);
/* The scope, created on first sight: at TPL_MAX_SCOPES_PER_EXPORTER the exporter's least
 * recently used scope is evicted, at max_scopes the whole cache's (both counted, never
 * refused). NULL only when out of memory. Any pointer to another scope may dangle after this
 * call. */
tpl_scope_t *tpl_scope_get(tpl_cache_t *c, const flow_addr_t *exporter, uint16_t version,
                           uint32_t domain);
const tpl_t *tpl_get(const tpl_scope_t *s, uint16_t id);

/* Validates and compiles a template and installs it under `id`, replacing any earlier one.
 * `scope_count` is the number of leading scope fields of an options template (0 for a data
 * template); v9 options scope fields are passed with pen = TPL_PEN_V9_SCOPE so they are never
 * mistaken for information elements. At a bound, the least recently used templates are
 * evicted first (counted in templates_evicted of their scope); any template of the same
 * exporter other than the returned one may be freed. Returns the new template, or NULL with
 * the reason counted in `counts`. */
#define TPL_PEN_V9_SCOPE 0xffffffffu
const tpl_t *tpl_define(tpl_scope_t *s, uint16_t version, uint16_t id, int is_options,
                        const tpl_field_t *fields, uint16_t n_fields, uint16_t scope_count,
                        dec_counts_t *counts);
/* Withdraws one template (IPFIX), or every template / options template (is_options) when
 * id is 2 or 3, with the data sets held for what it withdraws (held_withdrawn): they were
 * encoded with a definition this scope never saw, and the next one under that ID may lay
 * records out differently. Withdrawing an ID the scope does not know drops only its held sets;
 * withdrawing every template of a kind drops every held set, as a held set does not say which
 * kind its template is. Sets that arrive after the withdrawal are held for the new definition. */
void tpl_withdraw(tpl_scope_t *s, uint16_t id, int all_of_kind, int is_options);
/* Forgets every template of the scope (exporter restart). */
void tpl_clear(tpl_scope_t *s);

/* The datagram facts that data records need. */
typedef struct tpl_ctx {
    uint16_t version;
    uint64_t export_ms;
    uint32_t uptime_ms; /* v9 header sysUptime */
} tpl_ctx_t;

/* Runs `t` over the records of one data set (its body, after the 4-byte set header).
 * Flows go to out->sink; options records teach the scope. Returns the number of records
 * read (flows plus options records). A record whose variable-length field runs past the set
 * ends the set and is counted as DEC_E_REC_OVERRUN. */
uint32_t tpl_run_set(tpl_scope_t *s, const tpl_t *t, const uint8_t *p, size_t len,
                     const tpl_ctx_t *ctx, dec_out_t *out);

/* One data set of template `id`: run now, or held until the template arrives. Returns the
 * records read, or -1 when the set was held (or refused holding: counted) and its record
 * count is unknown. */
int tpl_data_set(tpl_scope_t *s, uint16_t id, const uint8_t *p, size_t len, const tpl_ctx_t *ctx,
                 dec_out_t *out);
/* Holds a data set whose template is unknown; 0 held, -1 refused (counted in the scope). */
int tpl_hold(tpl_scope_t *s, uint16_t tpl_id, const uint8_t *p, size_t len, const tpl_ctx_t *ctx);
/* Decodes and releases every held set of template `id` (after it was just defined). */
void tpl_release_held(tpl_scope_t *s, uint16_t id, dec_out_t *out);
/* Advances the scope's clock and expires held sets older than TPL_HELD_MAX_AGE_MS. */
void tpl_advance_clock(tpl_scope_t *s, uint64_t now_ms);

void tpl_cache_report(const tpl_cache_t *c, FILE *f);

/* For persistence: every template of a scope, in id order; the sampling rates it learned. */
void tpl_foreach(const tpl_scope_t *s, void (*fn)(void *arg, const tpl_t *t), void *arg);
uint32_t tpl_n_samplers(const tpl_scope_t *s);
void tpl_foreach_sampler(const tpl_scope_t *s, void (*fn)(void *arg, uint64_t id, uint32_t n),
                         void *arg);
void tpl_set_sampler(tpl_scope_t *s, uint64_t id, uint32_t interval);

#endif
