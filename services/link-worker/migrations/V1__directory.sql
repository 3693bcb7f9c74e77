-- The directory of community services (Open Referral UK). Reference data published by
-- others and re-imported as it changes, not facts Linkway causes, so it lives in a plain
-- table rather than the event log; a case's `case.connection_made` event keeps the service
-- id and name as they were, so history never depends on this table.
CREATE TABLE directory_services (
    service_id        text PRIMARY KEY,
    name              text NOT NULL,
    status            text NOT NULL,
    url               text NOT NULL,
    description       text,
    organisation_name text,
    -- Taxonomy terms (and their ids), lower-cased, for the category filter.
    categories        text[] NOT NULL DEFAULT '{}',
    -- Service areas and location towns/postcodes, for the area filter.
    areas             text NOT NULL DEFAULT '',
    -- The service as published, kept whole.
    document          jsonb NOT NULL,
    imported_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX directory_services_categories ON directory_services USING gin (categories);
