//! passdb and userdb drivers: what each one looks up and how. The chain that runs them in
//! order with the result rules is in `auth::lookup`.

pub mod checkpassword;
pub mod nss;
#[cfg(feature = "pam")]
pub mod pam;
pub mod passwd;
pub mod passwd_file;
pub mod static_db;
pub mod system;
pub mod template;

use super::request::{AuthRequest, PassdbResult, UserdbResult};
use super::scheme;
use super::settings::{AuthSettings, DbSettings};

/// A stored password a passdb returned: its scheme name as written (with any encoding
/// suffix) and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPassword {
    pub scheme: String,
    pub data: String,
}

impl StoredPassword {
    /// `{SCHEME}data`, a bare `$1$salt$hash` (MD5-CRYPT), or else `data` in `default_scheme`
    /// (Dovecot's password_get_scheme).
    pub fn parse(stored: &str, default_scheme: &str) -> StoredPassword {
        let parsed = scheme::StoredPassword::parse(stored.as_bytes(), default_scheme);
        StoredPassword {
            scheme: parsed.scheme_name().to_string(),
            data: String::from_utf8_lossy(parsed.data()).into_owned(),
        }
    }

    /// The password as the scheme module verifies it and makes credentials from it.
    pub fn as_scheme(&self) -> scheme::StoredPassword<'_> {
        scheme::StoredPassword::new(&self.scheme, self.data.as_bytes())
    }
}

/// A password database.
pub trait PassdbDriver: Send + Sync {
    /// The driver name (`passwd-file`).
    fn driver(&self) -> &'static str;

    /// Whether lookups may block for long (NSS, PAM, a program): they then run in an auth
    /// worker process when the service has workers.
    fn blocking(&self) -> bool {
        false
    }

    /// Scheme of passwords stored without `{SCHEME}`.
    fn default_scheme(&self) -> &str;

    /// The cache key template (`%u`), if results may be cached.
    fn cache_key(&self) -> Option<&str> {
        None
    }

    /// Whether the worker process running this passdb should be replaced (PAM's
    /// `max_requests`).
    fn worker_restart_wanted(&self) -> bool {
        false
    }

    /// Looks the user up and verifies `password`.
    fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult;

    /// Whether [`lookup_credentials`](Self::lookup_credentials) is supported.
    fn supports_credentials(&self) -> bool {
        true
    }

    /// Looks the user up and returns the stored password (None with Ok = no password, e.g.
    /// `nopassword`).
    fn lookup_credentials(
        &self,
        request: &mut AuthRequest,
    ) -> (PassdbResult, Option<StoredPassword>);
}

/// A user database.
pub trait UserdbDriver: Send + Sync {
    fn driver(&self) -> &'static str;

    fn blocking(&self) -> bool {
        false
    }

    fn cache_key(&self) -> Option<&str> {
        None
    }

    /// Whether the lookup must first ask the passdbs whether the user exists (static userdb
    /// without `allow_all_users` for a user that did not just log in).
    fn needs_passdb_lookup(&self, _request: &AuthRequest) -> bool {
        false
    }

    fn lookup(&self, request: &mut AuthRequest) -> UserdbResult;

    /// Whether [`iterate`](Self::iterate) lists users.
    fn can_iterate(&self) -> bool {
        false
    }

    /// Every user name, for `LIST`; None = the driver cannot iterate.
    fn iterate(&self, _request: &AuthRequest) -> Option<Result<Vec<String>, String>> {
        None
    }
}

/// Creates a passdb driver from its section.
pub fn new_passdb(
    db: &DbSettings,
    settings: &AuthSettings,
) -> Result<Box<dyn PassdbDriver>, String> {
    Ok(match db.driver.as_str() {
        "passwd-file" => Box::new(passwd_file::PasswdFilePassdb::new(&db.args)?),
        "static" => Box::new(static_db::StaticPassdb::new(&db.args)),
        "passwd" => Box::new(system::SystemPassdb::new(system::Source::Passwd, &db.args)?),
        "shadow" => Box::new(system::SystemPassdb::new(system::Source::Shadow, &db.args)?),
        "checkpassword" => Box::new(checkpassword::CheckpasswordPassdb::new(&db.args)?),
        #[cfg(feature = "pam")]
        "pam" => Box::new(pam::PamPassdb::new(&db.args)?),
        #[cfg(not(feature = "pam"))]
        "pam" => return Err("Support not compiled in for passdb driver 'pam'".into()),
        "" => return Err("passdb is missing driver".into()),
        other => {
            let _ = settings;
            return Err(format!("Unknown passdb driver '{other}'"));
        }
    })
}

/// Creates a userdb driver from its section. `only_userdb` is whether it is the only one
/// (passwd-file then warns about entries without userdb fields).
pub fn new_userdb(
    db: &DbSettings,
    settings: &AuthSettings,
    only_userdb: bool,
) -> Result<Box<dyn UserdbDriver>, String> {
    Ok(match db.driver.as_str() {
        "passwd-file" => Box::new(passwd_file::PasswdFileUserdb::new(&db.args, only_userdb)?),
        "static" => Box::new(static_db::StaticUserdb::new(&db.args)),
        "passwd" => Box::new(passwd::PasswdUserdb::new(&db.args, settings)),
        "checkpassword" => Box::new(checkpassword::CheckpasswordUserdb::new(&db.args)?),
        "" => return Err("userdb is missing driver".into()),
        other => return Err(format!("Unknown userdb driver '{other}'")),
    })
}

/// Leading `key=value` options and the rest of a driver's args.
pub type LeadingOptions<'a> = (Vec<(&'a str, &'a str)>, &'a str);

/// Splits driver args of the form `key=value ... rest` into the known leading options and
/// the rest (a path or command), as passwd-file and checkpassword read them.
pub fn split_leading_options<'a>(
    args: &'a str,
    known: &[&str],
    driver: &str,
) -> Result<LeadingOptions<'a>, String> {
    let mut options = Vec::new();
    let mut rest = args.trim_start();
    while !rest.is_empty() && !rest.starts_with('/') {
        let (item, after) = match rest.split_once(' ') {
            Some((item, after)) => (item, after.trim_start()),
            None => (rest, ""),
        };
        let (key, value) = item.split_once('=').unwrap_or((item, ""));
        if !known.contains(&key) {
            return Err(format!("{driver}: Unknown setting: {key}"));
        }
        options.push((key, value));
        rest = after;
    }
    Ok((options, rest))
}
