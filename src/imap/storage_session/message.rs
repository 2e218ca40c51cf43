//! [`StorageMessage`]: one message of the selected mailbox for FETCH and SEARCH. Flags, the
//! modseq, and the sizes and dates the index has come from the index (no file is opened for
//! `FETCH 1:* (FLAGS UID RFC822.SIZE)` when the file names carry `W=`); the message
//! itself is opened the first time something needs it, and ENVELOPE, BODYSTRUCTURE and the
//! sizes come from `cote.index.cache` when they are there. What had to be computed goes
//! back to the cache when the message is let go.

use crate::imap::flags::FlagList;
use crate::imap::mail_session::{MailError, MailErrorKind, MailMessage};
use crate::mail::search::HeaderMatch;
use crate::mail::{Message, Section, SectionText};
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

    /// A message another session expunged, as this one last saw it: its flags, and no data
    /// (not even the sizes and dates the index had: Dovecot answers them empty too).
    pub(super) fn gone(selected: &'a mut Selected, mut info: MessageInfo) -> StorageMessage<'a> {
        info.physical_size = None;
        info.virtual_size = None;
        info.internal_date = None;
        info.save_date = None;
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

    /// The message for what its root header answers, without reading the rest of the file
    /// when nothing else did.
    fn header_message(&mut self) -> Result<&Message, MailError> {
        self.mail()?.header_message().map_err(message_error)
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
        match self.info.internal_date {
            Some(date) => Ok(date),
            None => self.mail()?.internal_date().map_err(message_error),
        }
    }

    fn save_date(&mut self) -> Result<Option<i64>, MailError> {
        match self.info.save_date {
            Some(date) => Ok(Some(date)),
            None => self.mail()?.save_date().map(Some).map_err(message_error),
        }
    }

    fn virtual_size(&mut self) -> Result<u64, MailError> {
        match self.info.virtual_size {
            Some(size) => Ok(size),
            None => self.mail()?.virtual_size().map_err(message_error),
        }
    }

    fn guid(&mut self) -> Result<String, MailError> {
        Ok(self.mail()?.guid().to_string())
    }

    fn parsed(&mut self) -> Result<&Message, MailError> {
        self.mail()?.message().map_err(message_error)
    }

    fn sent_date(&mut self) -> Result<i64, MailError> {
        match self.mail()?.header_lines("Date").map_err(message_error)? {
            Some(lines) => Ok(Message::parse(lines).sent_date()),
            None => Ok(self.header_message()?.sent_date()),
        }
    }

    fn first_header(&mut self, name: &str) -> Result<Option<Vec<u8>>, MailError> {
        match self.mail()?.header_lines(name).map_err(message_error)? {
            Some(lines) => Ok(Message::parse(lines).first_header(name)),
            None => Ok(self.header_message()?.first_header(name)),
        }
    }

    fn header_contains(
        &mut self,
        field: &str,
        value: &str,
        how: HeaderMatch,
    ) -> Result<bool, MailError> {
        // The field's lines alone are a header that answers as the whole message does.
        match self.mail()?.header_lines(field).map_err(message_error)? {
            Some(lines) => Ok(Message::parse(lines).search_header(field, value, how)),
            None => Ok(self.header_message()?.search_header(field, value, how)),
        }
    }

    fn body_section(&mut self, section: &Section) -> Result<Vec<u8>, MailError> {
        let header_only = section.part.is_empty()
            && matches!(
                section.text,
                SectionText::Header
                    | SectionText::HeaderFields(_)
                    | SectionText::HeaderFieldsNot(_)
            );
        let message = if header_only {
            self.header_message()?
        } else {
            self.parsed()?
        };
        Ok(message.body_section(section))
    }

    fn envelope(&mut self) -> Result<Vec<u8>, MailError> {
        self.mail()?.envelope().map_err(message_error)
    }

    fn body_structure(&mut self, extended: bool) -> Result<Vec<u8>, MailError> {
        self.mail()?.body_structure(extended).map_err(message_error)
    }
}
