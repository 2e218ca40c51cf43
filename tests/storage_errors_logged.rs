//! Every internal storage error a client is answered with ("Internal error occurred. Refer
//! to server log for more information.") has its cause in the log as one Error line, as
//! Dovecot logs it: the mailbox, the path and the system error. IMAP, POP3 and LMTP alike;
//! the failure is a real one (a directory where `dovecot-uidlist` must be a file).

mod imap_client;
mod login_support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use imap_client::Imap;
use login_support::{free_port, pop3_listener, python, wait_for, Server};

const CRITICAL: &str = "Internal error occurred. Refer to server log for more information.";

/// A server with IMAP, POP3 and LMTP, alice's Maildir made with `dovecot-uidlist` a
/// directory (so reading it fails with EISDIR); returns it with its POP3 port.
fn broken_inbox() -> (Server, u16, tempfile::TempDir) {
    let mail = tempfile::tempdir().unwrap();
    fs::set_permissions(mail.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let (pop3, pop3s) = (free_port(), free_port());
    let server = Server::start(&format!(
        "protocols = imap pop3 lmtp\n\
         mail_location = maildir:{}/%u\n{}",
        mail.path().display(),
        pop3_listener(pop3, pop3s)
    ));
    let maildir = mail.path().join("alice");
    for sub in ["", "new", "tmp", "cur", "dovecot-uidlist"] {
        fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let (uid, gid) = (1000, 1000);
    for sub in ["", "new", "tmp", "cur", "dovecot-uidlist"] {
        std::os::unix::fs::chown(maildir.join(sub), Some(uid), Some(gid)).unwrap();
    }
    (server, pop3, mail)
}

/// The log's Error lines that name `needle`.
fn error_lines(server: &Server, needle: &str) -> Vec<String> {
    let log = fs::read_to_string(server.path("cote.log")).unwrap_or_default();
    log.lines()
        .filter(|l| l.contains(": Error: ") && l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn imap_internal_error_is_logged_once() {
    let (server, _, mail) = broken_inbox();
    let uidlist = mail.path().join("alice/dovecot-uidlist");
    let mut imap = Imap::login(server.imap, "alice", "secret");
    let lines = imap.command("SELECT INBOX");
    let last = lines.last().cloned().unwrap_or_default();
    assert!(
        last.contains("NO [SERVERBUG] ") && last.contains(CRITICAL),
        "{lines:?}"
    );
    imap.ok("LOGOUT");
    let line = server.wait_log(&uidlist.display().to_string());
    assert!(line.contains("imap(alice)"), "{line}");
    assert!(line.contains(": Error: "), "{line}");
    assert!(line.contains("Mailbox INBOX"), "{line}");
    assert!(line.contains("Is a directory"), "{line}");
    let errors = error_lines(&server, &uidlist.display().to_string());
    assert_eq!(errors.len(), 1, "{}", server.logs());
}

#[test]
fn pop3_internal_error_is_logged() {
    let (server, pop3, mail) = broken_inbox();
    let uidlist = mail.path().join("alice/dovecot-uidlist");
    // The server is up when IMAP answers; POP3's listener may follow a moment later.
    let stream = wait_for(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", pop3)).ok()
    })
    .expect("POP3 listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut line = String::new();
    let mut next = |reader: &mut BufReader<TcpStream>| {
        line.clear();
        reader.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    };
    assert!(next(&mut reader).starts_with("+OK"));
    writer.write_all(b"USER alice\r\n").unwrap();
    assert!(next(&mut reader).starts_with("+OK"));
    writer.write_all(b"PASS secret\r\n").unwrap();
    // Without pop3_lock_session the login is answered before INBOX is opened.
    let mut answer = next(&mut reader);
    if answer == "+OK Logged in." {
        answer = next(&mut reader);
    }
    assert!(
        answer.starts_with("-ERR [SYS/TEMP] ") && answer.contains(CRITICAL),
        "{answer}"
    );
    let line = server.wait_log(&uidlist.display().to_string());
    assert!(line.contains("pop3(alice)"), "{line}");
    assert!(line.contains(": Error: Mailbox INBOX: "), "{line}");
    assert!(line.contains("Is a directory"), "{line}");
    // Then, as Dovecot's pop3, the session's own line.
    server.wait_log("Error: Couldn't init INBOX: ");
}

const LMTP: &str = r#"
import smtplib, sys
lmtp = smtplib.LMTP(sys.argv[1])
lmtp.ehlo("client.example")
try:
    lmtp.sendmail("sender@example.com", ["alice"], "Subject: x\r\n\r\nx\r\n")
    print("accepted")
except smtplib.SMTPDataError as e:
    print("data", e.smtp_code, e.smtp_error.decode())
except smtplib.SMTPRecipientsRefused as e:
    print("refused", e.recipients)
lmtp.quit()
"#;

#[test]
fn lmtp_internal_error_is_logged() {
    let (server, _, mail) = broken_inbox();
    let uidlist = mail.path().join("alice/dovecot-uidlist");
    let out = python(
        LMTP,
        &[server.base_dir().join("lmtp").display().to_string()],
    );
    assert!(out.contains(CRITICAL), "{out}");
    let line = server.wait_log(&uidlist.display().to_string());
    assert!(line.contains("lmtp(alice)"), "{line}");
    assert!(line.contains(": Error: Mailbox INBOX: "), "{line}");
    assert!(line.contains("Is a directory"), "{line}");
    // Storage logged it: the delivery does not log the same cause again.
    let errors = error_lines(&server, &uidlist.display().to_string());
    assert_eq!(errors.len(), 1, "{}", server.logs());
}

#[test]
fn setacl_failure_is_logged_once() {
    let mail = tempfile::tempdir().unwrap();
    fs::set_permissions(mail.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let server = Server::start(&format!(
        "mail_location = maildir:{}/%u\n\
         mail_plugins = $mail_plugins acl\n\
         protocol imap {{\n  mail_plugins = $mail_plugins imap_acl\n}}\n\
         plugin {{\n  acl = vfile\n}}\n",
        mail.path().display()
    ));
    let mut imap = Imap::login(server.imap, "alice", "secret");
    imap.ok("CREATE Foo");
    // The mailbox's ACL file cannot be replaced: a directory is in its place.
    let acl = mail.path().join("alice/.Foo/dovecot-acl");
    fs::create_dir(&acl).unwrap();
    std::os::unix::fs::chown(&acl, Some(1000), Some(1000)).unwrap();
    let lines = imap.command("SETACL Foo bob lr");
    let last = lines.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("NO ") && last.contains(CRITICAL),
        "{lines:?}"
    );
    imap.ok("LOGOUT");
    let line = server.wait_log(&acl.display().to_string());
    assert!(line.contains("imap(alice)"), "{line}");
    assert!(line.contains(": Error: "), "{line}");
    assert!(line.contains("Mailbox Foo: "), "{line}");
    assert_eq!(
        error_lines(&server, &acl.display().to_string()).len(),
        1,
        "{}",
        server.logs()
    );
}
