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
//! Locks are `mbox_read_locks`/`mbox_write_locks` in the order given; dotlocks (and a
//! missing INBOX) in a spool directory only `mail_privileged_group` may write are created as
//! that group (`crate::fs::privileged`).
//!
//! Tested: unit tests beside the code; `tests/storage_mbox_crash.rs` (SIGKILL at every step
//! of each write, concurrent cote processes with the MTA appending, the privileged group);
//! `tests/mbox_interop.rs` (Dovecot 2.3 serves what cote wrote and the other way round);
//! `tests/mbox_status.rs` (`Status:`/`X-Status:` written as Dovecot writes them after the
//! same IMAP sessions); `t/imap/mbox.t` (a live server).
//!
//! Not implemented: `mbox_very_dirty_syncs` reading only the new tail when a mailbox is
//! opened (cote's index keeps no message offsets: an open reads a changed file whole, as
//! it must to serve bodies), saving POP3 UIDLs (accepted and dropped, as Dovecot 2.3 does:
//! its `update_pop3_uidl` is Maildir's only), and renaming an mbox INBOX.
//! \Recent follows Dovecot's sync: no message up to the last one whose `Status:` has `O`
//! (as found, before the session's own writes) is \Recent; POP3's `%m` is
//! [`format::md5`] of the message's header.
//! A session keeps the whole file in memory while it is unchanged, to serve bodies from it.

pub mod edit;
pub mod format;
pub mod list;
pub mod mailbox;
pub mod rewrite_journal;
pub mod spool;
