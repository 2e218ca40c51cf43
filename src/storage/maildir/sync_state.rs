//! What the index remembers about a Maildir between syncs (Dovecot's `maildir` index header
//! extension, kept in the index's backend state blob): the mtimes of `new/` and `cur/` and
//! when they were last read, which messages have flag changes not yet applied to their file
//! names ("dirty", after ENOSPC/EDQUOT), when `tmp/` was last cleaned, and whether the index
//! was rebuilt from the Maildir.
//!
//! The quick check decides from these and two `stat()`s whether a directory must be read:
//! when its mtime changed, or when it was still "dirty" (changed within
//! [`SYNC_SECS`] of the last read, so a change in the same second could have been missed)
//! and that second has passed.

use crate::index::uidset::UidSet;

/// Dovecot's `MAILDIR_SYNC_SECS`: the clock drift allowed between hosts sharing the store.
pub const SYNC_SECS: i64 = 1;

const MAGIC: &[u8; 4] = b"cMD3";
/// At most this many dirty UID ranges are kept (the backend state is small).
pub const MAX_DIRTY_RANGES: usize = 96;

/// A directory's mtime (seconds and nanoseconds) and when we last read it (seconds, the file
/// server's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirStamp {
    pub mtime: i64,
    pub mtime_nsec: i64,
    pub check_time: i64,
}

impl DirStamp {
    /// Never read.
    pub fn is_unset(&self) -> bool {
        self.mtime == 0 && self.mtime_nsec == 0 && self.check_time == 0
    }

    /// Whether the directory's current (`mtime`, `nsec`) differs from the recorded one.
    pub fn changed(&self, mtime: i64, nsec: i64) -> bool {
        self.mtime != mtime || self.mtime_nsec != nsec
    }

    /// Dovecot's `DIR_DELAYED_REFRESH`: the directory changed within the sync window of our
    /// last read, and (unless `undirty` asks for it now) that window has passed.
    pub fn delayed_refresh(&self, now: i64, undirty: bool) -> bool {
        self.check_time <= self.mtime + SYNC_SECS && (undirty || self.check_time < now - SYNC_SECS)
    }
}

/// `dovecot-uidlist` as last written or read under the lock: if it is still the same file
/// with the same size and mtime, nobody assigned UIDs since, and it need not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp {
    pub ino: u64,
    pub size: u64,
    pub mtime_nsecs: i64,
}

/// The Maildir sync state stored in the index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncState {
    pub new: DirStamp,
    pub cur: DirStamp,
    /// Files were left in `new/` at the last read of it (a read-write session moves them).
    pub new_has_files: bool,
    /// How many indexed messages were in `new/` at the last look (kept current by saves and
    /// expunges there). Fewer found by a read of `new/` alone means some left it — moved to
    /// `cur/` or expunged — which only a read of `cur/` can tell apart.
    pub new_known: u32,
    pub uidlist: FileStamp,
    /// When `tmp/` was last searched for stale files.
    pub last_tmp_scan: i64,
    /// How many times the index was rebuilt from the Maildir.
    pub rebuilds: u32,
    /// Messages whose flags in the index are not yet in their file name.
    pub dirty: UidSet,
}

impl SyncState {
    /// The state in a backend state blob; anything unreadable (another format, a new index)
    /// is the empty state, which makes the next sync read everything.
    pub fn decode(blob: &[u8]) -> SyncState {
        Self::try_decode(blob).unwrap_or_default()
    }

    fn try_decode(blob: &[u8]) -> Option<SyncState> {
        let rest = blob.strip_prefix(MAGIC)?;
        let mut r = Reader(rest);
        let stamp = |r: &mut Reader| -> Option<DirStamp> {
            Some(DirStamp {
                mtime: r.i64()?,
                mtime_nsec: r.i64()?,
                check_time: r.i64()?,
            })
        };
        let new = stamp(&mut r)?;
        let cur = stamp(&mut r)?;
        let new_has_files = r.u8()? != 0;
        let new_known = r.u32()?;
        let uidlist = FileStamp {
            ino: r.u64()?,
            size: r.u64()?,
            mtime_nsecs: r.i64()?,
        };
        let last_tmp_scan = r.i64()?;
        let rebuilds = r.u32()?;
        let count = r.u32()? as usize;
        if count > MAX_DIRTY_RANGES {
            return None;
        }
        let mut dirty = UidSet::new();
        for _ in 0..count {
            let (a, b) = (r.u32()?, r.u32()?);
            if a == 0 || a > b {
                return None;
            }
            dirty.insert_range(a, b);
        }
        r.0.is_empty().then_some(SyncState {
            new,
            cur,
            new_has_files,
            new_known,
            uidlist,
            last_tmp_scan,
            rebuilds,
            dirty,
        })
    }

    /// The blob to store. A dirty set too large to keep is cut (the messages cut off get
    /// their flags from their file names again at the next full read: the flag change that
    /// could not be written is lost, which only happens after many failed renames).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(MAGIC);
        for s in [&self.new, &self.cur] {
            out.extend_from_slice(&s.mtime.to_le_bytes());
            out.extend_from_slice(&s.mtime_nsec.to_le_bytes());
            out.extend_from_slice(&s.check_time.to_le_bytes());
        }
        out.push(u8::from(self.new_has_files));
        out.extend_from_slice(&self.new_known.to_le_bytes());
        out.extend_from_slice(&self.uidlist.ino.to_le_bytes());
        out.extend_from_slice(&self.uidlist.size.to_le_bytes());
        out.extend_from_slice(&self.uidlist.mtime_nsecs.to_le_bytes());
        out.extend_from_slice(&self.last_tmp_scan.to_le_bytes());
        out.extend_from_slice(&self.rebuilds.to_le_bytes());
        let ranges = &self.dirty.ranges()[..self.dirty.ranges().len().min(MAX_DIRTY_RANGES)];
        out.extend_from_slice(&(ranges.len() as u32).to_le_bytes());
        for &(a, b) in ranges {
            out.extend_from_slice(&a.to_le_bytes());
            out.extend_from_slice(&b.to_le_bytes());
        }
        out
    }

    /// Whether more dirty UIDs can be remembered.
    pub fn dirty_has_room(&self, uid: u32) -> bool {
        let mut d = self.dirty.clone();
        d.insert(uid);
        d.ranges().len() <= MAX_DIRTY_RANGES
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_le_bytes)
    }
}

/// Which directories a sync must read, and why (for the slow-scan warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScanNeed {
    pub new: bool,
    pub cur: bool,
}

impl ScanNeed {
    pub fn any(self) -> bool {
        self.new || self.cur
    }

    pub const ALL: ScanNeed = ScanNeed {
        new: true,
        cur: true,
    };
}

/// The current (mtime, nsec) of `new/` and `cur/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirTimes {
    pub new: (i64, i64),
    pub cur: (i64, i64),
}

/// Dovecot's `maildir_sync_quick_check`: which directories to read given the recorded
/// state, their current times, the file server's `now`, and the settings. `undirty` forces
/// reading directories still inside their dirty window (a full sync).
pub fn quick_check(
    state: &SyncState,
    times: DirTimes,
    now: i64,
    undirty: bool,
    very_dirty_syncs: bool,
) -> ScanNeed {
    if state.new.is_unset() {
        return ScanNeed::ALL;
    }
    let mut need = ScanNeed {
        new: state.new.delayed_refresh(now, undirty),
        cur: !very_dirty_syncs && state.cur.delayed_refresh(now, undirty),
    };
    need.new |= state.new.changed(times.new.0, times.new.1);
    need.cur |= state.cur.changed(times.cur.0, times.cur.1);
    need
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stamp(mtime: i64, check: i64) -> DirStamp {
        DirStamp {
            mtime,
            mtime_nsec: 5,
            check_time: check,
        }
    }

    #[test]
    fn round_trip_and_garbage() {
        let mut s = SyncState {
            new: stamp(100, 200),
            cur: stamp(101, 201),
            new_has_files: true,
            new_known: 4,
            uidlist: FileStamp {
                ino: 9,
                size: 10,
                mtime_nsecs: -11,
            },
            last_tmp_scan: 7,
            rebuilds: 2,
            dirty: UidSet::new(),
        };
        s.dirty.insert_range(3, 9);
        s.dirty.insert(20);
        assert_eq!(SyncState::decode(&s.encode()), s);
        assert_eq!(SyncState::decode(b""), SyncState::default());
        assert_eq!(SyncState::decode(b"cMD1\x01"), SyncState::default());
        let mut long = s.encode();
        long.push(0);
        assert_eq!(SyncState::decode(&long), SyncState::default());
    }

    #[test]
    fn quick_check_rules() {
        let times = DirTimes {
            new: (100, 5),
            cur: (100, 5),
        };
        // Never synced: read both.
        assert_eq!(
            quick_check(&SyncState::default(), times, 1000, false, false),
            ScanNeed::ALL
        );
        // Read long after the last change, nothing changed since: nothing to do.
        let clean = SyncState {
            new: stamp(100, 500),
            cur: stamp(100, 500),
            ..SyncState::default()
        };
        assert!(!quick_check(&clean, times, 1000, false, false).any());
        // cur/ changed.
        let t2 = DirTimes {
            cur: (100, 6),
            ..times
        };
        assert_eq!(
            quick_check(&clean, t2, 1000, false, false),
            ScanNeed {
                new: false,
                cur: true
            }
        );
        // Read in the same second it changed: read again once that second has passed...
        let dirty = SyncState {
            new: stamp(100, 100),
            cur: stamp(100, 101),
            ..SyncState::default()
        };
        assert!(!quick_check(&dirty, times, 101, false, false).any());
        assert_eq!(quick_check(&dirty, times, 103, false, false), ScanNeed::ALL);
        // ...or at once for a full sync; never for cur/ with maildir_very_dirty_syncs.
        assert_eq!(quick_check(&dirty, times, 101, true, false), ScanNeed::ALL);
        assert_eq!(
            quick_check(&dirty, times, 103, false, true),
            ScanNeed {
                new: true,
                cur: false
            }
        );
    }

    proptest! {
        #[test]
        fn decode_never_panics(blob in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = SyncState::decode(&blob);
            let mut framed = MAGIC.to_vec();
            framed.extend_from_slice(&blob);
            let _ = SyncState::decode(&framed);
        }
    }
}
