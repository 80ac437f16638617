/* audit_tests.h: the audit trail (analyzer/audit.c, analyzer/cmd_audit.c;
 * tests/unit/test_audit.c): every byte of a log and every truncation checked in process, then
 * flowgen data hunted and expired end to end, tampered with on fresh copies, hunted
 * concurrently, the runs that must leave no entry, the acks the log could not take, and
 * acks given at once. */
TEST_ENTRY(audit_every_byte_and_truncation)
TEST_ENTRY(audit_hunts_and_expiry_verify)
TEST_ENTRY(audit_tampering_named)
TEST_ENTRY(audit_no_entry_without_a_run)
TEST_ENTRY(audit_inputs_as_used)
TEST_ENTRY(audit_concurrent_hunts_chain)
TEST_ENTRY(audit_ack_needs_its_entry)
TEST_ENTRY(audit_expire_needs_its_entry)
TEST_ENTRY(audit_hunt_lists_under_the_lock)
TEST_ENTRY(audit_concurrent_acks_all_kept)
