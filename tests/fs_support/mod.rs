//! Shared by the multi-process tests (fs, storage, master workers): a small runner (these
//! binaries have `harness = false`, because they re-execute themselves as child processes
//! and a libtest harness is multi-threaded), and helpers to start children in a role.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::time::Instant;

/// Set in a child's environment: the role it plays (`role-name arg...`, space separated).
pub const ROLE_ENV: &str = "COTE_FS_TEST_ROLE";

/// A named test.
pub type Test = (&'static str, fn());

/// The role and its arguments, when this process was started as a child.
pub fn role() -> Option<Vec<String>> {
    let role = std::env::var(ROLE_ENV).ok()?;
    Some(role.split(' ').map(str::to_string).collect())
}

/// Runs the tests whose names contain any command-line filter (all without filters) and
/// prints libtest's closing line.
pub fn run(tests: &[Test]) -> ExitCode {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let selected: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, test) in &selected {
        let started = Instant::now();
        let ok = std::panic::catch_unwind(test).is_ok();
        println!(
            "test {name} ... {} ({:.1}s)",
            if ok { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        if !ok {
            failed.push(*name);
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        selected.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failures: {failed:?}");
        ExitCode::FAILURE
    }
}

/// This test binary started as a child playing `role` (words joined by spaces), with
/// extra environment variables.
pub fn child(role: &[&str], env: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().expect("own executable");
    let mut cmd = Command::new(exe);
    cmd.env(ROLE_ENV, role.join(" "));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs this test binary as a child playing `role` with the storage crash point `point`
/// set (`cote::storage::crash`); it must die there by SIGKILL.
pub fn crash_at(role: &[&str], point: &str) {
    use std::os::unix::process::ExitStatusExt;
    let status = child(role, &[(cote::storage::crash::CRASH_AT_ENV, point)])
        .stdin(Stdio::null())
        .status()
        .expect("spawn writer");
    assert_eq!(
        status.signal(),
        Some(libc::SIGKILL),
        "the writer did not stop at {point} in {role:?}: {status}"
    );
}

/// A child that talks over stdin/stdout; killed (by pid) if still running when dropped.
pub struct Peer {
    pub child: Child,
    out: BufReader<ChildStdout>,
}

impl Peer {
    pub fn start(role: &[&str], env: &[(&str, &str)]) -> Peer {
        let mut child = child(role, env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        Peer { child, out }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The child's next output line (panics at EOF).
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.out.read_line(&mut line).expect("read child");
        assert!(n > 0, "child exited early");
        line.trim_end().to_string()
    }

    /// Closes the child's stdin (its cue to finish) and waits for its exit status.
    pub fn finish(mut self) -> i32 {
        drop(self.child.stdin.take());
        let status = self.child.wait().expect("wait child");
        status.code().unwrap_or(-1)
    }

    /// SIGKILLs the child and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Blocks until stdin is closed or gives a line (the parent's "go on").
pub fn wait_for_parent() {
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}
