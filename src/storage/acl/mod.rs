//! Access control lists: Dovecot 2.3's `acl` plugin with its `vfile` backend.
//!
//! - [`rights`]: entries, identifiers and right names in the vfile format; which entries
//!   apply to a user and in what order; how SETACL/DELETEACL change them.
//! - [`vfile`]: the files — each mailbox's `dovecot-acl` (in the mailbox directory; INBOX's
//!   is the Maildir root's), the global ACL directory or file (`acl = vfile:/path`) — read
//!   and written as Dovecot does (dotlock, fsync, rename), so both servers share them.
//! - [`mailbox`]: [`AclMailbox`], the rights applied to an open mailbox (flags by `w`/`s`/`t`,
//!   expunges by `e`, saves by `i`, moves by `e` on the source).
//! - [`acllist`]: `dovecot-acl-list`, the mailboxes others may look up (Dovecot lists other
//!   users' shared mailboxes from it), rebuilt when SETACL/DELETEACL or CREATE's copied ACLs
//!   may change it, as Dovecot's vfile backend does; the user's own changes also rebuild
//!   `acl_shared_dict` ([`crate::storage::shared::dict`]).
//! - [`Acl`] (here): one user's view — settings, identity, who owns which namespace,
//!   default rights, the parent whose rights CREATE checks. In another user's shared
//!   namespace (`shared/bob/`) the owner's files apply and the user is not the owner.
//!
//! Settings: `acl`, `acl_user`, `acl_groups`, `acl_globals_only`, `acl_defaults_from_inbox`,
//! `acl_anyone`, `acl_shared_dict` (`file:` dicts).
//!
//! Not implemented (refused or absent, not faked):
//! - `acl_shared_dict` drivers other than `file` (refused); `dovecot-acl-list` and the dict
//!   are not rebuilt after DELETE and RENAME (Dovecot rebuilds its list when it reads an
//!   ACL file newer than the list says), nor the dict when someone with `a` changes another
//!   user's shared mailbox's ACL (Dovecot then adds keys it can never remove);
//! - `acl_ignore_namespace`, and the `cache_secs` cache (files are read at each check, so
//!   changes apply at once; an open mailbox keeps the rights it was opened with);
//! - mbox mailboxes' own `dovecot-acl` files (global ACLs apply to them; SETACL is refused);
//! - the `/private/vendor/vendor.dovecot/pvt/acl/` mailbox attributes, METADATA's own rule
//!   (`l` and one of `rswip`: cote asks for `r`), APPENDUID/COPYUID hidden without `r`,
//!   `k` ignored for `auto = create` mailboxes, and ACL checks on LIST (SUBSCRIBED) (LSUB
//!   does not check them in Dovecot either).

pub mod acllist;
pub mod mailbox;
pub mod rights;
pub mod vfile;

use std::path::{Path, PathBuf};

pub use mailbox::AclMailbox;
pub use rights::{AclEntry, AclUpdate, IdType, Identifier, Identity, ModifyMode, Names, Right};

use crate::fs::{CreatePerms, FsPolicy};
use crate::storage::api::MailboxList;
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::location::MailFormat;
use crate::storage::namespace::{Namespace, NamespaceType};

/// Where global ACLs come from (`acl = vfile:<path>`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum GlobalSource {
    /// A file of `<pattern> <id> <rights>` lines.
    File(PathBuf),
    /// The legacy directory: a file per full mailbox name.
    Dir(PathBuf),
}

/// The plugin settings that shape ACLs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AclSettings {
    global: Option<GlobalSource>,
    /// `acl_globals_only`: no `dovecot-acl` files are read or written.
    pub globals_only: bool,
    /// `acl_defaults_from_inbox`: INBOX's rights are the default object's.
    pub defaults_from_inbox: bool,
    /// `acl_anyone = allow`: SETACL may give rights to `anyone` and `authenticated`.
    pub anyone_allow: bool,
}

impl AclSettings {
    /// Parses the `acl` setting (Dovecot's `acl_backend_vfile_init`): `vfile`, or
    /// `vfile:<global path>[:cache_secs=<n>]`.
    pub fn parse(acl: &str) -> Result<AclSettings, String> {
        let data = match acl.strip_prefix("vfile:") {
            Some(d) => d,
            None if acl == "vfile" => "",
            None => {
                let backend = acl.split(':').next().unwrap_or(acl);
                return Err(format!("Unknown ACL backend: {backend}"));
            }
        };
        let mut parts = data.split(':');
        let path = parts.next().unwrap_or("");
        for param in parts {
            match param.strip_prefix("cache_secs=") {
                Some(v) if v.parse::<u32>().is_ok() => {}
                Some(v) => return Err(format!("acl vfile: Invalid cache_secs value: {v}")),
                None => return Err(format!("acl vfile: Unknown parameter: {param}")),
            }
        }
        let global = (!path.is_empty()).then(|| {
            let path = PathBuf::from(path);
            match crate::fs::ops::stat_if_exists(&path) {
                Ok(Some(st)) if !st.is_dir() => GlobalSource::File(path),
                _ => GlobalSource::Dir(path),
            }
        });
        Ok(AclSettings {
            global,
            ..AclSettings::default()
        })
    }
}

/// One user's ACLs.
#[derive(Debug, Clone)]
pub struct Acl {
    settings: AclSettings,
    identity: Identity,
    /// The user whose mail this is (private namespaces belong to them).
    owner: String,
}

/// A plugin setting of the user (userdb field first, then `plugin { }`).
pub type PluginSetting<'a> = &'a dyn Fn(&str) -> Option<String>;

fn setting_bool(get: PluginSetting, name: &str) -> bool {
    get(name).is_some_and(|v| {
        let v = v.to_ascii_lowercase();
        matches!(v.as_str(), "yes" | "y" | "1" | "true")
    })
}

impl Acl {
    /// The user's ACLs when the `acl` setting is present (Dovecot disables ACLs without
    /// it); a bad setting fails the session as Dovecot's fatal error would.
    pub fn from_settings(get: PluginSetting, username: &str) -> Result<Option<Acl>, String> {
        let Some(acl) = get("acl").filter(|a| !a.is_empty()) else {
            log::debug!("acl: No acl setting - ACLs are disabled");
            return Ok(None);
        };
        let mut settings = AclSettings::parse(&acl)?;
        settings.globals_only = setting_bool(get, "acl_globals_only");
        settings.defaults_from_inbox = setting_bool(get, "acl_defaults_from_inbox");
        settings.anyone_allow = get("acl_anyone").as_deref() == Some("allow");
        let acl_user = get("acl_user")
            .or_else(|| get("master_user"))
            .unwrap_or_else(|| username.to_string());
        let groups = get("acl_groups")
            .map(|g| g.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Some(Acl {
            settings,
            identity: Identity {
                username: Some(acl_user),
                groups,
            },
            owner: username.to_string(),
        }))
    }

    /// ACLs with explicit parts (tests and tools).
    pub fn new(settings: AclSettings, identity: Identity, owner: &str) -> Acl {
        Acl {
            settings,
            identity,
            owner: owner.to_string(),
        }
    }

    pub fn settings(&self) -> &AclSettings {
        &self.settings
    }

    /// `acl_groups`.
    pub fn groups(&self) -> &[String] {
        &self.identity.groups
    }

    /// The name rights are looked up for (`acl_user`, else the user).
    pub fn username(&self) -> Option<&str> {
        self.identity.username.as_deref()
    }

    /// Whether the user owns `ns` (Dovecot: only private namespaces, and only when
    /// `acl_user` is the user).
    pub fn is_owner(&self, ns: &Namespace) -> bool {
        ns.config.kind == NamespaceType::Private
            && self.identity.username.as_deref() == Some(self.owner.as_str())
    }

    /// The directory whose `dovecot-acl` holds a mailbox's local ACLs (`inner` empty: the
    /// namespace root, which has none when it is INBOX's directory).
    fn local_dir(&self, ns: &Namespace, inner: &str) -> Option<PathBuf> {
        // A shared namespace's root has no mailboxes, and no files.
        if self.settings.globals_only || ns.location.format == MailFormat::Shared {
            return None;
        }
        let mailbox_file = ns.location.format == MailFormat::Mbox;
        if inner.is_empty() {
            let root = if mailbox_file {
                ns.location.control_root()?.to_path_buf()
            } else {
                ns.location.root_dir()?.to_path_buf()
            };
            let inbox = ns.location.mailbox_paths("INBOX").mailbox;
            return (root != inbox).then_some(root);
        }
        let storage = ns.storage_name(inner).ok()?;
        let paths = ns.location.mailbox_paths(&storage);
        Some(if mailbox_file {
            paths.control
        } else {
            paths.mailbox
        })
    }

    /// The full name global ACLs match (`""` for the root).
    fn global_vname(ns: &Namespace, inner: &str) -> String {
        if inner.is_empty() {
            String::new()
        } else {
            ns.vname(inner)
        }
    }

    /// The global ACL file or directory, when configured.
    fn global_path(&self) -> Option<&Path> {
        match &self.settings.global {
            None => None,
            Some(GlobalSource::File(p) | GlobalSource::Dir(p)) => Some(p),
        }
    }

    fn global_entries(&self, vname: &str) -> StorageResult<Vec<AclEntry>> {
        match &self.settings.global {
            None => Ok(Vec::new()),
            Some(GlobalSource::File(path)) => Ok(vfile::GlobalFile::read(path)?.entries(vname)),
            Some(GlobalSource::Dir(dir)) => {
                Ok(vfile::read(&dir.join(vname), true)?.into_entries(true))
            }
        }
    }

    /// Every entry of a mailbox (`inner` empty: the root), local and global, sorted and
    /// merged as Dovecot applies them.
    pub fn entries(&self, ns: &Namespace, inner: &str) -> StorageResult<Vec<AclEntry>> {
        let mut entries = self.global_entries(&Self::global_vname(ns, inner))?;
        if let Some(dir) = self.local_dir(ns, inner) {
            entries.extend(vfile::read(&vfile::local_path(&dir), false)?.into_entries(false));
        }
        rights::sort_entries(&mut entries);
        Ok(entries)
    }

    /// The default object's name: the root, or INBOX with `acl_defaults_from_inbox` in
    /// private and shared namespaces.
    fn default_object(&self, ns: &Namespace) -> &'static str {
        if self.settings.defaults_from_inbox && ns.config.kind != NamespaceType::Public {
            "INBOX"
        } else {
            ""
        }
    }

    /// Rights that apply when a mailbox's own entries say nothing about the user.
    pub fn default_rights(&self, ns: &Namespace) -> StorageResult<Names> {
        let owner = self.is_owner(ns);
        let entries = self.entries(ns, self.default_object(ns))?;
        Ok(
            rights::my_rights(&entries, &self.identity, owner).unwrap_or_else(|| {
                if owner {
                    rights::all_rights()
                } else {
                    Names::new()
                }
            }),
        )
    }

    /// The rights the user has on a mailbox (`inner`: its name inside `ns`).
    pub fn my_rights(&self, ns: &Namespace, inner: &str) -> StorageResult<Names> {
        let entries = self.entries(ns, inner)?;
        match rights::my_rights(&entries, &self.identity, self.is_owner(ns)) {
            Some(r) => Ok(r),
            None => self.default_rights(ns),
        }
    }

    /// Whether the user has `right` on a mailbox.
    pub fn has(&self, ns: &Namespace, inner: &str, right: Right) -> StorageResult<bool> {
        Ok(self.my_rights(ns, inner)?.contains(right.name()))
    }

    /// The mailbox whose rights apply to creating `inner` (Dovecot's
    /// `acl_backend_vfile_object_init_parent`): the nearest parent that has global ACLs or
    /// exists, else the default object.
    pub fn parent(&self, list: &mut dyn MailboxList, inner: &str) -> StorageResult<String> {
        let ns = list.namespace().clone();
        let mut name = inner;
        while let Some((parent, _)) = name.rsplit_once(ns.separator) {
            if self.has_acl(&ns, list, parent)? {
                return Ok(parent.to_string());
            }
            name = parent;
        }
        Ok(self.default_object(&ns).to_string())
    }

    fn has_acl(
        &self,
        ns: &Namespace,
        list: &mut dyn MailboxList,
        inner: &str,
    ) -> StorageResult<bool> {
        let vname = Self::global_vname(ns, inner);
        let global = match &self.settings.global {
            None => false,
            Some(GlobalSource::File(path)) => vfile::GlobalFile::read(path)?.has_any(&vname),
            Some(GlobalSource::Dir(dir)) => {
                crate::fs::ops::stat_if_exists(&dir.join(&vname))?.is_some()
            }
        };
        Ok(global || list.exists(inner)?)
    }

    /// Where a mailbox's `dovecot-acl` is, for writing; mailboxes without one (mbox, or
    /// `acl_globals_only`) cannot have their ACLs changed.
    fn writable_path(&self, ns: &Namespace, inner: &str) -> StorageResult<PathBuf> {
        if ns.location.format == MailFormat::Mbox {
            return Err(StorageError::not_implemented(
                "Changing ACLs of mbox mailboxes is not supported by this build of cote",
            ));
        }
        let dir = self.local_dir(ns, inner).ok_or_else(|| {
            StorageError::critical(
                Some(&ns.vname(inner)),
                format!("Can't update acl object '{inner}': No local acl file path"),
            )
        })?;
        Ok(vfile::local_path(&dir))
    }

    /// SETACL / DELETEACL: changes the mailbox's local entries.
    pub fn update(
        &self,
        ns: &Namespace,
        inner: &str,
        update: &AclUpdate,
        policy: &FsPolicy,
    ) -> StorageResult<bool> {
        let path = self.writable_path(ns, inner)?;
        let perms = perms_of(&path)?;
        vfile::update(&path, update, &perms, policy).map_err(|e| e.in_mailbox(&ns.vname(inner)))
    }

    /// After CREATE: the new mailbox gets its parent's local entries (Dovecot's
    /// `acl_mailbox_copy_acls_from_parent`). Returns whether they give someone other than
    /// the owner the lookup right (`dovecot-acl-list` then needs a rebuild).
    pub fn copy_from_parent(
        &self,
        list: &mut dyn MailboxList,
        inner: &str,
        policy: &FsPolicy,
    ) -> StorageResult<bool> {
        let ns = list.namespace().clone();
        if ns.location.format == MailFormat::Mbox || self.settings.globals_only {
            return Ok(false);
        }
        let parent = self.parent(list, inner)?;
        let parent_entries: Vec<AclEntry> = self
            .entries(&ns, &parent)?
            .into_iter()
            .filter(|e| !e.global)
            .collect();
        if parent_entries.is_empty() {
            return Ok(false);
        }
        let Some(dir) = self.local_dir(&ns, inner) else {
            return Ok(false);
        };
        let path = vfile::local_path(&dir);
        let perms = perms_of(&path)?;
        vfile::write_entries(&path, &parent_entries, &perms, policy)?;
        Ok(parent_entries.iter().any(acllist::gives_nonowner_lookup))
    }
}

/// The permissions new files in the mailbox directory of `path` get.
fn perms_of(path: &Path) -> StorageResult<CreatePerms> {
    let dir = path.parent().unwrap_or(path);
    match CreatePerms::from_path(dir)? {
        Some(p) => Ok(p),
        None => Err(StorageError::new(
            ErrorKind::NotFound,
            crate::storage::error::mailbox_not_found_text(&dir.display().to_string()),
        )),
    }
}

/// Dovecot's failure for a mailbox the user may not use: "Permission denied" when they can
/// see it (`l`), else "Mailbox doesn't exist" (`acl_mailbox_fail_not_found`).
pub fn denied(can_see: bool, vname: &str) -> StorageError {
    if can_see {
        StorageError::new(ErrorKind::Perm, crate::storage::error::NO_PERMISSION_TEXT)
    } else {
        StorageError::not_found(vname)
    }
}
