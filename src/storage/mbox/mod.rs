//! The mbox backend: one file per mailbox in Dovecot's mbox dialect, shared with the MTA,
//! procmail and mutt.
//!
//! - [`format`]: From_ lines, Dovecot's own headers, reading a file into messages and writing
//!   a message the way Dovecot appends it (pure byte code, no I/O).
//!
//! Selecting, syncing and saving through the storage API are not implemented yet:
//! `namespace.rs` answers an `mbox:` location with a not-implemented error.

pub mod format;
pub mod spool;
