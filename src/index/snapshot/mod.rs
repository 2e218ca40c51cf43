//! `cote.index`: the snapshot of a mailbox index.

pub(crate) mod file;
pub mod format;
