-- People and care: who may do what (certifications, competency, the
-- operators of record of instruments), and the records of the care that
-- technicians give. See docs/care.md.

-- Certifications and licences of staff: ASCP, ARRT, a state licence, BLS...
-- A renewal is a new row; the person holds a kind on a day when a row of
-- that kind covers it (issued_on <= day <= expires_on).
CREATE TABLE care_certifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,              -- one of the list in care/competency.c
    number TEXT NOT NULL,            -- the certificate or licence number
    issuer TEXT NOT NULL,            -- ASCP Board of Certification, a state board...
    issued_on TEXT NOT NULL,         -- YYYY-MM-DD
    expires_on TEXT NOT NULL,        -- YYYY-MM-DD, the last day it is valid
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX care_certifications_user ON care_certifications (user_id, kind, expires_on);

-- The test systems of the competency program. A result needs a competent
-- person when a system applies to it: the instrument it came from (kind
-- instrument, code instruments.name), the asset class of that instrument's
-- device (kind class), or, for a result entered by hand, its test (kind
-- test, code tests.code). A system may require a certification as well.
CREATE TABLE care_test_systems (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('instrument', 'class', 'test')),
    name TEXT NOT NULL,
    certification TEXT,              -- the certification kind required, NULL none
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

-- Competency assessments (CLIA, 42 CFR 493.1451): the six elements, each
-- met, not met or not applicable; satisfactory when none is not met. due_on
-- is when the next one is due: six months after an assessment in the
-- person's first year on the system, a year after any later one.
CREATE TABLE care_assessments (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    system TEXT NOT NULL REFERENCES care_test_systems (code),
    assessed_on TEXT NOT NULL,       -- YYYY-MM-DD
    direct_observation TEXT NOT NULL,       -- routine patient test performance
    monitoring_records TEXT NOT NULL,       -- recording and reporting of results
    review_worksheets TEXT NOT NULL,        -- worksheets, QC, PT and maintenance records
    maintenance_observation TEXT NOT NULL,  -- instrument maintenance and function checks
    blind_samples TEXT NOT NULL,            -- previously analyzed specimens, PT samples
    problem_solving TEXT NOT NULL,
    result TEXT NOT NULL CHECK (result IN ('satisfactory', 'unsatisfactory')),
    first_year INTEGER NOT NULL,     -- 1: within a year of the person's first assessment on it
    due_on TEXT NOT NULL,            -- YYYY-MM-DD
    assessor TEXT NOT NULL,          -- username; signed with the password
    notes TEXT,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX care_assessments_user ON care_assessments (user_id, system, assessed_on);

-- Who runs an instrument: a technician signs on (user_id) and stays its
-- operator of record until someone else signs on or they sign off (a row
-- with user_id NULL). Automatic release asks whether the operator of record
-- when the result was measured is competent.
CREATE TABLE care_operators (
    id TEXT PRIMARY KEY,             -- time-ordered
    instrument TEXT NOT NULL REFERENCES instruments (name),
    user_id TEXT REFERENCES users (id),
    since BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX care_operators_instrument ON care_operators (instrument, since);

-- The SpO2 scale of NEWS2 a clinician prescribed for a patient: 2 for
-- hypercapnic respiratory failure (target 88-92%). The latest row is in
-- force; without one a patient is on scale 1.
CREATE TABLE care_spo2_scales (
    id TEXT PRIMARY KEY,             -- time-ordered
    patient_id TEXT NOT NULL REFERENCES patients (id),
    scale INTEGER NOT NULL CHECK (scale IN (1, 2)),
    reason TEXT NOT NULL,
    set_at BIGINT NOT NULL,
    set_by TEXT NOT NULL
);
CREATE INDEX care_spo2_scales_patient ON care_spo2_scales (patient_id, set_at);

-- A set of vital signs, entered by hand (all seven) or sent by a patient
-- monitor (what it measures), with its NEWS2 as computed then (care/news2.h).
CREATE TABLE care_vitals (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    taken_at BIGINT NOT NULL,
    source TEXT NOT NULL,            -- 'hand', or the monitor's instruments.name
    respiration_rate INTEGER,        -- NULL: not measured
    spo2 INTEGER,
    spo2_scale INTEGER NOT NULL,
    oxygen INTEGER,                  -- 1 on supplemental oxygen, 0 air
    systolic_bp INTEGER,
    pulse INTEGER,
    acvpu TEXT,                      -- A, C, V, P or U
    temperature DOUBLE PRECISION,    -- degrees Celsius, to a tenth
    score INTEGER NOT NULL,
    complete INTEGER NOT NULL,       -- 1: all seven parameters
    red INTEGER NOT NULL,            -- 1: 3 points in one parameter
    band TEXT NOT NULL CHECK (band IN ('low', 'low-medium', 'medium', 'high')),
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX care_vitals_patient ON care_vitals (patient_id, taken_at);

-- A NEWS2 of 5 or more, or 3 in one parameter, stays open until someone
-- acknowledges it with what was done.
CREATE TABLE care_news2_alerts (
    id TEXT PRIMARY KEY,             -- time-ordered
    vitals_id TEXT NOT NULL UNIQUE REFERENCES care_vitals (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    opened_at BIGINT NOT NULL,
    score INTEGER NOT NULL,
    band TEXT NOT NULL,
    reason TEXT NOT NULL,            -- "NEWS2 7", "3 points for pulse (135)"
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    note TEXT
);
CREATE INDEX care_news2_alerts_open ON care_news2_alerts (acknowledged_at, opened_at);

-- Procedures on patients: imaging (MRI, CT, X-ray, ultrasound, ECG) on a
-- device of the asset register, and others (a biopsy, a minor operation)
-- where instrument sets are used.
CREATE TABLE care_procedures (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients (id),
    modality TEXT NOT NULL CHECK (modality IN ('mri', 'ct', 'xray', 'ultrasound', 'ecg',
                                               'other')),
    exam TEXT NOT NULL,              -- CT-HEAD, XR-CHEST-PA (care_drls for CT and X-ray), or what is done
    contrast INTEGER NOT NULL,       -- 1: with a contrast medium
    device_id TEXT REFERENCES assets (id), -- the scanner or device; may be NULL for 'other'
    scheduled_at BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'in-progress', 'completed',
                                           'cancelled')),
    started_at BIGINT,
    started_by TEXT,
    completed_at BIGINT,
    completed_by TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX care_procedures_patient ON care_procedures (patient_id, scheduled_at);

-- Instrument sets (trays) that are sterilized and used in procedures.
CREATE TABLE care_instrument_sets (
    code TEXT PRIMARY KEY,           -- the tray's label: LAP-MAJOR-03
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

-- A sterilizer's cycle: its parameters (judged against the program's
-- minimum temperature and exposure) and indicators. status: released (usable),
-- quarantined (implants: until the biological indicator is negative), failed
-- (parameters or chemical indicator: reprocess), recalled (a positive
-- biological indicator).
CREATE TABLE care_steril_cycles (
    id TEXT PRIMARY KEY,
    sterilizer_id TEXT NOT NULL REFERENCES assets (id), -- an asset of class autoclave
    cycle_number INTEGER NOT NULL,   -- the sterilizer's own counter
    program TEXT NOT NULL,           -- care/steril.c: gravity, prevacuum, prevacuum-134
    started_at BIGINT NOT NULL,
    exposure_minutes DOUBLE PRECISION NOT NULL,
    temperature DOUBLE PRECISION NOT NULL, -- degrees Celsius during exposure (the lowest)
    pressure DOUBLE PRECISION NOT NULL,    -- kPa (absolute) during exposure
    physical_pass INTEGER NOT NULL,
    chemical TEXT NOT NULL CHECK (chemical IN ('pass', 'fail')),
    biological TEXT NOT NULL CHECK (biological IN ('pending', 'negative', 'positive')),
    biological_read_at BIGINT,
    biological_read_by TEXT,
    implants INTEGER NOT NULL,       -- 1: the load holds implants
    status TEXT NOT NULL CHECK (status IN ('released', 'quarantined', 'failed', 'recalled')),
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    UNIQUE (sterilizer_id, cycle_number)
);

-- What a cycle's load held.
CREATE TABLE care_steril_loads (
    cycle_id TEXT NOT NULL REFERENCES care_steril_cycles (id),
    set_code TEXT NOT NULL REFERENCES care_instrument_sets (code),
    PRIMARY KEY (cycle_id, set_code)
);
CREATE INDEX care_steril_loads_set ON care_steril_loads (set_code);

-- Where each set went: the procedure (and so the patient) it was used in,
-- from the cycle that had sterilized it last.
CREATE TABLE care_set_uses (
    id TEXT PRIMARY KEY,
    set_code TEXT NOT NULL REFERENCES care_instrument_sets (code),
    cycle_id TEXT NOT NULL REFERENCES care_steril_cycles (id),
    procedure_id TEXT NOT NULL REFERENCES care_procedures (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    used_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    UNIQUE (set_code, cycle_id)      -- once used, a set is sterilized again before its next use
);
CREATE INDEX care_set_uses_cycle ON care_set_uses (cycle_id);

-- Procedure documents under document control: standard operating
-- procedures by code, read by the roles of their audience.
CREATE TABLE care_documents (
    code TEXT PRIMARY KEY,           -- SOP-CHEM-012
    title TEXT NOT NULL,
    audience TEXT NOT NULL,          -- JSON array of the roles that must read it
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

-- Versions of a document. A version is a draft until a supervisor other
-- than its author approves it with an effective date; it is due for review
-- two years after that date. The version in force is the latest approved
-- one effective on or before today.
CREATE TABLE care_document_versions (
    id TEXT PRIMARY KEY,
    document_code TEXT NOT NULL REFERENCES care_documents (code),
    version INTEGER NOT NULL,
    body TEXT NOT NULL,              -- the procedure's text
    change_note TEXT NOT NULL,       -- what changed from the version before
    author TEXT NOT NULL,            -- username
    created_at BIGINT NOT NULL,
    approved_by TEXT,                -- username; signed with the password
    approved_at BIGINT,
    effective_on TEXT,               -- YYYY-MM-DD
    review_due TEXT,                 -- YYYY-MM-DD
    UNIQUE (document_code, version)
);

-- Read and understood: a person's signed acknowledgement of one version.
CREATE TABLE care_document_reads (
    version_id TEXT NOT NULL REFERENCES care_document_versions (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    read_at BIGINT NOT NULL,
    PRIMARY KEY (version_id, user_id)
);

-- Training: items (a course, a device, a procedure document) and their
-- assignment to people, completed with a trainer's signed sign-off. Items
-- marked new_staff make up the checklist every new person is assigned.
CREATE TABLE care_training_items (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('course', 'device', 'procedure')),
    title TEXT NOT NULL,
    document_code TEXT REFERENCES care_documents (code), -- kind procedure
    asset_class TEXT,                -- kind device: a class of equip/asset.c
    new_staff INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE care_training_assignments (
    id TEXT PRIMARY KEY,
    item_code TEXT NOT NULL REFERENCES care_training_items (code),
    user_id TEXT NOT NULL REFERENCES users (id),
    due_on TEXT NOT NULL,            -- YYYY-MM-DD
    assigned_at BIGINT NOT NULL,
    assigned_by TEXT NOT NULL,
    completed_on TEXT,               -- YYYY-MM-DD, the day the training was done
    trainer TEXT,                    -- username of who signed it off
    signed_off_at BIGINT,
    note TEXT
);
CREATE INDEX care_training_user ON care_training_assignments (user_id, due_on);
-- An item is assigned to a person once until it is signed off.
CREATE UNIQUE INDEX care_training_open ON care_training_assignments (item_code, user_id)
    WHERE signed_off_at IS NULL;

-- Diagnostic reference levels of CT and radiography exams: the dose a
-- typical patient's exam should not exceed. The national values below are
-- the site's until it sets its own (PUT /api/v1/care/drls/{exam}).
CREATE TABLE care_drls (
    exam TEXT PRIMARY KEY,           -- what care_procedures.exam names
    modality TEXT NOT NULL CHECK (modality IN ('ct', 'xray')),
    name TEXT NOT NULL,
    ctdivol DOUBLE PRECISION,        -- mGy, per sequence (CT)
    dlp DOUBLE PRECISION,            -- mGy.cm, per exam (CT)
    dap DOUBLE PRECISION,            -- Gy.cm2, per exam (radiography)
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
INSERT INTO care_drls (exam, modality, name, ctdivol, dlp, dap, source, updated_at, updated_by)
VALUES
    ('CT-HEAD', 'ct', 'CT head (acute stroke)', 47, 790, NULL, 'UK national DRL 2022', 0, 'benchside'),
    ('CT-CSPINE', 'ct', 'CT cervical spine (fracture)', 16, 400, NULL, 'UK national DRL 2022', 0, 'benchside'),
    ('CT-CHEST', 'ct', 'CT chest (lung cancer)', 8.5, 290, NULL, 'UK national DRL 2022', 0, 'benchside'),
    ('CT-CTPA', 'ct', 'CT pulmonary angiography', 9.1, 310, NULL, 'UK national DRL 2022', 0, 'benchside'),
    ('CT-ABDOMEN-PELVIS', 'ct', 'CT abdomen and pelvis (abscess)', 10, 530, NULL, 'UK national DRL 2022', 0, 'benchside'),
    ('CT-KUB', 'ct', 'CT kidneys, ureters, bladder (stones)', 6.3, 290, NULL, 'UK national DRL 2022', 0, 'benchside'),
    ('XR-CHEST-PA', 'xray', 'Chest PA radiograph', NULL, NULL, 0.1, 'UK national DRL', 0, 'benchside'),
    ('XR-ABDOMEN-AP', 'xray', 'Abdomen AP radiograph', NULL, NULL, 2.5, 'UK national DRL', 0, 'benchside'),
    ('XR-PELVIS-AP', 'xray', 'Pelvis AP radiograph', NULL, NULL, 2.2, 'UK national DRL', 0, 'benchside'),
    ('XR-LSPINE-AP', 'xray', 'Lumbar spine AP radiograph', NULL, NULL, 1.5, 'UK national DRL', 0, 'benchside'),
    ('XR-LSPINE-LAT', 'xray', 'Lumbar spine lateral radiograph', NULL, NULL, 2.5, 'UK national DRL', 0, 'benchside');

-- The answers of a procedure's preparation checklist (care/procedure.c has
-- the items of each modality): one row an item, replaced as a whole.
CREATE TABLE care_prep_answers (
    procedure_id TEXT NOT NULL REFERENCES care_procedures (id),
    item TEXT NOT NULL,
    answer TEXT,                     -- yes, no, mr-conditional...; NULL for a number
    value DOUBLE PRECISION,          -- a number asked for (eGFR)
    note TEXT,
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (procedure_id, item)
);

-- The dose of a CT or radiography procedure, with the reference level of
-- its exam at the time; above_drl when a value exceeds it, until a
-- supervisor reviews it.
CREATE TABLE care_doses (
    procedure_id TEXT PRIMARY KEY REFERENCES care_procedures (id),
    ctdivol DOUBLE PRECISION,
    dlp DOUBLE PRECISION,
    dap DOUBLE PRECISION,
    drl_ctdivol DOUBLE PRECISION,
    drl_dlp DOUBLE PRECISION,
    drl_dap DOUBLE PRECISION,
    drl_source TEXT NOT NULL,
    above_drl INTEGER NOT NULL,
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    reviewed_at BIGINT,
    reviewed_by TEXT,
    review_note TEXT
);
CREATE INDEX care_doses_above ON care_doses (above_drl, reviewed_at);

-- Where appointments are kept: a room, a phlebotomy chair, a device of the
-- asset register (a scanner).
CREATE TABLE care_resources (
    code TEXT PRIMARY KEY,           -- DRAW-CHAIR-2, CT-1
    kind TEXT NOT NULL CHECK (kind IN ('room', 'chair', 'device')),
    name TEXT NOT NULL,
    asset_id TEXT REFERENCES assets (id), -- kind device
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

-- Slots of a resource, each with the technician who works it; slots of a
-- resource never overlap.
CREATE TABLE care_slots (
    id TEXT PRIMARY KEY,             -- time-ordered
    resource_code TEXT NOT NULL REFERENCES care_resources (code),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    technician_id TEXT REFERENCES users (id),
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (resource_code, starts_at)
);
CREATE INDEX care_slots_time ON care_slots (starts_at);

-- A patient's appointment in a slot: booked, then checked in or a no-show,
-- or cancelled (which frees the slot).
CREATE TABLE care_appointments (
    id TEXT PRIMARY KEY,
    slot_id TEXT NOT NULL REFERENCES care_slots (id),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    reason TEXT NOT NULL,            -- what it is for: fasting glucose draw, ECG
    status TEXT NOT NULL CHECK (status IN ('booked', 'checked-in', 'no-show', 'cancelled')),
    booked_at BIGINT NOT NULL,
    booked_by TEXT NOT NULL,
    changed_at BIGINT,               -- when it was checked in, marked a no-show or cancelled
    changed_by TEXT,
    cancel_reason TEXT
);
-- One appointment a slot, cancelled ones aside.
CREATE UNIQUE INDEX care_appointments_slot ON care_appointments (slot_id)
    WHERE status <> 'cancelled';
CREATE INDEX care_appointments_patient ON care_appointments (patient_id);
