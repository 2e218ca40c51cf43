//! [`StorageSession`]: the IMAP session's [`MailSession`] over the storage API — one user's
//! [`MailUser`], the selected [`Mailbox`](crate::storage::api::Mailbox) and an APPEND in
//! progress. It translates, and decides nothing about the protocol: names, flags and changes
//! go to storage in storage's terms, and come back in the session's.
//!
//! - `selected`: the selected mailbox — its change stream filtered of this session's own
//!   changes (the session reports those from the commands' results), \Recent, the cache
//!   writes FETCH leaves behind.
//! - `message`: one message, read lazily (flags from the index, content from the file only
//!   when asked; ENVELOPE and BODYSTRUCTURE from `cote.index.cache` when there).
//! - `list`: LIST and LSUB with Dovecot 2.3's rules for references, subscriptions,
//!   RECURSIVEMATCH and the flags each form returns.
//! - `append`: APPEND and MULTIAPPEND, saved in one storage transaction.
//! - `catenate`: the data of CATENATE's URL parts.
//! - `url_message`: the message an URLAUTH URL names.

mod append;
mod catenate;
mod list;
mod message;
mod selected;
mod url_message;

use std::io::Read;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::imap::mail_session::{
    AppendResult, CopyResult, FlagChange, ListEntry, MailError, MailErrorKind, MailSession,
    MailboxChanges, MailboxStatus, Namespace, NamespaceKind, QuotaRoot, SelectedMailbox,
    StoreResult, ViewTotals,
};
use crate::imap::parser::append::MessageInfo;
use crate::imap::parser::list::{List, StatusItems};
use crate::index::uidset::UidSet;
use crate::storage::api::{Mailbox, OpenOptions};
use crate::storage::attribute::{AttributeChange, AttributeKey, AttributeMailbox};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::namespace::{self, NamespaceType};
use crate::storage::user::MailUser;

pub use message::StorageMessage;

use append::AppendTx;
use selected::Selected;

/// Dovecot's default `mailbox_idle_check_interval`.
pub const DEFAULT_IDLE_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// One user's mail, as the IMAP session sees it.
pub struct StorageSession {
    user: MailUser,
    selected: Option<Selected>,
    append: Option<AppendTx>,
    /// `mailbox_idle_check_interval`: how often IDLE looks for other hosts' changes.
    idle_check_interval: Duration,
    /// The mailbox METADATA works on, with its name (see
    /// [`MailSession::attribute_mailbox`]).
    attribute_box: Option<(String, AttributeMailbox)>,
    /// NOTIFY's watch over the mailbox lists and the mailboxes it reports on.
    notify_watch: Option<crate::fs::DirWatch>,
    /// CONDSTORE is enabled: mailboxes opened track modseqs for everyone.
    condstore: bool,
}

impl StorageSession {
    pub fn new(user: MailUser, idle_check_interval: Duration) -> StorageSession {
        StorageSession {
            user,
            selected: None,
            append: None,
            // A zero interval would spin; Dovecot's minimum is one second.
            idle_check_interval: idle_check_interval.max(Duration::from_secs(1)),
            attribute_box: None,
            notify_watch: None,
            condstore: false,
        }
    }

    /// Opens `name` for STATUS, APPEND or COPY; with CONDSTORE enabled the mailbox tracks
    /// modseqs from then on, as Dovecot's opening with the client's features does.
    fn open_other(&mut self, name: &str, options: OpenOptions) -> StorageResult<Box<dyn Mailbox>> {
        let mut mailbox = self.user.open(name, options)?;
        if self.condstore {
            selected::enable_modseq_tracking(&mut *mailbox);
        }
        Ok(mailbox)
    }

    pub fn user(&self) -> &MailUser {
        &self.user
    }

    /// Whether any namespace configures a special-use mailbox (Dovecot advertises
    /// SPECIAL-USE only then).
    pub fn has_special_use_mailboxes(&self) -> bool {
        self.user.namespaces().iter().any(|ns| {
            ns.config
                .mailboxes
                .iter()
                .any(|m| !m.special_use.is_empty())
        })
    }

    /// Whether `name` is a `\Trash` special-use mailbox (the logout line counts messages
    /// copied there).
    fn is_trash(&self, name: &str) -> bool {
        let namespaces: Vec<crate::storage::namespace::Namespace> =
            self.user.namespaces().into_iter().cloned().collect();
        namespace::find(&namespaces, name).is_some_and(|(i, inner)| {
            namespaces[i].mailbox_settings(&inner).is_some_and(|m| {
                m.special_use
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case("\\Trash"))
            })
        })
    }

    fn selected_mut(&mut self) -> Result<&mut Selected, MailError> {
        self.selected
            .as_mut()
            .ok_or_else(|| MailError::new(MailErrorKind::NotPossible, "No mailbox selected"))
    }
}

/// A storage error as the session reports it. An internal error is logged (once: storage
/// may have done it already); the client sees Dovecot's "Internal error occurred" text.
pub(crate) fn mail_error(e: StorageError) -> MailError {
    let e = e.log_once();
    let kind = match e.kind() {
        // The selected mailbox was deleted or recreated under the session: it cannot go on.
        _ if e.closes_mailbox() => MailErrorKind::NotFound,
        ErrorKind::Temp => MailErrorKind::Temp,
        ErrorKind::Unavailable => MailErrorKind::Unavailable,
        ErrorKind::NotPossible | ErrorKind::NotImplemented => MailErrorKind::NotPossible,
        ErrorKind::Params => MailErrorKind::Params,
        ErrorKind::Perm => MailErrorKind::Perm,
        ErrorKind::NoQuota => MailErrorKind::NoQuota,
        ErrorKind::NotFound => MailErrorKind::NotFound,
        ErrorKind::Exists => MailErrorKind::Exists,
        ErrorKind::Expunged => MailErrorKind::Expunged,
        ErrorKind::InUse => MailErrorKind::InUse,
        ErrorKind::Limit => MailErrorKind::Limit,
    };
    MailError::new(kind, e.client_text())
}

impl MailSession for StorageSession {
    type Message<'a> = StorageMessage<'a>;

    fn namespaces(&self) -> Vec<Namespace> {
        self.user
            .namespaces()
            .into_iter()
            .filter(|ns| !ns.config.hidden)
            .map(|ns| Namespace {
                prefix: ns.prefix().to_string(),
                separator: Some(ns.separator),
                kind: match ns.config.kind {
                    NamespaceType::Private => NamespaceKind::Private,
                    NamespaceType::Shared => NamespaceKind::Shared,
                    NamespaceType::Public => NamespaceKind::Public,
                },
            })
            .collect()
    }

    fn canonical_name(&self, name: &str) -> String {
        let namespaces: Vec<crate::storage::namespace::Namespace> =
            self.user.namespaces().into_iter().cloned().collect();
        match namespace::find(&namespaces, name) {
            Some((i, inner)) => namespaces[i].vname(&inner),
            None => name.to_string(),
        }
    }

    fn list(&mut self, request: &List) -> Result<Vec<ListEntry>, MailError> {
        list::list(&mut self.user, request).map_err(mail_error)
    }

    fn create(&mut self, name: &str) -> Result<(), MailError> {
        self.user.create(name).map_err(mail_error)
    }

    fn delete(&mut self, name: &str) -> Result<(), MailError> {
        self.user.delete(name).map_err(mail_error)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), MailError> {
        self.user.rename(from, to).map_err(mail_error)
    }

    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> Result<(), MailError> {
        self.user
            .set_subscribed(name, subscribed)
            .map_err(mail_error)
    }

    fn status(&mut self, name: &str, items: &StatusItems) -> Result<MailboxStatus, MailError> {
        if items.x_guid {
            return Err(MailError::new(
                MailErrorKind::NotPossible,
                "STATUS X-GUID is not supported by this build of cote yet",
            ));
        }
        // The selected mailbox too is asked through another instance: its own would hand
        // the changes its sync finds to STATUS instead of to the session.
        let mut status = self
            .open_other(name, OpenOptions::ACCESS)
            .and_then(|mut mailbox| mailbox.status())
            .map_err(mail_error)?;
        if self.is_selected(name) {
            // Those this session claimed (the other instance counts the unclaimed ones).
            status.recent += self.selected.as_ref().map_or(0, Selected::recent_count);
        }
        Ok(MailboxStatus {
            messages: status.messages,
            recent: status.recent,
            uid_next: status.uidnext,
            uid_validity: status.uidvalidity,
            unseen: status.unseen,
            deleted: status.deleted,
            highest_modseq: status.highest_modseq,
            size: status.vsize,
            guid: String::new(),
        })
    }

    fn enable_condstore(&mut self) {
        self.condstore = true;
        if let Some(selected) = self.selected.as_mut() {
            selected.enable_modseq_tracking();
        }
    }

    fn select(&mut self, name: &str, read_only: bool) -> Result<SelectedMailbox, MailError> {
        self.close(false)?;
        let options = if read_only {
            OpenOptions::EXAMINE
        } else {
            OpenOptions::SELECT
        };
        let vname = self.canonical_name(name);
        let mailbox = self.user.open(name, options).map_err(mail_error)?;
        let (selected, first) =
            Selected::open(vname, mailbox, read_only, self.condstore).map_err(mail_error)?;
        self.selected = Some(selected);
        Ok(first)
    }

    fn close(&mut self, expunge: bool) -> Result<UidSet, MailError> {
        let Some(mut selected) = self.selected.take() else {
            return Ok(UidSet::new());
        };
        let expunged = if expunge && !selected.read_only() {
            match selected.expunge(None) {
                Ok(expunged) => expunged,
                // Without the ACL expunge right CLOSE closes and expunges nothing.
                Err(e) if e.kind() == ErrorKind::Perm => UidSet::new(),
                Err(e) => return Err(mail_error(e)),
            }
        } else {
            UidSet::new()
        };
        selected.flush_cache();
        Ok(expunged)
    }

    fn is_selected(&self, name: &str) -> bool {
        self.selected
            .as_ref()
            .is_some_and(|s| s.vname() == self.canonical_name(name))
    }

    fn is_selected_by_name(&self, name: &str) -> bool {
        self.selected.as_ref().is_some_and(|s| {
            s.vname() == name
                || (s.vname().eq_ignore_ascii_case("INBOX") && name.eq_ignore_ascii_case("INBOX"))
        })
    }

    fn sync(&mut self) -> Result<MailboxChanges, MailError> {
        match self.selected.as_mut() {
            Some(selected) => selected.sync().map_err(mail_error),
            None => Ok(MailboxChanges::default()),
        }
    }

    fn view_totals(&mut self, uids: &[u32]) -> Result<ViewTotals, MailError> {
        self.selected_mut()?.view_totals(uids).map_err(mail_error)
    }

    fn keywords(&self) -> Vec<String> {
        self.selected
            .as_ref()
            .map(Selected::keywords)
            .unwrap_or_default()
    }

    fn highest_modseq(&self) -> u64 {
        self.selected.as_ref().map_or(0, Selected::highest_modseq)
    }

    fn expunged_since(&mut self, modseq: u64) -> Result<Option<UidSet>, MailError> {
        self.selected_mut()?
            .mailbox
            .expunged_since(modseq)
            .map_err(mail_error)
    }

    fn message(&mut self, uid: u32) -> Result<StorageMessage<'_>, MailError> {
        self.selected_mut()?.message(uid)
    }

    fn store(&mut self, uids: &UidSet, change: &FlagChange) -> Result<StoreResult, MailError> {
        self.selected_mut()?.store(uids, change).map_err(mail_error)
    }

    fn expunge(&mut self, uids: Option<&UidSet>) -> Result<UidSet, MailError> {
        let selected = self.selected_mut()?;
        if selected.read_only() {
            return Ok(UidSet::new());
        }
        selected.expunge(uids).map_err(mail_error)
    }

    fn copy(&mut self, uids: &UidSet, to: &str, moving: bool) -> Result<CopyResult, MailError> {
        let destination_is_trash = self.is_trash(to);
        let mut dest = self.open_other(to, OpenOptions::SAVE).map_err(mail_error)?;
        let copied = self
            .selected_mut()?
            .copy_to(&mut *dest, uids, moving)
            .map_err(mail_error)?;
        Ok(CopyResult {
            uid_validity: copied.uidvalidity,
            source: copied.src_uids.iter().copied().collect(),
            destination: copied.dest_uids,
            destination_is_trash,
        })
    }

    fn check(&mut self) -> Result<(), MailError> {
        // Everything a command changed is durable when it answers (storage syncs files and
        // the index per `mail_fsync`); what remains is the cache FETCH filled.
        if let Some(selected) = self.selected.as_mut() {
            selected.flush_cache();
        }
        Ok(())
    }

    fn append_begin(&mut self, mailbox: &str) -> Result<(), MailError> {
        self.append = None;
        let selected_here = self
            .selected
            .as_ref()
            .is_some_and(|s| !s.read_only() && s.vname() == self.canonical_name(mailbox));
        let tx = if selected_here {
            AppendTx::into_selected()
        } else {
            let target = self
                .open_other(mailbox, OpenOptions::SAVE)
                .map_err(mail_error)?;
            AppendTx::into_other(target)
        };
        self.append = Some(tx);
        Ok(())
    }

    fn append_message(&mut self, info: &MessageInfo) -> Result<(), MailError> {
        self.append_tx()?.message(info)
    }

    fn append_data(&mut self, data: &mut dyn Read, binary: bool) -> Result<(), MailError> {
        self.append_tx()?.data(data, binary)
    }

    fn append_url(&mut self, url: &[u8]) -> Result<u64, MailError> {
        self.append_tx()?;
        let data = self.catenate_url_data(url)?;
        self.append_tx()?.part(&data)?;
        Ok(data.len() as u64)
    }

    fn append_message_end(&mut self) -> Result<(), MailError> {
        self.append_tx()?.message_end()
    }

    fn append_commit(&mut self) -> Result<AppendResult, MailError> {
        let Some(tx) = self.append.take() else {
            return Err(no_append());
        };
        tx.commit(self.selected.as_mut()).map_err(mail_error)
    }

    fn append_abort(&mut self) {
        self.append = None;
    }

    fn begin_command(&mut self) {
        if let Some(selected) = self.selected.as_mut() {
            selected.begin_command();
        }
    }

    fn expunges_reported(&mut self, uids: &UidSet) {
        if let Some(selected) = self.selected.as_mut() {
            selected.forget(uids);
        }
    }

    fn expunged_unreported(&self, uid: u32) -> bool {
        self.selected.as_ref().is_some_and(|s| s.is_gone(uid))
    }

    fn change_fd(&mut self) -> Option<BorrowedFd<'_>> {
        self.selected.as_mut().and_then(Selected::change_fd)
    }

    fn idle_check_interval(&self) -> Duration {
        self.idle_check_interval
    }

    fn mailbox_guid(&mut self, name: &str) -> Option<String> {
        let mut mailbox = self.user.open(name, OpenOptions::ACCESS).ok()?;
        let guid = mailbox.guid().ok()?;
        Some(guid.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn notify_watch(&mut self, mailboxes: &[String]) {
        self.notify_watch = match self.user.watch(mailboxes) {
            Ok(watch) => Some(watch),
            Err(e) => {
                // As IDLE past inotify's limits: changes are seen, later.
                log::warn!(
                    "NOTIFY: {e}: changes are noticed every mailbox_idle_check_interval only"
                );
                None
            }
        };
    }

    fn notify_unwatch(&mut self) {
        self.notify_watch = None;
    }

    fn notify_fd(&self) -> Option<BorrowedFd<'_>> {
        self.notify_watch.as_ref().map(std::os::fd::AsFd::as_fd)
    }

    fn notify_drain(&mut self) {
        if let Some(watch) = &self.notify_watch {
            if let Err(e) = watch.drain() {
                log::warn!("NOTIFY: {e}");
                self.notify_watch = None;
            }
        }
    }

    fn quota_roots(&mut self, mailbox: &str) -> Result<Option<Vec<QuotaRoot>>, MailError> {
        let Some(quota) = self.user.quota().cloned() else {
            return Ok(None);
        };
        if self.user.is_other_users(mailbox) {
            return Err(MailError::new(
                MailErrorKind::InvalidData,
                "Not showing other users' quota.",
            ));
        }
        let mut quota = quota.borrow_mut();
        let source = quota
            .source_of(mailbox)
            .ok_or_else(|| mail_error(StorageError::not_found(mailbox)))?;
        let roots = quota.visible_roots(source);
        Ok(Some(
            roots
                .into_iter()
                .map(|i| quota_root(&mut quota, i))
                .collect(),
        ))
    }

    fn quota_root(&mut self, name: &str) -> Option<QuotaRoot> {
        let quota = self.user.quota()?.clone();
        let mut quota = quota.borrow_mut();
        let i = quota.root_by_name(name)?;
        Some(quota_root(&mut quota, i))
    }

    fn append_check_size(&mut self, size: u64) -> Result<(), MailError> {
        let Some(tx) = self.append.as_ref() else {
            return Ok(());
        };
        let selected = self.selected.as_ref().map(|s| s.vname().to_string());
        let Some(vname) = tx.target_vname(selected.as_deref()) else {
            return Ok(());
        };
        // The quota the mailbox's saves count against (its owner's, for another user's).
        let Some(target) = self.user.mailbox_quota(&vname) else {
            return Ok(());
        };
        let Some(tx) = self.append.as_ref() else {
            return Ok(());
        };
        let mut quota = target.quota.borrow_mut();
        let mut check = quota.begin(target.source, &vname);
        for pending in tx.pending_sizes() {
            check.alloc(pending);
        }
        check
            .test_alloc(size)
            .map_err(|over| mail_error(quota.exceeded(over)))
    }

    fn attribute_mailbox(&mut self, mailbox: Option<&str>) -> Result<String, MailError> {
        self.attribute_box = None;
        let (vname, mb) = self
            .user
            .attribute_mailbox(mailbox)
            .map_err(|e| mail_error(e.finish(mailbox.unwrap_or("INBOX"))))?;
        self.attribute_box = Some((vname.clone(), mb));
        Ok(vname)
    }

    fn attribute_get(&mut self, key: &AttributeKey) -> Result<Option<Vec<u8>>, MailError> {
        let (vname, mb) = self.attribute_box()?;
        let found = self.user.attributes().get(mb, key);
        found.map_err(|e| mail_error(e.finish(vname)))
    }

    fn attribute_keys(&mut self, prefix: &AttributeKey) -> Result<Vec<Vec<u8>>, MailError> {
        let (vname, mb) = self.attribute_box()?;
        let keys = self.user.attributes().keys(mb, prefix);
        keys.map_err(|e| mail_error(e.finish(vname)))
    }

    fn attribute_set(&mut self, changes: &[AttributeChange]) -> Result<(), MailError> {
        let (vname, mb) = self.attribute_box()?;
        let done = self.user.attributes().set(mb, changes);
        done.map_err(|e| mail_error(e.finish(vname)))
    }

    fn url_mailbox(&mut self, mailbox: &str, uidvalidity: u32) -> Result<String, MailError> {
        self.open_url_mailbox(mailbox, uidvalidity)
    }

    fn url_message(&mut self, mailbox: &str, uid: u32) -> Result<crate::mail::Message, MailError> {
        self.url_message_data(mailbox, uid)
    }

    fn acl_user(&self) -> Option<crate::imap::mail_session::AclUser> {
        let acl = self.user.acl()?;
        Some(crate::imap::mail_session::AclUser {
            username: acl.username().unwrap_or_default().to_string(),
            anyone_allow: acl.settings().anyone_allow,
        })
    }

    fn acl_rights(&mut self, mailbox: &str) -> Result<crate::storage::acl::Names, MailError> {
        self.user.acl_my_rights(mailbox).map_err(mail_error)
    }

    fn acl_admin(&mut self, mailbox: &str) -> Result<crate::storage::user::AdminCheck, MailError> {
        self.user.acl_admin(mailbox).map_err(mail_error)
    }

    fn acl_listing(
        &mut self,
        mailbox: &str,
    ) -> Result<crate::storage::user::AclListing, MailError> {
        self.user.acl_listing(mailbox).map_err(mail_error)
    }

    fn acl_update(
        &mut self,
        mailbox: &str,
        update: &crate::storage::acl::AclUpdate,
    ) -> Result<(), MailError> {
        self.user.acl_update(mailbox, update).map_err(mail_error)
    }

    fn attribute_mailboxes(&mut self, pattern: &str) -> Result<Vec<String>, MailError> {
        let request = List {
            lsub: false,
            reference: String::new(),
            patterns: vec![pattern.to_string()],
            selection: Default::default(),
            returns: Default::default(),
            extended: false,
        };
        let entries = list::list(&mut self.user, &request).map_err(mail_error)?;
        Ok(entries
            .into_iter()
            .filter(|e| e.selectable)
            .map(|e| e.name)
            .collect())
    }
}

impl StorageSession {
    fn attribute_box(&self) -> Result<(&str, &AttributeMailbox), MailError> {
        self.attribute_box
            .as_ref()
            .map(|(vname, mb)| (vname.as_str(), mb))
            .ok_or_else(|| MailError::new(MailErrorKind::NotPossible, "No mailbox for METADATA"))
    }

    /// Whether METADATA can store attributes: a usable `mail_attribute_dict`, and an INBOX
    /// (where server attributes live) in Maildir, whose mailboxes have GUIDs in cote.
    pub fn attributes_enabled(&self) -> bool {
        let inbox_maildir = self.user.namespaces().iter().any(|ns| {
            ns.config.inbox && ns.location.format == crate::storage::location::MailFormat::Maildir
        });
        inbox_maildir && self.user.attributes().enabled()
    }
}

/// A root's limited resources for GETQUOTA(ROOT); a failure is logged.
fn quota_root(quota: &mut crate::storage::quota::Quota, i: usize) -> QuotaRoot {
    let name = quota.root_names().swap_remove(i);
    let resources = match quota.resources(i) {
        Ok(list) => Ok(list
            .into_iter()
            .map(|r| (r.name.to_string(), r.value, r.limit))
            .collect()),
        Err(e) => {
            log::error!(
                "Failed to get quota resource: {}",
                e.internal().unwrap_or(e.client_text())
            );
            Err(())
        }
    };
    QuotaRoot { name, resources }
}

impl StorageSession {
    fn append_tx(&mut self) -> Result<&mut AppendTx, MailError> {
        self.append.as_mut().ok_or_else(no_append)
    }
}

fn no_append() -> MailError {
    MailError::new(MailErrorKind::NotPossible, "No APPEND in progress")
}

#[cfg(test)]
mod tests;
