//! Starting TLS on a login connection (an implicit-TLS listener, STARTTLS, STLS).

use std::net::TcpStream;
use std::time::Instant;

use crate::config::FilterQuery;
use crate::net::tls::{TlsError, TlsServer};
use crate::net::{ClientStream, ConnInfo};

/// Why TLS did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// No usable certificate or context (why, for the log): Dovecot's `TLS initialization
    /// failed.`
    InitFailed(String),
    /// The login deadline passed during the handshake.
    Timeout,
    /// The handshake failed (`SSL_accept() failed: ...`).
    Handshake(String),
}

/// The server side of a TLS handshake on `stream`, for the connection `conn` of
/// `protocol`; gives up at `deadline`.
pub fn start_tls(
    stream: TcpStream,
    conn: &ConnInfo,
    tls: Option<&TlsServer>,
    deadline: Option<Instant>,
    protocol: &str,
) -> Result<ClientStream, TlsFailure> {
    let Some(tls) = tls else {
        return Err(TlsFailure::InitFailed(
            "TLS is not available in this process".into(),
        ));
    };
    let query = FilterQuery {
        protocol: Some(protocol.into()),
        local_ip: Some(conn.local.ip()),
        remote_ip: Some(conn.remote.ip()),
        local_name: None,
    };
    match tls.accept(stream, &query, deadline) {
        Ok(s) => Ok(ClientStream::tls(s)),
        Err(TlsError::Context(e)) => Err(TlsFailure::InitFailed(format!(
            "Failed to initialize SSL server context: {e}"
        ))),
        Err(TlsError::Timeout) => Err(TlsFailure::Timeout),
        Err(e @ TlsError::Handshake(_)) => Err(TlsFailure::Handshake(e.to_string())),
    }
}
