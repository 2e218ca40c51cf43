//! The file server's clock and the cost of durability: clock skew from the mtimes of fresh
//! files ([`clock::measure_skew`]), `fsync` of a small write and `rename` latency.

use std::time::Instant;

use super::results::{Latency, TimingResults};
use super::scratch::Scratch;
use super::{check_interrupted, ProbeError, ProbeOptions};
use crate::fs::{clock, ops, CreatePerms, FsFile};

/// Skew samples (the median is reported: one slow create skews one sample).
const SKEW_SAMPLES: usize = 3;

/// Runs the timing probes.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<TimingResults, ProbeError> {
    let mut skews = Vec::with_capacity(SKEW_SAMPLES);
    for _ in 0..SKEW_SAMPLES {
        skews.push(clock::measure_skew(&scratch.a)?.nanos);
    }
    skews.sort_unstable();
    let clock_skew_ms = skews[SKEW_SAMPLES / 2] / 1_000_000;

    let block = [b'f'; 4096];
    let file = FsFile::create_excl(&scratch.a.join("fsync"), &CreatePerms::default())?;
    let mut fsync = Latency::default();
    for i in 0..u64::from(opts.latency_samples) {
        check_interrupted()?;
        file.write_all_at(&block, i * block.len() as u64)?;
        let start = Instant::now();
        file.sync_all_now()?;
        fsync.samples.push(start.elapsed());
    }
    drop(file);

    let (one, two) = (scratch.a.join("rename-1"), scratch.a.join("rename-2"));
    FsFile::create_excl(&one, &CreatePerms::default())?;
    let mut rename = Latency::default();
    for i in 0..opts.latency_samples {
        check_interrupted()?;
        let (from, to) = if i % 2 == 0 {
            (&one, &two)
        } else {
            (&two, &one)
        };
        let start = Instant::now();
        ops::rename(from, to)?;
        rename.samples.push(start.elapsed());
    }
    Ok(TimingResults {
        clock_skew_ms,
        fsync,
        rename,
    })
}
