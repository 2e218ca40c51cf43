//! Clients of the auth service, for login workers (authenticate: [`AuthClient`]), mail workers
//! (verify a login they were handed: [`MasterClient::request`]), and LDA/LMTP/coteadm (user
//! and password lookups: [`MasterClient::user`], [`MasterClient::pass`],
//! [`MasterClient::list`]). They speak the same protocols as Dovecot's own clients, so they
//! also work against a Dovecot auth service.

use std::io::{self, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::base64;
use super::fields::{split_key_value, split_tabescaped, tab_escape};
use super::request::Secured;
use super::wire::{read_line, Line};

const MAX_LINE: usize = 64 * 1024;

fn protocol_error(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn next_line(reader: &mut BufReader<UnixStream>) -> io::Result<String> {
    match read_line(reader, MAX_LINE) {
        Line::Text(t) => Ok(t),
        Line::Closed => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "auth server disconnected",
        )),
        Line::TooLong => Err(protocol_error("auth server sent a too long line")),
    }
}

/// A mechanism the server offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MechInfo {
    pub name: String,
    pub flags: Vec<String>,
}

impl MechInfo {
    /// Sends passwords in the clear (hidden on insecure connections when
    /// `disable_plaintext_auth = yes`).
    pub fn plaintext(&self) -> bool {
        self.flags.iter().any(|f| f == "plaintext")
    }
}

/// What an AUTH carries about the connection.
#[derive(Debug, Clone, Default)]
pub struct AuthParams {
    pub service: String,
    pub local_ip: Option<IpAddr>,
    pub remote_ip: Option<IpAddr>,
    pub local_port: u16,
    pub remote_port: u16,
    pub secured: Secured,
    pub session: Option<String>,
    /// The TLS client certificate was verified.
    pub valid_client_cert: bool,
    /// The user name from the client certificate (EXTERNAL).
    pub cert_username: Option<String>,
    pub no_penalty: bool,
    /// The client accepts the final server data with OK (no extra round).
    pub final_resp_ok: bool,
    /// Other `key=value` parameters.
    pub extra: Vec<(String, String)>,
}

/// The server's answer to AUTH or CONT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthReply {
    /// The next challenge (decoded).
    Continue { id: u32, data: Vec<u8> },
    /// Logged in: the user name and the other fields (`nologin`, `proxy`, `reason`, ...).
    Ok {
        id: u32,
        user: String,
        fields: Vec<(String, String)>,
    },
    /// Failed: fields such as `user`, `code` (`temp_fail`, `authz_fail`, ...), `reason`.
    Fail {
        id: u32,
        fields: Vec<(String, String)>,
    },
}

impl AuthReply {
    fn parse(line: &str) -> io::Result<AuthReply> {
        let parts = split_tabescaped(line);
        let id = parts
            .get(1)
            .and_then(|i| i.parse::<u32>().ok())
            .ok_or_else(|| protocol_error("auth server sent a reply without id"))?;
        let fields = |from: usize| -> Vec<(String, String)> {
            parts[from.min(parts.len())..]
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = split_key_value(p);
                    (k.to_string(), v.to_string())
                })
                .collect()
        };
        match parts[0].as_str() {
            "CONT" => {
                let data = base64::decode(parts.get(2).map_or("", String::as_str))
                    .map_err(|_| protocol_error("auth server sent invalid base64"))?;
                Ok(AuthReply::Continue { id, data })
            }
            "OK" => {
                let mut fields = fields(2);
                let user = match fields.iter().position(|(k, _)| k == "user") {
                    Some(pos) => fields.remove(pos).1,
                    None => String::new(),
                };
                Ok(AuthReply::Ok { id, user, fields })
            }
            "FAIL" => Ok(AuthReply::Fail {
                id,
                fields: fields(2),
            }),
            _ => Err(protocol_error(&format!(
                "auth server sent an unknown reply: {line}"
            ))),
        }
    }
}

/// A connection to `auth-login`/`auth-client`, after the handshake.
pub struct AuthClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    pub mechanisms: Vec<MechInfo>,
    pub server_pid: u32,
    pub connect_uid: u32,
    /// The cookie a mail worker passes back in REQUEST, as hex.
    pub cookie: String,
    next_id: u32,
    last: String,
}

impl AuthClient {
    /// The last reply line as the server sent it.
    pub fn last_line(&self) -> &str {
        &self.last
    }

    /// Connects and does the handshake; `client_pid` is our pid (CPID).
    pub fn connect(path: &Path, client_pid: u32) -> io::Result<AuthClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(180)))?;
        let mut writer = stream.try_clone()?;
        writer.write_all(format!("VERSION\t1\t2\nCPID\t{client_pid}\n").as_bytes())?;
        let mut client = AuthClient {
            reader: BufReader::new(stream),
            writer,
            mechanisms: Vec::new(),
            server_pid: 0,
            connect_uid: 0,
            cookie: String::new(),
            next_id: 1,
            last: String::new(),
        };
        loop {
            let line = next_line(&mut client.reader)?;
            let parts: Vec<&str> = line.split('\t').collect();
            match parts[0] {
                "VERSION" if parts.get(1) != Some(&"1") => {
                    return Err(protocol_error("auth server has an incompatible version"));
                }
                "VERSION" => {}
                "MECH" => client.mechanisms.push(MechInfo {
                    name: parts.get(1).unwrap_or(&"").to_string(),
                    flags: parts[2.min(parts.len())..]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                }),
                "SPID" => {
                    client.server_pid = parts.get(1).and_then(|p| p.parse().ok()).unwrap_or(0)
                }
                "CUID" => {
                    client.connect_uid = parts.get(1).and_then(|p| p.parse().ok()).unwrap_or(0)
                }
                "COOKIE" => client.cookie = parts.get(1).unwrap_or(&"").to_string(),
                "DONE" => return Ok(client),
                _ => {}
            }
        }
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        self.writer.write_all(format!("{line}\n").as_bytes())
    }

    /// Starts an authentication; `initial` is the initial response (SASL-IR).
    pub fn begin(
        &mut self,
        mech: &str,
        params: &AuthParams,
        initial: Option<&[u8]>,
    ) -> io::Result<AuthReply> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let mut line = format!(
            "AUTH\t{id}\t{mech}\tservice={}",
            tab_escape(&params.service)
        );
        if let Some(ip) = params.local_ip {
            line.push_str(&format!("\tlip={ip}"));
        }
        if let Some(ip) = params.remote_ip {
            line.push_str(&format!("\trip={ip}"));
        }
        if params.local_port != 0 {
            line.push_str(&format!("\tlport={}", params.local_port));
        }
        if params.remote_port != 0 {
            line.push_str(&format!("\trport={}", params.remote_port));
        }
        match params.secured {
            Secured::No => {}
            Secured::Yes => line.push_str("\tsecured"),
            Secured::Tls => line.push_str("\tsecured=tls"),
        }
        if let Some(s) = &params.session {
            line.push_str(&format!("\tsession={}", tab_escape(s)));
        }
        if params.valid_client_cert {
            line.push_str("\tvalid-client-cert");
        }
        if let Some(u) = &params.cert_username {
            line.push_str(&format!("\tcert_username={}", tab_escape(u)));
        }
        if params.no_penalty {
            line.push_str("\tno-penalty");
        }
        if params.final_resp_ok {
            line.push_str("\tfinal-resp-ok");
        }
        for (k, v) in &params.extra {
            line.push_str(&format!("\t{}={}", tab_escape(k), tab_escape(v)));
        }
        if let Some(data) = initial {
            let encoded = base64::encode(data);
            line.push_str(&format!(
                "\tresp={}",
                if encoded.is_empty() { "=" } else { &encoded }
            ));
        }
        self.send(&line)?;
        self.reply()
    }

    /// Answers a challenge.
    pub fn cont(&mut self, id: u32, data: &[u8]) -> io::Result<AuthReply> {
        self.send(&format!("CONT\t{id}\t{}", base64::encode(data)))?;
        self.reply()
    }

    /// Aborts an authentication (the client sent `*`).
    pub fn cancel(&mut self, id: u32) -> io::Result<()> {
        self.send(&format!("CANCEL\t{id}"))
    }

    fn reply(&mut self) -> io::Result<AuthReply> {
        self.last = next_line(&mut self.reader)?;
        AuthReply::parse(&self.last)
    }
}

/// The answer to REQUEST and USER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserReply {
    User {
        user: String,
        fields: Vec<(String, String)>,
    },
    NotFound,
    Fail {
        reason: Option<String>,
    },
}

/// The answer to PASS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassReply {
    /// The fields, `user=` first.
    Pass {
        fields: Vec<(String, String)>,
    },
    NotFound,
    Fail {
        reason: Option<String>,
    },
}

/// A connection to `auth-master` or `auth-userdb`.
pub struct MasterClient {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    pub server_pid: u32,
    next_id: u32,
    last: String,
}

fn fields_of(parts: &[String]) -> Vec<(String, String)> {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = split_key_value(p);
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn reason_of(parts: &[String]) -> Option<String> {
    parts
        .iter()
        .find_map(|p| p.strip_prefix("reason=").map(str::to_string))
}

impl MasterClient {
    pub fn connect(path: &Path) -> io::Result<MasterClient> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(Duration::from_secs(180)))?;
        let mut writer = stream.try_clone()?;
        writer.write_all(b"VERSION\t1\t0\n")?;
        let mut client = MasterClient {
            reader: BufReader::new(stream),
            writer,
            server_pid: 0,
            next_id: 1,
            last: String::new(),
        };
        let version = next_line(&mut client.reader)?;
        if !version.starts_with("VERSION\t1\t") {
            return Err(protocol_error("auth server has an incompatible version"));
        }
        let spid = next_line(&mut client.reader)?;
        client.server_pid = spid
            .strip_prefix("SPID\t")
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Ok(client)
    }

    /// The last reply line as the server sent it.
    pub fn last_line(&self) -> &str {
        &self.last
    }

    fn command(&mut self, body: &str) -> io::Result<(u32, Vec<String>)> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        self.writer
            .write_all(format!("{}\n", body.replace("{id}", &id.to_string())).as_bytes())?;
        self.last = next_line(&mut self.reader)?;
        Ok((id, split_tabescaped(&self.last)))
    }

    fn user_reply(parts: Vec<String>) -> io::Result<UserReply> {
        match parts[0].as_str() {
            "USER" => Ok(UserReply::User {
                user: parts.get(2).cloned().unwrap_or_default(),
                fields: fields_of(&parts[3.min(parts.len())..]),
            }),
            "NOTFOUND" => Ok(UserReply::NotFound),
            "FAIL" => Ok(UserReply::Fail {
                reason: reason_of(&parts[2.min(parts.len())..]),
            }),
            other => Err(protocol_error(&format!(
                "auth server sent an unknown reply: {other}"
            ))),
        }
    }

    /// Verifies a login handed over by a login worker (its CPID, its AUTH id, the auth
    /// server's cookie in hex) and gets the userdb fields.
    pub fn request(
        &mut self,
        client_pid: u32,
        auth_id: u32,
        cookie_hex: &str,
        session_pid: Option<u32>,
    ) -> io::Result<UserReply> {
        let mut body = format!("REQUEST\t{{id}}\t{client_pid}\t{auth_id}\t{cookie_hex}");
        if let Some(pid) = session_pid {
            body.push_str(&format!("\tsession_pid={pid}"));
        }
        let (_, parts) = self.command(&body)?;
        Self::user_reply(parts)
    }

    fn lookup_params(user: &str, service: &str, params: &[(String, String)]) -> String {
        let mut body = format!(
            "\t{{id}}\t{}\tservice={}",
            tab_escape(user),
            tab_escape(service)
        );
        for (k, v) in params {
            body.push_str(&format!("\t{}={}", tab_escape(k), tab_escape(v)));
        }
        body
    }

    /// A userdb lookup.
    pub fn user(
        &mut self,
        user: &str,
        service: &str,
        params: &[(String, String)],
    ) -> io::Result<UserReply> {
        let (_, parts) = self.command(&format!(
            "USER{}",
            Self::lookup_params(user, service, params)
        ))?;
        Self::user_reply(parts)
    }

    /// A passdb lookup (no password check).
    pub fn pass(
        &mut self,
        user: &str,
        service: &str,
        params: &[(String, String)],
    ) -> io::Result<PassReply> {
        let (_, parts) = self.command(&format!(
            "PASS{}",
            Self::lookup_params(user, service, params)
        ))?;
        match parts[0].as_str() {
            "PASS" => Ok(PassReply::Pass {
                fields: fields_of(&parts[2.min(parts.len())..]),
            }),
            "NOTFOUND" => Ok(PassReply::NotFound),
            "FAIL" => Ok(PassReply::Fail {
                reason: reason_of(&parts[2.min(parts.len())..]),
            }),
            other => Err(protocol_error(&format!(
                "auth server sent an unknown reply: {other}"
            ))),
        }
    }

    /// Lists users matching `mask` (wildcards); Err if the listing failed.
    pub fn list(&mut self, mask: &str, service: &str) -> io::Result<Vec<String>> {
        let (id, mut parts) = self.command(&format!(
            "LIST\t{{id}}\tuser={}\tservice={}",
            tab_escape(mask),
            tab_escape(service)
        ))?;
        let mut users = Vec::new();
        loop {
            match parts[0].as_str() {
                "LIST" if parts.get(1).map(String::as_str) == Some(&id.to_string()) => {
                    users.push(parts.get(2).cloned().unwrap_or_default());
                }
                "DONE" => {
                    return if parts.get(2).is_some_and(|f| f == "fail") {
                        Err(io::Error::other("user listing failed"))
                    } else {
                        Ok(users)
                    };
                }
                _ => return Err(protocol_error("auth server sent an unexpected LIST reply")),
            }
            parts = split_tabescaped(&next_line(&mut self.reader)?);
        }
    }
}
