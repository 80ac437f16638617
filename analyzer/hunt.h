/* hunt.h: the hunting framework: prepared conversations in, findings out.
 *
 * A hunt never sees raw flow records. hunt_prep.c reads the window once, stitches records an
 * exporter cut by its active timeout, drops the copies several routers exported of one flow,
 * pairs the two one-way records of a conversation (so "was it answered" is known) and scales
 * counters by the sampling rate; what a hunt gets is a hunt_conv_t, in time order. Each hunt is
 * one file with the same four entry points (create, feed, finish, destroy) plus part_end, which
 * prep calls when every conversation of a partition of address pairs has been fed (a hunt may
 * score and free its per-pair state there: that is what keeps memory bounded). A hunt returns
 * hunt_finding_t's; hunt_report.c merges findings that share a fingerprint, numbers them with
 * IDs kept under DIR/hunt/ and prints them as text, JSON lines or CSV.
 *
 * Modules and prefixes: hunt_ (this header, cmd_hunt.c), hp_ (prep), hb_ (beacon), hs_ (scan),
 * hd_ (DNS exfiltration), hr_ (report and state), hc_ (configuration), hj_ (the checked Judy
 * wrapper) and hev_ (evidence builder).
 */
#ifndef FH_HUNT_H
#define FH_HUNT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"

/* ---- commands (dispatched from main.c) ------------------------------------------------------ */

int cmd_hunt(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_acks(int argc, char **argv);
int cmd_unack(int argc, char **argv);

/* ---- Judy, behind a wrapper that checks every call ------------------------------------------
 * Judy reports failure (out of memory, a corrupt array) through a JError_t that is easy to
 * ignore; every call here checks it and ends the run with exit status 2 ("could not run") and
 * the Judy error number, because a hunt that silently lost state would report wrong findings. */

typedef struct hj_map {
    void *judy; /* JudyL: uint64 key -> uint64 value */
    uint64_t n;
} hj_map_t;

/* The slot for `key`, created (zero) when absent. */
uint64_t *hj_map_ins(hj_map_t *m, uint64_t key);
/* The slot for `key`, or NULL. */
uint64_t *hj_map_get(const hj_map_t *m, uint64_t key);
/* First key >= *key (0 to start); 1 and *key, *val set, or 0 at the end. */
int hj_map_next(const hj_map_t *m, uint64_t *key, uint64_t **val, int first);
void hj_map_free(hj_map_t *m);

/* Interning of byte-string keys (a hash table in hunt_judy.c): each distinct key gets the next
 * id 0, 1, 2, ..., so per-key records live in a plain array in insertion order. */
typedef struct hj_intern {
    void *tab;
    uint64_t n;
} hj_intern_t;

/* The key's id; *is_new set to 1 when it was just added. */
uint64_t hj_intern(hj_intern_t *t, const void *key, size_t len, int *is_new);
/* The id, or UINT64_MAX when absent. */
uint64_t hj_lookup(const hj_intern_t *t, const void *key, size_t len);
void hj_intern_free(hj_intern_t *t);

/* A growable array of fixed-size records, checked: the id space of an hj_intern_t. */
typedef struct hj_vec {
    void *v;
    size_t n, cap, size;
} hj_vec_t;

void hj_vec_init(hj_vec_t *v, size_t elem_size);
/* Pointer to element i, growing as needed: elements from n to i come in zeroed. */
void *hj_vec_at(hj_vec_t *v, size_t i);
void hj_vec_free(hj_vec_t *v);

/* Allocation that ends the run (exit 2) when memory is exhausted. */
void *hj_xmalloc(size_t n);
void *hj_xcalloc(size_t n, size_t size);
void *hj_xrealloc(void *p, size_t n);
char *hj_xstrdup(const char *s);

/* ---- configuration (hunt_config.c) --------------------------------------------------------- */

enum { HC_ALLOW_HOST, HC_ALLOW_DST, HC_ALLOW_PORT };

typedef struct hc_allow {
    int kind;
    flow_net_t net; /* host, dst */
    uint16_t port; /* port */
    uint8_t proto; /* port: 6, 17 or 0 for both */
    char hunt[16]; /* "" for every hunt, else the one hunt it applies to */
    char reason[160];
    char text[200]; /* as written, for the evidence */
} hc_allow_t;

/* Every numeric setting: X(section, key, field, default, min, max, kind, doc), kind `whole`
 * for a count (hosts, bytes, a risk: the code takes it as an integer, so a fraction is
 * refused rather than cut) or `real`. The INI file, the defaults, --print-config and
 * docs/HUNTING.md all come from this one list. */
#define HC_NUMBERS(X)                                                                              \
    X(general, memory_mb, memory_mb, 2048, 16, 1048576, whole,                                     \
      "memory for prepared flows; larger windows are hunted in several passes")                    \
    X(general, workers, workers, 0, 0, 16, whole, "scan threads (0: the online CPUs, at most 16)") \
    X(general, min_risk, min_risk, 1, 1, 4, whole,                                                 \
      "lowest risk reported, 1 Low .. 4 Critical (--min-risk): findings below it are counted in "  \
      "the report's header, not listed, and take no Hunt ID")                                      \
    X(general, fold_min_hosts, fold_min_hosts, 10, 0, 1e9, whole,                                  \
      "the text and HTML reports print the Low and Medium findings of one hunt towards one peer, " \
      "port and protocol from this many hosts or more as one block (--no-fold, or 0: each "        \
      "apart); the other formats list each")                                                       \
    X(general, fold_min_findings, fold_min_findings, 10, 0, 1e9, whole,                            \
      "the text and HTML reports print one host's findings of one hunt and risk, this many or "    \
      "more (a scanner's targets, a poller's), as one block (--no-fold, or 0: each apart)")        \
    X(general, fold_min_low, fold_min_low, 50, 0, 1e9, whole,                                      \
      "then the Low findings of one hunt that no block holds, this many or more (a week's "        \
      "first contacts with new destinations), as one block (--no-fold, or 0: each apart)")         \
    X(prep, stitch_gap_s, stitch_gap_s, 60, 0, 3600, real,                                         \
      "longest gap between two records of one 5-tuple that are joined")                            \
    X(prep, active_timeout_min_s, active_min_s, 50, 1, 86400, real,                                \
      "without an end reason, only a record at least this long can have been cut by an "           \
      "active timeout")                                                                            \
    X(prep, dedup_tolerance_ms, dedup_tol_ms, 2000, 0, 600000, whole,                              \
      "a record of one 5-tuple from another exporter starting before the flow so far ends, "       \
      "or this close after, is a copy of it")                                                      \
    X(prep, pair_tolerance_ms, pair_tol_ms, 5000, 0, 600000, whole,                                \
      "a reverse record starting this much before or after the forward one answers it")            \
    X(beacon, min_connections, b_min_conn, 6, 4, 1000000, whole,                                   \
      "connections a pair needs to be scored (RITA needs 4)")                                      \
    X(beacon, max_connections, b_max_conn, 86400, 100, 10000000, whole,                            \
      "timestamps kept per pair (RITA's strobe limit); more are counted, not kept")                \
    X(beacon, min_interval_ms, b_min_interval_ms, 1000, 0, 3600000, real,                          \
      "intervals shorter than this are retries, not check-ins")                                    \
    X(beacon, iqr_guard_s, b_iqr_guard_s, 10, 0, 3600, real,                                       \
      "interval IQR below which Bowley skew counts as 0 (RITA)")                                   \
    X(beacon, size_iqr_guard, b_size_iqr_guard, 10, 0, 1000000, real,                              \
      "byte-size IQR below which Bowley skew counts as 0 (RITA); on the wire: times 1:N under "    \
      "sampling")                                                                                  \
    X(beacon, weight_timing, b_w_ts, 0.25, 0, 1, real, "weight of the timing score")               \
    X(beacon, weight_size, b_w_ds, 0.25, 0, 1, real, "weight of the data-size score")              \
    X(beacon, weight_duration, b_w_dur, 0.25, 0, 1, real, "weight of the duration score")          \
    X(beacon, weight_histogram, b_w_hist, 0.25, 0, 1, real,                                        \
      "weight of the hourly histogram score")                                                      \
    X(beacon, hist_bins, b_hist_bins, 24, 6, 1000, whole,                                          \
      "histogram bins over the window and over the pair's active span (RITA: 24)")                 \
    X(beacon, bimodal_sensitivity, b_bimodal_sens, 0.05, 0.01, 1, real,                            \
      "RITA histogram_mode_sensitivity")                                                           \
    X(beacon, bimodal_outlier_removal, b_bimodal_outl, 1, 0, 10, real,                             \
      "RITA bimodal outlier removal")                                                              \
    X(beacon, bimodal_min_bins, b_bimodal_min, 11, 6, 1000, whole,                                 \
      "RITA histogram_bimodal_min_hours_seen")                                                     \
    X(beacon, duration_min_bins, b_dur_min, 6, 1, 1000, whole, "RITA duration_min_hours_seen")     \
    X(beacon, duration_ideal_bins, b_dur_ideal, 12, 1, 1000, whole,                                \
      "RITA duration_consistency_ideal_hours_seen")                                                \
    X(beacon, period_alpha, b_alpha, 0.001, 1e-12, 0.5, real,                                      \
      "significance of the periodicity (Rayleigh) test")                                           \
    X(beacon, period_max_intervals, b_per_max, 4096, 16, 1000000, whole,                           \
      "most recent intervals the periodicity test uses")                                           \
    X(beacon, timing_min, b_ts_min, 0.75, 0, 1, real,                                              \
      "without a significant period, RITA timing needed to call a pair a beacon (Poisson "         \
      "arrivals score about 0.5)")                                                                 \
    X(beacon, sampled_min, b_sampled_min, 10, 2, 1e9, whole,                                       \
      "sampling rate (1:N) from which timing cannot be tested (thinned check-ins with jitter "     \
      "lose their phase): a pair may then be a beacon by size regularity and persistence alone, "  \
      "at most Medium, Low confidence")                                                            \
    X(beacon, sampled_min_size, b_sampled_ds, 0.9, 0, 1, real,                                     \
      "under sampling: data-size score needed without timing")                                     \
    X(beacon, sampled_min_duration, b_sampled_dur, 0.8, 0, 1, real,                                \
      "under sampling: duration score needed without timing")                                      \
    X(beacon, score_base, b_base, 0.5, 0, 1, real,                                                 \
      "beacon score below which a pair is not reported")                                           \
    X(beacon, score_low, b_low, 0.7, 0, 1, real, "RITA bucket: base..low maps to 0.2..0.4")        \
    X(beacon, score_medium, b_medium, 0.9, 0, 1, real,                                             \
      "RITA bucket: low..medium maps to 0.4..0.6")                                                 \
    X(beacon, prevalence_rare, b_prev_rare, 0.02, 0, 1, real,                                      \
      "destinations used by at most this share of internal hosts are rare (bonus)")                \
    X(beacon, prevalence_common, b_prev_common, 0.5, 0, 1, real,                                   \
      "destinations used by at least this share are common (full penalty)")                        \
    X(beacon, prevalence_bonus, b_prev_bonus, 0.15, 0, 1, real, "added for a rare destination")    \
    X(beacon, prevalence_penalty, b_prev_penalty, 0.3, 0, 1, real,                                 \
      "taken for a common destination")                                                            \
    X(beacon, prevalence_min_hosts, b_prev_min_hosts, 10, 1, 1000000, whole,                       \
      "internal hosts needed before prevalence means anything")                                    \
    X(beacon, unknown_prevalence_max_risk, b_unk_prev_risk, 2, 1, 4, whole,                        \
      "highest risk (1 Low .. 4 Critical) when too few internal hosts to judge prevalence")        \
    X(beacon, nonstandard_port_bonus, b_port_bonus, 0.15, 0, 1, real,                              \
      "added when the port is not standard for the protocol (T1571)")                              \
    X(beacon, nonstandard_port_max_hosts, b_port_max_hosts, 4, 0, 1000000, whole,                  \
      "the non-standard-port bonus needs the destination used by at most this many internal "      \
      "hosts: a port many hosts use to one destination is that service's (STUN, MQTT), not a "     \
      "backdoor's (hunting-methods.md 5.2)")                                                       \
    X(beacon, internal_penalty, b_int_penalty, 0.3, 0, 1, real,                                    \
      "taken when the destination is internal: periodic internal traffic is mostly management "    \
      "(RITA scores only internal to external); lateral C2 still shows, lower")                    \
    X(beacon, fleet_hosts, b_fleet_hosts, 10, 2, 1000000, whole,                                   \
      "internal hosts sharing one timer (port, protocol, period within 10 %) towards at least "    \
      "3 different destinations: installed software's schedule (NTP, updates), risk capped at "    \
      "Low")                                                                                       \
    X(beacon, shared_timer_share, b_shared_share, 0.25, 0, 1, real,                                \
      "one timer of fleet_hosts hosts towards a destination that at least this share of the "      \
      "internal hosts call: software the organisation runs (an update service), risk capped at "   \
      "Low (1 turns the rule off)")                                                                \
    X(beacon, poller_destinations, b_poller_dsts, 5, 2, 1000000, whole,                            \
      "a host with beacon-like timelines to this many destinations on one port is a poller "       \
      "(monitoring, backup, management), not one implant: risk capped at Low")                     \
    X(beacon, confidence_high_n, b_conf_n_high, 24, 1, 1000000, whole,                             \
      "connections for High confidence")                                                           \
    X(beacon, confidence_high_hours, b_conf_h_high, 12, 0, 10000, real,                            \
      "hours covered for High confidence")                                                         \
    X(beacon, confidence_medium_n, b_conf_n_med, 10, 1, 1000000, whole,                            \
      "connections for Medium confidence")                                                         \
    X(scan, fast_window_s, s_fast_win, 300, 1, 86400, real, "fast-scan window (Zeek: 5 min)")      \
    X(scan, slow_window_s, s_slow_win, 86400, 60, 31536000, real, "slow-scan window")              \
    X(scan, fast_horizontal, s_fast_h, 25, 2, 1000000, whole,                                      \
      "failed targets on one port within the fast window (Zeek: 25)")                              \
    X(scan, fast_vertical, s_fast_v, 15, 2, 65536, whole,                                          \
      "failed ports on one target within the fast window (Zeek: 15)")                              \
    X(scan, slow_horizontal, s_slow_h, 50, 2, 1000000, whole,                                      \
      "failed targets on one port within the slow window")                                         \
    X(scan, slow_vertical, s_slow_v, 50, 2, 65536, whole,                                          \
      "failed ports on one target within the slow window")                                         \
    X(scan, slow_fail_ratio, s_fail_ratio, 0.5, 0, 1, real,                                        \
      "a slow scan also needs this share of its first contacts to fail")                           \
    X(scan, icmp_fast, s_icmp_fast, 25, 2, 1000000, whole,                                         \
      "echo-requested targets in the fast window")                                                 \
    X(scan, icmp_slow, s_icmp_slow, 50, 2, 1000000, whole,                                         \
      "echo-requested targets in the slow window")                                                 \
    X(scan, sampled_floor, s_sampled_floor, 20, 2, 1000000, whole,                                 \
      "under 1:N sampling a scan's one-packet probes survive one in N, so each threshold is "      \
      "divided by N, but never below this many distinct targets or ports seen (nor above the "     \
      "threshold)")                                                                                \
    X(scan, critical_factor, s_crit, 4, 1, 1000, real,                                             \
      "internal fast sweep of a lateral-movement port this many times the threshold: Critical")    \
    X(scan, probe_connections, s_probe, 20, 2, 1000000, whole,                                     \
      "TCP connections to one target within the fast window, a half-open probe among them: "       \
      "service probing (nmap -sV/-A)")                                                             \
    X(scan, max_events_per_host, s_max_ev, 1000000, 1000, 100000000, whole,                        \
      "attempts kept per host; more are counted as evicted")                                       \
    X(scan, trw_min_dark, s_trw_min_dark, 4, 0, 1000000, whole,                                    \
      "the sequential test (TRW) over a host's first contacts with internal addresses reports "    \
      "it once it decides 'scanner' with at least this many dark targets, addresses nobody saw "   \
      "alive in the window (0: the test is off)")                                                  \
    X(scan, trw_theta0, s_trw_theta0, 0.8, 0.01, 0.99, real,                                       \
      "TRW: chance that a benign host's first contact reaches a live address (Jung et al.)")       \
    X(scan, trw_theta1, s_trw_theta1, 0.2, 0.01, 0.99, real, "TRW: the same chance for a scanner") \
    X(scan, trw_alpha, s_trw_alpha, 0.01, 1e-9, 0.5, real, "TRW: false positive bound (alpha)")    \
    X(scan, trw_beta, s_trw_beta, 0.99, 0.5, 1, real, "TRW: detection probability (beta)")         \
    X(dns, bytes_per_packet, d_bpp, 150, 1, 65535, real,                                           \
      "upstream bytes per packet of a tunnel (queries are 60-100 B)")                              \
    X(dns, bpp_min_packets, d_bpp_min, 100, 1, 100000000, whole,                                   \
      "upstream packets before bytes per packet is judged")                                        \
    X(dns, up_down_ratio, d_ratio, 1.0, 0, 1000, real, "upstream/downstream bytes of a tunnel")    \
    X(dns, ratio_min_bytes, d_ratio_min, 50000, 0, 1e12, whole,                                    \
      "upstream bytes before the ratio is judged")                                                 \
    X(dns, long_flow_s, d_long_s, 60, 1, 86400, real, "a DNS 5-tuple this long is long-lived")     \
    X(dns, long_flow_packets, d_long_pkts, 20, 2, 100000000, whole,                                \
      "a DNS 5-tuple with this many packets is long-lived")                                        \
    X(dns, volume_bytes, d_volume, 5000000, 1, 1e15, whole,                                        \
      "upstream bytes in the window: high volume")                                                 \
    X(dns, population_z, d_pop_z, 3.5, 0, 1000, real,                                              \
      "robust z-score of the host's DNS bytes against all internal hosts")                         \
    X(dns, history_factor, d_hist_factor, 10, 1, 1e6, real,                                        \
      "upstream bytes to the resolver in one hour this many times the host's median hour of "      \
      "port-53 traffic in the window: a burst against its own history")                            \
    X(dns, history_min_hours, d_hist_min_hours, 6, 1, 100000, whole,                               \
      "hours (buckets) with port-53 traffic the host needs before its history is judged")          \
    X(dns, history_min_bytes, d_hist_min_bytes, 100000, 0, 1e15, whole,                            \
      "upstream bytes to the resolver in that hour before a burst counts")                         \
    X(dns, min_flows, d_min_flows, 1, 1, 1000000, whole,                                           \
      "conversations to a non-approved resolver")                                                  \
    X(dns, resolver_min_hosts, d_res_min_hosts, 20, 0, 1e9, whole,                                 \
      "with no resolvers configured, a server this many internal hosts send DNS to is a "          \
      "resolver in practice, approved as a configured one is (0: none inferred)")                  \
    X(dns, zone_transfer_bytes, d_axfr, 100000, 0, 1e15, whole,                                    \
      "bytes one TCP/53 connection brings a host that serves no DNS: a zone transfer (0: off)")    \
    X(dns, track_min_queries, d_track_min, 100, 0, 1e12, whole,                                    \
      "queries a resolver relays to one nameserver, each within track_ms of one of a single "      \
      "client's, that make that client's DNS a tunnel through it (0: off; unsampled flows)")       \
    X(dns, track_ms, d_track_ms, 250, 1, 60000, real,                                              \
      "how near in time a relayed query and the client's query it follows must start")             \
    X(dns, track_nameserver_share, d_track_ns, 0.8, 0.01, 1, real,                                 \
      "share of the nameserver's queries from the resolver that one client's explain")             \
    X(dns, track_host_share, d_track_host, 0.5, 0.01, 1, real,                                     \
      "share of that client's queries to the resolver that went on to the nameserver")             \
    HC_NUMBERS_NONSTD(X)                                                                           \
    HC_NUMBERS_NONAPP(X)                                                                           \
    HC_NUMBERS_RARE(X)                                                                             \
    HC_NUMBERS_MINER(X)                                                                            \
    HC_NUMBERS_INTEL(X)                                                                            \
    HC_NUMBERS_LONG(X)

/* Each later hunt keeps its own numeric settings in its own list, same columns as above. */
/* [nonstd] the nonstd-port hunt (hunt_nonstd.c); its port lists are in [ports]. */
#define HC_NUMBERS_NONSTD(X)                                                                       \
    X(nonstd, rare_hosts, n_rare_hosts, 2, 0, 1000000, whole,                                      \
      "a port used by at most this many internal hosts is rare (hunting-methods 5.2)")             \
    X(nonstd, rare_share, n_rare_share, 0.02, 0, 1, real,                                          \
      "... or by at most this share of the internal hosts (RITA's 2 %)")                           \
    X(nonstd, common_hosts, n_common_hosts, 5, 1, 1000000, whole,                                  \
      "a port used by at least this many internal hosts is the baseline: not reported (Low "       \
      "for a remote-admin port)")                                                                  \
    X(nonstd, common_peers, n_common_peers, 20, 1, 1000000, whole,                                 \
      "a port served by at least this many external peers is a service: risk at most Low")         \
    X(nonstd, peer_ports, n_peer_ports, 10, 2, 65536, whole,                                       \
      "a peer serving this many unlisted ports negotiates them (RTP, P2P): at most Medium")        \
    X(nonstd, long_s, n_long_s, 3600, 1, 31536000, real,                                           \
      "connected time to one peer and port that makes it long-lived (High when rare)")             \
    X(nonstd, periodic_min_conns, n_per_min, 6, 3, 1000000, whole,                                 \
      "connections before the start-time regularity is judged")                                    \
    X(nonstd, periodic_cv, n_per_cv, 0.2, 0, 10, real,                                             \
      "coefficient of variation of the intervals below which it looks periodic")                   \
    X(nonstd, tiny_bytes, n_tiny, 1000, 0, 1e12, whole,                                            \
      "answered with fewer bytes both ways than this: Low")                                        \
    X(nonstd, volume_bytes, n_volume, 10000000, 1, 1e15, whole,                                    \
      "bytes out that weigh the score up")                                                         \
    X(nonstd, benign_max_risk, n_benign_risk, 2, 1, 4, whole,                                      \
      "highest risk (1 Low .. 4 Critical) on a known-benign service port ([ports] benign)")        \
    X(nonstd, ephemeral_min, n_eph_min, 32768, 1024, 65535, whole,                                 \
      "first ephemeral port: a one-off short UDP exchange to one, or one from a lower port, "      \
      "is not judged")                                                                             \
    X(nonstd, short_s, n_short_s, 60, 0, 86400, real, "what counts as a short conversation")
/* [nonapp] the non-app hunt (hunt_nonapp.c); known VPN peers: [general] vpn_peers. */
#define HC_NUMBERS_NONAPP(X)                                                                       \
    X(nonapp, icmp_bytes_per_packet, o_bpp, 128, 28, 65535, real,                                  \
      "ICMP IP bytes per packet above which a payload is large (pings: 60-84)")                    \
    X(nonapp, min_packets, o_min_pkts, 5, 1, 1000000, whole,                                       \
      "packets one way before bytes per packet and size variation are judged")                     \
    X(nonapp, excess_bytes, o_excess, 50000, 1, 1e15, whole,                                       \
      "ICMP bytes beyond icmp_bytes_per_packet per packet: a tunnel's volume")                     \
    X(nonapp, tunnel_packets, o_tunnel_pkts, 200, 1, 1e12, whole,                                  \
      "ICMP packets that make a large-payload exchange sustained")                                 \
    X(nonapp, long_s, o_long_s, 3600, 1, 31536000, real,                                           \
      "span of a long-lived ICMP or IP conversation")                                              \
    X(nonapp, long_packets, o_long_pkts, 100, 1, 1e12, whole,                                      \
      "packets a long-lived conversation needs (hunting-methods 4: 100 an hour)")                  \
    X(nonapp, total_bytes, o_total, 50000000, 1, 1e15, whole,                                      \
      "ICMP bytes to one peer that are too many whatever their size")                              \
    X(nonapp, monitor_peers, o_mon_peers, 10, 2, 1000000, whole,                                   \
      "a host pinging this many peers is a monitor: its small echoes are not reported")            \
    X(nonapp, other_volume_bytes, o_other_vol, 100000, 1, 1e15, whole,                             \
      "bytes of another IP protocol to an unknown peer that make it High")                         \
    X(nonapp, common_hosts, o_common_hosts, 5, 1, 1000000, whole,                                  \
      "a peer reached by this many internal hosts is shared: at most Medium")
/* [rare] (hunt_rare.c): first-seen, rarely contacted destinations (hunting-methods.md 5.2) */
#define HC_NUMBERS_RARE(X)                                                                         \
    X(rare, window_days, r_window_days, 1, 0.01, 3650, real,                                       \
      "the hunted window: the last this many days of the run (earlier days are baseline)")         \
    X(rare, learning_days, r_learn_days, 2, 0, 3650, real,                                         \
      "days of traffic the baseline must cover before the window for a first-seen claim")          \
    X(rare, retention_days, r_retain_days, 90, 1, 3650, real,                                      \
      "destinations unseen this long leave the baseline (RITA keeps 3 months)")                    \
    X(rare, max_hosts, r_max_hosts, 2, 1, 1000000, whole,                                          \
      "a destination /24 (IPv6 /64) used by at most this many internal hosts is rare")             \
    X(rare, max_share, r_max_share, 0.02, 0, 1, real,                                              \
      "... or by at most this share of the window's active internal hosts (RITA: 2 %)")            \
    X(rare, upload_bytes, r_upload, 10e6, 1, 1e15, whole,                                          \
      "bytes sent to the destination that make a large upload (a signal)")                         \
    X(rare, long_s, r_long_s, 3600, 1, 1e7, real,                                                  \
      "a conversation this long is long-lived (a signal)")                                         \
    X(rare, confidence_medium_days, r_conf_med_days, 7, 0, 3650, real,                             \
      "baseline coverage for Medium confidence")                                                   \
    X(rare, confidence_high_days, r_conf_high_days, 30, 0, 3650, real,                             \
      "baseline coverage for High confidence")
/* [miner] (hunt_miner.c): persistent low-rate pool connections (hunting-methods.md 5.3) */
#define HC_NUMBERS_MINER(X)                                                                        \
    X(miner, persist_s, m_persist_s, 3600, 60, 1e7, real,                                          \
      "time covered by conversations to one pool that makes a miner High")                         \
    X(miner, min_covered_s, m_min_s, 180, 0, 1e7, real,                                            \
      "time covered below which a contact is not judged (Medium above it); a p2p node is "         \
      "judged by its peers instead")                                                               \
    X(miner, min_packets, m_min_pkts, 4, 1, 1e9, whole, "packets needed in each direction")        \
    X(miner, max_out_bpp, m_out_bpp, 1200, 1, 65535, real,                                         \
      "mean client-to-server bytes per packet: submits and ACKs are small, but an Equihash "       \
      "(Zcash) share is 1.4 kB; a bulk upload still fails the rate test")                          \
    X(miner, max_in_bpp, m_in_bpp, 1000, 1, 65535, real,                                           \
      "mean server-to-client bytes per packet (job notifications)")                                \
    X(miner, max_rate, m_max_rate, 20000, 1, 1e12, real,                                           \
      "bytes per covered minute, both ways (stratum: hundreds)")                                   \
    X(miner, min_out_ppm, m_min_out_ppm, 0.5, 0, 1e6, real,                                        \
      "client-to-server packets per covered minute (submits, ACKs of jobs)")                       \
    X(miner, min_in_ppm, m_min_in_ppm, 0.2, 0, 1e6, real,                                          \
      "server-to-client packets per covered minute (new jobs)")                                    \
    X(miner, web_rate_factor, m_web_factor, 0.25, 0.001, 1, real,                                  \
      "on a standard port (8080, 8000 ...) max_rate is multiplied by this")                        \
    X(miner, web_min_hours, m_web_hours, 2, 1, 100000, whole,                                      \
      "on a standard port: distinct active hours needed (and persist_s, one long conversation)")   \
    X(miner, web_min_conv_s, m_web_conv_s, 600, 1, 1e7, real,                                      \
      "on a standard port: the longest conversation must last this long")                          \
    X(miner, p2p_min_peers, m_p2p_peers, 2, 1, 1000000, whole,                                     \
      "peers on a p2p port (Monero 18080) that make a node")
/* [long] the long-conn hunt (hunt_long.c): long connections (hunting-methods.md 1.3) */
#define HC_NUMBERS_LONG(X)                                                                         \
    X(long, min_s, l_min_s, 3600, 60, 1e8, real,                                                   \
      "connected time to one destination and port (the union of the conversations) that makes "    \
      "a long connection, Low (RITA's base: 1 h)")                                                 \
    X(long, medium_s, l_medium_s, 14400, 60, 1e8, real,                                            \
      "connected time that makes it Medium (RITA: 4 h), when one connection was held min_s and "   \
      "the port is not a known service's ([ports] benign); never High alone")                      \
    X(long, min_conversation_s, l_min_conv_s, 60, 0, 86400, real,                                  \
      "conversations shorter than this do not count (many short ones are a timeline: the beacon "  \
      "hunt's)")                                                                                   \
    X(long, max_hosts, l_max_hosts, 2, 1, 1000000, whole,                                          \
      "a destination /24 (IPv6 /64) that more internal hosts talk to (and more than max_share "    \
      "of them) is the organisation's service: not reported")                                      \
    X(long, max_share, l_max_share, 0, 0, 1, real,                                                 \
      "share of the internal hosts up to which a destination is still rare, however many hosts "   \
      "that is (0: off; RITA's rare is 2 %, which on the 2 M-flow reference day let everyday "     \
      "sessions to destinations of 3-80 hosts through, two of them Medium)")                       \
    X(long, prevalence_min_hosts, l_prev_min_hosts, 10, 1, 1000000, whole,                         \
      "internal hosts needed before 'no other host uses it' means anything (below: confidence "    \
      "Low)")
/* [intel] threat-intel matches (hunt_intel.c; hunting-methods.md section 6.2). */
#define HC_NUMBERS_INTEL(X)                                                                        \
    X(intel, critical_bytes, i_crit_bytes, 25000000, 1, 1e15, whole,                               \
      "bytes both ways between an internal host and an IOC that make an answered match "           \
      "Critical (RITA's 25 MB)")                                                                   \
    X(intel, critical_connections, i_crit_conns, 20, 1, 100000000, whole,                          \
      "answered connections to an IOC that, over critical_hours, make a match Critical")           \
    X(intel, critical_hours, i_crit_hours, 4, 0, 8784, real,                                       \
      "hours between the first and the last such connection for persistence")                      \
    X(intel, min_confidence, i_min_conf, 0, 0, 100, real,                                          \
      "indicators whose feed states a lower confidence (0-100) are not reported")

typedef struct hunt_config {
#define HC_X_FIELD(sec, key, field, def, lo, hi, kind, doc) double field;
    HC_NUMBERS(HC_X_FIELD)
#undef HC_X_FIELD
    flow_net_t *internal;
    int n_internal;
    flow_net_t *resolvers;
    int n_resolvers;
    flow_net_t *doh; /* [dns] doh_servers: public resolvers whose 443 is DNS over HTTPS */
    int n_doh;
    hc_allow_t *allow;
    int n_allow;
    uint8_t std_tcp[8192], std_udp[8192]; /* bit per port: standard for the protocol */
    uint8_t lateral_tcp[8192];            /* lateral-movement ports (scan risk) */
    /* nonstd-port (hunt_nonstd.c): bit per port, as std_tcp */
    uint8_t egress_tcp[8192], egress_udp[8192]; /* the egress allow-list */
    uint8_t remote_admin[8192];                 /* remote-admin and C2 defaults (TCP, UDP) */
    uint8_t benign_svc[8192];                   /* SaaS, VPN, VoIP, gaming service ports */
    /* non-app (hunt_nonapp.c): */
    flow_net_t *vpn_peers; /* known VPN endpoints: their tunnels are allow-listed */
    int n_vpn_peers;
    /* [general] filter, filter_file: what a run without FILTER or -f hunts ("": every flow;
     * flowhunt cat's language, checked when the file is read) */
    char filter[1000];
    char filter_file[1000];
    /* [general] geoip, asn, users, intel: the context files of --geoip, --asn, --users and
     * --intel (intel: paths separated by commas), for scheduled runs ("": none); a command
     * line option replaces its key */
    char ctx_geoip[1000], ctx_asn[1000], ctx_users[1000], ctx_intel[1000];
    /* rare (hunt_rare.c): numeric settings only */
    /* miner (hunt_miner.c): [miner] ports, p2p_ports, servers, pools = FILE */
    uint8_t m_ports[8192], m_p2p_ports[8192]; /* bit per port: pool ports, p2p node ports */
    uint8_t m_web_ports[8192];                /* pool ports that web servers use too */
    flow_net_t *m_pools;                      /* pool addresses and networks (pools = FILE) */
    int n_m_pools;
    flow_net_t *m_servers; /* server segments: a High miner there is Critical */
    int n_m_servers;
    char m_pool_file[512];
    /* intel (hunt_intel.c): */
    char source[512];                     /* the file it came from, or "defaults" */
} hunt_config_t;

/* Defaults (every value has one that works). */
void hc_defaults(hunt_config_t *c);
/* Reads an INI file over the current values; 0, or -1 with a message naming file and line. */
int hc_load(hunt_config_t *c, const char *path, char *err, size_t err_cap);
/* "10.0.0.0/16,fd00::/8" replaces the internal networks (or resolvers with plen forced to
 * host); 0 or -1 with a message. */
int hc_set_nets(flow_net_t **nets, int *n, const char *list, int hosts_only, char *err,
                size_t err_cap);
/* Lines "host|dst|port[@hunt] = VALUE REASON" as in the [allow] section (an [allow] header
 * may stand above them), replacing the entries c had. */
int hc_load_allow(hunt_config_t *c, const char *path, char *err, size_t err_cap);
void hc_free(hunt_config_t *c);
/* 1 when c's [prep] settings (how records become conversations) are not the defaults: a
 * command that rebuilds a finding's conversations (flowhunt conv) then needs the file. */
int hc_prep_changed(const hunt_config_t *c);
/* "10.0.0.0/8,fd00::/8": networks as [general] internal takes them (a host without /len). */
void hc_print_net_list(FILE *out, const flow_net_t *v, int n);
/* Writes the configuration as an INI file (defaults documented). */
void hc_print(const hunt_config_t *c, FILE *out);

int hc_is_internal(const hunt_config_t *c, const flow_addr_t *a);
int hc_is_resolver(const hunt_config_t *c, const flow_addr_t *a);
int hc_port_standard(const hunt_config_t *c, uint8_t proto, uint16_t port);
/* Whether `port` is set in a port bitmap (std_tcp, egress_tcp, remote_admin, ...). */
int hc_port_listed(const uint8_t *bits, uint16_t port);
/* The first allow entry that covers (hunt, host, peer, port, proto), or NULL. peer may be
 * NULL (no single peer). */
const hc_allow_t *hc_allowed(const hunt_config_t *c, const char *hunt, const flow_addr_t *host,
                             const flow_net_t *peer, int port, uint8_t proto);

/* ---- prepared conversations (hunt_prep.c) -------------------------------------------------- */

typedef struct hunt_conv {
    flow_addr_t orig, resp;        /* originator (client) and responder */
    uint64_t t_start, t_end;       /* ms: first and last packet of either direction */
    uint64_t pkts_out, bytes_out;  /* originator to responder, scaled by sampling */
    uint64_t pkts_in, bytes_in;    /* responder to originator, scaled */
    uint32_t sampling;             /* largest 1:N among its records; 1 unsampled */
    uint16_t orig_port, resp_port; /* ICMP: resp_port is type<<8|code of the request */
    uint8_t proto;
    uint8_t flags_out, flags_in; /* OR of TCP flags per direction */
    uint8_t answered; /* a reverse record or reverse counters were seen, or (TCP exported one
                       * way) the originator's SYN and later ACK show the handshake completed */
    uint8_t rejected;            /* answered with RST only, or denied by a firewall */
    uint8_t orig_internal, resp_internal;
    uint16_t n_records;  /* records joined into it (stitched, both directions) */
    uint8_t n_exporters; /* routers that exported it (copies dropped) */
} hunt_conv_t;

/* One unit's conversations summed (hunt_span.c): counts and volumes each way, the first start
 * and last end, the longest conversation (and the records stitched into it), and the connected
 * time, the union of [start, end] (so parallel connections count once), with the clock hours
 * it touches. Conversations must come in time order per unit, as preparation feeds them. */
typedef struct hunt_span {
    uint64_t conns, pkts_out, pkts_in, bytes_out, bytes_in;
    uint64_t first, last;
    uint64_t longest_ms;
    uint64_t covered_ms, cover_end;
    uint64_t hours, next_hour; /* hours touched; the hour after the last one counted */
    uint32_t longest_records;
    uint32_t sampling; /* largest 1:N */
} hunt_span_t;

void hunt_span_add(hunt_span_t *s, const hunt_conv_t *c);

/* What preparation did, for the evidence of every finding. */
typedef struct hp_stats {
    uint64_t rows;       /* records read in the window */
    uint64_t stitched;   /* records joined to an earlier one of the same 5-tuple */
    uint64_t duplicates; /* copies of a flow from another exporter, dropped */
    uint64_t paired;     /* conversations built from two one-way records */
    uint64_t biflows;    /* records that carried both directions */
    uint64_t one_way;    /* conversations with no answer */
    uint64_t convs;      /* conversations fed to the hunts */
    uint64_t sampled;    /* conversations with sampling > 1 */
    uint32_t max_sampling;
    uint32_t partitions; /* passes over the data to stay within memory_mb */
    uint64_t segments, groups;
    uint64_t first_ms, last_ms; /* of the conversations */
    uint64_t internal_hosts;    /* distinct internal originators */
    uint64_t hours_cached;      /* whole hours taken from DIR/hunt/cache (hunt_unit.h) */
    uint64_t hours_built;       /* whole hours prepared and kept by this run */
} hp_stats_t;

/* ---- findings ------------------------------------------------------------------------------- */

enum { HUNT_RISK_NONE, HUNT_RISK_LOW, HUNT_RISK_MEDIUM, HUNT_RISK_HIGH, HUNT_RISK_CRITICAL };
enum { HUNT_CONF_LOW = 1, HUNT_CONF_MEDIUM, HUNT_CONF_HIGH };

/* Evidence: an ordered list of named values, rendered as "name: value" lines for a person and
 * as one JSON object for a machine, from the same entries. */
typedef struct hev {
    char *json; /* the object's members so far, without braces */
    size_t json_len, json_cap;
    char *text; /* lines "  name: value\n" */
    size_t text_len, text_cap;
} hev_t;

void hev_init(hev_t *e);
void hev_free(hev_t *e);
void hev_str(hev_t *e, const char *name, const char *val);
void hev_int(hev_t *e, const char *name, int64_t val);
void hev_num(hev_t *e, const char *name, double val, int decimals);
void hev_bool(hev_t *e, const char *name, int val);
/* `json` is a JSON value written by the caller (an array, an object); `text` its text form. */
void hev_raw(hev_t *e, const char *name, const char *json, const char *text);

#define HUNT_TECH_MAX 6

/* What enrichment (enrich.c) knows of the peer: country and city from a GeoIP2/GeoLite2 City or
 * Country database, ASN and organisation from an ASN database. */
typedef struct hunt_geo {
    int has_geo, has_asn;
    char country[3];       /* ISO 3166-1 alpha-2 */
    char country_name[64]; /* English name */
    char city[64];
    uint32_t asn;
    char as_org[128];
} hunt_geo_t;

/* A picture of the behaviour for the HTML report: bars (a histogram over x) or points (a
 * timeline). The hunts fill them; x and y are malloc'd, n values each, owned by the finding. */
enum { HUNT_SERIES_BARS, HUNT_SERIES_POINTS };
#define HUNT_SERIES_MAX 3

typedef struct hunt_series {
    int kind;
    char title[64];
    char x_unit[24], y_unit[24]; /* "s", "ms since epoch", "targets", "bytes", ... */
    double *x, *y; /* bars: x[i] is the lower edge of bar i, bars equally wide, in order */
    size_t n;
    size_t mark;  /* bars: 1 + the index of the bar drawn highlighted (this host); 0 none */
    char mark_label[24]; /* what the highlighted bar is; "" for "this host" */
    double x_end; /* bars: the last bar's upper edge; 0: as wide as the one before it */
} hunt_series_t;

struct hunt_finding;
/* Appends a series to f (copies x, y); ignored past HUNT_SERIES_MAX. */
void hunt_finding_series(struct hunt_finding *f, int kind, const char *title, const char *x_unit,
                         const char *y_unit, const double *x, const double *y, size_t n);

typedef struct hunt_finding {
    char hunt[16];                /* "beacon", "scan", "dns-exfil" */
    char tech[HUNT_TECH_MAX][12]; /* [0] the primary technique */
    int n_tech;
    flow_addr_t host;
    char peer[64]; /* address or CIDR; "" for none */
    int port;      /* -1 for none */
    uint8_t proto;
    uint8_t peer_originated; /* the peer opened the conversations (inbound); else the host */
    uint64_t first_seen, last_seen; /* ms */
    int risk;                       /* HUNT_RISK_* */
    int confidence;                 /* HUNT_CONF_* */
    double score;                   /* 0..1+, orders findings of equal risk */
    char summary[256];
    char action[512];
    char filter[512]; /* flowhunt cat filter (without DIR and window) */
    hev_t ev;
    int suppressed; /* allow-listed: reported, not counted */
    char suppressed_reason[512];
    char allow_reason[160]; /* the allow-list entry's reason, for the action */
    /* set by the report */
    hunt_series_t series[HUNT_SERIES_MAX];
    int n_series;
    /* set by the report: enrichment (--users, --geoip, --asn) */
    char host_name[128]; /* "" when unknown */
    char user[128];      /* "" when unknown (printed as "unknown") */
    hunt_geo_t peer_geo;
    /* set by the report */
    char fingerprint[17];
    char hunt_id[32];
    uint64_t first_reported;
    int is_new;
    int id_unrecorded; /* new in a --no-state run: a later run may give its ID to another */
} hunt_finding_t;

typedef struct hunt_findings {
    hunt_finding_t **v;
    size_t n, cap;
} hunt_findings_t;

/* A new finding appended to the list (zeroed, evidence initialised, port -1). */
hunt_finding_t *hunt_finding_new(hunt_findings_t *l, const char *hunt);
/* Whether a protocol has ports: TCP, UDP and SCTP. */
int hunt_has_ports(uint8_t proto);
/* The port a finding names for a protocol's responder port: the port when it has ports, -1
 * for those without (ICMP's type and code, GRE's 0), so that hunts agreeing on one host and
 * peer give one fingerprint. */
int hunt_port_of(uint8_t proto, uint16_t resp_port);
void hunt_findings_free(hunt_findings_t *l);
/* Moves every finding of `from` to the end of `to`, in order; `from` is left empty. */
void hunt_findings_take(hunt_findings_t *to, hunt_findings_t *from);
void hunt_finding_tech(hunt_finding_t *f, const char *tech);
/* Marks f allow-listed by entry `al` (reported, not counted), naming the entry and its reason. */
void hunt_finding_suppress(hunt_finding_t *f, const hc_allow_t *al);
/* Suppresses f when an allow-list entry covers it as the report shows it: its hunt, host, peer
 * (an address, or the network a finding over many names: a dst entry covers a peer network
 * inside its own), port (-1: none, as ICMP's) and protocol. peer_is_key 0: f->peer is only an
 * example of the finding's many peers (a p2p node's busiest), which no dst entry stands for.
 * The one way hunts consult the allow-list, so every hunt matches alike. */
void hunt_finding_allow(const hunt_config_t *cfg, hunt_finding_t *f, int peer_is_key);
/* Suppresses a tunnel's finding whose peer is a known VPN endpoint ([general] vpn_peers), as
 * an allow-list entry would, naming the key as the entry. */
void hunt_finding_vpn_peer(const hunt_config_t *cfg, hunt_finding_t *f, const flow_addr_t *peer);

/* ---- the hunts' interface ------------------------------------------------------------------ */

struct ti_db;
struct en_ctx;

/* What every hunt is given. */
typedef struct hunt_ctx {
    const hunt_config_t *cfg;
    uint64_t from_ms, to_ms; /* the hunted window (to_ms: the newest flow's end when open) */
    const hp_stats_t *prep;  /* filled while preparation runs; complete at finish */
    /* Prevalence: distinct internal hosts that originated conversations to an address
     * (HP_PREV_ADDR), to a /24 (IPv6: /64; HP_PREV_NET), or DNS to an address (HP_PREV_DNS,
     * hp_conv_is_dns) in the window, or whether it originated any as an internal host
     * (HP_PREV_HOST: 1 or 0); with dst NULL the internal hosts seen at all. Complete
     * only once every pass has been fed (passes split by pairs of /24s, so one destination's
     * hosts are spread over them): read at finish. */
    uint64_t (*prevalence)(const void *prep_state, const flow_addr_t *dst, int kind);
    const void *prep_state;
    const char *dir; /* the data directory (state under DIR/hunt/) */
    const struct ti_db *intel;  /* --intel feeds (intel.h), or NULL */
    struct en_ctx *enrich;      /* --geoip/--asn/--users (enrich.h), or NULL */
    uint64_t now_ms;            /* --now */
    int write_state;            /* 0 with --no-state: hunts keep no baselines either */
} hunt_ctx_t;

typedef struct hunt_ops {
    const char *name;
    void *(*create)(const hunt_ctx_t *ctx);
    void (*feed)(void *st, const hunt_conv_t *c);
    /* Every conversation of the pairs of this partition has been fed. */
    void (*part_end)(void *st);
    /* Adds the hunt's findings. */
    void (*finish)(void *st, hunt_findings_t *out);
    void (*destroy)(void *st);
    /* Relative CPU per conversation (measured on flowgen traffic, docs/HUNTING.md): the hunts
     * run in parallel threads, dearest first. */
    unsigned cost;
} hunt_ops_t;

extern const hunt_ops_t hb_ops; /* beacon */
extern const hunt_ops_t hs_ops; /* scan */
extern const hunt_ops_t hd_ops; /* dns-exfil */
extern const hunt_ops_t hn_ops; /* nonstd-port (hunt_nonstd.c) */
extern const hunt_ops_t ho_ops; /* non-app: ICMP and other IP protocols (hunt_nonapp.c) */
extern const hunt_ops_t hq_ops; /* rare and first-seen destinations (hunt_rare.c) */
extern const hunt_ops_t hm_ops; /* miner (hunt_miner.c) */
extern const hunt_ops_t hi_ops; /* intel: threat-intel feed matches (hunt_intel.c) */
extern const hunt_ops_t hl_ops; /* long-conn: long connections (hunt_long.c) */

/* Every hunt, in the fixed order that breaks ties when hunts agree on one fingerprint (the
 * technique of the merged finding is the highest-risk one; on equal risk, the earlier hunt
 * here). docs/HUNTING.md states the same order. */
extern const hunt_ops_t *const hunt_all[];
extern const int hunt_n_all;

/* The rare hunt's checks of DIR/hunt/baseline-dst.bin's bytes before it trusts them: NULL, or
 * what is wrong (what parsed is merged into a scratch state and dropped). */
const char *hq_baseline_check(const uint8_t *buf, size_t len);

/* Runs preparation over DIR in [from, to) and feeds the hunts (n of them, states st[]).
 * Returns 0, or -1 with a message on stderr (prefix `prog`). */
struct flt;
typedef struct hp_run {
    const char *dir;
    const char *prog;
    uint64_t from_ms, to_ms;
    const hunt_config_t *cfg;
    const hunt_ops_t *const *ops;
    void **st;
    int n;
    int progress; /* show progress on stderr */
    int cache;    /* keep whole hours prepared under DIR/hunt/cache and use them */
    const struct flt *flt; /* only the flows it selects are hunted; NULL: all (the cache
                            * holds whole hours of every flow: not with a filter) */
} hp_run_t;

typedef struct hp_state hp_state_t;
hp_state_t *hp_create(const hunt_config_t *cfg);
int hp_run(hp_state_t *p, hp_run_t *r, hp_stats_t *stats);
void hp_destroy(hp_state_t *p);
/* HP_PREV_HOST: 1 when the address originated a conversation as an internal host in the
 * window (it is alive), else 0. */
enum { HP_PREV_ADDR, HP_PREV_NET, HP_PREV_DNS, HP_PREV_HOST };
uint64_t hp_prevalence(const void *prep_state, const flow_addr_t *dst, int kind);
/* A conversation that carried DNS from an internal host: to port 53 over UDP or TCP, not
 * rejected, and over TCP with its handshake completed (a scanner's probe of port 53 is not
 * DNS). The DNS hunt judges these; preparation counts their clients per server. */
int hp_conv_is_dns(const hunt_conv_t *c);
/* A server the internal hosts use as their resolver although none is configured (no [dns]
 * resolvers, and at least [dns] resolver_min_hosts (> 0) of them send it DNS): how many
 * do; 0 for any other address. */
uint64_t hunt_resolver_in_practice(const hunt_ctx_t *ctx, const flow_addr_t *a);
/* Deletes the files of DIR/hunt/cache (hunt_unit.c) of hours that end before before_ms, and
 * temporary ones a killed hunt left more than a day ago; returns how many. */
int hu_expire(const char *dir, uint64_t before_ms);
/* Scans only the window's extent: the newest flow end and oldest start (0/0 when empty); warns
 * of the dangling links among its segments (cmd_warn_dangling). */
int hp_extent(const char *dir, uint64_t from_ms, uint64_t to_ms, int workers, uint64_t *first,
              uint64_t *last);

/* The pure steps, exposed for the unit tests: records in, conversations out. */
typedef struct hp_rec {
    uint64_t t0, t1;
    uint64_t pkts, bytes, rpkts, rbytes; /* as exported */
    flow_addr_t src, dst;
    uint64_t exporter; /* hash of exporter address and observation domain */
    uint32_t sampling;
    uint16_t sport, dport;
    uint8_t proto, flags, end_reason, fw_event;
    uint8_t has_rev;
    uint8_t rflags;   /* a biflow's reverse TCP flags (rev_tcp_flags), 0 when not stated */
    uint8_t dead;     /* merged into another record */
    uint8_t reversed; /* a lone answer turned round: its counters are the responder's */
    uint16_t n_records;
    uint8_t n_exporters;
} hp_rec_t;

/* A sort key: three words compared in turn as unsigned numbers, then the item. */
typedef struct hp_skey {
    uint64_t w[3];
    void *p; /* the item */
} hp_skey_t;

/* Sorts k[0..n) by its words and, where all three are equal, by `cmp` on the items (stably);
 * with `cmp` NULL, equal keys keep their input order. Linear: a radix sort (hunt_prep.c), for
 * preparation and for hunts that count distinct keys of a pass by sorting them. */
void hp_sort_keys(hp_skey_t *k, size_t n, int (*cmp)(const void *, const void *));

/* Stitches, deduplicates and pairs recs[0..n) (changed in place, not reordered) and calls emit
 * for each conversation in time order. */
void hp_prepare(const hunt_config_t *cfg, hp_rec_t *recs, size_t n,
                void (*emit)(void *arg, const hunt_conv_t *c), void *arg, hp_stats_t *st);

/* ---- report (hunt_report.c) ------------------------------------------------------------------ */

enum { HR_FMT_TEXT, HR_FMT_JSON, HR_FMT_CSV, HR_FMT_ECS, HR_FMT_OCSF, HR_FMT_HTML };

typedef struct hr_opts {
    const char *dir;
    int format;
    int new_only;
    int min_risk; /* HUNT_RISK_*: lower findings are counted, not reported; 0 keeps all */
    unsigned fold_min_hosts;    /* text, HTML: Low/Medium ones this many hosts share; 0 none */
    unsigned fold_min_findings; /* text, HTML: one host's findings of a hunt and risk; 0 none */
    unsigned fold_min_low;      /* text, HTML: a hunt's Low findings no other block holds */
    int write_state;
    uint64_t now_ms;
    uint64_t from_ms, to_ms; /* the window, for evidence filters */
    uint64_t end_ms;         /* the end of the window that names the date */
    int given_from, given_to; /* the window's ends came from --from, --to (not the flows) */
    const hp_stats_t *prep;
    const char *config_source;
    const char *config_file; /* --config when it changes [prep], for each finding's conv
                              * command (which rebuilds conversations by it); or NULL */
    struct en_ctx *enrich; /* fills host_name, user, peer_geo; or NULL */
    const hunt_config_t *cfg; /* internal networks: the direction in ECS/OCSF; or NULL */
    const char *filter;       /* the run's filter as given (words, -f FILE), or NULL */
    const char *filter_file;  /* its parts: the file (or NULL) and the words (or NULL), which */
    const char *filter_words; /* each finding's flows commands repeat (hr_filter_in_cmds) */
} hr_opts_t;

/* Merges findings with one fingerprint, drops acknowledged ones, assigns IDs (state under
 * DIR/hunt/), sorts and prints. Returns the number of findings reported that are not
 * suppressed, or -1 on a state error (message printed). */
int hr_report(hunt_findings_t *l, const hr_opts_t *o, FILE *out);
/* Whether s is a fingerprint as reports print it: 16 lower-case hex digits. */
int hr_is_fingerprint(const char *s);
/* The fingerprint of (host, peer or "*", port or "*", proto): 16 hex digits. */
void hr_fingerprint(const flow_addr_t *host, const char *peer, int port, uint8_t proto,
                    char out[17]);
/* Takes DIR/hunt/state.lock (flock, exclusive; created when missing), held by whoever
 * reads and rewrites ids.tsv or acks.tsv, so concurrent runs and acks never lose each
 * other's changes: the fd to pass to hr_state_unlock, or -1 with errno. */
int hr_state_lock(const char *dir);
void hr_state_unlock(int fd);
/* Records an acknowledgement (replacing an earlier one of the same fingerprint) that hides
 * the finding from hunts whose --now is before until_ms (0: always); 0 or -1. The reason is
 * at most HR_ACK_REASON_MAX bytes (cmd_ack refuses a longer one: a cut could split a
 * character, and the record would not say what the analyst wrote). */
#define HR_ACK_REASON_MAX 399
int hr_ack_add(const char *dir, const char *fp, uint64_t now_ms, uint64_t until_ms,
               const char *reason);
/* Removes fp's acknowledgement: 1 removed, 0 there was none, -1 could not write. */
int hr_ack_remove(const char *dir, const char *fp);
/* acks.tsv as it is now (its bytes, or that there is none): an ack or unack whose audit entry
 * cannot be written is taken back with it, so acks.tsv never holds a change the audit log does
 * not (cmd_ack, cmd_unack). 0, or -1 with errno. */
typedef struct hr_acks_snap {
    char *text;
    size_t len;
    int exists;
} hr_acks_snap_t;
int hr_acks_snapshot(const char *dir, hr_acks_snap_t *s);
/* Puts acks.tsv back as the snapshot found it, and frees the snapshot; 0 or -1. */
int hr_acks_restore(const char *dir, hr_acks_snap_t *s);
void hr_acks_snap_free(hr_acks_snap_t *s);
/* Lists acknowledgements (fingerprint, hunt ID, when, reason, until or -); the count or -1. */
int hr_acks_print(const char *dir, FILE *out);
const char *hr_risk_name(int risk);
const char *hr_conf_name(int conf);
const char *hr_proto_name(uint8_t proto, char buf[8]);
/* "peer:port/proto" as summaries write it, an IPv6 peer in brackets ("[2001:db8::1]:8443/tcp":
 * without them its last group and the port run together); `out` of `cap` bytes. */
void hr_peer_port(char *out, size_t cap, const char *peer, unsigned port, uint8_t proto);
/* The ATT&CK name of a technique ID ("" when unknown). */
const char *hr_tech_name(const char *t);
/* The flowhunt cat command that shows a finding's flows. */
void hr_cat_cmd(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap);
/* The flowhunt count command that draws them as a timeline (bins fit to the span). */
void hr_count_cmd(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap);
/* The flowhunt conv command that prints the conversations the hunt counted (with the run's
 * --config, whose [prep] settings built them). */
void hr_conv_cmd(const hunt_finding_t *f, const hr_opts_t *o, char *out, size_t cap);
/* s as one word of a POSIX shell, for the commands a report prints to be pasted: as it is
 * when no byte of it is special to a shell, else in single quotes (a ' as '\''); cut short
 * to cap - 1 bytes. */
void hr_shell_word(const char *s, char *out, size_t cap);
/* JSON string body (no quotes) of s, malloc'd. */
char *hr_json_esc(const char *s);

/* ---- folding findings that are one thing, for a person (hunt_fold.c) ------------------------ */

#define HF_ALONE SIZE_MAX
enum { HF_PEER, HF_HOST, HF_HUNT }; /* what a block's findings share: see hf_plan */

/* Which findings of a report fold into which block. */
typedef struct hf_plan {
    size_t *lead;    /* per finding: the index of its block's first finding, or HF_ALONE */
    size_t *members; /* every folded finding, block by block, each block in report order */
    size_t *first;   /* per block leader: where its block starts in members */
    unsigned char *kind; /* per block leader: HF_PEER, HF_HOST or HF_HUNT */
    size_t folded;   /* findings in blocks */
    size_t groups[3], in_kind[3]; /* blocks, and findings in them, per kind */
} hf_plan_t;

/* Plans the folds of v[0..n) (in report order; with new_only, new ones only: the others are
 * not shown), by o's thresholds (o NULL: none). HF_PEER: the Low and Medium findings of one
 * hunt towards one (peer, port, protocol) from fold_min_hosts hosts or more; then HF_HOST: the findings of
 * one hunt, host and risk, fold_min_findings or more, among those left; then HF_HUNT: the Low
 * findings of one hunt left, fold_min_low or more. 0 folds nothing of that kind. Free with
 * hf_free. */
void hf_plan(hf_plan_t *p, hunt_finding_t *const *v, size_t n, const hr_opts_t *o, int new_only);
void hf_free(hf_plan_t *p);
/* One sentence saying what was folded ("" when nothing was), for a report's header. */
void hf_summary(const hf_plan_t *p, const hr_opts_t *o, char *out, size_t cap);
/* What follows the Hunt ID of the block led by v[lead] (a leader of p): " (and N more,
 * folded)". Returns how many findings the block stands for. */
size_t hf_note(const hf_plan_t *p, size_t lead, char id_note[64]);
/* hf_note, and the block's evidence lines ("  folded_hosts: ...") that name the others,
 * malloc'd. Returns how many findings the block stands for. */
size_t hf_describe(hunt_finding_t *const *v, const hf_plan_t *p, size_t lead, const hr_opts_t *o,
                   char id_note[64], char **evidence);

/* ---- SIEM formats (hunt_siem.c) and the HTML report (hunt_html.c) -------------------------- */

/* One finding as an Elastic Common Schema document / an OCSF Detection Finding (class 2004),
 * one JSON object per line. */
void hx_print_ecs(FILE *out, const hunt_finding_t *f, const hr_opts_t *o);
void hx_print_ocsf(FILE *out, const hunt_finding_t *f, const hr_opts_t *o);
/* The compliance controls a finding supports, as a JSON array / as "SOC 2 CC7.2, ..." text. */
void hx_controls_json(const hunt_finding_t *f, char *out, size_t cap);
void hx_controls_text(const hunt_finding_t *f, char *out, size_t cap);
/* The whole report as one self-contained HTML file; n_acked acknowledged and n_below below
 * --min-risk are not in v, and the page says so (as the text report's header does). */
void hh_print(FILE *out, hunt_finding_t *const *v, size_t n, const hr_opts_t *o, size_t n_acked,
              size_t n_below);

#endif
