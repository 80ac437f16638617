/* daemon_stress_tests.h: flowhuntd under a template flood and a kill -9 (test_daemon_stress.c). */
TEST_ENTRY(daemon_stress_flood)
TEST_ENTRY(daemon_flood_shed_keeps_exporters)
TEST_ENTRY(daemon_known_exporters_survive_restart)
TEST_ENTRY(daemon_print_streams_every_flow)
TEST_ENTRY(daemon_print_reader_behind)
TEST_ENTRY(daemon_template_memory)
TEST_ENTRY(daemon_stress_crash)
TEST_ENTRY(daemon_stress_crash_slow)
