//! The CAPABILITY lists: pre-login with Dovecot 2.3's rules (imap-login's `get_capability`,
//! `is_login_cmd_disabled` and the SASL mechanism filter), and the post-login list of what
//! this build's authenticated state really answers.

use crate::login::mechanisms;
use crate::net::SslMode;

/// Dovecot 2.3's built-in pre-login list (`CAPABILITY_BANNER_STRING`), with IMAP4rev2 after
/// IMAP4rev1: cote offers both revisions (RFC 9051 Appendix A; a client picks rev2 with
/// `ENABLE IMAP4rev2`). Dovecot 2.3 has no IMAP4rev2; tests comparing with its lists drop
/// that one atom first.
pub const PRELOGIN_BANNER: &str = "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE";

/// The post-login list: Dovecot 2.3's `CAPABILITY_STRING` in its order (and IMAP4rev2, as
/// in [`PRELOGIN_BANNER`]), with only what cote implements end to end; NOTIFY is added after LITERAL+ with `mailbox_list_index`, as
/// Dovecot adds it. Like Dovecot, CONTEXT=SORT is not advertised, though SORT
/// RETURN (UPDATE) works as SEARCH's does.
pub const POSTLOGIN_BANNER: &str = "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE \
SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT \
MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 \
CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE \
SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE";

pub use crate::login::SaslMech;

/// Everything the pre-login capability depends on.
#[derive(Debug, Clone)]
pub struct CapabilityInputs<'a> {
    /// `imap_capability`: empty for the built-in list, `+X Y` to append, anything else
    /// replaces the list (and then no LITERAL+/LITERAL- is added).
    pub imap_capability: &'a str,
    pub imap_literal_minus: bool,
    pub ssl: SslMode,
    /// This build can start TLS on the connection.
    pub tls_available: bool,
    /// The connection is already TLS.
    pub tls_active: bool,
    /// TLS, same IP on both ends, or `login_trusted_networks`.
    pub secured: bool,
    pub disable_plaintext_auth: bool,
    /// The mechanisms the auth service offers, in `auth_mechanisms` order; empty when no
    /// auth service is available.
    pub mechanisms: &'a [SaslMech],
}

impl CapabilityInputs<'_> {
    /// The mechanisms this client may see as `AUTH=` (see [`mechanisms::advertised`]).
    pub fn advertised_mechanisms(&self) -> impl Iterator<Item = &SaslMech> {
        mechanisms::advertised(
            self.mechanisms,
            self.secured,
            self.ssl,
            self.disable_plaintext_auth,
        )
    }

    /// Whether the LOGIN command is refused (LOGINDISABLED): on a secured connection when
    /// PLAIN is not offered, otherwise when plaintext authentication is disabled or TLS is
    /// required.
    pub fn login_disabled(&self) -> bool {
        if self.secured {
            return !self.mechanisms.iter().any(|m| m.name == "PLAIN");
        }
        self.disable_plaintext_auth || self.ssl == SslMode::Required
    }
}

/// `banner` as `imap_capability` changes it: empty keeps it, `+X Y` appends, anything else
/// replaces it (and then no LITERAL+/LITERAL- is added).
fn base_list(banner: &str, imap_capability: &str, literal_minus: bool) -> String {
    let mut caps = match imap_capability {
        "" => banner.to_string(),
        custom => match custom.strip_prefix('+') {
            Some(extra) => format!("{banner} {extra}"),
            None => return custom.to_string(),
        },
    };
    caps.push_str(if literal_minus {
        " LITERAL-"
    } else {
        " LITERAL+"
    });
    caps
}

/// The capability list after login (see [`POSTLOGIN_BANNER`] for what it holds), as
/// Dovecot's imap process builds it: `imap_capability` applied, LITERAL+ (or LITERAL-),
/// what the user's storage offers (`storage`: METADATA), and SPECIAL-USE when the user has
/// special-use mailboxes configured. An `imap_capability` that replaces the list is taken
/// as it is.
pub fn postlogin_capability(
    imap_capability: &str,
    literal_minus: bool,
    storage: &[&str],
    special_use: bool,
) -> String {
    let mut caps = base_list(POSTLOGIN_BANNER, imap_capability, literal_minus);
    for name in storage {
        add_capability(&mut caps, imap_capability, name);
    }
    if special_use {
        add_capability(&mut caps, imap_capability, "SPECIAL-USE");
    }
    caps
}

/// Adds one capability a plugin offers (Dovecot's `client_add_capability`): at the end,
/// unless `imap_capability` replaces the list.
pub fn add_capability(caps: &mut String, imap_capability: &str, name: &str) {
    if imap_capability.is_empty() || imap_capability.starts_with('+') {
        caps.push(' ');
        caps.push_str(name);
    }
}

/// `text` (a capability list, or lines holding some) as Dovecot 2.3 would send it: without
/// the IMAP4rev2 that cote lists after IMAP4rev1. For the tests that compare cote's answers
/// with Dovecot's: exactly that one atom goes, so every other difference still shows.
pub fn as_dovecot_2_3(text: &str) -> String {
    const PAIR: &str = "IMAP4rev1 IMAP4rev2";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PAIR) {
        let after = &rest[at + PAIR.len()..];
        out.push_str(&rest[..at + "IMAP4rev1".len()]);
        // Only the whole atom: `IMAP4rev2X` is another capability.
        if !(after.is_empty() || after.starts_with([' ', ']', '\r', '\n'])) {
            out.push_str(" IMAP4rev2");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The capability list sent in the greeting and for CAPABILITY before login.
pub fn prelogin_capability(inputs: &CapabilityInputs) -> String {
    let mut caps = base_list(
        PRELOGIN_BANNER,
        inputs.imap_capability,
        inputs.imap_literal_minus,
    );
    if inputs.tls_available && inputs.ssl != SslMode::No && !inputs.tls_active {
        caps.push_str(" STARTTLS");
    }
    if inputs.login_disabled() {
        caps.push_str(" LOGINDISABLED");
    }
    for mech in inputs.advertised_mechanisms() {
        caps.push_str(" AUTH=");
        caps.push_str(&mech.name);
    }
    caps
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

    fn plain_login() -> Vec<SaslMech> {
        vec![mech("PLAIN", true, false), mech("LOGIN", true, false)]
    }

    fn inputs(mechs: &[SaslMech]) -> CapabilityInputs<'_> {
        CapabilityInputs {
            imap_capability: "",
            imap_literal_minus: false,
            ssl: SslMode::No,
            tls_available: true,
            tls_active: false,
            secured: true,
            disable_plaintext_auth: true,
            mechanisms: mechs,
        }
    }

    const BASE: &str = "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE";

    /// Each case was observed on Dovecot 2.3.19.1 (Debian) with the same settings, but for
    /// IMAP4rev2 (in `BASE`), which Dovecot 2.3 does not have.
    #[test]
    fn as_observed_on_dovecot() {
        let pl = plain_login();
        let i = inputs(&pl);
        assert_eq!(
            prelogin_capability(&i),
            format!("{BASE} LITERAL+ AUTH=PLAIN AUTH=LOGIN")
        );
        let insecure = CapabilityInputs {
            secured: false,
            ..i.clone()
        };
        assert_eq!(
            prelogin_capability(&insecure),
            format!("{BASE} LITERAL+ LOGINDISABLED")
        );

        let plus = CapabilityInputs {
            imap_capability: "+XFOO XBAR",
            ..i.clone()
        };
        assert_eq!(
            prelogin_capability(&plus),
            format!("{BASE} XFOO XBAR LITERAL+ AUTH=PLAIN AUTH=LOGIN")
        );
        let replaced = CapabilityInputs {
            imap_capability: "IMAP4rev1 FOO",
            ..i.clone()
        };
        assert_eq!(
            prelogin_capability(&replaced),
            "IMAP4rev1 FOO AUTH=PLAIN AUTH=LOGIN"
        );
        let replaced_insecure = CapabilityInputs {
            secured: false,
            ..replaced
        };
        assert_eq!(
            prelogin_capability(&replaced_insecure),
            "IMAP4rev1 FOO LOGINDISABLED"
        );

        let minus = CapabilityInputs {
            imap_literal_minus: true,
            ..i.clone()
        };
        assert_eq!(
            prelogin_capability(&minus),
            format!("{BASE} LITERAL- AUTH=PLAIN AUTH=LOGIN")
        );

        let allow_plain = CapabilityInputs {
            secured: false,
            disable_plaintext_auth: false,
            ..i.clone()
        };
        assert_eq!(
            prelogin_capability(&allow_plain),
            format!("{BASE} LITERAL+ AUTH=PLAIN AUTH=LOGIN")
        );

        let cram = vec![
            mech("CRAM-MD5", false, false),
            mech("PLAIN", true, false),
            mech("LOGIN", true, false),
        ];
        let i = inputs(&cram);
        assert_eq!(
            prelogin_capability(&i),
            format!("{BASE} LITERAL+ AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN")
        );
        let insecure = CapabilityInputs {
            secured: false,
            ..i.clone()
        };
        assert_eq!(
            prelogin_capability(&insecure),
            format!("{BASE} LITERAL+ LOGINDISABLED AUTH=CRAM-MD5")
        );

        // Secured, but no PLAIN to run LOGIN with.
        let only_cram = vec![mech("CRAM-MD5", false, false)];
        assert_eq!(
            prelogin_capability(&inputs(&only_cram)),
            format!("{BASE} LITERAL+ LOGINDISABLED AUTH=CRAM-MD5")
        );

        // ssl = required: STARTTLS; unsecured clients see no mechanism at all.
        let required = CapabilityInputs {
            ssl: SslMode::Required,
            ..inputs(&cram)
        };
        assert_eq!(
            prelogin_capability(&required),
            format!("{BASE} LITERAL+ STARTTLS AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN")
        );
        let required_insecure = CapabilityInputs {
            secured: false,
            ..required.clone()
        };
        assert_eq!(
            prelogin_capability(&required_insecure),
            format!("{BASE} LITERAL+ STARTTLS LOGINDISABLED")
        );
        let yes_allow = CapabilityInputs {
            ssl: SslMode::Yes,
            secured: false,
            disable_plaintext_auth: false,
            ..inputs(&pl)
        };
        assert_eq!(
            prelogin_capability(&yes_allow),
            format!("{BASE} LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN")
        );
        // On a TLS connection STARTTLS is gone.
        let tls = CapabilityInputs {
            tls_active: true,
            ..yes_allow
        };
        assert_eq!(
            prelogin_capability(&tls),
            format!("{BASE} LITERAL+ AUTH=PLAIN AUTH=LOGIN")
        );
    }

    #[test]
    fn postlogin_list_follows_imap_capability() {
        let base = "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY \
                    THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT \
                    CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT \
                    SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY \
                    PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE";
        assert_eq!(
            postlogin_capability("", false, &[], false),
            format!("{base} LITERAL+")
        );
        assert_eq!(
            postlogin_capability("+XFOO", true, &[], true),
            format!("{base} XFOO LITERAL- SPECIAL-USE")
        );
        assert_eq!(
            postlogin_capability("", false, &["METADATA"], true),
            format!("{base} LITERAL+ METADATA SPECIAL-USE")
        );
        assert_eq!(
            postlogin_capability("IMAP4rev1 X", false, &["METADATA"], true),
            "IMAP4rev1 X"
        );
    }

    #[test]
    fn dovecot_form_drops_only_imap4rev2() {
        assert_eq!(
            as_dovecot_2_3(&format!("* OK [CAPABILITY {BASE} LITERAL+] ready.")),
            "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+] ready."
        );
        assert_eq!(as_dovecot_2_3("IMAP4rev1 IMAP4rev2"), "IMAP4rev1");
        assert_eq!(as_dovecot_2_3("IMAP4rev1 IMAP4rev2]"), "IMAP4rev1]");
        for unchanged in [
            "IMAP4rev1 IMAP4rev2X",
            "IMAP4rev2 IMAP4rev1",
            "IMAP4rev1 X IMAP4rev2",
        ] {
            assert_eq!(as_dovecot_2_3(unchanged), unchanged);
        }
    }

    #[test]
    fn private_mechanisms_are_never_advertised() {
        let mechs = vec![mech("APOP", false, true), mech("PLAIN", true, false)];
        assert_eq!(
            prelogin_capability(&inputs(&mechs)),
            format!("{BASE} LITERAL+ AUTH=PLAIN")
        );
    }

    /// What this build sends: no auth service and no TLS yet, so LOGINDISABLED and neither
    /// STARTTLS nor AUTH=, whatever the settings say.
    #[test]
    fn without_auth_and_tls() {
        for (secured, ssl) in [
            (true, SslMode::Yes),
            (false, SslMode::No),
            (true, SslMode::Required),
        ] {
            let i = CapabilityInputs {
                tls_available: false,
                secured,
                ssl,
                ..inputs(&[])
            };
            assert_eq!(
                prelogin_capability(&i),
                format!("{BASE} LITERAL+ LOGINDISABLED")
            );
        }
    }
}
