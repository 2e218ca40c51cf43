//! Dovecot's password schemes: stored passwords written `{SCHEME}data` (with an optional
//! `.HEX` / `.B64` / `.BASE64` suffix on the scheme), verified against a plaintext and
//! generated from one, with the same names, defaults and formats as Dovecot 2.3.
//!
//! Hashing is CPU- and (Argon2) memory-heavy: these are plain blocking functions for the auth
//! service to call, never for a session's hot path. Every comparison of secret material is
//! constant-time.

mod argon2;
mod cram_md5;
mod credentials;
mod crypt;
mod digest;
mod encoding;
mod otp;
mod pbkdf2;
pub mod pw;
mod salt;
mod scram;
mod table;

use std::borrow::Cow;
use std::fmt;

pub use cram_md5::CramMd5Context;
pub use credentials::credentials;
pub use digest::constant_time_eq;
pub use encoding::{hex_decode, hex_encode, DecodeError, Encoding};
pub use scram::{ScramCredentials, ScramHash};
pub use table::Scheme;

use table::Method;

/// The scheme of a stored password without a `{SCHEME}` prefix in passwd-file, passwd and
/// shadow databases (SQL and LDAP have `default_pass_scheme`).
pub const DEFAULT_SCHEME: &str = "CRYPT";

/// Why a stored password could not be verified or a password not generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeError {
    /// The scheme name (with any encoding suffix) is not one Dovecot knows.
    UnknownScheme(String),
    /// The stored text is not in the scheme's encoding.
    InvalidEncoding { scheme: String, reason: DecodeError },
    /// The decoded stored password is not in the scheme's format.
    InvalidPassword { scheme: String, reason: String },
    /// The scheme binds the user name into the hash (DIGEST-MD5) and none was given.
    UserRequired { scheme: String },
    /// A plaintext with a NUL byte: no C-string based implementation could have hashed it.
    NulInPassword,
    /// A generated password is not UTF-8 text (a PLAIN password in another charset:
    /// `{PLAIN.B64}` stores it as text).
    NotText { scheme: String },
    /// A SASL mechanism needs credentials that the stored scheme cannot provide.
    CredentialsUnavailable { wanted: String, have: String },
    /// The system failed us: the random source, crypt(3), memory.
    System(String),
}

impl SchemeError {
    /// The bare reason, as Dovecot words it after "reverse decode check failed: " and
    /// "reverse password verification check failed: " (`doveadm pw -t`).
    pub fn reason(&self) -> Cow<'_, str> {
        match self {
            SchemeError::UnknownScheme(_) => Cow::Borrowed("Unknown scheme"),
            SchemeError::InvalidEncoding { reason, .. } => Cow::Owned(reason.to_string()),
            SchemeError::InvalidPassword { reason, .. } => Cow::Borrowed(reason),
            SchemeError::System(reason) => Cow::Borrowed(reason),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl fmt::Display for SchemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemeError::UnknownScheme(name) => write!(f, "Unknown scheme {name}"),
            SchemeError::InvalidEncoding { scheme, reason } => {
                write!(
                    f,
                    "Password data is not valid for scheme {scheme}: {reason}"
                )
            }
            SchemeError::InvalidPassword { scheme, reason } => {
                write!(f, "Invalid {scheme} password in passdb: {reason}")
            }
            SchemeError::UserRequired { scheme } => {
                write!(f, "{scheme} needs the user name, and none was given")
            }
            SchemeError::NulInPassword => f.write_str("Password contains a NUL byte"),
            SchemeError::NotText { scheme } => write!(
                f,
                "The {scheme} form of this password is not UTF-8 text ({{{scheme}.B64}} is)"
            ),
            SchemeError::CredentialsUnavailable { wanted, have } => {
                write!(f, "Requested {wanted} scheme, but we have only {have}")
            }
            SchemeError::System(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for SchemeError {}

impl From<crate::auth::random::RandomError> for SchemeError {
    fn from(e: crate::auth::random::RandomError) -> SchemeError {
        SchemeError::System(e.to_string())
    }
}

/// What generation may vary: the user name (DIGEST-MD5 binds it) and the cost (`-r` of
/// `doveadm pw`; 0 means the scheme's default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Params<'a> {
    pub user: Option<&'a str>,
    pub rounds: u32,
}

/// A stored password split into its scheme name and data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassword<'a> {
    scheme: Cow<'a, str>,
    data: &'a [u8],
}

impl<'a> StoredPassword<'a> {
    /// A password already split into its scheme name (with any encoding suffix) and data.
    pub fn new(scheme: &'a str, data: &'a [u8]) -> StoredPassword<'a> {
        StoredPassword {
            scheme: Cow::Borrowed(scheme),
            data,
        }
    }

    /// Reads `{SCHEME}data`; a bare `$1$salt$hash` is MD5-CRYPT (anything after a further `$`
    /// is ignored, as Dovecot does); other text is `default_scheme` data.
    pub fn parse(stored: &'a [u8], default_scheme: &'a str) -> StoredPassword<'a> {
        StoredPassword::parse_prefixed(stored).unwrap_or(StoredPassword {
            scheme: Cow::Borrowed(default_scheme),
            data: stored,
        })
    }

    /// Like [`parse`](Self::parse) but `None` when the text names no scheme.
    pub fn parse_prefixed(stored: &'a [u8]) -> Option<StoredPassword<'a>> {
        if let Some(rest) = stored.strip_prefix(b"$1$") {
            if let Some(salt_end) = rest.iter().position(|&c| c == b'$') {
                let hash = &rest[salt_end + 1..];
                let len = match hash.iter().position(|&c| c == b'$') {
                    Some(hash_end) => 3 + salt_end + 1 + hash_end,
                    None => stored.len(),
                };
                return Some(StoredPassword {
                    scheme: Cow::Borrowed("MD5-CRYPT"),
                    data: &stored[..len],
                });
            }
        }
        let inner = stored.strip_prefix(b"{")?;
        let close = inner.iter().position(|&c| c == b'}')?;
        Some(StoredPassword {
            scheme: String::from_utf8_lossy(&inner[..close]),
            data: &inner[close + 1..],
        })
    }

    /// The scheme name as written, with any encoding suffix.
    pub fn scheme_name(&self) -> &str {
        &self.scheme
    }

    /// The text after the `{SCHEME}` prefix.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The scheme and the raw bytes the data encodes.
    pub fn decode(&self) -> Result<(Scheme, Vec<u8>), SchemeError> {
        let scheme = Scheme::lookup(&self.scheme)
            .ok_or_else(|| SchemeError::UnknownScheme(self.scheme.to_string()))?;
        let raw = scheme
            .decode(self.data)
            .map_err(|reason| SchemeError::InvalidEncoding {
                scheme: self.scheme.to_string(),
                reason,
            })?;
        Ok((scheme, raw))
    }

    /// Whether `password` is the one stored. `user` is the login name as the client gave it
    /// (DIGEST-MD5 binds it).
    pub fn verify(&self, password: &[u8], user: Option<&str>) -> Result<bool, SchemeError> {
        let (scheme, raw) = self.decode()?;
        verify_raw(scheme, password, &raw, user)
    }
}

/// Verifies `password` against a stored password as a passwd-file would hold it: `{SCHEME}`
/// prefixed, or CRYPT without a prefix.
pub fn verify(
    stored: impl AsRef<[u8]>,
    password: &[u8],
    user: Option<&str>,
) -> Result<bool, SchemeError> {
    StoredPassword::parse(stored.as_ref(), DEFAULT_SCHEME).verify(password, user)
}

/// A new stored password for `password` in `scheme` (any case, optionally with an encoding
/// suffix), written `{SCHEME}data` with the scheme name upper-cased, as `doveadm pw` prints.
pub fn generate(
    scheme: &str,
    password: &[u8],
    user: Option<&str>,
    rounds: u32,
) -> Result<String, SchemeError> {
    let name = scheme.to_ascii_uppercase();
    let data = generate_encoded(&name, password, Params { user, rounds })?;
    match String::from_utf8(data) {
        Ok(data) => Ok(format!("{{{name}}}{data}")),
        Err(_) => Err(SchemeError::NotText { scheme: name }),
    }
}

/// The data part of a new stored password, in the encoding `scheme` names. Bytes: a PLAIN
/// password need not be UTF-8.
pub fn generate_encoded(
    scheme: &str,
    password: &[u8],
    params: Params<'_>,
) -> Result<Vec<u8>, SchemeError> {
    let found =
        Scheme::lookup(scheme).ok_or_else(|| SchemeError::UnknownScheme(scheme.to_string()))?;
    let raw = generate_raw(found.method(), found.name(), password, params)?;
    Ok(encoding::encode(&raw, found.encoding()))
}

/// Every scheme name, in the order `doveadm pw -l` lists them.
pub fn scheme_names() -> impl Iterator<Item = &'static str> {
    Scheme::all().map(|s| s.name())
}

/// The raw form of a new password in the scheme `method` implements.
fn generate_raw(
    method: Method,
    name: &str,
    password: &[u8],
    params: Params<'_>,
) -> Result<Vec<u8>, SchemeError> {
    if password.contains(&0) {
        return Err(SchemeError::NulInPassword);
    }
    match method {
        Method::Md5 | Method::Md5Crypt => crypt::generate_md5_crypt(password),
        Method::Sha1 | Method::Sha256 | Method::Sha512 | Method::PlainMd4 | Method::PlainMd5 => {
            Ok(digest::unsalted(method, password))
        }
        Method::Smd5 | Method::Ssha | Method::Ssha256 | Method::Ssha512 => {
            digest::salted_generate(method, password)
        }
        Method::Plain => Ok(password.to_vec()),
        Method::PlainTrunc => Ok(digest::plain_trunc_generate(password)),
        Method::CramMd5 => Ok(cram_md5::context(password).to_vec()),
        Method::DigestMd5 => match params.user {
            Some(user) => Ok(digest::digest_md5(user, password).to_vec()),
            None => Err(SchemeError::UserRequired {
                scheme: name.to_string(),
            }),
        },
        Method::ScramSha1 => scram::generate(ScramHash::Sha1, password),
        Method::ScramSha256 => scram::generate(ScramHash::Sha256, password),
        Method::Otp => otp::generate(password),
        Method::Pbkdf2 => pbkdf2::generate(password, params.rounds),
        Method::DesCrypt => crypt::generate_des(password),
        Method::Sha256Crypt => crypt::generate_sha_crypt(5, password, params.rounds),
        Method::Sha512Crypt => crypt::generate_sha_crypt(6, password, params.rounds),
        Method::BlfCrypt | Method::Crypt => crypt::generate_blowfish(password, params.rounds),
        Method::Argon2i => argon2::generate(argon2::Variant::Argon2i, password, params.rounds),
        Method::Argon2id => argon2::generate(argon2::Variant::Argon2id, password, params.rounds),
    }
}

/// Verifies `password` against the decoded stored password `raw` of `scheme`.
fn verify_raw(
    scheme: Scheme,
    password: &[u8],
    raw: &[u8],
    user: Option<&str>,
) -> Result<bool, SchemeError> {
    if password.contains(&0) {
        return Ok(false);
    }
    let invalid = |reason: String| SchemeError::InvalidPassword {
        scheme: scheme.name().to_string(),
        reason,
    };
    let method = scheme.method();
    match method {
        Method::Md5 => digest::md5_verify(password, raw).map_err(invalid),
        Method::Md5Crypt => crypt::verify_md5_crypt(password, raw).map_err(invalid),
        Method::DesCrypt | Method::Sha256Crypt | Method::Sha512Crypt | Method::Crypt => {
            crypt::verify(password, raw).map_err(invalid)
        }
        Method::BlfCrypt => crypt::verify_blowfish(password, raw).map_err(invalid),
        Method::Smd5 | Method::Ssha | Method::Ssha256 | Method::Ssha512 => {
            digest::salted_verify(method, scheme.name(), password, raw).map_err(invalid)
        }
        Method::Plain => Ok(digest::constant_time_eq(password, raw)),
        Method::PlainTrunc => digest::plain_trunc_verify(password, raw).map_err(invalid),
        Method::ScramSha1 => scram::verify(ScramHash::Sha1, password, raw).map_err(invalid),
        Method::ScramSha256 => scram::verify(ScramHash::Sha256, password, raw).map_err(invalid),
        Method::Otp => otp::verify(password, raw).map_err(invalid),
        Method::Pbkdf2 => pbkdf2::verify(password, raw).map_err(invalid),
        Method::Argon2i | Method::Argon2id => argon2::verify(password, raw).map_err(invalid),
        // Deterministic schemes: generate again and compare.
        Method::Sha1
        | Method::Sha256
        | Method::Sha512
        | Method::PlainMd4
        | Method::PlainMd5
        | Method::CramMd5
        | Method::DigestMd5 => {
            let params = Params { user, rounds: 0 };
            let expected = generate_raw(method, scheme.name(), password, params)?;
            Ok(digest::constant_time_eq(&expected, raw))
        }
    }
}

#[cfg(test)]
mod tests;
