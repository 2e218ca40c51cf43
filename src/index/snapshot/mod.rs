//! `cote.index`: the snapshot of a mailbox index.

pub mod format;
