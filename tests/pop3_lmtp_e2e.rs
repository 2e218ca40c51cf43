//! Mail in and mail out with real clients: Python's smtplib.LMTP delivers over the LMTP unix
//! socket, poplib reads, deletes and quits over POP3 (and pop3s); every message arrives
//! exactly once, byte-stuffed lines come back intact, and deletes happen only at QUIT.

mod login_support;

use std::os::unix::fs::PermissionsExt;

use login_support::{free_port, pop3_listener, python, Server};

const CLIENTS: &str = r#"
import smtplib, poplib, ssl, sys
lmtp_socket, pop3, pop3s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

lmtp = smtplib.LMTP(lmtp_socket)
code, _ = lmtp.ehlo("client.example")
print("lhlo", code, lmtp.has_extn("pipelining"), lmtp.has_extn("8bitmime"))
for i in range(3):
    body = "Subject: m%d\r\nMessage-ID: <m%d@example.com>\r\n\r\nline %d\r\n.dot\r\n" % (i, i, i)
    refused = lmtp.sendmail("sender@example.com", ["alice"], body)
    print("sent", i, refused)
try:
    lmtp.sendmail("sender@example.com", ["nosuch"], "Subject: x\r\n\r\nx\r\n")
except smtplib.SMTPRecipientsRefused as e:
    print("refused", list(e.recipients.items())[0][1][0])
lmtp.quit()

p = poplib.POP3("127.0.0.1", pop3)
p.user("alice")
p.pass_("secret")
print("stat", p.stat()[0])
uidls = [u.decode() for u in p.uidl()[1]]
print("uidl", len(uidls), len(set(u.split()[1] for u in uidls)))
lines = p.retr(2)[1]
print("retr", [l.decode() for l in lines if l.startswith(b"Subject") or b"dot" in l])
p.dele(1)
print("after dele", p.stat()[0])
p.quit()

ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL("127.0.0.1", pop3s, context=ctx)
p.user("alice")
p.pass_("secret")
print("pop3s stat", p.stat()[0])
p.dele(1)
# No QUIT: the connection just goes away, nothing is deleted.
p.sock.close()

p = poplib.POP3("127.0.0.1", pop3)
p.user("alice")
p.pass_("secret")
print("final stat", p.stat()[0])
print("final uidl", [u.decode().split()[1] for u in p.uidl()[1]] == [u.split()[1] for u in uidls[1:]])
p.quit()
"#;

#[test]
fn python_lmtp_delivers_and_poplib_reads() {
    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (pop3, pop3s) = (free_port(), free_port());
    let server = Server::start(&format!(
        "protocols = imap pop3 lmtp\n\
         mail_location = maildir:{}/%u\n{}",
        mail.path().display(),
        pop3_listener(pop3, pop3s)
    ));
    let socket = server.base_dir().join("lmtp");
    let out = python(
        CLIENTS,
        &[
            socket.display().to_string(),
            pop3.to_string(),
            pop3s.to_string(),
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "lhlo 250 True True",
            "sent 0 {}",
            "sent 1 {}",
            "sent 2 {}",
            "refused 550",
            "stat 3",
            "uidl 3 3",
            "retr ['Subject: m1', '.dot']",
            "after dele 2",
            "pop3s stat 2",
            "final stat 2",
            "final uidl True",
        ],
        "{}",
        server.logs()
    );
    // The messages belong to the user who received them.
    let cur = mail.path().join("alice/cur");
    let files: Vec<_> = std::fs::read_dir(&cur).unwrap().collect();
    assert_eq!(files.len(), 2);
    for entry in files {
        let meta = entry.unwrap().metadata().unwrap();
        if login_support::is_root() {
            assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 1000);
        }
    }
}

/// cote-lda as an MTA's `mailbox_command` runs it: the message on stdin (an mbox `From ` line
/// first is dropped), dovecot-lda's exit codes, and the result read back over POP3.
#[test]
fn lda_delivers_with_dovecot_lda_exit_codes() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let pop3 = free_port();
    let server = Server::start(&format!(
        "protocols = imap pop3\n\
         mail_location = maildir:{}/%u\n{}",
        mail.path().display(),
        pop3_listener(pop3, 0)
    ));
    let lda = |args: &[&str], message: &[u8]| -> (u8, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cote-lda"))
            .arg("-c")
            .arg(server.path("cote.conf"))
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The LDA may refuse its arguments before it reads the message: a broken pipe then.
        let _ = child.stdin.take().unwrap().write_all(message);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1) as u8,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let message = b"From sender@example.com  Sat Nov 28 21:00:00 2026\nSubject: lda\n\n.body\n";
    assert_eq!(lda(&["-d", "alice"], message).0, 0, "{}", server.logs());
    assert_eq!(
        lda(&["-d", "alice", "-m", "NoSuchBox", "-f", "<s@x>"], message).0,
        0
    );
    let (code, stderr) = lda(&["-d", "nosuch"], message);
    assert_eq!(code, 67, "{stderr}");
    let (code, stderr) = lda(&["-x"], message);
    assert_eq!(code, 64, "{stderr}");
    if login_support::is_root() {
        let (code, stderr) = lda(&[], message);
        assert_eq!(code, 64, "{stderr}");
        assert!(stderr.contains("-d user"), "{stderr}");
    }
    let out = python(
        r#"
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]))
p.user("alice")
p.pass_("secret")
print(p.stat()[0], [l.decode() for l in p.retr(1)[1]])
p.quit()
"#,
        &[pop3.to_string()],
    );
    assert_eq!(out.trim(), "2 ['Subject: lda', '', '.body']");
}

/// cote-lda's `-o key=value` (as dovecot-lda's: wins over the file, an unknown key is
/// ignored, a bad value is EX_TEMPFAIL) and its rejections: refused for good without `-e`,
/// the reason goes to the sender through `sendmail_path` and the MTA gets 0; with `-e` it
/// gets 77 and the reason on stderr.
#[test]
fn lda_overrides_and_rejections() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    if !login_support::is_root() {
        eprintln!("skipped: needs root (the LDA becomes the user; the store is made unwritable)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mail = dir.path().join("mail");
    let other = dir.path().join("other");
    let locked = dir.path().join("locked");
    for d in [&mail, &other] {
        std::fs::create_dir(d).unwrap();
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o1777)).unwrap();
    }
    // alice's Maildir there exists but belongs to root, read-only: saving is refused.
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(locked.join("alice").join(sub)).unwrap();
    }
    for d in ["", "cur", "new", "tmp"] {
        let p = locked.join("alice").join(d);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let sendmail = dir.path().join("sendmail.sh");
    std::fs::write(
        &sendmail,
        format!(
            "#!/bin/sh\necho \"$@\" > {0}/sendmail.args\ncat > {0}/sendmail.mail\n",
            dir.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Server::start(&format!(
        "protocols = imap\nmail_location = maildir:{}/%u\n",
        mail.display()
    ));
    let lda = |args: &[&str], message: &[u8]| -> (u8, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cote-lda"))
            .arg("-c")
            .arg(server.path("cote.conf"))
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child.stdin.take().unwrap().write_all(message);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1) as u8,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let message = b"Return-Path: <ret@example.com>\nSubject: to be refused\n\nbody\n";
    let other_location = format!("mail_location=maildir:{}/%u", other.display());
    let (code, stderr) = lda(
        &["-d", "alice", "-o", &other_location, "-o", "nosuch=1"],
        message,
    );
    assert_eq!(code, 0, "{stderr}\n{}", server.logs());
    assert_eq!(
        std::fs::read_dir(other.join("alice/new")).unwrap().count(),
        1
    );
    assert!(!mail.join("alice").exists());
    let (code, stderr) = lda(&["-d", "alice", "-o", "mail_fsync=bad"], message);
    assert_eq!(code, 75);
    assert!(
        stderr.contains("Invalid -o parameter mail_fsync=bad"),
        "{stderr}"
    );
    let (code, stderr) = lda(&["-d", "alice", "-o", "novalue"], message);
    assert_eq!(code, 75);
    assert!(stderr.contains("novalue: Missing '='"), "{stderr}");

    let locked_location = format!("mail_location=maildir:{}/%u", locked.display());
    let sendmail_path = format!("sendmail_path={}", sendmail.display());
    let (code, stderr) = lda(&["-d", "alice", "-e", "-o", &locked_location], message);
    assert_eq!(code, 77, "{stderr}\n{}", server.logs());
    assert!(!dir.path().join("sendmail.mail").exists());
    let refuse = ["-d", "alice", "-o", &locked_location, "-o", &sendmail_path];
    let (code, stderr) = lda(&refuse, message);
    assert_eq!(code, 0, "{stderr}\n{}", server.logs());
    let args = std::fs::read_to_string(dir.path().join("sendmail.args")).unwrap();
    assert_eq!(args.trim(), "-i -f <> -- ret@example.com");
    let sent = std::fs::read_to_string(dir.path().join("sendmail.mail")).unwrap();
    for part in [
        "To: <ret@example.com>\r\n",
        "Subject: Rejected: to be refused\r\n",
        "Auto-Submitted: auto-replied (rejected)\r\n",
        "Your message to <alice> was automatically rejected:\r\n",
        "Final-Recipient: rfc822; alice\r\nAction: failed\r\nStatus: 5.2.0\r\n",
        "Content-Type: message/rfc822\r\n\r\nReturn-Path: <ret@example.com>\n",
    ] {
        assert!(sent.contains(part), "{part:?} in {sent}");
    }
    // Nobody to tell (a null sender, an automatic message): delivered as refused, 0.
    std::fs::remove_file(dir.path().join("sendmail.mail")).unwrap();
    let mut with_null = refuse.to_vec();
    with_null.extend(["-f", "<>"]);
    assert_eq!(lda(&with_null, b"Subject: x\n\nx\n").0, 0);
    assert_eq!(
        lda(
            &refuse,
            b"Auto-Submitted: auto-replied\nReturn-Path: <r@x>\n\nx\n"
        )
        .0,
        0
    );
    assert!(!dir.path().join("sendmail.mail").exists());
    // A sendmail that fails: the MTA must retry.
    let failing = "sendmail_path=/bin/false".to_string();
    let (code, _) = lda(
        &["-d", "alice", "-o", &locked_location, "-o", &failing],
        message,
    );
    assert_eq!(code, 75);
}

const TWO_USERS: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
def reply():
    lines = [f.readline()]
    while lines[-1][3:4] == b"-":
        lines.append(f.readline())
    return lines[-1][:3].decode()
def cmd(line):
    s.sendall(line.encode() + b"\r\n")
    return reply()
reply()
cmd("LHLO client.example")
# smtplib reads one reply after DATA; LMTP sends one per recipient
for rcpts in (["alice", "bob"], ["bob"], ["alice", "bob"]):
    codes = [cmd("MAIL FROM:<sender@example.com>")]
    codes += [cmd("RCPT TO:<%s>" % r) for r in rcpts]
    codes.append(cmd("DATA"))
    s.sendall(b"Subject: x\r\n\r\nx\r\n.\r\n")
    codes += [reply() for r in rcpts]
    print("sent", " ".join(codes))
cmd("QUIT")
"#;

/// One lmtp process delivers to users of different uids in turn (as root: taking on each
/// identity for the delivery and giving it back): every file belongs to its recipient.
#[test]
fn lmtp_delivers_as_each_recipient_in_turn() {
    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let server = Server::start(&format!(
        "protocols = imap lmtp\nmail_location = maildir:{}/%u\n\
         service lmtp {{\n  process_limit = 1\n}}\n",
        mail.path().display()
    ));
    let socket = server.base_dir().join("lmtp");
    let out = python(TWO_USERS, &[socket.display().to_string()]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "sent 250 250 250 354 250 250",
            "sent 250 250 354 250",
            "sent 250 250 250 354 250 250"
        ],
        "{}",
        server.logs()
    );
    for (user, uid, count) in [("alice", 1000, 2), ("bob", 1001, 3)] {
        let new = mail.path().join(user).join("new");
        let files: Vec<_> = std::fs::read_dir(&new).unwrap().collect();
        assert_eq!(files.len(), count, "{user}: {}", server.logs());
        for entry in files {
            let meta = entry.unwrap().metadata().unwrap();
            if login_support::is_root() {
                assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), uid, "{user}");
            }
        }
    }
}
