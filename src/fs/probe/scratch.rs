//! The private subdirectory a run works in: created through DIR, found again through DIR2 by
//! a marker file (which is how DIR2 is proven to be the same file system), removed at the
//! end whatever happened.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{ProbeError, Seen};
use crate::fs::{ops, random, CreatePerms, FsError, FsFile};

const MARKER: &str = "marker";

/// The run's directory through DIR (`a`) and through DIR2 (`b`; the same as `a` without
/// DIR2). Dropping it removes the tree.
#[derive(Debug)]
pub struct Scratch {
    pub a: PathBuf,
    pub b: PathBuf,
    pub has_dir2: bool,
    removed: bool,
}

/// `path` must be an existing directory.
fn check_dir(path: &Path) -> Result<std::fs::Metadata, ProbeError> {
    match ops::stat(path) {
        Ok(meta) if meta.is_dir() => Ok(meta),
        Ok(_) => Err(ProbeError::NotADirectory(path.to_path_buf())),
        Err(e) if e.is_not_found() => Err(ProbeError::NotFound(path.to_path_buf())),
        Err(e) => Err(ProbeError::Fs(e)),
    }
}

impl Scratch {
    /// Creates `DIR/cote-fs-check.<host>.<pid>.<random>` with a marker holding a random
    /// token, and with `dir2` waits up to `wait` for the same token to be readable there.
    /// Returns whether DIR2 is on the same device as DIR.
    pub fn create(
        dir: &Path,
        dir2: Option<&Path>,
        wait: Duration,
    ) -> Result<(Scratch, bool), ProbeError> {
        let meta = check_dir(dir)?;
        let meta2 = dir2.map(check_dir).transpose()?;
        let host = crate::fs::hostname()
            .map_err(ProbeError::Fs)?
            .replace(['/', ':'], "_");
        let name = format!(
            "cote-fs-check.{host}.{}.{}",
            std::process::id(),
            random::hex(8)
        );
        let a = dir.join(&name);
        ops::mkdir(&a, &CreatePerms::default()).map_err(|e| {
            if e.is_permission() || e.errno() == Some(libc::EROFS) {
                ProbeError::NotWritable {
                    path: dir.to_path_buf(),
                    source: e,
                }
            } else {
                ProbeError::Fs(e)
            }
        })?;
        let mut scratch = Scratch {
            b: dir2.map_or_else(|| a.clone(), |d| d.join(&name)),
            a,
            has_dir2: dir2.is_some(),
            removed: false,
        };
        let token = random::hex(16);
        let marker = FsFile::create_excl(&scratch.a.join(MARKER), &CreatePerms::default())
            .map_err(
                |e| match e.is_permission() || e.errno() == Some(libc::EROFS) {
                    true => ProbeError::NotWritable {
                        path: dir.to_path_buf(),
                        source: e,
                    },
                    false => ProbeError::Fs(e),
                },
            )?;
        marker.write_all_at(token.as_bytes(), 0)?;
        marker.sync_all_now()?;
        drop(marker);
        let same_device = meta2.as_ref().is_some_and(|m2| m2.dev() == meta.dev());
        if let Some(dir2) = dir2 {
            // On one device there is one cache: the marker shows at once or never.
            let wait = if same_device { Duration::ZERO } else { wait };
            let marker = scratch.b.join(MARKER);
            let seen =
                super::wait_until(Instant::now(), wait, || {
                    match ops::read_file_if_exists(&marker) {
                        Ok(found) => Ok(found.is_some_and(|f| f == token.as_bytes())),
                        Err(e) if e.is_stale() => Ok(false),
                        Err(e) => Err(e),
                    }
                })?;
            match seen {
                Seen::After(_) => {}
                Seen::NotWithin(waited) => {
                    scratch.remove()?;
                    return Err(ProbeError::NotSameFilesystem {
                        dir: dir.to_path_buf(),
                        dir2: dir2.to_path_buf(),
                        waited,
                    });
                }
                Seen::Failed(e) => {
                    scratch.remove()?;
                    return Err(ProbeError::Fs(FsError::Invalid {
                        path: marker,
                        reason: e,
                    }));
                }
            }
        }
        Ok((scratch, same_device))
    }

    /// Removes the tree now, reporting a failure.
    pub fn remove(&mut self) -> Result<(), ProbeError> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        ops::remove_tree(&self.a).map_err(ProbeError::Fs)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            log::error!("Can't remove fs-check's directory: {e}");
        }
    }
}
