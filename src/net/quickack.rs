//! A client socket that asks the kernel to acknowledge incoming data at once
//! (`TCP_QUICKACK`) before each read, as Dovecot's socket input does. A client that sends a
//! command in pieces waits, with Nagle's algorithm, for the ACK of one piece before it sends
//! the next: Python's imaplib sends an APPEND's literal and the CRLF after it in two writes,
//! and the delayed ACK cost every APPEND 40 ms.

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};

/// `inner`, read with `TCP_QUICKACK` set before each read (where it is a TCP socket).
pub struct QuickAck<S> {
    inner: S,
    tcp: bool,
}

impl<S: AsFd> QuickAck<S> {
    pub fn new(inner: S) -> QuickAck<S> {
        let tcp = set_quickack(&inner);
        QuickAck { inner, tcp }
    }

    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// Sets `TCP_QUICKACK` (which the kernel clears again by itself); false where the socket
/// is not TCP (a socketpair from a TLS login process).
fn set_quickack(socket: &impl AsFd) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a descriptor borrowed for the call, with a c_int option value
    // of the size given.
    let r = unsafe {
        libc::setsockopt(
            socket.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

impl<S: Read + AsFd> Read for QuickAck<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tcp {
            set_quickack(&self.inner);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tcp_sockets_are_acked_at_once_and_others_read_as_they_are() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let mut reader = QuickAck::new(server);
        assert!(reader.tcp);
        client.write_all(b"a1 NOOP\r\n").unwrap();
        let mut buf = [0u8; 16];
        assert_eq!(reader.read(&mut buf).unwrap(), 9);
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut reader = QuickAck::new(a);
        assert!(!reader.tcp);
        b.write_all(b"x").unwrap();
        assert_eq!(reader.read(&mut buf).unwrap(), 1);
    }
}
