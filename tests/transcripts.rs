//! Runs every transcript under `t/` against a live `cote` (format: `t/README`).
//!
//! A custom harness (`harness = false`): transcripts are files, found at run time. Arguments
//! that don't start with `-` filter by path substring, like libtest's filter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

#[path = "transcripts/replay.rs"]
mod replay;
#[path = "session_cases/mod.rs"]
mod session_cases;
#[path = "tls_support/mod.rs"]
mod tls_support;
use tls_support::write_test_cert;
#[path = "port_support/mod.rs"]
mod port_support;
use port_support::free_port;

const LINE_TIMEOUT: Duration = Duration::from_secs(10);
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Protocol name in `@connect` → (service, inet_listener) in the configuration.
const LISTENERS: &[(&str, &str, &str)] = &[
    ("imap", "imap-login", "imap"),
    ("imaps", "imap-login", "imaps"),
    ("pop3", "pop3-login", "pop3"),
    ("pop3s", "pop3-login", "pop3s"),
    ("lmtp", "lmtp", "lmtp"),
];

/// Listeners whose clients start TLS at once.
const IMPLICIT_TLS: &[&str] = &["imaps", "pop3s"];

/// The users of the template's passwd-file (passdb and userdb); `{root}` is the server's
/// directory.
const USERS: &str = "\
alice:{PLAIN}secret:1000:1000::{root}/home/alice
bob:{PLAIN}hunter2:1001:1001::{root}/home/bob
";

// ---------------------------------------------------------------------------------------------
// Transcript files

#[derive(Debug)]
enum Step {
    Connect {
        proto: String,
        name: String,
        from: Option<Ipv4Addr>,
    },
    StartTls,
    /// Deflate both directions from here on (COMPRESS=DEFLATE, RFC 4978).
    Compress,
    Use(String),
    Send(Vec<u8>),
    Expect(String),
    Close,
    Eof,
    Sleep(Duration),
}

#[derive(Debug)]
struct Transcript {
    path: PathBuf,
    config: Vec<String>,
    /// Each step with its line number in the file.
    steps: Vec<(usize, Step)>,
}

fn parse_transcript(path: &Path) -> Result<Transcript, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut config = Vec::new();
    let mut steps = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let err = |msg: &str| format!("{}:{lineno}: {msg}", path.display());
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let step = if let Some(rest) = line.strip_prefix("C:") {
            let mut bytes = strip_one_space(rest).as_bytes().to_vec();
            bytes.extend_from_slice(b"\r\n");
            Step::Send(bytes)
        } else if let Some(rest) = line.strip_prefix("S:") {
            Step::Expect(strip_one_space(rest).to_string())
        } else if let Some(rest) = line.strip_prefix('@') {
            let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let args = args.trim();
            match word {
                "config" => {
                    if !steps.is_empty() {
                        return Err(err("@config must come before the first @connect"));
                    }
                    config.push(args.to_string());
                    continue;
                }
                "connect" => {
                    let mut words: Vec<&str> = args.split_whitespace().collect();
                    let mut from = None;
                    if let Some(at) = words.iter().position(|w| *w == "from") {
                        let ip = words
                            .get(at + 1)
                            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                            .filter(|ip| ip.is_loopback())
                            .ok_or_else(|| err("@connect ... from IP: a 127.0.0.0/8 address"))?;
                        from = Some(ip);
                        words.truncate(at);
                    }
                    let mut words = words.into_iter();
                    let proto = words.next().unwrap_or("imap").to_string();
                    if !LISTENERS.iter().any(|(p, _, _)| *p == proto) {
                        return Err(err(&format!("unknown protocol {proto:?}")));
                    }
                    let name = words.next().unwrap_or(&proto).to_string();
                    Step::Connect { proto, name, from }
                }
                "starttls" => Step::StartTls,
                "compress" => Step::Compress,
                "use" => Step::Use(args.to_string()),
                "send" => Step::Send(unescape(args).map_err(|e| err(&e))?),
                "repeat" => {
                    let (count, bytes) = args
                        .split_once(char::is_whitespace)
                        .ok_or_else(|| err("@repeat N \"bytes\""))?;
                    let count: usize = count.parse().map_err(|_| err("@repeat: bad count"))?;
                    Step::Send(unescape(bytes.trim()).map_err(|e| err(&e))?.repeat(count))
                }
                "close" => Step::Close,
                "eof" => Step::Eof,
                "sleep" => {
                    let ms: u64 = args.parse().map_err(|_| err("@sleep: bad milliseconds"))?;
                    Step::Sleep(Duration::from_millis(ms))
                }
                other => return Err(err(&format!("unknown directive @{other}"))),
            }
        } else {
            return Err(err("expected C:, S:, @directive or # comment"));
        };
        steps.push((lineno, step));
    }
    Ok(Transcript {
        path: path.to_path_buf(),
        config,
        steps,
    })
}

fn strip_one_space(s: &str) -> &str {
    s.strip_prefix(' ').unwrap_or(s)
}

/// `"..."` with \r \n \t \0 \\ \" \xHH escapes.
fn unescape(arg: &str) -> Result<Vec<u8>, String> {
    let inner = arg
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or("bytes must be written in double quotes")?;
    let mut out = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some('"') => out.push(b'"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16).map_err(|_| format!("bad \\x{hex}"))?;
                out.push(byte);
            }
            other => return Err(format!("unknown escape \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

/// The number a `{=NAME}` of `pattern` stands for in `line`: the digits after the literal
/// text before it (which must come before any `{*}`). `None`: no such capture.
fn capture(pattern: &str, line: &str) -> Option<(String, String)> {
    let (before, after) = pattern.split_once("{=")?;
    let (name, _) = after.split_once('}')?;
    if before.contains("{*}") {
        return None;
    }
    let rest = line.strip_prefix(before)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| (name.to_string(), digits))
}

/// `{NAME}` in `bytes` replaced by the numbers captured so far (others left alone).
fn substitute(bytes: &[u8], vars: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (name, value) in vars {
        let key = format!("{{{name}}}").into_bytes();
        while let Some(at) = out.windows(key.len()).position(|w| w == key.as_slice()) {
            out.splice(at..at + key.len(), value.bytes());
        }
    }
    out
}

/// A server line as the transcript compares it: transcripts recorded from Dovecot 2.3 have
/// no IMAP4rev2 in their capability lists, so unless `pattern` names it, cote's is taken out
/// (only that atom: any other difference still fails).
fn dovecot_form(pattern: &str, line: String) -> String {
    if pattern.contains("IMAP4rev2") {
        line
    } else {
        cote::imap::capability::as_dovecot_2_3(&line)
    }
}

/// Does `line` match `pattern`, where `{*}` matches any run of characters (and `{=NAME}`
/// a number, see [`capture`])?
fn line_matches(pattern: &str, line: &str) -> bool {
    if let Some((before, after)) = pattern.split_once("{=") {
        if let Some((_, tail)) = after.split_once('}') {
            let digits = line.strip_prefix(before).map_or(0, |rest| {
                rest.chars().take_while(char::is_ascii_digit).count()
            });
            return digits > 0 && line_matches(tail, &line[before.len() + digits..]);
        }
    }
    let mut parts = pattern.split("{*}");
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

// ---------------------------------------------------------------------------------------------
// The server under test

struct Server {
    child: Child,
    dir: tempfile::TempDir,
    ports: BTreeMap<String, u16>,
}

impl Server {
    fn start(extra_config: &[String]) -> Result<Server, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let root = dir.path();
        let mut ports = BTreeMap::new();
        let mut conf = String::new();
        let _ = writeln!(conf, "# generated by tests/transcripts.rs");
        let _ = writeln!(conf, "base_dir = {}/run", root.display());
        let _ = writeln!(conf, "state_dir = {}/lib", root.display());
        let _ = writeln!(conf, "log_path = {}/cote.log", root.display());
        let _ = writeln!(conf, "listen = 127.0.0.1");
        let _ = writeln!(conf, "protocols = imap");
        let _ = writeln!(conf, "ssl = yes");
        let _ = writeln!(conf, "ssl_cert = <{}/cert.pem", root.display());
        let _ = writeln!(conf, "ssl_key = <{}/key.pem", root.display());
        let _ = writeln!(
            conf,
            "auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256"
        );
        let _ = writeln!(conf, "auth_failure_delay = 1 secs");
        let _ = writeln!(conf, "mail_location = maildir:{}/mail/%u", root.display());
        for db in ["passdb", "userdb"] {
            let _ = writeln!(conf, "{db} {{");
            let _ = writeln!(conf, "  driver = passwd-file");
            let _ = writeln!(conf, "  args = {}/users", root.display());
            let _ = writeln!(conf, "}}");
        }
        write_test_cert(root).map_err(|e| format!("test certificate: {e}"))?;
        let users = USERS.replace("{root}", &root.display().to_string());
        fs::write(root.join("users"), users).map_err(|e| format!("users: {e}"))?;
        // Started as root, the auth service reads the users file as its own user; mail
        // processes run as the users, each making its own directories.
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root, fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("chmod: {e}"))?;
        for dir in ["mail", "home"] {
            fs::create_dir(root.join(dir)).map_err(|e| format!("mkdir {dir}: {e}"))?;
            fs::set_permissions(root.join(dir), fs::Permissions::from_mode(0o1777))
                .map_err(|e| format!("chmod {dir}: {e}"))?;
        }
        for (proto, service, listener) in LISTENERS {
            let port = free_port();
            ports.insert(proto.to_string(), port);
            let _ = writeln!(conf, "service {service} {{");
            let _ = writeln!(conf, "  inet_listener {listener} {{");
            let _ = writeln!(conf, "    port = {port}");
            let _ = writeln!(conf, "  }}");
            let _ = writeln!(conf, "}}");
        }
        for line in extra_config {
            let _ = writeln!(
                conf,
                "{}",
                line.replace("{root}", &root.display().to_string())
            );
        }
        let conf_path = root.join("cote.conf");
        fs::write(&conf_path, conf).map_err(|e| format!("write config: {e}"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_cote"))
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                fs::File::create(root.join("stderr")).map_err(|e| format!("stderr file: {e}"))?,
            ))
            .spawn()
            .map_err(|e| format!("start cote: {e}"))?;
        let mut server = Server { child, dir, ports };
        server.wait_ready()?;
        Ok(server)
    }

    /// Wait until the IMAP listener accepts, or the server dies.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let port = self.ports["imap"];
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("cote exited at startup ({status}){}", self.logs()));
            }
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("cote did not open port {port}{}", self.logs()));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every user's mail and home directory removed: each transcript starts with none.
    fn fresh_mail(&self) -> Result<(), String> {
        for dir in ["mail", "home"] {
            let dir = self.dir.path().join(dir);
            for entry in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
                let path = entry.map_err(|e| e.to_string())?.path();
                fs::remove_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
        Ok(())
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["stderr", "cote.log"] {
            if let Ok(text) = fs::read_to_string(self.dir.path().join(name)) {
                let _ = write!(out, "\n--- {name} ---\n{text}");
            }
        }
        out
    }

    fn stop(mut self) {
        // SIGTERM by pid, then SIGKILL if it does not go within 10 seconds.
        let pid = self.child.id() as libc::pid_t;
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Playing a transcript

/// The client side of a connection: plain, or TLS after `@starttls` / on `imaps`, and
/// deflated after `@compress`.
enum Io {
    Plain(TcpStream),
    Tls(Box<openssl::ssl::SslStream<TcpStream>>),
    Deflate(Box<Deflated>),
}

/// Raw deflate over another `Io`: every write is sync-flushed, as a COMPRESS client does.
struct Deflated {
    io: Io,
    inflate: flate2::Decompress,
    deflate: flate2::Compress,
    /// Inflated bytes not read yet: `output[pos..]`.
    output: Vec<u8>,
    pos: usize,
}

impl Deflated {
    fn new(io: Io) -> Deflated {
        Deflated {
            io,
            inflate: flate2::Decompress::new(false),
            deflate: flate2::Compress::new(flate2::Compression::default(), false),
            output: Vec::new(),
            pos: 0,
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Read;
        while self.pos == self.output.len() {
            let mut chunk = [0u8; 16384];
            let n = self.io.read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            self.output.clear();
            self.pos = 0;
            let mut used = 0;
            while used < n {
                self.output.reserve(64 * 1024);
                let before = self.inflate.total_in();
                self.inflate
                    .decompress_vec(
                        &chunk[used..n],
                        &mut self.output,
                        flate2::FlushDecompress::Sync,
                    )
                    .map_err(|e| std::io::Error::other(format!("inflate: {e}")))?;
                let consumed = (self.inflate.total_in() - before) as usize;
                if consumed == 0 && self.output.len() < self.output.capacity() {
                    return Err(std::io::Error::other("inflate: no progress"));
                }
                used += consumed;
            }
        }
        let n = buf.len().min(self.output.len() - self.pos);
        buf[..n].copy_from_slice(&self.output[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }

    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 64);
        let mut used = 0;
        loop {
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(&buf[used..], &mut out, flate2::FlushCompress::Sync)
                .map_err(|e| std::io::Error::other(format!("deflate: {e}")))?;
            used += (self.deflate.total_in() - before) as usize;
            if used == buf.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(1024);
        }
        self.io.write_all(&out)?;
        Ok(buf.len())
    }
}

impl std::io::Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.read(buf),
            Io::Deflate(d) => d.read(buf),
            Io::Tls(s) => match s.ssl_read(buf) {
                Ok(n) => Ok(n),
                Err(e) if e.code() == openssl::ssl::ErrorCode::ZERO_RETURN => Ok(0),
                Err(e)
                    if e.code() == openssl::ssl::ErrorCode::SYSCALL && e.io_error().is_none() =>
                {
                    Ok(0)
                }
                Err(e) => Err(e
                    .into_io_error()
                    .unwrap_or_else(|e| std::io::Error::other(e.to_string()))),
            },
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Plain(s) => s.write(buf),
            Io::Tls(s) => s.write(buf),
            Io::Deflate(d) => d.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Plain(s) => s.flush(),
            Io::Tls(s) => s.flush(),
            Io::Deflate(d) => d.io.flush(),
        }
    }
}

impl Io {
    fn tcp(&self) -> &TcpStream {
        match self {
            Io::Plain(s) => s,
            Io::Tls(s) => s.get_ref(),
            Io::Deflate(d) => d.io.tcp(),
        }
    }
}

/// A TLS client that takes any certificate (the server's is self-signed).
fn tls_connect(stream: TcpStream) -> Result<Io, String> {
    use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    builder.set_verify(SslVerifyMode::NONE);
    let connector = builder.build();
    connector
        .configure()
        .map_err(|e| e.to_string())?
        .verify_hostname(false)
        .connect("localhost", stream)
        .map(|s| Io::Tls(Box::new(s)))
        .map_err(|e| format!("TLS handshake: {e}"))
}

struct Connection {
    reader: BufReader<Io>,
    closed: bool,
}

impl Connection {
    fn writer(&mut self) -> &mut Io {
        self.reader.get_mut()
    }
}

fn play(t: &Transcript, server: &Server) -> Result<(), String> {
    let mut conns: BTreeMap<String, Connection> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut log = String::new();
    // Numbers captured with `{=NAME}` in S: lines, sent where C: lines say `{NAME}`.
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (lineno, step) in &t.steps {
        let fail = |msg: String, log: &str| {
            format!(
                "{}:{lineno}: {msg}\n--- conversation so far ---\n{log}",
                t.path.display()
            )
        };
        if let Step::Connect { proto, name, from } = step {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, server.ports[proto.as_str()]));
            let stream = connect_from(*from, addr)
                .map_err(|e| fail(format!("connect {proto}: {e}"), &log))?;
            stream
                .set_read_timeout(Some(LINE_TIMEOUT))
                .map_err(|e| fail(e.to_string(), &log))?;
            let io = if IMPLICIT_TLS.contains(&proto.as_str()) {
                tls_connect(stream).map_err(|e| fail(e, &log))?
            } else {
                Io::Plain(stream)
            };
            let _ = writeln!(log, "[{name}: connected to {proto}]");
            conns.insert(
                name.clone(),
                Connection {
                    reader: BufReader::new(io),
                    closed: false,
                },
            );
            current = Some(name.clone());
            continue;
        }
        if let Step::Use(name) = step {
            if !conns.contains_key(name) {
                return Err(fail(format!("no connection named {name}"), &log));
            }
            current = Some(name.clone());
            continue;
        }
        if let Step::Sleep(d) = step {
            thread::sleep(*d);
            continue;
        }
        let Some(name) = current.clone() else {
            return Err(fail("no connection: @connect first".into(), &log));
        };
        let Some(conn) = conns.get_mut(&name) else {
            return Err(fail(format!("no connection named {name}"), &log));
        };
        match step {
            Step::StartTls => {
                if !conn.reader.buffer().is_empty() {
                    return Err(fail("unread server data before @starttls".into(), &log));
                }
                let placeholder = Io::Plain(
                    conn.reader
                        .get_ref()
                        .tcp()
                        .try_clone()
                        .map_err(|e| fail(e.to_string(), &log))?,
                );
                let io = std::mem::replace(conn.reader.get_mut(), placeholder);
                let Io::Plain(tcp) = io else {
                    return Err(fail("@starttls: TLS is already active".into(), &log));
                };
                let tls = tls_connect(tcp).map_err(|e| fail(e, &log))?;
                conn.reader = BufReader::new(tls);
                let _ = writeln!(log, "[{name}: TLS started]");
            }
            Step::Compress => {
                if !conn.reader.buffer().is_empty() {
                    return Err(fail("unread server data before @compress".into(), &log));
                }
                let placeholder = Io::Plain(
                    conn.reader
                        .get_ref()
                        .tcp()
                        .try_clone()
                        .map_err(|e| fail(e.to_string(), &log))?,
                );
                let io = std::mem::replace(conn.reader.get_mut(), placeholder);
                if matches!(io, Io::Deflate(_)) {
                    return Err(fail(
                        "@compress: compression is already active".into(),
                        &log,
                    ));
                }
                conn.reader = BufReader::new(Io::Deflate(Box::new(Deflated::new(io))));
                let _ = writeln!(log, "[{name}: compression started]");
            }
            Step::Send(bytes) => {
                let bytes = &substitute(bytes, &vars);
                let _ = writeln!(log, "C: {}", printable(bytes).trim_end_matches("\\r\\n"));
                // A server that closes while the client still sends (BYE on a flood) resets
                // the connection: that is recorded, and the next S:/@eof decides.
                if let Err(e) = conn.writer().write_all(bytes) {
                    let _ = writeln!(log, "[{name}: send failed: {e}]");
                }
            }
            Step::Expect(pattern) => match read_line(&mut conn.reader) {
                Ok(Some(line)) => {
                    let _ = writeln!(log, "S: {line}");
                    let line = dovecot_form(pattern, line);
                    if !line_matches(pattern, &line) {
                        return Err(fail(format!("expected: {pattern}\n     got: {line}"), &log));
                    }
                    if let Some((name, value)) = capture(pattern, &line) {
                        vars.insert(name, value);
                    }
                }
                Ok(None) => {
                    return Err(fail(
                        format!("expected: {pattern}\n     got: connection closed"),
                        &log,
                    ))
                }
                Err(e) => return Err(fail(format!("expected: {pattern}\n     got: {e}"), &log)),
            },
            Step::Close => {
                let _ = conn
                    .reader
                    .get_ref()
                    .tcp()
                    .shutdown(std::net::Shutdown::Both);
                conn.closed = true;
                let _ = writeln!(log, "[{name}: closed by client]");
            }
            Step::Eof => match read_line(&mut conn.reader) {
                Ok(None) => {
                    conn.closed = true;
                    let _ = writeln!(log, "[{name}: closed by server]");
                }
                Ok(Some(line)) => {
                    return Err(fail(
                        format!("expected the server to close; got: {line}"),
                        &log,
                    ))
                }
                Err(e) => {
                    return Err(fail(
                        format!("expected the server to close; got: {e}"),
                        &log,
                    ))
                }
            },
            Step::Connect { .. } | Step::Use(_) | Step::Sleep(_) => {}
        }
    }
    // Nothing the server said may go unchecked.
    for (name, conn) in conns.iter_mut().filter(|(_, c)| !c.closed) {
        let _ = conn
            .reader
            .get_ref()
            .tcp()
            .set_read_timeout(Some(Duration::from_millis(200)));
        if let Ok(Some(line)) = read_line(&mut conn.reader) {
            return Err(format!(
                "{}: at the end, connection {name} has an unexpected line: {line}\n--- conversation ---\n{log}",
                t.path.display()
            ));
        }
    }
    Ok(())
}

/// A connection to `addr` from the loopback address `from` (Dovecot treats 127.0.0.2 →
/// 127.0.0.1 as not secured).
fn connect_from(from: Option<Ipv4Addr>, addr: SocketAddr) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    let Some(from) = from else {
        return TcpStream::connect_timeout(&addr, LINE_TIMEOUT);
    };
    // SAFETY: a new socket; bind and connect with valid sockaddr_in structures.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(ip.octets()),
            },
            sin_zero: [0; 8],
        };
        let local = sockaddr(from, 0);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let SocketAddr::V4(v4) = addr else {
            return Err(std::io::Error::other("IPv4 only"));
        };
        let remote = sockaddr(*v4.ip(), v4.port());
        if libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// One server line without its CRLF; `None` at EOF.
fn read_line(reader: &mut BufReader<Io>) -> Result<Option<String>, String> {
    let mut buf = Vec::new();
    match reader.read_until(b'\n', &mut buf) {
        Ok(0) => Ok(None),
        Ok(_) => {
            if buf.ends_with(b"\n") {
                buf.pop();
                if buf.ends_with(b"\r") {
                    buf.pop();
                }
            }
            Ok(Some(printable(&buf)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(None),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// Bytes as text, with anything unprintable escaped.
fn printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                c if c.is_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

fn find_transcripts(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            find_transcripts(&path, out);
        } else if path.extension().is_some_and(|e| e == "t") {
            out.push(path);
        }
    }
}

/// The runner's own pattern and escape rules, checked before anything relies on them.
fn self_check() {
    assert!(line_matches(
        "* OK {*} ready.",
        "* OK [CAPABILITY X] ready."
    ));
    assert!(line_matches("a {*}", "a "));
    assert!(line_matches("{*}x{*}", "axb"));
    assert!(!line_matches("a OK", "a OK extra"));
    assert!(!line_matches("{*}ab{*}ab", "ab"));
    assert!(line_matches(
        "* OK [UIDVALIDITY {=uv}] {*}",
        "* OK [UIDVALIDITY 17] UIDs"
    ));
    assert!(!line_matches(
        "* OK [UIDVALIDITY {=uv}] {*}",
        "* OK [UIDVALIDITY x] UIDs"
    ));
    let (name, value) = capture("* OK [X {=uv}]", "* OK [X 17]").unwrap();
    let vars = BTreeMap::from([(name, value)]);
    assert_eq!(
        substitute(b"a (QRESYNC ({uv} 2)) {5+}", &vars),
        b"a (QRESYNC (17 2)) {5+}"
    );
    replay::self_check();
    assert_eq!(unescape(r#""a\r\x00\"""#).ok(), Some(b"a\r\0\"".to_vec()));
    assert!(unescape("no quotes").is_err());
}

fn main() -> ExitCode {
    self_check();
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("t");
    let mut paths = Vec::new();
    find_transcripts(&root, &mut paths);
    paths.sort();
    paths.retain(|p| {
        let shown = p.strip_prefix(&root).unwrap_or(p).display().to_string();
        filters.is_empty() || filters.iter().any(|f| shown.contains(f.as_str()))
    });

    let mut failures = Vec::new();
    // Transcripts with the same configuration share one server.
    let mut groups: BTreeMap<Vec<String>, Vec<Transcript>> = BTreeMap::new();
    for path in &paths {
        match parse_transcript(path) {
            Ok(t) => groups.entry(t.config.clone()).or_default().push(t),
            Err(e) => failures.push(e),
        }
    }
    let mut passed = 0;
    for (config, transcripts) in groups {
        let server = match Server::start(&config) {
            Ok(s) => s,
            Err(e) => {
                for t in &transcripts {
                    println!("transcript {} ... FAILED", t.path.display());
                }
                failures.push(format!("server for {:?}: {e}", config));
                continue;
            }
        };
        for t in &transcripts {
            let shown = t.path.strip_prefix(&root).unwrap_or(&t.path).display();
            if let Err(e) = server.fresh_mail() {
                failures.push(format!("{shown}: {e}"));
                continue;
            }
            match play(t, &server) {
                Ok(()) => {
                    passed += 1;
                    println!("transcript {shown} ... ok");
                }
                Err(e) => {
                    println!("transcript {shown} ... FAILED");
                    failures.push(format!("{e}{}", server.logs()));
                }
            }
        }
        server.stop();
    }
    // Dovecot's recorded session cases: `session` (or a part of `imap/session`) runs all,
    // `session:NAME` those whose name contains NAME.
    let case_filters: Vec<String> = filters
        .iter()
        .filter_map(|f| f.strip_prefix("session:").map(str::to_string))
        .collect();
    let replay_all =
        filters.is_empty() || filters.iter().any(|f| "imap/session".contains(f.as_str()));
    if replay_all || !case_filters.is_empty() {
        let config: Vec<String> = replay::CONFIG.iter().map(|l| l.to_string()).collect();
        match Server::start(&config) {
            Ok(server) => {
                let (ok, failed, _) = replay::replay(&server, &case_filters);
                passed += ok;
                for f in failed {
                    failures.push(format!("{f}{}", server.logs()));
                }
                server.stop();
            }
            Err(e) => failures.push(format!("server for the session cases: {e}")),
        }
    }
    for f in &failures {
        println!("\n---- failure ----\n{f}");
    }
    println!("\ntranscripts: {passed} passed; {} failed", failures.len());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
