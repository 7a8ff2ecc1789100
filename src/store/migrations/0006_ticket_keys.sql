-- Version 6: idempotency keys for tickets (docs/kiosk.md, "Taking a number").
-- The key of an online ticket request whose answer never came, kept with the number issued
-- offline instead; the report sends it so the hub voids the ticket that request may have issued.
ALTER TABLE ticket_offline ADD COLUMN key TEXT;

-- The key of the pending lease request of each counter and day, kept until the lease is
-- granted, so a retry (also after a restart) asks for the same lease.
CREATE TABLE ticket_lease_keys (
    counter INTEGER NOT NULL,
    day     TEXT NOT NULL,
    key     TEXT NOT NULL,
    PRIMARY KEY (counter, day)
) STRICT;
