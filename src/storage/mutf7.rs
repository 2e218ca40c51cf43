//! IMAP modified UTF-7 (RFC 3501 §5.1.3), with Dovecot's strictness (`src/lib-imap/imap-utf7.c`).
//!
//! Mailbox names are UTF-8 inside cote and in modified UTF-7 on the wire and on disk (Maildir++
//! folder names, subscriptions). Decoding refuses every form that is not the one canonical
//! encoding of its text, as Dovecot does: printable ASCII or NUL inside a base64 run, two runs
//! back to back, an odd number of UTF-16 bytes, unpaired surrogates, raw 8-bit or control bytes;
//! and, stricter than Dovecot, non-zero padding bits at the end of a run.

use std::fmt;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b',' => Some(63),
        _ => None,
    }
}

/// Why a modified UTF-7 string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutf7Error {
    /// A byte outside printable ASCII (raw 8-bit or control).
    RawByte { offset: usize, byte: u8 },
    /// A `&...-` run that is not valid or not canonical.
    BadShift { offset: usize, reason: &'static str },
}

impl fmt::Display for Mutf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutf7Error::RawByte { offset, byte } => write!(
                f,
                "Invalid modified UTF-7: byte 0x{byte:02x} at offset {offset} must be encoded"
            ),
            Mutf7Error::BadShift { offset, reason } => {
                write!(f, "Invalid modified UTF-7 at offset {offset}: {reason}")
            }
        }
    }
}

impl std::error::Error for Mutf7Error {}

/// UTF-8 → modified UTF-7. Printable ASCII stays, `&` becomes `&-`, everything else goes in
/// `&<base64 of UTF-16BE>-` runs.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut utf16: Vec<u8> = Vec::new();
    for c in s.chars() {
        let printable = (' '..='~').contains(&c);
        if !printable {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                utf16.extend_from_slice(&unit.to_be_bytes());
            }
            continue;
        }
        flush_base64(&mut out, &mut utf16);
        if c == '&' {
            out.push_str("&-");
        } else {
            out.push(c);
        }
    }
    flush_base64(&mut out, &mut utf16);
    out
}

fn flush_base64(out: &mut String, utf16: &mut Vec<u8>) {
    if utf16.is_empty() {
        return;
    }
    out.push('&');
    for chunk in utf16.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let idx = [
            b[0] >> 2,
            ((b[0] & 3) << 4) | (b[1] >> 4),
            ((b[1] & 0x0f) << 2) | (b[2] >> 6),
            b[2] & 0x3f,
        ];
        for &i in &idx[..chunk.len() + 1] {
            out.push(char::from(B64[usize::from(i)]));
        }
    }
    out.push('-');
    utf16.clear();
}

/// Modified UTF-7 → UTF-8, refusing non-canonical input as Dovecot does.
pub fn decode(s: &[u8]) -> Result<String, Mutf7Error> {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if !(0x20..0x7f).contains(&c) {
            return Err(Mutf7Error::RawByte { offset: i, byte: c });
        }
        if c != b'&' {
            out.push(char::from(c));
            i += 1;
            continue;
        }
        if s.get(i + 1) == Some(&b'-') {
            out.push('&');
            i += 2;
            continue;
        }
        let start = i;
        let end = decode_run(s, i + 1, &mut out).map_err(|reason| Mutf7Error::BadShift {
            offset: start,
            reason,
        })?;
        // `end` is the index of the closing `-`. Another run right after it would have been
        // part of this one.
        if s.get(end + 1) == Some(&b'&') && s.get(end + 2) != Some(&b'-') {
            return Err(Mutf7Error::BadShift {
                offset: end + 1,
                reason: "unnecessary shift after the previous encoded run",
            });
        }
        i = end + 1;
    }
    Ok(out)
}

/// Whether `s` is valid, canonical modified UTF-7.
pub fn is_valid(s: &[u8]) -> bool {
    decode(s).is_ok()
}

/// Decodes the base64 run starting at `from` (just after `&`); returns the index of its `-`.
fn decode_run(s: &[u8], from: usize, out: &mut String) -> Result<usize, &'static str> {
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut bytes: Vec<u8> = Vec::new();
    let mut i = from;
    loop {
        let Some(&c) = s.get(i) else {
            return Err("encoded run has no terminating '-'");
        };
        if c == b'-' {
            break;
        }
        let v = b64_value(c).ok_or("invalid base64 character in encoded run")?;
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            bytes.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
        i += 1;
    }
    if i == from {
        // `&-` is handled by the caller; an empty run cannot occur here.
        return Err("empty encoded run");
    }
    // Dovecot counts base64 groups: a run whose length leaves one dangling character is
    // refused the same way as a truncated UTF-16 unit.
    if (i - from) % 4 == 1 {
        return Err("truncated base64 in encoded run");
    }
    // Stricter than Dovecot, which ignores these bits: only the canonical form is accepted.
    if bits != 0 {
        return Err("non-zero padding bits in encoded run");
    }
    if bytes.len() % 2 != 0 {
        return Err("odd number of UTF-16 bytes in encoded run");
    }
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]))
        .collect();
    let mut k = 0;
    while k < units.len() {
        let u = units[k];
        match u {
            0xd800..=0xdbff => {
                let low = *units.get(k + 1).ok_or("high surrogate without a low one")?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err("high surrogate without a low one");
                }
                let cp = 0x10000 + ((u32::from(u) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                out.push(char::from_u32(cp).ok_or("invalid surrogate pair")?);
                k += 2;
            }
            0xdc00..=0xdfff => return Err("low surrogate without a high one"),
            0 => return Err("encoded NUL"),
            0x20..=0x7e => return Err("printable ASCII must not be encoded"),
            _ => {
                out.push(char::from_u32(u32::from(u)).ok_or("invalid UTF-16 unit")?);
                k += 1;
            }
        }
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        assert_eq!(encode("INBOX"), "INBOX");
        assert_eq!(encode("a&b"), "a&-b");
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("日本語"), "&ZeVnLIqe-");
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(encode("tab\there"), "tab&AAk-here");
        assert_eq!(decode(b"Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(decode(b"&-&-").unwrap(), "&&");
        assert_eq!(decode(b"&2D3eAA-").unwrap(), "😀");
        assert_eq!(decode(b"&ZeVnLIqe-").unwrap(), "日本語");
    }

    #[test]
    fn non_canonical_forms_are_refused() {
        for bad in [
            &b"&AGE-"[..],  // 'a' encoded
            b"&AAA-",       // NUL
            b"&ZeV-",       // odd byte count
            b"&ZeVnLIqe",   // no terminating '-'
            b"&Ze!-",       // bad base64
            b"&APw-&APw-",  // two runs back to back
            b"&2D0-",       // lone high surrogate
            b"&3gA-",       // lone low surrogate
            b"&2D3YPQ-",    // high followed by high
            b"caf\xc3\xa9", // raw 8-bit
            b"a\tb",        // raw control
            b"&",           // bare shift at the end
            b"&Z-",         // a dangling base64 character
            b"&APx-",       // non-zero padding bits
        ] {
            assert!(
                decode(bad).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // back-to-back runs are fine when the second is a literal '&'
        assert_eq!(decode(b"&APw-&-").unwrap(), "ü&");
    }

    proptest! {
        #[test]
        fn round_trip(s in "\\PC*") {
            let enc = encode(&s);
            prop_assert!(enc.bytes().all(|c| (0x20..0x7f).contains(&c)));
            prop_assert_eq!(decode(enc.as_bytes()).unwrap(), s);
        }

        #[test]
        fn decode_accepts_only_canonical(bytes in proptest::collection::vec(0x20u8..0x7f, 0..24)) {
            // Whatever decodes must re-encode to exactly the input.
            if let Ok(text) = decode(&bytes) {
                let again = encode(&text);
                prop_assert_eq!(again.as_bytes(), &bytes[..]);
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = decode(&bytes);
        }
    }
}
