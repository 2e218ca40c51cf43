//! The IMAP workloads: the weighted command mix (login churn or persistent sessions), logins,
//! SELECT + FETCH 1:* on a large mailbox, SEARCH TEXT, and idle sessions held open.

use std::io::{self, BufRead, Write};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::corpus::{self, Rng, SizeProfile};
use crate::imap::{wrong, Client, ClientError, Reply, Selected};
use crate::stats::Stats;

/// What every IMAP workload needs to reach the server.
#[derive(Clone)]
pub struct Target {
    pub addr: String,
    pub users: Vec<String>,
    pub password: String,
    pub timeout: Duration,
}

impl Target {
    fn user(&self, client: usize) -> &str {
        &self.users[client % self.users.len()]
    }

    /// Connects and logs in, recording LOGIN's latency (connect + greeting + LOGIN).
    fn session(&self, user: &str, stats: &mut Stats) -> Result<Client, ClientError> {
        let start = Instant::now();
        let mut client = Client::connect(&self.addr, self.timeout)?;
        client.login(user, &self.password)?;
        stats.ok("LOGIN", start.elapsed());
        Ok(client)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Log in, SELECT, a few commands, LOGOUT; again.
    Churn,
    /// One session per client for the whole run.
    Persistent,
}

/// Commands per churn session after SELECT.
const CHURN_COMMANDS: usize = 3;
/// EXPUNGE only while the mailbox has more than this many messages (APPEND refills it).
const MIN_MESSAGES: u32 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    FetchFlags,
    FetchHeader,
    FetchBody,
    Store,
    Search,
    Sort,
    Append,
    Expunge,
}

/// The mix's weights (out of their sum).
const MIX: &[(Op, u64)] = &[
    (Op::FetchFlags, 25),
    (Op::FetchHeader, 15),
    (Op::FetchBody, 10),
    (Op::Store, 15),
    (Op::Search, 10),
    (Op::Sort, 5),
    (Op::Append, 10),
    (Op::Expunge, 10),
];

fn pick_op(rng: &mut Rng) -> Op {
    rng.pick_weighted(MIX)
}

/// Runs the mix with `clients` threads for `duration`; APPEND sources come from the corpus.
pub fn run_mix(
    target: &Target,
    clients: usize,
    duration: Duration,
    mode: Mode,
    seed: u64,
) -> (Stats, Duration) {
    let sources: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..64)
            .map(|i| corpus::crlf(&corpus::message(seed, 1_000_000 + i, SizeProfile::Mixed)))
            .collect(),
    );
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let target = target.clone();
            let sources = Arc::clone(&sources);
            thread::spawn(move || {
                let mut stats = Stats::default();
                let mut rng = Rng::new(seed.wrapping_add(client as u64 * 7919));
                let user = target.user(client).to_string();
                while Instant::now() < deadline {
                    if let Err(err) = mix_session(
                        &target, &user, mode, deadline, &sources, &mut rng, &mut stats,
                    ) {
                        stats.error("SESSION", &format!("{user}: {err}"));
                        // A broken session is not retried in a tight loop.
                        thread::sleep(Duration::from_millis(50));
                    }
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::default();
    for handle in handles {
        match handle.join() {
            Ok(stats) => total.merge(stats),
            Err(_) => total.error("CLIENT", "a client thread panicked"),
        }
    }
    (total, start.elapsed())
}

/// One session: errors inside a command are counted and the session goes on; an I/O error
/// ends it (returned).
fn mix_session(
    target: &Target,
    user: &str,
    mode: Mode,
    deadline: Instant,
    sources: &[Vec<u8>],
    rng: &mut Rng,
    stats: &mut Stats,
) -> Result<(), ClientError> {
    let mut client = target.session(user, stats)?;
    let mut selected = Selected::default();
    // Without a selected mailbox the mix cannot run: the session ends, counted as a SELECT
    // error, and the next one waits a little (no tight login loop against a broken server).
    let start = Instant::now();
    let reply = client.command("SELECT INBOX")?;
    if let Err(err) = reply
        .expect_ok("SELECT")
        .and_then(|()| selected.apply(&reply))
    {
        stats.error("SELECT", &format!("{user}: {err}"));
        thread::sleep(Duration::from_millis(50));
        return Ok(());
    }
    stats.ok("SELECT", start.elapsed());
    let mut done = 0;
    while Instant::now() < deadline && (mode == Mode::Persistent || done < CHURN_COMMANDS) {
        let mut op = pick_op(rng);
        if op == Op::Sort && !client.has_capability("SORT") {
            op = Op::Search;
        }
        if selected.exists == 0 || (op == Op::Expunge && selected.exists <= MIN_MESSAGES) {
            op = Op::Append;
        }
        let name = op_name(op);
        let start = Instant::now();
        match run_op(&mut client, &mut selected, op, sources, rng) {
            Ok(()) => stats.ok(name, start.elapsed()),
            Err(ClientError::Wrong(text)) => stats.error(name, &format!("{user}: {text}")),
            Err(err) => return Err(err),
        }
        done += 1;
    }
    timed(stats, "LOGOUT", || {
        let reply = client.command("LOGOUT")?;
        reply.expect_ok("LOGOUT")
    })
}

/// Runs `f`, recording its latency under `name` if it succeeds and an error if the answer was
/// wrong; I/O errors are passed up.
fn timed(
    stats: &mut Stats,
    name: &str,
    f: impl FnOnce() -> Result<(), ClientError>,
) -> Result<(), ClientError> {
    let start = Instant::now();
    match f() {
        Ok(()) => {
            stats.ok(name, start.elapsed());
            Ok(())
        }
        Err(ClientError::Wrong(text)) => {
            stats.error(name, &text);
            Ok(())
        }
        Err(err) => Err(err),
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::FetchFlags => "FETCH-FLAGS",
        Op::FetchHeader => "FETCH-HEADER",
        Op::FetchBody => "FETCH-BODY",
        Op::Store => "STORE",
        Op::Search => "SEARCH",
        Op::Sort => "SORT",
        Op::Append => "APPEND",
        Op::Expunge => "EXPUNGE",
    }
}

fn run_op(
    client: &mut Client,
    selected: &mut Selected,
    op: Op,
    sources: &[Vec<u8>],
    rng: &mut Rng,
) -> Result<(), ClientError> {
    let exists = selected.exists;
    let seq = 1 + rng.below(u64::from(exists.max(1))) as u32;
    match op {
        Op::FetchFlags => {
            let last = (seq + 9).min(exists);
            let reply = checked(client, selected, &format!("FETCH {seq}:{last} (UID FLAGS)"))?;
            expect_fetches(&reply, seq..=last, "FLAGS")
        }
        Op::FetchHeader => {
            let reply = checked(
                client,
                selected,
                &format!("FETCH {seq} (BODY.PEEK[HEADER])"),
            )?;
            let line = fetch_of(&reply, seq)?;
            if line.literal_sizes.first().is_none_or(|&size| size == 0) {
                return Err(wrong(format!(
                    "FETCH {seq} header: no header literal: {}",
                    line.text
                )));
            }
            Ok(())
        }
        Op::FetchBody => {
            let reply = checked(
                client,
                selected,
                &format!("FETCH {seq} (RFC822.SIZE BODY.PEEK[])"),
            )?;
            let line = fetch_of(&reply, seq)?;
            let size = item_number(&line.text, "RFC822.SIZE")
                .ok_or_else(|| wrong(format!("FETCH {seq}: no RFC822.SIZE: {}", line.text)))?;
            if line.literal_sizes.first().copied() != Some(size as usize) {
                return Err(wrong(format!(
                    "FETCH {seq}: body of {:?} bytes, RFC822.SIZE {size}",
                    line.literal_sizes
                )));
            }
            Ok(())
        }
        Op::Store => {
            let add = rng.below(2) == 0;
            let sign = if add { '+' } else { '-' };
            let mut reply = checked(
                client,
                selected,
                &format!("STORE {seq} {sign}FLAGS (\\Flagged)"),
            )?;
            // Servers may leave out the FETCH when the flags didn't change: ask.
            if fetch_of(&reply, seq).is_err() {
                reply = checked(client, selected, &format!("FETCH {seq} (FLAGS)"))?;
            }
            let line = fetch_of(&reply, seq)?;
            if line.text.contains("\\Flagged") != add {
                return Err(wrong(format!(
                    "STORE {seq} {sign}FLAGS \\Flagged answered {}",
                    line.text
                )));
            }
            Ok(())
        }
        Op::Search => {
            let word = ["server", "meeting", "budget", "release"][rng.below(4) as usize];
            let reply = checked(client, selected, &format!("SEARCH SUBJECT {word}"))?;
            let found = reply.search_numbers("SEARCH")?;
            check_sequence_set(&found, selected.exists, false)
        }
        Op::Sort => {
            let reply = checked(client, selected, "SORT (ARRIVAL) UTF-8 ALL")?;
            let sorted = reply.search_numbers("SORT")?;
            check_sequence_set(&sorted, selected.exists, true)
        }
        Op::Append => {
            let source = &sources[rng.below(sources.len() as u64) as usize];
            let reply = client.command_with_literal("APPEND INBOX (\\Seen)", source)?;
            reply.expect_ok("APPEND")?;
            selected.apply(&reply)?;
            if selected.exists == exists {
                let noop = checked(client, selected, "NOOP")?;
                noop.expect_ok("NOOP")?;
            }
            if selected.exists != exists + 1 {
                return Err(wrong(format!(
                    "APPEND: EXISTS {} after {exists}",
                    selected.exists
                )));
            }
            Ok(())
        }
        Op::Expunge => {
            checked(
                client,
                selected,
                &format!("STORE {seq} +FLAGS.SILENT (\\Deleted)"),
            )?;
            let reply = checked(client, selected, "EXPUNGE")?;
            let expunged: Vec<u32> = reply.numbered("EXPUNGE").map(|(n, _)| n).collect();
            if expunged != [seq] || selected.exists != exists - 1 {
                return Err(wrong(format!(
                    "EXPUNGE of {seq}: server expunged {expunged:?}, EXISTS {} after {exists}",
                    selected.exists
                )));
            }
            Ok(())
        }
    }
}

/// Sends a command, requires OK and applies its EXISTS/EXPUNGE lines.
fn checked(
    client: &mut Client,
    selected: &mut Selected,
    command: &str,
) -> Result<Reply, ClientError> {
    let reply = client.command(command)?;
    let verb = command.split(' ').next().unwrap_or(command);
    reply.expect_ok(verb)?;
    selected.apply(&reply)?;
    Ok(reply)
}

fn fetch_of(reply: &Reply, seq: u32) -> Result<&crate::imap::Line, ClientError> {
    reply
        .numbered("FETCH")
        .find(|(n, _)| *n == seq)
        .map(|(_, line)| line)
        .ok_or_else(|| wrong(format!("FETCH: message {seq} missing from the answer")))
}

/// Every message in `range` answered, each with `item`.
pub fn expect_fetches(
    reply: &Reply,
    range: std::ops::RangeInclusive<u32>,
    item: &str,
) -> Result<(), ClientError> {
    let mut seen = vec![false; range.clone().count()];
    for (n, line) in reply.numbered("FETCH") {
        if range.contains(&n) && line.text.contains(item) {
            seen[(n - range.start()) as usize] = true;
        }
    }
    match seen.iter().position(|s| !s) {
        Some(missing) => Err(wrong(format!(
            "FETCH {}:{}: message {} missing or without {item}",
            range.start(),
            range.end(),
            range.start() + missing as u32
        ))),
        None => Ok(()),
    }
}

/// SEARCH/SORT numbers must be valid sequence numbers without repeats; `all` also requires
/// every message.
pub fn check_sequence_set(numbers: &[u32], exists: u32, all: bool) -> Result<(), ClientError> {
    let mut seen = vec![false; exists as usize];
    for &n in numbers {
        if n == 0 || n > exists || seen[(n - 1) as usize] {
            return Err(wrong(format!(
                "message {n} invalid or repeated (EXISTS {exists})"
            )));
        }
        seen[(n - 1) as usize] = true;
    }
    if all && numbers.len() != exists as usize {
        return Err(wrong(format!(
            "{} of {exists} messages returned",
            numbers.len()
        )));
    }
    Ok(())
}

/// The number after `item` in a FETCH line (`RFC822.SIZE 1234`).
fn item_number(text: &str, item: &str) -> Option<u64> {
    let at = text.find(item)? + item.len();
    text[at..]
        .split([' ', ')'])
        .find(|w| !w.is_empty())?
        .parse()
        .ok()
}

/// Logins per second: each client connects, logs in and out, again, until the deadline.
pub fn run_logins(target: &Target, clients: usize, duration: Duration) -> (Stats, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let target = target.clone();
            thread::spawn(move || {
                let mut stats = Stats::default();
                let user = target.user(client).to_string();
                while Instant::now() < deadline {
                    let result = target.session(&user, &mut stats).and_then(|mut session| {
                        timed(&mut stats, "LOGOUT", || {
                            session.command("LOGOUT")?.expect_ok("LOGOUT")
                        })
                    });
                    if let Err(err) = result {
                        stats.error("LOGIN", &format!("{user}: {err}"));
                    }
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::default();
    for handle in handles {
        if let Ok(stats) = handle.join() {
            total.merge(stats);
        }
    }
    (total, start.elapsed())
}

/// SELECT then `FETCH 1:* (FLAGS UID RFC822.SIZE)` `repeat` times, checking that every
/// message answers.
pub fn run_fetch_all(target: &Target, expect: Option<u32>, repeat: usize) -> (Stats, Duration) {
    let mut stats = Stats::default();
    let start = Instant::now();
    let user = target.user(0).to_string();
    let result = (|| -> Result<(), ClientError> {
        let mut client = target.session(&user, &mut stats)?;
        let mut selected = Selected::default();
        timed(&mut stats, "SELECT", || {
            let reply = checked(&mut client, &mut selected, "SELECT INBOX")?;
            match expect {
                Some(n) if n != selected.exists => Err(wrong(format!(
                    "SELECT: EXISTS {} instead of {n}",
                    selected.exists
                ))),
                _ => Ok(()),
            }
            .map(|()| drop(reply))
        })?;
        for _ in 0..repeat {
            timed(&mut stats, "FETCH-1:*", || {
                let reply = checked(
                    &mut client,
                    &mut selected,
                    "FETCH 1:* (FLAGS UID RFC822.SIZE)",
                )?;
                expect_fetches(&reply, 1..=selected.exists, "RFC822.SIZE")
            })?;
        }
        timed(&mut stats, "LOGOUT", || {
            client.command("LOGOUT")?.expect_ok("LOGOUT")
        })
    })();
    if let Err(err) = result {
        stats.error("SESSION", &format!("{user}: {err}"));
    }
    (stats, start.elapsed())
}

/// `SEARCH TEXT <rare word>` `repeat` times on a mailbox holding corpus messages 0..count of
/// `seed` in order: the answer must be exactly the messages that contain the word.
pub fn run_search_text(
    target: &Target,
    seed: u64,
    count: u64,
    profile: SizeProfile,
    repeat: usize,
) -> (Stats, Duration) {
    let expected: Vec<u32> = (0..count)
        .filter(|&i| {
            contains(
                &corpus::message(seed, i, profile),
                corpus::RARE_WORD.as_bytes(),
            )
        })
        .map(|i| i as u32 + 1)
        .collect();
    let mut stats = Stats::default();
    let start = Instant::now();
    let user = target.user(0).to_string();
    let result = (|| -> Result<(), ClientError> {
        let mut client = target.session(&user, &mut stats)?;
        let mut selected = Selected::default();
        timed(&mut stats, "SELECT", || {
            checked(&mut client, &mut selected, "SELECT INBOX").map(drop)
        })?;
        for _ in 0..repeat {
            timed(&mut stats, "SEARCH-TEXT", || {
                let reply = checked(
                    &mut client,
                    &mut selected,
                    &format!("SEARCH TEXT {}", corpus::RARE_WORD),
                )?;
                let found = reply.search_numbers("SEARCH")?;
                if found != expected {
                    return Err(wrong(format!(
                        "SEARCH TEXT: {} messages found, {} expected",
                        found.len(),
                        expected.len()
                    )));
                }
                Ok(())
            })?;
        }
        timed(&mut stats, "LOGOUT", || {
            client.command("LOGOUT")?.expect_ok("LOGOUT")
        })
    })();
    if let Err(err) = result {
        stats.error("SESSION", &format!("{user}: {err}"));
    }
    (stats, start.elapsed())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Opens `sessions` logged-in sessions with INBOX selected, prints `READY <n>` on stdout and
/// holds them until stdin closes; then logs them out.
pub fn run_idle(target: &Target, sessions: usize) -> (Stats, Duration) {
    /// Sessions are opened by this many threads at once (logins take milliseconds each).
    const OPENERS: usize = 8;
    let start = Instant::now();
    let handles: Vec<_> = (0..OPENERS)
        .map(|opener| {
            let target = target.clone();
            thread::spawn(move || {
                let mut stats = Stats::default();
                let mut open = Vec::new();
                for n in (opener..sessions).step_by(OPENERS) {
                    let user = target.user(n).to_string();
                    let result = target.session(&user, &mut stats).and_then(|mut client| {
                        client.command("SELECT INBOX")?.expect_ok("SELECT")?;
                        Ok(client)
                    });
                    match result {
                        Ok(client) => open.push(client),
                        Err(err) => stats.error("SESSION", &format!("{user}: {err}")),
                    }
                }
                (stats, open)
            })
        })
        .collect();
    let mut stats = Stats::default();
    let mut open = Vec::with_capacity(sessions);
    for handle in handles {
        match handle.join() {
            Ok((theirs, mut clients)) => {
                stats.merge(theirs);
                open.append(&mut clients);
            }
            Err(_) => stats.error("CLIENT", "a client thread panicked"),
        }
    }
    println!("READY {}", open.len());
    let _ = io::stdout().flush();
    let mut line = String::new();
    while io::stdin()
        .lock()
        .read_line(&mut line)
        .map(|n| n > 0)
        .unwrap_or(false)
    {
        line.clear();
    }
    for mut client in open {
        let _ = timed(&mut stats, "LOGOUT", || {
            client.command("LOGOUT")?.expect_ok("LOGOUT")
        });
    }
    (stats, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::Line;

    fn reply(lines: &[&str]) -> Reply {
        Reply {
            untagged: lines
                .iter()
                .map(|t| Line {
                    text: t.to_string(),
                    literal_sizes: vec![],
                })
                .collect(),
            status: "OK".into(),
            tagged: "a1 OK".into(),
        }
    }

    #[test]
    fn a_missing_fetch_is_an_error() {
        let full = reply(&[
            "* 1 FETCH (UID 1 FLAGS ())",
            "* 2 FETCH (UID 2 FLAGS (\\Seen))",
        ]);
        assert!(expect_fetches(&full, 1..=2, "FLAGS").is_ok());
        let short = reply(&["* 1 FETCH (UID 1 FLAGS ())"]);
        assert!(expect_fetches(&short, 1..=2, "FLAGS").is_err());
        let without = reply(&["* 1 FETCH (UID 1)", "* 2 FETCH (FLAGS ())"]);
        assert!(expect_fetches(&without, 1..=2, "FLAGS").is_err());
    }

    #[test]
    fn sequence_sets_are_checked() {
        assert!(check_sequence_set(&[3, 1, 2], 3, true).is_ok());
        assert!(check_sequence_set(&[3, 1], 3, true).is_err());
        assert!(check_sequence_set(&[3, 1], 3, false).is_ok());
        assert!(check_sequence_set(&[1, 1], 3, false).is_err());
        assert!(check_sequence_set(&[4], 3, false).is_err());
        assert!(check_sequence_set(&[0], 3, false).is_err());
    }

    #[test]
    fn fetch_items_and_mix() {
        assert_eq!(
            item_number("* 3 FETCH (RFC822.SIZE 1234 BODY[] {1234})", "RFC822.SIZE"),
            Some(1234)
        );
        assert_eq!(item_number("* 3 FETCH (UID 9)", "RFC822.SIZE"), None);
        let mut rng = Rng::new(1);
        let picks: Vec<Op> = (0..1000).map(|_| pick_op(&mut rng)).collect();
        for &(op, _) in MIX {
            assert!(picks.contains(&op), "{op:?} never picked");
        }
    }
}
