//! [`MaildirList`]: one namespace's Maildir mailboxes (Maildir++ or `LAYOUT=fs`) —
//! enumerating them with their parents, CREATE, DELETE, RENAME (children too) and the
//! subscriptions file — with Dovecot 2.3's rules and texts (`mailbox-list-maildir.c`,
//! `mailbox-list-fs.c`, `mailbox-list-delete.c`, `mail-storage.c`).

pub mod glob;

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fs::{ops, CreatePerms, FsError};
use crate::index::mailbox::MailboxIndex;
use crate::index::transaction::IndexTransaction;
use crate::storage::api::{ListedMailbox, Mailbox, MailboxList, OpenOptions};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::location::Layout;
use crate::storage::maildir::layout::{self, maildir_plus_plus_folder, TRASH_DIR};
use crate::storage::maildir::mailbox::MaildirMailbox;
use crate::storage::maildir::{subscriptions_file, MaildirError};
use crate::storage::mutf7;
use crate::storage::names;
use crate::storage::namespace::{AutoMailbox, Namespace};
use crate::storage::settings::StorageSettings;

pub(crate) use crate::fs::ops::remove_tree;

/// One namespace's Maildir mailboxes.
pub struct MaildirList {
    ns: Namespace,
    settings: Arc<StorageSettings>,
}

impl MaildirList {
    pub fn new(ns: Namespace, settings: Arc<StorageSettings>) -> MaildirList {
        MaildirList { ns, settings }
    }

    fn list_sep(&self) -> char {
        self.ns.rules.list_sep
    }

    /// Storage names of every mailbox directory on disk, each with whether it is a mailbox
    /// (`cur/` there, for `LAYOUT=fs`; every folder directory for Maildir++).
    fn on_disk(&self) -> StorageResult<Vec<(String, bool)>> {
        let root = self.ns.root_dir()?;
        let mut out = Vec::new();
        match self.ns.location.layout {
            Layout::MaildirPlusPlus | Layout::Imapdir => {
                let entries = match ops::read_dir(&root) {
                    Ok(e) => e,
                    Err(e) if e.is_not_found() => return Ok(out),
                    Err(e) => return Err(e.into()),
                };
                for entry in entries {
                    let raw = entry.name.as_bytes();
                    let storage = if self.ns.location.layout == Layout::Imapdir {
                        (raw.first() != Some(&b'.')).then_some(raw)
                    } else {
                        maildir_plus_plus_folder(raw)
                    };
                    let Some(storage) = storage else { continue };
                    if matches!(storage, b"cur" | b"new" | b"tmp") {
                        continue;
                    }
                    if !self.is_dir_entry(&root.join(&entry.name), entry.kind)? {
                        continue;
                    }
                    let Ok(storage) = std::str::from_utf8(storage) else {
                        continue;
                    };
                    out.push((storage.to_string(), true));
                }
            }
            Layout::Fs | Layout::Index | Layout::None => {
                self.walk_fs(&root, "", &mut out)?;
            }
        }
        Ok(out)
    }

    /// Whether a directory entry is a directory: readdir's type when it gives one (unless
    /// `maildir_stat_dirs`), else a stat().
    fn is_dir_entry(&self, path: &Path, kind: Option<ops::EntryKind>) -> StorageResult<bool> {
        match kind {
            Some(ops::EntryKind::Dir) if !self.settings.maildir.stat_dirs => Ok(true),
            Some(ops::EntryKind::File) | Some(ops::EntryKind::Other) => Ok(false),
            _ => Ok(ops::stat_if_exists(path)?.is_some_and(|st| st.is_dir())),
        }
    }

    fn walk_fs(
        &self,
        dir: &Path,
        prefix: &str,
        out: &mut Vec<(String, bool)>,
    ) -> StorageResult<()> {
        let entries = match ops::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let dirname = &self.ns.location.settings.maildir_name;
        for entry in entries {
            let raw = entry.name.as_bytes();
            if raw.first() == Some(&b'.') {
                continue;
            }
            let Ok(name) = std::str::from_utf8(raw) else {
                continue;
            };
            if dirname.is_empty() && matches!(name, "cur" | "new" | "tmp") {
                continue;
            }
            if !dirname.is_empty() && name == dirname {
                continue;
            }
            let path = dir.join(&entry.name);
            if !self.is_dir_entry(&path, entry.kind)? {
                continue;
            }
            let storage = format!("{prefix}{name}");
            let mailbox_dir = if dirname.is_empty() {
                path.clone()
            } else {
                path.join(dirname)
            };
            let selectable = layout::is_maildir(&mailbox_dir)?;
            out.push((storage.clone(), selectable));
            self.walk_fs(&path, &format!("{storage}/"), out)?;
        }
        Ok(())
    }

    /// Marks an existing mailbox's index deleted, so open sessions notice and close it.
    fn mark_deleted(&self, storage: &str) {
        let paths = self.ns.location.mailbox_paths(storage);
        let Some(index_dir) = paths.index else { return };
        let mut settings = self.settings.index.clone();
        if let Ok(Some(perms)) = CreatePerms::from_path(&paths.mailbox) {
            settings.perms = perms;
        }
        if let Ok(mut index) = MailboxIndex::open(&index_dir, settings) {
            let mut tx = IndexTransaction::new();
            tx.set_deleted(true);
            if let Err(e) = index.commit(&tx) {
                log::error!(
                    "Mailbox {}: marking it deleted: {e}",
                    self.ns.vname(storage)
                );
            }
        }
    }

    /// The directories besides the mail directory that belong to a mailbox (`CONTROL=`,
    /// `INDEX=`, `INDEXCACHE=` when elsewhere).
    fn side_dirs(&self, storage: &str) -> Vec<PathBuf> {
        let p = self.ns.location.mailbox_paths(storage);
        let mut dirs: Vec<PathBuf> = [Some(p.control), p.index, p.index_cache]
            .into_iter()
            .flatten()
            .filter(|d| *d != p.mailbox)
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// Removes a mailbox's own files from a directory that may also hold children's
    /// directories (`LAYOUT=fs`); removes the directory when nothing is left.
    fn remove_own_files(&self, dir: &Path) -> Result<(), FsError> {
        let entries = match ops::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut children = false;
        for entry in entries {
            let path = dir.join(&entry.name);
            let name = entry.name.as_bytes();
            let is_dir = ops::lstat_if_exists(&path)?.is_some_and(|st| st.is_dir());
            if is_dir && !matches!(name, b"cur" | b"new" | b"tmp") {
                children = true;
                continue;
            }
            remove_tree(&path)?;
        }
        if !children {
            match ops::rmdir(dir) {
                Err(e) if e.is_not_found() => {}
                Err(e) if e.errno() == Some(libc::ENOTEMPTY) => {}
                other => other?,
            }
        }
        Ok(())
    }

    fn delete_inner(&mut self, name: &str) -> StorageResult<()> {
        let vname = self.ns.vname(name);
        if names::is_inbox(&self.ns.rules, name) {
            return Err(StorageError::not_possible("INBOX can't be deleted."));
        }
        if name.is_empty() {
            return Err(StorageError::params("Storage root can't be deleted"));
        }
        let storage = self.ns.storage_name(name)?;
        let paths = self.ns.location.mailbox_paths(&storage);
        let exists = layout::is_maildir(&paths.mailbox)?;
        if !exists {
            if self.ns.location.layout == Layout::Fs
                && ops::stat_if_exists(&paths.mailbox)?.is_some_and(|st| st.is_dir())
            {
                // A \Noselect directory: removed when empty.
                return match ops::rmdir(&paths.mailbox) {
                    Ok(()) => Ok(()),
                    Err(e) if matches!(e.errno(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) => {
                        Err(StorageError::exists(
                            "Mailbox has children, can't delete it",
                        ))
                    }
                    Err(e) => Err(e.into()),
                };
            }
            if self.ns.is_auto(name) {
                // Clients see it as existing: deleting it is not an error.
                return Ok(());
            }
            return Err(StorageError::not_found(&vname));
        }
        self.mark_deleted(&storage);
        match self.ns.location.layout {
            Layout::MaildirPlusPlus | Layout::Imapdir => {
                // Out of sight in one rename, then removed at leisure.
                let trash = self.ns.root_dir()?.join(TRASH_DIR);
                remove_tree(&trash)?;
                match ops::rename(&paths.mailbox, &trash) {
                    // The mailbox is deleted with this rename: what is left is cleaning up,
                    // whose failure must not make the client believe it still exists. (The
                    // trash name is shared by every process and host: another one may be
                    // removing it too, or put its own there next.)
                    Ok(()) => {
                        if let Err(e) = remove_tree(&trash) {
                            log::error!(
                                "Mailbox {vname}: deleted, but removing {} failed (the next \
                                 DELETE removes it): {e}",
                                trash.display()
                            );
                        }
                    }
                    Err(e) if e.is_not_found() => return Err(StorageError::not_found(&vname)),
                    Err(e) => return Err(e.into()),
                }
            }
            _ => self.remove_own_files(&paths.mailbox)?,
        }
        for dir in self.side_dirs(&storage) {
            let removed = match self.ns.location.layout {
                Layout::MaildirPlusPlus | Layout::Imapdir => remove_tree(&dir),
                _ => self.remove_own_files(&dir),
            };
            if let Err(e) = removed {
                log::error!(
                    "Mailbox {vname}: deleted, but removing {} failed: {e}",
                    dir.display()
                );
            }
        }
        Ok(())
    }

    fn rename_inner(&mut self, old: &str, new: &str) -> StorageResult<()> {
        if names::is_inbox(&self.ns.rules, old) {
            return Err(StorageError::not_possible(
                "Renaming INBOX isn't supported.",
            ));
        }
        if old.is_empty() {
            return Err(StorageError::params("Can't rename mailbox root"));
        }
        let old_storage = self.ns.storage_name(old)?;
        let new_storage = self.ns.storage_name_for_create(new)?;
        if old_storage == new_storage {
            return Err(StorageError::exists("Can't rename mailbox to itself."));
        }
        let old_paths = self.ns.location.mailbox_paths(&old_storage);
        let new_paths = self.ns.location.mailbox_paths(&new_storage);
        let sep = self.list_sep();
        let child_prefix = format!("{old_storage}{sep}");
        let children: Vec<String> = match self.ns.location.layout {
            Layout::MaildirPlusPlus | Layout::Imapdir => self
                .on_disk()?
                .into_iter()
                .map(|(s, _)| s)
                .filter(|s| s.starts_with(&child_prefix) && *s != new_storage)
                .collect(),
            // The directory holds its children: they move with it.
            _ => Vec::new(),
        };
        if let Some(parent) = new_paths.mailbox.parent() {
            if self.ns.location.layout == Layout::Fs {
                let perms = layout::root_perms(&self.ns.location)?;
                ops::mkdir_parents(parent, &perms)?;
            }
        }
        let found = match ops::rename(&old_paths.mailbox, &new_paths.mailbox) {
            Ok(()) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) if matches!(e.errno(), Some(libc::EEXIST) | Some(libc::ENOTEMPTY)) => {
                return Err(StorageError::exists("Target mailbox already exists"));
            }
            Err(e) => return Err(e.into()),
        };
        if found {
            self.rename_side_dirs(&old_storage, &new_storage);
        }
        let mut moved_child = false;
        for child in &children {
            let new_child = format!("{new_storage}{}", &child[old_storage.len()..]);
            let from = self.ns.location.mailbox_paths(child).mailbox;
            let to = self.ns.location.mailbox_paths(&new_child).mailbox;
            match ops::rename(&from, &to) {
                Ok(()) => {
                    moved_child = true;
                    self.rename_side_dirs(child, &new_child);
                }
                // Both have a child of that name: it stays under the old name (Dovecot).
                Err(e) if matches!(e.errno(), Some(libc::EEXIST) | Some(libc::ENOTEMPTY)) => {
                    moved_child = true;
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !found && !moved_child {
            return Err(StorageError::not_found(&self.ns.vname(old)));
        }
        Ok(())
    }

    fn rename_side_dirs(&self, old: &str, new: &str) {
        let olds = self.side_dirs(old);
        let news = self.side_dirs(new);
        for (from, to) in olds.iter().zip(&news) {
            if from == to {
                continue;
            }
            if let Some(parent) = to.parent() {
                if let Err(e) = ops::mkdir_parents(parent, &CreatePerms::default()) {
                    log::error!("{e}");
                    continue;
                }
            }
            match ops::rename(from, to) {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => log::error!("{e}"),
            }
        }
    }

    fn subscriptions_path(&self) -> StorageResult<PathBuf> {
        self.ns
            .location
            .subscriptions_path()
            .ok_or_else(|| StorageError::not_possible("Subscriptions not supported"))
    }

    /// A name relative to this namespace as the subscriptions file keeps it: its levels
    /// (split at the namespace separator) in modified UTF-7, joined by the layout's.
    /// Sets `storage` (levels split at the list separator) in the subscriptions file.
    fn write_subscription(&self, storage: &str, subscribed: bool) -> StorageResult<()> {
        let path = self.subscriptions_path()?;
        let perms = layout::root_perms(&self.ns.location)?;
        subscriptions_file::set_subscribed(
            &path,
            &perms,
            &self.settings.fs,
            storage.as_bytes(),
            self.list_sep() as u8,
            subscribed,
        )?;
        Ok(())
    }

    fn subscription_storage(&self, name: &str) -> String {
        if names::is_inbox(&self.ns.rules, name) {
            return "INBOX".to_string();
        }
        name.split(self.ns.separator)
            .map(mutf7::encode)
            .collect::<Vec<_>>()
            .join(&self.list_sep().to_string())
    }
}

/// A namespace's mailboxes from what is on its disk (storage names, each with whether it
/// is a mailbox): their names inside the namespace, INBOX and the auto mailboxes, every
/// parent that exists only as the path to a child (\Noselect), and their children;
/// `no_inferiors` says which mailboxes can have none (mbox files).
pub(crate) fn listing(
    ns: &Namespace,
    on_disk: Vec<(String, bool)>,
    no_inferiors: impl Fn(&str) -> bool,
) -> Vec<ListedMailbox> {
    let vprefix = ns.prefix();
    let mut found: BTreeMap<String, bool> = BTreeMap::new();
    for (storage, selectable) in on_disk {
        match names::vname(&ns.rules, storage.as_bytes()) {
            Ok(v) => {
                found.insert(v, selectable);
            }
            Err(e) => log::debug!("Namespace '{vprefix}': skipping mailbox {storage}: {e}"),
        }
    }
    if ns.has_inbox() {
        found.insert("INBOX".to_string(), true);
    }
    for m in &ns.config.mailboxes {
        if m.auto != AutoMailbox::No {
            found.entry(m.name.clone()).or_insert(true);
        }
    }
    let sep = ns.separator;
    let names: Vec<String> = found.keys().cloned().collect();
    for name in names {
        let mut end = 0;
        while let Some(i) = name[end..].find(sep) {
            let parent = &name[..end + i];
            found.entry(parent.to_string()).or_insert(false);
            end += i + sep.len_utf8();
        }
    }
    let all: Vec<String> = found.keys().cloned().collect();
    found
        .into_iter()
        .map(|(name, selectable)| {
            let child = format!("{name}{sep}");
            let has_children = all.iter().any(|o| o.starts_with(&child));
            ListedMailbox {
                no_inferiors: selectable && !has_children && no_inferiors(&name),
                name,
                selectable,
                has_children,
            }
        })
        .collect()
}

impl MailboxList for MaildirList {
    fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn mailboxes(&mut self) -> StorageResult<Vec<ListedMailbox>> {
        let vprefix = self.ns.prefix().to_string();
        let on_disk = self.on_disk().map_err(|e| e.finish(&vprefix))?;
        Ok(listing(&self.ns, on_disk, |_| false))
    }

    fn exists(&mut self, name: &str) -> StorageResult<bool> {
        let storage = self.ns.storage_name(name)?;
        if self.ns.always_exists(name) {
            return Ok(true);
        }
        let paths = self.ns.location.mailbox_paths(&storage);
        layout::is_maildir(&paths.mailbox)
            .map_err(|e| StorageError::from(e).finish(&self.ns.vname(name)))
    }

    fn create(&mut self, name: &str, directory: bool) -> StorageResult<()> {
        let vname = self.ns.vname(name);
        let result = (|| {
            let storage = self.ns.storage_name_for_create(name)?;
            if storage.is_empty() {
                return Err(StorageError::params("Invalid mailbox name: Name is empty"));
            }
            let paths = self.ns.location.mailbox_paths(&storage);
            if directory && self.ns.location.layout == Layout::Fs {
                if ops::stat_if_exists(&paths.mailbox)?.is_some() {
                    return Err(StorageError::exists("Mailbox already exists"));
                }
                let perms = layout::root_perms(&self.ns.location)?;
                ops::mkdir_parents(&paths.mailbox, &perms)?;
                return Ok(());
            }
            match layout::create_mailbox(&self.ns.location, &storage) {
                Ok(true) => Ok(()),
                Ok(false) => Err(StorageError::exists("Mailbox already exists")),
                Err(MaildirError::Fs(e)) if e.is_exists() => {
                    Err(StorageError::exists("Mailbox already exists"))
                }
                Err(e) => Err(e.into()),
            }
        })();
        result.map_err(|e| e.finish(&vname))
    }

    fn delete(&mut self, name: &str) -> StorageResult<()> {
        self.delete_inner(name)
            .map_err(|e| e.finish(&self.ns.vname(name)))
    }

    fn rename(&mut self, old: &str, new: &str) -> StorageResult<()> {
        self.rename_inner(old, new)
            .map_err(|e| e.finish(&self.ns.vname(old)))
    }

    fn subscriptions(&mut self) -> StorageResult<Vec<String>> {
        let path = self.subscriptions_path()?;
        let subs = subscriptions_file::read(&path)
            .map_err(|e| StorageError::from(e).finish(self.ns.prefix()))?;
        let list_sep = self.list_sep() as u8;
        let mut out = Vec::new();
        for storage in subs.names(list_sep) {
            if storage == b"INBOX" {
                out.push("INBOX".to_string());
                continue;
            }
            let mut levels = Vec::new();
            let mut ok = true;
            for level in storage.split(|&c| c == list_sep) {
                match mutf7::decode(level) {
                    Ok(l) => levels.push(l),
                    Err(_) => ok = false,
                }
            }
            if ok {
                out.push(levels.join(&self.ns.separator.to_string()));
            }
        }
        for m in &self.ns.config.mailboxes {
            if m.auto == AutoMailbox::Subscribe && !out.contains(&m.name) {
                out.push(m.name.clone());
            }
        }
        Ok(out)
    }

    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> StorageResult<()> {
        let vname = self.ns.vname(name);
        let result = (|| {
            if name.is_empty() {
                return Err(StorageError::params("Invalid mailbox name: Name is empty"));
            }
            if self
                .ns
                .mailbox_settings(name)
                .is_some_and(|m| m.auto == AutoMailbox::Subscribe)
            {
                // Always subscribed; never written to the file (Dovecot).
                return Ok(());
            }
            self.write_subscription(&self.subscription_storage(name), subscribed)
        })();
        result.map_err(|e| e.finish(&vname))
    }

    fn storage_name(&self, name: &str) -> String {
        self.subscription_storage(name)
    }

    fn set_subscribed_stored(&mut self, stored: &str, subscribed: bool) -> StorageResult<()> {
        self.write_subscription(stored, subscribed)
            .map_err(|e| e.finish(&self.ns.vname(stored)))
    }

    fn open(&mut self, name: &str, options: OpenOptions) -> StorageResult<Box<dyn Mailbox>> {
        let req = self.ns.open_request(name, &self.settings, options)?;
        Ok(Box::new(MaildirMailbox::open(req)?))
    }
}

#[cfg(test)]
mod tests;
