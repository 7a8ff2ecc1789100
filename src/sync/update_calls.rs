//! `HubClient`'s update calls (docs/updates.md): `GET /v1/update` (which release this device
//! should run) and a ranged `GET` of a bundle, streamed chunk by chunk to the caller. The
//! answers are decoded and checked for shape here; what to do with them is `crate::update`'s.

use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use serde::{Deserialize, Serialize};

use super::{expect_json, header_str, HubClient, StatusClass, SyncError, MAX_SMALL_BODY};

/// The hub's answer to "which update should I have".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    pub id: u64,
    pub channel: String,
    pub version: String,
    pub size: u64,
    pub sha256: String,
    /// A path on the same hub: `/v1/update/bundles/<sha256>`.
    pub url: String,
}

impl UpdateOffer {
    /// Refuse an answer that is not what protocol v1 says, naming the field.
    pub fn check(&self) -> Result<(), SyncError> {
        let bad = |m: String| Err(SyncError::Protocol(format!("the update offer's {m}")));
        if crate::hub::updates::check_label(&self.version, "version").is_err() {
            return bad(format!("version {:?} is not a version name", self.version));
        }
        if !crate::hub::updates::is_sha256(&self.sha256) {
            return bad(format!(
                "sha256 {:?} is not 64 lower-case hex digits",
                self.sha256
            ));
        }
        if self.url != format!("/v1/update/bundles/{}", self.sha256) {
            return bad(format!(
                "url {:?} is not /v1/update/bundles/<its sha256> on this hub",
                self.url
            ));
        }
        if self.size == 0 {
            return bad("size is 0".into());
        }
        Ok(())
    }
}

/// How a ranged download answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// 206 from the asked offset.
    Resumed,
    /// 200: the whole file from byte 0 (the caller must start over).
    Whole,
}

impl HubClient {
    /// `GET /v1/update?channel=&current=[&want=]`: the release to run, or None (204).
    pub async fn update_offer(
        &self,
        channel: &str,
        current: &str,
        want: Option<&str>,
    ) -> Result<Option<UpdateOffer>, SyncError> {
        let what = "asking for an update";
        let timeout = self.settings.request_timeout;
        let mut query = vec![("channel", channel), ("current", current)];
        if let Some(w) = want {
            query.push(("want", w));
        }
        let resp = self
            .send(self.get("/v1/update").query(&query), what, timeout)
            .await?;
        if resp.status().as_u16() == 204 {
            return Ok(None);
        }
        if self.status(resp.status().as_u16(), &resp)? != StatusClass::Ok {
            return Err(SyncError::Protocol(
                "the hub has no update endpoint (/v1/update); is it an older motcua hub?".into(),
            ));
        }
        expect_json(resp.headers())?;
        let body = self.read_body(resp, MAX_SMALL_BODY, what, timeout).await?;
        let offer: UpdateOffer =
            serde_json::from_slice(&body).map_err(|e| SyncError::InvalidJson {
                what: "an update offer",
                detail: e.to_string(),
            })?;
        offer.check()?;
        Ok(Some(offer))
    }

    /// `GET offer.url` from byte `from` (a `Range` when above 0), giving each chunk to
    /// `sink` in order; when the hub ignores the range (200), nothing is given and the answer
    /// is [`Ranged::Whole`]. `timeout` bounds the whole request. Refuses an answer announcing more
    /// than the offer's size.
    pub async fn fetch_bundle(
        &self,
        offer: &UpdateOffer,
        from: u64,
        timeout: Duration,
        mut sink: impl FnMut(&[u8]) -> Result<(), SyncError>,
    ) -> Result<Ranged, SyncError> {
        let what = "downloading an update";
        let mut req = self.get(&offer.url).timeout(timeout);
        if from > 0 {
            req = req.header(RANGE, format!("bytes={from}-"));
        }
        let mut resp = self.send(req, what, timeout).await?;
        let code = resp.status().as_u16();
        let ranged = match code {
            206 => {
                let want = format!("bytes {from}-{}/{}", offer.size - 1, offer.size);
                let got = header_str(resp.headers(), CONTENT_RANGE.as_str()).unwrap_or_default();
                if got != want {
                    return Err(SyncError::Protocol(format!(
                        "the bundle's Content-Range is {got:?}, expected {want:?}"
                    )));
                }
                Ranged::Resumed
            }
            _ => {
                if self.status(code, &resp)? != StatusClass::Ok {
                    return Err(SyncError::Protocol(format!(
                        "the hub has no bundle {} (HTTP {code})",
                        offer.sha256
                    )));
                }
                Ranged::Whole
            }
        };
        if ranged == Ranged::Whole && from > 0 {
            // The range was ignored: nothing is read, the caller starts over from byte 0.
            return Ok(Ranged::Whole);
        }
        let start = from;
        let declared =
            header_str(resp.headers(), CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| start + len > offer.size) {
            return Err(SyncError::TooLarge {
                limit: offer.size,
                read: 0,
            });
        }
        let mut got = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    got += chunk.len() as u64;
                    if start + got > offer.size {
                        return Err(SyncError::TooLarge {
                            limit: offer.size,
                            read: start + got,
                        });
                    }
                    sink(&chunk)?;
                }
                Ok(None) => return Ok(ranged),
                Err(e) => return Err(super::chunk_error(&e, what, timeout, got)),
            }
        }
    }
}
