/* fg_export.h: flowgen's routers: the generated records, sorted by end time, exported as
 * NetFlow v5, v9 or IPFIX datagrams into a capture or over UDP (fg_export.c).
 *
 * Each record goes to the exporter of its internal side's /24 (192.0.2.(i+1), source port
 * 50000+i, to 192.0.2.254:2055); with --dup P a share P of records is exported a second time,
 * the same flow, by the core router on the path (the exporter after the edge ones). An
 * exporter sends a datagram when it is full (v5: 30 flows; v9 and IPFIX: the next flow would
 * not fit in the MTU, FG_MTU bytes unless --mtu) or the oldest waiting flow has waited FG_BATCH_WAIT_MS, stamped
 * with its last flow's end plus a small delay; each exporter has its own boot time. The
 * writers (nf5_encode, nf9_encode, ipfix_encode) keep each protocol's header rules: v5
 * sequence counts flows, v9 datagrams, IPFIX data records; v9 and IPFIX templates go in an
 * exporter's first datagram and every NF9E_REFRESH_DEFAULT after, with the sampling interval
 * announced in options data when --sample is given. Observation domain (v5 engine_id, v9
 * source ID, IPFIX domain) is the exporter's index. */
#ifndef FH_FG_EXPORT_H
#define FH_FG_EXPORT_H

#include <stdint.h>

#include "fg_gen.h"
#include "fg_org.h"
#include "fg_send.h"
#include "ipfix_encode.h"
#include "nf5_encode.h"
#include "nf9_encode.h"
#include "pcap_write.h"

#define FG_BATCH_WAIT_MS 2000u
#define FG_COLLECTOR_PORT 2055u
#define FG_MTU 1400u /* v9 and IPFIX datagrams: within an Ethernet MTU after IP and UDP */
#define FG_MTU_MIN 576u
#define FG_MTU_MAX 9000u  /* a jumbo frame's payload: exporters on 9000-byte links send this */
#define FG_BATCH_MAX 512u /* flows an exporter holds; FG_MTU_MAX fills well before this */

typedef enum fg_format { FG_FMT_V5, FG_FMT_V9, FG_FMT_IPFIX } fg_format_t;

typedef struct fg_exporter {
    flow_addr_t addr;
    uint16_t port;
    uint64_t boot_ms;
    uint32_t sequence; /* v5: flows this exporter has sent (v9 and IPFIX: in their encoder) */
    nf9e_t nf9;
    ipfixe_t ipfix;
    flow_rec_t batch[FG_BATCH_MAX];
    uint32_t n;
    uint64_t first_end_ms; /* of the oldest waiting flow */
    uint64_t dgrams;       /* sent */
} fg_exporter_t;

typedef struct fg_export {
    fg_exporter_t *ex;
    uint32_t n_edge; /* exporters a record goes to first, by its /24 */
    uint32_t n_ex;   /* n_edge, plus the core router when --dup */
    fg_format_t fmt;
    uint32_t batch_max;      /* flows that make a batch full whatever their size */
    uint32_t mtu;            /* v9 and IPFIX: largest datagram */
    uint16_t sampling_field; /* v5 */
    uint32_t sample;
    double dup; /* share of records the core router exports again */
    const fg_org_t *org;
    pcapw_t *w;      /* the capture, or */
    fg_send_t *send; /* the UDP sender */
    fg_rng_t r, r_dup;
    flow_addr_t collector;
    uint64_t last_export_ms;
    uint64_t last_ts_ns;
    uint64_t n_dgrams, n_flows, n_dups;
} fg_export_t;

/* Sets up n_edge exporters (plus the core router when dup > 0) with boot times before
 * start_ms, v9 and IPFIX datagrams of at most mtu bytes (0: FG_MTU); 0, or -1 when the MTU
 * cannot hold the templates or memory runs out. */
int fg_export_init(fg_export_t *x, fg_format_t fmt, uint32_t n_edge, double dup, uint32_t sample,
                   uint32_t mtu, uint64_t start_ms, uint64_t seed, const fg_org_t *org);
void fg_export_free(fg_export_t *x);
/* Sorts g's records by end time and exports them all; 0 or -1 (errno). */
int fg_export_run(fg_export_t *x, fg_gen_t *g);
/* The exporters that sent at least one datagram: a record goes to the edge router of its
 * internal /24, so with more routers than the organisation has /24s some send nothing. */
uint32_t fg_export_active(const fg_export_t *x);

#endif
