//! URLAUTH (RFC 4467) as Dovecot 2.3 does it (`lib-imap-urlauth/imap-urlauth.c`,
//! `imap-urlauth-backend.c`): the INTERNAL mechanism's keys and tokens, and the checks a
//! URL passes before it is generated or fetched, with Dovecot's error texts.
//!
//! - Each mailbox has its own key: 64 random bytes, kept as 128 lowercase hex digits in the
//!   mailbox's private attribute `vendor/vendor.dovecot/imap-urlauth` (in
//!   `mail_attribute_dict`), made by the first GENURLAUTH on the mailbox and removed by
//!   RESETKEY. Dovecot and cote read and write the same attribute, so each verifies the
//!   other's URLs.
//! - The token is the byte 0x01 (the mechanism's version) and the HMAC-SHA1 of the rump URL
//!   as the client wrote it; the URL handed out is `rump:internal:<hex token>`.
//! - Verification compares in constant time; for a mailbox that cannot be found a token is
//!   still computed with a random key (RFC 4467 §7), so the time taken does not tell.
//!
//! The logged-in user's own URLs are fetched by the IMAP session (Dovecot's imap does those
//! itself too); other users' by the owner's imap-urlauth worker
//! ([`crate::imap::urlauth_service`]).

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use crate::auth::scheme::{constant_time_eq, hex_decode, hex_encode};
use crate::imap::url::{self, ImapUrl, ParseOptions};

/// `IMAP_URLAUTH_KEY_LEN`.
pub const KEY_LEN: usize = 64;
/// The private mailbox attribute holding the key (`IMAP_URLAUTH_KEY`).
pub const KEY_ATTRIBUTE: &str = "vendor/vendor.dovecot/imap-urlauth";
/// `IMAP_URLAUTH_MECH_INTERNAL_VERSION`.
const INTERNAL_VERSION: u8 = 0x01;
/// The capabilities, after NOTIFY and before METADATA.
pub const CAPABILITIES: [&str; 2] = ["URLAUTH", "URLAUTH=BINARY"];

/// A mailbox's key.
pub type Key = [u8; KEY_LEN];

/// A new random key.
pub fn new_key() -> Result<Key, crate::auth::random::RandomError> {
    crate::auth::random::bytes::<KEY_LEN>()
}

/// The key as stored in the attribute.
pub fn key_to_hex(key: &Key) -> String {
    hex_encode(key)
}

/// A stored key; `None` when the value is not 128 hex digits (Dovecot logs "key found for
/// mailbox ... is invalid" and fails).
pub fn key_from_hex(value: &[u8]) -> Option<Key> {
    if value.len() != 2 * KEY_LEN {
        return None;
    }
    hex_decode(value)?.try_into().ok()
}

/// The INTERNAL mechanism's token for `rump` (the URL up to `;URLAUTH=access`).
pub fn token(rump: &str, key: &Key) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(rump.as_bytes());
    let mut out = vec![INTERNAL_VERSION];
    out.extend_from_slice(&mac.finalize().into_bytes());
    out
}

/// Whether `given` is `rump`'s token under `key` (constant time, but for the length).
pub fn verify(rump: &str, key: &Key, given: &[u8]) -> bool {
    constant_time_eq(&token(rump, key), given)
}

/// Burns the time of a verification when there is no key to verify with (RFC 4467 §7).
pub fn verify_with_random_key(rump: &str, given: &[u8]) {
    let key = new_key().unwrap_or([0; KEY_LEN]);
    let _ = std::hint::black_box(verify(rump, &key, given));
}

/// The URL GENURLAUTH answers: `rump:<mechanism in lower case>:<hex token>`.
pub fn authorized_url(rump: &str, mechanism: &str, token: &[u8]) -> String {
    format!(
        "{rump}:{}:{}",
        mechanism.to_ascii_lowercase(),
        hex_encode(token)
    )
}

/// What URLAUTH checks URLs against: `imap_urlauth_host` and `imap_urlauth_port`, and who
/// is asking (the logged-in user, through IMAP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlAuthContext {
    /// `imap_urlauth_host`; `*` allows any host.
    pub host: String,
    /// `imap_urlauth_port`.
    pub port: u16,
    /// The logged-in user (the one asking).
    pub user: String,
    /// The access applications granted to that user besides `user+`, `authuser` and
    /// `anonymous` (`submit+` for `imap_urlauth_submit_user`, `stream` for
    /// `imap_urlauth_stream_user`; decided by the owner's worker).
    pub apps: Vec<String>,
    /// How the session reaches the imap-urlauth service for other users' URLs.
    pub service: Option<ServiceAccess>,
}

/// The imap-urlauth service's socket and the session's proof of who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccess {
    pub socket: std::path::PathBuf,
    /// [`crate::imap::urlauth_service::access_token`] of the user.
    pub token: String,
}

impl UrlAuthContext {
    /// Dovecot's `imap_urlauth_check_hostport`.
    fn check_hostport(&self, url: &ImapUrl) -> Result<(), String> {
        if self.host != "*" && url.host.as_deref() != Some(self.host.as_str()) {
            return Err("Invalid URL: Inappropriate host name".into());
        }
        let port_ok = match url.port {
            None | Some(0) => self.port == 143,
            Some(port) => port == self.port,
        };
        if !port_ok {
            return Err("Invalid URL: Inappropriate server port".into());
        }
        Ok(())
    }

    /// Dovecot's `imap_urlauth_check_access` for the imap service (a logged-in user is never
    /// anonymous in cote): `user+<name>` for anyone logged in, `authuser`, `anonymous`;
    /// other applications only when `ignore_unknown` (the owner's imap-urlauth worker
    /// decides those).
    fn check_access(&self, auth: &url::UrlAuth, ignore_unknown: bool) -> Result<(), String> {
        let app = auth.application.as_str();
        if app.eq_ignore_ascii_case("user") {
            if auth.access_user.is_none() {
                return Err("URLAUTH `user' access is missing userid".into());
            }
            return Ok(());
        }
        if app.eq_ignore_ascii_case("authuser") || app.eq_ignore_ascii_case("anonymous") {
            return Ok(());
        }
        if ignore_unknown || self.apps.iter().any(|a| app_allows(a, auth)) {
            return Ok(());
        }
        let userid = auth
            .access_user
            .as_deref()
            .map(|u| format!("+{u}"))
            .unwrap_or_default();
        Err(format!(
            "No '{app}{userid}' access allowed for user {}",
            self.user
        ))
    }

    /// Dovecot's `imap_urlauth_generate` up to the mailbox: `rump` is a URLAUTH rump URL of
    /// the logged-in user's for this server, not expired at `now`. The error is the text
    /// after `BAD Error in IMAP command GENURLAUTH: `.
    pub fn check_rump(&self, mechanism: &str, rump: &str, now: i64) -> Result<ImapUrl, String> {
        if !mechanism.eq_ignore_ascii_case("INTERNAL") {
            return Err(format!("Unsupported URLAUTH mechanism: {mechanism}"));
        }
        let options = ParseOptions {
            require_relative: false,
            allow_urlauth: true,
        };
        let url =
            url::parse(rump.as_bytes(), None, options).map_err(|e| format!("Invalid URL: {e}"))?;
        let rump_only = url.urlauth.as_ref().is_some_and(|a| a.verifier.is_none());
        if url.mailbox.is_none() || url.uid == 0 || url.search_program.is_some() || !rump_only {
            return Err("Invalid URL: Must be an URLAUTH rump URL".into());
        }
        if let Some(expire) = url.urlauth.as_ref().and_then(|a| a.expire) {
            if now > expire {
                return Err("URLAUTH has already expired".into());
            }
        }
        let Some(userid) = url.userid.as_deref() else {
            return Err("Invalid URL: Missing user name".into());
        };
        if userid != self.user {
            return Err(format!(
                "Not permitted to generate URLAUTH for user {userid}"
            ));
        }
        self.check_hostport(&url)?;
        Ok(url)
    }

    /// Dovecot's `imap_urlauth_check`: a full URLAUTH URL with a user, the INTERNAL
    /// mechanism, not expired at `now`, an access the asking user has, this server.
    pub fn check(&self, url: &ImapUrl, ignore_unknown: bool, now: i64) -> Result<(), String> {
        let auth = match &url.urlauth {
            Some(auth)
                if url.mailbox.is_some()
                    && url.uid != 0
                    && url.search_program.is_none()
                    && auth.verifier.is_some() =>
            {
                auth
            }
            _ => return Err("Invalid URL: Must be a full URLAUTH URL".into()),
        };
        if url.userid.is_none() {
            return Err("Invalid URLAUTH: Missing user name".into());
        }
        if let Some((mechanism, _)) = &auth.verifier {
            if !mechanism.eq_ignore_ascii_case("INTERNAL") {
                return Err(format!("Unsupported URLAUTH mechanism: {mechanism}"));
            }
        }
        if auth.expire.is_some_and(|expire| now > expire) {
            return Err("URLAUTH has expired".into());
        }
        self.check_access(auth, ignore_unknown)?;
        self.check_hostport(url)
    }

    /// Whether the URL is the logged-in user's own (fetched here; Dovecot compares the
    /// names exactly).
    pub fn is_own(&self, url: &ImapUrl) -> bool {
        url.userid.as_deref() == Some(self.user.as_str())
    }
}

/// Dovecot's `access_applications_have_access` for one granted application (`name+` with
/// a user id, `name` without; Dovecot compares the application's first letters only, as
/// many as the name has without its `+`).
fn app_allows(app: &str, auth: &url::UrlAuth) -> bool {
    let name = app.strip_suffix('+').unwrap_or(app);
    let given = auth.application.as_bytes();
    // `app[len-1]`: a one-letter name without `+` compares nothing.
    let n = app.len().saturating_sub(1);
    let matches = given.len() >= n
        && name.len() >= n
        && given[..n].eq_ignore_ascii_case(&name.as_bytes()[..n]);
    if !matches {
        return false;
    }
    if app.ends_with('+') {
        auth.access_user.is_some()
    } else {
        auth.access_user.is_none()
    }
}

/// Parses a URL URLFETCH or GENURLAUTH was given, as Dovecot does (absolute, URLAUTH parts
/// allowed).
pub fn parse_url(text: &str) -> Result<ImapUrl, String> {
    url::parse(
        text.as_bytes(),
        None,
        ParseOptions {
            require_relative: false,
            allow_urlauth: true,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key Dovecot 2.3.19.1 made (its `dovecot-attributes` file after a GENURLAUTH).
    const DOVECOT_KEY: &str = "ac8a4e5c224c957d626277405bc26cb3d072d4f02a953d96079fd284b7538167\
        6ae803a384cb67ee30efb970b1eaea71b9b667346c8f623da99ef0eb51b77c5b";

    fn ctx() -> UrlAuthContext {
        UrlAuthContext {
            host: "example.com".into(),
            port: 143,
            user: "alice".into(),
            apps: Vec::new(),
            service: None,
        }
    }

    #[test]
    fn token_as_dovecot_computed_it() {
        let key = key_from_hex(DOVECOT_KEY.as_bytes()).unwrap();
        let rump = "imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob";
        // Dovecot's answer to `GENURLAUTH "<rump>" INTERNAL` with that key.
        let expected = "imap://alice@example.com/INBOX/;UID=1;URLAUTH=user+bob:internal:\
            0107f999a4f060ca1819f885a6adfc000cd9e065d3";
        assert_eq!(
            authorized_url(rump, "INTERNAL", &token(rump, &key)),
            expected
        );
        let full = parse_url(expected).unwrap();
        let auth = full.urlauth.unwrap();
        assert_eq!(auth.rump, rump);
        let (mechanism, given) = auth.verifier.unwrap();
        assert_eq!(mechanism, "internal");
        assert!(verify(&auth.rump, &key, &given));
        let mut wrong = given.clone();
        wrong[20] ^= 1;
        assert!(!verify(&auth.rump, &key, &wrong));
        assert!(!verify(&auth.rump, &key, &given[..20]));
        let other = key_from_hex(&[b'0'; 128]).unwrap();
        assert!(!verify(&auth.rump, &other, &given));
    }

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        let key = new_key().unwrap();
        assert_eq!(key_from_hex(key_to_hex(&key).as_bytes()), Some(key));
        assert_ne!(new_key().unwrap(), key);
        assert_eq!(key_from_hex(b"abcd"), None);
        assert_eq!(key_from_hex(&[b'x'; 128]), None);
        assert_eq!(key_from_hex(&[b'a'; 130]), None);
    }

    #[test]
    fn rump_checks_with_dovecot_texts() {
        let c = ctx();
        let ok = "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous";
        assert!(c.check_rump("internal", ok, 0).is_ok());
        let cases = [
            ("INTERNAL2", ok, "Unsupported URLAUTH mechanism: INTERNAL2"),
            (
                "INTERNAL",
                "imap://alice@example.com/INBOX/;UID=1",
                "Invalid URL: Must be an URLAUTH rump URL",
            ),
            (
                "INTERNAL",
                "imap://alice@example.com/INBOX/;UID=1;URLAUTH=anonymous:internal:\
                 0107f999a4f060ca1819f885a6adfc000cd9e065d3",
                "Invalid URL: Must be an URLAUTH rump URL",
            ),
            (
                "INTERNAL",
                "imap://example.com/INBOX/;UID=1;URLAUTH=anonymous",
                "Invalid URL: Missing user name",
            ),
            (
                "INTERNAL",
                "imap://bob@example.com/INBOX/;UID=1;URLAUTH=anonymous",
                "Not permitted to generate URLAUTH for user bob",
            ),
            (
                "INTERNAL",
                "imap://alice@example.org/INBOX/;UID=1;URLAUTH=anonymous",
                "Invalid URL: Inappropriate host name",
            ),
            (
                "INTERNAL",
                "imap://alice@example.com:144/INBOX/;UID=1;URLAUTH=anonymous",
                "Invalid URL: Inappropriate server port",
            ),
            (
                "INTERNAL",
                "imap://alice@example.com/INBOX/;UID=1;EXPIRE=2000-01-01T00:00:00Z;URLAUTH=anonymous",
                "URLAUTH has already expired",
            ),
            ("INTERNAL", "foo", "Invalid URL: Relative URL not allowed"),
        ];
        for (mechanism, rump, error) in cases {
            assert_eq!(
                c.check_rump(mechanism, rump, 1_000_000_000).unwrap_err(),
                error,
                "{rump}"
            );
        }
    }

    #[test]
    fn fetch_checks_with_dovecot_texts() {
        let c = ctx();
        let tail = ":internal:0107f999a4f060ca1819f885a6adfc000cd9e065d3";
        let check = |url: &str, ignore: bool| {
            let parsed = parse_url(url).unwrap();
            c.check(&parsed, ignore, 1_000_000_000)
        };
        let base = "imap://alice@example.com/INBOX/;UID=1";
        for access in ["user+bob", "authuser", "anonymous", "USER+x"] {
            assert_eq!(
                check(&format!("{base};URLAUTH={access}{tail}"), false),
                Ok(())
            );
        }
        assert_eq!(
            check(&format!("{base};URLAUTH=submit+alice{tail}"), false).unwrap_err(),
            "No 'submit+alice' access allowed for user alice"
        );
        assert_eq!(
            check(&format!("{base};URLAUTH=submit+alice{tail}"), true),
            Ok(())
        );
        assert_eq!(
            check(&format!("{base};URLAUTH=user"), false).unwrap_err(),
            "Invalid URL: Must be a full URLAUTH URL"
        );
        assert_eq!(
            check(&format!("{base};URLAUTH=user{tail}"), false).unwrap_err(),
            "URLAUTH `user' access is missing userid"
        );
        assert_eq!(
            check(
                &format!("imap://example.com/INBOX/;UID=1;URLAUTH=anonymous{tail}"),
                false
            )
            .unwrap_err(),
            "Invalid URLAUTH: Missing user name"
        );
        assert_eq!(
            check(
                &format!("{base};URLAUTH=anonymous:foo:0107f999a4f060ca1819f885a6adfc000cd9e065d3"),
                false
            )
            .unwrap_err(),
            "Unsupported URLAUTH mechanism: foo"
        );
        assert_eq!(
            check(
                &format!("{base};EXPIRE=2000-01-01T00:00:00Z;URLAUTH=anonymous{tail}"),
                false
            )
            .unwrap_err(),
            "URLAUTH has expired"
        );
        assert_eq!(
            check(
                &format!("imap://alice@example.com:993/INBOX/;UID=1;URLAUTH=anonymous{tail}"),
                false
            )
            .unwrap_err(),
            "Invalid URL: Inappropriate server port"
        );
        // Granted applications (the owner's worker decides with them): `submit+` takes any
        // user id, `stream` none; Dovecot compares only the name's first letters.
        let submitter = UrlAuthContext {
            apps: vec!["submit+".into(), "stream".into()],
            ..ctx()
        };
        let worker_check = |url: &str| submitter.check(&parse_url(url).unwrap(), false, 0);
        for access in [
            "submit+bob",
            "SUBMIT+x",
            "submitter+x",
            "stream",
            "streaming",
            "strea",
        ] {
            assert_eq!(
                worker_check(&format!("{base};URLAUTH={access}{tail}")),
                Ok(()),
                "{access}"
            );
        }
        for access in ["submit", "stream+bob", "stre", "subm+x"] {
            let url = format!("{base};URLAUTH={access}{tail}");
            assert!(worker_check(&url).is_err(), "{access}");
        }
        let any_host = UrlAuthContext {
            host: "*".into(),
            ..ctx()
        };
        let elsewhere = parse_url(&format!(
            "imap://alice@elsewhere/INBOX/;UID=1;URLAUTH=anonymous{tail}"
        ))
        .unwrap();
        assert_eq!(any_host.check(&elsewhere, false, 0), Ok(()));
        assert!(c.is_own(&elsewhere));
        assert!(!c.is_own(&parse_url("imap://Alice@x/INBOX/;UID=1").unwrap()));
    }
}
