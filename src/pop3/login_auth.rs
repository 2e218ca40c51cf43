//! USER/PASS, APOP and AUTH before login: the SASL exchange relayed to the auth service,
//! with pop3-login's checks and replies (`-ERR [AUTH] ...`, `-ERR [SYS/TEMP] ...`).

use crate::auth::base64;
use crate::login::authenticate::{
    authenticate, refused_early, AuthReplies, Authenticated, Login, AUTH_FAILED, PLAINTEXT_DISABLED,
};
use crate::login::connection::Outcome;
use crate::login::proxy::{DefaultPorts, ProxyFailure};
use crate::login::sasl::{self, SaslClient};
use crate::login::{FailureKind, LoginEnd, SessionEnd, MAX_AUTH_RESPONSE};

use super::login::{Disconnect, Session, Step};
use super::proxy::{failure_reply, Pop3Dialogue};

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
        if !self.plaintext_allowed(Some(args))? {
            return Ok(());
        }
        self.last_user = Some(args.to_vec());
        self.line(b"+OK")
    }

    /// `PASS password`: PLAIN with the last USER's name.
    pub(super) fn pass(&mut self, args: &[u8]) -> Result<Outcome, Disconnect> {
        let Some(user) = self.last_user.take() else {
            // A client may ignore USER's error and only show PASS's.
            if self.plaintext_allowed(None)? {
                self.reply(false, "No username given.")?;
            }
            return Ok(Outcome::Continue);
        };
        let mut initial = vec![0u8];
        initial.extend_from_slice(&user);
        initial.push(0);
        initial.extend_from_slice(args);
        self.c.attempts.user = String::from_utf8_lossy(&user).into_owned();
        self.sasl("PLAIN", Some(&initial), false)
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
        let reconnected = match (&self.c.auth, &self.apop) {
            (Some(auth), Some(apop)) => {
                auth.server_pid != apop.server_pid || auth.connect_uid != apop.connect_uid
            }
            _ => true,
        };
        if reconnected {
            // The challenge names an auth connection that is gone: it can't be verified.
            return Err(Disconnect::ApopReconnected);
        }
        self.c.attempts.user = String::from_utf8_lossy(user).into_owned();
        self.sasl("APOP", Some(&data), true)
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
            return Err(SessionEnd::AuthResponseTooLarge.into());
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
    /// not allowed on this connection; `user` is the name USER gave.
    fn plaintext_allowed(&mut self, user: Option<&[u8]>) -> Result<bool, Disconnect> {
        if self.c.plaintext_allowed() {
            return Ok(true);
        }
        self.c.refuse_plaintext(user);
        self.result(Reply::Auth, PLAINTEXT_DISABLED)?;
        Ok(false)
    }

    fn verbose(&self, message: &str) {
        self.c.verbose(message);
    }

    /// `initial` decoded, or `Err` for a response that was not base64.
    fn sasl_checked(
        &mut self,
        mech: &str,
        initial: Option<Result<Vec<u8>, ()>>,
    ) -> Result<Outcome, Disconnect> {
        match initial {
            Some(Err(())) => {
                if refused_early(self, mech, false)? {
                    return Ok(Outcome::Continue);
                }
                // The auth service refuses it before any lookup (code=invalid_base64).
                self.c.attempts.mechanism = Some(mech.to_string());
                self.c.attempts.last_failure = Some(FailureKind::InvalidBase64);
                self.result(Reply::Auth, "Invalid base64 data in initial response")?;
                Ok(Outcome::Continue)
            }
            Some(Ok(data)) => self.sasl(mech, Some(&data), false),
            None => self.sasl(mech, None, false),
        }
    }

    /// One authentication with `mech` (see [`authenticate`]).
    fn sasl(
        &mut self,
        mech: &str,
        initial: Option<&[u8]>,
        private: bool,
    ) -> Result<Outcome, Disconnect> {
        match authenticate(self, mech, initial, private)? {
            None => Ok(Outcome::Continue),
            Some(Login::Local(Authenticated { user, id, auth })) => {
                let logged_in = self
                    .c
                    .logged_in(user, mech.to_string(), auth, id, Vec::new())?;
                Ok(Outcome::Finished(LoginEnd::Mail(logged_in)))
            }
            Some(Login::Proxied(proxied)) => Ok(Outcome::Finished(self.c.proxied(proxied)?)),
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

/// Dovecot's `pop3_client_auth_result`.
impl<'a> AuthReplies<'a> for Session<'a> {
    fn ssl_required(&mut self) -> Step {
        self.result(
            Reply::Auth,
            "Authentication not allowed until SSL/TLS is enabled.",
        )
    }

    fn temp_failed(&mut self, text: &str) -> Step {
        self.result(Reply::TempFail, text)
    }

    fn limit_reached(&mut self, text: &str) -> Step {
        self.line(format!("-ERR [IN-USE] {text}").as_bytes())
    }

    fn aborted(&mut self) -> Step {
        self.result(Reply::Plain, "Authentication aborted by client.")
    }

    /// POP3 has no referrals: pop3-login just says the text.
    fn referred(&mut self, _user: &str, _mech: &str, referral: &sasl::Referral<'_>) -> Step {
        self.result(Reply::Plain, referral.text)
    }

    type Dialogue = Pop3Dialogue;

    fn dialogue(&self) -> Pop3Dialogue {
        Pop3Dialogue::new(self.c.conn.clone())
    }

    fn default_ports(&self) -> DefaultPorts {
        DefaultPorts {
            plain: 110,
            ssl: 995,
        }
    }

    fn proxy_failed(&mut self, failure: &ProxyFailure) -> Step {
        self.line(failure_reply(failure).as_bytes())
    }

    fn failed(&mut self, reason: Option<&str>, kind: Option<FailureKind>) -> Step {
        match kind {
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
}

impl SaslClient for Session<'_> {
    type Error = Disconnect;

    fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, Disconnect> {
        self.c.send_challenge(data)?;
        let line = self.read_line()?;
        if line.len() > MAX_AUTH_RESPONSE {
            return Err(SessionEnd::AuthResponseTooLarge.into());
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
