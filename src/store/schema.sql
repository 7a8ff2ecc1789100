-- The current schema of catalog.db, used to create a fresh database.
-- Every change here needs a numbered file in migrations/ that takes the previous version to
-- this one; the test `migrated_equals_fresh` checks that the two agree.

CREATE TABLE catalog_info (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    version     INTEGER NOT NULL,
    schema      INTEGER NOT NULL,
    issued_at   TEXT NOT NULL,
    expires_at  TEXT,
    center      TEXT NOT NULL,
    applied_at  TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL
) STRICT;

CREATE TABLE fields (
    code        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    name_vi     TEXT NOT NULL,
    name_en     TEXT
) STRICT;

CREATE TABLE procedures (
    code        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    field       TEXT NOT NULL REFERENCES fields (code),
    name_vi     TEXT NOT NULL,
    name_en     TEXT,
    detail      TEXT NOT NULL
) STRICT;

CREATE INDEX procedures_by_field ON procedures (field, position);

CREATE TABLE counters (
    number      INTEGER PRIMARY KEY,
    name_vi     TEXT NOT NULL,
    name_en     TEXT
) STRICT;

CREATE TABLE counter_fields (
    counter     INTEGER NOT NULL REFERENCES counters (number) ON DELETE CASCADE,
    field       TEXT NOT NULL REFERENCES fields (code),
    position    INTEGER NOT NULL,
    PRIMARY KEY (counter, field)
) STRICT;

CREATE TABLE officials (
    id          TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    title_vi    TEXT NOT NULL,
    title_en    TEXT,
    counter     INTEGER REFERENCES counters (number),
    fields      TEXT NOT NULL
) STRICT;

CREATE TABLE statistics (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    period_from      TEXT NOT NULL,
    period_to        TEXT NOT NULL,
    received         INTEGER NOT NULL,
    resolved_ahead   INTEGER NOT NULL,
    resolved_on_time INTEGER NOT NULL,
    resolved_overdue INTEGER NOT NULL,
    in_progress      INTEGER NOT NULL
) STRICT;

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

CREATE TABLE catalog_search (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    lexicon     TEXT,
    referrals   TEXT NOT NULL
) STRICT;

CREATE TABLE ticket_leases (
    lease      INTEGER PRIMARY KEY,
    counter    INTEGER NOT NULL,
    day        TEXT NOT NULL,
    first_n    INTEGER NOT NULL,
    last_n     INTEGER NOT NULL,
    labels     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    -- 1 once a closing report is under way: never issued from again (the hub may give
    -- its remaining numbers back at any moment from then on)
    closing    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- key: the key of an unanswered online request the number replaces (the hub voids its ticket)
CREATE TABLE ticket_offline (
    lease     INTEGER NOT NULL REFERENCES ticket_leases (lease) ON DELETE CASCADE,
    n         INTEGER NOT NULL,
    label     TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    key       TEXT,
    PRIMARY KEY (lease, n)
) STRICT;

-- The key of the pending lease request of each counter and day, until the lease is granted.
CREATE TABLE ticket_lease_keys (
    counter INTEGER NOT NULL,
    day     TEXT NOT NULL,
    key     TEXT NOT NULL,
    PRIMARY KEY (counter, day)
) STRICT;
