//! Writing strings into IMAP responses the way Dovecot does (`imap-quote`): quoted when that
//! is possible and short, a literal otherwise. The one place for IMAP string quoting: the
//! protocol layer and the ENVELOPE/BODYSTRUCTURE writers both use it.

/// After this many quoted-specials (`"`, `\`) a literal is shorter than escaping them all.
const QUOTED_MAX_ESCAPES: usize = 4;

/// Appends `s` as a quoted string. Bytes a quoted string cannot hold (CR, LF, NUL, 8-bit) are
/// left out, as Dovecot does.
pub fn append_quoted(out: &mut Vec<u8>, s: &[u8]) {
    append_quoted_bytes(out, s, false);
}

/// Appends `s` as a quoted string that keeps its 8-bit bytes (UTF-8, which IMAP4rev2 and
/// UTF8=ACCEPT allow in quoted strings); CR, LF and NUL are left out.
pub fn append_quoted_utf8(out: &mut Vec<u8>, s: &[u8]) {
    append_quoted_bytes(out, s, true);
}

fn append_quoted_bytes(out: &mut Vec<u8>, s: &[u8], keep_8bit: bool) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\r' | b'\n' | 0 => {}
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b if b >= 0x80 && !keep_8bit => {}
            b => out.push(b),
        }
    }
    out.push(b'"');
}

/// Appends an `nstring`: `NIL`, a quoted string, or a literal when the value holds CR, LF, NUL
/// or 8-bit bytes, or more than four characters to escape.
pub fn append_nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    let Some(s) = s else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let mut escapes = 0;
    let needs_literal = s.iter().any(|&b| match b {
        b'"' | b'\\' => {
            escapes += 1;
            escapes > QUOTED_MAX_ESCAPES
        }
        b'\r' | b'\n' | 0 => true,
        b => b >= 0x80,
    });
    if needs_literal {
        out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
        out.extend_from_slice(s);
    } else {
        append_quoted(out, s);
    }
}

/// Appends an `astring`: the bytes as they are when they are all ASTRING-CHARs (atom
/// characters or `]`), otherwise a string as [`append_nstring`] writes it. The empty string and
/// `NIL` are quoted, so that neither reads as NIL (Dovecot's `imap_append_astring`).
pub fn append_astring(out: &mut Vec<u8>, s: &[u8]) {
    let astring_char = |c: u8| c > b' ' && c < 0x7f && !b"(){%*\"\\".contains(&c);
    if s.is_empty() || s.eq_ignore_ascii_case(b"NIL") || !s.iter().all(|&c| astring_char(c)) {
        append_nstring(out, Some(s));
    } else {
        out.extend_from_slice(s);
    }
}

/// Appends an `nstring` after removing CR and LF, putting a space where a line break was not
/// followed by whitespace (Dovecot's `imap_append_nstring_nolf`, used for header values).
pub fn append_nstring_nolf(out: &mut Vec<u8>, s: Option<&[u8]>) {
    let Some(s) = s else {
        return append_nstring(out, None);
    };
    if !s.iter().any(|&b| b == b'\r' || b == b'\n') {
        return append_nstring(out, Some(s));
    }
    let mut joined = Vec::with_capacity(s.len());
    for (i, &b) in s.iter().enumerate() {
        if b != b'\r' && b != b'\n' {
            joined.push(b);
        } else if !matches!(s.get(i + 1), None | Some(b' ' | b'\t' | b'\r' | b'\n' | 0)) {
            joined.push(b' ');
        }
    }
    append_nstring(out, Some(&joined));
}

/// Appends a string meant for people (a subject, a display name) as Dovecot does: runs of
/// whitespace (SP, TAB, CR, LF) become one space, leading and trailing whitespace goes, NUL
/// becomes 0x80; plain text stays a quoted string, anything else becomes a literal.
pub fn append_string_for_humans(out: &mut Vec<u8>, s: &[u8]) {
    let mut cleaned = Vec::with_capacity(s.len());
    let mut modify = false;
    let mut last_space = true;
    for &b in s {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                if b != b' ' || last_space {
                    modify = true;
                }
                if !last_space {
                    cleaned.push(b' ');
                }
                last_space = true;
            }
            _ => {
                if matches!(b, 0 | b'"' | b'\\') || b >= 0x80 {
                    modify = true;
                }
                cleaned.push(if b == 0 { 0x80 } else { b });
                last_space = false;
            }
        }
    }
    if last_space && !cleaned.is_empty() {
        cleaned.pop();
        modify = true;
    }
    if !modify {
        out.push(b'"');
        out.extend_from_slice(s);
        out.push(b'"');
    } else if cleaned.is_empty() {
        out.extend_from_slice(b"\"\"");
    } else {
        out.extend_from_slice(format!("{{{}}}\r\n", cleaned.len()).as_bytes());
        out.extend_from_slice(&cleaned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nstring(s: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        append_nstring(&mut out, s);
        out
    }

    #[test]
    fn quoted() {
        let mut out = Vec::new();
        append_quoted(&mut out, b"a\"b\\c\r\nd\xffe\0");
        assert_eq!(out, b"\"a\\\"b\\\\cde\"");
    }

    fn humans(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        append_string_for_humans(&mut out, s);
        out
    }

    #[test]
    fn for_humans() {
        assert_eq!(humans(b"plain text"), b"\"plain text\"");
        assert_eq!(humans(b""), b"\"\"");
        assert_eq!(humans(b"  \t "), b"\"\"");
        assert_eq!(humans(b" a\r\n\tb  "), b"{3}\r\na b");
        assert_eq!(humans(b"say \"hi\""), b"{8}\r\nsay \"hi\"");
        assert_eq!(humans(b"a\0b"), b"{3}\r\na\x80b");
    }

    #[test]
    fn nolf() {
        let mut out = Vec::new();
        append_nstring_nolf(&mut out, Some(b"a\r\n b\nc\r\n"));
        assert_eq!(out, b"\"a b c\"");
        out.clear();
        append_nstring_nolf(&mut out, Some(b"<x@y>\n<z@w>"));
        assert_eq!(out, b"\"<x@y> <z@w>\"");
    }

    #[test]
    fn astring() {
        let astring = |s: &[u8]| {
            let mut out = Vec::new();
            append_astring(&mut out, s);
            out
        };
        assert_eq!(astring(b"INBOX"), b"INBOX");
        assert_eq!(astring(b"Archive/2023]"), b"Archive/2023]");
        assert_eq!(astring(b""), b"\"\"");
        assert_eq!(astring(b"nil"), b"\"nil\"");
        assert_eq!(astring(b"a b"), b"\"a b\"");
        assert_eq!(astring(b"a*"), b"\"a*\"");
        assert_eq!(astring("ü".as_bytes()), b"{2}\r\n\xc3\xbc");
    }

    #[test]
    fn nstring_chooses_quoted_or_literal() {
        assert_eq!(nstring(None), b"NIL");
        assert_eq!(nstring(Some(b"")), b"\"\"");
        assert_eq!(nstring(Some(b"NIL")), b"\"NIL\"");
        assert_eq!(nstring(Some(b"\"\"\"\"")), b"\"\\\"\\\"\\\"\\\"\"");
        assert_eq!(nstring(Some(b"\"\"\"\"\"")), b"{5}\r\n\"\"\"\"\"");
        assert_eq!(nstring(Some(b"a\r\nb")), b"{4}\r\na\r\nb");
        assert_eq!(nstring(Some("é".as_bytes())), b"{2}\r\n\xc3\xa9");
    }
}
