//! Where the review UI listens and how: the provisioned certificate and key loaded into a
//! rustls server config (ring), its SHA-256 fingerprint, and the rule that plain HTTP is only
//! allowed on a loopback address.
//!
//! Reads the PEM files; never creates or rewrites a certificate (`motcua provision` does).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::config::ReviewConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "refusing to serve the review UI on {0} without TLS: set review.tls_cert and \
         review.tls_key (made by `motcua provision`), or listen on a loopback address such as \
         127.0.0.1:8080 for development"
    )]
    PlainOnLan(SocketAddr),
    #[error("cannot read the certificate {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("cannot read the private key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
    #[error("no certificate is configured (review.tls_cert)")]
    NoCertificate,
}

/// A resolved listening point: address plus TLS (or plain on loopback).
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Endpoint {
    /// TLS when a certificate is configured; plain only if `listen` is loopback.
    pub fn from_config(c: &ReviewConfig) -> Result<Endpoint, TlsError> {
        Endpoint::new(c.listen, c.tls_cert.as_deref().zip(c.tls_key.as_deref()))
    }

    pub fn new(addr: SocketAddr, tls: Option<(&Path, &Path)>) -> Result<Endpoint, TlsError> {
        match tls {
            Some((cert, key)) => Ok(Endpoint {
                addr,
                tls: Some(Arc::new(server_config(cert, key)?)),
            }),
            None if addr.ip().is_loopback() => Ok(Endpoint { addr, tls: None }),
            None => Err(TlsError::PlainOnLan(addr)),
        }
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |message: String| TlsError::Cert {
        path: path.to_owned(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no CERTIFICATE block in the file".into()));
    }
    Ok(certs)
}

/// A rustls server config (ring provider, TLS 1.2 and 1.3, HTTP/1.1) from PEM files.
pub fn server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsError> {
    let chain = certs(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_owned(),
        message: e.to_string(),
    })?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TlsError::Config(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key_der)
    .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// SHA-256 of a DER certificate as colon-separated upper-case hex: the one format that
/// `motcua provision`, `motcua review fingerprint` and `doctor` all print.
pub use crate::provision::keys::fingerprint;

/// Fingerprint of the first certificate in a PEM file (`motcua review fingerprint`, `doctor`).
pub fn fingerprint_of_file(cert: &Path) -> Result<String, TlsError> {
    Ok(fingerprint(&certs(cert)?[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_only_on_loopback() {
        assert!(Endpoint::new("127.0.0.1:0".parse().unwrap(), None).is_ok());
        assert!(Endpoint::new("[::1]:0".parse().unwrap(), None).is_ok());
        let e = Endpoint::new("0.0.0.0:8443".parse().unwrap(), None)
            .err()
            .unwrap();
        assert!(matches!(e, TlsError::PlainOnLan(_)));
        assert!(e.to_string().contains("review.tls_cert"), "{e}");
    }

    #[test]
    fn loads_a_provisioning_style_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["motcua.local".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let t = tempfile::tempdir().unwrap();
        let (c, k) = (t.path().join("c.pem"), t.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let ep = Endpoint::new("0.0.0.0:0".parse().unwrap(), Some((&c, &k))).unwrap();
        assert_eq!(ep.scheme(), "https");
        let fp = fingerprint_of_file(&c).unwrap();
        assert_eq!(fp, fingerprint(cert.der()));
        assert_eq!(fp.len(), 32 * 3 - 1);
        std::fs::write(&k, "junk").unwrap();
        assert!(matches!(server_config(&c, &k), Err(TlsError::Key { .. })));
    }
}
