//! net layer (see DESIGN.md §2): reading and writing line-based protocols over blocking
//! sockets with hard limits, and what a login process knows about a connection. Nothing
//! protocol-specific lives here; IMAP, POP3 and LMTP build on it.

pub mod accepted;
pub mod backend;
pub mod client_stream;
pub mod conn;
pub mod counted;
pub mod deadline;
pub mod deflate;
pub mod line_reader;
pub mod quickack;
pub mod response_writer;
pub mod tls;
pub mod tls_client;
pub mod tls_proxy;

pub use accepted::{Address, Connection, ListenerInfo, Stream};
pub use client_stream::ClientStream;
pub use conn::{ConnInfo, IpNetwork, SslMode};
pub use deadline::{DeadlineStream, SocketTimeouts};
pub use line_reader::{LineError, LineReader};
pub use response_writer::ResponseWriter;
