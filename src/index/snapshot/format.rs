//! The format of `cote.index`, a snapshot of a mailbox's index state (little-endian):
//!
//! Header, 96 bytes:
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic u32 `COIX`, 4: version u16 (1), 6: header length u16 (96) |
//! | 8 | indexid u32 (the log's), 12: uidvalidity u32, 16: next uid u32, 20: first recent uid u32 |
//! | 24 | highest modseq u64 |
//! | 32 | messages u32, 36: seen u32, 40: deleted u32 (STATUS counts), 44: record size u32 |
//! | 48 | log file sequence u32, 52: flags u32 (bit 0: mailbox marked deleted) |
//! | 56 | log offset u64: the snapshot holds every transaction of that log file before it |
//! | 64 | cache reset id u32, 68: keyword count u32 |
//! | 72 | body length u64, 80: body crc32c u32, 84: reserved u32 × 2 (0) |
//! | 92 | header crc32c u32 of bytes 0..92 |
//!
//! Body: `messages` fixed-size records sorted by UID — uid u32, flags u8, presence u8 (bit 0
//! physical size, 1 virtual size, 2 internal date, 3 save date; absent values are 0), key
//! length u16, key offset u32 (into the key area), cache offset u32, modseq u64, physical size
//! u64, virtual size u64, internal date i64, save date i64, reserved u64 (0), then the keyword
//! bitmap (keyword count bits, rounded up to whole 8-byte words); then the keyword names (u16 length + bytes each),
//! the backend state (u16 length + bytes) and the key area (the keys, back to back).
//!
//! Everything is checked on load; a snapshot that fails any check is not used.

use crate::index::codec::{malformed, HeaderKind, Malformed, Reader, Writer};
use crate::index::crc32c;
use crate::index::flags::Flags;
use crate::index::keywords::{check_keyword_name, KeywordSet, MAX_KEYWORDS};
use crate::index::log::record::{MAX_BACKEND_STATE_LEN, MAX_KEY_LEN};
use crate::index::state::{MailboxState, MessageRecord};

pub const SNAPSHOT_HEADER_LEN: usize = 96;
const HEADER: HeaderKind = HeaderKind {
    name: "index",
    magic: u32::from_le_bytes(*b"COIX"),
    version: 1,
    len: SNAPSHOT_HEADER_LEN,
};
const FIXED_RECORD_LEN: usize = 64;
const FLAG_MAILBOX_DELETED: u32 = 1;

const HAS_PSIZE: u8 = 1;
const HAS_VSIZE: u8 = 2;
const HAS_IDATE: u8 = 4;
const HAS_SDATE: u8 = 8;

/// Where in the log a snapshot ends, and which index generation it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub indexid: u32,
    pub log_file_seq: u32,
    pub log_offset: u64,
    /// The highest modseq of the state it holds.
    pub highest_modseq: u64,
    /// Length of the whole file the header describes.
    pub file_len: u64,
}

fn bitmap_len(keyword_count: usize) -> usize {
    keyword_count.div_ceil(64) * 8
}

/// Encodes `state` as a snapshot covering the log up to `log_file_seq`/`log_offset`.
pub fn encode(state: &MailboxState, indexid: u32, log_file_seq: u32, log_offset: u64) -> Vec<u8> {
    let bitmap = bitmap_len(state.keywords.len());
    let record_size = FIXED_RECORD_LEN + bitmap;
    let mut body = Vec::with_capacity(state.messages.len() * (record_size + 64));
    let mut key_offset = 0u32;
    for m in &state.messages {
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
        body.put_u32(m.uid);
        body.put_u8(m.flags.bits());
        body.put_u8(presence);
        body.put_u16(m.key.len() as u16);
        body.put_u32(key_offset);
        body.put_u32(m.cache_offset);
        body.put_u64(m.modseq);
        body.put_u64(m.physical_size.unwrap_or(0));
        body.put_u64(m.virtual_size.unwrap_or(0));
        body.put_i64(m.internal_date.unwrap_or(0));
        body.put_i64(m.save_date.unwrap_or(0));
        body.put_u64(0);
        body.extend(m.keywords.to_bitmap(bitmap));
        key_offset += m.key.len() as u32;
    }
    for name in &state.keywords {
        body.put_short_bytes(name.as_bytes());
    }
    body.put_short_bytes(&state.backend_state);
    for m in &state.messages {
        body.extend_from_slice(&m.key);
    }

    let mut out = HEADER.begin(SNAPSHOT_HEADER_LEN + body.len());
    out.put_u32(indexid);
    out.put_u32(state.uidvalidity);
    out.put_u32(state.next_uid);
    out.put_u32(state.first_recent_uid);
    out.put_u64(state.highest_modseq);
    out.put_u32(state.message_count());
    out.put_u32(state.seen_count);
    out.put_u32(state.deleted_count);
    out.put_u32(record_size as u32);
    out.put_u32(log_file_seq);
    out.put_u32(if state.deleted {
        FLAG_MAILBOX_DELETED
    } else {
        0
    });
    out.put_u64(log_offset);
    out.put_u32(state.cache_reset_id);
    out.put_u32(state.keywords.len() as u32);
    out.put_u64(body.len() as u64);
    out.put_u32(crc32c::crc32c(&body));
    out.put_u32(0);
    out.put_u32(0);
    HeaderKind::seal(&mut out);
    out.extend(body);
    out
}

/// Decodes and checks only the header (for deciding whether a snapshot is worth loading).
pub fn decode_header(buf: &[u8]) -> Result<SnapshotHeader, Malformed> {
    let fields = HeaderFields::decode(buf)?;
    Ok(fields.summary())
}

struct HeaderFields {
    indexid: u32,
    uidvalidity: u32,
    next_uid: u32,
    first_recent_uid: u32,
    highest_modseq: u64,
    messages: u32,
    seen: u32,
    deleted: u32,
    record_size: u32,
    log_file_seq: u32,
    flags: u32,
    log_offset: u64,
    cache_reset_id: u32,
    keyword_count: u32,
    body_len: u64,
    body_crc: u32,
}

impl HeaderFields {
    fn decode(buf: &[u8]) -> Result<HeaderFields, Malformed> {
        let mut r = HEADER.read(buf)?;
        let h = HeaderFields {
            indexid: r.u32("indexid")?,
            uidvalidity: r.u32("uidvalidity")?,
            next_uid: r.u32("next uid")?,
            first_recent_uid: r.u32("first recent uid")?,
            highest_modseq: r.u64("highest modseq")?,
            messages: r.u32("messages")?,
            seen: r.u32("seen")?,
            deleted: r.u32("deleted")?,
            record_size: r.u32("record size")?,
            log_file_seq: r.u32("log file seq")?,
            flags: r.u32("flags")?,
            log_offset: r.u64("log offset")?,
            cache_reset_id: r.u32("cache reset id")?,
            keyword_count: r.u32("keyword count")?,
            body_len: r.u64("body length")?,
            body_crc: r.u32("body crc")?,
        };
        if h.keyword_count as usize > MAX_KEYWORDS {
            return Err(malformed(format!("{} keywords", h.keyword_count)));
        }
        if h.record_size as usize != FIXED_RECORD_LEN + bitmap_len(h.keyword_count as usize) {
            return Err(malformed(format!(
                "record size {} for {} keywords",
                h.record_size, h.keyword_count
            )));
        }
        if h.flags & !FLAG_MAILBOX_DELETED != 0 || h.indexid == 0 || h.log_file_seq == 0 {
            return Err(malformed("bad flags, indexid or log file sequence"));
        }
        if h.next_uid == 0 || h.first_recent_uid == 0 || h.first_recent_uid > h.next_uid {
            return Err(malformed(format!(
                "first recent uid {} / next uid {}",
                h.first_recent_uid, h.next_uid
            )));
        }
        Ok(h)
    }

    fn summary(&self) -> SnapshotHeader {
        SnapshotHeader {
            indexid: self.indexid,
            log_file_seq: self.log_file_seq,
            log_offset: self.log_offset,
            highest_modseq: self.highest_modseq,
            file_len: SNAPSHOT_HEADER_LEN as u64 + self.body_len,
        }
    }
}

/// Decodes a whole snapshot file.
pub fn decode(buf: &[u8]) -> Result<(SnapshotHeader, MailboxState), Malformed> {
    let h = HeaderFields::decode(buf)?;
    let body = &buf[SNAPSHOT_HEADER_LEN..];
    if body.len() as u64 != h.body_len {
        return Err(malformed(format!(
            "body of {} bytes, header says {}",
            body.len(),
            h.body_len
        )));
    }
    let crc = crc32c::crc32c(body);
    if crc != h.body_crc {
        return Err(malformed(format!(
            "body checksum {:#010x}, computed {crc:#010x}",
            h.body_crc
        )));
    }
    let record_size = h.record_size as usize;
    let records_len = (h.messages as usize)
        .checked_mul(record_size)
        .filter(|&n| n <= body.len())
        .ok_or_else(|| malformed(format!("{} records do not fit", h.messages)))?;
    let mut r = Reader::new(&body[records_len..]);
    let mut keywords = Vec::with_capacity(h.keyword_count as usize);
    for _ in 0..h.keyword_count {
        let name = std::str::from_utf8(r.short_bytes("keyword name")?)
            .map_err(|_| malformed("keyword name is not UTF-8"))?;
        check_keyword_name(name)?;
        if keywords
            .iter()
            .any(|k: &String| k.eq_ignore_ascii_case(name))
        {
            return Err(malformed(format!("keyword {name:?} twice")));
        }
        keywords.push(name.to_string());
    }
    let backend_state = r.short_bytes("backend state")?.to_vec();
    if backend_state.len() > MAX_BACKEND_STATE_LEN {
        return Err(malformed("backend state too long"));
    }
    let keys = r.bytes(r.remaining(), "keys")?;

    let mut state = MailboxState::new(h.highest_modseq);
    state.uidvalidity = h.uidvalidity;
    state.next_uid = h.next_uid;
    state.first_recent_uid = h.first_recent_uid;
    state.deleted = h.flags & FLAG_MAILBOX_DELETED != 0;
    state.backend_state = backend_state;
    state.cache_reset_id = h.cache_reset_id;
    state.keywords = keywords;
    state.messages.reserve_exact(h.messages as usize);
    let mut expected_key_offset = 0usize;
    for chunk in body[..records_len].chunks_exact(record_size) {
        let m = decode_record(chunk, &state, keys, expected_key_offset)?;
        if m.uid >= state.next_uid || state.messages.last().is_some_and(|p| p.uid >= m.uid) {
            return Err(malformed(format!("record uid {} out of order", m.uid)));
        }
        if m.modseq > state.highest_modseq {
            return Err(malformed(format!(
                "uid {} has modseq {} above the highest",
                m.uid, m.modseq
            )));
        }
        expected_key_offset += m.key.len();
        state.messages.push(m);
    }
    if expected_key_offset != keys.len() {
        return Err(malformed("key area length does not match the records"));
    }
    state.recount();
    if (state.seen_count, state.deleted_count) != (h.seen, h.deleted) {
        return Err(malformed(format!(
            "counts seen {}/deleted {} but records say {}/{}",
            h.seen, h.deleted, state.seen_count, state.deleted_count
        )));
    }
    Ok((h.summary(), state))
}

fn decode_record(
    chunk: &[u8],
    state: &MailboxState,
    keys: &[u8],
    key_offset: usize,
) -> Result<MessageRecord, Malformed> {
    let mut r = Reader::new(chunk);
    let uid = r.u32("uid")?;
    let bits = r.u8("flags")?;
    let flags = Flags::from_bits(bits)
        .ok_or_else(|| malformed(format!("uid {uid}: flag bits {bits:#x}")))?;
    let presence = r.u8("presence")?;
    let key_len = r.u16("key length")? as usize;
    let stored_offset = r.u32("key offset")? as usize;
    let cache_offset = r.u32("cache offset")?;
    let modseq = r.u64("modseq")?;
    let psize = r.u64("physical size")?;
    let vsize = r.u64("virtual size")?;
    let idate = r.i64("internal date")?;
    let sdate = r.i64("save date")?;
    let reserved = r.u64("reserved")?;
    let bitmap = r.bytes(r.remaining(), "keywords")?;
    if uid == 0 || reserved != 0 || presence & !0x0f != 0 {
        return Err(malformed(format!("uid {uid}: bad record")));
    }
    if key_len == 0 || key_len > MAX_KEY_LEN || stored_offset != key_offset {
        return Err(malformed(format!(
            "uid {uid}: bad key {stored_offset}+{key_len}"
        )));
    }
    let key = keys
        .get(key_offset..key_offset + key_len)
        .ok_or_else(|| malformed(format!("uid {uid}: key beyond the key area")))?;
    Ok(MessageRecord {
        uid,
        flags,
        keywords: KeywordSet::from_bitmap(bitmap, state.keywords.len())?,
        modseq,
        key: key.into(),
        physical_size: (presence & HAS_PSIZE != 0).then_some(psize),
        virtual_size: (presence & HAS_VSIZE != 0).then_some(vsize),
        internal_date: (presence & HAS_IDATE != 0).then_some(idate),
        save_date: (presence & HAS_SDATE != 0).then_some(sdate),
        cache_offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::state::tests::arb_state;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(state in arb_state()) {
            let bytes = encode(&state, 42, 3, 1000);
            let (h, back) = decode(&bytes).unwrap();
            prop_assert_eq!(h, SnapshotHeader { indexid: 42, log_file_seq: 3, log_offset: 1000, highest_modseq: state.highest_modseq(), file_len: bytes.len() as u64 });
            prop_assert_eq!(decode_header(&bytes).unwrap(), h);
            prop_assert_eq!(back, state);
        }

        #[test]
        fn damage_is_refused(state in arb_state(), at in any::<prop::sample::Index>(), bit in 0u8..8, cut in any::<prop::sample::Index>()) {
            let bytes = encode(&state, 42, 3, 1000);
            let mut flipped = bytes.clone();
            flipped[at.index(bytes.len())] ^= 1 << bit;
            prop_assert!(decode(&flipped).is_err());
            prop_assert!(decode(&bytes[..cut.index(bytes.len())]).is_err());
        }
    }
}
