//! Reading and writing `cote.index` through the fs layer.

use std::path::Path;

use super::format::{self, SnapshotHeader, SNAPSHOT_HEADER_LEN};
use crate::fs::{replace_file, FileKind, FileView, FsFile, ViewMode};
use crate::index::error::IndexError;
use crate::index::settings::{IndexSettings, SNAPSHOT_NAME};
use crate::index::state::MailboxState;

/// Loads the snapshot in `dir`, mapped or read per `mmap_disable`. A missing file is `None`;
/// one that fails any check is logged and is `None` too: it is never trusted.
pub(crate) fn read(
    dir: &Path,
    settings: &IndexSettings,
) -> Result<Option<(SnapshotHeader, MailboxState)>, IndexError> {
    let path = dir.join(SNAPSHOT_NAME);
    let view = match FileView::open(&path, &settings.fs, FileKind::Index, ViewMode::Snapshot) {
        Ok(view) => view,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match format::decode(view.bytes()) {
        Ok(loaded) => Ok(Some(loaded)),
        Err(why) => {
            log::error!("Corrupted index file {}: {why}", path.display());
            Ok(None)
        }
    }
}

/// The header of the snapshot in `dir`, if there is a valid one (cheap: one short read).
pub(crate) fn read_header(
    dir: &Path,
    settings: &IndexSettings,
) -> Result<Option<SnapshotHeader>, IndexError> {
    let path = dir.join(SNAPSHOT_NAME);
    settings.fs.nfs(FileKind::Index).flush_attr(&path);
    let file = match FsFile::open_read(&path) {
        Ok(file) => file,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut head = [0u8; SNAPSHOT_HEADER_LEN];
    let n = file.read_full_at(&mut head, 0)?;
    Ok(format::decode_header(&head[..n]).ok())
}

/// Replaces the snapshot in `dir` (temp file + fsync + rename): `state` as of the log
/// position `log_file_seq`/`log_offset`.
pub(crate) fn write(
    dir: &Path,
    settings: &IndexSettings,
    state: &MailboxState,
    indexid: u32,
    log_file_seq: u32,
    log_offset: u64,
) -> Result<(), IndexError> {
    let bytes = format::encode(state, indexid, log_file_seq, log_offset);
    replace_file(
        &dir.join(SNAPSHOT_NAME),
        &bytes,
        &settings.perms,
        &settings.fs,
    )?;
    Ok(())
}
