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
