//! The ACL and shared-namespace oracle tests' view of an IMAP conversation: the shared
//! client's answers without the parts that differ between any two servers (UIDVALIDITY,
//! APPENDUID), so that cote's and Dovecot's answers compare equal.

#![allow(dead_code)]

#[path = "../imap_client/mod.rs"]
mod imap_client;

use imap_client::Imap;

/// A logged-in connection.
pub type Conn = Imap;

/// Logs in with the tests' password `pw`.
pub fn login(port: u16, user: &str) -> Conn {
    Imap::login(port, user, "pw")
}

/// Sends a command; returns the untagged lines and the tagged status, without timing,
/// UIDVALIDITY lines and APPENDUID codes.
pub fn command(conn: &mut Conn, text: &str) -> Vec<String> {
    conn.command(text)
        .into_iter()
        .filter(|l| !l.contains("UIDVALIDITY"))
        .map(|l| match l.find("[APPENDUID ") {
            Some(i) => match l[i..].find("] ") {
                Some(j) => format!("{}{}", &l[..i], &l[i + j + 2..]),
                None => l,
            },
            None => l,
        })
        .collect()
}

/// An APPEND of a small message.
pub fn append(conn: &mut Conn, mailbox: &str) -> Vec<String> {
    command(conn, &format!("APPEND {mailbox} {{12+}}\r\nSubject: x\r\n"))
}
