-- When each token was last used against this service. Bookkeeping, not a read model and
-- not an event: the process that authenticated a request writes it at most once a minute
-- per token, off the request path; `linkway admin token list` reads it.
CREATE TABLE token_usage (
    token_id     uuid PRIMARY KEY,
    last_used_at timestamptz NOT NULL
);
