-- Bookkeeping every service's database has: where each projection is in the log, and the
-- events a projection could not read (parked, never silently skipped).
CREATE TABLE projection_checkpoints (
    projection    text PRIMARY KEY,
    last_sequence bigint NOT NULL DEFAULT 0,
    version       integer NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dead_letters (
    projection text NOT NULL,
    sequence   bigint NOT NULL,
    subject    text NOT NULL,
    event_type text,
    reason     text NOT NULL,
    payload    bytea NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, sequence)
);

-- Answers to commands already carried out, by idempotency key, so a retry gets the
-- original answer and a reused key with another body is refused.
CREATE TABLE idempotency_keys (
    organisation_id text NOT NULL,
    key             text NOT NULL,
    operation       text NOT NULL,
    request_sha256  text NOT NULL,
    status          smallint NOT NULL,
    response        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, key)
);
