-- Tolerance QC for any device: a check with a target and a fixed tolerance
-- (the CT number of water 0 +- 5 HU on the daily phantom, an ultrasound
-- phantom's depth of penetration, a centrifuge's measured speed), its results,
-- and the lockout a failed result opens on the device.

CREATE TABLE qc_checks (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    code TEXT NOT NULL,              -- CT-WATER-HU
    name TEXT NOT NULL,
    unit TEXT NOT NULL,              -- UCUM where one exists: [hnsf'U], mm, /min
    target DOUBLE PRECISION NOT NULL,
    tolerance DOUBLE PRECISION NOT NULL, -- > 0, in the unit: pass within target +- tolerance
    frequency TEXT NOT NULL CHECK (frequency IN ('8h', '24h', '7d')),
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (asset_id, code)
);

-- Each result keeps the target and tolerance it was judged against.
CREATE TABLE qc_check_results (
    id TEXT PRIMARY KEY,
    check_id TEXT NOT NULL REFERENCES qc_checks (id),
    value DOUBLE PRECISION NOT NULL,
    target DOUBLE PRECISION NOT NULL,
    tolerance DOUBLE PRECISION NOT NULL,
    passed INTEGER NOT NULL,
    at BIGINT NOT NULL,
    operator TEXT NOT NULL,
    note TEXT,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX qc_check_results_series ON qc_check_results (check_id, at);

-- A failed result locks the device until a passing result and a
-- supervisor's corrective action.
CREATE TABLE qc_check_lockouts (
    id TEXT PRIMARY KEY,
    check_id TEXT NOT NULL REFERENCES qc_checks (id),
    opened_at BIGINT NOT NULL,
    opened_by TEXT NOT NULL REFERENCES qc_check_results (id),
    reason TEXT NOT NULL,
    passing_result TEXT REFERENCES qc_check_results (id),
    corrective_action TEXT,
    closed_at BIGINT,
    closed_by TEXT
);
CREATE INDEX qc_check_lockouts_open ON qc_check_lockouts (check_id, closed_at);
