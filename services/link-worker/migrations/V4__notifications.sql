-- The notification outbox: one row per message to the person about an appointment,
-- written by the `notifications` projection (INSERT ... ON CONFLICT DO NOTHING on the
-- event that caused it and the kind, so a rebuild keeps delivery state) and sent by the
-- link-worker's notification sender. Bookkeeping, not a read model: it is not rebuilt from
-- the log. No address, phone number or name is kept here: the sender reads them from the
-- case when it sends.
CREATE TABLE notifications (
    -- The event that caused it (booked, moved, cancelled) and what it is.
    event_id         uuid NOT NULL,
    -- confirmation | moved | cancellation | reminder
    kind             text NOT NULL,
    referral_id      uuid NOT NULL,
    appointment_id   uuid NOT NULL,
    -- When the appointment it is about starts (as of that event).
    starts_at        timestamptz NOT NULL,
    -- When to send it; NULL: at once.
    due_at           timestamptz,
    -- pending | sent | not_sent | cancelled | erased | dead
    state            text NOT NULL DEFAULT 'pending',
    -- Why it was not sent (a rule's name: letter_preferred, no_contact_method ...).
    not_sent_rule    text,
    -- email | sms, once decided.
    channel          text,
    attempts         integer NOT NULL DEFAULT 0,
    -- When to try again after a failure; NULL: as soon as it is due.
    next_attempt_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    -- The id Notify gave it.
    provider_id      text,
    PRIMARY KEY (event_id, kind)
);
CREATE INDEX notifications_pending ON notifications (due_at) WHERE state = 'pending';
CREATE INDEX notifications_by_appointment ON notifications (appointment_id);
CREATE INDEX notifications_by_referral ON notifications (referral_id);
CREATE INDEX notifications_by_state ON notifications (state, created_at);

-- Every send attempt: when (by the service's clock), what came back, how long it took.
-- Never the message or its recipient.
CREATE TABLE notification_attempts (
    id              bigserial PRIMARY KEY,
    event_id        uuid NOT NULL,
    kind            text NOT NULL,
    attempted_at    timestamptz NOT NULL,
    status_code     integer,
    error_kind      text,
    duration_ms     integer NOT NULL,
    FOREIGN KEY (event_id, kind) REFERENCES notifications (event_id, kind)
);
CREATE INDEX notification_attempts_by_notification ON notification_attempts (event_id, kind, attempted_at);
