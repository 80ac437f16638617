/* e2e_tests.h: flowhuntd beside nfcapd with real exporters (tests/unit/test_e2e_nfcapd.c):
 * one recording replayed to both, flowhunt cat equal to nfdump flow by flow. */
TEST_ENTRY(e2e_nfcapd_softflowd_v5_scan)
TEST_ENTRY(e2e_nfcapd_softflowd_v9_scan)
TEST_ENTRY(e2e_nfcapd_softflowd_ipfix_scan)
TEST_ENTRY(e2e_nfcapd_softflowd_ipfix_icmp)
TEST_ENTRY(e2e_nfcapd_softflowd_v9_mining)
TEST_ENTRY(e2e_nfcapd_pmacctd_v9_dns)
TEST_ENTRY(e2e_nfcapd_pmacctd_ipfix_scan)
