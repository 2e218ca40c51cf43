//! The shared-namespace side of [`MailUser`]: other users' namespaces added under a shared
//! root when a name needs them or LIST finds them in `acl_shared_dict`, and that dict kept
//! up to date when the user changes ACLs (see [`crate::storage::shared`]).

use std::collections::BTreeSet;

use super::{new_list, MailUser};
use crate::storage::api::Mailbox;
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::location::{self, FsProbe, LocationOwner};
use crate::storage::namespace::{self, ListMode, Namespace, NamespaceConfig, NamespaceType};
use crate::storage::shared::dict::{self, SharedDict};
use crate::storage::shared::private::PrivateFlagsMailbox;
use crate::storage::shared::{owner_location, SharedName, UserLookup};

impl MailUser {
    /// Lets the user reach other users' mailboxes under shared namespaces (`shared/%%u/`):
    /// `lookup` asks the userdb about them.
    pub fn set_user_lookup(&mut self, lookup: Box<dyn UserLookup>) {
        self.user_lookup = Some(lookup);
    }

    /// Uses `dict` as `acl_shared_dict`.
    pub fn set_shared_dict(&mut self, dict: SharedDict) {
        self.shared_dict = Some(dict);
    }

    /// The namespace of a full name and the name inside it, adding the owner's namespace
    /// first when the name is under a shared root (`shared/bob/Team`).
    pub(super) fn find_namespace(&mut self, vname: &str) -> StorageResult<(usize, String)> {
        self.resolve_shared(vname)?;
        let namespaces: Vec<Namespace> = self.lists.iter().map(|l| l.namespace().clone()).collect();
        let found =
            namespace::find(&namespaces, vname).ok_or_else(|| StorageError::not_found(vname))?;
        self.acl_list_upkeep(found.0);
        Ok(found)
    }

    /// When `vname` is under a shared root and its owner has no namespace yet, adds it (an
    /// unknown owner adds nothing: their names then do not exist).
    fn resolve_shared(&mut self, vname: &str) -> StorageResult<()> {
        let namespaces: Vec<Namespace> = self.lists.iter().map(|l| l.namespace().clone()).collect();
        let Some((i, inner)) = namespace::find(&namespaces, vname) else {
            return Ok(());
        };
        let root = &namespaces[i];
        let Some(pattern) = &root.shared_pattern else {
            return Ok(());
        };
        if inner.is_empty() {
            return Ok(());
        }
        if let Some(name) =
            pattern.split(root.prefix(), &inner, root.separator, &self.info.username)?
        {
            self.add_shared_namespace(i, &name)?;
        }
        Ok(())
    }

    /// Adds the namespace of `name`'s owner under the shared root `root` (Dovecot's
    /// `shared_storage_get_namespace`). `Ok(false)`: the owner does not exist, has no home
    /// their location needs, or no mail there.
    fn add_shared_namespace(&mut self, root: usize, name: &SharedName) -> StorageResult<bool> {
        if self
            .lists
            .iter()
            .any(|l| l.namespace().prefix() == name.prefix)
        {
            return Ok(true);
        }
        let root_ns = self.lists[root].namespace().clone();
        let couldnt = |why: String| {
            StorageError::critical(
                None,
                format!(
                    "Couldn't create namespace '{}' for user {}: {why}",
                    root_ns.prefix(),
                    name.user
                ),
            )
        };
        let Some(lookup) = self.user_lookup.as_mut() else {
            return Err(couldnt("no userdb to look the user up in".into()));
        };
        let Some(owner) = lookup.lookup(&name.user).map_err(couldnt)? else {
            log::debug!(
                "shared: Tried to access mails of nonexistent user {}",
                name.user
            );
            return Ok(false);
        };
        let Some(loc) = owner_location(&root_ns.config.location, &owner)? else {
            return Ok(false);
        };
        // `~` stays the viewer's home (Dovecot expands it for the namespace's user).
        let location = location::resolve(
            &loc,
            LocationOwner {
                home: self.info.home.as_deref(),
                username: &owner.username,
                has_inbox: true,
            },
            &FsProbe,
        )
        .map_err(|e| {
            StorageError::new(ErrorKind::Temp, format!("Namespace '{}': {e}", name.prefix))
        })?;
        let exists = location
            .root_dir()
            .is_some_and(|dir| crate::fs::ops::stat_if_exists(dir).ok().flatten().is_some());
        if !exists {
            // This user has no usable storage.
            return Ok(false);
        }
        let config = NamespaceConfig {
            name: root_ns.config.name.clone(),
            kind: NamespaceType::Shared,
            prefix: name.prefix.clone(),
            separator: root_ns.separator.to_string(),
            inbox: false,
            hidden: true,
            // Listed only with mailboxes the user may see (Dovecot drops such namespaces).
            list: ListMode::Children,
            subscriptions: root_ns.config.subscriptions,
            location: loc,
            ignore_on_failure: false,
            mailboxes: Vec::new(),
        };
        let ns = Namespace::shared_owner(config, location, &owner.username)?;
        let list = new_list(ns, &self.settings, &owner.username);
        self.lists.push(list);
        self.add_owner_quota(self.lists.len() - 1, &owner);
        Ok(true)
    }

    /// `mailbox` (`name` in namespace `ns`) with this user's own `\Seen` when the
    /// namespace's location has `INDEXPVT=` (Dovecot applies it to any namespace type).
    pub(super) fn with_private_flags(
        &self,
        ns: usize,
        name: &str,
        mailbox: Box<dyn Mailbox>,
    ) -> StorageResult<Box<dyn Mailbox>> {
        let ns = self.lists[ns].namespace();
        if ns.location.settings.index_pvt_dir.is_none() {
            return Ok(mailbox);
        }
        let storage = ns.storage_name(name)?;
        let Some(dir) = ns.location.mailbox_paths(&storage).index_private else {
            return Ok(mailbox);
        };
        let public = ns.config.kind == NamespaceType::Public;
        let settings = self.settings.index.clone();
        Ok(Box::new(PrivateFlagsMailbox::open(
            mailbox, &dir, settings, public,
        )?))
    }

    /// Before LIST: the namespaces of every user whose shared mailboxes `acl_shared_dict`
    /// says the user may see (Dovecot's `acl_shared_namespaces_add`). Without the dict (or
    /// ACLs) nothing is added, as in Dovecot. Failures are logged and skip that owner.
    pub(super) fn add_listed_shared_namespaces(&mut self) -> StorageResult<()> {
        // LIST reads the ACLs of every namespace: missing lists are built first.
        for i in 0..self.lists.len() {
            self.acl_list_upkeep(i);
        }
        let (Some(dict), Some(acl)) = (&self.shared_dict, &self.acl) else {
            return Ok(());
        };
        let roots: Vec<usize> = (0..self.lists.len())
            .filter(|&i| self.lists[i].namespace().shared_pattern.is_some())
            .collect();
        if roots.is_empty() {
            return Ok(());
        }
        let policy = self.settings.fs.clone();
        let owners = dict.visible_owners(&self.info.username, acl.groups(), &policy)?;
        for owner in owners {
            if owner == self.info.username {
                continue;
            }
            for &root in &roots {
                let ns = self.lists[root].namespace();
                let Some(pattern) = &ns.shared_pattern else {
                    continue;
                };
                let name = match pattern.prefix_for(ns.prefix(), &owner) {
                    Ok(prefix) => SharedName {
                        user: owner.clone(),
                        prefix,
                    },
                    Err(e) => {
                        log::error!("{}", e.internal().unwrap_or(e.client_text()));
                        continue;
                    }
                };
                if let Err(e) = self.add_shared_namespace(root, &name) {
                    log::error!("{}", e.internal().unwrap_or(e.client_text()));
                }
            }
        }
        Ok(())
    }

    /// After a change of lookup rights (SETACL/DELETEACL, also on another user's mailbox
    /// through `shared/<owner>/`): `acl_shared_dict` gets the identifiers that the ACLs of
    /// every namespace with an owner give the lookup right (the user's private ones, and
    /// the owners' the session has added), as Dovecot's `acl_lookup_dict_rebuild` does in
    /// the user's session; only the user's own keys are removed. Failures are logged (the
    /// ACL change stands).
    pub(super) fn rebuild_shared_dict(&mut self) {
        let (Some(dict), Some(acl)) = (self.shared_dict.clone(), self.acl.clone()) else {
            return;
        };
        let user = self.info.username.clone();
        let mut keys = BTreeSet::new();
        let mut failed = false;
        for list in &mut self.lists {
            let ns = list.namespace().clone();
            let owner = match (&ns.owner, ns.config.kind) {
                (Some(owner), _) => owner.clone(),
                (None, NamespaceType::Private) => user.clone(),
                _ => continue,
            };
            let mailboxes = match list.mailboxes() {
                Ok(m) => m,
                Err(e) => {
                    log::error!("acl: {}", e.internal().unwrap_or(e.client_text()));
                    failed = true;
                    continue;
                }
            };
            for m in mailboxes.iter().filter(|m| m.selectable) {
                match acl.entries(&ns, &m.name) {
                    Ok(entries) => keys.extend(
                        entries
                            .iter()
                            .filter_map(|e| dict::entry_id(e, &owner))
                            .map(|id| (id, owner.clone())),
                    ),
                    Err(e) => {
                        log::error!("acl: {}", e.internal().unwrap_or(e.client_text()));
                        failed = true;
                    }
                }
            }
        }
        if let Err(e) = dict.rebuild(&user, &keys, failed, &self.settings.fs) {
            log::error!(
                "acl: dict commit failed: {}",
                e.internal().unwrap_or(e.client_text())
            );
        }
    }
}
