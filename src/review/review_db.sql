-- review.db: review UI accounts and sessions. Not evidence: footage and the audit trail live
-- in footage.db's hash chain. See docs/review.md ("## Accounts and sessions").
CREATE TABLE user (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('supervisor', 'technician')),
    -- Argon2id, PHC string form ($argon2id$v=19$...)
    password_hash TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    changed_ms INTEGER NOT NULL
) STRICT;

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored here.
CREATE TABLE session (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES user (name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    remote TEXT NOT NULL
) STRICT;
CREATE INDEX session_by_user ON session (user_name);

-- Small facts: the SHA-256 of the provisioned users file last merged.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
