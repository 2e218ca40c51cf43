//! LOGIN and AUTHENTICATE before login: the SASL exchange relayed to the auth service
//! (Dovecot's auth client protocol), with imap-login's checks, replies and response codes.
//!
//! The auth service does the waiting (`auth_failure_delay`) and decides; this side checks
//! what Dovecot's login process checks itself (TLS required, plaintext allowed, the
//! mechanism offered, the size and base64 of the client's responses) and turns the answer
//! into IMAP: `[AUTHENTICATIONFAILED]`, `[UNAVAILABLE]`, `[PRIVACYREQUIRED]`, ...

use crate::auth::base64;
use crate::auth::client::AuthParams;
use crate::auth::request::Secured;
use crate::imap::parser::LineEnd;
use crate::login::sasl::{self, SaslClient, SaslOutcome};
use crate::login::FailureKind;
use crate::net::{ClientStream, SslMode};

use super::prelogin::{Disconnect, Outcome, Session, MAX_AUTH_RESPONSE};

/// Dovecot's texts.
const AUTH_FAILED: &str = "Authentication failed.";
const PLAINTEXT_DISABLED: &str =
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

/// What one authentication round trip ended with, before it becomes an IMAP reply.
enum AuthEnd {
    Success {
        user: String,
        id: u32,
    },
    /// Already answered (abort, bad base64, a failure reply).
    Answered,
}

impl Session<'_> {
    /// `LOGIN user pass`: PLAIN with the two arguments, if plaintext logins are allowed here.
    pub(super) fn login(
        &mut self,
        tag: &str,
        user: &[u8],
        pass: &[u8],
    ) -> Result<Outcome, Disconnect> {
        if !self.plaintext_allowed(tag, Some(user))? {
            return Ok(Outcome::Continue);
        }
        let mut initial = vec![0u8];
        initial.extend_from_slice(user);
        initial.push(0);
        initial.extend_from_slice(pass);
        self.attempts.user = String::from_utf8_lossy(user).into_owned();
        self.sasl(tag, "PLAIN", Some(initial))
    }

    /// `AUTHENTICATE mech [initial-response]`, `rest` being the command line after the
    /// command name (read raw, as Dovecot does).
    pub(super) fn authenticate(
        &mut self,
        tag: &str,
        rest: &[u8],
        end: LineEnd,
    ) -> Result<Outcome, Disconnect> {
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        let mech_len = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
        if mech_len == 0 {
            self.invalid_command(tag)?;
            self.rest(end)?;
            return Ok(Outcome::Continue);
        }
        let mech = String::from_utf8_lossy(&rest[..mech_len]).to_ascii_uppercase();
        let initial = rest.get(mech_len + 1..).unwrap_or(&[]);
        if initial.len() > MAX_AUTH_RESPONSE || end == LineEnd::Truncated {
            return Err(Disconnect::AuthResponseTooLarge);
        }
        // Dovecot: no initial response, or `=` for an empty one.
        let initial = match initial {
            b"" => None,
            b"=" => Some(Vec::new()),
            data => match std::str::from_utf8(data).ok().map(base64::decode) {
                Some(Ok(decoded)) => Some(decoded),
                _ => {
                    // The auth service refuses it before any lookup (code=invalid_base64).
                    self.attempts.refused(FailureKind::InvalidBase64);
                    self.attempts.mechanism = Some(mech);
                    self.tagged(tag, "BAD", "Invalid base64 data in initial response")?;
                    return Ok(Outcome::Continue);
                }
            },
        };
        self.sasl(tag, &mech, initial)
    }

    /// Dovecot's `client_check_plaintext_auth` for LOGIN: on an insecure connection with
    /// plaintext logins disabled the password was sent in the clear anyway; say so.
    fn plaintext_allowed(&mut self, tag: &str, user: Option<&[u8]>) -> Result<bool, Disconnect> {
        let ssl_required = self.settings.ssl == SslMode::Required;
        if self.secured || (!self.settings.disable_plaintext_auth && !ssl_required) {
            return Ok(true);
        }
        if self.settings.auth_verbose {
            self.log("Login failed: Plaintext authentication disabled");
        }
        self.line(
            b"* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your \
              client did it anyway. If anyone was listening, the password was exposed.",
        )?;
        self.tagged(
            tag,
            "NO",
            &format!("[PRIVACYREQUIRED] {PLAINTEXT_DISABLED}"),
        )?;
        self.attempts.refused(FailureKind::PlaintextDisallowed);
        if self.attempts.user.is_empty() {
            if let Some(user) = user {
                self.attempts.user = String::from_utf8_lossy(user).into_owned();
            }
        }
        Ok(false)
    }

    /// One authentication with `mech`: the checks, then the exchange with the auth service.
    fn sasl(
        &mut self,
        tag: &str,
        mech: &str,
        initial: Option<Vec<u8>>,
    ) -> Result<Outcome, Disconnect> {
        if !self.secured && self.settings.ssl == SslMode::Required {
            if self.settings.auth_verbose {
                self.log("Login failed: SSL required for authentication");
            }
            self.attempts.start();
            self.tagged(
                tag,
                "NO",
                "[PRIVACYREQUIRED] Authentication not allowed until SSL/TLS is enabled.",
            )?;
            return Ok(Outcome::Continue);
        }
        self.attempts.start();
        self.attempts.mechanism = Some(mech.to_string());
        self.attempts.aborted = false;
        if self.auth.is_none() {
            self.attempts.last_failure = Some(FailureKind::TempFail);
            self.tagged(
                tag,
                "NO",
                "[UNAVAILABLE] Authentication is not available: the auth service cannot be reached.",
            )?;
            return Ok(Outcome::Continue);
        }
        let offered = self
            .mechanisms()
            .into_iter()
            .find(|m| m.name == mech && !m.private);
        let Some(offered) = offered else {
            self.fail(
                tag,
                Some("Unsupported authentication mechanism."),
                Some(FailureKind::MechInvalid),
            )?;
            return Ok(Outcome::Continue);
        };
        if !self.secured && self.settings.disable_plaintext_auth && offered.plaintext {
            self.fail(
                tag,
                Some("Plaintext authentication disabled."),
                Some(FailureKind::PlaintextDisallowed),
            )?;
            return Ok(Outcome::Continue);
        }
        match self.exchange(tag, mech, initial)? {
            AuthEnd::Answered => Ok(Outcome::Continue),
            AuthEnd::Success { user, id } => {
                let Some(auth) = self.auth.take() else {
                    return Err(Disconnect::AuthServiceFailed);
                };
                self.attempts.user = user.clone();
                Ok(Outcome::LoggedIn(self.logged_in(
                    tag,
                    user,
                    mech.to_string(),
                    auth,
                    id,
                )?))
            }
        }
    }

    fn auth_params(&self) -> AuthParams {
        let (valid_client_cert, cert_username) = match &self.stream {
            ClientStream::Tls(tls) => {
                let tls = tls.borrow();
                (tls.has_valid_client_cert(), tls.cert_username())
            }
            ClientStream::Plain(_) => (false, None),
        };
        AuthParams {
            service: "imap".into(),
            local_ip: Some(self.conn.local.ip()),
            remote_ip: Some(self.conn.remote.ip()),
            local_port: self.conn.local.port(),
            remote_port: self.conn.remote.port(),
            secured: if self.stream.is_tls() {
                Secured::Tls
            } else if self.secured {
                Secured::Yes
            } else {
                Secured::No
            },
            session: Some(self.conn.session_id.clone()),
            valid_client_cert,
            cert_username,
            ..AuthParams::default()
        }
    }

    /// The rounds with the auth service (see [`sasl::relay`]), answered the IMAP way.
    fn exchange(
        &mut self,
        tag: &str,
        mech: &str,
        initial: Option<Vec<u8>>,
    ) -> Result<AuthEnd, Disconnect> {
        let params = self.auth_params();
        let Some(mut auth) = self.auth.take() else {
            return Err(Disconnect::AuthServiceFailed);
        };
        let outcome = sasl::relay(&mut auth, mech, &params, initial.as_deref(), self);
        self.auth = Some(auth);
        match outcome? {
            SaslOutcome::Success { id, user } => Ok(AuthEnd::Success { user, id }),
            SaslOutcome::ServiceFailed(e) => {
                log::error!("Auth service connection failed: {e}");
                self.auth = None;
                self.attempts.service_failed = true;
                self.tagged(tag, "NO", "[UNAVAILABLE] Temporary authentication failure.")?;
                Ok(AuthEnd::Answered)
            }
            SaslOutcome::Aborted => {
                self.attempts.aborted = true;
                self.tagged(tag, "BAD", "Authentication aborted by client.")?;
                Ok(AuthEnd::Answered)
            }
            SaslOutcome::InvalidResponse => {
                self.fail(
                    tag,
                    Some("Invalid base64 in response"),
                    Some(FailureKind::InvalidBase64),
                )?;
                Ok(AuthEnd::Answered)
            }
            SaslOutcome::Refused { user, fields } => {
                if let Some(referral) = sasl::referral(&fields) {
                    // Dovecot's `imap_client_auth_result` for a referral; either way the
                    // client stays here, not logged in.
                    let user = referral.destuser.or(user.as_deref()).unwrap_or_default();
                    let url = referral_url(user, mech, referral.host, referral.port);
                    let status = if referral.nologin { "NO" } else { "OK" };
                    self.tagged(tag, status, &format!("[REFERRAL {url}] {}", referral.text))?;
                    return Ok(AuthEnd::Answered);
                }
                if let Some(user) = user {
                    self.attempts.user = user;
                }
                self.fail(
                    tag,
                    sasl::reason(&fields),
                    FailureKind::from_fields(&fields),
                )?;
                Ok(AuthEnd::Answered)
            }
        }
    }

    /// Dovecot's `imap_client_auth_result` for a failure.
    fn fail(
        &mut self,
        tag: &str,
        reason: Option<&str>,
        kind: Option<FailureKind>,
    ) -> Result<(), Disconnect> {
        self.attempts.last_failure = Some(kind.unwrap_or(FailureKind::Other));
        if self.settings.auth_verbose {
            let mech = self.attempts.mechanism.clone().unwrap_or_default();
            self.log(&format!(
                "Authenticate {mech} failed: {}",
                reason.unwrap_or(AUTH_FAILED)
            ));
        }
        let (status, text) = match kind {
            Some(FailureKind::AuthzFailed) => (
                "NO",
                format!(
                    "[AUTHORIZATIONFAILED] {}",
                    reason.unwrap_or("Authorization failed")
                ),
            ),
            Some(FailureKind::TempFail) => {
                let now = crate::log::timestamp("%Y-%m-%d %H:%M:%S");
                let host = crate::hostname::hostname().unwrap_or("localhost");
                (
                    "NO",
                    format!("[UNAVAILABLE] Temporary authentication failure. [{host}:{now}]"),
                )
            }
            Some(FailureKind::PassExpired) => {
                ("NO", format!("[EXPIRED] {}", reason.unwrap_or(AUTH_FAILED)))
            }
            Some(FailureKind::InvalidBase64) if reason != Some("Invalid base64 in response") => {
                ("BAD", reason.unwrap_or("Invalid base64 data").to_string())
            }
            Some(FailureKind::LoginDisabled) => (
                "NO",
                format!(
                    "[CONTACTADMIN] {}",
                    reason.unwrap_or("Login disabled for this user")
                ),
            ),
            Some(FailureKind::PlaintextDisallowed) => (
                "NO",
                format!("[PRIVACYREQUIRED] {}", reason.unwrap_or(PLAINTEXT_DISABLED)),
            ),
            _ => match reason {
                None => ("NO", format!("[AUTHENTICATIONFAILED] {AUTH_FAILED}")),
                Some(r) if r.starts_with('[') => ("NO", r.to_string()),
                Some(r) => ("NO", format!("[ALERT] {r}")),
            },
        };
        self.tagged(tag, status, &text)
    }
}

impl SaslClient for Session<'_> {
    type Error = Disconnect;

    fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, Disconnect> {
        let challenge = format!("+ {}", base64::encode(data));
        self.line(challenge.as_bytes())?;
        self.flush()?;
        let (line, end) = self.read_line()?;
        if line.len() > MAX_AUTH_RESPONSE || end == LineEnd::Truncated {
            return Err(Disconnect::AuthResponseTooLarge);
        }
        Ok(line)
    }
}

/// `imap://user;AUTH=mech@host[:port]/` (RFC 5092, as Dovecot's `imap_url_create` writes a
/// referral): the port when it is not 143.
fn referral_url(user: &str, mech: &str, host: &str, port: Option<u16>) -> String {
    fn user_data(out: &mut String, data: &str) {
        for &b in data.as_bytes() {
            // RFC 3986 userinfo characters, less `;` and `:` which the URL's syntax uses.
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,=".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut url = String::from("imap://");
    user_data(&mut url, user);
    url.push_str(";AUTH=");
    user_data(&mut url, mech);
    url.push('@');
    if host.contains(':') {
        url.push_str(&format!("[{host}]"));
    } else {
        url.push_str(host);
    }
    if let Some(port) = port.filter(|&p| p != 143) {
        url.push_str(&format!(":{port}"));
    }
    url.push('/');
    url
}

#[cfg(test)]
mod referral_tests {
    #[test]
    fn urls_as_dovecot_writes_them() {
        assert_eq!(
            super::referral_url("alice", "PLAIN", "imap.example", Some(143)),
            "imap://alice;AUTH=PLAIN@imap.example/"
        );
        assert_eq!(
            super::referral_url("a;b:c@d", "PLAIN", "::1", Some(1143)),
            "imap://a%3Bb%3Ac%40d;AUTH=PLAIN@[::1]:1143/"
        );
    }
}
