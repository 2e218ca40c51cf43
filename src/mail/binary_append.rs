//! APPEND of a message sent as literal8 (RFC 3516 §4.4): parts whose content is binary
//! (`Content-Transfer-Encoding: binary`) are stored base64-encoded, so that the stored
//! message is valid MIME whatever BODY[] a client asks later. Dovecot 2.3's rules, observed
//! and read from its converter:
//!
//! - only a part that is not a multipart, whose first `Content-Transfer-Encoding` field is one
//!   line with the value `binary` (any case; after the colon one space or tab is skipped,
//!   nothing else), is converted;
//! - its field becomes `Content-Transfer-Encoding: base64` where it was;
//! - its body is base64 in lines of 76 characters separated by CRLF, without a line end after
//!   the last one (the line end before a boundary belongs to the boundary);
//! - a message/rfc822 part gets the new field but keeps its body (the converter sees its
//!   bytes as the inner message's);
//! - everything else is copied as it came.

use base64::Engine;

use super::header::is_lwsp;
use super::parser::{self, MessagePart};

/// Characters of one base64 line.
const BASE64_LINE: usize = 76;
const BASE64_FIELD: &[u8] = b"Content-Transfer-Encoding: base64\r\n";

/// The message to store for `data` received as literal8.
pub fn convert_binary_parts(data: &[u8]) -> Vec<u8> {
    let root = parser::parse(data);
    let mut out = Vec::with_capacity(data.len() + data.len() / 3);
    let copied = convert_part(data, &root, 0, &mut out);
    out.extend_from_slice(&data[copied..]);
    out
}

/// Appends `data[from..]` up to the end of `part` with its binary parts converted; returns
/// the offset copied up to.
fn convert_part(data: &[u8], part: &MessagePart, from: usize, out: &mut Vec<u8>) -> usize {
    let mut pos = from;
    if !part.flags.multipart {
        if let Some((field_start, field_end)) = binary_field(data, part) {
            out.extend_from_slice(&data[pos..field_start]);
            out.extend_from_slice(BASE64_FIELD);
            out.extend_from_slice(&data[field_end..part.body_offset]);
            pos = part.body_offset;
            if part.children.is_empty() {
                encode_base64_lines(&data[part.body_offset..part.end], out);
                return part.end;
            }
        }
    }
    for child in &part.children {
        pos = convert_part(data, child, pos, out);
    }
    pos
}

/// The byte range of `part`'s `Content-Transfer-Encoding: binary` field, when its first
/// such field says exactly that on one line.
fn binary_field(data: &[u8], part: &MessagePart) -> Option<(usize, usize)> {
    let field = part
        .fields(data)
        .into_iter()
        .find(|f| f.is("Content-Transfer-Encoding"))?;
    let line = field.raw.strip_suffix(b"\n").unwrap_or(field.raw);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.contains(&b'\n') {
        // Continued on another line.
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let value = &line[colon + 1..];
    let value = match value.first() {
        Some(&c) if is_lwsp(c) => &value[1..],
        _ => value,
    };
    value
        .eq_ignore_ascii_case(b"binary")
        .then_some((field.offset, field.offset + field.raw.len()))
}

fn encode_base64_lines(body: &[u8], out: &mut Vec<u8>) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    for (i, line) in encoded.as_bytes().chunks(BASE64_LINE).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Dovecot 2.3.19.1 stored for these literal8 APPENDs (BODY[] back, in CRLF form).
    #[test]
    fn as_dovecot_stores_them() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"Subject: a\r\nContent-Transfer-Encoding: binary\r\n\r\nhello\0world\xff\r\nline2\r\n",
                b"Subject: a\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8Ad29ybGT/DQpsaW5lMg0K",
            ),
            (
                b"Subject: c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\npre\r\n--xx\r\nContent-Transfer-Encoding: binary\r\nContent-Type: text/plain\r\n\r\nab\0c\r\n--xx\r\nContent-Type: text/plain\r\n\r\nplain\r\n--xx--\r\nepi\r\n",
                b"Subject: c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\npre\r\n--xx\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\n\r\nYWIAYw==\r\n--xx\r\nContent-Type: text/plain\r\n\r\nplain\r\n--xx--\r\nepi\r\n",
            ),
            // A multipart is never converted; its parts are.
            (
                b"Subject: e\r\nContent-Type: multipart/mixed; boundary=yy\r\nContent-Transfer-Encoding: binary\r\n\r\n--yy\r\n\r\nx\0\r\n--yy--\r\n",
                b"Subject: e\r\nContent-Type: multipart/mixed; boundary=yy\r\nContent-Transfer-Encoding: binary\r\n\r\n--yy\r\n\r\nx\0\r\n--yy--\r\n",
            ),
            // Not exactly "binary" after one space: left alone.
            (
                b"Subject: h\r\nContent-Transfer-Encoding:  binary\r\n\r\nsp\0\r\n",
                b"Subject: h\r\nContent-Transfer-Encoding:  binary\r\n\r\nsp\0\r\n",
            ),
            (
                b"Subject: f\r\nContent-Transfer-Encoding: 8bit\r\n\r\nno conv\0\r\n",
                b"Subject: f\r\nContent-Transfer-Encoding: 8bit\r\n\r\nno conv\0\r\n",
            ),
            (
                b"Subject: g\r\nContent-Transfer-Encoding: binary\r\n\r\n",
                b"Subject: g\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            ),
        ];
        for (input, stored) in cases {
            assert_eq!(
                convert_binary_parts(input),
                stored.to_vec(),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn long_bodies_wrap_at_76() {
        let mut input = b"Subject: i\r\nContent-Transfer-Encoding: BINARY\r\n\r\n".to_vec();
        input.extend_from_slice(&[b'x'; 200]);
        input.extend_from_slice(b"\r\n");
        let out = convert_binary_parts(&input);
        let body = &out[out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
        let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[..3]
            .iter()
            .all(|l| l.len() == 77 && l.ends_with(b"\r")));
        assert_eq!(lines[3], b"eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHgNCg==");
    }
}
