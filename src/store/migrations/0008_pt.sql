-- Proficiency testing: events sent by an external provider, their samples,
-- the results the laboratory submitted, their grades against the provider's
-- targets, and the corrective action an unsatisfactory analyte calls for.

-- open: results may be submitted; submitted: every sample has its result;
-- graded: the provider's targets are recorded; closed: graded, and every
-- unsatisfactory analyte has its signed corrective action.
CREATE TABLE pt_events (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,          -- CAP, API, WSLH ...
    event_code TEXT NOT NULL,        -- the provider's name of the event: 2026-A
    due_date TEXT NOT NULL,          -- YYYY-MM-DD: the last day (UTC) results may be sent
    status TEXT NOT NULL CHECK (status IN ('open', 'submitted', 'graded', 'closed')),
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    graded_at BIGINT,
    graded_by TEXT,
    closed_at BIGINT,
    UNIQUE (provider, event_code)
);
CREATE INDEX pt_events_due ON pt_events (due_date);

-- One sample of an event, measured for one test: a vial tested for several
-- analytes is one sample per analyte.
CREATE TABLE pt_samples (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES pt_events (id),
    sample TEXT NOT NULL,            -- the provider's label: GLU-01
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,        -- '' for the manual bench
    place INTEGER NOT NULL,          -- its place in the event, from 0
    UNIQUE (event_id, sample)
);

-- The result submitted for a sample, and its grade. A sample without a result
-- when the event is graded gets a row with value NULL (not submitted), graded
-- not acceptable.
CREATE TABLE pt_results (
    sample_id TEXT PRIMARY KEY REFERENCES pt_samples (id),
    value DOUBLE PRECISION,          -- NULL: not submitted
    submitted_at BIGINT,             -- when it was sent to the provider
    submitted_by TEXT,
    entered_at BIGINT,               -- when it was recorded here
    target DOUBLE PRECISION,         -- the provider's, when graded
    limit_percent DOUBLE PRECISION,  -- the acceptance limit: a percentage of the target
    limit_abs DOUBLE PRECISION,      -- and/or an amount in the test's unit
    limit_source TEXT CHECK (limit_source IN ('provider', 'CLIA')),
    acceptable INTEGER,              -- 1 or 0 once graded, NULL before
    graded_at BIGINT
);

-- What was done about an analyte of an event, signed by a supervisor.
CREATE TABLE pt_corrective_actions (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES pt_events (id),
    test_code TEXT NOT NULL REFERENCES tests (code),
    action TEXT NOT NULL,
    signed_by TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    UNIQUE (event_id, test_code)
);
