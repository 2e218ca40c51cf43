//! The message an absolute IMAP URL names in one of the user's mailboxes (URLAUTH's
//! GENURLAUTH and URLFETCH), found as Dovecot 2.3's `imap_msgpart_url` finds it: the
//! mailbox opened read-only on its own (never the selected one's view), its UIDVALIDITY
//! checked, then the message.

use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::mail::Message;
use crate::storage::api::OpenOptions;

use super::{mail_error, StorageSession};

impl StorageSession {
    /// Opens `mailbox` read-only and checks `uidvalidity` (0: any); its name as clients see
    /// it.
    pub(super) fn open_url_mailbox(
        &mut self,
        mailbox: &str,
        uidvalidity: u32,
    ) -> Result<String, MailError> {
        let opened = self
            .user
            .open(mailbox, OpenOptions::EXAMINE)
            .map_err(|e| mail_error(e.finish(mailbox)))?;
        if uidvalidity != 0 && uidvalidity != opened.uidvalidity() {
            return Err(MailError::new(
                MailErrorKind::Expunged,
                "Invalid UIDVALIDITY",
            ));
        }
        Ok(self.canonical_name(mailbox))
    }

    /// Message `uid` of `mailbox`.
    pub(super) fn url_message_data(
        &mut self,
        mailbox: &str,
        uid: u32,
    ) -> Result<Message, MailError> {
        let mut opened = self
            .user
            .open(mailbox, OpenOptions::EXAMINE)
            .map_err(|e| mail_error(e.finish(mailbox)))?;
        if opened.info(uid).is_none() {
            return Err(MailError::new(MailErrorKind::Params, "Message not found"));
        }
        let mut mail = opened
            .mail(uid)
            .map_err(|e| mail_error(e.finish(mailbox)))?;
        let message = mail.message().map_err(|e| mail_error(e.finish(mailbox)))?;
        Ok(message.clone())
    }
}
