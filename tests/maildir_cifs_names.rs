//! A store kept with `maildir_info_separator = ;` (for shares that refuse `:` in names, CIFS):
//! a workload touching every kind of name cote writes — saves with flags and keywords, flag
//! and keyword changes, `new/` → `cur/` moves, copies (linked and copied), expunges, mailbox
//! renames, an index rebuild, uidlist rewrites — leaves no name with `:` anywhere under the
//! mail root, and a fresh process configured the same way reads back the same UIDs, flags and
//! keywords.

mod storage_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use cote::storage::api::{
    FlagMode, MailFlags, Mailbox, NewMessage, OpenOptions, StoreRequest, SyncFlags, UidSet,
};
use cote::storage::maildir::filename::InfoSeparator;
use cote::storage::settings::StorageSettings;
use cote::storage::user::MailUser;
use storage_support::{fresh_snapshot, message, names_holding, remove_index, settings, user, Seen};

/// Set in the child: the mail root to read back.
const CHILD_ROOT_ENV: &str = "COTE_CIFS_NAMES_CHILD_ROOT";

const FULL: SyncFlags = SyncFlags {
    full: true,
    fast: false,
};

fn semicolon_settings(temp: &Path, hardlinks: bool) -> StorageSettings {
    let mut s = settings("fcntl", false, temp);
    s.maildir.info_separator = InfoSeparator::parse(";").unwrap();
    s.maildir.copy_with_hardlinks = hardlinks;
    s
}

fn save(mb: &mut dyn Mailbox, token: &str, flags: MailFlags, kw: &[&str]) -> u32 {
    let data = message(token);
    mb.save(
        &[NewMessage {
            data: &data,
            flags,
            keywords: kw.iter().map(|k| k.to_string()).collect(),
            internal_date: None,
        }],
        true,
    )
    .unwrap()
    .uids[0]
}

fn store(mb: &mut dyn Mailbox, uids: UidSet, mode: FlagMode, flags: MailFlags, kw: &[&str]) {
    mb.store(
        &uids,
        &StoreRequest {
            mode,
            flags,
            keywords: kw.iter().map(|k| k.to_string()).collect(),
            unchanged_since: None,
        },
    )
    .unwrap();
}

/// Every mailbox's fresh view.
fn views(user: &mut MailUser, names: &[&str]) -> BTreeMap<String, BTreeMap<u32, Seen>> {
    names
        .iter()
        .map(|n| (n.to_string(), fresh_snapshot(user, n)))
        .collect()
}

fn assert_no_colon(root: &Path, when: &str) {
    let found = names_holding(root, b':');
    assert!(found.is_empty(), "{when}: names with ':': {found:?}");
}

/// The message files of a mailbox directory (`cur/` and `new/`).
fn message_files(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for sub in ["cur", "new"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            names.push(entry.unwrap().file_name().into_string().unwrap());
        }
    }
    names
}

const MAILBOXES: &[&str] = &["INBOX", "Projects", "Archive.2024", "Copied"];

#[test]
fn no_colon_anywhere_and_a_fresh_process_reads_it_back() {
    if let Ok(root) = std::env::var(CHILD_ROOT_ENV) {
        // The fresh process: print what it reads.
        let root = Path::new(&root);
        let mut u = user(root, semicolon_settings(root.parent().unwrap(), true));
        println!("VIEW {:?}", views(&mut u, MAILBOXES));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Maildir");
    let mut u = user(&root, semicolon_settings(dir.path(), true));
    u.create("Work").unwrap();
    u.create("Archive.2024").unwrap();
    u.create("Copied").unwrap();

    // Saves: into new/ (no flags) and cur/ (flags, keywords).
    let mut inbox = u.open("INBOX", OpenOptions::ACCESS).unwrap();
    for i in 1..=12 {
        let flags = match i % 3 {
            0 => MailFlags::empty(),
            1 => MailFlags::SEEN,
            _ => MailFlags::FLAGGED | MailFlags::ANSWERED,
        };
        let kw: &[&str] = match i % 4 {
            0 => &[],
            1 => &["$Junk"],
            2 => &["Work", "urgent"],
            _ => &["later"],
        };
        assert_eq!(save(&mut *inbox, &format!("m{i}"), flags, kw), i);
    }
    assert!(message_files(&root).iter().any(|n| n.contains(";2,")));
    assert_no_colon(&root, "after saves");

    // SELECT moves new/ to cur/ (adding ";2,"); flag and keyword changes rename files.
    let mut selected = u.open("INBOX", OpenOptions::SELECT).unwrap();
    store(
        &mut *selected,
        UidSet::range(1, 6),
        FlagMode::Add,
        MailFlags::DRAFT,
        &["kw-a"],
    );
    store(
        &mut *selected,
        UidSet::range(4, 9),
        FlagMode::Remove,
        MailFlags::SEEN,
        &["$Junk"],
    );
    store(
        &mut *selected,
        UidSet::range(10, 10),
        FlagMode::Replace,
        MailFlags::DELETED,
        &["x", "y"],
    );
    assert!(message_files(&root).iter().all(|n| n.contains(";2,")));
    assert_no_colon(&root, "after flag changes");

    // Copies: hard links keep the source's base name; plain copies get fresh names.
    let mut work = u.open("Work", OpenOptions::ACCESS).unwrap();
    work.copy_from(&mut *selected, &UidSet::range(1, 8))
        .unwrap();
    let mut copier = user(&root, semicolon_settings(dir.path(), false));
    let mut src = copier.open("INBOX", OpenOptions::ACCESS).unwrap();
    let mut copied = copier.open("Copied", OpenOptions::ACCESS).unwrap();
    copied.copy_from(&mut *src, &UidSet::range(2, 11)).unwrap();
    let mut archive = u.open("Archive.2024", OpenOptions::ACCESS).unwrap();
    archive
        .move_from(&mut *selected, &UidSet::range(11, 12))
        .unwrap();
    drop((src, copied, archive));
    assert_no_colon(&root, "after copies");

    // Expunges, most of a mailbox at once: the uidlist is rewritten.
    selected.expunge(&UidSet::range(1, 8)).unwrap();
    selected.sync(FULL).unwrap();
    let uidlist = std::fs::read_to_string(root.join("dovecot-uidlist")).unwrap();
    assert_eq!(
        uidlist.lines().count(),
        3,
        "rewritten: header and UIDs 9, 10\n{uidlist}"
    );
    store(
        &mut *work,
        UidSet::range(1, 3),
        FlagMode::Add,
        MailFlags::SEEN,
        &["done"],
    );
    drop((inbox, selected, work));

    // A mailbox rename, and the index rebuilt from the names.
    u.rename("Work", "Projects").unwrap();
    let before = views(&mut u, MAILBOXES);
    assert_eq!(before["INBOX"].keys().copied().collect::<Vec<_>>(), [9, 10]);
    assert_eq!(before["Projects"].len(), 8);
    assert_eq!(before["Copied"].len(), 10);
    assert_eq!(before["Archive.2024"].len(), 2);
    remove_index(&root);
    let rebuilt = views(&mut u, MAILBOXES);
    assert_eq!(rebuilt, before, "the index rebuilt from ';' names");
    // A lost uidlist is rebuilt from the index (and written whole).
    std::fs::remove_file(root.join(".Projects/dovecot-uidlist")).unwrap();
    assert_eq!(views(&mut u, MAILBOXES), before, "uidlist restored");
    assert!(root.join(".Projects/dovecot-uidlist").exists());
    assert_no_colon(&root, "at the end");
    assert!(
        !names_holding(&root, b';').is_empty(),
        "the names use the separator"
    );

    // Flags in the names: another process reads the same (and a ':' reader would not).
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "no_colon_anywhere_and_a_fresh_process_reads_it_back",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT_ENV, &root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let child_view = stdout
        .lines()
        // The harness may print the test's name on the same line first.
        .find_map(|l| l.split_once("VIEW ").map(|(_, view)| view))
        .unwrap_or_else(|| panic!("no view from the child: {stdout}"));
    assert_eq!(child_view, format!("{before:?}"));
    let inbox = &before["INBOX"];
    assert_eq!(inbox[&10].0, ["\\Deleted"]);
    assert_eq!(inbox[&10].1, ["x", "y"]);
    // UID 9 lost \Seen... it never had, and $Junk.
    assert_eq!(inbox[&9], (vec![], vec![]));
}
