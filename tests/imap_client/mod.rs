//! The IMAP client the integration tests share: numbered tags, responses read with the
//! literals they carry, and each command's answer as its untagged responses plus the tagged
//! status without the tag and without Dovecot's timing (`(0.001 + 0.000 secs)`), so that
//! cote's and Dovecot's answers to one command compare equal.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connection to an IMAP server on loopback.
pub struct Imap {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
    tag: u32,
}

impl Imap {
    /// Connects and reads the `* OK` greeting.
    pub fn connect(port: u16) -> Imap {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone the socket"));
        let mut imap = Imap {
            reader,
            stream,
            tag: 0,
        };
        let greeting = imap.line();
        assert!(greeting.starts_with("* OK"), "greeting: {greeting:?}");
        imap
    }

    /// Connects and logs in (which must succeed).
    pub fn login(port: u16, user: &str, password: &str) -> Imap {
        let mut imap = Imap::connect(port);
        imap.ok(format!("LOGIN {user} {password}"));
        imap
    }

    pub fn send(&mut self, data: &[u8]) {
        self.stream.write_all(data).expect("write to the server");
    }

    /// The next line without CRLF (literals not followed); "" at EOF.
    pub fn line(&mut self) -> String {
        let mut buf = Vec::new();
        let _ = self.reader.read_until(b'\n', &mut buf);
        String::from_utf8_lossy(&buf)
            .trim_end_matches(['\r', '\n'])
            .to_string()
    }

    /// One response with the literals in it, their data as sent, CRLF kept; empty at EOF.
    pub fn response(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let mut line = Vec::new();
            let _ = self.reader.read_until(b'\n', &mut line);
            out.extend_from_slice(&line);
            let Some(size) = literal_size(&line) else {
                return out;
            };
            let mut data = vec![0; size];
            self.reader.read_exact(&mut data).expect("literal data");
            out.extend_from_slice(&data);
        }
    }

    /// Sends `<tag> command` (literals in it non-synchronizing); returns the tag.
    pub fn send_command(&mut self, command: impl AsRef<[u8]>) -> String {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let mut data = format!("{tag} ").into_bytes();
        data.extend_from_slice(command.as_ref());
        data.extend_from_slice(b"\r\n");
        self.send(&data);
        tag
    }

    /// Reads lines until one starts with `prefix` (that one included); panics at EOF.
    pub fn until(&mut self, prefix: &str) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let line = self.line();
            assert!(
                !line.is_empty(),
                "connection ended before {prefix:?}; got {lines:?}"
            );
            let done = line.starts_with(prefix);
            lines.push(line);
            if done {
                return lines;
            }
        }
    }

    /// Runs a command: its untagged responses as read, and its tagged status (without tag,
    /// CRLF and timing).
    pub fn run(&mut self, command: impl AsRef<[u8]>) -> (Vec<Vec<u8>>, String) {
        let command = command.as_ref();
        let tag = self.send_command(command);
        let tagged = format!("{tag} ");
        let mut untagged: Vec<Vec<u8>> = Vec::new();
        loop {
            let response = self.response();
            assert!(
                !response.is_empty(),
                "connection lost after {}: {:?}",
                String::from_utf8_lossy(&command[..command.len().min(200)]),
                untagged
                    .iter()
                    .map(|r| String::from_utf8_lossy(r))
                    .collect::<Vec<_>>()
            );
            if let Some(status) = response.strip_prefix(tagged.as_bytes()) {
                let status = String::from_utf8_lossy(status);
                return (
                    untagged,
                    without_timing(status.trim_end_matches(['\r', '\n'])),
                );
            }
            untagged.push(response);
        }
    }

    /// Runs a command: its untagged responses as text (CRLF at their end taken off) and
    /// last its tagged status.
    pub fn command(&mut self, command: impl AsRef<[u8]>) -> Vec<String> {
        let (untagged, status) = self.run(command);
        let mut lines: Vec<String> = untagged
            .iter()
            .map(|r| {
                String::from_utf8_lossy(r)
                    .trim_end_matches(['\r', '\n'])
                    .to_string()
            })
            .collect();
        lines.push(status);
        lines
    }

    /// `command`, which must answer OK.
    pub fn ok(&mut self, command: impl AsRef<[u8]>) -> Vec<String> {
        let command = command.as_ref();
        let lines = self.command(command);
        assert!(
            lines.last().is_some_and(|l| l.starts_with("OK")),
            "{}: {lines:?}",
            String::from_utf8_lossy(&command[..command.len().min(200)])
        );
        lines
    }
}

/// The size of the literal a line ends with (`{n}`, `{n+}` or `~{n}`).
pub fn literal_size(line: &[u8]) -> Option<usize> {
    let line = line.strip_suffix(b"}\r\n")?;
    let line = line.strip_suffix(b"+").unwrap_or(line);
    let open = line.iter().rposition(|&c| c == b'{')?;
    std::str::from_utf8(&line[open + 1..]).ok()?.parse().ok()
}

/// `OK Fetch completed (0.001 + 0.000 secs).` → `OK Fetch completed.`
pub fn without_timing(status: &str) -> String {
    match status.rfind(" (") {
        Some(i) if status.ends_with("secs).") => format!("{}.", &status[..i]),
        _ => status.to_string(),
    }
}

/// A command with a non-synchronizing literal: `before{n+}\r\n<data>after`.
pub fn with_literal(before: &str, data: &[u8], after: &str) -> Vec<u8> {
    let mut out = format!("{before}{{{}+}}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(after.as_bytes());
    out
}

/// An APPEND of `message` to `mailbox`.
pub fn append(mailbox: &str, message: &[u8]) -> Vec<u8> {
    with_literal(&format!("APPEND {mailbox} "), message, "")
}
