//! Maildir in Dovecot 2.3's formats: file names, `dovecot-uidlist`, `dovecot-keywords`,
//! `dovecot-uidvalidity`, the subscriptions file, folder layout and permissions.

pub mod filename;
pub mod keywords;
pub mod subscriptions;
pub mod uidlist;
