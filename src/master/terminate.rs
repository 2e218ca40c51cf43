//! SIGTERM in a mail process (`coteadm kick`, or anyone's `kill`), as Dovecot's `sig_die`
//! takes it: the process logs `Killed with signal 15 (by pid=.. uid=.. code=..)`, stops
//! taking clients, and its sessions end as at shutdown: IMAP says `* BYE Server shutting
//! down.`, POP3 `-ERR [SYS/TEMP] Server shutting down.`, and each logs `Disconnected: Server
//! shutting down.` with its counters. The master then sees a clean exit, not a killed child.
//!
//! The handler only records the sender and writes to a pipe; a thread reads the pipe, logs,
//! and shuts the read side of every registered client socket ([`ClientGuard`]), so a session
//! blocked reading its client wakes up to end-of-input and asks [`killed`] why.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::signals::Sender;

static KILLED: AtomicBool = AtomicBool::new(false);
static SENDER_PID: AtomicU32 = AtomicU32::new(0);
static SENDER_UID: AtomicU32 = AtomicU32::new(0);
static SENDER_CODE: AtomicI32 = AtomicI32::new(0);
/// Write end of the pipe the handler wakes the watching thread with.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
static INSTALLED: OnceLock<io::Result<()>> = OnceLock::new();
/// The process's service (`imap`), for the prefix of the warning.
static SERVICE: OnceLock<String> = OnceLock::new();

/// The client sockets of this process's sessions (a descriptor of each, owned by its guard).
static CLIENTS: Mutex<Vec<(u64, RawFd)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Whether the process was told to terminate: a session whose client input ended should end
/// with the shutdown words.
pub fn killed() -> bool {
    KILLED.load(Ordering::SeqCst)
}

extern "C" fn on_sigterm(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    if !info.is_null() {
        // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler; reading
        // its fields is async-signal-safe.
        let (pid, uid, code) = unsafe { ((*info).si_pid(), (*info).si_uid(), (*info).si_code) };
        SENDER_PID.store(u32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
        SENDER_UID.store(uid, Ordering::SeqCst);
        SENDER_CODE.store(code, Ordering::SeqCst);
    }
    let fd = WAKE_FD.load(Ordering::SeqCst);
    // SAFETY: write(2) is async-signal-safe; the byte is static.
    unsafe { libc::write(fd, b"T".as_ptr().cast(), 1) };
}

/// Installs the SIGTERM handling once per process (a mail process of `service`, before its
/// first session).
///
/// The calling thread (a session's) then blocks SIGTERM, so the signal goes to the watching
/// thread (or the worker's loop) and never interrupts a session's wait for its client, which
/// would end the session before the process knows why.
pub fn install(service: &str) -> io::Result<()> {
    let _ = SERVICE.set(service.to_string());
    if let Err(e) = INSTALLED.get_or_init(install_once) {
        return Err(io::Error::new(e.kind(), e.to_string()));
    }
    let mut set = SigSet::empty();
    set.add(Signal::SIGTERM);
    set.thread_block()?;
    Ok(())
}

fn install_once() -> io::Result<()> {
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
    // The write end lives as long as the process.
    std::mem::forget(write);
    std::thread::Builder::new()
        .name("sigterm".into())
        .spawn(move || watch(read))?;
    let action = SigAction::new(
        SigHandler::SigAction(on_sigterm),
        SaFlags::SA_RESTART | SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores atomics and writes to a pipe.
    unsafe { sigaction(Signal::SIGTERM, &action) }?;
    Ok(())
}

fn watch(read: OwnedFd) {
    let mut byte = [0u8; 1];
    loop {
        match nix::unistd::read(read.as_fd(), &mut byte) {
            Ok(1) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            // The write end never closes; a failure leaves the default of finishing sessions.
            _ => return,
        }
    }
    KILLED.store(true, Ordering::SeqCst);
    let sender = Sender {
        signo: libc::SIGTERM,
        pid: SENDER_PID.load(Ordering::SeqCst),
        uid: SENDER_UID.load(Ordering::SeqCst),
        code: SENDER_CODE.load(Ordering::SeqCst),
    };
    // Dovecot logs it with the process's own prefix (`imap(1381): `), not a session's.
    let service = SERVICE.get().map_or("", String::as_str);
    crate::log::write_as(
        crate::log::Level::Warning,
        &format!("{service}({}): ", std::process::id()),
        &format!(
            "Killed with signal {} (by pid={} uid={} code={})",
            sender.signo,
            sender.pid,
            sender.uid,
            sender.code_text()
        ),
    );
    super::worker::stop_accepting();
    let clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
    for (_, fd) in clients.iter() {
        shut_read(*fd);
    }
}

fn shut_read(fd: RawFd) {
    // SAFETY: the descriptor is owned by a registered guard, which unregisters it (under the
    // CLIENTS lock held by the callers) before closing it.
    unsafe { libc::shutdown(fd, libc::SHUT_RD) };
}

/// A session's client socket, registered so that SIGTERM ends the session's input; keeps a
/// descriptor of the socket until dropped.
pub struct ClientGuard {
    id: u64,
    _fd: OwnedFd,
}

impl ClientGuard {
    /// Registers the socket of `client` (a duplicate of the descriptor).
    pub fn new(client: &OwnedFd) -> io::Result<ClientGuard> {
        let fd = client.try_clone()?;
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
        clients.push((id, fd.as_raw_fd()));
        if killed() {
            // Too late to start: the session ends at its first read.
            shut_read(fd.as_raw_fd());
        }
        Ok(ClientGuard { id, _fd: fd })
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let mut clients = CLIENTS.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|(id, _)| *id != self.id);
    }
}
