//! The director (Dovecot 2.3's `service director`, reference §6.2): keeps each user on one
//! backend, so that only one server touches a user's mailbox at a time. Users are placed by
//! a hash of their name ([`hash`]) on a consistent-hashing ring of the backends
//! ([`hosts`]), and stay where they were placed while they have sessions and for
//! `director_user_expire` after ([`users`], [`state`]). Login processes and LMTP reach it
//! through its sockets, which relay the auth service and fill in the backend
//! ([`service`]); proxied sessions register with it ([`session`]); administrators use its
//! admin socket ([`admin`], [`adm`] for `coteadm director`).
//!
//! Several directors (`director_servers`) share their state over [`ring`] connections.

pub mod adm;
pub mod admin;
pub mod hash;
pub mod hosts;
pub mod ring;
pub mod service;
pub mod session;
pub mod settings;
pub mod state;
pub mod users;

pub use service::{init, serve_director};
pub use settings::DirectorSettings;
