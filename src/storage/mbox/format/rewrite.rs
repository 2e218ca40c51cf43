//! A message's header rewritten in place: Dovecot's own fields regenerated (new UID, flags,
//! keywords) inside the bytes the old header took, the difference absorbed by the
//! `X-Keywords:` padding. The From_ line and the body do not move, so other messages and
//! other programs' offsets stay valid; when the new fields do not fit, there is no in-place
//! answer (the file needs a rewrite that moves data).

use super::meta::{is_dovecot_header, status_fields, ImapBase};
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

/// Dovecot's fields for `update` after the message's other header fields, up to the
/// `X-Keywords:` names (padding, its line feed and the tail still to come), and the tail:
/// `Content-Length:` (when the file's was trusted) and the empty line.
fn header_parts(data: &[u8], msg: &MboxMessage, update: &HeaderUpdate<'_>) -> (Vec<u8>, Vec<u8>) {
    let header_end = if msg.has_eoh {
        msg.body_offset - 1
    } else {
        msg.end_offset
    };
    let mut out = Vec::with_capacity(header_end.saturating_sub(msg.header_offset) + 100);
    for f in fields(data, msg.header_offset, header_end) {
        if !is_dovecot_header(f.name) {
            out.extend_from_slice(f.raw);
            if !f.has_newline {
                out.push(b'\n');
            }
        }
    }
    if let Some(base) = update.base {
        out.extend_from_slice(format!("X-IMAPbase: {}\n", base.value()).as_bytes());
    }
    out.extend_from_slice(format!("X-UID: {}\n", update.uid).as_bytes());
    status_fields(
        &mut out,
        update.flags,
        update.old,
        msg.meta.status_other.as_deref(),
        msg.meta.xstatus_other.as_deref(),
    );
    out.extend_from_slice(b"X-Keywords:");
    for k in update.keywords {
        out.push(b' ');
        out.extend_from_slice(k.as_bytes());
    }
    let mut tail = Vec::new();
    if msg.content_length_trusted {
        tail.extend_from_slice(
            format!("Content-Length: {}\n", msg.end_offset - msg.body_offset).as_bytes(),
        );
    }
    tail.push(b'\n');
    (out, tail)
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
    let (mut out, tail) = header_parts(data, msg, update);
    // the X-Keywords line's own LF and the tail are still to come
    let room = old.len().checked_sub(out.len() + 1 + tail.len())?;
    out.extend(std::iter::repeat_n(b' ', room));
    out.push(b'\n');
    out.extend_from_slice(&tail);
    debug_assert_eq!(out.len(), old.len());
    Some(out)
}

/// The message written afresh (for a rewrite that moves data): its From_ line, its header
/// with Dovecot's fields for `update` (`X-Keywords:` padded as a save pads it, and
/// `Content-Length:` always), the empty line, the body as stored, and the separator line
/// feed.
pub fn regenerate_message(
    out: &mut Vec<u8>,
    data: &[u8],
    msg: &MboxMessage,
    update: &HeaderUpdate<'_>,
) {
    out.extend_from_slice(&data[msg.from_offset..msg.header_offset]);
    let trusted = MboxMessage {
        content_length_trusted: true,
        ..msg.clone()
    };
    let (head, tail) = header_parts(data, &trusted, update);
    out.extend_from_slice(&head);
    out.extend(std::iter::repeat_n(b' ', REGENERATED_PADDING));
    out.push(b'\n');
    out.extend_from_slice(&tail);
    out.extend_from_slice(msg.body(data));
    out.push(b'\n');
}

/// Spaces after `X-Keywords:`' names in a regenerated header (Dovecot's
/// `MBOX_HEADER_PADDING`).
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
