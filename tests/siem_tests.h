/* siem_tests.h: the SIEM formats (TEST_ENTRY lines, tests/unit/test_siem.c): ECS and OCSF output
 * of real and hand-built findings checked against ../shared/reference's ECS field list and OCSF
 * schema, the validators' own rejections, and the compliance controls per technique family. */
TEST_ENTRY(siem_pipeline_schemas)
TEST_ENTRY(siem_enriched_and_network_peers)
TEST_ENTRY(siem_validators_reject)
TEST_ENTRY(siem_compliance_controls)
