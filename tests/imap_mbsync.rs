//! mbsync (Debian's `isync`) against a real `cote -F`: a 1,000-message account synced to a
//! local Maildir and back, as a mail user's laptop does.
//!
//! 1. cote gets 1,000 messages (some \Seen, \Flagged, \Answered) in INBOX and a few in a
//!    second folder; mbsync pulls them all: every message and its flags must arrive.
//! 2. A second run changes nothing on either side.
//! 3. Both sides change: on cote new messages, flag changes and expunges; in the Maildir new
//!    files, flag renames and deletions. After the next run both sides hold the same
//!    messages, byte for byte (line ends aside), with the same flags, and nothing was lost.
//! 4. Another run changes nothing again.
//!
//! Skipped, saying so, when mbsync is not installed (`apt-get install isync`).

mod imap_client;
mod login_support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use imap_client::{with_literal, Imap};
use login_support::Server;

const MESSAGES: usize = 1000;

/// Maildir flag letters and the IMAP flags they stand for.
const FLAG_LETTERS: &[(char, &str)] = &[
    ('D', "\\Draft"),
    ('F', "\\Flagged"),
    ('R', "\\Answered"),
    ('S', "\\Seen"),
    ('T', "\\Deleted"),
];

fn mbsync_installed() -> bool {
    Command::new("mbsync")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A test message, told apart by its Message-ID.
fn message(id: &str, n: usize) -> String {
    format!(
        "From: Sender {n} <sender{n}@example.com>\r\n\
         To: alice@example.com\r\n\
         Subject: message {id} ({n})\r\n\
         Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n\
         Message-ID: <{id}@mbsync.test>\r\n\
         \r\n\
         Body of {id}.\r\n\
         {}\r\n",
        "x".repeat(n % 200)
    )
}

/// The Message-ID's left part of a message text.
fn message_id(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    let start = line.find('<')? + 1;
    let end = line.find('@')?;
    Some(line[start..end].to_string())
}

/// A message as compared: LF line ends, without the X-TUID header mbsync may add.
fn normalized(data: &[u8]) -> String {
    String::from_utf8_lossy(data)
        .replace("\r\n", "\n")
        .lines()
        .filter(|l| !l.starts_with("X-TUID: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// APPENDs messages to `mailbox`, many per command (MULTIAPPEND).
fn append_all(imap: &mut Imap, mailbox: &str, messages: &[(String, &str)]) {
    for batch in messages.chunks(50) {
        let mut command = format!("APPEND {mailbox}").into_bytes();
        for (data, flags) in batch {
            command.extend_from_slice(&with_literal(&format!(" ({flags}) "), data.as_bytes(), ""));
        }
        imap.ok(command);
    }
}

/// Every message of `mailbox`: Message-ID → (flags, text).
fn messages(imap: &mut Imap, mailbox: &str) -> BTreeMap<String, (Vec<String>, String)> {
    imap.ok(format!("EXAMINE {mailbox}"));
    let mut out = BTreeMap::new();
    let (responses, status) = imap.run(b"FETCH 1:* (FLAGS BODY.PEEK[])");
    let responses = if status.starts_with("OK") {
        responses
    } else {
        Vec::new()
    };
    for response in responses {
        if !response.windows(7).any(|w| w == b" FETCH ") {
            continue;
        }
        let text = String::from_utf8_lossy(&response);
        let flags_at = text.find("FLAGS (").expect("FLAGS") + 7;
        let flags_end = flags_at + text[flags_at..].find(')').expect("flags end");
        let mut flags: Vec<String> = text[flags_at..flags_end]
            .split_whitespace()
            .filter(|f| *f != "\\Recent")
            .map(str::to_string)
            .collect();
        flags.sort();
        let body_at = response
            .windows(3)
            .position(|w| w == b"}\r\n")
            .expect("literal")
            + 3;
        let body = &response[body_at..response.len() - 3];
        let id = message_id(body).expect("Message-ID");
        assert!(
            out.insert(id.clone(), (flags, normalized(body))).is_none(),
            "{mailbox}: message {id} twice"
        );
    }
    imap.ok("CLOSE");
    out
}

/// UIDNEXT and UIDVALIDITY of `mailbox` (they show whether anything was saved).
fn uid_state(imap: &mut Imap, mailbox: &str) -> String {
    imap.ok(format!("STATUS {mailbox} (MESSAGES UIDNEXT UIDVALIDITY)"))[0].clone()
}

/// The local Maildir folder's messages: Message-ID → (flags, text).
fn maildir_messages(folder: &Path) -> BTreeMap<String, (Vec<String>, String)> {
    let mut out = BTreeMap::new();
    for sub in ["new", "cur"] {
        for entry in fs::read_dir(folder.join(sub)).expect("read Maildir") {
            let path = entry.expect("entry").path();
            let data = fs::read(&path).expect("read message");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut flags: Vec<String> = match name.split_once(":2,") {
                Some((_, letters)) => FLAG_LETTERS
                    .iter()
                    .filter(|(letter, _)| letters.contains(*letter))
                    .map(|(_, flag)| flag.to_string())
                    .collect(),
                None => Vec::new(),
            };
            flags.sort();
            let id =
                message_id(&data).unwrap_or_else(|| panic!("{}: no Message-ID", path.display()));
            assert!(
                out.insert(id.clone(), (flags, normalized(&data))).is_none(),
                "{}: message {id} twice",
                folder.display()
            );
        }
    }
    out
}

/// File names of a Maildir folder (to see whether a run touched anything).
fn maildir_names(folder: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for sub in ["new", "cur"] {
        for entry in fs::read_dir(folder.join(sub)).expect("read Maildir") {
            names.push(format!(
                "{sub}/{}",
                entry.expect("entry").file_name().to_string_lossy()
            ));
        }
    }
    names.sort();
    names
}

fn run_mbsync(config: &Path, server: &Server) {
    let out = Command::new("mbsync")
        .arg("-c")
        .arg(config)
        .arg("-a")
        .output()
        .expect("run mbsync");
    assert!(
        out.status.success(),
        "mbsync failed ({}):\n{}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );
}

/// Both sides hold the same messages with the same flags.
fn assert_same(
    what: &str,
    cote: &BTreeMap<String, (Vec<String>, String)>,
    local: &BTreeMap<String, (Vec<String>, String)>,
) {
    let only_cote: Vec<_> = cote.keys().filter(|k| !local.contains_key(*k)).collect();
    let only_local: Vec<_> = local.keys().filter(|k| !cote.contains_key(*k)).collect();
    assert!(
        only_cote.is_empty() && only_local.is_empty(),
        "{what}: only on cote {only_cote:?}, only local {only_local:?}"
    );
    for (id, (flags, text)) in cote {
        let (local_flags, local_text) = &local[id];
        assert_eq!(flags, local_flags, "{what}: flags of {id}");
        assert_eq!(text, local_text, "{what}: text of {id}");
    }
}

#[test]
fn mbsync_syncs_a_thousand_messages_both_ways() {
    if !mbsync_installed() {
        eprintln!("skipped: mbsync is not installed (Debian package isync)");
        return;
    }
    let server = Server::start("namespace inbox {\n  inbox = yes\n  separator = /\n}\n");
    let local = tempfile::tempdir().expect("tempdir");
    let maildir = local.path().join("mail");
    fs::create_dir(&maildir).expect("mkdir");
    let config = local.path().join("mbsyncrc");
    fs::write(
        &config,
        format!(
            "IMAPAccount cote\nHost 127.0.0.1\nPort {}\nUser alice\nPass secret\n\
             SSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore far\nAccount cote\n\n\
             MaildirStore near\nPath {m}/\nInbox {m}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :far:\nNear :near:\nPatterns *\nCreate Both\n\
             Expunge Both\nSyncState *\nSync All\n",
            server.imap,
            m = maildir.display()
        ),
    )
    .expect("write mbsyncrc");

    // 1. cote has the mail; the first run pulls all of it.
    let mut imap = Imap::login(server.imap, "alice", "secret");
    let flags_of = |n: usize| match n % 7 {
        0 | 3 => "\\Seen",
        1 => "\\Seen \\Flagged",
        5 => "\\Answered \\Seen",
        _ => "",
    };
    let inbox: Vec<(String, &str)> = (0..MESSAGES)
        .map(|n| (message(&format!("m{n}"), n), flags_of(n)))
        .collect();
    append_all(&mut imap, "INBOX", &inbox);
    imap.ok("CREATE Archive");
    let archive: Vec<(String, &str)> = (0..25)
        .map(|n| (message(&format!("a{n}"), n), "\\Seen"))
        .collect();
    append_all(&mut imap, "Archive", &archive);
    run_mbsync(&config, &server);
    let cote_inbox = messages(&mut imap, "INBOX");
    assert_eq!(cote_inbox.len(), MESSAGES);
    let local_inbox = maildir_messages(&maildir.join("INBOX"));
    assert_same("after the first run", &cote_inbox, &local_inbox);
    assert_same(
        "Archive after the first run",
        &messages(&mut imap, "Archive"),
        &maildir_messages(&maildir.join("Archive")),
    );
    for (n, (data, _)) in inbox.iter().enumerate() {
        let id = format!("m{n}");
        assert_eq!(local_inbox[&id].1, normalized(data.as_bytes()), "{id}");
    }

    // 2. Nothing changed: a second run changes nothing.
    let state = (
        uid_state(&mut imap, "INBOX"),
        uid_state(&mut imap, "Archive"),
        maildir_names(&maildir.join("INBOX")),
    );
    run_mbsync(&config, &server);
    let again = (
        uid_state(&mut imap, "INBOX"),
        uid_state(&mut imap, "Archive"),
        maildir_names(&maildir.join("INBOX")),
    );
    assert_eq!(state, again, "the second run changed something");
    assert_eq!(messages(&mut imap, "INBOX"), cote_inbox);

    // 3. Changes on both sides, to different messages.
    let new_far: Vec<(String, &str)> = (0..20)
        .map(|n| {
            (
                message(&format!("far{n}"), n),
                if n % 2 == 0 { "\\Flagged" } else { "" },
            )
        })
        .collect();
    append_all(&mut imap, "INBOX", &new_far);
    imap.ok("SELECT INBOX");
    // Messages 1..=100 (UIDs): flag 30 of them, expunge 25 others.
    imap.ok("UID STORE 1:30 +FLAGS (\\Flagged)");
    imap.ok("UID STORE 31:55 +FLAGS (\\Deleted)");
    imap.ok("EXPUNGE");
    imap.ok("CLOSE");
    let inbox_dir = maildir.join("INBOX");
    let mut new_near = Vec::new();
    for n in 0..15 {
        let data = message(&format!("near{n}"), n).replace("\r\n", "\n");
        let name = format!(
            "1700000000.near{n}.localhost:2,{}",
            if n % 3 == 0 { "S" } else { "" }
        );
        fs::write(inbox_dir.join("cur").join(&name), &data).expect("new local message");
        new_near.push(format!("near{n}"));
    }
    // Local changes to messages cote did not touch (m900 and up): 20 marked \Seen and
    // \Answered, 10 deleted.
    let mut renamed = 0;
    let mut deleted = 0;
    let mut local_files: Vec<PathBuf> = Vec::new();
    for sub in ["new", "cur"] {
        for entry in fs::read_dir(inbox_dir.join(sub)).expect("read Maildir") {
            local_files.push(entry.expect("entry").path());
        }
    }
    local_files.sort();
    for path in local_files {
        let data = fs::read(&path).expect("read");
        let Some(id) = message_id(&data) else {
            continue;
        };
        let Some(n) = id.strip_prefix('m').and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        if (900..920).contains(&n) {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let (base, letters) = name.split_once(":2,").unwrap_or((&name, ""));
            let mut letters: Vec<char> = letters.chars().chain(['R', 'S']).collect();
            letters.sort_unstable();
            letters.dedup();
            let letters: String = letters.into_iter().collect();
            fs::rename(
                &path,
                inbox_dir.join("cur").join(format!("{base}:2,{letters}")),
            )
            .expect("rename");
            renamed += 1;
        } else if (950..960).contains(&n) {
            fs::remove_file(&path).expect("delete");
            deleted += 1;
        }
    }
    assert_eq!((renamed, deleted), (20, 10));
    run_mbsync(&config, &server);
    let cote_inbox = messages(&mut imap, "INBOX");
    let local_inbox = maildir_messages(&inbox_dir);
    assert_same("after changes on both sides", &cote_inbox, &local_inbox);
    assert_eq!(cote_inbox.len(), MESSAGES + 20 + 15 - 25 - 10);
    for (n, (data, _)) in inbox.iter().enumerate() {
        let id = format!("m{n}");
        let gone = (30..55).contains(&n) || (950..960).contains(&n);
        assert_eq!(cote_inbox.contains_key(&id), !gone, "{id}");
        if gone {
            continue;
        }
        let (flags, text) = &cote_inbox[&id];
        assert_eq!(text, &normalized(data.as_bytes()), "{id}");
        let mut wanted: Vec<String> = flags_of(n).split_whitespace().map(str::to_string).collect();
        if n < 30 {
            wanted.push("\\Flagged".into());
        }
        if (900..920).contains(&n) {
            wanted.extend(["\\Answered".to_string(), "\\Seen".to_string()]);
        }
        wanted.sort();
        wanted.dedup();
        assert_eq!(flags, &wanted, "flags of {id}");
    }
    for id in new_near.iter().chain(
        (0..20)
            .map(|n| format!("far{n}"))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        assert!(cote_inbox.contains_key(id), "{id} is missing");
    }

    // 4. And once more: nothing to do.
    let state = (uid_state(&mut imap, "INBOX"), maildir_names(&inbox_dir));
    run_mbsync(&config, &server);
    assert_eq!(
        state,
        (uid_state(&mut imap, "INBOX"), maildir_names(&inbox_dir)),
        "the last run changed something"
    );
}
