//! Probe results of the file systems described in shared/reference/sharedfs.md → settings.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::fs::probe::{
    AppendResult, DotlockRace, DotlockResults, Latency, MmapResults, NameResults, ReplaceResult,
    StalenessResults, TimingResults,
};

const WAIT: Duration = Duration::from_secs(8);

fn at_once() -> Seen {
    Seen::After(Duration::ZERO)
}

fn never() -> Seen {
    Seen::NotWithin(WAIT)
}

fn after_ms(ms: u64) -> Seen {
    Seen::After(Duration::from_millis(ms))
}

fn excluding(method: RecordLockMethod, dir2: bool) -> RecordLockProbe {
    RecordLockProbe {
        method,
        holder_error: None,
        same_mount: Contention::Blocked,
        other_mount: dir2.then_some(Contention::Blocked),
        after_release: after_ms(1),
    }
}

fn clean_race(rounds: u32) -> DotlockRace {
    DotlockRace {
        rounds,
        a_wins: rounds / 2,
        b_wins: rounds - rounds / 2,
        ..DotlockRace::default()
    }
}

fn staleness_all(seen: Seen) -> StalenessResults {
    StalenessResults {
        size: seen.clone(),
        mtime: seen.clone(),
        new_name: seen.clone(),
        readdir: seen.clone(),
        unlink: seen.clone(),
        rename: seen.clone(),
        reopen_read: seen.clone(),
        open_fd_read: seen,
    }
}

/// A local disk probed alone: everything works at once.
pub(in crate::fscheck) fn local() -> ProbeResults {
    ProbeResults {
        dirs: DirInfo {
            dir: PathBuf::from("/srv/mail"),
            dir2: None,
            fs_type: "ext4".into(),
            fs_type2: None,
            same_device: false,
        },
        wait: WAIT,
        locks: Ok(LockResults {
            ofd_supported: true,
            methods: RecordLockMethod::ALL
                .iter()
                .map(|&m| excluding(m, false))
                .collect(),
            classic_blocks_ofd: Contention::Blocked,
            ofd_blocks_classic: Contention::Blocked,
            freed_when_holder_killed: at_once(),
        }),
        dotlocks: Ok(DotlockResults {
            excl: Ok(clean_race(100)),
            link: Ok(clean_race(100)),
        }),
        mmap: Ok(MmapResults {
            shared_map: Ok(()),
            sees_same_mount_write: Some(at_once()),
            sees_other_mount_write: None,
        }),
        staleness: Ok(staleness_all(at_once())),
        replace: Ok(ReplaceResult {
            replacements: 100,
            plain_reads: 400,
            cote_reads: 400,
            ..ReplaceResult::default()
        }),
        append: Ok(AppendResult {
            lines_per_writer: 1000,
            intact: 2000,
            torn: 0,
            expected_size: 120_000,
            size: 120_000,
        }),
        names: Ok(NameResults {
            colon: Ok(()),
            alternatives: vec![],
        }),
        timing: Ok(TimingResults {
            clock_skew_ms: 0,
            fsync: Latency {
                samples: vec![Duration::from_millis(2)],
            },
            rename: Latency::default(),
        }),
        elapsed: Duration::from_secs(2),
    }
}

/// Two mounts of one GlusterFS volume.
fn gluster() -> ProbeResults {
    let mut r = local();
    r.dirs.dir = PathBuf::from("/mnt/g1");
    r.dirs.dir2 = Some(PathBuf::from("/mnt/g2"));
    r.dirs.fs_type = "fuse.glusterfs".into();
    r.dirs.fs_type2 = Some("fuse.glusterfs".into());
    if let Ok(locks) = &mut r.locks {
        locks.methods = RecordLockMethod::ALL
            .iter()
            .map(|&m| excluding(m, true))
            .collect();
    }
    r
}

fn values(advice: &Advice) -> Vec<(&'static str, &str)> {
    advice
        .settings
        .iter()
        .map(|r| (r.setting, r.value.as_str()))
        .collect()
}

#[test]
fn local_disk_keeps_dovecot_defaults() {
    let advice = advise(&local());
    assert_eq!(
        values(&advice),
        vec![
            ("mmap_disable", "no"),
            ("lock_method", "fcntl"),
            ("dotlock_use_excl", "yes"),
            ("mail_fsync", "optimized"),
            ("mail_nfs_storage", "no"),
            ("mail_nfs_index", "no"),
            (SEPARATOR, ":"),
        ]
    );
    assert!(advice.settings.iter().all(|r| !r.reason.is_empty()));
    assert_eq!(
        advice.notes,
        vec!["No DIR2 given: only one client's view was measured"]
    );
}

#[test]
fn coherent_gluster_needs_only_mmap_disabled() {
    let mut r = gluster();
    r.mmap = Ok(MmapResults {
        shared_map: Err("mmap(/mnt/g1/x) failed: No such device".into()),
        sees_same_mount_write: None,
        sees_other_mount_write: None,
    });
    let advice = advise(&r);
    assert_eq!(advice.value("mmap_disable"), Some("yes"));
    assert!(advice.settings[0].reason.contains("No such device"));
    assert_eq!(advice.value("lock_method"), Some("fcntl"));
    assert!(advice.settings[1].reason.contains("two mounts"));
    assert_eq!(advice.value("mail_nfs_storage"), Some("no"));
    assert_eq!(advice.value("mail_nfs_index"), Some("no"));
    assert_eq!(advice.value("mail_fsync"), Some("optimized"));
    assert!(advice.notes.is_empty(), "{:?}", advice.notes);
}

#[test]
fn close_to_open_gluster_needs_index_flushes() {
    let mut r = gluster();
    r.mmap = Ok(MmapResults {
        shared_map: Ok(()),
        sees_same_mount_write: Some(at_once()),
        sees_other_mount_write: Some(never()),
    });
    let mut s = staleness_all(at_once());
    s.open_fd_read = never();
    r.staleness = Ok(s);
    r.append = Ok(AppendResult {
        lines_per_writer: 1000,
        intact: 1950,
        torn: 50,
        expected_size: 120_000,
        size: 120_000,
    });
    let advice = advise(&r);
    assert_eq!(advice.value("mmap_disable"), Some("yes"));
    assert_eq!(advice.value("mail_nfs_index"), Some("yes"));
    assert_eq!(advice.value("mail_fsync"), Some("always"));
    assert_eq!(advice.value("mail_nfs_storage"), Some("no"));
    let index = &advice.settings[5].reason;
    assert!(index.contains("open-fd read not within 8.0 s"), "{index}");
    assert!(advice.notes.iter().any(|n| n.contains("50 of 2000")));
}

#[test]
fn attribute_caching_gluster_needs_storage_flushes_and_warns_about_renames() {
    let mut r = gluster();
    let mut s = staleness_all(after_ms(5000));
    s.rename = never();
    s.reopen_read = after_ms(800);
    r.staleness = Ok(s);
    let advice = advise(&r);
    assert_eq!(advice.value("mail_nfs_storage"), Some("yes"));
    assert_eq!(advice.value("mail_nfs_index"), Some("yes"));
    assert_eq!(advice.value("mmap_disable"), Some("yes"));
    assert!(advice.settings[4].reason.contains("unlink 5.0 s"));
    assert!(advice
        .notes
        .iter()
        .any(|n| n.contains("rename through DIR was not visible through DIR2 (not within 8.0 s)")));
}

#[test]
fn per_mount_locks_fall_back_to_dotlocks_or_to_nothing() {
    // sshfs: locks are local to each mount.
    let mut r = gluster();
    if let Ok(locks) = &mut r.locks {
        for m in &mut locks.methods {
            m.other_mount = Some(Contention::Acquired);
        }
    }
    let advice = advise(&r);
    assert_eq!(advice.value("lock_method"), Some("dotlock"));
    assert!(advice.settings[1].reason.contains("dotlocks do"));
    // ... and its dotlocks fail too: O_EXCL losers get EPERM, link counts stay 1.
    r.dotlocks = Ok(DotlockResults {
        excl: Ok(DotlockRace {
            errors: 100,
            first_error: Some("Operation not permitted".into()),
            ..clean_race(100)
        }),
        link: Ok(DotlockRace {
            rounds: 100,
            none_won: 100,
            ..DotlockRace::default()
        }),
    });
    let advice = advise(&r);
    assert!(advice.settings[1]
        .reason
        .contains("no lock method excludes"));
    assert!(advice.settings[2].reason.contains("dotlocks are unsafe"));
}

#[test]
fn unreliable_o_excl_recommends_link_dotlocks() {
    let mut r = gluster();
    r.dotlocks = Ok(DotlockResults {
        excl: Ok(DotlockRace {
            both_won: 3,
            ..clean_race(100)
        }),
        link: Ok(clean_race(100)),
    });
    let advice = advise(&r);
    assert_eq!(advice.value("dotlock_use_excl"), Some("no"));
    assert!(advice.settings[2]
        .reason
        .contains("3 of 100 rounds had two winners"));
}

#[test]
fn only_flock_excluding_recommends_flock() {
    let mut r = gluster();
    if let Ok(locks) = &mut r.locks {
        for m in &mut locks.methods {
            if m.method != RecordLockMethod::Flock {
                m.other_mount = Some(Contention::Acquired);
            }
        }
    }
    assert_eq!(advise(&r).value("lock_method"), Some("flock"));
}

#[test]
fn cifs_without_colon_gets_another_separator() {
    let mut r = local();
    r.names = Ok(NameResults {
        colon: Err("open(/x/probe:2,S) failed: Invalid argument".into()),
        alternatives: vec![(';', true), ('!', true), ('+', true)],
    });
    let advice = advise(&r);
    assert_eq!(advice.value(SEPARATOR), Some(";"));
    r.names = Ok(NameResults {
        colon: Err("refused".into()),
        alternatives: vec![(';', false), ('!', false), ('+', false)],
    });
    assert!(advise(&r).settings[6]
        .reason
        .contains("Maildir can't be used"));
}

#[test]
fn unmeasured_network_fs_gets_the_cautious_settings() {
    let mut r = local();
    r.dirs.fs_type = "nfs4".into();
    let advice = advise(&r);
    assert_eq!(advice.value("mmap_disable"), Some("yes"));
    assert_eq!(advice.value("mail_nfs_storage"), Some("yes"));
    assert_eq!(advice.value("mail_nfs_index"), Some("yes"));
    assert_eq!(advice.value("mail_fsync"), Some("always"));
    assert!(advice.notes[0].contains("give a second mount"));
}

#[test]
fn bind_mount_counts_as_one_client() {
    let mut r = local();
    r.dirs.dir2 = Some(PathBuf::from("/srv/mail2"));
    r.dirs.same_device = true;
    let advice = advise(&r);
    assert_eq!(advice.value("mail_nfs_storage"), Some("no"));
    assert!(advice.notes[0].contains("same device"));
}

#[test]
fn failed_groups_and_skew_and_mixed_locks_are_noted() {
    let mut r = gluster();
    r.mmap = Err("worker exited".into());
    if let Ok(t) = &mut r.timing {
        t.clock_skew_ms = -3200;
    }
    if let Ok(l) = &mut r.locks {
        l.classic_blocks_ofd = Contention::Acquired;
    }
    let advice = advise(&r);
    assert_eq!(advice.value("mmap_disable"), Some("yes"));
    let notes = advice.notes.join("\n");
    assert!(notes.contains("3.2 s behind"), "{notes}");
    assert!(notes.contains("mixing Dovecot and cote"), "{notes}");
    assert!(
        notes.contains("the mmap probe failed: worker exited"),
        "{notes}"
    );
}

#[test]
fn shared_types_are_recognised() {
    for t in [
        "nfs",
        "nfs4",
        "fuse.glusterfs",
        "cifs",
        "fuse.sshfs",
        "gfs2",
        "ocfs2",
    ] {
        assert!(is_shared_type(t), "{t}");
    }
    for t in ["ext4", "xfs", "btrfs", "tmpfs", "overlay"] {
        assert!(!is_shared_type(t), "{t}");
    }
}

#[test]
fn estale_for_readers_of_replaced_files_is_noted() {
    let mut r = gluster();
    r.replace = Ok(ReplaceResult {
        replacements: 100,
        plain_reads: 400,
        plain_estale: 31,
        cote_reads: 400,
        ..ReplaceResult::default()
    });
    let notes = advise(&r).notes.join("\n");
    assert!(
        notes.contains("31 of 400 reads of a file replaced through the other mount failed (31 ESTALE, 0 ENOENT)"),
        "{notes}"
    );
    assert!(!notes.contains("even with ESTALE retries"), "{notes}");
    if let Ok(x) = &mut r.replace {
        x.cote_failures = 2;
        x.first_error = Some("open(/x) failed: Stale file handle".into());
    }
    let notes = advise(&r).notes.join("\n");
    assert!(
        notes.contains("even with ESTALE retries 2 of 400"),
        "{notes}"
    );
    assert!(
        notes.contains("(first: open(/x) failed: Stale file handle)"),
        "{notes}"
    );
}
