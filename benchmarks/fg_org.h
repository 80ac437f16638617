/* fg_org.h: flowgen's synthetic organisation and its everyday traffic (fg_org.c).
 *
 * Internal hosts in 10.0.0.0/16 (200 to 4000, growing with --flows, spread over 4 to 40 /24s
 * from 10.0.10.0/24; servers in 10.0.0.0/24 and 10.0.1.0/24), about a third of them dual-stack
 * with an IPv6 twin in a ULA /48 (fd00::/8, RFC 4193; the subnet ID is the /24's third octet),
 * two resolvers (10.0.0.53, 10.0.1.53 and their twins) that every host uses, a few internal
 * servers, and external destinations with Zipf-like popularity, some with IPv6 addresses. */
#ifndef FH_FG_ORG_H
#define FH_FG_ORG_H

#include <stdint.h>

#include "fg_gen.h"
#include "flow.h"

#define FG_FIRST_HOST_NET 10u
#define FG_RESOLVER_A FG_V4(10, 0, 0, 53)
#define FG_RESOLVER_B FG_V4(10, 0, 1, 53)
#define FG_MONITOR FG_V4(10, 0, 0, 60)      /* polls every host's metrics agent */
#define FG_PINGER FG_V4(10, 0, 0, 61)       /* ICMP availability monitoring */
#define FG_VULN_SCANNER FG_V4(10, 0, 0, 70) /* the authorised vulnerability scanner */
#define FG_UPSTREAM_GW FG_V4(198, 51, 100, 1)
#define FG_N_NS 40
#define FG_N_NTP 4
#define FG_MAX_FRESH 512

typedef struct fg_server {
    uint32_t addr;
    uint16_t port;
} fg_server_t;

extern const fg_server_t fg_internal_servers[6];

typedef struct fg_org {
    uint64_t salt;   /* per seed: IPv6 twins and dual-stack choices */
    uint64_t ula_id; /* the 40-bit global ID of the ULA prefix */
    uint32_t n_nets; /* host subnets 10.0.FG_FIRST_HOST_NET.0/24 onwards */
    uint32_t n_hosts;
    uint32_t *hosts; /* in order of activity: hosts[0] is the busiest */
    uint32_t n_ext;
    uint32_t *ext; /* external destinations, most popular first */
    uint16_t *ext_port;
    uint32_t ns[FG_N_NS];   /* external nameservers the resolvers recurse to */
    uint32_t ntp[FG_N_NTP]; /* the public NTP pool servers */
    uint32_t fresh[FG_MAX_FRESH];
    uint32_t n_fresh;
    uint32_t taken[FG_MAX_FRESH]; /* hosts given a planted case */
    uint32_t n_taken;
} fg_org_t;

int fg_org_init(fg_org_t *o, uint64_t n_flows, uint64_t seed, fg_rng_t *r);
void fg_org_free(fg_org_t *o);

int fg_is_internal(uint32_t a);
/* Whether a is one of the organisation's hosts (an address of a host subnet that fg_org_init
 * gave a host; the rest of those subnets is dark). */
int fg_org_is_host(const fg_org_t *o, uint32_t a);
/* The address an endpoint stands for: itself, or with v6 its IPv6 twin. */
void fg_org_addr(const fg_org_t *o, uint32_t a, int v6, flow_addr_t *out);
int fg_org_dual_stack(const fg_org_t *o, uint32_t host);
int fg_org_has_v6(const fg_org_t *o, uint32_t ext);
/* A public external address nothing else uses (remembered, so it stays unique). */
uint32_t fg_org_fresh(fg_org_t *o, fg_rng_t *r);
/* A host no other planted case has; dual-stack when want_v6 (if one is left). */
uint32_t fg_org_pick_host(fg_org_t *o, fg_rng_t *r, int want_v6);
/* A host of the organisation, busy ones more likely (u^2: the top 1 % of hosts make about
 * 10 % of the traffic). */
uint32_t fg_org_any_host(const fg_org_t *o, fg_rng_t *r);
/* A conversation start in [from, to): thinned outside working hours and at weekends (UTC). */
uint64_t fg_org_when(fg_rng_t *r, uint64_t from, uint64_t to);

/* Everyday traffic until the budget is full: web (a fifth of HTTPS as QUIC; dual-stack hosts
 * reach IPv6 destinations over IPv6), DNS to the resolvers, ping, internal services. */
void fg_org_background(fg_gen_t *g, const fg_org_t *o, fg_rng_t *r);

/* Sizes of a TCP or QUIC session around `median_ms` (log-normal, sigma): packets growing with
 * duration, small requests and full-size responses. */
void fg_org_session(fg_conv_t *c, fg_rng_t *r, double median_ms, double sigma);
/* One-packet request and answer (DNS, NTP, STUN). */
void fg_org_datagram_pair(fg_conv_t *c, fg_rng_t *r, uint64_t req_lo, uint64_t req_hi,
                          uint64_t resp_lo, uint64_t resp_hi, uint32_t rtt_hi);

#endif
