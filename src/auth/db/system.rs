//! passdb passwd and passdb shadow: the password hash of a system user, from NSS's passwd
//! (getpwnam_r; mostly `x` on shadowed systems) or from shadow (getspnam_r; needs root, so it
//! runs in auth workers). The scheme is CRYPT, so yescrypt `$y$` works through libxcrypt.

use super::nss::{getpwnam, getspnam, is_valid_passwd};
use super::{PassdbDriver, StoredPassword};
use crate::auth::request::{AuthRequest, PassdbResult};
use crate::errtext::os_error_text;
use crate::log::Level;

const PASS_SCHEME: &str = "CRYPT";

/// Where the password hash comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Passwd,
    Shadow,
}

impl Source {
    fn driver(self) -> &'static str {
        match self {
            Source::Passwd => "passwd",
            Source::Shadow => "shadow",
        }
    }

    /// The user's name as the database spells it and the password field.
    fn lookup(self, user: &str) -> std::io::Result<Option<(String, String)>> {
        Ok(match self {
            Source::Passwd => getpwnam(user)?.map(|pw| (pw.name, pw.passwd)),
            Source::Shadow => getspnam(user)?.map(|sp| (sp.name, sp.passwd)),
        })
    }

    fn function(self) -> &'static str {
        match self {
            Source::Passwd => "getpwnam",
            Source::Shadow => "getspnam",
        }
    }
}

/// Parses `blocking=no` (the only argument passwd and shadow take).
fn parse_blocking(args: &str, driver: &str) -> Result<bool, String> {
    match args.trim() {
        "" | "blocking=yes" => Ok(true),
        "blocking=no" => Ok(false),
        other => Err(format!("passdb {driver}: Unknown setting: {other}")),
    }
}

pub struct SystemPassdb {
    source: Source,
    blocking: bool,
}

impl SystemPassdb {
    pub fn new(source: Source, args: &str) -> Result<SystemPassdb, String> {
        Ok(SystemPassdb {
            source,
            blocking: parse_blocking(args, source.driver())?,
        })
    }

    /// The user's name and stored password; the password is also saved as a field (for the
    /// cache), as Dovecot does.
    fn lookup(&self, request: &mut AuthRequest) -> Result<(String, StoredPassword), PassdbResult> {
        request.db_log_at(Level::Debug, "lookup");
        match self.source.lookup(request.user()) {
            Err(e) => {
                request.db_log_at(
                    Level::Error,
                    &format!("{}() failed: {}", self.source.function(), os_error_text(&e)),
                );
                Err(PassdbResult::InternalFailure)
            }
            Ok(None) => {
                request.log_login_failure("unknown user", false);
                Err(PassdbResult::UserUnknown)
            }
            Ok(Some((_, passwd))) if !is_valid_passwd(&passwd) => {
                let message = match self.source {
                    Source::Passwd => format!("invalid password field '{passwd}'"),
                    Source::Shadow => "invalid password field".to_string(),
                };
                request.db_log_at(Level::Info, &message);
                Err(PassdbResult::UserDisabled)
            }
            Ok(Some((name, passwd))) => {
                request.set_field("password", &passwd, Some(PASS_SCHEME));
                let stored = StoredPassword {
                    scheme: PASS_SCHEME.to_string(),
                    data: passwd,
                };
                Ok((name, stored))
            }
        }
    }
}

impl PassdbDriver for SystemPassdb {
    fn driver(&self) -> &'static str {
        self.source.driver()
    }

    fn blocking(&self) -> bool {
        self.blocking
    }

    fn default_scheme(&self) -> &str {
        PASS_SCHEME
    }

    fn cache_key(&self) -> Option<&str> {
        Some("%u")
    }

    fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult {
        let (name, stored) = match self.lookup(request) {
            Ok(found) => found,
            Err(result) => return result,
        };
        match crate::auth::lookup::password_verify(request, password, &stored, true) {
            Ok(true) => {
                request.set_field("user", &name, None);
                PassdbResult::Ok
            }
            _ => PassdbResult::PasswordMismatch,
        }
    }

    fn lookup_credentials(
        &self,
        request: &mut AuthRequest,
    ) -> (PassdbResult, Option<StoredPassword>) {
        match self.lookup(request) {
            Ok((name, stored)) => {
                request.set_field("user", &name, None);
                (PassdbResult::Ok, Some(stored))
            }
            Err(result) => (result, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_and_lookups() {
        assert_eq!(parse_blocking("", "shadow"), Ok(true));
        assert_eq!(parse_blocking(" blocking=no ", "shadow"), Ok(false));
        assert_eq!(
            parse_blocking("blocking=maybe", "passwd").unwrap_err(),
            "passdb passwd: Unknown setting: blocking=maybe"
        );
        let (name, passwd) = Source::Passwd.lookup("root").unwrap().unwrap();
        assert_eq!(name, "root");
        assert!(!passwd.is_empty());
        assert!(Source::Passwd
            .lookup("cote-no-such-user")
            .unwrap()
            .is_none());
    }
}
