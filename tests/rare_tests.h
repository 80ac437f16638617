/* rare_tests.h: the rare/first-seen destination and miner hunts (TEST_ENTRY lines,
 * tests/unit/test_rare.c): baselines across runs, reruns, corrupt baselines, the learning
 * period and popularity; miner shapes, look-alikes, p2p, pool lists and server segments. */
TEST_ENTRY(rare_baseline_two_runs)
TEST_ENTRY(rare_rerun_same_window)
TEST_ENTRY(rare_concurrent_runs_merge)
TEST_ENTRY(rare_corrupt_baseline_rebuilt)
TEST_ENTRY(rare_learning_period_and_popular)
TEST_ENTRY(rare_hosts_listed_by_address)
TEST_ENTRY(rare_miner_pool_port)
TEST_ENTRY(rare_miner_p2p_pools_servers)
TEST_ENTRY(rare_miner_clock_hours)
TEST_ENTRY(rare_miner_p2p_peer_any_order)
TEST_ENTRY(rare_flowgen_first_seen_and_miner)
