//! ONVIF discovery for the technician (`motcua cameras discover`): a WS-Discovery probe
//! (`probe`), then for each camera that answered the device and media services' SOAP calls
//! (`soap`) — GetSystemDateAndTime (the camera's clock dates the login tokens, `clock`),
//! GetCapabilities (where the media service is), GetDeviceInformation, GetProfiles, and
//! GetStreamUri and GetSnapshotUri per profile — so provisioning needs no guesswork.
//! [`render`] prints make, model, URLs and a `[[recorder.cameras]]` snippet that names a
//! credentials file and never the password; URLs are printed without any user or password a
//! camera put in them.
//!
//! Talks to cameras only; never reads the config or the stores.

pub mod clock;
pub mod probe;
pub mod soap;

use std::net::SocketAddr;
use std::time::Duration;

use soap::{first, text_in, CallError, Login};

const DEVICE_NS: &str = "http://www.onvif.org/ver10/device/wsdl";
const MEDIA_NS: &str = "http://www.onvif.org/ver10/media/wsdl";
const SCHEMA_NS: &str = "http://www.onvif.org/ver10/schema";

/// One media profile and its URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub token: String,
    pub name: String,
    /// `JPEG`, `H264`, `H265`… as the camera names it; empty if it has no video encoder.
    pub encoding: String,
    pub width: u32,
    pub height: u32,
    pub stream: Option<String>,
    pub snapshot: Option<String>,
}

/// A camera that answered every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Camera {
    pub xaddr: String,
    pub manufacturer: String,
    pub model: String,
    pub firmware: String,
    pub serial: String,
    pub profiles: Vec<Profile>,
}

/// One answer to the probe: described, or why not.
pub type Found = (String, Result<Camera, CallError>);

/// What `discover` saw.
#[derive(Debug, Default)]
pub struct Discovery {
    pub cameras: Vec<Found>,
    pub unreadable: Vec<String>,
}

/// `url` without user or password.
fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Describe the camera whose device service is `xaddr`. With a login, the camera's clock is
/// asked first (GetSystemDateAndTime, unauthenticated) and the tokens are dated by it.
pub async fn describe(
    client: &reqwest::Client,
    xaddr: &str,
    login: Option<&Login>,
) -> Result<Camera, CallError> {
    let dated = match login {
        Some(l) => Some(Login {
            camera_offset_ms: clock::camera_offset_ms(client, xaddr).await?,
            ..l.clone()
        }),
        None => None,
    };
    let login = dated.as_ref();
    let body = format!("<GetDeviceInformation xmlns=\"{DEVICE_NS}\"/>");
    let text = soap::call(client, xaddr, "GetDeviceInformation", &body, login).await?;
    let doc = roxmltree::Document::parse(&text).expect("checked by soap::call");
    let info = first(&doc, "GetDeviceInformationResponse").ok_or(CallError::Lacks {
        call: "GetDeviceInformation",
        what: "GetDeviceInformationResponse",
    })?;
    let field = |name| text_in(info, name).unwrap_or_default();
    let (manufacturer, model, firmware, serial) = (
        field("Manufacturer"),
        field("Model"),
        field("FirmwareVersion"),
        field("SerialNumber"),
    );

    // The media service's own address (often another path than the device service's).
    let body = format!(
        "<GetCapabilities xmlns=\"{DEVICE_NS}\"><Category>Media</Category></GetCapabilities>"
    );
    let text = soap::call(client, xaddr, "GetCapabilities", &body, login).await?;
    let doc = roxmltree::Document::parse(&text).expect("checked by soap::call");
    let media = first(&doc, "Media")
        .and_then(|m| text_in(m, "XAddr"))
        .ok_or(CallError::Lacks {
            call: "GetCapabilities",
            what: "Media/XAddr",
        })?;

    let body = format!("<GetProfiles xmlns=\"{MEDIA_NS}\"/>");
    let text = soap::call(client, &media, "GetProfiles", &body, login).await?;
    let doc = roxmltree::Document::parse(&text).expect("checked by soap::call");
    let mut profiles = Vec::new();
    for p in doc
        .descendants()
        .filter(|n| n.tag_name().name() == "Profiles")
    {
        let token = p
            .attribute("token")
            .ok_or(CallError::Lacks {
                call: "GetProfiles",
                what: "a profile token",
            })?
            .to_owned();
        let enc = p
            .children()
            .find(|n| n.tag_name().name() == "VideoEncoderConfiguration");
        let num = |name| {
            enc.and_then(|e| text_in(e, name))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0)
        };
        profiles.push(Profile {
            name: text_in(p, "Name").unwrap_or_else(|| token.clone()),
            encoding: enc.and_then(|e| text_in(e, "Encoding")).unwrap_or_default(),
            width: num("Width"),
            height: num("Height"),
            token,
            stream: None,
            snapshot: None,
        });
    }
    if profiles.is_empty() {
        return Err(CallError::Lacks {
            call: "GetProfiles",
            what: "any profile",
        });
    }
    for p in &mut profiles {
        let t = soap::escape(&p.token);
        let body = format!(
            "<GetStreamUri xmlns=\"{MEDIA_NS}\"><StreamSetup><Stream xmlns=\"{SCHEMA_NS}\">\
             RTP-Unicast</Stream><Transport xmlns=\"{SCHEMA_NS}\"><Protocol>RTSP</Protocol>\
             </Transport></StreamSetup><ProfileToken>{t}</ProfileToken></GetStreamUri>"
        );
        let text = soap::call(client, &media, "GetStreamUri", &body, login).await?;
        let doc = roxmltree::Document::parse(&text).expect("checked by soap::call");
        p.stream = Some(
            first(&doc, "MediaUri")
                .and_then(|m| text_in(m, "Uri"))
                .map(|u| without_credentials(&u))
                .ok_or(CallError::Lacks {
                    call: "GetStreamUri",
                    what: "MediaUri/Uri",
                })?,
        );
        let body =
            format!("<GetSnapshotUri xmlns=\"{MEDIA_NS}\"><ProfileToken>{t}</ProfileToken></GetSnapshotUri>");
        // Snapshots are optional in ONVIF Profile S: a fault here leaves the profile without.
        match soap::call(client, &media, "GetSnapshotUri", &body, login).await {
            Ok(text) => {
                let doc = roxmltree::Document::parse(&text).expect("checked by soap::call");
                p.snapshot = first(&doc, "MediaUri")
                    .and_then(|m| text_in(m, "Uri"))
                    .map(|u| without_credentials(&u));
            }
            Err(CallError::Fault { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Camera {
        xaddr: xaddr.to_owned(),
        manufacturer,
        model,
        firmware,
        serial,
        profiles,
    })
}

/// Probe `target` (the multicast group, or one host), then describe each camera that
/// answered, one after the other.
pub async fn discover(
    target: SocketAddr,
    wait: Duration,
    login: Option<&Login>,
) -> std::io::Result<Discovery> {
    let answers = probe::probe(target, wait).await?;
    let client = reqwest::Client::builder()
        .timeout(soap::CALL_TIMEOUT)
        .connect_timeout(soap::CALL_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)?;
    let mut out = Discovery {
        unreadable: answers.unreadable,
        ..Default::default()
    };
    for m in answers.matches {
        let r = describe(&client, &m.xaddr, login).await;
        out.cameras.push((m.xaddr, r));
    }
    Ok(out)
}

/// The profile the snippet uses: an MJPEG stream (stored as sent), else the snapshot URL,
/// else the smallest H.264 stream, else the smallest H.265 one (keyframes decoded on trigger).
fn best(c: &Camera) -> Option<(String, &'static str)> {
    if let Some(u) = c
        .profiles
        .iter()
        .find(|p| p.encoding.eq_ignore_ascii_case("JPEG"))
        .and_then(|p| p.stream.clone())
    {
        return Some((u, "its MJPEG stream: stored as sent"));
    }
    if let Some(u) = c.profiles.iter().find_map(|p| p.snapshot.clone()) {
        return Some((u, "its snapshot URL: a full picture on each fetch"));
    }
    let smallest = |encoding: &str| {
        c.profiles
            .iter()
            .filter(|p| p.encoding.eq_ignore_ascii_case(encoding) && p.stream.is_some())
            .min_by_key(|p| p.width * p.height)
            .and_then(|p| p.stream.clone())
    };
    if let Some(u) = smallest("H264") {
        return Some((
            u,
            "its smallest H.264 stream: set its I-frame interval to 1-2 s",
        ));
    }
    smallest("H265").map(|u| {
        (
            u,
            "its smallest H.265 stream: set its I-frame interval to 1-2 s",
        )
    })
}

/// The technician's text: each camera with its profiles and a snippet to paste.
pub fn render(d: &Discovery) -> String {
    let mut s = String::new();
    let ok = d.cameras.iter().filter(|(_, r)| r.is_ok()).count();
    s.push_str(&format!(
        "{} ONVIF camera(s) answered, {ok} described\n",
        d.cameras.len()
    ));
    for why in &d.unreadable {
        s.push_str(&format!("note: {why}\n"));
    }
    for (i, (xaddr, r)) in d.cameras.iter().enumerate() {
        let n = i + 1;
        s.push('\n');
        let c = match r {
            Ok(c) => c,
            Err(e) => {
                s.push_str(&format!("camera {n}: {xaddr}: {e}\n"));
                continue;
            }
        };
        s.push_str(&format!(
            "camera {n}: {} {} (firmware {}, serial {})\n  device service: {}\n",
            c.manufacturer, c.model, c.firmware, c.serial, c.xaddr
        ));
        for p in &c.profiles {
            s.push_str(&format!(
                "  profile {} \"{}\": {} {}x{}\n    stream:   {}\n    snapshot: {}\n",
                p.token,
                p.name,
                if p.encoding.is_empty() {
                    "no video"
                } else {
                    &p.encoding
                },
                p.width,
                p.height,
                p.stream.as_deref().unwrap_or("-"),
                p.snapshot.as_deref().unwrap_or("-"),
            ));
        }
        match best(c) {
            Some((url, why)) => s.push_str(&format!(
                "  for motcua.toml ({why}; set the counter, and put `user:password` in the \
                 credentials file):\n    [[recorder.cameras]]\n    counter = {n}\n    \
                 device = \"{url}\"\n    credentials_file = \"/etc/motcua/secrets/camera-{n}\"\n"
            )),
            None => s.push_str(
                "  no profile this device can record (neither MJPEG, H.264, H.265 nor a snapshot URL)\n",
            ),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(encoding: &str, width: u32, stream: &str) -> Profile {
        Profile {
            token: stream.into(),
            name: stream.into(),
            encoding: encoding.into(),
            width,
            height: width * 9 / 16,
            stream: Some(format!("rtsp://192.168.1.64/{stream}")),
            snapshot: None,
        }
    }

    #[test]
    fn an_h265_only_camera_gets_its_smallest_h265_stream_and_h264_comes_first() {
        let mut cam = Camera {
            xaddr: "http://192.168.1.64/onvif/device_service".into(),
            manufacturer: "HIKVISION".into(),
            model: "DS-2CD1023G2".into(),
            firmware: "V5.7".into(),
            serial: "x".into(),
            profiles: vec![profile("H265", 1920, "main"), profile("H265", 640, "sub")],
        };
        assert_eq!(
            best(&cam),
            Some((
                "rtsp://192.168.1.64/sub".into(),
                "its smallest H.265 stream: set its I-frame interval to 1-2 s"
            ))
        );
        cam.profiles.push(profile("H264", 1280, "third"));
        assert_eq!(best(&cam).unwrap().0, "rtsp://192.168.1.64/third");
        cam.profiles = vec![profile("MPEG4", 640, "old")];
        assert_eq!(best(&cam), None);
    }
}
