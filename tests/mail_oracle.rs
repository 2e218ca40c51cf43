//! The mail layer against Dovecot 2.3: every message of the corpus, every FETCH item
//! below, and a set of SEARCH queries, answered byte for byte as Dovecot answers them.
//!
//! The corpus: the hand-written messages under t/mail/*.eml, and the messages
//! `mail_corpus::generated` builds deterministically (odd MIME, headers and line ends).
//!
//! - `snapshots_match` compares our answers with the stored ones (Dovecot's answers,
//!   recorded): t/mail/NAME.expected for t/mail/NAME.eml, t/mail/generated.expected for the
//!   generated messages (long answers there as their SHA-256), t/mail/search.expected. An
//!   answer that differs must be listed, with the reason, in t/mail/known-differences.
//! - `oracle_matches_snapshots` starts a private Dovecot (t/oracle/dovecot; needs root and
//!   the unpacked Debian packages), APPENDs every message, and checks that it still answers
//!   what the snapshots say. With COTE_MAIL_ORACLE_REGEN=1 it rewrites the snapshots instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cote::mail::quote::append_nstring;
use cote::mail::search::{sent_matches, DateMatch, HeaderMatch};
use cote::mail::{codec, date, BinaryError, Message, Section};
use sha2::{Digest, Sha256};

#[path = "mail_corpus/mod.rs"]
mod mail_corpus;
use login_support::free_port;

/// A FETCH item: what we send, and which section it is (None for the non-section items).
struct Item {
    fetch: &'static str,
    kind: ItemKind,
}

enum ItemKind {
    Envelope,
    BodyStructure,
    Body,
    Size,
    /// BODY[spec]<partial>: spec, partial, the name Dovecot answers with
    Section(&'static str, &'static str, &'static str),
    Binary(&'static str, &'static str),
    /// BINARY[spec]<partial>: spec, partial, the name Dovecot answers with
    BinaryPartial(&'static str, &'static str, &'static str),
    BinarySize(&'static str, &'static str),
    /// PREVIEW (RFC 8970)
    Preview,
}

const ITEMS: &[Item] = &[
    Item {
        fetch: "ENVELOPE",
        kind: ItemKind::Envelope,
    },
    Item {
        fetch: "BODYSTRUCTURE",
        kind: ItemKind::BodyStructure,
    },
    Item {
        fetch: "BODY",
        kind: ItemKind::Body,
    },
    Item {
        fetch: "RFC822.SIZE",
        kind: ItemKind::Size,
    },
    Item {
        fetch: "BODY.PEEK[]",
        kind: ItemKind::Section("", "", "BODY[]"),
    },
    Item {
        fetch: "BODY.PEEK[HEADER]",
        kind: ItemKind::Section("HEADER", "", "BODY[HEADER]"),
    },
    Item {
        fetch: "BODY.PEEK[TEXT]",
        kind: ItemKind::Section("TEXT", "", "BODY[TEXT]"),
    },
    Item {
        fetch: "BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]",
        kind: ItemKind::Section(
            "HEADER.FIELDS (FROM SUBJECT)",
            "",
            "BODY[HEADER.FIELDS (FROM SUBJECT)]",
        ),
    },
    Item {
        fetch: "BODY.PEEK[HEADER.FIELDS.NOT (FROM SUBJECT)]",
        kind: ItemKind::Section(
            "HEADER.FIELDS.NOT (FROM SUBJECT)",
            "",
            "BODY[HEADER.FIELDS.NOT (FROM SUBJECT)]",
        ),
    },
    Item {
        fetch: "BODY.PEEK[1]",
        kind: ItemKind::Section("1", "", "BODY[1]"),
    },
    Item {
        fetch: "BODY.PEEK[1.MIME]",
        kind: ItemKind::Section("1.MIME", "", "BODY[1.MIME]"),
    },
    Item {
        fetch: "BODY.PEEK[2]",
        kind: ItemKind::Section("2", "", "BODY[2]"),
    },
    Item {
        fetch: "BODY.PEEK[2.MIME]",
        kind: ItemKind::Section("2.MIME", "", "BODY[2.MIME]"),
    },
    Item {
        fetch: "BODY.PEEK[1.1]",
        kind: ItemKind::Section("1.1", "", "BODY[1.1]"),
    },
    Item {
        fetch: "BODY.PEEK[2.HEADER]",
        kind: ItemKind::Section("2.HEADER", "", "BODY[2.HEADER]"),
    },
    Item {
        fetch: "BODY.PEEK[2.TEXT]",
        kind: ItemKind::Section("2.TEXT", "", "BODY[2.TEXT]"),
    },
    Item {
        fetch: "BODY.PEEK[1.HEADER]",
        kind: ItemKind::Section("1.HEADER", "", "BODY[1.HEADER]"),
    },
    Item {
        fetch: "BODY.PEEK[]<5.20>",
        kind: ItemKind::Section("", "<5.20>", "BODY[]<5>"),
    },
    Item {
        fetch: "BODY.PEEK[1]<3>",
        kind: ItemKind::Section("1", "<3>", "BODY[1]<3>"),
    },
    Item {
        fetch: "BODY.PEEK[TEXT]<100000.5>",
        kind: ItemKind::Section("TEXT", "<100000.5>", "BODY[TEXT]<100000>"),
    },
    // BINARY.SIZE leaves Dovecot's session binary cache filled, which turns later BINARY[]
    // answers into literal8 whatever the message: the data items come first
    Item {
        fetch: "BINARY.PEEK[]",
        kind: ItemKind::Binary("", "BINARY[]"),
    },
    Item {
        fetch: "BINARY.PEEK[1]",
        kind: ItemKind::Binary("1", "BINARY[1]"),
    },
    Item {
        fetch: "BINARY.PEEK[1]<3.5>",
        kind: ItemKind::BinaryPartial("1", "<3.5>", "BINARY[1]<3>"),
    },
    Item {
        fetch: "BINARY.PEEK[1.1]",
        kind: ItemKind::Binary("1.1", "BINARY[1.1]"),
    },
    Item {
        fetch: "BINARY.SIZE[1]",
        kind: ItemKind::BinarySize("1", "BINARY.SIZE[1]"),
    },
    Item {
        fetch: "BINARY.PEEK[2]",
        kind: ItemKind::Binary("2", "BINARY[2]"),
    },
    Item {
        fetch: "BINARY.SIZE[2]",
        kind: ItemKind::BinarySize("2", "BINARY.SIZE[2]"),
    },
    Item {
        fetch: "BINARY.SIZE[1.1]",
        kind: ItemKind::BinarySize("1.1", "BINARY.SIZE[1.1]"),
    },
    Item {
        fetch: "PREVIEW",
        kind: ItemKind::Preview,
    },
];

/// SEARCH queries: the IMAP text, and how we evaluate it.
enum Query {
    Header(&'static str, &'static str),
    Body(&'static str),
    Text(&'static str),
    Larger(u64),
    Smaller(u64),
    Sent(DateMatch, &'static str),
}

const QUERIES: &[(&str, Query)] = &[
    (
        "HEADER X-Custom needle",
        Query::Header("X-Custom", "needle"),
    ),
    ("HEADER X-Custom \"\"", Query::Header("X-Custom", "")),
    (
        "HEADER Message-ID example",
        Query::Header("Message-ID", "example"),
    ),
    ("SUBJECT test", Query::Header("Subject", "test")),
    (
        "SUBJECT \"r\u{e9}sum\u{e9}\"",
        Query::Header("Subject", "r\u{e9}sum\u{e9}"),
    ),
    ("SUBJECT resume", Query::Header("Subject", "resume")),
    (
        "SUBJECT \"lots of whitespace\"",
        Query::Header("Subject", "lots of whitespace"),
    ),
    (
        "SUBJECT \"caf\u{e9}\"",
        Query::Header("Subject", "caf\u{e9}"),
    ),
    ("FROM alice", Query::Header("From", "alice")),
    (
        "FROM \"Keld J\u{f8}rn\"",
        Query::Header("From", "Keld J\u{f8}rn"),
    ),
    ("FROM \"<searcher@\"", Query::Header("From", "<searcher@")),
    ("TO bob", Query::Header("To", "bob")),
    ("CC MISSING", Query::Header("Cc", "MISSING")),
    ("BODY hello", Query::Body("hello")),
    ("BODY \"\u{fc}ber\"", Query::Body("\u{fc}ber")),
    ("BODY strasse", Query::Body("strasse")),
    ("BODY treasure", Query::Body("treasure")),
    ("BODY needle", Query::Body("needle")),
    ("BODY \"d\u{e9}j\u{e0}\"", Query::Body("d\u{e9}j\u{e0}")),
    ("BODY \"Andr\u{e9}\"", Query::Body("Andr\u{e9}")),
    ("BODY \"GR\u{dc}SSE\"", Query::Body("GR\u{dc}SSE")),
    ("TEXT needle", Query::Text("needle")),
    ("TEXT \"subject: test\"", Query::Text("subject: test")),
    (
        "TEXT \"content-type: image\"",
        Query::Text("content-type: image"),
    ),
    ("TEXT inner", Query::Text("inner")),
    ("LARGER 1000", Query::Larger(1000)),
    ("SMALLER 100", Query::Smaller(100)),
    (
        "SENTBEFORE 1-Jan-2000",
        Query::Sent(DateMatch::Before, "1-Jan-2000"),
    ),
    (
        "SENTON 7-Feb-1994",
        Query::Sent(DateMatch::On, "7-Feb-1994"),
    ),
    (
        "SENTSINCE 1-Jan-2006",
        Query::Sent(DateMatch::Since, "1-Jan-2006"),
    ),
    (
        "SENTON 13-Feb-1969",
        Query::Sent(DateMatch::On, "13-Feb-1969"),
    ),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("t/mail")
}

/// Every message: the hand-written ones, then the generated ones.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut corpus = file_corpus();
    corpus.extend(mail_corpus::generated());
    corpus
}

fn is_generated(name: &str) -> bool {
    name.starts_with("gen-")
}

/// Answers of generated messages longer than this are recorded as their SHA-256.
const DIGEST_OVER: usize = 256;

/// How an answer is recorded in t/mail/generated.expected.
fn recorded_form(data: &[u8]) -> Vec<u8> {
    if data.len() <= DIGEST_OVER {
        return data.to_vec();
    }
    let hex: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex} ({} bytes)", data.len()).into_bytes()
}

/// Whether our answer is the recorded one.
fn same_answer(name: &str, recorded: &[u8], ours: &[u8]) -> bool {
    if is_generated(name) {
        recorded == recorded_form(ours).as_slice()
    } else {
        recorded == ours
    }
}

fn generated_snapshot() -> PathBuf {
    corpus_dir().join("generated.expected")
}

/// The recorded answers of every message, by name: `(item, answer)` in ITEMS order.
fn recorded_answers(corpus: &[(String, Vec<u8>)]) -> BTreeMap<String, Vec<(String, Vec<u8>)>> {
    let mut answers = BTreeMap::new();
    for (name, _) in corpus.iter().filter(|(n, _)| !is_generated(n)) {
        let records = read_records(&corpus_dir().join(format!("{name}.expected")));
        answers.insert(name.clone(), records);
    }
    if corpus.iter().any(|(n, _)| is_generated(n)) {
        for (label, data) in read_records(&generated_snapshot()) {
            let (name, item) = label.split_once(' ').expect("generated record label");
            answers
                .entry(name.to_string())
                .or_insert_with(Vec::new)
                .push((item.to_string(), data));
        }
    }
    answers
}

/// t/mail/known-differences: `NAME ITEM: reason` lines (`#` comments).
fn known_differences() -> BTreeMap<(String, String), String> {
    let path = corpus_dir().join("known-differences");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut known = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, reason) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("{}: no reason in {line:?}", path.display()));
        let (name, item) = key
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}: no item in {line:?}", path.display()));
        known.insert((name.to_string(), item.to_string()), reason.to_string());
    }
    known
}

fn file_corpus() -> Vec<(String, Vec<u8>)> {
    let mut names: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("read t/mail")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".eml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 60,
        "t/mail has only {} messages",
        names.len()
    );
    names
        .into_iter()
        .map(|n| {
            let data = std::fs::read(corpus_dir().join(&n)).expect("read message");
            (n.trim_end_matches(".eml").to_string(), data)
        })
        .collect()
}

fn literal(out: &mut Vec<u8>, data: &[u8], literal8: bool) {
    if literal8 {
        out.push(b'~');
    }
    out.extend_from_slice(format!("{{{}}}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
}

fn binary_error(e: &BinaryError) -> Vec<u8> {
    match e {
        BinaryError::UnknownCte => b"NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding".to_vec(),
        BinaryError::InvalidData => b"NO [PARSE] Invalid data in MIME part".to_vec(),
        BinaryError::Truncated => b"DISCONNECT".to_vec(),
    }
}

fn section(spec: &str, partial: &str) -> Section {
    Section::parse(spec.as_bytes(), partial.as_bytes()).expect("valid section")
}

/// Our answer for one item, in the form Dovecot's untagged FETCH carries it.
fn ours(msg: &Message, item: &Item) -> Vec<u8> {
    let mut out = Vec::new();
    match &item.kind {
        ItemKind::Envelope => {
            out.extend_from_slice(b"ENVELOPE ");
            out.extend_from_slice(&msg.imap_envelope());
        }
        ItemKind::BodyStructure => {
            out.extend_from_slice(b"BODYSTRUCTURE ");
            out.extend_from_slice(&msg.imap_bodystructure().expect("bodystructure"));
        }
        ItemKind::Body => {
            out.extend_from_slice(b"BODY ");
            out.extend_from_slice(&msg.imap_body().expect("body"));
        }
        ItemKind::Size => {
            out.extend_from_slice(format!("RFC822.SIZE {}", msg.virtual_size()).as_bytes())
        }
        ItemKind::Section(spec, partial, name) => {
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            literal(&mut out, &msg.body_section(&section(spec, partial)), false);
        }
        ItemKind::Binary(spec, name) | ItemKind::BinaryPartial(spec, _, name) => {
            let partial = match &item.kind {
                ItemKind::BinaryPartial(_, partial, _) => partial,
                _ => "",
            };
            return binary_answer(msg, &section(spec, partial), name);
        }
        ItemKind::BinarySize(spec, name) => match msg.binary_size(&section(spec, "")) {
            Ok(size) => out.extend_from_slice(format!("{name} {size}").as_bytes()),
            Err(e) => return binary_error(&e),
        },
        ItemKind::Preview => {
            out.extend_from_slice(b"PREVIEW ");
            append_nstring(&mut out, Some(msg.snippet().as_bytes()));
        }
    }
    out
}

/// `BINARY[...] {n}` / `~{n}` with the data, or the error answer.
fn binary_answer(msg: &Message, section: &Section, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    match msg.binary_section(section) {
        Ok(data) => {
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            literal(&mut out, &data.data, data.literal8);
            out
        }
        Err(e) => binary_error(&e),
    }
}

fn search_ours(messages: &[Message], query: &Query) -> Vec<u8> {
    let mut hits = Vec::new();
    for (i, msg) in messages.iter().enumerate() {
        let hit = match query {
            Query::Header(name, key) => msg.search_header(name, key, HeaderMatch::for_key(name)),
            Query::Body(key) => msg.search_body(key),
            Query::Text(key) => msg.search_text(key),
            Query::Larger(n) => msg.virtual_size() > *n,
            Query::Smaller(n) => msg.virtual_size() < *n,
            Query::Sent(kind, day) => {
                let day = date::parse_imap_date(day.as_bytes()).expect("date");
                sent_matches(msg.sent_date(), *kind, day)
            }
        };
        if hit {
            hits.push((i + 1).to_string());
        }
    }
    let mut out = b"* SEARCH".to_vec();
    for h in hits {
        out.push(b' ');
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// A snapshot file: records `== <label> <length>\n<bytes>\n`.
fn write_records(path: &Path, records: &[(String, Vec<u8>)]) {
    let mut out = Vec::new();
    for (label, data) in records {
        out.extend_from_slice(format!("== {label} {}\n", data.len()).as_bytes());
        out.extend_from_slice(data);
        out.push(b'\n');
    }
    std::fs::write(path, out).expect("write snapshot");
}

fn read_records(path: &Path) -> Vec<(String, Vec<u8>)> {
    let data = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; record the snapshots with COTE_MAIL_ORACLE_REGEN=1 cargo test --test mail_oracle",
            path.display()
        )
    });
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let nl = data[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .expect("record header")
            + pos;
        let header = std::str::from_utf8(&data[pos..nl]).expect("utf-8 record header");
        let header = header.strip_prefix("== ").expect("record marker");
        let (label, len) = header.rsplit_once(' ').expect("record length");
        let len: usize = len.parse().expect("record length");
        let start = nl + 1;
        records.push((label.to_string(), data[start..start + len].to_vec()));
        pos = start + len + 1;
    }
    records
}

fn show(data: &[u8]) -> String {
    String::from_utf8_lossy(data).replace('\r', "\\r")
}

#[test]
fn snapshots_match() {
    let corpus = corpus();
    // To look at the generated messages: COTE_MAIL_CORPUS_DUMP=DIR writes them there.
    if let Some(dir) = std::env::var_os("COTE_MAIL_CORPUS_DUMP") {
        for (name, data) in corpus.iter().filter(|(n, _)| is_generated(n)) {
            std::fs::write(Path::new(&dir).join(format!("{name}.eml")), data).expect("dump");
        }
    }
    let mut recorded = recorded_answers(&corpus);
    let known = known_differences();
    let mut known_seen = BTreeSet::new();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let mut messages = Vec::new();
    let mut messages_equal = 0;
    for (name, data) in &corpus {
        let expected = recorded.remove(name).unwrap_or_default();
        // Dovecot stores what APPEND gave it in its LF form; answers come from that
        let msg = Message::parse(codec::to_lf(data));
        assert_eq!(
            expected.len(),
            ITEMS.len(),
            "the snapshot of {name} is stale: record it again (COTE_MAIL_ORACLE_REGEN=1)"
        );
        let mut equal = true;
        for (item, (label, want)) in ITEMS.iter().zip(&expected) {
            assert_eq!(label, item.fetch, "the snapshot of {name} is stale");
            let got = ours(&msg, item);
            compared += 1;
            if same_answer(name, want, &got) {
                continue;
            }
            equal = false;
            let key = (name.clone(), item.fetch.to_string());
            if known.contains_key(&key) {
                known_seen.insert(key);
                continue;
            }
            mismatches.push(format!(
                "{name} {}:\n  dovecot: {}\n  cote:    {}",
                item.fetch,
                show(want),
                show(&got)
            ));
        }
        messages_equal += usize::from(equal);
        messages.push(msg);
    }
    assert!(
        recorded.is_empty(),
        "snapshots of messages no longer in the corpus: {:?}",
        recorded.keys().collect::<Vec<_>>()
    );
    // Only the hand-written messages take part in the SEARCH queries (their order is fixed).
    messages.truncate(corpus.iter().filter(|(n, _)| !is_generated(n)).count());
    let stale: Vec<_> = known
        .keys()
        .filter(|k| !known_seen.contains(*k))
        .map(|(n, i)| format!("{n} {i}"))
        .collect();
    assert!(
        stale.is_empty(),
        "t/mail/known-differences lists answers that are equal now: {stale:?}"
    );
    eprintln!(
        "mail oracle snapshots: {} messages, {messages_equal} answered identically in every \
         item; {} known differences",
        corpus.len(),
        known_seen.len()
    );
    let expected = read_records(&corpus_dir().join("search.expected"));
    assert_eq!(expected.len(), QUERIES.len(), "search.expected is stale");
    for ((text, query), (label, want)) in QUERIES.iter().zip(&expected) {
        assert_eq!(label, text, "search.expected is stale");
        let got = search_ours(&messages, query);
        compared += 1;
        if &got != want {
            mismatches.push(format!(
                "SEARCH {text}:\n  dovecot: {}\n  cote:    {}",
                show(want),
                show(&got)
            ));
        }
    }
    eprintln!(
        "mail oracle snapshots: {} of {compared} answers identical",
        compared - mismatches.len() - known_seen.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {compared} answers differ from Dovecot's:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

// ---- the live oracle ----

struct Dovecot {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

fn start_dovecot() -> Dovecot {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().to_path_buf();
    let root = root.as_path();
    let chmod = |p: &Path, mode: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    chmod(root, 0o755);
    let mail = root.join("mail");
    std::fs::create_dir(&mail).expect("mkdir");
    nix::unistd::chown(&mail, Some(1000.into()), Some(1000.into())).unwrap_or_else(|e| {
        panic!("the Dovecot oracle needs root (chown to uid 1000 failed: {e})")
    });
    let port = free_port();
    let r = root.display();
    let conf = format!(
        "base_dir = {r}/run\nstate_dir = {r}/lib\nlog_path = {r}/dovecot.log\n\
         listen = 127.0.0.1\nprotocols = imap\nssl = no\n\
         mail_location = maildir:{r}/mail/%u\nmail_uid = 1000\nmail_gid = 1000\n\
         first_valid_uid = 1000\n\
         passdb {{\n  driver = static\n  args = password=pw\n}}\n\
         userdb {{\n  driver = static\n  args = uid=1000 gid=1000 home={r}/mail/%u\n}}\n\
         service imap-login {{\n  inet_listener imap {{\n    port = {port}\n  }}\n  \
         inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
    );
    let conf_path = root.join("dovecot.conf");
    std::fs::write(&conf_path, conf).expect("write dovecot.conf");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
    let child = Command::new(&script)
        .args(["dovecot", "-F", "-c"])
        .arg(&conf_path)
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let mut dovecot = Dovecot {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return dovecot;
        }
        if let Ok(Some(status)) = dovecot.child.try_wait() {
            let log = std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default();
            panic!(
                "the Dovecot oracle exited ({status}) before listening; it needs root and \
                 Debian's packages unpacked (make oracle). Log:\n{log}"
            );
        }
        assert!(
            Instant::now() < deadline,
            "the Dovecot oracle did not listen on 127.0.0.1:{port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A minimal IMAP client: commands with literals, whole responses back.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

enum Reply {
    Tagged {
        untagged: Vec<Vec<u8>>,
        status: Vec<u8>,
    },
    Disconnected,
}

impl Client {
    fn connect(port: u16) -> Client {
        Client::login(port, "u", "pw")
    }

    fn login(port: u16, user: &str, password: &str) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
            tag: 0,
        };
        client.response_line().expect("greeting");
        client.ok(&format!("LOGIN {user} {password}"));
        client
    }

    /// One response line, with any literals it announces.
    fn response_line(&mut self) -> Option<Vec<u8>> {
        let mut line = Vec::new();
        loop {
            let mut part = Vec::new();
            if self.reader.read_until(b'\n', &mut part).ok()? == 0 {
                return None;
            }
            line.extend_from_slice(&part);
            let Some(open) = part.iter().rposition(|&b| b == b'{') else {
                return Some(line);
            };
            let tail = &part[open + 1..];
            let Some(len) = tail
                .strip_suffix(b"}\r\n")
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<usize>().ok())
            else {
                return Some(line);
            };
            let mut lit = vec![0; len];
            self.reader.read_exact(&mut lit).ok()?;
            line.extend_from_slice(&lit);
        }
    }

    fn command(&mut self, cmd: &[u8], literal: Option<&[u8]>) -> Reply {
        self.command_with(cmd, literal, false)
    }

    /// `command`, its literal sent as literal8 (`~{n}`) when `literal8`.
    fn command_with(&mut self, cmd: &[u8], literal: Option<&[u8]>, literal8: bool) -> Reply {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        let mut line = format!("{tag} ").into_bytes();
        line.extend_from_slice(cmd);
        if let Some(lit) = literal {
            let marker = if literal8 { " ~" } else { " " };
            line.extend_from_slice(format!("{marker}{{{}}}\r\n", lit.len()).as_bytes());
            if self.writer.write_all(&line).is_err() {
                return Reply::Disconnected;
            }
            match self.response_line() {
                Some(l) if l.starts_with(b"+") => {}
                _ => return Reply::Disconnected,
            }
            line = lit.to_vec();
        }
        line.extend_from_slice(b"\r\n");
        if self.writer.write_all(&line).is_err() {
            return Reply::Disconnected;
        }
        let mut untagged = Vec::new();
        loop {
            let Some(resp) = self.response_line() else {
                return Reply::Disconnected;
            };
            if let Some(status) = resp.strip_prefix(format!("{tag} ").as_bytes()) {
                return Reply::Tagged {
                    untagged,
                    status: status.to_vec(),
                };
            }
            untagged.push(resp);
        }
    }

    fn ok(&mut self, cmd: &str) -> Vec<Vec<u8>> {
        match self.command(cmd.as_bytes(), None) {
            Reply::Tagged { untagged, status } if status.starts_with(b"OK") => untagged,
            Reply::Tagged { status, .. } => panic!("Dovecot: {cmd}: {}", show(&status)),
            Reply::Disconnected => panic!("Dovecot disconnected on {cmd}"),
        }
    }
}

/// `NO [X] text (0.001 + 0.000 secs).` without the timing.
fn status_text(status: &[u8]) -> Vec<u8> {
    let s = status.strip_suffix(b"\r\n").unwrap_or(status);
    let s = match s.windows(2).rposition(|w| w == b" (") {
        Some(i) if s.ends_with(b"secs).") => &s[..i],
        _ => s,
    };
    s.to_vec()
}

/// Dovecot's answer for one FETCH item of message `seq`.
fn fetch_oracle(client: &mut Client, seq: usize, item: &Item) -> Option<Vec<u8>> {
    let cmd = format!("FETCH {seq} ({})", item.fetch);
    match client.command(cmd.as_bytes(), None) {
        Reply::Disconnected => None,
        Reply::Tagged { untagged, status } => {
            if !status.starts_with(b"OK") {
                return Some(status_text(&status));
            }
            let prefix = format!("* {seq} FETCH (");
            let fetch: Vec<_> = untagged
                .iter()
                .filter(|l| l.starts_with(prefix.as_bytes()))
                .collect();
            assert_eq!(
                fetch.len(),
                1,
                "{cmd}: {:?}",
                untagged.iter().map(|l| show(l)).collect::<Vec<_>>()
            );
            let line = fetch[0];
            let value = &line[prefix.len()..line.len() - 3];
            assert!(line.ends_with(b")\r\n"), "{cmd}: {}", show(line));
            Some(value.to_vec())
        }
    }
}

#[test]
fn oracle_matches_snapshots() {
    let regen = std::env::var_os("COTE_MAIL_ORACLE_REGEN").is_some();
    let corpus = corpus();
    let dovecot = start_dovecot();
    let mut client = Client::connect(dovecot.port);
    // The hand-written messages in `corpus` (the SEARCH queries run there), the generated
    // ones in `generated`; FETCH asks each in its own mailbox.
    let mailbox = |name: &str| {
        if is_generated(name) {
            "generated"
        } else {
            "corpus"
        }
    };
    client.ok("CREATE corpus");
    client.ok("CREATE generated");
    let mut seqs = Vec::new();
    let mut counts = BTreeMap::new();
    for (name, data) in &corpus {
        let command = format!("APPEND {}", mailbox(name));
        match client.command(command.as_bytes(), Some(data)) {
            Reply::Tagged { status, .. } if status.starts_with(b"OK") => {}
            _ => panic!("Dovecot refused to APPEND {name}"),
        }
        let count = counts.entry(mailbox(name)).or_insert(0usize);
        *count += 1;
        seqs.push(*count);
    }
    let mut selected = "";
    let mut differ = Vec::new();
    let mut compared = 0;
    let mut recorded = if regen {
        BTreeMap::new()
    } else {
        recorded_answers(&corpus)
    };
    let mut generated_records = Vec::new();
    for ((name, _), &seq) in corpus.iter().zip(&seqs) {
        if selected != mailbox(name) {
            selected = mailbox(name);
            client.ok(&format!("SELECT {selected}"));
        }
        let mut records = Vec::new();
        for item in ITEMS {
            let answer = match fetch_oracle(&mut client, seq, item) {
                Some(answer) => answer,
                None => {
                    client = Client::connect(dovecot.port);
                    client.ok(&format!("SELECT {selected}"));
                    b"DISCONNECT".to_vec()
                }
            };
            records.push((item.fetch.to_string(), answer));
        }
        if is_generated(name) {
            for record in &mut records {
                record.1 = recorded_form(&record.1);
            }
        }
        if regen {
            if is_generated(name) {
                generated_records.extend(
                    records
                        .into_iter()
                        .map(|(item, answer)| (format!("{name} {item}"), answer)),
                );
            } else {
                write_records(&corpus_dir().join(format!("{name}.expected")), &records);
            }
        } else {
            let stored = recorded.remove(name).unwrap_or_default();
            for (live, stored) in records.iter().zip(&stored) {
                compared += 1;
                if live != stored {
                    differ.push(format!("{name} {}: live {}", live.0, show(&live.1)));
                }
            }
        }
    }
    if regen {
        write_records(&generated_snapshot(), &generated_records);
    }
    client.ok("SELECT corpus");
    let mut records = Vec::new();
    for (text, _) in QUERIES {
        let mut cmd = b"SEARCH CHARSET UTF-8 ".to_vec();
        cmd.extend_from_slice(text.as_bytes());
        let answer = match client.command(&cmd, None) {
            Reply::Tagged { untagged, status } if status.starts_with(b"OK") => untagged
                .into_iter()
                .find(|l| l.starts_with(b"* SEARCH"))
                .map(|l| l.strip_suffix(b"\r\n").unwrap_or(&l).to_vec())
                .unwrap_or_default(),
            Reply::Tagged { status, .. } => status_text(&status),
            Reply::Disconnected => panic!("Dovecot disconnected on SEARCH {text}"),
        };
        records.push((text.to_string(), answer));
    }
    let path = corpus_dir().join("search.expected");
    if regen {
        write_records(&path, &records);
        return;
    }
    let stored = read_records(&path);
    for (live, stored) in records.iter().zip(&stored) {
        compared += 1;
        if live != stored {
            differ.push(format!("SEARCH {}: live {}", live.0, show(&live.1)));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {compared} snapshot answers differ from live Dovecot (re-record with \
         COTE_MAIL_ORACLE_REGEN=1):\n{}",
        differ.len(),
        differ.join("\n")
    );
}

// ---- cote over IMAP ----

#[path = "login_support/mod.rs"]
mod login_support;

/// The same FETCHes as `oracle_matches_snapshots`, asked of a live cote: every message
/// APPENDed over IMAP, every item fetched in its own command, each answer compared byte for
/// byte with Dovecot's recorded one (the known differences of `snapshots_match` allowed).
/// This covers what the mail layer test cannot: the session's literal/literal8 framing,
/// `NO [UNKNOWN-CTE]`/`NO [PARSE]` answers, and storage's round trip of the message.
#[test]
fn cote_server_answers_as_the_snapshots() {
    let corpus = corpus();
    let server = login_support::Server::start("");
    let login = || Client::login(server.imap, "alice", "secret");
    let mut client = login();
    let mailbox = |name: &str| {
        if is_generated(name) {
            "generated"
        } else {
            "corpus"
        }
    };
    client.ok("CREATE corpus");
    client.ok("CREATE generated");
    let mut seqs = Vec::new();
    let mut counts = BTreeMap::new();
    for (name, data) in &corpus {
        let command = format!("APPEND {}", mailbox(name));
        match client.command(command.as_bytes(), Some(data)) {
            Reply::Tagged { status, .. } if status.starts_with(b"OK") => {}
            _ => panic!("cote refused to APPEND {name}:\n{}", server.logs()),
        }
        let count = counts.entry(mailbox(name)).or_insert(0usize);
        *count += 1;
        seqs.push(*count);
    }
    let mut recorded = recorded_answers(&corpus);
    let known = known_differences();
    let mut selected = "";
    let mut compared = 0;
    let mut known_seen = 0;
    let mut mismatches = Vec::new();
    for ((name, _), &seq) in corpus.iter().zip(&seqs) {
        if selected != mailbox(name) {
            selected = mailbox(name);
            client.ok(&format!("SELECT {selected}"));
        }
        let expected = recorded.remove(name).unwrap_or_default();
        assert_eq!(
            expected.len(),
            ITEMS.len(),
            "the snapshot of {name} is stale"
        );
        for (item, (_, want)) in ITEMS.iter().zip(&expected) {
            let got = match fetch_oracle(&mut client, seq, item) {
                Some(answer) => answer,
                None => {
                    client = login();
                    client.ok(&format!("SELECT {selected}"));
                    b"DISCONNECT".to_vec()
                }
            };
            compared += 1;
            if same_answer(name, want, &got) {
                continue;
            }
            if known.contains_key(&(name.clone(), item.fetch.to_string())) {
                known_seen += 1;
                continue;
            }
            mismatches.push(format!(
                "{name} {}:\n  dovecot: {}\n  cote:    {}",
                item.fetch,
                show(want),
                show(&got)
            ));
        }
    }
    eprintln!(
        "cote over IMAP: {} of {compared} FETCH answers identical to Dovecot's, {known_seen} \
         known differences",
        compared - known_seen - mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {compared} answers differ from Dovecot's:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// Messages whose parts say `Content-Transfer-Encoding: binary`, for APPEND with literal8.
const BINARY_APPENDS: &[&[u8]] = &[
    b"Subject: a\r\nContent-Transfer-Encoding: binary\r\n\r\nhello\0world\xff\r\nline2\r\n",
    b"Subject: b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: BINARY\r\n\r\n\x00\x01\x02\xfe\xff\r\n",
    b"Subject: c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\npre\r\n--xx\r\nContent-Transfer-Encoding: binary\r\nContent-Type: text/plain\r\n\r\nab\0c\r\n--xx\r\nContent-Type: text/plain\r\n\r\nplain\r\n--xx--\r\nepi\r\n",
    b"Subject: d\nContent-Transfer-Encoding: binary\n\nlf only\0\n",
    b"Subject: e\r\nContent-Type: multipart/mixed; boundary=yy\r\nContent-Transfer-Encoding: binary\r\n\r\n--yy\r\n\r\nx\0\r\n--yy--\r\n",
    b"Subject: g\r\nContent-Transfer-Encoding: binary\r\n\r\n",
    b"Subject: h\r\nContent-Transfer-Encoding:  binary\r\n\r\nsp\0\r\n",
    b"Subject: i\r\nContent-Transfer-Encoding:\tbinary\r\n\r\ntab\r\n",
    b"Subject: j\r\nContent-Transfer-Encoding: binary \r\n\r\ntrailing space\r\n",
    b"Subject: k\r\nContent-Transfer-Encoding:\r\n binary\r\n\r\nfolded\r\n",
    b"Subject: l\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\nSubject: inner\r\n\r\ninner\0body\r\n",
    b"Subject: m\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n--zz\r\nContent-Transfer-Encoding: binary\r\n\r\n--zz--\r\n",
];

/// APPEND with literal8 (RFC 3516 §4.4) to Dovecot and to cote, every message of the corpus
/// and the binary ones above: what each stored (BODY[] back) must be the same bytes.
#[test]
fn literal8_append_stores_as_dovecot() {
    let dovecot = start_dovecot();
    let server = login_support::Server::start("");
    let mut theirs = Client::connect(dovecot.port);
    let mut ours = Client::login(server.imap, "alice", "secret");
    let mut messages: Vec<Vec<u8>> = BINARY_APPENDS.iter().map(|m| m.to_vec()).collect();
    // NULs cannot go in a plain literal, but the corpus goes as literal8 whatever it holds.
    messages.extend(corpus().into_iter().map(|(_, data)| data));
    let mut stored = Vec::new();
    for client in [&mut theirs, &mut ours] {
        client.ok("CREATE bin");
        for (i, data) in messages.iter().enumerate() {
            match client.command_with(b"APPEND bin", Some(data), true) {
                Reply::Tagged { status, .. } if status.starts_with(b"OK") => {}
                Reply::Tagged { status, .. } => panic!("APPEND {i}: {}", show(&status)),
                Reply::Disconnected => panic!("APPEND {i}: disconnected"),
            }
        }
        client.ok("SELECT bin");
        let item = Item {
            fetch: "BODY.PEEK[]",
            kind: ItemKind::Section("", "", "BODY[]"),
        };
        let answers: Vec<_> = (1..=messages.len())
            .map(|seq| fetch_oracle(client, seq, &item).expect("FETCH"))
            .collect();
        stored.push(answers);
    }
    let differ: Vec<_> = stored[0]
        .iter()
        .zip(&stored[1])
        .enumerate()
        .filter(|(_, (d, c))| d != c)
        .map(|(i, (d, c))| {
            format!(
                "message {}:\n  dovecot: {}\n  cote:    {}",
                i + 1,
                show(d),
                show(c)
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "{} of {} literal8 APPENDs stored otherwise than by Dovecot:\n{}",
        differ.len(),
        messages.len(),
        differ.join("\n")
    );
}
