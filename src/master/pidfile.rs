//! `base_dir/master.pid`: decimal pid + LF, written by the running master, read by the next
//! master (to refuse a second instance) and by `coteadm stop|reload|log reopen`.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "master.pid";

pub fn path(base_dir: &Path) -> PathBuf {
    base_dir.join(FILE_NAME)
}

/// What a pid file says.
#[derive(Debug, PartialEq, Eq)]
pub enum PidFile {
    /// No file.
    Absent,
    /// The file is empty (Dovecot: `Empty PID file in F, overriding`).
    Empty,
    /// Not a pid (`PID file contains invalid PID value`).
    Invalid,
    /// A pid of a process that no longer exists (or our own pid).
    Stale(i32),
    /// A live process.
    Running(i32),
}

/// Reads the pid file at `path`; only I/O errors other than "no such file" are errors.
pub fn read(path: &Path) -> io::Result<PidFile> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PidFile::Absent),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::new();
    (&file).take(32).read_to_end(&mut buf)?;
    if buf.is_empty() {
        return Ok(PidFile::Empty);
    }
    let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
    let pid = match std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<i32>().ok())
    {
        Some(pid) if pid > 0 && text.iter().all(u8::is_ascii_digit) => pid,
        _ => return Ok(PidFile::Invalid),
    };
    Ok(if pid != std::process::id() as i32 && alive(pid) {
        PidFile::Running(pid)
    } else {
        PidFile::Stale(pid)
    })
}

/// Whether a process exists (signal 0; EPERM means it exists but is not ours).
pub fn alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks for existence.
    let ret = unsafe { libc::kill(pid, 0) };
    ret == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Writes our pid (mode 0644, replacing any old file).
pub fn write(path: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)?;
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_states() {
        let dir = tempfile::tempdir().unwrap();
        let p = path(dir.path());
        assert_eq!(read(&p).unwrap(), PidFile::Absent);
        std::fs::write(&p, "").unwrap();
        assert_eq!(read(&p).unwrap(), PidFile::Empty);
        for bad in [
            "abc\n",
            "-5\n",
            "0\n",
            "+12\n",
            "12 \n",
            "99999999999999999999\n",
        ] {
            std::fs::write(&p, bad).unwrap();
            assert_eq!(read(&p).unwrap(), PidFile::Invalid, "{bad:?}");
        }
        // Our own pid counts as stale: a restarted master may get the same pid.
        write(&p).unwrap();
        let me = std::process::id() as i32;
        assert_eq!(std::fs::read_to_string(&p).unwrap(), format!("{me}\n"));
        assert_eq!(read(&p).unwrap(), PidFile::Stale(me));
        // A live process.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        std::fs::write(&p, format!("{pid}\n")).unwrap();
        assert_eq!(read(&p).unwrap(), PidFile::Running(pid));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(read(&p).unwrap(), PidFile::Stale(pid));
    }
}
