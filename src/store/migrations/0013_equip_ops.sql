-- Temperature logs of the storage units and their excursion alerts; work
-- orders on assets with their append-only entries (src/equip/templog.c,
-- src/equip/workorder.c). Portable SQL for SQLite and PostgreSQL: ids TEXT,
-- times BIGINT UTC microseconds, degrees DOUBLE PRECISION, money BIGINT cents.

-- An excursion: readings of a unit outside its limits. One open alert per
-- unit; further readings outside the limits join it and move its extreme. It
-- stays open, back in range or not, until a person closes it with what was
-- done and what became of the products stored there.
CREATE TABLE temperature_alerts (
    id TEXT PRIMARY KEY,
    unit TEXT NOT NULL REFERENCES storage_units (name),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    low DOUBLE PRECISION NOT NULL,      -- the unit's limits when the alert opened
    high DOUBLE PRECISION NOT NULL,
    first_at BIGINT NOT NULL,           -- the earliest reading outside the limits
    last_at BIGINT NOT NULL,            -- the latest one
    extreme DOUBLE PRECISION NOT NULL,  -- the reading farthest outside the limits
    extreme_at BIGINT NOT NULL,
    readings INTEGER NOT NULL,          -- readings outside the limits it holds
    stored TEXT NOT NULL,               -- JSON: what was stored in the unit when it opened
    opened_at BIGINT NOT NULL,
    opened_by TEXT NOT NULL,
    closed_at BIGINT,
    closed_by TEXT,
    action TEXT,                        -- what was done
    disposition TEXT                    -- what became of the stored products
);
CREATE UNIQUE INDEX temperature_alerts_open ON temperature_alerts (unit) WHERE status = 'open';
CREATE INDEX temperature_alerts_opened ON temperature_alerts (opened_at);

-- Readings, by hand or pushed by a sensor. Append-only. A sensor sends a
-- reading once: the same unit, sensor and time again is the same reading.
CREATE TABLE temperature_readings (
    id TEXT PRIMARY KEY,
    unit TEXT NOT NULL REFERENCES storage_units (name),
    at BIGINT NOT NULL,                 -- when it was measured
    celsius DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('manual', 'sensor')),
    sensor TEXT NOT NULL,               -- the sensor's name, '' for none
    note TEXT,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    alert_id TEXT REFERENCES temperature_alerts (id), -- outside the limits: its alert
    UNIQUE (unit, sensor, at)
);
CREATE INDEX temperature_readings_unit ON temperature_readings (unit, at);

-- A fault reported on an asset and its repair. Downtime runs from reported_at
-- to returned_at for an order that took the asset out of service.
CREATE TABLE work_orders (
    id TEXT PRIMARY KEY,
    asset_id TEXT NOT NULL REFERENCES assets (id),
    fault TEXT NOT NULL,                -- what is wrong, as reported
    severity TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    out_of_service INTEGER NOT NULL,    -- 1: the asset is out of service until its return
    status TEXT NOT NULL CHECK (status IN ('open', 'returned', 'closed')),
    reported_at BIGINT NOT NULL,
    reported_by TEXT NOT NULL,
    returned_at BIGINT,                 -- back in service after a passing verification
    returned_by TEXT,
    closed_at BIGINT,
    closed_by TEXT,
    resolution TEXT                     -- what fixed it, said at the close
);
CREATE INDEX work_orders_asset ON work_orders (asset_id, reported_at);
CREATE INDEX work_orders_status ON work_orders (status, reported_at);

-- What happened on a work order, in order. Append-only. The columns a kind
-- does not use are NULL:
--   note          note
--   part          part_number, description, quantity, cost_cents (of the line)
--   vendor        vendor, reference, visit_date, note
--   verification  verified (what was checked), outcome, record_id, note
CREATE TABLE work_order_entries (
    id TEXT PRIMARY KEY,
    work_order_id TEXT NOT NULL REFERENCES work_orders (id),
    kind TEXT NOT NULL CHECK (kind IN ('note', 'part', 'vendor', 'verification')),
    at BIGINT NOT NULL,
    by_user TEXT NOT NULL,
    note TEXT,
    part_number TEXT,
    description TEXT,
    quantity INTEGER,
    cost_cents BIGINT,
    vendor TEXT,
    reference TEXT,
    visit_date TEXT,                    -- YYYY-MM-DD
    verified TEXT,
    outcome TEXT CHECK (outcome IN ('pass', 'fail')),
    record_id TEXT                      -- a calibration or checklist record it rests on
);
CREATE INDEX work_order_entries_order ON work_order_entries (work_order_id, at);
