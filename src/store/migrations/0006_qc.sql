-- Quality control: control materials and their targets, the rules and
-- frequency per test and instrument, QC results, and lockouts.

CREATE TABLE qc_materials (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    lot TEXT NOT NULL,
    level TEXT NOT NULL,
    expires TEXT NOT NULL,           -- YYYY-MM-DD: the last day it may be used
    qc_id TEXT UNIQUE,               -- the specimen id analyzers send for it
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (manufacturer, lot, level)
);

-- Mean and SD per material, test and instrument ('' for the manual bench):
-- set by hand, or established from the first 20 runs (provisional until then).
CREATE TABLE qc_targets (
    material_id TEXT NOT NULL REFERENCES qc_materials (id),
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    mean DOUBLE PRECISION,
    sd DOUBLE PRECISION,
    source TEXT NOT NULL CHECK (source IN ('manual', 'established')),
    runs INTEGER NOT NULL,           -- runs the established figures come from
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (material_id, test_code, instrument)
);

CREATE TABLE qc_settings (
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    rules TEXT NOT NULL,             -- "1-2s,1-3s,2-2s,R-4s,4-1s,10x"
    frequency TEXT NOT NULL CHECK (frequency IN ('run', '8h', '24h')),
    tea_percent DOUBLE PRECISION,    -- allowable total error, for Sigma
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (test_code, instrument)
);

CREATE TABLE qc_results (
    id TEXT PRIMARY KEY,
    material_id TEXT NOT NULL REFERENCES qc_materials (id),
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    run TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    mean DOUBLE PRECISION,           -- the target in force when it was judged
    sd DOUBLE PRECISION,
    at BIGINT NOT NULL,
    operator TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'instrument')),
    status TEXT NOT NULL CHECK (status IN ('accepted', 'warning', 'rejected', 'provisional')),
    violations TEXT NOT NULL,        -- JSON: the rules it broke
    recorded_at BIGINT NOT NULL
);
CREATE INDEX qc_results_series ON qc_results (test_code, instrument, at);
CREATE INDEX qc_results_material ON qc_results (material_id, test_code, instrument, at);

-- A rejecting rule locks a test on an instrument until a passing run and a
-- supervisor's corrective action.
CREATE TABLE qc_lockouts (
    id TEXT PRIMARY KEY,
    test_code TEXT NOT NULL REFERENCES tests (code),
    instrument TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    opened_by TEXT NOT NULL REFERENCES qc_results (id),
    reason TEXT NOT NULL,
    last_good_at BIGINT,             -- the last accepted QC before it
    passing_result TEXT REFERENCES qc_results (id),
    corrective_action TEXT,
    closed_at BIGINT,
    closed_by TEXT
);
CREATE INDEX qc_lockouts_open ON qc_lockouts (test_code, instrument, closed_at);
