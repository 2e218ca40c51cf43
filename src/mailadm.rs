//! doveadm's mail commands that `coteadm` has: `quota get` and `quota recalc`, run as the
//! user (`-u`, or `$USER`) the userdb names, on the user's own storage — the same
//! `MailUser` a mail session builds — with doveadm's table output and exit codes.

use std::io::Write;
use std::path::PathBuf;

use crate::auth::client::{MasterClient, UserReply};
use crate::config::var_expand::MailUserVars;
use crate::config::{Config, FilterQuery};
use crate::log::{print_stderr, Level};
use crate::master::mail_login::become_user;
use crate::storage::user::{MailUser, MailUserInfo};

pub const EX_USAGE: u8 = 64;
pub const EX_NOUSER: u8 = 67;
pub const EX_NOTFOUND: u8 = 68;
pub const EX_TEMPFAIL: u8 = 75;

/// A parsed mail command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailCommand {
    pub verb: QuotaVerb,
    pub user: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaVerb {
    Get,
    Recalc,
}

const QUOTA_USAGE: &str =
    "usage: coteadm quota <command> [<args>]\n  get          \n  recalc       \n";

impl MailCommand {
    /// Parses `quota get|recalc [-u <user>]`; `None` when the words are not a mail command.
    /// `env_user`: `$USER`, used without `-u` as doveadm does.
    pub fn parse(
        words: &[String],
        env_user: Option<String>,
    ) -> Option<Result<MailCommand, String>> {
        let (first, rest) = words.split_first()?;
        if first != "quota" {
            return None;
        }
        let Some((verb, options)) = rest.split_first() else {
            return Some(Err(QUOTA_USAGE.into()));
        };
        let verb = match verb.as_str() {
            "get" => QuotaVerb::Get,
            "recalc" => QuotaVerb::Recalc,
            _ => return Some(Err(QUOTA_USAGE.into())),
        };
        let mut user = None;
        let mut options = options.iter();
        while let Some(option) = options.next() {
            match option.as_str() {
                "-u" => match options.next() {
                    Some(u) => user = Some(u.clone()),
                    None => return Some(Err("option requires an argument -- 'u'".into())),
                },
                "-A" | "-F" | "-S" => {
                    return Some(Err(format!(
                        "quota: {option} is not supported by this build of cote yet"
                    )))
                }
                other => return Some(Err(format!("Unknown argument: {other}"))),
            }
        }
        let Some(user) = user.or(env_user) else {
            return Some(Err(
                "USER environment is missing and -u option not used".into()
            ));
        };
        Some(Ok(MailCommand { verb, user }))
    }
}

/// Runs a mail command against `config`; returns the exit code. Output goes to `out`,
/// errors to stderr with `prefix`.
pub fn run(command: &MailCommand, config: &Config, prefix: &str, out: &mut dyn Write) -> u8 {
    let fail = |code: u8, text: &str| {
        print_stderr(prefix, Level::Error, text);
        code
    };
    let user = match mail_user(config, &command.user) {
        Ok(u) => u,
        Err((code, text)) => return fail(code, &text),
    };
    let Some(quota) = user.quota().cloned() else {
        return fail(EX_NOTFOUND, "Quota not enabled");
    };
    let mut quota = quota.borrow_mut();
    match command.verb {
        QuotaVerb::Recalc => {
            if let Err(e) = quota.recalculate() {
                print_stderr(
                    prefix,
                    Level::Error,
                    &format!(
                        "Recalculating quota failed: {}",
                        e.internal().unwrap_or(e.client_text())
                    ),
                );
            }
            0
        }
        QuotaVerb::Get => {
            let mut rows = Vec::new();
            let mut failed = false;
            for root in quota.report() {
                match root.resources {
                    Ok(resources) => {
                        for r in resources {
                            let (limit, percent) = if r.limit > 0 {
                                (r.limit.to_string(), (r.value * 100 / r.limit).to_string())
                            } else {
                                ("-".to_string(), "0".to_string())
                            };
                            rows.push(vec![
                                root.name.clone(),
                                r.name.to_string(),
                                r.value.to_string(),
                                limit,
                                percent,
                            ]);
                        }
                    }
                    Err(e) => {
                        failed = true;
                        print_stderr(
                            prefix,
                            Level::Error,
                            &format!(
                                "Failed to get quota resource: {}",
                                e.internal().unwrap_or(e.client_text())
                            ),
                        );
                        for name in [
                            crate::storage::quota::RESOURCE_STORAGE,
                            crate::storage::quota::RESOURCE_MESSAGES,
                        ] {
                            rows.push(vec![
                                root.name.clone(),
                                name.to_string(),
                                "error".into(),
                                "error".into(),
                                "error".into(),
                            ]);
                        }
                    }
                }
            }
            drop(quota);
            let headers = [
                ("Quota name", false),
                ("Type", false),
                ("Value", true),
                ("Limit", true),
                ("%", true),
            ];
            let table = table(&headers, &rows, terminal_columns());
            let _ = out.write_all(table.as_bytes());
            if failed {
                EX_TEMPFAIL
            } else {
                0
            }
        }
    }
}

/// The user's storage, as a doveadm mail command gets it: the userdb lookup (service
/// `doveadm`), this process becoming the user, the configuration for protocol doveadm.
fn mail_user(config: &Config, name: &str) -> Result<MailUser, (u8, String)> {
    let global = config.global();
    let socket = {
        let path = global.str("auth_socket_path");
        if path.starts_with('/') {
            PathBuf::from(path)
        } else {
            PathBuf::from(global.str("base_dir")).join(path)
        }
    };
    let reply = MasterClient::connect(&socket).and_then(|mut c| c.user(name, "doveadm", &[]));
    let (user, fields) = match reply {
        Ok(UserReply::User { user, fields }) => (user, fields),
        Ok(UserReply::NotFound) => return Err((EX_NOUSER, format!("User doesn't exist: {name}"))),
        Ok(UserReply::Fail { reason }) => {
            return Err((
                EX_TEMPFAIL,
                format!(
                    "User lookup failed: {}",
                    reason.unwrap_or_else(|| "Internal error".into())
                ),
            ))
        }
        Err(e) => {
            return Err((
                EX_TEMPFAIL,
                format!(
                    "Couldn't connect to {}: {}",
                    socket.display(),
                    crate::errtext::os_error_text(&e)
                ),
            ))
        }
    };
    let settings = config.settings(&FilterQuery {
        protocol: Some("doveadm".into()),
        ..FilterQuery::default()
    });
    let mut vars = MailUserVars {
        user,
        service: "doveadm".into(),
        userdb_fields: Some(fields.clone()),
        ..MailUserVars::default()
    };
    become_user(&settings, &fields, &mut vars).map_err(|e| (EX_TEMPFAIL, e))?;
    let info = MailUserInfo::from_vars(&vars, &fields);
    MailUser::new(&settings, info).map_err(|e| {
        (
            EX_TEMPFAIL,
            e.internal().unwrap_or(e.client_text()).to_string(),
        )
    })
}

/// Dovecot's `doveadm_calc_header_length`, shrinking included.
fn column_widths(
    headers: &[(&str, bool)],
    rows: &[Vec<String>],
    columns: usize,
    expand: usize,
) -> Vec<usize> {
    /// doveadm sizes its columns by the rows it buffered first.
    const SIZED_BY_ROWS: usize = 100;
    let titles: Vec<usize> = headers.iter().map(|(t, _)| t.chars().count()).collect();
    let (mut min, mut max, mut width) = (titles.clone(), titles.clone(), titles);
    for row in rows.iter().take(SIZED_BY_ROWS) {
        for (i, value) in row.iter().enumerate().take(headers.len()) {
            let len = value.chars().count();
            min[i] = min[i].min(len);
            if max[i] < len {
                max[i] = len;
                width[i] = len;
            }
        }
    }
    let mut total = max.iter().map(|m| m + 1).sum::<usize>().saturating_sub(1);
    while total > columns {
        let before = total;
        for i in (0..width.len()).rev() {
            let diff = width[i] - min[i];
            if total - diff <= columns {
                let cut = total - columns;
                width[i] -= cut;
                total -= cut;
                break;
            }
            // As doveadm does: this narrows the column but not the total.
            if diff > 0 {
                width[i] -= if diff == 1 { 1 } else { diff / 2 };
            }
        }
        if total == before {
            break;
        }
    }
    if total < columns {
        if let Some(w) = width.get_mut(expand) {
            *w += (columns - total) / 2;
        }
    }
    width
}

/// The terminal's width, as doveadm's table formatter takes it (80 when not a terminal).
pub fn terminal_columns() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize we pass; a failure leaves it unread.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok {
        usize::from(ws.ws_col).max(30)
    } else {
        80
    }
}

/// doveadm's table output (Dovecot's `doveadm-print-table.c`): each column as wide as its
/// widest value among the first 100 rows, right-justified where asked; a table wider than the
/// line has its columns shrunk toward their narrowest values, last column first; a narrower
/// one gives half of the room left to the last column.
pub fn table(headers: &[(&str, bool)], rows: &[Vec<String>], columns: usize) -> String {
    table_expanding(headers, rows, columns, headers.len().saturating_sub(1))
}

/// [`table`] where column `expand` (doveadm's `EXPAND` header flag) gets the room left.
pub fn table_expanding(
    headers: &[(&str, bool)],
    rows: &[Vec<String>],
    columns: usize,
    expand: usize,
) -> String {
    let widths = column_widths(headers, rows, columns, expand);
    let line = |values: Vec<&str>| {
        let cells: Vec<String> = values
            .iter()
            .zip(headers.iter().zip(&widths))
            .map(|(v, ((_, right), w))| {
                if *right {
                    format!("{v:>w$}")
                } else {
                    format!("{v:<w$}")
                }
            })
            .collect();
        format!("{}\n", cells.join(" "))
    };
    let mut out = line(headers.iter().map(|(t, _)| *t).collect());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_tables_shrink_as_doveadm_shrinks_them() {
        let titles = [
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
        ];
        let headers: Vec<(&str, bool)> = titles.iter().map(|t| (*t, false)).collect();
        let row = [
            "",
            "0",
            "self",
            "never",
            "ring synced",
            "0",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
        ];
        let rows = vec![row.iter().map(|v| v.to_string()).collect::<Vec<_>>()];
        // Byte for byte what doveadm 2.3.19.1 printed for `director ring status`.
        assert_eq!(
            table(&headers, &rows, 80),
            "director ip port type last failed status    ping ms input output buffered \
             buffered peak last read last write\n       0   self never    ring synced 0    \
             -   -    -     -       -     -     \n"
        );
    }

    #[test]
    fn tables_as_doveadm_prints_them() {
        let headers = [
            ("Quota name", false),
            ("Type", false),
            ("Value", true),
            ("Limit", true),
            ("%", true),
        ];
        let row = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Byte for byte what doveadm 2.3.19.1 printed for these values.
        let out = table(
            &headers,
            &[
                row(&["User quota", "STORAGE", "11", "10", "110"]),
                row(&["User quota", "MESSAGE", "5", "5", "100"]),
            ],
            80,
        );
        assert_eq!(
            out,
            "Quota name Type    Value Limit                          %\n\
             User quota STORAGE    11    10                        110\n\
             User quota MESSAGE     5     5                        100\n"
        );
        let out = table(
            &headers,
            &[
                row(&["User quota", "STORAGE", "0", "10", "0"]),
                row(&["User quota", "MESSAGE", "0", "5", "0"]),
            ],
            80,
        );
        assert!(out.starts_with("Quota name Type    Value Limit                         %\n"));
    }

    #[test]
    fn command_lines() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(MailCommand::parse(&words(&["user", "x"]), None), None);
        assert_eq!(
            MailCommand::parse(&words(&["quota", "get", "-u", "alice"]), None),
            Some(Ok(MailCommand {
                verb: QuotaVerb::Get,
                user: "alice".into()
            }))
        );
        assert_eq!(
            MailCommand::parse(&words(&["quota", "recalc"]), Some("bob".into())),
            Some(Ok(MailCommand {
                verb: QuotaVerb::Recalc,
                user: "bob".into()
            }))
        );
        assert!(matches!(
            MailCommand::parse(&words(&["quota", "get"]), None),
            Some(Err(e)) if e.contains("USER environment")
        ));
        assert!(matches!(
            MailCommand::parse(&words(&["quota"]), None),
            Some(Err(_))
        ));
    }
}
