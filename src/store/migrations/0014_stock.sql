-- Supplies: the items a laboratory stocks, their lots, every movement of
-- stock (quantity on hand is the sum of a lot's movements, never a column
-- edited in place), lot-to-lot verifications of reagent lots, and which lot
-- of a reagent is in use on which instrument (src/stock/).
--
-- Quantities are BIGINT millionths of the item's unit of issue, so that sums
-- are exact on both backends (0.15 mL a test, a hundred tests, is 15 mL).

-- An item of the catalogue of supplies. kind is one of: reagent, control,
-- calibrator, tube, phlebotomy-supply, ppe, other.
CREATE TABLE stock_items (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,       -- ALB-R1
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reagent', 'control', 'calibrator', 'tube',
                                       'phlebotomy-supply', 'ppe', 'other')),
    unit TEXT NOT NULL,              -- unit of issue: UCUM (mL, {test}) or each, box, kit
    supplier TEXT,
    catalogue_number TEXT,           -- the supplier's number for it
    reorder_point BIGINT NOT NULL,   -- millionths: reorder at or below this on hand
    reorder_quantity BIGINT NOT NULL, -- millionths: one order (> 0)
    open_stability_days INTEGER,     -- reagents, controls, calibrators: days usable once opened
    storage TEXT,                    -- the storage requirement, as the label says: 2-8 C
    uses_per_test BIGINT,            -- reagents: millionths one test consumes
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The catalog tests an item serves: a result of one of them on an instrument
-- consumes the item's lot in use there.
CREATE TABLE stock_item_tests (
    item_id TEXT NOT NULL REFERENCES stock_items (id),
    test_code TEXT NOT NULL REFERENCES tests (code),
    PRIMARY KEY (item_id, test_code)
);
CREATE INDEX stock_item_tests_test ON stock_item_tests (test_code);

-- A lot of an item. status: quarantine (reagents, controls and calibrators
-- until a verification is accepted), verified, available (kinds that need no
-- verification), disposed (a disposal emptied it). "depleted" is not stored:
-- it is read from the movements (nothing on hand).
CREATE TABLE stock_lots (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES stock_items (id),
    lot TEXT NOT NULL,               -- the manufacturer's lot number
    expiry TEXT NOT NULL,            -- YYYY-MM-DD, usable through that day (UTC)
    status TEXT NOT NULL CHECK (status IN ('quarantine', 'verified', 'available', 'disposed')),
    received_at BIGINT NOT NULL,     -- its first receipt
    opened_at BIGINT,                -- first put in use (open-vial stability counts from it)
    verified_at BIGINT,              -- when its accepted verification was recorded
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (item_id, lot)
);
CREATE INDEX stock_lots_expiry ON stock_lots (expiry);

-- Every movement, append-only. quantity is the signed change of what the lot
-- has at location: a receipt +, a use or disposal -, a transfer one row each
-- side (sharing transfer_id), a count the difference it found (counted minus
-- what was on hand there). A use by a result names the result and the
-- instrument.
CREATE TABLE stock_movements (
    id TEXT PRIMARY KEY,             -- time-ordered
    lot_id TEXT NOT NULL REFERENCES stock_lots (id),
    kind TEXT NOT NULL CHECK (kind IN ('receive', 'use', 'transfer', 'dispose', 'count')),
    location TEXT NOT NULL REFERENCES storage_units (name),
    quantity BIGINT NOT NULL,        -- millionths, signed
    at BIGINT NOT NULL,              -- when it happened
    recorded_at BIGINT NOT NULL,
    recorded_by TEXT NOT NULL,
    counted BIGINT,                  -- count: the quantity found at location
    reason TEXT,                     -- dispose: why; others: a note
    transfer_id TEXT,
    result_id TEXT REFERENCES results (id),
    instrument TEXT
);
CREATE INDEX stock_movements_lot ON stock_movements (lot_id, location);
CREATE INDEX stock_movements_result ON stock_movements (result_id);
CREATE INDEX stock_movements_at ON stock_movements (at);

-- Lot-to-lot verification of a new lot against the lot in use (NULL for an
-- item's first lot): samples measured on both, their mean difference (new
-- minus old, in the test's unit) and bias, the acceptance criterion as the
-- laboratory wrote it, and the supervisor's decision.
CREATE TABLE stock_verifications (
    id TEXT PRIMARY KEY,
    lot_id TEXT NOT NULL REFERENCES stock_lots (id),
    compared_lot_id TEXT REFERENCES stock_lots (id),
    samples INTEGER NOT NULL,
    mean_difference DOUBLE PRECISION NOT NULL,
    bias_percent DOUBLE PRECISION,
    criterion TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    note TEXT,
    verified_at BIGINT NOT NULL,
    verified_by TEXT NOT NULL
);
CREATE INDEX stock_verifications_lot ON stock_verifications (lot_id);

-- Which lot of a reagent is in use on an instrument, and since when; one open
-- row per instrument and item, earlier ones kept (ended_at set) as history.
-- location: the storage unit its stock is drawn from.
CREATE TABLE stock_in_use (
    id TEXT PRIMARY KEY,
    instrument TEXT NOT NULL REFERENCES instruments (name),
    item_id TEXT NOT NULL REFERENCES stock_items (id),
    lot_id TEXT NOT NULL REFERENCES stock_lots (id),
    location TEXT NOT NULL REFERENCES storage_units (name),
    started_at BIGINT NOT NULL,
    started_by TEXT NOT NULL,
    ended_at BIGINT,
    ended_by TEXT
);
CREATE UNIQUE INDEX stock_in_use_open ON stock_in_use (instrument, item_id) WHERE ended_at IS NULL;
CREATE INDEX stock_in_use_lot ON stock_in_use (lot_id);
