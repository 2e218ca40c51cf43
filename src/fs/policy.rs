//! How this installation wants shared files treated: fsync, NFS cache flushes, lock method,
//! dotlock creation, lock-wait cap and mmap, read once from the configuration.

use std::time::Duration;

use crate::config::Settings;

use super::nfs::NfsCache;

/// `mail_fsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncMode {
    /// Sync where data would otherwise be lost: new mail files, the uidlist, rewritten
    /// snapshots, subscriptions.
    #[default]
    Optimized,
    /// Additionally sync every transaction-log append and cache write.
    Always,
    /// Never sync.
    Never,
}

/// `lock_method`: how index files (and generic lock files) are locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockMethod {
    /// POSIX record locks: open-file-description locks where the kernel has them.
    #[default]
    Fcntl,
    /// BSD `flock()`.
    Flock,
    /// `<file>.lock` dotlocks.
    Dotlock,
}

/// Which `mail_nfs_*` flag governs a file: mail storage (message files, uidlist, keywords,
/// subscriptions and their dotlocks) or index files (`cote.index*` and their locks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Storage,
    Index,
}

/// Why a file is being synced, which decides whether `mail_fsync` syncs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPoint {
    /// Losing this write would lose data (a new mail file, the uidlist, a rewritten
    /// snapshot): synced unless `mail_fsync = never`.
    Durable,
    /// A transaction-log append or cache write: synced only with `mail_fsync = always`.
    Transaction,
}

/// The fs settings of one configuration. Build it with [`FsPolicy::from_settings`]; the
/// fields are public so tests and tools can build any combination.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsPolicy {
    pub fsync: FsyncMode,
    pub nfs_storage: bool,
    pub nfs_index: bool,
    pub lock_method: LockMethod,
    pub dotlock_use_excl: bool,
    /// `mail_max_lock_timeout`; `None` for 0 (each lock's own timeout applies).
    pub max_lock_timeout: Option<Duration>,
    pub mmap_disable: bool,
}

impl FsPolicy {
    /// The policy of `settings`. Dovecot's cross-setting errors (`mail_nfs_index=yes requires
    /// mmap_disable=yes`, `mail_nfs_index=yes requires mail_fsync=always`) are raised by
    /// [`Config::load`](crate::config::Config::load) (config/check/storage.rs), so any
    /// `Settings` of a loaded configuration is consistent; the enum values were validated
    /// there too, and an unexpected word falls back to Dovecot's default.
    pub fn from_settings(settings: &Settings<'_>) -> FsPolicy {
        let fsync = match settings.str("mail_fsync") {
            "always" => FsyncMode::Always,
            "never" => FsyncMode::Never,
            _ => FsyncMode::Optimized,
        };
        let lock_method = match settings.str("lock_method") {
            "flock" => LockMethod::Flock,
            "dotlock" => LockMethod::Dotlock,
            _ => LockMethod::Fcntl,
        };
        let cap = settings.time("mail_max_lock_timeout");
        FsPolicy {
            fsync,
            nfs_storage: settings.bool("mail_nfs_storage"),
            nfs_index: settings.bool("mail_nfs_index"),
            lock_method,
            dotlock_use_excl: settings.bool("dotlock_use_excl"),
            max_lock_timeout: (!cap.is_zero()).then_some(cap),
            mmap_disable: settings.bool("mmap_disable"),
        }
    }

    /// Dovecot's defaults (`dotlock_use_excl = yes`, everything else off / fcntl /
    /// optimized).
    pub fn dovecot_defaults() -> FsPolicy {
        FsPolicy {
            dotlock_use_excl: true,
            ..FsPolicy::default()
        }
    }

    /// This policy for files on a filesystem that other hosts may share: the cross-host
    /// flushes of `mail_nfs_storage` and `mail_nfs_index`, and what `mail_nfs_index`
    /// requires (`mmap_disable`; `mail_fsync = always` unless it was set to `never`). Also
    /// returns the settings it turned on, empty when the configuration had them all.
    pub fn for_shared_fs(&self) -> (FsPolicy, Vec<&'static str>) {
        let mut shared = self.clone();
        let mut turned_on = Vec::new();
        let mut set = |flag: &mut bool, name: &'static str| {
            if !*flag {
                *flag = true;
                turned_on.push(name);
            }
        };
        set(&mut shared.nfs_storage, "mail_nfs_storage=yes");
        set(&mut shared.nfs_index, "mail_nfs_index=yes");
        set(&mut shared.mmap_disable, "mmap_disable=yes");
        if shared.fsync == FsyncMode::Optimized {
            shared.fsync = FsyncMode::Always;
            turned_on.push("mail_fsync=always");
        }
        (shared, turned_on)
    }

    /// Whether NFS cache flushes apply to files of `kind`.
    pub fn nfs_flush(&self, kind: FileKind) -> bool {
        match kind {
            FileKind::Storage => self.nfs_storage,
            FileKind::Index => self.nfs_index,
        }
    }

    /// The cache flusher for files of `kind` (a no-op unless its `mail_nfs_*` flag is set).
    pub fn nfs(&self, kind: FileKind) -> NfsCache {
        NfsCache::new(self.nfs_flush(kind))
    }

    /// Whether a sync at `point` happens under this policy.
    pub fn should_sync(&self, point: SyncPoint) -> bool {
        match (self.fsync, point) {
            (FsyncMode::Never, _) => false,
            (FsyncMode::Always, _) => true,
            (FsyncMode::Optimized, SyncPoint::Durable) => true,
            (FsyncMode::Optimized, SyncPoint::Transaction) => false,
        }
    }

    /// A lock's own timeout capped by `mail_max_lock_timeout`.
    pub fn lock_timeout(&self, own: Duration) -> Duration {
        match self.max_lock_timeout {
            Some(cap) => own.min(cap),
            None => own,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn policy_of(conf: &str) -> FsPolicy {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, conf).unwrap();
        let config = Config::load(&path).unwrap();
        FsPolicy::from_settings(&config.global())
    }

    #[test]
    fn defaults_are_dovecots() {
        assert_eq!(policy_of(""), FsPolicy::dovecot_defaults());
    }

    #[test]
    fn reads_every_setting() {
        let p = policy_of(
            "mail_fsync = always\nmail_nfs_storage = yes\nmail_nfs_index = yes\n\
             mmap_disable = yes\nlock_method = dotlock\ndotlock_use_excl = no\n\
             mail_max_lock_timeout = 30s\n",
        );
        assert_eq!(
            p,
            FsPolicy {
                fsync: FsyncMode::Always,
                nfs_storage: true,
                nfs_index: true,
                lock_method: LockMethod::Dotlock,
                dotlock_use_excl: false,
                max_lock_timeout: Some(Duration::from_secs(30)),
                mmap_disable: true,
            }
        );
        assert_eq!(
            p.lock_timeout(Duration::from_secs(180)),
            Duration::from_secs(30)
        );
        assert_eq!(
            p.lock_timeout(Duration::from_secs(10)),
            Duration::from_secs(10)
        );
        assert!(p.nfs_flush(FileKind::Index) && p.nfs_flush(FileKind::Storage));
    }

    #[test]
    fn shared_filesystems_get_the_cross_host_flushes() {
        let (shared, on) = FsPolicy::dovecot_defaults().for_shared_fs();
        assert!(shared.nfs_storage && shared.nfs_index && shared.mmap_disable);
        assert_eq!(shared.fsync, FsyncMode::Always);
        assert_eq!(on.len(), 4, "{on:?}");
        let never = FsPolicy {
            fsync: FsyncMode::Never,
            nfs_storage: true,
            ..FsPolicy::dovecot_defaults()
        };
        let (shared, on) = never.for_shared_fs();
        assert_eq!(shared.fsync, FsyncMode::Never);
        assert_eq!(on, ["mail_nfs_index=yes", "mmap_disable=yes"]);
        let (again, on) = shared.for_shared_fs();
        assert_eq!((again, on.len()), (shared, 0));
    }

    #[test]
    fn config_refuses_nfs_index_without_its_requirements() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, "mail_nfs_index = yes\nmail_fsync = always\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("mail_nfs_index=yes requires mmap_disable=yes"),
            "{err}"
        );
        std::fs::write(&path, "mail_nfs_index = yes\nmmap_disable = yes\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("mail_nfs_index=yes requires mail_fsync=always"),
            "{err}"
        );
    }

    #[test]
    fn sync_points() {
        let mut p = FsPolicy::dovecot_defaults();
        assert!(p.should_sync(SyncPoint::Durable));
        assert!(!p.should_sync(SyncPoint::Transaction));
        p.fsync = FsyncMode::Always;
        assert!(p.should_sync(SyncPoint::Transaction));
        p.fsync = FsyncMode::Never;
        assert!(!p.should_sync(SyncPoint::Durable));
    }
}
