//! Base64 as the auth protocols use it (`resp=`, `CONT`, SCRAM attributes): the standard
//! alphabet, padding written, and padding optional when reading (clients differ).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn encode(data: &[u8]) -> String {
    ENGINE.encode(data)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidBase64;

pub fn decode(text: &str) -> Result<Vec<u8>, InvalidBase64> {
    ENGINE.decode(text).map_err(|_| InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_optional_alphabet_strict() {
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(decode("Zm8=").unwrap(), b"fo");
        assert_eq!(decode("Zm8").unwrap(), b"fo");
        assert!(decode("*").is_err());
        assert!(decode("Z").is_err());
        assert_eq!(decode("").unwrap(), b"");
    }
}
