//! The readable report: what was measured, then the recommended settings and notes.

use std::fmt::Write;

use super::recommend::{describe_seen, format_duration, Advice};
use crate::fs::probe::{Contention, DotlockRace, Latency, ProbeResults, RecordLockMethod};

fn contention(c: &Contention) -> String {
    match c {
        Contention::Blocked => "excludes".into(),
        Contention::Acquired => "DOES NOT EXCLUDE".into(),
        Contention::Failed(e) => format!("error: {e}"),
    }
}

fn method_label(m: RecordLockMethod) -> &'static str {
    match m {
        RecordLockMethod::FcntlOfd => "fcntl, OFD (cote)",
        RecordLockMethod::FcntlClassic => "fcntl, classic (Dovecot)",
        RecordLockMethod::Flock => "flock",
    }
}

fn race(r: &Result<DotlockRace, String>) -> String {
    match r {
        Ok(x) if x.clean() => format!(
            "exactly one winner in all {} rounds ({} / {})",
            x.rounds, x.a_wins, x.b_wins
        ),
        Ok(x) => {
            let mut s = format!(
                "{} rounds: {} with two winners, {} with none, {} errors",
                x.rounds, x.both_won, x.none_won, x.errors
            );
            if let Some(e) = &x.first_error {
                let _ = write!(s, " (first: {e})");
            }
            s
        }
        Err(e) => format!("error: {e}"),
    }
}

fn latency(l: &Latency) -> String {
    match (l.median(), l.p90()) {
        (Some(m), Some(p)) => format!(
            "median {}, p90 {} ({} samples)",
            format_duration(m),
            format_duration(p),
            l.samples.len()
        ),
        _ => "no samples".into(),
    }
}

/// The whole report as text.
pub fn render(r: &ProbeResults, advice: &Advice) -> String {
    let mut out = String::new();
    let d = &r.dirs;
    let observer = match &d.dir2 {
        Some(dir2) => format!(
            "{} ({})",
            dir2.display(),
            d.fs_type2.as_deref().unwrap_or("unknown")
        ),
        None => "the same path".into(),
    };
    let _ = writeln!(
        out,
        "fs-check of {} ({}), observed through {}",
        d.dir.display(),
        d.fs_type,
        observer
    );
    let _ = writeln!(
        out,
        "took {:.1} s; each change was watched for up to {}",
        r.elapsed.as_secs_f64(),
        format_duration(r.wait)
    );
    let other = if d.dir2.is_some() { "DIR2" } else { "DIR" };

    let _ = writeln!(out, "\nLocks (held by another process through DIR)");
    match &r.locks {
        Ok(l) => {
            for p in &l.methods {
                let _ = write!(out, "  {:<26}", method_label(p.method));
                if let Some(e) = &p.holder_error {
                    let _ = writeln!(out, "can't lock: {e}");
                    continue;
                }
                let _ = write!(out, "through DIR: {}", contention(&p.same_mount));
                if let Some(c) = &p.other_mount {
                    let _ = write!(out, "; through DIR2: {}", contention(c));
                }
                let _ = writeln!(
                    out,
                    "; free after release: {}",
                    describe_seen(&p.after_release)
                );
            }
            if !l.ofd_supported {
                let _ = writeln!(
                    out,
                    "  (this kernel has no OFD locks: cote uses classic ones)"
                );
            }
            let _ = writeln!(
                out,
                "  classic held, OFD tried through {other}: {}; OFD held, classic tried: {}",
                contention(&l.classic_blocks_ofd),
                contention(&l.ofd_blocks_classic)
            );
            let _ = writeln!(
                out,
                "  lock of a killed holder free through {other}: {}",
                describe_seen(&l.freed_when_holder_killed)
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(
        out,
        "\nDotlocks (two processes, through DIR and {other}, racing)"
    );
    match &r.dotlocks {
        Ok(x) => {
            let _ = writeln!(out, "  O_EXCL (dotlock_use_excl = yes): {}", race(&x.excl));
            let _ = writeln!(out, "  link() (dotlock_use_excl = no):  {}", race(&x.link));
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(out, "\nmmap");
    match &r.mmap {
        Ok(m) => {
            match &m.shared_map {
                Ok(()) => {
                    let _ = writeln!(out, "  shared mapping: works");
                }
                Err(e) => {
                    let _ = writeln!(out, "  shared mapping: FAILS: {e}");
                }
            }
            if let Some(s) = &m.sees_same_mount_write {
                let _ = writeln!(
                    out,
                    "  sees a write through the same mount: {}",
                    describe_seen(s)
                );
            }
            if let Some(s) = &m.sees_other_mount_write {
                let _ = writeln!(
                    out,
                    "  mapping through DIR2 sees a write through DIR: {}",
                    describe_seen(s)
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(
        out,
        "\nStaleness: a change through DIR seen through {other}"
    );
    match &r.staleness {
        Ok(s) => {
            let labels = [
                "size after an append",
                "mtime after utime",
                "new file after a failed lookup",
                "new file in readdir",
                "unlinked file gone",
                "rename tmp/x -> new/x",
                "data after re-open",
                "data through an open fd",
            ];
            for (label, (_, seen)) in labels.iter().zip(s.all()) {
                let _ = writeln!(out, "  {label:<32}{}", describe_seen(seen));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(
        out,
        "\nReading through {other} a file replaced (temp + rename) through DIR meanwhile"
    );
    match &r.replace {
        Ok(x) => {
            let _ = writeln!(
                out,
                "  {} replacements; plain reads: {} ESTALE, {} ENOENT, {} other errors of {}",
                x.replacements, x.plain_estale, x.plain_enoent, x.plain_other_errors, x.plain_reads
            );
            let _ = writeln!(
                out,
                "  reads through cote (ESTALE retried): {} failed of {}; partial content: {}",
                x.cote_failures, x.cote_reads, x.mixed
            );
            if let Some(e) = &x.first_error {
                let _ = writeln!(out, "  first error: {e}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(
        out,
        "\nO_APPEND (two writers at once, through DIR and {other})"
    );
    match &r.append {
        Ok(a) => {
            let _ = writeln!(
                out,
                "  {} of {} lines torn; size {} of {} bytes",
                a.torn,
                2 * a.lines_per_writer,
                a.size,
                a.expected_size
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(out, "\nNames");
    match &r.names {
        Ok(n) => {
            match &n.colon {
                Ok(()) => {
                    let _ = writeln!(out, "  ':' in file names: allowed");
                }
                Err(e) => {
                    let _ = writeln!(out, "  ':' in file names: REFUSED ({e})");
                }
            }
            for (sep, ok) in &n.alternatives {
                let verdict = if *ok { "allowed" } else { "refused" };
                let _ = writeln!(out, "  '{sep}' in file names: {verdict}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(out, "\nClock and latency");
    match &r.timing {
        Ok(t) => {
            let skew = t.clock_skew_ms;
            let direction = if skew >= 0 { "ahead of" } else { "behind" };
            let _ = writeln!(
                out,
                "  file server's clock: {:.3} s {direction} this host's",
                skew.abs() as f64 / 1000.0
            );
            let _ = writeln!(out, "  fsync (4 KiB write): {}", latency(&t.fsync));
            let _ = writeln!(out, "  rename:              {}", latency(&t.rename));
        }
        Err(e) => {
            let _ = writeln!(out, "  error: {e}");
        }
    }

    let _ = writeln!(out, "\nRecommended settings");
    let width = advice
        .settings
        .iter()
        .map(|s| s.setting.len() + s.value.len() + 3)
        .max()
        .unwrap_or(0);
    for s in &advice.settings {
        let line = format!("{} = {}", s.setting, s.value);
        let _ = writeln!(out, "  {line:<width$}  # {}", s.reason);
    }
    if !advice.notes.is_empty() {
        let _ = writeln!(out, "\nNotes");
        for note in &advice.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    out
}
