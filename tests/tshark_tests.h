/* tshark_tests.h: every real capture under ../shared/data/netflow/ decoded by flowhuntd and
 * compared with tshark (tests/unit/test_tshark_all.c), one test per capture directory. */
TEST_ENTRY(tshark_all_akvorado)
TEST_ENTRY(tshark_all_logstash)
