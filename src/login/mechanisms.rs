//! The SASL mechanisms the auth service offers, and which of them a connection may see
//! (Dovecot's `sasl_server_get_advertised_mechs`): IMAP's `AUTH=` capabilities and POP3's
//! `SASL` line come from the same filter.

use crate::auth::client::AuthClient;
use crate::net::SslMode;

/// A SASL mechanism as the auth service announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslMech {
    /// Upper case, as advertised (`PLAIN`, `CRAM-MD5`).
    pub name: String,
    /// Sends the password in the clear (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2).
    pub plaintext: bool,
    /// Never advertised (APOP, DOVECOT-TOKEN).
    pub private: bool,
}

impl SaslMech {
    /// The mechanisms an auth connection's handshake listed, in its order.
    pub fn offered_by(auth: Option<&AuthClient>) -> Vec<SaslMech> {
        auth.map_or_else(Vec::new, |auth| {
            auth.mechanisms
                .iter()
                .map(|m| SaslMech {
                    name: m.name.to_ascii_uppercase(),
                    plaintext: m.plaintext(),
                    private: m.flags.iter().any(|f| f == "private"),
                })
                .collect()
        })
    }
}

/// The mechanisms a client may be shown: none at all on an unsecured connection when
/// `ssl = required`; never private ones; plaintext ones only when the connection is secured
/// or `disable_plaintext_auth = no`.
pub fn advertised(
    mechanisms: &[SaslMech],
    secured: bool,
    ssl: SslMode,
    disable_plaintext_auth: bool,
) -> impl Iterator<Item = &SaslMech> {
    let none = !secured && ssl == SslMode::Required;
    mechanisms.iter().filter(move |m| {
        !none && !m.private && (secured || !disable_plaintext_auth || !m.plaintext)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mech(name: &str, plaintext: bool, private: bool) -> SaslMech {
        SaslMech {
            name: name.into(),
            plaintext,
            private,
        }
    }

    #[test]
    fn filter() {
        let all = [
            mech("PLAIN", true, false),
            mech("CRAM-MD5", false, false),
            mech("APOP", false, true),
        ];
        let names = |secured, ssl, disable| -> Vec<&str> {
            advertised(&all, secured, ssl, disable)
                .map(|m| m.name.as_str())
                .collect()
        };
        assert_eq!(names(true, SslMode::Yes, true), ["PLAIN", "CRAM-MD5"]);
        assert_eq!(names(false, SslMode::Yes, true), ["CRAM-MD5"]);
        assert_eq!(names(false, SslMode::Yes, false), ["PLAIN", "CRAM-MD5"]);
        assert!(names(false, SslMode::Required, false).is_empty());
    }
}
