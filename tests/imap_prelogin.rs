//! The pre-login IMAP session over real loopback sockets, in-process: a thread runs
//! `serve_prelogin`, the test talks to it as a client. Expected lines are what Dovecot 2.3.19.1
//! (Debian) answered to the same input, except where cote says otherwise (no auth, no TLS).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, Once};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use cote::imap::capability::as_dovecot_2_3;
use cote::imap::parser::ParseError;
use cote::imap::{serve_prelogin, Disconnect, LoginServices, PreloginEnd, PreloginSettings};
use cote::login::{LoginSettings, SessionEnd};
use cote::net::ConnInfo;

/// Log records of every thread, to check each session's own lines.
static LOGS: Mutex<Vec<(ThreadId, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{}: {}", record.level(), record.args());
        LOGS.lock().unwrap().push((thread::current().id(), line));
    }
    fn flush(&self) {}
}

fn install_logger() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Info);
    });
}

const CAPS: &str = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ LOGINDISABLED";
const GREETING: &str =
    "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ LOGINDISABLED] \
     Dovecot (Debian) ready.";

struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
    server: JoinHandle<Disconnect>,
    server_thread: ThreadId,
}

/// A session with `settings`, its default greeting already read.
fn connect(settings: PreloginSettings) -> Client {
    let mut client = open("127.0.0.1", settings);
    client.expect(&[GREETING]);
    client
}

/// Connects from `source` (any 127.0.0.0/8 address) to a fresh session on 127.0.0.1.
fn open(source: &str, settings: PreloginSettings) -> Client {
    install_logger();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap();
    let socket = nix_bind_connect(source, target);
    let (server_stream, _) = listener.accept().unwrap();
    let conn = ConnInfo::from_stream(&server_stream, false).unwrap();
    let server = thread::spawn(move || {
        match serve_prelogin(server_stream, &settings, &conn, LoginServices::default()) {
            PreloginEnd::Disconnected(reason) => reason,
            PreloginEnd::LoggedIn(_) | PreloginEnd::Proxied(_) => {
                panic!("logged in without an auth service")
            }
        }
    });
    let server_thread = server.thread().id();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = BufReader::new(socket.try_clone().unwrap());
    Client {
        stream: socket,
        reader,
        server,
        server_thread,
    }
}

/// A TCP connection from a chosen loopback source address.
fn nix_bind_connect(source: &str, target: SocketAddr) -> TcpStream {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .unwrap();
    let src: SocketAddr = format!("{source}:0").parse().unwrap();
    let SocketAddr::V4(src) = src else {
        unreachable!()
    };
    let SocketAddr::V4(dst) = target else {
        unreachable!()
    };
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(src)).unwrap();
    connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrIn::from(dst)).unwrap();
    TcpStream::from(fd)
}

impl Client {
    fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).unwrap();
    }

    /// The next line without CRLF (bytes that are not UTF-8 shown lossily).
    fn line(&mut self) -> String {
        let mut buf = Vec::new();
        self.reader.read_until(b'\n', &mut buf).unwrap();
        assert!(
            buf.ends_with(b"\r\n"),
            "no CRLF line: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.truncate(buf.len() - 2);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Expects `lines`, recorded from Dovecot (cote's IMAP4rev2 taken out of what arrives).
    fn expect(&mut self, lines: &[&str]) {
        for want in lines {
            assert_eq!(as_dovecot_2_3(&self.line()), *want);
        }
    }

    /// Sends `command` and expects exactly `lines` back.
    fn exchange(&mut self, command: &str, lines: &[&str]) {
        self.send(command.as_bytes());
        self.expect(lines);
    }

    /// Expects the server to close the connection (EOF or reset, nothing more to read), then
    /// returns why the session ended and its log lines.
    fn closed(mut self) -> (Disconnect, Vec<String>) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "unexpected: {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
        }
        self.finish()
    }

    fn finish(self) -> (Disconnect, Vec<String>) {
        server_result(self.server, self.server_thread)
    }
}

/// The log line's tail: everything after "... secs): ", minus the session id.
fn assert_disconnect_log(logs: &[String], reason: &str, elements: &str) {
    let last = logs.last().expect("no log line");
    let prefix =
        format!("INFO: Disconnected: {reason} (no auth attempts in 0 secs): {elements}, session=<");
    assert!(
        last.starts_with(&prefix),
        "{last:?} does not start with {prefix:?}"
    );
    assert!(last.ends_with('>'));
}

const LOCAL: &str = "user=<>, rip=127.0.0.1, lip=127.0.0.1, secured";

#[test]
fn greeting_capability_noop_enable_logout() {
    let mut c = connect(PreloginSettings::default());
    c.exchange(
        "a CAPABILITY\r\n",
        &[
            &format!("* CAPABILITY {CAPS}"),
            "a OK Pre-login capabilities listed, post-login capabilities have more.",
        ],
    );
    c.exchange("b noop extra args\r\n", &["b OK NOOP completed."]);
    c.exchange(
        "c enable CONDSTORE\n",
        &[
            "* ENABLED",
            "c OK ENABLE ignored in non-authenticated state.",
        ],
    );
    c.exchange(
        "d LoGoUt\r\n",
        &["* BYE Logging out", "d OK Logout completed."],
    );
    let (reason, logs) = c.closed();
    assert_eq!(reason, Disconnect::Session(SessionEnd::LoggedOut));
    assert_eq!(logs.len(), 1);
    assert_disconnect_log(&logs, "Aborted login by logging out", LOCAL);
}

#[test]
fn pipelined_commands_are_all_answered() {
    let mut c = connect(PreloginSettings::default());
    c.send(b"a NOOP\r\nb NOOP\r\nc LOGOUT\r\n");
    c.expect(&[
        "a OK NOOP completed.",
        "b OK NOOP completed.",
        "* BYE Logging out",
        "c OK Logout completed.",
    ]);
    assert_eq!(c.closed().0, Disconnect::Session(SessionEnd::LoggedOut));
}

#[test]
fn custom_greeting_and_capability() {
    let settings = PreloginSettings {
        login: LoginSettings {
            login_greeting: "Mail here.".into(),
            ..LoginSettings::default()
        },
        imap_capability: "+XFOO".into(),
        imap_literal_minus: true,
        ..PreloginSettings::default()
    };
    let mut c = open("127.0.0.1", settings);
    c.expect(&[
        "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE XFOO LITERAL- \
                LOGINDISABLED] Mail here.",
    ]);
    // LITERAL-: a non-synchronizing literal over 4096 bytes ends the session.
    c.send(b"a NOOP {5000+}\r\n");
    c.expect(&["* BYE Non-synchronizing literal size too large"]);
    let (reason, logs) = c.closed();
    assert_eq!(
        reason,
        Disconnect::LiteralTooLarge(ParseError::NonSyncLiteralTooLarge)
    );
    assert_disconnect_log(&logs, "Non-synchronizing literal size too large", LOCAL);
}

#[test]
fn unknown_commands_get_bad_and_the_third_ends_the_session() {
    let mut c = connect(PreloginSettings::default());
    c.exchange(
        "a FOO\r\n",
        &["a BAD Error in IMAP command received by server."],
    );
    // Parse errors are answered with Dovecot's text and do not count.
    c.exchange("b SELECT (INBOX\r\n", &["b BAD Missing ')'"]);
    c.exchange("\r\n", &["* BAD Error in IMAP command received by server."]);
    c.exchange(
        "LOGIN user pass\r\n",
        &[
            "LOGIN BAD First parameter in line is IMAP's command tag, not the command name. \
         Add that before the command, like: a login user pass",
        ],
    );
    c.exchange("c NOOP\r\n", &["c OK NOOP completed."]);
    c.exchange(
        "d SELECT INBOX\r\n",
        &["* BYE Too many invalid IMAP commands."],
    );
    let (reason, logs) = c.closed();
    assert_eq!(reason, Disconnect::TooManyInvalidCommands);
    assert_disconnect_log(&logs, "Too many invalid commands", LOCAL);
}

/// A session without an auth service or TLS (the login tests with both are
/// tests/login_*.rs and t/imap/login-*.t).
#[test]
fn login_authenticate_starttls_without_auth_or_tls() {
    let mut c = connect(PreloginSettings::default());
    c.exchange(
        "a LOGIN bob secret\r\n",
        &["a NO [UNAVAILABLE] Authentication is not available: the auth service cannot be reached."],
    );
    c.exchange(
        "b AUTHENTICATE PLAIN\r\n",
        &["b NO [UNAVAILABLE] Authentication is not available: the auth service cannot be reached."],
    );
    c.exchange("c STARTTLS\r\n", &["c BAD TLS support isn't enabled."]);
    // LOGIN with the wrong arguments is an invalid command, as in Dovecot.
    c.exchange(
        "d LOGIN bob\r\n",
        &["d BAD Error in IMAP command received by server."],
    );
    c.exchange(
        "e LOGOUT\r\n",
        &["* BYE Logging out", "e OK Logout completed."],
    );
    c.closed();

    // With ssl = no, STARTTLS gets Dovecot's own answer.
    let settings = PreloginSettings {
        login: LoginSettings {
            ssl: cote::net::SslMode::No,
            ..LoginSettings::default()
        },
        ..PreloginSettings::default()
    };
    let mut c = connect(settings);
    c.exchange("a STARTTLS\r\n", &["a BAD TLS support isn't enabled."]);
    c.send(b"b LOGOUT\r\n");
    c.expect(&["* BYE Logging out", "b OK Logout completed."]);
    c.closed();
}

#[test]
fn id_reply_and_log() {
    let settings = PreloginSettings {
        imap_id_log: "*".into(),
        ..PreloginSettings::default()
    };
    let mut c = connect(settings);
    c.exchange("a ID (name x)\r\n", &["a BAD Invalid ID parameters"]);
    c.send(b"b ID (\"name\" \"foo\" \"version\" {3}\r\n");
    c.expect(&["+ OK"]);
    c.send(b"1.0 \"os\" NIL)\r\n");
    c.expect(&["* ID (\"name\" \"cote\")", "b OK ID completed."]);
    // Only the first ID is logged.
    c.exchange(
        "c ID (\"name\" \"bar\")\r\n",
        &["* ID (\"name\" \"cote\")", "c OK ID completed."],
    );
    c.exchange(
        "d ID NIL\r\n",
        &["* ID (\"name\" \"cote\")", "d OK ID completed."],
    );
    drop(c.stream.shutdown(Shutdown::Write));
    let (reason, logs) = c.closed();
    assert_eq!(reason, Disconnect::Session(SessionEnd::ClientClosed));
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(
        logs[0].starts_with(&format!(
            "INFO: ID sent: name=foo, version=1.0, os=NIL: {LOCAL}, session=<"
        )),
        "{}",
        logs[0]
    );
    assert_disconnect_log(&logs, "Connection closed", LOCAL);
}

#[test]
fn trusted_proxy_passes_the_client_address_in_id() {
    let settings = PreloginSettings {
        login: LoginSettings {
            login_trusted_networks: cote::net::conn::parse_networks("127.0.0.2/32").unwrap(),
            ..LoginSettings::default()
        },
        ..PreloginSettings::default()
    };
    let mut c = open("127.0.0.2", settings);
    c.expect(&[GREETING]);
    c.exchange(
        "a ID (\"x-originating-ip\" \"192.0.2.7\" \"x-originating-port\" \"4242\" \"x-session-id\" \"proxied-id\")\r\n",
        &["* ID (\"name\" \"cote\")", "a OK ID completed."],
    );
    c.send(b"b LOGOUT\r\n");
    c.expect(&["* BYE Logging out", "b OK Logout completed."]);
    let (_, logs) = c.closed();
    assert_eq!(
        logs.last().unwrap(),
        "INFO: Disconnected: Aborted login by logging out (no auth attempts in 0 secs): \
         user=<>, rip=192.0.2.7, lip=127.0.0.1, secured, session=<proxied-id>"
    );
}

#[test]
fn untrusted_other_address_is_not_secured_and_cannot_override() {
    let mut c = open("127.0.0.2", PreloginSettings::default());
    c.expect(&[GREETING]);
    c.exchange(
        "a ID (\"x-originating-ip\" \"192.0.2.7\")\r\n",
        &["* ID (\"name\" \"cote\")", "a OK ID completed."],
    );
    c.stream.shutdown(Shutdown::Write).unwrap();
    let (_, logs) = c.closed();
    assert_disconnect_log(
        &logs,
        "Connection closed",
        "user=<>, rip=127.0.0.2, lip=127.0.0.1",
    );
}

#[test]
fn literals() {
    let mut c = connect(PreloginSettings::default());
    c.send(b"a NOOP {3}\r\n");
    c.expect(&["+ OK"]);
    c.exchange("abc\r\n", &["a OK NOOP completed."]);
    // LITERAL+ needs no continuation.
    c.exchange("b NOOP {3+}\r\nabc \"x\"\r\n", &["b OK NOOP completed."]);
    c.exchange("c NOOP {3x}\r\n", &["c BAD Invalid literal size"]);
    c.send(b"d NOOP {2000}\r\n");
    c.expect(&["* BYE Input buffer full, aborting"]);
    let (reason, logs) = c.closed();
    assert_eq!(reason, Disconnect::Session(SessionEnd::InputBufferFull));
    assert_disconnect_log(&logs, "Input buffer full", LOCAL);

    let mut c = connect(PreloginSettings::default());
    c.exchange("a NOOP {100000}\r\n", &["* BYE Literal size too large"]);
    let (reason, logs) = c.closed();
    assert_eq!(
        reason,
        Disconnect::LiteralTooLarge(ParseError::LiteralTooLarge)
    );
    assert_disconnect_log(&logs, "Literal size too large", LOCAL);
}

/// The client writes from another thread: the server may stop reading and close first.
fn send_in_background(c: &Client, data: Vec<u8>) -> JoinHandle<()> {
    let mut stream = c.stream.try_clone().unwrap();
    thread::spawn(move || {
        let _ = stream.write_all(&data);
    })
}

#[test]
fn one_megabyte_atom_ends_the_session() {
    let mut c = connect(PreloginSettings::default());
    let mut line = b"a NOOP ".to_vec();
    line.extend(vec![b'x'; 1 << 20]);
    line.extend_from_slice(b"\r\n");
    let writer = send_in_background(&c, line);
    c.expect(&["* BYE Input buffer full, aborting"]);
    let (reason, _) = c.closed();
    writer.join().unwrap();
    assert_eq!(reason, Disconnect::Session(SessionEnd::InputBufferFull));
}

#[test]
fn one_megabyte_of_arguments_is_too_long_then_overflows() {
    let mut c = connect(PreloginSettings::default());
    let mut line = b"a NOOP ".to_vec();
    line.extend(b"x ".repeat(1 << 19));
    line.extend_from_slice(b"\r\n");
    let writer = send_in_background(&c, line);
    c.expect(&[
        "a BAD IMAP command line too large",
        "* BYE Input buffer full, aborting",
    ]);
    let (reason, _) = c.closed();
    writer.join().unwrap();
    assert_eq!(reason, Disconnect::Session(SessionEnd::InputBufferFull));
}

#[test]
fn a_line_just_over_the_limit_is_refused_and_the_session_goes_on() {
    let mut c = connect(PreloginSettings::default());
    let mut line = b"a NOOP ".to_vec();
    line.extend(b"x ".repeat(4500));
    line.extend_from_slice(b"\r\n");
    c.send(&line);
    c.expect(&["a BAD IMAP command line too large"]);
    c.exchange("b NOOP\r\n", &["b OK NOOP completed."]);
}

#[test]
fn nul_bytes_and_invalid_utf8() {
    let mut c = connect(PreloginSettings::default());
    c.send(b"a NOOP \x00\r\n");
    c.expect(&["a BAD Invalid characters in atom"]);
    c.send(b"b NOOP \"x\x00y\"\r\n");
    c.expect(&["b BAD NULs not allowed in strings"]);
    c.send(b"c NOOP \xff\xfe\r\n");
    c.expect(&["c BAD 8bit data in atom"]);
    c.send(b"d NOOP \"\xff\xc3\"\r\n");
    c.expect(&["d OK NOOP completed."]);
    c.send(b"e NO\x00OP\r\n");
    c.expect(&["e BAD Error in IMAP command received by server."]);
    c.send(b"f N\xc3\xa9OP\r\n");
    c.expect(&["f BAD Error in IMAP command received by server."]);
    c.send(b"\x00\xff\r\n");
    c.expect(&["* BYE Too many invalid IMAP commands."]);
    assert_eq!(c.closed().0, Disconnect::TooManyInvalidCommands);
}

#[test]
fn client_disconnects_mid_line() {
    let mut c = connect(PreloginSettings::default());
    c.send(b"a NOOP\r\nb NO");
    c.expect(&["a OK NOOP completed."]);
    c.stream.shutdown(Shutdown::Write).unwrap();
    let (reason, logs) = c.closed();
    assert_eq!(reason, Disconnect::Session(SessionEnd::ClientClosed));
    assert_disconnect_log(&logs, "Connection closed", LOCAL);
}

#[test]
fn client_disconnects_mid_literal() {
    let mut c = connect(PreloginSettings::default());
    c.send(b"a NOOP {10+}\r\nabc");
    c.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(c.closed().0, Disconnect::Session(SessionEnd::ClientClosed));
}

#[test]
fn connection_reset_is_logged_with_the_error() {
    let mut c = connect(PreloginSettings::default());
    c.send(b"a NOOP\r\n");
    c.expect(&["a OK NOOP completed."]);
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    nix::sys::socket::setsockopt(&c.stream, nix::sys::socket::sockopt::Linger, &linger).unwrap();
    c.send(b"b NO");
    // Closing with SO_LINGER 0 resets the connection.
    let Client {
        stream,
        reader,
        server,
        server_thread,
    } = c;
    drop(stream);
    drop(reader);
    let (reason, logs) = server_result(server, server_thread);
    match &reason {
        Disconnect::Session(SessionEnd::ReadFailed(text)) => {
            assert!(text.starts_with("read(size="), "{text}");
            assert!(
                text.ends_with(") failed: Connection reset by peer"),
                "{text}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(logs
        .last()
        .unwrap()
        .contains("Disconnected: Connection closed: read(size="));
}

/// How the session ended and what its thread logged.
fn server_result(server: JoinHandle<Disconnect>, thread: ThreadId) -> (Disconnect, Vec<String>) {
    let reason = server.join().unwrap();
    let logs = LOGS
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t == thread)
        .map(|(_, l)| l.clone())
        .collect();
    (reason, logs)
}

#[test]
fn login_timeout_disconnects_idle_and_busy_clients() {
    let settings = PreloginSettings {
        login_timeout: Duration::from_millis(400),
        ..PreloginSettings::default()
    };
    let mut c = connect(settings.clone());
    c.expect(&["* BYE Disconnected for inactivity."]);
    let (reason, logs) = c.closed();
    assert_eq!(reason, Disconnect::Session(SessionEnd::Inactivity));
    assert_disconnect_log(&logs, "Inactivity", LOCAL);

    // The deadline counts from the connection, not from the last command (as in Dovecot).
    let mut c = connect(settings);
    for _ in 0..3 {
        c.exchange("a NOOP\r\n", &["a OK NOOP completed."]);
        thread::sleep(Duration::from_millis(100));
    }
    c.send(b"b NO");
    c.expect(&["* BYE Disconnected for inactivity."]);
    assert_eq!(c.closed().0, Disconnect::Session(SessionEnd::Inactivity));
}

#[test]
fn many_sessions_at_once_stay_independent() {
    let clients: Vec<_> = (0..20)
        .map(|_| connect(PreloginSettings::default()))
        .collect();
    for (i, mut c) in clients.into_iter().enumerate() {
        let tag = format!("t{i}");
        c.exchange(
            &format!("{tag} NOOP\r\n"),
            &[&format!("{tag} OK NOOP completed.")],
        );
        c.exchange(
            &format!("{tag} LOGOUT\r\n"),
            &["* BYE Logging out", &format!("{tag} OK Logout completed.")],
        );
        assert_eq!(c.closed().0, Disconnect::Session(SessionEnd::LoggedOut));
    }
}
