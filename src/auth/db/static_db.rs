//! static: a passdb with one password (or `nopassword`) for everyone, and a userdb that gives
//! everyone the same fields (`uid=vmail gid=vmail home=/var/vmail/%d/%n`).

use super::template::Template;
use super::{PassdbDriver, StoredPassword, UserdbDriver};
use crate::auth::request::{AuthRequest, PassdbResult, UserdbResult};
use crate::log::Level;

const STATIC_PASS_SCHEME: &str = "PLAIN";

/// `passdb { driver = static args = password=X | nopassword [fields...] }`
pub struct StaticPassdb {
    template: Template,
    password: Option<String>,
}

impl StaticPassdb {
    pub fn new(args: &str) -> StaticPassdb {
        let mut template = Template::parse(args);
        let password = template.remove("password").map(Option::unwrap_or_default);
        StaticPassdb { template, password }
    }

    fn save_fields(
        &self,
        request: &mut AuthRequest,
    ) -> Result<Option<StoredPassword>, PassdbResult> {
        request.db_log_at(Level::Debug, "lookup");
        if let Err(e) = self.template.export_passdb(request) {
            request.db_log_at(Level::Error, &format!("Failed to expand template: {e}"));
            return Err(PassdbResult::InternalFailure);
        }
        let password = match &self.password {
            Some(template) => match request.expand(template) {
                Ok(p) => p,
                Err(e) => {
                    request.db_log_at(
                        Level::Error,
                        &format!("Failed to expand password={template}: {e}"),
                    );
                    return Err(PassdbResult::InternalFailure);
                }
            },
            None if request.extra_fields.contains("nopassword") => String::new(),
            None => return Err(crate::auth::lookup::password_missing(request)),
        };
        let stored = StoredPassword::parse(&password, STATIC_PASS_SCHEME);
        request.set_field(
            "password",
            &format!("{{{}}}{}", stored.scheme, stored.data),
            Some(&stored.scheme),
        );
        Ok(Some(stored))
    }
}

impl PassdbDriver for StaticPassdb {
    fn driver(&self) -> &'static str {
        "static"
    }

    fn default_scheme(&self) -> &str {
        STATIC_PASS_SCHEME
    }

    fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult {
        let stored = match self.save_fields(request) {
            Ok(Some(stored)) => stored,
            Ok(None) => return PassdbResult::Ok,
            Err(result) => return result,
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
        match self.save_fields(request) {
            Ok(stored) => (PassdbResult::Ok, stored),
            Err(result) => (result, None),
        }
    }
}

/// `userdb { driver = static args = uid=... gid=... home=... [allow_all_users=yes] }`
pub struct StaticUserdb {
    template: Template,
    allow_all_users: bool,
}

impl StaticUserdb {
    pub fn new(args: &str) -> StaticUserdb {
        let mut template = Template::parse(args);
        let allow_all_users = match template.remove("allow_all_users") {
            Some(None) => true,
            Some(Some(v)) => v.eq_ignore_ascii_case("yes"),
            None => false,
        };
        StaticUserdb {
            template,
            allow_all_users,
        }
    }
}

impl UserdbDriver for StaticUserdb {
    fn driver(&self) -> &'static str {
        "static"
    }

    fn needs_passdb_lookup(&self, request: &AuthRequest) -> bool {
        !request.successful && !self.allow_all_users
    }

    fn lookup(&self, request: &mut AuthRequest) -> UserdbResult {
        match self.template.export_userdb(request) {
            Ok(()) => UserdbResult::Ok,
            Err(e) => {
                request.db_log_at(Level::Error, &format!("Failed to expand template: {e}"));
                UserdbResult::InternalFailure
            }
        }
    }
}
