//! Replay of random transaction sequences against a plain model of a mailbox.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::index::log::frame::{encode_transaction, scan};
use crate::index::uidset::UidSet;

const NAMES: [&str; 5] = ["$Forwarded", "Junk", "NonJunk", "$label1", "work"];

/// What a test asks the mailbox to do; turned into records against the model.
#[derive(Debug, Clone)]
pub enum Op {
    Append {
        count: u8,
        flags: u8,
        names: Vec<usize>,
    },
    Flags {
        pick: Vec<prop::sample::Index>,
        add: u8,
        remove: u8,
        add_names: Vec<usize>,
        remove_names: Vec<usize>,
    },
    Expunge {
        pick: Vec<prop::sample::Index>,
    },
    Modseq {
        pick: Vec<prop::sample::Index>,
    },
    Backend(Vec<u8>),
    ClaimRecent,
    CacheReset(u32),
    CacheOffset {
        pick: prop::sample::Index,
        offset: u32,
    },
    Deleted(bool),
}

pub fn arb_op() -> impl Strategy<Value = Op> {
    let names = || proptest::collection::vec(0..NAMES.len(), 0..3);
    let picks = || proptest::collection::vec(any::<prop::sample::Index>(), 1..4);
    prop_oneof![
        3 => (1u8..4, 0u8..32, names()).prop_map(|(count, flags, names)| Op::Append { count, flags, names }),
        3 => (picks(), 0u8..32, 0u8..32, names(), names()).prop_map(|(pick, add, remove, add_names, remove_names)| {
            Op::Flags { pick, add, remove, add_names, remove_names }
        }),
        2 => picks().prop_map(|pick| Op::Expunge { pick }),
        2 => picks().prop_map(|pick| Op::Modseq { pick }),
        1 => proptest::collection::vec(any::<u8>(), 0..8).prop_map(Op::Backend),
        1 => Just(Op::ClaimRecent),
        1 => any::<u32>().prop_map(Op::CacheReset),
        1 => (any::<prop::sample::Index>(), 1u32..10_000).prop_map(|(pick, offset)| Op::CacheOffset { pick, offset }),
        1 => any::<bool>().prop_map(Op::Deleted),
    ]
}

/// A model message: flags, keyword names, modseq, key, cache offset.
type ModelMessage = (Flags, BTreeSet<String>, u64, Vec<u8>, u32);

/// A mailbox as plain maps: the reference the index state must match.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub msgs: BTreeMap<u32, ModelMessage>,
    pub keywords: Vec<String>,
    pub next_uid: u32,
    pub highest_modseq: u64,
    pub first_recent_uid: u32,
    pub backend: Vec<u8>,
    pub cache_reset_id: u32,
    pub deleted: bool,
}

fn flags(bits: u8) -> Flags {
    Flags::from_bits(bits & 0x1f).unwrap_or_default()
}

impl Model {
    pub fn new() -> Model {
        Model {
            next_uid: 1,
            highest_modseq: 1,
            first_recent_uid: 1,
            ..Model::default()
        }
    }

    fn ids(&mut self, names: &[usize], records: &mut Vec<Record>) -> KeywordSet {
        let mut set = KeywordSet::new();
        for &n in names {
            let name = NAMES[n];
            let id = match self.keywords.iter().position(|k| k == name) {
                Some(id) => id,
                None => {
                    records.push(Record::KeywordNames {
                        first_id: self.keywords.len() as u32,
                        names: vec![name.into()],
                    });
                    self.keywords.push(name.into());
                    self.keywords.len() - 1
                }
            };
            set.insert(id as u32);
        }
        set
    }

    fn pick(&self, pick: &[prop::sample::Index]) -> Vec<u32> {
        let uids: Vec<u32> = self.msgs.keys().copied().collect();
        if uids.is_empty() {
            return Vec::new();
        }
        pick.iter().map(|p| uids[p.index(uids.len())]).collect()
    }

    /// The records one op becomes, applied to the model (modseq included).
    pub fn records(&mut self, op: &Op) -> Vec<Record> {
        let mut records = Vec::new();
        let modseq = self.highest_modseq + 1;
        let mut changed = false;
        match op {
            Op::Append {
                count,
                flags: f,
                names,
            } => {
                let kw = self.ids(names, &mut records);
                for _ in 0..*count {
                    let uid = self.next_uid;
                    let key = format!("1700000000.M{uid}P1.host").into_bytes();
                    records.push(Record::Append(NewMessage {
                        uid,
                        flags: flags(*f),
                        keywords: kw.clone(),
                        key: key.clone(),
                        physical_size: Some(u64::from(uid) * 10),
                        virtual_size: None,
                        internal_date: Some(1_700_000_000 + i64::from(uid)),
                        save_date: None,
                    }));
                    let names = names.iter().map(|&n| NAMES[n].to_string()).collect();
                    self.msgs.insert(uid, (flags(*f), names, modseq, key, 0));
                    self.next_uid += 1;
                    changed = true;
                }
            }
            Op::Flags {
                pick,
                add,
                remove,
                add_names,
                remove_names,
            } => {
                let uids: UidSet = self.pick(pick).into_iter().collect();
                if uids.is_empty() {
                    return records;
                }
                let add_kw = self.ids(add_names, &mut records);
                let remove_kw = self.ids(remove_names, &mut records);
                records.push(Record::FlagUpdate(FlagUpdate {
                    uids: uids.clone(),
                    add: flags(*add),
                    remove: flags(*remove),
                    add_keywords: add_kw,
                    remove_keywords: remove_kw,
                }));
                for uid in uids.iter() {
                    let m = self.msgs.get_mut(&uid).expect("picked");
                    let new_flags = m.0.difference(flags(*remove)).union(flags(*add));
                    let mut names = m.1.clone();
                    for &n in remove_names {
                        names.remove(NAMES[n]);
                    }
                    for &n in add_names {
                        names.insert(NAMES[n].to_string());
                    }
                    if new_flags != m.0 || names != m.1 {
                        *m = (new_flags, names, modseq, m.3.clone(), m.4);
                    }
                }
                changed = true;
            }
            Op::Expunge { pick } => {
                let uids: BTreeSet<u32> = self.pick(pick).into_iter().collect();
                for uid in uids {
                    let key = self.msgs.remove(&uid).expect("picked").3;
                    records.push(Record::Expunge { uid, key });
                    changed = true;
                }
            }
            Op::Modseq { pick } => {
                let uids: UidSet = self.pick(pick).into_iter().collect();
                if uids.is_empty() {
                    return records;
                }
                for uid in uids.iter() {
                    self.msgs.get_mut(&uid).expect("picked").2 = modseq;
                }
                records.push(Record::ModseqUpdate { uids });
                changed = true;
            }
            Op::Backend(b) => {
                records.push(Record::Header(HeaderUpdate::BackendState(b.clone())));
                self.backend = b.clone();
            }
            Op::ClaimRecent => {
                records.push(Record::Header(HeaderUpdate::FirstRecentUid(self.next_uid)));
                self.first_recent_uid = self.next_uid;
            }
            Op::CacheReset(id) => {
                records.push(Record::CacheReset { reset_id: *id });
                self.cache_reset_id = *id;
                for m in self.msgs.values_mut() {
                    m.4 = 0;
                }
            }
            Op::CacheOffset { pick, offset } => {
                if let Some(&uid) = self.pick(std::slice::from_ref(pick)).first() {
                    records.push(Record::CacheOffsets {
                        reset_id: self.cache_reset_id,
                        entries: vec![(uid, *offset)],
                    });
                    if let Some(m) = self.msgs.get_mut(&uid) {
                        m.4 = *offset;
                    }
                }
            }
            Op::Deleted(d) => {
                records.push(if *d {
                    Record::IndexDeleted
                } else {
                    Record::IndexUndeleted
                });
                self.deleted = *d;
            }
        }
        if changed {
            self.highest_modseq = modseq;
        }
        records
    }

    /// Checks that `state` is this model.
    pub fn check(&self, state: &MailboxState) -> Result<(), TestCaseError> {
        prop_assert_eq!(state.next_uid(), self.next_uid);
        prop_assert_eq!(state.highest_modseq(), self.highest_modseq);
        prop_assert_eq!(state.first_recent_uid(), self.first_recent_uid);
        prop_assert_eq!(state.backend_state(), &self.backend[..]);
        prop_assert_eq!(state.cache_reset_id(), self.cache_reset_id);
        prop_assert_eq!(state.is_deleted(), self.deleted);
        prop_assert_eq!(state.message_count() as usize, self.msgs.len());
        let seen = self
            .msgs
            .values()
            .filter(|m| m.0.contains(Flags::SEEN))
            .count();
        let deleted = self
            .msgs
            .values()
            .filter(|m| m.0.contains(Flags::DELETED))
            .count();
        prop_assert_eq!(state.seen_count() as usize, seen);
        prop_assert_eq!(state.deleted_count() as usize, deleted);
        for (m, (uid, (f, names, modseq, key, cache))) in state.messages().iter().zip(&self.msgs) {
            prop_assert_eq!(m.uid, *uid);
            prop_assert_eq!(m.flags, *f);
            let got: BTreeSet<String> = m
                .keywords
                .iter()
                .map(|id| state.keyword_names()[id as usize].clone())
                .collect();
            prop_assert_eq!(&got, names);
            prop_assert_eq!(m.modseq, *modseq);
            prop_assert_eq!(&m.key[..], &key[..]);
            prop_assert_eq!(m.cache_offset, *cache);
        }
        Ok(())
    }
}

/// Encodes ops as transactions (one per op), as a log body.
pub fn log_bytes(model: &mut Model, ops: &[Op]) -> Vec<u8> {
    let mut buf = Vec::new();
    for op in ops {
        let records = model.records(op);
        buf.extend(encode_transaction(model.highest_modseq, &records).unwrap());
    }
    buf
}

pub fn replay(buf: &[u8]) -> Result<(MailboxState, Vec<Change>), Malformed> {
    let scanned = scan(buf, 0).map_err(|d| malformed(d.reason))?;
    let mut state = MailboxState::new(1);
    let mut changes = Vec::new();
    for txn in &scanned.transactions {
        state.apply(txn, &mut changes)?;
    }
    Ok((state, changes))
}

pub fn arb_state() -> impl Strategy<Value = MailboxState> {
    (proptest::collection::vec(arb_op(), 0..12), any::<u32>()).prop_map(|(ops, uidvalidity)| {
        let mut model = Model::new();
        let mut buf = log_bytes(&mut model, &ops);
        let records = [Record::Header(HeaderUpdate::UidValidity(
            uidvalidity.max(1),
        ))];
        buf.extend(encode_transaction(model.highest_modseq, &records).unwrap());
        replay(&buf).expect("valid log").0
    })
}

proptest! {
    #[test]
    fn replay_equals_model(ops in proptest::collection::vec(arb_op(), 0..30)) {
        let mut model = Model::new();
        let buf = log_bytes(&mut model, &ops);
        let (state, _) = replay(&buf).unwrap();
        model.check(&state)?;
    }

    /// The changes reported while replaying, applied to the old uid list, give the new one;
    /// `diff` of two states reports the same appends and expunges; the records retired are
    /// those of the expunged messages.
    #[test]
    fn changes_and_diff_agree(ops in proptest::collection::vec(arb_op(), 0..20), split in any::<prop::sample::Index>()) {
        let mut model = Model::new();
        let buf = log_bytes(&mut model, &ops);
        let scanned = scan(&buf, 0).unwrap();
        let at = split.index(scanned.transactions.len() + 1);
        let mut state = MailboxState::new(1);
        let mut ignored = Vec::new();
        for txn in &scanned.transactions[..at] {
            state.apply(txn, &mut ignored).unwrap();
        }
        state.take_retired();
        let before = state.clone();
        let mut changes = Vec::new();
        for txn in &scanned.transactions[at..] {
            state.apply(txn, &mut changes).unwrap();
        }
        let retired: BTreeSet<u32> = state.take_retired().iter().map(|m| m.uid).collect();
        let expunged: BTreeSet<u32> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Expunged { uid } => Some(*uid),
                _ => None,
            })
            .collect();
        prop_assert_eq!(retired, expunged);
        let mut uids: BTreeSet<u32> = before.messages().iter().map(|m| m.uid).collect();
        for c in &changes {
            match c {
                Change::Appended { uid } => prop_assert!(uids.insert(*uid)),
                Change::Expunged { uid } => prop_assert!(uids.remove(uid)),
                _ => {}
            }
        }
        let now: BTreeSet<u32> = state.messages().iter().map(|m| m.uid).collect();
        prop_assert_eq!(&uids, &now);
        let mut from_diff: BTreeSet<u32> = before.messages().iter().map(|m| m.uid).collect();
        for c in before.diff(&state) {
            match c {
                Change::Appended { uid } => prop_assert!(from_diff.insert(uid)),
                Change::Expunged { uid } => prop_assert!(from_diff.remove(&uid)),
                Change::Flags { uid, .. } => {
                    let (a, b) = (before.message(uid).unwrap(), state.message(uid).unwrap());
                    prop_assert!(a.flags != b.flags || a.keywords != b.keywords);
                }
                Change::Modseq { uid, modseq } => {
                    let (a, b) = (before.message(uid).unwrap(), state.message(uid).unwrap());
                    prop_assert!(a.flags == b.flags && a.modseq != b.modseq);
                    prop_assert_eq!(modseq, b.modseq);
                }
                _ => {}
            }
        }
        prop_assert_eq!(from_diff, now);
    }
}

fn txn(modseq: u64, records: Vec<Record>) -> Transaction {
    Transaction {
        offset: 0,
        end: 0,
        modseq,
        records,
    }
}

fn append(uid: u32) -> Record {
    Record::Append(NewMessage {
        uid,
        flags: Flags::NONE,
        keywords: KeywordSet::new(),
        key: b"k".to_vec(),
        physical_size: None,
        virtual_size: None,
        internal_date: None,
        save_date: None,
    })
}

#[test]
fn impossible_transactions_are_refused() {
    let mut base = MailboxState::new(1);
    let mut changes = Vec::new();
    base.apply(&txn(2, vec![append(5)]), &mut changes).unwrap();
    base.apply(
        &txn(2, vec![Record::Header(HeaderUpdate::UidValidity(9))]),
        &mut changes,
    )
    .unwrap();
    let bad = [
        txn(3, vec![append(5)]),
        txn(2, vec![append(6)]),
        txn(4, vec![append(6)]),
        txn(
            3,
            vec![Record::Expunge {
                uid: 5,
                key: b"other".to_vec(),
            }],
        ),
        txn(
            3,
            vec![Record::Expunge {
                uid: 6,
                key: b"k".to_vec(),
            }],
        ),
        txn(2, vec![Record::Header(HeaderUpdate::NextUid(3))]),
        txn(2, vec![Record::Header(HeaderUpdate::UidValidity(10))]),
        txn(2, vec![Record::Header(HeaderUpdate::FirstRecentUid(7))]),
        txn(
            2,
            vec![Record::KeywordNames {
                first_id: 1,
                names: vec!["a".into()],
            }],
        ),
        txn(
            3,
            vec![Record::FlagUpdate(FlagUpdate {
                uids: UidSet::range(5, 5),
                add_keywords: [0].into_iter().collect(),
                ..FlagUpdate::default()
            })],
        ),
        txn(
            3,
            vec![Record::FlagUpdate(FlagUpdate {
                uids: UidSet::range(5, 6),
                ..FlagUpdate::default()
            })],
        ),
    ];
    for t in bad {
        let mut state = base.clone();
        assert!(state.apply(&t, &mut changes).is_err(), "{t:?}");
    }
    // Stale cache offsets and double expunges are not errors.
    let mut state = base.clone();
    state
        .apply(
            &txn(
                2,
                vec![Record::CacheOffsets {
                    reset_id: 7,
                    entries: vec![(5, 100)],
                }],
            ),
            &mut changes,
        )
        .unwrap();
    assert_eq!(state.message(5).unwrap().cache_offset, 0);
    state
        .apply(
            &txn(
                3,
                vec![
                    Record::Expunge {
                        uid: 5,
                        key: b"k".to_vec(),
                    },
                    Record::Expunge {
                        uid: 5,
                        key: b"k".to_vec(),
                    },
                ],
            ),
            &mut changes,
        )
        .unwrap();
    state
        .apply(
            &txn(
                4,
                vec![Record::Expunge {
                    uid: 5,
                    key: b"k".to_vec(),
                }],
            ),
            &mut changes,
        )
        .unwrap();
    assert_eq!(state.message_count(), 0);
}
