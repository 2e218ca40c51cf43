//! The `cote` binary's master process and the master-control verbs of `cote` and `coteadm`:
//! pid file, daemonizing, signals (TERM, HUP with good and broken configs, USR1), sd_notify,
//! exit codes and messages. (Worker processes are tested in master_workers.rs.)

mod master_support;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use master_support::{alive, wait_for, Server, Setup};

const COTE: &str = env!("CARGO_BIN_EXE_cote");
const COTEADM: &str = env!("CARGO_BIN_EXE_coteadm");
const COTECONF: &str = env!("CARGO_BIN_EXE_coteconf");
const LONG: Duration = Duration::from_secs(10);

fn run(binary: &str, args: &[&str]) -> Output {
    Command::new(binary).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn started(setup: &Setup) -> Server {
    setup.write_conf(setup.port, "", "");
    let server = Server::start(Path::new(COTE), setup, &[]);
    setup.wait_log("master: Info: cote v", LONG);
    server
}

#[test]
fn pid_file_written_refused_while_live_removed_on_exit() {
    let setup = Setup::new();
    let mut server = started(&setup);
    let pid = server.pid();
    assert_eq!(
        std::fs::read_to_string(setup.pid_file()).unwrap(),
        format!("{pid}\n")
    );
    // As Dovecot's master: base_dir/dovecot.conf points at the configuration in use.
    assert_eq!(
        std::fs::read_link(setup.base_dir().join("dovecot.conf")).unwrap(),
        std::path::absolute(setup.conf()).unwrap()
    );

    let second = run(COTE, &["-F", "-c", setup.conf().to_str().unwrap()]);
    assert_eq!(second.status.code(), Some(89));
    let message = format!(
        "cote is already running with PID {pid} (read from {})",
        setup.pid_file().display()
    );
    assert_eq!(stderr(&second), format!("cote: Fatal: {message}\n"));
    setup.wait_log(&format!("master: Fatal: {message}"), LONG);
    assert!(alive(pid), "the running master is untouched");

    let status = server.stop();
    assert!(status.success(), "{status:?}");
    assert!(!setup.pid_file().exists());
    let me = std::process::id();
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    setup.wait_log(
        &format!("master: Warning: Killed with signal 15 (by pid={me} uid={uid} code=kill)"),
        LONG,
    );
}

#[test]
fn stale_and_empty_pid_files_are_overridden() {
    let setup = Setup::new();
    std::fs::create_dir_all(setup.base_dir()).unwrap();
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    std::fs::write(setup.pid_file(), format!("{dead_pid}\n")).unwrap();
    let mut server = started(&setup);
    assert_eq!(
        std::fs::read_to_string(setup.pid_file()).unwrap(),
        format!("{}\n", server.pid())
    );
    server.stop();

    std::fs::write(setup.pid_file(), "").unwrap();
    let mut server = Server::start(Path::new(COTE), &setup, &[]);
    setup.wait_log(
        &format!(
            "master: Error: Empty PID file in {}, overriding",
            setup.pid_file().display()
        ),
        LONG,
    );
    server.stop();
}

#[test]
fn daemonizes_without_foreground_flag() {
    let setup = Setup::new();
    setup.write_conf(setup.port, "", "");
    let conf = setup.conf();
    let out = run(COTE, &["-c", conf.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pid: i32 = wait_for(LONG, || {
        std::fs::read_to_string(setup.pid_file())
            .ok()?
            .trim_end()
            .parse()
            .ok()
    })
    .expect("the daemon writes its pid file");
    // The daemon leads its own session.
    // SAFETY: getsid on a pid we started.
    assert_eq!(unsafe { libc::getsid(pid) }, pid);
    let stop = run(COTEADM, &["-c", conf.to_str().unwrap(), "stop"]);
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert!(!alive(pid), "coteadm stop waits for the master to exit");
    assert!(!setup.pid_file().exists());
}

#[test]
fn hup_reloads_and_a_broken_config_is_logged_and_ignored() {
    let setup = Setup::new();
    let server = started(&setup);
    let conf = setup.conf();
    std::fs::write(&conf, "base_dir = /nonexistent\nno_such_setting = 1\n").unwrap();
    server.signal(libc::SIGHUP);
    let log = setup.wait_log("Error reading configuration", LONG);
    assert!(log.contains("master: Warning: SIGHUP received - reloading configuration"));
    assert!(
        log.contains(&format!(
            "master: Error: Error reading configuration: Error in configuration file {} line 2: Unknown setting: no_such_setting",
            conf.display()
        )),
        "{log}"
    );
    // Still the old configuration: coteadm finds the master through the old base_dir.
    setup.write_conf(setup.port, "", "");
    let reload = run(COTEADM, &["-c", conf.to_str().unwrap(), "reload"]);
    assert!(reload.status.success(), "{}", stderr(&reload));
    wait_for(LONG, || {
        (setup.log_text().matches("SIGHUP received").count() == 2).then_some(())
    })
    .expect("second reload");
    assert!(alive(server.pid()));
}

#[test]
fn command_line_overrides_hold_at_start_and_after_reload() {
    let setup = Setup::new();
    setup.write_conf(setup.port, "", "");
    let other_log = setup.path("other.log");
    let option = format!("log_path={}", other_log.display());
    let server = Server::start_with_args(Path::new(COTE), &setup, &[], &["-o", &option]);
    let read = || std::fs::read_to_string(&other_log).unwrap_or_default();
    wait_for(LONG, || {
        read().contains("master: Info: cote v").then_some(())
    })
    .unwrap_or_else(|| panic!("-o log_path not used: {:?}", setup.log_text()));
    server.signal(libc::SIGHUP);
    wait_for(LONG, || read().contains("SIGHUP received").then_some(()))
        .expect("-o log_path lost at reload");
    assert!(!setup.log_text().contains("SIGHUP"), "{}", setup.log_text());
}

#[test]
fn reload_moves_the_log_and_int_stops() {
    let setup = Setup::new();
    let mut server = started(&setup);
    let conf = std::fs::read_to_string(setup.conf()).unwrap();
    let old_line = format!("log_path = {}", setup.log().display());
    let moved = setup.path("moved.log");
    let moved_line = format!("log_path = {}", moved.display());
    std::fs::write(setup.conf(), conf.replace(&old_line, &moved_line)).unwrap();
    server.signal(libc::SIGHUP);
    setup.wait_log("SIGHUP received", LONG);
    // The master handles the SIGINT below only after the reload is complete.
    wait_for(LONG, || moved.exists().then_some(())).expect("the new log is opened");
    server.signal(libc::SIGINT);
    assert!(server.wait_exit(LONG).success());
    let new_log = std::fs::read_to_string(&moved).unwrap();
    assert!(
        new_log.contains("master: Warning: Killed with signal 2 (by pid="),
        "{new_log}"
    );
    assert!(!setup.log_text().contains("Killed"));

    // info_log_path takes the Info lines; the rest stays in log_path.
    let info = setup.path("info.log");
    let both = format!("{old_line}\ninfo_log_path = {}", info.display());
    std::fs::write(setup.conf(), conf.replace(&old_line, &both)).unwrap();
    std::fs::write(setup.log(), "").unwrap();
    let mut server = Server::start(Path::new(COTE), &setup, &[]);
    wait_for(LONG, || {
        std::fs::read_to_string(&info)
            .ok()?
            .contains("master: Info: cote v")
            .then_some(())
    })
    .expect("info line in info_log_path");
    server.stop();
    let log = setup.log_text();
    assert!(
        !log.contains("Info:") && log.contains("master: Warning: Killed"),
        "{log}"
    );
}

#[test]
fn usr1_reopens_the_log_file() {
    let setup = Setup::new();
    let server = started(&setup);
    let rotated = setup.path("cote.log.1");
    std::fs::rename(setup.log(), &rotated).unwrap();
    let reopen = run(
        COTEADM,
        &["-c", setup.conf().to_str().unwrap(), "log", "reopen"],
    );
    assert!(reopen.status.success(), "{}", stderr(&reopen));
    // Lines written after the reopen go to the new file; nothing lost or duplicated.
    wait_for(LONG, || setup.log().exists().then_some(())).expect("new log file");
    server.signal(libc::SIGHUP);
    setup.wait_log("SIGHUP received", LONG);
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("starting up"));
    assert!(!old.contains("SIGHUP"));
    // Also through `cote log reopen`, Dovecot's `dovecot <verb>` form.
    std::fs::rename(setup.log(), &rotated).unwrap();
    let reopen = run(
        COTE,
        &["-c", setup.conf().to_str().unwrap(), "log", "reopen"],
    );
    assert!(reopen.status.success(), "{}", stderr(&reopen));
    wait_for(LONG, || setup.log().exists().then_some(())).expect("new log file again");
}

#[test]
fn coteadm_errors_and_exit_codes() {
    let setup = Setup::new();
    setup.write_conf(setup.port, "", "");
    let conf = setup.conf();
    let conf = conf.to_str().unwrap();
    let pid_file = setup.pid_file();
    for verb in [&["stop"][..], &["reload"], &["log", "reopen"]] {
        let mut args = vec!["-c", conf];
        args.extend_from_slice(verb);
        let out = run(COTEADM, &args);
        assert_eq!(out.status.code(), Some(75), "{verb:?}");
        assert_eq!(
            stderr(&out),
            format!(
                "coteadm: Fatal: cote is not running (read from {})\n",
                pid_file.display()
            )
        );
    }
    let out = run(COTE, &["-c", conf, "stop"]);
    assert_eq!(out.status.code(), Some(75));
    assert!(stderr(&out).starts_with("cote: Fatal: cote is not running"));

    for bad in [
        &["-c", conf, "frobnicate"][..],
        &["-c", conf, "log", "frob"],
        &["-c", conf],
        &["-x", "stop"],
    ] {
        let out = run(COTEADM, bad);
        assert_eq!(out.status.code(), Some(64), "{bad:?}");
        let text = stderr(&out);
        assert!(text.contains("  log reopen\n  reload\n  stop\n"), "{text}");
    }
    let out = run(COTEADM, &["-c", conf, "frobnicate"]);
    assert!(stderr(&out).starts_with("coteadm: Fatal: Unknown command: frobnicate\n"));

    let broken = setup.path("broken.conf");
    std::fs::write(&broken, "no_such_setting = 1\n").unwrap();
    let out = run(COTEADM, &["-c", broken.to_str().unwrap(), "stop"]);
    assert_eq!(out.status.code(), Some(78));
    assert!(stderr(&out)
        .starts_with("coteadm: Fatal: Error reading configuration: Error in configuration file"));
}

fn run_env(binary: &str, args: &[&str], state_dir: &Path) -> Output {
    Command::new(binary)
        .args(args)
        .env("COTE_STATEDIR", state_dir)
        .output()
        .unwrap()
}

#[test]
fn instances_are_recorded_and_found_by_name() {
    let setup = Setup::new();
    setup.write_conf(setup.port, "instance_name = mail-a", "");
    let mut server = Server::start(Path::new(COTE), &setup, &[]);
    setup.wait_log("master: Info: cote v", LONG);
    // state_dir is base_dir in these tests.
    let state = setup.base_dir();
    // Recorded just after the startup line.
    let list = wait_for(LONG, || {
        let text = std::fs::read_to_string(state.join("instances")).ok()?;
        text.ends_with('\n').then_some(text)
    })
    .expect("no instance list");
    let conf = std::path::absolute(setup.conf()).unwrap();
    let fields: Vec<&str> = list.trim_end().split('\t').collect();
    assert_eq!(
        &fields[1..],
        [
            "mail-a",
            setup.base_dir().to_str().unwrap(),
            conf.to_str().unwrap()
        ],
        "{list:?}"
    );

    // -i NAME finds the configuration on all three programs.
    let out = run_env(COTECONF, &["-i", "mail-a", "-h", "instance_name"], &state);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "mail-a\n",
        "{}",
        stderr(&out)
    );
    let out = run_env(COTEADM, &["-i", "mail-a", "instance", "list"], &state);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["path", "name", "last", "used", "running"],
        "{text}"
    );
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row[..2], [setup.base_dir().to_str().unwrap(), "mail-a"]);
    assert_eq!(row.last(), Some(&"yes"), "{text}");
    let out = run_env(COTEADM, &["-i", "mail-a", "instance", "list", "-c"], &state);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", conf.display())
    );
    let out = run_env(COTE, &["-i", "mail-a", "stop"], &state);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(server.wait_exit(LONG).success());

    let out = run_env(COTE, &["-i", "nosuch", "stop"], &state);
    assert_eq!(out.status.code(), Some(89));
    assert!(stderr(&out).ends_with("cote: Fatal: Unknown instance name: nosuch\n"));
    let out = run_env(COTECONF, &["-i", "nosuch"], &state);
    assert!(
        stderr(&out).contains("Unknown instance name: nosuch"),
        "{}",
        stderr(&out)
    );

    let conf = setup.conf();
    let conf = conf.to_str().unwrap();
    let out = run(COTEADM, &["-c", conf, "instance", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(" no"));
    let out = run(COTEADM, &["-c", conf, "instance", "remove", "mail-a"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(COTEADM, &["-c", conf, "instance", "remove", "mail-a"]);
    assert_eq!(out.status.code(), Some(68));
    assert_eq!(
        stderr(&out),
        "coteadm: Error: Instance already didn't exist\n"
    );
}

#[test]
fn version_build_options_and_bad_arguments() {
    let out = run(COTE, &["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{} (cote)\n", env!("CARGO_PKG_VERSION"))
    );
    let out = run(COTE, &["--build-options"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("Build options: "));
    let out = run(COTE, &["--bogus"]);
    assert_eq!(out.status.code(), Some(89));
    assert!(stderr(&out).ends_with("cote: Fatal: Unknown argument: --bogus\n"));
    let out = run(COTE, &["--hostdomain"]);
    assert!(out.status.success());
    let domain = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    assert!(!domain.is_empty() && !domain.contains(' '), "{domain:?}");
    let out = Command::new(COTE)
        .arg("--hostdomain")
        .env("DOVECOT_HOSTDOMAIN", "mx.example.org")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "mx.example.org\n");
    let out = run(COTE, &["--help"]);
    assert!(out.status.success());
    assert!(stderr(&out).starts_with("Usage: cote [-F] [-c <config file>]"));
}

#[test]
fn dump_flags_print_what_coteconf_prints() {
    let setup = Setup::new();
    setup.write_conf(setup.port, "", "");
    let conf = setup.conf();
    let conf = conf.to_str().unwrap();
    for flag in ["-n", "-a"] {
        let ours = run(COTE, &[flag, "-c", conf]);
        let theirs = run(COTECONF, &[flag, "-c", conf]);
        assert!(ours.status.success(), "{}", stderr(&ours));
        let (ours, theirs) = (
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
        );
        assert_eq!(ours, theirs, "cote {flag}");
        assert!(ours.contains(&format!("port = {}", setup.port)));
    }
}

#[test]
fn startup_errors_have_dovecots_words_and_codes() {
    let setup = Setup::new();
    std::fs::write(setup.conf(), "log_path = /nonexistent-dir/x.log\n").unwrap();
    let out = run(COTE, &["-F", "-c", setup.conf().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(80));
    assert!(
        stderr(&out).starts_with("cote: Fatal: Can't open log file /nonexistent-dir/x.log: "),
        "{}",
        stderr(&out)
    );
    std::fs::write(setup.conf(), "ssl = maybe\n").unwrap();
    let out = run(COTE, &["-F", "-c", setup.conf().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(89));
    assert!(
        stderr(&out).starts_with(&format!(
            "cote: Fatal: Error reading configuration: Error in configuration file {} line 1: ",
            setup.conf().display()
        )),
        "{}",
        stderr(&out)
    );
    let missing = setup.path("missing.conf");
    let out = run(COTE, &["-F", "-c", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(89));
    assert!(
        stderr(&out).contains(&missing.display().to_string()),
        "{}",
        stderr(&out)
    );
}

fn recv(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).expect("sd_notify datagram");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn notify_round(setup: &Setup, socket: &UnixDatagram, notify_socket: &str) {
    socket.set_read_timeout(Some(LONG)).unwrap();
    setup.write_conf(setup.port, "", "");
    let mut server = Server::start(Path::new(COTE), setup, &[("NOTIFY_SOCKET", notify_socket)]);
    let ready = recv(socket);
    assert!(ready.starts_with("READY=1\n"), "{ready:?}");
    assert!(
        ready.contains(&format!("MAINPID={}", server.pid())),
        "{ready:?}"
    );
    server.signal(libc::SIGHUP);
    assert_eq!(recv(socket), "RELOADING=1");
    assert_eq!(recv(socket), "READY=1");
    server.stop();
    assert!(recv(socket).starts_with("STOPPING=1"));
    assert_eq!(recv(socket), "STATUS=cote stopped");
}

#[test]
fn sd_notify_on_path_and_abstract_sockets() {
    let setup = Setup::new();
    let path = setup.path("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    notify_round(&setup, &socket, path.to_str().unwrap());

    use std::os::linux::net::SocketAddrExt;
    let name = format!("cote-test-notify-{}-{}", std::process::id(), setup.port);
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let socket = UnixDatagram::bind_addr(&addr).unwrap();
    notify_round(&setup, &socket, &format!("@{name}"));
}
