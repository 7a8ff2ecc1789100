-- footage.db v2: the chain also holds review UI audit entries (kind 'audit').
-- SQLite cannot change a CHECK in place: move the old table aside, create the new one under
-- the final name (so its stored SQL equals schema.sql's) and copy every entry unchanged.
ALTER TABLE chain RENAME TO chain_v1;
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
INSERT INTO chain SELECT * FROM chain_v1;
DROP TABLE chain_v1;
