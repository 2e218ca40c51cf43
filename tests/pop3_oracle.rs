//! POP3 against the oracle: one dovecot.conf, run by cote and by a private Dovecot 2.3 on the
//! same Maildir, the same conversations sent to both, and every reply compared byte for byte
//! (the APOP challenge in the greeting aside). UIDLs must be equal: a changed UIDL makes every
//! POP3 client download the whole mailbox again.
//!
//! Needs root (both servers drop privileges to uid 1000) and the unpacked Debian Dovecot
//! (`make oracle`).

mod maildir_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use maildir_support::{chown_tree, free_port, oracle_root, MAIL_UID};

const LINE_TIMEOUT: Duration = Duration::from_secs(20);

/// The messages every test mailbox starts with: file name (in `new/`), content.
const MESSAGES: &[(&str, &[u8])] = &[
    (
        "1700000000.M1P1.host,S=67,W=75",
        b"From: a@example.com\nSubject: one\n\nhello\n.dot line\n..two dots\n.\nbye\n",
    ),
    (
        "1700000001.M2P2.host",
        b"From: b@example.com\r\nSubject: crlf\r\n\r\nline one\r\nline two\r\n",
    ),
    (
        "1700000002.M3P3.host",
        b"Subject: no final newline\n\nlast line",
    ),
    (
        "1700000003.M4P4.host",
        b"Subject: four\nX-UIDL: shared-uidl\n\nbody four\n",
    ),
    (
        "1700000004.M5P5.host",
        b"Subject: five\nX-UIDL:   shared-uidl \n\nbody five\n",
    ),
    (
        "1700000005.M6P6.host",
        b"Subject: long\n\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
    ),
    ("1700000006.M7P7.host", b"Subject: nul\n\nbefore\0after\n"),
];

/// One of the two servers.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// cote and Dovecot, each from the same configuration, on one mail tree.
struct Pair {
    dir: tempfile::TempDir,
    cote: Server,
    dovecot: Server,
}

impl Pair {
    fn start() -> Pair {
        let oracle = oracle_root();
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::create_dir(d.join("mail")).unwrap();
        chown_tree(&d.join("mail"));
        let start = |name: &str, program: &mut Command| -> Server {
            let port = free_port();
            let conf = config(d, name, port);
            let path = d.join(format!("{name}.conf"));
            std::fs::write(&path, conf).unwrap();
            let child = program
                .arg("-F")
                .arg("-c")
                .arg(&path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(d.join(format!("{name}.stderr"))).unwrap(),
                ))
                .spawn()
                .unwrap_or_else(|e| panic!("start {name}: {e}"));
            let server = Server {
                child,
                port,
                log: d.join(format!("{name}.log")),
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "{name} did not listen on {port}:\n{}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
            server
        };
        let cote = start("cote", &mut Command::new(env!("CARGO_BIN_EXE_cote")));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
        let dovecot = start(
            "dovecot",
            Command::new(script)
                .arg("dovecot")
                .env("COTE_DOVECOT_ROOT", &oracle),
        );
        Pair { dir, cote, dovecot }
    }

    /// A user's Maildir with [`MESSAGES`] in `new/`.
    fn mailbox(&self, user: &str) {
        let root = self.dir.path().join("mail").join(user);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        for (name, data) in MESSAGES {
            std::fs::write(root.join("new").join(name), data).unwrap();
        }
        chown_tree(&root);
    }

    fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- cote log ---\n{}\n--- dovecot log ---\n{}",
            read(&self.cote.log),
            read(&self.dovecot.log)
        )
    }

    /// The same conversation with both servers (cote first), compared.
    fn same(&self, user: &str, from: Ipv4Addr, commands: &[&str]) -> Vec<String> {
        let cote = converse(self.cote.port, from, user, commands);
        let dovecot = converse(self.dovecot.port, from, user, commands);
        assert_eq!(
            cote,
            dovecot,
            "cote (left) and Dovecot (right) answered differently\n{}",
            self.logs()
        );
        cote
    }
}

/// The configuration both servers run: POP3 only, a static passdb (password `pw`), Maildir
/// under the temp dir; other settings for clients from 127.0.0.2 to 127.0.0.7.
fn config(d: &Path, name: &str, port: u16) -> String {
    let d = d.display();
    format!(
        "base_dir = {d}/{name}-run\nstate_dir = {d}/{name}-lib\nlog_path = {d}/{name}.log\n\
         listen = 127.0.0.1\nprotocols = pop3\nssl = no\ndisable_plaintext_auth = no\n\
         auth_mechanisms = plain login apop\n\
         mail_location = maildir:{d}/mail/%u\n\
         mail_uid = {MAIL_UID}\nmail_gid = {MAIL_UID}\nfirst_valid_uid = {MAIL_UID}\n\
         passdb {{\n  driver = static\n  args = password=pw\n}}\n\
         userdb {{\n  driver = static\n  args = uid={MAIL_UID} gid={MAIL_UID} home={d}/mail/%u\n}}\n\
         service pop3-login {{\n  chroot =\n  inet_listener pop3 {{\n    port = {port}\n  }}\n  \
         inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
         service anvil {{\n  chroot =\n}}\n\
         remote 127.0.0.2 {{\n  pop3_uidl_format = %v.%u:%f:%g\n}}\n\
         remote 127.0.0.3 {{\n  pop3_reuse_xuidl = yes\n  pop3_uidl_duplicates = rename\n  \
         pop3_enable_last = yes\n  pop3_uidl_format = %08Xv%08Xu\n}}\n\
         remote 127.0.0.4 {{\n  pop3_deleted_flag = \"$POP3Deleted\"\n  pop3_delete_type = flag\n}}\n\
         remote 127.0.0.5 {{\n  pop3_save_uidl = yes\n  pop3_uidl_format = %f\n}}\n\
         remote 127.0.0.6 {{\n  pop3_lock_session = yes\n}}\n\
         remote 127.0.0.8 {{\n  pop3_fast_size_lookups = yes\n}}\n\
         remote 127.0.0.7 {{\n  pop3_uidl_format = %f\n  pop3_logout_format = \
         %{{uidl_change}} top=%t/%p retr=%r/%b del=%d/%m/%{{deleted_bytes}} size=%s user=%u\n}}\n"
    )
}

/// A connection to `port` from the loopback address `from`.
fn connect_from(from: Ipv4Addr, port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    if from == Ipv4Addr::LOCALHOST {
        return TcpStream::connect(addr).expect("connect");
    }
    // SAFETY: a new socket, bound and connected with valid sockaddr_in structures.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let stream = TcpStream::from_raw_fd(fd);
        let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(ip.octets()),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sockaddr(from, 0);
        assert_eq!(
            libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len),
            0
        );
        let remote = sockaddr(Ipv4Addr::LOCALHOST, port);
        assert_eq!(
            libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len),
            0,
            "connect: {}",
            std::io::Error::last_os_error()
        );
        stream
    }
}

/// Whether the answer to `command` is multi-line when it is `+OK`.
fn multi_line(command: &str) -> bool {
    let mut words = command.split(' ');
    let name = words.next().unwrap_or("").to_ascii_uppercase();
    let has_arg = words.next().is_some_and(|w| !w.is_empty());
    match name.as_str() {
        "CAPA" | "RETR" | "TOP" => true,
        "LIST" | "UIDL" | "AUTH" => !has_arg,
        _ => false,
    }
}

/// Logs in as `user` (USER/PASS, or APOP when the first command is `APOP`), sends
/// `commands` and returns every line of the conversation. `APOP` is sent with the digest of
/// the greeting's challenge and `pw`; `DROP` closes the connection without QUIT.
fn converse(port: u16, from: Ipv4Addr, user: &str, commands: &[&str]) -> Vec<String> {
    let stream = connect_from(from, port);
    stream.set_read_timeout(Some(LINE_TIMEOUT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut out = Vec::new();
    let mut read_line = |out: &mut Vec<String>| -> Option<String> {
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => {
                out.push("<closed>".into());
                None
            }
            Ok(_) => {
                assert!(buf.ends_with(b"\r\n"), "line without CRLF: {buf:?}");
                buf.truncate(buf.len() - 2);
                let line = String::from_utf8_lossy(&buf).into_owned();
                out.push(line.clone());
                Some(line)
            }
            // A server that closed with our command unread resets the connection.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                out.push("<closed>".into());
                None
            }
            Err(e) => panic!("read: {e}; so far: {out:?}"),
        }
    };
    let greeting = read_line(&mut out).expect("greeting");
    let challenge = greeting
        .find('<')
        .map(|at| greeting[at..].to_string())
        .unwrap_or_default();
    // The challenge differs by nature: only its presence is compared.
    if let Some(last) = out.last_mut() {
        if let Some(at) = last.find(" <") {
            last.truncate(at);
            last.push_str(" <challenge>");
        }
    }
    let login = [format!("USER {user}"), "PASS pw".to_string()];
    let mut all: Vec<String> = Vec::new();
    if commands.first() != Some(&"APOP") {
        all.extend(login);
    }
    all.extend(commands.iter().map(|c| c.to_string()));
    for command in &all {
        if command == "DROP" {
            return out;
        }
        let wire = if command == "APOP" {
            use md5::{Digest, Md5};
            let digest = Md5::digest(format!("{challenge}pw").as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("APOP {user} {hex}")
        } else {
            command.clone()
        };
        out.push(format!("C: {command}"));
        writer
            .write_all(format!("{wire}\r\n").as_bytes())
            .expect("send");
        let Some(first) = read_line(&mut out) else {
            return out;
        };
        if first.starts_with("+OK") && multi_line(command) {
            while read_line(&mut out).is_some_and(|l| l != ".") {}
        }
    }
    out
}

/// The message file names in a user's `cur/` and `new/`, without their flags.
fn files(pair: &Pair, user: &str) -> Vec<String> {
    let root = pair.dir.path().join("mail").join(user);
    let mut names: Vec<String> = ["cur", "new"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(root.join(sub)).unwrap())
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.split(':').next().unwrap_or_default().to_string()
        })
        .collect();
    names.sort();
    names
}

const LOCAL: Ipv4Addr = Ipv4Addr::LOCALHOST;
const FORMAT_ALL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const XUIDL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const DELETE_FLAG: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);
const SAVE_UIDL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);
const LOCK_SESSION: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 6);
const LOGOUT_FORMAT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 7);
const FAST_SIZES: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 8);

/// Reading commands, their errors, and UIDLs in three formats, on a mailbox Dovecot indexed
/// first (alice) and one cote indexed first (bob).
#[test]
fn transaction_state_matches_dovecot() {
    let pair = Pair::start();
    pair.mailbox("alice");
    pair.mailbox("bob");
    // Each mailbox is first opened by one server alone: its uidlist, then both read it.
    converse(pair.dovecot.port, LOCAL, "alice", &["QUIT"]);
    converse(pair.cote.port, LOCAL, "bob", &["QUIT"]);
    let reading = [
        "CAPA",
        "STAT",
        "LIST",
        "LIST 3",
        "UIDL",
        "UIDL 2",
        "RETR 1",
        "RETR 2",
        "RETR 3",
        "RETR 7",
        "TOP 1 0",
        "TOP 1 1",
        "TOP 6 3",
        "TOP 6 100",
        "TOP 2 0",
        "NOOP",
        "list 0",
        "LIST 8",
        "LIST x",
        "LIST 1x",
        "LIST 1 2",
        "LIST 99999999999",
        "TOP 1",
        "TOP 1 x",
        "TOP 1 2 3",
        "RETR",
        "UIDL 0",
        "XYZZY",
        "",
        "LAST",
        "RSET",
        "STAT",
        "QUIT",
    ];
    for user in ["alice", "bob"] {
        let out = pair.same(user, LOCAL, &reading);
        assert!(out.iter().any(|l| l == "+OK 7 messages:"), "{out:?}");
        pair.same(user, FORMAT_ALL, &["UIDL", "UIDL 4", "QUIT"]);
        pair.same(
            user,
            XUIDL,
            &[
                "UIDL", "LAST", "RETR 3", "LAST", "RSET", "LAST", "TOP 4 0", "UIDL 5", "QUIT",
            ],
        );
        pair.same(user, LOCAL, &["APOP", "STAT", "QUIT"]);
    }
    // The \Seen flags RETR set are the same too.
    assert_eq!(files(&pair, "alice"), files(&pair, "bob"));
}

/// DELE, RSET and QUIT: deletes happen only at QUIT; a dropped connection deletes nothing.
/// Each server works on its own copy (carol: cote, dave: Dovecot) and the results are
/// compared, then each reads what the other left.
#[test]
fn update_state_matches_dovecot() {
    let pair = Pair::start();
    for user in ["carol", "dave"] {
        pair.mailbox(user);
    }
    let run = |user: &str, port: u16, commands: &[&str]| converse(port, LOCAL, user, commands);
    let dropped = ["DELE 1", "DELE 1", "LIST 1", "STAT", "DROP"];
    let rset = ["DELE 2", "RSET", "STAT", "QUIT"];
    let quit = ["DELE 2", "DELE 5", "RETR 3", "STAT", "LIST", "QUIT"];
    let after = ["STAT", "LIST", "RETR 1", "QUIT"];
    for commands in [&dropped[..], &rset, &quit, &after] {
        let cote = run("carol", pair.cote.port, commands);
        let dovecot: Vec<String> = run("dave", pair.dovecot.port, commands)
            .iter()
            .map(|l| l.replace("dave", "carol"))
            .collect();
        assert_eq!(cote, dovecot, "{}", pair.logs());
    }
    assert_eq!(files(&pair, "carol"), files(&pair, "dave"));
    assert_eq!(files(&pair, "carol").len(), MESSAGES.len() - 2);
    // Each reads the other's mailbox: the same answers again.
    let cross = ["STAT", "LIST", "UIDL", "QUIT"];
    let by_cote = run("dave", pair.cote.port, &cross);
    let by_dovecot = run("dave", pair.dovecot.port, &cross);
    assert_eq!(by_cote, by_dovecot, "{}", pair.logs());
    let by_cote = run("carol", pair.cote.port, &cross);
    let by_dovecot = run("carol", pair.dovecot.port, &cross);
    assert_eq!(by_cote, by_dovecot, "{}", pair.logs());
}

/// `pop3_delete_type = flag`: DELE + QUIT sets `pop3_deleted_flag` instead of expunging, and
/// those messages are hidden from sessions that have the flag configured (erin: cote, frank:
/// Dovecot).
#[test]
fn deleted_flag_matches_dovecot() {
    let pair = Pair::start();
    for user in ["erin", "frank"] {
        pair.mailbox(user);
    }
    let run = |user: &str, port: u16, from: Ipv4Addr, commands: &[&str]| {
        converse(port, from, user, commands)
            .iter()
            .map(|l| l.replace(user, "USER"))
            .collect::<Vec<_>>()
    };
    for (from, commands) in [
        (DELETE_FLAG, &["DELE 2", "DELE 3", "QUIT"][..]),
        (DELETE_FLAG, &["STAT", "LIST", "QUIT"][..]),
        (LOCAL, &["STAT", "LIST", "QUIT"][..]),
    ] {
        let cote = run("erin", pair.cote.port, from, commands);
        let dovecot = run("frank", pair.dovecot.port, from, commands);
        assert_eq!(cote, dovecot, "{}", pair.logs());
    }
    assert_eq!(files(&pair, "erin").len(), MESSAGES.len());
}

/// `pop3_fast_size_lookups`: a message whose virtual size (`W=`) is unknown but whose stored
/// size (`S=`, LF line ends) is known gets the stored size, unread; others are read as
/// without the setting (lena: cote, mona: Dovecot; each keeps its own cache).
#[test]
fn fast_size_lookups_match_dovecot() {
    let pair = Pair::start();
    for user in ["lena", "mona"] {
        pair.mailbox(user);
        let new = pair.dir.path().join("mail").join(user).join("new");
        std::fs::write(
            new.join("1700000009.M9P9.host,S=22"),
            b"Subject: s only\n\nbody\n",
        )
        .unwrap();
        chown_tree(&new);
    }
    let run = |user: &str, port: u16, from: Ipv4Addr, commands: &[&str]| {
        converse(port, from, user, commands)
            .iter()
            .map(|l| l.replace(user, "USER"))
            .collect::<Vec<_>>()
    };
    let mut answers = Vec::new();
    for from in [FAST_SIZES, LOCAL, FAST_SIZES] {
        let commands = &["STAT", "LIST", "LIST 8", "RETR 8", "RETR 3", "QUIT"][..];
        let cote = run("lena", pair.cote.port, from, commands);
        let dovecot = run("mona", pair.dovecot.port, from, commands);
        assert_eq!(cote, dovecot, "{}", pair.logs());
        answers.push(cote);
    }
    assert!(
        answers[0].contains(&"+OK 8 22".to_string()),
        "{:?}",
        answers[0]
    );
    assert!(
        answers[1].contains(&"+OK 8 25".to_string()),
        "{:?}",
        answers[1]
    );
}

/// `pop3_save_uidl` (here with another format): the UIDLs saved in dovecot-uidlist win over
/// `pop3_uidl_format` afterwards, for cote as for Dovecot, whichever of them saved them
/// (gina: Dovecot, kate: cote).
#[test]
fn saved_uidls_are_used() {
    let pair = Pair::start();
    for (user, saver) in [("gina", pair.dovecot.port), ("kate", pair.cote.port)] {
        pair.mailbox(user);
        converse(saver, SAVE_UIDL, user, &["UIDL", "QUIT"]);
        let out = pair.same(user, LOCAL, &["UIDL", "UIDL 3", "QUIT"]);
        assert!(
            out.iter().any(|l| l.starts_with("1 1700000000.M1P1.host")),
            "{out:?}"
        );
    }
}

/// A logged-in session kept open (its lock held) until dropped.
fn hold_session(port: u16, from: Ipv4Addr, user: &str) -> TcpStream {
    let stream = connect_from(from, port);
    stream.set_read_timeout(Some(LINE_TIMEOUT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream.try_clone().unwrap();
    let mut line = String::new();
    for command in [format!("USER {user}"), "PASS pw".to_string()] {
        reader.read_line(&mut line).unwrap();
        line.clear();
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
    }
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "+OK Logged in.\r\n");
    stream
}

/// `pop3_lock_session`: cote and Dovecot take the same lock file, so a session of either
/// keeps the other out ([IN-USE] after the 10 seconds' wait), and it is free again after.
#[test]
fn session_lock_excludes_the_other_server() {
    let pair = Pair::start();
    pair.mailbox("hank");
    let in_use = [
        "+OK Dovecot (Debian) ready. <challenge>",
        "C: USER hank",
        "+OK",
        "C: PASS pw",
        "-ERR [IN-USE] Mailbox is locked by another POP3 session.",
        "C: STAT",
        "<closed>",
    ];
    let holder = hold_session(pair.cote.port, LOCK_SESSION, "hank");
    assert_eq!(
        converse(pair.dovecot.port, LOCK_SESSION, "hank", &["STAT"]),
        in_use,
        "{}",
        pair.logs()
    );
    drop(holder);
    let holder = hold_session(pair.dovecot.port, LOCK_SESSION, "hank");
    assert_eq!(
        converse(pair.cote.port, LOCK_SESSION, "hank", &["STAT"]),
        in_use,
        "{}",
        pair.logs()
    );
    drop(holder);
    let free = converse(pair.cote.port, LOCK_SESSION, "hank", &["STAT", "QUIT"]);
    assert_eq!(free[4], "+OK Logged in.", "{free:?}");
}

/// What `Disconnected:` lines of `user`'s POP3 sessions say after the log prefix.
fn disconnects(log: &Path, user: &str) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("pop3({user})")))
        .filter_map(|l| l.split_once("Disconnected: ").map(|(_, r)| r.to_string()))
        .collect()
}

/// `pop3_logout_format` with every counter and `%{uidl_change}`: the same log line as
/// Dovecot's for the same session (ivan: cote, judy: Dovecot; UIDLs from the file names,
/// which both mailboxes share).
#[test]
fn logout_lines_match_dovecot() {
    let pair = Pair::start();
    for user in ["ivan", "judy"] {
        pair.mailbox(user);
    }
    for commands in [
        &["UIDL", "RETR 3", "TOP 1 2", "DELE 4", "DELE 5", "QUIT"][..],
        &["UIDL", "RETR 1", "RETR 2", "QUIT"][..],
        &["STAT", "DELE 1", "DROP"][..],
    ] {
        converse(pair.cote.port, LOGOUT_FORMAT, "ivan", commands);
        converse(pair.dovecot.port, LOGOUT_FORMAT, "judy", commands);
    }
    // The mail processes log the line as they end; wait for both servers' three lines.
    let deadline = Instant::now() + LINE_TIMEOUT;
    let (mut cote, mut dovecot) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        cote = disconnects(&pair.cote.log, "ivan");
        dovecot = disconnects(&pair.dovecot.log, "judy");
        if cote.len() == 3 && dovecot.len() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dovecot: Vec<String> = dovecot.iter().map(|l| l.replace("judy", "ivan")).collect();
    assert_eq!(cote, dovecot, "{}", pair.logs());
    assert!(cote[0].contains(" -> "), "{cote:?}");
}
