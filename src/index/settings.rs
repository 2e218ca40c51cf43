//! What the index layer takes from the configuration, and the names of its files.

use std::time::Duration;

use crate::config::Settings;
use crate::fs::{CreatePerms, FsPolicy};

/// `cote.index`: the snapshot.
pub const SNAPSHOT_NAME: &str = "cote.index";
/// `cote.index.log`: the transaction log.
pub const LOG_NAME: &str = "cote.index.log";
/// `cote.index.log.2`: the previous log, kept after a rotation.
pub const LOG2_NAME: &str = "cote.index.log.2";
/// `cote.index.cache`: cached message fields.
pub const CACHE_NAME: &str = "cote.index.cache";
/// `cote.index.modseq`: present once a client used modseqs on the mailbox (CONDSTORE or
/// QRESYNC); from then on every SELECT reports HIGHESTMODSEQ, as Dovecot's index does once
/// its modseq extension is added. An empty marker, so that indexes written before it and
/// cote versions that do not know it read each other's files unchanged.
pub const MODSEQ_TRACKING_NAME: &str = "cote.index.modseq";
/// `cote.index.lock`: the file the log lock is taken on with `lock_method = fcntl` or
/// `flock`. It is never renamed nor replaced, so replacing the log (rotation, rebuild) never
/// renames over a file we hold locked. (With `dotlock` the lock is `cote.index.log.lock`.)
pub const LOCK_NAME: &str = "cote.index.lock";

/// How long a writer waits for the log lock (Dovecot's 180 s), before `mail_max_lock_timeout`.
pub const LOG_LOCK_TIMEOUT: Duration = Duration::from_secs(180);
/// When a log dotlock nobody touches is taken over.
pub const LOG_LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a cache writer waits for the cache lock (Dovecot's 10 s).
pub const CACHE_LOCK_TIMEOUT: Duration = Duration::from_secs(10);
/// When a cache dotlock nobody touches is taken over.
pub const CACHE_LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(300);

/// Test hooks (never set by the configuration): the crash tests use them to stop a writer
/// at a chosen point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[doc(hidden)]
pub struct TestHooks {
    /// Write each transaction in two halves with this pause between them.
    pub pause_mid_write: Option<Duration>,
}

/// The index settings of one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSettings {
    pub fs: FsPolicy,
    /// Mode and group of new index files and directories.
    pub perms: CreatePerms,
    pub log_rotate_min_size: u64,
    pub log_rotate_max_size: u64,
    pub log_rotate_min_age: Duration,
    pub log2_max_age: Duration,
    pub rewrite_min_log_bytes: u64,
    pub rewrite_max_log_bytes: u64,
    pub cache_max_size: u64,
    pub cache_record_max_size: u64,
    #[doc(hidden)]
    pub hooks: TestHooks,
}

impl IndexSettings {
    /// The settings of `settings` (a loaded configuration's, so values are valid).
    pub fn from_settings(settings: &Settings<'_>, perms: CreatePerms) -> IndexSettings {
        IndexSettings {
            fs: FsPolicy::from_settings(settings),
            perms,
            log_rotate_min_size: settings.size("mail_index_log_rotate_min_size"),
            log_rotate_max_size: settings.size("mail_index_log_rotate_max_size"),
            log_rotate_min_age: settings.time("mail_index_log_rotate_min_age"),
            log2_max_age: settings.time("mail_index_log2_max_age"),
            rewrite_min_log_bytes: settings.size("mail_index_rewrite_min_log_bytes"),
            rewrite_max_log_bytes: settings.size("mail_index_rewrite_max_log_bytes"),
            cache_max_size: settings.size("mail_cache_max_size"),
            cache_record_max_size: settings.size("mail_cache_record_max_size"),
            hooks: TestHooks::default(),
        }
    }

    /// Dovecot 2.3's defaults.
    pub fn dovecot_defaults(perms: CreatePerms) -> IndexSettings {
        IndexSettings {
            fs: FsPolicy::dovecot_defaults(),
            perms,
            log_rotate_min_size: 32 * 1024,
            log_rotate_max_size: 1024 * 1024,
            log_rotate_min_age: Duration::from_secs(5 * 60),
            log2_max_age: Duration::from_secs(2 * 86400),
            rewrite_min_log_bytes: 8 * 1024,
            rewrite_max_log_bytes: 128 * 1024,
            cache_max_size: 1024 * 1024 * 1024,
            cache_record_max_size: 64 * 1024,
            hooks: TestHooks::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn config_values_reach_the_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(
            &path,
            "mail_index_log_rotate_max_size = 2M\nmail_index_rewrite_max_log_bytes = 64k\nmmap_disable = yes\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        let s = IndexSettings::from_settings(&config.global(), CreatePerms::default());
        assert_eq!(s.log_rotate_max_size, 2 * 1024 * 1024);
        assert_eq!(s.rewrite_max_log_bytes, 64 * 1024);
        assert!(s.fs.mmap_disable);
        let d = IndexSettings::dovecot_defaults(CreatePerms::default());
        assert_eq!(s.log_rotate_min_size, d.log_rotate_min_size);
        assert_eq!(s.log2_max_age, d.log2_max_age);
        assert_eq!(s.cache_record_max_size, d.cache_record_max_size);
    }
}
