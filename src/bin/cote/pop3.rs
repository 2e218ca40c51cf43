//! `service pop3-login` and `service pop3`: POP3 before authentication, and the mail process
//! that takes a logged-in client over from it.

use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use cote::config::Config;
use cote::login::LoginSettings;
use cote::master::mail_login::MailLogin;
use cote::master::{Connection, Stream};
use cote::pop3::session::INTERNAL_ERROR;
use cote::pop3::{send_internal_failure, serve_login, serve_session, LoginEnd, Pop3Settings};

/// `service pop3-login`: one connection per call.
pub fn pop3_login(config: &Config, conn: Connection) {
    crate::login_handoff::serve_login_client(
        config,
        conn,
        "pop3",
        |settings, info| LoginSettings::from_settings(settings, info, "pop3"),
        |stream, settings, info, services| match serve_login(stream, settings, info, services) {
            LoginEnd::LoggedIn(login) => Some(login),
            LoginEnd::Proxied(proxied) => {
                proxied.relay();
                None
            }
            LoginEnd::Disconnected(_) => None,
        },
        send_internal_failure,
    );
}

/// `service pop3`: takes over one logged-in client from a login process, becomes the user,
/// and serves the TRANSACTION state.
pub fn pop3_mail(config: &Config, conn: Connection) {
    let Some((settings, login)) = crate::login_handoff::take_over(config, conn, "pop3") else {
        return;
    };
    serve_mail_client(&settings, login);
}

fn serve_mail_client(settings: &cote::config::Settings, login: MailLogin) {
    let info = login.user_info("pop3");
    let MailLogin {
        request,
        client,
        setup,
        vars,
        ..
    } = login;
    let mut stream = if request.tls {
        Stream::Unix(UnixStream::from(client))
    } else {
        Stream::Tcp(TcpStream::from(client))
    };
    let pop3 =
        setup.and_then(|()| Pop3Settings::from_settings(settings).map_err(|e| e.to_string()));
    let pop3 = match pop3 {
        Ok(p) => p,
        Err(e) => {
            log::error!("{e}");
            // The client is closed next: whether it read this changes nothing.
            let line = format!("{INTERNAL_ERROR}\r\n");
            let _ = std::io::Write::write_all(&mut stream, line.as_bytes());
            return;
        }
    };
    let reader = match stream.try_clone() {
        Ok(r) => r,
        Err(e) => {
            log::error!("dup() failed: {e}");
            return;
        }
    };
    serve_session(reader, stream, request.input, info, settings, &pop3, &vars);
}
