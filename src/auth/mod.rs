//! Authentication: passdb/userdb drivers, SASL mechanisms, and the auth service speaking
//! Dovecot's auth protocols to login processes, mail processes, Postfix and coteadm.
//!
//! - [`engine::Auth`] / [`engine::AuthSet`]: the passdbs, userdbs and mechanisms of a service.
//! - [`lookup`]: the passdb and userdb chains with Dovecot's result rules.
//! - [`server`]: the `service auth` handler ([`server::serve_auth`]) and the auth worker
//!   handler ([`server::serve_auth_worker`]).
//! - [`client`]: what login workers, mail workers and coteadm use to talk to it.

pub mod admin;
pub mod base64;
pub mod cache;
pub mod client;
pub mod db;
pub mod engine;
pub mod fields;
pub mod lookup;
pub mod mech;
pub mod proxy;
pub mod random;
pub mod request;
pub mod request_vars;
pub mod scheme;
pub mod server;
pub mod settings;
pub mod wire;
pub mod worker;
