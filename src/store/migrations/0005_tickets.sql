-- Version 5: ticket numbers leased from the hub for issuing through a network cut
-- (docs/kiosk.md, "Taking a number"). A number is written here before the kiosk shows it.

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

CREATE TABLE ticket_offline (
    lease     INTEGER NOT NULL REFERENCES ticket_leases (lease) ON DELETE CASCADE,
    n         INTEGER NOT NULL,
    label     TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    PRIMARY KEY (lease, n)
) STRICT;
