//! What BODYSTRUCTURE and ENVELOPE report about a part, read from its header the way Dovecot
//! reads it: the first Content-* header of each kind wins, values stay raw (encoded words
//! and RFC 2231 pieces are not decoded), NUL bytes become U+FFFD.

use super::address::{self, Address};
use super::header::HeaderField;
use super::parser::MessagePart;
use super::rfc2231;
use super::rfc822::{Rfc822Parser, NUL_REPLACEMENT};

/// A header value as Dovecot keeps it for ENVELOPE/BODYSTRUCTURE (`message_header_strdup`).
fn header_string(value: &[u8]) -> Vec<u8> {
    if !value.contains(&0) {
        return value.to_vec();
    }
    let mut out = Vec::with_capacity(value.len() + 2);
    for &b in value {
        if b == 0 {
            out.extend_from_slice(NUL_REPLACEMENT);
        } else {
            out.push(b);
        }
    }
    out
}

/// The ENVELOPE fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Vec<Address>,
    pub sender: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub in_reply_to: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
}

impl Envelope {
    /// Builds the envelope from header fields: the last Date/Subject/In-Reply-To/Message-ID
    /// wins, address headers given more than once are concatenated.
    pub fn from_fields(fields: &[HeaderField<'_>]) -> Envelope {
        let mut env = Envelope::default();
        for field in fields {
            let name = field.name.to_ascii_lowercase();
            let string = match name.as_slice() {
                b"date" => &mut env.date,
                b"subject" => &mut env.subject,
                b"in-reply-to" => &mut env.in_reply_to,
                b"message-id" => &mut env.message_id,
                _ => {
                    let list = match name.as_slice() {
                        b"from" => &mut env.from,
                        b"sender" => &mut env.sender,
                        b"reply-to" => &mut env.reply_to,
                        b"to" => &mut env.to,
                        b"cc" => &mut env.cc,
                        b"bcc" => &mut env.bcc,
                        _ => continue,
                    };
                    list.extend(address::parse_list(&field.value()));
                    continue;
                }
            };
            *string = Some(header_string(&field.value()));
        }
        env
    }
}

/// Content-* data of one part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentData {
    /// Type and subtype; `None` without a Content-Type (or without MIME).
    pub content_type: Option<(Vec<u8>, Vec<u8>)>,
    pub type_params: Vec<(Vec<u8>, Vec<u8>)>,
    pub id: Option<Vec<u8>>,
    pub description: Option<Vec<u8>>,
    pub transfer_encoding: Option<Vec<u8>>,
    pub md5: Option<Vec<u8>>,
    pub disposition: Option<Vec<u8>>,
    pub disposition_params: Vec<(Vec<u8>, Vec<u8>)>,
    pub language: Option<Vec<Vec<u8>>>,
    pub location: Option<Vec<u8>>,
}

impl ContentData {
    /// Reads the Content-* headers of `part` (nothing when the part is not MIME).
    pub fn of_part(data: &[u8], part: &MessagePart) -> ContentData {
        let mut content = ContentData::default();
        if !part.flags.is_mime {
            return content;
        }
        for field in part.fields(data) {
            if field.name.len() < 8 || !field.name[..8].eq_ignore_ascii_case(b"Content-") {
                continue;
            }
            content.header(&field.name[8..].to_ascii_lowercase(), &field.value());
        }
        content
    }

    fn header(&mut self, name: &[u8], value: &[u8]) {
        match name {
            b"id" if self.id.is_none() => self.id = Some(header_string(value)),
            b"md5" if self.md5.is_none() => self.md5 = Some(header_string(value)),
            b"type" if self.content_type.is_none() => self.parse_type(value),
            b"transfer-encoding" if self.transfer_encoding.is_none() => {
                let mut p = Rfc822Parser::new(value);
                let _ = p.skip_lwsp();
                let mut token = Vec::new();
                if p.parse_mime_token(&mut token).is_ok()
                    && p.skip_lwsp() == Ok(false)
                    && !token.is_empty()
                {
                    self.transfer_encoding = Some(token);
                }
            }
            b"language" if self.language.is_none() => self.parse_language(value),
            b"location" if self.location.is_none() => self.location = Some(header_string(value)),
            b"description" if self.description.is_none() => {
                self.description = Some(header_string(value))
            }
            // Dovecot tests the parameters here, so a disposition without parameters can be
            // replaced by a later header
            b"disposition" if self.disposition_params.is_empty() => {
                let mut p = Rfc822Parser::new(value);
                let _ = p.skip_lwsp();
                let mut token = Vec::new();
                if p.parse_mime_token(&mut token).is_err() {
                    return;
                }
                self.disposition = Some(token);
                self.disposition_params = rfc2231::parse(&mut p).0;
            }
            _ => {}
        }
    }

    fn parse_type(&mut self, value: &[u8]) {
        let mut p = Rfc822Parser::new(value);
        let _ = p.skip_lwsp();
        let mut full = Vec::new();
        let ok = p.parse_content_type(&mut full).is_ok();
        let (main, sub) = match full.iter().position(|&b| b == b'/') {
            Some(slash) => (full[..slash].to_vec(), full[slash + 1..].to_vec()),
            None => (full, Vec::new()),
        };
        self.content_type = Some((main, sub));
        if ok {
            self.type_params = rfc2231::parse(&mut p).0;
        }
    }

    fn parse_language(&mut self, value: &[u8]) {
        let mut p = Rfc822Parser::new(value);
        let mut langs = Vec::new();
        let _ = p.skip_lwsp();
        loop {
            let mut lang = Vec::new();
            if p.parse_atom(&mut lang).is_err() {
                break;
            }
            langs.push(lang);
            if p.at_end() || p.peek() != b',' {
                break;
            }
            p.pos += 1;
            let _ = p.skip_lwsp();
        }
        if !langs.is_empty() {
            self.language = Some(langs);
        }
    }
}
