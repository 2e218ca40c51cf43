//! `service pop3-login` and `service pop3`: POP3 before authentication, and the mail process
//! that takes a logged-in client over from it.

use std::net::TcpStream;
use std::os::unix::net::UnixStream;

use cote::config::{Config, FilterQuery};
use cote::login::{LoginServices, LoginSettings};
use cote::master::mail_login::MailLogin;
use cote::master::{Connection, Stream};
use cote::net::tls::TlsServer;
use cote::net::ConnInfo;
use cote::pop3::session::INTERNAL_ERROR;
use cote::pop3::{send_internal_failure, serve_login, serve_session, LoginEnd, Pop3Settings};

/// A pop3-login process, still root: TLS keys are read now, before it chroots and drops
/// privileges.
pub fn pop3_login_init(config: &Config) -> Result<(), String> {
    let pop3 = config.settings(&FilterQuery {
        protocol: Some("pop3".into()),
        ..FilterQuery::default()
    });
    if pop3.str("ssl") != "no" {
        TlsServer::prepare(config, "pop3");
    }
    Ok(())
}

/// `service pop3-login`: one connection per call.
pub fn pop3_login(config: &Config, conn: Connection) {
    let Stream::Tcp(stream) = conn.stream else {
        log::error!("Unix socket listeners are not supported for POP3 clients");
        return;
    };
    let info = match ConnInfo::from_stream(&stream, conn.listener.ssl) {
        Ok(info) => info,
        // The client went away between accept() and here: nothing to answer.
        Err(e) => {
            log::info!("Disconnected: {e}");
            return;
        }
    };
    let query = FilterQuery {
        protocol: Some("pop3".into()),
        local_ip: Some(info.local.ip()),
        remote_ip: Some(info.remote.ip()),
        local_name: None,
    };
    let settings = match LoginSettings::from_settings(&config.settings(&query), &info, "pop3") {
        Ok(settings) => settings,
        Err(e) => {
            log::error!("{e}");
            return;
        }
    };
    let auth_socket = crate::base_dir_path(config, "login/login");
    let services = LoginServices {
        auth_socket: Some(&auth_socket),
        tls: TlsServer::get(),
    };
    if let LoginEnd::LoggedIn(login) = serve_login(stream, &settings, &info, services) {
        crate::login_handoff::hand_over(config, *login, "login/pop3", send_internal_failure);
    }
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
