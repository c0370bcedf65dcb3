-- The results of a test code by release time, with their specimen: the
-- worklist's released tab filtered by a test reads the day's results of
-- that code from this index alone, not every released specimen's tests.
CREATE INDEX results_released_code ON results (test_code, released_at, specimen_id);
