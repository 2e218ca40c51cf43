//! `cote.index.cache`: cached per-message fields (envelope, bodystructure, sizes, header
//! fields...) so FETCH does not parse messages again.

pub mod file;
pub mod format;
