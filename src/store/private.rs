//! Where the device's private databases live (`footage.db`, `review.db`): in
//! `<data_dir>/private/`, a 0700 directory, each file and its `-wal`/`-shm` 0600. Two layers
//! keep them from the kiosk (another user, which reads `catalog.db` in the data directory):
//! the kiosk unit masks the whole `private/` directory (a mask on a file path does not cover a
//! file recreated after a restart; a directory mask does), and file modes do the rest even
//! without the unit (SQLite gives `-wal` and `-shm` the main file's mode, so the main file is
//! created 0600 before SQLite opens it).
//!
//! Upgrade: older versions kept these files in the data directory itself. The writer that
//! opens one first ([`prepare`]) moves them in: the `-wal` first (it may hold committed
//! transactions), then the main file, each by `rename` on the same filesystem, the directory
//! synced after each step. A cut in between leaves the rest to move at the next start; a main
//! file found in both places is an error naming both, never a guess.

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The private directory's name inside the data directory.
pub const PRIVATE_DIR: &str = "private";

/// Where `name` lives now, for a reader that must not move or create anything: the private
/// path, or the legacy path in the data directory if only that exists (not yet upgraded).
/// An upgrade cut between its two moves (`private/<name>-wal` moved, the main file not yet)
/// is an error: the legacy main file without its WAL lacks committed transactions, and a
/// reader opening it could even write to it. The writer's next start finishes the move.
pub fn locate(data_dir: &Path, name: &str) -> io::Result<PathBuf> {
    let new = data_dir.join(PRIVATE_DIR).join(name);
    let old = data_dir.join(name);
    let new_wal = data_dir.join(PRIVATE_DIR).join(format!("{name}-wal"));
    if !new.exists() && new_wal.exists() && old.exists() {
        return Err(io::Error::other(format!(
            "{} is half moved into {} (its -wal is there, the database not yet); start the \
             daemon once to finish the move, then try again",
            old.display(),
            new.display()
        )));
    }
    Ok(if !new.exists() && old.exists() {
        old
    } else {
        new
    })
}

/// For the writer: make `<data_dir>/private/` (0700), move a legacy `name` (and its `-wal`,
/// `-shm`) in, create the main file 0600 if missing, tighten the modes of what exists, and
/// return the path to open.
pub fn prepare(data_dir: &Path, name: &str) -> io::Result<PathBuf> {
    let dir = data_dir.join(PRIVATE_DIR);
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    restrict(&dir, 0o700)?;
    adopt_legacy(data_dir, &dir, name)?;
    let path = dir.join(name);
    if !path.exists() {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.join(format!("{name}{suffix}"));
        if p.exists() {
            restrict(&p, 0o600)?;
        }
    }
    Ok(path)
}

/// Set `mode` if the file is ours and its mode is wider (another owner's file is left alone:
/// root-run commands must not change what the daemon's user owns, and cannot matter here).
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if m.uid() == me && m.mode() & 0o777 & !mode != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn adopt_legacy(data_dir: &Path, dir: &Path, name: &str) -> io::Result<()> {
    let old = data_dir.join(name);
    let new = dir.join(name);
    let old_wal = data_dir.join(format!("{name}-wal"));
    if old.exists() && new.exists() {
        return Err(io::Error::other(format!(
            "both {} and {} exist; keep the right one (the newer motcua uses the second) and \
             move the other away",
            old.display(),
            new.display()
        )));
    }
    if !old.exists() && !old_wal.exists() {
        return Ok(());
    }
    // the WAL first: a main file moved without its WAL would lose committed transactions
    let new_wal = dir.join(format!("{name}-wal"));
    if old_wal.exists() {
        if new_wal.exists() {
            return Err(io::Error::other(format!(
                "both {} and {} exist; move the one that does not belong away",
                old_wal.display(),
                new_wal.display()
            )));
        }
        fs::rename(&old_wal, &new_wal)?;
        crate::provision::fsutil::sync_dir(dir)?;
        crate::provision::fsutil::sync_dir(data_dir)?;
    }
    if old.exists() {
        fs::rename(&old, &new)?;
        crate::provision::fsutil::sync_dir(dir)?;
        crate::provision::fsutil::sync_dir(data_dir)?;
    }
    // the shared-memory index is rebuilt from the WAL; a stale one is only removed
    let _ = fs::remove_file(data_dir.join(format!("{name}-shm")));
    tracing::info!(
        from = %old.display(),
        to = %new.display(),
        "moved a private database into the private directory"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_fresh_database_is_made_private_before_sqlite_opens_it() {
        let t = tempfile::tempdir().unwrap();
        let p = prepare(t.path(), "x.db").unwrap();
        assert_eq!(p, t.path().join("private/x.db"));
        assert_eq!(mode(&t.path().join("private")), 0o700);
        assert_eq!(mode(&p), 0o600);
        assert_eq!(locate(t.path(), "x.db").unwrap(), p);
    }

    #[test]
    fn a_legacy_database_moves_in_wal_first_and_a_cut_move_finishes_next_time() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("x.db"), b"main").unwrap();
        fs::write(t.path().join("x.db-wal"), b"wal").unwrap();
        fs::write(t.path().join("x.db-shm"), b"shm").unwrap();
        assert_eq!(locate(t.path(), "x.db").unwrap(), t.path().join("x.db"));
        // a power cut after the WAL moved: the main file is still at the old place
        fs::create_dir(t.path().join("private")).unwrap();
        fs::rename(t.path().join("x.db-wal"), t.path().join("private/x.db-wal")).unwrap();
        // a reader must not open the main file without its WAL (review finding): refused
        let e = locate(t.path(), "x.db").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} is half moved into {} (its -wal is there, the database not yet); start the \
                 daemon once to finish the move, then try again",
                t.path().join("x.db").display(),
                t.path().join("private/x.db").display()
            )
        );
        let p = prepare(t.path(), "x.db").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"main");
        assert_eq!(fs::read(t.path().join("private/x.db-wal")).unwrap(), b"wal");
        for gone in ["x.db", "x.db-wal", "x.db-shm"] {
            assert!(!t.path().join(gone).exists(), "{gone} left behind");
        }
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&t.path().join("private/x.db-wal")), 0o600);
        // both places: an error naming both, nothing moved
        fs::write(t.path().join("x.db"), b"other").unwrap();
        let e = prepare(t.path(), "x.db").unwrap_err().to_string();
        assert!(
            e.starts_with("both ") && e.contains("private/x.db exist"),
            "{e}"
        );
        assert_eq!(fs::read(t.path().join("x.db")).unwrap(), b"other");
    }
}
