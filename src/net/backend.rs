//! A proxy's connection to its backend (a login proxy while it logs in there, an LMTP proxy
//! for a transaction): TCP with the proxy's deadline on every read and write, TLS from the
//! start (`ssl=yes`) or after STARTTLS/STLS (`starttls=yes`), line reading with Dovecot's
//! 4 KiB limit. After a login it becomes one side of the relay ([`Backend::into_relay`]).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use openssl::ssl::SslStream;

use crate::net::tls::read_tls;
use crate::net::tls_client;
use crate::net::tls_proxy::RelayEnd;

/// Dovecot's `MAX_PROXY_INPUT_SIZE` (and `LMTP_MAX_REPLY_SIZE`): the longest line a backend
/// may send.
const MAX_LINE: usize = 4096;

enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

/// Why talking to the backend failed.
#[derive(Debug)]
pub enum BackendError {
    /// Connecting failed: the OS error's text.
    Connect(String),
    /// The proxy's deadline passed.
    TimedOut,
    /// The backend closed the connection (`Connection closed`) or it broke.
    Disconnected(String),
    /// A line longer than [`MAX_LINE`].
    TooLong,
    /// TLS toward the backend failed.
    Tls(String),
}

/// A connected backend.
pub struct Backend {
    stream: Stream,
    /// Read but not yet returned as lines.
    input: Vec<u8>,
    deadline: Instant,
    /// Our end of the connection, for the log.
    pub local: Option<SocketAddr>,
}

impl Backend {
    /// Connects to `addr` before `deadline`. A failure comes with our end's address when
    /// the attempt got one (Dovecot logs it: `local=127.0.0.1:57638`).
    pub fn connect(
        addr: SocketAddr,
        deadline: Instant,
    ) -> Result<Backend, (io::Error, Option<SocketAddr>)> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
        use std::os::fd::{AsFd, AsRawFd};
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err((io::Error::from(ErrorKind::TimedOut), None));
        }
        let family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        let fd = socket::socket(
            family,
            SockType::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(|e| (io::Error::from(e), None))?;
        let started = socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(addr));
        // While the connection is under way our end has its address and port.
        let local = socket::getsockname::<SockaddrStorage>(fd.as_raw_fd())
            .ok()
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from((v4.ip(), v4.port())))
                    .or_else(|| {
                        a.as_sockaddr_in6()
                            .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
                    })
            })
            .filter(|l| l.port() != 0);
        match started {
            Ok(()) => {}
            Err(nix::Error::EINPROGRESS) => {
                let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, PollTimeout::from(ms)) {
                    Ok(0) => return Err((io::Error::from(ErrorKind::TimedOut), local)),
                    Ok(_) => {}
                    Err(e) => return Err((io::Error::from(e), local)),
                }
                match socket::getsockopt(&fd, sockopt::SocketError) {
                    Ok(0) => {}
                    Ok(errno) => return Err((io::Error::from_raw_os_error(errno), local)),
                    Err(e) => return Err((io::Error::from(e), local)),
                }
            }
            Err(e) => return Err((io::Error::from(e), local)),
        }
        let tcp = TcpStream::from(fd);
        tcp.set_nonblocking(false).map_err(|e| (e, local))?;
        // Dialogue lines are small: no need to wait for more to fill a packet.
        let _ = tcp.set_nodelay(true);
        Ok(Backend {
            local,
            stream: Stream::Plain(tcp),
            input: Vec::new(),
            deadline,
        })
    }

    /// Starts TLS toward `host` (`any_cert`: without verifying the certificate). Whatever
    /// the backend sent before is dropped.
    pub fn start_tls(&mut self, host: &str, any_cert: bool) -> Result<(), BackendError> {
        let Stream::Plain(tcp) = &self.stream else {
            return Err(BackendError::Tls("TLS already started".into()));
        };
        let tcp = tcp
            .try_clone()
            .map_err(|e| BackendError::Tls(crate::errtext::os_error_text(&e)))?;
        self.input.clear();
        let tls =
            tls_client::connect(tcp, host, any_cert, self.deadline).map_err(BackendError::Tls)?;
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    fn set_timeouts(&self) -> Result<(), BackendError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(BackendError::TimedOut);
        }
        let tcp = match &self.stream {
            Stream::Plain(tcp) => tcp,
            Stream::Tls(tls) => tls.get_ref(),
        };
        let set = tcp
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .and_then(|()| tcp.set_write_timeout(Some(left)));
        set.map_err(|e| BackendError::Disconnected(crate::errtext::os_error_text(&e)))
    }

    fn io_error(e: &io::Error) -> BackendError {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => BackendError::TimedOut,
            _ => BackendError::Disconnected(crate::errtext::os_error_text(e)),
        }
    }

    /// The next line, without its line end (CRLF or LF).
    pub fn read_line(&mut self) -> Result<String, BackendError> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.input.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.input.len() >= MAX_LINE {
                return Err(BackendError::TooLong);
            }
            self.set_timeouts()?;
            let read = match &mut self.stream {
                Stream::Plain(tcp) => tcp.read(&mut buf),
                Stream::Tls(tls) => read_tls(tls, &mut buf),
            };
            match read {
                Ok(0) => return Err(BackendError::Disconnected("Connection closed".into())),
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Self::io_error(&e)),
            }
        }
    }

    /// Sends `data` whole.
    pub fn send(&mut self, data: &[u8]) -> Result<(), BackendError> {
        self.set_timeouts()?;
        let written = match &mut self.stream {
            Stream::Plain(tcp) => tcp.write_all(data),
            Stream::Tls(tls) => tls.write_all(data),
        };
        written.map_err(|e| Self::io_error(&e))
    }

    /// The connection for the relay, and what the backend sent after the login's answer.
    pub fn into_relay(self) -> (Box<dyn RelayEnd>, Vec<u8>) {
        let end: Box<dyn RelayEnd> = match self.stream {
            Stream::Plain(tcp) => Box::new(tcp),
            Stream::Tls(tls) => tls,
        };
        (end, self.input)
    }
}
