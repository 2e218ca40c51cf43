//! What the IMAP session needs from mail storage: the [`MailSession`] trait (one user's
//! mailboxes, and the selected one) and [`MailMessage`] (one message). The storage wiring
//! implements them; the protocol side (`session.rs`) only talks to these traits, so it can be
//! tested without storage and never touches files.
//!
//! The selected mailbox is seen through the client's *view*: the session keeps the UIDs the
//! client knows, in sequence order, and applies changes only where IMAP allows them. Storage
//! therefore reports changes instead of a new state: [`MailSession::sync`] returns what other
//! sessions, processes and hosts changed since the last call. Changes made through this
//! session's own `store`, `expunge` and `copy` (with `moving`) are reported by those calls'
//! results and never again by `sync`; messages this session appends or copies into the
//! selected mailbox arrive through `sync` like anyone else's.

use std::fmt;
use std::io::Read;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::imap::flags::FlagList;
use crate::imap::parser::append::MessageInfo;
use crate::imap::parser::list::{List, StatusItems};
use crate::imap::parser::store::StoreMode;
use crate::imap::response::Code;
use crate::index::uidset::UidSet;
use crate::mail::search::HeaderMatch;
use crate::mail::{BinaryData, BinaryError, Message, Section};
use crate::storage::acl::{AclUpdate, Names};
use crate::storage::attribute::{AttributeChange, AttributeKey};
use crate::storage::flags::MailFlags;
pub use crate::storage::user::{AclListing, AdminCheck};

/// What kind of failure a storage operation had. The IMAP response code follows from it as
/// Dovecot maps `enum mail_error` (`imap_get_error_string`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailErrorKind {
    /// A temporary or internal error (`[SERVERBUG]`); the text should say to look at the log.
    Temp,
    /// `[UNAVAILABLE]`
    Unavailable,
    /// The operation cannot be done with this mailbox or message (`[CANNOT]`).
    NotPossible,
    /// Invalid parameters, such as a name storage refuses (`[CANNOT]`).
    Params,
    /// `[NOPERM]`
    Perm,
    /// `[OVERQUOTA]`
    NoQuota,
    /// The mailbox does not exist (`[NONEXISTENT]` for DELETE, RENAME and UNSUBSCRIBE,
    /// `[TRYCREATE]` for APPEND, COPY and MOVE).
    NotFound,
    /// `[ALREADYEXISTS]`
    Exists,
    /// The message was expunged (`[EXPUNGEISSUED]`).
    Expunged,
    /// `[INUSE]`
    InUse,
    /// A charset or encoding that cannot be converted (no code).
    Conversion,
    /// Broken data (no code).
    InvalidData,
    /// `[LIMIT]`
    Limit,
}

/// A failed storage operation: its kind and the text for the client (Dovecot's texts, e.g.
/// `Mailbox doesn't exist: Foo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError {
    pub kind: MailErrorKind,
    pub text: String,
}

impl MailError {
    pub fn new(kind: MailErrorKind, text: impl Into<String>) -> MailError {
        MailError {
            kind,
            text: text.into(),
        }
    }

    /// `Mailbox doesn't exist: <name>`.
    pub fn mailbox_not_found(name: &str) -> MailError {
        MailError::new(
            MailErrorKind::NotFound,
            format!("Mailbox doesn't exist: {name}"),
        )
    }

    /// The response code of a `NO` for this error. `nonexistent`: the command reports a
    /// missing mailbox with `[NONEXISTENT]` (DELETE, RENAME, UNSUBSCRIBE).
    pub fn code(&self, nonexistent: bool) -> Option<Code> {
        if self.text.starts_with('[') {
            return None;
        }
        match self.kind {
            MailErrorKind::Temp => Some(Code::ServerBug),
            MailErrorKind::Unavailable => Some(Code::Unavailable),
            MailErrorKind::NotPossible | MailErrorKind::Params => Some(Code::Cannot),
            MailErrorKind::Perm => Some(Code::NoPerm),
            MailErrorKind::NoQuota => Some(Code::OverQuota),
            MailErrorKind::NotFound if nonexistent => Some(Code::Nonexistent),
            MailErrorKind::NotFound => None,
            MailErrorKind::Exists => Some(Code::AlreadyExists),
            MailErrorKind::Expunged => Some(Code::ExpungeIssued),
            MailErrorKind::InUse => Some(Code::InUse),
            MailErrorKind::Conversion | MailErrorKind::InvalidData => None,
            MailErrorKind::Limit => Some(Code::Limit),
        }
    }
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for MailError {}

/// A namespace as NAMESPACE lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// UTF-8 (written in the session's name encoding).
    pub prefix: String,
    pub separator: Option<char>,
    pub kind: NamespaceKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    Private,
    Shared,
    Public,
}

/// One mailbox of a LIST or LSUB answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// UTF-8.
    pub name: String,
    pub separator: Option<char>,
    /// Name attributes as IMAP writes them (`\HasNoChildren`, `\Noselect`, `\Subscribed`,
    /// `\Trash`, ...), in order.
    pub attributes: Vec<String>,
    /// LIST-EXTENDED CHILDINFO (`SUBSCRIBED`, `SPECIAL-USE`).
    pub child_info: Vec<String>,
    /// LIST-STATUS: the mailbox can be selected, so a STATUS answer follows it.
    pub selectable: bool,
}

/// A mailbox's STATUS values (the session writes the ones asked for).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailboxStatus {
    pub messages: u32,
    pub recent: u32,
    pub uid_next: u32,
    pub uid_validity: u32,
    pub unseen: u32,
    /// Messages with `\Deleted` (IMAP4rev2's STATUS DELETED).
    pub deleted: u32,
    pub highest_modseq: u64,
    /// RFC 8438: the total size of the messages.
    pub size: u64,
    /// Dovecot's X-GUID.
    pub guid: String,
}

/// STATUS of the selected mailbox: what storage adds to the session's view, over the
/// messages the client knows, as they were at the last sync (Dovecot answers from the
/// session's view, not from the mailbox as it is now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewTotals {
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// Messages with `\Deleted`.
    pub deleted: u32,
    /// The sum of their RFC822.SIZEs (RFC 8438).
    pub size: u64,
}

/// A mailbox being selected, as the client first sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelectedMailbox {
    /// The messages' UIDs, ascending: sequence number n is `uids[n - 1]`.
    pub uids: Vec<u32>,
    /// The messages that are `\Recent` in this session (RFC 3501: one session only).
    pub recent: UidSet,
    /// The first message without `\Seen` (`[UNSEEN n]`).
    pub first_unseen_uid: Option<u32>,
    /// The mailbox's keywords (FLAGS).
    pub keywords: Vec<String>,
    /// Keywords are stored permanently (listed in PERMANENTFLAGS).
    pub permanent_keywords: bool,
    /// New keywords can be created (`\*` in PERMANENTFLAGS).
    pub allow_new_keywords: bool,
    /// System flags this user may not change (ACLs): left out of PERMANENTFLAGS.
    pub denied_flags: MailFlags,
    /// EXAMINE, or a mailbox this user cannot change.
    pub read_only: bool,
    pub uid_validity: u32,
    pub uid_next: u32,
    /// `None`: the mailbox has no permanent modseqs (`[NOMODSEQ]`).
    pub highest_modseq: Option<u64>,
    /// A client has used modseqs on the mailbox: SELECT reports HIGHESTMODSEQ also to a
    /// session without CONDSTORE (Dovecot's index tracks modseqs from then on).
    pub modseq_tracking: bool,
}

/// Changes to the selected mailbox since the last [`MailSession::sync`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailboxChanges {
    /// UIDs expunged.
    pub expunged: UidSet,
    /// New messages' UIDs, ascending and above every UID the session knows.
    pub new: Vec<u32>,
    /// Those of the new messages that are `\Recent` in this session.
    pub new_recent: UidSet,
    /// Messages whose flags or keywords changed.
    pub flags_changed: UidSet,
    /// Messages whose modseq alone changed (another viewer's private flag): CONDSTORE
    /// sessions are told the new modseq.
    pub modseq_changed: UidSet,
    /// The highest UID given out, as far as this sync saw new messages (also those
    /// expunged before the session heard of them): UIDNEXT of the session's view is above
    /// it. 0 when there was nothing new.
    pub last_uid: u32,
}

/// A flag change (STORE, and the `\Seen` a body FETCH sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub mode: StoreMode,
    pub flags: FlagList,
    /// CONDSTORE: only messages whose modseq is at most this.
    pub unchanged_since: Option<u64>,
}

/// What a STORE did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreResult {
    /// Messages whose flags changed (their new flags are read with [`MailSession::message`]).
    pub changed: UidSet,
    /// Messages not changed because of UNCHANGEDSINCE (`[MODIFIED ...]`).
    pub modified: UidSet,
}

/// What a COPY or MOVE did (`[COPYUID ...]`, RFC 4315).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyResult {
    /// The destination's UIDVALIDITY.
    pub uid_validity: u32,
    /// Source UIDs copied, ascending.
    pub source: UidSet,
    /// The UIDs they got, in the same order. Empty when storage cannot tell.
    pub destination: Vec<u32>,
    /// The destination is the `\Trash` special-use mailbox (the logout line counts these).
    pub destination_is_trash: bool,
}

/// What an APPEND did (`[APPENDUID ...]`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppendResult {
    pub uid_validity: u32,
    /// The new messages' UIDs, in order. Empty when storage cannot tell.
    pub uids: Vec<u32>,
}

/// One user's mail, as the IMAP session uses it.
pub trait MailSession {
    /// A message of the selected mailbox.
    type Message<'a>: MailMessage
    where
        Self: 'a;

    /// The namespaces NAMESPACE lists (hidden ones left out), in order.
    fn namespaces(&self) -> Vec<Namespace>;

    /// `name` as storage keys it: INBOX in any case is INBOX (also as the first level of a
    /// name), the namespace's own form otherwise.
    fn canonical_name(&self, name: &str) -> String;

    /// LIST and LSUB: the mailboxes matching the request, with their attributes. A
    /// non-extended `LIST ref ""` asks for the hierarchy root of the reference: one entry
    /// with `\Noselect`, the separator and the root name (often empty). LSUB answers carry
    /// no attributes unless `returns.children` asks for them (`tb-lsub-flags`).
    fn list(&mut self, request: &List) -> Result<Vec<ListEntry>, MailError>;

    fn create(&mut self, name: &str) -> Result<(), MailError>;
    /// Deleting the selected mailbox closes it (the session then reports `* BYE`-less
    /// deselection itself).
    fn delete(&mut self, name: &str) -> Result<(), MailError>;
    /// RFC 3501 INBOX semantics: renaming INBOX moves its messages and leaves it empty.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), MailError>;
    fn set_subscribed(&mut self, name: &str, subscribed: bool) -> Result<(), MailError>;

    fn status(&mut self, name: &str, items: &StatusItems) -> Result<MailboxStatus, MailError>;

    /// CONDSTORE (or QRESYNC) is now enabled in this session: the selected mailbox, and each
    /// mailbox the session opens from now on (SELECT, STATUS, APPEND, COPY), tracks modseqs
    /// for every session (Dovecot's `mailbox_enable(CONDSTORE)`).
    fn enable_condstore(&mut self);

    /// Opens a mailbox as the selected one (closing any other without expunging).
    fn select(&mut self, name: &str, read_only: bool) -> Result<SelectedMailbox, MailError>;
    /// Closes the selected mailbox; `expunge`: first expunge its `\Deleted` messages (CLOSE),
    /// silently. Returns the UIDs expunged.
    fn close(&mut self, expunge: bool) -> Result<UidSet, MailError>;
    /// Whether `name` is the selected mailbox.
    fn is_selected(&self, name: &str) -> bool;
    /// Whether `name` is the selected mailbox's name as given (INBOX in any case aside):
    /// Dovecot's `mailbox_equals`, which decides STATUS's `[CLIENTBUG]`.
    fn is_selected_by_name(&self, name: &str) -> bool;

    /// Changes to the selected mailbox that this session has not been told of.
    fn sync(&mut self) -> Result<MailboxChanges, MailError>;
    /// The unseen count and total size of these messages of the selected mailbox (the
    /// client's view, expunged ones it was not told of included) as of the last
    /// [`sync`](Self::sync): STATUS on the selected mailbox.
    fn view_totals(&mut self, uids: &[u32]) -> Result<ViewTotals, MailError>;
    /// The selected mailbox's keywords (after a STORE created one, or a sync).
    fn keywords(&self) -> Vec<String>;
    /// The selected mailbox's highest modseq (CONDSTORE).
    fn highest_modseq(&self) -> u64;
    /// The UIDs of the selected mailbox expunged after `modseq` (QRESYNC), as far as the
    /// session has synced; `None` when storage's history does not reach back that far (the
    /// session then reports every UID the client knew that no longer exists).
    fn expunged_since(&mut self, _modseq: u64) -> Result<Option<UidSet>, MailError> {
        Ok(None)
    }
    /// A message of the selected mailbox (`Expunged` if it is gone).
    fn message(&mut self, uid: u32) -> Result<Self::Message<'_>, MailError>;
    fn store(&mut self, uids: &UidSet, change: &FlagChange) -> Result<StoreResult, MailError>;
    /// Expunges the `\Deleted` messages (all of them, or those of `uids`); returns the UIDs
    /// expunged.
    fn expunge(&mut self, uids: Option<&UidSet>) -> Result<UidSet, MailError>;
    /// COPY or MOVE to another mailbox (MOVE expunges the sources; their UIDs are the result's
    /// `source`).
    fn copy(&mut self, uids: &UidSet, to: &str, moving: bool) -> Result<CopyResult, MailError>;
    /// CHECK: make everything durable.
    fn check(&mut self) -> Result<(), MailError>;

    /// APPEND, step by step: the target mailbox (`NotFound` becomes `[TRYCREATE]`)...
    fn append_begin(&mut self, mailbox: &str) -> Result<(), MailError>;
    /// ...each message's flags and date...
    fn append_message(&mut self, info: &MessageInfo) -> Result<(), MailError>;
    /// ...its data, all of it or one CATENATE TEXT part at a time (`binary`: sent as
    /// literal8, to be converted back from binary transfer, RFC 3516). The session reads
    /// whatever the implementation leaves unread...
    fn append_data(&mut self, data: &mut dyn Read, binary: bool) -> Result<(), MailError>;
    /// ...or a CATENATE URL part (its size is the result)...
    fn append_url(&mut self, url: &[u8]) -> Result<u64, MailError>;
    /// ...the end of a message...
    fn append_message_end(&mut self) -> Result<(), MailError>;
    /// ...and all of them saved at once. Nothing is saved before this returns Ok.
    fn append_commit(&mut self) -> Result<AppendResult, MailError>;
    /// Drops an APPEND that failed or was cut off (nothing when none is in progress).
    fn append_abort(&mut self);

    /// A command is about to run: what its messages show may be read as they are now (the
    /// newest flags, as Dovecot's views show them); the changes are still reported by the
    /// next [`sync`](Self::sync).
    fn begin_command(&mut self) {}

    /// The client was told of these expunges: the messages are no longer asked for.
    fn expunges_reported(&mut self, _uids: &UidSet) {}

    /// Whether another session expunged `uid` and the client has not been told yet
    /// ([`message`](Self::message) still shows it as it last was).
    fn expunged_unreported(&self, _uid: u32) -> bool {
        false
    }

    /// While idling: a descriptor that becomes readable when the selected mailbox may have
    /// changed (inotify on this host's changes); `None` to rely on the periodic check alone.
    fn change_fd(&mut self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// A mailbox's GUID (NOTIFY tells a renamed mailbox by it), given to the mailbox when it
    /// has none yet; `None` when storage has none.
    fn mailbox_guid(&mut self, _name: &str) -> Option<String> {
        None
    }

    /// NOTIFY: watches the mailbox lists and these mailboxes for changes this host makes,
    /// replacing any earlier watch (an empty list still watches the lists).
    fn notify_watch(&mut self, _mailboxes: &[String]) {}

    /// NOTIFY: stops watching.
    fn notify_unwatch(&mut self) {}

    /// NOTIFY: a descriptor that becomes readable when a watched mailbox or list may have
    /// changed; `None` to rely on the periodic check alone.
    fn notify_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// NOTIFY: reads the events waiting on [`notify_fd`](Self::notify_fd), before looking
    /// at the mailboxes, so that a later change wakes the next wait.
    fn notify_drain(&mut self) {}

    /// While idling: how often to look for changes other hosts made
    /// (`mailbox_idle_check_interval`).
    fn idle_check_interval(&self) -> Duration {
        Duration::from_secs(30)
    }

    /// GETQUOTAROOT: the quota roots of a mailbox (hidden ones left out), each with its
    /// limited resources or why they could not be read; `None` when the user has no quota.
    fn quota_roots(&mut self, _mailbox: &str) -> Result<Option<Vec<QuotaRoot>>, MailError> {
        Ok(None)
    }

    /// GETQUOTA: one root by name; `None` when there is no such root.
    fn quota_root(&mut self, _name: &str) -> Option<QuotaRoot> {
        None
    }

    /// APPEND: whether a message of `size` bytes (the literal's, or a CATENATE message's so
    /// far) may still be saved into the mailbox of the APPEND in progress, asked before the
    /// literal is read (Dovecot's early quota check).
    fn append_check_size(&mut self, _size: u64) -> Result<(), MailError> {
        Ok(())
    }

    /// METADATA (RFC 5464): the mailbox whose attributes the next `attribute_*` calls use
    /// (`None`: the server's); returns its name as clients see it. Fails as opening it
    /// would (`Mailbox doesn't exist: X`).
    fn attribute_mailbox(&mut self, _mailbox: Option<&str>) -> Result<String, MailError> {
        Err(attributes_disabled())
    }

    /// An attribute's value (`None`: it has none).
    fn attribute_get(&mut self, _key: &AttributeKey) -> Result<Option<Vec<u8>>, MailError> {
        Err(attributes_disabled())
    }

    /// The attributes below `prefix` (which is empty or ends with `/`), relative to it.
    fn attribute_keys(&mut self, _prefix: &AttributeKey) -> Result<Vec<Vec<u8>>, MailError> {
        Err(attributes_disabled())
    }

    /// Changes attributes: all of them, or none.
    fn attribute_set(&mut self, _changes: &[AttributeChange]) -> Result<(), MailError> {
        Err(attributes_disabled())
    }

    /// The mailboxes a GETMETADATA name with wildcards matches (selectable ones, in LIST
    /// order).
    fn attribute_mailboxes(&mut self, _pattern: &str) -> Result<Vec<String>, MailError> {
        Err(attributes_disabled())
    }

    /// URLAUTH: opens a mailbox an IMAP URL names, read-only, and checks its UIDVALIDITY
    /// (0: any; `Invalid UIDVALIDITY` otherwise); returns its name as clients see it.
    fn url_mailbox(&mut self, _mailbox: &str, _uidvalidity: u32) -> Result<String, MailError> {
        Err(urlauth_unsupported())
    }

    /// URLAUTH: message `uid` of a mailbox [`url_mailbox`](Self::url_mailbox) opened
    /// (`Message not found` when it has none).
    fn url_message(&mut self, _mailbox: &str, _uid: u32) -> Result<Message, MailError> {
        Err(urlauth_unsupported())
    }

    /// The ACL user, when ACLs are enabled (`None`: "ACLs disabled.").
    fn acl_user(&self) -> Option<AclUser> {
        None
    }

    /// The user's rights on a mailbox (MYRIGHTS).
    fn acl_rights(&mut self, _mailbox: &str) -> Result<Names, MailError> {
        Err(acls_disabled())
    }

    /// Whether the user administers a mailbox (GETACL, SETACL, DELETEACL).
    fn acl_admin(&mut self, _mailbox: &str) -> Result<AdminCheck, MailError> {
        Err(acls_disabled())
    }

    /// A mailbox's ACL entries (GETACL).
    fn acl_listing(&mut self, _mailbox: &str) -> Result<AclListing, MailError> {
        Err(acls_disabled())
    }

    /// Changes a mailbox's ACL (SETACL, DELETEACL).
    fn acl_update(&mut self, _mailbox: &str, _update: &AclUpdate) -> Result<(), MailError> {
        Err(acls_disabled())
    }
}

/// Who the ACL commands act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclUser {
    /// The ACL user name (`acl_user`, else the user).
    pub username: String,
    /// `acl_anyone = allow`.
    pub anyone_allow: bool,
}

/// Dovecot's answer when the acl plugin has no `acl` setting.
fn acls_disabled() -> MailError {
    MailError::new(MailErrorKind::NotPossible, "ACLs disabled.")
}

/// A mail session without URL access.
fn urlauth_unsupported() -> MailError {
    MailError::new(
        MailErrorKind::NotPossible,
        "URLAUTH not supported by this session",
    )
}

/// Dovecot's answer when no `mail_attribute_dict` is set.
fn attributes_disabled() -> MailError {
    MailError::new(MailErrorKind::NotPossible, "Mailbox attributes not enabled")
}

/// A quota root as GETQUOTA answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRoot {
    pub name: String,
    /// (resource name, usage, limit) of the limited resources (STORAGE in kilobytes);
    /// `Err(())` when the usage could not be read (logged).
    pub resources: Result<Vec<(String, u64, u64)>, ()>,
}

/// One message of the selected mailbox: what FETCH and SEARCH read. Everything about the
/// content has a default made from [`MailMessage::parsed`]; storage overrides what it has
/// cached (ENVELOPE, BODYSTRUCTURE, sizes) to avoid reading the message.
pub trait MailMessage {
    fn uid(&self) -> u32;
    /// System flags and keywords (`\Recent` is the session's).
    fn flags(&mut self) -> Result<FlagList, MailError>;
    fn modseq(&mut self) -> Result<u64, MailError>;
    /// INTERNALDATE as a UTC timestamp.
    fn internal_date(&mut self) -> Result<i64, MailError>;
    /// When the message was saved here (RFC 8514); `None` when storage does not know.
    fn save_date(&mut self) -> Result<Option<i64>, MailError>;
    /// RFC822.SIZE: the size with CRLF line ends.
    fn virtual_size(&mut self) -> Result<u64, MailError>;
    /// Dovecot's message GUID (X-GUID).
    fn guid(&mut self) -> Result<String, MailError>;
    /// The message itself.
    fn parsed(&mut self) -> Result<&Message, MailError>;

    fn envelope(&mut self) -> Result<Vec<u8>, MailError> {
        Ok(self.parsed()?.imap_envelope())
    }

    /// BODYSTRUCTURE (`extended`) or BODY.
    fn body_structure(&mut self, extended: bool) -> Result<Vec<u8>, MailError> {
        let message = self.parsed()?;
        let structure = if extended {
            message.imap_bodystructure()
        } else {
            message.imap_body()
        };
        structure.map_err(|e| MailError::new(MailErrorKind::InvalidData, e.0))
    }

    /// `BODY[section]<partial>`.
    fn body_section(&mut self, section: &Section) -> Result<Vec<u8>, MailError> {
        Ok(self.parsed()?.body_section(section))
    }

    /// `BINARY[section]<partial>`.
    fn binary_section(&mut self, section: &Section) -> Result<BinaryData, MailError> {
        self.parsed()?.binary_section(section).map_err(binary_error)
    }

    /// `BINARY.SIZE[section]`.
    fn binary_size(&mut self, section: &Section) -> Result<u64, MailError> {
        self.parsed()?.binary_size(section).map_err(binary_error)
    }

    /// The Date: header for SENT* searches: the sender's local time as seconds (0 without a
    /// valid date, as Dovecot).
    fn sent_date(&mut self) -> Result<i64, MailError> {
        Ok(self.parsed()?.sent_date())
    }

    /// The first root header `name`, undecoded (SORT, THREAD); `None` when there is none.
    fn first_header(&mut self, name: &str) -> Result<Option<Vec<u8>>, MailError> {
        Ok(self.parsed()?.first_header(name))
    }

    /// HEADER/FROM/TO/CC/BCC/SUBJECT search.
    fn header_contains(
        &mut self,
        field: &str,
        value: &str,
        how: HeaderMatch,
    ) -> Result<bool, MailError> {
        Ok(self.parsed()?.search_header(field, value, how))
    }

    /// BODY search.
    fn body_contains(&mut self, text: &str) -> Result<bool, MailError> {
        Ok(self.parsed()?.search_body(text))
    }

    /// TEXT search.
    fn text_contains(&mut self, text: &str) -> Result<bool, MailError> {
        Ok(self.parsed()?.search_text(text))
    }

    /// PREVIEW (RFC 8970): `lazy`: only if it is at hand without reading the message
    /// (`Ok(None)` then gives NIL; nothing is at hand here, storage overrides this with
    /// its cache).
    fn preview(&mut self, lazy: bool) -> Result<Option<String>, MailError> {
        if lazy {
            return Ok(None);
        }
        Ok(Some(self.parsed()?.snippet()))
    }
}

/// BINARY's failures: FETCH answers `NO [UNKNOWN-CTE]` for `Conversion` and `NO [PARSE]`
/// for `InvalidData`, as Dovecot.
fn binary_error(e: BinaryError) -> MailError {
    match e {
        BinaryError::UnknownCte => MailError::new(
            MailErrorKind::Conversion,
            "Unknown Content-Transfer-Encoding",
        ),
        BinaryError::InvalidData | BinaryError::Truncated => {
            MailError::new(MailErrorKind::InvalidData, "Invalid data in MIME part")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_as_dovecot() {
        let err = |kind| MailError::new(kind, "x");
        assert_eq!(err(MailErrorKind::Temp).code(false), Some(Code::ServerBug));
        assert_eq!(err(MailErrorKind::NotFound).code(false), None);
        assert_eq!(
            err(MailErrorKind::NotFound).code(true),
            Some(Code::Nonexistent)
        );
        assert_eq!(err(MailErrorKind::Params).code(false), Some(Code::Cannot));
        assert_eq!(err(MailErrorKind::Conversion).code(false), None);
        // A text with its own code keeps it.
        assert_eq!(
            MailError::new(MailErrorKind::Temp, "[LIMIT] x").code(false),
            None
        );
        assert_eq!(
            MailError::mailbox_not_found("Foo").to_string(),
            "Mailbox doesn't exist: Foo"
        );
    }
}
