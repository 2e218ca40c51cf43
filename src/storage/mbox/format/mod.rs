//! mbox bytes as Dovecot 2.3 reads and writes them (reference §3.9).
//!
//! - [`from_line`]: the `From sender  date` separator line, with the date variants Dovecot
//!   accepts.
//! - [`md5`]: the header MD5 (`mbox_md5`) that recognises messages without `X-UID:`.
//! - [`meta`]: Dovecot's own headers (`X-IMAPbase`, `X-IMAP`, `X-UID`, `Status`, `X-Status`,
//!   `X-Keywords`, `Content-Length`): parsed into UIDs, flags and keywords, and hidden from
//!   the message clients see.
//! - [`parse`]: a whole file into messages (Content-Length trusted only when a valid From_
//!   line follows exactly where it says), and UID assignment as Dovecot's sync does it.
//! - [`rewrite`]: a header rewritten in place (flags, keywords, UID) within its padding.
//! - [`write`]: one message appended as Dovecot's save code writes it.
//!
//! Like Dovecot, cote neither quotes nor unquotes `>From ` body lines: a body line starting
//! with `From ` is protected by `Content-Length`, and bytes are served as they are stored,
//! so clients see the same bodies from cote and from Dovecot.

pub mod from_line;
pub mod md5;
pub mod meta;
pub mod parse;
pub mod rewrite;
pub mod write;

pub use from_line::{format_from_line, parse_from_line, FromLine};
pub use meta::{ImapBase, MessageMeta};
pub use parse::{
    assign_uids, parse_mbox, parse_mbox_at, AssignedUid, MboxFile, MboxFormatError, MboxMessage,
    UidAssignment,
};
pub use rewrite::{regenerate_message, rewrite_header, HeaderUpdate};
pub use write::{append_message, pseudo_message, NewMessage};
