//! Do dotlocks exclude? Two workers, one working through DIR and one through DIR2, race for
//! the same fresh `<name>.lock` every round with cote's dotlock code
//! ([`DotLock::try_acquire`](crate::fs::DotLock::try_acquire)): exactly one must win. Once
//! with `dotlock_use_excl = yes` (O_EXCL), once with `no` (link() + st_nlink).

use std::time::Duration;

use super::results::{DotlockRace, DotlockResults};
use super::scratch::Scratch;
use super::worker::Worker;
use super::{check_interrupted, ProbeError, ProbeOptions};
use crate::fs::{ops, CreatePerms};

const ANSWER_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Attempt {
    Won,
    Lost,
    Error(String),
}

fn parse_answer(answer: &str) -> Attempt {
    match answer {
        "won" => Attempt::Won,
        "lost" => Attempt::Lost,
        other => Attempt::Error(other.strip_prefix("err ").unwrap_or(other).to_string()),
    }
}

/// Counts one round's outcome.
fn tally(race: &mut DotlockRace, a: &Attempt, b: &Attempt) {
    race.rounds += 1;
    for attempt in [a, b] {
        if let Attempt::Error(text) = attempt {
            race.errors += 1;
            if race.first_error.is_none() {
                race.first_error = Some(text.clone());
            }
        }
    }
    match (a == &Attempt::Won, b == &Attempt::Won) {
        (true, true) => race.both_won += 1,
        (false, false) => race.none_won += 1,
        (true, false) => race.a_wins += 1,
        (false, true) => race.b_wins += 1,
    }
}

fn race(scratch: &Scratch, opts: &ProbeOptions, use_excl: bool) -> Result<DotlockRace, ProbeError> {
    let mode = if use_excl { "excl" } else { "link" };
    let subdir = format!("race-{mode}");
    ops::mkdir(&scratch.a.join(&subdir), &CreatePerms::default())?;
    let mut a = Worker::spawn(&opts.worker, &scratch.a, "dotlock-a")?;
    let mut b = Worker::spawn(&opts.worker, &scratch.b, "dotlock-b")?;
    let mut result = DotlockRace::default();
    for round in 0..opts.dotlock_rounds {
        check_interrupted()?;
        let command = format!("dotlock {mode} {subdir}/r{round}");
        // Both commands are sent before either answer is read, first one then the other
        // worker by turns, so that neither is always ahead.
        let (first, second) = if round % 2 == 0 {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        first.send(&command)?;
        second.send(&command)?;
        let first_answer = parse_answer(&first.receive(ANSWER_WAIT)?);
        let second_answer = parse_answer(&second.receive(ANSWER_WAIT)?);
        let (answer_a, answer_b) = if round % 2 == 0 {
            (first_answer, second_answer)
        } else {
            (second_answer, first_answer)
        };
        tally(&mut result, &answer_a, &answer_b);
        for (worker, answer) in [(&mut a, &answer_a), (&mut b, &answer_b)] {
            if *answer == Attempt::Won {
                let released = worker.request("release", ANSWER_WAIT)?;
                if released != "ok" {
                    tally_release_error(&mut result, &released);
                }
            }
        }
    }
    Ok(result)
}

/// A won lock that was gone or replaced at release: someone else broke it.
fn tally_release_error(race: &mut DotlockRace, answer: &str) {
    race.errors += 1;
    if race.first_error.is_none() {
        race.first_error = Some(format!(
            "at release: {}",
            answer.strip_prefix("err ").unwrap_or(answer)
        ));
    }
}

/// Runs both races.
pub fn probe(scratch: &Scratch, opts: &ProbeOptions) -> Result<DotlockResults, ProbeError> {
    let keep = |r: Result<DotlockRace, ProbeError>| match r {
        Err(ProbeError::Interrupted) => Err(ProbeError::Interrupted),
        Err(e) => Ok(Err(e.to_string())),
        Ok(v) => Ok(Ok(v)),
    };
    Ok(DotlockResults {
        excl: keep(race(scratch, opts, true))?,
        link: keep(race(scratch, opts, false))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_counted_by_winner() {
        let mut r = DotlockRace::default();
        tally(&mut r, &Attempt::Won, &Attempt::Lost);
        tally(&mut r, &Attempt::Lost, &Attempt::Won);
        assert!(r.clean());
        tally(&mut r, &Attempt::Won, &Attempt::Won);
        tally(&mut r, &Attempt::Lost, &Attempt::Error("EPERM".into()));
        assert_eq!(
            (r.rounds, r.a_wins, r.b_wins, r.both_won, r.none_won, r.errors),
            (4, 1, 1, 1, 1, 1)
        );
        assert_eq!(r.first_error.as_deref(), Some("EPERM"));
        assert!(!r.clean());
        assert_eq!(
            parse_answer("err link failed"),
            Attempt::Error("link failed".into())
        );
    }
}
