//! `cote`: the master process and Dovecot's `dovecot` command line.

use std::process::ExitCode;

use cote::config::Config;
use cote::master::{cli, Registry};

/// The services this binary runs, by service name.
fn registry() -> Registry<Config> {
    Registry::new()
}

fn main() -> ExitCode {
    cli::main(registry())
}
