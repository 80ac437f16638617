/* enrich.h: context for findings (en_ prefix): country, city and ASN of the peer from MaxMind
 * DB files (libmaxminddb), host name and user of the internal host from a lease CSV.
 *
 * A database is checked when it is opened (libmaxminddb's own metadata checks, then every
 * search-tree record and a bounded number of data records decoded, then its type), so a
 * missing, corrupt or wrong-type file is an error before any flow is read. What a check cannot
 * see fails at lookup time and is a counted miss, never a crash. Lookups are by binary address
 * (IPv4-mapped addresses as IPv4) and cached per address. Not thread-safe: one thread (the
 * hunts' feed and the report) uses a context. docs/HUNTING.md, "Context: GeoIP, ASN and users".
 */
#ifndef FH_ENRICH_H
#define FH_ENRICH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hunt.h"

typedef struct en_ctx en_ctx_t;

/* Bounds of the users file: a longer line or field is a malformed line; leases past the limit
 * are not loaded (reported once). */
#define EN_USERS_LINE_MAX 4096
#define EN_USERS_FIELD_MAX 127 /* user and host name, as hunt_finding_t holds them */
#define EN_USERS_MAX_LEASES 10000000u
/* Malformed lines reported one by one; past this only the total is. */
#define EN_USERS_REPORT_MAX 50
/* Addresses whose lookups are cached; past this, lookups are answered uncached. */
#define EN_CACHE_MAX 131072
/* Distinct data records decoded when a database is opened (all of a small one). */
#define EN_CHECK_DATA_MAX 32768

typedef struct en_opts {
    const char *geoip, *asn, *users; /* each may be NULL */
    FILE *warn;    /* malformed users lines ("PATH:LINE: reason"), failed lookups; NULL: silent */
    int no_checks; /* open with libmaxminddb's checks only, no tree walk and no type check (the
                    * tests use it to prove lookups survive corrupt files) */
} en_opts_t;

typedef struct en_stats {
    uint64_t lookups;                /* en_lookup calls */
    uint64_t cache_hits;             /* answered from the cache */
    uint64_t geo_miss, asn_miss;     /* address not in the database */
    uint64_t geo_errors, asn_errors; /* lookups that failed (corrupt data): counted as misses */
    uint64_t leases;                 /* leases loaded from the users file */
    uint64_t users_bad;              /* malformed lines skipped */
    uint64_t users_over;             /* leases past EN_USERS_MAX_LEASES, not loaded */
} en_stats_t;

/* Opens the databases and the users file (each may be NULL). NULL with `err` set when any of
 * them is missing, corrupt or of the wrong type. Malformed users lines go to stderr. */
en_ctx_t *en_open(const char *geoip_path, const char *asn_path, const char *users_path, char *err,
                  size_t err_cap);
/* The same with every option. */
en_ctx_t *en_open_opts(const en_opts_t *o, char *err, size_t err_cap);
/* Peers inside cfg's internal networks are not looked up by en_finding (cfg is borrowed and
 * must outlive the context). Without it every single-address peer is looked up. */
void en_set_internal(en_ctx_t *en, const hunt_config_t *cfg);
/* Adds the leases of a users CSV held in memory (`name` names it in warnings). Returns the
 * leases added. Used by en_open for the file and by the fuzz target. */
long en_users_parse(en_ctx_t *en, const char *name, const char *text, size_t len);
/* What the databases know of one address (cached); 1 when anything, else 0. For the hunts
 * (a new country for this host). */
int en_lookup(en_ctx_t *en, const flow_addr_t *a, hunt_geo_t *out);
/* One cell of what the databases say of an address, for a table (flowhunt top, cat): the
 * country's ISO code, the AS number or the AS organisation, formatted for the output:
 * EN_OUT_CSV quotes the organisation when it must (RFC 4180; one that starts like a
 * spreadsheet formula is also led by '), EN_OUT_JSON escapes it (the
 * caller adds the quotes of a string), EN_OUT_TEXT shows control bytes as '?'. Writes at most
 * EN_CELL_MAX bytes and a NUL; returns the length, or -1 when the databases do not know it. */
enum { EN_CELL_COUNTRY, EN_CELL_ASN, EN_CELL_ORG, EN_N_CELLS };
enum { EN_OUT_TEXT, EN_OUT_CSV, EN_OUT_JSON };
#define EN_CELL_MAX 800 /* an organisation of 127 bytes, each escaped as \u00XX */
int en_cell(char *out, const hunt_geo_t *g, int cell, int out_fmt);
/* `text` as a cell in out_fmt, as en_cell formats an organisation: at most 6 bytes of out for
 * each byte of text, then a NUL (out must have room: 6 * strlen + 3); returns the length. */
int en_escape(char *out, const char *text, int out_fmt);
/* The column name of a cell ("country", "asn", "as_org"). */
extern const char *const en_cell_names[EN_N_CELLS];

/* The user and host name of the lease of `host` covering `t_ms` (start <= t <= end; of
 * overlapping leases the one that started last). 1 when a lease covers it, else 0. */
int en_user_at(const en_ctx_t *en, const flow_addr_t *host, uint64_t t_ms, char *user,
               size_t user_cap, char *hostname, size_t hostname_cap);
/* Fills f->host_name, f->user (the lease covering last_seen, else first_seen) and f->peer_geo
 * (a single external peer address only: not a network, not an internal address). */
void en_finding(en_ctx_t *en, hunt_finding_t *f);
void en_get_stats(const en_ctx_t *en, en_stats_t *out);
/* Reports failed lookups (on the warn stream) and frees everything. */
void en_close(en_ctx_t *en);

#endif
