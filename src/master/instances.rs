//! `state_dir/instances`: the masters that ran on this host, one line each (`<last used>\t
//! <name>\t<base_dir>\t<config path>`, tab-escaped), as Dovecot's master-instance list. A
//! starting master records itself under its `instance_name`; `-i NAME` on `cote`, `coteconf`
//! and `coteadm` finds the configuration NAME last ran with (through `base_dir/dovecot.conf`);
//! `coteadm instance list|remove` show and edit the list. Changes are made under the file's
//! dotlock and put in place by renaming the lock over the file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::auth::fields::{split_tabescaped, tab_escape};
use crate::fs::{ops, CreatePerms, DotLock, DotLockSettings, FileKind, FsError, FsPolicy};

pub const FILE_NAME: &str = "instances";
/// Where `-i` looks before any configuration is read (Dovecot's compiled-in state dir).
pub const BUILTIN_STATE_DIR: &str = "/var/lib/dovecot";
/// Replaces [`BUILTIN_STATE_DIR`] for `-i` (for installs under another prefix, and tests).
pub const STATE_DIR_ENV: &str = "COTE_STATEDIR";

const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
const LOCK_STALE_TIMEOUT: Duration = Duration::from_secs(60);

/// One master that ran here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Unix time of its last start.
    pub last_used: i64,
    /// Its `instance_name` (empty when it was recorded without one).
    pub name: String,
    pub base_dir: String,
    /// The configuration it runs with: what `base_dir/dovecot.conf` points to, else what the
    /// list recorded.
    pub config_path: Option<String>,
}

#[derive(Debug)]
pub struct InstanceError {
    pub path: PathBuf,
    pub error: FsError,
}

impl fmt::Display for InstanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for InstanceError {}

/// The list file of one state directory.
#[derive(Debug, Clone)]
pub struct InstanceList {
    path: PathBuf,
}

impl InstanceList {
    pub fn in_state_dir(state_dir: &Path) -> InstanceList {
        InstanceList {
            path: state_dir.join(FILE_NAME),
        }
    }

    /// The list `-i` reads: in `$COTE_STATEDIR`, else the built-in state directory.
    pub fn builtin() -> InstanceList {
        let dir = std::env::var_os(STATE_DIR_ENV)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(BUILTIN_STATE_DIR));
        InstanceList::in_state_dir(&dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every recorded instance, in file order; broken lines are logged and skipped.
    pub fn read(&self) -> Result<Vec<Instance>, InstanceError> {
        let data = ops::read_file_if_exists(&self.path).map_err(|e| self.error(e))?;
        Ok(parse(&data.unwrap_or_default(), &self.path))
    }

    /// The configuration of the instance called `name`, read from its `base_dir/dovecot.conf`
    /// link (`None`: no such instance).
    pub fn config_of(&self, name: &str) -> Result<Option<PathBuf>, String> {
        let instances = self.read().map_err(|e| e.to_string())?;
        let Some(instance) = instances.iter().find(|i| i.name == name) else {
            return Ok(None);
        };
        let link = Path::new(&instance.base_dir).join("dovecot.conf");
        std::fs::read_link(&link).map(Some).map_err(|e| {
            format!(
                "readlink({}) failed: {}",
                link.display(),
                crate::errtext::os_error_text(&e)
            )
        })
    }

    /// Records a master starting with `base_dir` under `name`, as Dovecot's master does: a
    /// name another base_dir already has is left to it (the entry is only refreshed), so two
    /// instances never share a name.
    pub fn record_start(&self, base_dir: &str, name: &str, now: i64) -> Result<(), InstanceError> {
        self.change(|list| {
            let taken = !name.is_empty()
                && list
                    .iter()
                    .any(|i| i.name == name && i.base_dir != base_dir);
            let index = match list.iter().position(|i| i.base_dir == base_dir) {
                Some(index) => index,
                None => {
                    list.push(Instance {
                        last_used: now,
                        name: String::new(),
                        base_dir: base_dir.to_string(),
                        config_path: None,
                    });
                    list.len() - 1
                }
            };
            let instance = &mut list[index];
            if !taken && !name.is_empty() {
                instance.name = name.to_string();
            }
            instance.last_used = now;
            if let Some(config) = linked_config(base_dir) {
                instance.config_path = Some(config);
            }
            true
        })
        .map(|_| ())
    }

    /// Removes the instance called `name_or_base_dir` (or with that base_dir); false when
    /// there was none.
    pub fn remove(&self, name_or_base_dir: &str) -> Result<bool, InstanceError> {
        self.change(|list| {
            let base_dir = list
                .iter()
                .find(|i| i.name == name_or_base_dir)
                .map_or(name_or_base_dir.to_string(), |i| i.base_dir.clone());
            let before = list.len();
            list.retain(|i| i.base_dir != base_dir);
            list.len() != before
        })
    }

    /// Runs `edit` on the list under its lock; writes the result when `edit` says it changed.
    fn change(&self, edit: impl FnOnce(&mut Vec<Instance>) -> bool) -> Result<bool, InstanceError> {
        let policy = FsPolicy::dovecot_defaults();
        let set =
            DotLockSettings::new(&policy, FileKind::Storage, LOCK_TIMEOUT, LOCK_STALE_TIMEOUT);
        let perms = CreatePerms {
            file_mode: 0o644,
            dir_mode: 0o755,
            gid: None,
        };
        let lock = match DotLock::acquire_for_replace(&self.path, &set, &perms) {
            Err(e) if e.is_not_found() => {
                if let Some(dir) = self.path.parent() {
                    ops::mkdir_parents(dir, &perms).map_err(|e| self.error(e))?;
                }
                DotLock::acquire_for_replace(&self.path, &set, &perms)
            }
            other => other,
        }
        .map_err(|e| self.error(e))?;
        let mut list = match self.read() {
            Ok(list) => list,
            Err(e) => {
                let _ = lock.release();
                return Err(e);
            }
        };
        if !edit(&mut list) {
            lock.release().map_err(|e| self.error(e))?;
            return Ok(false);
        }
        let Some(file) = lock.file() else {
            return Err(self.error(FsError::LockLost {
                path: lock.lock_path().to_path_buf(),
                overridden: true,
            }));
        };
        file.write_all_at(format(&list).as_bytes(), 0)
            .map_err(|e| self.error(e))?;
        lock.replace(&policy, true).map_err(|e| self.error(e))?;
        Ok(true)
    }

    fn error(&self, error: FsError) -> InstanceError {
        InstanceError {
            path: self.path.clone(),
            error,
        }
    }
}

/// What `-i NAME` means on a command line: the configuration instance NAME runs with.
pub fn config_for_option(name: &str) -> Result<PathBuf, String> {
    InstanceList::builtin()
        .config_of(name)?
        .ok_or_else(|| format!("Unknown instance name: {name}"))
}

fn parse(data: &[u8], path: &Path) -> Vec<Instance> {
    let text = String::from_utf8_lossy(data);
    let mut list = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        match parse_line(line) {
            Some(mut instance) => {
                // The link is the truth: a restart with another -c moves it.
                if let Some(config) = linked_config(&instance.base_dir) {
                    instance.config_path = Some(config);
                }
                list.push(instance);
            }
            None => log::error!("Invalid line in {}: {line}", path.display()),
        }
    }
    list
}

/// Where `base_dir/dovecot.conf` (the master's link to its configuration) points.
fn linked_config(base_dir: &str) -> Option<String> {
    std::fs::read_link(Path::new(base_dir).join("dovecot.conf"))
        .ok()
        .map(|target| target.to_string_lossy().into_owned())
}

fn parse_line(line: &str) -> Option<Instance> {
    let fields = split_tabescaped(line);
    if fields.len() < 3 {
        return None;
    }
    Some(Instance {
        last_used: fields[0].parse().ok()?,
        name: fields[1].clone(),
        base_dir: fields[2].clone(),
        config_path: fields.get(3).filter(|p| !p.is_empty()).cloned(),
    })
}

fn format(list: &[Instance]) -> String {
    let mut out = String::new();
    for i in list {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            i.last_used,
            tab_escape(&i.name),
            tab_escape(&i.base_dir),
            tab_escape(i.config_path.as_deref().unwrap_or(""))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_is_recorded_and_its_config_found_by_name() {
        let state = tempfile::tempdir().unwrap();
        let base = tempfile::tempdir().unwrap();
        let base_dir = base.path().to_str().unwrap();
        std::os::unix::fs::symlink("/etc/x/dovecot.conf", base.path().join("dovecot.conf"))
            .unwrap();
        let list = InstanceList::in_state_dir(&state.path().join("sub"));
        list.record_start(base_dir, "one", 100).unwrap();
        let text = std::fs::read_to_string(list.path()).unwrap();
        assert_eq!(text, format!("100\tone\t{base_dir}\t/etc/x/dovecot.conf\n"));
        assert_eq!(
            list.config_of("one").unwrap(),
            Some(PathBuf::from("/etc/x/dovecot.conf"))
        );
        assert_eq!(list.config_of("two").unwrap(), None);
        // A restart under a new name renames; the time moves.
        list.record_start(base_dir, "two", 200).unwrap();
        let all = list.read().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].name.as_str(), all[0].last_used), ("two", 200));
    }

    #[test]
    fn a_name_in_use_elsewhere_is_not_taken() {
        let state = tempfile::tempdir().unwrap();
        let list = InstanceList::in_state_dir(state.path());
        list.record_start("/run/a", "mail", 1).unwrap();
        list.record_start("/run/b", "mail", 2).unwrap();
        let all = list.read().unwrap();
        let names: Vec<(&str, &str)> = all
            .iter()
            .map(|i| (i.base_dir.as_str(), i.name.as_str()))
            .collect();
        assert_eq!(names, [("/run/a", "mail"), ("/run/b", "")]);
        assert!(list.remove("mail").unwrap());
        assert!(list.remove("/run/b").unwrap());
        assert!(!list.remove("mail").unwrap());
        assert!(list.read().unwrap().is_empty());
    }

    #[test]
    fn broken_lines_are_skipped_and_escapes_kept() {
        let state = tempfile::tempdir().unwrap();
        let list = InstanceList::in_state_dir(state.path());
        std::fs::write(
            list.path(),
            "garbage\nx\tname\t/b\n5\ta\x01tb\t/run/c\x01n\t\n\n",
        )
        .unwrap();
        let all = list.read().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, "a\tb");
        assert_eq!(all[0].base_dir, "/run/c\n");
        assert_eq!(all[0].config_path, None);
        list.record_start("/run/c\n", "a\tb", 6).unwrap();
        assert_eq!(
            std::fs::read_to_string(list.path()).unwrap(),
            "6\ta\x01tb\t/run/c\x01n\t\n"
        );
    }
}
