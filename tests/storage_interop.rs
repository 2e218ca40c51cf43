//! cote's storage API and a private Dovecot 2.3 (Debian's, the oracle) on one Maildir,
//! taking turns and at the same time: both sides must report the same UIDVALIDITY, UIDs,
//! flags and keywords, and nothing either side acknowledged may be lost.
//!
//! - `alternate`: cote saves, sets flags and keywords, creates and subscribes a folder;
//!   Dovecot sees exactly that, then appends, stores and expunges; cote sees exactly that.
//! - `concurrent`: cote (saves, flag and keyword changes, expunges) and Dovecot over IMAP
//!   (APPEND, STORE, EXPUNGE) hammer the same INBOX at once; then both views agree and
//!   every acknowledged operation of each side holds.
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot). cote runs in child processes
//! as the mail user Dovecot uses (uid 1000), so both write files the other can change.
//! `harness = false`: the binary re-executes itself as those children.

mod fs_support;
mod maildir_support;
mod storage_support;

use std::collections::{BTreeMap, HashMap};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use cote::storage::api::{
    FlagMode, MailFlags, Mailbox, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use cote::storage::namespace::NamespaceConfig;
use cote::storage::user::{MailUser, MailUserInfo};
use fs_support::{child, role, run, Test};
use maildir_support::{Oracle, MAIL_UID};
use storage_support::{message, settings, snapshot, token_of, Rng};

/// Dovecot's side of the namespace, which cote's must match.
const NAMESPACE: &str = "namespace inbox {\n  inbox = yes\n  separator = /\n}\n";

/// UID → (token, flags and keywords lowercased and sorted).
type View = BTreeMap<u32, (String, Vec<String>)>;

fn cote_user(root: &Path) -> MailUser {
    let ns = NamespaceConfig {
        separator: "/".into(),
        ..NamespaceConfig::implicit_inbox()
    };
    let home = root.parent().unwrap();
    let mut settings = settings("fcntl", false, home);
    // Dovecot shares this store: its separator is always ':'.
    settings.maildir.info_separator = cote::storage::maildir::filename::InfoSeparator::DOVECOT;
    MailUser::with_namespaces(
        MailUserInfo {
            username: "alice".into(),
            home: Some(home.display().to_string()),
            ..MailUserInfo::default()
        },
        std::sync::Arc::new(settings),
        vec![ns],
        &format!("maildir:{}", root.display()),
        false,
    )
    .expect("cote user")
}

fn save(mb: &mut dyn Mailbox, token: &str, flags: MailFlags, kw: &[&str]) -> u32 {
    let data = message(token);
    mb.save(
        &[NewMessage {
            data: &data,
            flags,
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            internal_date: None,
        }],
        true,
    )
    .expect("save")
    .uids[0]
}

fn store(mb: &mut dyn Mailbox, uid: u32, mode: FlagMode, flags: MailFlags, kw: &[&str]) {
    mb.store(
        &UidSet::range(uid, uid),
        &StoreRequest {
            mode,
            flags,
            keywords: kw.iter().map(|s| s.to_string()).collect(),
            unchanged_since: None,
        },
    )
    .expect("store");
}

/// Prints `UV v` and `M uid token flags...` for INBOX after a full sync.
fn print_view(user: &mut MailUser) {
    let mut mb = user.open("INBOX", OpenOptions::ACCESS).expect("open");
    mb.sync(SyncFlags {
        full: true,
        fast: false,
    })
    .expect("sync");
    mb.take_expunges();
    println!("UV {}", mb.uidvalidity());
    for (uid, (flags, kw)) in snapshot(&*mb) {
        let data = mb.mail(uid).expect("mail").raw().expect("raw").to_vec();
        let token = token_of(&data).unwrap_or_default();
        let mut all: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        all.extend(kw);
        println!("M {uid} {token} {}", all.join(" "));
    }
}

/// Child (uid 1000): `cote ROOT WHAT [MILLIS]`.
fn cote_role(args: &[String]) -> ExitCode {
    let root = PathBuf::from(&args[0]);
    let mut user = cote_user(&root);
    match args.get(1).map(String::as_str) {
        Some("prepare") => {
            let mut mb = user.open("INBOX", OpenOptions::ACCESS).expect("open");
            save(&mut *mb, "c1", MailFlags::empty(), &[]);
            save(&mut *mb, "c2", MailFlags::SEEN, &["$Junk"]);
            save(
                &mut *mb,
                "c3",
                MailFlags::FLAGGED | MailFlags::ANSWERED,
                &["work"],
            );
            store(
                &mut *mb,
                1,
                FlagMode::Add,
                MailFlags::empty(),
                &["$Important"],
            );
            store(&mut *mb, 2, FlagMode::Remove, MailFlags::SEEN, &[]);
            user.create("Folder/Sub").expect("create");
            user.set_subscribed("Folder/Sub", true).expect("subscribe");
            print_view(&mut user);
        }
        Some("dump") => print_view(&mut user),
        Some("hammer") => {
            let millis: u64 = args[2].parse().unwrap_or(3000);
            let mut mb = user.open("INBOX", OpenOptions::SELECT).expect("open");
            let mut rng = Rng::new(u64::from(std::process::id()));
            let deadline = Instant::now() + Duration::from_millis(millis);
            let mut mine = Vec::new();
            let mut n = 0;
            while Instant::now() < deadline {
                n += 1;
                match rng.below(10) {
                    0..=3 => {
                        let token = format!("c-{n}");
                        let uid = save(&mut *mb, &token, MailFlags::empty(), &[]);
                        println!("S {token} {uid}");
                        mine.push(uid);
                    }
                    4..=6 if !mine.is_empty() => {
                        let uid = mine[rng.below(mine.len())];
                        let on = rng.below(2) == 0;
                        let mode = if on { FlagMode::Add } else { FlagMode::Remove };
                        store(&mut *mb, uid, mode, MailFlags::FLAGGED, &["cote"]);
                        println!("F {uid} {}", u8::from(on));
                    }
                    7 if !mine.is_empty() => {
                        let uid = mine.swap_remove(rng.below(mine.len()));
                        let gone = mb.expunge(&UidSet::range(uid, uid)).expect("expunge");
                        assert!(gone.contains(uid));
                        println!("X {uid}");
                    }
                    _ => {
                        mb.sync(SyncFlags::default()).expect("sync");
                        mb.take_expunges();
                    }
                }
            }
        }
        _ => return ExitCode::from(2),
    }
    ExitCode::SUCCESS
}

/// Runs a cote child as the mail user; returns its output lines.
fn run_cote(root: &Path, args: &[&str]) -> Vec<String> {
    let mut all = vec!["cote", root.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = child(&all, &[])
        .uid(MAIL_UID)
        .gid(MAIL_UID)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run cote child");
    assert!(
        out.status.success(),
        "cote child {args:?} failed: {}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn parse_view(lines: &[String]) -> (u32, View) {
    let mut uv = 0;
    let mut view = View::new();
    for l in lines {
        let f: Vec<&str> = l.split(' ').filter(|s| !s.is_empty()).collect();
        match f.first() {
            Some(&"UV") => uv = f[1].parse().unwrap(),
            Some(&"M") => {
                let mut flags: Vec<String> = f[3..]
                    .iter()
                    .filter(|x| !x.eq_ignore_ascii_case("\\Recent"))
                    .map(|x| x.to_ascii_lowercase())
                    .collect();
                flags.sort();
                view.insert(f[1].parse().unwrap(), (f[2].to_string(), flags));
            }
            _ => {}
        }
    }
    (uv, view)
}

/// Python: Dovecot's INBOX as `UV v` and `M uid token flags...` lines.
const PY_DUMP: &str = r#"
import re
typ, st = c.status('INBOX', '(UIDVALIDITY)')
print('UV', re.search(rb'UIDVALIDITY (\d+)', st[0]).group(1).decode())
c.select('INBOX', readonly=True)
typ, data = c.uid('FETCH', '1:*', '(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
for d in data:
    if not isinstance(d, tuple): continue
    head = d[0].decode()
    uid = re.search(r'UID (\d+)', head).group(1)
    flags = re.search(r'FLAGS \(([^)]*)\)', head).group(1)
    subj = re.search(rb'Subject: (\S+)', d[1]).group(1).decode()
    print('M', uid, subj, flags)
"#;

fn dovecot_view(oracle: &Oracle) -> (u32, View) {
    parse_view(&oracle.imap("alice", PY_DUMP))
}

fn alternate() {
    let oracle = Oracle::start("maildir:~/Maildir", NAMESPACE);
    let root = oracle.path("home/alice/Maildir");
    let cote = parse_view(&run_cote(&root, &["prepare"]));
    assert_eq!(cote.1.len(), 3);
    let dovecot = dovecot_view(&oracle);
    assert_eq!(dovecot, cote, "Dovecot sees what cote wrote");
    assert_eq!(dovecot.1[&1].1, ["$important"]);
    assert_eq!(dovecot.1[&3].1, ["\\answered", "\\flagged", "work"]);
    let subs = oracle.imap(
        "alice",
        "typ, data = c.lsub()\nfor d in data: print(d.decode())",
    );
    assert!(subs.iter().any(|l| l.ends_with("Folder/Sub")), "{subs:?}");
    // Dovecot's turn: append, store, expunge.
    let out = oracle.imap(
        "alice",
        &format!(
            "import re\nc.select('INBOX')\n\
             typ, d = c.append('INBOX', r'(\\Seen $Label1)', None, b{:?})\n\
             print('A', re.search(rb'APPENDUID \\d+ (\\d+)', d[0]).group(1).decode())\n\
             c.uid('STORE', '1', '+FLAGS', r'(\\Flagged dove)')\n\
             c.uid('STORE', '3', '-FLAGS', r'(work)')\n\
             c.uid('STORE', '2', '+FLAGS', r'(\\Deleted)')\n\
             c.expunge()\n",
            String::from_utf8(message("d1")).unwrap()
        ),
    );
    assert_eq!(out, ["A 4"]);
    let dovecot = dovecot_view(&oracle);
    let cote = parse_view(&run_cote(&root, &["dump"]));
    assert_eq!(cote, dovecot, "cote sees what Dovecot did");
    assert_eq!(cote.1.keys().copied().collect::<Vec<_>>(), [1, 3, 4]);
    assert_eq!(cote.1[&1].1, ["$important", "\\flagged", "dove"]);
    assert_eq!(cote.1[&4].1, ["$label1", "\\seen"]);
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}

/// Python: Dovecot's hammer; prints `S token uid`, `F uid 0|1`, `X uid` when acknowledged.
fn py_hammer(millis: u64) -> String {
    format!(
        r#"
import re, random, time
c.select('INBOX')
mine = []
end = time.time() + {secs}
n = 0
while time.time() < end:
    n += 1
    r = random.random()
    if r < 0.4:
        tok = 'd-%d' % n
        msg = 'From: test@example.com\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n\r\nbody %s\r\n' % (tok, tok, tok)
        typ, d = c.append('INBOX', None, None, msg.encode())
        uid = int(re.search(rb'APPENDUID \d+ (\d+)', d[0]).group(1))
        print('S', tok, uid, flush=True)
        mine.append(uid)
    elif r < 0.7 and mine:
        uid = random.choice(mine)
        on = random.random() < 0.5
        typ, d = c.uid('STORE', str(uid), '+FLAGS' if on else '-FLAGS', r'(\Flagged dove)')
        assert typ == 'OK', d
        print('F', uid, 1 if on else 0, flush=True)
    elif r < 0.8 and mine:
        uid = mine.pop(random.randrange(len(mine)))
        c.uid('STORE', str(uid), '+FLAGS', r'(\Deleted)')
        typ, d = c.uid('EXPUNGE', str(uid))
        assert typ == 'OK', d
        print('X', uid, flush=True)
    else:
        c.noop()
"#,
        secs = millis as f64 / 1000.0
    )
}

/// What one side's acknowledged operations require: token → UID, UID → \Flagged.
fn acked(lines: &[String]) -> (HashMap<String, u32>, HashMap<u32, bool>, Vec<u32>) {
    let mut saves = HashMap::new();
    let mut flags = HashMap::new();
    let mut expunged = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split(' ').collect();
        match f[0] {
            "S" => {
                saves.insert(f[1].to_string(), f[2].parse().unwrap());
            }
            "F" => {
                flags.insert(f[1].parse().unwrap(), f[2] == "1");
            }
            "X" => expunged.push(f[1].parse().unwrap()),
            _ => {}
        }
    }
    (saves, flags, expunged)
}

fn concurrent() {
    let oracle = Oracle::start("maildir:~/Maildir", NAMESPACE);
    let root = oracle.path("home/alice/Maildir");
    run_cote(&root, &["prepare"]);
    let millis = 5000;
    let started = Instant::now();
    let dovecot_side = std::thread::scope(|s| {
        let py = s.spawn(|| oracle.imap("alice", &py_hammer(millis)));
        let cote_side = run_cote(&root, &["hammer", &millis.to_string()]);
        (cote_side, py.join().expect("python hammer"))
    });
    let elapsed = started.elapsed();
    let (cote_lines, dove_lines) = dovecot_side;
    let dovecot = dovecot_view(&oracle);
    let cote = parse_view(&run_cote(&root, &["dump"]));
    assert_eq!(cote.0, dovecot.0, "UIDVALIDITY");
    assert_eq!(cote, dovecot, "both sides see the same mailbox");
    let by_token: HashMap<&str, u32> = cote.1.iter().map(|(u, v)| (v.0.as_str(), *u)).collect();
    let mut checked = 0;
    for (lines, keyword) in [(&cote_lines, "cote"), (&dove_lines, "dove")] {
        let (saves, flags, expunged) = acked(lines);
        for (token, uid) in &saves {
            if expunged.contains(uid) {
                assert!(!cote.1.contains_key(uid), "{token}: expunged {uid} is back");
            } else {
                assert_eq!(
                    by_token.get(token.as_str()),
                    Some(uid),
                    "{keyword}: save {token}"
                );
                let on = flags.get(uid).copied().unwrap_or(false);
                let have = &cote.1[uid].1;
                assert_eq!(
                    have.contains(&"\\flagged".to_string()),
                    on,
                    "{token}: {have:?}"
                );
                assert_eq!(have.contains(&keyword.to_string()), on, "{token}: {have:?}");
            }
            checked += 1;
        }
    }
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
    println!(
        "    {} cote and {} Dovecot acknowledged operations in {:.1}s; {checked} saves checked, {} messages at the end",
        cote_lines.len(),
        dove_lines.len(),
        elapsed.as_secs_f64(),
        cote.1.len()
    );
}

fn main() -> ExitCode {
    if let Some(args) = role() {
        return match args.first().map(String::as_str) {
            Some("cote") => cote_role(&args[1..]),
            _ => ExitCode::from(2),
        };
    }
    let tests: &[Test] = &[("alternate", alternate), ("concurrent", concurrent)];
    run(tests)
}
