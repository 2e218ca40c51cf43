//! `coteadm who` and `coteadm kick`: Dovecot's `doveadm who` and `doveadm kick`, from the
//! anvil service's `CONNECT-DUMP` (every registered session: ident, pid, count).
//!
//! `who [-1] [-a SOCKET] [USER-MASK] [IP/BITS]` prints a table of users per protocol with
//! their session count, pids and addresses (`-1`: one line per session). `kick [-f] [-a
//! SOCKET] MASK...` sends SIGTERM to the processes serving the matching users; a process
//! that also serves users who do not match is left alone unless `-f`.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::auth::fields::tab_unescape;
use crate::auth::lookup::wildcard_match;
use crate::config::Config;
use crate::log::{print_stderr, Level};
use crate::mailadm::{
    getopt, table_expanding, table_sized_by, terminal_columns, EX_NOTFOUND, EX_USAGE,
};
use crate::net::IpNetwork;

use super::anvil::AnvilClient;

/// Dovecot's `FATAL_DEFAULT` (what `i_fatal` exits with).
const EX_FATAL: u8 = 89;

/// `who` or `kick`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhoVerb {
    Who,
    Kick,
}

/// A parsed `who` or `kick` command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoCommand {
    pub verb: WhoVerb,
    /// `-a`: the anvil socket (default `base_dir/anvil`).
    pub socket: Option<PathBuf>,
    /// `who -1`: a line per session.
    pub separate: bool,
    /// `kick -f`: kick processes that also serve users who do not match.
    pub force: bool,
    pub masks: Vec<String>,
}

impl WhoCommand {
    /// `words` after the global options; `None` when they are not `who` or `kick`.
    pub fn parse(words: &[String]) -> Option<Result<WhoCommand, String>> {
        let (first, rest) = words.split_first()?;
        let verb = match first.as_str() {
            "who" => WhoVerb::Who,
            "kick" => WhoVerb::Kick,
            _ => return None,
        };
        Some(Self::parse_args(verb, rest))
    }

    fn parse_args(verb: WhoVerb, words: &[String]) -> Result<WhoCommand, String> {
        // doveadm's getopt stops at the first positional argument here.
        let spec = match verb {
            WhoVerb::Who => "1a:",
            WhoVerb::Kick => "fa:",
        };
        let found = getopt(words, spec, false).map_err(|e| e.text())?;
        let mut cmd = WhoCommand {
            verb,
            socket: None,
            separate: false,
            force: false,
            masks: found.args,
        };
        for (c, value) in found.flags {
            match c {
                'a' => cmd.socket = value.map(PathBuf::from),
                '1' => cmd.separate = true,
                _ => cmd.force = true,
            }
        }
        Ok(cmd)
    }
}

/// doveadm's who filter: a user mask (`*`, `?`, case-insensitive) and a network.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WhoFilter {
    pub user: Option<String>,
    pub network: Option<IpNetwork>,
}

impl WhoFilter {
    /// Dovecot's `who_parse_args`: an argument that is not all digits and parses as
    /// `ip[/bits]` is the network, anything else the user mask; one of each at most.
    pub fn parse(masks: &[String]) -> Result<WhoFilter, String> {
        let mut filter = WhoFilter::default();
        let mut have_network = false;
        for mask in masks {
            let numeric = !mask.is_empty() && mask.bytes().all(|b| b.is_ascii_digit());
            match mask.parse::<IpNetwork>() {
                Ok(network) if !numeric => {
                    if have_network {
                        return Err("Multiple network masks not supported".into());
                    }
                    // `/0` matches everything: doveadm then filters nothing.
                    let everything = mask.split_once('/').is_some_and(|(_, b)| b == "0");
                    have_network = !everything;
                    filter.network = (!everything).then_some(network);
                }
                _ => {
                    if filter.user.is_some() {
                        return Err("Multiple username masks not supported".into());
                    }
                    filter.user = Some(mask.clone());
                }
            }
        }
        Ok(filter)
    }

    fn user_matches(&self, user: &str) -> bool {
        self.user.as_deref().is_none_or(|mask| {
            wildcard_match(&user.to_ascii_lowercase(), &mask.to_ascii_lowercase())
        })
    }

    fn ip_matches(&self, ip: Option<IpAddr>) -> bool {
        self.network
            .is_none_or(|net| ip.is_some_and(|ip| net.contains(ip)))
    }

    /// Whether one session matches (Dovecot's `who_line_filter_match`).
    pub fn line_matches(&self, line: &WhoLine) -> bool {
        self.user_matches(&line.user) && self.ip_matches(line.ip)
    }
}

/// One `CONNECT-DUMP` line: sessions of one ident in one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhoLine {
    pub service: String,
    pub ip: Option<IpAddr>,
    pub user: String,
    pub pid: u32,
    pub count: u32,
}

impl WhoLine {
    /// Parses `<ident> TAB <pid> TAB <count>`, the ident `service/ip/user` (or
    /// `service/user`).
    pub fn parse(line: &str) -> Option<WhoLine> {
        let mut args = line.split('\t').map(tab_unescape);
        let (ident, pid, count) = (args.next()?, args.next()?, args.next()?);
        let (service, rest) = ident.split_once('/')?;
        // pid 0 would signal kick's own process group.
        let pid = pid.parse().ok().filter(|p| *p != 0)?;
        let count = count.parse().ok()?;
        let (ip, user) = match rest.split_once('/') {
            // An address that does not parse is no address, as in doveadm.
            Some((ip, user)) => (ip.parse().ok(), user),
            None => (None, rest),
        };
        Some(WhoLine {
            service: service.to_string(),
            ip,
            user: user.to_string(),
            pid,
            count,
        })
    }
}

/// A user of one protocol, the sessions summed (doveadm's `who_user`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct WhoUser {
    user: String,
    service: String,
    count: u32,
    pids: Vec<u32>,
    ips: Vec<IpAddr>,
}

/// Sums sessions per user and protocol, in the order users first appear. Sessions without a
/// user name are told apart by their address (as doveadm does).
fn aggregate(lines: &[WhoLine]) -> Vec<WhoUser> {
    let mut users: Vec<WhoUser> = Vec::new();
    let mut index: HashMap<(String, String, Option<IpAddr>), usize> = HashMap::new();
    for line in lines {
        let key_ip = if line.user.is_empty() { line.ip } else { None };
        let key = (line.user.clone(), line.service.clone(), key_ip);
        let i = *index.entry(key).or_insert_with(|| {
            users.push(WhoUser {
                user: line.user.clone(),
                service: line.service.clone(),
                count: 0,
                pids: Vec::new(),
                ips: Vec::new(),
            });
            users.len() - 1
        });
        let Some(user) = users.get_mut(i) else {
            continue;
        };
        user.count += line.count;
        if let Some(ip) = line.ip {
            if !user.ips.contains(&ip) {
                user.ips.push(ip);
            }
        }
        if !user.pids.contains(&line.pid) {
            user.pids.push(line.pid);
        }
    }
    users
}

fn parenthesized<T: ToString>(values: &[T]) -> String {
    let list: Vec<String> = values.iter().map(T::to_string).collect();
    format!("({})", list.join(" "))
}

/// `who`'s table: `username # proto (pids) (ips)`, the users that match `filter`. doveadm
/// flushes its output after each user, so the columns are as wide as the first user's values
/// need (the titles at least), and the last column takes half the room left.
pub fn who_table(lines: &[WhoLine], filter: &WhoFilter, columns: usize) -> String {
    let headers = [
        ("username", false),
        ("#", true),
        ("proto", false),
        ("(pids)", false),
        ("(ips)", false),
    ];
    let rows: Vec<Vec<String>> = aggregate(lines)
        .into_iter()
        .filter(|u| {
            filter.user_matches(&u.user)
                && (filter.network.is_none() || u.ips.iter().any(|ip| filter.ip_matches(Some(*ip))))
        })
        .map(|u| {
            vec![
                u.user,
                u.count.to_string(),
                u.service,
                parenthesized(&u.pids),
                parenthesized(&u.ips),
            ]
        })
        .collect();
    table_sized_by(&headers, &rows, columns, headers.len() - 1, 1)
}

/// `who -1`'s table: `username proto pid ip`, a line per session; the user column takes the
/// room left.
pub fn who_separate_table(lines: &[WhoLine], filter: &WhoFilter, columns: usize) -> String {
    let headers = [
        ("username", false),
        ("proto", false),
        ("pid", false),
        ("ip", false),
    ];
    let mut rows = Vec::new();
    for line in lines.iter().filter(|l| filter.line_matches(l)) {
        for _ in 0..line.count {
            rows.push(vec![
                line.user.clone(),
                line.service.clone(),
                line.pid.to_string(),
                // doveadm prints an unset address as "".
                line.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            ]);
        }
    }
    table_expanding(&headers, &rows, columns, 0)
}

/// A process and the users it serves, for `kick` (doveadm's `kick_pid`).
#[derive(Debug)]
struct KickPid {
    pid: u32,
    /// Each user once, with whether any of its sessions matched.
    users: Vec<(String, bool)>,
}

/// What `kick` decided: the processes to signal, or the users whose other sessions would
/// go too (without `-f`).
#[derive(Debug, PartialEq, Eq)]
pub enum KickPlan {
    Kill(Vec<(u32, Vec<String>)>),
    /// Processes serve matching and other users: nothing is killed; these are the others.
    Warn(Vec<String>),
}

/// Dovecot's `kick_users` decisions: a process is kicked when all its users match, or when
/// some do and `force`.
pub fn kick_plan(lines: &[WhoLine], filter: &WhoFilter, force: bool) -> KickPlan {
    let mut pids: Vec<KickPid> = Vec::new();
    for line in lines {
        let matched = filter.line_matches(line);
        let i = match pids.iter().position(|p| p.pid == line.pid) {
            Some(i) => i,
            None => {
                pids.push(KickPid {
                    pid: line.pid,
                    users: Vec::new(),
                });
                pids.len() - 1
            }
        };
        let Some(k) = pids.get_mut(i) else {
            continue;
        };
        match k.users.iter_mut().find(|(u, _)| *u == line.user) {
            Some((_, kick)) => *kick |= matched,
            None => k.users.push((line.user.clone(), matched)),
        }
    }
    let mut kill = Vec::new();
    let mut others = Vec::new();
    for k in pids {
        let matching = k.users.iter().filter(|(_, m)| *m).count();
        if matching == 0 {
            continue;
        }
        if matching < k.users.len() && !force {
            others.extend(k.users.iter().filter(|(_, m)| !*m).map(|(u, _)| u.clone()));
            continue;
        }
        kill.push((k.pid, k.users.into_iter().map(|(u, _)| u).collect()));
    }
    if others.is_empty() {
        KickPlan::Kill(kill)
    } else {
        KickPlan::Warn(others)
    }
}

/// What `kick` prints (doveadm's `kick_print_kicked`). doveadm writes the user list through
/// its output stream, flushed at once, and the rest with stdio, flushed when the line ends
/// on a terminal but only at exit otherwise: piped, the names come first.
pub fn kick_output(mut users: Vec<String>, warning: bool, terminal: bool) -> String {
    if users.is_empty() {
        return "no users kicked\n".into();
    }
    users.sort();
    users.dedup();
    let names: String = users.iter().map(|u| format!("{u} ")).collect();
    let title = if warning {
        "warning: other connections would also be kicked from following users:\n"
    } else {
        "kicked connections from the following users:\n"
    };
    let tail = if warning {
        "\nUse the '-f' option to enforce the disconnect.\n"
    } else {
        "\n"
    };
    if terminal {
        format!("{title}{names}{tail}")
    } else {
        format!("{names}{title}{tail}")
    }
}

/// Runs `who` or `kick`; the exit code as doveadm's.
pub fn run(cmd: &WhoCommand, config: &Config, prefix: &str, out: &mut dyn Write) -> u8 {
    if cmd.verb == WhoVerb::Kick && cmd.masks.is_empty() {
        print_stderr(
            prefix,
            Level::Error,
            "user and/or ip[/bits] must be specified.",
        );
        return EX_USAGE;
    }
    let filter = match WhoFilter::parse(&cmd.masks) {
        Ok(f) => f,
        Err(e) => {
            print_stderr(prefix, Level::Error, &e);
            return EX_USAGE;
        }
    };
    let path = cmd
        .socket
        .clone()
        .unwrap_or_else(|| PathBuf::from(config.global().str("base_dir")).join("anvil"));
    let dump = AnvilClient::connect(&path)
        .map_err(|e| crate::errtext::connect_error_text(&path, &e))
        .and_then(|mut anvil| {
            anvil.connect_dump().map_err(|e| {
                format!(
                    "read({}) failed: {}",
                    path.display(),
                    crate::errtext::os_error_text(&e)
                )
            })
        });
    let dump = match dump {
        Ok(d) => d,
        Err(e) => {
            print_stderr(prefix, Level::Fatal, &e);
            return EX_FATAL;
        }
    };
    let mut lines = Vec::new();
    for line in &dump {
        match WhoLine::parse(line) {
            Some(l) => lines.push(l),
            None => print_stderr(prefix, Level::Error, &format!("Invalid input: {line}")),
        }
    }
    let (text, code) = match cmd.verb {
        WhoVerb::Who if cmd.separate => {
            (who_separate_table(&lines, &filter, terminal_columns()), 0)
        }
        WhoVerb::Who => (who_table(&lines, &filter, terminal_columns()), 0),
        WhoVerb::Kick => kick(&lines, &filter, cmd.force),
    };
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return EX_FATAL;
    }
    code
}

/// Signals the processes `kick` chose; the output and the exit code.
fn kick(lines: &[WhoLine], filter: &WhoFilter, force: bool) -> (String, u8) {
    // SAFETY: isatty only inspects the descriptor.
    let terminal = unsafe { libc::isatty(libc::STDOUT_FILENO) } == 1;
    let (users, warning) = match kick_plan(lines, filter, force) {
        KickPlan::Warn(others) => (others, true),
        KickPlan::Kill(pids) => {
            let mut kicked = Vec::new();
            for (pid, users) in pids {
                let Ok(raw) = i32::try_from(pid) else {
                    continue;
                };
                match nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(raw),
                    nix::sys::signal::Signal::SIGTERM,
                ) {
                    Ok(()) | Err(nix::errno::Errno::ESRCH) => kicked.extend(users),
                    Err(e) => {
                        // doveadm writes this one without its log prefix.
                        let _ = writeln!(
                            std::io::stderr(),
                            "kill({pid}, SIGTERM) failed: {}",
                            e.desc()
                        );
                    }
                }
            }
            (kicked, false)
        }
    };
    let code = if users.is_empty() { EX_NOTFOUND } else { 0 };
    (kick_output(users, warning, terminal), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn lines(dump: &[&str]) -> Vec<WhoLine> {
        dump.iter().map(|l| WhoLine::parse(l).unwrap()).collect()
    }

    #[test]
    fn command_lines() {
        assert_eq!(WhoCommand::parse(&words("user x")), None);
        let who = WhoCommand::parse(&words("who -1 -a /tmp/anvil ali* 10.0.0.0/8"))
            .unwrap()
            .unwrap();
        assert!(who.separate);
        assert_eq!(who.socket, Some(PathBuf::from("/tmp/anvil")));
        assert_eq!(who.masks, ["ali*", "10.0.0.0/8"]);
        let kick = WhoCommand::parse(&words("kick -f alice")).unwrap().unwrap();
        assert!(kick.force && kick.verb == WhoVerb::Kick);
        assert!(WhoCommand::parse(&words("who -f")).unwrap().is_err());
        assert!(WhoCommand::parse(&words("kick -1 x")).unwrap().is_err());
        assert!(WhoCommand::parse(&words("who -a")).unwrap().is_err());
    }

    #[test]
    fn filters_as_doveadm_reads_them() {
        let f = WhoFilter::parse(&words("127.0.0.1 Al?ce")).unwrap();
        assert_eq!(f.user.as_deref(), Some("Al?ce"));
        assert!(f.network.is_some());
        // All digits is a user name, even where it would parse as an address.
        let f = WhoFilter::parse(&words("1234")).unwrap();
        assert_eq!(f.user.as_deref(), Some("1234"));
        assert_eq!(
            WhoFilter::parse(&words("a b")).unwrap_err(),
            "Multiple username masks not supported"
        );
        assert_eq!(
            WhoFilter::parse(&words("10.0.0.0/8 ::1")).unwrap_err(),
            "Multiple network masks not supported"
        );
        let line = WhoLine::parse("imap/127.0.0.1/alice\t5\t1").unwrap();
        assert!(f_matches("ALI*", &line));
        assert!(f_matches("127.0.0.0/8", &line));
        assert!(!f_matches("10.0.0.0/8", &line));
        assert!(!f_matches("bob", &line));
        assert!(f_matches("0.0.0.0/0", &line));
    }

    fn f_matches(mask: &str, line: &WhoLine) -> bool {
        WhoFilter::parse(&[mask.to_string()])
            .unwrap()
            .line_matches(line)
    }

    #[test]
    fn dump_lines() {
        assert_eq!(
            WhoLine::parse("pop3/::1/b\u{1}tob\t77\t2").unwrap(),
            WhoLine {
                service: "pop3".into(),
                ip: Some("::1".parse().unwrap()),
                user: "b\tob".into(),
                pid: 77,
                count: 2,
            }
        );
        let lmtp = WhoLine::parse("lmtp/carol\t1\t1").unwrap();
        assert_eq!((lmtp.user.as_str(), lmtp.ip), ("carol", None));
        assert_eq!(WhoLine::parse("noslash\t1\t1"), None);
        assert_eq!(WhoLine::parse("imap/1.2.3.4/a\tx\t1"), None);
        assert_eq!(WhoLine::parse("imap/1.2.3.4/a\t1"), None);
    }

    #[test]
    fn who_tables() {
        let dump = lines(&[
            "imap/127.0.0.1/alice\t2001\t1",
            "imap/127.0.0.1/alice\t2002\t1",
            "imap/127.0.0.2/alice\t2002\t1",
            "pop3/127.0.0.1/bob\t2003\t1",
        ]);
        let all = WhoFilter::default();
        assert_eq!(
            who_table(&dump, &all, 80),
            format!(
                "username # proto (pids)      (ips){pad}\n\
                 alice    3 imap  (2001 2002) (127.0.0.1 127.0.0.2){short}\n\
                 bob      1 pop3  (2003)      (127.0.0.1){long}\n",
                // 50 columns wide: the last one gets (80 - 50) / 2 more.
                pad = " ".repeat(36 - 5),
                short = " ".repeat(36 - 21),
                long = " ".repeat(36 - 11),
            )
        );
        assert_eq!(
            who_separate_table(&dump, &WhoFilter::parse(&words("alice")).unwrap(), 80),
            format!(
                "username{pad} proto pid  ip       \n\
                 alice   {pad} imap  2001 127.0.0.1\n\
                 alice   {pad} imap  2002 127.0.0.1\n\
                 alice   {pad} imap  2002 127.0.0.2\n",
                // 29 columns wide: the user column gets (80 - 29) / 2 more.
                pad = " ".repeat(25),
            )
        );
        // Nobody: the titles alone.
        assert_eq!(
            who_table(&[], &all, 80),
            format!("username # proto (pids) (ips){}\n", " ".repeat(25))
        );
    }

    #[test]
    fn kick_plans_and_output() {
        let dump = lines(&[
            "imap/127.0.0.1/alice\t11\t1",
            "imap/127.0.0.1/alice\t12\t1",
            "imap/127.0.0.1/bob\t12\t1",
            "pop3/127.0.0.1/bob\t13\t1",
        ]);
        let alice = WhoFilter::parse(&words("alice")).unwrap();
        assert_eq!(
            kick_plan(&dump, &alice, false),
            KickPlan::Warn(vec!["bob".into()])
        );
        assert_eq!(
            kick_plan(&dump, &alice, true),
            KickPlan::Kill(vec![
                (11, vec!["alice".into()]),
                (12, vec!["alice".into(), "bob".into()])
            ])
        );
        let bob_pop = WhoFilter::parse(&words("b*")).unwrap();
        assert_eq!(
            kick_plan(&dump[3..], &bob_pop, false),
            KickPlan::Kill(vec![(13, vec!["bob".into()])])
        );
        assert_eq!(
            kick_plan(&dump, &WhoFilter::parse(&words("zed")).unwrap(), false),
            KickPlan::Kill(vec![])
        );
        assert_eq!(kick_output(vec![], false, false), "no users kicked\n");
        assert_eq!(
            kick_output(
                vec!["bob".into(), "alice".into(), "bob".into()],
                false,
                true
            ),
            "kicked connections from the following users:\nalice bob \n"
        );
        assert_eq!(
            kick_output(vec!["alice".into()], false, false),
            "alice kicked connections from the following users:\n\n"
        );
        assert_eq!(
            kick_output(vec!["bob".into()], true, true),
            "warning: other connections would also be kicked from following users:\nbob \n\
             Use the '-f' option to enforce the disconnect.\n"
        );
    }
}
