//! A stream whose reads and writes fail once a deadline has passed, for blocking sockets:
//! before each `read`/`write` the socket's timeout is set to the time left.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A socket whose blocking reads and writes can be given a timeout (`SO_RCVTIMEO`,
/// `SO_SNDTIMEO`). TLS streams implement it by delegating to their socket.
pub trait SocketTimeouts {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl SocketTimeouts for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

impl SocketTimeouts for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
}

impl<T: SocketTimeouts + ?Sized> SocketTimeouts for &T {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        (**self).set_write_timeout(timeout)
    }
}

/// A socket with an optional deadline. Past the deadline every read and write fails with
/// `ErrorKind::TimedOut`; before it, a blocked read or write gives up when the deadline
/// comes (the socket reports `WouldBlock` then).
#[derive(Debug)]
pub struct DeadlineStream<S> {
    inner: S,
    deadline: Option<Instant>,
}

impl<S: SocketTimeouts> DeadlineStream<S> {
    pub fn new(inner: S, deadline: Option<Instant>) -> Self {
        DeadlineStream { inner, deadline }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The time left before the deadline, or `TimedOut` when it has passed.
    fn time_left(&self) -> io::Result<Option<Duration>> {
        match self.deadline {
            None => Ok(None),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"))
                } else {
                    Ok(Some(left))
                }
            }
        }
    }
}

impl<S: Read + SocketTimeouts> Read for DeadlineStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.time_left()?;
        self.inner.set_read_timeout(left)?;
        self.inner.read(buf)
    }
}

impl<S: Write + SocketTimeouts> Write for DeadlineStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.time_left()?;
        self.inner.set_write_timeout(left)?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    #[test]
    fn read_gives_up_at_the_deadline() {
        let (_client, server) = pair();
        let start = Instant::now();
        let mut s = DeadlineStream::new(&server, Some(start + Duration::from_millis(150)));
        let mut buf = [0u8; 10];
        let err = s.read(&mut buf).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ));
        assert!(start.elapsed() >= Duration::from_millis(140));
        // Once passed, it fails at once.
        assert_eq!(s.read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
    }

    #[test]
    fn data_before_the_deadline_is_read() {
        let (mut client, server) = pair();
        client.write_all(b"hello").unwrap();
        let mut s = DeadlineStream::new(&server, Some(Instant::now() + Duration::from_secs(5)));
        let mut buf = [0u8; 10];
        assert_eq!(s.read(&mut buf).unwrap(), 5);
        s.set_deadline(None);
        assert_eq!(s.deadline(), None);
        s.write_all(b"back").unwrap();
        let mut got = [0u8; 4];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"back");
    }
}
