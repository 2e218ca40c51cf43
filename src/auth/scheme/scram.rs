//! SCRAM-SHA-1 / SCRAM-SHA-256 stored credentials (RFC 5802, RFC 7677):
//! `<iterations>,<salt b64>,<StoredKey b64>,<ServerKey b64>`.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::digest::constant_time_eq;
use super::SchemeError;
use crate::auth::base64;
use crate::auth::random;

/// Iteration counts Dovecot accepts (RFC 5802 says at least 4096) and writes.
const MIN_ITERATIONS: u32 = 4096;
const MAX_ITERATIONS: u32 = i32::MAX as u32;
const DEFAULT_ITERATIONS: u32 = 4096;
const SALT_LEN: usize = 16;

/// The hash a SCRAM mechanism is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    pub fn scheme_name(self) -> &'static str {
        match self {
            ScramHash::Sha1 => "SCRAM-SHA-1",
            ScramHash::Sha256 => "SCRAM-SHA-256",
        }
    }

    pub fn digest_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// Hi(password, salt, i): PBKDF2 with HMAC of this hash, one block.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.digest_len()];
        match self {
            ScramHash::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out),
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out)
            }
        }
        out
    }

    /// HMAC(key, data).
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
                // HMAC takes keys of any length.
                Err(_) => Vec::new(),
            }
        }
        match self {
            ScramHash::Sha1 => run::<Hmac<Sha1>>(key, data),
            ScramHash::Sha256 => run::<Hmac<Sha256>>(key, data),
        }
    }

    /// H(data).
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
        }
    }

    /// (StoredKey, ServerKey) of a salted password.
    fn keys(self, salted_password: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let client_key = self.hmac(salted_password, b"Client Key");
        let server_key = self.hmac(salted_password, b"Server Key");
        (self.hash(&client_key), server_key)
    }
}

/// What a SCRAM server keeps instead of the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramCredentials {
    pub hash: ScramHash,
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredentials {
    /// Reads the stored form; the error text is Dovecot's.
    pub fn parse(hash: ScramHash, raw: &[u8]) -> Result<ScramCredentials, SchemeError> {
        parse(hash, raw).map_err(|reason| SchemeError::InvalidPassword {
            scheme: hash.scheme_name().to_string(),
            reason,
        })
    }

    /// The stored form of fresh credentials for `password`.
    pub fn to_stored(&self) -> String {
        format!(
            "{},{},{},{}",
            self.iterations,
            base64::encode(&self.salt),
            base64::encode(&self.stored_key),
            base64::encode(&self.server_key)
        )
    }
}

fn parse(hash: ScramHash, raw: &[u8]) -> Result<ScramCredentials, String> {
    let name = hash.scheme_name();
    let fields: Vec<&[u8]> = raw.split(|&c| c == b',').collect();
    let [iterations, salt, stored_key, server_key] = fields[..] else {
        return Err(format!("Invalid {name} passdb entry format"));
    };
    let iterations = std::str::from_utf8(iterations)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|i| (MIN_ITERATIONS..=MAX_ITERATIONS).contains(i))
        .ok_or_else(|| format!("Invalid {name} iteration count in passdb"))?;
    let salt = base64::decode(salt).map_err(|_| format!("Invalid {name} salt in passdb"))?;
    let key = |text: &[u8], what: &str| {
        base64::decode(text)
            .ok()
            .filter(|k| k.len() == hash.digest_len())
            .ok_or_else(|| format!("Invalid {name} {what} in passdb"))
    };
    Ok(ScramCredentials {
        hash,
        iterations,
        salt,
        stored_key: key(stored_key, "StoredKey")?,
        server_key: key(server_key, "ServerKey")?,
    })
}

/// New credentials: 16 random salt bytes, 4096 iterations.
pub fn generate(hash: ScramHash, password: &[u8]) -> Result<Vec<u8>, SchemeError> {
    let salt = random::bytes::<SALT_LEN>()?.to_vec();
    let salted = hash.salted_password(password, &salt, DEFAULT_ITERATIONS);
    let (stored_key, server_key) = hash.keys(&salted);
    let credentials = ScramCredentials {
        hash,
        iterations: DEFAULT_ITERATIONS,
        salt,
        stored_key,
        server_key,
    };
    Ok(credentials.to_stored().into_bytes())
}

/// Whether `password` gives the stored StoredKey.
pub fn verify(hash: ScramHash, password: &[u8], raw: &[u8]) -> Result<bool, String> {
    let stored = parse(hash, raw)?;
    let salted = hash.salted_password(password, &stored.salt, stored.iterations);
    let (stored_key, _) = hash.keys(&salted);
    Ok(constant_time_eq(&stored_key, &stored.stored_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the keys derived for `password` against an RFC exchange: the client's proof
    /// is ClientKey XOR HMAC(StoredKey, AuthMessage), the server's signature
    /// HMAC(ServerKey, AuthMessage).
    fn check_rfc_exchange(
        hash: ScramHash,
        password: &[u8],
        salt_b64: &str,
        auth_message: &str,
        proof_b64: &str,
        signature_b64: &str,
    ) {
        let salt = base64::decode(salt_b64).unwrap();
        let salted = hash.salted_password(password, &salt, 4096);
        let (stored_key, server_key) = hash.keys(&salted);
        let stored = ScramCredentials {
            hash,
            iterations: 4096,
            salt,
            stored_key: stored_key.clone(),
            server_key: server_key.clone(),
        }
        .to_stored();
        assert_eq!(verify(hash, password, stored.as_bytes()), Ok(true));
        assert_eq!(verify(hash, b"pencil2", stored.as_bytes()), Ok(false));

        let proof = base64::decode(proof_b64).unwrap();
        let client_signature = hash.hmac(&stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof
            .iter()
            .zip(client_signature.iter())
            .map(|(p, s)| p ^ s)
            .collect();
        assert_eq!(hash.hash(&client_key), stored_key);
        assert_eq!(
            base64::encode(&hash.hmac(&server_key, auth_message.as_bytes())),
            signature_b64
        );
    }

    #[test]
    fn rfc5802_sha1() {
        check_rfc_exchange(
            ScramHash::Sha1,
            b"pencil",
            "QSXCR+Q6sek8bf92",
            "n=user,r=fyko+d2lbbFgONRv9qkxdawL,\
             r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,\
             c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
            "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        );
    }

    #[test]
    fn rfc7677_sha256() {
        check_rfc_exchange(
            ScramHash::Sha256,
            b"pencil",
            "W22ZaJ0SNY7soEsUEjb6gQ==",
            "n=user,r=rOprNGfwEbeRWgbNEkqO,\
             r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,\
             i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        );
    }

    #[test]
    fn malformed_entries() {
        let err = |raw: &str| verify(ScramHash::Sha1, b"x", raw.as_bytes()).unwrap_err();
        assert_eq!(err("4096,abc"), "Invalid SCRAM-SHA-1 passdb entry format");
        assert_eq!(
            err("100,QQ==,QQ==,QQ=="),
            "Invalid SCRAM-SHA-1 iteration count in passdb"
        );
        assert_eq!(
            err("+4096,QQ==,QQ==,QQ=="),
            "Invalid SCRAM-SHA-1 iteration count in passdb"
        );
        assert_eq!(
            err("4096,QQ==,QQ==,QQ=="),
            "Invalid SCRAM-SHA-1 StoredKey in passdb"
        );
        let generated = generate(ScramHash::Sha256, b"pw").unwrap();
        assert!(generated.starts_with(b"4096,"));
        assert_eq!(verify(ScramHash::Sha256, b"pw", &generated), Ok(true));
        assert!(verify(ScramHash::Sha1, b"pw", &generated).is_err());
    }
}
