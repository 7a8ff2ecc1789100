//! The hub's catalog signing key on disk: `signing.key` (base64 secret seed, mode 0600) and
//! `signing.pub` (base64 public key, the line appliances pin). Never prints the secret.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;

use super::HubError;
use crate::sync::envelope::{generate_signing_key, signing_key_from_text, signing_key_to_text};
use crate::sync::PinnedKey;

pub const SECRET_FILE: &str = "signing.key";
pub const PUBLIC_FILE: &str = "signing.pub";

/// Create a new key pair in `dir`; refuses to overwrite an existing secret key.
pub fn keygen(dir: &Path) -> Result<PinnedKey, HubError> {
    std::fs::create_dir_all(dir).map_err(|e| HubError::io(dir, e))?;
    let secret = dir.join(SECRET_FILE);
    if secret.exists() {
        return Err(HubError::Refused(format!(
            "{} already exists; move it away first if you really want a new key (appliances pin the old one)",
            secret.display()
        )));
    }
    let key = generate_signing_key();
    write_private(&secret, signing_key_to_text(&key).as_bytes())?;
    let public = public_of(&key);
    let pub_path = dir.join(PUBLIC_FILE);
    std::fs::write(&pub_path, format!("{}\n", public.to_base64()))
        .map_err(|e| HubError::io(&pub_path, e))?;
    Ok(public)
}

pub fn public_of(key: &SigningKey) -> PinnedKey {
    PinnedKey {
        id: crate::sync::envelope::key_id(&key.verifying_key()),
        key: key.verifying_key(),
    }
}

pub fn secret_path(dir: &Path) -> PathBuf {
    dir.join(SECRET_FILE)
}

pub fn load_signing_key(dir: &Path) -> Result<SigningKey, HubError> {
    let path = secret_path(dir);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        HubError::Refused(format!(
            "cannot read the signing key {} ({e}); create one with `motcua hub keygen --data {}`",
            path.display(),
            dir.display()
        ))
    })?;
    signing_key_from_text(&text)
        .map_err(|e| HubError::Refused(format!("{} is not a signing key: {e}", path.display())))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), HubError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| HubError::io(path, e))?;
    f.write_all(bytes).map_err(|e| HubError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_writes_a_private_secret_and_refuses_to_overwrite() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let public = keygen(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(SECRET_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let key = load_signing_key(dir.path()).unwrap();
        assert_eq!(public_of(&key), public);
        let err = keygen(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("already exists; move it away first if you really want a new key (appliances pin the old one)"), "{err}");
    }
}
