//! The line protocols: POP3 sessions that download and delete a whole mailbox, and LMTP
//! sessions delivering corpus messages.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::corpus::{self, Rng, SizeProfile};
use crate::imap::{wrong, ClientError};
use crate::imap_load::Target;
use crate::stats::Stats;

/// Deliveries per LMTP session before QUIT and a new connection.
const DELIVERIES_PER_SESSION: usize = 10;

pub(crate) struct LineConn {
    pub(crate) reader: BufReader<TcpStream>,
    pub(crate) writer: TcpStream,
}

impl LineConn {
    pub(crate) fn connect(addr: &str, timeout: Duration) -> Result<LineConn, ClientError> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        Ok(LineConn {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    pub(crate) fn line(&mut self) -> Result<String, ClientError> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            // Not an answer: whether the command took effect is unknown.
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "server closed the connection",
            )));
        }
        Ok(line.trim_end().to_string())
    }

    pub(crate) fn send(&mut self, text: &str) -> Result<(), ClientError> {
        self.writer.write_all(text.as_bytes())?;
        self.writer.write_all(b"\r\n")?;
        Ok(())
    }

    /// POP3: a line that must start with `+OK`.
    pub(crate) fn ok(&mut self, command: &str) -> Result<String, ClientError> {
        let line = self.line()?;
        if line.starts_with("+OK") {
            Ok(line)
        } else {
            Err(wrong(format!("{command}: {line}")))
        }
    }

    /// POP3: the greeting, USER and PASS.
    pub(crate) fn pop3_login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        self.ok("greeting")?;
        self.send(&format!("USER {user}"))?;
        self.ok("USER")?;
        self.send(&format!("PASS {password}"))?;
        self.ok("PASS")?;
        Ok(())
    }

    /// POP3 STAT: how many messages the mailbox holds.
    pub(crate) fn pop3_stat(&mut self) -> Result<u32, ClientError> {
        self.send("STAT")?;
        let stat = self.ok("STAT")?;
        stat.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| wrong(format!("STAT: {stat}")))
    }

    /// SMTP/LMTP: one reply (possibly multi-line) whose code must start with `class`.
    pub(crate) fn reply(&mut self, command: &str, class: char) -> Result<String, ClientError> {
        loop {
            let line = self.line()?;
            if line.as_bytes().get(3) == Some(&b'-') {
                continue;
            }
            return if line.starts_with(class) {
                Ok(line)
            } else {
                Err(wrong(format!("{command}: {line}")))
            };
        }
    }
}

/// Each client logs in as its own user, RETRs and DELEs every message, QUITs (which expunges),
/// and does it again until the mailbox is empty or the deadline passes.
pub fn run_pop3(target: &Target, clients: usize, duration: Duration) -> (Stats, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let target = target.clone();
            thread::spawn(move || {
                let mut stats = Stats::default();
                let user = target.users[client % target.users.len()].clone();
                while Instant::now() < deadline {
                    match pop3_session(&target, &user, deadline, &mut stats) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(err) => {
                            stats.error("SESSION", &format!("{user}: {err}"));
                            thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
                stats
            })
        })
        .collect();
    join(handles, start)
}

/// One POP3 session; returns how many messages the mailbox held.
fn pop3_session(
    target: &Target,
    user: &str,
    deadline: Instant,
    stats: &mut Stats,
) -> Result<u32, ClientError> {
    let begin = Instant::now();
    let mut conn = LineConn::connect(&target.addr, target.timeout)?;
    conn.pop3_login(user, &target.password)?;
    stats.ok("LOGIN", begin.elapsed());
    let count = conn.pop3_stat()?;
    for n in 1..=count {
        if Instant::now() >= deadline {
            break;
        }
        let begin = Instant::now();
        conn.send(&format!("LIST {n}"))?;
        let list = conn.ok("LIST")?;
        let size: usize = list
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        conn.send(&format!("RETR {n}"))?;
        conn.ok("RETR")?;
        let mut received = 0;
        loop {
            let mut raw = Vec::new();
            if conn.reader.by_ref().read_until(b'\n', &mut raw)? == 0 {
                return Err(wrong("RETR: connection closed inside a message"));
            }
            if raw == b".\r\n" {
                break;
            }
            // Dot-stuffing adds one byte to lines that begin with '.'.
            received += raw.len() - usize::from(raw.starts_with(b".."));
        }
        if received != size {
            stats.error(
                "RETR",
                &format!("{user}: message {n}: {received} bytes, LIST said {size}"),
            );
        } else {
            stats.ok("RETR", begin.elapsed());
        }
        let begin = Instant::now();
        conn.send(&format!("DELE {n}"))?;
        conn.ok("DELE")?;
        stats.ok("DELE", begin.elapsed());
    }
    let begin = Instant::now();
    conn.send("QUIT")?;
    conn.ok("QUIT")?;
    stats.ok("QUIT", begin.elapsed());
    Ok(count)
}

/// Each client delivers corpus messages over LMTP to the users in turn until the deadline.
pub fn run_lmtp(
    target: &Target,
    clients: usize,
    duration: Duration,
    seed: u64,
) -> (Stats, Duration) {
    let start = Instant::now();
    let deadline = start + duration;
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let target = target.clone();
            thread::spawn(move || {
                let mut stats = Stats::default();
                let mut rng = Rng::new(seed ^ client as u64);
                while Instant::now() < deadline {
                    if let Err(err) = lmtp_session(&target, client, deadline, &mut rng, &mut stats)
                    {
                        stats.error("SESSION", &err.to_string());
                        thread::sleep(Duration::from_millis(50));
                    }
                }
                stats
            })
        })
        .collect();
    join(handles, start)
}

fn lmtp_session(
    target: &Target,
    client: usize,
    deadline: Instant,
    rng: &mut Rng,
    stats: &mut Stats,
) -> Result<(), ClientError> {
    let mut conn = LineConn::connect(&target.addr, target.timeout)?;
    conn.reply("greeting", '2')?;
    conn.send("LHLO loadgen.example.org")?;
    conn.reply("LHLO", '2')?;
    for n in 0..DELIVERIES_PER_SESSION {
        if Instant::now() >= deadline {
            break;
        }
        let user = &target.users[(client + n * 7) % target.users.len()];
        let index = rng.below(1 << 20);
        let message = corpus::crlf(&corpus::message(rng.next_u64(), index, SizeProfile::Mixed));
        let begin = Instant::now();
        conn.send("MAIL FROM:<loadgen@example.org>")?;
        conn.reply("MAIL", '2')?;
        conn.send(&format!("RCPT TO:<{user}>"))?;
        if let Err(err) = conn.reply("RCPT", '2') {
            stats.error("DELIVER", &format!("{user}: {err}"));
            conn.send("RSET")?;
            conn.reply("RSET", '2')?;
            continue;
        }
        conn.send("DATA")?;
        conn.reply("DATA", '3')?;
        conn.writer.write_all(&dot_stuffed(&message))?;
        conn.writer.write_all(b".\r\n")?;
        match conn.reply("DATA end", '2') {
            Ok(_) => stats.ok("DELIVER", begin.elapsed()),
            Err(ClientError::Wrong(text)) => stats.error("DELIVER", &format!("{user}: {text}")),
            Err(err) => return Err(err),
        }
    }
    conn.send("QUIT")?;
    conn.reply("QUIT", '2')?;
    Ok(())
}

/// A CRLF message with lines starting with '.' doubled (SMTP transparency).
pub fn dot_stuffed(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut at_line_start = true;
    for &byte in message {
        if at_line_start && byte == b'.' {
            out.push(b'.');
        }
        out.push(byte);
        at_line_start = byte == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn join(handles: Vec<thread::JoinHandle<Stats>>, start: Instant) -> (Stats, Duration) {
    let mut total = Stats::default();
    for handle in handles {
        match handle.join() {
            Ok(stats) => total.merge(stats),
            Err(_) => total.error("CLIENT", "a client thread panicked"),
        }
    }
    (total, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_are_stuffed() {
        assert_eq!(
            dot_stuffed(b".a\r\nb.\r\n..c\r\n"),
            b"..a\r\nb.\r\n...c\r\n"
        );
        assert_eq!(dot_stuffed(b"x"), b"x\r\n");
    }
}
