//! The crypt(3) family: CRYPT, MD5-CRYPT, SHA256-CRYPT, SHA512-CRYPT and DES-CRYPT through the
//! system's libcrypt (libxcrypt on Debian, so yescrypt `$y$` and anything else it knows
//! verifies), and BLF-CRYPT built in, as Dovecot has it.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

use super::digest::constant_time_eq;
use super::{salt, SchemeError};
use crate::auth::random;

#[link(name = "crypt")]
extern "C" {
    /// libxcrypt's reentrant crypt: NULL (errno set) on failure instead of a failure token.
    fn crypt_rn(
        phrase: *const c_char,
        setting: *const c_char,
        data: *mut c_void,
        size: c_int,
    ) -> *mut c_char;
}

/// `sizeof(struct crypt_data)` in libxcrypt: its scratch space, handed in by the caller.
const CRYPT_DATA_SIZE: usize = 32768;

/// crypt(3) of `phrase` with `setting` (a salt, or a whole stored hash).
fn crypt(phrase: &[u8], setting: &[u8]) -> Result<Vec<u8>, String> {
    let phrase = CString::new(phrase).map_err(|_| "password contains a NUL byte".to_string())?;
    let setting =
        CString::new(setting).map_err(|_| "crypt() failed: Invalid argument".to_string())?;
    let mut data = vec![0u8; CRYPT_DATA_SIZE];
    // SAFETY: both strings are NUL-terminated and outlive the call; `data` is a zeroed
    // buffer of the size passed. The result points into `data` and is copied before `data`
    // is dropped.
    let result = unsafe {
        crypt_rn(
            phrase.as_ptr(),
            setting.as_ptr(),
            data.as_mut_ptr().cast(),
            CRYPT_DATA_SIZE as c_int,
        )
    };
    if result.is_null() {
        let err = std::io::Error::last_os_error();
        return Err(format!(
            "crypt() failed: {}",
            crate::errtext::os_error_text(&err)
        ));
    }
    // SAFETY: non-NULL results are NUL-terminated strings inside `data`.
    Ok(unsafe { CStr::from_ptr(result) }.to_bytes().to_vec())
}

/// CRYPT, MD5-CRYPT, DES-CRYPT, SHA256-CRYPT, SHA512-CRYPT: bcrypt hashes go to the built-in
/// bcrypt, everything else to crypt(3), and the whole result must equal the stored string.
pub fn verify(password: &[u8], stored: &[u8]) -> Result<bool, String> {
    if stored.len() > 4 && stored.starts_with(b"$2") && stored[3] == b'$' {
        return verify_blowfish(password, stored);
    }
    if stored.is_empty() {
        // crypt(3) of an empty setting would "match"; an empty hash never does.
        return Ok(false);
    }
    let computed = crypt(password, stored)?;
    Ok(constant_time_eq(&computed, stored))
}

/// MD5-CRYPT: only `$1$` hashes (Dovecot computes MD5-crypt whatever the stored prefix, so
/// another crypt(3) hash under this name never matches).
pub fn verify_md5_crypt(password: &[u8], stored: &[u8]) -> Result<bool, String> {
    if !stored.starts_with(b"$1$") {
        return Ok(false);
    }
    let computed = crypt(password, stored)?;
    Ok(constant_time_eq(&computed, stored))
}

fn sha_crypt_rounds(requested: u32) -> u32 {
    match requested {
        0 => 5000,
        r => r.clamp(1000, 999_999_999),
    }
}

fn crypt_generated(password: &[u8], setting: &str) -> Result<Vec<u8>, SchemeError> {
    crypt(password, setting.as_bytes()).map_err(SchemeError::System)
}

/// MD5-CRYPT with an 8-character salt.
pub fn generate_md5_crypt(password: &[u8]) -> Result<Vec<u8>, SchemeError> {
    crypt_generated(password, &format!("$1${}", salt::chars(8)?))
}

/// Traditional DES crypt with a 2-character salt.
pub fn generate_des(password: &[u8]) -> Result<Vec<u8>, SchemeError> {
    crypt_generated(password, &salt::chars(2)?)
}

/// SHA256-CRYPT (`id` 5) or SHA512-CRYPT (`id` 6): 16 salt characters; `rounds=` is written
/// only when not the default 5000; 0 means the default, others are clamped to 1000..=999999999.
pub fn generate_sha_crypt(id: u8, password: &[u8], rounds: u32) -> Result<Vec<u8>, SchemeError> {
    let rounds = sha_crypt_rounds(rounds);
    let salt = salt::chars(16)?;
    let setting = if rounds == 5000 {
        format!("${id}${salt}")
    } else {
        format!("${id}$rounds={rounds}${salt}")
    };
    crypt_generated(password, &setting)
}

/// The bcrypt prefix Dovecot writes.
const BLF_VERSION: bcrypt::Version = bcrypt::Version::TwoY;
/// `$2y$NN$` plus 22 salt characters.
const BLF_SETTING_LEN: usize = 29;

fn blowfish_cost(requested: u32) -> u32 {
    match requested {
        0 => 5,
        r => r.clamp(4, 31),
    }
}

/// BLF-CRYPT (and CRYPT's generation): `$2y$`, cost 5 by default, clamped to 4..=31.
pub fn generate_blowfish(password: &[u8], rounds: u32) -> Result<Vec<u8>, SchemeError> {
    let salt = random::bytes::<16>()?;
    let parts = bcrypt::hash_with_salt(password, blowfish_cost(rounds), salt)
        .map_err(|e| SchemeError::System(format!("bcrypt failed: {e}")))?;
    Ok(parts.format_for_version(BLF_VERSION).into_bytes())
}

/// BLF-CRYPT: `$2a$`, `$2b$` or `$2y$` (`$2x$`, the old sign-extension bug, is not emulated);
/// the hash computed with the stored cost and salt must equal the whole stored string.
pub fn verify_blowfish(password: &[u8], stored: &[u8]) -> Result<bool, String> {
    const NOT_BLOWFISH: &str = "Password is not blowfish password";
    if stored.is_empty() {
        return Ok(false);
    }
    if stored.len() <= BLF_SETTING_LEN
        || !stored.starts_with(b"$2")
        || !stored[2].is_ascii_lowercase()
        || stored[3] != b'$'
    {
        return Err(NOT_BLOWFISH.to_string());
    }
    let invalid = || "crypt_blowfish_rn failed: Invalid argument".to_string();
    let version = match stored[2] {
        b'a' => bcrypt::Version::TwoA,
        b'b' => bcrypt::Version::TwoB,
        b'y' => bcrypt::Version::TwoY,
        _ => return Err(invalid()),
    };
    let cost_digits = &stored[4..6];
    if stored[6] != b'$' || !cost_digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let cost = u32::from(cost_digits[0] - b'0') * 10 + u32::from(cost_digits[1] - b'0');
    if !(4..=31).contains(&cost) {
        return Err(invalid());
    }
    let mut salt = [0u8; 16];
    use base64::Engine as _;
    match bcrypt::BASE_64.decode_slice(&stored[7..BLF_SETTING_LEN], &mut salt) {
        Ok(16) => {}
        _ => return Err(invalid()),
    }
    let parts = bcrypt::hash_with_salt(password, cost, salt).map_err(|_| invalid())?;
    Ok(constant_time_eq(
        parts.format_for_version(version).as_bytes(),
        stored,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libcrypt_vectors() {
        // Dovecot's own start-up samples for DES, SHA256-CRYPT and SHA512-CRYPT.
        let key = b"08/15!test~4711";
        assert_eq!(verify(key, b"JBOZ0DgmtucwE"), Ok(true));
        assert_eq!(
            verify(
                key,
                b"$5$rounds=1000$0123456789abcdef$K/DksR0DT01hGc8g/kt9McEgrbFMKi9qrb1jehe7hn4"
            ),
            Ok(true)
        );
        assert_eq!(
            verify(
                key,
                b"$6$rounds=1000$0123456789abcdef$ZIAd5WqfyLkpvsVCVUU1GrvqaZTqvhJoouxdSqJO71l9Ld3tVrfOatEjarhghvEYADkq//LpDnTeO90tcbtHR1"
            ),
            Ok(true)
        );
        assert_eq!(verify(b"wrong", b"JBOZ0DgmtucwE"), Ok(false));
        // MD5-crypt and yescrypt (made with Python's crypt module on libxcrypt).
        assert_eq!(
            verify(b"secret", b"$1$saltsalt$9xy1btjgzLYfb7hivXtC//"),
            Ok(true)
        );
        let yescrypt = b"$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0";
        assert_eq!(verify(b"secret", yescrypt), Ok(true));
        assert_eq!(verify(b"Secret", yescrypt), Ok(false));
    }

    #[test]
    fn empty_and_broken_hashes() {
        assert_eq!(verify(b"", b""), Ok(false));
        assert_eq!(verify(b"x", b""), Ok(false));
        // Settings libcrypt cannot use are errors (logged by the caller), never matches.
        let einval = Err("crypt() failed: Invalid argument".to_string());
        assert_eq!(verify(b"x", b"$unknown$abc"), einval);
        assert_eq!(verify(b"x", b"*0"), einval);
        assert_eq!(verify(b"x", b"$6$rounds=1$"), einval);
    }

    #[test]
    fn sha_crypt_rounds_as_dovecot() {
        assert_eq!(sha_crypt_rounds(0), 5000);
        assert_eq!(sha_crypt_rounds(3), 1000);
        assert_eq!(sha_crypt_rounds(7000), 7000);
        let h = generate_sha_crypt(6, b"pw", 0).unwrap();
        assert!(h.starts_with(b"$6$") && !h.starts_with(b"$6$rounds="));
        assert_eq!(h.len(), 3 + 16 + 1 + 86);
        assert_eq!(verify(b"pw", &h), Ok(true));
        let h = generate_sha_crypt(5, b"pw", 1200).unwrap();
        assert!(h.starts_with(b"$5$rounds=1200$"));
        assert_eq!(verify(b"pw", &h), Ok(true));
        let h = generate_md5_crypt(b"pw").unwrap();
        assert!(h.starts_with(b"$1$") && h[11] == b'$');
        assert_eq!(verify(b"pw", &h), Ok(true));
        let h = generate_des(b"pw").unwrap();
        assert_eq!(h.len(), 13);
        assert_eq!(verify(b"pw", &h), Ok(true));
    }

    #[test]
    fn blowfish_vectors() {
        // Openwall crypt_blowfish test vectors.
        let stored = b"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert_eq!(verify_blowfish(b"U*U", stored), Ok(true));
        assert_eq!(verify(b"U*U", stored), Ok(true));
        assert_eq!(verify_blowfish(b"U*V", stored), Ok(false));
        let y = b"$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert_eq!(verify_blowfish(b"U*U", y), Ok(true));
        let b = b"$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
        assert_eq!(verify_blowfish(b"U*U", b), Ok(true));
        assert_eq!(
            verify_blowfish(
                b"",
                b"$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"
            ),
            Ok(true)
        );
        // Trailing text makes the strings differ.
        let mut longer = stored.to_vec();
        longer.push(b'x');
        assert_eq!(verify_blowfish(b"U*U", &longer), Ok(false));
        assert_eq!(
            verify_blowfish(b"U*U", b"$1$abc"),
            Err("Password is not blowfish password".to_string())
        );
        assert!(
            verify_blowfish(b"U*U", b"$2a$99$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQ").is_err()
        );
        assert!(
            verify_blowfish(b"U*U", b"$2q$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQ").is_err()
        );
    }

    #[test]
    fn blowfish_generation() {
        assert_eq!(blowfish_cost(0), 5);
        assert_eq!(blowfish_cost(2), 4);
        assert_eq!(blowfish_cost(99), 31);
        let h = generate_blowfish(b"pw", 4).unwrap();
        assert!(h.starts_with(b"$2y$04$"));
        assert_eq!(h.len(), 60);
        assert_eq!(verify_blowfish(b"pw", &h), Ok(true));
        assert_eq!(verify(b"pw", &h), Ok(true));
        assert_eq!(verify(b"px", &h), Ok(false));
    }
}
