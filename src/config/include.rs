//! The stack of files being read: the main file and `!include`d ones, with glob(3) +
//! GLOB_BRACE patterns resolved relative to the including file (Dovecot's input stack).

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One file being read.
struct Input {
    /// The path as it was named (relative paths stay relative), shared with origins.
    path: Arc<Path>,
    lines: Vec<String>,
    next: usize,
    /// Number of the line last returned (0 before the first).
    linenum: u32,
}

impl Input {
    fn open(path: PathBuf) -> std::io::Result<Input> {
        let file = std::fs::File::open(&path)?;
        // Like Dovecot, a read error after a successful open (a directory) reads as empty.
        let mut bytes = Vec::new();
        let _ = std::io::Read::read_to_end(&mut &file, &mut bytes);
        Ok(Input {
            path: Arc::from(path),
            lines: split_lines(&bytes),
            next: 0,
            linenum: 0,
        })
    }
}

/// Lines without their `\n` (or `\r\n`); a last line without `\n` counts. A NUL ends a line's
/// text, as it does for C strings.
fn split_lines(bytes: &[u8]) -> Vec<String> {
    let mut lines: Vec<&[u8]> = bytes.split(|&c| c == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
        .into_iter()
        .map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = line.split(|&c| c == 0).next().unwrap_or(line);
            String::from_utf8_lossy(line).into_owned()
        })
        .collect()
}

/// The files being read, innermost last.
pub(crate) struct InputStack {
    stack: Vec<Input>,
}

impl InputStack {
    /// Opens the main file.
    pub(crate) fn open(path: &Path) -> std::io::Result<InputStack> {
        Ok(InputStack {
            stack: vec![Input::open(path.to_path_buf())?],
        })
    }

    /// The next line to parse, from the innermost file that still has lines.
    pub(crate) fn next_line(&mut self) -> Option<String> {
        loop {
            let input = self.stack.last_mut()?;
            if let Some(line) = input.lines.get(input.next) {
                input.next += 1;
                input.linenum += 1;
                return Some(line.clone());
            }
            self.stack.pop();
        }
    }

    /// The file and line being parsed (the innermost file).
    pub(crate) fn position(&self) -> (Arc<Path>, u32) {
        match self.stack.last() {
            Some(input) => (input.path.clone(), input.linenum),
            None => (Arc::from(Path::new("")), 0),
        }
    }

    /// `path` made relative to the directory of the file being parsed, unless absolute
    /// (Dovecot's `fix_relative_path`: plain string concatenation).
    pub(crate) fn resolve(&self, path: &str) -> PathBuf {
        if path.starts_with('/') {
            return PathBuf::from(path);
        }
        let Some(input) = self.stack.last() else {
            return PathBuf::from(path);
        };
        let current = input.path.as_os_str().as_bytes();
        match current.iter().rposition(|&c| c == b'/') {
            Some(slash) => {
                let mut joined = current[..=slash].to_vec();
                joined.extend_from_slice(path.as_bytes());
                PathBuf::from(OsString::from_vec(joined))
            }
            None => PathBuf::from(path),
        }
    }

    /// `!include` / `!include_try`: pushes every match of `pattern` so that they are read in
    /// glob order. Errors are Dovecot's texts. A failure after some matches were pushed
    /// leaves them pushed, as Dovecot does (its error then names the last pushed file).
    pub(crate) fn include(&mut self, pattern: &Path, try_only: bool) -> Result<(), String> {
        let matches = match glob(pattern) {
            Ok(matches) => matches,
            Err(GlobError::NoMatch) if try_only => return Ok(()),
            Err(error) => return Err(error.message().to_string()),
        };
        for path in matches.into_iter().rev() {
            if self
                .stack
                .iter()
                .any(|input| input.path.as_os_str() == path.as_os_str())
            {
                return Err(format!("Recursive include file: {}", path.display()));
            }
            match Input::open(path.clone()) {
                Ok(input) => self.stack.push(input),
                Err(_) if try_only => {}
                Err(error) => {
                    return Err(format!(
                        "Couldn't open include file {}: {}",
                        path.display(),
                        crate::errtext::os_error_text(&error)
                    ))
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, PartialEq, Eq)]
enum GlobError {
    NoMatch,
    NoSpace,
    Aborted,
    Other,
}

impl GlobError {
    fn message(&self) -> &'static str {
        match self {
            GlobError::NoMatch => "No matches",
            GlobError::NoSpace => "glob() failed: Not enough memory",
            GlobError::Aborted => "glob() failed: Read error",
            GlobError::Other => "glob() failed: Unknown error",
        }
    }
}

#[cfg(target_env = "gnu")]
const GLOB_BRACE: libc::c_int = libc::GLOB_BRACE;
#[cfg(not(target_env = "gnu"))]
const GLOB_BRACE: libc::c_int = 0;

/// The C library's glob(3) with GLOB_BRACE: matches sorted per brace alternative.
fn glob(pattern: &Path) -> Result<Vec<PathBuf>, GlobError> {
    let Ok(c_pattern) = CString::new(pattern.as_os_str().as_bytes()) else {
        return Err(GlobError::NoMatch);
    };
    // SAFETY: glob_t is plain data that glob() fills in; globfree() releases it, and the
    // paths are copied out before that.
    unsafe {
        let mut found: libc::glob_t = std::mem::zeroed();
        let rc = libc::glob(c_pattern.as_ptr(), GLOB_BRACE, None, &mut found);
        let result = match rc {
            0 => {
                let count = found.gl_pathc;
                let mut paths = Vec::with_capacity(count);
                for i in 0..count {
                    let entry = *found.gl_pathv.add(i);
                    if !entry.is_null() {
                        let bytes = CStr::from_ptr(entry).to_bytes();
                        paths.push(PathBuf::from(OsStr::from_bytes(bytes)));
                    }
                }
                Ok(paths)
            }
            libc::GLOB_NOMATCH => Err(GlobError::NoMatch),
            libc::GLOB_NOSPACE => Err(GlobError::NoSpace),
            libc::GLOB_ABORTED => Err(GlobError::Aborted),
            _ => Err(GlobError::Other),
        };
        libc::globfree(&mut found);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(split_lines(b"a\r\nb\n\nc"), vec!["a", "b", "", "c"]);
        assert_eq!(split_lines(b"a\n"), vec!["a"]);
        assert_eq!(split_lines(b"a\0b\n"), vec!["a"]);
        assert!(split_lines(b"").is_empty());
    }

    #[test]
    fn globbing() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.conf", "b.conf", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let base = dir.path().display().to_string();
        let names = |pattern: &str| -> Vec<String> {
            glob(Path::new(&format!("{base}/{pattern}")))
                .unwrap()
                .iter()
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("*.conf"), ["a.conf", "b.conf"]);
        assert_eq!(names("{b,a}.conf"), ["b.conf", "a.conf"]);
        assert_eq!(names("{b,x,a}.conf"), ["b.conf", "a.conf"]);
        assert_eq!(
            glob(Path::new(&format!("{base}/none*"))),
            Err(GlobError::NoMatch)
        );
    }

    #[test]
    fn relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("main.conf");
        std::fs::write(&main, "x\n").unwrap();
        let stack = InputStack::open(&main).unwrap();
        assert_eq!(stack.resolve("conf.d/a"), dir.path().join("conf.d/a"));
        assert_eq!(stack.resolve("/abs"), PathBuf::from("/abs"));
    }
}
