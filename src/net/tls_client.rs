//! TLS toward another server (a proxy's backend): the `ssl_client_*` settings made into a
//! client context, and the handshake with a deadline. `any-cert` skips verification;
//! otherwise the certificate must verify against `ssl_client_ca_file` / `ssl_client_ca_dir`
//! (or the system's store when neither is set) and name the host that was asked for.
//!
//! The files are read when the process starts, while it can still open them (before it
//! chroots); they are parsed into a context only when the first proxied connection needs
//! TLS. Parsing the system's CA store costs tens of milliseconds, and a login process serves
//! one client by default: doing it at every start made each login several times dearer
//! than Dovecot's, which also makes its client context only when a proxy starts TLS.

use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use openssl::pkey::PKey;
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::X509;

use crate::config::Settings;

/// The CA certificates and client certificate as read at start, or why they could not be.
static MATERIAL: OnceLock<Result<Material, String>> = OnceLock::new();

/// The process's client context, made from [`MATERIAL`] on first use.
static CLIENT: OnceLock<Result<SslConnector, String>> = OnceLock::new();

/// The files a client context is made of, as read while the process could open them.
struct Material {
    /// `ssl_client_ca_file`: its name (for errors) and contents.
    ca_file: Option<(String, Vec<u8>)>,
    /// `ssl_client_ca_dir`'s files, or the system's store: unparsable ones are skipped, as
    /// OpenSSL's directory lookup skips them.
    ca_store: Vec<Vec<u8>>,
    /// `ssl_client_cert` and `ssl_client_key` (PEM text), when a certificate is set.
    cert_key: Option<(String, String)>,
}

fn init_error(what: &str, e: &dyn std::fmt::Display) -> String {
    format!("Failed to initialize SSL client context: {what}: {e}")
}

/// Reads the client context's files from `settings` (call while still root). A second call
/// keeps what the first read.
pub fn prepare(settings: &Settings) {
    MATERIAL.get_or_init(|| read_material(settings));
}

fn read_material(settings: &Settings) -> Result<Material, String> {
    let ca_file = settings.str("ssl_client_ca_file");
    let ca_dir = settings.str("ssl_client_ca_dir");
    let mut material = Material {
        ca_file: None,
        ca_store: Vec::new(),
        cert_key: None,
    };
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file)
            .map_err(|e| init_error(&format!("ssl_client_ca_file {ca_file}"), &e))?;
        material.ca_file = Some((ca_file.to_string(), pem));
    }
    if !ca_dir.is_empty() {
        material.ca_store = read_dir_files(Path::new(ca_dir))
            .map_err(|e| init_error(&format!("ssl_client_ca_dir {ca_dir}"), &e))?;
    }
    if ca_file.is_empty() && ca_dir.is_empty() {
        material.ca_store = read_default_store();
    }
    let cert = settings
        .read("ssl_client_cert")
        .map_err(|e| init_error("ssl_client_cert", &e))?;
    if !cert.is_empty() {
        let key = settings
            .read("ssl_client_key")
            .map_err(|e| init_error("ssl_client_key", &e))?;
        material.cert_key = Some((cert, key));
    }
    Ok(material)
}

/// Every regular file of `dir`, read whole.
fn read_dir_files(dir: &Path) -> std::io::Result<Vec<Vec<u8>>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        if let Ok(pem) = std::fs::read(entry.path()) {
            files.push(pem);
        }
    }
    Ok(files)
}

/// The system's CA store as OpenSSL's default verify paths name it: `SSL_CERT_FILE` or
/// `OPENSSLDIR/cert.pem`; the directory (`SSL_CERT_DIR` or `OPENSSLDIR/certs`) only when
/// that file is missing, since distributions put the same certificates in both. Nothing
/// found is no error here: verification then fails and says so, as it does for Dovecot.
fn read_default_store() -> Vec<Vec<u8>> {
    let openssl_dir = openssl_dir();
    let file = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| openssl_dir.join("cert.pem"));
    if let Ok(pem) = std::fs::read(&file) {
        return vec![pem];
    }
    let dir = std::env::var_os("SSL_CERT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| openssl_dir.join("certs"));
    read_dir_files(&dir).unwrap_or_default()
}

/// OpenSSL's configured directory (`OPENSSLDIR: "/usr/lib/ssl"` in its version text).
fn openssl_dir() -> PathBuf {
    let text = openssl::version::dir();
    let dir = text
        .split_once('"')
        .and_then(|(_, rest)| rest.rsplit_once('"'))
        .map_or("/usr/lib/ssl", |(dir, _)| dir);
    PathBuf::from(dir)
}

/// The client context, made on first use from what [`prepare`] read.
fn client() -> Result<&'static SslConnector, String> {
    let material = match MATERIAL.get() {
        Some(Ok(m)) => m,
        Some(Err(e)) => return Err(e.clone()),
        None => return Err("SSL client context was not initialized".to_string()),
    };
    CLIENT
        .get_or_init(|| build(material))
        .as_ref()
        .map_err(Clone::clone)
}

fn build(material: &Material) -> Result<SslConnector, String> {
    let mut builder =
        SslConnector::builder(SslMethod::tls_client()).map_err(|e| init_error("context", &e))?;
    if let Some((name, pem)) = &material.ca_file {
        let certs = X509::stack_from_pem(pem)
            .map_err(|e| init_error(&format!("ssl_client_ca_file {name}"), &e))?;
        for cert in certs {
            // A certificate that is there twice is no error.
            let _ = builder.cert_store_mut().add_cert(cert);
        }
    }
    for pem in &material.ca_store {
        for cert in X509::stack_from_pem(pem).unwrap_or_default() {
            let _ = builder.cert_store_mut().add_cert(cert);
        }
    }
    if let Some((cert, key)) = &material.cert_key {
        let cert =
            X509::from_pem(cert.as_bytes()).map_err(|e| init_error("ssl_client_cert", &e))?;
        let key = PKey::private_key_from_pem(key.as_bytes())
            .map_err(|e| init_error("ssl_client_key", &e))?;
        builder
            .set_certificate(&cert)
            .map_err(|e| init_error("ssl_client_cert", &e))?;
        builder
            .set_private_key(&key)
            .map_err(|e| init_error("ssl_client_key", &e))?;
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
    let connector = client()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_dir_is_read_from_the_version_text() {
        assert!(openssl_dir().is_absolute());
    }

    #[test]
    fn a_bad_ca_file_is_reported_by_name_when_the_context_is_made() {
        let material = Material {
            ca_file: Some((
                "/etc/cas.pem".into(),
                b"-----BEGIN CERTIFICATE-----\nxx\n".to_vec(),
            )),
            ca_store: vec![b"not a certificate".to_vec()],
            cert_key: None,
        };
        let err = build(&material).err().unwrap_or_default();
        assert!(err.contains("ssl_client_ca_file /etc/cas.pem"), "{err}");
    }

    #[test]
    fn unparsable_store_files_are_skipped() {
        let material = Material {
            ca_file: None,
            ca_store: vec![b"not a certificate".to_vec(), Vec::new()],
            cert_key: None,
        };
        assert!(build(&material).is_ok());
    }
}
