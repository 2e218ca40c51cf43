//! userdb passwd: the system's users through NSS (getpwnam_r): uid, gid, home. (passdb passwd
//! is in `system`, with passdb shadow.)

use super::nss::getpwnam;
use super::template::Template;
use super::UserdbDriver;
use crate::auth::request::{AuthRequest, UserdbResult};
use crate::auth::settings::AuthSettings;
use crate::errtext::os_error_text;
use crate::log::Level;

/// `userdb { driver = passwd [args = fields...] }`
pub struct PasswdUserdb {
    template: Template,
    blocking: bool,
    uid_range: (u64, u64),
    gid_range: (u64, u64),
}

impl PasswdUserdb {
    pub fn new(args: &str, settings: &AuthSettings) -> PasswdUserdb {
        let mut template = Template::parse(args);
        let blocking = !matches!(template.remove("blocking"), Some(Some(v)) if v == "no");
        PasswdUserdb {
            template,
            blocking,
            uid_range: (settings.first_valid_uid, settings.last_valid_uid),
            gid_range: (settings.first_valid_gid, settings.last_valid_gid),
        }
    }
}

impl UserdbDriver for PasswdUserdb {
    fn driver(&self) -> &'static str {
        "passwd"
    }

    fn blocking(&self) -> bool {
        self.blocking
    }

    fn cache_key(&self) -> Option<&str> {
        Some("%u")
    }

    fn lookup(&self, request: &mut AuthRequest) -> UserdbResult {
        request.db_log_at(Level::Debug, "lookup");
        let pw = match getpwnam(request.user()) {
            Err(e) => {
                request.db_log_at(
                    Level::Error,
                    &format!("getpwnam() failed: {}", os_error_text(&e)),
                );
                return UserdbResult::InternalFailure;
            }
            Ok(None) => {
                request.log_login_failure("unknown user", false);
                return UserdbResult::UserUnknown;
            }
            Ok(Some(pw)) => pw,
        };
        request.set_field("user", &pw.name, None);
        request.set_userdb_field("system_groups_user", &pw.name);
        request.set_userdb_field("uid", &pw.uid.to_string());
        request.set_userdb_field("gid", &pw.gid.to_string());
        request.set_userdb_field("home", &pw.dir);
        if let Err(e) = self.template.export_userdb(request) {
            request.db_log_at(Level::Error, &format!("Failed to expand template: {e}"));
            return UserdbResult::InternalFailure;
        }
        UserdbResult::Ok
    }

    fn can_iterate(&self) -> bool {
        true
    }

    fn iterate(&self, _request: &AuthRequest) -> Option<Result<Vec<String>, String>> {
        let in_range = |v: u64, (first, last): (u64, u64)| v >= first && (last == 0 || v <= last);
        let mut users = Vec::new();
        // getpwent is not reentrant: iteration runs in one auth worker (or the single
        // service thread that asked), and NSS keeps its own lock.
        // SAFETY: setpwent/getpwent/endpwent with the returned entry read before the next call.
        unsafe {
            libc::setpwent();
            loop {
                let pw = libc::getpwent();
                if pw.is_null() {
                    break;
                }
                let (uid, gid) = (u64::from((*pw).pw_uid), u64::from((*pw).pw_gid));
                if in_range(uid, self.uid_range) && in_range(gid, self.gid_range) {
                    let name = std::ffi::CStr::from_ptr((*pw).pw_name);
                    users.push(name.to_string_lossy().into_owned());
                }
            }
            libc::endpwent();
        }
        Some(Ok(users))
    }
}
