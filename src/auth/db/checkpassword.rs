//! checkpassword: qmail's interface, as Dovecot drives it. The program gets
//! `user\0password\0\0` on fd 3 and the reply helper as its arguments; on success it runs the
//! helper, which writes the user's fields TAB-separated to fd 4 and exits 0 (2 for a
//! lookup without password, `AUTHORIZED=1`). Exit 1 means a wrong password (3: unknown user
//! in a lookup), 111 a temporary failure.
//!
//! cote's reply helper is the `cote-checkpassword-reply` binary installed beside the other
//! cote binaries ([`reply_main`]); it speaks Dovecot's checkpassword-reply protocol, so
//! scripts written for Dovecot work unchanged.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{PassdbDriver, StoredPassword, UserdbDriver};
use crate::auth::fields::split_tabescaped;
use crate::auth::request::{AuthRequest, PassdbResult, UserdbResult};
use crate::auth::request_vars::no_escape;
use crate::errtext::os_error_text;
use crate::log::Level;

/// The most a request (user, password, timestamp) may be, per the checkpassword interface.
const MAX_REQUEST_LEN: usize = 512;
/// The most we read back from the reply helper.
const MAX_REPLY_LEN: usize = 64 * 1024;
pub const REPLY_BINARY: &str = "cote-checkpassword-reply";

/// Where the reply helper is: beside the running binary (or one directory up, where cargo
/// puts test binaries in `deps/`).
pub fn reply_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let beside = dir.join(REPLY_BINARY);
    if beside.exists() {
        return beside;
    }
    match dir.parent() {
        Some(up) if up.join(REPLY_BINARY).exists() => up.join(REPLY_BINARY),
        _ => beside,
    }
}

/// How the program ended.
enum Outcome {
    Ok(Vec<String>),
    Failure,
    InternalFailure,
}

struct Checkpassword {
    command: String,
}

impl Checkpassword {
    fn new(args: &str, kind: &str) -> Result<Checkpassword, String> {
        if args.trim().is_empty() {
            return Err(format!("{kind} checkpassword: Missing args"));
        }
        Ok(Checkpassword {
            command: args.trim().to_string(),
        })
    }

    fn environment(request: &AuthRequest, password: Option<&str>) -> Vec<(String, String)> {
        let mut env = vec![
            ("PROTO".to_string(), "TCP".to_string()),
            ("ORIG_UID".to_string(), nix::unistd::getuid().to_string()),
            ("SERVICE".to_string(), request.service.clone()),
        ];
        if let Some(ip) = request.local_ip {
            env.push(("TCPLOCALIP".into(), ip.to_string()));
            env.push(("LOCAL_IP".into(), ip.to_string()));
        }
        if let Some(ip) = request.remote_ip {
            env.push(("TCPREMOTEIP".into(), ip.to_string()));
            env.push(("REMOTE_IP".into(), ip.to_string()));
        }
        if request.local_port != 0 {
            env.push(("TCPLOCALPORT".into(), request.local_port.to_string()));
        }
        if request.remote_port != 0 {
            env.push(("TCPREMOTEPORT".into(), request.remote_port.to_string()));
        }
        if let Some(m) = &request.master_user {
            env.push(("MASTER_USER".into(), m.clone()));
        }
        for (k, v, _) in request.extra_fields.iter() {
            let value = if v.is_empty() { "1" } else { v };
            env.push((k.to_ascii_uppercase(), value.to_string()));
        }
        // Not the password: the environment of a process is not the place for it.
        for var in request.var_list(request.user(), no_escape) {
            if let (Some(long), Some(value)) = (var.long, var.value) {
                if !long.eq_ignore_ascii_case("password") {
                    env.push((format!("AUTH_{}", long.to_ascii_uppercase()), value));
                }
            }
        }
        if password.is_none() {
            env.push(("AUTHORIZED".into(), "1".into()));
            if let Some(scheme) = &request.wanted_credentials_scheme {
                env.push(("CREDENTIALS_LOOKUP".into(), "1".into()));
                env.push(("SCHEME".into(), scheme.clone()));
            }
        }
        env
    }

    /// Runs the program for `request`; `password` None = a lookup.
    fn call(&self, request: &AuthRequest, password: Option<&str>) -> Outcome {
        let user = request.user();
        let mut input = Vec::with_capacity(MAX_REQUEST_LEN);
        input.extend_from_slice(user.as_bytes());
        input.push(0);
        input.extend_from_slice(password.unwrap_or("").as_bytes());
        input.push(0);
        input.push(0);
        if input.len() > MAX_REQUEST_LEN {
            request.db_log_at(
                Level::Info,
                &format!(
                    "Username+password combination too long ({} bytes)",
                    input.len()
                ),
            );
            return Outcome::Failure;
        }
        let command = match request.expand(&self.command) {
            Ok(c) => c,
            Err(e) => {
                request.db_log_at(
                    Level::Error,
                    &format!("Failed to expand checkpassword_path={}: {e}", self.command),
                );
                return Outcome::InternalFailure;
            }
        };
        let reply = reply_path();
        let mut args: Vec<String> = command.split(' ').map(str::to_string).collect();
        args.push(reply.to_string_lossy().into_owned());
        request.db_log_at(Level::Debug, &format!("execute: {}", args.join(" ")));
        match run(&args, &Self::environment(request, password), &input) {
            Err(e) => {
                request.db_log_at(Level::Error, &e);
                Outcome::InternalFailure
            }
            Ok((status, output)) => self.judge(request, password.is_some(), status, output),
        }
    }

    fn judge(
        &self,
        request: &AuthRequest,
        authenticate: bool,
        status: std::process::ExitStatus,
        output: Vec<u8>,
    ) -> Outcome {
        if let Some(signal) = status.signal() {
            request.db_log_at(Level::Error, &format!("Child died with signal {signal}"));
            return Outcome::InternalFailure;
        }
        if output.contains(&0) {
            request.db_log_at(Level::Error, "NUL characters in checkpassword reply");
            return Outcome::InternalFailure;
        }
        let text = String::from_utf8_lossy(&output).into_owned();
        if text.contains('\n') {
            request.db_log_at(Level::Error, "LF characters in checkpassword reply");
            return Outcome::InternalFailure;
        }
        let code = status.code().unwrap_or(-1);
        request.db_log_at(Level::Debug, &format!("exit_status={code}"));
        let fields = || split_tabescaped(&text);
        match (authenticate, code) {
            (true, 1) => {
                request.db_log_at(Level::Info, &format!("Login failed (status={code})"));
                Outcome::Failure
            }
            (true, 0) | (false, 2) if text.is_empty() => {
                request.db_log_at(Level::Error, "Received no input");
                Outcome::InternalFailure
            }
            (true, 0) | (false, 2) => Outcome::Ok(fields()),
            (true, 2) => {
                request.db_log_at(
                    Level::Error,
                    "Child exited with status 2 (tried to use userdb-only checkpassword program for passdb?)",
                );
                Outcome::InternalFailure
            }
            (false, 3) => {
                request.db_log_at(Level::Info, "User unknown");
                Outcome::Failure
            }
            _ => {
                request.db_log_at(Level::Error, &format!("Child exited with status {code}"));
                Outcome::InternalFailure
            }
        }
    }
}

/// Runs `args` with `input` on fd 3 and collects fd 4.
fn run(
    args: &[String],
    env: &[(String, String)],
    input: &[u8],
) -> Result<(std::process::ExitStatus, Vec<u8>), String> {
    // Close-on-exec: the child must not inherit the parent's ends (it would never see EOF on
    // fd 3), nor may children spawned by other threads at the same time.
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| format!("pipe() failed: {}", e.desc()))
    };
    let (to_child_r, to_child_w) = pipe()?;
    let (from_child_r, from_child_w) = pipe()?;
    let (fd3, fd4) = (to_child_r.as_raw_fd(), from_child_w.as_raw_fd());
    let mut command = Command::new(&args[0]);
    command
        .args(&args[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: only fcntl and dup2 (async-signal-safe) between fork and exec. Every pipe end
    // is close-on-exec; the two the program gets are moved to 3 and 4 by copies that are not
    // (a pipe end that already has number 3 or 4 is moved out of the way first, and one that
    // is in place just loses the flag, which dup2 onto itself would not clear).
    unsafe {
        command.pre_exec(move || {
            let (mut a, mut b) = (fd3, fd4);
            if a == 4 {
                a = libc::fcntl(a, libc::F_DUPFD_CLOEXEC, 5);
            }
            if b == 3 {
                b = libc::fcntl(b, libc::F_DUPFD_CLOEXEC, 5);
            }
            for (fd, target) in [(a, 3), (b, 4)] {
                let ret = if fd == target {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else if fd < 0 {
                    -1
                } else {
                    libc::dup2(fd, target)
                };
                if ret < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("execv({}) failed: {}", args[0], os_error_text(&e)))?;
    drop(to_child_r);
    drop(from_child_w);
    let mut writer = std::fs::File::from(to_child_w);
    // The program may exit without reading; EPIPE then is not our error.
    let _ = writer.write_all(input);
    drop(writer);
    let reader = std::fs::File::from(from_child_r);
    let mut output = Vec::new();
    let read = reader.take(MAX_REPLY_LEN as u64).read_to_end(&mut output);
    let status = child
        .wait()
        .map_err(|e| format!("waitpid() failed: {}", os_error_text(&e)))?;
    read.map_err(|e| format!("read() failed: {}", os_error_text(&e)))?;
    Ok((status, output))
}

/// `passdb { driver = checkpassword args = /path/to/program }`
pub struct CheckpasswordPassdb {
    program: Checkpassword,
}

impl CheckpasswordPassdb {
    pub fn new(args: &str) -> Result<CheckpasswordPassdb, String> {
        Ok(CheckpasswordPassdb {
            program: Checkpassword::new(args, "passdb")?,
        })
    }

    /// Sets the returned fields; returns the `password=` one.
    fn apply(request: &mut AuthRequest, fields: &[String]) -> Option<String> {
        let mut password = None;
        for field in fields {
            if let Some(p) = field.strip_prefix("password=") {
                password = Some(p.to_string());
            } else if !field.is_empty() {
                request.set_field_keyvalue(field, None);
            }
        }
        password
    }
}

impl PassdbDriver for CheckpasswordPassdb {
    fn driver(&self) -> &'static str {
        "checkpassword"
    }

    fn blocking(&self) -> bool {
        true
    }

    fn default_scheme(&self) -> &str {
        "PLAIN"
    }

    fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult {
        match self.program.call(request, Some(password)) {
            Outcome::InternalFailure => PassdbResult::InternalFailure,
            Outcome::Failure => PassdbResult::PasswordMismatch,
            Outcome::Ok(fields) => {
                if let Some(pw) = Self::apply(request, &fields) {
                    let scheme = crate::auth::scheme::StoredPassword::parse_prefixed(pw.as_bytes())
                        .map(|parsed| parsed.scheme_name().to_string());
                    match scheme {
                        Some(scheme) => request.set_field("password", &pw, Some(&scheme)),
                        None => request.db_log_at(
                            Level::Error,
                            "password field returned without {scheme} prefix",
                        ),
                    }
                }
                PassdbResult::Ok
            }
        }
    }

    fn lookup_credentials(
        &self,
        request: &mut AuthRequest,
    ) -> (PassdbResult, Option<StoredPassword>) {
        match self.program.call(request, None) {
            Outcome::InternalFailure => (PassdbResult::InternalFailure, None),
            Outcome::Failure => (PassdbResult::UserUnknown, None),
            Outcome::Ok(fields) => {
                let password = Self::apply(request, &fields);
                let wanted = request
                    .wanted_credentials_scheme
                    .clone()
                    .unwrap_or_default();
                (
                    PassdbResult::Ok,
                    password.map(|p| StoredPassword::parse(&p, &wanted)),
                )
            }
        }
    }
}

/// `userdb { driver = checkpassword args = /path/to/program }`
pub struct CheckpasswordUserdb {
    program: Checkpassword,
}

impl CheckpasswordUserdb {
    pub fn new(args: &str) -> Result<CheckpasswordUserdb, String> {
        Ok(CheckpasswordUserdb {
            program: Checkpassword::new(args, "userdb")?,
        })
    }
}

impl UserdbDriver for CheckpasswordUserdb {
    fn driver(&self) -> &'static str {
        "checkpassword"
    }

    fn blocking(&self) -> bool {
        true
    }

    fn lookup(&self, request: &mut AuthRequest) -> UserdbResult {
        match self.program.call(request, None) {
            Outcome::InternalFailure => UserdbResult::InternalFailure,
            Outcome::Failure => UserdbResult::UserUnknown,
            Outcome::Ok(fields) => {
                for field in fields.iter().filter(|f| !f.is_empty()) {
                    let (k, v) = crate::auth::fields::split_key_value(field);
                    match k.strip_prefix("userdb_") {
                        Some(userdb_key) => request.set_userdb_field(userdb_key, v),
                        None => request.set_field(k, v, None),
                    }
                }
                UserdbResult::Ok
            }
        }
    }
}

/// The reply helper (`cote-checkpassword-reply`), Dovecot's checkpassword-reply: writes
/// `user=`, `userdb_home=`, the variables named in `EXTRA`, and `userdb_uid`/`userdb_gid` to
/// fd 4; returns the exit code.
pub fn reply_main() -> i32 {
    let env = |k: &str| std::env::var(k).ok();
    let orig_uid = env("ORIG_UID").and_then(|v| v.parse::<u32>().ok());
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let setuid_binary = nix::unistd::getuid() != nix::unistd::geteuid()
        || nix::unistd::getgid() != nix::unistd::getegid();
    // If the program changed uid, other processes of that uid could ptrace us and write
    // anything to fd 4: refuse unless told it's fine.
    if env("INSECURE_SETUID").is_none() && orig_uid != Some(uid) && !setuid_binary {
        let msg = if env("ORIG_UID").is_none() {
            "checkpassword: ORIG_UID environment was dropped by checkpassword. Can't verify if we're safe to run."
        } else {
            "checkpassword: The checkpassword couldn't be run securely."
        };
        eprintln!("Error: {msg}");
        return 111;
    }
    let escape = crate::auth::fields::tab_escape;
    let mut out = String::new();
    if let Some(user) = env("USER") {
        if user.contains('\t') {
            eprintln!("Error: checkpassword: USER contains TAB");
            return 1;
        }
        out.push_str(&format!("user={}\t", escape(&user)));
    }
    if let Some(home) = env("HOME") {
        if home.contains('\t') {
            eprintln!("Error: checkpassword: HOME contains TAB");
            return 1;
        }
        out.push_str(&format!("userdb_home={}\t", escape(&home)));
    }
    let (mut uid_found, mut gid_found) = (false, false);
    if let Some(extra) = env("EXTRA") {
        for name in extra.split(' ').filter(|n| !n.is_empty()) {
            if let Some(value) = env(name) {
                let key = name.to_ascii_lowercase();
                uid_found |= key == "userdb_uid";
                gid_found |= key == "userdb_gid";
                out.push_str(&format!("{}={}\t", escape(&key), escape(&value)));
            }
        }
    }
    if !uid_found {
        out.push_str(&format!("userdb_uid={uid}\t"));
    }
    if !gid_found {
        out.push_str(&format!("userdb_gid={gid}\t"));
    }
    // SAFETY: fd 4 is the pipe the auth process gave us; File takes it over for the write.
    let mut fd4 = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(4) };
    if let Err(e) = fd4.write_all(out.as_bytes()) {
        eprintln!(
            "Error: checkpassword: write_full() failed: {}",
            os_error_text(&e)
        );
        return 111;
    }
    match env("AUTHORIZED").as_deref() {
        None => 0,
        Some("2") => 2,
        Some(_) => {
            eprintln!("Error: checkpassword: Script doesn't support passdb/userdb lookup");
            111
        }
    }
}
