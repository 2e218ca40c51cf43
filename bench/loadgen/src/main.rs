//! cote-loadgen: the load generator and corpus writer behind `make bench` (see bench/README).
//!
//!   cote-loadgen corpus --maildir DIR --count N [--seed S] [--profile mixed|small]
//!   cote-loadgen imap-mix --addr A --users U --clients N --seconds T --mode churn|persistent
//!   cote-loadgen logins|pop3|lmtp --addr A --users U --clients N --seconds T
//!   cote-loadgen fetch-all --addr A --users U [--expect N] [--repeat R]
//!   cote-loadgen search-text --addr A --users U --count N [--seed S] [--profile P] [--repeat R]
//!   cote-loadgen idle --addr A --users U --sessions N      (holds them until stdin closes)
//!   cote-loadgen cluster-load|cluster-check ...            (see src/cluster/mod.rs)
//!
//! Users: `--users bench%d:1-50` (user names bench1..bench50) or a comma list. The password is
//! `--password` (default `pw`). Each run prints a table on stderr and one JSON line on stdout.

mod cluster;
mod corpus;
mod imap;
mod imap_load;
mod line_load;
mod stats;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use imap_load::{Mode, Target};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("cote-loadgen: {err}");
            ExitCode::from(2)
        }
    }
}

struct Options(HashMap<String, String>);

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(key) = it.next() {
            let name = key
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {key:?}"))?;
            let value = it.next().ok_or_else(|| format!("{key} needs a value"))?;
            map.insert(name.to_string(), value.clone());
        }
        Ok(Options(map))
    }

    fn str(&self, name: &str) -> Result<&str, String> {
        self.0
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| format!("--{name} is required"))
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: Option<T>) -> Result<T, String> {
        match self.0.get(name) {
            Some(value) => value
                .parse()
                .map_err(|_| format!("--{name}: bad number {value:?}")),
            None => default.ok_or_else(|| format!("--{name} is required")),
        }
    }

    fn target(&self) -> Result<Target, String> {
        Ok(Target {
            addr: self.str("addr")?.to_string(),
            ..self.target_without_addr()?
        })
    }

    fn target_without_addr(&self) -> Result<Target, String> {
        Ok(Target {
            addr: String::new(),
            users: parse_users(self.str("users")?)?,
            password: self
                .0
                .get("password")
                .cloned()
                .unwrap_or_else(|| "pw".to_string()),
            timeout: Duration::from_secs(self.num("timeout", Some(120))?),
        })
    }

    fn cluster(&self) -> Result<cluster::Cluster, String> {
        let target = self.target_without_addr()?;
        Ok(cluster::Cluster {
            nodes: cluster::parse_nodes(self.str("nodes")?)?,
            users: target.users,
            password: target.password,
            timeout: target.timeout,
        })
    }

    fn profile(&self) -> Result<corpus::SizeProfile, String> {
        let name = self.0.get("profile").map(String::as_str).unwrap_or("mixed");
        corpus::SizeProfile::parse(name)
            .ok_or_else(|| format!("--profile: {name:?} is not mixed or small"))
    }
}

/// `fmt%d:A-B` expands to fmt with A..=B; anything else is a comma-separated list.
fn parse_users(spec: &str) -> Result<Vec<String>, String> {
    let users: Vec<String> = match spec.split_once(':') {
        Some((format, range)) if format.contains("%d") => {
            let (low, high) = range
                .split_once('-')
                .ok_or_else(|| format!("--users {spec:?}: range is A-B"))?;
            let low: u32 = low
                .parse()
                .map_err(|_| format!("--users {spec:?}: bad range"))?;
            let high: u32 = high
                .parse()
                .map_err(|_| format!("--users {spec:?}: bad range"))?;
            (low..=high)
                .map(|n| format.replace("%d", &n.to_string()))
                .collect()
        }
        _ => spec
            .split(',')
            .filter(|u| !u.is_empty())
            .map(str::to_string)
            .collect(),
    };
    if users.is_empty() {
        return Err(format!("--users {spec:?}: no users"));
    }
    Ok(users)
}

fn run(args: &[String]) -> Result<(), String> {
    let (command, rest) = args
        .split_first()
        .ok_or("usage: cote-loadgen COMMAND [--option value]... (see the source header)")?;
    let opts = Options::parse(rest)?;
    let seconds = || {
        opts.num::<u64>("seconds", Some(10))
            .map(Duration::from_secs)
    };
    let clients = || opts.num::<usize>("clients", Some(10));
    let seed = opts.num::<u64>("seed", Some(1))?;
    let (mut stats, wall) = match command.as_str() {
        "corpus" => {
            let dir = PathBuf::from(opts.str("maildir")?);
            let count = opts.num::<u64>("count", None)?;
            let bytes = corpus::write_maildir(&dir, seed, count, opts.profile()?)
                .map_err(|err| format!("{}: {err}", dir.display()))?;
            println!("{}", serde_json::json!({"messages": count, "bytes": bytes}));
            return Ok(());
        }
        "imap-mix" => {
            let mode = match opts.str("mode")? {
                "churn" => Mode::Churn,
                "persistent" => Mode::Persistent,
                other => return Err(format!("--mode {other:?}: churn or persistent")),
            };
            imap_load::run_mix(&opts.target()?, clients()?, seconds()?, mode, seed)
        }
        "logins" => imap_load::run_logins(&opts.target()?, clients()?, seconds()?),
        "fetch-all" => imap_load::run_fetch_all(
            &opts.target()?,
            opts.0.get("expect").and_then(|n| n.parse().ok()),
            opts.num("repeat", Some(1))?,
        ),
        "search-text" => imap_load::run_search_text(
            &opts.target()?,
            seed,
            opts.num("count", None)?,
            opts.profile()?,
            opts.num("repeat", Some(3))?,
        ),
        "idle" => imap_load::run_idle(&opts.target()?, opts.num("sessions", None)?),
        "cluster-load" => {
            let cluster = opts.cluster()?;
            let dir = PathBuf::from(opts.str("journal")?);
            cluster::run_load(
                &cluster,
                opts.num("workers", Some(8))?,
                seconds()?,
                &dir,
                seed,
            )?
        }
        "cluster-check" => {
            let cluster = opts.cluster()?;
            let dir = PathBuf::from(opts.str("journal")?);
            let settle = Duration::from_secs(opts.num("settle", Some(30))?);
            return if cluster::run_check(&cluster, &dir, settle)? {
                Ok(())
            } else {
                Err("the cluster's invariants do not hold (see above)".to_string())
            };
        }
        "pop3" => line_load::run_pop3(&opts.target()?, clients()?, seconds()?),
        "lmtp" => line_load::run_lmtp(&opts.target()?, clients()?, seconds()?, seed),
        other => return Err(format!("unknown command {other:?}")),
    };
    println!("{}", stats.report(wall));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_specs() {
        assert_eq!(parse_users("b%d:2-4").unwrap(), ["b2", "b3", "b4"]);
        assert_eq!(parse_users("alice,bob").unwrap(), ["alice", "bob"]);
        assert!(parse_users("b%d:x").is_err());
        assert!(parse_users("").is_err());
    }
}
