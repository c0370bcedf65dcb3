-- The monthly QC review: a supervisor signs the month's QC of an instrument.
CREATE TABLE qc_reviews (
    id TEXT PRIMARY KEY,
    month TEXT NOT NULL,             -- YYYY-MM
    instrument TEXT NOT NULL,        -- '' for every instrument
    signed_by TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    comment TEXT NOT NULL,
    UNIQUE (month, instrument)
);
