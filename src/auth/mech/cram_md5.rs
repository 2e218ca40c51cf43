//! CRAM-MD5 (RFC 2195): the server sends `<digits.time@host>`, the client answers
//! `user HEX(HMAC-MD5(password, challenge))`. The passdb gives the HMAC-MD5 context (Dovecot's
//! CRAM-MD5 scheme, [`CramMd5Context`]), so the plaintext password is not needed.

use super::{MechFlags, MechState, Mechanism, PassdbNeed, Step};
use crate::auth::engine::Auth;
use crate::auth::random::{self, RandomError};
use crate::auth::request::{AuthRequest, PassdbResult, PASSWORD_MISMATCH};
use crate::auth::scheme::{constant_time_eq, hex_encode, CramMd5Context};
use crate::log::Level;

pub(super) const CRAM_MD5: Mechanism = Mechanism {
    name: "CRAM-MD5",
    flags: MechFlags {
        dictionary: true,
        active: true,
        ..MechFlags::NONE
    },
    passdb_need: PassdbNeed::LookupCredentials,
    new: || Box::new(CramMd5 { challenge: None }),
};

struct CramMd5 {
    challenge: Option<String>,
}

fn challenge() -> Result<String, RandomError> {
    let digits: String = random::bytes::<16>()?
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let host = crate::hostname::hostname().unwrap_or_default();
    Ok(format!("<{digits}.{now}@{host}>"))
}

impl MechState for CramMd5 {
    fn initial(&mut self, _auth: &Auth, request: &mut AuthRequest, _data: Option<&[u8]>) -> Step {
        match challenge() {
            Ok(c) => {
                self.challenge = Some(c.clone());
                Step::Continue(c.into_bytes())
            }
            Err(e) => {
                request.mech_log_at(Level::Error, &e.to_string());
                Step::InternalFail
            }
        }
    }

    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        let Some(challenge) = self.challenge.clone() else {
            return Step::Fail;
        };
        // user SPACE digest; the user may hold spaces, the last one separates.
        let error = if data.contains(&0) {
            Some("NULs in response")
        } else {
            match data.iter().rposition(|&b| b == b' ') {
                None | Some(0) => Some("missing digest"),
                Some(space) => {
                    let user = String::from_utf8_lossy(&data[..space]).into_owned();
                    let response = String::from_utf8_lossy(&data[space + 1..]).into_owned();
                    match request.set_username(&user, !auth.masterdbs.is_empty()) {
                        Err(e) => {
                            request.mech_log_at(Level::Info, &e);
                            return Step::Fail;
                        }
                        Ok(()) => return self.verify(auth, request, &challenge, &response),
                    }
                }
            }
        };
        request.mech_log_at(Level::Info, error.unwrap_or("authentication failed"));
        Step::Fail
    }
}

impl CramMd5 {
    fn verify(
        &self,
        auth: &Auth,
        request: &mut AuthRequest,
        challenge: &str,
        response: &str,
    ) -> Step {
        let credentials = auth.lookup_credentials(request, "CRAM-MD5");
        match credentials.result {
            PassdbResult::Ok => {}
            PassdbResult::InternalFailure => return Step::InternalFail,
            _ => return Step::Fail,
        }
        let Ok(context) = CramMd5Context::from_credentials(&credentials.data) else {
            request.mech_log_at(Level::Error, "invalid credentials length");
            return Step::Fail;
        };
        let digest = hex_encode(&context.response(challenge.as_bytes()));
        if constant_time_eq(digest.as_bytes(), response.as_bytes()) {
            Step::Success(Vec::new())
        } else {
            request.mech_log_at(Level::Info, PASSWORD_MISMATCH);
            Step::Fail
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_shape() {
        let c = challenge().unwrap();
        assert!(c.starts_with('<') && c.ends_with('>') && c.contains('@'));
        assert_eq!(c[1..17].chars().filter(char::is_ascii_digit).count(), 16);
    }
}
