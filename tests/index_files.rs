//! The index files on disk: commits seen by other handles, torn tails, damage, rotation,
//! snapshot rewrites, rebuilds — with `mmap_disable` off and on.

use std::path::Path;

use cote::fs::CreatePerms;
use cote::index::error::IndexError;
use cote::index::flags::Flags;
use cote::index::mailbox::MailboxIndex;
use cote::index::settings::{IndexSettings, LOG2_NAME, LOG_NAME, SNAPSHOT_NAME};
use cote::index::snapshot::format::decode_header;
use cote::index::state::Change;
use cote::index::transaction::{AppendMessage, FlagMode, IndexTransaction};
use cote::index::uidset::UidSet;
use cote::index::view::View;

fn settings(mmap_disable: bool) -> IndexSettings {
    let mut s = IndexSettings::dovecot_defaults(CreatePerms::default());
    s.fs.mmap_disable = mmap_disable;
    s
}

fn message(uid: u32) -> AppendMessage {
    AppendMessage {
        uid,
        flags: Flags::NONE,
        keywords: Vec::new(),
        key: format!("1700000000.M{uid}P42.host").into_bytes(),
        physical_size: Some(1000 + u64::from(uid)),
        virtual_size: Some(1020 + u64::from(uid)),
        internal_date: Some(1_700_000_000),
        save_date: Some(1_700_000_100),
    }
}

fn create(dir: &Path, s: &IndexSettings, count: u32) -> MailboxIndex {
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(1_700_000_000);
    for uid in 1..=count {
        tx.append(message(uid));
    }
    MailboxIndex::create(dir, s.clone(), tx, 1).unwrap()
}

fn append(index: &mut MailboxIndex, uid: u32) {
    let mut tx = IndexTransaction::new();
    tx.append(message(uid));
    index.commit(&tx).unwrap();
}

fn flag(index: &mut MailboxIndex, uid: u32, flags: Flags, keyword: &str) -> u64 {
    let mut tx = IndexTransaction::new();
    tx.update_flags(
        UidSet::range(uid, uid),
        FlagMode::Add,
        flags,
        vec![keyword.to_string()],
    );
    index.commit(&tx).unwrap().modseq
}

fn both_modes(test: impl Fn(bool)) {
    test(false);
    test(true);
}

#[test]
fn commits_reach_other_handles() {
    both_modes(|mmap_disable| {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(mmap_disable);
        let mut a = create(dir.path(), &s, 3);
        let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        assert_eq!(b.state(), a.state());
        let m1 = flag(&mut a, 2, Flags::SEEN, "$Forwarded");
        append(&mut a, 4);
        let changes = b.refresh().unwrap();
        assert_eq!(
            changes,
            vec![
                Change::KeywordNames,
                Change::Flags { uid: 2, modseq: m1 },
                Change::Appended { uid: 4 }
            ]
        );
        assert_eq!(b.state(), a.state());
        assert_eq!(b.state().seen_count(), 1);
        assert!(b.refresh().unwrap().is_empty());
        // And the other way round, keyword ids agreeing.
        let m2 = flag(&mut b, 4, Flags::NONE, "$forwarded");
        assert!(m2 > m1);
        a.refresh().unwrap();
        assert_eq!(a.state(), b.state());
        assert_eq!(a.state().keyword_names().len(), 1);
    });
}

#[test]
fn torn_tail_is_invisible_and_overwritten() {
    both_modes(|mmap_disable| {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(mmap_disable);
        let mut a = create(dir.path(), &s, 1);
        let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        // A writer that died half way through: half of a real transaction.
        let log = dir.path().join(LOG_NAME);
        let before = std::fs::read(&log).unwrap();
        append(&mut a, 2);
        let after = std::fs::read(&log).unwrap();
        let txn = &after[before.len()..];
        std::fs::write(&log, [&before[..], &txn[..txn.len() / 2]].concat()).unwrap();
        let mut c = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        assert_eq!(
            c.state().message_count(),
            1,
            "a torn transaction is not visible"
        );
        assert!(b.refresh().unwrap().is_empty());
        // The next writer cuts the torn bytes and writes in their place.
        let mut d = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        append(&mut d, 5);
        assert_eq!(b.refresh().unwrap(), vec![Change::Appended { uid: 5 }]);
        assert_eq!(c.refresh().unwrap(), vec![Change::Appended { uid: 5 }]);
        assert_eq!(
            b.state()
                .messages()
                .iter()
                .map(|m| m.uid)
                .collect::<Vec<_>>(),
            vec![1, 5]
        );
    });
}

#[test]
fn damage_asks_for_a_rebuild_and_the_rebuild_is_followed() {
    both_modes(|mmap_disable| {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(mmap_disable);
        let mut a = create(dir.path(), &s, 2);
        flag(&mut a, 1, Flags::SEEN, "x");
        flag(&mut a, 2, Flags::SEEN, "y");
        let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        // Damage the first flag transaction; a valid one follows it.
        let log = dir.path().join(LOG_NAME);
        let mut bytes = std::fs::read(&log).unwrap();
        let at = bytes.len() - 60;
        let first_flag_txn = (0..at)
            .rev()
            .find(|&i| bytes[i..].starts_with(&[16, 0, 0, 0, 0, 1, 0, 0]))
            .unwrap();
        let second = (0..first_flag_txn)
            .rev()
            .find(|&i| bytes[i..].starts_with(&[16, 0, 0, 0, 0, 1, 0, 0]))
            .unwrap();
        bytes[second + 30] ^= 0x55;
        std::fs::write(&log, &bytes).unwrap();
        std::fs::remove_file(dir.path().join(SNAPSHOT_NAME)).unwrap();
        match MailboxIndex::open(dir.path(), s.clone()) {
            Err(IndexError::NeedsRebuild { path, reason }) => {
                assert_eq!(path, log);
                assert!(reason.contains("offset="), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        // The storage rebuilds from its truth: message 2 is gone there, 3 is new.
        let mut tx = IndexTransaction::new();
        tx.set_uidvalidity(1_700_000_000)
            .append(message(1))
            .append(message(3));
        tx.update_flags(UidSet::range(1, 1), FlagMode::Add, Flags::SEEN, vec![]);
        let rebuilt =
            MailboxIndex::create(dir.path(), s.clone(), tx, b.state().highest_modseq() + 1)
                .unwrap();
        assert_ne!(rebuilt.indexid(), b.indexid());
        // A handle of the old generation reports the difference.
        let changes = b.refresh().unwrap();
        assert!(
            changes.contains(&Change::Expunged { uid: 2 }),
            "{changes:?}"
        );
        assert!(
            changes.contains(&Change::Appended { uid: 3 }),
            "{changes:?}"
        );
        assert_eq!(b.state(), rebuilt.state());
        assert!(b.state().highest_modseq() > 3);
    });
}

#[test]
fn foreign_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(true);
    assert!(matches!(
        MailboxIndex::open(dir.path(), s.clone()),
        Err(IndexError::NeedsRebuild { .. })
    ));
    std::fs::write(dir.path().join(LOG_NAME), b"dovecot? no.").unwrap();
    assert!(matches!(
        MailboxIndex::open(dir.path(), s.clone()),
        Err(IndexError::NeedsRebuild { .. })
    ));
    let mut a = create(dir.path(), &s, 2);
    // A damaged snapshot is not trusted; the log still has everything.
    append(&mut a, 3);
    std::fs::write(dir.path().join(SNAPSHOT_NAME), b"garbage").unwrap();
    let b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
    assert_eq!(b.state(), a.state());
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(5);
    assert!(matches!(
        a.commit(&tx),
        Err(IndexError::UidValidityChanged {
            index: 1_700_000_000,
            storage: 5
        })
    ));
    let mut tx = IndexTransaction::new();
    tx.append(message(2));
    assert!(matches!(
        a.commit(&tx),
        Err(IndexError::UidOrder {
            uid: 2,
            next_uid: 4
        })
    ));
}

#[test]
fn snapshot_rewrite_and_rotation_are_followed() {
    both_modes(|mmap_disable| {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(mmap_disable);
        s.rewrite_min_log_bytes = 512;
        s.rewrite_max_log_bytes = 2048;
        s.log_rotate_min_size = 1024;
        s.log_rotate_max_size = 4096;
        let mut a = create(dir.path(), &s, 1);
        let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        let mut seen = Vec::new();
        for uid in 2..=120 {
            append(&mut a, uid);
            flag(&mut a, uid - 1, Flags::FLAGGED, "k");
            if uid % 7 == 0 {
                seen.extend(b.refresh().unwrap());
            }
        }
        seen.extend(b.refresh().unwrap());
        assert!(a.log_position().0 >= 3, "rotated: {:?}", a.log_position());
        assert_eq!(b.log_position(), a.log_position());
        assert_eq!(b.state(), a.state());
        let appended = seen
            .iter()
            .filter(|c| matches!(c, Change::Appended { .. }))
            .count();
        assert_eq!(appended, 119);
        let snap = std::fs::read(dir.path().join(SNAPSHOT_NAME)).unwrap();
        let h = decode_header(&snap).unwrap();
        assert_eq!(h.indexid, a.indexid());
        assert!(dir.path().join(LOG2_NAME).exists());
        // A new reader starts from the snapshot and the current log.
        let c = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        assert_eq!(c.state(), a.state());
        // Even without `.log.2`, since the snapshot was written at the rotation.
        std::fs::remove_file(dir.path().join(LOG2_NAME)).unwrap();
        let c = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        assert_eq!(c.state(), a.state());
    });
}

#[test]
fn views_number_and_claim_recent() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(false);
    create(dir.path(), &s, 3);
    let mut selected = View::new(MailboxIndex::open(dir.path(), s.clone()).unwrap(), true).unwrap();
    let mut examined =
        View::new(MailboxIndex::open(dir.path(), s.clone()).unwrap(), false).unwrap();
    assert_eq!(selected.seqs().recent_count(), 3);
    assert_eq!(examined.seqs().recent_count(), 0);
    let mut other = MailboxIndex::open(dir.path(), s.clone()).unwrap();
    append(&mut other, 4);
    let mut tx = IndexTransaction::new();
    tx.expunge(&UidSet::range(2, 2));
    other.commit(&tx).unwrap();
    // The examining session sees the new message first: it must not take \Recent.
    examined.refresh().unwrap();
    selected.refresh().unwrap();
    // Still numbered until the session takes the expunge.
    assert_eq!(selected.seqs().recent_count(), 4);
    assert!(selected.seqs().is_recent(4));
    assert_eq!(examined.seqs().recent_count(), 0);
    assert_eq!(selected.seqs().count(), 4);
    assert!(selected.seqs().is_expunged(2));
    assert_eq!(selected.take_expunges(), vec![(2, 2)]);
    assert_eq!(selected.seqs().uids(), &[1, 3, 4]);
    assert_eq!(selected.seqs().recent_count(), 3);
    assert_eq!(selected.state().recent_count(), 0);
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn cache_fields_are_shared_chained_and_purged() {
    both_modes(|mmap_disable| {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(mmap_disable);
        let mut a = create(dir.path(), &s, 3);
        let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        assert!(a.cached_fields(1).unwrap().is_empty());
        let w = a
            .cache_fields(&[
                (
                    1,
                    fields(&[("imap.envelope", "(env 1)"), ("size.virtual", "1021")]),
                ),
                (2, fields(&[("imap.envelope", "(env 2)")])),
                (9, fields(&[("imap.envelope", "gone")])),
            ])
            .unwrap();
        assert_eq!((w.written, w.skipped), (2, 1));
        b.refresh().unwrap();
        assert_eq!(
            b.cached_fields(1).unwrap(),
            fields(&[("imap.envelope", "(env 1)"), ("size.virtual", "1021")])
        );
        // A later record for the same message links to the earlier one; newest wins.
        b.cache_fields(&[(
            1,
            fields(&[("imap.bodystructure", "(bs)"), ("size.virtual", "1022")]),
        )])
        .unwrap();
        a.refresh().unwrap();
        let got = a.cached_fields(1).unwrap();
        assert_eq!(
            got,
            fields(&[
                ("imap.bodystructure", "(bs)"),
                ("size.virtual", "1022"),
                ("imap.envelope", "(env 1)")
            ])
        );
        let reset = a.state().cache_reset_id();
        a.purge_cache().unwrap();
        assert_ne!(a.state().cache_reset_id(), reset);
        b.refresh().unwrap();
        assert_eq!(b.cached_fields(1).unwrap(), got);
        assert_eq!(
            b.cached_fields(2).unwrap(),
            fields(&[("imap.envelope", "(env 2)")])
        );
        assert!(b.cached_fields(3).unwrap().is_empty());
    });
}

#[test]
fn cache_limits_and_damage() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(true);
    s.cache_record_max_size = 200;
    let mut a = create(dir.path(), &s, 3);
    let big = "x".repeat(300);
    let w = a
        .cache_fields(&[
            (1, fields(&[("body", &big)])),
            (2, fields(&[("imap.envelope", "(e2)")])),
            (3, fields(&[("imap.envelope", "(e3)")])),
        ])
        .unwrap();
    assert_eq!((w.written, w.skipped), (2, 1));
    assert!(a.cached_fields(1).unwrap().is_empty());
    // Damage the record of message 2: it is dropped, message 3 is still served.
    let path = dir.path().join("cote.index.cache");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.windows(4).position(|w| w == b"(e2)").unwrap();
    bytes[at] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
    assert!(b.cached_fields(2).unwrap().is_empty());
    assert_eq!(
        b.cached_fields(3).unwrap(),
        fields(&[("imap.envelope", "(e3)")])
    );
    assert!(b
        .cache_fields(&[(2, fields(&[("bad name", "v")]))])
        .is_err());
    // A cache that cannot grow: writes are skipped, nothing fails.
    s.cache_max_size = 100;
    let mut c = MailboxIndex::open(dir.path(), s.clone()).unwrap();
    let w = c
        .cache_fields(&[(2, fields(&[("imap.envelope", &"y".repeat(150))]))])
        .unwrap();
    assert_eq!((w.written, w.skipped), (0, 1));
}

#[test]
fn an_older_snapshot_is_continued_through_log2() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(true);
    s.rewrite_min_log_bytes = 256;
    s.rewrite_max_log_bytes = 1024;
    s.log_rotate_min_size = 4096;
    s.log_rotate_max_size = 4096;
    let mut a = create(dir.path(), &s, 1);
    let mut uid = 2;
    let snapshot = dir.path().join(SNAPSHOT_NAME);
    // Wait for a snapshot in the middle of the first log file, and keep a copy of it.
    let old = loop {
        append(&mut a, uid);
        uid += 1;
        let h = decode_header(&std::fs::read(&snapshot).unwrap()).unwrap();
        if h.log_file_seq == 1 && h.log_offset > 1500 {
            break std::fs::read(&snapshot).unwrap();
        }
    };
    while a.log_position().0 == 1 {
        append(&mut a, uid);
        uid += 1;
    }
    append(&mut a, uid);
    std::fs::write(&snapshot, &old).unwrap();
    let b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
    assert_eq!(b.state(), a.state());
    std::fs::remove_file(dir.path().join(LOG2_NAME)).unwrap();
    assert!(matches!(
        MailboxIndex::open(dir.path(), s.clone()),
        Err(IndexError::NeedsRebuild { .. })
    ));
}

#[test]
fn any_damaged_byte_is_refused_or_an_earlier_state() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(true);
    let mut a = create(dir.path(), &s, 2);
    let mut states = vec![a.state().clone()];
    for uid in 3..12 {
        append(&mut a, uid);
        states.push(a.state().clone());
        flag(&mut a, uid - 1, Flags::SEEN, "k");
        states.push(a.state().clone());
    }
    let log = dir.path().join(LOG_NAME);
    let good = std::fs::read(&log).unwrap();
    let _ = std::fs::remove_file(dir.path().join(SNAPSHOT_NAME));
    let (mut refused, mut earlier) = (0, 0);
    for at in (0..good.len()).step_by(3) {
        for mask in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= mask;
            std::fs::write(&log, &bad).unwrap();
            match MailboxIndex::open(dir.path(), s.clone()) {
                Ok(index) => {
                    // Only damage to the last transaction can look like a torn tail.
                    assert_eq!(index.state(), &states[states.len() - 2], "byte {at}");
                    earlier += 1;
                }
                Err(IndexError::NeedsRebuild { .. }) => refused += 1,
                Err(e) => panic!("byte {at}: {e}"),
            }
        }
    }
    assert!(refused > 0 && earlier > 0);
}

/// The log lock is never on `cote.index.log`, which rotations and rebuilds rename over while
/// holding it (CIFS refuses to rename over a file its client holds locked): an fcntl/flock
/// lock is on `cote.index.lock`, which nobody renames.
#[test]
fn the_log_lock_is_on_a_file_of_its_own() {
    use cote::fs::{FlockLock, FsFile, LockKind, LockMethod, RecordLock};
    use cote::index::settings::LOCK_NAME;
    for method in [LockMethod::Fcntl, LockMethod::Flock] {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(false);
        s.fs.lock_method = method;
        let mut a = create(dir.path(), &s, 1);
        let held = |name: &str| {
            let file = FsFile::open_rw(&dir.path().join(name)).unwrap();
            match method {
                LockMethod::Fcntl => match RecordLock::try_lock(&file, LockKind::Exclusive) {
                    Ok(Some(lock)) => lock.unlock().map(|()| false).unwrap(),
                    Ok(None) => true,
                    Err(e) => panic!("{e}"),
                },
                _ => match FlockLock::try_lock(&file, LockKind::Exclusive) {
                    Ok(Some(lock)) => lock.unlock().map(|()| false).unwrap(),
                    Ok(None) => true,
                    Err(e) => panic!("{e}"),
                },
            }
        };
        let locked = a.lock().unwrap();
        assert!(held(LOCK_NAME), "{method:?}: the lock file is locked");
        assert!(!held(LOG_NAME), "{method:?}: the log is not");
        locked.unlock().unwrap();
        assert!(!held(LOCK_NAME));

        // Deleted under an open index, the lock file is opened again: two handles never both
        // hold the lock on two different files.
        s.fs.max_lock_timeout = Some(std::time::Duration::from_secs(1));
        let mut a = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        let mut b = MailboxIndex::open(dir.path(), s.clone()).unwrap();
        append(&mut a, 2);
        std::fs::remove_file(dir.path().join(LOCK_NAME)).unwrap();
        let b_locked = b.lock().unwrap();
        let err = a.lock().map(|_| ()).unwrap_err();
        assert!(
            matches!(&err, IndexError::Fs(e) if e.is_lock_timeout()),
            "{method:?}: {err}"
        );
        b_locked.unlock().unwrap();
        append(&mut a, 3);
        b.refresh().unwrap();
        assert_eq!(b.state(), a.state());
        assert_eq!(a.state().messages().len(), 3);
    }
}
