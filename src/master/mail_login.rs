//! The mail process's side of a login, the same for every protocol: take the hand-off from
//! the login process, ask the auth service who logged in (never taking the login process's
//! word for it), become that user, and only then let the protocol read the client.
//!
//! The user's identity follows Dovecot's rules: userdb `uid`/`gid` (else `mail_uid`/
//! `mail_gid`) within `first_valid_uid`..`last_valid_uid` and `first_valid_gid`..
//! `last_valid_gid`, never root; `mail_privileged_group` as the saved gid; supplementary
//! groups from `system_groups_user`, `mail_access_groups` and the service's `extra_groups`;
//! `mail_chroot` (or `/./` in the home) within `valid_chroot_dirs`.

use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use super::handoff::{self, HandoffRequest};
use super::privileges::{self, Restrict};
use super::terminate::{self, ClientGuard};
use super::worker;
use crate::auth::client::{MasterClient, UserReply};
use crate::config::var_expand::{self, MailUserVars, VarTable, Vars};
use crate::config::{Config, FilterQuery, Settings};
use crate::login::anvil::{userip_ident, AnvilClient, AnvilSession};
use crate::storage::user::MailUserInfo;

/// How long the login process may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A login this mail process took over.
pub struct MailLogin {
    pub request: HandoffRequest,
    /// The client's socket (or, for TLS, the login process's proxy end).
    pub client: OwnedFd,
    /// The user, as the auth service names it.
    pub user: String,
    /// The userdb fields the auth service returned.
    pub userdb_fields: Vec<(String, String)>,
    /// Whether the process became the user; the error is for the log, the client only hears
    /// that initialization failed (Dovecot's behaviour).
    pub setup: Result<(), String>,
    /// The variables of mail settings for this user (`mail_log_prefix`, logout formats).
    pub vars: Vars,
    /// The session as anvil counts it (`mail_max_userip_connections`, `coteadm who`), until
    /// this is dropped;
    /// it keeps a handle of `client` open until anvil has forgotten the session.
    pub anvil: Option<AnvilSession>,
    /// The client's socket registered for SIGTERM (`coteadm kick`), until this is dropped.
    pub terminate: Option<ClientGuard>,
}

impl MailLogin {
    /// `alice 192.0.2.1`: the session in a `verbose_proctitle` title.
    pub fn proctitle_who(&self) -> String {
        format!("{} {}", self.user, self.request.remote.ip())
    }

    /// Who the user is, for the storage (`MailUser`) of `service`: the userdb's answer as
    /// the process applied it (uid, gid, home).
    pub fn user_info(&self, service: &str) -> MailUserInfo {
        let var = |name: &str| {
            self.vars
                .long(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        MailUserInfo {
            username: self.user.clone(),
            home: var("home"),
            uid: var("uid").and_then(|v| v.parse().ok()),
            gid: var("gid").and_then(|v| v.parse().ok()),
            mail: field(&self.userdb_fields, "mail").map(str::to_string),
            service: service.to_string(),
            session: Some(self.request.session_id.clone()),
            local_ip: Some(self.request.local.ip().to_string()),
            remote_ip: Some(self.request.remote.ip().to_string()),
            userdb_fields: Some(self.userdb_fields.clone()),
        }
    }
}

/// Why a hand-off was refused (logged; the login process tells the client).
fn refuse(socket: &UnixStream, message: &str) {
    log::error!("{message}");
    // The login process may be gone already; it then has no client to tell.
    let _ = handoff::send_reply(socket, Err("Internal login failure"));
}

/// Takes over one login arriving on `socket` for `protocol`: `None` when it was refused
/// (and the login process told so).
pub fn accept_login(config: &Config, socket: UnixStream, protocol: &str) -> Option<MailLogin> {
    if let Err(e) = terminate::install(protocol) {
        log::error!("Can't handle SIGTERM: {e}");
    }
    let _ = socket.set_read_timeout(Some(REQUEST_TIMEOUT));
    let (request, client, login_pid) = match handoff::receive_request(&socket) {
        Ok(r) => r,
        Err(e) => {
            refuse(&socket, &e.to_string());
            return None;
        }
    };
    let global = config.global();
    let master_socket = PathBuf::from(global.str("base_dir")).join("auth-master");
    let reply = auth_master_request(&master_socket, |auth| {
        auth.request(
            login_pid,
            request.auth_id,
            &request.cookie_hex,
            Some(std::process::id()),
        )
    });
    let (user, userdb_fields) = match reply {
        Ok(UserReply::User { user, fields }) => (user, fields),
        Ok(UserReply::NotFound) => {
            refuse(
                &socket,
                &format!(
                    "Authenticated user not found from userdb, auth lookup id={}",
                    request.auth_id
                ),
            );
            return None;
        }
        Ok(UserReply::Fail { reason }) => {
            refuse(
                &socket,
                &format!(
                    "Auth server request failed for login id={}: {}",
                    request.auth_id,
                    reason.unwrap_or_else(|| "Internal auth failure".into())
                ),
            );
            return None;
        }
        Err(e) => {
            refuse(
                &socket,
                &format!(
                    "Auth server REQUEST failed ({}): {}",
                    master_socket.display(),
                    crate::errtext::os_error_text(&e)
                ),
            );
            return None;
        }
    };
    let settings = config.settings(&FilterQuery {
        protocol: Some(protocol.to_string()),
        local_ip: Some(request.local.ip()),
        remote_ip: Some(request.remote.ip()),
        local_name: None,
    });
    let mut user_vars = MailUserVars {
        user: user.clone(),
        service: protocol.to_string(),
        local_ip: Some(request.local.ip().to_string()),
        remote_ip: Some(request.remote.ip().to_string()),
        session: Some(request.session_id.clone()),
        userdb_fields: Some(userdb_fields.clone()),
        ..MailUserVars::default()
    };
    // Every session registers (Dovecot's do, whatever mail_max_userip_connections says), so
    // `coteadm who` and `kick` see them all. Anvil's socket is root's: connected before the
    // process becomes the user.
    let anvil_path = PathBuf::from(global.str("base_dir")).join("anvil");
    let anvil = AnvilClient::for_session(&anvil_path, worker::serves_several()).map_err(|e| {
        log::error!("{}", crate::errtext::connect_error_text(&anvil_path, &e));
    });
    // The user becomes who the userdb says before anything the client sent is looked at.
    let setup = become_user(&settings, &userdb_fields, &mut user_vars);
    // The session counts from before its login is answered until after its connection
    // closes (see `AnvilSession`).
    let anvil = match (anvil, &setup) {
        (Ok(anvil), Ok(())) => {
            let ident = userip_ident(protocol, request.remote.ip(), &user);
            let keep_open = client.try_clone().ok();
            anvil
                .register(ident, keep_open)
                .map_err(|e| log::error!("anvil CONNECT failed: {e}"))
                .ok()
        }
        _ => None,
    };
    let vars = Vars::mail_user(&user_vars);
    // Auth succeeded, so the login process logs the login either way (as Dovecot's does); a
    // failed setup is the mail process's to report.
    if let Err(e) = handoff::send_reply(&socket, Ok(std::process::id())) {
        log::error!(
            "Can't reply to the login process: {}",
            crate::errtext::os_error_text(&e)
        );
        return None;
    }
    let terminate = ClientGuard::new(&client)
        .map_err(|e| log::error!("dup() failed: {e}"))
        .ok();
    Some(MailLogin {
        request,
        client,
        terminate,
        user,
        userdb_fields,
        setup,
        vars,
        anvil,
    })
}

/// The auth-master connection of a process that serves several logins, made while it was
/// root (the socket is root's) and kept, as Dovecot's mail processes keep theirs.
static KEPT_AUTH_MASTER: Mutex<Option<MasterClient>> = Mutex::new(None);

/// Runs `request` on an auth-master connection: the kept one, or a new one (kept after it
/// answered when this process serves several logins; a connection that failed is dropped).
fn auth_master_request(
    socket: &Path,
    request: impl FnOnce(&mut MasterClient) -> std::io::Result<UserReply>,
) -> std::io::Result<UserReply> {
    let mut kept = KEPT_AUTH_MASTER.lock().unwrap_or_else(|p| p.into_inner());
    let mut client = match kept.take() {
        Some(client) => client,
        None => MasterClient::connect(socket)?,
    };
    let reply = request(&mut client)?;
    if worker::serves_several() {
        *kept = Some(client);
    }
    Ok(reply)
}

fn field<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `mail_home`/`mail_chroot` with the user's variables.
fn expand(settings: &Settings, key: &str, vars: &MailUserVars) -> Result<String, String> {
    var_expand::expand(settings.str(key), &Vars::mail_user(vars))
        .map_err(|e| format!("Failed to expand {key} '{}': {e}", settings.str(key)))
}

/// Dovecot's `valid_chroot_dirs`: colon-separated prefixes; empty allows none.
fn chroot_allowed(valid: &str, dir: &str) -> bool {
    valid
        .split(':')
        .any(|prefix| !prefix.is_empty() && dir.starts_with(prefix))
}

/// Makes this process the user the userdb `fields` describe (when started as root; as
/// anyone else, only `vars` is filled in): uid, gid, groups, chroot. Fills in the uid, gid
/// and home of `vars`.
pub fn become_user(
    settings: &Settings,
    fields: &[(String, String)],
    vars: &mut MailUserVars,
) -> Result<(), String> {
    let restrict = mail_user_restrict(settings, fields, vars)?;
    if privileges::is_root() {
        privileges::restrict_access(&restrict)
    } else {
        Ok(())
    }
}

/// What the mail process becomes for this user (Dovecot's `service_parse_privileges` and
/// `service_drop_privileges`). Fills in the uid, gid and home of `vars`.
pub fn mail_user_restrict(
    settings: &Settings,
    fields: &[(String, String)],
    vars: &mut MailUserVars,
) -> Result<Restrict, String> {
    let mut r = Restrict {
        first_valid_gid: u32::try_from(settings.uint("first_valid_gid")).unwrap_or(u32::MAX),
        last_valid_gid: u32::try_from(settings.uint("last_valid_gid")).unwrap_or(u32::MAX),
        ..Restrict::default()
    };
    let first_uid = settings.uint("first_valid_uid");
    let last_uid = settings.uint("last_valid_uid");
    let (uid_value, uid_source) = match field(fields, "uid") {
        Some(v) => (v.to_string(), "userdb lookup"),
        None => (settings.str("mail_uid").to_string(), "mail_uid setting"),
    };
    if !uid_value.is_empty() {
        let uid =
            privileges::parse_uid(&uid_value).map_err(|e| format!("{e} (from {uid_source})"))?;
        if u64::from(uid) < first_uid || (last_uid != 0 && u64::from(uid) > last_uid) {
            return Err(format!(
                "Mail access for users with UID {uid} not permitted \
                 (see first_valid_uid in config file, uid from {uid_source})."
            ));
        }
        r.uid = Some(uid);
        r.uid_source = Some(uid_source.to_string());
    }
    let (gid_value, gid_source) = match field(fields, "gid") {
        Some(v) => (v.to_string(), "userdb lookup"),
        None => (settings.str("mail_gid").to_string(), "mail_gid setting"),
    };
    if !gid_value.is_empty() {
        let gid =
            privileges::parse_gid(&gid_value).map_err(|e| format!("{e} (from {gid_source})"))?;
        if gid < r.first_valid_gid || (r.last_valid_gid != 0 && gid > r.last_valid_gid) {
            return Err(format!(
                "Mail access for users with GID {gid} not permitted \
                 (see first_valid_gid in config file, gid from {gid_source})."
            ));
        }
        r.gid = Some(gid);
        r.gid_source = Some(gid_source.to_string());
    }
    vars.uid = r.uid;
    vars.gid = r.gid;
    let root = privileges::is_root();
    if r.uid.is_none() && root {
        return Err("User is missing UID (see mail_uid setting)".into());
    }
    if r.gid.is_none() && root && r.first_valid_gid > 0 {
        return Err("User is missing GID (see mail_gid setting)".into());
    }
    if r.uid == Some(0) {
        return Err("Mail access not allowed for root".into());
    }
    let privileged = settings.str("mail_privileged_group");
    if !privileged.is_empty() {
        r.privileged_gid = Some(
            privileges::parse_gid(privileged)
                .map_err(|e| format!("{e} (in mail_privileged_group setting)"))?,
        );
    }
    for group in settings
        .str("mail_access_groups")
        .split([',', ' '])
        .filter(|g| !g.is_empty())
    {
        let gid = privileges::lookup_group(group)
            .map_err(|_| format!("unknown group name in extra_groups: {group}"))?;
        r.extra_groups.push(gid);
    }
    if let Some(service) = privileges::service_identity() {
        r.extra_groups.extend(service.extra_groups.iter().copied());
    }
    r.system_groups_user = field(fields, "system_groups_user").map(str::to_string);

    let mut home = match field(fields, "home") {
        Some(h) => h.to_string(),
        None => expand(settings, "mail_home", vars)?,
    };
    vars.home = (!home.is_empty()).then(|| home.clone());
    let valid_chroot_dirs = settings.str("valid_chroot_dirs");
    let mut chroot = match field(fields, "chroot") {
        Some(c) => c.to_string(),
        None => expand(settings, "mail_chroot", vars)?,
    };
    if chroot.is_empty() && !valid_chroot_dirs.is_empty() {
        // `<chroot>/./<home>`, as wu-ftpd wrote it.
        if let Some((dir, inside)) = home.split_once("/./") {
            chroot = dir.to_string();
            home = format!("/{inside}");
        }
    }
    if !chroot.is_empty() {
        if !chroot_allowed(valid_chroot_dirs, &chroot) {
            return Err(format!(
                "userdb returned invalid chroot directory: {chroot} \
                 (see valid_chroot_dirs setting)"
            ));
        }
        let dir = chroot.trim_end_matches('/');
        r.chroot = Some(PathBuf::from(if dir.is_empty() { "/" } else { dir }));
        if let Some(inside) = home.strip_prefix(chroot.trim_end_matches('/')) {
            if inside.starts_with('/') {
                home = inside.to_string();
            }
        }
    }
    if !home.is_empty() && Path::new(&home).is_absolute() {
        r.home = Some(PathBuf::from(&home));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.conf");
        std::fs::write(&path, text).unwrap();
        Config::load(&path).unwrap()
    }

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn restrict(conf: &str, f: &[(&str, &str)]) -> Result<Restrict, String> {
        let c = config(conf);
        let mut vars = MailUserVars {
            user: "alice".into(),
            ..MailUserVars::default()
        };
        mail_user_restrict(&c.global(), &fields(f), &mut vars)
    }

    #[test]
    fn uid_and_gid_from_userdb_or_settings() {
        let r = restrict("", &[("uid", "1000"), ("gid", "1000")]).unwrap();
        assert_eq!((r.uid, r.gid), (Some(1000), Some(1000)));
        assert_eq!(r.uid_source.as_deref(), Some("userdb lookup"));
        let r = restrict("mail_uid = 1001\nmail_gid = 1002\n", &[]).unwrap();
        assert_eq!((r.uid, r.gid), (Some(1001), Some(1002)));
        assert_eq!(r.gid_source.as_deref(), Some("mail_gid setting"));
        // userdb wins over the settings.
        let r = restrict("mail_uid = 1001\n", &[("uid", "1005"), ("gid", "1")]).unwrap();
        assert_eq!(r.uid, Some(1005));
    }

    #[test]
    fn ranges_and_root_are_refused_with_dovecots_text() {
        assert_eq!(
            restrict("", &[("uid", "0"), ("gid", "0")]).unwrap_err(),
            "Mail access for users with UID 0 not permitted (see first_valid_uid in config \
             file, uid from userdb lookup)."
        );
        assert_eq!(
            restrict(
                "first_valid_uid = 0\nfirst_valid_gid = 0\n",
                &[("uid", "0"), ("gid", "0")]
            )
            .unwrap_err(),
            "Mail access not allowed for root"
        );
        assert_eq!(
            restrict("last_valid_uid = 2000\n", &[("uid", "3000"), ("gid", "10")]).unwrap_err(),
            "Mail access for users with UID 3000 not permitted (see first_valid_uid in config \
             file, uid from userdb lookup)."
        );
        assert_eq!(
            restrict("mail_gid = 0\n", &[("uid", "1000")]).unwrap_err(),
            "Mail access for users with GID 0 not permitted (see first_valid_gid in config \
             file, gid from mail_gid setting)."
        );
        assert_eq!(
            restrict("", &[("uid", "no-such-user-here")]).unwrap_err(),
            "Unknown UID user 'no-such-user-here' (from userdb lookup)"
        );
    }

    #[test]
    fn groups_and_chroot() {
        let r = restrict(
            "mail_privileged_group = root\nmail_access_groups = root\n",
            &[
                ("uid", "1000"),
                ("gid", "1000"),
                ("system_groups_user", "alice"),
            ],
        )
        .unwrap();
        assert_eq!(r.privileged_gid, Some(0));
        assert!(r.extra_groups.contains(&0));
        assert_eq!(r.system_groups_user.as_deref(), Some("alice"));
        assert_eq!(
            restrict(
                "mail_access_groups = no-such-group-here\n",
                &[("uid", "1000"), ("gid", "1000")]
            )
            .unwrap_err(),
            "unknown group name in extra_groups: no-such-group-here"
        );
        let chrooted = restrict(
            "valid_chroot_dirs = /srv/mail\n",
            &[
                ("uid", "1000"),
                ("gid", "1000"),
                ("home", "/srv/mail/./alice"),
            ],
        )
        .unwrap();
        assert_eq!(chrooted.chroot, Some(PathBuf::from("/srv/mail")));
        assert_eq!(chrooted.home, Some(PathBuf::from("/alice")));
        assert_eq!(
            restrict(
                "mail_chroot = /elsewhere\n",
                &[("uid", "1000"), ("gid", "1000")]
            )
            .unwrap_err(),
            "userdb returned invalid chroot directory: /elsewhere (see valid_chroot_dirs setting)"
        );
        let plain = restrict("", &[("uid", "1000"), ("gid", "1000"), ("home", "/home/a")]).unwrap();
        assert_eq!(plain.chroot, None);
        assert_eq!(plain.home, Some(PathBuf::from("/home/a")));
    }
}
