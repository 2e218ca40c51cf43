//! A client connection as a login session reads and writes it: plain TCP, or TLS after an
//! implicit-TLS accept or STARTTLS. Cheap to clone (the session's reader and writer share
//! it); single-threaded.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use super::deadline::SocketTimeouts;
use super::tls::TlsStream;

#[derive(Clone)]
pub enum ClientStream {
    Plain(Rc<TcpStream>),
    Tls(Rc<RefCell<TlsStream>>),
}

impl ClientStream {
    pub fn plain(stream: TcpStream) -> ClientStream {
        ClientStream::Plain(Rc::new(stream))
    }

    pub fn tls(stream: TlsStream) -> ClientStream {
        ClientStream::Tls(Rc::new(RefCell::new(stream)))
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, ClientStream::Tls(_))
    }

    /// `TLSv1.3 with cipher ...` when this is TLS.
    pub fn tls_description(&self) -> Option<String> {
        match self {
            ClientStream::Plain(_) => None,
            ClientStream::Tls(s) => Some(s.borrow().description()),
        }
    }

    /// Runs `f` on the TCP socket underneath.
    pub fn with_tcp<T>(&self, f: impl FnOnce(&TcpStream) -> T) -> T {
        match self {
            ClientStream::Plain(s) => f(s),
            ClientStream::Tls(s) => f(s.borrow().get_ref()),
        }
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => (&**s).read(buf),
            ClientStream::Tls(s) => s.borrow_mut().read(buf),
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => (&**s).write(buf),
            ClientStream::Tls(s) => s.borrow_mut().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => (&**s).flush(),
            ClientStream::Tls(s) => s.borrow_mut().flush(),
        }
    }
}

impl SocketTimeouts for ClientStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.with_tcp(|s| s.set_read_timeout(timeout))
    }

    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.with_tcp(|s| s.set_write_timeout(timeout))
    }
}
