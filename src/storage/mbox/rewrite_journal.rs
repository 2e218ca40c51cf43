//! The crash-safe rewrite of an mbox file's tail (expunges, UIDs for mail other programs
//! delivered, headers that outgrow their padding), done in place under the write locks, as
//! the MTA and mail readers expect (the file keeps its inode, so a program that opened it
//! and waits for its lock still writes into the right file).
//!
//! The new bytes from `offset` to the new end are first made durable in a file beside the
//! mailbox's index (`cote.mbox.rewrite`), then a journal (`cote.mbox.journal`, replaced
//! atomically) records the plan; only then is the mbox touched, in this order:
//!
//! 1. `start S T`: the file is `S` bytes, the new end is `T`. Growing (`T > S`): the file
//!    is extended to `T` in one `ftruncate` (zeros). Shrinking: `[T, S)` is zeroed.
//! 2. `copy T L`: the file is `L = max(S, T)` bytes with zeros in `[T, L)`; the new bytes
//!    are written at `offset`, then the file is truncated to `T`.
//! 3. The journal and the data file are removed (and the directory synced, so a journal
//!    never comes back to replay an old plan over newer data).
//!
//! A session that finds a journal (before it reads the mbox, under the write locks) rolls
//! the plan forward from the data file, so a SIGKILL at any point loses nothing. Other
//! programs that appended to the mbox between the crash and that recovery (the MTA writes
//! a `From ` line at the end of the file, never a zero byte) are kept: in `copy`, a zero at
//! `T` says the truncation has not happened and appended mail starts at `L`; anything else
//! says it has, and appended mail starts at `T`. In `start`, a zero at `S` says the file was
//! already extended. Appended mail found mid-plan joins the new bytes and the plan restarts.
//! The journal also records the file's device and inode and the MD5 of the 4 KiB before
//! `offset` (the end of the last message the plan leaves where it is: body bytes, which
//! nobody edits in place, unlike the first message's `X-IMAPbase:`). A program that
//! rewrote the file itself (mutt) or replaced it while a plan was pending changes them: the
//! plan is then not rolled forward over its work; the journal and data file are kept aside
//! under `.orphaned-<time>` names, with an error in the log naming them.

use std::path::{Path, PathBuf};

use crate::fs::{atomic, ops, CreatePerms, FsFile, FsPolicy, SyncPoint};
use crate::storage::crash;
use crate::storage::error::{StorageError, StorageResult};

const JOURNAL_NAME: &str = "cote.mbox.journal";
const DATA_NAME: &str = "cote.mbox.rewrite";
const MAGIC: &str = "cote-mbox-rewrite 1";
/// How many bytes before a plan's offset the check samples.
const SAMPLE: u64 = 4096;

/// New bytes for the mbox from `offset` to its (new) end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRewrite {
    pub offset: u64,
    pub bytes: Vec<u8>,
}

impl TailRewrite {
    fn new_len(&self) -> u64 {
        self.offset + self.bytes.len() as u64
    }
}

/// Where a plan stands (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start {
        offset: u64,
        old_len: u64,
        new_len: u64,
    },
    Copy {
        offset: u64,
        new_len: u64,
        zeroed_to: u64,
    },
}

impl Phase {
    fn encode(self) -> String {
        match self {
            Phase::Start {
                offset,
                old_len,
                new_len,
            } => format!("{MAGIC}\nstart {offset} {old_len} {new_len}\n"),
            Phase::Copy {
                offset,
                new_len,
                zeroed_to,
            } => format!("{MAGIC}\ncopy {offset} {new_len} {zeroed_to}\n"),
        }
    }

    fn decode(data: &[u8]) -> Option<Phase> {
        let text = std::str::from_utf8(data).ok()?;
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        Phase::decode_line(lines.next()?)
    }

    fn decode_line(line: &str) -> Option<Phase> {
        let mut words = line.split(' ');
        let kind = words.next()?;
        let mut num = || words.next()?.parse::<u64>().ok();
        let (a, b, c) = (num()?, num()?, num()?);
        match kind {
            "start" => Some(Phase::Start {
                offset: a,
                old_len: b,
                new_len: c,
            }),
            "copy" if b <= c => Some(Phase::Copy {
                offset: a,
                new_len: b,
                zeroed_to: c,
            }),
            _ => None,
        }
    }
}

/// What the file a plan was made for looks like where the plan does not write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileCheck {
    dev: u64,
    ino: u64,
    sample_md5: String,
}

impl FileCheck {
    /// Of `file` now, for a plan writing from `offset` on.
    fn of(file: &FsFile, offset: u64) -> StorageResult<FileCheck> {
        use md5::{Digest, Md5};
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata()?;
        let at = offset.saturating_sub(SAMPLE);
        let mut buf = vec![0u8; (offset - at) as usize];
        let n = file.read_full_at(&mut buf, at)?;
        let mut md5 = Md5::new();
        md5.update(&buf[..n]);
        Ok(FileCheck {
            dev: meta.dev(),
            ino: meta.ino(),
            sample_md5: md5.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    fn encode(&self) -> String {
        format!("check {} {} {}\n", self.dev, self.ino, self.sample_md5)
    }

    /// The third line of a journal; `None` when absent (older journals) or unreadable.
    fn decode(journal: &[u8]) -> Option<FileCheck> {
        let text = std::str::from_utf8(journal).ok()?;
        let mut words = text.lines().nth(2)?.split(' ');
        if words.next()? != "check" {
            return None;
        }
        Some(FileCheck {
            dev: words.next()?.parse().ok()?,
            ino: words.next()?.parse().ok()?,
            sample_md5: words.next()?.to_string(),
        })
    }
}

/// The journal and data files of one mbox (in its index directory).
#[derive(Debug, Clone)]
pub struct RewriteJournal {
    dir: PathBuf,
    policy: FsPolicy,
    perms: CreatePerms,
}

impl RewriteJournal {
    pub fn new(index_dir: &Path, policy: &FsPolicy, perms: &CreatePerms) -> RewriteJournal {
        RewriteJournal {
            dir: index_dir.to_path_buf(),
            policy: policy.clone(),
            perms: perms.clone(),
        }
    }

    fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL_NAME)
    }

    fn data_path(&self) -> PathBuf {
        self.dir.join(DATA_NAME)
    }

    /// Whether a plan is pending (a session died in the middle of a rewrite).
    pub fn is_pending(&self) -> StorageResult<bool> {
        Ok(ops::stat_if_exists(&self.journal_path())?.is_some())
    }

    fn write_phase(&self, phase: Phase, check: &FileCheck) -> StorageResult<()> {
        let text = phase.encode() + &check.encode();
        atomic::replace_file(
            &self.journal_path(),
            text.as_bytes(),
            &self.perms,
            &self.policy,
        )?;
        ops::fsync_dir(&self.policy, &self.dir, SyncPoint::Durable)?;
        Ok(())
    }

    /// Rewrites `file` (the mbox, held under its write locks) from `plan.offset` on.
    pub fn apply(&self, file: &FsFile, plan: &TailRewrite) -> StorageResult<()> {
        ops::mkdir_parents(&self.dir, &self.perms)?;
        atomic::replace_file(&self.data_path(), &plan.bytes, &self.perms, &self.policy)?;
        crash::point("mbox-rewrite-data-written");
        let old_len = file.metadata()?.len();
        let start = Phase::Start {
            offset: plan.offset,
            old_len,
            new_len: plan.new_len(),
        };
        let check = FileCheck::of(file, plan.offset)?;
        self.write_phase(start, &check)?;
        crash::point("mbox-rewrite-journal-start");
        self.run(file, start, &plan.bytes, &check)
    }

    /// Rolls a pending plan forward (under the write locks). Returns whether there was one.
    pub fn recover(&self, file: &FsFile) -> StorageResult<bool> {
        let Some(journal) = ops::read_file_if_exists(&self.journal_path())? else {
            return Ok(false);
        };
        let path = file.path().to_path_buf();
        let Some(phase) = Phase::decode(&journal) else {
            return Err(StorageError::critical(
                None,
                format!(
                    "{} is damaged: an interrupted rewrite of {} can't be finished",
                    self.journal_path().display(),
                    path.display()
                ),
            ));
        };
        let bytes = match ops::read_file_if_exists(&self.data_path())? {
            Some(b) => b,
            None => {
                return Err(StorageError::critical(
                    None,
                    format!(
                        "{} is missing: an interrupted rewrite of {} can't be finished",
                        self.data_path().display(),
                        path.display()
                    ),
                ))
            }
        };
        let (offset, new_len) = match phase {
            Phase::Start {
                offset, new_len, ..
            }
            | Phase::Copy {
                offset, new_len, ..
            } => (offset, new_len),
        };
        if offset.checked_add(bytes.len() as u64) != Some(new_len) {
            return Err(StorageError::critical(
                None,
                format!(
                    "{} does not match its journal: an interrupted rewrite of {} can't be \
                     finished",
                    self.data_path().display(),
                    path.display()
                ),
            ));
        }
        let check = match FileCheck::decode(&journal) {
            Some(recorded) => {
                let now = FileCheck::of(file, offset)?;
                if now != recorded {
                    self.set_aside(&path)?;
                    return Ok(true);
                }
                recorded
            }
            // (a journal from before the check: rolled forward as it was)
            None => FileCheck::of(file, offset)?,
        };
        log::warn!(
            "{}: finishing a rewrite interrupted by a crash",
            path.display()
        );
        self.run(file, phase, &bytes, &check)?;
        Ok(true)
    }

    /// Another program rewrote or replaced the file while a plan was pending: the plan is
    /// not rolled forward over its work; its files are kept aside for a human.
    fn set_aside(&self, path: &Path) -> StorageResult<()> {
        let secs = crate::fs::clock::unix_secs(crate::fs::clock::wall_now());
        let aside = |p: PathBuf| {
            let mut name = p.into_os_string();
            name.push(format!(".orphaned-{secs}"));
            PathBuf::from(name)
        };
        let (journal, data) = (aside(self.journal_path()), aside(self.data_path()));
        ops::rename(&self.data_path(), &data)?;
        ops::rename(&self.journal_path(), &journal)?;
        ops::fsync_dir(&self.policy, &self.dir, SyncPoint::Durable)?;
        log::error!(
            "{}: changed by another program while a rewrite interrupted by a crash was \
             pending; the rewrite is not finished over it (its plan is kept in {} and {})",
            path.display(),
            journal.display(),
            data.display()
        );
        Ok(())
    }

    /// Runs a plan from `phase` to its end.
    fn run(
        &self,
        file: &FsFile,
        mut phase: Phase,
        bytes: &[u8],
        check: &FileCheck,
    ) -> StorageResult<()> {
        loop {
            match phase {
                Phase::Start {
                    offset,
                    old_len,
                    new_len,
                } => {
                    let len = file.metadata()?.len();
                    if new_len > old_len {
                        let extended = len > old_len && byte_at(file, old_len)? == Some(0);
                        if !extended {
                            if len > old_len {
                                // Others appended to the untouched file: plan again with
                                // their mail.
                                return self.restart(file, offset, bytes, new_len, old_len);
                            }
                            file.set_len(new_len)?;
                            file.sync(&self.policy, SyncPoint::Durable)?;
                        } else if len > new_len {
                            return self.restart(file, offset, bytes, new_len, new_len);
                        }
                    } else if new_len < old_len {
                        if len > old_len {
                            return self.restart(file, offset, bytes, new_len, old_len);
                        }
                        let zeros = vec![0u8; (old_len - new_len) as usize];
                        file.write_all_at(&zeros, new_len)?;
                        file.sync(&self.policy, SyncPoint::Durable)?;
                    } else if len > old_len {
                        return self.restart(file, offset, bytes, new_len, old_len);
                    }
                    crash::point("mbox-rewrite-prepared");
                    phase = Phase::Copy {
                        offset,
                        new_len,
                        zeroed_to: old_len.max(new_len),
                    };
                    self.write_phase(phase, check)?;
                    crash::point("mbox-rewrite-journal-copy");
                }
                Phase::Copy {
                    offset,
                    new_len,
                    zeroed_to,
                } => {
                    let len = file.metadata()?.len();
                    let zero_region_left =
                        new_len < zeroed_to && len > new_len && byte_at(file, new_len)? == Some(0);
                    if zero_region_left && len > zeroed_to {
                        return self.restart(file, offset, bytes, new_len, zeroed_to);
                    }
                    file.write_all_at(bytes, offset)?;
                    file.sync(&self.policy, SyncPoint::Durable)?;
                    crash::point("mbox-rewrite-copied");
                    if zero_region_left {
                        file.set_len(new_len)?;
                        file.sync(&self.policy, SyncPoint::Durable)?;
                    }
                    crash::point("mbox-rewrite-truncated");
                    ops::unlink_if_exists(&self.journal_path())?;
                    ops::fsync_dir(&self.policy, &self.dir, SyncPoint::Durable)?;
                    ops::unlink_if_exists(&self.data_path())?;
                    return Ok(());
                }
            }
        }
    }

    /// Mail other programs appended at `foreign_from` while a plan was pending: the plan
    /// becomes the same new bytes followed by that mail, over the file as it is now.
    fn restart(
        &self,
        file: &FsFile,
        offset: u64,
        bytes: &[u8],
        new_len: u64,
        foreign_from: u64,
    ) -> StorageResult<()> {
        let extra = file.read_from(foreign_from)?;
        log::warn!(
            "{}: {} bytes appended by another program during an interrupted rewrite are \
             kept",
            file.path().display(),
            extra.len()
        );
        debug_assert_eq!(offset + bytes.len() as u64, new_len);
        let mut joined = bytes.to_vec();
        joined.extend_from_slice(&extra);
        self.apply(
            file,
            &TailRewrite {
                offset,
                bytes: joined,
            },
        )
    }
}

/// The byte at `at`, if the file is that long.
fn byte_at(file: &FsFile, at: u64) -> StorageResult<Option<u8>> {
    let mut b = [0u8; 1];
    Ok((file.read_at(&mut b, at)? == 1).then_some(b[0]))
}

#[cfg(test)]
#[path = "rewrite_journal_tests.rs"]
mod tests;
