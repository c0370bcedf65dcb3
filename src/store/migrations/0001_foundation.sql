-- Users, sessions and the hash-chained audit trail.
-- Portable SQL for SQLite and PostgreSQL: ids are TEXT made by the program,
-- times BIGINT UTC microseconds, flags INTEGER 0/1.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'technician', 'biomed',
                                       'clinician', 'interface')),
    password_hash TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

-- A session is known by the BLAKE2b hash of its token; the token itself is
-- never stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    ended_at BIGINT,
    source TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Append-only. Each event's hash covers the previous event's hash and every
-- field of the event; audit_head holds the last sequence number and hash so
-- that a removed tail is detected too.
CREATE TABLE audit_event (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    source TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_event_at ON audit_event (at);
CREATE INDEX audit_event_actor ON audit_event (actor, at);
CREATE INDEX audit_event_entity ON audit_event (entity_type, entity_id, at);
CREATE INDEX audit_event_action ON audit_event (action, at);

-- at: the time of the last event; events never go back in time, even when
-- the clock does.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL
);
INSERT INTO audit_head (id, seq, hash, at)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0);
