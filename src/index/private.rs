//! Private flags of a mailbox others share (`INDEXPVT=` in a namespace's location): what
//! one viewer has `\Seen` of a mailbox whose other flags everyone shares, as Dovecot 2.3
//! keeps it in `dovecot.index.pvt` (its private flags mask is `\Seen` alone). cote keeps it
//! in a file of its own, `cote.index.pvt` in the viewer's `INDEXPVT` directory of the
//! mailbox; Dovecot's pvt index is left alone.
//!
//! **`cote.index.pvt`** — a 28-byte header (magic `COPV`, version, header length, the
//! shared mailbox's UIDVALIDITY, the next UID it had when the file was written, the body's
//! length and CRC-32C, the header's CRC-32C) and a body: the set of UIDs the viewer has
//! seen (a uid set as the log encodes one). A message at or above the recorded next UID is
//! one the file has not met yet: its flags are the initial ones (none in a shared
//! namespace; the shared `\Seen` in a public one, as Dovecot copies it). A file of another
//! UIDVALIDITY belongs to a mailbox that was recreated: it counts as empty.
//!
//! Writers take `cote.index.pvt.lock` (a lock file per `lock_method`), read the file again,
//! apply their change and replace the file (temp + fsync + rename); readers never lock and
//! re-read when the file's identity (inode, size, mtime) changed. A damaged file is logged
//! and counts as empty (the viewer's `\Seen` is lost, nothing else), as Dovecot resets a
//! broken private index.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fs::{ops, replace_file, FileKind, LockFile};

use super::codec::{malformed, HeaderKind, Malformed, Reader, Writer};
use super::crc32c::crc32c;
use super::error::IndexError;
use super::settings::IndexSettings;
use super::uidset::UidSet;

/// The private flags file of one mailbox.
pub const PRIVATE_NAME: &str = "cote.index.pvt";
/// Held while the file is read, changed and replaced.
pub const PRIVATE_LOCK_NAME: &str = "cote.index.pvt.lock";
/// How long a writer waits for the lock (capped by `mail_max_lock_timeout`).
const LOCK_TIMEOUT: Duration = Duration::from_secs(180);

const HEADER: HeaderKind = HeaderKind {
    name: "private flags file",
    magic: u32::from_le_bytes(*b"COPV"),
    version: 1,
    len: 28,
};

/// What one viewer's file says about a mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrivateState {
    /// The shared mailbox's UIDVALIDITY (0: nothing recorded yet).
    pub uidvalidity: u32,
    /// Messages from this UID on are not recorded yet: they have their initial flags.
    pub next_uid: u32,
    /// The UIDs below `next_uid` the viewer has seen.
    pub seen: UidSet,
}

impl PrivateState {
    /// This state as it applies to a mailbox of `uidvalidity` (another one's: empty).
    fn for_mailbox(&self, uidvalidity: u32) -> PrivateState {
        if self.uidvalidity == uidvalidity {
            self.clone()
        } else {
            PrivateState {
                uidvalidity,
                ..PrivateState::default()
            }
        }
    }

    /// Whether the viewer has seen `uid` of a mailbox of `uidvalidity`: `initial` (the
    /// initial flags: the shared `\Seen` in a public namespace, else false) for a message
    /// the file has not met.
    pub fn is_seen(&self, uidvalidity: u32, uid: u32, initial: bool) -> bool {
        if self.uidvalidity != uidvalidity || uid >= self.next_uid {
            initial
        } else {
            self.seen.contains(uid)
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        self.seen.encode(&mut body);
        let mut out = HEADER.begin(HEADER.len + body.len());
        out.put_u32(self.uidvalidity);
        out.put_u32(self.next_uid);
        out.put_u32(super::codec::count_u32(body.len()));
        out.put_u32(crc32c(&body));
        HeaderKind::seal(&mut out);
        out.extend_from_slice(&body);
        out
    }

    pub fn decode(data: &[u8]) -> Result<PrivateState, Malformed> {
        let mut r = HEADER.read(data)?;
        let uidvalidity = r.u32("uidvalidity")?;
        let next_uid = r.u32("next uid")?;
        let body_len = r.u32("body length")?;
        let body_crc = r.u32("body checksum")?;
        let body = data.get(HEADER.len..).unwrap_or_default();
        if body.len() != body_len as usize {
            return Err(malformed(format!(
                "body of {} bytes, the header says {body_len}",
                body.len()
            )));
        }
        if crc32c(body) != body_crc {
            return Err(malformed("body checksum mismatch"));
        }
        let mut r = Reader::new(body);
        let seen = UidSet::decode(&mut r)?;
        r.end("private flags")?;
        if seen.max().is_some_and(|max| max >= next_uid) {
            return Err(malformed(format!(
                "seen uid {:?} at or above next uid {next_uid}",
                seen.max()
            )));
        }
        Ok(PrivateState {
            uidvalidity,
            next_uid,
            seen,
        })
    }
}

/// What identifies one version of the file (a replace makes a new inode).
type Identity = Option<(u64, u64, u64, i64, i64)>;

/// One viewer's private flags of one mailbox.
#[derive(Debug)]
pub struct PrivateFlags {
    dir: PathBuf,
    settings: IndexSettings,
    state: PrivateState,
    identity: Identity,
}

impl PrivateFlags {
    /// The private flags kept in `dir` (the viewer's `INDEXPVT` directory of the mailbox;
    /// created at the first change).
    pub fn open(dir: &Path, settings: IndexSettings) -> Result<PrivateFlags, IndexError> {
        let mut flags = PrivateFlags {
            dir: dir.to_path_buf(),
            settings,
            state: PrivateState::default(),
            identity: None,
        };
        flags.refresh()?;
        Ok(flags)
    }

    fn path(&self) -> PathBuf {
        self.dir.join(PRIVATE_NAME)
    }

    /// What the file said when last read.
    pub fn state(&self) -> &PrivateState {
        &self.state
    }

    /// Reads the file again if it changed; returns whether it did.
    pub fn refresh(&mut self) -> Result<bool, IndexError> {
        let path = self.path();
        let nfs = self.settings.fs.nfs(FileKind::Index);
        nfs.flush_attr(&path);
        let identity = ops::stat_if_exists(&path)?
            .map(|st| (st.dev(), st.ino(), st.size(), st.mtime(), st.mtime_nsec()));
        if identity.is_some() && identity == self.identity {
            return Ok(false);
        }
        let state = self.read(&path)?;
        let changed = state != self.state;
        self.state = state;
        self.identity = identity;
        Ok(changed)
    }

    fn read(&self, path: &Path) -> Result<PrivateState, IndexError> {
        let Some(data) = ops::read_file_if_exists(path)? else {
            return Ok(PrivateState::default());
        };
        match PrivateState::decode(&data) {
            Ok(state) => Ok(state),
            Err(why) => {
                log::error!(
                    "Corrupted private flags file {}: {}: the viewer's \\Seen flags start over",
                    path.display(),
                    why.0
                );
                Ok(PrivateState::default())
            }
        }
    }

    /// [`PrivateState::is_seen`] of what the file said when last read.
    pub fn is_seen(&self, uidvalidity: u32, uid: u32, initial: bool) -> bool {
        self.state.is_seen(uidvalidity, uid, initial)
    }

    /// Changes the file under its lock: `change` gets the current state of the mailbox of
    /// `uidvalidity` (whose next UID is `next_uid` and whose messages are `existing`, in UID
    /// order, as far as the caller knows: below `next_uid` only their UIDs are kept, and
    /// those the file has not met are recorded first, seen when `initial` says so) and
    /// edits it; the file is replaced only when something changed.
    pub fn update(
        &mut self,
        uidvalidity: u32,
        next_uid: u32,
        existing: &[u32],
        initial: impl Fn(u32) -> bool,
        change: impl FnOnce(&mut PrivateState),
    ) -> Result<(), IndexError> {
        let fs = self.settings.fs.clone();
        ops::mkdir_parents(&self.dir, &self.settings.perms)?;
        let lock = LockFile::acquire(
            &fs,
            &self.dir.join(PRIVATE_LOCK_NAME),
            &self.settings.perms,
            LOCK_TIMEOUT,
        )?;
        self.identity = None;
        self.refresh()?;
        let before = self.state.clone();
        let mut state = before.for_mailbox(uidvalidity);
        let met = state.next_uid;
        let mut seen: UidSet = existing
            .iter()
            .copied()
            .filter(|&uid| {
                if uid < met {
                    state.seen.contains(uid)
                } else {
                    uid < next_uid && initial(uid)
                }
            })
            .collect();
        // Messages the caller does not know of yet (another session of the viewer may
        // have) stay as they are.
        for &(a, b) in state.seen.ranges() {
            if b >= next_uid {
                seen.insert_range(a.max(next_uid), b);
            }
        }
        state.seen = seen;
        state.next_uid = state.next_uid.max(next_uid);
        change(&mut state);
        state.seen = state.seen.below(state.next_uid);
        if state != before {
            replace_file(&self.path(), &state.encode(), &self.settings.perms, &fs)?;
            self.identity = None;
            self.state = state;
            self.refresh()?;
        }
        lock.release()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::CreatePerms;

    fn settings() -> IndexSettings {
        IndexSettings::dovecot_defaults(CreatePerms::default())
    }

    #[test]
    fn state_round_trips_and_checks_itself() {
        let state = PrivateState {
            uidvalidity: 77,
            next_uid: 10,
            seen: [1, 2, 3, 7].into_iter().collect(),
        };
        let bytes = state.encode();
        assert_eq!(PrivateState::decode(&bytes).unwrap(), state);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(PrivateState::decode(&bad).is_err(), "byte {i}");
            assert!(PrivateState::decode(&bytes[..i]).is_err(), "cut at {i}");
        }
        // A seen UID the file has not met is not this encoder's.
        let odd = PrivateState {
            next_uid: 7,
            ..state
        };
        assert!(PrivateState::decode(&odd.encode()).is_err());
    }

    #[test]
    fn changes_persist_and_other_readers_see_them() {
        let dir = tempfile::tempdir().unwrap();
        let pvt = dir.path().join("shared/alice/.Team");
        let mut a = PrivateFlags::open(&pvt, settings()).unwrap();
        let mut b = PrivateFlags::open(&pvt, settings()).unwrap();
        assert!(!a.is_seen(5, 1, false));
        a.update(
            5,
            4,
            &[1, 2, 3],
            |_| false,
            |s| {
                s.seen.insert(1);
                s.seen.insert(3);
            },
        )
        .unwrap();
        assert!(a.is_seen(5, 1, false) && !a.is_seen(5, 2, false));
        assert!(b.refresh().unwrap());
        assert!(b.is_seen(5, 3, false));
        // Not met yet: the initial flags.
        assert!(b.is_seen(5, 4, true) && !b.is_seen(5, 4, false));
        // Another UIDVALIDITY: nothing seen.
        assert!(!b.is_seen(6, 1, false));
        // Expunged messages leave the file; new ones take their initial flags.
        b.update(5, 6, &[1, 2, 4, 5], |uid| uid == 5, |_| {})
            .unwrap();
        assert_eq!(b.state().seen, [1, 5].into_iter().collect::<UidSet>());
        assert_eq!(b.state().next_uid, 6);
        assert!(a.refresh().unwrap());
        assert!(!a.refresh().unwrap());
        // A recreated mailbox starts over.
        a.update(9, 3, &[1, 2], |_| false, |_| {}).unwrap();
        assert_eq!(a.state().uidvalidity, 9);
        assert!(a.state().seen.is_empty());
    }

    #[test]
    fn writers_do_not_lose_each_others_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = PrivateFlags::open(dir.path(), settings()).unwrap();
        let mut b = PrivateFlags::open(dir.path(), settings()).unwrap();
        let existing = [1, 2, 3];
        a.update(1, 4, &existing, |_| false, |s| s.seen.insert(1))
            .unwrap();
        // b has not read a's change: it reads it under the lock before changing.
        b.update(1, 4, &existing, |_| false, |s| s.seen.insert(2))
            .unwrap();
        assert!(a.refresh().unwrap());
        assert_eq!(a.state().seen, [1, 2].into_iter().collect::<UidSet>());
        // A change that changes nothing does not rewrite the file.
        let before = std::fs::metadata(dir.path().join(PRIVATE_NAME))
            .unwrap()
            .ino();
        b.update(1, 4, &existing, |_| false, |s| s.seen.insert(1))
            .unwrap();
        let after = std::fs::metadata(dir.path().join(PRIVATE_NAME))
            .unwrap()
            .ino();
        assert_eq!(before, after);
    }

    #[test]
    fn a_writer_that_knows_fewer_messages_keeps_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let mut ahead = PrivateFlags::open(dir.path(), settings()).unwrap();
        ahead
            .update(1, 12, &[1, 2, 11], |_| false, |s| s.seen.insert(11))
            .unwrap();
        // A session that knows UIDs up to 2 only (and that 1 is gone).
        let mut behind = PrivateFlags::open(dir.path(), settings()).unwrap();
        behind
            .update(1, 3, &[2], |_| false, |s| s.seen.insert(2))
            .unwrap();
        assert_eq!(behind.state().seen, [2, 11].into_iter().collect::<UidSet>());
        assert_eq!(behind.state().next_uid, 12);
    }

    #[test]
    fn a_damaged_file_counts_as_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(PRIVATE_NAME), b"garbage").unwrap();
        let mut f = PrivateFlags::open(dir.path(), settings()).unwrap();
        assert_eq!(f.state(), &PrivateState::default());
        f.update(1, 3, &[1, 2], |_| false, |s| s.seen.insert(2))
            .unwrap();
        assert!(f.is_seen(1, 2, false));
        let again = PrivateFlags::open(dir.path(), settings()).unwrap();
        assert!(again.is_seen(1, 2, false));
        assert!(!dir.path().join(PRIVATE_LOCK_NAME).exists());
    }
}
