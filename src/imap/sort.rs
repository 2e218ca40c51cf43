//! SORT's order (RFC 5256, with RFC 5957's DISPLAYFROM/DISPLAYTO) as Dovecot 2.3 computes it:
//! each criterion's value read from the message ([`sort_value`]), messages ordered by the
//! criteria in turn (each reversed on its own), ties by sequence number ([`sort_rows`]).
//!
//! The values, as Dovecot's `index-sort.c` takes them: ARRIVAL the internal date; DATE the
//! Date: header (its UTC time, as Dovecot's 32-bit unsigned cache field holds it), the
//! internal date when it has none; SIZE the RFC822.SIZE; FROM/TO/CC the mailbox (local part)
//! of the header's first address; DISPLAYFROM/DISPLAYTO its decoded display name, or
//! `mailbox@domain` without one; SUBJECT the base subject. Text is compared as
//! i;unicode-casemap: title-cased and decomposed ([`normalize`]), then bytewise.

use std::cmp::Ordering;

use crate::imap::mail_session::{MailError, MailMessage};
use crate::imap::parser::sort::SortKey;
use crate::mail::address::{self, Address};
use crate::mail::base_subject::base_subject;
use crate::mail::date::parse_message_date;
use crate::mail::decode::{decode_header, normalize};

/// One criterion's value for one message. All values of a criterion have the same kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Time(i64),
    Size(u64),
    Text(Vec<u8>),
    /// RELEVANCY without full-text search: every message scores the same (as in Dovecot
    /// without an FTS plugin).
    Same,
}

/// A message to sort: its numbers and its values, one per criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortRow {
    pub seq: u32,
    pub uid: u32,
    pub values: Vec<SortValue>,
}

/// Orders `rows` by `criteria` (each with whether it is reversed); ties by sequence number,
/// which REVERSE never turns around.
pub fn sort_rows(rows: &mut [SortRow], criteria: &[(SortKey, bool)]) {
    rows.sort_by(|a, b| {
        for (i, &(_, reverse)) in criteria.iter().enumerate() {
            let order = a.values.get(i).cmp(&b.values.get(i));
            if order != Ordering::Equal {
                return if reverse { order.reverse() } else { order };
            }
        }
        a.seq.cmp(&b.seq)
    });
}

/// The value `key` sorts `message` by.
pub fn sort_value<M: MailMessage + ?Sized>(
    message: &mut M,
    key: SortKey,
) -> Result<SortValue, MailError> {
    Ok(match key {
        SortKey::Arrival => SortValue::Time(message.internal_date()?),
        SortKey::Date => SortValue::Time(sent_or_received_date(message)?),
        SortKey::Size => SortValue::Size(message.virtual_size()?),
        SortKey::Subject => SortValue::Text(match header_value(message, "Subject")? {
            Some(subject) => base_subject(&subject).text,
            None => Vec::new(),
        }),
        SortKey::From => SortValue::Text(first_mailbox(message, "From")?),
        SortKey::To => SortValue::Text(first_mailbox(message, "To")?),
        SortKey::Cc => SortValue::Text(first_mailbox(message, "Cc")?),
        SortKey::DisplayFrom => SortValue::Text(display_name(message, "From")?),
        SortKey::DisplayTo => SortValue::Text(display_name(message, "To")?),
        SortKey::Relevancy => SortValue::Same,
    })
}

/// The first root header `name` as Dovecot's `mail_get_first_header` gives it: the raw value
/// (not decoded), NULs as U+FFFD.
pub fn header_value<M: MailMessage + ?Sized>(
    message: &mut M,
    name: &str,
) -> Result<Option<Vec<u8>>, MailError> {
    Ok(message.first_header(name)?.map(|value| {
        if !value.contains(&0) {
            return value;
        }
        let mut out = Vec::with_capacity(value.len() + 8);
        for &c in &value {
            if c == 0 {
                out.extend_from_slice("\u{fffd}".as_bytes());
            } else {
                out.push(c);
            }
        }
        out
    }))
}

/// The Date: header's time, or the internal date when it has no valid one. Dovecot keeps the
/// date as an unsigned 32-bit number: a date before 1970 wraps around to a late one, and
/// exactly 1970-01-01 00:00:00 UTC counts as none.
pub fn sent_or_received_date<M: MailMessage + ?Sized>(message: &mut M) -> Result<i64, MailError> {
    let sent = header_value(message, "Date")?
        .and_then(|value| parse_message_date(&value))
        .map_or(0, |(ts, _)| i64::from(ts as u32));
    if sent != 0 {
        return Ok(sent);
    }
    message.internal_date()
}

/// The first address of a header, as Dovecot's address parser (with missing parts filled
/// in) gives it.
fn first_address<M: MailMessage + ?Sized>(
    message: &mut M,
    name: &str,
) -> Result<Option<Address>, MailError> {
    Ok(header_value(message, name)?
        .and_then(|value| address::parse_list(&value).into_iter().next()))
}

/// FROM, TO, CC: the first address's mailbox (for a group, its name).
fn first_mailbox<M: MailMessage + ?Sized>(
    message: &mut M,
    name: &str,
) -> Result<Vec<u8>, MailError> {
    let mailbox = first_address(message, name)?
        .and_then(|a| a.mailbox)
        .unwrap_or_default();
    Ok(normalize(&mailbox))
}

/// DISPLAYFROM, DISPLAYTO (RFC 5957): the first address's display name decoded, or its
/// `mailbox@domain` when the name is empty.
fn display_name<M: MailMessage + ?Sized>(
    message: &mut M,
    name: &str,
) -> Result<Vec<u8>, MailError> {
    let Some(addr) = first_address(message, name)? else {
        return Ok(Vec::new());
    };
    let decoded = addr
        .name
        .as_deref()
        .map(decode_header)
        .unwrap_or_default()
        .into_bytes();
    let shown = if !decoded.is_empty() {
        // a C string in Dovecot: a decoded NUL ends it
        let end = decoded
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(decoded.len());
        decoded[..end].to_vec()
    } else {
        match (addr.mailbox, addr.domain) {
            (Some(mut mailbox), Some(domain)) => {
                mailbox.push(b'@');
                mailbox.extend_from_slice(&domain);
                mailbox
            }
            (Some(mailbox), None) => mailbox,
            _ => Vec::new(),
        }
    };
    Ok(normalize(&shown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::flags::FlagList;
    use crate::mail::Message;

    /// A message from its text, with an internal date and a size.
    struct TestMessage {
        message: Message,
        internal: i64,
    }

    impl MailMessage for TestMessage {
        fn uid(&self) -> u32 {
            1
        }
        fn flags(&mut self) -> Result<FlagList, MailError> {
            Ok(FlagList::default())
        }
        fn modseq(&mut self) -> Result<u64, MailError> {
            Ok(1)
        }
        fn internal_date(&mut self) -> Result<i64, MailError> {
            Ok(self.internal)
        }
        fn save_date(&mut self) -> Result<Option<i64>, MailError> {
            Ok(None)
        }
        fn virtual_size(&mut self) -> Result<u64, MailError> {
            Ok(self.message.virtual_size())
        }
        fn guid(&mut self) -> Result<String, MailError> {
            Ok(String::new())
        }
        fn parsed(&mut self) -> Result<&Message, MailError> {
            Ok(&self.message)
        }
    }

    fn value(text: &str, key: SortKey) -> SortValue {
        let mut m = TestMessage {
            message: Message::parse(text.as_bytes().to_vec()),
            internal: 1000,
        };
        sort_value(&mut m, key).unwrap()
    }

    fn text(s: &str) -> SortValue {
        SortValue::Text(s.as_bytes().to_vec())
    }

    #[test]
    fn addresses() {
        let m = "From: \"Example, Alice\" <alice@Example.com>, b@c\r\nTo: undisclosed-recipients:;\r\n\r\n";
        assert_eq!(value(m, SortKey::From), text("ALICE"));
        assert_eq!(value(m, SortKey::DisplayFrom), text("EXAMPLE, ALICE"));
        assert_eq!(value(m, SortKey::To), text("UNDISCLOSED-RECIPIENTS"));
        assert_eq!(value(m, SortKey::DisplayTo), text("UNDISCLOSED-RECIPIENTS"));
        assert_eq!(value(m, SortKey::Cc), text(""));
        let m = "From: \"\" <empty@example.com>\r\nTo: =?UTF-8?B?SsO2cmc=?= <j@x>\r\n\r\n";
        assert_eq!(value(m, SortKey::DisplayFrom), text("EMPTY@EXAMPLE.COM"));
        assert_eq!(value(m, SortKey::DisplayTo), text("JO\u{308}RG"));
        let m = "From: nobody\r\n\r\n";
        assert_eq!(
            value(m, SortKey::DisplayFrom),
            text("NOBODY@MISSING_DOMAIN")
        );
    }

    #[test]
    fn dates() {
        let m = "Date: Thu, 1 Jan 1970 00:16:40 +0000\r\n\r\n";
        assert_eq!(value(m, SortKey::Date), SortValue::Time(1000));
        // 1970-01-01 00:00:00 is "no date": the internal date
        let m = "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n\r\n";
        assert_eq!(value(m, SortKey::Date), SortValue::Time(1000));
        assert_eq!(
            value("Date: garbage\r\n\r\n", SortKey::Date),
            SortValue::Time(1000)
        );
        // before 1970: wrapped around as an unsigned 32-bit number
        let m = "Date: Wed, 31 Dec 1969 23:59:00 +0000\r\n\r\n";
        assert_eq!(
            value(m, SortKey::Date),
            SortValue::Time((1u64 << 32) as i64 - 60)
        );
        assert_eq!(value(m, SortKey::Arrival), SortValue::Time(1000));
    }

    #[test]
    fn order() {
        let row = |seq, values| SortRow {
            seq,
            uid: seq,
            values,
        };
        let mut rows = vec![
            row(1, vec![text("B"), SortValue::Size(1)]),
            row(2, vec![text("A"), SortValue::Size(1)]),
            row(3, vec![text("B"), SortValue::Size(2)]),
            row(4, vec![text("B"), SortValue::Size(1)]),
        ];
        sort_rows(
            &mut rows,
            &[(SortKey::Subject, true), (SortKey::Size, false)],
        );
        let seqs: Vec<u32> = rows.iter().map(|r| r.seq).collect();
        // reversed subject, size ascending, then sequence order (never reversed)
        assert_eq!(seqs, [1, 4, 3, 2]);
    }
}
