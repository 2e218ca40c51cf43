//! Base64 as Dovecot's `base64_encode`/`base64_decode` do it, for everything in the auth layer:
//! the auth protocols (`resp=`, `CONT`), SASL (SCRAM attributes) and stored passwords
//! (`{SCHEME.B64}`, SCRAM and SSHA data). Standard alphabet; padding is written and required;
//! CR, LF, space and tab are skipped; bits after the last full byte are ignored.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, Engine, GeneralPurpose, GeneralPurposeConfig};

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

pub fn encode(raw: &[u8]) -> String {
    ENGINE.encode(raw)
}

/// The text is not base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidBase64;

impl std::fmt::Display for InvalidBase64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Invalid base64 data")
    }
}

impl std::error::Error for InvalidBase64 {}

pub fn decode(text: impl AsRef<[u8]>) -> Result<Vec<u8>, InvalidBase64> {
    let compact: Vec<u8> = text
        .as_ref()
        .iter()
        .copied()
        .filter(|c| !matches!(c, b'\r' | b'\n' | b' ' | b'\t'))
        .collect();
    ENGINE.decode(compact).map_err(|_| InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_dovecot_reads_it() {
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(decode("c2VjcmV0").as_deref(), Ok(&b"secret"[..]));
        assert_eq!(decode(b"c2Vj\r\ncmV0 ").as_deref(), Ok(&b"secret"[..]));
        assert_eq!(decode("QQ==").as_deref(), Ok(&b"A"[..]));
        // Padding is required; stray bits after the last byte are not an error.
        assert_eq!(decode("QQ"), Err(InvalidBase64));
        assert_eq!(decode("QQ="), Err(InvalidBase64));
        assert_eq!(decode("QR==").as_deref(), Ok(&b"A"[..]));
        assert_eq!(decode("!!!!"), Err(InvalidBase64));
        assert_eq!(decode("*"), Err(InvalidBase64));
        assert_eq!(decode("").as_deref(), Ok(&b""[..]));
    }
}
