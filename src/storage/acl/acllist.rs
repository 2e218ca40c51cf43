//! `dovecot-acl-list`: the mailboxes of a namespace whose ACLs give someone other than the
//! owner the lookup right, one `<mtime> <storage name>` line each, in the namespace's root
//! (Dovecot's `acl-backend-vfile-acllist.c`). Dovecot lists other users' shared mailboxes
//! from it alone (it reads no `dovecot-acl` of a mailbox not in it), so whoever changes
//! ACLs rebuilds it; cote itself lists from the ACL files.

use std::os::unix::fs::MetadataExt;

use super::{vfile, Acl, AclEntry, IdType, Right};
use crate::fs::{CreatePerms, FsPolicy};
use crate::storage::api::MailboxList;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::location::MailFormat;
use crate::storage::namespace::Namespace;

/// The file's name.
pub const FILE_NAME: &str = "dovecot-acl-list";

/// Whether an entry gives the lookup right to someone other than the owner (Dovecot's
/// `acl_rights_has_nonowner_lookup_changes`).
pub fn gives_nonowner_lookup(entry: &AclEntry) -> bool {
    entry.id.kind != IdType::Owner
        && entry
            .rights
            .as_ref()
            .is_some_and(|r| r.contains(Right::Lookup.name()))
}

impl Acl {
    /// Rewrites the `dovecot-acl-list` of `list`'s namespace from its mailboxes' ACLs
    /// (Maildir namespaces with local ACL files only: elsewhere Dovecot writes none).
    pub fn rebuild_acl_list(
        &self,
        list: &mut dyn MailboxList,
        policy: &FsPolicy,
    ) -> StorageResult<()> {
        let ns = list.namespace().clone();
        let Some(path) = self.acl_list_path(&ns) else {
            return Ok(());
        };
        let root = path.parent().unwrap_or(std::path::Path::new("/"));
        let mut out = String::new();
        for m in list.mailboxes()?.iter().filter(|m| m.selectable) {
            let entries = self.entries(&ns, &m.name)?;
            if !entries.iter().any(gives_nonowner_lookup) {
                continue;
            }
            let storage = ns.storage_name(&m.name)?;
            // The local file's mtime, else the global ACLs' (Dovecot's object mtime).
            let local = self
                .local_dir(&ns, &m.name)
                .map(|dir| vfile::local_path(&dir));
            let global = self.global_path();
            let mtime = [local.as_deref(), global]
                .into_iter()
                .flatten()
                .find_map(|p| crate::fs::ops::stat_if_exists(p).ok().flatten())
                .map_or(0, |st| st.mtime());
            out.push_str(&format!("{mtime} {storage}\n"));
        }
        let perms = CreatePerms::from_path(root)?.unwrap_or_default();
        crate::fs::atomic::replace_file(&path, out.as_bytes(), &perms, policy)
            .map_err(|e| StorageError::from_fs(None, &e))
    }

    /// Where the namespace's `dovecot-acl-list` is (`None`: Dovecot keeps none there, or
    /// cote does not write one: global ACLs only, not Maildir).
    pub fn acl_list_path(&self, ns: &Namespace) -> Option<std::path::PathBuf> {
        if self.settings.globals_only
            || ns.location.format != MailFormat::Maildir
            || ns.shared_pattern.is_some()
        {
            return None;
        }
        Some(ns.location.root_dir()?.join(FILE_NAME))
    }
}
