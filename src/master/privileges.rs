//! Who a process runs as: the `user`/`group`/`extra_groups`/`privileged_group`/`chroot` of a
//! service, and the mail user's uid/gid after a login. [`restrict_access`] makes the switch
//! as Dovecot's `restrict_access()` does: primary group (with `privileged_gid` kept as the
//! saved gid), supplementary groups, chroot, uid last, then a check that root is really gone.
//!
//! Only a process started as root changes identity; otherwise every switch is skipped
//! (DESIGN.md §1: a developer's cote runs as the developer).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nix::unistd::{Gid, Group, Uid, User};

use super::settings::ServiceIdentity;

/// What a process should become (Dovecot's `restrict_access_settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restrict {
    pub uid: Option<u32>,
    /// Where the uid came from, for error messages (`userdb lookup`, `mail_uid setting`).
    pub uid_source: Option<String>,
    pub gid: Option<u32>,
    pub gid_source: Option<String>,
    /// Kept as the saved gid, for the moments that need it (mbox dotlocks).
    pub privileged_gid: Option<u32>,
    pub extra_groups: Vec<u32>,
    /// Whose system groups become the supplementary groups (`initgroups`).
    pub system_groups_user: Option<String>,
    pub chroot: Option<PathBuf>,
    /// Directory to change to after chroot (the user's home).
    pub home: Option<PathBuf>,
    pub first_valid_gid: u32,
    pub last_valid_gid: u32,
    pub allow_root: bool,
}

/// Whether this process can change identity at all.
pub fn is_root() -> bool {
    Uid::effective().is_root()
}

/// The directory this process chrooted to, once it did.
static CHROOT: OnceLock<PathBuf> = OnceLock::new();

/// `path` as this process sees it: inside a chroot, a path under the chroot directory starts
/// at `/`. Other paths are returned unchanged (and are out of reach).
pub fn visible_path(path: &Path) -> PathBuf {
    match CHROOT.get().and_then(|root| path.strip_prefix(root).ok()) {
        Some(rest) => Path::new("/").join(rest),
        None => path.to_path_buf(),
    }
}

/// `1000(alice)`, or the number alone for an id without a name.
fn uid_text(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => format!("{uid}({})", u.name),
        _ => uid.to_string(),
    }
}

fn gid_text(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => format!("{gid}({})", g.name),
        _ => gid.to_string(),
    }
}

fn errno_text(e: nix::Error) -> String {
    crate::errtext::os_error_text(&std::io::Error::from(e))
}

/// A numeric id or a user name, as `mail_uid` and userdb `uid` take it.
pub fn parse_uid(value: &str) -> Result<u32, String> {
    if let Ok(n) = value.parse::<u32>() {
        return Ok(n);
    }
    match User::from_name(value) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        Ok(None) => Err(format!("Unknown UID user '{value}'")),
        Err(e) => Err(format!("getpwnam({value}) failed: {}", errno_text(e))),
    }
}

/// A numeric id or a group name, as `mail_gid` and userdb `gid` take it.
pub fn parse_gid(value: &str) -> Result<u32, String> {
    if let Ok(n) = value.parse::<u32>() {
        return Ok(n);
    }
    match Group::from_name(value) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("Unknown GID group '{value}'")),
        Err(e) => Err(format!("getgrnam({value}) failed: {}", errno_text(e))),
    }
}

/// A user by name: its uid and primary gid (Dovecot's `get_uidgid`).
pub fn lookup_user(name: &str) -> Result<(u32, u32), String> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok((u.uid.as_raw(), u.gid.as_raw())),
        Ok(None) => Err(format!("User doesn't exist: {name}")),
        Err(e) => Err(format!("getpwnam({name}) failed: {}", errno_text(e))),
    }
}

/// A group by name or number (Dovecot's `get_gid`).
pub fn lookup_group(name: &str) -> Result<u32, String> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(n);
    }
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("Group doesn't exist: {name}")),
        Err(e) => Err(format!("getgrnam({name}) failed: {}", errno_text(e))),
    }
}

/// What a service's processes become (`service { user group extra_groups privileged_group
/// chroot }`), resolved in the master so a missing user stops startup with Dovecot's text.
pub fn service_restrict(
    name: &str,
    id: &ServiceIdentity,
    base_dir: &Path,
) -> Result<Restrict, String> {
    let mut r = Restrict {
        allow_root: !id.login,
        ..Restrict::default()
    };
    if !id.user.is_empty() {
        let (uid, gid) = lookup_user(&id.user).map_err(|e| match id.user_default {
            Some(setting) => format!("{e} (See {setting} setting)"),
            None => format!("{e} (See service {name} {{ user }} setting)"),
        })?;
        r.uid = Some(uid);
        r.gid = Some(gid);
    }
    if !id.group.is_empty() {
        r.gid = Some(
            lookup_group(&id.group)
                .map_err(|e| format!("{e} (See service {name} {{ group }} setting)"))?,
        );
    }
    if !id.privileged_group.is_empty() {
        r.privileged_gid = Some(
            lookup_group(&id.privileged_group)
                .map_err(|e| format!("{e} (See service {name} {{ privileged_group }} setting)"))?,
        );
    }
    for group in id.extra_groups.split([' ', ',']).filter(|g| !g.is_empty()) {
        r.extra_groups.push(
            lookup_group(group)
                .map_err(|e| format!("{e} (See service {name} {{ extra_groups }} setting)"))?,
        );
    }
    let chroot = id.chroot.trim_end_matches('/');
    if !id.chroot.is_empty() {
        r.chroot = Some(if chroot.starts_with('/') {
            PathBuf::from(chroot)
        } else if chroot.is_empty() {
            PathBuf::from("/")
        } else {
            base_dir.join(chroot)
        });
    }
    Ok(r)
}

/// The identity this service process took at startup (its extra groups stay with a mail
/// user, as in Dovecot).
static SERVICE_IDENTITY: OnceLock<Restrict> = OnceLock::new();

/// Applies a service's identity in its new process (as root; skipped otherwise).
pub fn drop_service_privileges(r: &Restrict) -> Result<(), String> {
    let _ = SERVICE_IDENTITY.set(r.clone());
    if !is_root() {
        return Ok(());
    }
    restrict_access(r)
}

/// The identity of this service process, if the master gave it one.
pub fn service_identity() -> Option<&'static Restrict> {
    SERVICE_IDENTITY.get()
}

/// The supplementary groups: system groups (kept within the valid gid range) or just the
/// primary group, plus the extra groups, plus the primary group when a privileged group
/// takes the effective slot now and then.
fn groups_list(r: &Restrict, primary: u32, preserve: bool) -> Result<Vec<Gid>, String> {
    let mut add_primary = r.privileged_gid.is_some();
    let mut list: Vec<u32> = Vec::new();
    if preserve {
        let current = nix::unistd::getgroups()
            .map_err(|e| format!("getgroups() failed: {}", errno_text(e)))?;
        list = current
            .into_iter()
            .map(Gid::as_raw)
            .filter(|g| {
                *g >= r.first_valid_gid && (r.last_valid_gid == 0 || *g <= r.last_valid_gid)
            })
            .collect();
        if list.contains(&primary) {
            add_primary = false;
        }
    }
    if list.is_empty() {
        list.push(primary);
        add_primary = false;
    }
    for gid in &r.extra_groups {
        if *gid != primary && !list.contains(gid) {
            list.push(*gid);
        }
    }
    if add_primary {
        list.push(primary);
    }
    Ok(list.into_iter().map(Gid::from_raw).collect())
}

/// Becomes what `r` says: Dovecot's order and checks. Only call as root; a process that is
/// not root keeps its identity (see [`is_root`]).
pub fn restrict_access(r: &Restrict) -> Result<(), String> {
    let euid = Uid::effective().as_raw();
    let primary = r.gid.unwrap_or_else(|| Gid::effective().as_raw());
    let privileged = r.privileged_gid.filter(|p| Some(*p) != r.gid);
    if r.gid.is_some() || privileged.is_some() {
        set_groups_ids(primary, privileged, r)?;
    }
    let mut preserve = false;
    if let Some(user) = r.system_groups_user.as_deref().filter(|u| !u.is_empty()) {
        let name = CString::new(user).map_err(|_| format!("Invalid user name: {user}"))?;
        nix::unistd::initgroups(&name, Gid::from_raw(primary)).map_err(|e| {
            format!(
                "initgroups({user}, {}) failed: {}",
                gid_text(primary),
                errno_text(e)
            )
        })?;
        preserve = true;
    }
    let groups = groups_list(r, primary, preserve)?;
    nix::unistd::setgroups(&groups).map_err(|e| {
        if e == nix::Error::EINVAL {
            "setgroups() failed: Too many extra groups".to_string()
        } else {
            format!("setgroups() failed: {}", errno_text(e))
        }
    })?;
    if let Some(dir) = &r.chroot {
        chroot(dir)?;
        if let Some(home) = &r.home {
            if let Err(e) = std::env::set_current_dir(home) {
                log::error!(
                    "chdir({}) failed: {}",
                    home.display(),
                    crate::errtext::os_error_text(&e)
                );
            }
        }
    }
    if let Some(uid) = r.uid {
        nix::unistd::setuid(Uid::from_raw(uid)).map_err(|e| {
            let source = r
                .uid_source
                .as_deref()
                .map_or(String::new(), |s| format!(" from {s}"));
            format!(
                "setuid({}{source}) failed with euid={}: {}",
                uid_text(uid),
                uid_text(euid),
                errno_text(e)
            )
        })?;
    }
    verify_dropped(r, primary, privileged)
}

/// A temporary change of identity (Dovecot's `MAIL_STORAGE_SERVICE_FLAG_TEMP_PRIV_DROP`, as
/// its lmtp does as root): the effective uid and gid and the groups become the user's, the
/// real and saved uid stay root so that dropping this restores what was. The saved gid
/// becomes the privileged group (or the user's gid), so that the mbox dotlock switch
/// ([`crate::fs::privileged`]) can reach nothing else meanwhile. Not for chroots.
#[derive(Debug)]
pub struct TempIdentity {
    groups: Vec<Gid>,
    egid: Gid,
    sgid: Gid,
}

/// Takes on `r`'s identity until the returned value is dropped. Only call as root, and only
/// for a `Restrict` without a chroot.
pub fn become_temporarily(r: &Restrict) -> Result<TempIdentity, String> {
    if r.chroot.is_some() {
        return Err("A chrooted user needs a process of its own".into());
    }
    let uid = r.uid.ok_or("User is missing UID (see mail_uid setting)")?;
    let saved_groups =
        nix::unistd::getgroups().map_err(|e| format!("getgroups() failed: {}", errno_text(e)))?;
    let ids =
        nix::unistd::getresgid().map_err(|e| format!("getresgid() failed: {}", errno_text(e)))?;
    let restore = TempIdentity {
        groups: saved_groups,
        egid: ids.effective,
        sgid: ids.saved,
    };
    let primary = r.gid.unwrap_or_else(|| ids.effective.as_raw());
    if let Some(user) = r.system_groups_user.as_deref().filter(|u| !u.is_empty()) {
        let name = CString::new(user).map_err(|_| format!("Invalid user name: {user}"))?;
        nix::unistd::initgroups(&name, Gid::from_raw(primary)).map_err(|e| {
            format!(
                "initgroups({user}, {}) failed: {}",
                gid_text(primary),
                errno_text(e)
            )
        })?;
    }
    let groups = groups_list(r, primary, r.system_groups_user.is_some())?;
    nix::unistd::setgroups(&groups)
        .map_err(|e| format!("setgroups() failed: {}", errno_text(e)))?;
    let keep = Gid::from_raw(u32::MAX);
    let saved = Gid::from_raw(r.privileged_gid.unwrap_or(primary));
    nix::unistd::setresgid(keep, Gid::from_raw(primary), saved).map_err(|e| {
        format!(
            "setresgid(-1,{},{}) failed: {}",
            gid_text(primary),
            gid_text(saved.as_raw()),
            errno_text(e)
        )
    })?;
    let keep = Uid::from_raw(u32::MAX);
    nix::unistd::setresuid(keep, Uid::from_raw(uid), keep)
        .map_err(|e| format!("seteuid({}) failed: {}", uid_text(uid), errno_text(e)))?;
    Ok(restore)
}

impl Drop for TempIdentity {
    fn drop(&mut self) {
        let keep_uid = Uid::from_raw(u32::MAX);
        let keep_gid = Gid::from_raw(u32::MAX);
        let restored = nix::unistd::setresuid(keep_uid, Uid::from_raw(0), keep_uid)
            .and_then(|()| nix::unistd::setresgid(keep_gid, self.egid, self.sgid))
            .and_then(|()| nix::unistd::setgroups(&self.groups));
        if let Err(e) = restored {
            // The next user's delivery would run with this one's identity: stop here.
            log::error!(
                "Restoring root privileges after a delivery failed: {}",
                errno_text(e)
            );
            std::process::abort();
        }
    }
}

/// The primary gid, with the privileged gid as the saved one.
fn set_groups_ids(primary: u32, privileged: Option<u32>, r: &Restrict) -> Result<(), String> {
    let p = Gid::from_raw(primary);
    match privileged {
        None => {
            if Gid::current() == p && Gid::effective() == p {
                return Ok(());
            }
            nix::unistd::setgid(p).map_err(|e| {
                let source = r
                    .gid_source
                    .as_deref()
                    .map_or(String::new(), |s| format!(" from {s}"));
                format!(
                    "setgid({}{source}) failed with euid={}, gid={}, egid={}: {}",
                    gid_text(primary),
                    uid_text(Uid::effective().as_raw()),
                    gid_text(Gid::current().as_raw()),
                    gid_text(Gid::effective().as_raw()),
                    errno_text(e)
                )
            })
        }
        Some(saved) => nix::unistd::setresgid(p, p, Gid::from_raw(saved)).map_err(|e| {
            format!(
                "setresgid({},{},{}) failed with euid={}: {}",
                gid_text(primary),
                gid_text(primary),
                gid_text(saved),
                uid_text(Uid::effective().as_raw()),
                errno_text(e)
            )
        }),
    }
}

fn chroot(dir: &Path) -> Result<(), String> {
    let c = CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| format!("Invalid chroot directory: {}", dir.display()))?;
    // SAFETY: chroot(2) with a valid C string.
    if unsafe { libc::chroot(c.as_ptr()) } != 0 {
        return Err(format!(
            "chroot({}) failed: {}",
            dir.display(),
            crate::errtext::os_error_text(&std::io::Error::last_os_error())
        ));
    }
    std::env::set_current_dir("/")
        .map_err(|e| format!("chdir(/) failed: {}", crate::errtext::os_error_text(&e)))?;
    let _ = CHROOT.set(dir.to_path_buf());
    Ok(())
}

/// Root must really be gone: neither uid 0 nor gid 0 may be regained.
fn verify_dropped(r: &Restrict, primary: u32, privileged: Option<u32>) -> Result<(), String> {
    let target = r.uid;
    if (target.is_some_and(|u| u != 0) || !r.allow_root)
        && nix::unistd::setuid(Uid::from_raw(0)).is_ok()
    {
        if !r.allow_root && matches!(target, None | Some(0)) {
            return Err("This process must not be run as root".into());
        }
        return Err("We couldn't drop root privileges".into());
    }
    let allow_root_gid = r.first_valid_gid == 0 && (primary == 0 || privileged == Some(0));
    if !allow_root_gid && target.is_some_and(|u| u != 0) {
        let root_gid = Gid::from_raw(0);
        if Gid::current() == root_gid
            || Gid::effective() == root_gid
            || nix::unistd::setgid(root_gid).is_ok()
        {
            if primary == 0 {
                return Err("GID 0 isn't permitted".into());
            }
            return Err(format!(
                "We couldn't drop root group privileges (wanted={}, gid={}, egid={})",
                gid_text(primary),
                gid_text(Gid::current().as_raw()),
                gid_text(Gid::effective().as_raw())
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_numbers_or_names() {
        assert_eq!(parse_uid("1000"), Ok(1000));
        assert_eq!(parse_uid("root"), Ok(0));
        assert_eq!(
            parse_uid("no-such-user-here"),
            Err("Unknown UID user 'no-such-user-here'".into())
        );
        assert_eq!(parse_gid("0"), Ok(0));
        assert_eq!(parse_gid("root"), Ok(0));
        assert!(parse_gid("no-such-group-here").is_err());
        assert_eq!(lookup_user("root"), Ok((0, 0)));
        assert_eq!(
            lookup_user("no-such-user-here"),
            Err("User doesn't exist: no-such-user-here".into())
        );
        assert_eq!(
            lookup_group("no-such-group-here"),
            Err("Group doesn't exist: no-such-group-here".into())
        );
    }

    #[test]
    fn groups_as_dovecot_builds_them() {
        let r = Restrict {
            extra_groups: vec![5, 100, 7],
            ..Restrict::default()
        };
        let raw = |v: Vec<Gid>| v.into_iter().map(Gid::as_raw).collect::<Vec<_>>();
        assert_eq!(raw(groups_list(&r, 100, false).unwrap()), [100, 5, 7]);
        let privileged = Restrict {
            privileged_gid: Some(8),
            ..Restrict::default()
        };
        // The primary group is the only one: no need to add it twice.
        assert_eq!(raw(groups_list(&privileged, 100, false).unwrap()), [100]);
    }

    #[test]
    fn service_identity_resolves_like_dovecot() {
        let id = ServiceIdentity {
            user: "root".into(),
            chroot: "login/".into(),
            login: true,
            ..ServiceIdentity::default()
        };
        let r = service_restrict("imap-login", &id, Path::new("/run/cote")).unwrap();
        assert_eq!((r.uid, r.gid), (Some(0), Some(0)));
        assert_eq!(r.chroot, Some(PathBuf::from("/run/cote/login")));
        assert!(!r.allow_root);
        let missing = ServiceIdentity {
            user: "no-such-user-here".into(),
            user_default: Some("default_login_user"),
            ..ServiceIdentity::default()
        };
        assert_eq!(
            service_restrict("imap-login", &missing, Path::new("/x")).unwrap_err(),
            "User doesn't exist: no-such-user-here (See default_login_user setting)"
        );
        let own = ServiceIdentity {
            user: "no-such-user-here".into(),
            ..ServiceIdentity::default()
        };
        assert_eq!(
            service_restrict("auth", &own, Path::new("/x")).unwrap_err(),
            "User doesn't exist: no-such-user-here (See service auth { user } setting)"
        );
        let groups = ServiceIdentity {
            extra_groups: "root, no-such-group-here".into(),
            ..ServiceIdentity::default()
        };
        assert_eq!(
            service_restrict("imap", &groups, Path::new("/x")).unwrap_err(),
            "Group doesn't exist: no-such-group-here (See service imap { extra_groups } setting)"
        );
    }

    #[test]
    fn paths_inside_a_chroot() {
        // No chroot in the test process: paths are unchanged.
        assert_eq!(
            visible_path(Path::new("/run/cote/login/login")),
            PathBuf::from("/run/cote/login/login")
        );
    }
}
