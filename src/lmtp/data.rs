//! Receiving a message's bytes: DATA's dot-terminated lines (dot-unstuffed, stored with LF
//! line ends) and BDAT's counted chunks (RFC 3030, taken as they are), into a
//! [`MessageBuffer`] that spools large messages to `mail_temp_dir`.

use std::io::Read;

use crate::delivery::MessageBuffer;
use crate::net::{LineError, LineReader};

/// Why a message was not accepted; its data was read to the end all the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Code and enhanced code (`552 5.3.4`).
    pub code: &'static str,
    pub text: &'static str,
}

pub const TOO_BIG: Refusal = Refusal {
    code: "552 5.3.4",
    text: "Message too big for system",
};
const LINE_TOO_LONG: Refusal = Refusal {
    code: "552 5.3.4",
    text: "Line too long",
};
/// The spool file could not be written (logged with its path).
pub const WRITE_FAILED: Refusal = Refusal {
    code: "451 4.3.0",
    text: "Temporary internal failure",
};

/// Reads DATA's lines up to the lone `.` into `buffer` (`None`: only skipped). `Ok(Some)`:
/// refused (the buffer then holds an unusable part).
pub fn read_dot_data<R: Read>(
    reader: &mut LineReader<R>,
    mut buffer: Option<&mut MessageBuffer>,
    max_size: usize,
) -> Result<Option<Refusal>, LineError> {
    let mut refused = None;
    loop {
        let line = match reader.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => return Err(LineError::Eof { partial: 0 }),
            Err(LineError::TooLong { .. }) => {
                refused.get_or_insert(LINE_TOO_LONG);
                continue;
            }
            Err(e) => return Err(e),
        };
        if line == b"." {
            return Ok(refused);
        }
        if refused.is_some() {
            continue;
        }
        let Some(buffer) = buffer.as_deref_mut() else {
            continue;
        };
        let line = line.strip_prefix(b".").unwrap_or(line);
        if buffer.len() + line.len() + 1 > max_size {
            refused = Some(TOO_BIG);
            continue;
        }
        if let Err(e) = buffer.write(line).and_then(|()| buffer.write(b"\n")) {
            log::error!("{e}");
            refused = Some(WRITE_FAILED);
        }
    }
}

/// Reads one BDAT chunk of `size` bytes into `buffer` (`None`: only skipped), a piece at a
/// time so a large chunk is never held whole. `Ok(Some)`: refused, the chunk still read.
pub fn read_chunk<R: Read>(
    reader: &mut LineReader<R>,
    size: u64,
    mut buffer: Option<&mut MessageBuffer>,
    max_size: usize,
) -> Result<Option<Refusal>, LineError> {
    const PIECE: u64 = 64 * 1024;
    let mut refused = None;
    if let Some(b) = buffer.as_deref() {
        if (b.len() as u64).saturating_add(size) > max_size as u64 {
            refused = Some(TOO_BIG);
        }
    }
    let mut left = size;
    let mut piece = Vec::new();
    while left > 0 {
        let want = left.min(PIECE) as usize;
        piece.clear();
        reader.read_exact_into(want, &mut piece)?;
        left -= want as u64;
        if refused.is_some() {
            continue;
        }
        if let Some(buffer) = buffer.as_deref_mut() {
            if let Err(e) = buffer.write(&piece) {
                log::error!("{e}");
                refused = Some(WRITE_FAILED);
            }
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> MessageBuffer {
        MessageBuffer::new(&std::env::temp_dir(), "lmtp")
    }

    #[test]
    fn dot_data_is_unstuffed_with_lf_line_ends() {
        let mut r = LineReader::new(&b"a\r\n..b\r\n.c\r\n.\r\nNEXT\r\n"[..], 100);
        let mut b = buffer();
        assert_eq!(read_dot_data(&mut r, Some(&mut b), 1000).unwrap(), None);
        assert_eq!(&*b.finish().unwrap(), b"a\n.b\nc\n");
        assert_eq!(r.read_line().unwrap(), Some(&b"NEXT"[..]));
    }

    #[test]
    fn too_big_data_is_read_to_its_end() {
        let mut r = LineReader::new(&b"0123456789\r\nx\r\n.\r\nNEXT\r\n"[..], 100);
        let mut b = buffer();
        assert_eq!(
            read_dot_data(&mut r, Some(&mut b), 5).unwrap(),
            Some(TOO_BIG)
        );
        assert_eq!(r.read_line().unwrap(), Some(&b"NEXT"[..]));
    }

    #[test]
    fn chunks_are_taken_as_they_are_and_skipped_when_refused() {
        let mut r = LineReader::new(&b"ab\r\n.\r\nQUIT\r\n"[..], 100);
        let mut b = buffer();
        assert_eq!(read_chunk(&mut r, 7, Some(&mut b), 100).unwrap(), None);
        assert_eq!(&*b.finish().unwrap(), b"ab\r\n.\r\n");
        let mut r = LineReader::new(&b"abcdefQUIT\r\n"[..], 100);
        let mut b = buffer();
        assert_eq!(
            read_chunk(&mut r, 6, Some(&mut b), 3).unwrap(),
            Some(TOO_BIG)
        );
        assert_eq!(r.read_line().unwrap(), Some(&b"QUIT"[..]));
        let mut r = LineReader::new(&b"abc"[..], 100);
        assert!(read_chunk(&mut r, 6, None, 3).is_err());
    }
}
