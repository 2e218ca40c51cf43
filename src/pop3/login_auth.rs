//! USER/PASS, APOP and AUTH before login: the SASL exchange relayed to the auth service,
//! with pop3-login's checks and replies (`-ERR [AUTH] ...`, `-ERR [SYS/TEMP] ...`).

use crate::auth::base64;
use crate::auth::client::AuthParams;
use crate::auth::request::Secured;
use crate::login::sasl::{self, SaslClient, SaslOutcome};
use crate::login::FailureKind;
use crate::net::{ClientStream, SslMode};

use super::login::{Disconnect, Outcome, Session, Step, MAX_AUTH_RESPONSE};

/// Dovecot's texts.
const AUTH_FAILED: &str = "Authentication failed.";
const PLAINTEXT_DISABLED: &str =
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

/// How Dovecot's pop3-login answers an authentication result.
enum Reply {
    /// `-ERR [AUTH] text` (the code is left out when the text has its own).
    Auth,
    /// `-ERR [SYS/TEMP] text`.
    TempFail,
    /// `-ERR text`.
    Plain,
}

impl Session<'_> {
    /// `USER name`: remembered for PASS, if plaintext logins are allowed here.
    pub(super) fn user(&mut self, args: &[u8]) -> Step {
        if !self.plaintext_allowed()? {
            if self.attempts.user.is_empty() {
                self.attempts.user = String::from_utf8_lossy(args).into_owned();
            }
            return Ok(());
        }
        self.last_user = Some(args.to_vec());
        self.line(b"+OK")
    }

    /// `PASS password`: PLAIN with the last USER's name.
    pub(super) fn pass(&mut self, args: &[u8]) -> Result<Outcome, Disconnect> {
        let Some(user) = self.last_user.take() else {
            // A client may ignore USER's error and only show PASS's.
            if self.plaintext_allowed()? {
                self.reply(false, "No username given.")?;
            }
            return Ok(Outcome::Continue);
        };
        let mut initial = vec![0u8];
        initial.extend_from_slice(&user);
        initial.push(0);
        initial.extend_from_slice(args);
        self.attempts.user = String::from_utf8_lossy(&user).into_owned();
        self.sasl("PLAIN", Some(initial), false)
    }

    /// `APOP name digest`: the private APOP mechanism with this session's challenge.
    pub(super) fn apop(&mut self, args: &[u8]) -> Result<Outcome, Disconnect> {
        let Some(challenge) = self.apop.as_ref().map(|a| a.text.clone()) else {
            self.verbose("APOP failed: APOP not enabled");
            self.reply(false, "APOP not enabled.")?;
            return Ok(Outcome::Continue);
        };
        let space = args.iter().position(|b| *b == b' ');
        let Some(space) = space.filter(|s| args.len() - s - 1 == 32) else {
            self.verbose("APOP failed: Invalid parameters");
            self.reply(false, "Invalid parameters.")?;
            return Ok(Outcome::Continue);
        };
        let Some(digest) = hex_decode(&args[space + 1..]) else {
            self.verbose("APOP failed: Invalid characters in MD5 response");
            self.reply(false, "Invalid characters in MD5 response.")?;
            return Ok(Outcome::Continue);
        };
        let user = &args[..space];
        let mut data = challenge.into_bytes();
        data.push(0);
        data.extend_from_slice(user);
        data.push(0);
        data.extend_from_slice(&digest);
        let reconnected = match (&self.auth, &self.apop) {
            (Some(auth), Some(apop)) => {
                auth.server_pid != apop.server_pid || auth.connect_uid != apop.connect_uid
            }
            _ => true,
        };
        if reconnected {
            // The challenge names an auth connection that is gone: it can't be verified.
            return Err(Disconnect::ApopReconnected);
        }
        self.attempts.user = String::from_utf8_lossy(user).into_owned();
        self.sasl("APOP", Some(data), true)
    }

    /// `AUTH` (the mechanism list, as Outlook asks) or `AUTH mech [initial-response]`.
    pub(super) fn auth_command(&mut self, args: &[u8]) -> Result<Outcome, Disconnect> {
        let mech_len = args.iter().position(|b| *b == b' ').unwrap_or(args.len());
        if mech_len == 0 {
            let mut text = String::from("+OK\r\n");
            for mech in self.advertised_mechanisms() {
                text.push_str(&mech);
                text.push_str("\r\n");
            }
            text.push('.');
            self.line(text.as_bytes())?;
            return Ok(Outcome::Continue);
        }
        let mech = String::from_utf8_lossy(&args[..mech_len]).to_ascii_uppercase();
        let initial = args.get(mech_len + 1..).unwrap_or(&[]);
        if initial.len() > MAX_AUTH_RESPONSE {
            return Err(Disconnect::AuthResponseTooLarge);
        }
        // No initial response, or `=` for an empty one; the response is checked once the
        // mechanism is known to be usable (as the auth service would).
        let initial = match initial {
            b"" => None,
            b"=" => Some(Ok(Vec::new())),
            data => Some(
                std::str::from_utf8(data)
                    .ok()
                    .and_then(|d| base64::decode(d).ok())
                    .ok_or(()),
            ),
        };
        self.sasl_checked(&mech, initial)
    }

    /// Dovecot's `client_check_plaintext_auth`: false (answered) when plaintext logins are
    /// not allowed on this connection.
    fn plaintext_allowed(&mut self) -> Result<bool, Disconnect> {
        let ssl_required = self.settings.ssl == SslMode::Required;
        if self.secured || (!self.settings.disable_plaintext_auth && !ssl_required) {
            return Ok(true);
        }
        self.verbose("Login failed: Plaintext authentication disabled");
        self.attempts.refused(FailureKind::PlaintextDisallowed);
        self.result(Reply::Auth, PLAINTEXT_DISABLED)?;
        Ok(false)
    }

    fn verbose(&self, message: &str) {
        if self.settings.auth_verbose {
            self.log(message);
        }
    }

    /// `initial` decoded, or `Err` for a response that was not base64.
    fn sasl_checked(
        &mut self,
        mech: &str,
        initial: Option<Result<Vec<u8>, ()>>,
    ) -> Result<Outcome, Disconnect> {
        match initial {
            Some(Err(())) => {
                if let Some(outcome) = self.refuse_early(mech, false)? {
                    return Ok(outcome);
                }
                // The auth service refuses it before any lookup (code=invalid_base64).
                self.attempts.mechanism = Some(mech.to_string());
                self.attempts.last_failure = Some(FailureKind::InvalidBase64);
                self.result(Reply::Auth, "Invalid base64 data in initial response")?;
                Ok(Outcome::Continue)
            }
            Some(Ok(data)) => self.sasl(mech, Some(data), false),
            None => self.sasl(mech, None, false),
        }
    }

    /// The checks before the auth service is asked (Dovecot's `client_auth_begin_common`
    /// and `sasl_server_auth_begin`); `Some` when the attempt was refused (and answered).
    fn refuse_early(&mut self, mech: &str, private: bool) -> Result<Option<Outcome>, Disconnect> {
        if !self.secured && self.settings.ssl == SslMode::Required {
            self.verbose("Login failed: SSL required for authentication");
            self.attempts.start();
            self.result(
                Reply::Auth,
                "Authentication not allowed until SSL/TLS is enabled.",
            )?;
            return Ok(Some(Outcome::Continue));
        }
        self.attempts.start();
        self.attempts.mechanism = Some(mech.to_string());
        self.attempts.aborted = false;
        if self.auth.is_none() {
            self.attempts.last_failure = Some(FailureKind::TempFail);
            self.result(
                Reply::TempFail,
                "Authentication is not available: the auth service cannot be reached.",
            )?;
            return Ok(Some(Outcome::Continue));
        }
        let offered = self
            .mechanisms()
            .into_iter()
            .find(|m| m.name == mech && (private || !m.private));
        let Some(offered) = offered else {
            self.fail(
                Some("Unsupported authentication mechanism."),
                Some(FailureKind::MechInvalid),
            )?;
            return Ok(Some(Outcome::Continue));
        };
        if !self.secured && self.settings.disable_plaintext_auth && offered.plaintext {
            self.fail(
                Some("Plaintext authentication disabled."),
                Some(FailureKind::PlaintextDisallowed),
            )?;
            return Ok(Some(Outcome::Continue));
        }
        Ok(None)
    }

    /// One authentication with `mech`: the checks, then the exchange with the auth service.
    fn sasl(
        &mut self,
        mech: &str,
        initial: Option<Vec<u8>>,
        private: bool,
    ) -> Result<Outcome, Disconnect> {
        if let Some(outcome) = self.refuse_early(mech, private)? {
            return Ok(outcome);
        }
        let params = self.auth_params();
        let Some(mut auth) = self.auth.take() else {
            return Err(Disconnect::AuthServiceFailed);
        };
        let outcome = sasl::relay(&mut auth, mech, &params, initial.as_deref(), self);
        self.auth = Some(auth);
        match outcome? {
            SaslOutcome::Success { id, user } => {
                let Some(auth) = self.auth.take() else {
                    return Err(Disconnect::AuthServiceFailed);
                };
                self.attempts.user = user.clone();
                Ok(Outcome::LoggedIn(self.logged_in(
                    user,
                    mech.to_string(),
                    auth,
                    id,
                )?))
            }
            SaslOutcome::ServiceFailed(e) => {
                log::error!("Auth service connection failed: {e}");
                self.auth = None;
                self.attempts.service_failed = true;
                self.result(Reply::TempFail, "Temporary authentication failure.")?;
                Ok(Outcome::Continue)
            }
            SaslOutcome::Aborted => {
                self.attempts.aborted = true;
                self.result(Reply::Plain, "Authentication aborted by client.")?;
                Ok(Outcome::Continue)
            }
            SaslOutcome::InvalidResponse => {
                self.fail(
                    Some("Invalid base64 in response"),
                    Some(FailureKind::InvalidBase64),
                )?;
                Ok(Outcome::Continue)
            }
            SaslOutcome::Refused { user, fields } => {
                if let Some(referral) = sasl::referral(&fields) {
                    // POP3 has no referrals: pop3-login just says the text.
                    self.result(Reply::Plain, referral.text)?;
                    return Ok(Outcome::Continue);
                }
                if let Some(user) = user {
                    self.attempts.user = user;
                }
                self.fail(sasl::reason(&fields), FailureKind::from_fields(&fields))?;
                Ok(Outcome::Continue)
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
            service: "pop3".into(),
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

    /// A failure, answered as pop3-login answers each kind (`pop3_client_auth_result`).
    fn fail(&mut self, reason: Option<&str>, kind: Option<FailureKind>) -> Step {
        self.attempts.last_failure = Some(kind.unwrap_or(FailureKind::Other));
        if self.settings.auth_verbose {
            let mech = self.attempts.mechanism.clone().unwrap_or_default();
            self.log(&format!(
                "Authenticate {mech} failed: {}",
                reason.unwrap_or(AUTH_FAILED)
            ));
        }
        match kind {
            Some(FailureKind::TempFail) => {
                let now = crate::log::timestamp("%Y-%m-%d %H:%M:%S");
                let host = crate::hostname::hostname().unwrap_or("localhost");
                self.result(
                    Reply::TempFail,
                    &format!("Temporary authentication failure. [{host}:{now}]"),
                )
            }
            Some(FailureKind::AuthzFailed) => {
                self.result(Reply::Auth, reason.unwrap_or("Authorization failed"))
            }
            Some(FailureKind::LoginDisabled) => self.result(
                Reply::Auth,
                reason.unwrap_or("Login disabled for this user"),
            ),
            Some(FailureKind::PlaintextDisallowed) => {
                self.result(Reply::Auth, reason.unwrap_or(PLAINTEXT_DISABLED))
            }
            _ => self.result(Reply::Auth, reason.unwrap_or(AUTH_FAILED)),
        }
    }

    /// Dovecot's `client_send_reply` for an authentication result.
    fn result(&mut self, reply: Reply, text: &str) -> Step {
        let line = match reply {
            Reply::Auth if text.starts_with('[') => format!("-ERR {text}"),
            Reply::Auth => format!("-ERR [AUTH] {text}"),
            Reply::TempFail => format!("-ERR [SYS/TEMP] {text}"),
            Reply::Plain => format!("-ERR {text}"),
        };
        self.line(line.as_bytes())
    }
}

impl SaslClient for Session<'_> {
    type Error = Disconnect;

    fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, Disconnect> {
        let challenge = format!("+ {}", base64::encode(data));
        self.line(challenge.as_bytes())?;
        self.flush()?;
        let line = self.read_line()?;
        if line.len() > MAX_AUTH_RESPONSE {
            return Err(Disconnect::AuthResponseTooLarge);
        }
        Ok(line)
    }
}

/// 32 hex digits as 16 bytes.
fn hex_decode(hex: &[u8]) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    hex.chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(hex_decode(b"00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(hex_decode(b"0g"), None);
        assert_eq!(hex_decode(b"+f"), None);
    }
}
