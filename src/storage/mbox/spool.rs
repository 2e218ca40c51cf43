//! An mbox file read and appended to under its lock sets: what the mailbox layer builds on,
//! and what an LDA needs to deliver into an mbox the way Dovecot does.
//!
//! - [`read_mbox`]: the whole file under the read locks, parsed, with UIDs as Dovecot's sync
//!   would give them.
//! - [`append_messages`]: under the write locks, messages appended at the end offset read
//!   (never O_APPEND: it tears on shared filesystems), synced per `mail_fsync`, then the
//!   last UID in `X-IMAPbase:` updated in place (its ten digits are fixed-width). A failed
//!   write truncates the file back to where it was, so no half message is left. A crash
//!   between the two steps loses nothing: an `X-UID:` equal to the next UID is accepted by
//!   Dovecot's rules and ours.
//!
//! - [`update_flags`]: headers rewritten in place within their padding (flags, keywords).
//!
//! These functions refuse (clear errors, never silent) what needs the whole-file rewrite:
//! appending to a file holding messages without a valid `X-UID:` (mail another program
//! delivered), new keyword names `X-IMAPbase:` does not list, and flag changes that do not
//! fit in a header's padding. The mailbox layer ([`super::mailbox`]) does those through
//! [`super::edit`] and [`super::rewrite_journal`] before it calls [`append_locked`].

use std::path::Path;

use crate::fs::lock::mbox::{MboxLock, MboxLockSettings};
use crate::fs::{FsFile, FsPolicy, LockKind, SyncPoint};
use crate::mail::header::fields;
use crate::storage::error::{StorageError, StorageResult};

use super::format::{
    append_message, assign_uids, parse_mbox, rewrite_header, HeaderUpdate, ImapBase, MboxFile,
    NewMessage, UidAssignment,
};
use crate::storage::flags::MailFlags;

/// An mbox file as read under its read locks.
#[derive(Debug, Clone)]
pub struct MboxSnapshot {
    pub data: Vec<u8>,
    pub file: MboxFile,
    pub uids: UidAssignment,
}

/// An mbox file as just read under its locks, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct MboxRead<'a> {
    pub data: &'a [u8],
    pub file: &'a MboxFile,
    pub uids: &'a UidAssignment,
}

impl MboxSnapshot {
    pub fn as_read(&self) -> MboxRead<'_> {
        MboxRead {
            data: &self.data,
            file: &self.file,
            uids: &self.uids,
        }
    }
}

fn parse(path: &Path, data: Vec<u8>) -> StorageResult<MboxSnapshot> {
    let file = parse_mbox(&data).map_err(|e| {
        StorageError::critical(None, format!("{e}: {}", path.display())).at_path(path)
    })?;
    let uids = assign_uids(&file);
    Ok(MboxSnapshot { data, file, uids })
}

/// Reads and parses `path` under `mbox_read_locks`.
pub fn read_mbox(
    policy: &FsPolicy,
    locks: &MboxLockSettings,
    path: &Path,
) -> StorageResult<MboxSnapshot> {
    let lock = MboxLock::acquire(policy, locks, path, LockKind::Shared)?;
    let data = lock.file().read_from(0)?;
    lock.release()?;
    parse(path, data)
}

/// Where the ten digits of the last UID in `X-IMAPbase:`/`X-IMAP:` of `file` (read from
/// `data`) are, if written in Dovecot's fixed width.
pub fn last_uid_digits(data: &[u8], file: &MboxFile) -> Option<usize> {
    let first = file.pseudo.as_ref().or(file.messages.first())?;
    let field = fields(data, first.header_offset, first.body_offset)
        .into_iter()
        .find(|f| f.is("X-IMAPbase") || f.is("X-IMAP"))?;
    let value_at = field.offset + field.name.len() + field.middle().len();
    let value = &data[value_at..field.offset + field.raw.len()];
    let validity_len = value.iter().position(|&b| b == b' ')?;
    let digits_at = validity_len + 1;
    let digits = value.get(digits_at..digits_at + 10)?;
    let after = value.get(digits_at + 10).copied();
    (digits.iter().all(u8::is_ascii_digit) && matches!(after, None | Some(b' ' | b'\n' | b'\r')))
        .then_some(value_at + digits_at)
}

/// Appends `messages` to `path` under `mbox_write_locks` (their `uid` and `base` are
/// ignored: UIDs come from the file); returns the UIDVALIDITY and the new UIDs.
/// `new_uid_validity` is used when the file is empty.
pub fn append_messages(
    policy: &FsPolicy,
    locks: &MboxLockSettings,
    path: &Path,
    messages: &[NewMessage<'_>],
    new_uid_validity: u32,
) -> StorageResult<(u32, Vec<u32>)> {
    let lock = MboxLock::acquire(policy, locks, path, LockKind::Exclusive)?;
    let done = append_locked(policy, lock.file(), path, messages, new_uid_validity)?;
    lock.release()?;
    Ok(done)
}

/// [`append_messages`] for a caller that holds the write locks (`file` is their
/// descriptor).
pub fn append_locked(
    policy: &FsPolicy,
    file: &FsFile,
    path: &Path,
    messages: &[NewMessage<'_>],
    new_uid_validity: u32,
) -> StorageResult<(u32, Vec<u32>)> {
    let snapshot = parse(path, file.read_from(0)?)?;
    append_read(
        policy,
        file,
        path,
        snapshot.as_read(),
        messages,
        new_uid_validity,
    )
}

/// [`append_locked`] for a caller that has just read the locked file into `snapshot`.
pub fn append_read(
    policy: &FsPolicy,
    file: &FsFile,
    path: &Path,
    snapshot: MboxRead<'_>,
    messages: &[NewMessage<'_>],
    new_uid_validity: u32,
) -> StorageResult<(u32, Vec<u32>)> {
    let count = u32::try_from(messages.len())
        .map_err(|_| StorageError::params("too many messages in one save"))?;
    if let Some(pos) = snapshot.uids.uids.iter().position(|u| !u.in_file) {
        return Err(StorageError::not_implemented(format!(
            "saving into an mbox whose message {} has no valid X-UID header yet (written by \
             another program; giving it a UID needs an mbox header rewrite)",
            pos + 1
        ))
        .at_path(path));
    }
    let empty = snapshot.data.is_empty();
    let base = match &snapshot.file.base {
        Some(base) => {
            if let Some(k) = messages
                .iter()
                .flat_map(|m| m.keywords)
                .find(|k| !base.keywords.iter().any(|b| b.eq_ignore_ascii_case(k)))
            {
                return Err(StorageError::not_implemented(format!(
                    "adding keyword {k} to an mbox whose X-IMAPbase header does not list it \
                     (that header would need a rewrite)"
                ))
                .at_path(path));
            }
            base.clone()
        }
        None if empty => {
            let mut keywords: Vec<String> = Vec::new();
            for k in messages.iter().flat_map(|m| m.keywords) {
                if !keywords.iter().any(|b| b.eq_ignore_ascii_case(k)) {
                    keywords.push(k.clone());
                }
            }
            ImapBase {
                uid_validity: new_uid_validity,
                last_uid: 0,
                keywords,
            }
        }
        None => {
            return Err(StorageError::not_implemented(
                "saving into an mbox without an X-IMAPbase header (it needs a header rewrite)",
            )
            .at_path(path))
        }
    };
    let first_uid = snapshot.uids.uid_next;
    if count == 0 {
        return Ok((base.uid_validity, Vec::new()));
    }
    let last_uid = first_uid
        .checked_add(count - 1)
        .filter(|&l| l < u32::MAX)
        .ok_or_else(|| StorageError::not_possible("UIDs are exhausted in this mailbox"))?;
    let final_base = ImapBase {
        last_uid,
        ..base.clone()
    };
    let mut out = Vec::new();
    if !empty && !snapshot.data.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut uids = Vec::with_capacity(messages.len());
    for (i, m) in messages.iter().enumerate() {
        let uid = first_uid + i as u32;
        append_message(
            &mut out,
            &NewMessage {
                uid,
                base: (empty && i == 0).then_some(&final_base),
                ..m.clone()
            },
        );
        uids.push(uid);
    }
    let end = snapshot.data.len() as u64;
    let written = file
        .write_all_at(&out, end)
        .and_then(|()| file.sync(policy, SyncPoint::Durable));
    if let Err(e) = written {
        // leave no half message behind
        if let Err(t) = file.set_len(end) {
            log::error!("{t}");
        }
        return Err(e.into());
    }
    crate::storage::crash::point("mbox-save-appended");
    if !empty {
        // (the digits are where the read says, unless another program moved them: a
        // read that took the start of the file from memory is checked against the file)
        let digits_at = last_uid_digits(snapshot.data, snapshot.file).filter(|&at| {
            let mut now = [0u8; 10];
            matches!(file.read_full_at(&mut now, at as u64), Ok(10))
                && snapshot.data.get(at..at + 10) == Some(&now[..])
        });
        match digits_at {
            Some(at) => {
                let digits = format!("{last_uid:010}");
                file.write_all_at(digits.as_bytes(), at as u64)?;
                file.sync(policy, SyncPoint::Durable)?;
            }
            None => log::warn!(
                "{}: X-IMAPbase's last UID is not in ten digits; left as it is",
                path.display()
            ),
        }
    }
    Ok((base.uid_validity, uids))
}

/// A flag and keyword change for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate<'a> {
    pub uid: u32,
    pub flags: MailFlags,
    pub keywords: &'a [String],
}

/// Rewrites the headers of the messages in `updates` in place under `mbox_write_locks`
/// (see [`rewrite_header`]); returns the UIDs that are not in the file (expunged). Nothing
/// is written unless every update fits: one that needs the file rewritten is refused as
/// not implemented, as are keywords `X-IMAPbase:` does not list and files holding messages
/// without an `X-UID:`.
pub fn update_flags(
    policy: &FsPolicy,
    locks: &MboxLockSettings,
    path: &Path,
    updates: &[FlagUpdate<'_>],
) -> StorageResult<Vec<u32>> {
    let lock = MboxLock::acquire(policy, locks, path, LockKind::Exclusive)?;
    let file = lock.file();
    let snapshot = parse(path, file.read_from(0)?)?;
    if snapshot.uids.uids.iter().any(|u| !u.in_file) {
        return Err(StorageError::not_implemented(
            "changing flags in an mbox holding messages without a valid X-UID header (giving \
             them UIDs needs an mbox header rewrite)",
        )
        .at_path(path));
    }
    let known: &[String] = snapshot.file.base.as_ref().map_or(&[], |b| &b.keywords);
    let mut writes = Vec::with_capacity(updates.len());
    let mut missing = Vec::new();
    for u in updates {
        let Some(i) = snapshot.uids.uids.iter().position(|a| a.uid == u.uid) else {
            missing.push(u.uid);
            continue;
        };
        if let Some(k) = u
            .keywords
            .iter()
            .find(|k| !known.iter().any(|b| b.eq_ignore_ascii_case(k)))
        {
            return Err(StorageError::not_implemented(format!(
                "adding keyword {k} to an mbox whose X-IMAPbase header does not list it \
                 (that header would need a rewrite)"
            ))
            .at_path(path)
            .for_uid(u.uid));
        }
        let msg = &snapshot.file.messages[i];
        let is_first = i == 0 && snapshot.file.pseudo.is_none();
        let update = HeaderUpdate {
            uid: u.uid,
            flags: u.flags,
            keywords: u.keywords,
            old: msg.meta.old,
            base: snapshot.file.base.as_ref().filter(|_| is_first),
        };
        let bytes = rewrite_header(&snapshot.data, msg, &update).ok_or_else(|| {
            StorageError::not_implemented(
                "a flag change that does not fit in the mbox header's padding (it needs an \
                 mbox rewrite)",
            )
            .at_path(path)
            .for_uid(u.uid)
        })?;
        writes.push((msg.header_offset as u64, bytes));
    }
    let mtime_before = file.metadata()?.modified().ok();
    for (offset, bytes) in &writes {
        file.write_all_at(bytes, *offset)?;
    }
    if !writes.is_empty() {
        mark_changed(file, mtime_before)?;
        file.sync(policy, SyncPoint::Durable)?;
    }
    lock.release()?;
    Ok(missing)
}

/// After a change that kept the file's size: moves its mtime to a later second than
/// `before` if the write did not, since readers that synced in the same second (Dovecot
/// compares whole seconds and the size) would miss the change, and a writer among them
/// would put its old flags back.
pub fn mark_changed(file: &FsFile, before: Option<std::time::SystemTime>) -> StorageResult<()> {
    if let (Some(before), Ok(after)) = (before, file.metadata()?.modified()) {
        let secs = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        };
        if secs(after) <= secs(before) {
            let next = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs(before) + 1);
            file.set_modified(next)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
