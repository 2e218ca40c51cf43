//! Unpredictable numbers for temp-file names and lock backoff. std's `RandomState` is seeded
//! from the OS's random source once per thread; hashing a process-wide counter (and the pid, for
//! forked children that inherit both) gives values that differ between processes started
//! together.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A random u64.
pub(crate) fn u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    // Forked children inherit the thread's keys and the counter: the pid tells them apart.
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// `chars` random lowercase hex digits.
pub(crate) fn hex(chars: usize) -> String {
    let mut out = String::with_capacity(chars + 16);
    while out.len() < chars {
        out.push_str(&format!("{:016x}", u64()));
    }
    out.truncate(chars);
    out
}

/// A duration uniformly in `[low, high)` (or `low` when the range is empty).
pub(crate) fn between(low: Duration, high: Duration) -> Duration {
    let span = high.saturating_sub(low).as_nanos() as u64;
    if span == 0 {
        return low;
    }
    low + Duration::from_nanos(u64() % span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_has_requested_length_and_varies() {
        let a = hex(16);
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, hex(16));
        assert_eq!(hex(5).len(), 5);
    }

    #[test]
    fn between_stays_in_range() {
        let (lo, hi) = (Duration::from_millis(100), Duration::from_millis(200));
        for _ in 0..100 {
            let d = between(lo, hi);
            assert!(d >= lo && d < hi);
        }
        assert_eq!(between(hi, lo), hi);
    }
}
