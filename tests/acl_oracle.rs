//! ACLs against Dovecot 2.3: a real `cote -F` and a private Dovecot with the same
//! configuration (`acl` and `imap_acl`, `acl = vfile:<global file>`, a public namespace)
//! serving one store at once.
//!
//! - The global ACL file gives alice everything and bob `l` on one public mailbox (and
//!   nothing on the other): both servers answer bob's MYRIGHTS, LIST, SELECT, STATUS, GETACL,
//!   CREATE, DELETE and APPEND alike.
//! - What Dovecot's SETACL writes into a `dovecot-acl` cote enforces and shows, and the
//!   reverse; the files stay in Dovecot's format (each server reads them back the same).
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

// login_support and maildir_support each bring the port allocator (tests/port_support);
// the two copies claim ports through the same lock files, so they never collide.
#![allow(clippy::duplicate_mod)]

mod acl_support;
mod login_support;
mod maildir_support;

use acl_support::{append, command, login};
use login_support::Server;
use maildir_support::{chown_tree, passwd_users, Oracle};

fn config(global: &std::path::Path, public: &std::path::Path) -> String {
    format!(
        "mail_plugins = $mail_plugins acl\n\
         protocol imap {{\n  mail_plugins = $mail_plugins imap_acl\n}}\n\
         namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
         namespace public {{\n  type = public\n  separator = /\n  prefix = Public/\n\
           location = maildir:{}\n  list = yes\n}}\n\
         plugin {{\n  acl = vfile:{}\n}}\n",
        public.display(),
        global.display()
    )
}

#[test]
fn both_servers_share_acl_files() {
    if !login_support::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        shared.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let global = shared.path().join("acl-global");
    let public = shared.path().join("public");
    std::fs::create_dir(&public).unwrap();
    std::fs::write(
        &global,
        "* user=alice lrwstipekxa\n\"Public/Odd one\" user=bob lr\n\"Public/Odd one\" -user=bob r\n",
    )
    .unwrap();
    chown_tree(shared.path());
    let conf = config(&global, &public);
    let oracle = Oracle::start("maildir:~/Maildir", &conf);
    let homes = oracle.path("home");
    let users = passwd_users(&["alice", "bob"], &homes);
    let cote = Server::start_with(
        &users,
        "127.0.0.1",
        &format!("mail_location = maildir:~/Maildir\n{conf}"),
    );

    // Dovecot's alice makes public mailboxes; both servers answer bob alike.
    let mut dovecot_alice = login(oracle.port, "alice");
    for c in ["CREATE Public/Team", "CREATE \"Public/Odd one\""] {
        assert_eq!(
            command(&mut dovecot_alice, c),
            ["OK Create completed."],
            "{}",
            oracle.log()
        );
    }
    assert_eq!(
        append(&mut dovecot_alice, "Public/Team"),
        ["OK Append completed."]
    );
    chown_tree(shared.path());
    let mut dovecot_bob = login(oracle.port, "bob");
    let mut cote_bob = login(cote.imap, "bob");
    let bob_reads = [
        "MYRIGHTS Public/Team",
        "MYRIGHTS \"Public/Odd one\"",
        "MYRIGHTS INBOX",
        "LIST \"\" Public/*",
        "SELECT Public/Team",
        "STORE 1 +FLAGS (\\Seen)",
        "UNSELECT",
        "SELECT \"Public/Odd one\"",
        "STATUS \"Public/Odd one\" (MESSAGES)",
        "GETACL Public/Team",
        "CREATE Public/Team/Sub",
        "DELETE Public/Team",
    ];
    for c in bob_reads {
        assert_eq!(
            command(&mut cote_bob, c),
            command(&mut dovecot_bob, c),
            "{c}"
        );
    }
    assert_eq!(
        append(&mut cote_bob, "Public/Team"),
        append(&mut dovecot_bob, "Public/Team")
    );

    // Dovecot writes a dovecot-acl; cote enforces and shows it.
    for c in [
        "SETACL Public/Team bob lri",
        "SETACL Public/Team $staff lrs",
        "SETACL Public/Team -bob s",
    ] {
        assert_eq!(
            command(&mut dovecot_alice, c),
            ["OK Setacl complete."],
            "{c}"
        );
    }
    let acl_file = public.join(".Team/dovecot-acl");
    let dovecot_wrote = std::fs::read_to_string(&acl_file).expect("Dovecot's dovecot-acl");
    chown_tree(shared.path());
    let mut cote_alice = login(cote.imap, "alice");
    for c in ["GETACL Public/Team", "MYRIGHTS Public/Team"] {
        assert_eq!(
            command(&mut cote_alice, c),
            command(&mut dovecot_alice, c),
            "{c}"
        );
    }
    // Dovecot keeps ACLs it read for 30 s (`cache_secs`): a new session reads anew.
    let mut dovecot_bob = login(oracle.port, "bob");
    for c in ["MYRIGHTS Public/Team", "GETACL Public/Team"] {
        assert_eq!(
            command(&mut cote_bob, c),
            command(&mut dovecot_bob, c),
            "{c}"
        );
    }
    assert_eq!(
        append(&mut cote_bob, "Public/Team"),
        ["OK Append completed."]
    );
    assert_eq!(std::fs::read_to_string(&acl_file).unwrap(), dovecot_wrote);

    // cote writes; Dovecot reads the same entries, and rewrites the file identically.
    for c in [
        "DELETEACL Public/Team $staff",
        "SETACL Public/Team bob lrwsi",
        "SETACL Public/Team !$admins a",
        "SETACL \"Public/Odd one\" \"user with space\" lr",
    ] {
        assert_eq!(
            command(&mut cote_alice, c),
            command(&mut dovecot_alice, c),
            "{c}"
        );
        chown_tree(shared.path());
    }
    let cote_wrote = std::fs::read_to_string(&acl_file).unwrap();
    assert!(!public.join(".Team/dovecot-acl.lock").exists());
    let mut dovecot_alice = login(oracle.port, "alice");
    for c in [
        "GETACL Public/Team",
        "GETACL \"Public/Odd one\"",
        "MYRIGHTS Public/Team",
    ] {
        assert_eq!(
            command(&mut dovecot_alice, c),
            command(&mut cote_alice, c),
            "{c}"
        );
    }
    let mut dovecot_bob = login(oracle.port, "bob");
    for c in ["MYRIGHTS Public/Team", "SELECT Public/Team"] {
        assert_eq!(
            command(&mut dovecot_bob, c),
            command(&mut cote_bob, c),
            "{c}"
        );
    }
    // The same change through Dovecot leaves the file as cote wrote it.
    assert_eq!(
        command(&mut dovecot_alice, "SETACL Public/Team bob lrwsi"),
        ["OK Setacl complete."]
    );
    assert_eq!(std::fs::read_to_string(&acl_file).unwrap(), cote_wrote);
    assert_eq!(
        cote_wrote,
        "user=bob ilrws\n-user=bob s\ngroup-override=admins a\n"
    );
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}
