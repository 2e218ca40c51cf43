//! Maildir folders on disk: creating a mailbox (`cur/ new/ tmp/`, `maildirfolder` in
//! Maildir++ folders, permissions from the mail root) and telling folder directories from
//! other entries in a Maildir++ root.

use std::path::Path;

use super::MaildirError;
use crate::fs::{ops, CreatePerms};
use crate::storage::location::{Layout, MailLocation};

/// The empty file that marks a Maildir++ folder (not with `LAYOUT=fs`).
pub const MAILDIRFOLDER: &str = "maildirfolder";
/// The directory Dovecot moves Maildir++ folders into while deleting them.
pub const TRASH_DIR: &str = "..DOVECOT-TRASH";

/// The storage name a Maildir++ root entry stands for (`.Folder.Sub` → `Folder.Sub`), or
/// `None` for entries that are not folders (`cur`, `.`, `..`, Dovecot's trash directory).
pub fn maildir_plus_plus_folder(entry: &[u8]) -> Option<&[u8]> {
    let name = entry.strip_prefix(b".")?;
    if name.is_empty() || name == b"." || entry == TRASH_DIR.as_bytes() {
        return None;
    }
    Some(name)
}

/// The permissions new entries under the mail root get (Dovecot's root permissions);
/// defaults (0600/0700) when the root does not exist yet.
pub fn root_perms(location: &MailLocation) -> Result<CreatePerms, MaildirError> {
    match location.root_dir() {
        Some(root) => Ok(CreatePerms::from_path(root)?.unwrap_or_default()),
        None => Ok(CreatePerms::default()),
    }
}

/// Whether `dir` holds a Maildir (`cur/`).
pub fn is_maildir(dir: &Path) -> Result<bool, MaildirError> {
    Ok(ops::stat_if_exists(&dir.join("cur"))?.is_some_and(|st| st.is_dir()))
}

/// Creates the mailbox with this storage name: its directory with `cur/ new/ tmp/`, and
/// `maildirfolder` for a Maildir++ folder. Modes and group come from the nearest existing
/// parent mailbox or the root. Returns false when it already existed.
pub fn create_mailbox(location: &MailLocation, storage_name: &str) -> Result<bool, MaildirError> {
    let paths = location.mailbox_paths(storage_name);
    let dir = &paths.mailbox;
    if is_maildir(dir)? {
        return Ok(false);
    }
    let perms = parent_perms(location, dir)?;
    ops::mkdir_parents(dir, &perms)?;
    // cur/ last: it is what says "a Maildir is here" (`is_maildir`), so a process that sees
    // it while another is still creating the mailbox finds new/ and tmp/ too.
    for sub in ["tmp", "new", "cur"] {
        match ops::mkdir(&dir.join(sub), &perms) {
            Err(e) if e.is_exists() => {}
            other => other?,
        }
    }
    let inbox = storage_name == "INBOX";
    if location.layout == Layout::MaildirPlusPlus && !inbox {
        ops::touch(&dir.join(MAILDIRFOLDER), &perms)?;
    }
    Ok(true)
}

/// Permissions from the closest existing directory above `dir` up to the root.
fn parent_perms(location: &MailLocation, dir: &Path) -> Result<CreatePerms, MaildirError> {
    let root = location.root_dir();
    let mut cur = dir.parent();
    while let Some(p) = cur {
        if let Some(perms) = CreatePerms::from_path(p)? {
            return Ok(perms);
        }
        if Some(p) == root {
            break;
        }
        cur = p.parent();
    }
    root_perms(location)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::location::tests::FakeDisk;
    use crate::storage::location::{resolve, LocationOwner};
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folder_entries() {
        assert_eq!(maildir_plus_plus_folder(b".Sent"), Some(&b"Sent"[..]));
        assert_eq!(maildir_plus_plus_folder(b".a.b"), Some(&b"a.b"[..]));
        for not in [
            &b"."[..],
            b"..",
            b"cur",
            b"..DOVECOT-TRASH",
            b"dovecot-uidlist",
        ] {
            assert_eq!(maildir_plus_plus_folder(not), None);
        }
    }

    #[test]
    fn creating_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Maildir");
        std::fs::create_dir(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o750)).unwrap();
        let owner = LocationOwner {
            home: None,
            username: "u",
            has_inbox: true,
        };
        let loc = resolve(
            &format!("maildir:{}", root.display()),
            owner,
            &FakeDisk::default(),
        )
        .unwrap();
        assert!(create_mailbox(&loc, "INBOX").unwrap());
        assert!(create_mailbox(&loc, "a.b").unwrap());
        assert!(!create_mailbox(&loc, "a.b").unwrap());
        assert!(root.join("cur").is_dir() && !root.join(MAILDIRFOLDER).exists());
        let folder = root.join(".a.b");
        for sub in ["cur", "new", "tmp", MAILDIRFOLDER] {
            assert!(folder.join(sub).exists(), "{sub}");
        }
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o750);
        let file_mode = std::fs::metadata(folder.join(MAILDIRFOLDER))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(file_mode, 0o640);
        let fs_loc = resolve(
            &format!("maildir:{}/fs:LAYOUT=fs", dir.path().display()),
            owner,
            &FakeDisk::default(),
        )
        .unwrap();
        assert!(create_mailbox(&fs_loc, "x/y").unwrap());
        assert!(dir.path().join("fs/x/y/cur").is_dir());
        assert!(!dir.path().join("fs/x/y").join(MAILDIRFOLDER).exists());
    }
}
