-- Equipment: schedules of preventive maintenance, calibration, electrical
-- safety tests and checks; the records that show they were done; the
-- checklist templates checks are made against. The release gate reads them
-- to decide whether a device is fit for use (equip/fitness.c).

-- What must be done to a device and how often: for one asset, or for every
-- asset of a class (exactly one of the two). Checks and electrical safety
-- tests are made against a checklist template (its code). What was done last
-- comes from the records below, by asset, kind and template.
CREATE TABLE equip_schedules (
    id TEXT PRIMARY KEY,
    asset_id TEXT REFERENCES assets (id),
    class TEXT,                      -- an asset class of equip/asset.c
    kind TEXT NOT NULL CHECK (kind IN ('pm', 'calibration', 'electrical-safety', 'check')),
    template TEXT,                   -- equip_checklists.code for check and electrical-safety
    interval_days INTEGER NOT NULL CHECK (interval_days > 0),
    grace_days INTEGER NOT NULL CHECK (grace_days >= 0),
    safety_critical INTEGER NOT NULL, -- 1: overdue or failed makes the device unfit
    description TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    CHECK ((asset_id IS NULL AND class IS NOT NULL) OR (asset_id IS NOT NULL AND class IS NULL))
);
CREATE INDEX equip_schedules_asset ON equip_schedules (asset_id);
CREATE INDEX equip_schedules_class ON equip_schedules (class);

-- Preventive maintenance done on a device.
CREATE TABLE equip_pm_records (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    performed_at BIGINT NOT NULL,    -- when it was done (never in the future)
    performed_by TEXT NOT NULL,      -- who did it (a person or a vendor's engineer)
    notes TEXT,
    passed INTEGER NOT NULL,         -- 1: the device works as it should afterwards
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX equip_pm_records_asset ON equip_pm_records (asset_id, performed_at);

-- A calibration: against a reference standard of the register (an asset of
-- class calibration-standard that was itself in calibration then), or, for a
-- standard's own calibration by an outside laboratory, an external
-- certificate. passed: every point's as-left value within tolerance.
CREATE TABLE equip_calibrations (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    performed_at BIGINT NOT NULL,
    performed_by TEXT NOT NULL,
    passed INTEGER NOT NULL,
    as_found_passed INTEGER NOT NULL, -- 0: found out of tolerance (results since the last calibration need a look back)
    standard_asset_id TEXT REFERENCES assets (id),
    standard_calibration_id TEXT REFERENCES equip_calibrations (id), -- what made the standard valid then
    standard_valid_until TEXT,       -- YYYY-MM-DD: the last day that calibration held
    provider TEXT,                   -- external: the calibration laboratory
    certificate TEXT,                -- external: its certificate number
    valid_until TEXT,                -- external: YYYY-MM-DD, the last day the certificate holds
    notes TEXT,
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    CHECK ((standard_asset_id IS NULL) <> (certificate IS NULL))
);
CREATE INDEX equip_calibrations_asset ON equip_calibrations (asset_id, performed_at);

-- The points of a calibration, in the order given. Tolerance is absolute, in
-- the point's unit; as_found is what the device read before adjustment (may
-- be absent), as_left after.
CREATE TABLE equip_calibration_points (
    calibration_id TEXT NOT NULL REFERENCES equip_calibrations (id),
    place INTEGER NOT NULL,
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    nominal DOUBLE PRECISION NOT NULL,
    tolerance DOUBLE PRECISION NOT NULL,
    as_found DOUBLE PRECISION,
    as_left DOUBLE PRECISION NOT NULL,
    found_ok INTEGER,                -- NULL when as_found is absent
    left_ok INTEGER NOT NULL,
    PRIMARY KEY (calibration_id, place)
);

-- Checklist templates, versioned: a changed template is a new version and a
-- record keeps the version it was made against. fields is the JSON array of
-- the template's fields (equip/checklist.h says what each may hold).
CREATE TABLE equip_checklists (
    code TEXT NOT NULL,              -- defib-daily
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('check', 'electrical-safety')),
    fields TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (code, version)
);

-- A check or electrical safety test made against a template version: the
-- values entered (JSON object by field key), pass or fail, the fields that
-- failed (JSON array).
CREATE TABLE equip_checks (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    template TEXT NOT NULL,
    version INTEGER NOT NULL,
    performed_at BIGINT NOT NULL,
    performed_by TEXT NOT NULL,
    entries TEXT NOT NULL,
    passed INTEGER NOT NULL,
    failed TEXT NOT NULL,
    notes TEXT,
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    FOREIGN KEY (template, version) REFERENCES equip_checklists (code, version)
);
CREATE INDEX equip_checks_asset ON equip_checks (asset_id, template, performed_at);
