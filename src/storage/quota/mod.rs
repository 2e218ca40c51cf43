//! Dovecot 2.3's quota plugin (`mail_plugins = quota`): quota roots with rules
//! (`quota_rule`), their usage kept by a backend, and enforcement on every save, copy and
//! move of the user's mail, whichever protocol asks (IMAP, LMTP, the LDA). Expunges lower
//! the usage.
//!
//! - [`settings`]: the plugin settings (`quota`, `quota_rule`, `quota_grace`, ...).
//! - [`rules`]: rule syntax and per-mailbox rules.
//! - [`maildirsize`] and [`maildir`]: the Maildir++ backend's file, shared with Dovecot.
//! - `count` (here): usage from cote's own index of every mailbox — each mailbox's message
//!   count and the sum of its messages' RFC822.SIZE, as `cote.index` records them (kept
//!   right by every change to the mailbox, whoever made it), summed when asked. Dovecot's
//!   `count` backend keeps the same per-mailbox sums in its index's vsize header.
//! - [`QuotaMailbox`]: a [`Mailbox`](crate::storage::api::Mailbox) that checks and updates
//!   the quota around the one it wraps (Dovecot's quota storage hooks).
//!
//! Checking follows Dovecot's `quota_transaction_set_limits` / `quota_test_alloc`: the
//! lowest room left over all roots that count the mailbox, `quota_grace` added for
//! deliveries (the first message only), a mailbox rule's relative limits added to the
//! default rule's. When usage cannot be read, the error is logged and the save goes on, as
//! Dovecot does ("saving mail anyway").

mod mailbox;
pub mod maildir;
pub mod maildirsize;
pub mod rules;
pub mod settings;

use std::path::PathBuf;

use crate::fs::FsPolicy;
use crate::storage::api::{MailboxList, OpenOptions};
use crate::storage::error::{ErrorKind, StorageError, StorageResult};
use crate::storage::location::MailFormat;
use crate::storage::names;
use crate::storage::namespace::{Namespace, NamespaceType};

pub use mailbox::QuotaMailbox;
pub use settings::{BackendKind, QuotaSettings, RootSettings};

use maildir::{FileState, MaildirSizeFile};

/// IMAP's resource names (RFC 2087), as Dovecot names them.
pub const RESOURCE_STORAGE: &str = "STORAGE";
pub const RESOURCE_MESSAGES: &str = "MESSAGE";

/// One namespace of the user's, as the quota counts it: its own mailbox list instance (the
/// session's may have a mailbox open that it is syncing).
pub struct QuotaSource {
    pub ns: Namespace,
    pub list: Box<dyn MailboxList>,
    /// The fs policy of its files.
    pub policy: FsPolicy,
}

/// One resource of a root: its usage and limit (STORAGE in kilobytes, rounded up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub name: &'static str,
    pub value: u64,
    /// 0: unlimited.
    pub limit: u64,
}

/// A root's usage and limits, as `coteadm quota get` shows them (STORAGE in kilobytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootReport {
    pub name: String,
    pub resources: Result<Vec<Resource>, StorageError>,
}

enum Backend {
    /// `None`: no Maildir namespace to keep the file in (nothing is counted).
    Maildir(Option<MaildirSizeFile>),
    Count,
}

struct Root {
    set: RootSettings,
    /// The default limits in effect: the configuration's, or a `maildirsize` file's when
    /// the default rule is not forced (`?`, or none).
    limits: (u64, u64),
    backend: Backend,
    /// The sources this root counts.
    sources: Vec<usize>,
}

/// What a refresh of a root found.
struct Refreshed {
    bytes: u64,
    count: u64,
    /// The usage was counted from the mailboxes just now (it includes every change made).
    recalculated: bool,
    /// A `maildirsize` file exists to append to.
    file_present: bool,
}

/// One user's quota.
pub struct Quota {
    settings: QuotaSettings,
    roots: Vec<Root>,
    sources: Vec<QuotaSource>,
    /// The user's session delivers mail (LMTP, the LDA): `quota_grace` applies.
    delivering: bool,
}

impl Quota {
    /// The quota of a user whose namespaces are `sources`. Roots count the private
    /// namespaces (or the one `ns=` names), each directory once.
    pub fn new(settings: QuotaSettings, sources: Vec<QuotaSource>, delivering: bool) -> Quota {
        Quota::build(settings, sources, delivering, |set, ns| {
            match &set.ns_prefix {
                Some(prefix) => ns.prefix() == prefix,
                None => ns.config.kind == NamespaceType::Private,
            }
        })
    }

    /// The quota of another user whose mailboxes `owner` (their namespace under a shared
    /// root) holds, as Dovecot charges saves into them: the owner's roots and rules, over
    /// the owner's mailboxes. The owner's only namespace has the empty prefix in Dovecot,
    /// so a root with `ns=` counts it only when that names the empty prefix.
    pub fn for_owner(settings: QuotaSettings, owner: QuotaSource, delivering: bool) -> Quota {
        Quota::build(settings, vec![owner], delivering, |set, _| {
            set.ns_prefix.as_deref().is_none_or(str::is_empty)
        })
    }

    fn build(
        settings: QuotaSettings,
        sources: Vec<QuotaSource>,
        delivering: bool,
        counts: impl Fn(&RootSettings, &Namespace) -> bool,
    ) -> Quota {
        let mut roots = Vec::new();
        for set in &settings.roots {
            let mut counted: Vec<usize> = Vec::new();
            let mut seen_dirs: Vec<Option<PathBuf>> = Vec::new();
            for (i, src) in sources.iter().enumerate() {
                let wanted = counts(set, &src.ns);
                let dir = src.ns.location.root_dir().map(PathBuf::from);
                if !wanted || (dir.is_some() && seen_dirs.contains(&dir)) {
                    continue;
                }
                seen_dirs.push(dir);
                counted.push(i);
            }
            let default = &set.rules.default;
            let limits = (
                u64::try_from(default.bytes).unwrap_or(0),
                u64::try_from(default.count).unwrap_or(0),
            );
            if set.ignore_unlimited && limits == (0, 0) {
                continue;
            }
            let backend = match set.backend {
                BackendKind::Count => Backend::Count,
                BackendKind::Maildir => Backend::Maildir(maildirsize_file(&sources, &counted)),
            };
            roots.push(Root {
                set: set.clone(),
                limits,
                backend,
                sources: counted,
            });
        }
        Quota {
            settings,
            roots,
            sources,
            delivering,
        }
    }

    pub fn settings(&self) -> &QuotaSettings {
        &self.settings
    }

    /// The roots' names, in order.
    pub fn root_names(&self) -> Vec<String> {
        self.roots.iter().map(|r| r.set.name.clone()).collect()
    }

    /// The index of the root named `name`.
    pub fn root_by_name(&self, name: &str) -> Option<usize> {
        self.roots.iter().position(|r| r.set.name == name)
    }

    /// The roots that count the mailboxes of namespace `source` and are not hidden
    /// (GETQUOTAROOT).
    pub fn visible_roots(&self, source: usize) -> Vec<usize> {
        (0..self.roots.len())
            .filter(|&i| !self.roots[i].set.hidden && self.roots[i].sources.contains(&source))
            .collect()
    }

    /// Adds a namespace that no root counts (another user's under a shared root, added
    /// to the session later), so that [`move_needs_check`](Self::move_needs_check) knows
    /// it.
    pub fn add_source(&mut self, source: QuotaSource) {
        self.sources.push(source);
    }

    /// Whether moving messages from mailbox `src` into `dest` must be checked against the
    /// quota (Dovecot's `quota_move_requires_check`, asked of the quota of the session's
    /// user): only when a root applies to the destination's namespace but not to the
    /// source's. A root without `ns=` applies to every namespace with an owner (the
    /// user's private ones and other users' under a shared root); one with `ns=` to that
    /// namespace. A name in no known namespace is checked.
    pub fn move_needs_check(&self, dest: &str, src: &str) -> bool {
        let (Some(dest), Some(src)) = (self.source_of(dest), self.source_of(src)) else {
            return true;
        };
        let applies = |set: &RootSettings, ns: &Namespace| match &set.ns_prefix {
            Some(prefix) => ns.prefix() == prefix,
            None => ns.config.kind == NamespaceType::Private || ns.owner.is_some(),
        };
        let (dest, src) = (&self.sources[dest].ns, &self.sources[src].ns);
        self.roots
            .iter()
            .any(|r| applies(&r.set, dest) && !applies(&r.set, src))
    }

    /// Which source (namespace index) a mailbox's full name belongs to.
    pub fn source_of(&self, vname: &str) -> Option<usize> {
        let namespaces: Vec<Namespace> = self.sources.iter().map(|s| s.ns.clone()).collect();
        crate::storage::namespace::find(&namespaces, vname).map(|(i, _)| i)
    }

    /// The size a message counts with.
    pub fn message_size(&self, physical: u64, virtual_size: u64) -> u64 {
        if self.settings.vsizes {
            virtual_size
        } else {
            physical
        }
    }

    /// A root's usage and limits as GETQUOTA shows them: only the limited resources.
    pub fn resources(&mut self, root: usize) -> StorageResult<Vec<Resource>> {
        let all = self.all_resources(root)?;
        Ok(all.into_iter().filter(|r| r.limit > 0).collect())
    }

    /// Every resource of a root, limited or not (`coteadm quota get`).
    pub fn all_resources(&mut self, root: usize) -> StorageResult<Vec<Resource>> {
        let usage = self.refresh(root)?;
        let (bytes_limit, count_limit, _) = self.rule_limits(root, None)?;
        let kb = |v: u64| v.div_ceil(1024);
        Ok(vec![
            Resource {
                name: RESOURCE_STORAGE,
                value: kb(usage.bytes),
                limit: kb(bytes_limit),
            },
            Resource {
                name: RESOURCE_MESSAGES,
                value: usage.count,
                limit: count_limit,
            },
        ])
    }

    /// Every root's resources (`coteadm quota get`).
    pub fn report(&mut self) -> Vec<RootReport> {
        (0..self.roots.len())
            .map(|i| RootReport {
                name: self.roots[i].set.name.clone(),
                resources: self.all_resources(i),
            })
            .collect()
    }

    /// Recounts every root from the mailboxes (`coteadm quota recalc`).
    pub fn recalculate(&mut self) -> StorageResult<()> {
        for i in 0..self.roots.len() {
            if let Backend::Maildir(Some(_)) = &self.roots[i].backend {
                self.recalculate_maildir(i)?;
            }
        }
        Ok(())
    }

    /// Starts checking saves into mailbox `vname` (of namespace `source`).
    pub fn begin(&mut self, source: usize, vname: &str) -> QuotaTx {
        let mut tx = QuotaTx::new(self.settings.max_mail_size);
        if let Err(e) = self.set_limits(&mut tx, source, vname) {
            log::error!(
                "quota: Failed to check if user is under quota: {} - saving mail anyway",
                e.internal().unwrap_or(e.client_text())
            );
            tx = QuotaTx::new(self.settings.max_mail_size);
            tx.no_quota_updates = false;
        }
        tx
    }

    /// Whether mailbox `vname` is over quota already (Dovecot's `STATUS_CHECK_OVER_QUOTA`,
    /// LMTP's `lmtp_rcpt_check_quota`): the refusal a save of nothing would get.
    pub fn check_over(&mut self, vname: &str) -> StorageResult<()> {
        let Some(source) = self.source_of(vname) else {
            return Ok(());
        };
        self.begin(source, vname)
            .test_alloc(0)
            .map_err(|over| self.exceeded(over))
    }

    /// The refusal of a save over quota, with `quota_exceeded_message`.
    pub fn exceeded(&self, over: AllocError) -> StorageError {
        match over {
            AllocError::OverMaxSize => StorageError::new(
                ErrorKind::Limit,
                "Mail size is larger than the maximum size allowed by server configuration",
            ),
            AllocError::OverQuota => {
                StorageError::new(ErrorKind::NoQuota, self.settings.exceeded_message.clone())
            }
        }
    }

    /// Records a change of `bytes` and `count` in mailbox `vname` (of `source`) in every
    /// root that counts it. Failures are logged: the change itself was made.
    pub fn update(&mut self, source: usize, vname: &str, bytes: i64, count: i64) {
        if bytes == 0 && count == 0 {
            return;
        }
        for i in 0..self.roots.len() {
            let root = &self.roots[i];
            if !root.sources.contains(&source) || root.set.rules.is_ignored(vname) {
                continue;
            }
            if let Backend::Maildir(Some(_)) = &root.backend {
                if let Err(e) = self.update_maildir(i, bytes, count) {
                    log::error!(
                        "quota: Failed to update quota for {vname}: {}",
                        e.internal().unwrap_or(e.client_text())
                    );
                }
            }
        }
    }

    fn set_limits(&mut self, tx: &mut QuotaTx, source: usize, vname: &str) -> StorageResult<()> {
        for i in 0..self.roots.len() {
            if !self.roots[i].sources.contains(&source) {
                continue;
            }
            let (bytes_limit, count_limit, ignored) = if self.roots[i].set.noenforcing {
                (0, 0, false)
            } else {
                self.rule_limits(i, Some(vname))?
            };
            if !ignored {
                tx.no_quota_updates = false;
            }
            if bytes_limit == 0 && count_limit == 0 {
                continue;
            }
            let usage = self.refresh(i)?;
            if bytes_limit > 0 {
                if bytes_limit <= usage.bytes {
                    tx.bytes_ceil = 0;
                    tx.bytes_ceil2 = 0;
                    tx.bytes_over = tx.bytes_over.max(usage.bytes - bytes_limit);
                } else {
                    let room = bytes_limit - usage.bytes;
                    tx.bytes_ceil2 = tx.bytes_ceil2.min(room);
                    let grace = if self.delivering {
                        let root = &self.roots[i];
                        root.set.rules.grace_bytes(root.limits.0 as i64)
                    } else {
                        0
                    };
                    tx.bytes_ceil = tx.bytes_ceil.min(room.saturating_add(grace));
                }
            }
            if count_limit > 0 {
                if count_limit <= usage.count {
                    tx.count_ceil = 0;
                    tx.count_over = tx.count_over.max(usage.count - count_limit);
                } else {
                    tx.count_ceil = tx.count_ceil.min(count_limit - usage.count);
                }
            }
        }
        Ok(())
    }

    /// The limits for a mailbox (`None`: the root's own): the default rule's plus the
    /// mailbox rule's; and whether the mailbox is ignored.
    fn rule_limits(&mut self, root: usize, vname: Option<&str>) -> StorageResult<(u64, u64, bool)> {
        if !self.roots[root].set.rules.force_default {
            self.read_file_limits(root)?;
        }
        let r = &self.roots[root];
        let (mut bytes, mut count) = (r.limits.0 as i64, r.limits.1 as i64);
        if bytes == 0 && count == 0 {
            return Ok((0, 0, false));
        }
        let mut ignored = false;
        if let Some(rule) = vname.and_then(|v| r.set.rules.find(v)) {
            if rule.ignore {
                (bytes, count, ignored) = (0, 0, true);
            } else {
                let (b, c) = rule.limits.resolved(bytes, count);
                bytes = bytes.saturating_add(b);
                count = count.saturating_add(c);
            }
        }
        Ok((
            u64::try_from(bytes).unwrap_or(0),
            u64::try_from(count).unwrap_or(0),
            ignored,
        ))
    }

    /// Takes a `maildirsize` file's limits when the configuration does not force its own.
    fn read_file_limits(&mut self, root: usize) -> StorageResult<()> {
        let r = &mut self.roots[root];
        let Backend::Maildir(Some(file)) = &mut r.backend else {
            return Ok(());
        };
        if let FileState::Present(content, _) = file.read()? {
            r.limits = (content.bytes_limit, content.count_limit);
        }
        Ok(())
    }

    /// The root's current usage (recalculating a missing or untrustworthy file).
    fn refresh(&mut self, root: usize) -> StorageResult<Refreshed> {
        match &self.roots[root].backend {
            Backend::Count => {
                let (bytes, count) = self.count_usage(root)?;
                return Ok(Refreshed {
                    bytes,
                    count,
                    recalculated: true,
                    file_present: false,
                });
            }
            Backend::Maildir(None) => {
                return Ok(Refreshed {
                    bytes: 0,
                    count: 0,
                    recalculated: false,
                    file_present: false,
                })
            }
            Backend::Maildir(Some(_)) => {}
        }
        let r = &mut self.roots[root];
        let Backend::Maildir(Some(file)) = &mut r.backend else {
            return Err(StorageError::critical(None, "quota: no maildirsize file"));
        };
        let state = file.read()?;
        let force = r.set.rules.force_default;
        if let FileState::Present(content, mtime) = state {
            let file_limits = (content.bytes_limit, content.count_limit);
            let limits_ok = if file_limits == r.limits {
                true
            } else if force {
                false
            } else {
                r.limits = file_limits;
                true
            };
            if let Some(usage) = content.usage.filter(|_| limits_ok) {
                if maildir::usage_is_plausible(&usage, r.limits, mtime) {
                    return Ok(Refreshed {
                        bytes: usage.bytes,
                        count: usage.count,
                        recalculated: false,
                        file_present: true,
                    });
                }
            }
        }
        let default = &r.set.rules.default;
        if r.limits == (0, 0) && default.bytes == 0 && default.count == 0 && !force {
            // No quota at all: nothing to keep up to date.
            return Ok(Refreshed {
                bytes: 0,
                count: 0,
                recalculated: false,
                file_present: state != FileState::Missing,
            });
        }
        let (bytes, count) = self.recalculate_maildir(root)?;
        Ok(Refreshed {
            bytes,
            count,
            recalculated: true,
            file_present: true,
        })
    }

    fn recalculate_maildir(&mut self, root: usize) -> StorageResult<(u64, u64)> {
        let dirs = self.mailbox_dirs(root)?;
        let r = &mut self.roots[root];
        let limits = r.limits;
        match &mut r.backend {
            Backend::Maildir(Some(file)) => file.recalculate(&dirs, limits),
            _ => Ok((0, 0)),
        }
    }

    fn update_maildir(&mut self, root: usize, bytes: i64, count: i64) -> StorageResult<()> {
        let refreshed = self.refresh(root)?;
        if refreshed.recalculated {
            // Counted from the directories after the change: it is in already.
            return Ok(());
        }
        if !refreshed.file_present {
            self.recalculate_maildir(root)?;
            return Ok(());
        }
        let force = self.roots[root].set.rules.force_default;
        let appended = match &mut self.roots[root].backend {
            Backend::Maildir(Some(file)) => match file.append(bytes, count) {
                Ok(done) => done,
                Err(e) => {
                    if force {
                        file.remove();
                    }
                    return Err(e);
                }
            },
            _ => return Ok(()),
        };
        if !appended {
            self.recalculate_maildir(root)?;
        }
        Ok(())
    }

    /// The mailbox directories (holding `new/` and `cur/`) a Maildir++ root counts.
    fn mailbox_dirs(&mut self, root: usize) -> StorageResult<Vec<PathBuf>> {
        let mut dirs = Vec::new();
        let sources = self.roots[root].sources.clone();
        for i in sources {
            let src = &mut self.sources[i];
            if src.ns.location.format != MailFormat::Maildir {
                continue;
            }
            for m in src.list.mailboxes()? {
                if !m.selectable {
                    continue;
                }
                let vname = src.ns.vname(&m.name);
                if self.roots[root].set.rules.is_ignored(&vname) {
                    continue;
                }
                let storage = names::storage_name(&src.ns.rules, &m.name)
                    .map_err(|e| StorageError::from_name(&vname, &e))?;
                dirs.push(src.ns.location.mailbox_paths(&storage).mailbox);
            }
        }
        Ok(dirs)
    }

    /// The `count` backend: every counted mailbox's messages and their sizes, from its
    /// index.
    fn count_usage(&mut self, root: usize) -> StorageResult<(u64, u64)> {
        let (mut bytes, mut count) = (0u64, 0u64);
        let sources = self.roots[root].sources.clone();
        let vsizes = self.settings.vsizes;
        for i in sources {
            let src = &mut self.sources[i];
            for m in src.list.mailboxes()? {
                if !m.selectable {
                    continue;
                }
                let vname = src.ns.vname(&m.name);
                if self.roots[root].set.rules.is_ignored(&vname) {
                    continue;
                }
                let status = match src.list.open(&m.name, OpenOptions::ACCESS) {
                    Ok(mut mb) => mb.status(),
                    Err(e) => Err(e),
                };
                match status {
                    Ok(s) => {
                        bytes += if vsizes { s.vsize } else { s.psize };
                        count += u64::from(s.messages);
                    }
                    // Gone meanwhile, or not ours to read: not counted, as Dovecot.
                    Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Perm) => {}
                    Err(e) => {
                        return Err(StorageError::critical(
                            None,
                            format!(
                                "quota-count: Couldn't get size of mailbox {vname}: {}",
                                e.internal().unwrap_or(e.client_text())
                            ),
                        ))
                    }
                }
            }
        }
        Ok((bytes, count))
    }
}

/// The `maildirsize` file of a Maildir++ root: in the first counted namespace, when it is a
/// Maildir one (Dovecot skips others with a warning).
fn maildirsize_file(sources: &[QuotaSource], counted: &[usize]) -> Option<MaildirSizeFile> {
    let src = &sources[*counted.first()?];
    if src.ns.location.format != MailFormat::Maildir {
        log::warn!(
            "quota-maildir: Namespace '{}' is not Maildir, skipping for Maildir++ quota",
            src.ns.prefix()
        );
        return None;
    }
    let root = src.ns.location.control_root()?;
    Some(MaildirSizeFile::new(root, src.policy.clone()))
}

/// Why a save is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllocError {
    /// Larger than `quota_max_mail_size`.
    OverMaxSize,
    OverQuota,
}

/// The room left for one transaction's saves (Dovecot's `quota_transaction_context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaTx {
    bytes_ceil: u64,
    /// The room without the grace (after the first message).
    bytes_ceil2: u64,
    count_ceil: u64,
    bytes_over: u64,
    count_over: u64,
    bytes_used: i64,
    count_used: i64,
    /// No root counts this mailbox: nothing is checked.
    no_quota_updates: bool,
    max_mail_size: u64,
}

impl QuotaTx {
    fn new(max_mail_size: u64) -> QuotaTx {
        QuotaTx {
            bytes_ceil: u64::MAX,
            bytes_ceil2: u64::MAX,
            count_ceil: u64::MAX,
            bytes_over: 0,
            count_over: 0,
            bytes_used: 0,
            count_used: 0,
            no_quota_updates: true,
            max_mail_size,
        }
    }

    /// Whether a message of `size` bytes still fits.
    pub fn test_alloc(&self, size: u64) -> Result<(), AllocError> {
        if self.max_mail_size > 0 && size > self.max_mail_size {
            return Err(AllocError::OverMaxSize);
        }
        if self.no_quota_updates || !self.is_over(size) {
            Ok(())
        } else {
            Err(AllocError::OverQuota)
        }
    }

    /// Counts a message of `size` bytes as saved.
    pub fn alloc(&mut self, size: u64) {
        self.bytes_used = self
            .bytes_used
            .saturating_add(i64::try_from(size).unwrap_or(i64::MAX));
        self.count_used += 1;
        self.bytes_ceil = self.bytes_ceil2;
    }

    /// Dovecot's `quota_transaction_is_over`.
    fn is_over(&self, size: u64) -> bool {
        if self.count_used < 0 {
            let deleted = self.count_used.unsigned_abs();
            if self.count_over > 0 && deleted - 1 < self.count_over {
                return true;
            }
        } else if self.count_ceil < 1 || self.count_ceil - 1 < self.count_used.unsigned_abs() {
            return true;
        }
        if self.bytes_used < 0 {
            let deleted = self.bytes_used.unsigned_abs();
            if self.bytes_over > 0 {
                self.bytes_over > deleted || size > deleted - self.bytes_over
            } else {
                size > deleted && size - deleted < self.bytes_ceil
            }
        } else if size == 0 {
            self.bytes_over > 0
        } else {
            let used = self.bytes_used.unsigned_abs();
            self.bytes_ceil < size || self.bytes_ceil - size < used
        }
    }
}

#[cfg(test)]
mod tests;
