//! imap layer (see DESIGN.md §2): the IMAP protocol — parsing commands, answering them.
//! Never touches files.

pub mod capability;
pub mod id;
mod login_auth;
mod login_settings;
pub mod parser;
pub mod postlogin;
pub mod prelogin;
// IMAP string quoting lives in the mail layer (ENVELOPE and BODYSTRUCTURE need it too).
pub use crate::mail::quote;

pub use prelogin::{
    send_internal_failure, serve_prelogin, Disconnect, LoggedIn, LoginServices, PreloginEnd,
    PreloginSettings,
};
