//! The machine-readable report (`--json`). Durations are milliseconds (floats); a change
//! not seen within the wait is `{"seen_after_ms": null, "waited_ms": W}`, a failed
//! observation `{"error": "..."}`; a probe group that failed as a whole is
//! `{"error": "..."}` in its place. Keys keep the order they are built in (serde_json's
//! `preserve_order`), so the report reads in probe order.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::recommend::Advice;
use crate::fs::probe::{
    Contention, DotlockRace, Latency, LockResults, ProbeResults, RecordLockProbe, Seen,
};

/// Milliseconds, to the microsecond.
fn ms(d: Duration) -> Value {
    Value::from((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}

fn error(e: &str) -> Value {
    json!({ "error": e })
}

fn seen(s: &Seen) -> Value {
    match s {
        Seen::After(d) => json!({ "seen_after_ms": ms(*d) }),
        Seen::NotWithin(d) => json!({ "seen_after_ms": null, "waited_ms": ms(*d) }),
        Seen::Failed(e) => error(e),
    }
}

fn contention(c: &Contention) -> Value {
    match c {
        Contention::Blocked => "excludes".into(),
        Contention::Acquired => "does_not_exclude".into(),
        Contention::Failed(e) => error(e),
    }
}

fn group<T>(r: &Result<T, String>, f: impl Fn(&T) -> Value) -> Value {
    r.as_ref().map_or_else(|e| error(e), f)
}

fn lock_probe(p: &RecordLockProbe) -> Value {
    json!({
        "holder_error": p.holder_error,
        "same_mount": contention(&p.same_mount),
        "other_mount": p.other_mount.as_ref().map_or(Value::Null, contention),
        "free_after_release": seen(&p.after_release),
        "excludes": p.excludes(),
    })
}

fn locks(l: &LockResults) -> Value {
    let mut out = Map::new();
    out.insert("ofd_supported".into(), l.ofd_supported.into());
    for p in &l.methods {
        out.insert(p.method.name().into(), lock_probe(p));
    }
    out.insert(
        "classic_blocks_ofd".into(),
        contention(&l.classic_blocks_ofd),
    );
    out.insert(
        "ofd_blocks_classic".into(),
        contention(&l.ofd_blocks_classic),
    );
    out.insert(
        "free_after_holder_killed".into(),
        seen(&l.freed_when_holder_killed),
    );
    Value::Object(out)
}

fn race(r: &DotlockRace) -> Value {
    json!({
        "rounds": r.rounds,
        "both_won": r.both_won,
        "none_won": r.none_won,
        "a_wins": r.a_wins,
        "b_wins": r.b_wins,
        "errors": r.errors,
        "first_error": r.first_error,
        "excludes": r.clean(),
    })
}

fn latency(l: &Latency) -> Value {
    json!({
        "samples": l.samples.len(),
        "median_ms": l.median().map_or(Value::Null, ms),
        "p90_ms": l.p90().map_or(Value::Null, ms),
    })
}

/// The whole report as JSON.
pub fn render(r: &ProbeResults, advice: &Advice) -> Value {
    let d = &r.dirs;
    let recommended: Map<String, Value> = advice
        .settings
        .iter()
        .map(|s| {
            let fields = json!({ "value": s.value, "reason": s.reason });
            (s.setting.to_string(), fields)
        })
        .collect();
    json!({
        "dirs": {
            "dir": d.dir.to_string_lossy(),
            "dir2": d.dir2.as_ref().map(|p| p.to_string_lossy()),
            "fs_type": d.fs_type,
            "fs_type2": d.fs_type2,
            "same_device": d.same_device,
        },
        "elapsed_ms": ms(r.elapsed),
        "wait_ms": ms(r.wait),
        "locks": group(&r.locks, locks),
        "dotlocks": group(&r.dotlocks, |x| {
            json!({ "excl": group(&x.excl, race), "link": group(&x.link, race) })
        }),
        "mmap": group(&r.mmap, |m| json!({
            "shared_map": m.shared_map.as_ref().map_or_else(|e| error(e), |()| "ok".into()),
            "sees_same_mount_write": m.sees_same_mount_write.as_ref().map_or(Value::Null, seen),
            "sees_other_mount_write": m.sees_other_mount_write.as_ref().map_or(Value::Null, seen),
        })),
        "staleness": group(&r.staleness, |s| {
            Value::Object(
                s.all()
                    .into_iter()
                    .map(|(name, v)| (name.to_string(), seen(v)))
                    .collect(),
            )
        }),
        "replace": group(&r.replace, |x| json!({
            "replacements": x.replacements,
            "plain_reads": x.plain_reads,
            "plain_estale": x.plain_estale,
            "plain_enoent": x.plain_enoent,
            "plain_other_errors": x.plain_other_errors,
            "cote_reads": x.cote_reads,
            "cote_failures": x.cote_failures,
            "mixed": x.mixed,
            "first_error": x.first_error,
        })),
        "append": group(&r.append, |a| json!({
            "lines": 2 * a.lines_per_writer,
            "intact": a.intact,
            "torn": a.torn,
            "size": a.size,
            "expected_size": a.expected_size,
        })),
        "names": group(&r.names, |n| json!({
            "colon_allowed": n.colon.is_ok(),
            "colon_error": n.colon.as_ref().err(),
            "alternatives": n.alternatives.iter().map(|(sep, ok)| {
                json!({ "separator": sep, "allowed": ok })
            }).collect::<Vec<_>>(),
        })),
        "timing": group(&r.timing, |t| json!({
            "clock_skew_ms": t.clock_skew_ms,
            "fsync": latency(&t.fsync),
            "rename": latency(&t.rename),
        })),
        "recommended": recommended,
        "notes": advice.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fscheck::recommend::{advise, tests::local};

    #[test]
    fn keys_in_probe_order_failures_in_place() {
        let mut r = local();
        r.elapsed = Duration::from_micros(1_234_567);
        r.staleness = Err("no space left on device".into());
        if let Ok(m) = &mut r.mmap {
            m.sees_same_mount_write = Some(Seen::NotWithin(Duration::from_secs(8)));
        }
        let out = render(&r, &advise(&r));
        let keys = |v: &Value| -> Vec<String> {
            v.as_object()
                .map_or(vec![], |o| o.keys().cloned().collect())
        };
        assert_eq!(
            keys(&out),
            [
                "dirs",
                "elapsed_ms",
                "wait_ms",
                "locks",
                "dotlocks",
                "mmap",
                "staleness",
                "replace",
                "append",
                "names",
                "timing",
                "recommended",
                "notes"
            ]
        );
        assert_eq!(
            keys(&out["locks"]),
            [
                "ofd_supported",
                "fcntl_ofd",
                "fcntl_classic",
                "flock",
                "classic_blocks_ofd",
                "ofd_blocks_classic",
                "free_after_holder_killed"
            ]
        );
        assert_eq!(out["elapsed_ms"], json!(1234.567));
        assert_eq!(
            out["locks"]["flock"].to_string(),
            r#"{"holder_error":null,"same_mount":"excludes","other_mount":null,"#.to_string()
                + r#""free_after_release":{"seen_after_ms":1.0},"excludes":true}"#
        );
        assert_eq!(
            out["mmap"].to_string(),
            r#"{"shared_map":"ok","sees_same_mount_write":{"seen_after_ms":null,"#.to_string()
                + r#""waited_ms":8000.0},"sees_other_mount_write":null}"#
        );
        assert_eq!(
            out["staleness"].to_string(),
            r#"{"error":"no space left on device"}"#
        );
        assert_eq!(out["recommended"]["lock_method"]["value"], "fcntl");
        assert_eq!(out["timing"]["rename"]["median_ms"], Value::Null);
    }
}
