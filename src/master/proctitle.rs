//! Process titles as `ps` shows Dovecot's: `dovecot/imap-login`, `dovecot/imap [alice
//! 192.0.2.1 IDLE]` with `verbose_proctitle`. Workers are forked, not executed, so their
//! command line is the master's until it is rewritten in place: the kernel shows the memory
//! that held the original argv and environment strings. [`init`] moves the environment's
//! strings to the heap (so nothing reads them from that area any more) and claims the area;
//! [`set`] writes a title there and sets the 15-byte `comm` name as the exec'd binary would
//! have it (`imap-login`).

use std::ffi::{c_char, CStr, CString};
use std::sync::Mutex;

/// The argv + environment area of this process: start address and length.
#[derive(Clone, Copy)]
struct Area {
    start: usize,
    len: usize,
}

static AREA: Mutex<Option<Area>> = Mutex::new(None);
/// The title without its detail (`dovecot/imap`), to which [`set_detail`] appends.
static BASE: Mutex<String> = Mutex::new(String::new());

extern "C" {
    static mut environ: *mut *mut c_char;
}

/// Claims the argv and environment strings' memory for titles. Call once, early, while the
/// process is single-threaded (the master before it forks anything). When the layout is not
/// the usual one (argv followed by the environment), titles stay as they are.
pub fn init() {
    let Some((arg_start, arg_end, env_start, env_end)) = layout() else {
        return;
    };
    let end = if env_start == arg_end && env_end > env_start {
        // SAFETY: single-threaded (see above); the copies are leaked, as the process keeps
        // using its environment until it exits.
        unsafe { move_environment() };
        env_end
    } else {
        arg_end
    };
    if end > arg_start + 1 {
        *AREA.lock().unwrap_or_else(|e| e.into_inner()) = Some(Area {
            start: arg_start,
            len: end - arg_start,
        });
    }
}

/// The title of a worker of a service whose `executable` is `executable` under
/// `instance_name`, as Dovecot's master names the processes it executes: the executable's
/// base name under the instance name (`dovecot/imap-login`, `dovecot/auth -w`), with
/// `dovecot-` in front of an instance name that does not start with `dovecot`.
pub fn service_title(instance_name: &str, executable: &str) -> String {
    let mut words = executable.split_whitespace();
    let program = words.next().unwrap_or_default();
    let program = program.rsplit('/').next().unwrap_or(program);
    let mut title = format!("{instance_name}/{program}");
    if !title.starts_with("dovecot") {
        title.insert_str(0, "dovecot-");
    }
    for word in words {
        title.push(' ');
        title.push_str(word);
    }
    title
}

/// Sets this process's title, and its `comm` name to the executable's base name.
pub fn set(title: &str) {
    *BASE.lock().unwrap_or_else(|e| e.into_inner()) = title.to_string();
    let program = title.split_whitespace().next().unwrap_or(title);
    let comm = program.rsplit('/').next().unwrap_or(program);
    if let Ok(name) = CString::new(comm) {
        // The kernel keeps the first 15 bytes.
        let _ = nix::sys::prctl::set_name(&name);
    }
    write(title);
}

/// Appends `detail` (`[alice 192.0.2.1]`) to the title [`set`] gave, or removes it.
pub fn set_detail(detail: Option<&str>) {
    let base = BASE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match detail {
        Some(detail) => write(&format!("{base} {detail}")),
        None => write(&base),
    }
}

fn write(title: &str) {
    let Some(area) = *AREA.lock().unwrap_or_else(|e| e.into_inner()) else {
        return;
    };
    // Two NULs at least at the end; a longer title is cut.
    let len = title.len().min(area.len - 2);
    // SAFETY: `init` found this range as the argv and environment strings of this process
    // (memory that stays mapped for its life), and moved the environment away first;
    // nothing in this program reads argv after start-up.
    unsafe {
        let dst = area.start as *mut u8;
        std::ptr::copy_nonoverlapping(title.as_ptr(), dst, len);
        std::ptr::write_bytes(dst.add(len), 0, area.len - len);
    }
}

/// arg_start, arg_end, env_start, env_end of this process (`/proc/self/stat` fields 48–51).
fn layout() -> Option<(usize, usize, usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesized command name start with field 3 (state).
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<usize>().ok();
    let (arg_start, arg_end) = (field(48)?, field(49)?);
    let (env_start, env_end) = (field(50)?, field(51)?);
    (arg_start != 0 && arg_end > arg_start).then_some((arg_start, arg_end, env_start, env_end))
}

/// Points `environ` at heap copies of its strings, so the original ones may be overwritten.
///
/// # Safety
/// No other thread may read or change the environment meanwhile.
unsafe fn move_environment() {
    let mut copies: Vec<*mut c_char> = Vec::new();
    let mut at = environ;
    while !at.is_null() && !(*at).is_null() {
        copies.push(CStr::from_ptr(*at).to_owned().into_raw());
        at = at.add(1);
    }
    copies.push(std::ptr::null_mut());
    environ = Box::leak(copies.into_boxed_slice()).as_mut_ptr();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_titles_follow_dovecots_master() {
        assert_eq!(service_title("dovecot", "imap-login"), "dovecot/imap-login");
        assert_eq!(service_title("dovecot", "auth -w"), "dovecot/auth -w");
        assert_eq!(
            service_title("dovecot", "/usr/lib/dovecot/imap"),
            "dovecot/imap"
        );
        assert_eq!(service_title("mx2", "pop3"), "dovecot-mx2/pop3");
        assert_eq!(service_title("dovecot2", "lmtp"), "dovecot2/lmtp");
    }
}
