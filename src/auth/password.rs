//! How the auth layer asks about stored passwords: split `{SCHEME}data`, verify a plaintext
//! password against it, turn it into the credentials a mechanism needs (CRAM-MD5 context,
//! SCRAM keys, plaintext). The schemes themselves live in `auth::scheme` (written in
//! parallel); until that module is merged here, only the plaintext schemes (PLAIN, CLEAR,
//! CLEARTEXT, with `.B64`/`.HEX` encodings) are known and every other scheme is reported as
//! "Unknown scheme", which fails the login with an error line instead of guessing.

/// Dovecot's `password_get_scheme`: `{SCHEME}data` → (Some("SCHEME"), "data"); anything else
/// has no scheme.
pub fn split_scheme(stored: &str) -> (Option<&str>, &str) {
    if let Some(rest) = stored.strip_prefix('{') {
        if let Some(end) = rest.find('}') {
            return (Some(&rest[..end]), &rest[end + 1..]);
        }
    }
    (None, stored)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// `Unknown scheme X`
    UnknownScheme(String),
    /// `Password data is not valid for scheme X: why`
    Invalid { scheme: String, reason: String },
    /// The stored form cannot give the wanted credentials (`Requested X scheme, but we have
    /// only Y`).
    NotConvertible { wanted: String, have: String },
}

impl std::fmt::Display for PasswordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordError::UnknownScheme(s) => write!(f, "Unknown scheme {s}"),
            PasswordError::Invalid { scheme, reason } => {
                write!(f, "Password data is not valid for scheme {scheme}: {reason}")
            }
            PasswordError::NotConvertible { wanted, have } => {
                write!(f, "Requested {wanted} scheme, but we have only {have}")
            }
        }
    }
}

/// The scheme name without its encoding suffix, upper-cased.
fn base_scheme(scheme: &str) -> (String, Option<String>) {
    let upper = scheme.to_ascii_uppercase();
    match upper.rsplit_once('.') {
        Some((base, enc)) if matches!(enc, "B64" | "BASE64" | "HEX") => {
            (base.to_string(), Some(enc.to_string()))
        }
        _ => (upper, None),
    }
}

fn is_plain(base: &str) -> bool {
    matches!(base, "PLAIN" | "CLEAR" | "CLEARTEXT")
}

/// Whether two scheme names mean the same scheme (`CLEAR` is `PLAIN`).
pub fn is_alias(a: &str, b: &str) -> bool {
    let (a, _) = base_scheme(a);
    let (b, _) = base_scheme(b);
    a == b || (is_plain(&a) && is_plain(&b))
}

fn decode(data: &str, scheme: &str, encoding: Option<&str>) -> Result<Vec<u8>, PasswordError> {
    let invalid = |reason: &str| PasswordError::Invalid {
        scheme: scheme.to_string(),
        reason: reason.to_string(),
    };
    match encoding {
        None => Ok(data.as_bytes().to_vec()),
        Some("HEX") => {
            if data.len() % 2 != 0 {
                return Err(invalid("Input length isn't even (HEX encoded)"));
            }
            (0..data.len())
                .step_by(2)
                .map(|i| {
                    u8::from_str_radix(data.get(i..i + 2).unwrap_or("zz"), 16)
                        .map_err(|_| invalid("Input isn't valid HEX encoded data"))
                })
                .collect()
        }
        Some(_) => crate::auth::base64::decode(data)
            .map_err(|_| invalid("Input isn't valid base64 encoded data")),
    }
}

/// Verifies `plain` against the stored `data` of `scheme`.
pub fn verify(plain: &str, scheme: &str, data: &str, _user: &str) -> Result<bool, PasswordError> {
    let (base, encoding) = base_scheme(scheme);
    if !is_plain(&base) {
        return Err(PasswordError::UnknownScheme(scheme.to_string()));
    }
    let stored = decode(data, scheme, encoding.as_deref())?;
    Ok(constant_time_eq(plain.as_bytes(), &stored))
}

/// Checks that `data` is valid for `scheme` (what Dovecot's password_decode does before
/// verifying).
pub fn check(scheme: &str, data: &str) -> Result<(), PasswordError> {
    let (base, encoding) = base_scheme(scheme);
    if !is_plain(&base) {
        return Err(PasswordError::UnknownScheme(scheme.to_string()));
    }
    decode(data, scheme, encoding.as_deref()).map(|_| ())
}

/// The credentials `wanted` (a scheme name; empty = whatever is stored) from a stored
/// password: the stored data itself when the schemes match, else generated from a
/// plaintext password.
pub fn credentials(
    scheme: &str,
    data: &str,
    wanted: &str,
    _user: &str,
) -> Result<Vec<u8>, PasswordError> {
    let (base, encoding) = base_scheme(scheme);
    if !is_plain(&base) {
        return Err(PasswordError::UnknownScheme(scheme.to_string()));
    }
    let raw = decode(data, scheme, encoding.as_deref())?;
    if wanted.is_empty() || is_alias(wanted, "PLAIN") {
        return Ok(raw);
    }
    // Anything can be made from a plaintext password.
    use crate::auth::mech::{cram_md5_context, ScramHash, ScramKeys};
    let scram = |hash| {
        let salt = crate::auth::mech::random_bytes(16);
        ScramKeys::derive(hash, &raw, &salt, 4096).encode().into_bytes()
    };
    match base_scheme(wanted).0.as_str() {
        "CRAM-MD5" | "HMAC-MD5" => Ok(cram_md5_context(&raw).to_vec()),
        "SCRAM-SHA-1" => Ok(scram(ScramHash::Sha1)),
        "SCRAM-SHA-256" => Ok(scram(ScramHash::Sha256)),
        _ => Err(PasswordError::UnknownScheme(wanted.to_string())),
    }
}

/// Compares without an early exit, so the time taken does not tell how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_schemes() {
        assert_eq!(split_scheme("{PLAIN}pw"), (Some("PLAIN"), "pw"));
        assert_eq!(split_scheme("{PLAIN"), (None, "{PLAIN"));
        assert!(verify("pw", "PLAIN", "pw", "u").unwrap());
        assert!(!verify("pX", "CLEAR", "pw", "u").unwrap());
        assert!(verify("pw", "PLAIN.HEX", "7077", "u").unwrap());
        assert!(verify("pw", "plain.b64", "cHc=", "u").unwrap());
        assert!(matches!(
            verify("pw", "NOSUCH", "x", "u"),
            Err(PasswordError::UnknownScheme(_))
        ));
        assert!(is_alias("CLEARTEXT", "plain") && !is_alias("SHA", "PLAIN"));
        assert_eq!(
            PasswordError::NotConvertible {
                wanted: "CRAM-MD5".into(),
                have: "SHA512-CRYPT".into()
            }
            .to_string(),
            "Requested CRAM-MD5 scheme, but we have only SHA512-CRYPT"
        );
    }
}
