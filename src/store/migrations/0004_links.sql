-- Instrument and EHR links: who benchside talks to, every message in and
-- out (the journal), and the results waiting to go to the EHR (the outbox).

-- Analyzers, monitors and EHRs. test_mappings.instrument is the name.
CREATE TABLE instruments (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('analyzer', 'poc', 'monitor', 'ehr')),
    protocol TEXT NOT NULL CHECK (protocol IN ('hl7', 'astm')),
    transport TEXT NOT NULL CHECK (transport IN ('tcp', 'serial')),
    match_application TEXT,          -- HL7 MSH-3 (first component)
    match_facility TEXT,             -- HL7 MSH-4 (first component); NULL: any
    match_sender TEXT,               -- ASTM H.5 (first component)
    match_peer TEXT,                 -- or recognised by the peer address alone
    allowed_peers TEXT NOT NULL,     -- JSON array of addresses; [] allows any
    serial_device TEXT,
    serial_baud INTEGER,
    serial_parity TEXT CHECK (serial_parity IN ('none', 'even', 'odd')),
    serial_data_bits INTEGER,
    serial_stop_bits INTEGER,
    send_to TEXT,                    -- HOST:PORT that messages for it go to (MLLP)
    enabled INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX instruments_application ON instruments (match_application);
CREATE INDEX instruments_sender ON instruments (match_sender);

-- The message journal: every message received, raw, with what became of it.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,             -- time-ordered
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    protocol TEXT NOT NULL CHECK (protocol IN ('hl7', 'astm')),
    transport TEXT NOT NULL,         -- mllp, astm-tcp, serial, replay
    peer TEXT NOT NULL,              -- address:port or device path
    instrument TEXT,                 -- who sent it, when recognised
    sender TEXT NOT NULL,            -- the sender's key for control ids
    control_id TEXT NOT NULL,        -- HL7 MSH-10, ASTM H.3; '' when none
    type TEXT NOT NULL,              -- ORU^R01, OUL^R22, astm:results ...
    status TEXT NOT NULL CHECK (status IN ('accepted', 'duplicate', 'rejected', 'error')),
    ack TEXT NOT NULL,               -- AA, AE, AR; ACK or NAK for ASTM
    error TEXT,
    error_field TEXT,
    summary TEXT NOT NULL,           -- JSON: what it carried (results, orders...)
    raw TEXT NOT NULL,
    raw_encoding TEXT NOT NULL CHECK (raw_encoding IN ('text', 'base64')),
    bytes INTEGER NOT NULL,
    received_at BIGINT NOT NULL,
    replay_of TEXT
);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_instrument ON messages (instrument, received_at);
CREATE INDEX messages_status ON messages (status, received_at);
CREATE INDEX messages_control ON messages (sender, control_id);
-- A control id is stored once per sender; repeats are journalled as duplicates.
CREATE UNIQUE INDEX messages_accepted_once ON messages (sender, control_id)
    WHERE status = 'accepted' AND direction = 'in' AND control_id <> '';

-- Results to deliver to each EHR, in order per patient, until acknowledged.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,             -- time-ordered: delivery order
    destination TEXT NOT NULL REFERENCES instruments (name),
    patient_id TEXT NOT NULL REFERENCES patients (id),
    result_id TEXT NOT NULL REFERENCES results (id),
    result_version INTEGER NOT NULL,
    result_status TEXT NOT NULL CHECK (result_status IN ('F', 'C')),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    control_id TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (status, destination, patient_id, id);
CREATE INDEX outbox_result ON outbox (result_id);

-- Orders placed by an EHR keep its order number (ORC-2), to cancel them by it.
ALTER TABLE orders ADD COLUMN placer_id TEXT;
ALTER TABLE orders ADD COLUMN placer TEXT;
CREATE INDEX orders_placer ON orders (placer, placer_id);
