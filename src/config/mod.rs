//! dovecot.conf: lexer, parser, includes, filters, typed settings, dumps.

pub mod schema;
