//! Autodetection for a location without a driver (or `auto:`): Dovecot's storage classes
//! probe the disk in registration order. Nothing is created while probing.

use std::path::{Path, PathBuf};

use super::{LocationOwner, LocationSettings, MailFormat};

/// What autodetection needs to know about the disk. Implemented over `crate::fs`; tests use
/// their own.
pub trait LocationProbe {
    /// `stat()` succeeds and it is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// `stat()` succeeds, it is not a directory, and we may read and write it.
    fn is_rw_file(&self, path: &Path) -> bool;
    /// We may read, write and search it (`access(R_OK|W_OK|X_OK)`).
    fn is_rwx(&self, path: &Path) -> bool;
}

/// The probe over the real disk (through `crate::fs`). fs has no `access()` yet, so "may read
/// and write" is judged by existence and type alone; a directory we may not use is found
/// out at first use instead of being skipped by autodetection.
pub struct FsProbe;

impl LocationProbe for FsProbe {
    fn is_dir(&self, path: &Path) -> bool {
        matches!(crate::fs::ops::stat_if_exists(path), Ok(Some(st)) if st.is_dir())
    }

    fn is_rw_file(&self, path: &Path) -> bool {
        matches!(crate::fs::ops::stat_if_exists(path), Ok(Some(st)) if !st.is_dir())
    }

    fn is_rwx(&self, path: &Path) -> bool {
        self.is_dir(path)
    }
}

/// Dovecot's storage classes probed in registration order: dbox/sdbox, mdbox, maildir, mbox.
/// Nothing is created while probing.
pub(super) fn autodetect(
    set: &mut LocationSettings,
    owner: LocationOwner<'_>,
    probe: &dyn LocationProbe,
) -> Option<MailFormat> {
    let home_dir = |name: &str| {
        owner
            .home
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(format!("{h}/{name}")))
            .filter(|p| probe.is_rwx(p))
    };
    let given = set.root_dir.clone();
    let candidates: [(MailFormat, Option<PathBuf>, &str); 3] = [
        (
            MailFormat::Sdbox,
            given.clone().or_else(|| home_dir("sdbox")),
            "mailboxes",
        ),
        (
            MailFormat::Mdbox,
            given.clone().or_else(|| home_dir("mdbox")),
            "storage",
        ),
        (
            MailFormat::Maildir,
            given
                .clone()
                .or_else(|| match owner.home.filter(|h| !h.is_empty()) {
                    Some(_) => home_dir("Maildir"),
                    // Without a home, a chroot whose root is a Maildir.
                    None => probe.is_rwx(Path::new("/cur")).then(|| PathBuf::from("/")),
                }),
            "cur",
        ),
    ];
    for (format, root, marker) in candidates {
        if let Some(root) = root {
            if probe.is_dir(&root.join(marker)) {
                set.root_dir = Some(root);
                return Some(format);
            }
        }
    }
    // mbox: a root with .imap/, inbox or mbox (or the location is the INBOX file itself).
    let is_mbox_root = |dir: &Path| {
        (probe.is_dir(&dir.join(".imap")) && probe.is_rwx(&dir.join(".imap")))
            || probe.is_rw_file(&dir.join("inbox"))
            || probe.is_rw_file(&dir.join("mbox"))
    };
    let mut root = given;
    let mut inbox = set.inbox_path.clone();
    if let Some(r) = root.clone() {
        if inbox.is_none() && probe.is_rw_file(&r) {
            inbox = Some(r);
            root = None;
        } else if !is_mbox_root(&r) {
            return None;
        }
    }
    let root = match root {
        Some(r) => r,
        None => {
            let home = owner.home.unwrap_or("");
            [format!("{home}/mail"), format!("{home}/Mail")]
                .into_iter()
                .map(PathBuf::from)
                .find(|d| is_mbox_root(d))?
        }
    };
    if inbox.is_none() {
        inbox = ["/var/mail/", "/var/spool/mail/"]
            .iter()
            .map(|d| PathBuf::from(format!("{d}{}", owner.username)))
            .find(|p| probe.is_rw_file(p));
    }
    set.root_dir = Some(root);
    set.inbox_path = inbox;
    Some(MailFormat::Mbox)
}
