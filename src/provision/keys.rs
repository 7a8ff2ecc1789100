//! Device identity created at first boot: the device's ed25519 keypair, the review UI's
//! self-signed TLS certificate (ECDSA P-256, usable by rustls and every browser) with its
//! SHA-256 fingerprint, and the supervisor's Argon2id password hash.

use base64::Engine;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ED25519};
use sha2::{Digest, Sha256};

/// Key or certificate work that failed.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct KeyError {
    pub what: &'static str,
    pub message: String,
}

fn key_err(what: &'static str) -> impl Fn(rcgen::Error) -> KeyError {
    move |e| KeyError {
        what,
        message: e.to_string(),
    }
}

/// The device keypair: the existing PEM if given (kept across re-provisioning), else a new one.
/// Returns (private key PEM, public key base64 — the form `[sync] public_keys` uses).
pub fn device_key(existing_pem: Option<&str>) -> Result<(String, String), KeyError> {
    let key = match existing_pem {
        Some(pem) => KeyPair::from_pem(pem).map_err(key_err("reading the device key"))?,
        None => KeyPair::generate_for(&PKCS_ED25519).map_err(key_err("creating the device key"))?,
    };
    let public = base64::engine::general_purpose::STANDARD.encode(key.public_key_raw());
    Ok((key.serialize_pem(), public))
}

/// A TLS key (existing PEM or a new P-256 one) and a self-signed certificate for the review
/// UI, valid 2024–2049 (a Pi without a clock battery may boot with an old date).
/// Returns (key PEM, certificate PEM, certificate DER).
pub fn tls_certificate(
    existing_key_pem: Option<&str>,
    hostname: &str,
    device_name: &str,
    center_name: &str,
) -> Result<(String, String, Vec<u8>), KeyError> {
    let key = match existing_key_pem {
        Some(pem) => KeyPair::from_pem(pem).map_err(key_err("reading the TLS key"))?,
        None => KeyPair::generate().map_err(key_err("creating the TLS key"))?,
    };
    let names = vec![hostname.to_owned(), format!("{hostname}.local")];
    let mut params = CertificateParams::new(names).map_err(key_err("certificate names"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, device_name);
    dn.push(DnType::OrganizationName, center_name);
    params.distinguished_name = dn;
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    let cert = params
        .self_signed(&key)
        .map_err(key_err("signing the certificate"))?;
    Ok((key.serialize_pem(), cert.pem(), cert.der().to_vec()))
}

/// SHA-256 of a certificate's DER as colon-separated upper-case hex (what browsers show).
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The DER of the first certificate in a PEM file.
pub fn pem_cert_der(text: &str) -> Option<Vec<u8>> {
    pem::parse_many(text)
        .ok()?
        .into_iter()
        .find(|p| p.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
}

/// Argon2id hash in PHC string form (`$argon2id$v=19$…`).
pub fn hash_password(password: &str) -> Result<String, KeyError> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut raw = [0u8; 16];
    getrandom::fill(&mut raw).map_err(|e| KeyError {
        what: "reading the random source",
        message: e.to_string(),
    })?;
    let salt = SaltString::encode_b64(&raw).map_err(|e| KeyError {
        what: "encoding the salt",
        message: e.to_string(),
    })?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| KeyError {
            what: "hashing a password or PIN",
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_key_is_kept_when_given() {
        let (pem, public) = device_key(None).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&public)
                .unwrap()
                .len(),
            32
        );
        let (pem2, public2) = device_key(Some(&pem)).unwrap();
        assert_eq!((pem2, public2), (pem, public));
    }

    #[test]
    fn certificate_fingerprint_matches_pem() {
        let (key, cert, der) = tls_certificate(None, "quay-1", "Quầy 1", "Xã A").unwrap();
        assert!(key.contains("PRIVATE KEY"));
        assert_eq!(pem_cert_der(&cert).unwrap(), der);
        let fp = fingerprint(&der);
        assert_eq!(fp.len(), 32 * 3 - 1);
        // Same key → same public key in a re-issued certificate.
        let (key2, _, _) = tls_certificate(Some(&key), "quay-1", "Quầy 1", "Xã A").unwrap();
        assert_eq!(key2, key);
    }

    #[test]
    fn password_hash_verifies() {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(argon2::Argon2::default()
            .verify_password(b"correct horse battery", &parsed)
            .is_ok());
        assert!(argon2::Argon2::default()
            .verify_password(b"wrong", &parsed)
            .is_err());
    }
}
