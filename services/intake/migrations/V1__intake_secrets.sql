-- Secrets intake keeps for itself, outside any projection schema (rebuilds keep them).
-- nhs_number_key: the HMAC key behind the read model's NHS number lookups.
CREATE TABLE intake_secrets (
    name       text PRIMARY KEY,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
