//! passdb/userdb chains and drivers through the engine: result rules, deny, skip, master
//! users, static and checkpassword drivers, NSS passwd, PAM (root only, with a temporary
//! /etc/pam.d service file that the test removes).

use std::sync::Arc;

use cote::auth::engine::Auth;
use cote::auth::request::{AuthRequest, PassdbResult, UserdbResult};
use cote::auth::settings::AuthSettings;
use cote::config::Config;

fn auth(conf: &str, files: &[(&str, &str)]) -> (tempfile::TempDir, Auth) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let path = dir.path().join("dovecot.conf");
    std::fs::write(&path, conf.replace("@DIR@", dir.path().to_str().unwrap())).unwrap();
    let config = Config::load(&path).unwrap();
    let settings = AuthSettings::from_settings(&config.global()).unwrap();
    (dir, Auth::new(settings).unwrap())
}

fn verify(auth: &Auth, user: &str, password: &str) -> (PassdbResult, AuthRequest) {
    let mut r = AuthRequest::new(Arc::clone(&auth.settings));
    r.service = "imap".into();
    r.remote_ip = Some("127.0.0.1".parse().unwrap());
    r.set_username(user, !auth.masterdbs.is_empty()).unwrap();
    let result = auth.verify_plain(&mut r, password);
    (result, r)
}

fn userdb(auth: &Auth, user: &str) -> (UserdbResult, AuthRequest) {
    let mut r = AuthRequest::new(Arc::clone(&auth.settings));
    r.service = "lmtp".into();
    r.set_username(user, false).unwrap();
    let result = auth.lookup_user(&mut r);
    (result, r)
}

#[test]
fn result_rules_and_deny() {
    let conf = "
passdb {
  driver = passwd-file
  args = @DIR@/deny
  deny = yes
}
passdb {
  driver = passwd-file
  args = @DIR@/first
  result_success = continue-ok
  result_failure = continue
}
passdb {
  driver = passwd-file
  args = @DIR@/second
}
userdb {
  driver = static
  args = uid=1000 gid=1000 home=/home/%n allow_all_users=yes
}
";
    let (_dir, a) = auth(
        conf,
        &[
            ("deny", "banned\n"),
            ("first", "alice:{PLAIN}a1::::::extra1=x\nbanned:{PLAIN}b\n"),
            ("second", "alice:{PLAIN}a2::::::extra2=y\nbob:{PLAIN}b2\n"),
        ],
    );
    // Denied, whatever the password.
    assert_eq!(verify(&a, "banned", "b").0, PassdbResult::UserDisabled);
    // First passdb succeeds and continues: the second only adds fields (the password is
    // already verified).
    let (result, r) = verify(&a, "alice", "a1");
    assert_eq!(result, PassdbResult::Ok);
    assert_eq!(r.extra_fields.visible_line(), "extra1=x\textra2=y");
    // Wrong for the first, right for the second: success, without the first one's fields.
    let (result, r) = verify(&a, "alice", "a2");
    assert_eq!(result, PassdbResult::Ok);
    assert_eq!(r.extra_fields.visible_line(), "extra2=y");
    assert_eq!(verify(&a, "bob", "b2").0, PassdbResult::Ok);
    assert_eq!(verify(&a, "bob", "x").0, PassdbResult::PasswordMismatch);
    assert_eq!(verify(&a, "nobody", "x").0, PassdbResult::UserUnknown);
    let (result, r) = userdb(&a, "alice@example.org");
    assert_eq!(result, UserdbResult::Ok);
    assert_eq!(
        r.userdb_reply.unwrap().visible_line(),
        "uid=1000\tgid=1000\thome=/home/alice"
    );
}

#[test]
fn return_fail_and_skip() {
    let conf = "
passdb {
  driver = static
  args = password=never
  result_failure = return-fail
  username_filter = *@locked.org
}
passdb {
  driver = static
  args = password=pw
}
";
    let (_dir, a) = auth(conf, &[]);
    // The filtered passdb is skipped for other domains.
    assert_eq!(verify(&a, "x@open.org", "pw").0, PassdbResult::Ok);
    // For its domain, its failure ends the chain.
    assert_eq!(
        verify(&a, "x@locked.org", "pw").0,
        PassdbResult::PasswordMismatch
    );
}

/// result_internalfail: a passdb that fails internally (its file is a directory) hands the
/// decision on (`continue`, the default) or ends the chain with the failure (`return`).
#[test]
fn internal_failures_follow_result_internalfail() {
    for (rule, expected) in [
        ("continue", PassdbResult::Ok),
        ("return", PassdbResult::InternalFailure),
    ] {
        let conf = format!(
            "
passdb {{
  driver = passwd-file
  args = @DIR@/broken
  result_internalfail = {rule}
}}
passdb {{
  driver = static
  args = password=pw
}}
"
        );
        let (dir, a) = auth(&conf, &[]);
        std::fs::create_dir(dir.path().join("broken")).unwrap();
        assert_eq!(verify(&a, "x", "pw").0, expected, "{rule}");
    }
}

#[test]
fn master_users_and_pass() {
    let conf = "
auth_master_user_separator = *
passdb {
  driver = passwd-file
  args = @DIR@/users
}
passdb {
  driver = passwd-file
  args = @DIR@/masters
  master = yes
  pass = yes
}
";
    let (_dir, a) = auth(
        conf,
        &[
            (
                "users",
                "alice:{PLAIN}a\nnologinuser:{PLAIN}x::::::nologin\n",
            ),
            ("masters", "admin:{PLAIN}m\n"),
        ],
    );
    let (result, r) = verify(&a, "alice*admin", "m");
    assert_eq!(result, PassdbResult::Ok);
    assert_eq!(r.user(), "alice");
    assert_eq!(r.master_user.as_deref(), Some("admin"));
    // pass = yes: the login user must exist in the normal passdbs.
    assert_eq!(verify(&a, "ghost*admin", "m").0, PassdbResult::UserUnknown);
    assert_eq!(
        verify(&a, "alice*admin", "a").0,
        PassdbResult::PasswordMismatch
    );
    // Without master passdbs, a master login is refused.
    let (_dir2, plain) = auth(
        "auth_master_user_separator = *\npassdb {\n driver = static\n args = password=pw\n}\n",
        &[],
    );
    let mut r = AuthRequest::new(Arc::clone(&plain.settings));
    assert_eq!(
        r.set_username("alice*admin", false).unwrap_err(),
        "Master user login attempted without master passdbs"
    );
}

#[test]
fn passwd_file_rereads_on_change_and_expands_paths() {
    // No auth_username_chars: the path expansion itself must keep names in their directory.
    let conf = "
auth_username_chars =
passdb {
  driver = passwd-file
  args = username_format=%n @DIR@/%d.passwd
}
";
    let (dir, a) = auth(conf, &[("a.org.passwd", "alice:{PLAIN}one\n")]);
    assert_eq!(verify(&a, "alice@a.org", "one").0, PassdbResult::Ok);
    assert_eq!(
        verify(&a, "alice@b.org", "one").0,
        PassdbResult::UserUnknown
    );
    // A new password (different size, so the change shows even within the same second).
    std::fs::write(dir.path().join("a.org.passwd"), "alice:{PLAIN}second\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(verify(&a, "alice@a.org", "second").0, PassdbResult::Ok);
    assert_eq!(
        verify(&a, "alice@a.org", "one").0,
        PassdbResult::PasswordMismatch
    );
    // A user name can't reach other directories through %d.
    assert_eq!(
        verify(&a, "alice@x/../a.org", "second").0,
        PassdbResult::UserUnknown
    );
}

/// auth_cache_size / auth_cache_ttl / auth_cache_negative_ttl: within the ttl the cache
/// answers even after the passwd-file changed; a password that does not match an entry that
/// last succeeded goes to the passdb (it may have changed); unknown users are remembered
/// for the negative ttl. Past the ttl the passdb answers again.
#[test]
fn auth_cache_answers_within_its_ttl() {
    let conf = |ttl: &str| {
        format!(
            "
auth_cache_size = 1M
auth_cache_ttl = {ttl}
auth_cache_negative_ttl = {ttl}
passdb {{
  driver = passwd-file
  args = @DIR@/users
}}
"
        )
    };
    let files = [("users", "alice:{PLAIN}one\n")];
    let (dir, cached) = auth(&conf("1 hour"), &files);
    let (short_dir, short) = auth(&conf("1 secs"), &files);
    for a in [&cached, &short] {
        assert_eq!(verify(a, "alice", "one").0, PassdbResult::Ok);
        assert_eq!(verify(a, "bob", "pw").0, PassdbResult::UserUnknown);
    }
    // New passwords and a new user (a different size, so the change shows at once).
    for d in [&dir, &short_dir] {
        std::fs::write(
            d.path().join("users"),
            "alice:{PLAIN}second\nbob:{PLAIN}pw\n",
        )
        .unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(verify(&cached, "alice", "one").0, PassdbResult::Ok);
    assert_eq!(verify(&cached, "bob", "pw").0, PassdbResult::UserUnknown);
    assert_eq!(verify(&cached, "alice", "second").0, PassdbResult::Ok);
    // Past the ttl: the file's answers.
    assert_eq!(
        verify(&short, "alice", "one").0,
        PassdbResult::PasswordMismatch
    );
    assert_eq!(verify(&short, "bob", "pw").0, PassdbResult::Ok);
}

#[test]
fn static_userdb_checks_existence_through_passdb() {
    let conf = "
passdb {
  driver = passwd-file
  args = @DIR@/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=/var/vmail/%d/%n
}
";
    let (_dir, a) = auth(conf, &[("users", "alice@a.org:{PLAIN}x\n")]);
    let (result, _) = userdb(&a, "nobody@a.org");
    assert_eq!(result, UserdbResult::UserUnknown);
    let (result, r) = userdb(&a, "alice@a.org");
    // vmail is no user on this machine: the uid can't be resolved, a temporary failure.
    if cote::auth::db::nss::getpwnam("vmail").unwrap().is_none() {
        assert_eq!(result, UserdbResult::InternalFailure);
    } else {
        assert_eq!(result, UserdbResult::Ok);
        assert_eq!(
            r.userdb_reply.unwrap().get("home"),
            Some("/var/vmail/a.org/alice")
        );
    }
}

#[test]
fn passwd_userdb_from_nss() {
    let conf = "userdb {\n driver = passwd\n}\npassdb {\n driver = static\n args = nopassword\n}\n";
    let (_dir, a) = auth(conf, &[]);
    let (result, r) = userdb(&a, "root");
    assert_eq!(result, UserdbResult::Ok);
    let reply = r.userdb_reply.unwrap();
    assert_eq!(reply.get("uid"), Some("0"));
    assert_eq!(reply.get("home"), Some("/root"));
    assert_eq!(reply.get("system_groups_user"), Some("root"));
    assert_eq!(userdb(&a, "cote-no-such-user").0, UserdbResult::UserUnknown);
}

#[test]
fn checkpassword_program() {
    let script = "#!/bin/sh
# Reads user\\0password\\0 from fd 3 like qmail's checkpassword.
input=$(tr '\\0' '\\n' <&3)
user=$(echo \"$input\" | sed -n 1p)
pass=$(echo \"$input\" | sed -n 2p)
if [ \"$AUTHORIZED\" = 1 ]; then
  [ \"$user\" = alice ] || exit 3
  AUTHORIZED=2; export AUTHORIZED
elif [ \"$user\" != alice ] || [ \"$pass\" != secret ]; then
  exit 1
fi
[ \"$user\" = broken ] && exit 111
HOME=/home/$user USER=$user EXTRA=userdb_mail userdb_mail='maildir:~/M'
export HOME USER EXTRA userdb_mail
exec \"$@\"
";
    let conf = "
passdb {
  driver = checkpassword
  args = @DIR@/check.sh
}
userdb {
  driver = checkpassword
  args = @DIR@/check.sh
}
";
    let (dir, a) = auth(conf, &[("check.sh", script)]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join("check.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let (result, r) = verify(&a, "alice", "secret");
    assert_eq!(result, PassdbResult::Ok);
    let reply = r.userdb_reply.unwrap();
    assert_eq!(reply.get("home"), Some("/home/alice"));
    assert_eq!(reply.get("mail"), Some("maildir:~/M"));
    assert_eq!(
        verify(&a, "alice", "wrong").0,
        PassdbResult::PasswordMismatch
    );
    assert_eq!(
        verify(&a, "bob", "secret").0,
        PassdbResult::PasswordMismatch
    );
    let (result, r) = userdb(&a, "alice");
    assert_eq!(result, UserdbResult::Ok);
    assert_eq!(r.userdb_reply.unwrap().get("home"), Some("/home/alice"));
    assert_eq!(userdb(&a, "bob").0, UserdbResult::UserUnknown);
}

#[cfg(feature = "pam")]
#[test]
fn pam_service_file() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("pam_service_file: skipped, needs root to write /etc/pam.d");
        return;
    }
    // pam_succeed_if answers by user name: the conversation is not needed, but pam_start,
    // pam_authenticate and pam_acct_mgmt all run for real.
    let name = format!("cote-test-{}", std::process::id());
    let path = std::path::PathBuf::from("/etc/pam.d").join(&name);
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    std::fs::write(
        &path,
        "auth required pam_succeed_if.so quiet user = root\naccount required pam_permit.so\n",
    )
    .unwrap();
    let _cleanup = Remove(path);
    let conf = format!("passdb {{\n driver = pam\n args = {name}\n}}\n");
    let (_dir, a) = auth(&conf, &[]);
    assert_eq!(verify(&a, "root", "anything").0, PassdbResult::Ok);
    assert_eq!(
        verify(&a, "daemon", "anything").0,
        PassdbResult::PasswordMismatch
    );
}

/// Stored passwords in every form a passwd-file holds them go through the password schemes:
/// `{SCHEME}` prefixes, a bare `$1$` (MD5-CRYPT) and bare crypt(3) strings (CRYPT, the
/// passwd-file default), and credentials lookups convert or refuse as Dovecot does.
#[test]
fn stored_password_schemes() {
    let ssha = cote::auth::scheme::generate("SSHA", b"secret", None, 0).unwrap();
    let users = format!(
        "md5:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n\
         yes:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0\n\
         sha:{{SHA256-CRYPT}}$5$rounds=1000$0123456789abcdef$K/DksR0DT01hGc8g/kt9McEgrbFMKi9qrb1jehe7hn4\n\
         ssha:{ssha}\n\
         cram:{{CRAM-MD5}}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56\n\
         plain:{{PLAIN}}secret\n\
         odd:{{NOSUCH}}x\n\
         badhex:{{PLAIN.HEX}}zz\n"
    );
    let conf = "passdb {\n  driver = passwd-file\n  args = @DIR@/users\n}\n";
    let (_dir, a) = auth(conf, &[("users", &users)]);
    for (user, password, want) in [
        ("md5", "secret", PassdbResult::Ok),
        ("md5", "Secret", PassdbResult::PasswordMismatch),
        ("yes", "secret", PassdbResult::Ok),
        ("yes", "wrong", PassdbResult::PasswordMismatch),
        ("sha", "08/15!test~4711", PassdbResult::Ok),
        ("sha", "secret", PassdbResult::PasswordMismatch),
        ("ssha", "secret", PassdbResult::Ok),
        ("ssha", "secreT", PassdbResult::PasswordMismatch),
        ("cram", "secret", PassdbResult::Ok),
        ("cram", "wrong", PassdbResult::PasswordMismatch),
        // An unusable stored password is logged as an error; passwd-file then answers a
        // mismatch, as Dovecot's does.
        ("odd", "x", PassdbResult::PasswordMismatch),
        ("badhex", "x", PassdbResult::PasswordMismatch),
    ] {
        assert_eq!(verify(&a, user, password).0, want, "{user} {password}");
    }

    let credentials = |user: &str, scheme: &str| {
        let mut r = AuthRequest::new(Arc::clone(&a.settings));
        r.service = "imap".into();
        r.set_username(user, false).unwrap();
        a.lookup_credentials(&mut r, scheme)
    };
    let cram = credentials("cram", "CRAM-MD5");
    assert_eq!(cram.result, PassdbResult::Ok);
    let from_plain = credentials("plain", "CRAM-MD5");
    assert_eq!(
        from_plain, cram,
        "made from the plaintext, the same context"
    );
    let scram = credentials("plain", "SCRAM-SHA-256");
    assert_eq!(scram.result, PassdbResult::Ok);
    use cote::auth::scheme::{ScramCredentials, ScramHash};
    assert!(ScramCredentials::parse(ScramHash::Sha256, &scram.data).is_ok());
    assert_eq!(
        credentials("sha", "CRAM-MD5").result,
        PassdbResult::SchemeNotAvailable
    );
    assert_eq!(
        credentials("plain", "NOSUCH").result,
        PassdbResult::SchemeNotAvailable
    );
}
