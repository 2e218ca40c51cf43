//! A worker process: accepts connections on its service's listeners and runs the service's
//! handler for each, reporting to the master how many more clients it can take.
//!
//! With `client_limit = 1` the handler runs in the worker's only thread; with more, each
//! connection gets a thread (the worker never forks). The worker stops accepting when it
//! has served `service_count` connections or when the master closes the generation's
//! "master alive" pipe (reload, shutdown, or the master died), and exits once its clients are
//! done. SIGINT from the master means "exit if idle" (idle_kill); SIGQUIT means "release the
//! listening sockets now" (shutdown, reload).

use std::io;
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

use super::privileges::Restrict;
use super::registry::{Handler, InitHook};
use super::status::Status;
use crate::net::accepted::{Address, Connection, ListenerInfo, Stream};

/// A listening socket as the worker sees it.
pub struct WorkerListener<'a> {
    pub fd: BorrowedFd<'a>,
    pub info: ListenerInfo,
    /// For unix listeners: the path, reported as the connection's local address.
    pub unix_path: Option<std::path::PathBuf>,
}

pub struct WorkerSpec<'a, C> {
    /// The process title (`dovecot/imap-login`).
    pub title: &'a str,
    pub handler: Handler<C>,
    /// Runs first, while the process is still root.
    pub init: Option<InitHook<C>>,
    /// What the process becomes before it accepts anything.
    pub identity: Option<Restrict>,
    pub config: Arc<C>,
    pub client_limit: u32,
    pub service_count: u32,
    /// Write Debug lines (see `ServiceSpec::debug`).
    pub debug: bool,
    pub listeners: Vec<WorkerListener<'a>>,
    /// Write end of the generation's status pipe.
    pub status: BorrowedFd<'a>,
    /// Read end of the generation's "master alive" pipe: EOF means stop accepting.
    pub master_alive: BorrowedFd<'a>,
}

/// Whether this process serves more than one connection in its life (`service_count` other
/// than 1): what a session takes from the process's root days (the auth-master and anvil
/// connections, the imap-urlauth secret) must then be kept for the sessions after it.
static SERVES_SEVERAL: AtomicBool = AtomicBool::new(false);

/// See [`SERVES_SEVERAL`].
pub fn serves_several() -> bool {
    SERVES_SEVERAL.load(Ordering::Relaxed)
}

pub(super) fn set_serves_several(several: bool) {
    SERVES_SEVERAL.store(several, Ordering::Relaxed);
}

/// Write end of the self-pipe the signal handlers wake the main loop with.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Whether the worker has no clients (SIGINT only matters then).
static IDLE: AtomicBool = AtomicBool::new(true);
/// For SIGQUIT: a /dev/null descriptor and the listener descriptors to replace with it.
static QUIT_FDS: OnceLock<(RawFd, Vec<RawFd>)> = OnceLock::new();
/// /dev/null, opened before a chroot hides it.
static DEVNULL: OnceLock<RawFd> = OnceLock::new();

/// Opens what the worker loop needs from the filesystem, before the process chroots.
pub fn open_devnull() -> io::Result<()> {
    if DEVNULL.get().is_none() {
        let fd = std::fs::File::open("/dev/null")?.into_raw_fd();
        let _ = DEVNULL.set(fd);
    }
    Ok(())
}

fn wake(byte: &'static [u8; 1]) {
    let fd = WAKE_FD.load(Ordering::SeqCst);
    // SAFETY: write(2) is async-signal-safe; the byte is static.
    unsafe { libc::write(fd, byte.as_ptr().cast(), 1) };
}

/// SIGINT from the master (idle_kill): exit, but only if no client is being served.
extern "C" fn on_sigint(_: libc::c_int) {
    if IDLE.load(Ordering::SeqCst) {
        wake(b"I");
    }
}

/// SIGQUIT from the master (shutdown or reload): let go of the listening sockets right now,
/// even in the middle of a session, so a new master can bind them; finish current clients.
/// The descriptors are pointed at /dev/null rather than closed, so their numbers are never
/// reused for something else while the main loop still knows them.
extern "C" fn on_sigquit(_: libc::c_int) {
    release_listeners();
    wake(b"Q");
}

/// Stops taking clients, as SIGQUIT does (for a process told to terminate); the worker exits
/// once its sessions end.
pub(super) fn stop_accepting() {
    release_listeners();
    wake(b"Q");
}

/// Points the listening descriptors at /dev/null (async-signal-safe).
fn release_listeners() {
    if let Some((devnull, listeners)) = QUIT_FDS.get() {
        for fd in listeners {
            // SAFETY: dup2(2) is async-signal-safe; both descriptors belong to this process.
            unsafe { libc::dup2(*devnull, *fd) };
        }
    }
}

/// A pipe whose read end never blocks; the write end blocks only if `blocking_write`.
fn pipe(blocking_write: bool) -> io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
    if blocking_write {
        use nix::fcntl::{fcntl, FcntlArg};
        fcntl(&w, FcntlArg::F_SETFL(OFlag::empty()))?;
    }
    Ok((r, w))
}

fn send_status(status: BorrowedFd<'_>, available: u32) {
    let msg = Status {
        pid: std::process::id(),
        available,
    }
    .encode();
    // When the master is gone (EPIPE) there is nobody to tell.
    let _ = nix::unistd::write(status, &msg);
}

fn drain(fd: &OwnedFd) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(n) = nix::unistd::read(fd, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn accept(listener: &WorkerListener<'_>) -> io::Result<Option<Connection>> {
    // SAFETY: accept4(2) on a listening socket; we own any returned descriptor.
    let fd = unsafe {
        libc::accept4(
            listener.fd.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    if fd < 0 {
        let err = io::Error::last_os_error();
        return match err.raw_os_error() {
            // Another worker won the race, or the client gave up already, or SIGQUIT just
            // replaced the listener (ENOTSOCK; the wake pipe tells the loop next round).
            Some(
                libc::EAGAIN | libc::ECONNABORTED | libc::EINTR | libc::EPROTO | libc::ENOTSOCK,
            ) => Ok(None),
            _ => Err(err),
        };
    }
    // SAFETY: fd is a fresh descriptor from accept4.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let connection = match &listener.unix_path {
        Some(path) => Connection {
            stream: Stream::Unix(UnixStream::from(owned)),
            local: Address::Unix(Some(path.clone())),
            remote: Address::Unix(None),
            listener: listener.info.clone(),
        },
        None => {
            let stream = TcpStream::from(owned);
            // A client that already disconnected has no peer address: nothing to serve.
            let (Ok(local), Ok(remote)) = (stream.local_addr(), stream.peer_addr()) else {
                return Ok(None);
            };
            Connection {
                stream: Stream::Tcp(stream),
                local: Address::Inet(local),
                remote: Address::Inet(remote),
                listener: listener.info.clone(),
            }
        }
    };
    Ok(Some(connection))
}

/// Runs the worker until it has nothing left to do, then exits the process.
pub fn run<C: Send + Sync + 'static>(spec: WorkerSpec<'_, C>) -> ! {
    let code = match serve(spec) {
        Ok(()) => 0,
        Err(err) => {
            crate::log::emit(crate::log::Level::Fatal, format_args!("{err}"));
            super::FATAL_EXIT
        }
    };
    std::process::exit(code)
}

fn serve<C: Send + Sync + 'static>(spec: WorkerSpec<'_, C>) -> io::Result<()> {
    let (wake_r, wake_w) = pipe(false)?;
    WAKE_FD.store(wake_w.as_raw_fd(), Ordering::SeqCst);
    open_devnull()?;
    let devnull = *DEVNULL
        .get()
        .ok_or_else(|| io::Error::other("/dev/null not open"))?;
    let listener_fds = spec.listeners.iter().map(|l| l.fd.as_raw_fd()).collect();
    let _ = QUIT_FDS.set((devnull, listener_fds));
    for (signal, handler) in [
        (Signal::SIGINT, on_sigint as extern "C" fn(libc::c_int)),
        (Signal::SIGQUIT, on_sigquit),
    ] {
        let action = SigAction::new(
            SigHandler::Handler(handler),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handlers only do async-signal-safe work (atomics, write, dup2).
        unsafe { sigaction(signal, &action) }?;
    }
    // Threads report finished connections through this pipe; a full pipe must delay a
    // thread, never lose its report.
    let (done_r, done_w) = pipe(true)?;
    let done_w = Arc::new(done_w);

    let client_limit = spec.client_limit.max(1);
    let mut active: u32 = 0;
    let mut served: u32 = 0;
    let mut master_gone = false;
    // What the master is told: how many more clients this process will take. One that
    // has served its service_count says 0, so the master does not count on it while it
    // finishes and exits.
    let report = |active: u32, served: u32| {
        let done = spec.service_count != 0 && served >= spec.service_count;
        send_status(spec.status, if done { 0 } else { client_limit - active });
    };
    report(0, 0);

    loop {
        let may_accept = !master_gone
            && active < client_limit
            && (spec.service_count == 0 || served < spec.service_count);
        if !may_accept && active == 0 {
            return Ok(());
        }
        IDLE.store(active == 0, Ordering::SeqCst);

        let mut fds = vec![
            PollFd::new(wake_r.as_fd(), PollFlags::POLLIN),
            PollFd::new(done_r.as_fd(), PollFlags::POLLIN),
        ];
        if may_accept {
            fds.push(PollFd::new(spec.master_alive, PollFlags::POLLIN));
            fds.extend(
                spec.listeners
                    .iter()
                    .map(|l| PollFd::new(l.fd, PollFlags::POLLIN)),
            );
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);

        if ready[0] {
            let woken = drain(&wake_r);
            if woken.contains(&b'Q') {
                master_gone = true;
            }
            if woken.contains(&b'I') && active == 0 {
                return Ok(());
            }
        }
        if ready[1] {
            let finished = drain(&done_r).len() as u32;
            active = active.saturating_sub(finished);
            report(active, served);
        }
        if !may_accept {
            continue;
        }
        if ready[2] {
            // Readable or hung up: the master closed the pipe (it only ever closes it), on
            // reload or shutdown or by dying. Let go of the sockets for whoever binds next.
            master_gone = true;
            release_listeners();
            continue;
        }
        for (listener, _) in spec.listeners.iter().zip(&ready[3..]).filter(|(_, r)| **r) {
            if active >= client_limit || (spec.service_count != 0 && served >= spec.service_count) {
                break;
            }
            let connection = match accept(listener) {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(err) => {
                    log::error!("accept({}) failed: {err}", listener.info.name);
                    if matches!(
                        err.raw_os_error(),
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    ) {
                        // Out of descriptors or memory: let some clients finish first.
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    continue;
                }
            };
            served += 1;
            active += 1;
            IDLE.store(false, Ordering::SeqCst);
            report(active, served);
            if client_limit == 1 {
                (spec.handler)(&spec.config, connection);
                active -= 1;
                report(active, served);
            } else {
                let handler = spec.handler;
                let config = Arc::clone(&spec.config);
                let done = Arc::clone(&done_w);
                let spawned = std::thread::Builder::new().spawn(move || {
                    handler(&config, connection);
                    let _ = nix::unistd::write(&*done, b"d");
                });
                if let Err(err) = spawned {
                    log::error!("Can't create a thread for the connection: {err}");
                    active -= 1;
                    report(active, served);
                }
            }
        }
    }
}
