//! Per-mailbox index: caches of the mailbox state that can always be rebuilt from the truth
//! (DESIGN.md §3). Three files per mailbox, in its index directory (`INDEX=`), with the ideas
//! of Dovecot's index (reference §4) and formats of their own, so Dovecot's `dovecot.index*`
//! are left alone. All integers are little-endian; every header and record carries a
//! CRC-32C ([`crc32c`]).
//!
//! **`cote.index.log`** — the transaction log ([`log`]). A 56-byte header (magic `COLG`,
//! version, indexid, uidvalidity, file sequence, previous file sequence and end offset,
//! initial modseq, creation time) and then transactions: a `Begin` frame (modseq, record
//! count, length), record frames, a `Commit` frame; each frame is `len u32, type u16,
//! reserved u16, payload, crc32c u32`. Records: append, flag/keyword update (uid set,
//! add, remove), modseq update (uid set: a private flag changed), expunge (uid + key), keyword names, header updates (uidvalidity, next uid,
//! first recent uid, backend sync state), index deleted/undeleted, cache reset, cache
//! offsets. A transaction is visible only when all its frames are; bytes after the last
//! visible one are a torn tail (a write in progress, or one whose writer died: the next
//! writer cuts them and writes there), unless a valid transaction follows them, which is
//! damage. Writers lock the log (`lock_method`), read the tail, write at the offset they read
//! (`pwrite`, never O_APPEND), sync per `mail_fsync`. Readers never lock. Every transaction
//! that changes messages takes the next modseq. Rotation: the next file is written into
//! `cote.index.log.newlock`, the old one linked to `cote.index.log.2`, the new one renamed
//! over; readers follow by the previous-file link.
//!
//! **`cote.index`** — the snapshot ([`snapshot`]): a 96-byte header (uidvalidity, next uid,
//! first recent uid, highest modseq, STATUS counts, the log position it covers, cache reset
//! id, keyword count, body length and CRC) and fixed-size records sorted by UID (flags,
//! modseq, sizes, dates, cache offset, keyword bitmap, key offset), then the keyword names,
//! the backend state and the keys. Rewritten whole (temp + rename) under the log lock when
//! enough log piles up after it, and always just before a rotation. Read mapped or with
//! `pread` per `mmap_disable`; never trusted when any check fails.
//!
//! **`cote.index.cache`** — cached message fields ([`cache`]): a 32-byte header (indexid,
//! reset id) and self-checking records (uid, link to the message's previous record, named
//! opaque fields) appended under the cache lock; the index holds each message's newest
//! record offset. Purged by temp + rename as a new reset id, which the log announces.
//!
//! **`cote.index.modseq`** — an empty marker: a CONDSTORE or QRESYNC client has used the
//! mailbox, so every SELECT reports HIGHESTMODSEQ from then on (Dovecot adds its index's
//! modseq extension then). A file of its own, so older indexes and older cote read on.
//!
//! **`cote.index.pvt`** — one viewer's private flags of a shared mailbox (`INDEXPVT=`), in
//! the viewer's directory ([`private`]).
//!
//! The API: [`mailbox::MailboxIndex`] (open, refresh, state, cache), [`writer`] (lock,
//! commit, create/rebuild), [`transaction::IndexTransaction`] (changes in the storage's
//! terms), [`view::View`] (a session's numbering and \Recent), [`state::MailboxState`] (the
//! replayed state) and its [`state::Change`] stream, [`history`] (the UIDs expunged after a
//! modseq, read back from the logs, for QRESYNC).

pub mod cache;
pub mod codec;
pub mod crc32c;
pub mod error;
pub mod flags;
pub mod history;
pub mod keywords;
pub mod log;
pub mod mailbox;
pub mod private;
pub mod settings;
pub mod snapshot;
pub mod state;
pub mod transaction;
pub mod uidset;
pub mod view;
pub mod writer;
