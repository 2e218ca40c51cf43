//! [`StorageMessage`]: one message of the selected mailbox for FETCH and SEARCH. Flags and
//! the modseq come from the index (no file is opened for `FETCH 1:* FLAGS`); the message
//! itself is opened the first time something needs it, and ENVELOPE, BODYSTRUCTURE and the
//! sizes come from `cote.index.cache` when they are there. What had to be computed goes
//! back to the cache when the message is let go.

use crate::imap::flags::FlagList;
use crate::imap::mail_session::{MailError, MailErrorKind, MailMessage};
use crate::mail::Message;
use crate::storage::api::MessageInfo;
use crate::storage::mail::Mail;

use super::selected::{message_error, Selected};

pub struct StorageMessage<'a> {
    selected: &'a mut Selected,
    info: MessageInfo,
    mail: Option<Mail>,
    /// Expunged by another session (the client not told yet): only `info` is left.
    gone: bool,
}

impl<'a> StorageMessage<'a> {
    pub(super) fn new(selected: &'a mut Selected, info: MessageInfo) -> StorageMessage<'a> {
        StorageMessage {
            selected,
            info,
            mail: None,
            gone: false,
        }
    }

    /// A message another session expunged, as this one last saw it.
    pub(super) fn gone(selected: &'a mut Selected, info: MessageInfo) -> StorageMessage<'a> {
        let mut message = StorageMessage::new(selected, info);
        message.gone = true;
        message
    }

    /// The message with its data, opened on first use.
    fn mail(&mut self) -> Result<&mut Mail, MailError> {
        match self.mail {
            Some(ref mut mail) => Ok(mail),
            None if self.gone => Err(MailError::new(
                MailErrorKind::Expunged,
                "Message was expunged",
            )),
            None => {
                let mail = self
                    .selected
                    .mailbox
                    .mail(self.info.uid)
                    .map_err(message_error)?;
                Ok(self.mail.insert(mail))
            }
        }
    }
}

impl Drop for StorageMessage<'_> {
    fn drop(&mut self) {
        if let Some(mail) = self.mail.take() {
            if !mail.computed().is_empty() {
                self.selected.queue_cache(mail);
            }
        }
    }
}

impl MailMessage for StorageMessage<'_> {
    fn uid(&self) -> u32 {
        self.info.uid
    }

    fn flags(&mut self) -> Result<FlagList, MailError> {
        Ok(FlagList {
            system: self.info.flags,
            keywords: self.info.keywords.clone(),
        })
    }

    fn modseq(&mut self) -> Result<u64, MailError> {
        Ok(self.info.modseq)
    }

    fn internal_date(&mut self) -> Result<i64, MailError> {
        self.mail()?.internal_date().map_err(message_error)
    }

    fn save_date(&mut self) -> Result<Option<i64>, MailError> {
        self.mail()?.save_date().map(Some).map_err(message_error)
    }

    fn virtual_size(&mut self) -> Result<u64, MailError> {
        self.mail()?.virtual_size().map_err(message_error)
    }

    fn guid(&mut self) -> Result<String, MailError> {
        Ok(self.mail()?.guid().to_string())
    }

    fn parsed(&mut self) -> Result<&Message, MailError> {
        self.mail()?.message().map_err(message_error)
    }

    fn envelope(&mut self) -> Result<Vec<u8>, MailError> {
        self.mail()?.envelope().map_err(message_error)
    }

    fn body_structure(&mut self, extended: bool) -> Result<Vec<u8>, MailError> {
        self.mail()?.body_structure(extended).map_err(message_error)
    }
}
