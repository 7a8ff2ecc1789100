-- footage.db: the index of counter snapshots. Files live in <data_dir>/footage/<ab>/<sha256>.jpg.
-- Invariants: docs/storage.md, "## Footage". Keep in step with migrations/ (a test compares).

-- Append-only hash chain. One entry per stored snapshot ('capture'), per deletion by the
-- retention policy ('delete'), per footage access in the review UI or CLI ('audit') and per
-- snapshot re-adopted from its self-describing file after its row was lost ('recover').
-- hash = SHA-256(prev_hash || body_hash(fields)); see chain.rs.
CREATE TABLE chain (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('capture', 'delete', 'audit', 'recover')),
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
-- (v3 added, in the ALTER TABLE form: frame_age_ms, how long before the trigger the frame was
-- taken; recovered_from_seq, the first seq of a row re-adopted from its file. v4: camera_time_ms,
-- a network camera's own clock for the frame, kept beside and never trusted.)
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
    , frame_age_ms INTEGER, recovered_from_seq INTEGER, camera_time_ms INTEGER) STRICT;
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
-- v5: pending_out/pins/owner, an export being written (NULL once its zip is in place).
CREATE TABLE export (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    snapshots INTEGER NOT NULL,
    chain_head_seq INTEGER NOT NULL,
    chain_head_hash TEXT NOT NULL
    , pending_out TEXT, pending_pins TEXT, pending_owner TEXT) STRICT;

-- v5: which export holds which snapshot (see migration 0005).
CREATE TABLE export_pin (
    export_id INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL,
    PRIMARY KEY (export_id, snapshot_id)
) STRICT;
CREATE INDEX export_pin_by_snapshot ON export_pin (snapshot_id);

-- Chain heads signed with the device key (the latest goes to the hub in a heartbeat; exports
-- carry one). Signed text: see src/recorder/anchor.rs.
CREATE TABLE signed_head (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT;

-- The hub's receipts for anchored heads, verified with a pinned hub key before they are
-- stored; append-only (the triggers refuse updates and deletes).
CREATE TABLE anchor_receipt (
    id INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at TEXT NOT NULL,
    hub_seq INTEGER NOT NULL,
    hub_signature TEXT NOT NULL,
    hub_key TEXT NOT NULL,
    stored_at_ms INTEGER NOT NULL,
    UNIQUE (seq, hash)
) STRICT;
CREATE TRIGGER anchor_receipt_no_update BEFORE UPDATE ON anchor_receipt
BEGIN SELECT RAISE(ABORT, 'anchor receipts are append-only'); END;
CREATE TRIGGER anchor_receipt_no_delete BEFORE DELETE ON anchor_receipt
BEGIN SELECT RAISE(ABORT, 'anchor receipts are append-only'); END;
