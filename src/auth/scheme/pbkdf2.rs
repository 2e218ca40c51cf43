//! Dovecot's PBKDF2 scheme (not the PHC format): `$1$<salt>$<rounds>$<40 hex digits>`,
//! PBKDF2-HMAC-SHA1 with a 20-byte key and the salt text used as is.

use sha1::Sha1;

use super::digest::constant_time_eq;
use super::encoding::{hex_decode, hex_encode};
use super::{salt, SchemeError};

const KEY_LEN: usize = 20;
const SALT_LEN: usize = 16;
const DEFAULT_ROUNDS: u32 = 5000;

fn derive(password: &[u8], salt: &[u8], rounds: u32) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, &mut key);
    key
}

/// A new entry: 16 salt characters, `rounds` (0: 5000).
pub fn generate(password: &[u8], rounds: u32) -> Result<Vec<u8>, SchemeError> {
    let rounds = if rounds == 0 { DEFAULT_ROUNDS } else { rounds };
    let salt = salt::chars(SALT_LEN)?;
    let key = derive(password, salt.as_bytes(), rounds);
    Ok(format!("$1${salt}${rounds}${}", hex_encode(&key)).into_bytes())
}

pub fn verify(password: &[u8], raw: &[u8]) -> Result<bool, String> {
    let rest = raw
        .strip_prefix(b"$1$")
        .ok_or("Invalid PBKDF2 passdb entry prefix")?;
    let fields: Vec<&[u8]> = rest.split(|&c| c == b'$').collect();
    let [salt, rounds, hash] = fields[..] else {
        return Err("Invalid PBKDF2 passdb entry format".to_string());
    };
    // Zero rounds would derive nothing (Dovecot then compares against zeros): refuse it.
    let rounds = std::str::from_utf8(rounds)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|&r| r > 0)
        .ok_or("Invalid PBKDF2 passdb entry format")?;
    let stored = hex_decode(hash)
        .filter(|k| k.len() == KEY_LEN)
        .ok_or("PBKDF2 hash not 160bit hex-encoded")?;
    Ok(constant_time_eq(&derive(password, salt, rounds), &stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6070_vectors_in_dovecot_format() {
        // RFC 6070: P = "password", S = "salt".
        let one = b"$1$salt$1$0c60c80f961f0e71f3a9b524af6012062fe037a6";
        let many = b"$1$salt$4096$4b007901b765489abead49d926f721d065a429c1";
        assert_eq!(verify(b"password", one), Ok(true));
        assert_eq!(verify(b"password", many), Ok(true));
        assert_eq!(verify(b"passwore", many), Ok(false));
        // Hex digits in either case.
        let upper = b"$1$salt$1$0C60C80F961F0E71F3A9B524AF6012062FE037A6";
        assert_eq!(verify(b"password", upper), Ok(true));
    }

    #[test]
    fn dovecot_entry() {
        // `doveadm pw -s PBKDF2 -p secret`.
        let entry = b"$1$YYK7FQBom0HUFBJj$5000$c969dd89fb03c37e6e83fbbb5e541330f15d546a";
        assert_eq!(verify(b"secret", entry), Ok(true));
        let generated = generate(b"secret", 0).unwrap();
        assert!(generated.starts_with(b"$1$"));
        assert_eq!(generated.len(), 3 + 16 + 1 + 4 + 1 + 40);
        assert_eq!(verify(b"secret", &generated), Ok(true));
        assert!(generate(b"x", 7).unwrap().windows(3).any(|w| w == b"$7$"));
    }

    #[test]
    fn malformed_entries() {
        let e = |raw: &[u8]| verify(b"x", raw).unwrap_err();
        assert_eq!(e(b"salt$1$00"), "Invalid PBKDF2 passdb entry prefix");
        assert_eq!(e(b"$1$salt$1"), "Invalid PBKDF2 passdb entry format");
        assert_eq!(e(b"$1$salt$x$00"), "Invalid PBKDF2 passdb entry format");
        assert_eq!(e(b"$1$salt$0$00"), "Invalid PBKDF2 passdb entry format");
        assert_eq!(e(b"$1$salt$1$00"), "PBKDF2 hash not 160bit hex-encoded");
        assert_eq!(
            e(b"$1$s$1$0c60c80f961f0e71f3a9b524af6012062fe037a6$"),
            "Invalid PBKDF2 passdb entry format"
        );
    }
}
