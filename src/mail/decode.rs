//! Text for searching: RFC 2047 encoded words and MIME charsets decoded to UTF-8, and the
//! normalisation Dovecot 2.3 compares with (each character title-cased, then decomposed:
//! `é` → `E` + U+0301, so SEARCH is case-insensitive and matches base letters; SORT orders
//! by the normalised bytes, so the decomposition is Dovecot's to the character: one level).

use unicode_normalization::char::decompose_compatible;

use super::casemap_table::ONE_LEVEL;
use super::codec;

/// A charset label's decoder; `None` when the charset is unknown.
fn encoding(charset: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label_no_replacement(charset.trim_ascii())
}

pub fn is_utf8_label(charset: &[u8]) -> bool {
    charset.eq_ignore_ascii_case(b"utf-8") || charset.eq_ignore_ascii_case(b"utf8")
}

/// Converts `data` in `charset` to UTF-8; `None` for an unknown charset.
pub fn charset_to_utf8(charset: &[u8], data: &[u8]) -> Option<String> {
    if is_utf8_label(charset) {
        return Some(String::from_utf8_lossy(data).into_owned());
    }
    let (text, _) = encoding(charset)?.decode_without_bom_handling(data);
    Some(text.into_owned())
}

/// Title case as UnicodeData's simple mapping gives it: one character to one character.
fn titlecase(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        // Greek with ypogegrammeni: upper case is two characters, title case one
        '\u{1f80}'..='\u{1f87}' | '\u{1f90}'..='\u{1f97}' | '\u{1fa0}'..='\u{1fa7}' => {
            char::from_u32(c as u32 + 8).unwrap_or(c)
        }
        '\u{1fb3}' => '\u{1fbc}',
        '\u{1fc3}' => '\u{1fcc}',
        '\u{1ff3}' => '\u{1ffc}',
        _ => {
            let mut upper = c.to_uppercase();
            match (upper.next(), upper.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        }
    }
}

/// A title-cased character decomposed as Dovecot decomposes it: one level of UnicodeData's
/// decomposition (compatibility ones included), not recursively; title-case letters (Lt:
/// `ǅ`, Greek with prosgegrammeni) not at all; Hangul syllables into their jamo.
fn decompose(c: char, mut push: impl FnMut(char)) {
    if is_titlecase_letter(c) {
        push(c);
    } else if let Ok(i) = ONE_LEVEL.binary_search_by_key(&c, |&(k, _)| k) {
        ONE_LEVEL[i].1.chars().for_each(push);
    } else {
        // full NFKD is one level for every other character
        decompose_compatible(c, push);
    }
}

/// General category Lt.
fn is_titlecase_letter(c: char) -> bool {
    matches!(c,
        '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}'
        | '\u{1f88}'..='\u{1f8f}' | '\u{1f98}'..='\u{1f9f}' | '\u{1fa8}'..='\u{1faf}'
        | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}')
}

/// Dovecot's search normaliser over UTF-8 (invalid bytes become U+FFFD).
pub fn normalize(data: &[u8]) -> Vec<u8> {
    // ASCII (most of any message) title-cases to upper case and decomposes to itself.
    if data.is_ascii() {
        return data.to_ascii_uppercase();
    }
    // Validation alone is quicker than the lossy conversion's scan; most text is valid.
    let text = match std::str::from_utf8(data) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(data),
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_uppercase());
        } else {
            decompose(titlecase(c), |d| out.push(d));
        }
    }
    out.into_bytes()
}

/// Decodes one encoded word's text (`Q` or `B`).
fn decode_word(encoding: u8, text: &[u8]) -> Option<Vec<u8>> {
    match encoding.to_ascii_uppercase() {
        b'Q' => {
            let mut out = Vec::with_capacity(text.len());
            let mut i = 0;
            while i < text.len() {
                let hex = |c: u8| (c as char).to_digit(16);
                match text[i] {
                    b'_' => out.push(b' '),
                    b'=' if i + 2 < text.len() + 1
                        && text.get(i + 1).and_then(|&c| hex(c)).is_some()
                        && text.get(i + 2).and_then(|&c| hex(c)).is_some() =>
                    {
                        let hi = hex(text[i + 1]).unwrap_or(0);
                        let lo = hex(text[i + 2]).unwrap_or(0);
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    c => out.push(c),
                }
                i += 1;
            }
            Some(out)
        }
        b'B' => Some(codec::decode_base64(text).0),
        _ => None,
    }
}

/// A piece of a header value: raw text, or an encoded word's decoded bytes and charset.
enum Piece<'a> {
    Raw(&'a [u8]),
    Encoded(Vec<u8>, &'a [u8]),
}

/// Splits a header value into raw text and encoded words; whitespace between two encoded
/// words is dropped.
fn pieces(data: &[u8]) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while pos + 1 < data.len() {
        if data[pos] != b'=' || data[pos + 1] != b'?' {
            pos += 1;
            continue;
        }
        // raw text before it goes out now, unless it is only whitespace (dropped even when
        // the encoded word turns out invalid, as Dovecot does)
        let between = &data[start..pos];
        if !between
            .iter()
            .all(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
        {
            out.push(Piece::Raw(between));
        }
        let word_start = pos + 2;
        let rest = &data[word_start..];
        let marks: Vec<usize> = rest
            .iter()
            .enumerate()
            .filter(|(_, &c)| c == b'?')
            .map(|(i, _)| i)
            .take(3)
            .collect();
        let valid = marks.len() == 3 && rest.get(marks[2] + 1) == Some(&b'=');
        let decoded = if valid {
            let charset = &rest[..marks[0]];
            rest.get(marks[0] + 1)
                .and_then(|&enc| decode_word(enc, &rest[marks[1] + 1..marks[2]]))
                .map(|bytes| (charset, bytes))
        } else {
            None
        };
        let Some((charset, bytes)) = decoded else {
            // not an encoded word: its text stays, from the "=?" on
            start = pos;
            pos = word_start;
            continue;
        };
        if !bytes.is_empty() {
            out.push(Piece::Encoded(bytes, charset));
        }
        pos = word_start + marks[2] + 2;
        start = pos;
    }
    if start < data.len() {
        out.push(Piece::Raw(&data[start..]));
    }
    out
}

/// A header value with its encoded words decoded, as UTF-8 (for display, sorting).
pub fn decode_header(data: &[u8]) -> String {
    let mut out = String::new();
    for piece in pieces(data) {
        match piece {
            Piece::Raw(raw) => out.push_str(&String::from_utf8_lossy(raw)),
            Piece::Encoded(bytes, charset) => match charset_to_utf8(charset, &bytes) {
                Some(text) => out.push_str(&text),
                None => out.push_str(&String::from_utf8_lossy(&bytes)),
            },
        }
    }
    out
}

/// A header value as SEARCH sees it: decoded and normalised; the text of an encoded word in
/// an unknown charset is kept (as valid UTF-8) but not normalised, as in Dovecot.
pub fn header_search_text(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in pieces(data) {
        match piece {
            Piece::Raw(raw) => out.extend_from_slice(&normalize(raw)),
            Piece::Encoded(bytes, charset) => match charset_to_utf8(charset, &bytes) {
                Some(text) => out.extend_from_slice(&normalize(text.as_bytes())),
                None => out.extend_from_slice(String::from_utf8_lossy(&bytes).as_bytes()),
            },
        }
    }
    out
}

/// Body text converted from `charset` to UTF-8 (taken as UTF-8 when no charset is given or
/// it is unknown; invalid sequences become U+FFFD).
pub fn body_to_utf8(charset: Option<&[u8]>, data: &[u8]) -> String {
    charset
        .and_then(|c| charset_to_utf8(c, data))
        .unwrap_or_else(|| String::from_utf8_lossy(data).into_owned())
}

/// Body text as SEARCH sees it: [`body_to_utf8`], normalised.
pub fn body_search_text(charset: Option<&[u8]>, data: &[u8]) -> Vec<u8> {
    normalize(body_to_utf8(charset, data).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words() {
        assert_eq!(decode_header(b"=?UTF-8?B?w6k=?= test"), "é test");
        assert_eq!(
            decode_header(b"=?iso-8859-1?q?a=E9_b?= =?utf-8?q?c?="),
            "aé bc"
        );
        assert_eq!(decode_header(b"=?bad"), "=?bad");
        assert_eq!(decode_header(b"x =?x-unknown?q?abc?= y"), "x abc y");
    }

    proptest::proptest! {
        /// The ASCII shortcuts give what the character tables give.
        #[test]
        fn ascii_as_the_tables(text in "[ -~\t\r\néÉßǅ\u{300}]{0,40}") {
            let slow: String = text
                .chars()
                .flat_map(|c| {
                    let mut d = Vec::new();
                    decompose(titlecase(c), |x| d.push(x));
                    d
                })
                .collect();
            proptest::prop_assert_eq!(normalize(text.as_bytes()), slow.into_bytes());
        }
    }

    #[test]
    fn normalisation() {
        assert_eq!(normalize("héllo".as_bytes()), "HE\u{301}LLO".as_bytes());
        assert_eq!(normalize("ß".as_bytes()), "ß".as_bytes());
        assert_eq!(normalize(b"\xff"), "\u{fffd}".as_bytes());
        // one level, as Dovecot: Ü stays composed under Ǖ's macron, Å under the Ångström sign
        assert_eq!(normalize("ǖ".as_bytes()), "\u{dc}\u{304}".as_bytes());
        assert_eq!(normalize("\u{212b}".as_bytes()), "\u{c5}".as_bytes());
        // title-case letters are never decomposed
        assert_eq!(normalize("ǆ Ǆ".as_bytes()), "ǅ ǅ".as_bytes());
        assert_eq!(normalize("\u{1f80}".as_bytes()), "\u{1f88}".as_bytes());
        // Hangul syllables into jamo
        assert_eq!(
            normalize("\u{d55c}".as_bytes()),
            "\u{1112}\u{1161}\u{11ab}".as_bytes()
        );
    }
}
