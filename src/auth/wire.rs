//! Reading the auth protocols' lines: LF-terminated, bounded in length.

use std::io::{BufRead, Read};

/// What reading a line gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// The peer closed the connection (or reading failed) before a full line.
    Closed,
    /// More than the allowed bytes without a LF.
    TooLong,
}

/// Reads one line of at most `max` bytes (without the LF).
pub fn read_line(reader: &mut impl BufRead, max: usize) -> Line {
    let mut line = Vec::new();
    match reader.take(max as u64 + 1).read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => Line::Closed,
        Ok(_) => {
            if line.last() != Some(&b'\n') {
                return if line.len() > max {
                    Line::TooLong
                } else {
                    Line::Closed
                };
            }
            line.pop();
            Line::Text(String::from_utf8_lossy(&line).into_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_lines() {
        let mut r = std::io::Cursor::new(b"abc\ndefgh\nxy".to_vec());
        assert_eq!(read_line(&mut r, 4), Line::Text("abc".into()));
        assert_eq!(read_line(&mut r, 4), Line::TooLong);
        let mut r = std::io::Cursor::new(b"xy".to_vec());
        assert_eq!(read_line(&mut r, 4), Line::Closed);
    }
}
