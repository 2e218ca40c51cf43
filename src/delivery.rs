//! Delivering one message into a user's mailbox, the same for LMTP and the LDA (Dovecot's
//! `mail_deliver`): the wanted mailbox if it exists (created first with
//! `lda_mailbox_autocreate`), else INBOX; saved through the storage API, which returns only
//! once the message is durable (per `mail_fsync`).
//!
//! Also what both need before that: [`MessageBuffer`] holds an incoming message (in memory up
//! to [`MAX_IN_MEMORY`], then in an unlinked temp file under `mail_temp_dir`, as Dovecot's
//! lmtp and lda do), [`ConcurrencySlots`] counts one user's deliveries in progress across
//! processes (`lmtp_user_concurrency_limit`), and [`rejection`] writes and sends the LDA's
//! rejection mails.

pub mod rejection;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fs::{CreatePerms, FlockLock, FsError, FsFile, LockKind};
use crate::storage::api::{MailFlags, NewMessage, OpenOptions};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::user::MailUser;

/// A message larger than this is spooled to a file under `mail_temp_dir` while it arrives
/// (Dovecot's lmtp and lda keep 128 KiB in memory).
pub const MAX_IN_MEMORY: usize = 128 * 1024;

/// A message being received: bytes in memory until they pass [`MAX_IN_MEMORY`], then in a
/// temp file `<mail_temp_dir>/dovecot.<service>.<host>.<pid>.<random>` that is unlinked as
/// soon as it is created (nothing is left behind whatever happens to the process).
pub struct MessageBuffer {
    temp_dir: PathBuf,
    service: String,
    memory: Vec<u8>,
    spool: Option<Spool>,
    len: usize,
}

struct Spool {
    writer: io::BufWriter<std::fs::File>,
    /// The name it had, for error texts.
    path: PathBuf,
}

/// A received message, whole: in memory or mapped from its spool file.
pub enum MessageData {
    Memory(Vec<u8>),
    /// The unlinked spool file, mapped read-only. Only this process holds the file, so it
    /// cannot shrink under the mapping.
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for MessageData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            MessageData::Memory(v) => v,
            MessageData::Mapped(m) => m,
        }
    }
}

impl MessageBuffer {
    /// An empty buffer spooling to `temp_dir` (`mail_temp_dir`, expanded) with Dovecot's
    /// file name prefix for `service` (`lmtp`, `lda`).
    pub fn new(temp_dir: &Path, service: &str) -> MessageBuffer {
        MessageBuffer {
            temp_dir: temp_dir.to_path_buf(),
            service: service.to_string(),
            memory: Vec::new(),
            spool: None,
            len: 0,
        }
    }

    /// Bytes received so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the message went to a spool file.
    pub fn is_spooled(&self) -> bool {
        self.spool.is_some()
    }

    /// Appends `data`; an error is the spool file's (creating or writing it), with its path.
    pub fn write(&mut self, data: &[u8]) -> Result<(), String> {
        self.len += data.len();
        if let Some(spool) = &mut self.spool {
            return spool
                .writer
                .write_all(data)
                .map_err(|e| format!("write({}) failed: {}", spool.path.display(), os_text(&e)));
        }
        if self.memory.len() + data.len() <= MAX_IN_MEMORY {
            self.memory.extend_from_slice(data);
            return Ok(());
        }
        let mut spool = self.create_spool()?;
        let memory = std::mem::take(&mut self.memory);
        for part in [&memory[..], data] {
            spool
                .writer
                .write_all(part)
                .map_err(|e| format!("write({}) failed: {}", spool.path.display(), os_text(&e)))?;
        }
        self.spool = Some(spool);
        Ok(())
    }

    fn create_spool(&self) -> Result<Spool, String> {
        let host = crate::hostname::hostname().unwrap_or("localhost");
        let prefix = format!("dovecot.{}.{host}.{}.", self.service, std::process::id());
        let perms = CreatePerms::default();
        // Dovecot retries random names until one is free; a few tries are plenty.
        let mut last = None;
        for _ in 0..8 {
            let random = crate::auth::random::bytes::<8>().map_err(|e| e.to_string())?;
            let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
            let path = self.temp_dir.join(format!("{prefix}{name}"));
            match FsFile::create_excl(&path, &perms) {
                Ok(file) => {
                    // Only the descriptor is wanted: the name goes at once.
                    crate::fs::ops::unlink(&path).map_err(|e| e.to_string())?;
                    let (file, path) = file.into_parts();
                    return Ok(Spool {
                        writer: io::BufWriter::with_capacity(64 * 1024, file),
                        path,
                    });
                }
                Err(e) if e.is_exists() => last = Some(e),
                Err(e) => return Err(format!("safe_mkstemp: {e}")),
            }
        }
        Err(format!(
            "safe_mkstemp: {}",
            last.map_or_else(|| "no free name".to_string(), |e: FsError| e.to_string())
        ))
    }

    /// The whole message.
    pub fn finish(self) -> Result<MessageData, String> {
        let Some(spool) = self.spool else {
            return Ok(MessageData::Memory(self.memory));
        };
        let path = spool.path;
        let file = spool
            .writer
            .into_inner()
            .map_err(|e| format!("write({}) failed: {}", path.display(), os_text(e.error())))?;
        // SAFETY: the file is unlinked and only this process has it: nothing truncates it
        // while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| format!("mmap({}) failed: {}", path.display(), os_text(&e)))?;
        Ok(MessageData::Mapped(map))
    }
}

fn os_text(e: &io::Error) -> String {
    crate::errtext::os_error_text(e)
}

/// Per-user counters of deliveries in progress, shared by every process on this host:
/// `limit` slot files per user under `dir`, each held with an exclusive `flock` while a
/// delivery uses it. A crashed process's slots free themselves (the kernel drops its locks).
pub struct ConcurrencySlots {
    dir: PathBuf,
    limit: u32,
}

/// A claimed slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Slot {
    _lock: FlockLock,
}

impl ConcurrencySlots {
    /// Slots under `dir` (created when missing), `limit` per user (`limit > 0`).
    pub fn new(dir: &Path, limit: u32) -> ConcurrencySlots {
        ConcurrencySlots {
            dir: dir.to_path_buf(),
            limit,
        }
    }

    /// A free slot of `user`: `Ok(None)` when all `limit` are taken.
    pub fn claim(&self, user: &str) -> Result<Option<Slot>, FsError> {
        let perms = CreatePerms::default();
        if let Err(e) = crate::fs::ops::mkdir(&self.dir, &perms) {
            if !e.is_exists() {
                return Err(e);
            }
        }
        // The user name may hold any byte and be long: its hash names the files.
        let digest = Sha256::digest(user.as_bytes());
        let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        for i in 0..self.limit {
            let path = self.dir.join(format!("{name}.{i}"));
            let file = FsFile::open_or_create(&path, &perms)?;
            if let Some(lock) = FlockLock::try_lock(&file, LockKind::Exclusive)? {
                return Ok(Some(Slot { _lock: lock }));
            }
        }
        Ok(None)
    }
}

/// Saves `message` into `mailbox` of `user` (or INBOX, see the module); returns the mailbox
/// it went to. Logs Dovecot's `msgid=<...>: saved mail to <mailbox>` line.
pub fn deliver(
    user: &mut MailUser,
    mailbox: &str,
    autocreate: bool,
    message: &[u8],
) -> StorageResult<String> {
    let mut name = mailbox;
    if !mailbox.eq_ignore_ascii_case("INBOX") {
        match user
            .list_for(mailbox)
            .and_then(|(list, inner)| list.exists(&inner))
        {
            Ok(true) => {}
            Ok(false) if autocreate => {
                if let Err(e) = user.create(mailbox) {
                    log::info!(
                        "Failed to autocreate mailbox {mailbox}: {}",
                        e.client_text()
                    );
                    name = "INBOX";
                }
            }
            Ok(false) | Err(_) => name = "INBOX",
        }
    }
    let mut saved = save_into(user, name, message);
    // The wanted mailbox vanished after the check: INBOX then, as for a missing one.
    if !name.eq_ignore_ascii_case("INBOX") && is_not_found(&saved) {
        name = "INBOX";
        saved = save_into(user, name, message);
    }
    // INBOX always exists, so "not found" on it is a race with its creation (a first
    // delivery in another process) or deletion elsewhere: look again, and never let it
    // pass for a permanent failure (it would bounce the message).
    let mut attempt = 1;
    while is_not_found(&saved) && attempt < INBOX_ATTEMPTS {
        attempt += 1;
        if let Err(e) = &saved {
            log::info!("INBOX not found ({}), trying again", e.client_text());
        }
        saved = save_into(user, name, message);
    }
    if let Err(e) = saved {
        log::info!(
            "msgid={}: save failed to {name}: {}",
            message_id(message).as_deref().unwrap_or("unspecified"),
            e.client_text()
        );
        if e.kind() == ErrorKind::NotFound {
            let text = e.internal().unwrap_or(e.client_text()).to_string();
            return Err(StorageError::new(ErrorKind::Temp, text).in_mailbox(name));
        }
        return Err(e);
    }
    let msgid = message_id(message);
    log::info!(
        "msgid={}: saved mail to {name}",
        msgid.as_deref().unwrap_or("unspecified")
    );
    Ok(name.to_string())
}

/// How often a save into INBOX is tried when INBOX is "not found".
const INBOX_ATTEMPTS: u32 = 3;

fn is_not_found(result: &StorageResult<()>) -> bool {
    matches!(result, Err(e) if e.kind() == ErrorKind::NotFound)
}

/// One save of `message` into `name`.
fn save_into(user: &mut MailUser, name: &str, message: &[u8]) -> StorageResult<()> {
    let mut target = user.open(name, OpenOptions::SAVE)?;
    let new = NewMessage {
        data: message,
        flags: MailFlags::empty(),
        keywords: Vec::new(),
        internal_date: None,
    };
    target.save(&[new], false).map(|_| ())
}

/// The message's Message-ID, for log lines.
pub fn message_id(message: &[u8]) -> Option<String> {
    // Only the header is needed: up to the first empty line.
    let end = message
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(message.len(), |at| at + 1);
    let parsed = crate::mail::Message::parse(message[..end].to_vec());
    parsed
        .header_fields()
        .into_iter()
        .find(|f| f.is("Message-ID"))
        .map(|f| {
            String::from_utf8_lossy(&f.value_oneline())
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_messages_go_to_an_unlinked_spool_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = MessageBuffer::new(dir.path(), "lmtp");
        buffer.write(b"head\n").unwrap();
        assert!(!buffer.is_spooled());
        let big = vec![b'x'; MAX_IN_MEMORY];
        buffer.write(&big).unwrap();
        assert!(buffer.is_spooled());
        buffer.write(b"tail\n").unwrap();
        assert_eq!(buffer.len(), 5 + MAX_IN_MEMORY + 5);
        // Nothing is left under the name it was created with.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let data = buffer.finish().unwrap();
        assert!(matches!(data, MessageData::Mapped(_)));
        assert!(data.starts_with(b"head\nxx") && data.ends_with(b"xtail\n"));
        assert_eq!(data.len(), 10 + MAX_IN_MEMORY);
    }

    #[test]
    fn an_unusable_temp_dir_is_an_error_with_its_path() {
        let mut buffer = MessageBuffer::new(Path::new("/nonexistent/tmp"), "lda");
        let e = buffer.write(&vec![0; MAX_IN_MEMORY + 1]).unwrap_err();
        assert!(e.contains("/nonexistent/tmp/dovecot.lda."), "{e}");
    }

    #[test]
    fn concurrency_slots_are_counted_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let slots = ConcurrencySlots::new(&dir.path().join("slots"), 2);
        let a1 = slots.claim("alice").unwrap().unwrap();
        let _a2 = slots.claim("alice").unwrap().unwrap();
        assert!(slots.claim("alice").unwrap().is_none());
        assert!(slots.claim("bob").unwrap().is_some());
        drop(a1);
        assert!(slots.claim("alice").unwrap().is_some());
    }

    #[test]
    fn message_ids() {
        assert_eq!(
            message_id(b"Subject: x\nMessage-ID: <a@b>\n\nMessage-ID: <body@x>\n").as_deref(),
            Some("<a@b>")
        );
        assert_eq!(message_id(b"Subject: x\n\nbody\n"), None);
    }
}
