//! `HubClient`: the appliance's one HTTP client for the central server (protocol v1, see
//! `docs/sync.md`). One `reqwest::Client` with connect and request timeouts, rustls only; the
//! server's certificate is checked against the web PKI, or only against the CA in
//! `[sync] ca_file` when one is configured (docs/hub.md, "How devices trust the hub").
//!
//! Every body is read in chunks against a byte limit, so a hostile or broken server can never
//! make the appliance buffer more than the limit plus one chunk; the catalog is asked for
//! gzip-compressed and inflated as it arrives under the same limit (`body.rs`), so a
//! compression bomb stops there too. Status codes go through `error::classify_status`. This
//! file decodes answers but never decides what to store.

use std::time::Duration;

use reqwest::header::{
    HeaderMap, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};
use serde::{Deserialize, Serialize};

use super::body::{BodyReader, Coding};
use super::error::{classify_status, StatusClass, SyncError};
use crate::queue::QueueEvent;
use crate::record::{RecordId, RecordStatus};

#[path = "update_calls.rs"]
mod update_calls;
pub use update_calls::{Ranged, UpdateOffer};

/// Largest queue batch or small JSON answer read, in bytes.
pub const MAX_SMALL_BODY: u64 = 1024 * 1024;
/// Most events the server sends in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 500;

/// Timeouts and limits of the client.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub connect_timeout: Duration,
    /// Whole-request limit for ordinary requests (the catalog download included).
    pub request_timeout: Duration,
    /// How long the server may hold a queue long-poll.
    pub queue_wait: Duration,
    /// Largest catalog envelope read, in bytes (derived from `catalog.max_bundle_bytes`); it
    /// bounds both the bytes on the wire and, for a gzip answer, the inflated bytes.
    pub max_envelope_bytes: u64,
    /// `[sync] ca_file`: trust only the CA certificate(s) in this PEM file for the server's
    /// HTTPS (a hub with a certificate from the province's own CA). None: the web PKI.
    pub ca_file: Option<std::path::PathBuf>,
}

impl ClientSettings {
    /// The envelope limit for a bundle limit: base64 grows by 4/3, plus room for the fields.
    pub fn envelope_limit(max_bundle_bytes: usize) -> u64 {
        (max_bundle_bytes as u64).div_ceil(3) * 4 + 4096
    }
}

/// Result of a catalog poll.
#[derive(Debug)]
pub enum CatalogFetch {
    NotModified,
    New {
        /// The envelope's JSON bytes, decoded from the wire (open with `envelope::open_body`).
        envelope: Vec<u8>,
        etag: Option<String>,
        /// Bytes of body read from the network (compressed, when `coding` is gzip).
        bytes_read: u64,
        /// How the body came on the wire.
        coding: Coding,
    },
}

/// A queue long-poll answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueBatch {
    pub events: Vec<QueueEvent>,
    /// The server's latest sequence number.
    pub head: u64,
    /// The server's latest published catalog version (servers before it was added omit it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<u64>,
}

pub struct HubClient {
    http: reqwest::Client,
    base: String,
    token: String,
    settings: ClientSettings,
}

impl HubClient {
    pub fn new(base_url: &str, token: &str, settings: ClientSettings) -> Result<Self, SyncError> {
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &settings.ca_file {
            let bad = |detail: String| {
                SyncError::NotConfigured(format!("[sync] ca_file {}: {detail}", path.display()))
            };
            let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| bad(format!("not PEM certificates ({e})")))?;
            if certs.is_empty() {
                return Err(bad("no CERTIFICATE in the file".into()));
            }
            builder = builder.tls_built_in_root_certs(false);
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!("motcua/", env!("CARGO_PKG_VERSION")))
            .https_only(!super::server_url::is_loopback_http(base_url))
            .build()
            .map_err(|e| SyncError::NotConfigured(format!("HTTP client: {e}")))?;
        Ok(HubClient {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            settings,
        })
    }

    /// The timeout of ordinary requests (`[sync] request_timeout_secs`).
    pub fn request_timeout(&self) -> Duration {
        self.settings.request_timeout
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
        timeout: Duration,
    ) -> Result<reqwest::Response, SyncError> {
        req.send()
            .await
            .map_err(|e| self.transport_error(&e, what, timeout))
    }

    fn transport_error(&self, e: &reqwest::Error, what: &str, timeout: Duration) -> SyncError {
        if e.is_timeout() {
            SyncError::Timeout {
                what: what.to_owned(),
                after: timeout,
            }
        } else {
            SyncError::Unreachable {
                url: self.base.clone(),
                detail: innermost(e),
            }
        }
    }

    /// `GET /v1/catalog`, conditional on `etag`.
    pub async fn fetch_catalog(&self, etag: Option<&str>) -> Result<CatalogFetch, SyncError> {
        let what = "downloading the catalog";
        let mut req = self
            .get("/v1/catalog")
            .header(ACCEPT_ENCODING, super::body::ACCEPT_ENCODING);
        if let Some(tag) = etag {
            req = req.header(IF_NONE_MATCH, tag);
        }
        let timeout = self.settings.request_timeout;
        let resp = self.send(req, what, timeout).await?;
        let etag = header_str(resp.headers(), ETAG.as_str());
        match self.status(resp.status().as_u16(), &resp)? {
            StatusClass::NotModified => return Ok(CatalogFetch::NotModified),
            StatusClass::NotFound => {
                return Err(SyncError::Rejected {
                    status: 404,
                    message: "the server has no catalog published yet".into(),
                })
            }
            StatusClass::Ok => {}
        }
        expect_json(resp.headers())?;
        let coding =
            Coding::from_header(header_str(resp.headers(), CONTENT_ENCODING.as_str()).as_deref())?;
        let (envelope, bytes_read) = self
            .read_coded(
                resp,
                coding,
                self.settings.max_envelope_bytes,
                what,
                timeout,
            )
            .await?;
        Ok(CatalogFetch::New {
            envelope,
            etag,
            bytes_read,
            coding,
        })
    }

    /// `GET /v1/queue/events?after=SEQ&wait=SECS[&catalog=VERSION]`: events after `after`,
    /// checked and in order. With `catalog` (the version installed here), the server also ends
    /// the long-poll as soon as it has a newer catalog, and says so in [`QueueBatch::catalog`].
    pub async fn queue_events(
        &self,
        after: u64,
        catalog: Option<u64>,
    ) -> Result<QueueBatch, SyncError> {
        let what = "waiting for queue events";
        let wait = self.settings.queue_wait;
        let timeout = wait + self.settings.request_timeout.min(Duration::from_secs(30));
        let req = self
            .get(&format!(
                "/v1/queue/events?after={after}&wait={}{}",
                wait.as_secs().max(1),
                catalog.map(|v| format!("&catalog={v}")).unwrap_or_default()
            ))
            .timeout(timeout);
        let resp = self.send(req, what, timeout).await?;
        if self.status(resp.status().as_u16(), &resp)? != StatusClass::Ok {
            return Err(SyncError::Protocol("the queue endpoint is missing".into()));
        }
        expect_json(resp.headers())?;
        let body = self.read_body(resp, MAX_SMALL_BODY, what, timeout).await?;
        let batch: QueueBatch =
            serde_json::from_slice(&body).map_err(|e| SyncError::InvalidJson {
                what: "queue events",
                detail: e.to_string(),
            })?;
        check_batch(after, &batch)?;
        Ok(batch)
    }

    /// `GET /v1/records/{id}`: None when the server knows no such record.
    pub async fn record_status(&self, id: &RecordId) -> Result<Option<RecordStatus>, SyncError> {
        let what = "looking up a record";
        let timeout = self.settings.request_timeout;
        let resp = self
            .send(self.get(&format!("/v1/records/{id}")), what, timeout)
            .await?;
        if self.status(resp.status().as_u16(), &resp)? == StatusClass::NotFound {
            return Ok(None);
        }
        expect_json(resp.headers())?;
        let body = self.read_body(resp, 64 * 1024, what, timeout).await?;
        let status: RecordStatus =
            serde_json::from_slice(&body).map_err(|e| SyncError::InvalidJson {
                what: "a record status",
                detail: e.to_string(),
            })?;
        if status.id != *id {
            return Err(SyncError::Protocol(format!(
                "asked for record {id}, the server answered for {}",
                status.id
            )));
        }
        Ok(Some(status))
    }

    /// `GET /v1/anchors`: every head the hub anchored for this device, as its receipts (not
    /// yet verified: `snapshots verify --against-hub` verifies each with the pinned keys).
    pub async fn anchors(&self) -> Result<Vec<crate::recorder::anchor::Receipt>, SyncError> {
        #[derive(serde::Deserialize)]
        struct Anchors {
            anchors: Vec<crate::recorder::anchor::Receipt>,
        }
        let (what, timeout) = ("fetching anchored heads", self.settings.request_timeout);
        let resp = self.send(self.get("/v1/anchors"), what, timeout).await?;
        if self.status(resp.status().as_u16(), &resp)? != StatusClass::Ok {
            return Err(SyncError::Protocol(
                "the anchors endpoint is missing".into(),
            ));
        }
        expect_json(resp.headers())?;
        // one receipt is about 600 bytes: years of hourly anchors fit
        let body = self
            .read_body(resp, 64 * MAX_SMALL_BODY, what, timeout)
            .await?;
        let a: Anchors = serde_json::from_slice(&body).map_err(|e| SyncError::InvalidJson {
            what: "anchored heads",
            detail: e.to_string(),
        })?;
        Ok(a.anchors)
    }

    /// `POST path` with an `Idempotency-Key`; any 2xx means the server has it. Returns the
    /// answer's body (capped at `MAX_SMALL_BODY`): a heartbeat's carries the anchor receipt.
    pub async fn post_idempotent(
        &self,
        path: &str,
        key: &str,
        body: &str,
    ) -> Result<Vec<u8>, SyncError> {
        let timeout = self.settings.request_timeout;
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("Idempotency-Key", key)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        let resp = self.send(req, "uploading", timeout).await?;
        match self.status(resp.status().as_u16(), &resp)? {
            StatusClass::Ok => {
                // The answer (a heartbeat's anchor receipt); small, so its cap is too.
                self.read_body(resp, MAX_SMALL_BODY, "the upload's answer", timeout)
                    .await
            }
            _ => Err(SyncError::Protocol(format!(
                "POST {path} answered {}",
                resp.status()
            ))),
        }
    }

    /// `POST path` with JSON, an optional `Idempotency-Key` and its own `timeout` (a kiosk
    /// waiting for a ticket cannot wait the usual request timeout). Returns a 2xx answer's
    /// body (capped at `MAX_SMALL_BODY`); errors are classified as everywhere else.
    pub async fn post_json(
        &self,
        path: &str,
        key: Option<&str>,
        body: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, SyncError> {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_owned());
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = self.send(req, "asking for a ticket", timeout).await?;
        match self.status(resp.status().as_u16(), &resp)? {
            StatusClass::Ok => {
                self.read_body(resp, MAX_SMALL_BODY, "the ticket answer", timeout)
                    .await
            }
            StatusClass::NotFound => Err(SyncError::Rejected {
                status: 404,
                message: header_str(resp.headers(), "x-motcua-error").unwrap_or_default(),
            }),
            _ => Err(SyncError::Protocol(format!(
                "POST {path} answered {}",
                resp.status()
            ))),
        }
    }

    /// Status classification; for errors the message comes from a short `X-Motcua-Error`
    /// header when the hub set one (bodies are not read on error paths).
    fn status(&self, code: u16, resp: &reqwest::Response) -> Result<StatusClass, SyncError> {
        let message = header_str(resp.headers(), "x-motcua-error").unwrap_or_default();
        classify_status(code, &message)
    }

    /// Read an identity body chunk by chunk, stopping as soon as it passes `limit`.
    async fn read_body(
        &self,
        resp: reqwest::Response,
        limit: u64,
        what: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, SyncError> {
        let coding =
            Coding::from_header(header_str(resp.headers(), CONTENT_ENCODING.as_str()).as_deref())?;
        if coding != Coding::Identity {
            return Err(SyncError::Protocol(format!(
                "the server compressed an answer ({}) that this device did not ask to be compressed",
                coding.name()
            )));
        }
        Ok(self.read_coded(resp, coding, limit, what, timeout).await?.0)
    }

    /// Read a body in `coding` chunk by chunk: the bytes on the wire and the decoded bytes
    /// each stop as soon as they pass `limit`. Returns the decoded body and the wire bytes.
    async fn read_coded(
        &self,
        mut resp: reqwest::Response,
        coding: Coding,
        limit: u64,
        what: &str,
        timeout: Duration,
    ) -> Result<(Vec<u8>, u64), SyncError> {
        let declared =
            header_str(resp.headers(), CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(SyncError::TooLarge { limit, read: 0 });
        }
        let mut body = BodyReader::new(coding, limit, declared);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.push(&chunk)?,
                Ok(None) => {
                    let wire = body.wire_bytes();
                    return Ok((body.finish()?, wire));
                }
                Err(e) => return Err(chunk_error(&e, what, timeout, body.wire_bytes())),
            }
        }
    }
}

/// A body that stopped coming: the request's timeout (`what`, after `timeout`), or cut off
/// after `got` bytes.
fn chunk_error(e: &reqwest::Error, what: &str, timeout: Duration, got: u64) -> SyncError {
    if e.is_timeout() {
        SyncError::Timeout {
            what: what.to_owned(),
            after: timeout,
        }
    } else {
        SyncError::Truncated {
            got,
            detail: innermost(e),
        }
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(200).collect())
}

fn expect_json(headers: &HeaderMap) -> Result<(), SyncError> {
    let ct = header_str(headers, CONTENT_TYPE.as_str()).unwrap_or_default();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(SyncError::WrongContentType {
            found: ct,
            expected: "application/json",
        });
    }
    Ok(())
}

/// Events must be valid, above `after`, strictly increasing, and not beyond the head.
pub fn check_batch(after: u64, batch: &QueueBatch) -> Result<(), SyncError> {
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(SyncError::Protocol(format!(
            "{} queue events in one answer (at most {MAX_EVENTS_PER_BATCH})",
            batch.events.len()
        )));
    }
    let mut last = after;
    for e in &batch.events {
        e.check().map_err(SyncError::Protocol)?;
        if e.seq <= last {
            return Err(SyncError::Protocol(format!(
                "queue event {} arrived after {last}; sequence numbers must increase",
                e.seq
            )));
        }
        last = e.seq;
    }
    if batch.head < last {
        return Err(SyncError::Protocol(format!(
            "queue head {} is below the last event {last}",
            batch.head
        )));
    }
    Ok(())
}

/// The innermost cause of a transport error, which is the one in plain words.
fn innermost(e: &reqwest::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::QueueEventKind;

    fn ev(seq: u64) -> QueueEvent {
        QueueEvent {
            seq,
            counter: 1,
            kind: QueueEventKind::Called,
            ticket: Some("1001".into()),
            record_id: None,
            waiting: None,
            at: "2026-11-23T08:00:00+07:00".into(),
        }
    }

    #[test]
    fn batches_must_be_ordered_and_valid() {
        let ok = QueueBatch {
            events: vec![ev(4), ev(6)],
            head: 6,
            catalog: None,
        };
        assert!(check_batch(3, &ok).is_ok());
        assert_eq!(
            check_batch(4, &ok).unwrap_err().to_string(),
            "the server sent something this device cannot use: queue event 4 arrived after 4; sequence numbers must increase"
        );
        let bad_head = QueueBatch {
            events: vec![ev(4)],
            head: 2,
            catalog: None,
        };
        assert!(check_batch(0, &bad_head).is_err());
        let mut bad = ev(5);
        bad.counter = 0;
        let batch = QueueBatch {
            events: vec![bad],
            head: 5,
            catalog: None,
        };
        assert_eq!(
            check_batch(0, &batch).unwrap_err().to_string(),
            "the server sent something this device cannot use: event 5: counter 0 is out of range 1..=999"
        );
    }

    #[test]
    fn envelope_limit_covers_base64() {
        assert_eq!(ClientSettings::envelope_limit(3), 4 + 4096);
    }
}
