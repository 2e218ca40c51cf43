//! [`MboxMailbox`]: the [`Mailbox`] of one mbox file, with cote's index (under
//! `<root>/.imap/<name>/`, where Dovecot keeps its own) as the cache that numbers
//! messages, keeps modseqs and \Recent, and shares changes between sessions.
//!
//! The file is the truth, except for flag changes not written yet. The index records the
//! file's identity (device, inode, size, mtime) it last matched ([`recorded`]); a session
//! whose file no longer matches reads it again under the read locks (only from the last
//! known message on when it just grew, `mbox_dirty_syncs`) and reconciles: messages keep
//! the UIDs their `X-UID:` headers say, new ones (delivered by the MTA or procmail, without
//! headers) get the next UIDs, which a writable session writes into the file at once (under
//! the write locks), so every reader agrees.
//!
//! Every write (save, expunge, UID headers, flags) happens under the write locks: finish an
//! interrupted rewrite, read the file, write the change (headers in place within their
//! padding, or the tail of the file through [`RewriteJournal`]), read it back and commit
//! what it says to the index. With `mbox_lazy_writes` (the default) a flag change goes into
//! the index only and reaches the file with the next write or at close ([`lazy`]);
//! `Status: O` follows Dovecot ([`recent`]).

mod identify;
mod lazy;
mod recent;
mod recorded;
mod sync;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fs::CreatePerms;
use crate::index::mailbox::MailboxIndex;
use crate::index::settings::IndexSettings;
use crate::index::state::Change;
use crate::index::transaction::IndexTransaction;
use crate::index::uidset::UidSet;
use crate::storage::api::{
    copy_then_expunge, Copied, LinkSource, Mailbox, MailboxStatus, NewMessage, Saved, StoreRequest,
    StoreResult, SyncFlags,
};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::location::{IndexDir, MailLocation};
use crate::storage::mail::{IndexedMeta, Mail, MailFile, MailParts};
use crate::storage::maildir::mailbox::core::{keyword_names, mail_flags, messages_in};
use crate::storage::maildir::mailbox::write::{apply_change, check_keywords};
use crate::storage::maildir::mailbox::{memory_index_dir, MemoryIndexDir};
use crate::storage::mbox::edit::{listed_keywords, Edits};
use crate::storage::mbox::format::NewMessage as MboxNewMessage;
use crate::storage::mbox::rewrite_journal::RewriteJournal;
use crate::storage::mbox::spool::append_read;
use crate::storage::namespace::OpenRequest;
use crate::storage::settings::StorageSettings;
use crate::storage::view::MailboxView;

use self::sync::Loaded;

/// Dovecot's name for the directory holding an mbox list's indexes.
pub const INDEX_DIR_NAME: &str = ".imap";

/// The index directory of mailbox `storage_name` (Dovecot's rule: the mailbox's path under
/// the index root, with `.imap/` put before its last level); `None` with `INDEX=MEMORY`.
pub fn index_dir(location: &MailLocation, storage_name: &str) -> Option<PathBuf> {
    match &location.settings.index_dir {
        Some(IndexDir::Memory) => None,
        _ => state_dir(location, storage_name),
    }
}

/// A fresh `X-Delivery-ID:` digest: the time now and eight random bytes.
fn new_delivery_id() -> [u8; 16] {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut random = [0u8; 8];
    if getrandom::fill(&mut random).is_err() {
        // (it only has to differ from the others: the nanoseconds and pid do that too)
        random =
            (u64::from(now.subsec_nanos()) << 32 | u64::from(std::process::id())).to_ne_bytes();
    }
    crate::storage::mbox::format::write::delivery_id(
        now.as_secs() as i64,
        i64::from(now.subsec_micros()),
        random,
    )
}

/// Where the files that must outlive a crash are (the rewrite journal): the index
/// directory, or with `INDEX=MEMORY` where it would be under the mail root.
fn state_dir(location: &MailLocation, storage_name: &str) -> Option<PathBuf> {
    let root = match &location.settings.index_dir {
        Some(IndexDir::Dir(d)) => d.clone(),
        _ => location.root_dir()?.to_path_buf(),
    };
    let path = root.join(storage_name);
    let parent = path.parent()?.to_path_buf();
    Some(parent.join(INDEX_DIR_NAME).join(path.file_name()?))
}

/// What a change's operation wrote into the file, which says how to read it back.
enum Wrote {
    Nothing,
    /// Messages at the end only: read from the last message on.
    Appended,
    /// Anything else: read whole.
    Edited,
}

/// An open mbox mailbox.
pub struct MboxMailbox {
    vname: String,
    /// The mbox file.
    path: PathBuf,
    view: MailboxView,
    index_dir: PathBuf,
    index_settings: IndexSettings,
    journal: RewriteJournal,
    settings: Arc<StorageSettings>,
    /// Where `dovecot-uidvalidity` is (`<root>/.imap`).
    uidvalidity_dir: PathBuf,
    perms: CreatePerms,
    hostname: String,
    sender: String,
    read_only: bool,
    /// The file as last read (message bodies come from it).
    loaded: Option<Loaded>,
    /// Messages whose `Status:` is to get `O` at the next write (see [`recent`]).
    mark_old: HashSet<u32>,
    /// The index had not recorded the file before this open: the session marks nothing.
    fresh_index: bool,
    /// In the first sync of a mailbox whose index was fresh: headers get no `O`.
    opening_fresh: bool,
    /// The index directory when the index is kept only while the mailbox is open.
    memory_index: Option<MemoryIndexDir>,
    /// Set while saving: the index records the file as dirty (see `recorded::Recorded`).
    leave_dirty: bool,
}

impl MboxMailbox {
    /// Opens (and syncs) a mailbox; with `autocreate` a missing file is an empty mailbox.
    /// `sender` is the From_ line's sender for saved mail.
    pub fn open(req: OpenRequest<'_>, sender: &str) -> StorageResult<MboxMailbox> {
        let vname = req.vname.clone();
        let fin = |e: StorageError| e.finish(&vname);
        let path = req.location.mailbox_paths(&req.storage_name).mailbox;
        let size = match crate::fs::ops::stat_if_exists(&path).map_err(|e| fin(e.into()))? {
            Some(st) if st.is_file() => st.len(),
            Some(_) => return Err(StorageError::not_found(&vname)),
            None if req.autocreate => 0,
            None => return Err(StorageError::not_found(&vname)),
        };
        let state_dir = state_dir(req.location, &req.storage_name).ok_or_else(|| {
            StorageError::not_implemented("mbox mailboxes without a root directory").finish(&vname)
        })?;
        // `INDEX=MEMORY`, or a file below `mbox_min_index_size`: the index lives in a private
        // directory removed at close (Dovecot keeps it in memory)
        let min_size = req.settings.mbox.min_index_size;
        let disk_index = index_dir(req.location, &req.storage_name).filter(|_| size >= min_size);
        let (index_dir, memory_index) = match disk_index {
            Some(dir) => (dir, None),
            None => {
                let dir = memory_index_dir(&req.settings.temp_dir).map_err(fin)?;
                (dir.clone(), Some(MemoryIndexDir(dir)))
            }
        };
        let root = req
            .location
            .index_root()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let perms =
            crate::storage::maildir::layout::root_perms(req.location).map_err(|e| fin(e.into()))?;
        let mut index_settings = req.settings.index.clone();
        index_settings.perms = perms.clone();
        let hostname = crate::fs::hostname()
            .map_err(|e| fin(e.into()))?
            .to_string();
        let read_only = req.options.read_only;
        let journal = RewriteJournal::new(&state_dir, &req.settings.fs, &perms);
        let claims_recent = req.options.claim_recent && !read_only;
        let settings = index_settings.clone();
        let view = MailboxView::open(&vname, &index_dir, settings, claims_recent, || {
            let empty = IndexTransaction::new();
            Ok(MailboxIndex::create(
                &index_dir,
                index_settings.clone(),
                empty,
                1,
            )?)
        })
        .map_err(fin)?;
        let mut mb = MboxMailbox {
            vname: vname.clone(),
            path,
            view,
            index_dir,
            index_settings,
            journal,
            settings: req.settings.clone(),
            uidvalidity_dir: root.join(INDEX_DIR_NAME),
            perms,
            hostname,
            sender: sender.to_string(),
            read_only,
            loaded: None,
            mark_old: HashSet::new(),
            fresh_index: false,
            opening_fresh: false,
            leave_dirty: false,
            memory_index,
        };
        // an index that never recorded the file (new, or rebuilt)
        mb.fresh_index = mb.view.state().backend_state().is_empty();
        mb.opening_fresh = mb.fresh_index;
        mb.open_view().map_err(fin)?;
        Ok(mb)
    }

    /// The first sync and the session's numbering.
    fn open_view(&mut self) -> StorageResult<()> {
        let reread = self.sync_file(true)?;
        self.view.number()?;
        self.opening_fresh = false;
        self.note_visited(reread, true);
        Ok(())
    }

    fn sync_inner(&mut self) -> StorageResult<Vec<Change>> {
        self.view.refresh()?;
        let reread = self.sync_file(false)?;
        self.view.refresh()?;
        self.note_visited(reread, false);
        self.view.take_changes()
    }

    fn writable(&self) -> StorageResult<()> {
        if self.read_only {
            Err(StorageError::read_only(&self.vname))
        } else {
            Ok(())
        }
    }

    /// Runs `op` under the write locks on the file as it is (repaired, with UID headers),
    /// then reads the file back and commits it to the index; returns what `op` returned and
    /// the commit's modseq. A missing file is created first.
    fn change<T>(
        &mut self,
        op: impl FnOnce(&Self, &crate::fs::lock::mbox::MboxLock, &Loaded) -> StorageResult<(T, Wrote)>,
    ) -> StorageResult<(T, u64)> {
        if crate::fs::ops::stat_if_exists(&self.path)?.is_none() {
            // An INBOX nothing was delivered to yet, in a spool directory only
            // `mail_privileged_group` may write: created as that group, as Dovecot does.
            let create = || crate::fs::FsFile::open_or_create(&self.path, &self.perms);
            match create() {
                Ok(_) => {}
                Err(e) if e.is_permission() => {
                    crate::fs::privileged::with_privileged_group(create).unwrap_or(Err(e))?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let lock = self.lock(true)?;
        let before = self.prepare_locked(&lock)?;
        // The index must know the file before `op` decides from it.
        self.reconcile(&before)?;
        self.view.refresh()?;
        let (out, wrote) = op(self, &lock, &before)?;
        let after = match wrote {
            Wrote::Nothing => before,
            Wrote::Appended => self
                .read_locked(lock.file(), Some(&before))?
                .written_over(&before),
            Wrote::Edited => self.read_locked(lock.file(), None)?.written_over(&before),
        };
        let modseq = self.reconcile(&after);
        self.loaded = Some(after);
        self.forget_aged();
        if let Err(e) = lock.release() {
            log::error!("Mailbox {}: {e}", self.vname);
        }
        let modseq = modseq?;
        // The change is made: a failure to refresh the view now is logged, not returned.
        if let Err(e) = self.view.refresh() {
            log::error!("Mailbox {}: after the change: {e}", self.vname);
        }
        Ok((out, modseq))
    }

    fn mail_inner(&mut self, uid: u32) -> StorageResult<Mail> {
        let state = self.view.state();
        let Some(m) = state.message(uid) else {
            return Err(
                StorageError::new(ErrorKind::Expunged, "Message was expunged").for_uid(uid),
            );
        };
        let parts = MailParts {
            uid,
            flags: mail_flags(m.flags),
            keywords: keyword_names(state, m),
            modseq: m.modseq,
            recent: self.view.seqs().is_recent(uid),
            vname: self.vname.clone(),
            guid: format!("{}-{uid}", state.uidvalidity()),
            pop3_uidl: None,
            header_md5: None,
            broken_filename_sizes: false,
            file: MailFile {
                mailbox_dir: self.path.clone(),
                base: uid.to_string().into_bytes(),
                candidates: Vec::new(),
                sep: self.settings.maildir.info_separator,
            },
            meta: IndexedMeta {
                physical_size: m.physical_size,
                virtual_size: m.virtual_size,
                internal_date: m.internal_date,
                save_date: m.save_date,
            },
            cached: Vec::new(),
        };
        let internal = m.internal_date;
        self.load()?;
        let md5 = self.settings.mbox.md5;
        let found = self.loaded.as_ref().and_then(|l| {
            let i = l.position(uid)?;
            let msg = l.file.messages.get(i)?;
            Some((msg.visible(&l.data), msg.from.clone(), md5.of(&l.data, msg)))
        });
        let Some((data, from, header_md5)) = found else {
            return Err(
                StorageError::new(ErrorKind::Expunged, "Message was expunged").for_uid(uid),
            );
        };
        let received = internal.unwrap_or_else(|| {
            from.received(crate::localtime::utc_offset_minutes(from.date_as_utc))
        });
        let cached = self.view.cached_fields(uid);
        Ok(Mail::with_data(
            MailParts {
                cached,
                header_md5: Some(header_md5),
                ..parts
            },
            data,
            (received, received),
        ))
    }

    fn status_inner(&mut self) -> StorageResult<MailboxStatus> {
        self.sync_inner()?;
        // Sizes are in the index since the file was read; only messages an older index
        // recorded without them need the file.
        MailboxView::status_of(self, |mb| &mut mb.view, Self::mail_inner)
    }

    fn save_inner(&mut self, messages: &[NewMessage<'_>]) -> StorageResult<Saved> {
        self.writable()?;
        for m in messages {
            check_keywords(&m.keywords)?;
        }
        let now = crate::fs::clock::unix_secs(crate::fs::clock::wall_now());
        self.leave_dirty = true;
        let saved = self.change(|mb, lock, loaded| {
            let mut new_keywords: Vec<String> = Vec::new();
            let listed = loaded
                .file
                .base
                .as_ref()
                .map_or(&[][..], |b| &b.keywords[..]);
            for k in messages.iter().flat_map(|m| &m.keywords) {
                let known = listed.iter().any(|l| l.eq_ignore_ascii_case(k))
                    || new_keywords.iter().any(|l| l.eq_ignore_ascii_case(k));
                if !known {
                    new_keywords.push(k.clone());
                }
            }
            let mut wrote = Wrote::Appended;
            let mut rewritten = None;
            if !new_keywords.is_empty() && !loaded.data.is_empty() {
                wrote = Wrote::Edited;
                // X-IMAPbase must list them before a message uses them.
                rewritten = Some(mb.write_edits(
                    lock,
                    loaded,
                    &Edits {
                        new_keywords,
                        ..Edits::default()
                    },
                )?);
            }
            let current = rewritten.as_ref().unwrap_or(loaded);
            let keywords: Vec<Vec<String>> = messages.iter().map(|m| m.keywords.clone()).collect();
            let list: Vec<MboxNewMessage<'_>> = messages
                .iter()
                .zip(&keywords)
                .map(|(m, kw)| {
                    let received = m.internal_date.unwrap_or(now);
                    MboxNewMessage {
                        sender: &mb.sender,
                        received,
                        local_offset_minutes: crate::localtime::utc_offset_minutes(received),
                        uid: 0,
                        flags: m.flags,
                        keywords: kw,
                        base: None,
                        message: m.data,
                        delivery_id: mb.settings.mbox.delivery_ids.then(new_delivery_id),
                    }
                })
                .collect();
            let validity = mb.new_validity_for_empty(current);
            let done = append_read(
                &mb.settings.fs,
                lock.file(),
                &mb.path,
                current.as_read(),
                &list,
                validity,
            )?;
            Ok((done, wrote))
        });
        self.leave_dirty = false;
        let ((validity, uids), _) = saved?;
        Ok(Saved {
            uidvalidity: validity,
            uids,
        })
    }

    /// The UIDVALIDITY an empty file gets: the index's when it has one (a mailbox emptied
    /// by another program keeps its UIDs going), else a new one.
    fn new_validity_for_empty(&self, loaded: &Loaded) -> u32 {
        match (loaded.uids.uid_validity, self.view.state().uidvalidity()) {
            (Some(v), _) => v,
            (None, v) if v != 0 => v,
            _ => crate::storage::maildir::uidvalidity::next(&self.uidvalidity_dir, &self.perms),
        }
    }

    fn store_inner(&mut self, uids: &UidSet, req: &StoreRequest) -> StorageResult<StoreResult> {
        self.writable()?;
        check_keywords(&req.keywords)?;
        // (an index that ends with the session can't hold what the file lacks)
        if self.settings.mbox.lazy_writes && self.memory_index.is_none() {
            return self.store_lazily(uids, req);
        }
        let ((mut result, mut changed), modseq) = self.change(|mb, lock, loaded| {
            let state = mb.view.state();
            let mut result = StoreResult::default();
            let mut edits = Edits::default();
            let base = loaded.file.base.as_ref();
            for m in messages_in(state, uids) {
                if req.unchanged_since.is_some_and(|since| m.modseq > since) {
                    result.modified.insert(m.uid);
                    continue;
                }
                let old_kw = keyword_names(state, m);
                let (flags, kw) = apply_change(req, m.flags, &old_kw);
                if flags == m.flags && kw.len() == old_kw.len() && kw == old_kw {
                    continue;
                }
                if loaded.position(m.uid).is_none() {
                    result.expunged.insert(m.uid);
                    continue;
                }
                for k in &kw {
                    let listed = !listed_keywords(base, std::slice::from_ref(k)).is_empty();
                    if !listed && !edits.new_keywords.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                        edits.new_keywords.push(k.clone());
                    }
                }
                edits.set.insert(m.uid, (mail_flags(flags), kw));
            }
            if edits.set.is_empty() {
                return Ok(((result, Vec::new()), Wrote::Nothing));
            }
            let changed: Vec<u32> = edits.set.keys().copied().collect();
            mb.write_edits(lock, loaded, &edits)?;
            Ok(((result, changed), Wrote::Edited))
        })?;
        changed.sort_unstable();
        let state = self.view.state();
        result.changed = changed
            .into_iter()
            .filter(|uid| state.message(*uid).is_some())
            .map(|uid| (uid, modseq))
            .collect();
        Ok(result)
    }

    fn expunge_inner(&mut self, uids: &UidSet) -> StorageResult<UidSet> {
        self.writable()?;
        let (requested, _) = self.change(|mb, lock, loaded| {
            let state = mb.view.state();
            let known: UidSet = messages_in(state, uids).map(|m| m.uid).collect();
            let expunge: HashSet<u32> = known
                .iter()
                .filter(|&uid| loaded.position(uid).is_some())
                .collect();
            if expunge.is_empty() {
                return Ok((known, Wrote::Nothing));
            }
            mb.write_edits(
                lock,
                loaded,
                &Edits {
                    expunge,
                    ..Edits::default()
                },
            )?;
            crate::storage::crash::point("mbox-expunge-written");
            Ok((known, Wrote::Edited))
        })?;
        let state = self.view.state();
        Ok(requested
            .iter()
            .filter(|uid| state.message(*uid).is_none())
            .collect())
    }

    fn copy_inner(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        self.writable()?;
        let mut datas = Vec::new();
        let mut src_uids = Vec::new();
        for uid in uids.iter() {
            let Some(info) = src.info(uid) else {
                if src.seqs().seq(uid).is_some() {
                    return Err(StorageError::new(
                        ErrorKind::Expunged,
                        "Some of the requested messages no longer exist.",
                    ));
                }
                continue;
            };
            let mut mail = src.mail(uid)?;
            let date = mail.internal_date()?;
            let data = mail.raw()?.to_vec();
            datas.push((data, info.flags, info.keywords, date));
            src_uids.push(uid);
        }
        if datas.is_empty() {
            return Ok(Copied {
                uidvalidity: self.view.uidvalidity(),
                ..Copied::default()
            });
        }
        let messages: Vec<NewMessage<'_>> = datas
            .iter()
            .map(|(data, flags, keywords, date)| NewMessage {
                data,
                flags: *flags,
                keywords: keywords.clone(),
                internal_date: Some(*date),
            })
            .collect();
        let saved = self.save_inner(&messages)?;
        Ok(Copied {
            uidvalidity: saved.uidvalidity,
            src_uids,
            dest_uids: saved.uids,
        })
    }
}

impl Mailbox for MboxMailbox {
    fn vname(&self) -> &str {
        &self.vname
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    crate::storage::view::view_methods!();

    fn modseqs_permanent(&self) -> bool {
        self.memory_index.is_none()
    }

    fn sync(&mut self, _flags: SyncFlags) -> StorageResult<Vec<Change>> {
        let vname = self.vname.clone();
        self.sync_inner().map_err(|e| e.finish(&vname))
    }

    fn status(&mut self) -> StorageResult<MailboxStatus> {
        let vname = self.vname.clone();
        self.status_inner().map_err(|e| e.finish(&vname))
    }

    fn save(&mut self, messages: &[NewMessage<'_>], _assign_uids: bool) -> StorageResult<Saved> {
        let vname = self.vname.clone();
        self.save_inner(messages).map_err(|e| e.finish(&vname))
    }

    fn copy_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        let vname = self.vname.clone();
        self.copy_inner(src, uids).map_err(|e| e.finish(&vname))
    }

    fn store(&mut self, uids: &UidSet, request: &StoreRequest) -> StorageResult<StoreResult> {
        let vname = self.vname.clone();
        self.store_inner(uids, request)
            .map_err(|e| e.finish(&vname))
    }

    fn update_modseqs(&mut self, _uids: &UidSet) -> StorageResult<Vec<(u32, u64)>> {
        // Private flags (INDEXPVT) are refused for mbox namespaces: nothing asks for this.
        Err(StorageError::not_implemented(format!(
            "Mailbox {}: private flags (INDEXPVT) of mbox mailboxes",
            self.vname
        )))
    }

    fn expunge(&mut self, uids: &UidSet) -> StorageResult<UidSet> {
        let vname = self.vname.clone();
        self.expunge_inner(uids).map_err(|e| e.finish(&vname))
    }

    fn mail(&mut self, uid: u32) -> StorageResult<Mail> {
        let vname = self.vname.clone();
        self.mail_inner(uid).map_err(|e| e.finish(&vname))
    }

    fn link_source(&mut self, _uid: u32) -> StorageResult<Option<LinkSource>> {
        // Messages are not files of their own: copies write the data.
        Ok(None)
    }

    fn save_pop3_uidls(&mut self, _uidls: &[(u32, String)]) -> StorageResult<()> {
        // Nothing to keep, as with Dovecot 2.3 (its mbox saves no POP3 UIDL: only Maildir
        // implements it); mbox UIDLs come from `pop3_uidl_format` or, with
        // `pop3_reuse_xuidl`, the `X-UIDL:` header other POP3 servers wrote.
        Ok(())
    }

    fn move_from(&mut self, src: &mut dyn Mailbox, uids: &UidSet) -> StorageResult<Copied> {
        copy_then_expunge(self, src, uids)
    }

    fn changeable_flags(&self) -> (crate::storage::flags::MailFlags, bool) {
        (crate::storage::flags::MailFlags::ALL, true)
    }

    fn may_expunge(&self) -> bool {
        true
    }

    fn expunged_since(&mut self, _modseq: u64) -> StorageResult<Option<UidSet>> {
        // No expunge history: QRESYNC falls back to every UID the client knew.
        Ok(None)
    }

    fn change_fd(&mut self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }

    fn watch_dirs(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }

    fn force_resync(&mut self) -> StorageResult<()> {
        let vname = self.vname.clone();
        (|| {
            // The file is the truth the index is rebuilt from: it must be writable, to get
            // first what only the index has (flags of lazy writes) and UID headers.
            self.writable()?;
            self.write_pending()?;
            self.loaded = None;
            self.load()?;
            let Some(loaded) = self.loaded.take() else {
                return Ok(());
            };
            let rebuilt = self.rebuild_index(&loaded);
            self.loaded = Some(loaded);
            rebuilt?;
            self.view.refresh()
        })()
        .map_err(|e| e.finish(&vname))
    }

    fn guid(&mut self) -> StorageResult<[u8; 16]> {
        Err(StorageError::not_possible(
            "Mailbox attributes not available for this mailbox",
        ))
    }
}

#[cfg(test)]
mod tests;
