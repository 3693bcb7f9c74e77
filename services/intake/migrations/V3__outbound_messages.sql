-- The outbox: one row per FHIR message back to a referrer, written by the `outbox`
-- projection (INSERT ... ON CONFLICT (message_id) DO NOTHING, so a rebuild keeps the
-- delivery state) and delivered by intake's sender. Bookkeeping, not a read model: it is
-- not rebuilt from the log.
CREATE TABLE outbound_messages (
    message_id      uuid PRIMARY KEY,
    referral_id     uuid NOT NULL,
    -- Stream sequence of the event: a referral's messages go in this order.
    sequence        bigint NOT NULL,
    kind            text NOT NULL,
    endpoint        text NOT NULL,
    -- The Bundle; NULL once the person is erased.
    body            text,
    -- pending | delivered | dead | erased
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text
);
CREATE INDEX outbound_messages_due ON outbound_messages (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbound_messages_by_referral ON outbound_messages (referral_id, sequence);
CREATE INDEX outbound_messages_by_state ON outbound_messages (state, created_at);

-- Every delivery attempt: when, what came back (a status code or the kind of error), how
-- long it took. Never the body.
CREATE TABLE outbound_attempts (
    id           bigserial PRIMARY KEY,
    message_id   uuid NOT NULL REFERENCES outbound_messages (message_id),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    error_kind   text,
    duration_ms  integer NOT NULL
);
CREATE INDEX outbound_attempts_by_message ON outbound_attempts (message_id, attempted_at);
