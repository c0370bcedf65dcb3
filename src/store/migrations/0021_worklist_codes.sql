-- The worklist's test filter in the stages of open tests and tests in
-- review: the specimens with such a test of a code are a range of this
-- index (a few thousand entries however many tests a year holds), not a
-- look at every candidate specimen's tests. The WHERE is order_tests_open's,
-- so that the same queries may use either.
CREATE INDEX order_tests_open_code ON order_tests (test_code, status, specimen_id)
    WHERE status IN ('ordered', 'in-progress', 'resulted');
