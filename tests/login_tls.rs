//! TLS settings end to end: Debian's stock 10-ssl.conf (its snakeoil-style paths pointed at a
//! certificate made for the test), SNI with `local_name` sections, client certificates and
//! EXTERNAL, and a broken certificate.

#[path = "config_support/mod.rs"]
mod config_support;
mod login_support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use openssl::pkey::{PKey, Private};
use openssl::ssl::{
    HandshakeError, SslConnector, SslConnectorBuilder, SslMethod, SslStream, SslVerifyMode,
};
use openssl::x509::X509;

use login_support::{tls_support, Client, Server};

/// A client that takes any certificate.
fn client_builder() -> SslConnectorBuilder {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).unwrap();
    builder.set_verify(SslVerifyMode::NONE);
    builder
}

/// The handshake with the server on `port`, naming `sni` if given.
fn handshake(
    builder: SslConnectorBuilder,
    port: u16,
    sni: Option<&str>,
) -> Result<SslStream<TcpStream>, HandshakeError<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut config = builder.build().configure().unwrap();
    config.set_use_server_name_indication(sni.is_some());
    config
        .verify_hostname(false)
        .connect(sni.unwrap_or("localhost"), tcp)
}

fn tls_client(
    port: u16,
    sni: Option<&str>,
    client_cert: Option<(&PKey<Private>, &X509)>,
) -> SslStream<TcpStream> {
    let mut builder = client_builder();
    if let Some((key, cert)) = client_cert {
        builder.set_private_key(key).unwrap();
        builder.set_certificate(cert).unwrap();
    }
    handshake(builder, port, sni).unwrap()
}

fn read_line(tls: &mut SslStream<TcpStream>) -> String {
    let mut reader = BufReader::new(tls);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_string()
}

fn peer_cn(tls: &SslStream<TcpStream>) -> String {
    let cert = tls.ssl().peer_certificate().unwrap();
    let entry = cert
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .unwrap();
    entry.data().to_string().unwrap()
}

#[test]
fn debian_stock_ssl_settings() {
    let root = config_support::oracle_root();
    let stock = fs::read_to_string(root.join("usr/share/dovecot/conf.d/10-ssl.conf")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    tls_support::write_test_cert(dir.path()).unwrap();
    // Debian's key is root:ssl-cert 0640, readable by root alone here: cote reads it before
    // its login processes give up root.
    let key = dir.path().join("key.pem");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let conf = stock
        .replace(
            "/etc/dovecot/private/dovecot.pem",
            dir.path().join("cert.pem").to_str().unwrap(),
        )
        .replace("/etc/dovecot/private/dovecot.key", key.to_str().unwrap())
        .replace(
            "/usr/share/dovecot/dh.pem",
            root.join("usr/share/dovecot/dh.pem").to_str().unwrap(),
        );
    assert!(conf.contains("ssl_dh = <"), "{conf}");
    let server = Server::start(&conf);
    let mut tls = tls_client(server.imaps, None, None);
    assert!(read_line(&mut tls).starts_with("* OK [CAPABILITY IMAP4rev1 "));
    tls.write_all(b"a LOGIN alice secret\r\n").unwrap();
    assert!(read_line(&mut tls).starts_with("a OK [CAPABILITY "));
    // STARTTLS with the same settings, and the minimum protocol holds: TLS 1.1 is refused.
    let mut c = Client::connect(server.imap);
    c.line();
    c.send(b"s STARTTLS\r\n");
    assert_eq!(c.line(), "s OK Begin TLS negotiation now.");
    let mut old = client_builder();
    old.set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_1))
        .unwrap();
    let refused = old
        .build()
        .configure()
        .unwrap()
        .verify_hostname(false)
        .connect("localhost", c.stream.try_clone().unwrap());
    assert!(
        refused.is_err(),
        "TLS 1.1 accepted with ssl_min_protocol = TLSv1.2"
    );
}

/// A directory every process may read, with a new certificate for `name` in `file`; its
/// key is for the caller to store.
fn dir_with_cert(name: &str, file: &str) -> (tempfile::TempDir, PKey<Private>) {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let (key, cert) = tls_support::make_cert(name, None).unwrap();
    fs::write(dir.path().join(file), cert.to_pem().unwrap()).unwrap();
    (dir, key)
}

#[test]
fn sni_picks_the_local_name_certificate() {
    let (dir, key) = dir_with_cert("mail.example.test", "other.pem");
    fs::write(
        dir.path().join("other.key"),
        key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    fs::set_permissions(
        dir.path().join("other.key"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let d = dir.path().display();
    let server = Server::start(&format!(
        "local_name mail.example.test {{\n  ssl_cert = <{d}/other.pem\n  ssl_key = <{d}/other.key\n}}\n"
    ));
    let default = tls_client(server.imaps, None, None);
    assert_eq!(peer_cn(&default), "localhost");
    let mut named = tls_client(server.imaps, Some("mail.example.test"), None);
    assert_eq!(peer_cn(&named), "mail.example.test");
    assert!(read_line(&mut named).starts_with("* OK "));
    let unknown = tls_client(server.imaps, Some("other.example.test"), None);
    assert_eq!(peer_cn(&unknown), "localhost");
}

#[test]
fn external_with_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let (ca_key, ca) = tls_support::make_cert("Test CA", None).unwrap();
    let (alice_key, alice) = tls_support::make_cert("alice", Some((&ca_key, &ca))).unwrap();
    let (stranger_key, stranger) = tls_support::make_cert("alice", None).unwrap();
    fs::write(dir.path().join("ca.pem"), ca.to_pem().unwrap()).unwrap();
    let d = dir.path().display();
    // The certificate is the credential: a passdb for EXTERNAL that needs no password (the
    // usual Dovecot setup), after the passwd-file one whose password check fails for it.
    let server = Server::start(&format!(
        "ssl_ca = <{d}/ca.pem\n\
         ssl_verify_client_cert = yes\n\
         auth_ssl_username_from_cert = yes\n\
         auth_mechanisms = plain external\n\
         passdb {{\n  driver = static\n  args = nopassword=y\n  mechanisms = external\n}}\n"
    ));
    let mut tls = tls_client(server.imaps, None, Some((&alice_key, &alice)));
    let greeting = read_line(&mut tls);
    assert!(greeting.contains(" AUTH=EXTERNAL"), "{greeting}");
    tls.write_all(b"a AUTHENTICATE EXTERNAL =\r\n").unwrap();
    let answer = read_line(&mut tls);
    assert!(
        answer.starts_with("a OK [CAPABILITY "),
        "{answer}\n{}",
        server.logs()
    );
    server.wait_log("Login: user=<alice>, method=EXTERNAL");
    // A certificate the CA did not sign proves nothing.
    let mut tls = tls_client(server.imaps, None, Some((&stranger_key, &stranger)));
    read_line(&mut tls);
    tls.write_all(b"b AUTHENTICATE EXTERNAL =\r\n").unwrap();
    let answer = read_line(&mut tls);
    assert!(answer.starts_with("b NO "), "{answer}");
}

#[test]
fn unusable_certificate_fails_tls_only() {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.path().join("empty.pem"), "").unwrap();
    let server = Server::start(&format!("ssl_cert = <{}/empty.pem\n", dir.path().display()));
    // Plaintext still works; STARTTLS is offered (as Dovecot does) and fails cleanly.
    let mut c = Client::connect(server.imap);
    assert!(c.line().contains(" STARTTLS "));
    c.send(b"a STARTTLS\r\n");
    assert_eq!(c.line(), "a OK Begin TLS negotiation now.");
    assert_eq!(c.line(), "* BYE [UNAVAILABLE] TLS initialization failed.");
    assert!(c.closed());
    let line = server.wait_log("Failed to initialize SSL server context");
    assert!(
        line.contains("Can't load SSL certificate (ssl_cert setting): The certificate is empty"),
        "{line}"
    );
    server.wait_log("Disconnected: TLS initialization failed.");
    let mut c = Client::connect(server.imap);
    c.line();
    c.send(b"b LOGIN alice secret\r\n");
    assert!(c.line().starts_with("b OK [CAPABILITY "));
}

/// A TLS 1.2 client offering `ciphers` (in its order of preference) and `groups`.
fn tls12_client(
    port: u16,
    ciphers: &str,
    groups: &str,
) -> Result<SslStream<TcpStream>, HandshakeError<TcpStream>> {
    let mut builder = client_builder();
    builder
        .set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2))
        .unwrap();
    builder.set_cipher_list(ciphers).unwrap();
    builder.set_groups_list(groups).unwrap();
    handshake(builder, port, None)
}

/// `cote -p` asks for the key's password on the terminal (without echo) and starts with it.
#[test]
fn key_password_typed_at_the_terminal() {
    let (dir, key) = dir_with_cert("localhost", "cert.pem");
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"typed pw")
        .unwrap();
    fs::write(dir.path().join("key.pem"), encrypted).unwrap();
    let d = dir.path().display();
    let (server, mut terminal, _tty) = Server::spawn_on_terminal(
        &format!("ssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n"),
        &["-p"],
    );
    let prompt = b"Give the password for SSL keys: ";
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !seen.ends_with(prompt) {
        let n = std::io::Read::read(&mut terminal, &mut buf).unwrap_or(0);
        assert!(n > 0, "terminal closed; seen {seen:?}\n{}", server.logs());
        seen.extend_from_slice(&buf[..n]);
    }
    terminal.write_all(b"typed pw\n").unwrap();
    let up = login_support::wait_for(Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", server.imaps)).ok()
    });
    assert!(up.is_some(), "cote did not start:\n{}", server.logs());
    let mut tls = tls_client(server.imaps, None, None);
    assert!(read_line(&mut tls).starts_with("* OK [CAPABILITY "));
    // Echo was off while the password was typed.
    let mut rest = [0u8; 256];
    let n = std::io::Read::read(&mut terminal, &mut rest).unwrap_or(0);
    assert!(!String::from_utf8_lossy(&rest[..n]).contains("typed pw"));
}

/// ssl_key_password (the key is encrypted), ssl_cipher_list with ssl_prefer_server_ciphers,
/// ssl_dh (the server's first choice is a DHE suite) and ssl_curve_list, as clients see them.
#[test]
fn key_password_ciphers_curves_and_dh() {
    let (dir, key) = dir_with_cert("localhost", "cert.pem");
    let encrypted = key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"sesame")
        .unwrap();
    assert!(String::from_utf8_lossy(&encrypted).contains("ENCRYPTED"));
    fs::write(dir.path().join("key.pem"), encrypted).unwrap();
    fs::set_permissions(
        dir.path().join("key.pem"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let dh = config_support::oracle_root().join("usr/share/dovecot/dh.pem");
    let d = dir.path().display();
    let tls = |password: &str| {
        format!(
            "ssl_cert = <{d}/cert.pem\n\
             ssl_key = <{d}/key.pem\n\
             ssl_key_password = {password}\n\
             ssl_cipher_list = DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256\n\
             ssl_prefer_server_ciphers = yes\n\
             ssl_curve_list = P-384\n\
             ssl_dh = <{}\n",
            dh.display()
        )
    };
    let server = Server::start(&tls("sesame"));
    // The client prefers ECDHE; the server's order wins, and its DHE needs ssl_dh.
    let mut tls12 = tls12_client(
        server.imaps,
        "ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384",
        "P-384:X25519",
    )
    .unwrap();
    assert_eq!(
        tls12.ssl().current_cipher().unwrap().name(),
        "DHE-RSA-AES256-GCM-SHA384"
    );
    assert!(read_line(&mut tls12).starts_with("* OK [CAPABILITY "));
    // ECDHE only on the curve the server allows.
    let ecdhe = tls12_client(server.imaps, "ECDHE-RSA-AES128-GCM-SHA256", "P-384").unwrap();
    assert_eq!(
        ecdhe.ssl().current_cipher().unwrap().name(),
        "ECDHE-RSA-AES128-GCM-SHA256"
    );
    assert!(
        tls12_client(server.imaps, "ECDHE-RSA-AES128-GCM-SHA256", "X25519").is_err(),
        "a curve outside ssl_curve_list was accepted"
    );
    assert!(
        tls12_client(server.imaps, "ECDHE-RSA-AES256-GCM-SHA384", "P-384").is_err(),
        "a cipher outside ssl_cipher_list was accepted"
    );
    drop(server);

    // A wrong password: TLS fails with Dovecot's hint, plaintext still works.
    let server = Server::start(&tls("wrong"));
    let mut c = Client::connect(server.imap);
    c.line();
    c.send(b"a STARTTLS\r\n");
    assert_eq!(c.line(), "a OK Begin TLS negotiation now.");
    assert_eq!(c.line(), "* BYE [UNAVAILABLE] TLS initialization failed.");
    let line = server.wait_log("Failed to initialize SSL server context");
    assert!(
        line.contains(
            "Couldn't parse private SSL key (ssl_key setting) (maybe ssl_key_password is wrong?)"
        ),
        "{line}"
    );
}
