//! URLAUTH's commands (RFC 4467, with RFC 5524's extended URLFETCH) as Dovecot 2.3's imap
//! answers them (`cmd-genurlauth.c`, `cmd-resetkey.c`, `cmd-urlfetch.c`,
//! `imap-urlauth-fetch.c`). Keys and tokens: [`crate::imap::urlauth`]; keys live in the
//! mailbox attributes, reached through the session's attribute calls.
//!
//! - GENURLAUTH answers `* GENURLAUTH url...` for all its rump URLs, or the first one's
//!   error as `BAD Error in IMAP command GENURLAUTH: ...`. The mailbox gets a key on first
//!   use.
//! - RESETKEY with a mailbox removes its key (`OK [URLMECH INTERNAL] Key removed.`);
//!   without one, every mailbox's (`OK All keys removed.`).
//! - URLFETCH answers each URL in order: its data (`{n}`), or in the extended form
//!   `(BODYPARTSTRUCTURE (...) BODY {n})` / `BINARY [~]{n}`; a URL that fails is `NIL`
//!   followed by `* NO Failed to fetch URLAUTH "url": why.`. A storage failure ends the
//!   command with an internal error after the answers already sent, as Dovecot's.
//!
//! URLs of other users: Dovecot's imap passes them (after the checks that need no mailbox)
//! to its imap-urlauth service, which runs a worker as the URL's owner. cote has no such
//! service: they are answered `NIL` with a `* NO` saying so, and a warning is logged.

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::imap::parser::urlauth::{FetchParams, FetchUrl, GenUrlAuth, ResetKey};
use crate::imap::response::{append_literal, Code};
use crate::imap::url::ImapUrl;
use crate::imap::urlauth::{self as ua, Key, UrlAuthContext};
use crate::mail::quote::append_astring;
use crate::mail::{Message, Section};
use crate::storage::attribute::{AttributeChange, AttributeKey, AttributeType};
use crate::storage::error::StorageError;

/// The private attribute holding a mailbox's key.
fn key_attribute() -> AttributeKey {
    AttributeKey {
        ty: AttributeType::Private,
        key: ua::KEY_ATTRIBUTE.as_bytes().to_vec(),
        validated: false,
    }
}

/// Dovecot's internal error answer; `detail` is logged.
fn internal_error(mailbox: &str, detail: &str) -> MailError {
    let e = StorageError::critical(Some(mailbox), detail).finish(mailbox);
    MailError::new(MailErrorKind::Temp, e.client_text())
}

/// Dovecot's `client_send_internal_error`: `NO Internal error occurred. ... [time]`, without
/// a response code (what failed was logged).
fn internal_reply() -> Reply {
    let stamp = crate::log::format::timestamp("%Y-%m-%d %H:%M:%S");
    Reply::no(
        None,
        format!("{} [{stamp}]", crate::storage::error::CRITICAL_TEXT),
    )
}

/// A storage failure as an internal error (Dovecot answers those of key handling so,
/// whatever their kind); temporary failures were logged by storage already.
fn as_internal(mailbox: &str, what: &str, e: MailError) -> MailError {
    if e.kind == MailErrorKind::Temp {
        return e;
    }
    internal_error(mailbox, &format!("imap-urlauth: {what}: {}", e.text))
}

/// How one URL of URLFETCH ended.
enum Fetched {
    /// The answer after `* URLFETCH url ` (without the final CRLF).
    Data(Vec<u8>),
    /// `NIL`, with the `* NO` text.
    Failed(String),
}

impl Fetched {
    /// `Failed to fetch URLAUTH "url": why` (the URL or its authorization is wrong).
    fn not_fetched(url: &str, why: impl std::fmt::Display) -> Fetched {
        Fetched::Failed(format!("Failed to fetch URLAUTH \"{url}\": {why}"))
    }

    /// `Failed to read URLAUTH "url": why` (the message or part is not there).
    fn not_read(url: &str, why: impl std::fmt::Display) -> Fetched {
        Fetched::Failed(format!("Failed to read URLAUTH \"{url}\": {why}"))
    }
}

/// URL text in a `* NO` line: control characters (a literal may hold CR LF) become `?`.
fn printable(url: &str) -> String {
    url.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// The URLAUTH context; the commands exist only with one.
    fn urlauth_context(&self) -> Result<UrlAuthContext, Reply> {
        self.settings
            .urlauth
            .clone()
            .ok_or_else(|| self.command_error("URLAUTH disabled."))
    }

    /// A mailbox's key: the stored one, or (`create`) a new one stored now; `None` when it
    /// has none.
    fn urlauth_key(&mut self, mailbox: &str, create: bool) -> Result<Option<Key>, MailError> {
        let vname = self
            .mail
            .attribute_mailbox(Some(mailbox))
            .map_err(|e| as_internal(mailbox, "opening the mailbox's attributes", e))?;
        let stored = self
            .mail
            .attribute_get(&key_attribute())
            .map_err(|e| as_internal(&vname, "reading the key", e))?;
        if let Some(value) = stored {
            return match ua::key_from_hex(&value) {
                Some(key) => Ok(Some(key)),
                None => Err(internal_error(
                    &vname,
                    &format!("imap-urlauth: key found for mailbox {vname} is invalid"),
                )),
            };
        }
        if !create {
            return Ok(None);
        }
        let key =
            ua::new_key().map_err(|e| internal_error(&vname, &format!("imap-urlauth: {e}")))?;
        let change = AttributeChange {
            key: key_attribute(),
            value: Some(ua::key_to_hex(&key).into_bytes()),
        };
        self.mail
            .attribute_set(&[change])
            .map_err(|e| as_internal(&vname, "storing a new key", e))?;
        Ok(Some(key))
    }

    /// Removes a mailbox's key.
    fn urlauth_remove_key(&mut self, mailbox: &str) -> Result<(), MailError> {
        let vname = self
            .mail
            .attribute_mailbox(Some(mailbox))
            .map_err(|e| as_internal(mailbox, "opening the mailbox's attributes", e))?;
        let change = AttributeChange {
            key: key_attribute(),
            value: None,
        };
        self.mail
            .attribute_set(&[change])
            .map_err(|e| as_internal(&vname, "removing the key", e))
    }

    pub(super) fn genurlauth(&mut self, gen: &GenUrlAuth) -> Step<Reply> {
        let ctx = match self.urlauth_context() {
            Ok(ctx) => ctx,
            Err(reply) => return Ok(reply),
        };
        let mut line = b"* GENURLAUTH".to_vec();
        for (rump, mechanism) in &gen.pairs {
            match self.generate(&ctx, rump, mechanism) {
                Ok(url) => {
                    line.push(b' ');
                    append_astring(&mut line, url.as_bytes());
                }
                Err(Ok(text)) => return Ok(self.command_error(&text)),
                Err(Err(_)) => return Ok(internal_reply()),
            }
        }
        if gen.invalid_after {
            return Ok(self.command_error("Invalid arguments."));
        }
        self.line(&line)?;
        Ok(Reply::ok("GENURLAUTH completed."))
    }

    /// Dovecot's `imap_urlauth_generate`: the authorized URL, or `Err(Ok(text))` for the
    /// client's mistake, `Err(Err(e))` for a failure of ours.
    fn generate(
        &mut self,
        ctx: &UrlAuthContext,
        rump: &str,
        mechanism: &str,
    ) -> Result<String, Result<String, MailError>> {
        let url = ctx.check_rump(mechanism, rump, now()).map_err(Ok)?;
        let mailbox = url.mailbox.as_deref().unwrap_or_default();
        // Dovecot fails an unparsable section as an internal error.
        section_of(&url).ok_or_else(|| {
            Err(internal_error(
                mailbox,
                &format!("GENURLAUTH: invalid section in {rump}"),
            ))
        })?;
        let vname = self
            .mail
            .url_mailbox(mailbox, url.uidvalidity)
            .map_err(|e| Ok(format!("Invalid URL: {}", e.text)))?;
        self.mail
            .url_message(&vname, url.uid)
            .map_err(|e| Ok(format!("Invalid URL: {}", e.text)))?;
        let key = self.urlauth_key(&vname, true).map_err(Err)?;
        let key = key.ok_or_else(|| Err(internal_error(&vname, "imap-urlauth: no key made")))?;
        Ok(ua::authorized_url(rump, mechanism, &ua::token(rump, &key)))
    }

    pub(super) fn resetkey(&mut self, reset: &ResetKey) -> Step<Reply> {
        if let Err(reply) = self.urlauth_context() {
            return Ok(reply);
        }
        let (mailbox, mechanisms) = match reset {
            ResetKey::All => return Ok(self.resetkey_all()),
            ResetKey::Mailbox {
                mailbox,
                mechanisms,
            } => (mailbox, mechanisms),
        };
        let Some(mechanisms) = mechanisms else {
            return Ok(self.command_error("Invalid arguments."));
        };
        if mechanisms
            .iter()
            .any(|m| !m.eq_ignore_ascii_case("INTERNAL"))
        {
            return Ok(Reply::no(None, "Unsupported URLAUTH mechanism."));
        }
        let vname = match self.mail.url_mailbox(mailbox, 0) {
            Ok(vname) => vname,
            Err(e) => return Ok(Reply::mail_error(&e, false)),
        };
        if self.urlauth_remove_key(&vname).is_err() {
            return Ok(internal_reply());
        }
        Ok(Reply::ok_with(
            Code::Other("URLMECH INTERNAL".into()),
            "Key removed.",
        ))
    }

    /// Dovecot's `imap_urlauth_backend_reset_all_keys`: every mailbox's key; mailboxes that
    /// cannot be opened because they are gone or not permitted are passed over.
    fn resetkey_all(&mut self) -> Reply {
        let names = match self.mail.attribute_mailboxes("*") {
            Ok(names) => names,
            Err(e) => {
                as_internal("", "urlauth key reset: Couldn't iterate mailboxes", e);
                return internal_reply();
            }
        };
        let mut failed = false;
        for name in names {
            match self.mail.url_mailbox(&name, 0) {
                Ok(_) => {}
                Err(e) if matches!(e.kind, MailErrorKind::NotFound | MailErrorKind::Perm) => {
                    continue
                }
                Err(e) => {
                    let what = format!("urlauth key reset: Couldn't open mailbox {name}");
                    as_internal(&name, &what, e);
                    failed = true;
                    continue;
                }
            }
            failed |= self.urlauth_remove_key(&name).is_err();
        }
        if failed {
            internal_reply()
        } else {
            Reply::ok("All keys removed.")
        }
    }

    pub(super) fn urlfetch(&mut self, urls: &[FetchUrl]) -> Step<Reply> {
        let ctx = match self.urlauth_context() {
            Ok(ctx) => ctx,
            Err(reply) => return Ok(reply),
        };
        for url in urls {
            let Ok(fetched) = self.fetch_url(&ctx, url) else {
                return Ok(internal_reply());
            };
            let mut line = b"* URLFETCH ".to_vec();
            append_astring(&mut line, url.url.as_bytes());
            match fetched {
                Fetched::Data(answer) => {
                    line.push(b' ');
                    line.extend_from_slice(&answer);
                    self.line(&line)?;
                }
                Fetched::Failed(why) => {
                    line.extend_from_slice(b" NIL");
                    self.line(&line)?;
                    let text = format!("* NO {}.", printable(&why));
                    self.line(text.as_bytes())?;
                }
            }
        }
        Ok(Reply::ok("URLFETCH completed."))
    }

    /// One URL (Dovecot's `imap_urlauth_fetch_url` and `imap_urlauth_fetch_local`); `Err`
    /// ends the command with an internal error.
    fn fetch_url(&mut self, ctx: &UrlAuthContext, asked: &FetchUrl) -> Result<Fetched, MailError> {
        let url = match ua::parse_url(&asked.url) {
            Ok(url) => url,
            Err(e) => return Ok(Fetched::not_fetched(&asked.url, e)),
        };
        if !ctx.is_own(&url) {
            if let Err(e) = ctx.check(&url, true, now()) {
                return Ok(Fetched::not_fetched(&asked.url, e));
            }
            log::warn!(
                "URLFETCH: fetching another user's URLAUTH URL (Dovecot's imap-urlauth \
                 service) is not implemented by cote; answered NIL: {}",
                printable(&asked.url)
            );
            return Ok(Fetched::not_fetched(
                &asked.url,
                "Fetching other users' URLAUTH URLs is not implemented",
            ));
        }
        if let Err(e) = ctx.check(&url, false, now()) {
            return Ok(Fetched::not_fetched(&asked.url, e));
        }
        let mailbox = url.mailbox.as_deref().unwrap_or_default();
        let Some(section) = section_of(&url) else {
            return Err(internal_error(
                mailbox,
                &format!("URLFETCH: invalid section in {}", printable(&asked.url)),
            ));
        };
        let Some((rump, given)) = url
            .urlauth
            .as_ref()
            .and_then(|a| Some((a.rump.as_str(), &a.verifier.as_ref()?.1)))
        else {
            return Ok(Fetched::not_fetched(
                &asked.url,
                "Invalid URL: Must be a full URLAUTH URL",
            ));
        };
        let vname = match self.mail.url_mailbox(mailbox, url.uidvalidity) {
            Ok(vname) => vname,
            Err(e) if e.kind == MailErrorKind::Temp => return Err(e),
            Err(e) => {
                ua::verify_with_random_key(rump, given);
                let why = format!("Invalid URLAUTH: {}", e.text);
                return Ok(Fetched::not_fetched(&asked.url, why));
            }
        };
        let verified = match self.urlauth_key(&vname, false)? {
            Some(key) => ua::verify(rump, &key, given),
            None => false,
        };
        if !verified {
            return Ok(Fetched::not_fetched(
                &asked.url,
                "URLAUTH verification failed",
            ));
        }
        let message = match self.mail.url_message(&vname, url.uid) {
            Ok(message) => message,
            Err(e) if e.kind == MailErrorKind::Temp => return Err(e),
            Err(e) => return Ok(Fetched::not_read(&asked.url, &e.text)),
        };
        fetch_answer(&asked.url, &vname, &message, &section, asked.extended)
    }
}

/// The section and partial range a message URL names; `None` for a section Dovecot's
/// `imap_msgpart_parse` refuses.
fn section_of(url: &ImapUrl) -> Option<Section> {
    let mut section = Section::parse(url.section.as_deref().unwrap_or("").as_bytes(), b"").ok()?;
    section.partial = url.partial.map(|p| (p.offset, p.length));
    Some(section)
}

/// The answer for a fetched URL: the data alone, or the extended form's list.
fn fetch_answer(
    url: &str,
    vname: &str,
    message: &Message,
    section: &Section,
    extended: Option<FetchParams>,
) -> Result<Fetched, MailError> {
    let params = extended.unwrap_or(FetchParams {
        body: true,
        ..FetchParams::default()
    });
    let mut structure = None;
    if params.body_part_structure {
        let whole = Section {
            partial: None,
            ..section.clone()
        };
        match message.part_bodystructure(&whole, params.binary) {
            Ok(None) => return Ok(Fetched::not_read(url, "Message part not found")),
            Err(e) => {
                return Err(internal_error(
                    vname,
                    &format!("URLFETCH BODYPARTSTRUCTURE: {e:?}"),
                ))
            }
            Ok(Some(text)) => structure = Some(text),
        }
    }
    // Dovecot's quirk: BODYPARTSTRUCTURE's decoded sizes leave the whole message's decoded
    // stream in its binary cache, and BINARY[] found there is always sent as literal8 (until
    // the mail's decoded sizes are in dovecot.index.cache, which URLFETCH never writes).
    let whole_decoded = params.body_part_structure
        && section.part.is_empty()
        && section.text == crate::mail::SectionText::Whole;
    let data = if params.binary {
        match message.binary_section(section) {
            Ok(binary) => Some((binary.data, binary.literal8 || whole_decoded)),
            Err(e) => return Err(internal_error(vname, &format!("URLFETCH BINARY: {e:?}"))),
        }
    } else if params.body {
        Some((message.body_section(section), false))
    } else {
        None
    };
    let mut out = Vec::new();
    let Some(_) = extended else {
        let (data, _) = data.unwrap_or_default();
        append_literal(&mut out, &data, false);
        return Ok(Fetched::Data(out));
    };
    out.push(b'(');
    if let Some(structure) = structure {
        out.extend_from_slice(b"BODYPARTSTRUCTURE (");
        out.extend_from_slice(&structure);
        out.push(b')');
        if data.is_some() {
            out.push(b' ');
        }
    }
    if let Some((data, literal8)) = data {
        out.extend_from_slice(if params.binary { b"BINARY " } else { b"BODY " });
        append_literal(&mut out, &data, literal8);
    }
    out.push(b')');
    Ok(Fetched::Data(out))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
