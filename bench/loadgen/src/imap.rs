//! A minimal IMAP client: tagged commands, literals in both directions, and the checks the
//! workloads make on each answer (tagged status, EXISTS/EXPUNGE tracking, FETCH counts).

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A command failed: the connection broke, or the server answered something the workload
/// counts as wrong.
#[derive(Debug)]
pub enum ClientError {
    Io(io::Error),
    /// The answer is not what was expected (a NO/BAD, a wrong count, a missing message).
    Wrong(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(err) => write!(f, "connection: {err}"),
            ClientError::Wrong(text) => write!(f, "{text}"),
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(err: io::Error) -> Self {
        ClientError::Io(err)
    }
}

pub fn wrong(text: impl Into<String>) -> ClientError {
    ClientError::Wrong(text.into())
}

/// One logical response line: the text with each literal's bytes replaced by `{n}`, and the
/// literals' sizes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub literal_sizes: Vec<usize>,
}

/// The answer to one command.
#[derive(Debug, Default)]
pub struct Reply {
    pub untagged: Vec<Line>,
    /// `OK`, `NO` or `BAD`.
    pub status: String,
    /// The tagged line whole, for error messages.
    pub tagged: String,
}

impl Reply {
    /// The error unless the tagged status is OK.
    pub fn expect_ok(&self, command: &str) -> Result<(), ClientError> {
        if self.status == "OK" {
            Ok(())
        } else {
            Err(wrong(format!("{command}: {}", self.tagged)))
        }
    }

    /// Untagged lines `* <n> <keyword> ...` (EXISTS, EXPUNGE, FETCH), as (n, line).
    pub fn numbered<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = (u32, &'a Line)> + 'a {
        self.untagged.iter().filter_map(move |line| {
            let mut words = line.text.split(' ');
            let star = words.next()?;
            let number = words.next()?.parse::<u32>().ok()?;
            let word = words.next()?;
            (star == "*" && word.eq_ignore_ascii_case(keyword)).then_some((number, line))
        })
    }

    /// The numbers of an untagged `* SEARCH` or `* SORT` answer.
    pub fn search_numbers(&self, keyword: &str) -> Result<Vec<u32>, ClientError> {
        let prefix = format!("* {keyword}");
        let line = self
            .untagged
            .iter()
            .find(|line| {
                line.text.len() >= prefix.len()
                    && line.text[..prefix.len()].eq_ignore_ascii_case(&prefix)
            })
            .ok_or_else(|| wrong(format!("{keyword}: no untagged {keyword} answer")))?;
        line.text[prefix.len()..]
            .split_whitespace()
            .map(|word| {
                word.parse::<u32>()
                    .map_err(|_| wrong(format!("{keyword}: bad number {word:?}")))
            })
            .collect()
    }
}

/// What the client knows of the selected mailbox, kept exact from EXISTS and EXPUNGE.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Selected {
    pub exists: u32,
}

impl Selected {
    /// Applies a reply's EXISTS and EXPUNGE lines in order; an EXPUNGE of a message the client
    /// doesn't know is an error.
    pub fn apply(&mut self, reply: &Reply) -> Result<(), ClientError> {
        for line in &reply.untagged {
            let mut words = line.text.split(' ');
            let (Some("*"), Some(number), Some(word)) = (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let Ok(number) = number.parse::<u32>() else {
                continue;
            };
            if word.eq_ignore_ascii_case("EXISTS") {
                self.exists = number;
            } else if word.eq_ignore_ascii_case("EXPUNGE") {
                if number == 0 || number > self.exists {
                    return Err(wrong(format!(
                        "EXPUNGE {number} with only {} messages",
                        self.exists
                    )));
                }
                self.exists -= 1;
            }
        }
        Ok(())
    }
}

pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    next_tag: u32,
    pub capabilities: Vec<String>,
}

impl Client {
    /// Connects and reads the greeting (which must be `* OK`).
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client, ClientError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let writer = stream.try_clone()?;
        let mut client = Client {
            reader: BufReader::new(stream),
            writer,
            next_tag: 1,
            capabilities: Vec::new(),
        };
        let greeting = client.read_line()?;
        if !greeting.text.starts_with("* OK") {
            return Err(wrong(format!("greeting: {}", greeting.text)));
        }
        client.note_capabilities(&greeting.text);
        Ok(client)
    }

    pub fn login(&mut self, user: &str, password: &str) -> Result<Reply, ClientError> {
        let reply = self.command(&format!("LOGIN {} {}", quote(user), quote(password)))?;
        reply.expect_ok("LOGIN")?;
        let tagged = reply.tagged.clone();
        self.note_capabilities(&tagged);
        if !self
            .capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case("IMAP4rev1"))
            || !tagged.contains("[CAPABILITY")
        {
            let caps = self.command("CAPABILITY")?;
            caps.expect_ok("CAPABILITY")?;
            if let Some(line) = caps
                .untagged
                .iter()
                .find(|l| l.text.starts_with("* CAPABILITY"))
            {
                let text = line.text.clone();
                self.note_capabilities(&text);
            }
        }
        Ok(reply)
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    fn note_capabilities(&mut self, text: &str) {
        let Some(start) = text.find("CAPABILITY ") else {
            return;
        };
        let rest = &text[start + "CAPABILITY ".len()..];
        let end = rest.find(']').unwrap_or(rest.len());
        self.capabilities = rest[..end].split_whitespace().map(str::to_string).collect();
    }

    /// Sends `<tag> <command>` and reads up to its tagged answer.
    pub fn command(&mut self, command: &str) -> Result<Reply, ClientError> {
        let tag = self.tag();
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())?;
        self.read_reply(&tag)
    }

    /// Sends `<tag> <prefix> {n}`, waits for the continuation, sends the literal and reads the
    /// answer (synchronizing literals: every server takes them).
    pub fn command_with_literal(
        &mut self,
        prefix: &str,
        literal: &[u8],
    ) -> Result<Reply, ClientError> {
        let tag = self.tag();
        self.writer
            .write_all(format!("{tag} {prefix} {{{}}}\r\n", literal.len()).as_bytes())?;
        let mut early = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.text.starts_with('+') {
                break;
            }
            if line.text.starts_with(&format!("{tag} ")) {
                let mut reply = Reply {
                    untagged: early,
                    ..Reply::default()
                };
                reply.status = status_of(&line.text, &tag);
                reply.tagged = line.text;
                return Ok(reply);
            }
            early.push(line);
        }
        self.writer.write_all(literal)?;
        self.writer.write_all(b"\r\n")?;
        let mut reply = self.read_reply(&tag)?;
        early.append(&mut reply.untagged);
        reply.untagged = early;
        Ok(reply)
    }

    fn tag(&mut self) -> String {
        let tag = format!("a{}", self.next_tag);
        self.next_tag += 1;
        tag
    }

    fn read_reply(&mut self, tag: &str) -> Result<Reply, ClientError> {
        let mut reply = Reply::default();
        let prefix = format!("{tag} ");
        let mut bye: Option<String> = None;
        loop {
            // A BYE precedes LOGOUT's OK; anywhere else the close that follows is the error.
            let line = match (self.read_line(), &bye) {
                (Ok(line), _) => line,
                (Err(_), Some(bye)) => return Err(wrong(format!("server closed: {bye}"))),
                (Err(err), None) => return Err(err),
            };
            if line.text.starts_with(&prefix) {
                reply.status = status_of(&line.text, tag);
                reply.tagged = line.text;
                return Ok(reply);
            }
            if line.text.starts_with("* BYE") {
                bye = Some(line.text.clone());
            }
            reply.untagged.push(line);
        }
    }

    /// Reads one logical line, consuming (and sizing) the literals inside it.
    fn read_line(&mut self) -> Result<Line, ClientError> {
        read_logical_line(&mut self.reader)
    }
}

fn status_of(tagged: &str, tag: &str) -> String {
    tagged[tag.len()..]
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Reads one response line from `reader`; a `{n}` at the end of a physical line announces n
/// literal bytes, which are skipped (only their size is kept) before the line continues.
pub fn read_logical_line(reader: &mut impl BufRead) -> Result<Line, ClientError> {
    let mut text = String::new();
    let mut literal_sizes = Vec::new();
    loop {
        let mut raw = Vec::new();
        reader.read_until(b'\n', &mut raw)?;
        if raw.is_empty() {
            return Err(ClientError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            )));
        }
        while matches!(raw.last(), Some(b'\n' | b'\r')) {
            raw.pop();
        }
        let piece = String::from_utf8_lossy(&raw);
        text.push_str(&piece);
        match literal_announcement(&piece) {
            Some(size) => {
                let copied = io::copy(&mut reader.by_ref().take(size as u64), &mut io::sink())?;
                if copied != size as u64 {
                    return Err(wrong("connection closed inside a literal"));
                }
                literal_sizes.push(size);
            }
            None => {
                return Ok(Line {
                    text,
                    literal_sizes,
                })
            }
        }
    }
}

/// The size of a literal announced at the end of a physical line (`{123}`).
fn literal_announcement(line: &str) -> Option<usize> {
    let body = line.strip_suffix('}')?;
    let open = body.rfind('{')?;
    body[open + 1..].trim_end_matches('+').parse().ok()
}

/// An IMAP quoted string.
pub fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Line {
            text: text.to_string(),
            literal_sizes: Vec::new(),
        }
    }

    #[test]
    fn literals_are_sized_and_skipped() {
        let input = b"* 1 FETCH (BODY[] {5}\r\nab\r\nc UID 7)\r\n* 2 EXISTS\r\n";
        let mut reader = &input[..];
        let first = read_logical_line(&mut reader).unwrap();
        assert_eq!(first.text, "* 1 FETCH (BODY[] {5} UID 7)");
        assert_eq!(first.literal_sizes, vec![5]);
        assert_eq!(read_logical_line(&mut reader).unwrap().text, "* 2 EXISTS");
        assert!(read_logical_line(&mut reader).is_err());
    }

    #[test]
    fn a_cut_literal_is_an_error() {
        let mut reader = &b"* 1 FETCH (BODY[] {50}\r\nshort"[..];
        assert!(read_logical_line(&mut reader).is_err());
    }

    #[test]
    fn exists_and_expunge_are_tracked_and_checked() {
        let mut selected = Selected::default();
        let reply = Reply {
            untagged: vec![line("* 5 EXISTS"), line("* 0 RECENT"), line("* 3 EXPUNGE")],
            status: "OK".into(),
            tagged: "a1 OK".into(),
        };
        selected.apply(&reply).unwrap();
        assert_eq!(selected.exists, 4);
        let bad = Reply {
            untagged: vec![line("* 9 EXPUNGE")],
            ..Reply::default()
        };
        assert!(selected.apply(&bad).is_err());
    }

    #[test]
    fn status_and_numbers() {
        let reply = Reply {
            untagged: vec![line("* 1 FETCH (FLAGS ())"), line("* SEARCH 2 4 9")],
            status: status_of("a7 no [TRYCREATE] x", "a7"),
            tagged: "a7 no [TRYCREATE] x".into(),
        };
        assert_eq!(reply.status, "NO");
        assert!(reply.expect_ok("SELECT").is_err());
        assert_eq!(reply.numbered("FETCH").count(), 1);
        assert_eq!(reply.search_numbers("SEARCH").unwrap(), vec![2, 4, 9]);
        assert!(reply.search_numbers("SORT").is_err());
        let bad = Reply {
            untagged: vec![line("* SEARCH 2 x")],
            ..Reply::default()
        };
        assert!(bad.search_numbers("SEARCH").is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(literal_announcement("* 1 FETCH (BODY[] {12}"), Some(12));
        assert_eq!(literal_announcement("a1 APPEND x {3+}"), Some(3));
        assert_eq!(literal_announcement("* OK {x}"), None);
    }
}
