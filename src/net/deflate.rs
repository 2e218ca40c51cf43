//! Raw deflate (RFC 1951, no zlib or gzip framing) on the two directions of a connection,
//! switched on in the middle of it (IMAP COMPRESS=DEFLATE, RFC 4978): until [`InflateReader::
//! start`] / [`DeflateWriter::start`] the streams pass bytes through unchanged.
//!
//! Output is compressed as it is written and every `flush` ends with a sync flush (an empty
//! stored block): the peer can decode everything sent so far without waiting for more, which
//! a protocol that answers and then waits (IDLE) needs. Input is inflated in bounded steps,
//! so a small compressed message cannot make the reader allocate more than one step's room.

use std::io::{self, ErrorKind, Read, Write};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Decompressed bytes produced by one inflate step at most.
const INFLATE_STEP: usize = 64 * 1024;
/// Compressed bytes read from the peer at once.
const READ_CHUNK: usize = 16 * 1024;

/// A reader that inflates what it reads once [`InflateReader::start`] was called.
pub struct InflateReader<R> {
    inner: R,
    state: Option<Inflating>,
}

struct Inflating {
    inflate: Decompress,
    /// Compressed bytes read but not inflated yet: `input[input_pos..]`.
    input: Vec<u8>,
    input_pos: usize,
    /// Inflated bytes not returned yet: `output[output_pos..]`.
    output: Vec<u8>,
    output_pos: usize,
    /// The last step filled its room: the inflater may hold more output.
    may_hold_more: bool,
    /// The peer ended the deflate stream: what follows is not read.
    ended: bool,
}

impl<R> InflateReader<R> {
    pub fn new(inner: R) -> InflateReader<R> {
        InflateReader { inner, state: None }
    }

    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// From now on the input is inflated; `buffered` is compressed input that was already
    /// read from the stream (by a line reader above this one).
    pub fn start(&mut self, buffered: Vec<u8>) {
        self.state = Some(Inflating {
            inflate: Decompress::new(false),
            input: buffered,
            input_pos: 0,
            output: Vec::new(),
            output_pos: 0,
            may_hold_more: false,
            ended: false,
        });
    }

    pub fn is_active(&self) -> bool {
        self.state.is_some()
    }

    /// Input is at hand without reading the stream (inflated bytes not returned yet, or
    /// compressed bytes not inflated yet).
    pub fn has_pending(&self) -> bool {
        self.state.as_ref().is_some_and(|s| {
            !s.ended
                && (s.output_pos < s.output.len() || s.input_pos < s.input.len() || s.may_hold_more)
        })
    }
}

impl Inflating {
    /// Inflates what is buffered into `output` (which must be empty).
    fn step(&mut self) -> io::Result<()> {
        self.output.clear();
        self.output_pos = 0;
        self.output.reserve(INFLATE_STEP);
        let before_in = self.inflate.total_in();
        let status = self
            .inflate
            .decompress_vec(
                &self.input[self.input_pos..],
                &mut self.output,
                FlushDecompress::Sync,
            )
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, format!("inflate failed: {e}")))?;
        let consumed = usize::try_from(self.inflate.total_in() - before_in).unwrap_or(usize::MAX);
        self.input_pos = (self.input_pos + consumed).min(self.input.len());
        if self.input_pos == self.input.len() {
            self.input.clear();
            self.input_pos = 0;
        }
        self.may_hold_more = self.output.len() == self.output.capacity();
        if status == Status::StreamEnd {
            self.ended = true;
        }
        Ok(())
    }
}

impl<R: Read> Read for InflateReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(state) = self.state.as_mut() else {
            return self.inner.read(buf);
        };
        loop {
            if state.output_pos < state.output.len() {
                let n = buf.len().min(state.output.len() - state.output_pos);
                buf[..n].copy_from_slice(&state.output[state.output_pos..state.output_pos + n]);
                state.output_pos += n;
                return Ok(n);
            }
            if state.ended {
                return Ok(0);
            }
            if state.input_pos < state.input.len() || state.may_hold_more {
                let had_input = state.input_pos < state.input.len();
                let before = (state.inflate.total_in(), state.inflate.total_out());
                state.step()?;
                let progress = before != (state.inflate.total_in(), state.inflate.total_out());
                if had_input && !progress {
                    return Err(io::Error::new(
                        ErrorKind::InvalidData,
                        "inflate made no progress on its input",
                    ));
                }
                continue;
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = self.inner.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            state.input.extend_from_slice(&chunk[..n]);
        }
    }
}

/// A writer that deflates what it writes once [`DeflateWriter::start`] was called.
pub struct DeflateWriter<W> {
    inner: W,
    deflate: Option<Compress>,
    /// Compressed output of one call, before it is written.
    out: Vec<u8>,
    /// Data went in since the last sync flush (a flush with nothing new sends nothing).
    unflushed: bool,
}

impl<W> DeflateWriter<W> {
    pub fn new(inner: W) -> DeflateWriter<W> {
        DeflateWriter {
            inner,
            deflate: None,
            out: Vec::new(),
            unflushed: false,
        }
    }

    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// From now on the output is deflated at `level` (0-9).
    pub fn start(&mut self, level: u32) {
        self.deflate = Some(Compress::new(Compression::new(level.min(9)), false));
    }

    pub fn is_active(&self) -> bool {
        self.deflate.is_some()
    }
}

impl<W: Write> DeflateWriter<W> {
    /// Deflates `data` (with `flush` at its end) and writes the result out.
    fn deflate_out(&mut self, data: &[u8], flush: FlushCompress) -> io::Result<()> {
        let Some(deflate) = self.deflate.as_mut() else {
            return self.inner.write_all(data);
        };
        self.out.clear();
        let mut pos = 0;
        loop {
            self.out.reserve(data.len() - pos + 64);
            let before = deflate.total_in();
            deflate
                .compress_vec(&data[pos..], &mut self.out, flush)
                .map_err(|e| io::Error::other(format!("deflate failed: {e}")))?;
            pos += usize::try_from(deflate.total_in() - before).unwrap_or(usize::MAX);
            // Done when the input is in and the compressor had room to spare for the flush.
            if pos >= data.len() && self.out.len() < self.out.capacity() {
                break;
            }
        }
        self.inner.write_all(&self.out)
    }
}

impl<W: Write> Write for DeflateWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.deflate.is_none() {
            return self.inner.write(data);
        }
        self.unflushed |= !data.is_empty();
        self.deflate_out(data, FlushCompress::None)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.deflate.is_some() && self.unflushed {
            self.unflushed = false;
            self.deflate_out(&[], FlushCompress::Sync)?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn deflate_all(parts: &[&[u8]]) -> Vec<u8> {
        let mut w = DeflateWriter::new(Vec::new());
        w.start(6);
        for p in parts {
            w.write_all(p).unwrap();
            w.flush().unwrap();
        }
        w.inner
    }

    fn inflate_all(data: &[u8]) -> Vec<u8> {
        let mut d = Decompress::new(false);
        let mut out = Vec::with_capacity(data.len() * 20 + 1024);
        d.decompress_vec(data, &mut out, FlushDecompress::Sync)
            .unwrap();
        out
    }

    #[test]
    fn passes_through_until_started() {
        let mut w = DeflateWriter::new(Vec::new());
        w.write_all(b"plain").unwrap();
        w.start(6);
        w.write_all(b"squeezed").unwrap();
        w.flush().unwrap();
        assert_eq!(&w.inner[..5], b"plain");
        assert_eq!(inflate_all(&w.inner[5..]), b"squeezed");
        // A sync flush ends with an empty stored block.
        assert!(w.inner.ends_with(&[0, 0, 0xff, 0xff]));

        let compressed = deflate_all(&[b"a NOOP\r\n"]);
        let mut input = b"x COMPRESS DEFLATE\r\n".to_vec();
        input.extend_from_slice(&compressed);
        let mut r = InflateReader::new(Cursor::new(input));
        let mut line = [0u8; 20];
        r.read_exact(&mut line).unwrap();
        assert_eq!(&line, b"x COMPRESS DEFLATE\r\n");
        r.start(Vec::new());
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"a NOOP\r\n");
    }

    #[test]
    fn each_flush_is_decodable_alone() {
        let mut w = DeflateWriter::new(Vec::new());
        w.start(9);
        w.write_all(b"* 1 EXISTS\r\n").unwrap();
        w.flush().unwrap();
        let first = w.inner.len();
        assert_eq!(inflate_all(&w.inner), b"* 1 EXISTS\r\n");
        w.write_all(b"* 2 EXISTS\r\n").unwrap();
        w.flush().unwrap();
        assert!(w.inner.len() > first);
        assert_eq!(inflate_all(&w.inner), b"* 1 EXISTS\r\n* 2 EXISTS\r\n");
        // Nothing new: nothing is sent (the peer may still be reading the last answer).
        let sent = w.inner.len();
        w.flush().unwrap();
        assert_eq!(w.inner.len(), sent);
    }

    #[test]
    fn buffered_input_and_large_expansion() {
        // 1 MiB of one byte compresses to about 1 KiB; the reader hands it out in steps.
        let big = vec![b'z'; 1 << 20];
        let compressed = deflate_all(&[&big, b"\r\nend"]);
        let (head, tail) = compressed.split_at(10);
        let mut r = InflateReader::new(Cursor::new(tail.to_vec()));
        r.start(head.to_vec());
        assert!(r.has_pending());
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out.len(), big.len() + 5);
        assert!(out.ends_with(b"z\r\nend"));
        assert!(!r.has_pending());
    }

    /// A peer whose bytes arrive one at a time (blocks split anywhere).
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn input_split_at_every_byte() {
        let text: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("a{i} NOOP\r\n").into_bytes())
            .collect();
        let compressed = deflate_all(&[&text[..100], &text[100..]]);
        let mut r = InflateReader::new(Trickle(Cursor::new(compressed)));
        r.start(Vec::new());
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut r = InflateReader::new(Cursor::new(vec![0xffu8; 64]));
        r.start(Vec::new());
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }

    #[test]
    fn stream_end_stops_reading() {
        let mut c = Compress::new(Compression::new(6), false);
        let mut data = Vec::with_capacity(256);
        c.compress_vec(b"bye\r\n", &mut data, FlushCompress::Finish)
            .unwrap();
        data.extend_from_slice(b"trailing junk");
        let mut r = InflateReader::new(Cursor::new(data));
        r.start(Vec::new());
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"bye\r\n");
    }
}
