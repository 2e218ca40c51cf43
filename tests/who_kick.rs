//! `coteadm who` and `coteadm kick` against a running cote: sessions of two users over IMAP
//! and POP3 as anvil's CONNECT-DUMP lists them, doveadm's tables, and a kick that ends one
//! user's sessions (the clients hear Dovecot's shutdown words, then EOF) and leaves the
//! other's; and the same against a private Dovecot 2.3 and its doveadm, compared. Needs root
//! (mail processes become the users) and the oracle (`make oracle`).

// login_support and maildir_support each bring the port allocator (tests/port_support);
// the two copies claim ports through the same lock files, so they never collide.
#![allow(clippy::duplicate_mod)]

mod login_support;
mod maildir_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use login_support::{free_port, pop3_listener, wait_for, Client, Server};
use maildir_support::{oracle_root, Oracle};

fn coteadm(server: &Server, args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_coteadm"))
        .arg("-c")
        .arg(server.path("cote.conf"))
        .args(args)
        .output()
        .expect("run coteadm");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// Logs `user` in over IMAP; returns the client and its mail process's pid (from the login
/// process's `mpid=`).
fn imap_login(server: &Server, user: &str, password: &str) -> (Client, String) {
    let mut client = Client::connect(server.imap);
    assert!(client.line().starts_with("* OK"));
    client.send(format!("a LOGIN {user} {password}\r\n").as_bytes());
    let reply = loop {
        let line = client.line();
        if !line.starts_with('*') {
            break line;
        }
    };
    assert!(reply.starts_with("a OK"), "{reply}\n{}", server.logs());
    (
        client,
        mpid(server, &format!("imap-login: Info: Login: user=<{user}>")),
    )
}

fn pop3_login(server: &Server, port: u16, user: &str, password: &str) -> (Client, String) {
    let mut client = Client::connect(port);
    assert!(client.line().starts_with("+OK"));
    client.send(format!("USER {user}\r\n").as_bytes());
    assert!(client.line().starts_with("+OK"));
    client.send(format!("PASS {password}\r\n").as_bytes());
    let reply = client.line();
    assert!(reply.starts_with("+OK"), "{reply}\n{}", server.logs());
    (
        client,
        mpid(server, &format!("pop3-login: Info: Login: user=<{user}>")),
    )
}

fn mpid(server: &Server, needle: &str) -> String {
    let line = server.wait_log(needle);
    line.split("mpid=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no mpid in {line}"))
        .to_string()
}

/// doveadm's `who` table for these rows: the columns as wide as the first row (or the
/// titles) need, the last one given half the room left of 80 columns.
fn who_table(rows: &[[&str; 5]]) -> String {
    let titles = ["username", "#", "proto", "(pids)", "(ips)"];
    let widths: Vec<usize> = titles
        .iter()
        .zip(rows[0])
        .map(|(t, v)| t.len().max(v.len()))
        .collect();
    let total: usize = widths.iter().sum::<usize>() + 4;
    let last = widths[4] + (80 - total) / 2;
    let line = |v: [&str; 5]| {
        format!(
            "{:<w0$} {:>w1$} {:<w2$} {:<w3$} {:<last$}\n",
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
        )
    };
    let mut out = line(titles);
    for row in rows {
        out.push_str(&line(*row));
    }
    out
}

#[test]
fn who_lists_sessions_and_kick_ends_one_users() {
    let pop3 = free_port();
    // mail_max_userip_connections = 0: sessions are registered all the same.
    let server = Server::start(&format!(
        "protocols = imap pop3\nmail_max_userip_connections = 0\n{}",
        pop3_listener(pop3, 0)
    ));
    let (mut alice_imap, alice_imap_pid) = imap_login(&server, "alice", "secret");
    let (mut bob_imap, bob_imap_pid) = imap_login(&server, "bob", "hunter2");
    let (mut alice_pop3, alice_pop3_pid) = pop3_login(&server, pop3, "alice", "secret");

    let (out, err, code) = coteadm(&server, &["who"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let p = |pid: &str| format!("({pid})");
    let (a1, b1, a2) = (p(&alice_imap_pid), p(&bob_imap_pid), p(&alice_pop3_pid));
    let ip = "(127.0.0.1)";
    assert_eq!(
        out,
        who_table(&[
            ["alice", "1", "imap", &a1, ip],
            ["bob", "1", "imap", &b1, ip],
            ["alice", "1", "pop3", &a2, ip],
        ])
    );

    // -1: a line per session, the user column taking the room left.
    let (out, _, code) = coteadm(&server, &["who", "-1", "alice"]);
    assert_eq!(code, 0);
    let pid_width = alice_imap_pid.len().max(alice_pop3_pid.len()).max(3);
    let user_width = 8 + (80 - (8 + 5 + pid_width + 9 + 3)) / 2;
    assert_eq!(
        out,
        format!(
            "{:<user_width$} proto {:<pid_width$} ip       \n\
             {:<user_width$} imap  {:<pid_width$} 127.0.0.1\n\
             {:<user_width$} pop3  {:<pid_width$} 127.0.0.1\n",
            "username", "pid", "alice", alice_imap_pid, "alice", alice_pop3_pid
        )
    );
    // Filters: a user mask with wildcards, a network.
    let (out, _, _) = coteadm(&server, &["who", "-1", "B?B", "127.0.0.0/8"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (out, _, _) = coteadm(&server, &["who", "-1", "10.0.0.0/8"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (_, err, code) = coteadm(&server, &["who", "alice", "bob"]);
    assert_eq!(code, 64);
    assert!(
        err.contains("Error: Multiple username masks not supported"),
        "{err}"
    );

    // No anvil there: doveadm's fatal error and exit code.
    let (out, err, code) = coteadm(&server, &["who", "-a", "/nonexistent/anvil"]);
    assert_eq!((out.as_str(), code), ("", 89));
    assert!(
        err.contains("Fatal: net_connect_unix(/nonexistent/anvil) failed: No such file"),
        "{err}"
    );

    // Nobody matches: nothing is killed.
    let (out, _, code) = coteadm(&server, &["kick", "carol"]);
    assert_eq!((out.as_str(), code), ("no users kicked\n", 68));
    let (_, err, code) = coteadm(&server, &["kick"]);
    assert_eq!(code, 64);
    assert!(
        err.contains("user and/or ip[/bits] must be specified."),
        "{err}"
    );

    // A session in IDLE ends the same way.
    alice_imap.send(b"i IDLE\r\n");
    assert!(alice_imap.line().starts_with("+ idling"));
    // Piped, doveadm's user list comes before its title (see who::kick_output).
    let (out, err, code) = coteadm(&server, &["kick", "alice"]);
    assert_eq!(
        (out.as_str(), err.as_str(), code),
        (
            "alice kicked connections from the following users:\n\n",
            "",
            0
        )
    );
    let bye = alice_imap.line();
    assert_eq!(bye, "* BYE Server shutting down.", "{}", server.logs());
    assert!(alice_imap.closed());
    assert_eq!(alice_pop3.line(), "-ERR [SYS/TEMP] Server shutting down.");
    assert!(alice_pop3.closed());
    // As Dovecot logs it: the warning with the process's prefix, then the session's line.
    for (proto, pid) in [("imap", &alice_imap_pid), ("pop3", &alice_pop3_pid)] {
        server.wait_log(&format!(
            "{proto}({pid}): Warning: Killed with signal 15 (by pid="
        ));
        let disconnected = server.wait_log(&format!("{proto}(alice)<{pid}><"));
        assert!(
            disconnected.contains("Info: Disconnected: Server shutting down. "),
            "{disconnected}"
        );
    }
    // Sent by coteadm, running as this test's user.
    let killed = server.wait_log("Killed with signal 15");
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    assert!(
        killed.ends_with(&format!(" uid={uid} code=kill)")),
        "{killed}"
    );

    // Bob's session goes on; `who` soon lists only him.
    bob_imap.send(b"b NOOP\r\n");
    assert!(bob_imap.line().starts_with("b OK NOOP"));
    let expected = who_table(&[["bob", "1", "imap", &b1, ip]]);
    let listed = wait_for(Duration::from_secs(10), || {
        let (out, _, _) = coteadm(&server, &["who"]);
        (out == expected).then_some(())
    });
    assert!(listed.is_some(), "{}", coteadm(&server, &["who"]).0);
    let logs = server.logs();
    assert!(
        !logs.contains("killed with signal"),
        "the master must not report the kicked processes:\n{logs}"
    );
    bob_imap.send(b"c LOGOUT\r\n");
    assert!(bob_imap.line().starts_with("* BYE"));
}

/// The same logins, `who`, `who -1` and `kick` against a private Dovecot 2.3 (its doveadm)
/// and against cote (coteadm): the outputs compared with pids replaced, spaces collapsed
/// (column widths follow the pids' lengths; the layout itself is checked above) and the
/// rows sorted (doveadm lists them in its hash order).
#[test]
fn who_and_kick_as_doveadm() {
    let pop3 = free_port();
    let oracle = Oracle::start(
        "maildir:{dir}/mail/%u",
        &format!(
            "protocols = imap pop3\n{}",
            pop3_listener(pop3, 0).replacen("{\n", "{\n  chroot =\n", 1)
        ),
    );
    let conf = oracle.path("dovecot.conf");
    let doveadm = |args: &[&str]| -> (String, i32) {
        let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("t/oracle/dovecot"))
            .arg("doveadm")
            .arg("-c")
            .arg(&conf)
            .args(args)
            .env("COTE_DOVECOT_ROOT", oracle_root())
            .output()
            .expect("run doveadm");
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            out.status.code().unwrap_or(-1),
        )
    };
    let dovecot = scenario(oracle.port, pop3, &|_| "pw", &doveadm, &|| oracle.log());

    let cote_pop3 = free_port();
    let server = Server::start(&format!(
        "protocols = imap pop3\n{}",
        pop3_listener(cote_pop3, 0)
    ));
    let password = |user: &str| if user == "alice" { "secret" } else { "hunter2" };
    let cote = scenario(
        server.imap,
        cote_pop3,
        &password,
        &|args| {
            let (out, _, code) = coteadm(&server, args);
            (out, code)
        },
        &|| server.logs(),
    );
    assert_eq!(cote, dovecot, "cote (left) and Dovecot (right) differ");
}

/// Logs alice in over IMAP and POP3 and bob over IMAP, then runs the admin commands; what
/// they printed, normalized (see [`who_and_kick_as_doveadm`]).
fn scenario(
    imap: u16,
    pop3: u16,
    password: &dyn Fn(&str) -> &'static str,
    adm: &dyn Fn(&[&str]) -> (String, i32),
    logs: &dyn Fn() -> String,
) -> Vec<String> {
    let imap_login = |user: &str| {
        let mut c = Client::connect(imap);
        assert!(c.line().starts_with("* OK"));
        c.send(format!("a LOGIN {user} {}\r\n", password(user)).as_bytes());
        loop {
            let line = c.line();
            if !line.starts_with('*') {
                assert!(line.starts_with("a OK"), "{line}\n{}", logs());
                break;
            }
        }
        c
    };
    let mut alice_imap = imap_login("alice");
    let mut bob_imap = imap_login("bob");
    let mut alice_pop3 = Client::connect(pop3);
    assert!(alice_pop3.line().starts_with("+OK"));
    alice_pop3.send(format!("USER alice\r\nPASS {}\r\n", password("alice")).as_bytes());
    assert!(alice_pop3.line().starts_with("+OK"));
    let reply = alice_pop3.line();
    assert!(reply.starts_with("+OK"), "{reply}\n{}", logs());

    let normalized = |(out, code): (String, i32)| -> Vec<String> {
        let mut lines: Vec<String> = out
            .lines()
            .map(|l| {
                l.split_whitespace()
                    .map(|w| {
                        let digits = w.trim_matches(|c| c == '(' || c == ')');
                        if digits.len() > 1 && digits.bytes().all(|b| b.is_ascii_digit()) {
                            w.replace(digits, "PID")
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if lines.len() > 2 {
            lines[1..].sort();
        }
        lines.push(format!("exit {code}"));
        lines
    };
    let mut out = Vec::new();
    for args in [
        &["who"][..],
        &["who", "-1"],
        &["who", "-1", "ALI*", "127.0.0.1/32"],
        &["who", "nobody"],
        &["kick", "carol"],
        &["kick", "alice"],
    ] {
        out.push(format!("$ {}", args.join(" ")));
        out.extend(normalized(adm(args)));
    }
    out.push(format!("alice imap: {}", alice_imap.line()));
    out.push(format!("alice pop3: {}", alice_pop3.line()));
    out.push(format!(
        "alice closed: {}",
        alice_imap.closed() && alice_pop3.closed()
    ));
    let only_bob = wait_for(Duration::from_secs(10), || {
        let (text, _) = adm(&["who"]);
        (!text.contains("alice")).then_some(text)
    });
    out.push(format!(
        "who after the kick: {:?}",
        only_bob.map(|t| normalized((t, 0)))
    ));
    bob_imap.send(b"b LOGOUT\r\n");
    assert!(bob_imap.line().starts_with("* BYE"));
    out
}
