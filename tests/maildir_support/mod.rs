//! A private Dovecot 2.3 (Debian's, the oracle) serving a Maildir in a temp dir, and Python's
//! imaplib to talk to it. The server runs as root with `mail_uid = 1000`, so the mail tree is
//! handed to uid 1000 before Dovecot touches what the test wrote.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The uid and gid Dovecot accesses mail as.
pub const MAIL_UID: u32 = 1000;

/// The unpacked Debian Dovecot. Fails the test (never skips) when it is missing.
pub fn oracle_root() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("COTE_DOVECOT_ROOT") {
        Some(root) => vec![PathBuf::from(root)],
        None => vec![
            PathBuf::from("/opt/dovecot"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dovecot-oracle"),
        ],
    };
    for root in &candidates {
        if root.join("usr/sbin/dovecot").is_file() {
            return root.clone();
        }
    }
    panic!(
        "the Dovecot oracle (usr/sbin/dovecot) is not in {candidates:?}: run `make oracle` \
         (or set COTE_DOVECOT_ROOT to an unpacked Debian dovecot-core); these interop tests \
         need it and root"
    );
}

/// A running private Dovecot.
pub struct Oracle {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Oracle {
    /// Starts Dovecot with `mail_location` (`{dir}` is replaced by the temp dir) and extra
    /// configuration lines.
    pub fn start(mail_location: &str, extra: &str) -> Oracle {
        let root = oracle_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        for sub in ["run", "lib", "mail", "home"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        chown(d.join("mail"), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        chown(d.join("home"), Some(MAIL_UID), Some(MAIL_UID)).unwrap();
        // Let uid 1000 reach the tree.
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let port = free_port();
        let location = mail_location.replace("{dir}", &d.display().to_string());
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/lib\nlog_path = {d}/dovecot.log\n\
             listen = 127.0.0.1\nprotocols = imap\nssl = no\nmail_location = {location}\n\
             mail_uid = {MAIL_UID}\nmail_gid = {MAIL_UID}\nfirst_valid_uid = {MAIL_UID}\n\
             passdb {{\n  driver = static\n  args = password=pw\n}}\n\
             userdb {{\n  driver = static\n  args = uid={MAIL_UID} gid={MAIL_UID} home={d}/home/%u\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n{extra}\n",
            d = d.display()
        );
        std::fs::write(d.join("dovecot.conf"), conf).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
        let child = Command::new(script)
            .args(["dovecot", "-F", "-c"])
            .arg(d.join("dovecot.conf"))
            .env("COTE_DOVECOT_ROOT", &root)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the private Dovecot");
        let oracle = Oracle { child, dir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the private Dovecot did not listen on port {port}; log:\n{}",
                oracle.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        oracle
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Runs a Python snippet with `c` logged in as `user`; returns the lines it printed.
    pub fn imap(&self, user: &str, body: &str) -> Vec<String> {
        let program = format!(
            "import imaplib, sys\nc = imaplib.IMAP4('127.0.0.1', {port})\nc.login({user:?}, 'pw')\n{body}\nc.logout()\n",
            port = self.port
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(&program)
            .output()
            .expect("run python3");
        assert!(
            out.status.success(),
            "imaplib script failed:\n{program}\nstderr:\n{}\nDovecot log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        BufReader::new(&out.stdout[..])
            .lines()
            .map(|l| l.unwrap())
            .collect()
    }

    /// Errors and warnings Dovecot logged (anything it found wrong in files we wrote).
    pub fn complaints(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| {
                l.contains(": Error: ") || l.contains(": Warning: ") || l.contains(": Panic: ")
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        // The spawned process is the Dovecot master (the script execs it).
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

#[path = "../port_support/mod.rs"]
mod port_support;
pub use port_support::free_port;

/// A passwd-file for cote's `passdb`/`userdb` with `names`: password `pw`, the mail uid,
/// homes under `homes` (the oracle's `home/`, so both servers serve one store).
pub fn passwd_users(names: &[&str], homes: &Path) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "{n}:{{PLAIN}}pw:{MAIL_UID}:{MAIL_UID}::{}/{n}\n",
                homes.display()
            )
        })
        .collect()
}

/// A directory for `acl_shared_dict = file:...` that both servers (as the mail user) can
/// write, and the dict file's path in it.
pub fn shared_dict_dir() -> (tempfile::TempDir, PathBuf) {
    let db = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        db.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    chown_tree(db.path());
    let dict = db.path().join("shared-mailboxes.db");
    (db, dict)
}

/// Gives a tree to the mail user, so Dovecot can use what the test (root) wrote.
pub fn chown_tree(path: &Path) {
    chown(path, Some(MAIL_UID), Some(MAIL_UID)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path());
        }
    }
}

/// Appends messages to an mbox file as an MTA delivers them (a From_ line before each, an
/// empty line after), then gives its directory to the mail user.
pub fn append_mbox(path: &Path, messages: &[&str]) {
    use std::io::Write;
    let dir = path.parent().expect("an mbox path has a directory");
    std::fs::create_dir_all(dir).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for m in messages {
        write!(f, "From mta@example.com  Thu Nov 29 22:33:52 2001\n{m}\n").unwrap();
    }
    drop(f);
    chown_tree(dir);
}

/// The names in a directory, sorted.
pub fn list_dir(path: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(path) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}
