//! Secret random bytes (password salts, SASL challenges and nonces, master cookies): all of
//! them come from the kernel's generator, getrandom(2), through here.

use std::fmt;

/// The kernel's generator failed (nothing safe can be made without it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RandomError(String);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "getrandom() failed: {}", self.0)
    }
}

impl std::error::Error for RandomError {}

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<(), RandomError> {
    getrandom::fill(buf).map_err(|e| RandomError(e.to_string()))
}

/// `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_differ() {
        assert_ne!(bytes::<16>().unwrap(), bytes::<16>().unwrap());
        let mut long = vec![0u8; 4096];
        fill(&mut long).unwrap();
        assert!(long.iter().any(|&b| b != 0));
    }
}
