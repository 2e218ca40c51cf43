//! Worker processes under a real master: prefork, limits, crashes, reload, shutdown, logs.
//!
//! This test binary is its own master: started with COTE_TEST_MASTER set it runs
//! `cote::master::cli::main` with a registry holding a test handler for `imap-login` (a
//! line-based echo service with commands to crash, panic, log and report its pid). Without
//! the variable it is the test runner (harness = false): `cargo test --test master_workers
//! [NAME-SUBSTRING]`.

mod fs_support;
mod master_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use cote::config::Config;
use cote::master::{cli, Connection, Registry};
use master_support::{alive, children_of, comm, fd_count, title, wait_for, Client, Server, Setup};

const MASTER_ENV: &str = "COTE_TEST_MASTER";
const LONG: Duration = Duration::from_secs(10);

/// The test service: one line in, one line out.
fn handler(config: &Config, connection: Connection) {
    let pid = std::process::id();
    let Connection {
        stream,
        local,
        listener,
        ..
    } = connection;
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut out = stream;
    let mut reader = BufReader::new(read_half);
    if write!(out, "* OK pid={pid}\r\n").is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["pid"] => format!("pid {pid}"),
            ["greeting"] => format!("greeting {}", config.global().str("login_greeting")),
            ["local"] => format!("local {} {local:?}", listener.name),
            ["crash"] => {
                // Die of SIGSEGV as a crashing worker would. (Rust's own SIGSEGV handler,
                // which catches stack overflows, would ignore a raised one.)
                // SAFETY: restoring the default action and raising a signal.
                unsafe {
                    libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                    libc::raise(libc::SIGSEGV);
                }
                unreachable!("SIGSEGV is fatal");
            }
            ["panic"] => panic!("test handler panic"),
            ["stderr", text @ ..] => {
                eprintln!("{}", text.join(" "));
                "ok".into()
            }
            ["log", count, len, tag] => {
                let (Ok(count), Ok(len)) = (count.parse::<usize>(), len.parse::<usize>()) else {
                    return;
                };
                let body = "x".repeat(len);
                for i in 0..count {
                    log::info!("{tag}-{i}-{body}");
                }
                "done".into()
            }
            ["debug", text @ ..] => {
                log::debug!("{}", text.join(" "));
                log::info!("after debug");
                "ok".into()
            }
            ["quit"] => {
                let _ = out.write_all(b"bye\r\n");
                return;
            }
            _ => format!("echo {}", line.trim_end()),
        };
        if write!(out, "{answer}\r\n").is_err() {
            return;
        }
    }
}

fn start(setup: &Setup, global: &str, service: &str) -> Server {
    setup.write_conf(setup.port, global, service);
    let exe = std::env::current_exe().unwrap();
    let server = Server::start(&exe, setup, &[(MASTER_ENV, "1")]);
    setup.wait_log("master: Info: cote v", LONG);
    server
}

fn workers(server: &Server) -> Vec<i32> {
    children_of(server.pid())
}

fn wait_workers(server: &Server, count: usize) -> Vec<i32> {
    wait_for(LONG, || {
        let w = workers(server);
        (w.len() == count).then_some(w)
    })
    .unwrap_or_else(|| panic!("expected {count} workers, have {:?}", workers(server)))
}

fn serves_and_preforks() {
    let setup = Setup::new();
    let server = start(&setup, "", "process_min_avail = 3");
    let before = wait_workers(&server, 3);
    // A freshly forked worker names itself a moment after fork().
    for pid in &before {
        let named = wait_for(LONG, || {
            (comm(*pid) == "imap-login" && title(*pid) == "dovecot/imap-login").then_some(())
        });
        assert!(
            named.is_some(),
            "worker {pid} is named {:?}, titled {:?}",
            comm(*pid),
            title(*pid)
        );
    }
    let mut c = Client::connect(setup.addr());
    assert!(before.contains(&c.worker), "a pre-forked worker took it");
    let local = c.command("local");
    assert_eq!(local, format!("local imap Inet(127.0.0.1:{})", setup.port));
    assert_eq!(c.command("hello there"), "echo hello there");
    // process_min_avail: a busy worker does not count, so one more is forked.
    let during = wait_workers(&server, 4);
    assert!(during.contains(&c.worker));
    assert_eq!(c.command("quit"), "bye");
    // service_count = 1 (imap-login's default): the worker exits after its connection.
    wait_for(LONG, || (!alive(c.worker)).then_some(())).expect("worker exits after one connection");
    let after = wait_workers(&server, 3);
    assert!(!after.contains(&c.worker));
    assert!(!setup.log_text().contains("Error"), "{}", setup.log_text());
}

fn unix_listener_serves_too() {
    let setup = Setup::new();
    let server = start(&setup, "", "unix_listener test.sock {\n mode = 0666\n}");
    let path = setup.base_dir().join("test.sock");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666);
    let stream = UnixStream::connect(&path).unwrap();
    stream.set_read_timeout(Some(LONG)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut greeting = String::new();
    reader.read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("* OK pid="), "{greeting:?}");
    (&stream).write_all(b"local\r\n").unwrap();
    let mut answer = String::new();
    reader.read_line(&mut answer).unwrap();
    assert_eq!(
        answer.trim_end(),
        format!("local test.sock Unix(Some({path:?}))")
    );
    drop(server);
}

fn crashes_are_logged_and_replaced() {
    let setup = Setup::new();
    let server = start(&setup, "", "service_count = 0\nclient_limit = 1");
    let mut survivor = Client::connect(setup.addr());
    let mut c = Client::connect(setup.addr());
    assert_ne!(survivor.worker, c.worker);

    assert_eq!(c.command("stderr raw text from a worker"), "ok");
    setup.wait_log("imap-login: Error: raw text from a worker", LONG);

    c.stream.write_all(b"crash\r\n").unwrap();
    assert!(c.closed());
    setup.wait_log(
        &format!("master: Error: service(imap-login): child {} killed with signal 11 (core dumps disabled)", c.worker),
        LONG,
    );

    let c = Client::connect(setup.addr());
    master_support::signal(c.worker, libc::SIGKILL);
    setup.wait_log(
        &format!(
            "master: Error: service(imap-login): child {} killed with signal 9\n",
            c.worker
        ),
        LONG,
    );

    let mut c = Client::connect(setup.addr());
    c.stream.write_all(b"panic\r\n").unwrap();
    assert!(c.closed());
    let log = setup.wait_log(
        &format!(
            "service(imap-login): child {} killed with signal 6 (core dumps disabled)",
            c.worker
        ),
        LONG,
    );
    assert!(
        log.contains("imap-login: Panic: test handler panic (at tests/master_workers.rs:"),
        "{log}"
    );
    // The panic line comes before the news of the death.
    assert!(log.find("Panic: test handler panic") < log.find("killed with signal 6"));

    // Nothing else was taken down.
    assert!(alive(server.pid()));
    assert_eq!(survivor.command("pid"), format!("pid {}", survivor.worker));
    let mut fresh = Client::connect(setup.addr());
    assert_eq!(fresh.command("quit"), "bye");
    assert!(!log.contains("throttling"), "{log}");
}

fn process_limit_with_500_connections() {
    let setup = Setup::new();
    // imap-login: service_count = 1, so each process serves one client: 10 clients fill it.
    let server = start(&setup, "", "process_limit = 10");
    let master = server.pid();
    let mut sessions: Vec<Client> = (0..10).map(|_| Client::connect(setup.addr())).collect();
    let baseline_fds = fd_count(master);
    let addr = setup.addr();
    let started = Instant::now();
    let clients: Vec<_> = (0..500)
        .map(|_| {
            std::thread::spawn(move || -> &'static str {
                let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) else {
                    return "refused";
                };
                s.set_read_timeout(Some(Duration::from_secs(25))).unwrap();
                let mut buf = [0u8; 64];
                match s.read(&mut buf) {
                    Ok(0) => "closed",
                    Ok(_) => "served",
                    Err(_) => "timeout",
                }
            })
        })
        .collect();
    let warning = "master: Warning: service(imap-login): process_limit (10) reached, client connections are being dropped";
    setup.wait_log(warning, LONG);
    // The master and the sessions it has stay healthy meanwhile.
    for s in &mut sessions {
        assert_eq!(s.command("pid"), format!("pid {}", s.worker));
    }
    assert!(alive(master));
    assert_eq!(workers(&server).len(), 10, "process_limit holds");
    // After the drop timeout (10 s) the waiting clients are closed rather than left hanging.
    let outcomes: Vec<&str> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let count = |what| outcomes.iter().filter(|o| **o == what).count();
    println!(
        "  500 clients at process_limit=10: {} waited in the backlog and were closed, {} not accepted by the kernel",
        count("closed"),
        count("refused")
    );
    assert_eq!(count("timeout"), 0, "{outcomes:?}");
    assert_eq!(count("served"), 0, "no process was free");
    assert!(
        count("closed") > 0,
        "some waited in the backlog and were closed"
    );
    assert_eq!(count("closed") + count("refused"), 500);
    // One warning per second at most.
    let warnings = setup.log_text().matches(warning).count() as u64;
    assert!(
        warnings >= 1 && warnings <= started.elapsed().as_secs() + 1,
        "{warnings} warnings"
    );
    for s in &mut sessions {
        assert_eq!(s.command("quit"), "bye");
    }
    // Room again: new clients are served, nothing leaked.
    let mut c = Client::connect(setup.addr());
    assert_eq!(c.command("quit"), "bye");
    wait_for(LONG, || (workers(&server).is_empty()).then_some(())).expect("workers exit");
    let fds = fd_count(master);
    assert!(
        fds <= baseline_fds,
        "master fds {fds} > {baseline_fds} with 10 workers"
    );
    assert!(!setup.log_text().contains("Error"), "{}", setup.log_text());
}

/// Every line of the log is whole: many writers' long lines never mix.
fn check_log_lines(setup: &Setup, tags: &[String], count: usize, len: usize) {
    let log = setup.log_text();
    let mut seen = vec![0usize; tags.len()];
    for line in log.lines() {
        if let Some((_, rest)) = line.split_once("imap-login: Info: ") {
            let mut parts = rest.splitn(3, '-');
            let (tag, index, body) = (
                parts.next().unwrap(),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            let t = tags
                .iter()
                .position(|t| t == tag)
                .unwrap_or_else(|| panic!("bad line {line:.200}"));
            assert!(index.parse::<usize>().is_ok(), "bad line {line:.200}");
            assert!(
                body.len() == len && body.bytes().all(|b| b == b'x'),
                "torn line {line:.200}"
            );
            seen[t] += 1;
        } else {
            assert!(line.contains(" master: "), "unexpected line {line:.200}");
        }
    }
    assert!(seen.iter().all(|n| *n == count), "{seen:?}");
}

fn concurrent_logging(service: &str, same_worker: bool) {
    let setup = Setup::new();
    let _server = start(&setup, "", service);
    let (count, len) = (200, 9000);
    let tags: Vec<String> = (0..8).map(|i| format!("t{i}")).collect();
    let mut clients: Vec<Client> = tags.iter().map(|_| Client::connect(setup.addr())).collect();
    let pids: std::collections::HashSet<i32> = clients.iter().map(|c| c.worker).collect();
    assert_eq!(pids.len(), if same_worker { 1 } else { 8 });
    let threads: Vec<_> = clients
        .drain(..)
        .zip(tags.clone())
        .map(|(mut c, tag)| {
            std::thread::spawn(move || c.command(&format!("log {count} {len} {tag}")))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), "done");
    }
    wait_for(LONG, || {
        (setup.log_text().matches("imap-login: Info: ").count() == count * tags.len()).then_some(())
    })
    .expect("every line arrives");
    check_log_lines(&setup, &tags, count, len);
}

fn log_lines_never_interleave_across_processes() {
    concurrent_logging(
        "service_count = 0\nclient_limit = 1\nprocess_limit = 20",
        false,
    );
}

fn log_lines_never_interleave_across_threads() {
    concurrent_logging(
        "service_count = 0\nclient_limit = 8\nprocess_limit = 1",
        true,
    );
}

fn reload_changes_port_and_keeps_sessions() {
    let setup = Setup::new();
    let service = "service_count = 0\nclient_limit = 1\nprocess_min_avail = 1";
    let server = start(&setup, "login_greeting = first", service);
    let mut old_session = Client::connect(setup.addr());
    assert_eq!(old_session.command("greeting"), "greeting first");
    // Busy with old_session, plus one idle for process_min_avail.
    let old_workers = wait_workers(&server, 2);
    let old_idle = old_workers
        .iter()
        .find(|p| **p != old_session.worker)
        .copied()
        .unwrap();

    let new_port = master_support::free_port();
    setup.write_conf(new_port, "login_greeting = second", service);
    server.signal(libc::SIGHUP);
    setup.wait_log("SIGHUP received - reloading configuration", LONG);
    let new_addr = std::net::SocketAddr::from(([127, 0, 0, 1], new_port));
    let mut c = wait_for(LONG, || Client::try_connect(new_addr).ok()).expect("new port serves");
    // New workers have the new configuration; the idle old one was told to exit.
    assert!(!old_workers.contains(&c.worker));
    assert_eq!(c.command("greeting"), "greeting second");
    wait_for(LONG, || (!alive(old_idle)).then_some(())).expect("idle old worker exits");
    // The old port is closed everywhere (the busy old worker let go of it too).
    wait_for(LONG, || TcpListener::bind(setup.addr()).ok()).expect("old port released");
    // The running session keeps going on its old worker, with its old configuration.
    assert_eq!(
        old_session.command("pid"),
        format!("pid {}", old_session.worker)
    );
    assert_eq!(old_session.command("greeting"), "greeting first");
    assert_eq!(c.command("quit"), "bye");

    // A broken configuration is logged and the running one kept.
    std::fs::write(
        setup.conf(),
        "service imap-login {\n  process_limit = lots\n}\n",
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    let log = setup.wait_log("Error reading configuration", LONG);
    assert!(
        log.contains("master: Error: Error reading configuration: Error in configuration file"),
        "{log}"
    );
    let mut c = Client::connect(new_addr);
    assert_eq!(c.command("greeting"), "greeting second");
    assert_eq!(c.command("quit"), "bye");
    // The old session ends normally; its retired worker then exits quietly.
    assert_eq!(old_session.command("quit"), "bye");
    wait_for(LONG, || (!alive(old_session.worker)).then_some(())).expect("retired worker exits");
    let log = setup.log_text();
    assert!(!log.contains("child"), "{log}");
}

fn startup_fails_when_a_port_is_taken() {
    let setup = Setup::new();
    let _taken = TcpListener::bind(setup.addr()).unwrap();
    setup.write_conf(setup.port, "", "");
    let exe = std::env::current_exe().unwrap();
    let mut server = Server::spawn(&exe, &setup, &[(MASTER_ENV, "1")]);
    let status = server.wait_exit(LONG);
    assert_eq!(status.code(), Some(89));
    assert_eq!(
        server.stderr_text(),
        format!(
            "cote: Error: service(imap-login): listen(127.0.0.1, {}) failed: Address already in use\n\
             cote: Fatal: Failed to start listeners\n",
            setup.port
        )
    );
    assert!(!setup.pid_file().exists());
}

fn idle_kill_trims_extra_processes() {
    let setup = Setup::new();
    let server = start(
        &setup,
        "",
        "service_count = 0\nclient_limit = 1\nprocess_min_avail = 1\nidle_kill = 1 secs",
    );
    let clients: Vec<Client> = (0..3).map(|_| Client::connect(setup.addr())).collect();
    wait_workers(&server, 4);
    drop(clients);
    // Idle for a second, the extra three get SIGINT and exit; one stays for min_avail.
    wait_for(Duration::from_secs(8), || {
        (workers(&server).len() == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("workers: {:?}", workers(&server)));
    assert!(!setup.log_text().contains("Error"), "{}", setup.log_text());
}

fn shutdown_clients_no_leaves_sessions_running() {
    let setup = Setup::new();
    let mut server = start(
        &setup,
        "shutdown_clients = no",
        "service_count = 0\nclient_limit = 1",
    );
    let mut c = Client::connect(setup.addr());
    assert!(server.stop().success());
    assert_eq!(c.command("pid"), format!("pid {}", c.worker));
    // The busy worker let go of the listening socket: a new master could bind it.
    let rebound = TcpListener::bind(setup.addr());
    assert!(rebound.is_ok(), "port still held: {rebound:?}");
    assert_eq!(c.command("quit"), "bye");
    wait_for(LONG, || (!alive(c.worker)).then_some(())).expect("worker exits after its client");
}

fn shutdown_kills_sessions_by_default() {
    let setup = Setup::new();
    let mut server = start(
        &setup,
        "",
        "service_count = 0\nclient_limit = 1\nprocess_min_avail = 2",
    );
    let mut c = Client::connect(setup.addr());
    let all = wait_workers(&server, 3);
    assert!(server.stop().success());
    assert!(c.closed());
    for pid in all {
        assert!(!alive(pid), "worker {pid} survived");
    }
    assert!(!setup.log_text().contains("Error"), "{}", setup.log_text());
}

fn threaded_worker_and_client_limit() {
    let setup = Setup::new();
    let server = start(
        &setup,
        "",
        "service_count = 0\nclient_limit = 3\nprocess_limit = 1",
    );
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(setup.addr())).collect();
    assert!(clients.iter().all(|c| c.worker == clients[0].worker));
    assert_eq!(workers(&server), [clients[0].worker]);
    let waiting = TcpStream::connect(setup.addr()).unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        (&waiting).read(&mut buf).is_err(),
        "no room for a fourth client"
    );
    setup.wait_log(
        "master: Warning: service(imap-login): client_limit (3) reached, client connections are being dropped",
        LONG,
    );
    assert_eq!(clients[0].command("quit"), "bye");
    waiting.set_read_timeout(Some(LONG)).unwrap();
    let n = (&waiting).read(&mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"* OK pid="),
        "the waiting client is served once there is room"
    );
    for c in &mut clients[1..] {
        assert_eq!(c.command("pid"), format!("pid {}", c.worker));
    }
}

fn debug_lines_follow_auth_debug() {
    for (global, expect) in [("", false), ("protocol imap {\n auth_debug = yes\n}", true)] {
        let setup = Setup::new();
        let _server = start(&setup, global, "");
        let mut c = Client::connect(setup.addr());
        assert_eq!(c.command("debug some detail"), "ok");
        let log = setup.wait_log("imap-login: Info: after debug", LONG);
        assert_eq!(
            log.contains("imap-login: Debug: some detail\n"),
            expect,
            "{log}"
        );
    }
}

const TESTS: &[(&str, fn())] = &[
    ("serves_and_preforks", serves_and_preforks),
    ("unix_listener_serves_too", unix_listener_serves_too),
    (
        "crashes_are_logged_and_replaced",
        crashes_are_logged_and_replaced,
    ),
    (
        "process_limit_with_500_connections",
        process_limit_with_500_connections,
    ),
    (
        "log_lines_never_interleave_across_processes",
        log_lines_never_interleave_across_processes,
    ),
    (
        "log_lines_never_interleave_across_threads",
        log_lines_never_interleave_across_threads,
    ),
    (
        "reload_changes_port_and_keeps_sessions",
        reload_changes_port_and_keeps_sessions,
    ),
    (
        "startup_fails_when_a_port_is_taken",
        startup_fails_when_a_port_is_taken,
    ),
    (
        "idle_kill_trims_extra_processes",
        idle_kill_trims_extra_processes,
    ),
    (
        "shutdown_clients_no_leaves_sessions_running",
        shutdown_clients_no_leaves_sessions_running,
    ),
    (
        "shutdown_kills_sessions_by_default",
        shutdown_kills_sessions_by_default,
    ),
    (
        "threaded_worker_and_client_limit",
        threaded_worker_and_client_limit,
    ),
    (
        "debug_lines_follow_auth_debug",
        debug_lines_follow_auth_debug,
    ),
];

fn main() -> ExitCode {
    if std::env::var_os(MASTER_ENV).is_some() {
        let mut registry = Registry::new();
        registry.register("imap-login", handler);
        return cli::main(registry);
    }
    fs_support::run(TESTS)
}
