//! The header MD5 Dovecot's mbox code keeps per message (`mbox_md5`): what recognises a
//! message without an `X-UID:` header after another program rewrote the file, and what
//! `pop3_uidl_format`'s `%m` is. Fed, as Dovecot feeds it, with the value of each header
//! line outside Dovecot's own fields (the first line from after the colon and one
//! whitespace, continuation lines whole, without line ends):
//!
//! - `all`: every such line;
//! - `apop3d` (the default): the first `Received:` field, or else `Date:` and
//!   `Message-ID:`, plus `Delivered-To:` and `X-Delivery-ID:`.

use md5::{Digest, Md5};

use super::meta::is_dovecot_header;
use super::parse::MboxMessage;
use crate::mail::header::{fields, is_lwsp};

/// Which header lines go into the MD5 (`mbox_md5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderMd5 {
    #[default]
    Apop3d,
    All,
}

impl HeaderMd5 {
    /// The setting's value; `None` for anything else.
    pub fn parse(value: &str) -> Option<HeaderMd5> {
        match value {
            "apop3d" => Some(HeaderMd5::Apop3d),
            "all" => Some(HeaderMd5::All),
            _ => None,
        }
    }

    /// The MD5 of `msg`'s header in `data`.
    pub fn of(self, data: &[u8], msg: &MboxMessage) -> [u8; 16] {
        let end = if msg.has_eoh {
            msg.body_offset
        } else {
            msg.end_offset
        };
        let mut md5 = Md5::new();
        let mut seen_received = false;
        for f in fields(data, msg.header_offset, end) {
            if is_dovecot_header(f.name) {
                continue;
            }
            let fed = match self {
                HeaderMd5::All => true,
                HeaderMd5::Apop3d => {
                    if f.is("Received") {
                        !std::mem::replace(&mut seen_received, true)
                    } else if f.is("Date") || f.is("Message-ID") {
                        !seen_received
                    } else {
                        f.is("Delivered-To") || f.is("X-Delivery-ID")
                    }
                }
            };
            if fed {
                for line in value_lines(f.raw, !f.name.is_empty()) {
                    md5.update(line);
                }
            }
        }
        md5.finalize().into()
    }
}

/// The lines of a field as Dovecot's header parser gives their values: the first from after
/// the colon and one whitespace (`has_name`; else whole), the others whole, each without
/// its line end.
fn value_lines(raw: &[u8], has_name: bool) -> impl Iterator<Item = &[u8]> {
    let mut first = true;
    raw.split_inclusive(|&b| b == b'\n').map(move |line| {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !std::mem::replace(&mut first, false) || !has_name {
            return line;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return line;
        };
        let value = &line[colon + 1..];
        match value.first() {
            Some(&c) if is_lwsp(c) => &value[1..],
            _ => value,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::mbox::format::parse_mbox;

    fn md5_of(kind: HeaderMd5, header: &str) -> [u8; 16] {
        let data = format!("From a@b Thu Nov 29 22:33:52 2001\n{header}\nbody\n");
        let file = parse_mbox(data.as_bytes()).unwrap();
        kind.of(data.as_bytes(), &file.messages[0])
    }

    fn md5_str(parts: &[&str]) -> [u8; 16] {
        Md5::digest(parts.concat().as_bytes()).into()
    }

    #[test]
    fn apop3d_takes_the_first_received_else_date_and_message_id() {
        let h = "Received: from x\n\tby y\nDate: d1\nMessage-ID: <m>\nReceived: second\n\
                 Delivered-To: u@x\nSubject: s\nX-UID: 5\nStatus: RO\n";
        assert_eq!(
            md5_of(HeaderMd5::Apop3d, h),
            md5_str(&["from x", "\tby y", "u@x"])
        );
        let h = "Date:  two spaces\nSubject: s\nMessage-ID:<m>\nX-Delivery-ID: 7\n";
        assert_eq!(
            md5_of(HeaderMd5::Apop3d, h),
            md5_str(&[" two spaces", "<m>", "7"])
        );
    }

    #[test]
    fn all_takes_every_line_but_dovecots_fields() {
        let h = "Subject: s\r\nX-Keywords: a\nTo: t\n c\nX-UID: 9\nno colon here\n";
        assert_eq!(
            md5_of(HeaderMd5::All, h),
            md5_str(&["s", "t", " c", "no colon here"])
        );
        // Dovecot's fields and flags do not change it
        let h2 = "Subject: s\r\nTo: t\n c\nStatus: RO\nno colon here\n";
        assert_eq!(md5_of(HeaderMd5::All, h), md5_of(HeaderMd5::All, h2));
        assert_eq!(HeaderMd5::parse("all"), Some(HeaderMd5::All));
        assert_eq!(HeaderMd5::parse("apr"), None);
    }
}
