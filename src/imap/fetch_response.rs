//! FETCH responses: `* n FETCH (...)` assembled item by item as Dovecot writes them, from a
//! [`MailMessage`] and what the session knows (`\Recent`, the time zone).

use crate::imap::flags::{write_flags, FlagList};
use crate::imap::mail_session::{MailError, MailMessage};
use crate::imap::parser::fetch::{FetchItem, SectionItem};
use crate::imap::response::append_literal;
use crate::mail::date::format_imap_datetime;
use crate::mail::quote::{append_astring, append_nstring, append_quoted};
use crate::mail::{Section, SectionText};

/// One `* n FETCH (...)` response being built.
#[derive(Debug)]
pub struct FetchResponse {
    out: Vec<u8>,
    empty: bool,
}

impl FetchResponse {
    pub fn new(seq: u32) -> FetchResponse {
        // Room for the usual short items: FETCH 1:* answers one of these per message.
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(b"* ");
        append_number(&mut out, seq.into());
        out.extend_from_slice(b" FETCH (");
        FetchResponse { out, empty: true }
    }

    fn separator(&mut self) {
        if !self.empty {
            self.out.push(b' ');
        }
        self.empty = false;
    }

    /// `NAME value`, the value already in IMAP syntax.
    pub fn item(&mut self, name: &str, value: &[u8]) {
        self.separator();
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b' ');
        self.out.extend_from_slice(value);
    }

    /// `NAME n`.
    pub fn number(&mut self, name: &str, value: u64) {
        self.separator();
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b' ');
        append_number(&mut self.out, value);
    }

    /// `NAME {n}\r\ndata`, or `~{n}` for a literal8.
    pub fn literal(&mut self, name: &str, data: &[u8], literal8: bool) {
        self.separator();
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b' ');
        append_literal(&mut self.out, data, literal8);
    }

    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// The response without its CRLF.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.push(b')');
        self.out
    }
}

/// A number in decimal, without the allocation `to_string` makes.
fn append_number(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// `(\Seen \Recent kw)`.
pub fn flags_value(flags: &FlagList, recent: bool) -> Vec<u8> {
    let mut text = String::from("(");
    write_flags(
        &mut text,
        flags.system,
        recent,
        flags.keywords.iter().map(String::as_str),
    );
    text.push(')');
    text.into_bytes()
}

/// `"08-Feb-1994 05:52:25 +0000"`: a date-time in the server's zone.
pub fn datetime_value(ts: i64) -> Vec<u8> {
    let offset = crate::localtime::utc_offset_minutes(ts);
    format!("\"{}\"", format_imap_datetime(ts, offset)).into_bytes()
}

/// What writing an item needs besides the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemContext {
    /// The message is `\Recent` in this session.
    pub recent: bool,
}

/// What an item sent of the message's data (for the session's counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSent {
    /// No message data (flags, sizes, dates...).
    None,
    /// Header data: RFC822.HEADER, `[HEADER...]`, `[n.MIME]`; its size.
    Header(u64),
    /// Body data (whole message, text, parts, BINARY); its size.
    Body(u64),
}

/// Adds `item` of `message` to `response`. FLAGS comes from `flags` when given (a FETCH that
/// just set `\Seen` already has them).
pub fn write_item<M: MailMessage + ?Sized>(
    response: &mut FetchResponse,
    message: &mut M,
    item: &FetchItem,
    ctx: ItemContext,
    flags: Option<&FlagList>,
) -> Result<DataSent, MailError> {
    let header = |section: &Section| {
        matches!(
            section.text,
            SectionText::Header
                | SectionText::HeaderFields(_)
                | SectionText::HeaderFieldsNot(_)
                | SectionText::Mime
        )
    };
    let sent = |is_header: bool, len: usize| {
        if is_header {
            DataSent::Header(len as u64)
        } else {
            DataSent::Body(len as u64)
        }
    };
    let name = item.reply_name();
    match item {
        FetchItem::Flags => {
            let value = match flags {
                Some(flags) => flags_value(flags, ctx.recent),
                None => flags_value(&message.flags()?, ctx.recent),
            };
            response.item(&name, &value);
        }
        FetchItem::Uid => response.number(&name, message.uid().into()),
        FetchItem::InternalDate => {
            let value = datetime_value(message.internal_date()?);
            response.item(&name, &value);
        }
        FetchItem::Rfc822Size => response.number(&name, message.virtual_size()?),
        FetchItem::Modseq => response.item(&name, format!("({})", message.modseq()?).as_bytes()),
        FetchItem::SaveDate | FetchItem::XSaveDate => match message.save_date()? {
            Some(ts) => response.item(&name, &datetime_value(ts)),
            None => response.item(&name, b"NIL"),
        },
        FetchItem::XGuid => {
            let mut value = Vec::new();
            append_astring(&mut value, message.guid()?.as_bytes());
            response.item(&name, &value);
        }
        FetchItem::XRealUid => response.number(&name, message.uid().into()),
        FetchItem::XMailbox => {
            return Err(MailError::new(
                crate::imap::mail_session::MailErrorKind::NotPossible,
                "X-MAILBOX is only for virtual mailboxes, which this build of cote does not have",
            ))
        }
        FetchItem::Preview(preview) => {
            let text = message.preview(preview.lazy)?;
            let mut value = Vec::new();
            if preview.fuzzy_form {
                value.extend_from_slice(b"(FUZZY ");
            }
            append_nstring(&mut value, text.as_deref().map(str::as_bytes));
            if preview.fuzzy_form {
                value.push(b')');
            }
            response.item(&name, &value);
        }
        FetchItem::Envelope => response.item(&name, &message.envelope()?),
        FetchItem::Body => response.item(&name, &message.body_structure(false)?),
        FetchItem::BodyStructure => response.item(&name, &message.body_structure(true)?),
        FetchItem::Rfc822 | FetchItem::Rfc822Header | FetchItem::Rfc822Text => {
            let text = match item {
                FetchItem::Rfc822 => SectionText::Whole,
                FetchItem::Rfc822Header => SectionText::Header,
                _ => SectionText::Text,
            };
            let section = whole(text);
            let data = message.body_section(&section)?;
            response.literal(&name, &data, false);
            return Ok(sent(header(&section), data.len()));
        }
        FetchItem::BodySection(SectionItem { section, .. }) => {
            let data = message.body_section(section)?;
            response.literal(&name, &data, false);
            return Ok(sent(header(section), data.len()));
        }
        FetchItem::Binary(SectionItem { section, .. }) => {
            let data = message.binary_section(section)?;
            response.literal(&name, &data.data, data.literal8);
            return Ok(sent(header(section), data.data.len()));
        }
        FetchItem::BinarySize(SectionItem { section, .. }) => {
            response.number(&name, message.binary_size(section)?)
        }
    }
    Ok(DataSent::None)
}

/// What Dovecot answers for `item` of a message expunged by another session before this one
/// was told (its handlers' "nil replies"): the flags and numbers the view still holds are
/// real, everything read from the message is empty.
pub fn expunged_value(item: &FetchItem) -> &'static [u8] {
    const EPOCH: &[u8] = b"\"01-Jan-1970 00:00:00 +0000\"";
    match item {
        FetchItem::Flags => b"()",
        FetchItem::InternalDate | FetchItem::XSaveDate => EPOCH,
        FetchItem::Rfc822Size | FetchItem::BinarySize(_) => b"0",
        FetchItem::XGuid => b"",
        FetchItem::Envelope => b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
        FetchItem::Body => b"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)",
        FetchItem::BodyStructure => {
            b"(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)"
        }
        FetchItem::Uid
        | FetchItem::XRealUid
        | FetchItem::Modseq
        | FetchItem::SaveDate
        | FetchItem::XMailbox
        | FetchItem::Preview(_)
        | FetchItem::Rfc822
        | FetchItem::Rfc822Header
        | FetchItem::Rfc822Text
        | FetchItem::BodySection(_)
        | FetchItem::Binary(_) => b"NIL",
    }
}

/// The whole message's section `text` (RFC822, RFC822.HEADER, RFC822.TEXT).
fn whole(text: SectionText) -> Section {
    Section {
        part: Vec::new(),
        text,
        partial: None,
    }
}

/// A quoted string as IMAP writes a short text value.
pub fn quoted_value(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    append_quoted(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::flags::MailFlags;

    #[test]
    fn assembly() {
        let mut r = FetchResponse::new(3);
        assert!(r.is_empty());
        let flags = FlagList {
            system: MailFlags::SEEN,
            keywords: vec!["Junk".into()],
        };
        r.item("FLAGS", &flags_value(&flags, true));
        r.number("UID", 7);
        r.number("RFC822.SIZE", 18_446_744_073_709_551_615);
        r.number("MODSEQ", 0);
        r.literal("BODY[]", b"ab", false);
        r.literal("BINARY[1]", b"\0", true);
        assert_eq!(
            r.finish(),
            b"* 3 FETCH (FLAGS (\\Seen \\Recent Junk) UID 7 RFC822.SIZE 18446744073709551615 MODSEQ 0 BODY[] {2}\r\nab BINARY[1] ~{1}\r\n\0)"
        );
        assert_eq!(flags_value(&FlagList::default(), false), b"()");
        assert_eq!(quoted_value(b"a\"b"), b"\"a\\\"b\"");
    }
}
