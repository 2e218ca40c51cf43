//! Dovecot's `file` dict (`lib-dict/dict-file.c`), the store behind
//! `mail_attribute_dict = file:PATH[:lock=fcntl|lock=flock]`.
//!
//! The file is a list of pairs, each a key line and a value line ending in LF, with
//! Dovecot's tab escaping (`\x01` then `1`, `t`, `r`, `n` or `0` for `\x01`, TAB, CR, LF
//! and NUL). Readers take the whole file without a lock. A writer locks, reads the file
//! again, applies its changes, writes the new content into a temp file and renames it over
//! the file:
//!
//! - default (dotlock): `PATH.lock` is the lock and the temp file at once (2 min timeout,
//!   stale after 1 min), as Dovecot's `file_dotlock_open` + `file_dotlock_replace`;
//! - `lock=fcntl` / `lock=flock`: the file itself is locked (created when missing; if it
//!   was replaced while we waited, the new one is locked instead), the content goes to
//!   `PATH.tmp`, which is renamed over it.
//!
//! As in Dovecot, a key or value ends at its first NUL (they are C strings there), a
//! trailing line without LF is not read, and a key without a value line is dropped. Pairs
//! are written in key order (Dovecot writes its hash table's order: any order reads back).

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::fs::lock::deadline_after;
use crate::fs::{
    ops, AtomicFile, CreatePerms, DotLock, DotLockSettings, FileKind, FlockLock, FsError, FsFile,
    FsPolicy, FsResult, LockKind, RecordLock, TempName,
};

/// Keys and their values.
pub type DictMap = BTreeMap<Vec<u8>, Vec<u8>>;

/// `file_dict_dotlock_settings`: wait up to 2 minutes, override after 1 minute unchanged.
const LOCK_TIMEOUT: Duration = Duration::from_secs(120);
const LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(60);

/// The escape byte of Dovecot's tab escaping.
const ESC: u8 = 0x01;

/// The bytes up to the first NUL (a C string's content).
fn c_string(data: &[u8]) -> &[u8] {
    match data.iter().position(|&c| c == 0) {
        Some(end) => &data[..end],
        None => data,
    }
}

/// Dovecot's `str_tabunescape`, cut at the first NUL as a C string would be.
fn unescape(line: &[u8]) -> Vec<u8> {
    let line = c_string(line);
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        if line[i] != ESC {
            out.push(line[i]);
            i += 1;
            continue;
        }
        let Some(&code) = line.get(i + 1) else {
            // A lone escape byte at the end is dropped.
            break;
        };
        out.push(match code {
            b'0' => 0,
            b'1' => ESC,
            b't' => b'\t',
            b'r' => b'\r',
            b'n' => b'\n',
            other => other,
        });
        i += 2;
    }
    c_string(&out).to_vec()
}

/// Dovecot's `str_append_tabescaped`.
fn escape(out: &mut Vec<u8>, data: &[u8]) {
    for &c in data {
        match c {
            ESC => out.extend_from_slice(&[ESC, b'1']),
            b'\t' => out.extend_from_slice(&[ESC, b't']),
            b'\r' => out.extend_from_slice(&[ESC, b'r']),
            b'\n' => out.extend_from_slice(&[ESC, b'n']),
            c => out.push(c),
        }
    }
}

/// The pairs of a dict file's content (never fails: what cannot be read is left out, as
/// Dovecot's reader does).
pub fn parse(data: &[u8]) -> DictMap {
    let mut map = DictMap::new();
    // Only complete lines; a CR before the LF is not part of the line.
    let mut lines = data.split_inclusive(|&c| c == b'\n').filter_map(|line| {
        let line = line.strip_suffix(b"\n")?;
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    });
    while let (Some(key), Some(value)) = (lines.next(), lines.next()) {
        map.insert(unescape(key), unescape(value));
    }
    map
}

/// The file content for `map`. Keys and values must hold no NUL (Dovecot could not store
/// one); the caller refuses such values before.
pub fn to_bytes(map: &DictMap) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in map {
        escape(&mut out, key);
        out.push(b'\n');
        escape(&mut out, value);
        out.push(b'\n');
    }
    out
}

/// What tells one version of the file from another: every write is a new file (a new
/// inode), and size and times guard against an inode number used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DictStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl DictStamp {
    fn of(st: &std::fs::Metadata) -> DictStamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        DictStamp {
            dev: st.dev(),
            ino: st.ino(),
            size: st.size(),
            mtime_ns: ns(st.mtime(), st.mtime_nsec()),
            ctime_ns: ns(st.ctime(), st.ctime_nsec()),
        }
    }
}

/// How writers exclude each other (the URI's `lock=` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DictLock {
    Dotlock,
    Fcntl,
    Flock,
}

/// A `file:` dict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDict {
    pub path: PathBuf,
    pub lock: DictLock,
}

impl FileDict {
    /// `PATH` or `PATH:lock=fcntl|lock=flock` (the part after `file:`); a path starting
    /// with `~/` is under `home` (Dovecot's `home_expand_tilde`).
    pub fn from_uri(args: &str, home: Option<&str>) -> Result<FileDict, String> {
        let (path, lock) = match args.split_once(':') {
            None => (args, DictLock::Dotlock),
            Some((path, "lock=fcntl")) => (path, DictLock::Fcntl),
            Some((path, "lock=flock")) => (path, DictLock::Flock),
            Some((_, param)) => return Err(format!("Invalid parameter: {param}")),
        };
        let path = match (path.strip_prefix("~/"), home) {
            (Some(rest), Some(home)) => Path::new(home).join(rest),
            (Some(_), None) => {
                return Err(format!("Home directory not set for {path}"));
            }
            (None, _) => PathBuf::from(path),
        };
        if path.as_os_str().is_empty() {
            return Err("Empty dict path".to_string());
        }
        Ok(FileDict { path, lock })
    }

    /// The current content (empty when the file does not exist).
    pub fn read(&self, policy: &FsPolicy) -> FsResult<DictMap> {
        Ok(self.read_stamped(policy)?.1)
    }

    /// [`read`](Self::read), with the version read (`None`: no file).
    pub fn read_stamped(&self, policy: &FsPolicy) -> FsResult<(Option<DictStamp>, DictMap)> {
        policy.nfs(FileKind::Storage).flush_attr(&self.path);
        let file = match FsFile::open_read(&self.path) {
            Ok(file) => file,
            Err(e) if e.is_not_found() => return Ok((None, DictMap::new())),
            Err(e) => return Err(e),
        };
        let (data, meta) = file.read_all()?;
        Ok((Some(DictStamp::of(&meta)), parse(&data)))
    }

    /// The version of the file there now (`None`: no file): unchanged means the content
    /// read with that stamp is still current (the file is only ever replaced whole).
    pub fn stamp(&self, policy: &FsPolicy) -> FsResult<Option<DictStamp>> {
        policy.nfs(FileKind::Storage).flush_attr(&self.path);
        Ok(ops::stat_if_exists(&self.path)?.map(|st| DictStamp::of(&st)))
    }

    /// Changes the file under its lock: `change` gets the current content and says whether
    /// it changed anything (nothing is written otherwise). Returns `change`'s answer.
    pub fn update(
        &self,
        policy: &FsPolicy,
        change: impl FnOnce(&mut DictMap) -> bool,
    ) -> FsResult<bool> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if ops::stat_if_exists(dir)?.is_none() {
            // Dovecot's file_dict_mkdir: the parent's mode, 0700 at least.
            let perms = first_existing_parent(dir)?
                .as_deref()
                .map(CreatePerms::from_path)
                .transpose()?
                .flatten()
                .unwrap_or_default();
            ops::mkdir_parents(dir, &perms)?;
        }
        // New files get the directory's permissions, replacements keep the file's.
        let perms = match CreatePerms::from_path(&self.path)? {
            Some(perms) => perms,
            None => CreatePerms::from_path(dir)?.unwrap_or_default(),
        };
        match self.lock {
            DictLock::Dotlock => self.update_dotlocked(policy, &perms, change),
            DictLock::Fcntl | DictLock::Flock => self.update_locked(policy, &perms, change),
        }
    }

    fn update_dotlocked(
        &self,
        policy: &FsPolicy,
        perms: &CreatePerms,
        change: impl FnOnce(&mut DictMap) -> bool,
    ) -> FsResult<bool> {
        let set = DotLockSettings::new(policy, FileKind::Storage, LOCK_TIMEOUT, LOCK_STALE_TIMEOUT);
        let lock = DotLock::acquire_for_replace(&self.path, &set, perms)?;
        let mut map = match self.read(policy) {
            Ok(map) => map,
            Err(e) => {
                lock.release()?;
                return Err(e);
            }
        };
        if !change(&mut map) {
            lock.release()?;
            return Ok(false);
        }
        let Some(file) = lock.file() else {
            return Err(FsError::Invalid {
                path: lock.lock_path().to_path_buf(),
                reason: "dotlock was not acquired for replacing".into(),
            });
        };
        file.write_all_at(&to_bytes(&map), 0)?;
        lock.replace(policy, true)?;
        Ok(true)
    }

    fn update_locked(
        &self,
        policy: &FsPolicy,
        perms: &CreatePerms,
        change: impl FnOnce(&mut DictMap) -> bool,
    ) -> FsResult<bool> {
        let deadline = deadline_after(policy.lock_timeout(LOCK_TIMEOUT));
        // Lock the file; if it was replaced while we waited, lock the new one.
        let (file, lock) = loop {
            let file = FsFile::open_or_create(&self.path, perms)?;
            let lock = match self.lock {
                DictLock::Fcntl => {
                    HeldLock::Fcntl(RecordLock::wait(&file, LockKind::Exclusive, deadline)?)
                }
                _ => HeldLock::Flock(FlockLock::wait(&file, LockKind::Exclusive, deadline)?),
            };
            let ours = file.metadata()?;
            match ops::stat_if_exists(&self.path)? {
                Some(now) if now.ino() == ours.ino() && now.dev() == ours.dev() => {
                    break (file, lock)
                }
                _ => lock.unlock()?,
            }
        };
        let result = self.write_locked(policy, perms, change);
        // The lock was on the file replaced (or, when nothing changed, still there).
        let unlocked = lock.unlock();
        drop(file);
        let changed = result?;
        unlocked?;
        Ok(changed)
    }

    fn write_locked(
        &self,
        policy: &FsPolicy,
        perms: &CreatePerms,
        change: impl FnOnce(&mut DictMap) -> bool,
    ) -> FsResult<bool> {
        let mut map = self.read(policy)?;
        if !change(&mut map) {
            return Ok(false);
        }
        let Some(name) = self.path.file_name() else {
            return Err(FsError::Invalid {
                path: self.path.clone(),
                reason: "a dict file needs a file name".into(),
            });
        };
        let mut temp_name = name.to_os_string();
        temp_name.push(".tmp");
        let mut temp = AtomicFile::create(&self.path, TempName::Fixed(temp_name), perms, policy)?;
        temp.write_all(&to_bytes(&map))?;
        temp.commit()?;
        Ok(true)
    }
}

/// An fcntl or flock lock on the dict file.
enum HeldLock {
    Fcntl(RecordLock),
    Flock(FlockLock),
}

impl HeldLock {
    fn unlock(self) -> FsResult<()> {
        match self {
            HeldLock::Fcntl(lock) => lock.unlock(),
            HeldLock::Flock(lock) => lock.unlock(),
        }
    }
}

/// The closest existing ancestor of `dir` (for the permissions of directories created
/// below it).
fn first_existing_parent(dir: &Path) -> FsResult<Option<PathBuf>> {
    let mut at = dir.parent();
    while let Some(p) = at {
        if ops::stat_if_exists(p)?.is_some() {
            return Ok(Some(p.to_path_buf()));
        }
        at = p.parent();
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_what_dovecot_writes() {
        let data = b"priv/0479bd2f0c0c0c6bd9030000083ecc375/comment\ninbox comment\n\
                     shared/0479bd2f0c0c0c6bd9030000083ecc375/vendor/foo/bar\nx\x01ny\x01tz\n\
                     dangling key\n";
        let map = parse(data);
        assert_eq!(map.len(), 2);
        assert_eq!(
            map[&b"shared/0479bd2f0c0c0c6bd9030000083ecc375/vendor/foo/bar"[..]],
            b"x\ny\tz"
        );
        assert_eq!(
            map[&b"priv/0479bd2f0c0c0c6bd9030000083ecc375/comment"[..]],
            b"inbox comment"
        );
    }

    #[test]
    fn dovecot_edge_cases() {
        // CRLF line ends, a partial last line, NULs (raw or escaped) ending the string,
        // unknown escapes and a lone escape at the end.
        let map = parse(b"k1\r\nv\x01xw\x01\nk2\nab\x010cd\nk3\na\0b\npartial");
        assert_eq!(map[&b"k1"[..]], b"vxw");
        assert_eq!(map[&b"k2"[..]], b"ab");
        assert_eq!(map[&b"k3"[..]], b"a");
        assert_eq!(map.len(), 3);
        // A later pair replaces an earlier one.
        assert_eq!(parse(b"k\n1\nk\n2\n")[&b"k"[..]], b"2");
    }

    #[test]
    fn writes_escaped_pairs_in_key_order() {
        let mut map = DictMap::new();
        map.insert(b"b".to_vec(), b"tab\there\r\n\x01".to_vec());
        map.insert(b"a".to_vec(), Vec::new());
        assert_eq!(
            to_bytes(&map),
            b"a\n\nb\ntab\x01there\x01r\x01n\x011\n".to_vec()
        );
    }

    #[test]
    fn uri_forms() {
        let d = FileDict::from_uri("/h/dovecot-attributes", None).unwrap();
        assert_eq!(d.lock, DictLock::Dotlock);
        let d = FileDict::from_uri("~/attrs:lock=fcntl", Some("/home/a")).unwrap();
        assert_eq!(d.path, PathBuf::from("/home/a/attrs"));
        assert_eq!(d.lock, DictLock::Fcntl);
        assert_eq!(
            FileDict::from_uri("/x:lock=flock", None).unwrap().lock,
            DictLock::Flock
        );
        assert!(FileDict::from_uri("/x:nolock", None).is_err());
        assert!(FileDict::from_uri("~/x", None).is_err());
        assert!(FileDict::from_uri("", None).is_err());
    }

    #[test]
    fn update_under_each_lock() {
        let policy = FsPolicy::dovecot_defaults();
        for lock in [DictLock::Dotlock, DictLock::Fcntl, DictLock::Flock] {
            let dir = tempfile::tempdir().unwrap();
            let dict = FileDict {
                path: dir.path().join("sub/dovecot-attributes"),
                lock,
            };
            assert!(dict.read(&policy).unwrap().is_empty());
            let changed = dict
                .update(&policy, |m| {
                    m.insert(b"priv/g/a".to_vec(), b"1\n2".to_vec());
                    true
                })
                .unwrap();
            assert!(changed);
            assert!(!dict.update(&policy, |_| false).unwrap());
            dict.update(&policy, |m| {
                m.insert(b"shared/g/b".to_vec(), b"x".to_vec());
                true
            })
            .unwrap();
            let map = dict.read(&policy).unwrap();
            assert_eq!(map.len(), 2, "{lock:?}");
            assert_eq!(map[&b"priv/g/a"[..]], b"1\n2");
            let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(
                names,
                ["dovecot-attributes"],
                "{lock:?}: no lock or temp left"
            );
        }
    }

    /// Writers in several threads (each its own lock attempt, as separate processes would
    /// be) lose nothing: every key each one set is there at the end.
    #[test]
    fn concurrent_writers_lose_nothing() {
        for lock in [DictLock::Dotlock, DictLock::Fcntl, DictLock::Flock] {
            let dir = tempfile::tempdir().unwrap();
            let dict = FileDict {
                path: dir.path().join("dovecot-attributes"),
                lock,
            };
            std::thread::scope(|scope| {
                for t in 0..4 {
                    let dict = dict.clone();
                    scope.spawn(move || {
                        let policy = FsPolicy::dovecot_defaults();
                        for i in 0..10 {
                            dict.update(&policy, |m| {
                                m.insert(format!("priv/g/{t}/{i}").into_bytes(), b"v".to_vec());
                                true
                            })
                            .unwrap();
                        }
                    });
                }
            });
            let map = dict.read(&FsPolicy::dovecot_defaults()).unwrap();
            assert_eq!(map.len(), 40, "{lock:?}");
        }
    }

    proptest! {
        /// Whatever is written reads back the same (keys and values without NUL).
        #[test]
        fn roundtrip(pairs in proptest::collection::btree_map(
            proptest::collection::vec(1u8..=255, 0..20),
            proptest::collection::vec(1u8..=255, 0..40),
            0..8,
        )) {
            let map: DictMap = pairs;
            prop_assert_eq!(parse(&to_bytes(&map)), map);
        }

        /// Any bytes parse without a panic, and what is read writes back to itself.
        #[test]
        fn any_input(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let map = parse(&data);
            prop_assert_eq!(parse(&to_bytes(&map)), map);
        }
    }
}
