//! `coteadm mailbox list|status|create|delete|rename|subscribe|unsubscribe` and
//! `force-resync` against the oracle's `doveadm` (Debian's Dovecot 2.3, `t/oracle/dovecot`):
//! the same commands on two copies of the same mail (doveadm as user alice, coteadm as bob,
//! both looked up in cote's auth service over `auth-userdb`), with the same stdout, stderr
//! (the program's name aside) and exit code. Listing order is the filesystem's in Dovecot,
//! so listings are compared as sorted lines. The oracle missing is a failure, never a skip.

mod auth_support;
mod storage_support;

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use auth_support::TestAuth;

const CONF: &str = "\
base_dir = @DIR@
log_path = /dev/stderr
ssl = no
mail_location = @LOCATION@
first_valid_uid = 1000
passdb {
  driver = static
  args = password=pw
}
userdb {
  driver = static
  args = uid=1000 gid=1000 home=@DIR@/home/%u
}
";

/// What a run printed and returned.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    out: String,
    err: String,
    code: i32,
}

fn output(mut command: Command) -> Run {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    Run {
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// A mail setup both tools use: cote's auth service, the config, and the homes.
struct Setup {
    auth: TestAuth,
}

impl Setup {
    fn new(location: &str) -> Setup {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the doveadm oracle runs in a private mount namespace and needs root"
        );
        let auth = TestAuth::start(&CONF.replace("@LOCATION@", location), "");
        let dir = auth.dir.path();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(dir.join("home")).unwrap();
        Setup { auth }
    }

    fn dir(&self) -> &Path {
        self.auth.dir.path()
    }

    fn conf(&self) -> PathBuf {
        self.dir().join("dovecot.conf")
    }

    fn home(&self, user: &str) -> PathBuf {
        self.dir().join("home").join(user)
    }

    /// Writes `files` (path under the home, contents) for both users, owned by them.
    fn files(&self, files: &[(&str, &[u8])]) {
        for user in ["alice", "bob"] {
            let home = self.home(user);
            for (path, data) in files {
                let path = home.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                if path.to_string_lossy().ends_with('/') {
                    std::fs::create_dir_all(&path).unwrap();
                } else {
                    std::fs::write(&path, data).unwrap();
                }
            }
            chown_all(&home);
        }
    }

    fn doveadm(&self, args: &[&str]) -> Run {
        let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
        let mut command = Command::new(&wrapper);
        command.arg("doveadm").arg("-c").arg(self.conf());
        command.args(with_user(args, "alice")).env_remove("USER");
        let run = output(command);
        assert!(
            !run.err.contains("t/oracle/dovecot:") && !run.err.contains("unshare:"),
            "the Dovecot oracle did not run ({}): {}\n\
             run `make oracle` or set COTE_DOVECOT_ROOT to an unpacked Debian dovecot-core",
            wrapper.display(),
            run.err
        );
        run
    }

    fn coteadm(&self, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_coteadm"));
        command.arg("-c").arg(self.conf());
        command.args(with_user(args, "bob")).env_remove("USER");
        output(command)
    }

    /// Runs `args` with both tools and checks they answer alike; returns coteadm's run.
    /// `sorted`: stdout compared as sorted lines (after a title line, for `tab`/`table`).
    fn same(&self, args: &[&str], sorted: bool) -> Run {
        let dove = self.doveadm(args);
        let cote = self.coteadm(args);
        let expected = Run {
            out: if sorted {
                sort_lines(&dove.out, args)
            } else {
                dove.out.clone()
            },
            err: dove
                .err
                .replace("doveadm(alice)", "coteadm(bob)")
                .replace("doveadm ", "coteadm "),
            code: dove.code,
        };
        let got = Run {
            out: if sorted {
                sort_lines(&cote.out, args)
            } else {
                cote.out.clone()
            },
            err: cote.err.clone(),
            code: cote.code,
        };
        assert_eq!(got, expected, "{args:?}");
        cote
    }
}

/// The verb's words, `-u user`, then the rest (doveadm's global `-f` stays in front).
fn with_user(args: &[&str], user: &str) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let at = if out.first().is_some_and(|a| a == "-f") {
        2
    } else {
        0
    };
    let verb_words = match out.get(at).map(String::as_str) {
        Some("mailbox") => 2,
        _ => 1,
    };
    let at = (at + verb_words).min(out.len());
    out.splice(at..at, ["-u".to_string(), user.to_string()]);
    out
}

fn sort_lines(text: &str, args: &[&str]) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let titled = args.first() == Some(&"-f") && !args.contains(&"list");
    let body = if titled && !lines.is_empty() { 1 } else { 0 };
    lines[body..].sort_unstable();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn chown_all(path: &Path) {
    chown(path, Some(1000), Some(1000)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_all(&entry.unwrap().path());
        }
    }
}

const SEEN: &[u8] = b"Subject: a\n\nx\n";
const UNSEEN: &[u8] = b"Subject: b\n\nyy\n";

#[test]
fn maildir_mailbox_verbs_as_doveadm() {
    let s = Setup::new("maildir:~/Maildir");
    s.files(&[
        ("Maildir/cur/1.M1P1.host,S=14:2,S", SEEN),
        ("Maildir/new/2.M2P1.host", UNSEEN),
        ("Maildir/tmp/", b""),
    ]);
    s.same(&["mailbox", "list"], false);
    s.same(&["mailbox", "create", "Foo", "Foo.Bar", "Ünï"], false);
    s.same(&["mailbox", "create", "Foo"], false);
    s.same(&["mailbox", "list"], true);
    s.same(&["mailbox", "list", "-7"], true);
    s.same(&["mailbox", "list", "-8", "F*"], true);
    s.same(&["mailbox", "list", "%"], true);
    s.same(&["mailbox", "list", "nope"], false);
    s.same(&["mailbox", "list", "INBOX", "nope"], false);
    s.same(&["mailbox", "list", "inbox", "F%"], true);
    s.same(
        &[
            "mailbox",
            "status",
            "messages recent uidnext unseen vsize",
            "*",
        ],
        true,
    );
    s.same(&["mailbox", "status", "-t", "all", "*"], false);
    s.same(
        &["mailbox", "status", "-f", "messages", "INBOX", "Foo"],
        true,
    );
    s.same(
        &["-f", "tab", "mailbox", "status", "messages unseen", "*"],
        true,
    );
    s.same(
        &["-f", "table", "mailbox", "status", "messages unseen", "*"],
        true,
    );
    s.same(&["-f", "tab", "mailbox", "list", "Foo*"], true);
    s.same(&["-f", "table", "mailbox", "list", "Foo*"], true);
    s.same(
        &["-f", "flow", "mailbox", "status", "-t", "messages", "*"],
        false,
    );
    s.same(&["mailbox", "status", "messages", "nope"], false);
    s.same(&["mailbox", "status", "messages", "nope", "*"], true);
    s.same(&["mailbox", "status", "bogus", "INBOX"], false);
    s.same(&["mailbox", "status", "-t", "uidnext", "*"], false);
    s.same(&["mailbox", "status", "", "INBOX"], false);
    s.same(&["mailbox", "status", "messages"], false);

    s.same(&["mailbox", "create", "-s", "A", "A.B", "A.B.C"], false);
    s.same(&["mailbox", "list", "-s"], true);
    s.same(&["mailbox", "delete", "A"], false);
    s.same(&["mailbox", "list"], true);
    s.same(&["mailbox", "delete", "-r", "-s", "A"], false);
    s.same(&["mailbox", "list"], true);
    s.same(&["mailbox", "list", "-s"], true);
    s.same(&["mailbox", "rename", "nope", "X"], false);
    s.same(&["mailbox", "rename", "Foo", "INBOX"], false);
    s.same(&["mailbox", "rename", "-s", "Foo", "Bar"], false);
    s.same(&["mailbox", "list"], true);
    s.same(&["mailbox", "subscribe", "nope", "Bar"], false);
    s.same(&["mailbox", "unsubscribe", "nope"], false);
    s.same(&["mailbox", "list", "-s"], true);
    s.same(&["mailbox", "delete", "nope"], false);
    s.same(&["mailbox", "delete", "-e", "nope"], false);
    s.same(&["mailbox", "create", "E", "F"], false);
    s.same(&["mailbox", "delete", "-e", "-s", "E"], false);
    s.same(&["mailbox", "delete", "F", "E"], false);

    // Command-line errors.
    s.same(&["mailbox", "rename", "a", "b", "c"], false);
    s.same(&["mailbox", "rename", "a"], false);
    s.same(&["mailbox", "list", "-x"], false);
    s.same(&["mailbox", "create"], false);
    s.same(&["mailbox", "subscribe"], false);
    s.same(&["force-resync", "INBOX", "nope"], false);
    s.same(&["force-resync"], false);

    s.same(&["force-resync", "*"], false);
    s.same(&["force-resync", "nope"], false);
    s.same(&["mailbox", "status", "messages unseen uidnext", "*"], true);

    // Values that differ between the two copies: checked against the files.
    let cote = s.coteadm(&["mailbox", "status", "uidvalidity guid firstsaved", "INBOX"]);
    assert_eq!(cote.code, 0, "{}", cote.err);
    let (uidvalidity, _) = storage_support::uidlist(&s.home("bob").join("Maildir"));
    let fields: Vec<&str> = cote.out.trim_end().split(' ').collect();
    assert_eq!(fields[0], "INBOX");
    assert_eq!(fields[1], format!("uidvalidity={uidvalidity}"));
    let guid = fields[2].strip_prefix("guid=").unwrap();
    assert!(
        guid.len() == 32 && guid.bytes().all(|b| b.is_ascii_hexdigit()),
        "{guid}"
    );
    let saved: i64 = fields[3]
        .strip_prefix("firstsaved=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(saved > 1_600_000_000, "{saved}");
    let cote = s.coteadm(&["mailbox", "status", "firstsaved", "Bar"]);
    assert_eq!(cote.out, "Bar firstsaved=never\n");

    // Formatters doveadm has and cote does not print are refused.
    let cote = s.coteadm(&["-f", "pager", "mailbox", "list"]);
    assert_eq!(cote.code, 64);
    assert!(cote.err.contains("not supported"), "{}", cote.err);
    let dove = s.doveadm(&["-f", "bogus", "mailbox", "list"]);
    let cote = s.coteadm(&["-f", "bogus", "mailbox", "list"]);
    assert_eq!(cote.code, dove.code);
    assert!(cote.err.contains("Unknown print formatter: bogus"));
    // Options not built are refused, not ignored.
    let cote = s.coteadm(&["mailbox", "create", "-g", "0123", "G"]);
    assert_eq!(cote.code, 64);
    assert!(cote.err.contains("not supported"), "{}", cote.err);
    assert!(!s.home("bob").join("Maildir/.G").exists());

    // Last: doveadm also expunges INBOX's messages here, cote leaves them.
    let dove = s.doveadm(&["mailbox", "delete", "INBOX"]);
    let cote = s.coteadm(&["mailbox", "delete", "INBOX"]);
    assert_eq!(
        (
            cote.code,
            cote.err.replace("coteadm(bob)", "doveadm(alice)")
        ),
        (dove.code, dove.err)
    );
}

#[test]
fn mbox_list_and_status_as_doveadm() {
    let s = Setup::new("mbox:~/mail:INBOX=~/inbox");
    let inbox = b"From a@example.com  Mon Jan  1 00:00:00 2024\n\
        Subject: one\nStatus: RO\n\nbody one\n\n\
        From b@example.com  Mon Jan  1 00:00:01 2024\n\
        Subject: two\n\nbody two\n";
    let other = b"From c@example.com  Mon Jan  1 00:00:02 2024\nSubject: three\n\nthree\n";
    s.files(&[
        ("inbox", inbox),
        ("mail/Other", other),
        ("mail/sub/Deep", b""),
    ]);
    s.same(&["mailbox", "list"], true);
    s.same(&["mailbox", "list", "%"], true);
    s.same(
        &["mailbox", "status", "messages recent uidnext unseen", "*"],
        true,
    );
    s.same(&["mailbox", "status", "-t", "messages unseen", "*"], false);
    s.same(&["mailbox", "create", "New", "sub/Dir/"], false);
    s.same(&["mailbox", "list"], true);
    s.same(&["mailbox", "create", "Other"], false);
    s.same(&["mailbox", "rename", "-s", "New", "Newer"], false);
    s.same(&["mailbox", "subscribe", "Other"], false);
    s.same(&["mailbox", "list", "-s"], true);
    s.same(&["mailbox", "delete", "Newer", "nope"], false);
    s.same(&["mailbox", "list"], true);
    s.same(&["force-resync", "*"], false);
    s.same(
        &["mailbox", "status", "messages recent uidnext unseen", "*"],
        true,
    );
}

/// A mailbox name that is not UTF-8 is refused before anything is done (EX_DATAERR).
#[test]
fn names_not_utf8_refused_as_doveadm() {
    use std::os::unix::ffi::OsStrExt;
    let s = Setup::new("maildir:~/Maildir");
    s.files(&[
        ("Maildir/cur/", b""),
        ("Maildir/new/", b""),
        ("Maildir/tmp/", b""),
    ]);
    let name = std::ffi::OsStr::from_bytes(b"a\xffb");
    let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
    let mut dove = Command::new(wrapper);
    dove.arg("doveadm").arg("-c").arg(s.conf());
    dove.args(["mailbox", "create", "-u", "alice"]).arg(name);
    let dove = dove.output().unwrap();
    let mut cote = Command::new(env!("CARGO_BIN_EXE_coteadm"));
    cote.arg("-c").arg(s.conf());
    cote.args(["mailbox", "create", "-u", "bob"]).arg(name);
    let cote = cote.output().unwrap();
    assert_eq!(
        dove.stderr,
        b"Fatal: Mailbox name not valid UTF-8: a\xffb\n"
    );
    assert_eq!(
        (cote.status.code(), cote.stderr, cote.stdout),
        (dove.status.code(), dove.stderr, dove.stdout)
    );
    assert_eq!(
        std::fs::read_dir(s.home("bob").join("Maildir"))
            .unwrap()
            .count(),
        3
    );
}

/// Sets a file's or directory's modification time.
fn set_mtime(path: &Path, when: SystemTime) {
    let file = std::fs::File::options()
        .read(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    file.set_modified(when).unwrap();
}

/// An index that missed a change (a flag changed by renaming the file, with the directory's
/// time put back, so no sync looks) is rebuilt by `force-resync` from the uidlist and the
/// file names: the UIDs stay the uidlist's and the flags become the names'.
#[test]
fn force_resync_rebuilds_a_stale_maildir_index() {
    let s = Setup::new("maildir:~/Maildir");
    let old = SystemTime::now() - Duration::from_secs(3600);
    let uidlist = b"3 V1700000000 N10 G0123456789abcdef0123456789abcdef\n\
        5 :1.M1P1.host,S=14\n9 :2.M2P1.host,S=15\n";
    s.files(&[
        ("Maildir/cur/1.M1P1.host,S=14:2,S", SEEN),
        ("Maildir/cur/2.M2P1.host,S=15:2,", UNSEEN),
        ("Maildir/new/", b""),
        ("Maildir/tmp/", b""),
        ("Maildir/dovecot-uidlist", uidlist),
    ]);
    for user in ["alice", "bob"] {
        let root = s.home(user).join("Maildir");
        for dir in ["cur", "new", "tmp", ""] {
            set_mtime(&root.join(dir), old);
        }
    }
    let status = ["mailbox", "status", "messages unseen uidnext", "INBOX"];
    let before = s.same(&status, false);
    assert_eq!(before.out, "INBOX messages=2 uidnext=10 unseen=1\n");
    for user in ["alice", "bob"] {
        let cur = s.home(user).join("Maildir/cur");
        std::fs::rename(
            cur.join("2.M2P1.host,S=15:2,"),
            cur.join("2.M2P1.host,S=15:2,FS"),
        )
        .unwrap();
        set_mtime(&cur, old);
    }
    // The index has not seen the change.
    assert_eq!(s.coteadm(&status).out, before.out);
    s.same(&["force-resync", "INBOX"], false);
    let after = s.same(&status, false);
    assert_eq!(after.out, "INBOX messages=2 uidnext=10 unseen=0\n");

    let root = s.home("bob").join("Maildir");
    let settings = storage_support::settings("fcntl", false, s.dir());
    let mut user = storage_support::user(&root, settings);
    let seen = storage_support::fresh_snapshot(&mut user, "INBOX");
    let flags: Vec<(u32, Vec<&str>)> = seen.into_iter().map(|(uid, (f, _))| (uid, f)).collect();
    assert_eq!(
        flags,
        [(5, vec!["\\Seen"]), (9, vec!["\\Flagged", "\\Seen"])]
    );
    assert_eq!(storage_support::uidlist(&root), (1700000000, vec![5, 9]));
}

/// `force-resync` on an mbox whose index missed an in-place change of a message's flags.
#[test]
fn force_resync_rebuilds_a_stale_mbox_index() {
    let s = Setup::new("mbox:~/mail:INBOX=~/inbox");
    let inbox = b"From a@example.com  Mon Jan  1 00:00:00 2024\n\
        X-IMAPbase: 1700000000 0000000008\n\
        Subject: one\nStatus: RO\nX-UID: 4\n\nbody one\n\n\
        From b@example.com  Mon Jan  1 00:00:01 2024\n\
        Subject: two\nStatus: O \nX-UID: 7\n\nbody two\n";
    s.files(&[("inbox", inbox), ("mail/", b"")]);
    let status = ["mailbox", "status", "messages unseen uidnext", "INBOX"];
    let before = s.same(&status, false);
    assert_eq!(before.out, "INBOX messages=2 uidnext=9 unseen=1\n");
    for user in ["alice", "bob"] {
        let path = s.home(user).join("inbox");
        let meta = std::fs::metadata(&path).unwrap();
        let text = std::fs::read(&path).unwrap();
        let changed = String::from_utf8(text)
            .unwrap()
            .replace("Status: O \n", "Status: RO\n");
        std::fs::write(&path, changed).unwrap();
        set_mtime(&path, meta.modified().unwrap());
    }
    assert_eq!(s.coteadm(&status).out, before.out);
    s.same(&["force-resync", "INBOX"], false);
    let after = s.same(&status, false);
    assert_eq!(after.out, "INBOX messages=2 uidnext=9 unseen=0\n");
}
