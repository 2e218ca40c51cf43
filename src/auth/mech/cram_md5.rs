//! CRAM-MD5 (RFC 2195): the server sends `<digits.time@host>`, the client answers
//! `user HEX(HMAC-MD5(password, challenge))`. The passdb gives the HMAC-MD5 context (the MD5
//! states after the padded key blocks, Dovecot's CRAM-MD5 scheme), so the plaintext password
//! is not needed.

use md5::block_api::compress;

use super::{random_bytes, MechFlags, MechState, Mechanism, PassdbNeed, Step};
use crate::auth::engine::Auth;
use crate::auth::request::{AuthRequest, PassdbResult, PASSWORD_MISMATCH};
use crate::log::Level;

pub(super) const CRAM_MD5: Mechanism = Mechanism {
    name: "CRAM-MD5",
    flags: MechFlags {
        private: false,
        anonymous: false,
        plaintext: false,
        dictionary: true,
        active: true,
        forward_secrecy: false,
        mutual_auth: false,
        allow_nuls: false,
    },
    passdb_need: PassdbNeed::LookupCredentials,
    new: || Box::new(CramMd5 { challenge: None }),
};

struct CramMd5 {
    challenge: Option<String>,
}

fn challenge() -> String {
    let digits: String = random_bytes(16)
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("<{digits}.{now}@{host}>")
}

/// MD5 finished from `state` after `done` bytes were processed, over `data`.
fn md5_finish(mut state: [u32; 4], done: u64, data: &[u8]) -> [u8; 16] {
    let mut message = data.to_vec();
    let bits = (done + data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bits.to_le_bytes());
    let blocks: Vec<[u8; 64]> = message
        .chunks_exact(64)
        .map(|c| {
            let mut block = [0u8; 64];
            block.copy_from_slice(c);
            block
        })
        .collect();
    compress(&mut state, &blocks);
    let mut out = [0u8; 16];
    for (i, word) in state.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// The CRAM-MD5 context of a password: the MD5 states after the key XOR opad and key XOR
/// ipad blocks (outer first), four little-endian words each. A key longer than a block is
/// hashed first, as HMAC does.
pub fn cram_md5_context(password: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 64];
    if password.len() > 64 {
        use md5::Digest;
        key[..16].copy_from_slice(&md5::Md5::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut out = [0u8; 32];
    for (half, pad) in [(0, 0x5c), (16, 0x36)] {
        let mut block = [0u8; 64];
        for (b, k) in block.iter_mut().zip(key) {
            *b = k ^ pad;
        }
        let mut state = [0x67452301u32, 0xefcdab89, 0x98badcfe, 0x10325476];
        compress(&mut state, &[block]);
        for (i, w) in state.iter().enumerate() {
            out[half + i * 4..half + i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    out
}

/// HMAC-MD5 of `message` from a 32-byte CRAM-MD5 context (outer state, then inner state,
/// each four little-endian words).
pub fn hmac_md5_from_context(context: &[u8; 32], message: &[u8]) -> [u8; 16] {
    let word = |i: usize| {
        u32::from_le_bytes([
            context[i * 4],
            context[i * 4 + 1],
            context[i * 4 + 2],
            context[i * 4 + 3],
        ])
    };
    let outer = [word(0), word(1), word(2), word(3)];
    let inner = [word(4), word(5), word(6), word(7)];
    let inner_digest = md5_finish(inner, 64, message);
    md5_finish(outer, 64, &inner_digest)
}

impl MechState for CramMd5 {
    fn initial(&mut self, _auth: &Auth, _request: &mut AuthRequest, _data: Option<&[u8]>) -> Step {
        let c = challenge();
        self.challenge = Some(c.clone());
        Step::Continue(c.into_bytes())
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
    fn verify(&self, auth: &Auth, request: &mut AuthRequest, challenge: &str, response: &str) -> Step {
        let credentials = auth.lookup_credentials(request, "CRAM-MD5");
        match credentials.result {
            PassdbResult::Ok => {}
            PassdbResult::InternalFailure => return Step::InternalFail,
            _ => return Step::Fail,
        }
        let Ok(context) = <[u8; 32]>::try_from(credentials.data.as_slice()) else {
            request.mech_log_at(Level::Error, "invalid credentials length");
            return Step::Fail;
        };
        let digest = hmac_md5_from_context(&context, challenge.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if crate::auth::password::constant_time_eq(hex.as_bytes(), response.as_bytes()) {
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
    use hmac::{KeyInit, Mac};

    fn context(password: &[u8]) -> [u8; 32] {
        cram_md5_context(password)
    }

    #[test]
    fn rfc2195_example() {
        let challenge = b"<1896.697170952@postoffice.reston.mci.net>";
        let digest = hmac_md5_from_context(&context(b"tanstaaftanstaaf"), challenge);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "b913a602c7eda7a495b4e6e7334d3890");
        let mut mac = hmac::Hmac::<md5::Md5>::new_from_slice(b"pw").unwrap();
        mac.update(b"x");
        assert_eq!(
            hmac_md5_from_context(&context(b"pw"), b"x").as_slice(),
            mac.finalize().into_bytes().as_slice()
        );
    }

    #[test]
    fn challenge_shape() {
        let c = challenge();
        assert!(c.starts_with('<') && c.ends_with('>') && c.contains('@'));
        assert_eq!(c[1..17].chars().filter(char::is_ascii_digit).count(), 16);
    }
}
