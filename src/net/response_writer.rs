//! Buffered output for a line-based protocol: responses are collected and written in as few
//! `write` calls as possible, and flushed when the session has answered everything the peer
//! pipelined (or when enough has piled up).

use std::io::{self, Write};

/// Buffered protocol output. Unlike `std::io::BufWriter` it never writes from `drop` (a
/// failed or timed-out peer must not block the session's end) and it adds CRLF-terminated
/// lines.
pub struct ResponseWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
    /// Buffered bytes beyond this are written at once.
    flush_at: usize,
}

impl<W: Write> ResponseWriter<W> {
    /// A writer that writes out whenever `flush_at` bytes are buffered.
    pub fn new(inner: W, flush_at: usize) -> Self {
        ResponseWriter {
            inner,
            buf: Vec::with_capacity(flush_at.min(64 * 1024)),
            flush_at,
        }
    }

    /// Buffers raw bytes.
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= self.flush_at {
            self.flush()?;
        }
        Ok(())
    }

    /// Buffers one line and its CRLF.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(line);
        self.write(b"\r\n")
    }

    /// Writes everything buffered to the stream. On failure the unwritten bytes are dropped:
    /// the connection is unusable anyway.
    pub fn flush(&mut self) -> io::Result<()> {
        let result = self
            .inner
            .write_all(&self.buf)
            .and_then(|()| self.inner.flush());
        self.buf.clear();
        result
    }

    /// Bytes waiting to be flushed.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records each write call separately.
    #[derive(Default)]
    struct Calls(Vec<Vec<u8>>);

    impl Write for Calls {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_buffered_until_flush() {
        let mut w = ResponseWriter::new(Calls::default(), 4096);
        w.write_line(b"* OK hi").unwrap();
        w.write(b"a OK ").unwrap();
        w.write_line(b"done").unwrap();
        assert_eq!(w.pending(), 20);
        assert!(w.get_ref().0.is_empty());
        w.flush().unwrap();
        assert_eq!(w.pending(), 0);
        assert_eq!(w.get_ref().0, vec![b"* OK hi\r\na OK done\r\n".to_vec()]);
    }

    #[test]
    fn large_output_is_written_early() {
        let mut w = ResponseWriter::new(Calls::default(), 10);
        w.write_line(b"0123456789").unwrap();
        assert_eq!(w.get_ref().0.len(), 1);
        assert_eq!(w.pending(), 0);
    }

    #[test]
    fn failed_flush_drops_the_buffer() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = ResponseWriter::new(Broken, 4096);
        w.write_line(b"x").unwrap();
        assert_eq!(w.flush().unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(w.pending(), 0);
    }
}
