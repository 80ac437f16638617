/* test_list.h: every test the runner knows, TEST_ENTRY(name) for TEST_IMPL(name).
 * Grouped by module; keep each group next to its neighbours. */

/* storage: the flow record */
TEST_ENTRY(flow_schema_names)
TEST_ENTRY(flow_schema_documented)
TEST_ENTRY(flow_addr_format_rfc5952)
TEST_ENTRY(flow_addr_parse_roundtrip)
TEST_ENTRY(flow_print_csv_absent)
TEST_ENTRY(flow_print_json_absent)

/* collector/decode: NetFlow v5 */
TEST_ENTRY(nf5_decode_fields)
TEST_ENTRY(nf5_decode_time_wrap)
TEST_ENTRY(nf5_decode_sampling)
TEST_ENTRY(nf5_decode_every_truncation)
TEST_ENTRY(nf5_decode_bad_length)
TEST_ENTRY(nf5_sequence_accounting)
TEST_ENTRY(exp_sequence_numbered_after)

/* collector/decode: NetFlow v9 and IPFIX, the template cache */
TEST_ENTRY(nf9_template_and_data)
TEST_ENTRY(nf9_held_until_template)
TEST_ENTRY(nf9_held_expires)
TEST_ENTRY(nf9_options_sampling)
TEST_ENTRY(nf9_options_sampling_per_interface)
TEST_ENTRY(nf9_redefinition_and_restart)
TEST_ENTRY(nf9_malformed_sets)
TEST_ENTRY(nf9_every_truncation)
TEST_ENTRY(ipfix_template_and_data)
TEST_ENTRY(ipfix_time_encodings)
TEST_ENTRY(ipfix_sysinit_from_options)
TEST_ENTRY(ipfix_sysuptime_wraps)
TEST_ENTRY(ipfix_withdrawal)
TEST_ENTRY(ipfix_biflow_counters_sampling)
TEST_ENTRY(ipfix_malformed)
TEST_ENTRY(ipfix_every_truncation)
TEST_ENTRY(ipfix_sequence_through_ingest)
TEST_ENTRY(ipfix_restart_by_init_time)
TEST_ENTRY(templates_icmp_from_dst_port)
TEST_ENTRY(templates_dual_stack_fields)
TEST_ENTRY(templates_integer_widths)
TEST_ENTRY(templates_records_independent)
TEST_ENTRY(templates_flood_evicts)
TEST_ENTRY(templates_memory_budget)
TEST_ENTRY(templates_lru_keeps_used)
#include "bounds_tests.h"

/* storage: segments, the writer, the reader, the directory, the scan */
#include "seg_tests.h"

/* collector/capture: pcap, pcapng, link layers, fragments */
#include "capture_tests.h"

/* benchmarks: the pcap writer and flowgen */
#include "flowgen_tests.h"

/* conformance against tshark on the team's real captures */
TEST_ENTRY(nf5_tshark_conformance)
TEST_ENTRY(nf5_invalid_captures_dropped)
#include "tshark_tests.h"

/* real exporters (softflowd, pmacctd nfprobe) over loopback, against tshark */
#include "exporters_tests.h"

/* flowhuntd beside nfcapd, end to end with real exporters */
#include "e2e_tests.h"

/* analyzer: the filter language, cat, top, verify, expire, import */
#include "analyzer_tests.h"

/* analyzer: the hunts */
#include "hunt_tests.h"
#include "hunt_cache_tests.h"

/* command line, golden output, end to end */
TEST_ENTRY(cli_versions_and_help)
TEST_ENTRY(cli_help_options_accepted)
TEST_ENTRY(cli_daemon_option_ranges)
TEST_ENTRY(cli_systemd_unit_instance)
TEST_ENTRY(cli_systemd_timer_units)
TEST_ENTRY(cli_read_golden_csv)
TEST_ENTRY(cli_read_json)
TEST_ENTRY(cli_read_segment_interval)

/* the datagram ring between the receive loop and a worker */
TEST_ENTRY(dq_sheds_unknown_past_half)
TEST_ENTRY(dq_known_store_roundtrip)

/* flowhuntd as a daemon on loopback */
TEST_ENTRY(daemon_stores_what_it_receives)
TEST_ENTRY(daemon_templates_survive_restart)
TEST_ENTRY(daemon_held_data_at_stop_logged)
TEST_ENTRY(daemon_allow_list)
TEST_ENTRY(daemon_kernel_drops_counted)
TEST_ENTRY(daemon_rcvbuf_past_rmem_max)
TEST_ENTRY(daemon_stop_drains_socket)
TEST_ENTRY(daemon_refused_leaves_state)
TEST_ENTRY(daemon_log_reopened)
TEST_ENTRY(daemon_user_fresh_dir)
TEST_ENTRY(daemon_disk_full_exit_status)
TEST_ENTRY(daemon_workers_shrink_recovers)
#include "daemon_stress_tests.h"

/* fuzz corpora replayed, and each libFuzzer target run briefly */
#define FUZZ_TARGET(name) TEST_ENTRY(fuzz_corpus_##name) TEST_ENTRY(fuzz_smoke_##name)
#include "fuzz/fuzz_list.h"
#undef FUZZ_TARGET

/* analyzer: threat-intel feeds and the intel hunt */
#include "intel_tests.h"

/* analyzer: enrichment (GeoIP/ASN, users) */
#include "enrich_tests.h"

/* analyzer: SIEM formats (ECS, OCSF) and compliance controls */
#include "siem_tests.h"

/* analyzer: the HTML report */
#include "html_tests.h"

/* analyzer: non-standard port and non-application-layer hunts */
#include "nonstd_tests.h"

/* analyzer: rare and first-seen destinations, cryptominers */
#include "rare_tests.h"

/* analyzer: the audit trail */
#include "audit_tests.h"

/* hunts over the team's behaviour captures, exported by softflowd */
#include "captures_hunt_tests.h"
