//! coteconf against Debian's doveconf: Debian's stock /etc/dovecot tree, and every case
//! under t/config/cases (each with the argument lines in its `args` file, `-n` if none).

mod config_support;

use std::path::{Path, PathBuf};

use config_support::{assert_same, copy_tree, oracle_root};

fn args(line: &str, conf: &Path) -> Vec<String> {
    let mut args = vec!["-c".to_string(), conf.display().to_string()];
    args.extend(line.split_whitespace().map(str::to_string));
    args
}

#[test]
fn debian_stock_tree() {
    let root = oracle_root();
    let share = root.join("usr/share/dovecot");
    let dir = tempfile::tempdir().unwrap();
    let etc = dir.path().join("etc/dovecot");
    std::fs::create_dir_all(&etc).unwrap();
    copy_tree(&share.join("conf.d"), &etc.join("conf.d"));
    // dovecot.conf includes the protocols.d files by absolute path; they are written by the
    // dovecot-imapd/-pop3d/-lmtpd postinst scripts. The one change to the stock file: that
    // path points at our copy.
    let protocols = dir.path().join("protocols.d");
    std::fs::create_dir_all(&protocols).unwrap();
    for (file, protocol) in [("imapd", "imap"), ("pop3d", "pop3"), ("lmtpd", "lmtp")] {
        std::fs::write(
            protocols.join(format!("{file}.protocol")),
            format!("protocols = $protocols {protocol}\n"),
        )
        .unwrap();
    }
    let stock = std::fs::read_to_string(share.join("dovecot.conf")).unwrap();
    let original = "/usr/share/dovecot/protocols.d/*.protocol";
    assert!(stock.contains(original));
    let conf = etc.join("dovecot.conf");
    std::fs::write(
        &conf,
        stock.replace(original, &format!("{}/*.protocol", protocols.display())),
    )
    .unwrap();
    for line in [
        "-n",
        "-a",
        "-N",
        "-P -n",
        "-n -f protocol=imap",
        "-h protocols",
        "-n -h protocols",
    ] {
        let run = assert_same(&etc, &args(line, &conf), &[]);
        assert_eq!(run.status, 0, "{line}");
    }
    let run = assert_same(&etc, &args("-n", &conf), &[]);
    assert!(
        run.stdout.contains("protocols = \" imap lmtp pop3\"\n"),
        "{}",
        run.stdout
    );
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("t/config/cases")
}

/// KEY=VALUE lines of a case's `env` file.
fn case_env(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("env"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_case_matches_doveconf() {
    let mut names: Vec<_> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("dovecot.conf").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 30, "only {} cases", names.len());
    let mut runs = 0;
    for dir in names {
        let conf = dir.join("dovecot.conf");
        let lines = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
        let mut lines: Vec<&str> = lines.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            lines.push("-n");
        }
        let env = case_env(&dir);
        for line in lines {
            assert_same(&dir, &args(line, &conf), &env);
            runs += 1;
        }
    }
    eprintln!("{runs} doveconf/coteconf comparisons");
}
