//! The authentication history of a login session and what Dovecot's disconnect line says
//! about it (`client_get_extra_disconnect_reason`): `(no auth attempts in 3 secs)`,
//! `(auth failed, 2 attempts in 5 secs)`, `(tried to use disallowed plaintext auth)`, ...

use std::time::Instant;

/// Failure kinds that have their own reply and disconnect reason (the auth service's
/// `code=`, or a refusal of the login process itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    AuthzFailed,
    TempFail,
    UserDisabled,
    PassExpired,
    InvalidBase64,
    LoginDisabled,
    MechInvalid,
    PlaintextDisallowed,
    Other,
}

impl FailureKind {
    /// The kind an auth service failure (FAIL, or OK with `nologin`) describes by its
    /// fields; `None`: a plain "authentication failed".
    pub fn from_fields(fields: &[(String, String)]) -> Option<FailureKind> {
        let code = fields
            .iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.as_str());
        match code {
            Some("authz_fail") => Some(FailureKind::AuthzFailed),
            Some("temp_fail") => Some(FailureKind::TempFail),
            Some("user_disabled") => Some(FailureKind::UserDisabled),
            Some("pass_expired") => Some(FailureKind::PassExpired),
            Some("invalid_base64") => Some(FailureKind::InvalidBase64),
            Some("auth_mech_invalid") => Some(FailureKind::MechInvalid),
            Some("auth_mech_ssl_required") => Some(FailureKind::PlaintextDisallowed),
            _ if fields.iter().any(|(k, _)| k == "nologin") => Some(FailureKind::LoginDisabled),
            _ => None,
        }
    }
}

/// What a login session's disconnect line says about authentication.
#[derive(Debug, Default)]
pub struct AuthAttempts {
    pub count: u32,
    pub first: Option<Instant>,
    /// The user name from the last attempt (`user=<...>` in log lines).
    pub user: String,
    /// The mechanism of the last attempt.
    pub mechanism: Option<String>,
    /// Dovecot's `code=` of the last failure, or the login-side reason.
    pub last_failure: Option<FailureKind>,
    /// The last attempt was aborted by the client (`*`).
    pub aborted: bool,
    /// The auth service could not be talked to.
    pub service_failed: bool,
    /// The disconnect reason says it all (Dovecot's `no_extra_disconnect_reason`).
    pub no_extra_reason: bool,
    /// The last login was refused by the backend it was proxied to.
    pub proxy_auth_failed: bool,
    /// Logins the auth service accepted but that did not go on (proxying failed).
    pub successes: u32,
}

impl AuthAttempts {
    /// Counts one more attempt.
    pub fn start(&mut self) {
        self.count += 1;
        self.first.get_or_insert_with(Instant::now);
    }

    /// Counts an attempt the login process refused itself for `kind`.
    pub fn refused(&mut self, kind: FailureKind) {
        self.start();
        self.last_failure = Some(kind);
    }

    /// Dovecot's parenthesized explanation after `Disconnected: <reason>`.
    /// `cert_required_without_tls`: `auth_ssl_require_client_cert` is set and the client
    /// never started TLS.
    pub fn disconnect_suffix(
        &self,
        accepted_at: Instant,
        cert_required_without_tls: bool,
    ) -> String {
        if self.no_extra_reason {
            return String::new();
        }
        if self.count == 0 {
            let secs = accepted_at.elapsed().as_secs();
            return format!("(no auth attempts in {secs} secs)");
        }
        if cert_required_without_tls {
            return "(cert required, client didn't start TLS)".into();
        }
        if self.aborted && self.count == 1 {
            return "(aborted authentication)".into();
        }
        if self.service_failed {
            return "(auth process communication failure)".into();
        }
        if self.proxy_auth_failed {
            return "(proxy dest auth failed)".into();
        }
        if self.successes > 0 {
            return format!("(internal failure, {} successful auths)", self.successes);
        }
        let secs = self.first.map_or(0, |t| t.elapsed().as_secs());
        match self.last_failure {
            Some(FailureKind::AuthzFailed) => {
                format!(
                    "(authorization failed, {} attempts in {secs} secs)",
                    self.count
                )
            }
            Some(FailureKind::TempFail) => "(auth service reported temporary failure)".into(),
            Some(FailureKind::UserDisabled) => "(user disabled)".into(),
            Some(FailureKind::PassExpired) => "(password expired)".into(),
            Some(FailureKind::InvalidBase64) => "(sent invalid base64 in response)".into(),
            Some(FailureKind::LoginDisabled) => "(login disabled)".into(),
            Some(FailureKind::MechInvalid) => "(tried to use unsupported auth mechanism)".into(),
            Some(FailureKind::PlaintextDisallowed) => {
                "(tried to use disallowed plaintext auth)".into()
            }
            Some(FailureKind::Other) | None => {
                format!("(auth failed, {} attempts in {secs} secs)", self.count)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kinds_from_fields() {
        assert_eq!(
            FailureKind::from_fields(&fields(&[("code", "temp_fail")])),
            Some(FailureKind::TempFail)
        );
        assert_eq!(
            FailureKind::from_fields(&fields(&[("nologin", ""), ("reason", "x")])),
            Some(FailureKind::LoginDisabled)
        );
        assert_eq!(FailureKind::from_fields(&fields(&[("user", "a")])), None);
    }

    #[test]
    fn suffixes() {
        let now = Instant::now();
        let mut a = AuthAttempts::default();
        assert_eq!(
            a.disconnect_suffix(now, false),
            "(no auth attempts in 0 secs)"
        );
        a.start();
        a.aborted = true;
        assert_eq!(a.disconnect_suffix(now, false), "(aborted authentication)");
        assert_eq!(
            a.disconnect_suffix(now, true),
            "(cert required, client didn't start TLS)"
        );
        a.aborted = false;
        a.refused(FailureKind::PlaintextDisallowed);
        assert_eq!(
            a.disconnect_suffix(now, false),
            "(tried to use disallowed plaintext auth)"
        );
        a.last_failure = Some(FailureKind::Other);
        assert_eq!(
            a.disconnect_suffix(now, false),
            "(auth failed, 2 attempts in 0 secs)"
        );
    }
}
