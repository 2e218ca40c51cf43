//! An IMAP client for the ACL oracle tests: one line per command, answers without the
//! parts that differ between any two servers (timings, UIDVALIDITY, APPENDUID), so that
//! cote's and Dovecot's answers compare equal.

#![allow(dead_code)]

#[path = "../login_support/mod.rs"]
mod login_support;

use login_support::Client;

/// A logged-in connection and the number of its last tag.
pub type Conn = (Client, u32);

/// Logs in; returns the connection and the next tag number.
pub fn login(port: u16, user: &str) -> (Client, u32) {
    let mut client = Client::connect(port);
    let greeting = client.line();
    assert!(greeting.starts_with("* OK"), "{greeting}");
    let mut conn = (client, 0);
    let answer = command(&mut conn, &format!("LOGIN {user} pw"));
    assert!(
        answer.last().is_some_and(|l| l.starts_with("OK")),
        "{answer:?}"
    );
    conn
}

/// Sends a command; returns the untagged lines and the tagged status without its timing
/// (and without the parts that differ between any two servers: UIDVALIDITY).
pub fn command(conn: &mut (Client, u32), text: &str) -> Vec<String> {
    conn.1 += 1;
    let tag = format!("t{}", conn.1);
    conn.0.send(format!("{tag} {text}\r\n").as_bytes());
    let mut lines = Vec::new();
    loop {
        let line = conn.0.line();
        assert!(!line.is_empty(), "connection lost after {text}: {lines:?}");
        if let Some(status) = line.strip_prefix(&format!("{tag} ")) {
            let status = match status.rfind(" (") {
                Some(i) if status.ends_with("secs).") => format!("{}.", &status[..i]),
                _ => status.to_string(),
            };
            lines.push(status);
            return lines
                .into_iter()
                .filter(|l| !l.contains("UIDVALIDITY"))
                .map(|l| match l.find("[APPENDUID ") {
                    Some(i) => match l[i..].find("] ") {
                        Some(j) => format!("{}{}", &l[..i], &l[i + j + 2..]),
                        None => l,
                    },
                    None => l,
                })
                .collect();
        }
        lines.push(line);
    }
}

/// An APPEND of a small message.
pub fn append(conn: &mut (Client, u32), mailbox: &str) -> Vec<String> {
    command(conn, &format!("APPEND {mailbox} {{12+}}\r\nSubject: x\r\n"))
}
