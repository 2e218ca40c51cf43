//! Relaying one SASL authentication between a client and the auth service: challenges go
//! to the client (the protocol writes them, `+ <base64>` in IMAP and POP3), its answers come
//! back a line each, `*` aborts. The auth service decides; what it decided comes back as a
//! [`SaslOutcome`] for the protocol to answer in its own words.

use std::io;

use crate::auth::base64;
use crate::auth::client::{AuthClient, AuthParams, AuthReply};

/// The protocol side of the exchange.
pub trait SaslClient {
    /// Why the session ends (the client went away, timed out, sent too much).
    type Error;
    /// Sends the challenge `data` (decoded) to the client and returns its answer line as
    /// sent (base64, or `*`), without the line end.
    fn challenge(&mut self, data: &[u8]) -> Result<Vec<u8>, Self::Error>;
}

/// How an authentication ended.
#[derive(Debug)]
pub enum SaslOutcome {
    /// Logged in as `user`: the request `id` on the auth connection, for the mail process.
    Success { id: u32, user: String },
    /// Logged in as `user`, to be proxied to the backend the `fields` name.
    Proxy {
        user: String,
        fields: Vec<(String, String)>,
    },
    /// The auth service refused (FAIL, or OK with `nologin`): `user` when it named one,
    /// `fields` for the reason and code.
    Refused {
        user: Option<String>,
        fields: Vec<(String, String)>,
    },
    /// The client sent `*`.
    Aborted,
    /// The client's answer was not base64 (the request was cancelled).
    InvalidResponse,
    /// The auth service connection failed; it is unusable from now on.
    ServiceFailed(io::Error),
}

/// Runs the exchange for `mech` with `initial` (the initial response, decoded).
pub fn relay<C: SaslClient>(
    auth: &mut AuthClient,
    mech: &str,
    params: &AuthParams,
    initial: Option<&[u8]>,
    client: &mut C,
) -> Result<SaslOutcome, C::Error> {
    let mut reply = auth.begin(mech, params, initial);
    loop {
        let answer = match reply {
            Ok(r) => r,
            Err(e) => return Ok(SaslOutcome::ServiceFailed(e)),
        };
        match answer {
            AuthReply::Continue { id, data } => {
                let line = client.challenge(&data)?;
                if line == b"*" {
                    // The auth service needs no answer to a cancel; a failure to send it
                    // shows at the next request.
                    let _ = auth.cancel(id);
                    return Ok(SaslOutcome::Aborted);
                }
                let decoded = std::str::from_utf8(&line).ok().map(base64::decode);
                let Some(Ok(data)) = decoded else {
                    let _ = auth.cancel(id);
                    return Ok(SaslOutcome::InvalidResponse);
                };
                reply = auth.cont(id, &data);
            }
            AuthReply::Ok { id, user, fields } => {
                // Proxied to another server (Dovecot checks this first), or logins of this
                // user are refused (with `host`: referred to another server).
                if fields.iter().any(|(k, _)| k == "proxy") {
                    return Ok(SaslOutcome::Proxy { user, fields });
                }
                if fields.iter().any(|(k, _)| k == "nologin") {
                    return Ok(SaslOutcome::Refused {
                        user: Some(user),
                        fields,
                    });
                }
                return Ok(SaslOutcome::Success { id, user });
            }
            AuthReply::Fail { fields, .. } => {
                let user = fields
                    .iter()
                    .find(|(k, _)| k == "user")
                    .map(|(_, v)| v.clone());
                return Ok(SaslOutcome::Refused { user, fields });
            }
        }
    }
}

/// The `reason=` of a refusal.
pub fn reason(fields: &[(String, String)]) -> Option<&str> {
    fields
        .iter()
        .find(|(k, _)| k == "reason")
        .map(|(_, v)| v.as_str())
}

/// A login referral (RFC 2221, Dovecot's passdb `host` without `proxy`): the client is to
/// use another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral<'a> {
    pub host: &'a str,
    /// `port`, when given and valid.
    pub port: Option<u16>,
    /// `destuser`: the user name there, when it differs.
    pub destuser: Option<&'a str>,
    /// `nologin`: the login failed here (else it succeeded but the client should move).
    pub nologin: bool,
    /// The text for the client: `reason`, or Dovecot's default for the kind.
    pub text: &'a str,
}

/// The referral a refusal's fields make, if any.
pub fn referral(fields: &[(String, String)]) -> Option<Referral<'_>> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("proxy").is_some() {
        return None;
    }
    let host = field("host")?;
    let nologin = field("nologin").is_some();
    let text = reason(fields).unwrap_or(if nologin {
        "Try this server instead."
    } else {
        "Logged in, but you should use this server instead."
    });
    Some(Referral {
        host,
        port: field("port").and_then(|p| p.parse().ok()),
        destuser: field("destuser"),
        nologin,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn referrals() {
        assert_eq!(referral(&fields(&[("nologin", "")])), None);
        assert_eq!(
            referral(&fields(&[("host", "h"), ("proxy", "")])),
            None,
            "a proxy is no referral"
        );
        let both = fields(&[("host", "imap.example"), ("port", "1143"), ("nologin", "")]);
        assert_eq!(
            referral(&both),
            Some(Referral {
                host: "imap.example",
                port: Some(1143),
                destuser: None,
                nologin: true,
                text: "Try this server instead.",
            })
        );
        let moved = fields(&[("host", "h"), ("destuser", "u"), ("reason", "Moved")]);
        let moved = referral(&moved).expect("referral");
        assert_eq!(
            (moved.destuser, moved.nologin, moved.text),
            (Some("u"), false, "Moved")
        );
    }
}
