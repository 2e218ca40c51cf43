//! The master's signals, read from a signalfd inside its poll loop (no handlers run at odd
//! moments, no alarm()). Children get the default dispositions back.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The signals the master acts on.
const HANDLED: [Signal; 5] = [
    Signal::SIGCHLD,
    Signal::SIGHUP,
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGUSR1,
];

/// Who sent a stop signal, for `Killed with signal 15 (by pid=.. uid=.. code=..)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub signo: i32,
    pub pid: u32,
    pub uid: u32,
    pub code: i32,
}

impl Sender {
    /// Dovecot's wording of `si_code`.
    pub fn code_text(&self) -> String {
        match self.code {
            libc::SI_USER => "kill".into(),
            libc::SI_KERNEL => "kernel".into(),
            libc::SI_TIMER => "timer".into(),
            other => format!("unknown {other}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterSignal {
    ChildExited,
    Reload,
    Stop(Sender),
    ReopenLogs,
}

pub struct MasterSignals {
    fd: SignalFd,
}

fn mask() -> SigSet {
    let mut set = SigSet::empty();
    for s in HANDLED {
        set.add(s);
    }
    set
}

impl MasterSignals {
    /// Blocks the handled signals (they queue for the signalfd) and ignores SIGPIPE, SIGALRM
    /// and SIGQUIT (which the master sends its workers; a worker forked just before it
    /// arrives must not dump core before installing its handler: it inherits the ignore, and
    /// learns the same from the closed "master alive" pipe). Call while the process is
    /// single-threaded, as the master always is.
    pub fn install() -> io::Result<MasterSignals> {
        let ignore = SigAction::new(SigHandler::SigIgn, SaFlags::empty(), SigSet::empty());
        for s in [Signal::SIGPIPE, Signal::SIGALRM, Signal::SIGQUIT] {
            // SAFETY: installing SIG_IGN runs no code in signal context.
            unsafe { sigaction(s, &ignore) }?;
        }
        let set = mask();
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        Ok(MasterSignals { fd })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Every signal queued since the last call.
    pub fn read(&self) -> Vec<MasterSignal> {
        let mut out = Vec::new();
        while let Ok(Some(info)) = self.fd.read_signal() {
            let signal = match info.ssi_signo as i32 {
                libc::SIGCHLD => MasterSignal::ChildExited,
                libc::SIGHUP => MasterSignal::Reload,
                libc::SIGUSR1 => MasterSignal::ReopenLogs,
                signo => MasterSignal::Stop(Sender {
                    signo,
                    pid: info.ssi_pid,
                    uid: info.ssi_uid,
                    code: info.ssi_code,
                }),
            };
            if !(signal == MasterSignal::ChildExited && out.contains(&signal)) {
                out.push(signal);
            }
        }
        out
    }
}

/// In a freshly forked child: default dispositions for what the master handled, nothing
/// blocked. SIGPIPE stays ignored (write errors are handled where they happen).
pub fn reset_in_child() -> nix::Result<()> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for s in HANDLED.into_iter().chain([Signal::SIGALRM]) {
        // SAFETY: installing SIG_DFL runs no code in signal context.
        unsafe { sigaction(s, &default) }?;
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
}
