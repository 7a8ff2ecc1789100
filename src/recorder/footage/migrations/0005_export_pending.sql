-- footage.db v5 (issue 16): an export in progress, so that one cut off by a crash or a power
-- cut is undone at the next start (its pins released, its `.zip.part` removed) instead of
-- holding its snapshots pinned forever. The three columns are NULL once the zip is in place.
ALTER TABLE export ADD COLUMN pending_out TEXT; -- the zip being written (its part file: <out> with extension .zip.part)
ALTER TABLE export ADD COLUMN pending_pins TEXT;
ALTER TABLE export ADD COLUMN pending_owner TEXT; -- "<boot id> <pid>" of the exporting process

-- Which export holds which snapshot: a snapshot is unpinned only by the export that pinned it,
-- and only when no other export holds it (rows for exports from v5 on; older pins stay).
CREATE TABLE export_pin (
    export_id INTEGER NOT NULL,
    snapshot_id INTEGER NOT NULL,
    PRIMARY KEY (export_id, snapshot_id)
) STRICT;
CREATE INDEX export_pin_by_snapshot ON export_pin (snapshot_id);
