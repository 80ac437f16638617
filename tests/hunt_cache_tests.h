/* hunt_cache_tests.h: the hour cache (analyzer/hunt_unit.c, tests/unit/test_hunt_cache.c):
 * a run that takes hours from DIR/hunt/cache reports exactly what a run without it does,
 * whatever the window, the passes and what changed since the hours were kept. */
TEST_ENTRY(hunt_cache_same_report)
TEST_ENTRY(hunt_cache_rebuilds_changed_hours)
TEST_ENTRY(hunt_cache_daemon_placement)
TEST_ENTRY(hunt_cache_file_read)
