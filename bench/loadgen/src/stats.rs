//! Per-command counters: successes, errors (with a few examples), latencies and percentiles.

use std::collections::BTreeMap;
use std::time::Duration;

/// How many error texts are kept per command for the report.
const ERROR_EXAMPLES: usize = 3;

#[derive(Default, Debug, Clone)]
pub struct CommandStats {
    /// Latencies of answered commands, microseconds.
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub error_examples: Vec<String>,
}

/// Counters of one client, merged into the run's total at the end.
#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub commands: BTreeMap<String, CommandStats>,
}

impl Stats {
    pub fn ok(&mut self, command: &str, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.entry(command).latencies_us.push(micros);
    }

    pub fn error(&mut self, command: &str, text: &str) {
        let entry = self.entry(command);
        entry.errors += 1;
        if entry.error_examples.len() < ERROR_EXAMPLES {
            entry.error_examples.push(text.chars().take(200).collect());
        }
    }

    fn entry(&mut self, command: &str) -> &mut CommandStats {
        self.commands.entry(command.to_string()).or_default()
    }

    pub fn merge(&mut self, other: Stats) {
        for (name, theirs) in other.commands {
            let ours = self.entry(&name);
            ours.latencies_us.extend(theirs.latencies_us);
            ours.errors += theirs.errors;
            for example in theirs.error_examples {
                if ours.error_examples.len() < ERROR_EXAMPLES {
                    ours.error_examples.push(example);
                }
            }
        }
    }

    pub fn total_ok(&self) -> u64 {
        self.commands
            .values()
            .map(|c| c.latencies_us.len() as u64)
            .sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.commands.values().map(|c| c.errors).sum()
    }

    /// The human table (stderr) and the machine-readable summary (one JSON object).
    pub fn report(&mut self, wall: Duration) -> serde_json::Value {
        let seconds = wall.as_secs_f64().max(1e-9);
        let mut rows = serde_json::Map::new();
        eprintln!(
            "{:<14} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9}",
            "command", "ok", "errors", "per sec", "p50 ms", "p90 ms", "p99 ms"
        );
        for (name, stats) in &mut self.commands {
            stats.latencies_us.sort_unstable();
            let [p50, p90, p99] = [50.0, 90.0, 99.0].map(|p| percentile(&stats.latencies_us, p));
            let ok = stats.latencies_us.len();
            let rate = ok as f64 / seconds;
            eprintln!(
                "{:<14} {:>9} {:>7} {:>10.1} {:>9.3} {:>9.3} {:>9.3}",
                name,
                ok,
                stats.errors,
                rate,
                p50 as f64 / 1000.0,
                p90 as f64 / 1000.0,
                p99 as f64 / 1000.0
            );
            for example in &stats.error_examples {
                eprintln!("    error: {example}");
            }
            rows.insert(
                name.clone(),
                serde_json::json!({
                    "ok": ok, "errors": stats.errors, "per_sec": rate,
                    "p50_ms": p50 as f64 / 1000.0, "p90_ms": p90 as f64 / 1000.0,
                    "p99_ms": p99 as f64 / 1000.0, "error_examples": stats.error_examples,
                }),
            );
        }
        let ok = self.total_ok();
        let errors = self.total_errors();
        eprintln!("total: {ok} ok, {errors} errors in {seconds:.2} s");
        serde_json::json!({
            "seconds": seconds, "ok": ok, "errors": errors,
            "per_sec": ok as f64 / seconds, "commands": rows,
        })
    }
}

/// Nearest-rank percentile of sorted values (0 for none): the smallest value with at least
/// `pct`% of the values at or below it.
pub fn percentile(sorted: &[u64], pct: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 90.0), 90);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2, 3], 50.0), 2);
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[1, 2, 3, 4], 0.0), 1);
    }

    #[test]
    fn merge_adds_counts_and_keeps_few_examples() {
        let mut a = Stats::default();
        a.ok("FETCH", Duration::from_micros(10));
        for i in 0..5 {
            a.error("FETCH", &format!("bad {i}"));
        }
        let mut b = Stats::default();
        b.ok("FETCH", Duration::from_micros(30));
        b.error("STORE", "no");
        a.merge(b);
        assert_eq!(a.total_ok(), 2);
        assert_eq!(a.total_errors(), 6);
        assert_eq!(a.commands["FETCH"].error_examples.len(), ERROR_EXAMPLES);
    }
}
