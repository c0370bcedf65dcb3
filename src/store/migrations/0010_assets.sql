-- The asset register and the places things are kept cold (or warm). Both are
-- shared by equipment (schedules, calibration, checks, work orders,
-- temperature logs) and supplies (where a lot is stored).

-- Every device a department keeps: analyzers, imaging, ECG, monitors,
-- centrifuges, autoclaves, refrigerators, and the calibration standards
-- themselves. The class is one of the list in equip/asset.c.
CREATE TABLE assets (
    id TEXT PRIMARY KEY,
    tag TEXT NOT NULL UNIQUE,        -- the inventory tag on the device: BME-00412
    class TEXT NOT NULL,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    serial TEXT NOT NULL,
    location TEXT NOT NULL,          -- where it stands: Core lab, bench 3
    risk_class TEXT NOT NULL CHECK (risk_class IN ('low', 'medium', 'high')),
    owner TEXT NOT NULL,             -- the department responsible for it
    install_date TEXT,               -- YYYY-MM-DD
    status TEXT NOT NULL CHECK (status IN ('in-service', 'out-of-service', 'retired')),
    status_reason TEXT,              -- why it is out of service or retired
    status_at BIGINT NOT NULL,       -- since when it has its status
    instrument TEXT UNIQUE,          -- instruments.name when it has an interface
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX assets_class ON assets (class);

-- A refrigerator, freezer, incubator or room whose temperature is kept
-- between limits. Reagent lots are stored at one by name, and a specimen's
-- "stored" custody event names one as its location.
CREATE TABLE storage_units (
    name TEXT PRIMARY KEY,           -- FRIDGE-2
    kind TEXT NOT NULL CHECK (kind IN ('refrigerator', 'freezer', 'incubator', 'room')),
    asset_id TEXT REFERENCES assets (id), -- the appliance, when it is one
    low DOUBLE PRECISION NOT NULL,   -- degrees Celsius, both limits inclusive
    high DOUBLE PRECISION NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
