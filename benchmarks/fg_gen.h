/* fg_gen.h: flowgen's records as generated, the conversations they come from and the planted
 * cases that own them (fg_gen.c).
 *
 * A record is compact (40 bytes), since there are --flows of them: an endpoint is its IPv4
 * address, or, with FG_V6 set, the IPv6 twin of that address (fg_org_addr derives it: an
 * internal host's fd00::/8 address, an external destination's public one), so IPv6 costs no
 * memory. Records are pushed as a (possibly sampling) router would export them: with --sample
 * each packet is kept with probability 1/N, the counters are those of the kept packets, and a
 * record with no packet kept is not exported. --flows counts exported records. */
#ifndef FH_FG_GEN_H
#define FH_FG_GEN_H

#include <stdint.h>
#include <stdio.h>

#include "fg_rng.h"

#define FG_V4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define FG_ACTIVE_TIMEOUT_MS (30u * 60u * 1000u)
#define FG_DAY_MS 86400000ull
#define FG_HOUR_MS 3600000ull

/* TCP flags (RFC 9293 section 3.1). */
#define FG_FIN 0x01
#define FG_SYN 0x02
#define FG_RST 0x04
#define FG_PSH 0x08
#define FG_ACK 0x10

/* IP protocols. */
#define FG_ICMP 1
#define FG_TCP 6
#define FG_UDP 17
#define FG_GRE 47

#define FG_ICMP_ECHO (8u << 8) /* ICMP type 8 code 0 as exporters put it in the port field */

typedef struct fg_flow {
    uint64_t end_ms;
    uint32_t dur_ms;
    uint32_t src, dst;       /* IPv4, or the IPv4 identity whose IPv6 twin is meant (v6) */
    uint32_t packets, bytes; /* as the (possibly sampling) exporter reports them */
    uint32_t seq;            /* creation order: the tie-break that makes the sort a total order */
    uint16_t sport, dport;
    uint8_t proto, flags;
    uint8_t v6;
} fg_flow_t;

_Static_assert(sizeof(fg_flow_t) == 40, "the memory figure in flowgen.c is 40 bytes/flow");

/* One planted case (a threat or a benign look-alike) and what it left in the capture. Host and
 * peer are an address (plen 32, or 128 for IPv6) or a prefix such as a swept /24. */
typedef struct fg_case {
    const char *scenario, *technique;
    uint32_t host, peer;
    uint8_t host_plen, peer_plen, v6;
    int32_t port; /* -1: many ports or none (JSON null) */
    uint8_t proto;
    uint64_t first_ms, last_ms; /* first and last packet, sampled away or not */
    uint64_t n_records;         /* records generated */
    uint64_t n_exported;        /* records left after sampling */
    char params[768];           /* JSON members of "params" without braces */
    size_t params_len;
} fg_case_t;

typedef struct fg_gen {
    fg_flow_t *flows;
    uint32_t n, cap; /* exported records so far; --flows */
    uint32_t sample; /* 1 when unsampled */
    int v4_only;     /* NetFlow v5 carries IPv4 only: IPv6 twins become their IPv4 selves */
    uint64_t start_ms, end_ms;
    fg_rng_t r_sample;
    fg_case_t *cur; /* the case the records being pushed belong to, or NULL */
} fg_gen_t;

/* Appends one record as the exporter reports it: the counters of the packets kept by
 * sampling. Returns 1 when exported, 0 when sampling left no packet or the budget is full. */
int fg_push(fg_gen_t *g, uint64_t start_ms, uint64_t end_ms, uint32_t src, uint16_t sport,
            uint32_t dst, uint16_t dport, uint8_t proto, uint8_t flags, uint64_t packets,
            uint64_t bytes, int v6);

/* One conversation: the client's request flow and the server's response flow. */
typedef struct fg_conv {
    uint64_t t_ms;   /* first packet of the request */
    uint64_t dur_ms; /* first to last packet of the request */
    uint32_t rtt_ms; /* the response starts this much later */
    uint32_t client, server;
    uint16_t cport, sport;
    uint8_t proto;
    uint8_t v6;
    uint8_t one_way;    /* no response (an unanswered probe) */
    uint8_t req_flags;  /* TCP flags of every request record; 0: SYN first, FIN last */
    uint8_t resp_flags; /* the same for the response */
    uint64_t req_pkts, req_bytes, resp_pkts, resp_bytes;
} fg_conv_t;

/* Emits the conversation: a request and a response record per active-timeout segment (a long
 * connection is cut every FG_ACTIVE_TIMEOUT_MS, as routers do), each ending inside the span.
 * Stops when the budget is full. Returns the records generated (exported or not). */
uint32_t fg_conv_emit(fg_gen_t *g, fg_conv_t *c);

/* Records generated while a case is current count for it. */
void fg_case_begin(fg_gen_t *g, fg_case_t *c, const char *scenario, const char *technique);
void fg_case_end(fg_gen_t *g);
/* Appends `"key":value` members to the case's params (printf format of the value part). */
void fg_case_param(fg_case_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The case went out on the wire in a way a hunter can see: false when sampling took records
 * away and fewer than FG_DETECTABLE_MIN remain (or none at all). */
#define FG_DETECTABLE_MIN 20
int fg_case_detectable(const fg_case_t *c);

/* A random start for something lasting `len_ms` inside [from, to) (clipped to the span). */
uint64_t fg_place(const fg_gen_t *g, fg_rng_t *r, uint64_t from, uint64_t to, uint64_t len_ms);

#endif
