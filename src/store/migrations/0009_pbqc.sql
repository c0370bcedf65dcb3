-- Patient-based QC: a running average of the patient results of a test on an
-- instrument ('' for the manual bench), with its own target and limits; the
-- points it computes and the alerts a point out of limits opens.

-- The settings and the running state, one row per test and instrument: each
-- patient result updates its row in place (src/qc/pbqc.c).
CREATE TABLE qc_pbqc (
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('bull', 'ewma', 'mean')),
    batch INTEGER NOT NULL,          -- results a point
    lambda DOUBLE PRECISION,         -- ewma: the weight of the newest result
    target DOUBLE PRECISION NOT NULL,
    limit_value DOUBLE PRECISION NOT NULL,
    limit_kind TEXT NOT NULL CHECK (limit_kind IN ('percent', 'absolute')),
    truncate_low DOUBLE PRECISION,   -- results outside are left out
    truncate_high DOUBLE PRECISION,
    enabled INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    -- the running state, from the target at updated_at (or the last restart)
    avg_value DOUBLE PRECISION NOT NULL,  -- bull: XB; ewma: E; mean: the last batch mean
    acc DOUBLE PRECISION NOT NULL,        -- the sum over the batch so far
    pending INTEGER NOT NULL,             -- results in the batch so far
    seen BIGINT NOT NULL,                 -- results since the start, left out or not
    left_out BIGINT NOT NULL,             -- of them outside the truncation limits
    points BIGINT NOT NULL,               -- points computed since the start
    started_at BIGINT NOT NULL,
    PRIMARY KEY (test_code, instrument)
);

CREATE TABLE qc_pbqc_points (
    id TEXT PRIMARY KEY,
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    seq BIGINT NOT NULL,             -- its number since the start
    at BIGINT NOT NULL,              -- when the result that completed it was entered
    method TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    target DOUBLE PRECISION NOT NULL,
    low DOUBLE PRECISION NOT NULL,   -- the limits it was judged against
    high DOUBLE PRECISION NOT NULL,
    n INTEGER NOT NULL,              -- results in it
    out_of_limits INTEGER NOT NULL
);
CREATE INDEX qc_pbqc_points_series ON qc_pbqc_points (test_code, instrument, at);

-- A point out of limits opens an alert (one open at a time per test and
-- instrument) until a supervisor acknowledges it with a note.
CREATE TABLE qc_pbqc_alerts (
    id TEXT PRIMARY KEY,
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    point_id TEXT NOT NULL REFERENCES qc_pbqc_points (id),
    method TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    target DOUBLE PRECISION NOT NULL,
    low DOUBLE PRECISION NOT NULL,
    high DOUBLE PRECISION NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    note TEXT
);
CREATE INDEX qc_pbqc_alerts_open ON qc_pbqc_alerts (test_code, instrument, acknowledged_at);
CREATE INDEX qc_pbqc_alerts_opened ON qc_pbqc_alerts (opened_at);
