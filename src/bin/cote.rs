//! `cote`: the master process and Dovecot's `dovecot` command line.

use std::process::ExitCode;

use cote::config::{Config, FilterQuery};
use cote::imap::{serve_prelogin, PreloginSettings};
use cote::master::{cli, Connection, Registry, Stream};
use cote::net::ConnInfo;

/// The services this binary runs, by service name.
fn registry() -> Registry<Config> {
    let mut registry = Registry::new();
    registry.register("imap-login", imap_login);
    registry.register("auth", cote::auth::server::serve_auth);
    registry.register("auth-worker", cote::auth::server::serve_auth_worker);
    registry
}

/// `service imap-login`: IMAP before authentication, one connection per call.
fn imap_login(config: &Config, conn: Connection) {
    let Stream::Tcp(stream) = conn.stream else {
        log::error!("Unix socket listeners are not supported for IMAP clients");
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
        protocol: Some("imap".into()),
        local_ip: Some(info.local.ip()),
        remote_ip: Some(info.remote.ip()),
        local_name: None,
    };
    match PreloginSettings::from_settings(&config.settings(&query), &info) {
        Ok(settings) => {
            serve_prelogin(stream, &settings, &info);
        }
        Err(e) => log::error!("{e}"),
    }
}

fn main() -> ExitCode {
    cli::main(registry())
}
