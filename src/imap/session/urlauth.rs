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
//! URLs of other users: after the checks that need no mailbox, they go to the
//! imap-urlauth service (`crate::imap::urlauth_service`), whose worker runs as the URL's
//! owner; what it answers is answered here.

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::imap::parser::urlauth::{FetchUrl, GenUrlAuth, ResetKey};
use crate::imap::response::Code;
use crate::imap::urlauth::{self as ua, UrlAuthContext};
use crate::imap::urlauth_fetch::{
    as_internal, fetch_owned, internal_error, key_attribute, mailbox_key, now, printable,
    section_of, Fetched,
};
use crate::imap::urlauth_service;
use crate::mail::quote::append_astring;
use crate::storage::attribute::AttributeChange;

/// Dovecot's `client_send_internal_error`: `NO Internal error occurred. ... [time]`, without
/// a response code (what failed was logged).
fn internal_reply() -> Reply {
    let stamp = crate::log::format::timestamp("%Y-%m-%d %H:%M:%S");
    Reply::no(
        None,
        format!("{} [{stamp}]", crate::storage::error::CRITICAL_TEXT),
    )
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    /// The URLAUTH context; the commands exist only with one.
    fn urlauth_context(&self) -> Result<UrlAuthContext, Reply> {
        self.settings
            .urlauth
            .clone()
            .ok_or_else(|| self.command_error("URLAUTH disabled."))
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
        let key = mailbox_key(self.mail, &vname, true).map_err(Err)?;
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
                Fetched::Nil => {
                    line.extend_from_slice(b" NIL");
                    self.line(&line)?;
                }
                Fetched::Failed { text: why, .. } => {
                    line.extend_from_slice(b" NIL");
                    self.line(&line)?;
                    let text = format!("* NO {}.", printable(&why));
                    self.line(text.as_bytes())?;
                }
            }
        }
        Ok(Reply::ok("URLFETCH completed."))
    }

    /// One URL (Dovecot's `imap_urlauth_fetch_url`): the user's own here, another user's
    /// through the imap-urlauth service; `Err` ends the command with an internal error.
    fn fetch_url(&mut self, ctx: &UrlAuthContext, asked: &FetchUrl) -> Result<Fetched, MailError> {
        let url = match ua::parse_url(&asked.url) {
            Ok(url) => url,
            Err(e) => return Ok(Fetched::not_fetched(&asked.url, e, true)),
        };
        if ctx.is_own(&url) {
            return fetch_owned(self.mail, ctx, &ctx.user, &asked.url, &url, asked.extended);
        }
        // URLs already known to fail are not sent (Dovecot's `imap_urlauth_check` with
        // unknown access applications left to the owner's side).
        if let Err(e) = ctx.check(&url, true, now()) {
            return Ok(Fetched::not_fetched(&asked.url, e, true));
        }
        let owner = url.userid.as_deref().unwrap_or_default();
        Ok(urlauth_service::fetch_remote(
            ctx,
            owner,
            &asked.url,
            asked.extended,
        ))
    }
}
