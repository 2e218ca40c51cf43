//! TLS toward another server (a proxy's backend): the `ssl_client_*` settings made into a
//! client context once, while the process can still read the CA and key files (before it
//! chroots), and the handshake with a deadline. `any-cert` skips verification; otherwise
//! the certificate must verify against `ssl_client_ca_file` / `ssl_client_ca_dir` (or the
//! system's store when neither is set) and name the host that was asked for.

use std::net::{IpAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Instant;

use openssl::pkey::PKey;
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::X509;

use crate::config::Settings;

/// The process's client context, or why it could not be made.
static CLIENT: OnceLock<Result<SslConnector, String>> = OnceLock::new();

/// Makes the client context from `settings` (call while still root). A second call keeps the
/// first context.
pub fn prepare(settings: &Settings) {
    CLIENT.get_or_init(|| build(settings));
}

fn build(settings: &Settings) -> Result<SslConnector, String> {
    let error = |what: &str, e: &dyn std::fmt::Display| {
        format!("Failed to initialize SSL client context: {what}: {e}")
    };
    let mut builder =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| error("context", &e))?;
    let ca_file = settings.str("ssl_client_ca_file");
    let ca_dir = settings.str("ssl_client_ca_dir");
    if ca_file.is_empty() && ca_dir.is_empty() {
        builder
            .set_default_verify_paths()
            .map_err(|e| error("default CA store", &e))?;
    }
    if !ca_file.is_empty() {
        builder
            .set_ca_file(ca_file)
            .map_err(|e| error(&format!("ssl_client_ca_file {ca_file}"), &e))?;
    }
    if !ca_dir.is_empty() {
        // OpenSSL looks certificates up by hash in the directory when it verifies; a chrooted
        // process cannot, so the directory's certificates are loaded now.
        let entries = std::fs::read_dir(ca_dir)
            .map_err(|e| error(&format!("ssl_client_ca_dir {ca_dir}"), &e))?;
        for entry in entries.flatten() {
            let Ok(pem) = std::fs::read(entry.path()) else {
                continue;
            };
            for cert in X509::stack_from_pem(&pem).unwrap_or_default() {
                // A certificate that is there twice is no error.
                let _ = builder.cert_store_mut().add_cert(cert);
            }
        }
    }
    let cert = settings
        .read("ssl_client_cert")
        .map_err(|e| error("ssl_client_cert", &e))?;
    if !cert.is_empty() {
        let key = settings
            .read("ssl_client_key")
            .map_err(|e| error("ssl_client_key", &e))?;
        let cert = X509::from_pem(cert.as_bytes()).map_err(|e| error("ssl_client_cert", &e))?;
        let key =
            PKey::private_key_from_pem(key.as_bytes()).map_err(|e| error("ssl_client_key", &e))?;
        builder
            .set_certificate(&cert)
            .map_err(|e| error("ssl_client_cert", &e))?;
        builder
            .set_private_key(&key)
            .map_err(|e| error("ssl_client_key", &e))?;
    }
    Ok(builder.build())
}

/// Runs the client side of the handshake on `tcp` toward `host` (a name or an address),
/// giving up at `deadline`. `any_cert`: whatever certificate the server shows is taken.
/// `Err` is the text for the log.
pub fn connect(
    tcp: TcpStream,
    host: &str,
    any_cert: bool,
    deadline: Instant,
) -> Result<SslStream<TcpStream>, String> {
    let connector = match CLIENT.get() {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("SSL client context was not initialized".to_string()),
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err("SSL handshake timed out".to_string());
    }
    let timeouts = tcp
        .set_read_timeout(Some(left))
        .and_then(|()| tcp.set_write_timeout(Some(left)));
    timeouts.map_err(|e| crate::errtext::os_error_text(&e))?;
    let mut config = connector
        .configure()
        .map_err(|e| format!("Failed to create SSL client: {e}"))?;
    if any_cert {
        config.set_verify(SslVerifyMode::NONE);
        config.set_verify_hostname(false);
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        // An address is checked against the certificate's IP entries, not its DNS names.
        config.set_verify_hostname(false);
        config
            .param_mut()
            .set_ip(ip)
            .map_err(|e| format!("Failed to create SSL client: {e}"))?;
    }
    let sni = host.parse::<IpAddr>().is_err();
    config.set_use_server_name_indication(sni);
    let stream = config.connect(host, tcp).map_err(|e| match e {
        openssl::ssl::HandshakeError::Failure(mid) => {
            let verify = mid.ssl().verify_result();
            if verify != openssl::x509::X509VerifyResult::OK {
                format!(
                    "SSL certificate not received or invalid: {}",
                    verify.error_string()
                )
            } else {
                format!("SSL handshake failed: {}", mid.error())
            }
        }
        openssl::ssl::HandshakeError::WouldBlock(_) => "SSL handshake timed out".to_string(),
        other => format!("SSL handshake failed: {other}"),
    })?;
    // The caller sets its own timeouts from here on.
    let tcp = stream.get_ref();
    let reset = tcp
        .set_read_timeout(None)
        .and_then(|()| tcp.set_write_timeout(None));
    reset.map_err(|e| crate::errtext::os_error_text(&e))?;
    Ok(stream)
}
