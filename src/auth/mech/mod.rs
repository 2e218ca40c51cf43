//! SASL mechanisms as the auth service runs them: each one turns client data into the next
//! step (a challenge, success, failure), asking the passdbs through the engine.

pub mod apop;
mod cram_md5;
mod plaintext;
mod scram;

use super::engine::Auth;
use super::request::AuthRequest;

/// What a mechanism needs from the passdbs (a config check at startup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassdbNeed {
    Nothing,
    VerifyPlain,
    LookupCredentials,
}

/// Mechanism properties advertised in the handshake (`MECH PLAIN plaintext`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MechFlags {
    pub private: bool,
    pub anonymous: bool,
    pub plaintext: bool,
    pub dictionary: bool,
    pub active: bool,
    pub forward_secrecy: bool,
    pub mutual_auth: bool,
    /// NUL bytes are part of the syntax (PLAIN).
    pub allow_nuls: bool,
}

impl MechFlags {
    /// No property: what a mechanism's flags start from.
    pub const NONE: MechFlags = MechFlags {
        private: false,
        anonymous: false,
        plaintext: false,
        dictionary: false,
        active: false,
        forward_secrecy: false,
        mutual_auth: false,
        allow_nuls: false,
    };

    /// The handshake words, in Dovecot's order.
    pub fn words(&self) -> Vec<&'static str> {
        [
            (self.private, "private"),
            (self.anonymous, "anonymous"),
            (self.plaintext, "plaintext"),
            (self.dictionary, "dictionary"),
            (self.active, "active"),
            (self.forward_secrecy, "forward-secrecy"),
            (self.mutual_auth, "mutual-auth"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, w)| w)
        .collect()
    }
}

/// What a mechanism says after a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge (`CONT`).
    Continue(Vec<u8>),
    /// Authenticated; the data is the server's final message (SCRAM's `v=`), if any.
    Success(Vec<u8>),
    /// Authentication failed.
    Fail,
    /// A database failed (temporary failure).
    InternalFail,
}

/// One authentication in progress.
pub trait MechState: Send {
    /// The first round: `data` is the initial response (None = none was given).
    fn initial(&mut self, auth: &Auth, request: &mut AuthRequest, data: Option<&[u8]>) -> Step {
        match data {
            None => Step::Continue(Vec::new()),
            Some(data) => self.proceed(auth, request, data),
        }
    }

    /// A later round with the client's data.
    fn proceed(&mut self, auth: &Auth, request: &mut AuthRequest, data: &[u8]) -> Step;
}

pub struct Mechanism {
    pub name: &'static str,
    pub flags: MechFlags,
    pub passdb_need: PassdbNeed,
    pub new: fn() -> Box<dyn MechState>,
}

static MECHANISMS: &[Mechanism] = &[
    plaintext::PLAIN,
    plaintext::LOGIN,
    cram_md5::CRAM_MD5,
    plaintext::EXTERNAL,
    scram::SCRAM_SHA1,
    scram::SCRAM_SHA256,
    plaintext::ANONYMOUS,
    apop::APOP,
];

/// The mechanism called `name` (any case), if cote has it.
pub fn find(name: &str) -> Option<&'static Mechanism> {
    MECHANISMS
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(name))
}

/// The static name of a mechanism, for requests read back from a worker.
pub fn static_name(name: &str) -> Option<&'static str> {
    find(name).map(|m| m.name)
}

/// The result of a plaintext verification as a step (Dovecot's plain_verify_callback).
fn verify_step(result: super::request::PassdbResult) -> Step {
    use super::request::PassdbResult;
    match result {
        PassdbResult::Ok => Step::Success(Vec::new()),
        PassdbResult::InternalFailure => Step::InternalFail,
        _ => Step::Fail,
    }
}
