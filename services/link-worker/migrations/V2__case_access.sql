-- Who saw which person's record, when: every access to a case's personal details is
-- attributable (DOMAIN.md, governance). Written by the query handlers, never read by them.
CREATE TABLE case_access (
    referral_id     uuid NOT NULL,
    organisation_id text NOT NULL,
    user_id         text,
    role            text NOT NULL,
    token_id        uuid NOT NULL,
    operation       text NOT NULL,
    accessed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_access_by_case ON case_access (referral_id, accessed_at);
