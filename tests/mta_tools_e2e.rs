//! Debian's own mail tools against cote, as a site's MTA side uses them: swaks speaking LMTP
//! (on the inet listener, with STARTTLS, pipelined to two users, over the UNIX socket, a
//! refused recipient) and fetchmail downloading by POP3 (UIDL tracking with `keep`, then
//! fetching with deletion). A tool that is not installed skips its part with a message
//! (.ci/run installs swaks, libnet-ssleay-perl and fetchmail).

mod login_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use login_support::{free_port, python, Server};

fn installed(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: {tool} is not installed (apt-get install {tool})");
    }
    found
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The subjects of alice's messages, over POP3 (poplib).
fn pop3_subjects(port: u16, user: &str, password: &str) -> Vec<String> {
    let out = python(
        r#"
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]))
p.user(sys.argv[2])
p.pass_(sys.argv[3])
for i in range(1, p.stat()[0] + 1):
    for l in p.top(i, 0)[1]:
        if l.startswith(b"Subject: "):
            print(l[9:].decode())
p.quit()
"#,
        &[port.to_string(), user.into(), password.into()],
    );
    out.lines().map(str::to_string).collect()
}

#[test]
fn swaks_delivers_over_lmtp_and_fetchmail_downloads_over_pop3() {
    let (pop3, lmtp) = (free_port(), free_port());
    let server = Server::start(&format!(
        "protocols = imap pop3 lmtp\n\
         service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
         inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
         service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    \
         port = {lmtp}\n  }}\n}}\n"
    ));
    let swaks_ok = installed("swaks");
    if swaks_ok {
        swaks_part(&server, lmtp);
        let subjects = pop3_subjects(pop3, "alice", "secret");
        assert_eq!(
            subjects,
            [
                "swaks plain",
                "swaks starttls",
                "swaks pipelined",
                "swaks socket"
            ],
            "{}",
            server.logs()
        );
        assert_eq!(pop3_subjects(pop3, "bob", "hunter2"), ["swaks pipelined"]);
    }
    if installed("fetchmail") {
        if !swaks_ok {
            // Something to download all the same.
            let out = python(
                "import smtplib, sys\n\
                 l = smtplib.LMTP('127.0.0.1', int(sys.argv[1]))\n\
                 for s in ['one', 'two']:\n    \
                 l.sendmail('s@example.com', ['alice'], 'Subject: %s\\r\\n\\r\\nx\\r\\n' % s)\n\
                 l.quit()\n",
                &[lmtp.to_string()],
            );
            assert!(out.is_empty(), "{out}");
        }
        fetchmail_part(&server, pop3);
    }
}

fn swaks(args: &[&str]) -> Output {
    Command::new("swaks")
        .args(["--protocol", "LMTP", "--from", "sender@example.com"])
        .args(["--helo", "client.example", "--timeout", "20"])
        .args(args)
        .output()
        .unwrap()
}

fn swaks_part(server: &Server, lmtp: u16) {
    let port = lmtp.to_string();
    let inet = ["--server", "127.0.0.1", "--port", &port];
    let body = "line one\n.leading dot\n..two dots\n";

    let out = swaks(
        &[
            &inet[..],
            &["--to", "alice", "--header", "Subject: swaks plain"],
        ]
        .concat(),
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}\n{}", server.logs());
    assert!(all.contains("<-  250-CHUNKING"), "{all}");
    assert!(all.contains("<-  250 STARTTLS"), "{all}");
    assert!(all.contains("<-  250 2.0.0 <alice> "), "{all}");

    let out = swaks(
        &[
            &inet[..],
            &[
                "--tls",
                "--to",
                "alice",
                "--header",
                "Subject: swaks starttls",
            ],
            &["--body", body],
        ]
        .concat(),
    );
    let all = text(&out);
    assert!(out.status.success(), "{all}\n{}", server.logs());
    assert!(
        all.contains("<-  220 2.0.0 Begin TLS negotiation now."),
        "{all}"
    );
    assert!(all.contains("=== TLS started"), "{all}");
    // After TLS the server does not offer it again.
    assert!(all.contains("<~  250 PIPELINING"), "{all}");

    let out = swaks(
        &[
            &inet[..],
            &["--pipeline", "--to", "alice,bob,nosuch"],
            &["--header", "Subject: swaks pipelined"],
        ]
        .concat(),
    );
    let all = text(&out);
    assert!(
        all.contains("<** 550 5.1.1 <nosuch> User doesn't exist: nosuch"),
        "{all}"
    );
    assert!(all.contains("<-  250 2.0.0 <alice> "), "{all}");
    assert!(all.contains("<-  250 2.0.0 <bob> "), "{all}");

    let socket = server.base_dir().join("lmtp");
    let socket = socket.display().to_string();
    let out = swaks(&[
        "--socket",
        &socket,
        "--to",
        "alice",
        "--header",
        "Subject: swaks socket",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}\n{}", server.logs());

    let out = swaks(&[&inet[..], &["--to", "nosuch"]].concat());
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("<** 550 5.1.1 <nosuch> User doesn't exist: nosuch"),
        "{all}"
    );
}

/// fetchmail with `keep` and `uidl` fetches everything once and nothing the second time
/// (the UIDLs it saw stay the same); without `keep` it fetches and deletes.
fn fetchmail_part(server: &Server, pop3: u16) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fetched = d.join("fetched");
    let rc = |keep: bool| {
        let path = d.join(if keep { "keep.rc" } else { "flush.rc" });
        std::fs::write(
            &path,
            format!(
                "set no syslog\n\
                 poll 127.0.0.1 service {pop3} protocol pop3 uidl:\n  \
                 user \"alice\" there with password \"secret\" is \"root\" here\n  \
                 {} no rewrite sslproto ''\n  \
                 mda \"/bin/sh -c 'cat >> {}; echo ==== >> {}'\"\n",
                if keep { "keep" } else { "fetchall nokeep" },
                fetched.display(),
                fetched.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    let run = |rc: &Path| {
        Command::new("fetchmail")
            .args(["--nodetach", "--nosyslog", "-f"])
            .arg(rc)
            .arg("-i")
            .arg(d.join("fetchids"))
            .arg("--pidfile")
            .arg(d.join("fetchmail.pid"))
            .env("HOME", d)
            .env("FETCHMAILHOME", d)
            .output()
            .unwrap()
    };
    let count = || {
        std::fs::read_to_string(&fetched)
            .unwrap_or_default()
            .matches("====")
            .count()
    };
    let before = pop3_subjects(pop3, "alice", "secret").len();
    assert!(before > 0);
    let keep = rc(true);
    let out = run(&keep);
    assert!(out.status.success(), "{}\n{}", text(&out), server.logs());
    assert_eq!(count(), before, "{}", text(&out));
    // Same UIDLs: nothing new (fetchmail's exit code 1).
    let out = run(&keep);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(count(), before);
    assert_eq!(pop3_subjects(pop3, "alice", "secret").len(), before);
    let out = run(&rc(false));
    assert!(out.status.success(), "{}\n{}", text(&out), server.logs());
    assert_eq!(count(), 2 * before);
    assert!(
        pop3_subjects(pop3, "alice", "secret").is_empty(),
        "{}",
        server.logs()
    );
    let all = std::fs::read_to_string(&fetched).unwrap();
    assert!(
        all.contains("\n.leading dot\n..two dots\n") || before < 2,
        "{all}"
    );
}
