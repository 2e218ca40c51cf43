//! imap layer (see DESIGN.md §2): the IMAP protocol — parsing commands, answering them.
//! Never touches files.

pub mod capability;
pub mod id;
pub mod parser;
pub mod prelogin;
// IMAP string quoting lives in the mail layer (ENVELOPE and BODYSTRUCTURE need it too).
pub use crate::mail::quote;

pub use prelogin::{serve_prelogin, Disconnect, PreloginSettings};
