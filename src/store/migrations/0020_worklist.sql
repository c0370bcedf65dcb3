-- The worklist's own state (src/lab/worklist.c): per specimen, what places it
-- on the bench's worklist, so that a page reads the few thousand specimens
-- with open work instead of the tests and results of a year. Every write
-- that changes a specimen's tests or status recomputes its row from its
-- order_tests and results in the same transaction (worklist_touch), so a
-- missed change cannot leave it drifting.
--
-- A table of its own rather than columns on specimens: filling it for the
-- specimens already there writes new pages only, where an UPDATE of every
-- specimen would copy the whole table into SQLite's statement journal.
CREATE TABLE worklist_specimens (
    specimen_id TEXT PRIMARY KEY REFERENCES specimens (id),
    -- Its tests still to do (ordered or in progress): with the specimen's
    -- status they place it to collect, to receive or in progress.
    open_tests INTEGER NOT NULL,
    -- Where those place it, from the specimen's status: to-collect (pending),
    -- to-receive (collected), in-progress (received, in process, stored);
    -- NULL for any other status (rejected, disposed), where they wait for
    -- nothing the bench does.
    open_stage TEXT,
    -- Its tests resulted and waiting for review.
    review_tests INTEGER NOT NULL,
    -- Its place in the worklist's order, copied from its order and its
    -- custody so that a page is a walk along an index: the priority's rank
    -- (0 stat, 1 asap, 2 routine), then since when it waits (received,
    -- else collected, else created).
    rnk INTEGER NOT NULL,
    since BIGINT NOT NULL,
    -- When the last of its released tests was released (NULL: none): the
    -- released tab shows the specimens released in the last 24 hours.
    released_at BIGINT
);

-- The state of the specimens already there, as worklist_touch computes it.
INSERT INTO worklist_specimens (specimen_id, open_tests, open_stage, review_tests, rnk, since,
                                released_at)
SELECT s.id,
       SUM(CASE WHEN ot.status IN ('ordered', 'in-progress') THEN 1 ELSE 0 END),
       CASE WHEN s.status = 'pending' THEN 'to-collect'
            WHEN s.status = 'collected' THEN 'to-receive'
            WHEN s.status IN ('received', 'in-process', 'stored') THEN 'in-progress' END,
       SUM(CASE WHEN ot.status = 'resulted' THEN 1 ELSE 0 END),
       CASE o.priority WHEN 'stat' THEN 0 WHEN 'asap' THEN 1 ELSE 2 END,
       COALESCE(s.received_at, s.collected_at, s.created_at),
       MAX(CASE WHEN ot.status = 'released' THEN r.released_at END)
FROM order_tests ot JOIN specimens s ON s.id = ot.specimen_id JOIN orders o ON o.id = s.order_id
LEFT JOIN results r ON r.order_test_id = ot.id
GROUP BY s.id, s.status, o.priority, s.received_at, s.collected_at, s.created_at;

-- Partial, so that the millions of specimens done take no room: the
-- worklist's WHERE repeats these conditions so both databases use them.
-- The open tabs and the review tab are walked in the worklist's order.
CREATE INDEX worklist_specimens_open ON worklist_specimens (open_stage, rnk, since)
    WHERE open_tests > 0;
CREATE INDEX worklist_specimens_review ON worklist_specimens (rnk, since) WHERE review_tests > 0;
CREATE INDEX worklist_specimens_released ON worklist_specimens (released_at, rnk, since);
