//! The machine-readable report (`--json`). Durations are milliseconds (floats); a change
//! not seen within the wait is `{"seen_after_ms": null, "waited_ms": W}`, a failed
//! observation `{"error": "..."}`; a probe group that failed as a whole is
//! `{"error": "..."}` in its place.

use std::time::Duration;

use super::recommend::Advice;
use crate::fs::probe::{
    Contention, DotlockRace, Latency, LockResults, ProbeResults, RecordLockProbe, Seen,
};
use crate::json::Json;

fn ms(d: Duration) -> Json {
    Json::Float((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}

fn seen(s: &Seen) -> Json {
    match s {
        Seen::After(d) => Json::object().with("seen_after_ms", ms(*d)),
        Seen::NotWithin(d) => Json::object()
            .with("seen_after_ms", Json::Null)
            .with("waited_ms", ms(*d)),
        Seen::Failed(e) => Json::object().with("error", e.as_str()),
    }
}

fn contention(c: &Contention) -> Json {
    match c {
        Contention::Blocked => "excludes".into(),
        Contention::Acquired => "does_not_exclude".into(),
        Contention::Failed(e) => Json::object().with("error", e.as_str()),
    }
}

fn group<T>(r: &Result<T, String>, f: impl Fn(&T) -> Json) -> Json {
    match r {
        Ok(v) => f(v),
        Err(e) => Json::object().with("error", e.as_str()),
    }
}

fn lock_probe(p: &RecordLockProbe) -> Json {
    Json::object()
        .with("holder_error", p.holder_error.clone())
        .with("same_mount", contention(&p.same_mount))
        .with(
            "other_mount",
            p.other_mount.as_ref().map_or(Json::Null, contention),
        )
        .with("free_after_release", seen(&p.after_release))
        .with("excludes", p.excludes())
}

fn locks(l: &LockResults) -> Json {
    let mut out = Json::object().with("ofd_supported", l.ofd_supported);
    for p in &l.methods {
        out = out.with(p.method.name(), lock_probe(p));
    }
    out.with("classic_blocks_ofd", contention(&l.classic_blocks_ofd))
        .with("ofd_blocks_classic", contention(&l.ofd_blocks_classic))
        .with(
            "free_after_holder_killed",
            seen(&l.freed_when_holder_killed),
        )
}

fn race(r: &DotlockRace) -> Json {
    Json::object()
        .with("rounds", r.rounds)
        .with("both_won", r.both_won)
        .with("none_won", r.none_won)
        .with("a_wins", r.a_wins)
        .with("b_wins", r.b_wins)
        .with("errors", r.errors)
        .with("first_error", r.first_error.clone())
        .with("excludes", r.clean())
}

fn latency(l: &Latency) -> Json {
    Json::object()
        .with("samples", l.samples.len())
        .with("median_ms", l.median().map_or(Json::Null, ms))
        .with("p90_ms", l.p90().map_or(Json::Null, ms))
}

/// The whole report as JSON.
pub fn render(r: &ProbeResults, advice: &Advice) -> Json {
    let d = &r.dirs;
    let dirs = Json::object()
        .with("dir", d.dir.to_string_lossy().into_owned())
        .with(
            "dir2",
            d.dir2.as_ref().map(|p| p.to_string_lossy().into_owned()),
        )
        .with("fs_type", d.fs_type.as_str())
        .with("fs_type2", d.fs_type2.clone())
        .with("same_device", d.same_device);
    let mut recommended = Json::object();
    for s in &advice.settings {
        recommended = recommended.with(
            s.setting,
            Json::object()
                .with("value", s.value.as_str())
                .with("reason", s.reason.as_str()),
        );
    }
    Json::object()
        .with("dirs", dirs)
        .with("elapsed_ms", ms(r.elapsed))
        .with("wait_ms", ms(r.wait))
        .with("locks", group(&r.locks, locks))
        .with(
            "dotlocks",
            group(&r.dotlocks, |x| {
                Json::object()
                    .with("excl", group(&x.excl, race))
                    .with("link", group(&x.link, race))
            }),
        )
        .with(
            "mmap",
            group(&r.mmap, |m| {
                Json::object()
                    .with(
                        "shared_map",
                        match &m.shared_map {
                            Ok(()) => Json::from("ok"),
                            Err(e) => Json::object().with("error", e.as_str()),
                        },
                    )
                    .with(
                        "sees_same_mount_write",
                        m.sees_same_mount_write.as_ref().map_or(Json::Null, seen),
                    )
                    .with(
                        "sees_other_mount_write",
                        m.sees_other_mount_write.as_ref().map_or(Json::Null, seen),
                    )
            }),
        )
        .with(
            "staleness",
            group(&r.staleness, |s| {
                s.all()
                    .into_iter()
                    .fold(Json::object(), |o, (name, v)| o.with(name, seen(v)))
            }),
        )
        .with(
            "replace",
            group(&r.replace, |x| {
                Json::object()
                    .with("replacements", x.replacements)
                    .with("plain_reads", x.plain_reads)
                    .with("plain_estale", x.plain_estale)
                    .with("plain_enoent", x.plain_enoent)
                    .with("plain_other_errors", x.plain_other_errors)
                    .with("cote_reads", x.cote_reads)
                    .with("cote_failures", x.cote_failures)
                    .with("mixed", x.mixed)
                    .with("first_error", x.first_error.clone())
            }),
        )
        .with(
            "append",
            group(&r.append, |a| {
                Json::object()
                    .with("lines", 2 * a.lines_per_writer)
                    .with("intact", a.intact)
                    .with("torn", a.torn)
                    .with("size", a.size)
                    .with("expected_size", a.expected_size)
            }),
        )
        .with(
            "names",
            group(&r.names, |n| {
                Json::object()
                    .with("colon_allowed", n.colon.is_ok())
                    .with("colon_error", n.colon.as_ref().err().cloned())
                    .with(
                        "alternatives",
                        Json::Array(
                            n.alternatives
                                .iter()
                                .map(|(sep, ok)| {
                                    Json::object()
                                        .with("separator", sep.to_string())
                                        .with("allowed", *ok)
                                })
                                .collect(),
                        ),
                    )
            }),
        )
        .with(
            "timing",
            group(&r.timing, |t| {
                Json::object()
                    .with("clock_skew_ms", t.clock_skew_ms)
                    .with("fsync", latency(&t.fsync))
                    .with("rename", latency(&t.rename))
            }),
        )
        .with("recommended", recommended)
        .with("notes", advice.notes.clone())
}
