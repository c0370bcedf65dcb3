-- Orders pushed down to analyzers that do not ask for them (host query is
-- the other way), and the tests each analyzer runs.

ALTER TABLE instruments ADD COLUMN orders_mode TEXT NOT NULL DEFAULT 'query'
    CHECK (orders_mode IN ('query', 'push'));
ALTER TABLE instruments ADD COLUMN hl7_orders TEXT NOT NULL DEFAULT 'oml'
    CHECK (hl7_orders IN ('oml', 'orm'));
ALTER TABLE instruments ADD COLUMN menu TEXT NOT NULL DEFAULT '[]';   -- JSON catalog codes; [] = all

-- A received specimen's tests waiting to be sent to a push analyzer.
CREATE TABLE order_outbox (
    id TEXT PRIMARY KEY,             -- time-ordered: delivery order
    destination TEXT NOT NULL REFERENCES instruments (name),
    specimen_id TEXT NOT NULL REFERENCES specimens (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    control_id TEXT,
    tests TEXT,                      -- JSON: the codes sent, once delivered
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX order_outbox_pending ON order_outbox (status, destination, id);
