//! One LMTP connection (RFC 2033), answering as Dovecot 2.3's lmtp does: the greeting, LHLO,
//! MAIL FROM, RCPT TO (each recipient looked up in the userdb at once), DATA with one reply
//! per recipient, RSET, NOOP, VRFY, QUIT. The recipients' storage is the [`Deliverer`]'s:
//! this module never touches files or processes.
//!
//! A recipient gets `250` only once the [`Deliverer`] says the message is durably saved; a
//! failure for one recipient is that recipient's `4xx`/`5xx`, the others still get theirs.

use std::io::{self, Read, Write};
use std::time::Duration;

use crate::net::conn::parse_ip;
use crate::net::{IpNetwork, LineError, LineReader, ResponseWriter};

use super::address::{parse_path, Address};
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
pub enum Lookup {
    Found,
    NotFound,
    /// The userdb could not be asked (logged by the deliverer).
    TempFail,
}

/// One recipient's delivery, as the deliverer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The path as given (`Delivered-To`, replies).
    pub address: Address,
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
    /// The userdb lookup of `user`.
    fn lookup(&mut self, user: &str) -> Lookup;
    /// Saves `message` (LF line ends, the added headers first) for `rcpt`; returns only when
    /// it is durable or failed.
    fn deliver(&mut self, rcpt: &Recipient, message: &[u8]) -> Delivered;
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

/// The transaction in progress (MAIL FROM .. DATA).
struct Transaction {
    id: String,
    /// `None`: the null path.
    from: Option<Address>,
    recipients: Vec<Recipient>,
}

struct Session<'a, R: Read, W: Write, D: Deliverer> {
    reader: LineReader<R>,
    writer: ResponseWriter<W>,
    settings: &'a LmtpSettings,
    /// The client; a trusted proxy may change the address with XCLIENT.
    peer: Peer,
    /// The connection's own peer may send XCLIENT.
    trusted: bool,
    deliverer: &'a mut D,
    helo: Option<String>,
    transaction: Option<Transaction>,
    /// RCPT commands of this transaction so far (every one, for the session ids).
    rcpt_seq: u32,
}

/// Serves one LMTP client until QUIT or disconnection; logs Dovecot's `Connect from` and
/// `Disconnect from` lines.
pub fn serve_lmtp<R: Read, W: Write, D: Deliverer>(
    reader: R,
    writer: W,
    settings: &LmtpSettings,
    peer: &Peer,
    deliverer: &mut D,
) {
    log::info!("Connect from {}", peer.name);
    let trusted = peer
        .ip
        .is_some_and(|ip| settings.trusted_networks.iter().any(|net| net.contains(ip)));
    let mut session = Session {
        reader: LineReader::new(reader, MAX_LINE),
        writer: ResponseWriter::new(writer, OUTPUT_FLUSH_AT),
        settings,
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
    }

    fn lhlo(&mut self, rest: &[u8]) -> Result<(), End> {
        let domain = String::from_utf8_lossy(rest).trim().to_string();
        if domain.is_empty() {
            return self.line("501 Missing hostname");
        }
        self.reset();
        self.helo = Some(domain);
        let mut text = format!(
            "250-{}\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250",
            self.settings.hostname
        );
        if self.trusted {
            text.push_str(
                "-PIPELINING\r\n250 XCLIENT ADDR PORT PROTO HELO LOGIN SESSION TTL TIMEOUT",
            );
        } else {
            text.push_str(" PIPELINING");
        }
        self.line(&text)
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
            let known = key == "BODY"
                && (value.eq_ignore_ascii_case("7BIT") || value.eq_ignore_ascii_case("8BITMIME"));
            if !known {
                return self.line("555 5.5.4 Unsupported parameters");
            }
        }
        self.transaction = Some(Transaction {
            id: new_id(),
            from,
            recipients: Vec::new(),
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
        let address = match parse_path(arg, false) {
            Ok((Some(a), params)) => {
                if !params.is_empty() && params[0] != b' ' {
                    return self.line("501 5.5.4 Invalid TO: Invalid character in path");
                }
                if !parameters(params).is_empty() {
                    return self.line("555 5.5.4 Unsupported parameters");
                }
                a
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
        match self.deliverer.lookup(&user) {
            Lookup::Found => {}
            Lookup::NotFound => {
                return self.line(&format!("550 5.1.1 <{shown}> User doesn't exist: {user}"))
            }
            Lookup::TempFail => {
                return self.line(&format!("451 4.3.0 <{shown}> Temporary internal error"))
            }
        }
        if let Some(t) = self.transaction.as_mut() {
            t.recipients.push(Recipient {
                address,
                user,
                detail,
                session_id,
            });
        }
        self.line("250 2.1.5 OK")
    }

    fn data(&mut self, rest: &[u8]) -> Result<(), End> {
        if !rest.is_empty() {
            return self.line("501 5.5.4 Invalid parameters");
        }
        let Some(transaction) = self.transaction.take() else {
            return self.line("503 5.5.0 MAIL needed first");
        };
        if transaction.recipients.is_empty() {
            self.transaction = Some(transaction);
            return self.line("503 5.5.0 No valid recipients");
        }
        self.line("354 OK")?;
        self.flush()?;
        let body = self.read_data()?;
        let body = match body {
            Ok(b) => b,
            Err((code, text)) => {
                for rcpt in &transaction.recipients {
                    let line = format!("{code} <{}> {text}", rcpt.address.encode());
                    self.line(&line)?;
                }
                self.rcpt_seq = 0;
                return Ok(());
            }
        };
        self.deliver_all(&transaction, &body)?;
        self.rcpt_seq = 0;
        Ok(())
    }

    /// The message up to the lone `.` line, dot-unstuffed, with LF line ends. `Ok(Err(reply))`
    /// when it can't be accepted (too large, a line too long): the data was read to its end.
    fn read_data(&mut self) -> Result<Result<Vec<u8>, (&'static str, &'static str)>, End> {
        let mut body = Vec::new();
        let mut refused = None;
        loop {
            let line = match self.reader.read_line() {
                Ok(Some(line)) => line,
                Ok(None) | Err(LineError::Eof { .. }) => return Err(End::Closed),
                Err(LineError::TooLong { .. }) => {
                    refused = Some(("552 5.3.4", "Line too long"));
                    continue;
                }
                Err(LineError::Timeout) => return Err(End::Timeout),
                Err(e @ LineError::Io { .. }) => return Err(End::Failed(e.to_string())),
            };
            if line == b"." {
                break;
            }
            if refused.is_some() {
                continue;
            }
            let line = line.strip_prefix(b".").unwrap_or(line);
            if body.len() + line.len() + 1 > MAX_MESSAGE_SIZE {
                refused = Some(("552 5.3.4", "Message too big for system"));
                body = Vec::new();
                continue;
            }
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        Ok(match refused {
            Some(text) => Err(text),
            None => Ok(body),
        })
    }

    /// Delivers to every recipient in order, each answered as soon as it is done; a
    /// recipient given twice gets the first delivery's answer.
    fn deliver_all(&mut self, transaction: &Transaction, body: &[u8]) -> Result<(), End> {
        let single = transaction.recipients.len() == 1;
        let mut done: Vec<(&str, &str, String)> = Vec::new();
        for rcpt in &transaction.recipients {
            let first = done
                .iter()
                .find(|(user, detail, _)| *user == rcpt.user && *detail == rcpt.detail);
            if let Some((_, _, reply)) = first {
                let reply = reply.clone();
                self.line(&reply)?;
                continue;
            }
            let headers = added_headers(&DeliveryHeaders {
                from: transaction.from.as_ref(),
                rcpt: single.then_some(&rcpt.address),
                hdr_delivery_address: self.settings.lmtp_hdr_delivery_address,
                received: self.settings.lmtp_add_received_header,
                helo: self.helo.as_deref(),
                peer_ip: self.peer.ip,
                hostname: &self.settings.hostname,
                id: &transaction.id,
                time: crate::imap::localtime::now(),
            });
            let mut message = headers.into_bytes();
            message.extend_from_slice(body);
            let shown = rcpt.address.encode();
            let reply = match self.deliverer.deliver(rcpt, &message) {
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
            self.line(&reply)?;
            // Answered at once: the client sees each recipient's result as it happens.
            self.flush()?;
            done.push((&rcpt.user, &rcpt.detail, reply));
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
        fn lookup(&mut self, user: &str) -> Lookup {
            match user {
                "alice" | "bob" => Lookup::Found,
                "broken" => Lookup::TempFail,
                _ => Lookup::NotFound,
            }
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
        serve_lmtp(input.as_bytes(), &mut out, &settings, &peer, deliverer);
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
            out[5..9],
            [
                "250 2.1.0 OK",
                "250 2.1.5 OK",
                "451 4.3.0 <broken> Temporary internal error",
                "250 2.1.5 OK",
            ]
        );
        assert_eq!(out[9], "550 5.1.1 <carol> User doesn't exist: carol");
        assert_eq!(out[10], "354 OK");
        assert!(
            out[11].starts_with("250 2.0.0 <alice+box> ") && out[11].ends_with(" Saved"),
            "{out:?}"
        );
        assert_eq!(out[12], "451 4.2.0 <bob> Mailbox is locked");
        assert_eq!(out[13], "221 2.0.0 Bye");
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
}
