//! CATENATE's URL parts (RFC 4469, with RFC 5550's `;PARTIAL=`): the bytes an IMAP URL names
//! in one of the user's mailboxes, found as Dovecot 2.3 finds them (`imap_msgpart_url`).
//!
//! Only relative URLs are taken, as in Dovecot: `/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s]
//! [/;PARTIAL=o.l]`, or `;UID=n...` relative to the selected mailbox. The data is what
//! `FETCH BODY.PEEK[section]<o.l>` returns (CRLF line ends, NULs as 0x80); a part the message
//! lacks, or a range past its end, adds nothing. Failures the client caused are
//! `NO [BADURL url] <why>.`; a temporary storage failure keeps its own answer.

use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::imap::url::{self, ImapUrl, ParseOptions};
use crate::mail::Section;
use crate::storage::api::{Mailbox, OpenOptions};

use super::{mail_error, StorageSession};

/// `NO [BADURL url] why.`
fn bad_url(url: &[u8], why: &str) -> MailError {
    MailError::new(
        MailErrorKind::Params,
        format!("[BADURL {}] {why}.", String::from_utf8_lossy(url)),
    )
}

impl StorageSession {
    /// The data `url` names.
    pub(super) fn catenate_url_data(&mut self, url: &[u8]) -> Result<Vec<u8>, MailError> {
        let base = match &self.selected {
            Some(selected) => ImapUrl {
                mailbox: Some(selected.vname().to_string()),
                uidvalidity: selected.mailbox.uidvalidity(),
                ..ImapUrl::default()
            },
            None => ImapUrl::default(),
        };
        let options = ParseOptions {
            require_relative: true,
            allow_urlauth: false,
        };
        let parsed = url::parse(url, Some(&base), options)
            .map_err(|e| bad_url(url, &format!("Invalid IMAP URL: {e}")))?;
        let Some(mailbox_name) = parsed.mailbox.as_deref() else {
            return Err(bad_url(
                url,
                "Mailbox-relative IMAP URL, but no mailbox selected",
            ));
        };
        // Deliberate difference: Dovecot answers these two with the storage's last error
        // text (a stale one, or "BUG: Unknown internal error"); cote with what is wrong.
        if parsed.uid == 0 || parsed.search_program.is_some() {
            return Err(bad_url(url, "Invalid messagepart IMAP URL"));
        }
        let mut section = Section::parse(parsed.section.as_deref().unwrap_or("").as_bytes(), b"")
            .map_err(|_| bad_url(url, "Invalid section"))?;
        section.partial = parsed.partial.map(|p| (p.offset, p.length));

        let selected_here = self
            .selected
            .as_ref()
            .is_some_and(|s| s.vname() == self.canonical_name(mailbox_name));
        let mut opened: Box<dyn Mailbox>;
        let mailbox: &mut dyn Mailbox = match self.selected.as_mut() {
            Some(selected) if selected_here => &mut *selected.mailbox,
            _ => {
                opened = self
                    .user
                    .open(mailbox_name, OpenOptions::EXAMINE)
                    .map_err(|e| match mail_error(e) {
                        e if e.kind == MailErrorKind::Temp => e,
                        e => bad_url(url, &e.text),
                    })?;
                &mut *opened
            }
        };
        if parsed.uidvalidity != 0 && parsed.uidvalidity != mailbox.uidvalidity() {
            return Err(bad_url(url, "Invalid UIDVALIDITY"));
        }
        if mailbox.info(parsed.uid).is_none() {
            return Err(bad_url(url, "Message not found"));
        }
        let mut mail = mailbox.mail(parsed.uid).map_err(mail_error)?;
        let message = mail.message().map_err(mail_error)?;
        Ok(message.body_section(&section))
    }
}
