/* html_tests.h: the HTML report (analyzer/hunt_html.c; tests/unit/test_html.c): escaping and
 * self-containment on hand-built findings, the pictures the hunts attach, and the report of a
 * real run opened in headless Chromium. */
TEST_ENTRY(html_escape_and_self_contained)
TEST_ENTRY(html_pipeline_report)
TEST_ENTRY(html_chromium_dom_and_screenshot)
