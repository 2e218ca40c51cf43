//! The master's loop: one poll(2) over the signalfd, the status pipe, every child's log
//! channel, and the listeners of services that have no process able to accept. It forks
//! workers (while single-threaded: it never starts a thread), reaps them, reloads, stops.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::generation::Generation;
use super::notify::Notifier;
use super::process::fork_worker;
use super::registry::Registry;
use super::service::{exit_message, ListenerAction};
use super::signals::{MasterSignal, MasterSignals, Sender};
use super::status::SIZE as STATUS_SIZE;
use super::worker::{WorkerListener, WorkerSpec};
use super::MasterConfig;
use crate::log::{ChildLog, Destinations};

/// How long a stopping master waits for its children to die before SIGKILL.
const MAX_DIE_WAIT: Duration = Duration::from_secs(5);
/// How long it waits for workers it leaves running (shutdown_clients = no) to drop their
/// listening sockets.
const QUIT_WAIT: Duration = Duration::from_millis(500);

/// A process of an earlier generation (before a reload): it no longer accepts connections;
/// the master still collects its log and reaps it.
struct Retired {
    service: String,
    log: ChildLog,
    terminated: bool,
}

pub struct Master<C> {
    registry: Registry<C>,
    config_path: PathBuf,
    /// `-o key=value` from the command line, applied again at each reload.
    overrides: Vec<String>,
    pid_path: PathBuf,
    current: Generation<C>,
    retired: BTreeMap<i32, Retired>,
    /// The anvil process kept through reloads, and the "master alive" pipe of the generation
    /// that started it (the process waits for that pipe to close before it stops accepting).
    kept_anvil: Option<(i32, OwnedFd)>,
    signals: MasterSignals,
    notifier: Notifier,
    core_dumps_disabled: bool,
}

/// The service whose state must outlive a reload (Dovecot: "anvil never dies").
const ANVIL: &str = "anvil";

#[derive(Clone, Copy)]
enum Token {
    Signals,
    Status,
    Records(i32),
    Stderr(i32),
    Listener(usize),
}

fn write_line(level: crate::log::Level, prefix: &str, message: &str) {
    crate::log::write_as(level, prefix, message);
}

impl<C: MasterConfig> Master<C> {
    /// The master, once its sockets are bound and its pid file is written.
    pub fn new(
        registry: Registry<C>,
        config_path: PathBuf,
        overrides: Vec<String>,
        pid_path: PathBuf,
        current: Generation<C>,
        signals: MasterSignals,
        core_dumps_disabled: bool,
    ) -> Master<C> {
        Master {
            registry,
            config_path,
            overrides,
            pid_path,
            current,
            retired: BTreeMap::new(),
            kept_anvil: None,
            signals,
            notifier: Notifier::from_env(),
            core_dumps_disabled,
        }
    }

    /// Runs until a stop signal; returns after the children were dealt with and the pid
    /// file removed.
    pub fn run(mut self) {
        // MAINPID too, for a master that daemonized under a Type=notify unit.
        self.notifier.send(&format!(
            "READY=1\nSTATUS=v{} running\nMAINPID={}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        ));
        loop {
            let now = Instant::now();
            let more_to_fork = self.maintain(now);
            let deadline = self
                .current
                .services
                .iter()
                .filter_map(|s| s.next_deadline())
                .min();
            let timeout = if more_to_fork {
                PollTimeout::ZERO
            } else {
                match deadline {
                    None => PollTimeout::NONE,
                    Some(d) => {
                        let ms = d.saturating_duration_since(now).as_millis() + 1;
                        PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                    }
                }
            };
            let (tokens, ready) = self.wait(timeout);
            let now = Instant::now();
            let mut stop = None;
            // Listener tokens index the services of the generation that was polled.
            let mut reloaded = false;
            for (token, readable) in tokens.into_iter().zip(ready) {
                if !readable {
                    continue;
                }
                match token {
                    Token::Signals => {
                        for signal in self.signals.read() {
                            match signal {
                                MasterSignal::ChildExited => self.reap(now),
                                MasterSignal::Reload => {
                                    self.reload();
                                    reloaded = true;
                                }
                                MasterSignal::ReopenLogs => {
                                    if let Err(e) = crate::log::reopen() {
                                        log::error!("{e}");
                                    }
                                }
                                MasterSignal::Stop(sender) => stop = Some(sender),
                            }
                        }
                    }
                    Token::Status => self.read_status(now),
                    Token::Records(pid) => {
                        if let Some(l) = self.child_log(pid) {
                            l.read_records(&mut write_line);
                        }
                    }
                    Token::Stderr(pid) => {
                        if let Some(l) = self.child_log(pid) {
                            l.read_stderr(&mut write_line);
                        }
                    }
                    Token::Listener(i) if !reloaded => self.listener_ready(i, now),
                    Token::Listener(_) => {}
                }
            }
            if let Some(sender) = stop {
                self.shutdown(&sender);
                if let Err(e) = std::fs::remove_file(&self.pid_path) {
                    log::error!(
                        "unlink({}) failed: {}",
                        self.pid_path.display(),
                        crate::errtext::os_error_text(&e)
                    );
                }
                self.notifier.send("STATUS=cote stopped");
                return;
            }
        }
    }

    /// Polls everything the master listens to; returns what was polled and what is ready.
    fn wait(&mut self, timeout: PollTimeout) -> (Vec<Token>, Vec<bool>) {
        let now = Instant::now();
        let watched: Vec<usize> = (0..self.current.services.len())
            .filter(|&i| self.current.services[i].watch_listeners(now))
            .collect();
        let mut tokens = vec![Token::Signals, Token::Status];
        let mut fds: Vec<BorrowedFd<'_>> =
            vec![self.signals.fd(), self.current.status_read.as_fd()];
        let logs = self
            .current
            .services
            .iter()
            .flat_map(|s| s.processes.iter().map(|(pid, p)| (*pid, &p.log)))
            .chain(self.retired.iter().map(|(pid, r)| (*pid, &r.log)));
        for (pid, log) in logs {
            if let Some(fd) = log.records_fd() {
                tokens.push(Token::Records(pid));
                fds.push(fd);
            }
            if let Some(fd) = log.stderr_fd() {
                tokens.push(Token::Stderr(pid));
                fds.push(fd);
            }
        }
        for i in watched {
            for s in &self.current.services[i].sockets {
                tokens.push(Token::Listener(i));
                fds.push(s.socket.as_fd());
            }
        }
        let mut pollfds: Vec<PollFd<'_>> = fds
            .into_iter()
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        match poll(&mut pollfds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                log::error!("poll() failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let ready = pollfds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        (tokens, ready)
    }

    fn child_log(&mut self, pid: i32) -> Option<&mut ChildLog> {
        if let Some(r) = self.retired.get_mut(&pid) {
            return Some(&mut r.log);
        }
        self.current
            .services
            .iter_mut()
            .find_map(|s| s.processes.get_mut(&pid))
            .map(|p| &mut p.log)
    }

    /// Timed work: dropping connections that waited too long at process_limit, forking for
    /// process_min_avail, idle kills. Returns whether more processes are still wanted.
    fn maintain(&mut self, now: Instant) -> bool {
        let mut more = false;
        for i in 0..self.current.services.len() {
            let service = &mut self.current.services[i];
            if service.drop_due(now) {
                for s in &service.sockets {
                    drop_pending(s.socket.as_fd());
                }
            }
            for pid in service.idle_kills(now) {
                if let Err(e) = kill(Pid::from_raw(pid), Signal::SIGINT) {
                    if e != Errno::ESRCH {
                        log::error!(
                            "service({}): kill({pid}, SIGINT) failed: {e}",
                            service.spec.name
                        );
                    }
                }
            }
            let count = service.prefork_count(now);
            for _ in 0..count {
                if !self.fork(i, now) {
                    break;
                }
            }
            more |= self.current.services[i].prefork_count(now) > 0;
        }
        more
    }

    fn listener_ready(&mut self, i: usize, now: Instant) {
        let Some(service) = self.current.services.get_mut(i) else {
            return;
        };
        // Several sockets of one service may be ready at once; act once per round.
        if !service.watch_listeners(now) {
            return;
        }
        match service.listener_ready(now) {
            ListenerAction::Fork => {
                self.fork(i, now);
            }
            ListenerAction::Wait(Some(warning)) => log::warn!("{warning}"),
            ListenerAction::Wait(None) => {}
        }
    }

    /// Forks a worker for service `i`; false (and throttling) when fork failed.
    fn fork(&mut self, i: usize, now: Instant) -> bool {
        let g = &mut self.current;
        let service = &g.services[i];
        let spec = WorkerSpec {
            title: &service.spec.title,
            handler: g.handlers[i],
            init: g.inits[i],
            identity: g.identities[i].clone(),
            config: Arc::clone(&g.config),
            client_limit: service.client_limit(),
            service_count: service.spec.service_count,
            debug: service.spec.debug,
            listeners: service
                .sockets
                .iter()
                .map(|s| WorkerListener {
                    fd: s.socket.as_fd(),
                    info: s.info.clone(),
                    unix_path: s.unix_path.clone(),
                })
                .collect(),
            status: g.status_write.as_fd(),
            master_alive: g.alive_read.as_fd(),
        };
        let name = service.spec.name.clone();
        match fork_worker(&name, spec) {
            Ok((pid, log)) => {
                g.services[i].add_process(pid.as_raw(), log, now);
                true
            }
            Err(e) => {
                log::error!("service({name}): fork() failed: {e}");
                let message = g.services[i].start_throttle(now);
                log::error!("{message}");
                false
            }
        }
    }

    fn read_status(&mut self, now: Instant) {
        let mut buf = [0u8; STATUS_SIZE * 512];
        loop {
            let n = match nix::unistd::read(&self.current.status_read, &mut buf) {
                Ok(0) | Err(Errno::EAGAIN) => return,
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    log::error!("read(status pipe) failed: {e}");
                    return;
                }
            };
            for status in self.current.status.push(&buf[..n]) {
                let pid = status.pid as i32;
                if let Some(s) = self
                    .current
                    .services
                    .iter_mut()
                    .find(|s| s.processes.contains_key(&pid))
                {
                    s.status(pid, status.available, now);
                }
            }
        }
    }

    fn reap(&mut self, now: Instant) {
        // A child's status written before it died must count: else a child that had
        // started and served could be taken for a startup failure and throttle the service.
        self.read_status(now);
        loop {
            let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Ok(s) => s,
                Err(Errno::EINTR) => continue,
                Err(e) => {
                    log::error!("waitpid() failed: {e}");
                    return;
                }
            };
            let Some(pid) = status.pid() else { continue };
            let pid = pid.as_raw();
            self.exited(pid, &status, now);
        }
    }

    fn exited(&mut self, pid: i32, status: &WaitStatus, now: Instant) {
        if self.kept_anvil.as_ref().is_some_and(|(p, _)| *p == pid) {
            self.kept_anvil = None;
        }
        let (name, mut log, terminated, throttle) = if let Some(r) = self.retired.remove(&pid) {
            (r.service, r.log, r.terminated, None)
        } else if let Some(service) = self
            .current
            .services
            .iter_mut()
            .find(|s| s.processes.contains_key(&pid))
        {
            let Some((p, throttle)) = service.remove_process(pid, status, now) else {
                return;
            };
            (service.spec.name.clone(), p.log, p.terminated, throttle)
        } else {
            log::error!("waitpid() returned unknown PID {pid}");
            return;
        };
        // The child's last words come before the news of its death.
        log.drain(&mut write_line);
        let expected = terminated
            && matches!(
                status,
                WaitStatus::Signaled(_, Signal::SIGTERM | Signal::SIGKILL, _)
            );
        if !expected {
            if let Some(message) = exit_message(
                &name,
                pid,
                status,
                self.core_dumps_disabled,
                log.fatal_logged(),
            ) {
                log::error!("{message}");
            }
        }
        if let Some(message) = throttle {
            log::error!("{message}");
        }
    }

    fn reload(&mut self) {
        self.notifier.send("RELOADING=1");
        log::warn!("SIGHUP received - reloading configuration");
        if let Err(e) = self.try_reload() {
            log::error!("{e}");
        }
        self.notifier.send("READY=1");
    }

    fn try_reload(&mut self) -> Result<(), String> {
        let config = C::load(&self.config_path, &self.overrides)
            .map_err(|e| format!("Error reading configuration: {e}"))?;
        let settings = config.master_settings();
        let log_settings =
            (settings.log != self.current.settings.log).then(|| settings.log.clone());
        let warnings = config.warnings();
        let built = Generation::build(
            Arc::new(config),
            settings,
            &self.registry,
            Some(&self.current.sockets),
        );
        let (generation, report) = match built {
            Ok(ok) => ok,
            Err(report) => {
                for e in report.errors.iter().chain(&report.fatal) {
                    log::error!("{e}");
                }
                return Err("Config reload failed: couldn't start the listeners, keeping the old configuration".into());
            }
        };
        // Opened last: a failure drops the new generation (closing only sockets it bound).
        let destinations = match log_settings {
            Some(log) => {
                Some(Destinations::open(log).map_err(|e| format!("Config reload failed: {e}"))?)
            }
            None => None,
        };
        if let Some(d) = destinations {
            crate::log::to_destinations(d);
        }
        for w in warnings.iter().chain(&report.warnings) {
            log::warn!("{w}");
        }
        let mut old = std::mem::replace(&mut self.current, generation);
        self.keep_anvil(&mut old);
        // Dropping the old generation (after taking its services) closes its "master alive"
        // pipe and the sockets the new one did not take over.
        let Generation { services, .. } = old;
        self.retire(services, false);
        Ok(())
    }

    /// Moves the anvil process of `old` into the current generation, unsignalled, so that
    /// the sessions it counts (mail_max_userip_connections) still count after the reload.
    /// Only when the service is unchanged (then the new generation took over its sockets);
    /// it runs one process, so the master never needs its status to decide on forking.
    fn keep_anvil(&mut self, old: &mut Generation<C>) {
        let Some(from) = old.services.iter_mut().find(|s| s.spec.name == ANVIL) else {
            return;
        };
        let Some(to) = self
            .current
            .services
            .iter_mut()
            .find(|s| s.spec.name == ANVIL && s.spec == from.spec && s.processes.is_empty())
        else {
            return;
        };
        let Some(&pid) = from.processes.keys().next() else {
            return;
        };
        if self.kept_anvil.as_ref().map(|(p, _)| *p) != Some(pid) {
            let Some(alive) = old.alive_write.as_ref().and_then(|fd| fd.try_clone().ok()) else {
                return;
            };
            self.kept_anvil = Some((pid, alive));
        }
        to.processes.append(&mut from.processes);
    }

    /// Moves the processes of `services` to `retired` and tells them to stop: SIGQUIT makes
    /// them let go of the listening sockets and finish their clients (their closed "master
    /// alive" pipe says the same to those between clients), SIGTERM (`terminate`) ends them.
    fn retire(&mut self, services: Vec<super::service::Service>, terminate: bool) {
        let signal = if terminate {
            Signal::SIGTERM
        } else {
            Signal::SIGQUIT
        };
        for service in services {
            for (pid, p) in service.processes {
                match kill(Pid::from_raw(pid), signal) {
                    Ok(()) | Err(Errno::ESRCH) => {}
                    Err(e) => log::error!(
                        "service({}): kill({pid}, {signal}) failed: {e}",
                        service.spec.name
                    ),
                }
                self.retired.insert(
                    pid,
                    Retired {
                        service: service.spec.name.clone(),
                        log: p.log,
                        terminated: terminate || p.terminated,
                    },
                );
            }
        }
    }

    fn shutdown(&mut self, sender: &Sender) {
        log::warn!(
            "Killed with signal {} (by pid={} uid={} code={})",
            sender.signo,
            sender.pid,
            sender.uid,
            sender.code_text()
        );
        self.notifier.send("STOPPING=1\nSTATUS=cote stopping...");
        let shutdown_clients = self.current.settings.shutdown_clients;
        // Close every listening socket and the "master alive" pipe, then stop the processes.
        let services = std::mem::take(&mut self.current.services);
        self.current.handlers.clear();
        self.current.sockets = Default::default();
        self.current.alive_write = None;
        self.retire(services, shutdown_clients);
        let wait = if shutdown_clients {
            MAX_DIE_WAIT
        } else {
            QUIT_WAIT
        };
        self.wait_for_children(Instant::now() + wait);
        if shutdown_clients && !self.retired.is_empty() {
            for pid in self.retired.keys() {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            self.wait_for_children(Instant::now() + Duration::from_secs(1));
        }
    }

    /// Reaps children (logging what they say) until none is left or `deadline`.
    fn wait_for_children(&mut self, deadline: Instant) {
        loop {
            let now = Instant::now();
            self.reap(now);
            if self.retired.is_empty()
                && self.current.services.iter().all(|s| s.processes.is_empty())
            {
                return;
            }
            if now >= deadline {
                return;
            }
            let ms = deadline.saturating_duration_since(now).as_millis().min(100) as u16;
            let (tokens, ready) = self.wait(PollTimeout::from(ms.max(1)));
            for (token, readable) in tokens.into_iter().zip(ready) {
                if !readable {
                    continue;
                }
                match token {
                    Token::Records(pid) => {
                        if let Some(l) = self.child_log(pid) {
                            l.read_records(&mut write_line);
                        }
                    }
                    Token::Stderr(pid) => {
                        if let Some(l) = self.child_log(pid) {
                            l.read_stderr(&mut write_line);
                        }
                    }
                    // Signals are read in bulk; SIGCHLD is covered by reap() above, the rest
                    // do not matter while stopping.
                    Token::Signals => {
                        self.signals.read();
                    }
                    Token::Status | Token::Listener(_) => {}
                }
            }
        }
    }
}

/// Accepts and closes every connection waiting on a listener (they waited DROP_TIMEOUT at
/// process_limit). Closing tells the client at once, instead of leaving it hanging.
fn drop_pending(fd: BorrowedFd<'_>) {
    loop {
        // SAFETY: accept4(2) on a non-blocking listening socket; the result is closed at once.
        let conn = unsafe {
            libc::accept4(
                fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if conn < 0 {
            return;
        }
        // SAFETY: conn is a descriptor we just received and own.
        unsafe { libc::close(conn) };
    }
}
