//! Logging in to a real cote with real clients: Python's imaplib (plain LOGIN, STARTTLS,
//! imaps, CRAM-MD5) and poplib (USER/PASS, STLS, pop3s), `openssl s_client -starttls imap`,
//! and the log lines both sides write.

mod login_support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use login_support::{python, Client, Server};

/// The start of the Python scripts: the ports, and a TLS context that takes any certificate.
const PREAMBLE: &str = r#"
import imaplib, poplib, ssl, sys
port, sport = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
"#;

const IMAPLIB: &str = r#"
m = imaplib.IMAP4("127.0.0.1", port)
print("plain", m.login("alice", "secret")[0], m.noop()[0], m.logout()[0])

m = imaplib.IMAP4("127.0.0.1", port)
m.starttls(ssl_context=ctx)
typ, caps = m.capability()
print("starttls", m.login("bob", "hunter2")[0], m.capabilities)
m.logout()

m = imaplib.IMAP4_SSL("127.0.0.1", sport, ssl_context=ctx)
print("imaps", m.login("alice", "secret")[0], m.noop()[0])
m.logout()

m = imaplib.IMAP4("127.0.0.1", port)
print("cram", m.login_cram_md5("alice", "secret")[0])
m.logout()

m = imaplib.IMAP4("127.0.0.1", port)
try:
    m.login("alice", "wrong")
    print("wrong", "OK?!")
except imaplib.IMAP4.error as e:
    print("wrong", e)
m.logout()
"#;

#[test]
fn python_imaplib_logs_in_over_plain_starttls_and_imaps() {
    let server = Server::start("");
    let out = python(
        &[PREAMBLE, IMAPLIB].concat(),
        &[server.imap.to_string(), server.imaps.to_string()],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "plain OK OK BYE", "{out}");
    assert!(
        lines[1].starts_with("starttls OK (") && lines[1].contains("'IMAP4REV1'"),
        "{out}"
    );
    assert_eq!(lines[2], "imaps OK OK", "{out}");
    assert_eq!(lines[3], "cram OK", "{out}");
    assert_eq!(
        lines[4], "wrong b'[AUTHENTICATIONFAILED] Authentication failed.'",
        "{out}"
    );
    // The login side logs Dovecot's login line; the mail side logs under mail_log_prefix.
    let login = server.wait_log("imap-login: Info: Login: user=<alice>, method=PLAIN");
    assert!(
        login.contains("rip=127.0.0.1, lip=127.0.0.1, mpid=")
            && login.contains(", secured, session=<"),
        "{login}"
    );
    let tls = server.wait_log("Login: user=<bob>, method=PLAIN");
    assert!(tls.contains(", TLS, session=<"), "{tls}");
    let cram = server.wait_log("Login: user=<alice>, method=CRAM-MD5");
    let mpid = cram
        .split("mpid=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .to_string();
    let logout = server.wait_log(&format!("imap(alice)<{mpid}><"));
    assert!(
        logout.contains(": Info: Disconnected: Logged out in=") && logout.contains(" deleted=0 "),
        "{logout}"
    );
}

const POPLIB: &str = r#"
p = poplib.POP3("127.0.0.1", port)
print("plain", p.user("alice").decode(), p.pass_("secret").decode(), p.quit().decode())

p = poplib.POP3("127.0.0.1", port)
p.stls(context=ctx)
print("stls", p.user("bob").decode(), p.pass_("hunter2").decode(), p.stat())
p.quit()

p = poplib.POP3_SSL("127.0.0.1", sport, context=ctx)
print("pop3s", p.user("alice").decode(), p.pass_("secret").decode(), p.stat())
p.quit()

p = poplib.POP3("127.0.0.1", port)
p.user("alice")
try:
    p.pass_("wrong")
    print("wrong", "OK?!")
except poplib.error_proto as e:
    print("wrong", e)
p.quit()
"#;

#[test]
fn python_poplib_logs_in_over_plain_stls_and_pop3s() {
    let (pop3, pop3s) = (login_support::free_port(), login_support::free_port());
    let server = Server::start(&format!(
        "protocols = imap pop3\n\
         service pop3-login {{\n\
         \x20 inet_listener pop3 {{\n    port = {pop3}\n  }}\n\
         \x20 inet_listener pop3s {{\n    port = {pop3s}\n  }}\n\
         }}\n"
    ));
    let out = python(
        &[PREAMBLE, POPLIB].concat(),
        &[pop3.to_string(), pop3s.to_string()],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "plain +OK +OK Logged in. +OK Logging out.",
            "stls +OK +OK Logged in. (0, 0)",
            "pop3s +OK +OK Logged in. (0, 0)",
            "wrong b'-ERR [AUTH] Authentication failed.'",
        ],
        "{out}\n{}",
        server.logs()
    );
    let stls = server.wait_log("pop3-login: Info: Login: user=<bob>, method=PLAIN");
    assert!(stls.contains(", TLS, session=<"), "{stls}");
}

#[test]
fn openssl_s_client_starttls() {
    let server = Server::start("");
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-crlf",
            "-starttls",
            "imap",
            "-connect",
        ])
        .arg(format!("127.0.0.1:{}", server.imap))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"a LOGIN alice secret\nb NOOP\nc LOGOUT\n")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    // Dovecot's list; cote adds IMAP4rev2.
    let text = cote::imap::capability::as_dovecot_2_3(&String::from_utf8_lossy(&out.stdout));
    // s_client asks CAPABILITY before STARTTLS, so the new list comes untagged.
    assert!(
        text.contains(
            "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY \
             THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT \
             CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES \
             WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY\r\na OK Logged in\r\n"
        ) && text.contains("b OK NOOP completed (")
            && text.contains("c OK Logout completed ("),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.wait_log("Login: user=<alice>, method=PLAIN");
}

/// STARTTLS with a command pipelined behind it in the same packet: the plaintext command is
/// never executed, before or after the handshake.
#[test]
fn starttls_injection_is_not_executed() {
    let server = Server::start("");
    let mut c = Client::connect(server.imap);
    assert!(c.line().starts_with("* OK [CAPABILITY "));
    c.send(b"a STARTTLS\r\nb NOOP\r\n");
    assert_eq!(c.line(), "a OK Begin TLS negotiation now.");
    // The bytes after STARTTLS were read with it and thrown away: a TLS handshake works,
    // and the first answer over TLS is to the first command sent over TLS.
    let mut builder =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
    builder.set_verify(openssl::ssl::SslVerifyMode::NONE);
    let mut tls = builder
        .build()
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect("localhost", c.stream.try_clone().unwrap())
        .unwrap();
    tls.write_all(b"c NOOP\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"\r\n") {
        let n = std::io::Read::read(&mut tls, &mut buf).unwrap();
        assert!(n > 0, "closed");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), "c OK NOOP completed.\r\n");
}

/// A wrong password and an unknown user: the same answer, both after auth_failure_delay.
#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let server = Server::start("");
    let mut answers = Vec::new();
    for login in ["a LOGIN alice wrong\r\n", "a LOGIN nosuchuser wrong\r\n"] {
        let mut c = Client::connect(server.imap);
        c.line();
        let start = Instant::now();
        c.send(login.as_bytes());
        let answer = c.line();
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "answered before the failure delay: {answer}"
        );
        answers.push(answer);
    }
    assert_eq!(
        answers[0],
        "a NO [AUTHENTICATIONFAILED] Authentication failed."
    );
    assert_eq!(answers[0], answers[1]);
}

/// A user whose uid is below first_valid_uid: authentication succeeds, the mail process
/// refuses to become the user, as Dovecot does.
#[test]
fn mail_process_refuses_uids_out_of_range() {
    let server = Server::start("");
    let mut c = Client::connect(server.imap);
    c.line();
    c.send(b"a LOGIN low pw\r\n");
    assert_eq!(c.line(), "a OK Logged in, but initialization failed.");
    assert_eq!(
        c.line(),
        "* BYE Internal error occurred. Refer to server log for more information."
    );
    assert!(c.closed());
    let line = server.wait_log("imap(low)<");
    assert!(
        line.ends_with(
            "Error: Mail access for users with UID 100 not permitted (see first_valid_uid in \
             config file, uid from userdb lookup)."
        ),
        "{line}"
    );
}

/// `ps` names every process as Dovecot's do (`dovecot/imap-login`, `dovecot/imap`), and with
/// `verbose_proctitle` the mail process shows whose session it serves and its command.
#[test]
fn process_titles_show_the_service_and_the_session() {
    let server = Server::start("verbose_proctitle = yes");
    let mut c = Client::connect(server.imap);
    assert!(c.line().starts_with("* OK "));
    assert!(
        !server.workers("dovecot/imap-login").is_empty(),
        "no process titled dovecot/imap-login:\n{}",
        server.logs()
    );
    c.send(b"a LOGIN alice secret\r\n");
    assert!(c.line().starts_with("a OK "));
    let titled = |title: &str| {
        login_support::wait_for(Duration::from_secs(10), || {
            server.workers(title).first().copied()
        })
    };
    assert!(
        titled("dovecot/imap [alice 127.0.0.1]").is_some(),
        "no mail process titled with its session"
    );
    c.send(b"b IDLE\r\n");
    assert!(c.line().starts_with("+ "));
    assert!(
        titled("dovecot/imap [alice 127.0.0.1 IDLE]").is_some(),
        "the title does not show IDLE"
    );
    c.send(b"DONE\r\n");
    assert!(c.line().starts_with("b OK "));
    assert!(titled("dovecot/imap [alice 127.0.0.1]").is_some());
}

/// As Dovecot's anvil, the sessions counted for mail_max_userip_connections outlive a
/// reload: the anvil process is kept, and a second session is still refused.
#[test]
fn userip_limit_holds_across_a_reload() {
    let server = Server::start("mail_max_userip_connections = 1");
    let mut first = Client::connect(server.imap);
    assert!(first.line().starts_with("* OK "));
    first.send(b"a LOGIN alice secret\r\n");
    assert!(first.line().starts_with("a OK "), "{}", server.logs());
    let anvil = server.workers("dovecot/anvil");
    assert_eq!(anvil.len(), 1, "{}", server.logs());

    // SAFETY: SIGHUP to the master this test started.
    unsafe { libc::kill(server.pid(), libc::SIGHUP) };
    server.wait_log("SIGHUP received - reloading configuration");
    let mut second = Client::connect(server.imap);
    assert!(second.line().starts_with("* OK "));
    second.send(b"b LOGIN alice secret\r\n");
    assert_eq!(
        second.line(),
        "b NO [LIMIT] Maximum number of connections from user+IP exceeded \
         (mail_max_userip_connections=1)"
    );
    assert_eq!(server.workers("dovecot/anvil"), anvil, "anvil was replaced");

    // The count still goes down when the first session ends.
    first.send(b"a2 LOGOUT\r\n");
    assert!(first.line().starts_with("* BYE"));
    assert!(first.line().starts_with("a2 OK"));
    assert!(first.closed());
    let mut third = Client::connect(server.imap);
    assert!(third.line().starts_with("* OK "));
    third.send(b"c LOGIN alice secret\r\n");
    assert!(third.line().starts_with("c OK "), "{}", server.logs());
}
