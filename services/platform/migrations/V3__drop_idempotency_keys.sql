-- Commands are answered from the log alone: a retried command finds its own events by
-- their message ids (derived from the Idempotency-Key, with a hash of the request), so the
-- answers table is no longer written or read.
DROP TABLE IF EXISTS idempotency_keys;
