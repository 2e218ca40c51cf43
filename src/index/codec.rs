//! Little-endian encoding helpers shared by the index file formats. Every read is bounds
//! checked: bytes from disk are untrusted, so a short or bad field is an error, never a panic.

use std::fmt;

/// Why a byte string is not a valid encoding of what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn malformed(reason: impl Into<String>) -> Malformed {
    Malformed(reason.into())
}

/// Reads fields in order from a byte slice.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn bytes(&mut self, len: usize, what: &str) -> Result<&'a [u8], Malformed> {
        if self.remaining() < len {
            return Err(malformed(format!(
                "{what}: needs {len} bytes, {} left",
                self.remaining()
            )));
        }
        let out = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], Malformed> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u16(&mut self, what: &str) -> Result<u16, Malformed> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn i64(&mut self, what: &str) -> Result<i64, Malformed> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A count that prefixes `count` items of at least `min_item_len` bytes each: refused when
    /// the remaining bytes cannot hold them, so a bad count never drives a huge allocation.
    pub fn count(&mut self, min_item_len: usize, what: &str) -> Result<usize, Malformed> {
        let count = self.u32(what)? as usize;
        if count.saturating_mul(min_item_len.max(1)) > self.remaining() {
            return Err(malformed(format!(
                "{what}: count {count} exceeds the {} bytes left",
                self.remaining()
            )));
        }
        Ok(count)
    }

    /// A byte string with a u16 length prefix.
    pub fn short_bytes(&mut self, what: &str) -> Result<&'a [u8], Malformed> {
        let len = self.u16(what)? as usize;
        self.bytes(len, what)
    }

    pub fn end(&self, what: &str) -> Result<(), Malformed> {
        if self.remaining() != 0 {
            return Err(malformed(format!(
                "{what}: {} unexpected trailing bytes",
                self.remaining()
            )));
        }
        Ok(())
    }
}

/// The fixed start of every cote index file's header: a magic number, a version and the
/// header's length, and a CRC-32C of the header in its last four bytes.
pub(crate) struct HeaderKind {
    /// What the file is, for errors ("index log").
    pub name: &'static str,
    pub magic: u32,
    pub version: u16,
    pub len: usize,
}

impl HeaderKind {
    /// Checks the header at the start of `buf` (present whole, of this kind, its checksum
    /// right); returns a reader of the fields after the version and length.
    pub fn read<'a>(&self, buf: &'a [u8]) -> Result<Reader<'a>, Malformed> {
        let Some(head) = buf.get(..self.len) else {
            return Err(malformed(format!(
                "file of {} bytes has no header",
                buf.len()
            )));
        };
        let mut r = Reader::new(head);
        let magic = r.u32("magic")?;
        if magic != self.magic {
            return Err(malformed(format!(
                "not a cote {} (magic {magic:#010x})",
                self.name
            )));
        }
        let version = r.u16("version")?;
        let header_len = r.u16("header length")?;
        if version != self.version || usize::from(header_len) != self.len {
            return Err(malformed(format!(
                "unsupported {} version {version} (header {header_len} bytes)",
                self.name
            )));
        }
        let (fields, stored) = head.split_at(self.len - 4);
        let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
        let crc = super::crc32c::crc32c(fields);
        if stored != crc {
            return Err(malformed(format!(
                "header checksum {stored:#010x}, computed {crc:#010x}"
            )));
        }
        Ok(r)
    }

    /// A header being encoded: the magic number, version and length written.
    pub fn begin(&self, capacity: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(capacity.max(self.len));
        out.put_u32(self.magic);
        out.put_u16(self.version);
        out.put_u16(self.len as u16);
        out
    }

    /// Ends a header with the checksum of what `out` holds.
    pub fn seal(out: &mut Vec<u8>) {
        let crc = super::crc32c::crc32c(out);
        out.put_u32(crc);
    }
}

/// Appends fields to a byte vector.
pub(crate) trait Writer {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_i64(&mut self, v: i64);
    /// A byte string with a u16 length prefix; callers bound the length beforehand.
    fn put_short_bytes(&mut self, v: &[u8]);
}

impl Writer for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_short_bytes(&mut self, v: &[u8]) {
        debug_assert!(v.len() <= usize::from(u16::MAX));
        self.put_u16(v.len() as u16);
        self.extend_from_slice(v);
    }
}

/// A u32 count for encoding. Every list the index encodes is bounded far below 2^32 by the
/// record and transaction limits, so saturation never happens for data that can be written.
pub(crate) fn count_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let mut buf = Vec::new();
        buf.put_u8(7);
        buf.put_u16(0x1234);
        buf.put_u32(0xdead_beef);
        buf.put_u64(u64::MAX - 1);
        buf.put_i64(-5);
        buf.put_short_bytes(b"abc");
        let mut r = Reader::new(&buf);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 0x1234);
        assert_eq!(r.u32("c").unwrap(), 0xdead_beef);
        assert_eq!(r.u64("d").unwrap(), u64::MAX - 1);
        assert_eq!(r.i64("e").unwrap(), -5);
        assert_eq!(r.short_bytes("f").unwrap(), b"abc");
        r.end("x").unwrap();
        assert!(r.u8("past end").is_err());
    }

    #[test]
    fn count_refuses_impossible() {
        let mut buf = Vec::new();
        buf.put_u32(1_000_000);
        buf.extend_from_slice(&[0; 16]);
        assert!(Reader::new(&buf).count(4, "n").is_err());
        let mut buf = Vec::new();
        buf.put_u32(4);
        buf.extend_from_slice(&[0; 16]);
        assert_eq!(Reader::new(&buf).count(4, "n").unwrap(), 4);
    }
}
