//! The embedded default of `make run` (etc/): a copy of it, with the ports moved to free ones,
//! run as the Makefile runs it (from the directory holding etc/, the demo users' file passed in
//! COTE_DEMO_USERS, and, started as root, the mail processes as nobody), serves the demo users
//! over IMAP: Python's imaplib logs in as alice and uses her INBOX.

mod login_support;

use std::fs;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use login_support::{free_port, is_root, python, wait_for};

/// Copies `from` (a directory tree of small text files) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The master started on the copy, stopped (by pid, with its process group) when dropped.
struct Demo {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signals to the master this test started and its process group.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        if wait_for(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten()
        })
        .is_none()
        {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

const SCRIPT: &str = r#"
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
print("login", m.login("alice", "alice")[0])
print("select", m.select("INBOX"))
print("append", m.append("INBOX", None, None, b"Subject: demo\r\n\r\nhello\r\n")[0])
print("fetch", m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
print("list", m.list())
print("logout", m.logout()[0])
"#;

#[test]
fn make_run_default_serves_the_demo_users() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("etc"),
        &root.join("etc"),
    );
    let imap = free_port();
    let master = root.join("etc/conf.d/10-master.conf");
    let text = fs::read_to_string(&master).unwrap();
    let text = text
        .replace("port = 10143", &format!("port = {imap}"))
        .replace("port = 10110", &format!("port = {}", free_port()))
        .replace("port = 10024", &format!("port = {}", free_port()));
    fs::write(&master, text).unwrap();
    // What the Makefile's `run` target does before starting cote.
    fs::create_dir_all(root.join("var/mail")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_cote"));
    command
        .args(["-F", "-c", "etc/cote.conf"])
        .current_dir(root)
        .env("COTE_DEMO_USERS", root.join("etc/users"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(root.join("stderr")).unwrap())
        .process_group(0);
    if is_root() {
        use std::os::unix::fs::PermissionsExt;
        // Everyone can reach the copy; nobody owns the mail directory.
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
        let status = Command::new("chown")
            .args(["nobody:nogroup"])
            .arg(root.join("var/mail"))
            .status()
            .unwrap();
        assert!(status.success());
        command
            .env("COTE_DEMO_MAIL_USER", "nobody")
            .env("COTE_DEMO_MAIL_GROUP", "nogroup");
    }
    let demo = Demo {
        child: command.spawn().unwrap(),
        dir,
    };
    let log = || fs::read_to_string(demo.dir.path().join("stderr")).unwrap_or_default();
    let up = wait_for(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", imap)).ok()
    });
    assert!(up.is_some(), "cote did not start:\n{}", log());
    let out = python(SCRIPT, &[imap.to_string()]);
    for expected in [
        "login OK",
        "select ('OK', [b'0'])",
        "append OK",
        "fetch ('OK', [(b'1 (BODY[HEADER.FIELDS (SUBJECT)] {17}', b'Subject: demo\\r\\n\\r\\n'), b')'])",
        "list ('OK', [b'(\\\\HasNoChildren \\\\Drafts) \"/\" Drafts', b'(\\\\HasNoChildren) \"/\" INBOX', b'(\\\\HasNoChildren \\\\Junk) \"/\" Junk', b'(\\\\HasNoChildren \\\\Sent) \"/\" Sent', b'(\\\\HasNoChildren \\\\Trash) \"/\" Trash'])",
        "logout BYE",
    ] {
        assert!(
            out.lines().any(|l| l == expected),
            "no line {expected:?} in:\n{out}\n{}",
            log()
        );
    }
    assert!(demo.dir.path().join("var/mail/alice/Maildir/cur").is_dir());
}
