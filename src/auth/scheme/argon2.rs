//! ARGON2I / ARGON2ID: PHC strings as libsodium writes them
//! (`$argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>`), with libsodium's cost presets chosen by
//! `rounds` as Dovecot does.

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, Version};

use super::digest::constant_time_eq;
use super::SchemeError;
use crate::auth::base64;
use crate::auth::random;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
const MIB: u32 = 1024; // in KiB, Argon2's memory unit
/// The most memory a stored hash may ask for. libsodium's largest preset is 1 GiB; beyond
/// 4 GiB a corrupt entry would take the auth process down rather than be refused.
const MAX_MEMORY_KIB: u32 = 4096 * MIB;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Argon2i,
    Argon2id,
}

/// libsodium's (opslimit, memlimit) for a requested `rounds`, as Dovecot picks them.
fn costs(variant: Variant, rounds: u32) -> (u32, u32) {
    // (interactive, moderate, sensitive) operation counts and memory sizes.
    let (ops, mem) = match variant {
        Variant::Argon2i => ([4, 6, 8], [32 * MIB, 128 * MIB, 512 * MIB]),
        Variant::Argon2id => ([2, 3, 4], [64 * MIB, 256 * MIB, 1024 * MIB]),
    };
    let t = if rounds == 0 { ops[0] } else { rounds };
    let m = if t >= ops[2] {
        mem[2]
    } else if t >= ops[1] {
        mem[1]
    } else {
        mem[0]
    };
    // Dovecot raises Argon2id to 3 passes (a libsodium 1.0.13 workaround); libsodium refuses
    // fewer than 3 for Argon2i.
    (t.max(3), m)
}

fn hash_into(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), String> {
    Argon2::new(algorithm, version, params)
        .hash_password_into(password, salt, out)
        .map_err(|e| format!("argon2 failed: {e}"))
}

pub fn generate(variant: Variant, password: &[u8], rounds: u32) -> Result<Vec<u8>, SchemeError> {
    let (t, m) = costs(variant, rounds);
    let (algorithm, name) = match variant {
        Variant::Argon2i => (Algorithm::Argon2i, "argon2i"),
        Variant::Argon2id => (Algorithm::Argon2id, "argon2id"),
    };
    let params = Params::new(m, t, 1, Some(HASH_LEN))
        .map_err(|e| SchemeError::System(format!("argon2 parameters m={m},t={t} refused: {e}")))?;
    let salt = random::bytes::<SALT_LEN>()?;
    let mut hash = [0u8; HASH_LEN];
    hash_into(
        algorithm,
        Version::V0x13,
        params,
        password,
        &salt,
        &mut hash,
    )
    .map_err(SchemeError::System)?;
    let b64 = |raw: &[u8]| base64::encode(raw).trim_end_matches('=').to_string();
    Ok(format!("${name}$v=19$m={m},t={t},p=1${}${}", b64(&salt), b64(&hash)).into_bytes())
}

/// Verifies an Argon2i or Argon2id PHC string (either scheme name accepts both, as
/// libsodium's verification does).
pub fn verify(password: &[u8], raw: &[u8]) -> Result<bool, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "Invalid argon2 hash".to_string())?;
    let phc = PasswordHash::new(text).map_err(|e| format!("Invalid argon2 hash: {e}"))?;
    let algorithm = match phc.algorithm.as_str() {
        "argon2i" => Algorithm::Argon2i,
        "argon2id" => Algorithm::Argon2id,
        other => return Err(format!("Not an argon2i or argon2id hash: {other}")),
    };
    let version = match phc.version {
        None | Some(0x13) => Version::V0x13,
        Some(0x10) => Version::V0x10,
        Some(v) => return Err(format!("Unknown argon2 version {v}")),
    };
    let (Some(salt), Some(stored)) = (&phc.salt, &phc.hash) else {
        return Err("Invalid argon2 hash: salt or hash missing".to_string());
    };
    let params = Params::try_from(&phc).map_err(|e| format!("Invalid argon2 parameters: {e}"))?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return Err(format!(
            "argon2 memory cost m={} over the limit of {MAX_MEMORY_KIB} KiB",
            params.m_cost()
        ));
    }
    let mut computed = vec![0u8; stored.len()];
    hash_into(
        algorithm,
        version,
        params,
        password,
        salt.as_ref(),
        &mut computed,
    )?;
    Ok(constant_time_eq(&computed, stored.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_as_dovecot() {
        assert_eq!(costs(Variant::Argon2id, 0), (3, 64 * MIB));
        assert_eq!(costs(Variant::Argon2id, 1), (3, 64 * MIB));
        assert_eq!(costs(Variant::Argon2id, 3), (3, 256 * MIB));
        assert_eq!(costs(Variant::Argon2id, 4), (4, 1024 * MIB));
        assert_eq!(costs(Variant::Argon2i, 0), (4, 32 * MIB));
        assert_eq!(costs(Variant::Argon2i, 6), (6, 128 * MIB));
        assert_eq!(costs(Variant::Argon2i, 9), (9, 512 * MIB));
    }

    #[test]
    fn libsodium_strings() {
        // Made by `doveadm pw -s ARGON2I -p x` (libsodium).
        let i = b"$argon2i$v=19$m=32768,t=4,p=1$wXirzDIVasnHAp1rTmo21Q$6oz5eFIT3clamDTwWoXsrTMfo95EwwhfVDAKG1hD1ko";
        assert_eq!(verify(b"x", i), Ok(true));
        assert_eq!(verify(b"y", i), Ok(false));
    }

    #[test]
    fn refused_strings() {
        assert!(verify(
            b"x",
            b"$argon2d$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        )
        .is_err());
        assert!(verify(
            b"x",
            b"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
        )
        .is_err());
        assert!(verify(b"x", b"garbage").is_err());
        assert!(verify(b"x", b"$argon2id$v=19$m=64,t=1,p=1").is_err());
    }
}
