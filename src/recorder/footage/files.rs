//! The footage directory on disk: content-addressed paths, the durable write sequence
//! (temp → fsync → rename → fsync dir), unlinking, the writer lock, and free space.
//!
//! Knows nothing about rows or the chain; never decides *whether* a file should exist.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::recorder::chain::is_sha256_hex;

/// Sub-directory for files being written; everything in it is garbage after a crash.
pub const TMP_DIR: &str = "tmp";
/// Sub-directory for files the store could not account for (never deleted by motcua).
pub const QUARANTINE_DIR: &str = "quarantine";
/// Lock file held by the one writer process.
pub const LOCK_FILE: &str = ".writer.lock";

/// The layout of `<data_dir>/footage/`.
#[derive(Debug, Clone)]
pub struct FootageDir {
    root: PathBuf,
}

static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

impl FootageDir {
    pub fn new(root: PathBuf) -> FootageDir {
        FootageDir { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Create `tmp/` and the 256 fan-out directories `00`..`ff`, and make them durable.
    pub fn create(&self) -> io::Result<()> {
        fs::create_dir_all(self.root.join(TMP_DIR))?;
        let mut made = false;
        for i in 0..=255u8 {
            let d = self.root.join(format!("{i:02x}"));
            if !d.is_dir() {
                fs::create_dir(&d)?;
                made = true;
            }
        }
        if made {
            sync_dir(&self.root)?;
        }
        Ok(())
    }

    /// Where the file with this content hash lives: `<root>/<ab>/<sha256>.jpg`.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        debug_assert!(is_sha256_hex(sha256));
        self.root.join(&sha256[..2]).join(format!("{sha256}.jpg"))
    }

    /// Write `data` durably under its content name. If the file already exists (same content
    /// captured twice) nothing is written. Returns the final path.
    pub fn write_durable(&self, sha256: &str, data: &[u8]) -> io::Result<PathBuf> {
        let dest = self.write_file(sha256, data)?;
        sync_dir(dest.parent().unwrap_or(&self.root))?;
        Ok(dest)
    }

    /// The first steps of the durable write: temp file, fsync, rename to the content name
    /// (skipped if that name exists: its content was fsynced before it was renamed). The
    /// *name* is not durable until the caller fsyncs `dest.parent()` — group commit does that
    /// once per directory for a whole batch. Returns the final path.
    pub fn write_file(&self, sha256: &str, data: &[u8]) -> io::Result<PathBuf> {
        let dest = self.path_of(sha256);
        if dest.exists() {
            return Ok(dest);
        }
        let tmp = self.root.join(TMP_DIR).join(format!(
            "{sha256}.{}.{}.part",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        // fdatasync: the data and the metadata needed to read it back (size, blocks) — all a
        // new file needs; its timestamps may lag.
        let written = f.write_all(data).and_then(|_| f.sync_data());
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        drop(f);
        fs::rename(&tmp, &dest)?;
        Ok(dest)
    }

    /// [`write_file`](Self::write_file), saying whether the file was created (false: a file
    /// with these bytes was already there).
    pub fn write_new(&self, sha256: &str, data: &[u8]) -> io::Result<bool> {
        if self.path_of(sha256).exists() {
            return Ok(false);
        }
        self.write_file(sha256, data).map(|_| true)
    }

    /// Move a file the store cannot account for into `quarantine/`, named
    /// `<now_ms>.<why>.<original name>`, and make both directories durable. Never deletes.
    pub fn quarantine(&self, path: &Path, why: &str, now_ms: i64) -> io::Result<PathBuf> {
        let q = self.root.join(QUARANTINE_DIR);
        fs::create_dir_all(&q)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "unnamed".into());
        let dest = q.join(format!("{now_ms}.{why}.{name}"));
        fs::rename(path, &dest)?;
        sync_dir(&q)?;
        if let Some(p) = path.parent() {
            sync_dir(p)?;
        }
        Ok(dest)
    }

    /// Files in `quarantine/`, sorted.
    pub fn quarantined(&self) -> io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        match fs::read_dir(self.root.join(QUARANTINE_DIR)) {
            Ok(rd) => {
                for e in rd {
                    out.push(e?.path());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        out.sort();
        Ok(out)
    }

    /// Remove a content file if present and make the removal durable.
    pub fn remove(&self, sha256: &str) -> io::Result<bool> {
        let p = self.path_of(sha256);
        match fs::remove_file(&p) {
            Ok(()) => {
                sync_dir(p.parent().unwrap_or(&self.root))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Empty `tmp/`. Returns how many files were removed.
    pub fn clear_tmp(&self) -> io::Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(self.root.join(TMP_DIR))? {
            let e = e?;
            if e.file_type()?.is_file() {
                fs::remove_file(e.path())?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Every entry of the fan-out directories: content files by hash, and anything else.
    pub fn scan(&self) -> io::Result<Scan> {
        let mut scan = Scan::default();
        for i in 0..=255u8 {
            let d = self.root.join(format!("{i:02x}"));
            let rd = match fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for e in rd {
                let e = e?;
                let name = e.file_name().to_string_lossy().into_owned();
                match name.strip_suffix(".jpg") {
                    Some(sha) if is_sha256_hex(sha) && sha[..2] == d_name(i) => {
                        scan.content.push(sha.to_owned())
                    }
                    _ => scan.unexpected.push(e.path()),
                }
            }
        }
        scan.content.sort();
        Ok(scan)
    }

    /// Take the writer lock (non-blocking). Held until the returned file is dropped.
    pub fn lock_writer(&self) -> io::Result<Option<File>> {
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.root.join(LOCK_FILE))?;
        // SAFETY: flock on a valid, owned file descriptor.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            Ok(Some(f))
        } else {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

fn d_name(i: u8) -> String {
    format!("{i:02x}")
}

/// What a directory scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Hashes of well-named content files, sorted.
    pub content: Vec<String>,
    /// Paths that are not `<ab>/<sha256>.jpg`.
    pub unexpected: Vec<PathBuf>,
}

/// fsync a directory so a rename or unlink in it survives a power cut.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Free bytes for an unprivileged writer on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: statvfs writes into a zeroed struct we own; the path is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::chain::sha256_hex;

    #[test]
    fn durable_write_scan_remove_and_lock() {
        let t = tempfile::tempdir().unwrap();
        let d = FootageDir::new(t.path().join("footage"));
        d.create().unwrap();
        let sha = sha256_hex(b"jpeg");
        let p = d.write_durable(&sha, b"jpeg").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"jpeg");
        assert_eq!(d.write_durable(&sha, b"jpeg").unwrap(), p);
        fs::write(d.root().join("ab").join("notes.txt"), "x").unwrap();
        fs::write(d.root().join(TMP_DIR).join("x.part"), "x").unwrap();
        let scan = d.scan().unwrap();
        assert_eq!(scan.content, vec![sha.clone()]);
        assert_eq!(scan.unexpected, vec![d.root().join("ab/notes.txt")]);
        assert_eq!(d.clear_tmp().unwrap(), 1);
        assert!(d.remove(&sha).unwrap());
        assert!(!d.remove(&sha).unwrap());
        let held = d.lock_writer().unwrap();
        assert!(held.is_some());
        // flock is per open file description: a second open in this process is refused too
        assert!(d.lock_writer().unwrap().is_none());
        drop(held);
        assert!(d.lock_writer().unwrap().is_some());
        assert!(free_bytes(t.path()).unwrap() > 0);
    }
}
