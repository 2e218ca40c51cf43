//! ENVELOPE, BODY and BODYSTRUCTURE in IMAP syntax, byte for byte as Dovecot 2.3 writes them.

use super::address::Address;
use super::parser::{MessagePart, MessageSize};
use super::part_data::{ContentData, Envelope};
use super::quote::{append_nstring, append_nstring_nolf, append_string_for_humans};

const DEFAULT_CHARSET: &[u8] = b"us-ascii";
const EMPTY_BODY: &[u8] = b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
const EMPTY_BODYSTRUCTURE: &[u8] =
    b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";

fn append_string(out: &mut Vec<u8>, s: &[u8]) {
    append_nstring(out, Some(s));
}

fn write_addresses(out: &mut Vec<u8>, addrs: &[Address]) {
    if addrs.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for addr in addrs {
        out.push(b'(');
        match &addr.name {
            None => out.extend_from_slice(b"NIL"),
            Some(name) => append_string_for_humans(out, name),
        }
        out.push(b' ');
        append_nstring(out, addr.route.as_deref());
        out.push(b' ');
        append_nstring(out, addr.mailbox.as_deref());
        out.push(b' ');
        append_nstring(out, addr.domain.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

/// The ENVELOPE list's contents (without the outer parentheses).
pub fn write_envelope(out: &mut Vec<u8>, env: &Envelope) {
    append_nstring_nolf(out, env.date.as_deref());
    out.push(b' ');
    match &env.subject {
        None => out.extend_from_slice(b"NIL"),
        Some(subject) => append_string_for_humans(out, subject),
    }
    let or_from = |list: &'_ [Address]| -> Vec<Address> {
        if list.is_empty() {
            env.from.clone()
        } else {
            list.to_vec()
        }
    };
    for list in [
        env.from.clone(),
        or_from(&env.sender),
        or_from(&env.reply_to),
        env.to.clone(),
        env.cc.clone(),
        env.bcc.clone(),
    ] {
        out.push(b' ');
        write_addresses(out, &list);
    }
    out.push(b' ');
    append_nstring_nolf(out, env.in_reply_to.as_deref());
    out.push(b' ');
    append_nstring_nolf(out, env.message_id.as_deref());
}

fn write_params(out: &mut Vec<u8>, params: &[(Vec<u8>, Vec<u8>)], default_charset: bool) {
    if !default_charset && params.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    let mut seen_charset = false;
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        if default_charset && name.eq_ignore_ascii_case(b"charset") {
            seen_charset = true;
        }
        append_string(out, name);
        out.push(b' ');
        append_string(out, value);
    }
    if default_charset && !seen_charset {
        if !params.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(b"\"charset\" \"");
        out.extend_from_slice(DEFAULT_CHARSET);
        out.push(b'"');
    }
    out.push(b')');
}

fn write_common_extension(out: &mut Vec<u8>, content: &ContentData) {
    out.push(b' ');
    match &content.disposition {
        None => out.extend_from_slice(b"NIL"),
        Some(disposition) => {
            out.push(b'(');
            append_string(out, disposition);
            out.push(b' ');
            write_params(out, &content.disposition_params, false);
            out.push(b')');
        }
    }
    out.push(b' ');
    match &content.language {
        None => out.extend_from_slice(b"NIL"),
        Some(langs) => {
            out.push(b'(');
            for (i, lang) in langs.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                append_string(out, lang);
            }
            out.push(b')');
        }
    }
    out.push(b' ');
    append_nstring_nolf(out, content.location.as_deref());
}

/// The structure could not be written: Dovecot reports such a message as broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureError(pub &'static str);

/// Writes the BODYSTRUCTURE (`extended`) or BODY of a whole message whose top part is
/// `root` (without outer parentheses).
///
/// A single text/plain part that says nothing beyond the defaults (at most
/// `charset=us-ascii`, 7bit) is written in the defaults' spelling, whatever its header's:
/// Dovecot keeps only a "plain 7-bit ASCII" flag for such messages and writes their
/// structure from it.
pub fn write_message_structure(
    out: &mut Vec<u8>,
    data: &[u8],
    root: &MessagePart,
    extended: bool,
) -> Result<(), StructureError> {
    write_message_structure_sized(out, data, root, extended, &|p| p.body_size(data))
}

/// A part's body size and lines as a structure shows them.
pub type BodySizes<'a> = dyn Fn(&MessagePart) -> MessageSize + 'a;

/// [`write_message_structure`] with the body sizes `sizes` gives (RFC 5524's
/// BODYPARTSTRUCTURE of decoded data shows decoded sizes).
pub fn write_message_structure_sized(
    out: &mut Vec<u8>,
    data: &[u8],
    root: &MessagePart,
    extended: bool,
    sizes: &BodySizes<'_>,
) -> Result<(), StructureError> {
    if is_plain_7bit(&ContentData::of_part(data, root), root) {
        let body = sizes(root);
        out.extend_from_slice(
            format!(
                "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" {} {}",
                body.virtual_size, body.lines
            )
            .as_bytes(),
        );
        if extended {
            out.extend_from_slice(b" NIL NIL NIL NIL");
        }
        return Ok(());
    }
    write_bodystructure_sized(out, data, root, false, extended, sizes)
}

/// Dovecot's `message_part_data_is_plain_7bit()`.
fn is_plain_7bit(content: &ContentData, part: &MessagePart) -> bool {
    let params_default = match content.type_params.as_slice() {
        [] => true,
        [(name, value)] => {
            name.eq_ignore_ascii_case(b"charset") && value.eq_ignore_ascii_case(DEFAULT_CHARSET)
        }
        _ => false,
    };
    part.flags.text
        && part.children.is_empty()
        && !part.flags.multipart
        && !part.flags.message_rfc822
        && content
            .content_type
            .as_ref()
            .is_none_or(|(_, sub)| sub.eq_ignore_ascii_case(b"plain"))
        && params_default
        && content.id.is_none()
        && content.description.is_none()
        && content
            .transfer_encoding
            .as_ref()
            .is_none_or(|cte| cte.eq_ignore_ascii_case(b"7bit"))
        && content.md5.is_none()
        && content.disposition.is_none()
        && content.language.is_none()
        && content.location.is_none()
}

/// Writes the BODYSTRUCTURE (`extended`) or BODY of `part` (without outer parentheses),
/// with the body sizes `sizes` gives.
pub fn write_bodystructure_sized(
    out: &mut Vec<u8>,
    data: &[u8],
    part: &MessagePart,
    parent_digest: bool,
    extended: bool,
    sizes: &BodySizes<'_>,
) -> Result<(), StructureError> {
    let content = ContentData::of_part(data, part);
    if part.flags.multipart {
        if part.children.is_empty() {
            out.extend_from_slice(if extended {
                EMPTY_BODYSTRUCTURE
            } else {
                EMPTY_BODY
            });
        }
        for child in &part.children {
            out.push(b'(');
            write_bodystructure_sized(
                out,
                data,
                child,
                part.flags.multipart_digest,
                extended,
                sizes,
            )?;
            out.push(b')');
        }
        out.push(b' ');
        let subtype = content
            .content_type
            .as_ref()
            .map_or(&b""[..], |(_, sub)| sub.as_slice());
        append_string(out, subtype);
        if extended {
            out.push(b' ');
            write_params(out, &content.type_params, false);
            write_common_extension(out, &content);
        }
        return Ok(());
    }

    let truncated = match &content.content_type {
        _ if part.flags.message_rfc822 => false,
        Some((main, sub)) => {
            (main.eq_ignore_ascii_case(b"message") && sub.eq_ignore_ascii_case(b"rfc822"))
                || main.eq_ignore_ascii_case(b"multipart")
        }
        None => parent_digest,
    };
    let text;
    if part.flags.message_rfc822 {
        out.extend_from_slice(b"\"message\" \"rfc822\"");
        text = false;
    } else if truncated {
        out.extend_from_slice(b"\"application\" \"octet-stream\"");
        text = false;
    } else {
        match &content.content_type {
            None => {
                text = true;
                out.extend_from_slice(b"\"text\" \"plain\"");
            }
            Some((main, sub)) => {
                text = main.eq_ignore_ascii_case(b"text");
                append_string(out, main);
                out.push(b' ');
                append_string(out, sub);
            }
        }
        if text != part.flags.text {
            return Err(StructureError("text flag mismatch"));
        }
    }
    out.push(b' ');
    write_params(out, &content.type_params, text);
    out.push(b' ');
    append_nstring_nolf(out, content.id.as_deref());
    out.push(b' ');
    append_nstring_nolf(out, content.description.as_deref());
    out.push(b' ');
    match &content.transfer_encoding {
        Some(cte) => append_string(out, cte),
        None => out.extend_from_slice(b"\"7bit\""),
    }
    let body = sizes(part);
    out.extend_from_slice(format!(" {}", body.virtual_size).as_bytes());
    if text {
        out.extend_from_slice(format!(" {}", body.lines).as_bytes());
    } else if part.flags.message_rfc822 {
        let Some(child) = part.children.first() else {
            return Err(StructureError("message/rfc822 without a message"));
        };
        out.extend_from_slice(b" (");
        write_envelope(out, &Envelope::from_fields(&child.fields(data)));
        out.extend_from_slice(b") (");
        write_bodystructure_sized(out, data, child, false, extended, sizes)?;
        out.push(b')');
        out.extend_from_slice(format!(" {}", body.lines).as_bytes());
    }
    if extended {
        out.push(b' ');
        append_nstring_nolf(out, content.md5.as_deref());
        write_common_extension(out, &content);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::mail::{Message, Section};

    fn structure(message: &str) -> String {
        let message = Message::parse(message.as_bytes().to_vec());
        String::from_utf8(message.imap_bodystructure().expect("structure")).expect("utf-8")
    }

    #[test]
    fn plain_7bit_messages_in_the_defaults_spelling() {
        assert_eq!(
            structure("Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\nContent-Transfer-Encoding: 7BIT\n\nx\n"),
            "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
        );
        // Anything beyond the defaults keeps the header's spelling.
        assert_eq!(
            structure("Content-Type: TEXT/PLAIN; CHARSET=UTF-8\n\nx\n"),
            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"UTF-8\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)"
        );
        assert!(structure(
            "MIME-Version: 1.0\nContent-Type: TEXT/PLAIN\nContent-Language: en\n\nx\n"
        )
        .starts_with("(\"TEXT\" \"PLAIN\""));
    }

    #[test]
    fn binary_unknown_encoding_anywhere_before_broken_data() {
        let message = Message::parse(
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\
              Content-Transfer-Encoding: quoted-printable\n\nbad =ZZ\n--b\n\
              Content-Transfer-Encoding: x-uuencode\n\nbegin\n--b--\n"
                .to_vec(),
        );
        let whole = Section::parse(b"", b"").expect("section");
        assert_eq!(
            message.binary_section(&whole),
            Err(crate::mail::BinaryError::UnknownCte)
        );
    }
}
