-- Version 3: sync state, the upload outbox and the record-status cache.

CREATE TABLE sync_channels (
    channel         TEXT PRIMARY KEY CHECK (channel IN ('catalog', 'queue', 'outbox', 'records')),
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error_at   TEXT,
    last_error      TEXT,
    permanent       INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    etag            TEXT
) STRICT;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('rating', 'heartbeat')),
    idempotency_key TEXT NOT NULL UNIQUE,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
) STRICT;

CREATE TABLE record_cache (
    id          TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    fetched_at  TEXT NOT NULL
) STRICT;
