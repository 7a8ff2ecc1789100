-- Version 4: the catalog's search lexicon and referral parts (JSON, as in the bundle).

CREATE TABLE catalog_search (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    lexicon     TEXT,
    referrals   TEXT NOT NULL
) STRICT;
