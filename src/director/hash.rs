//! The number a user is placed by (Dovecot's `mail_user_hash`): the first four bytes, big
//! endian, of the MD5 of `director_username_hash` expanded for the user (`%u`, `%n`, `%d`,
//! with modifiers such as `%L`). Zero is never a user's hash: it becomes 1.

use md5::{Digest, Md5};

use crate::config::var_expand::{self, split_user, Vars};

/// The hash of `username` under `format`; `Err` names the variable the format cannot expand
/// (the hash of the text Dovecot would have made of it is still what a lookup would use, but
/// a format that does not expand is a configuration error worth refusing).
pub fn user_hash(username: &str, format: &str) -> Result<u32, String> {
    let digest = match format {
        "%u" => Md5::digest(username.as_bytes()),
        "%Lu" => Md5::digest(username.to_lowercase().as_bytes()),
        _ => {
            let (name, domain) = split_user(username);
            let mut vars = Vars::new();
            vars.set(Some(b'u'), Some("user"), Some(username));
            vars.set(Some(b'n'), Some("username"), Some(name));
            vars.set(Some(b'd'), Some("domain"), domain);
            let text = var_expand::expand(format, &vars).map_err(|e| e.to_string())?;
            Md5::digest(text.as_bytes())
        }
    };
    Ok(point(&digest))
}

/// The first four bytes of an MD5 digest as a big-endian number, 0 made 1.
pub(super) fn point(digest: &[u8]) -> u32 {
    let mut bytes = [0u8; 4];
    bytes.copy_from_slice(&digest[..4]);
    match u32::from_be_bytes(bytes) {
        0 => 1,
        n => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_dovecots() {
        // Values Dovecot's own test of mail_user_hash expects.
        let cases = [
            ("", "", 3558706393),
            ("testuser", "", 3558706393),
            ("", "%u", 3558706393),
            ("@", "%u", 1368314517),
            ("", "%n@%d", 1368314517),
            ("testuser", "%u", 1570531526),
            ("testuser", "%n", 1570531526),
            ("testuser", "%d", 3558706393),
        ];
        for (user, format, hash) in cases {
            assert_eq!(user_hash(user, format), Ok(hash), "{user:?} {format:?}");
        }
        assert_eq!(user_hash("TestUser", "%Lu"), Ok(1570531526));
        assert_eq!(user_hash("TestUser", "%Ln"), Ok(1570531526));
        assert_eq!(user_hash("testuser@example.com", "%n"), Ok(1570531526));
    }

    #[test]
    fn zero_becomes_one() {
        assert_eq!(point(&[0, 0, 0, 0, 9]), 1);
        assert_eq!(point(&[0, 0, 1, 2]), 258);
    }

    #[test]
    fn unknown_variables_are_errors() {
        assert!(user_hash("a", "%{nosuch}").is_err());
    }
}
