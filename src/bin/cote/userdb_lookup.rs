//! The userdb lookups a mail process makes for shared namespaces (`shared/%%u/`): the
//! other user's home and fields from `auth_socket_path` (`auth-userdb`), as Dovecot's
//! `mail_user_init` of the owner does.

use std::path::PathBuf;

use cote::auth::client::{MasterClient, UserReply};
use cote::storage::shared::UserLookup;
use cote::storage::user::MailUserInfo;

/// Asks the auth service's userdb socket, connecting on first use.
pub struct AuthUserLookup {
    socket: PathBuf,
    client: Option<MasterClient>,
    /// The viewer's session: service, local and remote IP.
    viewer: MailUserInfo,
}

impl AuthUserLookup {
    pub fn new(socket: PathBuf, viewer: &MailUserInfo) -> AuthUserLookup {
        AuthUserLookup {
            socket,
            client: None,
            viewer: viewer.clone(),
        }
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl UserLookup for AuthUserLookup {
    fn lookup(&mut self, user: &str) -> Result<Option<MailUserInfo>, String> {
        if self.client.is_none() {
            let client = MasterClient::connect(&self.socket).map_err(|e| {
                format!(
                    "connect({}) failed: {}",
                    self.socket.display(),
                    cote::errtext::os_error_text(&e)
                )
            })?;
            self.client = Some(client);
        }
        let mut params = Vec::new();
        if let Some(ip) = &self.viewer.local_ip {
            params.push(("lip".to_string(), ip.clone()));
        }
        if let Some(ip) = &self.viewer.remote_ip {
            params.push(("rip".to_string(), ip.clone()));
        }
        let service = self.viewer.service.clone();
        let reply = match self.client.as_mut() {
            Some(client) => client.user(user, &service, &params),
            None => return Err("no userdb connection".into()),
        };
        match reply {
            Ok(UserReply::User { user, fields }) => Ok(Some(MailUserInfo {
                username: user,
                home: field(&fields, "home")
                    .filter(|h| !h.is_empty())
                    .map(str::to_string),
                uid: field(&fields, "uid").and_then(|v| v.parse().ok()),
                gid: field(&fields, "gid").and_then(|v| v.parse().ok()),
                mail: field(&fields, "mail").map(str::to_string),
                service,
                session: self.viewer.session.clone(),
                local_ip: self.viewer.local_ip.clone(),
                remote_ip: self.viewer.remote_ip.clone(),
                userdb_fields: Some(fields),
            })),
            Ok(UserReply::NotFound) => Ok(None),
            Ok(UserReply::Fail { reason }) => {
                Err(reason.unwrap_or_else(|| "Internal error".to_string()))
            }
            Err(e) => {
                // The connection is unusable; the next lookup reconnects.
                self.client = None;
                Err(cote::errtext::os_error_text(&e))
            }
        }
    }
}
