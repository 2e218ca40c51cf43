//! The plain digest schemes (SHA*, PLAIN-MD4/MD5, DIGEST-MD5), their salted forms (SMD5,
//! SSHA*: digest(password ‖ salt) ‖ salt), PLAIN and PLAIN-TRUNC.

use md4::Md4;
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::encoding::{self, Encoding};
use super::table::Method;
use super::SchemeError;
use crate::auth::random;

/// Salt length Dovecot generates for SMD5 and SSHA*; any length verifies.
const SALT_LEN: usize = 4;

/// Constant-time equality (the length is not secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn digest_of<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = D::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().to_vec()
}

/// The digest a method uses over `parts`; `None` for methods that are not plain digests.
fn digest_for(method: Method, parts: &[&[u8]]) -> Option<Vec<u8>> {
    Some(match method {
        Method::Sha1 | Method::Ssha => digest_of::<Sha1>(parts),
        Method::Sha256 | Method::Ssha256 => digest_of::<Sha256>(parts),
        Method::Sha512 | Method::Ssha512 => digest_of::<Sha512>(parts),
        Method::PlainMd5 | Method::Smd5 => digest_of::<Md5>(parts),
        Method::PlainMd4 => digest_of::<Md4>(parts),
        _ => return None,
    })
}

/// SHA1, SHA256, SHA512, PLAIN-MD4, PLAIN-MD5 of the password.
pub fn unsalted(method: Method, password: &[u8]) -> Vec<u8> {
    digest_for(method, &[password]).unwrap_or_default()
}

/// A new salted digest (SMD5, SSHA, SSHA256, SSHA512) with a 4-byte salt.
pub fn salted_generate(method: Method, password: &[u8]) -> Result<Vec<u8>, SchemeError> {
    let salt = random::bytes::<SALT_LEN>()?;
    let mut raw = digest_for(method, &[password, &salt]).unwrap_or_default();
    raw.extend_from_slice(&salt);
    Ok(raw)
}

/// Verifies a salted digest: whatever follows the digest is the salt.
pub fn salted_verify(
    method: Method,
    name: &str,
    password: &[u8],
    raw: &[u8],
) -> Result<bool, String> {
    let digest_len = unsalted(method, b"").len();
    if raw.len() <= digest_len {
        return Err(format!("{name} password is too short"));
    }
    let (stored, salt) = raw.split_at(digest_len);
    let computed = digest_for(method, &[password, salt]).unwrap_or_default();
    Ok(constant_time_eq(&computed, stored))
}

/// `MD5`: MD5-CRYPT data (`$1$...`) or else PLAIN-MD5 data in hex or base64.
pub fn md5_verify(password: &[u8], raw: &[u8]) -> Result<bool, String> {
    if raw.starts_with(b"$1$") {
        return super::crypt::verify_md5_crypt(password, raw);
    }
    match encoding::decode(raw, Encoding::Hex, false, 16) {
        Ok(md5) => Ok(constant_time_eq(
            &unsalted(Method::PlainMd5, password),
            &md5,
        )),
        Err(_) => Err("Not a valid MD5-CRYPT or PLAIN-MD5 password".to_string()),
    }
}

/// DIGEST-MD5's stored secret: MD5(user:realm:password), the realm after the user's last `@`
/// (so `user@domain@realm` keeps the domain in the user part).
pub fn digest_md5(user: &str, password: &[u8]) -> [u8; 16] {
    let (user, realm) = user.rsplit_once('@').unwrap_or((user, ""));
    Md5::new()
        .chain_update(user)
        .chain_update(b":")
        .chain_update(realm)
        .chain_update(b":")
        .chain_update(password)
        .finalize()
        .into()
}

/// PLAIN-TRUNC data: `<length>-<password>`. (Dovecot 2.3 writes the bare password here, which
/// its own verification then refuses; the length prefix makes the output usable.)
pub fn plain_trunc_generate(password: &[u8]) -> Vec<u8> {
    let mut raw = format!("{}-", password.len()).into_bytes();
    raw.extend_from_slice(password);
    raw
}

/// PLAIN-TRUNC: `<length>-<password>`, where a stored password exactly `length` long may be a
/// truncated prefix of the real one (what some old systems stored).
pub fn plain_trunc_verify(password: &[u8], raw: &[u8]) -> Result<bool, String> {
    let digits = raw.iter().take_while(|c| c.is_ascii_digit()).count();
    let Some(rest) = raw[digits..].strip_prefix(b"-") else {
        return Err("PLAIN-TRUNC missing length: prefix".to_string());
    };
    // An absurd length only means "not a truncated password".
    let truncated_len = std::str::from_utf8(&raw[..digits])
        .ok()
        .and_then(|d| d.parse::<usize>().ok());
    if truncated_len == Some(rest.len()) && password.len() >= rest.len() {
        return Ok(constant_time_eq(&password[..rest.len()], rest));
    }
    Ok(constant_time_eq(password, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // RFC 1320, RFC 1321, FIPS 180 test inputs.
        let hex = |m, p: &[u8]| encoding::hex_encode(&unsalted(m, p));
        assert_eq!(
            hex(Method::PlainMd4, b"abc"),
            "a448017aaf21d8525fc10ae87aa6729d"
        );
        assert_eq!(
            hex(Method::PlainMd5, b"abc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(Method::Sha1, b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(Method::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(unsalted(Method::Sha512, b"abc").len(), 64);
    }

    #[test]
    fn salted_round_trip_and_short_data() {
        for method in [Method::Smd5, Method::Ssha, Method::Ssha256, Method::Ssha512] {
            let raw = salted_generate(method, b"secret").unwrap();
            assert_eq!(raw.len(), unsalted(method, b"").len() + SALT_LEN);
            assert_eq!(salted_verify(method, "X", b"secret", &raw), Ok(true));
            assert_eq!(salted_verify(method, "X", b"secreT", &raw), Ok(false));
            let short = &raw[..unsalted(method, b"").len()];
            assert_eq!(
                salted_verify(method, "SSHA", b"secret", short),
                Err("SSHA password is too short".to_string())
            );
        }
        // Any salt length verifies (here 9 bytes).
        let salt = b"123456789";
        let mut raw = digest_of::<Sha1>(&[b"pw", salt]);
        raw.extend_from_slice(salt);
        assert_eq!(salted_verify(Method::Ssha, "SSHA", b"pw", &raw), Ok(true));
    }

    #[test]
    fn digest_md5_binds_user_and_realm() {
        // MD5("bob:realm:secret") and MD5("bob::secret").
        let with_realm = digest_md5("bob@realm", b"secret");
        assert_eq!(with_realm, digest_of::<Md5>(&[b"bob:realm:secret"])[..]);
        assert_eq!(
            digest_md5("bob", b"secret"),
            digest_of::<Md5>(&[b"bob::secret"])[..]
        );
        assert_eq!(
            digest_md5("bob@example.com@realm", b"x"),
            digest_of::<Md5>(&[b"bob@example.com:realm:x"])[..]
        );
    }

    #[test]
    fn md5_scheme_accepts_crypt_and_plain_md5() {
        assert_eq!(
            md5_verify(b"secret", b"5ebe2294ecd0e0f08eab7690d2a6ee69"),
            Ok(true)
        );
        assert_eq!(md5_verify(b"secret", b"Xr4ilOzQ4PCOq3aQ0qbuaQ=="), Ok(true));
        assert_eq!(md5_verify(b"other", b"Xr4ilOzQ4PCOq3aQ0qbuaQ=="), Ok(false));
        assert_eq!(
            md5_verify(b"secret", b"$1$saltsalt$9xy1btjgzLYfb7hivXtC//"),
            Ok(true)
        );
        assert!(md5_verify(b"secret", b"zzz").is_err());
    }

    #[test]
    fn plain_trunc() {
        assert_eq!(plain_trunc_verify(b"secret", b"6-secret"), Ok(true));
        assert_eq!(plain_trunc_verify(b"secretive", b"6-secret"), Ok(true));
        assert_eq!(plain_trunc_verify(b"secre", b"6-secret"), Ok(false));
        assert_eq!(plain_trunc_verify(b"secret", b"3-sec"), Ok(true));
        assert_eq!(plain_trunc_verify(b"secret", b"10-secret"), Ok(true));
        assert_eq!(plain_trunc_verify(b"secretx", b"10-secret"), Ok(false));
        assert_eq!(
            plain_trunc_verify(b"secret", b"99999999999999999999999-secret"),
            Ok(true)
        );
        assert!(plain_trunc_verify(b"secret", b"secret").is_err());
        assert!(plain_trunc_verify(b"secret", b"").is_err());
        assert_eq!(plain_trunc_generate(b"secret"), b"6-secret");
    }
}
