//! The file side of an open mbox: reading it under its locks (finishing an interrupted
//! rewrite first), writing what a change needs, and reconciling cote's index with what the
//! file says (the file is the truth: UIDs, flags and keywords come from its headers).

use std::collections::{HashMap, HashSet};

use crate::fs::lock::mbox::MboxLock;
use crate::fs::{ops, FsFile, LockKind, SyncPoint};
use crate::index::state::MailboxState;
use crate::index::transaction::{AppendMessage, FlagMode, IndexTransaction};
use crate::index::uidset::UidSet;
use crate::index::writer::LockedIndex;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::maildir::mailbox::core::{index_flags, keyword_names, mail_flags};
use crate::storage::mbox::edit::{self, listed_keywords, Edits, PseudoStamp, Writes};
use crate::storage::mbox::format::md5::HeaderMd5;
use crate::storage::mbox::format::{
    assign_uids, parse_mbox, parse_mbox_at, MboxFile, MboxFormatError, UidAssignment,
};
use crate::storage::mbox::spool::{last_uid_digits, mark_changed, MboxRead};

use super::identify::{hex, match_by_md5};
use super::recorded::{FileIdent, Recorded};
use super::MboxMailbox;

/// The mbox as last read.
#[derive(Debug, Clone)]
pub(super) struct Loaded {
    /// `None`: there is no file (an INBOX nothing was delivered to yet).
    pub ident: Option<FileIdent>,
    pub data: Vec<u8>,
    pub file: MboxFile,
    pub uids: UidAssignment,
    /// Read from the last known message on (see `read_grown`): changes before it may
    /// have been missed, so the index records the file as dirty.
    pub grown: bool,
    /// Dovecot's sync of this read would leave its index dirty (its next SELECT reads the
    /// file whole): the file only grew since the index recorded it, so Dovecot's dirty
    /// sync reads just the new tail, or the read was of the tail.
    pub leaves_dirty: bool,
    /// The UID of the last message whose `Status:` had `O` before this session wrote into
    /// the file: no message up to it is \Recent (Dovecot's sync decides from the file as it
    /// found it; the `O` a SELECT session writes itself does not count).
    pub last_old: Option<u32>,
}

impl Loaded {
    fn empty() -> Loaded {
        let file = MboxFile::default();
        let uids = assign_uids(&file);
        Loaded {
            ident: None,
            data: Vec::new(),
            file,
            uids,
            grown: false,
            leaves_dirty: false,
            last_old: None,
        }
    }

    /// Read from a file this session did not write to.
    fn found(
        ident: FileIdent,
        data: Vec<u8>,
        file: MboxFile,
        uids: UidAssignment,
        grown: bool,
    ) -> Loaded {
        let last_old = (file.messages.iter())
            .zip(&uids.uids)
            .filter(|(m, _)| m.meta.old)
            .map(|(_, u)| u.uid)
            .max();
        Loaded {
            ident: Some(ident),
            data,
            file,
            uids,
            grown,
            leaves_dirty: grown,
            last_old,
        }
    }

    /// `self` as read back after this session wrote `before` into the file: messages are
    /// \Recent or not as `before` said, and a write after a read of the grown tail leaves
    /// the index dirty as that read did (Dovecot's next sync reads the file whole).
    pub fn written_over(self, before: &Loaded) -> Loaded {
        Loaded {
            last_old: before.last_old,
            leaves_dirty: before.leaves_dirty,
            ..self
        }
    }

    pub fn as_read(&self) -> MboxRead<'_> {
        MboxRead {
            data: &self.data,
            file: &self.file,
            uids: &self.uids,
        }
    }

    /// The position of `uid` among the messages.
    pub fn position(&self, uid: u32) -> Option<usize> {
        self.uids
            .uids
            .binary_search_by_key(&uid, |u| u.uid)
            .ok()
            .filter(|&i| self.uids.uids[i].uid == uid)
    }
}

impl MboxMailbox {
    pub(super) fn stat_ident(&self) -> StorageResult<Option<FileIdent>> {
        ident_at(&self.path)
    }

    /// Reads the locked file: from the last message of `known` on when the file only grew
    /// since `known` was read and `mbox_dirty_syncs` allows it (see [`Self::read_grown`]),
    /// else whole.
    pub(super) fn read_locked(
        &self,
        file: &FsFile,
        known: Option<&Loaded>,
    ) -> StorageResult<Loaded> {
        let dirty_ok = self.settings.mbox.dirty_syncs || self.settings.mbox.very_dirty_syncs;
        if let Some(known) = known.filter(|_| dirty_ok) {
            if let Some(grown) = self.read_grown(file, known)? {
                return Ok(grown);
            }
        }
        let data = file.read_from(0)?;
        let ident = FileIdent::of(&file.metadata()?);
        let parsed = parse_mbox(&data).map_err(|e| self.format_error(&e))?;
        let uids = self.identified(&data, &parsed, assign_uids(&parsed));
        let mut loaded = Loaded::found(ident, data, parsed, uids, false);
        let recorded = Recorded::decode(self.view.state().backend_state()).and_then(|r| r.ident);
        loaded.leaves_dirty = dirty_ok
            && recorded.is_some_and(|r| {
                (r.dev, r.ino) == (ident.dev, ident.ino) && r.size > 0 && ident.size > r.size
            });
        Ok(loaded)
    }

    /// `uids` with the index's UIDs for messages without a valid `X-UID:` that the index
    /// knows by their header MD5 (see [`super::identify`]).
    fn identified(&self, data: &[u8], parsed: &MboxFile, uids: UidAssignment) -> UidAssignment {
        if uids.uids.iter().all(|u| u.in_file) {
            return uids;
        }
        let state = self.view.state();
        let mut known: HashMap<Vec<u8>, Vec<u32>> = HashMap::new();
        for m in state.messages() {
            known.entry(m.key.to_vec()).or_default().push(m.uid);
        }
        let md5s: Vec<Option<[u8; 16]>> = parsed
            .messages
            .iter()
            .zip(&uids.uids)
            .map(|(m, u)| (!u.in_file).then(|| self.settings.mbox.md5.of(data, m)))
            .collect();
        match_by_md5(&uids, &md5s, &known, state.next_uid()).unwrap_or(uids)
    }

    fn format_error(&self, e: &MboxFormatError) -> StorageError {
        StorageError::critical(Some(&self.vname), format!("{e}: {}", self.path.display()))
            .at_path(&self.path)
    }

    /// The file read from `known`'s last message on, when it is the same file (device and
    /// inode), longer, and that message's bytes are still where they were: what Dovecot's
    /// dirty syncs assume (mail was appended). Changes other programs made in place before
    /// that message are not seen (as with Dovecot) until a sync reads the file whole.
    /// `None`: read it whole.
    fn read_grown(&self, file: &FsFile, known: &Loaded) -> StorageResult<Option<Loaded>> {
        let Some(was) = known.ident else {
            return Ok(None);
        };
        let ident = FileIdent::of(&file.metadata()?);
        if (ident.dev, ident.ino) != (was.dev, was.ino)
            || ident.size <= was.size
            || was.size != known.data.len() as u64
        {
            return Ok(None);
        }
        let Some(last) = known.file.messages.last() else {
            return Ok(None);
        };
        let from = last.from_offset;
        if from == 0 {
            // one message: reading it again is reading the file
            return Ok(None);
        }
        let tail = file.read_from(from as u64)?;
        let old_tail = &known.data[from..];
        if tail.get(..old_tail.len()) != Some(old_tail) {
            return Ok(None);
        }
        let mut data = Vec::with_capacity(from + tail.len());
        data.extend_from_slice(&known.data[..from]);
        data.extend_from_slice(&tail);
        let rest = parse_mbox_at(&data, from).map_err(|e| self.format_error(&e))?;
        let keep = known.file.messages.len() - 1;
        let mut parsed = MboxFile {
            base: known.file.base.clone(),
            pseudo: known.file.pseudo.clone(),
            messages: Vec::with_capacity(keep + rest.messages.len()),
        };
        parsed
            .messages
            .extend_from_slice(&known.file.messages[..keep]);
        parsed.messages.extend(rest.messages);
        let uids = self.identified(&data, &parsed, assign_uids(&parsed));
        let ident = FileIdent {
            size: data.len() as u64,
            ..ident
        };
        Ok(Some(Loaded::found(ident, data, parsed, uids, true)))
    }

    /// Takes the mbox's locks: the write set when `write`, else the read set.
    pub(super) fn lock(&self, write: bool) -> StorageResult<MboxLock> {
        let kind = if write {
            LockKind::Exclusive
        } else {
            LockKind::Shared
        };
        MboxLock::acquire(
            &self.settings.fs,
            &self.settings.mbox_locks,
            &self.path,
            kind,
        )
        .map_err(|e| StorageError::from_fs(Some(&self.vname), &e))
    }

    /// Under the write locks: finishes an interrupted rewrite, reads the file and gives
    /// every message its UID headers (writing them) when some lack them.
    pub(super) fn prepare_locked(&self, lock: &MboxLock) -> StorageResult<Loaded> {
        let recovered = self.journal.recover(lock.file())?;
        let known = self.loaded.as_ref().filter(|_| !recovered);
        let loaded = self.read_locked(lock.file(), known)?;
        if !edit::needs_uid_headers(&loaded.file, &loaded.uids) {
            return Ok(loaded);
        }
        self.write_edits(lock, &loaded, &Edits::default())
    }

    /// Writes `edits` (and any missing UID headers) into the locked file; returns it as
    /// read afterwards.
    pub(super) fn write_edits(
        &self,
        lock: &MboxLock,
        loaded: &Loaded,
        edits: &Edits,
    ) -> StorageResult<Loaded> {
        let now = crate::fs::clock::unix_secs(crate::fs::clock::wall_now());
        let stamp = PseudoStamp {
            now,
            local_offset_minutes: crate::localtime::utc_offset_minutes(now),
            hostname: &self.hostname,
        };
        let new_validity = self.new_uid_validity();
        let mut edits = edits.clone();
        edits.mark_old.extend(self.mark_old.iter().copied());
        edits.drop_recent = self.drop_recent();
        self.add_unwritten(&mut edits, loaded);
        let writes = edit::plan(
            &loaded.data,
            &loaded.file,
            &loaded.uids,
            &edits,
            new_validity,
            stamp,
        );
        if writes.is_empty() {
            return Ok(loaded.clone());
        }
        if loaded.grown && !file_has(lock.file(), loaded, &writes)? {
            // Part of what was planned came from memory (a dirty read), and the file is not
            // that any more: plan again over the file as it is.
            let fresh = self.read_locked(lock.file(), None)?;
            return self.write_edits(lock, &fresh, &edits);
        }
        self.apply_writes(lock, loaded, &writes)?;
        Ok(self.read_locked(lock.file(), None)?.written_over(loaded))
    }

    fn apply_writes(&self, lock: &MboxLock, loaded: &Loaded, writes: &Writes) -> StorageResult<()> {
        let file = lock.file();
        let policy = &self.settings.fs;
        let mtime_before = file.metadata()?.modified().ok();
        // The tail first: until `X-IMAPbase:` (in place, before it) is raised, the new
        // X-UIDs in the tail still follow on from it, so a crash between the two burns no
        // UID.
        if let Some(tail) = &writes.tail {
            self.journal.apply(file, tail)?;
        }
        for (offset, bytes) in &writes.in_place {
            file.write_all_at(bytes, *offset)?;
        }
        if !writes.in_place.is_empty() {
            file.sync(policy, SyncPoint::Durable)?;
            crate::storage::crash::point("mbox-headers-in-place");
        }
        if let Some(last_uid) = writes.last_uid {
            if let Some(at) = last_uid_digits(&loaded.data, &loaded.file) {
                file.write_all_at(format!("{last_uid:010}").as_bytes(), at as u64)?;
            }
        }
        mark_changed(file, mtime_before)?;
        file.sync(policy, SyncPoint::Durable)?;
        Ok(())
    }

    /// A UIDVALIDITY for a file that has none yet.
    fn new_uid_validity(&self) -> u32 {
        crate::storage::maildir::uidvalidity::next(&self.uidvalidity_dir, &self.perms)
    }

    /// Reads the file (under the read locks, or the write locks when it must be repaired or
    /// given UID headers and this session may write) into `self.loaded`, unless it is
    /// unchanged since it was last read.
    pub(super) fn load(&mut self) -> StorageResult<()> {
        let pending = self.journal.is_pending()?;
        let ident = self.stat_ident()?;
        if !pending
            && self
                .loaded
                .as_ref()
                .is_some_and(|l| l.ident == ident && ident.is_some())
        {
            return Ok(());
        }
        if ident.is_none() && !pending {
            self.loaded = Some(Loaded::empty());
            return Ok(());
        }
        // An interrupted rewrite is finished by any session, read-only ones too: the file
        // can't be read before.
        let mut write = pending;
        loop {
            let lock = self.lock(write)?;
            let loaded = if write {
                self.prepare_locked(&lock)?
            } else {
                let loaded = self.read_locked(lock.file(), self.loaded.as_ref())?;
                if !self.read_only && edit::needs_uid_headers(&loaded.file, &loaded.uids) {
                    lock.release()?;
                    write = true;
                    continue;
                }
                loaded
            };
            lock.release()?;
            self.loaded = Some(loaded);
            self.forget_aged();
            return Ok(());
        }
    }

    /// Brings the index in line with the file (read if it changed); returns whether the
    /// file had changed since the index last matched it (or, `at_open`, whether the index
    /// was left dirty by a save).
    pub(super) fn sync_file(&mut self, at_open: bool) -> StorageResult<bool> {
        let ident = self.stat_ident()?;
        let recorded = Recorded::decode(self.view.state().backend_state());
        // (an open reads a dirty file whole, unless very dirty syncs are allowed)
        let must_read = |r: &Recorded| at_open && r.dirty && !self.settings.mbox.very_dirty_syncs;
        let unchanged = recorded.is_some_and(|r| r.ident == ident && !must_read(&r));
        if unchanged && !self.journal.is_pending()? {
            return Ok(false);
        }
        self.load()?;
        let Some(loaded) = self.loaded.take() else {
            return Ok(true);
        };
        let result = self.reconcile(&loaded);
        self.loaded = Some(loaded);
        result.map(|_| true)
    }

    /// Commits to the index what `loaded` says; returns the modseq of the commit (0 when
    /// nothing changed).
    pub(super) fn reconcile(&mut self, loaded: &Loaded) -> StorageResult<u64> {
        if self.stat_ident()? != loaded.ident {
            return Ok(0);
        }
        let validity = loaded.uids.uid_validity;
        let known = self.view.state().uidvalidity();
        if let Some(v) = validity {
            if known != 0 && known != v {
                self.rebuild_index(loaded)?;
                return Ok(0);
            }
        }
        let path = self.path.clone();
        let mut li = self.view.index_mut().lock()?;
        // Read without the write locks, the file may have changed since: then a writer
        // commits (or committed) a newer view, which this older one must not undo. Writers
        // change the file before they take the index lock, so looking under it decides.
        if ident_at(&path)? != loaded.ident {
            if let Err(e) = li.unlock() {
                log::error!("Mailbox {}: {e}", self.vname);
            }
            return Ok(0);
        }
        // (a read-only session could not give the messages their UID headers: the next
        // writable one reads the file whole and writes them, as Dovecot's does)
        let dirty = self.leave_dirty
            || loaded.leaves_dirty
            || edit::needs_uid_headers(&loaded.file, &loaded.uids);
        let tx = contents_tx(li.state(), loaded, validity, dirty, self.settings.mbox.md5);
        let result = match tx {
            Some(tx) => commit_locked(&mut li, &tx),
            None => {
                drop(li);
                self.rebuild_index(loaded)?;
                return Ok(0);
            }
        };
        if let Err(e) = li.unlock() {
            log::error!("Mailbox {}: {e}", self.vname);
        }
        result
    }

    /// Creates the index afresh from `loaded` (a new UIDVALIDITY, or an index that lost
    /// track); the session's numbering follows.
    pub(super) fn rebuild_index(&mut self, loaded: &Loaded) -> StorageResult<()> {
        let empty = MailboxState::new(1);
        let md5 = self.settings.mbox.md5;
        let Some(tx) = contents_tx(&empty, loaded, loaded.uids.uid_validity, false, md5) else {
            return Err(StorageError::critical(
                Some(&self.vname),
                "rebuilding the index: messages out of order",
            ));
        };
        let fresh = crate::index::mailbox::MailboxIndex::create(
            &self.index_dir,
            self.index_settings.clone(),
            tx,
            self.view.state().highest_modseq() + 1,
        )?;
        self.view.replace_index(fresh);
        Ok(())
    }
}

impl MboxMailbox {
    /// Adds to `edits` the flags and keywords the index has and the file not yet (lazy
    /// writes): a write of the file writes them too.
    fn add_unwritten(&self, edits: &mut Edits, loaded: &Loaded) {
        let state = self.view.state();
        let Some(recorded) = Recorded::decode(state.backend_state()) else {
            return;
        };
        for uid in recorded.unwritten.iter() {
            let Some(m) = state.message(uid) else {
                continue;
            };
            if edits.set.contains_key(&uid) || edits.expunge.contains(&uid) {
                continue;
            }
            let keywords = keyword_names(state, m);
            for k in &keywords {
                let listed =
                    !listed_keywords(loaded.file.base.as_ref(), std::slice::from_ref(k)).is_empty();
                if !listed && !edits.new_keywords.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    edits.new_keywords.push(k.clone());
                }
            }
            edits.set.insert(uid, (mail_flags(m.flags), keywords));
        }
    }

    /// Whether the index has flags the file has not yet.
    pub(super) fn has_unwritten(&self) -> bool {
        Recorded::decode(self.view.state().backend_state()).is_some_and(|r| !r.unwritten.is_empty())
    }
}

/// Whether the file still holds, where `writes` will write, the bytes `loaded` has there
/// (checked before writing over what a dirty read took from memory).
fn file_has(file: &FsFile, loaded: &Loaded, writes: &Writes) -> StorageResult<bool> {
    let same = |offset: usize, len: usize| -> StorageResult<bool> {
        let Some(expected) = loaded.data.get(offset..offset + len) else {
            return Ok(false);
        };
        let mut buf = vec![0; len];
        let n = file.read_full_at(&mut buf, offset as u64)?;
        Ok(n == len && buf == expected)
    };
    for (offset, bytes) in &writes.in_place {
        if !same(*offset as usize, bytes.len())? {
            return Ok(false);
        }
    }
    if let Some(tail) = &writes.tail {
        let from = tail.offset as usize;
        if !same(from, loaded.data.len().saturating_sub(from))? {
            return Ok(false);
        }
    }
    if writes.last_uid.is_some() {
        if let Some(at) = last_uid_digits(&loaded.data, &loaded.file) {
            if !same(at, 10)? {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The identity of the file at `path` now (`None`: there is none).
fn ident_at(path: &std::path::Path) -> StorageResult<Option<FileIdent>> {
    Ok(ops::stat_if_exists(path)?.map(|m| FileIdent::of(&m)))
}

fn commit_locked(li: &mut LockedIndex<'_>, tx: &IndexTransaction) -> StorageResult<u64> {
    if tx.is_empty() {
        return Ok(0);
    }
    Ok(li.commit(tx)?.modseq)
}

/// The index transaction that makes `state` say what `loaded` says: expunges, appends,
/// flag changes, the next UID and the file's identity. `None` when a message of the file
/// has a UID below the index's next UID that the index does not have (the index lost
/// track: it must be rebuilt).
fn contents_tx(
    state: &MailboxState,
    loaded: &Loaded,
    validity: Option<u32>,
    dirty: bool,
    md5: HeaderMd5,
) -> Option<IndexTransaction> {
    let mut tx = IndexTransaction::new();
    if state.uidvalidity() == 0 {
        if let Some(v) = validity {
            tx.set_uidvalidity(v);
        }
    }
    let recorded = Recorded::decode(state.backend_state()).unwrap_or_default();
    // Flags the index has and the file not yet: the index stays the truth for them until
    // the file says the same.
    let mut unwritten = UidSet::new();
    let in_file: HashSet<u32> = loaded.uids.uids.iter().map(|u| u.uid).collect();
    let gone: UidSet = state
        .messages()
        .iter()
        .map(|m| m.uid)
        .filter(|uid| !in_file.contains(uid))
        .collect();
    tx.expunge(&gone);
    let base = loaded.file.base.as_ref();
    let mut next_uid = state.next_uid();
    for (msg, assigned) in loaded.file.messages.iter().zip(&loaded.uids.uids) {
        let keywords: Vec<String> = listed_keywords(base, &msg.meta.keywords)
            .into_iter()
            .filter(|k| crate::index::keywords::check_keyword_name(k).is_ok())
            .collect();
        let flags = index_flags(msg.meta.flags);
        match state.message(assigned.uid) {
            Some(record) => {
                let old_kw = keyword_names(state, record);
                let same_kw = old_kw.len() == keywords.len()
                    && keywords
                        .iter()
                        .all(|k| old_kw.iter().any(|o| o.eq_ignore_ascii_case(k)));
                let differs = record.flags != flags || !same_kw;
                if differs && recorded.unwritten.contains(assigned.uid) {
                    unwritten.insert(assigned.uid);
                } else if differs {
                    tx.update_flags(
                        UidSet::range(assigned.uid, assigned.uid),
                        FlagMode::Replace,
                        flags,
                        keywords,
                    );
                }
            }
            None if assigned.uid >= next_uid => {
                let received = msg
                    .from
                    .received(crate::localtime::utc_offset_minutes(msg.from.date_as_utc));
                let visible = msg.visible(&loaded.data);
                tx.append(AppendMessage {
                    uid: assigned.uid,
                    flags,
                    keywords,
                    // (what recognises it while it has no X-UID header)
                    key: hex(&md5.of(&loaded.data, msg)).into_bytes(),
                    physical_size: Some(visible.len() as u64),
                    virtual_size: Some(crate::storage::maildir::save::virtual_size(&visible)),
                    internal_date: Some(received),
                    save_date: None,
                });
                next_uid = assigned.uid + 1;
            }
            None => return None,
        }
    }
    let next_uid = loaded.uids.uid_next.max(next_uid);
    if next_uid > state.next_uid() {
        tx.set_next_uid(next_uid);
    }
    // Dovecot's sync: a message whose `Status:` has `O` is not \Recent, nor is any message
    // before it (mail a local reader or an older index had seen).
    if let Some(uid) = loaded.last_old {
        tx.raise_first_recent_uid(uid.saturating_add(1));
    }
    let blob = Recorded {
        ident: loaded.ident,
        dirty,
        unwritten,
    }
    .encode();
    if blob[..] != *state.backend_state() {
        tx.set_backend_state(blob);
    }
    Some(tx)
}
