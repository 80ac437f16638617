/* flowgen_tests.h: the benchmarks module's tests (TEST_ENTRY lines): the pcap writer, the v9
 * and IPFIX writers and the flow generator, kept in their own list so the module can grow its
 * tests without touching test_list.h. */
TEST_ENTRY(pcapw_layout_and_checksums)
TEST_ENTRY(pcapw_tshark_agrees)
TEST_ENTRY(nf9e_roundtrip)
TEST_ENTRY(ipfixe_roundtrip)
TEST_ENTRY(nf9e_tshark)
TEST_ENTRY(ipfixe_tshark)
TEST_ENTRY(flowgen_cli)
TEST_ENTRY(flowgen_deterministic)
TEST_ENTRY(flowgen_tshark_counts_flows)
TEST_ENTRY(flowgen_tshark_counts_flows_v9)
TEST_ENTRY(flowgen_tshark_counts_flows_ipfix)
TEST_ENTRY(flowgen_truth_matches_capture)
TEST_ENTRY(flowgen_truth_matches_capture_v9)
TEST_ENTRY(flowgen_truth_matches_capture_ipfix)
