//! One LMTP connection (RFC 2033), answering as Dovecot 2.3's lmtp does: the greeting, LHLO,
//! MAIL FROM, RCPT TO (each recipient looked up in the userdb at once, `ORCPT=` taken), DATA
//! and BDAT (CHUNKING, RFC 3030) with one reply per recipient, STARTTLS, RSET, NOOP, VRFY,
//! XCLIENT, QUIT. The recipients' storage, the message spool and TLS are the caller's
//! ([`Deliverer`], [`StartTls`]): this module never touches files, processes or keys.
//!
//! A recipient gets `250` only once the [`Deliverer`] says the message is durably saved; a
//! failure for one recipient is that recipient's `4xx`/`5xx`, the others still get theirs.

use std::io::{self, Read, Write};
use std::time::Duration;

use crate::delivery::MessageBuffer;
use crate::net::conn::parse_ip;
use crate::net::{IpNetwork, LineError, LineReader, ResponseWriter};

use super::address::{parse_orcpt, parse_path, Address};
use super::message::HdrDeliveryAddress;
use super::proxy::{LmtpProxy, LmtpTarget, TransactionInfo};

mod transfer;

/// Commands and DATA lines are read up to this length (a longer DATA line fails the message
/// for every recipient; a longer command line is refused).
const MAX_LINE: usize = 1024 * 1024;
/// RFC 5321's command line limit is 512; Dovecot accepts more, cote up to this.
const MAX_COMMAND_LINE: usize = 8192;
/// The most message data held for one transaction.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;
/// An idle client is disconnected after this long (Dovecot's SMTP server default).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const OUTPUT_FLUSH_AT: usize = 64 * 1024;

/// What a userdb lookup of a recipient found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<C> {
    /// Found, holding `C` (a claim on one of the user's concurrent deliveries) until the
    /// recipient's delivery is over.
    Found(C),
    NotFound,
    /// The userdb could not be asked (logged by the deliverer).
    TempFail,
    /// `lmtp_user_concurrency_limit` deliveries to the user are in progress already.
    TooManyDeliveries,
    /// `lmtp_rcpt_check_quota`: the user is over quota already (`552 5.2.2`, or `452 4.2.2`
    /// with `temporary`).
    OverQuota {
        text: String,
        temporary: bool,
    },
    /// `lmtp_proxy`: the passdb sends this recipient to another server.
    Proxy(LmtpTarget),
    /// The passdb's proxy destination is this server (`554 5.4.6`).
    ProxyLoop,
}

/// One recipient's delivery, as the deliverer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The path as given (`Delivered-To`, replies).
    pub address: Address,
    /// The original recipient (`ORCPT=rfc822;...`), if given.
    pub orcpt: Option<Address>,
    /// The user name (`recipient_delimiter` detail removed).
    pub user: String,
    /// The detail (`alice+box` → `box`), empty for none.
    pub detail: String,
    /// This delivery's session id (the transaction id, then `id:R2`, ...).
    pub session_id: String,
}

/// How one recipient's delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Durably saved (per `mail_fsync`).
    Saved,
    /// `451 4.2.0` (mailbox temporarily unavailable) or, with `internal`, `451 4.3.0`.
    TempFail { text: String, internal: bool },
    /// `552 5.2.2` / `452 4.2.2`: over quota (`temporary` per `quota_full_tempfail`).
    OverQuota { text: String, temporary: bool },
    /// `552 5.2.0`: refused for good.
    Rejected(String),
}

/// Where recipients are looked up and messages saved.
pub trait Deliverer {
    /// What a found recipient holds until its delivery is over (dropped then).
    type Claim;
    /// The userdb lookup of `user`, and a claim on one of its concurrent deliveries.
    fn lookup(&mut self, user: &str) -> Lookup<Self::Claim>;
    /// An empty buffer for an incoming message (spooling to `mail_temp_dir`).
    fn message_buffer(&mut self) -> MessageBuffer;
    /// Saves `message` (the added headers first) for `rcpt`; returns only when it is
    /// durable or failed.
    fn deliver(&mut self, rcpt: &Recipient, message: &[u8]) -> Delivered;
}

/// STARTTLS on the connection, as the caller provides it.
pub trait StartTls {
    /// Whether STARTTLS is offered: TLS is configured and not active yet.
    fn offered(&self) -> bool;
    /// Whether the connection is TLS already.
    fn active(&self) -> bool;
    /// The server side of the handshake, after the `220` went out; from then on the
    /// session's reader and writer go through TLS. An error (logged by the session) ends
    /// the connection.
    fn start(&mut self) -> Result<(), String>;
    /// Once active: `TLSv1.3 with cipher ... (256/256 bits)`, for the Received header.
    fn description(&self) -> Option<String> {
        None
    }
}

/// A connection without TLS (a UNIX socket, or `ssl = no`).
pub struct NoTls;

impl StartTls for NoTls {
    fn offered(&self) -> bool {
        false
    }
    fn active(&self) -> bool {
        false
    }
    fn start(&mut self) -> Result<(), String> {
        Err("TLS is not available".into())
    }
}

/// What the session takes from the configuration.
#[derive(Debug, Clone)]
pub struct LmtpSettings {
    /// The name in the greeting, LHLO reply and Received header.
    pub hostname: String,
    pub login_greeting: String,
    pub recipient_delimiter: String,
    pub lmtp_add_received_header: bool,
    pub lmtp_hdr_delivery_address: HdrDeliveryAddress,
    /// `login_trusted_networks`: clients that may send XCLIENT.
    pub trusted_networks: Vec<IpNetwork>,
}

/// The peer, for the Received header and log lines.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's IP (`None` on a UNIX socket).
    pub ip: Option<std::net::IpAddr>,
    /// Shown in log lines (`127.0.0.1`, or `unix socket`).
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Quit,
    Closed,
    Timeout,
    Failed(String),
}

/// Where a recipient's message goes.
enum Route<C> {
    /// Delivered here, holding its claim (dropped once it was delivered to).
    Local(Option<C>),
    /// Relayed to the backend that accepted it (`lmtp_proxy`).
    Proxied,
}

/// The transaction in progress (MAIL FROM .. DATA or the last BDAT).
struct Transaction<C> {
    id: String,
    /// `None`: the null path.
    from: Option<Address>,
    /// MAIL FROM's parameters as given, for proxied recipients' backends.
    from_params: String,
    /// Each recipient and where it goes.
    recipients: Vec<(Recipient, Route<C>)>,
    /// The length of the local recipients' added headers at the start of the message, and
    /// the proxied recipients' (only `Received`), set when the message starts.
    local_headers: usize,
    proxy_headers: String,
    /// The BDAT chunks so far (the added headers first).
    chunks: Option<MessageBuffer>,
}

struct Session<'a, R: Read, W: Write, D: Deliverer> {
    reader: LineReader<R>,
    writer: ResponseWriter<W>,
    settings: &'a LmtpSettings,
    tls: &'a mut dyn StartTls,
    /// A BDAT failed: BDAT and DATA are refused until RSET.
    chunk_failed: bool,
    /// The client; a trusted proxy may change the address with XCLIENT.
    peer: Peer,
    /// The connection's own peer may send XCLIENT.
    trusted: bool,
    deliverer: &'a mut D,
    helo: Option<String>,
    transaction: Option<Transaction<D::Claim>>,
    /// RCPT commands of this transaction so far (every one, for the session ids).
    rcpt_seq: u32,
    /// The connection's id: the first transaction's id, the others' prefix (`id:T2`, ...).
    session_id: String,
    /// Transactions started so far.
    transaction_seq: u32,
    /// The backends of proxied recipients in this transaction.
    proxy: LmtpProxy,
}

/// Serves one LMTP client until QUIT or disconnection; logs Dovecot's `Connect from` and
/// `Disconnect from` lines. `reader` and `writer` are the connection's two ends; after
/// STARTTLS they must read and write through the TLS that `tls` started.
pub fn serve_lmtp<R: Read, W: Write, D: Deliverer>(
    reader: R,
    writer: W,
    settings: &LmtpSettings,
    peer: &Peer,
    deliverer: &mut D,
    tls: &mut dyn StartTls,
) {
    log::info!("Connect from {}", peer.name);
    let trusted = peer
        .ip
        .is_some_and(|ip| settings.trusted_networks.iter().any(|net| net.contains(ip)));
    let mut session = Session {
        reader: LineReader::new(reader, MAX_LINE),
        writer: ResponseWriter::new(writer, OUTPUT_FLUSH_AT),
        settings,
        tls,
        chunk_failed: false,
        peer: peer.clone(),
        trusted,
        deliverer,
        helo: None,
        transaction: None,
        rcpt_seq: 0,
        session_id: new_id(),
        transaction_seq: 0,
        proxy: LmtpProxy::default(),
    };
    let end = session.run();
    let peer = &session.peer;
    let state = if session.transaction.is_some() {
        "MAIL FROM"
    } else {
        "READY"
    };
    let reason = match end {
        End::Quit => "Logged out".to_string(),
        End::Closed => "Connection closed".to_string(),
        End::Timeout => "Idle timeout".to_string(),
        End::Failed(e) => format!("Connection closed: {e}"),
    };
    log::info!("Disconnect from {}: {reason} (state={state})", peer.name);
}

/// A fresh session id: 16 random bytes in base64 without padding (22
/// characters, as Dovecot's GUID-based ids look).
fn new_id() -> String {
    let raw = crate::auth::random::bytes::<16>().unwrap_or_else(|e| {
        // Uniqueness matters for logs only; time is a usable fallback.
        log::error!("{e}");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        nanos.to_le_bytes()
    });
    crate::auth::base64::encode(&raw)
        .trim_end_matches('=')
        .to_string()
}

/// Splits `NAME rest` at the first space; the name must be letters, digits or `-`.
fn split_command(line: &[u8]) -> Option<(String, &[u8])> {
    let (name, rest) = match line.iter().position(|&b| b == b' ') {
        Some(at) => (&line[..at], &line[at + 1..]),
        None => (line, &line[line.len()..]),
    };
    if !name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-') {
        return None;
    }
    Some((String::from_utf8_lossy(name).to_ascii_uppercase(), rest))
}

/// `KEY[=VALUE]` parameters after a path, separated by spaces.
fn parameters(rest: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(rest)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), v.to_string()),
            None => (w.to_ascii_uppercase(), String::new()),
        })
        .collect()
}

impl<R: Read, W: Write, D: Deliverer> Session<'_, R, W, D> {
    fn greeting(&mut self) -> Result<(), End> {
        let greeting = format!(
            "220 {} {}",
            self.settings.hostname, self.settings.login_greeting
        );
        self.line(&greeting)
    }

    fn run(&mut self) -> End {
        if let Err(end) = self.greeting() {
            return end;
        }
        loop {
            if !self.reader.has_buffered_line() {
                if let Err(end) = self.flush() {
                    return end;
                }
            }
            let line = match self.reader.read_line() {
                Ok(Some(line)) => line.to_vec(),
                Ok(None) | Err(LineError::Eof { .. }) => return End::Closed,
                Err(LineError::TooLong { .. }) => {
                    if let Err(end) = self.line("500 5.5.2 Line too long") {
                        return end;
                    }
                    continue;
                }
                Err(LineError::Timeout) => {
                    let _ = self.line("421 4.4.2 Disconnected for inactivity");
                    let _ = self.flush();
                    return End::Timeout;
                }
                Err(e @ LineError::Io { .. }) => return End::Failed(e.to_string()),
            };
            if let Err(end) = self.command(&line) {
                let _ = self.flush();
                return end;
            }
        }
    }

    fn command(&mut self, line: &[u8]) -> Result<(), End> {
        if line.len() > MAX_COMMAND_LINE {
            return self.line("500 5.5.2 Line too long");
        }
        let Some((name, rest)) = split_command(line) else {
            return self.line("500 5.5.2 Invalid command syntax");
        };
        match name.as_str() {
            "LHLO" => self.lhlo(rest),
            "MAIL" => self.mail(rest),
            "RCPT" => self.rcpt(rest),
            "DATA" => self.data(rest),
            "BDAT" => self.bdat(rest),
            "STARTTLS" => self.starttls(rest),
            "RSET" => {
                if !rest.is_empty() {
                    return self.line("501 5.5.4 Invalid parameters");
                }
                self.reset();
                self.line("250 2.0.0 OK")
            }
            "NOOP" => self.line("250 2.0.0 OK"),
            "XCLIENT" => self.xclient(rest),
            "VRFY" => {
                if rest.is_empty() {
                    return self.line("501 5.5.4 Invalid parameters");
                }
                self.line("252 2.3.3 Try RCPT instead")
            }
            "QUIT" => {
                if !rest.is_empty() {
                    return self.line("501 5.5.4 Invalid parameters");
                }
                self.line("221 2.0.0 Bye")?;
                Err(End::Quit)
            }
            _ => self.line("500 5.5.1 Unknown command"),
        }
    }

    /// As Dovecot numbers them: the session id, then `<session id>:T2`, `:T3`, ...
    fn next_transaction_id(&mut self) -> String {
        self.transaction_seq += 1;
        match self.transaction_seq {
            1 => self.session_id.clone(),
            n => format!("{}:T{n}", self.session_id),
        }
    }

    fn reset(&mut self) {
        self.proxy.finish();
        self.transaction = None;
        self.rcpt_seq = 0;
        self.chunk_failed = false;
    }

    fn lhlo(&mut self, rest: &[u8]) -> Result<(), End> {
        let domain = String::from_utf8_lossy(rest).trim().to_string();
        if domain.is_empty() {
            return self.line("501 Missing hostname");
        }
        self.reset();
        self.helo = Some(domain);
        // Dovecot's order (alphabetical).
        let mut lines = vec![
            self.settings.hostname.clone(),
            "8BITMIME".into(),
            "CHUNKING".into(),
            "ENHANCEDSTATUSCODES".into(),
            "PIPELINING".into(),
        ];
        if self.tls.offered() {
            lines.push("STARTTLS".into());
        }
        if self.trusted {
            lines.push("XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT".into());
        }
        let last = lines.len() - 1;
        let text: Vec<String> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
            .collect();
        self.line(&text.join("\r\n"))
    }

    /// STARTTLS (RFC 3207): after the handshake the session starts over (no greeting), and
    /// anything the client pipelined after the command in plaintext is dropped.
    fn starttls(&mut self, rest: &[u8]) -> Result<(), End> {
        if self.tls.active() {
            return self.line("502 5.5.1 TLS is already active.");
        }
        if !self.tls.offered() {
            return self.line("502 5.5.1 TLS support is not enabled.");
        }
        if !rest.is_empty() {
            return self.line("501 5.5.4 Invalid parameters");
        }
        self.line("220 2.0.0 Begin TLS negotiation now.")?;
        self.flush()?;
        let discarded = self.reader.take_buffered();
        if !discarded.is_empty() {
            log::debug!(
                "STARTTLS: discarded {} bytes sent after the command",
                discarded.len()
            );
        }
        if let Err(e) = self.tls.start() {
            return Err(End::Failed(e));
        }
        self.reset();
        self.helo = None;
        Ok(())
    }

    /// XCLIENT from a trusted proxy: the real client's address and LHLO name, for the
    /// Received header; the session starts over with a new greeting.
    fn xclient(&mut self, rest: &[u8]) -> Result<(), End> {
        if !self.trusted {
            return self.line("550 5.7.14 You are not from trusted IP");
        }
        if self.transaction.is_some() {
            return self.line("503 5.5.0 XCLIENT not permitted during a mail transaction");
        }
        for (key, value) in parameters(rest) {
            match key.as_str() {
                "ADDR" => {
                    if let Some(ip) = parse_ip(&value) {
                        self.peer.ip = Some(ip);
                    }
                }
                "HELO" => self.helo = Some(value),
                // PORT, PROTO, LOGIN, SESSION, TTL, TIMEOUT change nothing cote records.
                _ => {}
            }
        }
        self.greeting()
    }

    fn mail(&mut self, rest: &[u8]) -> Result<(), End> {
        if self.transaction.is_some() {
            return self.line("503 5.5.0 MAIL already given");
        }
        let Some(arg) = strip_keyword(rest, b"FROM:") else {
            return self.line("500 5.5.2 Invalid command syntax");
        };
        if arg.first() == Some(&b' ') {
            return self.line("501 5.5.4 Invalid FROM: Unexpected whitespace before path");
        }
        let (from, params) = match parse_path(arg, true) {
            Ok(p) => p,
            Err(e) => return self.line(&format!("501 5.5.4 Invalid FROM: {e}")),
        };
        if !params.is_empty() && params[0] != b' ' {
            return self.line("501 5.5.4 Invalid FROM: Invalid character in path");
        }
        for (key, value) in parameters(params) {
            if key != "BODY" {
                return self.line("555 5.5.4 Unsupported parameters");
            }
            if !value.eq_ignore_ascii_case("7BIT") && !value.eq_ignore_ascii_case("8BITMIME") {
                return self.line("555 5.5.4 Unsupported mail BODY type");
            }
        }
        self.transaction = Some(Transaction {
            id: self.next_transaction_id(),
            from,
            from_params: String::from_utf8_lossy(params).trim().to_string(),
            recipients: Vec::new(),
            local_headers: 0,
            proxy_headers: String::new(),
            chunks: None,
        });
        self.rcpt_seq = 0;
        self.line("250 2.1.0 OK")
    }

    fn rcpt(&mut self, rest: &[u8]) -> Result<(), End> {
        let Some(transaction_id) = self.transaction.as_ref().map(|t| t.id.clone()) else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        let Some(arg) = strip_keyword(rest, b"TO:") else {
            return self.line("500 5.5.2 Invalid command syntax");
        };
        if arg.first() == Some(&b' ') {
            return self.line("501 5.5.4 Invalid TO: Unexpected whitespace before path");
        }
        let (address, orcpt, params) = match parse_path(arg, false) {
            Ok((Some(a), params)) => {
                if !params.is_empty() && params[0] != b' ' {
                    return self.line("501 5.5.4 Invalid TO: Invalid character in path");
                }
                match rcpt_parameters(params) {
                    Ok(orcpt) => (a, orcpt, String::from_utf8_lossy(params).trim().to_string()),
                    Err(reply) => return self.line(&reply),
                }
            }
            Ok((None, _)) => return self.line("501 5.5.4 Invalid TO: Null path not allowed"),
            Err(e) => return self.line(&format!("501 5.5.4 Invalid TO: {e}")),
        };
        self.rcpt_seq += 1;
        let session_id = if self.rcpt_seq == 1 {
            transaction_id
        } else {
            format!("{transaction_id}:R{}", self.rcpt_seq)
        };
        let (user, detail) = address.split_detail(&self.settings.recipient_delimiter);
        let shown = address.encode();
        let claim = match self.deliverer.lookup(&user) {
            Lookup::Found(claim) => claim,
            Lookup::Proxy(target) => {
                return self.proxy_rcpt(&target, address, orcpt, &params, user, detail, session_id)
            }
            Lookup::ProxyLoop => {
                log::error!("Proxying to <{user}> loops to itself");
                return self.line(&format!("554 5.4.6 <{shown}> Proxying loops to itself"));
            }
            Lookup::NotFound => {
                return self.line(&format!("550 5.1.1 <{shown}> User doesn't exist: {user}"))
            }
            Lookup::TempFail => {
                return self.line(&format!("451 4.3.0 <{shown}> Temporary internal error"))
            }
            Lookup::TooManyDeliveries => {
                return self.line(&format!(
                    "451 4.3.0 <{shown}> Too many concurrent deliveries for user"
                ))
            }
            Lookup::OverQuota { text, temporary } => {
                let code = if temporary { "452 4.2.2" } else { "552 5.2.2" };
                return self.line(&format!("{code} <{shown}> {text}"));
            }
        };
        if let Some(t) = self.transaction.as_mut() {
            let rcpt = Recipient {
                address,
                orcpt,
                user,
                detail,
                session_id,
            };
            t.recipients.push((rcpt, Route::Local(Some(claim))));
        }
        self.line("250 2.1.5 OK")
    }

    /// RCPT TO of a proxied recipient: the backend's answer is the client's.
    #[allow(clippy::too_many_arguments)]
    fn proxy_rcpt(
        &mut self,
        target: &LmtpTarget,
        address: Address,
        orcpt: Option<Address>,
        params: &str,
        user: String,
        detail: String,
        session_id: String,
    ) -> Result<(), End> {
        let Some(t) = self.transaction.as_mut() else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        let from = t.from.as_ref().map(Address::encode).unwrap_or_default();
        let mut mail_from = format!("MAIL FROM:<{from}>");
        if !t.from_params.is_empty() {
            mail_from.push(' ');
            mail_from.push_str(&t.from_params);
        }
        let info = TransactionInfo {
            hostname: self.settings.hostname.clone(),
            mail_from,
            peer_ip: self.peer.ip,
            helo: self.helo.clone(),
            session_id: t.id.clone(),
        };
        let shown = address.encode();
        let index = t.recipients.len();
        let (reply, accepted) = self
            .proxy
            .rcpt(target, &info, index, &shown, params, &session_id);
        if accepted {
            let rcpt = Recipient {
                address,
                orcpt,
                user,
                detail,
                session_id,
            };
            t.recipients.push((rcpt, Route::Proxied));
        }
        self.line(&reply)
    }

    fn line(&mut self, text: &str) -> Result<(), End> {
        self.writer
            .write_line(text.as_bytes())
            .map_err(|e| write_failed(&e))
    }

    fn flush(&mut self) -> Result<(), End> {
        self.writer.flush().map_err(|e| write_failed(&e))
    }
}

/// RCPT TO's parameters: `ORCPT=` (RFC 3461, the original recipient); anything else is
/// unsupported. `Err` is the reply.
fn rcpt_parameters(params: &[u8]) -> Result<Option<Address>, String> {
    let mut orcpt = None;
    let mut seen = false;
    for word in String::from_utf8_lossy(params)
        .split(' ')
        .filter(|w| !w.is_empty())
    {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word, None),
        };
        if !key.eq_ignore_ascii_case("ORCPT") {
            return Err("555 5.5.4 Unsupported parameters".into());
        }
        if seen {
            return Err("501 5.5.4 Duplicate ORCPT= parameter".into());
        }
        seen = true;
        let Some(value) = value else {
            return Err("501 5.5.4 Missing ORCPT= parameter value".into());
        };
        orcpt = parse_orcpt(value).map_err(|e| format!("501 5.5.4 {e}"))?;
    }
    Ok(orcpt)
}

fn read_failed(e: LineError) -> End {
    match e {
        LineError::Eof { .. } => End::Closed,
        LineError::Timeout => End::Timeout,
        e => End::Failed(e.to_string()),
    }
}

/// `rest` after a case-insensitive `keyword` (`FROM:`, `TO:`).
fn strip_keyword<'b>(rest: &'b [u8], keyword: &[u8]) -> Option<&'b [u8]> {
    let head = rest.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &rest[keyword.len()..])
}

fn write_failed(e: &io::Error) -> End {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        return End::Timeout;
    }
    End::Failed(format!(
        "write failed: {}",
        crate::errtext::os_error_text(e)
    ))
}

#[cfg(test)]
mod tests;
