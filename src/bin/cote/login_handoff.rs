//! After a login, of any protocol: the client goes to a mail process over the protocol's
//! `login/<protocol>` socket; a TLS client stays in the login process, relayed in plaintext
//! to the mail process.

use cote::config::Config;
use cote::login::LoggedIn;
use cote::master::handoff::{self, HandoffRequest};
use cote::net::{tls_proxy, ClientStream};

/// Hands `login` to the mail process listening on `socket` (relative to base_dir); when
/// that fails, the client gets the protocol's `internal_failure` words.
pub fn hand_over(
    config: &Config,
    login: LoggedIn,
    socket: &str,
    internal_failure: fn(&mut ClientStream),
) {
    let LoggedIn {
        stream,
        conn,
        secured,
        user,
        mechanism,
        auth,
        auth_id,
        prefix,
        input,
    } = login;
    let request = HandoffRequest {
        auth_server_pid: auth.server_pid,
        auth_id,
        cookie_hex: auth.cookie.clone(),
        local: conn.local,
        remote: conn.remote,
        secured,
        tls: conn.tls,
        session_id: conn.session_id.clone(),
        prefix,
        input,
    };
    let elements =
        |mpid: Option<u32>| conn.login_log_elements(&user, Some(&mechanism), mpid, secured);
    let socket = crate::base_dir_path(config, socket);
    match handoff::hand_over(&socket, request, stream) {
        Ok(delivered) => {
            log::info!("Login: {}", elements(Some(delivered.mail_pid)));
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
            log::info!(
                "Disconnected: Internal login failure (pid={} id={auth_id}): {}",
                std::process::id(),
                elements(None)
            );
            if let Some(mut stream) = failed.stream {
                internal_failure(&mut stream);
            }
        }
    }
}
