//! A network camera's HTTP snapshot URL as a frame source (issue 17, part): the JPEG that
//! IP cameras and NVRs serve on request — Hikvision ISAPI
//! `/ISAPI/Streaming/channels/101/picture`, Dahua `/cgi-bin/snapshot.cgi`, ONVIF's
//! `GetSnapshotUri` — fetched every `interval` into the same ring USB frames go to.
//!
//! - Authentication: HTTP Digest (RFC 7616/2617, via the `digest_auth` crate; what these cameras
//!   ask for by default) or Basic, chosen from the camera's `WWW-Authenticate` answer. A
//!   digest nonce is reused (`nc` counts up) until the camera answers 401; then the request is
//!   retried once with that 401's fresh nonce (cameras that refuse reuse do not all say
//!   `stale=true`), and only a second 401 means a wrong password. The
//!   credentials come from a file in the secrets directory (`user:password` on one line) and
//!   never appear in names, logs or errors: a camera is named by scheme, host and path only.
//! - Every answer is checked: HTTP 200, at most [`MAX_BYTES`], a JPEG with a frame header and
//!   an end marker. Anything else is an error the worker reports as degraded and retries with
//!   backoff (stored snapshots are never touched from here).
//! - The camera's clock is not trusted: the worker stamps frames with the device's time; the
//!   answer's `Date` header (the camera's clock when it sent the picture) is kept beside it.
//!
//! Each source runs its own single-threaded tokio runtime, since the worker thread is blocking.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;

use super::{CameraError, FrameSource, PixelData, PixelFormat, RawFrame, StreamInfo};
use crate::recorder::jpeg;

/// Largest snapshot accepted (a 4K JPEG at high quality is about 2 MB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// One request, connection included, must finish within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// User name and password for the camera.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

impl Credentials {
    /// Read `path` (the secrets file); the error names the file, never its contents.
    pub fn from_file(path: &std::path::Path) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read credentials_file {}: {e}", path.display()))?;
        Credentials::parse(&text).ok_or_else(|| {
            format!(
                "credentials_file {} must hold one line `user:password`",
                path.display()
            )
        })
    }

    /// `user:password` from the first line of `text` (the password may contain ':').
    pub fn parse(text: &str) -> Option<Credentials> {
        let line = text.lines().next()?.trim_end_matches('\r');
        let (user, password) = line.split_once(':')?;
        (!user.is_empty()).then(|| Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }
}

/// How the camera wants to be authenticated, learnt from its first 401.
enum Auth {
    None,
    Basic,
    Digest(Box<digest_auth::WwwAuthenticateHeader>),
}

pub struct HttpSnapshotCamera {
    url: reqwest::Url,
    shown: String,
    credentials_file: Option<PathBuf>,
    credentials: Option<Credentials>,
    interval: Duration,
    runtime: Option<tokio::runtime::Runtime>,
    client: Option<reqwest::Client>,
    auth: Auth,
    pending: Option<RawFrame>,
    next_at: Instant,
}

impl HttpSnapshotCamera {
    /// A camera at `url` (http or https, no credentials in it), fetched every `interval`.
    pub fn new(
        url: &str,
        credentials_file: Option<PathBuf>,
        interval: Duration,
    ) -> Result<HttpSnapshotCamera, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("{e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err("must be an http:// or https:// URL with a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry a user name or password; put them in credentials_file".into(),
            );
        }
        let shown = format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ) + url.path();
        Ok(HttpSnapshotCamera {
            url,
            shown,
            credentials_file,
            credentials: None,
            interval,
            runtime: None,
            client: None,
            auth: Auth::None,
            pending: None,
            next_at: Instant::now(),
        })
    }

    fn io(&self, message: impl Into<String>) -> CameraError {
        CameraError::Io {
            device: self.shown.clone(),
            message: message.into(),
        }
    }

    fn read_credentials(&self) -> Result<Option<Credentials>, CameraError> {
        self.credentials_file
            .as_deref()
            .map(Credentials::from_file)
            .transpose()
            .map_err(|m| self.io(m))
    }

    /// The request-target digest auth signs: path and query.
    fn uri(&self) -> String {
        match self.url.query() {
            Some(q) => format!("{}?{q}", self.url.path()),
            None => self.url.path().to_owned(),
        }
    }

    fn authorization(&mut self) -> Result<Option<String>, CameraError> {
        let Some(c) = self.credentials.clone() else {
            return Ok(None);
        };
        let uri = self.uri();
        match &mut self.auth {
            Auth::None => Ok(None),
            Auth::Basic => {
                use base64::Engine;
                let raw = format!("{}:{}", c.user, c.password);
                Ok(Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )))
            }
            Auth::Digest(prompt) => {
                let ctx = digest_auth::AuthContext::new(c.user.as_str(), c.password.as_str(), uri);
                prompt
                    .respond(&ctx)
                    .map(|h| Some(h.to_header_string()))
                    .map_err(|e| self.io_digest(e))
            }
        }
    }

    fn io_digest(&self, e: digest_auth::Error) -> CameraError {
        self.io(format!("cannot answer the camera's digest challenge ({e})"))
    }

    /// One GET; on a 401 learns the authentication scheme (or the fresh digest nonce) from it
    /// and retries once: a second 401 is a wrong password.
    fn fetch(&mut self) -> Result<RawFrame, CameraError> {
        // `Runtime::block_on`, not a handle's: only it drives a current-thread runtime's I/O
        // and timers.
        let Some(runtime) = self.runtime.take() else {
            return Err(self.io("not started"));
        };
        let asked = Instant::now();
        let result = self.fetch_on(&runtime).map(|mut f| {
            f.began = Some(asked);
            f
        });
        self.runtime = Some(runtime);
        result
    }

    fn fetch_on(&mut self, handle: &tokio::runtime::Runtime) -> Result<RawFrame, CameraError> {
        let Some(client) = self.client.clone() else {
            return Err(self.io("not started"));
        };
        for attempt in 0..2 {
            let mut req = client.get(self.url.clone());
            if let Some(h) = self.authorization()? {
                req = req.header(AUTHORIZATION, h);
            }
            let resp = handle
                .block_on(async { req.send().await })
                .map_err(|e| self.request_error(&e))?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                let challenges: Vec<String> = resp
                    .headers()
                    .get_all(WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_owned))
                    .collect();
                if self.credentials.is_none() {
                    return Err(self
                        .io("asks for a user name and password (HTTP 401); set credentials_file"));
                }
                // One retry with what this 401 asks for: the first request carried no
                // credentials, or a digest answer to a nonce cached from an earlier 401 —
                // which a camera that refuses nonce reuse answers with a fresh challenge,
                // with or without `stale=true`. Basic sent the password as is: refused.
                if attempt == 1 || matches!(self.auth, Auth::Basic) {
                    return Err(self.io("refused the user name or password (HTTP 401)"));
                }
                let learned = self.learn(&challenges)?;
                // A camera that spoke Digest does not ask for Basic out of the blue: whoever
                // answers so (a spoofed address on the LAN) would get the password in clear.
                if matches!(self.auth, Auth::Digest(_)) && matches!(learned, Auth::Basic) {
                    return Err(self.io(
                        "asked for Basic authentication after Digest (HTTP 401): refused, so \
                         the password is not sent in clear; check who answers at this address",
                    ));
                }
                self.auth = learned;
                continue;
            }
            if resp.status() != StatusCode::OK {
                return Err(self.io(format!("answered HTTP {}", resp.status().as_u16())));
            }
            let camera_time_ms = http_date_ms(resp.headers());
            let body = handle.block_on(read_limited(resp)).map_err(|e| match e {
                Limited::TooLarge => CameraError::BadFrame {
                    device: self.shown.clone(),
                    message: format!("the snapshot is larger than {MAX_BYTES} bytes"),
                },
                Limited::Http(e) => self.request_error(&e),
            })?;
            return self.frame_from(&body, camera_time_ms);
        }
        Err(self.io("refused the user name or password (HTTP 401)"))
    }

    fn learn(&self, challenges: &[String]) -> Result<Auth, CameraError> {
        if let Some(d) = challenges
            .iter()
            .find(|c| c.trim_start().to_ascii_lowercase().starts_with("digest"))
        {
            return digest_auth::parse(d)
                .map(|p| Auth::Digest(Box::new(p)))
                .map_err(|e| self.io_digest(e));
        }
        if challenges
            .iter()
            .any(|c| c.trim_start().to_ascii_lowercase().starts_with("basic"))
        {
            return Ok(Auth::Basic);
        }
        Err(self.io(format!(
            "asks for an authentication scheme this device does not speak ({})",
            challenges.join(", ").chars().take(80).collect::<String>()
        )))
    }

    fn request_error(&self, e: &reqwest::Error) -> CameraError {
        if e.is_connect() {
            CameraError::NotConnected(self.shown.clone())
        } else if e.is_timeout() {
            self.io(format!(
                "did not answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            ))
        } else {
            self.io(format!("the request failed ({})", innermost(e)))
        }
    }

    fn frame_from(
        &self,
        body: &[u8],
        camera_time_ms: Option<i64>,
    ) -> Result<RawFrame, CameraError> {
        let bad = |message: String| CameraError::BadFrame {
            device: self.shown.clone(),
            message,
        };
        let jpeg = jpeg::trim_to_eoi(body).map_err(|e| bad(format!("not a JPEG: {e}")))?;
        let (width, height) =
            jpeg::dimensions(jpeg).map_err(|e| bad(format!("not a JPEG: {e}")))?;
        Ok(RawFrame {
            width,
            height,
            data: PixelData::Jpeg(jpeg.into()),
            camera_time_ms,
            began: None,
        })
    }
}

/// The `Date` header (RFC 9110 IMF-fixdate, what cameras send) in Unix ms; `None` if absent
/// or unreadable (a camera's clock is only ever kept beside the device's).
pub fn http_date_ms(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let v = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    chrono::DateTime::parse_from_rfc2822(v.trim())
        .ok()
        .map(|t| t.timestamp_millis())
}

enum Limited {
    TooLarge,
    Http(reqwest::Error),
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, Limited> {
    if resp.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(Limited::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(Limited::Http)? {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(Limited::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

impl FrameSource for HttpSnapshotCamera {
    fn name(&self) -> String {
        self.shown.clone()
    }

    fn start(&mut self) -> Result<StreamInfo, CameraError> {
        self.credentials = self.read_credentials()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.io(format!("cannot start its runtime: {e}")))?;
        // The client's connector belongs to the runtime it is built in.
        let _inside = runtime.enter();
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            // A fresh connection per snapshot: a camera that rebooted or dropped off the LAN
            // shows as "not connected" rather than as a dead pooled connection; at a few
            // fetches a second the handshake is nothing.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| self.io(format!("cannot build its HTTP client: {e}")))?;
        drop(_inside);
        self.runtime = Some(runtime);
        self.client = Some(client);
        self.auth = Auth::None;
        let first = self.fetch()?;
        let info = StreamInfo {
            format: PixelFormat::Mjpeg,
            width: first.width,
            height: first.height,
            description: format!("HTTP snapshot {}", self.shown),
        };
        self.pending = Some(first);
        self.next_at = Instant::now() + self.interval;
        Ok(info)
    }

    fn next_frame(&mut self) -> Result<RawFrame, CameraError> {
        if let Some(f) = self.pending.take() {
            return Ok(f);
        }
        let now = Instant::now();
        if self.next_at > now {
            std::thread::sleep(self.next_at - now);
        }
        self.next_at = Instant::now().max(self.next_at + self.interval);
        self.fetch()
    }

    fn stop(&mut self) {
        self.pending = None;
        self.client = None;
        self.runtime = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_one_line_and_never_printed() {
        let c = Credentials::parse("admin:p:ss word\nignored").unwrap();
        assert_eq!(c.user, "admin");
        assert_eq!(c.password, "p:ss word");
        assert_eq!(
            format!("{c:?}"),
            "Credentials { user: \"admin\", password: <hidden> }"
        );
        assert_eq!(Credentials::parse("no-colon"), None);
        assert_eq!(Credentials::parse(":pw"), None);
        assert_eq!(Credentials::parse(""), None);
    }

    #[test]
    fn urls_are_checked_and_shown_without_query_or_credentials() {
        let cam = HttpSnapshotCamera::new(
            "http://192.168.1.64:8080/cgi-bin/snapshot.cgi?channel=1&token=x",
            None,
            Duration::from_millis(500),
        )
        .unwrap();
        assert_eq!(cam.name(), "http://192.168.1.64:8080/cgi-bin/snapshot.cgi");
        assert_eq!(cam.uri(), "/cgi-bin/snapshot.cgi?channel=1&token=x");
        for (bad, why) in [
            (
                "http://admin:12345@192.168.1.64/ISAPI/Streaming/channels/101/picture",
                "must not carry a user name or password; put them in credentials_file",
            ),
            (
                "rtsp://192.168.1.64/Streaming/101",
                "must be an http:// or https:// URL with a host",
            ),
        ] {
            assert_eq!(
                HttpSnapshotCamera::new(bad, None, Duration::from_secs(1))
                    .err()
                    .as_deref(),
                Some(why)
            );
        }
    }
}
