//! URLAUTH (RFC 4467) against Dovecot 2.3 on one store: a real `cote -F` and a private
//! Dovecot serving the same Maildir and the same `mail_attribute_dict` file, with
//! `imap_urlauth_host` set on both.
//!
//! - A URL Dovecot generated, cote fetches (and answers as Dovecot does); a URL cote
//!   generated, Dovecot fetches. Both generate the same URL from the same key.
//! - The key cote made is in Dovecot's attribute and format; RESETKEY on one side makes the
//!   other refuse the URL (`URLAUTH verification failed`).
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

// login_support and maildir_support each bring the port allocator (tests/port_support);
// the two copies claim ports through the same lock files, so they never collide.
#![allow(clippy::duplicate_mod)]

mod imap_client;
mod login_support;
mod maildir_support;

use imap_client::{append, Imap};
use login_support::Server;
use maildir_support::{chown_tree, passwd_users, Oracle};

/// Both servers' configuration after the basics.
const CONF: &str = "mail_attribute_dict = file:%h/dovecot-attributes\n\
    imap_urlauth_host = example.com\n";

/// GENURLAUTH of one rump URL: the URL answered.
fn genurlauth(imap: &mut Imap, rump: &str) -> String {
    let answer = imap.command(format!("GENURLAUTH \"{rump}\" INTERNAL"));
    assert_eq!(answer.len(), 2, "{answer:?}");
    assert_eq!(answer[1], "OK GENURLAUTH completed.");
    answer[0]
        .strip_prefix("* GENURLAUTH ")
        .unwrap_or_else(|| panic!("{answer:?}"))
        .to_string()
}

const MESSAGE: &[u8] = b"Subject: shared\r\nMIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\
    Content-Type: text/plain\r\n\r\nfirst part\r\n--x\r\n\
    Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
    AAECAwRoZWxsbw==\r\n--x--\r\n";

#[test]
fn urls_of_one_verify_on_the_other() {
    let oracle = Oracle::start("maildir:~/Maildir", CONF);
    let homes = oracle.path("home");
    let users = passwd_users(&["alice"], &homes);
    let cote = Server::start_with(
        &users,
        "127.0.0.1",
        &format!("mail_location = maildir:~/Maildir\n{CONF}"),
    );

    let mut dovecot = Imap::login(oracle.port, "alice", "pw");
    for command in [append("INBOX", MESSAGE), b"CREATE Work".to_vec()] {
        let answer = dovecot.command(&command);
        assert!(answer[0].starts_with("OK"), "{answer:?}");
    }
    dovecot.command(append("Work", b"Subject: work\r\n\r\nwork body\r\n"));
    let inbox_rump = "imap://alice@example.com/INBOX/;UID=1;URLAUTH=authuser";
    let from_dovecot = genurlauth(&mut dovecot, inbox_rump);
    chown_tree(&homes.join("alice"));

    let mut ours = Imap::login(cote.imap, "alice", "pw");
    let capability = ours.command(b"CAPABILITY");
    assert!(
        capability[0].ends_with(" NOTIFY URLAUTH URLAUTH=BINARY"),
        "{capability:?}"
    );
    // The key Dovecot made gives cote the same URL, and cote serves Dovecot's URL.
    assert_eq!(genurlauth(&mut ours, inbox_rump), from_dovecot);
    let fetches = [
        format!("URLFETCH {from_dovecot}"),
        format!("URLFETCH ({from_dovecot} BODYPARTSTRUCTURE BODY)"),
    ];
    for fetch in &fetches {
        let got = ours.command(fetch.as_bytes());
        assert_eq!(got, dovecot.command(fetch.as_bytes()), "{fetch}");
        assert_eq!(
            got.last().map(String::as_str),
            Some("OK URLFETCH completed.")
        );
        assert!(!got[0].ends_with(" NIL"), "{got:?}");
    }

    // cote makes Work's key; Dovecot serves cote's URLs.
    // Part 2 is base64: BINARY decodes it, BODYPARTSTRUCTURE with BINARY shows decoded sizes.
    let section_rump = "imap://alice@example.com/INBOX/;UID=1/;SECTION=2;URLAUTH=anonymous";
    let work_rump = "imap://alice@example.com/Work/;UID=1;URLAUTH=user+bob";
    let from_cote = [
        genurlauth(&mut ours, section_rump),
        genurlauth(&mut ours, work_rump),
    ];
    let attributes = std::fs::read_to_string(homes.join("alice/dovecot-attributes")).unwrap();
    let key_lines = attributes
        .lines()
        .filter(|l| l.ends_with("/vendor/vendor.dovecot/imap-urlauth"))
        .count();
    assert_eq!(key_lines, 2, "{attributes}");
    chown_tree(&homes.join("alice"));
    assert_eq!(genurlauth(&mut dovecot, work_rump), from_cote[1]);
    for url in &from_cote {
        for fetch in [
            format!("URLFETCH {url}"),
            format!("URLFETCH ({url} BINARY)"),
            format!("URLFETCH ({url} BODYPARTSTRUCTURE)"),
            format!("URLFETCH ({url} BODYPARTSTRUCTURE BINARY)"),
        ] {
            let theirs = dovecot.command(fetch.as_bytes());
            assert!(!theirs[0].ends_with(" NIL"), "{fetch}: {theirs:?}");
            assert_eq!(ours.command(fetch.as_bytes()), theirs, "{fetch}");
        }
    }

    // RESETKEY by cote: Dovecot refuses the URL; by Dovecot (all keys): cote does.
    assert_eq!(
        ours.command(b"RESETKEY Work INTERNAL"),
        ["OK [URLMECH INTERNAL] Key removed."]
    );
    let refused = |answer: &[String]| {
        answer.len() == 3
            && answer[0].ends_with(" NIL")
            && answer[1].ends_with(": URLAUTH verification failed.")
    };
    let fetch_work = format!("URLFETCH {}", from_cote[1]);
    let theirs = dovecot.command(fetch_work.as_bytes());
    assert!(refused(&theirs), "{theirs:?}");
    assert_eq!(dovecot.command(b"RESETKEY"), ["OK All keys removed."]);
    let fetch_inbox = format!("URLFETCH {from_dovecot}");
    let got = ours.command(fetch_inbox.as_bytes());
    assert!(refused(&got), "{got:?}");
    assert_eq!(got, dovecot.command(fetch_inbox.as_bytes()));

    let complaints = oracle.complaints();
    assert!(complaints.is_empty(), "Dovecot complained: {complaints:?}");
}
