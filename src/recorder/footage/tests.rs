//! Unit tests of the footage store: lifecycle, reconcile rules and tamper detection.

use super::*;
use crate::recorder::jpeg;

fn frame(n: u8) -> Vec<u8> {
    let rgb = vec![n; 16 * 16 * 3];
    jpeg::encode_rgb(&rgb, 16, 16, 80).unwrap()
}

/// A 16×16 snapshot for group commit: `frame(n)` made unique by `tag`, linked to `REC`.
fn owned(n: u8, tag: &str, counter: u32, thumbnail: Option<(u32, u32, Vec<u8>)>) -> OwnedSnapshot {
    OwnedSnapshot {
        jpeg: jpeg::with_comment(&frame(n), tag).into(),
        width: 16,
        height: 16,
        counter,
        record_id: Some(REC.into()),
        captured_at_ms: 0,
        reason: "started".into(),
        thumbnail,
        frame_age_ms: None,
        camera_time_ms: None,
    }
}

fn new_snapshot<'a>(jpeg: &'a [u8], record: Option<&'a str>, at: i64) -> NewSnapshot<'a> {
    NewSnapshot {
        jpeg,
        width: 16,
        height: 16,
        counter: 2,
        record_id: record,
        captured_at_ms: at,
        reason: "started",
        thumbnail: Some((8, 8, b"thumb")),
        frame_age_ms: Some(20),
        camera_time_ms: None,
    }
}

const REC: &str = "000.00.14.H56-251119-0042";

#[test]
fn footage_schema_migrated_equals_fresh() {
    use crate::store::migrate::{migrate_schema_stepwise, tests::schema_of};
    let mut fresh = Connection::open_in_memory().unwrap();
    store::migrate_schema(&mut fresh, Path::new(":memory:"), &SCHEMA).unwrap();
    let mut stepped = Connection::open_in_memory().unwrap();
    migrate_schema_stepwise(&mut stepped, &SCHEMA).unwrap();
    assert_eq!(schema_of(&fresh), schema_of(&stepped));
}

#[test]
fn ingest_list_delete_verify() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, rep) = FootageStore::open_writer(t.path(), 0).unwrap();
    assert!(rep.is_clean());
    let (a, b) = (frame(10), frame(200));
    let s1 = st.ingest(&new_snapshot(&a, Some(REC), 100), 101).unwrap();
    let s2 = st.ingest(&new_snapshot(&b, None, 200), 201).unwrap();
    // the same frame stored twice (started/finished) makes two files: each describes itself
    let s3 = st.ingest(&new_snapshot(&a, Some(REC), 100), 301).unwrap();
    assert_eq!((s1.id, s2.id, s3.id), (1, 2, 3));
    assert_ne!(s1.sha256, s3.sha256);
    let stored = std::fs::read(st.dir().path_of(&s1.sha256)).unwrap();
    assert_eq!(s1.bytes, stored.len() as i64);
    assert_eq!(
        meta::extract(&stored).unwrap(),
        meta::SnapshotMeta {
            seq: 1,
            counter: 2,
            record_id: Some(REC.into()),
            captured_at_ms: 100,
            reason: "started".into(),
            frame_age_ms: Some(20),
            camera_time_ms: None,
        }
    );
    assert_eq!(s1.frame_age_ms, Some(20));
    let by_record = st
        .list(&Filter {
            record_id: Some(REC.into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        by_record.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![1, 3]
    );
    let window = st
        .list(&Filter {
            since_ms: Some(150),
            until_ms: Some(250),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(window.iter().map(|s| s.id).collect::<Vec<_>>(), vec![2]);
    assert_eq!(st.thumbnail(1).unwrap().unwrap().2, b"thumb");

    assert_eq!(st.delete_by_policy(&[1], "max_age", 400).unwrap(), vec![1]);
    assert!(!st.dir().path_of(&s1.sha256).exists());
    assert_eq!(
        st.delete_by_policy(&[3, 2, 99], "max_bytes", 401).unwrap(),
        vec![3, 2]
    );
    assert!(!st.dir().path_of(&s3.sha256).exists());
    assert!(st.thumbnail(1).unwrap().is_none());
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!((v.chain_entries, v.snapshots, v.head_seq), (6, 0, 6));
}

#[test]
fn pinned_snapshots_are_not_deleted() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let a = frame(1);
    st.ingest(&new_snapshot(&a, Some(REC), 1), 1).unwrap();
    st.pin_for_export(REC, &[1], 2).unwrap();
    assert!(st.delete_by_policy(&[1], "max_age", 3).unwrap().is_empty());
    assert!(st.prunable(10).unwrap().is_empty());
}

#[test]
fn second_writer_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let _w = FootageStore::open_writer(t.path(), 0).unwrap();
    let err = FootageStore::open_writer(t.path(), 0).err().unwrap();
    assert!(matches!(err, FootageError::Locked(_)), "{err}");
    assert!(err
        .to_string()
        .ends_with("is in use by another motcua process (the daemon?); stop it or use its API"));
}

#[test]
fn reconcile_quarantines_what_it_cannot_account_for_and_flags_missing_files() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (frame(1), frame(2));
    let orphan_sha;
    {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        let s = st.ingest(&new_snapshot(&a, Some(REC), 1), 1).unwrap();
        // a JPEG with no self-description under a content name: nothing says what it is
        orphan_sha = chain::sha256_hex(&b);
        st.dir().write_durable(&orphan_sha, &b).unwrap();
        std::fs::write(st.dir().root().join("ab/notes.txt"), b"x").unwrap();
        std::fs::write(st.dir().root().join("tmp/x.part"), b"half").unwrap();
        std::fs::remove_file(st.dir().path_of(&s.sha256)).unwrap();
    }
    let (st, rep) = FootageStore::open_writer(t.path(), 50).unwrap();
    assert_eq!(rep.tmp_removed, 1);
    assert!(
        rep.orphans_removed.is_empty(),
        "nothing unexplained is deleted"
    );
    let names: Vec<String> = rep
        .quarantined
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![
            format!("50.no-metadata.{orphan_sha}.jpg"),
            "50.unexpected.notes.txt".to_string()
        ]
    );
    assert_eq!(std::fs::read(&rep.quarantined[0]).unwrap(), b);
    assert_eq!(rep.rows_missing_file, vec![1]);
    let listed = st.list(&Filter::default()).unwrap();
    assert!(listed[0].missing);
    let v = st.verify(true).unwrap();
    assert_eq!(v.quarantined, rep.quarantined);
    let p: Vec<String> = v.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(matches!(v.problems[0], Problem::FileMissing { id: 1, .. }));
    assert!(
        p[1].contains("was quarantined: the store could not account for it"),
        "{p:?}"
    );
}

fn tampered(edit: impl FnOnce(&FootageStore)) -> Vec<String> {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    for i in 0..3u8 {
        let f = frame(i * 50);
        st.ingest(&new_snapshot(&f, Some(REC), i as i64), i as i64)
            .unwrap();
    }
    assert!(st.verify(true).unwrap().ok());
    edit(&st);
    let v = st.verify(true).unwrap();
    v.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn tampering_is_named() {
    let p = tampered(|st| {
        st.connection()
            .execute("DELETE FROM snapshot WHERE id = 2", [])
            .unwrap();
    });
    assert!(p.iter().any(|m| m == "snapshot 2: row is gone but no retention deletion is recorded; it was removed outside motcua"), "{p:?}");
    let p = tampered(|st| {
        st.connection()
            .execute(
                "UPDATE snapshot SET record_id = '000.00.14.H56-251119-0001' WHERE id = 1",
                [],
            )
            .unwrap();
    });
    assert_eq!(
        p,
        vec!["snapshot 1: `record_id` differs from its chain entry; the row was edited"]
    );
    let p = tampered(|st| {
        // edit both the row and its entry: the entry's hash no longer matches
        let c = st.connection();
        c.execute("UPDATE snapshot SET counter = 9 WHERE id = 3", [])
            .unwrap();
        c.execute("UPDATE chain SET counter = 9 WHERE seq = 3", [])
            .unwrap();
    });
    assert_eq!(
        p,
        vec!["chain: entry 3 does not match its hash; its fields were edited"]
    );
    let p = tampered(|st| {
        st.connection()
            .execute("DELETE FROM chain WHERE seq = 2", [])
            .unwrap();
        st.connection()
            .execute("DELETE FROM snapshot WHERE id = 2", [])
            .unwrap();
    });
    assert!(
        p.contains(&"chain: entry 2 is missing (next is 3); entries were removed".to_string()),
        "{p:?}"
    );
    assert!(
        p.contains(&"chain: entry 3 does not link to entry 2; the chain was edited".to_string()),
        "{p:?}"
    );
    let p = tampered(|st| {
        let sha: String = st
            .connection()
            .query_row("SELECT sha256 FROM snapshot WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        std::fs::write(st.dir().path_of(&sha), b"not the photo").unwrap();
    });
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("snapshot 1: file ") && p[0].contains("was altered (its SHA-256 is now "),
        "{p:?}"
    );
}

#[test]
fn a_batch_is_one_transaction_in_order_and_each_file_names_its_sequence() {
    let t = tempfile::tempdir().unwrap();
    let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let (a, b, c) = (frame(1), frame(2), frame(3));
    let old = st.ingest(&new_snapshot(&a, Some(REC), 1), 1).unwrap();
    st.delete_by_policy(&[old.id], "retention:test", 2).unwrap();
    let batch: Vec<NewSnapshot> = [&a, &b, &c]
        .iter()
        .map(|j| new_snapshot(j, Some(REC), 5))
        .collect();
    let snaps = st.commit_batch(&batch, 3).unwrap();
    // chain: capture 1, delete 2, then the batch as 3, 4, 5 in order
    assert_eq!(
        snaps.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    for s in &snaps {
        let m = meta::extract(&std::fs::read(st.dir().path_of(&s.sha256)).unwrap()).unwrap();
        assert_eq!(m.seq, s.id);
    }
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.head_seq, 5);
}

#[test]
fn group_commit_from_many_threads_keeps_the_chain_whole() {
    use std::sync::{Arc, Mutex};
    let t = tempfile::tempdir().unwrap();
    let (st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let g = GroupCommit::new(Arc::new(Mutex::new(st)), 4);
    let ids: Vec<i64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6u8)
            .map(|th| {
                let g = &g;
                s.spawn(move || {
                    (0..10u8)
                        .map(|i| {
                            let thumb = Some((8, 8, b"thumb".to_vec()));
                            let snap = owned(th, &format!("{th} {i}"), th as u32, thumb);
                            g.submit(snap, &|| 7).unwrap().id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=60).collect::<Vec<_>>());
    let (batches, n) = g.stats();
    assert_eq!(n, 60);
    assert!(batches <= 60);
    let st = g.store().lock().unwrap();
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.head_seq, 60);
}

#[test]
fn submit_with_preview_stores_the_file_durably_and_the_preview_it_made() {
    use std::sync::{Arc, Mutex};
    let t = tempfile::tempdir().unwrap();
    let (st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let g = GroupCommit::new(Arc::new(Mutex::new(st)), 4);
    let snap = |i: u8| owned(i, &format!("{i}"), 1, None);
    let s1 = snap(1);
    let bytes = s1.jpeg.clone();
    let a = g
        .submit_with_preview(
            s1,
            |j| {
                // the preview sees the same bytes that are being written
                assert_eq!(j, &bytes[..]);
                Some((8, 8, b"preview".to_vec()))
            },
            &|| 7,
        )
        .unwrap();
    // a frame the preview cannot be made of is still stored, without one
    let b = g.submit_with_preview(snap(2), |_| None, &|| 7).unwrap();
    let st = g.store().lock().unwrap();
    // stored: the frame with its self-description after SOI
    let stored = std::fs::read(st.dir().path_of(&a.sha256)).unwrap();
    assert!(stored.ends_with(&bytes[2..]));
    assert_eq!(meta::extract(&stored).unwrap().seq, a.id);
    assert_eq!(
        st.thumbnail(a.id).unwrap(),
        Some((8, 8, b"preview".to_vec()))
    );
    assert_eq!(st.thumbnail(b.id).unwrap(), None);
    let v = st.verify(true).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert_eq!(v.head_seq, 2);
}

#[test]
fn checkpoints_run_on_their_own_thread_not_in_the_commits() {
    use super::checkpoint::{POKE_EVERY, SAFETY_NET_PAGES};
    use std::sync::{Arc, Mutex};
    let t = tempfile::tempdir().unwrap();
    let (st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
    let db = st.db_path().to_owned();
    let g = GroupCommit::new(Arc::new(Mutex::new(st)), 4);
    let pages: u32 = g
        .store()
        .lock()
        .unwrap()
        .conn
        .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        pages, SAFETY_NET_PAGES,
        "the commits' own checkpoints are only a safety net"
    );
    let preview = vec![7u8; 16 * 1024];
    for i in 0..POKE_EVERY + 8 {
        let snap = owned(1, &format!("{i}"), 1, Some((8, 8, preview.clone())));
        g.submit(snap, &|| 7).unwrap();
    }
    // The rows and previews reach the database file only by a checkpoint; far below the
    // safety net, only the checkpoint thread (poked after POKE_EVERY snapshots) makes one.
    let want = POKE_EVERY * preview.len() as u64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let size = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    while size() < want && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        size() >= want,
        "footage.db is {} bytes, want ≥ {want}",
        size()
    );
    drop(g); // stops the thread
}

#[path = "tests_evidence.rs"]
mod evidence;
#[path = "tests_limits.rs"]
mod limits_tests;

/// Issue 15 review: the kiosk must never read footage.db or its WAL, also when they are
/// recreated after a restart. They live in `private/` (0700) and are 0600, WAL and SHM too,
/// after every reopen; a legacy footage.db in the data directory is moved in with its WAL.
#[test]
fn footage_db_and_its_wal_stay_owner_only_across_reopens_and_an_upgrade() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let t = tempfile::tempdir().unwrap();
    // an older version's layout: a world-readable footage.db in the data dir (moving a WAL
    // with committed rows first is `store::private`'s own test)
    {
        let (mut st, _) = FootageStore::open_writer(t.path(), 0).unwrap();
        st.ingest(&new_snapshot(&frame(1), Some(REC), 1), 1)
            .unwrap();
    }
    let private = t.path().join("private");
    let legacy = t.path().join("footage.db");
    std::fs::rename(private.join("footage.db"), &legacy).unwrap();
    std::fs::set_permissions(&legacy, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_dir(&private).unwrap();
    for round in 0..2 {
        let (mut st, _) = FootageStore::open_writer(t.path(), 10).unwrap();
        st.ingest(&new_snapshot(&frame(2 + round), Some(REC), 2), 2)
            .unwrap();
        assert_eq!(
            st.list(&Filter::default()).unwrap().len(),
            2 + round as usize
        );
        let dir = t.path().join("private");
        assert_eq!(mode(&dir), 0o700, "round {round}");
        for f in ["footage.db", "footage.db-wal", "footage.db-shm"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f}, round {round}");
        }
        assert!(!t.path().join("footage.db").exists());
    }
}
