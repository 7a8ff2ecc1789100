-- footage.db v3 (issue 16): re-adopted snapshots ('recover' entries), frame age, signed chain
-- heads and the hub's receipts. The chain is rebuilt only to widen its kind CHECK (as 0002);
-- every existing entry is copied unchanged.
ALTER TABLE chain RENAME TO chain_v2;
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
INSERT INTO chain SELECT * FROM chain_v2;
DROP TABLE chain_v2;
ALTER TABLE snapshot ADD COLUMN frame_age_ms INTEGER;
ALTER TABLE snapshot ADD COLUMN recovered_from_seq INTEGER;
CREATE TABLE signed_head (
    id INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    device TEXT NOT NULL,
    key TEXT NOT NULL,
    signature TEXT NOT NULL
) STRICT;
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
