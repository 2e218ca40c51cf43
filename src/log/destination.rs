//! Where log lines go: `log_path`, `info_log_path`, `debug_log_path`, each a file,
//! `/dev/stderr` or `syslog` (facility `syslog_facility`, ident `instance_name`).

use std::ffi::CString;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{format, Level};

/// The log settings, as Dovecot names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// Error log (and everything else unless redirected); empty means syslog.
    pub log_path: String,
    /// Info lines; empty means `log_path`.
    pub info_log_path: String,
    /// Debug lines; empty means `info_log_path`.
    pub debug_log_path: String,
    /// strftime format put before every file line.
    pub log_timestamp: String,
    pub syslog_facility: String,
    /// The syslog ident.
    pub instance_name: String,
}

impl Default for LogSettings {
    /// Dovecot 2.3's defaults.
    fn default() -> Self {
        LogSettings {
            log_path: "syslog".into(),
            info_log_path: String::new(),
            debug_log_path: String::new(),
            log_timestamp: "%b %d %H:%M:%S ".into(),
            syslog_facility: "mail".into(),
            instance_name: "dovecot".into(),
        }
    }
}

#[derive(Debug)]
pub enum LogError {
    /// Opening a log file failed (Dovecot: `Can't open log file X: ...`).
    Open {
        path: PathBuf,
        source: io::Error,
    },
    UnknownFacility(String),
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Open { path, source } => {
                write!(
                    f,
                    "Can't open log file {}: {}",
                    path.display(),
                    crate::errtext::os_error_text(source)
                )
            }
            LogError::UnknownFacility(name) => write!(f, "Unknown syslog_facility: {name}"),
        }
    }
}

impl std::error::Error for LogError {}

const SYSLOG: &str = "syslog";
const STDERR: &str = "/dev/stderr";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Stderr,
    Syslog,
    /// Index into `Destinations::files`.
    File(usize),
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    file: File,
}

/// The open log destinations. Writes are one write(2) per line on files opened with
/// O_APPEND, so lines from this process never interleave with each other.
#[derive(Debug)]
pub struct Destinations {
    settings: LogSettings,
    error: Target,
    info: Target,
    debug: Target,
    files: Vec<OpenFile>,
}

/// The ident passed to openlog(3) must stay valid while syslog may use it; this holds it.
static SYSLOG_IDENT: Mutex<Option<CString>> = Mutex::new(None);

fn facility_code(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "auth" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "daemon" => libc::LOG_DAEMON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "user" => libc::LOG_USER,
        "uucp" => libc::LOG_UUCP,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => return None,
    })
}

fn open_syslog(ident: &str, facility: libc::c_int) {
    let ident = CString::new(ident.replace('\0', "")).unwrap_or_default();
    let mut held = SYSLOG_IDENT.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: closelog has no preconditions; openlog gets a pointer that `held` keeps alive
    // until the next call here replaces it (after another closelog).
    unsafe {
        libc::closelog();
        let stored = held.insert(ident);
        libc::openlog(stored.as_ptr(), libc::LOG_NDELAY, facility);
    }
}

fn syslog_priority(level: Level) -> libc::c_int {
    match level {
        Level::Debug => libc::LOG_DEBUG,
        Level::Info => libc::LOG_INFO,
        Level::Warning => libc::LOG_WARNING,
        Level::Error => libc::LOG_ERR,
        Level::Fatal | Level::Panic => libc::LOG_CRIT,
    }
}

fn open_file(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })
}

impl Destinations {
    /// Opens every destination the settings name. Nothing is opened twice: `log_path` and
    /// `info_log_path` naming the same file share one descriptor.
    pub fn open(settings: LogSettings) -> Result<Destinations, LogError> {
        let facility = facility_code(&settings.syslog_facility)
            .ok_or_else(|| LogError::UnknownFacility(settings.syslog_facility.clone()))?;
        let error_path = if settings.log_path.is_empty() {
            SYSLOG.to_string()
        } else {
            settings.log_path.clone()
        };
        let info_path = if settings.info_log_path.is_empty() {
            error_path.clone()
        } else {
            settings.info_log_path.clone()
        };
        let debug_path = if settings.debug_log_path.is_empty() {
            info_path.clone()
        } else {
            settings.debug_log_path.clone()
        };
        let mut files: Vec<OpenFile> = Vec::new();
        let mut target = |path: &str| -> Result<Target, LogError> {
            Ok(match path {
                SYSLOG => Target::Syslog,
                STDERR => Target::Stderr,
                _ => {
                    let path = PathBuf::from(path);
                    match files.iter().position(|f| f.path == path) {
                        Some(i) => Target::File(i),
                        None => {
                            let file = open_file(&path)?;
                            files.push(OpenFile { path, file });
                            Target::File(files.len() - 1)
                        }
                    }
                }
            })
        };
        let error = target(&error_path)?;
        let info = target(&info_path)?;
        let debug = target(&debug_path)?;
        if [error, info, debug].contains(&Target::Syslog) {
            open_syslog(&settings.instance_name, facility);
        }
        Ok(Destinations {
            settings,
            error,
            info,
            debug,
            files,
        })
    }

    /// Reopens the log files (after logrotate moved them). A file that cannot be reopened
    /// keeps its old descriptor, and the error is returned once all others were tried.
    pub fn reopen(&mut self) -> Result<(), LogError> {
        let mut first_error = None;
        for open in &mut self.files {
            match open_file(&open.path) {
                Ok(file) => open.file = file,
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Writes one record; a multi-line message becomes several lines.
    pub fn write(&mut self, level: Level, prefix: &str, message: &str) {
        let target = match level {
            Level::Debug => self.debug,
            Level::Info => self.info,
            _ => self.error,
        };
        match target {
            Target::Syslog => {
                for line in format::message_lines(message) {
                    let text = format::syslog_text(prefix, level, line).replace('\0', "\\0");
                    if let Ok(text) = CString::new(text) {
                        // SAFETY: constant "%s" format with one valid C string argument.
                        unsafe {
                            libc::syslog(syslog_priority(level), c"%s".as_ptr(), text.as_ptr())
                        };
                    }
                }
            }
            Target::Stderr | Target::File(_) => {
                let stamp = format::timestamp(&self.settings.log_timestamp);
                let mut buf = String::new();
                for line in format::message_lines(message) {
                    buf.push_str(&format::file_line(&stamp, prefix, level, line));
                }
                // A failed log write has nowhere better to go; Dovecot gives up the same way.
                let _ = match target {
                    Target::File(i) => self.files[i].file.write_all(buf.as_bytes()),
                    _ => io::stderr().write_all(buf.as_bytes()),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(dir: &Path, log: &str, info: &str, debug: &str) -> LogSettings {
        let p = |s: &str| {
            if s.is_empty() || s == SYSLOG || s == STDERR {
                s.to_string()
            } else {
                dir.join(s).to_string_lossy().into_owned()
            }
        };
        LogSettings {
            log_path: p(log),
            info_log_path: p(info),
            debug_log_path: p(debug),
            log_timestamp: String::new(),
            ..LogSettings::default()
        }
    }

    #[test]
    fn levels_go_to_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Destinations::open(settings(dir.path(), "err.log", "info.log", "")).unwrap();
        assert_eq!(d.files.len(), 2, "debug shares the info file");
        d.write(Level::Error, "master: ", "bad");
        d.write(Level::Info, "master: ", "fine");
        d.write(Level::Debug, "master: ", "detail\nmore");
        let err = std::fs::read_to_string(dir.path().join("err.log")).unwrap();
        let info = std::fs::read_to_string(dir.path().join("info.log")).unwrap();
        assert_eq!(err, "master: Error: bad\n");
        assert_eq!(
            info,
            "master: Info: fine\nmaster: Debug: detail\nmaster: Debug: more\n"
        );
    }

    #[test]
    fn reopen_follows_a_renamed_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Destinations::open(settings(dir.path(), "x.log", "", "")).unwrap();
        d.write(Level::Warning, "", "one");
        std::fs::rename(dir.path().join("x.log"), dir.path().join("x.log.1")).unwrap();
        d.write(Level::Warning, "", "two");
        d.reopen().unwrap();
        d.write(Level::Warning, "", "three");
        let old = std::fs::read_to_string(dir.path().join("x.log.1")).unwrap();
        let new = std::fs::read_to_string(dir.path().join("x.log")).unwrap();
        assert_eq!(old, "Warning: one\nWarning: two\n");
        assert_eq!(new, "Warning: three\n");
    }

    #[test]
    fn open_errors_name_the_path_and_facility() {
        let dir = tempfile::tempdir().unwrap();
        let err = Destinations::open(settings(dir.path(), "no/such/dir/x.log", "", ""))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("Can't open log file "), "{err}");
        assert!(err.contains("no/such/dir/x.log"), "{err}");
        let mut s = settings(dir.path(), "x.log", "", "");
        s.syslog_facility = "mial".into();
        let err = Destinations::open(s).unwrap_err().to_string();
        assert_eq!(err, "Unknown syslog_facility: mial");
    }

    #[test]
    fn empty_log_path_means_syslog() {
        let dir = tempfile::tempdir().unwrap();
        let d = Destinations::open(settings(dir.path(), "", "", "")).unwrap();
        assert_eq!(
            (d.error, d.info, d.debug),
            (Target::Syslog, Target::Syslog, Target::Syslog)
        );
        let d = Destinations::open(settings(dir.path(), "x.log", "syslog", "")).unwrap();
        assert_eq!(
            (d.error, d.info, d.debug),
            (Target::File(0), Target::Syslog, Target::Syslog)
        );
    }
}
