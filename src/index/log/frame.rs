//! Frames and transactions of `cote.index.log`, and the scanner that decides what a reader
//! may see.
//!
//! A frame is `len u32 | type u16 | reserved u16 (0) | payload[len] | crc32c u32`, the CRC
//! covering the 8 header bytes and the payload. A transaction is a `Begin` frame (type 0x100;
//! payload: modseq u64, record count u32, body length u32 = bytes from the end of `Begin` to
//! the end of `Commit`), its record frames, and a `Commit` frame (type 0x101; payload: record
//! count u32, the CRC of the `Begin` frame u32). A transaction is visible only when every one
//! of its frames is present and valid: that is what makes it all-or-nothing.
//!
//! Writers only ever write right after the last valid transaction. So bytes that do not form
//! a valid transaction are either a torn tail (a write in progress or interrupted: "not yet
//! visible", overwritten by the next writer) or, when a valid transaction follows them,
//! damage to data that was once valid: corruption.

use super::record::Record;
use crate::index::codec::{count_u32, malformed, Malformed, Reader, Writer};
use crate::index::crc32c;

pub(crate) const TYPE_BEGIN: u16 = 0x100;
pub(crate) const TYPE_COMMIT: u16 = 0x101;

const FRAME_HEADER_LEN: usize = 8;
const FRAME_OVERHEAD: usize = FRAME_HEADER_LEN + 4;
const BEGIN_PAYLOAD_LEN: usize = 16;
const COMMIT_PAYLOAD_LEN: usize = 8;
const BEGIN_LEN: usize = FRAME_OVERHEAD + BEGIN_PAYLOAD_LEN;

/// The largest record payload any writer produces (the largest record, a full
/// `KeywordNames` or `CacheOffsets`, is far below this).
pub const MAX_RECORD_PAYLOAD: usize = 128 * 1024;
/// The largest transaction body accepted.
pub const MAX_TRANSACTION_LEN: usize = 256 * 1024 * 1024;

/// A committed transaction as read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Offset of its `Begin` frame in the log file.
    pub offset: u64,
    /// Offset just past its `Commit` frame.
    pub end: u64,
    /// The mailbox's highest modseq once this transaction is applied.
    pub modseq: u64,
    pub records: Vec<Record>,
}

/// What a scan of log bytes found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    pub transactions: Vec<Transaction>,
    /// Offset just past the last visible transaction: where the next writer writes.
    pub end: u64,
    /// Bytes after `end` that are not (yet) a visible transaction.
    pub invisible_tail: u64,
}

/// Damage found inside the log: a frame that cannot be valid, followed by valid data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub offset: u64,
    pub reason: String,
}

/// Encodes one transaction. Records must pass their limits (the transaction builder checks).
pub fn encode_transaction(modseq: u64, records: &[Record]) -> Result<Vec<u8>, Malformed> {
    let mut body = Vec::new();
    let mut payload = Vec::new();
    for record in records {
        record.check_limits()?;
        payload.clear();
        record.encode_payload(&mut payload);
        if payload.len() > MAX_RECORD_PAYLOAD {
            return Err(malformed(format!(
                "record of {} bytes exceeds {MAX_RECORD_PAYLOAD}",
                payload.len()
            )));
        }
        put_frame(&mut body, record.type_code(), &payload);
    }
    let count = count_u32(records.len());
    let body_len = body.len() + FRAME_OVERHEAD + COMMIT_PAYLOAD_LEN;
    if body_len > MAX_TRANSACTION_LEN {
        return Err(malformed(format!(
            "transaction of {body_len} bytes exceeds {MAX_TRANSACTION_LEN}"
        )));
    }
    let mut begin_payload = Vec::with_capacity(BEGIN_PAYLOAD_LEN);
    begin_payload.put_u64(modseq);
    begin_payload.put_u32(count);
    begin_payload.put_u32(count_u32(body_len));
    let mut out = Vec::with_capacity(BEGIN_LEN + body_len);
    let begin_crc = put_frame(&mut out, TYPE_BEGIN, &begin_payload);
    out.extend_from_slice(&body);
    let mut commit_payload = Vec::with_capacity(COMMIT_PAYLOAD_LEN);
    commit_payload.put_u32(count);
    commit_payload.put_u32(begin_crc);
    put_frame(&mut out, TYPE_COMMIT, &commit_payload);
    Ok(out)
}

/// Appends a frame and returns its CRC.
fn put_frame(out: &mut Vec<u8>, code: u16, payload: &[u8]) -> u32 {
    let start = out.len();
    out.put_u32(count_u32(payload.len()));
    out.put_u16(code);
    out.put_u16(0);
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out[start..]);
    out.put_u32(crc);
    crc
}

/// A frame that checked out: its type, payload and total length.
struct Frame<'a> {
    code: u16,
    payload: &'a [u8],
    len: usize,
    crc: u32,
}

enum FrameRead<'a> {
    Valid(Frame<'a>),
    /// The bytes end before the frame does.
    Short,
    Invalid(String),
}

fn read_frame(buf: &[u8]) -> FrameRead<'_> {
    if buf.len() < FRAME_HEADER_LEN {
        return FrameRead::Short;
    }
    let mut r = Reader::new(&buf[..FRAME_HEADER_LEN]);
    let (Ok(len), Ok(code), Ok(reserved)) = (r.u32("len"), r.u16("type"), r.u16("reserved")) else {
        return FrameRead::Short;
    };
    let len = len as usize;
    if reserved != 0 {
        return FrameRead::Invalid(format!("reserved frame bits {reserved:#x}"));
    }
    if len > MAX_RECORD_PAYLOAD {
        return FrameRead::Invalid(format!("frame length {len}"));
    }
    let total = FRAME_OVERHEAD + len;
    if buf.len() < total {
        return FrameRead::Short;
    }
    let stored = u32::from_le_bytes([
        buf[total - 4],
        buf[total - 3],
        buf[total - 2],
        buf[total - 1],
    ]);
    let crc = crc32c::crc32c(&buf[..total - 4]);
    if crc != stored {
        return FrameRead::Invalid(format!(
            "frame checksum {stored:#010x}, computed {crc:#010x}"
        ));
    }
    FrameRead::Valid(Frame {
        code,
        payload: &buf[FRAME_HEADER_LEN..total - 4],
        len: total,
        crc,
    })
}

enum TxnRead {
    Valid(Transaction),
    Short,
    Invalid(String),
}

/// Reads the transaction starting at `buf[0]`, which lies at file offset `offset`.
fn read_transaction(buf: &[u8], offset: u64) -> TxnRead {
    let begin = match read_frame(buf) {
        FrameRead::Valid(f) => f,
        FrameRead::Short => return TxnRead::Short,
        FrameRead::Invalid(why) => return TxnRead::Invalid(why),
    };
    if begin.code != TYPE_BEGIN || begin.payload.len() != BEGIN_PAYLOAD_LEN {
        return TxnRead::Invalid(format!(
            "frame type {:#x} where a transaction begins",
            begin.code
        ));
    }
    let mut r = Reader::new(begin.payload);
    let (Ok(modseq), Ok(count), Ok(body_len)) = (r.u64("modseq"), r.u32("count"), r.u32("len"))
    else {
        return TxnRead::Invalid("short transaction header".into());
    };
    let body_len = body_len as usize;
    if !(FRAME_OVERHEAD + COMMIT_PAYLOAD_LEN..=MAX_TRANSACTION_LEN).contains(&body_len) {
        return TxnRead::Invalid(format!("transaction length {body_len}"));
    }
    let Some(body) = buf.get(begin.len..begin.len + body_len) else {
        return TxnRead::Short;
    };
    let mut records = Vec::new();
    let mut pos = 0;
    loop {
        let frame = match read_frame(&body[pos..]) {
            FrameRead::Valid(f) => f,
            FrameRead::Short => {
                return TxnRead::Invalid("transaction ends inside a frame".into());
            }
            FrameRead::Invalid(why) => {
                return TxnRead::Invalid(format!("{why} at transaction offset {pos}"));
            }
        };
        pos += frame.len;
        if frame.code == TYPE_COMMIT {
            let mut r = Reader::new(frame.payload);
            let ok = r.u32("count").ok() == Some(count)
                && r.u32("crc").ok() == Some(begin.crc)
                && r.end("commit").is_ok()
                && pos == body_len
                && records.len() == count as usize;
            if !ok {
                return TxnRead::Invalid("commit does not match its transaction".into());
            }
            break;
        }
        if frame.code == TYPE_BEGIN {
            return TxnRead::Invalid("transaction begins inside a transaction".into());
        }
        match Record::decode(frame.code, frame.payload) {
            Ok(record) => records.push(record),
            Err(why) => return TxnRead::Invalid(format!("bad record: {why}")),
        }
        if records.len() > count as usize {
            return TxnRead::Invalid("more records than the transaction declares".into());
        }
    }
    let end = offset + (begin.len + body_len) as u64;
    TxnRead::Valid(Transaction {
        offset,
        end,
        modseq,
        records,
    })
}

/// Scans `buf`, the log's bytes from file offset `offset` to its end as read, for complete
/// transactions. Stops at the first bytes that are not a visible transaction; those are a
/// torn tail unless a valid transaction follows them, which makes them [`Damage`].
pub fn scan(buf: &[u8], offset: u64) -> Result<Scan, Damage> {
    let mut transactions = Vec::new();
    let mut pos = 0usize;
    while pos < buf.len() {
        match read_transaction(&buf[pos..], offset + pos as u64) {
            TxnRead::Valid(txn) => {
                pos += (txn.end - txn.offset) as usize;
                transactions.push(txn);
            }
            // A damaged length can make a frame look longer than the file: short bytes
            // get the same check as invalid ones.
            read @ (TxnRead::Short | TxnRead::Invalid(_)) => {
                let reason = match read {
                    TxnRead::Invalid(reason) => reason,
                    _ => "transaction extends past the end of the file".to_string(),
                };
                if let Some(later) = find_valid_transaction(&buf[pos + 1..]) {
                    return Err(Damage {
                        offset: offset + pos as u64,
                        reason: format!(
                            "{reason}; a valid transaction follows at offset {}",
                            offset + (pos + 1 + later) as u64
                        ),
                    });
                }
                break;
            }
        }
    }
    Ok(Scan {
        transactions,
        end: offset + pos as u64,
        invisible_tail: (buf.len() - pos) as u64,
    })
}

/// The position of the first complete, valid transaction in `buf`, if any.
fn find_valid_transaction(buf: &[u8]) -> Option<usize> {
    let marker = {
        let mut m = Vec::with_capacity(FRAME_HEADER_LEN);
        m.put_u32(BEGIN_PAYLOAD_LEN as u32);
        m.put_u16(TYPE_BEGIN);
        m.put_u16(0);
        m
    };
    let mut pos = 0;
    while pos + BEGIN_LEN <= buf.len() {
        let found = buf[pos..].windows(marker.len()).position(|w| w == marker)?;
        pos += found;
        if let TxnRead::Valid(_) = read_transaction(&buf[pos..], 0) {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::arb_record;
    use super::super::record::HeaderUpdate;
    use super::*;
    use proptest::prelude::*;

    fn log_of(txns: &[(u64, Vec<Record>)]) -> (Vec<u8>, Vec<u64>) {
        let mut buf = Vec::new();
        let mut ends = Vec::new();
        for (modseq, records) in txns {
            buf.extend(encode_transaction(*modseq, records).unwrap());
            ends.push(buf.len() as u64);
        }
        (buf, ends)
    }

    fn arb_txns() -> impl Strategy<Value = Vec<(u64, Vec<Record>)>> {
        proptest::collection::vec(
            (any::<u64>(), proptest::collection::vec(arb_record(), 0..4)),
            1..5,
        )
    }

    #[test]
    fn empty_and_zeroes_are_invisible() {
        assert_eq!(scan(&[], 100).unwrap().end, 100);
        let zeros = vec![0u8; 300];
        let s = scan(&zeros, 40).unwrap();
        assert_eq!(
            (s.end, s.invisible_tail, s.transactions.len()),
            (40, 300, 0)
        );
    }

    #[test]
    fn corruption_in_the_middle() {
        let txns = vec![
            (1, vec![Record::Header(HeaderUpdate::NextUid(5))]),
            (2, vec![Record::Header(HeaderUpdate::NextUid(6))]),
        ];
        let (mut buf, ends) = log_of(&txns);
        buf[10] ^= 0x40;
        let err = scan(&buf, 0).unwrap_err();
        assert_eq!(err.offset, 0);
        assert!(
            err.reason.contains(&format!("offset {}", ends[0])),
            "{}",
            err.reason
        );
    }

    #[test]
    fn damaged_length_is_damage_not_a_tail() {
        // A flipped length makes the first transaction look longer than the file.
        let txns = vec![(0, vec![]), (0, vec![])];
        let (mut buf, _) = log_of(&txns);
        buf[1] ^= 0x01;
        assert_eq!(scan(&buf, 0).unwrap_err().offset, 0);
    }

    proptest! {
        #[test]
        fn round_trip(txns in arb_txns(), base in 0u64..1000) {
            let (buf, ends) = log_of(&txns);
            let s = scan(&buf, base).unwrap();
            prop_assert_eq!(s.end, base + buf.len() as u64);
            prop_assert_eq!(s.invisible_tail, 0);
            prop_assert_eq!(s.transactions.len(), txns.len());
            for (i, (t, (modseq, records))) in s.transactions.iter().zip(&txns).enumerate() {
                prop_assert_eq!(t.modseq, *modseq);
                prop_assert_eq!(&t.records, records);
                prop_assert_eq!(t.end, base + ends[i]);
            }
        }

        /// Cutting a valid log anywhere leaves exactly the transactions that end before the
        /// cut visible, and the rest an invisible tail.
        #[test]
        fn truncation_at_every_offset(txns in arb_txns()) {
            let (buf, ends) = log_of(&txns);
            for cut in 0..=buf.len() {
                let s = scan(&buf[..cut], 0).unwrap();
                let visible = ends.iter().filter(|&&e| e <= cut as u64).count();
                prop_assert_eq!(s.transactions.len(), visible);
                let end = if visible == 0 { 0 } else { ends[visible - 1] };
                prop_assert_eq!(s.end, end);
                prop_assert_eq!(s.invisible_tail, cut as u64 - end);
            }
        }

        /// A flipped bit is never read as valid data: transactions before it survive, the one
        /// holding it is an invisible tail when last and damage otherwise.
        #[test]
        fn bit_flips_are_detected(txns in arb_txns(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let (mut buf, ends) = log_of(&txns);
            let at = at.index(buf.len());
            buf[at] ^= 1 << bit;
            let hit = ends.iter().position(|&e| (at as u64) < e).unwrap();
            let start = if hit == 0 { 0 } else { ends[hit - 1] };
            match scan(&buf, 0) {
                Ok(s) => {
                    prop_assert_eq!(hit, txns.len() - 1, "damage before the last transaction went unnoticed");
                    prop_assert_eq!(s.transactions.len(), hit);
                    prop_assert_eq!(s.end, start);
                    for (t, (_, records)) in s.transactions.iter().zip(&txns) {
                        prop_assert_eq!(&t.records, records);
                    }
                }
                Err(damage) => {
                    prop_assert!(hit < txns.len() - 1);
                    prop_assert_eq!(damage.offset, start);
                }
            }
        }
    }
}
