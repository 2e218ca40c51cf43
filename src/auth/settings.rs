//! The auth settings as plain values: global `auth_*` settings and the passdb/userdb
//! sections, as one service (protocol) sees them.

use std::net::{IpAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Section, Settings};

/// What `result_success` / `result_failure` / `result_internalfail` say to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Return,
    ReturnOk,
    ReturnFail,
    Continue,
    ContinueOk,
    ContinueFail,
}

impl Rule {
    pub fn parse(value: &str) -> Result<Rule, String> {
        Ok(match value {
            "return" => Rule::Return,
            "return-ok" => Rule::ReturnOk,
            "return-fail" => Rule::ReturnFail,
            "continue" => Rule::Continue,
            "continue-ok" => Rule::ContinueOk,
            "continue-fail" => Rule::ContinueFail,
            _ => return Err(format!("Invalid result rule: {value}")),
        })
    }

    pub fn continues(self) -> bool {
        matches!(self, Rule::Continue | Rule::ContinueOk | Rule::ContinueFail)
    }
}

/// passdb `skip =` (`never`, `authenticated`, `unauthenticated`) and userdb `skip =`
/// (`never`, `found`, `notfound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Never,
    Authenticated,
    Unauthenticated,
    Found,
    NotFound,
}

impl Skip {
    fn parse(value: &str) -> Result<Skip, String> {
        Ok(match value {
            "never" | "" => Skip::Never,
            "authenticated" => Skip::Authenticated,
            "unauthenticated" => Skip::Unauthenticated,
            "found" => Skip::Found,
            "notfound" => Skip::NotFound,
            _ => return Err(format!("Invalid skip value: {value}")),
        })
    }
}

/// One `passdb { }` or `userdb { }` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbSettings {
    pub name: String,
    pub driver: String,
    pub args: String,
    pub default_fields: String,
    pub override_fields: String,
    pub skip: Skip,
    pub result_success: Rule,
    pub result_failure: Rule,
    pub result_internalfail: Rule,
    /// passdb only.
    pub deny: bool,
    pub master: bool,
    pub pass: bool,
    /// passdb `mechanisms =`: the mechanisms this passdb is used for (`none` = no mechanism).
    pub mechanisms: Option<Vec<String>>,
    /// passdb `username_filter =`: wildcard patterns, `!` excludes.
    pub username_filter: Option<Vec<String>>,
    /// `auth_verbose = yes|no` for this db; None = the global setting.
    pub auth_verbose: Option<bool>,
}

impl DbSettings {
    /// The name used in log lines: the section name, else the driver.
    pub fn log_name(&self) -> &str {
        if self.name.is_empty() {
            &self.driver
        } else {
            &self.name
        }
    }

    fn from_section(section: &Section<'_>, passdb: bool) -> Result<DbSettings, String> {
        let list = |key: &str| {
            let value = section.str(key);
            let items: Vec<String> = value
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            (!items.is_empty()).then_some(items)
        };
        let mut settings = DbSettings {
            name: section.str("name").to_string(),
            driver: section.str("driver").to_string(),
            args: section.str("args").to_string(),
            default_fields: section.str("default_fields").to_string(),
            override_fields: section.str("override_fields").to_string(),
            skip: Skip::parse(section.str("skip"))?,
            result_success: Rule::parse(section.str("result_success"))?,
            result_failure: Rule::parse(section.str("result_failure"))?,
            result_internalfail: Rule::parse(section.str("result_internalfail"))?,
            deny: passdb && section.bool("deny"),
            master: passdb && section.bool("master"),
            pass: passdb && section.bool("pass"),
            mechanisms: if passdb { list("mechanisms") } else { None },
            username_filter: if passdb {
                list("username_filter")
            } else {
                None
            },
            auth_verbose: match section.str("auth_verbose") {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        };
        // Dovecot's backwards compatibility: pass = yes means "continue after success".
        if settings.pass {
            settings.result_success = Rule::Continue;
        }
        Ok(settings)
    }

    /// A db section built in code (tests, the implicit userdb).
    pub fn new(driver: &str, args: &str) -> DbSettings {
        DbSettings {
            name: String::new(),
            driver: driver.to_string(),
            args: args.to_string(),
            default_fields: String::new(),
            override_fields: String::new(),
            skip: Skip::Never,
            result_success: Rule::ReturnOk,
            result_failure: Rule::Continue,
            result_internalfail: Rule::Continue,
            deny: false,
            master: false,
            pass: false,
            mechanisms: None,
            username_filter: None,
            auth_verbose: None,
        }
    }
}

/// The global auth settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub base_dir: PathBuf,
    /// `auth_mechanisms`, upper-cased, in order.
    pub mechanisms: Vec<String>,
    pub username_format: String,
    /// `auth_username_chars`; empty = anything goes.
    pub username_chars: String,
    /// `auth_username_translation` as (from, to) pairs.
    pub username_translation: Vec<(char, char)>,
    pub default_realm: String,
    pub realms: Vec<String>,
    pub master_user_separator: Option<char>,
    pub anonymous_username: String,
    pub failure_delay: Duration,
    pub cache_size: u64,
    pub cache_ttl: Duration,
    pub cache_negative_ttl: Duration,
    pub verbose: bool,
    /// `auth_verbose_passwords`: `no`, `plain`, `sha1`, optionally `:<max length>`.
    pub verbose_passwords: String,
    pub debug: bool,
    pub debug_passwords: bool,
    pub ssl_require_client_cert: bool,
    pub ssl_username_from_cert: bool,
    pub first_valid_uid: u64,
    pub last_valid_uid: u64,
    pub first_valid_gid: u64,
    pub last_valid_gid: u64,
    pub worker_max_count: u64,
    /// `auth_proxy_self`: more addresses of this server, for `proxy_maybe`.
    pub proxy_self: Vec<IpAddr>,
    pub passdbs: Vec<DbSettings>,
    pub userdbs: Vec<DbSettings>,
}

impl AuthSettings {
    /// Reads the auth settings; an invalid value is an error naming the setting.
    pub fn from_settings(s: &Settings<'_>) -> Result<AuthSettings, String> {
        let translation: Vec<char> = s.str("auth_username_translation").chars().collect();
        let separator = s.str("auth_master_user_separator");
        let debug_passwords = s.bool("auth_debug_passwords");
        let verbose_passwords = s.str("auth_verbose_passwords").to_string();
        let verbose_passwords = match verbose_passwords.as_str() {
            "yes" => "plain".to_string(),
            _ => verbose_passwords,
        };
        check_verbose_passwords(&verbose_passwords)?;
        let passdbs = s
            .sections("passdb")
            .iter()
            .map(|sec| DbSettings::from_section(sec, true))
            .collect::<Result<Vec<_>, _>>()?;
        let userdbs = s
            .sections("userdb")
            .iter()
            .map(|sec| DbSettings::from_section(sec, false))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AuthSettings {
            base_dir: PathBuf::from(s.str("base_dir")),
            mechanisms: s
                .str("auth_mechanisms")
                .split_whitespace()
                .map(str::to_ascii_uppercase)
                .collect(),
            username_format: s.str("auth_username_format").to_string(),
            username_chars: s.str("auth_username_chars").to_string(),
            username_translation: translation
                .chunks(2)
                .filter(|pair| pair.len() == 2)
                .map(|pair| (pair[0], pair[1]))
                .collect(),
            default_realm: s.str("auth_default_realm").to_string(),
            realms: s
                .str("auth_realms")
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            master_user_separator: separator.chars().next(),
            anonymous_username: s.str("auth_anonymous_username").to_string(),
            failure_delay: s.time("auth_failure_delay"),
            cache_size: s.size("auth_cache_size"),
            cache_ttl: s.time("auth_cache_ttl"),
            cache_negative_ttl: s.time("auth_cache_negative_ttl"),
            verbose: s.bool("auth_verbose") || debug_passwords || s.bool("auth_debug"),
            verbose_passwords,
            debug: s.bool("auth_debug") || debug_passwords,
            debug_passwords,
            ssl_require_client_cert: s.bool("auth_ssl_require_client_cert"),
            ssl_username_from_cert: s.bool("auth_ssl_username_from_cert"),
            first_valid_uid: s.uint("first_valid_uid"),
            last_valid_uid: s.uint("last_valid_uid"),
            first_valid_gid: s.uint("first_valid_gid"),
            last_valid_gid: s.uint("last_valid_gid"),
            worker_max_count: s.uint("auth_worker_max_count"),
            proxy_self: proxy_self_ips(s.str("auth_proxy_self"))?,
            passdbs,
            userdbs,
        })
    }

    /// Settings with Dovecot's defaults and the given dbs, for code that has no config file.
    pub fn with_dbs(passdbs: Vec<DbSettings>, userdbs: Vec<DbSettings>) -> AuthSettings {
        AuthSettings {
            base_dir: PathBuf::from("/run/dovecot"),
            mechanisms: vec!["PLAIN".to_string()],
            username_format: "%Lu".to_string(),
            username_chars: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"
                .to_string(),
            username_translation: Vec::new(),
            default_realm: String::new(),
            realms: Vec::new(),
            master_user_separator: None,
            anonymous_username: "anonymous".to_string(),
            failure_delay: Duration::from_secs(2),
            cache_size: 0,
            cache_ttl: Duration::from_secs(3600),
            cache_negative_ttl: Duration::from_secs(3600),
            verbose: false,
            verbose_passwords: "no".to_string(),
            debug: false,
            debug_passwords: false,
            ssl_require_client_cert: false,
            ssl_username_from_cert: false,
            first_valid_uid: 500,
            last_valid_uid: 0,
            first_valid_gid: 1,
            last_valid_gid: 0,
            worker_max_count: 30,
            proxy_self: Vec::new(),
            passdbs,
            userdbs,
        }
    }
}

/// `auth_proxy_self`: addresses, or names resolved now (as Dovecot does at startup).
fn proxy_self_ips(value: &str) -> Result<Vec<IpAddr>, String> {
    let mut ips = Vec::new();
    for item in value.split_whitespace() {
        if let Ok(ip) = item.parse::<IpAddr>() {
            ips.push(ip);
            continue;
        }
        match (item, 0).to_socket_addrs() {
            Ok(addrs) => ips.extend(addrs.map(|a| a.ip())),
            Err(e) => {
                return Err(format!(
                    "auth_proxy_self: {item}: {}",
                    crate::errtext::os_error_text(&e)
                ))
            }
        }
    }
    Ok(ips)
}

fn check_verbose_passwords(value: &str) -> Result<(), String> {
    let (kind, max) = match value.split_once(':') {
        Some((k, m)) => (k, Some(m)),
        None => (value, None),
    };
    let kind_ok = matches!(kind, "no" | "plain" | "sha1");
    let max_ok = max.is_none_or(|m| m.parse::<u32>().is_ok());
    if kind_ok && max_ok {
        Ok(())
    } else {
        Err(format!(
            "auth_verbose_passwords: Invalid value '{value}' (use no, plain or sha1)"
        ))
    }
}
