//! A message's header rewritten in place: Dovecot's own fields regenerated (new UID, flags,
//! keywords) inside the bytes the old header took, the difference absorbed by padding. The
//! From_ line and the body do not move, so other messages and other programs' offsets stay
//! valid; when the new fields do not fit, there is no in-place answer (the file needs a
//! rewrite that moves data).
//!
//! The layout is Dovecot's sync's: each field stays where it is, Dovecot's fields get their
//! new values in place, the ones missing are added after the others (`X-IMAPbase:`,
//! `X-UID:`, `Status:`, `X-Status:`, `X-Keywords:` when there are keywords,
//! `Content-Length:` for a body of 1024 bytes or more), and the padding is spaces at the end
//! of the `X-Keywords:` line, or of the `X-UID:` line when there is none.

use super::meta::{is_dovecot_header, status_field, xstatus_field, ImapBase};
use super::parse::MboxMessage;
use crate::mail::header::fields;
use crate::storage::flags::MailFlags;

/// What a message's header must say after the rewrite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderUpdate<'a> {
    pub uid: u32,
    pub flags: MailFlags,
    pub keywords: &'a [String],
    /// `Status:` gets `O` (the message is no longer \Recent).
    pub old: bool,
    /// `Some` for the file's first message: its `X-IMAPbase:`.
    pub base: Option<&'a ImapBase>,
}

/// The smallest body Dovecot's sync gives a `Content-Length:` it did not have
/// (`MBOX_MIN_CONTENT_LENGTH_SIZE`).
const MIN_CONTENT_LENGTH_BODY: usize = 1024;

/// The header after `update` (every line with its LF, without the empty line), and where
/// its padding goes: the offset of the LF ending the `X-Keywords:` or `X-UID:` line.
fn header_parts(data: &[u8], msg: &MboxMessage, update: &HeaderUpdate<'_>) -> (Vec<u8>, usize) {
    let header_end = if msg.has_eoh {
        msg.body_offset - 1
    } else {
        msg.end_offset
    };
    let body_len = msg.end_offset - msg.body_offset;
    let mut out = Vec::with_capacity(header_end.saturating_sub(msg.header_offset) + 100);
    let mut done = Written::default();
    for f in fields(data, msg.header_offset, header_end) {
        if !is_dovecot_header(f.name) {
            out.extend_from_slice(f.raw);
            if !f.has_newline {
                out.push(b'\n');
            }
        } else if f.is("X-IMAPbase") {
            if let (Some(base), false) = (update.base, done.base) {
                push_base(&mut out, base);
                done.base = true;
            }
        } else if f.is("X-UID") {
            if done.uid_end.is_none() {
                done.uid_end = Some(push_uid(&mut out, update.uid));
            }
        } else if f.is("Status") {
            if !done.status {
                let other = msg.meta.status_other.as_deref().unwrap_or_default();
                status_field(&mut out, update.flags, update.old, Some(other));
                done.status = true;
            }
        } else if f.is("X-Status") {
            if !done.xstatus {
                let other = msg.meta.xstatus_other.as_deref().unwrap_or_default();
                xstatus_field(&mut out, update.flags, Some(other));
                done.xstatus = true;
            }
        } else if f.is("X-Keywords") {
            if done.keywords_end.is_none() {
                done.keywords_end = Some(push_keywords(&mut out, update.keywords));
            }
        } else if f.is("Content-Length") && msg.content_length_trusted && !done.length {
            out.extend_from_slice(format!("Content-Length: {body_len}\n").as_bytes());
            done.length = true;
        }
        // (an `X-IMAP:` outside the pseudo message, and repeats, are dropped)
    }
    if let (Some(base), false) = (update.base, done.base) {
        push_base(&mut out, base);
    }
    let uid_end = match done.uid_end {
        Some(end) => end,
        None => push_uid(&mut out, update.uid),
    };
    if !done.status {
        status_field(&mut out, update.flags, update.old, None);
    }
    if !done.xstatus {
        xstatus_field(&mut out, update.flags, None);
    }
    if done.keywords_end.is_none() && !update.keywords.is_empty() {
        done.keywords_end = Some(push_keywords(&mut out, update.keywords));
    }
    if !done.length && body_len >= MIN_CONTENT_LENGTH_BODY {
        out.extend_from_slice(format!("Content-Length: {body_len}\n").as_bytes());
    }
    (out, done.keywords_end.unwrap_or(uid_end))
}

/// Which of Dovecot's fields [`header_parts`] has written, and where the padding lines end.
#[derive(Default)]
struct Written {
    base: bool,
    uid_end: Option<usize>,
    status: bool,
    xstatus: bool,
    keywords_end: Option<usize>,
    length: bool,
}

fn push_base(out: &mut Vec<u8>, base: &ImapBase) {
    out.extend_from_slice(format!("X-IMAPbase: {}\n", base.value()).as_bytes());
}

/// Writes the `X-UID:` line; returns the offset of its LF.
fn push_uid(out: &mut Vec<u8>, uid: u32) -> usize {
    out.extend_from_slice(format!("X-UID: {uid}").as_bytes());
    out.push(b'\n');
    out.len() - 1
}

/// Writes the `X-Keywords:` line; returns the offset of its LF.
fn push_keywords(out: &mut Vec<u8>, keywords: &[String]) -> usize {
    out.extend_from_slice(b"X-Keywords:");
    for k in keywords {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
    }
    out.push(b'\n');
    out.len() - 1
}

/// The bytes to write over `data[msg.header_offset..msg.body_offset]` (the header and its
/// empty line), or `None` when the update does not fit in place (or the header has no empty
/// line, or CRLF line ends, which cote does not rewrite).
pub fn rewrite_header(
    data: &[u8],
    msg: &MboxMessage,
    update: &HeaderUpdate<'_>,
) -> Option<Vec<u8>> {
    if !msg.has_eoh {
        return None;
    }
    let old = data.get(msg.header_offset..msg.body_offset)?;
    if old.contains(&b'\r') {
        return None;
    }
    let (mut out, pad_at) = header_parts(data, msg, update);
    // the empty line is still to come
    let room = old.len().checked_sub(out.len() + 1)?;
    out.splice(pad_at..pad_at, std::iter::repeat_n(b' ', room));
    out.push(b'\n');
    debug_assert_eq!(out.len(), old.len());
    Some(out)
}

/// The message written afresh (for a rewrite that moves data): its From_ line, its header
/// with Dovecot's fields for `update` and Dovecot's padding, the empty line, the body as
/// stored, and the separator line feed.
pub fn regenerate_message(
    out: &mut Vec<u8>,
    data: &[u8],
    msg: &MboxMessage,
    update: &HeaderUpdate<'_>,
) {
    out.extend_from_slice(&data[msg.from_offset..msg.header_offset]);
    let (mut head, pad_at) = header_parts(data, msg, update);
    head.splice(
        pad_at..pad_at,
        std::iter::repeat_n(b' ', REGENERATED_PADDING),
    );
    out.extend_from_slice(&head);
    out.push(b'\n');
    out.extend_from_slice(msg.body(data));
    out.push(b'\n');
}

/// Spaces of padding in a regenerated header (Dovecot's `MBOX_HEADER_PADDING`).
const REGENERATED_PADDING: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::mbox::format::parse::{assign_uids, parse_mbox};
    use crate::storage::mbox::format::write::{append_message, NewMessage};

    fn written(keywords: &[String], base: &ImapBase) -> Vec<u8> {
        let mut out = Vec::new();
        for (uid, body) in [
            (1, &b"Subject: a\n\nFrom x\n"[..]),
            (2, b"Subject: b\n\nbody\n"),
        ] {
            append_message(
                &mut out,
                &NewMessage {
                    sender: "a@b",
                    received: 0,
                    local_offset_minutes: 0,
                    uid,
                    flags: MailFlags::empty(),
                    keywords: if uid == 1 { keywords } else { &[] },
                    base: (uid == 1).then_some(base),
                    message: body,
                    delivery_id: None,
                },
            );
        }
        out
    }

    #[test]
    fn flags_and_keywords_change_in_place() {
        let kws = vec!["$Work".to_string(), "Later".to_string()];
        let base = ImapBase {
            uid_validity: 5,
            last_uid: 2,
            keywords: kws.clone(),
        };
        let mut data = written(&[], &base);
        let file = parse_mbox(&data).unwrap();
        let m = &file.messages[0];
        let all = MailFlags::ALL;
        let new = rewrite_header(
            &data,
            m,
            &HeaderUpdate {
                uid: 1,
                flags: all,
                keywords: &kws,
                old: false,
                base: Some(&base),
            },
        )
        .unwrap();
        data.splice(m.header_offset..m.body_offset, new);
        let file = parse_mbox(&data).unwrap();
        assert_eq!(file.messages.len(), 2);
        let m = &file.messages[0];
        assert_eq!((m.meta.flags, &m.meta.keywords), (all, &kws));
        assert!(m.content_length_trusted);
        assert_eq!(m.visible(&data), b"Subject: a\n\nFrom x\n");
        assert_eq!(file.base, Some(base));
        let uids = assign_uids(&file);
        assert!(uids.uids.iter().all(|u| u.in_file));
    }

    /// Dovecot's layout: fields stay in place, missing ones follow, padding ends the
    /// X-Keywords line (or the X-UID line without one).
    #[test]
    fn fields_stay_in_place_and_missing_ones_follow() {
        let data = b"From a@b Thu Nov 29 22:33:52 2001\nReceived: x\nStatus: RO\nSubject: s\n\n\
            body\n\nFrom a@b Thu Nov 29 22:33:52 2001\nX-UID: 9\nSubject: t\n\nbody\n";
        let file = parse_mbox(data).unwrap();
        let kws = vec!["$Work".to_string()];
        let mut out = Vec::new();
        let first = HeaderUpdate {
            uid: 1,
            flags: MailFlags::SEEN | MailFlags::FLAGGED,
            keywords: &kws,
            old: true,
            base: Some(&ImapBase {
                uid_validity: 5,
                last_uid: 2,
                keywords: kws.clone(),
            }),
        };
        regenerate_message(&mut out, data, &file.messages[0], &first);
        let second = HeaderUpdate {
            uid: 2,
            flags: MailFlags::empty(),
            keywords: &[],
            old: true,
            base: None,
        };
        regenerate_message(&mut out, data, &file.messages[1], &second);
        let pad = " ".repeat(REGENERATED_PADDING);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "From a@b Thu Nov 29 22:33:52 2001\nReceived: x\nStatus: RO\nSubject: s\n\
                 X-IMAPbase: 5 0000000002 $Work\nX-UID: 1\nX-Status: F\nX-Keywords: $Work{pad}\n\n\
                 body\n\nFrom a@b Thu Nov 29 22:33:52 2001\nX-UID: 2{pad}\nSubject: t\nStatus: O\n\n\
                 body\n"
            )
        );
    }

    #[test]
    fn no_room_is_no_answer() {
        let data = b"From a@b Thu Nov 29 22:33:52 2001\nSubject: x\n\nbody\n";
        let file = parse_mbox(data).unwrap();
        let update = HeaderUpdate {
            uid: 1,
            flags: MailFlags::SEEN,
            keywords: &[],
            old: false,
            base: None,
        };
        assert_eq!(rewrite_header(data, &file.messages[0], &update), None);
    }
}
