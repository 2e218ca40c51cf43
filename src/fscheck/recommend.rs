//! From probe results to settings: `mmap_disable`, `lock_method`, `dotlock_use_excl`,
//! `mail_fsync`, `mail_nfs_storage`, `mail_nfs_index` and the Maildir info separator, each
//! with a one-line reason, plus notes on what else the administrator should know.
//!
//! Without DIR2 nothing about a second host was measured: on a network or cluster file
//! system the advice is then the cautious one, and says so.

use std::time::Duration;

use crate::fs::probe::{
    Contention, DirInfo, LockResults, ProbeResults, RecordLockMethod, RecordLockProbe, Seen,
};

/// One recommended setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// The setting's name (`mmap_disable`), or `maildir info separator`.
    pub setting: &'static str,
    pub value: String,
    pub reason: String,
}

/// The advice for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub settings: Vec<Recommendation>,
    pub notes: Vec<String>,
}

impl Advice {
    /// The recommended value of `setting`.
    pub fn value(&self, setting: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|r| r.setting == setting)
            .map(|r| r.value.as_str())
    }
}

/// The name of the info-separator recommendation.
pub const SEPARATOR: &str = "maildir_info_separator";

/// File-system types whose clients may cache (or that other hosts share).
const SHARED_TYPES: &[&str] = &[
    "nfs",
    "nfs4",
    "fuse",
    "cifs",
    "smb",
    "smb3",
    "smbfs",
    "ceph",
    "gfs2",
    "ocfs2",
    "9p",
    "afs",
    "lustre",
    "glusterfs",
    "beegfs",
    "gpfs",
];

/// Whether `fs_type` (`fuse.glusterfs`, `nfs4`) is one other hosts can share.
pub fn is_shared_type(fs_type: &str) -> bool {
    let base = fs_type.split('.').next().unwrap_or(fs_type);
    SHARED_TYPES.contains(&base) || SHARED_TYPES.contains(&fs_type)
}

/// How the cross-host questions can be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// DIR2 is a distinct mount: a second client was measured.
    SecondClient,
    /// No second client measured, and the file system is local.
    Local,
    /// No second client measured, and the file system can be shared: assume the worst.
    Unmeasured,
}

fn reach(dirs: &DirInfo) -> Reach {
    if dirs.dir2.is_some() && !dirs.same_device {
        Reach::SecondClient
    } else if is_shared_type(&dirs.fs_type) {
        Reach::Unmeasured
    } else {
        Reach::Local
    }
}

/// `1.2 s` / `35 ms` / `at once`.
pub fn describe_seen(seen: &Seen) -> String {
    match seen {
        Seen::After(d) if d.is_zero() => "at once".into(),
        Seen::After(d) => format_duration(*d),
        Seen::NotWithin(d) => format!("not within {}", format_duration(*d)),
        Seen::Failed(e) => format!("failed: {e}"),
    }
}

pub fn format_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    }
}

/// The observations (name, result) that did not show the change at once.
fn stale<'a>(items: impl IntoIterator<Item = (&'static str, &'a Seen)>) -> Vec<String> {
    items
        .into_iter()
        .filter(|(_, s)| !s.is_immediate())
        .map(|(name, s)| format!("{} {}", name.replace('_', " "), describe_seen(s)))
        .collect()
}

fn rec(setting: &'static str, value: &str, reason: impl Into<String>) -> Recommendation {
    Recommendation {
        setting,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// The staleness a second server would see: (for storage files, for index files).
fn cross_host_staleness(r: &ProbeResults) -> (Vec<String>, Vec<String>) {
    let (mut storage, mut index) = match &r.staleness {
        Ok(s) => (
            stale([
                ("size", &s.size),
                ("mtime", &s.mtime),
                ("new name", &s.new_name),
                ("readdir", &s.readdir),
                ("unlink", &s.unlink),
                ("rename", &s.rename),
                ("reopen read", &s.reopen_read),
            ]),
            stale([
                ("size", &s.size),
                ("mtime", &s.mtime),
                ("reopen read", &s.reopen_read),
                ("open-fd read", &s.open_fd_read),
            ]),
        ),
        Err(e) => (
            vec![format!("staleness not measured ({e})")],
            vec![format!("staleness not measured ({e})")],
        ),
    };
    if let Ok(m) = &r.mmap {
        if let Some(seen) = &m.sees_other_mount_write {
            if !seen.is_immediate() {
                index.push(format!("mapping {}", describe_seen(seen)));
            }
        }
    }
    storage.dedup();
    (storage, index)
}

fn find(locks: &LockResults, method: RecordLockMethod) -> Option<&RecordLockProbe> {
    locks.methods.iter().find(|p| p.method == method)
}

fn across(reach: Reach) -> &'static str {
    match reach {
        Reach::SecondClient => "across processes and across the two mounts",
        _ => "across processes",
    }
}

fn lock_method(r: &ProbeResults, reach: Reach) -> Recommendation {
    let dotlock_ok = r.dotlocks.as_ref().is_ok_and(|d| {
        d.excl.as_ref().is_ok_and(|x| x.clean()) || d.link.as_ref().is_ok_and(|x| x.clean())
    });
    let Ok(locks) = &r.locks else {
        return match dotlock_ok {
            true => rec("lock_method", "dotlock", "fcntl and flock could not be tested; dotlocks excluded"),
            false => rec("lock_method", "dotlock", "no lock method could be shown to exclude here: let one server at a time use a mailbox (director)"),
        };
    };
    // cote takes OFD locks where the kernel has them, classic ones otherwise.
    let fcntl = if locks.ofd_supported {
        RecordLockMethod::FcntlOfd
    } else {
        RecordLockMethod::FcntlClassic
    };
    if find(locks, fcntl).is_some_and(RecordLockProbe::excludes) {
        return rec(
            "lock_method",
            "fcntl",
            format!("fcntl locks exclude {}", across(reach)),
        );
    }
    if find(locks, RecordLockMethod::Flock).is_some_and(RecordLockProbe::excludes) {
        return rec(
            "lock_method",
            "flock",
            format!(
                "fcntl locks do not exclude here; flock locks do, {}",
                across(reach)
            ),
        );
    }
    if dotlock_ok {
        return rec(
            "lock_method",
            "dotlock",
            "neither fcntl nor flock locks exclude here; dotlocks do",
        );
    }
    rec(
        "lock_method",
        "dotlock",
        "no lock method excludes here: let one server at a time use a mailbox (director)",
    )
}

fn dotlock_use_excl(r: &ProbeResults) -> Recommendation {
    let Ok(d) = &r.dotlocks else {
        return rec(
            "dotlock_use_excl",
            "yes",
            "dotlocks could not be tested (Dovecot's default kept)",
        );
    };
    let summary = |race: &Result<crate::fs::probe::DotlockRace, String>| match race {
        Ok(x) if x.clean() => format!("one winner in all {} rounds", x.rounds),
        Ok(x) => format!(
            "{} of {} rounds had two winners, {} none, {} errors",
            x.both_won, x.rounds, x.none_won, x.errors
        ),
        Err(e) => format!("not tested ({e})"),
    };
    let excl_ok = d.excl.as_ref().is_ok_and(|x| x.clean());
    let link_ok = d.link.as_ref().is_ok_and(|x| x.clean());
    match (excl_ok, link_ok) {
        (true, _) => rec(
            "dotlock_use_excl",
            "yes",
            format!("O_EXCL creation excludes: {}", summary(&d.excl)),
        ),
        (false, true) => rec(
            "dotlock_use_excl",
            "no",
            format!(
                "O_EXCL is unreliable ({}); link() + link count excludes",
                summary(&d.excl)
            ),
        ),
        (false, false) => rec(
            "dotlock_use_excl",
            "yes",
            format!(
                "neither variant excludes (O_EXCL: {}; link: {}): dotlocks are unsafe here",
                summary(&d.excl),
                summary(&d.link)
            ),
        ),
    }
}

/// Works out the recommended settings and notes.
pub fn advise(r: &ProbeResults) -> Advice {
    let reach = reach(&r.dirs);
    let (stale_storage, stale_index) = match reach {
        Reach::SecondClient => cross_host_staleness(r),
        Reach::Local => (Vec::new(), Vec::new()),
        Reach::Unmeasured => (
            vec![format!(
                "{} is shared by nature and no second mount was measured",
                r.dirs.fs_type
            )],
            vec![format!(
                "{} is shared by nature and no second mount was measured",
                r.dirs.fs_type
            )],
        ),
    };
    let nfs_index = !stale_index.is_empty();
    let nfs_storage = !stale_storage.is_empty();
    let mut settings = Vec::new();

    let mmap_problem = match &r.mmap {
        Err(e) => Some(format!("mmap could not be tested ({e})")),
        Ok(m) => match &m.shared_map {
            Err(e) => Some(format!("shared mappings fail here ({e})")),
            Ok(()) => {
                if m.sees_same_mount_write
                    .as_ref()
                    .is_some_and(|s| !s.is_immediate())
                {
                    Some("a mapping does not see writes made through the same mount".into())
                } else if let Some(seen) = m
                    .sees_other_mount_write
                    .as_ref()
                    .filter(|s| !s.is_immediate())
                {
                    Some(match seen {
                        Seen::After(d) => format!(
                            "a mapping through DIR2 saw a write through DIR only after {}",
                            format_duration(*d)
                        ),
                        other => format!(
                            "a mapping through DIR2 did not see a write through DIR ({})",
                            describe_seen(other)
                        ),
                    })
                } else if reach == Reach::Unmeasured {
                    Some("mappings through a second mount were not measured".into())
                } else {
                    None
                }
            }
        },
    };
    settings.push(match (&mmap_problem, nfs_index) {
        (Some(why), _) => rec("mmap_disable", "yes", why.clone()),
        (None, true) => rec("mmap_disable", "yes", "mail_nfs_index = yes requires it"),
        (None, false) => rec(
            "mmap_disable",
            "no",
            match reach {
                Reach::SecondClient => "mappings see writes through both mounts at once",
                _ => "mappings see writes at once",
            },
        ),
    });
    settings.push(lock_method(r, reach));
    settings.push(dotlock_use_excl(r));
    let fsync_cost = match &r.timing {
        Ok(t) => t
            .fsync
            .median()
            .map(|m| format!(" (fsync median {})", format_duration(m)))
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    settings.push(match nfs_index {
        true => rec(
            "mail_fsync",
            "always",
            format!("mail_nfs_index = yes requires it{fsync_cost}"),
        ),
        false => rec(
            "mail_fsync",
            "optimized",
            format!(
                "new mail and rewritten files are synced; other hosts need no more{fsync_cost}"
            ),
        ),
    });
    settings.push(match nfs_storage {
        true => rec(
            "mail_nfs_storage",
            "yes",
            format!(
                "mail files look stale to another host: {}",
                stale_storage.join(", ")
            ),
        ),
        false => rec("mail_nfs_storage", "no", no_staleness_reason(reach)),
    });
    settings.push(match nfs_index {
        true => rec(
            "mail_nfs_index",
            "yes",
            format!(
                "index files look stale to another host: {}",
                stale_index.join(", ")
            ),
        ),
        false => rec("mail_nfs_index", "no", no_staleness_reason(reach)),
    });
    settings.push(match &r.names {
        Ok(n) => match &n.colon {
            Ok(()) => rec(SEPARATOR, ":", "':' is allowed in file names (Maildir's default)"),
            Err(e) => match n.alternatives.iter().find(|(_, ok)| *ok) {
                Some((sep, _)) => rec(
                    SEPARATOR,
                    &sep.to_string(),
                    format!("':' is refused in file names ({e}); '{sep}' works"),
                ),
                None => rec(
                    SEPARATOR,
                    ":",
                    format!("':' is refused ({e}) and no replacement worked: Maildir can't be used here"),
                ),
            },
        },
        Err(e) => rec(SEPARATOR, ":", format!("names could not be tested ({e})")),
    });
    Advice {
        settings,
        notes: notes(r, reach),
    }
}

fn no_staleness_reason(reach: Reach) -> &'static str {
    match reach {
        Reach::SecondClient => "the second mount saw every change at once",
        _ => "a local file system: no other host caches it",
    }
}

fn notes(r: &ProbeResults, reach: Reach) -> Vec<String> {
    let mut notes = Vec::new();
    match (&r.dirs.dir2, reach) {
        (None, Reach::Unmeasured) => notes.push(format!(
            "DIR is on {}, which other hosts can share: give a second mount as DIR2 to measure what another server sees",
            r.dirs.fs_type
        )),
        (None, _) => notes.push("No DIR2 given: only one client's view was measured".into()),
        (Some(_), Reach::SecondClient) => {}
        (Some(_), _) => notes.push(
            "DIR2 is on the same device as DIR (a bind mount or the same mount): one client cache, so the cross-mount results say nothing about a second host".into(),
        ),
    }
    if let Ok(locks) = &r.locks {
        let both = locks.classic_blocks_ofd == Contention::Blocked
            && locks.ofd_blocks_classic == Contention::Blocked;
        if !both && locks.ofd_supported {
            notes.push(
                "Dovecot's classic fcntl locks and cote's OFD locks do not exclude each other here: a cluster mixing Dovecot and cote must not use lock_method = fcntl".into(),
            );
        }
        if !locks.freed_when_holder_killed.was_seen() {
            notes.push(format!(
                "the fcntl lock of a killed process was not freed ({})",
                describe_seen(&locks.freed_when_holder_killed)
            ));
        }
    }
    if let Ok(x) = &r.replace {
        let plain = x.plain_estale + x.plain_enoent + x.plain_other_errors;
        if plain > 0 {
            notes.push(format!(
                "{plain} of {} reads of a file replaced through the other mount failed ({} ESTALE, {} ENOENT): cote retries these, tools that don't will see errors",
                x.plain_reads, x.plain_estale, x.plain_enoent
            ));
        }
        if x.cote_failures > 0 || x.mixed > 0 {
            notes.push(format!(
                "even with ESTALE retries {} of {} reads of a replaced file failed and {} gave partial content{}: don't let two servers share a mailbox here",
                x.cote_failures,
                x.cote_reads,
                x.mixed,
                x.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default()
            ));
        }
    }
    if let Ok(a) = &r.append {
        if a.torn > 0 || a.size != a.expected_size {
            notes.push(format!(
                "{} of {} concurrent O_APPEND lines were torn (size {} of {}): cote never appends that way, but tools that do (mbox delivery) are unsafe on this store",
                a.torn,
                2 * a.lines_per_writer,
                a.size,
                a.expected_size
            ));
        }
    }
    if let Ok(t) = &r.timing {
        if t.clock_skew_ms.abs() > 1000 {
            notes.push(format!(
                "the file server's clock is {:.1} s {} this host's: fix the time sync (lock ages are judged by the server's clock)",
                t.clock_skew_ms.abs() as f64 / 1000.0,
                if t.clock_skew_ms > 0 { "ahead of" } else { "behind" }
            ));
        }
    }
    if let Ok(s) = &r.staleness {
        if reach == Reach::SecondClient && !s.rename.was_seen() {
            notes.push(format!(
                "a rename through DIR was not visible through DIR2 ({}): another server misses moved messages that long (GlusterFS's md-cache can hide renames for minutes with stat-prefetch on); keep each user on one server (director), or turn that caching off",
                describe_seen(&s.rename)
            ));
        }
    }
    for (group, error) in [
        ("locks", r.locks.as_ref().err()),
        ("dotlocks", r.dotlocks.as_ref().err()),
        ("mmap", r.mmap.as_ref().err()),
        ("staleness", r.staleness.as_ref().err()),
        ("replace", r.replace.as_ref().err()),
        ("append", r.append.as_ref().err()),
        ("names", r.names.as_ref().err()),
        ("timing", r.timing.as_ref().err()),
    ] {
        if let Some(e) = error {
            notes.push(format!("the {group} probe failed: {e}"));
        }
    }
    notes
}

#[cfg(test)]
pub(super) mod tests;
