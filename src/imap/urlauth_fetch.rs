//! Fetching a URLAUTH URL from its owner's mail (Dovecot's `imap_urlauth_fetch_parsed` and
//! what `imap-urlauth-fetch.c` / `imap-urlauth-worker.c` do with its result): the checks,
//! the mailbox key, the verification, then the data. The logged-in user's own URLs are
//! fetched so by the IMAP session itself; other users' by the owner's imap-urlauth worker
//! (`crate::imap::urlauth_service`), with the same code, over the owner's mail.

use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::imap::parser::urlauth::FetchParams;
use crate::imap::response::append_literal;
use crate::imap::url::ImapUrl;
use crate::imap::urlauth::{self as ua, Key, UrlAuthContext};
use crate::mail::{Message, Section};
use crate::storage::attribute::{AttributeChange, AttributeKey, AttributeType};
use crate::storage::error::StorageError;

/// The private attribute holding a mailbox's key.
pub(crate) fn key_attribute() -> AttributeKey {
    AttributeKey {
        ty: AttributeType::Private,
        key: ua::KEY_ATTRIBUTE.as_bytes().to_vec(),
        validated: false,
    }
}

/// Dovecot's internal error answer; `detail` is logged.
pub(crate) fn internal_error(mailbox: &str, detail: &str) -> MailError {
    let e = StorageError::critical(Some(mailbox), detail).finish(mailbox);
    MailError::new(MailErrorKind::Temp, e.client_text())
}

/// A storage failure as an internal error (Dovecot answers those of key handling so,
/// whatever their kind); temporary failures were logged by storage already.
pub(crate) fn as_internal(mailbox: &str, what: &str, e: MailError) -> MailError {
    if e.kind == MailErrorKind::Temp {
        return e;
    }
    internal_error(mailbox, &format!("imap-urlauth: {what}: {}", e.text))
}

/// A mailbox's key: the stored one, or (`create`) a new one stored now; `None` when it has
/// none.
pub(crate) fn mailbox_key<M: MailSession + ?Sized>(
    mail: &mut M,
    mailbox: &str,
    create: bool,
) -> Result<Option<Key>, MailError> {
    let vname = mail
        .attribute_mailbox(Some(mailbox))
        .map_err(|e| as_internal(mailbox, "opening the mailbox's attributes", e))?;
    let stored = mail
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
    let key = ua::new_key().map_err(|e| internal_error(&vname, &format!("imap-urlauth: {e}")))?;
    let change = AttributeChange {
        key: key_attribute(),
        value: Some(ua::key_to_hex(&key).into_bytes()),
    };
    mail.attribute_set(&[change])
        .map_err(|e| as_internal(&vname, "storing a new key", e))?;
    Ok(Some(key))
}

/// How one URL of URLFETCH ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The answer after `* URLFETCH url ` (without the final CRLF).
    Data(Vec<u8>),
    /// `NIL`, with the `* NO` text. `told`: the owner's worker tells it to another user too
    /// (Dovecot's worker passes on only the errors of the URL itself and of reading the
    /// message, never whether a mailbox exists or a key matched).
    Failed { text: String, told: bool },
    /// `NIL` without a `* NO` (another user's URL whose failure the owner's side does not
    /// tell).
    Nil,
}

impl Fetched {
    /// `Failed to fetch URLAUTH "url": why` (the URL or its authorization is wrong).
    pub fn not_fetched(url: &str, why: impl std::fmt::Display, told: bool) -> Fetched {
        Fetched::Failed {
            text: format!("Failed to fetch URLAUTH \"{url}\": {why}"),
            told,
        }
    }

    /// `Failed to read URLAUTH "url": why` (the message or part is not there).
    fn not_read(url: &str, why: impl std::fmt::Display) -> Fetched {
        Fetched::Failed {
            text: format!("Failed to read URLAUTH \"{url}\": {why}"),
            told: true,
        }
    }
}

/// URL text in a `* NO` line or the log: control characters (a literal may hold CR LF)
/// become `?`.
pub fn printable(url: &str) -> String {
    url.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A URL of `mail`'s user (Dovecot's `imap_urlauth_fetch_parsed`, then the part):
/// `ctx` is who asks. `Err` is a failure of ours (the command ends with an internal error).
pub fn fetch_owned<M: MailSession + ?Sized>(
    mail: &mut M,
    ctx: &UrlAuthContext,
    owner: &str,
    asked: &str,
    url: &ImapUrl,
    extended: Option<FetchParams>,
) -> Result<Fetched, MailError> {
    if let Err(e) = ctx.check(url, false, now()) {
        return Ok(Fetched::not_fetched(asked, e, true));
    }
    if url.userid.as_deref() != Some(owner) {
        let why = format!(
            "Not permitted to fetch URLAUTH for user {}",
            url.userid.as_deref().unwrap_or_default()
        );
        return Ok(Fetched::not_fetched(asked, why, true));
    }
    let mailbox = url.mailbox.as_deref().unwrap_or_default();
    let Some(section) = section_of(url) else {
        return Err(internal_error(
            mailbox,
            &format!("URLFETCH: invalid section in {}", printable(asked)),
        ));
    };
    let Some((rump, given)) = url
        .urlauth
        .as_ref()
        .and_then(|a| Some((a.rump.as_str(), &a.verifier.as_ref()?.1)))
    else {
        return Ok(Fetched::not_fetched(
            asked,
            "Invalid URL: Must be a full URLAUTH URL",
            true,
        ));
    };
    let vname = match mail.url_mailbox(mailbox, url.uidvalidity) {
        Ok(vname) => vname,
        Err(e) if e.kind == MailErrorKind::Temp => return Err(e),
        Err(e) => {
            ua::verify_with_random_key(rump, given);
            let why = format!("Invalid URLAUTH: {}", e.text);
            return Ok(Fetched::not_fetched(asked, why, false));
        }
    };
    let verified = match mailbox_key(mail, &vname, false)? {
        Some(key) => ua::verify(rump, &key, given),
        None => false,
    };
    if !verified {
        return Ok(Fetched::not_fetched(
            asked,
            "URLAUTH verification failed",
            false,
        ));
    }
    let message = match mail.url_message(&vname, url.uid) {
        Ok(message) => message,
        Err(e) if e.kind == MailErrorKind::Temp => return Err(e),
        Err(e) => return Ok(Fetched::not_read(asked, &e.text)),
    };
    fetch_answer(asked, &vname, &message, &section, extended)
}

/// The section and partial range a message URL names; `None` for a section Dovecot's
/// `imap_msgpart_parse` refuses.
pub(crate) fn section_of(url: &ImapUrl) -> Option<Section> {
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

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
