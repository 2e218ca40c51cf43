//! What the storage layer takes from the configuration: the fs and index policies and the
//! Maildir and mbox settings, read once per user.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Settings;
use crate::fs::lock::mbox::MboxLockSettings;
use crate::fs::{sharedfs, CreatePerms, FsPolicy};
use crate::index::settings::IndexSettings;
use crate::storage::location::{IndexDir, MailLocation};
use crate::storage::maildir::filename::InfoSeparator;

/// The `maildir_*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildirSettings {
    /// `maildir_copy_with_hardlinks`: COPY links the file when permissions allow.
    pub copy_with_hardlinks: bool,
    /// `maildir_very_dirty_syncs`: assume only cote/Dovecot change `cur/`; rescan it only
    /// when its mtime changes or a file is not found.
    pub very_dirty_syncs: bool,
    /// `maildir_stat_dirs`: LIST stat()s entries whose type readdir does not tell.
    pub stat_dirs: bool,
    /// `maildir_empty_new`: always move `new/` to `cur/` when syncing.
    pub empty_new: bool,
    /// `maildir_broken_filename_sizes`: ignore `,S=` in file names.
    pub broken_filename_sizes: bool,
    /// `maildir_info_separator` (cote's own): `:` as in Dovecot, or another character for
    /// shares that refuse `:` in file names.
    pub info_separator: InfoSeparator,
}

impl Default for MaildirSettings {
    /// Dovecot's defaults.
    fn default() -> MaildirSettings {
        MaildirSettings {
            copy_with_hardlinks: true,
            very_dirty_syncs: false,
            stat_dirs: false,
            empty_new: false,
            broken_filename_sizes: false,
            info_separator: InfoSeparator::DOVECOT,
        }
    }
}

/// The `mbox_*` settings besides the locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxSettings {
    /// `mbox_dirty_syncs`: a file that only grew is read from its last known message on,
    /// except when a mailbox is opened.
    pub dirty_syncs: bool,
    /// `mbox_very_dirty_syncs`: the same when a mailbox is opened too.
    pub very_dirty_syncs: bool,
    /// `mbox_lazy_writes`: flag changes go into the index and reach the file with the next
    /// write of it, at the latest when the mailbox is closed.
    pub lazy_writes: bool,
    /// `mbox_min_index_size`: a file smaller than this many bytes has its index in memory
    /// (0: never).
    pub min_index_size: u64,
    /// `mbox_md5`: which header lines recognise a message without `X-UID:`.
    pub md5: crate::storage::mbox::format::md5::HeaderMd5,
    /// `pop3_uidl_format` has `%m`: each saved message gets an `X-Delivery-ID:` header so
    /// that equal messages get different UIDLs (Dovecot's "keep header MD5").
    pub delivery_ids: bool,
}

impl Default for MboxSettings {
    /// Dovecot's defaults.
    fn default() -> MboxSettings {
        MboxSettings {
            dirty_syncs: true,
            very_dirty_syncs: false,
            lazy_writes: true,
            min_index_size: 0,
            md5: Default::default(),
            delivery_ids: false,
        }
    }
}

/// The storage settings of one user's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSettings {
    pub fs: FsPolicy,
    /// Index tuning; `perms` is replaced per mailbox by the mailbox directory's.
    pub index: IndexSettings,
    pub maildir: MaildirSettings,
    /// `mbox_read_locks`, `mbox_write_locks` and their timeouts.
    pub mbox_locks: MboxLockSettings,
    pub mbox: MboxSettings,
    /// `mail_temp_scan_interval`: how often `tmp/` is searched for stale files (0: never).
    pub temp_scan_interval: Duration,
    /// `mail_temp_dir` (expanded): where `INDEX=MEMORY` indexes live while a mailbox is open.
    pub temp_dir: PathBuf,
}

impl StorageSettings {
    /// The settings of a loaded configuration (values already validated). `temp_dir` is
    /// `mail_temp_dir` after `%` expansion by the caller.
    pub fn from_settings(settings: &Settings<'_>, temp_dir: PathBuf) -> StorageSettings {
        StorageSettings {
            fs: FsPolicy::from_settings(settings),
            index: IndexSettings::from_settings(settings, CreatePerms::default()),
            maildir: MaildirSettings {
                copy_with_hardlinks: settings.bool("maildir_copy_with_hardlinks"),
                very_dirty_syncs: settings.bool("maildir_very_dirty_syncs"),
                stat_dirs: settings.bool("maildir_stat_dirs"),
                empty_new: settings.bool("maildir_empty_new"),
                broken_filename_sizes: settings.bool("maildir_broken_filename_sizes"),
                // Checked when the configuration was loaded.
                info_separator: InfoSeparator::parse(settings.str("maildir_info_separator"))
                    .unwrap_or_default(),
            },
            // A bad lock list is refused by `MailUser::new` before this is used.
            mbox_locks: MboxLockSettings::from_settings(settings)
                .unwrap_or_else(|_| MboxLockSettings::dovecot_defaults()),
            mbox: MboxSettings {
                dirty_syncs: settings.bool("mbox_dirty_syncs"),
                very_dirty_syncs: settings.bool("mbox_very_dirty_syncs"),
                lazy_writes: settings.bool("mbox_lazy_writes"),
                min_index_size: settings.size("mbox_min_index_size"),
                // (the configuration allows only the known values)
                md5: crate::storage::mbox::format::md5::HeaderMd5::parse(settings.str("mbox_md5"))
                    .unwrap_or_default(),
                // (only the short form counts, as Dovecot's storage checks it)
                delivery_ids: crate::config::var_expand::short_keys(
                    settings.str("pop3_uidl_format"),
                )
                .contains(&b'm'),
            },
            temp_scan_interval: settings.time("mail_temp_scan_interval"),
            temp_dir,
        }
    }

    /// Dovecot's defaults (for tests and tools).
    pub fn dovecot_defaults() -> StorageSettings {
        StorageSettings {
            fs: FsPolicy::dovecot_defaults(),
            index: IndexSettings::dovecot_defaults(CreatePerms::default()),
            maildir: MaildirSettings::default(),
            mbox_locks: MboxLockSettings::dovecot_defaults(),
            mbox: MboxSettings::default(),
            temp_scan_interval: Duration::from_secs(7 * 86400),
            temp_dir: PathBuf::from("/tmp"),
        }
    }

    /// These settings for the mail at `location`: where its root, INBOX, index or control
    /// directory is on a filesystem other hosts may share, the cross-host flushes apply
    /// whatever `mail_nfs_*` says (said once per process in the log).
    pub fn for_location(self: &Arc<Self>, location: &MailLocation) -> Arc<StorageSettings> {
        let set = &location.settings;
        let index = match &set.index_dir {
            Some(IndexDir::Dir(dir)) => Some(dir.as_path()),
            _ => None,
        };
        let dirs = [
            set.root_dir.as_deref(),
            set.inbox_path.as_deref(),
            index,
            set.control_dir.as_deref(),
        ];
        let Some((dir, fs_type)) = dirs
            .into_iter()
            .flatten()
            .find_map(|dir| sharedfs::shared_fs_type(dir).map(|t| (dir, t)))
        else {
            return self.clone();
        };
        let (fs, turned_on) = self.fs.for_shared_fs();
        if turned_on.is_empty() {
            return self.clone();
        }
        let said = format!("{} {fs_type}", dir.display());
        if sharedfs::first_time(&said) {
            log::info!(
                "{} is on {fs_type}, which other hosts may share: using {} there",
                dir.display(),
                turned_on.join(" ")
            );
        }
        Arc::new(StorageSettings::clone(self).with_fs(fs))
    }

    /// The same settings with another fs policy (the index's follows).
    pub fn with_fs(mut self, fs: FsPolicy) -> StorageSettings {
        self.index.fs = fs.clone();
        self.fs = fs;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn reads_the_maildir_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(
            &path,
            "maildir_copy_with_hardlinks = no\nmaildir_very_dirty_syncs = yes\n\
             maildir_empty_new = yes\nmail_temp_scan_interval = 1d\nmmap_disable = yes\n\
             maildir_info_separator = ;\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        let s = StorageSettings::from_settings(&config.global(), PathBuf::from("/var/tmp"));
        assert!(!s.maildir.copy_with_hardlinks);
        assert!(s.maildir.very_dirty_syncs && s.maildir.empty_new);
        assert!(!s.maildir.stat_dirs && !s.maildir.broken_filename_sizes);
        assert_eq!(s.maildir.info_separator.flags_prefix(), b";2,");
        assert_eq!(s.temp_scan_interval, Duration::from_secs(86400));
        assert!(s.fs.mmap_disable && s.index.fs.mmap_disable);
        let d = StorageSettings::dovecot_defaults();
        assert_eq!(d.maildir, MaildirSettings::default());
        assert_eq!(d.maildir.info_separator, InfoSeparator::DOVECOT);
    }
}
