//! Fetching a bundle into the data directory: `update/<sha256>.part`, resumed with `Range`
//! after a cut, then checked (size, then SHA-256 of the whole file) and renamed to
//! `update/<sha256>.raucb`. Nothing is handed to the installer before the checksum matches;
//! a bundle over `[update] max_bundle_bytes` or over the size the hub announced is refused
//! and its partial file deleted.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::sync::client::{Ranged, UpdateOffer};
use crate::sync::{HubClient, SyncError};

/// Why a bundle was not fetched.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("update {version}: the hub announces {announced} bytes, over [update] max_bundle_bytes = {max}; raise it only if the root filesystem really is that big")]
    OverLimit {
        version: String,
        announced: u64,
        max: u64,
    },
    #[error("update {version}: the bundle's SHA-256 is {got}, the hub announced {want}; the download was deleted and will start over")]
    Checksum {
        version: String,
        got: String,
        want: String,
    },
    #[error("update {version}: {source}")]
    Sync {
        version: String,
        #[source]
        source: SyncError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl DownloadError {
    /// True when retrying the same offer cannot help (the hub must publish something else).
    pub fn is_permanent(&self) -> bool {
        matches!(self, DownloadError::OverLimit { .. })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `dir/<sha256>.part` and `dir/<sha256>.raucb`.
pub fn paths(dir: &Path, offer: &UpdateOffer) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{}.part", offer.sha256)),
        dir.join(format!("{}.raucb", offer.sha256)),
    )
}

fn sha256_of(path: &Path) -> Result<String, DownloadError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::hub::store::hex(&h.finalize()))
}

/// Fetch `offer` into `dir` (resuming a `.part` left by an earlier try) and return the
/// checked bundle's path. `timeout` bounds one request; a cut keeps the bytes received.
pub async fn fetch(
    client: &HubClient,
    offer: &UpdateOffer,
    dir: &Path,
    max_bytes: u64,
    timeout: Duration,
) -> Result<PathBuf, DownloadError> {
    let (part, done) = paths(dir, offer);
    if offer.size > max_bytes {
        let _ = std::fs::remove_file(&part);
        return Err(DownloadError::OverLimit {
            version: offer.version.clone(),
            announced: offer.size,
            max: max_bytes,
        });
    }
    if done.exists() {
        return Ok(done);
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&part)
        .map_err(io(&part))?;
    let mut have = file.metadata().map_err(io(&part))?.len();
    if have > offer.size {
        file.set_len(0).map_err(io(&part))?;
        have = 0;
    }
    while have < offer.size {
        file.seek(SeekFrom::Start(have)).map_err(io(&part))?;
        let mut write_err = None;
        let result = client
            .fetch_bundle(offer, have, timeout, |chunk| {
                if let Err(e) = file.write_all(chunk) {
                    write_err = Some(e);
                    return Err(SyncError::Protocol("cannot write the download".into()));
                }
                Ok(())
            })
            .await;
        if let Some(e) = write_err {
            return Err(io(&part)(e));
        }
        match result {
            Ok(Ranged::Whole) if have > 0 => {
                tracing::warn!(
                    "update {}: the hub ignored the range; starting over",
                    offer.version
                );
                file.set_len(0).map_err(io(&part))?;
                have = 0;
                continue;
            }
            Ok(_) => {}
            Err(source) => {
                let _ = file.sync_data();
                if matches!(source, SyncError::TooLarge { .. }) {
                    drop(file);
                    let _ = std::fs::remove_file(&part);
                }
                return Err(DownloadError::Sync {
                    version: offer.version.clone(),
                    source,
                });
            }
        }
        file.sync_all().map_err(io(&part))?;
        break;
    }
    let len = std::fs::metadata(&part).map_err(io(&part))?.len();
    if len != offer.size {
        return Err(DownloadError::Sync {
            version: offer.version.clone(),
            source: SyncError::Truncated {
                got: len,
                detail: format!("{} of {} bytes so far", len, offer.size),
            },
        });
    }
    let got = sha256_of(&part)?;
    if got != offer.sha256 {
        let _ = std::fs::remove_file(&part);
        return Err(DownloadError::Checksum {
            version: offer.version.clone(),
            got,
            want: offer.sha256.clone(),
        });
    }
    std::fs::rename(&part, &done).map_err(io(&done))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(done)
}
