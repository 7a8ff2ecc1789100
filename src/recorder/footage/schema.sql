-- footage.db: the index of counter snapshots. Files live in <data_dir>/footage/<ab>/<sha256>.jpg.
-- Invariants: docs/storage.md, "## Footage". Keep in step with migrations/ (a test compares).

-- Append-only hash chain. One entry per stored snapshot ('capture'), per deletion by the
-- retention policy ('delete') and per footage access in the review UI ('audit').
-- hash = SHA-256(prev_hash || body_hash(fields)); see chain.rs.
CREATE TABLE chain (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('capture', 'delete', 'audit')),
    snapshot_id INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    counter INTEGER NOT NULL,
    record_id TEXT,
    captured_at_ms INTEGER NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;

-- The live index: one row per snapshot that has not been deleted. id = its capture entry's seq.
CREATE TABLE snapshot (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    counter INTEGER NOT NULL,
    record_id TEXT,
    captured_at_ms INTEGER NOT NULL,
    reason TEXT NOT NULL,
    -- set when a case export includes it; pinned rows are never pruned
    pinned INTEGER NOT NULL DEFAULT 0,
    -- set by start-up reconcile when the file is absent; cleared if it reappears
    missing_since_ms INTEGER
) STRICT;
CREATE INDEX snapshot_by_record ON snapshot (record_id, captured_at_ms);
CREATE INDEX snapshot_by_time ON snapshot (captured_at_ms);
CREATE INDEX snapshot_by_sha ON snapshot (sha256);

-- ~320 px previews, derived from the snapshot (not evidence, not in the chain).
CREATE TABLE thumbnail (
    snapshot_id INTEGER PRIMARY KEY REFERENCES snapshot (id) ON DELETE CASCADE,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    jpeg BLOB NOT NULL
) STRICT;

-- Files whose rows are gone but which may still be on disk (the garbage table).
CREATE TABLE pending_delete (
    sha256 TEXT PRIMARY KEY,
    since_ms INTEGER NOT NULL
) STRICT;

-- Case exports (audit of what left the device and the chain head it was proven against).
CREATE TABLE export (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    snapshots INTEGER NOT NULL,
    chain_head_seq INTEGER NOT NULL,
    chain_head_hash TEXT NOT NULL
) STRICT;
