//! Dovecot-format log lines on the `log` crate facade.
//!
//! Every process installs the same logger ([`init`]); what differs is where its lines go:
//! - before the configuration is read, and for command-line tools: stderr, `cote: Fatal: ...`;
//! - the master: the configured destinations ([`Destinations`]), `master: ` prefix;
//! - a child (worker) process: records over its own channel to the master ([`to_channel`]),
//!   which stamps and writes them ([`ChildLog`] with [`write_as`]), so lines of many
//!   processes never mix.
//!
//! The facade has no Fatal or Panic level; [`emit`] takes ours directly.

mod child;
mod destination;
pub(crate) mod format;
mod sanitize;
mod wire;

pub use child::{ChildEnds, ChildLog};
pub use destination::{Destinations, LogError, LogSettings};
pub use format::{local_time, timestamp, unixdate};
pub use sanitize::str_sanitize;

use std::fmt;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

/// Dovecot's log levels, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
    Fatal,
    Panic,
}

impl Level {
    /// The word Dovecot writes after the prefix.
    pub fn word(self) -> &'static str {
        match self {
            Level::Debug => "Debug",
            Level::Info => "Info",
            Level::Warning => "Warning",
            Level::Error => "Error",
            Level::Fatal => "Fatal",
            Level::Panic => "Panic",
        }
    }
}

impl From<log::Level> for Level {
    fn from(level: log::Level) -> Level {
        match level {
            log::Level::Error => Level::Error,
            log::Level::Warn => Level::Warning,
            log::Level::Info => Level::Info,
            log::Level::Debug | log::Level::Trace => Level::Debug,
        }
    }
}

enum Sink {
    Stderr,
    Destinations(Box<Destinations>),
    /// The child end of a [`ChildLog`] channel (a SOCK_SEQPACKET socket).
    Channel(OwnedFd),
}

struct State {
    prefix: String,
    sink: Sink,
}

struct Logger {
    state: Mutex<State>,
}

static LOGGER: Logger = Logger {
    state: Mutex::new(State {
        prefix: String::new(),
        sink: Sink::Stderr,
    }),
};

fn state() -> std::sync::MutexGuard<'static, State> {
    LOGGER.state.lock().unwrap_or_else(|e| e.into_inner())
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            emit(record.level().into(), *record.args());
        }
    }

    fn flush(&self) {}
}

/// Installs the logger (once per process; later calls only change the prefix), writing to
/// stderr with `prefix`, debug lines off.
pub fn init(prefix: &str) {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
    set_prefix(prefix);
}

/// The prefix of this process's lines now.
pub fn prefix() -> String {
    state().prefix.clone()
}

/// The prefix of this process's lines (`master: `, `imap-login: `, `imap(alice)<..><..>: `).
pub fn set_prefix(prefix: &str) {
    state().prefix = prefix.to_string();
}

/// Whether Debug lines are written (`mail_debug`, `auth_debug`).
pub fn set_debug(enabled: bool) {
    log::set_max_level(if enabled {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
}

/// Sends this process's lines to `destinations` from now on; returns the ones used before.
pub fn to_destinations(destinations: Destinations) -> Option<Destinations> {
    match std::mem::replace(
        &mut state().sink,
        Sink::Destinations(Box::new(destinations)),
    ) {
        Sink::Destinations(old) => Some(*old),
        _ => None,
    }
}

/// Sends this process's records to the master over `channel` (see [`ChildEnds`]).
pub fn to_channel(channel: OwnedFd) {
    state().sink = Sink::Channel(channel);
}

/// Reopens the log files (SIGUSR1).
pub fn reopen() -> Result<(), LogError> {
    match &mut state().sink {
        Sink::Destinations(d) => d.reopen(),
        _ => Ok(()),
    }
}

/// Logs one message at `level` with this process's prefix.
pub fn emit(level: Level, message: fmt::Arguments<'_>) {
    let mut state = state();
    let message = message.to_string();
    let State { prefix, sink } = &mut *state;
    write_to(sink, level, prefix, &message);
}

/// Writes `<prefix><Level>: <message>` to stderr, whatever the logger's destination: how
/// command-line tools report errors (`cote: Fatal: ...`).
pub fn print_stderr(prefix: &str, level: Level, message: &str) {
    let mut buf = String::new();
    for line in format::message_lines(message) {
        buf.push_str(&format::file_line("", prefix, level, line));
    }
    let _ = std::io::stderr().write_all(buf.as_bytes());
}

/// Writes a line with another process's prefix: how the master writes its children's records.
pub fn write_as(level: Level, prefix: &str, message: &str) {
    write_to(&mut state().sink, level, prefix, message);
}

fn write_to(sink: &mut Sink, level: Level, prefix: &str, message: &str) {
    match sink {
        Sink::Destinations(d) => d.write(level, prefix, message),
        Sink::Stderr => print_stderr(prefix, level, message),
        Sink::Channel(fd) => {
            let record = wire::encode(level, prefix, message);
            // When the master is gone there is no one left to tell; the record is dropped.
            // SAFETY: send(2) on a valid descriptor with a valid buffer.
            let _ = unsafe {
                libc::send(
                    fd.as_raw_fd(),
                    record.as_ptr().cast(),
                    record.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
        }
    }
}
