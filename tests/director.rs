//! The director between real cote servers: two backends (127.0.0.2 and 127.0.0.3, each
//! serving IMAP and LMTP on the same ports, as a director expects) and a director on
//! 127.0.0.1 whose passdb says `proxy` without a host. Users stick to the backend the
//! director's ring gives them, across logins and for LMTP; `coteadm director down`, `flush`
//! and `remove` move them as Dovecot's director does; `status`, `map` and `kick` show and
//! act on what the director holds. Two directors (127.0.0.1 and 127.0.0.4) share what they
//! know over their ring connection.

mod login_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use cote::director::hash::user_hash;
use cote::director::hosts::MailHosts;
use login_support::{free_port, wait_for, Client, Server};

const USERS: usize = 40;

struct Cluster {
    a: Server,
    b: Server,
    director: Server,
    /// The director's LMTP and POP3 ports.
    lmtp: u16,
    pop3: u16,
    _passdb: tempfile::TempDir,
}

impl Cluster {
    fn logs(&self) -> String {
        format!(
            "=== director\n{}\n=== backend a\n{}\n=== backend b\n{}",
            self.director.logs(),
            self.a.logs(),
            self.b.logs()
        )
    }

    fn adm(&self, args: &[&str]) -> (i32, String, String) {
        adm(&self.director, args)
    }

    fn adm_ok(&self, args: &[&str]) -> String {
        self.adm_on(&self.director, args)
    }

    /// `coteadm director ARGS` on `director`, which must succeed.
    fn adm_on(&self, director: &Server, args: &[&str]) -> String {
        let (code, out, err) = adm(director, args);
        assert_eq!(code, 0, "coteadm director {args:?}: {err}\n{}", self.logs());
        out
    }

    fn backend(&self, ip: &str) -> &Server {
        match ip {
            "127.0.0.2" => &self.a,
            _ => &self.b,
        }
    }
}

/// `coteadm -c <director's config> director ARGS`: (exit code, stdout, stderr).
fn adm(director: &Server, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coteadm"))
        .arg("-c")
        .arg(director.path("cote.conf"))
        .arg("director")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn backend(listen: &str, imap: u16, pop3: u16, lmtp: u16) -> Server {
    let users: String = (0..USERS)
        .map(|i| format!("user{i}:{{PLAIN}}pw:1000:1000::/nonexistent/user{i}\n"))
        .collect();
    Server::start_with(
        &users,
        listen,
        &format!(
            "protocols = imap pop3 lmtp\n\
             login_trusted_networks = 127.0.0.1/32\n\
             service imap-login {{\n  inet_listener director {{\n    port = {imap}\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
             inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    port = {lmtp}\n  }}\n}}\n"
        ),
    )
}

fn cluster() -> Cluster {
    cluster_with("")
}

/// Backends and a director on 127.0.0.1 with `extra` in its configuration.
fn cluster_with(extra: &str) -> Cluster {
    let (imap, pop3, lmtp) = (free_port(), free_port(), free_port());
    let a = backend("127.0.0.2", imap, pop3, lmtp);
    let b = backend("127.0.0.3", imap, pop3, lmtp);
    // The director's passdb: proxy, no host; the port by protocol (`%s` in the path).
    let passdb = tempfile::tempdir().unwrap();
    for (service, port) in [("imap", imap), ("pop3", pop3), ("lmtp", lmtp)] {
        let users: String = (0..USERS)
            .map(|i| format!("user{i}:{{PLAIN}}pw::::::proxy port={port}\n"))
            .collect();
        std::fs::write(passdb.path().join(format!("{service}.users")), users).unwrap();
    }
    let (director, lmtp, pop3) = start_director(passdb.path(), "127.0.0.1", extra);
    Cluster {
        a,
        b,
        director,
        lmtp,
        pop3,
        _passdb: passdb,
    }
}

/// A director on `listen` with the passdb files in `passdb`; returns it and its LMTP and
/// POP3 ports.
fn start_director(passdb: &std::path::Path, listen: &str, extra: &str) -> (Server, u16, u16) {
    let (director_lmtp, director_pop3) = (free_port(), free_port());
    let director = Server::start_with(
        "",
        listen,
        &format!(
            "protocols = imap pop3 lmtp\n\
             lmtp_proxy = yes\n\
             director_mail_servers = 127.0.0.2 127.0.0.3\n\
             director_user_expire = 15 min\n\
             service director {{\n\
             \x20 unix_listener login/director {{\n    mode = 0666\n  }}\n\
             \x20 unix_listener director-userdb {{\n    mode = 0600\n  }}\n\
             }}\n\
             service imap-login {{\n  executable = imap-login director\n}}\n\
             service pop3-login {{\n  executable = pop3-login director\n  \
             inet_listener pop3 {{\n    port = {director_pop3}\n  }}\n  \
             inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    port = {director_lmtp}\n  }}\n}}\n\
             protocol lmtp {{\n  auth_socket_path = director-userdb\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = {}/%s.users\n}}\n\
             {extra}",
            passdb.display()
        ),
    );
    (director, director_lmtp, director_pop3)
}

/// Where the ring of `hosts` puts `user`.
fn hashed(hosts: &str, user: &str) -> IpAddr {
    let hosts = MailHosts::parse(hosts).unwrap();
    hosts
        .by_hash(user_hash(user, "%Lu").unwrap(), "")
        .unwrap()
        .ip
}

/// Users the full ring puts on 127.0.0.2 and on 127.0.0.3.
fn users_by_backend() -> (Vec<String>, Vec<String>) {
    let all: Vec<String> = (0..USERS).map(|i| format!("user{i}")).collect();
    let on = |ip: &str| -> Vec<String> {
        all.iter()
            .filter(|u| hashed("127.0.0.2 127.0.0.3", u).to_string() == ip)
            .cloned()
            .collect()
    };
    (on("127.0.0.2"), on("127.0.0.3"))
}

/// An IMAP session through the director, logged in as `user`.
fn login(c: &Cluster, user: &str) -> Client {
    login_via(c, ("127.0.0.1", c.director.imap), user)
}

/// An IMAP session through the director at `at`, logged in as `user`.
fn login_via(c: &Cluster, at: (&str, u16), user: &str) -> Client {
    let stream = TcpStream::connect(at).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut client = Client {
        reader: BufReader::new(stream.try_clone().unwrap()),
        stream,
    };
    let greeting = client.line();
    assert!(greeting.starts_with("* OK"), "{greeting}\n{}", c.logs());
    client.send(format!("a LOGIN {user} pw\r\n").as_bytes());
    loop {
        let line = client.line();
        if line.starts_with("a ") {
            assert!(line.starts_with("a OK"), "{user}: {line}\n{}", c.logs());
            return client;
        }
        assert!(!line.is_empty(), "{user}: disconnected\n{}", c.logs());
    }
}

/// Appends a message whose subject is `subject` through `client`.
fn append(c: &Cluster, client: &mut Client, subject: &str) {
    let message = format!("Subject: {subject}\r\n\r\nbody\r\n");
    client.send(format!("b APPEND INBOX {{{}}}\r\n", message.len()).as_bytes());
    let cont = client.line();
    assert!(cont.starts_with('+'), "{cont}\n{}", c.logs());
    client.send(message.as_bytes());
    client.send(b"\r\n");
    loop {
        let line = client.line();
        if line.starts_with("b ") {
            assert!(line.starts_with("b OK"), "{line}\n{}", c.logs());
            return;
        }
        assert!(!line.is_empty(), "disconnected\n{}", c.logs());
    }
}

/// The backend address whose store holds a message with `subject` for `user`.
fn stored_on(c: &Cluster, user: &str, subject: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    for ip in ["127.0.0.2", "127.0.0.3"] {
        let server = c.backend(ip);
        for sub in ["new", "cur"] {
            let dir = server.path(&format!("mail/{user}/{sub}"));
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                if text
                    .replace('\r', "")
                    .contains(&format!("Subject: {subject}\n"))
                {
                    found.push(ip);
                }
            }
        }
    }
    found
}

/// Logs `user` in through the director, stores a message, logs out; returns where it went.
fn session_lands_on(c: &Cluster, user: &str, subject: &str) -> &'static str {
    session_via(c, ("127.0.0.1", c.director.imap), user, subject)
}

/// [`session_lands_on`] through the director at `at`.
fn session_via(c: &Cluster, at: (&str, u16), user: &str, subject: &str) -> &'static str {
    let mut client = login_via(c, at, user);
    append(c, &mut client, subject);
    client.send(b"z LOGOUT\r\n");
    while !client.line().is_empty() {}
    let found = stored_on(c, user, subject);
    assert_eq!(found.len(), 1, "{user} {subject}: {found:?}\n{}", c.logs());
    found[0]
}

fn reply(reader: &mut BufReader<TcpStream>) -> String {
    let mut out = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end().to_string();
        let more = line.as_bytes().get(3) == Some(&b'-');
        out.push(line);
        if !more {
            return out.join("\n");
        }
    }
}

/// How many messages `user` has where a POP3 login through the director lands.
fn pop3_count(c: &Cluster, user: &str) -> String {
    let stream = TcpStream::connect(("127.0.0.1", c.pop3)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut say = |line: &str| {
        if !line.is_empty() {
            w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        }
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        assert!(reply.starts_with("+OK"), "{line}: {reply}\n{}", c.logs());
        reply.trim_end().to_string()
    };
    say("");
    say(&format!("USER {user}"));
    say("PASS pw");
    let stat = say("STAT");
    say("QUIT");
    stat.split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// Delivers a message with `subject` to `user` through the director's LMTP.
fn deliver(c: &Cluster, user: &str, subject: &str) {
    let stream = wait_for(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", c.lmtp)).ok()
    })
    .unwrap_or_else(|| panic!("no LMTP listener\n{}", c.logs()));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut say = |line: &str, reader: &mut BufReader<TcpStream>| {
        w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        reply(reader)
    };
    assert!(reply(&mut reader).starts_with("220 "), "{}", c.logs());
    assert!(say("LHLO test", &mut reader).contains("250"));
    assert!(say("MAIL FROM:<s@example.com>", &mut reader).starts_with("250"));
    let rcpt = say(&format!("RCPT TO:<{user}>"), &mut reader);
    assert_eq!(rcpt, "250 2.1.5 OK", "{}", c.logs());
    assert!(say("DATA", &mut reader).starts_with("354"));
    let done = say(&format!("Subject: {subject}\r\n\r\nmail\r\n."), &mut reader);
    assert!(done.starts_with("250 2.0.0"), "{done}\n{}", c.logs());
    say("QUIT", &mut reader);
}

/// Dovecot's own `doveadm director ARGS` on the director's admin socket prints what
/// `coteadm director ARGS` prints, on stdout and stderr (but for the program's name), and
/// exits the same.
fn assert_doveadm_agrees(c: &Cluster, args: &[&str]) {
    let conf = c.director.path("doveadm.conf");
    std::fs::write(&conf, "log_path = /dev/stderr\n").unwrap();
    let wrapper = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot");
    let (verb, rest) = match args {
        ["ring", "status", rest @ ..] => (&["ring", "status"][..], rest),
        [verb, rest @ ..] => (std::slice::from_ref(verb), rest),
        [] => return,
    };
    let out = Command::new(wrapper)
        .arg("doveadm")
        .arg("-c")
        .arg(&conf)
        .arg("director")
        .args(verb)
        .arg("-a")
        .arg(c.director.base_dir().join("director-admin"))
        .args(rest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).replace("doveadm: ", "");
    assert!(
        !stderr.contains("t/oracle/dovecot:"),
        "doveadm director {args:?} did not run (run `make oracle`): {stderr}"
    );
    let (code, ours, our_stderr) = c.adm(args);
    assert_eq!(
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr
        ),
        (code, ours, our_stderr.replace("coteadm: ", "")),
        "doveadm and coteadm director {args:?}"
    );
}

#[test]
fn users_stay_on_their_backend_and_move_when_told() {
    let c = cluster();
    let (on_a, on_b) = users_by_backend();
    assert!(on_a.len() >= 3 && on_b.len() >= 2, "{on_a:?} {on_b:?}");

    // Every login of a user, and its mail, lands on the backend the ring gives it.
    for (i, user) in on_a.iter().take(2).chain(on_b.iter().take(2)).enumerate() {
        let want = hashed("127.0.0.2 127.0.0.3", user).to_string();
        for round in 0..2 {
            let subject = format!("{user}-login-{i}-{round}");
            assert_eq!(session_lands_on(&c, user, &subject), want, "{}", c.logs());
        }
        let subject = format!("{user}-lmtp");
        deliver(&c, user, &subject);
        assert_eq!(
            stored_on(&c, user, &subject),
            [want.as_str()],
            "{}",
            c.logs()
        );
        // POP3 finds the three messages: it is on the same backend.
        assert_eq!(pop3_count(&c, user), "3", "{}", c.logs());
    }
    let status = c.adm_ok(&["status"]);
    let lines: Vec<&str> = status.lines().collect();
    assert!(
        lines[0].starts_with("mail server ip tag vhosts state state changed users"),
        "{status}"
    );
    assert!(
        lines[1].starts_with("127.0.0.2") && lines[1].contains(" up "),
        "{status}"
    );
    assert!(lines[1].trim_end().ends_with(" 2"), "{status}");
    assert!(lines[2].starts_with("127.0.0.3"), "{status}");

    // A session held open keeps its user on a backend marked down; new users go elsewhere.
    let held_user = &on_a[0];
    let mut held = login(&c, held_user);
    append(&c, &mut held, "held-before-down");
    assert_eq!(stored_on(&c, held_user, "held-before-down"), ["127.0.0.2"]);
    c.adm_ok(&["down", "127.0.0.2"]);
    let fresh = &on_a[2];
    assert_eq!(session_lands_on(&c, fresh, "fresh-while-down"), "127.0.0.3");
    assert_eq!(
        session_lands_on(&c, held_user, "again-while-down"),
        "127.0.0.2"
    );
    deliver(&c, held_user, "lmtp-while-down");
    assert_eq!(stored_on(&c, held_user, "lmtp-while-down"), ["127.0.0.2"]);
    let user_status = c.adm_ok(&["status", held_user]);
    assert!(
        user_status.starts_with("Current: 127.0.0.2 (expires "),
        "{user_status}"
    );
    assert!(
        user_status.contains("\nHashed: 127.0.0.3\nInitial config: 127.0.0.2\n"),
        "{user_status}"
    );
    let status = c.adm_ok(&["status"]);
    assert!(
        status.lines().nth(1).unwrap().contains(" down "),
        "{status}"
    );
    let users_file = c.director.path("map-users");
    std::fs::write(&users_file, format!("{held_user}\n{fresh}\n")).unwrap();
    let users_file = users_file.to_str().unwrap();
    let held_hash = user_hash(held_user, "%Lu").unwrap().to_string();
    for args in [
        &["status"][..],
        &["status", held_user],
        &["status", "nobody"],
        &["map", "-f", users_file],
        &["map", "-u", held_user],
        &["ring", "status"],
        &["remove", "127.0.0.9"],
        &["up", "127.0.0.9"],
        &["down", "127.0.0.9"],
        &["flush", "127.0.0.9"],
        &["add", "127.0.0.2", "1001"],
        &["move", held_user, "127.0.0.9"],
        &["map", "-f", users_file, "127.0.0.2"],
        &["map", "-f", users_file, "-h", &held_hash],
        &["kick", "nobody"],
    ] {
        assert_doveadm_agrees(&c, args);
    }

    // flush: users whose place changed move now; their sessions are kicked.
    c.adm_ok(&["flush", "127.0.0.2"]);
    assert!(
        wait_for(Duration::from_secs(20), || held.closed().then_some(())).is_some(),
        "the held session was not kicked\n{}",
        c.logs()
    );
    assert_eq!(session_lands_on(&c, held_user, "after-flush"), "127.0.0.3");
    deliver(&c, held_user, "lmtp-after-flush");
    assert_eq!(stored_on(&c, held_user, "lmtp-after-flush"), ["127.0.0.3"]);

    // map lists the assignments with the user names the userdb gives... here a users file.
    let map = c.adm_ok(&["map", "-f", users_file, "127.0.0.3"]);
    assert!(map.starts_with("user"), "{map}");
    for user in [held_user, fresh] {
        assert!(
            map.lines()
                .any(|l| l.starts_with(&format!("{user} ")) && l.contains("127.0.0.3")),
            "{user}: {map}"
        );
    }

    // remove: the backend's users are forgotten; they go by the ring of what is left.
    c.adm_ok(&["up", "127.0.0.2"]);
    c.adm_ok(&["remove", "127.0.0.3"]);
    let b_user = &on_b[0];
    assert_eq!(session_lands_on(&c, b_user, "after-remove"), "127.0.0.2");
    assert_eq!(session_lands_on(&c, held_user, "after-remove"), "127.0.0.2");
    let (code, _, err) = c.adm(&["remove", "127.0.0.3"]);
    assert_eq!(code, 68, "{err}");
    assert!(err.contains("127.0.0.3: doesn't exist"), "{err}");

    // add puts it back; kick ends a user's sessions.
    c.adm_ok(&["add", "127.0.0.3", "100"]);
    let mut kicked = login(&c, b_user);
    c.adm_ok(&["kick", b_user]);
    assert!(
        wait_for(Duration::from_secs(20), || kicked.closed().then_some(())).is_some(),
        "kick did not end the session\n{}",
        c.logs()
    );
    let ring = c.adm_ok(&["ring", "status"]);
    assert!(ring.starts_with("director ip port type"), "{ring}");
    assert!(ring.contains(" self "), "{ring}");
}

/// Starts a server with `extra` and waits for it to exit with an error naming `needle`.
fn refuses_to_start(extra: &str, needle: &str) {
    let mut server = Server::spawn(extra);
    let status = wait_for(Duration::from_secs(20), || {
        server.child.try_wait().ok().flatten()
    })
    .unwrap_or_else(|| panic!("cote kept running with {extra}"));
    assert!(!status.success());
    let logs = server.logs();
    assert!(logs.contains(needle), "{needle}\n{logs}");
}

#[test]
fn unusable_director_settings_are_refused_at_startup() {
    refuses_to_start(
        "director_servers = 127.0.0.9 127.0.0.8\n\
         director_mail_servers = 127.0.0.2\n\
         service director {\n  inet_listener {\n    port = 9090\n  }\n}\n",
        "Fatal: Error reading configuration: director_servers doesn't list ourself \
         (127.0.0.1:9090)",
    );
    refuses_to_start(
        "director_mail_servers = 10.0.0.9-10.0.0.1\n",
        "Invalid value for director_mail_servers setting: IP addresses reversed: \
         10.0.0.9-10.0.0.1, No valid servers specified",
    );
    refuses_to_start(
        "director_servers = 127.0.0.1\ndirector_mail_servers = 127.0.0.2\n",
        "No inet_listeners defined for director service (for standalone keep \
         director_servers empty)",
    );
}

/// The configuration of a director on `listen` in a ring with 127.0.0.1 and 127.0.0.4.
fn ring_member(port: u16) -> String {
    format!(
        "director_servers = 127.0.0.1 127.0.0.4\n\
         disable_plaintext_auth = no\n\
         service director {{\n  inet_listener {{\n    port = {port}\n  }}\n}}\n"
    )
}

#[test]
fn two_directors_agree_on_where_users_are() {
    let ring_port = free_port();
    let c = cluster_with(&ring_member(ring_port));
    let (second, _, _) = start_director(c._passdb.path(), "127.0.0.4", &ring_member(ring_port));
    let logs = || format!("{}\n=== second director\n{}", c.logs(), second.logs());
    let synced = wait_for(Duration::from_secs(30), || {
        let (_, out, _) = adm(&c.director, &["ring", "status"]);
        out.contains("synced").then_some(out)
    });
    let ring = synced.unwrap_or_else(|| panic!("the directors did not connect\n{}", logs()));
    assert!(ring.contains("127.0.0.4"), "{ring}");
    let at_second = ("127.0.0.4", second.imap);
    let (on_a, on_b) = users_by_backend();

    // A user placed by the first director is where the second one sends it too.
    let user = &on_a[0];
    let mut held = login(&c, user);
    append(&c, &mut held, "first");
    assert_eq!(stored_on(&c, user, "first"), ["127.0.0.2"]);
    let on_second = wait_for(Duration::from_secs(20), || {
        let out = c.adm_on(&second, &["status", user]);
        out.starts_with("Current: 127.0.0.2").then_some(out)
    });
    assert!(on_second.is_some(), "{}", logs());

    // A backend marked down on one is down on the other: its users stay, new ones don't come.
    c.adm_ok(&["down", "127.0.0.2"]);
    let down = wait_for(Duration::from_secs(20), || {
        let out = c.adm_on(&second, &["status"]);
        out.lines()
            .any(|l| l.starts_with("127.0.0.2") && l.contains(" down "))
            .then_some(())
    });
    assert!(down.is_some(), "{}", logs());
    assert_eq!(
        session_via(&c, at_second, user, "second-while-down"),
        "127.0.0.2"
    );
    assert_eq!(
        session_via(&c, at_second, &on_a[1], "fresh-on-second"),
        "127.0.0.3"
    );
    assert_eq!(
        session_lands_on(&c, &on_a[1], "fresh-then-first"),
        "127.0.0.3"
    );

    // A move made on the second kicks the session held through the first, and both send the
    // user to its new backend.
    c.adm_on(&second, &["move", user, "127.0.0.3"]);
    assert!(
        wait_for(Duration::from_secs(20), || held.closed().then_some(())).is_some(),
        "the session on the first director was not kicked\n{}",
        logs()
    );
    assert_eq!(session_lands_on(&c, user, "after-move"), "127.0.0.3");
    assert_eq!(
        session_via(&c, at_second, user, "after-move-2"),
        "127.0.0.3"
    );
    assert_eq!(
        session_via(&c, at_second, &on_b[0], "b-user"),
        "127.0.0.3",
        "{}",
        logs()
    );
}

#[test]
fn open_sessions_do_not_use_up_the_directors_client_limit() {
    let c = cluster_with("service director {\n  client_limit = 3\n}\n");
    let users: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
    // More sessions held open than the director takes connections at once.
    let mut held: Vec<Client> = users[..6].iter().map(|u| login(&c, u)).collect();
    let last = &users[7];
    let want = hashed("127.0.0.2 127.0.0.3", last).to_string();
    assert_eq!(session_lands_on(&c, last, "still-room"), want);
    let status = c.adm_ok(&["status"]);
    assert!(status.starts_with("mail server ip"), "{status}");
    // Each of them is still registered: a kick ends it.
    c.adm_ok(&["kick", &users[0]]);
    assert!(
        wait_for(Duration::from_secs(20), || held[0].closed().then_some(())).is_some(),
        "kick did not end the session\n{}",
        c.logs()
    );
    for client in &mut held[1..] {
        client.send(b"n NOOP\r\n");
        let line = client.line();
        assert!(
            line.starts_with("n OK NOOP completed"),
            "{line}\n{}",
            c.logs()
        );
    }
}
