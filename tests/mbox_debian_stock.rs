//! Debian's stock /etc/dovecot tree (the oracle's `usr/share/dovecot`, which the
//! dovecot-core postinst copies to /etc/dovecot) served by `cote -F` unchanged: passdb pam
//! (Debian's /etc/pam.d/dovecot), userdb passwd, `mail_location =
//! mbox:~/mail:INBOX=/var/mail/%u` with `mail_privileged_group = mail`, for a real system
//! user made for the test (useradd with a home, a yescrypt password). Mail is delivered the
//! way Postfix `local` or an MTA's mailbox_command does, `procmail -d USER` run as root
//! (setgid mail: dotlock `/var/mail/USER.lock` + fcntl), while an IMAP session has INBOX
//! selected; POP3 then logs in through PAM too.
//!
//! What the test must change is in a wrapper configuration that `!include`s the stock
//! dovecot.conf and overrides after it: listeners on loopback ports, base_dir/state_dir/
//! log_path in a temp dir, a fresh certificate (Debian's postinst links snakeoil files into
//! /etc/dovecot/private), and `protocols` (Debian's packages write it into
//! /usr/share/dovecot/protocols.d, which the stock file `!include_try`s; Debian's default is
//! empty). The stock files are copied byte for byte. /var/mail is the real spool; the user
//! (home and spool file) is removed at the end.
//!
//! Needs root (useradd, /etc/pam.d, the setuid user sessions) and procmail: skipped with a
//! message without root, fails clearly without procmail.

#![cfg(feature = "pam")]

mod config_support;

#[path = "tls_support/mod.rs"]
mod tls_support;

#[path = "port_support/mod.rs"]
mod port_support;
mod system_user;

use std::fs;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use config_support::{copy_tree, oracle_root};
use system_user::SystemUser;

/// /etc/pam.d/dovecot as Debian's dovecot-core installs it, put there for the test when the
/// machine has none (and removed again); an existing one is left alone.
struct PamService(Option<PathBuf>);

impl PamService {
    fn install(root: &Path) -> PamService {
        let target = Path::new("/etc/pam.d/dovecot");
        if target.exists() {
            return PamService(None);
        }
        fs::copy(root.join("etc/pam.d/dovecot"), target).unwrap();
        PamService(Some(target.to_path_buf()))
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        if let Some(path) = &self.0 {
            let _ = fs::remove_file(path);
        }
    }
}

/// `cote -F -c WRAPPER`, stopped by pid (SIGTERM, then SIGKILL to its process group).
struct Cote {
    child: Child,
    log: PathBuf,
}

impl Cote {
    fn logs(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Cote {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signals to the master this test started and its process group.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

const SESSION: &str = r#"
import imaplib, poplib, re, subprocess, sys
user, password, imap_port, pop3_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def deliver(subject):
    msg = ("From mta@example.com  Thu Nov 29 22:33:52 2001\nSubject: %s\n"
           "Message-ID: <%s@example.com>\n\nbody %s\n" % (subject, subject, subject)).encode()
    p = subprocess.run(['procmail', '-d', user], input=msg, capture_output=True,
                       env={'PATH': '/usr/bin:/bin'}, timeout=120)
    assert p.returncode == 0, ('procmail failed', p)

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

c = imaplib.IMAP4('127.0.0.1', imap_port)
try:
    c.login(user, password + 'x')
    raise AssertionError('a wrong password was accepted')
except imaplib.IMAP4.error:
    pass
c = imaplib.IMAP4('127.0.0.1', imap_port)
c.login(user, password)
deliver('one')
typ, data = c.select('INBOX')
assert typ == 'OK' and data == [b'1'], data
deliver('two')
c.noop()
assert listing(c) == [(1, 'one', False), (2, 'two', False)], listing(c)
c.uid('STORE', '1', '+FLAGS', '(\\Flagged)')
deliver('three')
c.noop()
got = listing(c)
assert got == [(1, 'one', True), (2, 'two', False), (3, 'three', False)], got
typ, data = c.create('Archive')
assert typ == 'OK', data
typ, data = c.uid('COPY', '2', 'Archive')
assert typ == 'OK', data
c.logout()

p = poplib.POP3('127.0.0.1', pop3_port)
p.user(user)
p.pass_(password)
count, size = p.stat()
assert count == 3, (count, size)
p.quit()

c = imaplib.IMAP4('127.0.0.1', imap_port)
c.login(user, password)
typ, data = c.select('Archive', readonly=True)
assert data == [b'1'], data
assert listing(c) == [(1, 'two', False)], listing(c)
c.logout()
print('done')
"#;

#[test]
fn debian_stock_tree_with_procmail_delivery() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "debian_stock_tree_with_procmail_delivery: skipped, needs root (useradd, \
             /etc/pam.d, /var/mail)"
        );
        return;
    }
    assert!(
        Path::new("/usr/bin/procmail").is_file(),
        "procmail is not installed (apt-get install procmail)"
    );
    assert!(
        Path::new("/var/mail").is_dir(),
        "no /var/mail spool directory"
    );
    let root = oracle_root();
    let share = root.join("usr/share/dovecot");
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path();
    fs::set_permissions(t, fs::Permissions::from_mode(0o755)).unwrap();
    let etc = t.join("etc/dovecot");
    copy_tree(&share.join("conf.d"), &etc.join("conf.d"));
    fs::copy(share.join("dovecot.conf"), etc.join("dovecot.conf")).unwrap();
    tls_support::write_test_cert(t).unwrap();
    let stock_mail = fs::read_to_string(etc.join("conf.d/10-mail.conf")).unwrap();
    assert!(stock_mail.contains("\nmail_location = mbox:~/mail:INBOX=/var/mail/%u\n"));
    let stock_auth = fs::read_to_string(etc.join("conf.d/10-auth.conf")).unwrap();
    assert!(stock_auth.contains("\n!include auth-system.conf.ext\n"));

    let ports: Vec<u16> = (0..4).map(|_| port_support::free_port()).collect();
    let (imap, imaps, pop3, pop3s) = (ports[0], ports[1], ports[2], ports[3]);
    let d = t.display();
    let wrapper = format!(
        "!include {d}/etc/dovecot/dovecot.conf\n\
         protocols = imap pop3\n\
         listen = 127.0.0.1\n\
         base_dir = {d}/run\n\
         state_dir = {d}/lib\n\
         log_path = {d}/cote.log\n\
         ssl_cert = <{d}/cert.pem\n\
         ssl_key = <{d}/key.pem\n\
         ssl_dh = <{share}/dh.pem\n\
         service imap-login {{\n\
         \x20 inet_listener imap {{\n    port = {imap}\n  }}\n\
         \x20 inet_listener imaps {{\n    port = {imaps}\n  }}\n\
         }}\n\
         service pop3-login {{\n\
         \x20 inet_listener pop3 {{\n    port = {pop3}\n  }}\n\
         \x20 inet_listener pop3s {{\n    port = {pop3s}\n  }}\n\
         }}\n",
        share = share.display()
    );
    fs::write(t.join("cote.conf"), wrapper).unwrap();

    let _pam = PamService::install(&root);
    let name = format!("cotembox{}", std::process::id());
    let password = "Mb0x-pw-stock";
    let user = SystemUser::create_with_home(&name, password);
    let pw = nix::unistd::User::from_name(&name).unwrap().unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_cote"))
        .arg("-F")
        .arg("-c")
        .arg(t.join("cote.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(t.join("stderr")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let server = Cote {
        child,
        log: t.join("cote.log"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", pop3)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cote did not start:\n{}\n{}",
            server.logs(),
            fs::read_to_string(t.join("stderr")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = Command::new("python3")
        .arg("-c")
        .arg(SESSION)
        .args([&name, password, &imap.to_string(), &pop3.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("done"),
        "{}\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.logs()
    );

    // The spool is the user's, group mail, as procmail made it; cote kept its UIDs and the
    // flag in it, and the other mailboxes and the index live under ~/mail.
    let spool = Path::new("/var/mail").join(&name);
    let meta = fs::metadata(&spool).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.uid(), pw.uid.as_raw());
    let data = fs::read(&spool).unwrap();
    let file = cote::storage::mbox::format::parse_mbox(&data).unwrap();
    let uids = cote::storage::mbox::format::assign_uids(&file);
    let got: Vec<(u32, bool)> = file
        .messages
        .iter()
        .zip(&uids.uids)
        .map(|(m, u)| {
            (
                u.uid,
                m.meta
                    .flags
                    .contains(cote::storage::flags::MailFlags::FLAGGED),
            )
        })
        .collect();
    assert_eq!(
        got,
        [(1, true), (2, false), (3, false)],
        "{}",
        String::from_utf8_lossy(&data)
    );
    let home = pw.dir;
    assert!(home.join("mail/Archive").is_file());
    assert!(home.join("mail/.imap/INBOX").is_dir());
    assert!(!spool.with_extension("lock").exists());

    // Nothing in the stock tree is refused: no error or warning in the log other than the
    // service cote does not implement (imap-hibernate).
    let logs = server.logs();
    for line in logs.lines() {
        let bad = line.contains(": Error: ") || line.contains(": Fatal: ");
        let warning = line.contains(": Warning: ")
            && !line.contains("service imap-hibernate not implemented");
        assert!(!bad && !warning, "{line}\n{logs}");
    }
    drop(server);
    drop(user);
}
