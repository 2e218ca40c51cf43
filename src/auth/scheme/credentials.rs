//! The stored key material a non-plaintext SASL mechanism works from (CRAM-MD5, DIGEST-MD5,
//! SCRAM-*, OTP, APOP), taken from the stored password when its scheme matches, or made from
//! a plaintext one.

use super::{generate_raw, Params, Scheme, SchemeError, StoredPassword};

/// The raw credentials of scheme `wanted` (e.g. `CRAM-MD5`: 32 context bytes; `DIGEST-MD5`:
/// 16 bytes; `SCRAM-SHA-1`: the `iter,salt,stored,server` text; `PLAIN`: the password) from
/// a stored password. An empty `wanted` takes whatever is stored. `user` is bound into
/// DIGEST-MD5 credentials made from a plaintext, as `user@realm`.
pub fn credentials(
    stored: &StoredPassword<'_>,
    wanted: &str,
    user: Option<&str>,
) -> Result<Vec<u8>, SchemeError> {
    let (have, raw) = stored.decode()?;
    if wanted.is_empty() {
        return Ok(raw);
    }
    let want =
        Scheme::lookup(wanted).ok_or_else(|| SchemeError::UnknownScheme(wanted.to_string()))?;
    if have.is_alias_of(&want) {
        return Ok(raw);
    }
    if !have.is_plaintext() {
        return Err(SchemeError::CredentialsUnavailable {
            wanted: want.name().to_string(),
            have: have.name().to_string(),
        });
    }
    generate_raw(want.method(), want.name(), &raw, Params { user, rounds: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scheme::{CramMd5Context, ScramCredentials, ScramHash, DEFAULT_SCHEME};

    fn stored(text: &str) -> StoredPassword<'_> {
        StoredPassword::parse(text.as_bytes(), DEFAULT_SCHEME)
    }

    #[test]
    fn matching_scheme_gives_its_raw_form() {
        let cram = "{HMAC-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56";
        let raw = credentials(&stored(cram), "CRAM-MD5", None).unwrap();
        assert_eq!(raw.len(), 32);
        let digest = credentials(
            &stored("{DIGEST-MD5}908ff320725b0d3989b772c8bcf6b7e2"),
            "DIGEST-MD5",
            None,
        )
        .unwrap();
        assert_eq!(digest.len(), 16);
    }

    #[test]
    fn plaintext_gives_anything() {
        let plain = stored("{PLAIN}secret");
        let from_plain = credentials(&plain, "CRAM-MD5", None).unwrap();
        let from_stored = credentials(
            &stored("{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56"),
            "CRAM-MD5",
            None,
        )
        .unwrap();
        assert_eq!(from_plain, from_stored);
        assert!(CramMd5Context::from_credentials(&from_plain).is_ok());
        assert_eq!(credentials(&plain, "PLAIN", None).unwrap(), b"secret");
        assert_eq!(credentials(&plain, "", None).unwrap(), b"secret");
        let scram = credentials(&stored("{CLEAR.b64}c2VjcmV0"), "SCRAM-SHA-256", None).unwrap();
        let keys = ScramCredentials::parse(ScramHash::Sha256, &scram).unwrap();
        assert_eq!(keys.iterations, 4096);
        let digest = credentials(&plain, "DIGEST-MD5", Some("bob@realm")).unwrap();
        assert_eq!(
            crate::auth::scheme::encoding::hex_encode(&digest),
            "908ff320725b0d3989b772c8bcf6b7e2"
        );
        assert_eq!(
            credentials(&plain, "DIGEST-MD5", None),
            Err(SchemeError::UserRequired {
                scheme: "DIGEST-MD5".into()
            })
        );
    }

    #[test]
    fn hashes_give_nothing_else() {
        assert_eq!(
            credentials(
                &stored("{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="),
                "CRAM-MD5",
                None
            ),
            Err(SchemeError::CredentialsUnavailable {
                wanted: "CRAM-MD5".into(),
                have: "SHA".into()
            })
        );
        assert!(matches!(
            credentials(&stored("{PLAIN-TRUNC}6-secret"), "CRAM-MD5", None),
            Err(SchemeError::CredentialsUnavailable { .. })
        ));
        assert!(matches!(
            credentials(&stored("{PLAIN}x"), "NOPE", None),
            Err(SchemeError::UnknownScheme(_))
        ));
    }
}
