/* captures_hunt_tests.h: the hunts over the team's behaviour captures, exported by softflowd
 * (tests/unit/test_captures_hunt.c), with the settings of ../shared/data/MANIFEST.md. */
TEST_ENTRY(captures_hunt_icmp_sweep)
TEST_ENTRY(captures_hunt_syn_sweep)
TEST_ENTRY(captures_hunt_masscan_tcp)
TEST_ENTRY(captures_hunt_masscan_udp)
TEST_ENTRY(captures_hunt_nmap_synscan)
TEST_ENTRY(captures_hunt_nmap_service_probe)
TEST_ENTRY(captures_hunt_iodine)
TEST_ENTRY(captures_hunt_dnscat2)
TEST_ENTRY(captures_hunt_icmp_tunnel)
TEST_ENTRY(captures_hunt_stratum)
TEST_ENTRY(captures_hunt_monero)
