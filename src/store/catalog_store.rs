//! The catalog tables of `catalog.db`: replacing the whole catalog in one transaction, and
//! reading it back.
//!
//! A [`CatalogStore`] opened read-write is the process's single writer of the catalog. It only
//! ever receives bundles that passed `catalog::parse_bundle`; a failure at any point rolls the
//! transaction back, so readers see either the previous catalog or the new one, never a mix.

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{migrate, open_connection, Access, StoreError};
use crate::catalog::{CatalogBundle, Counter, Field, Localized, Official, Procedure, Statistics};

/// What is installed, without loading the procedures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogInfo {
    pub version: u64,
    pub issued_at: String,
    pub expires_at: Option<String>,
    /// When this device applied it (UTC, RFC 3339).
    pub applied_at: String,
    /// Where it came from: a file path or a server URL.
    pub source: String,
    /// SHA-256 of the canonical JSON of the applied bundle.
    pub sha256: String,
    pub procedures: u64,
    pub fields: u64,
    pub counters: u64,
    pub officials: u64,
}

pub struct CatalogStore {
    conn: Connection,
    path: PathBuf,
}

/// The kiosk runs as another user and reads `catalog.db` (nothing secret in it): make the
/// database and its WAL files world-readable even under the daemon's `UMask=0027`. SQLite gives
/// `-wal` and `-shm` the database file's mode when it creates them. Not the owner: left alone.
fn world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(meta) = std::fs::metadata(&p) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o044 != 0o044 {
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode | 0o044));
            }
        }
    }
}

impl CatalogStore {
    /// Open (creating and migrating if needed) for writing.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = open_connection(path, Access::ReadWrite)?;
        migrate::migrate(&mut conn, path)?;
        world_readable(path);
        Ok(CatalogStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// Open for reading only; the database must exist and be at a known version.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path, Access::ReadOnly)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > migrate::LATEST_VERSION {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found: version,
                latest: migrate::LATEST_VERSION,
            });
        }
        Ok(CatalogStore {
            conn,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The installed catalog's summary, or None if nothing was ever applied.
    pub fn info(&self) -> Result<Option<CatalogInfo>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT version, issued_at, expires_at, applied_at, source, sha256,
                        (SELECT count(*) FROM procedures), (SELECT count(*) FROM fields),
                        (SELECT count(*) FROM counters), (SELECT count(*) FROM officials)
                 FROM catalog_info WHERE id = 1",
                [],
                |r| {
                    Ok(CatalogInfo {
                        version: r.get::<_, i64>(0)? as u64,
                        issued_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        applied_at: r.get(3)?,
                        source: r.get(4)?,
                        sha256: r.get(5)?,
                        procedures: r.get::<_, i64>(6)? as u64,
                        fields: r.get::<_, i64>(7)? as u64,
                        counters: r.get::<_, i64>(8)? as u64,
                        officials: r.get::<_, i64>(9)? as u64,
                    })
                },
            )
            .optional()?;
        Ok(row)
    }

    /// Replace the whole catalog with `bundle` in one transaction.
    ///
    /// Refuses a version lower than the installed one unless `allow_older`.
    pub fn apply(
        &mut self,
        bundle: &CatalogBundle,
        source: &str,
        allow_older: bool,
    ) -> Result<CatalogInfo, StoreError> {
        let canonical =
            serde_json::to_vec(bundle).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sha256 = hex(&Sha256::digest(&canonical));
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let installed: Option<i64> = tx
            .query_row("SELECT version FROM catalog_info WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(installed) = installed {
            if (bundle.version as i64) < installed && !allow_older {
                return Err(StoreError::Rollback {
                    installed: installed as u64,
                    new: bundle.version,
                });
            }
        }
        tx.execute_batch(
            "DELETE FROM officials; DELETE FROM counter_fields; DELETE FROM counters;
             DELETE FROM procedures; DELETE FROM fields; DELETE FROM statistics;
             DELETE FROM catalog_search; DELETE FROM catalog_info;",
        )?;
        {
            let mut ins = tx.prepare(
                "INSERT INTO fields (code, position, name_vi, name_en) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (i, f) in bundle.fields.iter().enumerate() {
                ins.execute(params![f.code, i as i64, f.name.vi, f.name.en])?;
            }
            let mut ins = tx.prepare(
                "INSERT INTO procedures (code, position, field, name_vi, name_en, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (i, p) in bundle.procedures.iter().enumerate() {
                let detail =
                    serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                ins.execute(params![
                    p.code, i as i64, p.field, p.name.vi, p.name.en, detail
                ])?;
            }
            let mut ins =
                tx.prepare("INSERT INTO counters (number, name_vi, name_en) VALUES (?1, ?2, ?3)")?;
            let mut ins_field = tx.prepare(
                "INSERT INTO counter_fields (counter, field, position) VALUES (?1, ?2, ?3)",
            )?;
            for c in &bundle.counters {
                ins.execute(params![c.number, c.name.vi, c.name.en])?;
                for (i, f) in c.fields.iter().enumerate() {
                    ins_field.execute(params![c.number, f, i as i64])?;
                }
            }
            let mut ins = tx.prepare(
                "INSERT INTO officials (id, position, name, title_vi, title_en, counter, fields)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (i, o) in bundle.officials.iter().enumerate() {
                let fields = serde_json::to_string(&o.fields)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                ins.execute(params![
                    o.id, i as i64, o.name, o.title.vi, o.title.en, o.counter, fields
                ])?;
            }
        }
        if let Some(s) = &bundle.statistics {
            tx.execute(
                "INSERT INTO statistics (id, period_from, period_to, received, resolved_ahead,
                     resolved_on_time, resolved_overdue, in_progress)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    s.period_from,
                    s.period_to,
                    s.received as i64,
                    s.resolved_ahead as i64,
                    s.resolved_on_time as i64,
                    s.resolved_overdue as i64,
                    s.in_progress as i64
                ],
            )?;
        }
        if bundle.lexicon.is_some() || !bundle.referrals.is_empty() {
            let lexicon = bundle
                .lexicon
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let referrals = serde_json::to_string(&bundle.referrals)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute(
                "INSERT INTO catalog_search (id, lexicon, referrals) VALUES (1, ?1, ?2)",
                params![lexicon, referrals],
            )?;
        }
        let center = serde_json::to_string(&bundle.center)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.execute(
            "INSERT INTO catalog_info (id, version, schema, issued_at, expires_at, center,
                 applied_at, source, sha256)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                bundle.version as i64,
                bundle.schema,
                bundle.issued_at,
                bundle.expires_at,
                center,
                Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
                source,
                sha256
            ],
        )?;
        tx.commit()?;
        self.info()?
            .ok_or_else(|| StoreError::Corrupt("catalog_info missing right after commit".into()))
    }

    /// Read the whole installed catalog back, or None if nothing was applied.
    pub fn load(&self) -> Result<Option<CatalogBundle>, StoreError> {
        // One read transaction so a concurrent apply cannot give us half of each.
        let tx = self.conn.unchecked_transaction()?;
        let head = tx
            .query_row(
                "SELECT version, schema, issued_at, expires_at, center FROM catalog_info WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((version, schema, issued_at, expires_at, center)) = head else {
            return Ok(None);
        };
        let corrupt =
            |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("{what}: {e}"));
        let center = serde_json::from_str(&center).map_err(|e| corrupt("center", e))?;
        let fields = tx
            .prepare("SELECT code, name_vi, name_en FROM fields ORDER BY position")?
            .query_map([], |r| {
                Ok(Field {
                    code: r.get(0)?,
                    name: Localized {
                        vi: r.get(1)?,
                        en: r.get(2)?,
                    },
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut procedures = Vec::new();
        let mut stmt = tx.prepare("SELECT code, detail FROM procedures ORDER BY position")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let code: String = r.get(0)?;
            let detail: String = r.get(1)?;
            let p: Procedure = serde_json::from_str(&detail)
                .map_err(|e| corrupt(&format!("procedure {code}"), e))?;
            procedures.push(p);
        }
        drop(rows);
        drop(stmt);
        let mut counters = tx
            .prepare("SELECT number, name_vi, name_en FROM counters ORDER BY number")?
            .query_map([], |r| {
                Ok(Counter {
                    number: r.get(0)?,
                    name: Localized {
                        vi: r.get(1)?,
                        en: r.get(2)?,
                    },
                    fields: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        {
            let mut stmt = tx
                .prepare("SELECT field FROM counter_fields WHERE counter = ?1 ORDER BY position")?;
            for c in &mut counters {
                c.fields = stmt
                    .query_map([c.number], |r| r.get(0))?
                    .collect::<Result<Vec<String>, _>>()?;
            }
        }
        let officials = tx
            .prepare("SELECT id, name, title_vi, title_en, counter, fields FROM officials ORDER BY position")?
            .query_map([], |r| {
                Ok((
                    Official {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        title: Localized { vi: r.get(2)?, en: r.get(3)? },
                        counter: r.get(4)?,
                        fields: Vec::new(),
                    },
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(mut o, fields)| {
                o.fields = serde_json::from_str(&fields).map_err(|e| corrupt("official fields", e))?;
                Ok(o)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let statistics = tx
            .query_row(
                "SELECT period_from, period_to, received, resolved_ahead, resolved_on_time,
                        resolved_overdue, in_progress FROM statistics WHERE id = 1",
                [],
                |r| {
                    Ok(Statistics {
                        period_from: r.get(0)?,
                        period_to: r.get(1)?,
                        received: r.get::<_, i64>(2)? as u64,
                        resolved_ahead: r.get::<_, i64>(3)? as u64,
                        resolved_on_time: r.get::<_, i64>(4)? as u64,
                        resolved_overdue: r.get::<_, i64>(5)? as u64,
                        in_progress: r.get::<_, i64>(6)? as u64,
                    })
                },
            )
            .optional()?;
        let search: Option<(Option<String>, String)> = tx
            .query_row(
                "SELECT lexicon, referrals FROM catalog_search WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (lexicon, referrals) = match search {
            None => (None, Vec::new()),
            Some((lexicon, referrals)) => (
                lexicon
                    .map(|l| serde_json::from_str(&l))
                    .transpose()
                    .map_err(|e| corrupt("search lexicon", e))?,
                serde_json::from_str(&referrals).map_err(|e| corrupt("search referrals", e))?,
            ),
        };
        Ok(Some(CatalogBundle {
            schema: schema as u32,
            version: version as u64,
            issued_at,
            expires_at,
            center,
            fields,
            procedures,
            counters,
            officials,
            statistics,
            lexicon,
            referrals,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_search_parts_of_a_bundle_survive_apply_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = CatalogStore::open(&dir.path().join("catalog.db")).unwrap();
        let mut bundle = crate::catalog::demo_bundle();
        store.apply(&bundle, "test", false).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!((loaded.lexicon, loaded.referrals.len()), (None, 0));
        bundle.version += 1;
        bundle.lexicon = Some(
            toml::from_str(
                r#"terms = [{ say = ["giấy chào đời"], means = ["đăng ký khai sinh"], kind = "colloquial", reason = "test" }]
popularity = { "1.001193" = 812 }"#,
            )
            .unwrap(),
        );
        bundle.referrals = crate::catalog::lexicon::default_referrals()[..1].to_vec();
        store.apply(&bundle, "test", false).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(loaded.lexicon, bundle.lexicon);
        assert_eq!(loaded.referrals, bundle.referrals);
        // A later bundle without them clears them.
        bundle.version += 1;
        bundle.lexicon = None;
        bundle.referrals.clear();
        store.apply(&bundle, "test", false).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!((loaded.lexicon, loaded.referrals.len()), (None, 0));
    }

    #[test]
    fn the_daemon_leaves_the_catalog_readable_by_the_kiosk() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("catalog.db");
        drop(CatalogStore::open(&db).unwrap());
        // As if created under the daemon's UMask=0027.
        for suffix in ["", "-wal", "-shm"] {
            let p = dir.path().join(format!("catalog.db{suffix}"));
            if p.exists() {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
            }
        }
        let store = CatalogStore::open(&db).unwrap();
        assert!(
            store.info().unwrap().is_none(),
            "still a valid, empty store"
        );
        for suffix in ["", "-wal", "-shm"] {
            let p = dir.path().join(format!("catalog.db{suffix}"));
            if let Ok(m) = std::fs::metadata(&p) {
                assert_eq!(m.permissions().mode() & 0o777, 0o644, "{}", p.display());
            }
        }
    }
}
