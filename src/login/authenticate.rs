//! One authentication of a login session, whatever the protocol: the checks Dovecot's login
//! process makes itself (`client_auth_begin_common`, `sasl_server_auth_begin`: TLS required,
//! the auth service reachable, the mechanism offered, plaintext allowed), the SASL rounds
//! relayed to the auth service ([`super::sasl`]), and the bookkeeping behind the disconnect
//! reasons. The auth service does the waiting (`auth_failure_delay`) and decides; the
//! protocol answers each outcome in its own words ([`AuthReplies`]).

use crate::auth::client::AuthClient;
use crate::director::session::RegisteredSession;
use crate::net::SslMode;

use super::connection::{LoginSession, SessionEnd};
use super::proxy::{self, BackendDialogue, DefaultPorts, ProxyClient, ProxyFailure, ProxyTarget};
use super::sasl::{self, SaslClient, SaslOutcome};
use super::FailureKind;

/// Dovecot's text for a failed authentication the auth service gave no reason for.
pub const AUTH_FAILED: &str = "Authentication failed.";
/// Dovecot's text for a password that came in the clear where that is not allowed.
pub const PLAINTEXT_DISABLED: &str =
    "Plaintext authentication disallowed on non-secure (SSL/TLS) connections.";

/// How a protocol answers the outcomes of an authentication. The bookkeeping is done when
/// these are called; they only write the protocol's reply.
pub trait AuthReplies<'a>:
    LoginSession<'a> + SaslClient<Error = <Self as LoginSession<'a>>::Disconnect>
{
    /// `ssl = required` and the connection is not secured.
    fn ssl_required(&mut self) -> Result<(), Self::Error>;
    /// A temporary failure (`[UNAVAILABLE]`, `[SYS/TEMP]`) saying `text`: no auth service
    /// to ask, or it failed.
    fn temp_failed(&mut self, text: &str) -> Result<(), Self::Error>;
    /// The user has too many sessions already (`[LIMIT]`, `[IN-USE]`), saying `text`.
    fn limit_reached(&mut self, text: &str) -> Result<(), Self::Error>;
    /// The client aborted the exchange (`*`).
    fn aborted(&mut self) -> Result<(), Self::Error>;
    /// The passdb refers the client to another server (`host` without `proxy`); `user`
    /// is the name to use there, `mech` the mechanism it authenticated with.
    fn referred(
        &mut self,
        user: &str,
        mech: &str,
        referral: &sasl::Referral<'_>,
    ) -> Result<(), Self::Error>;
    /// A refusal, of `kind` when it has its own answer (never `TempFail`: that is
    /// [`Self::temp_failed`]), with the auth service's (or the login process's) `reason`
    /// when there is one.
    fn failed(
        &mut self,
        reason: Option<&str>,
        kind: Option<FailureKind>,
    ) -> Result<(), Self::Error>;

    /// The protocol's login dialogue with a backend, for one attempt.
    type Dialogue: BackendDialogue + Clone;
    fn dialogue(&self) -> Self::Dialogue;
    /// The protocol's ports, for a proxy target without `port`.
    fn default_ports(&self) -> DefaultPorts;
    /// Proxying failed: the client's answer for `failure` (the session goes on).
    fn proxy_failed(&mut self, failure: &ProxyFailure) -> Result<(), Self::Error>;
}

/// How a successful authentication goes on.
pub enum Login {
    /// To a mail process here.
    Local(Authenticated),
    /// To the backend the auth service named, which accepted the login (its answer was
    /// sent to the client): the session becomes a relay.
    Proxied(Box<proxy::Proxied>),
}

/// A successful authentication.
pub struct Authenticated {
    pub user: String,
    /// The request id on `auth`, for the mail process to verify.
    pub id: u32,
    /// The auth connection, taken from the session: the login is over.
    pub auth: AuthClient,
}

/// Authenticates with `mech` and the decoded `initial` response: the checks, then the
/// exchange. `private`: a mechanism the auth service does not advertise may be used (APOP).
/// `None`: refused, and answered.
pub fn authenticate<'a, S: AuthReplies<'a>>(
    session: &mut S,
    mech: &str,
    initial: Option<&[u8]>,
    private: bool,
) -> Result<Option<Login>, S::Error> {
    if refused_early(session, mech, private)? {
        return Ok(None);
    }
    let connection = session.connection();
    let params = connection.auth_params();
    let Some(mut auth) = connection.auth.take() else {
        return Err(SessionEnd::AuthServiceFailed.into());
    };
    let outcome = sasl::relay(&mut auth, mech, &params, initial, session);
    let connection = session.connection();
    connection.auth = Some(auth);
    match outcome? {
        SaslOutcome::Success { id, user } => {
            let Some(auth) = connection.auth.take() else {
                return Err(SessionEnd::AuthServiceFailed.into());
            };
            connection.attempts.user = user.clone();
            if connection.userip_limit_reached(&user) {
                // Authenticated, but not let in: Dovecot's reply, and the session ends.
                let end = SessionEnd::UserIpLimit(connection.policy.userip_limit);
                connection.attempts.no_extra_reason = true;
                session.limit_reached(&end.to_string())?;
                session.connection().flush()?;
                return Err(end.into());
            }
            return Ok(Some(Login::Local(Authenticated { user, id, auth })));
        }
        SaslOutcome::Proxy { user, fields } => {
            connection.attempts.user = user.clone();
            connection.attempts.successes += 1;
            return proxy_login(session, &user, &fields);
        }
        SaslOutcome::ServiceFailed(e) => {
            log::error!("Auth service connection failed: {e}");
            connection.auth = None;
            connection.attempts.service_failed = true;
            session.temp_failed("Temporary authentication failure.")?;
        }
        SaslOutcome::Aborted => {
            connection.attempts.aborted = true;
            session.aborted()?;
        }
        SaslOutcome::InvalidResponse => fail(
            session,
            Some("Invalid base64 in response"),
            Some(FailureKind::InvalidBase64),
        )?,
        SaslOutcome::Refused { user, fields } => {
            if let Some(referral) = sasl::referral(&fields) {
                // Either way the client stays here, not logged in.
                let user = referral.destuser.or(user.as_deref()).unwrap_or_default();
                session.referred(user, mech, &referral)?;
                return Ok(None);
            }
            if let Some(user) = user {
                connection.attempts.user = user;
            }
            fail(
                session,
                sasl::reason(&fields),
                FailureKind::from_fields(&fields),
            )?;
        }
    }
    Ok(None)
}

/// Logs `user` in at the backend `fields` name; the client hears how it went.
fn proxy_login<'a, S: AuthReplies<'a>>(
    session: &mut S,
    user: &str,
    fields: &[(String, String)],
) -> Result<Option<Login>, S::Error> {
    let ports = session.default_ports();
    let dialogue = session.dialogue();
    let connection = session.connection();
    let policy = connection.policy.proxy;
    let target =
        ProxyTarget::from_fields(user, fields, ports, policy.timeout, connection.conn.local);
    let result = match &target {
        Ok(target) => {
            let client = ProxyClient {
                conn: &connection.conn,
                user,
                log: connection.log_wording(),
                auth_verbose: connection.policy.auth_verbose,
                max_reconnects: policy.max_reconnects,
                max_disconnect_delay: policy.max_disconnect_delay,
            };
            proxy::login(target, &client, || dialogue.clone())
        }
        Err(reason) => {
            log::error!(
                "{}",
                connection.log_line(&format!("proxy({user}): {reason}"))
            );
            Err(ProxyFailure::new(proxy::FailureKind::Internal, reason))
        }
    };
    match result {
        Ok(mut proxied) => {
            let connection = session.connection();
            if let (Ok(target), Some(socket)) = (&target, connection.services.auth_socket) {
                if target.director_placed {
                    match RegisteredSession::register(socket, &target.user) {
                        Ok(registered) => proxied.director = Some(registered),
                        // The session goes on; the director may move the user meanwhile.
                        Err(e) => log::error!(
                            "{}",
                            connection.log_line(&format!(
                                "proxy({user}): Can't register the session with the director: {}",
                                crate::errtext::connect_error_text(socket, &e)
                            ))
                        ),
                    }
                }
            }
            connection.raw(&proxied.reply)?;
            connection.flush()?;
            Ok(Some(Login::Proxied(Box::new(proxied))))
        }
        Err(failure) => {
            let attempts = &mut session.connection().attempts;
            match failure.kind {
                proxy::FailureKind::Auth | proxy::FailureKind::AuthTempfail => {
                    attempts.proxy_auth_failed = true;
                }
                _ => {}
            }
            session.proxy_failed(&failure)?;
            Ok(None)
        }
    }
}

/// The checks before the auth service is asked; `true` when the attempt was refused (and
/// answered). Counts the attempt either way.
pub fn refused_early<'a, S: AuthReplies<'a>>(
    session: &mut S,
    mech: &str,
    private: bool,
) -> Result<bool, S::Error> {
    let connection = session.connection();
    if !connection.secured && connection.policy.ssl == SslMode::Required {
        connection.verbose("Login failed: SSL required for authentication");
        connection.attempts.start();
        session.ssl_required()?;
        return Ok(true);
    }
    let attempts = &mut connection.attempts;
    attempts.start();
    attempts.mechanism = Some(mech.to_string());
    attempts.aborted = false;
    if connection.auth.is_none() {
        connection.attempts.last_failure = Some(FailureKind::TempFail);
        session
            .temp_failed("Authentication is not available: the auth service cannot be reached.")?;
        return Ok(true);
    }
    let offered = connection
        .mechanisms()
        .into_iter()
        .find(|m| m.name == mech && (private || !m.private));
    let refusal = match offered {
        None => (
            "Unsupported authentication mechanism.",
            FailureKind::MechInvalid,
        ),
        Some(m)
            if m.plaintext && !connection.secured && connection.policy.disable_plaintext_auth =>
        {
            (
                "Plaintext authentication disabled.",
                FailureKind::PlaintextDisallowed,
            )
        }
        Some(_) => return Ok(false),
    };
    fail(session, Some(refusal.0), Some(refusal.1))?;
    Ok(true)
}

/// A refusal: counted, logged when `auth_verbose` asks, answered.
fn fail<'a, S: AuthReplies<'a>>(
    session: &mut S,
    reason: Option<&str>,
    kind: Option<FailureKind>,
) -> Result<(), S::Error> {
    let connection = session.connection();
    connection.attempts.last_failure = Some(kind.unwrap_or(FailureKind::Other));
    let mech = connection.attempts.mechanism.clone().unwrap_or_default();
    connection.verbose(&format!(
        "Authenticate {mech} failed: {}",
        reason.unwrap_or(AUTH_FAILED)
    ));
    if kind == Some(FailureKind::TempFail) {
        // Where and when, for the admin the user asks.
        let now = crate::log::timestamp("%Y-%m-%d %H:%M:%S");
        let host = crate::hostname::hostname().unwrap_or("localhost");
        return session.temp_failed(&format!("Temporary authentication failure. [{host}:{now}]"));
    }
    session.failed(reason, kind)
}
