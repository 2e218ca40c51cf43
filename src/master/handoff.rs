//! The login → mail hand-off: after a successful login, the login process connects to the
//! mail service's `login/<protocol>` socket and sends one request with the client's socket
//! attached (SCM_RIGHTS); the mail process answers `OK <pid>` or `FAIL <reason>`.
//!
//! ```text
//! COTE-LOGIN 1 <auth-pid> <auth-id> <cookie-hex> <lip> <lport> <rip> <rport> <flags>
//!            <session-len> <prefix-len> <input-len> LF  <session><prefix><input>
//! ```
//!
//! (one line, single spaces). `flags` is `-` or a comma list of `secured`, `tls`. `prefix` is
//! the protocol's own data (IMAP: the tag to answer), `input` what the client sent after the
//! login command. The request says which login to verify, nothing more: the mail process asks
//! the auth service (REQUEST with the cookie, under the login process's pid as the kernel
//! reports it) who the user is.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use nix::sys::socket::{
    getsockopt, recvmsg, sendmsg, sockopt, ControlMessage, ControlMessageOwned, MsgFlags,
};

use crate::net::tls::TlsStream;
use crate::net::ClientStream;

const MAGIC: &str = "COTE-LOGIN";
const VERSION: &str = "1";
const MAX_HEADER: usize = 512;
const MAX_SESSION: usize = 256;
const MAX_PREFIX: usize = 1024;
/// More than any login process buffers (its line reader holds a little over 9 KiB).
const MAX_INPUT: usize = 64 * 1024;
const MAX_REPLY: usize = 1024;

/// One login to take over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandoffRequest {
    pub auth_server_pid: u32,
    pub auth_id: u32,
    pub cookie_hex: String,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub secured: bool,
    /// The client talks TLS to the login process, which proxies plaintext to the mail
    /// process through the descriptor passed.
    pub tls: bool,
    pub session_id: String,
    pub prefix: Vec<u8>,
    pub input: Vec<u8>,
}

/// A request that could not be read.
#[derive(Debug)]
pub enum HandoffError {
    Io(io::Error),
    /// The peer sent something that is not a hand-off request.
    Protocol(String),
}

impl fmt::Display for HandoffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandoffError::Io(e) => write!(
                f,
                "Login request read failed: {}",
                crate::errtext::os_error_text(e)
            ),
            HandoffError::Protocol(e) => write!(f, "Login process sent a broken request: {e}"),
        }
    }
}

impl std::error::Error for HandoffError {}

impl From<io::Error> for HandoffError {
    fn from(e: io::Error) -> Self {
        HandoffError::Io(e)
    }
}

fn protocol(message: &str) -> HandoffError {
    HandoffError::Protocol(message.to_string())
}

impl HandoffRequest {
    fn encode(&self) -> Vec<u8> {
        let mut flags = Vec::new();
        if self.secured {
            flags.push("secured");
        }
        if self.tls {
            flags.push("tls");
        }
        let flags = if flags.is_empty() {
            "-".to_string()
        } else {
            flags.join(",")
        };
        let mut out = format!(
            "{MAGIC} {VERSION} {} {} {} {} {} {} {} {flags} {} {} {}\n",
            self.auth_server_pid,
            self.auth_id,
            self.cookie_hex,
            self.local.ip(),
            self.local.port(),
            self.remote.ip(),
            self.remote.port(),
            self.session_id.len(),
            self.prefix.len(),
            self.input.len()
        )
        .into_bytes();
        out.extend_from_slice(self.session_id.as_bytes());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&self.input);
        out
    }

    /// Parses the header line; returns the request without its payload, and the three
    /// payload lengths.
    fn parse_header(line: &str) -> Result<(HandoffRequest, [usize; 3]), HandoffError> {
        let words: Vec<&str> = line.split(' ').collect();
        let [magic, version, auth_pid, auth_id, cookie, lip, lport, rip, rport, flags, session_len, prefix_len, input_len] =
            words[..]
        else {
            return Err(protocol("wrong number of fields"));
        };
        if magic != MAGIC || version != VERSION {
            return Err(protocol("unknown protocol or version"));
        }
        let number = |s: &str| s.parse::<u32>().map_err(|_| protocol("bad number"));
        let length = |s: &str, max: usize| {
            s.parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| protocol("bad length"))
        };
        let addr = |ip: &str, port: &str| -> Result<SocketAddr, HandoffError> {
            let ip: IpAddr = ip.parse().map_err(|_| protocol("bad IP"))?;
            let port: u16 = port.parse().map_err(|_| protocol("bad port"))?;
            Ok(SocketAddr::new(ip, port))
        };
        if cookie.is_empty() || !cookie.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(protocol("bad cookie"));
        }
        let flags: Vec<&str> = if flags == "-" {
            Vec::new()
        } else {
            flags.split(',').collect()
        };
        let request = HandoffRequest {
            auth_server_pid: number(auth_pid)?,
            auth_id: number(auth_id)?,
            cookie_hex: cookie.to_string(),
            local: addr(lip, lport)?,
            remote: addr(rip, rport)?,
            secured: flags.contains(&"secured"),
            tls: flags.contains(&"tls"),
            session_id: String::new(),
            prefix: Vec::new(),
            input: Vec::new(),
        };
        Ok((
            request,
            [
                length(session_len, MAX_SESSION)?,
                length(prefix_len, MAX_PREFIX)?,
                length(input_len, MAX_INPUT)?,
            ],
        ))
    }
}

/// Sends `request` with `client` attached; the whole request, even if the socket takes it in
/// pieces.
pub fn send_request(
    socket: &UnixStream,
    request: &HandoffRequest,
    client: BorrowedFd<'_>,
) -> io::Result<()> {
    if request.session_id.len() > MAX_SESSION
        || request.prefix.len() > MAX_PREFIX
        || request.input.len() > MAX_INPUT
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "login hand-off request too large",
        ));
    }
    send_fd(socket, &request.encode(), client)
}

/// Sends `data` with `fd` attached (the descriptor goes with the first piece); the whole of
/// `data`, even if the socket takes it in pieces.
pub fn send_fd(socket: &UnixStream, data: &[u8], fd: BorrowedFd<'_>) -> io::Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let sent = loop {
        match sendmsg::<()>(
            socket.as_raw_fd(),
            &[IoSlice::new(data)],
            &cmsg,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => break n,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let mut socket = socket;
    socket.write_all(&data[sent..])
}

/// Receives one message of at most `max` bytes that must carry a descriptor (sent by
/// [`send_fd`] in one piece): its bytes and the descriptor.
pub fn receive_fd(socket: &UnixStream, max: usize) -> Result<(Vec<u8>, OwnedFd), HandoffError> {
    let mut buf = vec![0u8; max];
    let (got, fd) = recv_with_fd(socket, &mut buf)?;
    let Some(fd) = fd else {
        return Err(protocol("no descriptor attached"));
    };
    buf.truncate(got);
    Ok((buf, fd))
}

/// Receives a request and the client descriptor that came with it. Also returns the pid of
/// the process that sent it, as the kernel knows it.
pub fn receive_request(
    socket: &UnixStream,
) -> Result<(HandoffRequest, OwnedFd, u32), HandoffError> {
    let peer =
        getsockopt(socket, sockopt::PeerCredentials).map_err(|e| HandoffError::Io(e.into()))?;
    let peer_pid = u32::try_from(peer.pid()).map_err(|_| protocol("peer has no pid"))?;
    let mut buf = vec![0u8; MAX_HEADER];
    let (mut got, fd) = recv_with_fd(socket, &mut buf)?;
    let Some(fd) = fd else {
        return Err(protocol("no descriptor attached"));
    };
    // The header line, then the payload.
    let mut socket_reader = socket;
    let header_end = loop {
        if let Some(lf) = buf[..got].iter().position(|b| *b == b'\n') {
            break lf;
        }
        if got == buf.len() {
            return Err(protocol("header too long"));
        }
        let n = socket_reader.read(&mut buf[got..])?;
        if n == 0 {
            return Err(protocol("connection closed in the header"));
        }
        got += n;
    };
    let header =
        std::str::from_utf8(&buf[..header_end]).map_err(|_| protocol("header is not text"))?;
    let (mut request, [session_len, prefix_len, input_len]) = HandoffRequest::parse_header(header)?;
    let mut payload = buf[header_end + 1..got].to_vec();
    let total = session_len + prefix_len + input_len;
    if payload.len() > total {
        return Err(protocol("more data than announced"));
    }
    let missing = total - payload.len();
    let mut rest = vec![0u8; missing];
    socket_reader.read_exact(&mut rest)?;
    payload.extend_from_slice(&rest);
    let (session, rest) = payload.split_at(session_len);
    let (prefix, input) = rest.split_at(prefix_len);
    request.session_id =
        String::from_utf8(session.to_vec()).map_err(|_| protocol("session id is not text"))?;
    request.prefix = prefix.to_vec();
    request.input = input.to_vec();
    Ok((request, fd, peer_pid))
}

/// One read that may carry descriptors; keeps the first, closes any others.
fn recv_with_fd(
    socket: &UnixStream,
    buf: &mut [u8],
) -> Result<(usize, Option<OwnedFd>), HandoffError> {
    let mut cmsg = nix::cmsg_space!([RawFd; 4]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(HandoffError::Io(e.into())),
        };
        let mut fds: Vec<OwnedFd> = Vec::new();
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(raw) = c {
                    // SAFETY: descriptors the kernel just installed in this process for us.
                    fds.extend(
                        raw.into_iter()
                            .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                    );
                }
            }
        }
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            return Err(protocol("too many descriptors"));
        }
        let n = msg.bytes;
        if n == 0 {
            return Err(protocol("connection closed before the request"));
        }
        let mut fds = fds.into_iter();
        return Ok((n, fds.next()));
    }
}

/// How long a login process waits for the mail process to take over (it asks the auth
/// service first).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// A client the mail process took over.
pub struct Delivered {
    pub mail_pid: u32,
    /// For a TLS client: the TLS side and the plaintext side the login process must now
    /// relay between ([`crate::net::tls_proxy::proxy`]).
    pub proxy: Option<(TlsStream, UnixStream)>,
}

/// A hand-off that did not happen: the error for the log, and the client's stream (when it
/// is still usable) for the protocol's internal-failure reply.
pub struct NotDelivered {
    pub error: String,
    pub stream: Option<ClientStream>,
}

/// The login process's side: connects to the mail service's `socket`, hands over `stream`
/// (a TLS one through a socketpair) with `request`, and waits for the answer.
pub fn hand_over(
    socket: &Path,
    request: HandoffRequest,
    stream: ClientStream,
) -> Result<Delivered, NotDelivered> {
    let mail = match UnixStream::connect(socket) {
        Ok(m) => m,
        Err(e) => {
            return Err(NotDelivered {
                error: crate::errtext::connect_error_text(socket, &e),
                stream: Some(stream),
            })
        }
    };
    let (mail_pid, plain_end) = match deliver(socket, &mail, request, &stream) {
        Ok(done) => done,
        Err(error) => {
            return Err(NotDelivered {
                error,
                stream: Some(stream),
            })
        }
    };
    let proxy = match (stream, plain_end) {
        (ClientStream::Tls(tls), Some(ours)) => match Rc::try_unwrap(tls) {
            Ok(tls) => Some((tls.into_inner(), ours)),
            Err(_) => {
                return Err(NotDelivered {
                    error: "BUG: the TLS stream is still in use".into(),
                    stream: None,
                })
            }
        },
        _ => None,
    };
    Ok(Delivered { mail_pid, proxy })
}

/// Sends the request with the client's descriptor (a TLS client's: one end of a new
/// socketpair, whose other end is returned) and reads the answer: the mail process's pid.
fn deliver(
    socket: &Path,
    mail: &UnixStream,
    mut request: HandoffRequest,
    stream: &ClientStream,
) -> Result<(u32, Option<UnixStream>), String> {
    let _ = mail.set_read_timeout(Some(REPLY_TIMEOUT));
    let _ = mail.set_write_timeout(Some(REPLY_TIMEOUT));
    let io_error = |e: io::Error| {
        format!(
            "Login hand-off to {} failed: {}",
            socket.display(),
            crate::errtext::os_error_text(&e)
        )
    };
    let plain_end = match stream {
        ClientStream::Plain(tcp) => {
            request.tls = false;
            send_request(mail, &request, std::os::fd::AsFd::as_fd(&**tcp)).map_err(io_error)?;
            None
        }
        ClientStream::Tls(_) => {
            request.tls = true;
            let (ours, theirs) = UnixStream::pair().map_err(io_error)?;
            send_request(mail, &request, std::os::fd::AsFd::as_fd(&theirs)).map_err(io_error)?;
            Some(ours)
        }
    };
    match read_reply(mail).map_err(io_error)? {
        Ok(mail_pid) => Ok((mail_pid, plain_end)),
        Err(reason) => Err(format!("Mail process refused the login: {reason}")),
    }
}

/// The mail process's answer: it took over the client (its pid), or not.
pub fn send_reply(socket: &UnixStream, result: Result<u32, &str>) -> io::Result<()> {
    let line = match result {
        Ok(pid) => format!("OK {pid}\n"),
        Err(reason) => format!("FAIL {}\n", reason.replace(['\n', '\r'], " ")),
    };
    let mut socket = socket;
    socket.write_all(line.as_bytes())
}

/// Reads the mail process's answer.
pub fn read_reply(socket: &UnixStream) -> io::Result<Result<u32, String>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let mut socket = socket;
    while line.len() < MAX_REPLY {
        if socket.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "mail process closed the connection",
            ));
        }
        if byte[0] == b'\n' {
            let text = String::from_utf8_lossy(&line).into_owned();
            if let Some(pid) = text.strip_prefix("OK ") {
                return pid
                    .parse()
                    .map(Ok)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad OK reply"));
            }
            return Ok(Err(text.strip_prefix("FAIL ").unwrap_or(&text).to_string()));
        }
        line.push(byte[0]);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "mail process reply too long",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn request(input: &[u8]) -> HandoffRequest {
        HandoffRequest {
            auth_server_pid: 77,
            auth_id: 3,
            cookie_hex: "00ff".repeat(8),
            local: "127.0.0.1:143".parse().unwrap(),
            remote: "[::1]:50000".parse().unwrap(),
            secured: true,
            tls: false,
            session_id: "AbC+/9".into(),
            prefix: b"0a1\0".to_vec(),
            input: input.to_vec(),
        }
    }

    #[test]
    fn request_and_descriptor_arrive_together() {
        let (login, mail) = UnixStream::pair().unwrap();
        let (client, mut far_end) = UnixStream::pair().unwrap();
        let sent = request(b"b NOOP\r\n");
        send_request(&login, &sent, client.as_fd()).unwrap();
        drop(client);
        let (got, fd, pid) = receive_request(&mail).unwrap();
        assert_eq!(got, sent);
        assert_eq!(pid, std::process::id());
        // The descriptor is the client's socket: what is written to it reaches the far end.
        let mut passed = UnixStream::from(fd);
        passed.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        far_end.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        send_reply(&mail, Ok(1234)).unwrap();
        assert_eq!(read_reply(&login).unwrap().unwrap(), 1234);
        send_reply(&mail, Err("no\nway")).unwrap();
        assert_eq!(read_reply(&login).unwrap().unwrap_err(), "no way");
    }

    #[test]
    fn large_input_arrives_whole() {
        let (login, mail) = UnixStream::pair().unwrap();
        let (client, _far) = UnixStream::pair().unwrap();
        let sent = request(&vec![b'x'; MAX_INPUT]);
        let writer = std::thread::spawn(move || {
            send_request(&login, &sent, client.as_fd()).unwrap();
            sent
        });
        let (got, _, _) = receive_request(&mail).unwrap();
        assert_eq!(got, writer.join().unwrap());
    }

    #[test]
    fn broken_requests_are_refused() {
        for bad in [
            &b"hello\n"[..],
            b"COTE-LOGIN 2 1 1 00 127.0.0.1 1 127.0.0.1 2 - 0 0 0\n",
            b"COTE-LOGIN 1 1 1 zz 127.0.0.1 1 127.0.0.1 2 - 0 0 0\n",
            b"COTE-LOGIN 1 1 1 00 127.0.0.1 1 127.0.0.1 2 - 0 0 999999999\n",
            b"COTE-LOGIN 1 1 1 00 nonsense 1 127.0.0.1 2 - 0 0 0\n",
        ] {
            let (login, mail) = UnixStream::pair().unwrap();
            let (client, _far) = UnixStream::pair().unwrap();
            let fds = [client.as_raw_fd()];
            sendmsg::<()>(
                login.as_raw_fd(),
                &[IoSlice::new(bad)],
                &[ControlMessage::ScmRights(&fds)],
                MsgFlags::empty(),
                None,
            )
            .unwrap();
            assert!(
                matches!(receive_request(&mail), Err(HandoffError::Protocol(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // No descriptor at all.
        let (mut login, mail) = UnixStream::pair().unwrap();
        login.write_all(&request(b"").encode()).unwrap();
        assert!(matches!(
            receive_request(&mail),
            Err(HandoffError::Protocol(_))
        ));
    }
}
