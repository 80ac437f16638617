/* exporters_tests.h: real exporters (softflowd, pmacctd's nfprobe) over loopback, their
 * datagrams decoded by flowhuntd and by tshark and compared (tests/unit/test_exporters.c). Kept
 * in its own list so the cases can grow without touching test_list.h. */
TEST_ENTRY(exporters_softflowd_v5_scan)
TEST_ENTRY(exporters_softflowd_v9_scan)
TEST_ENTRY(exporters_softflowd_ipfix_scan)
TEST_ENTRY(exporters_softflowd_v5_dns_tunnel)
TEST_ENTRY(exporters_softflowd_v9_dns_tunnel)
TEST_ENTRY(exporters_softflowd_ipfix_dns_tunnel)
TEST_ENTRY(exporters_softflowd_ipfix_icmp_tunnel)
TEST_ENTRY(exporters_pmacctd_v5_scan)
TEST_ENTRY(exporters_pmacctd_v9_scan)
TEST_ENTRY(exporters_pmacctd_ipfix_scan)
TEST_ENTRY(exporters_softflowd_ipfix_sec_scan)
TEST_ENTRY(exporters_softflowd_ipfix_milli_scan)
TEST_ENTRY(exporters_softflowd_ipfix_micro_scan)
TEST_ENTRY(exporters_softflowd_ipfix_nano_scan)
TEST_ENTRY(exporters_softflowd_v9_milli_scan)
TEST_ENTRY(exporters_softflowd_ipfix_biflow_scan)
