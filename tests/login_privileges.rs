//! Started as root: no byte from an unauthenticated client is parsed by a root process. The
//! login process runs as default_login_user chrooted to base_dir/login, the auth service as
//! default_internal_user, the mail process as the user's uid/gid (with the service's extra
//! group). Not root: the test says so and checks nothing (there is nothing to drop).

mod login_support;

use std::time::Duration;

use login_support::{ids, is_root, try_ids, wait_for, Client, Server};

fn user_ids(name: &str) -> (u32, u32) {
    let user = nix::unistd::User::from_name(name)
        .unwrap()
        .unwrap_or_else(|| panic!("user {name} missing (CI creates it)"));
    (user.uid.as_raw(), user.gid.as_raw())
}

#[test]
fn processes_run_as_dovecot_does() {
    if !is_root() {
        eprintln!("not root: no privileges to drop, nothing to check");
        return;
    }
    let server = Server::start("");
    let (dovenull_uid, dovenull_gid) = user_ids("dovenull");
    let (dovecot_uid, _) = user_ids("dovecot");
    let dovecot_gid = nix::unistd::Group::from_name("dovecot")
        .unwrap()
        .unwrap()
        .gid
        .as_raw();

    // A client connected, nothing sent but what the greeting asks: its login process.
    let mut c = Client::connect(server.imap);
    assert!(c.line().starts_with("* OK "));
    let logins = server.workers("dovecot/imap-login");
    assert!(!logins.is_empty(), "no login process:\n{}", server.logs());
    let mut checked = 0;
    for pid in &logins {
        // The login process of Server::start's probe connection may be exiting meanwhile.
        let (Ok(root), Some((uid, gid, groups))) = (
            std::fs::read_link(format!("/proc/{pid}/root")),
            try_ids(*pid),
        ) else {
            continue;
        };
        assert_eq!(uid, vec![dovenull_uid; 4], "login process {pid} uids");
        assert_eq!(gid, vec![dovenull_gid; 4], "login process {pid} gids");
        assert_eq!(groups, vec![dovenull_gid], "login process {pid} groups");
        assert_eq!(
            root,
            server.base_dir().join("login"),
            "login process {pid} chroot"
        );
        checked += 1;
    }
    assert!(checked > 0, "every login process went away");
    // The auth service answered the login process: it runs as dovecot, and so does anvil
    // (which login processes talk to as well).
    for pid in server.workers("dovecot/auth") {
        assert_eq!(ids(pid).0, vec![dovecot_uid; 4], "auth process {pid}");
    }
    let anvil = server.workers("dovecot/anvil");
    assert_eq!(anvil.len(), 1, "anvil processes");
    assert_eq!(ids(anvil[0]).0, vec![dovecot_uid; 4], "anvil process");

    // After LOGIN the client belongs to a mail process running as alice (1000:1000).
    c.send(b"a LOGIN alice secret\r\n");
    assert!(c.line().starts_with("a OK [CAPABILITY "));
    let mail = wait_for(Duration::from_secs(10), || {
        server.workers("dovecot/imap").first().copied()
    })
    .expect("mail process");
    let (uid, gid, groups) = ids(mail);
    assert_eq!(uid, vec![1000; 4], "mail process uids");
    assert_eq!(gid, vec![1000; 4], "mail process gids");
    // The user's group, plus service imap's extra_groups ($default_internal_group).
    assert!(
        groups.contains(&1000) && groups.contains(&dovecot_gid),
        "mail process groups {groups:?}"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{mail}/root")).unwrap(),
        std::path::PathBuf::from("/")
    );
    c.send(b"b LOGOUT\r\n");
    assert_eq!(c.line(), "* BYE Logging out");

    // Over imaps the login process stays, as the TLS proxy, still unprivileged.
    let mut builder =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client()).unwrap();
    builder.set_verify(openssl::ssl::SslVerifyMode::NONE);
    let tcp = std::net::TcpStream::connect(("127.0.0.1", server.imaps)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = builder
        .build()
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect("localhost", tcp)
        .unwrap();
    let mut reader = std::io::BufReader::new(&mut tls);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    drop(reader);
    std::io::Write::write_all(&mut tls, b"t LOGIN bob hunter2\r\n").unwrap();
    let mut reader = std::io::BufReader::new(&mut tls);
    line.clear();
    std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
    assert!(line.starts_with("t OK [CAPABILITY "), "{line}");
    drop(reader);
    let proxies = server.workers("dovecot/imap-login");
    assert!(!proxies.is_empty(), "the TLS proxy is gone");
    for pid in proxies {
        assert_eq!(ids(pid).0, vec![dovenull_uid; 4], "TLS proxy {pid}");
    }
    let bob = wait_for(Duration::from_secs(10), || {
        server
            .workers("dovecot/imap")
            .into_iter()
            .find(|p| ids(*p).0 == vec![1001; 4])
    });
    assert!(bob.is_some(), "no mail process running as bob");
}

#[test]
fn a_missing_login_user_stops_startup() {
    if !is_root() {
        eprintln!("not root: users are not looked up, nothing to check");
        return;
    }
    for (config, message) in [
        (
            "default_login_user = no-such-login-user\n",
            "default_login_user doesn't exist: no-such-login-user",
        ),
        (
            "service imap-login {\n  user = no-such-login-user\n}\n",
            "Fatal: service(imap-login): User doesn't exist: no-such-login-user \
             (See service imap-login { user } setting)",
        ),
    ] {
        let mut server = Server::spawn(config);
        let status = wait_for(Duration::from_secs(20), || {
            server.child.try_wait().ok().flatten()
        })
        .expect("cote kept running");
        assert_eq!(status.code(), Some(89));
        let logs = server.logs();
        assert!(logs.contains(message), "{logs}");
    }
}
