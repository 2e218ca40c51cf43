//! The auth service as the master runs it (`service auth`, `service auth-worker`), asked by
//! `coteadm auth test` and `coteadm user` like doveadm asks Dovecot's; and Debian's stock
//! authentication config (passdb pam + userdb passwd, and shadow) with a real system user
//! whose password is a yescrypt hash in /etc/shadow. Expected outputs are doveadm 2.3.19.1's
//! for the same configs and users (captured from the oracle).

mod master_support;
mod system_user;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

use master_support::{Server, Setup};
use system_user::SystemUser;

const COTE: &str = env!("CARGO_BIN_EXE_cote");
const COTEADM: &str = env!("CARGO_BIN_EXE_coteadm");

/// Runs coteadm against the test's config: (stdout, exit code).
fn coteadm(setup: &Setup, args: &[&str]) -> (String, i32) {
    let out = Command::new(COTEADM)
        .arg("-c")
        .arg(setup.conf())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn succeeded(user: &str) -> String {
    format!("passdb: {user} auth succeeded\nextra fields:\n  user={user}\n")
}

/// What doveadm prints for the system passdbs (PAM, shadow): their OK reply ends with an
/// empty field, printed as an empty line.
fn succeeded_without_password(user: &str) -> String {
    format!("{}  \n", succeeded(user))
}

fn failed(user: &str) -> String {
    format!("passdb: {user} auth failed\nextra fields:\n  user={user}\n")
}

#[test]
fn master_runs_auth_and_its_workers() {
    let setup = Setup::new();
    std::fs::create_dir_all(setup.base_dir()).unwrap();
    std::fs::write(
        setup.path("users"),
        "alice:{SHA256-CRYPT}$5$rounds=1000$0123456789abcdef$K/DksR0DT01hGc8g/kt9McEgrbFMKi9qrb1jehe7hn4\n\
         bob:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n",
    )
    .unwrap();
    // userdb passwd is a blocking lookup: it runs in an auth-worker process.
    let auth = format!(
        "passdb {{\n  driver = passwd-file\n  args = {}\n}}\nuserdb {{\n  driver = passwd\n}}\n",
        setup.path("users").display()
    );
    setup.write_conf(setup.port, &auth, "");
    let _server = Server::start(COTE.as_ref(), &setup, &[]);

    let alice = coteadm(&setup, &["auth", "test", "alice", "08/15!test~4711"]);
    assert_eq!(alice, (succeeded("alice"), 0));
    assert_eq!(
        coteadm(&setup, &["auth", "test", "alice", "wrong"]),
        (failed("alice"), 77)
    );
    // A bare $1$ is MD5-CRYPT.
    assert_eq!(
        coteadm(&setup, &["auth", "test", "bob", "secret"]),
        (succeeded("bob"), 0)
    );
    let (home, code) = coteadm(&setup, &["user", "-f", "home", "nobody"]);
    assert_eq!((home.as_str(), code), ("/nonexistent\n", 0));

    // base_dir/login as Dovecot makes it: the login user's group may enter, nobody else.
    let login = std::fs::metadata(setup.base_dir().join("login")).unwrap();
    assert_eq!(login.permissions().mode() & 0o7777, 0o750);
    assert!(setup.base_dir().join("login/login").exists());
    if nix::unistd::geteuid().is_root() {
        let dovenull = nix::unistd::User::from_name("dovenull").unwrap().unwrap();
        assert_eq!((login.uid(), login.gid()), (0, dovenull.gid.as_raw()));
        let client = std::fs::metadata(setup.base_dir().join("auth-client")).unwrap();
        let dovecot = nix::unistd::User::from_name("dovecot").unwrap().unwrap();
        assert_eq!(client.uid(), dovecot.uid.as_raw());
    }
    let log = setup.log_text();
    assert!(!log.contains("Error") && !log.contains("Fatal"), "{log}");
}

/// A file removed when dropped.
#[cfg(feature = "pam")]
struct TempFile(std::path::PathBuf);

#[cfg(feature = "pam")]
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Creates a system user with a yescrypt password, then checks `coteadm auth test` (right and
/// wrong password) and `coteadm user` against a cote whose passdb is `passdb` and whose
/// userdb is passwd, as doveadm answers them.
fn check_system_user_login(test: &str, user_name: &str, passdb: &str) {
    let user = SystemUser::create(user_name, "S3cret-pw");
    let hash = user.shadow_hash();
    assert!(hash.starts_with("$y$"), "{test}: not yescrypt: {hash}");
    let pw = nix::unistd::User::from_name(user_name).unwrap().unwrap();
    let setup = Setup::new();
    let auth = format!("passdb {{\n  {passdb}\n}}\nuserdb {{\n  driver = passwd\n}}\n");
    setup.write_conf(setup.port, &auth, "");
    let _server = Server::start(COTE.as_ref(), &setup, &[]);
    assert_eq!(
        coteadm(&setup, &["auth", "test", user_name, "S3cret-pw"]),
        (succeeded_without_password(user_name), 0),
        "{test}"
    );
    assert_eq!(
        coteadm(&setup, &["auth", "test", user_name, "s3cret-pw"]),
        (failed(user_name), 77),
        "{test}"
    );
    let userdb_answer = format!(
        "field\tvalue\nuid\t{}\ngid\t{}\nhome\t/home/{user_name}\nmail\t\nsystem_groups_user\t{user_name}\n",
        pw.uid, pw.gid
    );
    assert_eq!(
        coteadm(&setup, &["user", user_name]),
        (userdb_answer, 0),
        "{test}"
    );
    drop(user);
    assert!(nix::unistd::User::from_name(user_name).unwrap().is_none());
}

fn is_root(test: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("{test}: skipped, needs root (useradd, /etc/shadow, /etc/pam.d)");
    }
    root
}

/// Debian's stock authentication (conf.d/auth-system.conf.ext: passdb pam, userdb passwd),
/// with `args` naming a PAM service of the test's own that holds Debian's /etc/pam.d/dovecot
/// (pam_unix: the yescrypt hash in /etc/shadow).
#[cfg(feature = "pam")]
#[test]
fn debian_stock_config_pam() {
    if !is_root("debian_stock_config_pam") {
        return;
    }
    let service = format!("cote-test-{}", std::process::id());
    let pam_file = std::path::Path::new("/etc/pam.d").join(&service);
    std::fs::write(
        &pam_file,
        "#%PAM-1.0\n\n@include common-auth\n@include common-account\n@include common-session\n",
    )
    .unwrap();
    let _pam_file = TempFile(pam_file);
    check_system_user_login(
        "pam",
        &format!("cote-p{}", std::process::id()),
        &format!("driver = pam\n  args = {service}"),
    );
}

/// passdb shadow: the yescrypt hash verified through the CRYPT scheme (libxcrypt).
#[test]
fn shadow_passdb_and_passwd_userdb() {
    if !is_root("shadow_passdb_and_passwd_userdb") {
        return;
    }
    check_system_user_login(
        "shadow",
        &format!("cote-s{}", std::process::id()),
        "driver = shadow",
    );
}
