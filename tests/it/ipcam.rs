//! Network cameras' HTTP snapshot URLs against a real third-party server on loopback:
//! lighttpd (Debian's package) with its own HTTP Digest and Basic authentication, serving
//! JPEGs at the paths Hikvision and Dahua cameras use. Unplug (server stopped), replug, wrong
//! password, missing credentials, a stalled camera and garbage frames each have an exact
//! outcome.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ipcam_support::{
    credentials, jpeg, mean_rgb, Lighttpd, RtspServer, DAHUA, HIKVISION, PASSWORD, USER,
};

use motcua::recorder::camera::http_snapshot::HttpSnapshotCamera;
use motcua::recorder::camera::worker::{CameraState, CameraWorker};
use motcua::recorder::camera::{CameraError, FrameSource, PixelData};
use motcua::recorder::clock::RealClocks;

fn camera(url: &str, creds: Option<PathBuf>) -> HttpSnapshotCamera {
    HttpSnapshotCamera::new(url, creds, Duration::from_millis(200)).unwrap()
}

fn jpeg_of(data: &PixelData) -> Vec<u8> {
    match data {
        PixelData::Jpeg(j) => j.to_vec(),
        other => panic!("expected a JPEG, got {other:?}"),
    }
}

#[test]
fn digest_and_basic_cameras_deliver_their_jpegs_as_sent_and_follow_changes() {
    let srv = Lighttpd::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}\n"));
    for (path, size) in [(HIKVISION, (640, 360)), (DAHUA, (320, 240))] {
        let mut cam = camera(&srv.url(path), Some(creds.clone()));
        let info = cam.start().unwrap();
        assert_eq!((info.width, info.height), size, "{path}");
        let served = std::fs::read(srv.file(path)).unwrap();
        assert!(
            jpeg_of(&cam.next_frame().unwrap().data) == served,
            "{path}: not as served"
        );
        // The camera's picture changes; the next fetch has it (digest nonce reused, nc counts).
        let newer = jpeg(size.0, size.1, 30);
        // Replaced whole, as a camera's frame buffer is (a half-written file is a torn JPEG).
        let tmp = srv.file(path).with_extension("new");
        std::fs::write(&tmp, &newer).unwrap();
        std::fs::rename(&tmp, srv.file(path)).unwrap();
        for _ in 0..2 {
            let got = jpeg_of(&cam.next_frame().unwrap().data);
            assert!(got == newer, "{path}: the changed picture did not arrive");
        }
        cam.stop();
    }
}

#[test]
fn wrong_or_missing_credentials_are_named_and_the_password_never_shows() {
    let srv = Lighttpd::start();
    let secrets = tempfile::tempdir().unwrap();
    let wrong = credentials(secrets.path(), &format!("{USER}:not-{PASSWORD}"));
    for path in [HIKVISION, DAHUA] {
        let err = camera(&srv.url(path), Some(wrong.clone()))
            .start()
            .unwrap_err();
        assert_eq!(
            err,
            CameraError::Io {
                device: srv.url(path),
                message: "refused the user name or password (HTTP 401)".into()
            }
        );
        assert!(!format!("{err} {err:?}").contains(PASSWORD));
        assert_eq!(
            camera(&srv.url(path), None)
                .start()
                .unwrap_err()
                .to_string(),
            format!(
                "camera {}: asks for a user name and password (HTTP 401); set credentials_file",
                srv.url(path)
            )
        );
    }
    let bad_file = credentials(secrets.path(), "just-a-password");
    assert_eq!(
        camera(&srv.url(HIKVISION), Some(bad_file.clone()))
            .start()
            .unwrap_err()
            .to_string(),
        format!(
            "camera {}: credentials_file {} must hold one line `user:password`",
            srv.url(HIKVISION),
            bad_file.display()
        )
    );
}

#[test]
fn garbage_and_stalled_cameras_fail_with_exact_errors() {
    let srv = Lighttpd::start();
    let err = camera(&srv.url("/garbage/picture"), None)
        .start()
        .unwrap_err();
    assert!(
        matches!(&err, CameraError::BadFrame { message, .. } if message.starts_with("not a JPEG")),
        "{err}"
    );
    assert_eq!(
        camera(&srv.url("/missing"), None)
            .start()
            .unwrap_err()
            .to_string(),
        format!("camera {}: answered HTTP 404", srv.url("/missing"))
    );

    // A camera that accepts the connection and never answers.
    let stalled = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/picture", stalled.local_addr().unwrap());
    let t0 = Instant::now();
    let err = camera(&url, None).start().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("camera {url}: did not answer within 5 s")
    );
    assert!(t0.elapsed() < Duration::from_secs(9), "{:?}", t0.elapsed());
}

#[test]
fn an_unplugged_camera_degrades_and_streams_again_when_it_returns() {
    let mut srv = Lighttpd::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let url = srv.url(HIKVISION);
    let mut worker =
        CameraWorker::spawn(Box::new(camera(&url, Some(creds))), 4, Arc::new(RealClocks));
    let until = |what: &str, f: &dyn Fn(&CameraState) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = worker.status();
            if f(&s.state) {
                return s;
            }
            assert!(Instant::now() < deadline, "{what}: {:?}", s.state);
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    until("streaming", &|s| matches!(s, CameraState::Streaming { .. }));
    assert!(worker
        .ring
        .latest(Duration::from_secs(5), Duration::from_secs(2))
        .is_some());

    srv.unplug();
    let s = until("degraded", &|s| matches!(s, CameraState::Degraded { .. }));
    let CameraState::Degraded { error, .. } = s.state else {
        unreachable!()
    };
    assert_eq!(error, format!("camera {url} is not connected"));
    assert!(worker.ring.is_empty(), "no stale frame outlives the camera");

    srv.plug();
    let s = until("streaming again", &|s| {
        matches!(s, CameraState::Streaming { .. })
    });
    assert_eq!(s.starts, 2);
    worker.stop();
}

#[test]
fn an_rtsp_mjpeg_stream_arrives_frame_by_frame_with_digest_auth() {
    use motcua::recorder::camera::rtsp::RtspCamera;
    let mut srv = RtspServer::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));

    let mut cam = RtspCamera::new(&srv.url("/mjpeg"), Some(creds.clone())).unwrap();
    let info = cam.start().unwrap();
    assert_eq!((info.width, info.height), (320, 240));
    let mut frames = Vec::new();
    for _ in 0..5 {
        let f = cam.next_frame().unwrap();
        assert_eq!((f.width, f.height), (320, 240));
        let j = jpeg_of(&f.data);
        // Each is a whole JPEG (retina rebuilt its headers) that a decoder accepts.
        let mut d = jpeg_decoder::Decoder::new(&j[..]);
        d.decode().unwrap();
        frames.push(j);
    }
    frames.dedup();
    assert!(
        frames.len() > 1,
        "the test pattern moves; frames must differ"
    );

    // The server goes away: the stream fails, then comes back on a new start.
    srv.unplug();
    let err = (0..20).find_map(|_| cam.next_frame().err()).unwrap();
    assert!(
        matches!(&err, CameraError::Io { message, .. }
            if message == "ended the stream" || message.starts_with("sent no frame")
                || message.starts_with("the stream failed")),
        "{err}"
    );
    cam.stop();
    assert_eq!(
        cam.start().unwrap_err(),
        CameraError::Unreachable {
            device: srv.url("/mjpeg"),
            address: format!("127.0.0.1:{}", srv.port),
            reason: "connection refused".into()
        }
    );
    srv.plug();
    assert_eq!(cam.start().unwrap().width, 320);
    cam.stop();

    let other = tempfile::tempdir().unwrap();
    let wrong = credentials(other.path(), &format!("{USER}:nope"));
    let err = RtspCamera::new(&srv.url("/mjpeg"), Some(wrong))
        .unwrap()
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "camera {}: refused the user name or password (RTSP 401)",
            srv.url("/mjpeg")
        )
    );
    assert!(!format!("{err:?}").contains(PASSWORD));
}

#[test]
fn an_rtsp_h264_stream_keeps_keyframes_and_a_snapshot_decodes_one() {
    use motcua::recorder::camera::rtsp::RtspCamera;
    use motcua::recorder::camera::PixelFormat;
    use motcua::recorder::config::RecorderConfig;
    use motcua::recorder::{keyframe, Reason, Recorder, RecorderError};
    let srv = RtspServer::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));

    // The source hands over keyframes only: SPS + PPS + IDR, about one a second (GOP 10 at
    // 10 frames/s), each decodable alone into the picture the camera sees (solid red).
    let mut cam = RtspCamera::new(&srv.url("/h264red"), Some(creds.clone())).unwrap();
    let info = cam.start().unwrap();
    assert_eq!(info.format, PixelFormat::H264);
    assert_eq!((info.width, info.height), (320, 240));
    let mut times = Vec::new();
    for _ in 0..3 {
        let f = cam.next_frame().unwrap();
        times.push(Instant::now());
        let PixelData::H264Keyframe(k) = &f.data else {
            panic!("expected a keyframe, got {:?}", f.data)
        };
        keyframe::check_h264(k).unwrap();
        let (j, w, h) = keyframe::h264_to_jpeg(k, 85).unwrap();
        assert_eq!((w, h), (320, 240));
        let (r, g, b, size) = mean_rgb(&j);
        assert_eq!(size, (320, 240));
        assert!(r > 200 && g < 60 && b < 60, "red picture: mean {r},{g},{b}");
    }
    let gap = times[2] - times[1];
    assert!(
        gap > Duration::from_millis(500),
        "frames between keyframes are skipped, not kept: {gap:?}"
    );
    cam.stop();

    // Through the recorder: a trigger waits for the next keyframe (never older than one frame
    // interval, as for USB) and stores its decoded JPEG.
    let data = tempfile::tempdir().unwrap();
    let cam = RtspCamera::new(&srv.url("/h264red"), Some(creds.clone())).unwrap();
    let long = RtspCamera::new(&srv.url("/h264longgop"), Some(creds)).unwrap();
    let (rec, _) = Recorder::start(
        data.path(),
        &RecorderConfig::default(),
        vec![(1, Box::new(cam)), (2, Box::new(long))],
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rec
        .cameras()
        .iter()
        .all(|(_, s)| matches!(s.state, CameraState::Streaming { .. }))
    {
        assert!(Instant::now() < deadline, "{:?}", rec.cameras());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500)); // the ring's keyframe is now stale
    let reason = Reason::parse("started").unwrap();
    let t0 = Instant::now();
    let snap = rec.capture_for(1, None, &reason).unwrap();
    let waited = t0.elapsed();
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    assert_eq!((snap.width, snap.height), (320, 240));
    let age = snap.frame_age_ms.unwrap();
    assert!(
        age <= 200,
        "the keyframe is from after the trigger or within one interval: {age} ms"
    );
    let stored = {
        let st = rec.store().lock().unwrap();
        std::fs::read(st.dir().path_of(&snap.sha256)).unwrap()
    };
    let (r, g, b, size) = mean_rgb(&stored);
    assert_eq!(size, (320, 240));
    assert!(
        r > 200 && g < 60 && b < 60,
        "stored red picture: {r},{g},{b}"
    );

    // A camera whose keyframes are a minute apart: the trigger waits, then fails with advice.
    let err = rec.capture_for(2, None, &reason).unwrap_err();
    assert!(matches!(err, RecorderError::NoFrame { counter: 2, .. }));
    assert_eq!(
        err.to_string(),
        "the camera of counter 2 has no current frame (streaming H.264, but no keyframe \
         within 3 s: set the camera's I-frame (keyframe) interval to 1–2 s); check its cable"
    );
    // ... and the worker says so too once the stream has gone 10 s without one.
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        let s = rec.cameras()[1].1.clone();
        if let CameraState::Degraded { error, .. } = s.state {
            break error;
        }
        assert!(Instant::now() < deadline, "{s:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        error,
        format!(
            "camera {}: sent no H.264 keyframe for 10 s: set the camera's I-frame (keyframe) \
             interval to 1–2 s",
            srv.url("/h264longgop")
        )
    );
}

/// The review's bug: a powered-off camera read "did not answer". Nothing listening (a closed
/// loopback port: refused) is "not connected" naming host:port; a server that takes the
/// connection and never answers RTSP is told apart.
#[test]
fn an_rtsp_camera_that_takes_no_connection_is_not_connected_naming_host_and_port() {
    use motcua::recorder::camera::rtsp::RtspCamera;
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port(); // closed again: nothing listens there
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let url = format!("rtsp://127.0.0.1:{port}/Streaming/Channels/102");
    let err = RtspCamera::new(&url, Some(creds.clone()))
        .unwrap()
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("camera {url} is not connected (127.0.0.1:{port}: connection refused)")
    );
    assert!(!format!("{err:?}").contains(PASSWORD));

    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "rtsp://{}/Streaming/Channels/102",
        silent.local_addr().unwrap()
    );
    let err = RtspCamera::new(&url, Some(creds))
        .unwrap()
        .start()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("camera {url}: connected but did not answer RTSP within 10 s")
    );
}

/// The review's bug: stopping a camera never sent TEARDOWN (retina sends it from a task that
/// the camera's runtime, dropped at once, cancelled). GStreamer's server reports it.
#[test]
fn stopping_an_rtsp_camera_worker_sends_teardown_before_closing() {
    use motcua::recorder::camera::rtsp::RtspCamera;
    let srv = RtspServer::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));
    let cam = RtspCamera::new(&srv.url("/mjpeg"), Some(creds)).unwrap();
    let mut worker = CameraWorker::spawn(Box::new(cam), 4, Arc::new(RealClocks));
    let deadline = Instant::now() + Duration::from_secs(20);
    while worker.ring.is_empty() {
        assert!(Instant::now() < deadline, "{:?}", worker.status().state);
        std::thread::sleep(Duration::from_millis(20));
    }
    // only the reachability check's connection has come and gone
    let before = srv.events();
    assert_eq!(before, ["CLOSED"]);
    worker.stop();
    assert_eq!(worker.status().state, CameraState::Stopped);
    // the worker's stop waited for the answer: TEARDOWN is there as soon as it returns
    assert_eq!(srv.events()[1..2], ["TEARDOWN /mjpeg"]);
    let t0 = Instant::now();
    while srv.events().len() < 3 && t0.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(srv.events(), ["CLOSED", "TEARDOWN /mjpeg", "CLOSED"]);
}

#[test]
fn an_rtsp_h265_stream_keeps_keyframes_and_a_snapshot_decodes_one() {
    use motcua::recorder::camera::rtsp::RtspCamera;
    use motcua::recorder::camera::PixelFormat;
    use motcua::recorder::config::RecorderConfig;
    use motcua::recorder::{keyframe_h265, Reason, Recorder, RecorderError};
    let srv = RtspServer::start();
    let secrets = tempfile::tempdir().unwrap();
    let creds = credentials(secrets.path(), &format!("{USER}:{PASSWORD}"));

    // The source hands over keyframes only: VPS + SPS + PPS + an IRAP picture, about one a
    // second (GOP 10 at 10 frames/s), each decodable alone by libde265 into the picture the
    // camera sees (solid red). x265's open GOP starts with an IDR and goes on with CRA
    // pictures, which retina does not mark as keyframes: the camera finds them itself.
    let mut cam = RtspCamera::new(&srv.url("/h265red"), Some(creds.clone())).unwrap();
    let info = cam.start().unwrap();
    assert_eq!(info.format, PixelFormat::H265);
    assert_eq!((info.width, info.height), (320, 240));
    assert_eq!(
        info.description,
        format!("RTSP H.265 (keyframes) {}", srv.url("/h265red"))
    );
    let (mut times, mut slices) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let f = cam.next_frame().unwrap();
        times.push(Instant::now());
        let PixelData::H265Keyframe(k) = &f.data else {
            panic!("expected an H.265 keyframe, got {:?}", f.data)
        };
        keyframe_h265::check_h265(k).unwrap();
        slices.push(keyframe_h265::first_slice_type(k).unwrap());
        let (j, w, h) = keyframe_h265::h265_to_jpeg(k, 85).unwrap();
        assert_eq!((w, h), (320, 240));
        let (r, g, b, size) = mean_rgb(&j);
        assert_eq!(size, (320, 240));
        assert!(r > 200 && g < 60 && b < 60, "red picture: mean {r},{g},{b}");
    }
    let gap = times[2] - times[1];
    assert!(
        gap > Duration::from_millis(500),
        "frames between keyframes are skipped, not kept: {gap:?}"
    );
    assert!(slices.contains(&21), "CRA keyframes are kept: {slices:?}");
    cam.stop();

    // Through the recorder: a trigger waits for the next keyframe (never older than one frame
    // interval, as for USB) and stores its decoded JPEG.
    let data = tempfile::tempdir().unwrap();
    let cam = RtspCamera::new(&srv.url("/h265red"), Some(creds.clone())).unwrap();
    let long = RtspCamera::new(&srv.url("/h265longgop"), Some(creds)).unwrap();
    let (rec, _) = Recorder::start(
        data.path(),
        &RecorderConfig::default(),
        vec![(1, Box::new(cam)), (2, Box::new(long))],
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rec
        .cameras()
        .iter()
        .all(|(_, s)| matches!(s.state, CameraState::Streaming { .. }))
    {
        assert!(Instant::now() < deadline, "{:?}", rec.cameras());
        std::thread::sleep(Duration::from_millis(50));
    }
    let streaming_since = Instant::now();
    std::thread::sleep(Duration::from_millis(1500)); // the ring's keyframe is now stale
    let reason = Reason::parse("started").unwrap();
    let t0 = Instant::now();
    let snap = rec.capture_for(1, None, &reason).unwrap();
    let waited = t0.elapsed();
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    assert_eq!((snap.width, snap.height), (320, 240));
    let age = snap.frame_age_ms.unwrap();
    assert!(
        age <= 200,
        "the keyframe is from after the trigger or within one interval: {age} ms"
    );
    let stored = {
        let st = rec.store().lock().unwrap();
        std::fs::read(st.dir().path_of(&snap.sha256)).unwrap()
    };
    let (r, g, b, size) = mean_rgb(&stored);
    assert_eq!(size, (320, 240));
    assert!(
        r > 200 && g < 60 && b < 60,
        "stored red picture: {r},{g},{b}"
    );
    // Only keyframes reached the ring: about one a second of a 10 frames/s stream, none
    // rejected as incomplete.
    let status = rec.cameras()[0].1.clone();
    let secs = streaming_since.elapsed().as_secs_f64();
    assert!(
        status.frames as f64 <= secs + 3.0,
        "{} frames in {secs:.1} s: only keyframes are kept",
        status.frames
    );
    assert_eq!(status.rejected, 0, "{status:?}");

    // A camera whose keyframes are a minute apart: the trigger waits, then fails with advice.
    let err = rec.capture_for(2, None, &reason).unwrap_err();
    assert!(matches!(err, RecorderError::NoFrame { counter: 2, .. }));
    assert_eq!(
        err.to_string(),
        "the camera of counter 2 has no current frame (streaming H.265, but no keyframe \
         within 3 s: set the camera's I-frame (keyframe) interval to 1–2 s); check its cable"
    );
    // ... and the worker says so too once the stream has gone 10 s without one.
    let deadline = Instant::now() + Duration::from_secs(20);
    let error = loop {
        let s = rec.cameras()[1].1.clone();
        if let CameraState::Degraded { error, .. } = s.state {
            break error;
        }
        assert!(Instant::now() < deadline, "{s:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        error,
        format!(
            "camera {}: sent no H.265 keyframe for 10 s: set the camera's I-frame (keyframe) \
             interval to 1–2 s",
            srv.url("/h265longgop")
        )
    );
}
