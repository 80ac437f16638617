/* nonstd_tests.h: the nonstd-port (T1571) and non-app (T1095) hunts (TEST_ENTRY lines,
 * tests/unit/test_nonstd.c): each rule on hand-built conversations, the look-alikes held below
 * High, the allow-list, VPN peers and configuration keys, the labelled Stratosphere logs, and
 * flowgen's planted cases; dns-exfil's own-history sign; and the long-conn hunt (rules, settings,
 * flowgen's held channel). */
TEST_ENTRY(dnsexfil_own_history)
TEST_ENTRY(dnsexfil_unmeasured_signs)
TEST_ENTRY(dnsexfil_tunnel_sign_action)
TEST_ENTRY(beacon_dns_to_approved_resolver)
TEST_ENTRY(beacon_period_phase_zero)
TEST_ENTRY(dnsexfil_resolvers_in_practice)
TEST_ENTRY(scan_icmp_sweep_silent_targets)
TEST_ENTRY(scan_resolver_recursion)
TEST_ENTRY(scan_trw_dark_targets)
TEST_ENTRY(scan_follow_up_lateral)
TEST_ENTRY(nonstd_rare_c2_port_high)
TEST_ENTRY(nonstd_long_and_periodic)
TEST_ENTRY(nonstd_lookalikes_not_high)
TEST_ENTRY(nonstd_allow_list_and_config)
TEST_ENTRY(nonapp_icmp_tunnel_high)
TEST_ENTRY(nonapp_ping_lookalikes)
TEST_ENTRY(nonapp_other_protocols)
TEST_ENTRY(nonstd_stratosphere_rat_1337)
TEST_ENTRY(nonstd_stratosphere_ctu_normal)
TEST_ENTRY(nonstd_flowgen_recall)
TEST_ENTRY(longconn_rules)
TEST_ENTRY(longconn_config_and_allow)
TEST_ENTRY(longconn_flowgen_recall)
TEST_ENTRY(longconn_stratosphere_ctu_normal)
