//! lmtp layer (see DESIGN.md §2): LMTP (RFC 2033) as Dovecot's `service lmtp` speaks it —
//! [`session`] answers the commands, [`address`] parses SMTP paths, [`data`] receives a
//! message's bytes (DATA, BDAT), [`message`] writes the headers added to a delivered message. Recipients are looked up and messages saved by a
//! [`session::Deliverer`] (the binary's, which delivers as each user through the storage
//! API): this layer never touches files.

pub mod address;
pub mod data;
pub mod message;
pub mod proxy;
pub mod session;

pub use session::{
    serve_lmtp, Delivered, Deliverer, LmtpSettings, Lookup, NoTls, Peer, Recipient, StartTls,
};
