//! Writing strings into IMAP responses the way Dovecot does (`imap-quote`): quoted when that
//! is possible and short, a literal otherwise.

/// After this many quoted-specials (`"`, `\`) a literal is shorter than escaping them all.
const QUOTED_MAX_ESCAPES: usize = 4;

/// Appends `s` as a quoted string. Bytes a quoted string cannot hold (CR, LF, NUL, 8-bit) are
/// left out, as Dovecot does.
pub fn append_quoted(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'\r' | b'\n' | 0 => {}
            b'"' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b if b >= 0x80 => {}
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
