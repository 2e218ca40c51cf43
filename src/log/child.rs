//! The master's side of a child's log: the record channel (framed records, see `wire`) and
//! the child's raw stderr (anything else it prints, such as a crash message), which is logged
//! line by line as Errors with the child's latest prefix, so nothing it says is lost.
//!
//! Lines are handed to a `write(level, prefix, message)` callback; the master passes
//! [`super::write_as`].

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::pipe2;

use super::{wire, Level};

/// A stderr line longer than this is written in pieces.
const MAX_STDERR_LINE: usize = 8192;

/// The ends a child keeps: `records` for [`super::to_channel`], `stderr` to dup onto fds 1/2.
pub struct ChildEnds {
    pub records: OwnedFd,
    pub stderr: OwnedFd,
}

pub struct ChildLog {
    records: Option<OwnedFd>,
    stderr: Option<OwnedFd>,
    prefix: String,
    partial: Vec<u8>,
    fatal_logged: bool,
    /// Reads in a row that stopped at [`MAX_READ_TIME`] with input still waiting.
    busy_reads: u32,
}

/// How long one read may write lines for one child before the master turns to its other
/// work (Dovecot's log process: 100 ms per connection); the rest waits for the next poll,
/// and meanwhile the flooding child blocks on its full channel instead of the master.
const MAX_READ_TIME: Duration = Duration::from_millis(100);
/// Busy reads in a row before the warning (1 s), and between repeats of it (60 s).
const BUSY_WARN_FIRST: u32 = 10;
const BUSY_WARN_EVERY: u32 = 600;

fn would_block(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl ChildLog {
    /// Creates the channel for a child about to be forked; `prefix` is used for its stderr
    /// lines until it sends a record of its own.
    pub fn new(prefix: &str) -> io::Result<(ChildLog, ChildEnds)> {
        let flags = SockFlag::SOCK_CLOEXEC;
        let (master_records, child_records) =
            socketpair(AddressFamily::Unix, SockType::SeqPacket, None, flags)?;
        let (master_stderr, child_stderr) = pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        for fd in [&master_records, &master_stderr] {
            set_nonblocking(fd.as_fd())?;
        }
        Ok((
            ChildLog {
                records: Some(master_records),
                stderr: Some(master_stderr),
                prefix: prefix.to_string(),
                partial: Vec::new(),
                fatal_logged: false,
                busy_reads: 0,
            },
            ChildEnds {
                records: child_records,
                stderr: child_stderr,
            },
        ))
    }

    pub fn records_fd(&self) -> Option<BorrowedFd<'_>> {
        self.records.as_ref().map(|fd| fd.as_fd())
    }

    pub fn stderr_fd(&self) -> Option<BorrowedFd<'_>> {
        self.stderr.as_ref().map(|fd| fd.as_fd())
    }

    /// Whether the child logged a Fatal or Panic line (then its exit needs no second line).
    pub fn fatal_logged(&self) -> bool {
        self.fatal_logged
    }

    /// Writes the records waiting on the channel, for at most [`MAX_READ_TIME`].
    pub fn read_records(&mut self, write: &mut impl FnMut(Level, &str, &str)) {
        let busy = self.read_records_for(write, Some(MAX_READ_TIME));
        self.note_busy(busy, write);
    }

    /// Writes records until none wait, or until `limit` has passed: then returns true (more
    /// may be waiting).
    fn read_records_for(
        &mut self,
        write: &mut impl FnMut(Level, &str, &str),
        limit: Option<Duration>,
    ) -> bool {
        let Some(fd) = &self.records else {
            return false;
        };
        let start = Instant::now();
        let mut buf = vec![0u8; wire::MAX_RECORD + 1];
        loop {
            if limit.is_some_and(|limit| start.elapsed() > limit) {
                return true;
            }
            // SAFETY: recv(2) into a buffer we own, on a valid descriptor.
            let n = unsafe {
                libc::recv(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if !would_block(&err) {
                    write(
                        Level::Error,
                        &self.prefix,
                        &format!("recv(log) failed: {err}"),
                    );
                    self.records = None;
                }
                return false;
            }
            if n == 0 {
                self.records = None;
                return false;
            }
            let n = n as usize;
            match wire::decode(&buf[..n]) {
                Ok(record) => {
                    if record.level >= Level::Fatal {
                        self.fatal_logged = true;
                    }
                    write(record.level, &record.prefix, &record.message);
                    self.prefix = record.prefix;
                }
                Err(err) => write(
                    Level::Error,
                    &self.prefix,
                    &format!("Invalid log record: {err}"),
                ),
            }
        }
    }

    /// Logs the complete lines waiting on the child's stderr, for at most [`MAX_READ_TIME`].
    pub fn read_stderr(&mut self, write: &mut impl FnMut(Level, &str, &str)) {
        let busy = self.read_stderr_for(write, Some(MAX_READ_TIME));
        self.note_busy(busy, write);
    }

    /// [`read_records_for`](Self::read_records_for) for stderr.
    fn read_stderr_for(
        &mut self,
        write: &mut impl FnMut(Level, &str, &str),
        limit: Option<Duration>,
    ) -> bool {
        let Some(fd) = &self.stderr else {
            return false;
        };
        let start = Instant::now();
        let mut busy = false;
        let mut buf = [0u8; 4096];
        let eof = loop {
            if limit.is_some_and(|limit| start.elapsed() > limit) {
                busy = true;
                break false;
            }
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => break true,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(nix::errno::Errno::EAGAIN) => break false,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(err) => {
                    write(
                        Level::Error,
                        &self.prefix,
                        &format!("read(stderr) failed: {err}"),
                    );
                    break true;
                }
            }
        };
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            Self::stderr_line(&self.prefix, &line[..end], write);
        }
        while self.partial.len() > MAX_STDERR_LINE {
            let piece: Vec<u8> = self.partial.drain(..MAX_STDERR_LINE).collect();
            Self::stderr_line(&self.prefix, &piece, write);
        }
        if eof {
            if !self.partial.is_empty() {
                let rest = std::mem::take(&mut self.partial);
                Self::stderr_line(&self.prefix, &rest, write);
            }
            self.stderr = None;
        }
        busy
    }

    /// Counts reads cut short by [`MAX_READ_TIME`] and warns, as Dovecot's log process, when
    /// a child keeps the master busy for a second (and every minute after).
    fn note_busy(&mut self, busy: bool, write: &mut impl FnMut(Level, &str, &str)) {
        if !busy {
            self.busy_reads = 0;
            return;
        }
        self.busy_reads = self.busy_reads.saturating_add(1);
        if self.busy_reads == BUSY_WARN_FIRST || self.busy_reads % BUSY_WARN_EVERY == 0 {
            write(
                Level::Warning,
                "master: ",
                &format!(
                    "Log connection prefix '{}' is sending input faster than we can write",
                    self.prefix
                ),
            );
        }
    }

    fn stderr_line(prefix: &str, line: &[u8], write: &mut impl FnMut(Level, &str, &str)) {
        let text = String::from_utf8_lossy(line);
        write(Level::Error, prefix, text.trim_end_matches('\r'));
    }

    /// Reads everything the (exited) child left behind.
    pub fn drain(&mut self, write: &mut impl FnMut(Level, &str, &str)) {
        self.read_records_for(write, None);
        self.read_stderr_for(write, None);
    }
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    type Lines = Vec<(Level, String, String)>;

    fn collect(lines: &mut Lines) -> impl FnMut(Level, &str, &str) + '_ {
        |level, prefix, message| lines.push((level, prefix.to_string(), message.to_string()))
    }

    #[test]
    fn a_flooding_child_gets_a_bounded_share_and_a_warning() {
        let (mut log, ends) = ChildLog::new("imap: ").unwrap();
        for i in 0..6 {
            let record = wire::encode(Level::Info, "imap: ", &format!("line {i}"));
            nix::sys::socket::send(
                ends.records.as_raw_fd(),
                &record,
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap();
        }
        // A slow log destination: every line takes 60 ms, so a read stops after the second.
        let mut lines = Lines::new();
        let mut slow = |level: Level, prefix: &str, message: &str| {
            std::thread::sleep(Duration::from_millis(60));
            lines.push((level, prefix.to_string(), message.to_string()));
        };
        assert!(log.read_records_for(&mut slow, Some(MAX_READ_TIME)));
        assert!(log.read_records_for(&mut slow, Some(MAX_READ_TIME)));
        assert!(!log.read_records_for(&mut slow, None));
        let got: Vec<&str> = lines.iter().map(|l| l.2.as_str()).collect();
        assert_eq!(
            got,
            ["line 0", "line 1", "line 2", "line 3", "line 4", "line 5"]
        );

        let mut warnings = Lines::new();
        for round in 1..=BUSY_WARN_EVERY {
            log.note_busy(true, &mut collect(&mut warnings));
            let expected =
                usize::from(round >= BUSY_WARN_FIRST) + usize::from(round == BUSY_WARN_EVERY);
            assert_eq!(warnings.len(), expected, "round {round}");
        }
        assert_eq!(
            warnings[0],
            (
                Level::Warning,
                "master: ".to_string(),
                "Log connection prefix 'imap: ' is sending input faster than we can write"
                    .to_string()
            )
        );
        // Catching up resets the count.
        log.note_busy(false, &mut collect(&mut warnings));
        for _ in 1..BUSY_WARN_FIRST {
            log.note_busy(true, &mut collect(&mut warnings));
        }
        assert_eq!(warnings.len(), 2);
    }

    #[test]
    fn records_and_stderr_reach_the_master() {
        let (mut log, ends) = ChildLog::new("imap-login: ").unwrap();
        let mut stderr = std::fs::File::from(ends.stderr);
        let send = |bytes: &[u8]| {
            nix::sys::socket::send(
                ends.records.as_raw_fd(),
                bytes,
                nix::sys::socket::MsgFlags::empty(),
            )
            .unwrap()
        };
        stderr.write_all(b"early raw line\n").unwrap();
        let mut lines = Lines::new();
        log.read_stderr(&mut collect(&mut lines));
        send(&wire::encode(Level::Info, "imap(alice): ", "hello"));
        send(b"Z");
        log.read_records(&mut collect(&mut lines));
        stderr
            .write_all(b"thread 'main' panicked\nnote: partial")
            .unwrap();
        log.read_stderr(&mut collect(&mut lines));
        drop(stderr);
        drop(ends.records);
        log.drain(&mut collect(&mut lines));
        let want = [
            (Level::Error, "imap-login: ", "early raw line"),
            (Level::Info, "imap(alice): ", "hello"),
            (
                Level::Error,
                "imap(alice): ",
                "Invalid log record: log record too short (1 bytes)",
            ),
            (Level::Error, "imap(alice): ", "thread 'main' panicked"),
            (Level::Error, "imap(alice): ", "note: partial"),
        ];
        let got: Vec<_> = lines
            .iter()
            .map(|(l, p, m)| (*l, p.as_str(), m.as_str()))
            .collect();
        assert_eq!(got, want);
        assert!(log.records_fd().is_none() && log.stderr_fd().is_none());
        assert!(!log.fatal_logged());
    }

    #[test]
    fn long_stderr_lines_are_split_and_fatal_is_noticed() {
        let (mut log, ends) = ChildLog::new("x: ").unwrap();
        let mut stderr = std::fs::File::from(ends.stderr);
        stderr.write_all(&vec![b'a'; MAX_STDERR_LINE + 10]).unwrap();
        nix::sys::socket::send(
            ends.records.as_raw_fd(),
            &wire::encode(Level::Fatal, "x: ", "gone"),
            nix::sys::socket::MsgFlags::empty(),
        )
        .unwrap();
        let mut lines = Lines::new();
        log.drain(&mut collect(&mut lines));
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].2, "gone");
        assert_eq!(lines[1].2.len(), MAX_STDERR_LINE);
        assert!(log.fatal_logged());
        // The rest of the long line is still held until more arrives or the pipe closes.
        drop(stderr);
        log.read_stderr(&mut collect(&mut lines));
        assert_eq!(lines[2].2, "a".repeat(10));
    }
}
