//! URLFETCH of other users' URLAUTH URLs through cote's imap-urlauth services (login relay,
//! relay, worker running as the owner), with Dovecot 2.3 on the same store:
//!
//! - alice's URLs (made by Dovecot, so cote verifies Dovecot's keys) fetched by bob, carol
//!   and the `imap_urlauth_submit_user` on cote answer what alice herself gets from
//!   Dovecot for her own URL (data, BODYPARTSTRUCTURE, BINARY);
//! - access ids as Dovecot's `imap_urlauth_check_access` decides them for a logged-in user
//!   (`user+<anyone>`, `authuser`, `anonymous`; `submit+<anyone>` only for the submit user);
//! - what the owner's side does not tell (no such mailbox, a wrong token, no such owner,
//!   a key RESETKEY removed) is a bare `NIL`; what the asking side refuses before asking
//!   (expired, wrong host) is answered as Dovecot answers it;
//! - a connection that does not prove who it is gets `NO` from the worker.
//!
//! Dovecot 2.3.19.1's own imap-urlauth cannot be compared: its imap-urlauth-login asserts
//! (`sasl_server_auth_begin`: the auth server lists DOVECOT-TOKEN without its `private`
//! flag on token-login connections) and the imap process ends with "Internal error".
//!
//! Needs root and the oracle (`make oracle` or /opt/dovecot).

// Each support module brings the port allocator (tests/port_support); the copies claim
// ports through the same lock files, so they never collide.
#![allow(clippy::duplicate_mod)]

mod acl_support;
mod login_support;
mod maildir_support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use acl_support::{command, login};
use login_support::Server;
use maildir_support::{chown_tree, passwd_users, Oracle, MAIL_UID};

const CONF: &str = "mail_attribute_dict = file:%h/dovecot-attributes\n\
    imap_urlauth_host = example.com\n\
    imap_urlauth_submit_user = sub\n";

/// Parts without line breaks, so each answer is one line per literal.
const MESSAGE: &str = "Subject: shared\r\nMIME-Version: 1.0\r\n\
    Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\
    Content-Type: text/plain\r\n\r\nfirst part\r\n--x\r\n\
    Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
    AAECAwRoZWxsbw==\r\n--x--\r\n";

fn genurlauth(conn: &mut acl_support::Conn, rump: &str) -> String {
    let answer = command(conn, &format!("GENURLAUTH \"{rump}\" INTERNAL"));
    assert_eq!(answer.len(), 2, "{answer:?}");
    answer[0]
        .strip_prefix("* GENURLAUTH ")
        .unwrap_or_else(|| panic!("{answer:?}"))
        .to_string()
}

/// `* URLFETCH <url> NIL` and nothing else.
fn bare_nil(url: &str) -> Vec<String> {
    vec![
        format!("* URLFETCH {url} NIL"),
        "OK URLFETCH completed.".into(),
    ]
}

fn refused(url: &str, why: &str) -> Vec<String> {
    vec![
        format!("* URLFETCH {url} NIL"),
        format!("* NO Failed to fetch URLAUTH \"{url}\": {why}."),
        "OK URLFETCH completed.".into(),
    ]
}

#[test]
fn other_users_urls_through_the_owners_worker() {
    let oracle = Oracle::start("maildir:~/Maildir", CONF);
    let homes = oracle.path("home");
    let users = passwd_users(&["alice", "bob", "carol", "sub"], &homes);
    let cote = Server::start_with(
        &users,
        "127.0.0.1",
        &format!("mail_location = maildir:~/Maildir\n{CONF}"),
    );

    // alice's message and URLs, made by Dovecot.
    let mut alice_dovecot = login(oracle.port, "alice");
    let appended = command(
        &mut alice_dovecot,
        &format!("APPEND INBOX {{{}+}}\r\n{MESSAGE}", MESSAGE.len()),
    );
    assert!(appended[0].starts_with("OK"), "{appended:?}");
    let base = "imap://alice@example.com/INBOX/;UID=1/;SECTION=1;URLAUTH=";
    let binary_base = "imap://alice@example.com/INBOX/;UID=1/;SECTION=2;URLAUTH=";
    let url =
        |conn: &mut acl_support::Conn, access: &str| genurlauth(conn, &format!("{base}{access}"));
    let for_bob = url(&mut alice_dovecot, "user+bob");
    let authuser = url(&mut alice_dovecot, "authuser");
    let anonymous = url(&mut alice_dovecot, "anonymous");
    let submit_sub = url(&mut alice_dovecot, "submit+sub");
    let submit_bob = url(&mut alice_dovecot, "submit+bob");
    let binary = genurlauth(&mut alice_dovecot, &format!("{binary_base}user+bob"));
    chown_tree(&homes.join("alice"));

    // What alice gets for her own URLs from Dovecot is what the others get from cote.
    let own = |conn: &mut acl_support::Conn, fetch: &str| command(conn, fetch);
    let plain_answer = own(&mut alice_dovecot, &format!("URLFETCH {for_bob}"));
    assert!(
        plain_answer[0].ends_with("{10}\r\nfirst part"),
        "{plain_answer:?}"
    );
    let extended = [
        format!("URLFETCH ({for_bob} BODYPARTSTRUCTURE BODY)"),
        format!("URLFETCH ({binary} BINARY)"),
        format!("URLFETCH ({binary} BODYPARTSTRUCTURE BINARY)"),
    ];
    let extended_answers: Vec<Vec<String>> = extended
        .iter()
        .map(|f| own(&mut alice_dovecot, f))
        .collect();

    let mut bob = login(cote.imap, "bob");
    for access_url in [&for_bob, &authuser, &anonymous] {
        let fetch = format!("URLFETCH {access_url}");
        let got = command(&mut bob, &fetch);
        let want: Vec<String> = plain_answer
            .iter()
            .map(|l| l.replace(&for_bob, access_url))
            .collect();
        assert_eq!(got, want, "{fetch}\n{}", cote.logs());
    }
    for (fetch, want) in extended.iter().zip(&extended_answers) {
        assert_eq!(&command(&mut bob, fetch), want, "{fetch}\n{}", cote.logs());
    }
    // submit+ is the submit user's only.
    for submit in [&submit_sub, &submit_bob] {
        let access = if submit == &submit_sub {
            "submit+sub"
        } else {
            "submit+bob"
        };
        assert_eq!(
            command(&mut bob, &format!("URLFETCH {submit}")),
            refused(
                submit,
                &format!("No '{access}' access allowed for user bob")
            )
        );
    }
    // The submit user fetches `submit+<anyone>` (Dovecot's `access_applications_have_access`
    // wants only some user id).
    let mut sub = login(cote.imap, "sub");
    for submit in [&submit_sub, &submit_bob] {
        let got = command(&mut sub, &format!("URLFETCH {submit}"));
        let want: Vec<String> = plain_answer
            .iter()
            .map(|l| l.replace(&for_bob, submit))
            .collect();
        assert_eq!(got, want);
    }
    // Dovecot's imap_urlauth_check_access lets any logged-in user use `user+<someone>`.
    let mut carol = login(cote.imap, "carol");
    let got = command(&mut carol, &format!("URLFETCH {for_bob}"));
    assert_eq!(got, plain_answer, "{}", cote.logs());

    // What the owner's side does not tell: no such mailbox, a wrong token, no such owner.
    let wrong_mailbox = for_bob.replace("/INBOX/", "/Nope/");
    let mut wrong_token = for_bob.clone();
    let last = wrong_token.pop().unwrap();
    wrong_token.push(if last == '0' { '1' } else { '0' });
    let no_owner = anonymous.replace("alice@", "nobody@");
    for url in [&wrong_mailbox, &wrong_token, &no_owner] {
        assert_eq!(command(&mut bob, &format!("URLFETCH {url}")), bare_nil(url));
    }
    // What the asking side refuses before asking is answered as Dovecot answers it.
    let mut bob_dovecot = login(oracle.port, "bob");
    for url in [
        for_bob.replace("example.com", "example.org"),
        for_bob.replace(";URLAUTH=", ";EXPIRE=2000-01-01T00:00:00Z;URLAUTH="),
        for_bob.replace(";URLAUTH=user+bob", ";URLAUTH=user"),
    ] {
        let fetch = format!("URLFETCH {url}");
        let theirs = command(&mut bob_dovecot, &fetch);
        assert_eq!(theirs.len(), 3, "{theirs:?}");
        assert_eq!(command(&mut bob, &fetch), theirs);
    }

    // The workers ran as alice: nothing they left in her home is root's.
    fn owners(dir: &std::path::Path, out: &mut Vec<(String, u32)>) {
        use std::os::unix::fs::MetadataExt;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            out.push((path.display().to_string(), meta.uid()));
            if meta.is_dir() {
                owners(&path, out);
            }
        }
    }
    let mut files = Vec::new();
    owners(&homes.join("alice"), &mut files);
    assert!(files.iter().any(|(p, _)| p.contains("cote")), "{files:?}");
    assert!(files.iter().all(|(_, uid)| *uid == MAIL_UID), "{files:?}");

    // RESETKEY by alice (on cote): bob's URL no longer verifies.
    let mut alice = login(cote.imap, "alice");
    assert_eq!(command(&mut alice, "RESETKEY"), ["OK All keys removed."]);
    assert_eq!(
        command(&mut bob, &format!("URLFETCH {for_bob}")),
        bare_nil(&for_bob)
    );
    // ... and alice herself is told why.
    assert_eq!(
        command(&mut alice, &format!("URLFETCH {for_bob}")),
        refused(&for_bob, "URLAUTH verification failed")
    );

    // Whoever connects to the service must prove who they are.
    let mut socket = UnixStream::connect(cote.base_dir().join("imap-urlauth")).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    socket.write_all(b"ACCESS\tbob\t00\n").unwrap();
    let mut line = String::new();
    BufReader::new(&socket).read_line(&mut line).unwrap();
    assert_eq!(line, "NO\n");

    let logged = login_support::wait_for(std::time::Duration::from_secs(10), || {
        Some(cote.logs()).filter(|l| l.contains("Invalid access token for user bob"))
    });
    let logs = cote.logs();
    assert!(logged.is_some(), "{logs}");
    for line in logs.lines() {
        let bad = line.contains(": Error: ") && !line.contains("Invalid access token")
            || line.contains(": Fatal: ")
            || line.contains("Panic");
        assert!(!bad, "{line}\n{logs}");
    }
}

/// An imap process that serves several sessions (`service_count = 0`, one process) gives
/// each of them its token: the second and third session fetch another user's URL as the
/// first would have.
#[test]
fn every_session_of_a_reused_imap_process_fetches() {
    let homes = tempfile::tempdir().unwrap();
    std::os::unix::fs::chown(homes.path(), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
    let users = passwd_users(&["alice", "bob", "carol"], homes.path());
    let cote = Server::start_with(
        &users,
        "127.0.0.1",
        &format!(
            "mail_location = maildir:~/Maildir\n{CONF}\
             service imap {{\n  service_count = 0\n  process_limit = 1\n  client_limit = 1\n}}\n"
        ),
    );
    let mut alice = login(cote.imap, "alice");
    let appended = command(
        &mut alice,
        &format!("APPEND INBOX {{{}+}}\r\n{MESSAGE}", MESSAGE.len()),
    );
    assert!(appended[0].starts_with("OK"), "{appended:?}");
    let rump =
        |who: &str| format!("imap://alice@example.com/INBOX/;UID=1/;SECTION=1;URLAUTH=user+{who}");
    let urls: Vec<String> = ["bob", "carol"]
        .iter()
        .map(|who| genurlauth(&mut alice, &rump(who)))
        .collect();
    let own = command(&mut alice, &format!("URLFETCH {}", urls[0]));
    assert!(own[0].ends_with("{10}\r\nfirst part"), "{own:?}");
    command(&mut alice, "LOGOUT");
    drop(alice);
    for (who, url) in ["bob", "carol", "bob"]
        .iter()
        .zip([&urls[0], &urls[1], &urls[0]])
    {
        let mut conn = login(cote.imap, who);
        let want: Vec<String> = own.iter().map(|l| l.replace(&urls[0], url)).collect();
        assert_eq!(
            command(&mut conn, &format!("URLFETCH {url}")),
            want,
            "{who}\n{}",
            cote.logs()
        );
        command(&mut conn, "LOGOUT");
    }
    let logs = cote.logs();
    for line in logs.lines() {
        let bad = line.contains(": Error: ") || line.contains(": Fatal: ");
        assert!(!bad, "{line}\n{logs}");
    }
}
