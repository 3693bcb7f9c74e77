-- Every FHIR message an authenticated caller sent, accepted or refused: who sent it, from
-- which endpoint (BaRS: a receiver stores the sender's endpoint for replies and audit), and
-- what intake answered. Nothing about the person is kept here.
CREATE TABLE inbound_messages (
    id                     bigserial PRIMARY KEY,
    received_at            timestamptz NOT NULL DEFAULT now(),
    caller_organisation_id text NOT NULL,
    bundle_id              text,
    message_header_id      text,
    event_code             text,
    sender_identifier      text,
    sender_organisation_id text,
    source_endpoint        text,
    source_software        text,
    http_status            smallint NOT NULL,
    outcome                text NOT NULL,
    referral_id            uuid
);
CREATE INDEX inbound_messages_by_referral ON inbound_messages (referral_id) WHERE referral_id IS NOT NULL;
