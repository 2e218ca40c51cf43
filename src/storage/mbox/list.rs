//! [`MboxList`]: one namespace's mbox mailboxes, Dovecot's mbox list rules: under the root,
//! every file is a mailbox, which can have no children (\NoInferiors), and every directory
//! holds children (\Noselect itself); dot files (`.imap/`, `.subscriptions`) and dotlocks
//! (`*.lock`) are the store's own. INBOX is the `INBOX=` file (`/var/mail/%u`), listed like
//! Dovecot without \NoInferiors, an empty mailbox until something is delivered.
//! Subscriptions are the `.subscriptions` file, kept as for Maildir.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fs::{ops, CreatePerms, FsFile};
use crate::storage::api::{ListedMailbox, Mailbox, MailboxList, OpenOptions};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::list::{listing, MaildirList};
use crate::storage::maildir::layout;
use crate::storage::names;
use crate::storage::namespace::Namespace;
use crate::storage::settings::StorageSettings;

use super::mailbox::{index_dir, MboxMailbox};

/// One namespace's mbox mailboxes.
pub struct MboxList {
    ns: Namespace,
    settings: Arc<StorageSettings>,
    /// The subscriptions file is the same as a Maildir list's (another name only).
    subscriptions: MaildirList,
    /// The From_ line's sender for saved mail: `user@host`, as Dovecot writes it.
    sender: String,
}

impl MboxList {
    /// `username` is the owner's (saved mail's From_ line names `username@host`).
    pub fn new(ns: Namespace, settings: Arc<StorageSettings>, username: &str) -> MboxList {
        let host = crate::fs::hostname().unwrap_or("localhost");
        MboxList {
            subscriptions: MaildirList::new(ns.clone(), settings.clone()),
            ns,
            settings,
            sender: format!("{username}@{host}"),
        }
    }

    fn perms(&self) -> StorageResult<CreatePerms> {
        Ok(layout::root_perms(&self.ns.location)?)
    }

    /// Storage names under `dir`, each with whether it is a mailbox (a file).
    fn walk(&self, dir: &Path, prefix: &str, out: &mut Vec<(String, bool)>) -> StorageResult<()> {
        let entries = match ops::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let raw = entry.name.as_bytes();
            if raw.first() == Some(&b'.') || raw.ends_with(b".lock") {
                continue;
            }
            let Ok(name) = std::str::from_utf8(raw) else {
                continue;
            };
            let path = dir.join(&entry.name);
            let Some(st) = ops::stat_if_exists(&path)? else {
                continue;
            };
            let storage = format!("{prefix}{name}");
            if st.is_dir() {
                out.push((storage.clone(), false));
                self.walk(&path, &format!("{storage}/"), out)?;
            } else if st.is_file() {
                out.push((storage, true));
            }
        }
        Ok(())
    }

    /// The file of mailbox `storage`.
    fn file_path(&self, storage: &str) -> PathBuf {
        self.ns.location.mailbox_paths(storage).mailbox
    }

    fn delete_inner(&mut self, name: &str) -> StorageResult<()> {
        let storage = self.ns.storage_name(name)?;
        if names::is_inbox(&self.ns.rules, name) {
            return Err(StorageError::not_possible("INBOX can't be deleted."));
        }
        let path = self.file_path(&storage);
        match ops::stat_if_exists(&path)? {
            None => Err(StorageError::not_found(&self.ns.vname(name))),
            Some(st) if st.is_dir() => match ops::rmdir(&path) {
                Ok(()) => Ok(()),
                Err(e) if matches!(e.errno(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) => Err(
                    StorageError::not_possible("Mailbox has children, can't delete it"),
                ),
                Err(e) => Err(e.into()),
            },
            Some(_) => {
                ops::unlink(&path)?;
                if let Some(dir) = index_dir(&self.ns.location, &storage) {
                    if let Err(e) = ops::remove_tree(&dir) {
                        if !e.is_not_found() {
                            log::error!("{e}");
                        }
                    }
                }
                Ok(())
            }
        }
    }

    fn rename_inner(&mut self, old: &str, new: &str) -> StorageResult<()> {
        let from = self.ns.storage_name(old)?;
        let to = self.ns.storage_name_for_create(new)?;
        if names::is_inbox(&self.ns.rules, old) {
            return Err(StorageError::not_implemented("renaming an mbox INBOX"));
        }
        let (src, dst) = (self.file_path(&from), self.file_path(&to));
        if ops::stat_if_exists(&src)?.is_none() {
            return Err(StorageError::not_found(&self.ns.vname(old)));
        }
        if ops::stat_if_exists(&dst)?.is_some() {
            return Err(StorageError::exists("Target mailbox already exists"));
        }
        if let Some(parent) = dst.parent() {
            ops::mkdir_parents(parent, &self.perms()?)?;
        }
        ops::rename(&src, &dst)?;
        if let (Some(a), Some(b)) = (
            index_dir(&self.ns.location, &from),
            index_dir(&self.ns.location, &to),
        ) {
            if ops::stat_if_exists(&a)?.is_some() {
                if let Some(parent) = b.parent() {
                    ops::mkdir_parents(parent, &self.perms()?)?;
                }
                if let Err(e) = ops::rename(&a, &b) {
                    log::error!("{e}");
                }
            }
        }
        Ok(())
    }
}

impl MailboxList for MboxList {
    fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn mailboxes(&mut self) -> StorageResult<Vec<ListedMailbox>> {
        let vprefix = self.ns.prefix().to_string();
        let mut on_disk = Vec::new();
        self.ns
            .root_dir()
            .and_then(|root| self.walk(&root, "", &mut on_disk))
            .map_err(|e| e.finish(&vprefix))?;
        // INBOX (a file of its own, usually outside the root) is not one of them
        Ok(listing(&self.ns, on_disk, |name| name != "INBOX"))
    }

    fn exists(&mut self, name: &str) -> StorageResult<bool> {
        let storage = self.ns.storage_name(name)?;
        if self.ns.always_exists(name) {
            return Ok(true);
        }
        let st = ops::stat_if_exists(&self.file_path(&storage))
            .map_err(|e| StorageError::from(e).finish(&self.ns.vname(name)))?;
        Ok(st.is_some_and(|st| st.is_file()))
    }

    fn create(&mut self, name: &str, directory: bool) -> StorageResult<()> {
        let vname = self.ns.vname(name);
        let result = (|| {
            let storage = self.ns.storage_name_for_create(name)?;
            if storage.is_empty() {
                return Err(StorageError::params("Invalid mailbox name: Name is empty"));
            }
            let path = self.file_path(&storage);
            if ops::stat_if_exists(&path)?.is_some() {
                return Err(StorageError::exists("Mailbox already exists"));
            }
            let perms = self.perms()?;
            if directory {
                ops::mkdir_parents(&path, &perms)?;
                return Ok(());
            }
            if let Some(parent) = path.parent() {
                ops::mkdir_parents(parent, &perms)?;
            }
            match FsFile::create_excl(&path, &perms) {
                Ok(_) => Ok(()),
                Err(e) if e.is_exists() => Err(StorageError::exists("Mailbox already exists")),
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
        self.subscriptions.subscriptions()
    }

    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> StorageResult<()> {
        self.subscriptions.set_subscribed(name, subscribed)
    }

    fn storage_name(&self, name: &str) -> String {
        self.subscriptions.storage_name(name)
    }

    fn set_subscribed_stored(&mut self, stored: &str, subscribed: bool) -> StorageResult<()> {
        self.subscriptions.set_subscribed_stored(stored, subscribed)
    }

    fn open(&mut self, name: &str, options: OpenOptions) -> StorageResult<Box<dyn Mailbox>> {
        let req = self.ns.open_request(name, &self.settings, options)?;
        Ok(Box::new(MboxMailbox::open(req, &self.sender)?))
    }
}
