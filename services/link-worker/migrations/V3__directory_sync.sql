-- The directory kept in step with an Open Referral UK API feed (LINKWAY_DIRECTORY_FEED_URL).
-- A service the feed listed carries the feed it came from; one the feed no longer lists is
-- withdrawn (kept, so existing connections still name it, but taking no new connections).
ALTER TABLE directory_services ADD COLUMN feed_url text;
ALTER TABLE directory_services ADD COLUMN withdrawn_at timestamptz;

-- Every sync of the feed: when it ran, what triggered it, how it ended, and what it did
-- (all or nothing: a failed sync changed no service).
CREATE TABLE directory_syncs (
    sync_id     uuid PRIMARY KEY,
    feed_url    text NOT NULL,
    trigger     text NOT NULL CHECK (trigger IN ('schedule', 'on_demand')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    outcome     text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed')),
    pages       integer NOT NULL DEFAULT 0,
    added       integer NOT NULL DEFAULT 0,
    updated     integer NOT NULL DEFAULT 0,
    removed     integer NOT NULL DEFAULT 0,
    error       text
);
CREATE INDEX directory_syncs_by_start ON directory_syncs (started_at DESC);
