//! shadow: the system's password hashes through getspnam_r (scheme CRYPT, so yescrypt `$y$`
//! works through libxcrypt). Needs root, so it runs in auth workers.

use super::nss::{getspnam, is_valid_passwd, ShadowEntry};
use super::passwd::parse_blocking;
use super::{PassdbDriver, StoredPassword};
use crate::auth::request::{AuthRequest, PassdbResult};
use crate::errtext::os_error_text;
use crate::log::Level;

const PASS_SCHEME: &str = "CRYPT";

pub struct ShadowPassdb {
    blocking: bool,
}

impl ShadowPassdb {
    pub fn new(args: &str) -> Result<ShadowPassdb, String> {
        Ok(ShadowPassdb {
            blocking: parse_blocking(args, "shadow")?,
        })
    }

    fn lookup(&self, request: &mut AuthRequest) -> Result<ShadowEntry, PassdbResult> {
        request.db_log_at(Level::Debug, "lookup");
        match getspnam(request.user()) {
            Err(e) => {
                request.db_log_at(
                    Level::Error,
                    &format!("getspnam() failed: {}", os_error_text(&e)),
                );
                Err(PassdbResult::InternalFailure)
            }
            Ok(None) => {
                request.log_login_failure("unknown user", false);
                Err(PassdbResult::UserUnknown)
            }
            Ok(Some(sp)) if !is_valid_passwd(&sp.passwd) => {
                request.db_log_at(Level::Info, "invalid password field");
                Err(PassdbResult::UserDisabled)
            }
            Ok(Some(sp)) => {
                request.set_field("password", &sp.passwd, Some(PASS_SCHEME));
                Ok(sp)
            }
        }
    }
}

impl PassdbDriver for ShadowPassdb {
    fn driver(&self) -> &'static str {
        "shadow"
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
        let sp = match self.lookup(request) {
            Ok(sp) => sp,
            Err(result) => return result,
        };
        let stored = StoredPassword {
            scheme: PASS_SCHEME.to_string(),
            data: sp.passwd.clone(),
        };
        match crate::auth::lookup::password_verify(request, password, &stored, true) {
            Ok(true) => {
                request.set_field("user", &sp.name, None);
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
            Ok(sp) => {
                request.set_field("user", &sp.name, None);
                (
                    PassdbResult::Ok,
                    Some(StoredPassword {
                        scheme: PASS_SCHEME.to_string(),
                        data: sp.passwd,
                    }),
                )
            }
            Err(result) => (result, None),
        }
    }
}
