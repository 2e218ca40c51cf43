//! [`MailUser`]: one user's mail — the user's identity, the storage settings, and the
//! namespaces built from the configuration (Dovecot's `mail_namespaces_init`: the configured
//! `namespace` sections, or the implicit INBOX namespace on `mail_location`) — and the
//! operations on full mailbox names that protocols call: open, create, delete, rename,
//! subscribe, status, LIST (in `list`).

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use crate::config::var_expand::{self, MailUserVars, Vars};
use crate::config::Settings;
mod acl;
mod list;
mod quota;
mod shared;

pub use acl::{AclListing, AdminCheck};
pub use quota::MailboxQuota;

use crate::storage::api::{Mailbox, MailboxList, MailboxStatus, OpenOptions};
use crate::storage::attribute::{AttributeMailbox, AttributeStore};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::list::MaildirList;
use crate::storage::location::{self, FsProbe, LocationOwner, MailFormat, MailLocation};
use crate::storage::mbox::list::MboxList;
use crate::storage::namespace::{self, Namespace, NamespaceConfig};
use crate::storage::quota::{Quota, QuotaMailbox, QuotaSettings, QuotaSource};
use crate::storage::settings::StorageSettings;

/// Who the user is, as the userdb said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailUserInfo {
    pub username: String,
    pub home: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// The userdb `mail` field (expanded by the userdb), overriding `mail_location`.
    pub mail: Option<String>,
    /// `imap`, `pop3`, `lmtp`...
    pub service: String,
    pub session: Option<String>,
    pub local_ip: Option<String>,
    pub remote_ip: Option<String>,
    /// Other userdb fields, for `%{userdb:...}`.
    pub userdb_fields: Option<Vec<(String, String)>>,
}

impl MailUserInfo {
    /// Who a delivery's user is (LMTP, the LDA): their mail variables and userdb fields.
    pub fn from_vars(
        vars: &crate::config::var_expand::MailUserVars,
        fields: &[(String, String)],
    ) -> MailUserInfo {
        MailUserInfo {
            username: vars.user.clone(),
            home: vars.home.clone(),
            uid: vars.uid,
            gid: vars.gid,
            mail: fields
                .iter()
                .find(|(k, _)| k == "mail")
                .map(|(_, v)| v.clone()),
            service: vars.service.clone(),
            session: vars.session.clone(),
            local_ip: vars.local_ip.clone(),
            remote_ip: vars.remote_ip.clone(),
            userdb_fields: Some(fields.to_vec()),
        }
    }
}

/// What LIST asks for besides the patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// Only subscribed mailboxes (LSUB, LIST (SUBSCRIBED)).
    pub subscribed_only: bool,
    /// Say which mailboxes are subscribed.
    pub return_subscribed: bool,
}

/// One user's mail.
pub struct MailUser {
    info: MailUserInfo,
    settings: Arc<StorageSettings>,
    lists: Vec<Box<dyn MailboxList>>,
    /// The quota plugin's state, when `mail_plugins` loads `quota` and a root or a maximum
    /// size is configured: every mailbox opened is then a [`QuotaMailbox`].
    quota: Option<Rc<RefCell<Quota>>>,
    /// Other users' quotas, for their mailboxes under shared roots (when `quota` is
    /// loaded).
    owner_quotas: Option<quota::OwnerQuotas>,
    /// `mail_attribute_dict` and the server's configured attributes (METADATA).
    attributes: AttributeStore,
    /// The `acl` plugin's view of the user, when loaded and configured.
    acl: Option<crate::storage::acl::Acl>,
    /// Looks other users up for shared namespaces (`shared/%%u/`).
    user_lookup: Option<Box<dyn crate::storage::shared::UserLookup>>,
    /// `acl_shared_dict`.
    shared_dict: Option<crate::storage::shared::dict::SharedDict>,
    /// The namespaces whose `dovecot-acl-list` the session has checked.
    acl_lists_checked: std::collections::HashSet<usize>,
}

/// A namespace's mailbox list, of the namespace's format.
fn new_list(
    ns: Namespace,
    settings: &Arc<StorageSettings>,
    username: &str,
) -> Box<dyn MailboxList> {
    if ns.shared_pattern.is_some() {
        return Box::new(crate::storage::shared::list::SharedRootList::new(ns));
    }
    let settings = settings.for_location(&ns.location);
    match ns.location.format {
        MailFormat::Mbox => Box::new(MboxList::new(ns, settings, username)),
        _ => Box::new(MaildirList::new(ns, settings)),
    }
}

/// The `plugin { }` section's settings.
fn plugin_section(settings: &Settings<'_>) -> Vec<(String, String)> {
    settings
        .strlist("plugin")
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A plugin setting's value for this user (see [`quota::plugin_value`]).
fn plugin_setting(settings: &Settings<'_>, info: &MailUserInfo, name: &str) -> Option<String> {
    quota::plugin_value(&plugin_section(settings), info, name)
}

impl MailUser {
    /// The user's storage from `settings` (a loaded configuration's, filtered for the
    /// connection). Fails as Dovecot does for namespace configuration errors, an unusable
    /// `mail_location`, and with a clear error for storage formats cote does not implement.
    pub fn new(settings: &Settings<'_>, info: MailUserInfo) -> StorageResult<MailUser> {
        let hostname = Some(settings.str("hostname").to_string()).filter(|h| !h.is_empty());
        let vars = Vars::mail_user(&MailUserVars {
            user: info.username.clone(),
            auth_user: None,
            service: info.service.clone(),
            home: info.home.clone(),
            local_ip: info.local_ip.clone(),
            remote_ip: info.remote_ip.clone(),
            uid: info.uid,
            gid: info.gid,
            session: info.session.clone(),
            hostname,
            userdb_fields: info.userdb_fields.clone(),
        });
        let expand = |template: &str| -> StorageResult<String> {
            var_expand::expand(template, &vars).map_err(|e| {
                StorageError::critical(None, format!("Failed to expand {template:?}: {e}"))
            })
        };
        let temp_dir = PathBuf::from(expand(settings.str("mail_temp_dir"))?);
        crate::fs::lock::mbox::MboxLockSettings::from_settings(settings)
            .map_err(|e| StorageError::new(ErrorKind::Temp, e))?;
        crate::storage::plugins::check(settings)
            .map_err(|e| StorageError::new(ErrorKind::Temp, e))?;
        let storage = Arc::new(StorageSettings::from_settings(settings, temp_dir));
        let mail_location = expand(settings.str("mail_location"))?;
        let mut configs = NamespaceConfig::from_settings(settings, &expand)?;
        let implicit = configs.is_empty();
        if implicit {
            configs.push(NamespaceConfig::implicit_inbox());
        }
        let attribute_template = settings.str("mail_attribute_dict");
        let home = info.home.clone();
        // %h without a home would name a file at the root: the dict is unusable instead.
        let attribute_dict = match home {
            None if var_expand::uses_var(attribute_template, b'h', "home") => Err(
                "userdb didn't return a home directory, but it's used in mail_attribute_dict"
                    .to_string(),
            ),
            _ => Ok(expand(attribute_template)?),
        };
        let mut user = MailUser::with_namespaces(info, storage, configs, &mail_location, implicit)?;
        user.attributes = AttributeStore::new(
            attribute_dict.as_deref().map_err(String::as_str),
            home.as_deref(),
            user.settings.fs.clone(),
            settings.str("mail_server_comment"),
            settings.str("mail_server_admin"),
        );
        if crate::storage::plugins::loaded(settings, "acl") {
            let acl = crate::storage::acl::Acl::from_settings(
                &|name| plugin_setting(settings, &user.info, name),
                &user.info.username,
            )
            .map_err(|e| StorageError::new(ErrorKind::Temp, e))?;
            user.acl = acl;
            if user.acl.is_some() {
                if let Some(uri) = plugin_setting(settings, &user.info, "acl_shared_dict") {
                    let dict = crate::storage::shared::dict::SharedDict::from_setting(
                        &uri,
                        user.info.home.as_deref(),
                    )?;
                    user.set_shared_dict(dict);
                }
            }
        }
        if crate::storage::plugins::loaded(settings, "quota") {
            user.owner_quotas = Some(quota::OwnerQuotas::new(plugin_section(settings)));
            let read = QuotaSettings::read(
                &|name| plugin_setting(settings, &user.info, name),
                &mut |warning| log::warn!("quota: {warning}"),
            )
            .map_err(|e| {
                StorageError::new(ErrorKind::Temp, format!("Failed to initialize quota: {e}"))
            })?;
            if let Some(quota) = read {
                user.set_quota(quota);
            }
        }
        Ok(user)
    }

    /// Puts the user's mail under `quota` (with its own instances of the namespaces'
    /// lists, for counting).
    pub fn set_quota(&mut self, quota: QuotaSettings) {
        let sources = self
            .lists
            .iter()
            .map(|l| {
                let ns = l.namespace().clone();
                QuotaSource {
                    policy: self.settings.for_location(&ns.location).fs.clone(),
                    list: new_list(ns.clone(), &self.settings, &self.info.username),
                    ns,
                }
            })
            .collect();
        let delivering = matches!(self.info.service.as_str(), "lmtp" | "lda");
        self.quota = Some(Rc::new(RefCell::new(Quota::new(
            quota, sources, delivering,
        ))));
    }

    /// The quota, when the user's mail is under one.
    pub fn quota(&self) -> Option<&Rc<RefCell<Quota>>> {
        self.quota.as_ref()
    }

    /// The user's storage from already-built parts (tests and tools).
    pub fn with_namespaces(
        info: MailUserInfo,
        settings: Arc<StorageSettings>,
        configs: Vec<NamespaceConfig>,
        mail_location: &str,
        implicit: bool,
    ) -> StorageResult<MailUser> {
        let mut namespaces = Vec::new();
        for config in configs {
            let loc = location::effective_location(
                Some(config.location.as_str()),
                info.mail.as_deref(),
                mail_location,
            )
            .to_string();
            let owner = LocationOwner {
                home: info.home.as_deref(),
                username: &info.username,
                has_inbox: config.inbox,
            };
            let ignore = config.ignore_on_failure;
            let prefix = config.prefix.clone();
            let shared_root =
                config.kind == namespace::NamespaceType::Shared && config.prefix.contains('%');
            let made = location::resolve(&loc, owner, &FsProbe)
                .map_err(|e| {
                    let text = if implicit && loc.is_empty() {
                        format!("mail_location not set and autodetection failed: {e}")
                    } else if implicit {
                        format!("Initializing mail storage from mail_location setting failed: {e}")
                    } else {
                        format!("Namespace '{prefix}': {e}")
                    };
                    StorageError::new(ErrorKind::Temp, text)
                })
                .and_then(|location| {
                    if shared_root {
                        // Each owner's namespace is made from this template.
                        let config = NamespaceConfig {
                            location: loc.clone(),
                            ..config
                        };
                        Namespace::shared_root(config, &location)
                    } else {
                        Namespace::new(config, location)
                    }
                });
            match made {
                Ok(ns) => namespaces.push(ns),
                Err(e) if ignore => {
                    log::debug!("Skipping namespace {prefix}: {}", e.client_text());
                }
                Err(e) => return Err(e),
            }
        }
        namespace::check(&namespaces)?;
        let lists = namespaces
            .into_iter()
            .map(|ns| new_list(ns, &settings, &info.username))
            .collect();
        Ok(MailUser {
            info,
            settings,
            lists,
            quota: None,
            owner_quotas: None,
            attributes: AttributeStore::disabled(),
            acl: None,
            user_lookup: None,
            shared_dict: None,
            acl_lists_checked: std::collections::HashSet::new(),
        })
    }

    pub fn info(&self) -> &MailUserInfo {
        &self.info
    }

    pub fn settings(&self) -> &StorageSettings {
        &self.settings
    }

    /// The settings that apply to files of `location` (see [`StorageSettings::for_location`]).
    pub fn settings_at(&self, location: &MailLocation) -> Arc<StorageSettings> {
        self.settings.for_location(location)
    }

    pub fn namespaces(&self) -> Vec<&Namespace> {
        self.lists.iter().map(|l| l.namespace()).collect()
    }

    /// The mailbox list a full name belongs to, and the name inside it.
    pub fn list_for(&mut self, vname: &str) -> StorageResult<(&mut dyn MailboxList, String)> {
        let (i, inner) = self.find_namespace(vname)?;
        Ok((self.lists[i].as_mut(), inner))
    }

    /// Opens a mailbox by its full name.
    pub fn open(&mut self, vname: &str, options: OpenOptions) -> StorageResult<Box<dyn Mailbox>> {
        let (i, inner) = self.find_namespace(vname)?;
        // Another user's mailbox counts against its owner's quota.
        let quota = self.quota_at(i);
        let rights = self.acl_check_open(i, &inner, vname, options)?;
        let mailbox = self.lists[i].open(&inner, options)?;
        let mailbox = self.with_private_flags(i, &inner, mailbox)?;
        let mailbox: Box<dyn Mailbox> = match quota {
            Some(q) => Box::new(QuotaMailbox::charging(
                mailbox,
                q.quota,
                q.source,
                self.quota.clone(),
            )),
            None => mailbox,
        };
        Ok(MailUser::acl_wrap(mailbox, rights))
    }

    /// A watch over changes this host makes to the mailbox lists (every namespace's root
    /// directory: creations, deletions, renames, subscriptions) and to `vnames`' messages
    /// (NOTIFY). Mailboxes that cannot be opened, and directories that do not exist, are
    /// left out: the periodic check still sees their changes.
    pub fn watch(&mut self, vnames: &[String]) -> StorageResult<crate::fs::DirWatch> {
        let mut dirs: Vec<std::path::PathBuf> = self
            .lists
            .iter()
            .filter_map(|l| l.namespace().root_dir().ok())
            .collect();
        for vname in vnames {
            if let Ok(mailbox) = self.open(vname, OpenOptions::ACCESS) {
                dirs.extend(mailbox.watch_dirs());
            }
        }
        dirs.sort();
        dirs.dedup();
        let dirs: Vec<&std::path::Path> = dirs.iter().map(std::path::PathBuf::as_path).collect();
        crate::fs::DirWatch::new_existing(&dirs).map_err(StorageError::from)
    }

    /// CREATE; a name ending with the separator asks for a directory only.
    pub fn create(&mut self, vname: &str) -> StorageResult<()> {
        let (i, inner) = self.find_namespace(vname)?;
        let sep = self.lists[i].namespace().separator;
        let (name, directory) = match inner.strip_suffix(sep) {
            Some(dir) => (dir.to_string(), true),
            None => (inner.clone(), false),
        };
        self.acl_check_create(i, &name)?;
        self.lists[i].create(&name, directory)?;
        self.acl_after_create(i, &name);
        Ok(())
    }

    /// The mailbox attributes (METADATA).
    pub fn attributes(&self) -> &AttributeStore {
        &self.attributes
    }

    /// The mailbox whose attributes METADATA uses: `Some(name)`, or `None` for the server's
    /// (kept with INBOX). Returns the name clients see too. Fails as opening it would.
    pub fn attribute_mailbox(
        &mut self,
        vname: Option<&str>,
    ) -> StorageResult<(String, AttributeMailbox)> {
        let vname = vname.unwrap_or("INBOX");
        let (i, inner) = self.find_namespace(vname)?;
        let ns = self.lists[i].namespace().clone();
        let ns = &ns;
        let settings = ns.mailbox_settings(&inner);
        let mut mailbox = self.open(vname, OpenOptions::ACCESS)?;
        let guid = mailbox.guid()?;
        Ok((
            ns.vname(&inner),
            AttributeMailbox {
                guid: crate::storage::maildir::uidlist::guid_hex(&guid),
                is_inbox: ns.config.inbox && inner == "INBOX",
                special_use: settings
                    .map(|s| s.special_use.join(" "))
                    .unwrap_or_default(),
                comment: settings.map(|s| s.comment.clone()).unwrap_or_default(),
            },
        ))
    }

    /// DELETE; under a quota, the mailbox's messages stop counting. Its attributes go first
    /// (as in Dovecot, a failure there keeps the mailbox).
    pub fn delete(&mut self, vname: &str) -> StorageResult<()> {
        if self.acl.is_some() {
            let (i, inner) = self.find_namespace(vname)?;
            self.acl_check_delete(i, &inner, vname)?;
        }
        if self.attributes.enabled() {
            // A mailbox that cannot be opened (a directory only) has no attributes.
            if let Ok((_, mb)) = self.attribute_mailbox(Some(vname)) {
                self.attributes
                    .delete_mailbox(&mb.guid, mb.is_inbox)
                    .map_err(|e| e.finish(vname))?;
            }
        }
        let (i, inner) = self.find_namespace(vname)?;
        let quota = self.quota_at(i);
        let list = self.lists[i].as_mut();
        let Some(quota) = quota else {
            return list.delete(&inner);
        };
        let before = list
            .open(&inner, OpenOptions::ACCESS)
            .and_then(|mut mb| mb.status())
            .ok();
        list.delete(&inner)?;
        if let Some(status) = before {
            let mut q = quota.quota.borrow_mut();
            let bytes = q.message_size(status.psize, status.vsize);
            let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
            q.update(quota.source, vname, -bytes, -i64::from(status.messages));
        }
        Ok(())
    }

    /// RENAME (within one namespace).
    pub fn rename(&mut self, old: &str, new: &str) -> StorageResult<()> {
        let (i, old_inner) = self.find_namespace(old)?;
        let (j, new_inner) = self.find_namespace(new)?;
        if i != j {
            return Err(StorageError::not_possible(
                "Can't rename mailboxes across specified storages.",
            ));
        }
        self.acl_check_rename(i, &old_inner, old, &new_inner)?;
        self.lists[i].rename(&old_inner, &new_inner)
    }

    /// SUBSCRIBE/UNSUBSCRIBE: in the namespace's own file when it has subscriptions, else
    /// in the file of the namespace with subscriptions whose prefix is the longest match,
    /// as Dovecot stores it there: the namespace's prefix and the storage name, without
    /// that namespace's prefix (`shared/alice/Team.Sub` for a Maildir++ `Team/Sub`).
    pub fn set_subscribed(&mut self, vname: &str, subscribed: bool) -> StorageResult<()> {
        let (i, inner) = self.find_namespace(vname)?;
        if self.lists[i].namespace().config.subscriptions {
            return self.lists[i].set_subscribed(&inner, subscribed);
        }
        let own_prefix = self.lists[i].namespace().prefix().to_string();
        let stored = format!("{own_prefix}{}", self.lists[i].storage_name(&inner));
        let target = self
            .lists
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                let ns = l.namespace();
                ns.config.subscriptions && vname.starts_with(ns.prefix())
            })
            .max_by_key(|(_, l)| l.namespace().prefix().len())
            .map(|(j, _)| j);
        let Some(j) = target else {
            return Err(StorageError::not_possible(
                "This namespace has no subscriptions",
            ));
        };
        let Some(stored) = stored.strip_prefix(self.lists[j].namespace().prefix()) else {
            return Err(StorageError::not_possible(
                "This namespace has no subscriptions",
            ));
        };
        let stored = stored.to_string();
        self.lists[j].set_subscribed_stored(&stored, subscribed)
    }

    /// Every subscribed full name.
    pub fn subscriptions(&mut self) -> StorageResult<Vec<String>> {
        // Other users' namespaces with subscriptions of their own (`subscriptions = yes`
        // on a shared namespace: the owner's file).
        self.add_listed_shared_namespaces()?;
        let mut out = Vec::new();
        for i in 0..self.lists.len() {
            let ns = self.lists[i].namespace().clone();
            if !ns.config.subscriptions {
                continue;
            }
            for name in self.lists[i].subscriptions()? {
                if ns.config.inbox && name == "INBOX" {
                    out.push(name);
                    continue;
                }
                // In another user's namespace, only what the user may look up.
                if ns.owner.is_some() {
                    let inner = if name.eq_ignore_ascii_case("INBOX") {
                        "INBOX"
                    } else {
                        &name
                    };
                    let visible = match self.acl_rights_at(i, inner) {
                        Ok(Some(rights)) => {
                            rights.contains(crate::storage::acl::Right::Lookup.name())
                        }
                        Ok(None) => true,
                        Err(_) => false,
                    };
                    if !visible {
                        continue;
                    }
                }
                out.push(ns.vname(&name));
            }
        }
        Ok(out)
    }

    /// STATUS of a mailbox by its full name.
    pub fn status(&mut self, vname: &str) -> StorageResult<MailboxStatus> {
        let mut mb = self.open(vname, OpenOptions::ACCESS)?;
        mb.status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn load(conf: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(
            &path,
            conf.replace("{dir}", &dir.path().display().to_string()),
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        (dir, config)
    }

    fn info(dir: &std::path::Path) -> MailUserInfo {
        MailUserInfo {
            username: "alice@example.com".into(),
            home: Some(dir.join("home/alice").display().to_string()),
            service: "imap".into(),
            ..MailUserInfo::default()
        }
    }

    #[test]
    fn namespaces_from_the_configuration() {
        let (dir, config) = load(
            "mail_location = maildir:{dir}/mail/%d/%n\n\
             namespace inbox {\n  inbox = yes\n  separator = /\n\
               mailbox Sent {\n    special_use = \\Sent\n    auto = subscribe\n  }\n}\n\
             namespace shared {\n  prefix = Public/\n  separator = /\n  location = maildir:{dir}/public\n  subscriptions = no\n}\n",
        );
        let mut user = MailUser::new(&config.global(), info(dir.path())).unwrap();
        let ns = user.namespaces();
        assert_eq!(ns.len(), 2);
        assert_eq!(ns[0].separator, '/');
        assert_eq!(
            ns[0].location.root_dir().unwrap(),
            dir.path().join("mail/example.com/alice")
        );
        assert_eq!(
            ns[0].mailbox_settings("Sent").unwrap().special_use,
            ["\\Sent"]
        );
        user.create("Public/News").unwrap();
        assert!(dir.path().join("public/.News/cur").is_dir());
        let mut mb = user.open("INBOX", OpenOptions::ACCESS).unwrap();
        assert_eq!(mb.status().unwrap().messages, 0);
        assert!(dir.path().join("mail/example.com/alice/cur").is_dir());
    }

    #[test]
    fn implicit_namespace_and_its_errors() {
        let (dir, config) = load("mail_location = maildir:~/Maildir\n");
        let user = MailUser::new(&config.global(), info(dir.path())).unwrap();
        assert_eq!(user.namespaces().len(), 1);
        assert!(user.namespaces()[0].config.inbox);
        let (_dir, config) = load("mail_location = mbox:~/mail\n");
        let user = MailUser::new(&config.global(), info(dir.path())).unwrap();
        assert_eq!(user.namespaces()[0].location.format, MailFormat::Mbox);
        let (_dir, config) = load("mail_location = mbox:~/mail\nmbox_write_locks = fcntl nope\n");
        let err = MailUser::new(&config.global(), info(dir.path()))
            .err()
            .unwrap();
        assert!(
            err.client_text().contains("mbox_write_locks"),
            "{}",
            err.client_text()
        );
        let (_dir, config) = load("mail_location = sdbox:~/dbox\n");
        let err = MailUser::new(&config.global(), info(dir.path()))
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::NotImplemented);
        for suffix in [":BROKENCHAR=_", ":UTF-8"] {
            let (_dir, config) = load(&format!("mail_location = maildir:~/Maildir{suffix}\n"));
            let err = MailUser::new(&config.global(), info(dir.path()))
                .err()
                .unwrap();
            assert_eq!(err.kind(), ErrorKind::NotImplemented, "{suffix}");
        }
        let (_dir, config) = load(
            "mail_location = maildir:~/Maildir\nnamespace a {\n  prefix = A/\n  separator = /\n}\n",
        );
        let err = MailUser::new(&config.global(), info(dir.path()))
            .err()
            .unwrap();
        assert_eq!(
            err.client_text(),
            "namespace configuration error: inbox=yes namespace missing"
        );
        let no_home = MailUserInfo {
            home: None,
            ..info(dir.path())
        };
        let (_dir, config) = load("mail_location = maildir:~/Maildir\n");
        let err = MailUser::new(&config.global(), no_home).err().unwrap();
        assert!(
            err.client_text().contains("Home directory not set"),
            "{}",
            err.client_text()
        );
    }
}
