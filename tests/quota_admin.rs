//! `coteadm quota get` and `quota recalc` against a running auth service and a Maildir, with
//! doveadm 2.3.19.1's output for the same usage (its table layout, checked with the
//! oracle) and exit codes; and cote-lda over quota with dovecot-lda's exit codes.

mod auth_support;
mod login_support;

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;
use std::process::Command;

use auth_support::TestAuth;

const CONF: &str = "\
base_dir = @DIR@
mail_location = maildir:~/Maildir
mail_plugins = quota
first_valid_uid = 1000
passdb {
  driver = static
  args = password=pw
}
userdb {
  driver = static
  args = uid=1000 gid=1000 home=@DIR@/home/%u
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=10K
  quota_rule2 = *:messages=5
}
";

fn coteadm(dir: &Path, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_coteadm"))
        .arg("-c")
        .arg(dir.join("dovecot.conf"))
        .args(args)
        .env_remove("USER")
        .output()
        .expect("run coteadm");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// A Maildir holding two messages of 1000 bytes, owned by the mail user.
fn maildir(home: &Path) {
    let root = home.join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    std::fs::write(
        root.join("cur/1.M1P1.host,S=1000,W=1020:2,S"),
        vec![b'x'; 1000],
    )
    .unwrap();
    std::fs::write(root.join("new/2.M2P1.host"), vec![b'x'; 1000]).unwrap();
    for path in [
        home.to_path_buf(),
        root.clone(),
        root.join("cur"),
        root.join("new"),
        root.join("tmp"),
        root.join("cur/1.M1P1.host,S=1000,W=1020:2,S"),
        root.join("new/2.M2P1.host"),
    ] {
        chown(&path, Some(1000), Some(1000)).unwrap();
    }
}

#[test]
fn quota_get_and_recalc_as_doveadm() {
    let t = TestAuth::start(CONF, "");
    let dir = t.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    maildir(&dir.join("home/alice"));

    let (out, err, code) = coteadm(dir, &["quota", "get", "-u", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Quota name Type    Value Limit                         %\n\
         User quota STORAGE     2    10                        20\n\
         User quota MESSAGE     2     5                        40\n"
    );
    let file = dir.join("home/alice/Maildir/maildirsize");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "10240S,5C\n2000 2\n"
    );

    // A stale file is recounted from the messages.
    std::fs::write(&file, "10240S,5C\n2000 2\n500 1\n").unwrap();
    let (_, err, code) = coteadm(dir, &["quota", "recalc", "-u", "alice"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "10240S,5C\n2000 2\n"
    );

    let (_, err, code) = coteadm(dir, &["quota", "get"]);
    assert_eq!(code, 64);
    assert!(
        err.contains("USER environment is missing and -u option not used"),
        "{err}"
    );
}

/// cote-lda over quota, as dovecot-lda: refused for good (77 and the reason on stderr with
/// `-e`), or EX_TEMPFAIL (75) with `quota_full_tempfail = yes`.
#[test]
fn lda_over_quota_exit_codes() {
    use std::io::Write;
    use std::process::Stdio;

    let mail = tempfile::tempdir().unwrap();
    std::fs::set_permissions(mail.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    let server = login_support::Server::start(&format!(
        "mail_location = maildir:{}/%u\nmail_plugins = quota\n\
         plugin {{\n  quota = maildir:User quota\n  quota_rule = *:messages=1\n}}\n",
        mail.path().display()
    ));
    let lda = |args: &[&str]| -> (i32, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cote-lda"))
            .arg("-c")
            .arg(server.path("cote.conf"))
            .args(args)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(b"Subject: lda\n\nbody\n");
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = lda(&["-d", "alice"]);
    assert_eq!(code, 0, "{stderr}\n{}", server.logs());
    let (code, stderr) = lda(&["-d", "alice", "-e"]);
    assert_eq!(code, 77, "{stderr}");
    assert!(
        stderr.contains("Quota exceeded (mailbox for user is full)"),
        "{stderr}"
    );
    let (code, stderr) = lda(&["-d", "alice", "-o", "quota_full_tempfail=yes"]);
    assert_eq!(code, 75, "{stderr}");
}
