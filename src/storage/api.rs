//! The storage API the protocols (IMAP, POP3, LMTP) use, and nothing else: a [`Mailbox`]
//! (a session's open mailbox: its numbering, its change stream, saving, copying, flag
//! changes, expunges, message access) and a [`MailboxList`] (one namespace's mailboxes:
//! listing, create, delete, rename, subscriptions, status). [`MailUser`](super::user::MailUser)
//! routes full mailbox names to the namespace they belong to.
//!
//! Changes made by anyone — this session, another process, another host, Dovecot on the same
//! Maildir — reach a session as a [`Change`] stream from [`Mailbox::sync`]; expunges stay
//! numbered until the session takes them ([`Mailbox::take_expunges`]), since IMAP may only
//! renumber at certain points.

use super::error::StorageResult;
use super::mail::Mail;
use super::namespace::Namespace;

pub use crate::index::state::Change;
pub use crate::index::transaction::FlagMode;
pub use crate::index::uidset::UidSet;
pub use crate::index::view::SeqMap;
pub use crate::storage::flags::MailFlags;

/// How a session opens a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// No changes at all (EXAMINE, or a read-only Maildir).
    pub read_only: bool,
    /// Claim the messages no session has seen as this session's \Recent ones, and move
    /// `new/` to `cur/` (IMAP SELECT).
    pub claim_recent: bool,
    /// Opened only to save into (APPEND, COPY and MOVE targets, deliveries): ACLs ask for
    /// the insert (or post) right instead of read.
    pub save_only: bool,
}

impl OpenOptions {
    /// IMAP SELECT.
    pub const SELECT: OpenOptions = OpenOptions {
        read_only: false,
        claim_recent: true,
        save_only: false,
    };
    /// IMAP EXAMINE.
    pub const EXAMINE: OpenOptions = OpenOptions {
        read_only: true,
        claim_recent: false,
        save_only: false,
    };
    /// Opened to save into, copy into or ask STATUS of: writable, claims nothing.
    pub const ACCESS: OpenOptions = OpenOptions {
        read_only: false,
        claim_recent: false,
        save_only: false,
    };
    /// Opened to save into (APPEND, COPY/MOVE target, delivery).
    pub const SAVE: OpenOptions = OpenOptions {
        read_only: false,
        claim_recent: false,
        save_only: true,
    };
}

/// How hard [`Mailbox::sync`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncFlags {
    /// Read directories even when they only might have changed (Dovecot's FULL_READ: CHECK,
    /// SELECT).
    pub full: bool,
    /// Don't wait for the Maildir lock: if someone holds it, only refresh from the index
    /// (Dovecot's FAST: NOOP and IDLE polls).
    pub fast: bool,
}

/// One message as the session's view knows it: what the index holds, so that FLAGS, UID,
/// RFC822.SIZE and INTERNALDATE need no message file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    pub uid: u32,
    pub flags: MailFlags,
    pub keywords: Vec<String>,
    pub modseq: u64,
    pub recent: bool,
    /// The sizes and dates the index has (`None`: only the message's file can tell).
    pub physical_size: Option<u64>,
    pub virtual_size: Option<u64>,
    pub internal_date: Option<i64>,
    pub save_date: Option<i64>,
}

/// STATUS values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailboxStatus {
    pub messages: u32,
    pub recent: u32,
    pub uidnext: u32,
    pub uidvalidity: u32,
    pub unseen: u32,
    /// Messages with `\Deleted` (IMAP4rev2's STATUS DELETED).
    pub deleted: u32,
    pub highest_modseq: u64,
    /// The sum of the messages' RFC822.SIZE (STATUS SIZE).
    pub vsize: u64,
    /// The sum of the stored sizes.
    pub psize: u64,
    /// Every keyword the mailbox has (IMAP's FLAGS list).
    pub keywords: Vec<String>,
}

/// A flag change (STORE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRequest {
    pub mode: FlagMode,
    pub flags: MailFlags,
    pub keywords: Vec<String>,
    /// CONDSTORE UNCHANGEDSINCE: messages with a higher modseq are left alone.
    pub unchanged_since: Option<u64>,
}

/// What a STORE did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreResult {
    /// Messages whose flags or keywords changed, with their new modseq.
    pub changed: Vec<(u32, u64)>,
    /// Messages skipped because they changed after UNCHANGEDSINCE.
    pub modified: UidSet,
    /// Messages that were expunged meanwhile.
    pub expunged: UidSet,
}

/// A message to save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage<'a> {
    /// The message as received (CRLF or LF); stored in Dovecot's LF form.
    pub data: &'a [u8],
    pub flags: MailFlags,
    pub keywords: Vec<String>,
    /// INTERNALDATE (UNIX seconds); `None`: now.
    pub internal_date: Option<i64>,
}

/// What a save or copy did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Saved {
    pub uidvalidity: u32,
    /// The new UIDs in order; empty when UIDs were not asked for and the Maildir lock was
    /// busy (the messages are safely stored and get UIDs at the next sync).
    pub uids: Vec<u32>,
}

/// What a copy or move did (COPYUID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copied {
    pub uidvalidity: u32,
    pub src_uids: Vec<u32>,
    pub dest_uids: Vec<u32>,
}

/// A session's open mailbox. No method has a default: a wrapper (quota, ACL) must pass
/// each one on, and defaults let such pass-throughs go missing unnoticed.
pub trait Mailbox {
    /// The name clients see.
    fn vname(&self) -> &str;
    fn is_read_only(&self) -> bool;
    fn uidvalidity(&self) -> u32;
    /// Looks at the backing store and the index: returns every change since the last call
    /// (new messages, expunges, flag and keyword changes, by anyone). Appends are numbered
    /// at once; expunges wait for [`take_expunges`](Self::take_expunges).
    fn sync(&mut self, flags: SyncFlags) -> StorageResult<Vec<Change>>;
    /// The session's numbering.
    fn seqs(&self) -> &SeqMap;
    /// Renumbers after expunges; returns them as (seq, uid), highest seq first.
    fn take_expunges(&mut self) -> Vec<(u32, u32)>;
    /// What the view knows about a message (`None`: no such UID, or expunged and taken).
    fn info(&self, uid: u32) -> Option<MessageInfo>;
    /// What the index cache held (envelope, body structure, header lines, dates) for a
    /// message expunged meanwhile that the session still numbers (see
    /// [`info`](Self::info)); empty when nothing was cached, or the backend keeps nothing.
    fn gone_cached_fields(&self, uid: u32) -> Vec<(String, Vec<u8>)>;
    /// Every keyword name the mailbox has.
    fn keywords(&self) -> Vec<String>;
    fn highest_modseq(&self) -> u64;
    /// Whether modseqs outlive the session (false: an in-memory index, IMAP's `NOMODSEQ`).
    fn modseqs_permanent(&self) -> bool;
    /// Whether a client has used modseqs on this mailbox, so that every SELECT reports
    /// HIGHESTMODSEQ (Dovecot's index "modseq tracking").
    fn modseq_tracking(&self) -> StorageResult<bool>;
    /// A client uses modseqs on this mailbox (CONDSTORE or QRESYNC): from now on for all.
    fn enable_modseq_tracking(&mut self) -> StorageResult<()>;
    /// The UIDs expunged after `modseq` (QRESYNC), as far as the session's numbering has
    /// read; `None` when the backend's history does not reach back that far (the caller
    /// then takes every UID it knew that no longer exists, a superset the RFC allows).
    fn expunged_since(&mut self, modseq: u64) -> StorageResult<Option<UidSet>>;
    fn status(&mut self) -> StorageResult<MailboxStatus>;
    /// Saves messages (one transaction). With `assign_uids` (IMAP APPEND: APPENDUID) the
    /// Maildir lock is waited for; without (LMTP), a busy lock leaves UIDs to a later sync.
    /// Returns only once the data is durable (per `mail_fsync`) and, when given, the UIDs
    /// are in `dovecot-uidlist`.
    fn save(&mut self, messages: &[NewMessage<'_>], assign_uids: bool) -> StorageResult<Saved>;
    /// Copies messages from `src` (hard links when allowed).
    fn copy_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied>;
    /// Copies, then expunges the originals ([`copy_then_expunge`] where nothing better).
    fn move_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied>;
    /// Changes flags and keywords.
    fn store(&mut self, uids: &UidSet, request: &StoreRequest) -> StorageResult<StoreResult>;
    /// Gives messages a new modseq, their flags unchanged: a private flag of theirs
    /// changed (`INDEXPVT`), which counts as a change for everyone's CONDSTORE, as in
    /// Dovecot. Returns the messages and their new modseq (missing ones are skipped).
    fn update_modseqs(&mut self, uids: &UidSet) -> StorageResult<Vec<(u32, u64)>>;
    /// Expunges messages; returns those that were expunged (by us or already by others).
    fn expunge(&mut self, uids: &UidSet) -> StorageResult<UidSet>;
    /// A message's data and metadata (read lazily).
    fn mail(&mut self, uid: u32) -> StorageResult<Mail>;
    /// Stores in the index cache what reading `mails` computed (envelope, structure, sizes).
    fn cache(&mut self, mails: &mut [Mail]) -> StorageResult<()>;
    /// For hard-link copies: the message's current file and the mailbox's file permissions.
    fn link_source(&mut self, uid: u32) -> StorageResult<Option<LinkSource>>;
    /// Records POP3 UIDLs (`pop3_save_uidl`, Maildir's `P` uidlist field) so that they stay
    /// what they are whatever `pop3_uidl_format` says later: (uid, uidl); messages gone
    /// meanwhile are skipped.
    fn save_pop3_uidls(&mut self, uidls: &[(u32, String)]) -> StorageResult<()>;
    /// A descriptor that becomes readable when this host changes the mailbox (IDLE waits on
    /// it); watching starts at the first call and [`sync`](Self::sync) rearms it. `None`
    /// where there is no such thing: other hosts' changes are only seen by syncing.
    fn change_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>>;
    /// The flags (and whether keywords) this session may change: all, unless ACLs say
    /// otherwise (PERMANENTFLAGS lists only these).
    fn changeable_flags(&self) -> (MailFlags, bool);
    /// Whether this session may expunge messages here (ACLs; moving out needs it).
    fn may_expunge(&self) -> bool;
    /// The directories whose entries change when this mailbox changes (what
    /// [`change_fd`](Self::change_fd) watches), for a watch over many mailboxes (NOTIFY).
    /// Empty where there is nothing to watch.
    fn watch_dirs(&self) -> Vec<std::path::PathBuf>;
    /// The mailbox GUID (what its attributes are keyed by), given to the mailbox when it
    /// has none yet.
    fn guid(&mut self) -> StorageResult<[u8; 16]>;
    /// Rebuilds the mailbox's index from its mail files (doveadm's `force-resync`): UIDs,
    /// flags and keywords are what the files (and for Maildir `dovecot-uidlist`) say; what
    /// only the index held (cached fields) is computed again when asked for. The session's
    /// numbering follows, as after any sync.
    fn force_resync(&mut self) -> StorageResult<()>;
}

/// The [`Mailbox`] methods a wrapper (quota, ACL) passes to its `inner` mailbox unchanged:
/// everything but what a wrapper has reason to check or count (read-only state, the flags
/// and expunges allowed, saving, copying, moving, storing, expunging).
macro_rules! delegate_mailbox_to_inner {
    () => {
        fn vname(&self) -> &str {
            self.inner.vname()
        }
        fn uidvalidity(&self) -> u32 {
            self.inner.uidvalidity()
        }
        fn sync(
            &mut self,
            flags: $crate::storage::api::SyncFlags,
        ) -> $crate::storage::error::StorageResult<Vec<$crate::index::state::Change>> {
            self.inner.sync(flags)
        }
        fn seqs(&self) -> &$crate::storage::api::SeqMap {
            self.inner.seqs()
        }
        fn take_expunges(&mut self) -> Vec<(u32, u32)> {
            self.inner.take_expunges()
        }
        fn info(&self, uid: u32) -> Option<$crate::storage::api::MessageInfo> {
            self.inner.info(uid)
        }
        fn gone_cached_fields(&self, uid: u32) -> Vec<(String, Vec<u8>)> {
            self.inner.gone_cached_fields(uid)
        }
        fn keywords(&self) -> Vec<String> {
            self.inner.keywords()
        }
        fn highest_modseq(&self) -> u64 {
            self.inner.highest_modseq()
        }
        fn modseqs_permanent(&self) -> bool {
            self.inner.modseqs_permanent()
        }
        fn modseq_tracking(&self) -> $crate::storage::error::StorageResult<bool> {
            self.inner.modseq_tracking()
        }
        fn enable_modseq_tracking(&mut self) -> $crate::storage::error::StorageResult<()> {
            self.inner.enable_modseq_tracking()
        }
        fn expunged_since(
            &mut self,
            modseq: u64,
        ) -> $crate::storage::error::StorageResult<Option<$crate::index::uidset::UidSet>> {
            self.inner.expunged_since(modseq)
        }
        fn status(
            &mut self,
        ) -> $crate::storage::error::StorageResult<$crate::storage::api::MailboxStatus> {
            self.inner.status()
        }
        fn mail(
            &mut self,
            uid: u32,
        ) -> $crate::storage::error::StorageResult<$crate::storage::mail::Mail> {
            self.inner.mail(uid)
        }
        fn cache(
            &mut self,
            mails: &mut [$crate::storage::mail::Mail],
        ) -> $crate::storage::error::StorageResult<()> {
            self.inner.cache(mails)
        }
        fn link_source(
            &mut self,
            uid: u32,
        ) -> $crate::storage::error::StorageResult<Option<$crate::storage::api::LinkSource>> {
            self.inner.link_source(uid)
        }
        fn save_pop3_uidls(
            &mut self,
            uidls: &[(u32, String)],
        ) -> $crate::storage::error::StorageResult<()> {
            self.inner.save_pop3_uidls(uidls)
        }
        fn guid(&mut self) -> $crate::storage::error::StorageResult<[u8; 16]> {
            self.inner.guid()
        }
        fn force_resync(&mut self) -> $crate::storage::error::StorageResult<()> {
            self.inner.force_resync()
        }
        fn update_modseqs(
            &mut self,
            uids: &$crate::index::uidset::UidSet,
        ) -> $crate::storage::error::StorageResult<Vec<(u32, u64)>> {
            self.inner.update_modseqs(uids)
        }
        fn change_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>> {
            self.inner.change_fd()
        }
        fn watch_dirs(&self) -> Vec<std::path::PathBuf> {
            self.inner.watch_dirs()
        }
    };
}
pub(crate) use delegate_mailbox_to_inner;

/// MOVE as a copy and an expunge of the originals, for a mailbox with no better way.
pub fn copy_then_expunge(
    dst: &mut dyn Mailbox,
    src: &mut dyn Mailbox,
    uids: &UidSet,
) -> StorageResult<Copied> {
    let copied = dst.copy_from(src, uids)?;
    let done: UidSet = copied.src_uids.iter().copied().collect();
    src.expunge(&done)?;
    Ok(copied)
}

/// A message file another mailbox may link to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSource {
    pub path: std::path::PathBuf,
    /// The source mailbox's permissions for new files: links only between equal ones.
    pub perms: crate::fs::CreatePerms,
}

/// One mailbox as a namespace's list has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedMailbox {
    /// The name inside the namespace (clients' separator, UTF-8).
    pub name: String,
    /// It exists as a mailbox (otherwise it is only the parent of others: \Noselect).
    pub selectable: bool,
    pub has_children: bool,
    /// \NoInferiors.
    pub no_inferiors: bool,
}

/// LIST attributes of one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListAttributes {
    pub noselect: bool,
    pub nonexistent: bool,
    pub noinferiors: bool,
    /// `Some(true)`: \HasChildren, `Some(false)`: \HasNoChildren.
    pub children: Option<bool>,
    pub subscribed: bool,
    /// RFC 6154 special-use flags (`\Sent`, ...).
    pub special_use: Vec<String>,
}

/// A LIST reply line's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub vname: String,
    pub separator: char,
    pub attributes: ListAttributes,
}

/// One namespace's mailboxes.
pub trait MailboxList {
    fn namespace(&self) -> &Namespace;
    /// Every mailbox (and every parent of one) in the namespace.
    fn mailboxes(&mut self) -> StorageResult<Vec<ListedMailbox>>;
    /// Whether the mailbox exists (selectable).
    fn exists(&mut self, name: &str) -> StorageResult<bool>;
    /// CREATE; `directory` (a name ending with the separator) asks for a place for children
    /// only, where the layout has such a thing.
    fn create(&mut self, name: &str, directory: bool) -> StorageResult<()>;
    /// DELETE: the mailbox's messages and directory; its children stay.
    fn delete(&mut self, name: &str) -> StorageResult<()>;
    /// RENAME within this namespace, children too.
    fn rename(&mut self, old: &str, new: &str) -> StorageResult<()>;
    /// The subscribed names (inside this namespace), as the subscriptions file has them.
    fn subscriptions(&mut self) -> StorageResult<Vec<String>>;
    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> StorageResult<()>;
    /// `name` (inside this namespace) as its storage names it (Dovecot's `box->name`): what
    /// another namespace's subscriptions file keeps for a namespace without subscriptions.
    fn storage_name(&self, name: &str) -> String;
    /// Subscribes to a name of another namespace, `stored` in this one's file as given
    /// (Dovecot: that namespace's prefix and storage name, without this one's prefix).
    fn set_subscribed_stored(&mut self, stored: &str, subscribed: bool) -> StorageResult<()>;
    fn open(&mut self, name: &str, options: OpenOptions) -> StorageResult<Box<dyn Mailbox>>;
}
