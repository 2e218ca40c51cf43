//! A real `cote -F` for the login tests: loopback listeners on free ports (imap and imaps),
//! a passwd-file passdb/userdb, a fresh TLS certificate, logs in a temporary directory.
//! Dropping the server stops it by pid (SIGTERM, then SIGKILL to its process group).

#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../tls_support/mod.rs"]
pub mod tls_support;

pub const USERS: &str = "\
alice:{PLAIN}secret:1000:1000::/nonexistent/alice
bob:{PLAIN}hunter2:1001:1001::/nonexistent/bob
low:{PLAIN}pw:100:100::/nonexistent/low
";

#[path = "../port_support/mod.rs"]
mod port_support;
pub use port_support::free_port;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

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

pub struct Server {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub imap: u16,
    pub imaps: u16,
}

impl Server {
    /// Starts a server with `extra` appended to the configuration, and waits for it.
    pub fn start(extra: &str) -> Server {
        Server::start_with(USERS, "127.0.0.1", extra)
    }

    /// [`Server::start`] with its own users file, listening on `listen`.
    pub fn start_with(users: &str, listen: &str, extra: &str) -> Server {
        let server = Server::spawn_with(users, listen, extra);
        let imap = server.imap;
        let up = wait_for(Duration::from_secs(20), || {
            TcpStream::connect((listen, imap)).ok()
        });
        assert!(up.is_some(), "cote did not start:\n{}", server.logs());
        server
    }

    /// Starts a server without waiting for it (for startup failures).
    pub fn spawn(extra: &str) -> Server {
        Server::spawn_with(USERS, "127.0.0.1", extra)
    }

    fn spawn_with(users: &str, listen: &str, extra: &str) -> Server {
        let (dir, imap, imaps) = Server::prepare(users, listen, extra);
        let child = Command::new(env!("CARGO_BIN_EXE_cote"))
            .arg("-F")
            .arg("-c")
            .arg(dir.path().join("cote.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("stderr")).unwrap())
            .process_group(0)
            .spawn()
            .unwrap();
        Server {
            child,
            dir,
            imap,
            imaps,
        }
    }

    /// Starts `cote -F ARGS` in a session of its own whose controlling terminal is a new
    /// pseudo-terminal (as when an administrator runs it by hand); returns the server and the
    /// terminal's other end, to read prompts from and type into, and the terminal itself, kept
    /// open by the test so that reading the other end never fails between the child's exec and
    /// its own open of /dev/tty. Does not wait for it.
    pub fn spawn_on_terminal(extra: &str, args: &[&str]) -> (Server, fs::File, fs::File) {
        use std::os::fd::{AsRawFd, FromRawFd};
        let (dir, imap, imaps) = Server::prepare(USERS, "127.0.0.1", extra);
        // SAFETY: plain libc pty calls; every result is checked.
        let (terminal, tty_path) = unsafe {
            let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(fd >= 0, "posix_openpt: {}", std::io::Error::last_os_error());
            assert_eq!(libc::grantpt(fd), 0);
            assert_eq!(libc::unlockpt(fd), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(fd, name.as_mut_ptr(), name.len()), 0);
            let name = std::ffi::CStr::from_ptr(name.as_ptr()).to_owned();
            (fs::File::from_raw_fd(fd), name)
        };
        let tty = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(tty_path.to_str().unwrap())
            .unwrap();
        let tty_fd = tty.as_raw_fd();
        let mut command = Command::new(env!("CARGO_BIN_EXE_cote"));
        command
            .args(args)
            .arg("-F")
            .arg("-c")
            .arg(dir.path().join("cote.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("stderr")).unwrap());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(tty_fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        (
            Server {
                child,
                dir,
                imap,
                imaps,
            },
            terminal,
            tty,
        )
    }

    /// Writes the users file, a certificate and the configuration into a new directory;
    /// returns it with the imap and imaps ports.
    fn prepare(users: &str, listen: &str, extra: &str) -> (tempfile::TempDir, u16, u16) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Started as root, the auth service reads the users file as its own user.
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
        tls_support::write_test_cert(root).unwrap();
        fs::write(root.join("users"), users).unwrap();
        // Mail processes (running as the users when started as root) make their Maildirs here.
        fs::create_dir(root.join("mail")).unwrap();
        fs::set_permissions(root.join("mail"), fs::Permissions::from_mode(0o1777)).unwrap();
        let (imap, imaps) = (free_port(), free_port());
        let mut conf = String::new();
        let r = root.display();
        let _ = write!(
            conf,
            "base_dir = {r}/run\n\
             state_dir = {r}/lib\n\
             log_path = {r}/cote.log\n\
             listen = {listen}\n\
             protocols = imap\n\
             ssl = yes\n\
             ssl_cert = <{r}/cert.pem\n\
             ssl_key = <{r}/key.pem\n\
             auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256\n\
             auth_failure_delay = 1 secs\n\
             mail_location = maildir:{r}/mail/%u\n\
             passdb {{\n  driver = passwd-file\n  args = {r}/users\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = {r}/users\n}}\n\
             service imap-login {{\n\
             \x20 inet_listener imap {{\n    port = {imap}\n  }}\n\
             \x20 inet_listener imaps {{\n    port = {imaps}\n  }}\n\
             }}\n\
             {extra}\n"
        );
        fs::write(root.join("cote.conf"), conf).unwrap();
        (dir, imap, imaps)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn base_dir(&self) -> PathBuf {
        self.path("run")
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["stderr", "cote.log"] {
            if let Ok(text) = fs::read_to_string(self.path(name)) {
                let _ = write!(out, "--- {name} ---\n{text}");
            }
        }
        out
    }

    /// Waits until the log has a line containing `needle`; returns that line.
    pub fn wait_log(&self, needle: &str) -> String {
        wait_for(Duration::from_secs(20), || {
            fs::read_to_string(self.path("cote.log"))
                .ok()?
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("no log line with {needle:?}:\n{}", self.logs()))
    }

    /// The master's children whose process title is `title` (`dovecot/imap-login`).
    pub fn workers(&self, title: &str) -> Vec<i32> {
        let mut out = Vec::new();
        for entry in fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some((_, rest)) = stat.rsplit_once(") ") else {
                continue;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let parent = fields.get(1).and_then(|p| p.parse::<i32>().ok());
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let name = String::from_utf8_lossy(&cmdline);
            if parent == Some(self.pid())
                && fields[0] != "Z"
                && name.trim_end_matches('\0') == title
            {
                out.push(pid);
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.pid();
        // SAFETY: signals to the master this test started and its process group.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        if wait_for(Duration::from_secs(10), || {
            self.child.try_wait().ok().flatten()
        })
        .is_none()
        {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// `(uid, gid)` lines of /proc/PID/status: real, effective, saved, filesystem ids.
pub fn ids(pid: i32) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    try_ids(pid).unwrap_or_else(|| panic!("process {pid} is gone"))
}

/// [`ids`], or `None` when the process is gone.
pub fn try_ids(pid: i32) -> Option<(Vec<u32>, Vec<u32>, Vec<u32>)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    Some((field("Uid:"), field("Gid:"), field("Groups:")))
}

/// The configuration of `service pop3-login` listening on `pop3` (and `pop3s`, 0: none).
pub fn pop3_listener(pop3: u16, pop3s: u16) -> String {
    format!(
        "service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = {pop3s}\n  }}\n}}\n"
    )
}

/// Asserts that for each of `expected` a line of `out` starts with it (the output of a
/// scripted client such as the Python ones); shows the server's log when not.
pub fn assert_lines_start(out: &str, expected: &[&str], server: &Server) {
    for line in expected {
        assert!(
            out.lines().any(|l| l.starts_with(line)),
            "no line starting {line:?} in:\n{out}\n{}",
            server.logs()
        );
    }
}

/// A line-based IMAP client over plain TCP.
pub struct Client {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).unwrap();
    }

    /// The next line without CRLF; "" at EOF.
    pub fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let _ = self.reader.read_until(b'\n', &mut buf);
        String::from_utf8_lossy(&buf)
            .trim_end_matches(['\r', '\n'])
            .to_string()
    }

    /// Reads until the server closes; true when it did (not a timeout).
    pub fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }
}

/// Runs `python3 -c script args...`; returns stdout, panicking with stderr on failure.
pub fn python(script: &str, args: &[String]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
