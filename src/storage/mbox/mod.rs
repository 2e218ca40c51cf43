//! The mbox backend: one file per mailbox in Dovecot's mbox dialect, shared with the MTA,
//! procmail and mutt.
//!
//! - [`format`]: From_ lines, Dovecot's own headers, reading a file into messages, writing
//!   a message the way Dovecot appends it, rewriting a header in place (pure byte code).
//! - [`spool`]: a file read, appended to and flag-updated under the `mbox_*_locks` sets
//!   (`crate::fs::lock::mbox`).
//!
//! Not implemented yet: the [`Mailbox`](crate::storage::api::Mailbox) and
//! [`MailboxList`](crate::storage::api::MailboxList) over cote's index, and the crash-safe
//! whole-file rewrite (expunge, UIDs for mail other programs delivered, headers that
//! outgrow their padding). `namespace.rs` answers an `mbox:` location with a
//! not-implemented error, and [`spool`] refuses what needs the rewrite.

pub mod format;
pub mod spool;
