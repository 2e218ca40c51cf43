//! The scheme names Dovecot 2.3 (Debian's build) knows, each with its default encoding, the
//! size of its raw form when fixed, and the algorithm behind it.

use super::encoding::{self, DecodeError, Encoding};

/// The algorithm behind a scheme name; names sharing one are aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// `MD5`: verifies MD5-CRYPT or PLAIN-MD5 data, generates MD5-CRYPT.
    Md5,
    Md5Crypt,
    Sha1,
    Sha256,
    Sha512,
    Smd5,
    Ssha,
    Ssha256,
    Ssha512,
    Plain,
    PlainTrunc,
    CramMd5,
    DigestMd5,
    PlainMd4,
    PlainMd5,
    ScramSha1,
    ScramSha256,
    Otp,
    Pbkdf2,
    DesCrypt,
    Sha256Crypt,
    Sha512Crypt,
    BlfCrypt,
    /// `CRYPT`: verifies anything crypt(3) knows, generates BLF-CRYPT.
    Crypt,
    Argon2i,
    Argon2id,
}

impl Method {
    /// The algorithm that generates this scheme's passwords: Dovecot calls two schemes
    /// aliases when they generate alike.
    fn generator(self) -> Method {
        match self {
            Method::Md5 => Method::Md5Crypt,
            Method::Crypt => Method::BlfCrypt,
            other => other,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct SchemeInfo {
    name: &'static str,
    encoding: Encoding,
    /// The size of the raw form when fixed (digests), else 0.
    raw_len: usize,
    method: Method,
}

const fn info(
    name: &'static str,
    encoding: Encoding,
    raw_len: usize,
    method: Method,
) -> SchemeInfo {
    SchemeInfo {
        name,
        encoding,
        raw_len,
        method,
    }
}

use Encoding::{Base64 as B64, Hex, None as Text};

/// In the order `doveadm pw -l` prints them.
static SCHEMES: [SchemeInfo; 31] = [
    info("SHA1", B64, 20, Method::Sha1),
    info("SSHA512", B64, 0, Method::Ssha512),
    info("SCRAM-SHA-256", Text, 0, Method::ScramSha256),
    info("BLF-CRYPT", Text, 0, Method::BlfCrypt),
    info("PLAIN", Text, 0, Method::Plain),
    info("HMAC-MD5", Hex, 32, Method::CramMd5),
    info("OTP", Text, 0, Method::Otp),
    info("SHA512", B64, 64, Method::Sha512),
    info("SHA", B64, 20, Method::Sha1),
    info("DES-CRYPT", Text, 0, Method::DesCrypt),
    info("CRYPT", Text, 0, Method::Crypt),
    info("SSHA", B64, 0, Method::Ssha),
    info("MD5-CRYPT", Text, 0, Method::Md5Crypt),
    info("PLAIN-MD4", Hex, 16, Method::PlainMd4),
    info("PLAIN-MD5", Hex, 16, Method::PlainMd5),
    info("SCRAM-SHA-1", Text, 0, Method::ScramSha1),
    info("SHA512-CRYPT", Text, 0, Method::Sha512Crypt),
    info("CLEAR", Text, 0, Method::Plain),
    info("CLEARTEXT", Text, 0, Method::Plain),
    info("ARGON2I", Text, 0, Method::Argon2i),
    info("ARGON2ID", Text, 0, Method::Argon2id),
    info("SSHA256", B64, 0, Method::Ssha256),
    info("MD5", Text, 0, Method::Md5),
    info("PBKDF2", Text, 0, Method::Pbkdf2),
    info("SHA256", B64, 32, Method::Sha256),
    info("CRAM-MD5", Hex, 32, Method::CramMd5),
    info("PLAIN-TRUNC", Text, 0, Method::PlainTrunc),
    info("SHA256-CRYPT", Text, 0, Method::Sha256Crypt),
    info("SMD5", B64, 0, Method::Smd5),
    info("DIGEST-MD5", Hex, 16, Method::DigestMd5),
    info("LDAP-MD5", B64, 16, Method::PlainMd5),
];

/// A password scheme, with the encoding a stored password uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    info: &'static SchemeInfo,
    encoding: Encoding,
    /// Whether the name carried an encoding suffix (which turns off hex/base64 guessing).
    explicit_encoding: bool,
}

impl Scheme {
    /// Looks up `SCHEME` or `SCHEME.ENCODING` (`hex`, `b64`, `base64`), any case. An unknown
    /// encoding makes the whole name unknown, as in Dovecot.
    pub fn lookup(name: &str) -> Option<Scheme> {
        let (base, suffix) = match name.split_once('.') {
            Some((base, suffix)) => (base, Some(suffix)),
            None => (name, None),
        };
        let info = SCHEMES.iter().find(|s| s.name.eq_ignore_ascii_case(base))?;
        let encoding = match suffix {
            None => info.encoding,
            Some(s) if s.eq_ignore_ascii_case("b64") || s.eq_ignore_ascii_case("base64") => {
                Encoding::Base64
            }
            Some(s) if s.eq_ignore_ascii_case("hex") => Encoding::Hex,
            Some(_) => return None,
        };
        Some(Scheme {
            info,
            encoding,
            explicit_encoding: suffix.is_some(),
        })
    }

    /// Every scheme, in `doveadm pw -l` order, with its default encoding.
    pub fn all() -> impl Iterator<Item = Scheme> {
        SCHEMES.iter().map(|info| Scheme {
            info,
            encoding: info.encoding,
            explicit_encoding: false,
        })
    }

    /// The canonical name, without encoding suffix.
    pub fn name(&self) -> &'static str {
        self.info.name
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Whether the two names stand for the same algorithm (SHA and SHA1, CRAM-MD5 and
    /// HMAC-MD5, PLAIN and CLEAR, ...), whatever their encodings.
    pub fn is_alias_of(&self, other: &Scheme) -> bool {
        self.info.method.generator() == other.info.method.generator()
    }

    /// Whether the stored data is the plaintext itself, from which any other scheme's
    /// credentials can be made. PLAIN-TRUNC is not: its data may be cut short.
    pub fn is_plaintext(&self) -> bool {
        self.info.method == Method::Plain
    }

    pub(super) fn method(&self) -> Method {
        self.info.method
    }

    /// The raw bytes of stored data in this scheme's encoding.
    pub(super) fn decode(&self, data: &[u8]) -> Result<Vec<u8>, DecodeError> {
        encoding::decode(
            data,
            self.encoding,
            self.explicit_encoding,
            self.info.raw_len,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_names_and_suffixes() {
        let s = Scheme::lookup("sha512-crypt").unwrap();
        assert_eq!(s.name(), "SHA512-CRYPT");
        assert_eq!(s.encoding(), Encoding::None);
        assert_eq!(
            Scheme::lookup("PLAIN.b64").unwrap().encoding(),
            Encoding::Base64
        );
        assert_eq!(
            Scheme::lookup("ssha.BASE64").unwrap().encoding(),
            Encoding::Base64
        );
        assert_eq!(Scheme::lookup("SHA.Hex").unwrap().encoding(), Encoding::Hex);
        assert_eq!(Scheme::lookup("PLAIN.foo"), None);
        assert_eq!(Scheme::lookup("NOPE"), None);
        assert_eq!(Scheme::lookup(""), None);
    }

    #[test]
    fn names_are_unique_and_aliases_follow_the_algorithm() {
        let names: Vec<_> = Scheme::all().map(|s| s.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        let alias = |a: &str, b: &str| {
            Scheme::lookup(a)
                .unwrap()
                .is_alias_of(&Scheme::lookup(b).unwrap())
        };
        assert!(alias("SHA", "SHA1.hex"));
        assert!(alias("CRAM-MD5", "HMAC-MD5"));
        assert!(alias("PLAIN", "CLEARTEXT"));
        assert!(alias("MD5", "MD5-CRYPT"));
        assert!(alias("CRYPT", "BLF-CRYPT"));
        assert!(alias("LDAP-MD5", "PLAIN-MD5"));
        assert!(!alias("PLAIN", "PLAIN-TRUNC"));
        assert!(!alias("SHA256-CRYPT", "CRYPT"));
    }
}
