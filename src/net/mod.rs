//! net layer (see DESIGN.md §2): reading and writing line-based protocols over blocking
//! sockets with hard limits, and what a login process knows about a connection. Nothing
//! protocol-specific lives here; IMAP, POP3 and LMTP build on it.

pub mod conn;
pub mod deadline;
pub mod line_reader;
pub mod response_writer;

pub use conn::{ConnInfo, IpNetwork, SslMode};
pub use deadline::{DeadlineStream, SocketTimeouts};
pub use line_reader::{LineError, LineReader};
pub use response_writer::ResponseWriter;

/// The text of an OS error as `strerror` gives it ("Connection reset by peer"), without Rust's
/// " (os error N)" suffix: Dovecot-compatible log lines quote it.
pub fn os_error_text(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => err.to_string(),
    }
}
