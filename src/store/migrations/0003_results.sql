-- Results, their history, critical-value alerts and electronic signatures.

CREATE TABLE results (
    id TEXT PRIMARY KEY,
    order_test_id TEXT NOT NULL UNIQUE REFERENCES order_tests (id),
    specimen_id TEXT NOT NULL REFERENCES specimens (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    test_code TEXT NOT NULL REFERENCES tests (code),
    kind TEXT NOT NULL CHECK (kind IN ('numeric', 'text', 'coded')),
    value_num DOUBLE PRECISION,      -- numeric results
    value_text TEXT NOT NULL,        -- as reported (numeric ones rounded to the test's decimals)
    unit TEXT,
    ref_low DOUBLE PRECISION,
    ref_high DOUBLE PRECISION,
    ref_text TEXT,
    flag TEXT CHECK (flag IN ('L', 'H', 'LL', 'HH', 'A')),
    critical INTEGER NOT NULL,
    delta_failed INTEGER NOT NULL,
    delta_previous TEXT,             -- the earlier value the delta was taken against
    instrument TEXT,                 -- NULL when entered by hand
    instrument_flags TEXT,
    status TEXT NOT NULL CHECK (status IN ('review', 'released', 'corrected')),
    holds TEXT NOT NULL,             -- JSON array of the gate's reasons when last checked
    resulted_at BIGINT NOT NULL,
    resulted_by TEXT NOT NULL,
    released_at BIGINT,
    released_by TEXT,
    release_mode TEXT CHECK (release_mode IN ('auto', 'manual')),
    version INTEGER NOT NULL
);
CREATE INDEX results_patient ON results (patient_id, test_code, resulted_at);
CREATE INDEX results_status ON results (status, resulted_at);
CREATE INDEX results_specimen ON results (specimen_id);

-- Every earlier value of a corrected result, with who, when and why.
CREATE TABLE result_history (
    id TEXT PRIMARY KEY,
    result_id TEXT NOT NULL REFERENCES results (id),
    version INTEGER NOT NULL,
    value_text TEXT NOT NULL,
    value_num DOUBLE PRECISION,
    flag TEXT,
    status TEXT NOT NULL,
    replaced_at BIGINT NOT NULL,
    replaced_by TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX result_history_result ON result_history (result_id, version);

-- A critical value stays open until someone documents the call.
CREATE TABLE critical_alerts (
    id TEXT PRIMARY KEY,
    result_id TEXT NOT NULL REFERENCES results (id),
    opened_at BIGINT NOT NULL,
    closed_at BIGINT,
    notified TEXT,                   -- whom the value was given to
    notified_at BIGINT,
    read_back INTEGER,
    closed_by TEXT
);
CREATE INDEX critical_alerts_open ON critical_alerts (closed_at, opened_at);
CREATE INDEX critical_alerts_result ON critical_alerts (result_id);

-- Electronic signatures: the password was entered again for this act.
CREATE TABLE signatures (
    id TEXT PRIMARY KEY,
    result_id TEXT NOT NULL REFERENCES results (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    meaning TEXT NOT NULL CHECK (meaning IN ('release', 'correction')),
    signed_at BIGINT NOT NULL
);
CREATE INDEX signatures_result ON signatures (result_id);
