//! Does mmap work, and does a mapping see writes? A shared read-only mapping (what cote's
//! index views use with `mmap_disable = no`) is made through DIR and, with DIR2, through
//! DIR2; a same-size `pwrite` through DIR must then show in both mappings.

use std::time::Instant;

use memmap2::{MmapOptions, MmapRaw};

use super::results::{MmapResults, Seen};
use super::scratch::Scratch;
use super::{wait_until, ProbeError, ProbeOptions};
use crate::fs::{CreatePerms, FsError, FsFile, FsOp};

const SIZE: usize = 8192;

/// A shared read-only mapping of the whole file and the file it maps.
struct Mapping {
    map: MmapRaw,
    _file: FsFile,
}

impl Mapping {
    fn of(file: FsFile) -> Result<Mapping, FsError> {
        let map = MmapOptions::new()
            .len(SIZE)
            .map_raw_read_only(file.file())
            .map_err(|e| FsError::io(FsOp::Mmap, file.path(), e))?;
        Ok(Mapping { map, _file: file })
    }

    /// Whether the first bytes of the mapping are `byte` (read afresh every time: another
    /// writer changes them behind the compiler's back).
    fn starts_with(&self, byte: u8) -> bool {
        (0..4).all(|i| {
            // SAFETY: the mapping is SIZE bytes long and the file is never truncated while
            // mapped (this probe owns it).
            unsafe { std::ptr::read_volatile(self.map.as_ptr().add(i)) == byte }
        })
    }
}

/// Writes `byte` over the first 4 bytes of the file through DIR, synced.
fn overwrite(scratch: &Scratch, name: &str, byte: u8) -> Result<(), ProbeError> {
    let file = FsFile::open_rw(&scratch.a.join(name))?;
    file.write_all_at(&[byte; 4], 0)?;
    file.sync_all_now()?;
    Ok(())
}

/// Runs the mmap probes.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<MmapResults, ProbeError> {
    let name = "mmap";
    let file = FsFile::create_excl(&scratch.a.join(name), &CreatePerms::default())?;
    file.write_all_at(&[b'A'; SIZE], 0)?;
    file.sync_all_now()?;
    drop(file);
    let here = match Mapping::of(FsFile::open_read(&scratch.a.join(name))?) {
        Ok(map) => map,
        Err(e) => {
            return Ok(MmapResults {
                shared_map: Err(e.to_string()),
                sees_same_mount_write: None,
                sees_other_mount_write: None,
            })
        }
    };
    let there = if scratch.has_dir2 {
        match Mapping::of(FsFile::open_read(&scratch.b.join(name))?) {
            Ok(map) => Some(Ok(map)),
            Err(e) => Some(Err(e.to_string())),
        }
    } else {
        None
    };
    // Fault the pages in first: the question is whether mapped pages are kept current.
    let mut primed = here.starts_with(b'A');
    if let Some(Ok(map)) = &there {
        primed &= map.starts_with(b'A');
    }
    if !primed {
        return Err(ProbeError::Fs(FsError::Invalid {
            path: scratch.a.join(name),
            reason: "a fresh mapping does not show the file's content".into(),
        }));
    }
    overwrite(scratch, name, b'B')?;
    let written = Instant::now();
    let sees_same_mount_write = Some(wait_until(written, opts.wait, || {
        Ok(here.starts_with(b'B'))
    })?);
    let sees_other_mount_write = match there {
        None => None,
        Some(Err(e)) => Some(Seen::Failed(e)),
        Some(Ok(map)) => Some(wait_until(
            written,
            opts.wait,
            || Ok(map.starts_with(b'B')),
        )?),
    };
    Ok(MmapResults {
        shared_map: Ok(()),
        sees_same_mount_write,
        sees_other_mount_write,
    })
}
