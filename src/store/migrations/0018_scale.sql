-- Several nodes on one database (docs/operations.md): a row of the outbox
-- is claimed by the node that delivers it, for a lease. Another node skips a
-- claimed row until its lease runs out, so a result reaches the EHR once
-- while both nodes run, and a node that dies leaves nothing stuck: its
-- claims expire and another node takes them. PostgreSQL takes the claim
-- with FOR UPDATE SKIP LOCKED, so that claimers never wait for each other;
-- SQLite has one writer at a time anyway.

-- The node that holds the row (its --node name), NULL when nobody does.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
-- UTC microseconds when the claim lapses; NULL with claimed_by.
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;

-- The same for the orders pushed to analyzers.
ALTER TABLE order_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE order_outbox ADD COLUMN claimed_until BIGINT;
