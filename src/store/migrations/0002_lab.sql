-- Patients, the test catalog, orders, specimens and their chain of custody.
-- Portable SQL for SQLite and PostgreSQL (see 0001): ids TEXT, times BIGINT
-- UTC microseconds, dates YYYY-MM-DD TEXT, measured values DOUBLE PRECISION.

CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    mrn TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL,
    given TEXT NOT NULL,
    name_key TEXT NOT NULL,          -- "FAMILY|GIVEN" in capitals, for search and duplicates
    birth_date TEXT NOT NULL,        -- YYYY-MM-DD
    sex TEXT NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    identifiers TEXT NOT NULL,       -- JSON array of {"system","value"}
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX patients_name ON patients (name_key, birth_date);
CREATE INDEX patients_birth ON patients (birth_date);

-- The test catalog: what can be ordered and measured.
CREATE TABLE tests (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    loinc TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('numeric', 'text', 'coded')),
    specimen_type TEXT NOT NULL,     -- serum, plasma, whole blood, urine, ...
    container TEXT NOT NULL,         -- e.g. "SST (gold)", "EDTA (lavender)"
    unit TEXT,                       -- UCUM, numeric tests only
    decimals INTEGER NOT NULL,
    critical_low DOUBLE PRECISION,
    critical_high DOUBLE PRECISION,
    delta_kind TEXT CHECK (delta_kind IN ('absolute', 'percent')),
    delta_limit DOUBLE PRECISION,
    delta_window_hours INTEGER,
    stability_room_hours INTEGER,
    stability_refrigerated_hours INTEGER,
    stability_frozen_hours INTEGER,
    tat_routine_minutes INTEGER NOT NULL,
    tat_asap_minutes INTEGER NOT NULL,
    tat_stat_minutes INTEGER NOT NULL,
    cpt TEXT,
    coded_values TEXT,               -- JSON array of allowed codes, coded tests only
    active INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tests_loinc ON tests (loinc);

-- Reference ranges by sex and age band [age_min_days, age_max_days).
CREATE TABLE test_ranges (
    test_code TEXT NOT NULL REFERENCES tests (code),
    seq INTEGER NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('any', 'female', 'male')),
    age_min_days INTEGER NOT NULL,
    age_max_days INTEGER NOT NULL,
    low DOUBLE PRECISION,
    high DOUBLE PRECISION,
    normal_text TEXT,                -- text and coded tests: the normal value
    PRIMARY KEY (test_code, seq)
);

CREATE TABLE panels (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    loinc TEXT,
    cpt TEXT,
    active INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE panel_tests (
    panel_code TEXT NOT NULL REFERENCES panels (code),
    seq INTEGER NOT NULL,
    test_code TEXT NOT NULL REFERENCES tests (code),
    PRIMARY KEY (panel_code, seq)
);

-- What an instrument calls a catalog test.
CREATE TABLE test_mappings (
    instrument TEXT NOT NULL,
    instrument_code TEXT NOT NULL,
    test_code TEXT NOT NULL REFERENCES tests (code),
    PRIMARY KEY (instrument, instrument_code)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    priority TEXT NOT NULL CHECK (priority IN ('routine', 'asap', 'stat')),
    clinician TEXT NOT NULL,
    reasons TEXT NOT NULL,           -- JSON array of ICD-10-CM codes
    instructions TEXT NOT NULL,      -- JSON object: fasting, timed_at, note
    status TEXT NOT NULL CHECK (status IN ('active', 'complete', 'cancelled')),
    ordered_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX orders_patient ON orders (patient_id, ordered_at);

-- One container to collect; aliquots point at their parent.
CREATE TABLE specimens (
    id TEXT PRIMARY KEY,
    accession TEXT NOT NULL UNIQUE,
    order_id TEXT NOT NULL REFERENCES orders (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    parent_id TEXT REFERENCES specimens (id),
    specimen_type TEXT NOT NULL,
    container TEXT NOT NULL,
    status TEXT NOT NULL,
    collected_at BIGINT,
    received_at BIGINT,
    storage TEXT,
    rejection_reason TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX specimens_order ON specimens (order_id);
CREATE INDEX specimens_patient ON specimens (patient_id);

CREATE TABLE order_tests (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    test_code TEXT NOT NULL REFERENCES tests (code),
    panel_code TEXT REFERENCES panels (code),
    specimen_id TEXT NOT NULL REFERENCES specimens (id),
    status TEXT NOT NULL CHECK (status IN ('ordered', 'in-progress', 'resulted', 'released',
                                           'cancelled')),
    cancel_reason TEXT
);
CREATE INDEX order_tests_order ON order_tests (order_id);
CREATE INDEX order_tests_specimen ON order_tests (specimen_id);

-- Chain of custody: who did what to a specimen, when and where. Append-only.
CREATE TABLE specimen_events (
    id TEXT PRIMARY KEY,
    specimen_id TEXT NOT NULL REFERENCES specimens (id),
    event TEXT NOT NULL,
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    location TEXT NOT NULL,
    detail TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX specimen_events_specimen ON specimen_events (specimen_id, at);

-- Accession numbers: a sequence per day.
CREATE TABLE accession_counters (
    day TEXT PRIMARY KEY,
    next BIGINT NOT NULL
);
