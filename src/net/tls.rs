//! TLS for login services (OpenSSL): the `ssl_*` settings turned into server contexts, SNI
//! (`local_name { }` sections with their own certificate), the handshake on an accepted
//! socket, and what the session needs to know afterwards (a verified client certificate, the
//! user name in it for EXTERNAL).
//!
//! Keys and certificates are `<file` values that only root can read: a login process
//! prepares every context it may need ([`TlsServer::prepare`]) while it is still root, before
//! it chroots and drops privileges. A connection whose settings ask for a context that was
//! not prepared (a filter this process could not foresee) builds it on the spot, which fails
//! with the file's read error if it is not readable any more; the client then gets Dovecot's
//! `TLS initialization failed`.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use openssl::asn1::Asn1Object;
use openssl::dh::Dh;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{
    ErrorCode, HandshakeError, NameType, Ssl, SslAlert, SslContext, SslContextBuilder, SslMethod,
    SslOptions, SslRef, SslStream, SslVerifyMode, SslVersion,
};
use openssl::stack::Stack;
use openssl::x509::{X509Name, X509VerifyResult, X509};

use crate::config::{Config, ConfigError, FilterQuery, Settings};

/// The settings that make a server context, as `key = value` texts (a `<file` value as its
/// `<path`): two connections whose settings have the same texts share a context.
const CONTEXT_KEYS: &[&str] = &[
    "ssl_cert",
    "ssl_key",
    "ssl_key_password",
    "ssl_ca",
    "ssl_verify_client_cert",
    "ssl_min_protocol",
    "ssl_cipher_list",
    "ssl_cipher_suites",
    "ssl_curve_list",
    "ssl_prefer_server_ciphers",
    "ssl_dh",
    "ssl_options",
    "ssl_cert_username_field",
];

/// Why TLS could not be set up or used. `Display` is the text for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The settings do not make a working context (Dovecot: `Failed to initialize SSL server
    /// context: ...`).
    Context(String),
    /// The handshake failed: the client's fault or a network error.
    Handshake(String),
    /// The client did not finish the handshake in time.
    Timeout,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Context(e) => write!(f, "Failed to initialize SSL server context: {e}"),
            TlsError::Handshake(e) => write!(f, "SSL_accept() failed: {e}"),
            TlsError::Timeout => f.write_str("SSL handshake timed out"),
        }
    }
}

impl std::error::Error for TlsError {}

/// What a server context is made of: file contents already read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub cert: String,
    pub key: String,
    pub key_password: String,
    pub ca: String,
    pub verify_client_cert: bool,
    pub min_protocol: String,
    pub cipher_list: String,
    pub cipher_suites: String,
    pub curve_list: String,
    pub prefer_server_ciphers: bool,
    pub dh: String,
    pub options: String,
    pub cert_username_field: String,
}

impl TlsSettings {
    /// Reads the settings, `<file` values included (so: as root, for keys).
    pub fn read(settings: &Settings) -> Result<TlsSettings, ConfigError> {
        Ok(TlsSettings {
            cert: settings.read("ssl_cert")?,
            key: settings.read("ssl_key")?,
            key_password: settings.read("ssl_key_password")?,
            ca: settings.read("ssl_ca")?,
            verify_client_cert: settings.bool("ssl_verify_client_cert"),
            min_protocol: settings.str("ssl_min_protocol").to_string(),
            cipher_list: settings.read("ssl_cipher_list")?,
            cipher_suites: settings.read("ssl_cipher_suites")?,
            curve_list: settings.read("ssl_curve_list")?,
            prefer_server_ciphers: settings.bool("ssl_prefer_server_ciphers"),
            dh: settings.read("ssl_dh")?,
            options: settings.str("ssl_options").to_string(),
            cert_username_field: settings.str("ssl_cert_username_field").to_string(),
        })
    }
}

/// The texts that decide which context a connection gets.
fn context_key(settings: &Settings) -> Vec<String> {
    CONTEXT_KEYS
        .iter()
        .map(|k| settings.str(k).to_string())
        .collect()
}

/// Dovecot's `ssl_min_protocol` names. `None` inside: no minimum.
fn min_protocol(name: &str) -> Result<Option<SslVersion>, String> {
    Ok(match name {
        "ANY" => None,
        "SSLv3" => Some(SslVersion::SSL3),
        "TLSv1" => Some(SslVersion::TLS1),
        "TLSv1.1" => Some(SslVersion::TLS1_1),
        "TLSv1.2" => Some(SslVersion::TLS1_2),
        "TLSv1.3" | "LATEST" => Some(SslVersion::TLS1_3),
        other => return Err(format!("Unknown ssl_min_protocol setting '{other}'")),
    })
}

fn load_key(pem: &str, password: &str) -> Result<PKey<Private>, String> {
    if pem.is_empty() {
        return Err("Can't load SSL private key (ssl_key setting): The key is empty".into());
    }
    let mut asked = false;
    let result = PKey::private_key_from_pem_callback(pem.as_bytes(), |buf| {
        asked = true;
        let bytes = password.as_bytes();
        if bytes.len() > buf.len() {
            return Ok(0);
        }
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    });
    match result {
        Ok(key) => Ok(key),
        Err(_) if asked && password.is_empty() => {
            Err("SSL private key file is password protected, but password isn't given".into())
        }
        Err(e) => Err(format!(
            "Couldn't parse private SSL key (ssl_key setting){}: {e}",
            if asked {
                " (maybe ssl_key_password is wrong?)"
            } else {
                ""
            }
        )),
    }
}

/// One server context and how to read the user name from a client certificate.
pub struct TlsContext {
    context: SslContext,
    username_field: Nid,
}

impl TlsContext {
    pub fn build(s: &TlsSettings) -> Result<TlsContext, TlsError> {
        Self::builder(s)
            .map(|(builder, username_field)| TlsContext {
                context: builder.build(),
                username_field,
            })
            .map_err(TlsError::Context)
    }

    fn builder(s: &TlsSettings) -> Result<(SslContextBuilder, Nid), String> {
        let mut b = SslContext::builder(SslMethod::tls_server())
            .map_err(|e| format!("SSL_CTX_new() failed: {e}"))?;
        let mut options = SslOptions::NO_COMPRESSION | SslOptions::NO_SSLV2;
        for option in s.options.split_whitespace() {
            match option {
                "compression" => options.remove(SslOptions::NO_COMPRESSION),
                "no_compression" => {}
                "no_ticket" => options.insert(SslOptions::NO_TICKET),
                other => return Err(format!("Unknown ssl_options value '{other}'")),
            }
        }
        if s.prefer_server_ciphers {
            options.insert(SslOptions::CIPHER_SERVER_PREFERENCE);
        }
        b.set_options(options);
        // The login process proxies with non-blocking writes that may be retried from a
        // different buffer position.
        b.set_mode(
            openssl::ssl::SslMode::ENABLE_PARTIAL_WRITE
                | openssl::ssl::SslMode::ACCEPT_MOVING_WRITE_BUFFER,
        );
        b.set_min_proto_version(min_protocol(&s.min_protocol)?)
            .map_err(|e| format!("Can't set ssl_min_protocol: {e}"))?;
        if !s.cipher_list.is_empty() {
            b.set_cipher_list(&s.cipher_list).map_err(|e| {
                format!(
                    "Can't set cipher list to '{}' (ssl_cipher_list setting): {e}",
                    s.cipher_list
                )
            })?;
        }
        if !s.cipher_suites.is_empty() {
            b.set_ciphersuites(&s.cipher_suites)
                .map_err(|e| format!("Can't set ciphersuites to '{}': {e}", s.cipher_suites))?;
        }
        if !s.curve_list.is_empty() {
            b.set_groups_list(&s.curve_list).map_err(|_| {
                format!(
                    "Can't set curve list to '{}' (ssl_curve_list setting)",
                    s.curve_list
                )
            })?;
        }
        if !s.dh.is_empty() {
            let dh = Dh::params_from_pem(s.dh.as_bytes()).map_err(|e| {
                format!(
                    "Can't load DH parameters (ssl_dh setting): Couldn't parse DH parameters: {e}"
                )
            })?;
            b.set_tmp_dh(&dh)
                .map_err(|e| format!("Can't load DH parameters (ssl_dh setting): {e}"))?;
        }
        let certs = X509::stack_from_pem(s.cert.as_bytes()).unwrap_or_default();
        let mut certs = certs.into_iter();
        let Some(leaf) = certs.next() else {
            return Err(
                "Can't load SSL certificate (ssl_cert setting): The certificate is empty".into(),
            );
        };
        b.set_certificate(&leaf)
            .map_err(|e| format!("Can't load SSL certificate (ssl_cert setting): {e}"))?;
        for chain in certs {
            b.add_extra_chain_cert(chain)
                .map_err(|e| format!("Can't load SSL certificate (ssl_cert setting): {e}"))?;
        }
        let key = load_key(&s.key, &s.key_password)?;
        b.set_private_key(&key)
            .map_err(|e| format!("Can't load SSL private key (ssl_key setting): {e}"))?;
        b.check_private_key()
            .map_err(|e| format!("Can't load SSL private key (ssl_key setting): {e}"))?;
        if s.verify_client_cert {
            if s.ca.is_empty() {
                return Err("Can't verify remote client certs without CA (ssl_ca setting)".into());
            }
            let cas = X509::stack_from_pem(s.ca.as_bytes())
                .map_err(|e| format!("Couldn't parse ssl_ca: {e}"))?;
            let mut names = Stack::new().map_err(|e| e.to_string())?;
            for ca in cas {
                let name: X509Name = ca.subject_name().to_owned().map_err(|e| e.to_string())?;
                names.push(name).map_err(|e| e.to_string())?;
                b.cert_store_mut()
                    .add_cert(ca)
                    .map_err(|e| format!("Couldn't parse ssl_ca: {e}"))?;
            }
            b.set_client_ca_list(names);
            // Ask for a certificate but take the connection either way: whether a valid one
            // is required is the auth service's decision (auth_ssl_require_client_cert).
            b.set_verify_callback(SslVerifyMode::PEER, |_, _| true);
            b.set_session_id_context(b"cote")
                .map_err(|e| e.to_string())?;
        }
        // SNI: every context can switch a connection to the context its name asks for.
        b.set_servername_callback(sni);
        let field = if s.cert_username_field.is_empty() {
            "commonName"
        } else {
            &s.cert_username_field
        };
        let username_field = Asn1Object::from_str(field)
            .map(|o| o.nid())
            .ok()
            .filter(|nid| *nid != Nid::UNDEF)
            .ok_or_else(|| format!("Invalid cert_username_field: {field}"))?;
        Ok((b, username_field))
    }
}

/// Per connection: the filter query its settings come from (for SNI) and its verification
/// settings. Set on each `Ssl` before the handshake.
#[derive(Clone)]
struct ConnectionQuery(FilterQuery);

fn query_index() -> Result<openssl::ex_data::Index<Ssl, ConnectionQuery>, TlsError> {
    static INDEX: OnceLock<Result<openssl::ex_data::Index<Ssl, ConnectionQuery>, String>> =
        OnceLock::new();
    INDEX
        .get_or_init(|| Ssl::new_ex_index().map_err(|e| e.to_string()))
        .clone()
        .map_err(TlsError::Context)
}

type ContextResult = Result<Arc<TlsContext>, TlsError>;

/// The contexts of one login service process, by the texts of their settings.
pub struct TlsServer {
    config: Config,
    protocol: String,
    contexts: Mutex<HashMap<Vec<String>, ContextResult>>,
}

/// The process's TLS server, once prepared.
static SERVER: OnceLock<TlsServer> = OnceLock::new();

impl TlsServer {
    /// Builds every context connections of `protocol` can ask for (the protocol's settings
    /// and each `local_name` section's), reading keys now. Call as root, before dropping
    /// privileges; a context that fails is remembered with its error (Dovecot reports it when
    /// a client starts TLS, not at startup).
    pub fn prepare(config: &Config, protocol: &str) -> &'static TlsServer {
        let server = TlsServer {
            config: config.clone(),
            protocol: protocol.to_string(),
            contexts: Mutex::new(HashMap::new()),
        };
        let mut names: Vec<Option<String>> = vec![None];
        for pattern in config.local_names() {
            for name in pattern.split_whitespace() {
                // A concrete name the pattern matches, to see its settings.
                names.push(Some(name.replace('*', "x")));
            }
        }
        for name in names {
            let query = FilterQuery {
                protocol: Some(protocol.to_string()),
                local_name: name,
                ..FilterQuery::default()
            };
            let _ = server.context(&query);
        }
        // A second prepare() in one process keeps the first server.
        SERVER.get_or_init(|| server)
    }

    /// The prepared server, if [`prepare`](Self::prepare) ran in this process.
    pub fn get() -> Option<&'static TlsServer> {
        SERVER.get()
    }

    /// The context for a connection whose settings come from `query`.
    fn context(&self, query: &FilterQuery) -> ContextResult {
        let settings = self.config.settings(query);
        let key = context_key(&settings);
        let mut contexts = self.contexts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = contexts.get(&key) {
            return found.clone();
        }
        let built = TlsSettings::read(&settings)
            .map_err(|e| TlsError::Context(e.to_string()))
            .and_then(|s| TlsContext::build(&s))
            .map(Arc::new);
        contexts.insert(key, built.clone());
        built
    }

    /// Runs the server side of the handshake on `stream` (a connection whose settings come
    /// from `query`), giving up at `deadline`.
    pub fn accept(
        &self,
        stream: TcpStream,
        query: &FilterQuery,
        deadline: Option<Instant>,
    ) -> Result<TlsStream, TlsError> {
        let query = FilterQuery {
            protocol: Some(self.protocol.clone()),
            ..query.clone()
        };
        let ctx = self.context(&query)?;
        let mut ssl = Ssl::new(&ctx.context).map_err(|e| TlsError::Context(e.to_string()))?;
        ssl.set_ex_data(query_index()?, ConnectionQuery(query));
        let left = |deadline: Option<Instant>| match deadline {
            None => Ok(None),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Err(TlsError::Timeout)
                } else {
                    Ok(Some(left))
                }
            }
        };
        let timeout = left(deadline)?;
        let _ = stream.set_read_timeout(timeout);
        let _ = stream.set_write_timeout(timeout);
        let result = ssl.accept(stream);
        match result {
            Ok(stream) => {
                let username_field = current_username_field(&stream, &ctx);
                Ok(TlsStream {
                    inner: stream,
                    username_field,
                })
            }
            Err(HandshakeError::WouldBlock(_)) => Err(TlsError::Timeout),
            Err(HandshakeError::SetupFailure(e)) => Err(TlsError::Context(e.to_string())),
            Err(HandshakeError::Failure(mid)) => {
                let error = mid.error();
                if error.io_error().is_some_and(|e| {
                    matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    )
                }) {
                    return Err(TlsError::Timeout);
                }
                Err(TlsError::Handshake(handshake_text(error)))
            }
        }
    }
}

fn handshake_text(error: &openssl::ssl::Error) -> String {
    if error.code() == ErrorCode::SYSCALL && error.io_error().is_none() {
        return "Connection closed".to_string();
    }
    match (error.io_error(), error.ssl_error()) {
        (Some(io), _) => crate::errtext::os_error_text(io),
        (None, Some(stack)) => stack
            .errors()
            .first()
            .and_then(|e| e.reason().map(str::to_string))
            .unwrap_or_else(|| stack.to_string()),
        (None, None) => error.to_string(),
    }
}

/// The context a connection ended up with (SNI may have switched it) decides the
/// certificate's user name field.
fn current_username_field(stream: &SslStream<TcpStream>, initial: &TlsContext) -> Nid {
    let ssl = stream.ssl();
    let Some(query) = query_index().ok().and_then(|i| ssl.ex_data(i)) else {
        return initial.username_field;
    };
    match (ssl.servername(NameType::HOST_NAME), TlsServer::get()) {
        (Some(name), Some(server)) => {
            let query = FilterQuery {
                local_name: Some(name.to_string()),
                ..query.0.clone()
            };
            server
                .context(&query)
                .map_or(initial.username_field, |c| c.username_field)
        }
        _ => initial.username_field,
    }
}

/// The SNI callback: switches the connection to the context of its `local_name`.
fn sni(ssl: &mut SslRef, _alert: &mut SslAlert) -> Result<(), openssl::ssl::SniError> {
    let Some(name) = ssl.servername(NameType::HOST_NAME).map(str::to_string) else {
        return Ok(());
    };
    let (Some(server), Ok(index)) = (TlsServer::get(), query_index()) else {
        return Ok(());
    };
    let Some(query) = ssl.ex_data(index).cloned() else {
        return Ok(());
    };
    let query = FilterQuery {
        local_name: Some(name),
        ..query.0
    };
    match server.context(&query) {
        Ok(ctx) => {
            if ssl.set_ssl_context(&ctx.context).is_err() {
                return Err(openssl::ssl::SniError::ALERT_FATAL);
            }
            Ok(())
        }
        Err(e) => {
            log::error!("{e}");
            Err(openssl::ssl::SniError::ALERT_FATAL)
        }
    }
}

/// A TLS connection after the handshake.
pub struct TlsStream {
    inner: SslStream<TcpStream>,
    username_field: Nid,
}

impl TlsStream {
    pub fn get_ref(&self) -> &TcpStream {
        self.inner.get_ref()
    }

    pub fn ssl(&self) -> &SslRef {
        self.inner.ssl()
    }

    pub fn into_inner(self) -> SslStream<TcpStream> {
        self.inner
    }

    /// The client sent a certificate that verified against `ssl_ca`.
    pub fn has_valid_client_cert(&self) -> bool {
        let ssl = self.inner.ssl();
        ssl.peer_certificate().is_some() && ssl.verify_result() == X509VerifyResult::OK
    }

    /// The `ssl_cert_username_field` of a verified client certificate.
    pub fn cert_username(&self) -> Option<String> {
        if !self.has_valid_client_cert() {
            return None;
        }
        let cert = self.inner.ssl().peer_certificate()?;
        let entry = cert
            .subject_name()
            .entries_by_nid(self.username_field)
            .next()?;
        // A name with a NUL in it could pass for another user: no name at all then.
        let text = entry.data().to_string().ok()?;
        (!text.contains('\0')).then_some(text)
    }

    /// `TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)`, as Dovecot logs it.
    pub fn description(&self) -> String {
        let ssl = self.inner.ssl();
        match ssl.current_cipher() {
            Some(c) => format!(
                "{} with cipher {} ({}/{} bits)",
                ssl.version_str(),
                c.name(),
                c.bits().secret,
                c.bits().algorithm
            ),
            None => ssl.version_str().to_string(),
        }
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_tls(&mut self.inner, buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `SslStream::read`, with a peer that closes without close_notify reported as EOF (as every
/// mail client does when it is done).
pub fn read_tls(stream: &mut SslStream<TcpStream>, buf: &mut [u8]) -> io::Result<usize> {
    match stream.ssl_read(buf) {
        Ok(n) => Ok(n),
        Err(e) if e.code() == ErrorCode::ZERO_RETURN => Ok(0),
        Err(e) if e.code() == ErrorCode::SYSCALL && e.io_error().is_none() => Ok(0),
        Err(e) => match e.into_io_error() {
            Ok(io) => Err(io),
            Err(e) => Err(io::Error::other(e.to_string())),
        },
    }
}
