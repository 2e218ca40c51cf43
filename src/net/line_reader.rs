//! Reading a line-based protocol (IMAP, POP3, LMTP) from an untrusted peer: lines up to a hard
//! maximum length and counted byte runs (IMAP literals), over any `Read`.
//!
//! Lines end at LF; one CR before the LF is removed. Every other byte — NUL, a bare CR, bytes
//! that are not UTF-8 — is data, for the protocol layer to judge.

use std::fmt;
use std::io::{self, ErrorKind, Read};

/// Why a read from the peer did not produce what was asked for.
#[derive(Debug)]
pub enum LineError {
    /// The line is longer than the reader's maximum. `head` holds its first `max` bytes. The
    /// rest of the line is still unread: the next `read_line` discards it up to the next LF,
    /// so the session can answer and go on — or it can simply disconnect.
    TooLong { max: usize, head: Vec<u8> },
    /// The peer closed the connection in the middle of a line or a counted run of bytes;
    /// `partial` bytes of it had arrived.
    Eof { partial: usize },
    /// The socket's read timeout (or the stream's deadline) expired.
    Timeout,
    /// The read failed; `size` is the number of bytes the failed `read` asked for.
    Io { size: usize, source: io::Error },
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::TooLong { max, .. } => write!(f, "line longer than {max} bytes"),
            LineError::Eof { partial } => {
                write!(
                    f,
                    "connection closed after {partial} bytes of an unfinished line"
                )
            }
            LineError::Timeout => f.write_str("read timed out"),
            LineError::Io { size, source } => {
                write!(
                    f,
                    "read(size={size}) failed: {}",
                    crate::errtext::os_error_text(source)
                )
            }
        }
    }
}

impl std::error::Error for LineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LineError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A buffered reader of lines and counted byte runs with a hard line-length limit.
pub struct LineReader<R> {
    inner: R,
    /// Fixed-size buffer: `max_line` plus room for the CR LF.
    buf: Box<[u8]>,
    /// Unconsumed data is `buf[start..end]`.
    start: usize,
    end: usize,
    max_line: usize,
    /// The previous line was too long and its tail has not been read yet.
    discarding: bool,
}

impl<R: Read> LineReader<R> {
    /// A reader that accepts lines of at most `max_line` bytes (without the line end).
    pub fn new(inner: R, max_line: usize) -> Self {
        let capacity = max_line.saturating_add(2).max(64);
        LineReader {
            inner,
            buf: vec![0; capacity].into_boxed_slice(),
            start: 0,
            end: 0,
            max_line,
            discarding: false,
        }
    }

    /// The longest line this reader returns.
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// The underlying stream (to change its timeouts or deadline).
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The underlying stream, mutably (to change its timeouts or deadline).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Whether a whole line the peer sent is already buffered (a pipelined command): a
    /// session flushes its answers before it would wait for more input, not after each one.
    pub fn has_buffered_line(&self) -> bool {
        !self.discarding && memchr_lf(&self.buf[self.start..self.end]).is_some()
    }

    /// Takes the bytes read from the peer but not consumed yet: the input a login hands over
    /// to the mail process with the connection, or discards at STARTTLS (so nothing sent in
    /// plaintext can pass for something sent over TLS).
    pub fn take_buffered(&mut self) -> Vec<u8> {
        let data = self.buf[self.start..self.end].to_vec();
        self.start = 0;
        self.end = 0;
        self.discarding = false;
        data
    }

    /// Reads the next line, without its line end. `Ok(None)`: the peer closed the connection
    /// cleanly between two lines.
    pub fn read_line(&mut self) -> Result<Option<&[u8]>, LineError> {
        if self.discarding && !self.discard_rest_of_line()? {
            return Ok(None);
        }
        let mut scanned = 0;
        loop {
            let data = &self.buf[self.start..self.end];
            if let Some(lf) = memchr_lf(&data[scanned..]) {
                let lf = scanned + lf;
                let mut len = lf;
                if len > 0 && data[len - 1] == b'\r' {
                    len -= 1;
                }
                let line_start = self.start;
                self.start += lf + 1;
                if len > self.max_line {
                    let head = self.buf[line_start..line_start + self.max_line].to_vec();
                    return Err(LineError::TooLong {
                        max: self.max_line,
                        head,
                    });
                }
                return Ok(Some(&self.buf[line_start..line_start + len]));
            }
            scanned = data.len();
            // max_line bytes, a CR and still no LF: the line cannot fit.
            if data.len() >= self.max_line + 2 {
                let head = data[..self.max_line].to_vec();
                self.start = self.end;
                self.discarding = true;
                return Err(LineError::TooLong {
                    max: self.max_line,
                    head,
                });
            }
            if self.fill()? == 0 {
                let partial = self.end - self.start;
                self.start = self.end;
                if partial == 0 {
                    return Ok(None);
                }
                return Err(LineError::Eof { partial });
            }
        }
    }

    /// Reads exactly `count` bytes (an IMAP literal) and appends them to `out`. The caller
    /// bounds `count`; the bytes go straight into `out`, never through the line buffer.
    pub fn read_exact_into(&mut self, count: usize, out: &mut Vec<u8>) -> Result<(), LineError> {
        let mut remaining = count;
        let buffered = (self.end - self.start).min(remaining);
        out.extend_from_slice(&self.buf[self.start..self.start + buffered]);
        self.start += buffered;
        remaining -= buffered;
        let mut chunk = [0u8; 8192];
        while remaining > 0 {
            let want = remaining.min(chunk.len());
            let n = read_retrying(&mut self.inner, &mut chunk[..want])?;
            if n == 0 {
                return Err(LineError::Eof {
                    partial: count - remaining,
                });
            }
            out.extend_from_slice(&chunk[..n]);
            remaining -= n;
        }
        Ok(())
    }

    /// Skips the tail of an over-long line. Returns false when the peer closed the connection
    /// before its end.
    fn discard_rest_of_line(&mut self) -> Result<bool, LineError> {
        loop {
            if let Some(lf) = memchr_lf(&self.buf[self.start..self.end]) {
                self.start += lf + 1;
                self.discarding = false;
                return Ok(true);
            }
            self.start = self.end;
            if self.fill()? == 0 {
                self.discarding = false;
                return Ok(false);
            }
        }
    }

    /// Reads more data after `end`, first moving unconsumed data to the front when the
    /// buffer's tail is full. Returns the number of bytes read (0 at end of stream).
    fn fill(&mut self) -> Result<usize, LineError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = read_retrying(&mut self.inner, &mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }
}

/// One `read`, retried on EINTR, with timeouts and failures mapped to `LineError`.
fn read_retrying<R: Read>(inner: &mut R, buf: &mut [u8]) -> Result<usize, LineError> {
    loop {
        match inner.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            // SO_RCVTIMEO expiring shows up as EAGAIN (WouldBlock); a passed deadline as TimedOut.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(LineError::Timeout)
            }
            Err(source) => {
                return Err(LineError::Io {
                    size: buf.len(),
                    source,
                })
            }
        }
    }
}

fn memchr_lf(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    /// A reader that hands out its chunks one `read` at a time, then an optional error.
    struct Chunks {
        chunks: VecDeque<Vec<u8>>,
        then: Option<ErrorKind>,
    }

    impl Chunks {
        fn new(chunks: &[&[u8]]) -> Self {
            Chunks {
                chunks: chunks.iter().map(|c| c.to_vec()).collect(),
                then: None,
            }
        }
    }

    impl Read for Chunks {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.chunks.front_mut() {
                Some(chunk) => {
                    let n = chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    chunk.drain(..n);
                    if chunk.is_empty() {
                        self.chunks.pop_front();
                    }
                    Ok(n)
                }
                None => match self.then {
                    Some(kind) => Err(io::Error::new(kind, "test error")),
                    None => Ok(0),
                },
            }
        }
    }

    fn line(r: &mut LineReader<Chunks>) -> Vec<u8> {
        r.read_line().unwrap().unwrap().to_vec()
    }

    #[test]
    fn crlf_lf_and_split_reads() {
        let mut r = LineReader::new(Chunks::new(&[b"a NO", b"OP\r", b"\nb\n\r\nc\r\r\n"]), 100);
        assert_eq!(line(&mut r), b"a NOOP");
        assert_eq!(line(&mut r), b"b");
        assert_eq!(line(&mut r), b"");
        // Only one CR is part of the line end: a second one is data.
        assert_eq!(line(&mut r), b"c\r");
        assert!(r.read_line().unwrap().is_none());
    }

    #[test]
    fn nul_and_invalid_utf8_are_data() {
        let mut r = LineReader::new(Chunks::new(&[b"a\0b\xff\xfe\r\n"]), 100);
        assert_eq!(line(&mut r), b"a\0b\xff\xfe");
    }

    #[test]
    fn exactly_max_is_accepted() {
        let mut r = LineReader::new(Chunks::new(&[b"12345\r\n12345\n"]), 5);
        assert_eq!(line(&mut r), b"12345");
        assert_eq!(line(&mut r), b"12345");
    }

    #[test]
    fn too_long_line_is_reported_then_skipped() {
        let long = vec![b'x'; 100_000];
        let mut r = LineReader::new(Chunks::new(&[b"ok\r\n", &long, b"\r\nnext\r\n"]), 10);
        assert_eq!(line(&mut r), b"ok");
        match r.read_line() {
            Err(LineError::TooLong { max: 10, head }) => assert_eq!(head, vec![b'x'; 10]),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(line(&mut r), b"next");
    }

    #[test]
    fn too_long_line_found_whole_in_buffer() {
        // max 5: a 6-byte line with its LF in the same read is too long, nothing to discard.
        let mut r = LineReader::new(Chunks::new(&[b"123456\nabc\n"]), 5);
        assert!(matches!(r.read_line(), Err(LineError::TooLong { .. })));
        assert_eq!(line(&mut r), b"abc");
    }

    #[test]
    fn eof_mid_line_and_clean_eof() {
        let mut r = LineReader::new(Chunks::new(&[b"a NOOP\r\nb NO"]), 100);
        assert_eq!(line(&mut r), b"a NOOP");
        assert!(matches!(r.read_line(), Err(LineError::Eof { partial: 4 })));
        let mut r = LineReader::new(Chunks::new(&[]), 100);
        assert!(r.read_line().unwrap().is_none());
    }

    #[test]
    fn eof_while_discarding_is_a_clean_close() {
        let long = vec![b'x'; 50];
        let mut r = LineReader::new(Chunks::new(&[&long]), 10);
        assert!(matches!(r.read_line(), Err(LineError::TooLong { .. })));
        assert!(r.read_line().unwrap().is_none());
    }

    #[test]
    fn timeout_and_io_errors_are_typed() {
        let mut src = Chunks::new(&[b"partial"]);
        src.then = Some(ErrorKind::WouldBlock);
        let mut r = LineReader::new(src, 100);
        assert!(matches!(r.read_line(), Err(LineError::Timeout)));
        // The partial line is kept: a retry after more data would still see it.
        r.get_mut().chunks.push_back(b" line\n".to_vec());
        assert_eq!(line(&mut r), b"partial line");

        let mut src = Chunks::new(&[]);
        src.then = Some(ErrorKind::ConnectionReset);
        let mut r = LineReader::new(src, 100);
        match r.read_line() {
            Err(LineError::Io { size, source }) => {
                assert_eq!(size, 102);
                assert_eq!(source.kind(), ErrorKind::ConnectionReset);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn counted_bytes_across_buffer_and_stream() {
        let mut r = LineReader::new(Chunks::new(&[b"a {5}\r\nab", b"c", b"de rest\r\n"]), 100);
        assert_eq!(line(&mut r), b"a {5}");
        let mut out = Vec::new();
        r.read_exact_into(5, &mut out).unwrap();
        assert_eq!(out, b"abcde");
        assert_eq!(line(&mut r), b" rest");

        // Larger than the line buffer.
        let big = vec![b'z'; 20_000];
        let mut r = LineReader::new(Chunks::new(&[&big, b"\n"]), 10);
        let mut out = Vec::new();
        r.read_exact_into(20_000, &mut out).unwrap();
        assert_eq!(out, big);
        assert_eq!(line(&mut r), b"");

        let mut r = LineReader::new(Chunks::new(&[b"abc"]), 10);
        let mut out = Vec::new();
        assert!(matches!(
            r.read_exact_into(5, &mut out),
            Err(LineError::Eof { partial: 3 })
        ));
    }

    #[test]
    fn buffered_lines_are_visible() {
        let mut r = LineReader::new(Chunks::new(&[b"a\r\nb\r\nc"]), 100);
        assert!(!r.has_buffered_line());
        line(&mut r);
        assert!(r.has_buffered_line());
        line(&mut r);
        // Only a partial line is left.
        assert!(!r.has_buffered_line());
        assert_eq!(r.take_buffered(), b"c".to_vec());
        assert!(r.take_buffered().is_empty());
    }

    proptest! {
        /// Any byte stream in any chunking yields lines, errors or EOF; never a panic, never a
        /// line over the limit, and lines never contain LF.
        #[test]
        fn arbitrary_input_never_panics(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(1usize..300, 0..20),
            max in 1usize..200,
        ) {
            let mut chunks = Vec::new();
            let mut rest = &data[..];
            for cut in cuts {
                let n = cut.min(rest.len());
                chunks.push(rest[..n].to_vec());
                rest = &rest[n..];
            }
            chunks.push(rest.to_vec());
            let src = Chunks { chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(), then: None };
            let mut r = LineReader::new(src, max);
            for _ in 0..5000 {
                match r.read_line() {
                    Ok(Some(l)) => {
                        prop_assert!(l.len() <= max);
                        prop_assert!(!l.contains(&b'\n'));
                    }
                    Ok(None) | Err(LineError::Eof { .. }) => break,
                    Err(LineError::TooLong { head, .. }) => prop_assert_eq!(head.len(), max),
                    Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                }
            }
        }

        /// Lines within the limit come back exactly, whatever their bytes.
        #[test]
        fn lines_round_trip(lines in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("no LF", |b| *b != b'\n'), 0..50), 0..20)) {
            let mut wire = Vec::new();
            for l in &lines {
                wire.extend_from_slice(l);
                wire.extend_from_slice(b"\r\n");
            }
            let mut r = LineReader::new(Chunks::new(&[&wire]), 60);
            for l in &lines {
                prop_assert_eq!(r.read_line().unwrap().unwrap(), &l[..]);
            }
            prop_assert!(r.read_line().unwrap().is_none());
        }
    }
}
