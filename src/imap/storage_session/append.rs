//! APPEND and MULTIAPPEND: the messages are collected as they arrive and saved in one storage
//! transaction at the end, so either all of them are saved or none (RFC 3502).
//!
//! Into the selected mailbox the messages are saved through the selected instance: it claims
//! them at once, so they are `\Recent` in this session as Dovecot makes them.

use std::io::Read;

use crate::imap::flags::FlagList;
use crate::imap::mail_session::{AppendResult, MailError, MailErrorKind};
use crate::imap::parser::append::MessageInfo;
use crate::storage::api::{Mailbox, NewMessage};
use crate::storage::error::StorageResult;

use super::selected::Selected;

/// Where the messages go.
enum Target {
    Selected,
    Other(Box<dyn Mailbox>),
}

/// One message being received.
struct Pending {
    flags: FlagList,
    date: Option<i64>,
    data: Vec<u8>,
    /// Sent as literal8 (its first part, under CATENATE): binary parts are converted.
    binary: Option<bool>,
    /// Made of CATENATE parts: it may be empty (Dovecot saves an empty message then).
    catenate: bool,
}

pub(super) struct AppendTx {
    target: Target,
    done: Vec<Pending>,
    current: Option<Pending>,
}

impl AppendTx {
    pub fn into_selected() -> AppendTx {
        AppendTx::new(Target::Selected)
    }

    pub fn into_other(mailbox: Box<dyn Mailbox>) -> AppendTx {
        AppendTx::new(Target::Other(mailbox))
    }

    fn new(target: Target) -> AppendTx {
        AppendTx {
            target,
            done: Vec::new(),
            current: None,
        }
    }

    /// The full name of the target mailbox (`selected`: the selected one's).
    pub fn target_vname(&self, selected: Option<&str>) -> Option<String> {
        match &self.target {
            Target::Selected => selected.map(str::to_string),
            Target::Other(mailbox) => Some(mailbox.vname().to_string()),
        }
    }

    /// The sizes of the messages received so far.
    pub fn pending_sizes(&self) -> impl Iterator<Item = u64> + '_ {
        self.done.iter().map(|m| m.data.len() as u64)
    }

    pub fn message(&mut self, info: &MessageInfo) -> Result<(), MailError> {
        self.current = Some(Pending {
            flags: info.flags.clone(),
            date: info.date.map(|(timestamp, _)| timestamp),
            data: Vec::new(),
            binary: None,
            catenate: info.catenate,
        });
        Ok(())
    }

    /// The message's data, or one CATENATE TEXT part of it (appended to what came before).
    /// `binary`: sent as literal8; what the first part was decides for the whole message
    /// (the parser refuses a literal8 after a first part that was not one).
    pub fn data(&mut self, data: &mut dyn Read, binary: bool) -> Result<(), MailError> {
        let current = self.current.as_mut().ok_or_else(no_message)?;
        current.binary.get_or_insert(binary);
        data.read_to_end(&mut current.data).map_err(|e| {
            MailError::new(
                MailErrorKind::Temp,
                format!(
                    "Reading the message failed: {}",
                    crate::errtext::os_error_text(&e)
                ),
            )
        })?;
        Ok(())
    }

    /// A CATENATE URL part's data (RFC 4469): it adds to the message as it is. A message
    /// whose first part is a URL is not converted from binary.
    pub fn part(&mut self, data: &[u8]) -> Result<(), MailError> {
        let current = self.current.as_mut().ok_or_else(no_message)?;
        current.binary.get_or_insert(false);
        current.data.extend_from_slice(data);
        Ok(())
    }

    pub fn message_end(&mut self) -> Result<(), MailError> {
        let mut current = self.current.take().ok_or_else(no_message)?;
        if current.binary == Some(true) {
            current.data = crate::mail::binary_append::convert_binary_parts(&current.data);
        }
        if current.data.is_empty() && !current.catenate {
            // Dovecot's text; no response code.
            return Err(MailError::new(
                MailErrorKind::InvalidData,
                "Can't save a zero byte message.",
            ));
        }
        self.done.push(current);
        Ok(())
    }

    /// Saves every message at once; with the UIDs they got (APPENDUID).
    pub fn commit(self, selected: Option<&mut Selected>) -> StorageResult<AppendResult> {
        let messages: Vec<NewMessage<'_>> = self
            .done
            .iter()
            .map(|m| NewMessage {
                data: &m.data,
                flags: m.flags.system,
                keywords: m.flags.keywords.clone(),
                internal_date: m.date,
            })
            .collect();
        let saved = match (self.target, selected) {
            (Target::Other(mut mailbox), _) => mailbox.save(&messages, true)?,
            (Target::Selected, Some(selected)) => selected.mailbox.save(&messages, true)?,
            // The selected mailbox was closed in the middle of the APPEND: cannot happen,
            // commands run one at a time.
            (Target::Selected, None) => {
                return Err(crate::storage::error::StorageError::not_possible(
                    "The mailbox was closed during APPEND",
                ))
            }
        };
        Ok(AppendResult {
            uid_validity: saved.uidvalidity,
            uids: saved.uids,
        })
    }
}

fn no_message() -> MailError {
    MailError::new(MailErrorKind::NotPossible, "No APPEND message in progress")
}
