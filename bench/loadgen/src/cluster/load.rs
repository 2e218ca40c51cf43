//! The load: workers, each logged in as one of the users (several workers per user), pick a
//! node at random for every operation and journal its outcome; IDLE sessions on every node
//! watch a shared mailbox meanwhile.
//!
//! Ownership keeps the expected state exact under concurrency: a message belongs to the
//! worker that created it (APPEND, COPY or MOVE destination); only its owner moves, expunges
//! or flags it `\Flagged`; any worker copies any message; keyword `wN` is set and cleared only
//! by worker N, on any message. Mailboxes `wN-bK` are worker N's own (CREATE, RENAME,
//! DELETE). LMTP delivers into INBOX, which POP3 sessions download and delete.

use std::io::{BufRead, ErrorKind, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::journal::{Entry, Journal, Outcome};
use super::message::{message, token_in};
use super::{Cluster, SHARED_BOXES};
use crate::corpus::Rng;
use crate::imap::{quote, wrong, Client, ClientError, Reply};
use crate::line_load::{dot_stuffed, LineConn};
use crate::stats::Stats;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Append,
    Copy,
    Move,
    Expunge,
    Keyword,
    Flag,
    Mailbox,
    Deliver,
    Pop3,
}

const MIX: &[(Op, u64)] = &[
    (Op::Append, 26),
    (Op::Copy, 10),
    (Op::Move, 8),
    (Op::Expunge, 10),
    (Op::Keyword, 14),
    (Op::Flag, 8),
    (Op::Mailbox, 6),
    (Op::Deliver, 12),
    (Op::Pop3, 6),
];

fn pick_op(rng: &mut Rng) -> Op {
    rng.pick_weighted(MIX)
}

/// Runs `workers` workers for `duration`, journals into `dir`, returns the stats.
pub fn run_load(
    cluster: &Cluster,
    workers: usize,
    duration: Duration,
    dir: &Path,
    seed: u64,
) -> Result<(Stats, Duration), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    prepare(cluster)?;
    let start = Instant::now();
    let deadline = start + duration;
    let stop = Arc::new(AtomicBool::new(false));
    let mut watchers = Vec::new();
    for (n, node) in cluster.nodes.iter().enumerate() {
        for user in &cluster.users {
            let (addr, user, password) =
                (node.imap.clone(), user.clone(), cluster.password.clone());
            let (stop, timeout) = (stop.clone(), cluster.timeout);
            watchers.push(thread::spawn(move || {
                let mut stats = Stats::default();
                if let Err(err) = idle_watch(&addr, &user, &password, timeout, &stop, &mut stats) {
                    stats.error("IDLE", &format!("node {n} {user}: {err}"));
                }
                stats
            }));
        }
    }
    let mut handles = Vec::new();
    for id in 0..workers {
        let cluster = cluster.clone();
        let path = dir.join(format!("journal-{id:03}.txt"));
        handles.push(thread::spawn(move || -> Result<Stats, String> {
            let journal = Journal::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut worker = Worker::new(id, &cluster, journal, seed);
            while Instant::now() < deadline {
                worker.step()?;
            }
            worker.finish();
            Ok(worker.stats)
        }));
    }
    let mut total = Stats::default();
    let mut failure = None;
    for handle in handles {
        match handle.join() {
            Ok(Ok(stats)) => total.merge(stats),
            Ok(Err(err)) => failure = Some(err),
            Err(_) => failure = Some("a worker panicked".to_string()),
        }
    }
    let wall = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    for handle in watchers {
        match handle.join() {
            Ok(stats) => total.merge(stats),
            Err(_) => failure = Some("an IDLE watcher panicked".to_string()),
        }
    }
    match failure {
        Some(err) => Err(err),
        None => Ok((total, wall)),
    }
}

/// Creates the shared mailboxes (through the first node) before the load starts.
fn prepare(cluster: &Cluster) -> Result<(), String> {
    for user in &cluster.users {
        let mut client = Client::connect(&cluster.nodes[0].imap, cluster.timeout)
            .and_then(|mut c| c.login(user, &cluster.password).map(|_| c))
            .map_err(|e| format!("{user}: {e}"))?;
        for name in SHARED_BOXES {
            let reply = client
                .command(&format!("CREATE {name}"))
                .map_err(|e| format!("{user}: CREATE {name}: {e}"))?;
            if reply.status != "OK" && !reply.tagged.contains("[ALREADYEXISTS]") {
                return Err(format!("{user}: CREATE {name}: {}", reply.tagged));
            }
        }
        let _ = client.command("LOGOUT");
    }
    Ok(())
}

/// One IMAP connection of a worker and what it has selected.
struct Conn {
    client: Client,
    selected: Option<String>,
}

/// A worker's own mailbox and where it is in its life.
struct OwnBox {
    name: String,
    renamed: bool,
}

struct Worker {
    id: usize,
    user: String,
    cluster: Cluster,
    journal: Journal,
    rng: Rng,
    imap: Vec<Option<Conn>>,
    lmtp: Vec<Option<LineConn>>,
    /// Messages this worker owns in the shared mailboxes: (mailbox, uid).
    own: Vec<(String, u32)>,
    own_box: Option<OwnBox>,
    boxes_made: u32,
    made: u64,
    stats: Stats,
    /// The node of the operation under way.
    node: usize,
    started: Instant,
}

/// How an IMAP command ended, for the journal.
fn outcome_of(result: &Result<Reply, ClientError>) -> Outcome {
    match result {
        Ok(reply) if reply.status == "OK" => Outcome::Done,
        Ok(_) => Outcome::Refused,
        Err(ClientError::Wrong(_)) => Outcome::Refused,
        Err(ClientError::Io(_)) => Outcome::Unknown,
    }
}

/// `[NAME a b c]` in a reply (tagged or untagged OK): the numbers after NAME.
fn response_code(reply: &Reply, name: &str) -> Option<Vec<u32>> {
    let needle = format!("[{name} ");
    std::iter::once(&reply.tagged)
        .chain(reply.untagged.iter().map(|l| &l.text))
        .find_map(|text| {
            let start = text.find(&needle)? + needle.len();
            let end = text[start..].find(']')? + start;
            text[start..end]
                .split(' ')
                .map(|w| w.parse().ok())
                .collect::<Option<Vec<u32>>>()
        })
}

impl Worker {
    fn new(id: usize, cluster: &Cluster, journal: Journal, seed: u64) -> Worker {
        let nodes = cluster.nodes.len();
        Worker {
            id,
            user: cluster.users[id % cluster.users.len()].clone(),
            cluster: cluster.clone(),
            journal,
            rng: Rng::new(seed.wrapping_mul(1000).wrapping_add(id as u64 + 1)),
            imap: (0..nodes).map(|_| None).collect(),
            lmtp: (0..nodes).map(|_| None).collect(),
            own: Vec::new(),
            own_box: None,
            boxes_made: 0,
            made: 0,
            stats: Stats::default(),
            node: 0,
            started: Instant::now(),
        }
    }

    fn record(&mut self, entry: Entry) -> Result<(), String> {
        self.journal
            .record(&entry)
            .map_err(|e| format!("journal of worker {}: {e}", self.id))
    }

    /// A journal entry; `node` and `ms` (since the worker started) help read server logs
    /// beside the journal.
    fn entry(&self, event: &str, outcome: Outcome) -> Entry {
        Entry::new(event, outcome, self.id)
            .with("user", &self.user)
            .with("node", self.node)
            .with("ms", self.started.elapsed().as_millis())
    }

    fn token(&mut self) -> String {
        self.made += 1;
        format!("w{}m{}", self.id, self.made)
    }

    fn keyword(&self) -> String {
        format!("w{}", self.id)
    }

    fn step(&mut self) -> Result<(), String> {
        let node = self.rng.below(self.cluster.nodes.len() as u64) as usize;
        self.node = node;
        let op = pick_op(&mut self.rng);
        let begin = Instant::now();
        let result = match op {
            Op::Append => {
                let to = self.shared_box();
                self.append(node, &to).map(|_| ())
            }
            Op::Copy => self.copy(node),
            Op::Move => self.move_own(node),
            Op::Expunge => self.expunge(node),
            Op::Keyword => self.keyword_store(node),
            Op::Flag => self.flag_store(node),
            Op::Mailbox => self.mailbox_life(node),
            Op::Deliver => self.deliver(node),
            Op::Pop3 => self.pop3(node),
        };
        let name = format!("{op:?}").to_uppercase();
        match result {
            Ok(()) => self.stats.ok(&name, begin.elapsed()),
            Err(Failure::Journal(err)) => return Err(err),
            Err(Failure::Client(err)) => {
                self.stats
                    .error(&name, &format!("node {node} worker {}: {err}", self.id));
                if matches!(err, ClientError::Io(_)) {
                    self.imap[node] = None;
                    self.lmtp[node] = None;
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self) {
        for conn in self.imap.iter_mut().flatten() {
            let _ = conn.client.command("LOGOUT");
        }
        for conn in self.lmtp.iter_mut().flatten() {
            let _ = conn.send("QUIT");
        }
    }

    fn shared_box(&mut self) -> String {
        SHARED_BOXES[self.rng.below(SHARED_BOXES.len() as u64) as usize].to_string()
    }

    fn conn(&mut self, node: usize) -> Result<&mut Conn, Failure> {
        if self.imap[node].is_none() {
            let mut client = Client::connect(&self.cluster.nodes[node].imap, self.cluster.timeout)?;
            client.login(&self.user, &self.cluster.password)?;
            self.imap[node] = Some(Conn {
                client,
                selected: None,
            });
        }
        self.imap[node]
            .as_mut()
            .ok_or_else(|| Failure::Client(wrong("no connection")))
    }

    /// Selects `name` on `node`'s connection, or brings the selected mailbox's view up to
    /// date (NOOP): a UID learned elsewhere (APPENDUID through the other node) is unknown to
    /// a session that has not synced since, and UID STORE/EXPUNGE of an unknown UID succeed
    /// doing nothing, in Dovecot as in cote.
    fn select(&mut self, node: usize, name: &str) -> Result<&mut Conn, Failure> {
        let conn = self.conn(node)?;
        if conn.selected.as_deref() == Some(name) {
            conn.client.command("NOOP")?.expect_ok("NOOP")?;
        } else {
            conn.selected = None;
            conn.client
                .command(&format!("SELECT {}", quote(name)))?
                .expect_ok("SELECT")?;
            conn.selected = Some(name.to_string());
        }
        Ok(conn)
    }

    /// A UID of the selected mailbox, any owner (None: empty).
    fn any_uid(&mut self, node: usize, name: &str) -> Result<Option<u32>, Failure> {
        let conn = self.select(node, name)?;
        let reply = conn.client.command("UID SEARCH ALL")?;
        reply.expect_ok("UID SEARCH")?;
        let uids = reply.search_numbers("SEARCH")?;
        if uids.is_empty() {
            return Ok(None);
        }
        let pick = self.rng.below(uids.len() as u64) as usize;
        Ok(Some(uids[pick]))
    }

    fn own_pick(&mut self) -> Option<usize> {
        (!self.own.is_empty()).then(|| self.rng.below(self.own.len() as u64) as usize)
    }

    fn append(&mut self, node: usize, to: &str) -> Result<Option<u32>, Failure> {
        let token = self.token();
        let flagged = self.rng.below(4) == 0;
        let data = message(&token, &self.user, &mut self.rng);
        let flags = if flagged { "(\\Flagged)" } else { "()" };
        let conn = self.conn(node)?;
        let result = conn
            .client
            .command_with_literal(&format!("APPEND {} {flags}", quote(to)), &data);
        let outcome = outcome_of(&result);
        let mut entry = self
            .entry("append", outcome)
            .with("box", to)
            .with("token", &token)
            .with("flagged", u8::from(flagged));
        let mut uid = None;
        if let Ok(reply) = &result {
            if let Some([uidv, got]) = response_code(reply, "APPENDUID").as_deref() {
                entry = entry.with("uidv", uidv).with("uid", got);
                uid = Some(*got);
            } else if outcome == Outcome::Done {
                return Err(Failure::Client(wrong(format!(
                    "APPEND: no APPENDUID: {}",
                    reply.tagged
                ))));
            }
        }
        self.record(entry)?;
        let reply = result?;
        reply.expect_ok("APPEND")?;
        if let Some(uid) = uid {
            if SHARED_BOXES.contains(&to) {
                self.own.push((to.to_string(), uid));
            }
        }
        Ok(uid)
    }

    fn copy(&mut self, node: usize) -> Result<(), Failure> {
        let from = self.shared_box();
        let mut to = self.shared_box();
        while to == from {
            to = self.shared_box();
        }
        let Some(src) = self.any_uid(node, &from)? else {
            return Ok(());
        };
        let conn = self.select(node, &from)?;
        let result = conn.client.command(&format!("UID COPY {src} {to}"));
        self.journal_copy("copy", result, &from, src, &to)
    }

    fn move_own(&mut self, node: usize) -> Result<(), Failure> {
        let Some(i) = self.own_pick() else {
            return Ok(());
        };
        let (from, src) = self.own[i].clone();
        let mut to = self.shared_box();
        while to == from {
            to = self.shared_box();
        }
        let conn = self.select(node, &from)?;
        let result = conn.client.command(&format!("UID MOVE {src} {to}"));
        if outcome_of(&result) != Outcome::Refused {
            self.own.swap_remove(i);
        }
        self.journal_copy("move", result, &from, src, &to)
    }

    /// Journals a COPY or MOVE; an OK without COPYUID means the source was gone.
    fn journal_copy(
        &mut self,
        event: &str,
        result: Result<Reply, ClientError>,
        from: &str,
        src: u32,
        to: &str,
    ) -> Result<(), Failure> {
        let outcome = outcome_of(&result);
        let mut entry = self
            .entry(event, outcome)
            .with("from", from)
            .with("src", src)
            .with("to", to);
        let mut dst = None;
        if let Ok(reply) = &result {
            if let Some([uidv, s, d]) = response_code(reply, "COPYUID").as_deref() {
                if *s != src {
                    return Err(Failure::Client(wrong(format!(
                        "{event}: COPYUID for {s}, asked {src}"
                    ))));
                }
                entry = entry.with("uidv", uidv).with("dst", d);
                dst = Some(*d);
            } else if outcome == Outcome::Done {
                entry = entry.with("dst", 0);
            }
        }
        self.record(entry)?;
        if let Some(d) = dst {
            self.own.push((to.to_string(), d));
        }
        let reply = result?;
        // Copying a message another node just expunged is refused by some servers.
        if reply.status == "OK" || reply.tagged.contains("EXPUNGEISSUED") {
            Ok(())
        } else {
            Err(Failure::Client(wrong(format!("{event}: {}", reply.tagged))))
        }
    }

    fn expunge(&mut self, node: usize) -> Result<(), Failure> {
        let Some(i) = self.own_pick() else {
            return Ok(());
        };
        let (name, uid) = self.own[i].clone();
        let conn = self.select(node, &name)?;
        conn.client
            .command(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))?
            .expect_ok("STORE \\Deleted")?;
        let result = conn.client.command(&format!("UID EXPUNGE {uid}"));
        let outcome = outcome_of(&result);
        if outcome != Outcome::Refused {
            self.own.swap_remove(i);
        }
        let entry = self
            .entry("expunge", outcome)
            .with("box", &name)
            .with("uid", uid);
        self.record(entry)?;
        result?.expect_ok("UID EXPUNGE")?;
        Ok(())
    }

    fn store(
        &mut self,
        node: usize,
        name: &str,
        uid: u32,
        flag: &str,
        on: bool,
    ) -> Result<(), Failure> {
        let conn = self.select(node, name)?;
        let sign = if on { '+' } else { '-' };
        let result = conn
            .client
            .command(&format!("UID STORE {uid} {sign}FLAGS.SILENT ({flag})"));
        let entry = self
            .entry("store", outcome_of(&result))
            .with("box", name)
            .with("uid", uid)
            .with(
                "flag",
                if flag.starts_with('\\') {
                    "flagged"
                } else {
                    "kw"
                },
            )
            .with("on", u8::from(on));
        self.record(entry)?;
        result?.expect_ok("UID STORE")?;
        Ok(())
    }

    fn keyword_store(&mut self, node: usize) -> Result<(), Failure> {
        let name = self.shared_box();
        let Some(uid) = self.any_uid(node, &name)? else {
            return Ok(());
        };
        let on = self.rng.below(2) == 0;
        let keyword = self.keyword();
        self.store(node, &name, uid, &keyword, on)
    }

    fn flag_store(&mut self, node: usize) -> Result<(), Failure> {
        let Some(i) = self.own_pick() else {
            return Ok(());
        };
        let (name, uid) = self.own[i].clone();
        let on = self.rng.below(2) == 0;
        self.store(node, &name, uid, "\\Flagged", on)
    }

    /// This worker's own mailbox: created (with a message), renamed, deleted, in turn.
    fn mailbox_life(&mut self, node: usize) -> Result<(), Failure> {
        match self.own_box.take() {
            None => {
                self.boxes_made += 1;
                let name = format!("w{}-b{}", self.id, self.boxes_made);
                let conn = self.conn(node)?;
                let result = conn.client.command(&format!("CREATE {name}"));
                let outcome = outcome_of(&result);
                let entry = self.entry("mbox-create", outcome).with("box", &name);
                self.record(entry)?;
                result?.expect_ok("CREATE")?;
                self.own_box = Some(OwnBox {
                    name: name.clone(),
                    renamed: false,
                });
                self.append(node, &name)?;
                Ok(())
            }
            Some(own) if !own.renamed => {
                let to = format!("{}r", own.name);
                let conn = self.conn(node)?;
                let result = conn.client.command(&format!("RENAME {} {to}", own.name));
                let outcome = outcome_of(&result);
                let entry = self
                    .entry("mbox-rename", outcome)
                    .with("from", &own.name)
                    .with("to", &to);
                self.record(entry)?;
                if outcome == Outcome::Done {
                    self.own_box = Some(OwnBox {
                        name: to,
                        renamed: true,
                    });
                }
                result?.expect_ok("RENAME")?;
                Ok(())
            }
            Some(own) => {
                let conn = self.conn(node)?;
                let result = conn.client.command(&format!("DELETE {}", own.name));
                let outcome = outcome_of(&result);
                let entry = self.entry("mbox-delete", outcome).with("box", &own.name);
                self.record(entry)?;
                if outcome == Outcome::Refused {
                    self.own_box = Some(own);
                }
                result?.expect_ok("DELETE")?;
                Ok(())
            }
        }
    }

    fn lmtp_conn(&mut self, node: usize) -> Result<&mut LineConn, Failure> {
        if self.lmtp[node].is_none() {
            let mut conn = LineConn::connect(&self.cluster.nodes[node].lmtp, self.cluster.timeout)?;
            conn.reply("greeting", '2')?;
            conn.send("LHLO cluster.test")?;
            conn.reply("LHLO", '2')?;
            self.lmtp[node] = Some(conn);
        }
        self.lmtp[node]
            .as_mut()
            .ok_or_else(|| Failure::Client(wrong("no connection")))
    }

    fn deliver(&mut self, node: usize) -> Result<(), Failure> {
        let token = self.token();
        let data = dot_stuffed(&message(&token, &self.user, &mut self.rng));
        let user = self.user.clone();
        let conn = self.lmtp_conn(node)?;
        conn.send("MAIL FROM:<load@cluster.test>")?;
        conn.reply("MAIL", '2')?;
        conn.send(&format!("RCPT TO:<{user}>"))?;
        conn.reply("RCPT", '2')?;
        conn.send("DATA")?;
        conn.reply("DATA", '3')?;
        let sent = conn
            .writer
            .write_all(&data)
            .and_then(|()| conn.writer.write_all(b".\r\n"));
        let result = match sent {
            Ok(()) => conn.reply("DATA end", '2'),
            Err(e) => Err(ClientError::Io(e)),
        };
        let outcome = match &result {
            Ok(_) => Outcome::Done,
            Err(ClientError::Wrong(_)) => Outcome::Refused,
            Err(ClientError::Io(_)) => Outcome::Unknown,
        };
        let entry = self.entry("deliver", outcome).with("token", &token);
        self.record(entry)?;
        result?;
        Ok(())
    }

    /// A POP3 session: RETR up to four messages, DELE most of them, QUIT.
    fn pop3(&mut self, node: usize) -> Result<(), Failure> {
        let mut conn = LineConn::connect(&self.cluster.nodes[node].pop3, self.cluster.timeout)?;
        conn.pop3_login(&self.user, &self.cluster.password)?;
        let count = conn.pop3_stat()?;
        let mut seen = Vec::new();
        let mut deleted = Vec::new();
        let take = count.min(4);
        let first = if count > take {
            1 + self.rng.below(u64::from(count - take + 1)) as u32
        } else {
            1
        };
        for n in first..first + take {
            conn.send(&format!("RETR {n}"))?;
            conn.ok("RETR")?;
            let mut token = None;
            loop {
                let mut raw = Vec::new();
                if conn.reader.read_until(b'\n', &mut raw)? == 0 {
                    return Err(Failure::Client(wrong("RETR: closed inside a message")));
                }
                if raw == b".\r\n" {
                    break;
                }
                let line = String::from_utf8_lossy(&raw);
                if token.is_none() && line.to_ascii_lowercase().starts_with("message-id:") {
                    token = token_in(&line).map(str::to_string);
                }
            }
            let token = token.unwrap_or_else(|| "none".to_string());
            seen.push(token.clone());
            if self.rng.below(10) < 7 {
                conn.send(&format!("DELE {n}"))?;
                conn.ok("DELE")?;
                deleted.push(token);
            }
        }
        let quit = conn.send("QUIT").and_then(|()| conn.ok("QUIT"));
        let outcome = match &quit {
            Ok(_) => Outcome::Done,
            Err(ClientError::Wrong(_)) => Outcome::Refused,
            Err(ClientError::Io(_)) => Outcome::Unknown,
        };
        let entry = self
            .entry("pop3", outcome)
            .with("seen", seen.join(","))
            .with("deleted", deleted.join(","));
        self.record(entry)?;
        quit?;
        Ok(())
    }
}

/// Why a step failed: the server (counted, the run goes on) or the journal (the run stops:
/// without its journal nothing can be checked).
enum Failure {
    Client(ClientError),
    Journal(String),
}

impl From<ClientError> for Failure {
    fn from(err: ClientError) -> Self {
        Failure::Client(err)
    }
}

impl From<std::io::Error> for Failure {
    fn from(err: std::io::Error) -> Self {
        Failure::Client(ClientError::Io(err))
    }
}

impl From<String> for Failure {
    fn from(err: String) -> Self {
        Failure::Journal(err)
    }
}

/// Holds an IDLE on Shared1 until `stop`, counting the EXISTS it is told of; then DONE must
/// be answered OK.
fn idle_watch(
    addr: &str,
    user: &str,
    password: &str,
    timeout: Duration,
    stop: &AtomicBool,
    stats: &mut Stats,
) -> Result<(), ClientError> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    let mut writer = stream.try_clone()?;
    let mut reader = std::io::BufReader::new(stream);
    let expect =
        |reader: &mut std::io::BufReader<TcpStream>, tag: &str| -> Result<(), ClientError> {
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line)? == 0 {
                    return Err(wrong("server closed the connection"));
                }
                if let Some(rest) = line.strip_prefix(tag) {
                    return if rest.starts_with(" OK") || tag == "+" {
                        Ok(())
                    } else {
                        Err(wrong(line.trim_end().to_string()))
                    };
                }
            }
        };
    expect(&mut reader, "*")?;
    writer.write_all(format!("l LOGIN {} {}\r\n", quote(user), quote(password)).as_bytes())?;
    expect(&mut reader, "l")?;
    writer.write_all(b"s SELECT Shared1\r\n")?;
    expect(&mut reader, "s")?;
    writer.write_all(b"i IDLE\r\n")?;
    expect(&mut reader, "+")?;
    let started = Instant::now();
    reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(500)))?;
    let mut exists = 0u64;
    let mut line = String::new();
    while !stop.load(Ordering::SeqCst) {
        match reader.read_line(&mut line) {
            Ok(0) => return Err(wrong("server closed the connection during IDLE")),
            Ok(_) => {
                if line.ends_with('\n') {
                    if line.contains(" EXISTS") {
                        exists += 1;
                    } else if line.starts_with("* BYE") || line.starts_with("i ") {
                        return Err(wrong(format!("during IDLE: {}", line.trim_end())));
                    }
                    line.clear();
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e.into()),
        }
    }
    reader.get_ref().set_read_timeout(Some(timeout))?;
    writer.write_all(b"DONE\r\n")?;
    expect(&mut reader, "i")?;
    writer.write_all(b"o LOGOUT\r\n")?;
    let _ = expect(&mut reader, "o");
    // One "IDLE-EXISTS" sample per wake-up the session was told of.
    for _ in 0..exists {
        stats.ok("IDLE-EXISTS", Duration::ZERO);
    }
    stats.ok("IDLE", started.elapsed());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::Line;

    #[test]
    fn response_codes_are_found() {
        let reply = Reply {
            untagged: vec![Line {
                text: "* OK [COPYUID 7 3 9] Moved UIDs.".into(),
                literal_sizes: vec![],
            }],
            status: "OK".into(),
            tagged: "a1 OK Move completed".into(),
        };
        assert_eq!(response_code(&reply, "COPYUID"), Some(vec![7, 3, 9]));
        assert_eq!(response_code(&reply, "APPENDUID"), None);
        let mut rng = Rng::new(1);
        let ops: Vec<Op> = (0..2000).map(|_| pick_op(&mut rng)).collect();
        for &(op, _) in MIX {
            assert!(ops.contains(&op), "{op:?} never picked");
        }
    }
}
