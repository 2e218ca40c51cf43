//! FETCH BODY[section]<partial> and BINARY[section]: which bytes Dovecot 2.3 returns. Data
//! goes out with bare LFs as CRLF and (outside BINARY's decoded data) NULs as 0x80.

use super::codec::{self, DecodeError, TransferEncoding};
use super::header::{self, HeaderField};
use super::parser::{MessagePart, MessageSize};

/// What part of a MIME part a section names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// `BODY[]` (root) or `BODY[1.2]` (the part's body).
    Whole,
    Mime,
    Header,
    /// Upper-cased names.
    HeaderFields(Vec<Vec<u8>>),
    HeaderFieldsNot(Vec<Vec<u8>>),
    Text,
}

/// A parsed section specification, with the optional partial range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Part numbers, empty for the root.
    pub part: Vec<u32>,
    pub text: SectionText,
    /// `<offset.size>`; size `None` when only the offset was given.
    pub partial: Option<(u64, Option<u64>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSection;

/// Parses the header-name list `(A "b" c)` of HEADER.FIELDS: atoms and quoted strings.
fn parse_header_list(s: &[u8]) -> Result<Vec<Vec<u8>>, InvalidSection> {
    let s = s.strip_prefix(b" ").unwrap_or(s);
    let inner = s
        .strip_prefix(b"(")
        .and_then(|s| s.strip_suffix(b")"))
        .ok_or(InvalidSection)?;
    let mut names = Vec::new();
    let mut i = 0;
    while i < inner.len() {
        match inner[i] {
            b' ' => i += 1,
            b'"' => {
                let mut name = Vec::new();
                i += 1;
                loop {
                    match inner.get(i) {
                        None => return Err(InvalidSection),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            name.push(*inner.get(i + 1).ok_or(InvalidSection)?);
                            i += 2;
                        }
                        Some(&c) => {
                            name.push(c);
                            i += 1;
                        }
                    }
                }
                i += 1;
                names.push(name.to_ascii_uppercase());
            }
            b'(' | b')' => return Err(InvalidSection),
            _ => {
                let start = i;
                while i < inner.len() && !matches!(inner[i], b' ' | b'(' | b')' | b'"') {
                    i += 1;
                }
                names.push(inner[start..i].to_ascii_uppercase());
            }
        }
    }
    if names.is_empty() {
        return Err(InvalidSection);
    }
    names.sort();
    Ok(names)
}

impl Section {
    /// Parses what is between `[` and `]` (e.g. `1.2.HEADER.FIELDS (From To)`), and the
    /// partial spec after `]` (e.g. `<0.100>`, or empty).
    pub fn parse(spec: &[u8], partial: &[u8]) -> Result<Section, InvalidSection> {
        let mut i = 0;
        let mut next_digit = true;
        while i < spec.len() {
            if spec[i].is_ascii_digit() {
                next_digit = false;
            } else if !next_digit && spec[i] == b'.' {
                next_digit = true;
            } else {
                break;
            }
            i += 1;
        }
        let (numbers, rest): (&[u8], &[u8]) = if i == 0 {
            (b"", spec)
        } else if i == spec.len() {
            if spec[i - 1] == b'.' {
                return Err(InvalidSection);
            }
            (spec, b"")
        } else {
            if spec[i - 1] != b'.' {
                return Err(InvalidSection);
            }
            (&spec[..i - 1], &spec[i..])
        };
        let mut part = Vec::new();
        for n in numbers.split(|&b| b == b'.').filter(|n| !n.is_empty()) {
            let n = std::str::from_utf8(n).map_err(|_| InvalidSection)?;
            part.push(n.parse::<u32>().map_err(|_| InvalidSection)?);
        }
        let upper = rest.to_ascii_uppercase();
        let text = if upper.is_empty() {
            SectionText::Whole
        } else if upper == b"MIME" {
            if part.is_empty() {
                return Err(InvalidSection);
            }
            SectionText::Mime
        } else if upper == b"TEXT" {
            SectionText::Text
        } else if upper == b"HEADER" {
            SectionText::Header
        } else if let Some(list) = upper.strip_prefix(b"HEADER.FIELDS.NOT") {
            SectionText::HeaderFieldsNot(parse_header_list(list)?)
        } else if let Some(list) = upper.strip_prefix(b"HEADER.FIELDS") {
            SectionText::HeaderFields(parse_header_list(list)?)
        } else {
            return Err(InvalidSection);
        };
        let partial = if partial.is_empty() {
            None
        } else {
            let inner = partial
                .strip_prefix(b"<")
                .and_then(|p| p.strip_suffix(b">"))
                .ok_or(InvalidSection)?;
            let inner = std::str::from_utf8(inner).map_err(|_| InvalidSection)?;
            let number = |s: &str| -> Result<u64, InvalidSection> {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(InvalidSection);
                }
                s.parse::<u64>()
                    .ok()
                    .filter(|&n| n <= i64::MAX as u64)
                    .ok_or(InvalidSection)
            };
            match inner.split_once('.') {
                Some((offset, size)) => Some((number(offset)?, Some(number(size)?))),
                None => Some((number(inner)?, None)),
            }
        };
        Ok(Section {
            part,
            text,
            partial,
        })
    }
}

/// Finds the part a section number names (Dovecot's `imap_msgpart_find`): `1` of a
/// non-multipart is the part itself, numbers continue inside a message/rfc822.
pub fn find_part<'a>(root: &'a MessagePart, numbers: &[u32]) -> Option<&'a MessagePart> {
    let mut part = root;
    for (i, &num) in numbers.iter().enumerate() {
        let more = i + 1 < numbers.len();
        if part.flags.multipart {
            // Part 0 of a multipart is its first part, as Dovecot counts.
            part = part.children.get((num as usize).saturating_sub(1))?;
        } else if num != 1 || (more && !part.flags.message_rfc822) {
            return None;
        }
        if part.flags.message_rfc822 && more {
            part = part.children.first()?;
        }
    }
    Some(part)
}

/// The fields of `part`'s header selected by a HEADER.FIELDS(.NOT) list, followed by the
/// empty line (Dovecot adds one when the header had none, for HEADER.FIELDS of the root).
fn filter_header(
    data: &[u8],
    part: &MessagePart,
    names: &[Vec<u8>],
    include: bool,
    add_missing_eoh: bool,
) -> Vec<u8> {
    let fields = part.fields(data);
    let mut out = Vec::new();
    for field in &fields {
        let matched = names.iter().any(|n| n.eq_ignore_ascii_case(field.name));
        if matched == include {
            out.extend_from_slice(field.raw);
        }
    }
    let header_end = fields
        .last()
        .map_or(part.offset, |f| f.offset + f.raw.len());
    if header_end < part.body_offset && header::is_empty_line(data, header_end) {
        out.extend_from_slice(&data[header_end..header::line_end(data, header_end)]);
    } else if add_missing_eoh {
        // one line feed: it ends an unterminated last line, or is the missing empty line
        out.push(b'\n');
    }
    out
}

/// NULs become 0x80 (IMAP literals cannot hold NULs).
fn replace_nuls(mut data: Vec<u8>) -> Vec<u8> {
    for b in &mut data {
        if *b == 0 {
            *b = 0x80;
        }
    }
    data
}

/// Applies `<offset.size>` to data already in its final form.
pub fn apply_partial(data: Vec<u8>, partial: Option<(u64, Option<u64>)>) -> Vec<u8> {
    let Some((offset, size)) = partial else {
        return data;
    };
    let len = data.len() as u64;
    if offset >= len {
        return Vec::new();
    }
    let end = size.map_or(len, |s| len.min(offset.saturating_add(s)));
    data[offset as usize..end as usize].to_vec()
}

/// BODY[section]: the bytes before the partial range is applied (CRLF, NULs as 0x80). An
/// absent part gives empty data, as in Dovecot.
pub fn body_section(data: &[u8], root: &MessagePart, section: &Section) -> Vec<u8> {
    let raw = |start: usize, end: usize| replace_nuls(codec::to_crlf(&data[start..end]));
    if section.part.is_empty() {
        return match &section.text {
            SectionText::Whole => raw(0, data.len()),
            SectionText::Header => raw(root.offset, root.body_offset),
            SectionText::Text => raw(root.body_offset, root.end),
            SectionText::HeaderFields(names) => replace_nuls(codec::to_crlf(&filter_header(
                data, root, names, true, true,
            ))),
            SectionText::HeaderFieldsNot(names) => replace_nuls(codec::to_crlf(&filter_header(
                data, root, names, false, false,
            ))),
            SectionText::Mime => Vec::new(),
        };
    }
    let Some(part) = find_part(root, &section.part) else {
        return Vec::new();
    };
    match &section.text {
        SectionText::Whole => raw(part.body_offset, part.end),
        SectionText::Mime => raw(part.offset, part.body_offset),
        other => {
            let Some(message) = part.children.first().filter(|_| part.flags.message_rfc822) else {
                return Vec::new();
            };
            match other {
                SectionText::Header => raw(message.offset, message.body_offset),
                SectionText::Text => raw(message.body_offset, message.end),
                SectionText::HeaderFields(names) => replace_nuls(codec::to_crlf(&filter_header(
                    data, message, names, true, false,
                ))),
                SectionText::HeaderFieldsNot(names) => replace_nuls(codec::to_crlf(
                    &filter_header(data, message, names, false, false),
                )),
                SectionText::Whole | SectionText::Mime => Vec::new(),
            }
        }
    }
}

/// Why BINARY failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryError {
    /// `NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding`
    UnknownCte,
    /// `NO [PARSE] Invalid data in MIME part`
    InvalidData,
    /// The encoded data ends in the middle (Dovecot logs an error and disconnects).
    Truncated,
}

/// Decoded data of a BINARY fetch, and whether it must go out as a `~{n}` literal8
/// (anything that was decoded, or holds NULs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryData {
    pub data: Vec<u8>,
    pub literal8: bool,
}

/// The Content-Transfer-Encoding BINARY uses: the last such header; a folded one counts as
/// unknown (Dovecot reads only its first line).
fn binary_cte(fields: &[HeaderField<'_>]) -> TransferEncoding {
    let mut cte = TransferEncoding::SevenEightBit;
    for field in fields {
        if field.is("Content-Transfer-Encoding") {
            let first_line_only = field.raw[..field.raw.len().saturating_sub(1)].contains(&b'\n');
            cte = if first_line_only {
                TransferEncoding::Unknown
            } else {
                TransferEncoding::parse(&field.value())
            };
        }
    }
    cte
}

struct BinaryBuilder<'a> {
    data: &'a [u8],
    out: Vec<u8>,
    /// Raw bytes from here up to the next decoded piece are copied as they are.
    copy_from: usize,
    converted: bool,
    has_nuls: bool,
    /// Parts whose header or body changed: offset, new header size, new body size.
    converted_parts: Vec<(usize, Option<u64>, Option<u64>)>,
}

impl BinaryBuilder<'_> {
    fn copy_to(&mut self, end: usize) {
        if end > self.copy_from {
            self.out
                .extend_from_slice(&codec::to_crlf(&self.data[self.copy_from..end]));
        }
        self.copy_from = self.copy_from.max(end);
    }

    /// Converts `part`. Like Dovecot, which sets up every part's decoder before reading any
    /// data, an unknown encoding anywhere in it fails before broken data does.
    fn convert(&mut self, part: &MessagePart, include_header: bool) -> Result<(), BinaryError> {
        fn check(data: &[u8], part: &MessagePart) -> Result<(), BinaryError> {
            if binary_cte(&part.fields(data)) == TransferEncoding::Unknown {
                return Err(BinaryError::UnknownCte);
            }
            part.children
                .iter()
                .try_for_each(|child| check(data, child))
        }
        check(self.data, part)?;
        self.part(part, include_header)
    }

    fn part(&mut self, part: &MessagePart, include_header: bool) -> Result<(), BinaryError> {
        let fields = part.fields(self.data);
        let cte = binary_cte(&fields);
        if fields.iter().any(|f| f.raw.contains(&0)) {
            self.has_nuls = true;
        }
        if cte == TransferEncoding::Unknown {
            return Err(BinaryError::UnknownCte);
        }
        if !include_header {
            self.copy_from = part.body_offset;
        } else if cte.is_converted() {
            self.copy_to(part.offset);
            let names = [b"CONTENT-TRANSFER-ENCODING".to_vec()];
            let mut header = filter_header(self.data, part, &names, false, false);
            let has_eoh = fields
                .last()
                .map_or(part.offset, |f| f.offset + f.raw.len())
                < part.body_offset;
            if has_eoh {
                // the new C-T-E goes before the empty line
                let eoh_len = if header.ends_with(b"\r\n") { 2 } else { 1 };
                let eoh = header.split_off(header.len() - eoh_len);
                header.extend_from_slice(b"Content-Transfer-Encoding: binary\r\n");
                header.extend_from_slice(&eoh);
            }
            let header = codec::to_crlf(&header);
            self.converted_parts
                .push((part.offset, Some(header.len() as u64), None));
            self.out.extend_from_slice(&header);
            self.copy_from = part.body_offset;
        } else {
            self.copy_to(part.body_offset);
        }
        if !part.children.is_empty() {
            for child in &part.children {
                self.part(child, true)?;
            }
            self.copy_to(part.end);
            return Ok(());
        }
        let body = part.body(self.data);
        self.copy_from = part.end;
        if body.is_empty() {
            return Ok(());
        }
        let decoded = match cte {
            TransferEncoding::QuotedPrintable => codec::decode_qp(body),
            TransferEncoding::Base64 => codec::decode_base64(body),
            _ => {
                if part.flags.has_nuls {
                    self.has_nuls = true;
                }
                self.out.extend_from_slice(&codec::to_crlf(body));
                return Ok(());
            }
        };
        self.converted = true;
        match decoded {
            (data, None) => {
                match self.converted_parts.last_mut() {
                    Some(last) if last.0 == part.offset => last.2 = Some(data.len() as u64),
                    _ => self
                        .converted_parts
                        .push((part.offset, None, Some(data.len() as u64))),
                }
                self.out.extend_from_slice(&data);
                Ok(())
            }
            (_, Some(DecodeError::Invalid)) => Err(BinaryError::InvalidData),
            (_, Some(DecodeError::Truncated)) => Err(BinaryError::Truncated),
        }
    }
}

/// BINARY[section] (before the partial range): the part's body (or, for `BINARY[]`, the
/// whole message) with base64/quoted-printable bodies decoded and their headers saying
/// `Content-Transfer-Encoding: binary`. Other section kinds are BODY's data.
pub fn binary_section(
    data: &[u8],
    root: &MessagePart,
    section: &Section,
) -> Result<BinaryData, BinaryError> {
    let include_header = match (&section.text, section.part.is_empty()) {
        (SectionText::Whole, true) => true,
        (SectionText::Whole, false) => false,
        (SectionText::Text, _) => false,
        _ => {
            return Ok(BinaryData {
                data: body_section(data, root, section),
                literal8: false,
            })
        }
    };
    let part = if section.part.is_empty() {
        root
    } else {
        let Some(found) = find_part(root, &section.part) else {
            return Ok(BinaryData {
                data: Vec::new(),
                literal8: false,
            });
        };
        match section.text {
            SectionText::Text => match found.children.first() {
                Some(message) if found.flags.message_rfc822 => message,
                _ => {
                    return Ok(BinaryData {
                        data: Vec::new(),
                        literal8: false,
                    })
                }
            },
            _ => found,
        }
    };
    let mut builder = BinaryBuilder {
        data,
        out: Vec::new(),
        copy_from: part.offset,
        converted: false,
        has_nuls: false,
        converted_parts: Vec::new(),
    };
    builder.convert(part, include_header)?;
    let literal8 = builder.converted || builder.has_nuls;
    let out = if literal8 {
        builder.out
    } else {
        replace_nuls(builder.out)
    };
    Ok(BinaryData {
        data: out,
        literal8,
    })
}

/// The part a BINARY section decodes and whether its header is included; `None` when the
/// section names no such part (or is not a decoding section).
fn binary_part<'a>(root: &'a MessagePart, section: &Section) -> Option<(&'a MessagePart, bool)> {
    match (&section.text, section.part.is_empty()) {
        (SectionText::Whole, true) => Some((root, true)),
        (SectionText::Text, true) => Some((root, false)),
        (SectionText::Whole, false) => Some((find_part(root, &section.part)?, false)),
        (SectionText::Text, false) => {
            let found = find_part(root, &section.part)?;
            let message = found
                .children
                .first()
                .filter(|_| found.flags.message_rfc822)?;
            Some((message, false))
        }
        _ => None,
    }
}

fn find_by_offset(part: &MessagePart, offset: usize) -> Option<&MessagePart> {
    if part.offset == offset {
        return Some(part);
    }
    part.children.iter().find_map(|c| find_by_offset(c, offset))
}

/// BINARY.SIZE[section] as Dovecot computes it: the whole message is decoded first (so an
/// undecodable part anywhere fails it), then the part's sizes are adjusted by the decoded
/// parts found from its offset over its *virtual* size (Dovecot mixes the two, so a decoded
/// part after it can be counted too).
pub fn binary_size(data: &[u8], root: &MessagePart, section: &Section) -> Result<u64, BinaryError> {
    let Some((part, include_header)) = binary_part(root, section) else {
        if section.part.is_empty() || find_part(root, &section.part).is_some() {
            let whole = Section {
                partial: None,
                ..section.clone()
            };
            return Ok(binary_section(data, root, &whole)?.data.len() as u64);
        }
        return Ok(0);
    };
    let sizes = BinarySizes::of(data, root)?;
    Ok(sizes.size(root, part, include_header).virtual_size)
}

/// The decoded sizes of a message's parts (Dovecot's `index_mail_get_binary_size`): the
/// whole message is decoded once (an undecodable part anywhere fails it).
pub struct BinarySizes<'a> {
    data: &'a [u8],
    /// As [`BinaryBuilder::converted_parts`].
    converted_parts: Vec<(usize, Option<u64>, Option<u64>)>,
}

impl<'a> BinarySizes<'a> {
    pub fn of(data: &'a [u8], root: &MessagePart) -> Result<BinarySizes<'a>, BinaryError> {
        let mut builder = BinaryBuilder {
            data,
            out: Vec::new(),
            copy_from: 0,
            converted: false,
            has_nuls: false,
            converted_parts: Vec::new(),
        };
        builder.convert(root, true)?;
        Ok(BinarySizes {
            data,
            converted_parts: builder.converted_parts,
        })
    }

    /// `part`'s decoded size (with its header or not) and lines. The decoded parts are found
    /// from its offset over its *virtual* size (Dovecot mixes the two, so a decoded part
    /// after it can be counted too). A decoded part's body counts no lines: Dovecot 2.3
    /// never fills in that count (`binary_body_lines_count`), so BODYPARTSTRUCTURE shows 0.
    pub fn size(
        &self,
        root: &MessagePart,
        part: &MessagePart,
        include_header: bool,
    ) -> MessageSize {
        let data = self.data;
        let header = part.header_size(data);
        let body = part.body_size(data);
        let mut size = header.virtual_size + body.virtual_size;
        // Dovecot counts lines in 32 bits.
        let mut lines = (header.lines + body.lines) as u32;
        let end = part.offset as u64 + size;
        let mut root_header = None;
        for &(offset, bin_hdr, bin_body) in &self.converted_parts {
            let Some(msg_part) = find_by_offset(root, offset) else {
                continue;
            };
            if (offset as u64) < part.offset as u64 || offset as u64 >= end {
                continue;
            }
            let msg_hdr = msg_part.header_size(data).virtual_size;
            let msg_body = msg_part.body_size(data);
            let bin_hdr = bin_hdr.unwrap_or(msg_hdr);
            if offset == part.offset {
                root_header = Some(bin_hdr);
            }
            // unsigned arithmetic that wraps, as Dovecot's does on odd structures
            size = size
                .wrapping_add(bin_hdr)
                .wrapping_add(bin_body.unwrap_or(0))
                .wrapping_sub(msg_hdr)
                .wrapping_sub(msg_body.virtual_size);
            lines = lines.wrapping_sub(msg_body.lines as u32);
        }
        if !include_header {
            size = size.wrapping_sub(root_header.unwrap_or(header.virtual_size));
            lines = lines.wrapping_sub(header.lines as u32);
        }
        MessageSize {
            physical_size: size,
            virtual_size: size,
            lines: u64::from(lines),
        }
    }
}
