//! Shared namespaces (`prefix = shared/%%u/`) against Dovecot 2.3: a real `cote -F` and a
//! private Dovecot with the same configuration (`acl` + `imap_acl`, `acl = vfile`,
//! `acl_shared_dict = file:...`) serving one store, with the users of the same homes.
//!
//! - Dovecot's alice shares mailboxes with bob (SETACL writes the `dovecot-acl` files and
//!   the shared dict): bob gets the same answers from both servers for NAMESPACE, LIST of
//!   the shared hierarchy, MYRIGHTS, GETACL, SELECT, STATUS, CREATE, SUBSCRIBE and LSUB, and
//!   carol (with nothing shared) too.
//! - cote's alice changes the sharing: cote writes the dict as Dovecot does (same keys), and
//!   both servers show bob the same again; when alice takes every right back, the dict
//!   forgets her and `shared` disappears from LIST on both.
//!
//! - A user who administers another's mailbox changes its ACL: each change is made by Dovecot
//!   and then, from the same files, by cote; the answers, the dict's entries and
//!   `dovecot-acl-list`'s names are the same (CREATE under a shared parent adds to the list;
//!   DELETE and RENAME change neither file, in both; a session rebuilds both when the list
//!   is missing).
//! - With the quota plugin: GETQUOTAROOT of other users' names, and APPEND, COPY and MOVE
//!   into alice's mailbox by bob, charged to alice's quota, answer the same.
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

// login_support, maildir_support and acl_support each bring the port allocator (and
// acl_support the login client); the copies claim ports through the same lock files.
#![allow(clippy::duplicate_mod)]

mod acl_support;
mod login_support;
mod maildir_support;

use acl_support::{append, command, login, Conn};
use login_support::Server;
use maildir_support::{chown_tree, passwd_users, shared_dict_dir, Oracle};

/// The configuration; with `quota`, also the quota plugins and 1k for everyone.
fn config_with(dict: &std::path::Path, subscriptions: &str, quota: bool) -> String {
    let (plugins, imap_plugins, plugin) = if quota {
        (
            " quota",
            " imap_quota",
            "  quota = maildir:User quota\n  quota_rule = *:storage=1k\n",
        )
    } else {
        ("", "", "")
    };
    format!(
        "mail_plugins = $mail_plugins acl{plugins}\n\
         protocol imap {{\n  mail_plugins = $mail_plugins imap_acl{imap_plugins}\n}}\n\
         namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
         namespace shared {{\n  type = shared\n  separator = /\n  prefix = shared/%%u/\n\
           location = maildir:%%h/Maildir\n  subscriptions = {}\n  list = children\n}}\n\
         plugin {{\n  acl = vfile\n  acl_shared_dict = file:{}\n{plugin}}}\n",
        subscriptions,
        dict.display()
    )
}

/// The answer to `c`; LIST and LSUB lines sorted (their order is the order each server
/// finds the names in: Dovecot's follows its directory reads and lists INBOX last).
fn answer(conn: &mut Conn, c: &str) -> Vec<String> {
    let mut lines = command(conn, c);
    if c.starts_with("LIST") || c.starts_with("LSUB") {
        if let Some((_, untagged)) = lines.split_last_mut() {
            untagged.sort();
        }
    }
    lines
}

/// Sends the same commands to both connections; the answers must be the same.
fn same(cote: &mut Conn, dovecot: &mut Conn, commands: &[&str]) {
    for c in commands {
        assert_eq!(answer(cote, c), answer(dovecot, c), "{c}");
    }
}

/// The two servers on one store (users alice, bob and carol with the same homes), and the
/// directory of the shared dict.
fn servers(subscriptions: &str) -> (tempfile::TempDir, Oracle, Server) {
    servers_with(subscriptions, false)
}

fn servers_with(subscriptions: &str, quota: bool) -> (tempfile::TempDir, Oracle, Server) {
    let (db, dict) = shared_dict_dir();
    let conf = config_with(&dict, subscriptions, quota);
    let oracle = Oracle::start("maildir:~/Maildir", &conf);
    let homes = oracle.path("home");
    let users = passwd_users(&["alice", "bob", "carol"], &homes);
    let cote = Server::start_with(
        &users,
        "127.0.0.1",
        &format!("mail_location = maildir:~/Maildir\n{conf}"),
    );
    (db, oracle, cote)
}

#[test]
fn both_servers_share_mailboxes_alike() {
    if !login_support::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (db, oracle, cote) = servers("no");
    let dict = db.path().join("shared-mailboxes.db");
    let homes = oracle.path("home");

    // Dovecot's alice shares Team (lr) and her INBOX (l only) with bob.
    let mut dovecot_alice = login(oracle.port, "alice");
    for c in ["CREATE Team", "CREATE Team/Sub", "CREATE Private"] {
        assert_eq!(command(&mut dovecot_alice, c), ["OK Create completed."]);
    }
    assert_eq!(append(&mut dovecot_alice, "Team"), ["OK Append completed."]);
    for c in ["SETACL Team bob lr", "SETACL INBOX bob l"] {
        assert_eq!(command(&mut dovecot_alice, c), ["OK Setacl complete."]);
    }
    let login_carol = |port| login(port, "carol");
    // carol's home exists, with nothing shared to her.
    let mut c = login_carol(oracle.port);
    command(&mut c, "SELECT INBOX");
    chown_tree(&homes);
    chown_tree(db.path());
    assert_eq!(
        std::fs::read_to_string(&dict).unwrap(),
        "shared/shared-boxes/user/bob/alice\n1\n"
    );

    let bob_reads = [
        "NAMESPACE",
        "LIST \"\" *",
        "LIST \"\" %",
        "LIST \"\" shared/%",
        "LIST \"\" shared/%/%",
        "LIST \"\" shared",
        "LIST \"\" shared/alice",
        "LIST \"\" shared/alice/*",
        "LIST \"\" shared/alice/Team/%",
        "MYRIGHTS shared/alice/Team",
        "MYRIGHTS shared/alice/Private",
        "MYRIGHTS shared/alice",
        "GETACL shared/alice/Team",
        "SELECT shared/alice/Private",
        "SELECT shared/alice/INBOX",
        "SELECT shared/alice",
        "SELECT shared/carol/INBOX",
        "SELECT shared",
        "SELECT shared/alice/Team",
        "FETCH 1 (FLAGS)",
        "UNSELECT",
        "STATUS shared/alice/Team (MESSAGES UNSEEN)",
        "CREATE shared/alice/New",
        "DELETE shared/alice/Team",
    ];
    let mut cote_bob = login(cote.imap, "bob");
    let mut dovecot_bob = login(oracle.port, "bob");
    same(&mut cote_bob, &mut dovecot_bob, &bob_reads);
    assert_eq!(
        append(&mut cote_bob, "shared/alice/Team"),
        append(&mut dovecot_bob, "shared/alice/Team")
    );
    // A name of a namespace without subscriptions goes to the inbox namespace's file as
    // Dovecot keeps it there (prefix and storage name): what Dovecot writes, cote writes.
    assert_eq!(
        command(&mut dovecot_bob, "SUBSCRIBE shared/alice/Team"),
        ["OK Subscribe completed."]
    );
    let subscriptions = homes.join("bob/Maildir/subscriptions");
    let dovecot_wrote = std::fs::read(&subscriptions).unwrap();
    assert_eq!(
        command(&mut cote_bob, "UNSUBSCRIBE shared/alice/Team"),
        ["OK Unsubscribe completed."]
    );
    assert_ne!(std::fs::read(&subscriptions).unwrap(), dovecot_wrote);
    assert_eq!(
        command(&mut cote_bob, "SUBSCRIBE shared/alice/Team"),
        ["OK Subscribe completed."]
    );
    assert_eq!(
        String::from_utf8_lossy(&std::fs::read(&subscriptions).unwrap()),
        String::from_utf8_lossy(&dovecot_wrote)
    );
    same(
        &mut login_carol(cote.imap),
        &mut login_carol(oracle.port),
        &[
            "NAMESPACE",
            "LIST \"\" *",
            "LIST \"\" shared/%",
            "SELECT shared/alice/Team",
        ],
    );

    // cote's alice changes the sharing; cote writes the dict as Dovecot would.
    let mut cote_alice = login(cote.imap, "alice");
    for c in [
        "SETACL Private bob lrw",
        "DELETEACL INBOX bob",
        "SETACL Team/Sub $staff lr",
    ] {
        assert_eq!(
            command(&mut cote_alice, c),
            command(&mut dovecot_alice, c),
            "{c}"
        );
        chown_tree(&homes);
        chown_tree(db.path());
    }
    assert_eq!(
        std::fs::read_to_string(&dict).unwrap(),
        "shared/shared-boxes/group/staff/alice\n1\nshared/shared-boxes/user/bob/alice\n1\n"
    );
    // dovecot-acl-list names the mailboxes others may look up (Dovecot lists shared
    // mailboxes from it): as Dovecot rebuilds it.
    let acl_list = homes.join("alice/Maildir/dovecot-acl-list");
    let names = || {
        let mut names: Vec<String> = std::fs::read_to_string(&acl_list)
            .unwrap()
            .lines()
            .map(|l| l.split_once(' ').unwrap().1.to_string())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names(), ["Private", "Team", "Team.Sub"]);
    assert_eq!(
        command(&mut dovecot_alice, "SETACL Team bob lr"),
        ["OK Setacl complete."]
    );
    assert_eq!(names(), ["Private", "Team", "Team.Sub"]);
    chown_tree(&homes);
    // Dovecot keeps what it read for a while: new sessions read anew. (Subscriptions are
    // listed in new sessions too: once a session has opened shared/alice/, Dovecot lists
    // each subscription under it twice.)
    let bob_reads = [
        "LSUB \"\" *",
        "LIST (SUBSCRIBED) \"\" *",
        "LIST \"\" *",
        "LIST \"\" shared/%",
        "LIST \"\" shared/alice",
        "MYRIGHTS shared/alice/Private",
        "SELECT shared/alice",
        "SELECT shared/alice/Private",
        "STORE 1:* +FLAGS (\\Flagged)",
    ];
    same(
        &mut login(cote.imap, "bob"),
        &mut login(oracle.port, "bob"),
        &bob_reads,
    );

    // alice takes everything back: the dict forgets her, and LIST shows no `shared`.
    for c in [
        "DELETEACL Private bob",
        "DELETEACL Team bob",
        "DELETEACL Team/Sub $staff",
    ] {
        assert_eq!(
            command(&mut cote_alice, c),
            ["OK Deleteacl complete."],
            "{c}"
        );
    }
    chown_tree(&homes);
    chown_tree(db.path());
    assert_eq!(std::fs::read_to_string(&dict).unwrap(), "");
    same(
        &mut login(cote.imap, "bob"),
        &mut login(oracle.port, "bob"),
        &["LIST \"\" *", "SELECT shared/alice/Team"],
    );
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}

/// With `subscriptions = yes` each owner's namespace has its own subscriptions: the owner's
/// file, so bob's LSUB shows what alice subscribed to among what he may see.
#[test]
fn owners_subscriptions_with_subscriptions_yes() {
    if !login_support::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (db, oracle, cote) = servers("yes");
    let mut alice = login(oracle.port, "alice");
    for c in [
        "CREATE Team",
        "CREATE Private",
        "SUBSCRIBE Team",
        "SUBSCRIBE Private",
    ] {
        assert!(command(&mut alice, c)[0].starts_with("OK"), "{c}");
    }
    assert_eq!(
        command(&mut alice, "SETACL Team bob lr"),
        ["OK Setacl complete."]
    );
    chown_tree(&oracle.path("home"));
    chown_tree(db.path());
    for c in [
        "LSUB \"\" *",
        "LIST (SUBSCRIBED) \"\" *",
        "LIST \"\" * RETURN (SUBSCRIBED)",
    ] {
        same(
            &mut login(cote.imap, "bob"),
            &mut login(oracle.port, "bob"),
            &[c],
        );
    }
}

/// The dict's entries, sorted (Dovecot writes them in its hash table's order, which
/// depends on the history of the table).
fn dict_entries(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut entries: Vec<String> = lines.chunks(2).map(|kv| kv.join("=")).collect();
    entries.sort();
    entries
}

/// The storage names in a `dovecot-acl-list` (their mtimes are the ACL files', which the
/// test rewrites), sorted (Dovecot lists them in directory order).
fn acl_list_names(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut names: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(_, name)| name.to_string())
        .collect();
    names.sort();
    names
}

fn big_append(mailbox: &str) -> String {
    format!(
        "APPEND {mailbox} {{600+}}\r\nSubject: q\r\n\r\n{}",
        "x".repeat(600 - 14)
    )
}

/// Answers without the UIDs that differ between two runs on one store.
fn without_copyuid(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| match (l.find("[COPYUID "), l.find("] ")) {
            (Some(i), Some(j)) if j > i => format!("{}[COPYUID]{}", &l[..i], &l[j + 1..]),
            _ => l,
        })
        .collect()
}

#[test]
fn upkeep_and_quota_of_shared_mailboxes_match_dovecot() {
    if !login_support::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (db, oracle, cote) = servers_with("no", true);
    let dict = db.path().join("shared-mailboxes.db");
    let homes = oracle.path("home");
    let maildir = homes.join("alice/Maildir");
    let acl_list = maildir.join("dovecot-acl-list");
    let chown = || {
        chown_tree(&homes);
        chown_tree(db.path());
    };
    let mut alice = login(oracle.port, "alice");
    for c in ["CREATE Team", "CREATE Team/Sub", "CREATE Old"] {
        assert_eq!(command(&mut alice, c), ["OK Create completed."]);
    }
    for c in ["SETACL Team bob lrwsteikxa", "SETACL Old carol lr"] {
        assert_eq!(command(&mut alice, c), ["OK Setacl complete."]);
    }
    let mut bob = login(oracle.port, "bob");
    command(&mut bob, "SELECT INBOX");
    chown();

    // bob's ACL changes on alice's Team: Dovecot's first, then cote's from the same files.
    let team_acl = maildir.join(".Team/dovecot-acl");
    let files = [dict.clone(), acl_list.clone(), team_acl];
    for c in [
        "SETACL shared/alice/Team carol lr",
        "DELETEACL shared/alice/Team carol",
        "SETACL shared/alice/Team/Sub carol lr",
        "SETACL shared/alice/Team $staff l",
        "DELETEACL shared/alice/Team nobody",
    ] {
        let before: Vec<Option<Vec<u8>>> = files.iter().map(|f| std::fs::read(f).ok()).collect();
        let dovecot = command(&mut login(oracle.port, "bob"), c);
        let dovecot_files = (dict_entries(&dict), acl_list_names(&acl_list));
        let dovecot_acl = std::fs::read(&files[2]).unwrap();
        for (f, content) in files.iter().zip(&before) {
            match content {
                Some(content) => std::fs::write(f, content).unwrap(),
                None => {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
        chown();
        assert_eq!(command(&mut login(cote.imap, "bob"), c), dovecot, "{c}");
        chown();
        assert_eq!(
            (dict_entries(&dict), acl_list_names(&acl_list)),
            dovecot_files,
            "{c}"
        );
        assert_eq!(std::fs::read(&files[2]).unwrap(), dovecot_acl, "{c}");
    }
    assert_eq!(
        dict_entries(&dict),
        [
            "shared/shared-boxes/group/staff/alice=1",
            "shared/shared-boxes/user/bob/alice=1",
            "shared/shared-boxes/user/carol/alice=1",
        ]
    );

    // A child of Team gets Team's entries: both add it to the list.
    let mut cote_alice = login(cote.imap, "alice");
    assert_eq!(
        command(&mut alice, "CREATE Team/ByDovecot"),
        ["OK Create completed."]
    );
    chown();
    assert_eq!(
        command(&mut cote_alice, "CREATE Team/ByCote"),
        ["OK Create completed."]
    );
    chown();
    assert_eq!(
        acl_list_names(&acl_list),
        ["Old", "Team", "Team.ByCote", "Team.ByDovecot"]
    );
    // DELETE and RENAME of mailboxes with ACLs leave both files alone, in both servers.
    let unchanged = || {
        (
            std::fs::read(&dict).unwrap(),
            std::fs::read(&acl_list).unwrap(),
        )
    };
    let before = unchanged();
    for (by_cote, c) in [
        (false, "RENAME Old Older"),
        (true, "RENAME Older Oldest"),
        (false, "DELETE Team/ByDovecot"),
        (true, "DELETE Team/ByCote"),
    ] {
        let conn = if by_cote { &mut cote_alice } else { &mut alice };
        assert!(command(conn, c).last().unwrap().starts_with("OK"), "{c}");
        chown();
        assert_eq!(unchanged(), before, "{c}");
    }

    // Without dovecot-acl-list (and the dict), alice's next session builds both again.
    let mut rebuilt = Vec::new();
    for port in [oracle.port, cote.imap] {
        std::fs::remove_file(&acl_list).unwrap();
        std::fs::remove_file(&dict).unwrap();
        let answer = command(&mut login(port, "alice"), "SELECT INBOX");
        assert!(answer.last().unwrap().starts_with("OK"), "{answer:?}");
        chown();
        rebuilt.push((dict_entries(&dict), acl_list_names(&acl_list)));
    }
    assert_eq!(rebuilt[1], rebuilt[0]);
    assert_eq!(rebuilt[0].1, ["Oldest", "Team"]);

    // Quota: bob's saves into alice's Team count against alice's 1k.
    let bob_saves = [
        ("GETQUOTAROOT shared/alice/Team".to_string(), true),
        ("GETQUOTAROOT shared/alice".to_string(), true),
        ("GETQUOTAROOT shared".to_string(), true),
        ("GETQUOTAROOT shared/nobody/X".to_string(), true),
        (big_append("shared/alice/Team"), true),
        (big_append("shared/alice/Team"), true),
        (big_append("INBOX"), true),
        ("SELECT INBOX".to_string(), false),
        ("COPY 1 shared/alice/Team".to_string(), true),
        ("MOVE 1 shared/alice/Team".to_string(), true),
        ("GETQUOTAROOT INBOX".to_string(), true),
        ("SELECT shared/alice/Team".to_string(), false),
        ("STORE 1:* +FLAGS.SILENT (\\Deleted)".to_string(), true),
        ("EXPUNGE".to_string(), true),
    ];
    let mut answers = Vec::new();
    for port in [oracle.port, cote.imap] {
        let mut bob = login(port, "bob");
        let run: Vec<Vec<String>> = bob_saves
            .iter()
            .map(|(c, all)| {
                let lines = without_copyuid(command(&mut bob, c));
                if *all {
                    lines
                } else {
                    lines.last().into_iter().cloned().collect()
                }
            })
            .collect();
        chown();
        answers.push(run);
        // Both runs leave alice with nothing counted.
        assert_eq!(
            command(&mut login(port, "alice"), "GETQUOTAROOT INBOX"),
            [
                "* QUOTAROOT INBOX \"User quota\"",
                "* QUOTA \"User quota\" (STORAGE 0 1)",
                "OK Getquotaroot completed."
            ]
        );
    }
    for ((c, _), (dovecot, cote)) in bob_saves.iter().zip(answers[0].iter().zip(&answers[1])) {
        assert_eq!(cote, dovecot, "{c}");
    }
    assert_eq!(
        answers[0][5],
        ["NO [OVERQUOTA] Quota exceeded (mailbox for user is full)."]
    );
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}
