//! The text encodings of a stored password's raw bytes: Dovecot's `.HEX` / `.B64` / `.BASE64`
//! suffixes, each scheme's default, and Dovecot's hex-or-base64 guess for fixed-size digests.

use crate::auth::base64;

/// How raw password bytes are written in a stored password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The bytes are the text itself (crypt strings, PLAIN, SCRAM, PBKDF2, ...).
    None,
    Hex,
    Base64,
}

pub fn hex_encode(raw: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(raw.len() * 2);
    for byte in raw {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes hex digits of either case; `None` on an odd length or any other character.
pub fn hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if text.len() % 2 != 0 {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

/// Why stored text could not be turned into raw bytes (Dovecot's words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    NotHex,
    NotBase64,
    WrongLength { got: usize, want: usize },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::NotHex => f.write_str("Input isn't valid HEX encoded data"),
            DecodeError::NotBase64 => f.write_str("Input isn't valid base64 encoded data"),
            DecodeError::WrongLength { got, want } => {
                write!(f, "Input length isn't valid ({got} instead of {want})")
            }
        }
    }
}

/// Turns stored text into raw bytes. `explicit` is true when the scheme name carried an
/// encoding suffix; without one, a fixed-size digest (`raw_len` > 0) may be written in hex or
/// base64, told apart by length, and a failed hex read falls back to base64.
pub fn decode(
    text: &[u8],
    encoding: Encoding,
    explicit: bool,
    raw_len: usize,
) -> Result<Vec<u8>, DecodeError> {
    let guessed = encoding != Encoding::None && raw_len != 0 && !explicit;
    let encoding = if guessed && text.len() != raw_len * 2 {
        Encoding::Base64
    } else if guessed {
        Encoding::Hex
    } else {
        encoding
    };
    let raw = match encoding {
        Encoding::None => text.to_vec(),
        Encoding::Hex => match hex_decode(text) {
            Some(raw) => raw,
            None if guessed => base64::decode(text).map_err(|_| DecodeError::NotBase64)?,
            None => return Err(DecodeError::NotHex),
        },
        Encoding::Base64 => base64::decode(text).map_err(|_| DecodeError::NotBase64)?,
    };
    if raw_len != 0 && raw.len() != raw_len {
        return Err(DecodeError::WrongLength {
            got: raw.len(),
            want: raw_len,
        });
    }
    Ok(raw)
}

/// Writes raw bytes in `encoding` (text schemes' bytes as they are).
pub fn encode(raw: &[u8], encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::None => raw.to_vec(),
        Encoding::Hex => hex_encode(raw).into_bytes(),
        Encoding::Base64 => base64::encode(raw).into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        assert_eq!(hex_encode(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(
            hex_decode(b"00ABff").as_deref(),
            Some(&[0x00, 0xab, 0xff][..])
        );
        assert_eq!(hex_decode(b"abc"), None);
        assert_eq!(hex_decode(b"zz"), None);
    }

    #[test]
    fn fixed_size_digest_guesses_hex_or_base64() {
        let sha1_hex = b"e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4";
        let sha1_b64 = b"5en6G6MezRroT3XKqkdPOmY/BfQ=";
        let a = decode(sha1_hex, Encoding::Base64, false, 20).unwrap();
        let b = decode(sha1_b64, Encoding::Base64, false, 20).unwrap();
        assert_eq!(a, b);
        // With an explicit suffix there is no guessing.
        assert_eq!(
            decode(sha1_hex, Encoding::Base64, true, 20),
            Err(DecodeError::WrongLength { got: 30, want: 20 })
        );
        assert_eq!(
            decode(b"abcd", Encoding::Base64, false, 20),
            Err(DecodeError::WrongLength { got: 3, want: 20 })
        );
        assert_eq!(
            decode(b"!!!", Encoding::Base64, false, 20),
            Err(DecodeError::NotBase64)
        );
        assert_eq!(
            decode(b"xyz", Encoding::Hex, true, 0),
            Err(DecodeError::NotHex)
        );
    }
}
