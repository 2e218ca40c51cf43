//! [`AclMailbox`]: an open mailbox under the user's rights on it (Dovecot's
//! `acl-mailbox.c`). Opening was already checked (`r` to read, `i`/`p` to save). Here:
//! flag changes lose what `w` (other flags, keywords), `s` (\Seen) and `t` (\Deleted) do not
//! allow, silently as in Dovecot; saved messages lose those flags too; expunging needs `e`,
//! and so does moving messages out; a mailbox with none of `i p e w s t` is read-only.
//! The rights are those of the moment the mailbox was opened.

use super::rights::{Names, Right};
use crate::index::transaction::FlagMode;
use crate::index::uidset::UidSet;
use crate::storage::api::{
    Copied, Mailbox, NewMessage, Saved, StoreRequest, StoreResult, SyncFlags,
};
use crate::storage::error::{ErrorKind, StorageError, StorageResult, NO_PERMISSION_TEXT};
use crate::storage::flags::MailFlags;

/// A mailbox with the user's rights applied.
pub struct AclMailbox {
    inner: Box<dyn Mailbox>,
    rights: Names,
}

fn no_permission() -> StorageError {
    StorageError::new(ErrorKind::Perm, NO_PERMISSION_TEXT)
}

impl AclMailbox {
    pub fn new(inner: Box<dyn Mailbox>, rights: Names) -> AclMailbox {
        AclMailbox { inner, rights }
    }

    fn has(&self, right: Right) -> bool {
        self.rights.contains(right.name())
    }

    /// The flags the user may change.
    fn allowed_flags(&self) -> MailFlags {
        let mut allowed = MailFlags::empty();
        if self.has(Right::Write) {
            allowed = MailFlags::ALL;
            allowed.remove(MailFlags::SEEN);
            allowed.remove(MailFlags::DELETED);
        }
        if self.has(Right::WriteSeen) {
            allowed.insert(MailFlags::SEEN);
        }
        if self.has(Right::WriteDeleted) {
            allowed.insert(MailFlags::DELETED);
        }
        allowed
    }

    fn store_one(
        &mut self,
        uids: &UidSet,
        request: StoreRequest,
        result: &mut StoreResult,
    ) -> StorageResult<()> {
        let uids: UidSet = uids
            .iter()
            .filter(|u| !result.modified.contains(*u))
            .collect();
        if uids.is_empty() {
            return Ok(());
        }
        let done = self.inner.store(&uids, &request)?;
        for (uid, modseq) in done.changed {
            match result.changed.iter_mut().find(|(u, _)| *u == uid) {
                Some(entry) => entry.1 = entry.1.max(modseq),
                None => result.changed.push((uid, modseq)),
            }
        }
        for uid in done.modified.iter() {
            result.modified.insert(uid);
        }
        for uid in done.expunged.iter() {
            result.expunged.insert(uid);
        }
        Ok(())
    }
}

impl AclMailbox {
    /// Copies keep only the flags (and keywords) the user may set here, as saves do
    /// (Dovecot applies `acl_save_get_flags` to a copy's flags too).
    fn drop_denied_flags(&mut self, copied: &Copied) -> StorageResult<()> {
        let mut denied = MailFlags::ALL;
        denied.remove(self.allowed_flags());
        let write = self.has(Right::Write);
        if (denied.is_empty() && write) || copied.dest_uids.is_empty() {
            return Ok(());
        }
        // The new messages must be in this instance's view to be changed.
        self.inner.sync(SyncFlags::default())?;
        let request = StoreRequest {
            mode: FlagMode::Remove,
            flags: denied,
            keywords: if write {
                Vec::new()
            } else {
                self.inner.keywords()
            },
            unchanged_since: None,
        };
        let uids: UidSet = copied.dest_uids.iter().copied().collect();
        self.inner.store(&uids, &request)?;
        Ok(())
    }
}

/// `flags` with only the `allowed` ones.
fn masked(flags: MailFlags, allowed: MailFlags) -> MailFlags {
    MailFlags::from_bits_truncate(flags.bits() & allowed.bits())
}

impl Mailbox for AclMailbox {
    crate::storage::api::delegate_mailbox_to_inner!();

    fn is_read_only(&self) -> bool {
        if self.inner.is_read_only() {
            return true;
        }
        ![
            Right::Insert,
            Right::Post,
            Right::Expunge,
            Right::Write,
            Right::WriteDeleted,
            Right::WriteSeen,
        ]
        .iter()
        .any(|r| self.has(*r))
    }
    fn changeable_flags(&self) -> (MailFlags, bool) {
        let (flags, keywords) = self.inner.changeable_flags();
        (
            masked(flags, self.allowed_flags()),
            keywords && self.has(Right::Write),
        )
    }
    fn may_expunge(&self) -> bool {
        self.has(Right::Expunge) && self.inner.may_expunge()
    }

    fn save(&mut self, messages: &[NewMessage<'_>], assign_uids: bool) -> StorageResult<Saved> {
        let allowed = self.allowed_flags();
        let write = self.has(Right::Write);
        let filtered: Vec<NewMessage<'_>> = messages
            .iter()
            .map(|m| NewMessage {
                data: m.data,
                flags: masked(m.flags, allowed),
                keywords: if write {
                    m.keywords.clone()
                } else {
                    Vec::new()
                },
                internal_date: m.internal_date,
            })
            .collect();
        self.inner.save(&filtered, assign_uids)
    }

    fn copy_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        let copied = self.inner.copy_from(src, uids)?;
        self.drop_denied_flags(&copied)?;
        Ok(copied)
    }

    fn move_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        if !src.may_expunge() {
            return Err(no_permission());
        }
        let moved = self.inner.move_from(src, uids)?;
        self.drop_denied_flags(&moved)?;
        Ok(moved)
    }

    /// Dovecot's `acl_mail_update_flags` / `acl_mail_update_keywords`: what may not change
    /// is left out, without an error.
    fn store(&mut self, uids: &UidSet, request: &StoreRequest) -> StorageResult<StoreResult> {
        let allowed = self.allowed_flags();
        let write = self.has(Right::Write);
        if allowed == MailFlags::ALL && write {
            return self.inner.store(uids, request);
        }
        let mut result = StoreResult::default();
        let keywords = if write {
            request.keywords.clone()
        } else {
            Vec::new()
        };
        match request.mode {
            FlagMode::Add | FlagMode::Remove => {
                let req = StoreRequest {
                    mode: request.mode,
                    flags: masked(request.flags, allowed),
                    keywords,
                    unchanged_since: request.unchanged_since,
                };
                if !req.flags.is_empty() || !req.keywords.is_empty() {
                    self.store_one(uids, req, &mut result)?;
                }
            }
            FlagMode::Replace => {
                if allowed.is_empty() && !write {
                    return Ok(result);
                }
                // Remove the allowed flags not asked for, then add the allowed ones asked
                // for; keywords (with `w`) are replaced the same way.
                let mut remove = allowed;
                remove.remove(request.flags);
                let remove_keywords: Vec<String> = if write {
                    self.inner
                        .keywords()
                        .into_iter()
                        .filter(|k| !request.keywords.contains(k))
                        .collect()
                } else {
                    Vec::new()
                };
                let mut unchanged_since = request.unchanged_since;
                if !remove.is_empty() || !remove_keywords.is_empty() {
                    let req = StoreRequest {
                        mode: FlagMode::Remove,
                        flags: remove,
                        keywords: remove_keywords,
                        unchanged_since,
                    };
                    self.store_one(uids, req, &mut result)?;
                    // The first change raised the modseqs the second would compare.
                    unchanged_since = None;
                }
                let add = masked(request.flags, allowed);
                if !add.is_empty() || !keywords.is_empty() {
                    let req = StoreRequest {
                        mode: FlagMode::Add,
                        flags: add,
                        keywords,
                        unchanged_since,
                    };
                    self.store_one(uids, req, &mut result)?;
                }
            }
        }
        Ok(result)
    }

    fn expunge(&mut self, uids: &UidSet) -> StorageResult<UidSet> {
        if !self.has(Right::Expunge) && !uids.is_empty() {
            return Err(no_permission());
        }
        self.inner.expunge(uids)
    }
}
