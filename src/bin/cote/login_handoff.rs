//! A login process's client, of any protocol, and where it goes after its login: to a mail
//! process over the protocol's `login/<protocol>` socket; a TLS client stays in the login
//! process, relayed in plaintext to the mail process.

use std::fmt::Display;
use std::net::TcpStream;

use cote::config::var_expand;
use cote::config::{Config, FilterQuery, Settings};
use cote::login::vars::{LoginLogFacts, LoginLogFormat};
use cote::login::{LoggedIn, LoginServices};
use cote::master::handoff::{self, HandoffRequest};
use cote::master::mail_login::{self, MailLogin};
use cote::master::{Connection, Stream};
use cote::net::tls::TlsServer;
use cote::net::{tls_proxy, ClientStream, ConnInfo};

/// `service <protocol>-login`, one connection: the protocol's settings for it (`settings`),
/// its session until login (`serve`), then the hand-over to `service <protocol>`, whose
/// failure the client hears as `internal_failure`.
pub fn serve_login_client<S, E: Display>(
    config: &Config,
    conn: Connection,
    protocol: &str,
    settings: impl FnOnce(&Settings, &ConnInfo) -> Result<S, E>,
    serve: impl FnOnce(TcpStream, &S, &ConnInfo, LoginServices) -> Option<Box<LoggedIn>>,
    internal_failure: fn(&mut ClientStream),
) {
    let Stream::Tcp(stream) = conn.stream else {
        log::error!(
            "Unix socket listeners are not supported for {} clients",
            protocol.to_ascii_uppercase()
        );
        return;
    };
    let mut info = match ConnInfo::from_stream(&stream, conn.listener.ssl) {
        Ok(info) => info,
        // The client went away between accept() and here: nothing to answer.
        Err(e) => {
            log::info!("Disconnected: {e}");
            return;
        }
    };
    let query = FilterQuery {
        protocol: Some(protocol.into()),
        local_ip: Some(info.local.ip()),
        remote_ip: Some(info.remote.ip()),
        local_name: None,
    };
    info.listener = conn.listener.name.clone();
    let filtered = config.settings(&query);
    let log_format = LoginLogFormat::from_settings(&filtered);
    let settings = match settings(&filtered, &info) {
        Ok(settings) => settings,
        Err(e) => {
            log::error!("{e}");
            return;
        }
    };
    let auth_socket = crate::base_dir_path(
        config,
        &format!("login/{}", auth_socket_name(config, protocol)),
    );
    let services = LoginServices {
        auth_socket: Some(&auth_socket),
        tls: TlsServer::get(),
        anvil: cote::login::anvil::login_anvil(),
        log_format: &log_format,
    };
    if let Some(login) = serve(stream, &settings, &info, services) {
        hand_over(config, *login, protocol, &log_format, internal_failure);
    }
}

/// The socket under base_dir/login that `service <protocol>-login` authenticates through:
/// the executable's argument (`imap-login director` for a director), else `login`.
fn auth_socket_name(config: &Config, protocol: &str) -> String {
    let service = format!("{protocol}-login");
    config
        .global()
        .sections("service")
        .iter()
        .rfind(|s| s.name() == service)
        .and_then(|s| {
            s.str("executable")
                .split_whitespace()
                .nth(1)
                .map(str::to_string)
        })
        .unwrap_or_else(|| "login".to_string())
}

/// Hands `login` to the mail process listening on `login/<protocol>` (relative to
/// base_dir); when that fails, the client gets the protocol's `internal_failure` words.
fn hand_over(
    config: &Config,
    login: LoggedIn,
    protocol: &str,
    log_format: &LoginLogFormat,
    internal_failure: fn(&mut ClientStream),
) {
    let conn = &login.conn;
    let request = HandoffRequest {
        auth_server_pid: login.auth.server_pid,
        auth_id: login.auth_id,
        cookie_hex: login.auth.cookie.clone(),
        local: conn.local,
        remote: conn.remote,
        secured: login.secured,
        tls: conn.tls,
        session_id: conn.session_id.clone(),
        prefix: login.prefix,
        input: login.input,
    };
    let (auth, auth_id) = (login.auth, login.auth_id);
    let tls_security = login.stream.tls_description();
    let line = |message: &str, mail_pid: Option<u32>| {
        let facts = LoginLogFacts {
            user: &login.user,
            mechanism: Some(&login.mechanism),
            mail_pid,
            secured: login.secured,
            tls_security: tls_security.as_deref(),
        };
        log_format.line(message, conn, protocol, &facts)
    };
    let socket = crate::base_dir_path(config, &format!("login/{protocol}"));
    match handoff::hand_over(&socket, request, login.stream) {
        Ok(delivered) => {
            log::info!("{}", line("Login", Some(delivered.mail_pid)));
            // The mail process has verified the login: the auth connection can go.
            drop(auth);
            if let Some((tls, plain)) = delivered.proxy {
                if let Err(e) = tls_proxy::proxy(tls.into_inner(), plain) {
                    log::error!("TLS proxy failed: {e}");
                }
            }
        }
        Err(failed) => {
            log::error!("{}", failed.error);
            let message = format!(
                "Disconnected: Internal login failure (pid={} id={auth_id})",
                std::process::id()
            );
            log::info!("{}", line(&message, None));
            if let Some(mut stream) = failed.stream {
                internal_failure(&mut stream);
            }
        }
    }
}

/// The mail process's side (`service imap`, `service pop3`): takes over one logged-in client
/// from the `login/<protocol>` socket, becomes the user, and returns the protocol's settings
/// for this client with the log prefix set. `None`: refused and logged.
pub fn take_over<'a>(
    config: &'a Config,
    conn: Connection,
    protocol: &str,
) -> Option<(Settings<'a>, MailLogin)> {
    let Stream::Unix(socket) = conn.stream else {
        log::error!("service {protocol}: only its login/{protocol} listener is supported");
        return None;
    };
    // imap-master serves imap-hibernate and doveadm in Dovecot; cote has neither yet.
    if conn.listener.name != format!("login/{protocol}") {
        log::error!(
            "service {protocol}: connections to {} are not supported yet",
            conn.listener.name
        );
        return None;
    }
    let login = mail_login::accept_login(config, socket, protocol)?;
    let settings = config.settings(&FilterQuery {
        protocol: Some(protocol.into()),
        local_ip: Some(login.request.local.ip()),
        remote_ip: Some(login.request.remote.ip()),
        local_name: None,
    });
    match var_expand::expand(settings.str("mail_log_prefix"), &login.vars) {
        Ok(prefix) => cote::log::set_prefix(&prefix),
        Err(e) => log::error!("Failed to expand mail_log_prefix: {e}"),
    }
    if settings.bool("verbose_proctitle") {
        // `ps` shows whose session this is, as Dovecot's imap and pop3 processes do.
        let who = login.proctitle_who();
        cote::master::proctitle::set_detail(Some(&format!("[{who}]")));
    }
    Some((settings, login))
}
