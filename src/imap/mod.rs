//! imap layer (see DESIGN.md §2): the IMAP protocol — parsing commands, answering them.
//! Never touches files.
//!
//! Before login: `prelogin` (with `capability`, `id`). After login: `postlogin` sets up the
//! user's storage and `session` runs commands read by `parser` (tokenizer and typed commands)
//! against it through the traits of `mail_session`, implemented over the storage API by
//! `storage_session`; `seqset`, `flags`, `mailbox_name`, `response`, `fetch_response` and
//! `search_eval` are the protocol's value types, encoders and evaluators.

pub mod capability;
pub mod esearch;
pub mod fetch_response;
pub mod flags;
pub mod id;
mod login_auth;
mod login_settings;
pub mod mail_session;
pub mod mailbox_name;
pub mod parser;
pub mod postlogin;
pub mod prelogin;
pub mod proxy;
pub mod response;
pub mod search_eval;
pub mod seqset;
pub mod session;
pub mod sort;
pub mod storage_session;
pub mod thread;
pub mod url;
pub mod urlauth;
pub mod urlauth_fetch;
pub mod urlauth_service;
// IMAP string quoting lives in the mail layer (ENVELOPE and BODYSTRUCTURE need it too).
pub use crate::mail::quote;

pub use crate::login::{LoggedIn, LoginServices};
pub use prelogin::{
    send_internal_failure, serve_prelogin, Disconnect, PreloginEnd, PreloginSettings,
};
