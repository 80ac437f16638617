/* enrich_tests.h: GeoIP/ASN context from MaxMind DB files and user context from lease CSVs
 * (tests/unit/test_enrich.c). */
TEST_ENTRY(enrich_known_answers)
TEST_ENTRY(enrich_geoip_matches_source)
TEST_ENTRY(enrich_asn_matches_source)
TEST_ENTRY(enrich_bad_databases_rejected)
TEST_ENTRY(enrich_broken_lookups_are_misses)
TEST_ENTRY(enrich_wrong_type_rejected)
TEST_ENTRY(enrich_users_lease_by_time)
TEST_ENTRY(enrich_users_malformed_lines_named)
TEST_ENTRY(enrich_finding_external_peers_only)
TEST_ENTRY(enrich_hunt_end_to_end)
TEST_ENTRY(enrich_context_columns_top_cat)
TEST_ENTRY(enrich_cell_escaping)
