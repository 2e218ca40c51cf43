//! PLAIN (RFC 4616), LOGIN, EXTERNAL (the user name comes from the TLS client certificate via
//! `cert_username`), ANONYMOUS (RFC 4505, logged in as `auth_anonymous_username`).

use super::{verify_step, MechFlags, MechState, Mechanism, PassdbNeed, Step};
use crate::auth::engine::Auth;
use crate::auth::request::AuthRequest;
use crate::log::Level;

pub(super) const PLAIN: Mechanism = Mechanism {
    name: "PLAIN",
    flags: MechFlags {
        plaintext: true,
        allow_nuls: true,
        ..MechFlags::NONE
    },
    passdb_need: PassdbNeed::VerifyPlain,
    new: || Box::new(Plain),
};

pub(super) const LOGIN: Mechanism = Mechanism {
    name: "LOGIN",
    flags: MechFlags {
        plaintext: true,
        ..MechFlags::NONE
    },
    passdb_need: PassdbNeed::VerifyPlain,
    new: || Box::new(Login { have_user: false }),
};

pub(super) const EXTERNAL: Mechanism = Mechanism {
    name: "EXTERNAL",
    flags: MechFlags::NONE,
    passdb_need: PassdbNeed::VerifyPlain,
    new: || Box::new(External),
};

pub(super) const ANONYMOUS: Mechanism = Mechanism {
    name: "ANONYMOUS",
    flags: MechFlags {
        anonymous: true,
        allow_nuls: true,
        ..MechFlags::NONE
    },
    passdb_need: PassdbNeed::Nothing,
    new: || Box::new(Anonymous),
};

struct Plain;

impl MechState for Plain {
    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        // authzid \0 authcid \0 password; the password may not hold a NUL.
        let parts: Vec<&[u8]> = data.splitn(3, |&b| b == 0).collect();
        if parts.len() != 3 || parts[2].contains(&0) {
            request.mech_log_at(Level::Info, "invalid input");
            return Step::Fail;
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let (mut authzid, authcid, password) = (text(parts[0]), text(parts[1]), text(parts[2]));
        if authzid == authcid {
            authzid.clear();
        }
        let masterdbs = !auth.masterdbs.is_empty();
        if let Err(e) = request.set_username(&authcid, masterdbs) {
            request.mech_log_at(Level::Info, &e);
            return Step::Fail;
        }
        if !authzid.is_empty() {
            if let Err(e) = request.set_login_username(&authzid, masterdbs) {
                request.mech_log_at(Level::Info, &format!("login user: {e}"));
                return Step::Fail;
            }
        }
        verify_step(auth.verify_plain(request, &password))
    }
}

struct Login {
    have_user: bool,
}

impl MechState for Login {
    fn initial(&mut self, auth: &Auth, request: &mut AuthRequest, data: Option<&[u8]>) -> Step {
        match data {
            Some(data) if !data.is_empty() => self.proceed(auth, request, data),
            _ => Step::Continue(b"Username:".to_vec()),
        }
    }

    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        let text = String::from_utf8_lossy(data).into_owned();
        if !self.have_user {
            if let Err(e) = request.set_username(&text, !auth.masterdbs.is_empty()) {
                request.mech_log_at(Level::Info, &e);
                return Step::Fail;
            }
            self.have_user = true;
            return Step::Continue(b"Password:".to_vec());
        }
        verify_step(auth.verify_plain(request, &text))
    }
}

struct External;

impl MechState for External {
    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        let authzid = String::from_utf8_lossy(data).into_owned();
        if request.user.is_none() {
            request.mech_log_at(Level::Info, "username not known");
            return Step::Fail;
        }
        let masterdbs = !auth.masterdbs.is_empty();
        // Puts the certificate's name through the username settings.
        if request.set_username("", masterdbs).is_err() {
            request.mech_log_at(Level::Info, "Invalid username");
            return Step::Fail;
        }
        if !authzid.is_empty() {
            if let Err(e) = request.set_login_username(&authzid, masterdbs) {
                request.mech_log_at(Level::Info, &format!("login user: {e}"));
                return Step::Fail;
            }
        }
        verify_step(auth.verify_plain(request, ""))
    }
}

struct Anonymous;

impl MechState for Anonymous {
    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step {
        if auth.settings.verbose {
            request.user = Some(String::from_utf8_lossy(data).into_owned());
            request.mech_log_at(Level::Info, "login");
        }
        request.user = Some(auth.settings.anonymous_username.clone());
        request.passdb_success = true;
        Step::Success(Vec::new())
    }
}
