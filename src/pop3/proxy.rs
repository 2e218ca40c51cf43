//! pop3-login's side of a proxied login (Dovecot's `pop3-proxy.c`): the dialogue with the
//! backend (banner, `STLS`, `XCLIENT` with the client's address when the backend offers it
//! and is trusted, `USER`/`PASS` or `AUTH`), and the answers the client gets.

use crate::auth::base64;
use crate::log::str_sanitize;
use crate::login::authenticate::AUTH_FAILED;
use crate::login::proxy::{
    BackendDialogue, BackendTls, DialogueError, FailureKind, ProxyFailure, ProxyMech, ProxyTarget,
    PROXY_FAILURE_MSG,
};
use crate::net::backend::Backend;
use crate::net::ConnInfo;

/// Where the dialogue is (Dovecot's `pop3_proxy_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Banner,
    StartTls,
    Xclient,
    /// USER sent.
    Login1,
    /// PASS or AUTH sent.
    Login2,
}

/// One attempt at logging in to a POP3 backend for a client.
#[derive(Debug, Clone)]
pub struct Pop3Dialogue {
    conn: ConnInfo,
    state: State,
    /// The backend's banner offered XCLIENT.
    xclient: bool,
    /// AUTH LOGIN: the challenges answered so far.
    login_step: u8,
}

impl Pop3Dialogue {
    pub fn new(conn: ConnInfo) -> Self {
        Pop3Dialogue {
            conn,
            state: State::Banner,
            xclient: false,
            login_step: 0,
        }
    }

    /// XCLIENT (when offered and trusted), then USER or AUTH.
    fn login_commands(&mut self, target: &ProxyTarget) -> Vec<u8> {
        let mut out = Vec::new();
        if self.xclient && !target.not_trusted {
            let c = &self.conn;
            let mut line = format!(
                "XCLIENT ADDR={} PORT={} SESSION={} TTL={}",
                c.remote.ip(),
                c.remote.port(),
                c.session_id,
                c.proxy_ttl.saturating_sub(1)
            );
            if !target.forward.is_empty() {
                let forward: Vec<String> = target
                    .forward
                    .iter()
                    .map(|(k, v)| crate::auth::fields::tab_escape(&format!("{k}={v}")))
                    .collect();
                line.push_str(" FORWARD=");
                line.push_str(&base64::encode(forward.join("\t").as_bytes()));
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
            self.state = State::Xclient;
        } else {
            self.state = State::Login1;
        }
        match target.mech {
            None => out.extend_from_slice(format!("USER {}\r\n", target.user).as_bytes()),
            Some(mech) => {
                let initial = match mech {
                    ProxyMech::Plain => base64::encode(&target.plain_response()),
                    ProxyMech::Login => "=".to_string(),
                };
                let name = match mech {
                    ProxyMech::Plain => "PLAIN",
                    ProxyMech::Login => "LOGIN",
                };
                out.extend_from_slice(format!("AUTH {name} {initial}\r\n").as_bytes());
                if self.state != State::Xclient {
                    self.state = State::Login2;
                }
            }
        }
        out
    }

    /// The backend refused the login: Dovecot passes its `-ERR` line on.
    fn login_failed(line: &str) -> ProxyFailure {
        if !line.starts_with("-ERR ") {
            return ProxyFailure {
                kind: FailureKind::Auth,
                reason: line.to_string(),
                client_reply: Some(format!("-ERR {AUTH_FAILED}")),
            };
        }
        let reason = line[5..].to_string();
        if reason.starts_with("[SYS/TEMP]") {
            return ProxyFailure::new(FailureKind::AuthTempfail, reason);
        }
        ProxyFailure {
            kind: FailureKind::Auth,
            reason,
            client_reply: Some(line.to_string()),
        }
    }
}

impl BackendDialogue for Pop3Dialogue {
    fn login(
        &mut self,
        backend: &mut Backend,
        target: &ProxyTarget,
    ) -> Result<Vec<u8>, DialogueError> {
        loop {
            let line = backend.read_line()?;
            let out = match self.state {
                State::Banner => {
                    if !line.starts_with("+OK") {
                        let reason =
                            format!("Invalid banner: {}", str_sanitize(line.as_bytes(), 160));
                        return Err(ProxyFailure::new(FailureKind::Protocol, reason).into());
                    }
                    self.xclient = line[3..].starts_with(" [XCLIENT]");
                    if target.tls == BackendTls::StartTls {
                        self.state = State::StartTls;
                        b"STLS\r\n".to_vec()
                    } else {
                        self.login_commands(target)
                    }
                }
                State::StartTls => {
                    if !line.starts_with("+OK") {
                        let reason = format!("STLS failed: {}", str_sanitize(line.as_bytes(), 160));
                        return Err(ProxyFailure::new(FailureKind::Remote, reason).into());
                    }
                    backend.start_tls(&target.host, target.any_cert)?;
                    self.login_commands(target)
                }
                State::Xclient => {
                    if !line.starts_with("+OK") {
                        let reason =
                            format!("XCLIENT failed: {}", str_sanitize(line.as_bytes(), 160));
                        return Err(ProxyFailure::new(FailureKind::Remote, reason).into());
                    }
                    self.state = match target.mech {
                        None => State::Login1,
                        Some(_) => State::Login2,
                    };
                    Vec::new()
                }
                State::Login1 => {
                    if !line.starts_with("+OK") {
                        return Err(Self::login_failed(&line).into());
                    }
                    self.state = State::Login2;
                    format!("PASS {}\r\n", target.password).into_bytes()
                }
                State::Login2 => {
                    if let (Some(challenge), Some(mech)) = (line.strip_prefix("+ "), target.mech) {
                        let Ok(challenge) = base64::decode(challenge) else {
                            return Err(ProxyFailure::new(
                                FailureKind::Protocol,
                                "Invalid base64 data in AUTH response",
                            )
                            .into());
                        };
                        let response = match mech {
                            ProxyMech::Login if self.login_step < 2 => {
                                self.login_step += 1;
                                if self.login_step == 1 {
                                    target.user.as_bytes().to_vec()
                                } else {
                                    target.password.as_bytes().to_vec()
                                }
                            }
                            _ if !challenge.is_empty() || mech == ProxyMech::Login => {
                                return Err(ProxyFailure::new(
                                    FailureKind::Protocol,
                                    "Invalid authentication data: unexpected challenge",
                                )
                                .into())
                            }
                            _ => target.plain_response(),
                        };
                        let mut out = base64::encode(&response).into_bytes();
                        out.extend_from_slice(b"\r\n");
                        out
                    } else if line.starts_with("+OK") {
                        return Ok(format!("{line}\r\n").into_bytes());
                    } else {
                        return Err(Self::login_failed(&line).into());
                    }
                }
            };
            if !out.is_empty() {
                backend.send(&out)?;
            }
        }
    }

    fn state(&self) -> String {
        match self.state {
            State::Banner => "banner",
            State::StartTls => "starttls",
            State::Xclient => "xclient",
            State::Login1 => "login1",
            State::Login2 => "login2",
        }
        .to_string()
    }
}

/// The client's answer for a proxy failure (Dovecot's `pop3_proxy_send_failure_reply`).
pub fn failure_reply(failure: &ProxyFailure) -> String {
    if let Some(reply) = &failure.client_reply {
        return reply.clone();
    }
    match failure.kind {
        FailureKind::RemoteConfig | FailureKind::InternalConfig => {
            format!("-ERR {PROXY_FAILURE_MSG}")
        }
        // The backend's [SYS/TEMP] is in the reason already.
        FailureKind::AuthTempfail => format!("-ERR {}", failure.reason),
        _ => format!("-ERR [SYS/TEMP] {PROXY_FAILURE_MSG}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_answered_as_dovecot_does() {
        let f = Pop3Dialogue::login_failed("-ERR [AUTH] Authentication failed.");
        assert_eq!(f.kind, FailureKind::Auth);
        assert_eq!(failure_reply(&f), "-ERR [AUTH] Authentication failed.");
        let f = Pop3Dialogue::login_failed("-ERR [SYS/TEMP] later");
        assert_eq!(f.kind, FailureKind::AuthTempfail);
        assert_eq!(failure_reply(&f), "-ERR [SYS/TEMP] later");
        let f = Pop3Dialogue::login_failed("garbage");
        assert_eq!(failure_reply(&f), "-ERR Authentication failed.");
        let down = ProxyFailure::new(FailureKind::Connect, "x");
        assert_eq!(
            failure_reply(&down),
            "-ERR [SYS/TEMP] Account is temporarily unavailable."
        );
    }
}
