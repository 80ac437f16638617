/* bounds_tests.h: the collector's exporter table and template cache at their bounds
 * (tests/unit/test_bounds.c). */
TEST_ENTRY(bounds_tpl_cache_full_evicts_lru)
TEST_ENTRY(bounds_ingest_counters_add_up)
TEST_ENTRY(bounds_ingest_drops_in_rows)
TEST_ENTRY(bounds_exporter_lru_order)
TEST_ENTRY(bounds_exporter_domains_total)
TEST_ENTRY(bounds_tpl_store_keeps_survivors)
TEST_ENTRY(bounds_tpl_store_newest_wins)
TEST_ENTRY(bounds_samplers_per_scope)
