//! APOP (RFC 1939): pop3-login makes the challenge and gets the client's answer; the auth
//! service gets `challenge NUL user NUL MD5(challenge password)` as one initial response.
//! The challenge must be one this auth process could have made for this very connection
//! (`<auth-pid.connect-uid.time....>`, the time not before the process started), so an
//! answer seen elsewhere can't be replayed. Needs the password (PLAIN credentials).

use std::sync::OnceLock;

use md5::{Digest, Md5};

use super::{MechFlags, MechState, Mechanism, PassdbNeed, Step};
use crate::auth::engine::Auth;
use crate::auth::request::{AuthRequest, PassdbResult, PASSWORD_MISMATCH};
use crate::auth::scheme::constant_time_eq;
use crate::log::Level;

pub(super) const APOP: Mechanism = Mechanism {
    name: "APOP",
    flags: MechFlags {
        private: true,
        dictionary: true,
        active: true,
        allow_nuls: true,
        ..MechFlags::NONE
    },
    passdb_need: PassdbNeed::LookupCredentials,
    new: || Box::new(Apop),
};

/// When this process's engine was built (UNIX seconds): older challenges are refused.
static STARTED: OnceLock<u64> = OnceLock::new();

/// Notes the process start (called when the engine is built).
pub fn note_start() {
    STARTED.get_or_init(now);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Apop;

/// `<pid.uid.time.` in hex at the start of a challenge.
fn challenge_ids(challenge: &[u8]) -> Option<(u64, u64, u64)> {
    let text = std::str::from_utf8(challenge.strip_prefix(b"<")?).ok()?;
    let mut parts = text.splitn(4, '.');
    let mut hex = || u64::from_str_radix(parts.next()?, 16).ok();
    let ids = (hex()?, hex()?, hex()?);
    parts.next()?;
    Some(ids)
}

impl MechState for Apop {
    fn initial(&mut self, auth: &Auth, request: &mut AuthRequest, data: Option<&[u8]>) -> Step {
        let Some(data) = data.filter(|d| !d.is_empty()) else {
            request.mech_log_at(Level::Info, "no initial response");
            return Step::Fail;
        };
        self.proceed(auth, request, data)
    }

    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        let mut parts = data.splitn(3, |&b| b == 0);
        let (Some(challenge), Some(user), Some(digest)) =
            (parts.next(), parts.next(), parts.next())
        else {
            request.mech_log_at(Level::Info, "malformed data");
            return Step::Fail;
        };
        if digest.len() != 16 {
            request.mech_log_at(Level::Info, "malformed data");
            return Step::Fail;
        }
        let started = *STARTED.get_or_init(now);
        let valid = challenge_ids(challenge).is_some_and(|(pid, uid, time)| {
            pid == u64::from(std::process::id())
                && uid == u64::from(request.connect_uid)
                && time >= started
        });
        if !valid {
            request.mech_log_at(Level::Info, "invalid challenge");
            return Step::Fail;
        }
        let user = String::from_utf8_lossy(user).into_owned();
        if let Err(e) = request.set_username(&user, !auth.masterdbs.is_empty()) {
            request.mech_log_at(Level::Info, &e);
            return Step::Fail;
        }
        let credentials = auth.lookup_credentials(request, "PLAIN");
        match credentials.result {
            PassdbResult::Ok => {}
            PassdbResult::InternalFailure => return Step::InternalFail,
            _ => return Step::Fail,
        }
        let mut md5 = Md5::new();
        md5.update(challenge);
        md5.update(&credentials.data);
        if constant_time_eq(&md5.finalize(), digest) {
            Step::Success(Vec::new())
        } else {
            request.mech_log_at(Level::Info, PASSWORD_MISMATCH);
            Step::Fail
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parts() {
        assert_eq!(
            challenge_ids(b"<1a2b.3.6b0b3ac7.abc==@host>"),
            Some((0x1a2b, 3, 0x6b0b3ac7))
        );
        assert_eq!(challenge_ids(b"<1a2b.3>"), None);
        assert_eq!(challenge_ids(b"1a.2.3.x"), None);
    }
}
