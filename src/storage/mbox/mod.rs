//! The mbox backend: one file per mailbox in Dovecot's mbox dialect, shared with the MTA,
//! procmail and mutt.
//!
//! - [`format`]: From_ lines, Dovecot's own headers, reading a file into messages, writing
//!   a message the way Dovecot appends it, rewriting a header in place (pure byte code).
//! - [`edit`]: what a change (expunges, flags, keywords, UIDs for mail other programs
//!   delivered) writes: headers in place within their padding, else the file's tail.
//! - [`rewrite_journal`]: that tail written in place, crash-safe (journal + data file in
//!   the index directory, rolled forward by the next session).
//! - [`spool`]: a file read, appended to and flag-updated under the `mbox_*_locks` sets
//!   (`crate::fs::lock::mbox`): what an LDA needs.
//! - [`mailbox`]: the [`Mailbox`](crate::storage::api::Mailbox) over cote's index under
//!   `<root>/.imap/<name>/`; [`list`]: the
//!   [`MailboxList`](crate::storage::api::MailboxList) (files are mailboxes, directories
//!   hold children, `.subscriptions`).
//!
//! Not implemented: `mbox_lazy_writes` (changes are written at once, as with `no`),
//! `mbox_dirty_syncs`/`mbox_very_dirty_syncs` (a changed file is always read whole),
//! `mbox_min_index_size`, `pop3_save_uidl` (`X-UIDL:`), `INDEX=MEMORY`, renaming an mbox
//! INBOX. A message's body is read from the whole file, which a session keeps in memory
//! while it is unchanged.

pub mod edit;
pub mod format;
pub mod list;
pub mod mailbox;
pub mod rewrite_journal;
pub mod spool;
