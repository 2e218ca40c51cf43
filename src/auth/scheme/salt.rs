//! crypt(3)-style salt characters, drawn from the auth layer's random source.

use super::SchemeError;
use crate::auth::random;

/// The characters of crypt(3) salts, 64 of them.
const SALT_CHARS: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random salt characters, uniformly drawn (64 characters: six bits of each byte).
pub fn chars(len: usize) -> Result<String, SchemeError> {
    let mut raw = vec![0u8; len];
    random::fill(&mut raw)?;
    Ok(raw
        .iter()
        .map(|b| char::from(SALT_CHARS[usize::from(b & 63)]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salts_are_random_salt_characters() {
        let a = chars(16).unwrap();
        let b = chars(16).unwrap();
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| SALT_CHARS.contains(&c)));
        assert_ne!(a, b);
    }
}
