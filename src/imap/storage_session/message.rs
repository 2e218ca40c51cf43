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
use crate::storage::mail::{cached_snippet, field, Mail};

use super::selected::{message_error, Selected};

pub struct StorageMessage<'a> {
    selected: &'a mut Selected,
    info: MessageInfo,
    mail: Option<Mail>,
    /// Expunged by another session (the client not told yet): only `info` is left, and
    /// what the index cache held for it.
    gone: Option<Vec<(String, Vec<u8>)>>,
}

impl<'a> StorageMessage<'a> {
    pub(super) fn new(selected: &'a mut Selected, info: MessageInfo) -> StorageMessage<'a> {
        StorageMessage {
            selected,
            info,
            mail: None,
            gone: None,
        }
    }

    /// A message another session expunged, as this one last saw it: its flags, and of its
    /// data only what the index cache held (`cached`), as Dovecot answers from its cache;
    /// not the sizes and dates the index had (Dovecot's Maildir answers those empty).
    pub(super) fn gone(
        selected: &'a mut Selected,
        mut info: MessageInfo,
        cached: Vec<(String, Vec<u8>)>,
    ) -> StorageMessage<'a> {
        info.physical_size = None;
        info.virtual_size = None;
        info.internal_date = None;
        info.save_date = None;
        let mut message = StorageMessage::new(selected, info);
        message.gone = Some(cached);
        message
    }

    /// For a message expunged by another session: the cached field `name`, or
    /// `Err(Expunged)` when it was not cached; `Ok(None)` for a message that is not gone
    /// (it is read as usual).
    fn gone_field(&self, name: &str) -> Result<Option<&[u8]>, MailError> {
        let Some(cached) = &self.gone else {
            return Ok(None);
        };
        cached
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Some(v.as_slice()))
            .ok_or_else(expunged)
    }

    /// A date field of a message expunged by another session, from the cache.
    fn gone_date(&self, name: &str) -> Result<Option<i64>, MailError> {
        match self.gone_field(name)? {
            None => Ok(None),
            Some(value) => std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse().ok())
                .map(Some)
                .ok_or_else(expunged),
        }
    }

    /// For a message expunged by another session: its root header's `names` lines, made
    /// from the cached lines of the searched headers when every name is one of them and,
    /// since each is cached alone and their order is lost, at most one is present.
    fn gone_header(&self, names: &[impl AsRef<[u8]>]) -> Result<Option<Message>, MailError> {
        if self.gone.is_none() {
            return Ok(None);
        }
        let mut lines = Vec::new();
        let mut present = 0;
        for name in names {
            let cache_name = field::SEARCHED_HEADERS
                .iter()
                .find(|(header, _)| header.as_bytes().eq_ignore_ascii_case(name.as_ref()))
                .map(|&(_, cache_name)| cache_name)
                .ok_or_else(expunged)?;
            let value = self.gone_field(cache_name)?.unwrap_or_default();
            if !value.is_empty() {
                present += 1;
                lines.extend_from_slice(value);
            }
        }
        if present > 1 {
            return Err(expunged());
        }
        Ok(Some(Message::parse(lines)))
    }

    /// The message with its data, opened on first use.
    fn mail(&mut self) -> Result<&mut Mail, MailError> {
        match self.mail {
            Some(ref mut mail) => Ok(mail),
            None if self.gone.is_some() => Err(expunged()),
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

fn expunged() -> MailError {
    MailError::new(MailErrorKind::Expunged, "Message was expunged")
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
        if let Some(date) = self.gone_date(field::RECEIVED_DATE)? {
            return Ok(date);
        }
        match self.info.internal_date {
            Some(date) => Ok(date),
            None => self.mail()?.internal_date().map_err(message_error),
        }
    }

    fn save_date(&mut self) -> Result<Option<i64>, MailError> {
        if let Some(date) = self.gone_date(field::SAVE_DATE)? {
            return Ok(Some(date));
        }
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
        if let Some(header) = self.gone_header(&["Date"])? {
            return Ok(header.sent_date());
        }
        match self.mail()?.header_lines("Date").map_err(message_error)? {
            Some(lines) => Ok(Message::parse(lines).sent_date()),
            None => Ok(self.header_message()?.sent_date()),
        }
    }

    fn first_header(&mut self, name: &str) -> Result<Option<Vec<u8>>, MailError> {
        if let Some(header) = self.gone_header(&[name])? {
            return Ok(header.first_header(name));
        }
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
        if let Some(header) = self.gone_header(&[field])? {
            return Ok(header.search_header(field, value, how));
        }
        // The field's lines alone are a header that answers as the whole message does.
        match self.mail()?.header_lines(field).map_err(message_error)? {
            Some(lines) => Ok(Message::parse(lines).search_header(field, value, how)),
            None => Ok(self.header_message()?.search_header(field, value, how)),
        }
    }

    fn body_section(&mut self, section: &Section) -> Result<Vec<u8>, MailError> {
        if let (true, SectionText::HeaderFields(names)) = (section.part.is_empty(), &section.text) {
            if let Some(header) = self.gone_header(names)? {
                return Ok(header.body_section(section));
            }
        }
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
        if let Some(envelope) = self.gone_field(field::ENVELOPE)? {
            return Ok(envelope.to_vec());
        }
        self.mail()?.envelope().map_err(message_error)
    }

    fn body_structure(&mut self, extended: bool) -> Result<Vec<u8>, MailError> {
        let name = if extended {
            field::BODYSTRUCTURE
        } else {
            field::BODY
        };
        if let Some(structure) = self.gone_field(name)? {
            return Ok(structure.to_vec());
        }
        self.mail()?.body_structure(extended).map_err(message_error)
    }

    fn preview(&mut self, lazy: bool) -> Result<Option<String>, MailError> {
        if self.gone.is_some() {
            return match self.gone_field(field::SNIPPET) {
                Ok(value) => Ok(value.map(cached_snippet)),
                Err(_) if lazy => Ok(None),
                Err(e) => Err(e),
            };
        }
        self.mail()?.snippet(lazy).map_err(message_error)
    }
}
