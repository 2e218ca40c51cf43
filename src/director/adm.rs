//! `coteadm director …`: Dovecot's `doveadm director` verbs over the director's admin socket
//! (`base_dir/director-admin`, or `-a PATH`), with doveadm's output: tables for `status`,
//! `map` and `ring status`, `Current:`/`Hashed:`/`Initial config:` for `status USER`, errors
//! on stderr and doveadm's exit codes.

use std::io::Write;
use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::auth::client::MasterClient;
use crate::config::Config;
use crate::log::{unixdate, Level};
use crate::mailadm::{table, table_expanding, terminal_columns};

use super::admin::AdminClient;
use super::hash::user_hash;

/// doveadm's exit codes.
const EX_USAGE: u8 = 64;
const EX_NOTFOUND: u8 = 68;
const EX_PROTOCOL: u8 = 76;
const EX_TEMPFAIL: u8 = 75;

/// A parsed `director` command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectorCommand {
    pub verb: String,
    pub socket: Option<PathBuf>,
    pub tag: Option<String>,
    pub users_file: Option<PathBuf>,
    pub hash_map: bool,
    pub user_map: bool,
    pub force: bool,
    pub max_parallel: Option<u32>,
    pub args: Vec<String>,
}

const VERBS: &[&str] = &[
    "status", "map", "add", "update", "remove", "up", "down", "move", "kick", "flush", "ring",
];

impl DirectorCommand {
    /// `words` after the global options; `None` when they are not a `director` command.
    pub fn parse(words: &[String]) -> Option<Result<DirectorCommand, String>> {
        let (first, rest) = words.split_first()?;
        if first != "director" {
            return None;
        }
        Some(Self::parse_verb(rest))
    }

    fn parse_verb(words: &[String]) -> Result<DirectorCommand, String> {
        let Some((verb, rest)) = words.split_first() else {
            return Err(format!("director: missing command ({})", VERBS.join("|")));
        };
        if !VERBS.contains(&verb.as_str()) {
            return Err(format!("Unknown command 'director {verb}'"));
        }
        let mut cmd = DirectorCommand {
            verb: verb.clone(),
            ..DirectorCommand::default()
        };
        let mut words = rest.iter();
        if cmd.verb == "ring" {
            match words.next().map(String::as_str) {
                Some("status") => cmd.verb = "ring status".into(),
                other => {
                    return Err(format!(
                        "director ring {}: only `ring status` is available (one director)",
                        other.unwrap_or("")
                    ))
                }
            }
        }
        while let Some(word) = words.next() {
            let mut value = |name: &str| {
                words
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("option requires an argument -- '{name}'"))
            };
            match word.as_str() {
                "-a" => cmd.socket = Some(PathBuf::from(value("a")?)),
                "-t" => cmd.tag = Some(value("t")?),
                "-f" => cmd.users_file = Some(PathBuf::from(value("f")?)),
                "-h" => cmd.hash_map = true,
                "-u" => cmd.user_map = true,
                "-F" => cmd.force = true,
                "--max-parallel" => {
                    let n = value("max-parallel")?;
                    cmd.max_parallel = Some(
                        n.parse()
                            .map_err(|_| format!("Invalid --max-parallel value: {n}"))?,
                    );
                }
                w if w.starts_with('-') && w.len() > 1 => {
                    return Err(format!("Unknown option: {w}"))
                }
                _ => cmd.args.push(word.clone()),
            }
        }
        let needs = match cmd.verb.as_str() {
            "add" | "remove" | "up" | "down" | "kick" | "flush" => 1,
            "update" | "move" => 2,
            _ => 0,
        };
        if cmd.args.len() < needs {
            return Err(format!("director {}: missing argument", cmd.verb));
        }
        Ok(cmd)
    }
}

/// A one-column table whose title is not shown (doveadm's `HIDE_TITLE`).
fn untitled(out: &mut dyn Write, title: &str, values: &[String]) {
    let rows: Vec<Vec<String>> = values.iter().map(|v| vec![v.clone()]).collect();
    let text = table(&[(title, false)], &rows, terminal_columns());
    let body = text.split_once('\n').map_or("", |(_, rest)| rest);
    let _ = out.write_all(body.as_bytes());
}

/// What a command printed and its exit code, for the caller to show.
struct Run<'a> {
    out: &'a mut dyn Write,
    prefix: &'a str,
    code: u8,
}

impl Run<'_> {
    fn error(&mut self, text: &str, code: u8) {
        self.report(Level::Error, text, code);
    }

    /// A failure said at `level` (doveadm warns where a flush of one host fails).
    fn report(&mut self, level: Level, text: &str, code: u8) {
        crate::log::print_stderr(self.prefix, level, text);
        if self.code == 0 || code != EX_NOTFOUND {
            self.code = code;
        }
    }
}

/// Runs `cmd`; returns the exit code.
pub fn run(cmd: &DirectorCommand, config: &Config, prefix: &str, out: &mut dyn Write) -> u8 {
    let mut run = Run {
        out,
        prefix,
        code: 0,
    };
    let format = config.global().str("director_username_hash").to_string();
    if cmd.verb == "map" && cmd.user_map {
        let Some(user) = cmd.args.first() else {
            run.error("director map -u: missing user", EX_USAGE);
            return run.code;
        };
        match user_hash(user, &format) {
            Ok(hash) => {
                untitled(run.out, "hash", &[hash.to_string()]);
            }
            Err(e) => run.error(
                &format!("Failed to expand director_username_hash={format}: {e}"),
                EX_TEMPFAIL,
            ),
        }
        return run.code;
    }
    let base_dir = PathBuf::from(config.global().str("base_dir"));
    let path = cmd
        .socket
        .clone()
        .unwrap_or_else(|| base_dir.join("director-admin"));
    let mut client = match AdminClient::connect(&path) {
        Ok(c) => c,
        Err(e) => {
            let text = match e.kind() {
                std::io::ErrorKind::InvalidData => e.to_string(),
                _ => crate::errtext::connect_error_text(&path, &e),
            };
            run.error(&text, EX_TEMPFAIL);
            return run.code;
        }
    };
    let result = match cmd.verb.as_str() {
        "status" => status(&mut run, &mut client, cmd),
        "map" => map(&mut run, &mut client, cmd, &format, &base_dir),
        "ring status" => ring_status(&mut run, &mut client),
        _ => change(&mut run, &mut client, cmd, &format),
    };
    if let Err(e) = result {
        run.error(
            &format!("read({}) failed: {e}", path.display()),
            EX_TEMPFAIL,
        );
    }
    run.code
}

fn status(run: &mut Run, client: &mut AdminClient, cmd: &DirectorCommand) -> std::io::Result<()> {
    if let Some(user) = cmd.args.first() {
        let tag = cmd
            .args
            .get(1)
            .or(cmd.tag.as_ref())
            .map_or("", String::as_str);
        client.send(&["USER-LOOKUP", user, tag])?;
        let Some(line) = client.read_line()? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        let args: Vec<&str> = line.split('\t').collect();
        let expires = args.get(1).and_then(|e| e.parse::<i64>().ok());
        let (4, Some(expires)) = (args.len(), expires) else {
            run.error("Invalid reply from director", EX_PROTOCOL);
            return Ok(());
        };
        let current = if args[0].is_empty() {
            "n/a (expires -1)".to_string()
        } else {
            format!("{} (expires {})", args[0], unixdate(expires))
        };
        let _ = write!(
            run.out,
            "Current: {current}\nHashed: {}\nInitial config: {}\n",
            args[2], args[3]
        );
        return Ok(());
    }
    client.send(&["HOST-LIST"])?;
    let mut rows = Vec::new();
    for args in client.read_list()? {
        if args.len() < 6 {
            continue;
        }
        let changed = match args[5].parse::<i64>() {
            Ok(ts) if ts > 0 => unixdate(ts),
            _ => "-".into(),
        };
        let state = if args[4].starts_with('D') {
            "down"
        } else {
            "up"
        };
        rows.push(vec![
            args[0].clone(),
            args[3].clone(),
            args[1].clone(),
            state.to_string(),
            changed,
            args[2].clone(),
        ]);
    }
    let headers = [
        ("mail server ip", false),
        ("tag", false),
        ("vhosts", false),
        ("state", false),
        ("state changed", false),
        ("users", false),
    ];
    let _ = run
        .out
        .write_all(table(&headers, &rows, terminal_columns()).as_bytes());
    Ok(())
}

/// The users `map` names: from `-f FILE`, or listed by the userdb.
fn map_users(cmd: &DirectorCommand, base_dir: &std::path::Path) -> Result<Vec<String>, String> {
    match &cmd.users_file {
        Some(path) => std::fs::read_to_string(path)
            .map(|text| text.lines().map(str::to_string).collect())
            .map_err(|e| {
                format!(
                    "open({}) failed: {}",
                    path.display(),
                    crate::errtext::os_error_text(&e)
                )
            }),
        None => {
            let socket = base_dir.join("auth-userdb");
            let mut client = MasterClient::connect(&socket)
                .map_err(|e| crate::errtext::connect_error_text(&socket, &e))?;
            client
                .list("", "doveadm")
                .map_err(|e| format!("user listing failed: {e}"))
        }
    }
}

fn resolve(host: &str) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = host.parse() {
        return Ok(vec![ip]);
    }
    (host, 0)
        .to_socket_addrs()
        .map(|a| a.map(|a| a.ip()).collect())
        .map_err(|e| format!("gethostname({host}) failed: {e}"))
}

fn map(
    run: &mut Run,
    client: &mut AdminClient,
    cmd: &DirectorCommand,
    format: &str,
    base_dir: &std::path::Path,
) -> std::io::Result<()> {
    let users = match map_users(cmd, base_dir) {
        Ok(users) => users,
        Err(e) => {
            run.error(&e, EX_TEMPFAIL);
            Vec::new()
        }
    };
    let mut by_hash: Vec<(u32, String)> = users
        .into_iter()
        .filter_map(|u| user_hash(&u, format).ok().map(|h| (h, u)))
        .collect();
    by_hash.sort();
    if cmd.hash_map {
        let Some(Ok(hash)) = cmd.args.first().map(|h| h.parse::<u32>()) else {
            run.error("Invalid username hash", EX_USAGE);
            return Ok(());
        };
        let users: Vec<String> = by_hash
            .iter()
            .filter(|(h, _)| *h == hash)
            .map(|(_, u)| u.clone())
            .collect();
        untitled(run.out, "user", &users);
        return Ok(());
    }
    let only = match cmd.args.first() {
        Some(host) => match resolve(host) {
            Ok(ips) => ips,
            Err(e) => {
                run.error(&e, EX_TEMPFAIL);
                return Ok(());
            }
        },
        None => Vec::new(),
    };
    match only.as_slice() {
        [ip] => client.send(&["USER-LIST", &ip.to_string()])?,
        _ => client.send(&["USER-LIST"])?,
    }
    let mut rows = Vec::new();
    for args in client.read_list()? {
        let parsed = (
            args.first().and_then(|h| h.parse::<u32>().ok()),
            args.get(1).and_then(|e| e.parse::<i64>().ok()),
            args.get(2).and_then(|ip| ip.parse::<IpAddr>().ok()),
        );
        let (Some(hash), Some(expires), Some(ip)) = parsed else {
            run.error(
                &format!("Invalid USER-LIST reply: {}", args.join("\t")),
                EX_PROTOCOL,
            );
            continue;
        };
        if !only.is_empty() && !only.contains(&ip) {
            continue;
        }
        let names: Vec<&str> = by_hash
            .iter()
            .filter(|(h, _)| *h == hash)
            .map(|(_, u)| u.as_str())
            .collect();
        let names = if names.is_empty() {
            vec!["<unknown>"]
        } else {
            names
        };
        for name in names {
            rows.push(vec![
                name.to_string(),
                hash.to_string(),
                ip.to_string(),
                unixdate(expires),
            ]);
        }
    }
    let headers = [
        ("user", false),
        ("hash", false),
        ("mail server ip", false),
        ("expire time", false),
    ];
    let table = table_expanding(&headers, &rows, terminal_columns(), 0);
    let _ = run.out.write_all(table.as_bytes());
    Ok(())
}

fn ring_status(run: &mut Run, client: &mut AdminClient) -> std::io::Result<()> {
    client.send(&["DIRECTOR-LIST"])?;
    let mut rows = Vec::new();
    for args in client.read_list()? {
        let mut row: Vec<String> = Vec::with_capacity(12);
        for (i, value) in args.iter().take(12).enumerate() {
            row.push(match (i, value.parse::<i64>()) {
                (3 | 10 | 11, Ok(0)) => "never".into(),
                (3 | 10 | 11, Ok(ts)) => unixdate(ts),
                _ => value.clone(),
            });
        }
        row.resize(12, "-".into());
        rows.push(row);
    }
    let headers: Vec<(&str, bool)> = [
        "director ip",
        "port",
        "type",
        "last failed",
        "status",
        "ping ms",
        "input",
        "output",
        "buffered",
        "buffered peak",
        "last read",
        "last write",
    ]
    .iter()
    .map(|h| (*h, false))
    .collect();
    let _ = run
        .out
        .write_all(table(&headers, &rows, terminal_columns()).as_bytes());
    Ok(())
}

/// The verbs that change something: one request per address, each answered `OK` or why not.
fn change(
    run: &mut Run,
    client: &mut AdminClient,
    cmd: &DirectorCommand,
    format: &str,
) -> std::io::Result<()> {
    let arg = |i: usize| cmd.args.get(i).map_or("", String::as_str);
    let mut requests: Vec<(String, Vec<String>)> = Vec::new();
    match cmd.verb.as_str() {
        "kick" => requests.push((arg(0).into(), vec!["USER-KICK".into(), arg(0).into()])),
        "move" => {
            let hash = match user_hash(arg(0), format) {
                Ok(h) => h,
                Err(e) => {
                    run.error(
                        &format!("Failed to expand director_username_hash={format}: {e}"),
                        EX_TEMPFAIL,
                    );
                    return Ok(());
                }
            };
            let ip = match resolve(arg(1)) {
                Ok(ips) if !ips.is_empty() => ips[0],
                Ok(_) | Err(_) => {
                    run.error(&format!("gethostname({}) failed", arg(1)), EX_TEMPFAIL);
                    return Ok(());
                }
            };
            requests.push((
                ip.to_string(),
                vec!["USER-MOVE".into(), hash.to_string(), ip.to_string()],
            ));
        }
        "flush" if arg(0) == "all" => {
            let line = if cmd.force {
                vec!["HOST-FLUSH".into()]
            } else {
                let mut v = vec!["HOST-RESET-USERS".to_string()];
                if let Some(n) = cmd.max_parallel {
                    v.extend([String::new(), n.to_string()]);
                }
                v
            };
            requests.push(("all".into(), line));
        }
        verb => {
            let (host, tag) = match (verb, arg(0).split_once('@'), &cmd.tag) {
                ("add" | "update", _, Some(tag)) if !tag.is_empty() => (arg(0), Some(tag.as_str())),
                ("add" | "update", Some((host, tag)), _) => (host, Some(tag)),
                _ => (arg(0), None),
            };
            if matches!(verb, "add" | "update") && host.parse::<u32>().is_ok() {
                run.error(&format!("Invalid host '{host}'"), EX_USAGE);
                return Ok(());
            }
            let ips = match resolve(host) {
                Ok(ips) => ips,
                Err(e) => {
                    run.error(&e, EX_TEMPFAIL);
                    return Ok(());
                }
            };
            for ip in ips {
                let mut line = match verb {
                    "add" => vec!["HOST-SET".to_string()],
                    "update" => vec!["HOST-UPDATE".to_string()],
                    "remove" => vec!["HOST-REMOVE".to_string()],
                    "up" => vec!["HOST-UP".to_string()],
                    "down" => vec!["HOST-DOWN".to_string()],
                    _ if cmd.force => vec!["HOST-FLUSH".to_string()],
                    _ => vec!["HOST-RESET-USERS".to_string()],
                };
                line.push(match tag {
                    Some(tag) => format!("{ip}@{tag}"),
                    None => ip.to_string(),
                });
                if matches!(verb, "add" | "update") && !arg(1).is_empty() {
                    line.push(arg(1).into());
                }
                if verb == "flush" && !cmd.force {
                    if let Some(n) = cmd.max_parallel {
                        line.push(n.to_string());
                    }
                }
                requests.push((ip.to_string(), line));
            }
        }
    }
    for (_, line) in &requests {
        let words: Vec<&str> = line.iter().map(String::as_str).collect();
        client.send(&words)?;
    }
    for (what, _) in &requests {
        let Some(reply) = client.read_line()? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        let level = match cmd.verb.as_str() {
            "flush" if what != "all" => Level::Warning,
            _ => Level::Error,
        };
        match (reply.as_str(), cmd.verb.as_str()) {
            ("OK", _) => {}
            ("NOTFOUND", "move") => run.error(&format!("Host '{what}' doesn't exist"), EX_NOTFOUND),
            ("NOTFOUND", _) => run.report(level, &format!("{what}: doesn't exist"), EX_NOTFOUND),
            ("TRYAGAIN", "move") => run.error(
                "User is already being moved, wait a while for it to be finished",
                EX_TEMPFAIL,
            ),
            (text, "kick" | "move") => run.error(&format!("failed: {text}"), EX_TEMPFAIL),
            (text, "flush") if what == "all" => run.error(&format!("failed: {text}"), EX_TEMPFAIL),
            (text, _) => run.report(level, &format!("{what}: {text}"), EX_TEMPFAIL),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<DirectorCommand, String> {
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        DirectorCommand::parse(&words).unwrap()
    }

    #[test]
    fn command_lines_parse() {
        let c = parse("director add -t big 10.0.0.1 50").unwrap();
        assert_eq!((c.verb.as_str(), c.tag.as_deref()), ("add", Some("big")));
        assert_eq!(c.args, ["10.0.0.1", "50"]);
        let c = parse("director flush -F --max-parallel 5 all").unwrap();
        assert!(c.force);
        assert_eq!(c.max_parallel, Some(5));
        assert_eq!(parse("director ring status").unwrap().verb, "ring status");
        assert!(parse("director ring add 10.0.0.1").is_err());
        assert!(parse("director move alice").is_err());
        assert!(parse("director nosuch").is_err());
        assert!(parse("director status -x").is_err());
        assert!(DirectorCommand::parse(&["who".to_string()]).is_none());
        let c = parse("director map -a /tmp/s -f users -u alice").unwrap();
        assert!(c.user_map);
        assert_eq!(c.users_file, Some(PathBuf::from("users")));
    }

    #[test]
    fn dates_are_local_and_zero_padded() {
        let text = unixdate(0);
        assert_eq!(text.len(), 19, "{text}");
        assert!(text.starts_with("1970-01-01") || text.starts_with("1969-12-31"));
    }
}
