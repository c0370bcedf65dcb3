-- Security: the rate limit on failed sign-ins per client address
-- (src/auth/throttle.c).
--
-- One row per address that has failed to sign in recently. The limit is a
-- generic cell rate algorithm: each failure pushes ready_at (UTC
-- microseconds) one interval further from the later of itself and now; an
-- address may try again while ready_at is less than burst intervals ahead of
-- now. A burst of failures is allowed at once, then one per interval. Rows
-- whose ready_at has passed count for nothing and are deleted as failures
-- come in. The table lives in the database, not in a node's memory, so that
-- several nodes behind a load balancer share one limit.
CREATE TABLE sign_in_throttle (
    source TEXT PRIMARY KEY, -- the client's address, as the audit trail records it
    ready_at BIGINT NOT NULL
);
CREATE INDEX sign_in_throttle_ready ON sign_in_throttle (ready_at);
