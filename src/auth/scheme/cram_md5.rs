//! CRAM-MD5 / HMAC-MD5 stored credentials: the two MD5 states HMAC-MD5 reaches after
//! absorbing the key's outer and inner pad blocks, each as four little-endian words (outer
//! first). The CRAM-MD5 mechanism resumes from them to answer a challenge without the
//! plaintext.

use md5::block_api::Md5Core;
use md5::digest::block_api::{Block, CoreProxy, UpdateCore};
use md5::digest::common::hazmat::{SerializableState, SerializedState};
use md5::{Digest, Md5};

use super::SchemeError;

const BLOCK_LEN: usize = 64;
/// The serialized MD5 core: four state words, then the count of absorbed blocks (u64 LE).
const STATE_LEN: usize = 16;

/// The 32-byte HMAC-MD5 context of a password.
pub fn context(password: &[u8]) -> [u8; 32] {
    let mut key = [0u8; BLOCK_LEN];
    if password.len() > BLOCK_LEN {
        key[..16].copy_from_slice(&Md5::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let state_after = |pad: u8| -> [u8; STATE_LEN] {
        let mut block = Block::<Md5Core>::default();
        for (b, k) in block.iter_mut().zip(key.iter()) {
            *b = k ^ pad;
        }
        let mut core = Md5Core::default();
        core.update_blocks(std::slice::from_ref(&block));
        let serialized = core.serialize();
        let mut state = [0u8; STATE_LEN];
        state.copy_from_slice(&serialized[..STATE_LEN]);
        state
    };
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&state_after(0x5c));
    out[16..].copy_from_slice(&state_after(0x36));
    out
}

/// Stored CRAM-MD5 credentials, ready to answer challenges.
#[derive(Clone, PartialEq, Eq)]
pub struct CramMd5Context([u8; 32]);

impl std::fmt::Debug for CramMd5Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CramMd5Context(..)")
    }
}

impl CramMd5Context {
    /// From the raw credentials (32 bytes) of a CRAM-MD5 or HMAC-MD5 stored password.
    pub fn from_credentials(raw: &[u8]) -> Result<CramMd5Context, SchemeError> {
        let bytes: [u8; 32] = raw.try_into().map_err(|_| SchemeError::InvalidPassword {
            scheme: "CRAM-MD5".to_string(),
            reason: format!("Input length isn't valid ({} instead of 32)", raw.len()),
        })?;
        Ok(CramMd5Context(bytes))
    }

    /// HMAC-MD5(password, `challenge`): what a client proves it knows (RFC 2195).
    pub fn response(&self, challenge: &[u8]) -> [u8; 16] {
        let inner = resume(&self.0[16..]).chain_update(challenge).finalize();
        resume(&self.0[..16]).chain_update(inner).finalize().into()
    }
}

/// An MD5 hasher that has absorbed one block and ended in `state`.
fn resume(state: &[u8]) -> Md5 {
    let mut serialized = SerializedState::<Md5Core>::default();
    serialized[..STATE_LEN].copy_from_slice(state);
    serialized[STATE_LEN..].copy_from_slice(&1u64.to_le_bytes());
    match Md5Core::deserialize(&serialized) {
        Ok(core) => Md5::compose(core, Default::default()),
        // MD5's state accepts any bytes; this cannot fail, but a fresh hasher is not a panic.
        Err(_) => Md5::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scheme::encoding::hex_encode;
    use hmac::{Hmac, KeyInit, Mac};

    #[test]
    fn dovecot_context_of_secret() {
        // `doveadm pw -s CRAM-MD5 -p secret`.
        assert_eq!(
            hex_encode(&context(b"secret")),
            "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"
        );
    }

    #[test]
    fn rfc2195_example() {
        let ctx = CramMd5Context::from_credentials(&context(b"tanstaaftanstaaf")).unwrap();
        let digest = ctx.response(b"<1896.697170952@postoffice.reston.mci.net>");
        assert_eq!(hex_encode(&digest), "b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn matches_hmac_for_long_keys() {
        let key = [7u8; 100];
        let ctx = CramMd5Context::from_credentials(&context(&key)).unwrap();
        let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(b"challenge");
        assert_eq!(
            ctx.response(b"challenge")[..],
            mac.finalize().into_bytes()[..]
        );
        assert!(CramMd5Context::from_credentials(&[0u8; 31]).is_err());
    }
}
