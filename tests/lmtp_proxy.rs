//! LMTP proxying (`lmtp_proxy = yes`) between two real cote servers: recipients whose passdb
//! fields say `proxy host=127.0.0.2 port=...` are relayed to the backend's LMTP, the others
//! are delivered here, and every recipient gets its own answer, in RCPT order.

mod login_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use login_support::{free_port, Server, USERS};

fn server_with_lmtp(users: &str, listen: &str, lmtp: u16, extra: &str) -> Server {
    Server::start_with(
        users,
        listen,
        &format!(
            "protocols = imap lmtp\n\
             login_trusted_networks = 127.0.0.1/32\n\
             service lmtp {{\n  inet_listener lmtp {{\n    port = {lmtp}\n  }}\n}}\n\
             {extra}"
        ),
    )
}

/// Reads one (maybe multi-line) reply.
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

fn files_in(server: &Server, user: &str) -> Vec<String> {
    let dir = server.path(&format!("mail/{user}/new"));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .collect()
}

#[test]
fn recipients_are_relayed_to_their_backends_in_order() {
    let backend_lmtp = free_port();
    let backend = server_with_lmtp(USERS, "127.0.0.2", backend_lmtp, "");
    let down = free_port();
    let users = format!(
        "alice:{{PLAIN}}x::::::proxy host=127.0.0.2 port={backend_lmtp}\n\
         bob:{{PLAIN}}hunter2:1001:1001::/nonexistent/bob\n\
         dave:{{PLAIN}}x::::::proxy host=127.0.0.2 port={down} proxy_timeout=2\n\
         carol:{{PLAIN}}x::::::proxy host=127.0.0.2 port={backend_lmtp} destuser=bob\n\
         nobody:{{PLAIN}}x::::::proxy host=127.0.0.2 port={backend_lmtp}\n"
    );
    let lmtp = free_port();
    let proxy = server_with_lmtp(&users, "127.0.0.1", lmtp, "lmtp_proxy = yes\n");
    let logs = || {
        format!(
            "--- proxy\n{}\n--- backend\n{}",
            proxy.logs(),
            backend.logs()
        )
    };

    let stream = login_support::wait_for(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", lmtp)).ok()
    })
    .unwrap_or_else(|| panic!("no LMTP listener\n{}", logs()));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    assert!(reply(&mut reader).starts_with("220 "), "{}", logs());
    w.write_all(b"LHLO client.example\r\n").unwrap();
    assert!(reply(&mut reader).contains("250 "), "{}", logs());
    w.write_all(b"MAIL FROM:<sender@example.com>\r\n").unwrap();
    assert_eq!(reply(&mut reader), "250 2.1.0 OK", "{}", logs());
    let mut rcpt = |who: &str| {
        w.write_all(format!("RCPT TO:<{who}>\r\n").as_bytes())
            .unwrap();
        reply(&mut reader)
    };
    assert_eq!(rcpt("alice"), "250 2.1.5 OK", "{}", logs());
    assert_eq!(rcpt("bob"), "250 2.1.5 OK", "{}", logs());
    let dave = rcpt("dave");
    assert!(
        dave.starts_with("451 4.4.0 Proxy failed (connect, session="),
        "{dave}\n{}",
        logs()
    );
    assert_eq!(rcpt("carol"), "250 2.1.5 OK", "{}", logs());
    // The backend does not know this user: its refusal, with our address in it.
    let nobody = rcpt("nobody");
    assert!(
        nobody.starts_with("550 5.1.1 <nobody> User doesn't exist"),
        "{nobody}\n{}",
        logs()
    );
    w.write_all(b"DATA\r\n").unwrap();
    assert!(reply(&mut reader).starts_with("354"), "{}", logs());
    w.write_all(b"Subject: relayed\r\n\r\nline\r\n..dot\r\n.\r\n")
        .unwrap();
    let answers: Vec<String> = (0..3).map(|_| reply(&mut reader)).collect();
    assert!(
        answers[0].starts_with("250 2.0.0 <alice> ") && answers[0].ends_with(" Saved"),
        "{answers:?}\n{}",
        logs()
    );
    assert!(
        answers[1].starts_with("250 2.0.0 <bob> "),
        "{answers:?}\n{}",
        logs()
    );
    assert!(
        answers[2].starts_with("250 2.0.0 <carol> "),
        "{answers:?}\n{}",
        logs()
    );
    w.write_all(b"QUIT\r\n").unwrap();
    assert!(reply(&mut reader).starts_with("221"));

    // alice's and carol's (as bob) copies went to the backend, bob's stayed here.
    for user in ["alice", "bob"] {
        let files = files_in(&backend, user);
        assert_eq!(files.len(), 1, "{user}\n{}", logs());
        let message = &files[0];
        assert!(
            message.contains("Subject: relayed\n\nline\n.dot\n"),
            "{message}"
        );
        // The backend writes its own Return-Path; the proxy adds only its Received.
        assert_eq!(message.matches("Return-Path:").count(), 1, "{message}");
        assert_eq!(message.matches("Received:").count(), 2, "{message}");
        // The client's LHLO name reached the backend through XCLIENT-trusted ADDR.
        assert!(
            message.contains("Received: from client.example ([127.0.0.1])"),
            "{message}"
        );
    }
    assert_eq!(files_in(&proxy, "bob").len(), 1, "{}", logs());
    assert!(files_in(&proxy, "alice").is_empty());
    let sent = proxy.wait_log("Sent message to <alice> at 127.0.0.2:");
    assert!(sent.contains("(1/"), "{sent}");
}
