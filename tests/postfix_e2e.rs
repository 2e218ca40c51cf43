//! Postfix from Debian's package in front of cote: a private Postfix (unpacked with
//! `dpkg-deb -x`, its own config directory, queue and loopback ports; no system service is
//! touched) takes 500 messages for 20 users over SMTP and delivers them with its `lmtp`
//! client to cote's LMTP inet listener (`virtual_transport = lmtp:inet:...`), while POP3 and
//! IMAP sessions read the mailboxes; every message must arrive exactly once per recipient.
//!
//! Needs root (Postfix's master runs as root and its daemons as `daemon`) and the unpacked
//! package: `COTE_POSTFIX_ROOT`, else `target/postfix` (.ci/run makes it:
//! `apt-get download postfix && dpkg-deb -x postfix_*.deb target/postfix`). Skipped with a
//! message otherwise.

mod login_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use login_support::{free_port, python, Server};

const LOAD: &str = r#"
import imaplib, poplib, random, smtplib, sys, threading, time
smtp, pop3, imap = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
users = ["u%02d@example.test" % i for i in range(20)]
random.seed(1)
plan = {}
for n in range(500):
    plan["<m%03d@postfix.example>" % n] = random.sample(users, random.randint(1, 3))
ids = sorted(plan)
errors = []

def submit(part):
    try:
        c = smtplib.SMTP("127.0.0.1", smtp)
        c.ehlo("client.example")
        for mid in part:
            body = "Message-ID: %s\r\nSubject: postfix\r\n\r\n.line\r\nbody %s\r\n" % (mid, mid)
            refused = c.sendmail("load@example.com", plan[mid], body)
            if refused:
                errors.append((mid, refused))
        c.quit()
    except Exception as e:
        errors.append(("submit", repr(e)))

stop = threading.Event()
reads = {"pop3": 0, "imap": 0}

def read_pop3():
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
            reads["pop3"] += 1
        except Exception as e:
            errors.append(("pop3", repr(e)))
            return

def read_imap():
    r = random.Random(3)
    while not stop.is_set():
        try:
            m = imaplib.IMAP4("127.0.0.1", imap)
            m.login(r.choice(users), "pw")
            typ, data = m.select("INBOX", readonly=True)
            if int(data[0]) > 0:
                m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            m.logout()
            reads["imap"] += 1
        except Exception as e:
            errors.append(("imap", repr(e)))
            return

def delivered():
    found = {}
    for user in users:
        p = poplib.POP3("127.0.0.1", pop3)
        p.user(user)
        p.pass_("pw")
        for n in range(1, p.stat()[0] + 1):
            header = [l.decode() for l in p.top(n, 0)[1]]
            mid = [l.split(" ", 1)[1] for l in header if l.lower().startswith("message-id:")]
            found.setdefault(mid[0] if mid else "?", []).append(user)
        p.quit()
    return found

submitters = [threading.Thread(target=submit, args=(ids[i::4],)) for i in range(4)]
readers = [threading.Thread(target=read_pop3), threading.Thread(target=read_imap)]
for t in submitters + readers:
    t.start()
for t in submitters:
    t.join()
expected = sum(len(v) for v in plan.values())
deadline = time.time() + 180
while True:
    found = delivered()
    if sum(len(v) for v in found.values()) >= expected or time.time() > deadline:
        break
    time.sleep(1)
stop.set()
for t in readers:
    t.join()
found = delivered()
wrong = [(m, sorted(plan.get(m, [])), sorted(found.get(m, []))) for m in set(plan) | set(found)
         if sorted(plan.get(m, [])) != sorted(found.get(m, []))]
print("errors", errors[:5])
print("deliveries", expected, sum(len(v) for v in found.values()))
print("wrong", wrong[:5])
print("reads", reads["pop3"] > 0, reads["imap"] > 0)
"#;

fn postfix_root() -> Option<PathBuf> {
    let root = std::env::var_os("COTE_POSTFIX_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/postfix"));
    root.join("usr/sbin/postfix").is_file().then_some(root)
}

/// The private Postfix: stopped (`postfix stop`) and reaped when dropped.
struct Postfix {
    root: PathBuf,
    conf: PathBuf,
    child: Child,
}

impl Postfix {
    fn command(&self, action: &str) -> Command {
        let mut c = Command::new(self.root.join("usr/sbin/postfix"));
        c.arg("-c").arg(&self.conf).arg(action);
        c.env("LD_LIBRARY_PATH", self.root.join("usr/lib/postfix"));
        c
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = self.command("stop").output();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_postfix(root: &Path, dir: &Path, smtp: u16, lmtp: u16) -> Postfix {
    let conf = dir.join("conf");
    let queue = dir.join("queue");
    let data = dir.join("data");
    for d in [&conf, &queue, &data] {
        std::fs::create_dir(d).unwrap();
    }
    // Postfix's daemons run as `daemon`: they must reach the queue and own the data dir.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let daemon = nix::unistd::User::from_name("daemon").unwrap().unwrap();
    nix::unistd::chown(&data, Some(daemon.uid), Some(daemon.gid)).unwrap();
    let master = std::fs::read_to_string(root.join("usr/share/postfix/master.cf.dist")).unwrap();
    let master: String = master
        .lines()
        .map(|l| {
            if l.starts_with("smtp      inet") {
                format!("127.0.0.1:{smtp} inet n - n - - smtpd")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(conf.join("master.cf"), master + "\n").unwrap();
    let r = root.display();
    std::fs::write(
        conf.join("main.cf"),
        format!(
            "compatibility_level = 3.6\n\
             queue_directory = {q}\ndata_directory = {data}\n\
             daemon_directory = {r}/usr/lib/postfix/sbin\ncommand_directory = {r}/usr/sbin\n\
             shlib_directory = {r}/usr/lib/postfix\nmeta_directory = {r}/etc/postfix\n\
             mail_owner = daemon\nsetgid_group = mail\ndefault_privs = nobody\n\
             myhostname = mx.example.test\nmydestination =\n\
             inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\nmynetworks = 127.0.0.0/8\n\
             smtpd_relay_restrictions = permit_mynetworks, reject\n\
             virtual_mailbox_domains = example.test\nvirtual_mailbox_maps =\n\
             smtpd_reject_unlisted_recipient = no\n\
             virtual_transport = lmtp:inet:127.0.0.1:{lmtp}\n\
             maillog_file = /dev/stdout\n\
             import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C \
             POSTLOG_SERVICE POSTLOG_HOSTNAME LD_LIBRARY_PATH\n\
             alias_maps =\nalias_database =\nbiff = no\n",
            q = queue.display(),
            data = data.display(),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("postfix.log")).unwrap();
    let mut postfix = Postfix {
        root: root.to_path_buf(),
        conf,
        child: Command::new("true").spawn().unwrap(),
    };
    let _ = postfix.child.wait();
    postfix.child = postfix
        .command("start-fg")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", smtp)).is_err() {
        assert!(
            Instant::now() < deadline,
            "Postfix did not start:\n{}",
            std::fs::read_to_string(dir.join("postfix.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    postfix
}

#[test]
fn postfix_delivers_500_messages_to_20_users_through_lmtp() {
    let Some(root) = postfix_root() else {
        eprintln!(
            "skipped: Postfix is not unpacked (apt-get download postfix && dpkg-deb -x \
             postfix_*.deb target/postfix, or set COTE_POSTFIX_ROOT)"
        );
        return;
    };
    if !login_support::is_root() {
        eprintln!("skipped: a private Postfix needs root");
        return;
    }
    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (pop3, lmtp, smtp) = (free_port(), free_port(), free_port());
    let server = Server::start(&format!(
        "protocols = imap pop3 lmtp\n\
         mail_location = maildir:{m}/%n\n\
         passdb {{\n  driver = static\n  args = password=pw\n}}\n\
         userdb {{\n  driver = static\n  args = uid=1000 gid=1000 home={m}/%n\n}}\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
         service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    \
         port = {lmtp}\n  }}\n}}\n",
        m = mail.path().display()
    ));
    let dir = tempfile::tempdir().unwrap();
    let postfix = start_postfix(&root, dir.path(), smtp, lmtp);
    let out = python(
        LOAD,
        &[smtp.to_string(), pop3.to_string(), server.imap.to_string()],
    );
    let postfix_log = std::fs::read_to_string(dir.path().join("postfix.log")).unwrap_or_default();
    drop(postfix);
    let lines: Vec<&str> = out.lines().collect();
    let context = || {
        let tail: Vec<&str> = postfix_log.lines().rev().take(40).collect();
        format!(
            "{out}\n--- postfix (last lines) ---\n{}\n{}",
            tail.join("\n"),
            server.logs()
        )
    };
    assert_eq!(lines.first().copied(), Some("errors []"), "{}", context());
    let deliveries: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(deliveries[1], deliveries[2], "{}", context());
    assert_eq!(lines[2], "wrong []", "{}", context());
    assert_eq!(lines[3], "reads True True", "{}", context());
    // Postfix spoke LMTP to cote (not some other transport).
    assert!(
        postfix_log.contains("relay=127.0.0.1[127.0.0.1]:") && postfix_log.contains("status=sent"),
        "{}",
        context()
    );
}
