//! The ACL side of [`MailUser`]: the checks its operations make (Dovecot's `acl` plugin
//! hooks on opening, creating, deleting and renaming mailboxes and on listing them), and the
//! operations behind IMAP's ACL commands.

use std::collections::{BTreeMap, HashMap};

use super::MailUser;
use crate::storage::acl::{self, Acl, AclEntry, AclUpdate, ModifyMode, Names, Right};
use crate::storage::api::{ListedMailbox, Mailbox, OpenOptions};
use crate::storage::error::{ErrorKind, StorageError, StorageResult, NO_PERMISSION_TEXT};
use crate::storage::list::glob::Glob;
use crate::storage::namespace::NamespaceType;

/// Whether the user administers a mailbox (Dovecot's `acl_mailbox_open_as_admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCheck {
    Admin,
    /// The mailbox exists and can be seen, but without the `a` right.
    NotAdmin,
    /// The mailbox does not exist, or cannot be seen.
    NotFound,
}

/// A mailbox's ACL as GETACL shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclListing {
    /// Local and global entries, in the order Dovecot applies them.
    pub entries: Vec<AclEntry>,
    /// The mailbox's namespace type.
    pub kind: NamespaceType,
    /// The user owns the mailbox (a private namespace, `acl_user` unset or the user).
    pub owner: bool,
}

/// How LIST shows a mailbox under ACLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ListVisibility {
    /// As it is; `has_visible_children` corrects \HasChildren.
    Visible {
        has_visible_children: bool,
    },
    /// Without `l` but with visible children the patterns do not list: `\NonExistent`
    /// with children.
    ParentOnly,
    Hidden,
}

fn no_permission() -> StorageError {
    StorageError::new(ErrorKind::Perm, NO_PERMISSION_TEXT)
}

impl MailUser {
    /// The user's ACLs (`None`: the `acl` plugin is not loaded or has no `acl` setting).
    pub fn acl(&self) -> Option<&Acl> {
        self.acl.as_ref()
    }

    /// Puts the user's mail under `acl`.
    pub fn set_acl(&mut self, acl: Acl) {
        self.acl = Some(acl);
    }

    /// The namespace index and inner name of `vname`.
    fn locate(&mut self, vname: &str) -> StorageResult<(usize, String)> {
        self.find_namespace(vname)
    }

    /// The user's rights on `inner` of namespace `i` (`None` without ACLs).
    pub(super) fn acl_rights_at(&self, i: usize, inner: &str) -> StorageResult<Option<Names>> {
        let Some(acl) = &self.acl else {
            return Ok(None);
        };
        let ns = self.lists[i].namespace();
        acl.my_rights(ns, inner)
            .map(Some)
            .map_err(|e| e.finish(&ns.vname(inner)))
    }

    /// Checks the right opening needs (read; insert, or post for deliveries, to save) and
    /// returns the rights to apply to the opened mailbox.
    pub(super) fn acl_check_open(
        &self,
        i: usize,
        inner: &str,
        vname: &str,
        options: OpenOptions,
    ) -> StorageResult<Option<Names>> {
        let Some(rights) = self.acl_rights_at(i, inner)? else {
            return Ok(None);
        };
        let needed = if !options.save_only {
            Right::Read
        } else if matches!(self.info.service.as_str(), "lmtp" | "lda") {
            Right::Post
        } else {
            Right::Insert
        };
        if !rights.contains(needed.name()) {
            return Err(acl::denied(rights.contains(Right::Lookup.name()), vname));
        }
        Ok(Some(rights))
    }

    /// Wraps an opened mailbox in the rights [`acl_check_open`](Self::acl_check_open) gave.
    pub(super) fn acl_wrap(mailbox: Box<dyn Mailbox>, rights: Option<Names>) -> Box<dyn Mailbox> {
        match rights {
            Some(rights) => Box::new(acl::AclMailbox::new(mailbox, rights)),
            None => mailbox,
        }
    }

    /// CREATE needs `k` on the parent (Dovecot's `acl_mailbox_create`).
    pub(super) fn acl_check_create(&mut self, i: usize, inner: &str) -> StorageResult<()> {
        let Some(acl) = self.acl.clone() else {
            return Ok(());
        };
        let list = self.lists[i].as_mut();
        let parent = acl.parent(list, inner)?;
        if !acl.has(list.namespace(), &parent, Right::Create)? {
            return Err(no_permission());
        }
        Ok(())
    }

    /// After CREATE: the parent's entries become the new mailbox's. Failures are logged
    /// (the mailbox exists; Dovecot ignores them too).
    pub(super) fn acl_after_create(&mut self, i: usize, inner: &str) {
        let Some(acl) = self.acl.clone() else { return };
        let policy = self
            .settings
            .for_location(&self.lists[i].namespace().location);
        let list = self.lists[i].as_mut();
        match acl.copy_from_parent(list, inner, &policy.fs) {
            Ok(true) => self.acl_lists_changed(i),
            Ok(false) => {}
            Err(e) => log::error!(
                "acl: Failed to copy ACLs of the parent of {inner}: {}",
                e.internal().unwrap_or(e.client_text())
            ),
        }
    }

    /// DELETE needs `x` (Dovecot's `acl_mailbox_delete`).
    pub(super) fn acl_check_delete(&self, i: usize, inner: &str, vname: &str) -> StorageResult<()> {
        match self.acl_rights_at(i, inner)? {
            Some(r) if !r.contains(Right::Delete.name()) => {
                Err(acl::denied(r.contains(Right::Lookup.name()), vname))
            }
            _ => Ok(()),
        }
    }

    /// RENAME needs `x` on the old name and `k` on the new one's parent.
    pub(super) fn acl_check_rename(
        &mut self,
        i: usize,
        old_inner: &str,
        old: &str,
        new_inner: &str,
    ) -> StorageResult<()> {
        if self.acl.is_none() {
            return Ok(());
        }
        self.acl_check_delete(i, old_inner, old)?;
        self.acl_check_create(i, new_inner)
    }

    /// How LIST shows each of namespace `i`'s `mailboxes` (Dovecot's
    /// `acl_mailbox_list_info_is_visible`); `None` without ACLs.
    pub(super) fn acl_list_visibility(
        &self,
        i: usize,
        mailboxes: &[ListedMailbox],
        globs: &[Glob],
        patterns: &[String],
    ) -> StorageResult<Option<HashMap<String, ListVisibility>>> {
        if self.acl.is_none() {
            return Ok(None);
        }
        let ns = self.lists[i].namespace();
        let mut lookup: BTreeMap<&str, bool> = BTreeMap::new();
        for m in mailboxes {
            let rights = self.acl_rights_at(i, &m.name)?.unwrap_or_default();
            lookup.insert(&m.name, rights.contains(Right::Lookup.name()));
        }
        let listing_all_children = patterns.iter().any(|p| p.ends_with('*'));
        let sep = ns.separator;
        let mut out = HashMap::new();
        for m in mailboxes {
            let prefix = format!("{}{sep}", m.name);
            let visible_children: Vec<&str> = lookup
                .iter()
                .filter(|(name, seen)| **seen && name.starts_with(&prefix))
                .map(|(name, _)| *name)
                .collect();
            let visibility = if lookup.get(m.name.as_str()).copied().unwrap_or(false) {
                ListVisibility::Visible {
                    has_visible_children: !visible_children.is_empty(),
                }
            } else if !listing_all_children
                && !visible_children.is_empty()
                && !visible_children
                    .iter()
                    .any(|c| globs.iter().any(|g| g.matches(&ns.vname(c))))
            {
                ListVisibility::ParentOnly
            } else {
                ListVisibility::Hidden
            };
            out.insert(m.name.clone(), visibility);
        }
        Ok(Some(out))
    }

    /// MYRIGHTS: the user's rights on a mailbox.
    pub fn acl_my_rights(&mut self, vname: &str) -> StorageResult<Names> {
        let (i, inner) = self.locate(vname)?;
        match self.acl_rights_at(i, &inner)? {
            Some(r) => Ok(r),
            None => Err(StorageError::not_possible("ACLs disabled.")),
        }
    }

    /// Whether the user may see and change a mailbox's ACL.
    pub fn acl_admin(&mut self, vname: &str) -> StorageResult<AdminCheck> {
        let (i, inner) = self.locate(vname)?;
        let Some(rights) = self.acl_rights_at(i, &inner)? else {
            return Err(StorageError::not_possible("ACLs disabled."));
        };
        if !self.lists[i].exists(&inner)? {
            return Ok(AdminCheck::NotFound);
        }
        Ok(if rights.contains(Right::Admin.name()) {
            AdminCheck::Admin
        } else if rights.contains(Right::Lookup.name()) {
            AdminCheck::NotAdmin
        } else {
            AdminCheck::NotFound
        })
    }

    /// GETACL: a mailbox's entries.
    pub fn acl_listing(&mut self, vname: &str) -> StorageResult<AclListing> {
        let (i, inner) = self.locate(vname)?;
        let Some(acl) = &self.acl else {
            return Err(StorageError::not_possible("ACLs disabled."));
        };
        let ns = self.lists[i].namespace();
        let entries = acl.entries(ns, &inner).map_err(|e| e.finish(vname))?;
        Ok(AclListing {
            entries,
            kind: ns.config.kind,
            owner: acl.is_owner(ns),
        })
    }

    /// SETACL / DELETEACL: changes a mailbox's local entries. Dovecot answers any failure
    /// but a refusal with the internal-error text, and logs its cause (a missing directory
    /// included): so does this.
    pub fn acl_update(&mut self, vname: &str, update: &AclUpdate) -> StorageResult<()> {
        self.acl_update_inner(vname, update).map_err(|e| {
            match e.kind() {
                ErrorKind::NotPossible | ErrorKind::NotImplemented => e,
                _ => e.into_internal(),
            }
            .finish(vname)
        })
    }

    fn acl_update_inner(&mut self, vname: &str, update: &AclUpdate) -> StorageResult<()> {
        let (i, inner) = self.locate(vname)?;
        if self.acl.is_none() {
            return Err(StorageError::not_possible("ACLs disabled."));
        }
        // Dovecot opens the mailbox first, which makes a new user's INBOX (the directory
        // its dovecot-acl goes into).
        if self.lists[i].namespace().config.inbox && inner == "INBOX" {
            self.lists[i].open(&inner, OpenOptions::ACCESS)?;
        }
        let Some(acl) = &self.acl else {
            return Err(StorageError::not_possible("ACLs disabled."));
        };
        let ns = self.lists[i].namespace();
        let policy = self.settings.for_location(&ns.location);
        let changed = acl.update(ns, &inner, update, &policy.fs)?;
        // Dovecot rebuilds when the ACL changed and lookup rights may have with it (an
        // entry that was not there, or a DELETEACL of nothing, changes nothing).
        let lookup_changed = update
            .rights
            .as_ref()
            .is_some_and(|r| r.contains(Right::Lookup.name()))
            || matches!(update.mode, ModifyMode::Replace | ModifyMode::Clear);
        if changed && lookup_changed {
            self.acl_lists_changed(i);
        }
        Ok(())
    }

    /// The first time the session uses namespace `i`: a missing `dovecot-acl-list` is
    /// built, and the dict rebuilt after it, as Dovecot does when it reads an ACL of a
    /// namespace without the file (a store from before ACLs, or whose list was removed).
    /// Dovecot also makes the namespace's root for it; cote leaves a root that does not
    /// exist yet alone (its INBOX makes it).
    pub(super) fn acl_list_upkeep(&mut self, i: usize) {
        let Some(acl) = &self.acl else { return };
        if self.acl_lists_checked.contains(&i) {
            return;
        }
        self.acl_lists_checked.insert(i);
        let Some(path) = acl.acl_list_path(self.lists[i].namespace()) else {
            return;
        };
        let root_exists = path
            .parent()
            .is_some_and(|root| matches!(crate::fs::ops::stat_if_exists(root), Ok(Some(_))));
        if root_exists && matches!(crate::fs::ops::stat_if_exists(&path), Ok(None)) {
            self.acl_lists_changed(i);
        }
    }

    /// After a change that may give or take the lookup right in namespace `i` (the user's
    /// own, or an owner's under a shared root that the user administers a mailbox of): its
    /// `dovecot-acl-list` is rebuilt, then the user's session rebuilds `acl_shared_dict`
    /// (as Dovecot's vfile backend does: the dict only after the list was written).
    /// Failures are logged: the ACLs are changed.
    pub(super) fn acl_lists_changed(&mut self, i: usize) {
        let Some(acl) = self.acl.clone() else { return };
        let policy = self
            .settings
            .for_location(&self.lists[i].namespace().location);
        if let Err(e) = acl.rebuild_acl_list(self.lists[i].as_mut(), &policy.fs) {
            log::error!(
                "acl: dovecot-acl-list creation failed: {}",
                e.internal().unwrap_or(e.client_text())
            );
            return;
        }
        self.rebuild_shared_dict();
    }
}
