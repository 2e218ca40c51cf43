//! The format of `cote.index.cache` (little-endian).
//!
//! Header, 32 bytes, written once when the file is created and never changed: magic u32
//! `COCA`, version u16 (1), header length u16 (32), indexid u32, reset id u32 (the cache
//! generation; the log's `CacheReset` names it), creation time u64, reserved u32 (0),
//! crc32c u32 of bytes 0..28.
//!
//! Records follow, appended at the end of the file: length u32 (the whole record), uid u32,
//! previous record offset u32 (an older record of the same message, 0: none; always lower),
//! field count u16, reserved u16 (0), then per field: name length u8, name (printable
//! ASCII), value length u32, value; then crc32c u32 of everything before it. Values are
//! opaque bytes produced by the `mail` layer. A record is found through the offset the index
//! holds for its message; one that does not check out is dropped.

use crate::index::codec::{malformed, HeaderKind, Malformed, Reader, Writer};
use crate::index::crc32c;

pub const CACHE_HEADER_LEN: usize = 32;

const HEADER: HeaderKind = HeaderKind {
    name: "index cache",
    magic: u32::from_le_bytes(*b"COCA"),
    version: 1,
    len: CACHE_HEADER_LEN,
};
/// The fixed part of a record before its fields.
pub const RECORD_HEADER_LEN: usize = 16;
/// The longest field name.
pub const MAX_FIELD_NAME_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHeader {
    pub indexid: u32,
    pub reset_id: u32,
    pub create_time: u64,
}

impl CacheHeader {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = HEADER.begin(CACHE_HEADER_LEN);
        out.put_u32(self.indexid);
        out.put_u32(self.reset_id);
        out.put_u64(self.create_time);
        out.put_u32(0);
        HeaderKind::seal(&mut out);
        out
    }

    pub fn decode(buf: &[u8]) -> Result<CacheHeader, Malformed> {
        let mut r = HEADER.read(buf)?;
        Ok(CacheHeader {
            indexid: r.u32("indexid")?,
            reset_id: r.u32("reset id")?,
            create_time: r.u64("create time")?,
        })
    }
}

/// Cached fields of one message, as one record holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRecord {
    pub uid: u32,
    pub prev_offset: u32,
    pub fields: Vec<(String, Vec<u8>)>,
}

/// Checks a field name: 1..=64 bytes of printable ASCII.
pub fn check_field_name(name: &str) -> Result<(), Malformed> {
    if name.is_empty()
        || name.len() > MAX_FIELD_NAME_LEN
        || !name.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(malformed(format!("bad cache field name {name:?}")));
    }
    Ok(())
}

impl CacheRecord {
    /// The encoded length, for checking size limits before encoding.
    pub fn encoded_len(&self) -> usize {
        RECORD_HEADER_LEN
            + self
                .fields
                .iter()
                .map(|(n, v)| 1 + n.len() + 4 + v.len())
                .sum::<usize>()
            + 4
    }

    /// Encodes the record; field names must pass [`check_field_name`], and the record must
    /// be shorter than 4 GiB (the cache limits keep it far below).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.put_u32(self.encoded_len() as u32);
        out.put_u32(self.uid);
        out.put_u32(self.prev_offset);
        out.put_u16(self.fields.len() as u16);
        out.put_u16(0);
        for (name, value) in &self.fields {
            out.put_u8(name.len() as u8);
            out.extend_from_slice(name.as_bytes());
            out.put_u32(value.len() as u32);
            out.extend_from_slice(value);
        }
        let crc = crc32c::crc32c(&out);
        out.put_u32(crc);
        out
    }

    /// The total length a record declares in its first bytes.
    pub fn declared_len(head: &[u8]) -> Result<usize, Malformed> {
        let mut r = Reader::new(head);
        let len = r.u32("record length")? as usize;
        if len < RECORD_HEADER_LEN + 4 {
            return Err(malformed(format!("record length {len}")));
        }
        Ok(len)
    }

    /// Decodes the record in `buf` (exactly its declared length), found at `offset` for the
    /// message `uid`.
    pub fn decode(buf: &[u8], offset: u32, uid: u32) -> Result<CacheRecord, Malformed> {
        let len = Self::declared_len(buf)?;
        if len != buf.len() {
            return Err(malformed(format!(
                "record of {len} bytes, {} read",
                buf.len()
            )));
        }
        let stored = u32::from_le_bytes([buf[len - 4], buf[len - 3], buf[len - 2], buf[len - 1]]);
        if stored != crc32c::crc32c(&buf[..len - 4]) {
            return Err(malformed("record checksum mismatch"));
        }
        let mut r = Reader::new(&buf[4..len - 4]);
        let record_uid = r.u32("uid")?;
        let prev_offset = r.u32("previous offset")?;
        let count = r.u16("field count")?;
        let reserved = r.u16("reserved")?;
        if record_uid != uid || reserved != 0 {
            return Err(malformed(format!(
                "record of uid {record_uid}, wanted {uid}"
            )));
        }
        if prev_offset != 0 && (prev_offset >= offset || (prev_offset as usize) < CACHE_HEADER_LEN)
        {
            return Err(malformed(format!(
                "previous offset {prev_offset} at {offset}"
            )));
        }
        let mut fields = Vec::with_capacity(usize::from(count).min(r.remaining() / 5));
        for _ in 0..count {
            let name_len = usize::from(r.u8("field name length")?);
            let name = std::str::from_utf8(r.bytes(name_len, "field name")?)
                .map_err(|_| malformed("field name is not UTF-8"))?;
            check_field_name(name)?;
            let value_len = r.u32("value length")? as usize;
            let value = r.bytes(value_len, "field value")?;
            fields.push((name.to_string(), value.to_vec()));
        }
        r.end("cache record")?;
        Ok(CacheRecord {
            uid,
            prev_offset,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_record() -> impl Strategy<Value = CacheRecord> {
        (
            1u32..1000,
            0u32..100,
            proptest::collection::vec(
                (
                    "[a-z.]{1,20}",
                    proptest::collection::vec(any::<u8>(), 0..40),
                ),
                0..5,
            ),
        )
            .prop_map(|(uid, prev, fields)| CacheRecord {
                uid,
                prev_offset: if prev < 32 { 0 } else { prev },
                fields,
            })
    }

    #[test]
    fn header_round_trip_and_damage() {
        let h = CacheHeader {
            indexid: 7,
            reset_id: 3,
            create_time: 99,
        };
        let bytes = h.encode();
        assert_eq!(CacheHeader::decode(&bytes).unwrap(), h);
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(CacheHeader::decode(&b).is_err());
        }
    }

    proptest! {
        #[test]
        fn record_round_trip(rec in arb_record()) {
            let bytes = rec.encode();
            prop_assert_eq!(bytes.len(), rec.encoded_len());
            prop_assert_eq!(CacheRecord::declared_len(&bytes).unwrap(), bytes.len());
            prop_assert_eq!(CacheRecord::decode(&bytes, 1000, rec.uid).unwrap(), rec.clone());
            prop_assert!(CacheRecord::decode(&bytes, 1000, rec.uid + 1).is_err());
        }

        #[test]
        fn record_damage_detected(rec in arb_record(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut bytes = rec.encode();
            let at = at.index(bytes.len());
            bytes[at] ^= 1 << bit;
            prop_assert!(CacheRecord::decode(&bytes, 1000, rec.uid).is_err());
        }
    }
}
