//! Dovecot's recorded answers (`t/imap/session/*.session`) against the live server: every
//! case runs as its own user (`probeN`, static passdb) whose INBOX is first filled with the
//! fixture messages and the probe's other mailboxes by APPEND and CREATE over IMAP, as the
//! probe filled Dovecot's; then the case's state (ENABLE, SELECT or EXAMINE) and its input.
//! Cases where cote answers otherwise on purpose are listed in [`DIFFERENCES`] and
//! [`LIVE_DIFFERENCES`] with the reason.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::session_cases::{self, check, fixture, Case, DIFFERENCES, FIXTURE_MAILBOXES};
use super::Server;

/// The configuration the replay's server adds to the template: any `probeN` user logs in
/// with password `pw` (uid 1000, as the probe's Dovecot), and ID answers as Dovecot did.
pub const CONFIG: &[&str] = &[
    "passdb {",
    "  driver = static",
    "  args = password=pw",
    "}",
    "userdb {",
    "  driver = static",
    "  args = uid=1000 gid=1000 home={root}/home/%u",
    "}",
    "imap_id_send = name Dovecot",
    // The probe's Dovecot had the INBOX namespace with `/` as separator (Maildir++ on disk).
    "namespace inbox {",
    "  inbox = yes",
    "  separator = /",
    "}",
];

/// Cases that differ on the live server besides [`DIFFERENCES`]: the server advertises only
/// what is implemented end to end (the test double advertises Dovecot's whole list), and why.
const LIVE_DIFFERENCES: &[(&str, &str)] = &[(
    "capability with args",
    "the list has only what cote implements end to end (the rest is issue 10)",
)];

/// The modseq numbers of an expected line as wildcards: the live fixture is saved by five
/// APPENDs (modseqs 2 to 6, HIGHESTMODSEQ 6), the probe's Dovecot had every message at 8.
/// Which messages a CONDSTORE command names, and every other byte, still compare.
fn modseqs_as_wildcards(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("MODSEQ") {
        let (head, tail) = rest.split_at(at + "MODSEQ".len());
        out.push_str(head);
        let gap = if tail.starts_with(" (") {
            2
        } else if tail.starts_with(' ') {
            1
        } else {
            0
        };
        let digits = tail[gap..].bytes().take_while(u8::is_ascii_digit).count();
        if gap > 0 && digits > 0 {
            out.push_str(&tail[..gap]);
            out.push_str("{*}");
            rest = &tail[gap + digits..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Checks of the helpers (run by the harness before any transcript).
pub fn self_check() {
    assert_eq!(
        modseqs_as_wildcards("* 1 FETCH (MODSEQ (8)) [HIGHESTMODSEQ 9] (MODSEQ 10) MODSEQ 7"),
        "* 1 FETCH (MODSEQ ({*})) [HIGHESTMODSEQ {*}] (MODSEQ {*}) MODSEQ {*}"
    );
    assert_eq!(
        modseqs_as_wildcards("a BAD Invalid MODSEQ value"),
        "a BAD Invalid MODSEQ value"
    );
}

/// How long the server may stay silent before a case's answer is taken as complete.
const QUIET: Duration = Duration::from_millis(1500);
/// How long a loaded machine may take between two lines of an answer that has an end.
const ANSWER_LIMIT: Duration = Duration::from_secs(30);
/// Cases run on this many connections at once.
const THREADS: usize = 4;

/// A client connection reading whole lines.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    closed: bool,
}

impl Conn {
    fn connect(server: &Server) -> Result<Conn, String> {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, server.ports["imap"]))
            .map_err(|e| format!("connect: {e}"))?;
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
            closed: false,
        };
        conn.until(|l| l.starts_with(b"* OK"), Duration::from_secs(10))?;
        Ok(conn)
    }

    fn send(&mut self, data: &[u8]) {
        // A server that closed meanwhile is seen when reading.
        let _ = self.stream.write_all(data);
    }

    /// Reads until a line satisfies `done`, the server closes, or nothing comes for `quiet`;
    /// returns the lines read (the matching one included) and whether `done` was seen.
    fn read(&mut self, done: impl Fn(&[u8]) -> bool, quiet: Duration) -> (Vec<Vec<u8>>, bool) {
        let mut lines = Vec::new();
        loop {
            while let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[..at].to_vec();
                self.buf.drain(..at + 2);
                let found = done(&line);
                lines.push(line);
                if found {
                    return (lines, true);
                }
            }
            if self.closed {
                return (lines, false);
            }
            let _ = self.stream.set_read_timeout(Some(quiet));
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => self.closed = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => self.closed = true,
                Err(_) => return (lines, false),
            }
        }
    }

    /// Reads up to the line `done` accepts; an error if it does not come.
    fn until(
        &mut self,
        done: impl Fn(&[u8]) -> bool,
        limit: Duration,
    ) -> Result<Vec<Vec<u8>>, String> {
        let (lines, found) = self.read(done, limit);
        if found {
            Ok(lines)
        } else {
            Err(format!(
                "no answer; got {:?}",
                lines
                    .iter()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .collect::<Vec<_>>()
            ))
        }
    }

    /// Sends a command and waits for its tagged answer, which must be OK.
    fn ok(&mut self, tag: &str, command: &[u8]) -> Result<(), String> {
        self.send(command);
        let prefix = format!("{tag} ");
        let lines = self.until(
            |l| l.starts_with(prefix.as_bytes()),
            Duration::from_secs(20),
        )?;
        let last = lines
            .last()
            .map(|l| String::from_utf8_lossy(l).into_owned());
        match last {
            Some(l) if l.starts_with(&format!("{tag} OK")) => Ok(()),
            other => Err(format!(
                "{}: {other:?}",
                String::from_utf8_lossy(command).trim_end()
            )),
        }
    }
}

/// The probe's mailboxes for `user`: INBOX with the fixture messages (still `\Recent`: no
/// session selected it), and the other mailboxes.
fn set_up(server: &Server, user: &str) -> Result<(), String> {
    let mut conn = Conn::connect(server)?;
    conn.ok("l", format!("l LOGIN {user} pw\r\n").as_bytes())?;
    for (n, m) in fixture().iter().enumerate() {
        let mut command = format!(
            "a{n} APPEND INBOX ({}) \"{}\" {{{}+}}\r\n",
            m.flags,
            m.date,
            m.data.len()
        )
        .into_bytes();
        command.extend_from_slice(&m.data);
        command.extend_from_slice(b"\r\n");
        conn.ok(&format!("a{n}"), &command)?;
    }
    for name in FIXTURE_MAILBOXES {
        let wire = cote::storage::mutf7::encode(name);
        conn.ok("c", format!("c CREATE \"{wire}\"\r\n").as_bytes())?;
    }
    conn.ok("x", b"x LOGOUT\r\n")
}

/// Runs one case as `user`; `Err` describes the first mismatch.
fn run_case(server: &Server, case: &Case, user: &str) -> Result<(), String> {
    set_up(server, user)?;
    let mut conn = Conn::connect(server)?;
    conn.ok("L", format!("L LOGIN {user} pw\r\n").as_bytes())?;
    if let Some(enable) = &case.enable {
        conn.ok("E", format!("E ENABLE {enable}\r\n").as_bytes())?;
    }
    match case.state.as_str() {
        "selected" => conn.ok("S", b"S SELECT INBOX\r\n")?,
        "examined" => conn.ok("S", b"S EXAMINE INBOX\r\n")?,
        _ => {}
    }
    conn.send(&case.input);
    // A command after the case tells when its answers are complete, unless the input stops
    // in the middle of a line or literal (then the server waits, and silence tells).
    // An IDLE left running would take the trailer for its end (`BAD Expected DONE`).
    let trailer = case.input.ends_with(b"\r\n") && !ends_in_idle(&case.input);
    if trailer {
        conn.send(b"ZZZ X-COTE-END\r\n");
    }
    // With the trailer, its answer marks the end however slow the server is; without it,
    // only silence can.
    let wait = if trailer { ANSWER_LIMIT } else { QUIET };
    let (mut lines, ended) = conn.read(|l| trailer && l.starts_with(b"ZZZ "), wait);
    if ended {
        lines.pop();
    }
    let partial = std::mem::take(&mut conn.buf);
    check(case, &lines, &partial, conn.closed)
}

/// Whether the input's last command is IDLE (with no DONE after it).
fn ends_in_idle(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let last = text.trim_end().rsplit("\r\n").next().unwrap_or("");
    last.split(' ')
        .nth(1)
        .is_some_and(|name| name.eq_ignore_ascii_case("IDLE"))
}

/// Plays every case (those whose name contains one of `filters`, if any); returns how many
/// passed, the failures, and how many are known differences.
pub fn replay(server: &Server, filters: &[String]) -> (usize, Vec<String>, usize) {
    let mut cases = Vec::new();
    let mut differ = 0;
    for file in session_cases::files() {
        for case in session_cases::parse_cases(&file) {
            if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
                continue;
            }
            let mut differs = DIFFERENCES.iter().chain(LIVE_DIFFERENCES);
            if let Some((_, why)) = differs.find(|(name, _)| *name == case.name) {
                differ += 1;
                println!("session {}: {} ... differs ({why})", case.file, case.name);
                continue;
            }
            let mut case = case;
            for expect in &mut case.expect {
                if let session_cases::Expect::Line(line) = expect {
                    *line = modseqs_as_wildcards(line);
                }
            }
            cases.push(case);
        }
    }
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let result = run_case(server, case, &format!("probe{i}"));
                if let Ok(mut results) = results.lock() {
                    results.push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    let mut passed = 0;
    let mut failures = Vec::new();
    for (i, result) in results {
        let case = &cases[i];
        match result {
            Ok(()) => {
                passed += 1;
                println!("session {}: {} ... ok", case.file, case.name);
            }
            Err(e) => {
                println!("session {}: {} ... FAILED", case.file, case.name);
                failures.push(format!(
                    "t/imap/session/{}:{}: {}\n  {e}",
                    case.file, case.line, case.name
                ));
            }
        }
    }
    println!(
        "session cases: {} in {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    (passed, failures, differ)
}
