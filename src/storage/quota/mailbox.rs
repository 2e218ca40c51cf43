//! [`QuotaMailbox`]: a mailbox whose saves, copies and moves are checked against the user's
//! quota first, and whose saves, copies, moves and expunges update it after (Dovecot's
//! quota storage hooks). A refused transaction stores nothing: the whole APPEND, COPY or
//! delivery fails with `[OVERQUOTA]` and `quota_exceeded_message`.

use std::cell::RefCell;
use std::rc::Rc;

use crate::index::uidset::UidSet;
use crate::storage::api::{Copied, Mailbox, NewMessage, Saved, StoreRequest, StoreResult};
use crate::storage::error::StorageResult;
use crate::storage::maildir::save::virtual_size;

use super::Quota;

/// A mailbox of namespace `source` under a quota: the user's, or for another user's
/// mailbox (under a shared root) that user's, as Dovecot charges the mailbox's owner.
pub struct QuotaMailbox {
    inner: Box<dyn Mailbox>,
    quota: Rc<RefCell<Quota>>,
    source: usize,
    /// The quota of the session's user, which decides whether a move is checked (`None`:
    /// the user has none, so moves are not).
    session: Option<Rc<RefCell<Quota>>>,
}

impl QuotaMailbox {
    /// A mailbox of the session's user's own, under their `quota`.
    pub fn new(inner: Box<dyn Mailbox>, quota: Rc<RefCell<Quota>>, source: usize) -> QuotaMailbox {
        let session = Some(quota.clone());
        QuotaMailbox::charging(inner, quota, source, session)
    }

    /// A mailbox whose saves `quota` (of the mailbox's owner) counts, opened in a session
    /// under `session`'s quota.
    pub fn charging(
        inner: Box<dyn Mailbox>,
        quota: Rc<RefCell<Quota>>,
        source: usize,
        session: Option<Rc<RefCell<Quota>>>,
    ) -> QuotaMailbox {
        QuotaMailbox {
            inner,
            quota,
            source,
            session,
        }
    }

    /// The sizes of messages of `src` as the quota counts them (the index's, else the
    /// message's own).
    fn sizes(
        quota: &Quota,
        src: &mut dyn Mailbox,
        uids: &UidSet,
    ) -> StorageResult<Vec<(u32, u64)>> {
        let mut sizes = Vec::new();
        for uid in uids.iter() {
            let known = src
                .info(uid)
                .and_then(|i| Some((i.physical_size?, i.virtual_size?)));
            let (physical, virt) = match known {
                Some(sizes) => sizes,
                None => match src.mail(uid) {
                    Ok(mut mail) => (mail.physical_size()?, mail.virtual_size()?),
                    // Expunged meanwhile: it will not be copied.
                    Err(_) => continue,
                },
            };
            sizes.push((uid, quota.message_size(physical, virt)));
        }
        Ok(sizes)
    }

    /// Checks that messages of `sizes` fit into this mailbox.
    fn check(&self, sizes: impl Iterator<Item = u64>) -> StorageResult<()> {
        let vname = self.inner.vname().to_string();
        let mut quota = self.quota.borrow_mut();
        let mut tx = quota.begin(self.source, &vname);
        for size in sizes {
            if let Err(over) = tx.test_alloc(size) {
                return Err(quota.exceeded(over));
            }
            tx.alloc(size);
        }
        Ok(())
    }

    fn update(&self, bytes: i64, count: i64) {
        let vname = self.inner.vname().to_string();
        self.quota
            .borrow_mut()
            .update(self.source, &vname, bytes, count);
    }

    /// The total of the sizes of the `done` messages among `sizes`.
    fn total(sizes: &[(u32, u64)], done: &[u32]) -> (i64, i64) {
        sizes
            .iter()
            .filter(|(uid, _)| done.contains(uid))
            .fold((0i64, 0i64), |(b, c), (_, s)| {
                (
                    b.saturating_add(i64::try_from(*s).unwrap_or(i64::MAX)),
                    c + 1,
                )
            })
    }

    /// Whether a move from `src` is checked: as Dovecot decides it with the quota of the
    /// session's user (see [`Quota::move_needs_check`]), even when another user's quota
    /// is charged.
    fn move_needs_check(&self, src: &dyn Mailbox) -> bool {
        self.session
            .as_ref()
            .is_some_and(|q| q.borrow().move_needs_check(self.inner.vname(), src.vname()))
    }
}

/// A message's size as stored (LF line ends) and as RFC822.SIZE.
fn new_message_sizes(data: &[u8]) -> (u64, u64) {
    let stored = crate::mail::codec::to_lf(data);
    (stored.len() as u64, virtual_size(&stored))
}

impl Mailbox for QuotaMailbox {
    crate::storage::api::delegate_mailbox_to_inner!();

    fn is_read_only(&self) -> bool {
        self.inner.is_read_only()
    }

    fn save(&mut self, messages: &[NewMessage<'_>], assign_uids: bool) -> StorageResult<Saved> {
        let sizes: Vec<u64> = {
            let quota = self.quota.borrow();
            messages
                .iter()
                .map(|m| {
                    let (physical, virt) = new_message_sizes(m.data);
                    quota.message_size(physical, virt)
                })
                .collect()
        };
        self.check(sizes.iter().copied())?;
        let saved = self.inner.save(messages, assign_uids)?;
        let bytes = sizes.iter().fold(0i64, |t, s| {
            t.saturating_add(i64::try_from(*s).unwrap_or(i64::MAX))
        });
        self.update(bytes, sizes.len() as i64);
        Ok(saved)
    }

    fn copy_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        let sizes = QuotaMailbox::sizes(&self.quota.borrow(), src, uids)?;
        self.check(sizes.iter().map(|(_, s)| *s))?;
        let copied = self.inner.copy_from(src, uids)?;
        let (bytes, count) = QuotaMailbox::total(&sizes, &copied.src_uids);
        self.update(bytes, count);
        Ok(copied)
    }

    fn move_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        let sizes = QuotaMailbox::sizes(&self.quota.borrow(), src, uids)?;
        if self.move_needs_check(src) {
            self.check(sizes.iter().map(|(_, s)| *s))?;
        }
        // The source's expunge (through its own QuotaMailbox) lowers its usage.
        let moved = self.inner.move_from(src, uids)?;
        let (bytes, count) = QuotaMailbox::total(&sizes, &moved.src_uids);
        self.update(bytes, count);
        Ok(moved)
    }

    fn store(&mut self, uids: &UidSet, request: &StoreRequest) -> StorageResult<StoreResult> {
        self.inner.store(uids, request)
    }

    fn expunge(&mut self, uids: &UidSet) -> StorageResult<UidSet> {
        // A message whose size cannot be read any more is gone already: whoever expunged
        // it counted it.
        let sizes =
            QuotaMailbox::sizes(&self.quota.borrow(), &mut *self.inner, uids).unwrap_or_default();
        let done = self.inner.expunge(uids)?;
        let done_list: Vec<u32> = done.iter().collect();
        let (bytes, count) = QuotaMailbox::total(&sizes, &done_list);
        self.update(-bytes, -count);
        Ok(done)
    }

    fn changeable_flags(&self) -> (crate::storage::flags::MailFlags, bool) {
        self.inner.changeable_flags()
    }
    fn may_expunge(&self) -> bool {
        self.inner.may_expunge()
    }
}
