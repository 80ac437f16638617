/* intel.h: threat-intel feeds (ti_ prefix): indicators loaded from plain IP/CIDR lists, CSV,
 * Zeek Intel files, MISP JSON and STIX 2.1 bundles, matched by longest prefix.
 *
 * A feed's format is recognised from its content, never from its name. Only what flows can
 * show is kept: IPv4 and IPv6 addresses and networks, optionally with the port on the
 * indicator's side; domain, URL and hash indicators are counted and skipped. Every indicator
 * keeps the feed it came from, its text as written, its type, confidence, description and
 * validity, so a match can be explained in a finding's evidence.
 */
#ifndef FH_INTEL_H
#define FH_INTEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hunt.h"

typedef struct ti_db ti_db_t;

/* One indicator. The strings belong to the database. */
typedef struct ti_ioc {
    flow_net_t net;                   /* IPv4 held IPv4-mapped: a /24 has plen 120 */
    int port;                         /* -1: any; else only this port on the indicator's side */
    int confidence;                   /* 0..100, or -1 when the feed states none */
    uint64_t valid_from, valid_until; /* ms since the epoch; 0 when open */
    const char *feed;                 /* the feed file's base name */
    const char *text;                 /* the indicator as the feed wrote it */
    const char *type;                 /* the feed's own type ("Intel::SUBNET", "ip-dst|port") */
    const char *desc;                 /* "" when the feed gives none */
} ti_ioc_t;

/* What loading one feed did. */
typedef struct ti_feed {
    const char *name;   /* base name */
    const char *format; /* "plain", "csv", "zeek", "misp", "stix" */
    long loaded;        /* indicators kept */
    long duplicate;     /* repeats of a kept one (same network, port, confidence, validity) */
    long malformed;     /* lines or entries reported and skipped */
    long unsupported;   /* entries flows cannot match (domains, URLs, hashes, patterns) */
    long not_ids;       /* MISP attributes without to_ids, revoked STIX indicators */
} ti_feed_t;

ti_db_t *ti_new(void);
/* Loads one feed (its format recognised from its content). A malformed line or entry is
 * reported on `warn` as "PATH:LINE: reason" (JSON: "PATH:Event.Attribute[3]: reason") and
 * skipped. Returns the indicators loaded, or -1 with `err` set when the feed cannot be used at
 * all (unreadable, not valid JSON, no indicator column, no known format). */
long ti_load(ti_db_t *db, const char *path, FILE *warn, char *err, size_t err_cap);
/* The same from bytes in memory; `path` names the feed in messages, its base name is the feed
 * name. The bytes are borrowed and need no terminator. */
long ti_load_mem(ti_db_t *db, const char *path, const void *data, size_t len, FILE *warn, char *err,
                 size_t err_cap);
void ti_free(ti_db_t *db);

/* The indicator covering `a` with the longest prefix among those valid at some time in
 * [t0_ms, t1_ms] whose port is unset or equals `port` (-1: the traffic has no ports, so only
 * indicators without one match; TI_ANY_PORT: whatever their port, as `cat --intel` selects)
 * and whose stated confidence is at least `min_conf` (one the feed gives none always counts;
 * 0: every indicator). An indicator below the floor is passed over before the longest prefix
 * is chosen, so a broader one the floor keeps still matches. Among several of one prefix: one
 * naming the port, then the highest confidence, then the first loaded. NULL when none
 * matches. */
#define TI_ANY_PORT (-2)
const ti_ioc_t *ti_match(const ti_db_t *db, const flow_addr_t *a, int port, uint64_t t0_ms,
                         uint64_t t1_ms, double min_conf);

/* Indicators loaded over all feeds; feeds loaded (each ti_load call that succeeded). */
size_t ti_count(const ti_db_t *db);
/* Indicator i (0 .. ti_count - 1), in load order. */
const ti_ioc_t *ti_ioc_at(const ti_db_t *db, size_t i);
size_t ti_n_feeds(const ti_db_t *db);
const ti_feed_t *ti_feed(const ti_db_t *db, size_t i);

/* Parses one indicator's text: an address, a network (ADDR/LEN), optionally followed by a port
 * as ADDR|PORT, IPv4:PORT or [IPv6]:PORT. *port is -1 without one. 0, or -1 with a reason. */
int ti_parse_ioc(const char *s, flow_net_t *net, int *port, const char **why);

#endif
