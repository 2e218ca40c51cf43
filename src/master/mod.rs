//! The master process (DESIGN.md §1): reads the configuration, binds the listeners, writes
//! the pid file, forks and supervises worker processes, handles signals, collects the
//! children's logs. It never runs protocol code and never starts a thread, so forking is
//! always safe.
//!
//! A binary gives the master a [`Registry`] of service handlers; `run` does the rest.

pub mod admin;
pub mod cli;
mod dirs;
mod generation;
pub mod handoff;
pub mod instances;
mod listener;
pub mod mail_login;
mod notify;
pub mod pidfile;
pub mod privileges;
mod process;
pub mod proctitle;
mod registry;
mod service;
mod settings;
mod signals;
mod status;
mod supervisor;
pub mod terminate;
mod worker;
pub use worker::serves_several;

pub use crate::net::accepted::{Address, Connection, ListenerInfo, Stream};
pub use registry::{Handler, InitHook, Registry};
pub use settings::{
    log_settings, InetListenerSpec, MasterSettings, ServiceDefaults, ServiceIdentity, ServiceSpec,
    UnixListenerSpec,
};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::log::{Destinations, Level};
use generation::Generation;
use pidfile::PidFile;
use signals::MasterSignals;
use supervisor::Master;

/// Dovecot's exit code for a fatal error (FATAL_DEFAULT).
pub const FATAL_EXIT: i32 = 89;
/// Exit code when a log file cannot be opened (FATAL_LOGOPEN).
pub const FATAL_LOGOPEN: i32 = 80;

/// What the master needs from a configuration type.
pub trait MasterConfig: Send + Sync + Sized + 'static {
    /// Reads and checks the configuration file, then applies `overrides` (`-o key=value`);
    /// the error names file and line.
    fn load(path: &Path, overrides: &[String]) -> Result<Self, String>;
    fn master_settings(&self) -> MasterSettings;
    /// Warnings to log once at startup (settings accepted but not implemented, ...).
    fn warnings(&self) -> Vec<String>;
}

pub struct StartOptions {
    pub config_path: PathBuf,
    /// `-o key=value`: applied over the file at start and at each reload.
    pub overrides: Vec<String>,
    /// `-F`: stay in the foreground (no fork, no setsid).
    pub foreground: bool,
}

/// Why the master did not start (or stopped early): the lines to show, the exit code.
#[derive(Debug)]
pub struct StartError {
    /// Errors before the fatal one (e.g. each listener that failed).
    pub errors: Vec<String>,
    pub fatal: String,
    pub exit_code: i32,
}

impl StartError {
    fn fatal(message: impl Into<String>) -> StartError {
        StartError {
            errors: Vec::new(),
            fatal: message.into(),
            exit_code: FATAL_EXIT,
        }
    }
}

fn core_dumps_disabled() -> bool {
    matches!(
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE),
        Ok((0, _))
    )
}

/// Starts the master and runs it until it is stopped. Errors before daemonizing are returned
/// (the caller prints them on stderr); once the log is set up they are logged too.
pub fn run<C: MasterConfig>(
    registry: Registry<C>,
    options: &StartOptions,
) -> Result<(), StartError> {
    let config_path = std::path::absolute(&options.config_path).map_err(|e| {
        StartError::fatal(format!(
            "realpath({}) failed: {}",
            options.config_path.display(),
            crate::errtext::os_error_text(&e)
        ))
    })?;
    let config = C::load(&config_path, &options.overrides)
        .map_err(|e| StartError::fatal(format!("Error reading configuration: {e}")))?;
    let settings = config.master_settings();
    let destinations = Destinations::open(settings.log.clone()).map_err(|e| StartError {
        errors: Vec::new(),
        fatal: e.to_string(),
        exit_code: FATAL_LOGOPEN,
    })?;
    crate::log::to_destinations(destinations);
    crate::log::set_prefix("master: ");
    // The caller prints a failure on stderr; log it too, unless the log is stderr.
    let log_is_stderr = settings.log.log_path == "/dev/stderr";
    let result = start(registry, options, config_path, config, settings);
    if let (Err(e), false) = (&result, log_is_stderr) {
        for line in &e.errors {
            crate::log::emit(Level::Error, format_args!("{line}"));
        }
        crate::log::emit(Level::Fatal, format_args!("{}", e.fatal));
    }
    result
}

fn start<C: MasterConfig>(
    registry: Registry<C>,
    options: &StartOptions,
    config_path: PathBuf,
    config: C,
    settings: MasterSettings,
) -> Result<(), StartError> {
    let pid_path = pidfile::path(&settings.base_dir);
    match pidfile::read(&pid_path) {
        Ok(PidFile::Running(pid)) => {
            return Err(StartError::fatal(format!(
                "cote is already running with PID {pid} (read from {})",
                pid_path.display()
            )))
        }
        Ok(PidFile::Empty) => log::error!("Empty PID file in {}, overriding", pid_path.display()),
        Ok(PidFile::Invalid) => log::error!("PID file contains invalid PID value"),
        Ok(PidFile::Absent | PidFile::Stale(_)) => {}
        Err(e) => {
            return Err(StartError::fatal(format!(
                "open({}) failed: {e}",
                pid_path.display()
            )))
        }
    }
    let settings_base_dir = settings.base_dir.clone();
    let state_dir = settings.state_dir.clone();
    let instance_name = settings.log.instance_name.clone();
    for warning in dirs::prepare(&settings).map_err(StartError::fatal)? {
        log::warn!("{warning}");
    }
    raise_fd_limit();

    let warnings = config.warnings();
    let protocols = settings.protocols.join(", ");
    let (generation, report) = Generation::build(Arc::new(config), settings, &registry, None)
        .map_err(|r| StartError {
            fatal: r
                .fatal
                .unwrap_or_else(|| "Failed to start listeners".into()),
            errors: r.errors,
            exit_code: FATAL_EXIT,
        })?;

    if !options.foreground {
        daemonize()?;
    }
    let signals = MasterSignals::install().map_err(|e| {
        StartError::fatal(format!(
            "signalfd() failed: {}",
            crate::errtext::os_error_text(&e)
        ))
    })?;
    pidfile::write(&pid_path).map_err(|e| {
        StartError::fatal(format!(
            "open({}) failed: {}",
            pid_path.display(),
            crate::errtext::os_error_text(&e)
        ))
    })?;

    let core_disabled = core_dumps_disabled();
    let mut startup = format!("cote v{} starting up", env!("CARGO_PKG_VERSION"));
    if protocols.is_empty() {
        startup.push_str(" without any protocols");
    } else {
        startup.push_str(&format!(" for {protocols}"));
    }
    if core_disabled {
        startup.push_str(" (core dumps disabled)");
    }
    log::info!("{startup}");
    for w in warnings.iter().chain(&report.warnings) {
        log::warn!("{w}");
    }
    dirs::link_config(&settings_base_dir, &config_path);
    record_instance(&state_dir, &settings_base_dir, &instance_name);

    Master::new(
        registry,
        config_path,
        options.overrides.clone(),
        pid_path,
        generation,
        signals,
        core_disabled,
    )
    .run();
    Ok(())
}

/// Adds this master to `state_dir/instances` (for `-i` and `coteadm instance list`); a
/// failure is logged, as Dovecot does, and the master runs on.
fn record_instance(state_dir: &Path, base_dir: &Path, name: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let list = instances::InstanceList::in_state_dir(state_dir);
    if let Err(e) = list.record_start(&base_dir.to_string_lossy(), name, now) {
        log::error!("Can't update the instance list: {e}");
    }
}

/// The master holds two descriptors per child (its log channel and stderr) besides the
/// listeners: raise the soft descriptor limit to the hard one so process_limit, not the
/// default 1024, is what caps the processes.
fn raise_fd_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                log::warn!("setrlimit(RLIMIT_NOFILE, {hard}) failed: {}", e.desc());
            }
        }
    }
}

/// Forks into the background: the parent exits, the child leads a new session with stdio on
/// /dev/null. Runs before anything else has forked, single-threaded.
fn daemonize() -> Result<(), StartError> {
    use nix::unistd::{fork, setsid, ForkResult};
    // SAFETY: single-threaded; the parent only calls _exit.
    match unsafe { fork() } {
        Err(e) => return Err(StartError::fatal(format!("fork() failed: {}", e.desc()))),
        // SAFETY: _exit(2) without running destructors or atexit handlers meant for the child.
        Ok(ForkResult::Parent { .. }) => unsafe { libc::_exit(0) },
        Ok(ForkResult::Child) => {}
    }
    setsid().map_err(|e| StartError::fatal(format!("setsid() failed: {}", e.desc())))?;
    let devnull = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| {
            StartError::fatal(format!(
                "open(/dev/null) failed: {}",
                crate::errtext::os_error_text(&e)
            ))
        })?;
    for fd in 0..=2 {
        // SAFETY: dup2(2) onto the standard descriptors.
        if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&devnull), fd) } < 0 {
            return Err(StartError::fatal(format!(
                "dup2(/dev/null) failed: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    Ok(())
}
