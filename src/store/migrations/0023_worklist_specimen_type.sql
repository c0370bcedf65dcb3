-- The worklist's state holds its specimen's type, so that the specimen type
-- filter is a look at the state row, not at the specimen of each of the
-- thousands of rows a tab may count. The table is made again with the
-- column (filling a new table writes only new pages; an UPDATE of every row
-- would copy each page into the statement's undo record), then its indexes.
CREATE TABLE worklist_specimens_next (
    specimen_id TEXT PRIMARY KEY REFERENCES specimens (id),
    open_tests INTEGER NOT NULL,
    open_stage TEXT,
    review_tests INTEGER NOT NULL,
    rnk INTEGER NOT NULL,
    since BIGINT NOT NULL,
    released_at BIGINT,
    -- The specimen's type, as specimens.specimen_type (it never changes).
    specimen_type TEXT NOT NULL
);

INSERT INTO worklist_specimens_next (specimen_id, open_tests, open_stage, review_tests, rnk, since,
                                     released_at, specimen_type)
SELECT w.specimen_id, w.open_tests, w.open_stage, w.review_tests, w.rnk, w.since, w.released_at,
       s.specimen_type
FROM worklist_specimens w JOIN specimens s ON s.id = w.specimen_id;

DROP TABLE worklist_specimens;
ALTER TABLE worklist_specimens_next RENAME TO worklist_specimens;

CREATE INDEX worklist_specimens_open ON worklist_specimens (open_stage, rnk, since)
    WHERE open_tests > 0;
CREATE INDEX worklist_specimens_review ON worklist_specimens (rnk, since) WHERE review_tests > 0;
CREATE INDEX worklist_specimens_released ON worklist_specimens (released_at, rnk, since);
