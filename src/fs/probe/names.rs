//! Is `:` allowed in file names? Maildir's info separator is `:` (`unique:2,FLAGS`); CIFS
//! shares and some FUSE back ends refuse it. When it is refused, the usual replacements are
//! tried so that the report can name one that works.

use super::results::NameResults;
use super::scratch::Scratch;
use super::ProbeError;
use crate::fs::{ops, CreatePerms, FsError, FsFile};

/// Replacement separators to try, in order of preference (`;` is what Maildir tools use on
/// Windows).
pub const ALTERNATIVES: [char; 3] = [';', '!', '+'];

/// Creates `probe<sep>2,S` through DIR and finds it by name through the observer path.
fn try_separator(scratch: &Scratch, sep: char) -> Result<(), FsError> {
    let name = format!("probe{sep}2,S");
    FsFile::create_excl(&scratch.a.join(&name), &CreatePerms::default())?;
    let found = ops::read_dir(&scratch.a)?
        .iter()
        .any(|e| e.name == name.as_str());
    if !found {
        return Err(FsError::Invalid {
            path: scratch.a.join(&name),
            reason: "created, but listed under another name".into(),
        });
    }
    ops::stat(&scratch.b.join(&name))?;
    Ok(())
}

/// Runs the name probe.
pub fn probe(scratch: &Scratch) -> Result<NameResults, ProbeError> {
    let colon = try_separator(scratch, ':').map_err(|e| e.to_string());
    let alternatives = if colon.is_ok() {
        Vec::new()
    } else {
        ALTERNATIVES
            .iter()
            .map(|&sep| (sep, try_separator(scratch, sep).is_ok()))
            .collect()
    };
    Ok(NameResults {
        colon,
        alternatives,
    })
}
