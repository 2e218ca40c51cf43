//! `coteconf`: Dovecot's `doveconf` for cote (`-n`, `-a`, `-h key`, ...).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    std::process::exit(cote::config::cli::run("coteconf", &args));
}
