//! Review UI accounts in `<data_dir>/review.db`: add, change password, remove, list, and the
//! merge of the users file that `motcua provision` writes.
//!
//! `review.db` is separate from `footage.db` because accounts and sessions are not evidence
//! and must be writable by `motcua user …` while the daemon holds the footage writer lock.
//! Stores only Argon2id hashes; never sees a password in clear except to hash it (elsewhere).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Deserialize;

use super::auth::is_argon2id_hash;
use crate::store::{self, Access, Schema, StoreError};

/// File name of the accounts database inside the data directory.
pub const REVIEW_DB: &str = "review.db";

pub const SCHEMA: Schema = Schema {
    fresh: include_str!("review_db.sql"),
    migrations: &[include_str!("review_db.sql")],
};

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Views and exports footage, reads the audit log.
    Supervisor,
    /// Sees health and configuration; never footage.
    Technician,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Supervisor => "supervisor",
            Role::Technician => "technician",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "supervisor" => Some(Role::Supervisor),
            "technician" => Some(Role::Technician),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user names are 3 to 32 of a-z, 0-9, '.' and '_' (got `{0}`)")]
    BadName(String),
    #[error("user `{0}` already exists; use `motcua user passwd {0}` to change the password")]
    Exists(String),
    #[error("no user `{0}`; `motcua user list` shows the accounts")]
    NoSuchUser(String),
    #[error("{path}: {message}")]
    UsersFile { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("review database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// One account as listed (no hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub created_ms: i64,
    pub changed_ms: i64,
}

/// The accounts and sessions database.
pub struct AccountStore {
    pub(super) conn: Connection,
}

/// 3 to 32 of `a-z 0-9 . _` (the provisioning file's rule).
pub fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = (3..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadName(name.chars().take(40).collect()))
    }
}

impl AccountStore {
    /// Open (creating if needed, owner-only permissions) `<data_dir>/private/review.db`
    /// (`store::private`: 0700 directory, 0600 files, moved there from the data directory).
    pub fn open(data_dir: &Path) -> Result<AccountStore, AccountError> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir {
            path: data_dir.to_owned(),
            source,
        })?;
        let path =
            store::private::prepare(data_dir, REVIEW_DB).map_err(|source| StoreError::DataDir {
                path: data_dir.join(store::private::PRIVATE_DIR),
                source,
            })?;
        let mut conn = store::open_connection(&path, Access::ReadWrite)?;
        store::migrate_schema(&mut conn, &path, &SCHEMA)?;
        Ok(AccountStore { conn })
    }

    pub fn add(&self, name: &str, role: Role, hash: &str, now_ms: i64) -> Result<(), AccountError> {
        check_name(name)?;
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO user (name, role, password_hash, created_ms, changed_ms) \
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role.as_str(), hash, now_ms],
        )?;
        if n == 0 {
            return Err(AccountError::Exists(name.to_owned()));
        }
        Ok(())
    }

    /// Replace the hash and end every session of the account.
    pub fn set_password(&self, name: &str, hash: &str, now_ms: i64) -> Result<(), AccountError> {
        let n = self.conn.execute(
            "UPDATE user SET password_hash = ?2, changed_ms = ?3 WHERE name = ?1",
            params![name, hash, now_ms],
        )?;
        if n == 0 {
            return Err(AccountError::NoSuchUser(name.to_owned()));
        }
        self.conn
            .execute("DELETE FROM session WHERE user_name = ?1", [name])?;
        Ok(())
    }

    /// Remove the account; its sessions go with it.
    pub fn remove(&self, name: &str) -> Result<(), AccountError> {
        let n = self
            .conn
            .execute("DELETE FROM user WHERE name = ?1", [name])?;
        if n == 0 {
            return Err(AccountError::NoSuchUser(name.to_owned()));
        }
        Ok(())
    }

    pub fn list(&self) -> Result<Vec<User>, AccountError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, role, created_ms, changed_ms FROM user ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            let role: String = r.get(1)?;
            Ok(User {
                name: r.get(0)?,
                role: Role::parse(&role).unwrap_or(Role::Technician),
                created_ms: r.get(2)?,
                changed_ms: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `(role, password hash)` of an account.
    pub fn credentials(&self, name: &str) -> Result<Option<(Role, String)>, AccountError> {
        Ok(self
            .conn
            .query_row(
                "SELECT role, password_hash FROM user WHERE name = ?1",
                [name],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?)),
            )
            .optional()?
            .and_then(|(role, h)| Role::parse(&role).map(|r| (r, h))))
    }

    /// Merge the provisioned users file when its content differs from the last one merged:
    /// each listed account is added or gets the listed role and hash. Accounts removed with
    /// `motcua user remove` stay removed until the file itself changes. Returns the names
    /// merged (empty when the file is unchanged).
    pub fn merge_users_file(&self, path: &Path, now_ms: i64) -> Result<Vec<String>, AccountError> {
        let bad = |message: String| AccountError::UsersFile {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let digest = crate::recorder::chain::sha256_hex(text.as_bytes());
        let last: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'users_file_sha256'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if last.as_deref() == Some(digest.as_str()) {
            return Ok(Vec::new());
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            #[serde(default)]
            user: Vec<Entry>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Entry {
            username: String,
            role: Role,
            password_hash: String,
        }
        let file: File = toml::from_str(&text).map_err(|e| bad(e.message().to_owned()))?;
        let mut merged = Vec::new();
        let tx = self.conn.unchecked_transaction()?;
        for u in file.user {
            check_name(&u.username)?;
            if !is_argon2id_hash(&u.password_hash) {
                return Err(bad(format!(
                    "user `{}`: password_hash is not an Argon2id PHC string",
                    u.username
                )));
            }
            tx.execute(
                "INSERT INTO user (name, role, password_hash, created_ms, changed_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE SET \
                 role = excluded.role, password_hash = excluded.password_hash, \
                 changed_ms = excluded.changed_ms WHERE password_hash != excluded.password_hash \
                 OR role != excluded.role",
                params![u.username, u.role.as_str(), u.password_hash, now_ms],
            )?;
            merged.push(u.username);
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('users_file_sha256', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [&digest],
        )?;
        tx.commit()?;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0ZsYvQ5Vq7ZkN4uG2m3M9b0cJ0m4y4cZ9Zx8m8k2bEw";

    #[test]
    fn add_passwd_remove_list() {
        let t = tempfile::tempdir().unwrap();
        let s = AccountStore::open(t.path()).unwrap();
        s.add("lan.nguyen", Role::Supervisor, HASH, 1).unwrap();
        assert!(matches!(
            s.add("lan.nguyen", Role::Technician, HASH, 2),
            Err(AccountError::Exists(_))
        ));
        assert!(matches!(
            s.add("Lan", Role::Supervisor, HASH, 2),
            Err(AccountError::BadName(_))
        ));
        s.add("tech", Role::Technician, HASH, 3).unwrap();
        assert_eq!(s.list().unwrap().len(), 2);
        s.set_password("tech", "$argon2id$other", 4).unwrap();
        assert_eq!(
            s.credentials("tech").unwrap(),
            Some((Role::Technician, "$argon2id$other".into()))
        );
        s.remove("tech").unwrap();
        assert!(matches!(s.remove("tech"), Err(AccountError::NoSuchUser(_))));
        assert_eq!(s.credentials("tech").unwrap(), None);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(t.path().join("private").join(REVIEW_DB))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "review.db is owner-only");
    }

    #[test]
    fn provisioned_users_file_is_merged_once_per_content() {
        let t = tempfile::tempdir().unwrap();
        let s = AccountStore::open(t.path()).unwrap();
        let hash = crate::review::auth::hash_password("a long password").unwrap();
        let f = t.path().join("review-users.toml");
        // The exact shape `motcua provision` writes.
        std::fs::write(
            &f,
            format!("# Review UI accounts.\n\n[[user]]\nusername = \"giamsat\"\nrole = \"supervisor\"\npassword_hash = \"{hash}\"\n"),
        )
        .unwrap();
        assert_eq!(s.merge_users_file(&f, 1).unwrap(), vec!["giamsat"]);
        assert_eq!(s.list().unwrap()[0].role, Role::Supervisor);
        // removed by the CLI: stays removed while the file is unchanged
        s.remove("giamsat").unwrap();
        assert!(s.merge_users_file(&f, 2).unwrap().is_empty());
        assert!(s.list().unwrap().is_empty());
        std::fs::write(
            &f,
            "[[user]]\nusername = \"x\"\nrole = \"boss\"\npassword_hash = \"h\"\n",
        )
        .unwrap();
        assert!(matches!(
            s.merge_users_file(&f, 3),
            Err(AccountError::UsersFile { .. })
        ));
    }
}
