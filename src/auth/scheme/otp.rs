//! The OTP scheme (RFC 2289 one-time passwords, as Dovecot stores their state):
//! `<algorithm> <sequence> <seed> <16 hex digits>`, e.g. `sha1 1024 0a79b4d6bb85ef41
//! fe7701297b6eef46`. Verifying a password recomputes the stored hash from it.

use md4::Md4;
use md5::{Digest, Md5};
use sha1::Sha1;

use super::encoding::{hex_decode, hex_encode};
use super::SchemeError;
use crate::auth::random;

const HASH_LEN: usize = 8;
const MAX_SEED_LEN: usize = 16;
const DEFAULT_SEQUENCE: u32 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Md4,
    Md5,
    Sha1,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md4 => "md4",
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
        }
    }

    fn from_name(name: &[u8]) -> Option<Algorithm> {
        match name {
            b"md4" => Some(Algorithm::Md4),
            b"md5" => Some(Algorithm::Md5),
            b"sha1" => Some(Algorithm::Sha1),
            _ => None,
        }
    }

    /// The digest of `data` folded to 64 bits (RFC 2289: XOR of the halves; for SHA-1 the
    /// five words folded into two, each written least significant byte first).
    fn folded(self, parts: &[&[u8]]) -> [u8; HASH_LEN] {
        fn digest<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for part in parts {
                d.update(part);
            }
            d.finalize().to_vec()
        }
        let mut out = [0u8; HASH_LEN];
        match self {
            Algorithm::Md4 | Algorithm::Md5 => {
                let d = if self == Algorithm::Md4 {
                    digest::<Md4>(parts)
                } else {
                    digest::<Md5>(parts)
                };
                for (i, byte) in out.iter_mut().enumerate() {
                    *byte = d[i] ^ d[i + 8];
                }
            }
            Algorithm::Sha1 => {
                let d = digest::<Sha1>(parts);
                for i in 0..4 {
                    out[3 - i] = d[i] ^ d[i + 8] ^ d[i + 16];
                    out[7 - i] = d[i + 4] ^ d[i + 12];
                }
            }
        }
        out
    }

    /// The one-time password number `sequence` for a seed and pass phrase.
    fn hash(self, seed: &[u8], passphrase: &[u8], sequence: u32) -> [u8; HASH_LEN] {
        let mut value = self.folded(&[seed, passphrase]);
        for _ in 0..sequence {
            value = self.folded(&[&value]);
        }
        value
    }
}

/// A parsed OTP entry.
struct Entry {
    algorithm: Algorithm,
    sequence: u32,
    seed: Vec<u8>,
}

impl Entry {
    fn render(&self, hash: &[u8; HASH_LEN]) -> String {
        format!(
            "{} {} {} {}",
            self.algorithm.name(),
            self.sequence,
            String::from_utf8_lossy(&self.seed),
            hex_encode(hash)
        )
    }
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Reads `<algorithm> <sequence> <seed> <hash>` as Dovecot does: the seed is up to 16
/// letters and digits (lower-cased), the hash 16 hex digits that may have blanks between them.
fn parse(raw: &[u8]) -> Option<Entry> {
    let name_end = raw.iter().position(|&c| is_blank(c))?;
    let algorithm = Algorithm::from_name(&raw[..name_end])?;
    let rest = &raw[name_end + 1..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    // A negative or huge sequence would mean billions of hash rounds: not an OTP state.
    let sequence: u32 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let rest = &rest[digits..];
    if !rest.first().copied().is_some_and(is_blank) {
        return None;
    }
    let rest = &rest[1..];
    let seed_len = rest
        .iter()
        .take(MAX_SEED_LEN)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let seed = rest[..seed_len].to_ascii_lowercase();
    if rest.get(seed_len) != Some(&b' ') {
        return None;
    }
    let hex: Vec<u8> = rest[seed_len + 1..]
        .iter()
        .copied()
        .filter(|&c| !is_blank(c))
        .take(HASH_LEN * 2)
        .collect();
    hex_decode(&hex).filter(|h| h.len() == HASH_LEN)?;
    Some(Entry {
        algorithm,
        sequence,
        seed,
    })
}

/// A new OTP state: SHA-1, sequence 1024, a random 16-hex-digit seed.
pub fn generate(password: &[u8]) -> Result<Vec<u8>, SchemeError> {
    let entry = Entry {
        algorithm: Algorithm::Sha1,
        sequence: DEFAULT_SEQUENCE,
        seed: hex_encode(&random::bytes::<{ MAX_SEED_LEN / 2 }>()?).into_bytes(),
    };
    let hash = entry.algorithm.hash(&entry.seed, password, entry.sequence);
    Ok(entry.render(&hash).into_bytes())
}

/// Recomputes the entry from `password` and compares it with the stored text, ignoring case.
pub fn verify(password: &[u8], raw: &[u8]) -> Result<bool, String> {
    let entry = parse(raw).ok_or("Invalid OTP data in passdb")?;
    let hash = entry.algorithm.hash(&entry.seed, password, entry.sequence);
    let expected = entry.render(&hash).to_ascii_lowercase();
    Ok(super::digest::constant_time_eq(
        expected.as_bytes(),
        &raw.to_ascii_lowercase(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2289_appendix_c() {
        let cases: &[(Algorithm, u32, &str)] = &[
            (Algorithm::Md4, 0, "d1854218ebbb0b51"),
            (Algorithm::Md4, 1, "63473ef01cd0b444"),
            (Algorithm::Md4, 99, "c5e612776e6c237a"),
            (Algorithm::Md5, 0, "9e876134d90499dd"),
            (Algorithm::Md5, 1, "7965e05436f5029f"),
            (Algorithm::Md5, 99, "50fe1962c4965880"),
            (Algorithm::Sha1, 0, "bb9e6ae1979d8ff4"),
            (Algorithm::Sha1, 1, "63d936639734385b"),
            (Algorithm::Sha1, 99, "87fec7768b73ccf9"),
        ];
        for &(algorithm, sequence, expected) in cases {
            // The seed "TeSt" is used lower-cased.
            let hash = algorithm.hash(b"test", b"This is a test.", sequence);
            assert_eq!(hex_encode(&hash), expected, "{algorithm:?} {sequence}");
            let entry = format!(
                "{} {sequence} TeSt {}",
                algorithm.name(),
                expected.to_uppercase()
            );
            assert_eq!(verify(b"This is a test.", entry.as_bytes()), Ok(true));
            assert_eq!(verify(b"This is a test!", entry.as_bytes()), Ok(false));
        }
        let hash = Algorithm::Sha1.hash(b"alpha1", b"AbCdEfGhIjK", 99);
        assert_eq!(hex_encode(&hash), "27bc71035aaf3dc6");
        let hash = Algorithm::Md5.hash(b"alpha1", b"AbCdEfGhIjK", 0);
        assert_eq!(hex_encode(&hash), "87066dd9644bf206");
    }

    #[test]
    fn dovecot_entry_and_generation() {
        // `doveadm pw -s OTP -p secret`.
        assert_eq!(
            verify(b"secret", b"sha1 1024 0a79b4d6bb85ef41 fe7701297b6eef46"),
            Ok(true)
        );
        let generated = generate(b"pw").unwrap();
        assert!(generated.starts_with(b"sha1 1024 "));
        assert_eq!(generated.len(), "sha1 1024 ".len() + 16 + 1 + 16);
        assert_eq!(verify(b"pw", &generated), Ok(true));
    }

    #[test]
    fn malformed_entries() {
        for raw in [
            &b""[..],
            b"sha1",
            b"sha2 1 seed 0011223344556677",
            b"SHA1 1 seed 0011223344556677",
            b"sha1 -1 seed 0011223344556677",
            b"sha1 99999999999 seed 0011223344556677",
            b"sha1 1 seed",
            b"sha1 1 seed 00112233",
            b"sha1 1 seed-x 0011223344556677",
        ] {
            assert!(
                verify(b"x", raw).is_err(),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        // Blanks between hex digits are read, but the text then differs from the canonical
        // form, so nothing matches.
        assert_eq!(verify(b"x", b"sha1 1 seed 0011 2233 4455 6677"), Ok(false));
    }
}
