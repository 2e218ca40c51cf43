//! Byte counters on a stream (a session's `in=`/`out=` in its logout line), and a reader that
//! first returns input another process had already read (a login hands over what the client
//! pipelined after its login command).

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// Counts the bytes that pass through `inner` in a shared counter.
pub struct Counted<S> {
    inner: S,
    count: Rc<Cell<u64>>,
}

impl<S> Counted<S> {
    /// `inner`, counting into `count` (which the caller keeps to read it).
    pub fn new(inner: S, count: Rc<Cell<u64>>) -> Counted<S> {
        Counted { inner, count }
    }

    /// A stream counting into a counter of its own (read with [`Counted::count`]).
    pub fn own(inner: S) -> Counted<S> {
        Counted::new(inner, Rc::default())
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The bytes counted so far.
    pub fn count(&self) -> u64 {
        self.count.get()
    }
}

impl<S: Read> Read for Counted<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<S: Write> Write for Counted<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads `prefix` first, then `inner`.
pub struct Prefixed<S> {
    prefix: io::Cursor<Vec<u8>>,
    inner: S,
}

impl<S> Prefixed<S> {
    pub fn new(prefix: Vec<u8>, inner: S) -> Prefixed<S> {
        Prefixed {
            prefix: io::Cursor::new(prefix),
            inner,
        }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Some of the prefix is still unread.
    pub fn has_prefix(&self) -> bool {
        (self.prefix.position() as usize) < self.prefix.get_ref().len()
    }
}

impl<S: Read> Read for Prefixed<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.has_prefix() {
            return self.prefix.read(buf);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prefixes() {
        let count = Rc::new(Cell::new(0));
        let mut r = Counted::new(Prefixed::new(b"ab".to_vec(), &b"cd"[..]), Rc::clone(&count));
        let mut all = Vec::new();
        r.read_to_end(&mut all).unwrap();
        assert_eq!(all, b"abcd");
        assert_eq!(count.get(), 4);
        let mut w = Counted::new(Vec::new(), Rc::clone(&count));
        w.write_all(b"xyz").unwrap();
        assert_eq!(count.get(), 7);
    }
}
