//! LMTP proxying (`lmtp_proxy = yes`, Dovecot's `lmtp-proxy.c`): a recipient whose passdb
//! fields say `proxy` is relayed to the backend they name (`host`/`hostip`, `port`,
//! `protocol=lmtp|smtp`, `destuser`, `proxy_timeout`, `ssl=`/`starttls=`,
//! `proxy_not_trusted`). One connection per backend and transaction: LHLO, XCLIENT with the
//! client's address when the backend offers it and is trusted, MAIL FROM, then each
//! recipient's RCPT TO, whose answer is the client's; at DATA the message goes to every
//! backend and each recipient gets its backend's answer, in RCPT order, with the client's
//! address in it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::net::backend::{Backend, BackendError};

/// Dovecot's `LMTP_PROXY_DEFAULT_TIMEOUT_MSECS`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(125);

/// The backend's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Lmtp,
    Smtp,
}

/// Where a recipient's mail goes, from its passdb fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmtpTarget {
    pub host: String,
    pub addr: SocketAddr,
    pub protocol: Protocol,
    pub timeout: Duration,
    /// `destuser`/`user`: the recipient's name at the backend, when it differs.
    pub user: Option<String>,
    /// `ssl=`: TLS from the start; `starttls=`: after STARTTLS.
    pub ssl: bool,
    pub starttls: bool,
    pub any_cert: bool,
    pub not_trusted: bool,
}

/// Why passdb fields do not make a usable target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetError {
    /// Logged; the recipient is delivered here instead, as Dovecot does.
    Invalid(String),
    /// The target is this server itself: `554 5.4.6 Proxying loops to itself`.
    Loop,
}

impl LmtpTarget {
    /// The target the fields of a passdb lookup for `user` name; `Ok(None)`: not proxied.
    /// `local`: the address the client connected to (the default port, the loop check).
    pub fn from_fields(
        user: &str,
        fields: &[(String, String)],
        local: Option<SocketAddr>,
    ) -> Result<Option<LmtpTarget>, TargetError> {
        let field = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if field("proxy").is_none() {
            return Ok(None);
        }
        let invalid = |text: String| TargetError::Invalid(format!("proxy: {text}"));
        let mut protocol = Protocol::Lmtp;
        let mut port = local.map_or(24, |l| l.port());
        let port_set = field("port");
        if let Some(p) = port_set {
            port = p
                .parse()
                .map_err(|_| invalid(format!("Invalid port number {p}")))?;
        }
        if let Some(p) = field("protocol") {
            (protocol, port) = match p {
                "lmtp" => (Protocol::Lmtp, if port_set.is_some() { port } else { 24 }),
                "smtp" => (Protocol::Smtp, if port_set.is_some() { port } else { 25 }),
                other => return Err(invalid(format!("Unknown protocol {other}"))),
            };
        }
        let timeout = match field("proxy_timeout") {
            None => DEFAULT_TIMEOUT,
            Some(t) => Duration::from_secs(
                t.parse()
                    .map_err(|_| invalid(format!("Invalid proxy_timeout value {t}")))?,
            ),
        };
        let Some(host) = field("host") else {
            return Err(invalid("host not given".into()));
        };
        let ip = match field("hostip") {
            Some(h) => h
                .parse::<IpAddr>()
                .map_err(|_| invalid(format!("Invalid hostip {h}")))?,
            None => match host.parse::<IpAddr>() {
                Ok(ip) => ip,
                Err(_) => (host, port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .map(|a| a.ip())
                    .ok_or_else(|| invalid(format!("DNS lookup for {host} failed")))?,
            },
        };
        let destuser = field("destuser")
            .or(field("user"))
            .filter(|u| *u != user)
            .map(str::to_string);
        let addr = SocketAddr::new(ip, port);
        if destuser.is_none() && local.is_some_and(|l| l.ip() == ip && l.port() == port) {
            return Err(TargetError::Loop);
        }
        Ok(Some(LmtpTarget {
            host: host.to_string(),
            addr,
            protocol,
            timeout,
            user: destuser,
            ssl: field("ssl").is_some() && field("starttls").is_none(),
            starttls: field("starttls").is_some(),
            any_cert: field("ssl") == Some("any-cert") || field("starttls") == Some("any-cert"),
            not_trusted: field("proxy_not_trusted").is_some(),
        }))
    }
}

/// One SMTP reply: the code and the text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn success(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The reply as the client gets it: the enhanced code `default_enh` when the backend
    /// gave none, and with `path` in place of the backend's path (or added, with `add`).
    fn forward(&self, default_enh: &str, path: &str, add: bool) -> String {
        let last = self.lines.len().saturating_sub(1);
        let mut out = Vec::new();
        for (i, text) in self.lines.iter().enumerate() {
            let (enh, rest) = match text.split_once(' ') {
                Some((e, rest)) if is_enhanced(e) => (e.to_string(), rest.to_string()),
                _ => (default_enh.to_string(), text.clone()),
            };
            let rest = if rest.starts_with('<') {
                match rest.find('>') {
                    Some(end) => format!("<{path}>{}", &rest[end + 1..]),
                    None => rest,
                }
            } else if add && i == 0 {
                format!("<{path}> {rest}")
            } else {
                rest
            };
            let sep = if i == last { ' ' } else { '-' };
            out.push(format!("{}{sep}{enh} {rest}", self.code));
        }
        out.join("\r\n")
    }
}

fn is_enhanced(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads one reply (its continuation lines too).
fn read_reply(backend: &mut Backend) -> Result<Reply, BackendError> {
    let mut lines = Vec::new();
    loop {
        let line = backend.read_line()?;
        let code = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let (Some(code), sep) = (code, line.as_bytes().get(3).copied()) else {
            return Err(BackendError::Disconnected(format!(
                "Invalid reply: {}",
                crate::log::str_sanitize(line.as_bytes(), 160)
            )));
        };
        lines.push(line.get(4..).unwrap_or("").to_string());
        if sep != Some(b'-') {
            return Ok(Reply { code, lines });
        }
    }
}

/// What a backend connection needs to know about the client's transaction.
#[derive(Debug, Clone)]
pub struct TransactionInfo {
    /// This server's name (LHLO).
    pub hostname: String,
    /// `MAIL FROM:<...>` as the client gave it (with BODY=).
    pub mail_from: String,
    /// The client's address, for XCLIENT.
    pub peer_ip: Option<IpAddr>,
    pub helo: Option<String>,
    pub session_id: String,
}

/// A backend of this transaction.
struct Connection {
    addr: SocketAddr,
    protocol: Protocol,
    host: String,
    backend: Option<Backend>,
    /// Why it failed (`connect, `, `connection lost, ` ...), once it did.
    failed: Option<&'static str>,
    /// Recipients it accepted, as indexes into the transaction's recipient list.
    rcpts: Vec<usize>,
}

/// The backends of one transaction.
#[derive(Default)]
pub struct LmtpProxy {
    conns: Vec<Connection>,
}

/// A failed connection's detail for `451 4.4.0 Proxy failed (<detail>session=...)`.
fn failure_detail(e: &BackendError) -> &'static str {
    match e {
        BackendError::Connect(_) => "connect, ",
        BackendError::TimedOut => "timed out, ",
        BackendError::Disconnected(_) => "connection lost, ",
        BackendError::TooLong => "bad reply, ",
        BackendError::Tls(_) => "connect, ",
    }
}

impl LmtpProxy {
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// RCPT TO for recipient number `index` (`address`, `params` as the client gave them,
    /// `user`'s address changed by `destuser`) at `target`; returns the client's answer, and
    /// whether the backend accepted it.
    pub fn rcpt(
        &mut self,
        target: &LmtpTarget,
        info: &TransactionInfo,
        index: usize,
        address: &str,
        params: &str,
        session_id: &str,
    ) -> (String, bool) {
        let conn = match self
            .conns
            .iter()
            .position(|c| c.addr == target.addr && c.protocol == target.protocol)
        {
            Some(i) => i,
            None => {
                let mut conn = Connection {
                    addr: target.addr,
                    protocol: target.protocol,
                    host: target.host.clone(),
                    backend: None,
                    failed: None,
                    rcpts: Vec::new(),
                };
                match start(target, info) {
                    Ok(b) => conn.backend = Some(b),
                    Err(e) => {
                        log::error!(
                            "proxy: {}:{}: {}",
                            target.host,
                            target.addr.port(),
                            describe(&e)
                        );
                        conn.failed = Some(failure_detail(&e));
                    }
                }
                self.conns.push(conn);
                self.conns.len() - 1
            }
        };
        let conn = &mut self.conns[conn];
        let (Some(backend), None) = (conn.backend.as_mut(), conn.failed) else {
            let detail = conn.failed.unwrap_or("");
            return (
                format!("451 4.4.0 Proxy failed ({detail}session={session_id})"),
                false,
            );
        };
        let rcpt = format!("<{}>", target.user.as_deref().unwrap_or(address));
        let mut command = format!("RCPT TO:{rcpt}");
        if !params.is_empty() {
            command.push(' ');
            command.push_str(params);
        } else if target.user.is_some() {
            // The backend sees another address: the original goes with it.
            command.push_str(&format!(" ORCPT=rfc822;{address}"));
        }
        command.push_str("\r\n");
        let reply = backend
            .send(command.as_bytes())
            .and_then(|()| read_reply(backend));
        match reply {
            Ok(reply) => {
                let ok = reply.success();
                if ok {
                    conn.rcpts.push(index);
                }
                let enh = if ok { "2.1.0" } else { "" };
                let enh = if enh.is_empty() {
                    format!("{}.0.0", reply.code / 100)
                } else {
                    enh.to_string()
                };
                (reply.forward(&enh, address, !ok), ok)
            }
            Err(e) => {
                let detail = failure_detail(&e);
                conn.failed = Some(detail);
                conn.backend = None;
                (
                    format!("451 4.4.0 Proxy failed ({detail}session={session_id})"),
                    false,
                )
            }
        }
    }

    /// DATA: `message` (CRLF line ends, not dot-stuffed) to every backend that accepted a
    /// recipient. Returns the answer for each proxied recipient by index; `addresses` are
    /// the recipients' addresses as the client gave them, `session_ids` their ids.
    pub fn data(
        &mut self,
        message: &[u8],
        addresses: &[String],
        session_ids: &[String],
    ) -> HashMap<usize, String> {
        let mut replies = HashMap::new();
        let stuffed = dot_stuff(message);
        for conn in &mut self.conns {
            if conn.rcpts.is_empty() {
                continue;
            }
            let started = Instant::now();
            let result = match conn.backend.as_mut() {
                Some(backend) => send_data(backend, &stuffed, conn.protocol, conn.rcpts.len()),
                None => Err(BackendError::Disconnected("Connection closed".into())),
            };
            for (n, &i) in conn.rcpts.iter().enumerate() {
                let address = addresses.get(i).map_or("", String::as_str);
                let session = session_ids.get(i).map_or("", String::as_str);
                let reply = match &result {
                    Ok(per_rcpt) => {
                        let r = per_rcpt.get(n).or(per_rcpt.last());
                        match r {
                            Some(r) if r.success() => {
                                log::info!(
                                    "<{session}>: Sent message to <{address}> at {}:{}: {} ({}/{} at {} ms)",
                                    conn.host,
                                    conn.addr.port(),
                                    r.lines.join(" "),
                                    i + 1,
                                    addresses.len(),
                                    started.elapsed().as_millis()
                                );
                                let enh = r
                                    .lines
                                    .first()
                                    .and_then(|l| l.split(' ').next())
                                    .filter(|e| is_enhanced(e))
                                    .unwrap_or("2.0.0");
                                format!("250 {enh} <{address}> {session} Saved")
                            }
                            Some(r) => {
                                log::info!(
                                    "<{session}>: Failed to send message to <{address}> at {}:{}: {} {} ({}/{} at {} ms)",
                                    conn.host,
                                    conn.addr.port(),
                                    r.code,
                                    r.lines.join(" "),
                                    i + 1,
                                    addresses.len(),
                                    started.elapsed().as_millis()
                                );
                                r.forward(&format!("{}.0.0", r.code / 100), address, true)
                            }
                            None => {
                                format!("451 4.4.0 Proxy failed (bad reply, session={session})")
                            }
                        }
                    }
                    Err(e) => {
                        log::error!(
                            "<{session}>: Failed to send message to <{address}> at {}:{}: {}",
                            conn.host,
                            conn.addr.port(),
                            describe(e)
                        );
                        format!(
                            "451 4.4.0 Proxy failed ({}session={session})",
                            failure_detail(e)
                        )
                    }
                };
                replies.insert(i, reply);
            }
        }
        replies
    }

    /// Ends the transaction at every backend (QUIT).
    pub fn finish(&mut self) {
        for conn in &mut self.conns {
            if let Some(mut backend) = conn.backend.take() {
                // The transaction is over either way.
                let _ = backend.send(b"QUIT\r\n");
            }
        }
        self.conns.clear();
    }
}

fn describe(e: &BackendError) -> String {
    match e {
        BackendError::Connect(e) => format!("connect() failed: {e}"),
        BackendError::TimedOut => "Timed out".into(),
        BackendError::Disconnected(e) => e.clone(),
        BackendError::TooLong => "Reply too long".into(),
        BackendError::Tls(e) => e.clone(),
    }
}

/// Connects and opens the transaction: greeting, LHLO (again after STARTTLS and XCLIENT),
/// MAIL FROM.
fn start(target: &LmtpTarget, info: &TransactionInfo) -> Result<Backend, BackendError> {
    let deadline = Instant::now() + target.timeout;
    let mut backend = Backend::connect(target.addr, deadline)
        .map_err(|(e, _)| BackendError::Connect(crate::errtext::os_error_text(&e)))?;
    if target.ssl {
        backend.start_tls(&target.host, target.any_cert)?;
    }
    expect(&mut backend, 220, "greeting")?;
    let hello = match target.protocol {
        Protocol::Lmtp => "LHLO",
        Protocol::Smtp => "EHLO",
    };
    let lhlo = format!("{hello} {}\r\n", info.hostname);
    backend.send(lhlo.as_bytes())?;
    let mut caps = expect(&mut backend, 250, "LHLO")?;
    if target.starttls {
        backend.send(b"STARTTLS\r\n")?;
        expect(&mut backend, 220, "STARTTLS")?;
        backend.start_tls(&target.host, target.any_cert)?;
        backend.send(lhlo.as_bytes())?;
        caps = expect(&mut backend, 250, "LHLO")?;
    }
    let xclient = caps.lines.iter().any(|l| {
        l.split(' ')
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case("XCLIENT"))
    });
    if xclient && !target.not_trusted {
        let mut line = format!("XCLIENT SESSION={} TTL=4", info.session_id);
        if let Some(ip) = info.peer_ip {
            line = format!("XCLIENT ADDR={ip} SESSION={} TTL=4", info.session_id);
        }
        if let Some(helo) = &info.helo {
            line.push_str(&format!(" HELO={helo}"));
        }
        line.push_str("\r\n");
        backend.send(line.as_bytes())?;
        expect(&mut backend, 220, "XCLIENT")?;
        backend.send(lhlo.as_bytes())?;
        expect(&mut backend, 250, "LHLO")?;
    }
    backend.send(format!("{}\r\n", info.mail_from).as_bytes())?;
    expect(&mut backend, 250, "MAIL FROM")?;
    Ok(backend)
}

/// Reads a reply that must have `code`.
fn expect(backend: &mut Backend, code: u16, what: &str) -> Result<Reply, BackendError> {
    let reply = read_reply(backend)?;
    if reply.code != code {
        return Err(BackendError::Disconnected(format!(
            "{what} failed: {} {}",
            reply.code,
            reply.lines.join(" ")
        )));
    }
    Ok(reply)
}

/// Sends DATA and the message; one reply per recipient (LMTP) or one for all (SMTP).
fn send_data(
    backend: &mut Backend,
    stuffed: &[u8],
    protocol: Protocol,
    rcpts: usize,
) -> Result<Vec<Reply>, BackendError> {
    backend.send(b"DATA\r\n")?;
    expect(backend, 354, "DATA")?;
    backend.send(stuffed)?;
    backend.send(b".\r\n")?;
    let count = match protocol {
        Protocol::Lmtp => rcpts,
        Protocol::Smtp => 1,
    };
    (0..count).map(|_| read_reply(backend)).collect()
}

/// The message with CRLF line ends and dot-stuffed, ending in CRLF.
fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 2);
    let mut line_start = true;
    let mut prev = 0u8;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        line_start = b == b'\n';
        prev = b;
    }
    if !line_start {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn targets_from_fields() {
        let local: SocketAddr = "127.0.0.1:24".parse().unwrap();
        assert_eq!(
            LmtpTarget::from_fields("a", &fields(&[("host", "h")]), Some(local)),
            Ok(None)
        );
        let t = LmtpTarget::from_fields(
            "a",
            &fields(&[("proxy", ""), ("host", "127.0.0.2"), ("destuser", "b")]),
            Some(local),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (t.addr.to_string(), t.user.as_deref()),
            ("127.0.0.2:24".into(), Some("b"))
        );
        let smtp = fields(&[("proxy", ""), ("host", "127.0.0.2"), ("protocol", "smtp")]);
        let t = LmtpTarget::from_fields("a", &smtp, Some(local))
            .unwrap()
            .unwrap();
        assert_eq!((t.protocol, t.addr.port()), (Protocol::Smtp, 25));
        assert_eq!(
            LmtpTarget::from_fields(
                "a",
                &fields(&[("proxy", ""), ("host", "127.0.0.1")]),
                Some(local)
            ),
            Err(TargetError::Loop)
        );
        assert!(matches!(
            LmtpTarget::from_fields("a", &fields(&[("proxy", "")]), Some(local)),
            Err(TargetError::Invalid(_))
        ));
    }

    #[test]
    fn replies_are_forwarded_with_the_clients_path() {
        let r = Reply {
            code: 451,
            lines: vec!["4.2.0 <b@x> Mailbox busy".into()],
        };
        assert_eq!(
            r.forward("4.0.0", "a@y", true),
            "451 4.2.0 <a@y> Mailbox busy"
        );
        let r = Reply {
            code: 550,
            lines: vec!["No such user".into()],
        };
        assert_eq!(
            r.forward("5.0.0", "a@y", true),
            "550 5.0.0 <a@y> No such user"
        );
        let r = Reply {
            code: 250,
            lines: vec!["OK".into()],
        };
        assert_eq!(r.forward("2.1.0", "a@y", false), "250 2.1.0 OK");
    }

    #[test]
    fn messages_are_dot_stuffed_with_crlf() {
        assert_eq!(dot_stuff(b"a\n.b\r\n..\nc"), b"a\r\n..b\r\n...\r\nc\r\n");
    }
}
