//! Per-mailbox index: caches of the mailbox state that can always be rebuilt from the truth
//! (DESIGN.md §3).

pub mod cache;
pub mod codec;
pub mod crc32c;
pub mod error;
pub mod flags;
pub mod keywords;
pub mod log;
pub mod mailbox;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod transaction;
pub mod uidset;
pub mod view;
pub mod writer;
