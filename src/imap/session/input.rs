//! Waiting for the client while nothing else happens (IDLE): for input, or for a change the
//! mail storage signals on a file descriptor (inotify), or for a timeout.

use std::io;
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::net::{DeadlineStream, SocketTimeouts};

/// What ended a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The client sent something (or closed the connection).
    Input,
    /// The other descriptor became readable.
    Change,
    Timeout,
}

/// A client connection that can be waited on.
pub trait WaitInput {
    /// Waits until the client sends something, `change` (if any) becomes readable, or
    /// `timeout` passes.
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake>;
}

/// Polls `fd` and `change`.
fn poll_fds(
    fd: BorrowedFd<'_>,
    timeout: Duration,
    change: Option<BorrowedFd<'_>>,
) -> io::Result<Wake> {
    let mut fds = vec![PollFd::new(fd, PollFlags::POLLIN)];
    if let Some(change) = change {
        fds.push(PollFd::new(change, PollFlags::POLLIN));
    }
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let ready = poll(&mut fds, PollTimeout::from(millis)).map_err(io::Error::from)?;
    if ready == 0 {
        return Ok(Wake::Timeout);
    }
    let readable = |pfd: &PollFd<'_>| pfd.revents().is_some_and(|r| !r.is_empty());
    if readable(&fds[0]) {
        Ok(Wake::Input)
    } else if fds.get(1).is_some_and(readable) {
        Ok(Wake::Change)
    } else {
        Ok(Wake::Timeout)
    }
}

impl WaitInput for TcpStream {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        poll_fds(self.as_fd(), timeout, change)
    }
}

impl WaitInput for UnixStream {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        poll_fds(self.as_fd(), timeout, change)
    }
}

impl<T: WaitInput + ?Sized> WaitInput for &T {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        (**self).wait_input(timeout, change)
    }
}

impl<S: WaitInput + SocketTimeouts> WaitInput for DeadlineStream<S> {
    fn wait_input(&self, timeout: Duration, change: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        self.get_ref().wait_input(timeout, change)
    }
}

/// Input held in memory (tests, scripted sessions): always ready, data or end of input.
impl WaitInput for [u8] {
    fn wait_input(&self, _: Duration, _: Option<BorrowedFd<'_>>) -> io::Result<Wake> {
        Ok(Wake::Input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn waits_for_input_or_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        assert_eq!(
            server.wait_input(Duration::from_millis(10), None).unwrap(),
            Wake::Timeout
        );
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"x").unwrap();
        assert_eq!(
            server
                .wait_input(Duration::from_secs(10), Some(a.as_fd()))
                .unwrap(),
            Wake::Change
        );
        client.write_all(b"DONE\r\n").unwrap();
        assert_eq!(
            server.wait_input(Duration::from_secs(10), None).unwrap(),
            Wake::Input
        );
        assert_eq!(
            b"x"[..].wait_input(Duration::ZERO, None).unwrap(),
            Wake::Input
        );
    }
}
