//! The POP3 session after login, answering as Dovecot 2.3's pop3 process does: the
//! TRANSACTION state (STAT, LIST, RETR, DELE, RSET, NOOP, TOP, UIDL, LAST when enabled, CAPA)
//! over the user's INBOX ([`Maildrop`]), and the UPDATE state at QUIT. The process has
//! already become the user when this runs (see `master::mail_login`).

use std::cell::Cell;
use std::io::{self, ErrorKind as IoErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::config::var_expand::{self, Layered, Vars};
use crate::config::Settings;
use crate::net::counted::{Counted, Prefixed};
use crate::net::quickack::QuickAck;
use crate::net::{LineError, LineReader, ResponseWriter, SocketTimeouts};
use crate::storage::error::{ErrorKind, StorageError};
use crate::storage::session_lock::{Pop3SessionLock, STALE};
use crate::storage::user::{MailUser, MailUserInfo};

use super::login::CAPABILITY_LINES;
use super::maildrop::{Maildrop, MsgNum, MsgnumError};
use super::message_reply::{message_reply, Extent};
use super::settings::{Pop3Settings, UidlDuplicates};
use super::uidl::{DuplicateRenamer, UidlError};

/// Dovecot's autologout for an idle client (`CLIENT_IDLE_TIMEOUT_MSECS`).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// The input buffer (`MAX_INBUF_SIZE`): a command line and its CRLF must fit.
const MAX_LINE: usize = 2048 - 2;
/// Bad commands in a row before the session ends (more than this: `CLIENT_MAX_BAD_COMMANDS`).
const MAX_BAD_COMMANDS: u32 = 20;
const OUTPUT_FLUSH_AT: usize = 64 * 1024;
/// Dovecot's answer when the user's storage can't be set up (`MAIL_ERRSTR_CRITICAL_MSG`).
pub const INTERNAL_ERROR: &str =
    "-ERR [SYS/TEMP] Internal error occurred. Refer to server log for more information.";

/// Why the session ended: the reason in Dovecot's `Disconnected:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    LoggedOut,
    Closed,
    Inactivity,
    TooManyBad,
    LineTooLong,
    /// A storage failure (answered, logged): the text for the log line.
    Storage(&'static str),
    Failed(String),
    /// The process was told to terminate (SIGTERM: `coteadm kick`, shutdown).
    Shutdown,
}

impl End {
    fn reason(&self) -> String {
        match self {
            End::LoggedOut => "Logged out".into(),
            End::Closed => "Connection closed".into(),
            End::Inactivity => format!("Inactivity - no input for {} secs", IDLE_TIMEOUT.as_secs()),
            End::TooManyBad => "Too many bad commands.".into(),
            End::LineTooLong => "Input line too long".into(),
            End::Storage(text) => (*text).into(),
            End::Failed(e) => format!("Connection closed: {e}"),
            End::Shutdown => "Server shutting down.".into(),
        }
    }
}

/// What a command did: `Err` ends the session; `Ok(false)` counts as a bad command.
type Step = Result<bool, End>;

/// The counters of `pop3_logout_format`.
#[derive(Debug, Default)]
struct Stats {
    top_count: u64,
    top_bytes: u64,
    retr_count: u64,
    retr_bytes: u64,
    /// The deletes were done (QUIT succeeded): `%d` counts them only then.
    delete_success: bool,
}

type Reader<S> = LineReader<Counted<Prefixed<QuickAck<S>>>>;
type Writer<S> = ResponseWriter<Counted<S>>;

struct Session<'a, S: Read + Write + AsFd> {
    /// `pop3_lock_session`: held until the session ends, touched as commands come.
    session_lock: Option<Pop3SessionLock>,
    lock_touched: Instant,
    reader: Reader<S>,
    writer: Writer<S>,
    settings: &'a Pop3Settings,
    maildrop: Maildrop,
    /// Every message's UIDL, computed at the first UIDL (`None`: expunged meanwhile).
    uidls: Option<Vec<Option<String>>>,
    /// The highest message number a RETR/TOP found expunged: asking again is a bad command.
    highest_expunged_fetch: Option<u32>,
    /// The lowest message number RETRieved (for `%u` of the logout format).
    lowest_retr: Option<u32>,
    bad_commands: u32,
    stats: Stats,
}

/// Serves a logged-in client: `reader` and `writer` are the two directions of its socket,
/// `input` what it had sent before the hand-off. Answers `+OK Logged in.`, opens the INBOX,
/// and serves commands until QUIT or disconnection; logs Dovecot's `Disconnected:` line with
/// `pop3_logout_format` expanded (`vars`: the user's mail variables).
pub fn serve_session<S: Read + Write + SocketTimeouts + AsFd>(
    reader: S,
    writer: S,
    input: Vec<u8>,
    user: MailUserInfo,
    config: &Settings,
    settings: &Pop3Settings,
    vars: &Vars,
) {
    let _ = reader.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = writer.set_write_timeout(Some(IDLE_TIMEOUT));
    let bytes_in = Rc::new(Cell::new(0));
    let bytes_out = Rc::new(Cell::new(0));
    let mut writer =
        ResponseWriter::new(Counted::new(writer, Rc::clone(&bytes_out)), OUTPUT_FLUSH_AT);
    // Dovecot sets up the user's namespaces after `+OK Logged in.` unless it must lock the
    // session first (RFC 1939: the lock comes before the positive answer).
    let logged_in = |writer: &mut Writer<S>| {
        writer
            .write_line(b"+OK Logged in.")
            .and_then(|()| writer.flush())
            .is_ok()
    };
    if !settings.lock_session && !logged_in(&mut writer) {
        return;
    }
    let mut user = match MailUser::new(config, user) {
        Ok(u) => u,
        Err(e) => {
            if settings.lock_session {
                let _ = writer.write_line(INTERNAL_ERROR.as_bytes());
                let _ = writer.flush();
            }
            let detail = e.internal().unwrap_or(e.client_text()).to_string();
            log::error!("{detail}");
            log::info!("Disconnected: {detail}");
            return;
        }
    };
    let session_lock = if settings.lock_session {
        let refused = match user.lock_pop3_session() {
            Ok(Some(lock)) => Ok(lock),
            Ok(None) => Err("-ERR [IN-USE] Mailbox is locked by another POP3 session."),
            Err(e) => {
                log::error!("{}", e.internal().unwrap_or(e.client_text()));
                Err("-ERR [SYS/TEMP] Failed to create POP3 session lock.")
            }
        };
        match refused {
            Ok(lock) if logged_in(&mut writer) => Some(lock),
            Ok(_) => return,
            Err(text) => {
                let _ = writer.write_line(text.as_bytes());
                let _ = writer.flush();
                log::info!("Disconnected: Couldn't lock POP3 session");
                return;
            }
        }
    } else {
        None
    };
    let maildrop = match Maildrop::open(&mut user, settings) {
        Ok(m) => m,
        Err(e) => {
            let e = e.log_once();
            let _ = writer.write_line(storage_error_line(&e).as_bytes());
            let _ = writer.flush();
            let detail = e.internal().unwrap_or(e.client_text()).to_string();
            log::error!("Couldn't init INBOX: {detail}");
            log::info!("Disconnected: Couldn't init INBOX: {detail}");
            return;
        }
    };
    let mut session = Session {
        session_lock,
        lock_touched: Instant::now(),
        reader: LineReader::new(
            Counted::new(
                Prefixed::new(input, QuickAck::new(reader)),
                Rc::clone(&bytes_in),
            ),
            MAX_LINE,
        ),
        writer,
        settings,
        maildrop,
        uidls: None,
        highest_expunged_fetch: None,
        lowest_retr: None,
        bad_commands: 0,
        stats: Stats::default(),
    };
    let end = session.run();
    if end != End::LoggedOut && session.maildrop.has_seen_changes() {
        if let Err(e) = session.maildrop.save_seen() {
            log::error!(
                "Storing \\Seen flags failed: {}",
                e.internal().unwrap_or(e.client_text())
            );
        }
    }
    let stats = session.logout_stats(vars, bytes_in.get(), bytes_out.get());
    log::info!("Disconnected: {} {stats}", end.reason());
}

/// Dovecot's `client_send_storage_error`.
fn storage_error_line(e: &StorageError) -> String {
    match e.kind() {
        ErrorKind::Temp | ErrorKind::NoQuota | ErrorKind::InUse | ErrorKind::Unavailable => {
            format!("-ERR [SYS/TEMP] {}", e.client_text())
        }
        _ => format!("-ERR [SYS/PERM] {}", e.client_text()),
    }
}

/// Splits `NAME args`: the name up to the first space, upper-cased; spaces before the
/// arguments skipped.
fn split_command(line: &[u8]) -> (String, &[u8]) {
    let (name, args) = match line.iter().position(|&b| b == b' ') {
        Some(at) => (&line[..at], &line[at + 1..]),
        None => (line, &line[line.len()..]),
    };
    let start = args.iter().position(|&b| b != b' ').unwrap_or(args.len());
    (
        String::from_utf8_lossy(name).to_ascii_uppercase(),
        &args[start..],
    )
}

/// A number as Dovecot's `str_parse_*` reads it: digits, then the rest; `None` when it
/// does not fit 64 bits (Dovecot then names the whole argument in its error).
fn parse_number(args: &[u8]) -> Option<(u64, &[u8])> {
    let digits = args.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut n: u64 = 0;
    for &d in &args[..digits] {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some((n, &args[digits..]))
}

impl<S: Read + Write + AsFd> Session<'_, S> {
    fn run(&mut self) -> End {
        loop {
            if !self.reader.has_buffered_line() {
                if let Err(end) = self.flush() {
                    return end;
                }
            }
            let line = match self.reader.read_line() {
                Ok(Some(line)) => line.to_vec(),
                // SIGTERM ends the client's input: Dovecot's words at shutdown.
                Ok(None) | Err(LineError::Eof { .. } | LineError::Io { .. })
                    if crate::master::terminate::killed() =>
                {
                    self.last_word("-ERR [SYS/TEMP] Server shutting down.");
                    return End::Shutdown;
                }
                Ok(None) | Err(LineError::Eof { .. }) => return End::Closed,
                Err(LineError::TooLong { .. }) => {
                    self.last_word("-ERR Input line too long.");
                    return End::LineTooLong;
                }
                Err(LineError::Timeout) => {
                    self.last_word("-ERR Disconnected for inactivity.");
                    return End::Inactivity;
                }
                Err(e @ LineError::Io { .. }) => return End::Failed(e.to_string()),
            };
            match self.command(&line) {
                Ok(true) => self.bad_commands = 0,
                Ok(false) => {
                    self.bad_commands += 1;
                    if self.bad_commands > MAX_BAD_COMMANDS {
                        self.last_word("-ERR Too many bad commands.");
                        return End::TooManyBad;
                    }
                }
                Err(end) => {
                    let _ = self.flush();
                    return end;
                }
            }
        }
    }

    fn command(&mut self, line: &[u8]) -> Step {
        self.refresh_lock()?;
        let (name, args) = split_command(line);
        match name.as_str() {
            "" => self.err("Unknown command."),
            "CAPA" => self.capa(),
            "DELE" => self.dele(args),
            "LIST" => self.list(args),
            "LAST" if self.settings.enable_last => {
                self.line(&format!("+OK {}", self.maildrop.last_seen()))
            }
            "NOOP" => self.line("+OK"),
            "QUIT" => self.quit(),
            "RETR" => self.retr(args),
            "RSET" => self.rset(),
            "STAT" => self.line(&format!(
                "+OK {} {}",
                self.maildrop.count() - self.maildrop.deleted_count(),
                self.maildrop.total_size() - self.maildrop.deleted_size()
            )),
            "TOP" => self.top(args),
            "UIDL" => self.uidl(args),
            _ => self.err(&format!("Unknown command: {name}")),
        }
    }

    /// Keeps the session lock from looking stale (at most every half the stale time).
    fn refresh_lock(&mut self) -> Result<(), End> {
        let Some(lock) = self.session_lock.as_mut() else {
            return Ok(());
        };
        if self.lock_touched.elapsed() < STALE / 2 {
            return Ok(());
        }
        if let Err(e) = lock.refresh() {
            log::error!("{}", e.internal().unwrap_or(e.client_text()));
            self.last_word("-ERR [SYS/TEMP] Couldn't update POP3 session lock.");
            return Err(End::Storage("Couldn't lock POP3 session"));
        }
        self.lock_touched = Instant::now();
        Ok(())
    }

    fn capa(&mut self) -> Step {
        let mut text = String::from("+OK\r\n");
        for cap in CAPABILITY_LINES {
            text.push_str(cap);
            text.push_str("\r\n");
        }
        text.push('.');
        self.line(&text)
    }

    /// A message number argument (Dovecot's `get_msgnum`): `Ok(Some((n, rest)))`, or the
    /// error already answered. `then_space`: more arguments follow.
    fn msgnum<'b>(
        &mut self,
        args: &'b [u8],
        then_space: bool,
    ) -> Result<Option<(MsgNum, &'b [u8])>, End> {
        let shown = String::from_utf8_lossy(args).into_owned();
        if !args.first().is_some_and(u8::is_ascii_digit) {
            self.err(&format!("Invalid message number: {shown}"))?;
            return Ok(None);
        }
        let Some((n, rest)) = parse_number(args) else {
            self.err(&format!("Message number too large: {shown}"))?;
            return Ok(None);
        };
        if n > u64::from(u32::MAX) {
            let rest = String::from_utf8_lossy(rest).into_owned();
            self.err(&format!("Message number too large: {rest}"))?;
            return Ok(None);
        }
        let expected = if then_space { Some(&b' ') } else { None };
        if rest.first() != expected {
            let rest = String::from_utf8_lossy(rest).into_owned();
            self.err(&format!("Noise after message number: {rest}"))?;
            return Ok(None);
        }
        let n = match self.maildrop.check(n as u32) {
            Ok(n) => n,
            Err(MsgnumError::NoSuchMessage(n)) => {
                self.err(&format!("There's no message {n}."))?;
                return Ok(None);
            }
            Err(MsgnumError::Deleted) => {
                self.err("Message is deleted.")?;
                return Ok(None);
            }
        };
        let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
        Ok(Some((n, &rest[start..])))
    }

    fn dele(&mut self, args: &[u8]) -> Step {
        let Some((n, _)) = self.msgnum(args, false)? else {
            return Ok(false);
        };
        self.maildrop.delete(n);
        self.line("+OK Marked to be deleted.")
    }

    fn list(&mut self, args: &[u8]) -> Step {
        if args.is_empty() {
            let mut text = format!(
                "+OK {} messages:",
                self.maildrop.count() - self.maildrop.deleted_count()
            );
            let lines: Vec<(u32, u64)> = self.maildrop.listing().collect();
            for (n, size) in lines {
                text.push_str(&format!("\r\n{n} {size}"));
            }
            text.push_str("\r\n.");
            return self.line(&text);
        }
        let Some((n, _)) = self.msgnum(args, false)? else {
            return Ok(false);
        };
        let size = self.maildrop.size(n);
        self.line(&format!("+OK {n} {size}"))
    }

    fn retr(&mut self, args: &[u8]) -> Step {
        let Some((n, _)) = self.msgnum(args, false)? else {
            return Ok(false);
        };
        if self.lowest_retr.is_none_or(|low| n.get() < low) {
            self.lowest_retr = Some(n.get());
        }
        self.stats.retr_count += 1;
        self.fetch(n, Extent::Whole)
    }

    fn top(&mut self, args: &[u8]) -> Step {
        let Some((n, rest)) = self.msgnum(args, true)? else {
            return Ok(false);
        };
        let shown = String::from_utf8_lossy(rest).into_owned();
        if !rest.first().is_some_and(u8::is_ascii_digit) {
            return self.err(&format!("Invalid size: {shown}"));
        }
        let Some((lines, after)) = parse_number(rest) else {
            return self.err(&format!("Size too large: {shown}"));
        };
        if !after.is_empty() {
            let tail = String::from_utf8_lossy(after).into_owned();
            return self.err(&format!("Noise after size: {tail}"));
        }
        self.stats.top_count += 1;
        self.fetch(n, Extent::Top(lines))
    }

    /// RETR and TOP: the message, byte-stuffed with CRLF line ends.
    fn fetch(&mut self, n: MsgNum, extent: Extent) -> Step {
        let retrieved = extent == Extent::Whole;
        let body = self.maildrop.mail(n, retrieved).and_then(|mut mail| {
            let data = mail.raw()?;
            Ok(message_reply(data, extent, self.settings.workarounds))
        });
        let body = match body {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::Expunged => return self.expunged(n.get()),
            Err(e) => {
                self.line(&storage_error_line(&e.log_once()))?;
                return Ok(false);
            }
        };
        let first = if retrieved {
            format!("+OK {} octets", self.maildrop.size(n))
        } else {
            "+OK".to_string()
        };
        let counted = first.len() as u64 + 2 + body.len() as u64;
        if retrieved {
            self.stats.retr_bytes += counted;
        } else {
            self.stats.top_bytes += counted;
        }
        self.line(&first)?;
        self.write(&body)?;
        self.line(".")
    }

    /// A message another session expunged: answered; the second time for the same (or a
    /// lower) number it is a bad command, so a looping client is disconnected eventually.
    fn expunged(&mut self, n: u32) -> Step {
        self.line(&format!("-ERR Message {n} expunged."))?;
        if self.highest_expunged_fetch.is_some_and(|h| n <= h) {
            return Ok(false);
        }
        self.highest_expunged_fetch = Some(n);
        Ok(true)
    }

    fn rset(&mut self) -> Step {
        if let Err(e) = self.maildrop.reset(self.settings.enable_last) {
            // Dovecot ignores a failure to drop \Seen here too; the reset itself holds.
            log::error!(
                "RSET: removing \\Seen flags failed: {}",
                e.internal().unwrap_or(e.client_text())
            );
        }
        self.line("+OK")
    }

    fn quit(&mut self) -> Step {
        let deleted = self.maildrop.deleted_count() > 0;
        if let Err(e) = self.maildrop.update() {
            self.line(&storage_error_line(&e.log_once()))?;
            return Err(End::Storage("Storage error during logout."));
        }
        self.stats.delete_success = true;
        self.line(if deleted {
            "+OK Logging out, messages deleted."
        } else {
            "+OK Logging out."
        })?;
        Err(End::LoggedOut)
    }

    fn uidl(&mut self, args: &[u8]) -> Step {
        let single = if args.is_empty() {
            None
        } else {
            match self.msgnum(args, false)? {
                Some((n, _)) => Some(n),
                None => return Ok(false),
            }
        };
        if self.uidls.is_none() {
            match self.compute_uidls() {
                Ok(uidls) => self.uidls = Some(uidls),
                Err(e) => {
                    log::error!("{e}");
                    return Err(End::Storage("POP3 UIDLs couldn't be listed"));
                }
            }
        }
        let uidls = self.uidls.as_deref().unwrap_or_default();
        if let Some(n) = single {
            return match uidls.get(n.get() as usize - 1).cloned().flatten() {
                Some(uidl) => self.line(&format!("+OK {n} {uidl}")),
                None => self.expunged(n.get()),
            };
        }
        let mut text = String::from("+OK");
        for (n, _) in self.maildrop.listing() {
            if let Some(Some(uidl)) = uidls.get(n as usize - 1) {
                text.push_str(&format!("\r\n{n} {uidl}"));
            }
        }
        text.push_str("\r\n.");
        self.line(&text)
    }

    /// Every message's UIDL, in message-number order.
    fn compute_uidls(&mut self) -> Result<Vec<Option<String>>, UidlError> {
        let format = &self.settings.uidl_format;
        let uidvalidity = self.maildrop.uidvalidity();
        let mut renamer = (self.settings.uidl_duplicates == UidlDuplicates::Rename)
            .then(DuplicateRenamer::default);
        let mut uidls = Vec::with_capacity(self.maildrop.count() as usize);
        // `pop3_save_uidl`: the UIDLs the storage does not have yet, to be recorded.
        let mut to_save = Vec::new();
        let numbers: Vec<MsgNum> = self.maildrop.numbers().collect();
        for n in numbers {
            let mut mail = match self.maildrop.mail(n, false) {
                Ok(m) => m,
                Err(e) if e.kind() == ErrorKind::Expunged => {
                    uidls.push(None);
                    continue;
                }
                Err(e) => return Err(UidlError::Storage(e)),
            };
            let uidl = match format.uidl(uidvalidity, &mut mail, self.settings.reuse_xuidl) {
                Ok(u) => u,
                Err(UidlError::Storage(e)) if e.kind() == ErrorKind::Expunged => {
                    uidls.push(None);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let uidl = match &mut renamer {
                Some(r) => r.unique(uidl),
                None => uidl,
            };
            if self.settings.save_uidl && mail.pop3_uidl().is_none() {
                to_save.push((mail.uid, uidl.clone()));
            }
            uidls.push(Some(uidl));
        }
        if !to_save.is_empty() {
            // The UIDLs were computed and are answered either way; only their permanence
            // is lost when saving fails.
            if let Err(e) = self.maildrop.save_pop3_uidls(&to_save) {
                log::error!(
                    "Saving POP3 UIDLs failed: {}",
                    e.internal().unwrap_or(e.client_text())
                );
            }
        }
        Ok(uidls)
    }

    /// `-ERR text`, counted as a bad command.
    fn err(&mut self, text: &str) -> Step {
        self.line(&format!("-ERR {text}"))?;
        Ok(false)
    }

    fn line(&mut self, text: &str) -> Step {
        self.writer
            .write_line(text.as_bytes())
            .map_err(|e| write_failed(&e))?;
        Ok(true)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), End> {
        self.writer.write(data).map_err(|e| write_failed(&e))
    }

    fn flush(&mut self) -> Result<(), End> {
        self.writer.flush().map_err(|e| write_failed(&e))
    }

    /// A last line before disconnecting; a client that doesn't read it changes nothing.
    fn last_word(&mut self, text: &str) {
        let _ = self.writer.write_line(text.as_bytes());
        let _ = self.writer.flush();
    }

    /// `pop3_logout_format` expanded with this session's counters over the user's variables.
    fn logout_stats(&self, user_vars: &Vars, bytes_in: u64, bytes_out: u64) -> String {
        let format = &self.settings.logout_format;
        let m = &self.maildrop;
        let (deleted, deleted_bytes) = if self.stats.delete_success {
            (m.deleted_count(), m.deleted_size())
        } else {
            (0, 0)
        };
        let uidl_change = if var_expand::uses_var(format, b'u', "uidl_change") {
            self.uidl_change()
        } else {
            String::new()
        };
        let values = [
            (b'p', "top_bytes", self.stats.top_bytes.to_string()),
            (b't', "top_count", self.stats.top_count.to_string()),
            (b'b', "retr_bytes", self.stats.retr_bytes.to_string()),
            (b'r', "retr_count", self.stats.retr_count.to_string()),
            (b'd', "deleted_count", deleted.to_string()),
            (b'm', "message_count", m.count().to_string()),
            (b's', "message_bytes", m.total_size().to_string()),
            (b'i', "input", bytes_in.to_string()),
            (b'o', "output", bytes_out.to_string()),
            (b'u', "uidl_change", uidl_change),
        ];
        let mut vars = Vars::new();
        for (short, long, value) in &values {
            vars.set(Some(*short), Some(long), Some(value));
        }
        let deleted_bytes = deleted_bytes.to_string();
        vars.set(None, Some("deleted_bytes"), Some(&deleted_bytes));
        let table = Layered {
            first: &vars,
            then: user_vars,
        };
        var_expand::expand(format, &table).unwrap_or_else(|e| {
            log::error!("Failed to expand pop3_logout_format={format}: {e}");
            String::new()
        })
    }

    /// `%{uidl_change}`: the message count and a hash of the UIDLs the client probably had
    /// before and has after (Dovecot's `client_build_uidl_change_string`); empty when the
    /// client never asked for UIDLs.
    fn uidl_change(&self) -> String {
        let Some(uidls) = &self.uidls else {
            return String::new();
        };
        let numbers: Vec<MsgNum> = self.maildrop.numbers().collect();
        let hash = |keep: &dyn Fn(MsgNum) -> bool| {
            numbers
                .iter()
                .zip(uidls)
                .filter(|(n, _)| keep(**n))
                .fold(0u32, |h, (_, u)| {
                    h ^ crc32(u.as_deref().unwrap_or_default().as_bytes())
                })
        };
        let count = uidls.len();
        // Messages below the first one RETRieved were probably left by an earlier session.
        let old_count = self.lowest_retr.map_or(count, |low| low as usize - 1);
        let old_hash = hash(&|n| (n.get() as usize) <= old_count);
        let new_hash = hash(&|n| !self.maildrop.is_deleted(n));
        let new_count = count - self.maildrop.deleted_count() as usize;
        if old_hash == new_hash && old_count == new_count {
            format!("{old_count}/{old_hash:08x}")
        } else {
            format!("{old_count}/{old_hash:08x} -> {new_count}/{new_hash:08x}")
        }
    }
}

/// CRC-32 (IEEE 802.3, as zlib), Dovecot's `crc32_str`.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn write_failed(e: &io::Error) -> End {
    if matches!(e.kind(), IoErrorKind::WouldBlock | IoErrorKind::TimedOut) {
        return End::Inactivity;
    }
    End::Failed(format!(
        "write failed: {}",
        crate::errtext::os_error_text(e)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_split() {
        assert_eq!(split_command(b"list  2"), ("LIST".into(), &b"2"[..]));
        assert_eq!(split_command(b"STAT"), ("STAT".into(), &b""[..]));
        assert_eq!(
            split_command(b"CAPABILITY"),
            ("CAPABILITY".into(), &b""[..])
        );
        assert_eq!(split_command(b" x"), (String::new(), &b"x"[..]));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b"12 3"), Some((12, &b" 3"[..])));
        assert_eq!(parse_number(b"99999999999999999999999"), None);
    }

    #[test]
    fn crc32_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
