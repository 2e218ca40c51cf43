//! pop3 layer (see DESIGN.md §2): the POP3 protocol (RFC 1939, 2449, 2595, 5034) — parsing
//! commands, answering them. Never touches files.
//!
//! Before login: [`login`] (with [`login_auth`]) answers as Dovecot's pop3-login. After the
//! hand-off, [`session`] serves the TRANSACTION and UPDATE states on the user's INBOX
//! through the storage API, with Dovecot's `pop3_*` settings ([`settings`]) and UIDLs
//! ([`uidl`]).

pub mod login;
mod login_auth;

pub use login::{send_internal_failure, serve_login, Disconnect, LoginEnd};
