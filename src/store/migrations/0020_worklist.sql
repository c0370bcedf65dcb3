-- The worklist's own state (src/lab/worklist.c): per specimen, what places it
-- on the bench's worklist, so that a page reads the few thousand specimens
-- with open work instead of the tests and results of a year. Every write
-- that changes a specimen's tests or status recomputes these from its
-- order_tests and results in the same transaction (worklist_touch), so a
-- missed change cannot leave them drifting.

-- Its tests still to do (ordered or in progress): with the specimen's status
-- they place it to collect, to receive or in progress.
ALTER TABLE specimens ADD COLUMN wl_open INTEGER NOT NULL DEFAULT 0;
-- Its tests resulted and waiting for review.
ALTER TABLE specimens ADD COLUMN wl_review INTEGER NOT NULL DEFAULT 0;
-- When the last of its released tests was released (NULL: none): the
-- released tab shows the specimens released in the last 24 hours.
ALTER TABLE specimens ADD COLUMN wl_released_at BIGINT;

-- The state of the specimens already there, as worklist_touch computes it.
UPDATE specimens SET
    wl_open = (SELECT COUNT(*) FROM order_tests ot WHERE ot.specimen_id = specimens.id
               AND ot.status IN ('ordered', 'in-progress')),
    wl_review = (SELECT COUNT(*) FROM order_tests ot WHERE ot.specimen_id = specimens.id
                 AND ot.status = 'resulted'),
    wl_released_at = (SELECT MAX(r.released_at) FROM order_tests ot
                      JOIN results r ON r.order_test_id = ot.id
                      WHERE ot.specimen_id = specimens.id AND ot.status = 'released');

-- Partial, so that the millions of specimens done take no room: the
-- worklist's WHERE repeats these conditions so both databases use them.
CREATE INDEX specimens_wl_open ON specimens (status) WHERE wl_open > 0;
CREATE INDEX specimens_wl_review ON specimens (id) WHERE wl_review > 0;
CREATE INDEX specimens_wl_released ON specimens (wl_released_at);
