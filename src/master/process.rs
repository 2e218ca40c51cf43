//! Forking a worker: the child closes what belongs to the master, sends its log to the master,
//! and runs the worker loop. No exec: the child already holds the parsed configuration.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::panic::AssertUnwindSafe;

use nix::unistd::{fork, ForkResult, Pid};

use super::signals;
use super::worker::{self, WorkerSpec};
use crate::log::{self, ChildEnds, ChildLog, Level};

/// Forks a worker for `service`. Returns its pid and the master's side of its log.
///
/// Must be called while the process is single-threaded (the master never starts threads):
/// the child then continues with a consistent copy of everything, allocator included.
pub fn fork_worker<C: Send + Sync + 'static>(
    service: &str,
    spec: WorkerSpec<'_, C>,
) -> io::Result<(Pid, ChildLog)> {
    let prefix = format!("{service}: ");
    let (child_log, ends) = ChildLog::new(&prefix)?;
    // SAFETY: the master is single-threaded, so the child may run arbitrary code.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => {
            drop(ends);
            Ok((child, child_log))
        }
        ForkResult::Child => {
            // Nothing in the child may unwind back into the master's code: it would continue
            // the master's loop in the child.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(|| child_main(&prefix, spec, ends)));
            std::process::abort()
        }
    }
}

fn child_main<C: Send + Sync + 'static>(
    prefix: &str,
    spec: WorkerSpec<'_, C>,
    ends: ChildEnds,
) -> ! {
    let mut keep: Vec<RawFd> = vec![0, 1, 2, ends.records.as_raw_fd()];
    keep.extend(spec.listeners.iter().map(|l| l.fd.as_raw_fd()));
    keep.push(spec.status.as_raw_fd());
    keep.push(spec.master_alive.as_raw_fd());
    if let Err(err) = setup(spec.title, prefix, spec.debug, ends, &keep) {
        log::emit(Level::Fatal, format_args!("Worker setup failed: {err}"));
        std::process::exit(super::FATAL_EXIT);
    }
    worker::set_serves_several(spec.service_count != 1);
    // Still root here: the service reads what only root may (TLS keys), then the process
    // becomes what its service says before it accepts a single connection.
    if let Some(init) = spec.init {
        if let Err(err) = init(&spec.config) {
            log::emit(Level::Fatal, format_args!("{err}"));
            std::process::exit(super::FATAL_EXIT);
        }
    }
    if let Err(err) = worker::open_devnull() {
        log::emit(Level::Fatal, format_args!("open(/dev/null) failed: {err}"));
        std::process::exit(super::FATAL_EXIT);
    }
    if let Some(identity) = &spec.identity {
        if let Err(err) = super::privileges::drop_service_privileges(identity) {
            log::emit(Level::Fatal, format_args!("{err}"));
            std::process::exit(super::FATAL_EXIT);
        }
    }
    worker::run(spec)
}

fn setup(
    title: &str,
    prefix: &str,
    debug: bool,
    ends: ChildEnds,
    keep: &[RawFd],
) -> io::Result<()> {
    signals::reset_in_child()?;
    // Log records go to the master from now on; this drops (closes) the master's log files
    // in this process.
    log::to_channel(ends.records);
    log::set_prefix(prefix);
    log::set_debug(debug);
    let devnull = std::fs::File::open("/dev/null")?;
    for (from, to) in [
        (devnull.as_raw_fd(), 0),
        (ends.stderr.as_raw_fd(), 1),
        (ends.stderr.as_raw_fd(), 2),
    ] {
        // SAFETY: dup2(2) onto the standard descriptors, which this process owns.
        if unsafe { libc::dup2(from, to) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    drop(devnull);
    drop(ends.stderr);
    close_all_except(keep)?;
    super::proctitle::set(title);
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(non-text panic payload)");
        match info.location() {
            Some(at) => log::emit(
                Level::Panic,
                format_args!("{message} (at {}:{})", at.file(), at.line()),
            ),
            None => log::emit(Level::Panic, format_args!("{message}")),
        }
        // Like Dovecot's i_panic(): the process dies with SIGABRT, and the master logs it.
        std::process::abort();
    }));
    Ok(())
}

/// Closes every descriptor the child inherited from the master except `keep`: other
/// children's log channels, other generations' pipes (holding their write ends would keep
/// those workers from ever seeing the master close them), the signalfd, log files.
/// The master's structures owning them are never dropped in the child (it never returns).
fn close_all_except(keep: &[RawFd]) -> io::Result<()> {
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds.into_iter().filter(|fd| !keep.contains(fd)) {
        // SAFETY: closing descriptors this process will never use again; EBADF (the
        // directory's own descriptor, already closed) is harmless.
        unsafe { libc::close(fd) };
    }
    Ok(())
}
