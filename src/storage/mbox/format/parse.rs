//! A whole mbox file into messages, as Dovecot's raw mbox reader splits it, and the UIDs
//! Dovecot's sync gives them.
//!
//! A message starts at a valid From_ line and ends at the line feed before the next valid
//! `\nFrom ` line; the line feed that ends the file is the last message's separator, not
//! part of it. `Content-Length:` is trusted only when a valid From_ line (or the end of the
//! file) follows exactly that many bytes after the header, so a body holding an unquoted
//! `From ` line stays whole, and a wrong length never swallows the next message.

use super::from_line::{parse_from_line, FromLine};
use super::meta::{is_dovecot_header, ImapBase, MessageMeta};
use crate::mail::header::{fields, is_empty_line, line_end};

/// Why bytes are not an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MboxFormatError {
    /// The file does not start with a valid From_ line.
    NoFromLine,
}

impl std::fmt::Display for MboxFormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MboxFormatError::NoFromLine => f.write_str("mbox file doesn't begin with From_ line"),
        }
    }
}

impl std::error::Error for MboxFormatError {}

/// One message's place in the file and what Dovecot's headers say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxMessage {
    /// Where its From_ line starts.
    pub from_offset: usize,
    pub from: FromLine,
    /// Where the header starts (after the From_ line).
    pub header_offset: usize,
    /// Where the body starts (after the empty line; `end_offset` when there is none).
    pub body_offset: usize,
    /// Where the message ends (the separator line feed, or the end of the file).
    pub end_offset: usize,
    /// Whether the header ended with an empty line.
    pub has_eoh: bool,
    /// Whether `Content-Length:` was present and matched the file.
    pub content_length_trusted: bool,
    pub meta: MessageMeta,
}

impl MboxMessage {
    /// The message as clients see it: the header without Dovecot's fields, the empty line,
    /// the body.
    pub fn visible(&self, data: &[u8]) -> Vec<u8> {
        let header_end = if self.has_eoh {
            self.body_offset
        } else {
            self.end_offset
        };
        let mut out = Vec::with_capacity(self.end_offset - self.header_offset);
        for f in fields(data, self.header_offset, header_end) {
            if !is_dovecot_header(f.name) {
                out.extend_from_slice(f.raw);
            }
        }
        if self.has_eoh {
            let eoh_len = if data.get(self.body_offset.wrapping_sub(2)) == Some(&b'\r') {
                2
            } else {
                1
            };
            out.extend_from_slice(&data[self.body_offset - eoh_len..self.body_offset]);
        }
        out.extend_from_slice(&data[self.body_offset..self.end_offset]);
        out
    }

    /// The body as stored.
    pub fn body<'a>(&self, data: &'a [u8]) -> &'a [u8] {
        &data[self.body_offset..self.end_offset]
    }
}

/// A parsed mbox file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MboxFile {
    /// The mailbox data: the pseudo message's `X-IMAP`, else the first message's
    /// `X-IMAPbase`.
    pub base: Option<ImapBase>,
    /// Dovecot's pseudo message (hidden from clients), if the file has one.
    pub pseudo: Option<MboxMessage>,
    /// The real messages, in file order.
    pub messages: Vec<MboxMessage>,
}

/// Whether a valid From_ line starts at `pos` (which must be at `From `).
fn from_line_at(data: &[u8], pos: usize) -> Option<FromLine> {
    let rest = data.get(pos..)?.strip_prefix(b"From ")?;
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    parse_from_line(&rest[..end])
}

/// Whether a message may end at `pos`: a line feed there followed by a valid From_ line or
/// by the end of the file (CRLF counted as one).
fn separator_at(data: &[u8], pos: usize) -> bool {
    let rest = &data[pos.min(data.len())..];
    let after = if rest.starts_with(b"\r\n") {
        pos + 2
    } else if rest.starts_with(b"\n") {
        pos + 1
    } else {
        return false;
    };
    after == data.len() || from_line_at(data, after).is_some()
}

/// The first message boundary after `from` (a header start: the From_ line's own line feed
/// does not count): (end of this message, start of the next From_ line); at the end of the
/// file, the final separator line feed is dropped.
fn next_boundary(data: &[u8], from: usize) -> (usize, usize) {
    let mut search = from.min(data.len());
    while let Some(i) = data[search..].windows(6).position(|w| w == b"\nFrom ") {
        let lf = search + i;
        if from_line_at(data, lf + 1).is_some() {
            let end = if lf > 0 && data[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            return (end.max(from), lf + 1);
        }
        search = lf + 1;
    }
    let mut end = data.len();
    if end > from && data[end - 1] == b'\n' {
        end -= 1;
        if end > from && data[end - 1] == b'\r' {
            end -= 1;
        }
    }
    (end, data.len())
}

/// Splits `data` (a whole mbox file) into messages.
pub fn parse_mbox(data: &[u8]) -> Result<MboxFile, MboxFormatError> {
    parse_mbox_at(data, 0)
}

/// Splits `data` into messages from `start` on (a From_ line must be there); offsets are
/// `data`'s. From a `start` past 0 the messages are read as the rest of a file: none is
/// the pseudo message, and `base` stays `None` (it is the first message's).
pub fn parse_mbox_at(data: &[u8], start: usize) -> Result<MboxFile, MboxFormatError> {
    let mut file = MboxFile::default();
    if data.len() <= start {
        return Ok(file);
    }
    let first_of_file = start == 0;
    let mut pos = start;
    while pos < data.len() {
        let from = from_line_at(data, pos).ok_or(MboxFormatError::NoFromLine)?;
        let header_offset = line_end(data, pos);
        // the header ends at an empty line, or early at a valid From_ line
        let mut line = header_offset;
        let mut has_eoh = false;
        while line < data.len() {
            if is_empty_line(data, line) {
                has_eoh = true;
                break;
            }
            if line > header_offset && from_line_at(data, line).is_some() {
                break;
            }
            line = line_end(data, line);
        }
        let (body_offset, header_end) = if has_eoh {
            (line_end(data, line), line)
        } else {
            (line, line)
        };
        let meta = MessageMeta::from_fields(&fields(data, header_offset, header_end));
        let by_length = meta
            .content_length
            .filter(|_| has_eoh)
            .and_then(|len| usize::try_from(len).ok())
            .and_then(|len| body_offset.checked_add(len))
            .filter(|&end| end <= data.len() && separator_at(data, end));
        let (end_offset, next) = match by_length {
            Some(end) => {
                let lf = if data[end] == b'\r' { end + 2 } else { end + 1 };
                (end, lf)
            }
            // "header\n\nFrom ...": that empty line already separates the next message
            None if has_eoh => next_boundary(data, body_offset - 1),
            None => next_boundary(data, header_offset),
        };
        let message = MboxMessage {
            from_offset: pos,
            from,
            header_offset,
            body_offset: body_offset.min(end_offset),
            end_offset,
            has_eoh: has_eoh && body_offset <= end_offset,
            content_length_trusted: by_length.is_some(),
            meta,
        };
        let first = first_of_file && file.messages.is_empty() && file.pseudo.is_none();
        if first && message.meta.pseudo.is_some() {
            file.base = message.meta.pseudo.clone();
            file.pseudo = Some(message);
        } else {
            if first {
                file.base = message.meta.imap_base.clone();
            }
            file.messages.push(message);
        }
        pos = next;
    }
    Ok(file)
}

/// The UID of one message after a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignedUid {
    pub uid: u32,
    /// The file's `X-UID:` already says so; false: the header must be (re)written.
    pub in_file: bool,
}

/// UIDs for every message of a file, as Dovecot's sync gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UidAssignment {
    /// From the file; `None`: the mailbox needs a new UIDVALIDITY.
    pub uid_validity: Option<u32>,
    pub uids: Vec<AssignedUid>,
    pub uid_next: u32,
}

/// Dovecot's rules: an `X-UID:` counts only if it grows strictly, is at most the next UID
/// (an incoming message may carry a forged one), and, on the first message, follows an
/// `X-IMAPbase:`; every other message gets the next UID in file order.
pub fn assign_uids(file: &MboxFile) -> UidAssignment {
    let mut uid_next = file.base.as_ref().map_or(1, ImapBase::uid_next).max(1);
    let mut prev = 0u32;
    let mut uids = Vec::with_capacity(file.messages.len());
    for (i, m) in file.messages.iter().enumerate() {
        let allowed = i > 0 || file.pseudo.is_some() || m.meta.imap_base.is_some();
        let kept = m
            .meta
            .x_uid
            .filter(|&v| allowed && v > prev && v <= uid_next);
        let assigned = match kept {
            Some(v) => AssignedUid {
                uid: v,
                in_file: true,
            },
            None => AssignedUid {
                uid: uid_next,
                in_file: false,
            },
        };
        if assigned.uid == uid_next {
            uid_next = uid_next.saturating_add(1);
        }
        prev = assigned.uid;
        uids.push(assigned);
    }
    UidAssignment {
        uid_validity: file.base.as_ref().map(|b| b.uid_validity),
        uids,
        uid_next,
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
