//! What happens to a reader of a file that another host replaces? A worker replaces a file
//! through DIR over and over the way cote rewrites files (temp file + rename); meanwhile this
//! process reads it through DIR2, once with plain `open`+`read` (what a tool without retries
//! gets: ESTALE on NFS-like caches) and once through cote's fs layer, which retries ESTALE.
//! Every read must give one whole version.

use std::time::Duration;

use super::results::ReplaceResult;
use super::scratch::Scratch;
use super::worker::{replaced_content, Worker};
use super::{ProbeError, ProbeOptions};
use crate::fs::{ops, replace_file, CreatePerms, FsPolicy};

/// How long the replacements may take in all.
const REPLACE_WAIT: Duration = Duration::from_secs(60);

/// Whether `data` is one whole version of the replaced file.
fn is_whole_version(data: &[u8]) -> bool {
    data.first()
        .is_some_and(|&b| b.is_ascii_digit() && data == replaced_content(u32::from(b - b'0')))
}

/// Runs the probe.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<ReplaceResult, ProbeError> {
    let name = "replaced";
    let policy = FsPolicy::dovecot_defaults();
    replace_file(
        &scratch.a.join(name),
        &replaced_content(0),
        &CreatePerms::default(),
        &policy,
    )?;
    let observed = scratch.b.join(name);
    let mut result = ReplaceResult {
        replacements: opts.replace_rounds,
        ..ReplaceResult::default()
    };
    // The file must be visible before the race starts.
    ops::stat(&observed)?;
    let mut worker = Worker::spawn(&opts.worker, &scratch.a, "replacer")?;
    worker.send(&format!("replace {name} {}", opts.replace_rounds))?;
    let deadline = std::time::Instant::now() + REPLACE_WAIT;
    let answer = loop {
        if let Some(answer) = worker.try_receive(Duration::ZERO)? {
            break answer;
        }
        if std::time::Instant::now() >= deadline {
            return Err(ProbeError::Worker(format!(
                "{} replacements took over {} s",
                opts.replace_rounds,
                REPLACE_WAIT.as_secs()
            )));
        }
        result.plain_reads += 1;
        match std::fs::read(&observed) {
            Ok(data) if is_whole_version(&data) => {}
            Ok(_) => result.mixed += 1,
            Err(e) => match e.raw_os_error() {
                Some(libc::ESTALE) => result.plain_estale += 1,
                Some(libc::ENOENT) => result.plain_enoent += 1,
                _ => {
                    result.plain_other_errors += 1;
                    if result.first_error.is_none() {
                        result.first_error = Some(crate::errtext::os_error_text(&e));
                    }
                }
            },
        }
        result.cote_reads += 1;
        match ops::read_file(&observed) {
            Ok(data) if is_whole_version(&data) => {}
            Ok(_) => result.mixed += 1,
            Err(e) => {
                result.cote_failures += 1;
                if result.first_error.is_none() {
                    result.first_error = Some(e.to_string());
                }
            }
        }
    };
    if answer != "done" {
        return Err(ProbeError::Worker(answer));
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_whole_or_not() {
        assert!(is_whole_version(&replaced_content(0)));
        assert!(is_whole_version(&replaced_content(17)));
        let mut mixed = replaced_content(1);
        mixed[4000] = b'2';
        assert!(!is_whole_version(&mixed));
        assert!(!is_whole_version(b""));
        assert!(!is_whole_version(&replaced_content(3)[..100]));
    }
}
