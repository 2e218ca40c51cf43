//! The mailbox list of a shared namespace's root (`shared/`), Dovecot's `shared-list.c`:
//! it holds no mailboxes of its own (each owner's mailboxes are in the owner's namespace,
//! `shared/bob/`), so it lists nothing and opens nothing.

use crate::storage::api::{ListedMailbox, Mailbox, MailboxList, OpenOptions};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::namespace::Namespace;

/// The root of a shared namespace.
pub struct SharedRootList {
    ns: Namespace,
}

impl SharedRootList {
    pub fn new(ns: Namespace) -> SharedRootList {
        SharedRootList { ns }
    }

    fn full(&self, name: &str) -> String {
        self.ns.vname(name)
    }
}

impl MailboxList for SharedRootList {
    fn namespace(&self) -> &Namespace {
        &self.ns
    }

    fn mailboxes(&mut self) -> StorageResult<Vec<ListedMailbox>> {
        Ok(Vec::new())
    }

    fn exists(&mut self, _name: &str) -> StorageResult<bool> {
        Ok(false)
    }

    fn create(&mut self, name: &str, _directory: bool) -> StorageResult<()> {
        Err(StorageError::not_found(&self.full(name)))
    }

    fn delete(&mut self, name: &str) -> StorageResult<()> {
        Err(StorageError::not_found(&self.full(name)))
    }

    fn rename(&mut self, old: &str, _new: &str) -> StorageResult<()> {
        Err(StorageError::not_found(&self.full(old)))
    }

    fn subscriptions(&mut self) -> StorageResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn set_subscribed(&mut self, _name: &str, _subscribed: bool) -> StorageResult<()> {
        Err(StorageError::not_possible(
            "This namespace has no subscriptions",
        ))
    }

    fn storage_name(&self, name: &str) -> String {
        name.to_string()
    }

    fn set_subscribed_stored(&mut self, _stored: &str, _subscribed: bool) -> StorageResult<()> {
        Err(StorageError::not_possible(
            "This namespace has no subscriptions",
        ))
    }

    fn open(&mut self, name: &str, _options: OpenOptions) -> StorageResult<Box<dyn Mailbox>> {
        Err(StorageError::not_found(&self.full(name)))
    }
}
