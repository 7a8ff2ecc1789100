-- Version 2: queue state mirrored from the central server.

CREATE TABLE queue_counters (
    counter     INTEGER PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('idle', 'called', 'serving', 'paused', 'closed')),
    ticket      TEXT,
    record_id   TEXT,
    waiting     INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE queue_events (
    seq         INTEGER PRIMARY KEY,
    counter     INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    ticket      TEXT,
    record_id   TEXT,
    waiting     INTEGER,
    at          TEXT NOT NULL
) STRICT;
