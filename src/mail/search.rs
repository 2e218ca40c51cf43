//! SEARCH matching on one message as Dovecot 2.3 does it: keys and text are both decoded and
//! normalised (`decode::normalize`), then compared as substrings. HEADER looks at the raw
//! (unfolded) value, FROM/TO/CC/BCC at the addresses re-written in a standard form,
//! SUBJECT at the value with whitespace runs compressed; BODY searches the decoded text of
//! every text/* and message/* part, TEXT the headers of every part as well.

use super::address;
use super::codec::{self, TransferEncoding};
use super::date;
use super::decode::{self, body_search_text, header_search_text, normalize};
use super::header::HeaderField;
use super::parser::MessagePart;
use super::rfc2231;
use super::rfc822::Rfc822Parser;
use super::Message;

/// How a header key compares its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderMatch {
    /// HEADER name value
    Plain,
    /// FROM, TO, CC, BCC
    Address,
    /// SUBJECT
    CompressWhitespace,
}

impl HeaderMatch {
    /// The match kind SEARCH uses for a key name (`FROM`, `SUBJECT`, ...); HEADER is Plain.
    pub fn for_key(key: &str) -> HeaderMatch {
        match key.to_ascii_uppercase().as_str() {
            "FROM" | "TO" | "CC" | "BCC" => HeaderMatch::Address,
            "SUBJECT" => HeaderMatch::CompressWhitespace,
            _ => HeaderMatch::Plain,
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    // A scan for the first byte, then the rest compared where it is found (comparing a
    // window at every position costs a call each).
    let mut from = 0;
    while let Some(at) = haystack[from..].iter().position(|&b| b == first) {
        let start = from + at + 1;
        if haystack[start..].starts_with(rest) {
            return true;
        }
        from = start;
    }
    false
}

fn compress_lwsp(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut prev_lwsp = true;
    for &c in value {
        if c == b' ' || c == b'\t' {
            if !prev_lwsp {
                prev_lwsp = true;
                out.push(b' ');
            }
        } else {
            prev_lwsp = false;
            out.push(c);
        }
    }
    out
}

/// Charset and transfer encoding of a part as Dovecot's message decoder reads them (from
/// the raw header, MIME or not), and whether its body is searched (text/*, message/*, or no
/// type).
pub(super) struct BodyDecoding {
    pub(super) charset: Option<Vec<u8>>,
    cte: TransferEncoding,
    searched: bool,
    /// The first Content-Type's `type/subtype` (what the decoder reports as the part's type).
    pub(super) first_type: Option<Vec<u8>>,
}

impl BodyDecoding {
    /// The body with its transfer encoding undone (`None`: an encoding Dovecot does not
    /// know, whose body it skips).
    pub(super) fn decoded_body(&self, body: &[u8]) -> Option<Vec<u8>> {
        Some(match self.cte {
            TransferEncoding::Unknown => return None,
            TransferEncoding::QuotedPrintable => codec::decode_qp(body).0,
            TransferEncoding::Base64 => codec::decode_base64(body).0,
            TransferEncoding::SevenEightBit | TransferEncoding::Binary => body.to_vec(),
        })
    }
}

pub(super) fn body_decoding(fields: &[HeaderField<'_>]) -> BodyDecoding {
    let mut decoding = BodyDecoding {
        charset: None,
        cte: TransferEncoding::SevenEightBit,
        searched: true,
        first_type: None,
    };
    let mut seen_type = false;
    for field in fields {
        if field.is("Content-Type") {
            let value = field.value_oneline();
            let mut p = Rfc822Parser::new(&value);
            let _ = p.skip_lwsp();
            let mut ct = Vec::new();
            let ok = p.parse_content_type(&mut ct).is_ok();
            let lower = ct.to_ascii_lowercase();
            // the last Content-Type decides what is searched, the first one the charset
            decoding.searched = lower.starts_with(b"text/") || lower.starts_with(b"message/");
            if !seen_type {
                seen_type = true;
                decoding.first_type = Some(ct.clone());
                if ok {
                    decoding.charset = rfc2231::parse(&mut p)
                        .0
                        .into_iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(b"charset"))
                        .map(|(_, v)| v);
                }
            }
        } else if field.is("Content-Transfer-Encoding") {
            decoding.cte = TransferEncoding::parse(&field.value_oneline());
        }
    }
    decoding
}

/// The decoded, normalised body text of a leaf part (empty when it is not searched).
fn part_body_text(data: &[u8], part: &MessagePart, fields: &[HeaderField<'_>]) -> Vec<u8> {
    let decoding = body_decoding(fields);
    if !decoding.searched || !part.children.is_empty() {
        return Vec::new();
    }
    let Some(decoded) = decoding.decoded_body(part.body(data)) else {
        return Vec::new();
    };
    body_search_text(decoding.charset.as_deref(), &decoded)
}

/// A header field as TEXT sees it: name, the raw `:` and whitespace, the decoded value, CRLF.
fn field_text(field: &HeaderField<'_>) -> Vec<u8> {
    let mut out = normalize(field.name);
    out.extend_from_slice(field.middle());
    out.extend_from_slice(&header_search_text(&field.value_oneline()));
    if field.has_newline {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn search_parts(data: &[u8], part: &MessagePart, key: &[u8], with_headers: bool) -> bool {
    let fields = part.fields(data);
    let mut text = Vec::new();
    if with_headers {
        for field in &fields {
            text.extend_from_slice(&field_text(field));
        }
    }
    text.extend_from_slice(&part_body_text(data, part, &fields));
    if contains(&text, key) {
        return true;
    }
    part.children
        .iter()
        .any(|child| search_parts(data, child, key, with_headers))
}

impl Message {
    /// HEADER/FROM/TO/CC/BCC/SUBJECT: does a root header `name` contain `key` (UTF-8)? An
    /// empty key matches when the header exists.
    pub fn search_header(&self, name: &str, key: &str, how: HeaderMatch) -> bool {
        let fields: Vec<_> = self
            .header_fields()
            .into_iter()
            .filter(|f| f.is(name))
            .collect();
        if key.is_empty() {
            return !fields.is_empty();
        }
        let key = normalize(key.as_bytes());
        if key.is_empty() {
            return false;
        }
        // the values of all such headers form one stream, each followed by CRLF
        let mut text = Vec::new();
        for field in fields {
            let value = field.value_oneline();
            let value = match how {
                HeaderMatch::Plain => value,
                HeaderMatch::Address => {
                    let mut out = Vec::new();
                    address::write(&mut out, &address::parse_list(&value));
                    out
                }
                HeaderMatch::CompressWhitespace => compress_lwsp(&value),
            };
            text.extend_from_slice(&header_search_text(&value));
            if field.has_newline {
                text.extend_from_slice(b"\r\n");
            }
        }
        contains(&text, &key)
    }

    /// The root header's `name` fields as they are in the message, one after another: a
    /// header of their own that [`search_header`](Self::search_header) answers for `name`
    /// as the whole message does (the storage caches it for repeated searches).
    pub fn header_lines(&self, name: &str) -> Vec<u8> {
        self.header_fields()
            .into_iter()
            .filter(|f| f.is(name))
            .flat_map(|f| f.raw.iter().copied())
            .collect()
    }

    /// BODY: the decoded text of the message's text parts contains `key`.
    pub fn search_body(&self, key: &str) -> bool {
        self.search_text_parts(key, false)
    }

    /// TEXT: the headers (of every part) or the decoded text parts contain `key`.
    pub fn search_text(&self, key: &str) -> bool {
        self.search_text_parts(key, true)
    }

    fn search_text_parts(&self, key: &str, with_headers: bool) -> bool {
        if key.is_empty() {
            return true;
        }
        let key = normalize(key.as_bytes());
        !key.is_empty() && search_parts(self.data(), self.root(), &key, with_headers)
    }

    /// The Date: header for SENTBEFORE/SENTON/SENTSINCE: the sender's local date and time as
    /// seconds since the epoch (RFC 3501 ignores the zone); 0 (1970) without a valid Date,
    /// as Dovecot treats it.
    pub fn sent_date(&self) -> i64 {
        self.header_fields()
            .into_iter()
            .find(|f| f.is("Date"))
            .and_then(|f| date::parse_message_date(&f.value_oneline()))
            .map_or(0, |(ts, offset)| ts + i64::from(offset) * 60)
    }

    /// The decoded (UTF-8) value of the first root header `name`.
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        let field = self.header_fields().into_iter().find(|f| f.is(name))?;
        Some(decode::decode_header(&field.value_oneline()))
    }
}

/// SENTBEFORE/SENTON/SENTSINCE against an IMAP date (`day` is the UTC timestamp of the
/// searched day's midnight, from `date::parse_imap_date`).
pub fn sent_matches(sent: i64, kind: DateMatch, day: i64) -> bool {
    if sent < 0 {
        // a date before 1970 wraps around in Dovecot 2.3: it is "since" any day
        return kind == DateMatch::Since;
    }
    match kind {
        DateMatch::Before => sent < day,
        DateMatch::On => sent >= day && sent < day + 86_400,
        DateMatch::Since => sent >= day,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateMatch {
    Before,
    On,
    Since,
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn contains_as_windows(haystack in "[ab]{0,12}", needle in "[ab]{0,4}") {
            let (h, n) = (haystack.as_bytes(), needle.as_bytes());
            let want = n.is_empty() || h.windows(n.len()).any(|w| w == n);
            proptest::prop_assert_eq!(contains(h, n), want);
        }
    }
}
