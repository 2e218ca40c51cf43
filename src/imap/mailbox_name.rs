//! Mailbox names on the wire. Inside cote names are UTF-8; IMAP4rev1 clients send and receive
//! them in modified UTF-7 (RFC 3501 §5.1.3). A client that enabled UTF8=ACCEPT (RFC 6855, part
//! of issue 10's extensions) uses UTF-8 instead: the [`NameEncoding`] says which.

use std::fmt;

use crate::mail::quote::append_astring;
use crate::storage::mutf7;

/// How this session writes mailbox names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameEncoding {
    #[default]
    ModifiedUtf7,
    /// After `ENABLE UTF8=ACCEPT`.
    Utf8,
}

/// A name that is not valid in the session's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName;

impl fmt::Display for InvalidName {
    /// Dovecot's text, sent as `NO`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mailbox name is not valid mUTF-7")
    }
}

impl std::error::Error for InvalidName {}

impl NameEncoding {
    /// The UTF-8 name of a wire name; only the canonical modified UTF-7 form is accepted.
    pub fn decode(self, wire: &[u8]) -> Result<String, InvalidName> {
        match self {
            NameEncoding::ModifiedUtf7 => mutf7::decode(wire).map_err(|_| InvalidName),
            NameEncoding::Utf8 => String::from_utf8(wire.to_vec()).map_err(|_| InvalidName),
        }
    }

    /// A LIST reference or pattern: decoded when it is valid, otherwise used as sent (Dovecot
    /// matches such a pattern literally).
    pub fn decode_pattern(self, wire: &[u8]) -> String {
        self.decode(wire)
            .unwrap_or_else(|_| String::from_utf8_lossy(wire).into_owned())
    }

    /// The wire form of a UTF-8 name.
    pub fn encode(self, name: &str) -> String {
        match self {
            NameEncoding::ModifiedUtf7 => mutf7::encode(name),
            NameEncoding::Utf8 => name.to_string(),
        }
    }

    /// Appends a name as an astring (an atom when it can be one, as Dovecot writes them).
    /// In UTF-8 a name with non-ASCII characters is a quoted string, which IMAP4rev2 and
    /// UTF8=ACCEPT allow to hold UTF-8 (RFC 9051 §4.3, RFC 6855 §3), unless it has bytes
    /// no quoted string holds (CR, LF, NUL: then a literal).
    pub fn append(self, out: &mut Vec<u8>, name: &str) {
        let quotable = |c: char| !matches!(c, '\r' | '\n' | '\0');
        if self == NameEncoding::Utf8 && !name.is_ascii() && name.chars().all(quotable) {
            crate::mail::quote::append_quoted_utf8(out, name.as_bytes());
            return;
        }
        append_astring(out, self.encode(name).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modified_utf7() {
        let enc = NameEncoding::ModifiedUtf7;
        assert_eq!(enc.decode(b"Entw&APw-rfe"), Ok("Entwürfe".to_string()));
        assert_eq!(enc.decode(b"&Jjo"), Err(InvalidName));
        assert_eq!(enc.decode(b"a&b"), Err(InvalidName));
        assert_eq!(enc.decode(b"&AGE-"), Err(InvalidName));
        assert_eq!(enc.decode_pattern(b"a&b*"), "a&b*");
        let mut out = Vec::new();
        enc.append(&mut out, "Entwürfe");
        out.push(b' ');
        enc.append(&mut out, "two words");
        out.push(b' ');
        enc.append(&mut out, "");
        assert_eq!(out, b"Entw&APw-rfe \"two words\" \"\"");
        assert_eq!(InvalidName.to_string(), "Mailbox name is not valid mUTF-7");
    }

    #[test]
    fn utf8() {
        let enc = NameEncoding::Utf8;
        assert_eq!(
            enc.decode("Entwürfe".as_bytes()),
            Ok("Entwürfe".to_string())
        );
        assert_eq!(enc.decode(b"\xff"), Err(InvalidName));
        assert_eq!(enc.encode("Entwürfe"), "Entwürfe");
        let mut out = Vec::new();
        for name in ["Entwürfe", "a\"ü\\", "plain", "two words", "ü\r\n"] {
            enc.append(&mut out, name);
            out.push(b' ');
        }
        assert_eq!(
            out,
            "\"Entwürfe\" \"a\\\"ü\\\\\" plain \"two words\" {4}\r\nü\r\n ".as_bytes()
        );
    }
}
