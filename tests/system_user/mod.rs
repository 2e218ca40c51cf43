//! A system user for the tests that need one (PAM, passwd userdb, /var/mail spools): made
//! with `useradd` and a yescrypt password from `chpasswd`, removed with `userdel` when
//! dropped. Root only.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct SystemUser {
    pub name: String,
    /// Whether it has a home (and a spool file) to remove with it.
    with_home: bool,
}

impl SystemUser {
    /// A user without a home directory.
    pub fn create(name: &str, password: &str) -> SystemUser {
        SystemUser::add(name, password, false)
    }

    /// A user with a home directory; the home and its /var/mail spool (and the spool's
    /// dotlock) go when it is dropped.
    pub fn create_with_home(name: &str, password: &str) -> SystemUser {
        SystemUser::add(name, password, true)
    }

    fn add(name: &str, password: &str, with_home: bool) -> SystemUser {
        let user = SystemUser {
            name: name.to_string(),
            with_home,
        };
        user.remove();
        let home = if with_home {
            "--create-home"
        } else {
            "--no-create-home"
        };
        let status = Command::new("useradd")
            .args([home, "--shell", "/usr/sbin/nologin"])
            .args(["--comment", "cote test user", name])
            .status()
            .expect("run useradd");
        assert!(status.success(), "useradd {name}");
        let mut chpasswd = Command::new("chpasswd")
            .args(["--crypt-method", "YESCRYPT"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("run chpasswd");
        let mut stdin = chpasswd.stdin.take().expect("chpasswd's stdin");
        stdin
            .write_all(format!("{name}:{password}\n").as_bytes())
            .expect("write to chpasswd");
        drop(stdin);
        assert!(
            chpasswd.wait().expect("chpasswd's status").success(),
            "chpasswd {name}"
        );
        user
    }

    /// The password hash /etc/shadow holds for the user.
    pub fn shadow_hash(&self) -> String {
        let shadow = std::fs::read_to_string("/etc/shadow").expect("read /etc/shadow");
        let prefix = format!("{}:", self.name);
        let line = shadow
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{} not in /etc/shadow", self.name));
        line.split(':').nth(1).unwrap_or_default().to_string()
    }

    fn remove(&self) {
        let mut userdel = Command::new("userdel");
        if self.with_home {
            userdel.arg("-r");
        }
        let _ = userdel.arg(&self.name).stderr(Stdio::null()).status();
        if self.with_home {
            let spool = Path::new("/var/mail").join(&self.name);
            let _ = std::fs::remove_file(&spool);
            let _ = std::fs::remove_file(spool.with_extension("lock"));
        }
    }
}

impl Drop for SystemUser {
    fn drop(&mut self) {
        self.remove();
    }
}
