use super::*;
use crate::fs::CreatePerms;
use crate::index::flags::Flags;
use crate::index::transaction::{AppendMessage, FlagMode, IndexTransaction};

fn settings() -> IndexSettings {
    IndexSettings::dovecot_defaults(CreatePerms::default())
}

fn message(uid: u32) -> AppendMessage {
    AppendMessage {
        uid,
        flags: Flags::NONE,
        keywords: Vec::new(),
        key: format!("1700000000.M{uid}P7.host").into_bytes(),
        physical_size: Some(100),
        virtual_size: Some(102),
        internal_date: Some(1_700_000_000),
        save_date: None,
    }
}

fn contents(uids: impl IntoIterator<Item = u32>) -> IndexTransaction {
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(1_700_000_000);
    for uid in uids {
        tx.append(message(uid));
    }
    tx
}

fn expunge(index: &mut MailboxIndex, uid: u32) -> u64 {
    let mut tx = IndexTransaction::new();
    tx.expunge(&UidSet::range(uid, uid));
    index.commit(&tx).unwrap().modseq
}

fn flag(index: &mut MailboxIndex, uid: u32) -> u64 {
    let mut tx = IndexTransaction::new();
    tx.update_flags(UidSet::range(uid, uid), FlagMode::Add, Flags::SEEN, vec![]);
    index.commit(&tx).unwrap().modseq
}

fn since(index: &MailboxIndex, modseq: u64) -> (Vec<u32>, bool) {
    let found = index.expunged_since(modseq).unwrap();
    (found.uids.iter().collect(), found.complete)
}

#[test]
fn expunges_after_a_modseq_from_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = MailboxIndex::create(dir.path(), settings(), contents(1..=5), 1).unwrap();
    let created = index.state().highest_modseq();
    let e2 = expunge(&mut index, 2);
    let f1 = flag(&mut index, 1);
    let e4 = expunge(&mut index, 4);
    assert!(e2 < f1 && f1 < e4);
    assert_eq!(since(&index, created), (vec![2, 4], true));
    assert_eq!(since(&index, e2 - 1), (vec![2, 4], true));
    assert_eq!(since(&index, e2), (vec![4], true));
    assert_eq!(since(&index, f1), (vec![4], true));
    assert_eq!(since(&index, e4), (vec![], true));
    assert_eq!(since(&index, e4 + 10), (vec![], true));
    // Before the index's first modseq: the log cannot say what happened then.
    assert_eq!(since(&index, created - 2), (vec![2, 4], false));
    // Another handle sees the same once it has read the log.
    let mut other = MailboxIndex::open(dir.path(), settings()).unwrap();
    other.refresh().unwrap();
    assert_eq!(since(&other, created), (vec![2, 4], true));
}

#[test]
fn history_reaches_back_through_the_previous_log_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    // Every commit's upkeep rotates the log.
    s.log_rotate_max_size = 1;
    let mut index = MailboxIndex::create(dir.path(), s, contents(1..=6), 1).unwrap();
    let e1 = expunge(&mut index, 1);
    let e3 = expunge(&mut index, 3);
    let e5 = expunge(&mut index, 5);
    // `.log` is empty (rotated after the last commit), `.log.2` holds the expunge of 5.
    assert_eq!(since(&index, e3), (vec![5], true));
    assert_eq!(since(&index, e5), (vec![], true));
    // The expunge of 3 was in a log that is gone: what is known, marked incomplete.
    assert_eq!(since(&index, e1), (vec![5], false));
    // A `.log.2` that is not the predecessor (replaced, or gone) is not used.
    std::fs::remove_file(dir.path().join(LOG2_NAME)).unwrap();
    assert_eq!(since(&index, e3), (vec![], false));
}

#[test]
fn a_rebuilt_index_continues_above_the_old_modseqs() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = MailboxIndex::create(dir.path(), settings(), contents(1..=3), 1).unwrap();
    expunge(&mut index, 2);
    let old = flag(&mut index, 1);
    // Rebuilt while the old log reads whole: exactly above it.
    let rebuilt = MailboxIndex::create(dir.path(), settings(), contents([1, 3]), 1).unwrap();
    let first = rebuilt.state().highest_modseq();
    assert_eq!(
        first,
        old + 2,
        "initial modseq above the old one, then the contents"
    );
    assert!(rebuilt.state().messages().iter().all(|m| m.modseq > old));
    // The new log does not reach back to the client's modseq: the caller gives a superset.
    assert_eq!(since(&rebuilt, old), (vec![], false));
    assert_eq!(since(&rebuilt, first), (vec![], true));

    // A damaged log: sessions may have seen modseqs beyond the damage, so the clock's floor.
    let log = dir.path().join(LOG_NAME);
    let mut bytes = std::fs::read(&log).unwrap();
    let intact = bytes[LOG_HEADER_LEN..].to_vec();
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    // Valid data after the damaged transaction: damage, not a torn tail.
    bytes.extend_from_slice(&intact);
    std::fs::write(&log, &bytes).unwrap();
    let floor = modseq_floor_now();
    let rebuilt = MailboxIndex::create(dir.path(), settings(), contents([1, 3]), 1).unwrap();
    assert!(
        rebuilt.state().highest_modseq() > floor.max(first),
        "{} after {first}, floor {floor}",
        rebuilt.state().highest_modseq()
    );

    // No index files at all, but the mailbox has messages (a Maildir Dovecot served, or an
    // index directory that was removed): also above the floor.
    let gone = tempfile::tempdir().unwrap();
    let floor = modseq_floor_now();
    let fresh = MailboxIndex::create(gone.path(), settings(), contents([4, 9]), 1).unwrap();
    assert!(fresh.state().highest_modseq() > floor);
    // A mailbox that never had a message starts at 1, as Dovecot's.
    let new = tempfile::tempdir().unwrap();
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(1_700_000_001);
    let empty = MailboxIndex::create(new.path(), settings(), tx, 1).unwrap();
    assert_eq!(empty.state().highest_modseq(), 1);
}

fn modseq_floor_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}
