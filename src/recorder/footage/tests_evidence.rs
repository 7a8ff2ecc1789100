//! Unit tests for issue 16's store bugs, each failing before its fix: lost rows re-adopted
//! from self-describing files, limits kept at capture time, a failed commit leaving no orphan,
//! a stale preview not blocking capture, and the consistent forgery caught by the anchor.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::*;
use crate::recorder::anchor::{self, Receipt};

fn frame(n: u8) -> Vec<u8> {
    jpeg::encode_rgb(&vec![n; 16 * 16 * 3], 16, 16, 80).unwrap()
}

fn snap<'a>(jpeg: &'a [u8], record: &'a str, at: i64) -> NewSnapshot<'a> {
    NewSnapshot {
        jpeg,
        width: 16,
        height: 16,
        counter: 3,
        record_id: Some(record),
        captured_at_ms: at,
        reason: "started",
        thumbnail: Some((8, 8, b"thumb")),
        frame_age_ms: Some(15),
        camera_time_ms: None,
    }
}

fn rec(n: u32) -> String {
    format!("000.00.14.H56-251119-{n:04}")
}

use crate::recorder::jpeg;

#[test]
fn rows_lost_are_readopted_from_their_files_with_their_link() {
    let t = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = (0..4).map(|i| frame(i * 40)).collect();
    {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        for (i, f) in frames.iter().enumerate() {
            st.ingest(&snap(f, &rec(i as u32), 100 + i as i64), 200)
                .unwrap();
        }
        // what a lost WAL does: the last two captures' entries and rows are gone, files stay
        let c = st.connection();
        c.execute("DELETE FROM thumbnail WHERE snapshot_id > 2", [])
            .unwrap();
        c.execute("DELETE FROM snapshot WHERE id > 2", []).unwrap();
        c.execute("DELETE FROM chain WHERE seq > 2", []).unwrap();
    }
    let (st, rep) = FootageStore::open_writer(t.path(), 900).unwrap();
    assert_eq!(rep.recovered, vec![(3, 3), (4, 4)]);
    assert!(rep.orphans_removed.is_empty() && rep.quarantined.is_empty());
    for i in 0..4u32 {
        let got = st
            .list(&Filter {
                record_id: Some(rec(i)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(got.len(), 1, "record {i}");
        assert_eq!(got[0].captured_at_ms, 100 + i as i64);
        assert_eq!(got[0].frame_age_ms, Some(15));
        if i >= 2 {
            assert_eq!(got[0].recovered_from_seq, Some(i as i64 + 1));
            assert_eq!(
                got[0].reason,
                format!("recovered from seq {}: started", i + 1)
            );
        }
    }
    let e = st.chain_entries(3, 4).unwrap();
    assert!(e.iter().all(|e| e.kind_text == "recover"));
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.recovered, 2);
    let listed: Vec<(i64, Option<String>, i64)> = v
        .recovered_snapshots
        .iter()
        .map(|s| (s.id, s.record_id.clone(), s.recovered_from_seq))
        .collect();
    assert_eq!(listed, vec![(3, Some(rec(2)), 3), (4, Some(rec(3)), 4)]);
}

#[test]
fn a_substitute_file_claiming_a_chained_seq_is_quarantined_and_verify_says_so() {
    // The review's attack: delete snapshot 2's row and file, drop in another image whose
    // self-description claims seq 2. The chain still holds seq 2 with another hash, so the
    // file is not a lost snapshot: it is quarantined, and the missing capture is reported.
    let t = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = (0..3).map(|i| frame(i * 40)).collect();
    let sha2 = {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let mut shas = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            shas.push(
                st.ingest(&snap(f, &rec(i as u32), 100 + i as i64), 200)
                    .unwrap()
                    .sha256,
            );
        }
        let c = st.connection();
        c.execute("DELETE FROM thumbnail WHERE snapshot_id = 2", [])
            .unwrap();
        c.execute("DELETE FROM snapshot WHERE id = 2", []).unwrap();
        std::fs::remove_file(st.dir().path_of(&shas[1])).unwrap();
        shas[1].clone()
    };
    let fake = meta::embed(
        &frame(200),
        &meta::SnapshotMeta {
            seq: 2,
            counter: 1,
            record_id: Some(rec(1)),
            captured_at_ms: 101,
            reason: "started".into(),
            frame_age_ms: None,
            camera_time_ms: None,
        },
    );
    let fake_sha = chain::sha256_hex(&fake);
    assert_ne!(fake_sha, sha2);
    {
        let (st, _) = FootageStore::open_reader(t.path())
            .map(|s| (s, ()))
            .unwrap();
        let p = st.dir().path_of(&fake_sha);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, &fake).unwrap();
    }
    let (st, rep) = FootageStore::open_writer(t.path(), 900).unwrap();
    assert!(rep.recovered.is_empty(), "{:?}", rep.recovered);
    assert_eq!(rep.quarantined.len(), 1);
    assert!(rep.quarantined[0]
        .to_string_lossy()
        .contains("conflicts-with-chain"));
    let v = st.verify(true).unwrap();
    assert!(!v.ok());
    assert!(
        v.problems
            .iter()
            .any(|p| matches!(p, Problem::DeletedWithoutRecord { id: 2 })),
        "{:?}",
        v.problems
    );
}

#[test]
fn a_file_deleted_by_retention_is_not_resurrected() {
    let t = tempfile::tempdir().unwrap();
    let f = frame(9);
    let sha;
    {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let s = st.ingest(&snap(&f, &rec(1), 1), 1).unwrap();
        sha = s.sha256.clone();
        let bytes = std::fs::read(st.dir().path_of(&sha)).unwrap();
        st.delete_by_policy(&[s.id], "retention:max_age", 2)
            .unwrap();
        // a crash between the delete's commit and the unlink, with the queue row lost
        st.dir().write_durable(&sha, &bytes).unwrap();
        st.connection()
            .execute("DELETE FROM pending_delete", [])
            .unwrap();
    }
    let (st, rep) = FootageStore::open_writer(t.path(), 5).unwrap();
    assert_eq!(rep.orphans_removed, vec![sha]);
    assert!(rep.recovered.is_empty());
    assert!(st.verify(true).unwrap().ok());
}

#[test]
fn a_stale_preview_never_blocks_capture_and_verify_reports_it() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let (a, b) = (frame(1), frame(2));
    st.ingest(&snap(&a, &rec(1), 1), 1).unwrap();
    // a preview left over under the next id (a row removed by hand with the sqlite3 shell,
    // whose foreign keys are off by default, so the preview did not cascade)
    st.connection()
        .execute_batch("PRAGMA foreign_keys = OFF")
        .unwrap();
    st.connection()
        .execute(
            "INSERT INTO thumbnail (snapshot_id, width, height, jpeg) VALUES (2, 1, 1, x'00')",
            [],
        )
        .unwrap();
    st.connection()
        .execute(
            "INSERT INTO thumbnail (snapshot_id, width, height, jpeg) VALUES (9, 1, 1, x'00')",
            [],
        )
        .unwrap();
    st.connection()
        .execute_batch("PRAGMA foreign_keys = ON")
        .unwrap();
    let v = st.verify(false).unwrap();
    let p: Vec<String> = v.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        p,
        vec![
            "preview for snapshot 2 has no snapshot row (left over; it is replaced when that id is reused)",
            "preview for snapshot 9 has no snapshot row (left over; it is replaced when that id is reused)"
        ]
    );
    let s = st.ingest(&snap(&b, &rec(2), 2), 2).unwrap();
    assert_eq!(s.id, 2);
    assert_eq!(st.thumbnail(2).unwrap().unwrap().2, b"thumb");
    assert_eq!(
        st.verify(true).unwrap().problems.len(),
        1,
        "only the preview of 9"
    );
}

#[test]
fn a_failed_commit_leaves_no_file_behind() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    st.connection()
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON snapshot \
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;",
        )
        .unwrap();
    let f = frame(3);
    let err = st.ingest(&snap(&f, &rec(1), 1), 1).unwrap_err();
    assert!(err.to_string().contains("simulated"), "{err}");
    assert!(st.dir().scan().unwrap().content.is_empty(), "orphan left");
    st.connection().execute_batch("DROP TRIGGER boom").unwrap();
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.head_seq, 0);
}

struct FakeSpace(AtomicU64);
impl FreeSpace for FakeSpace {
    fn free_bytes(&self) -> std::io::Result<u64> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

fn limits(max_bytes: u64, min_free: u64, min_age_ms: i64, space: &Arc<FakeSpace>) -> Limits {
    Limits {
        max_bytes,
        min_free_bytes: min_free,
        min_age_ms,
        space: space.clone(),
    }
}

#[test]
fn the_quota_holds_at_capture_time() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let f = frame(5);
    let one = st.ingest(&snap(&f, &rec(0), 0), 0).unwrap().bytes as u64;
    let space = Arc::new(FakeSpace(AtomicU64::new(u64::MAX)));
    // room for two stored snapshots plus the reservation of a third
    // (later files are a few bytes longer: their sequence numbers have more digits)
    let quota = 2 * (one + 16) + (f.len() + meta::MAX_OVERHEAD) as u64;
    st.set_limits(limits(quota, 0, 0, &space));
    for i in 1..20 {
        st.ingest(&snap(&f, &rec(i), i as i64), i as i64).unwrap();
        let total = st.total_bytes().unwrap() as u64;
        assert!(
            total <= quota,
            "capture {i}: {total} B stored, quota {quota}"
        );
    }
    let left = st.list(&Filter::default()).unwrap();
    assert_eq!(left.len(), 3);
    assert_eq!(
        left.last().unwrap().record_id,
        Some(rec(19)),
        "the newest is kept"
    );
    assert_eq!(left[0].record_id, Some(rec(17)), "the oldest went");
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
}

#[test]
fn young_snapshots_are_never_pruned_and_capture_fails_loudly_instead() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let f = frame(6);
    let space = Arc::new(FakeSpace(AtomicU64::new(10_000_000)));
    st.set_limits(limits(0, 1_000_000, 60_000, &space));
    let old = st.ingest(&snap(&f, &rec(1), 0), 0).unwrap();
    st.pin_for_export(&rec(1), &[old.id], 1).unwrap();
    let young = st.ingest(&snap(&f, &rec(2), 100_000), 100_000).unwrap();
    // committed at device time 30 s (after a clock step back: commit order is not time order)
    let older = st.ingest(&snap(&f, &rec(3), 30_000), 30_000).unwrap();
    // the disk fills up (not because of footage): free space under the floor
    space.0.store(500_000, Ordering::SeqCst);
    // the unpinned snapshot older than a minute goes; the pinned one and the young one stay
    let err = st.ingest(&snap(&f, &rec(4), 100_500), 100_500).unwrap_err();
    let ids: Vec<i64> = st
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec![old.id, young.id], "{older:?} went, nothing else");
    assert!(matches!(err, FootageError::Full(_)), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "snapshot not stored: the free-space floor (min_free_bytes = 1000000; 500000 B free, {} B to add) cannot be kept: every other snapshot is pinned or younger than min_age_secs = 60",
            f.len() + meta::MAX_OVERHEAD
        )
    );
    assert!(st.verify(true).unwrap().ok());
}

/// Review of issue 16: a frame's own time comes from the camera side and is never trusted for
/// which evidence may go. Min-age and "oldest first" are the store's commit times: a frame
/// stamped ten years ago but stored seconds ago stays; one stamped ten years ahead but stored
/// minutes ago goes first.
#[test]
fn retention_ages_by_the_stores_commit_time_not_the_frames_time() {
    const BASE: i64 = 1_780_000_000_000;
    const YEARS_10: i64 = 10 * 365 * 86_400_000;
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let f = frame(9);
    let future = st
        .ingest(&snap(&f, &rec(1), BASE + YEARS_10), BASE)
        .unwrap();
    let past = st
        .ingest(&snap(&f, &rec(2), BASE - YEARS_10), BASE + 100_000)
        .unwrap();
    let space = Arc::new(FakeSpace(AtomicU64::new(u64::MAX)));
    // room for one stored snapshot plus the reservation of the next
    let quota = (future.bytes as u64 + 16) + (f.len() + meta::MAX_OVERHEAD) as u64;
    st.set_limits(limits(quota, 0, 60_000, &space));
    st.ingest(&snap(&f, &rec(3), BASE + 120_000), BASE + 120_000)
        .unwrap();
    let ids: Vec<i64> = st
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert!(!ids.contains(&future.id), "stored 120 s ago: it goes first");
    assert!(
        ids.contains(&past.id),
        "stored 20 s ago: younger than min_age"
    );
    assert_eq!(ids.len(), 2);
    // the background pass ages the same way: nothing is past a 30-day max age, whatever
    // the frames say
    let policy = crate::recorder::config::RetentionConfig {
        max_age_days: 30,
        max_bytes: 0,
        min_free_bytes: 0,
        check_interval_secs: 600,
        min_age_secs: 60,
    };
    let clocks = crate::recorder::clock::SimulatedClocks::new(BASE + 200_000);
    let store = std::sync::Mutex::new(st);
    let r = crate::recorder::retention::run_pass(&store, &policy, &clocks, &*space).unwrap();
    assert_eq!(r.deleted, 0, "{r:?}");
}

#[test]
fn the_consistent_forgery_passes_alone_but_fails_against_the_anchor() {
    use ed25519_dalek::{Signer, SigningKey};
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    for i in 0..4u8 {
        let f = frame(i * 30);
        st.ingest(&snap(&f, &rec(i as u32), i as i64), i as i64)
            .unwrap();
    }
    let dev = SigningKey::from_bytes(&[7; 32]);
    let hub = SigningKey::from_bytes(&[8; 32]);
    let head = st
        .sign_head(&dev, "quay-1", "2026-12-05T10:00:00Z")
        .unwrap();
    assert_eq!(head.seq, 4);
    // the hub's receipt (signed here with a test hub key, as the hub does)
    let mut r = Receipt {
        device: "quay-1".into(),
        key: head.key.clone(),
        seq: head.seq,
        hash: head.hash.clone(),
        at: head.at.clone(),
        signature: head.signature.clone(),
        received_at: "2026-12-05T10:00:01Z".into(),
        hub_seq: 1,
        hub_signature: String::new(),
    };
    use base64::Engine;
    r.hub_signature = base64::engine::general_purpose::STANDARD
        .encode(hub.sign(anchor::receipt_message(&r).as_bytes()).to_bytes());
    // a receipt with a wrong hub key is refused, the right one kept (once)
    assert!(st.store_receipt(&r, &[dev.verifying_key()], 9).is_err());
    assert!(st.store_receipt(&r, &[hub.verifying_key()], 9).unwrap());
    assert!(!st.store_receipt(&r, &[hub.verifying_key()], 9).unwrap());
    let ok = st
        .verify_trusting(true, Some(&[hub.verifying_key()]))
        .unwrap();
    assert!(ok.ok(), "{:?}", ok.problems);
    assert_eq!(ok.anchored.as_ref().unwrap().seq, 4);
    // the receipts are append-only in the database too
    assert!(st
        .connection()
        .execute("DELETE FROM anchor_receipt", [])
        .is_err());

    // The forgery: move snapshot 2 to another record and recompute every chain entry.
    let c = st.connection();
    let other = rec(77);
    c.execute("UPDATE snapshot SET record_id = ?1 WHERE id = 2", [&other])
        .unwrap();
    c.execute("UPDATE chain SET record_id = ?1 WHERE seq = 2", [&other])
        .unwrap();
    let mut prev = chain::GENESIS.to_owned();
    for e in st.chain_entries(1, 4).unwrap() {
        let h = chain::link(&prev, &e.fields.body_hash());
        c.execute(
            "UPDATE chain SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![prev, h, e.fields.seq],
        )
        .unwrap();
        prev = h;
    }
    // The chain alone is consistent: without the anchor, nothing to see.
    c.execute_batch("CREATE TEMP TABLE saved AS SELECT * FROM anchor_receipt; DROP TRIGGER anchor_receipt_no_delete; DELETE FROM anchor_receipt;").unwrap();
    assert!(st.verify(true).unwrap().ok(), "the forgery is consistent");
    c.execute_batch("INSERT INTO anchor_receipt SELECT * FROM saved;")
        .unwrap();
    // With the anchor, it fails.
    let v = st
        .verify_trusting(true, Some(&[hub.verifying_key()]))
        .unwrap();
    let p: Vec<String> = v.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("chain: entry 4 is ")
            && p[0].ends_with(&format!(
                "but the hub anchored {}; the chain was rewritten after it was anchored",
                head.hash
            )),
        "{p:?}"
    );
}

/// Review finding: an export pinned at head 5 while a receipt for head 6 had already arrived
/// took no anchor at all (`last_receipt` filtered to ≤ 5 → None); it must take the receipt
/// for head 4, the highest it can prove.
#[test]
fn an_export_takes_the_highest_receipt_at_or_below_its_head() {
    use base64::Engine;
    use ed25519_dalek::{Signer, SigningKey};
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let dev = SigningKey::from_bytes(&[7; 32]);
    let hub = SigningKey::from_bytes(&[8; 32]);
    let anchor_now = |st: &mut FootageStore, hub_seq: i64| {
        let head = st
            .sign_head(&dev, "quay-1", "2026-12-05T10:00:00Z")
            .unwrap();
        let mut r = Receipt {
            device: "quay-1".into(),
            key: head.key.clone(),
            seq: head.seq,
            hash: head.hash.clone(),
            at: head.at.clone(),
            signature: head.signature.clone(),
            received_at: "2026-12-05T10:00:01Z".into(),
            hub_seq,
            hub_signature: String::new(),
        };
        r.hub_signature = base64::engine::general_purpose::STANDARD
            .encode(hub.sign(anchor::receipt_message(&r).as_bytes()).to_bytes());
        assert!(st.store_receipt(&r, &[hub.verifying_key()], 9).unwrap());
    };
    for i in 0..6u8 {
        let f = frame(i * 30);
        st.ingest(&snap(&f, &rec(i as u32), i as i64), i as i64)
            .unwrap();
        if i == 3 || i == 5 {
            anchor_now(&mut st, i as i64);
        }
    }
    assert_eq!(st.last_receipt().unwrap().unwrap().seq, 6);
    assert_eq!(st.last_receipt_at_or_below(5).unwrap().unwrap().seq, 4);
    assert_eq!(st.last_receipt_at_or_below(6).unwrap().unwrap().seq, 6);
    assert!(st.last_receipt_at_or_below(3).unwrap().is_none());
    // `--against-hub` with a hub that lists nothing for this device is not a pass
    let mut v = st.verify(true).unwrap();
    st.verify_hub_anchors(&mut v, &[], &[hub.verifying_key()], "quay-1")
        .unwrap();
    let said: Vec<String> = v.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        said,
        [4, 6].map(|seq| format!(
            "anchor receipt for entry {seq} (hub seq {}) is stored here but the hub does not list it; the hub's record for this device was lost or belongs to another device",
            seq - 1
        ))
    );
}

/// Review finding: the capture-time pass took the first 64 unpinned rows by seq and only then
/// filtered by age; after the clock stepped back, 64+ young rows first in seq order hid an old
/// deletable one, and capture failed as "full" though something could go.
#[test]
fn capture_finds_an_old_snapshot_behind_many_young_ones() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let f = frame(8);
    let space = Arc::new(FakeSpace(AtomicU64::new(u64::MAX)));
    // 70 committed "in the future" (a clock later stepped back), then one committed at 10 s
    for i in 0..70 {
        let at = 10_000_000 + i as i64;
        st.ingest(&snap(&f, &rec(i), at), at).unwrap();
    }
    let old = st.ingest(&snap(&f, &rec(70), 10_000), 10_000).unwrap();
    // a quota one byte short of the next capture: one snapshot must go
    let needed = (f.len() + meta::MAX_OVERHEAD) as u64;
    let quota = st.total_bytes().unwrap() as u64 + needed - 1;
    st.set_limits(limits(quota, 0, 60_000, &space));
    // at device time 100 s only the one committed at 10 s is older than a minute: it goes
    let new = st.ingest(&snap(&f, &rec(71), 100_000), 100_000).unwrap();
    let ids: Vec<i64> = st
        .list(&Filter::default())
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids.len(), 71);
    assert!(!ids.contains(&old.id) && ids.contains(&new.id), "{ids:?}");
}

/// Review finding: an export cut off by a crash (SIGKILL, power cut) left `<out>.zip.part`
/// and its snapshots pinned forever. The next writer's start undoes it; an export whose zip
/// made it into place before the cut stands.
#[test]
fn an_export_cut_off_by_a_crash_is_undone_at_the_next_start() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("case.zip");
    let part = t.path().join("case.zip.part");
    let audit = AuditAppend {
        detail: "{}",
        ..Default::default()
    };
    let id = {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let f = frame(9);
        let s = st.ingest(&snap(&f, &rec(1), 1), 1).unwrap();
        st.begin_export(&rec(1), &[s.id], &audit, 2, Some(&out))
            .unwrap();
        std::fs::write(&part, b"half a zip").unwrap();
        s.id
        // the process dies here: no finish_export, no undo_export
    };
    let (st, _) = FootageStore::open_writer(t.path(), 3).unwrap();
    assert!(!part.exists(), "the part file is removed");
    let s = &st.list(&Filter::default()).unwrap()[0];
    assert_eq!((s.id, s.pinned), (id, false), "the pin is released");
    let exports: i64 = st
        .connection()
        .query_row("SELECT count(*) FROM export", [], |r| r.get(0))
        .unwrap();
    assert_eq!(exports, 0);
    assert!(st.verify(true).unwrap().ok());
    drop(st);

    // cut between the rename and finish_export: the zip is there, the export stands
    let (mut st, _) = FootageStore::open_writer(t.path(), 4).unwrap();
    st.begin_export(&rec(1), &[id], &audit, 5, Some(&out))
        .unwrap();
    std::fs::write(&out, b"a whole zip").unwrap();
    drop(st);
    let (st, _) = FootageStore::open_writer(t.path(), 6).unwrap();
    assert!(st.list(&Filter::default()).unwrap()[0].pinned);
    let pending: Option<String> = st
        .connection()
        .query_row("SELECT pending_out FROM export", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, None);
}

/// Review finding: export A (killed after pinning S), then export B of the same record (S
/// already pinned, so not B's own pin): undoing A at the next start must not release S, which
/// B's zip holds.
#[test]
fn undoing_a_cut_export_never_releases_another_exports_pin() {
    let t = tempfile::tempdir().unwrap();
    let audit = AuditAppend {
        detail: "{}",
        ..Default::default()
    };
    let (a_out, b_out) = (t.path().join("a.zip"), t.path().join("b.zip"));
    let id = {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let f = frame(10);
        let s = st.ingest(&snap(&f, &rec(1), 1), 1).unwrap();
        let a = st
            .begin_export(&rec(1), &[s.id], &audit, 2, Some(&a_out))
            .unwrap();
        assert_eq!(a.newly_pinned, vec![s.id]);
        // A dies here; B exports the same record and finishes
        let b = st
            .begin_export(&rec(1), &[s.id], &audit, 3, Some(&b_out))
            .unwrap();
        assert!(b.newly_pinned.is_empty());
        std::fs::write(&b_out, b"b's zip").unwrap();
        st.finish_export(&b).unwrap();
        s.id
    };
    let (st, _) = FootageStore::open_writer(t.path(), 4).unwrap();
    let s = &st.list(&Filter::default()).unwrap()[0];
    assert_eq!((s.id, s.pinned), (id, true), "B's evidence stays pinned");
    let exports: i64 = st
        .connection()
        .query_row("SELECT count(*) FROM export", [], |r| r.get(0))
        .unwrap();
    assert_eq!(exports, 1, "A's row undone, B's kept");
}

/// Review finding: when one file of a batch failed to write, the files written after it in
/// the batch were never removed (the first error returned before they were recorded).
#[test]
fn a_batch_whose_first_file_fails_leaves_none_of_its_files() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let (r1, r2) = (rec(1), rec(2));
    let mut frames = Vec::new();
    for n in 40..80u8 {
        frames.push(frame(n));
    }
    // the bytes each snapshot's file will hold: its self-description names its sequence
    let file_sha = |jpeg: &[u8], record: &str, seq: i64| {
        let s = snap(jpeg, record, 1);
        chain::sha256_hex(&meta::embed(
            jpeg,
            &meta::SnapshotMeta {
                seq,
                counter: s.counter,
                record_id: s.record_id.map(str::to_owned),
                captured_at_ms: s.captured_at_ms,
                reason: s.reason.to_owned(),
                frame_age_ms: s.frame_age_ms,
                camera_time_ms: s.camera_time_ms,
            },
        ))
    };
    // two frames whose files land in different shard directories
    let first = &frames[0];
    let sha1 = file_sha(first, &r1, 1);
    let second = frames[1..]
        .iter()
        .find(|f| file_sha(f, &r2, 2)[..2] != sha1[..2])
        .unwrap();
    // the first file's shard directory cannot be made: a plain file stands in its place
    let shard = st.dir().path_of(&sha1).parent().unwrap().to_owned();
    let _ = std::fs::remove_dir(&shard); // made empty when the store was created
    std::fs::write(&shard, b"in the way").unwrap();
    let err = st
        .commit_batch(&[snap(first, &r1, 1), snap(second, &r2, 1)], 1)
        .unwrap_err();
    assert!(err.to_string().starts_with("cannot write"), "{err}");
    std::fs::remove_file(&shard).unwrap();
    std::fs::create_dir(&shard).unwrap();
    let left = st.dir().scan().unwrap();
    assert!(left.content.is_empty(), "orphans: {:?}", left.content);
    assert!(st.verify(true).unwrap().ok());
}
