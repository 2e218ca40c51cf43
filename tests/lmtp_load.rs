//! LMTP under load: 500 messages for 20 users, from 4 LMTP clients at once, while POP3
//! sessions read the same mailboxes; afterwards every message is in each of its recipients'
//! mailboxes exactly once (by Message-ID), and nowhere else.

mod login_support;

use std::os::unix::fs::PermissionsExt;

use login_support::{free_port, python, Server};

const LOAD: &str = r#"
import poplib, random, smtplib, sys, threading
lmtp_socket, pop3 = sys.argv[1], int(sys.argv[2])
users = ["u%02d" % i for i in range(20)]
random.seed(1)
plan = {}  # message id -> recipients
for n in range(500):
    plan["<m%03d@load.example>" % n] = random.sample(users, random.randint(1, 3))
ids = sorted(plan)
errors = []

def deliver(part):
    try:
        c = smtplib.LMTP(lmtp_socket)
        c.ehlo("load.example")
        for mid in part:
            body = "Message-ID: %s\r\nSubject: load\r\n\r\n.line\r\nbody %s\r\n" % (mid, mid)
            # One recipient per transaction: smtplib reads a single reply after DATA.
            for rcpt in plan[mid]:
                refused = c.sendmail("load@example.com", [rcpt], body)
                if refused:
                    errors.append((mid, rcpt, refused))
        c.quit()
    except Exception as e:
        errors.append(("deliver", repr(e)))

stop = threading.Event()
reads = [0]

def read():
    r = random.Random(2)
    while not stop.is_set():
        try:
            p = poplib.POP3("127.0.0.1", pop3)
            p.user(r.choice(users))
            p.pass_("pw")
            count = p.stat()[0]
            p.uidl()
            if count:
                p.retr(r.randint(1, count))
            p.quit()
            reads[0] += 1
        except Exception as e:
            errors.append(("read", repr(e)))
            return

threads = [threading.Thread(target=deliver, args=(ids[i::4],)) for i in range(4)]
readers = [threading.Thread(target=read) for _ in range(2)]
for t in threads + readers:
    t.start()
for t in threads:
    t.join()
stop.set()
for t in readers:
    t.join()

found = {}
for user in users:
    p = poplib.POP3("127.0.0.1", pop3)
    p.user(user)
    p.pass_("pw")
    count = p.stat()[0]
    for n in range(1, count + 1):
        header = [l.decode() for l in p.top(n, 0)[1]]
        mid = [l.split(" ", 1)[1] for l in header if l.lower().startswith("message-id:")]
        found.setdefault(mid[0] if mid else "?", []).append(user)
    p.quit()
wrong = [(m, sorted(plan.get(m, [])), sorted(found.get(m, []))) for m in set(plan) | set(found)
         if sorted(plan.get(m, [])) != sorted(found.get(m, []))]
print("errors", errors[:5])
print("deliveries", sum(len(v) for v in plan.values()), sum(len(v) for v in found.values()))
print("wrong", wrong[:5])
print("reads", reads[0] > 0)
"#;

#[test]
fn every_message_arrives_exactly_once_under_load() {
    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let pop3 = free_port();
    let uid = if login_support::is_root() {
        1000
    } else {
        // SAFETY: getuid has no preconditions.
        unsafe { libc::getuid() }
    };
    // The template's passwd-file knows alice and bob; the load users come from a static
    // passdb and userdb after it.
    let server = Server::start(&format!(
        "protocols = imap pop3 lmtp\n\
         mail_location = maildir:{m}/%u\n\
         passdb {{\n  driver = static\n  args = password=pw\n}}\n\
         userdb {{\n  driver = static\n  args = uid={uid} gid={uid} home={m}/%u\n}}\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = 0\n  }}\n}}\n",
        m = mail.path().display()
    ));
    let socket = server.base_dir().join("lmtp");
    let out = python(LOAD, &[socket.display().to_string(), pop3.to_string()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "errors []", "{out}\n{}", server.logs());
    let deliveries: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(deliveries[1], deliveries[2], "{out}");
    assert_eq!(lines[2], "wrong []", "{out}");
    assert_eq!(lines[3], "reads True", "{out}");
}
