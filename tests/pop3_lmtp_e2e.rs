//! Mail in and mail out with real clients: Python's smtplib.LMTP delivers over the LMTP unix
//! socket, poplib reads, deletes and quits over POP3 (and pop3s); every message arrives
//! exactly once, byte-stuffed lines come back intact, and deletes happen only at QUIT.

mod login_support;

use std::os::unix::fs::PermissionsExt;

use login_support::{free_port, python, Server};

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
         mail_location = maildir:{}/%u\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = {pop3s}\n  }}\n}}\n",
        mail.path().display()
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
         mail_location = maildir:{}/%u\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = 0\n  }}\n}}\n",
        mail.path().display()
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
