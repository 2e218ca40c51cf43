//! Mail storage: mailbox names, `mail_location`, and the Maildir backend in Dovecot's formats.
//!
//! Everything that touches a shared file goes through `crate::fs`; the modules here turn
//! bytes into typed values and back, and decide what to read, write and lock.

pub mod flags;
pub mod location;
pub mod maildir;
pub mod mutf7;
pub mod names;
