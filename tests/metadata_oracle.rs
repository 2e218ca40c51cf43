//! METADATA (RFC 5464) against Dovecot 2.3: a real `cote -F` and a private Dovecot with the
//! same configuration (`imap_metadata = yes`, `mail_attribute_dict = file:%h/dovecot-attributes`,
//! configured comments and special-use mailboxes).
//!
//! - The same commands to both, each user on its own store: the answers compared one by one
//!   (tags and timings left out) — server and mailbox entries, DEPTH, MAXSIZE, NIL, literal
//!   and literal8 values, a value larger than a command line, errors.
//! - One store served by both at once: what Dovecot's SETMETADATA wrote into the attribute
//!   file, cote's GETMETADATA reads, and the reverse; DELETE by one drops the entries for
//!   the other; the file stays in Dovecot's format.
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

// login_support and maildir_support each bring the port allocator (tests/port_support);
// the two copies claim ports through the same lock files, so they never collide.
#![allow(clippy::duplicate_mod)]

mod imap_client;
mod login_support;
mod maildir_support;

use imap_client::{with_literal, Imap};
use login_support::Server;
use maildir_support::{chown_tree, passwd_users, Oracle};

/// Both servers' configuration after the basics.
const CONF: &str = "imap_metadata = yes\n\
    mail_attribute_dict = file:%h/dovecot-attributes\n\
    mail_server_comment = server comment here\n\
    mail_server_admin = mailto:admin@example.com\n\
    namespace inbox {\n  inbox = yes\n  separator = /\n\
      mailbox Sent {\n    special_use = \\Sent\n  }\n\
      mailbox Trash {\n    special_use = \\Trash\n    comment = trash can\n  }\n}\n";

/// The conversation both servers get (each entry one command). DEPTH is used only where
/// one entry is found: Dovecot lists several in its hash table's order.
fn commands() -> Vec<Vec<u8>> {
    let big = vec![b'v'; 100_000];
    let mut list: Vec<Vec<u8>> = [
        "GETMETADATA \"\" /shared/comment",
        "GETMETADATA \"\" (/shared/comment /shared/admin /private/comment /private/x)",
        "SETMETADATA \"\" (/private/comment \"hello\")",
        "GETMETADATA \"\" /private/comment",
        "GETMETADATA (DEPTH infinity) \"\" /private",
        "SETMETADATA \"\" (/shared/admin \"x\")",
        "SETMETADATA \"\" (/shared/comment NIL)",
        "CREATE Sent",
        "CREATE Trash",
        "GETMETADATA Sent /private/specialuse",
        "GETMETADATA Sent (/private/specialuse /private/comment /shared/comment)",
        "SETMETADATA Sent (/private/specialuse \"\\\\Junk\")",
        "GETMETADATA (DEPTH infinity) Trash (/private /shared)",
        "GETMETADATA (DEPTH 1) Trash /private",
        "SETMETADATA Trash (/shared/comment \"mine\")",
        "GETMETADATA Trash (/private/comment /shared/comment)",
        "SETMETADATA Trash (/shared/comment NIL)",
        "GETMETADATA Trash /shared/comment",
        "SETMETADATA INBOX (/private/comment \"inbox comment\" /shared/vendor/foo/bar \"x\")",
        "GETMETADATA (DEPTH infinity) INBOX /shared/vendor",
        "GETMETADATA (DEPTH 1) INBOX /shared/vendor",
        "GETMETADATA (DEPTH 1) INBOX /shared/vendor/foo",
        "GETMETADATA (MAXSIZE 3) INBOX (/private/comment /shared/vendor/foo/bar)",
        "GETMETADATA (MAXSIZE 13 DEPTH 0) INBOX /private/comment",
        "SETMETADATA INBOX (/PRIVATE/Mixed atom)",
        "GETMETADATA inbox (/private/mixed /private/MIXED)",
        "SETMETADATA INBOX (/private/mixed NIL)",
        "GETMETADATA INBOX /private/mixed",
        // (Setting `/private` itself corrupts Dovecot 2.3's index log: not asked.)
        "GETMETADATA INBOX /private",
        "SETMETADATA INBOX (/private/e \"\")",
        "GETMETADATA INBOX /private/e",
        "GETMETADATA T% /shared/comment",
        "RENAME Sent Sent2",
        "GETMETADATA Sent2 /private/specialuse",
        "GETMETADATA",
        "GETMETADATA INBOX",
        "GETMETADATA INBOX foo",
        "GETMETADATA INBOX /foo",
        "GETMETADATA INBOX /private/",
        "GETMETADATA INBOX /private//x",
        "GETMETADATA INBOX /private/a*",
        "GETMETADATA INBOX /privatex",
        "GETMETADATA Nope /private/comment",
        "GETMETADATA (DEPTH 2) INBOX /private",
        "GETMETADATA (MAXSIZE x) INBOX /private",
        "GETMETADATA (FOO) INBOX /private",
        "GETMETADATA INBOX (/private/comment) extra",
        "GETMETADATA INBOX /private/vendor/vendor.dovecot/pvt/x",
        "GETMETADATA \"\" /private/vendor/vendor.dovecot/pvt/server/x",
        "SETMETADATA INBOX /private/x",
        "SETMETADATA INBOX (/private/x)",
        "SETMETADATA INBOX (/private/x (a))",
        "SETMETADATA INBOX (/private/vendor/vendor.dovecot/pvt/x \"y\")",
        "SETMETADATA Nope (/private/x \"y\")",
        "SETMETADATA INBOX (/foo \"y\")",
        "SETMETADATA INBOX (/private/a \"1\" /foo \"2\")",
        "GETMETADATA INBOX /private/a",
    ]
    .iter()
    .map(|c| c.as_bytes().to_vec())
    .collect();
    list.push(with_literal(
        "SETMETADATA INBOX (/private/lit ",
        b"two\tparts",
        " /private/lit8 ~{3+}\r\nabc)",
    ));
    list.push(b"GETMETADATA INBOX (/private/lit /private/lit8)".to_vec());
    list.push(with_literal(
        "SETMETADATA INBOX (/private/nul ",
        b"a\0b",
        ")",
    ));
    list.push(b"GETMETADATA INBOX /private/nul".to_vec());
    // Larger than a command line (64k): values are not bound by it.
    list.push(with_literal("SETMETADATA INBOX (/shared/big ", &big, ")"));
    list.push(b"GETMETADATA (MAXSIZE 1000) INBOX /shared/big".to_vec());
    list.push(b"GETMETADATA INBOX /shared/big".to_vec());
    list.push(b"DELETE Sent2".to_vec());
    list.push(b"CREATE Sent2".to_vec());
    list.push(b"GETMETADATA Sent2 /private/specialuse".to_vec());
    list
}

#[test]
fn same_answers_and_one_attribute_file() {
    let oracle = Oracle::start("maildir:~/Maildir", CONF);
    let homes = oracle.path("home");
    let cote = Server::start_with(
        &passwd_users(&["alice", "bob"], &homes),
        "127.0.0.1",
        &format!("mail_location = maildir:~/Maildir\n{CONF}"),
    );

    // The same conversation with each, on separate stores.
    let mut theirs = Imap::login(oracle.port, "dovecot-user", "pw");
    let mut ours = Imap::login(cote.imap, "bob", "pw");
    for command in commands() {
        let expected = theirs.command(&command);
        let got = ours.command(&command);
        let shown = String::from_utf8_lossy(&command[..command.len().min(120)]).into_owned();
        assert_eq!(got, expected, "{shown}");
    }
    let capability = ours.command(b"CAPABILITY");
    assert!(
        capability[0].ends_with(" METADATA SPECIAL-USE"),
        "{capability:?}"
    );

    // One store: what one writes, the other reads.
    let mut dovecot = Imap::login(oracle.port, "alice", "pw");
    let set = dovecot
        .command(b"SETMETADATA INBOX (/private/comment \"from dovecot\" /shared/vendor/x/y \"v\")");
    assert_eq!(set, ["OK Setmetadata completed."]);
    dovecot.command(b"CREATE Work");
    dovecot.command(b"SETMETADATA Work (/private/note \"work note\")");
    dovecot.command(b"SETMETADATA \"\" (/private/server \"server value\")");
    let file = homes.join("alice/dovecot-attributes");
    let dovecot_file = std::fs::read(&file).expect("Dovecot's attribute file");
    chown_tree(&homes.join("alice"));
    let mut cote_alice = Imap::login(cote.imap, "alice", "pw");
    let reads: [&[u8]; 4] = [
        b"GETMETADATA INBOX (/private/comment /shared/vendor/x/y)",
        b"GETMETADATA Work /private/note",
        b"GETMETADATA \"\" /private/server",
        b"GETMETADATA (DEPTH infinity) INBOX /shared/vendor",
    ];
    for read in reads {
        assert_eq!(
            cote_alice.command(read),
            dovecot.command(read),
            "{}",
            String::from_utf8_lossy(read)
        );
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        dovecot_file,
        "reading changed it"
    );

    assert_eq!(
        cote_alice.command(b"SETMETADATA Work (/private/note NIL /shared/new \"from cote\")"),
        ["OK Setmetadata completed."]
    );
    cote_alice.command(b"SETMETADATA INBOX (/private/comment \"cote's\")");
    cote_alice.command(b"CREATE Gone");
    cote_alice.command(b"SETMETADATA Gone (/private/x \"y\")");
    let reads: [&[u8]; 3] = [
        b"GETMETADATA Work (/private/note /shared/new)",
        b"GETMETADATA INBOX (/private/comment /shared/vendor/x/y)",
        b"GETMETADATA Gone /private/x",
    ];
    for read in reads {
        assert_eq!(
            dovecot.command(read),
            cote_alice.command(read),
            "{}",
            String::from_utf8_lossy(read)
        );
    }
    // DELETE by Dovecot drops Gone's entry from the file cote reads.
    let before = std::fs::read_to_string(&file).unwrap();
    assert_eq!(before.matches("/x\ny\n").count(), 1, "{before}");
    dovecot.command(b"DELETE Gone");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(!after.contains("/x\ny\n"), "{after}");
    cote_alice.command(b"CREATE Gone");
    assert_eq!(
        cote_alice.command(b"GETMETADATA Gone /private/x"),
        [
            "* METADATA Gone (/private/x NIL)",
            "OK Getmetadata completed."
        ]
    );
    // And DELETE by cote drops Work's for Dovecot.
    cote_alice.command(b"DELETE Work");
    dovecot.command(b"CREATE Work");
    assert_eq!(
        dovecot.command(b"GETMETADATA Work /shared/new"),
        [
            "* METADATA Work (/shared/new NIL)",
            "OK Getmetadata completed."
        ]
    );
    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}
