//! LOGIN and AUTHENTICATE before login: imap-login's parsing of the commands and its replies
//! and response codes (`[AUTHENTICATIONFAILED]`, `[UNAVAILABLE]`, `[PRIVACYREQUIRED]`, ...)
//! to an authentication run by [`crate::login::authenticate`].

use crate::auth::base64;
use crate::imap::parser::LineEnd;
use crate::login::authenticate::{
    authenticate, AuthReplies, Authenticated, Login, AUTH_FAILED, PLAINTEXT_DISABLED,
};
use crate::login::connection::Outcome;
use crate::login::proxy::{DefaultPorts, ProxyFailure};
use crate::login::sasl::{self, SaslClient};
use crate::login::{FailureKind, LoginEnd, SessionEnd};

use super::proxy::{failure_reply, ImapDialogue};

use super::prelogin::{Disconnect, Session, Step, MAX_AUTH_RESPONSE};

impl Session<'_> {
    /// `LOGIN user pass`: PLAIN with the two arguments, if plaintext logins are allowed here.
    pub(super) fn login(
        &mut self,
        tag: &str,
        user: &[u8],
        pass: &[u8],
    ) -> Result<Outcome, Disconnect> {
        if !self.c.plaintext_allowed() {
            self.c.refuse_plaintext(Some(user));
            self.line(
                b"* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your \
                  client did it anyway. If anyone was listening, the password was exposed.",
            )?;
            self.tagged(
                tag,
                "NO",
                &format!("[PRIVACYREQUIRED] {PLAINTEXT_DISABLED}"),
            )?;
            return Ok(Outcome::Continue);
        }
        let mut initial = vec![0u8];
        initial.extend_from_slice(user);
        initial.push(0);
        initial.extend_from_slice(pass);
        self.c.attempts.user = String::from_utf8_lossy(user).into_owned();
        self.sasl(tag, "PLAIN", Some(&initial))
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
            return Err(SessionEnd::AuthResponseTooLarge.into());
        }
        // Dovecot: no initial response, or `=` for an empty one.
        let initial = match initial {
            b"" => None,
            b"=" => Some(Vec::new()),
            data => match std::str::from_utf8(data).ok().map(base64::decode) {
                Some(Ok(decoded)) => Some(decoded),
                _ => {
                    // The auth service refuses it before any lookup (code=invalid_base64).
                    self.c.attempts.refused(FailureKind::InvalidBase64);
                    self.c.attempts.mechanism = Some(mech);
                    self.tagged(tag, "BAD", "Invalid base64 data in initial response")?;
                    return Ok(Outcome::Continue);
                }
            },
        };
        self.sasl(tag, &mech, initial.as_deref())
    }

    /// One authentication with `mech`, answered for the command tagged `tag`.
    fn sasl(
        &mut self,
        tag: &str,
        mech: &str,
        initial: Option<&[u8]>,
    ) -> Result<Outcome, Disconnect> {
        self.auth_tag = tag.to_string();
        match authenticate(self, mech, initial, false)? {
            None => Ok(Outcome::Continue),
            Some(Login::Local(Authenticated { user, id, auth })) => {
                let login = self.logged_in(tag, user, mech.to_string(), auth, id)?;
                Ok(Outcome::Finished(LoginEnd::Mail(login)))
            }
            Some(Login::Proxied(proxied)) => Ok(Outcome::Finished(self.c.proxied(proxied)?)),
        }
    }

    /// The tagged answer to the authentication command being run.
    fn auth_reply(&mut self, status: &str, text: &str) -> Step {
        let tag = self.auth_tag.clone();
        self.tagged(&tag, status, text)
    }
}

/// Dovecot's `imap_client_auth_result`.
impl<'a> AuthReplies<'a> for Session<'a> {
    fn ssl_required(&mut self) -> Step {
        self.auth_reply(
            "NO",
            "[PRIVACYREQUIRED] Authentication not allowed until SSL/TLS is enabled.",
        )
    }

    fn temp_failed(&mut self, text: &str) -> Step {
        self.auth_reply("NO", &format!("[UNAVAILABLE] {text}"))
    }

    fn limit_reached(&mut self, text: &str) -> Step {
        self.auth_reply("NO", &format!("[LIMIT] {text}"))
    }

    fn aborted(&mut self) -> Step {
        self.auth_reply("BAD", "Authentication aborted by client.")
    }

    /// Dovecot's `imap_client_auth_result` for a referral.
    fn referred(&mut self, user: &str, mech: &str, referral: &sasl::Referral<'_>) -> Step {
        let url = referral_url(user, mech, referral.host, referral.port);
        let status = if referral.nologin { "NO" } else { "OK" };
        self.auth_reply(status, &format!("[REFERRAL {url}] {}", referral.text))
    }

    type Dialogue = ImapDialogue;

    fn dialogue(&self) -> ImapDialogue {
        ImapDialogue::new(
            self.c.conn.clone(),
            &self.auth_tag,
            self.capability_requested,
        )
    }

    fn default_ports(&self) -> DefaultPorts {
        DefaultPorts {
            plain: 143,
            ssl: 993,
        }
    }

    fn proxy_failed(&mut self, failure: &ProxyFailure) -> Step {
        let reply = failure_reply(&self.auth_tag, failure);
        self.line(reply.as_bytes())
    }

    fn failed(&mut self, reason: Option<&str>, kind: Option<FailureKind>) -> Step {
        let (status, text) = match kind {
            Some(FailureKind::AuthzFailed) => (
                "NO",
                format!(
                    "[AUTHORIZATIONFAILED] {}",
                    reason.unwrap_or("Authorization failed")
                ),
            ),
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
        self.auth_reply(status, &text)
    }
}

impl SaslClient for Session<'_> {
    type Error = Disconnect;

    fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, Disconnect> {
        self.c.send_challenge(data)?;
        let (line, end) = self.read_line()?;
        if line.len() > MAX_AUTH_RESPONSE || end == LineEnd::Truncated {
            return Err(SessionEnd::AuthResponseTooLarge.into());
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
