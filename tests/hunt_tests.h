/* hunt_tests.h: the hunts' tests (TEST_ENTRY lines, tests/unit/test_hunt.c): preparation on
 * hand-built records, the configuration file, fingerprints, and the whole pipeline on flowgen
 * captures (recall and precision per hunt printed), golden reports, state, acknowledgement,
 * allow-lists, the memory bound and the team's labelled Stratosphere logs. */
TEST_ENTRY(hunt_prep_stitch_dedup_pair)
TEST_ENTRY(hunt_sort_keys)
TEST_ENTRY(hunt_intern_keys)
TEST_ENTRY(hunt_config_ini)
TEST_ENTRY(hunt_fingerprint_stable)
TEST_ENTRY(hunt_flowgen_recall)
TEST_ENTRY(hunt_flowgen_sampled)
TEST_ENTRY(hunt_golden_report)
TEST_ENTRY(hunt_state_ids_and_ack)
TEST_ENTRY(hunt_min_risk)
TEST_ENTRY(hunt_threads_same_report)
TEST_ENTRY(hunt_shared_timer_low)
TEST_ENTRY(hunt_beacon_net_covered)
TEST_ENTRY(hunt_beacon_period_recent)
TEST_ENTRY(hunt_seq_past_9999)
TEST_ENTRY(hunt_allow_list_suppresses)
TEST_ENTRY(hunt_memory_bound_passes)
TEST_ENTRY(hunt_exit_status_and_usage)
TEST_ENTRY(hunt_stratosphere_njrat)
TEST_ENTRY(hunt_stratosphere_ctu_normal)
