//! passwd-file: Dovecot's `/etc/passwd`-like file,
//! `user:password:uid:gid:gecos:home:shell:extra_fields`, as passdb and userdb.
//!
//! The path may hold `%` variables (`/etc/auth/%d/passwd`), then each expanded path is its own
//! file. A file is read when first needed and read again when its mtime or size changes
//! (checked at most once a second, as Dovecot does).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{split_leading_options, PassdbDriver, StoredPassword, UserdbDriver};
use crate::auth::request::{AuthRequest, PassdbResult, UserdbResult};
use crate::auth::request_vars::str_escape;
use crate::config::var_expand;
use crate::errtext::os_error_text;
use crate::log::Level;

const DEFAULT_SCHEME: &str = "CRYPT";
const DEFAULT_USERNAME_FORMAT: &str = "%u";

/// One user's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdUser {
    pub password: Option<String>,
    /// None = not given; Some(0) = the line has no userdb part (no userdb lookups).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: Option<String>,
    pub extra_fields: Vec<String>,
}

/// A parsed file and what it was parsed from.
struct ParsedFile {
    users: HashMap<String, PasswdUser>,
    mtime: (i64, i64),
    size: u64,
    checked: Instant,
}

/// What the parser reports about lines it skipped.
#[derive(Debug, Default)]
struct ParseLog {
    errors: Vec<String>,
}

/// Parses a passwd-file. `userdb` says whether uid/gid/home are needed; `warn_missing`
/// whether lines without them are worth an error.
fn parse(text: &str, userdb: bool, warn_missing: bool) -> (HashMap<String, PasswdUser>, ParseLog) {
    let mut users = HashMap::new();
    let mut log = ParseLog::default();
    for line in text.lines() {
        if line.is_empty() || line.starts_with(':') || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        let name = parts[0];
        if users.contains_key(name) {
            log.errors
                .push(format!("User {name} exists more than once"));
            continue;
        }
        let args = &parts[2.min(parts.len())..];
        if warn_missing && args.len() < 2 {
            // Logged, but the user still works as a passdb entry.
            log.errors
                .push(format!("User {name} is missing userdb info"));
        }
        match parse_user(name, parts.get(1).copied(), args, userdb) {
            Ok(user) => {
                users.insert(name.to_string(), user);
            }
            Err(e) => log.errors.push(e),
        }
    }
    (users, log)
}

fn parse_user(
    name: &str,
    password: Option<&str>,
    args: &[&str],
    userdb: bool,
) -> Result<PasswdUser, String> {
    let password = password.map(|pass| {
        let len = pass.len();
        let b = pass.as_bytes();
        // password[NN]: libpam-pwdfile's type suffix.
        if len > 4 && b[0] != b'{' && b[0] != b'$' && b[len - 1] == b']' && b[len - 4] == b'[' {
            let num = pass[len - 3..len - 1].parse::<u32>().unwrap_or(0);
            let bare = &pass[..len - 4];
            match num {
                34 => Ok(format!("{{PLAIN-MD5}}{bare}")),
                56 => {
                    let p = format!("{{DIGEST-MD5}}{bare}");
                    if p.len() != 32 + 12 {
                        return Err(format!("User {name} has invalid password"));
                    }
                    Ok(p)
                }
                _ => Ok(format!("{{CRYPT}}{bare}")),
            }
        } else {
            Ok(pass.to_string())
        }
    });
    let password = password.transpose()?;
    let mut user = PasswdUser {
        password,
        uid: None,
        gid: None,
        home: None,
        extra_fields: Vec::new(),
    };
    let mut args = args.iter().copied();
    match args.next() {
        None => {}
        Some(uid) if !userdb || uid.is_empty() => {}
        Some(uid) => match crate::auth::request::parse_uid(uid) {
            Ok(n) if n != 0 => user.uid = Some(n),
            _ => return Err(format!("User {name} has invalid UID '{uid}'")),
        },
    }
    match args.next() {
        None => {
            // No userdb part: userdb lookups say "unknown user".
            user.uid = Some(0);
            user.gid = Some(0);
        }
        Some(gid) if !userdb || gid.is_empty() => {}
        Some(gid) => match crate::auth::request::parse_gid(gid) {
            Ok(n) if n != 0 => user.gid = Some(n),
            _ => return Err(format!("User {name} has invalid GID '{gid}'")),
        },
    }
    let _gecos = args.next();
    if let Some(home) = args.next() {
        if userdb && !home.is_empty() {
            user.home = Some(home.to_string());
        }
    }
    let _shell = args.next();
    let rest: Vec<&str> = args.collect();
    let extra = match rest.first() {
        // The old format: an empty field, then the mail location.
        Some(&"") => {
            let mail = rest[1..].join(":");
            (!mail.is_empty() && userdb).then(|| format!("userdb_mail={mail}"))
        }
        Some(_) => Some(rest.join(":")),
        None => None,
    };
    if let Some(extra) = extra {
        user.extra_fields = extra
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    }
    Ok(user)
}

/// The file (or files, with variables in the path) behind a passwd-file db.
struct PasswdFileDb {
    path: String,
    has_vars: bool,
    username_format: String,
    userdb: bool,
    warn_missing: bool,
    files: Mutex<HashMap<String, ParsedFile>>,
}

/// A user name must not add directories to a passwd-file path: it is cut at its first `/`
/// (Dovecot's path_fix).
fn path_fix(value: &str) -> String {
    value.split('/').next().unwrap_or("").to_string()
}

/// An extra field `key=value` with the value's %variables expanded (a bare `key` has an
/// empty value). A failed expansion is logged (naming the field as `shown`) and is an error.
fn expand_extra_field(
    request: &AuthRequest,
    field: &str,
    shown: &str,
) -> Result<(String, String), ()> {
    let Some((key, value)) = field.split_once('=') else {
        return Ok((field.to_string(), String::new()));
    };
    match request.expand(value) {
        Ok(value) => Ok((key.to_string(), value)),
        Err(e) => {
            request.db_log_at(
                Level::Error,
                &format!("Failed to expand extra field {shown}: {e}"),
            );
            Err(())
        }
    }
}

/// How a lookup ended.
enum Found {
    User(PasswdUser),
    Unknown,
    Failure,
}

impl PasswdFileDb {
    fn new(path: &str, username_format: &str, userdb: bool, warn_missing: bool) -> PasswdFileDb {
        let has_vars = var_expand::has_vars(path);
        let path = if has_vars {
            path.to_string()
        } else {
            path.replace("%%", "%")
        };
        let db = PasswdFileDb {
            path,
            has_vars,
            username_format: username_format.to_string(),
            userdb,
            warn_missing,
            files: Mutex::new(HashMap::new()),
        };
        if !db.has_vars {
            // Read at startup, so errors show up at once (as Dovecot does).
            let path = db.path.clone();
            if let Err(e) = db.load(&path) {
                crate::log::emit(Level::Error, format_args!("{e}"));
            }
        }
        db
    }

    /// Reads `path` into the cache, logging skipped lines.
    fn load(&self, path: &str) -> Result<(), String> {
        let text = std::fs::read(path).map_err(|e| open_error(path, &e))?;
        let meta = std::fs::metadata(path)
            .map_err(|e| format!("fstat({path}) failed: {}", os_error_text(&e)))?;
        let (users, log) = parse(
            &String::from_utf8_lossy(&text),
            self.userdb,
            self.warn_missing,
        );
        for e in log.errors {
            crate::log::emit(Level::Error, format_args!("passwd-file {path}:{e}"));
        }
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        files.insert(
            path.to_string(),
            ParsedFile {
                users,
                mtime: (meta.mtime(), meta.mtime_nsec()),
                size: meta.size(),
                checked: Instant::now(),
            },
        );
        Ok(())
    }

    /// Makes sure the cached copy of `path` is current: Ok(false) if the file is missing.
    fn sync(&self, request: &AuthRequest, path: &str) -> Result<bool, ()> {
        {
            let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(f) = files.get(path) {
                if f.checked.elapsed() < Duration::from_secs(1) {
                    return Ok(true);
                }
            }
        }
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.files
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(path);
                return match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        request.db_log_at(Level::Info, &format!("missing passwd file: {path}"));
                        Ok(false)
                    }
                    std::io::ErrorKind::PermissionDenied => {
                        request.db_log_at(
                            Level::Error,
                            &open_error(path, &e).replace("open(", "stat("),
                        );
                        Err(())
                    }
                    _ => {
                        request.db_log_at(
                            Level::Error,
                            &format!("stat({path}) failed: {}", os_error_text(&e)),
                        );
                        Err(())
                    }
                };
            }
        };
        let current = {
            let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            match files.get_mut(path) {
                Some(f)
                    if f.mtime == (meta.mtime(), meta.mtime_nsec()) && f.size == meta.size() =>
                {
                    f.checked = Instant::now();
                    true
                }
                _ => false,
            }
        };
        if !current {
            if let Err(e) = self.load(path) {
                request.db_log_at(Level::Error, &e);
                return Err(());
            }
        }
        Ok(true)
    }

    fn lookup(&self, request: &AuthRequest) -> Found {
        let path = if self.has_vars {
            match request.expand_escaped(&self.path, path_fix) {
                Ok(p) => p,
                Err(e) => {
                    request.db_log_at(
                        Level::Error,
                        &format!("Failed to expand passwd-file path {}: {e}", self.path),
                    );
                    return Found::Failure;
                }
            }
        } else {
            self.path.clone()
        };
        match self.sync(request, &path) {
            Ok(true) => {}
            Ok(false) => return Found::Unknown,
            Err(()) => return Found::Failure,
        }
        let username = match request.expand_escaped(&self.username_format, str_escape) {
            Ok(u) => u,
            Err(e) => {
                request.db_log_at(
                    Level::Error,
                    &format!(
                        "Failed to expand username_format={}: {e}",
                        self.username_format
                    ),
                );
                return Found::Failure;
            }
        };
        request.db_log_at(
            Level::Debug,
            &format!("lookup: user={username} file={path}"),
        );
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        match files.get(&path).and_then(|f| f.users.get(&username)) {
            Some(user) => Found::User(user.clone()),
            None => {
                drop(files);
                request.log_login_failure("unknown user", false);
                Found::Unknown
            }
        }
    }

    /// User names in the file, for LIST (not with variables in the path).
    fn iterate(&self, request: &AuthRequest) -> Result<Vec<String>, String> {
        if self.has_vars {
            return Err(
                "passwd-file: User iteration isn't currently supported with %variable paths".into(),
            );
        }
        let text = std::fs::read(&self.path)
            .map_err(|e| format!("open({}) failed: {}", self.path, os_error_text(&e)))?;
        let _ = request;
        let skip_passdb_entries = !self.warn_missing;
        Ok(String::from_utf8_lossy(&text)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(':') && !l.starts_with('#'))
            .filter(|l| !skip_passdb_entries || l.matches(':').count() >= 2)
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .collect())
    }
}

fn open_error(path: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        let euid = nix::unistd::geteuid();
        let egid = nix::unistd::getegid();
        format!(
            "open({path}) failed: Permission denied (euid={euid} egid={egid} missing +r perm: {path})"
        )
    } else {
        format!("open({path}) failed: {}", os_error_text(e))
    }
}

/// `passdb { driver = passwd-file args = [scheme=X] [username_format=Y] PATH }`
pub struct PasswdFilePassdb {
    db: PasswdFileDb,
    scheme: String,
}

impl PasswdFilePassdb {
    pub fn new(args: &str) -> Result<PasswdFilePassdb, String> {
        let (options, path) =
            split_leading_options(args, &["scheme", "username_format"], "passdb passwd-file")?;
        if path.is_empty() {
            return Err("passdb passwd-file: Missing args".into());
        }
        let mut scheme = DEFAULT_SCHEME.to_string();
        let mut format = DEFAULT_USERNAME_FORMAT.to_string();
        for (k, v) in options {
            match k {
                "scheme" => scheme = v.to_string(),
                _ => format = v.to_string(),
            }
        }
        Ok(PasswdFilePassdb {
            db: PasswdFileDb::new(path, &format, false, false),
            scheme,
        })
    }

    /// Sets the password and extra fields of a found user.
    fn save_results(
        &self,
        request: &mut AuthRequest,
        user: &PasswdUser,
    ) -> Result<StoredPassword, ()> {
        let stored = StoredPassword::parse(user.password.as_deref().unwrap_or(""), &self.scheme);
        request.set_field(
            "password",
            &format!("{{{}}}{}", stored.scheme, stored.data),
            Some(&stored.scheme),
        );
        for field in &user.extra_fields {
            let (key, value) = expand_extra_field(request, field, field)?;
            request.set_field(&key, &value, None);
        }
        Ok(stored)
    }
}

impl PassdbDriver for PasswdFilePassdb {
    fn driver(&self) -> &'static str {
        "passwd-file"
    }

    fn default_scheme(&self) -> &str {
        &self.scheme
    }

    fn cache_key(&self) -> Option<&str> {
        Some("%u")
    }

    fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult {
        let user = match self.db.lookup(request) {
            Found::User(u) => u,
            Found::Unknown => return PassdbResult::UserUnknown,
            Found::Failure => return PassdbResult::InternalFailure,
        };
        let Ok(stored) = self.save_results(request, &user) else {
            return PassdbResult::InternalFailure;
        };
        match crate::auth::lookup::password_verify(request, password, &stored, true) {
            Ok(true) => PassdbResult::Ok,
            _ => PassdbResult::PasswordMismatch,
        }
    }

    fn lookup_credentials(
        &self,
        request: &mut AuthRequest,
    ) -> (PassdbResult, Option<StoredPassword>) {
        let user = match self.db.lookup(request) {
            Found::User(u) => u,
            Found::Unknown => return (PassdbResult::UserUnknown, None),
            Found::Failure => return (PassdbResult::InternalFailure, None),
        };
        match self.save_results(request, &user) {
            Ok(stored) => (PassdbResult::Ok, Some(stored)),
            Err(()) => (PassdbResult::InternalFailure, None),
        }
    }
}

/// `userdb { driver = passwd-file args = [username_format=Y] PATH }`
pub struct PasswdFileUserdb {
    db: PasswdFileDb,
}

impl PasswdFileUserdb {
    pub fn new(args: &str, only_userdb: bool) -> Result<PasswdFileUserdb, String> {
        let (options, path) =
            split_leading_options(args, &["username_format"], "userdb passwd-file")?;
        if path.is_empty() {
            return Err("userdb passwd-file: Missing args".into());
        }
        let format = options.first().map_or(DEFAULT_USERNAME_FORMAT, |(_, v)| v);
        Ok(PasswdFileUserdb {
            db: PasswdFileDb::new(path, format, true, only_userdb),
        })
    }
}

impl UserdbDriver for PasswdFileUserdb {
    fn driver(&self) -> &'static str {
        "passwd-file"
    }

    fn cache_key(&self) -> Option<&str> {
        Some("%u")
    }

    fn lookup(&self, request: &mut AuthRequest) -> UserdbResult {
        let user = match self.db.lookup(request) {
            Found::User(u) if u.uid != Some(0) => u,
            Found::User(_) | Found::Unknown => return UserdbResult::UserUnknown,
            Found::Failure => return UserdbResult::InternalFailure,
        };
        if let Some(uid) = user.uid {
            request.set_userdb_field("uid", &uid.to_string());
        }
        if let Some(gid) = user.gid {
            request.set_userdb_field("gid", &gid.to_string());
        }
        if let Some(home) = &user.home {
            request.set_userdb_field("home", home);
        }
        for field in &user.extra_fields {
            let Some(userdb_field) = field.strip_prefix("userdb_") else {
                continue;
            };
            let Ok((key, value)) = expand_extra_field(request, userdb_field, field) else {
                return UserdbResult::InternalFailure;
            };
            request.set_userdb_field(&key, &value);
        }
        UserdbResult::Ok
    }

    fn can_iterate(&self) -> bool {
        true
    }

    fn iterate(&self, request: &AuthRequest) -> Option<Result<Vec<String>, String>> {
        Some(self.db.iterate(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dovecot_lines() {
        let text = "\
# comment
alice:{PLAIN}secret:1000:1000::/home/alice::userdb_mail=maildir:~/Maildir allow_nets=10.0.0.0/8
bob:{PLAIN}pw2
old:{PLAIN}x:1001:1001::/home/old:::maildir:~/Mail
bad:x:root:1000::/h::
dup:a:1000:1000::::
dup:b:1000:1000::::
lib:pass[34]
";
        let (users, log) = parse(text, true, false);
        let alice = &users["alice"];
        assert_eq!(alice.password.as_deref(), Some("{PLAIN}secret"));
        assert_eq!((alice.uid, alice.gid), (Some(1000), Some(1000)));
        assert_eq!(alice.home.as_deref(), Some("/home/alice"));
        assert_eq!(
            alice.extra_fields,
            vec!["userdb_mail=maildir:~/Maildir", "allow_nets=10.0.0.0/8"]
        );
        assert_eq!(users["bob"].uid, Some(0), "no userdb part");
        assert_eq!(
            users["old"].extra_fields,
            vec!["userdb_mail=maildir:~/Mail"]
        );
        assert_eq!(users["lib"].password.as_deref(), Some("{PLAIN-MD5}pass"));
        assert!(!users.contains_key("bad"));
        assert_eq!(
            log.errors,
            vec![
                "User bad has invalid UID 'root'",
                "User dup exists more than once"
            ]
        );
        let (users, log) = parse("bob:{PLAIN}pw2\n", true, true);
        assert_eq!(log.errors, vec!["User bob is missing userdb info"]);
        assert_eq!(users["bob"].uid, Some(0));
    }
}
