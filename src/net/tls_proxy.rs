//! Relaying bytes both ways between two connections until one side is done: a login process
//! after a TLS login (the client over TLS, the mail process over its socketpair, plaintext),
//! and a login proxy after the backend accepted the login (the client, plain or TLS, and the
//! backend, plain or TLS). Both sockets are non-blocking and served from one poll(2) loop, so
//! a slow reader on one side never stalls the other direction. (Tested end to end in
//! tests/login_e2e.rs and tests/login_proxy.rs.)

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use openssl::ssl::{ErrorCode, SslStream};

/// Bytes waiting in one direction before the relay stops reading that side.
const BUFFER: usize = 64 * 1024;

/// How much went each way, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyStats {
    pub from_client: u64,
    pub to_client: u64,
    /// The server side (mail process, backend) closed first; else the client did.
    pub server_closed: bool,
    /// When bytes last moved either way.
    pub last_io: Instant,
}

/// What a non-blocking read or write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// Moved this many bytes (0 from a read: the peer closed).
    Moved(usize),
    /// Cannot go on until the socket is readable (`Read`) or writable (`Write`).
    Blocked(Want),
    /// Broken: this side is done.
    Failed,
}

/// What a blocked call waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Read,
    Write,
}

/// One side of a relay: a socket that can be read and written without blocking.
pub trait RelayEnd {
    fn socket(&self) -> BorrowedFd<'_>;
    fn set_nonblocking(&self) -> io::Result<()>;
    fn try_read(&mut self, buf: &mut [u8]) -> Io;
    fn try_write(&mut self, buf: &[u8]) -> Io;
    /// Ends the connection, best effort (a TLS close_notify first).
    fn close(&mut self);
}

fn plain_io(result: io::Result<usize>, want: Want) -> Io {
    match result {
        Ok(n) => Io::Moved(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Io::Blocked(want),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Io::Blocked(want),
        Err(_) => Io::Failed,
    }
}

/// Plain sockets relay as they are: one implementation for TCP and UNIX streams.
macro_rules! plain_relay_end {
    ($($stream:ty),*) => {$(
        impl RelayEnd for $stream {
            fn socket(&self) -> BorrowedFd<'_> {
                self.as_fd()
            }
            fn set_nonblocking(&self) -> io::Result<()> {
                <$stream>::set_nonblocking(self, true)
            }
            fn try_read(&mut self, buf: &mut [u8]) -> Io {
                plain_io(self.read(buf), Want::Read)
            }
            fn try_write(&mut self, buf: &[u8]) -> Io {
                plain_io(self.write(buf), Want::Write)
            }
            fn close(&mut self) {
                let _ = self.shutdown(Shutdown::Both);
            }
        }
    )*};
}

plain_relay_end!(TcpStream, UnixStream);

fn tls_io(result: Result<usize, openssl::ssl::Error>, reading: bool) -> Io {
    match result {
        Ok(n) => Io::Moved(n),
        Err(e) => match e.code() {
            ErrorCode::WANT_READ => Io::Blocked(Want::Read),
            ErrorCode::WANT_WRITE => Io::Blocked(Want::Write),
            // Closed, with or without close_notify: EOF for a reader.
            ErrorCode::ZERO_RETURN | ErrorCode::SYSCALL if reading => Io::Moved(0),
            _ => Io::Failed,
        },
    }
}

impl RelayEnd for SslStream<TcpStream> {
    fn socket(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
    fn set_nonblocking(&self) -> io::Result<()> {
        self.get_ref().set_nonblocking(true)
    }
    fn try_read(&mut self, buf: &mut [u8]) -> Io {
        tls_io(self.ssl_read(buf), true)
    }
    fn try_write(&mut self, buf: &[u8]) -> Io {
        tls_io(self.ssl_write(buf), false)
    }
    fn close(&mut self) {
        let _ = self.shutdown();
        let _ = self.get_ref().shutdown(Shutdown::Both);
    }
}

impl<T: RelayEnd + ?Sized> RelayEnd for Box<T> {
    fn socket(&self) -> BorrowedFd<'_> {
        (**self).socket()
    }
    fn set_nonblocking(&self) -> io::Result<()> {
        (**self).set_nonblocking()
    }
    fn try_read(&mut self, buf: &mut [u8]) -> Io {
        (**self).try_read(buf)
    }
    fn try_write(&mut self, buf: &[u8]) -> Io {
        (**self).try_write(buf)
    }
    fn close(&mut self) {
        (**self).close()
    }
}

fn flags(wants: &[Option<Want>]) -> PollFlags {
    let mut f = PollFlags::empty();
    for want in wants.iter().flatten() {
        f |= match want {
            Want::Read => PollFlags::POLLIN,
            Want::Write => PollFlags::POLLOUT,
        };
    }
    f
}

/// One direction: reads `from` into `buf`, writes `buf` to `to`. Returns what each side
/// waits for; `from_done`/`to_done` are set when a side is finished.
struct Direction {
    buf: Vec<u8>,
    from_done: bool,
    moved: u64,
}

impl Direction {
    fn new() -> Self {
        Direction {
            buf: Vec::new(),
            from_done: false,
            moved: 0,
        }
    }

    /// Returns (what `from` waits for, what `to` waits for, whether `to` failed).
    fn pump(
        &mut self,
        from: &mut dyn RelayEnd,
        to: &mut dyn RelayEnd,
        scratch: &mut [u8],
        last_io: &mut Instant,
    ) -> (Option<Want>, Option<Want>, bool) {
        let mut from_want = None;
        while !self.from_done && self.buf.len() < BUFFER {
            match from.try_read(scratch) {
                Io::Moved(0) | Io::Failed => self.from_done = true,
                Io::Moved(n) => {
                    self.buf.extend_from_slice(&scratch[..n]);
                    *last_io = Instant::now();
                }
                Io::Blocked(w) => {
                    from_want = Some(w);
                    break;
                }
            }
        }
        let mut to_want = None;
        while !self.buf.is_empty() {
            match to.try_write(&self.buf) {
                Io::Moved(n) => {
                    self.moved += n as u64;
                    self.buf.drain(..n);
                    *last_io = Instant::now();
                }
                Io::Blocked(w) => {
                    to_want = Some(w);
                    break;
                }
                Io::Failed => {
                    // Nothing more can reach that side.
                    self.buf.clear();
                    return (from_want, None, true);
                }
            }
        }
        (from_want, to_want, false)
    }
}

/// Relays between `client` and `server` until either closes (or fails) and what it sent has
/// been passed on. Returns what went through; the caller closes the ends.
pub fn relay(client: &mut dyn RelayEnd, server: &mut dyn RelayEnd) -> io::Result<ProxyStats> {
    client.set_nonblocking()?;
    server.set_nonblocking()?;
    let mut up = Direction::new();
    let mut down = Direction::new();
    let mut scratch = vec![0u8; 16 * 1024];
    let mut last_io = Instant::now();
    loop {
        let (client_read, server_write, server_broken) =
            up.pump(client, server, &mut scratch, &mut last_io);
        let (server_read, client_write, client_broken) =
            down.pump(server, client, &mut scratch, &mut last_io);
        let client_done = client_broken || (up.from_done && up.buf.is_empty());
        let server_done = server_broken || (down.from_done && down.buf.is_empty());
        if client_done || server_done {
            return Ok(ProxyStats {
                from_client: up.moved,
                to_client: down.moved,
                server_closed: !client_done,
                last_io,
            });
        }
        let mut fds = [
            PollFd::new(client.socket(), flags(&[client_read, client_write])),
            PollFd::new(server.socket(), flags(&[server_read, server_write])),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Relays a TLS client and its mail process (plaintext) until either is done.
pub fn proxy(mut tls: SslStream<TcpStream>, mut plain: UnixStream) -> io::Result<ProxyStats> {
    let stats = relay(&mut tls, &mut plain);
    // What the other side still says has nowhere to go; a client that stopped reading does
    // not get to hold the process.
    tls.close();
    plain.close();
    stats
}
