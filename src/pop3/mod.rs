//! pop3 layer (see DESIGN.md §2): the POP3 protocol (RFC 1939, 2449, 2595, 5034) — parsing
//! commands, answering them. Never touches files.
//!
//! Before login: [`login`] (with `login_auth`) answers as Dovecot's pop3-login. After the
//! hand-off, [`session`] serves the TRANSACTION and UPDATE states on the user's INBOX
//! ([`maildrop`]) through the storage API, with Dovecot's `pop3_*` settings ([`settings`]),
//! UIDLs ([`uidl`]) and byte-stuffed message replies ([`message_reply`]).

pub mod login;
mod login_auth;
pub mod maildrop;
pub mod message_reply;
pub mod proxy;
pub mod session;
pub mod settings;
pub mod uidl;

pub use login::{send_internal_failure, serve_login, Disconnect, LoginEnd};
pub use session::serve_session;
pub use settings::Pop3Settings;
