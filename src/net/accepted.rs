//! What a worker hands a service handler: one accepted connection (made by the master's
//! listeners; here, below the services that take it: auth, anvil, director, protocols).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// The accepted socket.
#[derive(Debug)]
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Inet(SocketAddr),
    /// A unix socket: the listener's path on our side, usually unnamed on the client's.
    Unix(Option<PathBuf>),
}

impl Address {
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match self {
            Address::Inet(a) => Some(a.ip()),
            Address::Unix(_) => None,
        }
    }
}

/// The listener a connection came in on (`inet_listener imap { }` → name "imap").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerInfo {
    /// The inet listener's name, or a unix listener's path.
    pub name: String,
    /// `ssl = yes`: the client starts TLS at once (imaps).
    pub ssl: bool,
    /// `haproxy = yes`: a HAProxy PROXY header precedes the client's bytes.
    pub haproxy: bool,
}

#[derive(Debug)]
pub struct Connection {
    pub stream: Stream,
    pub local: Address,
    pub remote: Address,
    pub listener: ListenerInfo,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

impl Stream {
    pub fn set_read_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(timeout),
            Stream::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    pub fn set_write_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(timeout),
            Stream::Unix(s) => s.set_write_timeout(timeout),
        }
    }

    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
        })
    }
}

impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }
}

impl crate::net::SocketTimeouts for Stream {
    fn set_read_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        Stream::set_read_timeout(self, timeout)
    }

    fn set_write_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        Stream::set_write_timeout(self, timeout)
    }
}
