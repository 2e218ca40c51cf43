//! How one log line looks: Dovecot's `<log_timestamp><prefix><Level>: <message>` for files and
//! stderr, and `<prefix>[<Level>: ]<message>` for syslog (which stamps the time itself, and
//! where Dovecot leaves out the `Info: ` word).

use std::ffi::CString;

use super::Level;

/// The current local time formatted with a strftime(3) `format` (`log_timestamp`).
/// An empty format gives an empty string; a format containing NUL is cut at the NUL.
pub fn timestamp(format: &str) -> String {
    // SAFETY: time(NULL) only returns the time.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    local_time(now, format)
}

/// Unix time `t` as doveadm prints times (`unixdate2str`): local `YYYY-MM-DD HH:MM:SS`.
pub fn unixdate(t: i64) -> String {
    local_time(t, "%Y-%m-%d %H:%M:%S")
}

/// Unix time `t` as local time formatted with a strftime(3) `format`.
pub fn local_time(t: i64, format: &str) -> String {
    if format.is_empty() {
        return String::new();
    }
    let format = match CString::new(format) {
        Ok(c) => c,
        Err(err) => {
            let end = err.nul_position();
            match CString::new(&format[..end]) {
                Ok(c) => c,
                Err(_) => return String::new(),
            }
        }
    };
    let t = t as libc::time_t;
    // SAFETY: localtime_r with valid pointers to locals.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        tm
    };
    // strftime returns 0 both for "did not fit" and for an empty result; grow the buffer a few
    // times before concluding the result is empty.
    let mut size = 128;
    while size <= 8192 {
        let mut buf = vec![0u8; size];
        // SAFETY: buf is writable for size bytes, format is NUL-terminated, tm is initialized.
        let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), size, format.as_ptr(), &tm) };
        if n > 0 {
            buf.truncate(n);
            return String::from_utf8_lossy(&buf).into_owned();
        }
        size *= 4;
    }
    String::new()
}

/// A line for a log file or stderr, with its trailing LF.
pub fn file_line(timestamp: &str, prefix: &str, level: Level, message: &str) -> String {
    let mut line = String::with_capacity(
        timestamp.len() + prefix.len() + level.word().len() + message.len() + 3,
    );
    line.push_str(timestamp);
    line.push_str(prefix);
    line.push_str(level.word());
    line.push_str(": ");
    line.push_str(message);
    line.push('\n');
    line
}

/// The text handed to syslog(3) for one line.
pub fn syslog_text(prefix: &str, level: Level, message: &str) -> String {
    let mut text = String::with_capacity(prefix.len() + message.len() + 10);
    text.push_str(prefix);
    if level != Level::Info {
        text.push_str(level.word());
        text.push_str(": ");
    }
    text.push_str(message);
    text
}

/// Messages are written one line per line of text: a record with embedded newlines becomes
/// several log lines, each with the full prefix, so that no log line lacks one. A trailing
/// newline does not make an empty extra line; an empty message is one empty line.
pub fn message_lines(message: &str) -> impl Iterator<Item = &str> {
    let trimmed = message.strip_suffix('\n').unwrap_or(message);
    trimmed
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_line_has_dovecot_shape() {
        assert_eq!(
            file_line(
                "Jan 02 03:04:05 ",
                "imap-login: ",
                Level::Info,
                "Disconnected"
            ),
            "Jan 02 03:04:05 imap-login: Info: Disconnected\n"
        );
        assert_eq!(
            file_line("", "master: ", Level::Warning, "x"),
            "master: Warning: x\n"
        );
    }

    #[test]
    fn syslog_text_omits_info_word() {
        assert_eq!(
            syslog_text("imap-login: ", Level::Info, "Login"),
            "imap-login: Login"
        );
        assert_eq!(
            syslog_text("master: ", Level::Error, "boom"),
            "master: Error: boom"
        );
        assert_eq!(syslog_text("", Level::Fatal, "x"), "Fatal: x");
    }

    #[test]
    fn timestamp_formats_and_tolerates_odd_formats() {
        assert_eq!(timestamp(""), "");
        let year = timestamp("%Y");
        assert_eq!(year.len(), 4, "{year:?}");
        assert!(year.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(timestamp("abc\0def"), "abc");
        assert_eq!(timestamp("%%"), "%");
        // The default format: "Mon DD HH:MM:SS ".
        let ts = timestamp("%b %d %H:%M:%S ");
        assert_eq!(ts.len(), 16, "{ts:?}");
        // A long result needs a bigger buffer.
        let long = "x".repeat(1000);
        assert_eq!(timestamp(&long), long);
    }

    #[test]
    fn message_lines_split() {
        let lines: Vec<_> = message_lines("a\nb\r\nc\n").collect();
        assert_eq!(lines, ["a", "b", "c"]);
        let lines: Vec<_> = message_lines("").collect();
        assert_eq!(lines, [""]);
    }
}
