//! Mail storage: the API protocols use ([`api`]: [`Mailbox`](api::Mailbox),
//! [`MailboxList`](api::MailboxList); [`user::MailUser`] for full names and namespaces), and
//! the Maildir backend in Dovecot's formats, with cote's index as its cache.
//!
//! Everything that touches a shared file goes through `crate::fs`; the modules here turn
//! bytes into typed values and back, and decide what to read, write and lock.

pub mod acl;
pub mod api;
pub mod attribute;
pub mod crash;
pub mod error;
pub mod flags;
pub mod list;
pub mod location;
pub mod mail;
pub mod maildir;
pub mod mbox;
pub mod mutf7;
pub mod names;
pub mod namespace;
pub mod plugins;
pub mod quota;
pub mod session_lock;
pub mod settings;
pub mod shared;
pub mod user;
pub(crate) mod view;
