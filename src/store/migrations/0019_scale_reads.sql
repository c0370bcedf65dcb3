-- Reads that stay fast with a year of a large laboratory loaded (30 million
-- results; bench/gen_year.c, docs/performance.md). Both are read by the
-- worklist (src/lab/worklist.c), which once read every test ever ordered.

-- The tests still open: a few thousand rows of an index, however many tests
-- have been done. Partial, so that the millions released and cancelled take
-- no room in it; the worklist's WHERE names the same list so that both
-- SQLite and PostgreSQL see that the index covers it.
CREATE INDEX order_tests_open ON order_tests (status)
    WHERE status IN ('ordered', 'in-progress', 'resulted');

-- The results released since a time: the worklist's released tab shows the
-- last 24 hours.
CREATE INDEX results_released ON results (released_at);
