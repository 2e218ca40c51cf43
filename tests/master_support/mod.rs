//! Shared helpers for the master tests: a temporary server directory and configuration,
//! starting a master in the foreground on free loopback ports, waiting for log lines,
//! signalling and stopping it by pid.
//!
//! The tests run as whoever runs them (a developer, or root in CI). cote makes no privilege
//! changes in this issue either way (DESIGN.md §1: not started as root, it skips them; as
//! root, privilege dropping arrives with login/auth), so the tests need no users.

#![allow(dead_code)] // each test crate uses a different part of this module

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[path = "../port_support/mod.rs"]
mod port_support;
pub use port_support::free_port;

/// Polls `f` until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe { libc::kill(pid, sig) };
}

pub fn alive(pid: i32) -> bool {
    // A zombie still "exists" for kill(0); look at its state instead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// The pids whose parent is `parent` (from /proc).
pub fn children_of(parent: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<i32>().ok()) == Some(parent) && fields[0] != "Z" {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

pub fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// What `ps` shows for `pid` (its command line, NULs between words as spaces).
pub fn title(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&cmdline)
        .trim_end_matches('\0')
        .replace('\0', " ")
}

pub fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// A directory with a configuration for one server.
pub struct Setup {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl Setup {
    pub fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn conf(&self) -> PathBuf {
        self.path("cote.conf")
    }

    pub fn log(&self) -> PathBuf {
        self.path("cote.log")
    }

    pub fn base_dir(&self) -> PathBuf {
        self.path("run")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.base_dir().join("master.pid")
    }

    /// Writes the configuration: an imap-login service on `port` plus `service_extra` in
    /// its block, and `global_extra` at the top level.
    pub fn write_conf(&self, port: u16, global_extra: &str, service_extra: &str) {
        let text = format!(
            "base_dir = {base}\n\
             state_dir = {base}\n\
             log_path = {log}\n\
             protocols = imap\n\
             listen = 127.0.0.1\n\
             ssl = no\n\
             {global_extra}\n\
             service imap-login {{\n\
             \x20 inet_listener imap {{\n\
             \x20   port = {port}\n\
             \x20 }}\n\
             {service_extra}\n\
             }}\n",
            base = self.base_dir().display(),
            log = self.log().display(),
        );
        std::fs::write(self.conf(), text).unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    /// Waits until the log has a line containing `needle`; returns the whole log.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        wait_for(timeout, || {
            let text = self.log_text();
            text.contains(needle).then_some(text)
        })
        .unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{}", self.log_text()))
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// A master started in the foreground (`-F`) by this test; dropping it stops it (SIGTERM,
/// then SIGKILL to the process group it leads, so no worker outlives the test).
pub struct Server {
    pub child: Child,
    pub stderr: PathBuf,
}

impl Server {
    /// Starts `binary -F -c conf` with `envs`, waits for the pid file.
    pub fn start(binary: &Path, setup: &Setup, envs: &[(&str, &str)]) -> Server {
        Server::start_with_args(binary, setup, envs, &[])
    }

    /// [`Server::start`] with more arguments after `-F -c conf`.
    pub fn start_with_args(
        binary: &Path,
        setup: &Setup,
        envs: &[(&str, &str)],
        args: &[&str],
    ) -> Server {
        let server = Server::spawn_with_args(binary, setup, envs, args);
        let pid = server.pid();
        let written = wait_for(Duration::from_secs(10), || {
            let text = std::fs::read_to_string(setup.pid_file()).ok()?;
            (text == format!("{pid}\n")).then_some(())
        });
        assert!(
            written.is_some(),
            "no pid file; stderr: {}",
            server.stderr_text()
        );
        server
    }

    /// Spawns without waiting (for tests of startup failures).
    pub fn spawn(binary: &Path, setup: &Setup, envs: &[(&str, &str)]) -> Server {
        Server::spawn_with_args(binary, setup, envs, &[])
    }

    fn spawn_with_args(
        binary: &Path,
        setup: &Setup,
        envs: &[(&str, &str)],
        args: &[&str],
    ) -> Server {
        let stderr = setup.path(&format!("stderr.{}", free_port()));
        let mut command = Command::new(binary);
        command
            .arg("-F")
            .arg("-c")
            .arg(setup.conf())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .process_group(0)
            .envs(envs.iter().copied());
        // No core files from the crash tests; the master then reports core dumps disabled.
        // SAFETY: setrlimit is async-signal-safe, fine between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let zero = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &zero);
                Ok(())
            });
        }
        Server {
            child: command.spawn().unwrap(),
            stderr,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn signal(&self, sig: i32) {
        signal(self.pid(), sig);
    }

    /// Waits for the master to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        wait_for(timeout, || self.child.try_wait().unwrap())
            .unwrap_or_else(|| panic!("master {} did not exit", self.pid()))
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(10))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGTERM);
            if wait_for(Duration::from_secs(5), || {
                self.child.try_wait().ok().flatten()
            })
            .is_none()
            {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        // Anything left in the group the master led (workers of a killed master).
        signal(-self.pid(), libc::SIGKILL);
    }
}

/// A line-based client for the test handler.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
    /// The worker's pid from the greeting.
    pub worker: i32,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::try_connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
    }

    pub fn try_connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut greeting = String::new();
        reader.read_line(&mut greeting)?;
        let worker = greeting
            .trim_end()
            .strip_prefix("* OK pid=")
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad greeting {greeting:?}")))?;
        Ok(Client {
            reader,
            stream,
            worker,
        })
    }

    pub fn command(&mut self, line: &str) -> String {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        let mut answer = String::new();
        self.reader.read_line(&mut answer).unwrap();
        answer.trim_end().to_string()
    }

    /// Reads until EOF (or error); true when the server closed the connection.
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }
}
