//! The file header of `cote.index.log` (56 bytes, little-endian):
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic u32 `COLG` |
//! | 4 | version u16 (1), 6: header length u16 (56) |
//! | 8 | indexid u32: the index generation this log belongs to (also in `cote.index` and `cote.index.cache`) |
//! | 12 | uidvalidity u32 when the file was created (0: not known yet) |
//! | 16 | file sequence u32 (1 for the first log of an index generation) |
//! | 20 | previous file sequence u32 (0: none) |
//! | 24 | previous file end offset u64: where the previous log's last transaction ended |
//! | 32 | initial modseq u64: the highest modseq when this file was created |
//! | 40 | creation time u64 (UNIX seconds) |
//! | 48 | reserved u32 (0) |
//! | 52 | crc32c u32 of bytes 0..52 |

use crate::index::codec::{malformed, HeaderKind, Malformed, Writer};

/// Length of the log file header; the first transaction starts here.
pub const LOG_HEADER_LEN: usize = 56;

const HEADER: HeaderKind = HeaderKind {
    name: "index log",
    magic: u32::from_le_bytes(*b"COLG"),
    version: 1,
    len: LOG_HEADER_LEN,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHeader {
    pub indexid: u32,
    pub uidvalidity: u32,
    pub file_seq: u32,
    pub prev_file_seq: u32,
    pub prev_file_offset: u64,
    pub initial_modseq: u64,
    pub create_time: u64,
}

impl LogHeader {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = HEADER.begin(LOG_HEADER_LEN);
        out.put_u32(self.indexid);
        out.put_u32(self.uidvalidity);
        out.put_u32(self.file_seq);
        out.put_u32(self.prev_file_seq);
        out.put_u64(self.prev_file_offset);
        out.put_u64(self.initial_modseq);
        out.put_u64(self.create_time);
        out.put_u32(0);
        HeaderKind::seal(&mut out);
        out
    }

    /// Decodes the first bytes of a log file. A short buffer is malformed too: a log file
    /// is created whole (written into its lock file, then renamed), never grown into a header.
    pub fn decode(buf: &[u8]) -> Result<LogHeader, Malformed> {
        let mut r = HEADER.read(buf)?;
        let header = LogHeader {
            indexid: r.u32("indexid")?,
            uidvalidity: r.u32("uidvalidity")?,
            file_seq: r.u32("file seq")?,
            prev_file_seq: r.u32("prev file seq")?,
            prev_file_offset: r.u64("prev file offset")?,
            initial_modseq: r.u64("initial modseq")?,
            create_time: r.u64("create time")?,
        };
        if header.indexid == 0 || header.file_seq == 0 {
            return Err(malformed("indexid or file sequence 0"));
        }
        if header.prev_file_seq != 0
            && (header.prev_file_seq >= header.file_seq
                || header.prev_file_offset < LOG_HEADER_LEN as u64)
        {
            return Err(malformed(format!(
                "previous file {}/{} does not precede file {}",
                header.prev_file_seq, header.prev_file_offset, header.file_seq
            )));
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> LogHeader {
        LogHeader {
            indexid: 0x1234_5678,
            uidvalidity: 1_700_000_000,
            file_seq: 3,
            prev_file_seq: 2,
            prev_file_offset: 4096,
            initial_modseq: 77,
            create_time: 1_700_000_123,
        }
    }

    #[test]
    fn round_trip() {
        let bytes = sample().encode();
        assert_eq!(bytes.len(), LOG_HEADER_LEN);
        assert_eq!(LogHeader::decode(&bytes).unwrap(), sample());
    }

    #[test]
    fn every_bit_flip_and_cut_is_refused() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                assert!(LogHeader::decode(&b).is_err(), "byte {i} bit {bit}");
            }
            assert!(LogHeader::decode(&bytes[..i]).is_err());
        }
    }

    #[test]
    fn impossible_chain_refused() {
        let mut h = sample();
        h.prev_file_seq = 3;
        assert!(LogHeader::decode(&h.encode()).is_err());
    }
}
