//! The framing of log records a child process sends to the master. Each record is one
//! SOCK_SEQPACKET message, so records never interleave whatever their size or the number of
//! threads writing: `level byte | prefix length (u16 LE) | prefix | message`.

use super::Level;

/// The largest record a child sends; longer messages are cut (on a character boundary).
pub const MAX_RECORD: usize = 64 * 1024;
const HEADER: usize = 3;

fn level_byte(level: Level) -> u8 {
    match level {
        Level::Debug => b'D',
        Level::Info => b'I',
        Level::Warning => b'W',
        Level::Error => b'E',
        Level::Fatal => b'F',
        Level::Panic => b'P',
    }
}

fn byte_level(byte: u8) -> Option<Level> {
    Some(match byte {
        b'D' => Level::Debug,
        b'I' => Level::Info,
        b'W' => Level::Warning,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        b'P' => Level::Panic,
        _ => return None,
    })
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub fn encode(level: Level, prefix: &str, message: &str) -> Vec<u8> {
    let prefix = cut(prefix, 1024);
    let message = cut(message, MAX_RECORD - HEADER - prefix.len());
    let mut buf = Vec::with_capacity(HEADER + prefix.len() + message.len());
    buf.push(level_byte(level));
    // The prefix was cut to 1024 bytes, so its length fits.
    buf.extend_from_slice(&(prefix.len() as u16).to_le_bytes());
    buf.extend_from_slice(prefix.as_bytes());
    buf.extend_from_slice(message.as_bytes());
    buf
}

/// A record as received; the text is whatever the child sent, made valid UTF-8.
#[derive(Debug, PartialEq, Eq)]
pub struct Record {
    pub level: Level,
    pub prefix: String,
    pub message: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Short(usize),
    BadLevel(u8),
    PrefixTooLong(usize),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Short(n) => write!(f, "log record too short ({n} bytes)"),
            DecodeError::BadLevel(b) => write!(f, "log record has unknown level byte 0x{b:02x}"),
            DecodeError::PrefixTooLong(n) => {
                write!(f, "log record prefix length {n} exceeds the record")
            }
        }
    }
}

pub fn decode(buf: &[u8]) -> Result<Record, DecodeError> {
    if buf.len() < HEADER {
        return Err(DecodeError::Short(buf.len()));
    }
    let level = byte_level(buf[0]).ok_or(DecodeError::BadLevel(buf[0]))?;
    let prefix_len = usize::from(u16::from_le_bytes([buf[1], buf[2]]));
    let rest = &buf[HEADER..];
    if prefix_len > rest.len() {
        return Err(DecodeError::PrefixTooLong(prefix_len));
    }
    let (prefix, message) = rest.split_at(prefix_len);
    Ok(Record {
        level,
        prefix: String::from_utf8_lossy(prefix).into_owned(),
        message: String::from_utf8_lossy(message).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trip() {
        let buf = encode(Level::Warning, "imap-login: ", "hello\nworld");
        assert_eq!(
            decode(&buf).unwrap(),
            Record {
                level: Level::Warning,
                prefix: "imap-login: ".into(),
                message: "hello\nworld".into()
            }
        );
    }

    #[test]
    fn long_messages_are_cut_on_char_boundary() {
        let msg = "é".repeat(MAX_RECORD);
        let buf = encode(Level::Info, "p: ", &msg);
        assert!(buf.len() <= MAX_RECORD);
        let rec = decode(&buf).unwrap();
        assert!(msg.starts_with(&rec.message));
        assert!(rec.message.len() > MAX_RECORD - 10);
    }

    #[test]
    fn bad_records_are_errors() {
        assert_eq!(decode(b"I\x00"), Err(DecodeError::Short(2)));
        assert_eq!(decode(b"Z\x00\x00x"), Err(DecodeError::BadLevel(b'Z')));
        assert_eq!(decode(b"I\x09\x00abc"), Err(DecodeError::PrefixTooLong(9)));
        // Invalid UTF-8 from a child is kept visible, not dropped.
        let rec = decode(b"E\x01\x00p\xffx").unwrap();
        assert_eq!(rec.message, "\u{fffd}x");
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn encode_decode(prefix in ".{0,40}", message in ".{0,200}") {
            let rec = decode(&encode(Level::Debug, &prefix, &message)).unwrap();
            prop_assert_eq!(rec.prefix, prefix);
            prop_assert_eq!(rec.message, message);
        }
    }
}
