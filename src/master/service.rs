//! The master's bookkeeping for one running service: its processes and what each can take,
//! and the decisions Dovecot's service monitor makes: when to fork, when to watch the
//! listeners itself, what to do at process_limit, when to kill extra idle processes, and when
//! to throttle a service whose processes die at startup.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;

use super::settings::ServiceSpec;
use crate::log::ChildLog;
use crate::net::accepted::ListenerInfo;
use std::os::fd::OwnedFd;

/// How often the process_limit warning may repeat.
const DROP_WARN_INTERVAL: Duration = Duration::from_secs(1);
/// How long connections wait in the backlog at process_limit before they are dropped.
const DROP_TIMEOUT: Duration = Duration::from_secs(10);
const THROTTLE_MIN: Duration = Duration::from_secs(2);
const THROTTLE_MAX: Duration = Duration::from_secs(60);
/// Most processes forked for process_min_avail in one go (the rest follow next round).
pub const PREFORK_MAX_AT_ONCE: u32 = 10;

/// A listener of the service as the master holds it.
pub struct ServiceSocket {
    pub socket: Rc<OwnedFd>,
    pub info: ListenerInfo,
    pub unix_path: Option<PathBuf>,
}

pub struct Process {
    /// How many more clients it says it can take (client_limit when it starts).
    pub available: u32,
    /// Since when it has had no clients.
    pub idle_since: Option<Instant>,
    pub idle_kill_sent: bool,
    /// It reported in at least once (it started up).
    pub started: bool,
    /// The master sent it SIGTERM (shutdown): its death needs no log line.
    pub terminated: bool,
    pub log: ChildLog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenState {
    /// The master watches the listeners (no process can take a client).
    Normal,
    /// process_limit reached with clients waiting: the master stops watching until `drop_at`,
    /// then drops what still waits in the backlog.
    AtLimit { drop_at: Instant },
}

pub struct Service {
    pub spec: ServiceSpec,
    pub sockets: Vec<ServiceSocket>,
    pub processes: BTreeMap<i32, Process>,
    throttled_until: Option<Instant>,
    throttle: Duration,
    listen: ListenState,
    last_drop_warning: Option<Instant>,
}

/// What the master should do when a watched listener becomes readable.
#[derive(Debug, PartialEq, Eq)]
pub enum ListenerAction {
    /// Fork a process; it will accept the connection.
    Fork,
    /// At process_limit: leave the connection waiting; log the warning if there is one.
    Wait(Option<String>),
}

impl Service {
    pub fn new(spec: ServiceSpec, sockets: Vec<ServiceSocket>) -> Service {
        Service {
            spec,
            sockets,
            processes: BTreeMap::new(),
            throttled_until: None,
            throttle: THROTTLE_MIN,
            listen: ListenState::Normal,
            last_drop_warning: None,
        }
    }

    pub fn client_limit(&self) -> u32 {
        self.spec.effective_client_limit()
    }

    /// Processes that can take at least one more client.
    pub fn process_avail(&self) -> u32 {
        self.processes.values().filter(|p| p.available > 0).count() as u32
    }

    fn throttled(&self, now: Instant) -> bool {
        self.throttled_until.is_some_and(|t| t > now)
    }

    fn at_process_limit(&self) -> bool {
        self.processes.len() as u32 >= self.spec.process_limit
    }

    /// Leaves the AtLimit state once a process is available or there is room again.
    fn refresh(&mut self, now: Instant) {
        if self.throttled_until.is_some_and(|t| t <= now) {
            self.throttled_until = None;
        }
        if matches!(self.listen, ListenState::AtLimit { .. })
            && (self.process_avail() > 0 || !self.at_process_limit())
        {
            self.listen = ListenState::Normal;
        }
    }

    /// How many processes to fork now for process_min_avail.
    pub fn prefork_count(&mut self, now: Instant) -> u32 {
        self.refresh(now);
        if self.throttled(now) {
            return 0;
        }
        let wanted = self
            .spec
            .process_min_avail
            .saturating_sub(self.process_avail());
        let room = self
            .spec
            .process_limit
            .saturating_sub(self.processes.len() as u32);
        wanted.min(room).min(PREFORK_MAX_AT_ONCE)
    }

    /// Whether the master itself watches the listeners: only when no process could accept.
    pub fn watch_listeners(&mut self, now: Instant) -> bool {
        self.refresh(now);
        !self.throttled(now)
            && self.process_avail() == 0
            && self.listen == ListenState::Normal
            && !self.sockets.is_empty()
    }

    /// A watched listener is readable.
    pub fn listener_ready(&mut self, now: Instant) -> ListenerAction {
        self.refresh(now);
        if !self.at_process_limit() {
            return ListenerAction::Fork;
        }
        self.listen = ListenState::AtLimit {
            drop_at: now + DROP_TIMEOUT,
        };
        let warn = self
            .last_drop_warning
            .is_none_or(|t| now.duration_since(t) >= DROP_WARN_INTERVAL);
        if !warn {
            return ListenerAction::Wait(None);
        }
        self.last_drop_warning = Some(now);
        let (name, limit) = if self.spec.process_limit > 1 {
            ("process_limit", self.spec.process_limit)
        } else if self.spec.service_count == 1 {
            ("client_limit/service_count", 1)
        } else {
            ("client_limit", self.client_limit())
        };
        ListenerAction::Wait(Some(format!(
            "service({}): {name} ({limit}) reached, client connections are being dropped",
            self.spec.name
        )))
    }

    /// Whether the connections waiting at process_limit are due to be dropped. Returns true
    /// once per timeout, and the master watches the listeners again afterwards.
    pub fn drop_due(&mut self, now: Instant) -> bool {
        match self.listen {
            ListenState::AtLimit { drop_at } if drop_at <= now => {
                self.listen = ListenState::Normal;
                true
            }
            _ => false,
        }
    }

    pub fn add_process(&mut self, pid: i32, log: ChildLog, now: Instant) {
        self.processes.insert(
            pid,
            Process {
                available: self.client_limit(),
                idle_since: Some(now),
                idle_kill_sent: false,
                started: false,
                terminated: false,
                log,
            },
        );
    }

    /// A status message from one of our processes.
    pub fn status(&mut self, pid: i32, available: u32, now: Instant) {
        let client_limit = self.client_limit();
        if let Some(p) = self.processes.get_mut(&pid) {
            p.started = true;
            p.available = available.min(client_limit);
            p.idle_kill_sent = false;
            p.idle_since = (p.available == client_limit).then_some(now);
        }
    }

    /// How many available processes exceed process_min_avail, not counting those already
    /// told to exit (they are as good as gone).
    fn idle_surplus(&self) -> u32 {
        let leaving = self
            .processes
            .values()
            .filter(|p| p.available > 0 && p.idle_kill_sent)
            .count() as u32;
        self.process_avail()
            .saturating_sub(leaving)
            .saturating_sub(self.spec.process_min_avail)
    }

    /// Idle processes to send SIGINT (exit if still idle): those idle longer than idle_kill,
    /// while more processes are available than process_min_avail asks for.
    pub fn idle_kills(&mut self, now: Instant) -> Vec<i32> {
        let Some(idle_kill) = self.spec.idle_kill else {
            return Vec::new();
        };
        let mut extra = self.idle_surplus();
        let mut pids = Vec::new();
        for (pid, p) in self.processes.iter_mut() {
            if extra == 0 {
                break;
            }
            if !p.idle_kill_sent
                && p.idle_since
                    .is_some_and(|t| now.duration_since(t) >= idle_kill)
            {
                p.idle_kill_sent = true;
                pids.push(*pid);
                extra -= 1;
            }
        }
        pids
    }

    /// The next moment something is due: end of throttling, dropping waiting connections,
    /// an idle kill.
    pub fn next_deadline(&self) -> Option<Instant> {
        let idle = self.spec.idle_kill.and_then(|idle_kill| {
            if self.idle_surplus() == 0 {
                return None;
            }
            self.processes
                .values()
                .filter(|p| !p.idle_kill_sent)
                .filter_map(|p| p.idle_since)
                .min()
                .map(|t| t + idle_kill)
        });
        let drop_at = match self.listen {
            ListenState::AtLimit { drop_at } => Some(drop_at),
            ListenState::Normal => None,
        };
        [self.throttled_until, drop_at, idle]
            .into_iter()
            .flatten()
            .min()
    }

    /// A process of ours exited. Returns the process (for its log) and, when its startup
    /// failed, the throttling message to log.
    pub fn remove_process(
        &mut self,
        pid: i32,
        status: &WaitStatus,
        now: Instant,
    ) -> Option<(Process, Option<String>)> {
        let process = self.processes.remove(&pid)?;
        let failed = !matches!(status, WaitStatus::Exited(_, 0));
        if !failed {
            self.throttle = THROTTLE_MIN;
            return Some((process, None));
        }
        if process.started || process.terminated || self.throttled(now) {
            return Some((process, None));
        }
        Some((process, Some(self.start_throttle(now))))
    }

    /// Stops forking for a while (doubling each time, up to a minute): a service whose
    /// processes die at startup, or cannot be forked, must not become a fork loop.
    pub fn start_throttle(&mut self, now: Instant) -> String {
        let message = format!(
            "service({}): command startup failed, throttling for {}.{:03} secs",
            self.spec.name,
            self.throttle.as_secs(),
            self.throttle.subsec_millis()
        );
        self.throttled_until = Some(now + self.throttle);
        self.throttle = (self.throttle * 2).min(THROTTLE_MAX);
        message
    }
}

/// Dovecot's line for a child that did not exit cleanly, or None for a clean exit (or a
/// Fatal exit the child already explained in its own log line).
pub fn exit_message(
    service: &str,
    pid: i32,
    status: &WaitStatus,
    core_dumps_disabled: bool,
    fatal_logged: bool,
) -> Option<String> {
    match *status {
        WaitStatus::Exited(_, 0) => None,
        WaitStatus::Exited(_, code) => {
            if code == super::FATAL_EXIT && fatal_logged {
                return None;
            }
            let what = match code {
                80 => " (Can't open log file)",
                81 => " (Can't write to log file)",
                82 => " (Internal logging error)",
                83 => " (Out of memory)",
                super::FATAL_EXIT => " (Fatal failure)",
                _ => "",
            };
            Some(format!(
                "service({service}): child {pid} returned error {code}{what}"
            ))
        }
        WaitStatus::Signaled(_, signal, core_dumped) => {
            let signo = signal as i32;
            let core = if core_dumped {
                " (core dumped)"
            } else if ![libc::SIGABRT, libc::SIGSEGV, libc::SIGBUS].contains(&signo) {
                ""
            } else if core_dumps_disabled {
                " (core dumps disabled)"
            } else {
                " (core not dumped)"
            };
            Some(format!(
                "service({service}): child {pid} killed with signal {signo}{core}"
            ))
        }
        ref other => Some(format!(
            "service({service}): child {pid} died with status {other:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::Signal;
    use nix::unistd::Pid;

    fn spec(
        process_limit: u32,
        client_limit: u32,
        service_count: u32,
        min_avail: u32,
    ) -> ServiceSpec {
        ServiceSpec {
            name: "imap-login".into(),
            title: "dovecot/imap-login".into(),
            protocol: "imap".into(),
            process_limit,
            client_limit,
            service_count,
            process_min_avail: min_avail,
            idle_kill: Some(Duration::from_secs(60)),
            debug: false,
            inet_listeners: Vec::new(),
            unix_listeners: Vec::new(),
            identity: Default::default(),
        }
    }

    fn socket() -> ServiceSocket {
        let fd =
            super::super::listener::bind_inet("127.0.0.1:0".parse().unwrap(), false, 4).unwrap();
        ServiceSocket {
            socket: Rc::new(fd),
            info: ListenerInfo {
                name: "imap".into(),
                ssl: false,
                haproxy: false,
            },
            unix_path: None,
        }
    }

    fn log() -> ChildLog {
        ChildLog::new("x: ").unwrap().0
    }

    #[test]
    fn service_count_caps_client_limit() {
        assert_eq!(Service::new(spec(10, 1000, 1, 0), vec![]).client_limit(), 1);
        assert_eq!(
            Service::new(spec(10, 1000, 0, 0), vec![]).client_limit(),
            1000
        );
        assert_eq!(Service::new(spec(10, 5, 100, 0), vec![]).client_limit(), 5);
    }

    #[test]
    fn master_watches_only_without_available_processes() {
        let now = Instant::now();
        let mut s = Service::new(spec(2, 1, 1, 0), vec![socket()]);
        assert!(s.watch_listeners(now));
        assert_eq!(s.listener_ready(now), ListenerAction::Fork);
        s.add_process(10, log(), now);
        assert!(!s.watch_listeners(now), "the new process will accept");
        s.status(10, 0, now);
        assert!(s.watch_listeners(now));
        assert_eq!(s.listener_ready(now), ListenerAction::Fork);
        s.add_process(11, log(), now);
        s.status(11, 0, now);
        // At the limit: one warning, then quiet for a second, and no watching until the
        // drop timeout or a free process.
        match s.listener_ready(now) {
            ListenerAction::Wait(Some(w)) => assert_eq!(
                w,
                "service(imap-login): process_limit (2) reached, client connections are being dropped"
            ),
            other => panic!("{other:?}"),
        }
        assert!(!s.watch_listeners(now));
        assert_eq!(s.next_deadline(), Some(now + DROP_TIMEOUT));
        assert!(!s.drop_due(now));
        let later = now + DROP_TIMEOUT;
        assert!(s.drop_due(later));
        assert!(s.watch_listeners(later));
        assert_eq!(s.listener_ready(later), ListenerAction::Wait(Some(
            "service(imap-login): process_limit (2) reached, client connections are being dropped".into()
        )));
        assert_eq!(
            s.listener_ready(later + Duration::from_millis(10)),
            ListenerAction::Wait(None)
        );
        // A process exits: room again.
        let (_, throttle) = s
            .remove_process(10, &WaitStatus::Exited(Pid::from_raw(10), 0), later)
            .unwrap();
        assert!(throttle.is_none());
        assert!(s.watch_listeners(later));
        assert_eq!(s.listener_ready(later), ListenerAction::Fork);
    }

    #[test]
    fn prefork_respects_min_avail_limit_and_batch() {
        let now = Instant::now();
        let mut s = Service::new(spec(15, 1, 1, 25), vec![socket()]);
        assert_eq!(s.prefork_count(now), PREFORK_MAX_AT_ONCE);
        for pid in 0..10 {
            s.add_process(pid, log(), now);
        }
        assert_eq!(s.prefork_count(now), 5, "process_limit caps it");
        let mut s = Service::new(spec(100, 1, 1, 3), vec![socket()]);
        s.add_process(1, log(), now);
        s.status(1, 0, now);
        assert_eq!(s.prefork_count(now), 3, "busy processes don't count");
    }

    #[test]
    fn startup_failures_throttle_with_backoff() {
        let now = Instant::now();
        let mut s = Service::new(spec(10, 1, 1, 1), vec![socket()]);
        s.add_process(1, log(), now);
        let status = WaitStatus::Signaled(Pid::from_raw(1), Signal::SIGSEGV, false);
        let (_, msg) = s.remove_process(1, &status, now).unwrap();
        assert_eq!(
            msg.unwrap(),
            "service(imap-login): command startup failed, throttling for 2.000 secs"
        );
        assert_eq!(s.prefork_count(now), 0);
        assert!(!s.watch_listeners(now));
        assert_eq!(s.next_deadline(), Some(now + THROTTLE_MIN));
        let later = now + THROTTLE_MIN;
        assert_eq!(s.prefork_count(later), 1);
        s.add_process(2, log(), later);
        let (_, msg) = s
            .remove_process(2, &WaitStatus::Exited(Pid::from_raw(2), 1), later)
            .unwrap();
        assert_eq!(
            msg.unwrap(),
            "service(imap-login): command startup failed, throttling for 4.000 secs"
        );
        // A process that started and then crashed does not throttle.
        let later = later + Duration::from_secs(5);
        s.add_process(3, log(), later);
        s.status(3, 1, later);
        let (_, msg) = s.remove_process(3, &status, later).unwrap();
        assert!(msg.is_none());
    }

    #[test]
    fn idle_kill_spares_min_avail() {
        let now = Instant::now();
        let mut s = Service::new(spec(10, 1, 0, 1), vec![socket()]);
        for pid in 1..=3 {
            s.add_process(pid, log(), now);
        }
        assert!(s.idle_kills(now + Duration::from_secs(59)).is_empty());
        assert_eq!(s.next_deadline(), Some(now + Duration::from_secs(60)));
        let kills = s.idle_kills(now + Duration::from_secs(60));
        assert_eq!(kills, [1, 2], "one stays for process_min_avail");
        assert!(
            s.idle_kills(now + Duration::from_secs(120)).is_empty(),
            "sent once"
        );
        // A busy process is never idle-killed.
        s.status(3, 0, now);
        let mut s2 = Service::new(spec(10, 1, 0, 0), vec![socket()]);
        s2.add_process(9, log(), now);
        s2.status(9, 0, now);
        assert!(s2.idle_kills(now + Duration::from_secs(600)).is_empty());
    }

    #[test]
    fn exit_messages_are_dovecots() {
        let pid = Pid::from_raw(1234);
        assert_eq!(
            exit_message("imap-login", 1234, &WaitStatus::Exited(pid, 0), true, false),
            None
        );
        assert_eq!(
            exit_message("imap-login", 1234, &WaitStatus::Exited(pid, 3), true, false).unwrap(),
            "service(imap-login): child 1234 returned error 3"
        );
        assert_eq!(
            exit_message(
                "imap-login",
                1234,
                &WaitStatus::Exited(pid, 89),
                true,
                false
            )
            .unwrap(),
            "service(imap-login): child 1234 returned error 89 (Fatal failure)"
        );
        assert_eq!(
            exit_message("imap-login", 1234, &WaitStatus::Exited(pid, 89), true, true),
            None
        );
        assert_eq!(
            exit_message(
                "imap-login",
                1234,
                &WaitStatus::Signaled(pid, Signal::SIGSEGV, false),
                true,
                false
            )
            .unwrap(),
            "service(imap-login): child 1234 killed with signal 11 (core dumps disabled)"
        );
        assert_eq!(
            exit_message(
                "imap-login",
                1234,
                &WaitStatus::Signaled(pid, Signal::SIGABRT, true),
                false,
                false
            )
            .unwrap(),
            "service(imap-login): child 1234 killed with signal 6 (core dumped)"
        );
        assert_eq!(
            exit_message(
                "imap-login",
                1234,
                &WaitStatus::Signaled(pid, Signal::SIGKILL, false),
                true,
                false
            )
            .unwrap(),
            "service(imap-login): child 1234 killed with signal 9"
        );
    }
}
