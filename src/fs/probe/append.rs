//! Do concurrent O_APPEND writers keep lines whole? Two workers, one through DIR and one
//! through DIR2, each append N lines of 60 bytes (one `write` each) to the same file at the
//! same time; the file is then read through DIR and every line that is not exactly one
//! writer's next line counts as torn. cote never relies on O_APPEND across hosts; other
//! tools on the same store (an MTA's mbox delivery, procmail) may.

use std::time::{Duration, Instant};

use super::results::{AppendResult, Seen};
use super::scratch::Scratch;
use super::worker::{append_line, Worker};
use super::{wait_until, ProbeError, ProbeOptions};
use crate::fs::{CreatePerms, FsError, FsFile};

const READY_WAIT: Duration = Duration::from_secs(30);
/// How long the writers may take (a slow network file system, many lines).
const WRITE_WAIT: Duration = Duration::from_secs(120);

/// Counts the lines of `data` that are whole lines of writers `tags` (a line repeated or
/// out of its writer's order does not count).
pub fn count_intact(data: &[u8], tags: &[char]) -> u32 {
    let mut next = vec![0u32; tags.len()];
    let mut intact = 0;
    for line in data.split_inclusive(|&b| b == b'\n') {
        let Some(writer) = tags
            .iter()
            .position(|&t| line.first().is_some_and(|&c| c as char == t))
        else {
            continue;
        };
        let seq = line
            .get(2..8)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.parse::<u32>().ok());
        if let Some(seq) = seq {
            if seq >= next[writer] && line == append_line(tags[writer], seq).as_bytes() {
                intact += 1;
                next[writer] = seq + 1;
            }
        }
    }
    intact
}

/// Runs the O_APPEND probe.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<AppendResult, ProbeError> {
    let name = "append";
    FsFile::create_excl(&scratch.a.join(name), &CreatePerms::default())?;
    let n = opts.append_lines;
    let mut a = Worker::spawn(&opts.worker, &scratch.a, "append-a")?;
    let mut b = Worker::spawn(&opts.worker, &scratch.b, "append-b")?;
    for (worker, tag) in [(&mut a, 'A'), (&mut b, 'B')] {
        let answer = worker.request(&format!("append {name} {tag} {n}"), READY_WAIT)?;
        if answer != "ready" {
            return Err(ProbeError::Worker(answer));
        }
    }
    a.send("go")?;
    b.send("go")?;
    for worker in [&mut a, &mut b] {
        let answer = worker.receive(WRITE_WAIT)?;
        if answer != "done" {
            return Err(ProbeError::Worker(answer));
        }
    }
    drop((a, b));
    let expected_size = 2 * u64::from(n) * append_line('A', 0).len() as u64;
    // The other mount's writes may reach the server a little after its close.
    let path = scratch.a.join(name);
    let mut data = Vec::new();
    let read = wait_until(Instant::now(), opts.wait, || {
        data = FsFile::open_read(&path)?.read_from(0)?;
        Ok(data.len() as u64 >= expected_size)
    })?;
    if let Seen::Failed(reason) = read {
        return Err(ProbeError::Fs(FsError::Invalid { path, reason }));
    }
    let intact = count_intact(&data, &['A', 'B']);
    Ok(AppendResult {
        lines_per_writer: n,
        intact,
        torn: (2 * n).saturating_sub(intact),
        expected_size,
        size: data.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_whole_lines_count_and_torn_ones_do_not() {
        let mut data = Vec::new();
        data.extend_from_slice(append_line('A', 0).as_bytes());
        data.extend_from_slice(append_line('B', 0).as_bytes());
        data.extend_from_slice(append_line('A', 1).as_bytes());
        assert_eq!(count_intact(&data, &['A', 'B']), 3);
        // B's line 1 split by A's line 2.
        let b1 = append_line('B', 1);
        let (head, tail) = b1.as_bytes().split_at(20);
        data.extend_from_slice(head);
        data.extend_from_slice(append_line('A', 2).as_bytes());
        data.extend_from_slice(tail);
        data.extend_from_slice(append_line('B', 2).as_bytes());
        // A2 follows B1's head on one line: both torn; B2 counts.
        assert_eq!(count_intact(&data, &['A', 'B']), 4);
        data.extend_from_slice(append_line('B', 2).as_bytes());
        assert_eq!(count_intact(&data, &['A', 'B']), 4, "a repeated line");
    }
}
