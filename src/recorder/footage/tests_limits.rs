//! Unit tests for what counts toward `max_bytes` (review of issue 16): previews and the files
//! in `quarantine/` take room on the card too, so the quota counts them, and a quota that the
//! quarantine alone fills makes captures fail loudly, naming the quarantine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::recorder::jpeg;

struct Space(AtomicU64);
impl FreeSpace for Space {
    fn free_bytes(&self) -> std::io::Result<u64> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

fn snap<'a>(f: &'a [u8], thumb: &'a [u8], record: &'a str, at: i64) -> NewSnapshot<'a> {
    NewSnapshot {
        jpeg: f,
        width: 16,
        height: 16,
        counter: 1,
        record_id: Some(record),
        captured_at_ms: at,
        reason: "started",
        thumbnail: Some((8, 8, thumb)),
        frame_age_ms: None,
        camera_time_ms: None,
    }
}

const REC: &str = "000.00.14.H56-251119-0001";

#[test]
fn previews_and_quarantine_count_toward_max_bytes() {
    let t = tempfile::tempdir().unwrap();
    let f = jpeg::encode_rgb(&[9; 16 * 16 * 3], 16, 16, 80).unwrap();
    let thumb = vec![7u8; 3000];
    let first = {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let s = st.ingest(&snap(&f, &thumb, REC, 1), 1).unwrap();
        assert_eq!(
            st.total_bytes().unwrap(),
            s.bytes + 3000,
            "the preview counts"
        );
        s
    };
    // a file the store cannot account for: start-up reconcile quarantines it
    let stray = t.path().join("footage/ab/stray.bin");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, vec![1u8; 50_000]).unwrap();
    let (mut st, rep) = FootageStore::open_writer(t.path(), 10).unwrap();
    assert_eq!(rep.quarantined.len(), 1, "{rep:?}");
    assert_eq!(st.quarantine_bytes(), 50_000);
    assert_eq!(st.total_bytes().unwrap(), first.bytes + 3000 + 50_000);
    let reader = FootageStore::open_reader(t.path()).unwrap();
    assert_eq!(reader.total_bytes().unwrap(), st.total_bytes().unwrap());

    // Room for the quarantine and one snapshot with its preview: the next capture makes
    // room by deleting the older snapshot, and the total stays within the quota.
    let reserve = (f.len() + meta::MAX_OVERHEAD) as u64;
    let quota = 50_000 + 3000 + reserve + 16;
    let space = Arc::new(Space(AtomicU64::new(u64::MAX)));
    st.set_limits(Limits {
        max_bytes: quota,
        min_free_bytes: 0,
        min_age_ms: 0,
        space: space.clone(),
    });
    let second = st.ingest(&snap(&f, &thumb, REC, 20), 20).unwrap();
    let ids: Vec<i64> = st
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![second.id], "the older snapshot made room");
    assert!(st.total_bytes().unwrap() as u64 <= quota + 3000);

    // A quota the quarantine alone fills: capture fails loudly and says why.
    st.set_limits(Limits {
        max_bytes: 40_000,
        min_free_bytes: 0,
        min_age_ms: 0,
        space,
    });
    let err = st.ingest(&snap(&f, &thumb, REC, 30), 30).unwrap_err();
    assert!(
        err.to_string()
            .contains("B stored, 50000 B of it in quarantine/, "),
        "{err}"
    );
}
