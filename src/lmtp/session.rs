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
use super::data::{read_chunk, read_dot_data, Refusal, WRITE_FAILED};
use super::message::{added_headers, DeliveryHeaders, HdrDeliveryAddress};

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

/// The transaction in progress (MAIL FROM .. DATA or the last BDAT).
struct Transaction<C> {
    id: String,
    /// `None`: the null path.
    from: Option<Address>,
    /// Each recipient with its claim (dropped once it was delivered to).
    recipients: Vec<(Recipient, Option<C>)>,
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

/// A fresh transaction or session id: 16 random bytes in base64 without padding (22
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

    fn reset(&mut self) {
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
            id: new_id(),
            from,
            recipients: Vec::new(),
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
        let (address, orcpt) = match parse_path(arg, false) {
            Ok((Some(a), params)) => {
                if !params.is_empty() && params[0] != b' ' {
                    return self.line("501 5.5.4 Invalid TO: Invalid character in path");
                }
                match rcpt_parameters(params) {
                    Ok(orcpt) => (a, orcpt),
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
        };
        if let Some(t) = self.transaction.as_mut() {
            let rcpt = Recipient {
                address,
                orcpt,
                user,
                detail,
                session_id,
            };
            t.recipients.push((rcpt, Some(claim)));
        }
        self.line("250 2.1.5 OK")
    }

    fn data(&mut self, rest: &[u8]) -> Result<(), End> {
        if !rest.is_empty() {
            return self.line("501 5.5.4 Invalid parameters");
        }
        if self.chunk_failed {
            return self.line("503 5.5.0 Previous data chunk failed, issue RSET first");
        }
        let Some(mut transaction) = self.transaction.take() else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        if transaction.chunks.is_some() {
            self.transaction = Some(transaction);
            return self.line("503 5.5.0 Bad sequence of commands");
        }
        if transaction.recipients.is_empty() {
            self.transaction = Some(transaction);
            return self.line("503 5.5.0 No valid recipients");
        }
        self.line("354 OK")?;
        self.flush()?;
        let mut buffer = self.new_message(&transaction);
        let refused = match buffer.as_mut() {
            Ok(b) => read_dot_data(&mut self.reader, Some(b), MAX_MESSAGE_SIZE),
            Err(()) => read_dot_data(&mut self.reader, None, MAX_MESSAGE_SIZE)
                .map(|r| r.or(Some(WRITE_FAILED))),
        }
        .map_err(read_failed)?;
        self.finish_message(&mut transaction, buffer, refused)
    }

    /// BDAT (RFC 3030): `BDAT <size> [LAST]`, then exactly `size` bytes, taken as they are.
    /// A chunk's bytes are read even when the command is refused; once a chunk failed, BDAT
    /// and DATA are refused until RSET, as Dovecot does.
    fn bdat(&mut self, rest: &[u8]) -> Result<(), End> {
        let text = String::from_utf8_lossy(rest);
        let mut words = text.split(' ');
        let size = words
            .next()
            .filter(|w| !w.is_empty() && w.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|w| w.parse::<u64>().ok());
        let Some(size) = size else {
            return self.line("501 5.5.4 Invalid chunk size parameter");
        };
        let last = match words.next() {
            None => false,
            Some(w) if w.eq_ignore_ascii_case("LAST") => true,
            Some(_) => {
                self.skip_chunk(size)?;
                self.chunk_failed = true;
                return self.line("501 5.5.4 Invalid parameters");
            }
        };
        if words.next().is_some() {
            self.skip_chunk(size)?;
            self.chunk_failed = true;
            return self.line("501 5.5.4 Invalid parameters");
        }
        let refusal = if self.chunk_failed {
            Some("503 5.5.0 Previous data chunk failed, issue RSET first")
        } else {
            match &self.transaction {
                None => Some("503 5.5.0 MAIL needed first"),
                Some(t) if t.recipients.is_empty() => Some("503 5.5.0 No valid recipients"),
                Some(_) => None,
            }
        };
        if let Some(reply) = refusal {
            self.skip_chunk(size)?;
            self.chunk_failed = true;
            return self.line(reply);
        }
        let Some(mut transaction) = self.transaction.take() else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        if transaction.chunks.is_none() {
            match self.new_message(&transaction) {
                Ok(buffer) => transaction.chunks = Some(buffer),
                Err(()) => {
                    self.transaction = Some(transaction);
                    self.skip_chunk(size)?;
                    self.chunk_failed = true;
                    return self.line("451 4.3.0 Temporary internal failure");
                }
            }
        }
        let refused = read_chunk(
            &mut self.reader,
            size,
            transaction.chunks.as_mut(),
            MAX_MESSAGE_SIZE,
        )
        .map_err(read_failed)?;
        if !last {
            self.transaction = Some(transaction);
            if let Some(r) = refused {
                self.chunk_failed = true;
                return self.line(&format!("{} {}", r.code, r.text));
            }
            return self.line(&format!("250 2.0.0 Added {size} octets"));
        }
        let buffer = transaction.chunks.take().ok_or(());
        self.finish_message(&mut transaction, buffer, refused)
    }

    fn skip_chunk(&mut self, size: u64) -> Result<(), End> {
        read_chunk(&mut self.reader, size, None, MAX_MESSAGE_SIZE)
            .map(|_| ())
            .map_err(read_failed)
    }

    /// A buffer for the transaction's message with the added headers written first (they are
    /// the same for every recipient: `Delivered-To` only appears with a single one).
    /// `Err(())`: the spool failed (logged).
    fn new_message(&mut self, transaction: &Transaction<D::Claim>) -> Result<MessageBuffer, ()> {
        let single = match transaction.recipients.as_slice() {
            [(rcpt, _)] => Some(rcpt),
            _ => None,
        };
        let tls = self.tls.description();
        let headers = added_headers(&DeliveryHeaders {
            from: transaction.from.as_ref(),
            rcpt: single.map(|r| &r.address),
            orcpt: single.and_then(|r| r.orcpt.as_ref()),
            hdr_delivery_address: self.settings.lmtp_hdr_delivery_address,
            received: self.settings.lmtp_add_received_header,
            helo: self.helo.as_deref(),
            peer_ip: self.peer.ip,
            tls: tls.as_deref(),
            hostname: &self.settings.hostname,
            id: &transaction.id,
            time: crate::imap::localtime::now(),
        });
        let mut buffer = self.deliverer.message_buffer();
        match buffer.write(headers.as_bytes()) {
            Ok(()) => Ok(buffer),
            Err(e) => {
                log::error!("{e}");
                Err(())
            }
        }
    }

    /// The end of the message (DATA's dot, the last BDAT): delivered to each recipient, or
    /// refused for all of them; the transaction is over either way.
    fn finish_message(
        &mut self,
        transaction: &mut Transaction<D::Claim>,
        buffer: Result<MessageBuffer, ()>,
        refused: Option<Refusal>,
    ) -> Result<(), End> {
        self.rcpt_seq = 0;
        let message = match (buffer, refused) {
            (Ok(buffer), None) => buffer.finish().map_err(|e| log::error!("{e}")),
            _ => Err(()),
        };
        let message = match message {
            Ok(m) => m,
            Err(()) => {
                let r = refused.unwrap_or(WRITE_FAILED);
                for (rcpt, _) in &transaction.recipients {
                    let line = format!("{} <{}> {}", r.code, rcpt.address.encode(), r.text);
                    self.line(&line)?;
                }
                return Ok(());
            }
        };
        self.deliver_all(transaction, &message)
    }

    /// Delivers to every recipient in order, each answered as soon as it is done (and its
    /// claim released); a recipient given twice gets the first delivery's answer.
    fn deliver_all(
        &mut self,
        transaction: &mut Transaction<D::Claim>,
        message: &[u8],
    ) -> Result<(), End> {
        let mut done: Vec<(String, String, String)> = Vec::new();
        for (rcpt, claim) in &mut transaction.recipients {
            let first = done
                .iter()
                .find(|(user, detail, _)| *user == rcpt.user && *detail == rcpt.detail);
            if let Some((_, _, reply)) = first {
                let reply = reply.clone();
                *claim = None;
                self.line(&reply)?;
                continue;
            }
            let shown = rcpt.address.encode();
            let reply = match self.deliverer.deliver(rcpt, message) {
                Delivered::Saved => format!("250 2.0.0 <{shown}> {} Saved", rcpt.session_id),
                Delivered::TempFail { text, internal } => {
                    let code = if internal { "451 4.3.0" } else { "451 4.2.0" };
                    format!("{code} <{shown}> {text}")
                }
                Delivered::OverQuota { text, temporary } => {
                    let code = if temporary { "452 4.2.2" } else { "552 5.2.2" };
                    format!("{code} <{shown}> {text}")
                }
                Delivered::Rejected(text) => format!("552 5.2.0 <{shown}> {text}"),
            };
            *claim = None;
            self.line(&reply)?;
            // Answered at once: the client sees each recipient's result as it happens.
            self.flush()?;
            done.push((rcpt.user.clone(), rcpt.detail.clone(), reply));
        }
        Ok(())
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
mod tests {
    use super::*;

    /// Knows alice and bob; bob's mailbox fails temporarily; `broken` makes lookups fail.
    #[derive(Default)]
    struct Fake {
        saved: Vec<(String, Vec<u8>)>,
    }

    impl Deliverer for Fake {
        type Claim = ();
        fn lookup(&mut self, user: &str) -> Lookup<()> {
            match user {
                "alice" | "bob" => Lookup::Found(()),
                "busy" => Lookup::TooManyDeliveries,
                "broken" => Lookup::TempFail,
                _ => Lookup::NotFound,
            }
        }
        fn message_buffer(&mut self) -> MessageBuffer {
            MessageBuffer::new(&std::env::temp_dir(), "lmtp")
        }
        fn deliver(&mut self, rcpt: &Recipient, message: &[u8]) -> Delivered {
            if rcpt.user == "bob" {
                return Delivered::TempFail {
                    text: "Mailbox is locked".into(),
                    internal: false,
                };
            }
            self.saved.push((rcpt.user.clone(), message.to_vec()));
            Delivered::Saved
        }
    }

    fn converse(input: &str, deliverer: &mut Fake) -> Vec<String> {
        let settings = LmtpSettings {
            hostname: "mx".into(),
            login_greeting: "ready.".into(),
            recipient_delimiter: "+".into(),
            lmtp_add_received_header: false,
            lmtp_hdr_delivery_address: HdrDeliveryAddress::Final,
            trusted_networks: Vec::new(),
        };
        let peer = Peer {
            ip: None,
            name: "local".into(),
        };
        let mut out = Vec::new();
        serve_lmtp(
            input.as_bytes(),
            &mut out,
            &settings,
            &peer,
            deliverer,
            &mut NoTls,
        );
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn one_reply_per_recipient_and_failures_stay_with_theirs() {
        let mut fake = Fake::default();
        let out = converse(
            "LHLO x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice+box>\r\nRCPT TO:<broken>\r\n\
             RCPT TO:<bob>\r\nRCPT TO:<carol>\r\nDATA\r\nSubject: t\r\n\r\n..a\r\n.\r\nQUIT\r\n",
            &mut fake,
        );
        assert_eq!(out[0], "220 mx ready.");
        assert_eq!(
            out[1..6],
            [
                "250-mx",
                "250-8BITMIME",
                "250-CHUNKING",
                "250-ENHANCEDSTATUSCODES",
                "250 PIPELINING"
            ]
        );
        assert_eq!(
            out[6..10],
            [
                "250 2.1.0 OK",
                "250 2.1.5 OK",
                "451 4.3.0 <broken> Temporary internal error",
                "250 2.1.5 OK",
            ]
        );
        assert_eq!(out[10], "550 5.1.1 <carol> User doesn't exist: carol");
        assert_eq!(out[11], "354 OK");
        assert!(
            out[12].starts_with("250 2.0.0 <alice+box> ") && out[12].ends_with(" Saved"),
            "{out:?}"
        );
        assert_eq!(out[13], "451 4.2.0 <bob> Mailbox is locked");
        assert_eq!(out[14], "221 2.0.0 Bye");
        assert_eq!(fake.saved.len(), 1);
        assert_eq!(fake.saved[0].0, "alice");
        assert_eq!(
            fake.saved[0].1,
            b"Return-Path: <s@x>\nSubject: t\n\n.a\n".to_vec()
        );
    }

    #[test]
    fn nothing_is_delivered_without_the_final_dot() {
        let mut fake = Fake::default();
        let out = converse(
            "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\nSubject: t\r\n\r\nhalf",
            &mut fake,
        );
        assert_eq!(out.last().map(String::as_str), Some("354 OK"));
        assert!(fake.saved.is_empty());
    }

    #[test]
    fn session_ids_count_every_rcpt() {
        let mut fake = Fake::default();
        let out = converse(
            "MAIL FROM:<>\r\nRCPT TO:<carol>\r\nRCPT TO:<alice>\r\nDATA\r\nx\r\n.\r\n",
            &mut fake,
        );
        assert!(out[5].contains(":R2 Saved"), "{out:?}");
    }

    #[test]
    fn bdat_chunks_make_one_message() {
        let mut fake = Fake::default();
        let out = converse(
            "MAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\nRCPT TO:<busy>\r\n\
             BDAT 12\r\nSubject: a\r\nBDAT 9 LAST\r\n\r\n.body\r\nDATA\r\n",
            &mut fake,
        );
        assert_eq!(
            out[3],
            "451 4.3.0 <busy> Too many concurrent deliveries for user"
        );
        assert_eq!(out[4], "250 2.0.0 Added 12 octets");
        assert!(out[5].starts_with("250 2.0.0 <alice> "), "{out:?}");
        assert_eq!(out[6], "503 5.5.0 MAIL needed first");
        assert_eq!(
            fake.saved[0].1,
            b"Return-Path: <s@x>\nDelivered-To: alice\nSubject: a\r\n\r\n.body\r\n".to_vec()
        );
    }

    #[test]
    fn a_failed_chunk_refuses_data_until_rset() {
        let mut fake = Fake::default();
        let out = converse(
            "BDAT 3\r\nMAIL FROM:<s@x>\r\nBDAT x\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice>\r\n\
             BDAT 1 LAST\r\nxDATA\r\nBDAT 2 LAST more\r\nabRSET\r\nMAIL FROM:<>\r\n\
             RCPT TO:<alice>\r\nBDAT 0 LAST\r\n",
            &mut fake,
        );
        assert_eq!(
            out[1..],
            [
                "503 5.5.0 MAIL needed first",
                "500 5.5.1 Unknown command",
                "501 5.5.4 Invalid chunk size parameter",
                "250 2.1.0 OK",
                "250 2.1.5 OK",
                "503 5.5.0 Previous data chunk failed, issue RSET first",
                "503 5.5.0 Previous data chunk failed, issue RSET first",
                "501 5.5.4 Invalid parameters",
                "250 2.0.0 OK",
                "250 2.1.0 OK",
                "250 2.1.5 OK",
                out[12].as_str(),
            ]
        );
        assert!(out[12].starts_with("250 2.0.0 <alice> "), "{out:?}");
        assert_eq!(fake.saved.len(), 1);
    }

    #[test]
    fn orcpt_parameters() {
        let mut fake = Fake::default();
        let out = converse(
            "MAIL FROM:<>\r\nRCPT TO:<alice> ORCPT=rfc822;a+40b\r\n\
             RCPT TO:<alice> ORCPT=rfc822;a ORCPT=rfc822;b\r\nRCPT TO:<alice> ORCPT\r\n\
             RCPT TO:<alice> NOTIFY=NEVER\r\n",
            &mut fake,
        );
        assert_eq!(
            out[1..],
            [
                "250 2.1.0 OK",
                "250 2.1.5 OK",
                "501 5.5.4 Duplicate ORCPT= parameter",
                "501 5.5.4 Missing ORCPT= parameter value",
                "555 5.5.4 Unsupported parameters",
            ]
        );
    }

    #[test]
    fn large_messages_are_spooled_and_arrive_whole() {
        let mut fake = Fake::default();
        let line = "x".repeat(999);
        let body: String = (0..300).map(|_| format!("{line}\r\n")).collect();
        let out = converse(
            &format!("MAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\n{body}.\r\n"),
            &mut fake,
        );
        assert!(out[4].starts_with("250 2.0.0 <alice> "), "{out:?}");
        let saved = &fake.saved[0].1;
        let headers = "Return-Path: <>\nDelivered-To: alice\n";
        assert_eq!(saved.len(), headers.len() + 300 * 1000);
        assert!(saved.ends_with(format!("{line}\n").as_bytes()));
    }
}
