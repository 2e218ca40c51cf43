//! Storage benchmark: open, sync and save on a large Maildir INBOX (100,000 messages by
//! default), with the index cold (absent: rebuilt from the Maildir) and warm (present), and
//! with `mmap_disable` no and yes. Prints a table; asserts nothing about speed.
//!
//! `cargo bench --bench storage` (or `make bench`). Environment: `COTE_BENCH_MESSAGES`
//! (default 100000), `COTE_BENCH_SAVES` (default 200), `COTE_BENCH_DIR` (default: a temp
//! dir, removed afterwards).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cote::fs::FsPolicy;
use cote::storage::api::{MailFlags, NewMessage, OpenOptions, SyncFlags};
use cote::storage::namespace::NamespaceConfig;
use cote::storage::settings::StorageSettings;
use cote::storage::user::{MailUser, MailUserInfo};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn user(root: &Path, mmap_disable: bool) -> MailUser {
    let fs = FsPolicy {
        mmap_disable,
        ..FsPolicy::dovecot_defaults()
    };
    let mut settings = StorageSettings::dovecot_defaults().with_fs(fs);
    settings.temp_dir = root.parent().unwrap().to_path_buf();
    MailUser::with_namespaces(
        MailUserInfo {
            username: "bench".into(),
            home: Some(root.parent().unwrap().display().to_string()),
            ..MailUserInfo::default()
        },
        Arc::new(settings),
        vec![NamespaceConfig::implicit_inbox()],
        &format!("maildir:{}", root.display()),
        true,
    )
    .expect("user")
}

/// A Maildir with `count` messages in cur/ (a quarter \Seen, some with a keyword) and the
/// dovecot-uidlist Dovecot would have written for them.
fn build_maildir(root: &Path, count: usize) {
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let mut uidlist = format!(
        "3 V1700000000 N{} G0123456789abcdef0123456789abcdef\n",
        count + 1
    );
    let body = "From: bench@example.com\nTo: you@example.com\nSubject: benchmark message\n\
                Date: Tue, 14 Nov 2023 22:13:20 +0000\n\nHello.\n";
    let vsize = body.len() + body.matches('\n').count();
    for i in 0..count {
        let base = format!(
            "{}.M{}P1.bench,S={},W={vsize}",
            1_600_000_000 + i / 1000,
            i % 1000,
            body.len()
        );
        let flags = match i % 8 {
            0 | 1 => "S",
            2 => "Sa",
            3 => "F",
            _ => "",
        };
        std::fs::write(root.join("cur").join(format!("{base}:2,{flags}")), body).unwrap();
        uidlist.push_str(&format!("{} :{base}\n", i + 1));
    }
    std::fs::write(root.join("dovecot-uidlist"), uidlist).unwrap();
    std::fs::write(root.join("dovecot-keywords"), "0 $Junk\n").unwrap();
}

fn remove_index(root: &Path) {
    for e in std::fs::read_dir(root).unwrap() {
        let e = e.unwrap();
        if e.file_name().to_string_lossy().starts_with("cote.index") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let v = f();
    (v, start.elapsed())
}

fn ms(d: Duration) -> String {
    format!("{:>10.2} ms", d.as_secs_f64() * 1000.0)
}

struct Row(String, Duration, String);

fn run(root: &Path, mmap_disable: bool, saves: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    let tag = if mmap_disable {
        "mmap_disable=yes"
    } else {
        "mmap_disable=no"
    };
    remove_index(root);
    let mut u = user(root, mmap_disable);
    let (mb, d) = time(|| u.open("INBOX", OpenOptions::ACCESS).expect("open"));
    rows.push(Row(
        format!("open, cold index (rebuilt from the Maildir) [{tag}]"),
        d,
        format!("{} messages", mb.seqs().count()),
    ));
    drop(mb);
    let n = 5;
    let (_, d) = time(|| {
        for _ in 0..n {
            let mb = u.open("INBOX", OpenOptions::ACCESS).expect("open");
            assert!(mb.seqs().count() > 0);
        }
    });
    rows.push(Row(
        format!("open, warm index [{tag}]"),
        d / n,
        format!("mean of {n}"),
    ));
    let mut mb = u.open("INBOX", OpenOptions::ACCESS).expect("open");
    let (_, d) = time(|| mb.sync(SyncFlags::default()).expect("sync"));
    rows.push(Row(
        format!("sync, nothing changed [{tag}]"),
        d,
        String::new(),
    ));
    // Another program sets a flag: cur/ changed, so the sync reads all of it.
    let cur = root.join("cur");
    let some = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(":2,"))
        .expect("a message without flags");
    std::fs::rename(cur.join(&some), cur.join(format!("{some}T"))).unwrap();
    let (changes, d) = time(|| mb.sync(SyncFlags::default()).expect("sync"));
    rows.push(Row(
        format!("sync after another program renamed a file in cur/ [{tag}]"),
        d,
        format!("{} change", changes.len()),
    ));
    let (_, d) = time(|| mb.status().expect("status"));
    rows.push(Row(format!("status [{tag}]"), d, String::new()));
    // FETCH ENVELOPE of 1,000 messages in a fresh session: parsed and cached, then cached.
    let uids: Vec<u32> = mb.seqs().uids()[..1000.min(mb.seqs().count() as usize)].to_vec();
    for pass in ["parsed, then cached", "from the cache"] {
        let mut fresh = u.open("INBOX", OpenOptions::EXAMINE).expect("open");
        let (_, d) = time(|| {
            let mut mails = Vec::new();
            for &uid in &uids {
                let mut mail = fresh.mail(uid).expect("mail");
                mail.envelope().expect("envelope");
                mails.push(mail);
            }
            fresh.cache(&mut mails).expect("cache");
        });
        rows.push(Row(
            format!("envelope of {} messages, {pass} [{tag}]", uids.len()),
            d,
            String::new(),
        ));
    }
    let data = b"From: a@example.com\r\nSubject: saved\r\n\r\nsaved body\r\n";
    let (_, d) = time(|| {
        for _ in 0..saves {
            mb.save(
                &[NewMessage {
                    data,
                    flags: MailFlags::empty(),
                    keywords: vec![],
                    internal_date: None,
                }],
                true,
            )
            .expect("save");
        }
    });
    rows.push(Row(
        format!("save with UID (APPEND) [{tag}]"),
        d / saves as u32,
        format!("mean of {saves}, {:.0}/s", saves as f64 / d.as_secs_f64()),
    ));
    // Another session picks the saves up incrementally.
    let mut other = u.open("INBOX", OpenOptions::EXAMINE).expect("open");
    let _ = other.sync(SyncFlags::default());
    let (_, d) = time(|| mb.sync(SyncFlags::default()).expect("sync"));
    rows.push(Row(
        format!("sync after own saves [{tag}]"),
        d,
        String::new(),
    ));
    rows
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let count = env_num("COTE_BENCH_MESSAGES", 100_000);
    let saves = env_num("COTE_BENCH_SAVES", 200);
    let temp;
    let base: PathBuf = match std::env::var_os("COTE_BENCH_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            temp = tempfile::tempdir().expect("temp dir");
            temp.path().to_path_buf()
        }
    };
    let root = base.join("Maildir");
    print!("building a Maildir with {count} messages... ");
    let _ = std::io::stdout().flush();
    let (_, d) = time(|| build_maildir(&root, count));
    println!("{:.1}s", d.as_secs_f64());
    let mut rows = Vec::new();
    for mmap_disable in [false, true] {
        rows.extend(run(&root, mmap_disable, saves));
    }
    println!("\nstorage benchmark, INBOX of {count} messages ({saves} saves per run)");
    for Row(what, d, note) in rows {
        println!("  {what:<58} {} {note}", ms(d));
    }
}
