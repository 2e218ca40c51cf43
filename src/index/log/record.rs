//! The records of `cote.index.log` and their payload encodings (all integers little-endian).
//!
//! | type | record | payload |
//! |---|---|---|
//! | 1 | `Append` | uid u32, flags u8, presence u8 (bit 0 psize, 1 vsize, 2 idate, 3 sdate), psize u64, vsize u64, idate i64, sdate i64, keyword count u32 + ids u32…, key (u16 len + bytes) |
//! | 2 | `FlagUpdate` | uid set, add u8, remove u8, add-keyword ids, remove-keyword ids (each u32 count + u32…) |
//! | 3 | `Expunge` | uid u32, key (u16 len + bytes) |
//! | 4 | `KeywordNames` | first id u32, count u32, names (u16 len + bytes)… |
//! | 5 | `Header` | tag u8 (1 uidvalidity, 2 next uid, 3 first recent uid: u32; 4 backend state: u16 len + bytes) |
//! | 6 / 7 | `IndexDeleted` / `IndexUndeleted` | empty |
//! | 8 | `CacheReset` | reset id u32 |
//! | 9 | `CacheOffsets` | reset id u32, count u32, (uid u32, offset u32)… |
//! | 10 | `ModseqUpdate` | uid set (the messages take the transaction's modseq, flags unchanged) |
//!
//! A uid set is a u32 count of inclusive ranges, each two u32, sorted, disjoint and
//! non-adjacent. Decoding checks every field on its own; whether a record makes sense for the
//! mailbox state (uid order, known keyword ids) is checked when it is applied (`state`).

use crate::index::codec::{count_u32, malformed, Malformed, Reader, Writer};
use crate::index::flags::Flags;
use crate::index::keywords::{check_keyword_name, KeywordSet, MAX_KEYWORDS};
use crate::index::uidset::UidSet;

/// The longest message key (the storage's name for a message, e.g. a Maildir base name).
pub const MAX_KEY_LEN: usize = 1024;
/// The longest backend sync state blob.
pub const MAX_BACKEND_STATE_LEN: usize = 1024;
/// How many entries one `CacheOffsets` record carries at most (writers split longer lists).
pub const MAX_CACHE_OFFSETS_PER_RECORD: usize = 8192;
/// How many keyword names one `KeywordNames` record carries at most.
pub const MAX_NAMES_PER_RECORD: usize = 256;

/// A message as the storage saved it: what an `Append` record carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub uid: u32,
    pub flags: Flags,
    pub keywords: KeywordSet,
    /// The storage's key: for Maildir the base file name (what precedes `:2,`).
    pub key: Vec<u8>,
    pub physical_size: Option<u64>,
    pub virtual_size: Option<u64>,
    /// IMAP INTERNALDATE, UNIX seconds.
    pub internal_date: Option<i64>,
    /// When the message was saved into this mailbox, UNIX seconds.
    pub save_date: Option<i64>,
}

/// A change of flags and keywords on a set of messages. Removal applies before addition.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlagUpdate {
    pub uids: UidSet,
    pub add: Flags,
    pub remove: Flags,
    pub add_keywords: KeywordSet,
    pub remove_keywords: KeywordSet,
}

/// A header field update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderUpdate {
    /// Set once; a different value means the mailbox was recreated and the index must be too.
    UidValidity(u32),
    /// Never decreases.
    NextUid(u32),
    /// Never decreases; messages at or above it are not yet claimed as \Recent by a session.
    FirstRecentUid(u32),
    /// The backing store's sync state (e.g. Maildir new/cur mtimes, uidlist size/mtime): an
    /// opaque blob the storage layer compares to decide whether to rescan.
    BackendState(Vec<u8>),
}

/// One record of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Append(NewMessage),
    FlagUpdate(FlagUpdate),
    Expunge {
        uid: u32,
        key: Vec<u8>,
    },
    KeywordNames {
        first_id: u32,
        names: Vec<String>,
    },
    Header(HeaderUpdate),
    IndexDeleted,
    IndexUndeleted,
    CacheReset {
        reset_id: u32,
    },
    CacheOffsets {
        reset_id: u32,
        entries: Vec<(u32, u32)>,
    },
    /// The messages take the transaction's modseq though their flags stay (a change only
    /// one viewer sees: a private flag, Dovecot's `MAIL_INDEX_MAIL_FLAG_UPDATE_MODSEQ`).
    ModseqUpdate {
        uids: UidSet,
    },
}

pub(crate) const TYPE_APPEND: u16 = 1;
pub(crate) const TYPE_FLAG_UPDATE: u16 = 2;
pub(crate) const TYPE_EXPUNGE: u16 = 3;
pub(crate) const TYPE_KEYWORD_NAMES: u16 = 4;
pub(crate) const TYPE_HEADER: u16 = 5;
pub(crate) const TYPE_INDEX_DELETED: u16 = 6;
pub(crate) const TYPE_INDEX_UNDELETED: u16 = 7;
pub(crate) const TYPE_CACHE_RESET: u16 = 8;
pub(crate) const TYPE_CACHE_OFFSETS: u16 = 9;
pub(crate) const TYPE_MODSEQ_UPDATE: u16 = 10;

const HEADER_UIDVALIDITY: u8 = 1;
const HEADER_NEXT_UID: u8 = 2;
const HEADER_FIRST_RECENT_UID: u8 = 3;
const HEADER_BACKEND_STATE: u8 = 4;

const HAS_PSIZE: u8 = 1;
const HAS_VSIZE: u8 = 2;
const HAS_IDATE: u8 = 4;
const HAS_SDATE: u8 = 8;

impl Record {
    /// Whether the record changes messages, and so takes the transaction's modseq.
    pub fn changes_messages(&self) -> bool {
        matches!(
            self,
            Record::Append(_)
                | Record::FlagUpdate(_)
                | Record::Expunge { .. }
                | Record::ModseqUpdate { .. }
        )
    }

    pub(crate) fn type_code(&self) -> u16 {
        match self {
            Record::Append(_) => TYPE_APPEND,
            Record::FlagUpdate(_) => TYPE_FLAG_UPDATE,
            Record::Expunge { .. } => TYPE_EXPUNGE,
            Record::KeywordNames { .. } => TYPE_KEYWORD_NAMES,
            Record::Header(_) => TYPE_HEADER,
            Record::IndexDeleted => TYPE_INDEX_DELETED,
            Record::IndexUndeleted => TYPE_INDEX_UNDELETED,
            Record::CacheReset { .. } => TYPE_CACHE_RESET,
            Record::CacheOffsets { .. } => TYPE_CACHE_OFFSETS,
            Record::ModseqUpdate { .. } => TYPE_MODSEQ_UPDATE,
        }
    }

    /// Checks the limits an encoder must respect, so that everything written decodes.
    pub(crate) fn check_limits(&self) -> Result<(), Malformed> {
        let key_ok = |key: &[u8]| {
            if key.is_empty() || key.len() > MAX_KEY_LEN {
                Err(malformed(format!(
                    "message key length {} not in 1..={MAX_KEY_LEN}",
                    key.len()
                )))
            } else {
                Ok(())
            }
        };
        let uid_ok = |uid: u32| {
            if uid == 0 {
                Err(malformed("uid 0"))
            } else {
                Ok(())
            }
        };
        let keywords_ok = |set: &KeywordSet| {
            if set.bound() as usize > MAX_KEYWORDS {
                Err(malformed(format!("keyword id beyond {MAX_KEYWORDS}")))
            } else {
                Ok(())
            }
        };
        match self {
            Record::Append(m) => {
                uid_ok(m.uid)?;
                key_ok(&m.key)?;
                keywords_ok(&m.keywords)
            }
            Record::FlagUpdate(u) => {
                if u.uids.is_empty() {
                    return Err(malformed("flag update on no uids"));
                }
                keywords_ok(&u.add_keywords)?;
                keywords_ok(&u.remove_keywords)
            }
            Record::Expunge { uid, key } => {
                uid_ok(*uid)?;
                key_ok(key)
            }
            Record::KeywordNames { first_id, names } => {
                if names.is_empty() || names.len() > MAX_NAMES_PER_RECORD {
                    return Err(malformed(format!(
                        "{} keyword names in one record",
                        names.len()
                    )));
                }
                if *first_id as usize + names.len() > MAX_KEYWORDS {
                    return Err(malformed(format!("more than {MAX_KEYWORDS} keywords")));
                }
                names.iter().try_for_each(|n| check_keyword_name(n))
            }
            Record::Header(HeaderUpdate::BackendState(blob))
                if blob.len() > MAX_BACKEND_STATE_LEN =>
            {
                Err(malformed(format!("backend state of {} bytes", blob.len())))
            }
            Record::Header(HeaderUpdate::UidValidity(0)) => Err(malformed("uidvalidity 0")),
            Record::Header(_) | Record::IndexDeleted | Record::IndexUndeleted => Ok(()),
            Record::CacheReset { .. } => Ok(()),
            Record::CacheOffsets { entries, .. } => {
                if entries.is_empty() || entries.len() > MAX_CACHE_OFFSETS_PER_RECORD {
                    return Err(malformed(format!(
                        "{} cache offsets in one record",
                        entries.len()
                    )));
                }
                entries.iter().try_for_each(|&(uid, _)| uid_ok(uid))
            }
            Record::ModseqUpdate { uids } => {
                if uids.is_empty() {
                    return Err(malformed("modseq update on no uids"));
                }
                Ok(())
            }
        }
    }

    /// The payload bytes. The record must pass [`Record::check_limits`].
    pub(crate) fn encode_payload(&self, out: &mut Vec<u8>) {
        match self {
            Record::Append(m) => {
                out.put_u32(m.uid);
                out.put_u8(m.flags.bits());
                let mut presence = 0;
                for (has, bit) in [
                    (m.physical_size.is_some(), HAS_PSIZE),
                    (m.virtual_size.is_some(), HAS_VSIZE),
                    (m.internal_date.is_some(), HAS_IDATE),
                    (m.save_date.is_some(), HAS_SDATE),
                ] {
                    if has {
                        presence |= bit;
                    }
                }
                out.put_u8(presence);
                out.put_u64(m.physical_size.unwrap_or(0));
                out.put_u64(m.virtual_size.unwrap_or(0));
                out.put_i64(m.internal_date.unwrap_or(0));
                out.put_i64(m.save_date.unwrap_or(0));
                encode_ids(&m.keywords, out);
                out.put_short_bytes(&m.key);
            }
            Record::FlagUpdate(u) => {
                u.uids.encode(out);
                out.put_u8(u.add.bits());
                out.put_u8(u.remove.bits());
                encode_ids(&u.add_keywords, out);
                encode_ids(&u.remove_keywords, out);
            }
            Record::Expunge { uid, key } => {
                out.put_u32(*uid);
                out.put_short_bytes(key);
            }
            Record::KeywordNames { first_id, names } => {
                out.put_u32(*first_id);
                out.put_u32(count_u32(names.len()));
                for name in names {
                    out.put_short_bytes(name.as_bytes());
                }
            }
            Record::Header(h) => match h {
                HeaderUpdate::UidValidity(v) => {
                    out.put_u8(HEADER_UIDVALIDITY);
                    out.put_u32(*v);
                }
                HeaderUpdate::NextUid(v) => {
                    out.put_u8(HEADER_NEXT_UID);
                    out.put_u32(*v);
                }
                HeaderUpdate::FirstRecentUid(v) => {
                    out.put_u8(HEADER_FIRST_RECENT_UID);
                    out.put_u32(*v);
                }
                HeaderUpdate::BackendState(blob) => {
                    out.put_u8(HEADER_BACKEND_STATE);
                    out.put_short_bytes(blob);
                }
            },
            Record::IndexDeleted | Record::IndexUndeleted => {}
            Record::CacheReset { reset_id } => out.put_u32(*reset_id),
            Record::CacheOffsets { reset_id, entries } => {
                out.put_u32(*reset_id);
                out.put_u32(count_u32(entries.len()));
                for &(uid, offset) in entries {
                    out.put_u32(uid);
                    out.put_u32(offset);
                }
            }
            Record::ModseqUpdate { uids } => uids.encode(out),
        }
    }

    /// Decodes a payload of type `code`; the result passes [`Record::check_limits`].
    pub(crate) fn decode(code: u16, payload: &[u8]) -> Result<Record, Malformed> {
        let mut r = Reader::new(payload);
        let record = match code {
            TYPE_APPEND => {
                let uid = r.u32("uid")?;
                let flags = decode_flags(&mut r)?;
                let presence = r.u8("presence")?;
                if presence & !(HAS_PSIZE | HAS_VSIZE | HAS_IDATE | HAS_SDATE) != 0 {
                    return Err(malformed(format!("bad presence bits {presence:#x}")));
                }
                let psize = r.u64("physical size")?;
                let vsize = r.u64("virtual size")?;
                let idate = r.i64("internal date")?;
                let sdate = r.i64("save date")?;
                // Absent values are written as zero: anything else is not this encoder's.
                for (value, bit) in [
                    (psize, HAS_PSIZE),
                    (vsize, HAS_VSIZE),
                    (idate as u64, HAS_IDATE),
                    (sdate as u64, HAS_SDATE),
                ] {
                    if presence & bit == 0 && value != 0 {
                        return Err(malformed("value of an absent field is not zero"));
                    }
                }
                let keywords = decode_ids(&mut r)?;
                let key = r.short_bytes("key")?.to_vec();
                Record::Append(NewMessage {
                    uid,
                    flags,
                    keywords,
                    key,
                    physical_size: (presence & HAS_PSIZE != 0).then_some(psize),
                    virtual_size: (presence & HAS_VSIZE != 0).then_some(vsize),
                    internal_date: (presence & HAS_IDATE != 0).then_some(idate),
                    save_date: (presence & HAS_SDATE != 0).then_some(sdate),
                })
            }
            TYPE_FLAG_UPDATE => Record::FlagUpdate(FlagUpdate {
                uids: UidSet::decode(&mut r)?,
                add: decode_flags(&mut r)?,
                remove: decode_flags(&mut r)?,
                add_keywords: decode_ids(&mut r)?,
                remove_keywords: decode_ids(&mut r)?,
            }),
            TYPE_MODSEQ_UPDATE => Record::ModseqUpdate {
                uids: UidSet::decode(&mut r)?,
            },
            TYPE_EXPUNGE => Record::Expunge {
                uid: r.u32("uid")?,
                key: r.short_bytes("key")?.to_vec(),
            },
            TYPE_KEYWORD_NAMES => {
                let first_id = r.u32("first keyword id")?;
                let count = r.count(2, "keyword names")?;
                let mut names = Vec::with_capacity(count);
                for _ in 0..count {
                    let bytes = r.short_bytes("keyword name")?;
                    let name = std::str::from_utf8(bytes)
                        .map_err(|_| malformed("keyword name is not UTF-8"))?;
                    names.push(name.to_string());
                }
                Record::KeywordNames { first_id, names }
            }
            TYPE_HEADER => Record::Header(match r.u8("header field")? {
                HEADER_UIDVALIDITY => HeaderUpdate::UidValidity(r.u32("uidvalidity")?),
                HEADER_NEXT_UID => HeaderUpdate::NextUid(r.u32("next uid")?),
                HEADER_FIRST_RECENT_UID => HeaderUpdate::FirstRecentUid(r.u32("first recent uid")?),
                HEADER_BACKEND_STATE => {
                    HeaderUpdate::BackendState(r.short_bytes("backend state")?.to_vec())
                }
                other => return Err(malformed(format!("unknown header field {other}"))),
            }),
            TYPE_INDEX_DELETED => Record::IndexDeleted,
            TYPE_INDEX_UNDELETED => Record::IndexUndeleted,
            TYPE_CACHE_RESET => Record::CacheReset {
                reset_id: r.u32("cache reset id")?,
            },
            TYPE_CACHE_OFFSETS => {
                let reset_id = r.u32("cache reset id")?;
                let count = r.count(8, "cache offsets")?;
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    entries.push((r.u32("uid")?, r.u32("cache offset")?));
                }
                Record::CacheOffsets { reset_id, entries }
            }
            other => return Err(malformed(format!("unknown record type {other}"))),
        };
        r.end("record")?;
        record.check_limits()?;
        Ok(record)
    }
}

fn decode_flags(r: &mut Reader<'_>) -> Result<Flags, Malformed> {
    let bits = r.u8("flags")?;
    Flags::from_bits(bits).ok_or_else(|| malformed(format!("unknown flag bits {bits:#x}")))
}

fn encode_ids(set: &KeywordSet, out: &mut Vec<u8>) {
    let ids: Vec<u32> = set.iter().collect();
    out.put_u32(count_u32(ids.len()));
    for id in ids {
        out.put_u32(id);
    }
}

/// Keyword ids, strictly ascending (the canonical form) and below [`MAX_KEYWORDS`].
fn decode_ids(r: &mut Reader<'_>) -> Result<KeywordSet, Malformed> {
    let count = r.count(4, "keyword ids")?;
    let mut set = KeywordSet::new();
    let mut prev: Option<u32> = None;
    for _ in 0..count {
        let id = r.u32("keyword id")?;
        if id as usize >= MAX_KEYWORDS || prev.is_some_and(|p| p >= id) {
            return Err(malformed(format!("bad keyword id {id}")));
        }
        set.insert(id);
        prev = Some(id);
    }
    Ok(set)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_flags() -> impl Strategy<Value = Flags> {
        (0u8..32).prop_map(|b| Flags::from_bits(b).unwrap_or_default())
    }

    pub fn arb_keywords(max_id: u32) -> impl Strategy<Value = KeywordSet> {
        proptest::collection::vec(0..max_id.max(1), 0..4)
            .prop_map(move |ids| ids.into_iter().filter(|&i| i < max_id).collect())
    }

    pub fn arb_record() -> impl Strategy<Value = Record> {
        let key = proptest::collection::vec(any::<u8>(), 1..40);
        prop_oneof![
            (
                1u32..1000,
                arb_flags(),
                arb_keywords(70),
                key.clone(),
                any::<Option<u64>>(),
                any::<Option<u64>>(),
                any::<Option<i64>>(),
                any::<Option<i64>>()
            )
                .prop_map(|(uid, flags, keywords, key, ps, vs, id, sd)| {
                    Record::Append(NewMessage {
                        uid,
                        flags,
                        keywords,
                        key,
                        physical_size: ps,
                        virtual_size: vs,
                        internal_date: id,
                        save_date: sd,
                    })
                }),
            (
                proptest::collection::vec(1u32..500, 1..10),
                arb_flags(),
                arb_flags(),
                arb_keywords(70),
                arb_keywords(70)
            )
                .prop_map(|(uids, add, remove, ak, rk)| {
                    Record::FlagUpdate(FlagUpdate {
                        uids: uids.into_iter().collect(),
                        add,
                        remove,
                        add_keywords: ak,
                        remove_keywords: rk,
                    })
                }),
            (1u32..1000, key).prop_map(|(uid, key)| Record::Expunge { uid, key }),
            (
                0u32..10,
                proptest::collection::vec("[A-Za-z$][A-Za-z0-9_-]{0,10}", 1..4)
            )
                .prop_map(|(first_id, names)| Record::KeywordNames { first_id, names }),
            (1u32..u32::MAX).prop_map(|v| Record::Header(HeaderUpdate::UidValidity(v))),
            any::<u32>().prop_map(|v| Record::Header(HeaderUpdate::NextUid(v))),
            any::<u32>().prop_map(|v| Record::Header(HeaderUpdate::FirstRecentUid(v))),
            proptest::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| Record::Header(HeaderUpdate::BackendState(b))),
            Just(Record::IndexDeleted),
            Just(Record::IndexUndeleted),
            any::<u32>().prop_map(|reset_id| Record::CacheReset { reset_id }),
            (
                any::<u32>(),
                proptest::collection::vec((1u32..100, any::<u32>()), 1..5)
            )
                .prop_map(|(reset_id, entries)| Record::CacheOffsets { reset_id, entries }),
            proptest::collection::vec(1u32..1000, 1..20).prop_map(|uids| Record::ModseqUpdate {
                uids: uids.into_iter().collect()
            }),
        ]
    }

    proptest! {
        #[test]
        fn payload_round_trip(record in arb_record()) {
            prop_assert!(record.check_limits().is_ok());
            let mut payload = Vec::new();
            record.encode_payload(&mut payload);
            prop_assert_eq!(Record::decode(record.type_code(), &payload).unwrap(), record);
        }

        #[test]
        fn truncated_payload_never_decodes_to_the_same(record in arb_record(), cut in any::<prop::sample::Index>()) {
            let mut payload = Vec::new();
            record.encode_payload(&mut payload);
            if !payload.is_empty() {
                let cut = cut.index(payload.len());
                // Every field is fixed-size or length-prefixed, so a shorter payload must fail.
                prop_assert!(Record::decode(record.type_code(), &payload[..cut]).is_err());
            }
        }

        #[test]
        fn garbage_payload_never_panics(code in 0u16..12, payload in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(record) = Record::decode(code, &payload) {
                let mut again = Vec::new();
                record.encode_payload(&mut again);
                prop_assert_eq!(again, payload);
            }
        }
    }

    #[test]
    fn limits() {
        let rec = Record::Expunge {
            uid: 1,
            key: vec![b'x'; MAX_KEY_LEN + 1],
        };
        assert!(rec.check_limits().is_err());
        let rec = Record::Expunge {
            uid: 0,
            key: b"k".to_vec(),
        };
        assert!(rec.check_limits().is_err());
        let rec = Record::KeywordNames {
            first_id: 0,
            names: vec!["a b".into()],
        };
        assert!(rec.check_limits().is_err());
        let rec = Record::FlagUpdate(FlagUpdate::default());
        assert!(rec.check_limits().is_err());
    }
}
