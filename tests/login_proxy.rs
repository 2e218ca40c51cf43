//! Login proxying between two real cote servers on loopback: a backend on 127.0.0.2 and a
//! proxy on 127.0.0.1 whose passdb says `proxy host=127.0.0.2 ...`. IMAP and POP3 through
//! the proxy with Python's imaplib and poplib: a login that the backend accepts (and a
//! session behind it), a password the backend refuses, a backend that is down, TLS toward
//! the backend (ssl= and starttls=), `proxy_maybe` toward itself and toward the backend,
//! and the ID the backend gets from a proxy it trusts.

mod login_support;

use login_support::{free_port, python, Server, USERS};

/// A backend on 127.0.0.2 serving IMAP (imap, imaps) and POP3 (pop3, pop3s); it trusts
/// 127.0.0.1 (the proxy) for ID and XCLIENT.
struct Backend {
    server: Server,
    pop3: u16,
    pop3s: u16,
}

fn backend() -> Backend {
    let (pop3, pop3s) = (free_port(), free_port());
    let server = Server::start_with(
        USERS,
        "127.0.0.2",
        &format!(
            "protocols = imap pop3\n\
             login_trusted_networks = 127.0.0.1/32\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
             inet_listener pop3s {{\n    port = {pop3s}\n  }}\n}}\n"
        ),
    );
    Backend {
        server,
        pop3,
        pop3s,
    }
}

/// The proxy's users: each line's extra fields say where its logins go.
fn proxy_users(b: &Backend) -> String {
    let (imap, imaps) = (b.server.imap, b.server.imaps);
    let down = free_port();
    format!(
        "alice:{{PLAIN}}secret::::::proxy host=127.0.0.2 port={imap}\n\
         bob:{{PLAIN}}hunter2::::::proxy host=127.0.0.2 port={imap} pass=wrong\n\
         dave:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={down} proxy_timeout=1\n\
         tls:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={imaps} ssl=any-cert destuser=alice pass=secret\n\
         stls:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={imap} starttls=any-cert destuser=alice pass=secret\n\
         verify:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={imaps} ssl=yes destuser=alice pass=secret\n\
         here:{{PLAIN}}pw:1000:1000::/nonexistent/here::proxy_maybe host=127.0.0.1\n\
         there:{{PLAIN}}pw::::::proxy_maybe host=127.0.0.2 port={imap} destuser=alice pass=secret\n"
    )
}

fn proxy_users_pop3(b: &Backend) -> String {
    let (pop3, pop3s) = (b.pop3, b.pop3s);
    let down = free_port();
    format!(
        "alice:{{PLAIN}}secret::::::proxy host=127.0.0.2 port={pop3}\n\
         bob:{{PLAIN}}hunter2::::::proxy host=127.0.0.2 port={pop3} pass=wrong\n\
         dave:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={down} proxy_timeout=1\n\
         tls:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={pop3s} ssl=any-cert destuser=alice pass=secret\n\
         stls:{{PLAIN}}pw::::::proxy host=127.0.0.2 port={pop3} starttls=any-cert destuser=alice pass=secret\n"
    )
}

const IMAP: &str = r#"
import imaplib, sys
port = int(sys.argv[1])
def attempt(user, pw):
    m = imaplib.IMAP4("127.0.0.1", port)
    try:
        typ, data = m.login(user, pw)
        typ2, _ = m.select("INBOX")
        m.append("INBOX", None, None, b"Subject: via " + user.encode() + b"\r\n\r\nbody\r\n")
        typ3, n = m.search(None, "ALL")
        print(user, typ, typ2, len(n[0].split()), "CAPABILITY" in str(m.capabilities) or "IMAP4REV1" in m.capabilities)
        m.logout()
    except imaplib.IMAP4.error as e:
        print(user, "NO", e)
        # The client stays connected after a proxy failure and may try again.
        print(user, "still", m.noop()[0])
        m.logout()
for user, pw in [("alice", "secret"), ("bob", "hunter2"), ("dave", "pw"), ("tls", "pw"),
                 ("stls", "pw"), ("verify", "pw"), ("here", "pw"), ("there", "pw")]:
    attempt(user, pw)
"#;

#[test]
fn imap_logins_are_proxied_to_the_backend() {
    let b = backend();
    let proxy = Server::start_with(&proxy_users(&b), "127.0.0.1", "auth_verbose = yes\n");
    let out = python(IMAP, &[proxy.imap.to_string()]);
    let lines: Vec<&str> = out.lines().collect();
    let logs = || {
        format!(
            "{out}\n--- proxy\n{}\n--- backend\n{}",
            proxy.logs(),
            b.server.logs()
        )
    };
    assert_eq!(lines[0], "alice OK OK 1 True", "{}", logs());
    assert_eq!(
        lines[1],
        "bob NO b'[AUTHENTICATIONFAILED] Authentication failed.'",
        "{}",
        logs()
    );
    assert_eq!(lines[2], "bob still OK", "{}", logs());
    assert_eq!(
        lines[3],
        "dave NO b'[UNAVAILABLE] Account is temporarily unavailable.'",
        "{}",
        logs()
    );
    assert_eq!(lines[4], "dave still OK", "{}", logs());
    assert_eq!(lines[5], "tls OK OK 2 True", "{}", logs());
    assert_eq!(lines[6], "stls OK OK 3 True", "{}", logs());
    // ssl=yes verifies the backend's certificate: the test's self-signed one fails.
    assert_eq!(
        lines[7],
        "verify NO b'[UNAVAILABLE] Account is temporarily unavailable.'",
        "{}",
        logs()
    );
    // proxy_maybe toward this very server logs in here; toward the backend, proxies.
    assert_eq!(lines[9], "here OK OK 1 True", "{}", logs());
    assert_eq!(lines[10], "there OK OK 4 True", "{}", logs());

    let started = proxy.wait_log("proxy(alice,127.0.0.2:");
    assert!(
        started.contains("Started proxying to <127.0.0.2>") && started.contains("user=<alice>"),
        "{started}"
    );
    // Who closed first after LOGOUT is a race: either side is right.
    let ended = proxy.wait_log("Disconnected by ");
    assert!(ended.contains("proxy(alice,127.0.0.2:"), "{ended}");
    let down = proxy.wait_log("proxy(dave,127.0.0.2:");
    assert!(
        down.contains("connect(127.0.0.2, ")
            && down.contains("failed: Connection refused (after 0 secs, local=127.0.0.1:"),
        "{down}"
    );
    // The backend trusted the proxy: its login line names the real client and session.
    let login = b
        .server
        .wait_log("Login: user=<alice>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1");
    assert!(login.contains("session=<"), "{login}");
    // auth_verbose: the backend's refusal is logged by the proxy.
    // The clients logged out after the failures: Dovecot's reasons.
    proxy.wait_log(
        "Disconnected: Aborted login by logging out (proxy dest auth failed): user=<bob>",
    );
    proxy.wait_log(
        "Disconnected: Aborted login by logging out (internal failure, 1 successful auths): \
         user=<dave>",
    );
    let refused = proxy.wait_log("proxy(bob,127.0.0.2:");
    assert!(
        refused.contains("Login failed: [AUTHENTICATIONFAILED] Authentication failed.: user=<bob>"),
        "{refused}"
    );
}

const POP3: &str = r#"
import poplib, sys
port = int(sys.argv[1])
for user, pw in [("alice", "secret"), ("bob", "hunter2"), ("dave", "pw"), ("tls", "pw"), ("stls", "pw")]:
    p = poplib.POP3("127.0.0.1", port)
    try:
        p.user(user)
        r = p.pass_(pw)
        print(user, r.decode().split()[0], p.stat()[0])
        p.quit()
    except poplib.error_proto as e:
        print(user, e)
"#;

#[test]
fn pop3_logins_are_proxied_to_the_backend() {
    let b = backend();
    let pop3 = free_port();
    let proxy = Server::start_with(
        &proxy_users_pop3(&b),
        "127.0.0.1",
        &format!(
            "protocols = imap pop3\n\
             service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n}}\n"
        ),
    );
    let out = python(POP3, &[pop3.to_string()]);
    let lines: Vec<&str> = out.lines().collect();
    let logs = || {
        format!(
            "{out}\n--- proxy\n{}\n--- backend\n{}",
            proxy.logs(),
            b.server.logs()
        )
    };
    assert_eq!(lines.first(), Some(&"alice +OK 0"), "{}", logs());
    assert_eq!(
        lines.get(1),
        Some(&"bob b'-ERR [AUTH] Authentication failed.'"),
        "{}",
        logs()
    );
    assert_eq!(
        lines.get(2),
        Some(&"dave b'-ERR [SYS/TEMP] Account is temporarily unavailable.'"),
        "{}",
        logs()
    );
    assert_eq!(lines.get(3), Some(&"tls +OK 0"), "{}", logs());
    assert_eq!(lines.get(4), Some(&"stls +OK 0"), "{}", logs());
    // XCLIENT from the trusted proxy: the backend logs the real client.
    let login = b.server.wait_log("pop3-login: Info: Login: user=<alice>");
    assert!(login.contains("rip=127.0.0.1"), "{login}");
}
