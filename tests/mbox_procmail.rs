//! procmail (Debian's, `apt-get install procmail`: dotlock + fcntl, the same convention as
//! Postfix `local` and mutt) delivering into an mbox INBOX spool while a real `cote -F`
//! IMAP session has it selected: new mail appears in the session with the next UIDs, a
//! flag set over IMAP survives the deliveries that follow, and an EXPUNGE made while a
//! delivery waits on the lock (both wait on a dotlock the test holds, then race for it)
//! loses nothing. Temp dirs only (the spool is `<tmp>/alice/inbox`, not /var/mail).
//! Needs root (the session runs as uid 1000) and procmail; fails clearly without them.

mod login_support;

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;

use cote::storage::flags::MailFlags;
use cote::storage::mbox::format::{assign_uids, parse_mbox};

const SESSION: &str = r#"
import imaplib, os, re, subprocess, sys, threading, time
port, inbox, rc = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def deliver(subject, wait=True):
    msg = ("From mta@example.com  Thu Nov 29 22:33:52 2001\nSubject: %s\n"
           "Message-ID: <%s@example.com>\n\nbody %s\n" % (subject, subject, subject)).encode()
    p = subprocess.Popen(['procmail', '-m', rc], stdin=subprocess.PIPE, user=1000, group=1000,
                         env={'HOME': os.path.dirname(rc), 'PATH': '/usr/bin:/bin'})
    p.stdin.write(msg)
    p.stdin.close()
    if wait:
        assert p.wait(120) == 0, 'procmail failed'
    return p

def listing(c):
    typ, data = c.uid('FETCH', '1:*', '(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    out = []
    for d in data:
        if not isinstance(d, tuple):
            continue
        uid = int(re.search(rb'UID (\d+)', d[0]).group(1))
        flagged = b'\\Flagged' in d[0]
        subject = d[1].decode().strip().split(': ', 1)[1]
        out.append((uid, subject, flagged))
    return out

c = imaplib.IMAP4('127.0.0.1', port)
c.login('alice', 'secret')
deliver('one')
typ, data = c.select('INBOX')
assert data == [b'1'], data
deliver('two')
c.noop()
assert listing(c) == [(1, 'one', False), (2, 'two', False)], listing(c)
c.uid('STORE', '1', '+FLAGS', '(\\Flagged)')
deliver('three')
c.noop()
assert listing(c) == [(1, 'one', True), (2, 'two', False), (3, 'three', False)], listing(c)

# an expunge while a delivery waits on the lock: both wait on the test's dotlock
lock = inbox + '.lock'
os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
waiting = deliver('four', wait=False)
c.uid('STORE', '2', '+FLAGS', '(\\Deleted)')
answers = []
expunger = threading.Thread(target=lambda: answers.append(c.expunge()))
time.sleep(1)
expunger.start()
time.sleep(2)
assert waiting.poll() is None, 'procmail did not wait for the lock'
os.unlink(lock)
expunger.join(300)
assert answers and answers[0][0] == 'OK', answers
assert waiting.wait(300) == 0, 'procmail failed'
c.noop()
got = listing(c)
assert got == [(1, 'one', True), (3, 'three', False), (4, 'four', False)], got
c.unselect()
c.logout()

c = imaplib.IMAP4('127.0.0.1', port)
c.login('alice', 'secret')
c.select('INBOX', readonly=True)
got = listing(c)
assert got == [(1, 'one', True), (3, 'three', False), (4, 'four', False)], got
c.logout()
print('done')
"#;

#[test]
fn procmail_delivers_while_a_session_has_the_inbox_selected() {
    assert!(
        Path::new("/usr/bin/procmail").is_file(),
        "procmail is not installed (apt-get install procmail)"
    );
    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let home = mail.path().join("alice");
    std::fs::create_dir(&home).unwrap();
    chown(&home, Some(1000), Some(1000)).unwrap();
    let inbox = home.join("inbox");
    let rc = home.join("procmailrc");
    std::fs::write(
        &rc,
        format!(
            "LOCKSLEEP=1\nDEFAULT={inbox}\n:0:\n{inbox}\n",
            inbox = inbox.display()
        ),
    )
    .unwrap();
    chown(&rc, Some(1000), Some(1000)).unwrap();
    let m = mail.path().display();
    let server =
        login_support::Server::start(&format!("mail_location = mbox:{m}/%u:INBOX={m}/%u/inbox\n"));
    let out = login_support::python(
        SESSION,
        &[
            server.imap.to_string(),
            inbox.display().to_string(),
            rc.display().to_string(),
        ],
    );
    assert!(out.contains("done"), "{out}\n{}", server.logs());
    // the file says the same: UIDs in X-UID headers, the flag written at close
    let data = std::fs::read(&inbox).unwrap();
    let file = parse_mbox(&data).unwrap();
    let uids = assign_uids(&file);
    assert!(uids.uids.iter().all(|u| u.in_file));
    let got: Vec<(u32, bool)> = file
        .messages
        .iter()
        .zip(&uids.uids)
        .map(|(m, u)| (u.uid, m.meta.flags.contains(MailFlags::FLAGGED)))
        .collect();
    assert_eq!(
        got,
        [(1, true), (3, false), (4, false)],
        "{}",
        String::from_utf8_lossy(&data)
    );
}
