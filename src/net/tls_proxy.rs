//! A login process's work after a TLS login: the mail process got one end of a socketpair,
//! and this relays between it (plaintext) and the client (TLS) until either side is done.
//! Both sockets are non-blocking and served from one poll(2) loop, so a slow reader on one
//! side never stalls the other direction. (Tested end to end in tests/login_e2e.rs.)

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use openssl::ssl::{ErrorCode, SslStream};

/// Bytes waiting in one direction before the proxy stops reading that side.
const BUFFER: usize = 64 * 1024;

/// How much went each way.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProxyStats {
    pub from_client: u64,
    pub to_client: u64,
}

/// What the last TLS call needs before it can make progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Nothing,
    Read,
    Write,
}

fn want_of(e: &openssl::ssl::Error) -> Option<Want> {
    match e.code() {
        ErrorCode::WANT_READ => Some(Want::Read),
        ErrorCode::WANT_WRITE => Some(Want::Write),
        _ => None,
    }
}

fn flags(read: bool, write: bool) -> PollFlags {
    let mut f = PollFlags::empty();
    if read {
        f |= PollFlags::POLLIN;
    }
    if write {
        f |= PollFlags::POLLOUT;
    }
    f
}

/// Relays until the client or the mail process closes (or fails); returns what went through.
pub fn proxy(mut tls: SslStream<TcpStream>, mut plain: UnixStream) -> io::Result<ProxyStats> {
    tls.get_ref().set_nonblocking(true)?;
    plain.set_nonblocking(true)?;
    let mut stats = ProxyStats::default();
    // Client → mail, and mail → client.
    let mut up: Vec<u8> = Vec::new();
    let mut down: Vec<u8> = Vec::new();
    let mut client_done = false;
    let mut mail_done = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let mut tls_read_want = Want::Nothing;
        let mut tls_write_want = Want::Nothing;
        let mut plain_read_blocked = false;
        let mut plain_write_blocked = false;

        // Client → buffer.
        while !client_done && up.len() < BUFFER {
            match tls.ssl_read(&mut buf) {
                Ok(0) => client_done = true,
                Ok(n) => {
                    stats.from_client += n as u64;
                    up.extend_from_slice(&buf[..n]);
                }
                Err(e) => match want_of(&e) {
                    Some(w) => {
                        tls_read_want = w;
                        break;
                    }
                    // Closed, with or without close_notify, or broken: the client is done.
                    None => client_done = true,
                },
            }
        }
        // Buffer → mail.
        while !up.is_empty() {
            match plain.write(&up) {
                Ok(n) => {
                    up.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    plain_write_blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    // The mail process is gone: nothing more can reach it.
                    up.clear();
                    mail_done = true;
                }
            }
        }
        // Mail → buffer.
        while !mail_done && down.len() < BUFFER {
            match plain.read(&mut buf) {
                Ok(0) => mail_done = true,
                Ok(n) => down.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    plain_read_blocked = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => mail_done = true,
            }
        }
        // Buffer → client.
        while !down.is_empty() && !client_done {
            match tls.ssl_write(&down) {
                Ok(n) => {
                    stats.to_client += n as u64;
                    down.drain(..n);
                }
                Err(e) => match want_of(&e) {
                    Some(w) => {
                        tls_write_want = w;
                        break;
                    }
                    None => {
                        client_done = true;
                        down.clear();
                    }
                },
            }
        }
        if client_done && up.is_empty() {
            // The mail process sees EOF and finishes; what it still says has nowhere to go.
            let _ = plain.shutdown(Shutdown::Both);
            return Ok(stats);
        }
        if mail_done && down.is_empty() {
            // Best effort: a client that stopped reading does not get to hold the process.
            let _ = tls.shutdown();
            let _ = tls.get_ref().shutdown(Shutdown::Both);
            return Ok(stats);
        }
        let tcp_in = tls_read_want == Want::Read || tls_write_want == Want::Read;
        let tcp_out = tls_read_want == Want::Write || tls_write_want == Want::Write;
        let tcp_fd = tls.get_ref().as_fd();
        let plain_fd = plain.as_fd();
        let mut fds = [
            PollFd::new(tcp_fd, flags(tcp_in, tcp_out)),
            PollFd::new(plain_fd, flags(plain_read_blocked, plain_write_blocked)),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}
