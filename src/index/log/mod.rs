//! `cote.index.log`: the transaction log of one mailbox index.

pub(crate) mod file;
pub mod frame;
pub mod header;
pub mod record;
