//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding (the `-PLUS`
//! variants are not offered, and a client asking for binding with `p=` is refused). The
//! passdb gives `iterations,salt,StoredKey,ServerKey` (Dovecot's SCRAM schemes), so the
//! plaintext password is not needed.

use super::{MechFlags, MechState, Mechanism, PassdbNeed, Step};
use crate::auth::base64;
use crate::auth::engine::Auth;
use crate::auth::random::{self, RandomError};
use crate::auth::request::{AuthRequest, PassdbResult, PASSWORD_MISMATCH};
use crate::auth::scheme::{constant_time_eq, ScramCredentials, ScramHash};
use crate::log::Level;

const SERVER_NONCE_LEN: usize = 64;

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
    mutual_auth: true,
    ..MechFlags::NONE
};

struct Scram {
    hash: ScramHash,
    gs2_header: String,
    client_nonce: String,
    server_nonce: String,
    client_first_bare: Option<String>,
    server_first: String,
    keys: Option<ScramCredentials>,
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

/// Printable characters other than `,` (Dovecot's nonce alphabet).
fn server_nonce() -> Result<String, RandomError> {
    Ok(random::bytes::<SERVER_NONCE_LEN>()?
        .iter()
        .map(|b| {
            let c = (b % (b'~' - b'!')) + b'!';
            char::from(if c == b',' { b'~' } else { c })
        })
        .collect())
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

    fn client_first(
        &mut self,
        auth: &Auth,
        request: &mut AuthRequest,
        text: &str,
    ) -> Result<(), String> {
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
        if !constant_time_eq(&stored, &keys.stored_key) {
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
            let credentials = auth.lookup_credentials(request, self.hash.scheme_name());
            match credentials.result {
                PassdbResult::Ok => {}
                PassdbResult::InternalFailure => return Step::InternalFail,
                _ => return Step::Fail,
            }
            let keys = match ScramCredentials::parse(self.hash, &credentials.data) {
                Ok(keys) => keys,
                Err(e) => {
                    request.mech_log_at(Level::Info, &e.reason());
                    return Step::Fail;
                }
            };
            self.server_nonce = match server_nonce() {
                Ok(nonce) => nonce,
                Err(e) => {
                    request.mech_log_at(Level::Error, &e.to_string());
                    return Step::InternalFail;
                }
            };
            self.server_first = format!(
                "r={}{},s={},i={}",
                self.client_nonce,
                self.server_nonce,
                base64::encode(&keys.salt),
                keys.iterations
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

    #[test]
    fn names_and_nonces() {
        assert_eq!(unescape_name("a=2Cb=3D").as_deref(), Some("a,b="));
        assert!(unescape_name("a=2").is_none());
        let n = server_nonce().unwrap();
        assert_eq!(n.len(), SERVER_NONCE_LEN);
        assert!(!n.contains(','));
    }
}
