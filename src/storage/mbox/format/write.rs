//! One message appended the way Dovecot's mbox save code writes it: the From_ line, the
//! message's header without the fields the store owns (and without CRs), `X-IMAPbase:`
//! when it is the file's first message, `X-UID:`, `Status:`, `X-Status:`, `X-Keywords:`
//! padded with spaces (room for flag and keyword changes in place) that end in
//! `Content-Length:`, the empty line, the body (LF line ends, ending in a LF: an empty body
//! is one LF), and the empty separator line. With `pop3_uidl_format` using `%m`, an
//! `X-Delivery-ID:` comes first, so that equal messages get different header MD5s.

use super::from_line::format_from_line;
use super::meta::{status_lines, ImapBase};
use crate::mail::header::{fields, is_empty_line};
use crate::storage::flags::MailFlags;

/// Header fields of incoming mail that the store owns: dropped on save.
const SAVE_DROP_HEADERS: [&str; 8] = [
    "Content-Length",
    "Status",
    "X-Delivery-ID",
    "X-IMAP",
    "X-IMAPbase",
    "X-Keywords",
    "X-Status",
    "X-UID",
];

/// Spaces after `X-Keywords:`' names: Dovecot's 50-byte padding plus room for
/// `Content-Length: <any 64-bit number>`, which is written over the padding's end.
const KEYWORDS_PADDING: usize = 51 + "Content-Length: \n".len() + 23;

/// What one append needs.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// Envelope sender for the From_ line (`MAILER-DAEMON` when empty).
    pub sender: &'a str,
    /// Received time (UTC timestamp) and the local zone's offset then, for the From_ line.
    pub received: i64,
    pub local_offset_minutes: i32,
    pub uid: u32,
    pub flags: MailFlags,
    pub keywords: &'a [String],
    /// `Some` when the file is empty: the mailbox data to write as `X-IMAPbase:`.
    pub base: Option<&'a ImapBase>,
    /// The message as the client sent it.
    pub message: &'a [u8],
    /// `Some`: the digest an `X-Delivery-ID:` header shows (see [`delivery_id`]).
    pub delivery_id: Option<[u8; 16]>,
}

/// The digest of a new `X-Delivery-ID:` as Dovecot makes it: MD5 of the time (seconds and
/// microseconds, native byte order) and eight random bytes.
pub fn delivery_id(secs: i64, micros: i64, random: [u8; 8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut md5 = Md5::new();
    md5.update(secs.to_ne_bytes());
    md5.update(micros.to_ne_bytes());
    md5.update(random);
    md5.finalize().into()
}

/// The message without CRs before LFs (`mail_save_crlf = no`, Dovecot's default).
fn to_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for (i, &b) in data.iter().enumerate() {
        if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// Appends the bytes Dovecot would write for `msg` to `out` (which holds the file so far,
/// or just the tail: only whether it is empty matters to the caller, via `msg.base`).
pub fn append_message(out: &mut Vec<u8>, msg: &NewMessage<'_>) {
    let sender = if msg.sender.is_empty() {
        "MAILER-DAEMON"
    } else {
        msg.sender
    };
    out.extend_from_slice(
        format_from_line(sender, msg.received, msg.local_offset_minutes).as_bytes(),
    );
    if let Some(id) = &msg.delivery_id {
        use base64::Engine;
        let id = base64::engine::general_purpose::STANDARD.encode(id);
        out.extend_from_slice(format!("X-Delivery-ID: {id}\n").as_bytes());
    }
    let data = to_lf(msg.message);
    let header = fields(&data, 0, data.len());
    let header_len: usize = header.iter().map(|f| f.raw.len()).sum();
    for f in &header {
        if !SAVE_DROP_HEADERS
            .iter()
            .any(|h| h.as_bytes().eq_ignore_ascii_case(f.name))
        {
            out.extend_from_slice(f.raw);
            if !f.has_newline {
                out.push(b'\n');
            }
        }
    }
    let body_start = if is_empty_line(&data, header_len) {
        header_len + 1
    } else {
        header_len
    };
    let body = &data[body_start.min(data.len())..];
    if let Some(base) = msg.base {
        out.extend_from_slice(format!("X-IMAPbase: {}\n", base.value()).as_bytes());
    }
    out.extend_from_slice(format!("X-UID: {}\n", msg.uid).as_bytes());
    out.extend_from_slice(status_lines(msg.flags, false).as_bytes());
    let mut keywords = String::from("X-Keywords:");
    for k in msg.keywords {
        keywords.push(' ');
        keywords.push_str(k);
    }
    let add_lf = !body.ends_with(b"\n");
    let body_len = body.len() + usize::from(add_lf);
    let length = format!("\nContent-Length: {body_len}");
    // Dovecot writes X-IMAPbase without keywords and adds them when it syncs after the
    // save, taking the room from this padding.
    let base_keywords: usize = msg
        .base
        .map_or(0, |b| b.keywords.iter().map(|k| k.len() + 1).sum());
    let padding = KEYWORDS_PADDING
        .saturating_sub(length.len())
        .saturating_sub(base_keywords);
    keywords.extend(std::iter::repeat_n(' ', padding));
    keywords.push_str(&length);
    keywords.push_str("\n\n");
    out.extend_from_slice(keywords.as_bytes());
    out.extend_from_slice(body);
    if add_lf {
        out.push(b'\n');
    }
    // the separator line
    out.push(b'\n');
}

/// Dovecot's pseudo message, which keeps the mailbox data (`X-IMAP:`) in a file whose
/// messages are all expunged, hidden from clients; `received` and `local_offset_minutes`
/// date it as a From_ line does.
pub fn pseudo_message(
    out: &mut Vec<u8>,
    base: &ImapBase,
    received: i64,
    local_offset_minutes: i32,
    hostname: &str,
) {
    out.extend_from_slice(
        format_from_line("MAILER-DAEMON", received, local_offset_minutes).as_bytes(),
    );
    let date = crate::mail::date::format_message_date(received, local_offset_minutes);
    out.extend_from_slice(
        format!(
            "Date: {date}\nFrom: Mail System Internal Data <MAILER-DAEMON@{hostname}>\n\
             Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n\
             Message-ID: <{received}@{hostname}>\nX-IMAP: {}\nStatus: RO\n\n\
             This text is part of the internal format of your mail folder, and is not\n\
             a real message.  It is created automatically by the mail system software.\n\
             If deleted, important folder data will be lost, and it will be re-created\n\
             with the data reset to initial values.\n\n",
            base.value()
        )
        .as_bytes(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::date::utc_timestamp;
    use crate::storage::mbox::format::parse::{assign_uids, parse_mbox};
    use proptest::prelude::*;

    fn new<'a>(uid: u32, message: &'a [u8], base: Option<&'a ImapBase>) -> NewMessage<'a> {
        NewMessage {
            sender: "alice@vm",
            received: utc_timestamp(2026, 10, 28, 15, 9, 59),
            local_offset_minutes: 0,
            uid,
            flags: MailFlags::empty(),
            keywords: &[],
            base,
            message,
            delivery_id: None,
        }
    }

    #[test]
    fn writes_what_dovecot_writes() {
        let base = ImapBase {
            uid_validity: 1795878599,
            last_uid: 1,
            keywords: vec![],
        };
        let mut out = Vec::new();
        let mut m = new(1, b"From: a@example.com\r\nSubject: mbox test\r\nX-UID: 77\r\n\r\nhello\r\nFrom the body line\r\n", Some(&base));
        m.flags = MailFlags::SEEN;
        append_message(&mut out, &m);
        let text = String::from_utf8(out).unwrap();
        let expected_kw = format!("X-Keywords:{}\nContent-Length: 25\n", " ".repeat(91 - 19));
        assert_eq!(
            text,
            format!(
                "From alice@vm  Sat Nov 28 15:09:59 2026\nFrom: a@example.com\nSubject: mbox test\n\
                 X-IMAPbase: 1795878599 0000000001\nX-UID: 1\nStatus: R\n{expected_kw}\n\
                 hello\nFrom the body line\n\n"
            )
        );
    }

    #[test]
    fn delivery_id_comes_first_and_keywords_of_the_base_take_padding() {
        let base = ImapBase {
            uid_validity: 7,
            last_uid: 1,
            keywords: vec!["$Work".to_string()],
        };
        let mut m = new(1, b"Subject: s\n\n", Some(&base));
        m.delivery_id = Some(delivery_id(1, 2, [3; 8]));
        let mut out = Vec::new();
        append_message(&mut out, &m);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("X-Delivery-ID: "), "{text}");
        assert_eq!(lines[1].len(), "X-Delivery-ID: ".len() + 24);
        assert_eq!(lines[2], "Subject: s");
        assert_eq!(lines[3], "X-IMAPbase: 7 0000000001 $Work");
        // " $Work" (6 bytes) less padding than without keywords; the empty body is one LF
        let padding = 91 - "\nContent-Length: 1".len() - 6;
        assert_eq!(lines[6], format!("X-Keywords:{}", " ".repeat(padding)));
        assert_eq!(lines[7], "Content-Length: 1");
        // the empty line, the body's LF, the separator
        assert_eq!(&lines[8..], ["", "", ""]);
    }

    #[test]
    fn body_without_final_lf_gets_one() {
        let mut out = Vec::new();
        append_message(&mut out, &new(3, b"Subject: x\n\nno lf", None));
        let file = parse_mbox(&out).unwrap();
        let m = &file.messages[0];
        assert!(m.content_length_trusted);
        assert_eq!(m.body(&out), b"no lf\n");
        assert_eq!(m.visible(&out), b"Subject: x\n\nno lf\n");
    }

    proptest! {
        /// Whatever the bodies hold (From_ lines included), appended messages read back
        /// whole, with their UIDs, flags and keywords, Dovecot's headers hidden.
        #[test]
        fn appended_messages_read_back(
            bodies in proptest::collection::vec(
                proptest::collection::vec(prop_oneof![
                    Just("From a@b Thu Nov 29 22:33:52 2001\n".to_string()),
                    Just("\n".to_string()),
                    Just(">From x\n".to_string()),
                    "[ -~]{0,20}\n",
                ], 0..6).prop_map(|v| v.concat()),
                1..5),
            flag_bits in proptest::collection::vec(0u8..32, 5),
        ) {
            let keywords = vec!["$Work".to_string(), "Later".to_string()];
            let base = ImapBase { uid_validity: 42, last_uid: 1, keywords: keywords.clone() };
            let mut out = Vec::new();
            let mut expected = Vec::new();
            for (i, body) in bodies.iter().enumerate() {
                let message = format!("Subject: m{i}\nX-UID: 999\nStatus: RO\n\n{body}");
                let mut m = new(i as u32 + 1, message.as_bytes(), (i == 0).then_some(&base));
                m.flags = MailFlags::from_bits_truncate(flag_bits[i]);
                m.keywords = if i % 2 == 0 { &keywords } else { &[] };
                append_message(&mut out, &m);
                let body = if body.is_empty() { "\n" } else { body.as_str() };
                expected.push((format!("Subject: m{i}\n\n{body}"), m.flags, m.keywords.to_vec()));
            }
            let file = parse_mbox(&out).unwrap();
            prop_assert_eq!(file.messages.len(), bodies.len());
            let uids = assign_uids(&file);
            prop_assert_eq!(uids.uid_validity, Some(42));
            for (i, (m, (text, flags, kws))) in file.messages.iter().zip(&expected).enumerate() {
                prop_assert!(m.content_length_trusted);
                let visible = m.visible(&out);
                prop_assert_eq!(String::from_utf8_lossy(&visible), text.as_str());
                prop_assert_eq!(m.meta.flags, *flags);
                prop_assert_eq!(&m.meta.keywords, kws);
                prop_assert_eq!(uids.uids[i].uid, i as u32 + 1);
                prop_assert!(uids.uids[i].in_file);
            }
        }
    }
}
