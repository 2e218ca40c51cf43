//! The maildrop of one POP3 session (RFC 1939's TRANSACTION state): the INBOX's messages as
//! they were at login, numbered 1..n for the whole session, with their sizes, the ones
//! marked for deletion and the ones RETRieved. Nothing is changed in the mailbox until
//! [`Maildrop::update`] (QUIT): a dropped connection deletes nothing.
//!
//! Everything goes through the storage API; the sizes are Dovecot's (RFC822 sizes, with CRLF
//! line ends), so STAT and LIST agree with Dovecot's on the same Maildir.

use crate::storage::api::{
    FlagMode, MailFlags, Mailbox, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::mail::Mail;
use crate::storage::user::MailUser;

use super::settings::{DeleteType, Pop3Settings};

/// How often opening retries when messages vanish while their sizes are read.
const OPEN_ATTEMPTS: usize = 3;

/// One message of the maildrop.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    uid: u32,
    /// RFC822 size (CRLF line ends): what LIST and STAT say.
    size: u64,
    deleted: bool,
    /// RETRieved while not \Seen: gets \Seen at the end of the session.
    retrieved_unseen: bool,
}

/// The session's view of the INBOX.
pub struct Maildrop {
    mailbox: Box<dyn Mailbox>,
    uidvalidity: u32,
    messages: Vec<Message>,
    total_size: u64,
    deleted_count: u32,
    deleted_size: u64,
    /// The highest message number that is \Seen (or was RETRieved): LAST's answer.
    last_seen: u32,
    /// The keyword of `pop3_deleted_flag`: its messages are hidden, and DELE sets it when
    /// `pop3_delete_type = flag`.
    deleted_flag: Option<String>,
    delete_type: DeleteType,
    /// `pop3_no_flag_updates`: RETR sets no \Seen.
    flag_updates: bool,
}

/// A message number that exists in the maildrop (1-based); only [`Maildrop::check`] and
/// [`Maildrop::numbers`] make one, so it always indexes a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MsgNum(u32);

impl MsgNum {
    /// The number as POP3 shows it.
    pub fn get(self) -> u32 {
        self.0
    }

    fn index(self) -> usize {
        self.0 as usize - 1
    }
}

impl std::fmt::Display for MsgNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A message number that can't be used, with Dovecot's reply text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsgnumError {
    NoSuchMessage(u32),
    Deleted,
}

impl Maildrop {
    /// Opens the user's INBOX and reads the message list (Dovecot's `client_init_mailbox`).
    pub fn open(user: &mut MailUser, settings: &Pop3Settings) -> StorageResult<Maildrop> {
        let options = OpenOptions {
            read_only: false,
            claim_recent: !settings.no_flag_updates,
            save_only: false,
        };
        let mut mailbox = user.open("INBOX", options)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            mailbox.sync(SyncFlags {
                full: true,
                fast: false,
            })?;
            mailbox.take_expunges();
            let listed = read_messages(
                mailbox.as_mut(),
                settings.deleted_flag.as_deref(),
                settings.fast_size_lookups,
            );
            match listed {
                Ok(messages) => {
                    return Ok(Maildrop::new(mailbox, messages, settings));
                }
                // Expunged by someone else while we looked: look again.
                Err(e) if e.kind() == ErrorKind::Expunged && attempt < OPEN_ATTEMPTS => {}
                Err(e) if e.kind() == ErrorKind::Expunged => {
                    return Err(StorageError::critical(
                        Some("INBOX"),
                        "Can't sync mailbox: Messages keep getting expunged",
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn new(
        mailbox: Box<dyn Mailbox>,
        listed: Vec<(Message, bool)>,
        settings: &Pop3Settings,
    ) -> Maildrop {
        let mut last_seen = 0;
        let mut messages = Vec::with_capacity(listed.len());
        for (n, (message, seen)) in listed.into_iter().enumerate() {
            if seen {
                last_seen = n as u32 + 1;
            }
            messages.push(message);
        }
        Maildrop {
            uidvalidity: mailbox.uidvalidity(),
            total_size: messages.iter().map(|m| m.size).sum(),
            mailbox,
            messages,
            deleted_count: 0,
            deleted_size: 0,
            last_seen,
            deleted_flag: settings.deleted_flag.clone(),
            delete_type: settings.delete_type,
            flag_updates: !settings.no_flag_updates,
        }
    }

    pub fn uidvalidity(&self) -> u32 {
        self.uidvalidity
    }

    /// Messages in the maildrop (deleted ones too).
    pub fn count(&self) -> u32 {
        self.messages.len() as u32
    }

    pub fn total_size(&self) -> u64 {
        self.total_size
    }

    pub fn deleted_count(&self) -> u32 {
        self.deleted_count
    }

    pub fn deleted_size(&self) -> u64 {
        self.deleted_size
    }

    pub fn last_seen(&self) -> u32 {
        self.last_seen
    }

    /// Message `n` (1-based), if it exists and is not marked deleted.
    pub fn check(&self, n: u32) -> Result<MsgNum, MsgnumError> {
        let Some(message) = n.checked_sub(1).and_then(|i| self.messages.get(i as usize)) else {
            return Err(MsgnumError::NoSuchMessage(n));
        };
        if message.deleted {
            return Err(MsgnumError::Deleted);
        }
        Ok(MsgNum(n))
    }

    /// Every message number, deleted ones too.
    pub fn numbers(&self) -> impl Iterator<Item = MsgNum> {
        (1..=self.count()).map(MsgNum)
    }

    fn message(&self, n: MsgNum) -> &Message {
        &self.messages[n.index()]
    }

    pub fn size(&self, n: MsgNum) -> u64 {
        self.message(n).size
    }

    pub fn uid(&self, n: MsgNum) -> u32 {
        self.message(n).uid
    }

    /// Marked deleted (DELE) in this session.
    pub fn is_deleted(&self, n: MsgNum) -> bool {
        self.message(n).deleted
    }

    /// The numbers and sizes of the messages not marked deleted.
    pub fn listing(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.deleted)
            .map(|(i, m)| (i as u32 + 1, m.size))
    }

    /// DELE.
    pub fn delete(&mut self, n: MsgNum) {
        let message = &mut self.messages[n.index()];
        if !message.deleted {
            message.deleted = true;
            self.deleted_count += 1;
            self.deleted_size += message.size;
        }
    }

    /// The message `n` from storage; `retrieved`: RETR (not TOP), which counts for LAST and
    /// marks an unseen message to get \Seen.
    pub fn mail(&mut self, n: MsgNum, retrieved: bool) -> StorageResult<Mail> {
        let uid = self.uid(n);
        let mail = self.mailbox.mail(uid)?;
        if retrieved {
            self.last_seen = self.last_seen.max(n.get());
            if self.flag_updates && !mail.flags.contains(MailFlags::SEEN) {
                self.messages[n.index()].retrieved_unseen = true;
            }
        }
        Ok(mail)
    }

    /// Records computed UIDLs in the storage (`pop3_save_uidl`).
    pub fn save_pop3_uidls(&mut self, uidls: &[(u32, String)]) -> StorageResult<()> {
        if self.mailbox.is_read_only() {
            return Ok(());
        }
        self.mailbox.save_pop3_uidls(uidls)
    }

    /// RSET: nothing is marked deleted or retrieved any more. With `pop3_enable_last`, every
    /// message loses \Seen too (RFC 1460's LAST semantics).
    pub fn reset(&mut self, unseen_all: bool) -> StorageResult<()> {
        for m in &mut self.messages {
            m.deleted = false;
            m.retrieved_unseen = false;
        }
        self.deleted_count = 0;
        self.deleted_size = 0;
        self.last_seen = 0;
        if unseen_all && !self.mailbox.is_read_only() && !self.messages.is_empty() {
            let uids: UidSet = self.messages.iter().map(|m| m.uid).collect();
            self.mailbox
                .store(&uids, &flag_change(FlagMode::Remove, None))?;
        }
        Ok(())
    }

    /// The UPDATE state (QUIT): DELEted messages are expunged (or get `pop3_deleted_flag`),
    /// RETRieved ones get \Seen, then the mailbox is synced so the changes are on disk.
    pub fn update(&mut self) -> StorageResult<()> {
        self.apply(true)
    }

    /// The end of a session without QUIT: only the \Seen flags of RETRieved messages are
    /// stored (as Dovecot does); nothing is deleted.
    pub fn save_seen(&mut self) -> StorageResult<()> {
        self.apply(false)
    }

    /// Whether ending the session without QUIT has anything to store.
    pub fn has_seen_changes(&self) -> bool {
        self.messages.iter().any(|m| m.retrieved_unseen)
    }

    fn apply(&mut self, quit: bool) -> StorageResult<()> {
        if self.mailbox.is_read_only() {
            return Ok(());
        }
        let deleted: UidSet = if quit {
            self.messages
                .iter()
                .filter(|m| m.deleted)
                .map(|m| m.uid)
                .collect()
        } else {
            UidSet::new()
        };
        let seen: UidSet = self
            .messages
            .iter()
            .filter(|m| m.retrieved_unseen && !deleted.contains(m.uid))
            .map(|m| m.uid)
            .collect();
        if !deleted.is_empty() {
            match (self.delete_type, &self.deleted_flag) {
                (DeleteType::Flag, Some(flag)) => {
                    let change = flag_change(FlagMode::Add, Some(flag.clone()));
                    self.mailbox.store(&deleted, &change)?;
                }
                _ => {
                    self.mailbox.expunge(&deleted)?;
                }
            }
        }
        if !seen.is_empty() {
            self.mailbox
                .store(&seen, &flag_change(FlagMode::Add, None))?;
        }
        for m in &mut self.messages {
            m.retrieved_unseen = false;
        }
        if quit || !seen.is_empty() {
            self.mailbox.sync(SyncFlags::default())?;
        }
        Ok(())
    }
}

/// \Seen added or removed, or (with `keyword`) the keyword added.
fn flag_change(mode: FlagMode, keyword: Option<String>) -> StoreRequest {
    let (flags, keywords) = match keyword {
        Some(k) => (MailFlags::empty(), vec![k]),
        None => (MailFlags::SEEN, Vec::new()),
    };
    StoreRequest {
        mode,
        flags,
        keywords,
        unchanged_since: None,
    }
}

/// The messages in the mailbox's order, without those having `deleted_flag`, each with
/// whether it is \Seen. Sizes not known without reading the file are computed and cached.
/// With `fast_sizes` (`pop3_fast_size_lookups`) a message whose virtual size is not known
/// but whose stored size (LF line ends) is (`S=`, the cache) gets that one, unread; one with
/// neither is read, as Dovecot 2.3.19.1 does (it does not fall back to `stat`).
fn read_messages(
    mailbox: &mut dyn Mailbox,
    deleted_flag: Option<&str>,
    fast_sizes: bool,
) -> StorageResult<Vec<(Message, bool)>> {
    let uids = mailbox.seqs().uids().to_vec();
    let mut listed = Vec::with_capacity(uids.len());
    let mut computed = Vec::new();
    for uid in uids {
        let Some(info) = mailbox.info(uid) else {
            return Err(StorageError::new(
                ErrorKind::Expunged,
                "Message was expunged",
            ));
        };
        if deleted_flag.is_some_and(|f| info.keywords.iter().any(|k| k.eq_ignore_ascii_case(f))) {
            continue;
        }
        let mut mail = mailbox.mail(uid)?;
        let fast = match mail.virtual_size_if_known() {
            Some(size) => Some(size),
            None if fast_sizes => mail.physical_size_if_known(),
            None => None,
        };
        let size = match fast {
            Some(size) => size,
            None => mail.virtual_size()?,
        };
        if !mail.computed().is_empty() {
            computed.push(mail);
        }
        listed.push((
            Message {
                uid,
                size,
                deleted: false,
                retrieved_unseen: false,
            },
            info.flags.contains(MailFlags::SEEN),
        ));
    }
    if !computed.is_empty() {
        // The sizes are already known; a cache that can't be written only costs time later.
        if let Err(e) = mailbox.cache(&mut computed) {
            log::warn!("Caching message sizes failed: {}", e.client_text());
        }
    }
    Ok(listed)
}
