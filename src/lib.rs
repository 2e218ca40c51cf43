//! cote: an IMAP, POP3 and LMTP server, a drop-in replacement for Dovecot 2.3.
//!
//! The layers follow DESIGN.md §2; dependencies point down only:
//! `master` → protocols (`imap`) → `config`, `log`, `net`.

pub mod auth;
pub mod config;
pub mod delivery;
pub mod director;
pub mod errtext;
pub mod fs;
pub mod fscheck;
pub mod hostname;
pub mod imap;
pub mod index;
pub mod lmtp;
pub mod localtime;
pub mod log;
pub mod login;
pub mod mail;
pub mod mailadm;
pub mod master;
pub mod net;
pub mod pop3;
pub mod storage;
