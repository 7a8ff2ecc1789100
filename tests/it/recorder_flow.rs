//! The recorder through its library API with synthetic cameras: queue events and the
//! broadcast listener, YUYV encoding, camera loss and recovery, periodic snapshots, and
//! retention with a simulated clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use motcua::queue::{QueueEvent, QueueEventKind};
use motcua::record::RecordId;
use motcua::recorder::camera::synthetic::{SyntheticCamera, SyntheticControl};
use motcua::recorder::camera::worker::CameraState;
use motcua::recorder::camera::PixelFormat;
use motcua::recorder::clock::{Clocks, RealClocks, SimulatedClocks};
use motcua::recorder::config::{RecorderConfig, RetentionConfig};
use motcua::recorder::footage::{Filter, FootageStore};
use motcua::recorder::retention::{run_pass, FreeSpace};
use motcua::recorder::triggers::{snapshots_from_events, spawn_queue_listener, Periodic};
use motcua::recorder::{Reason, Recorder, RecorderError, Sources};

const REC: &str = "000.00.14.H56-251119-0042";

fn event(seq: u64, counter: u32, kind: QueueEventKind, record: Option<&str>) -> QueueEvent {
    QueueEvent {
        seq,
        counter,
        kind,
        ticket: Some("A012".into()),
        record_id: record.map(|r| RecordId::parse(r).unwrap()),
        waiting: None,
        at: "2026-11-23T10:00:00+07:00".into(),
    }
}

fn cams() -> (Sources, SyntheticControl) {
    let mjpeg = SyntheticCamera::new("cam1", 320, 240, 100, PixelFormat::Mjpeg);
    let ctl = mjpeg.control();
    let yuyv = SyntheticCamera::new("cam2", 320, 240, 100, PixelFormat::Yuyv);
    (vec![(1, Box::new(mjpeg)), (2, Box::new(yuyv))], ctl)
}

#[test]
fn queue_events_make_linked_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let (sources, _) = cams();
    let (rec, _) = Recorder::start(
        t.path(),
        &RecorderConfig::default(),
        sources,
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let got = snapshots_from_events(
        &rec,
        [
            event(1, 1, QueueEventKind::Called, None),
            event(2, 1, QueueEventKind::Started, Some(REC)),
            event(
                3,
                2,
                QueueEventKind::Started,
                Some("000.00.14.H56-251119-0043"),
            ),
            event(4, 1, QueueEventKind::Finished, None), // record from the Started event
            event(5, 7, QueueEventKind::Started, Some(REC)), // no camera at counter 7
            event(
                6,
                2,
                QueueEventKind::Finished,
                Some("000.00.14.H56-251119-0043"),
            ),
        ],
    );
    let snaps: Vec<_> = got.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(snaps.len(), 4);
    assert_eq!(snaps[0].record_id.as_deref(), Some(REC));
    assert_eq!((snaps[1].counter, snaps[1].reason.as_str()), (2, "started"));
    assert_eq!(
        (snaps[2].record_id.as_deref(), snaps[2].reason.as_str()),
        (Some(REC), "finished")
    );
    // the YUYV camera was encoded to a JPEG once, with a thumbnail beside it
    let st = rec.store().lock().unwrap();
    let file = std::fs::read(st.dir().path_of(&snaps[1].sha256)).unwrap();
    assert_eq!(
        motcua::recorder::jpeg::dimensions(&file).unwrap(),
        (320, 240)
    );
    assert_eq!(st.thumbnail(snaps[1].id).unwrap().unwrap().0, 320);
}

#[test]
fn broadcast_listener_captures_until_the_sender_is_dropped() {
    let t = tempfile::tempdir().unwrap();
    let (sources, _) = cams();
    let (rec, _) = Recorder::start(
        t.path(),
        &RecorderConfig::default(),
        sources,
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let rec = Arc::new(rec);
    let (tx, rx) = tokio::sync::broadcast::channel(16);
    let listener = spawn_queue_listener(rec.clone(), rx);
    tx.send(event(1, 1, QueueEventKind::Started, Some(REC)))
        .unwrap();
    tx.send(event(2, 1, QueueEventKind::Finished, Some(REC)))
        .unwrap();
    drop(tx);
    listener.join().unwrap();
    let rows = rec
        .store()
        .lock()
        .unwrap()
        .list(&Filter::default())
        .unwrap();
    assert_eq!(
        rows.iter().map(|s| s.reason.as_str()).collect::<Vec<_>>(),
        ["started", "finished"]
    );
}

#[test]
fn lost_camera_refuses_captures_then_recovers() {
    let t = tempfile::tempdir().unwrap();
    let (sources, ctl) = cams();
    let (rec, _) = Recorder::start(
        t.path(),
        &RecorderConfig::default(),
        sources,
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let record = RecordId::parse(REC).unwrap();
    let reason = Reason::parse("manual").unwrap();
    rec.capture(1, &record, &reason).unwrap();
    ctl.unplug();
    let t0 = std::time::Instant::now();
    while !matches!(rec.cameras()[0].1.state, CameraState::Degraded { .. }) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "never noticed the unplug"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let err = rec.capture(1, &record, &reason).unwrap_err();
    assert!(
        matches!(err, RecorderError::NoFrame { counter: 1, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "the camera of counter 1 has no current frame (degraded: camera cam1 is not connected); check its cable"
    );
    ctl.plug();
    // the worker retries with backoff (up to 10 s); no restart of the recorder is needed
    let t0 = std::time::Instant::now();
    while rec.cameras()[0].1.starts < 2 {
        assert!(t0.elapsed() < Duration::from_secs(15), "never reconnected");
        std::thread::sleep(Duration::from_millis(20));
    }
    rec.capture(1, &record, &reason).unwrap();
}

#[test]
fn periodic_snapshots_use_the_record_being_served() {
    let t = tempfile::tempdir().unwrap();
    let (sources, _) = cams();
    let (rec, _) = Recorder::start(
        t.path(),
        &RecorderConfig::default(),
        sources,
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let rec = Arc::new(rec);
    rec.on_queue_event(&event(1, 2, QueueEventKind::Started, Some(REC)));
    let p = Periodic::spawn(rec.clone(), vec![(2, Duration::from_millis(150))]);
    let rows = || {
        rec.store()
            .lock()
            .unwrap()
            .list(&Filter {
                counter: Some(2),
                ..Default::default()
            })
            .unwrap()
    };
    let count = |rows: &[motcua::recorder::footage::Snapshot]| {
        rows.iter().filter(|s| s.reason == "interval").count()
    };
    // Two intervals' worth at least; waiting for them rather than a fixed time keeps a busy
    // machine (slow debug captures) from failing it.
    let t0 = std::time::Instant::now();
    while count(&rows()) < 2 && t0.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(p);
    let rows = rows();
    let periodic: Vec<_> = rows.iter().filter(|s| s.reason == "interval").collect();
    assert!(periodic.len() >= 2, "{rows:?}");
    assert!(periodic.iter().all(|s| s.record_id.as_deref() == Some(REC)));
}

struct FakeSpace(Mutex<u64>);
impl FreeSpace for FakeSpace {
    fn free_bytes(&self) -> std::io::Result<u64> {
        Ok(*self.0.lock().unwrap())
    }
}

#[test]
fn retention_deletes_by_rule_and_verify_still_passes() {
    let t = tempfile::tempdir().unwrap();
    let clocks = Arc::new(SimulatedClocks::new(1_000 * 86_400_000));
    let (sources, _) = cams();
    let (rec, _) = Recorder::start(
        t.path(),
        &RecorderConfig::default(),
        sources,
        clocks.clone(),
        false,
    )
    .unwrap();
    let record = RecordId::parse(REC).unwrap();
    let reason = Reason::parse("manual").unwrap();
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(rec.capture(1, &record, &reason).unwrap().id);
        std::thread::sleep(Duration::from_millis(15)); // a new frame each time
    }
    let store = rec.store();
    // one snapshot's file (total_bytes also counts previews, which free no disk space)
    let files: i64 = store
        .lock()
        .unwrap()
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|s| s.bytes)
        .sum();
    let per = files / 6;
    let pinned = ids[0];
    store
        .lock()
        .unwrap()
        .pin_for_export(REC, &[pinned], 0)
        .unwrap();
    // 10 days on: age limit of 5 days removes everything unpinned
    clocks.advance_ms(10 * 86_400_000);
    let age = RetentionConfig {
        max_age_days: 5,
        max_bytes: 0,
        min_free_bytes: 0,
        check_interval_secs: 600,
        min_age_secs: 0,
    };
    let space = FakeSpace(Mutex::new(u64::MAX));
    let r = run_pass(store, &age, &*clocks, &space).unwrap();
    assert_eq!((r.deleted, r.by_age), (5, 5));
    let left = store.lock().unwrap().list(&Filter::default()).unwrap();
    assert_eq!(left.iter().map(|s| s.id).collect::<Vec<_>>(), vec![pinned]);
    // fresh snapshots; then low free space prunes the oldest unpinned until the floor is met
    for _ in 0..4 {
        rec.capture(1, &record, &reason).unwrap();
        std::thread::sleep(Duration::from_millis(15));
    }
    *space.0.lock().unwrap() = 1_000;
    let floor = RetentionConfig {
        max_age_days: 3650,
        max_bytes: 0,
        min_free_bytes: 1_000 + 2 * per as u64,
        check_interval_secs: 600,
        min_age_secs: 0,
    };
    let r = run_pass(store, &floor, &*clocks, &space).unwrap();
    assert!(r.by_free_space >= 2 && r.by_free_space <= 3, "{r:?}");
    let v = store.lock().unwrap().verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    let deletes: i64 = store
        .lock()
        .unwrap()
        .connection()
        .query_row(
            "SELECT count(*) FROM chain WHERE kind = 'delete' AND reason LIKE 'retention:%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(deletes, 5 + r.by_free_space as i64);
    let _ = FootageStore::open_reader(t.path()).unwrap();
    let _ = clocks.now_ms();
}

/// A camera that delivers a frame only every 2.5 s (stalling, or a very slow one).
struct SlowCamera(SyntheticCamera, Option<std::time::Instant>);

impl motcua::recorder::camera::FrameSource for SlowCamera {
    fn name(&self) -> String {
        self.0.name()
    }
    fn start(
        &mut self,
    ) -> Result<motcua::recorder::camera::StreamInfo, motcua::recorder::camera::CameraError> {
        self.0.start()
    }
    fn next_frame(
        &mut self,
    ) -> Result<motcua::recorder::camera::RawFrame, motcua::recorder::camera::CameraError> {
        if let Some(last) = self.1 {
            let due = last + Duration::from_millis(2500);
            std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        }
        let f = self.0.next_frame();
        self.1 = Some(std::time::Instant::now());
        f
    }
    fn stop(&mut self) {
        self.0.stop()
    }
}

/// Issue 16: two records taken 1 s apart got the same frame (anything up to 2 s old was
/// used). A trigger now gets a frame taken after it or within one frame interval before it,
/// waiting for the next one if need be, and the frame's age is stored.
#[test]
fn triggers_a_second_apart_never_share_a_frame() {
    let t = tempfile::tempdir().unwrap();
    let cam = SyntheticCamera::new("slow", 320, 240, 15, PixelFormat::Mjpeg);
    let (rec, _) = Recorder::start(
        t.path(),
        &RecorderConfig::default(),
        vec![(1, Box::new(SlowCamera(cam, None)))],
        Arc::new(RealClocks),
        false,
    )
    .unwrap();
    let reason = Reason::parse("started").unwrap();
    let a = rec
        .capture(1, &RecordId::parse(REC).unwrap(), &reason)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let b = rec
        .capture(
            1,
            &RecordId::parse("000.00.14.H56-251119-0043").unwrap(),
            &reason,
        )
        .unwrap();
    assert_ne!(
        a.captured_at_ms, b.captured_at_ms,
        "one frame served two records"
    );
    let (age_a, age_b) = (a.frame_age_ms.unwrap(), b.frame_age_ms.unwrap());
    assert!(age_a <= 100, "the first frame was fresh ({age_a} ms)");
    assert!(
        age_b <= 0,
        "the second trigger waited for a frame after it ({age_b} ms)"
    );
    let listed = rec
        .store()
        .lock()
        .unwrap()
        .list(&Filter::default())
        .unwrap();
    assert_eq!(listed[1].frame_age_ms, Some(age_b), "the age is stored");
}
