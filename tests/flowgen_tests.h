/* flowgen_tests.h: the benchmarks module's tests (TEST_ENTRY lines): the pcap writer and the
 * flow generator, kept in their own list so the module can grow its tests without touching
 * test_list.h. */
TEST_ENTRY(pcapw_layout_and_checksums)
TEST_ENTRY(pcapw_tshark_agrees)
TEST_ENTRY(flowgen_cli)
TEST_ENTRY(flowgen_deterministic)
TEST_ENTRY(flowgen_tshark_counts_flows)
TEST_ENTRY(flowgen_truth_matches_capture)
