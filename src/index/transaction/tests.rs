use super::*;
use crate::index::log::frame::Transaction;
use crate::index::state::Change;

/// A message to append (sizes 100 and 102).
pub(crate) fn msg(uid: u32, flags: Flags, keywords: &[&str]) -> AppendMessage {
    AppendMessage {
        uid,
        flags,
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        key: format!("msg{uid}").into_bytes(),
        physical_size: Some(100),
        virtual_size: Some(102),
        internal_date: Some(1_700_000_000),
        save_date: Some(1_700_000_001),
    }
}

/// Resolves and applies, as a commit does.
fn commit(
    state: &mut MailboxState,
    tx: &IndexTransaction,
) -> Result<(Resolved, Vec<Change>), IndexError> {
    let resolved = tx.resolve(state)?;
    let txn = Transaction {
        offset: 0,
        end: 0,
        modseq: state.next_modseq(&resolved.records),
        records: resolved.records.clone(),
    };
    let mut changes = Vec::new();
    state
        .apply(&txn, &mut changes)
        .expect("resolved records apply");
    Ok((resolved, changes))
}

fn names(state: &MailboxState, uid: u32) -> Vec<String> {
    let m = state.message(uid).unwrap();
    m.keywords
        .iter()
        .map(|id| state.keyword_names()[id as usize].clone())
        .collect()
}

#[test]
fn appends_flags_and_keywords() {
    let mut state = MailboxState::new(1);
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(77)
        .append(msg(1, Flags::SEEN, &["$Forwarded"]))
        .append(msg(2, Flags::NONE, &["Junk", "$forwarded"]))
        .set_next_uid(10);
    let (_, changes) = commit(&mut state, &tx).unwrap();
    assert_eq!(
        changes
            .iter()
            .filter(|c| matches!(c, Change::Appended { .. }))
            .count(),
        2
    );
    assert_eq!(
        state.keyword_names(),
        &["$Forwarded".to_string(), "Junk".to_string()]
    );
    assert_eq!(names(&state, 2), vec!["$Forwarded", "Junk"]);
    assert_eq!(
        (
            state.next_uid(),
            state.uidvalidity(),
            state.highest_modseq()
        ),
        (10, 77, 2)
    );

    let mut tx = IndexTransaction::new();
    tx.update_flags(
        UidSet::range(1, u32::MAX),
        FlagMode::Replace,
        Flags::FLAGGED,
        vec!["NonJunk".into()],
    );
    commit(&mut state, &tx).unwrap();
    for uid in [1, 2] {
        assert_eq!(state.message(uid).unwrap().flags, Flags::FLAGGED);
        assert_eq!(names(&state, uid), vec!["NonJunk"]);
        assert_eq!(state.message(uid).unwrap().modseq, 3);
    }
    let mut tx = IndexTransaction::new();
    tx.update_flags(
        UidSet::range(2, 2),
        FlagMode::Remove,
        Flags::FLAGGED,
        vec!["nonjunk".into(), "Unknown".into()],
    );
    commit(&mut state, &tx).unwrap();
    assert_eq!(state.message(2).unwrap().flags, Flags::NONE);
    assert!(names(&state, 2).is_empty());
    assert_eq!(
        state.keyword_names().len(),
        3,
        "removing an unknown keyword does not create it"
    );
}

#[test]
fn refusals() {
    let mut state = MailboxState::new(1);
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(5).append(msg(3, Flags::NONE, &[]));
    commit(&mut state, &tx).unwrap();

    let mut tx = IndexTransaction::new();
    tx.append(msg(3, Flags::NONE, &[]));
    assert!(matches!(
        commit(&mut state, &tx),
        Err(IndexError::UidOrder {
            uid: 3,
            next_uid: 4
        })
    ));
    let mut tx = IndexTransaction::new();
    tx.append(msg(5, Flags::NONE, &[]))
        .append(msg(4, Flags::NONE, &[]));
    assert!(matches!(
        commit(&mut state, &tx),
        Err(IndexError::UidOrder {
            uid: 4,
            next_uid: 6
        })
    ));
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(6);
    assert!(matches!(
        commit(&mut state, &tx),
        Err(IndexError::UidValidityChanged {
            index: 5,
            storage: 6
        })
    ));
    let mut tx = IndexTransaction::new();
    tx.update_flags(
        UidSet::range(3, 3),
        FlagMode::Add,
        Flags::NONE,
        vec!["bad name".into()],
    );
    assert!(matches!(
        commit(&mut state, &tx),
        Err(IndexError::Invalid(_))
    ));
    let mut tx = IndexTransaction::new();
    let mut m = msg(9, Flags::NONE, &[]);
    m.key = Vec::new();
    tx.append(m);
    assert!(matches!(
        commit(&mut state, &tx),
        Err(IndexError::Invalid(_))
    ));
    let mut tx = IndexTransaction::new();
    let many: Vec<String> = (0..=MAX_KEYWORDS).map(|i| format!("k{i}")).collect();
    tx.update_flags(UidSet::range(3, 3), FlagMode::Add, Flags::NONE, many);
    assert!(matches!(
        commit(&mut state, &tx),
        Err(IndexError::Invalid(_))
    ));
    assert_eq!(state.next_uid(), 4, "refused transactions change nothing");
}

#[test]
fn raising_the_first_recent_uid() {
    let mut state = MailboxState::new(1);
    let mut tx = IndexTransaction::new();
    for uid in 1..=5 {
        tx.append(msg(uid, Flags::NONE, &[]));
    }
    // with the appends: messages 1-3 are not recent, a claim takes 4 and 5
    tx.raise_first_recent_uid(2).raise_first_recent_uid(4);
    commit(&mut state, &tx).unwrap();
    assert_eq!((state.first_recent_uid(), state.recent_count()), (4, 2));
    // never lowered, never past the next UID
    let mut tx = IndexTransaction::new();
    tx.raise_first_recent_uid(3);
    let (resolved, _) = commit(&mut state, &tx).unwrap();
    assert!(resolved.records.is_empty());
    let mut tx = IndexTransaction::new();
    tx.raise_first_recent_uid(5).claim_recent();
    let (resolved, _) = commit(&mut state, &tx).unwrap();
    assert_eq!(resolved.claimed_recent.iter().collect::<Vec<_>>(), vec![5]);
    let mut tx = IndexTransaction::new();
    tx.raise_first_recent_uid(100);
    commit(&mut state, &tx).unwrap();
    assert_eq!((state.first_recent_uid(), state.recent_count()), (6, 0));
}

#[test]
fn expunge_recent_and_cache() {
    let mut state = MailboxState::new(1);
    let mut tx = IndexTransaction::new();
    for uid in 1..=4 {
        tx.append(msg(uid, Flags::NONE, &[]));
    }
    commit(&mut state, &tx).unwrap();
    assert_eq!(state.recent_count(), 4);

    let mut tx = IndexTransaction::new();
    tx.expunge(&UidSet::range(2, 2))
        .append(msg(5, Flags::NONE, &[]))
        .claim_recent();
    let (resolved, _) = commit(&mut state, &tx).unwrap();
    assert_eq!(
        resolved.claimed_recent.iter().collect::<Vec<_>>(),
        vec![1, 3, 4, 5]
    );
    assert_eq!((state.first_recent_uid(), state.recent_count()), (6, 0));
    let mut tx = IndexTransaction::new();
    tx.claim_recent();
    let (resolved, _) = commit(&mut state, &tx).unwrap();
    assert!(resolved.claimed_recent.is_empty() && resolved.records.is_empty());

    // Expunging twice, or what never existed, is not an error.
    let mut tx = IndexTransaction::new();
    tx.expunge(&UidSet::range(1, 1000));
    tx.expunge(&UidSet::range(2, 2));
    let (resolved, changes) = commit(&mut state, &tx).unwrap();
    assert_eq!(resolved.records.len(), 4);
    assert_eq!(changes.len(), 4);
    assert_eq!(state.message_count(), 0);

    let mut tx = IndexTransaction::new();
    tx.append(msg(6, Flags::NONE, &[]));
    commit(&mut state, &tx).unwrap();
    let mut tx = IndexTransaction::new();
    tx.set_cache_offset(0, 6, 500);
    commit(&mut state, &tx).unwrap();
    assert_eq!(state.message(6).unwrap().cache_offset, 500);
    let mut tx = IndexTransaction::new();
    tx.reset_cache(9).set_cache_offset(9, 6, 64);
    commit(&mut state, &tx).unwrap();
    assert_eq!(
        (
            state.cache_reset_id(),
            state.message(6).unwrap().cache_offset
        ),
        (9, 64)
    );
    // Offsets from a cache generation that is gone are dropped.
    let mut tx = IndexTransaction::new();
    tx.set_cache_offset(0, 6, 700);
    let (resolved, _) = commit(&mut state, &tx).unwrap();
    assert!(resolved.records.is_empty());
}

#[test]
fn modseq_updates_leave_flags_alone() {
    let mut state = MailboxState::new(1);
    let mut tx = IndexTransaction::new();
    tx.set_uidvalidity(77)
        .append(msg(1, Flags::SEEN, &[]))
        .append(msg(2, Flags::NONE, &[]))
        .set_next_uid(5);
    commit(&mut state, &tx).unwrap();
    let before = state.highest_modseq();
    // UID 3 never existed, 9 is beyond the next UID: both skipped.
    let mut tx = IndexTransaction::new();
    tx.update_modseqs(&[2, 3, 9].into_iter().collect());
    let (resolved, changes) = commit(&mut state, &tx).unwrap();
    assert_eq!(resolved.records.len(), 1);
    let modseq = state.highest_modseq();
    assert!(modseq > before);
    assert_eq!(changes, [Change::Modseq { uid: 2, modseq }]);
    let m = state.message(2).unwrap();
    assert_eq!((m.flags, m.modseq), (Flags::NONE, modseq));
    assert_eq!(state.message(1).unwrap().modseq, before);
    // Only missing messages: nothing to write.
    let mut tx = IndexTransaction::new();
    tx.update_modseqs(&UidSet::range(3, 4));
    assert!(tx.resolve(&state).unwrap().records.is_empty());
}
