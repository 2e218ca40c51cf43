//! Configuration errors, worded as Dovecot words them.

use std::fmt;
use std::path::{Path, PathBuf};

/// An error in a configuration: where, and Dovecot's text for what.
///
/// Displays as `Error in configuration file F line N: MSG` (a line error), `Error in
/// configuration file F: MSG` (an error about the whole configuration, such as a failed
/// cross-setting check), or just `MSG` (the file could not be opened at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    file: Option<PathBuf>,
    line: Option<u32>,
    message: String,
}

impl ConfigError {
    /// An error on one line of one file.
    pub(crate) fn at_line(file: &Path, line: u32, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: Some(file.to_path_buf()),
            line: Some(line),
            message: message.into(),
        }
    }

    /// An error about the configuration as a whole, named by its main file.
    pub(crate) fn in_file(file: &Path, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: Some(file.to_path_buf()),
            line: None,
            message: message.into(),
        }
    }

    /// An error with no configuration file context (e.g. the file cannot be opened).
    pub(crate) fn plain(message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: None,
            line: None,
            message: message.into(),
        }
    }

    /// The file the error is in, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The line the error is on, if it is about one line.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// Dovecot's text for the problem, without the file and line.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(
                f,
                "Error in configuration file {} line {}: {}",
                file.display(),
                line,
                self.message
            ),
            (Some(file), None) => write!(
                f,
                "Error in configuration file {}: {}",
                file.display(),
                self.message
            ),
            (None, _) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display() {
        let e = ConfigError::at_line(Path::new("/etc/x.conf"), 3, "Unknown setting: foo");
        assert_eq!(
            e.to_string(),
            "Error in configuration file /etc/x.conf line 3: Unknown setting: foo"
        );
        let e = ConfigError::in_file(Path::new("x.conf"), "Missing '}'");
        assert_eq!(
            e.to_string(),
            "Error in configuration file x.conf: Missing '}'"
        );
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(
            crate::errtext::os_error_text(&e),
            "No such file or directory"
        );
    }
}
