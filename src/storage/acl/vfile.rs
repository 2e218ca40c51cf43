//! The vfile backend's files on disk (Dovecot's `acl-backend-vfile*.c`, `acl-global-file.c`):
//! a mailbox's `dovecot-acl`, the global ACL directory (one file per mailbox name,
//! `.DEFAULT` in a directory) and the global ACL file (`<pattern> <id> <rights>` lines).
//! Reads go through `crate::fs`; a change is written like Dovecot writes it: under the
//! `dovecot-acl.lock` dotlock (timeout 30 s, stale after 120 s), the file rewritten into the
//! lock, fsynced, and renamed over `dovecot-acl`, so a Dovecot sharing the store reads the
//! same files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rights::{self, AclEntry, AclUpdate};
use crate::fs::{ops, CreatePerms, DotLock, DotLockSettings, FileKind, FsPolicy};
use crate::storage::error::{StorageError, StorageResult};

/// The per-mailbox file.
pub const ACL_FILENAME: &str = "dovecot-acl";

const LOCK_TIMEOUT: Duration = Duration::from_secs(30);
const LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(120);

/// The entries of a `dovecot-acl` text; a bad line fails with Dovecot's `ACL file <path>
/// line <n>: <error>`.
pub fn parse_file(path: &Path, text: &[u8], global: bool) -> StorageResult<Vec<AclEntry>> {
    let text = String::from_utf8_lossy(text);
    let mut entries = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut entry = rights::parse_line(line).map_err(|e| {
            StorageError::critical(
                None,
                format!("ACL file {} line {}: {e}", path.display(), i + 1),
            )
        })?;
        entry.global = global;
        entries.push(entry);
    }
    Ok(entries)
}

/// What reading an ACL file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEntries {
    Missing,
    /// The file exists but may not be read: Dovecot then takes every right away from
    /// `anyone` and the owner.
    NoAccess,
    Entries(Vec<AclEntry>),
}

impl FileEntries {
    /// The entries to apply (`acl_object_remove_all_access` for [`FileEntries::NoAccess`]).
    pub fn into_entries(self, global: bool) -> Vec<AclEntry> {
        match self {
            FileEntries::Missing => Vec::new(),
            FileEntries::Entries(v) => v,
            FileEntries::NoAccess => ["anyone", "owner"]
                .iter()
                .filter_map(|id| rights::Identifier::parse(id))
                .map(|id| AclEntry {
                    id,
                    rights: Some(rights::Names::new()),
                    neg_rights: None,
                    global,
                })
                .collect(),
        }
    }
}

/// Reads an ACL file; a directory stands for its `.DEFAULT` file (global directories).
pub fn read(path: &Path, global: bool) -> StorageResult<FileEntries> {
    let mut path = path.to_path_buf();
    if ops::stat_if_exists(&path)
        .ok()
        .flatten()
        .is_some_and(|st| st.is_dir())
    {
        path = path.join(".DEFAULT");
    }
    match ops::read_file(&path) {
        Ok(data) => Ok(FileEntries::Entries(parse_file(&path, &data, global)?)),
        Err(e) if e.is_not_found() => Ok(FileEntries::Missing),
        Err(e) if e.is_permission() => Ok(FileEntries::NoAccess),
        Err(e) => Err(StorageError::critical(None, e.to_string())),
    }
}

/// The global ACL file: patterns matched against full mailbox names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlobalFile {
    /// (pattern, entry), in file order.
    rules: Vec<(String, AclEntry)>,
}

impl GlobalFile {
    /// Reads the file (Dovecot's `acl_global_file_read`; errors say `Global ACL file <path>
    /// line <n>: <error>`). A missing file has no rules.
    pub fn read(path: &Path) -> StorageResult<GlobalFile> {
        let data = match ops::read_file_if_exists(path) {
            Ok(Some(d)) => d,
            Ok(None) => return Ok(GlobalFile::default()),
            Err(e) => {
                return Err(StorageError::critical(
                    None,
                    format!("Couldn't read global ACL file {}: {e}", path.display()),
                ))
            }
        };
        GlobalFile::parse(&data).map_err(|(line, e)| {
            StorageError::critical(
                None,
                format!("Global ACL file {} line {line}: {e}", path.display()),
            )
        })
    }

    /// Parses the file's content; an error names the line.
    pub fn parse(data: &[u8]) -> Result<GlobalFile, (usize, String)> {
        let text = String::from_utf8_lossy(data);
        let mut rules = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let rule = parse_global_line(line).map_err(|e| (i + 1, e))?;
            rules.push(rule);
        }
        Ok(GlobalFile { rules })
    }

    /// The entries whose pattern matches `vname`.
    pub fn entries(&self, vname: &str) -> Vec<AclEntry> {
        self.rules
            .iter()
            .filter(|(pattern, _)| rights::wildcard_match(vname, pattern))
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Whether any pattern matches `vname`.
    pub fn has_any(&self, vname: &str) -> bool {
        self.rules
            .iter()
            .any(|(pattern, _)| rights::wildcard_match(vname, pattern))
    }
}

fn parse_global_line(line: &str) -> Result<(String, AclEntry), String> {
    let (pattern, rest) = if let Some(quoted) = line.strip_prefix('"') {
        let mut pattern = String::new();
        let mut chars = quoted.char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                '\\' => match chars.next() {
                    Some((_, c)) => pattern.push(c),
                    None => break,
                },
                c => pattern.push(c),
            }
        }
        let end = end.ok_or("Missing '\"'")?;
        let rest = quoted[end..]
            .strip_prefix(' ')
            .ok_or("Expecting space after '\"'")?;
        (pattern, rest)
    } else {
        let (pattern, rest) = line.split_once(' ').ok_or("Missing ACL rights")?;
        if pattern.is_empty() {
            return Err("Empty ACL pattern".to_string());
        }
        (pattern.to_string(), rest)
    };
    let mut entry = rights::parse_line(rest)?;
    entry.global = true;
    Ok((pattern, entry))
}

/// Changes a mailbox's `dovecot-acl` at `path`: under its dotlock, reads it again, applies
/// `update`, and when that changed anything writes the file back (fsynced before the
/// rename, as Dovecot always does for ACL files). Returns whether it changed.
pub fn update(
    path: &Path,
    update: &AclUpdate,
    perms: &CreatePerms,
    policy: &FsPolicy,
) -> StorageResult<bool> {
    let set = DotLockSettings::new(policy, FileKind::Storage, LOCK_TIMEOUT, LOCK_STALE_TIMEOUT);
    let lock = DotLock::acquire_for_replace(path, &set, perms)
        .map_err(|e| StorageError::critical(None, format!("file_dotlock_open failed: {e}")))?;
    let mut entries = match read(path, false) {
        Ok(found) => found.into_entries(false),
        Err(e) => {
            let _ = lock.release();
            return Err(e);
        }
    };
    rights::sort_entries(&mut entries);
    if !rights::apply_update(&mut entries, update) {
        lock.release()?;
        return Ok(false);
    }
    write_locked(lock, path, &entries, policy)?;
    Ok(true)
}

/// Replaces the file's entries with `entries` (a new mailbox's, copied from its parent).
pub fn write_entries(
    path: &Path,
    entries: &[AclEntry],
    perms: &CreatePerms,
    policy: &FsPolicy,
) -> StorageResult<()> {
    let set = DotLockSettings::new(policy, FileKind::Storage, LOCK_TIMEOUT, LOCK_STALE_TIMEOUT);
    let lock = DotLock::acquire_for_replace(path, &set, perms)
        .map_err(|e| StorageError::critical(None, format!("file_dotlock_open failed: {e}")))?;
    write_locked(lock, path, entries, policy)
}

fn write_locked(
    lock: DotLock,
    path: &Path,
    entries: &[AclEntry],
    policy: &FsPolicy,
) -> StorageResult<()> {
    let Some(file) = lock.file() else {
        return Err(StorageError::critical(
            None,
            format!("dotlock for {} was not opened for writing", path.display()),
        ));
    };
    file.write_all_at(rights::write_file(entries).as_bytes(), 0)?;
    file.sync_all_now()?;
    lock.replace(policy, true)?;
    Ok(())
}

/// The `dovecot-acl` path in a mailbox directory.
pub fn local_path(dir: &Path) -> PathBuf {
    dir.join(ACL_FILENAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::acl::rights::{Identifier, ModifyMode, Names};

    #[test]
    fn update_writes_the_file_under_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = local_path(dir.path());
        let policy = FsPolicy::dovecot_defaults();
        let perms = CreatePerms::default();
        std::fs::write(&path, "# comment\nowner lrwstipekxa\n").unwrap();
        let up = AclUpdate {
            id: Identifier::parse("user=bob").unwrap(),
            rights: Some(Names::from(["lookup".to_string(), "read".to_string()])),
            neg_rights: None,
            mode: ModifyMode::Replace,
            neg_mode: ModifyMode::Remove,
        };
        assert!(update(&path, &up, &perms, &policy).unwrap());
        assert!(!update(&path, &up, &perms, &policy).unwrap());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "owner akxeilprwts\nuser=bob lr\n"
        );
        assert!(!dir.path().join("dovecot-acl.lock").exists());
        std::fs::write(&path, "owner lr\nbogus x\n").unwrap();
        let e = read(&path, false).unwrap_err();
        assert!(e
            .internal()
            .unwrap()
            .ends_with("dovecot-acl line 2: Unknown ID 'bogus'"));
    }

    #[test]
    fn global_file_and_directory() {
        let g = GlobalFile::parse(b"* anyone l\n\"Shared/a b\" user=bob lr\nPublic/* owner r\n")
            .unwrap();
        assert_eq!(g.entries("INBOX").len(), 1);
        assert_eq!(g.entries("Shared/a b").len(), 2);
        assert!(g.entries("Public/x").iter().all(|e| e.global));
        assert_eq!(
            GlobalFile::parse(b"x\n"),
            Err((1, "Missing ACL rights".into()))
        );
        assert_eq!(
            GlobalFile::parse(b"\"x anyone l\n"),
            Err((1, "Missing '\"'".into()))
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Public")).unwrap();
        std::fs::write(dir.path().join("Public/.DEFAULT"), "anyone lr\n").unwrap();
        std::fs::write(dir.path().join("INBOX"), "user=bob l\n").unwrap();
        let found = read(&dir.path().join("Public"), true).unwrap();
        assert!(matches!(found, FileEntries::Entries(v) if v.len() == 1 && v[0].global));
        assert_eq!(
            read(&dir.path().join("none"), true).unwrap(),
            FileEntries::Missing
        );
    }
}
