//! `coteconf` (and `cote -n/-a`): Dovecot's `doveconf` command line and output.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::check::{check_all, merged, Checker};
use super::dump::{filter_footer, filter_header, sort_string, Human};
use super::export::{export, Scope};
use super::filter::{parse_net, Filter, Query};
use super::parser::{defaults_only, parse, FileValues, ParseOptions, Parsed};

/// Exit status of a fatal error (Dovecot's `FATAL_DEFAULT`).
pub const EXIT_FATAL: i32 = 89;

/// The configuration read when none is named: cote's own, else Dovecot's.
pub fn default_config_path() -> PathBuf {
    let own = Path::new("/etc/cote/cote.conf");
    if own.exists() {
        own.to_path_buf()
    } else {
        PathBuf::from("/etc/dovecot/dovecot.conf")
    }
}

/// What the command line asked for.
struct Options {
    config: Option<PathBuf>,
    scope: Scope,
    defaults_only: bool,
    query: Query,
    hide_key: bool,
    hide_secrets: bool,
    simple: bool,
    expand: bool,
    names: Vec<String>,
}

/// A usage or filter error: printed as fatal.
struct Fatal(String);

fn parse_args(args: &[OsString]) -> Result<Options, Fatal> {
    let mut opts = Options {
        config: None,
        scope: Scope::AllWithoutHidden,
        defaults_only: false,
        query: Query::default(),
        hide_key: false,
        hide_secrets: true,
        simple: false,
        expand: false,
        names: Vec::new(),
    };
    let mut i = 0;
    // GNU getopt order: options anywhere, other words are setting names, `--` ends options.
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        i += 1;
        if arg == "--" {
            opts.names
                .extend(args[i..].iter().map(|a| a.to_string_lossy().into_owned()));
            break;
        }
        let Some(flags) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
            opts.names.push(arg);
            continue;
        };
        for (pos, flag) in flags.char_indices() {
            let mut value = || -> Result<String, Fatal> {
                let rest = &flags[pos + flag.len_utf8()..];
                if !rest.is_empty() {
                    return Ok(rest.to_string());
                }
                let next = args
                    .get(i)
                    .ok_or_else(|| Fatal(format!("option requires an argument -- '{flag}'")))?;
                i += 1;
                Ok(next.to_string_lossy().into_owned())
            };
            match flag {
                'a' | 'p' => {}
                'c' => {
                    opts.config = Some(PathBuf::from(value()?));
                    break;
                }
                'd' => opts.defaults_only = true,
                'i' => {
                    opts.config = Some(
                        crate::master::instances::config_for_option(&value()?).map_err(Fatal)?,
                    );
                    break;
                }
                'f' => {
                    filter_arg(&mut opts.query, &value()?)?;
                    break;
                }
                'h' => opts.hide_key = true,
                'n' => opts.scope = Scope::Changed,
                'N' => opts.scope = Scope::Set,
                'P' => opts.hide_secrets = false,
                's' => opts.scope = Scope::AllWithHidden,
                'S' => opts.simple = true,
                'x' => opts.expand = true,
                other => return Err(Fatal(format!("invalid option -- '{other}'"))),
            }
        }
    }
    if !opts.names.is_empty() && opts.scope == Scope::AllWithoutHidden {
        opts.scope = Scope::AllWithHidden;
    }
    Ok(opts)
}

/// `-f protocol=imap`, `local=IP[/bits]`, `remote=...`, `lname=name`.
fn filter_arg(query: &mut Query, arg: &str) -> Result<(), Fatal> {
    let (key, value) = arg.split_once('=').unwrap_or((arg, ""));
    match key {
        "service" | "protocol" => query.service = Some(value.to_string()),
        "lname" => query.local_name = Some(value.to_string()),
        "local" => {
            query.local = Some(parse_net(value).map_err(|e| Fatal(format!("local filter: {e}")))?)
        }
        "remote" => {
            query.remote = Some(parse_net(value).map_err(|e| Fatal(format!("remote filter: {e}")))?)
        }
        _ => return Err(Fatal(format!("Unknown filter argument: {arg}"))),
    }
    Ok(())
}

/// Runs doveconf's command line. `program` names the messages' prefix (`coteconf`);
/// returns the exit status.
pub fn run(program: &str, args: &[OsString]) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run_with(program, args, &mut stdout.lock(), &mut stderr.lock())
}

/// [`run`] writing to the given streams.
pub fn run_with(program: &str, args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let fatal = |err: &mut dyn Write, message: &str| {
        let _ = writeln!(err, "{program}: Fatal: {message}");
        EXIT_FATAL
    };
    let opts = match parse_args(args) {
        Ok(opts) => opts,
        Err(Fatal(message)) => return fatal(err, &message),
    };
    let path = opts.config.clone().unwrap_or_else(default_config_path);
    let header = opts.names.is_empty() && !opts.simple;
    if header {
        let _ = writeln!(
            out,
            "# {} (cote): {}",
            env!("CARGO_PKG_VERSION"),
            path.display()
        );
        let _ = out.flush();
    }
    let parse_opts = ParseOptions {
        expand_vars: opts.expand,
        files: if opts.expand {
            FileValues::Read
        } else {
            FileValues::Literal
        },
    };
    let mut warnings = Vec::new();
    let parsed = if opts.defaults_only {
        Ok(defaults_only(&path))
    } else {
        parse(&path, parse_opts, &mut warnings)
    };
    for warning in &warnings {
        let _ = writeln!(err, "{program}: Warning: {warning}");
    }
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return fatal(err, &error.to_string()),
    };
    let mut checker = Checker::default();
    let delayed = check_all(&parsed, &mut checker).err();
    for warning in checker.warnings.drain(..) {
        let _ = writeln!(err, "{program}: Warning: {warning}");
    }
    // Filters neither of which contains the other may not both set a value: then the
    // global part of the dump fails (with an error, but not the exit status).
    let view = merged(&parsed, &opts.query, true);
    let error_line = |err: &mut dyn Write, message: &str| {
        let _ = writeln!(err, "{program}: Error: {message}");
    };

    let mut failed = false;
    if opts.simple {
        match &view {
            Ok(view) => {
                for entry in export(view, opts.scope) {
                    let wanted = opts.names.is_empty()
                        || opts.names.iter().any(|name| {
                            entry
                                .key
                                .strip_prefix(name.as_str())
                                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                        });
                    if wanted {
                        let _ = writeln!(out, "{}={}", entry.key, entry.value);
                    }
                }
                if let Err(message) = checker.check(view) {
                    error_line(err, &message);
                    failed = true;
                }
            }
            Err(message) => {
                error_line(err, message);
                failed = true;
            }
        }
    } else if !opts.names.is_empty() {
        for name in &opts.names {
            match &view {
                Ok(view) => print_one(program, view, &opts, name, &mut checker, out, err),
                Err(message) => {
                    error_line(err, message);
                    failed = true;
                }
            }
        }
        let _ = out.flush();
        // Like doveconf, settings lookups ignore whole-config check failures.
        return if failed {
            fatal(err, "Errors in configuration")
        } else {
            0
        };
    } else {
        let _ = writeln!(out, "# OS: {}", os_description());
        let _ = writeln!(out, "# Hostname: {}", hostname());
        if opts.scope == Scope::AllWithoutHidden {
            let _ = writeln!(
                out,
                "# NOTE: Send {program} -n output instead when asking for help."
            );
        }
        match &view {
            Ok(view) => print_global(program, view, &opts, None, &mut checker, out, err),
            Err(message) => error_line(err, message),
        }
        print_filters(&parsed, &opts, out);
    }
    let _ = out.flush();
    if let Some(error) = delayed {
        return fatal(err, &error.to_string());
    }
    if failed {
        return fatal(err, "Errors in configuration");
    }
    0
}

/// The settings seen by the query, as blocks; then the check errors of that view.
fn print_global(
    program: &str,
    view: &super::tree::Node,
    opts: &Options,
    name_filter: Option<&str>,
    checker: &mut Checker,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let entries = export(view, opts.scope);
    let human = Human {
        header: String::new(),
        indent: 0,
        name_filter,
        hide_secrets: opts.hide_secrets,
    };
    let mut text = String::new();
    human.render(&entries, &mut text);
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    let errors = checker.check_each(view);
    for warning in checker.warnings.drain(..) {
        let _ = writeln!(err, "{program}: Warning: {warning}");
    }
    for message in errors {
        let _ = writeln!(err, "{program}: Error: {message}");
    }
}

/// Each filter block the query covers, with only what that block sets.
fn print_filters(parsed: &Parsed, opts: &Options, out: &mut dyn Write) {
    let mut filters: Vec<&super::parser::FilterTree> = parsed
        .filters
        .iter()
        .filter(|f| f.filter.in_subset(&opts.query))
        .collect();
    filters.sort_by(|a, b| b.filter.specificity_cmp(&a.filter));
    for filter in filters
        .into_iter()
        .filter(|f| f.filter != Filter::default())
    {
        let (header, depth) = filter_header(&filter.filter);
        let human = Human {
            header,
            indent: depth,
            name_filter: None,
            hide_secrets: opts.hide_secrets,
        };
        let mut text = String::new();
        if human.render(&export(&filter.tree.root, Scope::Set), &mut text) {
            filter_footer(depth, &mut text);
        }
        let _ = out.write_all(text.as_bytes());
    }
}

/// `-h name` / `name`: one setting's value, or a whole section.
fn print_one(
    program: &str,
    view: &super::tree::Node,
    opts: &Options,
    name: &str,
    checker: &mut Checker,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let entries = export(view, opts.scope);
    let mut section = false;
    for entry in &entries {
        // Compared as Dovecot compares its entry strings (with their marker bytes).
        let text = sort_string(entry);
        if !text.starts_with(name.as_bytes()) {
            continue;
        }
        match text.get(name.len()) {
            Some(b'=') => {
                if opts.hide_key {
                    let _ = writeln!(out, "{}", entry.value);
                } else {
                    let _ = writeln!(out, "{name} = {}", entry.value);
                }
                return;
            }
            Some(b'/') => section = true,
            _ => {}
        }
    }
    if section {
        print_global(program, view, opts, Some(name), checker, out, err);
    }
}

fn os_description() -> String {
    let uname = nix::sys::utsname::uname().ok();
    let mut text = match &uname {
        Some(u) => format!(
            "{} {} {}",
            u.sysname().to_string_lossy(),
            u.release().to_string_lossy(),
            u.machine().to_string_lossy()
        ),
        None => "unknown".to_string(),
    };
    if let Ok(release) = std::fs::read_to_string("/etc/os-release") {
        if let Some(name) = release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")) {
            text.push(' ');
            text.push_str(name.trim_matches('"'));
        }
    }
    text
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default()
}
