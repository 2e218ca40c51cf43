//! imap-login's side of a proxied login (Dovecot's `imap-proxy.c`): the dialogue with the
//! backend (banner, `I ID` with the client's address when the backend is trusted, `S
//! STARTTLS`, `C CAPABILITY`, `L LOGIN` or `L AUTHENTICATE`), the answer the client gets
//! when the backend accepts (its capabilities in the tagged OK), and the answers for each kind
//! of failure.

use crate::auth::base64;
use crate::log::str_sanitize;
use crate::login::authenticate::AUTH_FAILED;
use crate::login::proxy::{
    BackendDialogue, BackendTls, DialogueError, FailureKind, ProxyFailure, ProxyMech, ProxyTarget,
    PROXY_FAILURE_MSG,
};
use crate::mail::quote::append_nstring;
use crate::net::backend::Backend;
use crate::net::ConnInfo;

/// What a backend line is about, as far as the dialogue has come (Dovecot's received state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Received {
    None,
    Banner,
    Id,
    StartTls,
    Capability,
    AuthContinue,
}

/// One attempt at logging in to an IMAP backend for a client.
#[derive(Debug, Clone)]
pub struct ImapDialogue {
    /// The client's connection, for ID.
    conn: ConnInfo,
    /// The tag of the client's LOGIN/AUTHENTICATE, for its answer.
    tag: String,
    /// The client asked CAPABILITY before logging in: it gets the backend's list untagged.
    client_ignores_capability_code: bool,
    backend_capability: Option<String>,
    sasl_ir: bool,
    logindisabled: bool,
    capability_sent: bool,
    /// Sent, not yet answered: ID, STARTTLS, CAPABILITY, AUTHENTICATE, continuation, LOGIN.
    sent: [bool; 6],
    received: Received,
    /// LOGIN mechanism: the challenges answered so far.
    login_step: u8,
    /// Untagged lines from the backend, passed on to the client with the answer.
    untagged: Vec<u8>,
}

const SENT_NAMES: [&str; 6] = [
    "id",
    "starttls",
    "capability",
    "authenticate",
    "auth-continue",
    "login",
];
const ID: usize = 0;
const STARTTLS: usize = 1;
const CAPABILITY: usize = 2;
const AUTHENTICATE: usize = 3;
const AUTH_CONTINUE: usize = 4;
const LOGIN: usize = 5;

impl ImapDialogue {
    pub fn new(conn: ConnInfo, tag: &str, client_ignores_capability_code: bool) -> Self {
        ImapDialogue {
            conn,
            tag: tag.to_string(),
            client_ignores_capability_code,
            backend_capability: None,
            sasl_ir: false,
            logindisabled: false,
            capability_sent: false,
            sent: [false; 6],
            received: Received::None,
            login_step: 0,
            untagged: Vec::new(),
        }
    }

    fn id_command(&self, target: &ProxyTarget) -> Vec<u8> {
        let c = &self.conn;
        let mut out = format!(
            "I ID (\"x-session-id\" \"{}\" \"x-originating-ip\" \"{}\" \"x-originating-port\" \
             \"{}\" \"x-connected-ip\" \"{}\" \"x-connected-port\" \"{}\" \"x-proxy-ttl\" \"{}\"",
            c.session_id,
            c.remote.ip(),
            c.remote.port(),
            c.local.ip(),
            c.local.port(),
            c.proxy_ttl.saturating_sub(1)
        )
        .into_bytes();
        for (key, value) in &target.forward {
            out.push(b' ');
            append_nstring(&mut out, Some(format!("x-forward-{key}").as_bytes()));
            out.push(b' ');
            append_nstring(&mut out, Some(value.as_bytes()));
        }
        out.extend_from_slice(b")\r\n");
        out
    }

    /// `S STARTTLS` when `starttls=` asks for it: `Ok(true)` when sent.
    fn starttls(&mut self, target: &ProxyTarget, out: &mut Vec<u8>) -> Result<bool, ProxyFailure> {
        if target.tls != BackendTls::StartTls {
            return Ok(false);
        }
        if let Some(caps) = &self.backend_capability {
            if !has_capability(caps, "STARTTLS") {
                return Err(ProxyFailure::new(
                    FailureKind::RemoteConfig,
                    "STARTTLS not supported",
                ));
            }
        }
        out.extend_from_slice(b"S STARTTLS\r\n");
        self.sent[STARTTLS] = true;
        Ok(true)
    }

    /// The login command (after `C CAPABILITY` when the capabilities are not known).
    fn login_command(
        &mut self,
        target: &ProxyTarget,
        out: &mut Vec<u8>,
    ) -> Result<(), ProxyFailure> {
        if !self.capability_sent
            && (self.backend_capability.is_none() || self.client_ignores_capability_code)
        {
            self.capability_sent = true;
            self.sent[CAPABILITY] = true;
            out.extend_from_slice(b"C CAPABILITY\r\n");
            if target.nopipelining {
                return Ok(());
            }
        }
        match target.mech {
            None => {
                if self.logindisabled && target.tls == BackendTls::No {
                    return Err(ProxyFailure::new(
                        FailureKind::RemoteConfig,
                        "LOGINDISABLED advertised, but SSL/TLS not enabled",
                    ));
                }
                out.extend_from_slice(b"L LOGIN ");
                append_nstring(out, Some(target.user.as_bytes()));
                out.push(b' ');
                append_nstring(out, Some(target.password.as_bytes()));
                out.extend_from_slice(b"\r\n");
                self.sent[LOGIN] = true;
            }
            Some(ProxyMech::Plain) => {
                out.extend_from_slice(b"L AUTHENTICATE PLAIN");
                if self.sasl_ir {
                    out.push(b' ');
                    out.extend_from_slice(base64::encode(&target.plain_response()).as_bytes());
                }
                out.extend_from_slice(b"\r\n");
                self.sent[AUTHENTICATE] = true;
            }
            Some(ProxyMech::Login) => {
                out.extend_from_slice(b"L AUTHENTICATE LOGIN\r\n");
                self.sent[AUTHENTICATE] = true;
            }
        }
        Ok(())
    }

    fn banner(&mut self, line: &str, target: &ProxyTarget) -> Result<Vec<u8>, ProxyFailure> {
        let Some(rest) = line.strip_prefix("* OK ") else {
            return Err(ProxyFailure::new(
                FailureKind::Protocol,
                format!("Invalid banner: {}", str_sanitize(line.as_bytes(), 160)),
            ));
        };
        let mut out = Vec::new();
        if let Some(caps) = rest.strip_prefix("[CAPABILITY ") {
            let caps = caps.split(']').next().unwrap_or("");
            self.sasl_ir = has_capability(caps, "SASL-IR");
            self.logindisabled = has_capability(caps, "LOGINDISABLED");
            self.backend_capability = Some(caps.to_string());
            if has_capability(caps, "ID") && !target.not_trusted {
                self.sent[ID] = true;
                out.extend_from_slice(&self.id_command(target));
                if target.nopipelining {
                    return Ok(out);
                }
            }
        }
        if !self.starttls(target, &mut out)? {
            self.login_command(target, &mut out)?;
        }
        Ok(out)
    }

    /// Dovecot's `client_send_login_reply`: the client's tagged OK, with the backend's
    /// capabilities in it (or untagged first, for a client that asked CAPABILITY).
    fn login_reply(&self, text: &str) -> Vec<u8> {
        let mut capability = self.backend_capability.as_deref();
        let tagged = text
            .get(..12)
            .is_some_and(|p| p.eq_ignore_ascii_case("[CAPABILITY "));
        if tagged {
            capability = text[12..].split(']').next();
        }
        let mut out = self.untagged.clone();
        if let (true, Some(caps)) = (self.client_ignores_capability_code, capability) {
            out.extend_from_slice(format!("* CAPABILITY {caps}\r\n").as_bytes());
        }
        out.extend_from_slice(format!("{} OK ", self.tag).as_bytes());
        let mut text = text;
        if let (false, false, Some(caps)) =
            (self.client_ignores_capability_code, tagged, capability)
        {
            out.extend_from_slice(format!("[CAPABILITY {caps}] ").as_bytes());
            if text.starts_with('[') {
                // Our capabilities replace the backend's response code.
                text = text.split_once(']').map_or("", |(_, t)| t);
                text = text.strip_prefix(' ').unwrap_or(text);
            }
        }
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The backend refused the login (`L NO ...`).
    fn login_failed(&self, line: &str) -> ProxyFailure {
        let log_line = line.strip_prefix("NO ").unwrap_or(line);
        let ours = format!("{} NO [AUTHENTICATIONFAILED] {AUTH_FAILED}", self.tag);
        let (kind, reply) = if line.starts_with("NO [AUTHENTICATIONFAILED]") {
            // Ours, not the backend's: its wording could tell which users exist.
            (FailureKind::Auth, Some(ours))
        } else if let Some(code) = line.strip_prefix("NO [") {
            let code = code.split(']').next().unwrap_or("");
            if code.eq_ignore_ascii_case("UNAVAILABLE") {
                (FailureKind::AuthTempfail, None)
            } else {
                (FailureKind::Auth, Some(format!("{} {line}", self.tag)))
            }
        } else {
            (FailureKind::Auth, Some(ours))
        };
        ProxyFailure {
            kind,
            reason: log_line.to_string(),
            client_reply: reply,
        }
    }
}

impl BackendDialogue for ImapDialogue {
    fn login(
        &mut self,
        backend: &mut Backend,
        target: &ProxyTarget,
    ) -> Result<Vec<u8>, DialogueError> {
        loop {
            let line = backend.read_line()?;
            let mut out = Vec::new();
            if self.received == Received::None {
                self.received = Received::Banner;
                out = self.banner(&line, target)?;
            } else if let Some(challenge) = line.strip_prefix('+') {
                if !self.sent[AUTHENTICATE] && !self.sent[AUTH_CONTINUE] {
                    // A literal in LOGIN was accepted: nothing to answer.
                    continue;
                }
                self.sent[AUTHENTICATE] = false;
                self.received = Received::AuthContinue;
                let challenge = challenge.strip_prefix(' ').unwrap_or(challenge);
                let Ok(challenge) = base64::decode(challenge) else {
                    return Err(ProxyFailure::new(
                        FailureKind::Protocol,
                        "Invalid base64 data in AUTHENTICATE response",
                    )
                    .into());
                };
                let response = self.sasl_response(target, &challenge)?;
                out.extend_from_slice(base64::encode(&response).as_bytes());
                out.extend_from_slice(b"\r\n");
                self.sent[AUTH_CONTINUE] = true;
            } else if let Some(rest) = line.strip_prefix("S ") {
                self.sent[STARTTLS] = false;
                self.received = Received::StartTls;
                if !rest.starts_with("OK ") {
                    let reason = format!(
                        "STARTTLS failed: {}",
                        str_sanitize(rest.get(3..).unwrap_or("").as_bytes(), 160)
                    );
                    return Err(ProxyFailure::new(FailureKind::Remote, reason).into());
                }
                backend.start_tls(&target.host, target.any_cert)?;
                self.login_command(target, &mut out)?;
            } else if let Some(text) = line.strip_prefix("L OK ") {
                return Ok(self.login_reply(text));
            } else if let Some(rest) = line.strip_prefix("L ") {
                return Err(self.login_failed(rest).into());
            } else if line.len() >= 13 && line[..13].eq_ignore_ascii_case("* CAPABILITY ") {
                self.backend_capability = Some(line[13..].to_string());
            } else if let Some(rest) = line.strip_prefix("C ") {
                self.sent[CAPABILITY] = false;
                self.received = Received::Capability;
                if rest.starts_with("OK ") && !self.sent[AUTHENTICATE] && !self.sent[LOGIN] {
                    // Without pipelining the login waits for this answer.
                    self.login_command(target, &mut out)?;
                }
            } else if line.len() >= 2 && line[..2].eq_ignore_ascii_case("I ") {
                self.sent[ID] = false;
                self.received = Received::Id;
                if target.nopipelining && !self.starttls(target, &mut out)? {
                    self.login_command(target, &mut out)?;
                }
            } else if line.starts_with("* BYE ") {
                // The login failed inside the backend; its NO follows, and the client stays.
            } else if line.starts_with("* ") {
                self.untagged.extend_from_slice(line.as_bytes());
                self.untagged.extend_from_slice(b"\r\n");
            } else {
                log::error!(
                    "Unexpected input, ignoring: {}",
                    str_sanitize(line.as_bytes(), 160)
                );
            }
            if !out.is_empty() {
                backend.send(&out)?;
            }
        }
    }

    fn state(&self) -> String {
        let sent: Vec<&str> = SENT_NAMES
            .iter()
            .zip(self.sent)
            .filter(|(_, s)| *s)
            .map(|(n, _)| *n)
            .collect();
        let received = match self.received {
            Received::None => "none",
            Received::Banner => "banner",
            Received::Id => "id",
            Received::StartTls => "starttls",
            Received::Capability => "capability",
            Received::AuthContinue => "auth-continue",
        };
        format!("{}/{received}", sent.join("+"))
    }
}

impl ImapDialogue {
    /// The answer to an AUTHENTICATE challenge.
    fn sasl_response(
        &mut self,
        target: &ProxyTarget,
        challenge: &[u8],
    ) -> Result<Vec<u8>, ProxyFailure> {
        match target.mech {
            Some(ProxyMech::Plain) if challenge.is_empty() => Ok(target.plain_response()),
            Some(ProxyMech::Login) if self.login_step < 2 => {
                self.login_step += 1;
                Ok(if self.login_step == 1 {
                    target.user.clone().into_bytes()
                } else {
                    target.password.clone().into_bytes()
                })
            }
            _ => Err(ProxyFailure::new(
                FailureKind::Protocol,
                "Invalid authentication data: unexpected challenge",
            )),
        }
    }
}

fn has_capability(list: &str, name: &str) -> bool {
    list.split(' ').any(|c| c.eq_ignore_ascii_case(name))
}

/// The client's answer for a proxy failure (Dovecot's `imap_proxy_send_failure_reply`);
/// `None`: the answer was already chosen by the dialogue ([`ProxyFailure::client_reply`]).
pub fn failure_reply(tag: &str, failure: &ProxyFailure) -> String {
    if let Some(reply) = &failure.client_reply {
        return reply.clone();
    }
    match failure.kind {
        FailureKind::RemoteConfig | FailureKind::InternalConfig => {
            format!("{tag} NO [SERVERBUG] {PROXY_FAILURE_MSG}")
        }
        FailureKind::AuthTempfail => format!("{tag} NO {}", failure.reason),
        _ => format!("{tag} NO [UNAVAILABLE] {PROXY_FAILURE_MSG}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialogue(ignores: bool) -> ImapDialogue {
        let conn = ConnInfo::new(
            "127.0.0.1:143".parse().unwrap(),
            "127.0.0.9:5000".parse().unwrap(),
            false,
        );
        ImapDialogue::new(conn, "a1", ignores)
    }

    #[test]
    fn the_login_reply_carries_the_backends_capabilities() {
        let mut d = dialogue(false);
        d.backend_capability = Some("IMAP4rev1 IDLE".into());
        assert_eq!(
            d.login_reply("Logged in"),
            b"a1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n"
        );
        assert_eq!(
            d.login_reply("[CAPABILITY IMAP4rev1 X] Logged in"),
            b"a1 OK [CAPABILITY IMAP4rev1 X] Logged in\r\n"
        );
        let mut d = dialogue(true);
        d.backend_capability = Some("IMAP4rev1".into());
        assert_eq!(
            d.login_reply("Logged in"),
            b"* CAPABILITY IMAP4rev1\r\na1 OK Logged in\r\n"
        );
    }

    #[test]
    fn refusals_are_answered_as_dovecot_does() {
        let d = dialogue(false);
        let f = d.login_failed("NO [AUTHENTICATIONFAILED] No such user here.");
        assert_eq!(f.kind, FailureKind::Auth);
        assert_eq!(
            failure_reply("a1", &f),
            "a1 NO [AUTHENTICATIONFAILED] Authentication failed."
        );
        let f = d.login_failed("NO [UNAVAILABLE] Try later");
        assert_eq!(f.kind, FailureKind::AuthTempfail);
        assert_eq!(failure_reply("a1", &f), "a1 NO [UNAVAILABLE] Try later");
        let f = d.login_failed("NO [EXPIRED] Password expired");
        assert_eq!(failure_reply("a1", &f), "a1 NO [EXPIRED] Password expired");
        let f = d.login_failed("NO wrong");
        assert_eq!(
            failure_reply("a1", &f),
            "a1 NO [AUTHENTICATIONFAILED] Authentication failed."
        );
        let down = ProxyFailure::new(FailureKind::Connect, "connect() failed");
        assert_eq!(
            failure_reply("a1", &down),
            "a1 NO [UNAVAILABLE] Account is temporarily unavailable."
        );
    }
}
