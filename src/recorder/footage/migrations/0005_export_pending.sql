-- footage.db v5 (issue 16): an export in progress, so that one cut off by a crash or a power
-- cut is undone at the next start (its pins released, its `.zip.part` removed) instead of
-- holding its snapshots pinned forever. All NULL once the export's zip is in place.
ALTER TABLE export ADD COLUMN pending_out TEXT; -- the zip being written (its part file: <out> with extension .zip.part)
ALTER TABLE export ADD COLUMN pending_pins TEXT;
ALTER TABLE export ADD COLUMN pending_pid INTEGER;
