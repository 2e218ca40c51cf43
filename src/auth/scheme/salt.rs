//! Random salts from the operating system's generator.

use super::SchemeError;

/// The characters of crypt(3) salts, 64 of them.
const SALT_CHARS: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], SchemeError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| SchemeError::System(format!("getrandom() failed: {e}")))?;
    Ok(out)
}

/// `len` random salt characters, uniformly drawn (64 characters: six bits of each byte).
pub fn chars(len: usize) -> Result<String, SchemeError> {
    let mut raw = vec![0u8; len];
    getrandom::fill(&mut raw)
        .map_err(|e| SchemeError::System(format!("getrandom() failed: {e}")))?;
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
        assert_ne!(bytes::<16>().unwrap(), bytes::<16>().unwrap());
    }
}
