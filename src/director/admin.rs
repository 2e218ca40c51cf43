//! The director's admin socket (`director-admin`), Dovecot's `director-doveadm` protocol, so
//! `coteadm director` (and Dovecot's `doveadm director`) can list and change the backends
//! and users. Lines are TAB-separated; both sides first send
//! `VERSION\tdirector-doveadm\t1\t0`. Lists end with an empty line; changes answer `OK`,
//! `NOTFOUND` or a reason.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;

use crate::auth::fields::{split_tabescaped, tab_escape};

use super::service::{now, with_director};
use super::state::{AdminRefusal, Director};

pub const HANDSHAKE: &str = "VERSION\tdirector-doveadm\t1\t0";

const MAX_LINE: u64 = 65536;

/// Serves one admin connection until it closes.
pub fn serve(stream: UnixStream) -> Result<(), String> {
    let mut writer = stream
        .try_clone()
        .map_err(|e| format!("dup() failed: {e}"))?;
    writer
        .write_all(format!("{HANDSHAKE}\n").as_bytes())
        .map_err(|e| format!("write failed: {e}"))?;
    let mut reader = BufReader::new(stream);
    let mut handshaked = false;
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut reader).take(MAX_LINE).read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("read failed: {e}")),
        }
        let text = line.trim_end_matches('\n');
        if !handshaked {
            if !text.starts_with("VERSION\tdirector-doveadm\t1\t") {
                return Err(format!("doveadm sent invalid handshake: {text}"));
            }
            handshaked = true;
            continue;
        }
        let args = split_tabescaped(text);
        let reply = {
            match with_director(|d| answer(d, &args, now())) {
                Some(reply) => reply?,
                None => return Ok(()),
            }
        };
        writer
            .write_all(reply.as_bytes())
            .map_err(|e| format!("write failed: {e}"))?;
    }
}

fn refusal(r: AdminRefusal) -> String {
    match r {
        AdminRefusal::NotFound => "NOTFOUND\n".into(),
        AdminRefusal::Other(text) => format!("{text}\n"),
    }
}

fn done(result: Result<(), AdminRefusal>) -> String {
    result.map_or_else(refusal, |()| "OK\n".into())
}

fn invalid(command: &str) -> Result<String, String> {
    Err(format!("doveadm sent invalid {command} parameters"))
}

/// A user given by name or by its hash.
fn user_hash(d: &Director, user: &str) -> Option<u32> {
    user.parse().ok().or_else(|| d.hash(user).ok())
}

/// The reply to one command; `Err` ends the connection (the error is logged).
pub fn answer(d: &mut Director, args: &[String], now: i64) -> Result<String, String> {
    let Some((command, args)) = args.split_first() else {
        return Err("doveadm sent an empty command".into());
    };
    let arg = |i: usize| args.get(i).map(String::as_str);
    let ip = |i: usize| arg(i).and_then(|s| s.parse::<IpAddr>().ok());
    Ok(match command.as_str() {
        "HOST-LIST" => {
            let mut out = String::new();
            for (h, users) in d.host_list(now) {
                out.push_str(&format!(
                    "{}\t{}\t{users}\t{}\t{}\t{}\n",
                    h.ip,
                    h.vhost_count,
                    tab_escape(&h.tag),
                    if h.down { 'D' } else { 'U' },
                    h.last_updown_change
                ));
            }
            out.push('\n');
            out
        }
        "DIRECTOR-LIST" => super::ring::status_lines(),
        "HOST-SET" | "HOST-UPDATE" => {
            let update = command == "HOST-UPDATE";
            let Some(spec) = arg(0) else {
                return invalid(command);
            };
            let (ip_text, tag) = spec.split_once('@').unwrap_or((spec, ""));
            let Ok(ip) = ip_text.parse::<IpAddr>() else {
                return invalid(command);
            };
            let count = match arg(1) {
                Some(n) => match n.parse::<u32>() {
                    Ok(n) => Some(n),
                    Err(_) => return invalid(command),
                },
                None if update => return invalid(command),
                None => None,
            };
            match (update, count) {
                (true, Some(n)) => done(d.host_update(ip, n, now)),
                _ => done(d.host_set(ip, tag, count, now)),
            }
        }
        "HOST-UP" | "HOST-DOWN" => {
            let Some(ip) = ip(0) else {
                return Err(format!(
                    "doveadm sent invalid {command} parameters: {}",
                    arg(0).unwrap_or("")
                ));
            };
            done(d.host_updown(ip, command == "HOST-DOWN", now))
        }
        "HOST-REMOVE" => match ip(0) {
            Some(ip) => done(d.host_remove(ip, now)),
            None => return invalid(command),
        },
        "HOST-FLUSH" => match arg(0) {
            None | Some("") => {
                let ips: Vec<IpAddr> = d.host_list(now).iter().map(|(h, _)| h.ip).collect();
                let total: usize = ips
                    .iter()
                    .filter_map(|ip| d.host_flush(*ip, now).ok())
                    .sum();
                log::warn!(
                    "Flushed all backend hosts with {total} users. This is an unsafe \
                     operation and may cause the same users to end up in multiple backends."
                );
                "OK\n".into()
            }
            Some(_) => match ip(0) {
                Some(ip) => done(d.host_flush(ip, now).map(drop)),
                None => return invalid(command),
            },
        },
        "HOST-RESET-USERS" => {
            let only = match arg(0) {
                None | Some("") => None,
                Some(text) => match text.parse::<IpAddr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => return Err(format!("doveadm sent invalid {command} ip: {text}")),
                },
            };
            match d.reset_users(only, now) {
                Ok(moved) => {
                    log::info!("Moved {moved} users");
                    "OK\n".into()
                }
                Err(r) => refusal(r),
            }
        }
        "USER-LOOKUP" => {
            let Some(hash) = user_hash(d, arg(0).unwrap_or("")) else {
                return Ok("TRYAGAIN\n".into());
            };
            let status = d.user_status(hash, arg(1).unwrap_or(""), now);
            let show = |ip: Option<IpAddr>| ip.map_or_else(String::new, |ip| ip.to_string());
            let current = match status.current {
                Some((ip, expires)) => format!("{ip}\t{expires}"),
                None => "\t0".into(),
            };
            format!(
                "{current}\t{}\t{}\n",
                show(status.hashed),
                show(status.initial)
            )
        }
        "USER-LIST" => {
            let only = match arg(0) {
                None | Some("") => None,
                Some(_) => match ip(0) {
                    Some(ip) => Some(ip),
                    None => return invalid(command),
                },
            };
            let expire = d.user_expire;
            let mut out = String::new();
            for u in d.all_users(now) {
                if only.is_none_or(|ip| ip == u.host) {
                    out.push_str(&format!(
                        "{}\t{}\t{}\n",
                        u.hash,
                        u.timestamp + expire,
                        u.host
                    ));
                }
            }
            out.push('\n');
            out
        }
        "USER-MOVE" => {
            let (Some(user), Some(ip)) = (arg(0), ip(1)) else {
                return invalid(command);
            };
            let Some(hash) = user_hash(d, user) else {
                return Ok("TRYAGAIN\n".into());
            };
            done(d.user_move(hash, ip, now))
        }
        "USER-KICK" => {
            let Some(user) = arg(0) else {
                return invalid(command);
            };
            let n = d.kick_user(user);
            log::info!("Kicked {n} sessions of user {user}");
            "OK\n".into()
        }
        other => return Err(format!("doveadm sent unknown command: {other}")),
    })
}

/// The client side, for `coteadm director`: a connection that has done the handshake.
pub struct AdminClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl AdminClient {
    pub fn connect(path: &std::path::Path) -> io::Result<AdminClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        let mut writer = stream.try_clone()?;
        writer.write_all(format!("{HANDSHAKE}\n").as_bytes())?;
        let mut client = AdminClient {
            reader: BufReader::new(stream),
            writer,
        };
        match client.read_line()? {
            Some(line) if line.starts_with("VERSION\tdirector-doveadm\t1\t") => Ok(client),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} not a compatible director-doveadm socket",
                    path.display()
                ),
            )),
        }
    }

    pub fn send(&mut self, args: &[&str]) -> io::Result<()> {
        let line: Vec<String> = args.iter().map(|a| tab_escape(a)).collect();
        self.writer
            .write_all(format!("{}\n", line.join("\t")).as_bytes())
    }

    /// The next line; `None` at the end of the connection.
    pub fn read_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        match (&mut self.reader).take(MAX_LINE).read_line(&mut line)? {
            0 => Ok(None),
            _ => Ok(Some(line.trim_end_matches('\n').to_string())),
        }
    }

    /// The lines of a list, up to the empty line that ends it.
    pub fn read_list(&mut self) -> io::Result<Vec<Vec<String>>> {
        let mut rows = Vec::new();
        loop {
            match self.read_line()? {
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "unexpectedly disconnected",
                    ))
                }
                Some(line) if line.is_empty() => return Ok(rows),
                Some(line) => rows.push(split_tabescaped(&line)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::director::hosts::MailHosts;

    fn run(d: &mut Director, line: &str) -> String {
        answer(d, &split_tabescaped(line), 100).unwrap()
    }

    #[test]
    fn commands_answer_as_dovecots_director() {
        let mut d = Director::new(MailHosts::parse("10.0.0.1 10.0.0.2@t").unwrap(), 900, "%Lu");
        assert_eq!(
            run(&mut d, "HOST-LIST"),
            "10.0.0.1\t100\t0\t\tU\t0\n10.0.0.2\t100\t0\tt\tU\t0\n\n"
        );
        assert_eq!(run(&mut d, "HOST-DOWN\t10.0.0.1"), "OK\n");
        assert_eq!(run(&mut d, "HOST-UP\t10.0.0.9"), "NOTFOUND\n");
        assert_eq!(run(&mut d, "HOST-SET\t10.0.0.3@t\t5"), "OK\n");
        assert_eq!(
            run(&mut d, "HOST-SET\t10.0.0.3\t1001"),
            "vhost count too large\n"
        );
        assert_eq!(run(&mut d, "HOST-UPDATE\t10.0.0.3\t7"), "OK\n");
        assert_eq!(
            run(&mut d, "HOST-LIST"),
            "10.0.0.1\t100\t0\t\tD\t100\n10.0.0.2\t100\t0\tt\tU\t0\n10.0.0.3\t7\t0\tt\tU\t0\n\n"
        );
        assert!(answer(&mut d, &split_tabescaped("HOST-UPDATE\t10.0.0.3"), 1).is_err());
        assert!(answer(&mut d, &split_tabescaped("NOSUCH"), 1).is_err());
        d.host_updown("10.0.0.1".parse().unwrap(), false, 100)
            .unwrap();
        d.request("alice", "", 100).unwrap();
        let hash = d.hash("alice").unwrap();
        assert_eq!(
            run(&mut d, "USER-LOOKUP\talice\t"),
            "10.0.0.1\t1000\t10.0.0.1\t10.0.0.1\n"
        );
        assert_eq!(run(&mut d, "USER-LOOKUP\tbob\tnotag"), "\t0\t\t\n");
        assert_eq!(
            run(&mut d, "USER-LIST"),
            format!("{hash}\t1000\t10.0.0.1\n\n")
        );
        assert_eq!(run(&mut d, "USER-LIST\t10.0.0.2"), "\n");
        assert_eq!(run(&mut d, "USER-MOVE\talice\t10.0.0.9"), "NOTFOUND\n");
        assert_eq!(run(&mut d, "USER-KICK\talice"), "OK\n");
        assert_eq!(run(&mut d, "HOST-RESET-USERS"), "OK\n");
        assert_eq!(run(&mut d, "HOST-FLUSH\t10.0.0.1"), "OK\n");
        assert_eq!(run(&mut d, "USER-LIST"), "\n");
        assert_eq!(run(&mut d, "HOST-REMOVE\t10.0.0.1"), "OK\n");
        assert_eq!(run(&mut d, "HOST-REMOVE\t10.0.0.1"), "NOTFOUND\n");
    }
}
