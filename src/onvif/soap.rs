//! ONVIF SOAP calls over HTTP: the envelope with a WS-Security UsernameToken (PasswordDigest =
//! Base64(SHA-1(nonce + created + password)), as ONVIF's core spec requires), the POST, and
//! the answer read with `roxmltree` — faults, 401s and malformed XML each become a
//! [`CallError`] with a clear message. Elements are found by local name: vendors use their
//! own namespace prefixes.
//!
//! Never prints or returns the password; the digest is computed here and sent only.

use std::time::Duration;

use base64::Engine;
use sha1::{Digest, Sha1};

/// Each call, connection included, must finish within this.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read (a camera's GetProfiles is a few kB).
pub const MAX_ANSWER: usize = 1024 * 1024;

/// User name and password for the camera's ONVIF service, and the camera's clock the token's
/// `Created` is written in.
#[derive(Clone)]
pub struct Login {
    pub user: String,
    pub password: String,
    /// The camera's clock minus the device's, in ms (`clock::camera_offset_ms`; 0 until asked).
    pub camera_offset_ms: i64,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login {{ user: {:?}, password: <hidden> }}", self.user)
    }
}

/// Why a call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("refused the user name or password (ONVIF {0})")]
    NotAuthorized(String),
    #[error("asks for a user name and password (ONVIF {0}); give --user and --password-file")]
    NeedsLogin(String),
    #[error("the {call} answer is not valid XML ({why})")]
    Malformed { call: &'static str, why: String },
    #[error("the {call} answer lacks {what}")]
    Lacks {
        call: &'static str,
        what: &'static str,
    },
    #[error("{call} failed: SOAP fault {code}: {reason}")]
    Fault {
        call: &'static str,
        code: String,
        reason: String,
    },
    #[error("{call} answered HTTP {status}")]
    Http { call: &'static str, status: u16 },
    #[error("did not answer {call} within {} s", CALL_TIMEOUT.as_secs())]
    Timeout { call: &'static str },
    #[error("is not reachable ({0})")]
    Unreachable(String),
}

/// Text for an XML element or attribute (the writing side; answers are parsed by roxmltree).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// WS-Security header for `login` with a fresh nonce, created now by the camera's clock.
fn security_header(login: &Login) -> String {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).expect("the system's random source");
    // (an absurd camera date cannot overflow: the device's clock then)
    let now = chrono::Utc::now();
    let created = chrono::TimeDelta::try_milliseconds(login.camera_offset_ms)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let digest = password_digest(&nonce, &created, &login.password);
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "<s:Header><wsse:Security s:mustUnderstand=\"1\" \
         xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" \
         xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\">\
         <wsse:UsernameToken><wsse:Username>{}</wsse:Username>\
         <wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</wsse:Password>\
         <wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:Nonce>\
         <wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>",
        escape(&login.user),
        b64.encode(nonce),
    )
}

/// Base64(SHA-1(nonce + created + password)).
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// The whole request for `body` (one element of the device or media service).
pub fn envelope(body: &str, login: Option<&Login>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\">{}<s:Body>{body}</s:Body></s:Envelope>",
        login.map(security_header).unwrap_or_default()
    )
}

/// POST `body` to `url` and return the answer's text once it is known to be well-formed and
/// not a fault.
pub async fn call(
    client: &reqwest::Client,
    url: &str,
    call: &'static str,
    body: &str,
    login: Option<&Login>,
) -> Result<String, CallError> {
    let req = client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/soap+xml; charset=utf-8",
        )
        .body(envelope(body, login));
    let resp = tokio::time::timeout(CALL_TIMEOUT, req.send())
        .await
        .map_err(|_| CallError::Timeout { call })?
        .map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout { call }
            } else {
                CallError::Unreachable(innermost(&e))
            }
        })?;
    let status = resp.status().as_u16();
    let text = tokio::time::timeout(CALL_TIMEOUT, read_limited(resp))
        .await
        .map_err(|_| CallError::Timeout { call })??;
    // A fault may come with 400 or 500 (the spec) or 401 (many cameras).
    if let Some((code, reason)) = fault(&text) {
        if code.ends_with("NotAuthorized") || status == 401 {
            return Err(if login.is_some() {
                CallError::NotAuthorized(local(&code).to_owned())
            } else {
                CallError::NeedsLogin(local(&code).to_owned())
            });
        }
        return Err(CallError::Fault { call, code, reason });
    }
    if status == 401 {
        let why = "HTTP 401".to_owned();
        return Err(if login.is_some() {
            CallError::NotAuthorized(why)
        } else {
            CallError::NeedsLogin(why)
        });
    }
    if status != 200 {
        return Err(CallError::Http { call, status });
    }
    roxmltree::Document::parse(&text).map_err(|e| CallError::Malformed {
        call,
        why: e.to_string(),
    })?;
    Ok(text)
}

async fn read_limited(mut resp: reqwest::Response) -> Result<String, CallError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| CallError::Unreachable(innermost(&e)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(CallError::Unreachable(format!(
                "an answer larger than {MAX_ANSWER} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// `ter:NotAuthorized` → `NotAuthorized`.
fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// A SOAP 1.2 fault's most specific code (the innermost Subcode's Value, else Code's) and
/// its reason text, if `text` is one.
fn fault(text: &str) -> Option<(String, String)> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let f = doc.descendants().find(|n| n.tag_name().name() == "Fault")?;
    let code = f
        .descendants()
        .rfind(|n| n.tag_name().name() == "Value")
        .and_then(|n| n.text())
        .unwrap_or("?")
        .trim()
        .to_owned();
    let reason = f
        .descendants()
        .find(|n| n.tag_name().name() == "Text")
        .and_then(|n| n.text())
        .unwrap_or("")
        .trim()
        .to_owned();
    Some((code, reason))
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// The first element named `name` (local name) in `doc`.
pub fn first<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
    name: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    doc.descendants().find(|n| n.tag_name().name() == name)
}

/// The trimmed text of the first child element of `node` named `name`, searched in depth.
pub fn text_in(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.descendants()
        .find(|n| n.tag_name().name() == name)
        .and_then(|n| n.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_digest_follows_the_username_token_profile() {
        // The worked example of the ONVIF Application Programmer's Guide (section 6.1.1.3).
        let nonce = base64::engine::general_purpose::STANDARD
            .decode("LKqI6G/AikKCQrN0zqZFlg==")
            .unwrap();
        assert_eq!(
            password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword"),
            "tuOSpGlFlIXsozq4HFNeeGeFLEI="
        );
    }

    #[test]
    fn faults_and_the_login_are_read_without_showing_the_password() {
        let t = "<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope' \
                 xmlns:ter='http://www.onvif.org/ver10/error'><e:Body><e:Fault><e:Code>\
                 <e:Value>e:Sender</e:Value><e:Subcode><e:Value>ter:NotAuthorized</e:Value>\
                 </e:Subcode></e:Code><e:Reason><e:Text xml:lang='en'>Sender not authorized\
                 </e:Text></e:Reason></e:Fault></e:Body></e:Envelope>";
        assert_eq!(
            fault(t),
            Some((
                "ter:NotAuthorized".to_owned(),
                "Sender not authorized".to_owned()
            ))
        );
        let login = Login {
            user: "a<b".into(),
            password: "s3cret".into(),
            camera_offset_ms: 0,
        };
        assert_eq!(
            format!("{login:?}"),
            "Login { user: \"a<b\", password: <hidden> }"
        );
        let env = envelope("<x/>", Some(&login));
        assert!(env.contains("<wsse:Username>a&lt;b</wsse:Username>"));
        assert!(!env.contains("s3cret"));
        roxmltree::Document::parse(&env).unwrap();
    }
}
