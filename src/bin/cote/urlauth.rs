//! The imap-urlauth services (Dovecot's `imap-urlauth-login`, `imap-urlauth` and
//! `imap-urlauth-worker`), by which an IMAP session fetches another user's URLAUTH URL; the
//! conversation is [`cote::imap::urlauth_service`].
//!
//! The session's connection travels as Dovecot's does, so the three services' listeners,
//! users and chroots mean what they mean to Dovecot: the session connects to `imap-urlauth`
//! (service `imap-urlauth-login`, mode 0666), which passes the connection (SCM_RIGHTS) to
//! `token-login/imap-urlauth` (service `imap-urlauth`), which passes it to
//! `imap-urlauth-worker`. The worker (root, when cote runs as root) verifies who asks, looks
//! the URL's owner up in the userdb (`auth_socket_path`), becomes the owner for good (uid,
//! gid, groups, chroot: as a mail process does), opens the owner's mail through the storage
//! API and answers; it serves that one session and ends.
//!
//! Who asks is proven by a token ([`access_token`]) under a secret kept in
//! `base_dir/imap-urlauth-secret` (mode 0600; made by the first process that needs it). Only
//! processes that are still root read it: the worker, and each imap process before it
//! becomes its user; the imap process keeps only its user's token.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cote::config::var_expand::MailUserVars;
use cote::config::{Config, FilterQuery, Settings};
use cote::imap::storage_session::{StorageSession, DEFAULT_IDLE_CHECK_INTERVAL};
use cote::imap::urlauth::ServiceAccess;
use cote::imap::urlauth_service::{self as service, access_token, OwnerMail, WorkerSettings};
use cote::master::handoff;
use cote::master::mail_login::mail_user_restrict;
use cote::master::privileges;
use cote::master::{Connection, Stream};
use cote::storage::shared::UserLookup;
use cote::storage::user::{MailUser, MailUserInfo};

/// The secret file, under base_dir.
const SECRET_FILE: &str = "imap-urlauth-secret";
const SECRET_LEN: usize = 32;
/// What a relay sends with the session's descriptor.
const PASSED: &[u8] = b"COTE-URLAUTH 1\n";
/// How long a relay or the worker waits for the descriptor.
const PASS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// This process's copy of the secret (read while root).
static SECRET: Mutex<Option<KeptSecret>> = Mutex::new(None);

struct KeptSecret {
    secret: Vec<u8>,
    /// The process serves further sessions (`service_count` other than 1): they need the
    /// secret too, and cannot read it again once root is given up. Those sessions all run
    /// as the one uid the process became, which can read every such user's mail anyway.
    reused: bool,
}

fn imap_settings(config: &Config) -> Settings<'_> {
    config.settings(&FilterQuery {
        protocol: Some("imap".into()),
        ..FilterQuery::default()
    })
}

/// The secret in `dir`, made now if there is none yet (written to a temporary file and
/// linked into place, so a reader never sees half of it and two makers agree).
fn load_or_create_secret(dir: &Path) -> Result<Vec<u8>, String> {
    let path = dir.join(SECRET_FILE);
    let read = |path: &Path| -> Result<Option<Vec<u8>>, String> {
        let mut data = Vec::new();
        match std::fs::File::open(path) {
            Ok(f) => f
                .take(SECRET_LEN as u64 + 1)
                .read_to_end(&mut data)
                .map_err(|e| format!("read({}) failed: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("open({}) failed: {e}", path.display())),
        };
        if data.len() != SECRET_LEN {
            return Err(format!(
                "{}: wrong size {} (remove it to make a new one)",
                path.display(),
                data.len()
            ));
        }
        Ok(Some(data))
    };
    if let Some(secret) = read(&path)? {
        return Ok(secret);
    }
    let secret = cote::auth::random::bytes::<SECRET_LEN>().map_err(|e| e.to_string())?;
    let temp = dir.join(format!("{SECRET_FILE}.{}.tmp", std::process::id()));
    // One a crashed process of the same pid left.
    let _ = std::fs::remove_file(&temp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut f| {
            f.write_all(&secret)?;
            f.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(format!("creating {} failed: {e}", temp.display()));
    }
    let linked = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => Ok(secret.to_vec()),
        // Another process made it first: theirs counts.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&path)?.ok_or_else(|| format!("{} vanished", path.display()))
        }
        Err(e) => Err(format!("link({}) failed: {e}", path.display())),
    }
}

fn keep_secret(config: &Config, reused: bool) {
    let dir = PathBuf::from(config.global().str("base_dir"));
    match load_or_create_secret(&dir) {
        Ok(secret) => {
            if let Ok(mut kept) = SECRET.lock() {
                *kept = Some(KeptSecret { secret, reused });
            }
        }
        Err(e) => log::error!("imap-urlauth: {e}"),
    }
}

/// An imap process, still root: reads the secret when URLAUTH is on.
pub fn imap_init(config: &Config) -> Result<(), String> {
    if !imap_settings(config).str("imap_urlauth_host").is_empty() {
        keep_secret(config, cote::master::serves_several());
    }
    Ok(())
}

/// How this imap process's session of `user` reaches the service: its token (the secret is
/// forgotten now, unless later sessions of this process need it).
pub fn session_access(settings: &Settings, user: &str) -> Option<ServiceAccess> {
    let mut kept = SECRET.lock().ok()?;
    let token = access_token(&kept.as_ref()?.secret, user);
    if kept.as_ref().is_some_and(|k| !k.reused) {
        if let Some(mut gone) = kept.take() {
            gone.secret.fill(0);
        }
    }
    Some(ServiceAccess {
        socket: crate::visible_path(
            &Path::new(settings.str("base_dir")).join(service::SOCKET_NAME),
        ),
        token,
    })
}

/// Passes the session's descriptor on to `next` (under base_dir).
fn pass_on(config: &Config, fd: std::os::fd::BorrowedFd<'_>, next: &str) {
    let path = crate::base_dir_path(config, next);
    let sent = UnixStream::connect(&path).and_then(|socket| {
        socket.set_write_timeout(Some(PASS_TIMEOUT))?;
        handoff::send_fd(&socket, PASSED, fd)
    });
    if let Err(e) = sent {
        log::error!(
            "imap-urlauth: passing the connection to {} failed: {}",
            path.display(),
            cote::errtext::os_error_text(&e)
        );
    }
}

/// The descriptor a relay passed with `conn`.
fn passed_fd(conn: &Connection) -> Option<std::os::fd::OwnedFd> {
    let Stream::Unix(socket) = &conn.stream else {
        log::error!("imap-urlauth: only unix listeners are supported");
        return None;
    };
    let _ = socket.set_read_timeout(Some(PASS_TIMEOUT));
    match handoff::receive_fd(socket, PASSED.len()) {
        Ok((data, fd)) if data == PASSED => Some(fd),
        Ok(_) => {
            log::error!("imap-urlauth: unexpected data with a passed connection");
            None
        }
        Err(e) => {
            log::error!("imap-urlauth: receiving a passed connection failed: {e}");
            None
        }
    }
}

/// `service imap-urlauth-login`: a session's connection, passed on to `imap-urlauth`.
pub fn login(config: &Config, conn: Connection) {
    let Stream::Unix(socket) = &conn.stream else {
        log::error!("imap-urlauth-login: only unix listeners are supported");
        return;
    };
    pass_on(config, socket.as_fd(), "token-login/imap-urlauth");
}

/// `service imap-urlauth`: a connection from imap-urlauth-login, passed on to the worker.
pub fn relay(config: &Config, conn: Connection) {
    if let Some(fd) = passed_fd(&conn) {
        pass_on(config, fd.as_fd(), "imap-urlauth-worker");
    }
}

/// An imap-urlauth-worker process, still root: reads the secret.
pub fn worker_init(config: &Config) -> Result<(), String> {
    // A worker serves one session (`service_count = 1`, as Dovecot's).
    keep_secret(config, false);
    Ok(())
}

/// `service imap-urlauth-worker`: serves the session whose connection was passed here.
pub fn worker(config: &Config, conn: Connection) {
    let Some(fd) = passed_fd(&conn) else {
        return;
    };
    drop(conn);
    let Some(secret) = SECRET
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .map(|k| k.secret)
    else {
        log::error!("imap-urlauth: no secret to verify sessions with");
        return;
    };
    let settings = imap_settings(config);
    let worker_settings = WorkerSettings {
        secret,
        host: settings.str("imap_urlauth_host").to_string(),
        port: settings.port("imap_urlauth_port"),
        submit_user: settings.str("imap_urlauth_submit_user").to_string(),
        stream_user: settings.str("imap_urlauth_stream_user").to_string(),
    };
    let mut owners = Owners {
        settings: &settings,
        userdb_socket: crate::base_dir_path(config, settings.str("auth_socket_path")),
    };
    service::serve_worker(UnixStream::from(fd), worker_settings, &mut owners);
}

/// Opens a URL owner's mail as that owner.
struct Owners<'a> {
    settings: &'a Settings<'a>,
    userdb_socket: PathBuf,
}

impl OwnerMail for Owners<'_> {
    type Mail = StorageSession;

    fn open(
        &mut self,
        owner: &str,
        access_user: &str,
    ) -> Result<Option<(String, StorageSession)>, String> {
        let viewer = MailUserInfo {
            username: access_user.to_string(),
            service: "imap-urlauth-worker".into(),
            ..MailUserInfo::default()
        };
        let mut lookup =
            crate::userdb_lookup::AuthUserLookup::new(self.userdb_socket.clone(), &viewer);
        let Some(found) = lookup.lookup(owner)? else {
            return Ok(None);
        };
        let fields = found.userdb_fields.clone().unwrap_or_default();
        let mut vars = MailUserVars {
            user: found.username.clone(),
            service: "imap-urlauth-worker".into(),
            userdb_fields: Some(fields.clone()),
            ..MailUserVars::default()
        };
        let restrict = mail_user_restrict(self.settings, &fields, &mut vars)?;
        if privileges::is_root() {
            privileges::restrict_access(&restrict)?;
        }
        cote::log::set_prefix(&format!(
            "imap-urlauth[{}]({access_user}->{}): ",
            std::process::id(),
            found.username
        ));
        let info = MailUserInfo::from_vars(&vars, &fields);
        let user = MailUser::new(self.settings, info)
            .map_err(|e| e.internal().unwrap_or(e.client_text()).to_string())?;
        let session = StorageSession::new(user, DEFAULT_IDLE_CHECK_INTERVAL);
        Ok(Some((found.username, session)))
    }
}
