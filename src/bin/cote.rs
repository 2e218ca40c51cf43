//! `cote`: the master process and Dovecot's `dovecot` command line.

use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cote::config::{Config, FilterQuery};
use cote::imap::postlogin::{serve_postlogin, LoginReply, PostloginSettings};
use cote::imap::{send_internal_failure, serve_prelogin, PreloginEnd, PreloginSettings};
use cote::master::mail_login::MailLogin;
use cote::master::privileges::visible_path;
use cote::master::{cli, Connection, Registry, Stream};
use cote::net::tls::TlsServer;

#[path = "cote/lmtp.rs"]
mod lmtp;
#[path = "cote/login_handoff.rs"]
mod login_handoff;
#[path = "cote/pop3.rs"]
mod pop3;
#[path = "cote/urlauth.rs"]
mod urlauth;
#[path = "cote/userdb_lookup.rs"]
mod userdb_lookup;

/// The services this binary runs, by service name.
fn registry() -> Registry<Config> {
    let mut registry = Registry::new();
    registry.register("imap-login", imap_login);
    registry.register_init("imap-login", |config| login_init(config, "imap"));
    registry.register("imap", imap_mail);
    registry.register_init("imap", urlauth::imap_init);
    registry.register("imap-urlauth-login", urlauth::login);
    registry.register("imap-urlauth", urlauth::relay);
    registry.register("imap-urlauth-worker", urlauth::worker);
    registry.register_init("imap-urlauth-worker", urlauth::worker_init);
    registry.register("pop3-login", pop3::pop3_login);
    registry.register_init("pop3-login", |config| login_init(config, "pop3"));
    registry.register("pop3", pop3::pop3_mail);
    registry.register("lmtp", lmtp::lmtp);
    registry.register_init("lmtp", lmtp::lmtp_init);
    registry.register("auth", cote::auth::server::serve_auth);
    registry.register("auth-worker", cote::auth::server::serve_auth_worker);
    registry.register("anvil", cote::login::anvil::serve_anvil);
    registry.register("director", cote::director::serve_director);
    registry.register_init("director", cote::director::init);
    registry
}

/// A login process of `protocol`, still root: TLS keys are read and anvil is connected now,
/// before it chroots and drops privileges.
fn login_init(config: &Config, protocol: &str) -> Result<(), String> {
    let settings = config.settings(&FilterQuery {
        protocol: Some(protocol.into()),
        ..FilterQuery::default()
    });
    if settings.str("ssl") != "no" {
        TlsServer::prepare(config, protocol);
    }
    // For proxying to backends over TLS: the CA files cannot be read once chrooted.
    cote::net::tls_client::prepare(&settings);
    cote::login::anvil::prepare_login(config);
    Ok(())
}

/// A socket under base_dir, as this (possibly chrooted) process reaches it.
fn base_dir_path(config: &Config, relative: &str) -> PathBuf {
    visible_path(&Path::new(config.global().str("base_dir")).join(relative))
}

/// `service imap-login`: IMAP before authentication, one connection per call.
fn imap_login(config: &Config, conn: Connection) {
    login_handoff::serve_login_client(
        config,
        conn,
        "imap",
        PreloginSettings::from_settings,
        |stream, settings, info, services| match serve_prelogin(stream, settings, info, services) {
            PreloginEnd::LoggedIn(login) => Some(login),
            PreloginEnd::Proxied(proxied) => {
                proxied.relay();
                None
            }
            PreloginEnd::Disconnected(_) => None,
        },
        send_internal_failure,
    );
}

/// `service imap`: a mail process. It takes over one logged-in client from a login
/// process, becomes the user, and serves the authenticated state.
fn imap_mail(config: &Config, conn: Connection) {
    let Some((settings, login)) = login_handoff::take_over(config, conn, "imap") else {
        return;
    };
    serve_mail_client(&settings, login);
}

fn serve_mail_client(settings: &cote::config::Settings, login: MailLogin) {
    let Some(reply) = LoginReply::decode(&login.request.prefix) else {
        log::error!("Login process sent no IMAP tag");
        return;
    };
    let info = login.user_info("imap");
    // Other users' URLAUTH URLs: the session proves who it is with a token made now.
    let urlauth_access = urlauth::session_access(settings, &login.user);
    let MailLogin {
        request,
        client,
        setup,
        vars,
        ..
    } = login;
    if let Err(e) = setup {
        log::error!("{e}");
        let text = format!(
            "{} OK Logged in, but initialization failed.\r\n\
             * BYE Internal error occurred. Refer to server log for more information.\r\n",
            reply.tag
        );
        let mut stream = client_stream(request.tls, client);
        let _ = std::io::Write::write_all(&mut stream, text.as_bytes());
        return;
    }
    let mut postlogin = match PostloginSettings::from_settings(settings) {
        Ok(s) => s,
        Err(e) => {
            log::error!("{e}");
            return;
        }
    };
    if let Some(urlauth) = postlogin.session.urlauth.as_mut() {
        urlauth.service = urlauth_access;
    }
    // Shared namespaces look other users up in the userdb.
    let socket =
        visible_path(&Path::new(settings.str("base_dir")).join(settings.str("auth_socket_path")));
    let lookup = userdb_lookup::AuthUserLookup::new(socket, &info);
    // A TLS client stays in its login process, which relays plaintext over a socketpair.
    macro_rules! serve {
        ($stream:expr) => {{
            let stream = $stream;
            let reader = match stream.try_clone() {
                Ok(r) => r,
                Err(e) => {
                    log::error!("dup() failed: {e}");
                    return;
                }
            };
            serve_postlogin(
                reader,
                stream,
                request.input,
                &reply,
                settings,
                &postlogin,
                info,
                &vars,
                Box::new(lookup),
            )
        }};
    }
    if request.tls {
        serve!(UnixStream::from(client))
    } else {
        serve!(TcpStream::from(client))
    }
}

/// The client's socket as it arrived: a TCP connection, or the TLS proxy's socketpair end.
fn client_stream(tls: bool, client: std::os::fd::OwnedFd) -> Stream {
    if tls {
        Stream::Unix(UnixStream::from(client))
    } else {
        Stream::Tcp(TcpStream::from(client))
    }
}

fn main() -> ExitCode {
    cli::main(registry())
}
