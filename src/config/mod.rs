//! dovecot.conf: lexer, parser, includes, filters, typed settings, dumps.
//!
//! [`Config::load`] reads a configuration as Dovecot's config service does; [`Settings`] and
//! [`Section`] give typed values, globally or as one connection ([`FilterQuery`]) sees them.

mod check;
pub mod cli;
mod dump;
mod error;
mod expand;
mod export;
mod filter;
mod include;
mod lexer;
mod obsolete;
mod parser;
pub mod schema;
mod settings;
mod tree;
mod values;
pub mod var_expand;

pub use error::ConfigError;
pub use settings::{Config, FilterQuery, Section, Settings};
pub use values::parse_workarounds;
/// Dovecot's size syntax (`10M`), for settings read from free-form sections (`plugin`).
pub(crate) use values::{parse_size, parse_time};
