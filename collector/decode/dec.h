/* dec.h: what every decoder shares: its signature's types and the one list of malformations.
 *
 * A decoder is a pure function: export-datagram bytes in (borrowed, read-only, untrusted);
 * flows out through a sink callback; each malformation counted by name in the caller's
 * dec_counts_t; the datagram's header facts (domain, sequence, export time) in dec_out_t so
 * the caller does sequence-loss accounting in one place for every protocol. No I/O, no
 * allocation, no pointer into the datagram kept after return.
 */
#ifndef FH_DEC_H
#define FH_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* Every named malformation: X(code, counter_name, description). A datagram-level error drops
 * the whole datagram; the decoders document which ones are per record. */
#define DEC_ERRORS(X)                                                                              \
    X(DEC_E_SHORT_HEADER, "short_header", "datagram shorter than its protocol header")             \
    X(DEC_E_VERSION, "unsupported_version", "version field is not one this build decodes")         \
    X(DEC_E_V5_ZERO_COUNT, "v5_zero_count", "v5 header announces no flow records")                 \
    X(DEC_E_V5_LENGTH, "v5_length_mismatch", "v5 datagram length is not 24 + 48 * count")          \
    X(DEC_E_SET_LENGTH, "set_length", "set length below 4 or past the datagram: rest dropped")     \
    X(DEC_E_MSG_LENGTH, "ipfix_length_mismatch", "IPFIX message length is not the datagram's")     \
    X(DEC_E_SET_RESERVED, "set_id_reserved", "set with a reserved id, skipped")                    \
    X(DEC_E_TPL_TRUNCATED, "template_truncated", "template record runs past its set")              \
    X(DEC_E_TPL_BAD_ID, "template_bad_id", "template id below 256")                                \
    X(DEC_E_TPL_EMPTY, "template_empty", "template whose records would have no bytes")             \
    X(DEC_E_TPL_TOO_MANY_FIELDS, "template_too_many_fields",                                       \
      "template with more fields than allowed")                                                    \
    X(DEC_E_TPL_TOO_LONG, "template_record_too_long", "template whose records exceed 65535 bytes") \
    X(DEC_E_TPL_FIELD_LENGTH, "template_field_length",                                             \
      "field length impossible for its element: field skipped")                                    \
    X(DEC_E_TPL_BAD_SCOPE, "options_template_scope",                                               \
      "options template scope empty or longer than its fields")                                    \
    X(DEC_E_TPL_LIMIT, "template_limit", "template refused: scope or cache bound reached")         \
    X(DEC_E_TPL_NOMEM, "template_nomem", "template refused: out of memory")                        \
    X(DEC_E_SCOPE_LIMIT, "scope_limit", "datagram dropped: too many (exporter, domain) scopes")    \
    X(DEC_E_REC_OVERRUN, "record_overrun",                                                         \
      "variable-length field runs past its set: rest of set dropped")                              \
    X(DEC_E_WITHDRAW_UNKNOWN, "withdraw_unknown", "withdrawal of a template that is not known")

typedef enum dec_err {
    DEC_OK = 0,
#define DEC_X_ENUM(code, name, desc) code,
    DEC_ERRORS(DEC_X_ENUM)
#undef DEC_X_ENUM
        DEC_N_ERRORS
} dec_err_t;

/* Counter name ("v5_length_mismatch") and description of a DEC_E_* code. */
const char *dec_err_name(int code);
const char *dec_err_desc(int code);

typedef struct dec_counts {
    uint64_t n[DEC_N_ERRORS]; /* indexed by DEC_E_* */
} dec_counts_t;

typedef void (*flow_sink_fn)(void *arg, const flow_rec_t *rec);

/* What the datagram's header said, for the caller's sequence and exporter accounting. */
typedef struct dec_hdr {
    uint16_t version;
    uint32_t obs_domain; /* v5: engine_type << 8 | engine_id */
    uint32_t sequence;
    uint32_t seq_units; /* how far this datagram advances the sequence (v5: flows) */
    uint32_t seq_opts;  /* IPFIX: of those, options data records (some exporters skip them) */
    uint8_t seq_exact;  /* 0 when seq_units is unknown (IPFIX data held for a template) */
    uint8_t have_boot;  /* v5, v9, and IPFIX announcing its init time: boot_ms is known */
    uint8_t boot_announced; /* IPFIX: boot_ms from an options record of this message only */
    uint64_t export_ms; /* export time, ms since the Unix epoch */
    int64_t boot_ms;    /* v5, v9: export time minus sysUptime; IPFIX: systemInitTime */
} dec_hdr_t;

/* An exporter restarted when its boot time (export time minus sysUptime) moved forward by more
 * than this and its sequence did not carry on. sysUptime going back alone is not enough: a
 * datagram sent earlier and delivered (or captured) late has a smaller sysUptime, an earlier
 * export time and the same boot time; and some exporters' sysUptime wanders (akvorado's
 * samplingrate capture: -113 s in 16 s) while the sequence runs on. */
#define DEC_RESTART_MS 60000

typedef struct dec_out {
    flow_sink_fn sink; /* called once per decoded flow; the record is valid during the call */
    void *sink_arg;
    dec_counts_t *counts; /* the caller's: decoders only increment */
    dec_hdr_t hdr;        /* filled once the header has been validated */
    uint32_t n_flows;     /* flows emitted by this call */
} dec_out_t;

/* Counts `code` and returns -code: the one way a decoder reports a malformation. */
/* How far a sysUpTime time `t` (NetFlow v5 First/Last, v9 IEs 21/22; ms, wrapping at 2^32) lies
 * before the export instant whose sysUpTime is `uptime`. A record describes the past: it can
 * be up to 49.7 days old (the wrap), but ahead of its own export only by clock jitter, so only
 * times at most DEC_UPTIME_AHEAD_MS after the export count as ahead (negative). nfdump reads the
 * difference the same way; a plain signed difference would move a flow older than 24.8 days
 * (or a record whose uptime clock does not match its export time, as softflowd's offline mode
 * sends) 49.7 days into the future. */
#define DEC_UPTIME_AHEAD_MS 3600000u

static inline int64_t dec_uptime_behind(uint32_t uptime, uint32_t t)
{
    uint32_t behind = uptime - t;
    return behind > UINT32_MAX - DEC_UPTIME_AHEAD_MS ? -(int64_t)(uint32_t)(t - uptime)
                                                     : (int64_t)behind;
}

static inline int dec_fail(dec_out_t *out, dec_err_t code)
{
    out->counts->n[code]++;
    return -(int)code;
}

#endif
