//! METADATA (RFC 5464) as Dovecot 2.3 answers it (`cmd-getmetadata.c`,
//! `cmd-setmetadata.c`, `imap-metadata.c`): entry names map to attribute keys here, storage
//! keeps the attributes (`storage::attribute`).
//!
//! - GETMETADATA answers one `* METADATA` line per mailbox (none when nothing is found);
//!   values are always literals. DEPTH lists the entries below each one asked for (the dict's
//!   keys in key order, then the configured ones), MAXSIZE leaves longer values out and says
//!   `[METADATA LONGENTRIES n]`. A name with `*`/`%` asks every matching mailbox (Horde
//!   does, as Dovecot allows). Errors are sent as `* NO` after the line, the last one as the
//!   tagged `NO`.
//! - SETMETADATA changes all its entries or none. Values may be literals of any size up to
//!   the process's memory limit (`[METADATA MAXSIZE n]` beyond), or literal8.
//! - With `imap_metadata = no` the commands still reach `/private/specialuse`, as Dovecot's.
//!
//! Unsolicited METADATA responses would come through NOTIFY, whose metadata events
//! Dovecot 2.3 refuses (`NO [BADEVENT ...]`, as cote's NOTIFY does), so none are sent.

use std::io::{Read, Write};

use super::{Reply, Session, Step, WaitInput};
use crate::imap::mail_session::{MailError, MailErrorKind, MailSession};
use crate::imap::parser::command::decode_name;
use crate::imap::parser::metadata::{
    parse_setmetadata_entries, verify_entry_name, Depth, GetMetadata,
};
use crate::imap::parser::{Arg, CommandError, ParseError, Progress};
use crate::imap::response::Code;
use crate::mail::quote::append_astring;
use crate::storage::attribute::{
    AttributeChange, AttributeKey, AttributeType, PREFIX_DOVECOT_PVT, PREFIX_DOVECOT_PVT_SERVER,
};

/// The capability, when `imap_metadata = yes` and a `mail_attribute_dict` works.
pub const CAPABILITY: &str = "METADATA";

/// Dovecot's `imap_metadata_entry2key`: the attribute an entry name stands for; `None` for
/// Dovecot's internal ones (`/private/vendor/vendor.dovecot/pvt/...`), which IMAP cannot
/// reach. Server entries live under INBOX's server prefix.
pub fn entry_key(entry: &[u8], server: bool, validated: bool) -> Option<AttributeKey> {
    let entry = entry.to_ascii_lowercase();
    let (ty, rest) = match entry.strip_prefix(b"/private") {
        Some(rest) => (AttributeType::Private, rest),
        None => (AttributeType::Shared, entry.strip_prefix(b"/shared")?),
    };
    let key = rest.strip_prefix(b"/").unwrap_or(rest);
    if key.starts_with(PREFIX_DOVECOT_PVT.as_bytes()) {
        return None;
    }
    let mut full = Vec::new();
    if server {
        full.extend_from_slice(PREFIX_DOVECOT_PVT_SERVER.as_bytes());
    }
    full.extend_from_slice(key);
    Some(AttributeKey {
        ty,
        key: full,
        validated,
    })
}

/// One mailbox's `* METADATA` answer as it is built, and the errors to tell after it.
struct Answer {
    line: Vec<u8>,
    started: bool,
    delayed: Vec<String>,
}

/// What a GETMETADATA learnt across its mailboxes.
#[derive(Default)]
struct GetState {
    largest_skipped: u64,
    last_error: Option<MailError>,
}

impl GetState {
    /// Dovecot's `cmd_getmetadata_handle_error_str`: the previous error is told untagged.
    fn error(&mut self, answer: &mut Answer, e: MailError) {
        if let Some(prev) = self.last_error.replace(e) {
            answer.delayed.push(format!("* NO {}", prev.text));
        }
    }
}

impl<S: MailSession, R: Read + WaitInput, W: Write> Session<'_, S, R, W> {
    pub(super) fn getmetadata(&mut self, get: &GetMetadata) -> Step<Reply> {
        let mut state = GetState::default();
        if get.mailbox.is_empty() || !get.mailbox.contains(['*', '%']) {
            let mailbox = (!get.mailbox.is_empty()).then_some(get.mailbox.as_str());
            if let Err(e) = self.getmetadata_mailbox(get, mailbox, &mut state)? {
                return Ok(Reply::mail_error(&e, false));
            }
        } else {
            let names = match self.mail.attribute_mailboxes(&get.mailbox) {
                Ok(names) => names,
                Err(e) => return Ok(Reply::mail_error(&e, false)),
            };
            for name in names {
                if let Err(e) = self.getmetadata_mailbox(get, Some(&name), &mut state)? {
                    let line = format!("* NO Failed to open mailbox {name}: {}", e.text);
                    self.line(line.as_bytes())?;
                }
            }
        }
        Ok(if let Some(e) = state.last_error {
            Reply::mail_error(&e, false)
        } else if state.largest_skipped > 0 {
            Reply::ok_with(
                Code::Other(format!("METADATA LONGENTRIES {}", state.largest_skipped)),
                "Getmetadata completed.",
            )
        } else {
            Reply::ok("Getmetadata completed.")
        })
    }

    /// The entries of one mailbox (`None`: the server); `Ok(Err)` when it cannot be opened.
    fn getmetadata_mailbox(
        &mut self,
        get: &GetMetadata,
        mailbox: Option<&str>,
        state: &mut GetState,
    ) -> Step<Result<(), MailError>> {
        let vname = match self.mail.attribute_mailbox(mailbox) {
            Ok(vname) => vname,
            Err(e) => return Ok(Err(e)),
        };
        let server = mailbox.is_none();
        let validated = !self.settings.metadata;
        let mut answer = Answer {
            line: b"* METADATA ".to_vec(),
            started: false,
            delayed: Vec::new(),
        };
        if server {
            answer.line.extend_from_slice(b"\"\"");
        } else {
            self.names().append(&mut answer.line, &vname);
        }
        answer.line.extend_from_slice(b" (");
        for entry in &get.entries {
            self.metadata_entry(get, entry, server, &mut answer, state);
            if get.depth == Depth::Zero {
                continue;
            }
            // Dovecot's imap_metadata_iter_init: the entry's key plus "/" (even for the
            // server's root, whose key already ends with one).
            let Some(mut prefix) = entry_key(entry, server, validated) else {
                continue;
            };
            if !prefix.key.is_empty() {
                prefix.key.push(b'/');
            }
            let keys = match self.mail.attribute_keys(&prefix) {
                Ok(keys) => keys,
                // DEPTH over attributes that are not enabled: what can be found is listed.
                Err(e) if e.kind == MailErrorKind::NotPossible => Vec::new(),
                Err(e) => {
                    state.error(&mut answer, e);
                    Vec::new()
                }
            };
            for sub in keys {
                if get.depth == Depth::One && sub.contains(&b'/') {
                    continue;
                }
                let mut name = entry.clone();
                name.push(b'/');
                name.extend_from_slice(&sub);
                self.metadata_entry(get, &name, server, &mut answer, state);
            }
        }
        if answer.started {
            answer.line.push(b')');
            self.line(&answer.line)?;
        }
        for line in &answer.delayed {
            self.line(line.as_bytes())?;
        }
        Ok(Ok(()))
    }

    /// One entry's value into the answer: NIL when it has none and DEPTH is 0 (a listed
    /// entry without a value is left out), nothing when it is longer than MAXSIZE.
    fn metadata_entry(
        &mut self,
        get: &GetMetadata,
        entry: &[u8],
        server: bool,
        answer: &mut Answer,
        state: &mut GetState,
    ) {
        let validated = !self.settings.metadata;
        let value = match entry_key(entry, server, validated) {
            None => None,
            Some(key) => match self.mail.attribute_get(&key) {
                Ok(value) => value,
                Err(e) if e.kind == MailErrorKind::NotPossible && get.depth != Depth::Zero => None,
                Err(e) => {
                    state.error(answer, e);
                    return;
                }
            },
        };
        let line = &mut answer.line;
        let mut add_entry = |line: &mut Vec<u8>| {
            if answer.started {
                line.push(b' ');
            }
            answer.started = true;
            append_astring(line, entry);
        };
        match value {
            None if get.depth == Depth::Zero => {
                add_entry(line);
                line.extend_from_slice(b" NIL");
            }
            None => {}
            Some(v) if v.len() as u64 > u64::from(get.max_size) => {
                state.largest_skipped = state.largest_skipped.max(v.len() as u64);
            }
            Some(v) => {
                add_entry(line);
                line.extend_from_slice(format!(" {{{}}}\r\n", v.len()).as_bytes());
                line.extend_from_slice(&v);
            }
        }
    }

    /// SETMETADATA, read as it comes: values may be literals larger than a command line.
    /// `None`: answered already (a parse error).
    pub(super) fn setmetadata(&mut self) -> Step<Option<Reply>> {
        let mut progress = self.parser.args_streaming();
        // The mailbox, once known (a value literal ends what the parser keeps).
        let mut mailbox: Option<Vec<u8>> = None;
        // The list's items before the last value literal.
        let mut items: Vec<Arg> = Vec::new();
        let mut streamed = false;
        // The answer, once a failure is known: the rest of the command is read and dropped.
        let mut failed: Option<CommandError> = None;
        // The mailbox was looked up (Dovecot does before reading any value).
        let mut target: Option<Option<String>> = None;
        loop {
            match progress {
                Err(e) => {
                    if let Some(failure) = failed {
                        return self.command_failed(failure);
                    }
                    self.parse_error(e)?;
                    return Ok(None);
                }
                Ok(Progress::Literal { size, sync }) => {
                    let partial = self.parser.partial_args();
                    if !streamed && partial.root.is_empty() && partial.open.is_empty() {
                        // The mailbox name as a literal: part of the command line.
                        if size > self.parser.line_room() {
                            self.parse_error(ParseError::LiteralTooLarge)?;
                            return Ok(None);
                        }
                        let data = self.read_literal(size, sync)?;
                        self.parser.provide_literal(data);
                        let (line, end) = self.read_line()?;
                        progress = self.parser.continue_line(&line, end);
                        continue;
                    }
                    if failed.is_none() {
                        failed = self.setmetadata_literal_check(
                            &mut mailbox,
                            &mut items,
                            &mut target,
                            size,
                        );
                    }
                    if let Some(failure) = &failed {
                        if sync {
                            // The client waits for "+ OK": it gets the answer instead.
                            let failure = failure.clone();
                            return self.command_failed(failure);
                        }
                        self.skip_literal(size)?;
                    } else {
                        let data = self.read_literal(size, sync)?;
                        items.push(Arg::Literal(data));
                    }
                    streamed = true;
                    self.parser.literal_streamed();
                    let (line, end) = self.read_line()?;
                    progress = self.parser.continue_line(&line, end);
                }
                Ok(Progress::Done(args)) => {
                    if let Some(failure) = failed {
                        return self.command_failed(failure);
                    }
                    let (name, list) = if streamed {
                        (mailbox.clone(), args.first())
                    } else {
                        (
                            args.first().and_then(Arg::as_astring).map(<[u8]>::to_vec),
                            args.get(1),
                        )
                    };
                    let (Some(name), Some(Arg::List(rest))) = (name, list) else {
                        return self.command_failed(CommandError::invalid_arguments());
                    };
                    items.extend(rest.iter().cloned());
                    let target = match target {
                        Some(target) => target,
                        None => match self.setmetadata_target(&name) {
                            Ok(target) => target,
                            Err(failure) => return self.command_failed(failure),
                        },
                    };
                    return match parse_setmetadata_entries(&items) {
                        Ok(pairs) => Ok(Some(self.setmetadata_apply(target.as_deref(), pairs))),
                        Err(failure) => self.command_failed(failure),
                    };
                }
            }
        }
    }

    /// Before a value literal is read: the arguments so far must be right, the mailbox must
    /// exist and the value fit. Returns the failure, if any; keeps the items parsed so far.
    fn setmetadata_literal_check(
        &mut self,
        mailbox: &mut Option<Vec<u8>>,
        items: &mut Vec<Arg>,
        target: &mut Option<Option<String>>,
        size: usize,
    ) -> Option<CommandError> {
        let partial = self.parser.partial_args();
        if mailbox.is_none() {
            match partial.root {
                [name] if name.as_astring().is_some() && partial.open.len() == 1 => {
                    *mailbox = name.as_astring().map(<[u8]>::to_vec);
                }
                _ => return Some(CommandError::invalid_arguments()),
            }
        }
        let [list] = partial.open else {
            return Some(CommandError::bad("Entry value can't be a list"));
        };
        items.extend(list.iter().cloned());
        // Dovecot opens the mailbox before it reads any entry.
        if target.is_none() {
            let name = mailbox.clone().unwrap_or_default();
            match self.setmetadata_target(&name) {
                Ok(found) => *target = Some(found),
                Err(failure) => return Some(failure),
            }
        }
        if items.len() % 2 == 0 {
            // The literal is an entry name: it must fit in a command line.
            if size > self.settings.max_line_length {
                return Some(CommandError::bad(ParseError::LiteralTooLarge.message()));
            }
            return parse_setmetadata_entries(items).err();
        }
        // The pairs before, and the name this value is for.
        if let Err(e) = parse_setmetadata_entries(&items[..items.len() - 1]) {
            return Some(e);
        }
        match items[items.len() - 1].as_astring().map(verify_entry_name) {
            None => return Some(CommandError::bad("Entry name isn't astring")),
            Some(Err(e)) => return Some(CommandError::bad(e)),
            Some(Ok(())) => {}
        }
        if let Some(limit) = self.settings.max_composed_size {
            if size as u64 > limit {
                return Some(CommandError::no(
                    Some(Code::Other(format!("METADATA MAXSIZE {limit}"))),
                    "Entry value is too large.",
                ));
            }
        }
        None
    }

    /// The mailbox SETMETADATA changes (`None`: the server), opened.
    fn setmetadata_target(&mut self, name: &[u8]) -> Result<Option<String>, CommandError> {
        let mailbox = if name.is_empty() {
            None
        } else {
            Some(decode_name(name, &self.parse_context())?)
        };
        match self.mail.attribute_mailbox(mailbox.as_deref()) {
            Ok(_) => Ok(mailbox),
            Err(e) => Err(CommandError::no(e.code(false), e.text)),
        }
    }

    fn setmetadata_apply(
        &mut self,
        mailbox: Option<&str>,
        pairs: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Reply {
        let server = mailbox.is_none();
        let validated = !self.settings.metadata;
        let mut changes = Vec::new();
        for (entry, value) in pairs {
            let Some(key) = entry_key(&entry, server, validated) else {
                return Reply::no(
                    Some(Code::Cannot),
                    "Internal mailbox attributes cannot be accessed",
                );
            };
            changes.push(AttributeChange { key, value });
        }
        match self.mail.attribute_set(&changes) {
            Ok(()) => Reply::ok("Setmetadata completed."),
            Err(e) => Reply::mail_error(&e, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_to_keys() {
        let k = entry_key(b"/PRIVATE/Comment", false, false).unwrap();
        assert_eq!(
            (k.ty, k.key.as_slice()),
            (AttributeType::Private, &b"comment"[..])
        );
        let k = entry_key(b"/shared", false, true).unwrap();
        assert_eq!(
            (k.ty, k.key.as_slice(), k.validated),
            (AttributeType::Shared, &b""[..], true)
        );
        let k = entry_key(b"/shared/comment", true, false).unwrap();
        assert_eq!(k.key, b"vendor/vendor.dovecot/pvt/server/comment");
        let k = entry_key(b"/private", true, false).unwrap();
        assert_eq!(k.key, b"vendor/vendor.dovecot/pvt/server/");
        assert!(entry_key(b"/private/vendor/vendor.dovecot/pvt/x", false, false).is_none());
        assert!(entry_key(b"/shared/vendor/vendor.dovecot/pvt/server/x", true, false).is_none());
        assert!(entry_key(b"/private/vendor/vendor.dovecot/x", false, false).is_some());
    }
}
