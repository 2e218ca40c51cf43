//! Shared by the config tests: finding Debian's doveconf (the oracle), running it and
//! coteconf the same way, and comparing what they print.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The unpacked Debian Dovecot: `$COTE_DOVECOT_ROOT`, else /opt/dovecot, else the
/// `make oracle` output. Panics (the tests fail) when none is there.
pub fn oracle_root() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("COTE_DOVECOT_ROOT") {
        Some(root) => vec![PathBuf::from(root)],
        None => vec![
            PathBuf::from("/opt/dovecot"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dovecot-oracle"),
        ],
    };
    for root in &candidates {
        if root.join("usr/bin/doveconf").is_file() {
            return root.clone();
        }
    }
    panic!(
        "the Dovecot oracle (usr/bin/doveconf) is not in {:?}: run `make oracle` \
         (or set COTE_DOVECOT_ROOT to an unpacked Debian dovecot-core)",
        candidates
    );
}

/// What one run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub status: i32,
    /// Standard output without the `# ...` header comments (version, OS, host name).
    pub stdout: String,
    /// Standard error with the program-name prefix removed from each line.
    pub stderr: Vec<String>,
}

fn normalize(output: std::process::Output, program: &str) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.starts_with("# "))
        .map(|line| format!("{line}\n"))
        .collect();
    let prefix = format!("{program}: ");
    let stderr = String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(|line| line.strip_prefix(&prefix).unwrap_or(line).to_string())
        // Names the tool to run, which differs by design.
        .filter(|line| !line.contains("NOTE: You can get a new clean config file with"))
        .collect();
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// Runs Debian's doveconf with `args` in `dir`.
pub fn doveconf(dir: &Path, args: &[String], env: &[(String, String)]) -> Run {
    let root = oracle_root();
    let output = Command::new(root.join("usr/bin/doveconf"))
        .args(args)
        .current_dir(dir)
        .env("LD_LIBRARY_PATH", root.join("usr/lib/dovecot"))
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run doveconf");
    normalize(output, "doveconf")
}

/// Runs our coteconf with `args` in `dir`.
pub fn coteconf(dir: &Path, args: &[String], env: &[(String, String)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_coteconf"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run coteconf");
    normalize(output, "coteconf")
}

/// Runs both and fails with a readable diff if they differ.
pub fn assert_same(dir: &Path, args: &[String], env: &[(String, String)]) -> Run {
    let expected = doveconf(dir, args, env);
    let actual = coteconf(dir, args, env);
    if expected != actual {
        panic!(
            "coteconf {args:?} in {} differs from doveconf\n--- doveconf (status {})\n{}{}\n--- coteconf (status {})\n{}{}",
            dir.display(),
            expected.status,
            expected.stdout,
            expected.stderr.join("\n"),
            actual.status,
            actual.stdout,
            actual.stderr.join("\n"),
        );
    }
    actual
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
