//! A network camera's RTSP stream as a frame source (issue 17, part), through `retina` — the
//! RTSP client Moonfire NVR is built on, which copes with the quirks of cheap IP cameras.
//!
//! MJPEG streams (RTP/JPEG, RFC 2435; retina rebuilds each full JPEG) go into the ring as
//! sent, like a USB camera's MJPEG. H.264 and H.265 streams put only their keyframes in the
//! ring (each IDR access unit with its SPS and PPS, or each H.265 IRAP access unit with its
//! VPS, SPS and PPS, Annex B, as retina's `FrameFormat::SIMPLE` gives them), stamped on
//! arrival; the frames between are dropped unread and a snapshot decodes the keyframe
//! (`recorder::keyframe`, `recorder::keyframe_h265`). A stream with no keyframe for
//! [`KEYFRAME_TIMEOUT`] fails with advice on the camera's I-frame interval. RTP comes
//! interleaved on the RTSP TCP connection, which crosses NAT and firewalls and loses nothing
//! on a busy LAN.
//!
//! The camera's clock is kept beside each frame, never trusted: the last RTCP sender report
//! maps RTP time to the camera's NTP wall clock, and each frame's RTP timestamp is mapped
//! through it (frames before the first report have none).
//!
//! A camera whose address takes no TCP connection is "not connected (host:port: connection
//! refused)"; one that connects and then stays silent "connected but did not answer RTSP".
//! Stopping sends TEARDOWN and waits for the answer (at most [`TEARDOWN_WAIT`]).
//!
//! Credentials come from the secrets file (as for snapshot URLs; retina answers Basic and
//! Digest) and never appear in names or errors.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use retina::client::{
    Credentials as RtspCredentials, Demuxed, PlayOptions, Session, SessionGroup, SessionOptions,
    SetupOptions, TcpTransportOptions, Transport,
};
use retina::codec::{CodecItem, FrameFormat, VideoParametersCodec};

use super::http_snapshot::Credentials;
use super::{CameraError, FrameSource, PixelData, PixelFormat, RawFrame, StreamInfo};
use crate::recorder::{jpeg, keyframe_h265};

/// How long the TCP connection to the camera may take before it counts as not connected.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long DESCRIBE/SETUP/PLAY and the first frame may take (cameras and NVRs start their
/// encoder on the first client).
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long each later frame may take.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an H.264 or H.265 stream may go without a keyframe (cameras default to 2–4 s;
/// technicians set 1–2 s, see docs/cameras.md).
pub const KEYFRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// How long stopping waits for the camera to answer TEARDOWN (on the stream's own connection;
/// retina's default policy for TCP tries that once).
pub const TEARDOWN_WAIT: Duration = Duration::from_secs(2);

/// What the chosen stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Jpeg,
    H264,
    H265,
}

impl Codec {
    /// The codec's name in messages (`None` for MJPEG, which has no keyframes to wait for).
    fn keyframe_codec(self) -> Option<&'static str> {
        match self {
            Codec::Jpeg => None,
            Codec::H264 => Some(crate::recorder::keyframe::H264),
            Codec::H265 => Some(crate::recorder::keyframe::H265),
        }
    }
}

pub struct RtspCamera {
    url: url::Url,
    shown: String,
    credentials_file: Option<PathBuf>,
    runtime: Option<tokio::runtime::Runtime>,
    stream: Option<Pin<Box<Demuxed>>>,
    pending: Option<RawFrame>,
    codec: Codec,
    size: (u32, u32),
    /// The chosen stream's index in the session.
    stream_index: usize,
    /// The last sender report: the camera's wall clock (Unix ms) at an RTP timestamp.
    sender_report: Option<SenderReport>,
    /// The sessions of the current runtime, so stopping can wait for their TEARDOWN: retina
    /// sends it from a task spawned when the session is dropped, which a runtime dropped
    /// right after would cancel unsent.
    sessions: Arc<SessionGroup>,
}

#[derive(Debug, Clone, Copy)]
struct SenderReport {
    wall_ms: i64,
    rtp: i64,
    clock_rate: u32,
}

impl SenderReport {
    /// The camera's clock at RTP time `rtp` (the same timeline, extended to 64 bits).
    fn at(&self, rtp: i64) -> i64 {
        self.wall_ms + (rtp - self.rtp) * 1000 / i64::from(self.clock_rate.max(1))
    }
}

/// An NTP timestamp (seconds since 1900 in the upper 32 bits, fraction below) in Unix ms.
fn ntp_to_unix_ms(ntp: u64) -> i64 {
    let secs = (ntp >> 32) as i64 - 2_208_988_800;
    let frac_ms = ((ntp & 0xffff_ffff) * 1000) >> 32;
    secs * 1000 + frac_ms as i64
}

impl RtspCamera {
    /// A camera at `rtsp://host[:port]/path` (no credentials in it).
    pub fn new(url: &str, credentials_file: Option<PathBuf>) -> Result<RtspCamera, String> {
        let url = url::Url::parse(url).map_err(|e| format!("{e}"))?;
        if url.scheme() != "rtsp" || url.host_str().is_none() {
            return Err("must be an rtsp:// URL with a host".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry a user name or password; put them in credentials_file".into(),
            );
        }
        let shown = format!(
            "rtsp://{}{}",
            url.host_str().unwrap_or(""),
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ) + url.path();
        Ok(RtspCamera {
            url,
            shown,
            credentials_file,
            runtime: None,
            stream: None,
            pending: None,
            codec: Codec::Jpeg,
            size: (0, 0),
            stream_index: 0,
            sender_report: None,
            sessions: Arc::default(),
        })
    }

    fn io(&self, message: impl Into<String>) -> CameraError {
        CameraError::Io {
            device: self.shown.clone(),
            message: message.into(),
        }
    }

    fn credentials(&self) -> Result<Option<RtspCredentials>, CameraError> {
        let c = self
            .credentials_file
            .as_deref()
            .map(Credentials::from_file)
            .transpose()
            .map_err(|m| self.io(m))?;
        Ok(c.map(|c| RtspCredentials {
            username: c.user,
            password: c.password,
        }))
    }

    /// Say what went wrong without retina's dump of the exchange (which may be long).
    fn rtsp_error(&self, e: &retina::Error) -> CameraError {
        match e.status_code() {
            Some(401) if self.credentials_file.is_some() => {
                self.io("refused the user name or password (RTSP 401)")
            }
            Some(401) => {
                self.io("asks for a user name and password (RTSP 401); set credentials_file")
            }
            Some(code) => self.io(format!("answered RTSP {code}")),
            None => {
                let text = e.to_string();
                if text.contains("Connection refused") || text.contains("No route to host") {
                    CameraError::NotConnected(self.shown.clone())
                } else {
                    let first = text.lines().next().unwrap_or("").chars().take(160);
                    self.io(format!("the stream failed ({})", first.collect::<String>()))
                }
            }
        }
    }

    fn frame_from(
        &self,
        data: &[u8],
        camera_time_ms: Option<i64>,
    ) -> Result<RawFrame, CameraError> {
        let bad = |message: String| CameraError::BadFrame {
            device: self.shown.clone(),
            message,
        };
        let j = jpeg::trim_to_eoi(data).map_err(|e| bad(format!("not a JPEG: {e}")))?;
        let (width, height) = jpeg::dimensions(j).map_err(|e| bad(format!("not a JPEG: {e}")))?;
        Ok(RawFrame {
            width,
            height,
            data: PixelData::Jpeg(j.into()),
            camera_time_ms,
            began: None,
        })
    }

    /// `host:port` of the camera's RTSP service (554 unless the URL says otherwise).
    fn address(&self) -> String {
        let port = self.url.port().unwrap_or(554);
        format!("{}:{port}", self.url.host_str().unwrap_or(""))
    }

    /// A TCP connection to the camera first, so that a camera powered off, unplugged or at a
    /// wrong address (refused, unreachable, no answer within [`CONNECT_TIMEOUT`]) reads as
    /// not connected, apart from one that connects and then does not answer RTSP.
    async fn reach(&self) -> Result<(), CameraError> {
        let address = self.address();
        let connect = tokio::net::TcpStream::connect(address.as_str());
        let reason = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => match e.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::HostUnreachable => "host unreachable".to_owned(),
                std::io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
                std::io::ErrorKind::TimedOut => "no answer".to_owned(),
                _ => e.to_string(),
            },
            Err(_) => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        };
        Err(CameraError::Unreachable {
            device: self.shown.clone(),
            address,
            reason,
        })
    }

    async fn open(&mut self) -> Result<Pin<Box<Demuxed>>, CameraError> {
        self.reach().await?;
        let options = SessionOptions::default()
            .creds(self.credentials()?)
            .session_group(self.sessions.clone())
            .user_agent(format!("motcua/{}", env!("CARGO_PKG_VERSION")));
        let mut session = Session::describe(self.url.clone(), options)
            .await
            .map_err(|e| self.rtsp_error(&e))?;
        let video: Vec<(usize, String)> = session
            .streams()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.media() == "video")
            .map(|(i, s)| (i, s.encoding_name().to_ascii_uppercase()))
            .collect();
        // MJPEG first (stored as sent, nothing to decode), then H.264, then H.265.
        let pick = |name: &str| video.iter().find(|(_, n)| n == name).map(|(i, _)| *i);
        let (i, codec) = match (pick("JPEG"), pick("H264"), pick("H265")) {
            (Some(i), _, _) => (i, Codec::Jpeg),
            (None, Some(i), _) => (i, Codec::H264),
            (None, None, Some(i)) => (i, Codec::H265),
            (None, None, None) => {
                let offered: Vec<&str> = video.iter().map(|(_, n)| n.as_str()).collect();
                return Err(CameraError::NoUsableFormat {
                    device: self.shown.clone(),
                    offered: if offered.is_empty() {
                        "no video".into()
                    } else {
                        offered.join(", ")
                    },
                });
            }
        };
        self.codec = codec;
        self.stream_index = i;
        self.sender_report = None;
        session
            .setup(
                i,
                SetupOptions::default()
                    .transport(Transport::Tcp(TcpTransportOptions::default()))
                    // Annex B with (VPS/)SPS/PPS before every keyframe: each decodes alone.
                    .frame_format(FrameFormat::SIMPLE),
            )
            .await
            .map_err(|e| self.rtsp_error(&e))?;
        let playing = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| self.rtsp_error(&e))?;
        let demuxed = playing.demuxed().map_err(|e| self.rtsp_error(&e))?;
        Ok(Box::pin(demuxed))
    }

    /// The next frame for the ring from an open stream: every MJPEG frame, or the next H.264
    /// or H.265 keyframe (within [`KEYFRAME_TIMEOUT`]; the frames between are skipped).
    async fn next_video(
        &mut self,
        stream: &mut Pin<Box<Demuxed>>,
    ) -> Result<RawFrame, CameraError> {
        let keyframe_by = tokio::time::Instant::now() + KEYFRAME_TIMEOUT;
        // Counted from the last video frame, not the last packet: a camera whose encoder froze
        // but which still sends RTCP sender reports is stalled, not streaming.
        let mut video_by = tokio::time::Instant::now() + FRAME_TIMEOUT;
        loop {
            let item = tokio::time::timeout_at(video_by, stream.next())
                .await
                .map_err(|_| self.io(format!("sent no frame for {} s", FRAME_TIMEOUT.as_secs())))?;
            match item {
                None => return Err(self.io("ended the stream")),
                Some(Err(e)) => return Err(self.rtsp_error(&e)),
                Some(Ok(CodecItem::Rtcp(p))) if p.stream_id() == self.stream_index => {
                    let sr = p
                        .pkts()
                        .next()
                        .and_then(|pkt| pkt.as_sender_report().ok().flatten())
                        .map(|sr| sr.ntp_timestamp().0);
                    if let (Some(ntp), Some(ts)) = (sr, p.rtp_timestamp()) {
                        self.sender_report = Some(SenderReport {
                            wall_ms: ntp_to_unix_ms(ntp),
                            rtp: ts.timestamp(),
                            clock_rate: ts.clock_rate().get(),
                        });
                    }
                }
                Some(Ok(CodecItem::VideoFrame(f))) => {
                    video_by = tokio::time::Instant::now() + FRAME_TIMEOUT;
                    let Some(codec) = self.codec.keyframe_codec() else {
                        let at = self.camera_time(&f);
                        return self.frame_from(f.data(), at);
                    };
                    // retina also counts an access unit with no picture at all (only SEI or
                    // parameter sets) as random access: nothing to keep, and no bad frame.
                    if self.codec == Codec::H265
                        && keyframe_h265::first_slice_type(f.data()).is_none()
                    {
                        continue;
                    }
                    // retina (0.4.21) marks only IDR pictures as random access points; an
                    // H.265 CRA or BLA picture is one too, but comes without its VPS, SPS
                    // and PPS, which are put before it here from the session's parameters.
                    let cra_or_bla = !f.is_random_access_point()
                        && self.codec == Codec::H265
                        && keyframe_h265::starts_irap(f.data());
                    if f.is_random_access_point() || cra_or_bla {
                        let mut sets = Vec::new();
                        if let Some(retina::codec::ParametersRef::Video(v)) = stream
                            .streams()
                            .get(f.stream_id())
                            .and_then(|s| s.parameters())
                        {
                            self.size = v.pixel_dimensions();
                            if let (true, VideoParametersCodec::H265 { vps, sps, pps }) =
                                (cra_or_bla, v.codec_params())
                            {
                                sets = keyframe_h265::annexb(&[vps, sps, pps]);
                            }
                        }
                        let at = self.camera_time(&f);
                        let data = if sets.is_empty() {
                            f.into_data()
                        } else {
                            sets.extend_from_slice(f.data());
                            sets
                        };
                        return self.keyframe_from(data, at);
                    }
                    if tokio::time::Instant::now() > keyframe_by {
                        return Err(self.io(format!(
                            "sent no {codec} keyframe for {} s: set the camera's I-frame \
                             (keyframe) interval to 1–2 s",
                            KEYFRAME_TIMEOUT.as_secs()
                        )));
                    }
                }
                Some(Ok(_)) => continue, // RTCP, audio, metadata
            }
        }
    }

    fn camera_time(&self, f: &retina::codec::VideoFrame) -> Option<i64> {
        self.sender_report
            .map(|sr| sr.at(f.timestamp().timestamp()))
    }

    fn keyframe_from(
        &self,
        data: Vec<u8>,
        camera_time_ms: Option<i64>,
    ) -> Result<RawFrame, CameraError> {
        let bad = |e: crate::recorder::keyframe::KeyframeError| CameraError::BadFrame {
            device: self.shown.clone(),
            message: e.to_string(),
        };
        // The decoders allocate what the stream's parameter sets declare: a hostile or broken
        // camera claiming 30000×30000 must not take the recorder's memory.
        let pixels = u64::from(self.size.0) * u64::from(self.size.1);
        if pixels > keyframe_h265::MAX_PIXELS {
            return Err(CameraError::BadFrame {
                device: self.shown.clone(),
                message: format!(
                    "a {}×{} picture is larger than the {} pixels this device decodes (4096×2176)",
                    self.size.0,
                    self.size.1,
                    keyframe_h265::MAX_PIXELS
                ),
            });
        }
        let data = if self.codec == Codec::H265 {
            keyframe_h265::check_h265(&data).map_err(bad)?;
            PixelData::H265Keyframe(data.into())
        } else {
            crate::recorder::keyframe::check_h264(&data).map_err(bad)?;
            PixelData::H264Keyframe(data.into())
        };
        Ok(RawFrame {
            width: self.size.0,
            height: self.size.1,
            data,
            camera_time_ms,
            began: None,
        })
    }
}

impl FrameSource for RtspCamera {
    fn name(&self) -> String {
        self.shown.clone()
    }

    fn start(&mut self) -> Result<StreamInfo, CameraError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| self.io(format!("cannot start its runtime: {e}")))?;
        // One group per runtime: a group's TEARDOWN tasks live and die with their runtime.
        self.sessions = Arc::default();
        let opened = runtime.block_on(async {
            let mut stream = match tokio::time::timeout(START_TIMEOUT, self.open()).await {
                Ok(s) => s?,
                Err(_) => {
                    return Err(self.io(format!(
                        "connected but did not answer RTSP within {} s",
                        START_TIMEOUT.as_secs()
                    )))
                }
            };
            let first = self.next_video(&mut stream).await?;
            Ok::<_, CameraError>((stream, first))
        });
        let (stream, first) = match opened {
            Ok(o) => o,
            Err(e) => {
                // a session set up before the failure is torn down before the runtime goes
                runtime.block_on(wait_teardown(&self.sessions));
                return Err(e);
            }
        };
        let (format, kind) = match self.codec {
            Codec::Jpeg => (PixelFormat::Mjpeg, "MJPEG"),
            Codec::H264 => (PixelFormat::H264, "H.264 (keyframes)"),
            Codec::H265 => (PixelFormat::H265, "H.265 (keyframes)"),
        };
        let info = StreamInfo {
            format,
            width: first.width,
            height: first.height,
            description: format!("RTSP {kind} {}", self.shown),
        };
        self.pending = Some(first);
        self.stream = Some(stream);
        self.runtime = Some(runtime);
        Ok(info)
    }

    fn next_frame(&mut self) -> Result<RawFrame, CameraError> {
        if let Some(f) = self.pending.take() {
            return Ok(f);
        }
        let (Some(runtime), Some(mut stream)) = (self.runtime.take(), self.stream.take()) else {
            return Err(self.io("not started"));
        };
        let r = runtime.block_on(self.next_video(&mut stream));
        self.runtime = Some(runtime);
        self.stream = Some(stream);
        r
    }

    fn stop(&mut self) {
        self.pending = None;
        // Dropping the session inside its runtime spawns retina's TEARDOWN; the runtime is
        // kept until the camera answered it (or TEARDOWN_WAIT passed).
        if let Some(rt) = self.runtime.take() {
            if let Some(stream) = self.stream.take() {
                let _inside = rt.enter();
                drop(stream);
            }
            rt.block_on(wait_teardown(&self.sessions));
        }
    }
}

/// Wait (at most [`TEARDOWN_WAIT`]) for the TEARDOWN of every session dropped in `group`.
async fn wait_teardown(group: &SessionGroup) {
    if let Ok(Err(e)) = tokio::time::timeout(TEARDOWN_WAIT, group.await_teardown()).await {
        tracing::debug!(error = %e.to_string().lines().next().unwrap_or(""), "TEARDOWN failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_reports_map_rtp_time_to_the_cameras_clock() {
        // 2026-12-06T03:00:00Z is 4_005_514_800 s after 1900; a half second in the fraction.
        let ntp = (4_005_514_800u64 << 32) | 0x8000_0000;
        assert_eq!(ntp_to_unix_ms(ntp), 1_796_526_000_500);
        let sr = SenderReport {
            wall_ms: 1_796_526_000_500,
            rtp: 90_000,
            clock_rate: 90_000,
        };
        assert_eq!(sr.at(90_000 + 45_000), 1_796_526_001_000);
        assert_eq!(sr.at(0), 1_796_525_999_500);
    }

    /// A stream whose parameter sets declare a picture larger than the decoders' bound is
    /// refused as a bad frame before any decoder allocates for it.
    #[test]
    fn a_keyframe_larger_than_4k_is_refused_before_decoding() {
        let mut cam = RtspCamera::new("rtsp://192.168.1.64/x", None).unwrap();
        cam.codec = Codec::H265;
        cam.size = (30_000, 30_000);
        let err = cam.keyframe_from(vec![0, 0, 1, 0x40], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "camera rtsp://192.168.1.64/x sent a bad frame: a 30000×30000 picture is larger \
             than the 8912896 pixels this device decodes (4096×2176)"
        );
        cam.size = (4096, 2176);
        let err = cam.keyframe_from(vec![0, 0, 1, 0x40], None).unwrap_err();
        assert!(err.to_string().contains("lacks"), "{err}");
    }

    #[test]
    fn urls_are_checked_and_shown_without_credentials() {
        let cam =
            RtspCamera::new("rtsp://192.168.1.64:554/Streaming/Channels/102?x=1", None).unwrap();
        assert_eq!(cam.name(), "rtsp://192.168.1.64:554/Streaming/Channels/102");
        assert_eq!(
            RtspCamera::new("rtsp://admin:1@cam/x", None)
                .err()
                .as_deref(),
            Some("must not carry a user name or password; put them in credentials_file")
        );
        assert_eq!(
            RtspCamera::new("http://cam/x", None).err().as_deref(),
            Some("must be an rtsp:// URL with a host")
        );
    }
}
