//! `coteadm auth test`, `coteadm auth lookup` and `coteadm user`, with doveadm's options,
//! output and exit codes. They talk to the running auth service: `auth test` over
//! `base_dir/auth-client` (PLAIN, service `doveadm`), the others over `auth_socket_path`
//! (default `base_dir/auth-userdb`).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::client::{AuthClient, AuthParams, MasterClient, PassReply, UserReply};
use super::fields::split_tabescaped;
use crate::config::Config;

pub const EX_NOUSER: u8 = 67;
pub const EX_TEMPFAIL: u8 = 75;
pub const EX_NOPERM: u8 = 77;
pub const EX_USAGE: u8 = 64;

/// A parsed auth verb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthVerb {
    Test {
        socket: Option<PathBuf>,
        info: Vec<(String, String)>,
        master_user: Option<String>,
        user: String,
        password: String,
    },
    Lookup {
        socket: Option<PathBuf>,
        info: Vec<(String, String)>,
        field: Option<String>,
        users: Vec<String>,
    },
    User {
        socket: Option<PathBuf>,
        info: Vec<(String, String)>,
        field: Option<String>,
        userdb_only: bool,
        masks: Vec<String>,
    },
}

impl AuthVerb {
    /// Parses `auth test ...`, `auth lookup ...`, `user ...`; None = not an auth verb.
    pub fn parse(words: &[String]) -> Option<Result<AuthVerb, String>> {
        let (verb, rest) = match words {
            [a, b, rest @ ..] if a == "auth" && (b == "test" || b == "lookup") => {
                (b.as_str(), rest)
            }
            [a, rest @ ..] if a == "user" => ("user", rest),
            _ => return None,
        };
        let mut socket = None;
        let mut info = Vec::new();
        let mut field = None;
        let mut master_user = None;
        let mut userdb_only = false;
        let mut positional = Vec::new();
        let mut args = rest.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("option requires an argument -- '{name}'"))
            };
            match arg.as_str() {
                "-a" => {
                    socket = Some(PathBuf::from(match value("a") {
                        Ok(v) => v,
                        Err(e) => return Some(Err(e)),
                    }))
                }
                "-x" => match value("x") {
                    Ok(v) => {
                        let (k, v) = v.split_once('=').unwrap_or((v.as_str(), ""));
                        info.push((k.to_string(), v.to_string()));
                    }
                    Err(e) => return Some(Err(e)),
                },
                "-f" if verb != "test" => match value("f") {
                    Ok(v) => field = Some(v),
                    Err(e) => return Some(Err(e)),
                },
                "-M" if verb == "test" => match value("M") {
                    Ok(v) => master_user = Some(v),
                    Err(e) => return Some(Err(e)),
                },
                "-u" if verb == "user" => userdb_only = true,
                other if other.starts_with('-') && other.len() > 1 => {
                    return Some(Err(format!("Unknown option: {other}")))
                }
                other => positional.push(other.to_string()),
            }
        }
        Some(match verb {
            "test" => match positional.as_slice() {
                [user] => Err(format!("auth test {user}: a password is required (no terminal prompt)")),
                [user, password] => Ok(AuthVerb::Test {
                    socket,
                    info,
                    master_user,
                    user: user.clone(),
                    password: password.clone(),
                }),
                _ => Err("auth test [-a <auth socket path>] [-x <auth info>] [-M <master user>] <user> [<password>]".into()),
            },
            "lookup" if !positional.is_empty() => Ok(AuthVerb::Lookup {
                socket,
                info,
                field,
                users: positional,
            }),
            "user" if !positional.is_empty() => Ok(AuthVerb::User {
                socket,
                info,
                field,
                userdb_only,
                masks: positional,
            }),
            "lookup" => Err("auth lookup [-a <userdb socket path>] [-x <auth info>] [-f field] <user> [<user> [...]]".into()),
            _ => Err("user [-a <userdb socket path>] [-x <auth info>] [-f field] [-u] <user mask> [<user mask> [...]]".into()),
        })
    }
}

fn socket_path(config: &Config, given: &Option<PathBuf>, default: &str) -> PathBuf {
    let base = PathBuf::from(config.global().str("base_dir"));
    match given {
        Some(p) => p.clone(),
        None if default.starts_with('/') => PathBuf::from(default),
        None => base.join(default),
    }
}

/// Runs a verb, printing to `out`; returns the exit code.
pub fn run(verb: &AuthVerb, config: &Config, out: &mut dyn Write) -> u8 {
    let result = match verb {
        AuthVerb::Test {
            socket,
            info,
            master_user,
            user,
            password,
        } => {
            let path = socket_path(config, socket, "auth-client");
            test(&path, info, master_user.as_deref(), user, password, out)
        }
        AuthVerb::Lookup {
            socket,
            info,
            field,
            users,
        } => {
            let default = config.global().str("auth_socket_path").to_string();
            let path = socket_path(config, socket, &default);
            lookup(&path, info, field.as_deref(), users, out)
        }
        AuthVerb::User {
            socket,
            info,
            field,
            userdb_only,
            masks,
        } => {
            let default = config.global().str("auth_socket_path").to_string();
            let path = socket_path(config, socket, &default);
            user(
                config,
                &path,
                info,
                field.as_deref(),
                *userdb_only,
                masks,
                out,
            )
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::log::print_stderr("coteadm: ", crate::log::Level::Error, &e);
            EX_TEMPFAIL
        }
    }
}

fn connect_error(path: &Path, e: &std::io::Error) -> String {
    format!(
        "Couldn't connect to auth socket {}: {}",
        path.display(),
        crate::errtext::os_error_text(e)
    )
}

fn params(info: &[(String, String)]) -> AuthParams {
    let mut p = AuthParams {
        service: "doveadm".into(),
        ..AuthParams::default()
    };
    for (k, v) in info {
        match k.as_str() {
            "service" => p.service = v.clone(),
            "lip" => p.local_ip = v.parse().ok(),
            "rip" => p.remote_ip = v.parse().ok(),
            "lport" => p.local_port = v.parse().unwrap_or(0),
            "rport" => p.remote_port = v.parse().unwrap_or(0),
            "session" => p.session = Some(v.clone()),
            _ => p.extra.push((k.clone(), v.clone())),
        }
    }
    p
}

fn test(
    path: &Path,
    info: &[(String, String)],
    master_user: Option<&str>,
    user: &str,
    password: &str,
    out: &mut dyn Write,
) -> Result<u8, String> {
    let mut client =
        AuthClient::connect(path, std::process::id()).map_err(|e| connect_error(path, &e))?;
    let mut initial = Vec::new();
    initial.extend_from_slice(user.as_bytes());
    initial.push(0);
    initial.extend_from_slice(master_user.unwrap_or(user).as_bytes());
    initial.push(0);
    initial.extend_from_slice(password.as_bytes());
    client
        .begin("PLAIN", &params(info), Some(&initial))
        .map_err(|e| format!("auth request failed: {e}"))?;
    let line = client.last_line().to_string();
    let parts = split_tabescaped(&line);
    let (verdict, code) = match parts[0].as_str() {
        "OK" => ("auth succeeded", 0),
        "CONT" => ("auth unexpectedly requested continuation", EX_NOPERM),
        _ => ("auth failed", EX_NOPERM),
    };
    let mut text = format!("passdb: {user} {verdict}\n");
    let args = &parts[2.min(parts.len())..];
    if parts[0] != "CONT" && !args.is_empty() {
        text.push_str("extra fields:\n");
        for arg in args {
            text.push_str(&format!("  {arg}\n"));
        }
    }
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code)
}

/// `name: user` then `  key       : value` lines (doveadm's cmd_user_input).
fn print_fields(
    out: &mut String,
    kind: &str,
    user: &str,
    updated: Option<&str>,
    fields: &[(String, String)],
    raw: &[String],
) {
    out.push_str(&format!("{kind}: {user}\n"));
    if let Some(u) = updated {
        out.push_str(&format!("  {:<10}: {u}\n", "user"));
    }
    let _ = fields;
    for arg in raw {
        match arg.split_once('=') {
            Some((k, v)) => out.push_str(&format!("  {k:<10}: {v}\n")),
            None => out.push_str(&format!("  {arg:<10}\n")),
        }
    }
}

fn lookup(
    path: &Path,
    info: &[(String, String)],
    field: Option<&str>,
    users: &[String],
    out: &mut dyn Write,
) -> Result<u8, String> {
    let mut client = MasterClient::connect(path).map_err(|e| connect_error(path, &e))?;
    let p = params(info);
    let extra = lookup_params(&p);
    let mut code = 0;
    let mut text = String::new();
    for (i, user) in users.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        match client
            .pass(user, &p.service, &extra)
            .map_err(|e| e.to_string())?
        {
            PassReply::Pass { .. } => {
                let raw = raw_fields(client.last_line(), 2);
                match field {
                    Some(f) => print_field(&mut text, &raw, f),
                    None => print_fields(&mut text, "passdb", user, None, &[], &raw),
                }
            }
            PassReply::NotFound => {
                let msg = format!("passdb lookup: user {user} doesn't exist\n");
                if field.is_some() {
                    eprint!("{msg}");
                } else {
                    text.push_str(&msg);
                }
                code = EX_NOUSER;
            }
            PassReply::Fail { reason } => {
                crate::log::print_stderr(
                    "coteadm: ",
                    crate::log::Level::Error,
                    &match reason {
                        Some(r) => format!("passdb lookup failed for {user}: {r}"),
                        None => format!("passdb lookup failed for {user}"),
                    },
                );
                code = EX_TEMPFAIL;
            }
        }
    }
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code)
}

fn lookup_params(p: &AuthParams) -> Vec<(String, String)> {
    let mut extra = Vec::new();
    if let Some(ip) = p.local_ip {
        extra.push(("lip".to_string(), ip.to_string()));
    }
    if let Some(ip) = p.remote_ip {
        extra.push(("rip".to_string(), ip.to_string()));
    }
    extra.extend(p.extra.iter().cloned());
    extra
}

/// The TAB-separated fields of a reply line from index `from` on, as sent.
fn raw_fields(line: &str, from: usize) -> Vec<String> {
    let parts = split_tabescaped(line);
    parts[from.min(parts.len())..].to_vec()
}

fn print_field(out: &mut String, raw: &[String], field: &str) {
    for arg in raw {
        if let Some(v) = arg.strip_prefix(field).and_then(|r| r.strip_prefix('=')) {
            out.push_str(&format!("{v}\n"));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn user(
    config: &Config,
    path: &Path,
    info: &[(String, String)],
    field: Option<&str>,
    userdb_only: bool,
    masks: &[String],
    out: &mut dyn Write,
) -> Result<u8, String> {
    let mut client = MasterClient::connect(path).map_err(|e| connect_error(path, &e))?;
    let p = params(info);
    if masks.iter().any(|m| m.contains(['*', '?'])) {
        let mask = if masks.len() == 1 {
            masks[0].as_str()
        } else {
            "*"
        };
        let users = client
            .list(mask, &p.service)
            .map_err(|_| "user listing failed".to_string())?;
        let mut text = String::new();
        for u in users {
            if masks
                .iter()
                .any(|m| super::lookup::wildcard_match(&u.to_lowercase(), &m.to_lowercase()))
            {
                text.push_str(&format!("{u}\n"));
            }
        }
        out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        return Ok(0);
    }
    let extra = lookup_params(&p);
    let mut code = 0;
    let mut text = String::new();
    let table = !userdb_only && field.is_none();
    if table {
        text.push_str("field\tvalue\n");
    }
    for (i, name) in masks.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        match client
            .user(name, &p.service, &extra)
            .map_err(|e| e.to_string())?
        {
            UserReply::User { user, fields } => {
                if userdb_only {
                    let raw = raw_fields(client.last_line(), 3);
                    match field {
                        Some(f) => print_field(&mut text, &raw, f),
                        None => print_fields(&mut text, "userdb", name, Some(&user), &fields, &raw),
                    }
                } else {
                    mail_user_fields(config, name, &user, &fields, field, &mut text);
                }
            }
            UserReply::NotFound => {
                let msg = if userdb_only {
                    format!("userdb lookup: user {name} doesn't exist\n")
                } else {
                    format!("\nuserdb lookup: user {name} doesn't exist\n")
                };
                if field.is_some() {
                    eprint!("{msg}");
                } else {
                    text.push_str(&msg);
                }
                code = EX_NOUSER;
            }
            UserReply::Fail { reason } => {
                crate::log::print_stderr(
                    "coteadm: ",
                    crate::log::Level::Error,
                    &match reason {
                        Some(r) => format!("userdb lookup failed for {name}: {r}"),
                        None => format!("userdb lookup failed for {name}"),
                    },
                );
                code = EX_TEMPFAIL;
            }
        }
    }
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code)
}

/// doveadm user's view: the mail user's uid, gid, home and mail (userdb fields, else the
/// mail_* settings), then the other userdb fields.
fn mail_user_fields(
    config: &Config,
    asked: &str,
    user: &str,
    fields: &[(String, String)],
    show: Option<&str>,
    text: &mut String,
) {
    let g = config.global();
    let get = |key: &str, setting: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| g.str(setting).to_string())
    };
    let mut rows = Vec::new();
    if asked != user {
        rows.push(("user".to_string(), user.to_string()));
    }
    rows.push(("uid".to_string(), get("uid", "mail_uid")));
    rows.push(("gid".to_string(), get("gid", "mail_gid")));
    rows.push(("home".to_string(), get("home", "mail_home")));
    rows.push(("mail".to_string(), get("mail", "mail_location")));
    for (k, v) in fields {
        if !matches!(k.as_str(), "uid" | "gid" | "home" | "mail") {
            rows.push((k.clone(), v.clone()));
        }
    }
    for (k, v) in rows {
        match show {
            None => text.push_str(&format!("{k}\t{v}\n")),
            Some(f) if f == k => text.push_str(&format!("{v}\n")),
            Some(_) => {}
        }
    }
}
