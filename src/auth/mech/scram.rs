//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding (the `-PLUS`
//! variants are not offered, and a client asking for binding with `p=` is refused). The
//! passdb gives `iterations,salt,StoredKey,ServerKey` (Dovecot's SCRAM schemes), so the
//! plaintext password is not needed.

use hmac::{KeyInit, Mac};
use sha1::Digest;

use super::{random_bytes, MechFlags, MechState, Mechanism, PassdbNeed, Step};
use crate::auth::base64;
use crate::auth::engine::Auth;
use crate::auth::request::{AuthRequest, PassdbResult, PASSWORD_MISMATCH};
use crate::log::Level;

const SERVER_NONCE_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    pub fn scheme(self) -> &'static str {
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

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha1 => {
                let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha256 => {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with HMAC, one block.
    pub fn hi(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut first = salt.to_vec();
        first.extend_from_slice(&1u32.to_be_bytes());
        let mut u = self.hmac(password, &first);
        let mut out = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &u);
            for (o, x) in out.iter_mut().zip(&u) {
                *o ^= x;
            }
        }
        out
    }
}

/// The stored SCRAM secret: `iterations,salt-base64,StoredKey-base64,ServerKey-base64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramKeys {
    pub iterations: u32,
    pub salt_base64: String,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl ScramKeys {
    /// Derives the keys from a password.
    pub fn derive(hash: ScramHash, password: &[u8], salt: &[u8], iterations: u32) -> ScramKeys {
        let salted = hash.hi(password, salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramKeys {
            iterations,
            salt_base64: base64::encode(salt),
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        format!(
            "{},{},{},{}",
            self.iterations,
            self.salt_base64,
            base64::encode(&self.stored_key),
            base64::encode(&self.server_key)
        )
    }

    /// Parses the stored form (Dovecot's scram_scheme_parse, with its error texts).
    pub fn parse(hash: ScramHash, data: &[u8]) -> Result<ScramKeys, String> {
        let text = String::from_utf8_lossy(data);
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() != 4 {
            return Err(format!("Invalid {} passdb entry format", hash.scheme()));
        }
        let iterations = fields[0]
            .parse::<u32>()
            .ok()
            .filter(|&i| (4096..=i32::MAX as u32).contains(&i))
            .ok_or_else(|| {
                format!(
                    "Invalid {} iteration count in passdb ({})",
                    hash.scheme(),
                    fields[0]
                )
            })?;
        let key = |s: &str, what: &str| {
            base64::decode(s)
                .ok()
                .filter(|k| k.len() == hash.digest_len())
                .ok_or_else(|| format!("Invalid {} {what} in passdb", hash.scheme()))
        };
        Ok(ScramKeys {
            iterations,
            salt_base64: fields[1].to_string(),
            stored_key: key(fields[2], "StoredKey")?,
            server_key: key(fields[3], "ServerKey")?,
        })
    }
}

pub(super) const SCRAM_SHA1: Mechanism = Mechanism {
    name: "SCRAM-SHA-1",
    flags: MUTUAL,
    passdb_need: PassdbNeed::LookupCredentials,
    new: || Box::new(Scram::new(ScramHash::Sha1)),
};

pub(super) const SCRAM_SHA256: Mechanism = Mechanism {
    name: "SCRAM-SHA-256",
    flags: MUTUAL,
    passdb_need: PassdbNeed::LookupCredentials,
    new: || Box::new(Scram::new(ScramHash::Sha256)),
};

const MUTUAL: MechFlags = MechFlags {
    private: false,
    anonymous: false,
    plaintext: false,
    dictionary: false,
    active: false,
    forward_secrecy: false,
    mutual_auth: true,
    allow_nuls: false,
};

struct Scram {
    hash: ScramHash,
    gs2_header: String,
    client_nonce: String,
    server_nonce: String,
    client_first_bare: Option<String>,
    server_first: String,
    keys: Option<ScramKeys>,
}

/// `=2C` → `,`, `=3D` → `=`; any other `=` is invalid (RFC 5802 §5.1).
fn unescape_name(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let code = rest.get(pos + 1..pos + 3)?;
        out.push(match code {
            "2C" => ',',
            "3D" => '=',
            _ => return None,
        });
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    Some(out)
}

fn server_nonce() -> String {
    random_bytes(SERVER_NONCE_LEN)
        .iter()
        .map(|b| {
            let c = (b % (b'~' - b'!')) + b'!';
            char::from(if c == b',' { b'~' } else { c })
        })
        .collect()
}

impl Scram {
    fn new(hash: ScramHash) -> Scram {
        Scram {
            hash,
            gs2_header: String::new(),
            client_nonce: String::new(),
            server_nonce: String::new(),
            client_first_bare: None,
            server_first: String::new(),
            keys: None,
        }
    }

    fn client_first(&mut self, auth: &Auth, request: &mut AuthRequest, text: &str) -> Result<(), String> {
        let (cbind, rest) = text
            .split_once(',')
            .ok_or("Invalid initial client message: Missing first ',' in GS2 header")?;
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or("Invalid initial client message: Missing second ',' in GS2 header")?;
        let fields: Vec<&str> = bare.split(',').collect();
        if fields.len() < 2 {
            return Err("Invalid initial client message: Missing nonce field".into());
        }
        match cbind.chars().next() {
            Some('p') => return Err("Channel binding not supported".into()),
            Some('y') | Some('n') => {}
            _ => return Err("Invalid GS2 header".into()),
        }
        let login_user = if authzid.is_empty() {
            None
        } else if let Some(name) = authzid.strip_prefix("a=") {
            Some(unescape_name(name).ok_or("authzid escaping is invalid")?)
        } else {
            return Err("Invalid authzid field".into());
        };
        let (username, nonce) = (fields[0], fields[1]);
        if username.starts_with('m') {
            return Err("Mandatory extension(s) not supported".into());
        }
        let Some(name) = username.strip_prefix("n=") else {
            return Err("Invalid username field".into());
        };
        let name = unescape_name(name).ok_or("Username escaping is invalid")?;
        let masterdbs = !auth.masterdbs.is_empty();
        request.set_username(&name, masterdbs)?;
        if let Some(login) = login_user {
            request.set_login_username(&login, masterdbs)?;
        }
        let Some(cnonce) = nonce.strip_prefix("r=") else {
            return Err("Invalid client nonce".into());
        };
        self.client_nonce = cnonce.to_string();
        self.gs2_header = format!("{cbind},{authzid},");
        self.client_first_bare = Some(bare.to_string());
        Ok(())
    }

    fn auth_message(&self, final_without_proof: &str) -> String {
        format!(
            "{},{},{final_without_proof}",
            self.client_first_bare.as_deref().unwrap_or(""),
            self.server_first
        )
    }

    fn client_final(&self, request: &AuthRequest, text: &str) -> Result<Option<Vec<u8>>, String> {
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() < 3 {
            return Err("Invalid final client message".into());
        }
        if fields[0] != format!("c={}", base64::encode(self.gs2_header.as_bytes())) {
            return Err("Invalid channel binding data".into());
        }
        if fields[1] != format!("r={}{}", self.client_nonce, self.server_nonce) {
            return Err("Wrong nonce".into());
        }
        let last = fields[fields.len() - 1];
        let proof = match last.strip_prefix("p=") {
            Some(p) => base64::decode(p).map_err(|_| "Invalid base64 encoding".to_string())?,
            None => return Err("Invalid ClientProof".into()),
        };
        if proof.len() != self.hash.digest_len() {
            return Err("Invalid ClientProof length".into());
        }
        let keys = self.keys.as_ref().ok_or("Invalid final client message")?;
        let without_proof = fields[..fields.len() - 1].join(",");
        let auth_message = self.auth_message(&without_proof);
        let signature = self.hash.hmac(&keys.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        let stored = self.hash.hash(&client_key);
        if !crate::auth::password::constant_time_eq(&stored, &keys.stored_key) {
            request.mech_log_at(Level::Info, PASSWORD_MISMATCH);
            return Ok(None);
        }
        let server_signature = self.hash.hmac(&keys.server_key, auth_message.as_bytes());
        Ok(Some(
            format!("v={}", base64::encode(&server_signature)).into_bytes(),
        ))
    }
}

impl MechState for Scram {
    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        let text = String::from_utf8_lossy(data).into_owned();
        if self.client_first_bare.is_none() {
            if let Err(e) = self.client_first(auth, request, &text) {
                request.mech_log_at(Level::Info, &e);
                return Step::Fail;
            }
            let credentials = auth.lookup_credentials(request, self.hash.scheme());
            match credentials.result {
                PassdbResult::Ok => {}
                PassdbResult::InternalFailure => return Step::InternalFail,
                _ => return Step::Fail,
            }
            let keys = match ScramKeys::parse(self.hash, &credentials.data) {
                Ok(keys) => keys,
                Err(e) => {
                    request.mech_log_at(Level::Info, &e);
                    return Step::Fail;
                }
            };
            self.server_nonce = server_nonce();
            self.server_first = format!(
                "r={}{},s={},i={}",
                self.client_nonce, self.server_nonce, keys.salt_base64, keys.iterations
            );
            self.keys = Some(keys);
            return Step::Continue(self.server_first.clone().into_bytes());
        }
        match self.client_final(request, &text) {
            Ok(Some(server_final)) => Step::Success(server_final),
            Ok(None) => Step::Fail,
            Err(e) => {
                request.mech_log_at(Level::Info, &e);
                Step::Fail
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5802 §5 (SHA-1) and RFC 7677 §3 (SHA-256): the client proof and server signature
    /// of the example exchanges, computed by the same key derivation the mechanism uses.
    #[test]
    fn rfc_vectors() {
        for (hash, salt, cnonce, snonce, proof, verifier) in [
            (
                ScramHash::Sha1,
                "QSXCR+Q6sek8bf92",
                "fyko+d2lbbFgONRv9qkxdawL",
                "3rfcNHYJY1ZVvWVs7j",
                "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
                "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
            ),
            (
                ScramHash::Sha256,
                "W22ZaJ0SNY7soEsUEjb6gQ==",
                "rOprNGfwEbeRWgbNEkqO",
                "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
                "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
                "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            ),
        ] {
            let salt_raw = base64::decode(salt).unwrap();
            let keys = ScramKeys::derive(hash, b"pencil", &salt_raw, 4096);
            let bare = format!("n=user,r={cnonce}");
            let server_first = format!("r={cnonce}{snonce},s={salt},i=4096");
            let without_proof = format!("c=biws,r={cnonce}{snonce}");
            let auth_message = format!("{bare},{server_first},{without_proof}");
            let salted = hash.hi(b"pencil", &salt_raw, 4096);
            let client_key = hash.hmac(&salted, b"Client Key");
            let signature = hash.hmac(&keys.stored_key, auth_message.as_bytes());
            let computed: Vec<u8> = client_key.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
            assert_eq!(base64::encode(&computed), proof);
            let server_sig = hash.hmac(&keys.server_key, auth_message.as_bytes());
            assert_eq!(base64::encode(&server_sig), verifier);
            let parsed = ScramKeys::parse(hash, keys.encode().as_bytes()).unwrap();
            assert_eq!(parsed, keys);
        }
    }

    #[test]
    fn stored_form_errors() {
        assert_eq!(
            ScramKeys::parse(ScramHash::Sha1, b"1,2,3").unwrap_err(),
            "Invalid SCRAM-SHA-1 passdb entry format"
        );
        assert_eq!(
            ScramKeys::parse(ScramHash::Sha1, b"10,c2FsdA==,AAAA,AAAA").unwrap_err(),
            "Invalid SCRAM-SHA-1 iteration count in passdb (10)"
        );
        assert_eq!(unescape_name("a=2Cb=3D").as_deref(), Some("a,b="));
        assert!(unescape_name("a=2").is_none());
        let n = server_nonce();
        assert_eq!(n.len(), SERVER_NONCE_LEN);
        assert!(!n.contains(','));
    }
}
